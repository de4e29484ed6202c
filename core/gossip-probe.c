/* gossip-probe.c: failure detection, SWIM with the Lifeguard refinements.
 *
 * Each probe period one member is pinged, round-robin over a shuffled list
 * so every member is probed within a bounded time.  No ack within the
 * (health-scaled) timeout: k other members are asked to ping it for us, and
 * it is pinged once more over the reliable path in case only datagrams are
 * lost.  Still nothing by the end of the period: it becomes suspect.
 *
 * Acks are matched by sequence number, which belongs to the probe of one
 * target; a helper's "could not reach it" (nack) never counts as an ack.
 * A helper only pings addresses of members it knows, so ping-req cannot be
 * used to reflect traffic at arbitrary hosts.
 */
#include "config.h"

#include <string.h>

#include "gossip-cluster-private.h"

typedef struct
{
  GossipCluster *cluster;
  char *target;
  guint64 seq;
  gboolean acked;
  guint expected_nacks;
  guint nacks;
  guint timer;
} Probe;

typedef struct
{
  GossipCluster *cluster;
  guint64 their_seq;
  char *requester_address;
  guint64 our_seq;
  guint timer;
} Relay;

static void probe_tick (gpointer data);

static gint64
scaled (GossipCluster *self, gint64 timeout)
{
  return _gossip_awareness_scale_timeout (self->awareness, timeout);
}

static void
schedule_probe (GossipCluster *self)
{
  self->probe_timer = gossip_clock_add_timer (self->clock, scaled (self, self->probe_interval),
                                              probe_tick, self, NULL);
}

void
_gossip_probe_start (GossipCluster *self)
{
  schedule_probe (self);
}

void
_gossip_probe_stop (GossipCluster *self)
{
  gossip_clock_clear_timer (self->clock, &self->probe_timer);
}

void
_gossip_probe_forget (GossipCluster *self, const char *id)
{
  for (guint i = 0; i < self->probe_order->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->probe_order, i), id) == 0)
      {
        g_ptr_array_remove_index (self->probe_order, i);
        if (self->probe_index > i)
          self->probe_index--;
        return;
      }
}

static void
shuffle_probe_order (GossipCluster *self)
{
  for (guint i = self->probe_order->len; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (self->rand, 0, (gint32) i);
      gpointer tmp = self->probe_order->pdata[i - 1];
      self->probe_order->pdata[i - 1] = self->probe_order->pdata[j];
      self->probe_order->pdata[j] = tmp;
    }
}

static GossipMember *
next_target (GossipCluster *self)
{
  /* At most one pass over the list, plus one after reshuffling. */
  for (guint checked = 0; checked <= self->probe_order->len; checked++)
    {
      GossipMember *m;
      GossipNodeState s;

      if (self->probe_index >= self->probe_order->len)
        {
          self->probe_index = 0;
          shuffle_probe_order (self);
          if (self->probe_order->len == 0)
            return NULL;
        }
      m = _gossip_membership_lookup (self,
                                     g_ptr_array_index (self->probe_order, self->probe_index++));
      if (m == NULL || m == self->local || m->route == NULL)
        continue;
      s = gossip_node_get_state (m->node);
      if (s == GOSSIP_NODE_STATE_ALIVE || s == GOSSIP_NODE_STATE_SUSPECT)
        return m;
    }
  return NULL;
}

static void
probe_free (gpointer data)
{
  Probe *probe = data;

  gossip_clock_clear_timer (probe->cluster->clock, &probe->timer);
  g_free (probe->target);
  g_free (probe);
}

