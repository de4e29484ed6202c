/* bench-pipeline.c: workload W6 of /work/shared/BENCHMARKS.md, the packet
 * pipeline without a network.
 *
 * One round trip builds a protocol-like message (an a{sv} with a type, a
 * sequence number, a node id and the payload), encodes it into a frame
 * (codec, compressor, cipher) and decodes the frame again.  Every codec,
 * compressor and cipher found in the plugin search path is measured, with
 * "none" for compressor and cipher, for payloads of 100 B and 4 KiB.
 *
 * stdout: one JSON object per combination, or with --all a Markdown table
 * of every combination and the issue-6 targets checked.  stderr: progress.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gossip/gossip.h"

#define MAX_FRAME_SIZE (64 * 1024)

/* The "t" of an application message: types above 127 are the application's,
 * and a user broadcast is what carries a payload like ours. */
#define BENCH_MESSAGE_TYPE 128

/* A plugin to measure; "none" has no vtable. */
typedef struct
{
  const char *name;
  gconstpointer vtable;
} Plugin;

/* A cipher with one of its key sizes. */
typedef struct
{
  const char *name;
  const GossipCipherVTable *vtable;
  gsize key_len;
} Cipher;

typedef struct
{
  double seconds;     /* measured time per combination */
  double warmup;      /* warm-up time per combination */
  guint64 iterations; /* fixed count instead of a time, 0 = by time */
  gsize compress_min_size;
} Budget;

typedef struct
{
  guint64 iterations;
  double wall_ns;
  double cpu_ns;
  gsize frame_bytes;
  gboolean compressed;
  double build_ns; /* the part of wall_ns spent building the message */
} Result;

/* One measured combination, kept for the --all table. */
typedef struct
{
  const char *codec; /* interned */
  const char *compressor;
  const char *cipher;
  gsize key_bits;
  gsize payload;
  Result result;
} Row;

/* Issue 6's targets for W6. */
#define TARGET_BEST_PAIR_NS 1500.0
#define TARGET_JSON_FACTOR  5.0

static gdouble opt_seconds = 0.3;
static gdouble opt_max_seconds = 120.0;
static gboolean opt_quick = FALSE;
static gint64 opt_iterations = 0;
static gint64 opt_compress_min_size = 0;
static char **opt_codecs = NULL;
static char **opt_compressors = NULL;
static char **opt_ciphers = NULL;
static gint opt_payload = 0;
static gboolean opt_all = FALSE;
static gint opt_repeat = 1;

static const GOptionEntry options[]
    = { { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick,
          "Smoke run: a few milliseconds per combination", NULL },
        { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
          "Measured time per combination (default 0.3)", "S" },
        { "max-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_max_seconds,
          "Cap on the whole run; shortens each combination to fit (default 120)", "S" },
        { "iterations", 'n', 0, G_OPTION_ARG_INT64, &opt_iterations,
          "Run exactly N round trips per combination instead of a time (for profilers)", "N" },
        { "compress-min-size", 0, 0, G_OPTION_ARG_INT64, &opt_compress_min_size,
          "The pipeline's compress_min_size (default 0: always try the compressor)", "BYTES" },
        { "codec", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_codecs, "Only this codec (repeatable)",
          "NAME" },
        { "compressor", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_compressors,
          "Only this compressor, or none (repeatable)", "NAME" },
        { "cipher", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_ciphers,
          "Only this cipher, or none (repeatable)", "NAME" },
        { "payload", 0, 0, G_OPTION_ARG_INT, &opt_payload,
          "Only this payload size instead of 100 and 4096", "BYTES" },
        { "all", 'a', 0, G_OPTION_ARG_NONE, &opt_all,
          "Every codec x compressor x cipher, printed as one Markdown table with the targets "
          "checked, instead of JSON lines (no --codec/--compressor/--cipher)",
          NULL },
        { "repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat,
          "Measure everything R times: R JSON lines per combination, or with --all the fastest "
          "of R in the table (default 1)",
          "R" },
        G_OPTION_ENTRY_NULL };

static const gsize payload_sizes[] = { 100, 4096 };

