/* test-codec.c: the conformance suite every codec plugin must pass, and the
 * tests of gossip_variant_coerce().
 *
 * Runs once per codec named in GOSSIP_TEST_CODECS (space or comma separated;
 * by default the codecs this build made), each case as /codec/<name>/<case>.
 * The cases follow the value mapping of gossip-codec.h row by row, then treat
 * the decoder as what it is, a parser of network input: truncations,
 * trailing bytes, nesting bombs, absurd lengths and fuzzing.  Codecs whose
 * wire id is 1 must speak MessagePack and also get byte-level cases,
 * including a cross-check with Debian's python3-msgpack; when both msgpack
 * and mpack load, they must produce and accept the very same bytes.  The
 * JSON codec (wire id 2) gets text-level cases.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-codec.h"

#ifndef GOSSIP_TEST_DEFAULT_CODECS
#define GOSSIP_TEST_DEFAULT_CODECS "msgpack"
#endif
#ifndef GOSSIP_TEST_DEFAULT_SRCDIR
#define GOSSIP_TEST_DEFAULT_SRCDIR "."
#endif

#define MSGPACK_WIRE_ID  1
#define JSON_WIRE_ID     2
#define JSON_MAX_INTEGER (G_GUINT64_CONSTANT (1) << 53)
#define FUZZ_SEED        0x60551b
#define FUZZ_ROUNDS      20000

/* What is known of particular codecs beyond the common contract. */
typedef struct
{
  const char *name;
  guint8 wire_id;
  /* Every prefix of a value is TRUNCATED and any byte after one TRAILING
   * (true of binary formats; a text format may call a cut token MALFORMED). */
  gboolean exact_errors;
  /* The largest integer magnitude the format carries exactly; 0 for all of
   * int64 and uint64.  Beyond it, encoding must fail with UNSUPPORTED. */
  guint64 max_integer;
  /* Infinities and NaN cannot be encoded (UNSUPPORTED). */
  gboolean finite_doubles_only;
} CodecFacts;

static const CodecFacts known_codecs[] = {
  { "msgpack", MSGPACK_WIRE_ID, TRUE, 0, FALSE },
  { "mpack", MSGPACK_WIRE_ID, TRUE, 0, FALSE },
  { "json", JSON_WIRE_ID, FALSE, JSON_MAX_INTEGER, TRUE },
};

typedef struct
{
  char *name;
  GossipPlugin *plugin;
  const GossipCodecVTable *vtable;
  const CodecFacts *facts; /* NULL for a codec this suite has no facts about */
  char *load_error;
} CodecUnderTest;

static void
codec_under_test_free (gpointer data)
{
  CodecUnderTest *c = data;

  g_free (c->name);
  g_free (c->load_error);
  g_free (c);
}

/* ------------------------------------------------------------ helpers */

static GVariant *
parse (const char *type, const char *text)
{
  g_autoptr (GError) error = NULL;
  GVariant *v = g_variant_parse (type ? G_VARIANT_TYPE (type) : NULL, text, NULL, NULL, &error);

  if (v == NULL)
    g_error ("test bug: cannot parse \"%s\": %s", text, error->message);
  return v; /* already non-floating */
}

static void
assert_variant_equal (GVariant *got, GVariant *want)
{
  if (!g_variant_equal (got, want))
    {
      g_autofree char *g = g_variant_print (got, TRUE);
      g_autofree char *w = g_variant_print (want, TRUE);

      g_test_fail_printf ("got %s, wanted %s", g, w);
      g_assert_not_reached ();
    }
}

static gboolean
decode_error_code (GError *error)
{
  return error->domain == GOSSIP_CODEC_ERROR
         && (error->code == GOSSIP_CODEC_ERROR_UNSUPPORTED
             || error->code == GOSSIP_CODEC_ERROR_MALFORMED
             || error->code == GOSSIP_CODEC_ERROR_TRUNCATED
             || error->code == GOSSIP_CODEC_ERROR_TOO_DEEP
             || error->code == GOSSIP_CODEC_ERROR_TRAILING);
}

static gpointer
create_or_die (const CodecUnderTest *c)
{
  g_autoptr (GError) error = NULL;
  gpointer self = c->vtable->create (&error);

  g_assert_no_error (error);
  g_assert_nonnull (self);
  return self;
}

static GByteArray *
encode_or_die (const CodecUnderTest *c, gpointer self, GVariant *value)
{
  g_autoptr (GError) error = NULL;
  GByteArray *out = g_byte_array_new ();

  if (!c->vtable->encode (self, value, out, &error))
    {
      g_autofree char *text = g_variant_print (value, TRUE);

      g_test_fail_printf ("encoding %.200s failed: %s", text, error ? error->message : "?");
      g_assert_not_reached ();
    }
  g_assert_no_error (error);
  g_assert_cmpuint (out->len, >, 0);
  return out;
}

/* Whether the codec's format can carry @v exactly, as far as this suite
 * knows (a codec it has no facts about must carry everything). */
static gboolean
codec_carries (const CodecUnderTest *c, GVariant *v)
{
  const GVariantType *type = g_variant_get_type (v);

  if (c->facts == NULL)
    return TRUE;
  if (g_variant_type_is_container (type))
    {
      gsize n;

      if (g_variant_is_of_type (v, G_VARIANT_TYPE_BYTESTRING))
        return TRUE;
      n = g_variant_n_children (v);
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr (GVariant) child = g_variant_get_child_value (v, i);

          if (!codec_carries (c, child))
            return FALSE;
        }
      return TRUE;
    }
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_DOUBLE))
    return !c->facts->finite_doubles_only || isfinite (g_variant_get_double (v));
  if (c->facts->max_integer != 0)
    {
      guint64 magnitude;

      switch (g_variant_classify (v))
        {
        case G_VARIANT_CLASS_INT64:
          {
            gint64 x = g_variant_get_int64 (v);

            magnitude = x < 0 ? (guint64) 0 - (guint64) x : (guint64) x;
            break;
          }
        case G_VARIANT_CLASS_UINT64:
          magnitude = g_variant_get_uint64 (v);
          break;
        default: /* 32 bits or fewer */
          return TRUE;
        }
      return magnitude <= c->facts->max_integer;
    }
  return TRUE;
}

/* Encoding a value the format cannot carry fails with UNSUPPORTED and
 * leaves the output as it was: never a silent change of value. */
static void
assert_encode_unsupported (const CodecUnderTest *c, gpointer self, GVariant *value)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;

  g_byte_array_append (out, (const guint8 *) "kept", 4);
  if (c->vtable->encode (self, value, out, &error))
    {
      g_autofree char *text = g_variant_print (value, TRUE);
      g_autofree char *got = g_strndup ((const char *) out->data + 4, out->len - 4);

      g_test_fail_printf ("%.200s encoded (as \"%.200s\") instead of failing", text, got);
      return;
    }
  g_assert_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_UNSUPPORTED);
  g_assert_cmpmem (out->data, out->len, "kept", 4);
}

/* Decodes an exact-size copy of @data (so reading past the end is caught);
 * checks what must hold whatever the input. */
static GVariant *
decode_checked (const CodecUnderTest *c, gpointer self, const guint8 *data, gsize len,
                GError **error)
{
  g_autofree guint8 *copy = g_memdup2 (data, len);
  GVariant *v = c->vtable->decode (self, copy, len, error);

  if (v != NULL)
    {
      g_assert_false (g_variant_is_floating (v));
      g_assert_true (error == NULL || *error == NULL);
    }
  else
    g_assert_true (error == NULL || *error != NULL);
  return v;
}

static GVariant *
decode_or_die (const CodecUnderTest *c, gpointer self, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  GVariant *v = decode_checked (c, self, data, len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (v);
  return v;
}

static void
assert_decode_fails (const CodecUnderTest *c, gpointer self, const guint8 *data, gsize len,
                     GossipCodecError code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v = decode_checked (c, self, data, len, &error);

  if (v != NULL)
    {
      g_autofree char *text = g_variant_print (v, TRUE);

      g_test_fail_printf ("%" G_GSIZE_FORMAT " bytes decoded as %.200s instead of failing", len,
                          text);
      return;
    }
  g_assert_error (error, GOSSIP_CODEC_ERROR, (gint) code);
}

/* Decoded values use only the types of the mapping's right-hand column. */
static void
assert_uses_mapping_types (GVariant *v)
{
  const char *type = g_variant_get_type_string (v);

  if (strcmp (type, "v") == 0)
    {
      g_autoptr (GVariant) inner = g_variant_get_variant (v);

      assert_uses_mapping_types (inner);
    }
  else if (strcmp (type, "av") == 0 || strcmp (type, "a{sv}") == 0 || strcmp (type, "a(vv)") == 0)
    {
      gsize n = g_variant_n_children (v);

      for (gsize i = 0; i < n; i++)
        {
          g_autoptr (GVariant) child = g_variant_get_child_value (v, i);

          if (type[1] == 'v')
            assert_uses_mapping_types (child);
          else
            for (gsize j = 0; j < 2; j++)
              {
                g_autoptr (GVariant) part = g_variant_get_child_value (child, j);

                assert_uses_mapping_types (part);
              }
        }
    }
  else if (strcmp (type, "mv") == 0)
    g_assert_true (g_variant_n_children (v) == 0);
  else if (strcmp (type, "x") == 0 || strcmp (type, "b") == 0 || strcmp (type, "d") == 0
           || strcmp (type, "s") == 0 || strcmp (type, "ay") == 0)
    ;
  else if (strcmp (type, "t") == 0)
    g_assert_cmpuint (g_variant_get_uint64 (v), >, G_MAXINT64);
  else
    g_test_fail_printf ("decoded a value of type '%s', which is not in the mapping", type);
}

/* Encodes @original, decodes it, checks the decoded form (if @expected is
 * given), that re-encoding it gives the same bytes, and that coercing it
 * back to @original's type gives @original (if @coerce_back).  Returns the
 * decoded value; or, for a value the codec's format cannot carry (known
 * from its facts), checks that encoding fails and returns NULL. */
static GVariant *
check_round_trip (const CodecUnderTest *c, gpointer self, GVariant *original, GVariant *expected,
                  gboolean coerce_back)
{
  g_autoptr (GByteArray) bytes = NULL;
  g_autoptr (GVariant) decoded = NULL;
  g_autoptr (GByteArray) again = NULL;

  if (!codec_carries (c, original))
    {
      assert_encode_unsupported (c, self, original);
      return NULL;
    }
  bytes = encode_or_die (c, self, original);
  decoded = decode_or_die (c, self, bytes->data, bytes->len);
  again = encode_or_die (c, self, decoded);

  assert_uses_mapping_types (decoded);
  if (expected != NULL)
    assert_variant_equal (decoded, expected);
  g_assert_cmpmem (again->data, again->len, bytes->data, bytes->len);
  if (coerce_back)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) back
          = gossip_variant_coerce (decoded, g_variant_get_type (original), &error);

      g_assert_no_error (error);
      g_assert_nonnull (back);
      g_assert_false (g_variant_is_floating (back));
      assert_variant_equal (back, original);
    }
  return g_steal_pointer (&decoded);
}

static GVariant *
nest_arrays (GVariant *inner, guint levels)
{
  GVariant *v = g_variant_ref_sink (inner);

  for (guint i = 0; i < levels; i++)
    {
      GVariant *boxed = g_variant_new_variant (v);
      GVariant *next = g_variant_ref_sink (g_variant_new_array (NULL, &boxed, 1));

      g_variant_unref (v);
      v = next;
    }
  return v;
}

static GVariant *
nest_maps (GVariant *inner, guint levels)
{
  GVariant *v = g_variant_ref_sink (inner);

  for (guint i = 0; i < levels; i++)
    {
      GVariant *entry
          = g_variant_new_dict_entry (g_variant_new_string ("k"), g_variant_new_variant (v));
      GVariant *next = g_variant_ref_sink (g_variant_new_array (NULL, &entry, 1));

      g_variant_unref (v);
      v = next;
    }
  return v;
}

/* Replaces the first occurrence of @needle in @hay; NULL if there is none. */
static GByteArray *
splice (const GByteArray *hay, const GByteArray *needle, const GByteArray *replacement)
{
  GByteArray *out = g_byte_array_new ();

  g_assert_cmpuint (needle->len, <=, hay->len);
  for (guint i = 0; i + needle->len <= hay->len; i++)
    if (memcmp (hay->data + i, needle->data, needle->len) == 0)
      {
        g_byte_array_append (out, hay->data, i);
        g_byte_array_append (out, replacement->data, replacement->len);
        g_byte_array_append (out, hay->data + i + needle->len, hay->len - i - needle->len);
        return out;
      }
  g_byte_array_unref (out);
  return NULL;
}

static GByteArray *
from_hex (const char *hex)
{
  GByteArray *out = g_byte_array_new ();

  for (const char *p = hex; *p != '\0';)
    {
      int hi, lo;
      guint8 b;

      if (*p == ' ')
        {
          p++;
          continue;
        }
      hi = g_ascii_xdigit_value (p[0]);
      lo = g_ascii_xdigit_value (p[1]);
      g_assert_true (hi >= 0 && lo >= 0);
      b = (guint8) (hi * 16 + lo);
      g_byte_array_append (out, &b, 1);
      p += 2;
    }
  return out;
}

static char *
to_hex (const guint8 *data, gsize len)
{
  GString *s = g_string_sized_new (2 * len + 1);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", data[i]);
  return g_string_free (s, FALSE);
}

/* A message much like the protocol's: maps in maps, byte strings, tuples. */
static GVariant *
protocol_like_message (guint n_members)
{
  GVariantBuilder members;
  GVariantBuilder b;

  g_variant_builder_init (&members, G_VARIANT_TYPE ("a(sqs)"));
  for (guint i = 0; i < n_members; i++)
    {
      g_autofree char *name = g_strdup_printf ("node-%u", i);

      g_variant_builder_add (&members, "(sqs)", name, (guint16) (7946 + i),
                             i % 3 ? "alive" : "suspect");
    }
  g_autoptr (GVariant) from = parse ("a{sv}", "{'name': <'node-0'>, 'addr': <@ay [127, 0, 0, 1]>, "
                                              "'port': <uint16 7946>, 'meta': <{'dc': <'eu-1'>}>}");
  g_autoptr (GVariant) keys = parse ("aay", "[[1, 2, 3], [], [255]]");
  g_autoptr (GVariant) none = parse ("ms", "nothing");

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "type", g_variant_new_string ("push-pull"));
  g_variant_builder_add (&b, "{sv}", "seq", g_variant_new_uint32 (4000000000u));
  g_variant_builder_add (&b, "{sv}", "from", from);
  g_variant_builder_add (&b, "{sv}", "members", g_variant_builder_end (&members));
  g_variant_builder_add (&b, "{sv}", "keys", keys);
  g_variant_builder_add (&b, "{sv}", "rtt", g_variant_new_double (0.125));
  g_variant_builder_add (&b, "{sv}", "join", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&b, "{sv}", "none", none);
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

