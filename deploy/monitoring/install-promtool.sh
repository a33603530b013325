#!/bin/sh
# Puts promtool (for `promtool check rules` and `promtool test rules`, tests/test_monitoring.py) into DEST
# (default .venv/bin) unless one is already on PATH or there. It comes from Debian's `prometheus` package, but only
# the promtool binary is unpacked: installing the package would also start a Prometheus server on port 9090 on a
# machine with systemd. `apt-get download` needs no root; as root, a failed download runs `apt-get update` first.
set -eu
dest=$(mkdir -p "${1:-.venv/bin}" && cd "${1:-.venv/bin}" && pwd)
if command -v promtool >/dev/null 2>&1 || [ -x "$dest/promtool" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "promtool is missing and apt-get is not here: install Prometheus' promtool (e.g. the prometheus package)" >&2
  exit 1
fi
echo "==> promtool is missing: unpacking it from Debian's prometheus package into $dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
  fi
  apt-get download prometheus >/dev/null
fi
dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xf - ./usr/bin/promtool
install -m 0755 usr/bin/promtool "$dest/promtool"
"$dest/promtool" --version | head -1
