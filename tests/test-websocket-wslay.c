/* test-websocket-wslay.c: what the conformance suite (test-transport) does
 * not cover for the websocket-wslay transport: its settings, TLS refusals,
 * hostile handshakes and frames from raw sockets, channels, and whole
 * clusters over ws:// and wss://.
 *
 * Everything runs on 127.0.0.1 in real time; every wait has a deadline.
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "cluster-harness.h"
#include "gossip/gossip-plugin.h"
#include "gossip/gossip-transport.h"
#include "tls-test-certs.h"

#define SEC     G_USEC_PER_SEC
#define WAIT_US (10 * SEC)
#define MiB     (1024 * 1024)

static char *certs_dir;
static const GossipTransportVTable *vt;

/* ------------------------------------------------------------------------ */
/* Nodes */

typedef struct
{
  GMainContext *context;
  gpointer instance;
  char *address;
  GPtrArray *received; /* GBytes */
  GPtrArray *from;     /* char * */
  GPtrArray *dropped;  /* GError */
  GPtrArray *accepted; /* GossipTransportChannel, attached to the node's Channel */
  gboolean refuse_channels;
} Node;

typedef struct
{
  Node *node;
  GossipTransportChannel *channel;
  GPtrArray *received; /* GBytes */
  gsize received_bytes;
  gboolean closed;
  GError *error;
  guint done_ok;
  guint done_failed;
} Channel;

static void
on_received (gpointer data, GossipTransportPath path, const char *from, GBytes *frame)
{
  Node *n = data;

  g_assert_cmpint (path, ==, GOSSIP_TRANSPORT_PATH_RELIABLE);
  g_ptr_array_add (n->received,
                   g_bytes_new (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame)));
  g_ptr_array_add (n->from, g_strdup (from));
}

static void
on_dropped (gpointer data, const char *from, const GError *reason)
{
  Node *n = data;

  g_test_message ("dropped from %s: %s", from ? from : "?", reason->message);
  g_ptr_array_add (n->dropped, g_error_copy (reason));
}

static void
channel_received (gpointer data, GBytes *frame)
{
  Channel *ch = data;

  g_assert_false (ch->closed);
  ch->received_bytes += g_bytes_get_size (frame);
  if (ch->received->len < 64)
    g_ptr_array_add (ch->received, g_bytes_ref (frame));
}

static void
channel_closed (gpointer data, const GError *error)
{
  Channel *ch = data;

  g_assert_false (ch->closed);
  ch->closed = TRUE;
  if (error != NULL)
    {
      g_test_message ("channel closed: %s", error->message);
      ch->error = g_error_copy (error);
    }
}

static const GossipTransportChannelCallbacks channel_callbacks = {
  .received = channel_received,
  .closed = channel_closed,
};

static Channel *
channel_new (Node *node)
{
  Channel *ch = g_new0 (Channel, 1);

  ch->node = node;
  ch->received = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  return ch;
}

static void
channel_free (gpointer data)
{
  Channel *ch = data;

  g_ptr_array_unref (ch->received);
  g_clear_error (&ch->error);
  g_free (ch);
}

static gboolean
on_channel_accepted (gpointer data, const char *from, GossipTransportChannel *channel)
{
  Node *n = data;
  Channel *ch;

  g_assert_true (g_str_has_prefix (from, "ws://") || g_str_has_prefix (from, "wss://"));
  if (n->refuse_channels)
    return FALSE;
  ch = channel_new (n);
  ch->channel = channel;
  vt->channel_attach (n->instance, channel, &channel_callbacks, ch);
  g_ptr_array_add (n->accepted, ch);
  return TRUE;
}

static const GossipTransportCallbacks callbacks = {
  .received = on_received,
  .dropped = on_dropped,
  .channel_accepted = on_channel_accepted,
};

typedef struct
{
  const char *config; /* keyfile text; "{certs}" is the certificates' folder */
  gint64 io_timeout_us;
  gint64 idle_timeout_us;
  gsize max_frame_size;
} NodeOptions;

