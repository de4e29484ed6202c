/* gossip-membership.c: the member table and the state machine of a member
 * record.
 *
 * Incarnation numbers order every claim about a node.  A claim with a lower
 * incarnation than the record is stale and ignored; Alive needs a strictly
 * higher incarnation to override Suspect, Dead or Leaving, while Suspect,
 * Dead and Leaving take effect at an equal one.  Only a node itself raises
 * its incarnation, to refute a suspicion or a death it hears about itself:
 * claims about the local node are never applied to it.  docs/PROTOCOL.md
 * has the full table.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "gossip-cluster-private.h"
#include "gossip/gossip-version.h"

void _gossip_cluster_emit_state_changed (GossipCluster *self, GossipNode *node,
                                         GossipNodeState old_state);
void _gossip_cluster_emit_gossip (GossipCluster *self);

static void
member_free (gpointer data)
{
  GossipMember *m = data;

  g_clear_pointer (&m->suspicion, _gossip_suspicion_free);
  g_object_unref (m->node);
  g_free (m->route);
  g_free (m);
}

/* Sets a member's addresses and picks the one we send to: the first one a
 * transport of ours serves.  A member none serves (a WebSocket-only node
 * seen from a TCP/UDP-only one) has no route: it is known through others
 * but never probed, gossiped with or asked to probe. */
void
_gossip_member_set_addresses (GossipCluster *self, GossipMember *m, const char *address,
                              const char *extra)
{
  const char *const *all;

  _gossip_node_set_address (m->node, address);
  _gossip_node_set_extra_addresses (m->node, extra);
  g_clear_pointer (&m->route, g_free);
  all = gossip_node_get_addresses (m->node);
  for (guint i = 0; all[i] != NULL && m->route == NULL; i++)
    if (all[i][0] != '\0' && _gossip_cluster_transport_for (self, all[i]) != NULL)
      m->route = g_strdup (all[i]);
  /* Before the transports are up (or with none that serves it) keep the
   * advertised address: sending to it fails and is counted, as before. */
  if (m->route == NULL && self->transports->len == 0)
    m->route = g_strdup (address);
}

/* Whether @from can reach @to: they share a kind of address (plain
 * host:port, or a URL scheme), so a transport @from listens with serves one
 * of @to's addresses. */
static gboolean
same_kind (const char *a, const char *b)
{
  const char *sa = strstr (a, "://"), *sb = strstr (b, "://");

  if (sa == NULL || sb == NULL)
    return sa == sb;
  /* ws and wss are served by the same transports. */
  if (g_str_has_prefix (a, "ws") && g_str_has_prefix (b, "ws") && sa - a <= 3 && sb - b <= 3)
    return TRUE;
  return sa - a == sb - b && strncmp (a, b, (gsize) (sa - a)) == 0;
}

/* Where to answer a message from @node_id that says it came from
 * @advertised: the member's route when we know one (the advertised address
 * may be of a transport we lack, e.g. a node with TCP/UDP and WebSocket
 * pinging a WebSocket-only one), else @advertised. */
const char *
_gossip_membership_reply_address (GossipCluster *self, const char *node_id, const char *advertised)
{
  GossipMember *m = _gossip_membership_lookup (self, node_id);

  return m != NULL && m != self->local && m->route != NULL ? m->route : advertised;
}

gboolean
_gossip_member_can_reach (GossipCluster *self, GossipMember *from, GossipMember *to)
{
  const char *const *fa = gossip_node_get_addresses (from->node);
  const char *const *ta = gossip_node_get_addresses (to->node);

  for (guint i = 0; fa[i] != NULL; i++)
    for (guint j = 0; ta[j] != NULL; j++)
      if (fa[i][0] != '\0' && ta[j][0] != '\0' && same_kind (fa[i], ta[j]))
        return TRUE;
  return FALSE;
}

void
_gossip_membership_init (GossipCluster *self)
{
  self->members = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, member_free);
  self->member_list = g_ptr_array_new ();
  self->probe_order = g_ptr_array_new_with_free_func (g_free);
  self->local = g_new0 (GossipMember, 1);
  self->local->cluster = self;
  self->local->node = _gossip_node_new (self->node_id, "", TRUE);
  _gossip_node_set_versions (self->local->node, GOSSIP_PROTOCOL_VERSION,
                             gossip_config_get_string (self->config, "cluster", "app_version"));
  g_hash_table_insert (self->members, (gpointer) gossip_node_get_id (self->local->node),
                       self->local);
}

