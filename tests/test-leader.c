/* test-leader.c: GossipLeaderElection on whole clusters, on the memory
 * transport in virtual time (reproducible from --seed): election, re-election
 * within the promised bound, minority partitions, and random crashes,
 * restarts and partitions with "never two leaders in one term" checked
 * throughout. */
#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-harness.h"
#include "gossip/gossip-leader.h"

#define SEC G_USEC_PER_SEC
#define MS  1000

/* Timings of every election here: the defaults. */
#define HEARTBEAT_MS 1000
#define TIMEOUT_MS   5000
#define CHECK_MS     500
/* Two request round trips on the harness's links (200 us +- 100 us each way)
 * and the harness's 5 ms steps, generously. */
#define SLACK_US (50 * MS)

static const char *const lan[] = { "health", "profile", "lan", NULL };

typedef struct _World World;

typedef struct
{
  World *w;
  guint index;
} Slot;

struct _World
{
  Harness *h;
  GPtrArray *elections; /* GossipLeaderElection or NULL, per node */
  Slot *slots;
  char *state_dir;
  GHashTable *term_leaders; /* guint64 term -> node index + 1 */
  guint violations;
  guint became_leader;           /* became-leader events in all */
  gint64 last_became_leader_at;  /* virtual time of the last one */
  guint last_became_leader_node; /* and its node */
  GHashTable *forbidden;         /* node indices that must not become leader */
  guint forbidden_elected;
};

static void
on_became_leader (GossipLeaderElection *election, guint64 term, gpointer data)
{
  Slot *slot = data;
  World *w = slot->w;
  gpointer previous = NULL;

  (void) election;
  w->became_leader++;
  w->last_became_leader_at = harness_now (w->h);
  w->last_became_leader_node = slot->index;
  if (g_hash_table_lookup_extended (w->term_leaders, &term, NULL, &previous)
      && GPOINTER_TO_UINT (previous) != slot->index + 1)
    {
      g_test_message ("two leaders in term %" G_GUINT64_FORMAT ": node %u and node %u", term,
                      GPOINTER_TO_UINT (previous) - 1, slot->index);
      w->violations++;
    }
  else if (previous != NULL)
    {
      g_test_message ("node %u became leader of term %" G_GUINT64_FORMAT " twice", slot->index,
                      term);
      w->violations++;
    }
  g_hash_table_insert (w->term_leaders, g_memdup2 (&term, sizeof term),
                       GUINT_TO_POINTER (slot->index + 1));
  if (g_hash_table_contains (w->forbidden, GUINT_TO_POINTER (slot->index)))
    w->forbidden_elected++;
}

static GossipLeaderElection *
election (World *w, guint i)
{
  return g_ptr_array_index (w->elections, i);
}

static void
start_election (World *w, guint i)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = harness_node_name (i);
  g_autofree char *file_name = g_strconcat (name, ".state", NULL);
  g_autofree char *path = g_build_filename (w->state_dir, file_name, NULL);
  GossipLeaderConfig config;
  GossipLeaderElection *e;

  gossip_leader_config_init (&config);
  config.state_file = path;
  config.random_seed = (guint32) g_test_rand_int_range (1, G_MAXINT32);
  e = gossip_leader_election_new (harness_node (w->h, i), 0, &config, &error);
  g_assert_no_error (error);
  g_signal_connect (e, "became-leader", G_CALLBACK (on_became_leader), &w->slots[i]);
  g_assert_true (gossip_leader_election_start (e, &error));
  g_assert_no_error (error);
  g_assert_null (w->elections->pdata[i]);
  w->elections->pdata[i] = e;
}

