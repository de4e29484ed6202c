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

/**
 * GossipMetaType:
 * @GOSSIP_META_TYPE_NONE: no value
 * @GOSSIP_META_TYPE_STRING: UTF-8 string
 * @GOSSIP_META_TYPE_BOOLEAN: boolean
 * @GOSSIP_META_TYPE_INT64: signed 64-bit integer
 * @GOSSIP_META_TYPE_UINT64: unsigned 64-bit integer
 * @GOSSIP_META_TYPE_DOUBLE: double
 * @GOSSIP_META_TYPE_TIMESTAMP: a point in time, microseconds since the epoch (UTC)
 * @GOSSIP_META_TYPE_BYTES: a byte string
 *
 * The types a metadata value can have.  Each keeps its type on every node,
 * whatever codec carries it.
 */
typedef enum
{
  GOSSIP_META_TYPE_NONE,
  GOSSIP_META_TYPE_STRING,
  GOSSIP_META_TYPE_BOOLEAN,
  GOSSIP_META_TYPE_INT64,
  GOSSIP_META_TYPE_UINT64,
  GOSSIP_META_TYPE_DOUBLE,
  GOSSIP_META_TYPE_TIMESTAMP,
  GOSSIP_META_TYPE_BYTES,
} GossipMetaType;

#define GOSSIP_TYPE_NODE (gossip_node_get_type ())
G_DECLARE_FINAL_TYPE (GossipNode, gossip_node, GOSSIP, NODE, GObject)

const char *gossip_node_get_id (GossipNode *node);
const char *gossip_node_get_address (GossipNode *node);
const char *const *gossip_node_get_addresses (GossipNode *node);
GossipNodeState gossip_node_get_state (GossipNode *node);
guint64 gossip_node_get_incarnation (GossipNode *node);
guint gossip_node_get_protocol_version (GossipNode *node);
const char *gossip_node_get_app_version (GossipNode *node);
gint64 gossip_node_get_state_changed_at (GossipNode *node);
GVariant *gossip_node_get_metadata (GossipNode *node);
guint64 gossip_node_get_metadata_version (GossipNode *node);
char **gossip_node_list_meta_keys (GossipNode *node);
GossipMetaType gossip_node_get_meta_type (GossipNode *node, const char *key);
const char *gossip_node_get_meta_string (GossipNode *node, const char *key,
                                         const char *default_value);
gboolean gossip_node_get_meta_boolean (GossipNode *node, const char *key, gboolean default_value);
gint64 gossip_node_get_meta_int64 (GossipNode *node, const char *key, gint64 default_value);
guint64 gossip_node_get_meta_uint64 (GossipNode *node, const char *key, guint64 default_value);
gdouble gossip_node_get_meta_double (GossipNode *node, const char *key, gdouble default_value);
GDateTime *gossip_node_get_meta_timestamp (GossipNode *node, const char *key);
GBytes *gossip_node_get_meta_bytes (GossipNode *node, const char *key);
gboolean gossip_node_is_local (GossipNode *node);

G_END_DECLS
