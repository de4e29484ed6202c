/* test-cipher.c: the conformance suite every cipher plugin must pass.
 *
 * Runs once per cipher named in GOSSIP_TEST_CIPHERS (space or comma
 * separated; by default the ciphers this build made), each case as
 * /cipher/<name>/<case>.  The plugins are loaded the way a node loads them
 * (make check points GOSSIP_PLUGIN_PATH at the build tree).
 */
#include "config.h"

#include <string.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-cipher.h"

#ifndef GOSSIP_TEST_DEFAULT_CIPHERS
#define GOSSIP_TEST_DEFAULT_CIPHERS "aes-gcm chacha20-poly1305"
#endif

/* The size of a frame header, which is what a node authenticates as
 * associated data. */
#define AD_SIZE 12

/* What is known of particular ciphers beyond the common contract: the wire
 * ids are fixed by gossip-cipher.h, and the key sizes by the algorithms. */
typedef struct
{
  const char *name;
  guint8 wire_id;
  const gsize *key_sizes; /* 0-terminated */
} CipherFacts;

static const gsize aes_gcm_key_sizes[] = { 16, 24, 32, 0 };
static const gsize chacha20_poly1305_key_sizes[] = { 32, 0 };

static const CipherFacts known_ciphers[] = {
  { "aes-gcm", 1, aes_gcm_key_sizes },
  { "chacha20-poly1305", 2, chacha20_poly1305_key_sizes },
};

typedef struct
{
  char *name;
  GossipPlugin *plugin;
  const GossipCipherVTable *vtable;
  const CipherFacts *facts; /* NULL for a cipher this suite has no facts about */
  char *load_error;
} CipherUnderTest;

static void
cipher_under_test_free (gpointer data)
{
  CipherUnderTest *c = data;

  g_free (c->name);
  g_free (c->load_error);
  g_free (c);
}

/* Independent answers: the GCM specification's test cases (McGrew & Viega,
 * as republished by NIST) and RFC 8439 section 2.8.2, all also checked
 * against OpenSSL when they were written down here. */
typedef struct
{
  const char *cipher;
  const char *source;
  const char *key, *nonce, *ad, *plain, *ciphertext, *tag;
} KnownAnswer;

#define GCM_SPEC_PLAIN                                                                             \
  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b5" \
  "25b16aedf5aa0de657ba637b39"
#define GCM_SPEC_AD    "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define GCM_SPEC_NONCE "cafebabefacedbaddecaf888"
#define GCM_SPEC_KEY   "feffe9928665731c6d6a8f9467308308"
#define ZERO_NONCE     "000000000000000000000000"
#define ZERO_KEY_16    "00000000000000000000000000000000"

static const KnownAnswer known_answers[] = {
  { "aes-gcm", "GCM test case 1 (AES-128, empty)", ZERO_KEY_16, ZERO_NONCE, "", "", "",
    "58e2fccefa7e3061367f1d57a4e7455a" },
  { "aes-gcm", "GCM test case 2 (AES-128, one block)", ZERO_KEY_16, ZERO_NONCE, "", ZERO_KEY_16,
    "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf" },
  { "aes-gcm", "GCM test case 4 (AES-128, associated data)", GCM_SPEC_KEY, GCM_SPEC_NONCE,
    GCM_SPEC_AD, GCM_SPEC_PLAIN,
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84"
    "aa051ba30b396a0aac973d58e091",
    "5bc94fbc3221a5db94fae95ae7121a47" },
  { "aes-gcm", "GCM test case 7 (AES-192, empty)", ZERO_KEY_16 "0000000000000000", ZERO_NONCE, "",
    "", "", "cd33b28ac773f74ba00ed1f312572435" },
  { "aes-gcm", "GCM test case 10 (AES-192, associated data)", GCM_SPEC_KEY "feffe9928665731c",
    GCM_SPEC_NONCE, GCM_SPEC_AD, GCM_SPEC_PLAIN,
    "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a"
    "3f4718e2448b2fe324d9ccda2710",
    "2519498e80f1478f37ba55bd6d27618c" },
  { "aes-gcm", "GCM test case 13 (AES-256, empty)", ZERO_KEY_16 ZERO_KEY_16, ZERO_NONCE, "", "", "",
    "530f8afbc74536b9a963b4f1c4cb738b" },
  { "aes-gcm", "GCM test case 16 (AES-256, associated data)", GCM_SPEC_KEY GCM_SPEC_KEY,
    GCM_SPEC_NONCE, GCM_SPEC_AD, GCM_SPEC_PLAIN,
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b105682"
    "8838c5f61e6393ba7a0abcc9f662",
    "76fc6ece0f4e1768cddf8853bb2d551b" },
  { "chacha20-poly1305", "RFC 8439 section 2.8.2",
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647",
    "50515253c0c1c2c3c4c5c6c7",
    "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a204966204920"
    "636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c207375"
    "6e73637265656e20776f756c642062652069742e",
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da9272"
    "8b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b48"
    "31d7bc3ff4def08e4b7a9de576d26586cec64b6116",
    "1ae10b594f09e26a7e902ecbd0600691" },
};

