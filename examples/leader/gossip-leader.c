/* gossip-leader: one node of a cluster that elects a leader.
 *
 * Joins the peers given with --peers, then takes part in a
 * GossipLeaderElection (core/gossip-leader.c, docs/LEADER.md) and prints
 * what happens:
 *
 *   leader: NODE term N        a new leader (or term) is followed
 *   I am the leader (term N)   this node won
 *   lost leader: NODE term N   the leader is gone (dead, cut off, replaced)
 *   stepped down (term N)      this node no longer leads
 *
 * `leader` prints the election's state.  Leaving (quit, end of input,
 * Ctrl-C) stops the election first, so a leader steps down before it goes.
 */
#include "config.h"

#include "example-common.h"

typedef struct
{
  Example *ex;
  GossipLeaderElection *election;
  char *state_file;
  int heartbeat_ms, timeout_ms, check_ms;
} Leader;

static void
on_elected (GossipLeaderElection *election, const char *leader, guint64 term, gpointer data)
{
  Leader *l = data;

  example_print (l->ex, "leader: %s term %" G_GUINT64_FORMAT, leader, term);
}

static void
on_lost (GossipLeaderElection *election, const char *leader, guint64 term, gpointer data)
{
  Leader *l = data;

  example_print (l->ex, "lost leader: %s term %" G_GUINT64_FORMAT, leader, term);
}

static void
on_became_leader (GossipLeaderElection *election, guint64 term, gpointer data)
{
  Leader *l = data;

  example_print (l->ex, "I am the leader (term %" G_GUINT64_FORMAT ")", term);
}

static void
on_stepped_down (GossipLeaderElection *election, guint64 term, gpointer data)
{
  Leader *l = data;

  example_print (l->ex, "stepped down (term %" G_GUINT64_FORMAT ")", term);
}

/* Once joined, the electorate is the whole cluster (docs/LEADER.md). */
static void
start_election (Example *ex, gpointer data)
{
  Leader *l = data;
  g_autoptr (GError) error = NULL;
  GossipLeaderConfig config;

  gossip_leader_config_init (&config);
  config.heartbeat_interval_ms = (guint) l->heartbeat_ms;
  config.leader_timeout_ms = (guint) l->timeout_ms;
  config.check_interval_ms = (guint) l->check_ms;
  config.state_file = l->state_file;
  l->election = gossip_leader_election_new (example_get_cluster (ex), 0, &config, &error);
  if (l->election == NULL || !gossip_leader_election_start (l->election, &error))
    {
      example_print (ex, "error: leader election: %s", error->message);
      g_clear_object (&l->election);
      example_leave (ex, "no election");
      return;
    }
  g_signal_connect (l->election, "elected", G_CALLBACK (on_elected), l);
  g_signal_connect (l->election, "lost", G_CALLBACK (on_lost), l);
  g_signal_connect (l->election, "became-leader", G_CALLBACK (on_became_leader), l);
  g_signal_connect (l->election, "stepped-down", G_CALLBACK (on_stepped_down), l);
}

static void
stop_election (Example *ex, gpointer data)
{
  Leader *l = data;

  if (l->election != NULL)
    gossip_leader_election_stop (l->election);
}

static void
cmd_leader (Example *ex, char **args, gpointer data)
{
  Leader *l = data;
  const char *leader;

  if (l->election == NULL)
    {
      example_print (ex, "error: the election has not started (joining)");
      return;
    }
  leader = gossip_leader_election_get_leader (l->election);
  example_print (ex, "term %" G_GUINT64_FORMAT ", leader %s%s, %u live nodes, quorum %u of %u",
                 gossip_leader_election_get_term (l->election), leader ? leader : "(none)",
                 gossip_leader_election_is_leader (l->election) ? " (this node)" : "",
                 gossip_cluster_get_n_alive (example_get_cluster (ex)),
                 gossip_leader_election_get_quorum (l->election),
                 gossip_leader_election_get_electorate_size (l->election));
}

int
main (int argc, char **argv)
{
  Leader l = { .heartbeat_ms = 1000, .timeout_ms = 5000, .check_ms = 500 };
  GOptionEntry options[] = {
    { "state-file", 's', 0, G_OPTION_ARG_FILENAME, &l.state_file,
      "Keep the term, vote and electorate in FILE across restarts", "FILE" },
    { "heartbeat-ms", 0, 0, G_OPTION_ARG_INT, &l.heartbeat_ms,
      "Leader heartbeat interval (default 1000)", "MS" },
    { "leader-timeout-ms", 0, 0, G_OPTION_ARG_INT, &l.timeout_ms,
      "Time without a leader before an election (default 5000)", "MS" },
    { "check-ms", 0, 0, G_OPTION_ARG_INT, &l.check_ms, "Check interval (default 500)", "MS" },
    { NULL },
  };
  g_autoptr (Example) ex
      = example_new_with_options ("- elect a leader in a gossip cluster", options, &argc, &argv);
  int status;

  if (ex == NULL)
    return 2;
  if (l.heartbeat_ms < 1 || l.timeout_ms < 1 || l.check_ms < 1)
    {
      g_printerr ("error: the timings are at least 1 ms\n");
      return 2;
    }
  l.ex = ex;
  example_set_hooks (ex, start_election, stop_election, &l);
  example_add_command (ex, "leader", "", "the term, the leader and the quorum", cmd_leader, &l);
  status = example_run (ex);
  g_clear_object (&l.election);
  g_free (l.state_file);
  return status;
}
