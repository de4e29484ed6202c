/* test-config.c: GossipConfig, its duration and size parsers, and the
 * example keyfile examples/gossip.conf.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gossip/gossip-config.h"

#define MS  G_GINT64_CONSTANT (1000)
#define SEC (1000 * MS)
#define KiB G_GUINT64_CONSTANT (1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/* Loads @data into a fresh config and expects it to fail with @code and a
 * message containing every string of the NULL-terminated @needles. */
static void
expect_load_error (const char *data, GossipConfigError code, const char *const *needles)
{
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autoptr (GError) error = NULL;

  if (gossip_config_load_data (config, data, -1, &error))
    g_error ("loading '%s' succeeded", data);
  if (!g_error_matches (error, GOSSIP_CONFIG_ERROR, (gint) code))
    g_error ("loading '%s': got '%s' (code %d), expected code %d", data, error->message,
             error->code, code);
  for (guint i = 0; needles != NULL && needles[i] != NULL; i++)
    if (strstr (error->message, needles[i]) == NULL)
      g_error ("message '%s' lacks '%s' (loading '%s')", error->message, needles[i], data);
}

#define EXPECT_LOAD_ERROR(data, code, ...)                                                         \
  expect_load_error ((data), (code), (const char *const[]){ __VA_ARGS__, NULL })

static void
assert_value (GossipConfig *config, const char *group, const char *key, const char *expected)
{
  g_autofree char *value = gossip_config_get_value (config, group, key);

  if (g_strcmp0 (value, expected) != 0)
    g_error ("[%s] %s is '%s', expected '%s'", group, key, value, expected);
}

