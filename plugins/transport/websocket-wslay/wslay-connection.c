/* wslay-connection.c: WebSocket connections, pooled ones and channels.
 *
 * A connection is a TCP connection (GSocketClient out, the listener in),
 * wrapped in a GTlsClientConnection / GTlsServerConnection for wss://, then
 * the HTTP/1.1 upgrade (wslay-handshake.c), then wslay's event API over the
 * connection's pollable streams.  Bytes go through two buffers of our own:
 * reads of WS_READ_CHUNK that wslay's recv callback takes from, and a write
 * buffer of WS_WRITE_BUFFER that wslay's send callback fills and that is
 * written in large chunks.
 *
 * Wire protocol:
 *  - one gossip frame per binary message; a text message is a protocol error
 *    (dropped PROTOCOL, close 1003);
 *  - subprotocol gossip.v1: pooled, frames both ways, keyed by the URL it was
 *    opened to (outbound) or "ws://IP:port" of the peer (inbound), which is
 *    the `from` of its frames; closed with 1000 after idle_timeout unused;
 *  - subprotocol gossip-stream.v1: a channel; a graceful close is close code
 *    1000 after the queued messages (the peer sees closed(NULL)), an abort is
 *    close code 4000 "abort" or the connection dropping (closed(error));
 *  - a ping every ping_interval on a connection without traffic; wslay
 *    answers pings.
 *
 * Limits:
 *  - a message's length is checked at each frame's header, before anything
 *    is allocated: above max_frame_size it is dropped TOO_BIG and the
 *    connection closed with 1009.  (wslay's own limit stays open: it refuses
 *    without saying why.  Data frames are not buffered by wslay at all
 *    (no_buffering); control frames are at most 125 bytes);
 *  - a message must arrive within io_timeout_us of its first byte, and the
 *    TLS and HTTP handshakes within io_timeout_us of the TCP connection;
 *  - queued output must make progress within io_timeout_us;
 *  - at most max_connections connections (pooled, channels, in and out);
 *    inbound ones above it are closed at once (dropped LIMIT), outbound ones
 *    close the least recently used idle pooled connection or fail LIMIT;
 *  - reading stops while more than WS_UNDELIVERED_MAX received bytes wait
 *    to be delivered: a peer that sends faster than we deliver is held back
 *    by TCP;
 *  - a pooled connection queues at most WS_SEND_QUEUE_MAX_FRAMES frames and
 *    2 * max_frame_size bytes; a channel queues what it is given (the core
 *    bounds it).
 */
#include "config.h"

#include <string.h>
#include <sys/random.h>
#include <gio/gnetworking.h>

#include "socket-address.h"
#include "wslay-private.h"

/* Reads and write rounds per connection per dispatch, for fairness. */
#define READS_PER_DISPATCH  8
#define WRITES_PER_DISPATCH 64
/* Received bytes waiting for delivery above which reading stops. */
#define WS_UNDELIVERED_MAX (4 * 1024 * 1024)

typedef enum
{
  CONN_CONNECTING,
  CONN_TLS,
  CONN_HANDSHAKE,
  CONN_OPEN,
  CONN_CLOSING,
  CONN_CLOSED,
} ConnState;

typedef struct
{
  GBytes *frame;
  gsize len;
  GossipTransportSendFunc done;
  gpointer user_data;
  guint64 end; /* tx_total once its last byte is in the write buffer */
} SendItem;

struct _GossipTransportChannel
{
  int ref_count;
  WsTransport *t; /* NULL once closed */
  GList link;     /* in t->conns */
  ConnState state;
  gboolean server; /* accepted: the WebSocket server side */
  gboolean is_channel;
  gboolean pooled;
  char *peer; /* pool key, and `from` of its frames */
  const char *protocol;
  WsUrl url; /* outbound */
  char *key; /* the client's Sec-WebSocket-Key */

  GCancellable *cancellable;
  GSocketConnection *tcp;
  GIOStream *stream; /* tcp, or the TLS connection over it */
  GPollableInputStream *in;
  GPollableOutputStream *out;
  GSource *in_source;
  GSource *out_source;
  GTlsCertificateFlags cert_errors;

  GByteArray *head; /* handshake bytes read so far */
  gboolean finish_when_flushed;
  gboolean no_wait_reply; /* aborting: do not wait for the peer's close */
  gboolean peer_close_handled;

  wslay_event_context_ptr ws;
  const guint8 *rx; /* bytes wslay may take now */
  gsize rx_len;
  guint64 rx_consumed; /* bytes wslay took */
  guint64 rx_boundary; /* where the last frame wslay started ends */
  gboolean frame_is_control;
  gboolean in_msg;
  gboolean shut_read; /* we stopped reading after a violation */
  guint8 *msg;
  gsize msg_len;
  gsize undelivered;

  GByteArray *tx;
  gsize tx_off;
  guint64 tx_total;
  guint64 tx_written;
  GQueue queue; /* SendItem, not yet given to wslay */
  gsize queued_bytes;
  SendItem *feeding; /* given to wslay, not yet all in the write buffer */
  GQueue written;    /* SendItem in the write buffer, waiting for the socket */
  gboolean close_when_drained;

  const GossipTransportChannelCallbacks *ch_callbacks;
  gpointer ch_user_data;
  gboolean owner_closed;
  gboolean closed_reported;

  guint connect_timer;
  guint handshake_timer;
  guint read_timer;
  guint write_timer;
  guint idle_timer;
  guint ping_timer;
  guint linger_timer;
  gint64 last_used;
  gint64 last_io;
};

static void conn_finish (WsConn *c);
static void conn_fail (WsConn *c, GError *reason);
static void conn_pump (WsConn *c);
static void conn_update_io (WsConn *c);
static void conn_check_closing (WsConn *c);
static void conn_start_handshake (WsConn *c);

static gint64
now (WsTransport *t)
{
  return gossip_clock_now (t->clock);
}

WsConn *
ws_conn_ref (WsConn *c)
{
  c->ref_count++;
  return c;
}

static void
send_item_free (SendItem *item)
{
  g_bytes_unref (item->frame);
  g_free (item);
}

void
ws_conn_unref (WsConn *c)
{
  if (--c->ref_count > 0)
    return;
  g_assert (c->state == CONN_CLOSED);
  g_free (c->peer);
  g_free (c->key);
  ws_url_clear (&c->url);
  g_free (c);
}

