/* gossip-cluster.c: the GossipCluster object: lifecycle, plugins,
 * transports, sending and the receive path.
 *
 * The receive path validates before it acts: a frame is opened and decoded
 * by the pipeline, the message parsed and bounds-checked, and only then
 * dispatched.  Nothing on it blocks or waits for the network.
 */
#include "config.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>

#include "gossip/gossip-cluster.h"
#include "gossip/gossip-plugin.h"
#include "gossip/gossip-version.h"
#include "gossip-cluster-private.h"
#include "gossip-address-private.h"
#include "gossip-uuid.h"

G_DEFINE_QUARK (gossip - cluster - error - quark, gossip_cluster_error)
G_DEFINE_FINAL_TYPE (GossipCluster, gossip_cluster, G_TYPE_OBJECT)

enum
{
  SIGNAL_NODE_STATE_CHANGED,
  SIGNAL_NODE_METADATA_CHANGED,
  SIGNAL_GOSSIP,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static const char *const counter_names[GOSSIP_COUNTER_N] = {
  [GOSSIP_COUNTER_FRAMES_IN] = "frames-in",
  [GOSSIP_COUNTER_FRAMES_OUT] = "frames-out",
  [GOSSIP_COUNTER_BYTES_IN] = "bytes-in",
  [GOSSIP_COUNTER_BYTES_OUT] = "bytes-out",
  [GOSSIP_COUNTER_SEND_FAILED] = "send-failed",
  [GOSSIP_COUNTER_DROPPED_FRAME] = "dropped-frame",
  [GOSSIP_COUNTER_DROPPED_MALFORMED] = "dropped-malformed",
  [GOSSIP_COUNTER_DROPPED_TRANSPORT] = "dropped-transport",
  [GOSSIP_COUNTER_DROPPED_UNKNOWN_TYPE] = "dropped-unknown-type",
  [GOSSIP_COUNTER_DROPPED_WRONG_TARGET] = "dropped-wrong-target",
  [GOSSIP_COUNTER_DROPPED_UNKNOWN_PROBE_TARGET] = "dropped-unknown-probe-target",
  [GOSSIP_COUNTER_DROPPED_OLD_PROTOCOL] = "dropped-old-protocol",
  [GOSSIP_COUNTER_STALE_UPDATES] = "stale-updates",
  [GOSSIP_COUNTER_LATE_ACKS] = "late-acks",
  [GOSSIP_COUNTER_PINGS_SENT] = "pings-sent",
  [GOSSIP_COUNTER_ACKS_RECEIVED] = "acks-received",
  [GOSSIP_COUNTER_INDIRECT_PROBES] = "indirect-probes",
  [GOSSIP_COUNTER_TCP_FALLBACK_PINGS] = "reliable-fallback-pings",
  [GOSSIP_COUNTER_NACKS_RECEIVED] = "nacks-received",
  [GOSSIP_COUNTER_PROBE_FAILURES] = "probe-failures",
  [GOSSIP_COUNTER_SUSPICIONS] = "suspicions",
  [GOSSIP_COUNTER_REFUTATIONS] = "refutations",
  [GOSSIP_COUNTER_DEATHS] = "deaths",
  [GOSSIP_COUNTER_PUSH_PULLS] = "push-pulls",
  [GOSSIP_COUNTER_RECONNECT_ATTEMPTS] = "reconnect-attempts",
  [GOSSIP_COUNTER_ID_CONFLICTS] = "id-conflicts",
  [GOSSIP_COUNTER_DIGEST_SYNCS] = "digest-syncs",
  [GOSSIP_COUNTER_GOSSIP_ROUNDS] = "gossip-rounds",
  [GOSSIP_COUNTER_UPDATES_SENT] = "updates-sent",
  [GOSSIP_COUNTER_DATAGRAMS_OUT] = "datagrams-out",
  [GOSSIP_COUNTER_STREAM_FRAMES_OUT] = "stream-frames-out",
  [GOSSIP_COUNTER_USER_SENT] = "messages-sent",
  [GOSSIP_COUNTER_USER_RECEIVED] = "messages-received",
  [GOSSIP_COUNTER_DROPPED_UNHANDLED] = "dropped-unhandled",
  [GOSSIP_COUNTER_HANDLER_ERRORS] = "handler-errors",
  [GOSSIP_COUNTER_REQUESTS_SENT] = "requests-sent",
  [GOSSIP_COUNTER_REQUEST_TIMEOUTS] = "request-timeouts",
  [GOSSIP_COUNTER_REPLIES_SENT] = "replies-sent",
  [GOSSIP_COUNTER_BROADCASTS_ORIGINATED] = "broadcasts-originated",
  [GOSSIP_COUNTER_BROADCASTS_DELIVERED] = "broadcasts-delivered",
  [GOSSIP_COUNTER_BROADCASTS_FORWARDED] = "broadcasts-forwarded",
  [GOSSIP_COUNTER_BROADCASTS_DUPLICATE] = "broadcasts-duplicate",
  [GOSSIP_COUNTER_BROADCASTS_EXPIRED] = "broadcasts-expired",
  [GOSSIP_COUNTER_BROADCASTS_PRUNED] = "broadcasts-pruned",
  [GOSSIP_COUNTER_BROADCASTS_FORWARD_DROPPED] = "broadcasts-forward-dropped",
  [GOSSIP_COUNTER_BROADCASTS_SENT] = "broadcast-entries-sent",
  [GOSSIP_COUNTER_META_CHANGES] = "metadata-changes",
  [GOSSIP_COUNTER_META_FETCHES] = "metadata-fetches",
  [GOSSIP_COUNTER_DROPPED_METADATA] = "dropped-metadata",
  [GOSSIP_COUNTER_NOTICES_SENT] = "notices-sent",
  [GOSSIP_COUNTER_NOTICES_SUPPRESSED] = "notices-suppressed",
  [GOSSIP_COUNTER_STREAMS_OPENED] = "streams-opened",
  [GOSSIP_COUNTER_STREAMS_ACCEPTED] = "streams-accepted",
  [GOSSIP_COUNTER_STREAMS_REFUSED] = "streams-refused",
  [GOSSIP_COUNTER_STREAM_ERRORS] = "stream-errors",
};

G_STATIC_ASSERT (G_N_ELEMENTS (counter_names) == GOSSIP_COUNTER_N);

/* One log line per reason per this interval; the rest are counted. */
#define LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

void
_gossip_cluster_count (GossipCluster *self, GossipCounter counter)
{
  self->counters[counter]++;
}

void
_gossip_cluster_log_drop (GossipCluster *self, GossipCounter counter, const char *from,
                          const char *format, ...)
{
  gint64 now = gossip_clock_now (self->clock);
  g_autofree char *text = NULL;
  va_list args;

  self->counters[counter]++;
  if (self->last_log[counter] != 0 && now - self->last_log[counter] < LOG_INTERVAL_US)
    {
      self->suppressed_logs[counter]++;
      return;
    }
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_message ("%s: dropped input from %s: %s (%s; %" G_GUINT64_FORMAT " similar suppressed)",
             self->node_id, from ? from : "?", text, counter_names[counter],
             self->suppressed_logs[counter]);
  self->last_log[counter] = now;
  self->suppressed_logs[counter] = 0;
}

/* ------------------------------------------------------------------------ */
/* Pending replies */

static void
pending_free (gpointer data)
{
  GossipPending *pending = data;

  if (pending->destroy != NULL)
    pending->destroy (pending->data);
  g_free (pending);
}

/* Tests: makes every random choice of the cluster reproducible. */
void
_gossip_cluster_set_seed (GossipCluster *self, guint32 seed)
{
  g_rand_set_seed (self->rand, seed);
}

guint64
_gossip_cluster_next_seq (GossipCluster *self)
{
  return ++self->next_seq;
}

void
_gossip_cluster_add_pending (GossipCluster *self, guint64 seq, GossipPendingFunc on_reply,
                             gpointer data, GDestroyNotify destroy)
{
  GossipPending *pending = g_new0 (GossipPending, 1);

  pending->seq = seq;
  pending->on_reply = on_reply;
  pending->data = data;
  pending->destroy = destroy;
  g_hash_table_replace (self->pending, &pending->seq, pending);
}

void
_gossip_cluster_remove_pending (GossipCluster *self, guint64 seq)
{
  g_hash_table_remove (self->pending, &seq);
}

/* ------------------------------------------------------------------------ */
/* Sending */

GossipClusterTransport *
_gossip_cluster_transport_for (GossipCluster *self, const char *address)
{
  const char *sep = strstr (address, "://");
  g_autofree char *scheme = sep ? g_strndup (address, (gsize) (sep - address)) : NULL;

  for (guint i = 0; i < self->transports->len; i++)
    {
      GossipClusterTransport *t = g_ptr_array_index (self->transports, i);
      const char *const *schemes = t->vtable->schemes;
      gboolean plain = schemes == NULL || schemes[0] == NULL;

      if (scheme == NULL && plain)
        return t;
      if (scheme != NULL && !plain && g_strv_contains (schemes, scheme))
        return t;
    }
  return NULL;
}

typedef struct
{
  GossipCluster *cluster; /* weak: cleared when the cluster goes */
  GossipClusterTransport *transport;
  GossipTransportSendFunc done;
  gpointer done_data;
} SendClosure;

static void
reliable_sent (gpointer user_data, const GError *error)
{
  SendClosure *closure = user_data;

  if (closure->transport != NULL)
    g_hash_table_remove (closure->transport->sends, closure);
  if (closure->cluster != NULL)
    {
      if (error != NULL)
        closure->cluster->counters[GOSSIP_COUNTER_SEND_FAILED]++;
      if (closure->done != NULL)
        closure->done (closure->done_data, error);
      g_object_remove_weak_pointer (G_OBJECT (closure->cluster), (gpointer *) &closure->cluster);
    }
  g_free (closure);
}

/* Takes entries from @queue (skipping @except, GBytes, may be NULL) within
 * @limit bytes, appends them to @variants as maps, and returns the bytes
 * used.  Both kinds of piggybacked entries, updates and user broadcasts,
 * are taken this way. */
gsize
_gossip_cluster_take_entries (GossipCluster *self, GossipBroadcastQueue *queue, gsize limit,
                              GPtrArray *except, GPtrArray *variants)
{
  g_autoptr (GPtrArray) entries = NULL;
  gsize used = 0;

  if (limit <= GOSSIP_ENTRY_OVERHEAD || _gossip_broadcast_queue_length (queue) == 0)
    return 0;
  entries = _gossip_broadcast_queue_get_broadcasts_except (
      queue, GOSSIP_ENTRY_OVERHEAD, limit, g_hash_table_size (self->members), except);
  for (guint i = 0; i < entries->len; i++)
    {
      GBytes *entry = g_ptr_array_index (entries, i);
      used += g_bytes_get_size (entry) + GOSSIP_ENTRY_OVERHEAD;
      g_ptr_array_add (variants, g_variant_ref_sink (g_variant_new_from_bytes (
                                     G_VARIANT_TYPE_VARDICT, entry, TRUE)));
    }
  return used;
}

static gsize
take_updates (GossipCluster *self, gsize limit, GPtrArray *variants)
{
  guint before = variants->len;
  gsize used = _gossip_cluster_take_entries (self, self->queue, limit, NULL, variants);

  self->counters[GOSSIP_COUNTER_UPDATES_SENT] += variants->len - before;
  return used;
}

/* Returns @message (borrowed) with pending membership updates and user
 * broadcasts piggybacked, within what is left of a datagram, as a new full
 * reference.  `[messages] user_share` percent of the room is kept for user
 * broadcasts first, so the protocol's own updates never starve them;
 * whatever either leaves unused, the other may take. */
static GVariant *
add_piggyback (GossipCluster *self, GVariant *message)
{
  gsize used = gossip_pipeline_get_overhead (self->pipeline) + g_variant_get_size (message) + 16;
  g_autoptr (GPtrArray) variants = NULL;
  gsize room, taken;

  if (used >= self->max_datagram_size)
    return g_variant_ref (message);
  room = self->max_datagram_size - used;
  variants = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  taken = _gossip_messaging_take_broadcasts (self, room * self->user_share / 100, variants);
  taken += take_updates (self, room - taken, variants);
  if (taken < room)
    _gossip_messaging_take_broadcasts (self, room - taken, variants);
  if (variants->len == 0)
    return g_variant_ref (message);
  return g_variant_ref_sink (_gossip_msg_with_piggyback (message, variants));
}

/*
 * Sends @message (a floating or a full reference; consumed either way) to
 * @address.  Datagrams are used when allowed, not asked for @reliable, and
 * the frame fits; anything else takes the reliable path.  When this returns
 * TRUE, @done (if given) is called exactly once: at once for a datagram,
 * when the transport finishes for the reliable path.  When it returns
 * FALSE, @done is never called.
 */
gboolean
_gossip_cluster_send (GossipCluster *self, const char *address, GVariant *message,
                      gboolean reliable, gboolean piggyback, GossipTransportSendFunc done,
                      gpointer done_data)
{
  g_autoptr (GVariant) owned = g_variant_take_ref (message);
  g_autoptr (GVariant) full = NULL;
  g_autoptr (GBytes) frame = NULL;
  g_autoptr (GError) error = NULL;
  GossipClusterTransport *t;
  SendClosure *closure;

  if (!self->running)
    return FALSE;
  t = _gossip_cluster_transport_for (self, address);
  if (t == NULL)
    {
      g_debug ("%s: no transport for address %s", self->node_id, address);
      self->counters[GOSSIP_COUNTER_SEND_FAILED]++;
      return FALSE;
    }
  full = piggyback ? add_piggyback (self, owned) : g_variant_ref (owned);
  frame = gossip_pipeline_encode (self->pipeline, full, &error);
  if (frame == NULL)
    {
      g_warning ("%s: cannot encode a message for %s: %s", self->node_id, address, error->message);
      self->counters[GOSSIP_COUNTER_SEND_FAILED]++;
      return FALSE;
    }
  self->counters[GOSSIP_COUNTER_FRAMES_OUT]++;
  self->counters[GOSSIP_COUNTER_BYTES_OUT] += g_bytes_get_size (frame);
  t->stats[1]++;
  t->stats[3] += g_bytes_get_size (frame);
  if (!reliable && self->datagrams && g_bytes_get_size (frame) <= self->max_datagram_size)
    {
      if (t->vtable->send_datagram (t->instance, address, frame, &error))
        {
          self->counters[GOSSIP_COUNTER_DATAGRAMS_OUT]++;
          if (done != NULL)
            done (done_data, NULL);
          return TRUE;
        }
      g_debug ("%s: datagram to %s failed: %s", self->node_id, address, error->message);
      self->counters[GOSSIP_COUNTER_SEND_FAILED]++;
      return FALSE;
    }
  self->counters[GOSSIP_COUNTER_STREAM_FRAMES_OUT]++;
  closure = g_new0 (SendClosure, 1);
  closure->cluster = self;
  closure->transport = t;
  g_hash_table_add (t->sends, closure);
  closure->done = done;
  closure->done_data = done_data;
  g_object_add_weak_pointer (G_OBJECT (self), (gpointer *) &closure->cluster);
  t->vtable->send_reliable (t->instance, address, frame, reliable_sent, closure);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Receiving */

static void
handle_reply (GossipCluster *self, const GossipMsg *msg)
{
  GossipPending *pending = g_hash_table_lookup (self->pending, &msg->seq);

  if (pending == NULL)
    {
      self->counters[GOSSIP_COUNTER_LATE_ACKS]++;
      return;
    }
  pending->on_reply (self, pending, msg);
}

static void
handle_piggyback (GossipCluster *self, const GossipMsg *msg, const char *from)
{
  gsize n;

  if (msg->piggyback == NULL)
    return;
  n = g_variant_n_children (msg->piggyback);
  for (gsize i = 0; i < n && self->running; i++)
    {
      g_autoptr (GVariant) boxed = g_variant_get_child_value (msg->piggyback, i);
      g_autoptr (GVariant) update = g_variant_get_variant (boxed);
      g_autoptr (GError) error = NULL;
      GossipUpdate u;

      if (_gossip_msg_peek_type (update) == GOSSIP_MSG_BROADCAST)
        {
          g_auto (GossipMsg) entry = { 0 };

          if (!_gossip_msg_parse (update, &entry, &error))
            _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_MALFORMED, from,
                                      "piggybacked broadcast: %s", error->message);
          else
            _gossip_messaging_handle_broadcast (self, &entry);
          continue;
        }
      if (!_gossip_update_parse (update, &u, &error))
        {
          _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_MALFORMED, from,
                                    "piggybacked update: %s", error->message);
          continue;
        }
      _gossip_membership_handle_update (self, &u);
    }
}

