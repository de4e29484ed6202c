/* gossip-address-private.h: what the cluster uses of gossip-address.c
 * beyond the public API. */
#pragma once

#include "gossip/gossip-address.h"

G_BEGIN_DECLS

gboolean _gossip_address_to_transport (const char *text, guint16 default_port, char **ready,
                                       GError **error);
char *_gossip_address_resolve_advertise (const char *configured, const char *bound,
                                         guint16 default_port, GError **error);

G_END_DECLS