gboolean
ws_conn_channel_is_live (WsConn *c)
{
  return !c->owner_closed && !c->closed_reported;
}

void
ws_conn_mark_channel_reported (WsConn *c)
{
  c->closed_reported = TRUE;
}

void
ws_conn_get_channel_callbacks (WsConn *c, const GossipTransportChannelCallbacks **callbacks,
                               gpointer *user_data)
{
  *callbacks = c->ch_callbacks;
  *user_data = c->ch_user_data;
}

static gboolean
tx_pending (WsConn *c)
{
  return c->tx != NULL && c->tx->len > c->tx_off;
}

static gboolean
conn_is_busy (WsConn *c)
{
  return c->state != CONN_OPEN || c->queue.length > 0 || c->feeding != NULL || c->written.length > 0
         || c->in_msg || tx_pending (c);
}

/* ------------------------------------------------------------------------ */
/* Reports */

static GError *
closed_error (WsConn *c)
{
  return g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                      "the connection to %s ended", c->peer);
}

/* Fails every send not yet written with @reason (copied). */
static void
fail_sends (WsConn *c, const GError *reason)
{
  WsTransport *t = c->t;
  SendItem *item;
  WsConn *channel = c->is_channel ? c : NULL;

  if (c->feeding != NULL)
    g_queue_push_head (&c->queue, g_steal_pointer (&c->feeding));
  while ((item = g_queue_pop_head (&c->written)) != NULL)
    g_queue_push_tail (&c->queue, item);
  while ((item = g_queue_pop_head (&c->queue)) != NULL)
    {
      if (item->done != NULL && !c->owner_closed)
        ws_emit_done (t, channel, item->done, item->user_data,
                      reason != NULL ? g_error_copy (reason) : closed_error (c));
      send_item_free (item);
    }
  c->queued_bytes = 0;
}

static void
unpool (WsConn *c)
{
  if (c->pooled)
    g_hash_table_remove (c->t->pool, c->peer);
  c->pooled = FALSE;
}

/* The connection ends for the owner now: sends fail with @reason, a
 * channel reports closed(@reason).  Takes @reason (NULL: clean). */
static void
conn_report_end (WsConn *c, GError *reason)
{
  unpool (c);
  fail_sends (c, reason);
  if (c->is_channel && !c->owner_closed && !c->closed_reported)
    ws_emit_channel_closed (c->t, c, reason != NULL ? g_error_copy (reason) : NULL);
  g_clear_error (&reason);
}

/* ------------------------------------------------------------------------ */
/* Sources */

static gboolean in_ready (GObject *stream, gpointer data);
static gboolean out_ready (GObject *stream, gpointer data);

static gboolean
want_read (WsConn *c)
{
  if (c->in == NULL || c->shut_read || c->undelivered >= WS_UNDELIVERED_MAX)
    return FALSE;
  if (c->state == CONN_HANDSHAKE)
    return TRUE;
  if (c->state == CONN_OPEN || c->state == CONN_CLOSING)
    return c->ws != NULL && wslay_event_want_read (c->ws);
  return FALSE;
}

static gboolean
want_write (WsConn *c)
{
  if (c->out == NULL)
    return FALSE;
  if (tx_pending (c))
    return TRUE;
  if (c->ws == NULL || (c->state != CONN_OPEN && c->state != CONN_CLOSING))
    return FALSE;
  return wslay_event_want_write (c->ws)
         || (c->state == CONN_OPEN && (c->queue.length > 0 || c->close_when_drained));
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
conn_update_io (WsConn *c)
{
  if (c->state == CONN_CLOSED)
    return;
  if (want_read (c))
    {
      if (c->in_source == NULL)
        {
          c->in_source = g_pollable_input_stream_create_source (c->in, NULL);
          g_source_set_callback (c->in_source, G_SOURCE_FUNC (in_ready), c, NULL);
          g_source_set_static_name (c->in_source, "gossip websocket-wslay read");
          g_source_attach (c->in_source, c->t->context);
        }
    }
  else
    clear_source (&c->in_source);
  if (want_write (c))
    {
      if (c->out_source == NULL)
        {
          c->out_source = g_pollable_output_stream_create_source (c->out, NULL);
          g_source_set_callback (c->out_source, G_SOURCE_FUNC (out_ready), c, NULL);
          g_source_set_static_name (c->out_source, "gossip websocket-wslay write");
          g_source_attach (c->out_source, c->t->context);
        }
    }
  else
    clear_source (&c->out_source);
}

/* ------------------------------------------------------------------------ */
/* Timers */

static void
write_timer_fired (gpointer data)
{
  WsConn *c = data;

  c->write_timer = 0;
  conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                             "%s did not take a frame within %" G_GINT64_FORMAT " ms", c->peer,
                             c->t->io_timeout_us / 1000));
}

static void
restart_write_timer (WsConn *c)
{
  WsTransport *t = c->t;

  gossip_clock_clear_timer (t->clock, &c->write_timer);
  if (want_write (c))
    c->write_timer
        = gossip_clock_add_timer (t->clock, t->io_timeout_us, write_timer_fired, c, NULL);
}

static void
read_timer_fired (gpointer data)
{
  WsConn *c = data;

  c->read_timer = 0;
  ws_emit_dropped (c->t, c->peer,
                   g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                                "a message from %s did not arrive within %" G_GINT64_FORMAT " ms",
                                c->peer, c->t->io_timeout_us / 1000));
  conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                             "connection to %s closed: the peer was too slow", c->peer));
}

static void
handshake_timer_fired (gpointer data)
{
  WsConn *c = data;

  c->handshake_timer = 0;
  if (c->server)
    ws_emit_dropped (c->t, c->peer,
                     g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                                  "%s did not complete its handshake within %" G_GINT64_FORMAT
                                  " ms",
                                  c->peer, c->t->io_timeout_us / 1000));
  conn_fail (c,
             g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                          "the handshake with %s did not complete within %" G_GINT64_FORMAT " ms",
                          c->peer, c->t->io_timeout_us / 1000));
}

static void
connect_timer_fired (gpointer data)
{
  WsConn *c = data;

  c->connect_timer = 0;
  conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                             "connecting to %s timed out after %" G_GINT64_FORMAT " ms", c->peer,
                             c->t->connect_timeout_us / 1000));
}

