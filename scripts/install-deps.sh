#!/bin/sh
# Installs what libgossip needs to build and test on Debian 12, as root.
# Safe to run again: apt-get skips what is already there.
set -eu
PACKAGES="build-essential autoconf automake libtool pkg-config
  libglib2.0-dev libjson-glib-dev libsoup-3.0-dev libgnutls28-dev zlib1g-dev libsnappy-dev
  libmsgpack-dev libmpack-dev libwslay-dev libzstd-dev liblz4-dev
  python3 python3-msgpack clang-format valgrind iproute2 nftables xz-utils dnsmasq-base"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing:$missing; run as root (sudo) to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: installed$missing"
