/* test-messaging.c: user messages, requests, broadcasts and metadata between
 * whole clusters: on the memory transport in virtual time (reproducible
 * from --seed), and on real loopback sockets. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cluster-harness.h"

#define SEC      G_USEC_PER_SEC
#define MSG_TYPE (GOSSIP_MESSAGE_TYPE_USER + 1)
#define REQ_TYPE (GOSSIP_MESSAGE_TYPE_USER + 2)

static const char *const lan[] = { "health", "profile", "lan", NULL };

/* What each node received: deliveries per (origin, number). */
typedef struct
{
  GHashTable *counts; /* "origin/number" -> count */
  guint total;
  char *last_sender;
  GVariant *last_payload;
} Inbox;

static Inbox *
inbox_new (void)
{
  Inbox *in = g_new0 (Inbox, 1);

  in->counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return in;
}

static void
inbox_free (gpointer data)
{
  Inbox *in = data;

  g_hash_table_unref (in->counts);
  g_free (in->last_sender);
  g_clear_pointer (&in->last_payload, g_variant_unref);
  g_free (in);
}

static guint
inbox_count (Inbox *in, const char *sender, gint64 number)
{
  g_autofree char *key = g_strdup_printf ("%s/%" G_GINT64_FORMAT, sender, number);
  return GPOINTER_TO_UINT (g_hash_table_lookup (in->counts, key));
}

static gboolean
on_message (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
            gpointer user_data, GError **error)
{
  Inbox *in = user_data;
  g_autoptr (GVariant) number = NULL;
  char *key;

  (void) cluster;
  g_assert_cmpuint (type, ==, MSG_TYPE);
  in->total++;
  g_free (in->last_sender);
  in->last_sender = g_strdup (gossip_node_get_id (sender));
  g_clear_pointer (&in->last_payload, g_variant_unref);
  in->last_payload = payload ? g_variant_ref (payload) : NULL;
  number = payload ? g_variant_lookup_value (payload, "n", NULL) : NULL;
  if (number == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no number");
      return FALSE;
    }
  {
    g_autoptr (GVariant) n = gossip_variant_coerce (number, G_VARIANT_TYPE_INT64, NULL);
    key = g_strdup_printf ("%s/%" G_GINT64_FORMAT, gossip_node_get_id (sender),
                           g_variant_get_int64 (n));
  }
  g_hash_table_insert (
      in->counts, key,
      GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (in->counts, key)) + 1));
  return TRUE;
}

static GVariant *
numbered (gint64 n, gsize pad)
{
  GVariantDict d;
  g_autofree char *padding = g_strnfill (pad, 'x');

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "n", "x", n);
  g_variant_dict_insert (&d, "pad", "s", padding);
  return g_variant_dict_end (&d);
}

static GPtrArray *
attach_inboxes (Harness *h, gboolean forward)
{
  GPtrArray *inboxes = g_ptr_array_new_with_free_func (inbox_free);

  for (guint i = 0; i < h->nodes->len; i++)
    {
      g_autoptr (GError) error = NULL;
      Inbox *in = inbox_new ();

      g_ptr_array_add (inboxes, in);
      if (forward)
        g_assert_true (
            gossip_cluster_handle (harness_node (h, i), MSG_TYPE, on_message, in, NULL, &error));
      else
        g_assert_true (gossip_cluster_handle_no_forward (harness_node (h, i), MSG_TYPE, on_message,
                                                         in, NULL, &error));
      g_assert_no_error (error);
    }
  return inboxes;
}

static Harness *
converged_cluster (guint n, gboolean virtual_time, const char *const *settings)
{
  Harness *h = harness_new (n, virtual_time, settings);

  harness_join_all_to (h, 0);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (n), 60 * SEC))
    {
      harness_dump (h);
      g_error ("%u nodes did not converge", n);
    }
  return h;
}

/* ------------------------------------------------------------------------ */

