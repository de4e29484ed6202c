/* ws-soup-private.h: shared between the files of the websocket-soup plugin.
 *
 * Nothing here is exported from the module: only gossip_plugin_descriptor is.
 */
#pragma once

#include <libsoup/soup.h>

#include "gossip/gossip-clock.h"
#include "gossip/gossip-transport.h"

#define WS_PROTOCOL_FRAMES "gossip.v1"
#define WS_PROTOCOL_STREAM "gossip-stream.v1"
/* Close code and reason of an aborted channel. */
#define WS_CLOSE_ABORT        4000
#define WS_CLOSE_ABORT_REASON "abort"
/* Most frames a pooled connection queues before sends fail with LIMIT; the
 * queue also refuses a frame that would take it past twice max_frame_size. */
#define WS_SEND_QUEUE_MAX_FRAMES 128

typedef struct _WsTransport WsTransport;
typedef struct _GossipTransportChannel WsConn;

struct _WsTransport
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

  /* [websocket] */
  char *path;
  gboolean allow_insecure;
  guint ping_interval_s;
  gboolean tls; /* serving wss:// */
  GTlsCertificate *certificate;
  GTlsDatabase *database; /* NULL: the system's */

  SoupServer *server;
  gboolean own_server; /* FALSE: mounted on the application's */
  GSocket *listener;   /* own server only */
  GSource *listener_source;
  GQueue accepted; /* Accepted: own server's connections not upgraded yet */
  char *local_address;
  SoupSession *session;

  GSource *event_source;
  GQueue events;

  GQueue conns;     /* every WsConn not yet finished (one reference each) */
  guint n_active;   /* those counted against max_connections */
  GHashTable *pool; /* key -> WsConn, not owned */
};

/* A parsed ws:// or wss:// URL. */
typedef struct
{
  GUri *uri; /* as given */
  gboolean tls;
  char *key; /* canonical "ws://host:port/path" (path as given, may be empty) */
} WsTarget;

gboolean ws_target_parse (const char *address, WsTarget *target, GError **error);
void ws_target_clear (WsTarget *target);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WsTarget, ws_target_clear)
char *ws_format_url (gboolean tls, const char *host, guint16 port, const char *path);
char *ws_format_peer (gboolean tls, GSocketAddress *address);

void ws_transport_emit_received (WsTransport *t, const char *from, GBytes *frame);
void ws_transport_emit_dropped (WsTransport *t, const char *from, GError *reason);
void ws_transport_emit_done (WsTransport *t, WsConn *channel, GossipTransportSendFunc done,
                             gpointer user_data, GError *error);
void ws_transport_emit_channel_received (WsTransport *t, WsConn *c, GBytes *frame);
void ws_transport_emit_channel_closed (WsTransport *t, WsConn *c, GError *error);
void ws_transport_emit_channel_accepted (WsTransport *t, WsConn *c);
void ws_transport_push_early_events (WsTransport *t, GQueue *early);
void ws_transport_free_event (gpointer event);

/* ws-soup-connection.c */
gboolean ws_conn_is_channel (WsConn *c);
gboolean ws_conn_owner_gone (WsConn *c);
gboolean ws_conn_is_attached (WsConn *c);
const char *ws_conn_peer (WsConn *c);
void ws_conn_take_early_event (WsConn *c, gpointer event);
WsConn *ws_conn_ref (WsConn *c);
void ws_conn_unref (WsConn *c);

void ws_conn_accepted (WsTransport *t, SoupWebsocketConnection *ws, GSocketAddress *remote);
gboolean ws_conn_send (WsTransport *t, const char *address, GBytes *frame, gboolean datagram,
                       GossipTransportSendFunc done, gpointer user_data, GError **error);
WsConn *ws_channel_open (WsTransport *t, const char *address,
                         const GossipTransportChannelCallbacks *callbacks, gpointer user_data,
                         GError **error);
void ws_channel_attach (WsTransport *t, WsConn *c, const GossipTransportChannelCallbacks *callbacks,
                        gpointer user_data);
void ws_channel_send (WsTransport *t, WsConn *c, GBytes *frame, GossipTransportSendFunc done,
                      gpointer user_data);
void ws_channel_close (WsTransport *t, WsConn *c, gboolean abort);
void ws_channel_refuse (WsTransport *t, WsConn *c);
const GossipTransportChannelCallbacks *ws_channel_callbacks (WsConn *c, gpointer *user_data);
void ws_channel_closed_reported (WsConn *c);
void ws_conn_close_all (WsTransport *t);
