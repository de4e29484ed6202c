/* gossip-basic: create a node, join a cluster, look at the membership.
 *
 * examples/common does the parts every example shares: it builds a
 * GossipConfig from the command line, creates the cluster with
 * gossip_cluster_new (), starts it with gossip_cluster_start (), joins
 * --peers with gossip_cluster_join_async () (printing "joined N" or "join
 * failed: ..."), lists the members (`peers`) and leaves with
 * gossip_cluster_leave_async () on quit, end of input or Ctrl-C.
 *
 * This example adds `members`: how many nodes this node sees in each state,
 * and the membership digest, a short hash of the whole view that is the same
 * on every node once their views agree.
 */
#include "config.h"

#include "example-common.h"

static void
cmd_members (Example *ex, char **args, gpointer data)
{
  GossipCluster *cluster = example_get_cluster (ex);
  g_autofree char *digest = gossip_cluster_get_membership_digest (cluster);

  example_print (ex, "members: %u alive, %u suspect, %u dead, %u left; digest %s",
                 gossip_cluster_count_nodes_in_state (cluster, GOSSIP_NODE_STATE_ALIVE),
                 gossip_cluster_count_nodes_in_state (cluster, GOSSIP_NODE_STATE_SUSPECT),
                 gossip_cluster_count_nodes_in_state (cluster, GOSSIP_NODE_STATE_DEAD),
                 gossip_cluster_count_nodes_in_state (cluster, GOSSIP_NODE_STATE_LEAVING), digest);
}

int
main (int argc, char **argv)
{
  g_autoptr (Example) ex
      = example_new ("- join a gossip cluster and show its members", &argc, &argv);

  if (ex == NULL)
    return 2;
  example_add_command (ex, "members", "", "count the members by state; the membership digest",
                       cmd_members, NULL);
  return example_run (ex);
}
