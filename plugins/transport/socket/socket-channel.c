/* socket-channel.c: channels, one TCP connection each.
 *
 * A channel is a SocketConn (socket-connection.c) that is never pooled and
 * never closed for being idle; it carries the same length-prefixed frames.
 * Its first bytes, in each direction, are the preamble:
 *
 *   FF FF FF FF  'G' 'O' 'S' 'S' 'I' 'P' 'C' 'H'
 *
 * a length prefix no frame can have (max_frame_size is capped below it)
 * followed by an 8-byte magic.  The opener sends it at once; an accepted
 * connection whose first length prefix is FF FF FF FF is a channel (anything
 * else makes it a pooled connection), and the acceptor answers with the same
 * 12 bytes.  A wrong magic is a protocol error.  The answer lets the opener
 * tell a refused channel (closed before it came) from one closed cleanly.
 *
 * Ending: a clean close flushes the queue and shuts the socket down for
 * writing; the peer reads EOF at a frame boundary and reports closed(NULL).
 * EOF inside a frame, a reset or a timeout is closed(error).  An abort, and a
 * channel refused by channel_accepted, close with SO_LINGER 0: the peer gets
 * a reset.  destroy() aborts every channel.
 *
 * Reports to the owner go through the transport's event queue like every
 * other report: received frames wait in the channel's inbox and one "wake"
 * event delivers them all, then closed() once every done of the channel has
 * been reported.  The owner holds one reference on the SocketConn (its
 * handle, listed in t->channels) until it closes the channel or is told it
 * ended; after that, no callback reaches it.
 */
#include "config.h"

#include "socket-private.h"

#define CONN(channel) ((SocketConn *) (channel))
#define CHANNEL(c)    ((GossipTransportChannel *) (c))

/* Makes @c a channel whose owner holds it. */
void
socket_channel_init (SocketTransport *t, SocketConn *c)
{
  c->is_channel = TRUE;
  c->owner_t = t;
  c->owner_link.data = c;
  g_queue_push_tail_link (&t->channels, &c->owner_link);
  socket_conn_ref (c);
}

/* The owner is done with @c: nothing more is reported to it. */
static void
channel_release (SocketConn *c)
{
  SocketTransport *t = c->owner_t;

  if (c->owner_gone)
    return;
  c->owner_gone = TRUE;
  c->owner_t = NULL;
  g_queue_clear_full (&c->inbox, (GDestroyNotify) g_bytes_unref);
  g_queue_unlink (&t->channels, &c->owner_link);
  socket_conn_unref (c);
}

void
socket_channel_release_all (SocketTransport *t)
{
  while (t->channels.head != NULL)
    channel_release (t->channels.head->data);
}

static void
channel_wake (SocketConn *c)
{
  if (c->wake_queued || c->owner_gone)
    return;
  c->wake_queued = TRUE;
  socket_transport_emit_channel_wake (c->owner_t, c);
}

void
socket_channel_frame (SocketConn *c, GBytes *frame)
{
  if (c->owner_gone)
    return;
  g_queue_push_tail (&c->inbox, g_bytes_ref (frame));
  channel_wake (c);
}

void
socket_channel_ended (SocketTransport *t, SocketConn *c, const GError *error)
{
  if (c->owner_gone || c->ended)
    return;
  c->ended = TRUE;
  c->end_error = error != NULL ? g_error_copy (error) : NULL;
  channel_wake (c);
}

static void
channel_done_error (SocketTransport *t, SocketConn *c, GossipTransportSendFunc done,
                    gpointer user_data, GError *error)
{
  if (done == NULL)
    g_error_free (error);
  else
    socket_transport_emit_channel_done (t, c, done, user_data, error);
}

static void
channel_close (SocketConn *c, gboolean abort)
{
  if (c->owner_gone)
    return;
  /* Nothing queued reports back any more. */
  for (GList *l = c->queue.head; l != NULL; l = l->next)
    ((SendItem *) l->data)->done = NULL;
  socket_conn_ref (c);
  channel_release (c);
  if (abort)
    socket_conn_abort (c);
  else
    socket_conn_shutdown (c);
  socket_conn_unref (c);
}

