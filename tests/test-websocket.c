/* test-websocket.c: what every WebSocket transport must do beyond the
 * conformance suite (test-transport.c): TLS and its refusals, the wire
 * protocol's refusals (path, subprotocol, text messages), mounting on an
 * application's SoupServer, channels, and whole clusters over ws:// and
 * wss://.
 *
 * Runs once per plugin named in GOSSIP_TEST_WS_PLUGINS (space or comma
 * separated; by default those this build has), as /websocket/<plugin>/<case>.
 * Raw peers are libsoup clients written here, so every provider is checked
 * against the same independent implementation of the wire protocol.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "cluster-harness.h"
#include "gossip/gossip-plugin.h"
#include "gossip/gossip-transport.h"
#include "tls-test-certs.h"

#ifndef GOSSIP_TEST_DEFAULT_WS_PLUGINS
#define GOSSIP_TEST_DEFAULT_WS_PLUGINS "websocket-soup"
#endif

#define WAIT_US (10 * G_USEC_PER_SEC)
#define SEC     G_USEC_PER_SEC

static char *certs_dir;

typedef struct
{
  char *name;
  const GossipTransportVTable *vtable;
} Plugin;

/* ------------------------------------------------------------------------ */
/* Nodes */

typedef struct
{
  GMainContext *context;
  const Plugin *plugin;
  GPtrArray *nodes;
  gint64 io_timeout_us; /* for the nodes made next */
} Fixture;

typedef void (*FixtureFunc) (Fixture *f, gconstpointer data);

typedef struct
{
  Fixture *f;
  gpointer instance;
  char *address;
  GPtrArray *received; /* GBytes */
  GPtrArray *froms;    /* char * */
  GPtrArray *dropped;  /* GError */
  GPtrArray *channels; /* accepted GossipTransportChannel, not owned */
  gboolean accept_channels;
} Node;

static void
on_received (gpointer user_data, GossipTransportPath path, const char *from, GBytes *frame)
{
  Node *n = user_data;

  g_assert_cmpint (path, ==, GOSSIP_TRANSPORT_PATH_RELIABLE);
  g_ptr_array_add (n->received,
                   g_bytes_new (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame)));
  g_ptr_array_add (n->froms, g_strdup (from));
}

static void
on_dropped (gpointer user_data, const char *from, const GError *reason)
{
  Node *n = user_data;

  g_test_message ("dropped from %s: %s", from ? from : "?", reason->message);
  g_assert_true (reason->domain == GOSSIP_TRANSPORT_ERROR);
  g_ptr_array_add (n->dropped, g_error_copy (reason));
}

/* Channels */

typedef struct
{
  GPtrArray *frames; /* GBytes */
  gboolean closed;
  GError *error;
} ChannelLog;

static void
channel_log_received (gpointer user_data, GBytes *frame)
{
  ChannelLog *log = user_data;

  g_assert_false (log->closed);
  g_ptr_array_add (log->frames, g_bytes_ref (frame));
}

static void
channel_log_closed (gpointer user_data, const GError *error)
{
  ChannelLog *log = user_data;

  g_assert_false (log->closed);
  log->closed = TRUE;
  log->error = error != NULL ? g_error_copy (error) : NULL;
}

static const GossipTransportChannelCallbacks channel_log_callbacks
    = { channel_log_received, channel_log_closed, { NULL } };

static ChannelLog *
channel_log_new (void)
{
  ChannelLog *log = g_new0 (ChannelLog, 1);

  log->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  return log;
}

static void
channel_log_free (ChannelLog *log)
{
  g_ptr_array_unref (log->frames);
  g_clear_error (&log->error);
  g_free (log);
}

static ChannelLog *accepted_log; /* where the next accepted channel reports */

static gboolean
on_channel_accepted (gpointer user_data, const char *from, GossipTransportChannel *channel)
{
  Node *n = user_data;

  if (!n->accept_channels || accepted_log == NULL)
    return FALSE;
  n->f->plugin->vtable->channel_attach (n->instance, channel, &channel_log_callbacks, accepted_log);
  g_ptr_array_add (n->channels, channel);
  return TRUE;
}

