/* gossip-transport-websocket-wslay.c: the "websocket-wslay" transport,
 * gossip frames as binary WebSocket messages, framed by wslay over GIO.
 *
 * Addresses are "ws://HOST:PORT/PATH" and "wss://HOST:PORT/PATH".  A node
 * listens on [websocket] bind_address (empty: the cluster's bind address)
 * and serves [websocket] path; with tls_cert_file and tls_key_file it serves
 * wss://, else plain ws://, which needs allow_insecure=true (so does sending
 * to a ws:// URL).  Peers' certificates are checked against tls_ca_file, or
 * the system's trust store, with the URL's host as the identity.
 *
 * Every node listens on a port of its own: params->http_server (a SoupServer
 * to mount on) is ignored, as this plugin does not link libsoup.
 *
 * There is no datagram socket: send_datagram() is a best-effort frame on the
 * pooled connection, failing at once when that connection's queue is full,
 * and everything received is reported as GOSSIP_TRANSPORT_PATH_RELIABLE.
 * The wire protocol (subprotocols, close codes, limits) is described in
 * wslay-connection.c and wslay-handshake.c.
 *
 * Everything runs on params->context; receptions, drops, completions and
 * channel reports are queued and delivered by one source, never from inside
 * a vtable call.  Parameters left at 0 take these defaults: max_datagram_size
 * 1400, max_frame_size 4 MiB, max_connections 256, idle 60 s, I/O 10 s,
 * connect 5 s; without a configuration, ping_interval is 15 s.
 */
#include "config.h"

#include <gmodule.h>
#include <string.h>

#include "gossip/gossip-plugin.h"
#include "socket-address.h"
#include "wslay-private.h"

#define DEFAULT_MAX_DATAGRAM_SIZE  1400
#define DEFAULT_MAX_FRAME_SIZE     (4 * 1024 * 1024)
#define DEFAULT_MAX_CONNECTIONS    256
#define DEFAULT_IDLE_TIMEOUT_US    (60 * G_USEC_PER_SEC)
#define DEFAULT_IO_TIMEOUT_US      (10 * G_USEC_PER_SEC)
#define DEFAULT_CONNECT_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define DEFAULT_PING_INTERVAL_US   (15 * G_USEC_PER_SEC)

/* ------------------------------------------------------------------------ */
/* Reports, delivered from the event source */

typedef enum
{
  EVENT_RECEIVED,
  EVENT_DROPPED,
  EVENT_DONE,
  EVENT_CHANNEL_ACCEPTED,
  EVENT_CHANNEL_RECEIVED,
  EVENT_CHANNEL_CLOSED,
} EventKind;

typedef struct
{
  EventKind kind;
  char *from;
  GBytes *frame;
  GError *error;
  GossipTransportSendFunc done;
  gpointer user_data;
  WsConn *channel; /* a reference, for channel events */
  WsConn *conn;    /* a reference, for receptions on pooled connections */
} Event;

typedef struct
{
  GSource source;
  WsTransport *t; /* not owned: the transport destroys this source */
} EventSource;

static void
event_free (gpointer data)
{
  Event *ev = data;

  g_free (ev->from);
  g_clear_pointer (&ev->frame, g_bytes_unref);
  g_clear_error (&ev->error);
  if (ev->channel != NULL)
    ws_conn_unref (ev->channel);
  if (ev->conn != NULL)
    ws_conn_unref (ev->conn);
  g_free (ev);
}

static WsTransport *
transport_ref (WsTransport *t)
{
  t->ref_count++;
  return t;
}

static void
transport_unref (WsTransport *t)
{
  if (--t->ref_count > 0)
    return;
  g_assert (t->destroyed);
  g_hash_table_unref (t->pool);
  g_object_unref (t->clock);
  g_main_context_unref (t->context);
  g_clear_object (&t->certificate);
  g_clear_object (&t->database);
  g_free (t->read_buffer);
  g_free (t->local_address);
  g_free (t->path);
  g_free (t);
}

