/* gossip-messaging.c: the application's messages.
 *
 * Three ways a message travels (docs/MESSAGING.md):
 *
 *  - direct (send_to, request): one USER message to one node, by datagram
 *    when its frame fits, else over the pooled reliable connection;
 *  - best effort (send, send_reliable): BROADCAST entries to a fan-out of
 *    random peers; a receiver whose handler forwards passes them on;
 *  - broadcast: BROADCAST entries every node relays.  Two paths, as the
 *    protocol's own updates: an event-driven fan-out with a hop limit, sent
 *    as soon as the main loop is free and batched into as few datagrams as
 *    possible, and a transmit-limited queue whose entries ride in the spare
 *    room of every datagram (probes, acks, gossip rounds), with a share of
 *    that room reserved for them.
 *
 * Every broadcast has an id (origin node, origin epoch, sequence number); a
 * bounded history per origin delivers each to the application exactly once,
 * and entries older than the history's window are refused as replays.
 */
#include "config.h"

#include <string.h>

#include "gossip/gossip-cluster.h"
#include "gossip-cluster-private.h"

typedef enum
{
  HANDLER_FORWARD,
  HANDLER_NO_FORWARD,
  HANDLER_WITH_REPLY,
} HandlerKind;

typedef struct
{
  HandlerKind kind;
  GossipMessageFunc func;
  GossipRequestFunc reply_func;
  gpointer user_data;
  GDestroyNotify destroy;
} Handler;

/* Most event-driven frames sent per main-loop turn: the rest wait for the
 * next turn, so receivers (often in the same process) drain their sockets
 * instead of losing datagrams to full buffers. */
#define OUTBOX_FRAMES_PER_TURN 32

/* ------------------------------------------------------------------------ */
/* Duplicate suppression */

/* Per (origin, epoch): every sequence number up to `floor` was seen, and a
 * bitmap covers the `window` numbers above it.  A number more than the
 * window ahead slides the floor: numbers skipped that way count as seen
 * (they would be more than `window` messages late).
 *
 * The window must cover how far out of order a broadcast can arrive: a
 * node keeps up to `[messages] max_queued` broadcasts for retransmission
 * and retransmits the newest first, so a node that missed a message's first
 * fan-out can get up to that many later ones before it.  The window is
 * therefore max_queued (2 KiB of bitmap per origin with the default),
 * within bounds: a smaller one counts the missed message as seen before
 * its retransmission arrives, and it is never delivered.  The upper bound
 * caps what forged origins can cost (DEDUP_MAX_ORIGINS x 8 KiB). */
#define DEDUP_MIN_WINDOW  4096
#define DEDUP_MAX_WINDOW  65536
#define DEDUP_MAX_ORIGINS 4096

typedef struct
{
  char *key; /* origin "\n" epoch */
  guint64 floor;
  GList link;     /* in GossipDedup.lru, most recent first */
  guint64 bits[]; /* GossipDedup.window bits */
} DedupOrigin;

struct _GossipDedup
{
  GHashTable *origins; /* key -> DedupOrigin */
  GQueue lru;
  guint64 window; /* a multiple of 64 */
};

/* A history whose window is @window sequence numbers, within
 * DEDUP_MIN_WINDOW..DEDUP_MAX_WINDOW. */
GossipDedup *
_gossip_dedup_new (guint window)
{
  GossipDedup *d = g_new0 (GossipDedup, 1);

  d->window = ((guint64) CLAMP (window, DEDUP_MIN_WINDOW, DEDUP_MAX_WINDOW) + 63) / 64 * 64;
  d->origins = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&d->lru);
  return d;
}

static void
dedup_origin_free (DedupOrigin *o)
{
  g_free (o->key);
  g_free (o);
}

void
_gossip_dedup_free (GossipDedup *d)
{
  GList *link;

  if (d == NULL)
    return;
  /* The links are embedded in the origins: unlink, never free them. */
  while ((link = g_queue_pop_head_link (&d->lru)) != NULL)
    dedup_origin_free (link->data);
  g_hash_table_unref (d->origins);
  g_free (d);
}

static gboolean
bit_get (GossipDedup *d, DedupOrigin *o, guint64 seq)
{
  guint64 i = seq % d->window;
  return (o->bits[i / 64] >> (i % 64)) & 1;
}

static void
bit_set (GossipDedup *d, DedupOrigin *o, guint64 seq, gboolean on)
{
  guint64 i = seq % d->window;
  if (on)
    o->bits[i / 64] |= G_GUINT64_CONSTANT (1) << (i % 64);
  else
    o->bits[i / 64] &= ~(G_GUINT64_CONSTANT (1) << (i % 64));
}