static void
on_transport_received (gpointer user_data, GossipTransportPath path, const char *from,
                       GBytes *frame)
{
  GossipClusterTransport *t = user_data;
  GossipCluster *self = t->cluster;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) message = NULL;
  g_auto (GossipMsg) msg = { 0 };
  gsize len;
  const guint8 *data;

  if (!self->running)
    return;
  data = g_bytes_get_data (frame, &len);
  self->counters[GOSSIP_COUNTER_FRAMES_IN]++;
  self->counters[GOSSIP_COUNTER_BYTES_IN] += len;
  t->stats[0]++;
  t->stats[2] += len;
  message = gossip_pipeline_decode (self->pipeline, data, len, &error);
  if (message == NULL)
    {
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_FRAME, from, "%s", error->message);
      _gossip_notice_handle_rejected (self, t, path, from, error);
      return;
    }
  if (!_gossip_msg_parse (message, &msg, &error))
    {
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_MALFORMED, from, "%s", error->message);
      return;
    }

  g_object_ref (self);
  switch (msg.type)
    {
    case GOSSIP_MSG_PING:
      _gossip_probe_handle_ping (self, path, from, &msg);
      break;
    case GOSSIP_MSG_PING_REQ:
      _gossip_probe_handle_ping_req (self, &msg);
      break;
    case GOSSIP_MSG_ACK:
    case GOSSIP_MSG_NACK:
    case GOSSIP_MSG_PUSH_PULL_REPLY:
    case GOSSIP_MSG_REFUSE:
    case GOSSIP_MSG_USER_REPLY:
    case GOSSIP_MSG_META_REPLY:
      handle_reply (self, &msg);
      break;
    case GOSSIP_MSG_USER:
      _gossip_messaging_handle_user (self, path, from, &msg);
      break;
    case GOSSIP_MSG_BROADCAST:
      _gossip_messaging_handle_broadcast (self, &msg);
      break;
    case GOSSIP_MSG_META_REQUEST:
      _gossip_meta_handle_request (self, path, from, &msg);
      break;
    case GOSSIP_MSG_ALIVE:
    case GOSSIP_MSG_SUSPECT:
    case GOSSIP_MSG_DEAD:
    case GOSSIP_MSG_LEAVE:
      _gossip_membership_handle_update (self, &msg.update);
      break;
    case GOSSIP_MSG_PUSH_PULL:
      /* Answer on the connection the request came on: a join storm then
       * costs the contacted node one connection per joiner, not two. */
      _gossip_pushpull_handle_request (
          self, &msg, path == GOSSIP_TRANSPORT_PATH_RELIABLE ? from : msg.from_address);
      break;
    case GOSSIP_MSG_GOSSIP:
      break;
    default:
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_UNKNOWN_TYPE, from, "message type %u",
                                msg.type);
      break;
    }
  /* Updates ride on any message: apply them after the message itself. */
  handle_piggyback (self, &msg, from);
  g_object_unref (self);
}

