/* test-compressor.c: the conformance suite every compressor plugin must pass.
 *
 * Runs once per compressor named in GOSSIP_TEST_COMPRESSORS (space or comma
 * separated; by default the compressors this build made), each case as
 * /compressor/<name>/<case>.  Decompression reads network input, so most
 * cases are about hostile data: truncations, garbage and bombs.
 */
#include "config.h"

#include <string.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-compressor.h"

#ifndef GOSSIP_TEST_DEFAULT_COMPRESSORS
#define GOSSIP_TEST_DEFAULT_COMPRESSORS "snappy zlib zstd lz4"
#endif

#define KiB 1024
#define MiB (1024 * 1024)

/* What is known of particular compressors beyond the common contract. */
typedef struct
{
  const char *name;
  guint8 wire_id;
  const int *accepted_levels;
  gsize n_accepted_levels;
  const int *refused_levels;
  gsize n_refused_levels;
} CompressorFacts;

static const int snappy_accepted[] = { GOSSIP_COMPRESSOR_LEVEL_DEFAULT };
static const int snappy_refused[] = { 3, 0, 1, -2 };
static const int zlib_accepted[] = { GOSSIP_COMPRESSOR_LEVEL_DEFAULT, 0, 1, 5, 9 };
static const int zlib_refused[] = { 10, -2, 100, G_MININT, G_MAXINT };
/* zstd's own 0 (its default again) and negative "fast" levels are refused. */
static const int zstd_accepted[] = { GOSSIP_COMPRESSOR_LEVEL_DEFAULT, 1, 3, 19, 22 };
static const int zstd_refused[] = { 0, -2, -5, 23, 100, G_MININT, G_MAXINT };
/* -1 is fast LZ4; 1 to 12 are LZ4HC levels. */
static const int lz4_accepted[] = { GOSSIP_COMPRESSOR_LEVEL_DEFAULT, 1, 9, 12 };
static const int lz4_refused[] = { 0, -2, 13, 65537, G_MININT, G_MAXINT };

static const CompressorFacts known_compressors[] = {
  { "snappy", 1, snappy_accepted, G_N_ELEMENTS (snappy_accepted), snappy_refused,
    G_N_ELEMENTS (snappy_refused) },
  { "zlib", 2, zlib_accepted, G_N_ELEMENTS (zlib_accepted), zlib_refused,
    G_N_ELEMENTS (zlib_refused) },
  { "zstd", 3, zstd_accepted, G_N_ELEMENTS (zstd_accepted), zstd_refused,
    G_N_ELEMENTS (zstd_refused) },
  { "lz4", 4, lz4_accepted, G_N_ELEMENTS (lz4_accepted), lz4_refused, G_N_ELEMENTS (lz4_refused) },
};

typedef struct
{
  char *name;
  GossipPlugin *plugin;
  const GossipCompressorVTable *vtable;
  const CompressorFacts *facts; /* NULL for a compressor this suite has no facts about */
  char *load_error;
} CompressorUnderTest;

static void
compressor_under_test_free (gpointer data)
{
  CompressorUnderTest *c = data;

  g_free (c->name);
  g_free (c->load_error);
  g_free (c);
}

static GBytes *
random_data (gsize len)
{
  guint8 *bytes = g_malloc (len);

  for (gsize i = 0; i < len; i++)
    bytes[i] = (guint8) g_test_rand_int_range (0, 256);
  return g_bytes_new_take (bytes, len);
}

/* Text much like a membership dump: repetitive, so any compressor shrinks it. */
static GBytes *
compressible_data (gsize len)
{
  GString *s = g_string_sized_new (len + 64);

  for (guint i = 0; s->len < len; i++)
    g_string_append_printf (s, "node-%04u 10.0.%u.%u:7946 alive incarnation=%u\n", i % 5000,
                            (i / 250) % 256, i % 250, i % 7);
  g_string_truncate (s, len);
  return g_string_free_to_bytes (s);
}

static gpointer
create_or_die (const CompressorUnderTest *c, int level)
{
  g_autoptr (GError) error = NULL;
  gpointer self = c->vtable->create (level, &error);

  g_assert_no_error (error);
  g_assert_nonnull (self);
  return self;
}

