/* socket-connection.c: the reliable path, framed TCP connections.
 *
 * Each frame on the wire is a 4-byte big-endian length followed by that many
 * bytes.  A zero length is a valid, empty frame and is delivered as such.
 *
 * Connections are pooled by address: an outbound one under the address it was
 * opened to, an inbound one under the peer's address as accepted ("IP:port"
 * with the peer's ephemeral port) -- that is the `from` of its frames, so
 * answering to `from` goes back over the same connection.  Both directions
 * carry frames on every connection.
 *
 * Limits, all from the params:
 *  - a length prefix above max_frame_size is refused before anything is
 *    allocated (dropped TOO_BIG, connection closed);
 *  - a frame must arrive completely within io_timeout_us of its first byte
 *    (dropped TIMEOUT, closed): a peer dribbling bytes is cut off;
 *  - at most max_connections connections, inbound and outbound together:
 *    inbound ones above it are accepted and closed at once (dropped LIMIT);
 *    an outbound one evicts the least recently used idle connection, or
 *    fails with LIMIT when none is idle;
 *  - a connection without traffic for idle_timeout_us is closed;
 *  - connecting (name resolution included) takes at most connect_timeout_us;
 *  - a queued frame must be written within io_timeout_us of reaching the head
 *    of its queue, else the connection is closed and its sends fail TIMEOUT;
 *  - a queue holds at most SOCKET_SEND_QUEUE_MAX_FRAMES frames and at most
 *    2 * max_frame_size bytes; sends beyond that fail with LIMIT.
 *
 * Host names (reliable path only) are resolved with GResolver, asynchronously;
 * each resolved address is tried in turn.
 *
 * Channels (socket-channel.c) are connections of the same kind, never pooled
 * and never closed for being idle, whose queues have no limit (the owner
 * bounds what is in flight).  An accepted connection is pooled only once its
 * first length prefix shows it is not a channel's preamble.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <gio/gnetworking.h>

#include "socket-private.h"

/* recv() calls and bytes per connection per main-loop dispatch, for fairness. */
#define READS_PER_DISPATCH 16
#define READ_BUDGET        (2 * 1024 * 1024)
/* sendmsg() calls per connection per dispatch. */
#define WRITES_PER_DISPATCH 4
/* I/O vectors per sendmsg(), two per frame. */
#define WRITE_VECTORS 32
/* Bodies at least this large are read straight into their buffer. */
#define DIRECT_READ_MIN 4096

typedef struct
{
  GSource source;
  SocketConn *conn; /* not owned: the connection destroys its source */
  gpointer tag;
} ConnSource;

static void conn_close (SocketConn *c, GError *reason);
static void conn_try_next_candidate (SocketConn *c);
static void conn_pool (SocketConn *c);
static void conn_enqueue_preamble (SocketConn *c);
static gboolean conn_shut_write (SocketConn *c);

SocketConn *
socket_conn_ref (SocketConn *c)
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
socket_conn_unref (SocketConn *c)
{
  if (--c->ref_count > 0)
    return;
  g_assert (c->state == CONN_CLOSED);
  g_queue_clear_full (&c->inbox, (GDestroyNotify) g_bytes_unref);
  g_clear_error (&c->end_error);
  g_free (c->peer);
  g_free (c);
}

static gint64
now (SocketTransport *t)
{
  return gossip_clock_now (t->clock);
}

static gboolean
frame_in_progress (SocketConn *c)
{
  return c->header_got > 0 || c->in_body || c->preamble == PREAMBLE_MAGIC;
}

static gboolean
conn_is_busy (SocketConn *c)
{
  return c->state != CONN_OPEN || frame_in_progress (c) || c->queue.length > 0;
}

/* ------------------------------------------------------------------------ */
/* The connection's socket source: one fd watch whose condition follows the
 * state (connecting: OUT; open: IN, plus OUT while frames are queued). */

static void conn_handle_io (SocketConn *c, GIOCondition revents);

static gboolean
conn_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  ConnSource *cs = (ConnSource *) source;
  GIOCondition revents = g_source_query_unix_fd (source, cs->tag);

  conn_handle_io (cs->conn, revents);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs conn_source_funcs = {
  NULL, NULL, conn_source_dispatch, NULL, NULL, NULL,
};

static void
conn_set_condition (SocketConn *c, GIOCondition condition)
{
  if (c->source == NULL || c->condition == condition)
    return;
  c->condition = condition;
  g_source_modify_unix_fd (c->source, ((ConnSource *) c->source)->tag, condition);
}

