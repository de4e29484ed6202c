/* gossip-address.c: parsing and resolving the address forms of
 * gossip-address.h.
 *
 * Parsing is strict: an address is taken whole or refused with a message
 * that quotes it.  Resolution goes through a GResolver (the default one
 * unless told otherwise), so tests can put a fake resolver in its place:
 * names with g_resolver_lookup_by_name_async(), `srv+` names with
 * g_resolver_lookup_records_async(G_RESOLVER_RECORD_SRV) and then every
 * target's A/AAAA records, all targets at once.
 */
#include "config.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>

#include "gossip/gossip-address.h"
#include "gossip-address-private.h"

G_DEFINE_QUARK (gossip - address - error - quark, gossip_address_error)

#define SRV_PREFIX      "srv+"
#define MAX_LABEL       63
#define QUOTED_MAX      200 /* bytes of the input an error message shows */
#define WS_PORT         80
#define WSS_PORT        443
#define PORT_MAX_DIGITS 5

struct _GossipAddress
{
  GossipAddressKind kind;
  char *scheme; /* "srv", "ws", "wss", another URL scheme; NULL for IP and hostname */
  char *host;   /* canonical: lowercase name, or IP as GInetAddress writes it */
  guint16 port; /* 0 for srv+ and URLs without one */
  char *path;   /* URLs: path and query; "" otherwise */
  char *text;   /* as given (URLs pass through unchanged) */
};

G_DEFINE_BOXED_TYPE (GossipAddress, gossip_address, gossip_address_copy, gossip_address_free)

/* ------------------------------------------------------------------------ */
/* Parsing */

/* The input as error messages show it: escaped, and cut when long. */
static char *
quote_input (const char *text)
{
  gsize len = strlen (text);
  g_autofree char *head = g_strndup (text, MIN (len, QUOTED_MAX));
  g_autofree char *escaped = g_strescape (head, NULL);

  return g_strdup_printf ("\"%s\"%s", escaped, len > QUOTED_MAX ? " (cut)" : "");
}

static gpointer invalid (GError **error, const char *text, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static gpointer
invalid (GError **error, const char *text, const char *format, ...)
{
  g_autofree char *quoted = quote_input (text);
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_INVALID, "bad address %s: %s",
               quoted, why);
  return NULL;
}

static gboolean
parse_port (const char *text, guint16 *port)
{
  guint64 value;
  gsize len = strlen (text);

  /* g_ascii_string_to_unsigned() alone would take a leading sign or space. */
  if (len == 0 || len > PORT_MAX_DIGITS || strspn (text, "0123456789") != len)
    return FALSE;
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT16, &value, NULL))
    return FALSE;
  *port = (guint16) value;
  return TRUE;
}

/*
 * A DNS name as RFC 1123 allows it (plus '_', which SRV names need): labels
 * of 1 to 63 letters, digits, '-' and '_', no '-' at either end of a label,
 * at most 253 bytes, one final dot allowed.  An all-digit last label is
 * refused: "10.0.0.256" is a mistyped IP address, not a name.
 * Internationalised names are converted to their ASCII form.  Returns the
 * name in lowercase without the final dot, or NULL with @why set.
 */
static char *
normalise_name (const char *name, const char **why)
{
  g_autofree char *ascii = NULL;
  gsize len, label_start = 0;
  gboolean all_digits = TRUE;

  if (g_hostname_is_non_ascii (name))
    {
      ascii = g_hostname_to_ascii (name);
      if (ascii == NULL)
        {
          *why = "not a valid internationalised host name";
          return NULL;
        }
      name = ascii;
    }
  len = strlen (name);
  if (len > 1 && name[len - 1] == '.')
    len--;
  if (len == 0)
    {
      *why = "empty host";
      return NULL;
    }
  if (len > GOSSIP_ADDRESS_MAX_NAME)
    {
      *why = "the host name is longer than 253 bytes";
      return NULL;
    }
  for (gsize i = 0; i <= len; i++)
    {
      char c = i < len ? name[i] : '.';

      if (c == '.')
        {
          gsize label_len = i - label_start;
          if (label_len == 0 || label_len > MAX_LABEL)
            {
              *why = label_len == 0 ? "empty label in the host name"
                                    : "a label of the host name is longer than 63 bytes";
              return NULL;
            }
          if (name[label_start] == '-' || name[i - 1] == '-')
            {
              *why = "a label of the host name starts or ends with '-'";
              return NULL;
            }
          if (i < len)
            all_digits = TRUE;
          label_start = i + 1;
          continue;
        }
      if (!g_ascii_isalnum (c) && c != '-' && c != '_')
        {
          *why = "neither an IP address nor a host name";
          return NULL;
        }
      if (!g_ascii_isdigit (c))
        all_digits = FALSE;
    }
  if (all_digits)
    {
      *why = "neither an IP address nor a host name";
      return NULL;
    }
  return g_ascii_strdown (name, (gssize) len);
}

