/* gossip-clock.h: the one source of time and timers for the core.
 *
 * Every clock read and every timer in libgossip goes through a GossipClock.
 * gossip_clock_new_for_context() runs timers as GSources on a GMainContext;
 * GossipManualClock is virtual time for tests and simulation: nothing happens
 * until the test advances it, and then timers fire in deadline order
 * (ties in the order they were added), so runs are deterministic.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * GossipClockFunc:
 * @user_data: data given when the timer was added
 *
 * A one-shot timer callback.  To repeat, add a new timer from the callback.
 */
typedef void (*GossipClockFunc) (gpointer user_data);

#define GOSSIP_TYPE_CLOCK (gossip_clock_get_type ())
G_DECLARE_DERIVABLE_TYPE (GossipClock, gossip_clock, GOSSIP, CLOCK, GObject)

/**
 * GossipClockClass:
 * @now: monotonic time in microseconds
 * @now_wall: wall-clock time in microseconds since the Unix epoch
 * @add_timer: schedule @func after @delay_us; returns a non-zero id
 * @remove_timer: cancel a timer that has not fired; @destroy of its data is called
 */
struct _GossipClockClass
{
  GObjectClass parent_class;
  gint64 (*now) (GossipClock *clock);
  gint64 (*now_wall) (GossipClock *clock);
  guint (*add_timer) (GossipClock *clock, gint64 delay_us, GossipClockFunc func, gpointer user_data,
                      GDestroyNotify destroy);
  void (*remove_timer) (GossipClock *clock, guint id);
  /*< private >*/
  gpointer padding[8];
};

gint64 gossip_clock_now (GossipClock *clock);
gint64 gossip_clock_now_wall (GossipClock *clock);
guint gossip_clock_add_timer (GossipClock *clock, gint64 delay_us, GossipClockFunc func,
                              gpointer user_data, GDestroyNotify destroy);
void gossip_clock_remove_timer (GossipClock *clock, guint id);
void gossip_clock_clear_timer (GossipClock *clock, guint *id);

GossipClock *gossip_clock_new_for_context (GMainContext *context);
GMainContext *gossip_clock_get_context (GossipClock *clock);

#define GOSSIP_TYPE_MANUAL_CLOCK (gossip_manual_clock_get_type ())
G_DECLARE_FINAL_TYPE (GossipManualClock, gossip_manual_clock, GOSSIP, MANUAL_CLOCK, GossipClock)

GossipClock *gossip_manual_clock_new (void);
guint gossip_manual_clock_advance (GossipManualClock *clock, gint64 delta_us);
gboolean gossip_manual_clock_run_next (GossipManualClock *clock);
gint64 gossip_manual_clock_get_next_deadline (GossipManualClock *clock);
guint gossip_manual_clock_get_pending (GossipManualClock *clock);

G_END_DECLS
