/* gossip-leader.c: leader election over a gossip cluster (gossip-leader.h,
 * docs/LEADER.md).
 *
 * Every exchange is a request of the election's message type, one tuple
 * each way (coerced back from whatever the codec made of it):
 *
 *   request  (s kind, t term, s sender ID, u electorate size)
 *            kind: "hb" heartbeat, "pre" pre-vote, "vote" vote
 *   reply    (t term, b granted, u electorate size)
 *
 * A round (pre-vote or vote) counts the grants it receives and ends as soon
 * as they reach a quorum, when every request has been answered or failed, or
 * when the node's role changes; replies of an ended round are ignored.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "gossip/gossip-codec.h"
#include "gossip/gossip-leader.h"

#define REQUEST_TYPE "(stsu)"
#define REPLY_TYPE   "(tbu)"
#define MAX_ID_LEN   256
/* Followers stand in ID order, a quarter check interval apart; past this
 * many the rest stand together (see stand_time()). */
#define MAX_STAGGER_RANK 8

typedef enum
{
  ROLE_FOLLOWER,
  ROLE_PRE_CANDIDATE,
  ROLE_CANDIDATE,
  ROLE_LEADER,
} Role;

struct _GossipLeaderElection
{
  GObject parent_instance;

  GossipCluster *cluster;
  GossipClock *clock;
  guint type;
  gint64 heartbeat_us;
  gint64 timeout_us;
  gint64 check_us;
  guint quorum_percent;
  char *state_file;
  GRand *rand;

  gboolean running;
  gulong state_handler;
  guint check_timer;
  guint heartbeat_timer;
  GCancellable *cancellable; /* cancels every request of this start */

  Role role;
  guint64 term;
  char *voted_for; /* in term, or NULL */
  char *leader;    /* the leader this node follows (maybe itself), or NULL */
  guint64 leader_term;
  gint64 last_contact; /* last heartbeat accepted, vote granted or round started */
  gint64 abstain_until;
  gint64 stand_after;     /* a pre-vote was granted to another: let it stand first */
  GHashTable *electorate; /* set of node IDs, never shrinking but for left nodes */
  GHashTable *acks;       /* leader only: node ID -> gint64 * last heartbeat answer */

  guint64 round; /* advances whenever a round starts or ends */
  GHashTable *grants;
  guint pending;
  guint max_electorate;
};

G_DEFINE_FINAL_TYPE (GossipLeaderElection, gossip_leader_election, G_TYPE_OBJECT)

enum
{
  SIGNAL_ELECTED,
  SIGNAL_LOST,
  SIGNAL_BECAME_LEADER,
  SIGNAL_STEPPED_DOWN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void schedule_check (GossipLeaderElection *self, gint64 stand_at);
static gint64 stand_time (GossipLeaderElection *self);
static void send_heartbeats (gpointer data);

/**
 * gossip_leader_config_init:
 * @config: (out caller-allocates): the settings to fill
 *
 * Fills @config with the defaults: heartbeats every second, a leader timeout
 * of 5 s, checks at most every 500 ms, a quorum of 50 % of the live nodes
 * (and always a strict majority of the electorate), no state file.
 */
void
gossip_leader_config_init (GossipLeaderConfig *config)
{
  g_return_if_fail (config != NULL);
  memset (config, 0, sizeof *config);
  config->heartbeat_interval_ms = 1000;
  config->leader_timeout_ms = 5000;
  config->check_interval_ms = 500;
  config->quorum_percent = 50;
}

/* ------------------------------------------------------------------------ */
/* State */

static const char *
local_id (GossipLeaderElection *self)
{
  return gossip_node_get_id (gossip_cluster_get_local_node (self->cluster));
}

static gint64
now (GossipLeaderElection *self)
{
  return gossip_clock_now (self->clock);
}

static gboolean
save_state (GossipLeaderElection *self, GError **error)
{
  g_autoptr (GKeyFile) file = NULL;
  g_autofree const char **ids = NULL;
  guint n;

  if (self->state_file == NULL)
    return TRUE;
  file = g_key_file_new ();
  ids = (const char **) g_hash_table_get_keys_as_array (self->electorate, &n);
  g_key_file_set_uint64 (file, "leader", "term", self->term);
  g_key_file_set_string (file, "leader", "voted_for", self->voted_for ? self->voted_for : "");
  g_key_file_set_string_list (file, "leader", "electorate", ids, n);
  /* g_key_file_save_to_file() writes a temporary file and renames it. */
  return g_key_file_save_to_file (file, self->state_file, error);
}

static void
save_state_or_warn (GossipLeaderElection *self)
{
  g_autoptr (GError) error = NULL;

  if (!save_state (self, &error))
    g_warning ("leader election: cannot save %s: %s", self->state_file, error->message);
}

static gboolean
load_state (GossipLeaderElection *self, GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) ids = NULL;
  g_autofree char *voted_for = NULL;
  guint64 term;

