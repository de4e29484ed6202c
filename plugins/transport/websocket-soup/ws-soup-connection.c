/* ws-soup-connection.c: WebSocket connections, pooled ones and channels.
 *
 * A connection is outbound (opened with SoupSession, pooled under the URL it
 * was opened to) or inbound (handed over by SoupServer after the upgrade,
 * pooled under "ws://IP:PORT" of the peer's socket).  Channels are
 * connections of their own, never pooled, with subprotocol gossip-stream.v1.
 *
 * Frames wait in `outq` until the connection is open and the previous batch
 * is written; then the whole queue becomes the batch in flight (see the
 * plugin's header comment for how its completion is detected).
 */
#include "config.h"

#include <string.h>

#include "ws-soup-private.h"

/* How long a connection we closed may take to finish its closing handshake
 * before we drop it, at most. */
#define CLOSE_GRACE_US (5 * G_USEC_PER_SEC)

typedef enum
{
  CONN_CONNECTING,
  CONN_OPEN,
  CONN_CLOSING, /* ended for its owner; the WebSocket closing handshake runs */
  CONN_FINISHED,
} ConnState;

typedef struct
{
  GBytes *frame;
  GossipTransportSendFunc done;
  gpointer user_data;
} SendItem;

struct _GossipTransportChannel
{
  int ref_count;
  WsTransport *t; /* NULL once finished */
  GList link;     /* in t->conns */
  ConnState state;
  gboolean channel;
  gboolean active; /* counted in t->n_active */
  gboolean pooled;
  char *peer; /* pool key and `from` of its frames */

  SoupWebsocketConnection *ws;
  GError *ws_error; /* the last "error" libsoup reported */

  /* Connecting. */
  SoupMessage *msg;
  GCancellable *cancellable;
  GTlsCertificateFlags cert_errors;
  guint connect_timer;

  /* Writing. */
  GQueue outq;     /* SendItem, not yet given to libsoup */
  GQueue inflight; /* SendItem, the batch libsoup is writing */
  gsize queued_bytes;
  GSource *drain_source;
  guint write_timer;
  guint close_timer;

  gint64 last_active;
  guint idle_timer;

  /* Channels. */
  const GossipTransportChannelCallbacks *callbacks;
  gpointer user_data;
  gboolean attached;
  gboolean owner_gone;    /* closed by its owner, refused, or closed() reported */
  gboolean close_pending; /* graceful close once the queue is written */
  GQueue early;           /* events until attached */
};

static void conn_close (WsConn *c, GError *reason, gushort code, const char *close_reason);
static void conn_pump (WsConn *c);

WsConn *
ws_conn_ref (WsConn *c)
{
  c->ref_count++;
  return c;
}

static void
send_item_free (gpointer data)
{
  SendItem *item = data;

  g_bytes_unref (item->frame);
  g_free (item);
}

void
ws_conn_unref (WsConn *c)
{
  if (--c->ref_count > 0)
    return;
  g_assert (c->state == CONN_FINISHED);
  g_free (c->peer);
  g_free (c);
}

gboolean
ws_conn_is_channel (WsConn *c)
{
  return c->channel;
}

gboolean
ws_conn_owner_gone (WsConn *c)
{
  return c->owner_gone;
}

gboolean
ws_conn_is_attached (WsConn *c)
{
  return !c->channel || c->attached;
}

const char *
ws_conn_peer (WsConn *c)
{
  return c->peer;
}

void
ws_conn_take_early_event (WsConn *c, gpointer event)
{
  g_queue_push_tail (&c->early, event);
}

const GossipTransportChannelCallbacks *
ws_channel_callbacks (WsConn *c, gpointer *user_data)
{
  *user_data = c->user_data;
  return c->callbacks;
}

void
ws_channel_closed_reported (WsConn *c)
{
  c->owner_gone = TRUE;
}

static gint64
now (WsTransport *t)
{
  return gossip_clock_now (t->clock);
}

