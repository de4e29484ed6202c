/* gossip-transport-websocket-soup.c: the "websocket-soup" transport, gossip
 * frames over WebSocket (RFC 6455) with libsoup 3.
 *
 * Addresses are URLs, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH.  Each
 * gossip frame is one binary WebSocket message.  The client's upgrade request
 * asks for the subprotocol "gossip.v1" (a pooled frame connection) or
 * "gossip-stream.v1" (a channel); the server accepts only those two, exactly
 * one of them per request, and answers with the one asked for; any other
 * request gets HTTP 400, and a path other than [websocket] path gets 404;
 * both are reported through callbacks->dropped.
 * A text message is a protocol error (dropped, closed with 1003).  A channel
 * ends gracefully with close code 1000 once its queued messages are written
 * (the peer sees closed(NULL)); an abort is close code 4000, reason "abort",
 * and anything but 1000 (or the connection dropping) is closed(error).
 *
 * Settings come from the [websocket] group of params->config:
 *  - bind_address (empty: params->bind_address) and path;
 *  - tls_cert_file and tls_key_file: both set, the node serves wss://; one
 *    without the other fails create();
 *  - tls_ca_file: the CAs peers' certificates are checked against; empty
 *    uses the system's trust (the default GTlsDatabase);
 *  - allow_insecure (default false): without it, serving plain ws:// fails
 *    create() and sending to a ws:// URL fails;
 *  - ping_interval: WebSocket pings on every connection (rounded up to whole
 *    seconds, as libsoup counts them; 0 sends none).
 * With params->http_server, a SoupServer the application runs, the endpoint
 * is mounted on it at [websocket] path (a plain handler at the same path
 * checks the request before the upgrade and is removed with it at destroy);
 * the local address is then the server's first listener with that path,
 * and TLS is whatever that server does.
 *
 * Datagrams: there is no datagram socket.  send_datagram queues the frame on
 * the pooled connection to that URL (connecting if needed) and fails at once
 * when that queue is full (WS_SEND_QUEUE_MAX_FRAMES frames or twice
 * max_frame_size bytes); everything received is reported as
 * GOSSIP_TRANSPORT_PATH_RELIABLE.  `from` is "ws://IP:PORT" (wss:// on a
 * TLS node) of the remote socket for an inbound connection, and the URL
 * dialled for an outbound one: answering to `from` uses the same connection.
 *
 * Write completion: libsoup has no "message written" signal; it writes what
 * it is given at once, as far as the socket takes it, and otherwise keeps the
 * rest and watches the socket for writability with a G_PRIORITY_DEFAULT
 * source.  So frames are handed to libsoup in batches: a batch is complete
 * (its sends' done callbacks fire) when a G_PRIORITY_LOW writability source
 * on the same output stream dispatches.  GLib never dispatches a LOW source
 * in an iteration where a DEFAULT one is ready, and libsoup's own source is
 * ready whenever the socket is writable and it still holds bytes: so when
 * ours runs, libsoup's queue is empty and every byte of the batch has been
 * handed to the operating system (the kernel's buffer, or the TLS layer's
 * record for wss://).  Frames given meanwhile wait for the next batch.
 * A graceful channel close waits for the last batch, then sends close 1000.
 *
 * Limits, from the params:
 *  - max_frame_size: larger sends fail TOO_BIG; larger incoming messages
 *    make libsoup close the connection with 1009 (dropped TOO_BIG);
 *  - max_connections: established WebSocket connections in and out,
 *    channels included.  Inbound upgrades above it get HTTP 503 (dropped
 *    LIMIT); an outbound one evicts the least recently used idle pooled
 *    connection or fails with LIMIT;
 *  - idle_timeout: pooled connections unused this long are closed; channels
 *    never are;
 *  - connect_timeout: the TCP connect, TLS and HTTP handshake of an outbound
 *    connection;
 *  - io_timeout, as far as libsoup lets it be seen: a batch of outgoing
 *    frames must be written within it (else the connection is closed and the
 *    sends fail TIMEOUT); it is the session's I/O timeout for the handshake;
 *    and on a server of our own, an accepted TCP connection must complete
 *    its TLS handshake and its upgrade request within it (the server accepts
 *    connections itself, see accept_connection()).  A request head libsoup
 *    cannot parse is reported when libsoup answers 400; one above libsoup's
 *    own limit (64 KiB in 3.2) is closed by libsoup without a word, so it is
 *    only reported when io_timeout expires (PROTOCOL, or TIMEOUT when
 *    libsoup has not closed it by then).  libsoup does not
 *    expose a partly received message, so a peer dribbling one message
 *    slowly is only bounded by the ping keepalive and max_frame_size, not by
 *    io_timeout.
 *
 * libsoup attaches its sources to the thread-default main context, so
 * params->context must be the thread-default context of the thread that
 * creates and runs the transport (GossipCluster's is: it takes the
 * thread-default context when it is made); create() refuses any other.
 * No callback is made from inside a vtable call: reports are queued and
 * delivered by one source on the context.  destroy() makes no callback; the
 * WebSocket connections it closes finish closing their streams on the
 * context's next iterations.
 *
 * libsoup 3.2 leaks in a server that accepts its own connections: the
 * GSocket of a connection upgraded to a WebSocket (one reference too many;
 * dropped here, see drop_leaked_socket_reference()), and that of an HTTP
 * connection answered without an upgrade (refused requests: 400, 404, 503).
 * A server of our own accepts connections itself, so only an application's
 * server (mounted) is exposed to the second.  Refusals close the connection
 * after the answer.
 */