static void
on_transport_dropped (gpointer user_data, const char *from, const GError *reason)
{
  GossipClusterTransport *t = user_data;

  _gossip_cluster_log_drop (t->cluster, GOSSIP_COUNTER_DROPPED_TRANSPORT, from, "%s: %s", t->name,
                            reason->message);
}

static gboolean
on_transport_channel (gpointer user_data, const char *from, GossipTransportChannel *channel)
{
  GossipClusterTransport *t = user_data;

  return _gossip_stream_accepted (t->cluster, t, from, channel);
}

static const GossipTransportCallbacks transport_callbacks = {
  .received = on_transport_received,
  .dropped = on_transport_dropped,
  .channel_accepted = on_transport_channel,
};

/* ------------------------------------------------------------------------ */
/* Construction */

static void
cluster_transport_free (gpointer data)
{
  GossipClusterTransport *t = data;
  GHashTableIter iter;
  gpointer closure;

  if (t->instance != NULL)
    t->vtable->destroy (t->instance);
  /* A destroyed transport reports nothing more: complete what it still
   * held, so every sender hears back exactly once. */
  if (t->sends != NULL)
    {
      g_autoptr (GError) closed = g_error_new_literal (
          GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED, "the transport was stopped");

      g_hash_table_iter_init (&iter, t->sends);
      while (g_hash_table_iter_next (&iter, &closure, NULL))
        {
          g_hash_table_iter_steal (&iter);
          ((SendClosure *) closure)->transport = NULL;
          reliable_sent (closure, closed);
        }
      g_hash_table_unref (t->sends);
    }
  g_free (t->name);
  g_free (t->local_address);
  g_free (t);
}

