/* gossip-cipher-aes-gcm.c: AES-GCM through GnuTLS's AEAD API.
 *
 * Sealed layout: nonce (12 bytes) || ciphertext || tag (16 bytes).
 *
 * The key schedule and GCM context are built once in key_new and reused for
 * every packet; the system we replace rebuilt both per packet.  Nonces are 96
 * random bits per message, which NIST SP 800-38D bounds at 2^32 messages per
 * key: rotate keys (the keyring holds several) long before that.
 *
 * Sealing and opening are shared with the other GnuTLS ciphers
 * (../gnutls-aead.h); what is AES-GCM's own is the choice of key sizes.
 */
#include "config.h"

#include <gmodule.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-cipher.h"
#include "../gnutls-aead.h"

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

static gpointer
aes_gcm_key_new (const guint8 *key_bytes, gsize key_len, GError **error)
{
  gnutls_cipher_algorithm_t algorithm = algorithm_for_key_size (key_len);

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
  return gossip_gnutls_aead_key_new (algorithm, key_bytes, key_len, error);
}

static const GossipCipherVTable aes_gcm_vtable = {
  .struct_size = sizeof (GossipCipherVTable),
  .wire_id = 1,
  .nonce_size = GOSSIP_GNUTLS_AEAD_NONCE_SIZE,
  .tag_size = GOSSIP_GNUTLS_AEAD_TAG_SIZE,
  .key_sizes = aes_gcm_key_sizes,
  .key_new = aes_gcm_key_new,
  .key_free = gossip_gnutls_aead_key_free,
  .seal = gossip_gnutls_aead_seal,
  .open = gossip_gnutls_aead_open,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_CIPHER, "aes-gcm", PACKAGE_VERSION,
                      "AES-GCM with 128, 192 or 256-bit keys (GnuTLS)", NULL, &aes_gcm_vtable);
