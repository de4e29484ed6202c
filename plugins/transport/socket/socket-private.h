/* socket-private.h: shared between the files of the socket transport plugin.
 *
 * Nothing here is exported from the module: only gossip_plugin_descriptor is.
 */
#pragma once

#include <gio/gio.h>

#include "gossip/gossip-clock.h"
#include "gossip/gossip-transport.h"

/* Frames read from the scratch buffer per recv(); larger frame bodies are
 * read straight into their own buffer. */
#define SOCKET_READ_CHUNK (64 * 1024)
/* Most frames a pooled connection queues before sends fail with LIMIT; the
 * queue also refuses a frame that would take it past twice max_frame_size. */
#define SOCKET_SEND_QUEUE_MAX_FRAMES 128

typedef struct _SocketTransport SocketTransport;
typedef struct _SocketConn SocketConn;

struct _SocketTransport
{
  int ref_count; /* the owner's, plus one while callbacks run */
  gboolean destroyed;

  GMainContext *context;
  GossipClock *clock;
  const GossipTransportCallbacks *callbacks;
  gpointer user_data;

  gboolean datagrams;
  gsize max_datagram_size;
  gsize max_frame_size;
  guint max_connections;
  gint64 idle_timeout_us;
  gint64 io_timeout_us;
  gint64 connect_timeout_us;

  char *local_address;
  GSocket *udp; /* NULL when datagrams are disabled */
  GSource *udp_source;
  guint8 *datagram_buffer; /* max_datagram_size + 1, to detect oversized datagrams */
  gsize datagram_buffer_size;
  GSocket *listener;
  GSource *listener_source;

  /* Callbacks are never made from inside our own code paths: every report
   * is queued here and delivered from event_source, on the context. */
  GSource *event_source;
  GQueue events;

  GQueue conns;     /* every SocketConn (holds one reference each) */
  GHashTable *pool; /* address string -> SocketConn, not owned */
  guint8 *read_buffer;
};

/* A parsed "IP:port", "[IPv6]:port" or "hostname:port". */
typedef struct
{
  GInetSocketAddress *inet; /* NULL for a hostname */
  char *host;               /* the hostname when inet is NULL */
  guint16 port;
  char *key; /* canonical text: "IP:port", "[IPv6]:port" or "hostname:port" */
} SocketTarget;

gboolean socket_target_parse (const char *address, gboolean allow_port_zero,
                              gboolean allow_hostname, SocketTarget *target, GError **error);
void socket_target_clear (SocketTarget *target);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SocketTarget, socket_target_clear)
char *socket_format_address (GSocketAddress *address);
GInetSocketAddress *socket_address_for_family (GInetSocketAddress *address, GSocketFamily family);

void socket_transport_emit_received (SocketTransport *t, GossipTransportPath path, const char *from,
                                     GBytes *frame);
void socket_transport_emit_dropped (SocketTransport *t, const char *from, GError *reason);
void socket_transport_emit_done (SocketTransport *t, GossipTransportSendFunc done,
                                 gpointer user_data, GError *error);

void socket_conn_accept_all (SocketTransport *t);
void socket_conn_send (SocketTransport *t, const char *address, GBytes *frame,
                       GossipTransportSendFunc done, gpointer user_data);
void socket_conn_close_all (SocketTransport *t);
