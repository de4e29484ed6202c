/* test-stream.c: node-to-node streams (gossip-stream.h) on real sockets.
 *
 * Runs over every variant named in GOSSIP_TEST_STREAM_TRANSPORTS
 * (space-separated; by default every transport built, WebSocket ones over
 * ws:// and over wss:// with certificates the test makes), each node of a
 * two-node cluster using only that transport.  Covered: echo with a checksum (1 MiB
 * plaintext and 256 MiB sealed with AES-GCM), typed messages, refusals,
 * a slow reader keeping the writer within the window, a peer that aborts,
 * a peer that dies mid-stream, cancellation and unreachable nodes.
 */
#include "config.h"

#include <string.h>

#include "cluster-harness.h"
#include "tls-test-certs.h"
#include "gossip/gossip-stream.h"
#include "gossip-frame-private.h"

#define SEC         G_GINT64_CONSTANT (1000000)
#define STREAM_ECHO 300
#define STREAM_HOLD 301
#define STREAM_NO   302
#define STREAM_EOF  303 /* the handler closes its output at once */
#define KEY_A       "c2VjcmV0LWtleS0xMjM0NTY3ODkwYWJjZGVmZ2hpams=" /* 32 bytes */
#define BLOCK_LEN   ((1 << 20) + 13)

typedef struct
{
  const char *name;      /* as in GOSSIP_TEST_STREAM_TRANSPORTS */
  const char *transport; /* the plugin */
  gboolean websocket;
  gboolean tls; /* wss:// with the test's certificates */
} Variant;

static guint8 *block;   /* the data streams carry: block[offset % BLOCK_LEN] */
static char *certs_dir; /* the test's certificates, for wss variants */

static const Variant all_variants[] = {
  { "socket", "socket", FALSE, FALSE },
  { "websocket-wslay", "websocket-wslay", TRUE, FALSE },
  { "websocket-wslay-wss", "websocket-wslay", TRUE, TRUE },
  { "websocket-soup", "websocket-soup", TRUE, FALSE },
  { "websocket-soup-wss", "websocket-soup", TRUE, TRUE },
};

/* ------------------------------------------------------------------------ */
/* Clusters */

static GPtrArray *
settings_for (const Variant *v, gboolean encrypted, const char *const *extra)
{
  GPtrArray *s = g_ptr_array_new ();
  const char *const base[] = {
    "plugins", "transport", v->transport,   "health", "profile",
    "local",   "streams",   "open_timeout", "5s",
  };

  for (guint i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (s, (gpointer) base[i]);
  if (encrypted)
    {
      const char *const cipher[] = { "plugins", "cipher", "aes-gcm", "security", "key", KEY_A };

      for (guint i = 0; i < G_N_ELEMENTS (cipher); i++)
        g_ptr_array_add (s, (gpointer) cipher[i]);
    }
  if (v->websocket && !v->tls)
    {
      const char *const insecure[] = { "websocket", "allow_insecure", "true" };

      for (guint i = 0; i < G_N_ELEMENTS (insecure); i++)
        g_ptr_array_add (s, (gpointer) insecure[i]);
    }
  if (v->tls)
    {
      static char *files[3];
      const char *const keys[] = { "tls_cert_file", "tls_key_file", "tls_ca_file" };
      const char *const names[] = { "server-cert.pem", "server-key.pem", "ca.pem" };

      for (guint i = 0; i < 3; i++)
        {
          if (files[i] == NULL)
            files[i] = g_build_filename (certs_dir, names[i], NULL);
          g_ptr_array_add (s, (gpointer) "websocket");
          g_ptr_array_add (s, (gpointer) keys[i]);
          g_ptr_array_add (s, files[i]);
        }
    }
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (s, (gpointer) extra[i]);
  g_ptr_array_add (s, NULL);
  return s;
}

static Harness *
pair_new (const Variant *v, gboolean encrypted, const char *const *extra)
{
  g_autoptr (GPtrArray) s = settings_for (v, encrypted, extra);
  Harness *h = harness_new (2, FALSE, (const char *const *) s->pdata);

  harness_join_all_to (h, 0);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (2), 30 * SEC))
    {
      harness_dump (h);
      g_error ("the pair did not converge over %s", v->transport);
    }
  return h;
}