static const GossipTransportCallbacks callbacks
    = { on_received, on_dropped, on_channel_accepted, { NULL } };

static GossipConfig *
ws_config (const char *cert, const char *key, gboolean insecure)
{
  g_autoptr (GError) error = NULL;
  GossipConfig *config = gossip_config_new ();
  g_autofree char *ca = g_build_filename (certs_dir, "ca.pem", NULL);

  if (cert != NULL)
    {
      g_autofree char *c = g_build_filename (certs_dir, cert, NULL);

      g_assert_true (gossip_config_set_string (config, "websocket", "tls_cert_file", c, &error));
    }
  if (key != NULL)
    {
      g_autofree char *k = g_build_filename (certs_dir, key, NULL);

      g_assert_true (gossip_config_set_string (config, "websocket", "tls_key_file", k, &error));
    }
  g_assert_true (gossip_config_set_string (config, "websocket", "tls_ca_file", ca, &error));
  g_assert_true (
      gossip_config_set_boolean (config, "websocket", "allow_insecure", insecure, &error));
  g_assert_no_error (error);
  return config;
}

static gpointer
create (Fixture *f, Node *n, GossipConfig *config, GObject *http_server, GError **error)
{
  GossipTransportParams params = { 0 };

  params.struct_size = sizeof params;
  params.context = f->context;
  params.bind_address = "127.0.0.1:0";
  params.datagrams = TRUE;
  params.max_datagram_size = 1400;
  params.max_frame_size = 1024 * 1024;
  params.max_connections = 32;
  params.idle_timeout_us = 30 * SEC;
  params.io_timeout_us = f->io_timeout_us;
  params.connect_timeout_us = 5 * SEC;
  params.callbacks = &callbacks;
  params.user_data = n;
  params.config = config;
  params.http_server = http_server;
  return f->plugin->vtable->create (&params, error);
}

static Node *
node_new_full (Fixture *f, GossipConfig *config, GObject *http_server)
{
  g_autoptr (GError) error = NULL;
  Node *n = g_new0 (Node, 1);

  n->f = f;
  n->received = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  n->froms = g_ptr_array_new_with_free_func (g_free);
  n->dropped = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  n->channels = g_ptr_array_new ();
  g_ptr_array_add (f->nodes, n);
  n->instance = create (f, n, config, http_server, &error);
  g_assert_no_error (error);
  n->address = f->plugin->vtable->get_local_address (n->instance);
  g_test_message ("node at %s", n->address);
  return n;
}

static Node *
node_new (Fixture *f, gboolean tls)
{
  g_autoptr (GossipConfig) config
      = tls ? ws_config ("server-cert.pem", "server-key.pem", FALSE) : ws_config (NULL, NULL, TRUE);

  return node_new_full (f, config, NULL);
}

static void
node_destroy (Node *n)
{
  if (n->instance != NULL)
    n->f->plugin->vtable->destroy (g_steal_pointer (&n->instance));
}

static void
node_free (gpointer data)
{
  Node *n = data;

  node_destroy (n);
  g_free (n->address);
  g_ptr_array_unref (n->received);
  g_ptr_array_unref (n->froms);
  g_ptr_array_unref (n->dropped);
  g_ptr_array_unref (n->channels);
  g_free (n);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->plugin = data;
  f->context = g_main_context_new ();
  f->io_timeout_us = 5 * SEC;
  g_main_context_push_thread_default (f->context);
  f->nodes = g_ptr_array_new_with_free_func (node_free);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_ptr_array_unref (f->nodes);
  for (guint i = 0; i < 1000 && g_main_context_iteration (f->context, FALSE); i++)
    ;
  g_main_context_pop_thread_default (f->context);
  g_main_context_unref (f->context);
}

/* Iterates until *counter >= target (or *flag, when @flag is given) or the
 * deadline; returns whether it got there. */
