#!/bin/sh
# Runs one test program for the automake TAP driver.  With --valgrind the
# program runs under valgrind through libtool, so the real binary is checked,
# not libtool's wrapper script.
if [ "$1" = "--valgrind" ]; then
  shift
  exec ${LIBTOOL:-libtool} --mode=execute valgrind --quiet --error-exitcode=99 \
    --leak-check=full --errors-for-leak-kinds=definite \
    --suppressions="$GOSSIP_TEST_SRCDIR/valgrind.supp" "$@" --tap -k
fi
exec "$@" --tap -k
