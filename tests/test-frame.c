/* test-frame.c: the packet pipeline (codec, compressor, AEAD, frame header),
 * with the real plugins, including every way a frame can be rejected. */
#include "config.h"

#include <string.h>

#include "gossip/gossip.h"

static const GossipCodecVTable *codec;
static const GossipCompressorVTable *zlib_c;
static const GossipCipherVTable *aes;

#define MAX_FRAME (1024 * 1024)

static const guint8 key1[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const guint8 key2[16] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };

static gconstpointer
load (GossipPluginKind kind, const char *name)
{
  g_autoptr (GError) error = NULL;
  GossipPlugin *plugin = gossip_plugin_load (kind, name, NULL, &error);

  g_assert_no_error (error);
  return gossip_plugin_get_vtable (plugin);
}

static GossipKeyring *
ring_with (const guint8 *key, gsize len)
{
  g_autoptr (GError) error = NULL;
  GossipKeyring *ring = gossip_keyring_new (aes);

  g_assert_true (gossip_keyring_add_key (ring, key, len, TRUE, &error));
  g_assert_no_error (error);
  return ring;
}

static GossipPipeline *
pipeline (gboolean compress, GossipKeyring *ring, gsize min_size)
{
  g_autoptr (GError) error = NULL;
  GossipPipeline *p
      = gossip_pipeline_new (codec, compress ? zlib_c : NULL, GOSSIP_COMPRESSOR_LEVEL_DEFAULT, ring,
                             min_size, MAX_FRAME, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  return p;
}

/* A protocol-like message: a map with short keys and a payload. */
static GVariant *
message (gsize payload_len, gboolean compressible)
{
  g_autofree guint8 *payload = g_malloc (payload_len ? payload_len : 1);
  GVariantDict dict;
  GRand *rand = g_rand_new_with_seed (42);

  for (gsize i = 0; i < payload_len; i++)
    payload[i] = compressible ? (guint8) (i % 7) : (guint8) g_rand_int (rand);
  g_rand_free (rand);
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "t", "x", (gint64) 7);
  g_variant_dict_insert (&dict, "f", "s", "node-a");
  g_variant_dict_insert_value (
      &dict, "p", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, payload, payload_len, 1));
  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

static void
assert_round_trip (GossipPipeline *send, GossipPipeline *recv, GVariant *msg, guint8 want_flags)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame = gossip_pipeline_encode (send, msg, &error);
  g_autoptr (GVariant) back = NULL;
  gsize len;
  const guint8 *data;

  g_assert_no_error (error);
  data = g_bytes_get_data (frame, &len);
  g_assert_cmpuint (data[0], ==, GOSSIP_FRAME_MAGIC);
  g_assert_cmpuint (data[1], ==, GOSSIP_FRAME_VERSION);
  g_assert_cmpuint (data[2], ==, want_flags);
  back = gossip_pipeline_decode (recv, data, len, &error);
  g_assert_no_error (error);
  {
    g_autoptr (GVariant) p1 = g_variant_lookup_value (back, "p", G_VARIANT_TYPE_BYTESTRING);
    g_autoptr (GVariant) p0 = g_variant_lookup_value (msg, "p", G_VARIANT_TYPE_BYTESTRING);
    g_autoptr (GVariant) f = g_variant_lookup_value (back, "f", G_VARIANT_TYPE_STRING);
    g_assert_nonnull (p1);
    g_assert_true (g_variant_equal (p0, p1));
    g_assert_cmpstr (g_variant_get_string (f, NULL), ==, "node-a");
  }
}

static void
test_plain_frame_round_trips (void)
{
  g_autoptr (GossipPipeline) p = pipeline (FALSE, NULL, 0);
  g_autoptr (GVariant) msg = message (100, TRUE);

  assert_round_trip (p, p, msg, 0);
  g_assert_cmpuint (gossip_pipeline_get_overhead (p), ==, GOSSIP_FRAME_HEADER_SIZE);
}

static void
test_compresses_only_large_and_shrinking_encodings (void)
{
  g_autoptr (GossipPipeline) p = pipeline (TRUE, NULL, 512);
  g_autoptr (GVariant) small = message (100, TRUE);
  g_autoptr (GVariant) large = message (4096, TRUE);
  g_autoptr (GVariant) noise = message (4096, FALSE);

  assert_round_trip (p, p, small, 0);
  assert_round_trip (p, p, large, GOSSIP_FRAME_FLAG_COMPRESSED);
  assert_round_trip (p, p, noise, 0);
}