static double
now_ns (clockid_t clock)
{
  struct timespec ts;

  clock_gettime (clock, &ts);
  return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static gboolean
selected (char **only, const char *name)
{
  return only == NULL || g_strv_contains ((const char *const *) only, name);
}

/* Half text with repeated structure, like the application state people
 * gossip (service records), and half random bytes, like ids, hashes or data
 * that is already compressed or encrypted.  Seeded, so every run measures
 * the same bytes. */
static GBytes *
make_payload (gsize size)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GRand) rand = g_rand_new_with_seed (6);
  guint8 *data = g_malloc (size);
  gsize half = size / 2;

  for (guint i = 0; text->len < half; i++)
    g_string_append_printf (text, "svc=api-%u;node=web-%03u.dc1;port=%u;state=up;\n", i % 4,
                            g_rand_int_range (rand, 0, 1000),
                            8000 + g_rand_int_range (rand, 0, 100));
  memcpy (data, text->str, half);
  for (gsize i = half; i < size; i++)
    data[i] = (guint8) g_rand_int (rand);
  return g_bytes_new_take (data, size);
}

/* The "build" part of a round trip: what the cluster does for each message
 * (core/gossip-messages.c): dict entries collected in an array and made
 * into one a{sv}, not a GVariantBuilder. */
static GVariant *
entry (const char *key, GVariant *value)
{
  return g_variant_new_dict_entry (g_variant_new_string (key), g_variant_new_variant (value));
}

static GVariant *
build_message (guint64 seq, const char *node_id, GBytes *payload)
{
  GVariant *entries[4];

  entries[0] = entry ("t", g_variant_new_uint64 (BENCH_MESSAGE_TYPE));
  entries[1] = entry ("s", g_variant_new_uint64 (seq));
  entries[2] = entry ("f", g_variant_new_string (node_id));
  /* Shares the payload rather than copying it, as the cluster does with the
   * broadcasts it queues. */
  entries[3] = entry ("p", g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, payload, TRUE));
  return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), entries, 4));
}

static gboolean
check_payload (GVariant *decoded, gsize want, GError **error)
{
  g_autoptr (GVariant) p = g_variant_lookup_value (decoded, "p", G_VARIANT_TYPE_BYTESTRING);

  if (p == NULL || g_variant_get_size (p) != want)
    {
      g_set_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_DECODE_FAILED,
                   "decoded message has no %" G_GSIZE_FORMAT "-byte payload \"p\"", want);
      return FALSE;
    }
  return TRUE;
}

/* One thing to time: round trips through @pipeline, or with no pipeline
 * only the building of the message, so the two can be told apart. */
typedef struct
{
  GossipPipeline *pipeline;
  const char *node_id;
  GBytes *payload;
  guint64 seq;
} Work;

static gboolean
round_trip (Work *work, gboolean check, GBytes **frame_out, GError **error)
{
  g_autoptr (GVariant) message = build_message (work->seq++, work->node_id, work->payload);
  g_autoptr (GBytes) frame = NULL;
  g_autoptr (GVariant) decoded = NULL;
  gsize len;
  const guint8 *data;

  if (work->pipeline == NULL)
    return TRUE;
  frame = gossip_pipeline_encode (work->pipeline, message, error);
  if (frame == NULL)
    return FALSE;
  data = g_bytes_get_data (frame, &len);
  decoded = gossip_pipeline_decode (work->pipeline, data, len, error);
  if (decoded == NULL)
    return FALSE;
  if (check && !check_payload (decoded, g_bytes_get_size (work->payload), error))
    return FALSE;
  if (frame_out != NULL)
    *frame_out = g_steal_pointer (&frame);
  return TRUE;
}

/* Runs @work until @seconds have passed (or exactly @fixed_iterations
 * times), reading the clock once per batch so that reading it costs nothing
 * measurable. */
static gboolean
run_for (Work *work, double seconds, guint64 fixed_iterations, Result *result, GError **error)
{
  double start = now_ns (CLOCK_MONOTONIC), cpu_start = now_ns (CLOCK_THREAD_CPUTIME_ID);
  double deadline = start + seconds * 1e9, end;
  guint64 batch = 1, done = 0;

  do
    {
      double batch_start = now_ns (CLOCK_MONOTONIC);

      if (fixed_iterations > 0)
        batch = fixed_iterations;
      for (guint64 i = 0; i < batch; i++)
        if (!round_trip (work, FALSE, NULL, error))
          return FALSE;
      done += batch;
      end = now_ns (CLOCK_MONOTONIC);
      /* Aim for batches of about a millisecond. */
      if (end - batch_start < 1e6 && batch < (G_MAXUINT64 >> 2))
        batch *= 2;
    }
  while (fixed_iterations == 0 && end < deadline);

  result->iterations = done;
  result->wall_ns = (end - start) / (double) done;
  result->cpu_ns = (now_ns (CLOCK_THREAD_CPUTIME_ID) - cpu_start) / (double) done;
  return TRUE;
}

