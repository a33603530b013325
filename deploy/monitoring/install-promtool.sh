#!/bin/sh
# Puts promtool (for `promtool check rules` and `promtool test rules`, tests/test_monitoring.py) and prometheus
# (`make run`'s local Prometheus, local_runner/prometheus.py) into DEST (default .venv/bin) unless they are already
# on PATH or there. They come from Debian's `prometheus` package, but only the two binaries are unpacked:
# installing the package would also start a Prometheus server on port 9090 on a machine with systemd. `apt-get download` needs no root; as root, a failed download runs `apt-get update` first.
set -eu
dest=$(mkdir -p "${1:-.venv/bin}" && cd "${1:-.venv/bin}" && pwd)
has() { command -v "$1" >/dev/null 2>&1 || [ -x "$dest/$1" ]; }
if has promtool && has prometheus; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "promtool is missing and apt-get is not here: install Prometheus' promtool (e.g. the prometheus package)" >&2
  exit 1
fi
echo "==> promtool or prometheus is missing: unpacking them from Debian's prometheus package into $dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
  fi
  apt-get download prometheus >/dev/null
fi
dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xf - ./usr/bin/promtool ./usr/bin/prometheus
install -m 0755 usr/bin/promtool "$dest/promtool"
install -m 0755 usr/bin/prometheus "$dest/prometheus"
"$dest/promtool" --version | head -1
