/* gossip-frame.h: the packet pipeline and the keyring.
 *
 * Sending: message (GVariant) -> codec -> compressor (only when the encoding
 * is at least compress_min_size bytes and compression makes it smaller) ->
 * cipher (AEAD; the 12-byte frame header is the associated data) -> frame.
 * Receiving runs the same steps backwards and checks every length before it
 * allocates anything.
 *
 * Frame header (docs/PROTOCOL.md has the details):
 *
 *   0  magic 0x9E        6-7  key id (big-endian; 0 when not encrypted)
 *   1  frame version     8-11 body length (big-endian)
 *   2  flags             12-  body: [nonce] payload [tag]
 *   3  codec id (0 = notice)
 *   4  compressor id (0 = none)
 *   5  cipher id (0 = none)
 *
 * A notice (codec id 0, no flags, plaintext) is not a message: its body is a
 * short UTF-8 line a node sends back on a reliable connection whose frames
 * it refused for a plugin mismatch, so the sender learns why
 * (docs/PROTOCOL.md, "Notices").  It needs no plugin to read.
 */
#pragma once

#include <glib-object.h>
#include "gossip-codec.h"
#include "gossip-cipher.h"
#include "gossip-compressor.h"
#include "gossip-version.h"

G_BEGIN_DECLS

#define GOSSIP_FRAME_MAGIC           0x9E
#define GOSSIP_FRAME_HEADER_SIZE     12
#define GOSSIP_FRAME_FLAG_COMPRESSED 0x01
#define GOSSIP_FRAME_FLAG_ENCRYPTED  0x02
#define GOSSIP_FRAME_FLAGS_KNOWN     0x03

/** GOSSIP_FRAME_CODEC_NOTICE: the codec id of a notice frame. */
#define GOSSIP_FRAME_CODEC_NOTICE 0
/** GOSSIP_FRAME_CODEC_RAW: the codec id of a stream's data frame: its body is
 * the application's bytes, not a codec's encoding. */
#define GOSSIP_FRAME_CODEC_RAW 255
/** GOSSIP_FRAME_NOTICE_MAX_TEXT: bytes of a notice's text that are sent or read. */
#define GOSSIP_FRAME_NOTICE_MAX_TEXT 256

#define GOSSIP_FRAME_ERROR (gossip_frame_error_quark ())
GQuark gossip_frame_error_quark (void);

/**
 * GossipFrameError:
 * @GOSSIP_FRAME_ERROR_TRUNCATED: shorter than its header or its body length says
 * @GOSSIP_FRAME_ERROR_BAD_MAGIC: not a libgossip frame
 * @GOSSIP_FRAME_ERROR_UNKNOWN_VERSION: a frame version this build does not speak
 * @GOSSIP_FRAME_ERROR_BAD_FLAGS: flag bits this build does not know
 * @GOSSIP_FRAME_ERROR_TOO_BIG: larger than the configured maximum frame size
 * @GOSSIP_FRAME_ERROR_TRAILING: bytes after the body the header announces
 * @GOSSIP_FRAME_ERROR_CODEC_MISMATCH: encoded with another codec than ours
 * @GOSSIP_FRAME_ERROR_COMPRESSOR_MISMATCH: compressed with a compressor we do not have
 * @GOSSIP_FRAME_ERROR_CIPHER_MISMATCH: encrypted with another cipher, or encrypted
 *   while we have no keyring
 * @GOSSIP_FRAME_ERROR_NOT_ENCRYPTED: plaintext while we require encryption
 * @GOSSIP_FRAME_ERROR_UNKNOWN_KEY: no key in our keyring has the frame's key id
 * @GOSSIP_FRAME_ERROR_AUTH_FAILED: authentication failed (tampered, or wrong key)
 * @GOSSIP_FRAME_ERROR_DECOMPRESS_FAILED: corrupt or over-large compressed body
 * @GOSSIP_FRAME_ERROR_DECODE_FAILED: the codec could not decode the body
 * @GOSSIP_FRAME_ERROR_ENCODE_FAILED: sending side: the message cannot be encoded
 *   or the frame would exceed the maximum size
 * @GOSSIP_FRAME_ERROR_NOTICE: not a message but a notice (codec id 0); the
 *   error's message is the notice's text, made valid UTF-8 without control
 *   characters and cut at %GOSSIP_FRAME_NOTICE_MAX_TEXT bytes
 * @GOSSIP_FRAME_ERROR_N_ERRORS: number of reasons (for counter arrays)
 */
