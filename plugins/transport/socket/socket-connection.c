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
 */
#include "config.h"

#include <string.h>
#include <gio/gnetworking.h>

#include "socket-private.h"

/* recv() calls per connection per main-loop dispatch, for fairness. */
#define READS_PER_DISPATCH 4
/* sendmsg() calls per connection per dispatch. */
#define WRITES_PER_DISPATCH 4
/* I/O vectors per sendmsg(), two per frame. */
#define WRITE_VECTORS 32
/* Bodies at least this large are read straight into their buffer. */
#define DIRECT_READ_MIN 4096
/* Connections accepted per dispatch of the listener. */
#define ACCEPTS_PER_DISPATCH 16

typedef enum
{
  CONN_RESOLVING,
  CONN_CONNECTING,
  CONN_OPEN,
  CONN_CLOSED,
} ConnState;

typedef struct
{
  GBytes *frame;
  const guint8 *data;
  gsize len;
  guint8 header[4];
  gsize offset; /* bytes of header + data written */
  GossipTransportSendFunc done;
  gpointer user_data;
} SendItem;

typedef struct
{
  GSource source;
  SocketConn *conn; /* not owned: the connection destroys its source */
  gpointer tag;
} ConnSource;

struct _SocketConn
{
  int ref_count;
  SocketTransport *t; /* NULL once closed */
  GList link;         /* in t->conns */
  ConnState state;
  char *peer; /* pool key and `from` of its frames */
  gboolean pooled;

  GSocket *socket;
  GSource *source;
  GIOCondition condition;

  /* Connecting: addresses still to try, and the resolver's cancellable. */
  GList *candidates; /* GInetSocketAddress */
  GCancellable *cancellable;
  GError *connect_error; /* why the last candidate failed */
  guint connect_timer;

  /* Reading. */
  guint8 header[4];
  gsize header_got;
  guint8 *body; /* allocated once the length is known to be acceptable */
  gsize body_len;
  gsize body_got;
  gboolean in_body;
  guint64 frames_started;
  gint64 frame_started_at;
  guint read_timer;
  guint64 read_timer_frame;

  /* Writing. */
  GQueue queue; /* SendItem */
  gsize queued_bytes;
  guint write_timer;

  gint64 last_active;
  guint idle_timer;
};

static void conn_close (SocketConn *c, GError *reason);
static void conn_try_next_candidate (SocketConn *c);

static SocketConn *
conn_ref (SocketConn *c)
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