void
_gossip_membership_clear (GossipCluster *self)
{
  g_clear_pointer (&self->member_list, g_ptr_array_unref);
  g_clear_pointer (&self->members, g_hash_table_unref);
  g_clear_pointer (&self->probe_order, g_ptr_array_unref);
  g_clear_pointer (&self->queue, _gossip_broadcast_queue_free);
  g_clear_pointer (&self->awareness, _gossip_awareness_free);
  self->local = NULL;
}

GossipMember *
_gossip_membership_lookup (GossipCluster *self, const char *id)
{
  return id ? g_hash_table_lookup (self->members, id) : NULL;
}

static GossipNodeState
state_of (GossipMember *m)
{
  return gossip_node_get_state (m->node);
}

static void
set_state (GossipCluster *self, GossipMember *m, GossipNodeState state)
{
  GossipNodeState old = state_of (m);

  if (old == state)
    return;
  _gossip_node_set_state (m->node, state, gossip_clock_now_wall (self->clock));
  m->state_changed = gossip_clock_now (self->clock);
  if (state != GOSSIP_NODE_STATE_SUSPECT)
    g_clear_pointer (&m->suspicion, _gossip_suspicion_free);
  if (state == GOSSIP_NODE_STATE_DEAD)
    self->counters[GOSSIP_COUNTER_DEATHS]++;
  g_debug ("%s: %s is now %s (was %s)", self->node_id, gossip_node_get_id (m->node),
           gossip_node_state_to_string (state), gossip_node_state_to_string (old));
  _gossip_cluster_emit_state_changed (self, m->node, old);
}

/* Metadata rides along when it is small; larger maps are fetched. */
static void
set_meta (GossipUpdate *u, GossipNode *n)
{
  GossipMetadata *md = _gossip_node_get_meta (n);

  u->meta_version = gossip_node_get_metadata_version (n);
  u->metadata = u->meta_version != 0 && _gossip_metadata_wire_size (md) <= GOSSIP_META_INLINE_MAX
                    ? _gossip_metadata_to_wire (md)
                    : NULL;
}

void
_gossip_membership_local_update (GossipCluster *self, GossipUpdate *out)
{
  GossipNode *n = self->local->node;

  memset (out, 0, sizeof *out);
  out->type = GOSSIP_MSG_ALIVE;
  out->node = gossip_node_get_id (n);
  out->address = self->advertise_address;
  out->extra_addresses = self->extra_addresses;
  out->incarnation = gossip_node_get_incarnation (n);
  out->protocol_version = GOSSIP_PROTOCOL_VERSION;
  out->app_version = gossip_node_get_app_version (n);
  set_meta (out, n);
}

static void schedule_fanout (GossipCluster *self);

/* Queues an update for piggybacking and for the next (immediate) gossip
 * round.  A newer update about the same node replaces an older one. */
void
_gossip_membership_broadcast (GossipCluster *self, const GossipUpdate *update)
{
  g_autoptr (GVariant) v = g_variant_ref_sink (_gossip_msg_update (update));
  g_autoptr (GBytes) bytes = g_variant_get_data_as_bytes (v);

  _gossip_broadcast_queue_push (self->queue, bytes, update->node, FALSE, NULL, NULL);
  schedule_fanout (self);
}

/* Spreads a change of the local node (its metadata) with a new incarnation. */
void
_gossip_membership_announce (GossipCluster *self)
{
  GossipNode *n = self->local->node;
  GossipUpdate alive;

  if (!self->running || gossip_node_get_state (n) == GOSSIP_NODE_STATE_LEAVING)
    return;
  _gossip_node_set_incarnation (n, gossip_node_get_incarnation (n) + 1);
  _gossip_membership_local_update (self, &alive);
  _gossip_membership_broadcast (self, &alive);
}

/* The only way the local incarnation changes: a node is the sole authority
 * on itself, and answers any claim that it is suspect or dead with a higher
 * incarnation. */
void
_gossip_membership_refute (GossipCluster *self, guint64 accused_incarnation)
{
  GossipNode *n = self->local->node;
  GossipUpdate alive;

  if (gossip_node_get_state (n) == GOSSIP_NODE_STATE_LEAVING)
    return;
  _gossip_node_set_incarnation (n, MAX (gossip_node_get_incarnation (n), accused_incarnation) + 1);
  self->counters[GOSSIP_COUNTER_REFUTATIONS]++;
  /* Lifeguard: being suspected hints that we are the slow one. */
  _gossip_awareness_apply_delta (self->awareness, 1);
  _gossip_membership_local_update (self, &alive);
  _gossip_membership_broadcast (self, &alive);
}