static void
conn_attach (SocketConn *c, GSocket *socket, GIOCondition condition)
{
  ConnSource *cs;

  c->socket = socket;
  c->source = g_source_new (&conn_source_funcs, sizeof (ConnSource));
  g_source_set_static_name (c->source, "gossip socket connection");
  cs = (ConnSource *) c->source;
  cs->conn = c;
  cs->tag = g_source_add_unix_fd (c->source, g_socket_get_fd (socket), condition);
  c->condition = condition;
  g_source_attach (c->source, c->t->context);
}

static void
conn_detach (SocketConn *c)
{
  if (c->source != NULL)
    {
      g_source_destroy (c->source);
      g_clear_pointer (&c->source, g_source_unref);
    }
  if (c->socket != NULL)
    {
      g_socket_close (c->socket, NULL);
      g_clear_object (&c->socket);
    }
}

static void
conn_update_condition (SocketConn *c)
{
  if (c->state == CONN_OPEN)
    conn_set_condition (c, G_IO_IN | (c->queue.length > 0 ? G_IO_OUT : 0));
}

/* ------------------------------------------------------------------------ */
/* Timers */

static void
idle_timer_fired (gpointer data)
{
  SocketConn *c = data;
  SocketTransport *t = c->t;
  gint64 elapsed = now (t) - c->last_active;

  c->idle_timer = 0;
  if (!conn_is_busy (c) && elapsed >= t->idle_timeout_us)
    {
      g_debug ("closing idle connection %s", c->peer);
      conn_close (c, NULL);
      return;
    }
  c->idle_timer = gossip_clock_add_timer (
      t->clock, conn_is_busy (c) ? t->idle_timeout_us : t->idle_timeout_us - elapsed,
      idle_timer_fired, c, NULL);
}

static void
read_timer_fired (gpointer data)
{
  SocketConn *c = data;
  SocketTransport *t = c->t;

  c->read_timer = 0;
  socket_transport_emit_dropped (
      t, c->peer,
      g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                   "a frame from %s did not arrive within %" G_GINT64_FORMAT " ms", c->peer,
                   t->io_timeout_us / 1000));
  conn_close (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                              "connection to %s closed: the peer was too slow", c->peer));
}

static void
write_timer_fired (gpointer data)
{
  SocketConn *c = data;

  c->write_timer = 0;
  conn_close (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                              "%s did not take a frame within %" G_GINT64_FORMAT " ms", c->peer,
                              c->t->io_timeout_us / 1000));
}

static void
linger_timer_fired (gpointer data)
{
  SocketConn *c = data;

  c->linger_timer = 0;
  conn_close (c, NULL);
}

static void
connect_timer_fired (gpointer data)
{
  SocketConn *c = data;

  c->connect_timer = 0;
  conn_close (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                              "connecting to %s timed out after %" G_GINT64_FORMAT " ms", c->peer,
                              c->t->connect_timeout_us / 1000));
}

/* Keeps the read deadline on the frame being received, if any: one timer
 * per frame, set from the frame's first byte. */
static void
conn_update_read_timer (SocketConn *c)
{
  SocketTransport *t = c->t;

  if (!frame_in_progress (c))
    {
      gossip_clock_clear_timer (t->clock, &c->read_timer);
      return;
    }
  if (c->read_timer != 0 && c->read_timer_frame == c->frames_started)
    return;
  gossip_clock_clear_timer (t->clock, &c->read_timer);
  c->read_timer_frame = c->frames_started;
  c->read_timer = gossip_clock_add_timer (
      t->clock, t->io_timeout_us - (now (t) - c->frame_started_at), read_timer_fired, c, NULL);
}

/* The head of the queue has io_timeout_us to be written. */
static void
conn_restart_write_timer (SocketConn *c)
{
  SocketTransport *t = c->t;

  gossip_clock_clear_timer (t->clock, &c->write_timer);
  if (c->state == CONN_OPEN && c->queue.length > 0)
    c->write_timer
        = gossip_clock_add_timer (t->clock, t->io_timeout_us, write_timer_fired, c, NULL);
}

/* ------------------------------------------------------------------------ */
/* Life cycle */