  if (self->state_file == NULL)
    return TRUE;
  if (!g_key_file_load_from_file (file, self->state_file, G_KEY_FILE_NONE, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", self->state_file);
      return FALSE;
    }
  term = g_key_file_get_uint64 (file, "leader", "term", &local_error);
  if (local_error == NULL)
    voted_for = g_key_file_get_string (file, "leader", "voted_for", &local_error);
  if (local_error == NULL)
    ids = g_key_file_get_string_list (file, "leader", "electorate", NULL, &local_error);
  if (local_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", self->state_file);
      return FALSE;
    }
  self->term = term;
  g_free (self->voted_for);
  self->voted_for = voted_for[0] != '\0' ? g_steal_pointer (&voted_for) : NULL;
  for (guint i = 0; ids != NULL && ids[i] != NULL; i++)
    if (ids[i][0] != '\0' && strlen (ids[i]) <= MAX_ID_LEN)
      g_hash_table_add (self->electorate, g_strdup (ids[i]));
  return TRUE;
}

/* Changes the leader this node follows; signals the change. */
static void
set_leader (GossipLeaderElection *self, const char *id, guint64 term)
{
  g_autofree char *old = NULL;
  guint64 old_term = self->leader_term;

  if (g_strcmp0 (id, self->leader) == 0 && (id == NULL || term == self->leader_term))
    return;
  old = g_steal_pointer (&self->leader);
  self->leader = g_strdup (id);
  self->leader_term = term;
  if (old != NULL)
    g_signal_emit (self, signals[SIGNAL_LOST], 0, old, old_term);
  if (id != NULL)
    g_signal_emit (self, signals[SIGNAL_ELECTED], 0, id, term);
}

static void
end_round (GossipLeaderElection *self)
{
  self->round++;
  g_hash_table_remove_all (self->grants);
  self->pending = 0;
}

/* Leaves the leader, candidate or pre-candidate role. */
static void
become_follower (GossipLeaderElection *self)
{
  Role old = self->role;

  self->role = ROLE_FOLLOWER;
  end_round (self);
  if (old != ROLE_LEADER)
    return;
  gossip_clock_clear_timer (self->clock, &self->heartbeat_timer);
  g_hash_table_remove_all (self->acks);
  if (g_strcmp0 (self->leader, local_id (self)) == 0)
    set_leader (self, NULL, 0);
  g_signal_emit (self, signals[SIGNAL_STEPPED_DOWN], 0, self->term);
}

/* A higher term seen anywhere: adopt it and follow (nobody, for now). */
static void
adopt_term (GossipLeaderElection *self, guint64 term)
{
  if (term <= self->term)
    return;
  g_debug ("%s: term %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT, local_id (self), self->term,
           term);
  /* A leader steps down in the term it led, then moves on. */
  if (self->role != ROLE_FOLLOWER)
    become_follower (self);
  self->term = term;
  g_clear_pointer (&self->voted_for, g_free);
  save_state_or_warn (self);
  if (self->leader != NULL && self->leader_term < term)
    set_leader (self, NULL, 0);
}

static void
add_to_electorate (GossipLeaderElection *self, const char *id)
{
  if (g_hash_table_contains (self->electorate, id))
    return;
  g_hash_table_add (self->electorate, g_strdup (id));
  save_state_or_warn (self);
}

/* Live nodes other than this one: those a request can go to. */
static GPtrArray *
live_peers (GossipLeaderElection *self)
{
  g_autoptr (GPtrArray) all = gossip_cluster_list_nodes (self->cluster);
  GPtrArray *peers = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < all->len; i++)
    {
      GossipNode *node = g_ptr_array_index (all, i);
      GossipNodeState state = gossip_node_get_state (node);

      if (!gossip_node_is_local (node)
          && (state == GOSSIP_NODE_STATE_ALIVE || state == GOSSIP_NODE_STATE_SUSPECT))
        g_ptr_array_add (peers, g_object_ref (node));
    }
  return peers;
}