static gpointer
create (Node *n, const NodeOptions *o, GError **error)
{
  GossipTransportParams params = { 0 };
  g_autoptr (GString) text = g_string_new (o->config);
  g_autoptr (GossipConfig) config = NULL;
  g_autoptr (GossipClock) clock = gossip_clock_new_for_context (n->context);

  g_string_replace (text, "{certs}", certs_dir, 0);
  config = gossip_config_new_from_data (text->str, (gssize) text->len, error);
  g_assert_nonnull (config);
  params.struct_size = sizeof params;
  params.context = n->context;
  params.clock = clock;
  params.bind_address = "127.0.0.1:0";
  params.datagrams = TRUE;
  params.max_datagram_size = 1400;
  params.max_frame_size = o->max_frame_size ? o->max_frame_size : 2 * MiB;
  params.max_connections = 32;
  params.idle_timeout_us = o->idle_timeout_us ? o->idle_timeout_us : 30 * SEC;
  params.io_timeout_us = o->io_timeout_us ? o->io_timeout_us : 5 * SEC;
  params.connect_timeout_us = 5 * SEC;
  params.callbacks = &callbacks;
  params.user_data = n;
  params.config = config;
  return vt->create (&params, error);
}

static Node *
node_new (GMainContext *context, const NodeOptions *o)
{
  g_autoptr (GError) error = NULL;
  Node *n = g_new0 (Node, 1);

  n->context = g_main_context_ref (context);
  n->received = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  n->from = g_ptr_array_new_with_free_func (g_free);
  n->dropped = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  n->accepted = g_ptr_array_new_with_free_func (channel_free);
  n->instance = create (n, o, &error);
  g_assert_no_error (error);
  n->address = vt->get_local_address (n->instance);
  g_test_message ("node at %s", n->address);
  return n;
}

static void
node_free (Node *n)
{
  if (n->instance != NULL)
    vt->destroy (n->instance);
  for (guint i = 0; i < 100 && g_main_context_iteration (n->context, FALSE); i++)
    ;
  g_free (n->address);
  g_ptr_array_unref (n->received);
  g_ptr_array_unref (n->from);
  g_ptr_array_unref (n->dropped);
  g_ptr_array_unref (n->accepted);
  g_main_context_unref (n->context);
  g_free (n);
}

static const NodeOptions insecure = { "[websocket]\nallow_insecure=true\n" };
static const NodeOptions secure = {
  "[websocket]\ntls_cert_file={certs}/server-cert.pem\ntls_key_file={certs}/server-key.pem\n"
  "tls_ca_file={certs}/ca.pem\n",
};

/* ------------------------------------------------------------------------ */
/* Waiting */