#include "config.h"

#include <gmodule.h>
#include <string.h>

#include "gossip/gossip-config.h"
#include "gossip/gossip-plugin.h"
#include "ws-soup-private.h"

#define DEFAULT_MAX_DATAGRAM_SIZE  1400
#define DEFAULT_MAX_FRAME_SIZE     (4 * 1024 * 1024)
#define DEFAULT_MAX_CONNECTIONS    256
#define DEFAULT_IDLE_TIMEOUT_US    (60 * G_USEC_PER_SEC)
#define DEFAULT_IO_TIMEOUT_US      (10 * G_USEC_PER_SEC)
#define DEFAULT_CONNECT_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define DEFAULT_PATH               "/gossip"
#define DEFAULT_PING_INTERVAL_US   (15 * G_USEC_PER_SEC)

/* ------------------------------------------------------------------------ */
/* Reports, delivered from the event source */

typedef enum
{
  EVENT_RECEIVED,
  EVENT_DROPPED,
  EVENT_DONE,
  EVENT_CHANNEL_RECEIVED,
  EVENT_CHANNEL_CLOSED,
  EVENT_CHANNEL_ACCEPTED,
} EventKind;

typedef struct
{
  EventKind kind;
  char *from;
  GBytes *frame;
  GError *error;
  GossipTransportSendFunc done;
  gpointer user_data;
  WsConn *channel; /* a reference, for channel events and channel sends */
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
  g_clear_pointer (&ev->channel, ws_conn_unref);
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
  g_free (t->path);
  g_free (t->local_address);
  g_free (t);
}

static void
emit_channel_event (WsTransport *t, Event *ev)
{
  WsConn *c = ev->channel;
  gpointer user_data;
  const GossipTransportChannelCallbacks *cb = ws_channel_callbacks (c, &user_data);

  if (ws_conn_owner_gone (c) || cb == NULL)
    return;
  if (ev->kind == EVENT_CHANNEL_RECEIVED)
    {
      if (cb->received != NULL)
        cb->received (user_data, ev->frame);
      return;
    }
  /* The owner may not use the channel after this: nothing more for it. */
  ws_channel_closed_reported (c);
  if (cb->closed != NULL)
    cb->closed (user_data, ev->error);
}

static void
emit_accepted (WsTransport *t, Event *ev)
{
  WsConn *c = ev->channel;
  const GossipTransportCallbacks *cb = t->callbacks;

  if (ws_conn_owner_gone (c))
    return;
  if (cb->channel_accepted == NULL)
    {
      g_debug ("refused a channel from %s: this node takes none", ev->from);
      ws_channel_refuse (t, c);
      return;
    }
  if (!cb->channel_accepted (t->user_data, ev->from, c))
    {
      if (!t->destroyed)
        ws_channel_refuse (t, c);
      return;
    }
  if (!t->destroyed && !ws_conn_is_attached (c))
    {
      g_warning ("a channel from %s was accepted but not attached; closing it", ev->from);
      ws_channel_refuse (t, c);
    }
}

static void
emit (WsTransport *t, Event *ev)
{
  const GossipTransportCallbacks *cb = t->callbacks;

  switch (ev->kind)
    {
    case EVENT_RECEIVED:
      if (cb->received != NULL)
        cb->received (t->user_data, GOSSIP_TRANSPORT_PATH_RELIABLE, ev->from, ev->frame);
      break;
    case EVENT_DROPPED:
      if (cb->dropped != NULL)
        cb->dropped (t->user_data, ev->from, ev->error);
      break;
    case EVENT_DONE:
      if (ev->channel == NULL || !ws_conn_owner_gone (ev->channel))
        ev->done (ev->user_data, ev->error);
      break;
    case EVENT_CHANNEL_RECEIVED:
    case EVENT_CHANNEL_CLOSED:
      emit_channel_event (t, ev);
      break;
    case EVENT_CHANNEL_ACCEPTED:
      emit_accepted (t, ev);
      break;
    }
}

static gboolean
event_source_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  WsTransport *t = ((EventSource *) source)->t;
  /* Only what was queued before: reports queued by the callbacks themselves
   * wait for the next dispatch. */
  guint n = t->events.length;

  g_source_set_ready_time (source, -1);
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
push_event (WsTransport *t, Event *ev)
{
  if (t->destroyed)
    {
      event_free (ev);
      return;
    }
  /* Events of a channel its owner has not attached yet wait in the channel. */
  if (ev->channel != NULL
      && (ev->kind == EVENT_CHANNEL_RECEIVED || ev->kind == EVENT_CHANNEL_CLOSED)
      && !ws_conn_is_attached (ev->channel))
    {
      ws_conn_take_early_event (ev->channel, ev);
      return;
    }
  g_queue_push_tail (&t->events, ev);
  g_source_set_ready_time (t->event_source, 0);
}

/* Moves events kept by a channel until its owner attached it. */
void
ws_transport_push_early_events (WsTransport *t, GQueue *early)
{
  Event *ev;

  while ((ev = g_queue_pop_head (early)) != NULL)
    push_event (t, ev);
}