/* ------------------------------------------------------------ cases */

static void
test_loads_as_a_codec_plugin (gconstpointer data)
{
  const CodecUnderTest *c = data;

  if (c->load_error != NULL)
    {
      g_test_fail_printf ("codec %s did not load: %s", c->name, c->load_error);
      return;
    }
  g_assert_cmpint (gossip_plugin_get_kind (c->plugin), ==, GOSSIP_PLUGIN_KIND_CODEC);
  g_assert_cmpstr (gossip_plugin_get_name (c->plugin), ==, c->name);
  g_assert_cmpuint (c->vtable->struct_size, >=, G_STRUCT_OFFSET (GossipCodecVTable, reserved));
  g_assert_cmpuint (c->vtable->wire_id, !=, 0);
  g_assert_nonnull (c->vtable->create);
  g_assert_nonnull (c->vtable->destroy);
  g_assert_nonnull (c->vtable->encode);
  g_assert_nonnull (c->vtable->decode);
  if (c->facts != NULL)
    g_assert_cmpuint (c->vtable->wire_id, ==, c->facts->wire_id);
}

/* The table of gossip-codec.h, row by row: what is sent, how it decodes. */
static const struct
{
  const char *type;
  const char *value;
  const char *decoded;
} mapping_rows[] = {
  { NULL, "true", "true" },
  { NULL, "false", "false" },
  { NULL, "byte 0", "int64 0" },
  { NULL, "byte 255", "int64 255" },
  { NULL, "int16 -32768", "int64 -32768" },
  { NULL, "uint16 65535", "int64 65535" },
  { NULL, "int32 -2147483648", "int64 -2147483648" },
  { NULL, "uint32 4294967295", "int64 4294967295" },
  { NULL, "int64 -9223372036854775808", "int64 -9223372036854775808" },
  { NULL, "uint64 9223372036854775807", "int64 9223372036854775807" },
  { NULL, "uint64 9223372036854775808", "uint64 9223372036854775808" },
  { NULL, "handle 7", "int64 7" },
  { NULL, "1.25", "1.25" },
  { NULL, "'hello'", "'hello'" },
  { NULL, "'h\\u00e9llo \\u2603 \\U0001f600'", "'h\\u00e9llo \\u2603 \\U0001f600'" },
  { NULL, "objectpath '/org/gossip/Node'", "'/org/gossip/Node'" },
  { NULL, "signature 'a{sv}'", "'a{sv}'" },
  { NULL, "[byte 0x00, 0xff, 0x80]", "[byte 0x00, 0xff, 0x80]" },
  { NULL, "{'a': <int64 1>, 'b': <'x'>}", "{'a': <int64 1>, 'b': <'x'>}" },
  { "a{ss}", "{'k': 'v', 'l': 'w'}", "{'k': <'v'>, 'l': <'w'>}" },
  { "a{os}", "{'/a': 'v'}", "{'/a': <'v'>}" },
  { "a{is}", "{1: 'one', -2: 'two'}", "@a(vv) [(<int64 1>, <'one'>), (<int64 -2>, <'two'>)]" },
  { "a{ts}", "{18446744073709551615: 'max'}", "@a(vv) [(<uint64 18446744073709551615>, <'max'>)]" },
  { "a{bd}", "{true: 1.5}", "@a(vv) [(<true>, <1.5>)]" },
  { "a{yb}", "{3: false}", "@a(vv) [(<int64 3>, <false>)]" },
  { NULL, "['a', 'b']", "[<'a'>, <'b'>]" },
  { "ai", "[1, -1, 2147483647]", "[<int64 1>, <int64 -1>, <int64 2147483647>]" },
  { "au", "[4294967295]", "[<int64 4294967295>]" },
  { "an", "[-32768]", "[<int64 -32768>]" },
  { "aq", "[65535]", "[<int64 65535>]" },
  { "ax", "[-9223372036854775808]", "[<int64 -9223372036854775808>]" },
  { "at", "[18446744073709551615, 0]", "[<uint64 18446744073709551615>, <int64 0>]" },
  { "ah", "[1, 2]", "[<int64 1>, <int64 2>]" },
  { "ad", "[0.5, -2.0]", "[<0.5>, <-2.0>]" },
  { "ab", "[true, false]", "[<true>, <false>]" },
  { "as", "['x']", "[<'x'>]" },
  { NULL, "('x', int32 1)", "[<'x'>, <int64 1>]" },
  { NULL, "<int64 5>", "int64 5" },
  { NULL, "@mi nothing", "@mv nothing" },
  { NULL, "@mi 5", "int64 5" },
  { NULL, "@ms 'x'", "'x'" },
  { NULL, "@mas nothing", "@mv nothing" },
  { NULL, "@mai [1]", "[<int64 1>]" },
};

static void
test_round_trips_every_mapping_row (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);

  for (guint i = 0; i < G_N_ELEMENTS (mapping_rows); i++)
    {
      g_autoptr (GVariant) original = parse (mapping_rows[i].type, mapping_rows[i].value);
      g_autoptr (GVariant) expected = parse (NULL, mapping_rows[i].decoded);
      g_autoptr (GVariant) decoded = NULL;

      g_test_message ("%s", mapping_rows[i].value);
      decoded = check_round_trip (c, self, original, expected, TRUE);
    }
  c->vtable->destroy (self);
}

static void
test_round_trips_lossy_rows_as_documented (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  const struct
  {
    const char *value;
    const char *decoded;
    const char *coerced;
  } rows[] = {
    /* Just Nothing is nil, as is Nothing. */
    { "@mmi just nothing", "@mv nothing", "@mmi nothing" },
    /* Boxed values come back boxed in their own mapping. */
    { "{'n': <uint16 7>}", "{'n': <int64 7>}", "{'n': <int64 7>}" },
    { "[<byte 1>, <objectpath '/x'>]", "[<int64 1>, <'/x'>]", "[<int64 1>, <'/x'>]" },
    /* A box holds the widened value; boxes in boxes are one box. */
    { "<int32 5>", "int64 5", "<int64 5>" },
    { "<<'deep'>>", "'deep'", "<'deep'>" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GVariant) original = parse (NULL, rows[i].value);
      g_autoptr (GVariant) expected = parse (NULL, rows[i].decoded);
      g_autoptr (GVariant) decoded = check_round_trip (c, self, original, expected, FALSE);
      g_autoptr (GVariant) coerced
          = gossip_variant_coerce (decoded, g_variant_get_type (original), NULL);
      g_autoptr (GVariant) want = parse (g_variant_get_type_string (original), rows[i].coerced);

      g_test_message ("%s", rows[i].value);
      g_assert_nonnull (coerced);
      assert_variant_equal (coerced, want);
    }
  c->vtable->destroy (self);
}

static void
test_round_trips_nested_structures (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  const struct
  {
    const char *type;
    const char *value;
  } rows[] = {
    { "a(sqs)", "[('node-1', 7946, 'alive'), ('node-2', 65535, '')]" },
    { "aay", "[[1, 2, 3], [], [0]]" },
    { "aaay", "[[[1]], [], [[], [255]]]" },
    { "a{sa{sx}}", "{'a': {'x': 1, 'y': -1}, 'b': {}}" },
    { "a{sa{sv}}", "{'node': {'port': <int64 7946>, 'tags': <@a{sv} {}>}}" },
    { "(sa(sqs)ay)", "('hdr', [('n', 1, 's')], [9, 8])" },
    { "a{s(ib)}", "{'k': (-1, true)}" },
    { "aas", "[['a', 'b'], [], ['']]" },
    { "ams", "[just 'a', nothing, just '']" },
    { "a{sms}", "{'set': just 'x', 'unset': nothing}" },
    { "(ybnqiuxtdsogv)", "(0xff, true, -1, 65535, -2147483648, 4294967295, "
                         "-9223372036854775808, 18446744073709551615, -1.5, 's', '/o', "
                         "'a{sv}', <int64 42>)" },
    { "a{ia{sv}}", "{1: {'x': <'y'>}, 2: {}}" },
    { "a{xay}", "{-5: [1, 2]}" },
    { "maai", "just [[1], [2, 3]]" },
    { "(mimi)", "(nothing, just 3)" },
    { "a(dd)", "[(0.0, 1.0), (-1.0, 1e300)]" },
    { "av", "[<int64 1>, <'two'>, <[<3.5>]>, <{'k': <true>}>, <@mv nothing>]" },
    { "((((s))))", "(((('deep',),),),)" },
    { "()", "()" },
    { "a()", "[(), ()]" },
  };
  g_autoptr (GVariant) message = protocol_like_message (5);
  g_autoptr (GVariant) message_decoded = NULL;
  g_autoptr (GVariant) expected = parse (
      "a{sv}",
      "{'type': <'push-pull'>, 'seq': <int64 4000000000>, "
      "'from': <{'name': <'node-0'>, 'addr': <@ay [127, 0, 0, 1]>, "
      "'port': <int64 7946>, 'meta': <{'dc': <'eu-1'>}>}>, "
      "'members': <[<[<'node-0'>, <int64 7946>, <'suspect'>]>, "
      "<[<'node-1'>, <int64 7947>, <'alive'>]>, <[<'node-2'>, <int64 7948>, <'alive'>]>, "
      "<[<'node-3'>, <int64 7949>, <'suspect'>]>, <[<'node-4'>, <int64 7950>, <'alive'>]>]>, "
      "'keys': <[<@ay [1, 2, 3]>, <@ay []>, <@ay [255]>]>, 'rtt': <0.125>, "
      "'join': <true>, 'none': <@mv nothing>}");
  g_autoptr (GVariant) members = NULL;
  g_autoptr (GVariant) typed_members = NULL;
  g_autoptr (GVariant) original_members = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GVariant) original = parse (rows[i].type, rows[i].value);
      g_autoptr (GVariant) decoded = NULL;

      g_test_message ("%s %s", rows[i].type, rows[i].value);
      decoded = check_round_trip (c, self, original, NULL, TRUE);
    }

  /* A protocol message: the receiver gets widened values in boxes, and
   * coerces the parts it knows back to their types. */
  message_decoded = check_round_trip (c, self, message, expected, FALSE);
  members = g_variant_lookup_value (message_decoded, "members", NULL);
  original_members = g_variant_lookup_value (message, "members", NULL);
  typed_members = gossip_variant_coerce (members, G_VARIANT_TYPE ("a(sqs)"), NULL);
  g_assert_nonnull (typed_members);
  assert_variant_equal (typed_members, original_members);
  c->vtable->destroy (self);
}

static const char *const integer_texts[] = {
  "-9223372036854775808",
  "-2147483649",
  "-2147483648",
  "-32769",
  "-32768",
  "-129",
  "-128",
  "-33",
  "-32",
  "-1",
  "0",
  "1",
  "127",
  "128",
  "255",
  "256",
  "32767",
  "32768",
  "65535",
  "65536",
  "2147483647",
  "2147483648",
  "4294967295",
  "4294967296",
  "9223372036854775807",
  "9223372036854775808",
  "18446744073709551615",
};

static gboolean
integer_fits (const char *text, char type)
{
  gboolean negative = text[0] == '-';
  guint64 magnitude = g_ascii_strtoull (text + negative, NULL, 10);
  guint64 max_positive, max_negative = 0;

  switch (type)
    {
    case 'y':
      max_positive = G_MAXUINT8;
      break;
    case 'n':
      max_positive = G_MAXINT16;
      max_negative = 32768;
      break;
    case 'q':
      max_positive = G_MAXUINT16;
      break;
    case 'i':
    case 'h':
      max_positive = G_MAXINT32;
      max_negative = 2147483648u;
      break;
    case 'u':
      max_positive = G_MAXUINT32;
      break;
    case 'x':
      max_positive = G_MAXINT64;
      max_negative = (guint64) G_MAXINT64 + 1;
      break;
    default:
      max_positive = G_MAXUINT64;
      break;
    }
  return negative ? magnitude <= max_negative : magnitude <= max_positive;
}

static void
test_round_trips_integer_extremes_in_every_type (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  const char types[] = "ynqiuxth";

  for (guint i = 0; i < G_N_ELEMENTS (integer_texts); i++)
    {
      const char *text = integer_texts[i];
      gboolean negative = text[0] == '-';
      guint64 magnitude = g_ascii_strtoull (text + negative, NULL, 10);
      g_autoptr (GVariant) expected = NULL;

      if (!negative && magnitude > G_MAXINT64)
        expected = g_variant_ref_sink (g_variant_new_uint64 (magnitude));
      else
        expected = parse ("x", text);

      for (guint t = 0; types[t] != '\0'; t++)
        {
          char type_string[2] = { types[t], '\0' };
          g_autoptr (GVariant) original = NULL;
          g_autoptr (GVariant) decoded = NULL;

          g_test_message ("%s as '%s'", text, type_string);
          if (!integer_fits (text, types[t]))
            {
              /* Out of range for this type: coercing the wire form fails. */
              g_autoptr (GError) error = NULL;
              g_autoptr (GVariant) coerced
                  = gossip_variant_coerce (expected, G_VARIANT_TYPE (type_string), &error);

              g_assert_null (coerced);
              g_assert_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TYPE);
              g_autofree char *quoted = g_strdup_printf ("'%c'", types[t]);

              g_assert_nonnull (strstr (error->message, text));
              g_assert_nonnull (strstr (error->message, quoted));
              continue;
            }
          original = parse (type_string, text);
          decoded = check_round_trip (c, self, original, expected, TRUE);
        }
    }
  c->vtable->destroy (self);
}

static void
assert_same_double (GVariant *v, double want)
{
  double got;

  g_assert_true (g_variant_is_of_type (v, G_VARIANT_TYPE_DOUBLE));
  got = g_variant_get_double (v);
  if (isnan (want))
    g_assert_true (isnan (got));
  else
    {
      g_assert_cmpmem (&got, sizeof got, &want, sizeof want);
      g_assert_true (!!signbit (got) == !!signbit (want));
    }
}