/* Warms up, then times @work as @budget says. */
static gboolean
time_work (Work *work, const Budget *budget, Result *result, GError **error)
{
  Result warm;

  return run_for (work, budget->warmup, budget->iterations ? MAX (budget->iterations / 10, 1) : 0,
                  &warm, error)
         && run_for (work, budget->seconds, budget->iterations, result, error);
}

static GossipPipeline *
make_pipeline (const Plugin *codec, const Plugin *compressor, const Cipher *cipher,
               gsize compress_min_size, GError **error)
{
  g_autoptr (GossipKeyring) keyring = NULL;

  if (cipher->vtable != NULL)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (66);
      guint8 key[64];

      g_assert (cipher->key_len <= sizeof key);
      for (gsize i = 0; i < cipher->key_len; i++)
        key[i] = (guint8) g_rand_int (rand);
      keyring = gossip_keyring_new (cipher->vtable);
      if (!gossip_keyring_add_key (keyring, key, cipher->key_len, TRUE, error))
        return NULL;
    }
  return gossip_pipeline_new (codec->vtable, compressor->vtable, GOSSIP_COMPRESSOR_LEVEL_DEFAULT,
                              keyring, compress_min_size, MAX_FRAME_SIZE, error);
}

static char *
format_double (double value, const char *format)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* JSON wants '.' whatever the locale. */
  return g_strdup (g_ascii_formatd (buf, sizeof buf, format, value));
}

/* Plugin names need no JSON escaping: the loader only accepts names made of
 * letters, digits, '-', '_' and '.'. */
static void
print_result (const Plugin *codec, const Plugin *compressor, const Cipher *cipher,
              gsize payload_size, const Result *r)
{
  g_autofree char *ns = format_double (r->wall_ns, "%.1f");
  g_autofree char *cpu_ns = format_double (r->cpu_ns, "%.1f");
  g_autofree char *build_ns = format_double (r->build_ns, "%.1f");
  g_autofree char *mbs = format_double ((double) payload_size / r->wall_ns * 1e3, "%.2f");

  printf ("{\"impl\":\"libgossip\",\"workload\":\"W6\",\"n\":1,\"profile\":\"none\","
          "\"codec\":\"%s\",\"compressor\":\"%s\",\"cipher\":\"%s\",\"key_bits\":%" G_GSIZE_FORMAT
          ",\"payload\":%" G_GSIZE_FORMAT ",\"ns_per_roundtrip\":%s,\"mb_per_s\":%s,"
          "\"frame_bytes\":%" G_GSIZE_FORMAT ",\"compressed\":%s,\"cpu_ns_per_roundtrip\":%s,"
          "\"build_ns\":%s,\"iterations\":%" G_GUINT64_FORMAT "}\n",
          codec->name, compressor->name, cipher->name, cipher->key_len * 8, payload_size, ns, mbs,
          r->frame_bytes, r->compressed ? "true" : "false", cpu_ns, build_ns, r->iterations);
  fflush (stdout);
}

/* --all with --repeat: a combination's row is its fastest round (the one
 * least disturbed by other load on the machine). */
static void
keep_fastest (GArray *rows, const Plugin *codec, const Plugin *compressor, const Cipher *cipher,
              gsize payload, const Result *result)
{
  Row row = { codec->name, compressor->name, cipher->name, cipher->key_len * 8, payload, *result };

  for (guint i = 0; i < rows->len; i++)
    {
      Row *r = &g_array_index (rows, Row, i);

      if (r->codec == row.codec && r->compressor == row.compressor && r->cipher == row.cipher
          && r->key_bits == row.key_bits && r->payload == row.payload)
        {
          if (result->wall_ns < r->result.wall_ns)
            r->result = *result;
          return;
        }
    }
  g_array_append_val (rows, row);
}

