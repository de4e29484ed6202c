/* socket-address.c: the socket transport's address forms.
 *
 * An address is "IPv4:port", "[IPv6]:port" or "hostname:port", always with
 * an explicit port.  GLib's own host-and-port parser is lenient (a missing
 * port falls back to a default, an unbracketed IPv6 address passes), so the
 * split is done here and GIO parses the pieces.  Addresses are written back
 * in one canonical form, which is also what pools connections: IPv4-mapped
 * IPv6 addresses (seen on dual-stack sockets) are written as plain IPv4.
 */
#include "config.h"

#include <string.h>

#include "socket-address.h"
#include "gossip/gossip-transport.h"

#define HOSTNAME_MAX 253

static gboolean
hostname_is_valid (const char *host, gsize len)
{
  gboolean label_start = TRUE;

  if (len == 0 || len > HOSTNAME_MAX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = host[i];

      if (c == '.')
        {
          if (label_start)
            return FALSE;
          label_start = TRUE;
          continue;
        }
      if (!g_ascii_isalnum (c) && c != '-' && c != '_')
        return FALSE;
      label_start = FALSE;
    }
  return TRUE;
}

static gboolean
parse_port (const char *text, gboolean allow_zero, guint16 *port)
{
  guint64 value;

  /* g_ascii_string_to_unsigned() takes a sign or spaces nowhere: digits only. */
  if (text[0] < '0' || text[0] > '9' || strlen (text) > 5)
    return FALSE;
  if (!g_ascii_string_to_unsigned (text, 10, allow_zero ? 0 : 1, G_MAXUINT16, &value, NULL))
    return FALSE;
  *port = (guint16) value;
  return TRUE;
}

static gboolean
bad_address (GError **error, const char *address, const char *why)
{
  g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
               "bad address \"%s\": %s", address, why);
  return FALSE;
}

/*
 * Parses @address.  With @allow_hostname FALSE only numeric addresses pass
 * (the datagram path and bind addresses never resolve names: that would
 * block).  Errors are GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS.
 */
gboolean
socket_target_parse (const char *address, gboolean allow_port_zero, gboolean allow_hostname,
                     SocketTarget *target, GError **error)
{
  g_autofree char *host = NULL;
  const char *port_text;
  gboolean bracketed = FALSE;

  memset (target, 0, sizeof *target);
  if (address == NULL || address[0] == '\0')
    return bad_address (error, "", "empty");
  if (address[0] == '[')
    {
      const char *close = strchr (address, ']');

      if (close == NULL || close[1] != ':')
        return bad_address (error, address, "expected \"[IPv6]:port\"");
      host = g_strndup (address + 1, close - address - 1);
      port_text = close + 2;
      bracketed = TRUE;
    }
  else
    {
      const char *colon = strchr (address, ':');

      if (colon == NULL)
        return bad_address (error, address, "no port");
      if (strchr (colon + 1, ':') != NULL)
        return bad_address (error, address, "IPv6 addresses go in brackets: \"[IPv6]:port\"");
      host = g_strndup (address, colon - address);
      port_text = colon + 1;
    }
  if (!parse_port (port_text, allow_port_zero, &target->port))
    return bad_address (error, address,
                        allow_port_zero ? "the port must be 0 to 65535"
                                        : "the port must be 1 to 65535");

  if (host[0] != '\0')
    target->inet
        = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string (host, target->port));
  if (target->inet != NULL)
    {
      GSocketFamily family = g_socket_address_get_family (G_SOCKET_ADDRESS (target->inet));

      if (bracketed != (family == G_SOCKET_FAMILY_IPV6))
        {
          g_clear_object (&target->inet);
          return bad_address (error, address,
                              bracketed ? "only IPv6 addresses go in brackets"
                                        : "IPv6 addresses go in brackets: \"[IPv6]:port\"");
        }
      target->key = socket_format_address (G_SOCKET_ADDRESS (target->inet));
      if (target->key == NULL)
        {
          g_clear_object (&target->inet);
          return bad_address (error, address, "unusable IP address");
        }
      return TRUE;
    }
  if (bracketed)
    return bad_address (error, address, "not an IPv6 address");
  if (!hostname_is_valid (host, strlen (host)))
    return bad_address (error, address, "neither an IP address nor a host name");
  if (!allow_hostname)
    return bad_address (error, address, "a numeric IP address is needed here");
  target->host = g_ascii_strdown (host, -1);
  target->key = g_strdup_printf ("%s:%u", target->host, target->port);
  return TRUE;
}

void
socket_target_clear (SocketTarget *target)
{
  g_clear_object (&target->inet);
  g_clear_pointer (&target->host, g_free);
  g_clear_pointer (&target->key, g_free);
}

/* ::ffff:a.b.c.d as a.b.c.d; NULL when @ip is not IPv4-mapped. */
static GInetAddress *
unmap_ipv4 (GInetAddress *ip)
{
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  const guint8 *bytes;

  if (g_inet_address_get_family (ip) != G_SOCKET_FAMILY_IPV6)
    return NULL;
  bytes = g_inet_address_to_bytes (ip);
  if (memcmp (bytes, prefix, sizeof prefix) != 0)
    return NULL;
  return g_inet_address_new_from_bytes (bytes + 12, G_SOCKET_FAMILY_IPV4);
}

/* "IP:port" or "[IPv6]:port"; NULL for anything but an internet address. */
char *
socket_format_address (GSocketAddress *address)
{
  g_autoptr (GInetAddress) unmapped = NULL;
  g_autofree char *ip_text = NULL;
  GInetAddress *ip;
  guint16 port;

  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return NULL;
  ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
  unmapped = unmap_ipv4 (ip);
  if (unmapped != NULL)
    ip = unmapped;
  ip_text = g_inet_address_to_string (ip);
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", ip_text, port);
  return g_strdup_printf ("%s:%u", ip_text, port);
}

/*
 * @address as a socket of @family can send to it: an IPv4 address becomes
 * IPv4-mapped for an IPv6 (dual-stack) socket.  Returns a new reference, or
 * NULL when an IPv4 socket is asked to reach an IPv6 address.
 */
GInetSocketAddress *
socket_address_for_family (GInetSocketAddress *address, GSocketFamily family)
{
  GSocketFamily have = g_socket_address_get_family (G_SOCKET_ADDRESS (address));
  GInetAddress *ip;
  guint8 bytes[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  g_autoptr (GInetAddress) mapped = NULL;

  if (have == family)
    return g_object_ref (address);
  if (have == G_SOCKET_FAMILY_IPV6)
    return NULL;
  ip = g_inet_socket_address_get_address (address);
  memcpy (bytes + 12, g_inet_address_to_bytes (ip), 4);
  mapped = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
  return G_INET_SOCKET_ADDRESS (
      g_inet_socket_address_new (mapped, g_inet_socket_address_get_port (address)));
}
