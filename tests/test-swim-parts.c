/* test-swim-parts.c: the small mechanisms SWIM and Lifeguard stand on:
 * local health (awareness), the suspicion timer and the broadcast queue,
 * and the broadcast history that delivers each user broadcast once. */
#include "config.h"

#include <math.h>

#include "gossip-awareness.h"
#include "gossip-broadcast-queue.h"
#include "gossip-cluster-private.h"
#include "gossip-suspicion.h"

/* ------------------------------------------------------------ awareness */

static void
test_awareness_clamps_and_scales (void)
{
  GossipAwareness *a = _gossip_awareness_new (8);

  g_assert_cmpuint (_gossip_awareness_get_score (a), ==, 0);
  g_assert_cmpint (_gossip_awareness_scale_timeout (a, 500), ==, 500);
  _gossip_awareness_apply_delta (a, -3);
  g_assert_cmpuint (_gossip_awareness_get_score (a), ==, 0);
  _gossip_awareness_apply_delta (a, 2);
  g_assert_cmpuint (_gossip_awareness_get_score (a), ==, 2);
  g_assert_cmpint (_gossip_awareness_scale_timeout (a, 500), ==, 1500);
  _gossip_awareness_apply_delta (a, 100);
  g_assert_cmpuint (_gossip_awareness_get_score (a), ==, 7);
  g_assert_cmpint (_gossip_awareness_scale_timeout (a, 1000), ==, 8000);
  g_assert_cmpint (_gossip_awareness_scale_timeout (a, G_MAXINT64 / 2), ==, G_MAXINT64);
  _gossip_awareness_apply_delta (a, -1);
  g_assert_cmpuint (_gossip_awareness_get_score (a), ==, 6);
  _gossip_awareness_free (a);
}

/* ------------------------------------------------------------ suspicion */

typedef struct
{
  gboolean fired;
  guint confirmations;
  gint64 when;
  GossipClock *clock;
} Expiry;

static void
on_expired (gpointer data, guint confirmations)
{
  Expiry *e = data;

  g_assert_false (e->fired);
  e->fired = TRUE;
  e->confirmations = confirmations;
  e->when = gossip_clock_now (e->clock);
}

static void
test_suspicion_without_confirmations_waits_max (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  Expiry e = { .clock = clock };
  gint64 start = gossip_clock_now (clock);
  GossipSuspicion *s = _gossip_suspicion_new (clock, 3, 2000, 10000, "accuser", on_expired, &e);

  g_assert_cmpint (_gossip_suspicion_get_timeout (s), ==, 10000);
  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 9999);
  g_assert_false (e.fired);
  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 1);
  g_assert_true (e.fired);
  g_assert_cmpuint (e.confirmations, ==, 0);
  g_assert_cmpint (e.when - start, ==, 10000);
  _gossip_suspicion_free (s);
}

static void
test_suspicion_confirmations_shrink_timeout (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  Expiry e = { .clock = clock };
  gint64 min = 2000, max = 10000, expected;
  GossipSuspicion *s = _gossip_suspicion_new (clock, 3, min, max, "accuser", on_expired, &e);

  /* The accuser itself and repeats are not independent confirmations. */
  g_assert_false (_gossip_suspicion_confirm (s, "accuser"));
  g_assert_true (_gossip_suspicion_confirm (s, "b"));
  g_assert_false (_gossip_suspicion_confirm (s, "b"));
  expected = (gint64) floor ((double) max - log (2.0) / log (4.0) * (double) (max - min));
  g_assert_cmpint (_gossip_suspicion_get_timeout (s), ==, expected);
  g_assert_true (_gossip_suspicion_confirm (s, "c"));
  g_assert_true (_gossip_suspicion_confirm (s, "d"));
  g_assert_cmpint (_gossip_suspicion_get_timeout (s), ==, min);
  /* k reached: further confirmations change nothing. */
  g_assert_false (_gossip_suspicion_confirm (s, "e"));
  g_assert_cmpuint (_gossip_suspicion_get_confirmations (s), ==, 3);
  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), min - 1);
  g_assert_false (e.fired);
  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 1);
  g_assert_true (e.fired);
  g_assert_cmpuint (e.confirmations, ==, 3);
  _gossip_suspicion_free (s);
}

