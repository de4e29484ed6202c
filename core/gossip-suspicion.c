/* gossip-suspicion.c: a suspicion timer that confirmations shorten. */
#include "config.h"

#include <math.h>

#include "gossip-suspicion.h"

struct _GossipSuspicion
{
  GossipClock *clock;
  guint k;
  guint n;
  gint64 min, max;
  gint64 start;
  gint64 timeout;
  GHashTable *confirmed; /* names of the accuser and the confirmers */
  GossipSuspicionFunc expired;
  gpointer user_data;
  guint timer;
};

static gint64
compute_timeout (GossipSuspicion *s)
{
  double fraction, timeout;

  if (s->k < 1)
    return s->min;
  fraction = log ((double) s->n + 1.0) / log ((double) s->k + 1.0);
  timeout = (double) s->max - fraction * (double) (s->max - s->min);
  return MAX ((gint64) floor (timeout), s->min);
}

static void
suspicion_fire (gpointer data)
{
  GossipSuspicion *s = data;

  s->timer = 0;
  s->expired (s->user_data, s->n);
}

static void
schedule (GossipSuspicion *s)
{
  gint64 remaining = s->start + s->timeout - gossip_clock_now (s->clock);

  gossip_clock_clear_timer (s->clock, &s->timer);
  s->timer = gossip_clock_add_timer (s->clock, MAX (remaining, 0), suspicion_fire, s, NULL);
}

GossipSuspicion *
_gossip_suspicion_new (GossipClock *clock, guint k, gint64 min_us, gint64 max_us, const char *from,
                       GossipSuspicionFunc expired, gpointer user_data)
{
  GossipSuspicion *s = g_new0 (GossipSuspicion, 1);

  s->clock = g_object_ref (clock);
  s->k = k;
  s->min = min_us;
  s->max = MAX (max_us, min_us);
  s->start = gossip_clock_now (clock);
  s->confirmed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (from != NULL)
    g_hash_table_add (s->confirmed, g_strdup (from));
  s->expired = expired;
  s->user_data = user_data;
  s->timeout = k < 1 ? s->min : s->max;
  schedule (s);
  return s;
}

/* Returns TRUE when @from is a new, independent confirmation (and the timer
 * was shortened), FALSE for repeats and once k confirmations are in. */
gboolean
_gossip_suspicion_confirm (GossipSuspicion *s, const char *from)
{
  if (s->n >= s->k || from == NULL || g_hash_table_contains (s->confirmed, from))
    return FALSE;
  g_hash_table_add (s->confirmed, g_strdup (from));
  s->n++;
  s->timeout = compute_timeout (s);
  if (s->timer != 0)
    schedule (s);
  return TRUE;
}

gint64
_gossip_suspicion_get_timeout (GossipSuspicion *s)
{
  return s->timeout;
}

guint
_gossip_suspicion_get_confirmations (GossipSuspicion *s)
{
  return s->n;
}

void
_gossip_suspicion_free (GossipSuspicion *s)
{
  if (s == NULL)
    return;
  gossip_clock_clear_timer (s->clock, &s->timer);
  g_hash_table_unref (s->confirmed);
  g_object_unref (s->clock);
  g_free (s);
}