static void
test_handler_registration (void)
{
  g_autoptr (Harness) h = harness_new (1, TRUE, lan);
  GossipCluster *c = harness_node (h, 0);
  g_autoptr (GError) error = NULL;
  Inbox *in = inbox_new ();

  g_assert_false (gossip_cluster_handle (c, 5, on_message, NULL, NULL, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_RESERVED_TYPE);
  g_clear_error (&error);
  g_assert_false (gossip_cluster_handle (c, 70000, on_message, NULL, NULL, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_RESERVED_TYPE);
  g_clear_error (&error);
  g_assert_true (gossip_cluster_handle (c, MSG_TYPE, on_message, in, inbox_free, &error));
  g_assert_false (gossip_cluster_handle_no_forward (c, MSG_TYPE, on_message, NULL, NULL, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_ALREADY_HANDLED);
  g_clear_error (&error);
  g_assert_false (gossip_cluster_broadcast (c, 127, NULL, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_RESERVED_TYPE);
  g_clear_error (&error);
  g_assert_true (gossip_cluster_unhandle (c, MSG_TYPE));
  g_assert_false (gossip_cluster_unhandle (c, MSG_TYPE));
  gossip_cluster_stop (c);
  g_assert_false (gossip_cluster_broadcast (c, MSG_TYPE, NULL, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING);
}

typedef struct
{
  gboolean done;
  GVariant *reply;
  GError *error;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->reply, g_variant_unref);
  g_clear_error (&r->error);
  r->done = FALSE;
}

static void
request_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Result *r = data;

  r->reply = gossip_cluster_request_finish (GOSSIP_CLUSTER (source), res, &r->error);
  r->done = TRUE;
}

static void
reliable_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Result *r = data;

  gossip_cluster_send_to_reliable_finish (GOSSIP_CLUSTER (source), res, &r->error);
  r->done = TRUE;
}

static gboolean
result_done (Harness *h, gpointer data)
{
  (void) h;
  return ((Result *) data)->done;
}

static GVariant *
on_request (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
            gpointer user_data, GError **error)
{
  const char *text = NULL;

  (void) cluster;
  (void) user_data;
  g_assert_cmpuint (type, ==, REQ_TYPE);
  if (payload == NULL || !g_variant_is_of_type (payload, G_VARIANT_TYPE_STRING))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "want a string");
      return NULL;
    }
  text = g_variant_get_string (payload, NULL);
  if (strcmp (text, "fail") == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "you asked me to fail");
      return NULL;
    }
  return g_variant_new_take_string (
      g_strdup_printf ("%s from %s: %s", gossip_node_get_id (sender),
                       gossip_node_get_id (gossip_cluster_get_local_node (cluster)), text));
}

static gboolean
inbox_total_at_least (Harness *h, gpointer data)
{
  (void) h;
  return ((Inbox *) data)->total >= 1;
}