typedef gboolean (*Condition) (gpointer data);

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
wait_for (GMainContext *context, Condition cond, gpointer data, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  GSource *ticker = g_timeout_source_new (5);
  gboolean ok;

  g_source_set_callback (ticker, tick, NULL, NULL);
  g_source_attach (ticker, context);
  while (!(ok = cond (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (ticker);
  g_source_unref (ticker);
  return ok;
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

static gboolean
has_dropped (gpointer data)
{
  return ((Node *) data)->dropped->len > 0;
}

static const GError *
dropped_at (Node *n, guint i)
{
  g_assert_cmpuint (i, <, n->dropped->len);
  return g_ptr_array_index (n->dropped, i);
}

typedef struct
{
  Node *n;
  guint count;
} DroppedCount;

static gboolean
dropped_reached (gpointer data)
{
  DroppedCount *d = data;

  return d->n->dropped->len >= d->count;
}

static void
wait_dropped (Node *n, guint count)
{
  DroppedCount d = { n, count };

  wait_for (n->context, dropped_reached, &d, WAIT_US);
  g_assert_cmpuint (n->dropped->len, ==, count);
}

static gboolean
has_received (gpointer data)
{
  return ((Node *) data)->received->len > 0;
}

typedef struct
{
  guint calls;
  GError *error;
} Done;

static void
on_done (gpointer data, const GError *error)
{
  Done *d = data;

  d->calls++;
  if (error != NULL)
    d->error = g_error_copy (error);
}

static gboolean
done_called (gpointer data)
{
  return ((Done *) data)->calls > 0;
}

/* ------------------------------------------------------------------------ */
/* Raw peers */

static GSocket *
raw_connect (const char *url)
{
  g_autoptr (GError) error = NULL;
  const char *hostport = strstr (url, "://") + 3;
  g_autofree char *authority = g_strndup (hostport, strcspn (hostport, "/"));
  const char *colon = strrchr (authority, ':');
  g_autofree char *host = g_strndup (authority, colon - authority);
  g_autoptr (GSocketAddress) to
      = g_inet_socket_address_new_from_string (host, (guint) atoi (colon + 1));
  GSocket *socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (socket, 5);
  g_assert_true (g_socket_connect (socket, to, NULL, &error));
  return socket;
}

static void
raw_send (GSocket *socket, const void *data, gsize len)
{
  for (gsize sent = 0; sent < len;)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send (socket, (const char *) data + sent, len - sent, NULL, &error);

      if (n <= 0)
        return; /* closed by the transport: fine */
      sent += (gsize) n;
    }
}

typedef struct
{
  GSocket *socket;
  GString *got;
  gboolean closed;
} RawReader;

/* Reads what is there; TRUE once the peer closed. */
static gboolean
raw_closed (gpointer data)
{
  RawReader *r = data;
  char buf[4096];

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_receive_with_blocking (r->socket, buf, sizeof buf, FALSE, NULL, &error);

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
raw_has_head (gpointer data)
{
  RawReader *r = data;

  raw_closed (r);
  return strstr (r->got->str, "\r\n\r\n") != NULL || r->closed;
}

static void
raw_close (GSocket *socket)
{
  g_socket_close (socket, NULL);
  g_object_unref (socket);
}

static char *
upgrade_request (const char *path, const char *protocol)
{
  return g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: keep-alive, Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
                          path, protocol);
}

/* A raw client through the upgrade; the response head is checked. */
static GSocket *
raw_upgrade (Node *n, const char *protocol)
{
  GSocket *socket = raw_connect (n->address);
  g_autofree char *request = upgrade_request ("/gossip", protocol);
  RawReader r = { socket, g_string_new (NULL), FALSE };

  raw_send (socket, request, strlen (request));
  g_assert_true (wait_for (n->context, raw_has_head, &r, WAIT_US));
  g_test_message ("%s", r.got->str);
  g_assert_true (g_str_has_prefix (r.got->str, "HTTP/1.1 101 "));
  /* RFC 6455's own example of a key and its answer. */
  g_assert_nonnull (strstr (r.got->str, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  g_assert_nonnull (strstr (r.got->str, "Sec-WebSocket-Protocol: "));
  g_assert_nonnull (strstr (r.got->str, protocol));
  g_string_free (r.got, TRUE);
  return socket;
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
raw_frame (GSocket *socket, guint8 opcode, const char *payload, gboolean masked)
{
  guint8 buf[256];
  gsize len = strlen (payload);
  gsize n = frame_header (buf, opcode, len, masked);

  memcpy (buf + n, payload, len);
  raw_send (socket, buf, n + len);
}

static void
assert_closes (Node *n, GSocket *socket)
{
  RawReader r = { socket, g_string_new (NULL), FALSE };

  if (!wait_for (n->context, raw_closed, &r, WAIT_US))
    g_error ("the transport kept a hostile connection open");
  g_string_free (r.got, TRUE);
}

/* ------------------------------------------------------------------------ */
/* Settings and TLS */

static void
test_insecure_refused (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  Node probe = { .context = context };
  g_autoptr (GError) error = NULL;
  const NodeOptions nothing = { "" };
  const NodeOptions half = { "[websocket]\ntls_cert_file={certs}/server-cert.pem\n" };
  Node *tls, *plain;
  Done done = { 0 };
  g_autoptr (GBytes) frame = g_bytes_new_static ("x", 1);

  /* No certificate and no allow_insecure: create() says what to do. */
  g_assert_null (create (&probe, &nothing, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "plain ws:// needs [websocket] allow_insecure=true"));
  g_clear_error (&error);
  /* A certificate without its key. */
  g_assert_null (create (&probe, &half, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "tls_key_file"));
  g_clear_error (&error);

  /* A wss:// node does not send to ws:// unless allowed. */
  tls = node_new (context, &secure);
  plain = node_new (context, &insecure);
  g_assert_true (g_str_has_prefix (tls->address, "wss://127.0.0.1:"));
  g_assert_true (g_str_has_suffix (tls->address, "/gossip"));
  g_assert_true (g_str_has_prefix (plain->address, "ws://127.0.0.1:"));
  vt->send_reliable (tls->instance, plain->address, frame, on_done, &done);
  g_assert_cmpuint (done.calls, ==, 0);
  g_assert_true (wait_for (context, done_called, &done, WAIT_US));
  g_assert_error (done.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (done.error->message, "allow_insecure"));
  g_clear_error (&done.error);
  g_assert_false (vt->send_datagram (tls->instance, plain->address, frame, &error));
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  wait_for (context, never, NULL, 100 * 1000);
  g_assert_cmpuint (plain->received->len, ==, 0);
  node_free (tls);
  node_free (plain);
}

static void
test_bad_certificate_refused (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  const NodeOptions bad = {
    "[websocket]\ntls_cert_file={certs}/bad-cert.pem\ntls_key_file={certs}/bad-key.pem\n"
    "tls_ca_file={certs}/ca.pem\n",
  };
  Node *good = node_new (context, &secure);
  Node *impostor = node_new (context, &bad);
  g_autoptr (GBytes) frame = g_bytes_new_static ("secret", 6);
  Done done = { 0 }, back = { 0 };

  vt->send_reliable (good->instance, impostor->address, frame, on_done, &done);
  g_assert_true (wait_for (context, done_called, &done, WAIT_US));
  g_assert_error (done.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_test_message ("%s", done.error->message);
  g_assert_nonnull (strstr (done.error->message, "certificate"));
  g_assert_cmpuint (impostor->received->len, ==, 0);

  /* The impostor trusts ca.pem too and reaches the good node. */
  vt->send_reliable (impostor->instance, good->address, frame, on_done, &back);
  g_assert_true (wait_for (context, done_called, &back, WAIT_US));
  g_assert_no_error (back.error);
  g_assert_true (wait_for (context, has_received, good, WAIT_US));
  g_clear_error (&done.error);
  node_free (good);
  node_free (impostor);
}

/* ------------------------------------------------------------------------ */
/* Hostile handshakes */

static void
test_wrong_path_and_protocol (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  Node *a = node_new (context, &insecure);
  Node *b = node_new (context, &insecure);
  g_autofree char *wrong = g_strdup_printf (
      "%.*s/elsewhere", (int) (strlen (b->address) - strlen ("/gossip")), b->address);
  g_autoptr (GBytes) frame = g_bytes_new_static ("x", 1);
  Done done = { 0 };
  struct
  {
    const char *path, *protocol, *status;
  } cases[] = {
    { "/elsewhere", "gossip.v1", "HTTP/1.1 404 " },
    { "/gossip", "chat", "HTTP/1.1 400 " },
    { "/gossip?x=1", "gossip.v2, gossip-stream.v1", "HTTP/1.1 101 " },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GSocket *raw = raw_connect (b->address);
      g_autofree char *request = upgrade_request (cases[i].path, cases[i].protocol);
      RawReader r = { raw, g_string_new (NULL), FALSE };

      raw_send (raw, request, strlen (request));
      g_assert_true (wait_for (context, raw_has_head, &r, WAIT_US));
      g_test_message ("%s %s: %s", cases[i].path, cases[i].protocol, r.got->str);
      g_assert_true (g_str_has_prefix (r.got->str, cases[i].status));
      if (i < 2)
        assert_closes (b, raw);
      else
        g_assert_nonnull (strstr (r.got->str, "Sec-WebSocket-Protocol: gossip-stream.v1\r\n"));
      g_string_free (r.got, TRUE);
      raw_close (raw);
    }
  wait_dropped (b, 2);

  /* The transport's own client reports the 404. */
  vt->send_reliable (a->instance, wrong, frame, on_done, &done);
  g_assert_true (wait_for (context, done_called, &done, WAIT_US));
  g_assert_error (done.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_test_message ("%s", done.error->message);
  g_assert_nonnull (strstr (done.error->message, "404"));
  g_clear_error (&done.error);
  node_free (a);
  node_free (b);
}

static void
test_bad_handshakes (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  Node *b = node_new (context, &insecure);
  GSocket *garbage = raw_connect (b->address);
  GSocket *oversized = raw_connect (b->address);
  g_autofree char *huge = g_strnfill (9000, 'a');
  const char *junk = "GET / HTTP/1.1\r\n\x01\x02 nonsense\r\n\r\n";

  raw_send (garbage, junk, strlen (junk));
  assert_closes (b, garbage);
  wait_dropped (b, 1);
  g_assert_error (dropped_at (b, 0), GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL);

  /* A head above 8 KiB is refused without waiting for its end. */
  raw_send (oversized, "GET /gossip HTTP/1.1\r\nX-Pad: ", 29);
  raw_send (oversized, huge, strlen (huge));
  assert_closes (b, oversized);
  wait_dropped (b, 2);
  g_assert_error (dropped_at (b, 1), GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL);
  raw_close (garbage);
  raw_close (oversized);
  node_free (b);
}

typedef struct
{
  Node *node;
  GSocket *socket;
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
      raw_send (d->socket, request + d->sent++, 1);
      d->last = g_get_monotonic_time ();
    }
  return FALSE;
}

static void
test_slow_handshake (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  NodeOptions o = insecure;
  Node *b;
  Dribbler d = { 0 };

  o.io_timeout_us = 300 * 1000;
  b = node_new (context, &o);
  d.node = b;
  d.socket = raw_connect (b->address);
  /* A byte every 50 ms: the head would take 3 s, the limit is 300 ms. */
  g_assert_true (wait_for (context, dribble, &d, 3 * SEC));
  g_assert_error (dropped_at (b, 0), GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT);
  g_assert_cmpuint (d.sent, <, 30);
  assert_closes (b, d.socket);
  raw_close (d.socket);
  node_free (b);
}

/* ------------------------------------------------------------------------ */
/* Hostile frames */

typedef enum
{
  HOSTILE_TEXT,
  HOSTILE_UNMASKED,
  HOSTILE_HUGE_LENGTH,
  HOSTILE_SLOW,
} Hostile;

/* A raw client upgrades, then misbehaves: the node drops it with @code,
 * closes it, and keeps what came before. */
static void
hostile_frames (Hostile what, gint code)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  NodeOptions o = insecure;
  Node *b;
  GSocket *raw;
  guint8 header[16];

  o.io_timeout_us = 300 * 1000;
  b = node_new (context, &o);
  raw = raw_upgrade (b, "gossip.v1");
  raw_frame (raw, 0x2, "binary", TRUE);
  switch (what)
    {
    case HOSTILE_TEXT:
      raw_frame (raw, 0x1, "text", TRUE);
      break;
    case HOSTILE_UNMASKED:
      /* Clients must mask their frames (RFC 6455 5.1). */
      raw_frame (raw, 0x2, "unmasked", FALSE);
      break;
    case HOSTILE_HUGE_LENGTH:
      /* Refused from the header (wslay reports it with the first payload
       * byte): no 4 GiB buffer, no waiting for the rest. */
      raw_send (raw, header, frame_header (header, 0x2, G_GUINT64_CONSTANT (4) << 30, TRUE));
      raw_send (raw, "payload", 7);
      break;
    case HOSTILE_SLOW:
      /* Part of a message, then nothing: cut off after io_timeout. */
      raw_send (raw, header, frame_header (header, 0x2, 100, TRUE));
      raw_send (raw, "only part", 9);
      break;
    }
  g_assert_true (wait_for (context, has_dropped, b, WAIT_US));
  g_assert_error (dropped_at (b, 0), GOSSIP_TRANSPORT_ERROR, code);
  assert_closes (b, raw);
  g_assert_cmpuint (b->received->len, ==, 1);
  g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (b->received, 0), NULL), 6, "binary", 6);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (b->from, 0), "ws://127.0.0.1:"));
  raw_close (raw);
  node_free (b);
}

static void
test_text_message_dropped (void)
{
  hostile_frames (HOSTILE_TEXT, GOSSIP_TRANSPORT_ERROR_PROTOCOL);
}

static void
test_unmasked_frame_dropped (void)
{
  hostile_frames (HOSTILE_UNMASKED, GOSSIP_TRANSPORT_ERROR_PROTOCOL);
}

static void
test_huge_length_refused (void)
{
  hostile_frames (HOSTILE_HUGE_LENGTH, GOSSIP_TRANSPORT_ERROR_TOO_BIG);
}

static void
test_slow_message (void)
{
  hostile_frames (HOSTILE_SLOW, GOSSIP_TRANSPORT_ERROR_TIMEOUT);
}

/* ------------------------------------------------------------------------ */
/* Channels */

static gboolean
channel_is_closed (gpointer data)
{
  return ((Channel *) data)->closed;
}

static gboolean
has_accepted (gpointer data)
{
  return ((Node *) data)->accepted->len > 0;
}

typedef struct
{
  Channel *ch;
  gsize bytes;
} BytesAtLeast;

static gboolean
bytes_reached (gpointer data)
{
  BytesAtLeast *b = data;

  return b->ch->received_bytes >= b->bytes;
}

static void
channel_done (gpointer data, const GError *error)
{
  Channel *ch = data;

  if (error == NULL)
    ch->done_ok++;
  else
    ch->done_failed++;
}

static gboolean
two_frames (gpointer data)
{
  return ((Channel *) data)->received->len >= 2;
}

static gboolean
two_done (gpointer data)
{
  return ((Channel *) data)->done_ok >= 2;
}

static void
channels_both_ways (const NodeOptions *o)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  Node *a = node_new (context, o);
  Node *b = node_new (context, o);
  Channel *mine = channel_new (a);
  Channel *theirs;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GBytes) reply = g_bytes_new_static ("reply", 5);
  BytesAtLeast want = { NULL, 5 };

  mine->channel = vt->channel_open (a->instance, b->address, &channel_callbacks, mine, &error);
  g_assert_no_error (error);
  /* Queued before the connection is up. */
  vt->channel_send (a->instance, mine->channel, hello, channel_done, mine);
  vt->channel_send (a->instance, mine->channel, empty, channel_done, mine);
  g_assert_true (wait_for (context, has_accepted, b, WAIT_US));
  theirs = g_ptr_array_index (b->accepted, 0);
  want.ch = theirs;
  g_assert_true (wait_for (context, two_frames, theirs, WAIT_US));
  g_assert_true (wait_for (context, two_done, mine, WAIT_US));
  g_assert_cmpuint (theirs->received->len, ==, 2);
  g_assert_cmpuint (g_bytes_get_size (g_ptr_array_index (theirs->received, 1)), ==, 0);
  g_assert_cmpuint (mine->done_ok, ==, 2);
  /* Channels are not pooled frames. */
  g_assert_cmpuint (b->received->len, ==, 0);

  vt->channel_send (b->instance, theirs->channel, reply, channel_done, theirs);
  want.ch = mine;
  g_assert_true (wait_for (context, bytes_reached, &want, WAIT_US));

  /* Graceful close after queued frames: the peer sees closed(NULL). */
  vt->channel_send (a->instance, mine->channel, hello, channel_done, mine);
  vt->channel_close (a->instance, mine->channel, FALSE);
  g_assert_true (wait_for (context, channel_is_closed, theirs, WAIT_US));
  g_assert_no_error (theirs->error);
  g_assert_cmpuint (theirs->received_bytes, ==, 10);
  g_assert_false (mine->closed); /* no callback after channel_close */
  node_free (a);
  node_free (b);
  channel_free (mine);
}