/* Records (origin, epoch, seq); returns FALSE if it was seen before. */
gboolean
_gossip_dedup_check (GossipDedup *d, const char *origin, guint64 epoch, guint64 seq)
{
  /* Every copy of every broadcast comes here: the key is built on the
   * stack, and copied only for a new origin.  Origins are at most
   * GOSSIP_MSG_MAX_ID_LEN bytes (checked when parsing; longer ones from
   * local callers are cut, which only merges their histories). */
  char key[GOSSIP_MSG_MAX_ID_LEN + 24];
  DedupOrigin *o;

  g_snprintf (key, sizeof key, "%s\n%" G_GUINT64_FORMAT, origin, epoch);
  o = g_hash_table_lookup (d->origins, key);

  if (o == NULL)
    {
      if (d->lru.length >= DEDUP_MAX_ORIGINS)
        {
          DedupOrigin *oldest = g_queue_peek_tail (&d->lru);
          g_queue_unlink (&d->lru, &oldest->link);
          g_hash_table_remove (d->origins, oldest->key);
          dedup_origin_free (oldest);
        }
      o = g_malloc0 (sizeof (DedupOrigin) + d->window / 8);
      o->key = g_strdup (key);
      o->link.data = o;
      g_hash_table_insert (d->origins, o->key, o);
    }
  else
    g_queue_unlink (&d->lru, &o->link);
  g_queue_push_head_link (&d->lru, &o->link);

  if (seq <= o->floor || (seq - o->floor <= d->window && bit_get (d, o, seq)))
    return FALSE;
  if (seq - o->floor > 2 * d->window)
    {
      memset (o->bits, 0, d->window / 8);
      o->floor = seq - d->window;
    }
  while (seq - o->floor > d->window)
    bit_set (d, o, ++o->floor, FALSE);
  bit_set (d, o, seq, TRUE);
  while (bit_get (d, o, o->floor + 1) && o->floor + 1 <= seq)
    bit_set (d, o, ++o->floor, FALSE);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Setup */

static void
handler_free (gpointer data)
{
  Handler *h = data;

  if (h->destroy != NULL)
    h->destroy (h->user_data);
  g_free (h);
}

void
_gossip_messaging_init (GossipCluster *self)
{
  GossipConfig *c = self->config;

  self->handlers = g_hash_table_new_full (NULL, NULL, NULL, handler_free);
  self->user_queue = _gossip_broadcast_queue_new (self->retransmit_mult);
  self->outbox = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  self->user_share = (guint) gossip_config_get_int (c, "messages", "user_share");
  self->hop_limit = (guint) gossip_config_get_int (c, "messages", "hop_limit");
  self->max_queued = (guint) gossip_config_get_int (c, "messages", "max_queued");
  self->dedup = _gossip_dedup_new (self->max_queued);
  self->dedup_window = gossip_config_get_duration (c, "messages", "dedup_window");
  self->request_timeout = gossip_config_get_duration (c, "messages", "request_timeout");
  self->max_metadata_size = gossip_config_get_size (c, "messages", "max_metadata_size");
}

void
_gossip_messaging_clear (GossipCluster *self)
{
  g_clear_pointer (&self->handlers, g_hash_table_unref);
  g_clear_pointer (&self->user_queue, _gossip_broadcast_queue_free);
  g_clear_pointer (&self->outbox, g_ptr_array_unref);
  g_clear_pointer (&self->dedup, _gossip_dedup_free);
}

void
_gossip_messaging_start (GossipCluster *self)
{
  /* A new epoch per start: sequence numbers begin again at 1, and nodes
   * that remember the previous life's numbers do not take the new messages
   * for duplicates. */
  self->epoch = ((guint64) g_rand_int (self->rand) << 32 | g_rand_int (self->rand)) | 1;
  self->broadcast_seq = 0;
}

void
_gossip_messaging_stop (GossipCluster *self)
{
  gossip_clock_clear_timer (self->clock, &self->outbox_timer);
  if (self->outbox != NULL)
    g_ptr_array_set_size (self->outbox, 0);
}

guint
_gossip_messaging_queue_length (GossipCluster *self)
{
  return self->outbox->len + _gossip_broadcast_queue_length (self->user_queue);
}

/* ------------------------------------------------------------------------ */
/* Handlers */

static gboolean
check_type (guint type, GError **error)
{
  if (type < GOSSIP_MESSAGE_TYPE_USER || type > G_MAXUINT16)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_RESERVED_TYPE,
                   "message type %u is not a user type (%d to 65535)", type,
                   GOSSIP_MESSAGE_TYPE_USER);
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_handler (GossipCluster *self, guint type, HandlerKind kind, GossipMessageFunc func,
             GossipRequestFunc reply_func, gpointer user_data, GDestroyNotify destroy,
             GError **error)
{
  Handler *h;

  if (!check_type (type, error))
    return FALSE;
  if (g_hash_table_contains (self->handlers, GUINT_TO_POINTER (type)))
    {
      g_set_error (
          error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_ALREADY_HANDLED,
          "message type %u already has a handler; remove it with gossip_cluster_unhandle()", type);
      return FALSE;
    }
  h = g_new0 (Handler, 1);
  h->kind = kind;
  h->func = func;
  h->reply_func = reply_func;
  h->user_data = user_data;
  h->destroy = destroy;
  g_hash_table_insert (self->handlers, GUINT_TO_POINTER (type), h);
  return TRUE;
}

/**
 * gossip_cluster_handle:
 * @cluster: a cluster
 * @type: a message type, %GOSSIP_MESSAGE_TYPE_USER or above
 * @func: (scope notified): called for each message of @type
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * Handles @type with forwarding: messages of @type sent with
 * gossip_cluster_send() are delivered here and passed on to more peers
 * (within the hop limit), so they spread like gossip.  Broadcasts are
 * delivered and relayed whatever the handler.
 *
 * Returns: %TRUE, or %FALSE if @type is reserved or already handled
 */
gboolean
gossip_cluster_handle (GossipCluster *self, guint type, GossipMessageFunc func, gpointer user_data,
                       GDestroyNotify destroy, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  return add_handler (self, type, HANDLER_FORWARD, func, NULL, user_data, destroy, error);
}

/**
 * gossip_cluster_handle_no_forward:
 * @cluster: a cluster
 * @type: a message type, %GOSSIP_MESSAGE_TYPE_USER or above
 * @func: (scope notified): called for each message of @type
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * Handles @type without forwarding: messages are delivered here only.
 *
 * Returns: %TRUE, or %FALSE if @type is reserved or already handled
 */
gboolean
gossip_cluster_handle_no_forward (GossipCluster *self, guint type, GossipMessageFunc func,
                                  gpointer user_data, GDestroyNotify destroy, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  return add_handler (self, type, HANDLER_NO_FORWARD, func, NULL, user_data, destroy, error);
}

/**
 * gossip_cluster_handle_with_reply:
 * @cluster: a cluster
 * @type: a message type, %GOSSIP_MESSAGE_TYPE_USER or above
 * @func: (scope notified): answers each request of @type
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * Answers requests (gossip_cluster_request_async()) of @type: what @func
 * returns, or the error it sets, travels back to the caller.  Messages of
 * @type that are not requests are delivered to @func too, and its answer
 * dropped.
 *
 * Returns: %TRUE, or %FALSE if @type is reserved or already handled
 */
gboolean
gossip_cluster_handle_with_reply (GossipCluster *self, guint type, GossipRequestFunc func,
                                  gpointer user_data, GDestroyNotify destroy, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  return add_handler (self, type, HANDLER_WITH_REPLY, NULL, func, user_data, destroy, error);
}

/**
 * gossip_cluster_unhandle:
 * @cluster: a cluster
 * @type: a message type
 *
 * Removes the handler of @type; later messages of @type are counted
 * (`dropped-unhandled`) and dropped.
 *
 * Returns: %TRUE if there was a handler
 */
gboolean
gossip_cluster_unhandle (GossipCluster *self, guint type)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return g_hash_table_remove (self->handlers, GUINT_TO_POINTER (type));
}