static void
run_send_variants (gboolean virtual_time)
{
  g_autoptr (Harness) h = converged_cluster (4, virtual_time, lan);
  g_autoptr (GPtrArray) inboxes = attach_inboxes (h, FALSE);
  GossipCluster *a = harness_node (h, 0), *b = harness_node (h, 1);
  g_autoptr (GossipNode) bn = g_object_ref (gossip_cluster_get_node (a, "node-001"));
  g_autoptr (GError) error = NULL;
  Inbox *bin = g_ptr_array_index (inboxes, 1);
  Result r = { 0 };
  guint64 dgrams, streams;

  /* send_to, small: a datagram. */
  dgrams = gossip_cluster_get_counter (a, "datagrams-out");
  g_assert_true (gossip_cluster_send_to (a, bn, MSG_TYPE, numbered (1, 10), &error));
  g_assert_no_error (error);
  g_assert_true (harness_run_until (h, inbox_total_at_least, bin, 5 * SEC));
  g_assert_cmpuint (inbox_count (bin, "node-000", 1), ==, 1);
  g_assert_cmpuint (gossip_cluster_get_counter (a, "datagrams-out"), >, dgrams);

  /* send_to, bigger than a datagram: the reliable path. */
  bin->total = 0;
  streams = gossip_cluster_get_counter (a, "stream-frames-out");
  g_assert_true (gossip_cluster_send_to (a, bn, MSG_TYPE, numbered (2, 6000), &error));
  g_assert_true (harness_run_until (h, inbox_total_at_least, bin, 5 * SEC));
  g_assert_cmpuint (inbox_count (bin, "node-000", 2), ==, 1);
  g_assert_cmpuint (gossip_cluster_get_counter (a, "stream-frames-out"), ==, streams + 1);
  {
    g_autoptr (GVariant) pad = g_variant_lookup_value (bin->last_payload, "pad", NULL);
    g_assert_cmpuint (strlen (g_variant_get_string (pad, NULL)), ==, 6000);
  }

  /* send_to_reliable, small: still the reliable path, and completion. */
  bin->total = 0;
  streams = gossip_cluster_get_counter (a, "stream-frames-out");
  gossip_cluster_send_to_reliable_async (a, bn, MSG_TYPE, numbered (3, 0), NULL, reliable_done, &r);
  g_assert_true (harness_run_until (h, result_done, &r, 5 * SEC));
  g_assert_no_error (r.error);
  g_assert_true (harness_run_until (h, inbox_total_at_least, bin, 5 * SEC));
  g_assert_cmpuint (inbox_count (bin, "node-000", 3), ==, 1);
  g_assert_cmpuint (gossip_cluster_get_counter (a, "stream-frames-out"), ==, streams + 1);
  result_clear (&r);

  /* Request and reply. */
  g_assert_true (gossip_cluster_handle_with_reply (b, REQ_TYPE, on_request, NULL, NULL, &error));
  gossip_cluster_request_async (a, bn, REQ_TYPE, g_variant_new_string ("hello"), 0, NULL,
                                request_done, &r);
  g_assert_true (harness_run_until (h, result_done, &r, 10 * SEC));
  g_assert_no_error (r.error);
  g_assert_cmpstr (g_variant_get_string (r.reply, NULL), ==, "node-000 from node-001: hello");
  result_clear (&r);

  /* A big request and a big reply go over the reliable path. */
  {
    g_autofree char *big = g_strnfill (5000, 'y');
    gossip_cluster_request_async (a, bn, REQ_TYPE, g_variant_new_string (big), 0, NULL,
                                  request_done, &r);
    g_assert_true (harness_run_until (h, result_done, &r, 10 * SEC));
    g_assert_no_error (r.error);
    g_assert_true (g_str_has_suffix (g_variant_get_string (r.reply, NULL), big));
    result_clear (&r);
  }

  /* The remote handler's error comes back. */
  gossip_cluster_request_async (a, bn, REQ_TYPE, g_variant_new_string ("fail"), 0, NULL,
                                request_done, &r);
  g_assert_true (harness_run_until (h, result_done, &r, 10 * SEC));
  g_assert_error (r.error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_REMOTE);
  g_assert_nonnull (strstr (r.error->message, "you asked me to fail"));
  result_clear (&r);

  /* No handler there. */
  gossip_cluster_request_async (a, bn, REQ_TYPE + 1, NULL, 0, NULL, request_done, &r);
  g_assert_true (harness_run_until (h, result_done, &r, 10 * SEC));
  g_assert_error (r.error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE);
  result_clear (&r);
  g_assert_cmpuint (gossip_cluster_get_counter (b, "dropped-unhandled"), >=, 1);

  /* Sending to oneself is refused. */
  g_assert_false (
      gossip_cluster_send_to (a, gossip_cluster_get_local_node (a), MSG_TYPE, NULL, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE);
  g_clear_error (&error);

  /* broadcast and send between real nodes. */
  g_assert_true (gossip_cluster_broadcast (a, MSG_TYPE, numbered (10, 0), &error));
  g_assert_true (gossip_cluster_send_reliable (a, MSG_TYPE, numbered (11, 0), &error));
  g_assert_no_error (error);
  harness_run (h, 3 * SEC);
  for (guint i = 1; i < 4; i++)
    {
      Inbox *in = g_ptr_array_index (inboxes, i);
      g_assert_cmpuint (inbox_count (in, "node-000", 10), ==, 1);
      /* send_reliable reaches fanout (3) peers: all three here. */
      g_assert_cmpuint (inbox_count (in, "node-000", 11), ==, 1);
    }
}

static void
test_send_variants_memory (void)
{
  run_send_variants (TRUE);
}

static void
test_send_variants_sockets (void)
{
  run_send_variants (FALSE);
}

static void
test_request_timeout_and_cancel (void)
{
  g_autoptr (Harness) h = converged_cluster (3, TRUE, lan);
  GossipCluster *a = harness_node (h, 0);
  g_autoptr (GossipNode) bn = g_object_ref (gossip_cluster_get_node (a, "node-001"));
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  Result r = { 0 };
  gint64 start;

  g_assert_true (gossip_cluster_handle_with_reply (harness_node (h, 1), REQ_TYPE, on_request, NULL,
                                                   NULL, &error));
  /* The target is paused: no answer, so the timeout fires. */
  gossip_memory_network_set_paused (h->network, "node-001", TRUE);
  start = harness_now (h);
  gossip_cluster_request_async (a, bn, REQ_TYPE, g_variant_new_string ("x"), 300, NULL,
                                request_done, &r);
  g_assert_true (harness_run_until (h, result_done, &r, 5 * SEC));
  g_assert_error (r.error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TIMEOUT);
  g_assert_cmpint (harness_now (h) - start, >=, 300000);
  g_assert_cmpuint (gossip_cluster_get_counter (a, "request-timeouts"), ==, 1);
  result_clear (&r);

  /* Cancelled before any answer. */
  gossip_cluster_request_async (a, bn, REQ_TYPE, g_variant_new_string ("x"), 0, cancellable,
                                request_done, &r);
  g_cancellable_cancel (cancellable);
  g_assert_true (harness_run_until (h, result_done, &r, 5 * SEC));
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&r);
  gossip_memory_network_set_paused (h->network, "node-001", FALSE);

  /* A request outstanding when the cluster stops fails, exactly once. */
  gossip_memory_network_set_paused (h->network, "node-001", TRUE);
  gossip_cluster_request_async (a, bn, REQ_TYPE, g_variant_new_string ("x"), 0, NULL, request_done,
                                &r);
  harness_crash (h, 0);
  g_assert_true (harness_run_until (h, result_done, &r, 5 * SEC));
  g_assert_error (r.error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING);
  result_clear (&r);
  gossip_memory_network_set_paused (h->network, "node-001", FALSE);

  /* A dead member is unreachable: refused at once. */
  {
    HarnessSeeState dead = { 0, GOSSIP_NODE_STATE_DEAD };
    GossipCluster *c = harness_node (h, 2);

    g_assert_true (harness_run_until (h, harness_all_see, &dead, 60 * SEC));
    gossip_cluster_request_async (c, gossip_cluster_get_node (c, "node-000"), REQ_TYPE, NULL, 0,
                                  NULL, request_done, &r);
    g_assert_true (harness_run_until (h, result_done, &r, SEC));
    g_assert_error (r.error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE);
    result_clear (&r);
  }
}