static GByteArray *
compress_or_die (const CompressorUnderTest *c, gpointer self, GBytes *input)
{
  g_autoptr (GError) error = NULL;
  GByteArray *out = g_byte_array_new ();
  gsize len;
  const guint8 *data = g_bytes_get_data (input, &len);

  g_assert_true (c->vtable->compress (self, data, len, out, &error));
  g_assert_no_error (error);
  return out;
}

/* Decompresses into @out, which may already hold bytes; checks what every
 * call must do whatever the input: existing bytes untouched, output within
 * the limit, and on failure the array as it was. */
static gboolean
decompress_checked (const CompressorUnderTest *c, gpointer self, const guint8 *in, gsize in_len,
                    gsize max_out, GByteArray *out, GError **error)
{
  guint before = out->len;
  g_autofree guint8 *existing = g_memdup2 (out->data, before);
  gboolean ok = c->vtable->decompress (self, in, in_len, max_out, out, error);

  g_assert_cmpmem (out->data, before, existing, before);
  if (ok)
    g_assert_cmpuint (out->len - before, <=, max_out);
  else
    {
      g_assert_cmpuint (out->len, ==, before);
      g_assert_true (error == NULL || *error != NULL);
    }
  return ok;
}

static void
assert_round_trips (const CompressorUnderTest *c, gpointer self, GBytes *input)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) compressed = compress_or_die (c, self, input);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  gsize len;
  const guint8 *data = g_bytes_get_data (input, &len);

  g_assert_true (decompress_checked (c, self, compressed->data, compressed->len, len, out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out->data, out->len, data, len);
}

static void
test_loads_as_a_compressor_plugin (gconstpointer data)
{
  const CompressorUnderTest *c = data;

  if (c->load_error != NULL)
    {
      g_test_fail_printf ("compressor %s did not load: %s", c->name, c->load_error);
      return;
    }
  g_assert_cmpint (gossip_plugin_get_kind (c->plugin), ==, GOSSIP_PLUGIN_KIND_COMPRESSOR);
  g_assert_cmpstr (gossip_plugin_get_name (c->plugin), ==, c->name);
  g_assert_cmpuint (c->vtable->struct_size, >=, G_STRUCT_OFFSET (GossipCompressorVTable, reserved));
  g_assert_cmpuint (c->vtable->wire_id, !=, 0);
  if (c->facts != NULL)
    g_assert_cmpuint (c->vtable->wire_id, ==, c->facts->wire_id);
}

static void
test_round_trips_empty_input (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  g_autoptr (GBytes) input = g_bytes_new (NULL, 0);

  assert_round_trips (c, self, input);
  c->vtable->destroy (self);
}

static void
test_round_trips_one_byte (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  g_autoptr (GBytes) input = g_bytes_new ("x", 1);

  assert_round_trips (c, self, input);
  c->vtable->destroy (self);
}

static void
test_round_trips_incompressible_64k (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  g_autoptr (GBytes) input = random_data (64 * KiB);

  assert_round_trips (c, self, input);
  c->vtable->destroy (self);
}

static void
test_round_trips_and_shrinks_compressible_1m (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  g_autoptr (GBytes) input = compressible_data (MiB);
  g_autoptr (GByteArray) compressed = compress_or_die (c, self, input);

  g_assert_cmpuint (compressed->len, <, MiB / 4);
  assert_round_trips (c, self, input);
  c->vtable->destroy (self);
}