/* Returns FALSE to end this dispatch (a channel was just accepted: what it
 * received waits for a later main-loop turn). */
static gboolean
emit (WsTransport *t, Event *ev)
{
  const GossipTransportCallbacks *cb = t->callbacks;
  const GossipTransportChannelCallbacks *ccb = NULL;
  gpointer cdata = NULL;

  switch (ev->kind)
    {
    case EVENT_RECEIVED:
      if (cb->received != NULL)
        cb->received (t->user_data, GOSSIP_TRANSPORT_PATH_RELIABLE, ev->from, ev->frame);
      if (!t->destroyed)
        ws_conn_resume_reading (ev->conn, g_bytes_get_size (ev->frame));
      break;
    case EVENT_DROPPED:
      if (cb->dropped != NULL)
        cb->dropped (t->user_data, ev->from, ev->error);
      break;
    case EVENT_DONE:
      if (ev->channel != NULL && !ws_conn_channel_is_live (ev->channel))
        break;
      ev->done (ev->user_data, ev->error);
      break;
    case EVENT_CHANNEL_ACCEPTED:
      if (!ws_conn_channel_is_live (ev->channel))
        break;
      if (cb->channel_accepted == NULL
          || !cb->channel_accepted (t->user_data, ev->from, ev->channel))
        {
          if (!t->destroyed)
            ws_channel_refused (ev->channel);
        }
      return FALSE;
    case EVENT_CHANNEL_RECEIVED:
      if (ws_conn_channel_is_live (ev->channel))
        {
          ws_conn_get_channel_callbacks (ev->channel, &ccb, &cdata);
          if (ccb != NULL && ccb->received != NULL)
            ccb->received (cdata, ev->frame);
        }
      if (!t->destroyed)
        ws_conn_resume_reading (ev->channel, g_bytes_get_size (ev->frame));
      break;
    case EVENT_CHANNEL_CLOSED:
      if (!ws_conn_channel_is_live (ev->channel))
        break;
      ws_conn_mark_channel_reported (ev->channel);
      ws_conn_get_channel_callbacks (ev->channel, &ccb, &cdata);
      if (ccb != NULL && ccb->closed != NULL)
        ccb->closed (cdata, ev->error);
      break;
    }
  return TRUE;
}

static gboolean
event_source_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  WsTransport *t = ((EventSource *) source)->t;
  /* Only what was queued before: reports queued by the callbacks themselves
   * wait for the next dispatch. */
  guint n = t->events.length;
  gboolean go_on = TRUE;

  g_source_set_ready_time (source, -1);
  transport_ref (t);
  while (go_on && n-- > 0 && !t->destroyed)
    {
      Event *ev = g_queue_pop_head (&t->events);

      go_on = emit (t, ev);
      event_free (ev);
    }
  if (!t->destroyed && t->events.length > 0)
    g_source_set_ready_time (source, 0);
  transport_unref (t);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs event_source_funcs = {
  NULL, NULL, event_source_dispatch, NULL, NULL, NULL,
};

static void
push_event (WsTransport *t, Event *ev)
{
  if (t->destroyed)
    {
      event_free (ev);
      return;
    }
  g_queue_push_tail (&t->events, ev);
  g_source_set_ready_time (t->event_source, 0);
}

static Event *
event_new (EventKind kind, WsConn *channel)
{
  Event *ev = g_new0 (Event, 1);

  ev->kind = kind;
  if (channel != NULL)
    ev->channel = ws_conn_ref (channel);
  return ev;
}

void
ws_emit_received (WsTransport *t, WsConn *c, const char *from, GBytes *frame)
{
  Event *ev = event_new (EVENT_RECEIVED, NULL);

  ev->conn = ws_conn_ref (c);
  ev->from = g_strdup (from);
  ev->frame = g_bytes_ref (frame);
  push_event (t, ev);
}

