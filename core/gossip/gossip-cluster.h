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
 * @GOSSIP_CLUSTER_ERROR_RESERVED_TYPE: a message type below %GOSSIP_MESSAGE_TYPE_USER
 * @GOSSIP_CLUSTER_ERROR_ALREADY_HANDLED: the message type has a handler already
 * @GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE: the receiving node has no handler for the type
 * @GOSSIP_CLUSTER_ERROR_REMOTE: the remote handler failed; the message is its error's
 * @GOSSIP_CLUSTER_ERROR_UNREACHABLE: the node is not a live member or could not be reached
 * @GOSSIP_CLUSTER_ERROR_QUEUE_FULL: too many messages are waiting to be sent
 * @GOSSIP_CLUSTER_ERROR_TOO_BIG: a payload or metadata map exceeds its configured limit
 * @GOSSIP_CLUSTER_ERROR_INVALID: an argument is not acceptable (e.g. a bad metadata key)
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
  GOSSIP_CLUSTER_ERROR_RESERVED_TYPE,
  GOSSIP_CLUSTER_ERROR_ALREADY_HANDLED,
  GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE,
  GOSSIP_CLUSTER_ERROR_REMOTE,
  GOSSIP_CLUSTER_ERROR_UNREACHABLE,
  GOSSIP_CLUSTER_ERROR_QUEUE_FULL,
  GOSSIP_CLUSTER_ERROR_TOO_BIG,
  GOSSIP_CLUSTER_ERROR_INVALID,
} GossipClusterError;

/**
 * GOSSIP_MESSAGE_TYPE_USER:
 *
 * The first message type an application may use; types below it are the
 * protocol's own.  User types run from 128 to 65535.
 */
#define GOSSIP_MESSAGE_TYPE_USER 128

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
void gossip_cluster_set_http_server (GossipCluster *cluster, GObject *server);
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

/* Messages (docs/MESSAGING.md) */

/**
 * GossipMessageFunc:
 * @cluster: the cluster
 * @sender: the node the message came from (for a broadcast, the node that
 *   originated it); a transient node if it is not (yet) a member
 * @type: the message type
 * @payload: (nullable): the payload as the codec decoded it (integers may be
 *   wider than sent: see gossip_variant_coerce()); %NULL if none was sent
 * @user_data: data given with the handler
 * @error: set it when the message cannot be handled
 *
 * Handles a message.  A failure is counted (`handler-errors`) and logged,
 * never fatal; for a request it travels back to the caller.
 *
 * Returns: %TRUE when handled
 */
typedef gboolean (*GossipMessageFunc) (GossipCluster *cluster, GossipNode *sender, guint type,
                                       GVariant *payload, gpointer user_data, GError **error);

/**
 * GossipRequestFunc:
 * @cluster: the cluster
 * @sender: the requesting node
 * @type: the message type
 * @payload: (nullable): the request's payload
 * @user_data: data given with the handler
 * @error: set it to answer with an error
 *
 * Answers a request (gossip_cluster_request_async()).
 *
 * Returns: (transfer full) (nullable): the reply payload (floating is fine),
 *   or %NULL with @error set; %NULL without an error is an empty reply
 */
typedef GVariant *(*GossipRequestFunc) (GossipCluster *cluster, GossipNode *sender, guint type,
                                        GVariant *payload, gpointer user_data, GError **error);

gboolean gossip_cluster_handle (GossipCluster *cluster, guint type, GossipMessageFunc func,
                                gpointer user_data, GDestroyNotify destroy, GError **error);
gboolean gossip_cluster_handle_no_forward (GossipCluster *cluster, guint type,
                                           GossipMessageFunc func, gpointer user_data,
                                           GDestroyNotify destroy, GError **error);
gboolean gossip_cluster_handle_with_reply (GossipCluster *cluster, guint type,
                                           GossipRequestFunc func, gpointer user_data,
                                           GDestroyNotify destroy, GError **error);
