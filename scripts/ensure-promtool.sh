#!/bin/sh
# promtool, which the observability tests run (deploy/prometheus: `check rules`, `test rules`;
# `check metrics` on every role's /metrics). Installs Debian's prometheus package when promtool is
# missing (as root; otherwise says what to run). Never starts the packaged Prometheus service.
set -e
if command -v promtool >/dev/null 2>&1 || [ -n "$HYPHA_PROMTOOL" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-promtool: promtool not found; install it (Debian: apt-get install prometheus) or set HYPHA_PROMTOOL" >&2
  exit 1
fi
echo "ensure-promtool: installing Debian's prometheus package (for promtool)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101: install without starting the packaged Prometheus service
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
