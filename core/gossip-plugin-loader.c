/* gossip-plugin-loader.c: find, open, check and keep plugins.
 *
 * Modelled on GStreamer's registry and GIO's module loader: a plugin is one
 * shared object exporting one descriptor; the descriptor is checked (ABI,
 * kind, name, vtable size) before any plugin code runs except its
 * constructors; modules are opened with local binding and never unloaded, so
 * pointers into them stay valid for the life of the process.
 */
#include "config.h"

#include <gmodule.h>
#include <stdlib.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-transport.h"
#include "gossip/gossip-codec.h"
#include "gossip/gossip-cipher.h"
#include "gossip/gossip-compressor.h"

struct _GossipPlugin
{
  const GossipPluginDescriptor *descriptor;
  char *filename;
  GModule *module;
};

static GMutex loader_lock;
static GHashTable *loaded; /* "kind/name" or canonical file name -> GossipPlugin */

/**
 * gossip_plugin_kind_to_string:
 * @kind: a #GossipPluginKind
 *
 * Returns: the kind as used in config keys and messages ("transport",
 *   "codec", "cipher", "compressor"), or "unknown"
 */
const char *
gossip_plugin_kind_to_string (GossipPluginKind kind)
{
  switch (kind)
    {
    case GOSSIP_PLUGIN_KIND_TRANSPORT:
      return "transport";
    case GOSSIP_PLUGIN_KIND_CODEC:
      return "codec";
    case GOSSIP_PLUGIN_KIND_CIPHER:
      return "cipher";
    case GOSSIP_PLUGIN_KIND_COMPRESSOR:
      return "compressor";
    }
  return "unknown";
}

/* The token in file and directory names: plugins/compress/zlib/gossip-compress-zlib.so */
static const char *
kind_file_token (GossipPluginKind kind)
{
  return kind == GOSSIP_PLUGIN_KIND_COMPRESSOR ? "compress" : gossip_plugin_kind_to_string (kind);
}

static gsize
kind_min_vtable_size (GossipPluginKind kind)
{
  switch (kind)
    {
    case GOSSIP_PLUGIN_KIND_TRANSPORT:
      return G_STRUCT_OFFSET (GossipTransportVTable, reserved);
    case GOSSIP_PLUGIN_KIND_CODEC:
      return G_STRUCT_OFFSET (GossipCodecVTable, reserved);
    case GOSSIP_PLUGIN_KIND_CIPHER:
      return G_STRUCT_OFFSET (GossipCipherVTable, reserved);
    case GOSSIP_PLUGIN_KIND_COMPRESSOR:
      return G_STRUCT_OFFSET (GossipCompressorVTable, reserved);
    }
  return G_MAXSIZE;
}

/* Every function a kind's vtable must provide. */
static gboolean
vtable_is_complete (GossipPluginKind kind, gconstpointer vtable)
{
  switch (kind)
    {
    case GOSSIP_PLUGIN_KIND_TRANSPORT:
      {
        const GossipTransportVTable *t = vtable;
        return t->create && t->destroy && t->get_local_address && t->send_datagram
               && t->send_reliable;
      }
    case GOSSIP_PLUGIN_KIND_CODEC:
      {
        const GossipCodecVTable *c = vtable;
        return c->create && c->destroy && c->encode && c->decode;
      }
    case GOSSIP_PLUGIN_KIND_CIPHER:
      {
        const GossipCipherVTable *c = vtable;
        return c->key_sizes && c->key_sizes[0] && c->key_new && c->key_free && c->seal && c->open;
      }
    case GOSSIP_PLUGIN_KIND_COMPRESSOR:
      {
        const GossipCompressorVTable *c = vtable;
        return c->create && c->destroy && c->compress && c->decompress;
      }
    }
  return FALSE;
}

static gboolean
name_is_safe (const char *name)
{
  if (name == NULL || name[0] == '\0' || name[0] == '.')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return strstr (name, "..") == NULL;
}

/**
 * gossip_plugin_get_search_path:
 * @configured: (nullable) (array zero-terminated=1): directories from the
 *   config (`[plugins] path`), searched first
 *
 * The directories searched for plugins, in order: @configured, then
 * `GOSSIP_PLUGIN_PATH` (colon-separated; ignored in setuid programs), then
 * the install directory, then the build tree's `plugins/` (so tests and the
 * demo run without `make install`).
 *
 * Returns: (transfer full) (array zero-terminated=1): the directories
 */
