#!/bin/sh
# Makes a Docker engine usable on this machine: installs Debian's docker.io (and docker-compose,
# debootstrap for the base image) when dockerd is missing, starts dockerd when it is not running,
# and keeps containers off the uplink. Idempotent; a machine with a running engine is left as is.
set -eu

log() { echo "ensure-docker: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  log "installing docker.io, docker-compose, debootstrap (Debian packages)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    docker.io containerd runc tini iptables cgroupfs-mount debootstrap docker-compose ca-certificates iproute2 >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [ ! -d /sys/fs/cgroup/devices ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then as_root cgroupfs-mount || true; fi
  log "starting dockerd"
  # --iptables=false: this machine's containers get no NAT to the outside (see the FORWARD rule below)
  as_root sh -c 'setsid dockerd --iptables=false >/var/log/dockerd.log 2>&1 </dev/null &'
  i=0
  until docker info >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 120 ]; then log "dockerd did not start; see /var/log/dockerd.log"; tail -20 /var/log/dockerd.log >&2; exit 1; fi
    sleep 0.5
  done
fi

# Containment: no container traffic may leave through the uplink (tests talk only to containers
# and networks they made). With --iptables=false the host would forward it without NAT.
uplink=$(ip route show default 2>/dev/null | awk '/default/ { for (i = 1; i <= NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
if [ -n "$uplink" ] && command -v iptables >/dev/null 2>&1; then
  if ! as_root iptables -C FORWARD -o "$uplink" -j DROP 2>/dev/null; then
    as_root iptables -I FORWARD -o "$uplink" -j DROP
    log "containers kept off the uplink ($uplink): FORWARD -o $uplink DROP"
  fi
fi
log "docker ready: $(docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}' 2>/dev/null)"