static gboolean
conn_is_busy (WsConn *c)
{
  return c->state != CONN_OPEN || c->outq.length > 0 || c->inflight.length > 0;
}

/* ------------------------------------------------------------------------ */
/* Life cycle */

static WsConn *
conn_new (WsTransport *t, const char *peer, gboolean channel)
{
  WsConn *c = g_new0 (WsConn, 1);

  c->ref_count = 1; /* t->conns' */
  c->t = t;
  c->peer = g_strdup (peer);
  c->channel = channel;
  c->link.data = c;
  g_queue_push_tail_link (&t->conns, &c->link);
  g_queue_init (&c->outq);
  g_queue_init (&c->inflight);
  g_queue_init (&c->early);
  c->active = TRUE;
  t->n_active++;
  c->last_active = now (t);
  if (!channel && !g_hash_table_contains (t->pool, c->peer))
    {
      g_hash_table_insert (t->pool, c->peer, c);
      c->pooled = TRUE;
    }
  return c;
}

static void
conn_stop_connecting (WsConn *c)
{
  if (c->cancellable != NULL)
    {
      g_cancellable_cancel (c->cancellable);
      g_clear_object (&c->cancellable);
    }
  if (c->msg != NULL)
    {
      g_signal_handlers_disconnect_by_data (c->msg, c);
      g_clear_object (&c->msg);
    }
}

/* Drops the WebSocket and everything else; the connection is gone. */
static void
conn_finish (WsConn *c)
{
  WsTransport *t = c->t;
  gpointer ev;

  if (c->state == CONN_FINISHED)
    return;
  c->state = CONN_FINISHED;
  gossip_clock_clear_timer (t->clock, &c->close_timer);
  if (c->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (c->ws, c);
      if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      /* Disposing of it closes its stream, asynchronously. */
      g_clear_object (&c->ws);
    }
  g_clear_error (&c->ws_error);
  conn_stop_connecting (c);
  while ((ev = g_queue_pop_head (&c->early)) != NULL)
    ws_transport_free_event (ev);
  g_queue_unlink (&t->conns, &c->link);
  c->t = NULL;
  ws_conn_unref (c);
}

static void
close_timer_fired (gpointer data)
{
  WsConn *c = data;

  c->close_timer = 0;
  conn_finish (c);
}

static void
fail_items (WsConn *c, GQueue *queue, const GError *reason)
{
  SendItem *item;

  while ((item = g_queue_pop_head (queue)) != NULL)
    {
      if (item->done != NULL)
        ws_transport_emit_done (c->t, c->channel ? c : NULL, item->done, item->user_data,
                                g_error_copy (reason));
      send_item_free (item);
    }
}

/*
 * Ends @c for its owner: queued sends fail with @reason (taken; a generic
 * one when NULL), a channel reports closed(@reason) unless its owner is
 * gone, and the WebSocket, if open, is closed with @code.  The connection
 * finishes when libsoup reports it closed (or CLOSE_GRACE_US later).
 */
