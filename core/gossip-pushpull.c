/* gossip-pushpull.c: full state exchange: join, periodic anti-entropy,
 * partition healing, and graceful leave.
 *
 * A push-pull sends our whole member table over the reliable path and gets
 * the peer's back; both sides merge.  Join is a push-pull with a "join"
 * flag, where versions are checked and a refusal comes back with a reason.
 * Partitions heal without the application's help: every reconnect interval
 * the node push-pulls with one member it believes dead, or a seed address,
 * so two halves that can talk again find each other.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "gossip-cluster-private.h"
#include "gossip-address-private.h"
#include "gossip/gossip-version.h"

/* ------------------------------------------------------------------------ */
/* Outgoing push-pulls */

typedef struct _JoinState JoinState;

typedef struct
{
  GossipCluster *cluster;
  guint64 seq;
  char *address;
  guint timer;
  JoinState *join; /* NULL for periodic and reconnect exchanges */
  gboolean finished;
} Exchange;

struct _JoinState
{
  GTask *task;
  guint outstanding;
  guint joined;
  guint self_skipped;
  GError *first_refusal;
  GString *failures;
};

static void join_attempt_done (JoinState *join, gboolean ok, const char *address,
                               const GError *error);

static void
exchange_free (gpointer data)
{
  Exchange *ex = data;

  gossip_clock_clear_timer (ex->cluster->clock, &ex->timer);
  if (ex->join != NULL && !ex->finished)
    {
      g_autoptr (GError) error = g_error_new_literal (
          GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING, "cluster stopped");
      ex->finished = TRUE;
      join_attempt_done (ex->join, FALSE, ex->address, error);
    }
  g_free (ex->address);
  g_free (ex);
}

static void
merge_members (GossipCluster *self, GVariant *members, const char *sender)
{
  gsize n = g_variant_n_children (members);

  for (gsize i = 0; i < n && self->running; i++)
    {
      g_autoptr (GVariant) boxed = g_variant_get_child_value (members, i);
      g_autoptr (GVariant) record = g_variant_get_variant (boxed);
      g_autoptr (GError) error = NULL;
      GossipUpdate r;

      if (!_gossip_update_parse (record, &r, &error) || r.type != 0)
        {
          _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_MALFORMED, sender,
                                    "push-pull record: %s",
                                    error ? error->message : "not a state record");
          continue;
        }
      _gossip_membership_merge_record (self, &r, sender);
    }
}

static void
exchange_finish (Exchange *ex, gboolean ok, const GError *error)
{
  GossipCluster *self = ex->cluster;

  if (ex->join != NULL && !ex->finished)
    {
      ex->finished = TRUE;
      join_attempt_done (ex->join, ok, ex->address, error);
    }
  _gossip_cluster_remove_pending (self, ex->seq); /* frees ex */
}

static void
exchange_reply (GossipCluster *self, GossipPending *pending, const GossipMsg *reply)
{
  Exchange *ex = pending->data;

  if (reply->type == GOSSIP_MSG_REFUSE)
    {
      g_autoptr (GError) error = g_error_new (GOSSIP_CLUSTER_ERROR, (gint) reply->code,
                                              "%s refused: %s", ex->address, reply->reason);
      exchange_finish (ex, FALSE, error);
      return;
    }
  if (reply->type != GOSSIP_MSG_PUSH_PULL_REPLY)
    return;
  if (reply->protocol_version < GOSSIP_PROTOCOL_VERSION_MIN)
    {
      g_autoptr (GError) error
          = g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH,
                         "%s speaks protocol %u; this node needs at least %u", ex->address,
                         reply->protocol_version, GOSSIP_PROTOCOL_VERSION_MIN);
      exchange_finish (ex, FALSE, error);
      return;
    }
  if (g_strcmp0 (reply->from, self->node_id) == 0)
    {
      g_autoptr (GError) error = g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_SELF_JOIN,
                                              "%s is this node", ex->address);
      exchange_finish (ex, FALSE, error);
      return;
    }
  self->counters[GOSSIP_COUNTER_PUSH_PULLS]++;
  merge_members (self, reply->members, reply->from);
  exchange_finish (ex, TRUE, NULL);
}

static void
exchange_timed_out (gpointer data)
{
  Exchange *ex = data;
  g_autoptr (GError) error = g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TIMEOUT,
                                          "%s did not answer in time", ex->address);

  ex->timer = 0;
  exchange_finish (ex, FALSE, error);
}