char **
gossip_plugin_get_search_path (const char *const *configured)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  /* secure_getenv() returns NULL in setuid/setgid processes, like GIO's
   * GIO_EXTRA_MODULES handling: an unprivileged user must not be able to
   * make a privileged program load their code. */
  const char *env = secure_getenv ("GOSSIP_PLUGIN_PATH");
  g_auto (GStrv) all = NULL;
  char **unique = g_new0 (char *, 1);
  guint n = 0;

  for (guint i = 0; configured != NULL && configured[i] != NULL; i++)
    if (configured[i][0] != '\0')
      g_strv_builder_add (builder, configured[i]);
  if (env != NULL)
    {
      g_auto (GStrv) dirs = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (guint i = 0; dirs[i] != NULL; i++)
        if (dirs[i][0] != '\0')
          g_strv_builder_add (builder, dirs[i]);
    }
  g_strv_builder_add (builder, GOSSIP_PLUGIN_INSTALL_DIR);
  g_strv_builder_add (builder, GOSSIP_PLUGIN_BUILD_DIR);
  all = g_strv_builder_end (builder);
  /* The same directory twice (env and build tree, say) is searched once. */
  for (guint i = 0; all[i] != NULL; i++)
    if (!g_strv_contains ((const char *const *) unique, all[i]))
      {
        unique = g_renew (char *, unique, n + 2);
        unique[n++] = g_strdup (all[i]);
        unique[n] = NULL;
      }
  return unique;
}

/* The places a plugin may sit in one search directory: installed flat, or in
 * the build tree's per-plugin folder (libtool puts the .so under .libs/). */
static char *
find_in_dir (const char *dir, GossipPluginKind kind, const char *name)
{
  g_autofree char *file
      = g_strdup_printf ("gossip-%s-%s.%s", kind_file_token (kind), name, G_MODULE_SUFFIX);
  char *candidates[] = {
    g_build_filename (dir, file, NULL),
    g_build_filename (dir, kind_file_token (kind), name, ".libs", file, NULL),
    g_build_filename (dir, kind_file_token (kind), name, file, NULL),
  };
  char *found = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      if (found == NULL && g_file_test (candidates[i], G_FILE_TEST_IS_REGULAR))
        found = g_steal_pointer (&candidates[i]);
      g_free (candidates[i]);
    }
  return found;
}

static GossipPlugin *
open_plugin (GossipPluginKind kind, const char *name, const char *filename, gboolean check_name,
             GError **error)
{
  const char *kind_str = gossip_plugin_kind_to_string (kind);
  GModule *module;
  const GossipPluginDescriptor *desc = NULL;
  GossipPlugin *plugin;
  g_autoptr (GError) local_error = NULL;

  module = g_module_open_full (filename, G_MODULE_BIND_LOCAL, &local_error);
  if (module == NULL)
    {
      g_set_error (error, GOSSIP_PLUGIN_ERROR, GOSSIP_PLUGIN_ERROR_OPEN_FAILED,
                   "%s plugin \"%s\": cannot open %s: %s", kind_str, name, filename,
                   local_error->message);
      return NULL;
    }

#define REFUSE(code, ...)                                                                          \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *why_ = g_strdup_printf (__VA_ARGS__);                                         \
    g_set_error (error, GOSSIP_PLUGIN_ERROR, (code), "%s plugin \"%s\" (%s): %s", kind_str, name,  \
                 filename, why_);                                                                  \
    g_module_close (module);                                                                       \
    return NULL;                                                                                   \
  }                                                                                                \
  G_STMT_END

  if (!g_module_symbol (module, GOSSIP_PLUGIN_DESCRIPTOR_SYMBOL, (gpointer *) &desc)
      || desc == NULL)
    REFUSE (GOSSIP_PLUGIN_ERROR_NOT_A_PLUGIN, "not a libgossip plugin (no %s symbol)",
            GOSSIP_PLUGIN_DESCRIPTOR_SYMBOL);
  if (desc->abi_major != GOSSIP_PLUGIN_ABI_MAJOR || desc->abi_minor > GOSSIP_PLUGIN_ABI_MINOR)
    REFUSE (GOSSIP_PLUGIN_ERROR_ABI_MISMATCH,
            "built for plugin ABI %u.%u, this libgossip provides %u.%u", desc->abi_major,
            desc->abi_minor, GOSSIP_PLUGIN_ABI_MAJOR, GOSSIP_PLUGIN_ABI_MINOR);
  if (desc->kind != kind)
    REFUSE (GOSSIP_PLUGIN_ERROR_WRONG_KIND, "is a %s plugin, not a %s plugin",
            gossip_plugin_kind_to_string (desc->kind), kind_str);
  if (desc->name == NULL || (check_name && g_strcmp0 (desc->name, name) != 0))
    REFUSE (GOSSIP_PLUGIN_ERROR_NAME_MISMATCH, "calls itself \"%s\"",
            desc->name ? desc->name : "(null)");
  if (desc->vtable == NULL)
    REFUSE (GOSSIP_PLUGIN_ERROR_INVALID, "descriptor has no vtable");
  if (*(const gsize *) desc->vtable < kind_min_vtable_size (kind))
    REFUSE (GOSSIP_PLUGIN_ERROR_INVALID,
            "vtable is %" G_GSIZE_FORMAT " bytes, need %" G_GSIZE_FORMAT,
            *(const gsize *) desc->vtable, kind_min_vtable_size (kind));
  if (!vtable_is_complete (kind, desc->vtable))
    REFUSE (GOSSIP_PLUGIN_ERROR_INVALID, "vtable lacks a required function");
  if (desc->init != NULL)
    {
      g_clear_error (&local_error);
      if (!desc->init (&local_error))
        REFUSE (GOSSIP_PLUGIN_ERROR_INIT_FAILED, "initialisation failed: %s",
                local_error ? local_error->message : "no reason given");
    }
