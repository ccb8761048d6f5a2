#!/bin/sh
# The e2e suite (e2e/, jest + Testcontainers) on its own: makes Docker usable (installs and starts
# it when needed), makes the base image (built locally when it cannot be pulled), builds the
# service images from the Dockerfile, then runs every topology. Run as root (or with sudo rights):
# the NAT lab adds host firewall rules for its LANs and removes them afterwards.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started=$(date +%s)

sh scripts/pnpm install --frozen-lockfile >/dev/null
sh scripts/docker/ensure-docker.sh
sh scripts/docker/ensure-base-image.sh node:24-bookworm-slim
for target in gateway scheduler worker certutil; do
  echo "e2e: building hypha/$target:dev" >&2
  # --network host: the build stage installs from the npm registry (no registry for images here)
  docker build --quiet --network host --target "$target" -t "hypha/$target:dev" . >/dev/null
done
echo "e2e: images ready after $(($(date +%s) - started)) s" >&2
sh scripts/pnpm exec turbo run build --filter=@hypha/e2e >/dev/null
sh scripts/pnpm --filter @hypha/e2e run e2e
echo "e2e: done in $(($(date +%s) - started)) s" >&2
