# examples/kv: a replicated key/value store (last-writer-wins, HLC, tombstones).
noinst_PROGRAMS += examples/kv/gossip-kv
examples_kv_gossip_kv_SOURCES = examples/kv/gossip-kv.c examples/kv/kv-store.c \
	examples/kv/kv-store.h
examples_kv_gossip_kv_CFLAGS = $(EXAMPLE_CFLAGS)
examples_kv_gossip_kv_LDADD = $(EXAMPLE_LDADD)
EXTRA_DIST += examples/kv/README.md

# Its map, clock and tombstones (kv-store.c), tested without a cluster.
check_PROGRAMS += tests/test-kv-store
TESTS += tests/test-kv-store
tests_test_kv_store_SOURCES = tests/test-kv-store.c examples/kv/kv-store.c examples/kv/kv-store.h
tests_test_kv_store_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/examples/kv
tests_test_kv_store_LDADD = $(TEST_LDADD)