static void
conn_close (WsConn *c, GError *reason, gushort code, const char *close_reason)
{
  WsTransport *t = c->t;
  g_autoptr (GError) generic = NULL;

  if (c->state >= CONN_CLOSING)
    {
      g_clear_error (&reason);
      return;
    }
  c->state = CONN_CLOSING;
  gossip_clock_clear_timer (t->clock, &c->connect_timer);
  gossip_clock_clear_timer (t->clock, &c->write_timer);
  gossip_clock_clear_timer (t->clock, &c->idle_timer);
  if (c->drain_source != NULL)
    {
      g_source_destroy (c->drain_source);
      g_clear_pointer (&c->drain_source, g_source_unref);
    }
  conn_stop_connecting (c);
  if (c->pooled)
    g_hash_table_remove (t->pool, c->peer);
  c->pooled = FALSE;
  if (c->active)
    t->n_active--;
  c->active = FALSE;

  generic = g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                         "connection to %s closed", c->peer);
  fail_items (c, &c->outq, reason != NULL ? reason : generic);
  fail_items (c, &c->inflight, reason != NULL ? reason : generic);
  c->queued_bytes = 0;
  if (c->channel && !c->owner_gone)
    ws_transport_emit_channel_closed (t, c, g_steal_pointer (&reason));
  g_clear_error (&reason);

  if (c->ws != NULL && soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    {
      soup_websocket_connection_close (c->ws, code, close_reason);
      if (c->state == CONN_CLOSING) /* libsoup may report "closed" at once */
        c->close_timer = gossip_clock_add_timer (t->clock, MIN (t->io_timeout_us, CLOSE_GRACE_US),
                                                 close_timer_fired, c, NULL);
      return;
    }
  if (c->ws != NULL && soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_CLOSING)
    {
      c->close_timer = gossip_clock_add_timer (t->clock, MIN (t->io_timeout_us, CLOSE_GRACE_US),
                                               close_timer_fired, c, NULL);
      return;
    }
  conn_finish (c);
}

void
ws_conn_close_all (WsTransport *t)
{
  while (t->conns.head != NULL)
    {
      WsConn *c = t->conns.head->data;

      ws_conn_ref (c);
      c->owner_gone = TRUE;
      conn_close (c, NULL, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      conn_finish (c);
      ws_conn_unref (c);
    }
}

/* ------------------------------------------------------------------------ */
/* Timers */

static void
idle_timer_fired (gpointer data)
{
  WsConn *c = data;
  WsTransport *t = c->t;
  gint64 elapsed = now (t) - c->last_active;

  c->idle_timer = 0;
  if (!conn_is_busy (c) && elapsed >= t->idle_timeout_us)
    {
      g_debug ("closing idle connection %s", c->peer);
      conn_close (c, NULL, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      return;
    }
  c->idle_timer = gossip_clock_add_timer (
      t->clock, conn_is_busy (c) ? t->idle_timeout_us : t->idle_timeout_us - elapsed,
      idle_timer_fired, c, NULL);
}

static void
write_timer_fired (gpointer data)
{
  WsConn *c = data;

  c->write_timer = 0;
  conn_close (c,
              g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                           "%s did not take its frames within %" G_GINT64_FORMAT " ms", c->peer,
                           c->t->io_timeout_us / 1000),
              SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
}

static void
connect_timer_fired (gpointer data)
{
  WsConn *c = data;

  c->connect_timer = 0;
  conn_close (c,
              g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                           "connecting to %s timed out after %" G_GINT64_FORMAT " ms", c->peer,
                           c->t->connect_timeout_us / 1000),
              SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
}

/* ------------------------------------------------------------------------ */
/* The open WebSocket */

static void
on_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  WsConn *c = data;
  WsTransport *t = c->t;

  if (c->state != CONN_OPEN)
    return;
  if (type != SOUP_WEBSOCKET_DATA_BINARY)
    {
      ws_transport_emit_dropped (
          t, c->peer,
          g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                       "%s sent a text message; gossip frames are binary", c->peer));
      conn_close (c,
                  g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                               "connection to %s closed: the peer sent a text message", c->peer),
                  SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA, "binary messages only");
      return;
    }
  c->last_active = now (t);
  if (c->channel)
    ws_transport_emit_channel_received (t, c, message);
  else
    ws_transport_emit_received (t, c->peer, message);
}

static void
on_error (SoupWebsocketConnection *ws, GError *error, gpointer data)
{
  WsConn *c = data;

  g_debug ("WebSocket %s: %s", c->peer, error->message);
  g_clear_error (&c->ws_error);
  c->ws_error = g_error_copy (error);
  if (error->domain == SOUP_WEBSOCKET_ERROR && c->state == CONN_OPEN)
    ws_transport_emit_dropped (c->t, c->peer,
                               g_error_new (GOSSIP_TRANSPORT_ERROR,
                                            error->code == SOUP_WEBSOCKET_CLOSE_TOO_BIG
                                                ? GOSSIP_TRANSPORT_ERROR_TOO_BIG
                                                : GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                                            "%s: %s", c->peer, error->message));
}

