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
# libsoup 3.2 leaks the socket of every connection its own listener refuses;
# tests/test-websocket-mounted.sh makes an application's SoupServer refuse
# one on purpose, so LeakSanitizer is off for that script only.
case "$1" in
  */test-websocket-mounted.sh)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    export ASAN_OPTIONS
    ;;
esac
# No test program may hang the suite: past 20 minutes it is stopped and
# fails (TAP's driver reports the signal).
exec timeout --kill-after=30 1200 "$@" --tap -k