#undef REFUSE

  g_module_make_resident (module);
  plugin = g_new0 (GossipPlugin, 1);
  plugin->descriptor = desc;
  plugin->filename = g_strdup (filename);
  plugin->module = module;
  g_debug ("loaded %s plugin %s %s from %s", kind_str, desc->name, desc->version, filename);
  return plugin;
}

/**
 * gossip_plugin_load:
 * @kind: the kind wanted
 * @name: a plugin name ("socket") or an absolute path to a plugin file
 * @search_path: (nullable) (array zero-terminated=1): directories to search,
 *   or %NULL for gossip_plugin_get_search_path (NULL)
 * @error: return location for a #GOSSIP_PLUGIN_ERROR
 *
 * Finds and loads a plugin, or returns the one already loaded under that
 * kind and name.  A name may not contain `/` or `..`: only absolute paths
 * name files outside the plugin directories.
 *
 * Returns: (transfer none): the plugin, valid for the life of the process
 */
GossipPlugin *
gossip_plugin_load (GossipPluginKind kind, const char *name, const char *const *search_path,
                    GError **error)
{
  g_autofree char *key = NULL;
  g_autofree char *filename = NULL;
  g_auto (GStrv) default_path = NULL;
  GossipPlugin *plugin;
  gboolean by_path;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (name == NULL || name[0] == '\0')
    {
      g_set_error (error, GOSSIP_PLUGIN_ERROR, GOSSIP_PLUGIN_ERROR_BAD_NAME,
                   "%s plugin: empty name", gossip_plugin_kind_to_string (kind));
      return NULL;
    }
  by_path = g_path_is_absolute (name);
  if (!by_path && !name_is_safe (name))
    {
      g_set_error (error, GOSSIP_PLUGIN_ERROR, GOSSIP_PLUGIN_ERROR_BAD_NAME,
                   "%s plugin \"%s\": a plugin name may only contain letters, digits, '-', '_' "
                   "and '.', and no '..'; give an absolute path to load a file elsewhere",
                   gossip_plugin_kind_to_string (kind), name);
      return NULL;
    }

  key = g_strdup_printf ("%d/%s", kind, name);
  g_mutex_lock (&loader_lock);
  if (loaded == NULL)
    loaded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  plugin = g_hash_table_lookup (loaded, key);
  if (plugin != NULL)
    goto out;

  if (by_path)
    filename = g_canonicalize_filename (name, NULL);
  else
    {
      if (search_path == NULL)
        search_path = (const char *const *) (default_path = gossip_plugin_get_search_path (NULL));
      for (guint i = 0; filename == NULL && search_path[i] != NULL; i++)
        filename = find_in_dir (search_path[i], kind, name);
      if (filename == NULL)
        {
          g_autofree char *dirs = g_strjoinv (", ", (char **) search_path);
          g_set_error (error, GOSSIP_PLUGIN_ERROR, GOSSIP_PLUGIN_ERROR_NOT_FOUND,
                       "%s plugin \"%s\" not found (looked for gossip-%s-%s.%s in %s)",
                       gossip_plugin_kind_to_string (kind), name, kind_file_token (kind), name,
                       G_MODULE_SUFFIX, dirs);
          goto out;
        }
    }
  if (by_path && !g_file_test (filename, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, GOSSIP_PLUGIN_ERROR, GOSSIP_PLUGIN_ERROR_NOT_FOUND,
                   "%s plugin file %s does not exist", gossip_plugin_kind_to_string (kind),
                   filename);
      goto out;
    }

  /* The same file reached under another name (a path, a second directory in
   * the search path) is the same plugin. */
  {
    g_autofree char *file_key = g_strdup_printf ("%d:%s", kind, filename);
    plugin = g_hash_table_lookup (loaded, file_key);
    if (plugin == NULL)
      {
        plugin = open_plugin (kind, name, filename, !by_path, error);
        if (plugin != NULL)
          g_hash_table_insert (loaded, g_steal_pointer (&file_key), plugin);
      }
    if (plugin != NULL)
      g_hash_table_insert (loaded, g_strdup (key), plugin);
  }

out:
  g_mutex_unlock (&loader_lock);
  return plugin;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/**
 * gossip_plugin_list_available:
 * @kind: the kind to list
 * @search_path: (nullable) (array zero-terminated=1): as for gossip_plugin_load()
 *
 * Lists the plugin names of @kind present in the search path (files whose
 * names fit the pattern; they are not opened).
 *
 * Returns: (transfer full) (array zero-terminated=1): sorted, unique names
 */
char **
gossip_plugin_list_available (GossipPluginKind kind, const char *const *search_path)
{
  g_auto (GStrv) default_path = NULL;
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *prefix = g_strdup_printf ("gossip-%s-", kind_file_token (kind));
  g_autofree char *suffix = g_strdup ("." G_MODULE_SUFFIX);
  GPtrArray *result = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer name;

  if (search_path == NULL)
    search_path = (const char *const *) (default_path = gossip_plugin_get_search_path (NULL));
  for (guint i = 0; search_path[i] != NULL; i++)
    {
      g_autofree char *kind_dir = g_build_filename (search_path[i], kind_file_token (kind), NULL);
      const char *dirs[] = { search_path[i], kind_dir };

      for (guint d = 0; d < G_N_ELEMENTS (dirs); d++)
        {
          g_autoptr (GDir) dir = g_dir_open (dirs[d], 0, NULL);
          const char *entry;

          while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
            {
              if (d == 0 && g_str_has_prefix (entry, prefix) && g_str_has_suffix (entry, suffix))
                g_hash_table_add (names,
                                  g_strndup (entry + strlen (prefix),
                                             strlen (entry) - strlen (prefix) - strlen (suffix)));
              else if (d == 1 && name_is_safe (entry))
                {
                  g_autofree char *found = find_in_dir (search_path[i], kind, entry);
                  if (found != NULL)
                    g_hash_table_add (names, g_strdup (entry));
                }
            }
        }
    }
  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      g_ptr_array_add (result, name);
      g_hash_table_iter_steal (&iter);
    }
  g_ptr_array_sort (result, compare_strings);
  g_ptr_array_add (result, NULL);
  return (char **) g_ptr_array_free (result, FALSE);
}

