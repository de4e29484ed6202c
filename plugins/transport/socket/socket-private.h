/* socket-private.h: shared between the files of the socket transport plugin.
 *
 * Nothing here is exported from the module: only gossip_plugin_descriptor is.
 */
#pragma once

#include <gio/gio.h>

#include "gossip/gossip-clock.h"
#include "socket-address.h"
#include "gossip/gossip-frame.h"
#include "gossip/gossip-transport.h"

/* Frames read from the scratch buffer per recv(); larger frame bodies are
 * read straight into their own buffer. */
#define SOCKET_READ_CHUNK (64 * 1024)
/* Most frames a pooled connection queues before sends fail with LIMIT; the
 * queue also refuses a frame that would take it past twice max_frame_size. */
#define SOCKET_SEND_QUEUE_MAX_FRAMES 128

/* A channel connection starts, in each direction, with this preamble: a
 * length prefix no frame can have (max_frame_size stays below it), then
 * SOCKET_CHANNEL_MAGIC.  The opener sends it first; the acceptor answers
 * with the same bytes once it sees it.  See socket-channel.c. */
#define SOCKET_CHANNEL_PREFIX    0xFFFFFFFFu
#define SOCKET_CHANNEL_MAGIC     "GOSSIPCH"
#define SOCKET_CHANNEL_MAGIC_LEN 8
#define SOCKET_MAX_FRAME_SIZE    (G_MAXUINT32 - 1)

typedef struct _SocketTransport SocketTransport;
typedef struct _SocketConn SocketConn;

typedef enum
{
  CONN_RESOLVING,
  CONN_CONNECTING,
  CONN_OPEN,
  CONN_CLOSED,
} ConnState;

/* Where a connection is in reading the channel preamble. */
typedef enum
{
  PREAMBLE_NONE,     /* plain frames (pooled, or a channel past its preamble) */
  PREAMBLE_MAYBE,    /* accepted, first length prefix not seen: pooled or channel */
  PREAMBLE_REQUIRED, /* a channel we opened: the acceptor's answer comes first */
  PREAMBLE_MAGIC,    /* the reserved prefix arrived; reading the magic */
} PreambleState;

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
  PreambleState preamble;
  guint8 magic[SOCKET_CHANNEL_MAGIC_LEN];
  gsize magic_got;
  guint8 header[4];
  gsize header_got;
  guint8 *body;       /* body_bytes' data: written as the frame arrives */
  GBytes *body_bytes; /* allocated once the length is known to be acceptable */
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

  /* Channels only (see socket-channel.c). */
  gboolean is_channel;
  SocketTransport *owner_t; /* valid while the owner holds the channel */
  GList owner_link;         /* in t->channels while the owner holds it */
  gboolean owner_gone;      /* closed by the owner, or told it ended: no more callbacks */
  gboolean attached;
  guint64 attach_turn;
  GossipTransportChannelCallbacks callbacks;
  gpointer user_data;
  GQueue inbox; /* GBytes received, not yet delivered */
  gboolean wake_queued;
  guint pending_dones; /* done events queued for this channel */
  gboolean ended;      /* the connection is over; closed() still to report */
  GError *end_error;   /* NULL: the peer closed cleanly */
  gboolean closing;    /* graceful close: flush, shut down, read until EOF */
  gboolean shut;       /* shutdown (SHUT_WR) done */
  guint linger_timer;
};

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

  GQueue conns;          /* every SocketConn (holds one reference each) */
  GQueue channels;       /* channels their owner holds (one reference each) */
  guint64 dispatch_turn; /* counts event dispatches */
  GHashTable *pool;      /* address string -> SocketConn, not owned */
  guint8 *read_buffer;
};

void socket_transport_emit_received (SocketTransport *t, GossipTransportPath path, const char *from,
                                     GBytes *frame);
void socket_transport_emit_dropped (SocketTransport *t, const char *from, GError *reason);
void socket_transport_emit_done (SocketTransport *t, GossipTransportSendFunc done,
                                 gpointer user_data, GError *error);
void socket_transport_emit_channel_done (SocketTransport *t, SocketConn *c,
                                         GossipTransportSendFunc done, gpointer user_data,
                                         GError *error);
void socket_transport_emit_channel_accepted (SocketTransport *t, SocketConn *c);
void socket_transport_emit_channel_wake (SocketTransport *t, SocketConn *c);

void socket_conn_accept (GSocket *socket, gpointer data);
void socket_conn_send (SocketTransport *t, const char *address, GBytes *frame,
                       GossipTransportSendFunc done, gpointer user_data);
void socket_conn_close_all (SocketTransport *t);
SocketConn *socket_conn_ref (SocketConn *c);
void socket_conn_unref (SocketConn *c);
void socket_conn_enqueue (SocketConn *c, GBytes *frame, GossipTransportSendFunc done,
                          gpointer user_data);
SocketConn *socket_conn_open_channel (SocketTransport *t, const SocketTarget *target,
                                      const GossipTransportChannelCallbacks *callbacks,
                                      gpointer user_data);
void socket_conn_shutdown (SocketConn *c);
void socket_conn_abort (SocketConn *c);

/* socket-channel.c */
void socket_channel_init (SocketTransport *t, SocketConn *c);
void socket_channel_frame (SocketConn *c, GBytes *frame);
void socket_channel_ended (SocketTransport *t, SocketConn *c, const GError *error);
void socket_channel_emit_accepted (SocketTransport *t, SocketConn *c);
void socket_channel_emit_wake (SocketTransport *t, SocketConn *c);
void socket_channel_release_all (SocketTransport *t);
GossipTransportChannel *socket_channel_open (gpointer self, const char *address,
                                             const GossipTransportChannelCallbacks *callbacks,
                                             gpointer user_data, GError **error);
void socket_channel_attach (gpointer self, GossipTransportChannel *channel,
                            const GossipTransportChannelCallbacks *callbacks, gpointer user_data);
void socket_channel_send (gpointer self, GossipTransportChannel *channel, GBytes *frame,
                          GossipTransportSendFunc done, gpointer user_data);
void socket_channel_close (gpointer self, GossipTransportChannel *channel, gboolean abort);
