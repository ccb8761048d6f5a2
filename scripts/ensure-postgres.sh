#!/bin/sh
# The PostgreSQL server binaries the task store's tests start a throw-away cluster with
# (packages/tasks/test/fixtures/postgres-cluster.ts). Installs Debian's postgresql package when
# they are missing (as root; otherwise says what to run). Never starts a system service: the
# tests run their own server on a free loopback port.
set -e
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "$HYPHA_PG_BIN" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-postgres: PostgreSQL server binaries not found; install them (Debian: apt-get install postgresql) or set HYPHA_PG_BIN" >&2
  exit 1
fi
exec sh "$(dirname "$0")/apt-install-no-service.sh" ensure-postgres postgresql