static SocketConn *
conn_new (SocketTransport *t, const char *peer, gboolean pool)
{
  SocketConn *c = g_new0 (SocketConn, 1);

  c->ref_count = 1; /* t->conns' */
  c->t = t;
  c->peer = g_strdup (peer);
  c->link.data = c;
  g_queue_push_tail_link (&t->conns, &c->link);
  g_queue_init (&c->queue);
  g_queue_init (&c->inbox);
  c->last_active = now (t);
  if (pool)
    conn_pool (c);
  return c;
}

/* Makes @c the pooled connection for its peer, unless there is one. */
static void
conn_pool (SocketConn *c)
{
  SocketTransport *t = c->t;

  if (!g_hash_table_contains (t->pool, c->peer))
    {
      g_hash_table_insert (t->pool, c->peer, c);
      c->pooled = TRUE;
    }
}

static void
conn_report_done (SocketTransport *t, SocketConn *c, SendItem *item, GError *error)
{
  if (item->done == NULL)
    g_clear_error (&error);
  else if (c->is_channel)
    socket_transport_emit_channel_done (t, c, item->done, item->user_data, error);
  else
    socket_transport_emit_done (t, item->done, item->user_data, error);
}

/*
 * Closes @c: sources, timers and socket go; queued sends fail with @reason
 * (taken; a generic one when NULL).  A channel's owner is then told it ended,
 * with @reason (NULL: the peer closed it cleanly).  Nothing is reported once
 * the transport is being destroyed.
 */
static void
conn_close (SocketConn *c, GError *reason)
{
  SocketTransport *t = c->t;
  SendItem *item;

  if (c->state == CONN_CLOSED)
    {
      g_clear_error (&reason);
      return;
    }
  c->state = CONN_CLOSED;
  gossip_clock_clear_timer (t->clock, &c->connect_timer);
  gossip_clock_clear_timer (t->clock, &c->read_timer);
  gossip_clock_clear_timer (t->clock, &c->write_timer);
  gossip_clock_clear_timer (t->clock, &c->idle_timer);
  gossip_clock_clear_timer (t->clock, &c->linger_timer);
  if (c->cancellable != NULL)
    {
      g_cancellable_cancel (c->cancellable);
      g_clear_object (&c->cancellable);
    }
  conn_detach (c);
  if (c->pooled)
    g_hash_table_remove (t->pool, c->peer);
  c->pooled = FALSE;
  g_queue_unlink (&t->conns, &c->link);

  while ((item = g_queue_pop_head (&c->queue)) != NULL)
    {
      if (item->done != NULL)
        conn_report_done (t, c, item,
                          reason != NULL
                              ? g_error_copy (reason)
                              : g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                                             "connection to %s closed", c->peer));
      send_item_free (item);
    }
  c->queued_bytes = 0;
  if (c->is_channel)
    socket_channel_ended (t, c, reason);
  g_clear_error (&reason);
  c->body = NULL;
  g_clear_pointer (&c->body_bytes, g_bytes_unref);
  g_list_free_full (g_steal_pointer (&c->candidates), g_object_unref);
  g_clear_error (&c->connect_error);
  c->t = NULL;
  socket_conn_unref (c);
}

void
socket_conn_close_all (SocketTransport *t)
{
  while (t->conns.head != NULL)
    {
      SocketConn *c = t->conns.head->data;

      /* A channel's peer must not take the end for a clean close. */
      if (c->is_channel)
        socket_conn_abort (c);
      else
        conn_close (c, NULL);
    }
}

static void
conn_opened (SocketConn *c)
{
  SocketTransport *t = c->t;

  c->state = CONN_OPEN;
  gossip_clock_clear_timer (t->clock, &c->connect_timer);
  g_list_free_full (g_steal_pointer (&c->candidates), g_object_unref);
  g_clear_error (&c->connect_error);
  c->last_active = now (t);
  if (!c->is_channel)
    c->idle_timer
        = gossip_clock_add_timer (t->clock, t->idle_timeout_us, idle_timer_fired, c, NULL);
  conn_update_condition (c);
  conn_restart_write_timer (c);
}