GossipNode *
_gossip_messaging_sender (GossipCluster *self, const char *id, const char *address)
{
  GossipMember *m = _gossip_membership_lookup (self, id);

  if (m != NULL)
    return g_object_ref (m->node);
  return _gossip_node_new (id, address, FALSE);
}

/* Runs the handler; returns the reply for a request (or an error). */
static GVariant *
deliver (GossipCluster *self, Handler *h, const char *sender_id, const char *sender_address,
         guint type, GVariant *payload, GError **error)
{
  g_autoptr (GossipNode) sender = _gossip_messaging_sender (self, sender_id, sender_address);
  g_autoptr (GError) local = NULL;
  GVariant *reply = NULL;
  gboolean ok;

  if (h->kind == HANDLER_WITH_REPLY)
    {
      reply = h->reply_func (self, sender, type, payload, h->user_data, &local);
      if (reply != NULL)
        g_variant_ref_sink (reply);
      ok = local == NULL;
    }
  else
    ok = h->func (self, sender, type, payload, h->user_data, &local);
  if (!ok)
    {
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_HANDLER_ERRORS, sender_id,
                                "handler of message type %u failed: %s", type,
                                local ? local->message : "no reason given");
      g_clear_pointer (&reply, g_variant_unref);
      if (local != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_REMOTE,
                     "the handler of message type %u failed", type);
    }
  return reply;
}

/* ------------------------------------------------------------------------ */
/* Direct messages and requests */

static gboolean
check_running (GossipCluster *self, GError **error)
{
  if (!self->running)
    {
      g_set_error_literal (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                           "the cluster is not running");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_reachable (GossipCluster *self, GossipNode *node, GError **error)
{
  GossipMember *m = _gossip_membership_lookup (self, gossip_node_get_id (node));
  GossipNodeState state = m ? gossip_node_get_state (m->node) : GOSSIP_NODE_STATE_UNKNOWN;

  if (m == self->local)
    {
      g_set_error_literal (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                           "a node cannot send a message to itself");
      return FALSE;
    }
  if (state != GOSSIP_NODE_STATE_ALIVE && state != GOSSIP_NODE_STATE_SUSPECT)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                   "node %s is %s, not a live member", gossip_node_get_id (node),
                   m ? gossip_node_state_to_string (state) : "unknown");
      return FALSE;
    }
  if (m->route == NULL)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                   "no transport of this node serves any address of %s (%s)",
                   gossip_node_get_id (node), gossip_node_get_address (node));
      return FALSE;
    }
  return TRUE;
}

