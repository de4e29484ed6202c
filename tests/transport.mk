# tests/transport.mk: the conformance suite every transport plugin must pass.
# GOSSIP_TEST_TRANSPORTS (space-separated plugin names) chooses the plugins at
# run time.  By default: socket and websocket-soup, which are always built,
# and memory, whose cases are skipped while that plugin cannot be loaded.
TEST_DEFAULT_TRANSPORTS = socket memory websocket-soup

check_PROGRAMS += tests/test-transport
TESTS += tests/test-transport
tests_test_transport_CPPFLAGS = $(AM_CPPFLAGS) \
	-DGOSSIP_TEST_DEFAULT_TRANSPORTS='"$(TEST_DEFAULT_TRANSPORTS)"'
tests_test_transport_SOURCES = tests/test-transport.c tests/tls-test-certs.c tests/tls-test-certs.h
tests_test_transport_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
tests_test_transport_LDADD = $(TEST_LDADD) $(GNUTLS_LIBS)