typedef struct
{
  GossipCluster *cluster;
  guint64 seq;
} SendRef;

static void
exchange_sent (gpointer data, const GError *error)
{
  SendRef *ref = data;
  GossipCluster *self = ref->cluster;
  GossipPending *pending;

  if (error != NULL && self->pending != NULL
      && (pending = g_hash_table_lookup (self->pending, &ref->seq)) != NULL)
    exchange_finish (pending->data, FALSE, error);
  g_object_unref (self);
  g_free (ref);
}

static Exchange *
start_exchange (GossipCluster *self, const char *address, JoinState *join)
{
  Exchange *ex = g_new0 (Exchange, 1);
  SendRef *ref = g_new0 (SendRef, 1);
  gboolean is_join = join != NULL;

  ex->cluster = self;
  ex->seq = _gossip_cluster_next_seq (self);
  ex->address = g_strdup (address);
  ex->join = join;
  _gossip_cluster_add_pending (self, ex->seq, exchange_reply, ex, exchange_free);
  /* A slow peer costs us one pending entry for one timeout, nothing more. */
  ex->timer = gossip_clock_add_timer (self->clock, self->io_timeout, exchange_timed_out, ex, NULL);
  ref->cluster = g_object_ref (self);
  ref->seq = ex->seq;
  if (!_gossip_cluster_send (self, address,
                             _gossip_msg_push_pull (GOSSIP_MSG_PUSH_PULL, ex->seq, self->node_id,
                                                    self->advertise_address, is_join,
                                                    GOSSIP_PROTOCOL_VERSION,
                                                    gossip_node_get_app_version (self->local->node),
                                                    _gossip_membership_records (self)),
                             TRUE, FALSE, exchange_sent, ref))
    {
      g_autoptr (GError) error
          = g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_BAD_ADDRESS,
                         "no transport can reach %s", address);
      g_object_unref (ref->cluster);
      g_free (ref);
      exchange_finish (ex, FALSE, error);
      return NULL;
    }
  return ex;
}

/*
 * Ends every exchange still waiting for @address with @error: what a peer
 * said through a notice, or what its unreadable answer showed
 * (gossip-notice.c).  Returns how many were ended.
 */
guint
_gossip_pushpull_fail_exchanges (GossipCluster *self, const char *address, const GError *error)
{
  g_autoptr (GArray) seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  GHashTableIter iter;
  gpointer value;
  guint failed = 0;

  /* Collected first: finishing an exchange removes it from the table. */
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GossipPending *pending = value;

      if (pending->on_reply == exchange_reply
          && g_strcmp0 (((Exchange *) pending->data)->address, address) == 0)
        g_array_append_val (seqs, pending->seq);
    }
  for (guint i = 0; i < seqs->len; i++)
    {
      GossipPending *pending
          = g_hash_table_lookup (self->pending, &g_array_index (seqs, guint64, i));

      if (pending != NULL)
        {
          exchange_finish (pending->data, FALSE, error);
          failed++;
        }
    }
  return failed;
}

/* ------------------------------------------------------------------------ */
/* Incoming push-pulls */

static void
refuse (GossipCluster *self, const GossipMsg *msg, const char *reply_to, GossipClusterError code,
        const char *reason)
{
  _gossip_cluster_send (self, reply_to, _gossip_msg_refuse (msg->seq, self->node_id, code, reason),
                        TRUE, FALSE, NULL, NULL);
}