static void
test_round_trips_special_doubles (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  const double values[] = { 0.0,      -0.0,     1.5,       -1e300, G_MINDOUBLE, G_MAXDOUBLE,
                            4.9e-324, INFINITY, -INFINITY, NAN,    0.1,         -1.0 / 3.0 };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr (GVariant) original = g_variant_ref_sink (g_variant_new_double (values[i]));
      g_autoptr (GByteArray) bytes = NULL;
      g_autoptr (GVariant) decoded = NULL;
      g_autoptr (GVariant) coerced = NULL;

      g_test_message ("%g", values[i]);
      if (!codec_carries (c, original))
        {
          assert_encode_unsupported (c, self, original);
          continue;
        }
      bytes = encode_or_die (c, self, original);
      decoded = decode_or_die (c, self, bytes->data, bytes->len);
      assert_same_double (decoded, values[i]);
      coerced = gossip_variant_coerce (decoded, G_VARIANT_TYPE_DOUBLE, NULL);
      assert_same_double (coerced, values[i]);
    }
  c->vtable->destroy (self);
}

static void
test_round_trips_empty_values (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  const struct
  {
    const char *type;
    const char *value;
    const char *decoded;
  } rows[] = {
    { "s", "''", "''" },
    { "ay", "[]", "@ay []" },
    { "as", "[]", "@av []" },
    { "av", "[]", "@av []" },
    { "a{sv}", "{}", "@a{sv} {}" },
    { "a{is}", "{}", "@a{sv} {}" },
    { "a{sa{sv}}", "{}", "@a{sv} {}" },
    { "()", "()", "@av []" },
    { "aay", "[[]]", "[<@ay []>]" },
    { "a(sqs)", "[]", "@av []" },
    { "mv", "nothing", "@mv nothing" },
    { "(sayasa{sv})", "('', [], [], {})", "[<''>, <@ay []>, <@av []>, <@a{sv} {}>]" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GVariant) original = parse (rows[i].type, rows[i].value);
      g_autoptr (GVariant) expected = parse (NULL, rows[i].decoded);
      g_autoptr (GVariant) decoded = NULL;

      g_test_message ("%s %s", rows[i].type, rows[i].value);
      decoded = check_round_trip (c, self, original, expected, TRUE);
    }
  c->vtable->destroy (self);
}

static void
test_round_trips_large_values (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  GRand *rand = g_rand_new_with_seed (FUZZ_SEED);
  const gsize mib = 1024 * 1024;
  const gsize n = 100000;
  g_autofree guint8 *bytes = g_malloc (mib);
  g_autofree gint64 *ints = g_new (gint64, n);
  GString *text = g_string_new (NULL);
  GVariantBuilder map;
  g_autoptr (GVariant) blob = NULL;
  g_autoptr (GVariant) long_array = NULL;
  g_autoptr (GVariant) long_string = NULL;
  g_autoptr (GVariant) big_map = NULL;
  g_autoptr (GVariant) decoded = NULL;

  for (gsize i = 0; i < mib; i++)
    bytes[i] = (guint8) g_rand_int (rand);
  blob = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes, mib, 1));
  decoded = check_round_trip (c, self, blob, blob, TRUE);
  g_clear_pointer (&decoded, g_variant_unref);

  for (gsize i = 0; i < n; i++)
    ints[i] = (gint64) (i * 7919) - 400000000 + (i % 2 ? G_MAXINT32 : 0);
  long_array = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, ints, n, 8));
  decoded = check_round_trip (c, self, long_array, NULL, TRUE);
  g_assert_cmpuint (g_variant_n_children (decoded), ==, n);
  g_clear_pointer (&decoded, g_variant_unref);

  while (text->len < 70000)
    g_string_append (text, "gossip \u00e9\u2603 ");
  long_string = g_variant_ref_sink (g_variant_new_string (text->str));
  decoded = check_round_trip (c, self, long_string, long_string, TRUE);
  g_clear_pointer (&decoded, g_variant_unref);

  g_variant_builder_init (&map, G_VARIANT_TYPE ("a{su}"));
  for (guint i = 0; i < 70000; i++)
    {
      g_autofree char *key = g_strdup_printf ("member-%06u", i);

      g_variant_builder_add (&map, "{su}", key, i);
    }
  big_map = g_variant_ref_sink (g_variant_builder_end (&map));
  decoded = check_round_trip (c, self, big_map, NULL, TRUE);

  g_string_free (text, TRUE);
  g_rand_free (rand);
  c->vtable->destroy (self);
}

/* Patches a string's UTF-8 in an encoding: the codec must not let a string
 * that GVariant cannot hold through. */
static void
test_rejects_invalid_utf8_in_strings (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  /* Each marker and its replacement have the same length in bytes. */
  const struct
  {
    const char *marker;
    const char *replacement;
  } patches[] = {
    { "\u00e9", "\xc3\x28" },       /* bad continuation byte */
    { "\u00e9", "\xc0\xa9" },       /* overlong */
    { "ZZZ", "\xed\xa0\x80" },      /* surrogate */
    { "Z", "\xff" },                /* never valid */
    { "ZZZZ", "\xf4\x90\x80\x80" }, /* above U+10FFFF */
    { "\u00e9", "\xc3"
                "Q" }, /* lead byte without continuation */
  };
  const char *templates[]
      = { "'pre\u00e9ZZZZpost'", "{'k\u00e9yZZZZ': <1>}", "['ok', 'x\u00e9ZZZZ']" };

  for (guint t = 0; t < G_N_ELEMENTS (templates); t++)
    {
      g_autoptr (GVariant) value = parse (NULL, templates[t]);
      g_autoptr (GByteArray) valid = encode_or_die (c, self, value);
      g_autoptr (GVariant) check = decode_or_die (c, self, valid->data, valid->len);

      for (guint p = 0; p < G_N_ELEMENTS (patches); p++)
        {
          g_autoptr (GByteArray) needle = g_byte_array_new ();
          g_autoptr (GByteArray) replacement = g_byte_array_new ();
          g_autoptr (GByteArray) bad = NULL;

          g_byte_array_append (needle, (const guint8 *) patches[p].marker,
                               strlen (patches[p].marker));
          g_byte_array_append (replacement, (const guint8 *) patches[p].replacement,
                               strlen (patches[p].replacement));
          g_assert_cmpuint (needle->len, ==, replacement->len);
          bad = splice (valid, needle, replacement);
          g_test_message ("%s, patch %u", templates[t], p);
          if (bad == NULL)
            {
              /* A text format may escape non-ASCII characters. */
              g_assert_false (c->facts != NULL && c->facts->exact_errors);
              continue;
            }
          assert_decode_fails (c, self, bad->data, bad->len, GOSSIP_CODEC_ERROR_MALFORMED);
        }
    }
  c->vtable->destroy (self);
}

static void
test_limits_depth_when_encoding (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  GString *type = g_string_new (NULL);
  GString *text = g_string_new (NULL);

  /* Arrays in boxes, maps, typed arrays and tuples all count one level. */
  for (guint depth = GOSSIP_CODEC_MAX_DEPTH; depth <= GOSSIP_CODEC_MAX_DEPTH + 1; depth++)
    {
      GVariant *values[4];

      g_string_truncate (type, 0);
      g_string_truncate (text, 0);
      for (guint i = 0; i < depth; i++)
        g_string_append_c (type, 'a');
      g_string_append_c (type, 'i');
      for (guint i = 0; i < depth; i++)
        g_string_append_c (text, '[');
      g_string_append_c (text, '7');
      for (guint i = 0; i < depth; i++)
        g_string_append_c (text, ']');
      values[0] = nest_arrays (g_variant_new_int64 (7), depth);
      values[1] = nest_maps (g_variant_new_string ("leaf"), depth);
      values[2] = parse (type->str, text->str);
      /* Tuples: (((...(i,)...),),) */
      g_string_truncate (text, 0);
      for (guint i = 0; i < depth; i++)
        g_string_append_c (text, '(');
      g_string_append (text, "7,");
      for (guint i = 0; i < depth; i++)
        g_string_append (text, i + 1 < depth ? ")," : ")");
      values[3] = parse (NULL, text->str);

      for (guint v = 0; v < G_N_ELEMENTS (values); v++)
        {
          g_autoptr (GByteArray) out = g_byte_array_new ();
          g_autoptr (GError) error = NULL;

          g_test_message ("depth %u, shape %u", depth, v);
          g_byte_array_append (out, (const guint8 *) "kept", 4);
          if (depth <= GOSSIP_CODEC_MAX_DEPTH)
            {
              g_autoptr (GVariant) decoded = NULL;

              g_assert_true (c->vtable->encode (self, values[v], out, &error));
              g_assert_no_error (error);
              decoded = decode_or_die (c, self, out->data + 4, out->len - 4);
              assert_uses_mapping_types (decoded);
              if (v != 1)
                {
                  g_autoptr (GVariant) back
                      = gossip_variant_coerce (decoded, g_variant_get_type (values[v]), &error);

                  g_assert_no_error (error);
                  assert_variant_equal (back, values[v]);
                }
            }
          else
            {
              g_assert_false (c->vtable->encode (self, values[v], out, &error));
              g_assert_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TOO_DEEP);
              /* A failed encode leaves the array as it was. */
              g_assert_cmpmem (out->data, out->len, "kept", 4);
            }
          g_variant_unref (values[v]);
        }
    }
  g_string_free (type, TRUE);
  g_string_free (text, TRUE);
  c->vtable->destroy (self);
}

static void
test_boxes_and_justs_cost_no_depth (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  GVariant *v = g_variant_new_int64 (-12345);
  g_autoptr (GVariant) boxed = NULL;
  g_autoptr (GVariant) decoded = NULL;
  g_autoptr (GVariant) nested = NULL;
  g_autoptr (GVariant) expected = NULL;
  g_autoptr (GByteArray) bytes = NULL;

  /* Thousands of boxes and Justs around a scalar encode as the scalar. */
  for (guint i = 0; i < 3000; i++)
    v = i % 2 ? g_variant_new_variant (v) : g_variant_new_maybe (NULL, v);
  boxed = g_variant_ref_sink (v);
  bytes = encode_or_die (c, self, boxed);
  decoded = decode_or_die (c, self, bytes->data, bytes->len);
  expected = g_variant_ref_sink (g_variant_new_int64 (-12345));
  assert_variant_equal (decoded, expected);

  /* ...and boxes between levels of arrays add nothing either. */
  v = g_variant_new_int64 (1);
  for (guint i = 0; i < GOSSIP_CODEC_MAX_DEPTH; i++)
    {
      GVariant *child = g_variant_new_variant (g_variant_new_variant (v));

      v = g_variant_new_array (NULL, &child, 1);
    }
  nested = g_variant_ref_sink (v);
  g_clear_pointer (&bytes, g_byte_array_unref);
  bytes = encode_or_die (c, self, nested);
  c->vtable->destroy (self);
}

static void
test_limits_depth_when_decoding (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  const char *marker = "depth-marker-4f1d";
  g_autoptr (GVariant) marker_value = g_variant_ref_sink (g_variant_new_string (marker));
  g_autoptr (GByteArray) needle = encode_or_die (c, self, marker_value);

  /* The codec will not encode 33 levels, so 33 are spliced together: a
   * 32-level value whose innermost scalar is replaced by a 1-level one. */
  for (guint shape = 0; shape < 2; shape++)
    {
      g_autoptr (GVariant) deepest
          = shape == 0 ? nest_arrays (g_variant_new_string (marker), GOSSIP_CODEC_MAX_DEPTH)
                       : nest_maps (g_variant_new_string (marker), GOSSIP_CODEC_MAX_DEPTH);
      g_autoptr (GVariant) one_level = shape == 0 ? nest_arrays (g_variant_new_int64 (1), 1)
                                                  : nest_maps (g_variant_new_int64 (1), 1);
      g_autoptr (GVariant) scalar = g_variant_ref_sink (g_variant_new_int64 (1));
      g_autoptr (GByteArray) at_limit = encode_or_die (c, self, deepest);
      g_autoptr (GByteArray) one = encode_or_die (c, self, one_level);
      g_autoptr (GByteArray) scalar_bytes = encode_or_die (c, self, scalar);
      g_autoptr (GByteArray) too_deep = splice (at_limit, needle, one);
      g_autoptr (GByteArray) still_ok = splice (at_limit, needle, scalar_bytes);
      g_autoptr (GVariant) decoded = decode_or_die (c, self, at_limit->data, at_limit->len);
      g_autoptr (GVariant) decoded2 = NULL;

      g_assert_nonnull (too_deep);
      g_assert_nonnull (still_ok);
      decoded2 = decode_or_die (c, self, still_ok->data, still_ok->len);

      assert_variant_equal (decoded, deepest);
      assert_decode_fails (c, self, too_deep->data, too_deep->len, GOSSIP_CODEC_ERROR_TOO_DEEP);
    }
  c->vtable->destroy (self);
}

static void
test_rejects_every_truncation (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  g_autoptr (GVariant) message = protocol_like_message (60);
  g_autoptr (GByteArray) bytes = encode_or_die (c, self, message);

  g_test_message ("%u bytes", bytes->len);
  g_assert_cmpuint (bytes->len, >, 1000);
  for (guint len = 0; len < bytes->len; len++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) v = decode_checked (c, self, bytes->data, len, &error);

      if (v != NULL)
        {
          g_test_fail_printf ("a %u-byte prefix decoded", len);
          return;
        }
      if (c->facts != NULL && c->facts->exact_errors)
        g_assert_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TRUNCATED);
      else
        g_assert_true (decode_error_code (error));
    }
  c->vtable->destroy (self);
}

static void
test_rejects_bytes_after_the_end (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  g_autoptr (GVariant) message = protocol_like_message (3);
  g_autoptr (GByteArray) valid = encode_or_die (c, self, message);
  const char *tails[] = { "int64 1", "'x'", "@a{sv} {}", "[1, 2]", "@mv nothing", "true" };
  GRand *rand = g_rand_new_with_seed (FUZZ_SEED);

  /* A second complete value is not part of the first, in any format. */
  for (guint i = 0; i < G_N_ELEMENTS (tails); i++)
    {
      g_autoptr (GVariant) tail = parse (NULL, tails[i]);
      g_autoptr (GByteArray) tail_bytes = encode_or_die (c, self, tail);
      g_autoptr (GByteArray) padded = g_byte_array_new ();

      g_byte_array_append (padded, valid->data, valid->len);
      g_byte_array_append (padded, tail_bytes->data, tail_bytes->len);
      assert_decode_fails (c, self, padded->data, padded->len, GOSSIP_CODEC_ERROR_TRAILING);
    }

  /* In a binary format, any byte at all. */
  if (c->facts != NULL && c->facts->exact_errors)
    for (guint extra = 1; extra <= 16; extra++)
      for (guint round = 0; round < 16; round++)
        {
          g_autoptr (GByteArray) padded = g_byte_array_new ();

          g_byte_array_append (padded, valid->data, valid->len);
          for (guint i = 0; i < extra; i++)
            {
              guint8 b = (guint8) g_rand_int (rand);

              g_byte_array_append (padded, &b, 1);
            }
          assert_decode_fails (c, self, padded->data, padded->len, GOSSIP_CODEC_ERROR_TRAILING);
        }
  g_rand_free (rand);
  c->vtable->destroy (self);
}