void
ws_transport_free_event (gpointer event)
{
  event_free (event);
}

void
ws_transport_emit_received (WsTransport *t, const char *from, GBytes *frame)
{
  Event *ev = g_new0 (Event, 1);

  ev->kind = EVENT_RECEIVED;
  ev->from = g_strdup (from);
  ev->frame = g_bytes_ref (frame);
  push_event (t, ev);
}

void
ws_transport_emit_dropped (WsTransport *t, const char *from, GError *reason)
{
  Event *ev = g_new0 (Event, 1);

  g_debug ("dropped: %s", reason->message);
  ev->kind = EVENT_DROPPED;
  ev->from = g_strdup (from);
  ev->error = reason;
  push_event (t, ev);
}

void
ws_transport_emit_done (WsTransport *t, WsConn *channel, GossipTransportSendFunc done,
                        gpointer user_data, GError *error)
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
  ev->channel = channel != NULL ? ws_conn_ref (channel) : NULL;
  push_event (t, ev);
}

void
ws_transport_emit_channel_received (WsTransport *t, WsConn *c, GBytes *frame)
{
  Event *ev = g_new0 (Event, 1);

  ev->kind = EVENT_CHANNEL_RECEIVED;
  ev->frame = g_bytes_ref (frame);
  ev->channel = ws_conn_ref (c);
  push_event (t, ev);
}

void
ws_transport_emit_channel_closed (WsTransport *t, WsConn *c, GError *error)
{
  Event *ev = g_new0 (Event, 1);

  ev->kind = EVENT_CHANNEL_CLOSED;
  ev->error = error;
  ev->channel = ws_conn_ref (c);
  push_event (t, ev);
}

void
ws_transport_emit_channel_accepted (WsTransport *t, WsConn *c)
{
  Event *ev = g_new0 (Event, 1);

  ev->kind = EVENT_CHANNEL_ACCEPTED;
  ev->from = g_strdup (ws_conn_peer (c));
  ev->channel = ws_conn_ref (c);
  push_event (t, ev);
}

/* ------------------------------------------------------------------------ */
/* Addresses */

char *
ws_format_url (gboolean tls, const char *host, guint16 port, const char *path)
{
  gboolean ipv6 = strchr (host, ':') != NULL;

  return g_strdup_printf ("%s://%s%s%s:%u%s", tls ? "wss" : "ws", ipv6 ? "[" : "", host,
                          ipv6 ? "]" : "", port, path != NULL ? path : "");
}

/* "ws://IP:PORT" of a socket address, IPv4-mapped IPv6 written as IPv4. */
char *
ws_format_peer (gboolean tls, GSocketAddress *address)
{
  GInetAddress *ip;
  g_autofree char *text = NULL;

  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return NULL;
  ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *bytes = g_inet_address_to_bytes (ip);
      static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (bytes, mapped, sizeof mapped) == 0)
        {
          g_autoptr (GInetAddress) v4
              = g_inet_address_new_from_bytes (bytes + 12, G_SOCKET_FAMILY_IPV4);

          text = g_inet_address_to_string (v4);
        }
    }
  if (text == NULL)
    text = g_inet_address_to_string (ip);
  return ws_format_url (tls, text, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)),
                        NULL);
}

gboolean
ws_target_parse (const char *address, WsTarget *target, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  const char *scheme;
  const char *host;
  gint port;
  g_autofree char *lower_host = NULL;

  target->uri = g_uri_parse (address, G_URI_FLAGS_ENCODED_PATH, &local_error);
  if (target->uri == NULL)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                   "\"%s\" is not a ws:// or wss:// URL: %s", address, local_error->message);
      return FALSE;
    }
  scheme = g_uri_get_scheme (target->uri);
  host = g_uri_get_host (target->uri);
  port = g_uri_get_port (target->uri);
  if (g_ascii_strcasecmp (scheme, "ws") != 0 && g_ascii_strcasecmp (scheme, "wss") != 0)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                   "\"%s\" is not a ws:// or wss:// URL", address);
      return FALSE;
    }
  target->tls = g_ascii_strcasecmp (scheme, "wss") == 0;
  if (host == NULL || host[0] == '\0' || port <= 0 || g_uri_get_userinfo (target->uri) != NULL
      || g_uri_get_fragment (target->uri) != NULL || g_uri_get_query (target->uri) != NULL)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                   "\"%s\" is not of the form ws(s)://HOST:PORT/PATH", address);
      return FALSE;
    }
  lower_host = g_ascii_strdown (host, -1);
  target->key
      = ws_format_url (target->tls, lower_host, (guint16) port, g_uri_get_path (target->uri));
  return TRUE;
}

void
ws_target_clear (WsTarget *target)
{
  g_clear_pointer (&target->uri, g_uri_unref);
  g_clear_pointer (&target->key, g_free);
}

/* ------------------------------------------------------------------------ */
/* The server side */

/*
 * A server of our own accepts its TCP connections itself and hands each to
 * libsoup (soup_server_accept_iostream()) once its TLS handshake is done.
 * libsoup 3.2 gives an accepted connection's TLS handshake no time limit, and
 * soup_server_disconnect() closes connections synchronously, which waits for
 * a handshake in progress: a peer that connected and never finished its TLS
 * handshake would keep its socket forever and make destroy() hang (the
 * handshake thread blocks reading it).  Here every accepted connection has
 * io_timeout to finish its TLS handshake and its WebSocket upgrade; those not
 * upgraded yet count against max_connections; destroy() cancels the
 * handshakes and cuts the connections not yet handed over.
 */