static void
test_suspicion_late_confirmation_fires_at_once (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  Expiry e = { .clock = clock };
  GossipSuspicion *s = _gossip_suspicion_new (clock, 1, 1000, 8000, NULL, on_expired, &e);

  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 5000);
  g_assert_false (e.fired);
  /* One confirmation of one expected: the timeout drops to 1000, long past. */
  g_assert_true (_gossip_suspicion_confirm (s, "x"));
  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 0);
  g_assert_true (e.fired);
  _gossip_suspicion_free (s);
}

static void
test_suspicion_k_zero_uses_min_and_free_cancels (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  Expiry e = { .clock = clock };
  GossipSuspicion *s = _gossip_suspicion_new (clock, 0, 3000, 9000, "a", on_expired, &e);

  g_assert_cmpint (_gossip_suspicion_get_timeout (s), ==, 3000);
  g_assert_false (_gossip_suspicion_confirm (s, "b"));
  g_assert_cmpuint (gossip_manual_clock_get_pending (GOSSIP_MANUAL_CLOCK (clock)), ==, 1);
  _gossip_suspicion_free (s);
  g_assert_cmpuint (gossip_manual_clock_get_pending (GOSSIP_MANUAL_CLOCK (clock)), ==, 0);
  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 100000);
  g_assert_false (e.fired);
}

/* ------------------------------------------------------------ queue */

typedef struct
{
  guint finished;
  guint replaced;
} DoneCount;

static void
on_done (gpointer data, gboolean finished)
{
  DoneCount *c = data;

  if (finished)
    c->finished++;
  else
    c->replaced++;
}

static GBytes *
text (const char *s)
{
  return g_bytes_new (s, strlen (s));
}

static char *
joined (GPtrArray *array)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < array->len; i++)
    {
      gsize len;
      const char *data = g_bytes_get_data (g_ptr_array_index (array, i), &len);
      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append_len (out, data, len);
    }
  return g_string_free (out, FALSE);
}

static void
push (GossipBroadcastQueue *q, const char *s, const char *key, gboolean unique, DoneCount *c)
{
  g_autoptr (GBytes) b = text (s);
  _gossip_broadcast_queue_push (q, b, key, unique, on_done, c);
}

static void
test_queue_retransmit_limit (void)
{
  GossipBroadcastQueue *q = _gossip_broadcast_queue_new (3);
  DoneCount c = { 0 };
  guint sends = 0;

  /* 9 nodes: ceil(log10(10)) = 1, so 3 sends; 10 nodes: ceil(log10(11)) = 2. */
  g_assert_cmpuint (_gossip_broadcast_queue_retransmit_limit (3, 9), ==, 3);
  g_assert_cmpuint (_gossip_broadcast_queue_retransmit_limit (3, 10), ==, 6);
  g_assert_cmpuint (_gossip_broadcast_queue_retransmit_limit (4, 1), ==, 4);
  push (q, "alive:a", "a", FALSE, &c);
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr (GPtrArray) got = _gossip_broadcast_queue_get_broadcasts (q, 2, 1400, 9);
      sends += got->len;
    }
  g_assert_cmpuint (sends, ==, 3);
  g_assert_cmpuint (c.finished, ==, 1);
  g_assert_cmpuint (_gossip_broadcast_queue_length (q), ==, 0);
  _gossip_broadcast_queue_free (q);
}