static void
socket_tune (GSocket *socket)
{
  g_socket_set_blocking (socket, FALSE);
  /* Frames are whole messages: send them now, not after Nagle's delay. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

/* ------------------------------------------------------------------------ */
/* Reading */

static void
conn_frame_complete (SocketConn *c, GBytes *frame)
{
  SocketTransport *t = c->t;

  c->last_active = now (t);
  if (c->is_channel)
    socket_channel_frame (c, frame);
  else
    socket_transport_emit_received (t, GOSSIP_TRANSPORT_PATH_RELIABLE, c->peer, frame);
  g_bytes_unref (frame);
}

static void
conn_body_complete (SocketConn *c)
{
  GBytes *frame = g_steal_pointer (&c->body_bytes);

  c->body = NULL;
  c->in_body = FALSE;
  c->body_len = c->body_got = 0;
  conn_frame_complete (c, frame);
}

static void
conn_protocol_error (SocketConn *c, const char *what)
{
  socket_transport_emit_dropped (c->t, c->peer,
                                 g_error_new (GOSSIP_TRANSPORT_ERROR,
                                              GOSSIP_TRANSPORT_ERROR_PROTOCOL, "%s sent %s",
                                              c->peer, what));
  conn_close (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                              "connection to %s closed: the peer sent %s", c->peer, what));
}

/* An accepted connection turned out to be a channel: it leaves the idle
 * rules of pooled connections, answers the preamble and is offered to the
 * owner.  Returns FALSE when it was refused and closed at once. */
static gboolean
conn_become_channel (SocketConn *c)
{
  SocketTransport *t = c->t;

  if (t->callbacks->channel_accepted == NULL)
    {
      socket_conn_abort (c);
      return FALSE;
    }
  c->is_channel = TRUE;
  gossip_clock_clear_timer (t->clock, &c->idle_timer);
  socket_channel_init (t, c);
  conn_enqueue_preamble (c);
  socket_transport_emit_channel_accepted (t, c);
  return TRUE;
}

/* The length prefix in c->header is complete: act on it.  Returns FALSE
 * when the connection was closed. */
static gboolean
conn_header_complete (SocketConn *c)
{
  SocketTransport *t = c->t;
  guint32 frame_len = ((guint32) c->header[0] << 24) | ((guint32) c->header[1] << 16)
                      | ((guint32) c->header[2] << 8) | (guint32) c->header[3];

  c->header_got = 0;
  if (c->preamble != PREAMBLE_NONE)
    {
      if (frame_len == SOCKET_CHANNEL_PREFIX)
        {
          c->preamble = PREAMBLE_MAGIC;
          c->magic_got = 0;
          return TRUE;
        }
      if (c->preamble == PREAMBLE_REQUIRED)
        {
          conn_protocol_error (c, "an answer to a channel without the preamble");
          return FALSE;
        }
      c->preamble = PREAMBLE_NONE;
      conn_pool (c);
    }
  if (frame_len > t->max_frame_size)
    {
      socket_transport_emit_dropped (t, c->peer,
                                     g_error_new (GOSSIP_TRANSPORT_ERROR,
                                                  GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                                                  "%s announced a %" G_GUINT32_FORMAT
                                                  "-byte frame; the limit is %" G_GSIZE_FORMAT,
                                                  c->peer, frame_len, t->max_frame_size));
      conn_close (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                  "connection to %s closed: the peer sent an oversized frame",
                                  c->peer));
      return FALSE;
    }
  if (frame_len == 0)
    {
      conn_frame_complete (c, g_bytes_new (NULL, 0));
      return TRUE;
    }
  /* Large frames come from recycled buffers: fresh ones would cost a page
   * fault per 4 KiB as the body arrives. */
  c->body_bytes = gossip_bytes_new_pooled (frame_len, &c->body);
  c->body_len = frame_len;
  c->body_got = 0;
  c->in_body = TRUE;
  return TRUE;
}

static void
conn_header_started (SocketConn *c)
{
  c->frames_started++;
  c->frame_started_at = now (c->t);
}

/* Feeds bytes from the scratch buffer into the frame parser.  Returns FALSE
 * when the connection was closed. */
static gboolean
conn_consume (SocketConn *c, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      gsize n;

      if (c->preamble == PREAMBLE_MAGIC)
        {
          n = MIN (sizeof c->magic - c->magic_got, len);
          memcpy (c->magic + c->magic_got, data, n);
          c->magic_got += n;
          data += n;
          len -= n;
          if (memcmp (c->magic, SOCKET_CHANNEL_MAGIC, c->magic_got) != 0)
            {
              conn_protocol_error (c, "a channel preamble with a wrong magic");
              return FALSE;
            }
          if (c->magic_got == sizeof c->magic)
            {
              c->preamble = PREAMBLE_NONE;
              if (!c->is_channel && !conn_become_channel (c))
                return FALSE;
            }
        }
      else if (!c->in_body)
        {
          if (c->header_got == 0)
            conn_header_started (c);
          n = MIN (sizeof c->header - c->header_got, len);
          memcpy (c->header + c->header_got, data, n);
          c->header_got += n;
          data += n;
          len -= n;
          if (c->header_got == sizeof c->header && !conn_header_complete (c))
            return FALSE;
        }
      else
        {
          n = MIN (c->body_len - c->body_got, len);
          memcpy (c->body + c->body_got, data, n);
          c->body_got += n;
          data += n;
          len -= n;
          if (c->body_got == c->body_len)
            conn_body_complete (c);
        }
    }
  return TRUE;
}