static GBytes *
hex_decode (const char *hex)
{
  gsize len = strlen (hex);
  guint8 *bytes;

  g_assert_cmpuint (len % 2, ==, 0);
  bytes = g_malloc (len / 2);
  for (gsize i = 0; i < len / 2; i++)
    {
      gint hi = g_ascii_xdigit_value (hex[2 * i]);
      gint lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_cmpint (hi, >=, 0);
      g_assert_cmpint (lo, >=, 0);
      bytes[i] = (guint8) (hi << 4 | lo);
    }
  return g_bytes_new_take (bytes, len / 2);
}

static void
random_bytes (guint8 *buf, gsize len)
{
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8) g_test_rand_int_range (0, 256);
}

static gsize
overhead (const CipherUnderTest *c)
{
  return c->vtable->nonce_size + c->vtable->tag_size;
}

static gboolean
key_size_accepted (const CipherUnderTest *c, gsize size)
{
  for (const gsize *s = c->vtable->key_sizes; *s != 0; s++)
    if (*s == size)
      return TRUE;
  return FALSE;
}

static gpointer
key_from_bytes (const CipherUnderTest *c, const guint8 *bytes, gsize len)
{
  g_autoptr (GError) error = NULL;
  gpointer key = c->vtable->key_new (bytes, len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (key);
  return key;
}

static gpointer
random_key (const CipherUnderTest *c, gsize size)
{
  guint8 bytes[64];

  g_assert_cmpuint (size, <=, sizeof bytes);
  random_bytes (bytes, size);
  return key_from_bytes (c, bytes, size);
}

static guint8 *
seal_or_die (const CipherUnderTest *c, gpointer key, const guint8 *ad, gsize ad_len,
             const guint8 *plain, gsize plain_len)
{
  g_autoptr (GError) error = NULL;
  guint8 *sealed = g_malloc (plain_len + overhead (c));

  g_assert_true (c->vtable->seal (key, ad, ad_len, plain, plain_len, sealed, &error));
  g_assert_no_error (error);
  return sealed;
}

static void
assert_open_fails (const CipherUnderTest *c, gpointer key, const guint8 *ad, gsize ad_len,
                   const guint8 *sealed, gsize sealed_len, GossipCipherError code)
{
  g_autoptr (GError) error = NULL;
  gsize room = sealed_len > overhead (c) ? sealed_len - overhead (c) : 0;
  g_autofree guint8 *out = g_malloc (MAX (room, 1));

  g_assert_false (c->vtable->open (key, ad, ad_len, sealed, sealed_len, out, &error));
  g_assert_error (error, GOSSIP_CIPHER_ERROR, (gint) code);
}

static void
assert_opens_to (const CipherUnderTest *c, gpointer key, const guint8 *ad, gsize ad_len,
                 const guint8 *sealed, gsize sealed_len, const guint8 *plain, gsize plain_len)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *out = NULL;

  g_assert_cmpuint (sealed_len, ==, plain_len + overhead (c));
  out = g_malloc (plain_len);
  g_assert_true (c->vtable->open (key, ad, ad_len, sealed, sealed_len, out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out, plain_len, plain, plain_len);
}

static void
test_loads_as_a_cipher_plugin (gconstpointer data)
{
  const CipherUnderTest *c = data;

  if (c->load_error != NULL)
    {
      g_test_fail_printf ("cipher %s did not load: %s", c->name, c->load_error);
      return;
    }
  g_assert_cmpint (gossip_plugin_get_kind (c->plugin), ==, GOSSIP_PLUGIN_KIND_CIPHER);
  g_assert_cmpstr (gossip_plugin_get_name (c->plugin), ==, c->name);
  g_assert_cmpuint (c->vtable->struct_size, >=, G_STRUCT_OFFSET (GossipCipherVTable, reserved));
  g_assert_cmpuint (c->vtable->wire_id, !=, 0);
  /* Random nonces need enough bits not to repeat; tags under 12 bytes are
   * forgeable in practice. */
  g_assert_cmpuint (c->vtable->nonce_size, >=, 12);
  g_assert_cmpuint (c->vtable->tag_size, >=, 12);
  g_assert_cmpuint (c->vtable->key_sizes[0], >=, 16);
  if (c->facts != NULL)
    {
      gsize n = 0;

      g_assert_cmpuint (c->vtable->wire_id, ==, c->facts->wire_id);
      for (; c->facts->key_sizes[n] != 0; n++)
        g_assert_cmpuint (c->vtable->key_sizes[n], ==, c->facts->key_sizes[n]);
      g_assert_cmpuint (c->vtable->key_sizes[n], ==, 0);
    }
}

static void
test_round_trips_every_key_size_and_length (gconstpointer data)
{
  const CipherUnderTest *c = data;
  const gsize lengths[] = { 0, 1, 15, 16, 17, 1400, 1024 * 1024 };
  guint8 ad[AD_SIZE];

  random_bytes (ad, sizeof ad);
  for (const gsize *size = c->vtable->key_sizes; *size != 0; size++)
    {
      gpointer key = random_key (c, *size);

      for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
        {
          g_autofree guint8 *plain = g_malloc (lengths[i]);
          g_autofree guint8 *sealed = NULL;
          g_autofree guint8 *sealed_no_ad = NULL;

          g_test_message ("key of %" G_GSIZE_FORMAT " bytes, plaintext of %" G_GSIZE_FORMAT, *size,
                          lengths[i]);
          random_bytes (plain, lengths[i]);
          sealed = seal_or_die (c, key, ad, sizeof ad, plain, lengths[i]);
          assert_opens_to (c, key, ad, sizeof ad, sealed, lengths[i] + overhead (c), plain,
                           lengths[i]);
          /* The plaintext must not travel in the clear. */
          if (lengths[i] >= 16)
            g_assert_true (memcmp (sealed + c->vtable->nonce_size, plain, lengths[i]) != 0);

          sealed_no_ad = seal_or_die (c, key, NULL, 0, plain, lengths[i]);
          assert_opens_to (c, key, NULL, 0, sealed_no_ad, lengths[i] + overhead (c), plain,
                           lengths[i]);
        }
      c->vtable->key_free (key);
    }
}

static void
test_sealing_twice_gives_different_output (gconstpointer data)
{
  const CipherUnderTest *c = data;
  gpointer key = random_key (c, c->vtable->key_sizes[0]);
  const guint8 plain[] = "the same message, twice";
  g_autofree guint8 *a = seal_or_die (c, key, NULL, 0, plain, sizeof plain);
  g_autofree guint8 *b = seal_or_die (c, key, NULL, 0, plain, sizeof plain);

  g_assert_true (memcmp (a, b, c->vtable->nonce_size) != 0);
  g_assert_true (memcmp (a + c->vtable->nonce_size, b + c->vtable->nonce_size,
                         sizeof plain + c->vtable->tag_size)
                 != 0);
  c->vtable->key_free (key);
}

static void
test_never_repeats_a_nonce (gconstpointer data)
{
  const CipherUnderTest *c = data;
  gpointer key = random_key (c, c->vtable->key_sizes[0]);
  g_autoptr (GHashTable) seen
      = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);

  for (guint i = 0; i < 10000; i++)
    {
      g_autofree guint8 *sealed = seal_or_die (c, key, NULL, 0, NULL, 0);
      GBytes *nonce = g_bytes_new (sealed, c->vtable->nonce_size);

      g_assert_true (g_hash_table_add (seen, nonce));
    }
  c->vtable->key_free (key);
}