static gboolean
wait_until (Fixture *f, const guint *counter, guint target, const gboolean *flag)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  GSource *tick = g_timeout_source_new (10);

  g_source_set_dummy_callback (tick);
  g_source_attach (tick, f->context);
  while ((flag != NULL ? !*flag : *counter < target) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (f->context, TRUE);
  g_source_destroy (tick);
  g_source_unref (tick);
  return flag != NULL ? *flag : *counter >= target;
}

static gboolean
wait_count (Fixture *f, const guint *counter, guint target)
{
  return wait_until (f, counter, target, NULL);
}

static gboolean
wait_flag (Fixture *f, const gboolean *flag)
{
  return wait_until (f, NULL, 0, flag);
}

typedef struct
{
  guint calls;
  GError *error;
} Done;

static void
done_cb (gpointer user_data, const GError *error)
{
  Done *d = user_data;

  d->calls++;
  g_clear_error (&d->error);
  d->error = error != NULL ? g_error_copy (error) : NULL;
}

static void
send_and_wait (Node *from, const char *to, const char *text, Done *d)
{
  g_autoptr (GBytes) frame = g_bytes_new (text, strlen (text));

  from->f->plugin->vtable->send_reliable (from->instance, to, frame, done_cb, d);
  g_assert_true (wait_count (from->f, &d->calls, 1));
}

/* ------------------------------------------------------------------------ */
/* Cases */

static void
test_insecure_refused_by_default (Fixture *f, gconstpointer data)
{
  g_autoptr (GossipConfig) plain = ws_config (NULL, NULL, FALSE);
  g_autoptr (GError) error = NULL;
  Node probe = { f, NULL };
  Node *secure, *insecure;
  g_autoptr (GBytes) frame = g_bytes_new_static ("x", 1);
  Done d = { 0 };

  /* No certificate and no allow_insecure: no ws:// server. */
  g_assert_null (create (f, &probe, plain, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "plain ws:// needs [websocket] allow_insecure=true"));
  g_clear_error (&error);

  /* A wss:// node does not send to a ws:// one. */
  secure = node_new (f, TRUE);
  insecure = node_new (f, FALSE);
  g_assert_true (g_str_has_prefix (secure->address, "wss://"));
  g_assert_true (g_str_has_prefix (insecure->address, "ws://"));
  g_assert_false (
      f->plugin->vtable->send_datagram (secure->instance, insecure->address, frame, &error));
  g_assert_true (error->domain == GOSSIP_TRANSPORT_ERROR);
  send_and_wait (secure, insecure->address, "x", &d);
  g_assert_nonnull (d.error);
  g_assert_true (d.error->domain == GOSSIP_TRANSPORT_ERROR);
  g_clear_error (&d.error);
  g_assert_cmpuint (insecure->received->len, ==, 0);
}

static void
test_certificate_settings (Fixture *f, gconstpointer data)
{
  g_autoptr (GossipConfig) cert_only = ws_config ("server-cert.pem", NULL, FALSE);
  g_autoptr (GossipConfig) key_only = ws_config (NULL, "server-key.pem", FALSE);
  g_autoptr (GError) error = NULL;
  Node probe = { f, NULL };

  g_assert_null (create (f, &probe, cert_only, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "tls_key_file"));
  g_clear_error (&error);
  g_assert_null (create (f, &probe, key_only, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "tls_cert_file"));
}

static void
test_bad_certificate_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GossipConfig) bad = ws_config ("bad-cert.pem", "bad-key.pem", FALSE);
  Node *client = node_new (f, TRUE);
  Node *impostor = node_new_full (f, bad, NULL);
  Done d = { 0 };

  send_and_wait (client, impostor->address, "secret", &d);
  g_assert_error (d.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_test_message ("%s", d.error->message);
  g_assert_nonnull (strstr (d.error->message, "certificate"));
  g_clear_error (&d.error);
  g_assert_cmpuint (impostor->received->len, ==, 0);
}

