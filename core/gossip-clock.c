/* gossip-clock.c: real time on a GMainContext, and virtual time for tests.
 *
 * The core never calls g_get_monotonic_time() or g_timeout_add() directly:
 * it asks its GossipClock, so a simulation can swap in GossipManualClock and
 * run thousands of nodes deterministically, faster than real time.
 */
#include "config.h"

#include "gossip/gossip-clock.h"

G_DEFINE_ABSTRACT_TYPE (GossipClock, gossip_clock, G_TYPE_OBJECT)

static void
gossip_clock_class_init (GossipClockClass *klass)
{
}

static void
gossip_clock_init (GossipClock *clock)
{
}

/**
 * gossip_clock_now:
 * @clock: a #GossipClock
 *
 * Returns: monotonic time in microseconds
 */
gint64
gossip_clock_now (GossipClock *clock)
{
  g_return_val_if_fail (GOSSIP_IS_CLOCK (clock), 0);
  return GOSSIP_CLOCK_GET_CLASS (clock)->now (clock);
}

/**
 * gossip_clock_now_wall:
 * @clock: a #GossipClock
 *
 * Returns: wall-clock time in microseconds since the Unix epoch (virtual for
 *   a manual clock)
 */
gint64
gossip_clock_now_wall (GossipClock *clock)
{
  g_return_val_if_fail (GOSSIP_IS_CLOCK (clock), 0);
  return GOSSIP_CLOCK_GET_CLASS (clock)->now_wall (clock);
}

/**
 * gossip_clock_add_timer:
 * @clock: a #GossipClock
 * @delay_us: microseconds from now; negative counts as 0
 * @func: (scope notified): called once when the timer fires
 * @user_data: (closure): passed to @func
 * @destroy: (nullable): frees @user_data after the timer fired or was removed
 *
 * Schedules a one-shot timer.  It never fires from inside this call, even
 * with a zero delay.
 *
 * Returns: a non-zero timer id for gossip_clock_remove_timer()
 */
guint
gossip_clock_add_timer (GossipClock *clock, gint64 delay_us, GossipClockFunc func,
                        gpointer user_data, GDestroyNotify destroy)
{
  g_return_val_if_fail (GOSSIP_IS_CLOCK (clock), 0);
  g_return_val_if_fail (func != NULL, 0);
  return GOSSIP_CLOCK_GET_CLASS (clock)->add_timer (clock, MAX (delay_us, 0), func, user_data,
                                                    destroy);
}

/**
 * gossip_clock_remove_timer:
 * @clock: a #GossipClock
 * @id: a timer id that has not fired yet
 *
 * Cancels a timer.  Removing an id that already fired is a programmer error.
 */
void
gossip_clock_remove_timer (GossipClock *clock, guint id)
{
  g_return_if_fail (GOSSIP_IS_CLOCK (clock));
  g_return_if_fail (id != 0);
  GOSSIP_CLOCK_GET_CLASS (clock)->remove_timer (clock, id);
}

/**
 * gossip_clock_clear_timer:
 * @clock: a #GossipClock
 * @id: (inout): a timer id or 0
 *
 * Removes the timer if *@id is non-zero and sets *@id to 0.
 */
void
gossip_clock_clear_timer (GossipClock *clock, guint *id)
{
  guint old = *id;

  *id = 0;
  if (old != 0)
    gossip_clock_remove_timer (clock, old);
}

/* ------------------------------------------------------------------------ */
/* GossipMainClock: timers as GSources with microsecond ready times. */

#define GOSSIP_TYPE_MAIN_CLOCK (gossip_main_clock_get_type ())
G_DECLARE_FINAL_TYPE (GossipMainClock, gossip_main_clock, GOSSIP, MAIN_CLOCK, GossipClock)

struct _GossipMainClock
{
  GossipClock parent_instance;
  GMainContext *context;
  GHashTable *timers; /* id -> TimerSource (owned ref) */
  guint next_id;
};

G_DEFINE_FINAL_TYPE (GossipMainClock, gossip_main_clock, GOSSIP_TYPE_CLOCK)

typedef struct
{
  GSource source;
  GossipMainClock *clock; /* not owned: the clock destroys its sources in dispose */
  guint id;
  GossipClockFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} TimerSource;

