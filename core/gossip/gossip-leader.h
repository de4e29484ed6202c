/* gossip-leader.h: leader election over a gossip cluster.
 *
 * A GossipLeaderElection elects at most one leader per term among the
 * members of a GossipCluster.  It is a small module beside the core: it
 * uses only the cluster's public API (one user message type, requests and
 * the node-state-changed signal) and runs on the cluster's context and
 * clock, so it runs in virtual time under a GossipManualClock.
 *
 * The algorithm (docs/LEADER.md has the full story):
 *
 *  - Every node has a term (a guint64 that only grows) and casts at most one
 *    vote per term.
 *  - The leader sends a heartbeat (a request of the election's message type
 *    carrying its term and ID) to every live node each heartbeat_interval.
 *    A node that accepts it follows that leader and answers with its term.
 *  - A node checks every check_interval (randomised between half and the
 *    whole interval).  When it has heard no leader for leader_timeout it
 *    asks every live node for a pre-vote for term + 1; a node grants one
 *    only if that term is above its own and it has not heard a leader within
 *    leader_timeout - heartbeat_interval.  Pre-votes change nothing, so a
 *    node cut off from the others never raises its term and never disturbs
 *    the cluster when it comes back.
 *  - With a quorum of pre-votes it becomes candidate for term + 1, votes for
 *    itself and asks every live node for its vote.  A node grants a vote if
 *    the term is at least its own and it has not voted for another node in
 *    that term; it adopts a higher term first.  With a quorum of votes the
 *    candidate becomes leader.
 *  - Quorum = max (ceil (quorum_percent / 100 * live), floor (known / 2) + 1)
 *    where live counts the nodes this node sees alive, itself included, and
 *    known counts the electorate: every node this node has seen in the
 *    membership (any state but left), itself included, never shrinking when
 *    nodes die or are forgotten, raised to the largest count any voter
 *    reported in its answer.
 *  - A leader steps down when fewer than a quorum of nodes (itself
 *    included) answered its heartbeats within leader_timeout, or when it
 *    hears a higher term.  Any node that hears a higher term adopts it.
 *
 * Two leaders in one term are impossible: each needs votes from more than
 * half of the same electorate, two such sets share a node, and that node
 * votes once per term.  A minority partition can never elect: it cannot
 * reach more than half of the electorate.  After the leader dies, a new one
 * is elected within leader_timeout + check_interval + two request round
 * trips (pre-vote, vote) of the time the followers last heard it, unless two
 * candidates split the vote (then one more leader_timeout).
 *
 * Votes live in memory unless state_file is set: a node that crashes after
 * voting and restarts without it could vote twice in one term.  Without a
 * state file a started node grants no vote for leader_timeout -
 * heartbeat_interval, which narrows but does not close that window.
 */
#pragma once

#include <glib-object.h>
#include "gossip-cluster.h"

G_BEGIN_DECLS

/**
 * GOSSIP_LEADER_MESSAGE_TYPE_DEFAULT:
 *
 * The message type an election uses when given 0: %GOSSIP_MESSAGE_TYPE_USER
 * + 0x4c45 ("LE").  Every node of a cluster must use the same type.
 */
#define GOSSIP_LEADER_MESSAGE_TYPE_DEFAULT (GOSSIP_MESSAGE_TYPE_USER + 0x4c45)

/**
 * GossipLeaderConfig:
 * @heartbeat_interval_ms: time between the leader's heartbeats (1000)
 * @leader_timeout_ms: time without a leader before a node stands for
 *   election, and without a quorum before a leader steps down; at least
 *   twice @heartbeat_interval_ms and twice @check_interval_ms (5000)
 * @check_interval_ms: longest time between two checks of those timeouts;
 *   also the timeout of each vote request (500)
 * @quorum_percent: percent of the live nodes that must vote for a leader,
 *   1 to 100; never less than a strict majority of the electorate (50)
 * @state_file: (nullable): a file where the term, the vote and the
 *   electorate are kept across restarts, written before each vote is
 *   granted; %NULL keeps them in memory only
 * @random_seed: seed of the check jitter; 0 picks one at random
 *
 * Settings of a #GossipLeaderElection.  Initialise with
 * gossip_leader_config_init() and change what you need.
 */
typedef struct
{
  guint heartbeat_interval_ms;
  guint leader_timeout_ms;
  guint check_interval_ms;
  guint quorum_percent;
  const char *state_file;
  guint32 random_seed;
  /*< private >*/
  gpointer padding[4];
} GossipLeaderConfig;

void gossip_leader_config_init (GossipLeaderConfig *config);

#define GOSSIP_TYPE_LEADER_ELECTION (gossip_leader_election_get_type ())
G_DECLARE_FINAL_TYPE (GossipLeaderElection, gossip_leader_election, GOSSIP, LEADER_ELECTION,
                      GObject)

GossipLeaderElection *gossip_leader_election_new (GossipCluster *cluster, guint message_type,
                                                  const GossipLeaderConfig *config, GError **error);
gboolean gossip_leader_election_start (GossipLeaderElection *election, GError **error);
void gossip_leader_election_stop (GossipLeaderElection *election);

GossipCluster *gossip_leader_election_get_cluster (GossipLeaderElection *election);
const char *gossip_leader_election_get_leader (GossipLeaderElection *election);
guint64 gossip_leader_election_get_term (GossipLeaderElection *election);
gboolean gossip_leader_election_is_leader (GossipLeaderElection *election);
guint gossip_leader_election_get_quorum (GossipLeaderElection *election);
guint gossip_leader_election_get_electorate_size (GossipLeaderElection *election);

G_END_DECLS
