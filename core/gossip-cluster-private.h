/* gossip-cluster-private.h: the cluster's state, shared by the files that
 * each implement one mechanism of it:
 *
 *   gossip-cluster.c     lifecycle, plugins, transports, sending, dispatch
 *   gossip-membership.c  the member table and its state machine
 *   gossip-probe.c       failure detection (SWIM probes, Lifeguard)
 *   gossip-pushpull.c    join, periodic state sync, partition healing, leave
 *   gossip-notice.c      telling peers with other plugins why their frames fail
 */
#pragma once

#include "gossip/gossip-cluster.h"
#include "gossip/gossip-frame.h"
#include "gossip/gossip-transport.h"
#include "gossip-messages.h"
#include "gossip-node-private.h"
#include "gossip-awareness.h"
#include "gossip-suspicion.h"
#include "gossip-broadcast-queue.h"

G_BEGIN_DECLS

/* Refutations spent on claims of our ID from another address before the
 * node stops answering them (see handle_alive). */
#define GOSSIP_MAX_CONFLICT_REFUTATIONS 4

/* A node whose view differs from a probed peer's syncs with it at most once
 * per this many probe intervals. */
#define GOSSIP_DIGEST_SYNC_PERIODS 2

typedef enum
{
  GOSSIP_COUNTER_FRAMES_IN,
  GOSSIP_COUNTER_FRAMES_OUT,
  GOSSIP_COUNTER_BYTES_IN,
  GOSSIP_COUNTER_BYTES_OUT,
  GOSSIP_COUNTER_SEND_FAILED,
  GOSSIP_COUNTER_DROPPED_FRAME,
  GOSSIP_COUNTER_DROPPED_MALFORMED,
  GOSSIP_COUNTER_DROPPED_TRANSPORT,
  GOSSIP_COUNTER_DROPPED_UNKNOWN_TYPE,
  GOSSIP_COUNTER_DROPPED_WRONG_TARGET,
  GOSSIP_COUNTER_DROPPED_UNKNOWN_PROBE_TARGET,
  GOSSIP_COUNTER_DROPPED_OLD_PROTOCOL,
  GOSSIP_COUNTER_STALE_UPDATES,
  GOSSIP_COUNTER_LATE_ACKS,
  GOSSIP_COUNTER_PINGS_SENT,
  GOSSIP_COUNTER_ACKS_RECEIVED,
  GOSSIP_COUNTER_INDIRECT_PROBES,
  GOSSIP_COUNTER_TCP_FALLBACK_PINGS,
  GOSSIP_COUNTER_NACKS_RECEIVED,
  GOSSIP_COUNTER_PROBE_FAILURES,
  GOSSIP_COUNTER_SUSPICIONS,
  GOSSIP_COUNTER_REFUTATIONS,
  GOSSIP_COUNTER_DEATHS,
  GOSSIP_COUNTER_PUSH_PULLS,
  GOSSIP_COUNTER_RECONNECT_ATTEMPTS,
  GOSSIP_COUNTER_ID_CONFLICTS,
  GOSSIP_COUNTER_GOSSIP_ROUNDS,
  GOSSIP_COUNTER_UPDATES_SENT,
  GOSSIP_COUNTER_DIGEST_SYNCS,
  GOSSIP_COUNTER_DATAGRAMS_OUT,
  GOSSIP_COUNTER_STREAM_FRAMES_OUT,
  GOSSIP_COUNTER_USER_SENT,
  GOSSIP_COUNTER_USER_RECEIVED,
  GOSSIP_COUNTER_DROPPED_UNHANDLED,
  GOSSIP_COUNTER_HANDLER_ERRORS,
  GOSSIP_COUNTER_REQUESTS_SENT,
  GOSSIP_COUNTER_REQUEST_TIMEOUTS,
  GOSSIP_COUNTER_REPLIES_SENT,
  GOSSIP_COUNTER_BROADCASTS_ORIGINATED,
  GOSSIP_COUNTER_BROADCASTS_DELIVERED,
  GOSSIP_COUNTER_BROADCASTS_FORWARDED,
  GOSSIP_COUNTER_BROADCASTS_DUPLICATE,
  GOSSIP_COUNTER_BROADCASTS_EXPIRED,
  GOSSIP_COUNTER_BROADCASTS_PRUNED,
  GOSSIP_COUNTER_BROADCASTS_FORWARD_DROPPED,
  GOSSIP_COUNTER_BROADCASTS_SENT,
  GOSSIP_COUNTER_META_CHANGES,
  GOSSIP_COUNTER_META_FETCHES,
  GOSSIP_COUNTER_DROPPED_METADATA,
  GOSSIP_COUNTER_NOTICES_SENT,
  GOSSIP_COUNTER_NOTICES_SUPPRESSED,
  GOSSIP_COUNTER_STREAMS_OPENED,
  GOSSIP_COUNTER_STREAMS_ACCEPTED,
  GOSSIP_COUNTER_STREAMS_REFUSED,
  GOSSIP_COUNTER_STREAM_ERRORS,
  GOSSIP_COUNTER_N
} GossipCounter;