typedef struct
{
  int ref_count;
  WsTransport *t; /* NULL once forgotten */
  GSocketConnection *tcp;
  GTlsConnection *tls;       /* wss:// */
  GCancellable *cancellable; /* the TLS handshake's, while it runs */
  GSocketAddress *local;
  GSocketAddress *remote;
  char *peer;
  guint timer;
  gboolean handed; /* libsoup has it */
} Accepted;

static Accepted *
accepted_ref (Accepted *a)
{
  a->ref_count++;
  return a;
}

static void
accepted_unref (Accepted *a)
{
  if (--a->ref_count > 0)
    return;
  g_clear_object (&a->cancellable);
  g_clear_object (&a->tls);
  g_clear_object (&a->tcp);
  g_clear_object (&a->local);
  g_clear_object (&a->remote);
  g_free (a->peer);
  g_free (a);
}

/* Off the transport's list, with no timer. */
static void
accepted_forget (Accepted *a)
{
  WsTransport *t = a->t;

  if (t == NULL)
    return;
  gossip_clock_clear_timer (t->clock, &a->timer);
  g_queue_remove (&t->accepted, a);
  a->t = NULL;
  accepted_unref (a);
}

/* Ends the TCP connection under whoever reads it: the TLS handshake thread
 * or libsoup sees the end and gives up. */
static void
accepted_cut (Accepted *a)
{
  if (a->cancellable != NULL)
    g_cancellable_cancel (a->cancellable);
  g_socket_shutdown (g_socket_connection_get_socket (a->tcp), TRUE, TRUE, NULL);
}

static gboolean
accepted_closed (Accepted *a)
{
  return g_socket_is_closed (g_socket_connection_get_socket (a->tcp));
}

static void
accepted_timer_fired (gpointer data)
{
  Accepted *a = data;
  WsTransport *t = a->t;

  a->timer = 0;
  /* Answered requests are forgotten (accepted_answered()): one whose
   * connection libsoup closed gave it a head it would not read to the end
   * (above its size limit), or broke off. */
  if (accepted_closed (a))
    ws_transport_emit_dropped (t, a->peer,
                               g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                                            "%s's connection ended before a complete request",
                                            a->peer));
  else
    {
      ws_transport_emit_dropped (
          t, a->peer,
          g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT,
                       "%s did not complete its %s within %" G_GINT64_FORMAT " ms", a->peer,
                       a->handed ? "WebSocket upgrade" : "TLS handshake", t->io_timeout_us / 1000));
      accepted_cut (a);
    }
  accepted_forget (a);
}

/* libsoup may read a request that is already there and upgrade it from
 * inside soup_server_accept_iostream(), forgetting @a (accepted_answered()):
 * it is held until the call returns. */
static void
accepted_hand_over (Accepted *a, GIOStream *stream)
{
  WsTransport *t = a->t;
  g_autoptr (GError) error = NULL;

  accepted_ref (a);
  a->handed = TRUE;
  if (!soup_server_accept_iostream (t->server, stream, a->local, a->remote, &error))
    {
      ws_transport_emit_dropped (t, a->peer,
                                 g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                                              "cannot serve %s: %s", a->peer, error->message));
      accepted_cut (a);
      accepted_forget (a);
    }
  accepted_unref (a);
}

static void
accepted_tls_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Accepted *a = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error);

  g_clear_object (&a->cancellable);
  if (a->t == NULL)
    ; /* timed out, or the transport is gone */
  else if (!ok)
    {
      ws_transport_emit_dropped (
          a->t, a->peer,
          g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                       "TLS handshake with %s failed: %s", a->peer, error->message));
      accepted_cut (a);
      accepted_forget (a);
    }
  else
    accepted_hand_over (a, G_IO_STREAM (a->tls));
  accepted_unref (a);
}

/* Forgets the connections libsoup has closed (refused requests). */
static void
accepted_sweep (WsTransport *t)
{
  GList *l = t->accepted.head;

  while (l != NULL)
    {
      GList *next = l->next;
      Accepted *a = l->data;

      if (a->handed && accepted_closed (a))
        accepted_forget (a);
      l = next;
    }
}