static void
test_queue_order_and_replacement (void)
{
  GossipBroadcastQueue *q = _gossip_broadcast_queue_new (2);
  DoneCount c = { 0 };
  g_autoptr (GPtrArray) first = NULL;
  g_autoptr (GPtrArray) second = NULL;
  g_autofree char *s1 = NULL, *s2 = NULL;

  push (q, "a1", "a", FALSE, &c);
  push (q, "b1", "b", FALSE, &c);
  push (q, "c1", "c", FALSE, &c);
  /* Newest first among the never-sent. */
  first = _gossip_broadcast_queue_get_broadcasts (q, 0, 4, 1);
  s1 = joined (first);
  g_assert_cmpstr (s1, ==, "c1,b1");
  /* A newer update about "b" replaces the older; never-sent ones lead. */
  push (q, "b2", "b", FALSE, &c);
  g_assert_cmpuint (c.replaced, ==, 1);
  g_assert_cmpuint (_gossip_broadcast_queue_length (q), ==, 3);
  second = _gossip_broadcast_queue_get_broadcasts (q, 0, 100, 1);
  s2 = joined (second);
  g_assert_cmpstr (s2, ==, "b2,a1,c1");
  /* Unique updates never replace each other. */
  push (q, "u1", "u", TRUE, &c);
  push (q, "u2", "u", TRUE, &c);
  g_assert_cmpuint (c.replaced, ==, 1);
  _gossip_broadcast_queue_free (q);
  g_assert_cmpuint (c.finished + c.replaced, ==, 6);
}

static void
test_queue_respects_byte_limit (void)
{
  GossipBroadcastQueue *q = _gossip_broadcast_queue_new (4);
  DoneCount c = { 0 };
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (GPtrArray) none = NULL;
  g_autofree char *s = NULL;

  push (q, "small", "s", FALSE, &c);
  push (q, "a-much-longer-update", "l", FALSE, &c);
  push (q, "tiny", "t", FALSE, &c);
  /* 10 bytes, 2 of overhead each: "tiny" (6) fits, the long one does not,
   * "small" (7) no longer fits after "tiny". */
  got = _gossip_broadcast_queue_get_broadcasts (q, 2, 10, 3);
  s = joined (got);
  g_assert_cmpstr (s, ==, "tiny");
  none = _gossip_broadcast_queue_get_broadcasts (q, 2, 3, 3);
  g_assert_cmpuint (none->len, ==, 0);
  _gossip_broadcast_queue_prune (q, 1);
  g_assert_cmpuint (_gossip_broadcast_queue_length (q), ==, 1);
  _gossip_broadcast_queue_free (q);
  g_assert_cmpuint (c.replaced, ==, 3);
}

/* The walk may stop early when nothing can fit, never before a small update
 * queued behind many that are too big. */
static void
test_queue_finds_small_behind_big (void)
{
  GossipBroadcastQueue *q = _gossip_broadcast_queue_new (4);
  DoneCount c = { 0 };
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (GPtrArray) none = NULL;
  g_autofree char *s = NULL;

  push (q, "s", NULL, TRUE, &c);
  for (guint i = 0; i < 100; i++)
    push (q, "a-much-longer-update", NULL, TRUE, &c);
  /* The newest are tried first; only the oldest, smallest one fits. */
  got = _gossip_broadcast_queue_get_broadcasts (q, 2, 4, 3);
  s = joined (got);
  g_assert_cmpstr (s, ==, "s");
  none = _gossip_broadcast_queue_get_broadcasts (q, 2, 2, 3);
  g_assert_cmpuint (none->len, ==, 0);
  _gossip_broadcast_queue_free (q);
  g_assert_cmpuint (c.finished + c.replaced, ==, 101);
}

/* What a datagram already carries is skipped, and not counted as sent. */
static void
test_queue_except_carried (void)
{
  GossipBroadcastQueue *q = _gossip_broadcast_queue_new (1);
  DoneCount c = { 0 };
  g_autoptr (GPtrArray) carried = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr (GPtrArray) first = NULL;
  g_autoptr (GPtrArray) second = NULL;
  g_autoptr (GPtrArray) third = NULL;
  g_autofree char *s1 = NULL, *s2 = NULL, *s3 = NULL;

  push (q, "a", NULL, TRUE, &c);
  push (q, "b", NULL, TRUE, &c);
  /* One transmission each (retransmit_mult 1, one node): "b" goes first. */
  g_ptr_array_add (carried, text ("b"));
  first = _gossip_broadcast_queue_get_broadcasts_except (q, 0, 100, 1, carried);
  s1 = joined (first);
  g_assert_cmpstr (s1, ==, "a");
  g_assert_cmpuint (_gossip_broadcast_queue_length (q), ==, 1);
  /* Excepting everything takes nothing and counts nothing. */
  g_ptr_array_add (carried, text ("a"));
  second = _gossip_broadcast_queue_get_broadcasts_except (q, 0, 100, 1, carried);
  s2 = joined (second);
  g_assert_cmpstr (s2, ==, "");
  g_assert_cmpuint (_gossip_broadcast_queue_length (q), ==, 1);
  third = _gossip_broadcast_queue_get_broadcasts_except (q, 0, 100, 1, NULL);
  s3 = joined (third);
  g_assert_cmpstr (s3, ==, "b");
  g_assert_cmpuint (_gossip_broadcast_queue_length (q), ==, 0);
  _gossip_broadcast_queue_free (q);
  g_assert_cmpuint (c.finished, ==, 2);
}