static void
linger_timer_fired (gpointer data)
{
  WsConn *c = data;

  c->linger_timer = 0;
  conn_finish (c);
}

static void
begin_closing (WsConn *c)
{
  WsTransport *t = c->t;

  c->state = CONN_CLOSING;
  unpool (c);
  gossip_clock_clear_timer (t->clock, &c->idle_timer);
  gossip_clock_clear_timer (t->clock, &c->ping_timer);
  gossip_clock_clear_timer (t->clock, &c->handshake_timer);
  if (c->linger_timer == 0)
    c->linger_timer
        = gossip_clock_add_timer (t->clock, t->io_timeout_us, linger_timer_fired, c, NULL);
}

/* Sends a close frame with @code after what is queued, and closes once the
 * peer answered (or at once after sending it, with @wait_reply FALSE). */
static void
close_with (WsConn *c, guint16 code, const char *reason, gboolean wait_reply)
{
  wslay_event_queue_close (c->ws, code, (const guint8 *) reason, reason ? strlen (reason) : 0);
  c->no_wait_reply = !wait_reply;
  begin_closing (c);
}

static void
idle_timer_fired (gpointer data)
{
  WsConn *c = data;
  WsTransport *t = c->t;
  gint64 elapsed = now (t) - c->last_used;

  c->idle_timer = 0;
  if (!conn_is_busy (c) && elapsed >= t->idle_timeout_us)
    {
      g_debug ("closing idle connection %s", c->peer);
      ws_conn_ref (c);
      close_with (c, 1000, NULL, TRUE);
      conn_pump (c);
      ws_conn_unref (c);
      return;
    }
  c->idle_timer = gossip_clock_add_timer (
      t->clock, conn_is_busy (c) ? t->idle_timeout_us : t->idle_timeout_us - elapsed,
      idle_timer_fired, c, NULL);
}

static void
ping_timer_fired (gpointer data)
{
  WsConn *c = data;
  WsTransport *t = c->t;
  gint64 quiet = now (t) - c->last_io;

  c->ping_timer = 0;
  if (quiet >= t->ping_interval_us)
    {
      struct wslay_event_msg ping = { WSLAY_PING, NULL, 0 };

      wslay_event_queue_msg (c->ws, &ping);
      c->last_io = now (t);
      ws_conn_ref (c);
      conn_pump (c);
      ws_conn_unref (c);
      quiet = 0;
      if (c->state != CONN_OPEN)
        return;
    }
  c->ping_timer
      = gossip_clock_add_timer (t->clock, t->ping_interval_us - quiet, ping_timer_fired, c, NULL);
}

/* ------------------------------------------------------------------------ */
/* Life cycle */

static WsConn *
conn_new (WsTransport *t, const char *peer, gboolean pooled)
{
  WsConn *c = g_new0 (WsConn, 1);

  c->ref_count = 1; /* t->conns' */
  c->t = t;
  c->peer = g_strdup (peer);
  c->link.data = c;
  g_queue_push_tail_link (&t->conns, &c->link);
  g_queue_init (&c->queue);
  g_queue_init (&c->written);
  c->last_used = c->last_io = now (t);
  if (pooled && !g_hash_table_contains (t->pool, c->peer))
    {
      g_hash_table_insert (t->pool, c->peer, c);
      c->pooled = TRUE;
    }
  return c;
}

/* Closes everything now, without reports (those were made before). */
static void
conn_finish (WsConn *c)
{
  WsTransport *t = c->t;

  if (c->state == CONN_CLOSED)
    return;
  c->state = CONN_CLOSED;
  gossip_clock_clear_timer (t->clock, &c->connect_timer);
  gossip_clock_clear_timer (t->clock, &c->handshake_timer);
  gossip_clock_clear_timer (t->clock, &c->read_timer);
  gossip_clock_clear_timer (t->clock, &c->write_timer);
  gossip_clock_clear_timer (t->clock, &c->idle_timer);
  gossip_clock_clear_timer (t->clock, &c->ping_timer);
  gossip_clock_clear_timer (t->clock, &c->linger_timer);
  if (c->cancellable != NULL)
    {
      g_cancellable_cancel (c->cancellable);
      g_clear_object (&c->cancellable);
    }
  clear_source (&c->in_source);
  clear_source (&c->out_source);
  /* Closing the socket itself: closing a TLS stream could wait on a
   * close_notify. */
  if (c->tcp != NULL)
    g_socket_close (g_socket_connection_get_socket (c->tcp), NULL);
  c->in = NULL;
  c->out = NULL;
  g_clear_object (&c->stream);
  g_clear_object (&c->tcp);
  unpool (c);
  g_queue_unlink (&t->conns, &c->link);
  c->owner_closed = c->owner_closed || t->destroyed;
  fail_sends (c, NULL);
  g_clear_pointer (&c->ws, wslay_event_context_free);
  g_clear_pointer (&c->msg, g_free);
  if (c->head != NULL)
    g_byte_array_unref (g_steal_pointer (&c->head));
  if (c->tx != NULL)
    g_byte_array_unref (g_steal_pointer (&c->tx));
  c->t = NULL;
  ws_conn_unref (c);
}

/* An abrupt end: reports (@reason taken), then closes. */
static void
conn_fail (WsConn *c, GError *reason)
{
  if (c->state == CONN_CLOSED)
    {
      g_clear_error (&reason);
      return;
    }
  conn_report_end (c, reason);
  conn_finish (c);
}

void
ws_conn_close_all (WsTransport *t)
{
  while (t->conns.head != NULL)
    conn_finish (t->conns.head->data);
}

/* ------------------------------------------------------------------------ */
/* wslay's callbacks */

