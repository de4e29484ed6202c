/* gossip-transport-socket.c: the "socket" transport, UDP datagrams and
 * framed TCP.
 *
 * Addresses are plain "IPv4:port" and "[IPv6]:port" (the vtable lists no
 * scheme).  The reliable path also takes "hostname:port", resolved
 * asynchronously; the datagram path and the bind address are numeric only,
 * as resolving there would block.  Addresses this transport reports (local
 * address, `from`) are always numeric, IPv4-mapped IPv6 written as IPv4.
 *
 * One node listens on one port for both paths: TCP and, unless datagrams are
 * disabled, UDP.  With port 0 the TCP port is picked first and UDP bound to
 * the same number, retried with a new TCP port when that UDP port is taken.
 *
 * Everything runs on params->context with non-blocking sockets; timers go
 * through params->clock.  No callback is made from inside a vtable call or
 * from deep inside our own code: receptions, drops and send completions are
 * queued and delivered by one source, which stops as soon as a callback
 * destroys the transport.
 *
 * Parameters left at 0 take these defaults: max_datagram_size 1400,
 * max_frame_size 4 MiB, max_connections 256, idle 60 s, I/O 10 s, connect 5 s.
 * The reliable path's framing and limits are described in socket-connection.c.
 */
#include "config.h"

#include <gmodule.h>
#include <string.h>

#include "gossip/gossip-plugin.h"
#include "socket-private.h"

#define DEFAULT_MAX_DATAGRAM_SIZE  1400
#define DEFAULT_MAX_FRAME_SIZE     (4 * 1024 * 1024)
#define DEFAULT_MAX_CONNECTIONS    256
#define DEFAULT_IDLE_TIMEOUT_US    (60 * G_USEC_PER_SEC)
#define DEFAULT_IO_TIMEOUT_US      (10 * G_USEC_PER_SEC)
#define DEFAULT_CONNECT_TIMEOUT_US (5 * G_USEC_PER_SEC)
/* The largest UDP payload there is. */
#define UDP_MAX_PAYLOAD 65507
/* Datagrams read per dispatch, for fairness. */
#define DATAGRAMS_PER_DISPATCH 64
/* Attempts at finding a port free for both TCP and UDP when given port 0. */
#define BIND_ATTEMPTS 16

/* ------------------------------------------------------------------------ */
/* Reports, delivered from the event source */

typedef enum
{
  EVENT_RECEIVED,
  EVENT_DROPPED,
  EVENT_DONE,
  EVENT_CHANNEL_ACCEPTED,
  EVENT_CHANNEL_WAKE,
} EventKind;

typedef struct
{
  EventKind kind;
  GossipTransportPath path;
  char *from;
  GBytes *frame;
  GError *error;
  GossipTransportSendFunc done;
  gpointer user_data;
  SocketConn *channel; /* owned reference; done events of a channel, channel events */
} Event;

typedef struct
{
  GSource source;
  SocketTransport *t; /* not owned: the transport destroys this source */
} EventSource;

static void
event_free (gpointer data)
{
  Event *ev = data;

  g_free (ev->from);
  g_clear_pointer (&ev->frame, g_bytes_unref);
  g_clear_error (&ev->error);
  if (ev->channel != NULL)
    {
      if (ev->kind == EVENT_DONE)
        ev->channel->pending_dones--;
      socket_conn_unref (ev->channel);
    }
  g_free (ev);
}

static SocketTransport *
transport_ref (SocketTransport *t)
{
  t->ref_count++;
  return t;
}

static void
transport_unref (SocketTransport *t)
{
  if (--t->ref_count > 0)
    return;
  g_assert (t->destroyed);
  g_assert (t->channels.length == 0);
  g_hash_table_unref (t->pool);
  g_object_unref (t->clock);
  g_main_context_unref (t->context);
  g_free (t->datagram_buffer);
  g_free (t->read_buffer);
  g_free (t->local_address);
  g_free (t);
}

static void
emit (SocketTransport *t, Event *ev)
{
  const GossipTransportCallbacks *cb = t->callbacks;

  switch (ev->kind)
    {
    case EVENT_RECEIVED:
      if (cb->received != NULL)
        cb->received (t->user_data, ev->path, ev->from, ev->frame);
      break;
    case EVENT_DROPPED:
      if (cb->dropped != NULL)
        cb->dropped (t->user_data, ev->from, ev->error);
      break;
    case EVENT_DONE:
      /* A channel's owner hears nothing once it closed the channel or was
       * told it ended. */
      if (ev->channel == NULL || !ev->channel->owner_gone)
        ev->done (ev->user_data, ev->error);
      break;
    case EVENT_CHANNEL_ACCEPTED:
      socket_channel_emit_accepted (t, ev->channel);
      break;
    case EVENT_CHANNEL_WAKE:
      socket_channel_emit_wake (t, ev->channel);
      break;
    }
}