gboolean gossip_cluster_unhandle (GossipCluster *cluster, guint type);

gboolean gossip_cluster_send (GossipCluster *cluster, guint type, GVariant *payload,
                              GError **error);
gboolean gossip_cluster_send_reliable (GossipCluster *cluster, guint type, GVariant *payload,
                                       GError **error);
gboolean gossip_cluster_send_to (GossipCluster *cluster, GossipNode *node, guint type,
                                 GVariant *payload, GError **error);
void gossip_cluster_send_to_reliable_async (GossipCluster *cluster, GossipNode *node, guint type,
                                            GVariant *payload, GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data);
gboolean gossip_cluster_send_to_reliable_finish (GossipCluster *cluster, GAsyncResult *result,
                                                 GError **error);
void gossip_cluster_request_async (GossipCluster *cluster, GossipNode *node, guint type,
                                   GVariant *payload, guint timeout_ms, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
GVariant *gossip_cluster_request_finish (GossipCluster *cluster, GAsyncResult *result,
                                         GError **error);
gboolean gossip_cluster_broadcast (GossipCluster *cluster, guint type, GVariant *payload,
                                   GError **error);
guint gossip_cluster_get_queue_depth (GossipCluster *cluster);

/**
 * GossipStreamFunc:
 * @cluster: the cluster
 * @sender: the node that opened the stream
 * @type: the stream's type
 * @payload: (nullable): the payload given to gossip_cluster_open_stream_async()
 * @stream: the stream (a #GossipStream); take a reference to keep it past
 *   this call, else it is closed when the handler returns
 * @user_data: data given with the handler
 * @error: set it to refuse the stream; the opener's open fails with it
 *
 * Answers a stream opened by another node.
 *
 * Returns: %TRUE to accept the stream
 */
typedef gboolean (*GossipStreamFunc) (GossipCluster *cluster, GossipNode *sender, guint type,
                                      GVariant *payload, GIOStream *stream, gpointer user_data,
                                      GError **error);

gboolean gossip_cluster_handle_stream (GossipCluster *cluster, guint type, GossipStreamFunc func,
                                       gpointer user_data, GDestroyNotify destroy, GError **error);
gboolean gossip_cluster_unhandle_stream (GossipCluster *cluster, guint type);
void gossip_cluster_open_stream_async (GossipCluster *cluster, GossipNode *node, guint type,
                                       GVariant *payload, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
GIOStream *gossip_cluster_open_stream_finish (GossipCluster *cluster, GAsyncResult *result,
                                              GError **error);

GVariant *gossip_payload_new_bytes (GBytes *bytes);
GBytes *gossip_payload_get_bytes (GVariant *payload);

/* The local node's metadata */
gboolean gossip_cluster_set_meta_string (GossipCluster *cluster, const char *key, const char *value,
                                         GError **error);
gboolean gossip_cluster_set_meta_boolean (GossipCluster *cluster, const char *key, gboolean value,
                                          GError **error);
gboolean gossip_cluster_set_meta_int64 (GossipCluster *cluster, const char *key, gint64 value,
                                        GError **error);
gboolean gossip_cluster_set_meta_uint64 (GossipCluster *cluster, const char *key, guint64 value,
                                         GError **error);
gboolean gossip_cluster_set_meta_double (GossipCluster *cluster, const char *key, gdouble value,
                                         GError **error);
gboolean gossip_cluster_set_meta_timestamp (GossipCluster *cluster, const char *key,
                                            GDateTime *value, GError **error);
gboolean gossip_cluster_set_meta_bytes (GossipCluster *cluster, const char *key, GBytes *value,
                                        GError **error);
gboolean gossip_cluster_delete_meta (GossipCluster *cluster, const char *key, GError **error);

guint64 gossip_cluster_get_counter (GossipCluster *cluster, const char *name);
GHashTable *gossip_cluster_get_counters (GossipCluster *cluster);

G_END_DECLS