/* Returns FALSE when the connection was closed. */
static gboolean
conn_read (SocketConn *c)
{
  SocketTransport *t = c->t;
  gsize budget = READ_BUDGET;

  for (guint i = 0; i < READS_PER_DISPATCH && budget > 0; i++)
    {
      g_autoptr (GError) error = NULL;
      /* A large body is read in place, with the next length prefix behind
       * it: one recv() per frame and no copy.  Everything else goes through
       * the scratch buffer. */
      gboolean direct = c->in_body && c->body_len - c->body_got >= DIRECT_READ_MIN;
      GInputVector vectors[2];
      guint n_vectors = 1;
      gsize want;
      gssize n;

      if (direct)
        {
          vectors[0].buffer = c->body + c->body_got;
          vectors[0].size = c->body_len - c->body_got;
          vectors[1].buffer = c->header;
          vectors[1].size = sizeof c->header;
          n_vectors = 2;
        }
      else
        {
          vectors[0].buffer = t->read_buffer;
          vectors[0].size = SOCKET_READ_CHUNK;
        }
      want = vectors[0].size + (n_vectors > 1 ? vectors[1].size : 0);
      n = g_socket_receive_message (c->socket, NULL, vectors, n_vectors, NULL, NULL, NULL, NULL,
                                    &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (n <= 0)
        {
          if (frame_in_progress (c))
            socket_transport_emit_dropped (
                t, c->peer,
                g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                             "%s closed the connection in the middle of a frame", c->peer));
          /* A channel's peer closing at a frame boundary is its clean end. */
          if (n == 0 && c->is_channel && c->preamble == PREAMBLE_NONE && !frame_in_progress (c))
            conn_close (c, NULL);
          else
            conn_close (c,
                        g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                     "connection to %s closed: %s", c->peer,
                                     n != 0                             ? error->message
                                     : c->preamble == PREAMBLE_REQUIRED ? "the channel was refused"
                                                                        : "closed by the peer"));
          return FALSE;
        }
      budget -= MIN (budget, (gsize) n);
      if (direct)
        {
          gsize body_n = MIN ((gsize) n, vectors[0].size);
          gsize header_n = (gsize) n - body_n;

          c->body_got += body_n;
          if (c->body_got == c->body_len)
            conn_body_complete (c);
          if (header_n > 0)
            {
              conn_header_started (c);
              c->header_got = header_n;
              if (header_n == sizeof c->header && !conn_header_complete (c))
                return FALSE;
            }
        }
      else if (!conn_consume (c, t->read_buffer, (gsize) n))
        return FALSE;
      if ((gsize) n < want)
        break;
    }
  conn_update_read_timer (c);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Writing */

/* Returns FALSE when the connection was closed. */
static gboolean
conn_flush (SocketConn *c)
{
  SocketTransport *t = c->t;
  gboolean progress = FALSE;

  for (guint round = 0; round < WRITES_PER_DISPATCH && c->queue.length > 0; round++)
    {
      g_autoptr (GError) error = NULL;
      GOutputVector vectors[WRITE_VECTORS];
      gint n_vectors = 0;
      gsize total = 0;
      gssize written;

      for (GList *l = c->queue.head; l != NULL && n_vectors + 2 <= WRITE_VECTORS; l = l->next)
        {
          SendItem *item = l->data;

          if (item->offset < sizeof item->header)
            {
              vectors[n_vectors].buffer = item->header + item->offset;
              vectors[n_vectors].size = sizeof item->header - item->offset;
              total += vectors[n_vectors++].size;
            }
          if (item->len > 0)
            {
              gsize body_done
                  = item->offset > sizeof item->header ? item->offset - sizeof item->header : 0;

              vectors[n_vectors].buffer = item->data + body_done;
              vectors[n_vectors].size = item->len - body_done;
              total += vectors[n_vectors++].size;
            }
        }
      written = g_socket_send_message (c->socket, NULL, vectors, n_vectors, NULL, 0,
                                       G_SOCKET_MSG_NONE, NULL, &error);
      if (written < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;
          conn_close (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                      "cannot write to %s: %s", c->peer, error->message));
          return FALSE;
        }
      for (gsize left = (gsize) written; left > 0;)
        {
          SendItem *item = g_queue_peek_head (&c->queue);
          gsize take = MIN (left, sizeof item->header + item->len - item->offset);

          item->offset += take;
          left -= take;
          if (item->offset == sizeof item->header + item->len)
            {
              g_queue_pop_head (&c->queue);
              c->queued_bytes -= item->len;
              progress = TRUE;
              conn_report_done (t, c, item, NULL);
              send_item_free (item);
            }
        }
      if ((gsize) written < total)
        break;
    }
  if (progress)
    {
      c->last_active = now (t);
      conn_restart_write_timer (c);
    }
  conn_update_condition (c);
  if (c->closing && c->queue.length == 0)
    return conn_shut_write (c);
  return TRUE;
}