static gboolean
measure (const Plugin *codec, const Plugin *compressor, const Cipher *cipher, GBytes *payload,
         const char *node_id, const Budget *budget, double build_ns, GArray *rows, GError **error)
{
  g_autoptr (GossipPipeline) pipeline
      = make_pipeline (codec, compressor, cipher, budget->compress_min_size, error);
  g_autoptr (GBytes) frame = NULL;
  Work work = { pipeline, node_id, payload, 1 };
  Result result = { 0 };

  if (pipeline == NULL)
    return FALSE;
  /* The first round trip proves the combination works before it is timed. */
  if (!round_trip (&work, TRUE, &frame, error) || !time_work (&work, budget, &result, error))
    return FALSE;
  result.frame_bytes = g_bytes_get_size (frame);
  result.compressed
      = (((const guint8 *) g_bytes_get_data (frame, NULL))[2] & GOSSIP_FRAME_FLAG_COMPRESSED) != 0;
  result.build_ns = build_ns;
  if (rows != NULL)
    keep_fastest (rows, codec, compressor, cipher, g_bytes_get_size (payload), &result);
  else
    print_result (codec, compressor, cipher, g_bytes_get_size (payload), &result);
  g_printerr ("W6 %-8s %-7s %-8s %3" G_GSIZE_FORMAT "-bit %4" G_GSIZE_FORMAT
              " B: %8.0f ns/round trip (%" G_GUINT64_FORMAT " round trips)\n",
              codec->name, compressor->name, cipher->name, cipher->key_len * 8,
              g_bytes_get_size (payload), result.wall_ns, result.iterations);
  return TRUE;
}

static gconstpointer
load_vtable (GossipPluginKind kind, const char *name)
{
  g_autoptr (GError) error = NULL;
  GossipPlugin *plugin = gossip_plugin_load (kind, name, NULL, &error);

  /* A plugin that is present but refused (old ABI, missing library) is
   * reported and left out rather than failing the whole run. */
  if (plugin == NULL)
    {
      g_printerr ("W6: skipping %s plugin %s: %s\n", gossip_plugin_kind_to_string (kind), name,
                  error->message);
      return NULL;
    }
  return gossip_plugin_get_vtable (plugin);
}

/* The plugins of @kind to measure: every one available, or those asked for;
 * "none" stands for running without one. */
static GArray *
discover (GossipPluginKind kind, char **only, gboolean with_none)
{
  g_auto (GStrv) names = gossip_plugin_list_available (kind, NULL);
  GArray *found = g_array_new (FALSE, TRUE, sizeof (Plugin));

  if (with_none && selected (only, "none"))
    {
      Plugin none = { "none", NULL };
      g_array_append_val (found, none);
    }
  for (guint i = 0; names[i] != NULL; i++)
    {
      Plugin plugin = { NULL, NULL };

      if (!selected (only, names[i]) || (plugin.vtable = load_vtable (kind, names[i])) == NULL)
        continue;
      /* Plugins stay loaded for the life of the process; so do their names. */
      plugin.name = g_intern_string (names[i]);
      g_array_append_val (found, plugin);
    }
  return found;
}

/* Each cipher with the smallest and the largest key it takes (AES-128 and
 * AES-256); the sizes in between tell nothing new. */
static GArray *
cipher_variants (GArray *ciphers)
{
  GArray *variants = g_array_new (FALSE, TRUE, sizeof (Cipher));

  for (guint i = 0; i < ciphers->len; i++)
    {
      const Plugin *plugin = &g_array_index (ciphers, Plugin, i);
      const GossipCipherVTable *vtable = plugin->vtable;
      gsize smallest = G_MAXSIZE, largest = 0;

      if (vtable == NULL)
        {
          Cipher none = { plugin->name, NULL, 0 };
          g_array_append_val (variants, none);
          continue;
        }
      for (guint k = 0; vtable->key_sizes[k] != 0; k++)
        {
          smallest = MIN (smallest, vtable->key_sizes[k]);
          largest = MAX (largest, vtable->key_sizes[k]);
        }
      for (guint k = 0; k < (smallest == largest ? 1u : 2u); k++)
        {
          Cipher c = { plugin->name, vtable, k == 0 ? smallest : largest };
          g_array_append_val (variants, c);
        }
    }
  return variants;
}

