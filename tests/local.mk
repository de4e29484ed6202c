# tests/: GTest programs run through automake's TAP driver.
TEST_LDADD = core/libgossip-1.0.la $(GLIB_LIBS)

include tests/plugins/local.mk
include tests/crypto.mk

check_PROGRAMS += tests/test-clock tests/test-plugin-loader tests/test-frame
TESTS += tests/test-clock tests/test-plugin-loader tests/test-frame
tests_test_clock_LDADD = $(TEST_LDADD)
tests_test_plugin_loader_LDADD = $(TEST_LDADD)
tests_test_frame_LDADD = $(TEST_LDADD)

EXTRA_DIST += tests/run-test.sh tests/valgrind.supp