static GossipNode *
node_of (Harness *h, guint observer, guint subject)
{
  g_autofree char *id = harness_node_name (subject);

  GossipNode *node = gossip_cluster_get_node (harness_node (h, observer), id);

  return node ? g_object_ref (node) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Opening */

typedef struct
{
  gboolean done;
  GIOStream *stream;
  GError *error;
} Opened;

static void
on_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Opened *o = user_data;

  o->stream = gossip_cluster_open_stream_finish (GOSSIP_CLUSTER (source), result, &o->error);
  o->done = TRUE;
}

static gboolean
flag_set (Harness *h, gpointer data)
{
  return *(gboolean *) data;
}

static GIOStream *
open_stream (Harness *h, guint from, guint to, guint type, GError **error)
{
  g_autoptr (GossipNode) node = node_of (h, from, to);
  Opened o = { 0 };

  g_assert_nonnull (node);
  gossip_cluster_open_stream_async (harness_node (h, from), node, type,
                                    g_variant_new_string ("hello"), NULL, on_opened, &o);
  g_assert_true (harness_run_until (h, flag_set, &o.done, 20 * SEC));
  if (o.error != NULL)
    g_propagate_error (error, o.error);
  return o.stream;
}

/* ------------------------------------------------------------------------ */
/* The echo handler: reads everything, writes it back, closes when the
 * opener finishes. */

typedef struct
{
  GIOStream *stream;
  guint8 *buffer;
  gsize echoed;
  gboolean finished;
  GError *error;
} Echo;

static void echo_read (Echo *e);

static void
echo_free (Echo *e)
{
  g_clear_object (&e->stream);
  g_free (e->buffer);
  g_clear_error (&e->error);
  g_free (e);
}

static void
echo_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Echo *e = user_data;

  g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &e->error);
  e->finished = TRUE;
}

static void
echo_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Echo *e = user_data;
  gsize n = 0;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &n, &e->error))
    {
      e->finished = TRUE;
      return;
    }
  e->echoed += n;
  echo_read (e);
}

static void
echo_got (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Echo *e = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &e->error);

  if (n < 0)
    {
      e->finished = TRUE;
      return;
    }
  if (n == 0)
    {
      g_output_stream_close_async (g_io_stream_get_output_stream (e->stream), G_PRIORITY_DEFAULT,
                                   NULL, echo_closed, e);
      return;
    }
  g_output_stream_write_all_async (g_io_stream_get_output_stream (e->stream), e->buffer, (gsize) n,
                                   G_PRIORITY_DEFAULT, NULL, echo_written, e);
}

static void
echo_read (Echo *e)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (e->stream), e->buffer, 256 * 1024,
                             G_PRIORITY_DEFAULT, NULL, echo_got, e);
}

typedef struct
{
  GPtrArray *echoes; /* Echo */
  GPtrArray *held;   /* GIOStream, for STREAM_HOLD */
  char *last_payload;
} Server;

static gboolean
on_echo_stream (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
                GIOStream *stream, gpointer user_data, GError **error)
{
  Server *server = user_data;
  Echo *e = g_new0 (Echo, 1);

  g_assert_cmpuint (type, ==, STREAM_ECHO);
  g_assert_cmpstr (gossip_stream_get_peer_id (stream), ==, gossip_node_get_id (sender));
  if (payload != NULL && g_variant_is_of_type (payload, G_VARIANT_TYPE_STRING))
    {
      g_free (server->last_payload);
      server->last_payload = g_variant_dup_string (payload, NULL);
    }
  e->stream = g_object_ref (stream);
  e->buffer = g_malloc (256 * 1024);
  g_ptr_array_add (server->echoes, e);
  echo_read (e);
  return TRUE;
}

static gboolean
on_hold_stream (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
                GIOStream *stream, gpointer user_data, GError **error)
{
  Server *server = user_data;

  g_ptr_array_add (server->held, g_object_ref (stream));
  return TRUE;
}

static gboolean
on_refusing_stream (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
                    GIOStream *stream, gpointer user_data, GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "not today");
  return FALSE;
}

static gboolean
on_eof_stream (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
               GIOStream *stream, gpointer user_data, GError **error)
{
  Server *server = user_data;

  /* Before the answer has gone: the end must still follow it. */
  g_assert_true (g_output_stream_close (g_io_stream_get_output_stream (stream), NULL, NULL));
  g_ptr_array_add (server->held, g_object_ref (stream));
  return TRUE;
}

