/* gossip-plugin.h: the plugin ABI and the loader.
 *
 * A plugin is one shared object that exports one symbol,
 * `gossip_plugin_descriptor`, a #GossipPluginDescriptor.  The loader opens the
 * object with local symbol binding, checks the descriptor (ABI major equal,
 * ABI minor not newer than the core, kind as requested, name as requested),
 * runs its optional init function once and keeps the module resident: plugins
 * are never unloaded.
 *
 * Plugin file names are derived from kind and name: the codec "msgpack" lives
 * in `gossip-codec-msgpack.so`.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * GOSSIP_PLUGIN_ABI_MAJOR:
 *
 * Bumped when a vtable or descriptor changes incompatibly.  A plugin built for
 * another major version is refused.
 */
#define GOSSIP_PLUGIN_ABI_MAJOR 1
/**
 * GOSSIP_PLUGIN_ABI_MINOR:
 *
 * Bumped when a field is appended to a vtable.  A plugin built for a newer
 * minor version than the core is refused; an older one is accepted.
 */
#define GOSSIP_PLUGIN_ABI_MINOR 0

/** GOSSIP_PLUGIN_DESCRIPTOR_SYMBOL: the one symbol every plugin exports. */
#define GOSSIP_PLUGIN_DESCRIPTOR_SYMBOL "gossip_plugin_descriptor"

/**
 * GossipPluginKind:
 * @GOSSIP_PLUGIN_KIND_TRANSPORT: moves frames between nodes (#GossipTransportVTable)
 * @GOSSIP_PLUGIN_KIND_CODEC: turns #GVariant into bytes and back (#GossipCodecVTable)
 * @GOSSIP_PLUGIN_KIND_CIPHER: authenticated encryption (#GossipCipherVTable)
 * @GOSSIP_PLUGIN_KIND_COMPRESSOR: compression (#GossipCompressorVTable)
 */
typedef enum
{
  GOSSIP_PLUGIN_KIND_TRANSPORT = 1,
  GOSSIP_PLUGIN_KIND_CODEC = 2,
  GOSSIP_PLUGIN_KIND_CIPHER = 3,
  GOSSIP_PLUGIN_KIND_COMPRESSOR = 4,
} GossipPluginKind;

/**
 * GossipPluginDescriptor:
 * @abi_major: %GOSSIP_PLUGIN_ABI_MAJOR at build time
 * @abi_minor: %GOSSIP_PLUGIN_ABI_MINOR at build time
 * @kind: what the plugin implements
 * @name: the name it is configured by, e.g. "socket"; must match the file name
 * @version: the plugin's own version string
 * @description: one line for `gossip-plugins` listings
 * @init: (nullable): called once after loading; returning %FALSE refuses the plugin
 * @vtable: the kind's vtable (#GossipTransportVTable, #GossipCodecVTable, ...)
 *
 * Exported by each plugin as `gossip_plugin_descriptor`; use
 * GOSSIP_PLUGIN_DEFINE() rather than filling it by hand.
 */
typedef struct
{
  guint32 abi_major;
  guint32 abi_minor;
  GossipPluginKind kind;
  const char *name;
  const char *version;
  const char *description;
  gboolean (*init) (GError **error);
  gconstpointer vtable;
  /*< private >*/
  gpointer reserved[8];
} GossipPluginDescriptor;

/**
 * GOSSIP_PLUGIN_DEFINE:
 * @kind_: a #GossipPluginKind
 * @name_: the plugin name (string literal)
 * @version_: version string
 * @description_: one-line description
 * @init_: (nullable): init function or %NULL
 * @vtable_: pointer to the kind's static vtable
 *
 * Defines and exports the descriptor of a plugin.
 */
#define GOSSIP_PLUGIN_DEFINE(kind_, name_, version_, description_, init_, vtable_)                 \
  G_MODULE_EXPORT const GossipPluginDescriptor gossip_plugin_descriptor                            \
      = { GOSSIP_PLUGIN_ABI_MAJOR,                                                                 \
          GOSSIP_PLUGIN_ABI_MINOR,                                                                 \
          (kind_),                                                                                 \
          (name_),                                                                                 \
          (version_),                                                                              \
          (description_),                                                                          \
          (init_),                                                                                 \
          (vtable_),                                                                               \
          { NULL } }

#define GOSSIP_PLUGIN_ERROR (gossip_plugin_error_quark ())
GQuark gossip_plugin_error_quark (void);

/**
 * GossipPluginError:
 * @GOSSIP_PLUGIN_ERROR_BAD_NAME: the name is empty or contains `/` or `..` (and is not absolute)
 * @GOSSIP_PLUGIN_ERROR_NOT_FOUND: no file for that name in any plugin directory
 * @GOSSIP_PLUGIN_ERROR_OPEN_FAILED: the dynamic loader refused the file
 * @GOSSIP_PLUGIN_ERROR_NOT_A_PLUGIN: the descriptor symbol is absent
 * @GOSSIP_PLUGIN_ERROR_ABI_MISMATCH: built for an incompatible ABI version
 * @GOSSIP_PLUGIN_ERROR_WRONG_KIND: the plugin is of another kind than asked for
 * @GOSSIP_PLUGIN_ERROR_NAME_MISMATCH: the descriptor's name differs from the file's
 * @GOSSIP_PLUGIN_ERROR_INVALID: the descriptor is incomplete (no vtable, vtable too small)
 * @GOSSIP_PLUGIN_ERROR_INIT_FAILED: the plugin's init function failed
 */
typedef enum
{
  GOSSIP_PLUGIN_ERROR_BAD_NAME,
  GOSSIP_PLUGIN_ERROR_NOT_FOUND,
  GOSSIP_PLUGIN_ERROR_OPEN_FAILED,
  GOSSIP_PLUGIN_ERROR_NOT_A_PLUGIN,
  GOSSIP_PLUGIN_ERROR_ABI_MISMATCH,
  GOSSIP_PLUGIN_ERROR_WRONG_KIND,
  GOSSIP_PLUGIN_ERROR_NAME_MISMATCH,
  GOSSIP_PLUGIN_ERROR_INVALID,
  GOSSIP_PLUGIN_ERROR_INIT_FAILED,
} GossipPluginError;

/**
 * GossipPlugin:
 *
 * A loaded plugin.  Owned by the loader and valid for the life of the
 * process (plugins are never unloaded).
 */
typedef struct _GossipPlugin GossipPlugin;

const char *gossip_plugin_kind_to_string (GossipPluginKind kind);

GossipPlugin *gossip_plugin_load (GossipPluginKind kind, const char *name,
                                  const char *const *search_path, GError **error);
char **gossip_plugin_get_search_path (const char *const *configured);

char **gossip_plugin_list_available (GossipPluginKind kind, const char *const *search_path);

const char *gossip_plugin_get_name (GossipPlugin *plugin);
const char *gossip_plugin_get_version (GossipPlugin *plugin);
const char *gossip_plugin_get_description (GossipPlugin *plugin);
const char *gossip_plugin_get_filename (GossipPlugin *plugin);
GossipPluginKind gossip_plugin_get_kind (GossipPlugin *plugin);
gconstpointer gossip_plugin_get_vtable (GossipPlugin *plugin);

G_END_DECLS
