# tests/: GTest programs run through automake's TAP driver.
TEST_LDADD = core/libgossip-1.0.la $(GLIB_LIBS)

include tests/plugins/local.mk
include tests/crypto.mk
include tests/transport.mk
include tests/websocket.mk
include tests/codec.mk
include tests/config.mk
include tests/address.mk
include tests/matrix.mk

check_PROGRAMS += tests/test-clock tests/test-plugin-loader tests/test-frame \
	tests/test-transport-util
TESTS += tests/test-clock tests/test-plugin-loader tests/test-frame tests/test-transport-util
tests_test_clock_LDADD = $(TEST_LDADD)
tests_test_transport_util_LDADD = $(TEST_LDADD)
tests_test_plugin_loader_LDADD = $(TEST_LDADD)
tests_test_frame_LDADD = $(TEST_LDADD)

EXTRA_DIST += tests/run-test.sh tests/valgrind.supp

# SWIM building blocks and whole clusters (memory transport, virtual time).
check_PROGRAMS += tests/test-swim-parts tests/test-membership
TESTS += tests/test-swim-parts tests/test-membership
tests_test_swim_parts_LDADD = $(TEST_LDADD) -lm
tests_test_membership_SOURCES = tests/test-membership.c tests/cluster-harness.c \
	tests/cluster-harness.h
tests_test_membership_LDADD = $(TEST_LDADD)

# docs/PLUGINS.md's out-of-tree example, built against an installed copy.
TESTS += tests/test-out-of-tree.sh
EXTRA_DIST += tests/test-out-of-tree.sh examples/out-of-tree-plugin/Makefile \
	examples/out-of-tree-plugin/gossip-compress-lz4-example.c

# Whole clusters on loopback sockets with msgpack + snappy + AES-GCM.
check_PROGRAMS += tests/test-cluster-sockets
TESTS += tests/test-cluster-sockets
tests_test_cluster_sockets_SOURCES = tests/test-cluster-sockets.c tests/cluster-harness.c \
	tests/cluster-harness.h
tests_test_cluster_sockets_LDADD = $(TEST_LDADD)

# User messages, requests, broadcasts and metadata (memory transport and loopback).
check_PROGRAMS += tests/test-messaging
TESTS += tests/test-messaging
tests_test_messaging_SOURCES = tests/test-messaging.c tests/cluster-harness.c \
	tests/cluster-harness.h
tests_test_messaging_LDADD = $(TEST_LDADD)
check_PROGRAMS += tests/test-metadata
TESTS += tests/test-metadata
tests_test_metadata_LDADD = $(TEST_LDADD)
check_PROGRAMS += tests/test-stream
TESTS += tests/test-stream
tests_test_stream_SOURCES = tests/test-stream.c tests/cluster-harness.c tests/cluster-harness.h \
	tests/tls-test-certs.c tests/tls-test-certs.h
tests_test_stream_CPPFLAGS = $(AM_CPPFLAGS) \
	-DGOSSIP_TEST_DEFAULT_STREAM_TRANSPORTS='"$(TEST_DEFAULT_STREAM_TRANSPORTS)"'
tests_test_stream_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
tests_test_stream_LDADD = $(TEST_LDADD) $(GNUTLS_LIBS)

# Leader election (core/gossip-leader.c) on the memory transport in virtual time.
check_PROGRAMS += tests/test-leader
TESTS += tests/test-leader
tests_test_leader_SOURCES = tests/test-leader.c tests/cluster-harness.c tests/cluster-harness.h
tests_test_leader_LDADD = $(TEST_LDADD)