static guint
quorum_for (GossipLeaderElection *self, guint electorate)
{
  g_autoptr (GPtrArray) peers = live_peers (self);
  guint live = peers->len + 1;
  guint by_percent = (guint) ((live * (guint64) self->quorum_percent + 99) / 100);
  guint majority = MAX (electorate, g_hash_table_size (self->electorate)) / 2 + 1;

  return MAX (MAX (by_percent, majority), 1);
}

/* ------------------------------------------------------------------------ */
/* Requests out */

typedef struct
{
  GossipLeaderElection *self; /* owned */
  gboolean heartbeat;
  guint64 round; /* votes: the round it belongs to */
  guint64 term;  /* heartbeats: the term sent */
  char *peer;
  /* The reply, when ok */
  gboolean ok;
  guint64 reply_term;
  gboolean granted;
  guint32 electorate;
} Call;

static void
call_free (Call *call)
{
  g_object_unref (call->self);
  g_free (call->peer);
  g_free (call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

static void request_done (GObject *source, GAsyncResult *result, gpointer data);

/* Sends one request of @kind for @term to @peer; request_done() gets the answer. */
static void
send_request (GossipLeaderElection *self, GossipNode *peer, const char *kind, guint64 term,
              gint64 timeout_us)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->heartbeat = strcmp (kind, "hb") == 0;
  call->round = self->round;
  call->term = term;
  call->peer = g_strdup (gossip_node_get_id (peer));
  gossip_cluster_request_async (
      self->cluster, peer, self->type,
      g_variant_new ("(stsu)", kind, term, local_id (self), g_hash_table_size (self->electorate)),
      (guint) (timeout_us / 1000), self->cancellable, request_done, call);
}

/* Reads the reply (term, granted, electorate) into @call; FALSE if it failed. */
static gboolean
parse_reply (Call *call, GAsyncResult *result)
{
  GossipLeaderElection *self = call->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = gossip_cluster_request_finish (self->cluster, result, &error);
  g_autoptr (GVariant) tuple = NULL;

  if (reply != NULL)
    tuple = gossip_variant_coerce (reply, G_VARIANT_TYPE (REPLY_TYPE), &error);
  if (tuple == NULL)
    {
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("%s: leader request failed: %s", local_id (self), error->message);
      return FALSE;
    }
  g_variant_get (tuple, "(tbu)", &call->reply_term, &call->granted, &call->electorate);
  return TRUE;
}

static void
become_leader (GossipLeaderElection *self)
{
  GHashTableIter iter;
  gpointer id;
  gint64 t = now (self);

  g_debug ("%s: leader of term %" G_GUINT64_FORMAT, local_id (self), self->term);
  self->role = ROLE_LEADER;
  g_hash_table_remove_all (self->acks);
  g_hash_table_iter_init (&iter, self->grants);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    g_hash_table_insert (self->acks, g_strdup (id), g_memdup2 (&t, sizeof t));
  end_round (self);
  set_leader (self, local_id (self), self->term);
  g_signal_emit (self, signals[SIGNAL_BECAME_LEADER], 0, self->term);
  if (self->role == ROLE_LEADER && self->running)
    send_heartbeats (self);
}

static void start_round (GossipLeaderElection *self, Role role);

/* Counts the grants; moves on when they reach a quorum. */
static void
evaluate_round (GossipLeaderElection *self)
{
  guint need = quorum_for (self, self->max_electorate);

  if (g_hash_table_size (self->grants) >= need)
    {
      if (self->role == ROLE_PRE_CANDIDATE)
        start_round (self, ROLE_CANDIDATE);
      else
        become_leader (self);
    }
  else if (self->pending == 0)
    {
      g_debug ("%s: %s round for term %" G_GUINT64_FORMAT " failed: %u of %u", local_id (self),
               self->role == ROLE_PRE_CANDIDATE ? "pre-vote" : "vote",
               self->role == ROLE_PRE_CANDIDATE ? self->term + 1 : self->term,
               g_hash_table_size (self->grants), need);
      become_follower (self);
    }
}

static void
vote_reply (GossipLeaderElection *self, Call *call)
{
  if (call->round != self->round
      || (self->role != ROLE_PRE_CANDIDATE && self->role != ROLE_CANDIDATE))
    return;
  self->pending--;
  if (call->ok)
    {
      if (call->reply_term > self->term)
        {
          adopt_term (self, call->reply_term);
          return;
        }
      self->max_electorate = MAX (self->max_electorate, call->electorate);
      if (call->granted)
        g_hash_table_add (self->grants, g_strdup (call->peer));
    }
  evaluate_round (self);
}

static void
start_round (GossipLeaderElection *self, Role role)
{
  g_autoptr (GPtrArray) peers = NULL;
  guint64 term;
  guint64 round;

  end_round (self);
  if (role == ROLE_CANDIDATE)
    {
      g_autoptr (GError) error = NULL;

      self->term++;
      g_free (self->voted_for);
      self->voted_for = g_strdup (local_id (self));
      if (!save_state (self, &error))
        {
          /* The term is spent; this node keeps its vote for itself in
           * memory, so it grants no other in this term, but does not stand. */
          g_warning ("leader election: cannot save %s: %s", self->state_file, error->message);
          self->role = ROLE_FOLLOWER;
          return;
        }
      if (self->leader != NULL)
        set_leader (self, NULL, 0);
    }
  self->role = role;
  self->last_contact = now (self);
  term = role == ROLE_CANDIDATE ? self->term : self->term + 1;
  round = self->round;
  self->max_electorate = g_hash_table_size (self->electorate);
  g_hash_table_add (self->grants, g_strdup (local_id (self)));
  peers = live_peers (self);
  self->pending = peers->len;
  g_debug ("%s: %s for term %" G_GUINT64_FORMAT " to %u peers", local_id (self),
           role == ROLE_CANDIDATE ? "vote" : "pre-vote", term, peers->len);
  for (guint i = 0; i < peers->len; i++)
    send_request (self, g_ptr_array_index (peers, i), role == ROLE_CANDIDATE ? "vote" : "pre", term,
                  self->check_us);
  /* Alone, or a quorum of one: decide now. */
  if (self->round == round && self->role == role)
    evaluate_round (self);
}

static void
heartbeat_reply (GossipLeaderElection *self, Call *call)
{
  if (!call->ok)
    return;
  if (call->reply_term > self->term)
    adopt_term (self, call->reply_term);
  else if (self->role == ROLE_LEADER && call->term == self->term && call->granted)
    {
      gint64 t = now (self);
      g_hash_table_insert (self->acks, g_strdup (call->peer), g_memdup2 (&t, sizeof t));
    }
}

static void
request_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Call) call = data;

  (void) source;
  call->ok = parse_reply (call, result);
  if (!call->self->running)
    return;
  if (call->heartbeat)
    heartbeat_reply (call->self, call);
  else
    vote_reply (call->self, call);
}