static void
test_encrypted_frame_round_trips_and_hides_the_payload (void)
{
  g_autoptr (GossipKeyring) ring = ring_with (key1, 32);
  g_autoptr (GossipPipeline) p = pipeline (TRUE, ring, 512);
  g_autoptr (GVariant) msg = message (100, TRUE);
  g_autoptr (GVariant) big = message (8192, TRUE);
  g_autoptr (GBytes) frame = gossip_pipeline_encode (p, msg, NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);

  assert_round_trip (p, p, msg, GOSSIP_FRAME_FLAG_ENCRYPTED);
  assert_round_trip (p, p, big, GOSSIP_FRAME_FLAG_ENCRYPTED | GOSSIP_FRAME_FLAG_COMPRESSED);
  g_assert_null (memmem (data, len, "node-a", 6));
  g_assert_cmpuint (gossip_pipeline_get_overhead (p), ==,
                    GOSSIP_FRAME_HEADER_SIZE + aes->nonce_size + aes->tag_size);
}

static GBytes *
encrypted_frame (GossipPipeline *p)
{
  g_autoptr (GVariant) msg = message (64, TRUE);
  return gossip_pipeline_encode (p, msg, NULL);
}

static void
test_every_bit_flip_of_an_encrypted_frame_is_rejected (void)
{
  g_autoptr (GossipKeyring) ring = ring_with (key1, 32);
  g_autoptr (GossipPipeline) p = pipeline (FALSE, ring, 0);
  g_autoptr (GBytes) frame = encrypted_frame (p);
  gsize len;
  const guint8 *orig = g_bytes_get_data (frame, &len);
  g_autofree guint8 *copy = g_memdup2 (orig, len);
  guint64 rejected = 0;

  for (gsize bit = 0; bit < len * 8; bit++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) v = NULL;

      copy[bit / 8] ^= (guint8) (1u << (bit % 8));
      v = gossip_pipeline_decode (p, copy, len, &error);
      g_assert_null (v);
      g_assert_true (error != NULL && error->domain == GOSSIP_FRAME_ERROR);
      rejected++;
      copy[bit / 8] ^= (guint8) (1u << (bit % 8));
    }
  g_assert_cmpuint (gossip_pipeline_get_rejected_total (p), ==, rejected);
  /* Flipping header bits that the parser accepts must still fail: the
   * header is authenticated. */
  g_assert_cmpuint (gossip_pipeline_get_rejected (p, GOSSIP_FRAME_ERROR_AUTH_FAILED), >,
                    (len - GOSSIP_FRAME_HEADER_SIZE) * 8 - 1);
}

static void
test_header_flag_flip_is_caught_by_authentication (void)
{
  /* The failure we replace: a flipped "compressed" bit outside the AEAD made
   * receivers decompress plaintext.  Here it must fail authentication. */
  g_autoptr (GossipKeyring) ring = ring_with (key1, 32);
  g_autoptr (GossipPipeline) p = pipeline (TRUE, ring, 100000);
  g_autoptr (GBytes) frame = encrypted_frame (p);
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);
  g_autofree guint8 *copy = g_memdup2 (data, len);
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (copy[2] & GOSSIP_FRAME_FLAG_COMPRESSED, ==, 0);
  copy[2] |= GOSSIP_FRAME_FLAG_COMPRESSED;
  g_assert_null (gossip_pipeline_decode (p, copy, len, &error));
  g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_AUTH_FAILED);
}

static void
test_every_truncation_is_rejected (void)
{
  g_autoptr (GossipKeyring) ring = ring_with (key1, 32);
  g_autoptr (GossipPipeline) p = pipeline (FALSE, ring, 0);
  g_autoptr (GBytes) frame = encrypted_frame (p);
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);

  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (gossip_pipeline_decode (p, data, cut, &error));
      g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_TRUNCATED);
    }
  g_assert_cmpuint (gossip_pipeline_get_rejected (p, GOSSIP_FRAME_ERROR_TRUNCATED), ==, len);
}

static void
test_trailing_bytes_are_rejected (void)
{
  g_autoptr (GossipPipeline) p = pipeline (FALSE, NULL, 0);
  g_autoptr (GVariant) msg = message (10, TRUE);
  g_autoptr (GBytes) frame = gossip_pipeline_encode (p, msg, NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);
  g_autofree guint8 *longer = g_malloc0 (len + 3);
  g_autoptr (GError) error = NULL;

  memcpy (longer, data, len);
  g_assert_null (gossip_pipeline_decode (p, longer, len + 3, &error));
  g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_TRAILING);
}

