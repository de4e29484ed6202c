/* gossip-node-private.h: how the membership code updates a GossipNode. */
#pragma once

#include "gossip/gossip-node.h"
#include "gossip-metadata.h"

G_BEGIN_DECLS

GossipNode *_gossip_node_new (const char *id, const char *address, gboolean local);
void _gossip_node_set_address (GossipNode *node, const char *address);
#define GOSSIP_NODE_MAX_ADDRESSES 8
void _gossip_node_set_extra_addresses (GossipNode *node, const char *extra);
const char *_gossip_node_get_extra_addresses (GossipNode *node);
void _gossip_node_set_state (GossipNode *node, GossipNodeState state, gint64 now_wall);
void _gossip_node_set_incarnation (GossipNode *node, guint64 incarnation);
void _gossip_node_set_versions (GossipNode *node, guint protocol_version, const char *app_version);
void _gossip_node_set_metadata (GossipNode *node, GossipMetadata *metadata, guint64 version);
GossipMetadata *_gossip_node_get_meta (GossipNode *node);
guint _gossip_node_get_generation (void);

G_END_DECLS