static void
send_heartbeats (gpointer data)
{
  GossipLeaderElection *self = data;
  g_autoptr (GPtrArray) peers = live_peers (self);

  self->heartbeat_timer = 0;
  if (!self->running || self->role != ROLE_LEADER)
    return;
  for (guint i = 0; i < peers->len; i++)
    send_request (self, g_ptr_array_index (peers, i), "hb", self->term, self->heartbeat_us);
  self->heartbeat_timer
      = gossip_clock_add_timer (self->clock, self->heartbeat_us, send_heartbeats, self, NULL);
}

/* How many nodes, this one included, answered a heartbeat within the timeout. */
static guint
count_recent_acks (GossipLeaderElection *self)
{
  GHashTableIter iter;
  gpointer id, value;
  gint64 since = now (self) - self->timeout_us;
  guint count = 1;

  g_hash_table_iter_init (&iter, self->acks);
  while (g_hash_table_iter_next (&iter, &id, &value))
    if (*(gint64 *) value > since && g_strcmp0 (id, local_id (self)) != 0)
      count++;
  return count;
}

/* Places before this node's among the live nodes sorted by ID, at most
 * MAX_STAGGER_RANK. */
static guint
rank_among_live (GossipLeaderElection *self)
{
  g_autoptr (GPtrArray) peers = live_peers (self);
  guint rank = 0;

  for (guint i = 0; i < peers->len; i++)
    if (strcmp (gossip_node_get_id (g_ptr_array_index (peers, i)), local_id (self)) < 0)
      rank++;
  return MIN (rank, MAX_STAGGER_RANK);
}

/* When a follower may stand: leader_timeout after it last heard a leader
 * (or voted, or stood), later by a quarter check interval per live node
 * whose ID sorts before its own, and not before a rival it granted a
 * pre-vote has had its chance.  Followers that lost the leader at the same
 * moment therefore stand one after the other, the first one at once: its
 * pre-vote reaches the others before their turn, they grant it and wait, and
 * the vote does not split. */
