/* gossip-metadata.h: a node's typed key/value map (private).
 *
 * Values keep their type (GossipMetaType) across every codec: on the wire
 * the map is `a{sv}` whose values are two-item arrays [type code, value], so
 * a receiver restores the exact type with gossip_variant_coerce() whatever
 * the codec widened on the way (docs/PROTOCOL.md, "Metadata").
 */
#pragma once

#include "gossip/gossip-node.h"

G_BEGIN_DECLS

#define GOSSIP_META_MAX_KEY_LEN 128
#define GOSSIP_META_MAX_KEYS    1024
/* Metadata up to this wire size rides inline on alive updates; larger maps
 * are fetched from their node over the reliable path. */
#define GOSSIP_META_INLINE_MAX 512

typedef struct _GossipMetadata GossipMetadata;

GossipMetadata *_gossip_metadata_new (void);
GossipMetadata *_gossip_metadata_copy (const GossipMetadata *md);
void _gossip_metadata_free (GossipMetadata *md);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GossipMetadata, _gossip_metadata_free)

gboolean _gossip_metadata_check_key (const char *key, GError **error);
/* @value: floating or not, sunk; of the GVariant type that @type stores. */
void _gossip_metadata_set (GossipMetadata *md, const char *key, GossipMetaType type,
                           GVariant *value);
gboolean _gossip_metadata_remove (GossipMetadata *md, const char *key);
GVariant *_gossip_metadata_lookup (const GossipMetadata *md, const char *key, GossipMetaType *type);
guint _gossip_metadata_size (const GossipMetadata *md);
char **_gossip_metadata_keys (const GossipMetadata *md);
gboolean _gossip_metadata_equal (const GossipMetadata *a, const GossipMetadata *b);

/* Wire form, cached until the map changes. */
GVariant *_gossip_metadata_to_wire (GossipMetadata *md);
gsize _gossip_metadata_wire_size (GossipMetadata *md);
GossipMetadata *_gossip_metadata_from_wire (GVariant *wire, gsize max_size, GError **error);
/* `a{sv}` of plain values (timestamps as int64 microseconds). */
GVariant *_gossip_metadata_to_plain (const GossipMetadata *md);

const GVariantType *_gossip_meta_type_variant_type (GossipMetaType type);

G_END_DECLS
