# tests/matrix.mk: every codec x compressor x cipher through the pipeline,
# 5-node socket clusters per codec and per cipher, and joins between nodes
# with mismatched plugins.  Uses the plugin lists of codec.mk and crypto.mk
# (GOSSIP_TEST_CODECS, _COMPRESSORS, _CIPHERS override them at run time).
check_PROGRAMS += tests/test-matrix
TESTS += tests/test-matrix
tests_test_matrix_SOURCES = tests/test-matrix.c tests/cluster-harness.c tests/cluster-harness.h
tests_test_matrix_CPPFLAGS = $(AM_CPPFLAGS) \
	-DGOSSIP_TEST_DEFAULT_CODECS='"$(TEST_DEFAULT_CODECS)"' \
	-DGOSSIP_TEST_DEFAULT_COMPRESSORS='"$(TEST_DEFAULT_COMPRESSORS)"' \
	-DGOSSIP_TEST_DEFAULT_CIPHERS='"$(TEST_DEFAULT_CIPHERS)"'
tests_test_matrix_LDADD = $(TEST_LDADD)