/* How much the compressors shrink the raw payload, so readers can tell how
 * hard the compressor rows worked. */
static void
report_compressibility (GArray *compressors, GBytes *payload)
{
  for (guint i = 0; i < compressors->len; i++)
    {
      const Plugin *plugin = &g_array_index (compressors, Plugin, i);
      const GossipCompressorVTable *vtable = plugin->vtable;
      g_autoptr (GError) error = NULL;
      g_autoptr (GByteArray) out = g_byte_array_new ();
      gpointer instance;
      gsize len;
      const guint8 *data = g_bytes_get_data (payload, &len);

      if (vtable == NULL)
        continue;
      instance = vtable->create (GOSSIP_COMPRESSOR_LEVEL_DEFAULT, &error);
      if (instance == NULL || !vtable->compress (instance, data, len, out, &error))
        g_printerr ("W6 payload %4" G_GSIZE_FORMAT " B: %s failed: %s\n", len, plugin->name,
                    error ? error->message : "no reason given");
      else
        g_printerr ("W6 payload %4" G_GSIZE_FORMAT " B: %s -> %u B (%.0f %%)\n", len, plugin->name,
                    out->len, 100.0 * out->len / (double) len);
      if (instance != NULL)
        vtable->destroy (instance);
    }
}

static gint
compare_rows (gconstpointer a, gconstpointer b)
{
  const Row *x = a, *y = b;
  int c;

  if (x->payload != y->payload)
    return x->payload < y->payload ? -1 : 1;
  if ((c = strcmp (x->codec, y->codec)) != 0 || (c = strcmp (x->compressor, y->compressor)) != 0
      || (c = strcmp (x->cipher, y->cipher)) != 0)
    return c;
  return x->key_bits < y->key_bits ? -1 : x->key_bits > y->key_bits;
}

static const char *
cipher_label (const Row *row, char *buf, gsize size)
{
  if (row->key_bits == 0)
    return row->cipher;
  g_snprintf (buf, size, "%s-%" G_GSIZE_FORMAT, row->cipher, row->key_bits);
  return buf;
}

/* The row of @codec with no compressor, @cipher and @key_bits at @payload. */
static const Row *
find_row (GArray *rows, const char *codec, const char *cipher, gsize key_bits, gsize payload)
{
  for (guint i = 0; i < rows->len; i++)
    {
      const Row *r = &g_array_index (rows, Row, i);

      if (r->payload == payload && strcmp (r->codec, codec) == 0
          && strcmp (r->compressor, "none") == 0 && strcmp (r->cipher, cipher) == 0
          && r->key_bits == key_bits)
        return r;
    }
  return NULL;
}

/* The best 100-byte pair without compressor; @with_cipher: only encrypted rows. */
static const Row *
best_pair (GArray *rows, gboolean with_cipher, gboolean pipeline_only)
{
  const Row *best = NULL;

  for (guint i = 0; i < rows->len; i++)
    {
      const Row *r = &g_array_index (rows, Row, i);
      double ns = r->result.wall_ns - (pipeline_only ? r->result.build_ns : 0);

      if (r->payload != 100 || strcmp (r->compressor, "none") != 0
          || (with_cipher && r->key_bits == 0))
        continue;
      if (best == NULL || ns < best->result.wall_ns - (pipeline_only ? best->result.build_ns : 0))
        best = r;
    }
  return best;
}

static void
print_best_pair (GArray *rows, gboolean with_cipher, gboolean pipeline_only)
{
  const Row *best = best_pair (rows, with_cipher, pipeline_only);
  double ns;
  char buf[64];

  if (best == NULL)
    return;
  ns = best->result.wall_ns - (pipeline_only ? best->result.build_ns : 0);
  printf ("- best codec/cipher pair on 100 B%s%s: %s + %s, %.0f ns: %s (target < %.0f ns)\n",
          with_cipher ? ", encrypted" : ", cipher none allowed",
          pipeline_only ? ", pipeline alone (minus build_ns)" : "", best->codec,
          cipher_label (best, buf, sizeof buf), ns,
          ns < TARGET_BEST_PAIR_NS ? "**met**" : "**missed**", TARGET_BEST_PAIR_NS);
}