static void
test_header_checks_each_have_their_reason (void)
{
  g_autoptr (GossipPipeline) p = pipeline (FALSE, NULL, 0);
  g_autoptr (GVariant) msg = message (10, TRUE);
  g_autoptr (GBytes) frame = gossip_pipeline_encode (p, msg, NULL);
  gsize len;
  const guint8 *orig = g_bytes_get_data (frame, &len);
  struct
  {
    guint offset;
    guint8 value;
    GossipFrameError reason;
  } cases[] = {
    { 0, 0x00, GOSSIP_FRAME_ERROR_BAD_MAGIC },
    { 1, 0x02, GOSSIP_FRAME_ERROR_UNKNOWN_VERSION },
    { 2, 0x80, GOSSIP_FRAME_ERROR_BAD_FLAGS },
    { 3, 0x7f, GOSSIP_FRAME_ERROR_CODEC_MISMATCH },
    { 5, 0x01, GOSSIP_FRAME_ERROR_BAD_FLAGS },  /* plaintext naming a cipher */
    { 11, 0xff, GOSSIP_FRAME_ERROR_TRUNCATED }, /* body longer than carried */
    { 2, GOSSIP_FRAME_FLAG_ENCRYPTED, GOSSIP_FRAME_ERROR_CIPHER_MISMATCH },
    { 2, GOSSIP_FRAME_FLAG_COMPRESSED, GOSSIP_FRAME_ERROR_COMPRESSOR_MISMATCH },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree guint8 *copy = g_memdup2 (orig, len);
      g_autoptr (GError) error = NULL;

      copy[cases[i].offset] = cases[i].value;
      g_assert_null (gossip_pipeline_decode (p, copy, len, &error));
      g_assert_error (error, GOSSIP_FRAME_ERROR, (gint) cases[i].reason);
      g_assert_cmpuint (gossip_pipeline_get_rejected (p, cases[i].reason), >=, 1);
    }
}

static void
test_frames_above_the_maximum_are_rejected_before_work (void)
{
  g_autoptr (GossipPipeline) p = pipeline (FALSE, NULL, 0);
  g_autofree guint8 *huge = g_malloc0 (MAX_FRAME + 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) too_big = message (MAX_FRAME, FALSE);

  huge[0] = GOSSIP_FRAME_MAGIC;
  g_assert_null (gossip_pipeline_decode (p, huge, MAX_FRAME + 1, &error));
  g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_TOO_BIG);
  g_clear_error (&error);
  g_assert_null (gossip_pipeline_encode (p, too_big, &error));
  g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_ENCODE_FAILED);
}

static void
test_plaintext_refused_by_an_encrypting_node_and_vice_versa (void)
{
  g_autoptr (GossipKeyring) ring = ring_with (key1, 32);
  g_autoptr (GossipPipeline) enc = pipeline (FALSE, ring, 0);
  g_autoptr (GossipPipeline) plain = pipeline (FALSE, NULL, 0);
  g_autoptr (GVariant) msg = message (10, TRUE);
  g_autoptr (GBytes) pf = gossip_pipeline_encode (plain, msg, NULL);
  g_autoptr (GBytes) ef = gossip_pipeline_encode (enc, msg, NULL);
  g_autoptr (GError) e1 = NULL, e2 = NULL;

  g_assert_null (
      gossip_pipeline_decode (enc, g_bytes_get_data (pf, NULL), g_bytes_get_size (pf), &e1));
  g_assert_error (e1, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_NOT_ENCRYPTED);
  g_assert_null (
      gossip_pipeline_decode (plain, g_bytes_get_data (ef, NULL), g_bytes_get_size (ef), &e2));
  g_assert_error (e2, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_CIPHER_MISMATCH);
}

