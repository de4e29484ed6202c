/* test-metadata.c: the typed metadata map and its wire form (private
 * module core/gossip-metadata.c), fed with what hostile peers could send. */
#include "config.h"

#include "gossip/gossip.h"
#include "../core/gossip-metadata.h"

static GVariant *
pair (const char *code, GVariant *value)
{
  GVariant *items[2]
      = { g_variant_new_variant (g_variant_new_string (code)), g_variant_new_variant (value) };
  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, items, 2);
}

static GVariant *
map1 (const char *key, GVariant *value)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", key, value);
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static void
test_round_trip (void)
{
  g_autoptr (GossipMetadata) md = _gossip_metadata_new ();
  g_autoptr (GossipMetadata) back = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) keys = NULL;
  GossipMetaType type;

  _gossip_metadata_set (md, "s", GOSSIP_META_TYPE_STRING, g_variant_new_string ("x"));
  _gossip_metadata_set (md, "ts", GOSSIP_META_TYPE_TIMESTAMP, g_variant_new_int64 (-5));
  _gossip_metadata_set (md, "i", GOSSIP_META_TYPE_INT64, g_variant_new_int64 (-5));
  _gossip_metadata_set (md, "u", GOSSIP_META_TYPE_UINT64, g_variant_new_uint64 (G_MAXUINT64));
  back = _gossip_metadata_from_wire (_gossip_metadata_to_wire (md), 65536, &error);
  g_assert_no_error (error);
  g_assert_true (_gossip_metadata_equal (md, back));
  g_assert_nonnull (_gossip_metadata_lookup (back, "ts", &type));
  g_assert_cmpint (type, ==, GOSSIP_META_TYPE_TIMESTAMP);
  keys = _gossip_metadata_keys (back);
  g_assert_cmpstr (keys[0], ==, "i");
  g_assert_cmpstr (keys[3], ==, "u");
  g_assert_true (_gossip_metadata_remove (back, "i"));
  g_assert_false (_gossip_metadata_remove (back, "i"));
  g_assert_false (_gossip_metadata_equal (md, back));
}

/* A codec may widen integers: the type code restores them. */
static void
test_widened_values_restored (void)
{
  g_autoptr (GVariant) wire = map1 ("n", pair ("i", g_variant_new_byte (7)));
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipMetadata) md = _gossip_metadata_from_wire (wire, 65536, &error);
  GossipMetaType type;
  GVariant *v;

  g_assert_no_error (error);
  v = _gossip_metadata_lookup (md, "n", &type);
  g_assert_cmpint (type, ==, GOSSIP_META_TYPE_INT64);
  g_assert_true (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64));
  g_assert_cmpint (g_variant_get_int64 (v), ==, 7);
}

static void
test_hostile_input_refused (void)
{
  GVariant *cases[] = {
    g_variant_ref_sink (g_variant_new_string ("not a map")),
    map1 ("k", g_variant_new_string ("not a pair")),
    map1 ("k", pair ("zz", g_variant_new_string ("unknown code"))),
    map1 ("k", pair ("b", g_variant_new_string ("not a boolean"))),
    map1 ("k", pair ("u", g_variant_new_int64 (-1))),
    map1 ("", pair ("s", g_variant_new_string ("empty key"))),
    map1 ("bad\x01key", pair ("s", g_variant_new_string ("control character"))),
    map1 ("k", pair ("s", g_variant_new_take_string (g_strnfill (2000, 'x')))),
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      GossipMetadata *md = _gossip_metadata_from_wire (cases[i], 1024, &error);

      g_test_message ("case %u: %s", i, error ? error->message : "(accepted)");
      g_assert_null (md);
      /* Shape errors are G_IO_ERROR_INVALID_DATA, bad keys
       * G_IO_ERROR_INVALID_ARGUMENT, and a value its type code cannot hold
       * fails coercion (GOSSIP_CODEC_ERROR_TYPE). */
      g_assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA)
                     || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT)
                     || g_error_matches (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TYPE));
      g_variant_unref (cases[i]);
    }
}

static void
test_too_many_keys (void)
{
  GVariantBuilder b;
  g_autoptr (GVariant) wire = NULL;
  g_autoptr (GError) error = NULL;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i <= GOSSIP_META_MAX_KEYS; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", i);
      g_variant_builder_add (&b, "{sv}", key, pair ("b", g_variant_new_boolean (TRUE)));
    }
  wire = g_variant_ref_sink (g_variant_builder_end (&b));
  g_assert_null (_gossip_metadata_from_wire (wire, G_MAXSIZE, &error));
  g_assert_nonnull (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metadata-map/round-trip", test_round_trip);
  g_test_add_func ("/metadata-map/widened-values-restored", test_widened_values_restored);
  g_test_add_func ("/metadata-map/hostile-input-refused", test_hostile_input_refused);
  g_test_add_func ("/metadata-map/too-many-keys", test_too_many_keys);
  return g_test_run ();
}