/** gossip_plugin_get_name: @plugin: a plugin. Returns: (transfer none): its name */
const char *
gossip_plugin_get_name (GossipPlugin *plugin)
{
  return plugin->descriptor->name;
}

/** gossip_plugin_get_version: @plugin: a plugin. Returns: (transfer none): its version */
const char *
gossip_plugin_get_version (GossipPlugin *plugin)
{
  return plugin->descriptor->version;
}

/** gossip_plugin_get_description: @plugin: a plugin. Returns: (transfer none): one line */
const char *
gossip_plugin_get_description (GossipPlugin *plugin)
{
  return plugin->descriptor->description ? plugin->descriptor->description : "";
}

/** gossip_plugin_get_filename: @plugin: a plugin. Returns: (transfer none): the file loaded */
const char *
gossip_plugin_get_filename (GossipPlugin *plugin)
{
  return plugin->filename;
}

/** gossip_plugin_get_kind: @plugin: a plugin. Returns: its kind */
GossipPluginKind
gossip_plugin_get_kind (GossipPlugin *plugin)
{
  return plugin->descriptor->kind;
}

/**
 * gossip_plugin_get_vtable:
 * @plugin: a plugin
 *
 * Returns: (transfer none): the kind's vtable, e.g. a #GossipCodecVTable
 */
gconstpointer
gossip_plugin_get_vtable (GossipPlugin *plugin)
{
  return plugin->descriptor->vtable;
}
