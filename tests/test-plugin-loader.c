/* test-plugin-loader.c: every way the loader accepts or refuses a plugin. */
#include "config.h"

#include <glib/gstdio.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-codec.h"

static char *
bad_plugin_dir (void)
{
  const char *builddir = g_getenv ("GOSSIP_TEST_BUILDDIR");
  return g_build_filename (builddir ? builddir : "tests", "plugins", ".libs", NULL);
}

static GossipPlugin *
load_test_codec (const char *name, GError **error)
{
  g_autofree char *dir = bad_plugin_dir ();
  const char *path[] = { dir, NULL };
  return gossip_plugin_load (GOSSIP_PLUGIN_KIND_CODEC, name, path, error);
}

static void
assert_refused (const char *name, gint code, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  GossipPlugin *plugin = load_test_codec (name, &error);

  g_assert_null (plugin);
  g_assert_error (error, GOSSIP_PLUGIN_ERROR, code);
  /* The message always names the plugin, and says why. */
  g_assert_nonnull (strstr (error->message, name));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_loads_a_good_plugin_and_reuses_it (void)
{
  g_autoptr (GError) error = NULL;
  GossipPlugin *a = load_test_codec ("good", &error);
  GossipPlugin *b;
  const GossipCodecVTable *vtable;

  g_assert_no_error (error);
  g_assert_nonnull (a);
  g_assert_cmpstr (gossip_plugin_get_name (a), ==, "good");
  g_assert_cmpstr (gossip_plugin_get_version (a), ==, "0.0.1");
  g_assert_cmpint (gossip_plugin_get_kind (a), ==, GOSSIP_PLUGIN_KIND_CODEC);
  g_assert_true (g_str_has_suffix (gossip_plugin_get_filename (a), "gossip-codec-good.so"));
  vtable = gossip_plugin_get_vtable (a);
  g_assert_cmpuint (vtable->wire_id, ==, 200);
  b = load_test_codec ("good", &error);
  g_assert_no_error (error);
  g_assert_true (a == b);
}

static void
test_same_file_by_absolute_path_is_the_same_plugin (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = bad_plugin_dir ();
  g_autofree char *path = g_build_filename (dir, "gossip-codec-good.so", NULL);
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  GossipPlugin *by_name = load_test_codec ("good", &error);
  GossipPlugin *by_path;

  g_assert_no_error (error);
  by_path = gossip_plugin_load (GOSSIP_PLUGIN_KIND_CODEC, abs, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (by_name == by_path);
}

static void
test_refuses_names_that_leave_the_plugin_directory (void)
{
  const char *bad[] = { "../good", "plugins/good", "..", "a..b", ".hidden", "", "a b" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (load_test_codec (bad[i], &error));
      g_assert_error (error, GOSSIP_PLUGIN_ERROR, GOSSIP_PLUGIN_ERROR_BAD_NAME);
    }
}

static void
test_refuses_a_missing_plugin_listing_where_it_looked (void)
{
  assert_refused ("nonexistent", GOSSIP_PLUGIN_ERROR_NOT_FOUND, "gossip-codec-nonexistent");
}

static void
test_refuses_a_missing_absolute_path (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (gossip_plugin_load (GOSSIP_PLUGIN_KIND_CODEC, "/nonexistent/gossip-codec-x.so",
                                     NULL, &error));
  g_assert_error (error, GOSSIP_PLUGIN_ERROR, GOSSIP_PLUGIN_ERROR_NOT_FOUND);
}

static void
test_refuses_a_file_that_is_not_a_shared_object (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("gossip-loader-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "gossip-codec-text.so", NULL);
  const char *path[] = { dir, NULL };

  g_assert_true (g_file_set_contents (file, "not an ELF file\n", -1, NULL));
  g_assert_null (gossip_plugin_load (GOSSIP_PLUGIN_KIND_CODEC, "text", path, &error));
  g_assert_error (error, GOSSIP_PLUGIN_ERROR, GOSSIP_PLUGIN_ERROR_OPEN_FAILED);
  g_assert_nonnull (strstr (error->message, "text"));
  g_unlink (file);
  g_rmdir (dir);
}

static void
test_refuses_a_library_without_descriptor (void)
{
  assert_refused ("nosymbol", GOSSIP_PLUGIN_ERROR_NOT_A_PLUGIN, "gossip_plugin_descriptor");
}

static void
test_refuses_another_abi_major (void)
{
  assert_refused ("badabi", GOSSIP_PLUGIN_ERROR_ABI_MISMATCH, "99.");
}

static void
test_refuses_a_newer_abi_minor (void)
{
  assert_refused ("newminor", GOSSIP_PLUGIN_ERROR_ABI_MISMATCH, ".99");
}

static void
test_refuses_a_plugin_of_another_kind (void)
{
  assert_refused ("wrongkind", GOSSIP_PLUGIN_ERROR_WRONG_KIND, "cipher plugin");
}

static void
test_refuses_a_descriptor_name_that_differs_from_the_file (void)
{
  assert_refused ("misnamed", GOSSIP_PLUGIN_ERROR_NAME_MISMATCH, "someone-else");
}

static void
test_refuses_a_plugin_whose_init_fails (void)
{
  assert_refused ("initfail", GOSSIP_PLUGIN_ERROR_INIT_FAILED, "no hardware for this");
}

static void
test_refuses_a_descriptor_without_vtable (void)
{
  assert_refused ("novtable", GOSSIP_PLUGIN_ERROR_INVALID, "no vtable");
}

static void
test_refuses_a_vtable_missing_a_function (void)
{
  assert_refused ("incomplete", GOSSIP_PLUGIN_ERROR_INVALID, "required function");
}

static void
test_a_refused_plugin_is_not_cached_as_loaded (void)
{
  assert_refused ("badabi", GOSSIP_PLUGIN_ERROR_ABI_MISMATCH, "ABI");
  assert_refused ("badabi", GOSSIP_PLUGIN_ERROR_ABI_MISMATCH, "ABI");
}

static void
test_search_path_order_is_config_env_install_build (void)
{
  const char *configured[] = { "/from/config", NULL };
  g_auto (GStrv) path = NULL;

  g_setenv ("GOSSIP_PLUGIN_PATH", "/from/env1:/from/env2", TRUE);
  path = gossip_plugin_get_search_path (configured);
  g_assert_cmpuint (g_strv_length (path), ==, 5);
  g_assert_cmpstr (path[0], ==, "/from/config");
  g_assert_cmpstr (path[1], ==, "/from/env1");
  g_assert_cmpstr (path[2], ==, "/from/env2");
  g_assert_true (g_str_has_suffix (path[3], "gossip-1.0/plugins"));
  g_assert_true (g_str_has_suffix (path[4], "plugins"));
}

static void
test_lists_available_plugins_without_loading_them (void)
{
  g_autofree char *dir = bad_plugin_dir ();
  const char *path[] = { dir, NULL };
  g_auto (GStrv) names = gossip_plugin_list_available (GOSSIP_PLUGIN_KIND_CODEC, path);
  g_auto (GStrv) none = gossip_plugin_list_available (GOSSIP_PLUGIN_KIND_TRANSPORT, path);

  g_assert_true (g_strv_contains ((const char *const *) names, "good"));
  g_assert_true (g_strv_contains ((const char *const *) names, "badabi"));
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  for (guint i = 1; names[i] != NULL; i++)
    g_assert_cmpstr (names[i - 1], <, names[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugin-loader/loads-a-good-plugin-and-reuses-it",
                   test_loads_a_good_plugin_and_reuses_it);
  g_test_add_func ("/plugin-loader/same-file-by-absolute-path-is-the-same-plugin",
                   test_same_file_by_absolute_path_is_the_same_plugin);
  g_test_add_func ("/plugin-loader/refuses-names-that-leave-the-plugin-directory",
                   test_refuses_names_that_leave_the_plugin_directory);
  g_test_add_func ("/plugin-loader/refuses-a-missing-plugin-listing-where-it-looked",
                   test_refuses_a_missing_plugin_listing_where_it_looked);
  g_test_add_func ("/plugin-loader/refuses-a-missing-absolute-path",
                   test_refuses_a_missing_absolute_path);
  g_test_add_func ("/plugin-loader/refuses-a-file-that-is-not-a-shared-object",
                   test_refuses_a_file_that_is_not_a_shared_object);
  g_test_add_func ("/plugin-loader/refuses-a-library-without-descriptor",
                   test_refuses_a_library_without_descriptor);
  g_test_add_func ("/plugin-loader/refuses-another-abi-major", test_refuses_another_abi_major);
  g_test_add_func ("/plugin-loader/refuses-a-newer-abi-minor", test_refuses_a_newer_abi_minor);
  g_test_add_func ("/plugin-loader/refuses-a-plugin-of-another-kind",
                   test_refuses_a_plugin_of_another_kind);
  g_test_add_func ("/plugin-loader/refuses-a-descriptor-name-that-differs-from-the-file",
                   test_refuses_a_descriptor_name_that_differs_from_the_file);
  g_test_add_func ("/plugin-loader/refuses-a-plugin-whose-init-fails",
                   test_refuses_a_plugin_whose_init_fails);
  g_test_add_func ("/plugin-loader/refuses-a-descriptor-without-vtable",
                   test_refuses_a_descriptor_without_vtable);
  g_test_add_func ("/plugin-loader/refuses-a-vtable-missing-a-function",
                   test_refuses_a_vtable_missing_a_function);
  g_test_add_func ("/plugin-loader/a-refused-plugin-is-not-cached-as-loaded",
                   test_a_refused_plugin_is_not_cached_as_loaded);
  g_test_add_func ("/plugin-loader/search-path-order-is-config-env-install-build",
                   test_search_path_order_is_config_env_install_build);
  g_test_add_func ("/plugin-loader/lists-available-plugins-without-loading-them",
                   test_lists_available_plugins_without_loading_them);
  return g_test_run ();
}
