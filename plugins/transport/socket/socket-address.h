/* socket-address.h: host:port parsing and formatting, shared by the socket
 * transport and the websocket-wslay transport (which compiles
 * socket-address.c in too). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

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

G_END_DECLS