static ssize_t
ws_recv_cb (wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *data)
{
  WsConn *c = data;
  gsize n = MIN (len, c->rx_len);

  if (n == 0)
    {
      wslay_event_set_error (ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
  memcpy (buf, c->rx, n);
  c->rx += n;
  c->rx_len -= n;
  c->rx_consumed += n;
  return (ssize_t) n;
}

static ssize_t
ws_send_cb (wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
            void *user_data)
{
  WsConn *c = user_data;
  gsize room = WS_WRITE_BUFFER - MIN (WS_WRITE_BUFFER, c->tx->len - c->tx_off);
  gsize n = MIN (len, room);

  if (n == 0)
    {
      wslay_event_set_error (ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
  if (c->tx_off > 0 && c->tx_off == c->tx->len)
    {
      g_byte_array_set_size (c->tx, 0);
      c->tx_off = 0;
    }
  else if (c->tx_off >= WS_WRITE_BUFFER)
    {
      g_byte_array_remove_range (c->tx, 0, c->tx_off);
      c->tx_off = 0;
    }
  g_byte_array_append (c->tx, data, n);
  c->tx_total += n;
  return (ssize_t) n;
}

/* Masks come from the kernel's random source, as RFC 6455 asks. */
static int
ws_genmask_cb (wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *data)
{
  if (getrandom (buf, len, 0) == (ssize_t) len)
    return 0;
  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t) g_random_int ();
  return 0;
}

/* Stops reading after a violation: reported as dropped, close @code. */
static void
violation (WsConn *c, gint error_code, guint16 close_code, GError *reason)
{
  WsTransport *t = c->t;

  c->shut_read = TRUE;
  wslay_event_shutdown_read (c->ws);
  ws_emit_dropped (t, c->peer, g_error_copy (reason));
  conn_report_end (c, g_error_new (GOSSIP_TRANSPORT_ERROR, error_code,
                                   "connection to %s closed: %s", c->peer, reason->message));
  g_error_free (reason);
  if (wslay_event_get_close_sent (c->ws) || c->state == CONN_CLOSING)
    {
      begin_closing (c);
      c->no_wait_reply = TRUE;
      return;
    }
  close_with (c, close_code, NULL, FALSE);
}

static gsize
header_length (guint64 payload, gboolean masked)
{
  gsize len = 2 + (masked ? 4 : 0);

  if (payload >= 65536)
    len += 8;
  else if (payload >= 126)
    len += 2;
  return len;
}

static void
restart_read_timer (WsConn *c)
{
  WsTransport *t = c->t;

  gossip_clock_clear_timer (t->clock, &c->read_timer);
  c->read_timer = gossip_clock_add_timer (t->clock, t->io_timeout_us, read_timer_fired, c, NULL);
}

static void
ws_frame_start_cb (wslay_event_context_ptr ctx,
                   const struct wslay_event_on_frame_recv_start_arg *arg, void *data)
{
  WsConn *c = data;
  WsTransport *t = c->t;

  c->rx_boundary += header_length (arg->payload_length, c->server) + arg->payload_length;
  c->frame_is_control = wslay_is_ctrl_frame (arg->opcode);
  if (c->frame_is_control || c->shut_read)
    return;
  if (arg->opcode == WSLAY_TEXT_FRAME)
    {
      violation (c, GOSSIP_TRANSPORT_ERROR_PROTOCOL, WSLAY_CODE_UNSUPPORTED_DATA,
                 g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                              "%s sent a text message; frames are binary", c->peer));
      return;
    }
  if (arg->opcode == WSLAY_BINARY_FRAME)
    {
      g_clear_pointer (&c->msg, g_free);
      c->msg_len = 0;
      c->in_msg = TRUE;
      restart_read_timer (c);
    }
  if (arg->payload_length > t->max_frame_size - c->msg_len)
    {
      violation (c, GOSSIP_TRANSPORT_ERROR_TOO_BIG, WSLAY_CODE_MESSAGE_TOO_BIG,
                 g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                              "%s announced a %" G_GUINT64_FORMAT
                              "-byte frame; the limit is %" G_GSIZE_FORMAT,
                              c->peer, (guint64) c->msg_len + arg->payload_length,
                              t->max_frame_size));
      return;
    }
  if (arg->payload_length > 0)
    c->msg = g_realloc (c->msg, c->msg_len + arg->payload_length);
}

static void
ws_frame_chunk_cb (wslay_event_context_ptr ctx,
                   const struct wslay_event_on_frame_recv_chunk_arg *arg, void *data)
{
  WsConn *c = data;

  if (c->frame_is_control || c->shut_read || arg->data_length == 0)
    return;
  memcpy (c->msg + c->msg_len, arg->data, arg->data_length);
  c->msg_len += arg->data_length;
}

static void
ws_msg_cb (wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *data)
{
  WsConn *c = data;
  WsTransport *t = c->t;
  g_autoptr (GBytes) frame = NULL;

  if (arg->opcode != WSLAY_BINARY_FRAME || c->shut_read)
    return;
  frame = c->msg_len > 0 ? g_bytes_new_take (g_steal_pointer (&c->msg), c->msg_len)
                         : g_bytes_new (NULL, 0);
  g_clear_pointer (&c->msg, g_free);
  c->msg_len = 0;
  c->in_msg = FALSE;
  gossip_clock_clear_timer (t->clock, &c->read_timer);
  c->last_used = now (t);
  if (c->is_channel)
    {
      if (c->owner_closed || c->closed_reported)
        return;
      c->undelivered += g_bytes_get_size (frame);
      ws_emit_channel_received (t, c, frame);
    }
  else
    {
      c->undelivered += g_bytes_get_size (frame);
      ws_emit_received (t, c, c->peer, frame);
    }
}

static const struct wslay_event_callbacks ws_callbacks = {
  ws_recv_cb, ws_send_cb, ws_genmask_cb, ws_frame_start_cb, ws_frame_chunk_cb, NULL, ws_msg_cb,
};

/* ------------------------------------------------------------------------ */
/* Reading */

/* What a close frame from the peer means for the owner. */
static void
peer_closed (WsConn *c)
{
  guint16 code = wslay_event_get_status_code_received (c->ws);

  c->peer_close_handled = TRUE;
  if (c->state == CONN_CLOSING)
    return;
  if (code == 1000)
    conn_report_end (c, NULL);
  else
    conn_report_end (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                     "%s closed the connection (code %u%s)", c->peer, code,
                                     code == WS_CLOSE_ABORT ? ", aborted" : ""));
  begin_closing (c);
}