static void
test_key_rotation_without_downtime (void)
{
  g_autoptr (GossipKeyring) old_only = ring_with (key1, 32);
  g_autoptr (GossipKeyring) both = ring_with (key1, 32);
  g_autoptr (GossipKeyring) new_only = ring_with (key2, 16);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) msg = message (10, TRUE);

  /* Step 1: a node learns the new key but still seals with the old one. */
  g_assert_true (gossip_keyring_add_key (both, key2, 16, FALSE, &error));
  g_assert_cmpuint (gossip_keyring_get_n_keys (both), ==, 2);
  {
    g_autoptr (GossipPipeline) a = pipeline (FALSE, both, 0);
    g_autoptr (GossipPipeline) old = pipeline (FALSE, old_only, 0);
    g_autoptr (GossipPipeline) fresh = pipeline (FALSE, new_only, 0);
    g_autoptr (GBytes) f = NULL;

    assert_round_trip (a, old, msg, GOSSIP_FRAME_FLAG_ENCRYPTED);
    assert_round_trip (old, a, msg, GOSSIP_FRAME_FLAG_ENCRYPTED);
    assert_round_trip (fresh, a, msg, GOSSIP_FRAME_FLAG_ENCRYPTED);
    /* Step 2: the new key becomes primary. */
    g_assert_true (gossip_keyring_use_key (both, key2, 16, &error));
    assert_round_trip (a, fresh, msg, GOSSIP_FRAME_FLAG_ENCRYPTED);
    f = gossip_pipeline_encode (a, msg, NULL);
    g_assert_null (
        gossip_pipeline_decode (old, g_bytes_get_data (f, NULL), g_bytes_get_size (f), &error));
    g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_UNKNOWN_KEY);
    g_clear_error (&error);
    /* Step 3: the old key is removed; its frames are no longer accepted. */
    g_assert_true (gossip_keyring_remove_key (both, key1, 32, &error));
    g_clear_pointer (&f, g_bytes_unref);
    f = gossip_pipeline_encode (old, msg, NULL);
    g_assert_null (
        gossip_pipeline_decode (a, g_bytes_get_data (f, NULL), g_bytes_get_size (f), &error));
    g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_UNKNOWN_KEY);
  }
}

static void
test_keyring_refuses_bad_keys_and_removing_the_primary (void)
{
  g_autoptr (GossipKeyring) ring = gossip_keyring_new (aes);
  g_autoptr (GError) error = NULL;
  guint8 odd[20] = { 0 };

  g_assert_false (gossip_keyring_add_key (ring, odd, sizeof odd, TRUE, &error));
  g_assert_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY);
  g_assert_nonnull (strstr (error->message, "16"));
  g_clear_error (&error);
  g_assert_null (gossip_pipeline_new (codec, NULL, -1, ring, 0, MAX_FRAME, &error));
  g_assert_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY);
  g_clear_error (&error);
  g_assert_true (gossip_keyring_add_key_base64 (ring, "AAECAwQFBgcICQoLDA0ODw==", TRUE, &error));
  g_assert_false (gossip_keyring_remove_key (ring, key1, 32, &error));
  g_assert_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY);
  g_clear_error (&error);
  {
    guint8 k[16];
    for (guint i = 0; i < 16; i++)
      k[i] = (guint8) i;
    g_assert_false (gossip_keyring_remove_key (ring, k, 16, &error));
    g_assert_nonnull (strstr (error->message, "primary"));
  }
}

static void
test_decompression_bomb_is_refused (void)
{
  /* A small frame whose body inflates past the frame limit. */
  g_autoptr (GossipPipeline) p = pipeline (TRUE, NULL, 0);
  g_autoptr (GError) error = NULL;
  gpointer z = zlib_c->create (GOSSIP_COMPRESSOR_LEVEL_DEFAULT, &error);
  g_autofree guint8 *zeros = g_malloc0 (8 * MAX_FRAME);
  g_autoptr (GByteArray) frame = g_byte_array_new ();
  guint8 header[GOSSIP_FRAME_HEADER_SIZE]
      = { GOSSIP_FRAME_MAGIC, GOSSIP_FRAME_VERSION, GOSSIP_FRAME_FLAG_COMPRESSED, codec->wire_id,
          zlib_c->wire_id };
  guint32 body;

  g_byte_array_append (frame, header, sizeof header);
  g_assert_true (zlib_c->compress (z, zeros, 8 * MAX_FRAME, frame, &error));
  zlib_c->destroy (z);
  body = frame->len - GOSSIP_FRAME_HEADER_SIZE;
  frame->data[8] = (guint8) (body >> 24);
  frame->data[9] = (guint8) (body >> 16);
  frame->data[10] = (guint8) (body >> 8);
  frame->data[11] = (guint8) body;
  g_assert_cmpuint (frame->len, <, 64 * 1024);
  g_assert_null (gossip_pipeline_decode (p, frame->data, frame->len, &error));
  g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_DECOMPRESS_FAILED);
}