static void
gossip_cluster_dispose (GObject *object)
{
  GossipCluster *self = GOSSIP_CLUSTER (object);

  gossip_cluster_stop (self);
  _gossip_stream_finalize (self);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  _gossip_membership_clear (self);
  _gossip_messaging_clear (self);
  if (self->version_check_destroy != NULL)
    self->version_check_destroy (self->version_check_data);
  self->version_check_destroy = NULL;
  G_OBJECT_CLASS (gossip_cluster_parent_class)->dispose (object);
}

static void
gossip_cluster_finalize (GObject *object)
{
  GossipCluster *self = GOSSIP_CLUSTER (object);

  g_clear_pointer (&self->transports, g_ptr_array_unref);
  g_clear_object (&self->http_server);
  g_clear_pointer (&self->pipeline, gossip_pipeline_unref);
  g_clear_object (&self->config);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->rand, g_rand_free);
  g_free (self->node_id);
  g_free (self->advertise_address);
  g_free (self->extra_addresses);
  g_free (self->digest);
  g_strfreev (self->seeds);
  g_clear_pointer (&self->transport_stats, g_hash_table_unref);
  G_OBJECT_CLASS (gossip_cluster_parent_class)->finalize (object);
}

static void
gossip_cluster_class_init (GossipClusterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gossip_cluster_dispose;
  object_class->finalize = gossip_cluster_finalize;

  /**
   * GossipCluster::node-state-changed:
   * @cluster: the cluster
   * @node: the node whose state changed (joined, suspected, died, left, recovered)
   * @old_state: its previous #GossipNodeState
   *
   * Emitted on the cluster's context after @node's state changed.
   */
  signals[SIGNAL_NODE_STATE_CHANGED]
      = g_signal_new ("node-state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 2, GOSSIP_TYPE_NODE, GOSSIP_TYPE_NODE_STATE);

  /**
   * GossipCluster::node-metadata-changed:
   * @cluster: the cluster
   * @node: the node whose metadata changed (the local node too)
   *
   * Emitted on the cluster's context when a newer version of @node's
   * metadata arrived and differs from what this node had.
   */
  signals[SIGNAL_NODE_METADATA_CHANGED]
      = g_signal_new ("node-metadata-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 1, GOSSIP_TYPE_NODE);

  /**
   * GossipCluster::gossip:
   * @cluster: the cluster
   *
   * Emitted every gossip interval, for applications that piggyback their own
   * periodic work on the cluster's rhythm.
   */
  signals[SIGNAL_GOSSIP] = g_signal_new ("gossip", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
gossip_cluster_init (GossipCluster *self)
{
  self->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, pending_free);
  self->transports = g_ptr_array_new_with_free_func (cluster_transport_free);
  _gossip_stream_init (self);
  self->transport_stats = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

void
_gossip_cluster_emit_metadata_changed (GossipCluster *self, GossipNode *node)
{
  g_signal_emit (self, signals[SIGNAL_NODE_METADATA_CHANGED], 0, node);
}

void _gossip_cluster_emit_state_changed (GossipCluster *self, GossipNode *node,
                                         GossipNodeState old_state);
void
_gossip_cluster_emit_state_changed (GossipCluster *self, GossipNode *node,
                                    GossipNodeState old_state)
{
  g_signal_emit (self, signals[SIGNAL_NODE_STATE_CHANGED], 0, node, old_state);
}

void _gossip_cluster_emit_gossip (GossipCluster *self);
void
_gossip_cluster_emit_gossip (GossipCluster *self)
{
  g_signal_emit (self, signals[SIGNAL_GOSSIP], 0);
}

static gconstpointer
load_plugin (GossipPluginKind kind, const char *name, const char *const *path, GError **error)
{
  /* [plugins] path comes first, then the standard directories. */
  g_auto (GStrv) search = gossip_plugin_get_search_path (path);
  GossipPlugin *plugin = gossip_plugin_load (kind, name, (const char *const *) search, error);
  return plugin ? gossip_plugin_get_vtable (plugin) : NULL;
}

static gboolean
setup_pipeline (GossipCluster *self, GError **error)
{
  GossipConfig *c = self->config;
  const char *const *path = gossip_config_get_strv (c, "plugins", "path");
  const char *codec_name = gossip_config_get_string (c, "plugins", "codec");
  const char *compressor_name = gossip_config_get_string (c, "plugins", "compressor");
  const char *cipher_name = gossip_config_get_string (c, "plugins", "cipher");
  const GossipCodecVTable *codec;
  const GossipCompressorVTable *compressor = NULL;
  g_autoptr (GossipKeyring) keyring = NULL;

  codec = load_plugin (GOSSIP_PLUGIN_KIND_CODEC, codec_name, path, error);
  if (codec == NULL)
    return FALSE;
  if (compressor_name != NULL && compressor_name[0] != '\0')
    {
      compressor = load_plugin (GOSSIP_PLUGIN_KIND_COMPRESSOR, compressor_name, path, error);
      if (compressor == NULL)
        return FALSE;
    }
  if (cipher_name != NULL && cipher_name[0] != '\0')
    {
      const GossipCipherVTable *cipher
          = load_plugin (GOSSIP_PLUGIN_KIND_CIPHER, cipher_name, path, error);
      const char *key = gossip_config_get_string (c, "security", "key");
      const char *const *accepted = gossip_config_get_strv (c, "security", "accepted_keys");

      if (cipher == NULL)
        return FALSE;
      keyring = gossip_keyring_new (cipher);
      if (!gossip_keyring_add_key_base64 (keyring, key, TRUE, error))
        {
          g_prefix_error (error, "[security] key: ");
          return FALSE;
        }
      for (guint i = 0; accepted != NULL && accepted[i] != NULL; i++)
        if (!gossip_keyring_add_key_base64 (keyring, accepted[i], FALSE, error))
          {
            g_prefix_error (error, "[security] accepted_keys: ");
            return FALSE;
          }
    }
  self->pipeline = gossip_pipeline_new (
      codec, compressor, (int) gossip_config_get_int (c, "compression", "level"), keyring,
      gossip_config_get_size (c, "compression", "min_size"), self->max_frame_size, error);
  return self->pipeline != NULL;
}

/* An address other hosts can reach when bound to the wildcard address. */
static char *
first_interface_address (void)
{
  struct ifaddrs *list = NULL;
  char *found = NULL;

  if (getifaddrs (&list) != 0)
    return g_strdup ("127.0.0.1");
  for (struct ifaddrs *ifa = list; ifa != NULL && found == NULL; ifa = ifa->ifa_next)
    {
      char text[INET_ADDRSTRLEN];
      if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET)
        continue;
      inet_ntop (AF_INET, &((struct sockaddr_in *) (void *) ifa->ifa_addr)->sin_addr, text,
                 sizeof text);
      if (!g_str_has_prefix (text, "127."))
        found = g_strdup (text);
    }
  freeifaddrs (list);
  return found ? found : g_strdup ("127.0.0.1");
}

static gboolean
read_settings (GossipCluster *self, GError **error)
{
  GossipConfig *c = self->config;
  const char *id = gossip_config_get_string (c, "cluster", "node_id");

  if (!gossip_config_validate (c, error))
    return FALSE;
  self->node_id = (id != NULL && id[0] != '\0') ? g_strdup (id) : _gossip_uuid_v7_new (self->clock);
  self->default_port = (guint) gossip_config_get_int (c, "cluster", "default_port");
  self->probe_interval = gossip_config_get_duration (c, "health", "probe_interval");
  self->probe_timeout = gossip_config_get_duration (c, "health", "probe_timeout");
  self->indirect_checks = (guint) gossip_config_get_int (c, "health", "indirect_checks");
  self->suspicion_mult = (guint) gossip_config_get_int (c, "health", "suspicion_mult");
  self->suspicion_max_mult
      = (guint) gossip_config_get_int (c, "health", "suspicion_max_timeout_mult");
  self->dead_node_timeout = gossip_config_get_duration (c, "health", "dead_node_timeout");
  self->reconnect_interval = gossip_config_get_duration (c, "health", "reconnect_interval");
  self->leave_timeout = gossip_config_get_duration (c, "health", "leave_timeout");
  self->gossip_interval = gossip_config_get_duration (c, "gossip", "interval");
  self->fanout = (guint) gossip_config_get_int (c, "gossip", "fanout");
  self->retransmit_mult = (guint) gossip_config_get_int (c, "gossip", "retransmit_mult");
  self->push_pull_interval = gossip_config_get_duration (c, "gossip", "push_pull_interval");
  self->datagrams = gossip_config_get_boolean (c, "transport", "datagrams");
  self->max_datagram_size = gossip_config_get_size (c, "transport", "max_datagram_size");
  self->max_frame_size = gossip_config_get_size (c, "transport", "max_frame_size");
  self->io_timeout = gossip_config_get_duration (c, "transport", "io_timeout");
  self->seeds = g_strdupv ((char **) gossip_config_get_strv (c, "cluster", "seeds"));
  return TRUE;
}

static GossipCluster *
cluster_new (GossipConfig *config, GossipClock *clock, GError **error)
{
  g_autoptr (GossipCluster) self = g_object_new (GOSSIP_TYPE_CLUSTER, NULL);

  self->config = gossip_config_copy (config);
  self->context = g_main_context_ref_thread_default ();
  self->clock = clock ? g_object_ref (clock) : gossip_clock_new_for_context (self->context);
  if (!read_settings (self, error) || !setup_pipeline (self, error))
    return NULL;
  self->rand = g_rand_new ();
  self->awareness = _gossip_awareness_new (
      (guint) gossip_config_get_int (config, "health", "awareness_max_multiplier"));
  self->queue = _gossip_broadcast_queue_new (self->retransmit_mult);
  _gossip_membership_init (self);
  _gossip_messaging_init (self);
  return g_steal_pointer (&self);
}

/**
 * gossip_cluster_new:
 * @config: the settings (copied)
 * @error: return location for a #GError
 *
 * Creates a node on the thread-default #GMainContext, loading the codec,
 * compressor and cipher the config names.  Nothing is bound until
 * gossip_cluster_start().
 *
 * Returns: (transfer full): a new cluster, or %NULL with @error set
 */
GossipCluster *
gossip_cluster_new (GossipConfig *config, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), NULL);
  return cluster_new (config, NULL, error);
}

/**
 * gossip_cluster_new_with_clock:
 * @config: the settings (copied)
 * @clock: the clock every timer of this node uses (e.g. a #GossipManualClock)
 * @error: return location for a #GError
 *
 * Like gossip_cluster_new() with a clock of your choice; simulations give
 * every node the same manual clock.
 *
 * Returns: (transfer full): a new cluster, or %NULL with @error set
 */
GossipCluster *
gossip_cluster_new_with_clock (GossipConfig *config, GossipClock *clock, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), NULL);
  g_return_val_if_fail (GOSSIP_IS_CLOCK (clock), NULL);
  return cluster_new (config, clock, error);
}