void
ws_emit_dropped (WsTransport *t, const char *from, GError *reason)
{
  Event *ev = event_new (EVENT_DROPPED, NULL);

  g_debug ("dropped: %s", reason->message);
  ev->from = g_strdup (from);
  ev->error = reason;
  push_event (t, ev);
}

void
ws_emit_done (WsTransport *t, WsConn *channel, GossipTransportSendFunc done, gpointer user_data,
              GError *error)
{
  Event *ev;

  if (done == NULL)
    {
      g_clear_error (&error);
      return;
    }
  ev = event_new (EVENT_DONE, channel);
  ev->done = done;
  ev->user_data = user_data;
  ev->error = error;
  push_event (t, ev);
}

void
ws_emit_channel_accepted (WsTransport *t, WsConn *c, const char *from)
{
  Event *ev = event_new (EVENT_CHANNEL_ACCEPTED, c);

  ev->from = g_strdup (from);
  push_event (t, ev);
}

void
ws_emit_channel_received (WsTransport *t, WsConn *c, GBytes *frame)
{
  Event *ev = event_new (EVENT_CHANNEL_RECEIVED, c);

  ev->frame = g_bytes_ref (frame);
  push_event (t, ev);
}

void
ws_emit_channel_closed (WsTransport *t, WsConn *c, GError *error)
{
  Event *ev = event_new (EVENT_CHANNEL_CLOSED, c);

  ev->error = error;
  push_event (t, ev);
}

/* ------------------------------------------------------------------------ */
/* Settings and binding */

static gboolean
load_settings (WsTransport *t, const GossipTransportParams *params, const char **bind_address,
               GError **error)
{
  GossipConfig *config = params->config;
  const char *cert_file = "", *key_file = "", *ca_file = "", *path = "/gossip", *bind = "";

  t->ping_interval_us = DEFAULT_PING_INTERVAL_US;
  if (config != NULL)
    {
      bind = gossip_config_get_string (config, "websocket", "bind_address");
      path = gossip_config_get_string (config, "websocket", "path");
      cert_file = gossip_config_get_string (config, "websocket", "tls_cert_file");
      key_file = gossip_config_get_string (config, "websocket", "tls_key_file");
      ca_file = gossip_config_get_string (config, "websocket", "tls_ca_file");
      t->allow_insecure = gossip_config_get_boolean (config, "websocket", "allow_insecure");
      t->ping_interval_us = gossip_config_get_duration (config, "websocket", "ping_interval");
    }
  *bind_address = bind != NULL && bind[0] != '\0' ? bind : params->bind_address;
  if (path == NULL || path[0] != '/')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "[websocket] path must start with \"/\", not \"%s\"", path ? path : "");
      return FALSE;
    }
  for (const char *p = path; *p != '\0'; p++)
    if ((guchar) *p <= ' ' || (guchar) *p >= 0x7f || *p == '?' || *p == '#')
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "[websocket] path \"%s\" has a character a URL path cannot carry", path);
        return FALSE;
      }
  t->path = g_strdup (path);
  cert_file = cert_file != NULL ? cert_file : "";
  key_file = key_file != NULL ? key_file : "";
  if ((cert_file[0] != '\0') != (key_file[0] != '\0'))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "[websocket] tls_cert_file and tls_key_file go together: "
                           "set both to serve wss://, or neither");
      return FALSE;
    }
  if (cert_file[0] != '\0')
    {
      t->certificate = g_tls_certificate_new_from_files (cert_file, key_file, error);
      if (t->certificate == NULL)
        {
          g_prefix_error (error, "[websocket] tls_cert_file %s, tls_key_file %s: ", cert_file,
                          key_file);
          return FALSE;
        }
    }
  else if (!t->allow_insecure)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "no [websocket] tls_cert_file and tls_key_file: "
                           "plain ws:// needs [websocket] allow_insecure=true");
      return FALSE;
    }
  if (ca_file != NULL && ca_file[0] != '\0')
    {
      t->database = g_tls_file_database_new (ca_file, error);
      if (t->database == NULL)
        {
          g_prefix_error (error, "[websocket] tls_ca_file %s: ", ca_file);
          return FALSE;
        }
    }
  else
    {
      GTlsDatabase *system = g_tls_backend_get_default_database (g_tls_backend_get_default ());

      t->database = system; /* may be NULL: wss:// peers then cannot be verified */
    }
  t->scheme = t->certificate != NULL ? "wss" : "ws";
  return TRUE;
}