static void
test_channels_ws (void)
{
  channels_both_ways (&insecure);
}

static void
test_channels_wss (void)
{
  channels_both_ways (&secure);
}

static void
test_channel_abort_and_refusal (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  Node *a = node_new (context, &insecure);
  Node *b = node_new (context, &insecure);
  Channel *mine = channel_new (a);
  Channel *refused = channel_new (a);
  Channel *theirs;
  g_autoptr (GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autoptr (GError) error = NULL;
  BytesAtLeast want = { NULL, 5 };

  mine->channel = vt->channel_open (a->instance, b->address, &channel_callbacks, mine, &error);
  vt->channel_send (a->instance, mine->channel, hello, channel_done, mine);
  g_assert_true (wait_for (context, has_accepted, b, WAIT_US));
  theirs = g_ptr_array_index (b->accepted, 0);
  want.ch = theirs;
  g_assert_true (wait_for (context, bytes_reached, &want, WAIT_US));
  vt->channel_close (b->instance, theirs->channel, TRUE);
  g_assert_true (wait_for (context, channel_is_closed, mine, WAIT_US));
  g_assert_nonnull (mine->error);
  g_assert_false (theirs->closed);

  /* A refused channel is closed with an error at the opener. */
  b->refuse_channels = TRUE;
  refused->channel
      = vt->channel_open (a->instance, b->address, &channel_callbacks, refused, &error);
  g_assert_no_error (error);
  g_assert_true (wait_for (context, channel_is_closed, refused, WAIT_US));
  g_assert_nonnull (refused->error);

  /* An address it cannot parse: NULL at once. */
  g_assert_null (vt->channel_open (a->instance, "nonsense", &channel_callbacks, refused, &error));
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS);
  node_free (a);
  node_free (b);
  channel_free (mine);
  channel_free (refused);
}

