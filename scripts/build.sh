#!/bin/sh
# Configures and builds libgossip out of tree in ${BUILD_DIR:-_build}.
# Extra arguments go to configure (e.g. --enable-sanitizers).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/_build}
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || ./autogen.sh >/dev/null
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$*" != "$(cat .configure-args 2>/dev/null)" ]; then
  "$top/configure" -q "$@"
  echo "$*" > .configure-args
fi
make -j"$(nproc)" >/dev/null
echo "build: ok in $build"