void
_gossip_pushpull_handle_request (GossipCluster *self, const GossipMsg *msg, const char *reply_to)
{
  if (msg->protocol_version < GOSSIP_PROTOCOL_VERSION_MIN)
    {
      g_autofree char *why = g_strdup_printf (
          "protocol version %u is too old; this node needs %u to %u", msg->protocol_version,
          GOSSIP_PROTOCOL_VERSION_MIN, GOSSIP_PROTOCOL_VERSION);
      refuse (self, msg, reply_to, GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH, why);
      return;
    }
  if (g_strcmp0 (msg->from, self->node_id) == 0)
    {
      if (g_strcmp0 (msg->from_address, self->advertise_address) == 0)
        refuse (self, msg, reply_to, GOSSIP_CLUSTER_ERROR_SELF_JOIN, "a node cannot join itself");
      else
        refuse (self, msg, reply_to, GOSSIP_CLUSTER_ERROR_ID_CONFLICT,
                "this node already has that ID; give each node its own [cluster] node_id");
      return;
    }
  if (msg->join && self->version_check != NULL)
    {
      g_autoptr (GError) error = NULL;
      if (!self->version_check (self, msg->from, msg->app_version ? msg->app_version : "",
                                self->version_check_data, &error))
        {
          refuse (self, msg, reply_to, GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH,
                  error ? error->message : "application version refused");
          return;
        }
    }
  self->counters[GOSSIP_COUNTER_PUSH_PULLS]++;
  merge_members (self, msg->members, msg->from);
  _gossip_cluster_send (self, reply_to,
                        _gossip_msg_push_pull (GOSSIP_MSG_PUSH_PULL_REPLY, msg->seq, self->node_id,
                                               self->advertise_address, FALSE,
                                               GOSSIP_PROTOCOL_VERSION,
                                               gossip_node_get_app_version (self->local->node),
                                               _gossip_membership_records (self)),
                        TRUE, FALSE, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Join */

static void
join_state_free (JoinState *join)
{
  g_clear_error (&join->first_refusal);
  g_string_free (join->failures, TRUE);
  g_free (join);
}

static void
join_complete (JoinState *join)
{
  GTask *task = join->task;

  if (join->joined > 0)
    g_task_return_int (task, join->joined);
  else if (join->first_refusal != NULL)
    g_task_return_error (task, g_steal_pointer (&join->first_refusal));
  else if (join->self_skipped > 0 && join->failures->len == 0)
    g_task_return_new_error (task, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_SELF_JOIN,
                             "refusing to join: every address given is this node's own");
  else
    g_task_return_new_error (task, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_JOIN_FAILED,
                             "could not join any address: %s",
                             join->failures->len ? join->failures->str : "no address given");
  join_state_free (join);
  g_object_unref (task);
}

static gboolean
join_complete_idle (gpointer data)
{
  join_complete (data);
  return G_SOURCE_REMOVE;
}

static void
join_attempt_done (JoinState *join, gboolean ok, const char *address, const GError *error)
{
  if (ok)
    join->joined++;
  else if (error != NULL)
    {
      if (error->domain == GOSSIP_CLUSTER_ERROR
          && (error->code == GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH
              || error->code == GOSSIP_CLUSTER_ERROR_ID_CONFLICT
              || error->code == GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH)
          && join->first_refusal == NULL)
        join->first_refusal = g_error_copy (error);
      if (error->domain == GOSSIP_CLUSTER_ERROR && error->code == GOSSIP_CLUSTER_ERROR_SELF_JOIN)
        join->self_skipped++;
      else
        g_string_append_printf (join->failures, "%s%s: %s", join->failures->len ? "; " : "",
                                address, error->message);
    }
  /* Completed from an idle callback: this may run while the pending table
   * is being emptied, and the application's callback must not run there. */
  if (--join->outstanding == 0)
    {
      GSource *idle = g_idle_source_new ();
      g_source_set_callback (idle, join_complete_idle, join, NULL);
      g_source_attach (idle, g_task_get_context (join->task));
      g_source_unref (idle);
    }
}

/* One address a join was given, being resolved. */
typedef struct
{
  GossipCluster *cluster;
  JoinState *join;
  char *input;
} JoinLookup;

static void
join_address (GossipCluster *self, JoinState *join, const char *address)
{
  if (g_strcmp0 (address, self->advertise_address) == 0)
    {
      join->self_skipped++;
      return;
    }
  join->outstanding++;
  start_exchange (self, address, join);
}

/* Every address a name resolved to is a join attempt of its own. */
static void
join_resolved (GObject *source, GAsyncResult *result, gpointer data)
{
  JoinLookup *lookup = data;
  GossipCluster *self = lookup->cluster;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) resolved = gossip_address_resolve_finish (result, &error);

  if (resolved != NULL && !self->running)
    error = g_error_new_literal (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                                 "cluster stopped");
  for (guint i = 0; error == NULL && resolved[i] != NULL; i++)
    join_address (self, lookup->join, resolved[i]);
  join_attempt_done (lookup->join, FALSE, lookup->input, error);
  g_free (lookup->input);
  g_free (lookup);
}

/* IP addresses and URLs are tried at once; names are resolved first, all
 * at the same time, under the join's cancellable. */
static void
join_one (GossipCluster *self, JoinState *join, const char *input)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ready = NULL;
  JoinLookup *lookup;

  join->outstanding++;
  if (!_gossip_address_to_transport (input, (guint16) self->default_port, &ready, &error)
      || ready != NULL)
    {
      if (ready != NULL)
        join_address (self, join, ready);
      join_attempt_done (join, FALSE, input, error);
      return;
    }
  lookup = g_new0 (JoinLookup, 1);
  lookup->cluster = self;
  lookup->join = join;
  lookup->input = g_strdup (input);
  gossip_address_resolve_async (input, (guint16) self->default_port, NULL,
                                g_task_get_cancellable (join->task), join_resolved, lookup);
}