static void
test_wss_both_ways (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f, TRUE);
  Node *b = node_new (f, TRUE);
  Done d1 = { 0 }, d2 = { 0 };

  send_and_wait (a, b->address, "hello", &d1);
  g_assert_no_error (d1.error);
  g_assert_true (wait_count (f, &b->received->len, 1));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (b->froms, 0), "wss://127.0.0.1:"));
  send_and_wait (b, g_ptr_array_index (b->froms, 0), "back", &d2);
  g_assert_no_error (d2.error);
  g_assert_true (wait_count (f, &a->received->len, 1));
  g_assert_cmpstr (g_ptr_array_index (a->froms, 0), ==, b->address);
}

static void
test_wrong_path_unreachable (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f, FALSE);
  Node *b = node_new (f, FALSE);
  g_autofree char *base = g_strndup (b->address, strrchr (b->address, '/') - b->address);
  g_autofree char *wrong = g_strconcat (base, "/elsewhere", NULL);
  Done d = { 0 };

  send_and_wait (a, wrong, "x", &d);
  g_assert_error (d.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_test_message ("%s", d.error->message);
  g_assert_nonnull (strstr (d.error->message, "404"));
  g_clear_error (&d.error);
}

/* A raw libsoup client. */
typedef struct
{
  SoupWebsocketConnection *ws;
  GError *error;
  gboolean finished;
  guint status;
} RawClient;

static void
raw_connected (GObject *session, GAsyncResult *result, gpointer data)
{
  RawClient *raw = data;

  raw->ws = soup_session_websocket_connect_finish (SOUP_SESSION (session), result, &raw->error);
  raw->finished = TRUE;
}

static void
raw_connect (Fixture *f, const char *address, const char *protocol, RawClient *raw)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (GUri) uri = g_uri_parse (address, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GUri) http = soup_uri_copy (uri, SOUP_URI_SCHEME, "http", SOUP_URI_NONE);
  g_autoptr (SoupMessage) msg = soup_message_new_from_uri ("GET", http);
  const char *protocols[] = { protocol, NULL };

  soup_session_websocket_connect_async (session, msg, NULL,
                                        protocol != NULL ? (char **) protocols : NULL,
                                        G_PRIORITY_DEFAULT, NULL, raw_connected, raw);
  g_assert_true (wait_flag (f, &raw->finished));
  raw->status = soup_message_get_status (msg);
}

/* A TCP connection to @n's port that says nothing: no TLS ClientHello. */
static GSocketConnection *
silent_connect (Node *n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = g_uri_parse (n->address, G_URI_FLAGS_NONE, &error);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  GSocketConnection *c;

  g_assert_no_error (error);
  c = g_socket_client_connect_to_host (client, g_uri_get_host (uri), g_uri_get_port (uri), NULL,
                                       &error);
  g_assert_no_error (error);
  return c;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* A wss:// peer that connects and never starts its TLS handshake is cut off
 * after io_timeout, and a node destroyed while such a handshake is pending
 * stops at once (libsoup's own accept waited for the handshake forever). */
static void
test_tls_handshake_stall (Fixture *f, gconstpointer data)
{
  Node *b;
  g_autoptr (GSocketConnection) first = NULL;
  g_autoptr (GSocketConnection) second = NULL;
  gint64 start;
  guint8 byte;
  gssize n;

  f->io_timeout_us = SEC / 2;
  b = node_new (f, TRUE);
  first = silent_connect (b);
  g_assert_true (wait_count (f, &b->dropped->len, 1));
  {
    const GError *dropped = b->dropped->pdata[0];

    g_test_message ("%s", dropped->message);
    g_assert_error (dropped, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT);
  }
  /* The server let go of the connection: the client reads its end. */
  n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (first)), &byte, 1, NULL,
                           NULL);
  g_assert_cmpint (n, <=, 0);

  /* Another one, its handshake under way on the server when it stops. */
  second = silent_connect (b);
  f->io_timeout_us = 5 * SEC;
  {
    GSource *pause = g_timeout_source_new (100);
    gboolean paused = FALSE;

    g_source_set_callback (pause, set_flag, &paused, NULL);
    g_source_attach (pause, f->context);
    g_assert_true (wait_flag (f, &paused));
    g_source_destroy (pause);
    g_source_unref (pause);
  }
  start = g_get_monotonic_time ();
  node_destroy (b);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * SEC);
}