static GossipAddress *
address_new (GossipAddressKind kind, const char *text)
{
  GossipAddress *a = g_new0 (GossipAddress, 1);

  a->kind = kind;
  a->text = g_strdup (text);
  a->path = g_strdup ("");
  return a;
}

/* ws:// and wss:// URLs, and those of transports' own schemes. */
static GossipAddress *
parse_url (const char *text, const char *scheme_end, GError **error)
{
  g_autofree char *scheme = g_ascii_strdown (text, scheme_end - text);
  g_autofree char *userinfo = NULL, *host = NULL, *path = NULL, *query = NULL;
  g_autofree char *fragment = NULL;
  g_autoptr (GError) uri_error = NULL;
  g_autoptr (GossipAddress) a = NULL;
  gboolean websocket = g_str_equal (scheme, "ws") || g_str_equal (scheme, "wss");
  gint port = -1;

  GUriFlags flags = G_URI_FLAGS_ENCODED | (websocket ? G_URI_FLAGS_NONE : G_URI_FLAGS_NON_DNS);

  if (!g_uri_split (text, flags, NULL, &userinfo, &host, &port, &path, &query, &fragment,
                    &uri_error))
    return invalid (error, text, "not a valid URL: %s", uri_error->message);
  a = address_new (websocket ? GOSSIP_ADDRESS_KIND_WEBSOCKET : GOSSIP_ADDRESS_KIND_URL, text);
  a->scheme = g_steal_pointer (&scheme);
  g_free (a->path);
  a->path = query ? g_strconcat (path, "?", query, NULL) : g_strdup (path);
  if (!websocket)
    {
      a->host = g_strdup (host ? host : "");
      a->port = port > 0 && port <= G_MAXUINT16 ? (guint16) port : 0;
      return g_steal_pointer (&a);
    }
  if (userinfo != NULL)
    return invalid (error, text, "a WebSocket address takes no user name or password");
  if (fragment != NULL)
    return invalid (error, text, "a WebSocket address takes no #fragment");
  if (host == NULL || host[0] == '\0')
    return invalid (error, text, "empty host");
  if (port == 0 || port > G_MAXUINT16)
    return invalid (error, text, "the port must be a number from 1 to 65535");
  {
    g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (host);
    const char *why = NULL;

    a->host = ip ? g_inet_address_to_string (ip) : normalise_name (host, &why);
    if (a->host == NULL)
      return invalid (error, text, "%s", why);
  }
  a->port = port > 0 ? (guint16) port : g_str_equal (a->scheme, "ws") ? WS_PORT : WSS_PORT;
  return g_steal_pointer (&a);
}

static GossipAddress *
parse_srv (const char *text, GError **error)
{
  const char *name = text + strlen (SRV_PREFIX);
  const char *why = NULL;
  GossipAddress *a;
  char *host;

  if (name[0] == '\0')
    return invalid (error, text, "empty SRV name after \"srv+\"");
  if (strchr (name, ':') != NULL)
    return invalid (error, text, "an SRV name takes no port: its records give the ports");
  host = normalise_name (name, &why);
  if (host == NULL)
    return invalid (error, text, "SRV name: %s", why);
  a = address_new (GOSSIP_ADDRESS_KIND_SRV, text);
  a->scheme = g_strdup ("srv");
  a->host = host;
  return a;
}