static gboolean
transport_bind (WsTransport *t, const char *bind_address, GError **error)
{
  g_auto (SocketTarget) target = { 0 };
  g_autoptr (GSocket) listener = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  g_autofree char *hostport = NULL;

  if (!socket_target_parse (bind_address, TRUE, FALSE, &target, error))
    return FALSE;
  listener = gossip_transport_listen_tcp (G_SOCKET_ADDRESS (target.inet), error);
  if (listener == NULL)
    {
      g_prefix_error (error, "cannot listen on %s: ", target.key);
      return FALSE;
    }
  local = g_socket_get_local_address (listener, error);
  if (local == NULL)
    return FALSE;
  hostport = socket_format_address (local);
  t->local_address = g_strdup_printf ("%s://%s%s", t->scheme, hostport, t->path);
  t->listener = g_steal_pointer (&listener);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The vtable */

static void
wslay_destroy (gpointer self)
{
  WsTransport *t = self;

  if (t == NULL)
    return;
  t->destroyed = TRUE;
  ws_conn_close_all (t);
  if (t->listener_source != NULL)
    {
      g_source_destroy (t->listener_source);
      g_clear_pointer (&t->listener_source, g_source_unref);
    }
  if (t->listener != NULL)
    g_socket_close (t->listener, NULL);
  g_clear_object (&t->listener);
  g_queue_clear_full (&t->events, event_free);
  g_source_destroy (t->event_source);
  g_clear_pointer (&t->event_source, g_source_unref);
  transport_unref (t);
}

static gpointer
wslay_create (const GossipTransportParams *params, GError **error)
{
  WsTransport *t;
  const char *bind_address = NULL;

  if (params == NULL || params->struct_size < G_STRUCT_OFFSET (GossipTransportParams, config)
      || params->callbacks == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "incomplete transport parameters");
      return NULL;
    }

  t = g_new0 (WsTransport, 1);
  t->ref_count = 1;
  t->context = params->context != NULL ? g_main_context_ref (params->context)
                                       : g_main_context_ref_thread_default ();
  t->clock = params->clock != NULL ? g_object_ref (params->clock)
                                   : gossip_clock_new_for_context (t->context);
  t->callbacks = params->callbacks;
  t->user_data = params->user_data;
  t->datagrams = params->datagrams;
  t->max_datagram_size
      = params->max_datagram_size > 0 ? params->max_datagram_size : DEFAULT_MAX_DATAGRAM_SIZE;
  t->max_frame_size = params->max_frame_size > 0 ? params->max_frame_size : DEFAULT_MAX_FRAME_SIZE;
  t->max_datagram_size = MIN (t->max_datagram_size, t->max_frame_size);
  t->max_connections
      = params->max_connections > 0 ? params->max_connections : DEFAULT_MAX_CONNECTIONS;
  t->idle_timeout_us
      = params->idle_timeout_us > 0 ? params->idle_timeout_us : DEFAULT_IDLE_TIMEOUT_US;
  t->io_timeout_us = params->io_timeout_us > 0 ? params->io_timeout_us : DEFAULT_IO_TIMEOUT_US;
  t->connect_timeout_us
      = params->connect_timeout_us > 0 ? params->connect_timeout_us : DEFAULT_CONNECT_TIMEOUT_US;
  g_queue_init (&t->events);
  g_queue_init (&t->conns);
  t->pool = g_hash_table_new (g_str_hash, g_str_equal);
  t->event_source = g_source_new (&event_source_funcs, sizeof (EventSource));
  ((EventSource *) t->event_source)->t = t;
  g_source_set_static_name (t->event_source, "gossip websocket-wslay events");
  g_source_attach (t->event_source, t->context);

  if (params->struct_size < sizeof (GossipTransportParams))
    {
      /* A core before 0.2: no configuration, so no certificate, and plain
       * ws:// is not allowed by default. */
      GossipTransportParams copy = { 0 };

      memcpy (&copy, params, params->struct_size);
      copy.struct_size = sizeof copy;
      if (!load_settings (t, &copy, &bind_address, error))
        goto fail;
    }
  else if (!load_settings (t, params, &bind_address, error))
    goto fail;
  if (!transport_bind (t, bind_address, error))
    goto fail;
  t->read_buffer = g_malloc (WS_READ_CHUNK);
  t->listener_source = gossip_transport_accept_source_new (t->listener, ws_conn_accept, t);
  g_source_attach (t->listener_source, t->context);
  return t;

fail:
  wslay_destroy (t);
  return NULL;
}