static void
test_accepts_levels_or_refuses_them_as_bad (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  g_autoptr (GBytes) input = compressible_data (64 * KiB);

  /* Whatever a compressor makes of a level, it is either usable or a
   * BAD_LEVEL error: never another failure, never a half-made instance. */
  for (int level = -3; level <= 12; level++)
    {
      g_autoptr (GError) error = NULL;
      gpointer self = c->vtable->create (level, &error);

      g_test_message ("level %d", level);
      if (self == NULL)
        {
          g_assert_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_BAD_LEVEL);
          continue;
        }
      g_assert_no_error (error);
      assert_round_trips (c, self, input);
      c->vtable->destroy (self);
    }

  if (c->facts == NULL)
    return;
  for (gsize i = 0; i < c->facts->n_accepted_levels; i++)
    {
      gpointer self = create_or_die (c, c->facts->accepted_levels[i]);

      assert_round_trips (c, self, input);
      c->vtable->destroy (self);
    }
  for (gsize i = 0; i < c->facts->n_refused_levels; i++)
    {
      g_autoptr (GError) error = NULL;

      g_test_message ("level %d must be refused", c->facts->refused_levels[i]);
      g_assert_null (c->vtable->create (c->facts->refused_levels[i], &error));
      g_assert_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_BAD_LEVEL);
    }
}

static void
test_allows_exactly_max_out_and_refuses_one_byte_more (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  GBytes *inputs[] = { g_bytes_new ("x", 1), random_data (10000), compressible_data (100000) };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr (GByteArray) compressed = compress_or_die (c, self, inputs[i]);
      g_autoptr (GByteArray) out = g_byte_array_new ();
      g_autoptr (GError) error = NULL;
      gsize len = g_bytes_get_size (inputs[i]);

      g_test_message ("%" G_GSIZE_FORMAT " bytes", len);
      g_assert_true (
          decompress_checked (c, self, compressed->data, compressed->len, len, out, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (out->len, ==, len);

      g_byte_array_set_size (out, 0);
      g_assert_false (
          decompress_checked (c, self, compressed->data, compressed->len, len - 1, out, &error));
      g_assert_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_TOO_BIG);
      g_bytes_unref (inputs[i]);
    }
  c->vtable->destroy (self);
}

static void
test_refuses_a_decompression_bomb (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  g_autoptr (GBytes) zeros = g_bytes_new_take (g_malloc0 (16 * MiB), 16 * MiB);
  g_autoptr (GByteArray) bomb = compress_or_die (c, self, zeros);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;

  g_test_message ("16 MiB of zeros compress to %u bytes", bomb->len);
  g_byte_array_append (out, (const guint8 *) "kept", 4);
  g_assert_false (decompress_checked (c, self, bomb->data, bomb->len, MiB, out, &error));
  g_assert_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_TOO_BIG);
  c->vtable->destroy (self);
}

static void
test_rejects_every_truncation (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  g_autoptr (GByteArray) mixed = g_byte_array_new ();
  g_autoptr (GBytes) text = compressible_data (2000);
  g_autoptr (GBytes) noise = random_data (1000);
  g_autoptr (GBytes) original = NULL;
  g_autoptr (GByteArray) compressed = NULL;

  g_byte_array_append (mixed, g_bytes_get_data (text, NULL), g_bytes_get_size (text));
  g_byte_array_append (mixed, g_bytes_get_data (noise, NULL), g_bytes_get_size (noise));
  original = g_byte_array_free_to_bytes (g_steal_pointer (&mixed));
  compressed = compress_or_die (c, self, original);

  for (guint len = 0; len < compressed->len; len++)
    {
      /* An exact-size copy, so that reading past the prefix is caught. */
      g_autofree guint8 *prefix = g_memdup2 (compressed->data, len);
      g_autoptr (GByteArray) out = g_byte_array_new ();
      g_autoptr (GError) error = NULL;

      if (decompress_checked (c, self, prefix, len, 2 * g_bytes_get_size (original), out, &error))
        {
          g_autoptr (GBytes) got = g_byte_array_free_to_bytes (g_steal_pointer (&out));

          /* Some formats have valid prefixes; they must not pass as the whole. */
          g_test_message ("a %u-byte prefix decompressed", len);
          g_assert_false (g_bytes_equal (got, original));
        }
      else
        g_assert_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT);
    }
  c->vtable->destroy (self);
}

