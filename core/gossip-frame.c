/* gossip-frame.c: the packet pipeline.
 *
 *   send:    GVariant -> codec -> [compressor] -> [cipher] -> frame
 *   receive: frame -> checks -> [cipher] -> [compressor] -> codec -> GVariant
 *
 * Design points (each answers a failure of the systems we replace):
 *  - the whole 12-byte header is the AEAD associated data, so flipping a flag
 *    or a length is detected, not obeyed;
 *  - every length is checked against what arrived and against the configured
 *    maximum before anything is allocated or decrypted;
 *  - codec, compressor and cipher ids travel in the header, so a node with
 *    other plugins fails loudly with a reason instead of decoding garbage;
 *  - plugin instances and cipher keys are set up once per pipeline, and the
 *    scratch buffers are reused: a frame costs one allocation for its output.
 */
#include "config.h"

#include <string.h>

#include "gossip/gossip-frame.h"
#include "gossip-frame-private.h"

struct _GossipPipeline
{
  gatomicrefcount ref_count;
  const GossipCodecVTable *codec;
  gpointer codec_instance;
  const GossipCompressorVTable *compressor;
  gpointer compressor_instance;
  GossipKeyring *keyring;
  gsize compress_min_size;
  gsize max_frame_size;
  GByteArray *scratch_a; /* encoded message, or decrypted body */
  GByteArray *scratch_b; /* compressed, or decompressed, body */
  guint64 rejected[GOSSIP_FRAME_ERROR_N_ERRORS];
};

G_DEFINE_BOXED_TYPE (GossipPipeline, gossip_pipeline, gossip_pipeline_ref, gossip_pipeline_unref)

static const char *const reason_names[GOSSIP_FRAME_ERROR_N_ERRORS] = {
  [GOSSIP_FRAME_ERROR_TRUNCATED] = "truncated",
  [GOSSIP_FRAME_ERROR_BAD_MAGIC] = "bad-magic",
  [GOSSIP_FRAME_ERROR_UNKNOWN_VERSION] = "unknown-version",
  [GOSSIP_FRAME_ERROR_BAD_FLAGS] = "bad-flags",
  [GOSSIP_FRAME_ERROR_TOO_BIG] = "too-big",
  [GOSSIP_FRAME_ERROR_TRAILING] = "trailing-bytes",
  [GOSSIP_FRAME_ERROR_CODEC_MISMATCH] = "codec-mismatch",
  [GOSSIP_FRAME_ERROR_COMPRESSOR_MISMATCH] = "compressor-mismatch",
  [GOSSIP_FRAME_ERROR_CIPHER_MISMATCH] = "cipher-mismatch",
  [GOSSIP_FRAME_ERROR_NOT_ENCRYPTED] = "not-encrypted",
  [GOSSIP_FRAME_ERROR_UNKNOWN_KEY] = "unknown-key",
  [GOSSIP_FRAME_ERROR_AUTH_FAILED] = "auth-failed",
  [GOSSIP_FRAME_ERROR_DECOMPRESS_FAILED] = "decompress-failed",
  [GOSSIP_FRAME_ERROR_DECODE_FAILED] = "decode-failed",
  [GOSSIP_FRAME_ERROR_ENCODE_FAILED] = "encode-failed",
  [GOSSIP_FRAME_ERROR_NOTICE] = "notice",
};

/**
 * gossip_frame_error_to_string:
 * @reason: a #GossipFrameError
 *
 * Returns: a short stable name for counters and logs, e.g. "auth-failed"
 */
const char *
gossip_frame_error_to_string (GossipFrameError reason)
{
  if ((guint) reason >= GOSSIP_FRAME_ERROR_N_ERRORS)
    return "unknown";
  return reason_names[reason];
}

/**
 * gossip_pipeline_new:
 * @codec: the codec (required)
 * @compressor: (nullable): the compressor, or %NULL for none
 * @compress_level: level for the compressor, or %GOSSIP_COMPRESSOR_LEVEL_DEFAULT
 * @keyring: (nullable): keys for the cipher, or %NULL for plaintext frames
 * @compress_min_size: encodings shorter than this are never compressed
 * @max_frame_size: the largest frame sent or accepted
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a pipeline, or %NULL if a plugin instance could
 *   not be created or @keyring is empty
 */
