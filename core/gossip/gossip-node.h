/* gossip-node.h: what a cluster knows about one member. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * GossipNodeState:
 * @GOSSIP_NODE_STATE_UNKNOWN: nothing heard yet
 * @GOSSIP_NODE_STATE_ALIVE: answering probes
 * @GOSSIP_NODE_STATE_SUSPECT: missed a probe; will be declared dead unless it refutes
 * @GOSSIP_NODE_STATE_DEAD: declared failed; kept for a while, then forgotten
 * @GOSSIP_NODE_STATE_LEAVING: left the cluster on purpose
 */
typedef enum
{
  GOSSIP_NODE_STATE_UNKNOWN,
  GOSSIP_NODE_STATE_ALIVE,
  GOSSIP_NODE_STATE_SUSPECT,
  GOSSIP_NODE_STATE_DEAD,
  GOSSIP_NODE_STATE_LEAVING,
} GossipNodeState;

GType gossip_node_state_get_type (void) G_GNUC_CONST;
#define GOSSIP_TYPE_NODE_STATE (gossip_node_state_get_type ())
const char *gossip_node_state_to_string (GossipNodeState state);

#define GOSSIP_TYPE_NODE (gossip_node_get_type ())
G_DECLARE_FINAL_TYPE (GossipNode, gossip_node, GOSSIP, NODE, GObject)

const char *gossip_node_get_id (GossipNode *node);
const char *gossip_node_get_address (GossipNode *node);
GossipNodeState gossip_node_get_state (GossipNode *node);
guint64 gossip_node_get_incarnation (GossipNode *node);
guint gossip_node_get_protocol_version (GossipNode *node);
const char *gossip_node_get_app_version (GossipNode *node);
gint64 gossip_node_get_state_changed_at (GossipNode *node);
GVariant *gossip_node_get_metadata (GossipNode *node);
gboolean gossip_node_is_local (GossipNode *node);

G_END_DECLS