static gboolean
timer_source_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  TimerSource *timer = (TimerSource *) source;

  /* Forget the timer before running it: the callback may add timers, remove
   * others, or drop the last reference to the clock. */
  g_hash_table_remove (timer->clock->timers, GUINT_TO_POINTER (timer->id));
  timer->func (timer->user_data);
  return G_SOURCE_REMOVE;
}

static void
timer_source_finalize (GSource *source)
{
  TimerSource *timer = (TimerSource *) source;

  if (timer->destroy != NULL)
    timer->destroy (timer->user_data);
}

static GSourceFuncs timer_source_funcs = {
  NULL, NULL, timer_source_dispatch, timer_source_finalize, NULL, NULL,
};

static gint64
main_clock_now (GossipClock *clock)
{
  return g_get_monotonic_time ();
}

static gint64
main_clock_now_wall (GossipClock *clock)
{
  return g_get_real_time ();
}

static guint
main_clock_add_timer (GossipClock *clock, gint64 delay_us, GossipClockFunc func, gpointer user_data,
                      GDestroyNotify destroy)
{
  GossipMainClock *self = GOSSIP_MAIN_CLOCK (clock);
  GSource *source = g_source_new (&timer_source_funcs, sizeof (TimerSource));
  TimerSource *timer = (TimerSource *) source;

  do
    timer->id = ++self->next_id;
  while (timer->id == 0 || g_hash_table_contains (self->timers, GUINT_TO_POINTER (timer->id)));
  timer->clock = self;
  timer->func = func;
  timer->user_data = user_data;
  timer->destroy = destroy;
  g_source_set_name (source, "gossip-timer");
  g_source_set_ready_time (source, g_get_monotonic_time () + delay_us);
  g_hash_table_insert (self->timers, GUINT_TO_POINTER (timer->id), source);
  g_source_attach (source, self->context);
  return timer->id;
}

static void
main_clock_remove_timer (GossipClock *clock, guint id)
{
  GossipMainClock *self = GOSSIP_MAIN_CLOCK (clock);
  GSource *source = g_hash_table_lookup (self->timers, GUINT_TO_POINTER (id));

  g_return_if_fail (source != NULL);
  g_source_destroy (source);
  g_hash_table_remove (self->timers, GUINT_TO_POINTER (id));
}

static void
gossip_main_clock_dispose (GObject *object)
{
  GossipMainClock *self = GOSSIP_MAIN_CLOCK (object);
  GHashTableIter iter;
  gpointer source;

  if (self->timers != NULL)
    {
      g_hash_table_iter_init (&iter, self->timers);
      while (g_hash_table_iter_next (&iter, NULL, &source))
        g_source_destroy (source);
      g_clear_pointer (&self->timers, g_hash_table_unref);
    }
  G_OBJECT_CLASS (gossip_main_clock_parent_class)->dispose (object);
}

static void
gossip_main_clock_finalize (GObject *object)
{
  GossipMainClock *self = GOSSIP_MAIN_CLOCK (object);

  g_main_context_unref (self->context);
  G_OBJECT_CLASS (gossip_main_clock_parent_class)->finalize (object);
}

static void
gossip_main_clock_class_init (GossipMainClockClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GossipClockClass *clock_class = GOSSIP_CLOCK_CLASS (klass);

  object_class->dispose = gossip_main_clock_dispose;
  object_class->finalize = gossip_main_clock_finalize;
  clock_class->now = main_clock_now;
  clock_class->now_wall = main_clock_now_wall;
  clock_class->add_timer = main_clock_add_timer;
  clock_class->remove_timer = main_clock_remove_timer;
}

static void
gossip_main_clock_init (GossipMainClock *self)
{
  self->timers = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                        (GDestroyNotify) g_source_unref);
}

/**
 * gossip_clock_new_for_context:
 * @context: (nullable): the context timers run on; %NULL for the global default
 *
 * Creates the real-time clock.  Timers are GSources attached to @context and
 * fire while that context is iterated.
 *
 * Returns: (transfer full): a new #GossipClock
 */
GossipClock *
gossip_clock_new_for_context (GMainContext *context)
{
  GossipMainClock *self = g_object_new (GOSSIP_TYPE_MAIN_CLOCK, NULL);

  self->context
      = context != NULL ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  return GOSSIP_CLOCK (self);
}

