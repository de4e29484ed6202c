/* gossip-cipher-aes-gcm.c: AES-GCM through GnuTLS's AEAD API.
 *
 * Sealed layout: nonce (12 bytes) || ciphertext || tag (16 bytes).
 *
 * The key schedule and GCM context are built once in key_new and reused for
 * every packet; the system we replace rebuilt both per packet.  Nonces are 96
 * random bits per message, which NIST SP 800-38D bounds at 2^32 messages per
 * key: rotate keys (the keyring holds several) long before that.
 */
#include "config.h"

#include <gmodule.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-cipher.h"

#define AES_GCM_NONCE_SIZE 12
#define AES_GCM_TAG_SIZE   16

typedef struct
{
  gnutls_aead_cipher_hd_t handle;
  /* A GnuTLS AEAD handle keeps per-message state (counter, GHASH) between
   * setting the nonce and producing the tag, so two threads sealing with one
   * key at once would corrupt each other's output. */
  GMutex lock;
} AesGcmKey;

static const gsize aes_gcm_key_sizes[] = { 16, 24, 32, 0 };

static gnutls_cipher_algorithm_t
algorithm_for_key_size (gsize key_len)
{
  switch (key_len)
    {
    case 16:
      return GNUTLS_CIPHER_AES_128_GCM;
    case 24:
      return GNUTLS_CIPHER_AES_192_GCM;
    case 32:
      return GNUTLS_CIPHER_AES_256_GCM;
    default:
      return GNUTLS_CIPHER_UNKNOWN;
    }
}

static void
aes_gcm_key_free (gpointer data)
{
  AesGcmKey *key = data;

  if (key == NULL)
    return;
  /* Deinit wipes the expanded key schedule; no copy of the key is kept here. */
  gnutls_aead_cipher_deinit (key->handle);
  g_mutex_clear (&key->lock);
  g_free (key);
}

static gpointer
aes_gcm_key_new (const guint8 *key_bytes, gsize key_len, GError **error)
{
  gnutls_cipher_algorithm_t algorithm = algorithm_for_key_size (key_len);
  gnutls_datum_t datum;
  AesGcmKey *key;
  int ret;

  /* GnuTLS itself does not check the key length against the algorithm: a
   * 16-byte key given to AES-192-GCM is accepted, so the size check is ours. */
  if (algorithm == GNUTLS_CIPHER_UNKNOWN)
    {
      g_set_error (
          error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY,
          "AES-GCM takes 16, 24 or 32-byte keys (AES-128, -192, -256), not %" G_GSIZE_FORMAT
          " bytes",
          key_len);
      return NULL;
    }

  datum.data = (unsigned char *) key_bytes;
  datum.size = (unsigned int) key_len;
  key = g_new0 (AesGcmKey, 1);
  ret = gnutls_aead_cipher_init (&key->handle, algorithm, &datum);
  if (ret < 0)
    {
      g_free (key);
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_FAILED,
                   "GnuTLS cannot set up %s: %s", gnutls_cipher_get_name (algorithm),
                   gnutls_strerror (ret));
      return NULL;
    }
  g_mutex_init (&key->lock);
  return key;
}

static gboolean
aes_gcm_seal (gpointer data, const guint8 *ad, gsize ad_len, const guint8 *plain, gsize plain_len,
              guint8 *out, GError **error)
{
  AesGcmKey *key = data;
  size_t ctext_len;
  int ret;

  if (plain_len > G_MAXSIZE - AES_GCM_NONCE_SIZE - AES_GCM_TAG_SIZE)
    {
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_FAILED,
                   "plaintext of %" G_GSIZE_FORMAT " bytes is too large to seal", plain_len);
      return FALSE;
    }

  ret = gnutls_rnd (GNUTLS_RND_NONCE, out, AES_GCM_NONCE_SIZE);
  if (ret < 0)
    {
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_FAILED,
                   "cannot draw a random nonce: %s", gnutls_strerror (ret));
      return FALSE;
    }

  ctext_len = plain_len + AES_GCM_TAG_SIZE;
  g_mutex_lock (&key->lock);
  ret = gnutls_aead_cipher_encrypt (key->handle, out, AES_GCM_NONCE_SIZE, ad, ad_len,
                                    AES_GCM_TAG_SIZE, plain, plain_len, out + AES_GCM_NONCE_SIZE,
                                    &ctext_len);
  g_mutex_unlock (&key->lock);
  if (ret < 0 || ctext_len != plain_len + AES_GCM_TAG_SIZE)
    {
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_FAILED,
                   "AES-GCM encryption failed: %s",
                   ret < 0 ? gnutls_strerror (ret) : "unexpected ciphertext length");
      return FALSE;
    }
  return TRUE;
}

static gboolean
aes_gcm_open (gpointer data, const guint8 *ad, gsize ad_len, const guint8 *sealed, gsize sealed_len,
              guint8 *out, GError **error)
{
  AesGcmKey *key = data;
  gsize plain_len;
  size_t ptext_len;
  int ret;

  if (sealed_len < AES_GCM_NONCE_SIZE + AES_GCM_TAG_SIZE)
    {
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_TOO_SHORT,
                   "sealed data of %" G_GSIZE_FORMAT
                   " bytes is shorter than an AES-GCM nonce and tag (%d bytes)",
                   sealed_len, AES_GCM_NONCE_SIZE + AES_GCM_TAG_SIZE);
      return FALSE;
    }

  plain_len = sealed_len - AES_GCM_NONCE_SIZE - AES_GCM_TAG_SIZE;
  ptext_len = plain_len;
  g_mutex_lock (&key->lock);
  ret = gnutls_aead_cipher_decrypt (key->handle, sealed, AES_GCM_NONCE_SIZE, ad, ad_len,
                                    AES_GCM_TAG_SIZE, sealed + AES_GCM_NONCE_SIZE,
                                    sealed_len - AES_GCM_NONCE_SIZE, out, &ptext_len);
  g_mutex_unlock (&key->lock);
  if (ret < 0)
    {
      /* GnuTLS decrypts into @out before it compares the tag: wipe the
       * unauthenticated plaintext so no caller can act on it by mistake. */
      if (plain_len > 0)
        gnutls_memset (out, 0, plain_len);
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_AUTH_FAILED,
                   "AES-GCM authentication failed (tampered data, wrong key or wrong "
                   "associated data): %s",
                   gnutls_strerror (ret));
      return FALSE;
    }
  return TRUE;
}

static const GossipCipherVTable aes_gcm_vtable = {
  .struct_size = sizeof (GossipCipherVTable),
  .wire_id = 1,
  .nonce_size = AES_GCM_NONCE_SIZE,
  .tag_size = AES_GCM_TAG_SIZE,
  .key_sizes = aes_gcm_key_sizes,
  .key_new = aes_gcm_key_new,
  .key_free = aes_gcm_key_free,
  .seal = aes_gcm_seal,
  .open = aes_gcm_open,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_CIPHER, "aes-gcm", PACKAGE_VERSION,
                      "AES-GCM with 128, 192 or 256-bit keys (GnuTLS)", NULL, &aes_gcm_vtable);
