/* test-bench-smoke.c: the benchmarks run to the end and print well-formed
 * lines: W6 one per combination, the cluster workloads (W1-W5, W7) one per
 * workload (two for W7) on a tiny cluster, streams one per cipher.
 * Behaviour only: no figure is judged. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gossip/gossip.h"

/* Runs the benchmark @program with @args and returns its stdout lines. */
static GStrv
run_program (const char *program, const char *const *args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GStrvBuilder) argv = g_strv_builder_new ();
  g_auto (GStrv) argv_strv = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GStrvBuilder) nonempty = g_strv_builder_new ();
  int status;

  g_strv_builder_add (argv, program);
  g_strv_builder_addv (argv, (const char **) args);
  argv_strv = g_strv_builder_end (argv);
  g_assert_true (g_spawn_sync (NULL, argv_strv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_test_message ("%s stderr:\n%s", program, err);
  g_assert_no_error (error);

  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_strv_builder_add (nonempty, lines[i]);
  return g_strv_builder_end (nonempty);
}

static GStrv
run_bench (const char *const *args)
{
  return run_program (BENCH_PIPELINE, args);
}

static gboolean
have_codec (void)
{
  g_auto (GStrv) codecs = gossip_plugin_list_available (GOSSIP_PLUGIN_KIND_CODEC, NULL);

  if (codecs[0] == NULL)
    g_test_skip ("no codec plugin built");
  return codecs[0] != NULL;
}

/* The figure after "@key": in @line, which must be a positive number. */
static double
field_number (const char *line, const char *key)
{
  g_autofree char *needle = g_strdup_printf ("\"%s\":", key);
  const char *at = strstr (line, needle);
  char *end = NULL;
  double value;

  g_assert_nonnull (at);
  value = g_ascii_strtod (at + strlen (needle), &end);
  g_assert_true (end != at + strlen (needle));
  g_assert_true (*end == ',' || *end == '}');
  return value;
}

static void
assert_w6_line (const char *line)
{
  g_assert_true (g_str_has_prefix (line, "{\"impl\":\"libgossip\",\"workload\":\"W6\","));
  g_assert_true (g_str_has_suffix (line, "}"));
  g_assert_null (strchr (line, '\n'));
  g_assert_cmpfloat (field_number (line, "ns_per_roundtrip"), >, 0);
  g_assert_cmpfloat (field_number (line, "mb_per_s"), >, 0);
  g_assert_cmpfloat (field_number (line, "frame_bytes"), >, GOSSIP_FRAME_HEADER_SIZE);
  g_assert_cmpfloat (field_number (line, "n"), ==, 1);
}

static gboolean
some_line_has (char **lines, const char *field, const char *value)
{
  g_autofree char *needle = g_strdup_printf ("\"%s\":%s", field, value);

  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], needle) != NULL)
      return TRUE;
  return FALSE;
}

/* Every plugin of @kind present must show up under @field. */
static void
assert_every_plugin_measured (char **lines, GossipPluginKind kind, const char *field)
{
  g_auto (GStrv) names = gossip_plugin_list_available (kind, NULL);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *quoted = g_strdup_printf ("\"%s\"", names[i]);
      g_assert_true (some_line_has (lines, field, quoted));
    }
}