typedef struct _GossipCluster GossipCluster;

typedef struct
{
  GossipCluster *cluster;
  const GossipTransportVTable *vtable;
  gpointer instance;
  char *name;
  char *local_address;
  GHashTable *sends; /* SendClosure set: reliable sends not yet completed */
  guint64 *stats;    /* frames in, frames out, bytes in, bytes out; owned by the cluster */
} GossipClusterTransport;

typedef struct _GossipDedup GossipDedup;
/* The broadcast history (gossip-messaging.c); exported for tests. */
GossipDedup *_gossip_dedup_new (guint window);
void _gossip_dedup_free (GossipDedup *d);
gboolean _gossip_dedup_check (GossipDedup *d, const char *origin, guint64 epoch, guint64 seq);

/* The cluster's record of one member. */
typedef struct
{
  GossipCluster *cluster; /* not owned: members live inside their cluster */
  GossipNode *node;       /* owned */
  char *route;            /* the node's first address one of our transports serves, or NULL */
  GossipSuspicion *suspicion;
  gint64 state_changed;  /* monotonic, for reaping */
  guint64 meta_fetching; /* metadata version being fetched, 0 if none */
  gint64 meta_fetch_started;
} GossipMember;

/* A reply the cluster is waiting for, keyed by sequence number. */
typedef struct _GossipPending GossipPending;
typedef void (*GossipPendingFunc) (GossipCluster *cluster, GossipPending *pending,
                                   const GossipMsg *reply);
struct _GossipPending
{
  guint64 seq;
  GossipPendingFunc on_reply; /* ACK, NACK, PUSH_PULL_REPLY, REFUSE */
  gpointer data;
  GDestroyNotify destroy;
};

struct _GossipCluster
{
  GObject parent_instance;

  GossipConfig *config;
  GossipClock *clock;
  GMainContext *context;
  gboolean running;
  GRand *rand;

  /* Settings, read from the config once at creation. */
  char *node_id;
  char *advertise_address;
  guint default_port;
  gint64 probe_interval, probe_timeout, gossip_interval, push_pull_interval;
  gint64 dead_node_timeout, reconnect_interval, leave_timeout, io_timeout;
  guint indirect_checks, suspicion_mult, suspicion_max_mult, fanout, retransmit_mult;
  gboolean datagrams;
  gsize max_datagram_size, max_frame_size;
  char **seeds;

  GossipPipeline *pipeline;
  GPtrArray *transports;       /* GossipClusterTransport */
  GObject *http_server;        /* nullable: a SoupServer to mount WebSocket endpoints on */
  char *extra_addresses;       /* other transports' local addresses, space-separated, or NULL */
  GHashTable *streams;         /* StreamCore set, gossip-stream.c */
  GHashTable *stream_handlers; /* type -> StreamHandler */

