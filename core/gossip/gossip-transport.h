/* gossip-transport.h: the transport plugin interface.
 *
 * A transport moves opaque frames (already encoded, compressed and encrypted
 * by the core) between nodes.  It offers two paths:
 *
 *  - datagram: best effort, at most max_datagram_size bytes (UDP);
 *  - reliable: ordered, any size up to max_frame_size (TCP, WebSocket),
 *    over connections the transport pools per peer.
 *
 * Rules every transport follows (the conformance suite checks them):
 *  - everything runs on params->context; no callback is ever made from
 *    another thread, and none from inside a vtable call (re-entrancy);
 *  - nothing blocks: sockets are non-blocking and driven by GSources;
 *  - input from the network is bounded: frame sizes, connection counts and
 *    the time a frame may take to arrive are limited by the params; what is
 *    refused is reported through callbacks->dropped and then forgotten;
 *  - after destroy() returns, no callback is made and no memory is kept;
 *  - a transport with no datagram socket of its own (WebSocket) sends a
 *    "datagram" as a best-effort frame on the pooled connection, dropped
 *    (send_datagram fails) when that connection's queue is full, and reports
 *    everything it receives as %GOSSIP_TRANSPORT_PATH_RELIABLE, so the core
 *    answers at the sender's advertised address, never at an ephemeral port.
 */
#pragma once

#include <gio/gio.h>
#include "gossip-clock.h"
#include "gossip-config.h"

G_BEGIN_DECLS

#define GOSSIP_TRANSPORT_ERROR (gossip_transport_error_quark ())
GQuark gossip_transport_error_quark (void);

/**
 * GossipTransportError:
 * @GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS: an address this transport cannot parse
 * @GOSSIP_TRANSPORT_ERROR_TOO_BIG: a frame above the datagram or frame limit
 * @GOSSIP_TRANSPORT_ERROR_UNREACHABLE: the peer could not be reached (refused, timed out, closed)
 * @GOSSIP_TRANSPORT_ERROR_LIMIT: a connection or queue limit was hit
 * @GOSSIP_TRANSPORT_ERROR_TIMEOUT: a peer was too slow (connect, or a frame's bytes)
 * @GOSSIP_TRANSPORT_ERROR_PROTOCOL: a peer broke the transport's framing
 * @GOSSIP_TRANSPORT_ERROR_CLOSED: the transport is shutting down
 */
typedef enum
{
  GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
  GOSSIP_TRANSPORT_ERROR_TOO_BIG,
  GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
  GOSSIP_TRANSPORT_ERROR_LIMIT,
  GOSSIP_TRANSPORT_ERROR_TIMEOUT,
  GOSSIP_TRANSPORT_ERROR_PROTOCOL,
  GOSSIP_TRANSPORT_ERROR_CLOSED,
} GossipTransportError;

/**
 * GossipTransportPath:
 * @GOSSIP_TRANSPORT_PATH_DATAGRAM: best-effort, size-limited
 * @GOSSIP_TRANSPORT_PATH_RELIABLE: ordered, connection-based
 */
typedef enum
{
  GOSSIP_TRANSPORT_PATH_DATAGRAM,
  GOSSIP_TRANSPORT_PATH_RELIABLE,
} GossipTransportPath;

typedef struct _GossipTransportChannel GossipTransportChannel;

/**
 * GossipTransportChannelCallbacks:
 * @received: a whole frame arrived on the channel; @frame is borrowed
 * @closed: the channel ended.  @error is %NULL when the peer closed it
 *   cleanly after its last frame, else why it ended (refused, reset, timed
 *   out, framing broken, transport stopped).  The transport frees the
 *   channel after this callback: it must not be used again.
 *
 * What a channel reports to its owner (the core's stream layer).
 */
typedef struct
{
  void (*received) (gpointer user_data, GBytes *frame);
  void (*closed) (gpointer user_data, const GError *error);
  /*< private >*/
  gpointer reserved[4];
} GossipTransportChannelCallbacks;

/**
 * GossipTransportCallbacks:
 * @received: a whole frame arrived; @from is the peer's address as the
 *   transport sees it (for datagrams, the address to answer to).  @frame is
 *   only borrowed for the call; ref it to keep it.
 * @dropped: the transport refused input (oversized length prefix, too many
 *   connections, a peer too slow); @from may be %NULL.  For counting and
 *   rate-limited logging only.
 * @channel_accepted: (nullable): a peer opened a channel (see
 *   #GossipTransportVTable.channel_open).  The owner either calls
 *   channel_attach() on it before returning and returns %TRUE, or returns
 *   %FALSE and the transport closes it.  %NULL: channels are refused.
 */
typedef struct
{
  void (*received) (gpointer user_data, GossipTransportPath path, const char *from, GBytes *frame);
  void (*dropped) (gpointer user_data, const char *from, const GError *reason);
  gboolean (*channel_accepted) (gpointer user_data, const char *from,
                                GossipTransportChannel *channel);
  /*< private >*/
  gpointer reserved[3];
} GossipTransportCallbacks;

