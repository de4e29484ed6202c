/* gossip-cipher.h: the cipher plugin interface (AEAD).
 *
 * A cipher seals a plaintext into nonce || ciphertext || tag, authenticating
 * extra "associated data" (the frame header) alongside.  The plugin owns nonce
 * generation: a fresh random nonce per message.  Keys are set up once with
 * @key_new and reused for every packet.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GOSSIP_CIPHER_ERROR (gossip_cipher_error_quark ())
GQuark gossip_cipher_error_quark (void);

/**
 * GossipCipherError:
 * @GOSSIP_CIPHER_ERROR_BAD_KEY: the key has a size the cipher does not take
 * @GOSSIP_CIPHER_ERROR_AUTH_FAILED: tag mismatch: tampered data, wrong key or wrong associated data
 * @GOSSIP_CIPHER_ERROR_TOO_SHORT: input shorter than nonce + tag
 * @GOSSIP_CIPHER_ERROR_FAILED: the crypto library failed otherwise
 */
typedef enum
{
  GOSSIP_CIPHER_ERROR_BAD_KEY,
  GOSSIP_CIPHER_ERROR_AUTH_FAILED,
  GOSSIP_CIPHER_ERROR_TOO_SHORT,
  GOSSIP_CIPHER_ERROR_FAILED,
} GossipCipherError;

/**
 * GossipCipherVTable:
 * @struct_size: sizeof (GossipCipherVTable) when the plugin was built
 * @wire_id: id in frame headers (1 = AES-GCM, 2 = ChaCha20-Poly1305; third-party 128-255)
 * @nonce_size: bytes of nonce prepended to the sealed output
 * @tag_size: bytes of tag appended to the sealed output
 * @key_sizes: 0-terminated list of accepted key sizes in bytes
 * @key_new: set up a key (key schedule etc.) once
 * @key_free: free a key made by @key_new
 * @seal: write nonce || ciphertext || tag to @out, which has room for
 *   @plain_len + @nonce_size + @tag_size bytes
 * @open: verify and decrypt @sealed (nonce || ciphertext || tag) into @out,
 *   which has room for @sealed_len - @nonce_size - @tag_size bytes; on
 *   failure nothing of @out may be used
 */
typedef struct
{
  gsize struct_size;
  guint8 wire_id;
  gsize nonce_size;
  gsize tag_size;
  const gsize *key_sizes;
  gpointer (*key_new) (const guint8 *key, gsize key_len, GError **error);
  void (*key_free) (gpointer key);
  gboolean (*seal) (gpointer key, const guint8 *ad, gsize ad_len, const guint8 *plain,
                    gsize plain_len, guint8 *out, GError **error);
  gboolean (*open) (gpointer key, const guint8 *ad, gsize ad_len, const guint8 *sealed,
                    gsize sealed_len, guint8 *out, GError **error);
  /*< private >*/
  gpointer reserved[8];
} GossipCipherVTable;

G_END_DECLS
