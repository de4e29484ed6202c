/* gossip-suspicion.h: one suspicion timer with Lifeguard's confirmations.
 *
 * The timer starts at @max (or @min when no confirmations are expected) and
 * shrinks toward @min logarithmically as k independent peers confirm the
 * suspicion:  timeout = max - (max - min) * log(n + 1) / log(k + 1).
 * The node that raised the suspicion does not count as a confirmation.
 */
#pragma once

#include "gossip/gossip-clock.h"

G_BEGIN_DECLS

typedef struct _GossipSuspicion GossipSuspicion;
typedef void (*GossipSuspicionFunc) (gpointer user_data, guint confirmations);

GossipSuspicion *_gossip_suspicion_new (GossipClock *clock, guint k, gint64 min_us, gint64 max_us,
                                        const char *from, GossipSuspicionFunc expired,
                                        gpointer user_data);
gboolean _gossip_suspicion_confirm (GossipSuspicion *suspicion, const char *from);
gint64 _gossip_suspicion_get_timeout (GossipSuspicion *suspicion);
guint _gossip_suspicion_get_confirmations (GossipSuspicion *suspicion);
void _gossip_suspicion_free (GossipSuspicion *suspicion);

G_END_DECLS
