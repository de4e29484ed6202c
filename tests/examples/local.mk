# tests/examples/: each example run as real processes, driven through stdin/stdout
# by a small Python harness (python3); TAP on stdout like the GTest programs.
EXAMPLE_TESTS = tests/examples/test-basic.py tests/examples/test-events.py \
	tests/examples/test-usermessages.py tests/examples/test-stream.py \
	tests/examples/test-kv.py tests/examples/test-leader.py
TESTS += $(EXAMPLE_TESTS)
EXTRA_DIST += $(EXAMPLE_TESTS) tests/examples/harness.py