/* Every node but the originators has every broadcast exactly once. */
typedef struct
{
  GPtrArray *inboxes;
  guint n_messages;
  guint originator; /* all messages from this node */
  guint skip;       /* a crashed node, or G_MAXUINT */
} Expect;

static gboolean
all_delivered (Harness *h, gpointer data)
{
  Expect *e = data;
  g_autofree char *origin = harness_node_name (e->originator);

  for (guint i = 0; i < h->nodes->len; i++)
    {
      Inbox *in = g_ptr_array_index (e->inboxes, i);
      if (i == e->originator || i == e->skip)
        continue;
      for (guint m = 0; m < e->n_messages; m++)
        if (inbox_count (in, origin, m) == 0)
          return FALSE;
    }
  return TRUE;
}

static void
assert_exactly_once (Harness *h, Expect *e)
{
  g_autofree char *origin = harness_node_name (e->originator);

  for (guint i = 0; i < h->nodes->len; i++)
    {
      Inbox *in = g_ptr_array_index (e->inboxes, i);
      if (i == e->skip)
        continue;
      if (i == e->originator)
        {
          g_assert_cmpuint (in->total, ==, 0); /* never delivered to itself */
          continue;
        }
      for (guint m = 0; m < e->n_messages; m++)
        g_assert_cmpuint (inbox_count (in, origin, m), ==, 1);
      g_assert_cmpuint (in->total, ==, e->n_messages);
    }
}

/* At 20 % loss the default retransmission budget (retransmit_mult 4 x
 * log10 N) leaves, about one run in ten, one node of 100 without one of
 * the 20 broadcasts once every copy is spent: broadcasts have no
 * anti-entropy yet (docs/MESSAGING.md).  The lossy run tests delivery and
 * exactly-once with a budget of 6. */
static const char *const lan_lossy[]
    = { "health", "profile", "lan", "gossip", "retransmit_mult", "6", NULL };

static void
run_broadcast (guint n, double loss, guint n_messages)
{
  g_autoptr (Harness) h = converged_cluster (n, TRUE, loss > 0 ? lan_lossy : lan);
  g_autoptr (GPtrArray) inboxes = attach_inboxes (h, TRUE);
  Expect e = { inboxes, n_messages, 7 % n, G_MAXUINT };
  g_autoptr (GError) error = NULL;

  if (loss > 0)
    gossip_memory_network_set_default_link (h->network, loss, 200, 100);
  for (guint m = 0; m < n_messages; m++)
    {
      g_assert_true (gossip_cluster_broadcast (harness_node (h, e.originator), MSG_TYPE,
                                               numbered (m, 50), &error));
      g_assert_no_error (error);
    }
  if (!harness_run_until (h, all_delivered, &e, 60 * SEC))
    {
      harness_dump (h);
      g_test_fail_printf ("not every node got every broadcast (loss %.0f%%)", loss * 100);
      return;
    }
  /* Let retransmissions finish: still exactly once. */
  harness_run (h, 20 * SEC);
  assert_exactly_once (h, &e);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 1), "broadcasts-duplicate"), >, 0);
}

static void
test_broadcast_100 (void)
{
  run_broadcast (100, 0.0, 20);
}

static void
test_broadcast_100_lossy (void)
{
  run_broadcast (100, 0.2, 20);
}

static void
test_broadcast_originator_dies (void)
{
  g_autoptr (Harness) h = converged_cluster (30, TRUE, lan);
  g_autoptr (GPtrArray) inboxes = attach_inboxes (h, TRUE);
  Expect e = { inboxes, 1, 3, 3 };
  g_autoptr (GError) error = NULL;

  g_assert_true (
      gossip_cluster_broadcast (harness_node (h, 3), MSG_TYPE, numbered (0, 10), &error));
  /* The first fan-out leaves and arrives (the memory network takes up to
   * 300 us, and cancels frames of a node that is gone), then the node
   * dies: before any retransmission, and before its peers relay further. */
  harness_run (h, 1000);
  harness_crash (h, 3);
  g_assert_true (harness_run_until (h, all_delivered, &e, 30 * SEC));
  harness_run (h, 10 * SEC);
  assert_exactly_once (h, &e);
}