static void
test_quick_run_measures_every_plugin_combination (void)
{
  const char *const args[] = { "--quick", NULL };
  g_auto (GStrv) lines = NULL;
  g_auto (GStrv) codecs = NULL, compressors = NULL, ciphers = NULL;

  if (!have_codec ())
    return;
  lines = run_bench (args);
  codecs = gossip_plugin_list_available (GOSSIP_PLUGIN_KIND_CODEC, NULL);
  compressors = gossip_plugin_list_available (GOSSIP_PLUGIN_KIND_COMPRESSOR, NULL);
  ciphers = gossip_plugin_list_available (GOSSIP_PLUGIN_KIND_CIPHER, NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    assert_w6_line (lines[i]);
  /* Ciphers may add a line per key size, so this is a lower bound. */
  g_assert_cmpuint (g_strv_length (lines), >=,
                    g_strv_length (codecs) * (g_strv_length (compressors) + 1)
                        * (g_strv_length (ciphers) + 1) * 2);
  assert_every_plugin_measured (lines, GOSSIP_PLUGIN_KIND_CODEC, "codec");
  assert_every_plugin_measured (lines, GOSSIP_PLUGIN_KIND_COMPRESSOR, "compressor");
  assert_every_plugin_measured (lines, GOSSIP_PLUGIN_KIND_CIPHER, "cipher");
  g_assert_true (some_line_has (lines, "compressor", "\"none\""));
  g_assert_true (some_line_has (lines, "cipher", "\"none\""));
  g_assert_true (some_line_has (lines, "payload", "100,"));
  g_assert_true (some_line_has (lines, "payload", "4096,"));
}

static void
test_filters_restrict_the_run_to_one_combination (void)
{
  g_auto (GStrv) codecs = NULL;
  g_auto (GStrv) lines = NULL;
  g_autofree char *codec_json = NULL;

  if (!have_codec ())
    return;
  codecs = gossip_plugin_list_available (GOSSIP_PLUGIN_KIND_CODEC, NULL);
  {
    const char *const args[] = { "--quick",  "--codec", codecs[0],   "--compressor", "none",
                                 "--cipher", "none",    "--payload", "100",          NULL };
    lines = run_bench (args);
  }
  g_assert_cmpuint (g_strv_length (lines), ==, 1);
  assert_w6_line (lines[0]);
  codec_json = g_strdup_printf ("\"%s\"", codecs[0]);
  g_assert_true (some_line_has (lines, "codec", codec_json));
  g_assert_true (some_line_has (lines, "compressor", "\"none\""));
  g_assert_true (some_line_has (lines, "cipher", "\"none\""));
  g_assert_true (some_line_has (lines, "key_bits", "0,"));
  g_assert_true (some_line_has (lines, "payload", "100,"));
}

/* --all: one Markdown table with a row per combination, then the targets. */
static void
test_all_prints_a_table_and_the_targets (void)
{
  const char *const args[] = { "--all", "--quick", "--payload", "100", NULL };
  g_auto (GStrv) lines = NULL;
  g_auto (GStrv) codecs = NULL;
  guint rows = 0, targets = 0;

  if (!have_codec ())
    return;
  lines = run_bench (args);
  codecs = gossip_plugin_list_available (GOSSIP_PLUGIN_KIND_CODEC, NULL);
  g_assert_true (g_str_has_prefix (lines[0], "| payload | codec | compressor | cipher |"));
  g_assert_true (g_str_has_prefix (lines[1], "|---|"));
  for (guint i = 2; lines[i] != NULL && lines[i][0] == '|'; i++)
    {
      g_assert_true (g_str_has_prefix (lines[i], "| 100 B | "));
      g_assert_true (g_str_has_suffix (lines[i], " |"));
      rows++;
    }
  /* Every codec with no compressor and no cipher at least. */
  g_assert_cmpuint (rows, >=, g_strv_length (codecs));
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "- best codec/cipher pair on 100 B"))
      {
        g_assert_true (strstr (lines[i], "**met**") || strstr (lines[i], "**missed**"));
        targets++;
      }
  g_assert_cmpuint (targets, >=, 1);
}

static void
test_all_refuses_filters (void)
{
  g_autoptr (GError) error = NULL;
  const char *argv[] = { BENCH_PIPELINE, "--all", "--codec", "msgpack", NULL };
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
}

/* The line of @workload (and @variant, if not NULL), which must be the only one. */
static const char *
find_line (char **lines, const char *workload, const char *variant)
{
  g_autofree char *w = g_strdup_printf ("\"workload\":\"%s\",", workload);
  g_autofree char *v = g_strdup_printf ("\"variant\":\"%s\",", variant ? variant : "");
  const char *found = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], w) != NULL && (variant == NULL || strstr (lines[i], v) != NULL))
      {
        g_assert_null (found);
        found = lines[i];
      }
  g_assert_nonnull (found);
  return found;
}