static gboolean
send_user (GossipCluster *self, GossipNode *node, guint type, GVariant *payload, gboolean reliable,
           GossipTransportSendFunc done, gpointer done_data, GError **error)
{
  GossipMember *m = _gossip_membership_lookup (self, gossip_node_get_id (node));

  if (!_gossip_cluster_send (self, m->route,
                             _gossip_msg_user (0, self->node_id, NULL, type, FALSE, payload),
                             reliable, TRUE, done, done_data))
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                   "cannot send to %s at %s", gossip_node_get_id (node), m->route);
      return FALSE;
    }
  self->counters[GOSSIP_COUNTER_USER_SENT]++;
  return TRUE;
}

/**
 * gossip_cluster_send_to:
 * @cluster: a running cluster
 * @node: a live member
 * @type: a message type, %GOSSIP_MESSAGE_TYPE_USER or above
 * @payload: (nullable): the payload (floating references are sunk)
 * @error: return location for a #GError
 *
 * Sends one message to @node, best effort: by datagram when the frame fits
 * `[transport] max_datagram_size`, else over the pooled reliable connection.
 *
 * Returns: %TRUE if the message was handed to a transport
 */
gboolean
gossip_cluster_send_to (GossipCluster *self, GossipNode *node, guint type, GVariant *payload,
                        GError **error)
{
  g_autoptr (GVariant) owned = payload ? g_variant_ref_sink (payload) : NULL;

  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (GOSSIP_IS_NODE (node), FALSE);
  if (!check_type (type, error) || !check_running (self, error)
      || !check_reachable (self, node, error))
    return FALSE;
  return send_user (self, node, type, owned, FALSE, NULL, NULL, error);
}

static void
reliable_task_done (gpointer data, const GError *error)
{
  GTask *task = data;

  if (error != NULL)
    g_task_return_new_error (task, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                             "could not deliver the message: %s", error->message);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/**
 * gossip_cluster_send_to_reliable_async:
 * @cluster: a running cluster
 * @node: a live member
 * @type: a message type, %GOSSIP_MESSAGE_TYPE_USER or above
 * @payload: (nullable): the payload (floating references are sunk)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the message was written to @node's connection, or failed
 * @user_data: data for @callback
 *
 * Sends one message to @node over the reliable path, whatever its size.
 * Finish with gossip_cluster_send_to_reliable_finish().
 */
void
gossip_cluster_send_to_reliable_async (GossipCluster *self, GossipNode *node, guint type,
                                       GVariant *payload, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GVariant) owned = payload ? g_variant_ref_sink (payload) : NULL;
  GTask *task;
  GError *error = NULL;

  g_return_if_fail (GOSSIP_IS_CLUSTER (self));
  g_return_if_fail (GOSSIP_IS_NODE (node));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gossip_cluster_send_to_reliable_async);
  if (!check_type (type, &error) || !check_running (self, &error)
      || !check_reachable (self, node, &error)
      || !send_user (self, node, type, owned, TRUE, reliable_task_done, task, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
    }
}

/**
 * gossip_cluster_send_to_reliable_finish:
 * @cluster: a cluster
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the message was written to the node's connection
 */