  /* Membership */
  GHashTable *members;    /* id -> GossipMember (owned); includes the local node */
  GPtrArray *member_list; /* GossipMember, remote members only, for random choice */
  GossipMember *local;
  GossipBroadcastQueue *queue;
  GossipAwareness *awareness;

  /* Probing */
  GPtrArray *probe_order; /* char* ids, shuffled; rebuilt when exhausted */
  guint probe_index;
  guint probe_timer;

  GHashTable *pending; /* seq -> GossipPending */
  guint64 next_seq;
  gint64 last_digest_sync;
  char *digest; /* cached membership digest, valid for digest_generation */
  guint digest_generation;
  guint digest_members;

  guint gossip_timer, fanout_timer, push_pull_timer, reconnect_timer, reap_timer;

  GossipVersionCheckFunc version_check;
  gpointer version_check_data;
  GDestroyNotify version_check_destroy;

  /* Messaging (gossip-messaging.c) */
  GHashTable *handlers; /* GUINT_TO_POINTER (type) -> handler */
  guint64 epoch, broadcast_seq;
  GossipBroadcastQueue *user_queue; /* user broadcasts awaiting retransmission */
  GPtrArray *outbox;                /* GBytes: entries awaiting the event-driven fan-out */
  guint outbox_timer;
  GossipDedup *dedup;
  guint user_share, hop_limit, max_queued;
  gint64 dedup_window, request_timeout;
  gsize max_metadata_size;
  guint meta_publish_timer;
  GHashTable *transport_stats; /* transport name -> guint64[4] */
  /* Notices sent in the current one-second window (gossip-notice.c). */
  gint64 notice_window;
  guint notices_in_window;

  guint64 counters[GOSSIP_COUNTER_N];
  gint64 last_log[GOSSIP_COUNTER_N];
  guint64 suppressed_logs[GOSSIP_COUNTER_N];
};

/* Bytes a piggybacked entry costs beyond its own (array slot, variant box). */
#define GOSSIP_ENTRY_OVERHEAD 4

/* gossip-cluster.c */
void _gossip_cluster_set_seed (GossipCluster *self, guint32 seed);
gboolean _gossip_main_context_acquire (GMainContext *context);
void _gossip_cluster_count (GossipCluster *self, GossipCounter counter);
void _gossip_cluster_log_drop (GossipCluster *self, GossipCounter counter, const char *from,
                               const char *format, ...) G_GNUC_PRINTF (4, 5);
gboolean _gossip_cluster_send (GossipCluster *self, const char *address, GVariant *message,
                               gboolean reliable, gboolean piggyback, GossipTransportSendFunc done,
                               gpointer done_data);
guint64 _gossip_cluster_next_seq (GossipCluster *self);
gsize _gossip_cluster_take_entries (GossipCluster *self, GossipBroadcastQueue *queue, gsize limit,
                                    GPtrArray *except, GPtrArray *variants);
void _gossip_cluster_add_pending (GossipCluster *self, guint64 seq, GossipPendingFunc on_reply,
                                  gpointer data, GDestroyNotify destroy);
void _gossip_cluster_remove_pending (GossipCluster *self, guint64 seq);
void _gossip_cluster_emit_metadata_changed (GossipCluster *self, GossipNode *node);

/* gossip-messaging.c */
void _gossip_messaging_init (GossipCluster *self);
void _gossip_messaging_clear (GossipCluster *self);
void _gossip_messaging_start (GossipCluster *self);
void _gossip_messaging_stop (GossipCluster *self);
void _gossip_messaging_handle_user (GossipCluster *self, GossipTransportPath path, const char *from,
                                    const GossipMsg *msg);
void _gossip_messaging_handle_broadcast (GossipCluster *self, const GossipMsg *msg);
/* Fills @variants with user broadcasts within @limit bytes; returns the bytes used. */
gsize _gossip_messaging_take_broadcasts (GossipCluster *self, gsize limit, GPtrArray *variants);
guint _gossip_messaging_queue_length (GossipCluster *self);
GossipNode *_gossip_messaging_sender (GossipCluster *self, const char *id, const char *address);