typedef struct
{
  Node *a;
  Channel *ch;
  GBytes *chunk;
  guint sent;
  guint total;
} Streamer;

static gboolean
stream_more (gpointer data)
{
  Streamer *s = data;

  /* At most 8 frames in flight, as the core's window would allow. */
  while (s->sent < s->total && s->sent - s->ch->done_ok < 8)
    {
      vt->channel_send (s->a->instance, s->ch->channel, s->chunk, channel_done, s->ch);
      s->sent++;
    }
  return s->ch->done_ok == s->total;
}

static void
stream_through (const NodeOptions *o, guint total)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  Node *a = node_new (context, o);
  Node *b = node_new (context, o);
  Channel *mine = channel_new (a);
  Channel *theirs;
  g_autoptr (GError) error = NULL;
  Streamer s = { a, mine, NULL, 0, total };
  BytesAtLeast want = { NULL, 0 };
  gint64 start = g_get_monotonic_time ();

  s.chunk = g_bytes_new_take (g_malloc0 (256 * 1024), 256 * 1024);
  want.bytes = (gsize) total * 256 * 1024;
  mine->channel = vt->channel_open (a->instance, b->address, &channel_callbacks, mine, &error);
  g_assert_true (wait_for (context, stream_more, &s, 60 * SEC));
  g_assert_true (wait_for (context, has_accepted, b, WAIT_US));
  theirs = g_ptr_array_index (b->accepted, 0);
  want.ch = theirs;
  g_assert_true (wait_for (context, bytes_reached, &want, 60 * SEC));
  g_test_message ("%u MiB in %.2f s", total / 4,
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  g_assert_cmpuint (mine->done_failed, ==, 0);
  vt->channel_close (a->instance, mine->channel, FALSE);
  g_assert_true (wait_for (context, channel_is_closed, theirs, WAIT_US));
  g_assert_no_error (theirs->error);
  g_bytes_unref (s.chunk);
  node_free (a);
  node_free (b);
  channel_free (mine);
}