static void
test_garbage_never_crashes (void)
{
  g_autoptr (GossipKeyring) ring = ring_with (key1, 32);
  g_autoptr (GossipPipeline) plain = pipeline (TRUE, NULL, 0);
  g_autoptr (GossipPipeline) enc = pipeline (TRUE, ring, 0);
  GRand *rand = g_rand_new_with_seed (7);
  guint8 buf[256];

  for (guint i = 0; i < 20000; i++)
    {
      gsize len = g_rand_int_range (rand, 0, sizeof buf);
      for (gsize j = 0; j < len; j++)
        buf[j] = (guint8) g_rand_int (rand);
      /* Make most inputs get past the first checks, to reach deeper code. */
      if (len >= GOSSIP_FRAME_HEADER_SIZE && (i % 4) != 0)
        {
          guint32 body = (guint32) (len - GOSSIP_FRAME_HEADER_SIZE);
          buf[0] = GOSSIP_FRAME_MAGIC;
          buf[1] = GOSSIP_FRAME_VERSION;
          buf[2] &= GOSSIP_FRAME_FLAGS_KNOWN;
          buf[3] = codec->wire_id;
          buf[4] = zlib_c->wire_id;
          buf[5] = (buf[2] & GOSSIP_FRAME_FLAG_ENCRYPTED) ? aes->wire_id : 0;
          if (!(buf[2] & GOSSIP_FRAME_FLAG_ENCRYPTED))
            buf[6] = buf[7] = 0;
          buf[8] = (guint8) (body >> 24);
          buf[9] = (guint8) (body >> 16);
          buf[10] = (guint8) (body >> 8);
          buf[11] = (guint8) body;
        }
      {
        g_autoptr (GVariant) a = gossip_pipeline_decode (plain, buf, len, NULL);
        g_autoptr (GVariant) b = gossip_pipeline_decode (enc, buf, len, NULL);
        g_assert_null (b);
      }
    }
  g_rand_free (rand);
  g_assert_cmpuint (gossip_pipeline_get_rejected_total (enc), ==, 20000);
}

static void
test_reason_names_are_distinct (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < GOSSIP_FRAME_ERROR_N_ERRORS; i++)
    {
      const char *name = gossip_frame_error_to_string (i);
      g_assert_cmpstr (name, !=, "unknown");
      g_assert_true (g_hash_table_add (seen, (gpointer) name));
    }
}

/* Notices (codec id 0) are read by any pipeline, before its plugins, and
 * what they say comes out printable and bounded. */