static void
assert_survives (const CodecUnderTest *c, gpointer self, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v = decode_checked (c, self, data, len, &error);

  if (v == NULL)
    {
      if (!decode_error_code (error))
        g_test_fail_printf ("decode failed outside the codec errors: %s", error->message);
      return;
    }
  /* Whatever decodes is a well-formed value of the mapping, encodes, and
   * decodes again to the same value. */
  assert_uses_mapping_types (v);
  {
    g_autoptr (GByteArray) again = encode_or_die (c, self, v);
    g_autoptr (GVariant) v2 = decode_or_die (c, self, again->data, again->len);

    assert_variant_equal (v2, v);
  }
}

static void
test_survives_random_bytes (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  GRand *rand = g_rand_new_with_seed (FUZZ_SEED);
  guint8 buf[512];

  for (guint i = 0; i < FUZZ_ROUNDS; i++)
    {
      /* Mostly short buffers, where a random header has a chance to fit. */
      gsize len = i % 10 == 0 ? (gsize) g_rand_int_range (rand, 0, sizeof buf)
                              : (gsize) g_rand_int_range (rand, 0, 24);

      for (gsize j = 0; j < len; j++)
        buf[j] = (guint8) g_rand_int (rand);
      assert_survives (c, self, buf, len);
    }
  g_rand_free (rand);
  c->vtable->destroy (self);
}

static void
test_survives_mutated_encodings (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  GRand *rand = g_rand_new_with_seed (FUZZ_SEED + 1);
  g_autoptr (GVariant) message = protocol_like_message (4);
  g_autoptr (GVariant) nested = parse (
      NULL, "[<{'a': <[<int64 -1>, <uint64 18446744073709551615>, <1.5>]>}>, <@mv nothing>, "
            "<@a(vv) [(<int64 1>, <'one'>)]>, <[byte 1, 2, 3]>, <'str\u00e9'>, <true>]");
  g_autoptr (GVariant) nested_within_limits
      = parse (NULL, "[<{'a': <[<int64 -1>, <int64 9007199254740992>, <1.5>]>}>, <@mv nothing>, "
                     "<@a(vv) [(<int64 1>, <'one'>)]>, <[byte 1, 2, 3]>, <'str\u00e9'>, <true>]");
  g_autoptr (GVariant) deep = nest_arrays (g_variant_new_string ("x"), GOSSIP_CODEC_MAX_DEPTH - 1);
  GByteArray *seeds[3];

  seeds[0] = encode_or_die (c, self, message);
  seeds[1] = encode_or_die (c, self, codec_carries (c, nested) ? nested : nested_within_limits);
  seeds[2] = encode_or_die (c, self, deep);
  for (guint i = 0; i < FUZZ_ROUNDS; i++)
    {
      const GByteArray *seed = seeds[i % G_N_ELEMENTS (seeds)];
      g_autoptr (GByteArray) m = g_byte_array_new ();
      guint n_changes = (guint) g_rand_int_range (rand, 1, 5);

      g_byte_array_append (m, seed->data, seed->len);
      for (guint k = 0; k < n_changes; k++)
        {
          guint pos = (guint) g_rand_int_range (rand, 0, (gint) m->len);

          switch (g_rand_int_range (rand, 0, 5))
            {
            case 0: /* a random byte */
              m->data[pos] = (guint8) g_rand_int (rand);
              break;
            case 1: /* a flipped bit */
              m->data[pos] ^= (guint8) (1u << g_rand_int_range (rand, 0, 8));
              break;
            case 2: /* an extreme byte: lengths become huge or zero */
              m->data[pos] = g_rand_boolean (rand) ? 0xff : 0x00;
              break;
            case 3: /* a byte removed */
              if (m->len > 1)
                g_byte_array_remove_index (m, pos);
              break;
            default: /* cut short */
              g_byte_array_set_size (m, pos + 1);
              break;
            }
        }
      assert_survives (c, self, m->data, m->len);
    }
  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++)
    g_byte_array_unref (seeds[i]);
  g_rand_free (rand);
  c->vtable->destroy (self);
}

static void
test_keeps_working_after_errors (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  g_autoptr (GVariant) message = protocol_like_message (6);
  g_autoptr (GByteArray) valid = encode_or_die (c, self, message);
  g_autoptr (GVariant) first = decode_or_die (c, self, valid->data, valid->len);

  for (guint len = 0; len < valid->len; len += 7)
    {
      g_autoptr (GVariant) v = NULL;
      g_autoptr (GByteArray) out = g_byte_array_new ();
      GVariant *too_deep = nest_arrays (g_variant_new_int64 (0), GOSSIP_CODEC_MAX_DEPTH + 1);

      g_assert_null (decode_checked (c, self, valid->data, len, NULL));
      g_assert_false (c->vtable->encode (self, too_deep, out, NULL));
      g_assert_cmpuint (out->len, ==, 0);
      g_variant_unref (too_deep);
      v = decode_or_die (c, self, valid->data, valid->len);
      assert_variant_equal (v, first);
    }
  c->vtable->destroy (self);
}

static void
test_appends_after_existing_bytes (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self = create_or_die (c);
  g_autoptr (GVariant) message = protocol_like_message (2);
  g_autoptr (GByteArray) alone = encode_or_die (c, self, message);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  const guint8 existing[] = "frame header";

  g_byte_array_append (out, existing, sizeof existing);
  g_assert_true (c->vtable->encode (self, message, out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out->data, sizeof existing, existing, sizeof existing);
  g_assert_cmpmem (out->data + sizeof existing, out->len - sizeof existing, alone->data,
                   alone->len);
  c->vtable->destroy (self);
}

static void
test_instances_are_independent (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer a = create_or_die (c);
  gpointer b = create_or_die (c);
  g_autoptr (GVariant) message = protocol_like_message (3);
  g_autoptr (GByteArray) from_a = encode_or_die (c, a, message);
  g_autoptr (GByteArray) from_b = encode_or_die (c, b, message);
  g_autoptr (GVariant) decoded = NULL;

  /* Same codec, same bytes: what travels must not depend on the instance. */
  g_assert_cmpmem (from_a->data, from_a->len, from_b->data, from_b->len);
  c->vtable->destroy (a);
  decoded = decode_or_die (c, b, from_a->data, from_a->len);
  c->vtable->destroy (b);
}

/* ------------------------------------------------------------ MessagePack */

static gboolean
skip_unless_msgpack (const CodecUnderTest *c)
{
  if (c->vtable->wire_id != MSGPACK_WIRE_ID)
    {
      g_test_skip ("not a MessagePack codec (wire id 1)");
      return TRUE;
    }
  return FALSE;
}

/* A string of @n ASCII characters, as GVariant text and as expected hex. */
static char *
repeat (char ch, gsize n)
{
  char *s = g_malloc (n + 1);

  memset (s, ch, n);
  s[n] = '\0';
  return s;
}

static void
test_msgpack_emits_the_smallest_formats (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self;
  const struct
  {
    const char *value;
    const char *hex;
  } rows[] = {
    { "@mi nothing", "c0" },
    { "false", "c2" },
    { "true", "c3" },
    { "int64 0", "00" },
    { "byte 127", "7f" },
    { "uint16 128", "cc80" },
    { "int32 255", "ccff" },
    { "int32 256", "cd0100" },
    { "uint32 65535", "cdffff" },
    { "int64 65536", "ce00010000" },
    { "int64 4294967295", "ceffffffff" },
    { "int64 4294967296", "cf0000000100000000" },
    { "uint64 18446744073709551615", "cfffffffffffffffff" },
    { "int16 -1", "ff" },
    { "int16 -32", "e0" },
    { "int16 -33", "d0df" },
    { "int16 -128", "d080" },
    { "int16 -129", "d1ff7f" },
    { "int32 -32769", "d2ffff7fff" },
    { "int64 -2147483649", "d3ffffffff7fffffff" },
    { "int64 -9223372036854775808", "d38000000000000000" },
    { "handle 1", "01" },
    { "1.5", "cb3ff8000000000000" },
    { "0.0", "cb0000000000000000" },
    { "''", "a0" },
    { "'abc'", "a3616263" },
    { "objectpath '/'", "a12f" },
    { "signature 'i'", "a169" },
    { "@ay []", "c400" },
    { "[byte 1, 2]", "c4020102" },
    { "@av []", "90" },
    { "()", "90" },
    { "('a', true)", "92a161c3" },
    { "@a{sv} {}", "80" },
    { "{'a': <int64 1>}", "81a16101" },
    { "@a{ib} {-1: true}", "81ffc3" },
    { "<<int64 5>>", "05" },
    { "@mmi just just 5", "05" },
    { "@ab [true, false]", "92c3c2" },
    { "@ad [1.5]", "91cb3ff8000000000000" },
  };
  /* Lengths at the format boundaries: fix / 8 / 16 / 32. */
  const struct
  {
    gsize n;
    const char *str_head;
    const char *bin_head;
    const char *array_head;
    const char *map_head;
  } sizes[] = {
    { 15, "af", "c40f", "9f", "8f" },
    { 16, "b0", "c410", "dc0010", "de0010" },
    { 31, "bf", "c41f", "dc001f", "de001f" },
    { 32, "d920", "c420", "dc0020", "de0020" },
    { 255, "d9ff", "c4ff", "dc00ff", "de00ff" },
    { 256, "da0100", "c50100", "dc0100", "de0100" },
    { 65535, "daffff", "c5ffff", "dcffff", "deffff" },
    { 65536, "db00010000", "c600010000", "dd00010000", "df00010000" },
  };

  if (skip_unless_msgpack (c))
    return;
  self = create_or_die (c);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GVariant) v = parse (NULL, rows[i].value);
      g_autoptr (GByteArray) bytes = encode_or_die (c, self, v);
      g_autofree char *hex = to_hex (bytes->data, bytes->len);

      g_test_message ("%s", rows[i].value);
      g_assert_cmpstr (hex, ==, rows[i].hex);
    }

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      gsize n = sizes[i].n;
      g_autofree char *chars = repeat ('q', n);
      g_autofree guint8 *zeros = g_malloc0 (n);
      g_autofree guint64 *counts = g_new0 (guint64, n);
      GVariantBuilder map;
      GVariant *values[4];
      const char *heads[4]
          = { sizes[i].str_head, sizes[i].bin_head, sizes[i].array_head, sizes[i].map_head };

      g_variant_builder_init (&map, G_VARIANT_TYPE ("a{sb}"));
      for (gsize k = 0; k < n; k++)
        {
          char key[16];

          g_snprintf (key, sizeof key, "%" G_GSIZE_FORMAT, k);
          g_variant_builder_add (&map, "{sb}", key, TRUE);
        }
      values[0] = g_variant_ref_sink (g_variant_new_string (chars));
      values[1] = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, zeros, n, 1));
      values[2]
          = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, counts, n, 8));
      values[3] = g_variant_ref_sink (g_variant_builder_end (&map));
      for (guint k = 0; k < G_N_ELEMENTS (values); k++)
        {
          g_autoptr (GByteArray) bytes = encode_or_die (c, self, values[k]);
          g_autoptr (GByteArray) head = from_hex (heads[k]);
          g_autoptr (GVariant) decoded = NULL;

          g_test_message ("%" G_GSIZE_FORMAT " elements, shape %u", n, k);
          g_assert_cmpuint (bytes->len, >=, head->len);
          g_assert_cmpmem (bytes->data, head->len, head->data, head->len);
          decoded = decode_or_die (c, self, bytes->data, bytes->len);
          g_variant_unref (values[k]);
        }
    }
  c->vtable->destroy (self);
}

static void
test_msgpack_decodes_every_format (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self;
  /* Including the longer forms other encoders are free to use. */
  const struct
  {
    const char *hex;
    const char *value;
  } rows[] = {
    { "c0", "@mv nothing" },
    { "c2", "false" },
    { "c3", "true" },
    { "7f", "int64 127" },
    { "e0", "int64 -32" },
    { "cc05", "int64 5" },
    { "cd0005", "int64 5" },
    { "ce00000005", "int64 5" },
    { "cf0000000000000005", "int64 5" },
    { "cf7fffffffffffffff", "int64 9223372036854775807" },
    { "cf8000000000000000", "uint64 9223372036854775808" },
    { "d005", "int64 5" },
    { "d0ff", "int64 -1" },
    { "d1ffff", "int64 -1" },
    { "d2ffffffff", "int64 -1" },
    { "d3ffffffffffffffff", "int64 -1" },
    { "d38000000000000000", "int64 -9223372036854775808" },
    { "ca3fc00000", "1.5" },
    { "ca7f800000", "inf" },
    { "cb3ff8000000000000", "1.5" },
    { "cbfff0000000000000", "-inf" },
    { "a0", "''" },
    { "d900", "''" },
    { "da0000", "''" },
    { "db00000000", "''" },
    { "d903616263", "'abc'" },
    { "a3e29883", "'\u2603'" },
    { "c400", "@ay []" },
    { "c50000", "@ay []" },
    { "c600000002abcd", "[byte 0xab, 0xcd]" },
    { "90", "@av []" },
    { "dc0000", "@av []" },
    { "dd0000000101", "[<int64 1>]" },
    { "80", "@a{sv} {}" },
    { "de0000", "@a{sv} {}" },
    { "df00000001a16101", "{'a': <int64 1>}" },
    { "82a16101a162c0", "{'a': <int64 1>, 'b': <@mv nothing>}" },
    { "8201a1610202", "@a(vv) [(<int64 1>, <'a'>), (<int64 2>, <int64 2>)]" },
    { "81a161a162", "{'a': <'b'>}" },
    { "8191c0c0", "@a(vv) [(<[<@mv nothing>]>, <@mv nothing>)]" },
    { "81c0c3", "@a(vv) [(<@mv nothing>, <true>)]" },
    { "92a16181a16291c0", "[<'a'>, <{'b': <[<@mv nothing>]>}>]" },
  };

  if (skip_unless_msgpack (c))
    return;
  self = create_or_die (c);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GByteArray) bytes = from_hex (rows[i].hex);
      g_autoptr (GVariant) want = parse (NULL, rows[i].value);
      g_autoptr (GVariant) got = NULL;

      g_test_message ("%s", rows[i].hex);
      got = decode_or_die (c, self, bytes->data, bytes->len);
      assert_variant_equal (got, want);
    }
  c->vtable->destroy (self);
}