static void
add_to_probe_order (GossipCluster *self, const char *id)
{
  /* Insert at a random position so new members are probed within one
   * round, like memberlist does. */
  guint pos = self->probe_order->len
                  ? (guint) g_rand_int_range (self->rand, 0, (gint32) self->probe_order->len + 1)
                  : 0;
  g_ptr_array_insert (self->probe_order, (gint) pos, g_strdup (id));
}

static void
handle_alive (GossipCluster *self, const GossipUpdate *u)
{
  GossipMember *m = _gossip_membership_lookup (self, u->node);
  gboolean is_new = FALSE;

  if (u->protocol_version != 0 && u->protocol_version < GOSSIP_PROTOCOL_VERSION_MIN)
    {
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_OLD_PROTOCOL, u->node,
                                "alive from a node speaking protocol %u", u->protocol_version);
      return;
    }
  if (m == self->local)
    {
      guint64 mine = gossip_node_get_incarnation (self->local->node);
      /* Our own alive coming back to us is normal.  A higher incarnation is a
       * claim from a previous life of this node: supersede it.  The same
       * incarnation at another address is another process using our ID. */
      gboolean elsewhere = g_strcmp0 (u->address, self->advertise_address) != 0;

      if (!elsewhere && u->meta_version > gossip_node_get_metadata_version (self->local->node))
        _gossip_meta_local_claim (self, u->meta_version);
      if (u->incarnation < mine || (u->incarnation == mine && !elsewhere))
        return;
      if (!elsewhere)
        {
          _gossip_membership_refute (self, u->incarnation);
          return;
        }
      /* Our ID at another address: usually a previous life of this node
       * (restarted on a new address), which one refutation supersedes.  A
       * second live process with our ID would answer every refutation with
       * its own, so give up after a few and only count and log it. */
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_ID_CONFLICTS, u->address,
                                "%s claims our ID %s", u->address, self->node_id);
      if (self->counters[GOSSIP_COUNTER_ID_CONFLICTS] <= GOSSIP_MAX_CONFLICT_REFUTATIONS)
        _gossip_membership_refute (self, u->incarnation);
      return;
    }
  if (m == NULL)
    {
      m = g_new0 (GossipMember, 1);
      m->cluster = self;
      m->node = _gossip_node_new (u->node, u->address, FALSE);
      g_hash_table_insert (self->members, (gpointer) gossip_node_get_id (m->node), m);
      g_ptr_array_add (self->member_list, m);
      add_to_probe_order (self, u->node);
      is_new = TRUE;
    }
  else if (u->incarnation < gossip_node_get_incarnation (m->node)
           || (u->incarnation == gossip_node_get_incarnation (m->node)
               && state_of (m) != GOSSIP_NODE_STATE_UNKNOWN))
    {
      /* Nothing new about the node, but maybe metadata we missed, or the
       * addresses of its other transports (a node first learned from its
       * ping is known by its advertised address alone). */
      if (u->incarnation == gossip_node_get_incarnation (m->node))
        {
          _gossip_meta_observe (self, m, u, NULL);
          if (u->extra_addresses != NULL
              && g_strcmp0 (u->address, gossip_node_get_address (m->node)) == 0
              && g_strcmp0 (u->extra_addresses, _gossip_node_get_extra_addresses (m->node)) != 0)
            _gossip_member_set_addresses (self, m, u->address, u->extra_addresses);
        }
      self->counters[GOSSIP_COUNTER_STALE_UPDATES]++;
      return;
    }
  /* A node that returns on a new address is accepted with its newer incarnation. */
  _gossip_member_set_addresses (self, m, u->address, u->extra_addresses);
  _gossip_node_set_incarnation (m->node, u->incarnation);
  _gossip_node_set_versions (m->node, u->protocol_version, u->app_version);
  if (!is_new && state_of (m) == GOSSIP_NODE_STATE_DEAD)
    add_to_probe_order (self, u->node);
  set_state (self, m, GOSSIP_NODE_STATE_ALIVE);
  _gossip_meta_observe (self, m, u, NULL);
  {
    /* Pass it on with the metadata we now hold, if it is small. */
    GossipUpdate fwd = *u;
    if (u->meta_version == gossip_node_get_metadata_version (m->node))
      set_meta (&fwd, m->node);
    else
      fwd.metadata = NULL;
    _gossip_membership_broadcast (self, &fwd);
  }
}

