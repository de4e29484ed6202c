/* gossip-memory-network-private.h: what the memory transport plugin uses to
 * attach to a GossipMemoryNetwork.  Exported from libgossip with a leading
 * underscore: for libgossip's own plugins, not a stable API.
 */
#pragma once

#include "gossip/gossip-clock.h"
#include "gossip/gossip-memory-network.h"

G_BEGIN_DECLS

typedef struct _GossipMemoryEndpoint GossipMemoryEndpoint;

/* Called on the sender's clock when a frame reaches the endpoint. */
typedef void (*GossipMemoryDeliverFunc) (gpointer user_data, gboolean reliable, const char *from,
                                         GBytes *frame);

GossipMemoryEndpoint *_gossip_memory_network_attach (GossipMemoryNetwork *network, const char *name,
                                                     GossipClock *clock,
                                                     GossipMemoryDeliverFunc deliver,
                                                     gpointer user_data, GError **error);
void _gossip_memory_endpoint_detach (GossipMemoryEndpoint *endpoint);
gboolean _gossip_memory_endpoint_send (GossipMemoryEndpoint *endpoint, const char *to,
                                       gboolean reliable, GBytes *frame, GError **error);
gboolean _gossip_memory_parse_address (const char *address, char **network, char **name,
                                       GError **error);

/* Channel messages: ordered with the reliable path, refused like it while
 * the link is cut; @tag and @id mean something to the transport only. */
typedef void (*GossipMemoryChannelFunc) (gpointer user_data, const char *from, guint tag,
                                         guint64 id, GBytes *frame);

void _gossip_memory_endpoint_set_channel_func (GossipMemoryEndpoint *endpoint,
                                               GossipMemoryChannelFunc func);
gboolean _gossip_memory_endpoint_send_channel (GossipMemoryEndpoint *endpoint, const char *to,
                                               guint tag, guint64 id, GBytes *frame,
                                               GError **error);
gboolean _gossip_memory_endpoint_can_reach (GossipMemoryEndpoint *endpoint, const char *to);

G_END_DECLS