static void
test_rejects_every_bit_flip_in_sealed_output (gconstpointer data)
{
  const CipherUnderTest *c = data;
  gpointer key = random_key (c, c->vtable->key_sizes[0]);
  guint8 ad[AD_SIZE], plain[33];
  g_autofree guint8 *sealed = NULL;
  gsize sealed_len = sizeof plain + overhead (c);

  random_bytes (ad, sizeof ad);
  random_bytes (plain, sizeof plain);
  sealed = seal_or_die (c, key, ad, sizeof ad, plain, sizeof plain);
  for (gsize bit = 0; bit < sealed_len * 8; bit++)
    {
      sealed[bit / 8] ^= (guint8) (1u << (bit % 8));
      assert_open_fails (c, key, ad, sizeof ad, sealed, sealed_len,
                         GOSSIP_CIPHER_ERROR_AUTH_FAILED);
      sealed[bit / 8] ^= (guint8) (1u << (bit % 8));
    }
  /* Failed opens must not have disturbed the key. */
  assert_opens_to (c, key, ad, sizeof ad, sealed, sealed_len, plain, sizeof plain);
  c->vtable->key_free (key);
}

static void
test_rejects_every_change_to_associated_data (gconstpointer data)
{
  const CipherUnderTest *c = data;
  gpointer key = random_key (c, c->vtable->key_sizes[0]);
  guint8 ad[AD_SIZE + 1], plain[20];
  g_autofree guint8 *sealed = NULL;
  gsize sealed_len = sizeof plain + overhead (c);

  random_bytes (ad, sizeof ad);
  random_bytes (plain, sizeof plain);
  sealed = seal_or_die (c, key, ad, AD_SIZE, plain, sizeof plain);
  for (gsize bit = 0; bit < AD_SIZE * 8; bit++)
    {
      ad[bit / 8] ^= (guint8) (1u << (bit % 8));
      assert_open_fails (c, key, ad, AD_SIZE, sealed, sealed_len, GOSSIP_CIPHER_ERROR_AUTH_FAILED);
      ad[bit / 8] ^= (guint8) (1u << (bit % 8));
    }
  assert_open_fails (c, key, ad, AD_SIZE - 1, sealed, sealed_len, GOSSIP_CIPHER_ERROR_AUTH_FAILED);
  assert_open_fails (c, key, ad, AD_SIZE + 1, sealed, sealed_len, GOSSIP_CIPHER_ERROR_AUTH_FAILED);
  assert_open_fails (c, key, NULL, 0, sealed, sealed_len, GOSSIP_CIPHER_ERROR_AUTH_FAILED);
  assert_opens_to (c, key, ad, AD_SIZE, sealed, sealed_len, plain, sizeof plain);
  c->vtable->key_free (key);
}