gboolean
gossip_cluster_send_to_reliable_finish (GossipCluster *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* A request waiting for its reply. */
typedef struct
{
  GossipCluster *cluster;
  GTask *task;
  guint64 seq;
  guint timer;
  gulong cancel_id;
  gboolean done;
} Request;

static void
request_finish (Request *req, GVariant *reply, GError *error)
{
  GossipCluster *self = req->cluster;

  if (req->done)
    {
      g_clear_error (&error);
      return;
    }
  req->done = TRUE;
  gossip_clock_clear_timer (self->clock, &req->timer);
  if (error != NULL)
    g_task_return_error (req->task, error);
  else
    g_task_return_pointer (req->task, reply ? g_variant_ref_sink (reply) : NULL,
                           (GDestroyNotify) g_variant_unref);
  /* Removing the pending entry frees @req (request_destroy). */
  if (self->pending != NULL)
    _gossip_cluster_remove_pending (self, req->seq);
}

static void
request_destroy (gpointer data)
{
  Request *req = data;

  if (!req->done)
    {
      req->done = TRUE;
      gossip_clock_clear_timer (req->cluster->clock, &req->timer);
      g_task_return_new_error (req->task, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                               "the cluster stopped before the reply arrived");
    }
  if (req->cancel_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (req->task), req->cancel_id);
  g_object_unref (req->task);
  g_free (req);
}

static void
request_reply (GossipCluster *self, GossipPending *pending, const GossipMsg *reply)
{
  Request *req = pending->data;

  (void) self;
  if (reply->type != GOSSIP_MSG_USER_REPLY)
    return;
  if (reply->error_text != NULL)
    request_finish (req, NULL,
                    g_error_new (GOSSIP_CLUSTER_ERROR,
                                 reply->code == GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE
                                     ? GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE
                                     : GOSSIP_CLUSTER_ERROR_REMOTE,
                                 "%s: %s", reply->from, reply->error_text));
  else
    request_finish (req, reply->payload, NULL);
}

static void
request_timed_out (gpointer data)
{
  Request *req = data;

  req->timer = 0;
  req->cluster->counters[GOSSIP_COUNTER_REQUEST_TIMEOUTS]++;
  request_finish (req, NULL,
                  g_error_new_literal (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TIMEOUT,
                                       "no reply before the timeout"));
}

typedef struct
{
  GossipCluster *cluster;
  guint64 seq;
} RequestRef;

static void
request_sent (gpointer data, const GError *error)
{
  RequestRef *ref = data;
  GossipPending *pending;

  if (error != NULL && ref->cluster->pending != NULL
      && (pending = g_hash_table_lookup (ref->cluster->pending, &ref->seq)) != NULL
      && pending->on_reply == request_reply)
    request_finish (pending->data, NULL,
                    g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                                 "could not send the request: %s", error->message));
  g_object_unref (ref->cluster);
  g_free (ref);
}

static gboolean
request_cancelled_idle (gpointer data)
{
  RequestRef *ref = data;
  GossipPending *pending;

  if (ref->cluster->pending != NULL
      && (pending = g_hash_table_lookup (ref->cluster->pending, &ref->seq)) != NULL
      && pending->on_reply == request_reply)
    request_finish (
        pending->data, NULL,
        g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "the request was cancelled"));
  g_object_unref (ref->cluster);
  g_free (ref);
  return G_SOURCE_REMOVE;
}

static void
request_cancelled (GCancellable *cancellable, gpointer data)
{
  Request *req = data;
  RequestRef *ref = g_new0 (RequestRef, 1);
  GSource *idle = g_idle_source_new ();

  (void) cancellable;
  /* The cancellable may fire on any thread: finish on the cluster's context. */
  ref->cluster = g_object_ref (req->cluster);
  ref->seq = req->seq;
  g_source_set_callback (idle, request_cancelled_idle, ref, NULL);
  g_source_attach (idle, req->cluster->context);
  g_source_unref (idle);
}

/**
 * gossip_cluster_request_async:
 * @cluster: a running cluster
 * @node: a live member
 * @type: a message type, %GOSSIP_MESSAGE_TYPE_USER or above, handled on
 *   @node with gossip_cluster_handle_with_reply()
 * @payload: (nullable): the request's payload (floating references are sunk)
 * @timeout_ms: how long to wait for the reply; 0 for `[messages] request_timeout`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply or an error
 * @user_data: data for @callback
 *
 * Sends a request to @node and waits for its answer.  Errors:
 * %GOSSIP_CLUSTER_ERROR_TIMEOUT, %GOSSIP_CLUSTER_ERROR_UNREACHABLE,
 * %GOSSIP_CLUSTER_ERROR_REMOTE (the remote handler's error message),
 * %GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE (no handler there), or
 * %G_IO_ERROR_CANCELLED.  Finish with gossip_cluster_request_finish().
 */
void
gossip_cluster_request_async (GossipCluster *self, GossipNode *node, guint type, GVariant *payload,
                              guint timeout_ms, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GVariant) owned = payload ? g_variant_ref_sink (payload) : NULL;
  GError *error = NULL;
  GossipMember *m;
  Request *req;
  RequestRef *ref;
  GTask *task;

  g_return_if_fail (GOSSIP_IS_CLUSTER (self));
  g_return_if_fail (GOSSIP_IS_NODE (node));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gossip_cluster_request_async);
  g_task_set_check_cancellable (task, FALSE);
  if (!check_type (type, &error) || !check_running (self, &error)
      || !check_reachable (self, node, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  m = _gossip_membership_lookup (self, gossip_node_get_id (node));
  req = g_new0 (Request, 1);
  req->cluster = self;
  req->task = task;
  req->seq = _gossip_cluster_next_seq (self);
  _gossip_cluster_add_pending (self, req->seq, request_reply, req, request_destroy);
  req->timer = gossip_clock_add_timer (
      self->clock, timeout_ms ? (gint64) timeout_ms * 1000 : self->request_timeout,
      request_timed_out, req, NULL);
  if (cancellable != NULL)
    req->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (request_cancelled), req, NULL);
  self->counters[GOSSIP_COUNTER_REQUESTS_SENT]++;
  ref = g_new0 (RequestRef, 1);
  ref->cluster = g_object_ref (self);
  ref->seq = req->seq;
  if (!_gossip_cluster_send (
          self, m->route,
          _gossip_msg_user (req->seq, self->node_id, self->advertise_address, type, TRUE, owned),
          FALSE, TRUE, request_sent, ref))
    {
      g_object_unref (ref->cluster);
      g_free (ref);
      request_finish (req, NULL,
                      g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                                   "cannot send to %s", gossip_node_get_id (node)));
    }
}