static gint64
stand_time (GossipLeaderElection *self)
{
  gint64 stagger = (gint64) rank_among_live (self) * (self->check_us / 4);

  return MAX (self->last_contact + self->timeout_us + stagger, self->stand_after);
}

static void
check (gpointer data)
{
  GossipLeaderElection *self = data;
  gint64 stand_at = 0;

  self->check_timer = 0;
  if (!self->running)
    return;
  g_object_ref (self);
  switch (self->role)
    {
    case ROLE_LEADER:
      {
        guint acks = count_recent_acks (self);
        guint need = quorum_for (self, 0);

        if (acks < need)
          {
            g_debug ("%s: %u of %u nodes answered in time: stepping down", local_id (self), acks,
                     need);
            become_follower (self);
          }
      }
      break;
    case ROLE_FOLLOWER:
      stand_at = stand_time (self);
      if (now (self) >= stand_at)
        {
          if (self->leader != NULL)
            set_leader (self, NULL, 0);
          if (self->running && self->role == ROLE_FOLLOWER)
            start_round (self, ROLE_PRE_CANDIDATE);
        }
      break;
    case ROLE_PRE_CANDIDATE:
    case ROLE_CANDIDATE:
      /* The round ends by itself: every request has a timeout. */
      break;
    }
  if (self->running && self->check_timer == 0)
    schedule_check (self, stand_at);
  g_object_unref (self);
}

/* Next check in [check_interval / 2, check_interval): never more than one
 * interval apart, at a phase that differs between nodes and rounds; and a
 * follower's check falls exactly at @stand_at (its stand_time(), as the
 * caller just computed it; 0 for none) when that is still ahead and comes
 * first.  A time already past (a round that could not start) waits for the
 * random delay, never less. */
static void
schedule_check (GossipLeaderElection *self, gint64 stand_at)
{
  gint64 half = MAX (self->check_us / 2, 1);
  gint64 delay = half + (gint64) (g_rand_double (self->rand) * (double) (self->check_us - half));
  gint64 t = now (self);

  if (self->role == ROLE_FOLLOWER && stand_at > t)
    delay = MIN (delay, stand_at - t);

  self->check_timer = gossip_clock_add_timer (self->clock, delay, check, self, NULL);
}

/* ------------------------------------------------------------------------ */
/* Requests in */

static gboolean
leader_heard_recently (GossipLeaderElection *self)
{
  if (self->role == ROLE_LEADER)
    return TRUE;
  return self->leader != NULL
         && now (self) - self->last_contact < self->timeout_us - self->heartbeat_us;
}

static GVariant *
on_request (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
            gpointer user_data, GError **error)
{
  GossipLeaderElection *self = user_data;
  g_autoptr (GVariant) tuple = NULL;
  g_autoptr (GossipLeaderElection) hold = NULL;
  const char *kind, *id;
  guint64 term;
  guint32 electorate;
  gboolean granted = FALSE;

  (void) cluster;
  (void) type;
  if (payload == NULL)
    {
      g_set_error_literal (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID,
                           "leader election: empty request");
      return NULL;
    }
  tuple = gossip_variant_coerce (payload, G_VARIANT_TYPE (REQUEST_TYPE), error);
  if (tuple == NULL)
    return NULL;
  g_variant_get (tuple, "(&st&su)", &kind, &term, &id, &electorate);
  if (g_strcmp0 (id, gossip_node_get_id (sender)) != 0 || strlen (id) > MAX_ID_LEN)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID,
                   "leader election: request names another node than its sender");
      return NULL;
    }
  if (!self->running)
    {
      g_set_error_literal (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                           "leader election: not started");
      return NULL;
    }
  hold = g_object_ref (self);

  if (strcmp (kind, "hb") == 0)
    {
      if (term > self->term)
        adopt_term (self, term);
      if (term == self->term && self->role == ROLE_LEADER)
        {
          /* Cannot happen while the invariant holds. */
          g_critical ("leader election: %s and %s both lead term %" G_GUINT64_FORMAT,
                      local_id (self), id, term);
        }
      else if (term == self->term)
        {
          if (self->role != ROLE_FOLLOWER)
            become_follower (self);
          self->last_contact = now (self);
          set_leader (self, id, term);
          granted = TRUE;
        }
    }
  else if (strcmp (kind, "pre") == 0)
    {
      /* Says whether a vote would be likely; changes no term or vote.
       * Two nodes that lost the leader at the same moment would both pass
       * their pre-votes and split the real vote, which costs a whole
       * leader_timeout when the quorum needs every reachable node.  So a
       * pre-candidate grants a rival's pre-vote only if the rival's ID sorts
       * first, and a node that granted one lets that candidate stand before
       * trying itself (one check interval). */
      granted = term > self->term && !leader_heard_recently (self)
                && !(self->role == ROLE_PRE_CANDIDATE && strcmp (id, local_id (self)) > 0);
      if (granted)
        self->stand_after = now (self) + self->check_us;
    }
  else if (strcmp (kind, "vote") == 0)
    {
      if (term > self->term)
        adopt_term (self, term);
      if (term == self->term && now (self) >= self->abstain_until
          && (self->voted_for == NULL || strcmp (self->voted_for, id) == 0))
        {
          g_autofree char *old_vote = g_steal_pointer (&self->voted_for);

          self->voted_for = g_strdup (id);
          if (!save_state (self, error))
            {
              g_free (self->voted_for);
              self->voted_for = g_steal_pointer (&old_vote);
              return NULL;
            }
          self->last_contact = now (self);
          granted = TRUE;
        }
    }
  else
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID,
                   "leader election: unknown request kind");
      return NULL;
    }
  return g_variant_new ("(tbu)", self->term, granted, g_hash_table_size (self->electorate));
}