typedef enum
{
  GOSSIP_FRAME_ERROR_TRUNCATED,
  GOSSIP_FRAME_ERROR_BAD_MAGIC,
  GOSSIP_FRAME_ERROR_UNKNOWN_VERSION,
  GOSSIP_FRAME_ERROR_BAD_FLAGS,
  GOSSIP_FRAME_ERROR_TOO_BIG,
  GOSSIP_FRAME_ERROR_TRAILING,
  GOSSIP_FRAME_ERROR_CODEC_MISMATCH,
  GOSSIP_FRAME_ERROR_COMPRESSOR_MISMATCH,
  GOSSIP_FRAME_ERROR_CIPHER_MISMATCH,
  GOSSIP_FRAME_ERROR_NOT_ENCRYPTED,
  GOSSIP_FRAME_ERROR_UNKNOWN_KEY,
  GOSSIP_FRAME_ERROR_AUTH_FAILED,
  GOSSIP_FRAME_ERROR_DECOMPRESS_FAILED,
  GOSSIP_FRAME_ERROR_DECODE_FAILED,
  GOSSIP_FRAME_ERROR_ENCODE_FAILED,
  GOSSIP_FRAME_ERROR_NOTICE,
  GOSSIP_FRAME_ERROR_N_ERRORS,
} GossipFrameError;

const char *gossip_frame_error_to_string (GossipFrameError reason);

/**
 * GossipKeyring:
 *
 * The keys a node accepts: one primary key that seals every outgoing frame,
 * and older keys still accepted for opening, so keys rotate without downtime
 * (add the new key everywhere, make it primary everywhere, remove the old).
 */
typedef struct _GossipKeyring GossipKeyring;

#define GOSSIP_TYPE_KEYRING (gossip_keyring_get_type ())
GType gossip_keyring_get_type (void) G_GNUC_CONST;

GossipKeyring *gossip_keyring_new (const GossipCipherVTable *cipher);
GossipKeyring *gossip_keyring_ref (GossipKeyring *keyring);
void gossip_keyring_unref (GossipKeyring *keyring);
gboolean gossip_keyring_add_key (GossipKeyring *keyring, const guint8 *key, gsize key_len,
                                 gboolean primary, GError **error);
gboolean gossip_keyring_add_key_base64 (GossipKeyring *keyring, const char *key_base64,
                                        gboolean primary, GError **error);
gboolean gossip_keyring_use_key (GossipKeyring *keyring, const guint8 *key, gsize key_len,
                                 GError **error);
gboolean gossip_keyring_remove_key (GossipKeyring *keyring, const guint8 *key, gsize key_len,
                                    GError **error);
guint gossip_keyring_get_n_keys (GossipKeyring *keyring);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GossipKeyring, gossip_keyring_unref)

/**
 * GossipPipeline:
 *
 * One node's packet pipeline: codec, optional compressor, optional keyring,
 * with the size limits and a counter per rejection reason.  Plugin instances
 * are created once, when the pipeline is.
 */
typedef struct _GossipPipeline GossipPipeline;

#define GOSSIP_TYPE_PIPELINE (gossip_pipeline_get_type ())
GType gossip_pipeline_get_type (void) G_GNUC_CONST;

GossipPipeline *gossip_pipeline_new (const GossipCodecVTable *codec,
                                     const GossipCompressorVTable *compressor, int compress_level,
                                     GossipKeyring *keyring, gsize compress_min_size,
                                     gsize max_frame_size, GError **error);
GossipPipeline *gossip_pipeline_ref (GossipPipeline *pipeline);
void gossip_pipeline_unref (GossipPipeline *pipeline);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GossipPipeline, gossip_pipeline_unref)

GBytes *gossip_pipeline_encode (GossipPipeline *pipeline, GVariant *message, GError **error);
GVariant *gossip_pipeline_decode (GossipPipeline *pipeline, const guint8 *frame, gsize len,
                                  GError **error);
guint64 gossip_pipeline_get_rejected (GossipPipeline *pipeline, GossipFrameError reason);
guint64 gossip_pipeline_get_rejected_total (GossipPipeline *pipeline);
gsize gossip_pipeline_get_overhead (GossipPipeline *pipeline);

GBytes *gossip_frame_new_notice (const char *text);
GBytes *gossip_bytes_new_pooled (gsize size, guint8 **data);

G_END_DECLS