/**
 * gossip_cluster_request_finish:
 * @cluster: a cluster
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the reply payload; %NULL with @error
 *   unset for an empty reply
 */
GVariant *
gossip_cluster_request_finish (GossipCluster *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* A USER message: deliver it, and answer it if it is a request. */
void
_gossip_messaging_handle_user (GossipCluster *self, GossipTransportPath path, const char *from,
                               const GossipMsg *msg)
{
  Handler *h = g_hash_table_lookup (self->handlers, GUINT_TO_POINTER (msg->user_type));
  const char *reply_to = path == GOSSIP_TRANSPORT_PATH_RELIABLE ? from : msg->from_address;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  self->counters[GOSSIP_COUNTER_USER_RECEIVED]++;
  if (h == NULL)
    {
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_UNHANDLED, from,
                                "no handler for message type %u", msg->user_type);
      g_set_error (&error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE,
                   "no handler for message type %u", msg->user_type);
    }
  else
    reply = deliver (self, h, msg->from, msg->from_address, msg->user_type, msg->payload, &error);
  if (!msg->request || msg->seq == 0 || reply_to == NULL)
    return;
  self->counters[GOSSIP_COUNTER_REPLIES_SENT]++;
  _gossip_cluster_send (self, reply_to,
                        _gossip_msg_user_reply (msg->seq, self->node_id, reply, error), FALSE, TRUE,
                        NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Broadcasts */

static guint
hop_limit (GossipCluster *self)
{
  guint n = g_hash_table_size (self->members), hops = 3;

  if (self->hop_limit != 0)
    return self->hop_limit;
  /* Enough for an epidemic with fan-out 3 to cover n nodes with room to
   * spare: ceil (log2 (n + 1)) + 3. */
  while (n > 0)
    {
      hops++;
      n >>= 1;
    }
  return hops;
}

static void flush_outbox (gpointer data);

static void
schedule_flush (GossipCluster *self)
{
  if (self->running && self->outbox_timer == 0)
    self->outbox_timer = gossip_clock_add_timer (self->clock, 0, flush_outbox, self, NULL);
}

/* Queues @entry (a BROADCAST map, borrowed) for the event-driven fan-out
 * and, with @retransmit, for piggybacked retransmission.  Returns FALSE
 * when the outbox is full. */
static gboolean
enqueue (GossipCluster *self, GVariant *entry, gboolean retransmit)
{
  g_autoptr (GBytes) bytes = NULL;

  if (self->outbox->len >= self->max_queued)
    return FALSE;
  bytes = g_variant_get_data_as_bytes (entry);
  g_ptr_array_add (self->outbox, g_bytes_ref (bytes));
  if (retransmit)
    {
      _gossip_broadcast_queue_push (self->user_queue, bytes, NULL, TRUE, NULL, NULL);
      if (_gossip_broadcast_queue_length (self->user_queue) > self->max_queued)
        {
          self->counters[GOSSIP_COUNTER_BROADCASTS_PRUNED]
              += _gossip_broadcast_queue_length (self->user_queue) - self->max_queued;
          _gossip_broadcast_queue_prune (self->user_queue, self->max_queued);
        }
    }
  schedule_flush (self);
  return TRUE;
}

static GVariant *
entry_variant (GBytes *bytes)
{
  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, TRUE));
}

/* Sends entries from the outbox, as many per datagram as fit, each batch
 * to its own random fan-out of peers. */
static void
flush_outbox (gpointer data)
{
  GossipCluster *self = data;
  gsize header = gossip_pipeline_get_overhead (self->pipeline) + 64 + strlen (self->node_id);
  gsize limit = self->max_datagram_size > header ? self->max_datagram_size - header : 0;
  guint frames = 0, taken = 0;

  self->outbox_timer = 0;
  while (taken < self->outbox->len && frames < OUTBOX_FRAMES_PER_TURN && self->running)
    {
      g_autoptr (GPtrArray) batch
          = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      g_autoptr (GPtrArray) peers = _gossip_membership_random (self, self->fanout, NULL, FALSE);
      g_autoptr (GVariant) message = NULL;
      gsize used = 0;
      gboolean alone = FALSE;

      while (taken < self->outbox->len && batch->len < GOSSIP_MSG_MAX_PIGGYBACK)
        {
          GBytes *entry = g_ptr_array_index (self->outbox, taken);
          gsize size = g_bytes_get_size (entry) + GOSSIP_ENTRY_OVERHEAD;

          if (batch->len > 0 && used + size > limit)
            break;
          g_ptr_array_add (batch, entry_variant (entry));
          used += size;
          taken++;
          if (used > limit)
            {
              alone = TRUE; /* too big for a datagram: it travels on its own */
              break;
            }
        }
      if (alone)
        message = g_variant_ref (g_ptr_array_index (batch, 0));
      else
        {
          g_autoptr (GVariant) carrier = g_variant_ref_sink (_gossip_msg_gossip (self->node_id));
          message = g_variant_ref_sink (_gossip_msg_with_piggyback (carrier, batch));
        }
      for (guint i = 0; i < peers->len; i++)
        {
          GossipMember *m = g_ptr_array_index (peers, i);
          if (_gossip_cluster_send (self, m->route, g_variant_ref (message), FALSE, FALSE, NULL,
                                    NULL))
            frames++;
        }
      self->counters[GOSSIP_COUNTER_BROADCASTS_SENT] += batch->len * peers->len;
      if (peers->len == 0)
        frames++; /* nobody to send to: still bounded per turn */
    }
  g_ptr_array_remove_range (self->outbox, 0, taken);
  if (self->outbox->len > 0)
    schedule_flush (self);
}