/* Inputs a peer could send on purpose, with the error each must give. */
static const struct
{
  const char *hex;
  GossipCodecError code;
} msgpack_hostile[] = {
  { "", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "c1", GOSSIP_CODEC_ERROR_MALFORMED },
  { "91c1", GOSSIP_CODEC_ERROR_MALFORMED },
  { "d40100", GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "d5010000", GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "d6ff00000000", GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "d7ff0000000000000000", GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "d801000000000000000000000000000000", GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "c70001", GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "c8000101ff", GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "c9ffffffff01", GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "a2c328", GOSSIP_CODEC_ERROR_MALFORMED },
  { "a3610062", GOSSIP_CODEC_ERROR_MALFORMED },
  { "81a2c32801", GOSSIP_CODEC_ERROR_MALFORMED },
  /* Declared lengths far beyond the input: refused before any allocation. */
  { "dbffffffff61", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "daffff61", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "d9ff", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "c6ffffffff00", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "c5ffff", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "ddffffffff01", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "dcffffc0", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "dfffffffffa16101", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "deffff0101", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "9fc0c0c0c0c0c0c0c0c0c0c0c0c0c0", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "91ddffffffff", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "81a16bdfffffffff", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "92dbffffffff", GOSSIP_CODEC_ERROR_TRUNCATED },
  /* Cut headers. */
  { "cb00", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "ca000000", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "cf00", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "dd0000", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "c4", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "91", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "81a161", GOSSIP_CODEC_ERROR_TRUNCATED },
  { "0000", GOSSIP_CODEC_ERROR_TRAILING },
  { "90c0", GOSSIP_CODEC_ERROR_TRAILING },
};

/* Lowers the data limit to what the process uses now plus @headroom, so
 * that any large allocation fails (and aborts the process). */
static gboolean
limit_data_size (gsize headroom)
{
  g_autofree char *status = NULL;
  const char *line;
  struct rlimit rl;
  guint64 kib;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return FALSE;
  line = strstr (status, "\nVmData:");
  if (line == NULL)
    return FALSE;
  kib = g_ascii_strtoull (line + strlen ("\nVmData:"), NULL, 10);
  if (getrlimit (RLIMIT_DATA, &rl) != 0)
    return FALSE;
  rl.rlim_cur = (rlim_t) (kib * 1024 + headroom);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
    return FALSE;
  return setrlimit (RLIMIT_DATA, &rl) == 0;
}

static void
test_msgpack_refuses_hostile_input_without_allocating (gconstpointer data)
{
  const CodecUnderTest *c = data;

  if (skip_unless_msgpack (c))
    return;
  if (g_test_subprocess ())
    {
      gpointer self = create_or_die (c);
      GByteArray *inputs[G_N_ELEMENTS (msgpack_hostile)];
      GByteArray *bomb = g_byte_array_new ();

      for (guint i = 0; i < G_N_ELEMENTS (msgpack_hostile); i++)
        inputs[i] = from_hex (msgpack_hostile[i].hex);
      /* 100000 nested one-element arrays: no stack for them either. */
      for (guint i = 0; i < 100000; i++)
        g_byte_array_append (bomb, (const guint8 *) "\x91", 1);
      g_byte_array_append (bomb, (const guint8 *) "\x01", 1);

      if (!limit_data_size (64 * 1024 * 1024))
        g_test_message ("cannot limit the data size here; lengths are checked without it");
      for (guint i = 0; i < G_N_ELEMENTS (msgpack_hostile); i++)
        {
          g_test_message ("%s", msgpack_hostile[i].hex);
          assert_decode_fails (c, self, inputs[i]->data, inputs[i]->len, msgpack_hostile[i].code);
        }
      assert_decode_fails (c, self, bomb->data, bomb->len, GOSSIP_CODEC_ERROR_TOO_DEEP);
      for (guint i = 0; i < G_N_ELEMENTS (msgpack_hostile); i++)
        g_byte_array_unref (inputs[i]);
      g_byte_array_unref (bomb);
      c->vtable->destroy (self);
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_msgpack_limits_depth_exactly (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self;

  if (skip_unless_msgpack (c))
    return;
  self = create_or_die (c);
  for (guint shape = 0; shape < 3; shape++)
    for (guint depth = GOSSIP_CODEC_MAX_DEPTH - 1; depth <= GOSSIP_CODEC_MAX_DEPTH + 1; depth++)
      {
        g_autoptr (GByteArray) bytes = g_byte_array_new ();
        g_autoptr (GVariant) v = NULL;
        g_autoptr (GError) error = NULL;

        for (guint i = 0; i < depth; i++)
          {
            const char *level = shape == 0 ? "\x91" : shape == 1 ? "\x81\xa1k" : "\xdc\x00\x01";

            g_byte_array_append (bytes, (const guint8 *) level, shape == 0 ? 1 : 3);
          }
        /* A binary is no container. */
        g_byte_array_append (bytes, (const guint8 *) "\xc4\x01\x00", 3);
        g_test_message ("shape %u, depth %u", shape, depth);
        v = decode_checked (c, self, bytes->data, bytes->len, &error);
        if (depth <= GOSSIP_CODEC_MAX_DEPTH)
          {
            g_assert_no_error (error);
            g_assert_nonnull (v);
          }
        else
          g_assert_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TOO_DEEP);
      }
  c->vtable->destroy (self);
}

/* Runs /usr/bin/python3 (Debian's, which has python3-msgpack; the python3
 * on PATH may be another) on the cross-check script, bounded in time. */
static gboolean
run_python (const char *mode, const char *file, char **out, GError **error)
{
  const char *srcdir = g_getenv ("GOSSIP_TEST_SRCDIR");
  g_autofree char *script = g_build_filename (srcdir ? srcdir : GOSSIP_TEST_DEFAULT_SRCDIR,
                                              "msgpack-crosscheck.py", NULL);
  g_autofree char *timeout = g_find_program_in_path ("timeout");
  const char *argv[8];
  guint n = 0;
  g_autofree char *err = NULL;
  int status;

  if (timeout != NULL)
    {
      argv[n++] = timeout;
      argv[n++] = "60";
    }
  argv[n++] = "/usr/bin/python3";
  argv[n++] = script;
  argv[n++] = mode;
  if (file != NULL)
    argv[n++] = file;
  argv[n] = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, &err, &status,
                     error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "%s: ", err);
      return FALSE;
    }
  return TRUE;
}

static gboolean
python_msgpack_available (void)
{
  const char *argv[] = { "/usr/bin/python3", "-c", "import msgpack", NULL };
  int status;

  if (!g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE))
    return FALSE;
  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
                     NULL, &status, NULL))
    return FALSE;
  return g_spawn_check_wait_status (status, NULL);
}

static void
test_msgpack_agrees_with_python_msgpack (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self;
  g_autofree char *chars40 = repeat ('x', 40);
  g_autofree char *chars300 = repeat ('y', 300);
  g_autofree char *bin300 = NULL;
  g_autofree char *list20 = NULL;
  g_autofree char *map17 = NULL;
  g_autofree char *file = NULL;
  g_autofree char *py_out = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  GString *hex_lines;
  GString *s;
  g_autoptr (GPtrArray) sent = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr (GPtrArray) expected_py = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) sent_hex = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) python_expected
      = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  const struct
  {
    const char *value;
    const char *python;
  } forward[] = {
    { "@mi nothing", "null" },
    { "true", "true" },
    { "false", "false" },
    { "byte 255", "255" },
    { "int16 -33", "-33" },
    { "int64 -9223372036854775808", "-9223372036854775808" },
    { "uint64 18446744073709551615", "18446744073709551615" },
    { "int64 4294967296", "4294967296" },
    { "1.5", "float:1.5" },
    { "-0.0", "float:-0.0" },
    { "inf", "float:inf" },
    { "-inf", "float:-inf" },
    { "nan", "float:nan" },
    { "1e300", "float:1e+300" },
    { "''", "\"\"" },
    { "'h\\u00e9llo \\u2603'", "\"h\\u00e9llo \\u2603\"" },
    { "objectpath '/a/b'", "\"/a/b\"" },
    { "@ay []", "bin:" },
    { "[byte 0, 0xff, 0x10]", "bin:00ff10" },
    { "@as []", "[]" },
    { "@a{sv} {}", "{}" },
    { "{'a': <int64 1>, 'b': <[<'x'>, <@mv nothing>]>}", "{\"a\":1,\"b\":[\"x\",null]}" },
    { "@a{is} {1: 'one', -2: 'two'}", "{1:\"one\",-2:\"two\"}" },
    { "('x', [1, 2], (true,))", "[\"x\",[1,2],[true]]" },
    { "@aay [[1], []]", "[bin:01,bin:]" },
    { "@a{sa{sv}} {'n': {'port': <uint16 7946>}}", "{\"n\":{\"port\":7946}}" },
  };

  if (skip_unless_msgpack (c))
    return;
  if (!python_msgpack_available ())
    {
      g_test_skip ("/usr/bin/python3 with the msgpack module (python3-msgpack) is not installed");
      return;
    }
  hex_lines = g_string_new (NULL);
  s = g_string_new (NULL);
  self = create_or_die (c);

  /* C -> Python: Python decodes our bytes, prints them canonically and
   * packs them again; its packer also picks the smallest formats, so the
   * bytes must be the same as ours. */
  for (guint i = 0; i < G_N_ELEMENTS (forward); i++)
    {
      g_ptr_array_add (sent, parse (NULL, forward[i].value));
      g_ptr_array_add (expected_py, g_strdup (forward[i].python));
    }
  g_ptr_array_add (sent, g_variant_ref_sink (g_variant_new_string (chars40)));
  g_ptr_array_add (expected_py, g_strdup_printf ("\"%s\"", chars40));
  g_ptr_array_add (sent, g_variant_ref_sink (g_variant_new_string (chars300)));
  g_ptr_array_add (expected_py, g_strdup_printf ("\"%s\"", chars300));
  {
    guint8 bytes[300];
    GVariantBuilder list;
    GVariantBuilder map;

    for (guint i = 0; i < sizeof bytes; i++)
      bytes[i] = (guint8) i;
    bin300 = to_hex (bytes, sizeof bytes);
    g_ptr_array_add (sent, g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                          bytes, sizeof bytes, 1)));
    g_ptr_array_add (expected_py, g_strdup_printf ("bin:%s", bin300));

    g_variant_builder_init (&list, G_VARIANT_TYPE ("aq"));
    g_string_assign (s, "[");
    for (guint i = 0; i < 20; i++)
      {
        g_variant_builder_add (&list, "q", (guint16) (i * 1000));
        g_string_append_printf (s, "%s%u", i ? "," : "", i * 1000);
      }
    g_string_append (s, "]");
    g_ptr_array_add (sent, g_variant_ref_sink (g_variant_builder_end (&list)));
    g_ptr_array_add (expected_py, g_strdup (s->str));

    g_variant_builder_init (&map, G_VARIANT_TYPE ("a{sx}"));
    g_string_assign (s, "{");
    for (guint i = 0; i < 17; i++)
      {
        g_autofree char *key = g_strdup_printf ("k%02u", i);

        g_variant_builder_add (&map, "{sx}", key, -(gint64) i);
        g_string_append_printf (s, "%s\"%s\":%d", i ? "," : "", key, -(int) i);
      }
    g_string_append (s, "}");
    g_ptr_array_add (sent, g_variant_ref_sink (g_variant_builder_end (&map)));
    g_ptr_array_add (expected_py, g_strdup (s->str));
  }

  for (guint i = 0; i < sent->len; i++)
    {
      g_autoptr (GByteArray) bytes = encode_or_die (c, self, sent->pdata[i]);
      char *hex = to_hex (bytes->data, bytes->len);

      g_string_append_printf (hex_lines, "%s\n", hex);
      g_ptr_array_add (sent_hex, hex);
    }
  {
    int fd = g_file_open_tmp ("gossip-codec-XXXXXX.hex", &file, &error);

    g_assert_no_error (error);
    close (fd);
  }
  g_file_set_contents (file, hex_lines->str, -1, &error);
  g_assert_no_error (error);
  if (!run_python ("decode", file, &py_out, &error))
    g_error ("python3 msgpack-crosscheck.py decode failed: %s", error->message);
  g_unlink (file);
  lines = g_strsplit (py_out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, sent->len + 1);
  for (guint i = 0; i < sent->len; i++)
    {
      g_autofree char *text = g_variant_print (sent->pdata[i], TRUE);

      g_test_message ("python read %.80s as %.80s", text, lines[i]);
      g_assert_cmpstr (lines[i], ==, expected_py->pdata[i]);
    }
  g_clear_pointer (&py_out, g_free);
  g_clear_pointer (&lines, g_strfreev);

  /* Python -> C: Python packs known structures (KNOWN in the script), we
   * decode them; and Python reads back our re-encoding. */
  {
    const char *texts[] = {
      "@mv nothing",
      "true",
      "int64 0",
      "int64 -1",
      "int64 127",
      "int64 128",
      "int64 -33",
      "int64 65536",
      "int64 4294967296",
      "uint64 18446744073709551615",
      "int64 -9223372036854775808",
      "1.5",
      "-inf",
      "''",
      "'h\\u00e9llo \\u2603'",
      NULL, /* "x" * 40 */
      "@ay []",
      NULL, /* b"\x00\xff" * 150 */
      "@av []",
      "@a{sv} {}",
      "[<int64 1>, <'two'>, <[<3.0>, <@mv nothing>]>, <{'k': <false>}>]",
      "{'name': <'node-1'>, 'port': <int64 7946>, 'tags': <{'dc': <'eu'>}>, "
      "'addrs': <[<[byte 0x7f, 0, 0, 1]>]>}",
      "@a(vv) [(<int64 1>, <'one'>), (<'two'>, <int64 2>)]",
      "@a(vv) [(<[<int64 1>, <int64 2>]>, <'tuple key'>)]",
      NULL, /* list(range(20)) */
      NULL, /* {"k%02d": i} for 17 */
    };

    for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
      {
        if (texts[i] != NULL)
          {
            g_ptr_array_add (python_expected, parse (NULL, texts[i]));
            continue;
          }
        g_string_truncate (s, 0);
        switch (i)
          {
          case 15:
            g_string_printf (s, "'%s'", chars40);
            break;
          case 17:
            g_string_assign (s, "@ay [");
            for (guint k = 0; k < 300; k++)
              g_string_append (s, k % 2 ? "0xff, " : "0x00, ");
            g_string_truncate (s, s->len - 2);
            g_string_append (s, "]");
            break;
          case 24:
            g_string_assign (s, "[");
            for (guint k = 0; k < 20; k++)
              g_string_append_printf (s, "%s<int64 %u>", k ? ", " : "", k);
            g_string_append (s, "]");
            break;
          default:
            g_string_assign (s, "{");
            for (guint k = 0; k < 17; k++)
              g_string_append_printf (s, "%s'k%02u': <int64 %u>", k ? ", " : "", k, k);
            g_string_append (s, "}");
            break;
          }
        g_ptr_array_add (python_expected, parse (NULL, s->str));
      }
  }
  if (!run_python ("encode", NULL, &py_out, &error))
    g_error ("python3 msgpack-crosscheck.py encode failed: %s", error->message);
  lines = g_strsplit (py_out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, python_expected->len + 1);
  for (guint i = 0; i < python_expected->len; i++)
    {
      g_autoptr (GByteArray) bytes = from_hex (lines[i]);
      g_autoptr (GVariant) got = NULL;
      g_autoptr (GByteArray) again = NULL;
      g_autofree char *hex = NULL;

      g_test_message ("python packed %s", lines[i]);
      got = decode_or_die (c, self, bytes->data, bytes->len);
      assert_variant_equal (got, python_expected->pdata[i]);
      /* Same smallest formats on both sides: re-encoding gives Python's bytes. */
      again = encode_or_die (c, self, got);
      hex = to_hex (again->data, again->len);
      g_assert_cmpstr (hex, ==, lines[i]);
    }

  g_string_free (hex_lines, TRUE);
  g_string_free (s, TRUE);
  c->vtable->destroy (self);
}

