/* test-matrix.c: every codec x compressor x cipher together (issue 6).
 *
 *  /matrix/pipeline/CODEC/COMPRESSOR/CIPHER/protocol-messages
 *  /matrix/pipeline/CODEC/COMPRESSOR/CIPHER/user-payloads
 *      frames through two GossipPipelines (sender, receiver) decode to what
 *      was sent, after gossip_variant_coerce() (docs/CODEC-MAPPING.md)
 *  /matrix/cluster/CODEC/COMPRESSOR/CIPHER
 *      5 nodes on loopback sockets converge; every codec and every cipher
 *      has one, and the compressors take turns
 *  /matrix/mismatch/...
 *      a node with other plugins fails to join with
 *      GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH saying what differs, through
 *      the notices of docs/PROTOCOL.md; notices are rate-limited, sent only
 *      on the reliable path, and a stray one changes nothing
 *
 * The plugins come from GOSSIP_TEST_CODECS, GOSSIP_TEST_COMPRESSORS and
 * GOSSIP_TEST_CIPHERS (space or comma separated), by default those built
 * here; "none" is always added for compressor and cipher.
 */
#include "config.h"

#include <string.h>

#include "cluster-harness.h"
#include "gossip-messages.h"

#ifndef GOSSIP_TEST_DEFAULT_CODECS
#define GOSSIP_TEST_DEFAULT_CODECS "msgpack"
#endif
#ifndef GOSSIP_TEST_DEFAULT_COMPRESSORS
#define GOSSIP_TEST_DEFAULT_COMPRESSORS ""
#endif
#ifndef GOSSIP_TEST_DEFAULT_CIPHERS
#define GOSSIP_TEST_DEFAULT_CIPHERS ""
#endif

#define SEC       G_USEC_PER_SEC
#define MAX_FRAME (256 * 1024)
#define JSON_ID   2

/* Two 32-byte keys: both ciphers take them. */
#define KEY_A "q1fM3Jb0cGx4Tn9oN3N0x1fM3Jb0cGx4Tn9oN3N0xw8="
#define KEY_B "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

#define FAST                                                                                       \
  "health", "profile", "local", "health", "probe_interval", "300ms", "health", "probe_timeout",    \
      "100ms", "gossip", "interval", "50ms", "health", "reconnect_interval", "500ms",              \
      "compression", "min_size", "64"

typedef struct
{
  char *codec;
  char *compressor; /* "none" for none */
  char *cipher;     /* "none" for none */
} Triple;

static GPtrArray *codecs, *compressors, *ciphers; /* char *, "none" first where allowed */

static gboolean
is_none (const char *name)
{
  return g_strcmp0 (name, "none") == 0;
}

static gconstpointer
load (GossipPluginKind kind, const char *name)
{
  g_autoptr (GError) error = NULL;
  GossipPlugin *plugin;

  if (is_none (name))
    return NULL;
  plugin = gossip_plugin_load (kind, name, NULL, &error);
  g_assert_no_error (error);
  return gossip_plugin_get_vtable (plugin);
}

static GossipPipeline *
make_pipeline (const Triple *t)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipKeyring) ring = NULL;
  const GossipCipherVTable *cipher = load (GOSSIP_PLUGIN_KIND_CIPHER, t->cipher);
  GossipPipeline *p;

  if (cipher != NULL)
    {
      ring = gossip_keyring_new (cipher);
      g_assert_true (gossip_keyring_add_key_base64 (ring, KEY_A, TRUE, &error));
      g_assert_no_error (error);
    }
  /* compress_min_size 0: the compressor runs on every message. */
  p = gossip_pipeline_new (load (GOSSIP_PLUGIN_KIND_CODEC, t->codec),
                           load (GOSSIP_PLUGIN_KIND_COMPRESSOR, t->compressor),
                           GOSSIP_COMPRESSOR_LEVEL_DEFAULT, ring, 0, MAX_FRAME, &error);
  g_assert_no_error (error);
  return p;
}

/* ------------------------------------------------------------ equality */

/* @decoded turned back into the type of @original, inside v boxes too:
 * gossip_variant_coerce() keeps a box's widened content (an int64 where a
 * uint16 was sent), but here the sent value says what each box held. */