/* send: a forwarding handler spreads it; a non-forwarding one stops it. */
static void
test_send_forwarding (void)
{
  g_autoptr (Harness) h = converged_cluster (20, TRUE, lan);
  g_autoptr (GPtrArray) fwd = attach_inboxes (h, TRUE);
  g_autoptr (GError) error = NULL;
  guint reached = 0;

  g_assert_true (gossip_cluster_send (harness_node (h, 0), MSG_TYPE, numbered (1, 0), &error));
  harness_run (h, 5 * SEC);
  for (guint i = 1; i < 20; i++)
    {
      Inbox *in = g_ptr_array_index (fwd, i);
      g_assert_cmpuint (in->total, <=, 1);
      reached += in->total;
    }
  g_assert_cmpuint (reached, >, 3); /* more than the first fan-out */

  for (guint i = 0; i < 20; i++)
    gossip_cluster_unhandle (harness_node (h, i), MSG_TYPE);
  {
    g_autoptr (GPtrArray) local = attach_inboxes (h, FALSE);
    reached = 0;
    g_assert_true (gossip_cluster_send (harness_node (h, 0), MSG_TYPE, numbered (2, 0), &error));
    harness_run (h, 5 * SEC);
    for (guint i = 1; i < 20; i++)
      reached += ((Inbox *) g_ptr_array_index (local, i))->total;
    g_assert_cmpuint (reached, ==, 3); /* exactly the fan-out */
  }
}

static void
test_queue_full (void)
{
  const char *const settings[]
      = { "health", "profile", "lan", "messages", "max_queued", "16", NULL };
  g_autoptr (Harness) h = converged_cluster (2, TRUE, settings);
  GossipCluster *a = harness_node (h, 0);
  g_autoptr (GError) error = NULL;
  guint sent = 0;

  while (gossip_cluster_broadcast (a, MSG_TYPE, numbered (sent, 0), &error))
    sent++;
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_QUEUE_FULL);
  g_assert_cmpuint (sent, ==, 16);
  g_assert_cmpuint (gossip_cluster_get_queue_depth (a), >=, 16);
  g_clear_error (&error);
  harness_run (h, SEC);
  g_assert_true (gossip_cluster_broadcast (a, MSG_TYPE, numbered (sent, 0), &error));
}

/* A malformed broadcast entry is counted and dropped, never delivered. */
static void
test_unhandled_counted (void)
{
  g_autoptr (Harness) h = converged_cluster (3, TRUE, lan);
  g_autoptr (GError) error = NULL;

  g_assert_true (gossip_cluster_send (harness_node (h, 0), MSG_TYPE + 7, NULL, &error));
  harness_run (h, 2 * SEC);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 1), "dropped-unhandled")
                        + gossip_cluster_get_counter (harness_node (h, 2), "dropped-unhandled"),
                    ==, 2);
}

/* ------------------------------------------------------------------------ */
/* Hostile input: well-framed messages with bad content are counted and
 * dropped, and the node goes on working. */

static GVariant *
dict (const char *first_key, ...)
{
  GVariantBuilder b;
  va_list args;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  va_start (args, first_key);
  for (const char *key = first_key; key != NULL; key = va_arg (args, const char *))
    g_variant_builder_add (&b, "{sv}", key, va_arg (args, GVariant *));
  va_end (args);
  return g_variant_builder_end (&b);
}

