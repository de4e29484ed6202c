/* gossip-keyring.c: the keys a node seals and opens frames with.
 *
 * Each key is set up with the cipher once (key schedule, AEAD context) when
 * it is added, never per packet.  Frames name their key by a 16-bit id
 * derived from a hash of the key, so a receiver tries only the keys that can
 * match instead of every key in the ring.
 */
#include "config.h"

#include <string.h>

#include "gossip/gossip-frame.h"
#include "gossip-frame-private.h"

struct _GossipKeyring
{
  gatomicrefcount ref_count;
  const GossipCipherVTable *cipher;
  GPtrArray *keys; /* GossipKeyringKey; index 0 is the primary key */
};

G_DEFINE_BOXED_TYPE (GossipKeyring, gossip_keyring, gossip_keyring_ref, gossip_keyring_unref)

static void
keyring_key_free (gpointer data)
{
  GossipKeyringKey *key = data;

  key->cipher->key_free (key->cipher_key);
  explicit_bzero (key->bytes, key->len);
  g_free (key->bytes);
  g_free (key);
}

/* 0 is reserved for "not encrypted". */
static guint16
key_id_for (const guint8 *key, gsize key_len)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  guint16 id;

  g_checksum_update (sum, key, key_len);
  g_checksum_get_digest (sum, digest, &digest_len);
  id = (guint16) ((digest[0] << 8) | digest[1]);
  return id == 0 ? 1 : id;
}

/**
 * gossip_keyring_new:
 * @cipher: the cipher the keys are for
 *
 * Returns: (transfer full): an empty keyring; add at least one key before use
 */
GossipKeyring *
gossip_keyring_new (const GossipCipherVTable *cipher)
{
  GossipKeyring *keyring;

  g_return_val_if_fail (cipher != NULL, NULL);
  keyring = g_new0 (GossipKeyring, 1);
  g_atomic_ref_count_init (&keyring->ref_count);
  keyring->cipher = cipher;
  keyring->keys = g_ptr_array_new_with_free_func (keyring_key_free);
  return keyring;
}

/**
 * gossip_keyring_ref:
 * @keyring: a keyring
 *
 * Returns: (transfer full): @keyring
 */
GossipKeyring *
gossip_keyring_ref (GossipKeyring *keyring)
{
  g_atomic_ref_count_inc (&keyring->ref_count);
  return keyring;
}

/**
 * gossip_keyring_unref:
 * @keyring: (transfer full): a keyring
 *
 * Drops a reference; the last one wipes the key material.
 */
void
gossip_keyring_unref (GossipKeyring *keyring)
{
  if (g_atomic_ref_count_dec (&keyring->ref_count))
    {
      g_ptr_array_unref (keyring->keys);
      g_free (keyring);
    }
}

static gint
find_key (GossipKeyring *keyring, const guint8 *key, gsize key_len)
{
  for (guint i = 0; i < keyring->keys->len; i++)
    {
      GossipKeyringKey *k = g_ptr_array_index (keyring->keys, i);
      if (k->len == key_len && memcmp (k->bytes, key, key_len) == 0)
        return (gint) i;
    }
  return -1;
}

static gboolean
key_size_ok (const GossipCipherVTable *cipher, gsize key_len)
{
  for (const gsize *s = cipher->key_sizes; *s != 0; s++)
    if (*s == key_len)
      return TRUE;
  return FALSE;
}

