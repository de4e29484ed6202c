/* test-clock.c: the real-time clock on a GMainContext and the manual clock. */
#include "config.h"

#include "gossip/gossip-clock.h"

static void
log_fired (gpointer data)
{
  GPtrArray *log = data;
  g_ptr_array_add (log, GINT_TO_POINTER (log->len + 1));
}

static void
set_fired (gpointer data)
{
  char **slot = data;
  g_assert_null (*slot);
  *slot = g_strdup ("fired");
}

static void
noop (gpointer data)
{
}

static void
count_destroy (gpointer data)
{
  (*(guint *) data)++;
}

typedef struct
{
  GString *order;
  char tag;
} OrderItem;

static void
order_fired (gpointer data)
{
  OrderItem *item = data;
  g_string_append_c (item->order, item->tag);
}

typedef struct
{
  GossipClock *clock;
  guint remaining;
  gint64 *times;
  guint n;
} Chain;

static void
chain_fired (gpointer data)
{
  Chain *chain = data;

  chain->times[chain->n++] = gossip_clock_now (chain->clock);
  if (--chain->remaining > 0)
    gossip_clock_add_timer (chain->clock, 10, chain_fired, chain, NULL);
}

static void
test_manual_clock_fires_only_when_advanced (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  g_autoptr (GPtrArray) log = g_ptr_array_new ();
  gint64 start = gossip_clock_now (clock);

  gossip_clock_add_timer (clock, 1000, log_fired, log, NULL);
  g_assert_cmpuint (log->len, ==, 0);
  g_assert_cmpuint (gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 999), ==, 0);
  g_assert_cmpuint (log->len, ==, 0);
  g_assert_cmpuint (gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 1), ==, 1);
  g_assert_cmpuint (log->len, ==, 1);
  g_assert_cmpint (gossip_clock_now (clock), ==, start + 1000);
}

static void
test_manual_clock_fires_in_deadline_then_insertion_order (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  g_autoptr (GString) order = g_string_new (NULL);
  OrderItem a = { order, 'a' }, b = { order, 'b' }, c = { order, 'c' }, d = { order, 'd' };

  gossip_clock_add_timer (clock, 300, order_fired, &a, NULL);
  gossip_clock_add_timer (clock, 100, order_fired, &b, NULL);
  gossip_clock_add_timer (clock, 300, order_fired, &c, NULL);
  gossip_clock_add_timer (clock, 0, order_fired, &d, NULL);
  g_assert_cmpstr (order->str, ==, "");
  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 1000);
  g_assert_cmpstr (order->str, ==, "dbac");
}

static void
test_manual_clock_runs_timers_added_by_callbacks_at_their_time (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  gint64 times[5];
  Chain chain = { clock, 5, times, 0 };
  gint64 start = gossip_clock_now (clock);

  gossip_clock_add_timer (clock, 10, chain_fired, &chain, NULL);
  g_assert_cmpuint (gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 45), ==, 4);
  g_assert_cmpuint (chain.n, ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (times[i], ==, start + 10 * (i + 1));
  g_assert_cmpint (gossip_manual_clock_get_next_deadline (GOSSIP_MANUAL_CLOCK (clock)), ==,
                   start + 50);
  g_assert_true (gossip_manual_clock_run_next (GOSSIP_MANUAL_CLOCK (clock)));
  g_assert_cmpuint (chain.n, ==, 5);
  g_assert_false (gossip_manual_clock_run_next (GOSSIP_MANUAL_CLOCK (clock)));
  g_assert_cmpint (gossip_manual_clock_get_next_deadline (GOSSIP_MANUAL_CLOCK (clock)), ==, -1);
}

static void
test_manual_clock_removed_timer_never_fires_and_frees_data (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  g_autoptr (GPtrArray) log = g_ptr_array_new ();
  guint destroyed = 0;
  guint id, id2;

  id = gossip_clock_add_timer (clock, 100, log_fired, log, NULL);
  id2 = gossip_clock_add_timer (clock, 100, noop, &destroyed, count_destroy);
  g_assert_cmpuint (id, !=, 0);
  g_assert_cmpuint (id, !=, id2);
  gossip_clock_clear_timer (clock, &id);
  g_assert_cmpuint (id, ==, 0);
  gossip_clock_remove_timer (clock, id2);
  g_assert_cmpuint (destroyed, ==, 1);
  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 1000);
  g_assert_cmpuint (log->len, ==, 0);
  g_assert_cmpuint (gossip_manual_clock_get_pending (GOSSIP_MANUAL_CLOCK (clock)), ==, 0);
}

static void
test_manual_clock_fired_timer_frees_its_data (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  guint destroyed = 0;

  gossip_clock_add_timer (clock, 100, noop, &destroyed, count_destroy);
  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 100);
  g_assert_cmpuint (destroyed, ==, 1);
}