static void
on_closed (SoupWebsocketConnection *ws, gpointer data)
{
  WsConn *c = data;
  gushort code = soup_websocket_connection_get_close_code (ws);
  const char *why = soup_websocket_connection_get_close_data (ws);
  GError *reason = NULL;

  ws_conn_ref (c);
  if (c->state == CONN_CLOSING)
    conn_finish (c);
  else if (c->state == CONN_OPEN)
    {
      if (code == SOUP_WEBSOCKET_CLOSE_NORMAL && c->ws_error == NULL)
        reason = c->channel ? NULL
                            : g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                                           "%s closed the connection", c->peer);
      else if (code == WS_CLOSE_ABORT)
        reason = g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                              "%s aborted the connection (%s)", c->peer,
                              why != NULL && why[0] != '\0' ? why : WS_CLOSE_ABORT_REASON);
      else if (c->ws_error != NULL)
        reason = g_error_new (GOSSIP_TRANSPORT_ERROR,
                              c->ws_error->domain == SOUP_WEBSOCKET_ERROR
                                  ? GOSSIP_TRANSPORT_ERROR_PROTOCOL
                                  : GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                              "connection to %s ended: %s", c->peer, c->ws_error->message);
      else
        reason = g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                              "connection to %s ended (close code %u%s%s)", c->peer, code,
                              why != NULL && why[0] != '\0' ? ", " : "", why != NULL ? why : "");
      /* libsoup emits "closed" once the stream is closed: finish at once. */
      conn_close (c, reason, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      conn_finish (c);
    }
  ws_conn_unref (c);
}

static void
conn_opened (WsConn *c, SoupWebsocketConnection *ws)
{
  WsTransport *t = c->t;

  c->ws = g_object_ref (ws);
  c->state = CONN_OPEN;
  gossip_clock_clear_timer (t->clock, &c->connect_timer);
  soup_websocket_connection_set_max_incoming_payload_size (ws, t->max_frame_size);
  soup_websocket_connection_set_keepalive_interval (ws, t->ping_interval_s);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), c);
  g_signal_connect (ws, "error", G_CALLBACK (on_error), c);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), c);
  c->last_active = now (t);
  if (c->pooled)
    c->idle_timer
        = gossip_clock_add_timer (t->clock, t->idle_timeout_us, idle_timer_fired, c, NULL);
  conn_pump (c);
}

/* ------------------------------------------------------------------------ */
/* Writing */

static gboolean
batch_written (GObject *stream, gpointer data)
{
  WsConn *c = data;
  WsTransport *t = c->t;
  SendItem *item;

  g_clear_pointer (&c->drain_source, g_source_unref);
  gossip_clock_clear_timer (t->clock, &c->write_timer);
  while ((item = g_queue_pop_head (&c->inflight)) != NULL)
    {
      c->queued_bytes -= g_bytes_get_size (item->frame);
      if (item->done != NULL)
        ws_transport_emit_done (t, c->channel ? c : NULL, item->done, item->user_data, NULL);
      send_item_free (item);
    }
  c->last_active = now (t);
  ws_conn_ref (c);
  conn_pump (c);
  ws_conn_unref (c);
  return G_SOURCE_REMOVE;
}

/* Hands the queue to libsoup when the previous batch is written; closes a
 * channel whose owner asked for it once everything is written. */