static GossipConfig *
load_ok (const char *data)
{
  g_autoptr (GError) error = NULL;
  GossipConfig *config = gossip_config_new_from_data (data, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

static char *
base64_key (gsize n_bytes, guchar fill)
{
  guchar bytes[64];

  g_assert_cmpuint (n_bytes, <=, sizeof bytes);
  memset (bytes, fill, n_bytes);
  return g_base64_encode (bytes, n_bytes);
}

/* Every value of @a and @b, and which keys were explicit, are the same. */
static void
assert_configs_equal (GossipConfig *a, GossipConfig *b)
{
  guint n_keys;
  const GossipConfigKey *keys = gossip_config_list_keys (&n_keys);
  g_autofree char *data_a = gossip_config_to_data (a, NULL);
  g_autofree char *data_b = gossip_config_to_data (b, NULL);

  for (guint i = 0; i < n_keys; i++)
    {
      g_autofree char *va = gossip_config_get_value (a, keys[i].group, keys[i].key);
      g_autofree char *vb = gossip_config_get_value (b, keys[i].group, keys[i].key);

      if (g_strcmp0 (va, vb) != 0)
        g_error ("[%s] %s: '%s' != '%s'", keys[i].group, keys[i].key, va, vb);
    }
  g_assert_cmpstr (data_a, ==, data_b);
}

/* ---------------------------------------------------------------------- */

static void
test_list_keys (void)
{
  guint n_keys = 0;
  const GossipConfigKey *keys = gossip_config_list_keys (&n_keys);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_nonnull (keys);
  g_assert_cmpuint (n_keys, >=, 30);
  g_assert_true (gossip_config_list_keys (NULL) == keys);
  for (guint i = 0; i < n_keys; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/%s", keys[i].group, keys[i].key);

      g_assert_false (g_hash_table_contains (seen, name));
      g_hash_table_add (seen, g_steal_pointer (&name));
      g_assert_nonnull (keys[i].default_value);
      g_assert_nonnull (keys[i].description);
      g_assert_cmpuint (strlen (keys[i].description), >, 10);
      g_assert_true (g_str_has_suffix (keys[i].description, "."));
      g_assert_null (strchr (keys[i].description, '\n'));
      g_assert_cmpint (keys[i].type, >=, GOSSIP_CONFIG_TYPE_BOOLEAN);
      g_assert_cmpint (keys[i].type, <=, GOSSIP_CONFIG_TYPE_CHOICE);
      /* keys of one group are contiguous */
      if (i > 0 && strcmp (keys[i].group, keys[i - 1].group) != 0)
        for (guint j = 0; j < i; j++)
          g_assert_cmpstr (keys[j].group, !=, keys[i].group);
    }
}

static void
test_defaults (void)
{
  static const struct
  {
    const char *group, *key, *value;
  } expected[] = {
    { "cluster", "node_id", "" },
    { "cluster", "bind_address", "0.0.0.0:7946" },
    { "cluster", "advertise_address", "" },
    { "cluster", "default_port", "7946" },
    { "cluster", "seeds", "" },
    { "cluster", "app_version", "" },
    { "plugins", "transport", "socket" },
    { "plugins", "codec", "msgpack" },
    { "plugins", "compressor", "" },
    { "plugins", "cipher", "" },
    { "plugins", "path", "" },
    { "security", "key", "" },
    { "security", "accepted_keys", "" },
    { "compression", "min_size", "512" },
    { "compression", "level", "-1" },
    { "transport", "datagrams", "true" },
    { "transport", "max_datagram_size", "1400" },
    { "transport", "max_frame_size", "4MiB" },
    { "transport", "max_connections", "256" },
    { "transport", "idle_timeout", "30s" },
    { "transport", "io_timeout", "10s" },
    { "transport", "connect_timeout", "5s" },
    { "health", "profile", "lan" },
    { "health", "probe_interval", "1s" },
    { "health", "probe_timeout", "500ms" },
    { "health", "indirect_checks", "3" },
    { "health", "suspicion_mult", "4" },
    { "health", "suspicion_max_timeout_mult", "6" },
    { "health", "awareness_max_multiplier", "8" },
    { "health", "dead_node_timeout", "30s" },
    { "health", "reconnect_interval", "10s" },
    { "health", "leave_timeout", "2s" },
    { "gossip", "interval", "200ms" },
    { "gossip", "fanout", "3" },
    { "gossip", "retransmit_mult", "4" },
    { "gossip", "push_pull_interval", "30s" },
    { "messages", "user_share", "30" },
    { "messages", "hop_limit", "0" },
    { "messages", "max_queued", "16384" },
    { "messages", "dedup_window", "10m" },
    { "messages", "request_timeout", "5s" },
    { "messages", "max_metadata_size", "64KiB" },
    { "websocket", "bind_address", "" },
    { "websocket", "advertise_address", "" },
    { "websocket", "path", "/gossip" },
    { "websocket", "tls_cert_file", "" },
    { "websocket", "tls_key_file", "" },
    { "websocket", "tls_ca_file", "" },
    { "websocket", "allow_insecure", "false" },
    { "websocket", "ping_interval", "15s" },
    { "streams", "window", "4MiB" },
    { "streams", "chunk_size", "256KiB" },
    { "streams", "max_streams", "256" },
    { "streams", "open_timeout", "10s" },
  };
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autoptr (GError) error = NULL;
  guint n_keys;
  const GossipConfigKey *keys = gossip_config_list_keys (&n_keys);
  const char *const *strv;

  g_assert_cmpuint (n_keys, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      assert_value (config, expected[i].group, expected[i].key, expected[i].value);
      g_assert_cmpstr (keys[i].group, ==, expected[i].group);
      g_assert_cmpstr (keys[i].key, ==, expected[i].key);
      g_assert_cmpstr (keys[i].default_value, ==, expected[i].value);
    }

  /* typed getters see the same defaults */
  g_assert_cmpint (gossip_config_get_int (config, "cluster", "default_port"), ==, 7946);
  g_assert_cmpstr (gossip_config_get_string (config, "cluster", "app_version"), ==, "");
  g_assert_cmpint (gossip_config_get_int (config, "compression", "level"), ==, -1);
  g_assert_cmpint (gossip_config_get_int (config, "transport", "max_connections"), ==, 256);
  g_assert_cmpstr (gossip_config_get_string (config, "cluster", "node_id"), ==, "");
  g_assert_cmpstr (gossip_config_get_string (config, "cluster", "bind_address"), ==,
                   "0.0.0.0:7946");
  g_assert_cmpstr (gossip_config_get_string (config, "plugins", "codec"), ==, "msgpack");
  g_assert_cmpstr (gossip_config_get_string (config, "plugins", "cipher"), ==, "");
  g_assert_cmpstr (gossip_config_get_string (config, "health", "profile"), ==, "lan");
  strv = gossip_config_get_strv (config, "plugins", "transport");
  g_assert_nonnull (strv);
  g_assert_cmpstr (strv[0], ==, "socket");
  g_assert_null (strv[1]);
  strv = gossip_config_get_strv (config, "cluster", "seeds");
  g_assert_nonnull (strv);
  g_assert_null (strv[0]);
  g_assert_true (gossip_config_get_boolean (config, "transport", "datagrams"));
  g_assert_cmpuint (gossip_config_get_size (config, "compression", "min_size"), ==, 512);
  g_assert_cmpuint (gossip_config_get_size (config, "transport", "max_datagram_size"), ==, 1400);
  g_assert_cmpuint (gossip_config_get_size (config, "transport", "max_frame_size"), ==, 4 * MiB);
  g_assert_cmpint (gossip_config_get_duration (config, "transport", "idle_timeout"), ==, 30 * SEC);
  g_assert_cmpint (gossip_config_get_duration (config, "transport", "io_timeout"), ==, 10 * SEC);
  g_assert_cmpint (gossip_config_get_duration (config, "transport", "connect_timeout"), ==,
                   5 * SEC);
  g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_interval"), ==, SEC);
  g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_timeout"), ==, 500 * MS);
  g_assert_cmpint (gossip_config_get_duration (config, "gossip", "interval"), ==, 200 * MS);
  g_assert_cmpint (gossip_config_get_duration (config, "health", "leave_timeout"), ==, 2 * SEC);

  /* the defaults are consistent */
  g_assert_true (gossip_config_validate (config, &error));
  g_assert_no_error (error);
  /* unknown keys have no value */
  g_assert_null (gossip_config_get_value (config, "health", "nope"));
  g_assert_null (gossip_config_get_value (config, "nope", "probe_interval"));
}

static void
test_parse_types (void)
{
  g_autoptr (GossipConfig) config = load_ok ("# a comment\n"
                                             "[transport]\n"
                                             "datagrams = false\n"
                                             "max_datagram_size=9000\n"
                                             "max_frame_size=64KiB\n"
                                             "idle_timeout=1.5s\n"
                                             "io_timeout=250\n"
                                             "connect_timeout=1500000us\n"
                                             "max_connections=1\n"
                                             "[cluster]\n"
                                             "node_id=node-1\n"
                                             "seeds=a:1, b:2;c:3 ;;\n"
                                             "advertise_address=10.0.0.1:7946\n"
                                             "[plugins]\n"
                                             "transport=socket;memory\n"
                                             "path=\n"
                                             "[compression]\n"
                                             "min_size=1MiB\n"
                                             "level=22\n"
                                             "[health]\n"
                                             "profile=wan\n");
  const char *const *seeds = gossip_config_get_strv (config, "cluster", "seeds");
  const char *const *transports = gossip_config_get_strv (config, "plugins", "transport");
  struct
  {
    const char *text;
    gboolean value;
  } booleans[] = {
    { "true", TRUE },   { "yes", TRUE }, { "on", TRUE },   { "1", TRUE },  { "TRUE", TRUE },
    { "false", FALSE }, { "no", FALSE }, { "off", FALSE }, { "0", FALSE }, { "False", FALSE },
  };

  g_assert_false (gossip_config_get_boolean (config, "transport", "datagrams"));
  g_assert_cmpuint (gossip_config_get_size (config, "transport", "max_datagram_size"), ==, 9000);
  g_assert_cmpuint (gossip_config_get_size (config, "transport", "max_frame_size"), ==, 64 * KiB);
  g_assert_cmpint (gossip_config_get_duration (config, "transport", "idle_timeout"), ==, 1500 * MS);
  g_assert_cmpint (gossip_config_get_duration (config, "transport", "io_timeout"), ==, 250 * MS);
  g_assert_cmpint (gossip_config_get_duration (config, "transport", "connect_timeout"), ==,
                   1500 * MS);
  g_assert_cmpint (gossip_config_get_int (config, "transport", "max_connections"), ==, 1);
  g_assert_cmpstr (gossip_config_get_string (config, "cluster", "node_id"), ==, "node-1");
  g_assert_cmpuint (g_strv_length ((char **) seeds), ==, 3);
  g_assert_cmpstr (seeds[0], ==, "a:1");
  g_assert_cmpstr (seeds[1], ==, "b:2");
  g_assert_cmpstr (seeds[2], ==, "c:3");
  g_assert_cmpuint (g_strv_length ((char **) transports), ==, 2);
  g_assert_cmpstr (transports[1], ==, "memory");
  g_assert_null (gossip_config_get_strv (config, "plugins", "path")[0]);
  g_assert_cmpuint (gossip_config_get_size (config, "compression", "min_size"), ==, MiB);
  g_assert_cmpint (gossip_config_get_int (config, "compression", "level"), ==, 22);
  g_assert_cmpstr (gossip_config_get_string (config, "health", "profile"), ==, "wan");
  /* keyfile forms come back compact */
  assert_value (config, "transport", "idle_timeout", "1500ms");
  assert_value (config, "transport", "max_frame_size", "64KiB");
  assert_value (config, "transport", "datagrams", "false");
  assert_value (config, "cluster", "seeds", "a:1,b:2,c:3");

  for (guint i = 0; i < G_N_ELEMENTS (booleans); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_true (
          gossip_config_set_value (config, "transport", "datagrams", booleans[i].text, &error));
      g_assert_no_error (error);
      g_assert_cmpint (gossip_config_get_boolean (config, "transport", "datagrams"), ==,
                       booleans[i].value);
    }
}

static void
test_errors (void)
{
  g_autofree char *long_id = g_strnfill (129, 'x');
  g_autofree char *long_id_data = g_strdup_printf ("[cluster]\nnode_id=%s\n", long_id);

  /* PARSE, with the line when it can be found */
  EXPECT_LOAD_ERROR ("[cluster]\nnode_id=a\nthis is not a key\n", GOSSIP_CONFIG_ERROR_PARSE,
                     "line 3");
  EXPECT_LOAD_ERROR ("\n[cluster\n", GOSSIP_CONFIG_ERROR_PARSE, "line 2");
  EXPECT_LOAD_ERROR ("node_id=a\n[cluster]\n", GOSSIP_CONFIG_ERROR_PARSE, "line 1");
  EXPECT_LOAD_ERROR ("[plugins]\npath=C:\\plugins\n", GOSSIP_CONFIG_ERROR_PARSE, "[plugins] path",
                     "line 2");

  /* UNKNOWN_GROUP with the line and a suggestion */
  EXPECT_LOAD_ERROR ("# comment\n\n[helth]\nprobe_interval=1s\n", GOSSIP_CONFIG_ERROR_UNKNOWN_GROUP,
                     "[helth]", "line 3", "did you mean 'health'?");
  EXPECT_LOAD_ERROR ("[cluster]\n[zzzzzzzzzzzzz]\n", GOSSIP_CONFIG_ERROR_UNKNOWN_GROUP,
                     "[zzzzzzzzzzzzz]", "line 2", "cluster", "gossip");

  /* UNKNOWN_KEY with the line and a suggestion */
  EXPECT_LOAD_ERROR ("[health]\nprofile=lan\nprobe_intervl=1s\n", GOSSIP_CONFIG_ERROR_UNKNOWN_KEY,
                     "[health] probe_intervl", "line 3", "did you mean 'probe_interval'?");
  EXPECT_LOAD_ERROR ("[health]\ninterval=1s\n", GOSSIP_CONFIG_ERROR_UNKNOWN_KEY,
                     "[health] interval", "line 2", "did you mean [gossip] interval?");
  EXPECT_LOAD_ERROR ("[gossip]\nqqqqqqqqqqqq=1\n", GOSSIP_CONFIG_ERROR_UNKNOWN_KEY, "qqqqqqqqqqqq",
                     "fanout", "push_pull_interval");

  /* BAD_VALUE for each type, naming group, key, line and expectation */
  EXPECT_LOAD_ERROR ("[health]\n#\n\n\n\n\n\n\n\n\n\nprobe_interval=fast\n",
                     GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "[health] probe_interval (line 12): expected a duration like 250ms, 1s or 5m, "
                     "got 'fast'");
  EXPECT_LOAD_ERROR ("[transport]\ndatagrams=maybe\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "[transport] datagrams (line 2)", "expected true or false", "'maybe'");
  EXPECT_LOAD_ERROR ("[gossip]\nfanout=three\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "[gossip] fanout (line 2)", "expected an integer", "'three'");
  EXPECT_LOAD_ERROR ("[gossip]\nfanout=1.5\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "expected an integer");
  EXPECT_LOAD_ERROR ("[transport]\nmax_frame_size=4MB\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "[transport] max_frame_size (line 2)", "expected a size", "KiB", "MiB",
                     "'4MB'");
  EXPECT_LOAD_ERROR ("[health]\nprofile=fast\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "[health] profile (line 2)", "expected one of lan, local, wan", "'fast'");
  EXPECT_LOAD_ERROR ("[cluster]\nnode_id=a\\sb\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "[cluster] node_id (line 2)", "whitespace");
  EXPECT_LOAD_ERROR (long_id_data, GOSSIP_CONFIG_ERROR_BAD_VALUE, "[cluster] node_id", "128");
  EXPECT_LOAD_ERROR ("[plugins]\ntransport= ; ,\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "[plugins] transport (line 2)", "at least one");
  EXPECT_LOAD_ERROR ("[plugins]\ncodec=\n", GOSSIP_CONFIG_ERROR_BAD_VALUE, "[plugins] codec");
  EXPECT_LOAD_ERROR ("[transport]\nio_timeout=-1s\n", GOSSIP_CONFIG_ERROR_BAD_VALUE, "negative");

  /* OUT_OF_RANGE names the range */
  EXPECT_LOAD_ERROR ("[health]\nprobe_interval=2h\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
                     "[health] probe_interval (line 2)", "10ms..1h");
  EXPECT_LOAD_ERROR ("[gossip]\nfanout=65\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE, "[gossip] fanout",
                     "1..64");
  EXPECT_LOAD_ERROR ("[cluster]\ndefault_port=0\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE, "1..65535");
  EXPECT_LOAD_ERROR ("[cluster]\napp_version=1.0 beta\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "[cluster] app_version (line 2)", "whitespace");
  EXPECT_LOAD_ERROR ("[compression]\nlevel=-2\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE, "-1..22");
  EXPECT_LOAD_ERROR ("[compression]\nmin_size=2MiB\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
                     "2MiB is out of range 0..1MiB");
  EXPECT_LOAD_ERROR ("[transport]\nmax_frame_size=2GiB\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
                     "64KiB..1GiB");
  EXPECT_LOAD_ERROR ("[transport]\nmax_datagram_size=511\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
                     "512..65507");
  EXPECT_LOAD_ERROR ("[transport]\nidle_timeout=999ms\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
                     "1s..1h");
  EXPECT_LOAD_ERROR ("[health]\nleave_timeout=301s\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE, "0s..5m");
  EXPECT_LOAD_ERROR ("[gossip]\nfanout=99999999999999999999\n", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
                     "[gossip] fanout");

  /* without text, no line is named */
  {
    g_autoptr (GKeyFile) keyfile = g_key_file_new ();
    g_autoptr (GossipConfig) config = gossip_config_new ();
    g_autoptr (GError) error = NULL;

    g_key_file_set_string (keyfile, "health", "probe_interval", "fast");
    g_assert_false (gossip_config_load_keyfile (config, keyfile, &error));
    g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
    g_assert_true (
        g_str_has_prefix (error->message, "[health] probe_interval: expected a duration"));
  }
}

/* memberlist's values, independently of the library's table */
static const struct
{
  const char *name;
  gint64 probe_interval, probe_timeout, indirect_checks, suspicion_mult;
  gint64 gossip_interval, fanout, retransmit_mult, push_pull_interval;
} profiles[] = {
  { "lan", 1 * SEC, 500 * MS, 3, 4, 200 * MS, 3, 4, 30 * SEC },
  { "local", 1 * SEC, 200 * MS, 1, 3, 100 * MS, 3, 2, 15 * SEC },
  { "wan", 5 * SEC, 3 * SEC, 4, 6, 500 * MS, 4, 4, 60 * SEC },
};

static void
assert_profile (GossipConfig *config, guint p, gint64 probe_interval_override)
{
  g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_interval"), ==,
                   probe_interval_override >= 0 ? probe_interval_override
                                                : profiles[p].probe_interval);
  g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_timeout"), ==,
                   profiles[p].probe_timeout);
  g_assert_cmpint (gossip_config_get_int (config, "health", "indirect_checks"), ==,
                   profiles[p].indirect_checks);
  g_assert_cmpint (gossip_config_get_int (config, "health", "suspicion_mult"), ==,
                   profiles[p].suspicion_mult);
  g_assert_cmpint (gossip_config_get_duration (config, "gossip", "interval"), ==,
                   profiles[p].gossip_interval);
  g_assert_cmpint (gossip_config_get_int (config, "gossip", "fanout"), ==, profiles[p].fanout);
  g_assert_cmpint (gossip_config_get_int (config, "gossip", "retransmit_mult"), ==,
                   profiles[p].retransmit_mult);
  g_assert_cmpint (gossip_config_get_duration (config, "gossip", "push_pull_interval"), ==,
                   profiles[p].push_pull_interval);
  g_assert_cmpstr (gossip_config_get_string (config, "health", "profile"), ==, profiles[p].name);
}

static void
test_profiles (void)
{
  g_autoptr (GError) error = NULL;

  /* the defaults are the lan profile */
  {
    g_autoptr (GossipConfig) config = gossip_config_new ();

    assert_profile (config, 0, -1);
  }
  /* each profile, from C and from a keyfile; switching back and forth */
  for (guint p = 0; p < G_N_ELEMENTS (profiles); p++)
    {
      g_autoptr (GossipConfig) config = gossip_config_new ();
      g_autofree char *data = g_strdup_printf ("[health]\nprofile=%s\n", profiles[p].name);
      g_autoptr (GossipConfig) loaded = load_ok (data);

      g_assert_true (gossip_config_set_profile (config, profiles[p].name, &error));
      g_assert_no_error (error);
      assert_profile (config, p, -1);
      assert_profile (loaded, p, -1);
      g_assert_true (gossip_config_validate (config, &error));
      g_assert_no_error (error);
      for (guint q = 0; q < G_N_ELEMENTS (profiles); q++)
        {
          g_assert_true (gossip_config_set_profile (config, profiles[q].name, &error));
          assert_profile (config, q, -1);
        }
      /* a non-profile key is untouched */
      g_assert_cmpint (gossip_config_get_duration (config, "health", "dead_node_timeout"), ==,
                       30 * SEC);
    }
  /* an explicit key wins whether it comes before or after the profile line */
  {
    g_autoptr (GossipConfig) after
        = load_ok ("[health]\nprofile=wan\nprobe_interval=7s\n[gossip]\nfanout=9\n");
    g_autoptr (GossipConfig) before
        = load_ok ("[gossip]\nfanout=9\n[health]\nprobe_interval=7s\nprofile=wan\n");

    for (guint i = 0; i < 2; i++)
      {
        GossipConfig *config = i == 0 ? after : before;

        g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_interval"), ==,
                         7 * SEC);
        g_assert_cmpint (gossip_config_get_int (config, "gossip", "fanout"), ==, 9);
        g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_timeout"), ==,
                         3 * SEC);
        g_assert_cmpint (gossip_config_get_duration (config, "gossip", "interval"), ==, 500 * MS);
      }
    /* explicit keys stay explicit for a later profile change */
    g_assert_true (gossip_config_set_profile (after, "local", &error));
    g_assert_cmpint (gossip_config_get_duration (after, "health", "probe_interval"), ==, 7 * SEC);
    g_assert_cmpint (gossip_config_get_int (after, "gossip", "fanout"), ==, 9);
    g_assert_cmpint (gossip_config_get_duration (after, "health", "probe_timeout"), ==, 200 * MS);
  }
  /* from C: a key set before the profile, and one set after it */
  {
    g_autoptr (GossipConfig) config = gossip_config_new ();

    g_assert_true (
        gossip_config_set_duration (config, "health", "probe_timeout", 100 * MS, &error));
    g_assert_true (gossip_config_set_profile (config, "wan", &error));
    g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_timeout"), ==, 100 * MS);
    g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_interval"), ==, 5 * SEC);
    g_assert_true (gossip_config_set_int (config, "gossip", "fanout", 11, &error));
    g_assert_true (gossip_config_set_value (config, "health", "profile", "local", &error));
    g_assert_no_error (error);
    g_assert_cmpint (gossip_config_get_int (config, "gossip", "fanout"), ==, 11);
    g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_timeout"), ==, 100 * MS);
    g_assert_cmpint (gossip_config_get_duration (config, "gossip", "interval"), ==, 100 * MS);
    /* a keyfile without a profile line does not reset the profile */
    g_assert_true (gossip_config_load_data (config, "[gossip]\nretransmit_mult=7\n", -1, &error));
    g_assert_cmpstr (gossip_config_get_string (config, "health", "profile"), ==, "local");
    g_assert_cmpint (gossip_config_get_duration (config, "gossip", "push_pull_interval"), ==,
                     15 * SEC);
    /* set_string on the choice key is the same as set_profile */
    g_assert_true (gossip_config_set_string (config, "health", "profile", "wan", &error));
    g_assert_cmpint (gossip_config_get_duration (config, "gossip", "push_pull_interval"), ==,
                     60 * SEC);
    g_assert_cmpint (gossip_config_get_int (config, "gossip", "retransmit_mult"), ==, 7);
  }
  /* an unknown profile changes nothing */
  {
    g_autoptr (GossipConfig) config = gossip_config_new ();
    g_autoptr (GossipConfig) pristine = gossip_config_new ();

    g_assert_false (gossip_config_set_profile (config, "fast", &error));
    g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
    g_assert_nonnull (strstr (error->message, "lan, local, wan"));
    g_clear_error (&error);
    assert_configs_equal (config, pristine);
  }
}

static void
test_atomic (void)
{
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  static const char *const bad[] = {
    /* good keys, a profile, then a bad value */
    "[health]\nprofile=wan\nprobe_interval=3s\n[gossip]\nfanout=5\nfanout_typo=1\n",
    "[gossip]\nfanout=5\n[health]\nprofile=local\nprobe_timeout=fast\n",
    "[cluster]\nnode_id=changed\nseeds=x:1\n[nowhere]\n",
    "[cluster]\nnode_id=changed\n[transport]\nmax_frame_size=1TiB\n",
  };

  g_assert_true (gossip_config_set_int (config, "gossip", "fanout", 2, &error));
  g_assert_true (gossip_config_set_string (config, "cluster", "node_id", "original", &error));
  before = gossip_config_to_data (config, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (gossip_config_load_data (config, bad[i], -1, &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
      g_free (after);
      after = gossip_config_to_data (config, NULL);
      g_assert_cmpstr (before, ==, after);
    }
  g_assert_cmpint (gossip_config_get_int (config, "gossip", "fanout"), ==, 2);
  g_assert_cmpstr (gossip_config_get_string (config, "cluster", "node_id"), ==, "original");
  g_assert_cmpstr (gossip_config_get_string (config, "health", "profile"), ==, "lan");

  /* a failing setter changes nothing either */
  g_assert_false (gossip_config_set_value (config, "gossip", "fanout", "0", &error));
  g_clear_error (&error);
  g_assert_cmpint (gossip_config_get_int (config, "gossip", "fanout"), ==, 2);
}

static void
test_c_api (void)
{
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autoptr (GError) error = NULL;
  const char *const seeds[] = { "10.0.0.1:7946", "[::1]:7000", "host", NULL };
  const char *const with_comma[] = { "a,b", NULL };
  const char *const with_empty[] = { "a", "", NULL };
  const char *const with_space[] = { " a", NULL };
  const char *const *got;

  /* BOOLEAN */
  g_assert_true (gossip_config_set_boolean (config, "transport", "datagrams", FALSE, &error));
  g_assert_false (gossip_config_get_boolean (config, "transport", "datagrams"));
  assert_value (config, "transport", "datagrams", "false");
  g_assert_true (gossip_config_set_boolean (config, "transport", "datagrams", 42, &error));
  g_assert_true (gossip_config_get_boolean (config, "transport", "datagrams"));

  /* INT, with both ends of its range */
  g_assert_true (gossip_config_set_int (config, "cluster", "default_port", 65535, &error));
  g_assert_cmpint (gossip_config_get_int (config, "cluster", "default_port"), ==, 65535);
  g_assert_false (gossip_config_set_int (config, "cluster", "default_port", 65536, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE);
  g_assert_true (g_str_has_prefix (error->message, "[cluster] default_port: "));
  g_assert_nonnull (strstr (error->message, "1..65535"));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_int (config, "cluster", "default_port", G_MININT64, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE);
  g_clear_error (&error);
  g_assert_cmpint (gossip_config_get_int (config, "cluster", "default_port"), ==, 65535);
  g_assert_true (gossip_config_set_int (config, "compression", "level", -1, &error));
  g_assert_true (gossip_config_set_int (config, "health", "indirect_checks", 0, &error));
  g_assert_no_error (error);

  /* SIZE */
  g_assert_true (gossip_config_set_size (config, "transport", "max_frame_size", GiB, &error));
  assert_value (config, "transport", "max_frame_size", "1GiB");
  g_assert_true (gossip_config_set_size (config, "transport", "max_frame_size", 65537, &error));
  assert_value (config, "transport", "max_frame_size", "65537");
  g_assert_false (
      gossip_config_set_size (config, "transport", "max_frame_size", G_MAXUINT64, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE);
  g_assert_nonnull (strstr (error->message, "[transport] max_frame_size"));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_size (config, "compression", "min_size", MiB + 1, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE);
  g_clear_error (&error);
  g_assert_cmpuint (gossip_config_get_size (config, "transport", "max_frame_size"), ==, 65537);

  /* DURATION, microseconds in C */
  g_assert_true (gossip_config_set_duration (config, "health", "probe_timeout", 1500, &error));
  assert_value (config, "health", "probe_timeout", "1500us");
  g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_timeout"), ==, 1500);
  g_assert_true (gossip_config_set_duration (config, "health", "dead_node_timeout", 0, &error));
  assert_value (config, "health", "dead_node_timeout", "0s");
  g_assert_true (
      gossip_config_set_duration (config, "gossip", "push_pull_interval", 90 * SEC, &error));
  assert_value (config, "gossip", "push_pull_interval", "90s");
  g_assert_false (gossip_config_set_duration (config, "health", "probe_timeout", -1, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE);
  g_assert_nonnull (strstr (error->message, "1ms..1h"));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_duration (config, "health", "probe_timeout", 500, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE);
  g_clear_error (&error);
  g_assert_cmpint (gossip_config_get_duration (config, "health", "probe_timeout"), ==, 1500);

  /* STRING */
  g_assert_true (gossip_config_set_string (config, "cluster", "node_id", "nöde-1#x", &error));
  g_assert_cmpstr (gossip_config_get_string (config, "cluster", "node_id"), ==, "nöde-1#x");
  g_assert_false (gossip_config_set_string (config, "cluster", "node_id", "a b", &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
  g_assert_nonnull (strstr (error->message, "[cluster] node_id"));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_string (config, "cluster", "node_id", "a\tb", &error));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_string (config, "cluster", "node_id", "bell\a", &error));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_string (config, "cluster", "bind_address", " x", &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
  g_assert_nonnull (strstr (error->message, "whitespace"));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_string (config, "cluster", "bind_address", "\xff", &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_false (gossip_config_set_string (config, "plugins", "codec", "", &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_cmpstr (gossip_config_get_string (config, "cluster", "node_id"), ==, "nöde-1#x");

  /* STRV */
  g_assert_true (gossip_config_set_strv (config, "cluster", "seeds", seeds, &error));
  got = gossip_config_get_strv (config, "cluster", "seeds");
  g_assert_true (g_strv_equal ((const char *const *) got, seeds));
  assert_value (config, "cluster", "seeds", "10.0.0.1:7946,[::1]:7000,host");
  g_assert_false (gossip_config_set_strv (config, "cluster", "seeds", with_comma, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
  g_assert_nonnull (strstr (error->message, "[cluster] seeds: item 1"));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_strv (config, "cluster", "seeds", with_empty, &error));
  g_assert_nonnull (strstr (error->message, "item 2"));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_strv (config, "cluster", "seeds", with_space, &error));
  g_clear_error (&error);
  g_assert_true (g_strv_equal (gossip_config_get_strv (config, "cluster", "seeds"), seeds));
  g_assert_false (gossip_config_set_strv (config, "plugins", "transport", NULL, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_true (gossip_config_set_strv (config, "cluster", "seeds", NULL, &error));
  g_assert_null (gossip_config_get_strv (config, "cluster", "seeds")[0]);

  /* CHOICE, through the string setter */
  g_assert_false (gossip_config_set_string (config, "health", "profile", "LAN", &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
  g_clear_error (&error);

  /* unknown keys from C are errors with a suggestion */
  g_assert_false (gossip_config_set_int (config, "gossip", "fanuot", 3, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_UNKNOWN_KEY);
  g_assert_nonnull (strstr (error->message, "did you mean 'fanout'?"));
  g_assert_null (strstr (error->message, "line"));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_value (config, "gosip", "fanout", "3", &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_UNKNOWN_GROUP);
  g_assert_nonnull (strstr (error->message, "did you mean 'gossip'?"));
  g_clear_error (&error);
  g_assert_false (gossip_config_set_value (config, "health", "probe_interval", "soon", &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
  g_assert_cmpstr (error->message, ==,
                   "[health] probe_interval: expected a duration like 250ms, 1s or 5m, got 'soon'");
  g_clear_error (&error);
}

/* Misused typed accessors are programming errors: a critical, then 0/NULL.
 * Each case runs in a subprocess where criticals are not fatal. */
static const char *const misuse_messages[] = {
  "*[health] probe_interval is of type duration, not integer*",
  "*[cluster] seeds is of type list, not string*",
  "*[gossip] fanout is of type integer, not number*",
  "*unknown key [gossip] nope*",
  "*[gossip] fanout is of type integer, not size*",
  "*[transport] max_frame_size is of type size, not duration*",
};

static void
misuse_case (gconstpointer data)
{
  guint which = GPOINTER_TO_UINT (data);
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autoptr (GError) error = NULL;

  g_log_set_always_fatal (G_LOG_FATAL_MASK);
  switch (which)
    {
    case 0:
      g_assert_cmpint (gossip_config_get_int (config, "health", "probe_interval"), ==, 0);
      break;
    case 1:
      g_assert_null (gossip_config_get_string (config, "cluster", "seeds"));
      break;
    case 2:
      g_assert_cmpfloat (gossip_config_get_double (config, "gossip", "fanout"), ==, 0.0);
      break;
    case 3:
      g_assert_null (gossip_config_get_strv (config, "gossip", "nope"));
      break;
    case 4:
      g_assert_false (gossip_config_set_size (config, "gossip", "fanout", 5, &error));
      g_assert_no_error (error);
      break;
    case 5:
      g_assert_cmpint (gossip_config_get_duration (config, "transport", "max_frame_size"), ==, 0);
      break;
    default:
      g_assert_not_reached ();
    }
  /* nothing changed */
  g_assert_cmpint (gossip_config_get_int (config, "gossip", "fanout"), ==, 3);
}

static void
test_typed_misuse (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (misuse_messages); i++)
    {
      g_autofree char *path = g_strdup_printf ("/config/typed-misuse/subprocess/%u", i);

      g_test_trap_subprocess (path, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      g_test_trap_assert_stderr (misuse_messages[i]);
    }
}

static void
test_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *key = base64_key (32, 0x5a);
  g_autofree char *old_key = base64_key (16, 0x11);
  const char *const accepted[] = { old_key, NULL };
  const char *const seeds[] = { "a.example:1", "[::1]:2", NULL };
  const char *const path[] = { "/opt/gossip plugins", "/usr/local/lib/x", NULL };
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autoptr (GossipConfig) fresh = gossip_config_new ();
  g_autoptr (GossipConfig) copy = NULL;
  g_autoptr (GossipConfig) reloaded = NULL;
  g_autoptr (GossipConfig) fresh_reloaded = NULL;
  g_autofree char *data = NULL;
  g_autofree char *fresh_data = NULL;
  gsize length = 0;

  g_assert_true (gossip_config_set_string (config, "cluster", "node_id", "n#1;x=ü", &error));
  g_assert_true (gossip_config_set_strv (config, "cluster", "seeds", seeds, &error));
  g_assert_true (gossip_config_set_strv (config, "plugins", "path", path, &error));
  g_assert_true (gossip_config_set_string (config, "plugins", "cipher", "aes-gcm", &error));
  g_assert_true (gossip_config_set_string (config, "security", "key", key, &error));
  g_assert_true (gossip_config_set_strv (config, "security", "accepted_keys", accepted, &error));
  g_assert_true (gossip_config_set_boolean (config, "transport", "datagrams", FALSE, &error));
  g_assert_true (gossip_config_set_size (config, "transport", "max_frame_size", 100000, &error));
  g_assert_true (gossip_config_set_duration (config, "transport", "io_timeout", 1234567, &error));
  g_assert_true (gossip_config_set_int (config, "compression", "level", 9, &error));
  g_assert_true (gossip_config_set_profile (config, "wan", &error));
  g_assert_true (gossip_config_set_duration (config, "health", "probe_interval", 4 * SEC, &error));
  g_assert_no_error (error);

  data = gossip_config_to_data (config, &length);
  g_assert_cmpuint (length, ==, strlen (data));
  reloaded = gossip_config_new_from_data (data, (gssize) length, &error);
  g_assert_no_error (error);
  assert_configs_equal (config, reloaded);
  /* explicit keys survived too: a profile change treats both alike */
  g_assert_true (gossip_config_set_profile (config, "local", &error));
  g_assert_true (gossip_config_set_profile (reloaded, "local", &error));
  assert_configs_equal (config, reloaded);
  g_assert_cmpint (gossip_config_get_duration (reloaded, "health", "probe_interval"), ==, 4 * SEC);

  /* copies are equal and independent */
  copy = gossip_config_copy (config);
  assert_configs_equal (config, copy);
  g_assert_true (gossip_config_set_int (copy, "gossip", "fanout", 17, &error));
  g_assert_cmpint (gossip_config_get_int (config, "gossip", "fanout"), ==, 3);

  /* the defaults round-trip, and write every key (commented out) */
  fresh_data = gossip_config_to_data (fresh, NULL);
  fresh_reloaded = gossip_config_new_from_data (fresh_data, -1, &error);
  g_assert_no_error (error);
  assert_configs_equal (fresh, fresh_reloaded);
  g_assert_nonnull (strstr (fresh_data, "\n#probe_interval=1s\n"));
  g_assert_nonnull (strstr (fresh_data, "\n[security]\n"));
}

static void
test_validate (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *key = base64_key (16, 1);
  const char *const accepted[] = { key, NULL };

  {
    g_autoptr (GossipConfig) config = gossip_config_new ();

    g_assert_true (gossip_config_set_string (config, "security", "key", key, &error));
    g_assert_false (gossip_config_validate (config, &error));
    g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT);
    g_assert_nonnull (strstr (error->message, "[plugins] cipher"));
    g_clear_error (&error);
    g_assert_true (gossip_config_set_string (config, "plugins", "cipher", "aes-gcm", &error));
    g_assert_true (gossip_config_validate (config, &error));
    g_assert_no_error (error);
  }
  {
    g_autoptr (GossipConfig) config = gossip_config_new ();

    g_assert_true (gossip_config_set_string (config, "plugins", "cipher", "aes-gcm", &error));
    g_assert_false (gossip_config_validate (config, &error));
    g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT);
    g_assert_nonnull (strstr (error->message, "[security] key"));
    g_clear_error (&error);
  }
  {
    g_autoptr (GossipConfig) config = gossip_config_new ();

    g_assert_true (gossip_config_set_strv (config, "security", "accepted_keys", accepted, &error));
    g_assert_false (gossip_config_validate (config, &error));
    g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT);
    g_assert_nonnull (strstr (error->message, "accepted_keys"));
    g_clear_error (&error);
  }
  {
    g_autoptr (GossipConfig) config = load_ok ("[health]\nprobe_timeout=1s\n");

    g_assert_false (gossip_config_validate (config, &error));
    g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT);
    g_assert_nonnull (strstr (error->message, "probe_timeout (1s)"));
    g_assert_nonnull (strstr (error->message, "probe_interval (1s)"));
    g_clear_error (&error);
    /* a profile with a longer interval makes it consistent again */
    g_assert_true (gossip_config_set_profile (config, "wan", &error));
    g_assert_true (gossip_config_validate (config, &error));
    g_assert_no_error (error);
  }
  {
    /* a compression level without a compressor is fine */
    g_autoptr (GossipConfig) config = load_ok ("[compression]\nlevel=9\n");

    g_assert_true (gossip_config_validate (config, &error));
    g_assert_no_error (error);
  }
}

static void
test_base64_keys (void)
{
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autoptr (GError) error = NULL;
  static const gsize good_lengths[] = { 16, 24, 32 };
  static const gsize bad_lengths[] = { 1, 8, 15, 17, 31, 33, 64 };

  for (guint i = 0; i < G_N_ELEMENTS (good_lengths); i++)
    {
      g_autofree char *key = base64_key (good_lengths[i], (guchar) (0xf0 + i));

      g_assert_true (gossip_config_set_value (config, "security", "key", key, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (gossip_config_get_string (config, "security", "key"), ==, key);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_lengths); i++)
    {
      g_autofree char *key = base64_key (bad_lengths[i], 0xab);
      g_autofree char *expected = g_strdup_printf ("got %" G_GSIZE_FORMAT " bytes", bad_lengths[i]);

      g_assert_false (gossip_config_set_string (config, "security", "key", key, &error));
      g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE);
      g_assert_nonnull (strstr (error->message, "[security] key"));
      g_assert_nonnull (strstr (error->message, "16, 24 or 32 bytes"));
      g_assert_nonnull (strstr (error->message, expected));
      g_clear_error (&error);
    }
  {
    /* bad alphabet: named by position, the secret is not echoed */
    const char *bad = "AAAAAAAAAAAAAAAAAAAA!AAAAAAAAAAAAAAAAAAA";
    g_autofree char *data = g_strdup_printf ("[plugins]\ncipher=x\n[security]\nkey=%s\n", bad);

    EXPECT_LOAD_ERROR (data, GOSSIP_CONFIG_ERROR_BAD_VALUE, "[security] key (line 4)",
                       "invalid character at offset 20");
    g_assert_false (gossip_config_set_string (config, "security", "key", bad, &error));
    g_assert_null (strstr (error->message, "AAAA"));
    g_clear_error (&error);
  }
  /* not a multiple of 4; padding in the middle; too much padding; url-safe alphabet */
  EXPECT_LOAD_ERROR ("[security]\nkey=AAAAAAAAAAAAAAAAAAAAAA\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "multiple of 4");
  EXPECT_LOAD_ERROR ("[security]\nkey=AAAAAAAA=AAAAAAAAAAAAAAAAAAAAAA=\n",
                     GOSSIP_CONFIG_ERROR_BAD_VALUE, "invalid character at offset 8");
  EXPECT_LOAD_ERROR ("[security]\nkey=AAAAAAAAAAAAAAAAAAAAA===\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "invalid character at offset 21");
  EXPECT_LOAD_ERROR ("[security]\nkey=AAAAAAAAAAAAAAAAAAAA_-==\n", GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "invalid character at offset 20");
  /* accepted_keys: every item is checked, and named */
  {
    g_autofree char *good = base64_key (24, 7);
    g_autofree char *short_key = base64_key (10, 7);
    g_autofree char *data = g_strdup_printf ("[security]\naccepted_keys=%s, %s\n", good, short_key);

    EXPECT_LOAD_ERROR (data, GOSSIP_CONFIG_ERROR_BAD_VALUE, "[security] accepted_keys (line 2)",
                       "item 2", "got 10 bytes");
  }
}

static void
test_parse_duration (void)
{
  static const struct
  {
    const char *text;
    gint64 us;
  } good[] = {
    { "0", 0 },
    { "0s", 0 },
    { "1.5s", 1500 * MS },
    { "5m", 300 * SEC },
    { "250ms", 250 * MS },
    { "1500us", 1500 },
    { "1h", 3600 * SEC },
    { "2", 2 * MS },
    { "1.5", 1500 },
    { " 7 s ", 7 * SEC },
    { "0.000001s", 1 },
    { "1.000000000h", 3600 * SEC },
    { "0.5m", 30 * SEC },
    { "9223372036854775807us", G_MAXINT64 },
    { "2562047788h", G_GINT64_CONSTANT (2562047788) * 3600 * SEC },
  };
  static const struct
  {
    const char *text;
    GossipConfigError code;
    const char *needle;
  } bad[] = {
    { "-1s", GOSSIP_CONFIG_ERROR_BAD_VALUE, "negative" },
    { "10xs", GOSSIP_CONFIG_ERROR_BAD_VALUE, "unknown unit 'xs'" },
    { "", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a duration" },
    { "   ", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a duration" },
    { "s", GOSSIP_CONFIG_ERROR_BAD_VALUE, "got 's'" },
    { ".5s", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a duration" },
    { "1.s", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a duration" },
    { "1s5", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a duration" },
    { "1 s x", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a duration" },
    { "+1s", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a duration" },
    { "1e3ms", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a duration" },
    { "1S", GOSSIP_CONFIG_ERROR_BAD_VALUE, "unknown unit" },
    { "1.5us", GOSSIP_CONFIG_ERROR_BAD_VALUE, "whole microseconds" },
    { "1.0000000001s", GOSSIP_CONFIG_ERROR_BAD_VALUE, "decimals" },
    { "9223372036854775808us", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE, "too long" },
    { "2562047789h", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE, "too long" },
    { "99999999999999999999999", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE, "too long" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      gint64 us = -1;

      if (!gossip_parse_duration (good[i].text, &us, &error))
        g_error ("'%s': %s", good[i].text, error->message);
      g_assert_cmpint (us, ==, good[i].us);
    }
  g_assert_true (gossip_parse_duration ("1s", NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      gint64 us = 42;

      if (gossip_parse_duration (bad[i].text, &us, &error))
        g_error ("'%s' parsed as %" G_GINT64_FORMAT, bad[i].text, us);
      g_assert_error (error, GOSSIP_CONFIG_ERROR, (gint) bad[i].code);
      if (strstr (error->message, bad[i].needle) == NULL)
        g_error ("'%s': message '%s' lacks '%s'", bad[i].text, error->message, bad[i].needle);
      g_assert_cmpint (us, ==, 42);
    }
}

static void
test_parse_size (void)
{
  static const struct
  {
    const char *text;
    guint64 bytes;
  } good[] = {
    { "0", 0 },
    { "1400", 1400 },
    { "64KiB", 64 * KiB },
    { "4MiB", 4 * MiB },
    { "1GiB", GiB },
    { "10B", 10 },
    { " 3 KiB ", 3 * KiB },
    { "18446744073709551615", G_MAXUINT64 },
    { "17179869183GiB", G_GUINT64_CONSTANT (17179869183) * GiB },
  };
  static const struct
  {
    const char *text;
    GossipConfigError code;
    const char *needle;
  } bad[] = {
    { "4MB", GOSSIP_CONFIG_ERROR_BAD_VALUE, "KiB, MiB and GiB" },
    { "1k", GOSSIP_CONFIG_ERROR_BAD_VALUE, "unknown unit 'k'" },
    { "1kib", GOSSIP_CONFIG_ERROR_BAD_VALUE, "unknown unit" },
    { "1.5KiB", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a size" },
    { "-1", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a size" },
    { "", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a size" },
    { "KiB", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a size" },
    { "1 KiB 2", GOSSIP_CONFIG_ERROR_BAD_VALUE, "expected a size" },
    { "18446744073709551616", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE, "too large" },
    { "17179869184GiB", GOSSIP_CONFIG_ERROR_OUT_OF_RANGE, "too large" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      guint64 bytes = 1;

      if (!gossip_parse_size (good[i].text, &bytes, &error))
        g_error ("'%s': %s", good[i].text, error->message);
      g_assert_cmpuint (bytes, ==, good[i].bytes);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      guint64 bytes = 42;

      if (gossip_parse_size (bad[i].text, &bytes, &error))
        g_error ("'%s' parsed as %" G_GUINT64_FORMAT, bad[i].text, bytes);
      g_assert_error (error, GOSSIP_CONFIG_ERROR, (gint) bad[i].code);
      if (strstr (error->message, bad[i].needle) == NULL)
        g_error ("'%s': message '%s' lacks '%s'", bad[i].text, error->message, bad[i].needle);
      g_assert_cmpuint (bytes, ==, 42);
    }
}

static void
test_load_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GossipConfig) config = NULL;
  int fd = g_file_open_tmp ("test-config-XXXXXX.conf", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, "[gossip]\nfanout=5\n", -1, &error));
  config = gossip_config_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gossip_config_get_int (config, "gossip", "fanout"), ==, 5);

  g_assert_true (g_file_set_contents (path, "[gossip]\n\nfanout=500\n", -1, &error));
  g_assert_false (gossip_config_load_file (config, path, &error));
  g_assert_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "[gossip] fanout (line 3)"));
  g_clear_error (&error);
  g_assert_cmpint (gossip_config_get_int (config, "gossip", "fanout"), ==, 5);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_null (gossip_config_new_from_file (path, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, path));
}

/* examples/gossip.conf loads, documents every key, and its commented-out
 * values are the real defaults. */
static void
test_example (void)
{
  const char *srcdir = g_getenv ("GOSSIP_TEST_SRCDIR");
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipConfig) config = NULL;
  g_autoptr (GossipConfig) defaults = gossip_config_new ();
  g_autoptr (GossipConfig) uncommented = NULL;
  g_autoptr (GHashTable) mentioned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GString) active = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;
  g_autofree char *group = NULL;
  guint n_keys;
  const GossipConfigKey *keys = gossip_config_list_keys (&n_keys);

  if (srcdir == NULL)
    {
      g_test_skip ("GOSSIP_TEST_SRCDIR is not set");
      return;
    }
  path = g_build_filename (srcdir, "..", "examples", "gossip.conf", NULL);
  config = gossip_config_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (gossip_config_validate (config, &error));
  g_assert_no_error (error);
  /* every key is commented out: nothing is set explicitly */
  assert_configs_equal (config, defaults);

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *eq;

      if (line[0] == '[')
        {
          g_free (group);
          group = g_strndup (line + 1, strcspn (line + 1, "]"));
          g_string_append_printf (active, "%s\n", line);
          continue;
        }
      if (line[0] != '#' || group == NULL)
        continue;
      eq = strchr (line, '=');
      if (eq == NULL || (strchr (line, ' ') != NULL && strchr (line, ' ') < eq))
        continue; /* prose */
      g_hash_table_add (mentioned,
                        g_strdup_printf ("%s/%.*s", group, (int) (eq - line - 1), line + 1));
      g_string_append_printf (active, "%s\n", line + 1);
    }
  for (guint i = 0; i < n_keys; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/%s", keys[i].group, keys[i].key);

      if (!g_hash_table_contains (mentioned, name))
        g_error ("%s does not show [%s] %s", path, keys[i].group, keys[i].key);
    }
  g_assert_cmpuint (g_hash_table_size (mentioned), ==, n_keys);

  /* uncommenting every key gives the defaults: the example does not lie */
  uncommented = gossip_config_new_from_data (active->str, -1, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_keys; i++)
    {
      g_autofree char *value = gossip_config_get_value (uncommented, keys[i].group, keys[i].key);

      g_assert_cmpstr (value, ==, keys[i].default_value);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config/list-keys", test_list_keys);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/parse-types", test_parse_types);
  g_test_add_func ("/config/errors", test_errors);
  g_test_add_func ("/config/profiles", test_profiles);
  g_test_add_func ("/config/atomic", test_atomic);
  g_test_add_func ("/config/c-api", test_c_api);
  g_test_add_func ("/config/typed-misuse", test_typed_misuse);
  for (guint i = 0; i < G_N_ELEMENTS (misuse_messages); i++)
    {
      g_autofree char *path = g_strdup_printf ("/config/typed-misuse/subprocess/%u", i);

      g_test_add_data_func (path, GUINT_TO_POINTER (i), misuse_case);
    }
  g_test_add_func ("/config/round-trip", test_round_trip);
  g_test_add_func ("/config/validate", test_validate);
  g_test_add_func ("/config/base64-keys", test_base64_keys);
  g_test_add_func ("/config/parse-duration", test_parse_duration);
  g_test_add_func ("/config/parse-size", test_parse_size);
  g_test_add_func ("/config/load-file", test_load_file);
  g_test_add_func ("/config/example", test_example);

  return g_test_run ();
}