/* host, host:port, IPv4, IPv4:port, IPv6, [IPv6], [IPv6]:port */
static GossipAddress *
parse_host_port (const char *text, guint16 default_port, GError **error)
{
  g_autoptr (GInetAddress) ip = NULL;
  g_autofree char *host = NULL;
  const char *port_text = NULL;
  const char *first_colon = strchr (text, ':');
  GossipAddress *a;
  guint16 port = default_port;

  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');

      if (close == NULL)
        return invalid (error, text, "missing \"]\"");
      host = g_strndup (text + 1, close - text - 1);
      if (host[0] == '\0')
        return invalid (error, text, "empty host");
      ip = g_inet_address_new_from_string (host);
      if (ip == NULL || g_inet_address_get_family (ip) != G_SOCKET_FAMILY_IPV6)
        return invalid (error, text, "not an IPv6 address between \"[\" and \"]\"");
      if (close[1] == ':')
        port_text = close + 2;
      else if (close[1] != '\0')
        return invalid (error, text, "junk after \"]\"");
    }
  else if (first_colon != NULL && strchr (first_colon + 1, ':') != NULL)
    {
      /* Several colons: an IPv6 address without a port, or a mistake. */
      ip = g_inet_address_new_from_string (text);
      if (ip == NULL || g_inet_address_get_family (ip) != G_SOCKET_FAMILY_IPV6)
        return invalid (error, text,
                        "too many \":\" (an IPv6 address with a port is written \"[IPv6]:port\")");
    }
  else
    {
      host = first_colon ? g_strndup (text, first_colon - text) : g_strdup (text);
      port_text = first_colon ? first_colon + 1 : NULL;
      if (host[0] == '\0')
        return invalid (error, text, "empty host");
      ip = g_inet_address_new_from_string (host);
    }
  if (port_text != NULL && port_text[0] == '\0')
    return invalid (error, text, "missing port after \":\"");
  if (port_text != NULL && !parse_port (port_text, &port))
    return invalid (error, text, "the port must be a number from 1 to 65535");
  if (port == 0)
    return invalid (error, text, "no port given, and there is no default port");

  a = address_new (ip ? GOSSIP_ADDRESS_KIND_IP : GOSSIP_ADDRESS_KIND_HOSTNAME, text);
  a->port = port;
  if (ip != NULL)
    a->host = g_inet_address_to_string (ip);
  else
    {
      const char *why = NULL;
      a->host = normalise_name (host, &why);
      if (a->host == NULL)
        {
          gossip_address_free (a);
          return invalid (error, text, "%s", why);
        }
    }
  return a;
}

static gboolean
scheme_is_valid (const char *text, gsize len)
{
  if (len == 0 || !g_ascii_isalpha (text[0]))
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '-' && text[i] != '.')
      return FALSE;
  return TRUE;
}

/**
 * gossip_address_parse:
 * @text: an address in one of the forms of gossip-address.h
 * @default_port: the port of a host or IP given without one; 0 to require a port
 * @error: return location for a #GError
 *
 * Parses @text without resolving anything.  Names are lowercased, IP
 * addresses written in their canonical form, IDN names converted to ASCII.
 *
 * Returns: (transfer full): the parsed address, or %NULL with @error set to
 *   %GOSSIP_ADDRESS_ERROR_INVALID, its message quoting @text
 */
GossipAddress *
gossip_address_parse (const char *text, guint16 default_port, GError **error)
{
  const char *scheme_end;
  gsize len;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  len = strlen (text);
  if (len == 0)
    return invalid (error, text, "empty");
  if (len > GOSSIP_ADDRESS_MAX_LENGTH)
    return invalid (error, text, "longer than %d bytes", GOSSIP_ADDRESS_MAX_LENGTH);
  if (!g_utf8_validate (text, (gssize) len, NULL))
    return invalid (error, text, "not valid UTF-8");
  for (gsize i = 0; i < len; i++)
    if ((guchar) text[i] <= ' ' || text[i] == 0x7f)
      return invalid (error, text, "contains a space or control character");
  if (g_ascii_strncasecmp (text, SRV_PREFIX, strlen (SRV_PREFIX)) == 0)
    return parse_srv (text, error);
  scheme_end = strstr (text, "://");
  if (scheme_end != NULL)
    {
      if (!scheme_is_valid (text, scheme_end - text))
        return invalid (error, text, "not a valid URL scheme before \"://\"");
      return parse_url (text, scheme_end, error);
    }
  return parse_host_port (text, default_port, error);
}

/**
 * gossip_address_copy:
 * @address: an address
 *
 * Returns: (transfer full): a copy of @address
 */
GossipAddress *
gossip_address_copy (const GossipAddress *address)
{
  GossipAddress *copy;

  g_return_val_if_fail (address != NULL, NULL);
  copy = g_memdup2 (address, sizeof *address);
  copy->scheme = g_strdup (address->scheme);
  copy->host = g_strdup (address->host);
  copy->path = g_strdup (address->path);
  copy->text = g_strdup (address->text);
  return copy;
}

