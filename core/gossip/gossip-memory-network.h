/* gossip-memory-network.h: an in-process network for tests and simulation.
 *
 * The memory transport plugin attaches each node to a named network
 * ("mem://NETWORK/NAME").  The network delivers frames through the sending
 * node's GossipClock, so with a GossipManualClock a whole cluster runs in
 * virtual time, deterministically for a given seed.  Loss, delay and
 * partitions are set per directed link; the reliable path is never lost
 * (it models TCP) but is delayed and cut by partitions like datagrams.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _GossipMemoryNetwork GossipMemoryNetwork;

GossipMemoryNetwork *gossip_memory_network_get (const char *name);
GossipMemoryNetwork *gossip_memory_network_ref (GossipMemoryNetwork *network);
void gossip_memory_network_unref (GossipMemoryNetwork *network);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GossipMemoryNetwork, gossip_memory_network_unref)

void gossip_memory_network_set_seed (GossipMemoryNetwork *network, guint64 seed);
void gossip_memory_network_set_default_link (GossipMemoryNetwork *network, double loss,
                                             gint64 delay_us, gint64 jitter_us);
void gossip_memory_network_set_link (GossipMemoryNetwork *network, const char *from, const char *to,
                                     double loss, gint64 delay_us);
void gossip_memory_network_clear_link (GossipMemoryNetwork *network, const char *from,
                                       const char *to);
void gossip_memory_network_partition (GossipMemoryNetwork *network, const char *const *side_a,
                                      const char *const *side_b);
void gossip_memory_network_heal (GossipMemoryNetwork *network);
void gossip_memory_network_set_paused (GossipMemoryNetwork *network, const char *name,
                                       gboolean paused);

guint64 gossip_memory_network_get_delivered (GossipMemoryNetwork *network);
guint64 gossip_memory_network_get_lost (GossipMemoryNetwork *network);

G_END_DECLS