static void
test_hostile_messages (void)
{
  g_autoptr (Harness) h = converged_cluster (2, FALSE, lan);
  g_autoptr (GPtrArray) inboxes = attach_inboxes (h, TRUE);
  GossipCluster *victim = harness_node (h, 0);
  g_autoptr (GError) error = NULL;
  GossipPlugin *plugin = gossip_plugin_load (GOSSIP_PLUGIN_KIND_CODEC, "msgpack", NULL, &error);
  g_autoptr (GossipPipeline) pipeline = NULL;
  g_autoptr (GSocket) sock
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_autoptr (GSocketAddress) to = NULL;
  guint64 now_ms = (guint64) (g_get_real_time () / 1000);
  guint64 malformed_before = gossip_cluster_get_counter (victim, "dropped-malformed");
  GVariant *bad_broadcast_entry
      = dict ("t", g_variant_new_uint64 (15), "o", g_variant_new_string (""), NULL);
  GVariant *messages[] = {
    /* A broadcast missing its id; one with a reserved user type. */
    dict ("t", g_variant_new_uint64 (15), "ut", g_variant_new_uint64 (200), NULL),
    dict ("t", g_variant_new_uint64 (15), "o", g_variant_new_string ("evil"), "e",
          g_variant_new_uint64 (1), "s", g_variant_new_uint64 (1), "ut", g_variant_new_uint64 (5),
          "h", g_variant_new_uint64 (3), "ts", g_variant_new_uint64 (now_ms), NULL),
    /* A user type nobody handles. */
    dict ("t", g_variant_new_uint64 (13), "f", g_variant_new_string ("evil"), "ut",
          g_variant_new_uint64 (999), NULL),
    /* A malformed broadcast piggybacked on a gossip carrier. */
    dict ("t", g_variant_new_uint64 (12), "f", g_variant_new_string ("evil"), "pb",
          g_variant_new_array (G_VARIANT_TYPE_VARIANT,
                               (GVariant *[]){ g_variant_new_variant (bad_broadcast_entry) }, 1),
          NULL),
    /* Replies nobody asked for. */
    dict ("t", g_variant_new_uint64 (14), "s", g_variant_new_uint64 (987654321), "f",
          g_variant_new_string ("evil"), NULL),
    dict ("t", g_variant_new_uint64 (17), "s", g_variant_new_uint64 (987654322), "f",
          g_variant_new_string ("evil"), "n", g_variant_new_string ("node-001"), "mv",
          g_variant_new_uint64 (G_MAXUINT64), "m", g_variant_new_string ("junk"), NULL),
    /* An alive update whose metadata is junk. */
    dict ("t", g_variant_new_uint64 (5), "n", g_variant_new_string ("evil"), "i",
          g_variant_new_uint64 (1), "a", g_variant_new_string ("127.0.0.1:9"), "mv",
          g_variant_new_uint64 (5), "m", g_variant_new_string ("junk"), NULL),
    /* A broadcast far older than the replay window. */
    dict ("t", g_variant_new_uint64 (15), "o", g_variant_new_string ("evil"), "e",
          g_variant_new_uint64 (1), "s", g_variant_new_uint64 (2), "ut",
          g_variant_new_uint64 (MSG_TYPE), "h", g_variant_new_uint64 (3), "ts",
          g_variant_new_uint64 (1000), "v", numbered (99, 0), NULL),
    /* A metadata request by datagram. */
    dict ("t", g_variant_new_uint64 (16), "s", g_variant_new_uint64 (1), "f",
          g_variant_new_string ("evil"), "n", g_variant_new_string ("node-000"), NULL),
    /* A fresh broadcast claiming a huge hop count: delivered once, relayed
     * no further than our own limit. */
    dict ("t", g_variant_new_uint64 (15), "o", g_variant_new_string ("evil"), "e",
          g_variant_new_uint64 (1), "s", g_variant_new_uint64 (3), "ut",
          g_variant_new_uint64 (MSG_TYPE), "h", g_variant_new_uint64 (G_MAXUINT64), "ts",
          g_variant_new_uint64 (now_ms), "r", g_variant_new_boolean (TRUE), "v", numbered (7, 0),
          NULL),
  };

  g_assert_no_error (error);
  pipeline = gossip_pipeline_new (gossip_plugin_get_vtable (plugin), NULL, -1, NULL, 512,
                                  4 * 1024 * 1024, &error);
  g_assert_no_error (error);
  {
    const char *address = harness_address (h, 0);
    const char *colon = strrchr (address, ':');
    g_autofree char *host = g_strndup (address, (gsize) (colon - address));
    to = g_inet_socket_address_new_from_string (host, (guint) atoi (colon + 1));
  }
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
      {
        g_autoptr (GBytes) frame = gossip_pipeline_encode (pipeline, messages[i], &error);
        g_assert_no_error (error);
        g_assert_cmpint (g_socket_send_to (sock, to, g_bytes_get_data (frame, NULL),
                                           g_bytes_get_size (frame), NULL, &error),
                         ==, (gssize) g_bytes_get_size (frame));
      }
  harness_run (h, SEC);

  g_assert_cmpuint (gossip_cluster_get_counter (victim, "dropped-malformed") - malformed_before, >=,
                    2 * 4);
  g_assert_cmpuint (gossip_cluster_get_counter (victim, "dropped-unhandled"), >=, 2);
  g_assert_cmpuint (gossip_cluster_get_counter (victim, "late-acks"), >=, 4);
  g_assert_cmpuint (gossip_cluster_get_counter (victim, "dropped-metadata"), >=, 1);
  g_assert_cmpuint (gossip_cluster_get_counter (victim, "broadcasts-expired"), ==, 2);
  /* The fresh broadcast: delivered once (the second copy is a duplicate). */
  g_assert_cmpuint (inbox_count (g_ptr_array_index (inboxes, 0), "evil", 7), ==, 1);
  g_assert_cmpuint (inbox_count (g_ptr_array_index (inboxes, 0), "evil", 99), ==, 0);
  g_assert_cmpuint (gossip_cluster_get_counter (victim, "broadcasts-duplicate"), >=, 1);
  /* ... and the node still works. */
  g_assert_true (gossip_cluster_broadcast (victim, MSG_TYPE, numbered (1, 0), &error));
  g_assert_true (
      harness_run_until (h, inbox_total_at_least, g_ptr_array_index (inboxes, 1), 5 * SEC));
  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    g_variant_unref (messages[i]);
}

/* ------------------------------------------------------------------------ */
/* Metadata */

static void
count_meta_change (GossipCluster *cluster, GossipNode *node, gpointer data)
{
  (void) cluster;
  (void) node;
  (*(guint *) data)++;
}

typedef struct
{
  guint subject;
  const char *key;
  gint64 value;
} MetaWant;