/**
 * gossip_address_free:
 * @address: (nullable): an address
 */
void
gossip_address_free (GossipAddress *address)
{
  if (address == NULL)
    return;
  g_free (address->scheme);
  g_free (address->host);
  g_free (address->path);
  g_free (address->text);
  g_free (address);
}

/** gossip_address_get_kind: @address: an address. Returns: its form */
GossipAddressKind
gossip_address_get_kind (const GossipAddress *address)
{
  g_return_val_if_fail (address != NULL, GOSSIP_ADDRESS_KIND_IP);
  return address->kind;
}

/**
 * gossip_address_get_scheme:
 * @address: an address
 *
 * Returns: (nullable): "srv", "ws", "wss" or another URL scheme, lowercase;
 *   %NULL for IP addresses and host names
 */
const char *
gossip_address_get_scheme (const GossipAddress *address)
{
  g_return_val_if_fail (address != NULL, NULL);
  return address->scheme;
}

/**
 * gossip_address_get_host:
 * @address: an address
 *
 * Returns: the IP address (without brackets) or the name (for `srv+`, the
 *   SRV record's name); "" for a URL without a host
 */
const char *
gossip_address_get_host (const GossipAddress *address)
{
  g_return_val_if_fail (address != NULL, NULL);
  return address->host;
}

/**
 * gossip_address_get_port:
 * @address: an address
 *
 * Returns: the port, the default one if the text named none (80 for ws://,
 *   443 for wss://); 0 for `srv+` and URLs without a port
 */
guint16
gossip_address_get_port (const GossipAddress *address)
{
  g_return_val_if_fail (address != NULL, 0);
  return address->port;
}

/**
 * gossip_address_get_path:
 * @address: an address
 *
 * Returns: a URL's path with its query ("/gossip?x=1"); "" for other forms
 */
const char *
gossip_address_get_path (const GossipAddress *address)
{
  g_return_val_if_fail (address != NULL, NULL);
  return address->path;
}

static char *
format_host_port (const char *host, guint16 port)
{
  /* Only IPv6 literals contain ':'. */
  return strchr (host, ':') ? g_strdup_printf ("[%s]:%u", host, port)
                            : g_strdup_printf ("%s:%u", host, port);
}

/**
 * gossip_address_to_string:
 * @address: an address
 *
 * Writes @address in its canonical form: "ip:port", "[ipv6]:port",
 * "name:port", "srv+name", "ws://host:port/path"; a URL of another scheme
 * as it was given.
 *
 * Returns: (transfer full): the text
 */
char *
gossip_address_to_string (const GossipAddress *address)
{
  g_autofree char *authority = NULL;

  g_return_val_if_fail (address != NULL, NULL);
  switch (address->kind)
    {
    case GOSSIP_ADDRESS_KIND_IP:
    case GOSSIP_ADDRESS_KIND_HOSTNAME:
      return format_host_port (address->host, address->port);
    case GOSSIP_ADDRESS_KIND_SRV:
      return g_strconcat (SRV_PREFIX, address->host, NULL);
    case GOSSIP_ADDRESS_KIND_WEBSOCKET:
      authority = format_host_port (address->host, address->port);
      return g_strdup_printf ("%s://%s%s", address->scheme, authority, address->path);
    case GOSSIP_ADDRESS_KIND_URL:
    default:
      return g_strdup (address->text);
    }
}

/* What a transport takes for @a when no lookup is needed: the canonical IP
 * form, or the URL as given; NULL for names and srv+. */
static char *
ready_form (const GossipAddress *a)
{
  if (a->kind == GOSSIP_ADDRESS_KIND_IP)
    return gossip_address_to_string (a);
  if (a->kind == GOSSIP_ADDRESS_KIND_WEBSOCKET || a->kind == GOSSIP_ADDRESS_KIND_URL)
    return g_strdup (a->text);
  return NULL;
}

/*
 * ready_form() of @text: *@ready is NULL for names and srv+, which need
 * gossip_address_resolve_async().  FALSE with @error when @text does not
 * parse.
 */
gboolean
_gossip_address_to_transport (const char *text, guint16 default_port, char **ready, GError **error)
{
  g_autoptr (GossipAddress) a = gossip_address_parse (text, default_port, error);

  *ready = a ? ready_form (a) : NULL;
  return a != NULL;
}