static GVariant *
coerce_like (GVariant *decoded, GVariant *original, GError **error)
{
  const GVariantType *type = g_variant_get_type (original);
  g_autoptr (GVariant) shaped = NULL;
  g_autoptr (GPtrArray) children = NULL;
  gsize n;

  if (g_variant_is_of_type (original, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr (GVariant) inner_original = g_variant_get_variant (original);
      g_autoptr (GVariant) inner_decoded = g_variant_is_of_type (decoded, G_VARIANT_TYPE_VARIANT)
                                               ? g_variant_get_variant (decoded)
                                               : g_variant_ref (decoded);
      g_autoptr (GVariant) inner = coerce_like (inner_decoded, inner_original, error);

      return inner ? g_variant_ref_sink (g_variant_new_variant (inner)) : NULL;
    }
  shaped = gossip_variant_coerce (decoded, type, error);
  if (shaped == NULL || strchr (g_variant_get_type_string (original), 'v') == NULL)
    return g_steal_pointer (&shaped);

  /* A container with boxes inside: its shape is right, now each child. */
  n = g_variant_n_children (original);
  if (g_variant_n_children (shaped) != n)
    {
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TYPE,
                   "%" G_GSIZE_FORMAT " children where %" G_GSIZE_FORMAT " were sent",
                   g_variant_n_children (shaped), n);
      return NULL;
    }
  children = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) d = g_variant_get_child_value (shaped, i);
      g_autoptr (GVariant) o = g_variant_get_child_value (original, i);
      GVariant *child = coerce_like (d, o, error);

      if (child == NULL)
        return NULL;
      g_ptr_array_add (children, child);
    }
  if (g_variant_type_is_array (type))
    return g_variant_ref_sink (g_variant_new_array (g_variant_type_element (type),
                                                    (GVariant **) children->pdata, children->len));
  if (g_variant_type_is_maybe (type))
    return g_variant_ref_sink (
        g_variant_new_maybe (g_variant_type_element (type), n ? children->pdata[0] : NULL));
  if (g_variant_type_is_dict_entry (type))
    return g_variant_ref_sink (g_variant_new_dict_entry (children->pdata[0], children->pdata[1]));
  return g_variant_ref_sink (g_variant_new_tuple ((GVariant **) children->pdata, children->len));
}

/* Encodes @message with @send, decodes it with @recv, and checks the frame
 * header and that what arrives is what was sent.  Returns the frame. */
static GBytes *
assert_round_trip (GossipPipeline *send, GossipPipeline *recv, const Triple *t, GVariant *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame = gossip_pipeline_encode (send, message, &error);
  g_autoptr (GVariant) decoded = NULL;
  g_autoptr (GVariant) back = NULL;
  const GossipCodecVTable *codec = load (GOSSIP_PLUGIN_KIND_CODEC, t->codec);
  const GossipCipherVTable *cipher = load (GOSSIP_PLUGIN_KIND_CIPHER, t->cipher);
  gsize len;
  const guint8 *data;

  g_assert_no_error (error);
  data = g_bytes_get_data (frame, &len);
  g_assert_cmpuint (data[3], ==, codec->wire_id);
  g_assert_cmpuint (data[5], ==, cipher ? cipher->wire_id : 0);
  g_assert_cmpuint (!!(data[2] & GOSSIP_FRAME_FLAG_ENCRYPTED), ==, cipher != NULL);
  decoded = gossip_pipeline_decode (recv, data, len, &error);
  g_assert_no_error (error);
  back = coerce_like (decoded, message, &error);
  g_assert_no_error (error);
  if (!g_variant_equal (back, message))
    {
      g_autofree char *sent = g_variant_print (message, TRUE);
      g_autofree char *got = g_variant_print (back, TRUE);

      g_test_fail_printf ("%s/%s/%s: sent %s, got back %s", t->codec, t->compressor, t->cipher,
                          sent, got);
    }
  return g_steal_pointer (&frame);
}

/* ------------------------------------------------------------ pipeline */

static GVariant *
pending_update (GossipMsgType type, const char *node, guint64 incarnation)
{
  GossipUpdate u = { 0 };

  u.type = type;
  u.node = node;
  u.incarnation = incarnation;
  u.address = "10.0.0.7:7946";
  u.protocol_version = 1;
  u.app_version = "app 2.1";
  u.from = type == GOSSIP_MSG_SUSPECT || type == GOSSIP_MSG_DEAD ? "node-accuser" : NULL;
  return _gossip_msg_update (&u);
}

/* Every message the protocol sends (docs/PROTOCOL.md §2), built by the
 * core's own builders.  The largest incarnation JSON carries is 2^53. */
