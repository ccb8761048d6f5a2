#!/bin/sh
# Chromium, which the operator page's browser test drives headless (playwright-core, no browser
# download: Debian's chromium package). Installs it when missing (as root; otherwise says what to
# run). HYPHA_CHROMIUM names another binary.
set -e
if [ -n "$HYPHA_CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: chromium not found; install it (Debian: apt-get install chromium) or set HYPHA_CHROMIUM" >&2
  exit 1
fi
# fonts-dejavu-core: without recommends the page's text would render as boxes in the screenshot
exec sh "$(dirname "$0")/apt-install-no-service.sh" ensure-chromium chromium --no-install-recommends fonts-dejavu-core
