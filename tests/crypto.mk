# tests/crypto.mk: the conformance suites every cipher and compressor plugin
# must pass.  GOSSIP_TEST_CIPHERS / GOSSIP_TEST_COMPRESSORS (space-separated
# plugin names) choose the plugins at run time; by default, those built here.
TEST_DEFAULT_CIPHERS =
TEST_DEFAULT_COMPRESSORS =
if BUILD_GNUTLS
TEST_DEFAULT_CIPHERS += aes-gcm chacha20-poly1305
endif
if BUILD_SNAPPY
TEST_DEFAULT_COMPRESSORS += snappy
endif
if BUILD_ZLIB
TEST_DEFAULT_COMPRESSORS += zlib
endif
if BUILD_ZSTD
TEST_DEFAULT_COMPRESSORS += zstd
endif
if BUILD_LZ4
TEST_DEFAULT_COMPRESSORS += lz4
endif

check_PROGRAMS += tests/test-cipher tests/test-compressor
TESTS += tests/test-cipher tests/test-compressor
tests_test_cipher_CPPFLAGS = $(AM_CPPFLAGS) \
	-DGOSSIP_TEST_DEFAULT_CIPHERS='"$(TEST_DEFAULT_CIPHERS)"'
tests_test_cipher_LDADD = $(TEST_LDADD)
tests_test_compressor_CPPFLAGS = $(AM_CPPFLAGS) \
	-DGOSSIP_TEST_DEFAULT_COMPRESSORS='"$(TEST_DEFAULT_COMPRESSORS)"'
tests_test_compressor_LDADD = $(TEST_LDADD)