/* ------------------------------------------------------ broadcast history */

static void
test_dedup_once_per_id (void)
{
  GossipDedup *d = _gossip_dedup_new (0);

  g_assert_true (_gossip_dedup_check (d, "a", 1, 1));
  g_assert_false (_gossip_dedup_check (d, "a", 1, 1));
  /* Another epoch or another origin is another message. */
  g_assert_true (_gossip_dedup_check (d, "a", 2, 1));
  g_assert_true (_gossip_dedup_check (d, "b", 1, 1));
  /* Out of order within the window: each once. */
  g_assert_true (_gossip_dedup_check (d, "a", 1, 3));
  g_assert_true (_gossip_dedup_check (d, "a", 1, 2));
  g_assert_false (_gossip_dedup_check (d, "a", 1, 2));
  g_assert_false (_gossip_dedup_check (d, "a", 1, 3));
  _gossip_dedup_free (d);
}

/* A node keeps up to max_queued broadcasts for retransmission and sends the
 * newest first, so one that missed message 1 can get message max_queued
 * before it: the history made for max_queued must still take message 1 as
 * new, and only once.  Beyond the window, old numbers count as seen. */
static void
test_dedup_window_covers_max_queued (void)
{
  const guint max_queued = 16384;
  GossipDedup *d = _gossip_dedup_new (max_queued);

  g_assert_true (_gossip_dedup_check (d, "a", 1, max_queued));
  for (guint64 seq = 1; seq < max_queued; seq++)
    g_assert_true (_gossip_dedup_check (d, "a", 1, seq));
  for (guint64 seq = 1; seq <= max_queued; seq++)
    g_assert_false (_gossip_dedup_check (d, "a", 1, seq));
  /* Far ahead: everything a window behind it is taken as seen. */
  g_assert_true (_gossip_dedup_check (d, "a", 1, 10 * max_queued));
  g_assert_false (_gossip_dedup_check (d, "a", 1, 8 * max_queued));
  g_assert_true (_gossip_dedup_check (d, "a", 1, 10 * max_queued - 1));
  _gossip_dedup_free (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/awareness/clamps-and-scales", test_awareness_clamps_and_scales);
  g_test_add_func ("/suspicion/no-confirmations-waits-max",
                   test_suspicion_without_confirmations_waits_max);
  g_test_add_func ("/suspicion/confirmations-shrink", test_suspicion_confirmations_shrink_timeout);
  g_test_add_func ("/suspicion/late-confirmation-fires",
                   test_suspicion_late_confirmation_fires_at_once);
  g_test_add_func ("/suspicion/k-zero-and-free", test_suspicion_k_zero_uses_min_and_free_cancels);
  g_test_add_func ("/broadcast-queue/retransmit-limit", test_queue_retransmit_limit);
  g_test_add_func ("/broadcast-queue/order-and-replacement", test_queue_order_and_replacement);
  g_test_add_func ("/broadcast-queue/byte-limit", test_queue_respects_byte_limit);
  g_test_add_func ("/broadcast-queue/small-behind-big", test_queue_finds_small_behind_big);
  g_test_add_func ("/broadcast-queue/except-carried", test_queue_except_carried);
  g_test_add_func ("/broadcast-history/once-per-id", test_dedup_once_per_id);
  g_test_add_func ("/broadcast-history/window-covers-max-queued",
                   test_dedup_window_covers_max_queued);
  return g_test_run ();
}