static void
on_node_state_changed (GossipCluster *cluster, GossipNode *node, GossipNodeState old_state,
                       gpointer user_data)
{
  GossipLeaderElection *self = user_data;
  GossipNodeState state = gossip_node_get_state (node);
  const char *id = gossip_node_get_id (node);

  (void) cluster;
  (void) old_state;
  if (gossip_node_is_local (node))
    return;
  if (state == GOSSIP_NODE_STATE_LEAVING)
    {
      /* Left on purpose: no longer part of the electorate. */
      if (g_hash_table_remove (self->electorate, id))
        save_state_or_warn (self);
    }
  else if (state == GOSSIP_NODE_STATE_ALIVE || state == GOSSIP_NODE_STATE_SUSPECT)
    add_to_electorate (self, id);
  if ((state == GOSSIP_NODE_STATE_DEAD || state == GOSSIP_NODE_STATE_LEAVING)
      && g_strcmp0 (self->leader, id) == 0 && self->role != ROLE_LEADER)
    set_leader (self, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* Public API */

/**
 * gossip_leader_election_new:
 * @cluster: the cluster whose members elect a leader
 * @message_type: the user message type of the election's requests, or 0 for
 *   %GOSSIP_LEADER_MESSAGE_TYPE_DEFAULT
 * @config: (nullable): settings, or %NULL for the defaults
 *   (gossip_leader_config_init())
 * @error: return location for a #GError, or %NULL
 *
 * Creates an election for @cluster.  Nothing happens until
 * gossip_leader_election_start().
 *
 * Returns: (transfer full) (nullable): the election, or %NULL with @error set
 *   (%GOSSIP_CLUSTER_ERROR_RESERVED_TYPE, %GOSSIP_CLUSTER_ERROR_INVALID)
 */
GossipLeaderElection *
gossip_leader_election_new (GossipCluster *cluster, guint message_type,
                            const GossipLeaderConfig *config, GError **error)
{
  GossipLeaderConfig defaults;
  GossipLeaderElection *self;

  g_return_val_if_fail (GOSSIP_IS_CLUSTER (cluster), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (config == NULL)
    {
      gossip_leader_config_init (&defaults);
      config = &defaults;
    }
  if (message_type == 0)
    message_type = GOSSIP_LEADER_MESSAGE_TYPE_DEFAULT;
  if (message_type < GOSSIP_MESSAGE_TYPE_USER || message_type > G_MAXUINT16)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_RESERVED_TYPE,
                   "message type %u is not a user type (%u to 65535)", message_type,
                   GOSSIP_MESSAGE_TYPE_USER);
      return NULL;
    }
  if (config->heartbeat_interval_ms == 0 || config->check_interval_ms == 0
      || config->leader_timeout_ms / 2 < config->heartbeat_interval_ms
      || config->leader_timeout_ms / 2 < config->check_interval_ms)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID,
                   "leader_timeout (%u ms) must be at least twice heartbeat_interval (%u ms) and "
                   "twice check_interval (%u ms), both above 0",
                   config->leader_timeout_ms, config->heartbeat_interval_ms,
                   config->check_interval_ms);
      return NULL;
    }
  if (config->quorum_percent < 1 || config->quorum_percent > 100)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID,
                   "quorum_percent %u is not within 1 to 100", config->quorum_percent);
      return NULL;
    }

  self = g_object_new (GOSSIP_TYPE_LEADER_ELECTION, NULL);
  self->cluster = g_object_ref (cluster);
  self->clock = g_object_ref (gossip_cluster_get_clock (cluster));
  self->type = message_type;
  self->heartbeat_us = config->heartbeat_interval_ms * (gint64) 1000;
  self->timeout_us = config->leader_timeout_ms * (gint64) 1000;
  self->check_us = config->check_interval_ms * (gint64) 1000;
  self->quorum_percent = config->quorum_percent;
  self->state_file = g_strdup (config->state_file);
  self->rand
      = config->random_seed != 0 ? g_rand_new_with_seed (config->random_seed) : g_rand_new ();
  return self;
}