static void
test_raw_text_message_dropped (Fixture *f, gconstpointer data)
{
  Node *b = node_new (f, FALSE);
  RawClient raw = { 0 };

  raw_connect (f, b->address, "gossip.v1", &raw);
  g_assert_no_error (raw.error);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (raw.ws), ==, "gossip.v1");
  soup_websocket_connection_send_text (raw.ws, "not a frame");
  g_assert_true (wait_count (f, &b->dropped->len, 1));
  g_assert_cmpuint (b->received->len, ==, 0);
  g_clear_object (&raw.ws);
}

static void
test_raw_wrong_subprotocol_refused (Fixture *f, gconstpointer data)
{
  Node *b = node_new (f, FALSE);
  RawClient wrong = { 0 }, none = { 0 };

  raw_connect (f, b->address, "chat", &wrong);
  g_assert_null (wrong.ws);
  g_assert_nonnull (wrong.error);
  g_assert_cmpuint (wrong.status, ==, SOUP_STATUS_BAD_REQUEST);
  g_clear_error (&wrong.error);
  raw_connect (f, b->address, NULL, &none);
  g_assert_null (none.ws);
  g_assert_cmpuint (none.status, ==, SOUP_STATUS_BAD_REQUEST);
  g_clear_error (&none.error);
  g_assert_true (wait_count (f, &b->dropped->len, 2));
}