static void
suspicion_expired (gpointer data, guint confirmations)
{
  GossipMember *m = data;
  GossipCluster *self = m->cluster;
  GossipUpdate dead = { 0 };

  if (state_of (m) != GOSSIP_NODE_STATE_SUSPECT)
    return;
  dead.type = GOSSIP_MSG_DEAD;
  dead.node = gossip_node_get_id (m->node);
  dead.incarnation = gossip_node_get_incarnation (m->node);
  dead.from = self->node_id;
  g_debug ("%s: suspicion of %s expired with %u confirmations", self->node_id, dead.node,
           confirmations);
  set_state (self, m, GOSSIP_NODE_STATE_DEAD);
  _gossip_membership_broadcast (self, &dead);
}

/* Lifeguard's suspicion bounds, as memberlist computes them. */
static void
start_suspicion (GossipCluster *self, GossipMember *m, const char *accuser)
{
  guint n = g_hash_table_size (self->members);
  double scale = MAX (1.0, log10 ((double) MAX (n, 1)));
  gint64 min = (gint64) ((double) self->suspicion_mult * scale * (double) self->probe_interval);
  gint64 max = min * (gint64) self->suspicion_max_mult;
  /* Expect confirmations from as many peers as could independently notice;
   * with fewer nodes than that, do not wait for them. */
  guint k = self->suspicion_mult > 2 ? self->suspicion_mult - 2 : 0;

  if (n < k + 2)
    k = 0;
  g_clear_pointer (&m->suspicion, _gossip_suspicion_free);
  m->suspicion = _gossip_suspicion_new (self->clock, k, min, max, accuser, suspicion_expired, m);
}

static void
handle_suspect (GossipCluster *self, const GossipUpdate *u)
{
  GossipMember *m = _gossip_membership_lookup (self, u->node);

  if (m == NULL)
    return;
  if (m == self->local)
    {
      _gossip_membership_refute (self, u->incarnation);
      return;
    }
  if (u->incarnation < gossip_node_get_incarnation (m->node))
    {
      self->counters[GOSSIP_COUNTER_STALE_UPDATES]++;
      return;
    }
  switch (state_of (m))
    {
    case GOSSIP_NODE_STATE_SUSPECT:
      /* An independent accuser shortens the timeout; spread the news. */
      if (m->suspicion != NULL && u->from != NULL
          && _gossip_suspicion_confirm (m->suspicion, u->from))
        _gossip_membership_broadcast (self, u);
      return;
    case GOSSIP_NODE_STATE_DEAD:
    case GOSSIP_NODE_STATE_LEAVING:
      self->counters[GOSSIP_COUNTER_STALE_UPDATES]++;
      return;
    default:
      break;
    }
  _gossip_node_set_incarnation (m->node, u->incarnation);
  self->counters[GOSSIP_COUNTER_SUSPICIONS]++;
  start_suspicion (self, m, u->from);
  set_state (self, m, GOSSIP_NODE_STATE_SUSPECT);
  _gossip_membership_broadcast (self, u);
}

/* Called by the prober when a node failed direct and indirect probes. */
void
_gossip_membership_suspect (GossipCluster *self, GossipMember *member)
{
  GossipUpdate u = { 0 };

  u.type = GOSSIP_MSG_SUSPECT;
  u.node = gossip_node_get_id (member->node);
  u.incarnation = gossip_node_get_incarnation (member->node);
  u.from = self->node_id;
  handle_suspect (self, &u);
}

static void
handle_dead_or_leave (GossipCluster *self, const GossipUpdate *u)
{
  GossipMember *m = _gossip_membership_lookup (self, u->node);
  GossipNodeState target
      = u->type == GOSSIP_MSG_LEAVE ? GOSSIP_NODE_STATE_LEAVING : GOSSIP_NODE_STATE_DEAD;

  if (m == NULL)
    return;
  if (m == self->local)
    {
      /* Our own leave echoing back is fine; anything else is refuted. */
      if (state_of (m) != GOSSIP_NODE_STATE_LEAVING)
        _gossip_membership_refute (self, u->incarnation);
      return;
    }
  if (u->incarnation < gossip_node_get_incarnation (m->node) || state_of (m) == target
      || state_of (m) == GOSSIP_NODE_STATE_LEAVING)
    {
      self->counters[GOSSIP_COUNTER_STALE_UPDATES]++;
      return;
    }
  _gossip_node_set_incarnation (m->node, u->incarnation);
  set_state (self, m, target);
  _gossip_membership_broadcast (self, u);
}