static void
test_rejects_bytes_after_the_end (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  g_autoptr (GBytes) text = compressible_data (5000);
  g_autoptr (GByteArray) valid = compress_or_die (c, self, text);

  /* Whatever follows a complete stream is not part of the message: a format
   * that ignored it would let a sender smuggle bytes past the decoder. */
  for (guint extra = 1; extra <= 16; extra++)
    {
      g_autoptr (GByteArray) padded = g_byte_array_sized_new (valid->len + extra);
      g_autoptr (GBytes) tail = random_data (extra);
      g_autoptr (GByteArray) out = g_byte_array_new ();
      g_autoptr (GError) error = NULL;

      g_byte_array_append (padded, valid->data, valid->len);
      g_byte_array_append (padded, g_bytes_get_data (tail, NULL), extra);
      g_assert_false (
          decompress_checked (c, self, padded->data, padded->len, 2 * 5000, out, &error));
      g_assert_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT);
    }
  c->vtable->destroy (self);
}

static void
assert_survives (const CompressorUnderTest *c, gpointer self, const guint8 *in, gsize in_len)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;

  g_byte_array_append (out, (const guint8 *) "kept", 4);
  if (!decompress_checked (c, self, in, in_len, 64 * KiB, out, &error))
    g_assert_true (
        g_error_matches (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT)
        || g_error_matches (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_TOO_BIG));
}

static void
test_survives_random_garbage (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  g_autoptr (GBytes) text = compressible_data (4000);
  g_autoptr (GByteArray) valid = compress_or_die (c, self, text);

  for (guint i = 0; i < 3000; i++)
    {
      gsize len = (gsize) g_test_rand_int_range (0, 600);
      g_autoptr (GBytes) noise = random_data (len);
      g_autofree guint8 *buf = g_memdup2 (g_bytes_get_data (noise, NULL), len);
      gsize keep = (gsize) g_test_rand_int_range (0, (gint) valid->len + 1);
      g_autofree guint8 *mutated = g_memdup2 (valid->data, valid->len);

      /* Pure noise rarely gets past a format's header... */
      assert_survives (c, self, buf, len);
      /* ...so also a valid beginning followed by noise... */
      keep = MIN (keep, len);
      if (keep > 0)
        memcpy (buf, valid->data, keep);
      assert_survives (c, self, buf, len);
      /* ...and a valid stream with a few bytes changed. */
      for (gint n = g_test_rand_int_range (1, 5); n > 0; n--)
        mutated[g_test_rand_int_range (0, (gint) valid->len)] = (guint8) g_test_rand_int ();
      assert_survives (c, self, mutated, valid->len);
    }
  c->vtable->destroy (self);
}

