/* test-transport-util.c: the helpers transport plugins share. */
#include "config.h"

#include <string.h>

#include "gossip/gossip-transport.h"

typedef struct
{
  GMainContext *context;
  GMutex lock;
  GCond cond;
  gboolean holding;
  gint64 hold_us;
} Holder;

/* Another thread owns the context for a while, as glib-networking's TLS
 * handshake thread does when it runs a certificate check through
 * g_main_context_invoke() on a context nobody iterates. */
static gpointer
hold_context (gpointer data)
{
  Holder *h = data;

  g_assert_true (g_main_context_acquire (h->context));
  g_mutex_lock (&h->lock);
  h->holding = TRUE;
  g_cond_signal (&h->cond);
  g_mutex_unlock (&h->lock);
  g_usleep (h->hold_us);
  g_main_context_release (h->context);
  return NULL;
}

static GThread *
start_holder (Holder *h, GMainContext *context, gint64 hold_us)
{
  GThread *thread;

  h->context = context;
  h->hold_us = hold_us;
  h->holding = FALSE;
  g_mutex_init (&h->lock);
  g_cond_init (&h->cond);
  thread = g_thread_new ("holder", hold_context, h);
  g_mutex_lock (&h->lock);
  while (!h->holding)
    g_cond_wait (&h->cond, &h->lock);
  g_mutex_unlock (&h->lock);
  return thread;
}

static void
stop_holder (Holder *h, GThread *thread)
{
  g_thread_join (thread);
  g_mutex_clear (&h->lock);
  g_cond_clear (&h->cond);
}

static void
test_push_free_context (void)
{
  GMainContext *context = g_main_context_new ();
  GError *error = NULL;

  g_assert_true (gossip_transport_push_context (context, &error));
  g_assert_no_error (error);
  g_assert_true (g_main_context_get_thread_default () == context);
  g_assert_true (g_main_context_is_owner (context));
  gossip_transport_pop_context (context);
  g_assert_false (g_main_context_is_owner (context));
  g_assert_true (g_main_context_get_thread_default () == NULL);
  g_main_context_unref (context);
}

/* Pushing while the context is iterated (owned already) nests. */
static gboolean
push_inside (gpointer data)
{
  GMainContext *context = data;
  GError *error = NULL;

  g_assert_true (gossip_transport_push_context (context, &error));
  g_assert_no_error (error);
  gossip_transport_pop_context (context);
  g_assert_true (g_main_context_is_owner (context));
  return G_SOURCE_REMOVE;
}

static void
test_push_while_iterating (void)
{
  GMainContext *context = g_main_context_new ();
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, push_inside, context, NULL);
  g_source_attach (idle, context);
  g_source_unref (idle);
  g_main_context_iteration (context, FALSE);
  g_assert_false (g_main_context_is_owner (context));
  g_main_context_unref (context);
}

/* The race: another thread holds the context for a moment.  A plain
 * g_main_context_push_thread_default() would fail to acquire it and the pop
 * after it would corrupt the owner count; the helper waits instead. */
static void
test_push_waits_for_brief_owner (void)
{
  GMainContext *context = g_main_context_new ();
  GError *error = NULL;
  Holder h;
  GThread *thread = start_holder (&h, context, 100 * 1000);

  g_assert_false (g_main_context_acquire (context)); /* it is held */
  g_assert_true (gossip_transport_push_context (context, &error));
  g_assert_no_error (error);
  g_assert_true (g_main_context_is_owner (context));
  g_assert_true (g_main_context_get_thread_default () == context);
  gossip_transport_pop_context (context);
  stop_holder (&h, thread);
  /* The owner count is sound: the context is free for anyone. */
  g_assert_true (g_main_context_acquire (context));
  g_main_context_release (context);
  g_main_context_unref (context);
}

/* Held for longer than the helper waits: an error, the context untouched. */
static void
test_push_refused_when_owned_elsewhere (void)
{
  GMainContext *context = g_main_context_new ();
  GError *error = NULL;
  Holder h;
  GThread *thread = start_holder (&h, context, 3 * G_USEC_PER_SEC);

  g_assert_false (gossip_transport_push_context (context, &error));
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED);
  g_assert_nonnull (strstr (error->message, "another thread"));
  g_clear_error (&error);
  g_assert_true (g_main_context_get_thread_default () == NULL);
  stop_holder (&h, thread);
  g_assert_true (g_main_context_acquire (context));
  g_main_context_release (context);
  g_main_context_unref (context);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport-util/push-context/free", test_push_free_context);
  g_test_add_func ("/transport-util/push-context/while-iterating", test_push_while_iterating);
  g_test_add_func ("/transport-util/push-context/waits-for-brief-owner",
                   test_push_waits_for_brief_owner);
  g_test_add_func ("/transport-util/push-context/refused-when-owned-elsewhere",
                   test_push_refused_when_owned_elsewhere);
  return g_test_run ();
}