static gboolean
all_see_meta (Harness *h, gpointer data)
{
  MetaWant *w = data;
  g_autofree char *id = harness_node_name (w->subject);

  for (guint i = 0; i < h->nodes->len; i++)
    {
      GossipNode *n;
      if (harness_node (h, i) == NULL)
        continue;
      n = gossip_cluster_get_node (harness_node (h, i), id);
      if (n == NULL || gossip_node_get_meta_int64 (n, w->key, -1) != w->value)
        return FALSE;
    }
  return TRUE;
}

static void
test_metadata_types (void)
{
  g_autoptr (Harness) h = converged_cluster (5, TRUE, lan);
  GossipCluster *a = harness_node (h, 2);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) when = g_date_time_new_utc (2026, 11, 26, 8, 30, 15.123456);
  g_autoptr (GBytes) blob = g_bytes_new_static ("\0\1\2\3\377", 5);
  guint changes[5] = { 0 };
  MetaWant want = { 2, "i", -42 };

  for (guint i = 0; i < 5; i++)
    g_signal_connect (harness_node (h, i), "node-metadata-changed", G_CALLBACK (count_meta_change),
                      &changes[i]);
  g_assert_true (gossip_cluster_set_meta_string (a, "s", "zone-a", &error));
  g_assert_true (gossip_cluster_set_meta_boolean (a, "b", TRUE, &error));
  g_assert_true (gossip_cluster_set_meta_uint64 (a, "u", G_MAXUINT64, &error));
  g_assert_true (gossip_cluster_set_meta_double (a, "d", 2.5, &error));
  g_assert_true (gossip_cluster_set_meta_timestamp (a, "ts", when, &error));
  g_assert_true (gossip_cluster_set_meta_bytes (a, "y", blob, &error));
  g_assert_true (gossip_cluster_set_meta_int64 (a, "i", -42, &error));
  g_assert_no_error (error);
  g_assert_true (harness_run_until (h, all_see_meta, &want, 10 * SEC));

  for (guint i = 0; i < 5; i++)
    {
      GossipNode *n = gossip_cluster_get_node (harness_node (h, i), "node-002");
      g_autoptr (GDateTime) t = gossip_node_get_meta_timestamp (n, "ts");
      g_autoptr (GBytes) y = gossip_node_get_meta_bytes (n, "y");
      g_auto (GStrv) keys = gossip_node_list_meta_keys (n);

      g_assert_cmpstr (gossip_node_get_meta_string (n, "s", NULL), ==, "zone-a");
      g_assert_true (gossip_node_get_meta_boolean (n, "b", FALSE));
      g_assert_cmpuint (gossip_node_get_meta_uint64 (n, "u", 0), ==, G_MAXUINT64);
      g_assert_cmpfloat (gossip_node_get_meta_double (n, "d", 0), ==, 2.5);
      g_assert_nonnull (t);
      g_assert_true (g_date_time_equal (t, when));
      g_assert_true (g_bytes_equal (y, blob));
      g_assert_cmpint (gossip_node_get_meta_type (n, "ts"), ==, GOSSIP_META_TYPE_TIMESTAMP);
      g_assert_cmpint (gossip_node_get_meta_type (n, "i"), ==, GOSSIP_META_TYPE_INT64);
      g_assert_cmpint (gossip_node_get_meta_type (n, "nope"), ==, GOSSIP_META_TYPE_NONE);
      /* Getters of another type give the default. */
      g_assert_cmpint (gossip_node_get_meta_int64 (n, "s", 7), ==, 7);
      g_assert_cmpuint (g_strv_length (keys), ==, 7);
      g_assert_cmpstr (keys[0], ==, "b");
      /* All seven changes in one turn: one update, so one signal on every
       * other node; the local node signals each change as it is made. */
      g_assert_cmpuint (changes[i], ==, i == 2 ? 7 : 1);
    }

  /* Delete spreads too. */
  g_assert_true (gossip_cluster_delete_meta (a, "s", &error));
  want.value = 43;
  g_assert_true (gossip_cluster_set_meta_int64 (a, "i", 43, &error));
  g_assert_true (harness_run_until (h, all_see_meta, &want, 10 * SEC));
  for (guint i = 0; i < 5; i++)
    g_assert_null (gossip_node_get_meta_string (
        gossip_cluster_get_node (harness_node (h, i), "node-002"), "s", NULL));

  /* Bad keys and sizes are refused, leaving the map as it was. */
  g_assert_false (gossip_cluster_set_meta_string (a, "", "x", &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (gossip_cluster_set_meta_string (a, "bad\nkey", "x", &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID);
  g_clear_error (&error);
  {
    g_autoptr (GBytes) huge = g_bytes_new_take (g_malloc0 (70 * 1024), 70 * 1024);
    g_assert_false (gossip_cluster_set_meta_bytes (a, "huge", huge, &error));
    g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TOO_BIG);
    g_clear_error (&error);
    g_assert_cmpint (gossip_node_get_meta_type (gossip_cluster_get_local_node (a), "huge"), ==,
                     GOSSIP_META_TYPE_NONE);
  }
}

/* 40 KiB of metadata is too big to ride on updates: it is fetched. */
static void
test_metadata_large_and_late_joiner (void)
{
  g_autoptr (Harness) h = harness_new (5, TRUE, lan);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) big = g_bytes_new_take (g_malloc0 (40 * 1024), 40 * 1024);
  MetaWant want = { 0, "gen", 1 };

  /* Node 4 comes later. */
  harness_crash (h, 4);
  /* Set before joining: it goes with the join. */
  g_assert_true (gossip_cluster_set_meta_bytes (harness_node (h, 0), "blob", big, &error));
  g_assert_true (gossip_cluster_set_meta_int64 (harness_node (h, 0), "gen", 1, &error));
  for (guint i = 1; i < 4; i++)
    harness_join (h, i, (const char *const[]){ harness_address (h, 0), NULL }, &error);
  g_assert_no_error (error);
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (4), 30 * SEC));
  g_assert_true (harness_run_until (h, all_see_meta, &want, 30 * SEC));
  for (guint i = 1; i < 4; i++)
    {
      g_autoptr (GBytes) got = gossip_node_get_meta_bytes (
          gossip_cluster_get_node (harness_node (h, i), "node-000"), "blob");
      g_assert_nonnull (got);
      g_assert_true (g_bytes_equal (got, big));
    }
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 1), "metadata-fetches"), >=, 1);

  /* A late joiner learns it from push-pull records, through node 3. */
  harness_start_node (h, 4, NULL);
  harness_join (h, 4, (const char *const[]){ harness_address (h, 3), NULL }, &error);
  g_assert_no_error (error);
  g_assert_true (harness_run_until (h, all_see_meta, &want, 30 * SEC));
  {
    g_autoptr (GBytes) got = gossip_node_get_meta_bytes (
        gossip_cluster_get_node (harness_node (h, 4), "node-000"), "blob");
    g_assert_true (got != NULL && g_bytes_equal (got, big));
  }
}

