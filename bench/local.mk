# bench/: benchmark programs (/work/shared/BENCHMARKS.md).  They print
# figures; `make bench` runs them.  The smoke test only checks that a quick
# run works and prints well-formed lines, never how fast it is.
noinst_PROGRAMS += bench/bench-pipeline
bench_bench_pipeline_SOURCES = bench/bench-pipeline.c
bench_bench_pipeline_LDADD = core/libgossip-1.0.la $(GLIB_LIBS)

check_PROGRAMS += bench/test-bench-smoke
TESTS += bench/test-bench-smoke
bench_test_bench_smoke_SOURCES = bench/test-bench-smoke.c
# Runs the benchmark, which `make check` builds first as part of `all`.
bench_test_bench_smoke_CPPFLAGS = $(AM_CPPFLAGS) \
	-DBENCH_PIPELINE='"$(abs_top_builddir)/bench/bench-pipeline"'
bench_test_bench_smoke_LDADD = core/libgossip-1.0.la $(GLIB_LIBS)

EXTRA_DIST += bench/README.md

# `make bench` runs every workload with the build tree's plugins, figures on
# stdout; each workload adds its own `bench: bench-wN` line.
bench: bench-w6
bench-w6: bench/bench-pipeline$(EXEEXT) $(gossipplugin_LTLIBRARIES)
	GOSSIP_PLUGIN_PATH='$(abs_top_builddir)/plugins' ./bench/bench-pipeline$(EXEEXT)
.PHONY: bench bench-w6