/* ------------------------------------------------------------ msgpack = mpack */

/* Two MessagePack codecs share wire id 1, so peers may run either: the
 * bytes each sends must be the other's, and each must read what the other
 * reads, failing the same way on the rest. */
static gboolean
load_codec (const char *name, CodecUnderTest *c, GError **error)
{
  c->name = (char *) name;
  c->plugin = gossip_plugin_load (GOSSIP_PLUGIN_KIND_CODEC, name, NULL, error);
  if (c->plugin == NULL)
    return FALSE;
  c->vtable = gossip_plugin_get_vtable (c->plugin);
  for (guint i = 0; i < G_N_ELEMENTS (known_codecs); i++)
    if (strcmp (known_codecs[i].name, name) == 0)
      c->facts = &known_codecs[i];
  return TRUE;
}

/* Both decode @data the same way: the same value, or the same error. */
static void
assert_same_decoding (const CodecUnderTest *a, gpointer sa, const CodecUnderTest *b, gpointer sb,
                      const guint8 *data, gsize len)
{
  g_autoptr (GError) ea = NULL;
  g_autoptr (GError) eb = NULL;
  g_autoptr (GVariant) va = decode_checked (a, sa, data, len, &ea);
  g_autoptr (GVariant) vb = decode_checked (b, sb, data, len, &eb);

  if (va != NULL && vb != NULL)
    {
      assert_variant_equal (vb, va);
      return;
    }
  if (va == NULL && vb == NULL)
    {
      if (ea->code != eb->code)
        {
          g_autofree char *hex = to_hex (data, MIN (len, 64));

          g_test_fail_printf ("%s: %s (%d), but %s: %s (%d) for %s%s", a->name, ea->message,
                              ea->code, b->name, eb->message, eb->code, hex, len > 64 ? "..." : "");
        }
      return;
    }
  {
    g_autofree char *hex = to_hex (data, MIN (len, 64));

    g_test_fail_printf ("%s %s, %s %s for %s%s", a->name, va ? "decoded" : "failed", b->name,
                        vb ? "decoded" : "failed", hex, len > 64 ? "..." : "");
  }
}

static void
add_sized_values (GPtrArray *corpus, gsize n)
{
  g_autofree char *chars = g_malloc (n + 1);
  g_autofree guint8 *bytes = g_malloc (n);
  g_autofree gint64 *ints = g_new (gint64, n);
  GVariantBuilder map;
  GVariantBuilder av;

  for (gsize k = 0; k < n; k++)
    {
      chars[k] = (char) ('a' + k % 26);
      bytes[k] = (guint8) (k * 7);
      ints[k] = k % 2 ? -(gint64) k * 1000003 : (gint64) k * 1000003;
    }
  chars[n] = '\0';
  g_variant_builder_init (&map, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_init (&av, G_VARIANT_TYPE ("av"));
  for (gsize k = 0; k < n; k++)
    {
      char key[24];

      g_snprintf (key, sizeof key, "%" G_GSIZE_FORMAT, k);
      g_variant_builder_add (&map, "{sv}", key, g_variant_new_int64 (-(gint64) k));
      if (k < 300)
        g_variant_builder_add (&av, "v", g_variant_new_string (key));
    }
  g_ptr_array_add (corpus, g_variant_ref_sink (g_variant_new_string (chars)));
  g_ptr_array_add (
      corpus, g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes, n, 1)));
  g_ptr_array_add (
      corpus, g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, ints, n, 8)));
  g_ptr_array_add (corpus, g_variant_ref_sink (g_variant_builder_end (&map)));
  g_ptr_array_add (corpus, g_variant_ref_sink (g_variant_builder_end (&av)));
}

static void
test_msgpack_and_mpack_agree (void)
{
  CodecUnderTest a = { 0 };
  CodecUnderTest b = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) corpus = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr (GPtrArray) seeds
      = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  GRand *rand;
  gpointer sa, sb;
  const char *const extra[] = {
    "@ax [-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -4294967312, "
    "-9223372036854775808, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296]",
    "@an [-129, -32768, -33, 32767]",
    "@ai [-32769, -2147483648, 2147483647]",
    "@at [0, 9223372036854775808, 18446744073709551615]",
    "@ad [0.0, -0.0, 1.5, 1e300, inf, -inf]",
    "@ab [true, false]",
    "(byte 0xff, true, int16 -1, uint16 65535, -2147483648, uint32 4294967295, "
    "int64 -9223372036854775808, uint64 18446744073709551615, -1.5, 's', objectpath '/o', "
    "signature 'a{sv}', <int64 42>)",
    "[<int64 -4294967312>, <int64 -6442450944>, <int64 -9223372032559808513>]",
    "{'a': <{'b': <[<@mv nothing>, <@ay [1, 2]>, <@a(vv) [(<int64 -1>, <2.5>)]>]>}>}",
    "@a{ib} {-129: true, -32769: false}",
    "@mmi just nothing",
    "<<<'boxes'>>>",
    "((((('deep',),),),),)",
  };
  const double doubles[]
      = { 0.0,      -0.0,     1.5,       -1e300, G_MINDOUBLE, G_MAXDOUBLE,
          4.9e-324, INFINITY, -INFINITY, NAN,    0.1,         3.4028234663852886e+38,
          1e-45 };
  const gsize sizes[] = { 0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536 };

  if (!load_codec ("msgpack", &a, &error) || !load_codec ("mpack", &b, &error))
    {
      g_autofree char *why = g_strdup_printf ("needs both msgpack and mpack: %s", error->message);

      g_test_skip (why);
      return;
    }
  g_assert_cmpuint (a.vtable->wire_id, ==, b.vtable->wire_id);
  sa = create_or_die (&a);
  sb = create_or_die (&b);

  for (guint i = 0; i < G_N_ELEMENTS (mapping_rows); i++)
    g_ptr_array_add (corpus, parse (mapping_rows[i].type, mapping_rows[i].value));
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    g_ptr_array_add (corpus, parse (NULL, extra[i]));
  for (guint i = 0; i < G_N_ELEMENTS (integer_texts); i++)
    for (const char *t = "ynqiuxth"; *t != '\0'; t++)
      if (integer_fits (integer_texts[i], *t))
        {
          char type_string[2] = { *t, '\0' };

          g_ptr_array_add (corpus, parse (type_string, integer_texts[i]));
        }
  for (guint i = 0; i < G_N_ELEMENTS (doubles); i++)
    g_ptr_array_add (corpus, g_variant_ref_sink (g_variant_new_double (doubles[i])));
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    add_sized_values (corpus, sizes[i]);
  for (guint n = 0; n <= 64; n = n ? n * 4 : 1)
    g_ptr_array_add (corpus, protocol_like_message (n));
  g_ptr_array_add (corpus, nest_arrays (g_variant_new_int64 (-200), GOSSIP_CODEC_MAX_DEPTH));
  g_ptr_array_add (corpus, nest_maps (g_variant_new_string ("x"), GOSSIP_CODEC_MAX_DEPTH));

  for (guint i = 0; i < corpus->len; i++)
    {
      GVariant *v = corpus->pdata[i];
      g_autoptr (GByteArray) from_a = encode_or_die (&a, sa, v);
      g_autoptr (GByteArray) from_b = encode_or_die (&b, sb, v);
      g_autoptr (GVariant) a_reads_a = decode_or_die (&a, sa, from_a->data, from_a->len);
      g_autoptr (GVariant) a_reads_b = NULL;
      g_autoptr (GVariant) b_reads_a = NULL;

      if (from_a->len != from_b->len || memcmp (from_a->data, from_b->data, from_a->len) != 0)
        {
          g_autofree char *text = g_variant_print (v, TRUE);
          g_autofree char *ha = to_hex (from_a->data, MIN (from_a->len, 48));
          g_autofree char *hb = to_hex (from_b->data, MIN (from_b->len, 48));

          g_test_fail_printf ("%.120s: msgpack %s, mpack %s", text, ha, hb);
          return;
        }
      a_reads_b = decode_or_die (&a, sa, from_b->data, from_b->len);
      b_reads_a = decode_or_die (&b, sb, from_a->data, from_a->len);
      assert_variant_equal (a_reads_b, a_reads_a);
      assert_variant_equal (b_reads_a, a_reads_a);
      if (i % 7 == 0 && from_a->len < 4096)
        g_ptr_array_add (seeds, g_steal_pointer (&from_a));
    }
  g_test_message ("%u values encode the same", corpus->len);

  /* The same errors for hostile input, and for everything in between. */
  for (guint i = 0; i < G_N_ELEMENTS (msgpack_hostile); i++)
    {
      g_autoptr (GByteArray) bytes = from_hex (msgpack_hostile[i].hex);

      assert_same_decoding (&a, sa, &b, sb, bytes->data, bytes->len);
    }
  rand = g_rand_new_with_seed (FUZZ_SEED + 2);
  for (guint i = 0; i < FUZZ_ROUNDS; i++)
    {
      const GByteArray *seed = seeds->pdata[i % seeds->len];
      g_autoptr (GByteArray) m = g_byte_array_new ();
      guint n_changes = (guint) g_rand_int_range (rand, 1, 4);

      g_byte_array_append (m, seed->data, seed->len);
      for (guint k = 0; k < n_changes; k++)
        {
          guint pos = (guint) g_rand_int_range (rand, 0, (gint) m->len);

          switch (g_rand_int_range (rand, 0, 4))
            {
            case 0:
              m->data[pos] = (guint8) g_rand_int (rand);
              break;
            case 1:
              m->data[pos] = g_rand_boolean (rand) ? 0xff : 0x00;
              break;
            case 2:
              if (m->len > 1)
                g_byte_array_remove_index (m, pos);
              break;
            default:
              g_byte_array_set_size (m, pos + 1);
              break;
            }
        }
      assert_same_decoding (&a, sa, &b, sb, m->data, m->len);
    }
  for (guint i = 0; i < FUZZ_ROUNDS; i++)
    {
      guint8 buf[24];
      gsize len = (gsize) g_rand_int_range (rand, 0, sizeof buf);

      for (gsize j = 0; j < len; j++)
        buf[j] = (guint8) g_rand_int (rand);
      assert_same_decoding (&a, sa, &b, sb, buf, len);
    }
  g_rand_free (rand);
  a.vtable->destroy (sa);
  b.vtable->destroy (sb);
}

/* ------------------------------------------------------------ JSON */

static gboolean
skip_unless_json (const CodecUnderTest *c)
{
  if (c->vtable->wire_id != JSON_WIRE_ID)
    {
      g_test_skip ("not a JSON codec (wire id 2)");
      return TRUE;
    }
  return FALSE;
}

static void
test_json_emits_the_documented_text (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self;
  const struct
  {
    const char *value;
    const char *json;
  } rows[] = {
    { "@mi nothing", "null" },
    { "true", "true" },
    { "false", "false" },
    { "int64 0", "0" },
    { "int16 -5", "-5" },
    { "uint64 9007199254740992", "9007199254740992" },
    { "int64 -9007199254740992", "-9007199254740992" },
    { "handle 3", "3" },
    { "1.25", "1.25" },
    { "1.0", "1.0" },
    { "-0.0", "-0.0" },
    { "0.1", "0.1" },
    { "-2.0", "-2.0" },
    { "1e21", "1e+21" },
    { "1e300", "1e+300" },
    { "2.2250738585072014e-308", "2.2250738585072014e-308" },
    { "123456789.125", "123456789.125" },
    { "''", "\"\"" },
    { "'h\\u00e9 \\u2603'", "\"h\u00e9 \u2603\"" },
    { "'q\"b\\\\s/\\n\\t\\r\\u0001\\u001f\\u007f'", "\"q\\\"b\\\\s/\\n\\t\\r\\u0001\\u001f\x7f\"" },
    { "objectpath '/a'", "\"/a\"" },
    { "signature 'ai'", "\"ai\"" },
    { "@ay []", "{\"$b64\":\"\"}" },
    { "[byte 0, 0xff]", "{\"$b64\":\"AP8=\"}" },
    { "@av []", "[]" },
    { "()", "[]" },
    { "('x', int32 1, [byte 1])", "[\"x\",1,{\"$b64\":\"AQ==\"}]" },
    { "@a{sv} {}", "{}" },
    { "{'a': <int64 1>, 'b': <@mv nothing>}", "{\"a\":1,\"b\":null}" },
    { "@a{is} {1: 'one', -2: 'two'}", "{\"$map\":[[1,\"one\"],[-2,\"two\"]]}" },
    { "@a{ss} {'$b64': 'x'}", "{\"$map\":[[\"$b64\",\"x\"]]}" },
    { "@a{ss} {'$map': 'x'}", "{\"$map\":[[\"$map\",\"x\"]]}" },
    { "@a{ss} {'$b64': 'x', '$map': 'y'}", "{\"$b64\":\"x\",\"$map\":\"y\"}" },
    { "@a{ss} {'$x': 'y'}", "{\"$x\":\"y\"}" },
    { "@a(vv) [(<'k'>, <1>), (<'k'>, <2>)]", "{\"$map\":[[\"k\",1],[\"k\",2]]}" },
    { "@a(vv) [(<'k'>, <1>), (<'l'>, <2>)]", "{\"k\":1,\"l\":2}" },
    { "@a(vv) [(<@ms 'k'>, <1>)]", "{\"k\":1}" },
    { "@a(vv) [(<@ms nothing>, <1>)]", "{\"$map\":[[null,1]]}" },
    { "<<int64 5>>", "5" },
    { "@mmi just just 5", "5" },
  };

  if (skip_unless_json (c))
    return;
  self = create_or_die (c);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GVariant) v = parse (NULL, rows[i].value);
      g_autoptr (GByteArray) bytes = encode_or_die (c, self, v);
      g_autofree char *text = g_strndup ((const char *) bytes->data, bytes->len);
      g_autoptr (GVariant) decoded = NULL;
      g_autoptr (GByteArray) again = NULL;

      g_test_message ("%s", rows[i].value);
      g_assert_cmpstr (text, ==, rows[i].json);
      /* What is written reads back, and writes the same text again. */
      decoded = decode_or_die (c, self, bytes->data, bytes->len);
      assert_uses_mapping_types (decoded);
      again = encode_or_die (c, self, decoded);
      g_assert_cmpmem (again->data, again->len, bytes->data, bytes->len);
    }
  c->vtable->destroy (self);
}

