/* dns-join.c: clusters that find each other through real DNS.
 *
 * Run by test-dns-netns.sh inside a network namespace whose only resolver is
 * a dnsmasq serving the zone the script writes (DOMAIN is gossip.test):
 *
 *   nI.DOMAIN            A 127.0.0.I            (I = 1..5)
 *   all.DOMAIN           A 127.0.0.1, .2, .3
 *   v6.DOMAIN            AAAA ::1
 *   dual.DOMAIN          A 127.0.0.9, AAAA ::1
 *   _gossip._tcp.DOMAIN  SRV 10 5 n2, 10 50 n3, 20 0 n4, 30 0 n1 (port PORT)
 *   anything else in DOMAIN is NXDOMAIN
 *
 * Five nodes run in this process on 127.0.0.I:PORT, each advertising its
 * name "nI.DOMAIN" (resolved at start).  Node 2 joins "all.DOMAIN", node 1
 * joins "srv+_gossip._tcp.DOMAIN", node 5 only has that SRV name as its
 * seed; all five must then see each other alive.
 *
 * Arguments: --port PORT (default 7946).  Outside such a namespace this
 * fails: it is not meant to be run on its own.
 */
#include "config.h"

#include <string.h>

#include "cluster-harness.h"
#include "gossip/gossip-address.h"

#define SEC     G_USEC_PER_SEC
#define DOMAIN  "gossip.test"
#define N_NODES 5

static gint port = 7946;

static char *
joined_strv (char **strv)
{
  return strv ? g_strjoinv (" ", strv) : g_strdup ("(none)");
}

static void
expect_resolves (const char *text, guint16 default_port, const char *want)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) got = gossip_address_resolve (text, default_port, NULL, NULL, &error);
  g_autofree char *got_text = joined_strv (got);

  g_test_message ("%s -> %s", text, got_text);
  g_assert_no_error (error);
  g_assert_cmpstr (got_text, ==, want);
}

static void
test_lookups (void)
{
  g_autofree char *srv = NULL;
  g_autofree char *dual = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) got = NULL;

  expect_resolves ("v6." DOMAIN, 7000, "[::1]:7000");
  expect_resolves ("N1." DOMAIN ":7001", 7000, "127.0.0.1:7001");
  /* Priority 10 (weight 50, then 5), 20, 30. */
  srv = g_strdup_printf ("127.0.0.3:%d 127.0.0.2:%d 127.0.0.4:%d 127.0.0.1:%d", port, port, port,
                         port);
  expect_resolves ("srv+_gossip._tcp." DOMAIN, 0, srv);

  /* Both families, in the order the system's address selection gives. */
  got = gossip_address_resolve ("dual." DOMAIN ":7000", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  dual = joined_strv (got);
  g_test_message ("dual -> %s", dual);
  g_assert_cmpuint (g_strv_length (got), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) got, "127.0.0.9:7000"));
  g_assert_true (g_strv_contains ((const char *const *) got, "[::1]:7000"));
  g_clear_pointer (&got, g_strfreev);

  got = gossip_address_resolve ("all." DOMAIN, (guint16) port, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (got), ==, 3);
  g_clear_pointer (&got, g_strfreev);

  got = gossip_address_resolve ("missing." DOMAIN, 7000, NULL, NULL, &error);
  g_assert_null (got);
  g_assert_error (error, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED);
  g_assert_nonnull (strstr (error->message, "\"missing." DOMAIN "\""));
  g_clear_error (&error);
  got = gossip_address_resolve ("srv+_none._tcp." DOMAIN, 7000, NULL, NULL, &error);
  g_assert_null (got);
  g_assert_error (error, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED);
}

#define FAST                                                                                       \
  "health", "profile", "local", "health", "probe_interval", "300ms", "health", "probe_timeout",    \
      "100ms", "gossip", "interval", "50ms", "health", "reconnect_interval", "500ms"

static void
start_node (Harness *h, guint i, const char *seed)
{
  g_autofree char *bind = g_strdup_printf ("127.0.0.%u:%d", i + 1, port);
  g_autofree char *advertise = g_strdup_printf ("n%u." DOMAIN, i + 1);
  g_autofree char *default_port = g_strdup_printf ("%d", port);
  const char *extra[] = { "cluster",
                          "bind_address",
                          bind,
                          "cluster",
                          "advertise_address",
                          advertise,
                          "cluster",
                          "default_port",
                          default_port,
                          seed ? "cluster" : NULL,
                          "seeds",
                          seed,
                          NULL };

  harness_start_node (h, i, extra);
  /* The name was resolved at start, to this node's own address. */
  g_assert_cmpstr (harness_address (h, i), ==, bind);
}

static void
test_nodes_find_each_other_through_dns (void)
{
  const char *const settings[] = { FAST, NULL };
  g_autoptr (Harness) h = harness_new (0, FALSE, settings);
  g_autoptr (GError) error = NULL;
  const char *all[] = { "all." DOMAIN, NULL };
  const char *srv[] = { "srv+_gossip._tcp." DOMAIN, NULL };

  g_ptr_array_set_size (h->nodes, N_NODES);
  for (guint i = 0; i < N_NODES - 1; i++)
    start_node (h, i, NULL);
  /* 127.0.0.1..3, less itself. */
  g_assert_cmpuint (harness_join (h, 1, all, &error), ==, 2);
  g_assert_no_error (error);
  /* n2, n3, n4; n1 is itself. */
  g_assert_cmpuint (harness_join (h, 0, srv, &error), ==, 3);
  g_assert_no_error (error);
  /* Node 5 joins by itself, through its seed. */
  start_node (h, N_NODES - 1, srv[0]);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (N_NODES), 20 * SEC))
    {
      harness_dump (h);
      g_test_fail_printf ("%u nodes did not all see each other within 20 s", N_NODES);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) options = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "Port every node listens on", "PORT" },
    { NULL },
  };

  g_test_init (&argc, &argv, NULL);
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || port < 1 || port > 65535)
    {
      g_printerr ("dns-join: %s\n", error ? error->message : "--port must be 1 to 65535");
      return 2;
    }
  g_test_add_func ("/dns/lookups", test_lookups);
  g_test_add_func ("/dns/nodes-find-each-other", test_nodes_find_each_other_through_dns);
  return g_test_run ();
}
