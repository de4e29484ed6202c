/* gossip-awareness.c: Lifeguard's local health score. */
#include "config.h"

#include "gossip-awareness.h"

struct _GossipAwareness
{
  guint max; /* scores run from 0 to max - 1 */
  guint score;
};

GossipAwareness *
_gossip_awareness_new (guint max_multiplier)
{
  GossipAwareness *awareness = g_new0 (GossipAwareness, 1);

  awareness->max = MAX (max_multiplier, 1);
  return awareness;
}

void
_gossip_awareness_free (GossipAwareness *awareness)
{
  g_free (awareness);
}

void
_gossip_awareness_apply_delta (GossipAwareness *awareness, int delta)
{
  gint64 score = (gint64) awareness->score + delta;

  awareness->score = (guint) CLAMP (score, 0, (gint64) awareness->max - 1);
}

guint
_gossip_awareness_get_score (GossipAwareness *awareness)
{
  return awareness->score;
}

gint64
_gossip_awareness_scale_timeout (GossipAwareness *awareness, gint64 timeout_us)
{
  guint factor = awareness->score + 1;

  if (timeout_us > G_MAXINT64 / factor)
    return G_MAXINT64;
  return timeout_us * factor;
}