static Server *
server_new (Harness *h, guint node)
{
  Server *s = g_new0 (Server, 1);
  GossipCluster *c = harness_node (h, node);
  g_autoptr (GError) error = NULL;

  s->echoes = g_ptr_array_new_with_free_func ((GDestroyNotify) echo_free);
  s->held = g_ptr_array_new_with_free_func (g_object_unref);
  g_assert_true (gossip_cluster_handle_stream (c, STREAM_ECHO, on_echo_stream, s, NULL, &error));
  g_assert_true (gossip_cluster_handle_stream (c, STREAM_HOLD, on_hold_stream, s, NULL, &error));
  g_assert_true (gossip_cluster_handle_stream (c, STREAM_NO, on_refusing_stream, s, NULL, &error));
  g_assert_true (gossip_cluster_handle_stream (c, STREAM_EOF, on_eof_stream, s, NULL, &error));
  g_assert_no_error (error);
  return s;
}

static void
server_free (Server *s)
{
  g_ptr_array_unref (s->echoes);
  g_ptr_array_unref (s->held);
  g_free (s->last_payload);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_free)

/* A pair whose node 1 serves the test's stream types.  Declare the server
 * before the harness: the harness drains the main context when it goes, and
 * the server's pending reads must still be alive to complete then. */
static Harness *
pair_serving (const Variant *v, gboolean encrypted, const char *const *extra, Server **server)
{
  Harness *h = pair_new (v, encrypted, extra);

  *server = server_new (h, 1);
  return h;
}

/* ------------------------------------------------------------------------ */
/* The opener's side of a transfer: writes @total bytes of the block while
 * reading what comes back, and checksums both. */

typedef struct
{
  GIOStream *stream;
  gsize total;
  gsize sent;
  gsize received;
  gboolean write_done;
  gboolean read_done;
  gboolean close_after_write;
  GChecksum *sent_sum;
  GChecksum *received_sum;
  guint8 *buffer;
  GError *write_error;
  GError *read_error;
} Transfer;

static void transfer_write (Transfer *t);
static void transfer_read (Transfer *t);

static void
transfer_clear (Transfer *t)
{
  g_clear_object (&t->stream);
  g_clear_pointer (&t->sent_sum, g_checksum_free);
  g_clear_pointer (&t->received_sum, g_checksum_free);
  g_clear_pointer (&t->buffer, g_free);
  g_clear_error (&t->write_error);
  g_clear_error (&t->read_error);
}

static void
transfer_output_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Transfer *t = user_data;

  g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &t->write_error);
  t->write_done = TRUE;
}

static void
transfer_wrote (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Transfer *t = user_data;
  gssize n = g_output_stream_write_finish (G_OUTPUT_STREAM (source), result, &t->write_error);

  if (n < 0)
    {
      t->write_done = TRUE;
      return;
    }
  g_checksum_update (t->sent_sum, block + t->sent % BLOCK_LEN, n);
  t->sent += (gsize) n;
  transfer_write (t);
}

static void
transfer_write (Transfer *t)
{
  gsize offset = t->sent % BLOCK_LEN;
  gsize n = MIN (t->total - t->sent, MIN ((gsize) 1 << 20, BLOCK_LEN - offset));

  if (t->sent == t->total)
    {
      if (t->close_after_write)
        g_output_stream_close_async (g_io_stream_get_output_stream (t->stream), G_PRIORITY_DEFAULT,
                                     NULL, transfer_output_closed, t);
      else
        t->write_done = TRUE;
      return;
    }
  g_output_stream_write_async (g_io_stream_get_output_stream (t->stream), block + offset, n,
                               G_PRIORITY_DEFAULT, NULL, transfer_wrote, t);
}

static void
transfer_got (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Transfer *t = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &t->read_error);

  if (n <= 0)
    {
      t->read_done = TRUE;
      return;
    }
  g_checksum_update (t->received_sum, t->buffer, n);
  t->received += (gsize) n;
  transfer_read (t);
}

static void
transfer_read (Transfer *t)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (t->stream), t->buffer, 1 << 20,
                             G_PRIORITY_DEFAULT, NULL, transfer_got, t);
}

static void
transfer_start (Transfer *t, GIOStream *stream, gsize total, gboolean read)
{
  memset (t, 0, sizeof *t);
  t->stream = stream;
  t->total = total;
  t->close_after_write = TRUE;
  t->sent_sum = g_checksum_new (G_CHECKSUM_MD5);
  t->received_sum = g_checksum_new (G_CHECKSUM_MD5);
  t->buffer = g_malloc (1 << 20);
  transfer_write (t);
  if (read)
    transfer_read (t);
}

static gboolean
transfer_finished (Harness *h, gpointer data)
{
  Transfer *t = data;

  return t->write_done && t->read_done;
}