GossipPipeline *
gossip_pipeline_new (const GossipCodecVTable *codec, const GossipCompressorVTable *compressor,
                     int compress_level, GossipKeyring *keyring, gsize compress_min_size,
                     gsize max_frame_size, GError **error)
{
  g_autoptr (GossipPipeline) self = NULL;

  g_return_val_if_fail (codec != NULL, NULL);
  g_return_val_if_fail (max_frame_size > GOSSIP_FRAME_HEADER_SIZE, NULL);
  g_return_val_if_fail (max_frame_size <= G_MAXUINT32, NULL);

  if (keyring != NULL && gossip_keyring_get_n_keys (keyring) == 0)
    {
      g_set_error_literal (error, GOSSIP_CIPHER_ERROR, GOSSIP_CIPHER_ERROR_BAD_KEY,
                           "a cipher is configured but the keyring holds no key");
      return NULL;
    }

  self = g_new0 (GossipPipeline, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->codec = codec;
  self->compressor = compressor;
  self->keyring = keyring ? gossip_keyring_ref (keyring) : NULL;
  self->compress_min_size = compress_min_size;
  self->max_frame_size = max_frame_size;
  self->scratch_a = g_byte_array_new ();
  self->scratch_b = g_byte_array_new ();
  self->codec_instance = codec->create (error);
  if (self->codec_instance == NULL)
    return NULL;
  if (compressor != NULL)
    {
      self->compressor_instance = compressor->create (compress_level, error);
      if (self->compressor_instance == NULL)
        return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * gossip_pipeline_ref:
 * @pipeline: a pipeline
 *
 * Returns: (transfer full): @pipeline
 */
GossipPipeline *
gossip_pipeline_ref (GossipPipeline *pipeline)
{
  g_atomic_ref_count_inc (&pipeline->ref_count);
  return pipeline;
}

/**
 * gossip_pipeline_unref:
 * @pipeline: (transfer full): a pipeline
 */
void
gossip_pipeline_unref (GossipPipeline *pipeline)
{
  if (!g_atomic_ref_count_dec (&pipeline->ref_count))
    return;
  if (pipeline->codec_instance != NULL)
    pipeline->codec->destroy (pipeline->codec_instance);
  if (pipeline->compressor_instance != NULL)
    pipeline->compressor->destroy (pipeline->compressor_instance);
  g_clear_pointer (&pipeline->keyring, gossip_keyring_unref);
  /* Scratch buffers held plaintext. */
  if (pipeline->scratch_a->data != NULL)
    explicit_bzero (pipeline->scratch_a->data, pipeline->scratch_a->len);
  if (pipeline->scratch_b->data != NULL)
    explicit_bzero (pipeline->scratch_b->data, pipeline->scratch_b->len);
  g_byte_array_unref (pipeline->scratch_a);
  g_byte_array_unref (pipeline->scratch_b);
  g_free (pipeline);
}

static void
write_header (guint8 *out, guint8 flags, guint8 codec_id, guint8 compressor_id, guint8 cipher_id,
              guint16 key_id, guint32 body_len)
{
  out[0] = GOSSIP_FRAME_MAGIC;
  out[1] = GOSSIP_FRAME_VERSION;
  out[2] = flags;
  out[3] = codec_id;
  out[4] = compressor_id;
  out[5] = cipher_id;
  out[6] = (guint8) (key_id >> 8);
  out[7] = (guint8) key_id;
  out[8] = (guint8) (body_len >> 24);
  out[9] = (guint8) (body_len >> 16);
  out[10] = (guint8) (body_len >> 8);
  out[11] = (guint8) body_len;
}

static GBytes *seal (GossipPipeline *self, guint8 codec_id, const guint8 *data, gsize len,
                     GError **error);

/**
 * gossip_pipeline_encode:
 * @pipeline: a pipeline
 * @message: the message to send
 * @error: return location for a #GError (%GOSSIP_FRAME_ERROR_ENCODE_FAILED)
 *
 * Turns a message into a frame ready for a transport.
 *
 * Returns: (transfer full): the frame
 */
GBytes *
gossip_pipeline_encode (GossipPipeline *self, GVariant *message, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (message != NULL, NULL);

  g_byte_array_set_size (self->scratch_a, 0);
  if (!self->codec->encode (self->codec_instance, message, self->scratch_a, &local_error))
    {
      g_set_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_ENCODE_FAILED,
                   "cannot encode message: %s", local_error->message);
      return NULL;
    }
  return seal (self, self->codec->wire_id, self->scratch_a->data, self->scratch_a->len, error);
}

/* Encoded @data (scratch_a's, or a caller's) -> [compressor] -> [cipher] ->
 * frame. */
static GBytes *
seal (GossipPipeline *self, guint8 codec_id, const guint8 *data, gsize len, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  const guint8 *payload = data;
  gsize payload_len = len;
  guint8 flags = 0;
  gsize overhead = 0, total;
  guint8 *out;
  GBytes *frame;
  GossipKeyringKey *key = NULL;

  /* Compress only when it pays: small encodings rarely shrink, and a
   * compressed frame that is not smaller would cost the receiver for nothing. */
  if (self->compressor != NULL && len >= self->compress_min_size)
    {
      g_byte_array_set_size (self->scratch_b, 0);
      if (!self->compressor->compress (self->compressor_instance, data, len, self->scratch_b,
                                       &local_error))
        {
          g_set_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_ENCODE_FAILED,
                       "cannot compress message: %s", local_error->message);
          return NULL;
        }
      if (self->scratch_b->len < len)
        {
          payload = self->scratch_b->data;
          payload_len = self->scratch_b->len;
          flags |= GOSSIP_FRAME_FLAG_COMPRESSED;
        }
    }

  if (self->keyring != NULL)
    {
      key = _gossip_keyring_get_primary (self->keyring);
      overhead = key->cipher->nonce_size + key->cipher->tag_size;
      flags |= GOSSIP_FRAME_FLAG_ENCRYPTED;
    }

  if (payload_len > self->max_frame_size - GOSSIP_FRAME_HEADER_SIZE - overhead)
    {
      g_set_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_ENCODE_FAILED,
                   "message of %" G_GSIZE_FORMAT
                   " bytes does not fit the maximum frame size of %" G_GSIZE_FORMAT " bytes",
                   payload_len, self->max_frame_size);
      return NULL;
    }
  total = GOSSIP_FRAME_HEADER_SIZE + overhead + payload_len;
  frame = gossip_bytes_new_pooled (total, &out);
  write_header (out, flags, codec_id, self->compressor ? self->compressor->wire_id : 0,
                key ? key->cipher->wire_id : 0, key ? key->id : 0,
                (guint32) (total - GOSSIP_FRAME_HEADER_SIZE));
  if (key != NULL)
    {
      if (!key->cipher->seal (key->cipher_key, out, GOSSIP_FRAME_HEADER_SIZE, payload, payload_len,
                              out + GOSSIP_FRAME_HEADER_SIZE, &local_error))
        {
          g_bytes_unref (frame);
          g_set_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_ENCODE_FAILED,
                       "cannot encrypt message: %s", local_error->message);
          return NULL;
        }
    }
  else
    memcpy (out + GOSSIP_FRAME_HEADER_SIZE, payload, payload_len);
  return frame;
}

