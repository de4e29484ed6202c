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
 *  - after destroy() returns, no callback is made and no memory is kept.
 */
#pragma once

#include <gio/gio.h>
#include "gossip-clock.h"

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

/**
 * GossipTransportCallbacks:
 * @received: a whole frame arrived; @from is the peer's address as the
 *   transport sees it (for datagrams, the address to answer to).  @frame is
 *   only borrowed for the call; ref it to keep it.
 * @dropped: the transport refused input (oversized length prefix, too many
 *   connections, a peer too slow); @from may be %NULL.  For counting and
 *   rate-limited logging only.
 */
typedef struct
{
  void (*received) (gpointer user_data, GossipTransportPath path, const char *from, GBytes *frame);
  void (*dropped) (gpointer user_data, const char *from, const GError *reason);
  /*< private >*/
  gpointer reserved[4];
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
  /*< private >*/
  gpointer reserved[8];
} GossipTransportVTable;

G_END_DECLS