/* JSON against msgpack, without compressor, for each cipher and payload. */
static void
print_json_factor (GArray *rows)
{
  double worst = 0, worst_pipeline = 0;
  gboolean any = FALSE;

  for (guint i = 0; i < rows->len; i++)
    {
      const Row *json = &g_array_index (rows, Row, i);
      const Row *msgpack;
      double factor, pipeline_factor;
      char buf[64];

      if (strcmp (json->codec, "json") != 0 || strcmp (json->compressor, "none") != 0)
        continue;
      msgpack = find_row (rows, "msgpack", json->cipher, json->key_bits, json->payload);
      if (msgpack == NULL)
        continue;
      any = TRUE;
      factor = json->result.wall_ns / msgpack->result.wall_ns;
      pipeline_factor = (json->result.wall_ns - json->result.build_ns)
                        / (msgpack->result.wall_ns - msgpack->result.build_ns);
      worst = MAX (worst, factor);
      worst_pipeline = MAX (worst_pipeline, pipeline_factor);
      printf ("- json / msgpack, %" G_GSIZE_FORMAT " B, %s: %.2f× (pipeline alone %.2f×)\n",
              json->payload, cipher_label (json, buf, sizeof buf), factor, pipeline_factor);
    }
  if (any)
    printf ("- JSON within %.0f× of msgpack: %s (worst %.2f×; pipeline alone %.2f×)\n",
            TARGET_JSON_FACTOR, worst <= TARGET_JSON_FACTOR ? "**met**" : "**missed**", worst,
            worst_pipeline);
}

/* Building does not depend on the plugins: every row of a payload size
 * gets the fastest building time measured for it (in any round). */
static void
use_fastest_build (GArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    for (guint j = 0; j < rows->len; j++)
      {
        Row *a = &g_array_index (rows, Row, i), *b = &g_array_index (rows, Row, j);

        if (a->payload == b->payload && b->result.build_ns < a->result.build_ns)
          a->result.build_ns = b->result.build_ns;
      }
}