/* Frames whose body is bytes of the caller's, not a codec's encoding: the
 * stream layer's data, @prefix (its stream id and frame number) then
 * @data.  Compressed and encrypted like any frame.  Plaintext and
 * uncompressed, the two parts are copied straight into the frame; else they
 * are put together in a scratch buffer first, since compressors and ciphers
 * take one buffer. */
GBytes *
_gossip_pipeline_seal_bytes (GossipPipeline *self, const guint8 *prefix, gsize prefix_len,
                             const guint8 *data, gsize len, GError **error)
{
  gsize total = prefix_len + len;
  guint8 *out;
  GBytes *frame;

  if (self->keyring == NULL && (self->compressor == NULL || total < self->compress_min_size))
    {
      if (total > self->max_frame_size - GOSSIP_FRAME_HEADER_SIZE)
        {
          g_set_error (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_ENCODE_FAILED,
                       "message of %" G_GSIZE_FORMAT
                       " bytes does not fit the maximum frame size of %" G_GSIZE_FORMAT " bytes",
                       total, self->max_frame_size);
          return NULL;
        }
      frame = gossip_bytes_new_pooled (GOSSIP_FRAME_HEADER_SIZE + total, &out);
      write_header (out, 0, GOSSIP_FRAME_CODEC_RAW,
                    self->compressor ? self->compressor->wire_id : 0, 0, 0, (guint32) total);
      memcpy (out + GOSSIP_FRAME_HEADER_SIZE, prefix, prefix_len);
      memcpy (out + GOSSIP_FRAME_HEADER_SIZE + prefix_len, data, len);
      return frame;
    }
  g_byte_array_set_size (self->scratch_a, 0);
  g_byte_array_append (self->scratch_a, prefix, (guint) prefix_len);
  g_byte_array_append (self->scratch_a, data, (guint) len);
  return seal (self, GOSSIP_FRAME_CODEC_RAW, self->scratch_a->data, self->scratch_a->len, error);
}