static void
probe_reply (GossipCluster *self, GossipPending *pending, const GossipMsg *reply)
{
  Probe *probe = pending->data;

  if (reply->type == GOSSIP_MSG_NACK)
    {
      self->counters[GOSSIP_COUNTER_NACKS_RECEIVED]++;
      probe->nacks++;
      return;
    }
  if (reply->type != GOSSIP_MSG_ACK)
    return;
  self->counters[GOSSIP_COUNTER_ACKS_RECEIVED]++;
  /* Anti-entropy driven by convergence: when the target's view differs
   * from ours, exchange full state with it now rather than at the next
   * push-pull period, at most once per sync interval.  Epidemic gossip
   * misses a node now and then; this repairs it within a probe round. */
  if (reply->digest != NULL && g_strcmp0 (reply->from, probe->target) == 0)
    {
      g_autofree char *ours = gossip_cluster_get_membership_digest (self);
      gint64 now = gossip_clock_now (self->clock);
      GossipMember *m = _gossip_membership_lookup (self, probe->target);

      if (m != NULL && strcmp (ours, reply->digest) != 0
          && (self->last_digest_sync == 0
              || now - self->last_digest_sync
                     >= _gossip_pushpull_scale (GOSSIP_DIGEST_SYNC_PERIODS * self->probe_interval,
                                                g_hash_table_size (self->members))))
        {
          self->last_digest_sync = now;
          self->counters[GOSSIP_COUNTER_DIGEST_SYNCS]++;
          if (m->route != NULL)
            _gossip_pushpull_sync_with (self, m->route);
        }
    }
  /* Lifeguard: a timely ack is evidence that we are healthy. */
  _gossip_awareness_apply_delta (self->awareness, -1);
  _gossip_cluster_remove_pending (self, probe->seq); /* frees the probe */
}

static void
probe_failed (gpointer data)
{
  Probe *probe = data;
  GossipCluster *self = probe->cluster;
  GossipMember *m = _gossip_membership_lookup (self, probe->target);
  int delta = 1;

  probe->timer = 0;
  /* Lifeguard: helpers that did not even nack suggest that our own network
   * is the problem, so count those against our health rather than
   * the target's. */
  if (probe->expected_nacks > 0)
    delta = (int) probe->expected_nacks - (int) MIN (probe->nacks, probe->expected_nacks);
  _gossip_awareness_apply_delta (self->awareness, delta);
  self->counters[GOSSIP_COUNTER_PROBE_FAILURES]++;
  _gossip_cluster_remove_pending (self, probe->seq);
  /* A target already suspect (we heard it by gossip) gets our failed probe
   * as an independent confirmation, which shortens its suspicion timeout
   * (Lifeguard; memberlist's suspectNode does the same). */
  if (m != NULL
      && (gossip_node_get_state (m->node) == GOSSIP_NODE_STATE_ALIVE
          || gossip_node_get_state (m->node) == GOSSIP_NODE_STATE_SUSPECT))
    _gossip_membership_suspect (self, m);
}

static void
probe_timed_out (gpointer data)
{
  Probe *probe = data;
  GossipCluster *self = probe->cluster;
  GossipMember *m = _gossip_membership_lookup (self, probe->target);
  g_autoptr (GPtrArray) helpers = NULL;
  gint64 remaining;

  probe->timer = 0;
  if (m == NULL)
    {
      _gossip_cluster_remove_pending (self, probe->seq);
      return;
    }
  helpers = _gossip_membership_random (self, self->indirect_checks, m, FALSE);
  for (guint i = 0; i < helpers->len; i++)
    {
      GossipMember *h = g_ptr_array_index (helpers, i);
      if (gossip_node_get_state (h->node) != GOSSIP_NODE_STATE_ALIVE
          || !_gossip_member_can_reach (self, h, m))
        continue;
      self->counters[GOSSIP_COUNTER_INDIRECT_PROBES]++;
      if (_gossip_cluster_send (self, h->route,
                                _gossip_msg_ping_req (probe->seq, self->node_id,
                                                      self->advertise_address, probe->target,
                                                      gossip_node_get_address (m->node)),
                                FALSE, FALSE, NULL, NULL))
        probe->expected_nacks++;
    }
  /* The datagram path may be what fails (firewalls, loss): try the
   * reliable path too, as memberlist does. */
  if (self->datagrams)
    {
      GossipUpdate me;
      _gossip_membership_local_update (self, &me);
      self->counters[GOSSIP_COUNTER_TCP_FALLBACK_PINGS]++;
      _gossip_cluster_send (self, m->route,
                            _gossip_msg_ping (probe->seq, self->node_id, self->advertise_address,
                                              me.incarnation, probe->target),
                            TRUE, FALSE, NULL, NULL);
    }
  remaining = scaled (self, self->probe_interval) - scaled (self, self->probe_timeout);
  probe->timer = gossip_clock_add_timer (self->clock, MAX (remaining, self->probe_timeout),
                                         probe_failed, probe, NULL);
}

