#!/bin/sh
# Runs one test program for the automake TAP driver; --valgrind wraps it.
if [ "$1" = "--valgrind" ]; then
  shift
  exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --suppressions="$GOSSIP_TEST_SRCDIR/valgrind.supp" "$@" --tap -k
fi
exec "$@" --tap -k
