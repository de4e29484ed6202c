/* gossip-cipher-chacha20-poly1305.c: ChaCha20-Poly1305 (RFC 8439) through
 * GnuTLS's AEAD API.
 *
 * Sealed layout: nonce (12 bytes) || ciphertext || tag (16 bytes), the same
 * as AES-GCM's.  Keys are 256 bits only.  ChaCha20-Poly1305 is the choice on
 * machines without AES instructions, where it is both faster than AES-GCM
 * and free of table-lookup timing leaks.
 *
 * The cipher context is built once in key_new and reused for every packet.
 * Nonces are 96 random bits per message; as with AES-GCM, rotate keys (the
 * keyring holds several) long before 2^32 messages under one key.
 *
 * Sealing and opening are shared with the other GnuTLS ciphers
 * (../gnutls-aead.h).
 */
#include "config.h"

#include <gmodule.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-cipher.h"
#include "../gnutls-aead.h"

#define CHACHA20_POLY1305_KEY_SIZE 32

static const gsize chacha20_poly1305_key_sizes[] = { CHACHA20_POLY1305_KEY_SIZE, 0 };

static gpointer
chacha20_poly1305_key_new (const guint8 *key_bytes, gsize key_len, GError **error)
{
  /* GnuTLS does not check the key length against the algorithm. */
  if (key_len != CHACHA20_POLY1305_KEY_SIZE)
    {
      g_set_error (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY,
                   "ChaCha20-Poly1305 takes %d-byte keys, not %" G_GSIZE_FORMAT " bytes",
                   CHACHA20_POLY1305_KEY_SIZE, key_len);
      return NULL;
    }
  return gossip_gnutls_aead_key_new (GNUTLS_CIPHER_CHACHA20_POLY1305, key_bytes, key_len, error);
}

static const GossipCipherVTable chacha20_poly1305_vtable = {
  .struct_size = sizeof (GossipCipherVTable),
  .wire_id = 2,
  .nonce_size = GOSSIP_GNUTLS_AEAD_NONCE_SIZE,
  .tag_size = GOSSIP_GNUTLS_AEAD_TAG_SIZE,
  .key_sizes = chacha20_poly1305_key_sizes,
  .key_new = chacha20_poly1305_key_new,
  .key_free = gossip_gnutls_aead_key_free,
  .seal = gossip_gnutls_aead_seal,
  .open = gossip_gnutls_aead_open,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_CIPHER, "chacha20-poly1305", PACKAGE_VERSION,
                      "ChaCha20-Poly1305 with 256-bit keys (GnuTLS)", NULL,
                      &chacha20_poly1305_vtable);
