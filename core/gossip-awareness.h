/* gossip-awareness.h: Lifeguard's local health score ("awareness").
 *
 * A node that misses acks, gets no nacks from its helpers or has to refute
 * suspicion is probably the slow one; its score rises and its own probe
 * intervals and timeouts stretch by (score + 1), so a sick node stops
 * accusing healthy ones.  Timely acks lower the score again.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GossipAwareness GossipAwareness;

GossipAwareness *_gossip_awareness_new (guint max_multiplier);
void _gossip_awareness_free (GossipAwareness *awareness);
void _gossip_awareness_apply_delta (GossipAwareness *awareness, int delta);
guint _gossip_awareness_get_score (GossipAwareness *awareness);
gint64 _gossip_awareness_scale_timeout (GossipAwareness *awareness, gint64 timeout_us);

G_END_DECLS