void
_gossip_membership_handle_update (GossipCluster *self, const GossipUpdate *update)
{
  switch (update->type)
    {
    case GOSSIP_MSG_ALIVE:
      handle_alive (self, update);
      break;
    case GOSSIP_MSG_SUSPECT:
      handle_suspect (self, update);
      break;
    case GOSSIP_MSG_DEAD:
    case GOSSIP_MSG_LEAVE:
      handle_dead_or_leave (self, update);
      break;
    default:
      break;
    }
}

/* A record from a peer's full state.  A remote "dead" is only a suspicion
 * here: the peer may be the one cut off, and a live node refutes. */
void
_gossip_membership_merge_record (GossipCluster *self, const GossipUpdate *record,
                                 const char *sender)
{
  GossipUpdate u = *record;

  switch (record->state)
    {
    case GOSSIP_NODE_STATE_ALIVE:
      u.type = GOSSIP_MSG_ALIVE;
      break;
    case GOSSIP_NODE_STATE_SUSPECT:
    case GOSSIP_NODE_STATE_DEAD:
      u.type = GOSSIP_MSG_SUSPECT;
      u.from = sender;
      break;
    case GOSSIP_NODE_STATE_LEAVING:
      u.type = GOSSIP_MSG_LEAVE;
      break;
    default:
      return;
    }
  _gossip_membership_handle_update (self, &u);
}

GVariant *
_gossip_membership_records (GossipCluster *self)
{
  GVariantBuilder b;
  GHashTableIter iter;
  gpointer value;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("av"));
  g_hash_table_iter_init (&iter, self->members);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GossipMember *m = value;
      GossipUpdate r = { 0 };

      if (m == self->local)
        _gossip_membership_local_update (self, &r);
      else
        {
          r.node = gossip_node_get_id (m->node);
          r.address = gossip_node_get_address (m->node);
          r.extra_addresses = _gossip_node_get_extra_addresses (m->node);
          r.incarnation = gossip_node_get_incarnation (m->node);
          r.protocol_version = gossip_node_get_protocol_version (m->node);
          r.app_version = gossip_node_get_app_version (m->node);
          set_meta (&r, m->node);
        }
      r.state = state_of (m);
      g_variant_builder_add (&b, "v", _gossip_msg_record (&r));
    }
  return g_variant_builder_end (&b);
}

static gboolean
eligible (GossipMember *m, gboolean include_dead, gint64 now, gint64 dead_window)
{
  if (m->route == NULL)
    return FALSE;
  switch (state_of (m))
    {
    case GOSSIP_NODE_STATE_ALIVE:
    case GOSSIP_NODE_STATE_SUSPECT:
      return TRUE;
    case GOSSIP_NODE_STATE_DEAD:
      /* Gossiping to the recently dead lets a node cut off by a partition
       * learn it was declared dead, and refute. */
      return include_dead && now - m->state_changed < dead_window;
    default:
      return FALSE;
    }
}

/* Up to @k distinct random remote members that are alive or suspect (and,
 * with @include_dead, recently dead).  Random draws first, a scan if the
 * draws do not find enough, so it is cheap in large clusters. */
GPtrArray *
_gossip_membership_random (GossipCluster *self, guint k, GossipMember *exclude,
                           gboolean include_dead)
{
  GPtrArray *out = g_ptr_array_new ();
  guint n = self->member_list->len;
  gint64 now = gossip_clock_now (self->clock);

  if (n == 0 || k == 0)
    return out;
  for (guint tries = 0; tries < 4 * k && out->len < k; tries++)
    {
      GossipMember *m
          = g_ptr_array_index (self->member_list, g_rand_int_range (self->rand, 0, (gint32) n));
      if (m != exclude && eligible (m, include_dead, now, self->dead_node_timeout)
          && !g_ptr_array_find (out, m, NULL))
        g_ptr_array_add (out, m);
    }
  if (out->len < k)
    {
      guint start = (guint) g_rand_int_range (self->rand, 0, (gint32) n);
      for (guint i = 0; i < n && out->len < k; i++)
        {
          GossipMember *m = g_ptr_array_index (self->member_list, (start + i) % n);
          if (m != exclude && eligible (m, include_dead, now, self->dead_node_timeout)
              && !g_ptr_array_find (out, m, NULL))
            g_ptr_array_add (out, m);
        }
    }
  return out;
}