static void
test_keeps_working_after_corrupt_input (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  g_autoptr (GBytes) text = compressible_data (20000);
  g_autoptr (GByteArray) valid = compress_or_die (c, self, text);

  for (guint i = 1; i < valid->len; i += valid->len / 7 + 1)
    {
      g_autoptr (GByteArray) out = g_byte_array_new ();
      g_autoptr (GError) error = NULL;

      /* Stop half-way through a stream, or overflow the limit... */
      decompress_checked (c, self, valid->data, i, 20000, out, NULL);
      decompress_checked (c, self, valid->data, valid->len, 100, out, NULL);
      /* ...and the next stream must still decode from a clean state. */
      g_byte_array_set_size (out, 0);
      g_assert_true (decompress_checked (c, self, valid->data, valid->len, 20000, out, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (out->data, out->len, g_bytes_get_data (text, NULL), 20000);
      assert_round_trips (c, self, text);
    }
  c->vtable->destroy (self);
}

static void
test_appends_after_existing_bytes (gconstpointer data)
{
  const CompressorUnderTest *c = data;
  gpointer self = create_or_die (c, GOSSIP_COMPRESSOR_LEVEL_DEFAULT);
  const guint8 existing[] = "bytes already in the array";
  g_autoptr (GBytes) text = compressible_data (30000);
  g_autoptr (GByteArray) alone = compress_or_die (c, self, text);
  g_autoptr (GByteArray) compressed = g_byte_array_new ();
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;

  g_byte_array_append (compressed, existing, sizeof existing);
  g_assert_true (
      c->vtable->compress (self, g_bytes_get_data (text, NULL), 30000, compressed, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (compressed->data, sizeof existing, existing, sizeof existing);
  g_assert_cmpuint (compressed->len, >, sizeof existing);

  g_byte_array_append (out, existing, sizeof existing);
  g_assert_true (decompress_checked (c, self, compressed->data + sizeof existing,
                                     compressed->len - sizeof existing, 30000, out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out->data + sizeof existing, out->len - sizeof existing,
                   g_bytes_get_data (text, NULL), 30000);

  /* The limit is on what one call adds, not on the array's total. */
  g_byte_array_set_size (out, 0);
  g_byte_array_append (out, alone->data, alone->len);
  g_assert_true (decompress_checked (c, self, alone->data, alone->len, 30000, out, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (out->len, ==, alone->len + 30000);
  c->vtable->destroy (self);
}

/* A plugin given by absolute path (an out-of-tree build) is named by its
 * file: /x/gossip-compress-NAME.so tests as NAME. */
static char *
label_for (const char *name)
{
  g_autofree char *base = NULL;
  const char *start;
  char *dot;

  if (!g_path_is_absolute (name))
    return g_strdup (name);
  base = g_path_get_basename (name);
  start = g_str_has_prefix (base, "gossip-compress-") ? base + strlen ("gossip-compress-") : base;
  dot = strchr (start, '.');
  return dot ? g_strndup (start, dot - start) : g_strdup (start);
}

static void
add_compressor_tests (GPtrArray *compressors, const char *spec)
{
  g_autofree char *name = label_for (spec);
  g_autoptr (GError) error = NULL;
  CompressorUnderTest *c = g_new0 (CompressorUnderTest, 1);
  const struct
  {
    const char *name;
    GTestDataFunc func;
  } cases[] = {
    { "round-trips-empty-input", test_round_trips_empty_input },
    { "round-trips-one-byte", test_round_trips_one_byte },
    { "round-trips-incompressible-64k", test_round_trips_incompressible_64k },
    { "round-trips-and-shrinks-compressible-1m", test_round_trips_and_shrinks_compressible_1m },
    { "accepts-levels-or-refuses-them-as-bad", test_accepts_levels_or_refuses_them_as_bad },
    { "allows-exactly-max-out-and-refuses-one-byte-more",
      test_allows_exactly_max_out_and_refuses_one_byte_more },
    { "refuses-a-decompression-bomb", test_refuses_a_decompression_bomb },
    { "rejects-every-truncation", test_rejects_every_truncation },
    { "rejects-bytes-after-the-end", test_rejects_bytes_after_the_end },
    { "survives-random-garbage", test_survives_random_garbage },
    { "keeps-working-after-corrupt-input", test_keeps_working_after_corrupt_input },
    { "appends-after-existing-bytes", test_appends_after_existing_bytes },
  };
  g_autofree char *load_path
      = g_strdup_printf ("/compressor/%s/loads-as-a-compressor-plugin", name);

  c->name = g_strdup (name);
  for (guint i = 0; i < G_N_ELEMENTS (known_compressors); i++)
    if (strcmp (known_compressors[i].name, name) == 0)
      c->facts = &known_compressors[i];
  c->plugin = gossip_plugin_load (GOSSIP_PLUGIN_KIND_COMPRESSOR, spec, NULL, &error);
  if (c->plugin == NULL)
    c->load_error = g_strdup (error->message);
  else
    c->vtable = gossip_plugin_get_vtable (c->plugin);
  g_ptr_array_add (compressors, c);

  g_test_add_data_func (load_path, c, test_loads_as_a_compressor_plugin);
  if (c->plugin == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/compressor/%s/%s", name, cases[i].name);

      g_test_add_data_func (path, c, cases[i].func);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) compressors = g_ptr_array_new_with_free_func (compressor_under_test_free);
  const char *names = g_getenv ("GOSSIP_TEST_COMPRESSORS");
  g_auto (GStrv) tokens = NULL;

  g_test_init (&argc, &argv, NULL);
  tokens = g_strsplit_set (names ? names : GOSSIP_TEST_DEFAULT_COMPRESSORS, " ,", -1);
  for (guint i = 0; tokens[i] != NULL; i++)
    if (tokens[i][0] != '\0')
      add_compressor_tests (compressors, tokens[i]);
  return g_test_run ();
}