static void
test_cluster_quick_run_reports_every_workload (void)
{
  /* The local profile: a 4-node cluster detects a failure within seconds. */
  const char *const args[] = { "--quick", "--nodes", "4", "--profile", "local", NULL };
  g_auto (GStrv) lines = NULL;
  const char *line;

  if (!have_codec ())
    return;
  lines = run_program (BENCH_CLUSTER, args);
  g_assert_cmpuint (g_strv_length (lines), ==, 7);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_assert_true (g_str_has_prefix (lines[i], "{\"impl\":\"libgossip\",\"workload\":\"W"));
      g_assert_true (g_str_has_suffix (lines[i], "}"));
      g_assert_nonnull (strstr (lines[i], "\"profile\":\"local\","));
      g_assert_nonnull (strstr (lines[i], "\"converged\":true"));
      g_assert_cmpfloat (field_number (lines[i], "n"), ==, 4);
    }

  line = find_line (lines, "W1", NULL);
  g_assert_cmpfloat (field_number (line, "converge_ms"), >, 0);
  g_assert_cmpfloat (field_number (line, "pkts_per_node"), >, 0);
  g_assert_cmpfloat (field_number (line, "bytes_per_node"), >, 0);

  /* Every other node got node 0's broadcast, exactly once. */
  line = find_line (lines, "W2", NULL);
  g_assert_cmpfloat (field_number (line, "delivered"), ==, 3);
  g_assert_cmpfloat (field_number (line, "max_ms"), >=, field_number (line, "p50_ms"));
  g_assert_cmpfloat (field_number (line, "p50_ms"), >, 0);
  g_assert_cmpfloat (field_number (line, "pkts_per_node"), >, 0);
  g_assert_cmpfloat (field_number (line, "bytes_per_node"), >, 0);
  g_assert_cmpfloat (field_number (line, "duplicate_deliveries"), ==, 0);

  /* Every other node got every one of the --quick run's 200 broadcasts. */
  line = find_line (lines, "W5", NULL);
  g_assert_nonnull (strstr (line, "\"complete\":true"));
  g_assert_cmpfloat (field_number (line, "messages"), ==, 200);
  g_assert_cmpfloat (field_number (line, "delivered_pct"), ==, 100);
  g_assert_cmpfloat (field_number (line, "msgs_per_s"), >, 0);
  g_assert_cmpfloat (field_number (line, "cpu_us_per_delivery"), >, 0);
  g_assert_cmpfloat (field_number (line, "duplicate_deliveries"), ==, 0);

  /* Every other node saw the stopped one suspect, then dead. */
  line = find_line (lines, "W3", NULL);
  g_assert_cmpfloat (field_number (line, "detected"), ==, 3);
  g_assert_cmpfloat (field_number (line, "dead_max_ms"), >=, field_number (line, "dead_p50_ms"));
  g_assert_cmpfloat (field_number (line, "dead_p50_ms"), >=, field_number (line, "suspect_p50_ms"));
  g_assert_cmpfloat (field_number (line, "suspect_p50_ms"), >, 0);

  line = find_line (lines, "W4", NULL);
  g_assert_cmpfloat (field_number (line, "cpu_s_per_node_min"), >, 0);
  g_assert_cmpfloat (field_number (line, "rss_kib_per_node"), >, 0);
  g_assert_cmpfloat (field_number (line, "bytes_per_node_s"), >, 0);

  /* Virtual time: the real failure is always seen, whatever the loss did. */
  line = find_line (lines, "W7", "loss");
  g_assert_nonnull (strstr (line, "\"transport\":\"memory\","));
  g_assert_cmpfloat (field_number (line, "loss"), ==, 0.2);
  g_assert_cmpfloat (field_number (line, "false_suspect"), >=, 0);
  g_assert_cmpfloat (field_number (line, "false_dead"), >=, 0);
  g_assert_cmpfloat (field_number (line, "real_detected"), ==, 3);
  g_assert_cmpfloat (field_number (line, "real_dead_ms"), >, 0);
  line = find_line (lines, "W7", "pause");
  g_assert_cmpfloat (field_number (line, "false_suspect"), >=, 0);
  g_assert_cmpfloat (field_number (line, "real_detected"), ==, 3);
  g_assert_nonnull (strstr (line, "\"paused_declared_dead\":"));
}

/* bench-stream: a small transfer and a few round trips over the socket
 * transport, plaintext and sealed, one JSON line each. */
static void
test_stream (void)
{
  const char *const args[] = { "--size", "4", "--messages", "20", NULL };
  g_auto (GStrv) lines = run_program (BENCH_STREAM, args);

  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_assert_true (
          g_str_has_prefix (lines[i], "{\"impl\":\"libgossip\",\"workload\":\"stream\","));
      g_assert_true (g_str_has_suffix (lines[i], "}"));
      g_assert_cmpfloat (field_number (lines[i], "mib_per_s"), >, 0);
      g_assert_cmpfloat (field_number (lines[i], "rtt_p50_us"), >, 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bench/pipeline/quick-run-measures-every-plugin-combination",
                   test_quick_run_measures_every_plugin_combination);
  g_test_add_func ("/bench/pipeline/filters-restrict-the-run-to-one-combination",
                   test_filters_restrict_the_run_to_one_combination);
  g_test_add_func ("/bench/pipeline/all-prints-a-table-and-the-targets",
                   test_all_prints_a_table_and_the_targets);
  g_test_add_func ("/bench/pipeline/all-refuses-filters", test_all_refuses_filters);
  g_test_add_func ("/bench/cluster/quick-run-reports-every-workload",
                   test_cluster_quick_run_reports_every_workload);
  g_test_add_func ("/bench/stream/small-run-reports-both-ciphers", test_stream);
  return g_test_run ();
}
