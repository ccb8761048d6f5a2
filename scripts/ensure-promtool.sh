#!/bin/sh
# promtool, which the observability tests run (deploy/prometheus: `check rules`, `test rules`;
# `check metrics` on every role's /metrics). Installs Debian's prometheus package when promtool is
# missing (as root; otherwise says what to run). Never starts the packaged Prometheus service.
set -e
if command -v promtool >/dev/null 2>&1 || [ -n "$HYPHA_PROMTOOL" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-promtool: promtool not found; install it (Debian: apt-get install prometheus) or set HYPHA_PROMTOOL" >&2
  exit 1
fi
exec sh "$(dirname "$0")/apt-install-no-service.sh" ensure-promtool prometheus --no-install-recommends