static void
conn_pump (WsConn *c)
{
  WsTransport *t = c->t;
  GOutputStream *output;

  if (c->state != CONN_OPEN || c->inflight.length > 0)
    return;
  if (c->outq.length == 0)
    {
      if (c->close_pending)
        conn_close (c, NULL, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      return;
    }
  c->inflight = c->outq;
  g_queue_init (&c->outq);
  ws_conn_ref (c);
  for (GList *l = c->inflight.head; l != NULL && c->state == CONN_OPEN; l = l->next)
    {
      SendItem *item = l->data;

      soup_websocket_connection_send_message (c->ws, SOUP_WEBSOCKET_DATA_BINARY, item->frame);
    }
  if (c->state == CONN_OPEN)
    {
      output = g_io_stream_get_output_stream (soup_websocket_connection_get_io_stream (c->ws));
      c->drain_source
          = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (output), NULL);
      /* Below libsoup's own writer (G_PRIORITY_DEFAULT): see the header. */
      g_source_set_priority (c->drain_source, G_PRIORITY_LOW);
      g_source_set_callback (c->drain_source, G_SOURCE_FUNC (batch_written), c, NULL);
      g_source_set_static_name (c->drain_source, "gossip websocket-soup batch written");
      g_source_attach (c->drain_source, t->context);
      c->write_timer
          = gossip_clock_add_timer (t->clock, t->io_timeout_us, write_timer_fired, c, NULL);
    }
  ws_conn_unref (c);
}

static gboolean
queue_full (WsConn *c, gsize len)
{
  guint frames = c->outq.length + c->inflight.length;

  return frames >= WS_SEND_QUEUE_MAX_FRAMES
         || (frames > 0 && c->queued_bytes + len > 2 * c->t->max_frame_size);
}

static void
conn_queue (WsConn *c, GBytes *frame, GossipTransportSendFunc done, gpointer user_data)
{
  SendItem *item = g_new0 (SendItem, 1);

  item->frame = g_bytes_ref (frame);
  item->done = done;
  item->user_data = user_data;
  g_queue_push_tail (&c->outq, item);
  c->queued_bytes += g_bytes_get_size (frame);
  conn_pump (c);
}

/* ------------------------------------------------------------------------ */
/* Connecting */

static const char *
describe_certificate_errors (GTlsCertificateFlags flags)
{
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return "it is not signed by a trusted certificate authority";
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return "it is not for this host";
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    return "it is not valid yet";
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    return "it has expired";
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    return "it has been revoked";
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    return "its algorithm is insecure";
  return "it could not be verified";
}

static gboolean
on_accept_certificate (SoupMessage *msg, GTlsCertificate *certificate, GTlsCertificateFlags errors,
                       gpointer data)
{
  WsConn *c = data;

  /* Reached only when the session's verification failed: refuse, and
   * remember why for the error message. */
  c->cert_errors = errors != 0 ? errors : G_TLS_CERTIFICATE_GENERIC_ERROR;
  return FALSE;
}

static GError *
connect_error (WsConn *c, SoupMessage *msg, const GError *error)
{
  guint status = msg != NULL ? soup_message_get_status (msg) : 0;

  if (c->cert_errors != 0)
    return g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                        "cannot connect to %s: its TLS certificate was refused: %s", c->peer,
                        describe_certificate_errors (c->cert_errors));
  if (status >= 100 && status != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                        "cannot connect to %s: it answered HTTP %u %s", c->peer, status,
                        soup_message_get_reason_phrase (msg) != NULL
                            ? soup_message_get_reason_phrase (msg)
                            : soup_status_get_phrase (status));
  return g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                      "cannot connect to %s: %s", c->peer, error->message);
}