/**
 * gossip_clock_get_context:
 * @clock: a #GossipClock
 *
 * Returns: (transfer none) (nullable): the context of a real-time clock, or
 *   %NULL for a manual clock (which has none: time moves only when told)
 */
GMainContext *
gossip_clock_get_context (GossipClock *clock)
{
  g_return_val_if_fail (GOSSIP_IS_CLOCK (clock), NULL);
  if (GOSSIP_IS_MAIN_CLOCK (clock))
    return GOSSIP_MAIN_CLOCK (clock)->context;
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* GossipManualClock: virtual time, advanced only by the caller. */

/* A fixed start so runs are reproducible: 2026-01-01T00:00:00Z. */
#define MANUAL_WALL_START_US (G_GINT64_CONSTANT (1767225600) * G_USEC_PER_SEC)
/* Monotonic time starts at one second so that 0 never looks like "now". */
#define MANUAL_MONO_START_US G_USEC_PER_SEC

typedef struct
{
  gint64 deadline;
  guint64 seq; /* ties fire in the order they were added */
  guint id;
  GossipClockFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} ManualTimer;

struct _GossipManualClock
{
  GossipClock parent_instance;
  gint64 now;
  guint64 next_seq;
  guint next_id;
  GSequence *queue;  /* ManualTimer, ordered by (deadline, seq) */
  GHashTable *by_id; /* id -> GSequenceIter */
};

G_DEFINE_FINAL_TYPE (GossipManualClock, gossip_manual_clock, GOSSIP_TYPE_CLOCK)

static gint
manual_timer_compare (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const ManualTimer *ta = a, *tb = b;

  if (ta->deadline != tb->deadline)
    return ta->deadline < tb->deadline ? -1 : 1;
  if (ta->seq != tb->seq)
    return ta->seq < tb->seq ? -1 : 1;
  return 0;
}

static void
manual_timer_free (ManualTimer *timer)
{
  if (timer->destroy != NULL)
    timer->destroy (timer->user_data);
  g_free (timer);
}

static void
manual_timer_free_func (gpointer timer, gpointer user_data)
{
  manual_timer_free (timer);
}

static gint64
manual_clock_now (GossipClock *clock)
{
  return GOSSIP_MANUAL_CLOCK (clock)->now;
}

static gint64
manual_clock_now_wall (GossipClock *clock)
{
  return MANUAL_WALL_START_US + (GOSSIP_MANUAL_CLOCK (clock)->now - MANUAL_MONO_START_US);
}

static guint
manual_clock_add_timer (GossipClock *clock, gint64 delay_us, GossipClockFunc func,
                        gpointer user_data, GDestroyNotify destroy)
{
  GossipManualClock *self = GOSSIP_MANUAL_CLOCK (clock);
  ManualTimer *timer = g_new (ManualTimer, 1);
  GSequenceIter *iter;

  do
    timer->id = ++self->next_id;
  while (timer->id == 0 || g_hash_table_contains (self->by_id, GUINT_TO_POINTER (timer->id)));
  timer->deadline = self->now + delay_us;
  timer->seq = self->next_seq++;
  timer->func = func;
  timer->user_data = user_data;
  timer->destroy = destroy;
  iter = g_sequence_insert_sorted (self->queue, timer, manual_timer_compare, NULL);
  g_hash_table_insert (self->by_id, GUINT_TO_POINTER (timer->id), iter);
  return timer->id;
}

static void
manual_clock_remove_timer (GossipClock *clock, guint id)
{
  GossipManualClock *self = GOSSIP_MANUAL_CLOCK (clock);
  GSequenceIter *iter = g_hash_table_lookup (self->by_id, GUINT_TO_POINTER (id));

  g_return_if_fail (iter != NULL);
  g_hash_table_remove (self->by_id, GUINT_TO_POINTER (id));
  manual_timer_free (g_sequence_get (iter));
  g_sequence_remove (iter);
}

static void
gossip_manual_clock_finalize (GObject *object)
{
  GossipManualClock *self = GOSSIP_MANUAL_CLOCK (object);

  g_hash_table_unref (self->by_id);
  g_sequence_foreach (self->queue, manual_timer_free_func, NULL);
  g_sequence_free (self->queue);
  G_OBJECT_CLASS (gossip_manual_clock_parent_class)->finalize (object);
}

static void
gossip_manual_clock_class_init (GossipManualClockClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GossipClockClass *clock_class = GOSSIP_CLOCK_CLASS (klass);

  object_class->finalize = gossip_manual_clock_finalize;
  clock_class->now = manual_clock_now;
  clock_class->now_wall = manual_clock_now_wall;
  clock_class->add_timer = manual_clock_add_timer;
  clock_class->remove_timer = manual_clock_remove_timer;
}

static void
gossip_manual_clock_init (GossipManualClock *self)
{
  self->now = MANUAL_MONO_START_US;
  /* No destroy function: timers are unlinked before they run, freed after. */
  self->queue = g_sequence_new (NULL);
  self->by_id = g_hash_table_new (g_direct_hash, g_direct_equal);
}

/**
 * gossip_manual_clock_new:
 *
 * Creates a virtual clock.  Time stands still until
 * gossip_manual_clock_advance() or gossip_manual_clock_run_next() moves it.
 *
 * Returns: (transfer full): a new #GossipManualClock as a #GossipClock
 */
GossipClock *
gossip_manual_clock_new (void)
{
  return g_object_new (GOSSIP_TYPE_MANUAL_CLOCK, NULL);
}

/* Pops and runs the earliest timer if it is due by @limit. */
static gboolean
manual_clock_fire_one (GossipManualClock *self, gint64 limit)
{
  GSequenceIter *first = g_sequence_get_begin_iter (self->queue);
  ManualTimer *timer;

  if (g_sequence_iter_is_end (first))
    return FALSE;
  timer = g_sequence_get (first);
  if (timer->deadline > limit)
    return FALSE;
  self->now = MAX (self->now, timer->deadline);
  g_hash_table_remove (self->by_id, GUINT_TO_POINTER (timer->id));
  g_sequence_remove (first);
  timer->func (timer->user_data);
  manual_timer_free (timer);
  return TRUE;
}

/**
 * gossip_manual_clock_advance:
 * @clock: a #GossipManualClock
 * @delta_us: how far to move time, in microseconds
 *
 * Moves time forward, firing every timer that falls due on the way in
 * deadline order, including timers added by those callbacks.
 *
 * Returns: the number of timers fired
 */
guint
gossip_manual_clock_advance (GossipManualClock *clock, gint64 delta_us)
{
  gint64 target;
  guint fired = 0;

  g_return_val_if_fail (GOSSIP_IS_MANUAL_CLOCK (clock), 0);
  g_return_val_if_fail (delta_us >= 0, 0);
  target = clock->now + delta_us;
  g_object_ref (clock);
  while (manual_clock_fire_one (clock, target))
    fired++;
  clock->now = target;
  g_object_unref (clock);
  return fired;
}

/**
 * gossip_manual_clock_run_next:
 * @clock: a #GossipManualClock
 *
 * Jumps to the earliest pending timer and fires it.
 *
 * Returns: %FALSE when no timer was pending
 */
gboolean
gossip_manual_clock_run_next (GossipManualClock *clock)
{
  gboolean fired;

  g_return_val_if_fail (GOSSIP_IS_MANUAL_CLOCK (clock), FALSE);
  g_object_ref (clock);
  fired = manual_clock_fire_one (clock, G_MAXINT64);
  g_object_unref (clock);
  return fired;
}

/**
 * gossip_manual_clock_get_next_deadline:
 * @clock: a #GossipManualClock
 *
 * Returns: the monotonic time of the earliest pending timer, or -1 if none
 */
gint64
gossip_manual_clock_get_next_deadline (GossipManualClock *clock)
{
  GSequenceIter *first;

  g_return_val_if_fail (GOSSIP_IS_MANUAL_CLOCK (clock), -1);
  first = g_sequence_get_begin_iter (clock->queue);
  if (g_sequence_iter_is_end (first))
    return -1;
  return ((ManualTimer *) g_sequence_get (first))->deadline;
}

/**
 * gossip_manual_clock_get_pending:
 * @clock: a #GossipManualClock
 *
 * Returns: the number of timers not yet fired
 */
guint
gossip_manual_clock_get_pending (GossipManualClock *clock)
{
  g_return_val_if_fail (GOSSIP_IS_MANUAL_CLOCK (clock), 0);
  return g_hash_table_size (clock->by_id);
}