static GPtrArray *
protocol_messages (gboolean json)
{
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  GVariantBuilder members;
  g_autoptr (GPtrArray) piggyback
      = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr (GVariant) ping = NULL;
  const char *id = "0192f3c4-5b6a-7c8d-9e0f-a1b2c3d4e5f6";

  g_variant_builder_init (&members, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *node = g_strdup_printf ("node-%03u", i);
      g_autofree char *address = g_strdup_printf ("10.0.%u.%u:7946", i / 8, i % 8);
      GossipUpdate r = { 0 };

      r.node = node;
      r.address = address;
      r.incarnation = (guint64) i * 1000003;
      r.state = 1 + i % 4;
      r.protocol_version = 1;
      r.app_version = i % 2 ? "v1.2.3" : NULL;
      g_variant_builder_add (&members, "v", _gossip_msg_record (&r));
    }
  ping = g_variant_ref_sink (_gossip_msg_ping (1, id, "10.0.0.1:7946", 3, NULL));
  g_ptr_array_add (piggyback, g_variant_ref_sink (pending_update (GOSSIP_MSG_SUSPECT, "b", 9)));
  g_ptr_array_add (piggyback, g_variant_ref_sink (pending_update (GOSSIP_MSG_ALIVE, "c", 1)));

  g_ptr_array_add (all, g_variant_ref (ping));
  g_ptr_array_add (all, _gossip_msg_ping (G_MAXUINT32 + (guint64) 5, id, "[::1]:7946",
                                          json ? G_GUINT64_CONSTANT (1) << 53 : G_MAXUINT64,
                                          "node-target"));
  g_ptr_array_add (all, _gossip_msg_ack (GOSSIP_MSG_ACK, 2, id, "0123456789abcdef"));
  g_ptr_array_add (all, _gossip_msg_ack (GOSSIP_MSG_NACK, 3, id, NULL));
  g_ptr_array_add (all, _gossip_msg_ping_req (4, id, "10.0.0.1:7946", "node-x", "10.0.0.9:7946"));
  g_ptr_array_add (all, pending_update (GOSSIP_MSG_ALIVE, "node-a", 0));
  g_ptr_array_add (all, pending_update (GOSSIP_MSG_SUSPECT, "node-a", 17));
  g_ptr_array_add (all, pending_update (GOSSIP_MSG_DEAD, "node-a", 18));
  g_ptr_array_add (all, pending_update (GOSSIP_MSG_LEAVE, "node-a", 19));
  g_ptr_array_add (all, _gossip_msg_push_pull (GOSSIP_MSG_PUSH_PULL, 5, id, "10.0.0.1:7946", TRUE,
                                               1, "app 2.1", g_variant_builder_end (&members)));
  g_ptr_array_add (
      all, _gossip_msg_push_pull (GOSSIP_MSG_PUSH_PULL_REPLY, 6, id, "10.0.0.1:7946", FALSE, 1,
                                  NULL, g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0)));
  g_ptr_array_add (all, _gossip_msg_refuse (7, id, GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH,
                                            "application version \"2.0\" refused: need ≥ 2.1"));
  g_ptr_array_add (all, _gossip_msg_gossip (id));
  g_ptr_array_add (all, _gossip_msg_with_piggyback (ping, piggyback));
  for (guint i = 0; i < all->len; i++)
    g_variant_take_ref (all->pdata[i]);
  return all;
}

static void
test_protocol_messages (gconstpointer data)
{
  const Triple *t = data;
  g_autoptr (GossipPipeline) send = make_pipeline (t);
  g_autoptr (GossipPipeline) recv = make_pipeline (t);
  const GossipCodecVTable *codec = load (GOSSIP_PLUGIN_KIND_CODEC, t->codec);
  g_autoptr (GPtrArray) messages = protocol_messages (codec->wire_id == JSON_ID);

  for (guint i = 0; i < messages->len; i++)
    {
      GVariant *message = messages->pdata[i];
      g_autoptr (GBytes) frame = assert_round_trip (send, recv, t, message);
      g_autoptr (GVariant) decoded = gossip_pipeline_decode (recv, g_bytes_get_data (frame, NULL),
                                                             g_bytes_get_size (frame), NULL);
      g_autoptr (GError) error = NULL;
      g_auto (GossipMsg) msg = { 0 };
      g_auto (GossipMsg) want = { 0 };

      /* And the receiver's parser takes it as the sender's would. */
      g_assert_true (_gossip_msg_parse (message, &want, &error));
      g_assert_true (_gossip_msg_parse (decoded, &msg, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (msg.type, ==, want.type);
      g_assert_cmpuint (msg.seq, ==, want.seq);
      g_assert_cmpstr (msg.from, ==, want.from);
      g_assert_cmpuint (msg.members ? g_variant_n_children (msg.members) : 0, ==,
                        want.members ? g_variant_n_children (want.members) : 0);
      g_assert_cmpuint (msg.piggyback ? g_variant_n_children (msg.piggyback) : 0, ==,
                        want.piggyback ? g_variant_n_children (want.piggyback) : 0);
    }
  g_assert_cmpuint (gossip_pipeline_get_rejected_total (recv), ==, 0);
}

static GVariant *
entry (const char *key, GVariant *value)
{
  return g_variant_new_dict_entry (g_variant_new_string (key), g_variant_new_variant (value));
}

static GVariant *
nested_arrays (guint depth)
{
  GVariant *v = g_variant_new_string ("bottom");

  for (guint i = 0; i < depth; i++)
    v = g_variant_new_array (G_VARIANT_TYPE_VARIANT, (GVariant *[]){ g_variant_new_variant (v) },
                             1);
  return v;
}

/* An application payload with every scalar type, containers of every kind,
 * empty ones, and binary data.  JSON carries integers up to 2^53 only, so
 * the extremes are kept within that for it. */
static GVariant *
every_type (gboolean json)
{
  static const gint32 ints[] = { 1, -2, G_MAXINT32, G_MININT32 };
  static const gdouble doubles[] = { 0.5, -1.25, 1e300, 5e-324 };
  static const guint8 bools[] = { TRUE, FALSE, TRUE };
  static const guint64 uints[] = { 0, 1, G_MAXUINT32 + (guint64) 1 };
  guint8 bytes[256];
  GVariant *a[32];
  guint n = 0;
  GVariantDict inner;

  for (guint i = 0; i < 256; i++)
    bytes[i] = (guint8) i;
  g_variant_dict_init (&inner, NULL);
  g_variant_dict_insert (&inner, "list", "av", NULL);
  g_variant_dict_insert_value (&inner, "bytes",
                               g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, NULL, 0, 1));
  g_variant_dict_insert_value (&inner, "map",
                               g_variant_new_parsed ("{'k': <{'deeper': <[<1>, <'two'>]>}>}"));

  a[n++] = entry ("b-true", g_variant_new_boolean (TRUE));
  a[n++] = entry ("b-false", g_variant_new_boolean (FALSE));
  a[n++] = entry ("y", g_variant_new_byte (255));
  a[n++] = entry ("n", g_variant_new_int16 (G_MININT16));
  a[n++] = entry ("q", g_variant_new_uint16 (G_MAXUINT16));
  a[n++] = entry ("i", g_variant_new_int32 (G_MININT32));
  a[n++] = entry ("u", g_variant_new_uint32 (G_MAXUINT32));
  a[n++] = entry ("x", g_variant_new_int64 (json ? -(G_GINT64_CONSTANT (1) << 53) : G_MININT64));
  a[n++] = entry ("t", g_variant_new_uint64 (json ? G_GUINT64_CONSTANT (1) << 53 : G_MAXUINT64));
  a[n++] = entry ("h", g_variant_new_handle (3));
  a[n++] = entry ("d", g_variant_new_double (3.141592653589793));
  a[n++] = entry ("d-whole", g_variant_new_double (1e21));
  a[n++] = entry ("s", g_variant_new_string ("h\xc3\xa9llo \"q\" \\ /\n\t\x01 \xe2\x9c\x93 "
                                             "\xf0\x9f\x98\x80"));
  a[n++] = entry ("s-empty", g_variant_new_string (""));
  a[n++] = entry ("o", g_variant_new_object_path ("/org/gossip/Node1"));
  a[n++] = entry ("g", g_variant_new_signature ("a{sv}(ii)"));
  a[n++] = entry ("ay", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes, 256, 1));
  a[n++] = entry ("ai", g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, ints, 4, 4));
  a[n++] = entry ("ad", g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, doubles, 4, 8));
  a[n++] = entry ("ab", g_variant_new_fixed_array (G_VARIANT_TYPE_BOOLEAN, bools, 3, 1));
  a[n++] = entry ("at", g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, uints, 3, 8));
  a[n++] = entry ("as", g_variant_new_parsed ("['one', '', 'three']"));
  a[n++] = entry ("a{ii}", g_variant_new_parsed ("{1: -1, -3: 4, 70000: 0}"));
  a[n++] = entry ("a{ss}", g_variant_new_parsed ("{'k': 'v', '$map': '$b64'}"));
  a[n++] = entry ("tuple", g_variant_new_parsed ("('s', int32 -7, [true], @ay [1, 2])"));
  a[n++] = entry ("maybe-just", g_variant_new_parsed ("@ms 'x'"));
  a[n++] = entry ("maybe-nothing", g_variant_new_parsed ("@ms nothing"));
  a[n++] = entry ("empty-av", g_variant_new_parsed ("@av []"));
  a[n++] = entry ("empty-map", g_variant_new_parsed ("@a{sv} {}"));
  a[n++] = entry ("nested", g_variant_dict_end (&inner));
  a[n++] = entry ("deep", nested_arrays (GOSSIP_CODEC_MAX_DEPTH - 2));
  g_assert_cmpuint (n, <=, G_N_ELEMENTS (a));
  return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), a, n));
}