static void
conn_connected (GObject *session, GAsyncResult *result, gpointer data)
{
  WsConn *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupWebsocketConnection) ws
      = soup_session_websocket_connect_finish (SOUP_SESSION (session), result, &error);

  if (c->state != CONN_CONNECTING)
    {
      /* Closed or timed out meanwhile. */
      if (ws != NULL)
        soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    }
  else if (ws == NULL)
    conn_close (c, connect_error (c, c->msg, error), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  else
    {
      const char *expected = c->channel ? WS_PROTOCOL_STREAM : WS_PROTOCOL_FRAMES;
      const char *got = soup_websocket_connection_get_protocol (ws);

      conn_stop_connecting (c);
      if (g_strcmp0 (got, expected) != 0)
        {
          soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, NULL);
          conn_close (c,
                      g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                                   "%s answered with subprotocol %s, not %s", c->peer,
                                   got != NULL ? got : "(none)", expected),
                      SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, NULL);
        }
      else
        conn_opened (c, ws);
    }
  ws_conn_unref (c);
}

static void
conn_start (WsConn *c, const WsTarget *target)
{
  WsTransport *t = c->t;
  const char *protocols[] = { c->channel ? WS_PROTOCOL_STREAM : WS_PROTOCOL_FRAMES, NULL };
  g_autoptr (GUri) http
      = soup_uri_copy (target->uri, SOUP_URI_SCHEME, target->tls ? "https" : "http", SOUP_URI_NONE);

  c->state = CONN_CONNECTING;
  c->connect_timer
      = gossip_clock_add_timer (t->clock, t->connect_timeout_us, connect_timer_fired, c, NULL);
  c->msg = soup_message_new_from_uri (SOUP_METHOD_GET, http);
  g_signal_connect (c->msg, "accept-certificate", G_CALLBACK (on_accept_certificate), c);
  c->cancellable = g_cancellable_new ();
  soup_session_websocket_connect_async (t->session, c->msg, NULL, (char **) protocols,
                                        G_PRIORITY_DEFAULT, c->cancellable, conn_connected,
                                        ws_conn_ref (c));
}

/* The least recently used pooled connection with nothing in flight, if any. */
static WsConn *
find_evictable (WsTransport *t)
{
  WsConn *best = NULL;

  for (GList *l = t->conns.head; l != NULL; l = l->next)
    {
      WsConn *c = l->data;

      if (c->pooled && !conn_is_busy (c) && (best == NULL || c->last_active < best->last_active))
        best = c;
    }
  return best;
}

/* Room for one more connection, evicting an idle one if needed. */
static gboolean
make_room (WsTransport *t, const char *for_whom, GError **error)
{
  WsConn *victim;

  if (t->n_active < t->max_connections)
    return TRUE;
  victim = find_evictable (t);
  if (victim == NULL)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                   "cannot connect to %s: %u connections are open, none idle", for_whom,
                   t->n_active);
      return FALSE;
    }
  g_debug ("closing idle connection %s to make room for %s", victim->peer, for_whom);
  conn_close (victim, NULL, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  return TRUE;
}

static gboolean
insecure_refused (WsTransport *t, const WsTarget *target, GError **error)
{
  if (target->tls || t->allow_insecure)
    return FALSE;
  g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
               "not sending to %s: plain ws:// needs [websocket] allow_insecure=true", target->key);
  return TRUE;
}

gboolean
ws_conn_send (WsTransport *t, const char *address, GBytes *frame, gboolean datagram,
              GossipTransportSendFunc done, gpointer user_data, GError **error)
{
  g_auto (WsTarget) target = { 0 };
  GError *local_error = NULL;
  gsize len = g_bytes_get_size (frame);
  WsConn *c;

  if (len > t->max_frame_size)
    local_error
        = g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                       "a %" G_GSIZE_FORMAT "-byte frame is above the limit of %" G_GSIZE_FORMAT,
                       len, t->max_frame_size);
  else if (ws_target_parse (address, &target, &local_error)
           && !insecure_refused (t, &target, &local_error))
    {
      c = g_hash_table_lookup (t->pool, target.key);
      if (c != NULL && queue_full (c, len))
        local_error = g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                                   "the queue to %s is full (%u frames, %" G_GSIZE_FORMAT " bytes)",
                                   c->peer, c->outq.length + c->inflight.length, c->queued_bytes);
      else if (c == NULL && make_room (t, target.key, &local_error))
        {
          c = conn_new (t, target.key, FALSE);
          conn_start (c, &target);
        }
      if (local_error == NULL)
        {
          conn_queue (c, frame, done, user_data);
          return TRUE;
        }
    }
  if (datagram)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  ws_transport_emit_done (t, NULL, done, user_data, local_error);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Accepting */