/* ------------------------------------------------------------------------ */
/* Reports, from the transport's event source */

void
socket_channel_emit_accepted (SocketTransport *t, SocketConn *c)
{
  gboolean accepted = FALSE;

  if (c->owner_gone)
    return;
  if (t->callbacks->channel_accepted != NULL)
    accepted = t->callbacks->channel_accepted (t->user_data, c->peer, CHANNEL (c));
  if (t->destroyed || c->owner_gone)
    return;
  if (accepted && !c->attached)
    {
      g_warning ("a channel from %s was accepted but not attached; closing it", c->peer);
      accepted = FALSE;
    }
  if (!accepted)
    channel_close (c, TRUE);
}

void
socket_channel_emit_wake (SocketTransport *t, SocketConn *c)
{
  GossipTransportChannelCallbacks callbacks;
  gpointer user_data;
  GBytes *frame;
  GError *error;

  c->wake_queued = FALSE;
  if (c->owner_gone || !c->attached)
    return;
  /* Attached during this dispatch: frames come on a later turn. */
  if (c->attach_turn == t->dispatch_turn)
    {
      channel_wake (c);
      return;
    }
  while (!t->destroyed && !c->owner_gone && (frame = g_queue_pop_head (&c->inbox)) != NULL)
    {
      c->callbacks.received (c->user_data, frame);
      g_bytes_unref (frame);
    }
  if (t->destroyed || c->owner_gone || !c->ended)
    return;
  /* closed() comes last: after the done reports still queued. */
  if (c->pending_dones > 0)
    {
      channel_wake (c);
      return;
    }
  callbacks = c->callbacks;
  user_data = c->user_data;
  error = g_steal_pointer (&c->end_error);
  channel_release (c); /* the event still holds @c */
  callbacks.closed (user_data, error);
  g_clear_error (&error);
}

/* ------------------------------------------------------------------------ */
/* The vtable */

GossipTransportChannel *
socket_channel_open (gpointer self, const char *address,
                     const GossipTransportChannelCallbacks *callbacks, gpointer user_data,
                     GError **error)
{
  SocketTransport *t = self;
  g_auto (SocketTarget) target = { 0 };

  g_return_val_if_fail (callbacks != NULL, NULL);
  if (!socket_target_parse (address, FALSE, TRUE, &target, error))
    return NULL;
  return CHANNEL (socket_conn_open_channel (t, &target, callbacks, user_data));
}

void
socket_channel_attach (gpointer self, GossipTransportChannel *channel,
                       const GossipTransportChannelCallbacks *callbacks, gpointer user_data)
{
  SocketTransport *t = self;
  SocketConn *c = CONN (channel);

  g_return_if_fail (callbacks != NULL && !c->owner_gone && !c->attached);
  c->callbacks = *callbacks;
  c->user_data = user_data;
  c->attached = TRUE;
  c->attach_turn = t->dispatch_turn;
  if (c->inbox.length > 0 || c->ended)
    channel_wake (c);
}

void
socket_channel_send (gpointer self, GossipTransportChannel *channel, GBytes *frame,
                     GossipTransportSendFunc done, gpointer user_data)
{
  SocketTransport *t = self;
  SocketConn *c = CONN (channel);
  gsize len = g_bytes_get_size (frame);

  g_return_if_fail (!c->owner_gone);
  if (len > t->max_frame_size)
    channel_done_error (t, c, done, user_data,
                        g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                                     "a %" G_GSIZE_FORMAT
                                     "-byte frame is above the limit of %" G_GSIZE_FORMAT,
                                     len, t->max_frame_size));
  else if (c->state == CONN_CLOSED)
    channel_done_error (t, c, done, user_data,
                        g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                                     "the channel to %s has ended", c->peer));
  else
    socket_conn_enqueue (c, frame, done, user_data);
}

void
socket_channel_close (gpointer self, GossipTransportChannel *channel, gboolean abort)
{
  channel_close (CONN (channel), abort);
}