/* --all: every row as a Markdown table, then the targets. */
static void
print_table (GArray *rows)
{
  use_fastest_build (rows);
  g_array_sort (rows, compare_rows);
  printf ("| payload | codec | compressor | cipher | ns / round trip | CPU ns | build_ns | "
          "pipeline ns | frame bytes |\n|---|---|---|---|---|---|---|---|---|\n");
  for (guint i = 0; i < rows->len; i++)
    {
      const Row *r = &g_array_index (rows, Row, i);
      char buf[64];

      printf ("| %" G_GSIZE_FORMAT
              " B | %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %" G_GSIZE_FORMAT "%s |\n",
              r->payload, r->codec, r->compressor, cipher_label (r, buf, sizeof buf),
              r->result.wall_ns, r->result.cpu_ns, r->result.build_ns,
              r->result.wall_ns - r->result.build_ns, r->result.frame_bytes,
              r->result.compressed ? " (compressed)" : "");
    }
  printf ("\nTargets (issue 6):\n\n");
  print_best_pair (rows, TRUE, FALSE);
  print_best_pair (rows, FALSE, FALSE);
  print_best_pair (rows, TRUE, TRUE);
  print_json_factor (rows);
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context
      = g_option_context_new ("- W6: packet pipeline round trips per codec, compressor, cipher");
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) codecs = NULL, compressors = NULL, cipher_plugins = NULL, ciphers = NULL;
  g_autoptr (GPtrArray) payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree char *node_id = g_uuid_string_random ();
  g_autoptr (GArray) rows = NULL;
  Budget budget = { 0 };
  guint n_combinations, n_runs;
  double started;

  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-pipeline: %s\n", error->message);
      return 2;
    }
  if (opt_seconds <= 0 || opt_max_seconds <= 0 || opt_iterations < 0 || opt_compress_min_size < 0
      || opt_payload < 0 || opt_payload > MAX_FRAME_SIZE / 2 || opt_repeat < 1)
    {
      g_printerr ("bench-pipeline: times and --repeat must be positive, counts and sizes not "
                  "negative, payloads at most %d bytes\n",
                  MAX_FRAME_SIZE / 2);
      return 2;
    }
  if (opt_all && (opt_codecs || opt_compressors || opt_ciphers))
    {
      g_printerr ("bench-pipeline: --all measures every plugin: leave out --codec, --compressor "
                  "and --cipher\n");
      return 2;
    }
  if (opt_all)
    rows = g_array_new (FALSE, FALSE, sizeof (Row));

  codecs = discover (GOSSIP_PLUGIN_KIND_CODEC, opt_codecs, FALSE);
  compressors = discover (GOSSIP_PLUGIN_KIND_COMPRESSOR, opt_compressors, TRUE);
  cipher_plugins = discover (GOSSIP_PLUGIN_KIND_CIPHER, opt_ciphers, TRUE);
  ciphers = cipher_variants (cipher_plugins);
  if (opt_payload > 0)
    g_ptr_array_add (payloads, make_payload ((gsize) opt_payload));
  else
    for (guint i = 0; i < G_N_ELEMENTS (payload_sizes); i++)
      g_ptr_array_add (payloads, make_payload (payload_sizes[i]));

  n_combinations = codecs->len * compressors->len * ciphers->len * payloads->len;
  if (n_combinations == 0)
    {
      g_printerr ("bench-pipeline: nothing to measure: %u codecs, %u compressors, %u ciphers, "
                  "%u payload sizes (is GOSSIP_PLUGIN_PATH right?)\n",
                  codecs->len, compressors->len, ciphers->len, payloads->len);
      return 1;
    }

  budget.compress_min_size = (gsize) opt_compress_min_size;
  budget.iterations = (guint64) opt_iterations;
  budget.seconds = opt_quick ? 0.004 : opt_seconds;
  budget.warmup = budget.seconds / 5;
  /* Leave a tenth of the cap for set-up and the untimed first round trips. */
  /* And the message alone per payload, all of it --repeat times. */
  n_runs = (n_combinations + payloads->len) * (guint) opt_repeat;
  if (budget.iterations == 0 && n_runs * (budget.seconds + budget.warmup) > opt_max_seconds * 0.9)
    {
      budget.seconds = opt_max_seconds * 0.9 / n_runs / 1.2;
      budget.warmup = budget.seconds / 5;
      g_printerr ("W6: shortened to %.3f s per combination to stay within %.0f s\n", budget.seconds,
                  opt_max_seconds);
    }
  g_printerr ("W6: %u codecs x %u compressors x %u ciphers x %u payloads = %u combinations, "
              "%.3f s each, %d time(s)\n",
              codecs->len, compressors->len, ciphers->len, payloads->len, n_combinations,
              budget.seconds + budget.warmup, opt_repeat);
  for (guint i = 0; i < payloads->len; i++)
    report_compressibility (compressors, payloads->pdata[i]);

  started = now_ns (CLOCK_MONOTONIC);
  for (gint round = 0; round < opt_repeat; round++)
    for (guint p = 0; p < payloads->len; p++)
      {
        Work build_only = { NULL, node_id, payloads->pdata[p], 1 };
        Result build = { 0 };

        /* Building does not depend on the plugins: timed once per payload. */
        if (!time_work (&build_only, &budget, &build, &error))
          {
            g_printerr ("bench-pipeline: building the message: %s\n", error->message);
            return 1;
          }
        g_printerr ("W6 building the %u-byte message alone: %.0f ns\n",
                    (guint) g_bytes_get_size (payloads->pdata[p]), build.wall_ns);
        /* Codecs innermost: the ones compared with each other run back to
         * back, under the same load. */
        for (guint z = 0; z < compressors->len; z++)
          for (guint e = 0; e < ciphers->len; e++)
            for (guint c = 0; c < codecs->len; c++)
              {
                const Plugin *codec = &g_array_index (codecs, Plugin, c);
                const Plugin *compressor = &g_array_index (compressors, Plugin, z);
                const Cipher *cipher = &g_array_index (ciphers, Cipher, e);

                if (!measure (codec, compressor, cipher, payloads->pdata[p], node_id, &budget,
                              build.wall_ns, rows, &error))
                  {
                    g_printerr ("bench-pipeline: %s / %s / %s: %s\n", codec->name, compressor->name,
                                cipher->name, error->message);
                    return 1;
                  }
              }
      }
  g_printerr ("W6: done in %.1f s\n", (now_ns (CLOCK_MONOTONIC) - started) / 1e9);
  if (rows != NULL)
    print_table (rows);
  return 0;
}