void
ws_conn_accepted (WsTransport *t, SoupWebsocketConnection *ws, GSocketAddress *remote)
{
  g_autofree char *peer = ws_format_peer (t->tls, remote);
  gboolean channel
      = g_strcmp0 (soup_websocket_connection_get_protocol (ws), WS_PROTOCOL_STREAM) == 0;
  WsConn *c;

  if (peer == NULL)
    {
      soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, NULL);
      return;
    }
  if (t->n_active >= t->max_connections)
    {
      soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                       "too many connections");
      ws_transport_emit_dropped (t, peer,
                                 g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                                              "refused a connection from %s: %u connections are "
                                              "open",
                                              peer, t->max_connections));
      return;
    }
  c = conn_new (t, peer, channel);
  conn_opened (c, ws);
  if (channel)
    ws_transport_emit_channel_accepted (t, c);
}

/* ------------------------------------------------------------------------ */
/* Channels */

WsConn *
ws_channel_open (WsTransport *t, const char *address,
                 const GossipTransportChannelCallbacks *callbacks, gpointer user_data,
                 GError **error)
{
  g_auto (WsTarget) target = { 0 };
  GError *refused = NULL;
  WsConn *c;

  if (!ws_target_parse (address, &target, error))
    return NULL;
  if (!insecure_refused (t, &target, &refused))
    make_room (t, target.key, &refused);
  c = conn_new (t, target.key, TRUE);
  c->callbacks = callbacks;
  c->user_data = user_data;
  c->attached = TRUE;
  if (refused != NULL)
    {
      c->state = CONN_CONNECTING;
      conn_close (c, refused, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      return c;
    }
  conn_start (c, &target);
  return c;
}

void
ws_channel_attach (WsTransport *t, WsConn *c, const GossipTransportChannelCallbacks *callbacks,
                   gpointer user_data)
{
  g_return_if_fail (c->channel && !c->attached);
  c->callbacks = callbacks;
  c->user_data = user_data;
  c->attached = TRUE;
  ws_transport_push_early_events (t, &c->early);
}

void
ws_channel_send (WsTransport *t, WsConn *c, GBytes *frame, GossipTransportSendFunc done,
                 gpointer user_data)
{
  gsize len = g_bytes_get_size (frame);

  g_return_if_fail (c->channel);
  if (len > t->max_frame_size)
    ws_transport_emit_done (t, c, done, user_data,
                            g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                                         "a %" G_GSIZE_FORMAT
                                         "-byte frame is above the limit of %" G_GSIZE_FORMAT,
                                         len, t->max_frame_size));
  else if (c->state >= CONN_CLOSING || c->close_pending)
    ws_transport_emit_done (t, c, done, user_data,
                            g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                                         "the channel to %s has ended", c->peer));
  else
    conn_queue (c, frame, done, user_data);
}

void
ws_channel_close (WsTransport *t, WsConn *c, gboolean abort)
{
  g_return_if_fail (c->channel);
  c->owner_gone = TRUE;
  if (c->state >= CONN_CLOSING)
    return;
  if (abort)
    {
      conn_close (c, NULL, WS_CLOSE_ABORT, WS_CLOSE_ABORT_REASON);
      return;
    }
  c->close_pending = TRUE;
  conn_pump (c);
}

void
ws_channel_refuse (WsTransport *t, WsConn *c)
{
  c->owner_gone = TRUE;
  conn_close (c, NULL, WS_CLOSE_ABORT, "refused");
}
