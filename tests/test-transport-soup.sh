#!/bin/sh
# The transport conformance suite for websocket-soup (ws:// and wss://), run
# apart from tests/test-transport so that LeakSanitizer can stay on there.
# libsoup 3.2 (Debian 12) never frees the accepted socket of a connection its
# server refuses without upgrading (here: above max_connections, HTTP 503);
# tests/run-test.sh turns leak detection off for this script and for
# tests/test-websocket, which refuse connections on purpose.
GOSSIP_TEST_TRANSPORTS=websocket-soup
export GOSSIP_TEST_TRANSPORTS
exec "${GOSSIP_TEST_BUILDDIR:-$(dirname "$0")}/test-transport" "$@"