void _gossip_member_set_addresses (GossipCluster *self, GossipMember *m, const char *address,
                                   const char *extra);
gboolean _gossip_member_can_reach (GossipCluster *self, GossipMember *from, GossipMember *to);
const char *_gossip_membership_reply_address (GossipCluster *self, const char *node_id,
                                              const char *advertised);

/* gossip-stream.c */
GossipClusterTransport *_gossip_cluster_transport_for (GossipCluster *self, const char *address);
void _gossip_stream_init (GossipCluster *self);
void _gossip_stream_stop (GossipCluster *self);
void _gossip_stream_finalize (GossipCluster *self);
gboolean _gossip_stream_accepted (GossipCluster *self, GossipClusterTransport *t, const char *from,
                                  GossipTransportChannel *channel);

/* gossip-meta-sync.c */
void _gossip_meta_observe (GossipCluster *self, GossipMember *member, const GossipUpdate *update,
                           const char *via);
void _gossip_meta_local_claim (GossipCluster *self, guint64 meta_version);
void _gossip_meta_handle_request (GossipCluster *self, GossipTransportPath path, const char *from,
                                  const GossipMsg *msg);
void _gossip_meta_stop (GossipCluster *self);

/* gossip-membership.c */
void _gossip_membership_init (GossipCluster *self);
void _gossip_membership_clear (GossipCluster *self);
GossipMember *_gossip_membership_lookup (GossipCluster *self, const char *id);
void _gossip_membership_handle_update (GossipCluster *self, const GossipUpdate *update);
void _gossip_membership_merge_record (GossipCluster *self, const GossipUpdate *record,
                                      const char *sender);
void _gossip_membership_refute (GossipCluster *self, guint64 accused_incarnation);
void _gossip_membership_announce (GossipCluster *self);
void _gossip_membership_suspect (GossipCluster *self, GossipMember *member);
void _gossip_membership_broadcast (GossipCluster *self, const GossipUpdate *update);
GVariant *_gossip_membership_records (GossipCluster *self);
GPtrArray *_gossip_membership_random (GossipCluster *self, guint k, GossipMember *exclude,
                                      gboolean include_dead);
guint _gossip_membership_n_alive (GossipCluster *self);
void _gossip_membership_start (GossipCluster *self);
void _gossip_membership_stop (GossipCluster *self);
void _gossip_membership_local_update (GossipCluster *self, GossipUpdate *out);

/* gossip-probe.c */
void _gossip_probe_start (GossipCluster *self);
void _gossip_probe_stop (GossipCluster *self);
void _gossip_probe_handle_ping (GossipCluster *self, GossipTransportPath path, const char *from,
                                const GossipMsg *msg);
void _gossip_probe_handle_ping_req (GossipCluster *self, const GossipMsg *msg);
void _gossip_probe_forget (GossipCluster *self, const char *id);

/* gossip-pushpull.c */
void _gossip_pushpull_start (GossipCluster *self);
void _gossip_pushpull_stop (GossipCluster *self);
void _gossip_pushpull_handle_request (GossipCluster *self, const GossipMsg *msg,
                                      const char *reply_to);
void _gossip_pushpull_sync_with (GossipCluster *self, const char *address);
gint64 _gossip_pushpull_scale (gint64 interval, guint n);
void _gossip_pushpull_join_async (GossipCluster *self, const char *const *addresses,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
guint _gossip_pushpull_fail_exchanges (GossipCluster *self, const char *address,
                                       const GError *error);
void _gossip_pushpull_leave_async (GossipCluster *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);

/* gossip-notice.c */
void _gossip_notice_handle_rejected (GossipCluster *self, GossipClusterTransport *t,
                                     GossipTransportPath path, const char *from,
                                     const GError *error);

G_END_DECLS
