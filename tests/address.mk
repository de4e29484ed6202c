# tests/address.mk: address forms and their resolution (fake GResolver,
# loopback clusters), and real DNS inside a network namespace.
check_PROGRAMS += tests/test-address
TESTS += tests/test-address
tests_test_address_SOURCES = tests/test-address.c tests/cluster-harness.c tests/cluster-harness.h
tests_test_address_LDADD = $(TEST_LDADD)

# Real DNS: dnsmasq in a network namespace (root only; skipped otherwise).
check_PROGRAMS += tests/dns-join
tests_dns_join_SOURCES = tests/dns-join.c tests/cluster-harness.c tests/cluster-harness.h
tests_dns_join_LDADD = $(TEST_LDADD)
TESTS += tests/test-dns-netns.sh
EXTRA_DIST += tests/test-dns-netns.sh
