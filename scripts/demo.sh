#!/bin/sh
# The README's first command: installs dependencies, builds, and runs the
# demo: a local cluster that loses a node, notices, and takes it back.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/_build}
sh "$top/scripts/install-deps.sh"
BUILD_DIR=$build sh "$top/scripts/build.sh"
exec "$build/tools/gossip-demo" "$@"
