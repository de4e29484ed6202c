# bench/: benchmark programs (/work/shared/BENCHMARKS.md).  They print
# figures; `make bench` runs them.  The smoke test only checks that a quick
# run works and prints well-formed lines, never how fast it is.
noinst_PROGRAMS += bench/bench-pipeline bench/bench-cluster bench/bench-stream
bench_bench_stream_SOURCES = bench/bench-stream.c tests/tls-test-certs.c tests/tls-test-certs.h
bench_bench_stream_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_bench_stream_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
bench_bench_stream_LDADD = core/libgossip-1.0.la $(GLIB_LIBS) $(GNUTLS_LIBS)
bench_bench_pipeline_SOURCES = bench/bench-pipeline.c
bench_bench_pipeline_LDADD = core/libgossip-1.0.la $(GLIB_LIBS)
bench_bench_cluster_SOURCES = bench/bench-cluster.c
bench_bench_cluster_LDADD = core/libgossip-1.0.la $(GLIB_LIBS) -lm

check_PROGRAMS += bench/test-bench-smoke
TESTS += bench/test-bench-smoke
bench_test_bench_smoke_SOURCES = bench/test-bench-smoke.c
# Runs the benchmark, which `make check` builds first as part of `all`.
bench_test_bench_smoke_CPPFLAGS = $(AM_CPPFLAGS) \
	-DBENCH_PIPELINE='"$(abs_top_builddir)/bench/bench-pipeline"' \
	-DBENCH_CLUSTER='"$(abs_top_builddir)/bench/bench-cluster"' \
	-DBENCH_STREAM='"$(abs_top_builddir)/bench/bench-stream"'
bench_test_bench_smoke_LDADD = core/libgossip-1.0.la $(GLIB_LIBS)

EXTRA_DIST += bench/README.md

# `make bench` runs every workload with the build tree's plugins, figures on
# stdout; each workload adds its own `bench: bench-wN` line.
# The cluster workloads run N = 16 and 64 with both profiles; add sizes or
# other options with e.g. `make bench-w1 BENCH_CLUSTER_FLAGS='--nodes 256'`.
BENCH_CLUSTER_FLAGS =
BENCH_CLUSTER_RUN = GOSSIP_PLUGIN_PATH='$(abs_top_builddir)/plugins' \
	./bench/bench-cluster$(EXEEXT) $(BENCH_CLUSTER_FLAGS)
bench: bench-w1 bench-w2 bench-w3 bench-w4 bench-w5 bench-w6 bench-w7 bench-stream
bench-w1: bench/bench-cluster$(EXEEXT) $(gossipplugin_LTLIBRARIES)
	$(BENCH_CLUSTER_RUN) --workload W1
bench-w2: bench/bench-cluster$(EXEEXT) $(gossipplugin_LTLIBRARIES)
	$(BENCH_CLUSTER_RUN) --workload W2
bench-w3: bench/bench-cluster$(EXEEXT) $(gossipplugin_LTLIBRARIES)
	$(BENCH_CLUSTER_RUN) --workload W3
bench-w4: bench/bench-cluster$(EXEEXT) $(gossipplugin_LTLIBRARIES)
	$(BENCH_CLUSTER_RUN) --workload W4
bench-w5: bench/bench-cluster$(EXEEXT) $(gossipplugin_LTLIBRARIES)
	$(BENCH_CLUSTER_RUN) --workload W5
bench-w6: bench/bench-pipeline$(EXEEXT) $(gossipplugin_LTLIBRARIES)
	GOSSIP_PLUGIN_PATH='$(abs_top_builddir)/plugins' ./bench/bench-pipeline$(EXEEXT)
bench-w7: bench/bench-cluster$(EXEEXT) $(gossipplugin_LTLIBRARIES)
	$(BENCH_CLUSTER_RUN) --workload W7
# Stream throughput and message latency over every transport built; add
# e.g. BENCH_STREAM_FLAGS='--size 4096' for longer runs.
BENCH_STREAM_FLAGS =
bench-stream: bench/bench-stream$(EXEEXT) $(gossipplugin_LTLIBRARIES)
	GOSSIP_PLUGIN_PATH='$(abs_top_builddir)/plugins' ./bench/bench-stream$(EXEEXT) $(BENCH_STREAM_FLAGS)
.PHONY: bench-stream
.PHONY: bench bench-w1 bench-w2 bench-w3 bench-w4 bench-w5 bench-w6 bench-w7