/* About 60 KiB: half text with repeated structure, half random bytes, and
 * an array of small maps. */
static GVariant *
large_payload (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (60);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autofree guint8 *blob = g_malloc (24 * 1024);
  GVariantBuilder records;
  GVariant *a[3];

  for (guint i = 0; text->len < 24 * 1024; i++)
    g_string_append_printf (text, "svc=api-%u;node=web-%03u.dc1;port=%u;state=up;\n", i % 4,
                            g_rand_int_range (rand, 0, 1000),
                            8000 + g_rand_int_range (rand, 0, 100));
  for (guint i = 0; i < 24 * 1024; i++)
    blob[i] = (guint8) g_rand_int (rand);
  g_variant_builder_init (&records, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < 200; i++)
    g_variant_builder_add_parsed (&records, "{'id': <%u>, 'up': <%b>}", i, i % 3 != 0);
  a[0] = entry ("text", g_variant_new_string (text->str));
  a[1] = entry ("blob", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, blob, 24 * 1024, 1));
  a[2] = entry ("records", g_variant_builder_end (&records));
  return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), a, 3));
}

static void
test_user_payloads (gconstpointer data)
{
  const Triple *t = data;
  const GossipCodecVTable *codec = load (GOSSIP_PLUGIN_KIND_CODEC, t->codec);
  gboolean json = codec->wire_id == JSON_ID;
  g_autoptr (GossipPipeline) send = make_pipeline (t);
  g_autoptr (GossipPipeline) recv = make_pipeline (t);
  g_autoptr (GVariant) all = every_type (json);
  g_autoptr (GVariant) empty = g_variant_ref_sink (g_variant_new_parsed ("@a{sv} {}"));
  g_autoptr (GVariant) large = large_payload ();
  g_autoptr (GBytes) all_frame = assert_round_trip (send, recv, t, all);
  g_autoptr (GBytes) empty_frame = assert_round_trip (send, recv, t, empty);
  g_autoptr (GBytes) large_frame = assert_round_trip (send, recv, t, large);
  const guint8 *bytes;
  gsize len;

  bytes = g_bytes_get_data (large_frame, &len);
  g_assert_cmpuint (g_variant_get_size (large), >, 50 * 1024);
  /* The text shrinks with any compressor; the cipher hides it. */
  g_assert_cmpuint (!!(bytes[2] & GOSSIP_FRAME_FLAG_COMPRESSED), ==, !is_none (t->compressor));
  if (!is_none (t->cipher))
    g_assert_null (memmem (bytes, len, "state=up;", 9));
  else if (is_none (t->compressor))
    g_assert_nonnull (memmem (bytes, len, "state=up;", 9));

  /* What a codec cannot carry is an error for the sender, not a change. */
  if (json)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) big = g_variant_ref_sink (
          g_variant_new_parsed ("{'t': <uint64 %t>}", (G_GUINT64_CONSTANT (1) << 53) + 1));

      g_assert_null (gossip_pipeline_encode (send, big, &error));
      g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_ENCODE_FAILED);
    }
  g_assert_cmpuint (gossip_pipeline_get_rejected_total (recv), ==, 0);
}

