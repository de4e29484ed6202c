/* wslay-handshake.c: the HTTP/1.1 upgrade of RFC 6455, both sides, and URLs.
 *
 * The client asks for GET PATH with Upgrade: websocket, a random 16-byte
 * Sec-WebSocket-Key and one subprotocol, gossip.v1 (pooled frames) or
 * gossip-stream.v1 (a channel).  The server answers 101 with the matching
 * Sec-WebSocket-Accept (SHA-1 of the key and RFC 6455's GUID, in base64)
 * and the subprotocol asked for; a wrong path gets 404, anything else it
 * cannot take 400.  No extension is offered or accepted.  Heads are bounded
 * by WS_HANDSHAKE_MAX; the caller bounds the time.
 */
#include "config.h"

#include <string.h>

#include "socket-address.h"
#include "wslay-private.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ------------------------------------------------------------------------ */
/* URLs */

static gboolean
bad_url (GError **error, const char *address, const char *why)
{
  g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
               "bad address \"%s\": %s", address, why);
  return FALSE;
}

/*
 * "ws://HOST:PORT/PATH" or "wss://...": HOST an IPv4 address, a bracketed
 * IPv6 address or a host name; PORT required; PATH optional ("/" then), no
 * spaces, controls or fragment.  The key is the canonical form (numeric IPs
 * as socket-address.c writes them) and keeps the path only when one was
 * given, so "ws://IP:port" names an inbound connection's peer.
 */
gboolean
ws_url_parse (const char *address, WsUrl *url, GError **error)
{
  g_auto (SocketTarget) target = { 0 };
  g_autoptr (GError) local_error = NULL;
  g_autofree char *authority = NULL;
  const char *rest;
  const char *slash;

  memset (url, 0, sizeof *url);
  if (address == NULL)
    return bad_url (error, "", "empty");
  if (g_str_has_prefix (address, "wss://"))
    {
      url->tls = TRUE;
      rest = address + 6;
    }
  else if (g_str_has_prefix (address, "ws://"))
    rest = address + 5;
  else
    return bad_url (error, address, "expected ws://HOST:PORT/PATH or wss://...");
  slash = strchr (rest, '/');
  authority = slash != NULL ? g_strndup (rest, slash - rest) : g_strdup (rest);
  if (strchr (authority, '@') != NULL)
    return bad_url (error, address, "user information is not allowed");
  if (!socket_target_parse (authority, FALSE, TRUE, &target, &local_error))
    return bad_url (error, address, "expected HOST:PORT after the scheme");
  if (slash != NULL)
    {
      for (const char *p = slash; *p != '\0'; p++)
        if ((guchar) *p <= ' ' || (guchar) *p >= 0x7f || *p == '#')
          return bad_url (error, address, "the path has a character URLs cannot carry");
    }
  url->port = target.port;
  url->path = g_strdup (slash != NULL ? slash : "/");
  url->inet = g_steal_pointer (&target.inet);
  if (url->inet != NULL)
    {
      g_autofree char *ip
          = g_inet_address_to_string (g_inet_socket_address_get_address (url->inet));

      url->host = g_steal_pointer (&ip);
    }
  else
    url->host = g_strdup (target.host);
  url->key = g_strdup_printf ("%s://%s%s", url->tls ? "wss" : "ws", target.key,
                              slash != NULL ? slash : "");
  url->host_header = g_strdup (target.key);
  return TRUE;
}

void
ws_url_clear (WsUrl *url)
{
  g_clear_pointer (&url->host, g_free);
  g_clear_pointer (&url->path, g_free);
  g_clear_pointer (&url->key, g_free);
  g_clear_pointer (&url->host_header, g_free);
  g_clear_object (&url->inet);
}

/* ------------------------------------------------------------------------ */
/* Keys */

char *
ws_handshake_new_key (void)
{
  guint8 nonce[16];

  for (gsize i = 0; i < sizeof nonce; i += 4)
    {
      guint32 r = g_random_int ();

      memcpy (nonce + i, &r, 4);
    }
  return g_base64_encode (nonce, sizeof nonce);
}

char *
ws_handshake_accept_key (const char *key)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) key, strlen (key));
  g_checksum_update (sha1, (const guchar *) WS_GUID, strlen (WS_GUID));
  g_checksum_get_digest (sha1, digest, &digest_len);
  return g_base64_encode (digest, digest_len);
}

