/* gossip-frame-private.h: what the pipeline needs from the keyring. */
#pragma once

#include "gossip/gossip-frame.h"

G_BEGIN_DECLS

typedef struct
{
  guint8 *bytes;
  gsize len;
  guint16 id;
  const GossipCipherVTable *cipher;
  gpointer cipher_key;
} GossipKeyringKey;

const GossipCipherVTable *_gossip_keyring_get_cipher (GossipKeyring *keyring);
GossipKeyringKey *_gossip_keyring_get_primary (GossipKeyring *keyring);
GossipKeyringKey *_gossip_keyring_get_key (GossipKeyring *keyring, guint index);

/**
 * GossipFrameHeader:
 *
 * The parsed fixed part of a frame (see gossip-frame.h for the layout).
 */
typedef struct
{
  guint8 version;
  guint8 flags;
  guint8 codec_id;
  guint8 compressor_id;
  guint8 cipher_id;
  guint16 key_id;
  guint32 body_len;
} GossipFrameHeader;

void _gossip_pipeline_get_ids (GossipPipeline *pipeline, GossipFrameHeader *ids);

gboolean _gossip_frame_parse_header (const guint8 *frame, gsize len, gsize max_frame_size,
                                     GossipFrameHeader *header, GossipFrameError *reason,
                                     GError **error);

GBytes *_gossip_pipeline_seal_bytes (GossipPipeline *pipeline, const guint8 *prefix,
                                     gsize prefix_len, const guint8 *data, gsize len,
                                     GError **error);
GBytes *_gossip_pipeline_open_bytes (GossipPipeline *pipeline, GBytes *frame, GError **error);
gboolean _gossip_pipeline_encode_body (GossipPipeline *pipeline, GVariant *message, GByteArray *out,
                                       GError **error);
GVariant *_gossip_pipeline_decode_body (GossipPipeline *pipeline, const guint8 *data, gsize len,
                                        GError **error);
gsize _gossip_pipeline_get_max_frame_size (GossipPipeline *pipeline);

G_END_DECLS