gboolean
_gossip_frame_parse_header (const guint8 *frame, gsize len, gsize max_frame_size,
                            GossipFrameHeader *header, GossipFrameError *reason, GError **error)
{
#define REJECT(code, ...)                                                                          \
  G_STMT_START                                                                                     \
  {                                                                                                \
    *reason = (code);                                                                              \
    g_set_error (error, GOSSIP_FRAME_ERROR, (code), __VA_ARGS__);                                  \
    return FALSE;                                                                                  \
  }                                                                                                \
  G_STMT_END

  if (len > max_frame_size)
    REJECT (GOSSIP_FRAME_ERROR_TOO_BIG,
            "frame of %" G_GSIZE_FORMAT " bytes exceeds the maximum of %" G_GSIZE_FORMAT, len,
            max_frame_size);
  if (len < GOSSIP_FRAME_HEADER_SIZE)
    REJECT (GOSSIP_FRAME_ERROR_TRUNCATED, "frame of %" G_GSIZE_FORMAT " bytes has no full header",
            len);
  if (frame[0] != GOSSIP_FRAME_MAGIC)
    REJECT (GOSSIP_FRAME_ERROR_BAD_MAGIC, "not a libgossip frame (magic 0x%02x)", frame[0]);
  header->version = frame[1];
  if (header->version != GOSSIP_FRAME_VERSION)
    REJECT (GOSSIP_FRAME_ERROR_UNKNOWN_VERSION,
            "frame version %u is not spoken here (this node speaks %u)", header->version,
            GOSSIP_FRAME_VERSION);
  header->flags = frame[2];
  if (header->flags & ~GOSSIP_FRAME_FLAGS_KNOWN)
    REJECT (GOSSIP_FRAME_ERROR_BAD_FLAGS, "unknown frame flags 0x%02x", header->flags);
  header->codec_id = frame[3];
  header->compressor_id = frame[4];
  header->cipher_id = frame[5];
  header->key_id = (guint16) ((frame[6] << 8) | frame[7]);
  header->body_len = ((guint32) frame[8] << 24) | ((guint32) frame[9] << 16)
                     | ((guint32) frame[10] << 8) | frame[11];
  if (!(header->flags & GOSSIP_FRAME_FLAG_ENCRYPTED) && (header->cipher_id || header->key_id))
    REJECT (GOSSIP_FRAME_ERROR_BAD_FLAGS, "plaintext frame names a cipher or key");
  if (header->body_len > len - GOSSIP_FRAME_HEADER_SIZE)
    REJECT (GOSSIP_FRAME_ERROR_TRUNCATED,
            "frame announces %u body bytes but carries %" G_GSIZE_FORMAT, header->body_len,
            len - GOSSIP_FRAME_HEADER_SIZE);
  if (header->body_len < len - GOSSIP_FRAME_HEADER_SIZE)
    REJECT (GOSSIP_FRAME_ERROR_TRAILING, "%" G_GSIZE_FORMAT " bytes follow the frame body",
            len - GOSSIP_FRAME_HEADER_SIZE - header->body_len);
#undef REJECT
  return TRUE;
}