/* ------------------------------------------------------------------------ */
/* Resolution */

typedef struct
{
  GTask *task; /* not owned */
  char *host;
  guint16 port;
  guint16 priority, weight; /* SRV */
  GList *addresses;         /* GInetAddress, once looked up */
  GError *error;
} Target;

typedef struct
{
  GossipAddress *address;
  GResolver *resolver;
  GPtrArray *targets; /* Target, in SRV order */
  guint pending;
} Resolve;

static void
target_free (gpointer data)
{
  Target *t = data;

  g_free (t->host);
  g_resolver_free_addresses (t->addresses);
  g_clear_error (&t->error);
  g_free (t);
}

static void
resolve_free (gpointer data)
{
  Resolve *r = data;

  gossip_address_free (r->address);
  g_object_unref (r->resolver);
  g_ptr_array_unref (r->targets);
  g_free (r);
}

static Target *
target_add (GTask *task, const char *host, guint16 port)
{
  Resolve *r = g_task_get_task_data (task);
  Target *t = g_new0 (Target, 1);

  t->task = task;
  t->host = g_strdup (host);
  t->port = port;
  g_ptr_array_add (r->targets, t);
  return t;
}

static char *
format_ip (GInetAddress *ip, guint16 port)
{
  g_autofree char *text = g_inet_address_to_string (ip);

  return format_host_port (text, port);
}

static void
resolve_complete (GTask *task)
{
  Resolve *r = g_task_get_task_data (task);
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) failures = g_string_new (NULL);
  g_autofree char *quoted = quote_input (r->address->text);

  if (g_task_return_error_if_cancelled (task))
    return;
  for (guint i = 0; i < r->targets->len; i++)
    {
      Target *t = g_ptr_array_index (r->targets, i);

      if (t->error != NULL)
        g_string_append_printf (failures, "%s%s", failures->len ? "; " : "", t->error->message);
      for (GList *l = t->addresses; l != NULL && found->len < GOSSIP_ADDRESS_MAX_RESULTS;
           l = l->next)
        {
          char *text = format_ip (l->data, t->port);
          if (g_ptr_array_find_with_equal_func (found, text, g_str_equal, NULL))
            g_free (text);
          else
            g_ptr_array_add (found, text);
        }
    }
  if (found->len > 0)
    {
      g_ptr_array_add (found, NULL);
      g_task_return_pointer (task, g_ptr_array_steal (found, NULL), (GDestroyNotify) g_strfreev);
    }
  else if (failures->len > 0)
    g_task_return_new_error (task, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED,
                             "cannot resolve %s: %s", quoted, failures->str);
  else
    g_task_return_new_error (task, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_NO_ADDRESSES,
                             "%s resolved to no addresses", quoted);
}

static void
target_looked_up (GObject *source, GAsyncResult *result, gpointer data)
{
  Target *t = data;
  GTask *task = t->task;
  Resolve *r = g_task_get_task_data (task);

  t->addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &t->error);
  if (--r->pending == 0)
    resolve_complete (task);
  g_object_unref (task);
}

/* Looks every target up at once; the task completes when all have answered. */
static void
lookup_targets (GTask *task)
{
  Resolve *r = g_task_get_task_data (task);

  r->pending = r->targets->len;
  for (guint i = 0; i < r->targets->len; i++)
    {
      Target *t = g_ptr_array_index (r->targets, i);

      g_object_ref (task); /* released by target_looked_up() */
      g_resolver_lookup_by_name_async (r->resolver, t->host, g_task_get_cancellable (task),
                                       target_looked_up, t);
    }
}

static gint
compare_srv (gconstpointer a, gconstpointer b)
{
  const Target *x = *(const Target *const *) a;
  const Target *y = *(const Target *const *) b;

  /* RFC 2782: lowest priority first; among equals, heaviest first. */
  if (x->priority != y->priority)
    return x->priority < y->priority ? -1 : 1;
  return x->weight == y->weight ? 0 : x->weight > y->weight ? -1 : 1;
}