gsize
_gossip_messaging_take_broadcasts (GossipCluster *self, gsize limit, GPtrArray *variants)
{
  g_autoptr (GPtrArray) carried = NULL;

  /* A datagram's piggyback takes broadcasts twice (its user share, then
   * whatever room the protocol's updates left): the second time, the
   * entries it already carries must not be taken again, which would send
   * them twice in one datagram and spend two of their transmissions. */
  if (variants->len > 0 && _gossip_broadcast_queue_length (self->user_queue) > 0)
    {
      carried = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      for (guint i = 0; i < variants->len; i++)
        g_ptr_array_add (carried, g_variant_get_data_as_bytes (g_ptr_array_index (variants, i)));
    }
  return _gossip_cluster_take_entries (self, self->user_queue, limit, carried, variants);
}

static gboolean
originate (GossipCluster *self, guint type, GVariant *payload, gboolean relay, gboolean reliable,
           GError **error)
{
  g_autoptr (GVariant) owned = payload ? g_variant_ref_sink (payload) : NULL;
  g_autoptr (GVariant) entry = NULL;

  if (!check_type (type, error) || !check_running (self, error))
    return FALSE;
  entry = g_variant_ref_sink (_gossip_msg_broadcast (
      self->node_id, self->epoch, self->broadcast_seq + 1, type, hop_limit (self),
      gossip_clock_now_wall (self->clock) / 1000, relay, owned));
  if (g_variant_get_size (entry) > self->max_frame_size / 2)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TOO_BIG,
                   "a payload of %" G_GSIZE_FORMAT " bytes exceeds half of [transport] "
                   "max_frame_size (%" G_GSIZE_FORMAT ")",
                   g_variant_get_size (entry), self->max_frame_size);
      return FALSE;
    }
  if (reliable)
    {
      /* Reliable best effort: each of a fan-out of peers gets it over its
       * connection; no relaying, no retransmission. */
      g_autoptr (GPtrArray) peers = _gossip_membership_random (self, self->fanout, NULL, FALSE);
      for (guint i = 0; i < peers->len; i++)
        {
          GossipMember *m = g_ptr_array_index (peers, i);
          _gossip_cluster_send (self, m->route, g_variant_ref (entry), TRUE, FALSE, NULL, NULL);
        }
    }
  else if (!enqueue (self, entry, relay))
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_QUEUE_FULL,
                   "%u messages are waiting to be sent ([messages] max_queued); try again once "
                   "the main loop has run",
                   self->outbox->len);
      return FALSE;
    }
  self->broadcast_seq++;
  self->counters[relay ? GOSSIP_COUNTER_BROADCASTS_ORIGINATED : GOSSIP_COUNTER_USER_SENT]++;
  /* The originator never delivers its own message to itself. */
  _gossip_dedup_check (self->dedup, self->node_id, self->epoch, self->broadcast_seq);
  return TRUE;
}

/**
 * gossip_cluster_send:
 * @cluster: a running cluster
 * @type: a message type, %GOSSIP_MESSAGE_TYPE_USER or above
 * @payload: (nullable): the payload (floating references are sunk)
 * @error: return location for a #GError
 *
 * Sends a message, best effort, to `[gossip] fanout` random live peers.
 * Peers that handle @type with gossip_cluster_handle() pass it on (each
 * node delivers it at most once); with gossip_cluster_handle_no_forward()
 * it stops there.  Nothing is retransmitted: use gossip_cluster_broadcast()
 * when every node must have it.
 *
 * Returns: %TRUE if queued; %GOSSIP_CLUSTER_ERROR_QUEUE_FULL when
 *   `[messages] max_queued` messages already wait
 */
gboolean
gossip_cluster_send (GossipCluster *self, guint type, GVariant *payload, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return originate (self, type, payload, FALSE, FALSE, error);
}