static gboolean reject_frame (GossipPipeline *self, GossipFrameError reason, GError **error,
                              const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
reject_frame (GossipPipeline *self, GossipFrameError reason, GError **error, const char *format,
              ...)
{
  va_list args;

  self->rejected[reason]++;
  if (error != NULL)
    {
      va_start (args, format);
      *error = g_error_new_valist (GOSSIP_FRAME_ERROR, reason, format, args);
      va_end (args);
    }
  return FALSE;
}

/* Tries each key whose id matches; a 16-bit id can collide, so more than
 * one may. */
static gboolean
open_body (GossipPipeline *self, const GossipFrameHeader *header, const guint8 *frame,
           GossipFrameError *reason, GError **error)
{
  const GossipCipherVTable *cipher = _gossip_keyring_get_cipher (self->keyring);
  const guint8 *sealed = frame + GOSSIP_FRAME_HEADER_SIZE;
  gsize overhead = cipher->nonce_size + cipher->tag_size;
  gboolean id_known = FALSE;
  GossipKeyringKey *key;

  if (header->body_len < overhead)
    {
      *reason = GOSSIP_FRAME_ERROR_TRUNCATED;
      g_set_error (error, GOSSIP_FRAME_ERROR, *reason,
                   "encrypted body of %u bytes is shorter than nonce and tag", header->body_len);
      return FALSE;
    }
  g_byte_array_set_size (self->scratch_a, header->body_len - (guint) overhead);
  for (guint i = 0; (key = _gossip_keyring_get_key (self->keyring, i)) != NULL; i++)
    {
      if (key->id != header->key_id)
        continue;
      id_known = TRUE;
      if (cipher->open (key->cipher_key, frame, GOSSIP_FRAME_HEADER_SIZE, sealed, header->body_len,
                        self->scratch_a->data, NULL))
        return TRUE;
    }
  *reason = id_known ? GOSSIP_FRAME_ERROR_AUTH_FAILED : GOSSIP_FRAME_ERROR_UNKNOWN_KEY;
  g_set_error (error, GOSSIP_FRAME_ERROR, *reason,
               id_known ? "frame failed authentication (tampered, or sealed with another key)"
                        : "frame sealed with key id %04x, which is not in the keyring",
               header->key_id);
  return FALSE;
}

/* The longest prefix of @text (valid UTF-8) within @max bytes that does not
 * cut a character. */
static gsize
utf8_prefix_len (const char *text, gsize max)
{
  const char *p = text;

  while (*p != '\0')
    {
      const char *next = g_utf8_next_char (p);

      if ((gsize) (next - text) > max)
        break;
      p = next;
    }
  return (gsize) (p - text);
}

/**
 * gossip_frame_new_notice:
 * @text: a short line saying why frames were refused (valid UTF-8); only
 *   its first %GOSSIP_FRAME_NOTICE_MAX_TEXT bytes are sent
 *
 * Makes a notice frame: codec id 0, no compressor, no cipher, the text as
 * its body.  Any node can read it, whatever its plugins
 * (docs/PROTOCOL.md, "Notices").
 *
 * Returns: (transfer full): the frame
 */
GBytes *
gossip_frame_new_notice (const char *text)
{
  gsize len;
  guint8 *out;

  g_return_val_if_fail (text != NULL && g_utf8_validate (text, -1, NULL), NULL);

  len = utf8_prefix_len (text, GOSSIP_FRAME_NOTICE_MAX_TEXT);
  out = g_malloc (GOSSIP_FRAME_HEADER_SIZE + len);
  write_header (out, 0, GOSSIP_FRAME_CODEC_NOTICE, 0, 0, 0, (guint32) len);
  memcpy (out + GOSSIP_FRAME_HEADER_SIZE, text, len);
  return g_bytes_new_take (out, GOSSIP_FRAME_HEADER_SIZE + len);
}

/* A notice's text as something safe to log and show: at most
 * GOSSIP_FRAME_NOTICE_MAX_TEXT bytes of it, made valid UTF-8, control
 * characters (line breaks, escapes) replaced by spaces. */
static char *
notice_text (const guint8 *body, gsize len)
{
  g_autofree char *valid
      = g_utf8_make_valid ((const char *) body, (gssize) MIN (len, GOSSIP_FRAME_NOTICE_MAX_TEXT));
  GString *text = g_string_sized_new (strlen (valid) + 4);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c))
        g_string_append_c (text, ' ');
      else
        g_string_append_unichar (text, c);
    }
  if (len > GOSSIP_FRAME_NOTICE_MAX_TEXT)
    g_string_append (text, "...");
  return g_string_free (text, FALSE);
}