static void
test_channel_stream_ws (void)
{
  stream_through (&insecure, 256); /* 64 MiB */
}

static void
test_channel_stream_wss (void)
{
  stream_through (&secure, 128); /* 32 MiB */
}

/* ------------------------------------------------------------------------ */
/* Clusters */

#define FAST                                                                                       \
  "health", "profile", "local", "health", "probe_interval", "300ms", "health", "probe_timeout",    \
      "200ms", "gossip", "interval", "50ms", "health", "reconnect_interval", "500ms", "plugins",   \
      "transport", "websocket-wslay"

static void
cluster_of_ten (const char *const *settings)
{
  g_autoptr (Harness) h = harness_new (10, FALSE, settings);

  for (guint i = 0; i < 10; i++)
    g_assert_true (g_str_has_prefix (harness_address (h, i), "ws"));
  harness_join_all_to (h, 0);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (10), 20 * SEC))
    {
      harness_dump (h);
      g_test_fail_printf ("10 nodes over WebSocket did not converge in 20 s");
    }
  for (guint i = 0; i < 10; i++)
    g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, i), "frames-in"), >, 0);
}

static void
test_cluster_ws (void)
{
  const char *const settings[] = { FAST, "websocket", "allow_insecure", "true", NULL };

  cluster_of_ten (settings);
}

