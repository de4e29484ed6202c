/* wslay-private.h: shared between the files of the websocket-wslay transport.
 *
 * Nothing here is exported from the module: only gossip_plugin_descriptor is.
 */
#pragma once

#include <gio/gio.h>
#include <wslay/wslay.h>

#include "gossip/gossip-clock.h"
#include "gossip/gossip-transport.h"

/* Subprotocols: one for pooled frame connections, one for channels. */
#define WS_PROTOCOL_FRAMES "gossip.v1"
#define WS_PROTOCOL_STREAM "gossip-stream.v1"
/* Largest HTTP request or response head of the upgrade handshake. */
#define WS_HANDSHAKE_MAX 8192
/* Bytes read from a socket per call, and the most kept unwritten. */
#define WS_READ_CHUNK   (256 * 1024)
#define WS_WRITE_BUFFER (256 * 1024)
/* Most frames a pooled connection queues before sends fail with LIMIT; the
 * queue also refuses a frame that would take it past twice max_frame_size. */
#define WS_SEND_QUEUE_MAX_FRAMES 128
/* Close codes: 4000 is this transport's "channel aborted". */
#define WS_CLOSE_ABORT 4000

typedef struct _WsTransport WsTransport;
/* A connection: pooled, or a channel (the core sees it as a channel). */
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
  gint64 ping_interval_us; /* 0: no pings */

  /* [websocket] settings. */
  char *path;
  gboolean allow_insecure;
  GTlsCertificate *certificate; /* serving wss:// when set */
  GTlsDatabase *database;       /* peers' certificates are checked against it */
  const char *scheme;           /* "wss" with a certificate, else "ws" */

  char *local_address;
  GSocket *listener;
  GSource *listener_source;

  /* Callbacks are never made from inside a vtable call: every report is
   * queued here and delivered from event_source, on the context. */
  GSource *event_source;
  GQueue events;

  GQueue conns;     /* every live WsConn (holds one reference each) */
  GHashTable *pool; /* peer key -> pooled WsConn, not owned */
  guint8 *read_buffer;
};

/* ws:// or wss:// URL, parsed. */
typedef struct
{
  gboolean tls;
  char *host; /* as in the URL, without brackets */
  guint16 port;
  char *path; /* "/" when the URL has none */
  char *key;  /* canonical text, the pool key */
  char *host_header;
  GInetSocketAddress *inet; /* NULL for a host name */
} WsUrl;

gboolean ws_url_parse (const char *address, WsUrl *url, GError **error);
void ws_url_clear (WsUrl *url);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WsUrl, ws_url_clear)

/* Events, delivered from the transport's event source. */
void ws_emit_received (WsTransport *t, WsConn *c, const char *from, GBytes *frame);
void ws_emit_dropped (WsTransport *t, const char *from, GError *reason);
void ws_emit_done (WsTransport *t, WsConn *channel, GossipTransportSendFunc done,
                   gpointer user_data, GError *error);
void ws_emit_channel_accepted (WsTransport *t, WsConn *c, const char *from);
void ws_emit_channel_received (WsTransport *t, WsConn *c, GBytes *frame);
void ws_emit_channel_closed (WsTransport *t, WsConn *c, GError *error);

/* Connections (wslay-connection.c). */
WsConn *ws_conn_ref (WsConn *c);
void ws_conn_unref (WsConn *c);
gboolean ws_conn_channel_is_live (WsConn *c);
void ws_conn_mark_channel_reported (WsConn *c);
void ws_conn_get_channel_callbacks (WsConn *c, const GossipTransportChannelCallbacks **callbacks,
                                    gpointer *user_data);
void ws_conn_accept (GSocket *socket, gpointer data);
void ws_conn_close_all (WsTransport *t);
void ws_conn_send (WsTransport *t, const char *address, GBytes *frame, GossipTransportSendFunc done,
                   gpointer user_data);
gboolean ws_conn_send_datagram (WsTransport *t, const char *address, GBytes *frame, GError **error);
WsConn *ws_channel_open (WsTransport *t, const char *address,
                         const GossipTransportChannelCallbacks *callbacks, gpointer user_data,
                         GError **error);
void ws_channel_attach (WsTransport *t, WsConn *c, const GossipTransportChannelCallbacks *callbacks,
                        gpointer user_data);
void ws_channel_send (WsTransport *t, WsConn *c, GBytes *frame, GossipTransportSendFunc done,
                      gpointer user_data);
void ws_channel_close (WsTransport *t, WsConn *c, gboolean abort);
void ws_channel_refused (WsConn *c);
void ws_conn_resume_reading (WsConn *c, gsize delivered);

/* The HTTP/1.1 upgrade handshake (wslay-handshake.c). */
char *ws_handshake_new_key (void);
char *ws_handshake_accept_key (const char *key);
char *ws_handshake_request (const WsUrl *url, const char *key, const char *protocol);
gssize ws_handshake_head_end (const guint8 *data, gsize len);
guint ws_handshake_check_request (const char *head, gsize len, const char *path,
                                  const char **protocol, char **accept, GError **error);
char *ws_handshake_response (guint status, const char *accept, const char *protocol);
gboolean ws_handshake_check_response (const char *head, gsize len, const char *key,
                                      const char *protocol, GError **error);
