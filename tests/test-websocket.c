/* test-websocket.c: what every WebSocket transport must do beyond the
 * conformance suite (test-transport.c): TLS and its refusals, the wire
 * protocol's refusals (path, subprotocol, text messages), hostile peers
 * (broken, oversized or slow handshakes, unmasked, oversized or slow
 * frames), mounting on an application's SoupServer, channels (abort,
 * refusal, a long stream), and whole clusters over ws:// and wss://.
 *
 * Runs once per plugin named in GOSSIP_TEST_WS_PLUGINS (space or comma
 * separated; by default those this build has), as /websocket/<plugin>/<case>.
 * Raw peers are libsoup clients written here, or for hostile input plain
 * TCP sockets speaking HTTP and RFC 6455 by hand, so every provider is
 * checked against the same independent implementation of the wire protocol.
 * Everything runs on 127.0.0.1 in real time; every wait has a deadline.
 */
#include "config.h"

#include <string.h>

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
  GPtrArray *frames; /* GBytes, the first 64 */
  gsize bytes;       /* in all frames */
  gboolean closed;
  GError *error;
} ChannelLog;

static void
channel_log_received (gpointer user_data, GBytes *frame)
{
  ChannelLog *log = user_data;

  g_assert_false (log->closed);
  log->bytes += g_bytes_get_size (frame);
  if (log->frames->len < 64)
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

  g_assert_true (g_str_has_prefix (from, "ws://") || g_str_has_prefix (from, "wss://"));
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

static const GError *
dropped_at (Node *n, guint i)
{
  g_assert_cmpuint (i, <, n->dropped->len);
  return g_ptr_array_index (n->dropped, i);
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

typedef gboolean (*Condition) (gpointer data);

/* Iterates until @cond holds or @timeout_us passed; returns whether it holds. */
static gboolean
wait_for (Fixture *f, Condition cond, gpointer data, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  GSource *tick = g_timeout_source_new (5);
  gboolean ok;

  g_source_set_dummy_callback (tick);
  g_source_attach (tick, f->context);
  while (!(ok = cond (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (f->context, TRUE);
  g_source_destroy (tick);
  g_source_unref (tick);
  return ok;
}

typedef struct
{
  const guint *counter;
  guint target;
} CountAtLeast;

static gboolean
count_reached (gpointer data)
{
  const CountAtLeast *c = data;

  return *c->counter >= c->target;
}

static gboolean
flag_set (gpointer data)
{
  return *(const gboolean *) data;
}

static gboolean
wait_count (Fixture *f, const guint *counter, guint target)
{
  CountAtLeast c = { counter, target };

  return wait_for (f, count_reached, &c, WAIT_US);
}

static gboolean
wait_flag (Fixture *f, const gboolean *flag)
{
  return wait_for (f, flag_set, (gpointer) flag, WAIT_US);
}

/* Lets the context run for @us (to see that nothing more happens). */
static void
run_for (Fixture *f, gint64 us)
{
  gboolean never = FALSE;

  wait_for (f, flag_set, &never, us);
}

typedef struct
{
  guint calls;
  guint failed;
  GError *error; /* the first failure's */
} Done;

static void
done_cb (gpointer user_data, const GError *error)
{
  Done *d = user_data;

  d->calls++;
  if (error == NULL)
    return;
  d->failed++;
  if (d->error == NULL)
    d->error = g_error_copy (error);
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
  g_assert_true (g_str_has_prefix (secure->address, "wss://127.0.0.1:"));
  g_assert_true (g_str_has_suffix (secure->address, "/gossip"));
  g_assert_true (g_str_has_prefix (insecure->address, "ws://127.0.0.1:"));
  g_assert_false (
      f->plugin->vtable->send_datagram (secure->instance, insecure->address, frame, &error));
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  /* The refusal comes later on the context, never from inside the call. */
  f->plugin->vtable->send_reliable (secure->instance, insecure->address, frame, done_cb, &d);
  g_assert_cmpuint (d.calls, ==, 0);
  g_assert_true (wait_count (f, &d.calls, 1));
  g_assert_error (d.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_test_message ("%s", d.error->message);
  g_assert_nonnull (strstr (d.error->message, "allow_insecure"));
  g_clear_error (&d.error);
  run_for (f, 100 * 1000);
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
  Done d = { 0 }, back = { 0 };

  send_and_wait (client, impostor->address, "secret", &d);
  g_assert_error (d.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_test_message ("%s", d.error->message);
  g_assert_nonnull (strstr (d.error->message, "certificate"));
  g_clear_error (&d.error);
  g_assert_cmpuint (impostor->received->len, ==, 0);

  /* The impostor trusts ca.pem too, and reaches the good node. */
  send_and_wait (impostor, client->address, "hello", &back);
  g_assert_no_error (back.error);
  g_assert_true (wait_count (f, &client->received->len, 1));
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

/* Raw TCP peers, for what no WebSocket library would send.  Their sockets
 * block for at most 5 s. */

/* A TCP connection to @n's port that says nothing yet: no TLS ClientHello,
 * no HTTP request. */
static GSocketConnection *
tcp_connect (Node *n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = g_uri_parse (n->address, G_URI_FLAGS_NONE, &error);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  GSocketConnection *c;

  g_assert_no_error (error);
  c = g_socket_client_connect_to_host (client, g_uri_get_host (uri), g_uri_get_port (uri), NULL,
                                       &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (c), 5);
  return c;
}

static void
tcp_send (GSocketConnection *c, const void *data, gsize len)
{
  for (gsize sent = 0; sent < len;)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send (g_socket_connection_get_socket (c), (const char *) data + sent,
                                len - sent, NULL, &error);

      if (n <= 0)
        return; /* closed by the transport: fine */
      sent += (gsize) n;
    }
}

typedef struct
{
  GSocketConnection *c;
  GString *got;
  gboolean closed;
} TcpReader;

/* Reads what is there; TRUE once the transport closed the connection. */
static gboolean
tcp_read_closed (gpointer data)
{
  TcpReader *r = data;
  char buf[4096];

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_receive_with_blocking (g_socket_connection_get_socket (r->c), buf,
                                                 sizeof buf, FALSE, NULL, &error);

      if (n > 0)
        {
          g_string_append_len (r->got, buf, n);
          continue;
        }
      if (n == 0 || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        r->closed = TRUE;
      return r->closed;
    }
}

static gboolean
tcp_read_head (gpointer data)
{
  TcpReader *r = data;

  tcp_read_closed (r);
  return strstr (r->got->str, "\r\n\r\n") != NULL || r->closed;
}

static void
assert_tcp_closes (Fixture *f, GSocketConnection *c)
{
  TcpReader r = { c, g_string_new (NULL), FALSE };

  if (!wait_for (f, tcp_read_closed, &r, WAIT_US))
    g_error ("the transport kept a hostile connection open");
  g_string_free (r.got, TRUE);
}

/* Sends an upgrade request for @path and @protocol; returns the response
 * head (or what came before the connection closed). */
static char *
tcp_request (Fixture *f, GSocketConnection *c, const char *path, const char *protocol)
{
  g_autofree char *request
      = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                         "Connection: keep-alive, Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
                         path, protocol);
  TcpReader r = { c, g_string_new (NULL), FALSE };

  tcp_send (c, request, strlen (request));
  g_assert_true (wait_for (f, tcp_read_head, &r, WAIT_US));
  g_test_message ("%s %s: %s", path, protocol, r.got->str);
  return g_string_free (r.got, FALSE);
}

/* A raw client through the upgrade; the response head is checked. */
static GSocketConnection *
tcp_upgrade (Node *n, const char *protocol)
{
  GSocketConnection *c = tcp_connect (n);
  g_autofree char *head = tcp_request (n->f, c, "/gossip", protocol);
  g_autofree char *expected = g_strdup_printf ("Sec-WebSocket-Protocol: %s\r\n", protocol);

  g_assert_true (g_str_has_prefix (head, "HTTP/1.1 101 "));
  /* RFC 6455's own example of a key and its answer. */
  g_assert_nonnull (strstr (head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  g_assert_nonnull (strstr (head, expected));
  return c;
}

/* A client's (masked) or a server's (unmasked) frame header. */
static gsize
frame_header (guint8 *out, guint8 opcode, guint64 len, gboolean masked)
{
  gsize n = 0;

  out[n++] = 0x80 | opcode;
  if (len < 126)
    out[n++] = (masked ? 0x80 : 0) | (guint8) len;
  else if (len < 65536)
    {
      out[n++] = (masked ? 0x80 : 0) | 126;
      out[n++] = (guint8) (len >> 8);
      out[n++] = (guint8) len;
    }
  else
    {
      out[n++] = (masked ? 0x80 : 0) | 127;
      for (int i = 7; i >= 0; i--)
        out[n++] = (guint8) (len >> (8 * i));
    }
  if (masked)
    {
      memset (out + n, 0, 4); /* a zero mask: the payload goes as is */
      n += 4;
    }
  return n;
}

static void
tcp_frame (GSocketConnection *c, guint8 opcode, const char *payload, gboolean masked)
{
  guint8 buf[256];
  gsize len = strlen (payload);
  gsize n = frame_header (buf, opcode, len, masked);

  g_assert_cmpuint (n + len, <=, sizeof buf);
  memcpy (buf + n, payload, len);
  tcp_send (c, buf, n + len);
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

  f->io_timeout_us = SEC / 2;
  b = node_new (f, TRUE);
  first = tcp_connect (b);
  g_assert_true (wait_count (f, &b->dropped->len, 1));
  {
    const GError *dropped = b->dropped->pdata[0];

    g_test_message ("%s", dropped->message);
    g_assert_error (dropped, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT);
  }
  /* The server let go of the connection: the client reads its end. */
  assert_tcp_closes (f, first);

  /* Another one, its handshake under way on the server when it stops. */
  second = tcp_connect (b);
  run_for (f, 100 * 1000);
  start = g_get_monotonic_time ();
  node_destroy (b);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * SEC);
}

static gboolean
raw_closed (gpointer data)
{
  return soup_websocket_connection_get_state (data) == SOUP_WEBSOCKET_STATE_CLOSED;
}

/* A text message is a protocol error: dropped, the connection closed, and
 * what came before kept. */
static void
test_raw_text_message_dropped (Fixture *f, gconstpointer data)
{
  Node *b = node_new (f, FALSE);
  RawClient raw = { 0 };

  raw_connect (f, b->address, "gossip.v1", &raw);
  g_assert_no_error (raw.error);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (raw.ws), ==, "gossip.v1");
  soup_websocket_connection_send_binary (raw.ws, "binary", 6);
  soup_websocket_connection_send_text (raw.ws, "not a frame");
  g_assert_true (wait_count (f, &b->dropped->len, 1));
  g_assert_error (dropped_at (b, 0), GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL);
  g_assert_true (wait_for (f, raw_closed, raw.ws, WAIT_US));
  g_assert_cmpuint (b->received->len, ==, 1);
  g_assert_cmpmem (g_bytes_get_data (b->received->pdata[0], NULL),
                   g_bytes_get_size (b->received->pdata[0]), "binary", 6);
  g_assert_true (g_str_has_prefix (b->froms->pdata[0], "ws://127.0.0.1:"));
  g_assert_cmpuint (b->dropped->len, ==, 1);
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

/* By hand: a refused request is reported and its connection closed after
 * the answer; a query string does not change the path. */
static void
test_raw_upgrade_requests (Fixture *f, gconstpointer data)
{
  Node *b = node_new (f, FALSE);
  const struct
  {
    const char *path, *protocol, *status;
  } cases[] = {
    { "/elsewhere", "gossip.v1", "HTTP/1.1 404 " },
    { "/gossip", "chat", "HTTP/1.1 400 " },
    { "/gossip?x=1", "gossip.v1", "HTTP/1.1 101 " },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GSocketConnection) c = tcp_connect (b);
      g_autofree char *head = tcp_request (f, c, cases[i].path, cases[i].protocol);

      g_assert_true (g_str_has_prefix (head, cases[i].status));
      if (i < 2)
        assert_tcp_closes (f, c);
      else
        g_assert_nonnull (strstr (head, "Sec-WebSocket-Protocol: gossip.v1\r\n"));
    }
  g_assert_true (wait_count (f, &b->dropped->len, 2));
  for (guint i = 0; i < 2; i++)
    g_assert_true (dropped_at (b, i)->domain == GOSSIP_TRANSPORT_ERROR);
  run_for (f, 100 * 1000);
  g_assert_cmpuint (b->dropped->len, ==, 2);
}

/* A request head that is not HTTP, or that does not end, is refused. */
static void
test_bad_handshakes (Fixture *f, gconstpointer data)
{
  Node *b;
  g_autoptr (GSocketConnection) garbage = NULL;
  g_autoptr (GSocketConnection) oversized = NULL;
  g_autofree char *huge = g_strnfill (200 * 1024, 'a');
  const char *junk = "GET / HTTP/1.1\r\n\x01\x02 nonsense\r\n\r\n";
  const char *start = "GET /gossip HTTP/1.1\r\nX-Pad: ";

  f->io_timeout_us = SEC;
  b = node_new (f, FALSE);
  garbage = tcp_connect (b);
  tcp_send (garbage, junk, strlen (junk));
  assert_tcp_closes (f, garbage);
  g_assert_true (wait_count (f, &b->dropped->len, 1));
  g_assert_error (dropped_at (b, 0), GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL);

  /* A head above 200 KiB is refused without waiting for its end: its
   * connection closes while it is still being sent. */
  oversized = tcp_connect (b);
  tcp_send (oversized, start, strlen (start));
  tcp_send (oversized, huge, strlen (huge));
  assert_tcp_closes (f, oversized);
  g_assert_true (wait_count (f, &b->dropped->len, 2));
  /* libsoup closes a head above its limit without telling: websocket-soup
   * sees it when io_timeout expires, and then the socket may still be open
   * (see its header comment). */
  if (g_str_equal (f->plugin->name, "websocket-soup")
      && g_error_matches (dropped_at (b, 1), GOSSIP_TRANSPORT_ERROR,
                          GOSSIP_TRANSPORT_ERROR_TIMEOUT))
    g_test_message ("websocket-soup: the oversized head was reported at io_timeout");
  else
    g_assert_error (dropped_at (b, 1), GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL);
  g_assert_cmpuint (b->dropped->len, ==, 2);
  g_assert_cmpuint (b->received->len, ==, 0);
}

typedef struct
{
  Node *node;
  GSocketConnection *c;
  gint64 last;
  guint sent;
} Dribbler;

static gboolean
dribble (gpointer data)
{
  Dribbler *d = data;
  const char *request = "GET /gossip HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n";

  if (d->node->dropped->len > 0)
    return TRUE;
  if (g_get_monotonic_time () - d->last >= 50 * 1000 && d->sent < strlen (request))
    {
      tcp_send (d->c, request + d->sent++, 1);
      d->last = g_get_monotonic_time ();
    }
  return FALSE;
}

/* io_timeout bounds the upgrade request, not just the wait for its first
 * byte. */
static void
test_slow_handshake (Fixture *f, gconstpointer data)
{
  Node *b;
  Dribbler d = { 0 };

  f->io_timeout_us = 300 * 1000;
  b = node_new (f, FALSE);
  d.node = b;
  d.c = tcp_connect (b);
  /* A byte every 50 ms: the head would take 3 s, the limit is 300 ms. */
  g_assert_true (wait_for (f, dribble, &d, 3 * SEC));
  g_assert_error (dropped_at (b, 0), GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT);
  g_assert_cmpuint (d.sent, <, 30);
  assert_tcp_closes (f, d.c);
  g_object_unref (d.c);
}

typedef enum
{
  HOSTILE_UNMASKED,
  HOSTILE_HUGE_LENGTH,
  HOSTILE_SLOW,
} Hostile;

/* A raw client upgrades, sends a good frame, then misbehaves: the node
 * drops it with @code, closes it, and keeps what came before. */
static void
hostile_frames (Fixture *f, Hostile what, gint code)
{
  g_autoptr (GSocketConnection) c = NULL;
  Node *b;
  guint8 header[16];

  f->io_timeout_us = 300 * 1000;
  b = node_new (f, FALSE);
  c = tcp_upgrade (b, "gossip.v1");
  tcp_frame (c, 0x2, "binary", TRUE);
  switch (what)
    {
    case HOSTILE_UNMASKED:
      /* Clients must mask their frames (RFC 6455 5.1). */
      tcp_frame (c, 0x2, "unmasked", FALSE);
      break;
    case HOSTILE_HUGE_LENGTH:
      /* Refused from the header: no 4 GiB buffer, no waiting for the rest. */
      tcp_send (c, header, frame_header (header, 0x2, G_GUINT64_CONSTANT (4) << 30, TRUE));
      tcp_send (c, "payload", 7);
      break;
    case HOSTILE_SLOW:
      /* Part of a message, then nothing: cut off after io_timeout. */
      tcp_send (c, header, frame_header (header, 0x2, 100, TRUE));
      tcp_send (c, "only part", 9);
      break;
    }
  g_assert_true (wait_count (f, &b->dropped->len, 1));
  g_assert_error (dropped_at (b, 0), GOSSIP_TRANSPORT_ERROR, code);
  assert_tcp_closes (f, c);
  g_assert_true (wait_count (f, &b->received->len, 1));
  g_assert_cmpmem (g_bytes_get_data (b->received->pdata[0], NULL),
                   g_bytes_get_size (b->received->pdata[0]), "binary", 6);
  g_assert_true (g_str_has_prefix (b->froms->pdata[0], "ws://127.0.0.1:"));
  g_assert_cmpuint (b->received->len, ==, 1);
  g_assert_cmpuint (b->dropped->len, ==, 1);
}

static void
test_unmasked_frame_dropped (Fixture *f, gconstpointer data)
{
  hostile_frames (f, HOSTILE_UNMASKED, GOSSIP_TRANSPORT_ERROR_PROTOCOL);
}

static void
test_huge_length_refused (Fixture *f, gconstpointer data)
{
  hostile_frames (f, HOSTILE_HUGE_LENGTH, GOSSIP_TRANSPORT_ERROR_TOO_BIG);
}

static void
test_slow_message (Fixture *f, gconstpointer data)
{
  if (g_str_equal (f->plugin->name, "websocket-soup"))
    {
      /* See its header comment: libsoup does not expose a partly received
       * message, so io_timeout cannot bound one. */
      g_test_skip ("websocket-soup: a message dribbled slowly is bounded only by the ping "
                   "keepalive and max_frame_size, not io_timeout (libsoup limit)");
      return;
    }
  hostile_frames (f, HOSTILE_SLOW, GOSSIP_TRANSPORT_ERROR_TIMEOUT);
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
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GBytes) back = g_bytes_new_static ("back", 4);
  g_autoptr (GError) error = NULL;
  GossipTransportChannel *ch;
  Done sent = { 0 }, answered = { 0 };

  b->accept_channels = TRUE;
  accepted_log = theirs;
  ch = vt->channel_open (a->instance, b->address, &channel_log_callbacks, mine, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ch);
  /* Queued before the connection is up; an empty frame is a frame. */
  vt->channel_send (a->instance, ch, one, done_cb, &sent);
  vt->channel_send (a->instance, ch, two, NULL, NULL);
  vt->channel_send (a->instance, ch, empty, done_cb, &sent);
  g_assert_true (wait_count (f, &theirs->frames->len, 3));
  g_assert_true (wait_count (f, &sent.calls, 2));
  g_assert_no_error (sent.error);
  g_assert_cmpuint (g_bytes_get_size (theirs->frames->pdata[2]), ==, 0);
  g_assert_cmpuint (b->channels->len, ==, 1);
  vt->channel_send (b->instance, g_ptr_array_index (b->channels, 0), back, done_cb, &answered);
  g_assert_true (wait_count (f, &mine->frames->len, 1));
  g_assert_true (wait_count (f, &answered.calls, 1));
  /* Graceful: the peer gets the frame queued last, then closed(NULL). */
  vt->channel_send (a->instance, ch, two, NULL, NULL);
  vt->channel_close (a->instance, ch, FALSE);
  g_assert_true (wait_flag (f, &theirs->closed));
  g_assert_no_error (theirs->error);
  g_assert_cmpuint (theirs->frames->len, ==, 4);
  g_assert_cmpuint (theirs->bytes, ==, 9);
  g_assert_false (mine->closed);
  /* Channels are not pooled frames. */
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

static void
test_channel_abort_and_refusal (Fixture *f, gconstpointer data)
{
  const GossipTransportVTable *vt = f->plugin->vtable;
  Node *a = node_new (f, FALSE);
  Node *b = node_new (f, FALSE);
  ChannelLog *mine = channel_log_new (), *theirs = channel_log_new ();
  ChannelLog *refused = channel_log_new ();
  g_autoptr (GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autoptr (GError) error = NULL;
  GossipTransportChannel *ch;

  /* The accepting side aborts: the opener sees closed(error). */
  b->accept_channels = TRUE;
  accepted_log = theirs;
  ch = vt->channel_open (a->instance, b->address, &channel_log_callbacks, mine, &error);
  g_assert_no_error (error);
  vt->channel_send (a->instance, ch, hello, NULL, NULL);
  g_assert_true (wait_count (f, &theirs->frames->len, 1));
  vt->channel_close (b->instance, g_ptr_array_index (b->channels, 0), TRUE);
  g_assert_true (wait_flag (f, &mine->closed));
  g_assert_nonnull (mine->error);
  g_test_message ("aborted: %s", mine->error->message);
  g_assert_false (theirs->closed);

  /* A refused channel is closed with an error at the opener. */
  b->accept_channels = FALSE;
  accepted_log = NULL;
  ch = vt->channel_open (a->instance, b->address, &channel_log_callbacks, refused, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ch);
  g_assert_true (wait_flag (f, &refused->closed));
  g_assert_nonnull (refused->error);
  g_test_message ("refused: %s", refused->error->message);

  /* An address it cannot parse: NULL at once. */
  g_assert_null (
      vt->channel_open (a->instance, "nonsense", &channel_log_callbacks, refused, &error));
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS);
  node_destroy (a);
  node_destroy (b);
  channel_log_free (mine);
  channel_log_free (theirs);
  channel_log_free (refused);
}

#define CHUNK (256 * 1024)

typedef struct
{
  Node *a;
  GossipTransportChannel *ch;
  GBytes *chunk;
  guint sent;
  guint total;
  Done done;
} Streamer;

static gboolean
stream_more (gpointer data)
{
  Streamer *s = data;

  /* At most 8 frames in flight, as the core's window would allow. */
  while (s->sent < s->total && s->sent - s->done.calls < 8)
    {
      s->a->f->plugin->vtable->channel_send (s->a->instance, s->ch, s->chunk, done_cb, &s->done);
      s->sent++;
    }
  return s->done.calls == s->total;
}

typedef struct
{
  const ChannelLog *log;
  gsize bytes;
} BytesAtLeast;

static gboolean
bytes_reached (gpointer data)
{
  const BytesAtLeast *b = data;

  return b->log->bytes >= b->bytes;
}

/* @total frames of 256 KiB through a channel, a window at a time. */
static void
stream_through (Fixture *f, gboolean tls, guint total)
{
  const GossipTransportVTable *vt = f->plugin->vtable;
  Node *a = node_new (f, tls);
  Node *b = node_new (f, tls);
  ChannelLog *mine = channel_log_new (), *theirs = channel_log_new ();
  g_autoptr (GError) error = NULL;
  guint8 *pattern = g_malloc (CHUNK);
  Streamer s = { a, NULL, NULL, 0, total, { 0 } };
  BytesAtLeast want = { theirs, (gsize) total * CHUNK };
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < CHUNK; i++)
    pattern[i] = (guint8) (i * 7);
  s.chunk = g_bytes_new_take (pattern, CHUNK);
  b->accept_channels = TRUE;
  accepted_log = theirs;
  s.ch = vt->channel_open (a->instance, b->address, &channel_log_callbacks, mine, &error);
  g_assert_no_error (error);
  g_assert_true (wait_for (f, stream_more, &s, 3 * WAIT_US));
  g_assert_true (wait_for (f, bytes_reached, &want, WAIT_US));
  g_test_message ("%u MiB in %.2f s", total / 4,
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  g_assert_cmpuint (s.done.failed, ==, 0);
  g_assert_cmpuint (theirs->bytes, ==, want.bytes);
  for (guint i = 0; i < theirs->frames->len; i++)
    g_assert_true (g_bytes_equal (theirs->frames->pdata[i], s.chunk));
  vt->channel_close (a->instance, s.ch, FALSE);
  g_assert_true (wait_flag (f, &theirs->closed));
  g_assert_no_error (theirs->error);
  g_assert_false (mine->closed);
  accepted_log = NULL;
  node_destroy (a);
  node_destroy (b);
  g_bytes_unref (s.chunk);
  channel_log_free (mine);
  channel_log_free (theirs);
}

static void
test_channel_stream_ws (Fixture *f, gconstpointer data)
{
  stream_through (f, FALSE, 64); /* 16 MiB */
}

static void
test_channel_stream_wss (Fixture *f, gconstpointer data)
{
  stream_through (f, TRUE, 32); /* 8 MiB */
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

  for (guint i = 0; i < 10; i++)
    g_assert_true (g_str_has_prefix (harness_address (h, i), tls ? "wss://" : "ws://"));
  harness_join_all_to (h, 0);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (10), 40 * SEC))
    {
      harness_dump (h);
      g_test_fail_printf ("10 nodes over %s did not converge in 40 s", tls ? "wss" : "ws");
      return;
    }
  for (guint i = 0; i < 10; i++)
    g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, i), "frames-in"), >, 0);
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
        { "raw-upgrade-requests", test_raw_upgrade_requests },
        { "bad-handshakes", test_bad_handshakes },
        { "slow-handshake", test_slow_handshake },
        { "unmasked-frame-dropped", test_unmasked_frame_dropped },
        { "huge-length-refused", test_huge_length_refused },
        { "slow-message", test_slow_message },
        { "mounted-on-application-server", test_mounted_on_application_server },
        { "channel-smoke", test_channel_smoke },
        { "channel-abort-and-refusal", test_channel_abort_and_refusal },
        { "channel-stream-ws", test_channel_stream_ws },
        { "channel-stream-wss", test_channel_stream_wss },
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
  gossip_test_certs_remove (certs_dir);
  g_free (certs_dir);
  return ret;
}