static void
test_mounted_on_application_server (Fixture *f, gconstpointer data)
{
  g_autoptr (SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr (GossipConfig) config = ws_config (NULL, NULL, TRUE);
  g_autoptr (GError) error = NULL;
  GSList *listeners;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *expected = NULL;
  Node *mounted, *a;
  Done d = { 0 }, after = { 0 };

  g_autoptr (GSocketAddress) loopback = g_inet_socket_address_new_from_string ("127.0.0.1", 0);

  /* Only the libsoup provider can serve on an application's SoupServer;
   * the others listen on their own port and say so (gossip-transport.h). */
  if (!g_str_equal (f->plugin->name, "websocket-soup"))
    {
      g_test_skip ("this provider ignores params->http_server");
      return;
    }

  /* soup_server_listen_local() leaks an address in libsoup 3.2. */
  g_assert_true (soup_server_listen (server, loopback, 0, &error));
  g_assert_no_error (error);
  listeners = soup_server_get_listeners (server);
  bound = g_socket_get_local_address (listeners->data, &error);
  g_assert_no_error (error);
  g_slist_free (listeners);
  expected = g_strdup_printf ("ws://127.0.0.1:%u/gossip",
                              g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  mounted = node_new_full (f, config, G_OBJECT (server));
  g_assert_cmpstr (mounted->address, ==, expected);

  a = node_new (f, FALSE);
  send_and_wait (a, mounted->address, "via the app", &d);
  g_assert_no_error (d.error);
  g_assert_true (wait_count (f, &mounted->received->len, 1));

  /* Gone with the transport: the path is the application's again. */
  node_destroy (mounted);
  node_destroy (a);
  a = node_new (f, FALSE);
  send_and_wait (a, expected, "nobody", &after);
  g_assert_error (after.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_clear_error (&after.error);
  soup_server_disconnect (server);
}

static void
test_channel_smoke (Fixture *f, gconstpointer data)
{
  const GossipTransportVTable *vt = f->plugin->vtable;
  Node *a = node_new (f, TRUE);
  Node *b = node_new (f, TRUE);
  ChannelLog *mine = channel_log_new (), *theirs = channel_log_new ();
  ChannelLog *mine2 = channel_log_new (), *theirs2 = channel_log_new ();
  g_autoptr (GBytes) one = g_bytes_new_static ("one", 3);
  g_autoptr (GBytes) two = g_bytes_new_static ("two", 3);
  g_autoptr (GBytes) back = g_bytes_new_static ("back", 4);
  g_autoptr (GError) error = NULL;
  GossipTransportChannel *ch;
  Done sent = { 0 }, answered = { 0 };

  b->accept_channels = TRUE;
  accepted_log = theirs;
  ch = vt->channel_open (a->instance, b->address, &channel_log_callbacks, mine, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ch);
  vt->channel_send (a->instance, ch, one, done_cb, &sent);
  vt->channel_send (a->instance, ch, two, NULL, NULL);
  g_assert_true (wait_count (f, &theirs->frames->len, 2));
  g_assert_true (wait_count (f, &sent.calls, 1));
  g_assert_no_error (sent.error);
  g_assert_cmpuint (b->channels->len, ==, 1);
  vt->channel_send (b->instance, g_ptr_array_index (b->channels, 0), back, done_cb, &answered);
  g_assert_true (wait_count (f, &mine->frames->len, 1));
  g_assert_true (wait_count (f, &answered.calls, 1));
  /* Graceful: the peer sees closed(NULL) after the frames. */
  vt->channel_close (a->instance, ch, FALSE);
  g_assert_true (wait_flag (f, &theirs->closed));
  g_assert_no_error (theirs->error);
  g_assert_false (mine->closed);
  g_assert_cmpuint (b->received->len, ==, 0);

  /* Abort: the peer sees closed(error). */
  accepted_log = theirs2;
  ch = vt->channel_open (a->instance, b->address, &channel_log_callbacks, mine2, &error);
  vt->channel_send (a->instance, ch, one, done_cb, &sent);
  g_assert_true (wait_count (f, &theirs2->frames->len, 1));
  vt->channel_close (a->instance, ch, TRUE);
  g_assert_true (wait_flag (f, &theirs2->closed));
  g_assert_nonnull (theirs2->error);
  g_test_message ("aborted: %s", theirs2->error->message);
  accepted_log = NULL;
  node_destroy (a);
  node_destroy (b);
  channel_log_free (mine);
  channel_log_free (theirs);
  channel_log_free (mine2);
  channel_log_free (theirs2);
}

/* Clusters: timers are relaxed next to test-cluster-sockets.c, as every
 * connection starts with a TCP, (TLS) and HTTP handshake, and sanitizer
 * builds on a busy machine are slow. */

#define FAST                                                                                       \
  "health", "profile", "local", "health", "probe_interval", "1s", "health", "probe_timeout",       \
      "500ms", "gossip", "interval", "100ms", "health", "reconnect_interval", "500ms"

static void
run_cluster (const Plugin *plugin, gboolean tls)
{
  g_autofree char *cert = g_build_filename (certs_dir, "server-cert.pem", NULL);
  g_autofree char *key = g_build_filename (certs_dir, "server-key.pem", NULL);
  g_autofree char *ca = g_build_filename (certs_dir, "ca.pem", NULL);
  const char *ws_settings[] = { FAST,
                                "plugins",
                                "transport",
                                plugin->name,
                                "websocket",
                                tls ? "tls_cert_file" : "allow_insecure",
                                tls ? cert : "true",
                                "websocket",
                                tls ? "tls_key_file" : "ping_interval",
                                tls ? key : "5s",
                                "websocket",
                                "tls_ca_file",
                                ca,
                                "transport",
                                "connect_timeout",
                                "30s",
                                NULL };
  g_autoptr (Harness) h = harness_new (10, FALSE, ws_settings);

  g_assert_true (g_str_has_prefix (harness_address (h, 0), tls ? "wss://" : "ws://"));
  harness_join_all_to (h, 0);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (10), 40 * SEC))
    {
      harness_dump (h);
      g_test_fail_printf ("10 nodes over %s did not converge in 40 s", tls ? "wss" : "ws");
    }
}

static void
test_cluster_ws (gconstpointer data)
{
  run_cluster (data, FALSE);
}

static void
test_cluster_wss (gconstpointer data)
{
  run_cluster (data, TRUE);
}

/* ------------------------------------------------------------------------ */

static void
remove_certs_dir (void)
{
  g_autoptr (GDir) dir = g_dir_open (certs_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (certs_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (certs_dir);
}

static void
test_not_loadable (gconstpointer data)
{
  g_test_fail_printf ("%s", (const char *) data);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  const char *names = g_getenv ("GOSSIP_TEST_WS_PLUGINS");
  g_auto (GStrv) tokens = NULL;
  g_autoptr (GPtrArray) plugins = g_ptr_array_new ();
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  int ret;

  g_test_init (&argc, &argv, NULL);
  certs_dir = g_dir_make_tmp ("gossip-ws-certs-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_true (gossip_test_certs_generate (certs_dir, &error));
  g_assert_no_error (error);

  tokens = g_strsplit_set (names ? names : GOSSIP_TEST_DEFAULT_WS_PLUGINS, " ,", -1);
  for (guint i = 0; tokens[i] != NULL; i++)
    {
      static const struct
      {
        const char *name;
        FixtureFunc func;
      } cases[] = {
        { "insecure-refused-by-default", test_insecure_refused_by_default },
        { "certificate-settings", test_certificate_settings },
        { "bad-certificate-refused", test_bad_certificate_refused },
        { "wss-both-ways", test_wss_both_ways },
        { "wrong-path-unreachable", test_wrong_path_unreachable },
        { "raw-text-message-dropped", test_raw_text_message_dropped },
        { "tls-handshake-stall", test_tls_handshake_stall },
        { "raw-wrong-subprotocol-refused", test_raw_wrong_subprotocol_refused },
        { "mounted-on-application-server", test_mounted_on_application_server },
        { "channel-smoke", test_channel_smoke },
      };
      GossipPlugin *loaded;
      Plugin *p;
      g_autoptr (GError) load_error = NULL;

      if (tokens[i][0] == '\0')
        continue;
      loaded = gossip_plugin_load (GOSSIP_PLUGIN_KIND_TRANSPORT, tokens[i], NULL, &load_error);
      if (loaded == NULL)
        {
          g_autofree char *path = g_strdup_printf ("/websocket/%s/loads", tokens[i]);
          char *message = g_strdup_printf ("%s: %s", tokens[i], load_error->message);

          g_ptr_array_add (errors, message);
          g_test_add_data_func (path, message, test_not_loadable);
          continue;
        }
      p = g_new0 (Plugin, 1);
      p->name = g_strdup (tokens[i]);
      p->vtable = gossip_plugin_get_vtable (loaded);
      g_ptr_array_add (plugins, p);
      for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          g_autofree char *path = g_strdup_printf ("/websocket/%s/%s", p->name, cases[c].name);

          /* Run apart by tests/test-websocket-mounted.sh, see there. */
          if (cases[c].func == test_mounted_on_application_server
              && g_getenv ("GOSSIP_TEST_WS_MOUNTED") == NULL)
            continue;
          g_test_add (path, Fixture, p, fixture_setup, cases[c].func, fixture_teardown);
        }
      {
        g_autofree char *ws = g_strdup_printf ("/websocket/%s/cluster-of-10-over-ws", p->name);
        g_autofree char *wss = g_strdup_printf ("/websocket/%s/cluster-of-10-over-wss", p->name);

        g_test_add_data_func (ws, p, test_cluster_ws);
        g_test_add_data_func (wss, p, test_cluster_wss);
      }
    }
  ret = g_test_run ();
  for (guint i = 0; i < plugins->len; i++)
    {
      Plugin *p = g_ptr_array_index (plugins, i);

      g_free (p->name);
      g_free (p);
    }
  remove_certs_dir ();
  g_free (certs_dir);
  return ret;
}
