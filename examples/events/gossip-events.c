/* gossip-events: print every membership and metadata change as it happens.
 *
 * A GossipCluster emits "node-state-changed" (node, old state) when a node
 * joins, is suspected, dies, leaves or recovers, and "node-metadata-changed"
 * (node) when a newer version of a node's metadata arrives, this node's own
 * included.  Both run on the main loop; this example prints one line each:
 *
 *   event: NODE alive|suspect|dead|left (was OLD)
 *   event: NODE metadata key=value key=value
 *
 * Try `set-meta zone eu` on one node and watch the others; quit one, or
 * kill it with `kill -9`, and watch the others see it leave or die.
 */
#include "config.h"

#include "example-common.h"

static void
on_state_changed (GossipCluster *cluster, GossipNode *node, GossipNodeState old, gpointer data)
{
  Example *ex = data;

  example_print (ex, "event: %s %s (was %s)", gossip_node_get_id (node),
                 example_state_name (gossip_node_get_state (node)), example_state_name (old));
}

static void
on_metadata_changed (GossipCluster *cluster, GossipNode *node, gpointer data)
{
  Example *ex = data;
  g_autofree char *meta = example_format_meta (node);

  example_print (ex, "event: %s metadata %s", gossip_node_get_id (node), meta[0] ? meta : "(none)");
}

int
main (int argc, char **argv)
{
  g_autoptr (Example) ex = example_new ("- print membership and metadata events", &argc, &argv);

  if (ex == NULL)
    return 2;
  g_signal_connect (example_get_cluster (ex), "node-state-changed", G_CALLBACK (on_state_changed),
                    ex);
  g_signal_connect (example_get_cluster (ex), "node-metadata-changed",
                    G_CALLBACK (on_metadata_changed), ex);
  return example_run (ex);
}
