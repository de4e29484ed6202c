/* gossip-cluster.h: a node's membership in a gossip cluster.
 *
 * A GossipCluster is one node: it loads the plugins its GossipConfig names,
 * listens, joins other nodes, detects failures with SWIM + Lifeguard and
 * spreads membership changes.  Everything runs on the GMainContext that was
 * thread-default when the cluster was created; every signal is emitted there.
 * Many clusters can share one process and one context.
 */
#pragma once

#include <gio/gio.h>
#include "gossip-config.h"
#include "gossip-clock.h"
#include "gossip-node.h"

G_BEGIN_DECLS

#define GOSSIP_CLUSTER_ERROR (gossip_cluster_error_quark ())
GQuark gossip_cluster_error_quark (void);

/**
 * GossipClusterError:
 * @GOSSIP_CLUSTER_ERROR_NOT_RUNNING: the cluster is not started (or already stopped)
 * @GOSSIP_CLUSTER_ERROR_JOIN_FAILED: no address could be joined
 * @GOSSIP_CLUSTER_ERROR_SELF_JOIN: the only addresses given were this node's own
 * @GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH: the peer refused our protocol or application version
 * @GOSSIP_CLUSTER_ERROR_BAD_ADDRESS: an address that cannot be parsed or resolved
 * @GOSSIP_CLUSTER_ERROR_TIMEOUT: a peer did not answer in time
 * @GOSSIP_CLUSTER_ERROR_ID_CONFLICT: a peer has this node's ID at another address
 * @GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH: the peer uses another codec, compressor, cipher or
 *   key; the message says which (docs/PROTOCOL.md, "Notices")
 */
typedef enum
{
  GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
  GOSSIP_CLUSTER_ERROR_JOIN_FAILED,
  GOSSIP_CLUSTER_ERROR_SELF_JOIN,
  GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH,
  GOSSIP_CLUSTER_ERROR_BAD_ADDRESS,
  GOSSIP_CLUSTER_ERROR_TIMEOUT,
  GOSSIP_CLUSTER_ERROR_ID_CONFLICT,
  GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH,
} GossipClusterError;

#define GOSSIP_TYPE_CLUSTER (gossip_cluster_get_type ())
G_DECLARE_FINAL_TYPE (GossipCluster, gossip_cluster, GOSSIP, CLUSTER, GObject)

/**
 * GossipVersionCheckFunc:
 * @cluster: the cluster
 * @node_id: the joining node
 * @app_version: its `[cluster] app_version`
 * @user_data: data given with the function
 * @error: set it to explain a refusal
 *
 * Decides whether a node with @app_version may join.
 *
 * Returns: %TRUE to accept
 */
typedef gboolean (*GossipVersionCheckFunc) (GossipCluster *cluster, const char *node_id,
                                            const char *app_version, gpointer user_data,
                                            GError **error);

GossipCluster *gossip_cluster_new (GossipConfig *config, GError **error);
GossipCluster *gossip_cluster_new_with_clock (GossipConfig *config, GossipClock *clock,
                                              GError **error);
GossipCluster *gossip_cluster_new_from_file (const char *path, GError **error);

gboolean gossip_cluster_start (GossipCluster *cluster, GError **error);
void gossip_cluster_stop (GossipCluster *cluster);
gboolean gossip_cluster_is_running (GossipCluster *cluster);

void gossip_cluster_join_async (GossipCluster *cluster, const char *const *addresses,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
guint gossip_cluster_join_finish (GossipCluster *cluster, GAsyncResult *result, GError **error);

void gossip_cluster_leave_async (GossipCluster *cluster, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean gossip_cluster_leave_finish (GossipCluster *cluster, GAsyncResult *result, GError **error);

GossipNode *gossip_cluster_get_local_node (GossipCluster *cluster);
GossipNode *gossip_cluster_get_node (GossipCluster *cluster, const char *id);
GPtrArray *gossip_cluster_list_nodes (GossipCluster *cluster);
GPtrArray *gossip_cluster_list_nodes_in_state (GossipCluster *cluster, GossipNodeState state);
guint gossip_cluster_count_nodes_in_state (GossipCluster *cluster, GossipNodeState state);
guint gossip_cluster_get_n_alive (GossipCluster *cluster);
char *gossip_cluster_get_membership_digest (GossipCluster *cluster);

GossipConfig *gossip_cluster_get_config (GossipCluster *cluster);
GossipClock *gossip_cluster_get_clock (GossipCluster *cluster);
const char *gossip_cluster_get_advertise_address (GossipCluster *cluster);
guint gossip_cluster_get_health_score (GossipCluster *cluster);

void gossip_cluster_set_version_check (GossipCluster *cluster, GossipVersionCheckFunc func,
                                       gpointer user_data, GDestroyNotify destroy);

guint64 gossip_cluster_get_counter (GossipCluster *cluster, const char *name);
GHashTable *gossip_cluster_get_counters (GossipCluster *cluster);

G_END_DECLS