static void
test_json_refuses_what_it_cannot_carry (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self;
  const char *const values[] = {
    "uint64 9007199254740993",
    "int64 -9007199254740993",
    "int64 9223372036854775807",
    "int64 -9223372036854775808",
    "uint64 18446744073709551615",
    "inf",
    "-inf",
    "nan",
    "[<int64 1>, <inf>]",
    "@ad [1.0, nan]",
    "@at [1, 9007199254740993]",
    "{'k': <uint64 18446744073709551615>}",
    "@a{ts} {18446744073709551615: 'x'}",
    "@a{sv} {'k': <[<{'deep': <-inf>}>]>}",
  };

  if (skip_unless_json (c))
    return;
  self = create_or_die (c);
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr (GVariant) v = parse (NULL, values[i]);

      g_test_message ("%s", values[i]);
      g_assert_false (codec_carries (c, v));
      assert_encode_unsupported (c, self, v);
    }
  c->vtable->destroy (self);
}

static void
test_json_decodes_every_accepted_form (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self;
  const struct
  {
    const char *json;
    const char *value;
  } rows[] = {
    { " \t\r\n true \n", "true" },
    { "null", "@mv nothing" },
    { "0", "int64 0" },
    { "-0", "int64 0" },
    { "9007199254740992", "int64 9007199254740992" },
    { "-9007199254740992", "int64 -9007199254740992" },
    { "1E2", "100.0" },
    { "1e-2", "0.01" },
    { "-1.5e+3", "-1500.0" },
    { "0.0", "0.0" },
    { "-0.0", "-0.0" },
    { "1e-400", "0.0" },
    { "\"\"", "''" },
    { "\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\\"\\\\\"", "'\\u00e9\\U0001f600/\\b\\f\"\\\\'" },
    { "\"\u00e9\"", "'\\u00e9'" },
    { "[ 1 , [ ] , { } ]", "[<int64 1>, <@av []>, <@a{sv} {}>]" },
    { "[null]", "[<@mv nothing>]" },
    { "{\"$b64\":\"AP8=\"}", "[byte 0, 0xff]" },
    { "{ \"$b64\" : \"\" }", "@ay []" },
    { "{\"$b64\":\"YWJj\"}", "[byte 0x61, 0x62, 0x63]" },
    { "{\"$map\":[]}", "@a{sv} {}" },
    { "{\"$map\":[[\"a\",1]]}", "{'a': <int64 1>}" },
    { "{\"$map\":[[\"a\",1],[\"a\",2]]}", "{'a': <int64 1>, 'a': <int64 2>}" },
    { "{\"$map\":[[null,true],[1.5,\"x\"]]}", "@a(vv) [(<@mv nothing>, <true>), (<1.5>, <'x'>)]" },
    { "{\"$map\":[[[1],{\"$b64\":\"AQ==\"}]]}", "@a(vv) [(<[<int64 1>]>, <[byte 1]>)]" },
    { "{\"$b64\":\"AA==\",\"x\":1}", "{'$b64': <'AA=='>, 'x': <int64 1>}" },
    { "{\"$other\":1}", "{'$other': <int64 1>}" },
    { "{\"z\":1,\"a\":2,\"m\":3}", "{'z': <int64 1>, 'a': <int64 2>, 'm': <int64 3>}" },
    { "{\"\":{\"\":[]}}", "{'': <{'': <@av []>}>}" },
  };

  if (skip_unless_json (c))
    return;
  self = create_or_die (c);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GVariant) want = parse (NULL, rows[i].value);
      g_autoptr (GVariant) got = NULL;

      g_test_message ("%s", rows[i].json);
      got = decode_or_die (c, self, (const guint8 *) rows[i].json, strlen (rows[i].json));
      assert_variant_equal (got, want);
      assert_uses_mapping_types (got);
      if (g_variant_is_of_type (got, G_VARIANT_TYPE_DOUBLE))
        assert_same_double (got, g_variant_get_double (want));
    }
  c->vtable->destroy (self);
}

/* Inputs json-glib's parser alone would take, or mangle, or that break the
 * mapping, with the error each must give. */
static const struct
{
  const char *json;
  gssize len; /* -1: up to the NUL */
  GossipCodecError code;
} json_hostile[] = {
  { "// c\n1", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "/* c */ 1", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "'x'", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "0x10", -1, GOSSIP_CODEC_ERROR_TRAILING },
  { "01", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "-01", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "[00]", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { ".5", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "+1", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "[1.]", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "[1e]", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "[-]", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "var a = 1;", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "NaN", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "Infinity", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "-Infinity", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "True", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "trux", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "[1,]", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "[,1]", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"a\":1,}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "[1 2]", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"a\" 1}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{1:2}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{a:2}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "[1}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"\\x41\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"a\tb\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"a\nb\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"\\u0000\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"\\u0000\":1}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"\\ud800\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"\\ud800x\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"\\udc00\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"\\ud800\\u0041\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"\\u12G4\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"\xc3\x28\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"\xed\xa0\x80\"", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\xef\xbb\xbf"
    "1",
    -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "\"a\0b\"", 5, GOSSIP_CODEC_ERROR_MALFORMED },
  { "1\0", 2, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"a\":1,\"a\":2}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "[{\"a\":{\"x\":1},\"a\":{}}]", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":1}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":null}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":\"AP8\"}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":\"AP9=\"}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":\"A P8=\"}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":\"AP8=\\n\"}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":\"!!!!\"}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":\"AA=A\"}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":\"A===\"}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":\"====\"}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$b64\":\"AB==\"}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$map\":{}}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$map\":null}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$map\":[1]}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$map\":[[1]]}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$map\":[[1,2,3]]}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "{\"$map\":[[1,2],[]]}", -1, GOSSIP_CODEC_ERROR_MALFORMED },
  { "9007199254740993", -1, GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "-9007199254740993", -1, GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "18446744073709551616", -1, GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "[99999999999999999999999999999999999999]", -1, GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "1e400", -1, GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "-1e400", -1, GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "{\"k\":[1e309]}", -1, GOSSIP_CODEC_ERROR_UNSUPPORTED },
  { "", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { " \n", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "[", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "[1", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "[1,", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "{", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "{\"a\"", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "{\"a\":", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "{\"a\":1", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "{\"a\":1,", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "\"abc", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "\"\\", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "\"\\u12", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "\"\\ud800", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "\"\\ud800\\u", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "\"\xe2\x98", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "-", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "1.", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "1e", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "1e+", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "tru", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "[nul", -1, GOSSIP_CODEC_ERROR_TRUNCATED },
  { "1 2", -1, GOSSIP_CODEC_ERROR_TRAILING },
  { "{} {}", -1, GOSSIP_CODEC_ERROR_TRAILING },
  { "[1]x", -1, GOSSIP_CODEC_ERROR_TRAILING },
  { "true false", -1, GOSSIP_CODEC_ERROR_TRAILING },
  { "null,", -1, GOSSIP_CODEC_ERROR_TRAILING },
  { "\"a\"\"b\"", -1, GOSSIP_CODEC_ERROR_TRAILING },
  { "[] \n ]", -1, GOSSIP_CODEC_ERROR_TRAILING },
};

static void
test_json_refuses_hostile_input (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self;
  GString *bomb;

  if (skip_unless_json (c))
    return;
  bomb = g_string_new (NULL);
  self = create_or_die (c);
  for (guint i = 0; i < G_N_ELEMENTS (json_hostile); i++)
    {
      gsize len
          = json_hostile[i].len < 0 ? strlen (json_hostile[i].json) : (gsize) json_hostile[i].len;
      g_autofree char *shown = g_strescape (json_hostile[i].json, NULL);

      g_test_message ("%s", shown);
      assert_decode_fails (c, self, (const guint8 *) json_hostile[i].json, len,
                           json_hostile[i].code);
    }

  /* Nesting bombs: refused by the validator, before json-glib's recursive
   * parser would see them. */
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (bomb, '[');
  assert_decode_fails (c, self, (const guint8 *) bomb->str, bomb->len, GOSSIP_CODEC_ERROR_TOO_DEEP);
  g_string_truncate (bomb, 0);
  for (guint i = 0; i < 100000; i++)
    g_string_append (bomb, "{\"a\":");
  g_string_append (bomb, "1");
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (bomb, '}');
  assert_decode_fails (c, self, (const guint8 *) bomb->str, bomb->len, GOSSIP_CODEC_ERROR_TOO_DEEP);
  g_string_free (bomb, TRUE);
  c->vtable->destroy (self);
}

static void
test_json_limits_depth_exactly (gconstpointer data)
{
  const CodecUnderTest *c = data;
  gpointer self;
  /* One level of each shape, its closing text, and the leaf. */
  const struct
  {
    const char *open;
    const char *close;
  } shapes[] = {
    { "[", "]" },
    { "{\"k\":", "}" },
    { "{\"$map\":[[1,", "]]}" },
    { "{\"$map\":[[", ",0]]}" },
    { "[0,{\"$map\":1,\"x\":", "}]" },
  };

  if (skip_unless_json (c))
    return;
  self = create_or_die (c);
  for (guint shape = 0; shape < G_N_ELEMENTS (shapes); shape++)
    for (guint depth = GOSSIP_CODEC_MAX_DEPTH - 1; depth <= GOSSIP_CODEC_MAX_DEPTH + 1; depth++)
      {
        GString *text = g_string_new (NULL);
        g_autoptr (GVariant) v = NULL;
        g_autoptr (GError) error = NULL;
        /* Shape 4 has two containers per level. */
        guint levels = shape == 4 ? depth / 2 : depth;
        guint want = shape == 4 ? 2 * levels : levels;

        for (guint i = 0; i < levels; i++)
          g_string_append (text, shapes[shape].open);
        if (shape == 4 && depth % 2)
          {
            g_string_append (text, "[{\"$b64\":\"AA==\"}]");
            want++;
          }
        else
          g_string_append (text, "{\"$b64\":\"AA==\"}"); /* a binary is no container */
        for (guint i = 0; i < levels; i++)
          g_string_append (text, shapes[shape].close);
        g_test_message ("shape %u, depth %u", shape, want);
        v = decode_checked (c, self, (const guint8 *) text->str, text->len, &error);
        if (want <= GOSSIP_CODEC_MAX_DEPTH)
          {
            g_assert_no_error (error);
            g_assert_nonnull (v);
          }
        else
          g_assert_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TOO_DEEP);
        g_string_free (text, TRUE);
      }
  c->vtable->destroy (self);
}

/* ------------------------------------------------------------ coerce */

static void
test_coerce_converts_what_the_mapping_widened (void)
{
  const struct
  {
    const char *value;
    const char *type;
    const char *expected;
  } rows[] = {
    { "int64 5", "y", "byte 5" },
    { "int64 -5", "n", "int16 -5" },
    { "int64 65535", "q", "uint16 65535" },
    { "int64 -7", "i", "-7" },
    { "int64 7", "u", "uint32 7" },
    { "int64 3", "h", "handle 3" },
    { "int64 3", "x", "int64 3" },
    { "int64 3", "t", "uint64 3" },
    { "uint64 18446744073709551615", "t", "uint64 18446744073709551615" },
    { "uint64 5", "x", "int64 5" },
    { "byte 200", "x", "int64 200" },
    { "int16 -2", "i", "-2" },
    { "uint16 2", "y", "byte 2" },
    { "uint32 2", "n", "int16 2" },
    { "handle 2", "t", "uint64 2" },
    { "int64 3", "d", "3.0" },
    { "int64 -9223372036854775808", "d", "-9.2233720368547758e18" },
    { "uint64 18446744073709551615", "d", "1.8446744073709552e19" },
    { "2.5", "d", "2.5" },
    { "true", "b", "true" },
    { "'s'", "s", "'s'" },
    { "'/a/b'", "o", "objectpath '/a/b'" },
    { "'a{sv}'", "g", "signature 'a{sv}'" },
    { "objectpath '/x'", "s", "'/x'" },
    { "signature 'i'", "s", "'i'" },
    { "[<int64 1>, <int64 2>]", "ai", "[1, 2]" },
    { "[<int64 1>, <int64 255>]", "ay", "[byte 1, 255]" },
    { "[<int64 1>, <'x'>]", "(is)", "(1, 'x')" },
    { "[<int64 1>, <'x'>]", "{is}", "{1, 'x'}" },
    { "@av []", "()", "()" },
    { "@av []", "a{sv}", "@a{sv} {}" },
    { "{'a': <int64 1>}", "a{si}", "{'a': 1}" },
    { "{'a': <int64 1>}", "a{sv}", "{'a': <int64 1>}" },
    { "{'/a': <'/p'>}", "a{oo}", "{objectpath '/a': objectpath '/p'}" },
    { "{'a': <int64 1>}", "a(sv)", "[('a', <int64 1>)]" },
    { "@a(vv) [(<int64 1>, <'one'>)]", "a{is}", "{1: 'one'}" },
    { "@a(vv) [(<true>, <int64 1>)]", "a{bq}", "{true: uint16 1}" },
    { "@a(vv) [(<'k'>, <int64 1>)]", "a{sv}", "{'k': <int64 1>}" },
    { "@a{sv} {}", "a{ix}", "@a{ix} {}" },
    { "@mv nothing", "ms", "@ms nothing" },
    { "@mv nothing", "mmi", "@mmi nothing" },
    { "@mv nothing", "mv", "@mv nothing" },
    { "@mv nothing", "v", "<@mv nothing>" },
    { "int64 5", "mi", "@mi 5" },
    { "int64 5", "mmi", "@mmi just just 5" },
    { "@ms 'x'", "s", "'x'" },
    { "@mx 5", "mi", "@mi 5" },
    { "int64 5", "v", "<int64 5>" },
    { "<<int64 5>>", "i", "5" },
    { "<<int64 5>>", "v", "<<int64 5>>" },
    { "<<int64 5>>", "mv", "@mv just <int64 5>" },
    { "[<[<int64 1>]>, <@av []>]", "aai", "[[1], []]" },
    { "[<'a'>, <@mv nothing>]", "ams", "[just 'a', nothing]" },
    { "[<'a'>, <@mv nothing>]", "av", "[<'a'>, <@mv nothing>]" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GVariant) value = parse (NULL, rows[i].value);
      g_autoptr (GVariant) want = parse (rows[i].type, rows[i].expected);
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) got = NULL;

      g_test_message ("%s as '%s'", rows[i].value, rows[i].type);
      got = gossip_variant_coerce (value, G_VARIANT_TYPE (rows[i].type), &error);
      g_assert_no_error (error);
      g_assert_nonnull (got);
      g_assert_false (g_variant_is_floating (got));
      assert_variant_equal (got, want);
    }
}

static void
test_coerce_reports_what_does_not_fit (void)
{
  const struct
  {
    const char *value;
    const char *type;
    const char *in_message;
  } rows[] = {
    { "int64 256", "y", "256" },
    { "int64 -1", "y", "-1" },
    { "int64 32768", "n", "32768" },
    { "int64 -32769", "n", "-32769" },
    { "int64 65536", "q", "65536" },
    { "int64 -1", "q", "'q'" },
    { "int64 2147483648", "i", "2147483648" },
    { "int64 -2147483649", "i", "-2147483649" },
    { "int64 2147483648", "h", "'h'" },
    { "int64 4294967296", "u", "4294967296" },
    { "int64 -1", "u", "'u'" },
    { "uint64 9223372036854775808", "x", "9223372036854775808" },
    { "int64 -9223372036854775808", "t", "-9223372036854775808" },
    { "int64 -1", "t", "'t'" },
    { "'x'", "i", "'s'" },
    { "int64 1", "s", "'x'" },
    { "true", "i", "'b'" },
    { "1.5", "i", "'d'" },
    { "int64 1", "b", "'b'" },
    { "'true'", "b", "'b'" },
    { "1.0", "s", "'s'" },
    { "@ay [1]", "s", "'ay'" },
    { "'x'", "ay", "'ay'" },
    { "'a/b'", "o", "object path" },
    { "''", "o", "object path" },
    { "'(('", "g", "signature" },
    { "objectpath '/x'", "g", "signature" },
    { "[<int64 1>]", "(ii)", "'(ii)'" },
    { "[<int64 1>, <int64 2>, <int64 3>]", "(ii)", "3 items" },
    { "@av []", "(i)", "'(i)'" },
    { "[<int64 1>]", "a{sv}", "element 0" },
    { "{'x': <int64 1>}", "a{iv}", "'i'" },
    { "[<'x'>]", "ai", "element 0" },
    { "[<int64 1>, <int64 300>]", "ay", "element 1: integer 300" },
    { "[<[<int64 1>, <'no'>]>]", "a(ii)", "element 0: item 1" },
    { "@mv nothing", "i", "'mv'" },
    { "@mv nothing", "ai", "'mv'" },
    { "int64 5", "ai", "'ai'" },
    { "int64 5", "(i)", "'(i)'" },
    { "{'k': <int64 1>}", "(sx)", "1 items" },
    { "[<'a'>, <int64 1>]", "as", "element 1" },
    { "@a(vv) [(<int64 1>, <'one'>)]", "a{ss}", "element 0: item 0" },
    { "@mx 300", "my", "300" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GVariant) value = parse (NULL, rows[i].value);
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) got = NULL;

      g_test_message ("%s as '%s'", rows[i].value, rows[i].type);
      got = gossip_variant_coerce (value, G_VARIANT_TYPE (rows[i].type), &error);
      g_assert_null (got);
      g_assert_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TYPE);
      g_test_message ("  %s", error->message);
      if (strstr (error->message, rows[i].in_message) == NULL)
        g_test_fail_printf ("\"%s\" does not mention \"%s\"", error->message, rows[i].in_message);
    }
}