/**
 * gossip_cluster_new_from_file:
 * @path: a keyfile (see examples/gossip.conf)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a new cluster, or %NULL with @error set
 */
GossipCluster *
gossip_cluster_new_from_file (const char *path, GError **error)
{
  g_autoptr (GossipConfig) config = gossip_config_new_from_file (path, error);

  return config ? gossip_cluster_new (config, error) : NULL;
}

/* A configured name or srv+ is resolved here, synchronously: start is
 * synchronous, and a node must know its address before it talks to anyone. */
static char *
resolve_advertise (GossipCluster *self, const char *bound, GError **error)
{
  const char *configured = gossip_config_get_string (self->config, "cluster", "advertise_address");
  char *resolved;

  if (configured != NULL && configured[0] != '\0')
    {
      resolved = _gossip_address_resolve_advertise (configured, bound, (guint16) self->default_port,
                                                    error);
      if (resolved == NULL)
        g_prefix_error (error, "[cluster] advertise_address: ");
      return resolved;
    }
  if (g_str_has_prefix (bound, "0.0.0.0:"))
    {
      g_autofree char *ip = first_interface_address ();
      return g_strdup_printf ("%s:%s", ip, bound + strlen ("0.0.0.0:"));
    }
  return g_strdup (bound);
}

/* The local addresses of the transports that do not serve the advertised
 * one (a WebSocket transport beside the socket one), space-separated: they
 * travel with our alive updates, so nodes with only those transports can
 * reach us too.  NULL when there are none. */