/**
 * gossip_cluster_send_reliable:
 * @cluster: a running cluster
 * @type: a message type, %GOSSIP_MESSAGE_TYPE_USER or above
 * @payload: (nullable): the payload (floating references are sunk)
 * @error: return location for a #GError
 *
 * As gossip_cluster_send(), but each of the fan-out's peers gets the
 * message over the reliable path.
 *
 * Returns: %TRUE if handed to the transports
 */
gboolean
gossip_cluster_send_reliable (GossipCluster *self, guint type, GVariant *payload, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return originate (self, type, payload, FALSE, TRUE, error);
}

/**
 * gossip_cluster_broadcast:
 * @cluster: a running cluster
 * @type: a message type, %GOSSIP_MESSAGE_TYPE_USER or above
 * @payload: (nullable): the payload (floating references are sunk)
 * @error: return location for a #GError
 *
 * Sends a message to every live node; each delivers it to its handler of
 * @type exactly once.  It leaves at once for a fan-out of peers, which relay
 * it (with a hop limit), and is retransmitted on later datagrams about
 * `retransmit_mult × log10 (N + 1)` times by every node that has it, so
 * lost datagrams and nodes that die while relaying do not stop it.
 *
 * Returns: %TRUE if queued; %GOSSIP_CLUSTER_ERROR_QUEUE_FULL when
 *   `[messages] max_queued` messages already wait for their first fan-out
 *   (let the main loop run, then try again)
 */
gboolean
gossip_cluster_broadcast (GossipCluster *self, guint type, GVariant *payload, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return originate (self, type, payload, TRUE, FALSE, error);
}

/**
 * gossip_cluster_get_queue_depth:
 * @cluster: a cluster
 *
 * Returns: messages waiting for their first fan-out plus broadcasts waiting
 *   for retransmission
 */
guint
gossip_cluster_get_queue_depth (GossipCluster *self)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), 0);
  return _gossip_messaging_queue_length (self);
}

/* A BROADCAST entry, standalone or piggybacked. */
void
_gossip_messaging_handle_broadcast (GossipCluster *self, const GossipMsg *msg)
{
  Handler *h;
  gint64 now_ms = gossip_clock_now_wall (self->clock) / 1000;
  gboolean forward;
  guint64 hops;
  GVariant *reply;

  if (msg->sent_at < now_ms - self->dedup_window / 1000)
    {
      /* Older than the history remembers: it could be a replay. */
      self->counters[GOSSIP_COUNTER_BROADCASTS_EXPIRED]++;
      return;
    }
  if (!_gossip_dedup_check (self->dedup, msg->origin, msg->epoch, msg->seq))
    {
      self->counters[GOSSIP_COUNTER_BROADCASTS_DUPLICATE]++;
      return;
    }
  h = g_hash_table_lookup (self->handlers, GUINT_TO_POINTER (msg->user_type));
  forward = msg->hops > 1 && (msg->relay || (h != NULL && h->kind == HANDLER_FORWARD));
  /* A sender cannot make us relay further than we would ourselves. */
  hops = MIN (msg->hops, (guint64) hop_limit (self));
  /* Forward first: the handler may take its time, the others need not wait. */
  if (forward)
    {
      g_autoptr (GVariant) entry = g_variant_ref_sink (
          _gossip_msg_broadcast (msg->origin, msg->epoch, msg->seq, msg->user_type, hops - 1,
                                 msg->sent_at, msg->relay, msg->payload));
      if (enqueue (self, entry, msg->relay))
        self->counters[GOSSIP_COUNTER_BROADCASTS_FORWARDED]++;
      else
        self->counters[GOSSIP_COUNTER_BROADCASTS_FORWARD_DROPPED]++;
    }
  if (h == NULL)
    {
      if (!msg->relay)
        _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_UNHANDLED, msg->origin,
                                  "no handler for message type %u", msg->user_type);
      return;
    }
  self->counters[msg->relay ? GOSSIP_COUNTER_BROADCASTS_DELIVERED : GOSSIP_COUNTER_USER_RECEIVED]++;
  reply = deliver (self, h, msg->origin, NULL, msg->user_type, msg->payload, NULL);
  if (reply != NULL)
    g_variant_unref (reply);
}

/* ------------------------------------------------------------------------ */
/* Payload helpers */

/**
 * gossip_payload_new_bytes:
 * @bytes: raw bytes
 *
 * Returns: (transfer floating): a payload (`ay`) carrying @bytes
 */
GVariant *
gossip_payload_new_bytes (GBytes *bytes)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

/**
 * gossip_payload_get_bytes:
 * @payload: a payload as a handler received it
 *
 * Returns: (transfer full) (nullable): the bytes of a byte-string payload,
 *   %NULL if @payload is not one
 */
GBytes *
gossip_payload_get_bytes (GVariant *payload)
{
  g_autoptr (GVariant) coerced = NULL;

  if (payload == NULL)
    return NULL;
  coerced = gossip_variant_coerce (payload, G_VARIANT_TYPE_BYTESTRING, NULL);
  return coerced ? g_variant_get_data_as_bytes (coerced) : NULL;
}
