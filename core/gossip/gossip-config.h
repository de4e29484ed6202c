/* gossip-config.h: every setting of a cluster, from a keyfile or from C.
 *
 * Settings are addressed by group and key, exactly as in the keyfile:
 *
 *   [health]
 *   profile=lan
 *   probe_interval=1s
 *
 * Every key has a type, a documented default and a valid range
 * (gossip_config_list_keys()).  Durations read as "250ms", "1s", "2m", "1h",
 * "1500us" or a bare number of milliseconds; sizes as "1400", "64KiB",
 * "4MiB".  Loading fails, naming group, key, line and what was expected, on
 * an unknown group or key, a malformed value or a value out of range.
 *
 * `[health] profile=` (lan, local, wan) sets the timing keys to
 * memberlist's published values first; any timing key given explicitly in the
 * same file overrides the profile whatever the order of lines.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define GOSSIP_CONFIG_ERROR (gossip_config_error_quark ())
GQuark gossip_config_error_quark (void);

/**
 * GossipConfigError:
 * @GOSSIP_CONFIG_ERROR_PARSE: the keyfile itself is malformed
 * @GOSSIP_CONFIG_ERROR_UNKNOWN_GROUP: a group libgossip does not know
 * @GOSSIP_CONFIG_ERROR_UNKNOWN_KEY: a key its group does not have
 * @GOSSIP_CONFIG_ERROR_BAD_VALUE: a value of the wrong form
 * @GOSSIP_CONFIG_ERROR_OUT_OF_RANGE: a value outside the key's range
 * @GOSSIP_CONFIG_ERROR_INCONSISTENT: keys that contradict each other
 *   (e.g. an encryption key without a cipher)
 */
typedef enum
{
  GOSSIP_CONFIG_ERROR_PARSE,
  GOSSIP_CONFIG_ERROR_UNKNOWN_GROUP,
  GOSSIP_CONFIG_ERROR_UNKNOWN_KEY,
  GOSSIP_CONFIG_ERROR_BAD_VALUE,
  GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
  GOSSIP_CONFIG_ERROR_INCONSISTENT,
} GossipConfigError;

/**
 * GossipConfigType:
 * @GOSSIP_CONFIG_TYPE_BOOLEAN: true/false
 * @GOSSIP_CONFIG_TYPE_INT: a signed integer
 * @GOSSIP_CONFIG_TYPE_DOUBLE: a floating-point number
 * @GOSSIP_CONFIG_TYPE_SIZE: bytes, with optional KiB/MiB/GiB suffix
 * @GOSSIP_CONFIG_TYPE_DURATION: microseconds in C, "500ms"-style in keyfiles
 * @GOSSIP_CONFIG_TYPE_STRING: a string
 * @GOSSIP_CONFIG_TYPE_STRV: a comma- or semicolon-separated list of strings
 * @GOSSIP_CONFIG_TYPE_CHOICE: one string of a fixed set
 */
typedef enum
{
  GOSSIP_CONFIG_TYPE_BOOLEAN,
  GOSSIP_CONFIG_TYPE_INT,
  GOSSIP_CONFIG_TYPE_DOUBLE,
  GOSSIP_CONFIG_TYPE_SIZE,
  GOSSIP_CONFIG_TYPE_DURATION,
  GOSSIP_CONFIG_TYPE_STRING,
  GOSSIP_CONFIG_TYPE_STRV,
  GOSSIP_CONFIG_TYPE_CHOICE,
} GossipConfigType;

/**
 * GossipConfigKey:
 * @group: keyfile group
 * @key: keyfile key
 * @type: value type
 * @default_value: the default, in keyfile form
 * @description: one sentence for documentation
 *
 * Describes one setting.
 */
typedef struct
{
  const char *group;
  const char *key;
  GossipConfigType type;
  const char *default_value;
  const char *description;
} GossipConfigKey;

#define GOSSIP_TYPE_CONFIG (gossip_config_get_type ())
G_DECLARE_FINAL_TYPE (GossipConfig, gossip_config, GOSSIP, CONFIG, GObject)

GossipConfig *gossip_config_new (void);
GossipConfig *gossip_config_new_from_file (const char *path, GError **error);
GossipConfig *gossip_config_new_from_data (const char *data, gssize length, GError **error);
GossipConfig *gossip_config_copy (GossipConfig *config);

gboolean gossip_config_load_file (GossipConfig *config, const char *path, GError **error);
gboolean gossip_config_load_data (GossipConfig *config, const char *data, gssize length,
                                  GError **error);
gboolean gossip_config_load_keyfile (GossipConfig *config, GKeyFile *keyfile, GError **error);
gboolean gossip_config_validate (GossipConfig *config, GError **error);

gboolean gossip_config_set_profile (GossipConfig *config, const char *profile, GError **error);

gboolean gossip_config_set_value (GossipConfig *config, const char *group, const char *key,
                                  const char *value, GError **error);
char *gossip_config_get_value (GossipConfig *config, const char *group, const char *key);
char *gossip_config_to_data (GossipConfig *config, gsize *length);

const GossipConfigKey *gossip_config_list_keys (guint *n_keys);

gboolean gossip_config_get_boolean (GossipConfig *config, const char *group, const char *key);
gint64 gossip_config_get_int (GossipConfig *config, const char *group, const char *key);
double gossip_config_get_double (GossipConfig *config, const char *group, const char *key);
guint64 gossip_config_get_size (GossipConfig *config, const char *group, const char *key);
gint64 gossip_config_get_duration (GossipConfig *config, const char *group, const char *key);
const char *gossip_config_get_string (GossipConfig *config, const char *group, const char *key);
const char *const *gossip_config_get_strv (GossipConfig *config, const char *group,
                                           const char *key);

gboolean gossip_config_set_boolean (GossipConfig *config, const char *group, const char *key,
                                    gboolean value, GError **error);
gboolean gossip_config_set_int (GossipConfig *config, const char *group, const char *key,
                                gint64 value, GError **error);
gboolean gossip_config_set_double (GossipConfig *config, const char *group, const char *key,
                                   double value, GError **error);
gboolean gossip_config_set_size (GossipConfig *config, const char *group, const char *key,
                                 guint64 value, GError **error);
gboolean gossip_config_set_duration (GossipConfig *config, const char *group, const char *key,
                                     gint64 value_us, GError **error);
gboolean gossip_config_set_string (GossipConfig *config, const char *group, const char *key,
                                   const char *value, GError **error);
gboolean gossip_config_set_strv (GossipConfig *config, const char *group, const char *key,
                                 const char *const *value, GError **error);

gboolean gossip_parse_duration (const char *text, gint64 *out_us, GError **error);
gboolean gossip_parse_size (const char *text, guint64 *out_bytes, GError **error);

G_END_DECLS