/* ------------------------------------------------------------ clusters */

/* Group, key, value triples for a triple's plugins, then @extra (NULL-
 * terminated), in an array that must outlive the harness using it. */
static GPtrArray *
settings_for (const Triple *t, const char *const *extra)
{
  static const char *const fast[] = { FAST, NULL };
  GPtrArray *s = g_ptr_array_new ();
  const char *const *lists[] = { fast, extra };

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint i = 0; lists[l] != NULL && lists[l][i] != NULL; i++)
      g_ptr_array_add (s, (gpointer) lists[l][i]);
  g_ptr_array_add (s, "plugins");
  g_ptr_array_add (s, "codec");
  g_ptr_array_add (s, t->codec);
  g_ptr_array_add (s, "plugins");
  g_ptr_array_add (s, "compressor");
  g_ptr_array_add (s, is_none (t->compressor) ? "" : t->compressor);
  g_ptr_array_add (s, "plugins");
  g_ptr_array_add (s, "cipher");
  g_ptr_array_add (s, is_none (t->cipher) ? "" : t->cipher);
  g_ptr_array_add (s, "security");
  g_ptr_array_add (s, "key");
  g_ptr_array_add (s, is_none (t->cipher) ? "" : KEY_A);
  g_ptr_array_add (s, NULL);
  return s;
}

static void
test_cluster (gconstpointer data)
{
  const Triple *t = data;
  g_autoptr (GPtrArray) settings = settings_for (t, NULL);
  g_autoptr (Harness) h = harness_new (5, FALSE, (const char *const *) settings->pdata);

  harness_join_all_to (h, 0);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (5), 10 * SEC))
    {
      harness_dump (h);
      g_test_fail_printf ("%s/%s/%s: 5 nodes did not converge in 10 s", t->codec, t->compressor,
                          t->cipher);
      return;
    }
  for (guint i = 0; i < 5; i++)
    {
      GossipCluster *c = harness_node (h, i);

      g_assert_cmpuint (gossip_cluster_get_counter (c, "frames-in"), >, 0);
      g_assert_cmpuint (gossip_cluster_get_counter (c, "dropped-frame"), ==, 0);
      g_assert_cmpuint (gossip_cluster_get_counter (c, "notices-sent"), ==, 0);
    }
}

/* ------------------------------------------------------------ mismatches */

/* Starts a seed with @seed's plugins and a joiner with @joiner's (or with
 * @joiner_extra on top of the seed's settings), joins, and returns the
 * harness with the join's outcome. */
typedef struct
{
  Harness *h;
  GPtrArray *settings;
  guint joined;
  GError *error;
} JoinOutcome;

static void
join_outcome_clear (JoinOutcome *o)
{
  g_clear_pointer (&o->h, harness_free);
  g_clear_pointer (&o->settings, g_ptr_array_unref);
  g_clear_error (&o->error);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JoinOutcome, join_outcome_clear)

static void
try_join (JoinOutcome *o, const Triple *seed, const char *const *joiner_extra)
{
  /* A timeout would be 10 s; a mismatch is reported long before. */
  static const char *const io[] = { "transport", "io_timeout", "10s", NULL };
  const char *via[] = { NULL, NULL };

  o->settings = settings_for (seed, io);
  o->h = harness_new (1, FALSE, (const char *const *) o->settings->pdata);
  g_ptr_array_set_size (o->h->nodes, 2);
  harness_start_node (o->h, 1, joiner_extra);
  via[0] = harness_address (o->h, 0);
  o->joined = harness_join (o->h, 1, via, &o->error);
}

static void
assert_refused_with (JoinOutcome *o, const char *says)
{
  g_autofree char *want = g_strdup_printf ("peer %s %s", harness_address (o->h, 0), says);
  GossipCluster *seed = harness_node (o->h, 0);
  GossipCluster *joiner = harness_node (o->h, 1);

  g_assert_cmpuint (o->joined, ==, 0);
  g_assert_error (o->error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH);
  if (!g_str_has_prefix (o->error->message, want))
    g_test_fail_printf ("message \"%s\" does not start \"%s\"", o->error->message, want);
  g_assert_cmpuint (gossip_cluster_get_counter (seed, "notices-sent"), ==, 1);
  g_assert_cmpuint (gossip_cluster_get_counter (joiner, "frame-rejected-notice"), ==, 1);
  /* Nobody joined anybody. */
  g_assert_cmpuint (gossip_cluster_get_n_alive (seed), ==, 1);
  g_assert_cmpuint (gossip_cluster_get_n_alive (joiner), ==, 1);
}

