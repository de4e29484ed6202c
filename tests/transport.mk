# tests/transport.mk: the conformance suite every transport plugin must pass.
# GOSSIP_TEST_TRANSPORTS (space-separated plugin names) chooses the plugins at
# run time.  By default: socket, memory (whose cases are skipped while that
# plugin cannot be loaded), websocket-soup, and websocket-wslay when it is
# built.
TEST_DEFAULT_TRANSPORTS = socket memory websocket-soup
# tests/test-stream's variants: the transports with channels, WebSocket ones
# over ws:// and over wss://.
TEST_DEFAULT_STREAM_TRANSPORTS = socket websocket-soup websocket-soup-wss
# tests/test-mixed-transports and tests/test-websocket: the WebSocket
# providers built.
TEST_DEFAULT_WS_PLUGINS = websocket-soup
if BUILD_WSLAY
TEST_DEFAULT_TRANSPORTS += websocket-wslay
TEST_DEFAULT_STREAM_TRANSPORTS += websocket-wslay websocket-wslay-wss
TEST_DEFAULT_WS_PLUGINS += websocket-wslay
endif

check_PROGRAMS += tests/test-mixed-transports
TESTS += tests/test-mixed-transports
tests_test_mixed_transports_SOURCES = tests/test-mixed-transports.c tests/cluster-harness.c \
	tests/cluster-harness.h
tests_test_mixed_transports_CPPFLAGS = $(AM_CPPFLAGS) \
	-DGOSSIP_TEST_DEFAULT_WS_PLUGINS='"$(TEST_DEFAULT_WS_PLUGINS)"'
tests_test_mixed_transports_LDADD = $(TEST_LDADD)

check_PROGRAMS += tests/test-transport
TESTS += tests/test-transport
tests_test_transport_CPPFLAGS = $(AM_CPPFLAGS) \
	-DGOSSIP_TEST_DEFAULT_TRANSPORTS='"$(TEST_DEFAULT_TRANSPORTS)"'
tests_test_transport_SOURCES = tests/test-transport.c tests/tls-test-certs.c \
	tests/tls-test-certs.h
tests_test_transport_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
tests_test_transport_LDADD = $(TEST_LDADD) $(GNUTLS_LIBS)