static void
srv_records_looked_up (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  Resolve *r = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree char *quoted = quote_input (r->address->text);
  GList *records = g_resolver_lookup_records_finish (G_RESOLVER (source), result, &error);
  guint skipped = 0;

  if (error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED,
                                 "cannot resolve %s: %s", quoted, error->message);
      return;
    }
  for (GList *l = records; l != NULL; l = l->next)
    {
      guint16 priority, weight, port;
      const char *target_name;
      g_autofree char *host = NULL;
      const char *why = NULL;
      Target *t;

      if (!g_variant_is_of_type (l->data, G_VARIANT_TYPE ("(qqqs)")))
        continue;
      g_variant_get (l->data, "(qqq&s)", &priority, &weight, &port, &target_name);
      /* "." is RFC 2782's "no such service here". */
      if (g_str_equal (target_name, ".") || target_name[0] == '\0')
        continue;
      host = normalise_name (target_name, &why);
      if (host == NULL || port == 0)
        {
          skipped++;
          continue;
        }
      t = target_add (task, host, port);
      t->priority = priority;
      t->weight = weight;
    }
  g_list_free_full (records, (GDestroyNotify) g_variant_unref);
  if (r->targets->len == 0)
    {
      g_task_return_new_error (task, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_NO_ADDRESSES,
                               "%s has no usable SRV targets%s", quoted,
                               skipped ? " (invalid names or port 0)" : "");
      return;
    }
  g_ptr_array_sort (r->targets, compare_srv); /* stable: record order among equals */
  if (r->targets->len > GOSSIP_ADDRESS_MAX_RESULTS)
    g_ptr_array_set_size (r->targets, GOSSIP_ADDRESS_MAX_RESULTS);
  lookup_targets (task);
}

/**
 * gossip_address_resolve_async:
 * @text: an address in one of the forms of gossip-address.h
 * @default_port: the port of a host or IP given without one; 0 to require a port
 * @resolver: (nullable): the resolver to use; %NULL for g_resolver_get_default()
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Turns @text into the addresses transports take.  An IP address comes back
 * in canonical form and a URL unchanged, without a lookup.  A host name is
 * looked up (A and AAAA) and every address it has comes back with the port.
 * `srv+NAME` looks up NAME's SRV records, orders them by priority (lowest
 * first) and weight (highest first), looks every target up at once and
 * returns their addresses in that order, each with its record's port;
 * targets that do not resolve are left out while any other does.  At most
 * %GOSSIP_ADDRESS_MAX_RESULTS addresses come back, without duplicates.
 */