/* Gives @len bytes to wslay.  Returns FALSE when the connection closed. */
static gboolean
feed (WsConn *c, const guint8 *data, gsize len)
{
  int r;

  c->rx = data;
  c->rx_len = len;
  r = wslay_event_recv (c->ws);
  c->rx = NULL;
  c->rx_len = 0;
  if (c->state == CONN_CLOSED)
    return FALSE;
  if (!c->shut_read && !wslay_event_get_close_received (c->ws)
      && (r != 0 || !wslay_event_get_read_enabled (c->ws)))
    violation (c, GOSSIP_TRANSPORT_ERROR_PROTOCOL, WSLAY_CODE_PROTOCOL_ERROR,
               g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                            "%s broke the WebSocket framing", c->peer));
  if (wslay_event_get_close_received (c->ws) && !c->peer_close_handled)
    peer_closed (c);
  /* A message or a frame header under way has io_timeout to complete. */
  if (c->shut_read || (c->rx_consumed == c->rx_boundary && !c->in_msg))
    gossip_clock_clear_timer (c->t->clock, &c->read_timer);
  else if (c->read_timer == 0)
    restart_read_timer (c);
  return TRUE;
}

static void
conn_open (WsConn *c, const guint8 *leftover, gsize leftover_len)
{
  WsTransport *t = c->t;

  if (c->server)
    wslay_event_context_server_init (&c->ws, &ws_callbacks, c);
  else
    wslay_event_context_client_init (&c->ws, &ws_callbacks, c);
  /* Sizes are checked in ws_frame_start_cb, where they can be reported. */
  wslay_event_config_set_max_recv_msg_length (c->ws, G_MAXUINT64);
  wslay_event_config_set_no_buffering (c->ws, 1);
  c->state = CONN_OPEN;
  gossip_clock_clear_timer (t->clock, &c->handshake_timer);
  c->last_used = c->last_io = now (t);
  if (!c->is_channel)
    c->idle_timer
        = gossip_clock_add_timer (t->clock, t->idle_timeout_us, idle_timer_fired, c, NULL);
  if (t->ping_interval_us > 0)
    c->ping_timer
        = gossip_clock_add_timer (t->clock, t->ping_interval_us, ping_timer_fired, c, NULL);
  if (leftover_len > 0)
    feed (c, leftover, leftover_len);
}

/* Server side: the request head is complete. */
static void
server_head (WsConn *c, gsize head_len)
{
  WsTransport *t = c->t;
  g_autoptr (GError) error = NULL;
  g_autofree char *accept = NULL;
  g_autofree char *response = NULL;
  const char *protocol = NULL;
  guint status = ws_handshake_check_request ((const char *) c->head->data, head_len - 2, t->path,
                                             &protocol, &accept, &error);
  g_autoptr (GByteArray) head = g_steal_pointer (&c->head);

  response = ws_handshake_response (status, accept, protocol);
  g_byte_array_append (c->tx, (const guint8 *) response, strlen (response));
  if (status != 101)
    {
      ws_emit_dropped (t, c->peer, g_steal_pointer (&error));
      unpool (c);
      c->finish_when_flushed = TRUE;
      begin_closing (c);
      return;
    }
  c->protocol = protocol;
  if (strcmp (protocol, WS_PROTOCOL_STREAM) == 0)
    {
      c->is_channel = TRUE;
      unpool (c);
      ws_emit_channel_accepted (t, c, c->peer);
    }
  conn_open (c, head->data + head_len, head->len - head_len);
}

/* Client side: the response head is complete. */
static void
client_head (WsConn *c, gsize head_len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) head = g_steal_pointer (&c->head);

  if (!ws_handshake_check_response ((const char *) head->data, head_len - 2, c->key, c->protocol,
                                    &error))
    {
      g_prefix_error (&error, "%s: ", c->peer);
      conn_fail (c, g_steal_pointer (&error));
      return;
    }
  conn_open (c, head->data + head_len, head->len - head_len);
}

/* Returns FALSE when the connection was closed. */
static gboolean
read_head (WsConn *c, const guint8 *data, gsize len)
{
  gssize end;

  g_byte_array_append (c->head, data, len);
  end = ws_handshake_head_end (c->head->data, MIN (c->head->len, WS_HANDSHAKE_MAX));
  if (end < 0)
    {
      if (c->head->len < WS_HANDSHAKE_MAX)
        return TRUE;
      if (c->server)
        ws_emit_dropped (c->t, c->peer,
                         g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                                      "%s sent a handshake head above %d bytes", c->peer,
                                      WS_HANDSHAKE_MAX));
      conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                 "the handshake head from %s is above %d bytes", c->peer,
                                 WS_HANDSHAKE_MAX));
      return FALSE;
    }
  if (c->server)
    server_head (c, (gsize) end);
  else
    client_head (c, (gsize) end);
  return c->state != CONN_CLOSED;
}

static void
peer_vanished (WsConn *c, const GError *error)
{
  if (c->state == CONN_CLOSING)
    {
      conn_finish (c);
      return;
    }
  if (c->state == CONN_OPEN && (c->in_msg || c->rx_consumed != c->rx_boundary))
    ws_emit_dropped (c->t, c->peer,
                     g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                                  "%s closed the connection in the middle of a message", c->peer));
  conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                             "connection to %s closed: %s", c->peer,
                             error != NULL ? error->message : "closed by the peer"));
}

static void
conn_read (WsConn *c)
{
  WsTransport *t = c->t;

  for (guint i = 0; i < READS_PER_DISPATCH && want_read (c); i++)
    {
      g_autoptr (GError) error = NULL;
      gsize want = WS_READ_CHUNK;
      gssize n;

      if (c->state == CONN_HANDSHAKE)
        want = WS_HANDSHAKE_MAX - MIN (c->head->len, WS_HANDSHAKE_MAX) + 1;
      n = g_pollable_input_stream_read_nonblocking (c->in, t->read_buffer, want, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (n <= 0)
        {
          peer_vanished (c, error);
          return;
        }
      c->last_io = now (t);
      if (c->state == CONN_HANDSHAKE)
        {
          if (!read_head (c, t->read_buffer, (gsize) n))
            return;
        }
      else if (!feed (c, t->read_buffer, (gsize) n))
        return;
    }
}

/* ------------------------------------------------------------------------ */
/* Writing */

/* Writes the buffer; completes the sends whose bytes all went.  Returns
 * FALSE when the connection was closed. */
static gboolean
flush_tx (WsConn *c, gboolean *blocked)
{
  WsTransport *t = c->t;
  gboolean progress = FALSE;

  *blocked = FALSE;
  while (tx_pending (c))
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (c->out, c->tx->data + c->tx_off,
                                                             c->tx->len - c->tx_off, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          *blocked = TRUE;
          break;
        }
      if (n <= 0)
        {
          conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                     "cannot write to %s: %s", c->peer,
                                     error ? error->message : "nothing written"));
          return FALSE;
        }
      c->tx_off += (gsize) n;
      c->tx_written += (guint64) n;
      progress = TRUE;
    }
  if (c->tx_off == c->tx->len)
    {
      g_byte_array_set_size (c->tx, 0);
      c->tx_off = 0;
    }
  while (c->written.length > 0)
    {
      SendItem *item = g_queue_peek_head (&c->written);

      if (item->end > c->tx_written)
        break;
      g_queue_pop_head (&c->written);
      if (item->done != NULL && !c->owner_closed)
        ws_emit_done (t, c->is_channel ? c : NULL, item->done, item->user_data, NULL);
      send_item_free (item);
    }
  if (progress)
    {
      c->last_io = now (t);
      restart_write_timer (c);
    }
  return TRUE;
}