static gboolean
event_source_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  SocketTransport *t = ((EventSource *) source)->t;
  /* Only what was queued before: reports queued by the callbacks themselves
   * (a send that fails at once, say) wait for the next dispatch. */
  guint n = t->events.length;

  g_source_set_ready_time (source, -1);
  t->dispatch_turn++;
  transport_ref (t);
  while (n-- > 0 && !t->destroyed)
    {
      Event *ev = g_queue_pop_head (&t->events);

      emit (t, ev);
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
push_event (SocketTransport *t, Event *ev)
{
  if (t->destroyed)
    {
      event_free (ev);
      return;
    }
  g_queue_push_tail (&t->events, ev);
  g_source_set_ready_time (t->event_source, 0);
}

void
socket_transport_emit_received (SocketTransport *t, GossipTransportPath path, const char *from,
                                GBytes *frame)
{
  Event *ev = g_new0 (Event, 1);

  ev->kind = EVENT_RECEIVED;
  ev->path = path;
  ev->from = g_strdup (from);
  ev->frame = g_bytes_ref (frame);
  push_event (t, ev);
}

void
socket_transport_emit_dropped (SocketTransport *t, const char *from, GError *reason)
{
  Event *ev = g_new0 (Event, 1);

  g_debug ("dropped: %s", reason->message);
  ev->kind = EVENT_DROPPED;
  ev->from = g_strdup (from);
  ev->error = reason;
  push_event (t, ev);
}

void
socket_transport_emit_done (SocketTransport *t, GossipTransportSendFunc done, gpointer user_data,
                            GError *error)
{
  Event *ev;

  if (done == NULL)
    {
      g_clear_error (&error);
      return;
    }
  ev = g_new0 (Event, 1);
  ev->kind = EVENT_DONE;
  ev->done = done;
  ev->user_data = user_data;
  ev->error = error;
  push_event (t, ev);
}

void
socket_transport_emit_channel_done (SocketTransport *t, SocketConn *c, GossipTransportSendFunc done,
                                    gpointer user_data, GError *error)
{
  Event *ev = g_new0 (Event, 1);

  ev->kind = EVENT_DONE;
  ev->done = done;
  ev->user_data = user_data;
  ev->error = error;
  ev->channel = socket_conn_ref (c);
  c->pending_dones++;
  push_event (t, ev);
}

static void
push_channel_event (SocketTransport *t, EventKind kind, SocketConn *c)
{
  Event *ev = g_new0 (Event, 1);

  ev->kind = kind;
  ev->channel = socket_conn_ref (c);
  push_event (t, ev);
}

void
socket_transport_emit_channel_accepted (SocketTransport *t, SocketConn *c)
{
  push_channel_event (t, EVENT_CHANNEL_ACCEPTED, c);
}

void
socket_transport_emit_channel_wake (SocketTransport *t, SocketConn *c)
{
  push_channel_event (t, EVENT_CHANNEL_WAKE, c);
}

/* ------------------------------------------------------------------------ */
/* Datagrams */

static gboolean
udp_readable (GSocket *socket, GIOCondition condition, gpointer data)
{
  SocketTransport *t = data;

  for (guint i = 0; i < DATAGRAMS_PER_DISPATCH; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocketAddress) source = NULL;
      g_autofree char *from = NULL;
      gssize n = g_socket_receive_from (socket, &source, (char *) t->datagram_buffer,
                                        t->datagram_buffer_size, NULL, &error);

      if (n < 0)
        {
          /* Anything else (an ICMP error reported on the socket) is about an
           * earlier send; go on reading. */
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;
          g_debug ("datagram socket: %s", error->message);
          continue;
        }
      from = socket_format_address (source);
      if (from == NULL)
        continue;
      if ((gsize) n > t->max_datagram_size)
        socket_transport_emit_dropped (
            t, from,
            g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                         "a datagram from %s is above the limit of %" G_GSIZE_FORMAT " bytes", from,
                         t->max_datagram_size));
      else
        {
          g_autoptr (GBytes) frame = g_bytes_new (t->datagram_buffer, (gsize) n);

          socket_transport_emit_received (t, GOSSIP_TRANSPORT_PATH_DATAGRAM, from, frame);
        }
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
socket_send_datagram (gpointer self, const char *address, GBytes *frame, GError **error)
{
  SocketTransport *t = self;
  g_auto (SocketTarget) target = { 0 };
  g_autoptr (GInetSocketAddress) to = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);
  gssize sent;

  if (t->udp == NULL)
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
  if (!socket_target_parse (address, FALSE, FALSE, &target, error))
    return FALSE;
  to = socket_address_for_family (target.inet, g_socket_get_family (t->udp));
  if (to == NULL)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                   "cannot reach IPv6 address %s from an IPv4 socket", target.key);
      return FALSE;
    }
  sent = g_socket_send_to (t->udp, G_SOCKET_ADDRESS (to), (const char *) data, len, NULL,
                           &local_error);
  if (sent >= 0)
    return TRUE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)
      || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                 "datagram to %s not sent: %s", target.key, local_error->message);
  else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
    g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                 "datagram to %s not sent: %s", target.key, local_error->message);
  else
    g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                 "datagram to %s not sent: %s", target.key, local_error->message);
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* Binding */