static void
accept_connection (GSocket *socket, gpointer data)
{
  WsTransport *t = data;
  g_autoptr (GError) error = NULL;
  Accepted *a;

  accepted_sweep (t);
  if (t->accepted.length >= t->max_connections)
    {
      g_autoptr (GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
      g_autofree char *from = remote != NULL ? ws_format_peer (t->tls, remote) : NULL;

      g_socket_close (socket, NULL);
      g_object_unref (socket);
      ws_transport_emit_dropped (t, from,
                                 g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                                              "refused a connection from %s: %u are not upgraded "
                                              "yet",
                                              from != NULL ? from : "a peer", t->max_connections));
      return;
    }
  a = g_new0 (Accepted, 1);
  a->ref_count = 1; /* the list's */
  a->t = t;
  a->tcp = g_socket_connection_factory_create_connection (socket);
  a->local = g_socket_get_local_address (socket, NULL);
  a->remote = g_socket_get_remote_address (socket, NULL);
  g_object_unref (socket);
  if (a->local == NULL || a->remote == NULL)
    {
      g_io_stream_close (G_IO_STREAM (a->tcp), NULL, NULL);
      accepted_unref (a);
      return;
    }
  a->peer = ws_format_peer (t->tls, a->remote);
  g_queue_push_tail (&t->accepted, a);
  a->timer = gossip_clock_add_timer (t->clock, t->io_timeout_us, accepted_timer_fired, a, NULL);
  if (!t->tls)
    {
      accepted_hand_over (a, G_IO_STREAM (a->tcp));
      return;
    }
  a->tls = (GTlsConnection *) g_tls_server_connection_new (G_IO_STREAM (a->tcp), t->certificate,
                                                           &error);
  if (a->tls == NULL || !gossip_transport_push_context (t->context, &error))
    {
      ws_transport_emit_dropped (t, a->peer,
                                 g_error_new (GOSSIP_TRANSPORT_ERROR,
                                              GOSSIP_TRANSPORT_ERROR_PROTOCOL, "no TLS for %s: %s",
                                              a->peer, error->message));
      accepted_cut (a);
      accepted_forget (a);
      return;
    }
  a->cancellable = g_cancellable_new ();
  g_tls_connection_handshake_async (a->tls, G_PRIORITY_DEFAULT, a->cancellable, accepted_tls_done,
                                    accepted_ref (a));
  gossip_transport_pop_context (t->context);
}

/* The request on @remote's connection is answered: upgraded (libsoup's
 * WebSocket has it), or refused (libsoup closes it). */
static void
accepted_answered (WsTransport *t, GSocketAddress *remote)
{
  g_autofree char *peer = remote != NULL ? ws_format_peer (t->tls, remote) : NULL;

  if (peer == NULL)
    return;
  for (GList *l = t->accepted.head; l != NULL; l = l->next)
    {
      Accepted *a = l->data;

      if (strcmp (a->peer, peer) == 0)
        {
          accepted_forget (a);
          return;
        }
    }
}

static void
accepted_stop_all (WsTransport *t)
{
  while (t->accepted.head != NULL)
    {
      Accepted *a = t->accepted.head->data;

      /* libsoup closes what it has (soup_server_disconnect()). */
      if (!a->handed)
        accepted_cut (a);
      accepted_forget (a);
    }
}

/* Refusals close the connection after the answer: a refused peer keeps no
 * connection open (and libsoup 3.2 leaks the socket of a kept-alive HTTP
 * connection that the client closes later). */
static void
refuse (SoupServerMessage *msg, guint status)
{
  g_object_set_data (G_OBJECT (msg), "gossip-refused", GINT_TO_POINTER (TRUE));
  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
}

/* A request for a path other than ours: 404, and reported. */
static void
refuse_path (WsTransport *t, SoupServerMessage *msg, const char *path)
{
  g_autofree char *from = ws_format_peer (t->tls, soup_server_message_get_remote_address (msg));

  refuse (msg, SOUP_STATUS_NOT_FOUND);
  ws_transport_emit_dropped (t, from,
                             g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                                          "refused a request from %s for %s: the endpoint is %s",
                                          from != NULL ? from : "a peer", path, t->path));
}

/* Every other path on a server of our own. */
static void
server_not_found (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                  gpointer data)
{
  refuse_path (data, msg, path);
}

/* Called before libsoup answers an upgrade request at our path: refuses what
 * is not ours, and what is above the connection limit. */
static void
server_check_request (SoupServer *server, SoupServerMessage *msg, const char *path,
                      GHashTable *query, gpointer data)
{
  WsTransport *t = data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *protocol = soup_message_headers_get_one (headers, "Sec-WebSocket-Protocol");
  g_autofree char *trimmed = protocol != NULL ? g_strstrip (g_strdup (protocol)) : NULL;

  if (strcmp (path, t->path) != 0)
    {
      refuse_path (t, msg, path);
      return;
    }
  if (trimmed == NULL
      || (strcmp (trimmed, WS_PROTOCOL_FRAMES) != 0 && strcmp (trimmed, WS_PROTOCOL_STREAM) != 0))
    {
      g_autofree char *from = ws_format_peer (t->tls, soup_server_message_get_remote_address (msg));

      refuse (msg, SOUP_STATUS_BAD_REQUEST);
      ws_transport_emit_dropped (
          t, from,
          g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                       "refused an upgrade from %s: subprotocol %s%s%s, not " WS_PROTOCOL_FRAMES
                       " or " WS_PROTOCOL_STREAM,
                       from != NULL ? from : "a peer", trimmed != NULL ? "\"" : "",
                       trimmed != NULL ? trimmed : "missing", trimmed != NULL ? "\"" : ""));
      return;
    }
  if (t->n_active >= t->max_connections)
    {
      g_autofree char *from = ws_format_peer (t->tls, soup_server_message_get_remote_address (msg));

      refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE);
      ws_transport_emit_dropped (t, from,
                                 g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                                              "refused a connection from %s: %u connections are "
                                              "open",
                                              from != NULL ? from : "a peer", t->max_connections));
    }
}

/* Every request answered on a server of our own.  Refusals made here are
 * reported where they are made; this reports those libsoup makes itself
 * (a request head it cannot parse gets 400). */