static char *
extra_addresses (GossipCluster *self)
{
  GossipClusterTransport *primary = _gossip_cluster_transport_for (self, self->advertise_address);
  const char *ws_advertise
      = gossip_config_get_string (self->config, "websocket", "advertise_address");
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; i < self->transports->len; i++)
    {
      GossipClusterTransport *t = g_ptr_array_index (self->transports, i);

      const char *local = t->local_address;
      const char *const *schemes = t->vtable->schemes;

      if (schemes != NULL && g_strv_contains (schemes, "ws") && ws_advertise[0] != '\0')
        local = ws_advertise;
      if (t == primary || local == NULL || local[0] == '\0')
        continue;
      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, local);
    }
  return out->len > 0 ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

/**
 * gossip_cluster_start:
 * @cluster: a cluster
 * @error: return location for a #GError
 *
 * Loads the transports, binds, and starts probing, gossiping and state
 * sync.  The node is alone until it joins another (gossip_cluster_join_async())
 * or another joins it; configured seeds are joined in the background.
 *
 * When `[cluster] advertise_address` is a host name or `srv+NAME` it is
 * resolved here, synchronously, with the default #GResolver: this call
 * blocks for as long as that lookup takes, and fails if it does.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_cluster_start (GossipCluster *self, GError **error)
{
  const char *const *names;
  const char *const *path;
  const char *bind;
  char *advertise;

  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  if (self->running)
    return TRUE;
  names = gossip_config_get_strv (self->config, "plugins", "transport");
  path = gossip_config_get_strv (self->config, "plugins", "path");
  bind = gossip_config_get_string (self->config, "cluster", "bind_address");
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      GossipClusterTransport *t = g_new0 (GossipClusterTransport, 1);
      GossipTransportParams params = { 0 };

      t->cluster = self;
      t->sends = g_hash_table_new (NULL, NULL);
      t->name = g_strdup (names[i]);
      t->stats = g_hash_table_lookup (self->transport_stats, t->name);
      if (t->stats == NULL)
        {
          t->stats = g_new0 (guint64, 4);
          g_hash_table_insert (self->transport_stats, g_strdup (t->name), t->stats);
        }
      t->vtable = load_plugin (GOSSIP_PLUGIN_KIND_TRANSPORT, names[i], path, error);
      g_ptr_array_add (self->transports, t);
      if (t->vtable == NULL)
        goto fail;
      params.struct_size = sizeof params;
      params.context = self->context;
      params.clock = self->clock;
      params.bind_address = bind;
      params.datagrams = self->datagrams;
      params.max_datagram_size = self->max_datagram_size;
      params.max_frame_size = self->max_frame_size;
      params.max_connections
          = (guint) gossip_config_get_int (self->config, "transport", "max_connections");
      params.idle_timeout_us
          = gossip_config_get_duration (self->config, "transport", "idle_timeout");
      params.io_timeout_us = self->io_timeout;
      params.connect_timeout_us
          = gossip_config_get_duration (self->config, "transport", "connect_timeout");
      params.callbacks = &transport_callbacks;
      params.user_data = t;
      params.config = self->config;
      params.http_server = self->http_server;
      t->instance = t->vtable->create (&params, error);
      if (t->instance == NULL)
        {
          g_prefix_error (error, "transport %s: ", names[i]);
          goto fail;
        }
      t->local_address = t->vtable->get_local_address (t->instance);
    }
  if (self->transports->len == 0)
    {
      g_set_error_literal (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT,
                           "[plugins] transport: no transport configured");
      return FALSE;
    }
  advertise = resolve_advertise (
      self, ((GossipClusterTransport *) g_ptr_array_index (self->transports, 0))->local_address,
      error);
  if (advertise == NULL)
    goto fail;
  g_free (self->advertise_address);
  self->advertise_address = advertise;
  g_free (self->extra_addresses);
  self->extra_addresses = extra_addresses (self);
  self->running = TRUE;
  _gossip_messaging_start (self);
  _gossip_membership_start (self);
  _gossip_probe_start (self);
  _gossip_pushpull_start (self);
  return TRUE;

fail:
  g_ptr_array_set_size (self->transports, 0);
  return FALSE;
}

/**
 * gossip_cluster_set_http_server:
 * @cluster: a cluster, not yet started
 * @server: (nullable) (type GObject): a `SoupServer` the application runs
 *
 * Lets a WebSocket transport mount the cluster's endpoint on @server, at
 * `[websocket] path`, instead of listening on a port of its own: one HTTP
 * port serves the application and the cluster.  The cluster keeps a
 * reference until it is finalized.  Transports that cannot use @server
 * ignore it.  Has no effect on a running cluster.
 */