/* A channel closed gracefully has sent everything: send FIN, then read (and
 * drop) until the peer's own EOF, for at most io_timeout_us, so that nothing
 * unread makes our close a reset that could destroy the tail of the data.
 * Returns FALSE when the connection was closed. */
static gboolean
conn_shut_write (SocketConn *c)
{
  SocketTransport *t = c->t;
  g_autoptr (GError) error = NULL;

  if (c->shut || c->state != CONN_OPEN)
    return TRUE;
  c->shut = TRUE;
  if (!g_socket_shutdown (c->socket, FALSE, TRUE, &error))
    {
      conn_close (c, NULL);
      return FALSE;
    }
  c->linger_timer
      = gossip_clock_add_timer (t->clock, t->io_timeout_us, linger_timer_fired, c, NULL);
  return TRUE;
}

static SendItem *
send_item_new (GBytes *frame, GossipTransportSendFunc done, gpointer user_data)
{
  SendItem *item = g_new0 (SendItem, 1);
  gsize len;

  item->frame = g_bytes_ref (frame);
  item->data = g_bytes_get_data (frame, &len);
  item->len = len;
  item->header[0] = (guint8) (len >> 24);
  item->header[1] = (guint8) (len >> 16);
  item->header[2] = (guint8) (len >> 8);
  item->header[3] = (guint8) len;
  item->done = done;
  item->user_data = user_data;
  return item;
}

static void
conn_push (SocketConn *c, SendItem *item)
{
  g_queue_push_tail (&c->queue, item);
  c->queued_bytes += item->len;
  if (c->state == CONN_OPEN && c->queue.length == 1)
    {
      conn_update_condition (c);
      conn_restart_write_timer (c);
    }
}

/* Queues @frame on @c, whatever its state and queue length: the caller
 * checked the frame's size. */
void
socket_conn_enqueue (SocketConn *c, GBytes *frame, GossipTransportSendFunc done, gpointer user_data)
{
  conn_push (c, send_item_new (frame, done, user_data));
}

/* The channel preamble, as an item whose header is the reserved prefix. */
static void
conn_enqueue_preamble (SocketConn *c)
{
  g_autoptr (GBytes) magic = g_bytes_new_static (SOCKET_CHANNEL_MAGIC, SOCKET_CHANNEL_MAGIC_LEN);
  SendItem *item = send_item_new (magic, NULL, NULL);

  for (guint i = 0; i < sizeof item->header; i++)
    item->header[i] = (guint8) (SOCKET_CHANNEL_PREFIX >> (24 - 8 * i));
  conn_push (c, item);
}

/* Graceful end of a channel: what is queued goes out, then FIN. */
void
socket_conn_shutdown (SocketConn *c)
{
  c->closing = TRUE;
  if (c->state == CONN_OPEN && c->queue.length == 0)
    conn_shut_write (c);
}