static GSocket *
bound_socket (GInetSocketAddress *address, GSocketType type, GError **error)
{
  GSocketFamily family = g_socket_address_get_family (G_SOCKET_ADDRESS (address));
  g_autoptr (GSocket) socket = NULL;

  /* Address reuse lets a restarted node listen again at once on TCP; on UDP
   * GLib would also set SO_REUSEPORT, letting two nodes share a port. */
  if (type == G_SOCKET_TYPE_STREAM)
    return gossip_transport_listen_tcp (G_SOCKET_ADDRESS (address), error);
  socket = g_socket_new (family, type, G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  if (!g_socket_bind (socket, G_SOCKET_ADDRESS (address), FALSE, error))
    return NULL;
  return g_steal_pointer (&socket);
}

static guint16
socket_port (GSocket *socket)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (socket, NULL);

  if (local == NULL || !G_IS_INET_SOCKET_ADDRESS (local))
    return 0;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}

static gboolean
transport_bind (SocketTransport *t, const char *bind_address, GError **error)
{
  g_auto (SocketTarget) target = { 0 };
  GInetAddress *ip;
  g_autoptr (GSocketAddress) local = NULL;

  if (!socket_target_parse (bind_address, TRUE, FALSE, &target, error))
    return FALSE;
  ip = g_inet_socket_address_get_address (target.inet);
  for (guint attempt = 0; attempt < BIND_ATTEMPTS; attempt++)
    {
      g_autoptr (GError) udp_error = NULL;
      g_autoptr (GSocket) listener = bound_socket (target.inet, G_SOCKET_TYPE_STREAM, error);
      g_autoptr (GSocketAddress) udp_address = NULL;
      g_autoptr (GSocket) udp = NULL;

      if (listener == NULL)
        {
          g_prefix_error (error, "cannot listen on %s: ", target.key);
          return FALSE;
        }
      if (t->datagrams)
        {
          udp_address = g_inet_socket_address_new (ip, socket_port (listener));
          udp = bound_socket (G_INET_SOCKET_ADDRESS (udp_address), G_SOCKET_TYPE_DATAGRAM,
                              &udp_error);
          if (udp == NULL)
            {
              g_socket_close (listener, NULL);
              if (target.port == 0
                  && g_error_matches (udp_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
                continue;
              g_propagate_prefixed_error (error, g_steal_pointer (&udp_error),
                                          "cannot bind UDP to %s: ", target.key);
              return FALSE;
            }
        }
      t->listener = g_steal_pointer (&listener);
      t->udp = g_steal_pointer (&udp);
      break;
    }
  if (t->listener == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                   "no port on %s was free for both TCP and UDP after %d attempts", target.key,
                   BIND_ATTEMPTS);
      return FALSE;
    }
  local = g_socket_get_local_address (t->listener, error);
  if (local == NULL)
    return FALSE;
  t->local_address = socket_format_address (local);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The vtable */

static void
socket_destroy (gpointer self)
{
  SocketTransport *t = self;

  if (t == NULL)
    return;
  t->destroyed = TRUE;
  socket_conn_close_all (t);
  socket_channel_release_all (t);
  if (t->udp_source != NULL)
    {
      g_source_destroy (t->udp_source);
      g_clear_pointer (&t->udp_source, g_source_unref);
    }
  if (t->listener_source != NULL)
    {
      g_source_destroy (t->listener_source);
      g_clear_pointer (&t->listener_source, g_source_unref);
    }
  if (t->udp != NULL)
    g_socket_close (t->udp, NULL);
  if (t->listener != NULL)
    g_socket_close (t->listener, NULL);
  g_clear_object (&t->udp);
  g_clear_object (&t->listener);
  g_queue_clear_full (&t->events, event_free);
  g_source_destroy (t->event_source);
  g_clear_pointer (&t->event_source, g_source_unref);
  transport_unref (t);
}

static gpointer
socket_create (const GossipTransportParams *params, GError **error)
{
  SocketTransport *t;

  if (params == NULL || params->struct_size < sizeof (GossipTransportParams)
      || params->callbacks == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "incomplete transport parameters");
      return NULL;
    }

  t = g_new0 (SocketTransport, 1);
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
  t->max_datagram_size = MIN (t->max_datagram_size, UDP_MAX_PAYLOAD);
  t->max_frame_size = params->max_frame_size > 0 ? params->max_frame_size : DEFAULT_MAX_FRAME_SIZE;
  t->max_frame_size = MIN (t->max_frame_size, SOCKET_MAX_FRAME_SIZE);
  t->max_connections
      = params->max_connections > 0 ? params->max_connections : DEFAULT_MAX_CONNECTIONS;
  t->idle_timeout_us
      = params->idle_timeout_us > 0 ? params->idle_timeout_us : DEFAULT_IDLE_TIMEOUT_US;
  t->io_timeout_us = params->io_timeout_us > 0 ? params->io_timeout_us : DEFAULT_IO_TIMEOUT_US;
  t->connect_timeout_us
      = params->connect_timeout_us > 0 ? params->connect_timeout_us : DEFAULT_CONNECT_TIMEOUT_US;
  g_queue_init (&t->events);
  g_queue_init (&t->conns);
  g_queue_init (&t->channels);
  t->pool = g_hash_table_new (g_str_hash, g_str_equal);
  t->event_source = g_source_new (&event_source_funcs, sizeof (EventSource));
  ((EventSource *) t->event_source)->t = t;
  g_source_set_static_name (t->event_source, "gossip socket transport events");
  g_source_attach (t->event_source, t->context);

  if (!transport_bind (t, params->bind_address, error))
    {
      socket_destroy (t);
      return NULL;
    }
  t->read_buffer = g_malloc (SOCKET_READ_CHUNK);
  t->listener_source = gossip_transport_accept_source_new (t->listener, socket_conn_accept, t);
  g_source_attach (t->listener_source, t->context);
  if (t->udp != NULL)
    {
      t->datagram_buffer_size = t->max_datagram_size + 1;
      t->datagram_buffer = g_malloc (t->datagram_buffer_size);
      t->udp_source = g_socket_create_source (t->udp, G_IO_IN, NULL);
      g_source_set_callback (t->udp_source, G_SOURCE_FUNC (udp_readable), t, NULL);
      g_source_set_static_name (t->udp_source, "gossip socket datagrams");
      g_source_attach (t->udp_source, t->context);
    }
  return t;
}

static char *
socket_get_local_address (gpointer self)
{
  SocketTransport *t = self;

  return g_strdup (t->local_address);
}

static void
socket_send_reliable (gpointer self, const char *address, GBytes *frame,
                      GossipTransportSendFunc done, gpointer user_data)
{
  socket_conn_send (self, address, frame, done, user_data);
}

static const char *const socket_schemes[] = { NULL };

static const GossipTransportVTable socket_vtable = {
  .struct_size = sizeof (GossipTransportVTable),
  .schemes = socket_schemes,
  .create = socket_create,
  .destroy = socket_destroy,
  .get_local_address = socket_get_local_address,
  .send_datagram = socket_send_datagram,
  .send_reliable = socket_send_reliable,
  .channel_open = socket_channel_open,
  .channel_attach = socket_channel_attach,
  .channel_send = socket_channel_send,
  .channel_close = socket_channel_close,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_TRANSPORT, "socket", PACKAGE_VERSION,
                      "UDP datagrams and length-prefixed TCP frames, for IPv4 and IPv6", NULL,
                      &socket_vtable);
