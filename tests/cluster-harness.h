/* cluster-harness.h: run many GossipCluster nodes in one test process,
 * either on the memory transport in virtual time (deterministic) or on real
 * loopback sockets. */
#pragma once

#include "gossip/gossip.h"
#include "gossip/gossip-cluster.h"

typedef struct
{
  gboolean virtual_time; /* memory transport + manual clock, else sockets */
  GossipClock *clock;
  GossipMemoryNetwork *network;
  char *network_name;
  GPtrArray *nodes; /* GossipCluster or NULL when crashed */
  GPtrArray *configs;
  GMainContext *context;
  guint64 transitions[5]; /* state changes seen, by new state, summed over nodes */
} Harness;

/* @settings: NULL-terminated group, key, value triples applied to every node. */
Harness *harness_new (guint n, gboolean virtual_time, const char *const *settings);
void harness_free (Harness *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Harness, harness_free)

GossipCluster *harness_node (Harness *h, guint i);
const char *harness_address (Harness *h, guint i);
char *harness_node_name (guint i);
GossipCluster *harness_start_node (Harness *h, guint i, const char *const *extra_settings);
void harness_crash (Harness *h, guint i);
void harness_run (Harness *h, gint64 us);
gboolean harness_run_until (Harness *h, gboolean (*done) (Harness *h, gpointer data), gpointer data,
                            gint64 max_us);
gint64 harness_now (Harness *h);

/* Joins node i to node `via`, waits for the result; returns joined count, error set on failure. */
guint harness_join (Harness *h, guint i, const char *const *addresses, GError **error);
guint harness_join_cancellable (Harness *h, guint i, const char *const *addresses,
                                GCancellable *cancellable, GError **error);
void harness_join_all_to (Harness *h, guint via);

GossipNodeState harness_state_of (Harness *h, guint observer, guint subject);
gboolean harness_converged (Harness *h, gpointer n_alive);
gboolean harness_all_see_state (Harness *h, guint subject, GossipNodeState state);
void harness_dump (Harness *h);

/* For harness_run_until: every running node other than @subject sees it in @state. */
typedef struct
{
  guint subject;
  GossipNodeState state;
} HarnessSeeState;
gboolean harness_all_see (Harness *h, gpointer see_state);