static void
server_request_finished (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  WsTransport *t = data;
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  guint status = soup_server_message_get_status (msg);
  g_autofree char *from = NULL;

  accepted_answered (t, remote);
  if (status < 400 || g_object_get_data (G_OBJECT (msg), "gossip-refused") != NULL)
    return;
  from = ws_format_peer (t->tls, remote);
  ws_transport_emit_dropped (t, from,
                             g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                                          "refused a request from %s: HTTP %u %s",
                                          from != NULL ? from : "a peer", status,
                                          soup_status_get_phrase (status)));
}

/*
 * libsoup 3.0 and 3.2 leak the accepted GSocket of every connection upgraded
 * to a WebSocket: soup_server_message_steal_connection() refs it for the
 * stolen stream (its "GSocket" data) while the server's SoupSocket keeps its
 * own reference, which it only drops when it still has a connection -- and
 * the steal has just taken that.  Those versions are recognised by the
 * SoupSocket still pointing at the stolen stream's socket; the reference it
 * will never drop is dropped here, leaving the stream's.  Later versions
 * (SoupServerConnection) are left alone.
 */
static void
drop_leaked_socket_reference (SoupServerMessage *msg, SoupWebsocketConnection *ws)
{
  GIOStream *stream = soup_websocket_connection_get_io_stream (ws);
  GSocket *stolen = stream != NULL ? g_object_get_data (G_OBJECT (stream), "GSocket") : NULL;

  if (soup_get_major_version () != 3 || soup_get_minor_version () > 2)
    return;
  if (stolen != NULL && soup_server_message_get_socket (msg) == stolen)
    g_object_unref (stolen);
}

static void
server_websocket (SoupServer *server, SoupServerMessage *msg, const char *path,
                  SoupWebsocketConnection *ws, gpointer data)
{
  WsTransport *t = data;

  accepted_answered (t, soup_server_message_get_remote_address (msg));
  drop_leaked_socket_reference (msg, ws);
  ws_conn_accepted (t, ws, soup_server_message_get_remote_address (msg));
}

static gboolean
parse_bind_address (const char *bind, GInetSocketAddress **out, GError **error)
{
  g_autoptr (GSocketConnectable) parsed = NULL;
  g_autoptr (GInetAddress) ip = NULL;
  const char *host;
  const char *colon;

  if (bind == NULL || bind[0] == '\0')
    {
      g_set_error_literal (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                           "no bind address");
      return FALSE;
    }
  colon = strrchr (bind, ':');
  parsed = g_network_address_parse (bind, 0, NULL);
  if (parsed == NULL || colon == NULL || strchr (bind, ']') > colon)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                   "bind address \"%s\" is not IP:port or [IPv6]:port", bind);
      return FALSE;
    }
  host = g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed));
  ip = g_inet_address_new_from_string (host);
  if (ip == NULL)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                   "bind address \"%s\" is not numeric", bind);
      return FALSE;
    }
  *out = G_INET_SOCKET_ADDRESS (
      g_inet_socket_address_new (ip, g_network_address_get_port (G_NETWORK_ADDRESS (parsed))));
  return TRUE;
}

static void
add_handlers (WsTransport *t)
{
  const char *protocols[] = { WS_PROTOCOL_FRAMES, WS_PROTOCOL_STREAM, NULL };

  soup_server_add_handler (t->server, t->path, server_check_request, t, NULL);
  soup_server_add_websocket_handler (t->server, t->path, NULL, (char **) protocols,
                                     server_websocket, t, NULL);
}

/* "ws(s)://IP:PORT/PATH" of a listening socket. */
static gboolean
listener_url (GSocket *listener, gboolean tls, const char *path, char **out, GError **error)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (listener, error);
  g_autofree char *host = NULL;

  if (local == NULL)
    return FALSE;
  host = g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
  *out = ws_format_url (tls, host, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)),
                        path);
  return TRUE;
}