/* Many updates in quick succession, and a restart: the newest wins. */
static void
test_metadata_newest_wins (void)
{
  g_autoptr (Harness) h = converged_cluster (6, TRUE, lan);
  g_autoptr (GError) error = NULL;
  MetaWant want = { 1, "v", 0 };

  for (gint64 v = 1; v <= 30; v++)
    {
      g_assert_true (gossip_cluster_set_meta_int64 (harness_node (h, 1), "v", v, &error));
      /* Some in the same turn, some a little apart, with 10% loss. */
      if (v % 3 == 0)
        harness_run (h, 7000);
      if (v == 10)
        gossip_memory_network_set_default_link (h->network, 0.1, 200, 100);
    }
  want.value = 30;
  g_assert_true (harness_run_until (h, all_see_meta, &want, 30 * SEC));
  harness_run (h, 5 * SEC);
  g_assert_true (all_see_meta (h, &want));

  /* The node restarts (same ID, same address) and sets a new value: its
   * version moves past the previous life's, so the new value wins. */
  gossip_memory_network_set_default_link (h->network, 0.0, 200, 100);
  harness_crash (h, 1);
  harness_run (h, 2 * SEC);
  harness_start_node (h, 1, NULL);
  g_assert_true (gossip_cluster_set_meta_int64 (harness_node (h, 1), "v", 5, &error));
  harness_join (h, 1, (const char *const[]){ harness_address (h, 0), NULL }, &error);
  g_assert_no_error (error);
  want.value = 5;
  g_assert_true (harness_run_until (h, all_see_meta, &want, 30 * SEC));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/messaging/handler-registration", test_handler_registration);
  g_test_add_func ("/messaging/send-variants-memory", test_send_variants_memory);
  g_test_add_func ("/messaging/send-variants-sockets", test_send_variants_sockets);
  g_test_add_func ("/messaging/request-timeout-cancel-stop", test_request_timeout_and_cancel);
  g_test_add_func ("/messaging/broadcast-100-exactly-once", test_broadcast_100);
  g_test_add_func ("/messaging/broadcast-100-20pct-loss", test_broadcast_100_lossy);
  g_test_add_func ("/messaging/broadcast-originator-dies", test_broadcast_originator_dies);
  g_test_add_func ("/messaging/send-forwarding", test_send_forwarding);
  g_test_add_func ("/messaging/queue-full", test_queue_full);
  g_test_add_func ("/messaging/unhandled-counted", test_unhandled_counted);
  g_test_add_func ("/messaging/hostile-messages-counted-and-dropped", test_hostile_messages);
  g_test_add_func ("/metadata/types-spread", test_metadata_types);
  g_test_add_func ("/metadata/large-and-late-joiner", test_metadata_large_and_late_joiner);
  g_test_add_func ("/metadata/newest-wins", test_metadata_newest_wins);
  return g_test_run ();
}