/**
 * gossip_pipeline_decode:
 * @pipeline: a pipeline
 * @frame: (array length=len): bytes as received
 * @len: their length
 * @error: return location for a #GOSSIP_FRAME_ERROR naming the reason
 *
 * Checks, opens, decompresses and decodes a frame.  A rejected frame
 * increments the counter for its reason.
 *
 * Returns: (transfer full) (nullable): the message, or %NULL if rejected
 */
static gboolean
open_frame (GossipPipeline *self, const guint8 *frame, gsize len, gboolean raw,
            const guint8 **body_out, gsize *body_len_out, GError **error)
{
  GossipFrameHeader header;
  GossipFrameError reason;
  g_autoptr (GError) local_error = NULL;
  const guint8 *body;
  gsize body_len;

  if (!_gossip_frame_parse_header (frame, len, self->max_frame_size, &header, &reason, error))
    {
      self->rejected[reason]++;
      return FALSE;
    }
  /* A notice needs none of our plugins, so it is recognised before them. */
  if (header.codec_id == GOSSIP_FRAME_CODEC_NOTICE)
    {
      g_autofree char *text = NULL;

      if (header.flags != 0 || header.compressor_id != 0)
        return reject_frame (self, GOSSIP_FRAME_ERROR_BAD_FLAGS, error,
                             "a notice frame must be plaintext and uncompressed");
      text = notice_text (frame + GOSSIP_FRAME_HEADER_SIZE, header.body_len);
      return reject_frame (self, GOSSIP_FRAME_ERROR_NOTICE, error, "%s", text);
    }
  if (header.codec_id != (raw ? GOSSIP_FRAME_CODEC_RAW : self->codec->wire_id))
    return reject_frame (
        self, GOSSIP_FRAME_ERROR_CODEC_MISMATCH, error,
        "frame encoded with codec id %u, this node uses %u: configure the same codec "
        "on every node",
        header.codec_id, self->codec->wire_id);

  if (header.flags & GOSSIP_FRAME_FLAG_ENCRYPTED)
    {
      if (self->keyring == NULL)
        return reject_frame (self, GOSSIP_FRAME_ERROR_CIPHER_MISMATCH, error,
                             "frame is encrypted (cipher id %u) but this node has no cipher",
                             header.cipher_id);
      if (header.cipher_id != _gossip_keyring_get_cipher (self->keyring)->wire_id)
        return reject_frame (self, GOSSIP_FRAME_ERROR_CIPHER_MISMATCH, error,
                             "frame encrypted with cipher id %u, this node uses %u",
                             header.cipher_id, _gossip_keyring_get_cipher (self->keyring)->wire_id);
      if (!open_body (self, &header, frame, &reason, &local_error))
        return reject_frame (self, reason, error, "%s", local_error->message);
      body = self->scratch_a->data;
      body_len = self->scratch_a->len;
    }
  else
    {
      if (self->keyring != NULL)
        return reject_frame (self, GOSSIP_FRAME_ERROR_NOT_ENCRYPTED, error,
                             "plaintext frame refused: this node requires encryption");
      body = frame + GOSSIP_FRAME_HEADER_SIZE;
      body_len = header.body_len;
    }

  if (header.flags & GOSSIP_FRAME_FLAG_COMPRESSED)
    {
      if (self->compressor == NULL || header.compressor_id != self->compressor->wire_id)
        return reject_frame (self, GOSSIP_FRAME_ERROR_COMPRESSOR_MISMATCH, error,
                             "frame compressed with compressor id %u, this node %s%u",
                             header.compressor_id,
                             self->compressor ? "uses " : "has no compressor, id ",
                             self->compressor ? self->compressor->wire_id : 0);
      g_byte_array_set_size (self->scratch_b, 0);
      if (!self->compressor->decompress (self->compressor_instance, body, body_len,
                                         self->max_frame_size, self->scratch_b, &local_error))
        return reject_frame (self, GOSSIP_FRAME_ERROR_DECOMPRESS_FAILED, error,
                             "cannot decompress frame: %s", local_error->message);
      body = self->scratch_b->data;
      body_len = self->scratch_b->len;
    }

  *body_out = body;
  *body_len_out = body_len;
  return TRUE;
}