static const Triple msgpack_plain = { "msgpack", "none", "none" };
static const Triple msgpack_aes = { "msgpack", "none", "aes-gcm" };
static const Triple msgpack_snappy = { "msgpack", "snappy", "none" };
static const Triple json_plain = { "json", "none", "none" };

/* A seed, a joiner with settings on top of the seed's, and what the join
 * must fail with (NULL: it must succeed). */
typedef struct
{
  const char *path;
  const char *needs; /* plugins that must be built, space separated */
  const Triple *seed;
  const char *joiner[10];
  const char *says;
} MismatchCase;

static const MismatchCase mismatch_cases[] = {
  { "/matrix/mismatch/codec/json-joins-msgpack",
    "msgpack json",
    &msgpack_plain,
    { "plugins", "codec", "json" },
    "uses codec msgpack, this node json" },
  { "/matrix/mismatch/codec/msgpack-joins-json",
    "msgpack json",
    &json_plain,
    { "plugins", "codec", "msgpack" },
    "uses codec json, this node msgpack" },
  /* The same wire id means the same bytes: no mismatch at all. */
  { "/matrix/mismatch/codec/mpack-joins-msgpack-fine",
    "msgpack mpack",
    &msgpack_plain,
    { "plugins", "codec", "mpack" },
    NULL },
  { "/matrix/mismatch/cipher/chacha20-poly1305-joins-aes-gcm",
    "msgpack aes-gcm chacha20-poly1305",
    &msgpack_aes,
    { "plugins", "cipher", "chacha20-poly1305" },
    "uses cipher aes-gcm, this node chacha20-poly1305" },
  { "/matrix/mismatch/cipher/plaintext-joins-aes-gcm",
    "msgpack aes-gcm",
    &msgpack_aes,
    { "plugins", "cipher", "", "security", "key", "" },
    "uses cipher aes-gcm, this node none" },
  { "/matrix/mismatch/cipher/aes-gcm-joins-plaintext",
    "msgpack aes-gcm",
    &msgpack_plain,
    { "plugins", "cipher", "aes-gcm", "security", "key", KEY_A },
    "uses cipher none, this node aes-gcm" },
  { "/matrix/mismatch/key/unknown-key",
    "msgpack aes-gcm",
    &msgpack_aes,
    { "security", "key", KEY_B },
    "does not accept this node's key" },
  /* Compression is optional per frame, but a frame compressed with what
   * the peer does not have is refused: that too is said.  A long,
   * repetitive app_version makes the joiner's push-pull shrink. */
  { "/matrix/mismatch/compressor/zstd-joins-snappy",
    "msgpack snappy zstd",
    &msgpack_snappy,
    { "plugins", "compressor", "zstd", "compression", "min_size", "0", "cluster", "app_version",
      "v-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
    "uses compressor snappy, this node zstd" },
};

static void
test_mismatch (gconstpointer data)
{
  const MismatchCase *c = data;
  g_auto (JoinOutcome) o = { 0 };

  try_join (&o, c->seed, c->joiner);
  if (c->says != NULL)
    {
      assert_refused_with (&o, c->says);
      return;
    }
  g_assert_no_error (o.error);
  g_assert_cmpuint (o.joined, ==, 1);
  g_assert_true (harness_run_until (o.h, harness_converged, GUINT_TO_POINTER (2), 10 * SEC));
}

/* ------------------------------------------------------------ notices on the wire */

static GSocketConnection *
connect_to (Harness *h, guint i)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  GSocketConnection *connection
      = g_socket_client_connect_to_host (client, harness_address (h, i), 0, NULL, &error);

  g_assert_no_error (error);
  return connection;
}