static void
echo_bytes (const Variant *v, gboolean encrypted, gsize total)
{
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = pair_serving (v, encrypted, NULL, &server);
  g_autoptr (GError) error = NULL;
  GIOStream *stream = open_stream (h, 0, 1, STREAM_ECHO, &error);
  Transfer t;
  gint64 start, elapsed;

  g_assert_no_error (error);
  g_assert_true (GOSSIP_IS_STREAM (stream));
  {
    g_autofree char *peer = harness_node_name (1);
    g_assert_cmpstr (gossip_stream_get_peer_id (stream), ==, peer);
  }
  start = g_get_monotonic_time ();
  transfer_start (&t, stream, total, TRUE);
  g_assert_true (harness_run_until (h, transfer_finished, &t, 600 * SEC));
  elapsed = g_get_monotonic_time () - start;
  g_assert_no_error (t.write_error);
  g_assert_no_error (t.read_error);
  g_assert_cmpuint (t.sent, ==, total);
  g_assert_cmpuint (t.received, ==, total);
  g_assert_cmpstr (g_checksum_get_string (t.sent_sum), ==, g_checksum_get_string (t.received_sum));
  g_assert_cmpstr (server->last_payload, ==, "hello");
  g_test_message ("%s%s: echoed %" G_GSIZE_FORMAT " MiB in %.2f s (%.0f MiB/s each way)", v->name,
                  encrypted ? " + aes-gcm" : "", total >> 20, elapsed / 1e6,
                  (double) (total >> 20) / (elapsed / 1e6));
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 0), "streams-opened"), ==, 1);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 1), "streams-accepted"), ==, 1);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 1), "stream-errors"), ==, 0);
  transfer_clear (&t);
}

static void
test_echo_small (gconstpointer data)
{
  echo_bytes (data, FALSE, 1 << 20);
}

static void
test_echo_256mib (gconstpointer data)
{
  echo_bytes (data, TRUE, (gsize) 256 << 20);
}

/* ------------------------------------------------------------------------ */

typedef struct
{
  gboolean done;
  GVariant *message;
  guint type;
  GError *error;
} MessageResult;

static void
on_message_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MessageResult *r = user_data;

  gossip_stream_write_message_finish (G_IO_STREAM (source), result, &r->error);
  r->done = TRUE;
}

static void
on_message_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MessageResult *r = user_data;

  r->message
      = gossip_stream_read_message_finish (G_IO_STREAM (source), result, &r->type, &r->error);
  r->done = TRUE;
}

/* Typed messages cross an echo stream unchanged, and the end of the
 * stream between messages reads as NULL without an error. */
static void
test_typed_messages (gconstpointer data)
{
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = pair_serving (data, FALSE, NULL, &server);
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) stream = open_stream (h, 0, 1, STREAM_ECHO, &error);
  MessageResult w = { 0 }, r = { 0 }, end = { 0 };
  g_autoptr (GVariant) message = g_variant_ref_sink (
      g_variant_new_parsed ("{'name': <'kv'>, 'count': <int64 42>, 'blob': <[byte 1, 2, 3]>}"));
  g_autoptr (GVariant) count = NULL;
  const char *name = NULL;

  g_assert_no_error (error);
  gossip_stream_write_message_async (stream, 7, message, NULL, on_message_written, &w);
  g_assert_true (harness_run_until (h, flag_set, &w.done, 10 * SEC));
  g_assert_no_error (w.error);
  gossip_stream_read_message_async (stream, NULL, on_message_read, &r);
  g_assert_true (harness_run_until (h, flag_set, &r.done, 10 * SEC));
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.type, ==, 7);
  g_assert_nonnull (r.message);
  g_assert_true (g_variant_lookup (r.message, "name", "&s", &name));
  g_assert_cmpstr (name, ==, "kv");
  count = g_variant_lookup_value (r.message, "count", NULL);
  g_assert_nonnull (count);
  g_variant_unref (r.message);

  g_output_stream_close (g_io_stream_get_output_stream (stream), NULL, &error);
  g_assert_no_error (error);
  gossip_stream_read_message_async (stream, NULL, on_message_read, &end);
  g_assert_true (harness_run_until (h, flag_set, &end.done, 10 * SEC));
  g_assert_no_error (end.error);
  g_assert_null (end.message);
}