/**
 * GossipTransportParams:
 * @struct_size: sizeof (GossipTransportParams) as the core was built
 * @context: the context every source and callback lives on
 * @clock: the core's clock; transports that simulate time (memory) use it
 * @bind_address: where to listen: "IP:port", "[IPv6]:port", port 0 picks one;
 *   other transports define their own forms (memory: "mem://NETWORK/NAME")
 * @datagrams: %FALSE when the deployment is reliable-only (no UDP socket)
 * @max_datagram_size: largest datagram to send or accept
 * @max_frame_size: largest reliable frame to send or accept
 * @max_connections: most simultaneous connections (inbound + outbound)
 * @idle_timeout_us: close a pooled connection unused this long
 * @io_timeout_us: a frame that started arriving must complete within this
 * @connect_timeout_us: give up connecting after this long
 * @callbacks: where frames and drops are reported
 * @user_data: passed to @callbacks
 * @config: the cluster's configuration, for a transport's own settings
 *   (e.g. the `[websocket]` group); borrowed for create() only.  Check
 *   @struct_size before reading it: cores before 0.2 did not pass it.
 * @http_server: (nullable): a `SoupServer` the application already runs
 *   (gossip_cluster_set_http_server()); a WebSocket transport mounts its
 *   endpoint on it at `[websocket] path` instead of listening itself.
 *   Transports that cannot use it ignore it.
 */
typedef struct
{
  gsize struct_size;
  GMainContext *context;
  GossipClock *clock;
  const char *bind_address;
  gboolean datagrams;
  gsize max_datagram_size;
  gsize max_frame_size;
  guint max_connections;
  gint64 idle_timeout_us;
  gint64 io_timeout_us;
  gint64 connect_timeout_us;
  const GossipTransportCallbacks *callbacks;
  gpointer user_data;
  GossipConfig *config;
  GObject *http_server;
} GossipTransportParams;

/**
 * GossipTransportSendFunc:
 * @user_data: as given to send_reliable
 * @error: (nullable): %NULL when the frame was handed to the peer's
 *   connection, else why not
 *
 * Completion of a reliable send; always called later on the context, never
 * from inside send_reliable.  Not called at all when the transport is
 * destroyed first.
 */
typedef void (*GossipTransportSendFunc) (gpointer user_data, const GError *error);

/**
 * GossipTransportVTable:
 * @struct_size: sizeof (GossipTransportVTable) when the plugin was built
 * @schemes: %NULL-terminated URI schemes this transport serves ("ws", "wss",
 *   "mem"); an empty list means plain "host:port" addresses
 * @create: bind and start listening; return %NULL with @error if it cannot
 * @destroy: close every socket and connection; drop queued frames
 * @get_local_address: the address peers can reach this node at (port 0 resolved);
 *   a newly allocated string
 * @send_datagram: send now or fail; never queues
 * @send_reliable: queue @frame on the pooled connection to @address,
 *   connecting if needed; @done (nullable) reports the outcome
 * @channel_open: (nullable): open a channel, a connection of its own to
 *   @address that carries ordered frames both ways and is never pooled or
 *   shared (the core runs one stream on it).  Returns %NULL with
 *   %GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS for an address it cannot parse;
 *   otherwise a channel at once, connecting in the background.  Frames sent
 *   before the connection is up are queued; a failed connect is reported
 *   through @callbacks->closed.  %NULL in the vtable: no channels (streams
 *   over this transport fail with a clear error).
 * @channel_attach: give an accepted channel (see
 *   #GossipTransportCallbacks.channel_accepted) its callbacks.  Frames that
 *   arrived before are delivered after this, on a later main-loop turn.
 * @channel_send: queue @frame on @channel; @done (nullable) is called once
 *   the frame is handed to the operating system, or with an error (TOO_BIG
 *   above max_frame_size, or the channel ended first).  The transport keeps
 *   every frame it is given; the core bounds how many are in flight.
 * @channel_close: end the channel.  Graceful (@abort %FALSE): frames queued
 *   are sent, then the peer sees closed(%NULL).  @abort %TRUE: queued frames
 *   are dropped and the peer sees closed() with an error.  Either way no
 *   callback for @channel is made after this returns (pending @done ones
 *   included), and the transport frees it when it is done with the socket.
 *
 * Channels count toward max_connections; connect_timeout and io_timeout
 * apply to them as to pooled connections, idle_timeout does not.  A
 * transport's destroy() ends its channels without calling back.
 */
typedef struct
{
  gsize struct_size;
  const char *const *schemes;
  gpointer (*create) (const GossipTransportParams *params, GError **error);
  void (*destroy) (gpointer self);
  char *(*get_local_address) (gpointer self);
  gboolean (*send_datagram) (gpointer self, const char *address, GBytes *frame, GError **error);
  void (*send_reliable) (gpointer self, const char *address, GBytes *frame,
                         GossipTransportSendFunc done, gpointer user_data);
  GossipTransportChannel *(*channel_open) (gpointer self, const char *address,
                                           const GossipTransportChannelCallbacks *callbacks,
                                           gpointer user_data, GError **error);
  void (*channel_attach) (gpointer self, GossipTransportChannel *channel,
                          const GossipTransportChannelCallbacks *callbacks, gpointer user_data);
  void (*channel_send) (gpointer self, GossipTransportChannel *channel, GBytes *frame,
                        GossipTransportSendFunc done, gpointer user_data);
  void (*channel_close) (gpointer self, GossipTransportChannel *channel, gboolean abort);
  /*< private >*/
  gpointer reserved[4];
} GossipTransportVTable;

/* Helpers for transport authors (core/gossip-transport-util.c) */

gboolean gossip_transport_push_context (GMainContext *context, GError **error);
void gossip_transport_pop_context (GMainContext *context);

/**
 * GossipTransportAcceptFunc:
 * @socket: (transfer full): an accepted connection, non-blocking
 * @user_data: as given to gossip_transport_accept_source_new()
 *
 * Called for every connection a listener accepts.
 */
typedef void (*GossipTransportAcceptFunc) (GSocket *socket, gpointer user_data);

GSocket *gossip_transport_listen_tcp (GSocketAddress *address, GError **error);
GSource *gossip_transport_accept_source_new (GSocket *listener, GossipTransportAcceptFunc func,
                                             gpointer user_data);

G_END_DECLS
