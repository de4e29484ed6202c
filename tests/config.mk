# tests/config.mk: GossipConfig, its parsers and the example keyfile
# (examples/gossip.conf must load and mention every key).
check_PROGRAMS += tests/test-config
TESTS += tests/test-config
tests_test_config_LDADD = $(TEST_LDADD)