static void
conn_unref (SocketConn *c)
{
  if (--c->ref_count > 0)
    return;
  g_assert (c->state == CONN_CLOSED);
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
  return c->header_got > 0 || c->in_body;
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
conn_new (SocketTransport *t, const char *peer)
{
  SocketConn *c = g_new0 (SocketConn, 1);

  c->ref_count = 1; /* t->conns' */
  c->t = t;
  c->peer = g_strdup (peer);
  c->link.data = c;
  g_queue_push_tail_link (&t->conns, &c->link);
  g_queue_init (&c->queue);
  c->last_active = now (t);
  if (!g_hash_table_contains (t->pool, c->peer))
    {
      g_hash_table_insert (t->pool, c->peer, c);
      c->pooled = TRUE;
    }
  return c;
}

/*
 * Closes @c: sources, timers and socket go; queued sends fail with @reason
 * (taken; a generic one when NULL).  Nothing is reported once the transport
 * is being destroyed.
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
        socket_transport_emit_done (
            t, item->done, item->user_data,
            reason != NULL ? g_error_copy (reason)
                           : g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                                          "connection to %s closed", c->peer));
      send_item_free (item);
    }
  c->queued_bytes = 0;
  g_clear_error (&reason);
  g_clear_pointer (&c->body, g_free);
  g_list_free_full (g_steal_pointer (&c->candidates), g_object_unref);
  g_clear_error (&c->connect_error);
  c->t = NULL;
  conn_unref (c);
}

void
socket_conn_close_all (SocketTransport *t)
{
  while (t->conns.head != NULL)
    conn_close (t->conns.head->data, NULL);
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
  c->idle_timer = gossip_clock_add_timer (t->clock, t->idle_timeout_us, idle_timer_fired, c, NULL);
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
  socket_transport_emit_received (t, GOSSIP_TRANSPORT_PATH_RELIABLE, c->peer, frame);
  g_bytes_unref (frame);
}

static void
conn_body_complete (SocketConn *c)
{
  GBytes *frame = g_bytes_new_take (g_steal_pointer (&c->body), c->body_len);

  c->in_body = FALSE;
  c->body_len = c->body_got = 0;
  conn_frame_complete (c, frame);
}

/* Feeds bytes from the scratch buffer into the frame parser.  Returns FALSE
 * when the connection was closed. */
static gboolean
conn_consume (SocketConn *c, const guint8 *data, gsize len)
{
  SocketTransport *t = c->t;

  while (len > 0)
    {
      gsize n;

      if (!c->in_body)
        {
          guint32 frame_len;

          if (c->header_got == 0)
            {
              c->frames_started++;
              c->frame_started_at = now (t);
            }
          n = MIN (sizeof c->header - c->header_got, len);
          memcpy (c->header + c->header_got, data, n);
          c->header_got += n;
          data += n;
          len -= n;
          if (c->header_got < sizeof c->header)
            break;
          c->header_got = 0;
          frame_len = ((guint32) c->header[0] << 24) | ((guint32) c->header[1] << 16)
                      | ((guint32) c->header[2] << 8) | (guint32) c->header[3];
          if (frame_len > t->max_frame_size)
            {
              socket_transport_emit_dropped (
                  t, c->peer,
                  g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                               "%s announced a %" G_GUINT32_FORMAT
                               "-byte frame; the limit is %" G_GSIZE_FORMAT,
                               c->peer, frame_len, t->max_frame_size));
              conn_close (c,
                          g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                       "connection to %s closed: the peer sent an oversized frame",
                                       c->peer));
              return FALSE;
            }
          if (frame_len == 0)
            {
              conn_frame_complete (c, g_bytes_new (NULL, 0));
              continue;
            }
          c->body = g_malloc (frame_len);
          c->body_len = frame_len;
          c->body_got = 0;
          c->in_body = TRUE;
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

  for (guint i = 0; i < READS_PER_DISPATCH; i++)
    {
      g_autoptr (GError) error = NULL;
      gboolean direct = c->in_body && c->body_len - c->body_got >= DIRECT_READ_MIN;
      gsize want = direct ? c->body_len - c->body_got : SOCKET_READ_CHUNK;
      gssize n = g_socket_receive (
          c->socket, direct ? (char *) c->body + c->body_got : (char *) t->read_buffer, want, NULL,
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
          conn_close (c, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                      "connection to %s closed: %s", c->peer,
                                      n == 0 ? "closed by the peer" : error->message));
          return FALSE;
        }
      if (direct)
        {
          c->body_got += (gsize) n;
          if (c->body_got == c->body_len)
            conn_body_complete (c);
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
              if (item->done != NULL)
                socket_transport_emit_done (t, item->done, item->user_data, NULL);
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
  return TRUE;
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
  conn_ref (c);
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
  conn_unref (c);
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
  conn_unref (c);
}

/* The least recently used connection with nothing in flight, if any. */
static SocketConn *
find_evictable (SocketTransport *t)
{
  SocketConn *best = NULL;

  for (GList *l = t->conns.head; l != NULL; l = l->next)
    {
      SocketConn *c = l->data;

      if (!conn_is_busy (c) && (best == NULL || c->last_active < best->last_active))
        best = c;
    }
  return best;
}

/* A new outbound connection, registered in the pool but not started. */
static SocketConn *
conn_new_outbound (SocketTransport *t, SocketTarget *target, GError **error)
{
  SocketConn *c;

  if (t->conns.length >= t->max_connections)
    {
      SocketConn *victim = find_evictable (t);

      if (victim == NULL)
        {
          g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                       "cannot connect to %s: %u connections are open, none idle", target->key,
                       t->conns.length);
          return NULL;
        }
      g_debug ("closing idle connection %s to make room for %s", victim->peer, target->key);
      conn_close (victim, NULL);
    }
  c = conn_new (t, target->key);
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

    c->cancellable = g_cancellable_new ();
    /* The result comes back on the thread-default context of this call. */
    g_main_context_push_thread_default (t->context);
    g_resolver_lookup_by_name_async (resolver, target->host, c->cancellable, conn_resolved,
                                     conn_ref (c));
    g_main_context_pop_thread_default (t->context);
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
  SendItem *item;

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
      c = conn_new_outbound (t, &target, &error);
      if (c == NULL)
        {
          socket_transport_emit_done (t, done, user_data, error);
          return;
        }
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

  item = g_new0 (SendItem, 1);
  item->frame = g_bytes_ref (frame);
  item->data = g_bytes_get_data (frame, NULL);
  item->len = len;
  item->header[0] = (guint8) (len >> 24);
  item->header[1] = (guint8) (len >> 16);
  item->header[2] = (guint8) (len >> 8);
  item->header[3] = (guint8) len;
  item->done = done;
  item->user_data = user_data;
  g_queue_push_tail (&c->queue, item);
  c->queued_bytes += len;

  if (is_new)
    conn_start (c, &target); /* may close @c already; its send then fails, later */
  else if (c->state == CONN_OPEN && c->queue.length == 1)
    {
      conn_update_condition (c);
      conn_restart_write_timer (c);
    }
}

/* ------------------------------------------------------------------------ */
/* Accepting */

void
socket_conn_accept_all (SocketTransport *t)
{
  for (guint i = 0; i < ACCEPTS_PER_DISPATCH; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocketAddress) remote = NULL;
      g_autofree char *peer = NULL;
      GSocket *socket = g_socket_accept (t->listener, NULL, &error);
      SocketConn *c;

      if (socket == NULL)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("accept failed: %s", error->message);
          return;
        }
      remote = g_socket_get_remote_address (socket, NULL);
      peer = socket_format_address (remote);
      if (peer == NULL)
        {
          g_socket_close (socket, NULL);
          g_object_unref (socket);
          continue;
        }
      if (t->conns.length >= t->max_connections)
        {
          g_socket_close (socket, NULL);
          g_object_unref (socket);
          socket_transport_emit_dropped (
              t, peer,
              g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                           "refused a connection from %s: %u connections are open", peer,
                           t->max_connections));
          continue;
        }
      socket_tune (socket);
      c = conn_new (t, peer);
      conn_attach (c, socket, G_IO_IN);
      conn_opened (c);
    }
}