/* Moves queued frames through wslay into the buffer and the buffer to the
 * socket, until the socket blocks or nothing is left. */
static void
conn_pump (WsConn *c)
{
  for (guint round = 0; round < WRITES_PER_DISPATCH && c->state != CONN_CLOSED; round++)
    {
      gboolean blocked = FALSE;
      guint64 total_before = c->tx_total;

      if (c->ws != NULL && (c->state == CONN_OPEN || c->state == CONN_CLOSING))
        {
          for (;;)
            {
              if (c->feeding == NULL && c->state == CONN_OPEN && c->queue.length > 0
                  && wslay_event_get_queued_msg_count (c->ws) == 0)
                {
                  struct wslay_event_msg msg = { WSLAY_BINARY_FRAME, NULL, 0 };

                  c->feeding = g_queue_pop_head (&c->queue);
                  c->queued_bytes -= c->feeding->len;
                  msg.msg = g_bytes_get_data (c->feeding->frame, NULL);
                  msg.msg_length = c->feeding->len;
                  if (wslay_event_queue_msg (c->ws, &msg) != 0)
                    {
                      conn_fail (c, closed_error (c));
                      return;
                    }
                }
              if (c->feeding == NULL && c->state == CONN_OPEN && c->queue.length == 0
                  && c->close_when_drained)
                close_with (c, 1000, NULL, TRUE);
              if (wslay_event_send (c->ws) != 0)
                {
                  conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR,
                                             GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                             "cannot send to %s", c->peer));
                  return;
                }
              if (c->feeding == NULL || wslay_event_get_queued_msg_count (c->ws) > 0)
                break;
              c->feeding->end = c->tx_total;
              g_queue_push_tail (&c->written, g_steal_pointer (&c->feeding));
            }
        }
      if (!flush_tx (c, &blocked))
        return;
      if (blocked || (c->tx_total == total_before && !tx_pending (c)))
        break;
    }
  if (c->state == CONN_CLOSED)
    return;
  conn_check_closing (c);
  if (c->state != CONN_CLOSED && c->write_timer == 0)
    restart_write_timer (c);
  else if (c->state != CONN_CLOSED && !want_write (c))
    gossip_clock_clear_timer (c->t->clock, &c->write_timer);
  conn_update_io (c);
}

static void
conn_check_closing (WsConn *c)
{
  if (c->state != CONN_CLOSING || tx_pending (c))
    return;
  if (c->ws == NULL)
    {
      if (c->finish_when_flushed)
        conn_finish (c);
      return;
    }
  if (wslay_event_want_write (c->ws) || !wslay_event_get_close_sent (c->ws))
    return;
  if (c->no_wait_reply || wslay_event_get_close_received (c->ws))
    conn_finish (c);
}

/* ------------------------------------------------------------------------ */
/* Dispatch */

static gboolean
in_ready (GObject *stream, gpointer data)
{
  WsConn *c = data;

  ws_conn_ref (c);
  conn_read (c);
  if (c->state != CONN_CLOSED)
    conn_pump (c);
  ws_conn_unref (c);
  return G_SOURCE_CONTINUE;
}

static gboolean
out_ready (GObject *stream, gpointer data)
{
  WsConn *c = data;

  ws_conn_ref (c);
  conn_pump (c);
  ws_conn_unref (c);
  return G_SOURCE_CONTINUE;
}

void
ws_conn_resume_reading (WsConn *c, gsize delivered)
{
  c->undelivered -= MIN (c->undelivered, delivered);
  if (c->state != CONN_CLOSED && c->in_source == NULL)
    conn_update_io (c);
}

/* ------------------------------------------------------------------------ */
/* Connecting and TLS */

static void
attach_stream (WsConn *c, GIOStream *stream)
{
  c->stream = stream;
  c->in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream));
  c->out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream));
  c->tx = g_byte_array_sized_new (4096);
}

static void
tune_socket (GSocketConnection *tcp)
{
  GSocket *socket = g_socket_connection_get_socket (tcp);

  g_socket_set_blocking (socket, FALSE);
  /* Frames are whole messages: send them now, not after Nagle's delay. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

static char *
describe_certificate_errors (GTlsCertificateFlags flags)
{
  static const struct
  {
    GTlsCertificateFlags flag;
    const char *text;
  } names[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "not signed by a trusted CA" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "issued for another host" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "not yet valid" },
    { G_TLS_CERTIFICATE_EXPIRED, "expired" },
    { G_TLS_CERTIFICATE_REVOKED, "revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "insecure" },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, "invalid" },
  };
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (flags & names[i].flag)
      g_string_append_printf (s, "%s%s", s->len > 0 ? ", " : "", names[i].text);
  return g_string_free (s, FALSE);
}

static gboolean
on_accept_certificate (GTlsConnection *tls, GTlsCertificate *peer_cert, GTlsCertificateFlags errors,
                       gpointer data)
{
  WsConn *c = data;

  c->cert_errors = errors;
  return FALSE;
}

static void
tls_handshake_done (GObject *source, GAsyncResult *result, gpointer data)
{
  WsConn *c = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error);

  if (c->state == CONN_CLOSED)
    ; /* cancelled, or timed out meanwhile */
  else if (!ok)
    {
      if (c->server)
        {
          ws_emit_dropped (c->t, c->peer,
                           g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                                        "TLS handshake with %s failed: %s", c->peer,
                                        error->message));
          conn_fail (c, NULL);
        }
      else if (c->cert_errors != 0)
        {
          g_autofree char *why = describe_certificate_errors (c->cert_errors);

          conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                     "the TLS certificate of %s was refused: %s (%s)", c->peer, why,
                                     error->message));
        }
      else
        conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                   "TLS handshake with %s failed: %s", c->peer, error->message));
    }
  else
    {
      g_clear_object (&c->cancellable);
      conn_start_handshake (c);
    }
  ws_conn_unref (c);
}