void
gossip_cluster_set_http_server (GossipCluster *self, GObject *server)
{
  g_return_if_fail (GOSSIP_IS_CLUSTER (self));
  g_return_if_fail (server == NULL || G_IS_OBJECT (server));
  g_return_if_fail (!self->running);
  g_set_object (&self->http_server, server);
}

/**
 * gossip_cluster_stop:
 * @cluster: a cluster
 *
 * Stops at once: timers cancelled, sockets closed, nothing announced.  To
 * leave gracefully, call gossip_cluster_leave_async() first.
 */
void
gossip_cluster_stop (GossipCluster *self)
{
  g_return_if_fail (GOSSIP_IS_CLUSTER (self));
  if (!self->running)
    return;
  self->running = FALSE;
  _gossip_pushpull_stop (self);
  _gossip_probe_stop (self);
  _gossip_membership_stop (self);
  _gossip_messaging_stop (self);
  _gossip_meta_stop (self);
  _gossip_stream_stop (self);
  g_hash_table_remove_all (self->pending);
  g_ptr_array_set_size (self->transports, 0);
}

/** gossip_cluster_is_running: @cluster: a cluster. Returns: %TRUE between start and stop */
gboolean
gossip_cluster_is_running (GossipCluster *self)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return self->running;
}

/**
 * gossip_cluster_join_async:
 * @cluster: a running cluster
 * @addresses: (array zero-terminated=1): addresses of nodes to join
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when every address has answered or timed out
 * @user_data: data for @callback
 *
 * Exchanges full state (push-pull) with each address, in any form of
 * gossip-address.h.  Names and `srv+NAME` are resolved first, all at once,
 * with the default #GResolver and under @cancellable; every address a name
 * resolves to is joined as a node of its own, and a name that does not
 * resolve counts as a failed address.  The node's own address is skipped.
 * Finish with gossip_cluster_join_finish().
 */
void
gossip_cluster_join_async (GossipCluster *self, const char *const *addresses,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_return_if_fail (GOSSIP_IS_CLUSTER (self));
  _gossip_pushpull_join_async (self, addresses, cancellable, callback, user_data);
}

/**
 * gossip_cluster_join_finish:
 * @cluster: a cluster
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Returns: how many addresses were joined; 0 with @error set when none was
 *   (%GOSSIP_CLUSTER_ERROR_JOIN_FAILED, _SELF_JOIN, _VERSION_MISMATCH,
 *   _PLUGIN_MISMATCH, ...)
 */
guint
gossip_cluster_join_finish (GossipCluster *self, GAsyncResult *result, GError **error)
{
  gssize n;

  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  n = g_task_propagate_int (G_TASK (result), error);
  return n < 0 ? 0 : (guint) n;
}

/**
 * gossip_cluster_leave_async:
 * @cluster: a running cluster
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the leave has spread or `[health] leave_timeout` passed
 * @user_data: data for @callback
 *
 * Announces that this node leaves; others mark it Leaving instead of
 * suspecting it.  Call gossip_cluster_stop() afterwards.
 */
void
gossip_cluster_leave_async (GossipCluster *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (GOSSIP_IS_CLUSTER (self));
  _gossip_pushpull_leave_async (self, cancellable, callback, user_data);
}

/**
 * gossip_cluster_leave_finish:
 * @cluster: a cluster
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the leave was announced
 */
gboolean
gossip_cluster_leave_finish (GossipCluster *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gossip_cluster_get_local_node:
 * @cluster: a cluster
 *
 * Returns: (transfer none): this node
 */
GossipNode *
gossip_cluster_get_local_node (GossipCluster *self)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), NULL);
  return self->local->node;
}

/**
 * gossip_cluster_get_node:
 * @cluster: a cluster
 * @id: a node ID
 *
 * Returns: (transfer none) (nullable): the node, if known
 */
GossipNode *
gossip_cluster_get_node (GossipCluster *self, const char *id)
{
  GossipMember *m;

  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), NULL);
  m = _gossip_membership_lookup (self, id);
  return m ? m->node : NULL;
}

/**
 * gossip_cluster_list_nodes:
 * @cluster: a cluster
 *
 * Returns: (transfer container) (element-type GossipNode): every known node,
 *   the local one included, sorted by ID
 */
GPtrArray *
gossip_cluster_list_nodes (GossipCluster *self)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), NULL);
  return gossip_cluster_list_nodes_in_state (self, (GossipNodeState) -1);
}

static gint
compare_nodes (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (gossip_node_get_id (*(GossipNode *const *) a),
                    gossip_node_get_id (*(GossipNode *const *) b));
}

/**
 * gossip_cluster_list_nodes_in_state:
 * @cluster: a cluster
 * @state: the state wanted
 *
 * Returns: (transfer container) (element-type GossipNode): the nodes in
 *   @state, sorted by ID
 */
GPtrArray *
gossip_cluster_list_nodes_in_state (GossipCluster *self, GossipNodeState state)
{
  GPtrArray *result = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), result);
  g_hash_table_iter_init (&iter, self->members);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GossipMember *m = value;
      if ((int) state == -1 || gossip_node_get_state (m->node) == state)
        g_ptr_array_add (result, g_object_ref (m->node));
    }
  g_ptr_array_sort (result, compare_nodes);
  return result;
}

/**
 * gossip_cluster_count_nodes_in_state:
 * @cluster: a cluster
 * @state: the state to count
 *
 * Returns: how many known nodes (the local one included) are in @state
 */
guint
gossip_cluster_count_nodes_in_state (GossipCluster *self, GossipNodeState state)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), 0);
  g_hash_table_iter_init (&iter, self->members);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (gossip_node_get_state (((GossipMember *) value)->node) == state)
      n++;
  return n;
}

/** gossip_cluster_get_n_alive: @cluster: a cluster. Returns: alive nodes, this one included */
guint
gossip_cluster_get_n_alive (GossipCluster *self)
{
  return gossip_cluster_count_nodes_in_state (self, GOSSIP_NODE_STATE_ALIVE);
}

