#!/bin/sh
# Puts Debian's `chromium` on this machine for the browser tests (tests-e2e/browser/), unless a Chromium is already
# on PATH. Playwright drives that executable (`executable_path`): no `playwright install` download of a browser
# build of its own. Installing needs root (apt-get); a failed install runs `apt-get update` once, then retries.
set -eu
for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null 2>&1; then
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing and apt-get is not here: install Chromium (Debian's chromium package)" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing: install it as root (apt-get install chromium), or run this script as root" >&2
  exit 1
fi
echo "==> chromium is missing: installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
chromium --version