/**
 * gossip_leader_election_start:
 * @election: an election
 * @error: return location for a #GError, or %NULL
 *
 * Starts taking part: handles the election's message type on the cluster,
 * loads the state file if there is one, and stands for election when no
 * leader is heard for leader_timeout.  Start it once the node has joined,
 * so that its electorate is the cluster's.
 *
 * Returns: %TRUE on success; %FALSE with @error set if the cluster is not
 *   running, the type is handled already or the state file cannot be read
 */
gboolean
gossip_leader_election_start (GossipLeaderElection *self, GError **error)
{
  g_autoptr (GPtrArray) nodes = NULL;

  g_return_val_if_fail (GOSSIP_IS_LEADER_ELECTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->running)
    return TRUE;
  if (!gossip_cluster_is_running (self->cluster))
    {
      g_set_error_literal (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                           "the cluster is not running");
      return FALSE;
    }
  if (!load_state (self, error))
    return FALSE;
  if (!gossip_cluster_handle_with_reply (self->cluster, self->type, on_request, self, NULL, error))
    return FALSE;
  g_hash_table_add (self->electorate, g_strdup (local_id (self)));
  nodes = gossip_cluster_list_nodes (self->cluster);
  for (guint i = 0; i < nodes->len; i++)
    {
      GossipNode *node = g_ptr_array_index (nodes, i);
      if (gossip_node_get_state (node) != GOSSIP_NODE_STATE_LEAVING)
        g_hash_table_add (self->electorate, g_strdup (gossip_node_get_id (node)));
    }
  self->state_handler = g_signal_connect (self->cluster, "node-state-changed",
                                          G_CALLBACK (on_node_state_changed), self);
  self->cancellable = g_cancellable_new ();
  self->running = TRUE;
  self->role = ROLE_FOLLOWER;
  self->last_contact = now (self);
  self->abstain_until
      = self->state_file != NULL ? G_MININT64 : now (self) + self->timeout_us - self->heartbeat_us;
  save_state_or_warn (self);
  schedule_check (self, stand_time (self));
  return TRUE;
}

/**
 * gossip_leader_election_stop:
 * @election: an election
 *
 * Stops taking part: a leader steps down (#GossipLeaderElection::stepped-down),
 * requests in flight are cancelled and the message type is released.  The
 * term and vote are kept, so the election can be started again.
 */
void
gossip_leader_election_stop (GossipLeaderElection *self)
{
  g_return_if_fail (GOSSIP_IS_LEADER_ELECTION (self));

  if (!self->running)
    return;
  g_object_ref (self);
  become_follower (self);
  self->running = FALSE;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gossip_clock_clear_timer (self->clock, &self->check_timer);
  gossip_clock_clear_timer (self->clock, &self->heartbeat_timer);
  g_clear_signal_handler (&self->state_handler, self->cluster);
  gossip_cluster_unhandle (self->cluster, self->type);
  g_clear_pointer (&self->leader, g_free);
  self->leader_term = 0;
  g_object_unref (self);
}

/**
 * gossip_leader_election_get_cluster:
 * @election: an election
 *
 * Returns: (transfer none): the cluster
 */
GossipCluster *
gossip_leader_election_get_cluster (GossipLeaderElection *self)
{
  g_return_val_if_fail (GOSSIP_IS_LEADER_ELECTION (self), NULL);
  return self->cluster;
}

/**
 * gossip_leader_election_get_leader:
 * @election: an election
 *
 * Returns: (nullable): the ID of the leader this node follows (its own ID
 *   if it leads), or %NULL when it knows none
 */
const char *
gossip_leader_election_get_leader (GossipLeaderElection *self)
{
  g_return_val_if_fail (GOSSIP_IS_LEADER_ELECTION (self), NULL);
  return self->leader;
}

