#!/bin/sh
# The README's test command: installs dependencies, builds, runs the whole
# test suite, and ends with one line "N passed, N failed, N skipped".
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/_build}
sh "$top/scripts/install-deps.sh"
BUILD_DIR=$build sh "$top/scripts/build.sh" "$@"
cd "$build"
status=0
make -j"$(nproc)" check >check.out 2>&1 || status=$?
grep -E '^(FAIL|ERROR|XPASS):' check.out || true
sh "$top/scripts/summary.sh" test-suite.log
exit $status