/* Unknown types and refusing handlers fail the open with the reason. */
static void
test_refused (gconstpointer data)
{
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = pair_serving (data, FALSE, NULL, &server);
  g_autoptr (GError) error = NULL;
  GIOStream *stream;

  stream = open_stream (h, 0, 1, 999, &error);
  g_assert_null (stream);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE);
  g_clear_error (&error);

  stream = open_stream (h, 0, 1, STREAM_NO, &error);
  g_assert_null (stream);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_REMOTE);
  g_assert_nonnull (strstr (error->message, "not today"));
  g_clear_error (&error);

  stream = open_stream (h, 0, 1, 12, &error);
  g_assert_null (stream);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_RESERVED_TYPE);
  g_clear_error (&error);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 1), "streams-refused"), ==, 2);

  /* The cluster still streams after refusals. */
  stream = open_stream (h, 0, 1, STREAM_ECHO, &error);
  g_assert_no_error (error);
  g_object_unref (stream);
}

/* A reader that does not read stalls the writer once the window is spent:
 * memory stays bounded.  When it reads, everything arrives. */
static gboolean
sent_stalled (Harness *h, gpointer data)
{
  Transfer *t = data;

  return t->write_done;
}

static gboolean
read_finished (Harness *h, gpointer data)
{
  Transfer *t = data;

  return t->read_done;
}

static gboolean
received_all (Harness *h, gpointer data)
{
  Transfer *t = data;

  return t->received == t->total || t->read_error != NULL;
}

/* A handler that closes its output at once: the opener reads the end. */
static void
test_handler_closes_at_once (gconstpointer data)
{
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = pair_serving (data, FALSE, NULL, &server);
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) stream = open_stream (h, 0, 1, STREAM_EOF, &error);
  Transfer t;

  g_assert_no_error (error);
  transfer_start (&t, g_object_ref (stream), 0, TRUE);
  g_assert_true (harness_run_until (h, read_finished, &t, 10 * SEC));
  g_assert_no_error (t.read_error);
  g_assert_cmpuint (t.received, ==, 0);
  transfer_clear (&t);
}

static void
test_slow_reader (gconstpointer data)
{
  const char *const small_window[] = { "streams", "window", "1MiB", NULL };
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = pair_serving (data, FALSE, small_window, &server);
  g_autoptr (GError) error = NULL;
  GIOStream *stream = open_stream (h, 0, 1, STREAM_HOLD, &error);
  Transfer writer, reader;
  GIOStream *held;

  g_assert_no_error (error);
  g_assert_cmpuint (server->held->len, ==, 1);
  held = g_ptr_array_index (server->held, 0);
  transfer_start (&writer, stream, 64 << 20, FALSE);
  /* Nobody reads: the writer cannot finish. */
  g_assert_false (harness_run_until (h, sent_stalled, &writer, 2 * SEC));
  g_assert_cmpuint (writer.sent, <=, 1 << 20);
  g_assert_cmpuint (writer.sent, >, 0);

  /* The reader starts: all 64 MiB arrive, in order. */
  transfer_start (&reader, g_object_ref (held), 0, TRUE);
  reader.total = 64 << 20;
  g_assert_true (harness_run_until (h, received_all, &reader, 120 * SEC));
  g_assert_no_error (reader.read_error);
  g_assert_true (harness_run_until (h, sent_stalled, &writer, 10 * SEC));
  g_assert_no_error (writer.write_error);
  g_assert_cmpuint (reader.received, ==, writer.sent);
  g_assert_cmpstr (g_checksum_get_string (writer.sent_sum), ==,
                   g_checksum_get_string (reader.received_sum));
  /* The reader still waits for more: end it before its Transfer goes. */
  gossip_stream_abort (held, "test over");
  g_assert_true (harness_run_until (h, read_finished, &reader, 10 * SEC));
  transfer_clear (&writer);
  transfer_clear (&reader);
}

/* gossip_stream_abort() reaches the other side with its reason. */