static void
test_notices_need_no_plugins_and_are_sanitised (void)
{
  g_autoptr (GossipKeyring) ring = ring_with (key1, 32);
  g_autoptr (GossipPipeline) plain = pipeline (FALSE, NULL, 0);
  g_autoptr (GossipPipeline) enc = pipeline (TRUE, ring, 0);
  g_autoptr (GBytes) frame = gossip_frame_new_notice ("reason=codec-mismatch codec=json/2");
  g_autoptr (GString) long_text = g_string_new (NULL);
  g_autoptr (GBytes) long_frame = NULL;
  GossipPipeline *both[] = { plain, enc };
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);

  g_assert_cmpuint (len, ==, GOSSIP_FRAME_HEADER_SIZE + 34);
  g_assert_cmpuint (data[2], ==, 0);
  g_assert_cmpuint (data[3], ==, GOSSIP_FRAME_CODEC_NOTICE);
  for (guint i = 0; i < G_N_ELEMENTS (both); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_null (gossip_pipeline_decode (both[i], data, len, &error));
      g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_NOTICE);
      g_assert_cmpstr (error->message, ==, "reason=codec-mismatch codec=json/2");
      g_assert_cmpuint (gossip_pipeline_get_rejected (both[i], GOSSIP_FRAME_ERROR_NOTICE), ==, 1);
    }

  /* What is sent stops at the limit, on a character boundary. */
  for (guint i = 0; i < GOSSIP_FRAME_NOTICE_MAX_TEXT; i++)
    g_string_append (long_text, "\xc3\xa9"); /* é, two bytes */
  long_frame = gossip_frame_new_notice (long_text->str);
  g_assert_cmpuint (g_bytes_get_size (long_frame), ==,
                    GOSSIP_FRAME_HEADER_SIZE + GOSSIP_FRAME_NOTICE_MAX_TEXT);

  /* Hostile bodies: control characters, bad UTF-8, a NUL, too long. */
  {
    static const guint8 body[] = { 'a', '\n', 'b', 0x1b, '[', 0xff, 'c', 0, 'd' };
    g_autoptr (GByteArray) hostile = g_byte_array_new ();
    g_autoptr (GError) error = NULL;
    guint8 header[GOSSIP_FRAME_HEADER_SIZE] = { GOSSIP_FRAME_MAGIC, GOSSIP_FRAME_VERSION };

    header[11] = sizeof body;
    g_byte_array_append (hostile, header, sizeof header);
    g_byte_array_append (hostile, body, sizeof body);
    g_assert_null (gossip_pipeline_decode (plain, hostile->data, hostile->len, &error));
    g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_NOTICE);
    g_assert_cmpstr (error->message, ==,
                     "a b [\xef\xbf\xbd"
                     "c\xef\xbf\xbd"
                     "d");
    g_clear_error (&error);

    g_byte_array_set_size (hostile, GOSSIP_FRAME_HEADER_SIZE);
    for (guint i = 0; i < 1000; i++)
      g_byte_array_append (hostile, (const guint8 *) "x", 1);
    hostile->data[10] = 1000 >> 8;
    hostile->data[11] = 1000 & 0xff;
    g_assert_null (gossip_pipeline_decode (plain, hostile->data, hostile->len, &error));
    g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_NOTICE);
    g_assert_cmpuint (strlen (error->message), ==, GOSSIP_FRAME_NOTICE_MAX_TEXT + 3);
    g_assert_true (g_str_has_suffix (error->message, "x..."));
    g_clear_error (&error);

    /* A notice is plaintext and uncompressed, or it is refused. */
    hostile->data[2] = GOSSIP_FRAME_FLAG_COMPRESSED;
    g_assert_null (gossip_pipeline_decode (plain, hostile->data, hostile->len, &error));
    g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_BAD_FLAGS);
    g_clear_error (&error);
    hostile->data[2] = 0;
    hostile->data[4] = zlib_c->wire_id;
    g_assert_null (gossip_pipeline_decode (plain, hostile->data, hostile->len, &error));
    g_assert_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_BAD_FLAGS);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  codec = load (GOSSIP_PLUGIN_KIND_CODEC, "msgpack");
  zlib_c = load (GOSSIP_PLUGIN_KIND_COMPRESSOR, "zlib");
  aes = load (GOSSIP_PLUGIN_KIND_CIPHER, "aes-gcm");

  g_test_add_func ("/frame/plain-frame-round-trips", test_plain_frame_round_trips);
  g_test_add_func ("/frame/compresses-only-large-and-shrinking-encodings",
                   test_compresses_only_large_and_shrinking_encodings);
  g_test_add_func ("/frame/encrypted-frame-round-trips-and-hides-the-payload",
                   test_encrypted_frame_round_trips_and_hides_the_payload);
  g_test_add_func ("/frame/every-bit-flip-of-an-encrypted-frame-is-rejected",
                   test_every_bit_flip_of_an_encrypted_frame_is_rejected);
  g_test_add_func ("/frame/header-flag-flip-is-caught-by-authentication",
                   test_header_flag_flip_is_caught_by_authentication);
  g_test_add_func ("/frame/every-truncation-is-rejected", test_every_truncation_is_rejected);
  g_test_add_func ("/frame/trailing-bytes-are-rejected", test_trailing_bytes_are_rejected);
  g_test_add_func ("/frame/header-checks-each-have-their-reason",
                   test_header_checks_each_have_their_reason);
  g_test_add_func ("/frame/frames-above-the-maximum-are-rejected-before-work",
                   test_frames_above_the_maximum_are_rejected_before_work);
  g_test_add_func ("/frame/plaintext-refused-by-an-encrypting-node-and-vice-versa",
                   test_plaintext_refused_by_an_encrypting_node_and_vice_versa);
  g_test_add_func ("/frame/key-rotation-without-downtime", test_key_rotation_without_downtime);
  g_test_add_func ("/frame/keyring-refuses-bad-keys-and-removing-the-primary",
                   test_keyring_refuses_bad_keys_and_removing_the_primary);
  g_test_add_func ("/frame/decompression-bomb-is-refused", test_decompression_bomb_is_refused);
  g_test_add_func ("/frame/garbage-never-crashes", test_garbage_never_crashes);
  g_test_add_func ("/frame/reason-names-are-distinct", test_reason_names_are_distinct);
  g_test_add_func ("/frame/notices-need-no-plugins-and-are-sanitised",
                   test_notices_need_no_plugins_and_are_sanitised);
  return g_test_run ();
}
