/* gossip-uuid.h: node IDs. */
#pragma once

#include "gossip/gossip-clock.h"

G_BEGIN_DECLS

char *_gossip_uuid_v7_new (GossipClock *clock);

G_END_DECLS