static void
test_abort (gconstpointer data)
{
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = pair_serving (data, FALSE, NULL, &server);
  g_autoptr (GError) error = NULL;
  GIOStream *stream = open_stream (h, 0, 1, STREAM_HOLD, &error);
  g_autoptr (GIOStream) held = NULL;
  Transfer t;
  gssize n;
  char c;

  g_assert_no_error (error);
  held = g_object_ref (g_ptr_array_index (server->held, 0));
  transfer_start (&t, stream, 0, TRUE);
  gossip_stream_abort (held, "the operator said so");
  g_assert_true (harness_run_until (h, read_finished, &t, 10 * SEC));
  g_assert_error (t.read_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_nonnull (strstr (t.read_error->message, "the operator said so"));
  /* Our own side of an aborted stream refuses work at once. */
  n = g_input_stream_read (g_io_stream_get_input_stream (held), &c, 1, NULL, &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  transfer_clear (&t);
}

/* A peer that dies mid-stream gives the other side an error, not a hang. */
static void
test_peer_dies (gconstpointer data)
{
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = pair_serving (data, FALSE, NULL, &server);
  g_autoptr (GError) error = NULL;
  GIOStream *stream = open_stream (h, 0, 1, STREAM_ECHO, &error);
  Transfer t;

  g_assert_no_error (error);
  transfer_start (&t, stream, (gsize) 1 << 30, TRUE);
  harness_run (h, SEC / 5);
  g_assert_false (t.read_done);
  harness_crash (h, 1);
  g_assert_true (harness_run_until (h, transfer_finished, &t, 20 * SEC));
  g_assert_nonnull (t.read_error);
  g_assert_nonnull (t.write_error);
  g_assert_cmpuint (t.sent, <, t.total);
  transfer_clear (&t);
}

/* Opening to a node nothing listens for fails; so does a cancelled open. */
static void
test_unreachable_and_cancel (gconstpointer data)
{
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = pair_serving (data, FALSE, NULL, &server);
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipNode) node = node_of (h, 0, 1);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Opened o = { 0 };

  /* Cancelled before the answer. */
  gossip_cluster_open_stream_async (harness_node (h, 0), node, STREAM_ECHO, NULL, cancellable,
                                    on_opened, &o);
  g_cancellable_cancel (cancellable);
  g_assert_true (harness_run_until (h, flag_set, &o.done, 10 * SEC));
  g_assert_error (o.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&o.error);

  /* The peer is gone. */
  harness_crash (h, 1);
  memset (&o, 0, sizeof o);
  gossip_cluster_open_stream_async (harness_node (h, 0), node, STREAM_ECHO, NULL, NULL, on_opened,
                                    &o);
  g_assert_true (harness_run_until (h, flag_set, &o.done, 20 * SEC));
  g_assert_null (o.stream);
  g_assert_nonnull (o.error);
  g_assert_true (g_error_matches (o.error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE)
                 || g_error_matches (o.error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TIMEOUT));
  g_clear_error (&o.error);
}

/* A stream held past the cluster's stop fails cleanly. */
static void
test_cluster_stops (gconstpointer data)
{
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = pair_serving (data, FALSE, NULL, &server);
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) stream = open_stream (h, 0, 1, STREAM_HOLD, &error);
  char c = 'x';
  gssize n;

  g_assert_no_error (error);
  gossip_cluster_stop (harness_node (h, 0));
  n = g_output_stream_write (g_io_stream_get_output_stream (stream), &c, 1, NULL, &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_nonnull (error);
  g_clear_error (&error);
  n = g_input_stream_read (g_io_stream_get_input_stream (stream), &c, 1, NULL, &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_nonnull (error);
}

/* ------------------------------------------------------------------------ */
/* A hostile peer, speaking the stream protocol by hand over a raw channel
 * of the socket transport: it opens properly, then breaks the rules.  Each
 * time the node cuts the stream off, counts it (stream-errors) and stays
 * healthy. */

typedef struct
{
  GPtrArray *frames; /* GBytes received on the channel */
  gboolean closed;
  GError *error;
} RawChannel;

static void
raw_received (gpointer user_data, GBytes *frame)
{
  RawChannel *r = user_data;

  g_ptr_array_add (r->frames, g_bytes_ref (frame));
}

static void
raw_closed (gpointer user_data, const GError *error)
{
  RawChannel *r = user_data;

  r->closed = TRUE;
  r->error = error ? g_error_copy (error) : NULL;
}

static const GossipTransportChannelCallbacks raw_callbacks
    = { .received = raw_received, .closed = raw_closed };

static void
raw_frame_received (gpointer user_data, GossipTransportPath path, const char *from, GBytes *frame)
{
}

static void
raw_dropped (gpointer user_data, const char *from, const GError *reason)
{
}

static const GossipTransportCallbacks raw_transport_callbacks = {
  .received = raw_frame_received,
  .dropped = raw_dropped,
};

static gboolean
raw_answered (Harness *h, gpointer data)
{
  RawChannel *r = data;

  return r->frames->len > 0 || r->closed;
}

static gboolean
raw_ended (Harness *h, gpointer data)
{
  RawChannel *r = data;

  return r->closed;
}

static GBytes *
control_frame (GossipPipeline *pipeline, GVariant *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) owned = g_variant_ref_sink (message);
  GBytes *frame = gossip_pipeline_encode (pipeline, owned, &error);

  g_assert_no_error (error);
  return frame;
}

typedef enum
{
  BREAK_CREDIT,      /* data beyond the window it was given */
  BREAK_DATA_FIRST,  /* data before STREAM_OPEN */
  BREAK_GARBAGE,     /* a frame that is not a frame */
  BREAK_HUGE_CREDIT, /* credit beyond the window it gave */
  BREAK_REORDER      /* a frame out of sequence (dropped, reordered or replayed) */
} Breakage;

static void
hostile_once (Harness *h, GossipPipeline *pipeline, const GossipTransportVTable *vt,
              gpointer instance, Breakage how)
{
  const char *address = harness_address (h, 0);
  RawChannel r = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), FALSE, NULL };
  g_autoptr (GError) error = NULL;
  GossipTransportChannel *channel;
  guint64 errors_before = gossip_cluster_get_counter (harness_node (h, 0), "stream-errors");
  g_autofree guint8 *junk = g_malloc0 (64 * 1024);

  channel = vt->channel_open (instance, address, &raw_callbacks, &r, &error);
  g_assert_no_error (error);
  if (how == BREAK_DATA_FIRST || how == BREAK_GARBAGE)
    {
      g_autoptr (GBytes) frame
          = how == BREAK_GARBAGE
                ? g_bytes_new_static ("\x47\x01junk-junk-junk", 15)
                : _gossip_pipeline_seal_bytes (pipeline, junk, 16, junk, 1024, &error);

      vt->channel_send (instance, channel, frame, NULL, NULL);
    }
  else
    {
      g_autoptr (GBytes) open = control_frame (
          pipeline, g_variant_new_parsed ("{'t': <uint64 18>, 'sid': <uint64 77>, 's': <uint64 0>, "
                                          "'f': <'evil'>, 'fa': <'127.0.0.1:9'>, 'ut': <%t>, "
                                          "'w': <uint64 65536>}",
                                          (guint64) STREAM_HOLD));

      vt->channel_send (instance, channel, open, NULL, NULL);
      g_assert_true (harness_run_until (h, raw_answered, &r, 10 * SEC));
      g_assert_false (r.closed);
      if (how == BREAK_CREDIT || how == BREAK_REORDER)
        /* The node's window is 1 MiB here: send 2 MiB without waiting; or
         * frames 2, 1, 3, ... */
        for (guint i = 0; i < (how == BREAK_CREDIT ? 32u : 3u); i++)
          {
            guint64 seq = how == BREAK_REORDER && i < 2 ? 2 - i : i + 1;
            guint64 prefix[2] = { GUINT64_TO_BE (77), GUINT64_TO_BE (seq) };
            g_autoptr (GBytes) data = _gossip_pipeline_seal_bytes (
                pipeline, (const guint8 *) prefix, sizeof prefix, junk, 64 * 1024, &error);

            g_assert_no_error (error);
            vt->channel_send (instance, channel, data, NULL, NULL);
          }
      else
        {
          g_autoptr (GBytes) credit = control_frame (
              pipeline, g_variant_new_parsed ("{'t': <uint64 20>, 'sid': <uint64 77>, "
                                              "'s': <uint64 1>, 'w': <%t>}",
                                              (guint64) G_MAXINT64));

          vt->channel_send (instance, channel, credit, NULL, NULL);
        }
    }
  g_assert_true (harness_run_until (h, raw_ended, &r, 10 * SEC));
  if (how != BREAK_DATA_FIRST && how != BREAK_GARBAGE)
    g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 0), "stream-errors"), >,
                      errors_before);
  g_ptr_array_unref (r.frames);
  g_clear_error (&r.error);
}