/**
 * gossip_cluster_get_membership_digest:
 * @cluster: a cluster
 *
 * A short digest of (ID, state, incarnation) over every known node.  Two
 * nodes with equal digests have the same view of the membership, so an
 * application can tell whether the cluster has converged by comparing them.
 *
 * Returns: (transfer full): the digest as 16 hex digits
 */
char *
gossip_cluster_get_membership_digest (GossipCluster *self)
{
  g_autoptr (GPtrArray) nodes = NULL;
  g_autoptr (GChecksum) sum = NULL;
  guint generation = _gossip_node_get_generation ();

  /* Every ack carries the digest: recompute only after a change (any node
   * state or incarnation in the process, or a member removed). */
  if (self->digest != NULL && self->digest_generation == generation
      && self->digest_members == g_hash_table_size (self->members))
    return g_strdup (self->digest);
  nodes = gossip_cluster_list_nodes (self);
  sum = g_checksum_new (G_CHECKSUM_SHA256);

  for (guint i = 0; i < nodes->len; i++)
    {
      GossipNode *n = g_ptr_array_index (nodes, i);
      g_autofree char *line
          = g_strdup_printf ("%s %u %" G_GUINT64_FORMAT "\n", gossip_node_get_id (n),
                             gossip_node_get_state (n), gossip_node_get_incarnation (n));
      g_checksum_update (sum, (const guchar *) line, -1);
    }
  g_free (self->digest);
  self->digest = g_strndup (g_checksum_get_string (sum), 16);
  self->digest_generation = generation;
  self->digest_members = g_hash_table_size (self->members);
  return g_strdup (self->digest);
}

/** gossip_cluster_get_config: @cluster: a cluster. Returns: (transfer none): its settings */
GossipConfig *
gossip_cluster_get_config (GossipCluster *self)
{
  return self->config;
}

/** gossip_cluster_get_clock: @cluster: a cluster. Returns: (transfer none): its clock */
GossipClock *
gossip_cluster_get_clock (GossipCluster *self)
{
  return self->clock;
}

/**
 * gossip_cluster_get_advertise_address:
 * @cluster: a cluster
 *
 * Returns: (transfer none) (nullable): the address peers reach this node at
 *   (known once started)
 */
const char *
gossip_cluster_get_advertise_address (GossipCluster *self)
{
  return self->advertise_address;
}

/**
 * gossip_cluster_get_health_score:
 * @cluster: a cluster
 *
 * Returns: Lifeguard's local health score: 0 is healthy; higher means this
 *   node has been missing acks or refuting, and probes more patiently
 */
guint
gossip_cluster_get_health_score (GossipCluster *self)
{
  return _gossip_awareness_get_score (self->awareness);
}

/**
 * gossip_cluster_set_version_check:
 * @cluster: a cluster
 * @func: (nullable) (scope notified): decides on joining nodes' application versions
 * @user_data: (closure): data for @func
 * @destroy: (nullable): frees @user_data
 *
 * Installs a check run when a node joins through this one; a refusal
 * reaches the joiner as %GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH.
 */
void
gossip_cluster_set_version_check (GossipCluster *self, GossipVersionCheckFunc func,
                                  gpointer user_data, GDestroyNotify destroy)
{
  if (self->version_check_destroy != NULL)
    self->version_check_destroy (self->version_check_data);
  self->version_check = func;
  self->version_check_data = user_data;
  self->version_check_destroy = destroy;
}

/**
 * gossip_cluster_get_counter:
 * @cluster: a cluster
 * @name: a counter name, e.g. "frames-in", "dropped-frame", "suspicions",
 *   "broadcasts-delivered", "frame-rejected-<reason>" (see
 *   gossip_frame_error_to_string()) or "<transport>.frames-in" (also
 *   frames-out, bytes-in, bytes-out) for one transport
 *
 * Returns: the counter's value, 0 for an unknown name
 */
static const char *const transport_stat_names[]
    = { "frames-in", "frames-out", "bytes-in", "bytes-out" };

guint64
gossip_cluster_get_counter (GossipCluster *self, const char *name)
{
  const char *dot;

  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), 0);
  dot = strchr (name, '.');
  if (dot != NULL)
    {
      g_autofree char *transport = g_strndup (name, (gsize) (dot - name));
      guint64 *stats = g_hash_table_lookup (self->transport_stats, transport);

      for (guint i = 0; stats != NULL && i < G_N_ELEMENTS (transport_stat_names); i++)
        if (g_strcmp0 (transport_stat_names[i], dot + 1) == 0)
          return stats[i];
      return 0;
    }
  for (guint i = 0; i < GOSSIP_COUNTER_N; i++)
    if (g_strcmp0 (counter_names[i], name) == 0)
      return self->counters[i];
  if (g_str_has_prefix (name, "frame-rejected-"))
    for (guint i = 0; i < GOSSIP_FRAME_ERROR_N_ERRORS; i++)
      if (g_strcmp0 (gossip_frame_error_to_string (i), name + strlen ("frame-rejected-")) == 0)
        return gossip_pipeline_get_rejected (self->pipeline, i);
  return 0;
}

/**
 * gossip_cluster_get_counters:
 * @cluster: a cluster
 *
 * Returns: (transfer full) (element-type utf8 guint64): every counter by name;
 *   values are pointers to guint64
 */
GHashTable *
gossip_cluster_get_counters (GossipCluster *self)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer name, stats;

  for (guint i = 0; i < GOSSIP_COUNTER_N; i++)
    g_hash_table_insert (table, g_strdup (counter_names[i]), g_memdup2 (&self->counters[i], 8));
  for (guint i = 0; i < GOSSIP_FRAME_ERROR_N_ERRORS; i++)
    {
      guint64 v = gossip_pipeline_get_rejected (self->pipeline, i);
      g_hash_table_insert (table,
                           g_strdup_printf ("frame-rejected-%s", gossip_frame_error_to_string (i)),
                           g_memdup2 (&v, 8));
    }
  g_hash_table_iter_init (&iter, self->transport_stats);
  while (g_hash_table_iter_next (&iter, &name, &stats))
    for (guint i = 0; i < G_N_ELEMENTS (transport_stat_names); i++)
      g_hash_table_insert (table, g_strdup_printf ("%s.%s", (char *) name, transport_stat_names[i]),
                           g_memdup2 (&((guint64 *) stats)[i], 8));
  return table;
}