/* ------------------------------------------------------------------------ */
/* Heads */

char *
ws_handshake_request (const WsUrl *url, const char *key, const char *protocol)
{
  return g_strdup_printf ("GET %s HTTP/1.1\r\n"
                          "Host: %s\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "Sec-WebSocket-Protocol: %s\r\n"
                          "\r\n",
                          url->path, url->host_header, key, protocol);
}

char *
ws_handshake_response (guint status, const char *accept, const char *protocol)
{
  if (status == 101)
    return g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\n"
                            "Upgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: %s\r\n"
                            "Sec-WebSocket-Protocol: %s\r\n"
                            "\r\n",
                            accept, protocol);
  return g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                          "Content-Length: 0\r\n"
                          "Connection: close\r\n"
                          "\r\n",
                          status, status == 404 ? "Not Found" : "Bad Request");
}

/* Offset just past the blank line ending the head, or -1. */
gssize
ws_handshake_head_end (const guint8 *data, gsize len)
{
  for (gsize i = 3; i < len; i++)
    if (data[i] == '\n' && data[i - 1] == '\r' && data[i - 2] == '\n' && data[i - 3] == '\r')
      return (gssize) (i + 1);
  return -1;
}

typedef struct
{
  char *start_line;
  GHashTable *headers; /* lower-case name -> value, repeats joined by ", " */
} Head;

static void
head_clear (Head *head)
{
  g_clear_pointer (&head->start_line, g_free);
  g_clear_pointer (&head->headers, g_hash_table_unref);
}

static gboolean
is_token_char (char c)
{
  return g_ascii_isalnum (c) || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

static gboolean
head_parse (const char *data, gsize len, Head *head, GError **error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  memset (head, 0, sizeof *head);
  if (memchr (data, '\0', len) != NULL)
    {
      g_set_error_literal (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                           "a NUL byte in the handshake");
      return FALSE;
    }
  text = g_strndup (data, len);
  lines = g_strsplit (text, "\r\n", -1);
  head->start_line = g_strdup (lines[0]);
  head->headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      const char *line = lines[i];
      const char *colon = strchr (line, ':');
      g_autofree char *name = NULL;
      g_autofree char *value = NULL;
      const char *old;

      if (colon == NULL || colon == line)
        goto malformed;
      for (const char *p = line; p < colon; p++)
        if (!is_token_char (*p))
          goto malformed;
      for (const char *p = colon + 1; *p != '\0'; p++)
        if (((guchar) *p < ' ' && *p != '\t') || *p == 0x7f)
          goto malformed;
      name = g_ascii_strdown (line, colon - line);
      value = g_strstrip (g_strdup (colon + 1));
      old = g_hash_table_lookup (head->headers, name);
      if (old != NULL)
        {
          char *joined = g_strdup_printf ("%s, %s", old, value);

          g_free (value);
          value = joined;
        }
      g_hash_table_replace (head->headers, g_steal_pointer (&name), g_steal_pointer (&value));
    }
  return TRUE;

malformed:
  head_clear (head);
  g_set_error_literal (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
                       "a malformed header line in the handshake");
  return FALSE;
}

/* Whether the comma-separated list @value holds @token (case-insensitive). */
static gboolean
list_has_token (const char *value, const char *token)
{
  g_auto (GStrv) items = NULL;

  if (value == NULL)
    return FALSE;
  items = g_strsplit (value, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    if (g_ascii_strcasecmp (g_strstrip (items[i]), token) == 0)
      return TRUE;
  return FALSE;
}

static guint
refuse (GError **error, guint status, const char *why)
{
  g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL,
               "refused a WebSocket handshake (%u): %s", status, why);
  return status;
}

/*
 * Checks a client's request head (without the blank line).  Returns 101 with
 * @protocol (static) and @accept (new) set, or the HTTP status to refuse
 * with (404 for another path, else 400) and @error saying why.
 */