static void
start_tls (WsConn *c, GTlsConnection *tls)
{
  WsTransport *t = c->t;
  GError *error = NULL;

  attach_stream (c, G_IO_STREAM (tls));
  c->state = CONN_TLS;
  c->cancellable = g_cancellable_new ();
  if (c->handshake_timer == 0)
    c->handshake_timer
        = gossip_clock_add_timer (t->clock, t->io_timeout_us, handshake_timer_fired, c, NULL);
  if (!gossip_transport_push_context (t->context, &error))
    {
      conn_fail (c, error);
      return;
    }
  g_tls_connection_handshake_async (tls, G_PRIORITY_DEFAULT, c->cancellable, tls_handshake_done,
                                    ws_conn_ref (c));
  gossip_transport_pop_context (t->context);
}

/* TCP (and TLS) are up: the HTTP upgrade. */
static void
conn_start_handshake (WsConn *c)
{
  WsTransport *t = c->t;

  c->state = CONN_HANDSHAKE;
  c->head = g_byte_array_new ();
  if (c->handshake_timer == 0)
    c->handshake_timer
        = gossip_clock_add_timer (t->clock, t->io_timeout_us, handshake_timer_fired, c, NULL);
  if (!c->server)
    {
      g_autofree char *request = NULL;

      c->key = ws_handshake_new_key ();
      request = ws_handshake_request (&c->url, c->key, c->protocol);
      g_byte_array_append (c->tx, (const guint8 *) request, strlen (request));
    }
  conn_pump (c);
}

static void
connected (GObject *source, GAsyncResult *result, gpointer data)
{
  WsConn *c = data;
  g_autoptr (GError) error = NULL;
  GSocketConnection *tcp
      = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);

  if (c->state == CONN_CLOSED)
    g_clear_object (&tcp);
  else if (tcp == NULL)
    conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                               "cannot connect to %s: %s", c->peer, error->message));
  else
    {
      WsTransport *t = c->t;

      gossip_clock_clear_timer (t->clock, &c->connect_timer);
      g_clear_object (&c->cancellable);
      c->tcp = tcp;
      tune_socket (tcp);
      if (c->url.tls)
        {
          g_autoptr (GSocketConnectable) identity
              = g_network_address_new (c->url.host, c->url.port);
          GIOStream *tls = g_tls_client_connection_new (G_IO_STREAM (tcp), identity, &error);

          if (tls == NULL)
            conn_fail (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                       "no TLS for %s: %s", c->peer, error->message));
          else
            {
              g_tls_connection_set_database (G_TLS_CONNECTION (tls), t->database);
              g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), c);
              start_tls (c, G_TLS_CONNECTION (tls));
            }
        }
      else
        {
          attach_stream (c, G_IO_STREAM (g_object_ref (tcp)));
          conn_start_handshake (c);
        }
    }
  ws_conn_unref (c);
}

static void
conn_connect (WsConn *c)
{
  WsTransport *t = c->t;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnectable) connectable = NULL;
  GError *error = NULL;

  if (c->url.inet != NULL)
    connectable = G_SOCKET_CONNECTABLE (g_object_ref (c->url.inet));
  else
    connectable = g_network_address_new (c->url.host, c->url.port);
  g_socket_client_set_enable_proxy (client, FALSE);
  c->state = CONN_CONNECTING;
  c->cancellable = g_cancellable_new ();
  c->connect_timer
      = gossip_clock_add_timer (t->clock, t->connect_timeout_us, connect_timer_fired, c, NULL);
  if (!gossip_transport_push_context (t->context, &error))
    {
      conn_fail (c, error);
      return;
    }
  g_socket_client_connect_async (client, connectable, c->cancellable, connected, ws_conn_ref (c));
  gossip_transport_pop_context (t->context);
}

/* The least recently used pooled connection with nothing in flight. */
static WsConn *
find_evictable (WsTransport *t)
{
  WsConn *best = NULL;

  for (GList *l = t->conns.head; l != NULL; l = l->next)
    {
      WsConn *c = l->data;

      if (!c->is_channel && !conn_is_busy (c) && (best == NULL || c->last_used < best->last_used))
        best = c;
    }
  return best;
}

static gboolean
make_room (WsTransport *t, const char *for_whom, GError **error)
{
  WsConn *victim;

  if (t->conns.length < t->max_connections)
    return TRUE;
  victim = find_evictable (t);
  if (victim == NULL)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                   "cannot connect to %s: %u connections are open, none idle", for_whom,
                   t->conns.length);
      return FALSE;
    }
  g_debug ("closing idle connection %s to make room for %s", victim->peer, for_whom);
  ws_conn_ref (victim);
  close_with (victim, 1001, NULL, FALSE);
  conn_pump (victim);
  conn_finish (victim);
  ws_conn_unref (victim);
  return TRUE;
}

static gboolean
insecure_refused (WsTransport *t, const WsUrl *url, GError **error)
{
  if (url->tls || t->allow_insecure)
    return FALSE;
  g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
               "not sending to %s: plain ws:// needs [websocket] allow_insecure=true", url->key);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Pooled sends */

