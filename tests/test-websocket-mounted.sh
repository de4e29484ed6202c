#!/bin/sh
# tests/test-websocket's case of a transport mounted on the application's
# SoupServer, run apart so that LeakSanitizer stays on for the rest of
# test-websocket.  The case checks that the path answers 404 once the
# transport is gone, and libsoup 3.2 (Debian 12) never frees the accepted
# socket of a connection its own listener refuses; tests/run-test.sh turns
# leak detection off for this script only.  (A transport's own server
# accepts its connections itself and does not leak.)
GOSSIP_TEST_WS_MOUNTED=1
export GOSSIP_TEST_WS_MOUNTED
exec "${GOSSIP_TEST_BUILDDIR:-$(dirname "$0")}/test-websocket" \
  -p /websocket/websocket-soup/mounted-on-application-server "$@"