static void
send_stream_frame (GSocketConnection *connection, GBytes *frame)
{
  g_autoptr (GError) error = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  gsize len = g_bytes_get_size (frame);
  guint8 prefix[4]
      = { (guint8) (len >> 24), (guint8) (len >> 16), (guint8) (len >> 8), (guint8) len };

  g_assert_true (g_output_stream_write_all (out, prefix, 4, NULL, NULL, &error));
  g_assert_true (
      g_output_stream_write_all (out, g_bytes_get_data (frame, NULL), len, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* A json-encoded ping: what a node with the json codec would send. */
static GBytes *
json_frame (void)
{
  static const Triple json = { "json", "none", "none" };
  g_autoptr (GossipPipeline) p = make_pipeline (&json);
  g_autoptr (GVariant) ping
      = g_variant_ref_sink (_gossip_msg_ping (1, "stranger", "127.0.0.1:1", 1, NULL));

  return gossip_pipeline_encode (p, ping, NULL);
}

typedef struct
{
  GossipCluster *cluster;
  const char *counter;
  guint64 at_least;
} CounterWait;

static gboolean
counter_reached (Harness *h, gpointer data)
{
  CounterWait *w = data;

  return gossip_cluster_get_counter (w->cluster, w->counter) >= w->at_least;
}

static gboolean
readable (Harness *h, gpointer data)
{
  return g_socket_condition_check (data, G_IO_IN) != 0;
}

/* Reads one length-prefixed frame from a socket that has data. */
static GBytes *
read_stream_frame (GSocketConnection *connection)
{
  g_autoptr (GError) error = NULL;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  guint8 prefix[4];
  guint32 len;
  guint8 *frame;

  g_assert_true (g_input_stream_read_all (in, prefix, 4, NULL, NULL, &error));
  len = ((guint32) prefix[0] << 24) | ((guint32) prefix[1] << 16) | ((guint32) prefix[2] << 8)
        | prefix[3];
  g_assert_cmpuint (len, <=, GOSSIP_FRAME_HEADER_SIZE + GOSSIP_FRAME_NOTICE_MAX_TEXT);
  frame = g_malloc (len);
  g_assert_true (g_input_stream_read_all (in, frame, len, NULL, NULL, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (frame, len);
}

/* Frames from a stranger with another codec: each gets a notice, up to the
 * rate limit; the rest are counted.  The notice is readable without any
 * plugin and names the node's plugins. */
static void
test_notices_are_rate_limited_and_name_the_plugins (void)
{
  g_autoptr (GPtrArray) settings = settings_for (&msgpack_aes, NULL);
  g_autoptr (Harness) h = harness_new (1, FALSE, (const char *const *) settings->pdata);
  g_autoptr (GSocketConnection) connection = connect_to (h, 0);
  g_autoptr (GBytes) frame = json_frame ();
  g_autoptr (GBytes) notice = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipPipeline) reader = make_pipeline (&json_plain);
  GossipCluster *seed = harness_node (h, 0);
  CounterWait all = { seed, "dropped-frame", 100 };
  guint64 sent, suppressed;

  for (guint i = 0; i < 100; i++)
    send_stream_frame (connection, frame);
  g_assert_true (harness_run_until (h, counter_reached, &all, 10 * SEC));
  sent = gossip_cluster_get_counter (seed, "notices-sent");
  suppressed = gossip_cluster_get_counter (seed, "notices-suppressed");
  g_assert_cmpuint (sent + suppressed, ==, 100);
  g_assert_cmpuint (sent, >=, 1);
  g_assert_cmpuint (suppressed, >, 0);

  g_assert_true (
      harness_run_until (h, readable, g_socket_connection_get_socket (connection), 5 * SEC));
  notice = read_stream_frame (connection);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (notice, NULL))[3], ==,
                    GOSSIP_FRAME_CODEC_NOTICE);
  g_assert_null (gossip_pipeline_decode (reader, g_bytes_get_data (notice, NULL),
                                         g_bytes_get_size (notice), &error));
  g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_NOTICE);
  g_assert_true (g_str_has_prefix (error->message,
                                   "reason=codec-mismatch codec=msgpack/1 compressor=none/0 "
                                   "cipher=aes-gcm/1 key="));
  g_assert_cmpuint (gossip_cluster_get_n_alive (seed), ==, 1);
}

/* A datagram's source address is whatever its sender wrote: no notice
 * goes back to it. */
static void
test_no_notice_for_datagrams (void)
{
  g_autoptr (GPtrArray) settings = settings_for (&msgpack_plain, NULL);
  g_autoptr (Harness) h = harness_new (1, FALSE, (const char *const *) settings->pdata);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) udp
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_autoptr (GSocketConnectable) target
      = g_network_address_parse (harness_address (h, 0), 0, &error);
  g_autoptr (GSocketAddressEnumerator) e = g_socket_connectable_enumerate (target);
  g_autoptr (GSocketAddress) address = g_socket_address_enumerator_next (e, NULL, &error);
  g_autoptr (GBytes) frame = json_frame ();
  CounterWait one = { harness_node (h, 0), "dropped-frame", 1 };

  g_assert_no_error (error);
  g_assert_cmpint (g_socket_send_to (udp, address, g_bytes_get_data (frame, NULL),
                                     g_bytes_get_size (frame), NULL, &error),
                   ==, (gssize) g_bytes_get_size (frame));
  g_assert_true (harness_run_until (h, counter_reached, &one, 10 * SEC));
  g_assert_cmpuint (
      gossip_cluster_get_counter (harness_node (h, 0), "frame-rejected-codec-mismatch"), ==, 1);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 0), "notices-sent"), ==, 0);
}

/* A notice nobody asked for is counted and changes nothing; it is never
 * answered with a notice. */
static void
test_stray_notice_changes_nothing (void)
{
  g_autoptr (GPtrArray) settings = settings_for (&msgpack_plain, NULL);
  g_autoptr (Harness) h = harness_new (2, FALSE, (const char *const *) settings->pdata);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GBytes) notice = gossip_frame_new_notice (
      "reason=codec-mismatch codec=evil/9 compressor=none/0 cipher=none/0 key=none");
  CounterWait one = { NULL, "frame-rejected-notice", 1 };

  harness_join_all_to (h, 0);
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (2), 10 * SEC));
  one.cluster = harness_node (h, 0);
  connection = connect_to (h, 0);
  send_stream_frame (connection, notice);
  g_assert_true (harness_run_until (h, counter_reached, &one, 10 * SEC));
  harness_run (h, SEC / 2);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 0), "notices-sent"), ==, 0);
  g_assert_true (harness_converged (h, GUINT_TO_POINTER (2)));
}

