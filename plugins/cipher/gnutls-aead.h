/* gnutls-aead.h: what the GnuTLS cipher plugins share, header-only.
 *
 * Each cipher plugin is its own shared object, so the code is included as
 * static inline functions rather than linked from a common library.  A plugin
 * picks the algorithm for a key size and fills in its vtable; sealing and
 * opening, the nonce and the layout are the same for every AEAD here:
 *
 *   nonce (GOSSIP_GNUTLS_AEAD_NONCE_SIZE) || ciphertext || tag (GOSSIP_GNUTLS_AEAD_TAG_SIZE)
 *
 * The GnuTLS handle (key schedule, cipher context) is built once per key and
 * reused for every packet.  Nonces are 96 random bits per message, drawn
 * from GnuTLS's nonce generator.
 */
#pragma once

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "gossip/gossip-cipher.h"

#define GOSSIP_GNUTLS_AEAD_NONCE_SIZE 12
#define GOSSIP_GNUTLS_AEAD_TAG_SIZE   16

typedef struct
{
  gnutls_aead_cipher_hd_t handle;
  gnutls_cipher_algorithm_t algorithm;
  /* A GnuTLS AEAD handle keeps per-message state (counter, MAC) between
   * setting the nonce and producing the tag, so two threads sealing with one
   * key at once would corrupt each other's output. */
  GMutex lock;
} GossipGnutlsAeadKey;

/* Sets up @algorithm with @key_bytes.  GnuTLS does not check the key length
 * against the algorithm, so the caller must have. */
static inline gpointer
gossip_gnutls_aead_key_new (gnutls_cipher_algorithm_t algorithm, const guint8 *key_bytes,
                            gsize key_len, GError **error)
{
  gnutls_datum_t datum;
  GossipGnutlsAeadKey *key;
  int ret;

  datum.data = (unsigned char *) key_bytes;
  datum.size = (unsigned int) key_len;
  key = g_new0 (GossipGnutlsAeadKey, 1);
  ret = gnutls_aead_cipher_init (&key->handle, algorithm, &datum);
  if (ret < 0)
    {
      g_free (key);
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_FAILED,
                   "GnuTLS cannot set up %s: %s", gnutls_cipher_get_name (algorithm),
                   gnutls_strerror (ret));
      return NULL;
    }
  key->algorithm = algorithm;
  g_mutex_init (&key->lock);
  return key;
}

static inline void
gossip_gnutls_aead_key_free (gpointer data)
{
  GossipGnutlsAeadKey *key = data;

  if (key == NULL)
    return;
  /* Deinit wipes the expanded key; no copy of the key is kept here. */
  gnutls_aead_cipher_deinit (key->handle);
  g_mutex_clear (&key->lock);
  g_free (key);
}

static inline gboolean
gossip_gnutls_aead_seal (gpointer data, const guint8 *ad, gsize ad_len, const guint8 *plain,
                         gsize plain_len, guint8 *out, GError **error)
{
  GossipGnutlsAeadKey *key = data;
  size_t ctext_len;
  int ret;

  if (plain_len > G_MAXSIZE - GOSSIP_GNUTLS_AEAD_NONCE_SIZE - GOSSIP_GNUTLS_AEAD_TAG_SIZE)
    {
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_FAILED,
                   "plaintext of %" G_GSIZE_FORMAT " bytes is too large to seal", plain_len);
      return FALSE;
    }

  ret = gnutls_rnd (GNUTLS_RND_NONCE, out, GOSSIP_GNUTLS_AEAD_NONCE_SIZE);
  if (ret < 0)
    {
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_FAILED,
                   "cannot draw a random nonce: %s", gnutls_strerror (ret));
      return FALSE;
    }

  ctext_len = plain_len + GOSSIP_GNUTLS_AEAD_TAG_SIZE;
  g_mutex_lock (&key->lock);
  ret = gnutls_aead_cipher_encrypt (key->handle, out, GOSSIP_GNUTLS_AEAD_NONCE_SIZE, ad, ad_len,
                                    GOSSIP_GNUTLS_AEAD_TAG_SIZE, plain, plain_len,
                                    out + GOSSIP_GNUTLS_AEAD_NONCE_SIZE, &ctext_len);
  g_mutex_unlock (&key->lock);
  if (ret < 0 || ctext_len != plain_len + GOSSIP_GNUTLS_AEAD_TAG_SIZE)
    {
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_FAILED,
                   "%s encryption failed: %s", gnutls_cipher_get_name (key->algorithm),
                   ret < 0 ? gnutls_strerror (ret) : "unexpected ciphertext length");
      return FALSE;
    }
  return TRUE;
}

static inline gboolean
gossip_gnutls_aead_open (gpointer data, const guint8 *ad, gsize ad_len, const guint8 *sealed,
                         gsize sealed_len, guint8 *out, GError **error)
{
  GossipGnutlsAeadKey *key = data;
  gsize plain_len;
  size_t ptext_len;
  int ret;

  if (sealed_len < GOSSIP_GNUTLS_AEAD_NONCE_SIZE + GOSSIP_GNUTLS_AEAD_TAG_SIZE)
    {
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_TOO_SHORT,
                   "sealed data of %" G_GSIZE_FORMAT
                   " bytes is shorter than a %s nonce and tag (%d bytes)",
                   sealed_len, gnutls_cipher_get_name (key->algorithm),
                   GOSSIP_GNUTLS_AEAD_NONCE_SIZE + GOSSIP_GNUTLS_AEAD_TAG_SIZE);
      return FALSE;
    }

  plain_len = sealed_len - GOSSIP_GNUTLS_AEAD_NONCE_SIZE - GOSSIP_GNUTLS_AEAD_TAG_SIZE;
  ptext_len = plain_len;
  g_mutex_lock (&key->lock);
  ret = gnutls_aead_cipher_decrypt (key->handle, sealed, GOSSIP_GNUTLS_AEAD_NONCE_SIZE, ad, ad_len,
                                    GOSSIP_GNUTLS_AEAD_TAG_SIZE,
                                    sealed + GOSSIP_GNUTLS_AEAD_NONCE_SIZE,
                                    sealed_len - GOSSIP_GNUTLS_AEAD_NONCE_SIZE, out, &ptext_len);
  g_mutex_unlock (&key->lock);
  if (ret < 0 || ptext_len != plain_len)
    {
      /* GnuTLS may decrypt into @out before it compares the tag: wipe the
       * unauthenticated plaintext so no caller can act on it by mistake. */
      if (plain_len > 0)
        gnutls_memset (out, 0, plain_len);
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_AUTH_FAILED,
                   "%s authentication failed (tampered data, wrong key or wrong "
                   "associated data): %s",
                   gnutls_cipher_get_name (key->algorithm),
                   ret < 0 ? gnutls_strerror (ret) : "unexpected plaintext length");
      return FALSE;
    }
  return TRUE;
}
