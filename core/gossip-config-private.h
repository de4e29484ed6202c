/* gossip-config-private.h: what the key table knows beyond GossipConfigKey.
 *
 * gossip_config_keys[] (public, returned by gossip_config_list_keys()) and
 * _gossip_config_key_info[] are parallel arrays: entry i of one describes
 * the same key as entry i of the other.
 */
#pragma once

#include "gossip/gossip-config.h"

G_BEGIN_DECLS

/* Checks a key needs beyond its type and range. */
typedef enum
{
  GOSSIP_CONFIG_CHECK_NONE,
  GOSSIP_CONFIG_CHECK_NODE_ID,    /* at most 128 bytes, printable, no whitespace */
  GOSSIP_CONFIG_CHECK_BASE64_KEY, /* empty, or base64 of 16, 24 or 32 bytes */
  GOSSIP_CONFIG_CHECK_NOT_EMPTY,  /* a non-empty string or a list of at least one item */
} GossipConfigCheck;

typedef struct
{
  gint64 min; /* INT; DURATION in microseconds; SIZE in bytes (all sizes fit) */
  gint64 max;
  double min_double; /* DOUBLE */
  double max_double;
  const char *const *choices; /* CHOICE: NULL-terminated */
  GossipConfigCheck check;
  gboolean profiled; /* set by [health] profile unless given explicitly */
} GossipConfigKeyInfo;

typedef struct
{
  const char *group;
  const char *key;
  const char *value; /* keyfile form */
} GossipConfigProfileValue;

#define GOSSIP_CONFIG_PROFILE_N_VALUES 8

typedef struct
{
  const char *name;
  GossipConfigProfileValue values[GOSSIP_CONFIG_PROFILE_N_VALUES];
} GossipConfigProfile;

G_GNUC_INTERNAL extern const GossipConfigKey _gossip_config_keys[];
G_GNUC_INTERNAL extern const GossipConfigKeyInfo _gossip_config_key_info[];
G_GNUC_INTERNAL extern const guint _gossip_config_n_keys;
G_GNUC_INTERNAL extern const GossipConfigProfile _gossip_config_profiles[];
G_GNUC_INTERNAL extern const guint _gossip_config_n_profiles;

G_END_DECLS