static void
probe_tick (gpointer data)
{
  GossipCluster *self = data;
  GossipMember *target;
  GossipUpdate me;
  Probe *probe;
  GVariant *ping;
  gboolean piggyback = TRUE;

  schedule_probe (self);
  if (gossip_node_get_state (self->local->node) == GOSSIP_NODE_STATE_LEAVING)
    return;
  target = next_target (self);
  if (target == NULL)
    return;
  probe = g_new0 (Probe, 1);
  probe->cluster = self;
  probe->target = g_strdup (gossip_node_get_id (target->node));
  probe->seq = _gossip_cluster_next_seq (self);
  _gossip_cluster_add_pending (self, probe->seq, probe_reply, probe, probe_free);
  _gossip_membership_local_update (self, &me);
  self->counters[GOSSIP_COUNTER_PINGS_SENT]++;
  ping = _gossip_msg_ping (probe->seq, self->node_id, self->advertise_address, me.incarnation,
                           probe->target);
  if (gossip_node_get_state (target->node) == GOSSIP_NODE_STATE_SUSPECT)
    {
      /* Lifeguard's buddy system: tell a suspect that it is suspected, so it
       * can refute at once even if it missed the broadcast. */
      g_autoptr (GPtrArray) news
          = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      GossipUpdate suspect = { 0 };
      g_autoptr (GVariant) owned = g_variant_ref_sink (ping);

      suspect.type = GOSSIP_MSG_SUSPECT;
      suspect.node = probe->target;
      suspect.incarnation = gossip_node_get_incarnation (target->node);
      suspect.from = self->node_id;
      g_ptr_array_add (news, g_variant_ref_sink (_gossip_msg_update (&suspect)));
      ping = _gossip_msg_with_piggyback (owned, news);
      piggyback = FALSE;
    }
  _gossip_cluster_send (self, target->route, ping, !self->datagrams, piggyback, NULL, NULL);
  probe->timer = gossip_clock_add_timer (self->clock, scaled (self, self->probe_timeout),
                                         probe_timed_out, probe, NULL);
}

/* Any well-formed ping is answered, from known and unknown senders alike:
 * a node that has just joined must not be suspected for being new. */
void
_gossip_probe_handle_ping (GossipCluster *self, GossipTransportPath path, const char *from,
                           const GossipMsg *msg)
{
  GossipUpdate sender = { 0 };
  g_autofree char *digest = NULL;

  if (msg->target != NULL && g_strcmp0 (msg->target, self->node_id) != 0)
    {
      /* Meant for a node that used to live at this address. */
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_WRONG_TARGET, from, "ping for %s",
                                msg->target);
      return;
    }
  if (g_strcmp0 (msg->from, self->node_id) == 0)
    return; /* our own ping, reflected: never act on it */
  /* Learn about the sender from its ping. */
  sender.type = GOSSIP_MSG_ALIVE;
  sender.node = msg->from;
  sender.address = msg->from_address;
  sender.incarnation = msg->from_incarnation;
  if (_gossip_membership_lookup (self, msg->from) == NULL)
    _gossip_membership_handle_update (self, &sender);
  /* The ack carries our membership digest: a prober whose view differs
   * syncs with us (see probe_reply). */
  digest = gossip_cluster_get_membership_digest (self);
  /* Datagrams are answered where they came from; reliable pings at the
   * sender's advertised address (a TCP peer's port is ephemeral). */
  if (path == GOSSIP_TRANSPORT_PATH_DATAGRAM)
    _gossip_cluster_send (self, from,
                          _gossip_msg_ack (GOSSIP_MSG_ACK, msg->seq, self->node_id, digest), FALSE,
                          TRUE, NULL, NULL);
  else
    _gossip_cluster_send (
        self, _gossip_membership_reply_address (self, msg->from, msg->from_address),
        _gossip_msg_ack (GOSSIP_MSG_ACK, msg->seq, self->node_id, digest), TRUE, FALSE, NULL, NULL);
}