static void
test_manual_clock_finalize_frees_pending_timer_data (void)
{
  GossipClock *clock = gossip_manual_clock_new ();
  guint destroyed = 0;

  gossip_clock_add_timer (clock, 100, noop, &destroyed, count_destroy);
  gossip_clock_add_timer (clock, 200, noop, &destroyed, count_destroy);
  g_object_unref (clock);
  g_assert_cmpuint (destroyed, ==, 2);
}

static void
test_manual_clock_wall_time_follows_virtual_time (void)
{
  g_autoptr (GossipClock) clock = gossip_manual_clock_new ();
  g_autoptr (GossipClock) other = gossip_manual_clock_new ();
  gint64 wall = gossip_clock_now_wall (clock);

  gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (clock), 5 * G_USEC_PER_SEC);
  g_assert_cmpint (gossip_clock_now_wall (clock), ==, wall + 5 * G_USEC_PER_SEC);
  /* A fixed epoch keeps simulations reproducible. */
  g_assert_cmpint (gossip_clock_now_wall (other), ==, wall);
}

static void
test_main_clock_timer_fires_on_its_context_not_synchronously (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GossipClock) clock = gossip_clock_new_for_context (context);
  g_autofree char *slot = NULL;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  g_assert_true (gossip_clock_get_context (clock) == context);
  gossip_clock_add_timer (clock, 0, set_fired, &slot, NULL);
  g_assert_null (slot);
  while (slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpstr (slot, ==, "fired");
}

static void
test_main_clock_waits_for_the_delay (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GossipClock) clock = gossip_clock_new_for_context (context);
  g_autofree char *slot = NULL;
  gint64 start = gossip_clock_now (clock), deadline = start + 5 * G_USEC_PER_SEC;

  gossip_clock_add_timer (clock, 20000, set_fired, &slot, NULL);
  while (slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpstr (slot, ==, "fired");
  g_assert_cmpint (gossip_clock_now (clock) - start, >=, 20000);
}

static void
test_main_clock_removed_timer_never_fires (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GossipClock) clock = gossip_clock_new_for_context (context);
  g_autofree char *slot = NULL, *other = NULL;
  guint destroyed = 0;
  guint id = gossip_clock_add_timer (clock, 1000, set_fired, &slot, NULL);
  guint id2 = gossip_clock_add_timer (clock, 1000, noop, &destroyed, count_destroy);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  gossip_clock_remove_timer (clock, id);
  gossip_clock_remove_timer (clock, id2);
  gossip_clock_add_timer (clock, 5000, set_fired, &other, NULL);
  while (other == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_assert_nonnull (other);
  g_assert_null (slot);
  g_assert_cmpuint (destroyed, ==, 1);
}

static void
test_main_clock_dispose_cancels_pending_timers (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  GossipClock *clock = gossip_clock_new_for_context (context);
  g_autofree char *slot = NULL;
  guint destroyed = 0;

  gossip_clock_add_timer (clock, 0, set_fired, &slot, NULL);
  gossip_clock_add_timer (clock, 0, noop, &destroyed, count_destroy);
  g_object_unref (clock);
  g_assert_cmpuint (destroyed, ==, 1);
  for (guint i = 0; i < 100 && g_main_context_iteration (context, FALSE); i++)
    ;
  g_assert_null (slot);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clock/manual/fires-only-when-advanced",
                   test_manual_clock_fires_only_when_advanced);
  g_test_add_func ("/clock/manual/fires-in-deadline-then-insertion-order",
                   test_manual_clock_fires_in_deadline_then_insertion_order);
  g_test_add_func ("/clock/manual/runs-timers-added-by-callbacks-at-their-time",
                   test_manual_clock_runs_timers_added_by_callbacks_at_their_time);
  g_test_add_func ("/clock/manual/removed-timer-never-fires-and-frees-data",
                   test_manual_clock_removed_timer_never_fires_and_frees_data);
  g_test_add_func ("/clock/manual/fired-timer-frees-its-data",
                   test_manual_clock_fired_timer_frees_its_data);
  g_test_add_func ("/clock/manual/finalize-frees-pending-timer-data",
                   test_manual_clock_finalize_frees_pending_timer_data);
  g_test_add_func ("/clock/manual/wall-time-follows-virtual-time",
                   test_manual_clock_wall_time_follows_virtual_time);
  g_test_add_func ("/clock/main/timer-fires-on-its-context-not-synchronously",
                   test_main_clock_timer_fires_on_its_context_not_synchronously);
  g_test_add_func ("/clock/main/waits-for-the-delay", test_main_clock_waits_for_the_delay);
  g_test_add_func ("/clock/main/removed-timer-never-fires",
                   test_main_clock_removed_timer_never_fires);
  g_test_add_func ("/clock/main/dispose-cancels-pending-timers",
                   test_main_clock_dispose_cancels_pending_timers);
  return g_test_run ();
}