static void
test_hostile_peer (gconstpointer data)
{
  const Variant *v = data;
  const char *const settings[] = { "plugins", "transport", "socket",       "streams", "window",
                                   "1MiB",    "streams",   "open_timeout", "2s",      NULL };
  g_autoptr (Server) server = NULL;
  g_autoptr (Harness) h = harness_new (1, FALSE, settings);
  g_autoptr (GError) error = NULL;
  GossipPlugin *codec = gossip_plugin_load (GOSSIP_PLUGIN_KIND_CODEC, "msgpack", NULL, &error);
  GossipPlugin *transport
      = gossip_plugin_load (GOSSIP_PLUGIN_KIND_TRANSPORT, v->transport, NULL, &error);
  const GossipTransportVTable *vt;
  g_autoptr (GossipPipeline) pipeline = NULL;
  GossipTransportParams params = { 0 };
  gpointer instance;

  g_assert_no_error (error);
  server = server_new (h, 0);
  pipeline = gossip_pipeline_new (gossip_plugin_get_vtable (codec), NULL, -1, NULL, 512,
                                  4 * 1024 * 1024, &error);
  g_assert_no_error (error);
  vt = gossip_plugin_get_vtable (transport);
  params.struct_size = sizeof params;
  params.context = h->context;
  params.clock = h->clock;
  params.bind_address = "127.0.0.1:0";
  params.datagrams = FALSE;
  params.max_datagram_size = 1400;
  params.max_frame_size = 4 * 1024 * 1024;
  params.max_connections = 16;
  params.idle_timeout_us = 30 * SEC;
  params.io_timeout_us = 5 * SEC;
  params.connect_timeout_us = 5 * SEC;
  params.callbacks = &raw_transport_callbacks;
  instance = vt->create (&params, &error);
  g_assert_no_error (error);

  hostile_once (h, pipeline, vt, instance, BREAK_CREDIT);
  hostile_once (h, pipeline, vt, instance, BREAK_HUGE_CREDIT);
  hostile_once (h, pipeline, vt, instance, BREAK_REORDER);
  hostile_once (h, pipeline, vt, instance, BREAK_DATA_FIRST);
  hostile_once (h, pipeline, vt, instance, BREAK_GARBAGE);
  vt->destroy (instance);

  /* The node still serves honest streams. */
  {
    GIOStream *stream;

    g_ptr_array_set_size (h->nodes, 2);
    harness_start_node (h, 1, (const char *const[]){ "plugins", "transport", "socket", NULL });
    {
      const char *const via[] = { harness_address (h, 0), NULL };

      g_assert_cmpuint (harness_join (h, 1, via, &error), ==, 1);
    }
    g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (2), 10 * SEC));
    stream = open_stream (h, 1, 0, STREAM_HOLD, &error);
    g_assert_no_error (error);
    g_object_unref (stream);
  }
}