static void
test_rejects_a_wrong_key (gconstpointer data)
{
  const CipherUnderTest *c = data;
  const guint8 plain[] = "for the right key only";

  for (const gsize *size = c->vtable->key_sizes; *size != 0; size++)
    {
      guint8 bytes[64];
      gpointer key, other;
      g_autofree guint8 *sealed = NULL;

      g_assert_cmpuint (*size, <=, sizeof bytes);
      random_bytes (bytes, *size);
      key = key_from_bytes (c, bytes, *size);
      /* The closest wrong key: one bit off. */
      bytes[*size - 1] ^= 1;
      other = key_from_bytes (c, bytes, *size);
      sealed = seal_or_die (c, key, NULL, 0, plain, sizeof plain);
      assert_open_fails (c, other, NULL, 0, sealed, sizeof plain + overhead (c),
                         GOSSIP_CIPHER_ERROR_AUTH_FAILED);
      for (const gsize *size2 = c->vtable->key_sizes; *size2 != 0; size2++)
        {
          gpointer unrelated = random_key (c, *size2);

          assert_open_fails (c, unrelated, NULL, 0, sealed, sizeof plain + overhead (c),
                             GOSSIP_CIPHER_ERROR_AUTH_FAILED);
          c->vtable->key_free (unrelated);
        }
      c->vtable->key_free (other);
      c->vtable->key_free (key);
    }
}