/* ------------------------------------------------------------ main */

static GPtrArray *
names_from (const char *variable, const char *fallback, gboolean with_none)
{
  const char *value = g_getenv (variable);
  g_auto (GStrv) tokens = g_strsplit_set (value ? value : fallback, " ,", -1);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  if (with_none)
    g_ptr_array_add (names, g_strdup ("none"));
  for (guint i = 0; tokens[i] != NULL; i++)
    if (tokens[i][0] != '\0' && !is_none (tokens[i]))
      g_ptr_array_add (names, g_strdup (tokens[i]));
  return names;
}

static gboolean
have (GPtrArray *names, const char *name)
{
  return g_ptr_array_find_with_equal_func (names, name, g_str_equal, NULL);
}

/* Whether every plugin in @needs (space separated, any kind) is tested. */
static gboolean
have_all (const char *needs)
{
  g_auto (GStrv) names = g_strsplit (needs, " ", -1);

  for (guint i = 0; names[i] != NULL; i++)
    if (!have (codecs, names[i]) && !have (compressors, names[i]) && !have (ciphers, names[i]))
      return FALSE;
  return TRUE;
}

static Triple *
triple_new (const char *codec, const char *compressor, const char *cipher)
{
  Triple *t = g_new0 (Triple, 1);

  t->codec = g_strdup (codec);
  t->compressor = g_strdup (compressor);
  t->cipher = g_strdup (cipher);
  return t;
}

static void
triple_free (gpointer data)
{
  Triple *t = data;

  g_free (t->codec);
  g_free (t->compressor);
  g_free (t->cipher);
  g_free (t);
}

static void
add_triple_test (GPtrArray *keep, const char *prefix, Triple *t, const char *suffix,
                 GTestDataFunc func)
{
  g_autofree char *path
      = g_strdup_printf ("/matrix/%s/%s/%s/%s%s%s", prefix, t->codec, t->compressor, t->cipher,
                         suffix ? "/" : "", suffix ? suffix : "");

  g_ptr_array_add (keep, t);
  g_test_add_data_func (path, t, func);
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) triples = g_ptr_array_new_with_free_func (triple_free);
  int status;

  g_test_init (&argc, &argv, NULL);
  codecs = names_from ("GOSSIP_TEST_CODECS", GOSSIP_TEST_DEFAULT_CODECS, FALSE);
  compressors = names_from ("GOSSIP_TEST_COMPRESSORS", GOSSIP_TEST_DEFAULT_COMPRESSORS, TRUE);
  ciphers = names_from ("GOSSIP_TEST_CIPHERS", GOSSIP_TEST_DEFAULT_CIPHERS, TRUE);

  for (guint c = 0; c < codecs->len; c++)
    for (guint z = 0; z < compressors->len; z++)
      for (guint e = 0; e < ciphers->len; e++)
        {
          const char *codec = codecs->pdata[c], *compressor = compressors->pdata[z],
                     *cipher = ciphers->pdata[e];

          add_triple_test (triples, "pipeline", triple_new (codec, compressor, cipher),
                           "protocol-messages", test_protocol_messages);
          add_triple_test (triples, "pipeline", triple_new (codec, compressor, cipher),
                           "user-payloads", test_user_payloads);
        }

  /* One cluster per codec and per cipher; the compressors take turns, so
   * each of them runs in a cluster too when there are enough clusters. */
  for (guint c = 0; c < codecs->len; c++)
    add_triple_test (
        triples, "cluster",
        triple_new (codecs->pdata[c], compressors->pdata[c % compressors->len], "none"), NULL,
        test_cluster);
  for (guint e = 1; e < ciphers->len; e++)
    add_triple_test (triples, "cluster",
                     triple_new (codecs->pdata[0],
                                 compressors->pdata[(codecs->len + e - 1) % compressors->len],
                                 ciphers->pdata[e]),
                     NULL, test_cluster);

  for (guint i = 0; i < G_N_ELEMENTS (mismatch_cases); i++)
    if (have_all (mismatch_cases[i].needs))
      g_test_add_data_func (mismatch_cases[i].path, &mismatch_cases[i], test_mismatch);
  if (have_all ("msgpack json"))
    {
      g_test_add_func ("/matrix/mismatch/notices-are-rate-limited-and-name-the-plugins",
                       test_notices_are_rate_limited_and_name_the_plugins);
      g_test_add_func ("/matrix/mismatch/no-notice-for-datagrams", test_no_notice_for_datagrams);
    }
  if (have_all ("msgpack"))
    g_test_add_func ("/matrix/mismatch/stray-notice-changes-nothing",
                     test_stray_notice_changes_nothing);

  status = g_test_run ();
  g_ptr_array_unref (codecs);
  g_ptr_array_unref (compressors);
  g_ptr_array_unref (ciphers);
  return status;
}