void
_gossip_pushpull_join_async (GossipCluster *self, const char *const *addresses,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  JoinState *join;

  g_task_set_source_tag (task, _gossip_pushpull_join_async);
  if (!self->running)
    {
      g_task_return_new_error (task, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                               "start the cluster before joining");
      g_object_unref (task);
      return;
    }
  join = g_new0 (JoinState, 1);
  join->task = task;
  join->failures = g_string_new (NULL);
  /* Hold one count ourselves so attempts failing at once cannot complete
   * the task before every address was tried. */
  join->outstanding = 1;
  for (guint i = 0; addresses != NULL && addresses[i] != NULL; i++)
    if (addresses[i][0] != '\0')
      join_one (self, join, addresses[i]);
  join_attempt_done (join, FALSE, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Periodic sync and partition healing */

/* memberlist's pushPullScale: full-state exchanges cost O(N), so beyond 32
 * nodes their period grows with log2(N) to keep the total load flat. */
gint64
_gossip_pushpull_scale (gint64 interval, guint n)
{
  double multiplier;

  if (n <= 32)
    return interval;
  multiplier = ceil (log2 ((double) n) - log2 (32.0)) + 1.0;
  return interval * (gint64) multiplier;
}

/* A full state exchange outside the schedule (views found to differ). */
void
_gossip_pushpull_sync_with (GossipCluster *self, const char *address)
{
  if (self->running)
    start_exchange (self, address, NULL);
}

static void
push_pull_tick (gpointer data)
{
  GossipCluster *self = data;
  g_autoptr (GPtrArray) peers = NULL;

  self->push_pull_timer = gossip_clock_add_timer (
      self->clock,
      _gossip_pushpull_scale (self->push_pull_interval, g_hash_table_size (self->members)),
      push_pull_tick, self, NULL);
  /* Any one other member will do, even in a two-node cluster. */
  peers = _gossip_membership_random (self, 1, NULL, FALSE);
  if (peers->len > 0)
    start_exchange (self, ((GossipMember *) peers->pdata[0])->route, NULL);
}

/* A seed that is a name gives any one of its addresses but ours. */
static void
reconnect_resolved (GObject *source, GAsyncResult *result, gpointer data)
{
  GossipCluster *self = data;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) resolved = gossip_address_resolve_finish (result, &error);
  g_autoptr (GPtrArray) others = g_ptr_array_new ();

  if (resolved == NULL)
    g_debug ("%s: seed: %s", self->node_id, error->message);
  for (guint i = 0; resolved != NULL && resolved[i] != NULL; i++)
    if (g_strcmp0 (resolved[i], self->advertise_address) != 0)
      g_ptr_array_add (others, resolved[i]);
  if (self->running && others->len > 0)
    {
      guint pick
          = others->len == 1 ? 0 : (guint) g_rand_int_range (self->rand, 0, (gint32) others->len);
      start_exchange (self, g_ptr_array_index (others, pick), NULL);
    }
  g_object_unref (self);
}

static void
reconnect_with (GossipCluster *self, const char *address)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ready = NULL;

  if (!_gossip_address_to_transport (address, (guint16) self->default_port, &ready, &error))
    g_debug ("%s: seed: %s", self->node_id, error->message);
  else if (ready == NULL)
    gossip_address_resolve_async (address, (guint16) self->default_port, NULL, NULL,
                                  reconnect_resolved, g_object_ref (self));
  else if (g_strcmp0 (ready, self->advertise_address) != 0)
    start_exchange (self, ready, NULL);
}