static void
test_cluster_wss (void)
{
  g_autofree char *cert = g_build_filename (certs_dir, "server-cert.pem", NULL);
  g_autofree char *key = g_build_filename (certs_dir, "server-key.pem", NULL);
  g_autofree char *ca = g_build_filename (certs_dir, "ca.pem", NULL);
  const char *const settings[] = {
    FAST, "websocket", "tls_cert_file", cert, "websocket", "tls_key_file",
    key,  "websocket", "tls_ca_file",   ca,   NULL,
  };

  cluster_of_ten (settings);
}

/* ------------------------------------------------------------------------ */

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  GossipPlugin *plugin;
  int status;

  g_test_init (&argc, &argv, NULL);
  plugin = gossip_plugin_load (GOSSIP_PLUGIN_KIND_TRANSPORT, "websocket-wslay", NULL, &error);
  g_assert_no_error (error);
  vt = gossip_plugin_get_vtable (plugin);
  certs_dir = g_dir_make_tmp ("gossip-wslay-certs-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_true (gossip_test_certs_generate (certs_dir, &error));

  g_test_add_func ("/websocket-wslay/insecure-refused", test_insecure_refused);
  g_test_add_func ("/websocket-wslay/bad-certificate", test_bad_certificate_refused);
  g_test_add_func ("/websocket-wslay/wrong-path-and-protocol", test_wrong_path_and_protocol);
  g_test_add_func ("/websocket-wslay/bad-handshakes", test_bad_handshakes);
  g_test_add_func ("/websocket-wslay/slow-handshake", test_slow_handshake);
  g_test_add_func ("/websocket-wslay/text-message", test_text_message_dropped);
  g_test_add_func ("/websocket-wslay/unmasked-frame", test_unmasked_frame_dropped);
  g_test_add_func ("/websocket-wslay/huge-length", test_huge_length_refused);
  g_test_add_func ("/websocket-wslay/slow-message", test_slow_message);
  g_test_add_func ("/websocket-wslay/channels-ws", test_channels_ws);
  g_test_add_func ("/websocket-wslay/channels-wss", test_channels_wss);
  g_test_add_func ("/websocket-wslay/channel-abort-and-refusal", test_channel_abort_and_refusal);
  g_test_add_func ("/websocket-wslay/channel-stream-ws", test_channel_stream_ws);
  g_test_add_func ("/websocket-wslay/channel-stream-wss", test_channel_stream_wss);
  g_test_add_func ("/websocket-wslay/cluster-ws", test_cluster_ws);
  g_test_add_func ("/websocket-wslay/cluster-wss", test_cluster_wss);
  status = g_test_run ();
  gossip_test_certs_remove (certs_dir);
  g_free (certs_dir);
  return status;
}
