#!/bin/sh
# Makes the Dockerfile's base image available. With registry access it is pulled as usual; on a
# machine without one (these build machines) it is built locally and tagged with the same name:
# a minimal Debian bookworm rootfs (debootstrap) with iproute2, iptables, nftables and tini (the
# NAT lab's routers use them), this project's Node.js binary, npm, a `node` user (uid 1000) and
# the host's CA bundle.
#   usage: ensure-base-image.sh [IMAGE]   (default node:24-bookworm-slim)
set -eu

IMAGE=${1:-node:24-bookworm-slim}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
log() { echo "ensure-base-image: $*" >&2; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE present"
  exit 0
fi
if timeout 60 docker pull -q "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE pulled"
  exit 0
fi
log "$IMAGE cannot be pulled: building it locally"

# The project's Node.js (the root `node` devDependency, installed by `npm test`/`npm start`).
NODE_BIN=${NODE_BIN:-}
if [ -z "$NODE_BIN" ]; then
  for candidate in "$REPO"/node_modules/.pnpm/node@*/node_modules/node/bin/node "$(command -v node)"; do
    if [ -x "$candidate" ] && "$candidate" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)'; then NODE_BIN=$candidate; break; fi
  done
fi
[ -n "$NODE_BIN" ] || { log "no Node.js >= 24 found: run 'npm test' (or 'sh scripts/pnpm install') first, or set NODE_BIN"; exit 1; }
NPM_DIR=${NPM_DIR:-$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")}
[ -f "$NPM_DIR/bin/npm-cli.js" ] || { log "npm not found (looked in $NPM_DIR); set NPM_DIR"; exit 1; }
NODE_VERSION=$("$NODE_BIN" -p process.versions.node)

ROOT=$(mktemp -d /tmp/hypha-rootfs.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
log "debootstrap bookworm (minbase) into $ROOT"
debootstrap --variant=minbase --include=iproute2,iptables,nftables,ca-certificates,tini bookworm "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 \
  || { tail -20 "$ROOT.log" >&2; exit 1; }
rm -f "$ROOT.log"

install -m 0755 "$NODE_BIN" "$ROOT/usr/local/bin/node"
mkdir -p "$ROOT/usr/local/lib/node_modules" "$ROOT/usr/local/etc"
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
printf 'update-notifier=false\naudit=false\nfund=false\n' >"$ROOT/usr/local/etc/npmrc"
# the registry's TLS may be intercepted by a local CA: trust what the host trusts
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/host-ca-bundle.crt"
chroot "$ROOT" /usr/sbin/groupadd -g 1000 node
chroot "$ROOT" /usr/sbin/useradd -u 1000 -g node -m -s /bin/sh node
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*

tar -C "$ROOT" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_VERSION=$NODE_VERSION" \
  -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-bundle.crt' \
  -c 'CMD ["node"]' - "$IMAGE" >/dev/null
log "built $IMAGE (Node $NODE_VERSION, $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%d MB", $1 / 1000000 }'))"
