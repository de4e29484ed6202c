# tests/websocket.mk: what every WebSocket transport must do beyond the
# conformance suite.  GOSSIP_TEST_WS_PLUGINS (space-separated plugin names)
# chooses the plugins at run time; by default, those built here
# (TEST_DEFAULT_WS_PLUGINS, set in tests/transport.mk).

check_PROGRAMS += tests/test-websocket
TESTS += tests/test-websocket
tests_test_websocket_SOURCES = tests/test-websocket.c tests/cluster-harness.c \
	tests/cluster-harness.h tests/tls-test-certs.c tests/tls-test-certs.h
tests_test_websocket_CPPFLAGS = $(AM_CPPFLAGS) \
	-DGOSSIP_TEST_DEFAULT_WS_PLUGINS='"$(TEST_DEFAULT_WS_PLUGINS)"'
tests_test_websocket_CFLAGS = $(AM_CFLAGS) $(SOUP_CFLAGS) $(GNUTLS_CFLAGS)
tests_test_websocket_LDADD = $(TEST_LDADD) $(SOUP_LIBS) $(GNUTLS_LIBS)
# The case on an application's SoupServer, apart (see the script).
TESTS += tests/test-websocket-mounted.sh
EXTRA_DIST += tests/test-websocket-mounted.sh