static void
reconnect_tick (gpointer data)
{
  GossipCluster *self = data;
  g_autoptr (GPtrArray) candidates = g_ptr_array_new ();

  self->reconnect_timer
      = gossip_clock_add_timer (self->clock, self->reconnect_interval, reconnect_tick, self, NULL);
  for (guint i = 0; i < self->member_list->len; i++)
    {
      GossipMember *m = g_ptr_array_index (self->member_list, i);
      if (gossip_node_get_state (m->node) == GOSSIP_NODE_STATE_DEAD && m->route != NULL)
        g_ptr_array_add (candidates, m->route);
    }
  /* Seeds are retried only while we are alone or have lost someone: a
   * healthy cluster does not keep knocking on them. */
  if (candidates->len > 0 || self->member_list->len == 0)
    for (guint i = 0; self->seeds != NULL && self->seeds[i] != NULL; i++)
      g_ptr_array_add (candidates, self->seeds[i]);
  if (candidates->len == 0)
    return;
  self->counters[GOSSIP_COUNTER_RECONNECT_ATTEMPTS]++;
  reconnect_with (
      self,
      g_ptr_array_index (candidates, g_rand_int_range (self->rand, 0, (gint32) candidates->len)));
}

void
_gossip_pushpull_start (GossipCluster *self)
{
  if (self->push_pull_interval > 0)
    self->push_pull_timer = gossip_clock_add_timer (self->clock, self->push_pull_interval,
                                                    push_pull_tick, self, NULL);
  self->reconnect_timer = gossip_clock_add_timer (
      self->clock, self->seeds && self->seeds[0] ? 0 : self->reconnect_interval, reconnect_tick,
      self, NULL);
}

void
_gossip_pushpull_stop (GossipCluster *self)
{
  gossip_clock_clear_timer (self->clock, &self->push_pull_timer);
  gossip_clock_clear_timer (self->clock, &self->reconnect_timer);
}

/* ------------------------------------------------------------------------ */
/* Leave */

typedef struct
{
  GossipCluster *cluster;
  GTask *task;
  guint timer;
  gint64 deadline;
} Leave;

static void
leave_check (gpointer data)
{
  Leave *leave = data;
  GossipCluster *self = leave->cluster;
  g_autoptr (GPtrArray) anyone = _gossip_membership_random (self, 1, NULL, FALSE);

  leave->timer = 0;
  /* Done once the announcement has been retransmitted enough, or nobody is
   * left to tell (a lone node leaves at once), or the time allowed for it is
   * up. */
  if (self->running && anyone->len > 0 && _gossip_broadcast_queue_length (self->queue) > 0
      && gossip_clock_now (self->clock) < leave->deadline)
    {
      leave->timer
          = gossip_clock_add_timer (self->clock, self->gossip_interval, leave_check, leave, NULL);
      return;
    }
  g_task_return_boolean (leave->task, TRUE);
  g_object_unref (leave->task);
  g_object_unref (self);
  g_free (leave);
}

void
_gossip_pushpull_leave_async (GossipCluster *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  GossipNode *local = self->local->node;
  g_autoptr (GPtrArray) peers = NULL;
  GossipUpdate u = { 0 };
  Leave *leave;

  g_task_set_source_tag (task, _gossip_pushpull_leave_async);
  if (!self->running)
    {
      g_task_return_new_error (task, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                               "the cluster is not running");
      g_object_unref (task);
      return;
    }
  _gossip_node_set_incarnation (local, gossip_node_get_incarnation (local) + 1);
  _gossip_node_set_state (local, GOSSIP_NODE_STATE_LEAVING, gossip_clock_now_wall (self->clock));
  u.type = GOSSIP_MSG_LEAVE;
  u.node = self->node_id;
  u.incarnation = gossip_node_get_incarnation (local);
  _gossip_membership_broadcast (self, &u);
  /* Also tell a few peers directly over the reliable path, so a leave is
   * never a single lost datagram. */
  peers = _gossip_membership_random (self, self->fanout, NULL, FALSE);
  for (guint i = 0; i < peers->len; i++)
    _gossip_cluster_send (self, ((GossipMember *) peers->pdata[i])->route, _gossip_msg_update (&u),
                          TRUE, FALSE, NULL, NULL);
  leave = g_new0 (Leave, 1);
  leave->cluster = g_object_ref (self);
  leave->task = task;
  leave->deadline = gossip_clock_now (self->clock) + self->leave_timeout;
  leave->timer
      = gossip_clock_add_timer (self->clock, self->gossip_interval, leave_check, leave, NULL);
}