guint
_gossip_membership_n_alive (GossipCluster *self)
{
  return gossip_cluster_get_n_alive (self);
}

/* One gossip round: pending updates go to a few random peers. */
static void
gossip_round (GossipCluster *self)
{
  g_autoptr (GPtrArray) peers = NULL;

  if (_gossip_broadcast_queue_length (self->queue) == 0
      && _gossip_broadcast_queue_length (self->user_queue) == 0)
    return;
  self->counters[GOSSIP_COUNTER_GOSSIP_ROUNDS]++;
  peers = _gossip_membership_random (self, self->fanout, NULL, TRUE);
  for (guint i = 0; i < peers->len
                    && (_gossip_broadcast_queue_length (self->queue) > 0
                        || _gossip_broadcast_queue_length (self->user_queue) > 0);
       i++)
    {
      GossipMember *m = g_ptr_array_index (peers, i);
      _gossip_cluster_send (self, m->route, _gossip_msg_gossip (self->node_id), FALSE, TRUE, NULL,
                            NULL);
    }
}

static void
gossip_tick (gpointer data)
{
  GossipCluster *self = data;

  self->gossip_timer
      = gossip_clock_add_timer (self->clock, self->gossip_interval, gossip_tick, self, NULL);
  gossip_round (self);
  _gossip_cluster_emit_gossip (self);
}

static void
fanout_now (gpointer data)
{
  GossipCluster *self = data;

  self->fanout_timer = 0;
  gossip_round (self);
}

/* The event-driven path: a new update goes out at once instead of waiting
 * for the next tick.  Updates queued in the same main-loop turn share the
 * round. */
static void
schedule_fanout (GossipCluster *self)
{
  if (self->running && self->fanout_timer == 0)
    self->fanout_timer = gossip_clock_add_timer (self->clock, 0, fanout_now, self, NULL);
}

/* Dead and left members are forgotten after dead_node_timeout. */
static void
reap_tick (gpointer data)
{
  GossipCluster *self = data;
  gint64 now = gossip_clock_now (self->clock);

  self->reap_timer
      = gossip_clock_add_timer (self->clock, self->probe_interval, reap_tick, self, NULL);
  for (guint i = 0; i < self->member_list->len;)
    {
      GossipMember *m = g_ptr_array_index (self->member_list, i);
      GossipNodeState s = state_of (m);

      if ((s == GOSSIP_NODE_STATE_DEAD || s == GOSSIP_NODE_STATE_LEAVING)
          && now - m->state_changed >= self->dead_node_timeout)
        {
          g_debug ("%s: forgetting %s", self->node_id, gossip_node_get_id (m->node));
          g_ptr_array_remove_index_fast (self->member_list, i);
          _gossip_probe_forget (self, gossip_node_get_id (m->node));
          g_hash_table_remove (self->members, gossip_node_get_id (m->node));
          continue;
        }
      i++;
    }
}

void
_gossip_membership_start (GossipCluster *self)
{
  GossipMember *local = self->local;

  _gossip_member_set_addresses (self, local, self->advertise_address, self->extra_addresses);
  set_state (self, local, GOSSIP_NODE_STATE_ALIVE);
  self->gossip_timer
      = gossip_clock_add_timer (self->clock, self->gossip_interval, gossip_tick, self, NULL);
  self->reap_timer
      = gossip_clock_add_timer (self->clock, self->probe_interval, reap_tick, self, NULL);
}

void
_gossip_membership_stop (GossipCluster *self)
{
  GHashTableIter iter;
  gpointer value;

  gossip_clock_clear_timer (self->clock, &self->gossip_timer);
  gossip_clock_clear_timer (self->clock, &self->fanout_timer);
  gossip_clock_clear_timer (self->clock, &self->reap_timer);
  g_hash_table_iter_init (&iter, self->members);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_clear_pointer (&((GossipMember *) value)->suspicion, _gossip_suspicion_free);
}