static void
test_rejects_every_truncation (gconstpointer data)
{
  const CipherUnderTest *c = data;
  gpointer key = random_key (c, c->vtable->key_sizes[0]);
  guint8 plain[40];
  g_autofree guint8 *sealed = NULL;
  gsize sealed_len = sizeof plain + overhead (c);

  random_bytes (plain, sizeof plain);
  sealed = seal_or_die (c, key, NULL, 0, plain, sizeof plain);
  for (gsize len = 0; len < sealed_len; len++)
    {
      /* A copy of exactly @len bytes, so reading past it is caught. */
      g_autofree guint8 *prefix = g_memdup2 (sealed, len);

      assert_open_fails (c, key, NULL, 0, prefix, len,
                         len < overhead (c) ? GOSSIP_CIPHER_ERROR_TOO_SHORT
                                            : GOSSIP_CIPHER_ERROR_AUTH_FAILED);
    }
  c->vtable->key_free (key);
}

static void
test_refuses_key_sizes_it_does_not_take (gconstpointer data)
{
  const CipherUnderTest *c = data;
  const gsize sizes[] = { 0, 1, 15, 16, 17, 24, 31, 32, 33, 64 };
  guint8 bytes[64];
  guint refused = 0;

  random_bytes (bytes, sizeof bytes);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GError) error = NULL;

      if (key_size_accepted (c, sizes[i]))
        continue;
      g_test_message ("key of %" G_GSIZE_FORMAT " bytes", sizes[i]);
      g_assert_null (c->vtable->key_new (bytes, sizes[i], &error));
      g_assert_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY);
      refused++;
    }
  g_assert_cmpuint (refused, >=, 6);
}