static gboolean
serve_own (WsTransport *t, const char *bind, GError **error)
{
  g_autoptr (GInetSocketAddress) address = NULL;

  if (!parse_bind_address (bind, &address, error))
    return FALSE;
  t->server = soup_server_new ("server-header", NULL, NULL);
  t->own_server = TRUE;
  /* Frames are compressed and encrypted already: no permessage-deflate. */
  soup_server_remove_websocket_extension (t->server, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_handler (t->server, NULL, server_not_found, t, NULL);
  g_signal_connect (t->server, "request-finished", G_CALLBACK (server_request_finished), t);
  add_handlers (t);
  t->listener = gossip_transport_listen_tcp (G_SOCKET_ADDRESS (address), error);
  if (t->listener == NULL)
    {
      g_prefix_error (error, "cannot listen on %s: ", bind);
      return FALSE;
    }
  if (!listener_url (t->listener, t->tls, t->path, &t->local_address, error))
    return FALSE;
  t->listener_source = gossip_transport_accept_source_new (t->listener, accept_connection, t);
  g_source_attach (t->listener_source, t->context);
  return TRUE;
}

/* The URL of a server's first listener (not soup_server_get_uris(), which
 * leaks an address per call in libsoup 3.2). */
static gboolean
server_address (SoupServer *server, gboolean tls, const char *path, char **out, GError **error)
{
  GSList *listeners = soup_server_get_listeners (server);
  gboolean ok;

  if (listeners == NULL)
    {
      g_set_error_literal (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                           "the HTTP server is not listening anywhere");
      return FALSE;
    }
  ok = listener_url (listeners->data, tls, path, out, error);
  g_slist_free (listeners);
  return ok;
}

/* On the application's server: wss:// when it has a certificate. */
static gboolean
serve_mounted (WsTransport *t, GObject *server, GError **error)
{
  t->server = g_object_ref (SOUP_SERVER (server));
  t->tls = soup_server_is_https (t->server);
  if (!server_address (t->server, t->tls, t->path, &t->local_address, error))
    return FALSE;
  if (!t->tls && !t->allow_insecure)
    {
      g_set_error_literal (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                           "the application's SoupServer serves plain http://, and plain ws:// "
                           "needs [websocket] allow_insecure=true");
      return FALSE;
    }
  add_handlers (t);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Settings */

static gboolean
read_settings (WsTransport *t, const GossipTransportParams *params, const char **bind,
               GError **error)
{
  GossipConfig *config = NULL;
  const char *cert_file = "", *key_file = "", *ca_file = "", *path = DEFAULT_PATH;
  gint64 ping_us = DEFAULT_PING_INTERVAL_US;

  if (params->struct_size >= G_STRUCT_OFFSET (GossipTransportParams, config) + sizeof (gpointer))
    config = params->config;
  if (config != NULL)
    {
      const char *b = gossip_config_get_string (config, "websocket", "bind_address");

      if (b != NULL && b[0] != '\0')
        *bind = b;
      path = gossip_config_get_string (config, "websocket", "path");
      cert_file = gossip_config_get_string (config, "websocket", "tls_cert_file");
      key_file = gossip_config_get_string (config, "websocket", "tls_key_file");
      ca_file = gossip_config_get_string (config, "websocket", "tls_ca_file");
      t->allow_insecure = gossip_config_get_boolean (config, "websocket", "allow_insecure");
      ping_us = gossip_config_get_duration (config, "websocket", "ping_interval");
    }
  if (path == NULL || path[0] != '/')
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                   "[websocket] path \"%s\" does not start with /", path != NULL ? path : "");
      return FALSE;
    }
  t->path = g_strdup (path);
  t->ping_interval_s
      = ping_us <= 0 ? 0 : (guint) MIN ((ping_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC, G_MAXUINT);
  cert_file = cert_file != NULL ? cert_file : "";
  key_file = key_file != NULL ? key_file : "";
  ca_file = ca_file != NULL ? ca_file : "";
  if ((cert_file[0] != '\0') != (key_file[0] != '\0'))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           cert_file[0] != '\0'
                               ? "[websocket] tls_cert_file is set but tls_key_file is not"
                               : "[websocket] tls_key_file is set but tls_cert_file is not");
      return FALSE;
    }
  if (cert_file[0] != '\0')
    {
      t->certificate = g_tls_certificate_new_from_files (cert_file, key_file, error);
      if (t->certificate == NULL)
        {
          g_prefix_error (error, "[websocket] tls_cert_file %s / tls_key_file %s: ", cert_file,
                          key_file);
          return FALSE;
        }
      t->tls = TRUE;
    }
  if (ca_file[0] != '\0')
    {
      t->database = g_tls_file_database_new (ca_file, error);
      if (t->database == NULL)
        {
          g_prefix_error (error, "[websocket] tls_ca_file %s: ", ca_file);
          return FALSE;
        }
    }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The vtable */

static void
ws_destroy (gpointer self)
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
  accepted_stop_all (t);
  if (t->server != NULL)
    {
      g_signal_handlers_disconnect_by_data (t->server, t);
      soup_server_remove_handler (t->server, t->path);
      if (t->own_server)
        soup_server_disconnect (t->server);
      g_clear_object (&t->server);
    }
  if (t->session != NULL)
    {
      soup_session_abort (t->session);
      g_clear_object (&t->session);
    }
  g_clear_object (&t->certificate);
  g_clear_object (&t->database);
  g_queue_clear_full (&t->events, event_free);
  g_source_destroy (t->event_source);
  g_clear_pointer (&t->event_source, g_source_unref);
  transport_unref (t);
}

