#!/bin/sh
# Installs a Debian package for its binaries only: never starts the service it ships (the tests run
# their own servers, or only the tools). Used by ensure-postgres.sh, ensure-promtool.sh and ensure-chromium.sh.
# Usage: apt-install-no-service.sh WHO PACKAGE [apt-get install options...]
#   WHO names the caller in the messages ("ensure-postgres").
set -e
who=$1
package=$2
shift 2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "$who: needs Debian's $package package; install it (apt-get install $package) as root" >&2
  exit 1
fi
echo "$who: installing Debian's $package package"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101: install without starting the packaged service
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq "$@" "$package" >/dev/null