static void
test_opens_known_answers (gconstpointer data)
{
  const CipherUnderTest *c = data;
  guint checked = 0;

  for (guint i = 0; i < G_N_ELEMENTS (known_answers); i++)
    {
      const KnownAnswer *ka = &known_answers[i];
      g_autoptr (GBytes) key_bytes = NULL;
      g_autoptr (GBytes) nonce = NULL;
      g_autoptr (GBytes) ad = NULL;
      g_autoptr (GBytes) plain = NULL;
      g_autoptr (GBytes) ct = NULL;
      g_autoptr (GBytes) tag = NULL;
      g_autoptr (GByteArray) sealed = g_byte_array_new ();
      gpointer key;

      if (strcmp (ka->cipher, c->name) != 0)
        continue;
      g_test_message ("%s", ka->source);
      key_bytes = hex_decode (ka->key);
      nonce = hex_decode (ka->nonce);
      ad = hex_decode (ka->ad);
      plain = hex_decode (ka->plain);
      ct = hex_decode (ka->ciphertext);
      tag = hex_decode (ka->tag);
      g_assert_cmpuint (g_bytes_get_size (nonce), ==, c->vtable->nonce_size);
      g_assert_cmpuint (g_bytes_get_size (tag), ==, c->vtable->tag_size);

      /* Seal picks its own nonce, so the vector is checked through open. */
      g_byte_array_append (sealed, g_bytes_get_data (nonce, NULL), g_bytes_get_size (nonce));
      g_byte_array_append (sealed, g_bytes_get_data (ct, NULL), g_bytes_get_size (ct));
      g_byte_array_append (sealed, g_bytes_get_data (tag, NULL), g_bytes_get_size (tag));
      key = key_from_bytes (c, g_bytes_get_data (key_bytes, NULL), g_bytes_get_size (key_bytes));
      assert_opens_to (c, key, g_bytes_get_data (ad, NULL), g_bytes_get_size (ad), sealed->data,
                       sealed->len, g_bytes_get_data (plain, NULL), g_bytes_get_size (plain));
      sealed->data[sealed->len - 1] ^= 0x80;
      assert_open_fails (c, key, g_bytes_get_data (ad, NULL), g_bytes_get_size (ad), sealed->data,
                         sealed->len, GOSSIP_CIPHER_ERROR_AUTH_FAILED);
      c->vtable->key_free (key);
      checked++;
    }
  if (checked == 0)
    {
      g_autofree char *why = g_strdup_printf ("no known-answer vectors for %s yet", c->name);

      g_test_skip (why);
    }
}

static void
add_cipher_tests (GPtrArray *ciphers, const char *name)
{
  g_autoptr (GError) error = NULL;
  CipherUnderTest *c = g_new0 (CipherUnderTest, 1);
  const struct
  {
    const char *name;
    GTestDataFunc func;
  } cases[] = {
    { "round-trips-every-key-size-and-length", test_round_trips_every_key_size_and_length },
    { "sealing-twice-gives-different-output", test_sealing_twice_gives_different_output },
    { "never-repeats-a-nonce", test_never_repeats_a_nonce },
    { "rejects-every-bit-flip-in-sealed-output", test_rejects_every_bit_flip_in_sealed_output },
    { "rejects-every-change-to-associated-data", test_rejects_every_change_to_associated_data },
    { "rejects-a-wrong-key", test_rejects_a_wrong_key },
    { "rejects-every-truncation", test_rejects_every_truncation },
    { "refuses-key-sizes-it-does-not-take", test_refuses_key_sizes_it_does_not_take },
    { "opens-known-answers", test_opens_known_answers },
  };
  g_autofree char *load_path = g_strdup_printf ("/cipher/%s/loads-as-a-cipher-plugin", name);

  c->name = g_strdup (name);
  for (guint i = 0; i < G_N_ELEMENTS (known_ciphers); i++)
    if (strcmp (known_ciphers[i].name, name) == 0)
      c->facts = &known_ciphers[i];
  c->plugin = gossip_plugin_load (GOSSIP_PLUGIN_KIND_CIPHER, name, NULL, &error);
  if (c->plugin == NULL)
    c->load_error = g_strdup (error->message);
  else
    c->vtable = gossip_plugin_get_vtable (c->plugin);
  g_ptr_array_add (ciphers, c);

  g_test_add_data_func (load_path, c, test_loads_as_a_cipher_plugin);
  if (c->plugin == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cipher/%s/%s", name, cases[i].name);

      g_test_add_data_func (path, c, cases[i].func);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) ciphers = g_ptr_array_new_with_free_func (cipher_under_test_free);
  const char *names = g_getenv ("GOSSIP_TEST_CIPHERS");
  g_auto (GStrv) tokens = NULL;

  g_test_init (&argc, &argv, NULL);
  tokens = g_strsplit_set (names ? names : GOSSIP_TEST_DEFAULT_CIPHERS, " ,", -1);
  for (guint i = 0; tokens[i] != NULL; i++)
    if (tokens[i][0] != '\0')
      add_cipher_tests (ciphers, tokens[i]);
  return g_test_run ();
}