static char *
wslay_get_local_address (gpointer self)
{
  WsTransport *t = self;

  return g_strdup (t->local_address);
}

static gboolean
wslay_send_datagram (gpointer self, const char *address, GBytes *frame, GError **error)
{
  WsTransport *t = self;
  gsize len = g_bytes_get_size (frame);
  g_auto (WsUrl) url = { 0 };

  if (!ws_url_parse (address, &url, error))
    return FALSE;
  if (!t->datagrams)
    {
      g_set_error_literal (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                           "datagrams are disabled on this transport");
      return FALSE;
    }
  if (len > t->max_datagram_size)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                   "a %" G_GSIZE_FORMAT "-byte datagram is above the limit of %" G_GSIZE_FORMAT,
                   len, t->max_datagram_size);
      return FALSE;
    }
  return ws_conn_send_datagram (t, address, frame, error);
}

static void
wslay_send_reliable (gpointer self, const char *address, GBytes *frame,
                     GossipTransportSendFunc done, gpointer user_data)
{
  ws_conn_send (self, address, frame, done, user_data);
}

static GossipTransportChannel *
wslay_channel_open (gpointer self, const char *address,
                    const GossipTransportChannelCallbacks *callbacks, gpointer user_data,
                    GError **error)
{
  return ws_channel_open (self, address, callbacks, user_data, error);
}

static void
wslay_channel_attach (gpointer self, GossipTransportChannel *channel,
                      const GossipTransportChannelCallbacks *callbacks, gpointer user_data)
{
  ws_channel_attach (self, channel, callbacks, user_data);
}

static void
wslay_channel_send (gpointer self, GossipTransportChannel *channel, GBytes *frame,
                    GossipTransportSendFunc done, gpointer user_data)
{
  ws_channel_send (self, channel, frame, done, user_data);
}

static void
wslay_channel_close (gpointer self, GossipTransportChannel *channel, gboolean abort)
{
  ws_channel_close (self, channel, abort);
}

static const char *const wslay_schemes[] = { "ws", "wss", NULL };

static const GossipTransportVTable wslay_vtable = {
  .struct_size = sizeof (GossipTransportVTable),
  .schemes = wslay_schemes,
  .create = wslay_create,
  .destroy = wslay_destroy,
  .get_local_address = wslay_get_local_address,
  .send_datagram = wslay_send_datagram,
  .send_reliable = wslay_send_reliable,
  .channel_open = wslay_channel_open,
  .channel_attach = wslay_channel_attach,
  .channel_send = wslay_channel_send,
  .channel_close = wslay_channel_close,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_TRANSPORT, "websocket-wslay", PACKAGE_VERSION,
                      "WebSocket (ws://, wss://) framed by wslay over GIO sockets and GnuTLS", NULL,
                      &wslay_vtable);