/**
 * gossip_keyring_add_key:
 * @keyring: a keyring
 * @key: (array length=key_len): key bytes
 * @key_len: length of @key; must be a size the cipher takes
 * @primary: make it the key that seals outgoing frames
 * @error: return location for a #GError
 *
 * Adds a key, or makes an existing one primary.  The first key added is
 * primary whatever @primary says.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_keyring_add_key (GossipKeyring *keyring, const guint8 *key, gsize key_len, gboolean primary,
                        GError **error)
{
  GossipKeyringKey *k;
  gint index;

  g_return_val_if_fail (keyring != NULL, FALSE);
  g_return_val_if_fail (key != NULL || key_len == 0, FALSE);

  index = find_key (keyring, key, key_len);
  if (index < 0)
    {
      g_autoptr (GString) sizes = g_string_new (NULL);
      gpointer cipher_key;

      if (!key_size_ok (keyring->cipher, key_len))
        {
          for (const gsize *s = keyring->cipher->key_sizes; *s != 0; s++)
            g_string_append_printf (sizes, "%s%" G_GSIZE_FORMAT, sizes->len ? ", " : "", *s);
          g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY,
                       "a %" G_GSIZE_FORMAT
                       "-byte key does not fit this cipher (it takes %s bytes)",
                       key_len, sizes->str);
          return FALSE;
        }
      cipher_key = keyring->cipher->key_new (key, key_len, error);
      if (cipher_key == NULL)
        return FALSE;
      k = g_new0 (GossipKeyringKey, 1);
      k->bytes = g_memdup2 (key, key_len);
      k->len = key_len;
      k->id = key_id_for (key, key_len);
      k->cipher = keyring->cipher;
      k->cipher_key = cipher_key;
      g_ptr_array_add (keyring->keys, k);
      index = (gint) keyring->keys->len - 1;
    }
  if (primary && index > 0)
    {
      /* Move to the front, keeping the others' order. */
      k = g_ptr_array_steal_index (keyring->keys, (guint) index);
      g_ptr_array_insert (keyring->keys, 0, k);
    }
  return TRUE;
}

/**
 * gossip_keyring_add_key_base64:
 * @keyring: a keyring
 * @key_base64: the key, base64-encoded (as in the config file)
 * @primary: make it the primary key
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_keyring_add_key_base64 (GossipKeyring *keyring, const char *key_base64, gboolean primary,
                               GError **error)
{
  gsize len = 0;
  g_autofree guint8 *key = NULL;
  gboolean ok;

  g_return_val_if_fail (key_base64 != NULL, FALSE);
  key = g_base64_decode (key_base64, &len);
  ok = gossip_keyring_add_key (keyring, key, len, primary, error);
  if (key != NULL)
    explicit_bzero (key, len);
  return ok;
}

/**
 * gossip_keyring_use_key:
 * @keyring: a keyring
 * @key: (array length=key_len): a key already in the ring
 * @key_len: its length
 * @error: return location for a #GError
 *
 * Makes a key already in the ring the primary key (step two of a rotation).
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_keyring_use_key (GossipKeyring *keyring, const guint8 *key, gsize key_len, GError **error)
{
  g_return_val_if_fail (keyring != NULL, FALSE);
  if (find_key (keyring, key, key_len) < 0)
    {
      g_set_error_literal (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY,
                           "that key is not in the keyring; add it first");
      return FALSE;
    }
  return gossip_keyring_add_key (keyring, key, key_len, TRUE, error);
}

/**
 * gossip_keyring_remove_key:
 * @keyring: a keyring
 * @key: (array length=key_len): a key in the ring
 * @key_len: its length
 * @error: return location for a #GError
 *
 * Removes a key that is no longer used.  The primary key cannot be removed.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_keyring_remove_key (GossipKeyring *keyring, const guint8 *key, gsize key_len, GError **error)
{
  gint index;

  g_return_val_if_fail (keyring != NULL, FALSE);
  index = find_key (keyring, key, key_len);
  if (index < 0)
    {
      g_set_error_literal (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY,
                           "that key is not in the keyring");
      return FALSE;
    }
  if (index == 0)
    {
      g_set_error_literal (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY,
                           "the primary key cannot be removed; make another key primary first");
      return FALSE;
    }
  g_ptr_array_remove_index (keyring->keys, (guint) index);
  return TRUE;
}

/**
 * gossip_keyring_get_n_keys:
 * @keyring: a keyring
 *
 * Returns: how many keys the ring holds
 */
guint
gossip_keyring_get_n_keys (GossipKeyring *keyring)
{
  return keyring->keys->len;
}

const GossipCipherVTable *
_gossip_keyring_get_cipher (GossipKeyring *keyring)
{
  return keyring->cipher;
}

GossipKeyringKey *
_gossip_keyring_get_primary (GossipKeyring *keyring)
{
  return keyring->keys->len > 0 ? g_ptr_array_index (keyring->keys, 0) : NULL;
}

GossipKeyringKey *
_gossip_keyring_get_key (GossipKeyring *keyring, guint index)
{
  return index < keyring->keys->len ? g_ptr_array_index (keyring->keys, index) : NULL;
}
