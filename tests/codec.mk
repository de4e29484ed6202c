# tests/codec.mk: the conformance suite every codec plugin must pass, plus
# gossip_variant_coerce().  GOSSIP_TEST_CODECS (space-separated plugin names)
# chooses the codecs at run time; by default, those built here.
TEST_DEFAULT_CODECS =
if BUILD_MSGPACK
TEST_DEFAULT_CODECS += msgpack
endif
if BUILD_MPACK
TEST_DEFAULT_CODECS += mpack
endif
if BUILD_JSON
TEST_DEFAULT_CODECS += json
endif

check_PROGRAMS += tests/test-codec
TESTS += tests/test-codec
tests_test_codec_CPPFLAGS = $(AM_CPPFLAGS) \
	-DGOSSIP_TEST_DEFAULT_CODECS='"$(TEST_DEFAULT_CODECS)"' \
	-DGOSSIP_TEST_DEFAULT_SRCDIR='"$(abs_top_srcdir)/tests"'
tests_test_codec_LDADD = $(TEST_LDADD)
EXTRA_DIST += tests/msgpack-crosscheck.py