static void
relay_free (gpointer data)
{
  Relay *relay = data;

  gossip_clock_clear_timer (relay->cluster->clock, &relay->timer);
  g_free (relay->requester_address);
  g_free (relay);
}

static void
relay_reply (GossipCluster *self, GossipPending *pending, const GossipMsg *reply)
{
  Relay *relay = pending->data;

  if (reply->type != GOSSIP_MSG_ACK)
    return;
  /* Filed under the requester's sequence number: it stands for the target. */
  _gossip_cluster_send (self, relay->requester_address,
                        _gossip_msg_ack (GOSSIP_MSG_ACK, relay->their_seq, self->node_id, NULL),
                        FALSE, FALSE, NULL, NULL);
  _gossip_cluster_remove_pending (self, relay->our_seq);
}

static void
relay_timed_out (gpointer data)
{
  Relay *relay = data;
  GossipCluster *self = relay->cluster;

  relay->timer = 0;
  _gossip_cluster_send (self, relay->requester_address,
                        _gossip_msg_ack (GOSSIP_MSG_NACK, relay->their_seq, self->node_id, NULL),
                        FALSE, FALSE, NULL, NULL);
  _gossip_cluster_remove_pending (self, relay->our_seq);
}

void
_gossip_probe_handle_ping_req (GossipCluster *self, const GossipMsg *msg)
{
  GossipMember *target = _gossip_membership_lookup (self, msg->target);
  Relay *relay;

  if (target == NULL || target == self->local || target->route == NULL
      || g_strcmp0 (gossip_node_get_address (target->node), msg->target_address) != 0)
    {
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_UNKNOWN_PROBE_TARGET,
                                msg->from_address, "ping-req for %s at %s, not a member we know",
                                msg->target, msg->target_address);
      _gossip_cluster_send (self,
                            _gossip_membership_reply_address (self, msg->from, msg->from_address),
                            _gossip_msg_ack (GOSSIP_MSG_NACK, msg->seq, self->node_id, NULL), FALSE,
                            FALSE, NULL, NULL);
      return;
    }
  relay = g_new0 (Relay, 1);
  relay->cluster = self;
  relay->their_seq = msg->seq;
  relay->requester_address
      = g_strdup (_gossip_membership_reply_address (self, msg->from, msg->from_address));
  relay->our_seq = _gossip_cluster_next_seq (self);
  _gossip_cluster_add_pending (self, relay->our_seq, relay_reply, relay, relay_free);
  _gossip_cluster_send (self, target->route,
                        _gossip_msg_ping (relay->our_seq, self->node_id, self->advertise_address,
                                          gossip_node_get_incarnation (self->local->node),
                                          msg->target),
                        !self->datagrams, FALSE, NULL, NULL);
  /* The nack must reach the requester before its own deadline (one probe
   * timeout after it asked), so it goes out at 80 % of ours. */
  relay->timer = gossip_clock_add_timer (self->clock, self->probe_timeout * 4 / 5, relay_timed_out,
                                         relay, NULL);
}