static gpointer
ws_create (const GossipTransportParams *params, GError **error)
{
  WsTransport *t;
  const char *bind;
  GObject *http_server = NULL;

  if (params == NULL || params->struct_size < G_STRUCT_OFFSET (GossipTransportParams, config)
      || params->callbacks == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "incomplete transport parameters");
      return NULL;
    }
  {
    GMainContext *thread_default = g_main_context_ref_thread_default ();
    gboolean same = params->context == NULL || params->context == thread_default;

    g_main_context_unref (thread_default);
    if (!same)
      {
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                             "the websocket-soup transport runs on the thread-default main "
                             "context (libsoup attaches its sources there), and was given another");
        return NULL;
      }
  }

  t = g_new0 (WsTransport, 1);
  t->ref_count = 1;
  t->context = g_main_context_ref_thread_default ();
  t->clock = params->clock != NULL ? g_object_ref (params->clock)
                                   : gossip_clock_new_for_context (t->context);
  t->callbacks = params->callbacks;
  t->user_data = params->user_data;
  t->datagrams = params->datagrams;
  t->max_datagram_size
      = params->max_datagram_size > 0 ? params->max_datagram_size : DEFAULT_MAX_DATAGRAM_SIZE;
  t->max_frame_size = params->max_frame_size > 0 ? params->max_frame_size : DEFAULT_MAX_FRAME_SIZE;
  t->max_connections
      = params->max_connections > 0 ? params->max_connections : DEFAULT_MAX_CONNECTIONS;
  t->idle_timeout_us
      = params->idle_timeout_us > 0 ? params->idle_timeout_us : DEFAULT_IDLE_TIMEOUT_US;
  t->io_timeout_us = params->io_timeout_us > 0 ? params->io_timeout_us : DEFAULT_IO_TIMEOUT_US;
  t->connect_timeout_us
      = params->connect_timeout_us > 0 ? params->connect_timeout_us : DEFAULT_CONNECT_TIMEOUT_US;
  g_queue_init (&t->events);
  g_queue_init (&t->conns);
  g_queue_init (&t->accepted);
  t->pool = g_hash_table_new (g_str_hash, g_str_equal);
  t->event_source = g_source_new (&event_source_funcs, sizeof (EventSource));
  ((EventSource *) t->event_source)->t = t;
  g_source_set_static_name (t->event_source, "gossip websocket-soup events");
  g_source_attach (t->event_source, t->context);

  bind = params->bind_address;
  if (params->struct_size >= sizeof (GossipTransportParams))
    http_server = params->http_server;
  if (!read_settings (t, params, &bind, error))
    {
      ws_destroy (t);
      return NULL;
    }
  if (http_server != NULL)
    {
      if (!G_TYPE_CHECK_INSTANCE_TYPE (http_server, SOUP_TYPE_SERVER))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "the HTTP server given is a %s, not a SoupServer",
                       G_OBJECT_TYPE_NAME (http_server));
          ws_destroy (t);
          return NULL;
        }
      if (!serve_mounted (t, http_server, error))
        {
          ws_destroy (t);
          return NULL;
        }
    }
  else
    {
      if (!t->tls && !t->allow_insecure)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "plain ws:// needs [websocket] allow_insecure=true (or set "
                               "tls_cert_file and tls_key_file to serve wss://)");
          ws_destroy (t);
          return NULL;
        }
      if (!serve_own (t, bind, error))
        {
          ws_destroy (t);
          return NULL;
        }
    }

  t->session = soup_session_new_with_options (
      "max-conns", (int) MIN (t->max_connections, G_MAXINT), "max-conns-per-host",
      (int) MIN (t->max_connections, G_MAXINT), "timeout",
      (guint) MAX (1, (t->io_timeout_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC), "idle-timeout", 0,
      NULL);
  if (t->database != NULL)
    soup_session_set_tls_database (t->session, t->database);
  /* Frames are compressed and encrypted already: no permessage-deflate. */
  soup_session_remove_feature_by_type (t->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  return t;
}

static char *
ws_get_local_address (gpointer self)
{
  WsTransport *t = self;

  return g_strdup (t->local_address);
}

static gboolean
ws_send_datagram (gpointer self, const char *address, GBytes *frame, GError **error)
{
  WsTransport *t = self;
  gsize len = g_bytes_get_size (frame);

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
  return ws_conn_send (t, address, frame, TRUE, NULL, NULL, error);
}

static void
ws_send_reliable (gpointer self, const char *address, GBytes *frame, GossipTransportSendFunc done,
                  gpointer user_data)
{
  ws_conn_send (self, address, frame, FALSE, done, user_data, NULL);
}

static GossipTransportChannel *
ws_vt_channel_open (gpointer self, const char *address,
                    const GossipTransportChannelCallbacks *callbacks, gpointer user_data,
                    GError **error)
{
  return ws_channel_open (self, address, callbacks, user_data, error);
}

static void
ws_vt_channel_attach (gpointer self, GossipTransportChannel *channel,
                      const GossipTransportChannelCallbacks *callbacks, gpointer user_data)
{
  ws_channel_attach (self, channel, callbacks, user_data);
}

static void
ws_vt_channel_send (gpointer self, GossipTransportChannel *channel, GBytes *frame,
                    GossipTransportSendFunc done, gpointer user_data)
{
  ws_channel_send (self, channel, frame, done, user_data);
}

static void
ws_vt_channel_close (gpointer self, GossipTransportChannel *channel, gboolean abort)
{
  ws_channel_close (self, channel, abort);
}

static const char *const ws_schemes[] = { "ws", "wss", NULL };

static const GossipTransportVTable ws_vtable = {
  .struct_size = sizeof (GossipTransportVTable),
  .schemes = ws_schemes,
  .create = ws_create,
  .destroy = ws_destroy,
  .get_local_address = ws_get_local_address,
  .send_datagram = ws_send_datagram,
  .send_reliable = ws_send_reliable,
  .channel_open = ws_vt_channel_open,
  .channel_attach = ws_vt_channel_attach,
  .channel_send = ws_vt_channel_send,
  .channel_close = ws_vt_channel_close,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_TRANSPORT, "websocket-soup", PACKAGE_VERSION,
                      "gossip frames and channels over WebSocket (ws://, wss://), with libsoup 3",
                      NULL, &ws_vtable);