static World *
world_new (guint n)
{
  World *w = g_new0 (World, 1);
  g_autoptr (GError) error = NULL;

  w->h = harness_new (n, TRUE, lan);
  w->elections = g_ptr_array_new ();
  g_ptr_array_set_size (w->elections, (gint) n);
  w->slots = g_new0 (Slot, n);
  w->state_dir = g_dir_make_tmp ("test-leader-XXXXXX", &error);
  g_assert_no_error (error);
  w->term_leaders = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  w->forbidden = g_hash_table_new (NULL, NULL);
  harness_join_all_to (w->h, 0);
  if (!harness_run_until (w->h, harness_converged, GUINT_TO_POINTER (n), 60 * SEC))
    {
      harness_dump (w->h);
      g_error ("%u nodes did not converge", n);
    }
  for (guint i = 0; i < n; i++)
    {
      w->slots[i].w = w;
      w->slots[i].index = i;
      start_election (w, i);
    }
  return w;
}

static void
stop_election (World *w, guint i)
{
  GossipLeaderElection *e = election (w, i);

  if (e == NULL)
    return;
  gossip_leader_election_stop (e);
  g_object_unref (e);
  w->elections->pdata[i] = NULL;
}

static void
world_free (World *w)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  for (guint i = 0; i < w->elections->len; i++)
    stop_election (w, i);
  harness_free (w->h);
  g_ptr_array_unref (w->elections);
  g_free (w->slots);
  g_hash_table_unref (w->term_leaders);
  g_hash_table_unref (w->forbidden);
  dir = g_dir_open (w->state_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (w->state_dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (w->state_dir);
  g_free (w->state_dir);
  g_free (w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (World, world_free)

static void
crash (World *w, guint i)
{
  stop_election (w, i);
  harness_crash (w->h, i);
}

static char *
node_address (World *w, guint i)
{
  g_autofree char *name = harness_node_name (i);
  return g_strdup_printf ("mem://%s/%s", w->h->network_name, name);
}

static void
join_ignored (GObject *source, GAsyncResult *result, gpointer data)
{
  (void) data;
  gossip_cluster_join_finish (GOSSIP_CLUSTER (source), result, NULL);
}

/* Joins node i to every other node, without waiting. */
static void
rejoin (World *w, guint i)
{
  g_autoptr (GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);

  for (guint j = 0; j < w->elections->len; j++)
    if (j != i)
      g_ptr_array_add (addresses, node_address (w, j));
  g_ptr_array_add (addresses, NULL);
  gossip_cluster_join_async (harness_node (w->h, i), (const char *const *) addresses->pdata, NULL,
                             join_ignored, NULL);
}

static void
restart (World *w, guint i)
{
  harness_start_node (w->h, i, NULL);
  rejoin (w, i);
  start_election (w, i);
}

/* The running nodes that believe they lead. */
static guint
count_leaders (World *w, guint *which)
{
  guint n = 0;

  for (guint i = 0; i < w->elections->len; i++)
    if (election (w, i) != NULL && gossip_leader_election_is_leader (election (w, i)))
      {
        n++;
        if (which != NULL)
          *which = i;
      }
  return n;
}

/* Exactly one leader among @members (a bit set; 0 = every running node),
 * and every one of them follows it in its term. */
static gboolean
one_agreed_leader_among (World *w, guint members, guint *which)
{
  guint leader = G_MAXUINT;
  const char *id;
  guint64 term;

  for (guint i = 0; i < w->elections->len; i++)
    if (election (w, i) != NULL && (members == 0 || (members & (1u << i)))
        && gossip_leader_election_is_leader (election (w, i)))
      {
        if (leader != G_MAXUINT)
          return FALSE;
        leader = i;
      }
  if (leader == G_MAXUINT)
    return FALSE;
  id = gossip_leader_election_get_leader (election (w, leader));
  term = gossip_leader_election_get_term (election (w, leader));
  for (guint i = 0; i < w->elections->len; i++)
    if (election (w, i) != NULL && (members == 0 || (members & (1u << i)))
        && (g_strcmp0 (gossip_leader_election_get_leader (election (w, i)), id) != 0
            || gossip_leader_election_get_term (election (w, i)) != term))
      return FALSE;
  if (which != NULL)
    *which = leader;
  return TRUE;
}

typedef struct
{
  World *w;
  guint members;
} Among;

static gboolean
agreed (Harness *h, gpointer data)
{
  Among *a = data;

  (void) h;
  return one_agreed_leader_among (a->w, a->members, NULL);
}

static guint
wait_for_leader (World *w, guint members, gint64 max_us)
{
  Among a = { w, members };
  guint leader = G_MAXUINT;

  if (!harness_run_until (w->h, agreed, &a, max_us))
    {
      harness_dump (w->h);
      for (guint i = 0; i < w->elections->len; i++)
        if (election (w, i) != NULL)
          g_test_message ("node %u: term %" G_GUINT64_FORMAT " leader %s%s", i,
                          gossip_leader_election_get_term (election (w, i)),
                          gossip_leader_election_get_leader (election (w, i)),
                          gossip_leader_election_is_leader (election (w, i)) ? " (me)" : "");
      g_error ("no agreed leader within %" G_GINT64_FORMAT " ms", max_us / MS);
    }
  g_assert_true (one_agreed_leader_among (w, members, &leader));
  return leader;
}

/* ------------------------------------------------------------------------ */

static void
test_config_errors (void)
{
  g_autoptr (Harness) h = harness_new (1, TRUE, lan);
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipLeaderElection) e = NULL;
  g_autoptr (GossipLeaderElection) other = NULL;
  GossipLeaderConfig config;

  gossip_leader_config_init (&config);
  g_assert_cmpuint (config.heartbeat_interval_ms, ==, HEARTBEAT_MS);
  g_assert_cmpuint (config.leader_timeout_ms, ==, TIMEOUT_MS);
  g_assert_cmpuint (config.check_interval_ms, ==, CHECK_MS);

  g_assert_null (gossip_leader_election_new (harness_node (h, 0), 5, NULL, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_RESERVED_TYPE);
  g_clear_error (&error);
  config.leader_timeout_ms = config.heartbeat_interval_ms;
  g_assert_null (gossip_leader_election_new (harness_node (h, 0), 0, &config, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID);
  g_clear_error (&error);
  gossip_leader_config_init (&config);
  config.check_interval_ms = 0;
  g_assert_null (gossip_leader_election_new (harness_node (h, 0), 0, &config, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID);
  g_clear_error (&error);
  gossip_leader_config_init (&config);
  config.quorum_percent = 101;
  g_assert_null (gossip_leader_election_new (harness_node (h, 0), 0, &config, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID);
  g_clear_error (&error);

  /* One election per type and cluster; a stopped one releases it. */
  e = gossip_leader_election_new (harness_node (h, 0), 0, NULL, &error);
  g_assert_no_error (error);
  other = gossip_leader_election_new (harness_node (h, 0), 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (gossip_leader_election_start (e, &error));
  g_assert_false (gossip_leader_election_start (other, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_ALREADY_HANDLED);
  g_clear_error (&error);
  gossip_leader_election_stop (e);
  g_assert_true (gossip_leader_election_start (other, &error));
  g_assert_no_error (error);

  /* A single node is its own majority. */
  g_assert_cmpuint (gossip_leader_election_get_quorum (other), ==, 1);
  harness_run (h, (TIMEOUT_MS + CHECK_MS) * MS + SLACK_US);
  g_assert_true (gossip_leader_election_is_leader (other));
  g_assert_cmpuint (gossip_leader_election_get_term (other), ==, 1);
  g_assert_cmpstr (gossip_leader_election_get_leader (other), ==, "node-000");
  gossip_leader_election_stop (other);
  g_assert_false (gossip_leader_election_is_leader (other));
  g_assert_null (gossip_leader_election_get_leader (other));
}

typedef struct
{
  guint elected, lost, became, stepped;
  char *last_leader;
  guint64 last_term;
} Events;

static void
on_elected (GossipLeaderElection *e, const char *id, guint64 term, Events *ev)
{
  (void) e;
  ev->elected++;
  g_free (ev->last_leader);
  ev->last_leader = g_strdup (id);
  ev->last_term = term;
}

static void
on_lost (GossipLeaderElection *e, const char *id, guint64 term, Events *ev)
{
  (void) e;
  (void) id;
  (void) term;
  ev->lost++;
}

static void
on_became (GossipLeaderElection *e, guint64 term, Events *ev)
{
  (void) e;
  (void) term;
  ev->became++;
}

static void
on_stepped (GossipLeaderElection *e, guint64 term, Events *ev)
{
  (void) e;
  (void) term;
  ev->stepped++;
}

static void
test_basic_election (void)
{
  g_autoptr (World) w = world_new (5);
  Events ev[5] = { 0 };
  guint leader;
  g_autofree char *leader_name = NULL;
  guint64 term;

  for (guint i = 0; i < 5; i++)
    {
      g_signal_connect (election (w, i), "elected", G_CALLBACK (on_elected), &ev[i]);
      g_signal_connect (election (w, i), "lost", G_CALLBACK (on_lost), &ev[i]);
      g_signal_connect (election (w, i), "became-leader", G_CALLBACK (on_became), &ev[i]);
      g_signal_connect (election (w, i), "stepped-down", G_CALLBACK (on_stepped), &ev[i]);
      g_assert_cmpuint (gossip_leader_election_get_electorate_size (election (w, i)), ==, 5);
      g_assert_cmpuint (gossip_leader_election_get_quorum (election (w, i)), ==, 3);
      g_assert_null (gossip_leader_election_get_leader (election (w, i)));
    }
  /* Nobody stands before leader_timeout has passed without a leader. */
  harness_run (w->h, (TIMEOUT_MS - CHECK_MS) * MS);
  g_assert_cmpuint (w->became_leader, ==, 0);
  leader = wait_for_leader (w, 0, (CHECK_MS * 2) * MS + SLACK_US);
  leader_name = harness_node_name (leader);
  term = gossip_leader_election_get_term (election (w, leader));
  g_assert_cmpuint (term, ==, 1);

  /* Stable: heartbeats keep it; no more elections. */
  harness_run (w->h, 60 * SEC);
  g_assert_true (one_agreed_leader_among (w, 0, NULL));
  g_assert_cmpuint (gossip_leader_election_get_term (election (w, leader)), ==, term);
  g_assert_cmpuint (w->became_leader, ==, 1);
  for (guint i = 0; i < 5; i++)
    {
      g_assert_cmpuint (ev[i].elected, ==, 1);
      g_assert_cmpstr (ev[i].last_leader, ==, leader_name);
      g_assert_cmpuint (ev[i].last_term, ==, term);
      g_assert_cmpuint (ev[i].lost, ==, 0);
      g_assert_cmpuint (ev[i].became, ==, i == leader ? 1 : 0);
      g_assert_cmpuint (ev[i].stepped, ==, 0);
    }

  /* Stopping the leader's election: it steps down, and it is lost. */
  gossip_leader_election_stop (election (w, leader));
  g_assert_cmpuint (ev[leader].stepped, ==, 1);
  g_assert_cmpuint (ev[leader].lost, ==, 1);
  for (guint i = 0; i < 5; i++)
    g_free (ev[i].last_leader);
}

static void
test_leader_crash_bound (void)
{
  g_autoptr (World) w = world_new (5);
  guint leader = wait_for_leader (w, 0, (TIMEOUT_MS + CHECK_MS) * MS + SLACK_US);

  harness_run (w->h, 10 * SEC);
  /* Twice: 5 -> 4 -> 3 live nodes, still a majority of 5. */
  for (guint round = 0; round < 2; round++)
    {
      guint64 term = gossip_leader_election_get_term (election (w, leader));
      guint before = w->became_leader;
      gint64 crashed_at;
      guint next;

      crash (w, leader);
      crashed_at = harness_now (w->h);
      next = wait_for_leader (w, 0, (TIMEOUT_MS + CHECK_MS) * MS + SLACK_US);
      g_assert_cmpuint (next, !=, leader);
      g_assert_cmpuint (w->became_leader, ==, before + 1);
      g_assert_cmpint (w->last_became_leader_at - crashed_at, <=,
                       (TIMEOUT_MS + CHECK_MS) * MS + SLACK_US);
      g_test_message ("round %u: node %u leads term %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT
                      " ms after node %u crashed",
                      round, next, gossip_leader_election_get_term (election (w, next)),
                      (w->last_became_leader_at - crashed_at) / MS, leader);
      g_assert_cmpuint (gossip_leader_election_get_term (election (w, next)), >, term);
      leader = next;
      harness_run (w->h, 20 * SEC);
      g_assert_true (one_agreed_leader_among (w, 0, NULL));
    }

  /* A third crash leaves 2 of 5: no majority, no leader, whatever the wait. */
  crash (w, leader);
  harness_run (w->h, 60 * SEC);
  g_assert_cmpuint (count_leaders (w, NULL), ==, 0);
  g_assert_cmpuint (w->violations, ==, 0);
}

static void
test_minority_partition (void)
{
  g_autoptr (World) w = world_new (5);
  guint leader = wait_for_leader (w, 0, (TIMEOUT_MS + CHECK_MS) * MS + SLACK_US);
  guint buddy = (leader + 1) % 5;
  g_autofree char *a0 = harness_node_name (leader);
  g_autofree char *a1 = harness_node_name (buddy);
  const char *minority[] = { a0, a1, NULL };
  g_autoptr (GPtrArray) majority_names = g_ptr_array_new_with_free_func (g_free);
  guint majority = 0;
  guint new_leader;
  guint64 new_term;

  for (guint i = 0; i < 5; i++)
    if (i != leader && i != buddy)
      {
        g_ptr_array_add (majority_names, harness_node_name (i));
        majority |= 1u << i;
      }
  g_ptr_array_add (majority_names, NULL);
  harness_run (w->h, 5 * SEC);

  /* The leader and one follower are cut off from the other three. */
  g_hash_table_add (w->forbidden, GUINT_TO_POINTER (leader));
  g_hash_table_add (w->forbidden, GUINT_TO_POINTER (buddy));
  gossip_memory_network_partition (w->h->network, minority,
                                   (const char *const *) majority_names->pdata);
  new_leader = wait_for_leader (w, majority, (TIMEOUT_MS + CHECK_MS) * MS + SLACK_US);
  new_term = gossip_leader_election_get_term (election (w, new_leader));
  /* The old leader stepped down: it cannot reach a quorum. */
  harness_run (w->h, (TIMEOUT_MS + CHECK_MS) * MS);
  g_assert_false (gossip_leader_election_is_leader (election (w, leader)));

  /* Long enough for the membership to declare the majority dead and forget
   * it (dead_node_timeout is 30 s): the minority still never elects. */
  harness_run (w->h, 90 * SEC);
  g_assert_cmpuint (w->forbidden_elected, ==, 0);
  g_assert_false (gossip_leader_election_is_leader (election (w, leader)));
  g_assert_false (gossip_leader_election_is_leader (election (w, buddy)));
  g_assert_true (one_agreed_leader_among (w, majority, NULL));
  g_assert_true (gossip_leader_election_is_leader (election (w, new_leader)));
  g_assert_cmpuint (gossip_leader_election_get_electorate_size (election (w, leader)), ==, 5);
  /* Pre-votes kept the minority's terms where they were. */
  g_assert_cmpuint (gossip_leader_election_get_term (election (w, leader)), <, new_term);

  /* Healed (and the membership rejoined): one leader, the majority's, undisturbed. */
  g_hash_table_remove_all (w->forbidden);
  gossip_memory_network_heal (w->h->network);
  rejoin (w, leader);
  rejoin (w, buddy);
  g_assert_cmpuint (wait_for_leader (w, 0, 60 * SEC), ==, new_leader);
  g_assert_cmpuint (gossip_leader_election_get_term (election (w, new_leader)), ==, new_term);
  g_assert_cmpuint (w->violations, ==, 0);
}

/* ------------------------------------------------------------------------ */
/* Random crashes, restarts and partitions. */

static guint
env_uint (const char *name, guint fallback)
{
  const char *value = g_getenv (name);
  guint64 n;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 1, 10000, &n, NULL))
    return fallback;
  return (guint) n;
}

static void
random_partition (World *w, GRand *rand)
{
  g_autoptr (GPtrArray) a = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) b = g_ptr_array_new_with_free_func (g_free);
  guint n = w->elections->len;
  /* A non-trivial split: each side gets at least one node. */
  guint mask = (guint) g_rand_int_range (rand, 1, (gint) ((1u << n) - 1));

  for (guint i = 0; i < n; i++)
    g_ptr_array_add ((mask & (1u << i)) ? a : b, harness_node_name (i));
  g_ptr_array_add (a, NULL);
  g_ptr_array_add (b, NULL);
  gossip_memory_network_partition (w->h->network, (const char *const *) a->pdata,
                                   (const char *const *) b->pdata);
}

static guint
running (World *w)
{
  guint n = 0;

  for (guint i = 0; i < w->elections->len; i++)
    n += harness_node (w->h, i) != NULL;
  return n;
}

static void
chaos_run (guint32 seed, gint64 duration_us)
{
  g_autoptr (World) w = world_new (5);
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  gint64 end = harness_now (w->h) + duration_us;
  guint crashes = 0, restarts = 0, partitions = 0, leaders_seen;

  wait_for_leader (w, 0, (TIMEOUT_MS + CHECK_MS) * MS + SLACK_US);
  while (harness_now (w->h) < end)
    {
      guint i = (guint) g_rand_int_range (rand, 0, 5);

      switch (g_rand_int_range (rand, 0, 6))
        {
        case 0:
        case 1:
          /* Mostly keep a majority up, so that elections keep happening. */
          if (running (w) <= 3 && harness_node (w->h, i) != NULL)
            for (guint j = 0; j < 5; j++)
              if (harness_node (w->h, (i + j) % 5) == NULL)
                {
                  i = (i + j) % 5;
                  break;
                }
          if (harness_node (w->h, i) != NULL)
            {
              crash (w, i);
              crashes++;
            }
          else
            {
              restart (w, i);
              restarts++;
            }
          break;
        case 2:
          /* Crash whoever leads. */
          if (count_leaders (w, &i) > 0)
            {
              crash (w, i);
              crashes++;
            }
          break;
        case 3:
        case 4:
          random_partition (w, rand);
          partitions++;
          break;
        default:
          gossip_memory_network_heal (w->h->network);
          break;
        }
      harness_run (w->h, g_rand_int_range (rand, 1 * SEC, 12 * SEC));
      g_assert_cmpuint (w->violations, ==, 0);
    }

  /* Everything back: one leader for all five. */
  gossip_memory_network_heal (w->h->network);
  for (guint i = 0; i < 5; i++)
    if (harness_node (w->h, i) == NULL)
      restart (w, i);
    else
      rejoin (w, i);
  leaders_seen = g_hash_table_size (w->term_leaders);
  wait_for_leader (w, 0, 90 * SEC);
  g_assert_cmpuint (w->violations, ==, 0);
  g_test_message ("seed %u: %u crashes, %u restarts, %u partitions, %u terms with a leader", seed,
                  crashes, restarts, partitions, leaders_seen);
}

static void
test_chaos (void)
{
  guint seeds = env_uint ("GOSSIP_TEST_LEADER_SEEDS", 50);
  guint32 base = (guint32) g_test_rand_int ();

  g_test_message ("%u seeds from %u (GOSSIP_TEST_LEADER_SEEDS sets the count)", seeds, base);
  for (guint s = 0; s < seeds; s++)
    chaos_run (base + s, 180 * SEC);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/leader/config-errors", test_config_errors);
  g_test_add_func ("/leader/basic-election", test_basic_election);
  g_test_add_func ("/leader/leader-crash-bound", test_leader_crash_bound);
  g_test_add_func ("/leader/minority-partition", test_minority_partition);
  g_test_add_func ("/leader/chaos-never-two-leaders-per-term", test_chaos);
  return g_test_run ();
}