GVariant *
gossip_pipeline_decode (GossipPipeline *self, const guint8 *frame, gsize len, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  const guint8 *body;
  gsize body_len;
  GVariant *message;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (frame != NULL || len == 0, NULL);

  if (!open_frame (self, frame, len, FALSE, &body, &body_len, error))
    return NULL;
  message = self->codec->decode (self->codec_instance, body, body_len, &local_error);
  if (message == NULL)
    reject_frame (self, GOSSIP_FRAME_ERROR_DECODE_FAILED, error, "cannot decode frame: %s",
                  local_error ? local_error->message : "codec gave no reason");
  return message;
}

/* The body of a frame made by _gossip_pipeline_seal_bytes(), checked,
 * decrypted and decompressed, as new bytes (a slice of @frame when it was
 * neither encrypted nor compressed). */
GBytes *
_gossip_pipeline_open_bytes (GossipPipeline *self, GBytes *frame, GError **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);
  const guint8 *body;
  gsize body_len;
  guint8 *copy;
  GBytes *out;

  if (!open_frame (self, data, len, TRUE, &body, &body_len, error))
    return NULL;
  if (body == data + GOSSIP_FRAME_HEADER_SIZE)
    return g_bytes_new_from_bytes (frame, GOSSIP_FRAME_HEADER_SIZE, body_len);
  out = gossip_bytes_new_pooled (body_len, &copy);
  memcpy (copy, body, body_len);
  return out;
}

/**
 * gossip_pipeline_get_rejected:
 * @pipeline: a pipeline
 * @reason: a #GossipFrameError
 *
 * Returns: how many frames were rejected for @reason
 */
guint64
gossip_pipeline_get_rejected (GossipPipeline *pipeline, GossipFrameError reason)
{
  g_return_val_if_fail ((guint) reason < GOSSIP_FRAME_ERROR_N_ERRORS, 0);
  return pipeline->rejected[reason];
}

/**
 * gossip_pipeline_get_rejected_total:
 * @pipeline: a pipeline
 *
 * Returns: how many frames were rejected for any reason
 */
guint64
gossip_pipeline_get_rejected_total (GossipPipeline *pipeline)
{
  guint64 total = 0;

  for (guint i = 0; i < GOSSIP_FRAME_ERROR_N_ERRORS; i++)
    total += pipeline->rejected[i];
  return total;
}

/**
 * gossip_pipeline_get_overhead:
 * @pipeline: a pipeline
 *
 * Returns: bytes a frame adds around its (possibly compressed) encoding:
 *   header, nonce and tag.  Used to size messages for the datagram limit.
 */
gsize
gossip_pipeline_get_overhead (GossipPipeline *pipeline)
{
  gsize overhead = GOSSIP_FRAME_HEADER_SIZE;

  if (pipeline->keyring != NULL)
    {
      const GossipCipherVTable *cipher = _gossip_keyring_get_cipher (pipeline->keyring);
      overhead += cipher->nonce_size + cipher->tag_size;
    }
  return overhead;
}

/* For notices: the ids this pipeline writes into its frames' headers
 * (flags: ENCRYPTED when it has a keyring; key_id: the primary key's). */
void
_gossip_pipeline_get_ids (GossipPipeline *pipeline, GossipFrameHeader *ids)
{
  GossipKeyringKey *key
      = pipeline->keyring ? _gossip_keyring_get_primary (pipeline->keyring) : NULL;

  memset (ids, 0, sizeof *ids);
  ids->version = GOSSIP_FRAME_VERSION;
  ids->flags = key ? GOSSIP_FRAME_FLAG_ENCRYPTED : 0;
  ids->codec_id = pipeline->codec->wire_id;
  ids->compressor_id = pipeline->compressor ? pipeline->compressor->wire_id : 0;
  ids->cipher_id = key ? key->cipher->wire_id : 0;
  ids->key_id = key ? key->id : 0;
}