static void
test_coerce_handles_references (void)
{
  g_autoptr (GVariant) value = parse (NULL, "int64 5");
  g_autoptr (GVariant) same = NULL;
  g_autoptr (GVariant) from_floating = NULL;
  g_autoptr (GVariant) deep = NULL;
  g_autoptr (GVariant) back = NULL;
  GString *type = g_string_new (NULL);

  /* Already of the type: the same value, one more reference. */
  same = gossip_variant_coerce (value, G_VARIANT_TYPE_INT64, NULL);
  g_assert_true (same == value);
  g_assert_false (g_variant_is_floating (same));

  /* A floating argument is consumed (ASan reports a leak otherwise). */
  from_floating = gossip_variant_coerce (g_variant_new_int64 (9), G_VARIANT_TYPE_BYTE, NULL);
  g_assert_cmpuint (g_variant_get_byte (from_floating), ==, 9);
  g_assert_false (g_variant_is_floating (from_floating));
  g_clear_pointer (&from_floating, g_variant_unref);
  from_floating = gossip_variant_coerce (g_variant_new_int64 (9), G_VARIANT_TYPE_INT64, NULL);
  g_assert_false (g_variant_is_floating (from_floating));
  g_assert_null (gossip_variant_coerce (g_variant_new_string ("x"), G_VARIANT_TYPE_INT64, NULL));

  /* The deepest decodable value coerces into a typed array as deep. */
  deep = nest_arrays (g_variant_new_int64 (-1), GOSSIP_CODEC_MAX_DEPTH);
  for (guint i = 0; i < GOSSIP_CODEC_MAX_DEPTH; i++)
    g_string_append_c (type, 'a');
  g_string_append_c (type, 'n');
  back = gossip_variant_coerce (deep, G_VARIANT_TYPE (type->str), NULL);
  g_assert_nonnull (back);
  g_assert_cmpstr (g_variant_get_type_string (back), ==, type->str);
  g_string_free (type, TRUE);
}

/* ------------------------------------------------------------ builder */

static void
assert_prints_as (GVariant *got, const char *text)
{
  g_autoptr (GVariant) want = parse (NULL, text);

  assert_variant_equal (got, want);
}

/* gossip_codec_builder_*: what every decoder builds its containers with. */
static void
test_builder_builds_the_decoded_types (void)
{
  g_autoptr (GossipCodecBuilder) dropped = gossip_codec_builder_new (G_MAXSIZE);
  g_autoptr (GVariant) items = NULL;
  g_autoptr (GVariant) strings = NULL;
  g_autoptr (GVariant) others = NULL;
  g_autoptr (GVariant) empty = NULL;
  g_autoptr (GVariant) held = g_variant_ref_sink (g_variant_new_string ("held"));
  GossipCodecBuilder *b;

  /* Past the inline slots and past the announced count: values keep their
   * order; floating and full references are both consumed. */
  b = gossip_codec_builder_new (3);
  for (gint64 i = 0; i < 100; i++)
    gossip_codec_builder_add (b, g_variant_new_int64 (i));
  gossip_codec_builder_add (b, g_variant_ref (held));
  items = g_variant_ref_sink (gossip_codec_builder_end_array (b));
  g_assert_cmpstr (g_variant_get_type_string (items), ==, "av");
  g_assert_cmpuint (g_variant_n_children (items), ==, 101);
  for (gsize i = 0; i < 100; i++)
    {
      g_autoptr (GVariant) boxed = g_variant_get_child_value (items, i);
      g_autoptr (GVariant) inner = g_variant_get_variant (boxed);
      g_assert_cmpint (g_variant_get_int64 (inner), ==, (gint64) i);
    }

  b = gossip_codec_builder_new (4);
  gossip_codec_builder_add (b, g_variant_new_string ("k"));
  gossip_codec_builder_add (b, g_variant_new_boolean (TRUE));
  gossip_codec_builder_add (b, g_variant_ref (held));
  gossip_codec_builder_add (b, g_variant_new_int64 (-1));
  strings = g_variant_ref_sink (gossip_codec_builder_end_map (b));
  assert_prints_as (strings, "{'k': <true>, 'held': <int64 -1>}");

  /* One key that is not a string makes the whole map a(vv). */
  b = gossip_codec_builder_new (4);
  gossip_codec_builder_add (b, g_variant_new_string ("k"));
  gossip_codec_builder_add (b, g_variant_new_boolean (TRUE));
  gossip_codec_builder_add (b, g_variant_new_int64 (7));
  gossip_codec_builder_add (b, g_variant_ref (held));
  others = g_variant_ref_sink (gossip_codec_builder_end_map (b));
  assert_prints_as (others, "[(<'k'>, <true>), (<int64 7>, <'held'>)]");

  empty = g_variant_ref_sink (gossip_codec_builder_end_map (gossip_codec_builder_new (0)));
  assert_prints_as (empty, "@a{sv} {}");

  /* A failed decode drops what it collected (ASan reports a leak else),
   * and a huge announced count reserves nothing much. */
  gossip_codec_builder_add (dropped, g_variant_new_string ("floating"));
  gossip_codec_builder_add (dropped, g_variant_ref (held));
  g_assert_false (g_variant_is_floating (held));

  g_assert_true (gossip_codec_check_depth (GOSSIP_CODEC_MAX_DEPTH - 1, NULL));
  {
    g_autoptr (GError) error = NULL;
    g_assert_false (gossip_codec_check_depth (GOSSIP_CODEC_MAX_DEPTH, &error));
    g_assert_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TOO_DEEP);
  }
}

/* ------------------------------------------------------------ main */

static void
add_codec_tests (GPtrArray *codecs, const char *name)
{
  g_autoptr (GError) error = NULL;
  CodecUnderTest *c = g_new0 (CodecUnderTest, 1);
  const struct
  {
    const char *name;
    GTestDataFunc func;
  } cases[] = {
    { "round-trips-every-mapping-row", test_round_trips_every_mapping_row },
    { "round-trips-lossy-rows-as-documented", test_round_trips_lossy_rows_as_documented },
    { "round-trips-nested-structures", test_round_trips_nested_structures },
    { "round-trips-integer-extremes-in-every-type",
      test_round_trips_integer_extremes_in_every_type },
    { "round-trips-special-doubles", test_round_trips_special_doubles },
    { "round-trips-empty-values", test_round_trips_empty_values },
    { "round-trips-large-values", test_round_trips_large_values },
    { "rejects-invalid-utf8-in-strings", test_rejects_invalid_utf8_in_strings },
    { "limits-depth-when-encoding", test_limits_depth_when_encoding },
    { "boxes-and-justs-cost-no-depth", test_boxes_and_justs_cost_no_depth },
    { "limits-depth-when-decoding", test_limits_depth_when_decoding },
    { "rejects-every-truncation", test_rejects_every_truncation },
    { "rejects-bytes-after-the-end", test_rejects_bytes_after_the_end },
    { "survives-random-bytes", test_survives_random_bytes },
    { "survives-mutated-encodings", test_survives_mutated_encodings },
    { "keeps-working-after-errors", test_keeps_working_after_errors },
    { "appends-after-existing-bytes", test_appends_after_existing_bytes },
    { "instances-are-independent", test_instances_are_independent },
    { "msgpack-emits-the-smallest-formats", test_msgpack_emits_the_smallest_formats },
    { "msgpack-decodes-every-format", test_msgpack_decodes_every_format },
    { "msgpack-refuses-hostile-input-without-allocating",
      test_msgpack_refuses_hostile_input_without_allocating },
    { "msgpack-limits-depth-exactly", test_msgpack_limits_depth_exactly },
    { "msgpack-agrees-with-python-msgpack", test_msgpack_agrees_with_python_msgpack },
    { "json-emits-the-documented-text", test_json_emits_the_documented_text },
    { "json-refuses-what-it-cannot-carry", test_json_refuses_what_it_cannot_carry },
    { "json-decodes-every-accepted-form", test_json_decodes_every_accepted_form },
    { "json-refuses-hostile-input", test_json_refuses_hostile_input },
    { "json-limits-depth-exactly", test_json_limits_depth_exactly },
  };
  g_autofree char *load_path = g_strdup_printf ("/codec/%s/loads-as-a-codec-plugin", name);

  c->name = g_strdup (name);
  for (guint i = 0; i < G_N_ELEMENTS (known_codecs); i++)
    if (strcmp (known_codecs[i].name, name) == 0)
      c->facts = &known_codecs[i];
  c->plugin = gossip_plugin_load (GOSSIP_PLUGIN_KIND_CODEC, name, NULL, &error);
  if (c->plugin == NULL)
    c->load_error = g_strdup (error->message);
  else
    c->vtable = gossip_plugin_get_vtable (c->plugin);
  g_ptr_array_add (codecs, c);

  g_test_add_data_func (load_path, c, test_loads_as_a_codec_plugin);
  if (c->plugin == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/codec/%s/%s", name, cases[i].name);

      g_test_add_data_func (path, c, cases[i].func);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) codecs = g_ptr_array_new_with_free_func (codec_under_test_free);
  const char *names = g_getenv ("GOSSIP_TEST_CODECS");
  g_auto (GStrv) tokens = NULL;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/codec/coerce/converts-what-the-mapping-widened",
                   test_coerce_converts_what_the_mapping_widened);
  g_test_add_func ("/codec/coerce/reports-what-does-not-fit",
                   test_coerce_reports_what_does_not_fit);
  g_test_add_func ("/codec/coerce/handles-references", test_coerce_handles_references);
  g_test_add_func ("/codec/cross/msgpack-and-mpack-agree", test_msgpack_and_mpack_agree);
  g_test_add_func ("/codec/builder/builds-the-decoded-types",
                   test_builder_builds_the_decoded_types);
  tokens = g_strsplit_set (names ? names : GOSSIP_TEST_DEFAULT_CODECS, " ,", -1);
  for (guint i = 0; tokens[i] != NULL; i++)
    if (tokens[i][0] != '\0')
      add_codec_tests (codecs, tokens[i]);
  return g_test_run ();
}
