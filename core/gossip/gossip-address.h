/* gossip-address.h: the address forms a node is given, and their resolution.
 *
 * Seeds, join targets and the advertise address may be written as
 *
 *   IPv4:port          192.0.2.10:7946
 *   [IPv6]:port        [2001:db8::1]:7946
 *   hostname:port      gossip-1.example.test:7946
 *   hostname, IP       the port is the default port (`[cluster] default_port`)
 *   srv+NAME           a DNS SRV lookup of NAME, e.g. srv+_gossip._tcp.example.test
 *   ws://host:port/path, wss://host:port/path   WebSocket endpoints
 *
 * and any other `scheme://...` URL, which is left to the transport plugin
 * that owns the scheme (e.g. the memory transport's mem://NETWORK/NAME).
 *
 * Resolution turns one such address into the addresses transports take:
 * IP literals with a port ("192.0.2.10:7946", "[2001:db8::1]:7946"), or the
 * URL unchanged.  A name with several addresses yields them all; each is a
 * node of its own.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GOSSIP_ADDRESS_ERROR (gossip_address_error_quark ())
GQuark gossip_address_error_quark (void);

/**
 * GossipAddressError:
 * @GOSSIP_ADDRESS_ERROR_INVALID: the text is not an address of any known form
 * @GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED: a DNS lookup failed (no such name, no server, ...)
 * @GOSSIP_ADDRESS_ERROR_NO_ADDRESSES: the lookups succeeded but left no usable address
 *
 * Every message names the address it is about.
 */
typedef enum
{
  GOSSIP_ADDRESS_ERROR_INVALID,
  GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED,
  GOSSIP_ADDRESS_ERROR_NO_ADDRESSES,
} GossipAddressError;

/**
 * GossipAddressKind:
 * @GOSSIP_ADDRESS_KIND_IP: an IPv4 or IPv6 literal with a port
 * @GOSSIP_ADDRESS_KIND_HOSTNAME: a DNS name with a port, resolved to A and AAAA records
 * @GOSSIP_ADDRESS_KIND_SRV: `srv+NAME`, resolved through NAME's SRV records
 * @GOSSIP_ADDRESS_KIND_WEBSOCKET: a `ws://` or `wss://` URL
 * @GOSSIP_ADDRESS_KIND_URL: a URL with another scheme, for the transport that owns it
 */
typedef enum
{
  GOSSIP_ADDRESS_KIND_IP,
  GOSSIP_ADDRESS_KIND_HOSTNAME,
  GOSSIP_ADDRESS_KIND_SRV,
  GOSSIP_ADDRESS_KIND_WEBSOCKET,
  GOSSIP_ADDRESS_KIND_URL,
} GossipAddressKind;

/**
 * GOSSIP_ADDRESS_MAX_RESULTS:
 *
 * At most this many addresses come out of resolving one address; a name
 * with more is cut to its first ones.
 */
#define GOSSIP_ADDRESS_MAX_RESULTS 64

/**
 * GOSSIP_ADDRESS_MAX_NAME:
 *
 * The longest DNS name accepted, in bytes, without a final dot.
 */
#define GOSSIP_ADDRESS_MAX_NAME 253

/**
 * GOSSIP_ADDRESS_MAX_LENGTH:
 *
 * The longest address text accepted, in bytes (URLs included).
 */
#define GOSSIP_ADDRESS_MAX_LENGTH 2048

typedef struct _GossipAddress GossipAddress;

#define GOSSIP_TYPE_ADDRESS (gossip_address_get_type ())
GType gossip_address_get_type (void) G_GNUC_CONST;

GossipAddress *gossip_address_parse (const char *text, guint16 default_port, GError **error);
GossipAddress *gossip_address_copy (const GossipAddress *address);
void gossip_address_free (GossipAddress *address);

GossipAddressKind gossip_address_get_kind (const GossipAddress *address);
const char *gossip_address_get_scheme (const GossipAddress *address);
const char *gossip_address_get_host (const GossipAddress *address);
guint16 gossip_address_get_port (const GossipAddress *address);
const char *gossip_address_get_path (const GossipAddress *address);
char *gossip_address_to_string (const GossipAddress *address);

void gossip_address_resolve_async (const char *text, guint16 default_port, GResolver *resolver,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
char **gossip_address_resolve_finish (GAsyncResult *result, GError **error);
char **gossip_address_resolve (const char *text, guint16 default_port, GResolver *resolver,
                               GCancellable *cancellable, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GossipAddress, gossip_address_free)

G_END_DECLS