guint
ws_handshake_check_request (const char *head_text, gsize len, const char *path,
                            const char **protocol, char **accept, GError **error)
{
  Head head;
  g_auto (GStrv) parts = NULL;
  g_autofree char *target = NULL;
  const char *key, *version, *wanted;
  g_autofree guchar *decoded = NULL;
  gsize decoded_len = 0;
  char *query;

  if (!head_parse (head_text, len, &head, error))
    return 400;
  parts = g_strsplit (head.start_line, " ", -1);
  if (g_strv_length (parts) != 3 || strcmp (parts[0], "GET") != 0
      || strcmp (parts[2], "HTTP/1.1") != 0)
    {
      head_clear (&head);
      return refuse (error, 400, "not a GET request of HTTP/1.1");
    }
  target = g_strdup (parts[1]);
  query = strchr (target, '?');
  if (query != NULL)
    *query = '\0';
  if (strcmp (target, path) != 0)
    {
      head_clear (&head);
      return refuse (error, 404, "no WebSocket endpoint at that path");
    }
  key = g_hash_table_lookup (head.headers, "sec-websocket-key");
  version = g_hash_table_lookup (head.headers, "sec-websocket-version");
  wanted = g_hash_table_lookup (head.headers, "sec-websocket-protocol");
  if (key != NULL)
    decoded = g_base64_decode (key, &decoded_len);
  if (!list_has_token (g_hash_table_lookup (head.headers, "upgrade"), "websocket")
      || !list_has_token (g_hash_table_lookup (head.headers, "connection"), "upgrade"))
    {
      head_clear (&head);
      return refuse (error, 400, "not a WebSocket upgrade");
    }
  if (version == NULL || strcmp (version, "13") != 0)
    {
      head_clear (&head);
      return refuse (error, 400, "not WebSocket version 13");
    }
  if (key == NULL || decoded_len != 16)
    {
      head_clear (&head);
      return refuse (error, 400, "no valid Sec-WebSocket-Key");
    }
  if (list_has_token (wanted, WS_PROTOCOL_FRAMES))
    *protocol = WS_PROTOCOL_FRAMES;
  else if (list_has_token (wanted, WS_PROTOCOL_STREAM))
    *protocol = WS_PROTOCOL_STREAM;
  else
    {
      head_clear (&head);
      return refuse (error, 400, "no subprotocol this transport speaks");
    }
  *accept = ws_handshake_accept_key (key);
  head_clear (&head);
  return 101;
}

static gboolean
response_failed (GError **error, const char *why)
{
  g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
               "WebSocket handshake failed: %s", why);
  return FALSE;
}

/* Checks a server's response head to a request with @key and @protocol. */
gboolean
ws_handshake_check_response (const char *head_text, gsize len, const char *key,
                             const char *protocol, GError **error)
{
  Head head;
  g_autofree char *expected = NULL;
  const char *accept, *got_protocol;
  gboolean ok;

  if (!head_parse (head_text, len, &head, error))
    return FALSE;
  if (!g_str_has_prefix (head.start_line, "HTTP/1.1 "))
    {
      head_clear (&head);
      return response_failed (error, "not an HTTP/1.1 response");
    }
  if (!g_str_has_prefix (head.start_line, "HTTP/1.1 101"))
    {
      g_autofree char *why
          = g_strdup_printf ("the server answered \"%s\"", head.start_line + strlen ("HTTP/1.1 "));

      head_clear (&head);
      return response_failed (error, why);
    }
  expected = ws_handshake_accept_key (key);
  accept = g_hash_table_lookup (head.headers, "sec-websocket-accept");
  got_protocol = g_hash_table_lookup (head.headers, "sec-websocket-protocol");
  if (!list_has_token (g_hash_table_lookup (head.headers, "upgrade"), "websocket")
      || !list_has_token (g_hash_table_lookup (head.headers, "connection"), "upgrade"))
    ok = response_failed (error, "the response is not a WebSocket upgrade");
  else if (accept == NULL || strcmp (accept, expected) != 0)
    ok = response_failed (error, "wrong Sec-WebSocket-Accept");
  else if (got_protocol == NULL || strcmp (got_protocol, protocol) != 0)
    ok = response_failed (error, "the server did not take the subprotocol");
  else if (g_hash_table_contains (head.headers, "sec-websocket-extensions"))
    ok = response_failed (error, "the server chose an extension none was offered");
  else
    ok = TRUE;
  head_clear (&head);
  return ok;
}