static gboolean
enqueue (WsTransport *t, const char *address, GBytes *frame, GossipTransportSendFunc done,
         gpointer user_data, GError **error)
{
  g_auto (WsUrl) url = { 0 };
  gsize len = g_bytes_get_size (frame);
  SendItem *item;
  WsConn *c;
  gboolean is_new = FALSE;

  if (!ws_url_parse (address, &url, error))
    return FALSE;
  if (len > t->max_frame_size)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                   "a %" G_GSIZE_FORMAT "-byte frame is above the limit of %" G_GSIZE_FORMAT, len,
                   t->max_frame_size);
      return FALSE;
    }
  c = g_hash_table_lookup (t->pool, url.key);
  if (c == NULL)
    {
      if (insecure_refused (t, &url, error) || !make_room (t, url.key, error))
        return FALSE;
      c = conn_new (t, url.key, TRUE);
      c->url = url;
      memset (&url, 0, sizeof url);
      c->protocol = WS_PROTOCOL_FRAMES;
      is_new = TRUE;
    }
  else if (c->queue.length >= WS_SEND_QUEUE_MAX_FRAMES
           || (c->queue.length > 0 && c->queued_bytes + len > 2 * t->max_frame_size))
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                   "the queue to %s is full (%u frames, %" G_GSIZE_FORMAT " bytes)", c->peer,
                   c->queue.length, c->queued_bytes);
      return FALSE;
    }
  item = g_new0 (SendItem, 1);
  item->frame = g_bytes_ref (frame);
  item->len = len;
  item->done = done;
  item->user_data = user_data;
  g_queue_push_tail (&c->queue, item);
  c->queued_bytes += len;
  c->last_used = now (t);
  if (is_new)
    conn_connect (c);
  else if (c->state == CONN_OPEN)
    conn_update_io (c);
  return TRUE;
}

void
ws_conn_send (WsTransport *t, const char *address, GBytes *frame, GossipTransportSendFunc done,
              gpointer user_data)
{
  GError *error = NULL;

  if (!enqueue (t, address, frame, done, user_data, &error))
    ws_emit_done (t, NULL, done, user_data, error);
}

gboolean
ws_conn_send_datagram (WsTransport *t, const char *address, GBytes *frame, GError **error)
{
  return enqueue (t, address, frame, NULL, NULL, error);
}

/* ------------------------------------------------------------------------ */
/* Channels */

WsConn *
ws_channel_open (WsTransport *t, const char *address,
                 const GossipTransportChannelCallbacks *callbacks, gpointer user_data,
                 GError **error)
{
  g_auto (WsUrl) url = { 0 };
  GError *refused = NULL;
  WsConn *c;

  if (!ws_url_parse (address, &url, error))
    return NULL;
  if (!insecure_refused (t, &url, &refused))
    make_room (t, url.key, &refused);
  c = conn_new (t, url.key, FALSE);
  c->url = url;
  memset (&url, 0, sizeof url);
  c->is_channel = TRUE;
  c->protocol = WS_PROTOCOL_STREAM;
  c->ch_callbacks = callbacks;
  c->ch_user_data = user_data;
  if (refused != NULL)
    conn_fail (c, refused); /* reported later, through callbacks->closed */
  else
    conn_connect (c);
  return c;
}

void
ws_channel_attach (WsTransport *t, WsConn *c, const GossipTransportChannelCallbacks *callbacks,
                   gpointer user_data)
{
  c->ch_callbacks = callbacks;
  c->ch_user_data = user_data;
}

void
ws_channel_send (WsTransport *t, WsConn *c, GBytes *frame, GossipTransportSendFunc done,
                 gpointer user_data)
{
  gsize len = g_bytes_get_size (frame);
  SendItem *item;

  if (len > t->max_frame_size)
    {
      ws_emit_done (t, c, done, user_data,
                    g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                                 "a %" G_GSIZE_FORMAT
                                 "-byte frame is above the limit of %" G_GSIZE_FORMAT,
                                 len, t->max_frame_size));
      return;
    }
  if (c->state == CONN_CLOSED || c->state == CONN_CLOSING || c->close_when_drained)
    {
      ws_emit_done (t, c, done, user_data, closed_error (c));
      return;
    }
  item = g_new0 (SendItem, 1);
  item->frame = g_bytes_ref (frame);
  item->len = len;
  item->done = done;
  item->user_data = user_data;
  g_queue_push_tail (&c->queue, item);
  c->queued_bytes += len;
  if (c->state == CONN_OPEN)
    conn_update_io (c);
}

static void
channel_abort (WsConn *c)
{
  fail_sends (c, NULL); /* owner_closed: nothing is reported */
  if (c->state == CONN_OPEN && c->feeding == NULL)
    {
      close_with (c, WS_CLOSE_ABORT, "abort", FALSE);
      conn_update_io (c);
    }
  else if (c->state != CONN_CLOSING)
    conn_finish (c);
}

void
ws_channel_close (WsTransport *t, WsConn *c, gboolean abort)
{
  c->owner_closed = TRUE;
  if (c->state == CONN_CLOSED)
    return;
  if (abort)
    {
      channel_abort (c);
      return;
    }
  c->close_when_drained = TRUE;
  if (c->state == CONN_OPEN)
    conn_update_io (c);
}

void
ws_channel_refused (WsConn *c)
{
  c->owner_closed = TRUE;
  if (c->state != CONN_CLOSED)
    channel_abort (c);
}

/* ------------------------------------------------------------------------ */
/* Accepting */

void
ws_conn_accept (GSocket *socket, gpointer data)
{
  WsTransport *t = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autofree char *hostport = socket_format_address (remote);
  g_autofree char *peer = NULL;
  WsConn *c;

  if (hostport == NULL)
    {
      g_socket_close (socket, NULL);
      g_object_unref (socket);
      return;
    }
  peer = g_strdup_printf ("%s://%s", t->scheme, hostport);
  if (t->conns.length >= t->max_connections)
    {
      g_socket_close (socket, NULL);
      g_object_unref (socket);
      ws_emit_dropped (t, peer,
                       g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                                    "refused a connection from %s: %u connections are open", peer,
                                    t->max_connections));
      return;
    }
  c = conn_new (t, peer, TRUE);
  c->server = TRUE;
  c->tcp = g_socket_connection_factory_create_connection (socket);
  g_object_unref (socket);
  tune_socket (c->tcp);
  if (t->certificate != NULL)
    {
      GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (c->tcp), t->certificate, &error);

      if (tls == NULL)
        {
          ws_emit_dropped (t, peer,
                           g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                                        "no TLS for %s: %s", peer, error->message));
          conn_fail (c, NULL);
          return;
        }
      start_tls (c, G_TLS_CONNECTION (tls));
    }
  else
    {
      attach_stream (c, G_IO_STREAM (g_object_ref (c->tcp)));
      conn_start_handshake (c);
    }
}