/**
 * gossip_leader_election_get_term:
 * @election: an election
 *
 * Returns: the highest term this node has seen (0 before any election)
 */
guint64
gossip_leader_election_get_term (GossipLeaderElection *self)
{
  g_return_val_if_fail (GOSSIP_IS_LEADER_ELECTION (self), 0);
  return self->term;
}

/**
 * gossip_leader_election_is_leader:
 * @election: an election
 *
 * Whether this node leads its term.  It is not a lease: during a partition
 * an old leader may still believe it leads (an older term) for up to
 * leader_timeout + check_interval after it last reached a quorum.
 *
 * Returns: %TRUE if this node is the leader
 */
gboolean
gossip_leader_election_is_leader (GossipLeaderElection *self)
{
  g_return_val_if_fail (GOSSIP_IS_LEADER_ELECTION (self), FALSE);
  return self->role == ROLE_LEADER;
}

/**
 * gossip_leader_election_get_quorum:
 * @election: an election
 *
 * Returns: the votes a candidate here would need now: max (ceil
 *   (quorum_percent / 100 * live nodes), electorate / 2 + 1)
 */
guint
gossip_leader_election_get_quorum (GossipLeaderElection *self)
{
  g_return_val_if_fail (GOSSIP_IS_LEADER_ELECTION (self), 0);
  return quorum_for (self, 0);
}

/**
 * gossip_leader_election_get_electorate_size:
 * @election: an election
 *
 * Returns: how many nodes this node counts in the electorate: every node it
 *   has seen in the membership (itself included) but those that left
 */
guint
gossip_leader_election_get_electorate_size (GossipLeaderElection *self)
{
  g_return_val_if_fail (GOSSIP_IS_LEADER_ELECTION (self), 0);
  return g_hash_table_size (self->electorate);
}

static void
gossip_leader_election_dispose (GObject *object)
{
  GossipLeaderElection *self = GOSSIP_LEADER_ELECTION (object);

  if (self->cluster != NULL)
    gossip_leader_election_stop (self);
  g_clear_object (&self->cluster);
  g_clear_object (&self->clock);
  G_OBJECT_CLASS (gossip_leader_election_parent_class)->dispose (object);
}

static void
gossip_leader_election_finalize (GObject *object)
{
  GossipLeaderElection *self = GOSSIP_LEADER_ELECTION (object);

  g_free (self->state_file);
  g_free (self->voted_for);
  g_free (self->leader);
  g_clear_pointer (&self->rand, g_rand_free);
  g_hash_table_unref (self->electorate);
  g_hash_table_unref (self->acks);
  g_hash_table_unref (self->grants);
  G_OBJECT_CLASS (gossip_leader_election_parent_class)->finalize (object);
}

static void
gossip_leader_election_class_init (GossipLeaderElectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gossip_leader_election_dispose;
  object_class->finalize = gossip_leader_election_finalize;

  /**
   * GossipLeaderElection::elected:
   * @election: the election
   * @leader_id: the leader this node now follows (maybe itself)
   * @term: its term
   *
   * Emitted on every node when it learns of a new leader or term.
   */
  signals[SIGNAL_ELECTED]
      = g_signal_new ("elected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_UINT64);

  /**
   * GossipLeaderElection::lost:
   * @election: the election
   * @old_leader_id: the leader this node followed
   * @term: that leader's term
   *
   * Emitted when this node stops following a leader: it was not heard for
   * leader_timeout, it died or left, a higher term began, or it stepped down
   * (then @old_leader_id is this node's).  #GossipLeaderElection::elected
   * follows if a new leader is already known.
   */
  signals[SIGNAL_LOST]
      = g_signal_new ("lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_UINT64);

  /**
   * GossipLeaderElection::became-leader:
   * @election: the election
   * @term: the term this node leads
   *
   * Emitted when this node won the election for @term.
   */
  signals[SIGNAL_BECAME_LEADER]
      = g_signal_new ("became-leader", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);

  /**
   * GossipLeaderElection::stepped-down:
   * @election: the election
   * @term: the term this node led
   *
   * Emitted when this node stops leading: it lost its quorum for
   * leader_timeout, heard a higher term, or the election stopped.
   */
  signals[SIGNAL_STEPPED_DOWN]
      = g_signal_new ("stepped-down", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
}

static void
gossip_leader_election_init (GossipLeaderElection *self)
{
  self->electorate = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->acks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->grants = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}