/* The codec's encoding of @message alone, no frame: typed messages on a
 * stream, whose frames are already sealed. */
gboolean
_gossip_pipeline_encode_body (GossipPipeline *self, GVariant *message, GByteArray *out,
                              GError **error)
{
  return self->codec->encode (self->codec_instance, message, out, error);
}

GVariant *
_gossip_pipeline_decode_body (GossipPipeline *self, const guint8 *data, gsize len, GError **error)
{
  GVariant *message = self->codec->decode (self->codec_instance, data, len, error);

  if (message == NULL && error != NULL && *error == NULL)
    g_set_error_literal (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_DECODE_FAILED,
                         "codec gave no reason");
  return message;
}

gsize
_gossip_pipeline_get_max_frame_size (GossipPipeline *self)
{
  return self->max_frame_size;
}

/* ------------------------------------------------------------------------ */
/* Recycled large buffers
 *
 * A stream moves hundreds of MiB in frames of a few hundred KiB.  malloc
 * serves blocks that large with fresh mmap()ed pages (or trims and regrows
 * its heap for them), so every frame would pay a page fault per 4 KiB it
 * touches: measured, that cut a loopback stream from ~1.9 GiB/s to 80 MiB/s.
 * These buffers are kept and handed out again instead.  Power-of-two size
 * classes from 64 KiB to 16 MiB; at most POOL_MAX_CACHED bytes are kept,
 * process-wide, the rest is freed. */

#define POOL_MIN_SHIFT  16
#define POOL_N_CLASSES  9
#define POOL_MAX_CACHED (32 * 1024 * 1024)
#define POOL_HEADER     64 /* keeps the data 64-byte aligned */

typedef struct
{
  guint cls;
} PoolHeader;

static GMutex pool_lock;
static GSList *pool_free[POOL_N_CLASSES];
static gsize pool_cached;

static void
pool_release (gpointer block)
{
  PoolHeader *h = block;
  gsize size = (gsize) 1 << (h->cls + POOL_MIN_SHIFT);

  g_mutex_lock (&pool_lock);
  if (pool_cached + size <= POOL_MAX_CACHED)
    {
      pool_free[h->cls] = g_slist_prepend (pool_free[h->cls], block);
      pool_cached += size;
      block = NULL;
    }
  g_mutex_unlock (&pool_lock);
  g_free (block);
}

/**
 * gossip_bytes_new_pooled:
 * @size: bytes wanted
 * @data: (out): where to write them
 *
 * A #GBytes of @size bytes for the caller to fill, from recycled buffers
 * when @size is 64 KiB to 16 MiB (a transport's or the pipeline's large
 * frames), else from g_malloc().  The buffer returns to the pool when the
 * last reference goes.  Thread-safe.
 *
 * Returns: (transfer full): the bytes, uninitialised
 */
GBytes *
gossip_bytes_new_pooled (gsize size, guint8 **data)
{
  guint cls = 0;
  gpointer block = NULL;

  if (size < ((gsize) 1 << POOL_MIN_SHIFT)
      || size > ((gsize) 1 << (POOL_MIN_SHIFT + POOL_N_CLASSES - 1)))
    {
      *data = g_malloc (size);
      return g_bytes_new_take (*data, size);
    }
  while (((gsize) 1 << (cls + POOL_MIN_SHIFT)) < size)
    cls++;
  g_mutex_lock (&pool_lock);
  if (pool_free[cls] != NULL)
    {
      block = pool_free[cls]->data;
      pool_free[cls] = g_slist_delete_link (pool_free[cls], pool_free[cls]);
      pool_cached -= (gsize) 1 << (cls + POOL_MIN_SHIFT);
    }
  g_mutex_unlock (&pool_lock);
  if (block == NULL)
    {
      block = g_malloc (POOL_HEADER + ((gsize) 1 << (cls + POOL_MIN_SHIFT)));
      ((PoolHeader *) block)->cls = cls;
    }
  *data = (guint8 *) block + POOL_HEADER;
  return g_bytes_new_with_free_func (*data, size, pool_release, block);
}