/* Abrupt end: the queue is dropped and the peer gets a reset. */
void
socket_conn_abort (SocketConn *c)
{
  if (c->state == CONN_CLOSED)
    return;
  if (c->state == CONN_OPEN)
    {
      struct linger linger = { 1, 0 };

      if (setsockopt (g_socket_get_fd (c->socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger)
          != 0)
        g_debug ("SO_LINGER on %s: %s", c->peer, g_strerror (errno));
    }
  conn_close (c, NULL);
}

/* ------------------------------------------------------------------------ */
/* Connecting */

static void
conn_connected_or_failed (SocketConn *c)
{
  g_autoptr (GError) error = NULL;

  if (g_socket_check_connect_result (c->socket, &error))
    {
      conn_opened (c);
      return;
    }
  conn_detach (c);
  g_clear_error (&c->connect_error);
  c->connect_error = g_steal_pointer (&error);
  conn_try_next_candidate (c);
}

static void
conn_handle_io (SocketConn *c, GIOCondition revents)
{
  socket_conn_ref (c);
  if (c->state == CONN_CONNECTING)
    conn_connected_or_failed (c);
  else if (c->state == CONN_OPEN)
    {
      gboolean open = TRUE;

      if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        open = conn_read (c);
      if (open && c->queue.length > 0 && (revents & (G_IO_OUT | G_IO_ERR)))
        conn_flush (c);
    }
  socket_conn_unref (c);
}

static void
conn_try_next_candidate (SocketConn *c)
{
  while (c->candidates != NULL)
    {
      g_autoptr (GInetSocketAddress) address = c->candidates->data;
      g_autoptr (GError) error = NULL;
      GSocket *socket;

      c->candidates = g_list_delete_link (c->candidates, c->candidates);
      socket = g_socket_new (g_socket_address_get_family (G_SOCKET_ADDRESS (address)),
                             G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
      if (socket != NULL)
        {
          socket_tune (socket);
          if (g_socket_connect (socket, G_SOCKET_ADDRESS (address), NULL, &error))
            {
              conn_attach (c, socket, G_IO_IN);
              conn_opened (c);
              return;
            }
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
            {
              c->state = CONN_CONNECTING;
              conn_attach (c, socket, G_IO_OUT);
              return;
            }
          g_object_unref (socket);
        }
      g_clear_error (&c->connect_error);
      c->connect_error = g_steal_pointer (&error);
    }
  conn_close (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                              "cannot connect to %s: %s", c->peer,
                              c->connect_error != NULL ? c->connect_error->message : "no address"));
}

static void
conn_resolved (GObject *resolver, GAsyncResult *result, gpointer data)
{
  SocketConn *c = data;
  g_autoptr (GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (resolver), result, &error);

  if (c->state == CONN_CLOSED)
    ; /* cancelled, or timed out meanwhile */
  else if (addresses == NULL)
    conn_close (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                "cannot resolve %s: %s", c->peer, error->message));
  else
    {
      guint16 port = 0;
      const char *colon = strrchr (c->peer, ':');

      port = (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
      g_clear_object (&c->cancellable);
      for (GList *l = addresses; l != NULL; l = l->next)
        c->candidates = g_list_prepend (c->candidates, g_inet_socket_address_new (l->data, port));
      c->candidates = g_list_reverse (c->candidates);
      conn_try_next_candidate (c);
    }
  g_resolver_free_addresses (addresses);
  socket_conn_unref (c);
}

/* The least recently used connection with nothing in flight, if any. */
static SocketConn *
find_evictable (SocketTransport *t)
{
  SocketConn *best = NULL;

  for (GList *l = t->conns.head; l != NULL; l = l->next)
    {
      SocketConn *c = l->data;

      if (!c->is_channel && !conn_is_busy (c)
          && (best == NULL || c->last_active < best->last_active))
        best = c;
    }
  return best;
}

/* Room for one more connection, closing an idle one if need be. */
static gboolean
conn_make_room (SocketTransport *t, const SocketTarget *target, GError **error)
{
  SocketConn *victim;

  if (t->conns.length < t->max_connections)
    return TRUE;
  victim = find_evictable (t);
  if (victim == NULL)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                   "cannot connect to %s: %u connections are open, none idle", target->key,
                   t->conns.length);
      return FALSE;
    }
  g_debug ("closing idle connection %s to make room for %s", victim->peer, target->key);
  conn_close (victim, NULL);
  return TRUE;
}

/* A new outbound connection, not started. */
static SocketConn *
conn_new_outbound (SocketTransport *t, const SocketTarget *target, gboolean pool)
{
  SocketConn *c = conn_new (t, target->key, pool);

  c->state = CONN_RESOLVING;
  if (target->inet != NULL)
    c->candidates = g_list_prepend (NULL, g_object_ref (target->inet));
  return c;
}