void
gossip_address_resolve_async (const char *text, guint16 default_port, GResolver *resolver,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  Resolve *r;

  g_return_if_fail (text != NULL);
  g_return_if_fail (resolver == NULL || G_IS_RESOLVER (resolver));
  g_task_set_source_tag (task, gossip_address_resolve_async);
  r = g_new0 (Resolve, 1);
  r->targets = g_ptr_array_new_with_free_func (target_free);
  r->resolver = resolver ? g_object_ref (resolver) : g_resolver_get_default ();
  g_task_set_task_data (task, r, resolve_free);
  r->address = gossip_address_parse (text, default_port, &error);
  if (r->address == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  switch (r->address->kind)
    {
    case GOSSIP_ADDRESS_KIND_HOSTNAME:
      target_add (task, r->address->host, r->address->port);
      lookup_targets (task);
      break;
    case GOSSIP_ADDRESS_KIND_SRV:
      g_resolver_lookup_records_async (r->resolver, r->address->host, G_RESOLVER_RECORD_SRV,
                                       cancellable, srv_records_looked_up, g_object_ref (task));
      break;
    case GOSSIP_ADDRESS_KIND_IP:
    case GOSSIP_ADDRESS_KIND_WEBSOCKET:
    case GOSSIP_ADDRESS_KIND_URL:
    default:
      {
        char **one = g_new0 (char *, 2);

        one[0] = ready_form (r->address);
        g_task_return_pointer (task, one, (GDestroyNotify) g_strfreev);
      }
      break;
    }
}

/**
 * gossip_address_resolve_finish:
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (array zero-terminated=1): one or more addresses
 *   for transports, or %NULL with @error set: %GOSSIP_ADDRESS_ERROR_INVALID,
 *   _RESOLVE_FAILED or _NO_ADDRESSES (messages quote the address), or
 *   %G_IO_ERROR_CANCELLED
 */
char **
gossip_address_resolve_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gossip_address_resolve_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sync_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/**
 * gossip_address_resolve:
 * @text: an address
 * @default_port: the port of a host or IP given without one; 0 to require a port
 * @resolver: (nullable): the resolver to use; %NULL for the default one
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * gossip_address_resolve_async(), waiting for the answer: this blocks the
 * calling thread for as long as the lookups take (bounded by the system
 * resolver's timeouts).  It runs a private #GMainContext meanwhile, so
 * nothing else of the caller's context is dispatched.
 *
 * Returns: (transfer full) (array zero-terminated=1): as gossip_address_resolve_finish()
 */
char **
gossip_address_resolve (const char *text, guint16 default_port, GResolver *resolver,
                        GCancellable *cancellable, GError **error)
{
  GMainContext *context = g_main_context_new ();
  GAsyncResult *result = NULL;
  char **addresses;

  g_return_val_if_fail (text != NULL, NULL);
  g_main_context_push_thread_default (context);
  gossip_address_resolve_async (text, default_port, resolver, cancellable, sync_done, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  addresses = gossip_address_resolve_finish (result, error);
  g_object_unref (result);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return addresses;
}

/* ------------------------------------------------------------------------ */
/* The advertise address */

static gboolean
ip_is_local (GInetAddress *ip)
{
  struct ifaddrs *list = NULL;
  gboolean found = FALSE;

  if (g_inet_address_get_is_loopback (ip))
    return TRUE;
  if (getifaddrs (&list) != 0)
    return FALSE;
  for (struct ifaddrs *ifa = list; ifa != NULL && !found; ifa = ifa->ifa_next)
    {
      g_autoptr (GSocketAddress) native = NULL;
      gsize size;

      if (ifa->ifa_addr == NULL)
        continue;
      if (ifa->ifa_addr->sa_family == AF_INET)
        size = sizeof (struct sockaddr_in);
      else if (ifa->ifa_addr->sa_family == AF_INET6)
        size = sizeof (struct sockaddr_in6);
      else
        continue;
      native = g_socket_address_new_from_native (ifa->ifa_addr, size);
      found = native != NULL && G_IS_INET_SOCKET_ADDRESS (native)
              && g_inet_address_equal (
                  g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (native)), ip);
    }
  freeifaddrs (list);
  return found;
}

/* Of the addresses a name gave, the one that is this node. */
static const char *
pick_own (char **resolved, const char *bound, guint16 bound_port)
{
  for (guint i = 0; resolved[i] != NULL; i++)
    if (g_str_equal (resolved[i], bound))
      return resolved[i];
  for (guint i = 0; resolved[i] != NULL; i++)
    {
      g_autoptr (GossipAddress) a = gossip_address_parse (resolved[i], 0, NULL);
      g_autoptr (GInetAddress) ip = NULL;

      if (a == NULL || a->kind != GOSSIP_ADDRESS_KIND_IP || a->port != bound_port)
        continue;
      ip = g_inet_address_new_from_string (a->host);
      if (ip != NULL && ip_is_local (ip))
        return resolved[i];
    }
  return resolved[0];
}

/*
 * `[cluster] advertise_address` as other nodes will be told it.  An IP
 * address is written canonically; a URL is kept as it is; a name or srv+
 * is resolved here, synchronously, with the default resolver.  A host or IP
 * without a port takes the bound port (@bound is the transport's local
 * address), or @default_port when @bound has none.  When the name gives
 * several addresses, the one equal to @bound wins, then one on a local
 * interface with the bound port, then the first.
 */
char *
_gossip_address_resolve_advertise (const char *configured, const char *bound, guint16 default_port,
                                   GError **error)
{
  g_autoptr (GossipAddress) bound_address = gossip_address_parse (bound, 0, NULL);
  g_autoptr (GossipAddress) a = NULL;
  g_autofree char *bound_text = NULL;
  g_auto (GStrv) resolved = NULL;
  guint16 port = default_port;

  if (bound_address != NULL && bound_address->kind == GOSSIP_ADDRESS_KIND_IP)
    {
      port = bound_address->port;
      bound_text = gossip_address_to_string (bound_address);
    }
  a = gossip_address_parse (configured, port, error);
  if (a == NULL)
    return NULL;
  if (a->kind != GOSSIP_ADDRESS_KIND_HOSTNAME && a->kind != GOSSIP_ADDRESS_KIND_SRV)
    return ready_form (a);
  resolved = gossip_address_resolve (configured, port, NULL, NULL, error);
  if (resolved == NULL)
    return NULL;
  return g_strdup (pick_own (resolved, bound_text ? bound_text : "", port));
}
