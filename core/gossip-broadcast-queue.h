/* gossip-broadcast-queue.h: membership updates waiting to be piggybacked.
 *
 * As memberlist's TransmitLimitedQueue: each update is sent at most
 * retransmit_mult * ceil(log10(N + 1)) times; the least-sent, then the
 * newest, go first; a newer update under the same key (a node ID) replaces
 * the older one, so the queue holds at most one update per node.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GossipBroadcastQueue GossipBroadcastQueue;

/* Called once when an update leaves the queue: @finished is TRUE when it was
 * sent its full number of times, FALSE when a newer update replaced it or
 * the queue was cleared. */
typedef void (*GossipBroadcastFunc) (gpointer user_data, gboolean finished);

GossipBroadcastQueue *_gossip_broadcast_queue_new (guint retransmit_mult);
void _gossip_broadcast_queue_free (GossipBroadcastQueue *queue);
void _gossip_broadcast_queue_push (GossipBroadcastQueue *queue, GBytes *update, const char *key,
                                   gboolean unique, GossipBroadcastFunc done, gpointer user_data);
GPtrArray *_gossip_broadcast_queue_get_broadcasts (GossipBroadcastQueue *queue, gsize overhead,
                                                   gsize limit, guint n_nodes);
GPtrArray *_gossip_broadcast_queue_get_broadcasts_except (GossipBroadcastQueue *queue,
                                                          gsize overhead, gsize limit,
                                                          guint n_nodes, GPtrArray *except);
guint _gossip_broadcast_queue_length (GossipBroadcastQueue *queue);
void _gossip_broadcast_queue_prune (GossipBroadcastQueue *queue, guint max_retained);
guint _gossip_broadcast_queue_retransmit_limit (guint retransmit_mult, guint n_nodes);

G_END_DECLS