/* ------------------------------------------------------------------------ */

static void
add (const char *name, const Variant *v, GTestDataFunc func)
{
  g_autofree char *path = g_strdup_printf ("/stream/%s/%s", v->name, name);

  g_test_add_data_func (path, v, func);
}

int
main (int argc, char **argv)
{
  const char *wanted = g_getenv ("GOSSIP_TEST_STREAM_TRANSPORTS");
  g_auto (GStrv) names
      = g_strsplit (wanted ? wanted : GOSSIP_TEST_DEFAULT_STREAM_TRANSPORTS, " ", -1);
  g_autoptr (GError) error = NULL;
  int status;
  GRand *rand = g_rand_new_with_seed (42);

  g_test_init (&argc, &argv, NULL);
  block = g_malloc (BLOCK_LEN);
  for (gsize i = 0; i < BLOCK_LEN; i++)
    block[i] = (guint8) g_rand_int (rand);
  g_rand_free (rand);
  for (guint i = 0; i < G_N_ELEMENTS (all_variants); i++)
    {
      const Variant *v = &all_variants[i];

      if (!g_strv_contains ((const char *const *) names, v->name))
        continue;
      add ("echo-1mib", v, test_echo_small);
      add ("echo-256mib-aes-gcm", v, test_echo_256mib);
      add ("typed-messages", v, test_typed_messages);
      add ("handler-closes-at-once", v, test_handler_closes_at_once);
      add ("refused", v, test_refused);
      add ("slow-reader", v, test_slow_reader);
      add ("abort", v, test_abort);
      add ("peer-dies", v, test_peer_dies);
      add ("unreachable-and-cancel", v, test_unreachable_and_cancel);
      add ("cluster-stops", v, test_cluster_stops);
      if (g_str_equal (v->name, "socket"))
        add ("hostile-peer", v, test_hostile_peer);
    }
  certs_dir = g_dir_make_tmp ("gossip-stream-certs-XXXXXX", &error);
  g_assert_no_error (error);
  if (!gossip_test_certs_generate (certs_dir, &error))
    g_error ("cannot make the test's certificates: %s", error->message);
  status = g_test_run ();
  gossip_test_certs_remove (certs_dir);
  g_free (certs_dir);
  g_free (block);
  return status;
}