static void
conn_start (SocketConn *c, const SocketTarget *target)
{
  SocketTransport *t = c->t;

  c->connect_timer
      = gossip_clock_add_timer (t->clock, t->connect_timeout_us, connect_timer_fired, c, NULL);
  if (target->inet != NULL)
    {
      conn_try_next_candidate (c);
      return;
    }
  {
    g_autoptr (GResolver) resolver = g_resolver_get_default ();

    GError *error = NULL;

    c->cancellable = g_cancellable_new ();
    /* The result comes back on the thread-default context of this call. */
    if (!gossip_transport_push_context (t->context, &error))
      {
        conn_close (c, error);
        return;
      }
    g_resolver_lookup_by_name_async (resolver, target->host, c->cancellable, conn_resolved,
                                     socket_conn_ref (c));
    gossip_transport_pop_context (t->context);
  }
}

void
socket_conn_send (SocketTransport *t, const char *address, GBytes *frame,
                  GossipTransportSendFunc done, gpointer user_data)
{
  g_auto (SocketTarget) target = { 0 };
  GError *error = NULL;
  gsize len = g_bytes_get_size (frame);
  SocketConn *c;
  gboolean is_new = FALSE;

  if (len > t->max_frame_size || len > G_MAXUINT32)
    {
      socket_transport_emit_done (
          t, done, user_data,
          g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                       "a %" G_GSIZE_FORMAT "-byte frame is above the limit of %" G_GSIZE_FORMAT,
                       len, t->max_frame_size));
      return;
    }
  if (!socket_target_parse (address, FALSE, TRUE, &target, &error))
    {
      socket_transport_emit_done (t, done, user_data, error);
      return;
    }
  c = g_hash_table_lookup (t->pool, target.key);
  if (c == NULL)
    {
      if (!conn_make_room (t, &target, &error))
        {
          socket_transport_emit_done (t, done, user_data, error);
          return;
        }
      c = conn_new_outbound (t, &target, TRUE);
      is_new = TRUE;
    }
  else if (c->queue.length >= SOCKET_SEND_QUEUE_MAX_FRAMES
           || (c->queue.length > 0 && c->queued_bytes + len > 2 * t->max_frame_size))
    {
      socket_transport_emit_done (
          t, done, user_data,
          g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                       "the queue to %s is full (%u frames, %" G_GSIZE_FORMAT " bytes)", c->peer,
                       c->queue.length, c->queued_bytes));
      return;
    }

  socket_conn_enqueue (c, frame, done, user_data);
  if (is_new)
    conn_start (c, &target); /* may close @c already; its send then fails, later */
}

/* A channel to @target: connecting in the background, the preamble queued.
 * Without room for it, the channel is returned already ended with LIMIT. */
SocketConn *
socket_conn_open_channel (SocketTransport *t, const SocketTarget *target,
                          const GossipTransportChannelCallbacks *callbacks, gpointer user_data)
{
  GError *error = NULL;
  gboolean room = conn_make_room (t, target, &error);
  SocketConn *c = conn_new_outbound (t, target, FALSE);

  c->is_channel = TRUE;
  c->preamble = PREAMBLE_REQUIRED;
  c->callbacks = *callbacks;
  c->user_data = user_data;
  c->attached = TRUE;
  socket_channel_init (t, c);
  conn_enqueue_preamble (c);
  if (!room)
    conn_close (c, error);
  else
    conn_start (c, target);
  return c;
}

/* ------------------------------------------------------------------------ */
/* Accepting */

void
socket_conn_accept (GSocket *socket, gpointer data)
{
  SocketTransport *t = data;
  g_autoptr (GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autofree char *peer = socket_format_address (remote);
  SocketConn *c;

  if (peer == NULL)
    {
      g_socket_close (socket, NULL);
      g_object_unref (socket);
      return;
    }
  if (t->conns.length >= t->max_connections)
    {
      g_socket_close (socket, NULL);
      g_object_unref (socket);
      socket_transport_emit_dropped (t, peer,
                                     g_error_new (GOSSIP_TRANSPORT_ERROR,
                                                  GOSSIP_TRANSPORT_ERROR_LIMIT,
                                                  "refused a connection from %s: %u connections "
                                                  "are open",
                                                  peer, t->max_connections));
      return;
    }
  socket_tune (socket);
  /* Pooled once its first length prefix shows it is no channel. */
  c = conn_new (t, peer, FALSE);
  c->preamble = PREAMBLE_MAYBE;
  conn_attach (c, socket, G_IO_IN);
  conn_opened (c);
}
