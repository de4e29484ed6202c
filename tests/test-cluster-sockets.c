/* test-cluster-sockets.c: whole clusters on real loopback sockets (UDP +
 * TCP), with the full pipeline: msgpack, snappy and AES-256-GCM.  Timers are
 * shortened so each scenario takes a few seconds of real time. */
#include "config.h"

#include <string.h>

#include "cluster-harness.h"

#define SEC G_USEC_PER_SEC

#define KEY_A "q1fM3Jb0cGx4Tn9oN3N0x1fM3Jb0cGx4Tn9oN3N0xw8="
#define KEY_B "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

#define FAST                                                                                       \
  "health", "profile", "local", "health", "probe_interval", "300ms", "health", "probe_timeout",    \
      "100ms", "gossip", "interval", "50ms", "health", "reconnect_interval", "500ms"

static const char *const fast_secure[] = {
  FAST,      "plugins", "compressor", "snappy",   "compression", "min_size", "64",
  "plugins", "cipher",  "aes-gcm",    "security", "key",         KEY_A,      NULL,
};

static void
join_and_converge (Harness *h, guint n)
{
  harness_join_all_to (h, 0);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (n), 10 * SEC))
    {
      harness_dump (h);
      g_test_fail_printf ("%u nodes on sockets did not converge in 10 s", n);
    }
}

static void
test_five_nodes_join_encrypted_and_compressed (void)
{
  g_autoptr (Harness) h = harness_new (5, FALSE, fast_secure);

  join_and_converge (h, 5);
  for (guint i = 0; i < 5; i++)
    {
      GossipCluster *c = harness_node (h, i);
      g_assert_cmpuint (gossip_cluster_get_counter (c, "dropped-frame"), ==, 0);
      g_assert_cmpuint (gossip_cluster_get_counter (c, "frames-in"), >, 0);
    }
}

static void
test_crash_is_detected_and_restart_rejoins (void)
{
  g_autoptr (Harness) h = harness_new (4, FALSE, fast_secure);
  HarnessSeeState dead = { 3, GOSSIP_NODE_STATE_DEAD };
  HarnessSeeState alive = { 3, GOSSIP_NODE_STATE_ALIVE };
  const char *via[] = { NULL, NULL };

  join_and_converge (h, 4);
  harness_crash (h, 3);
  g_assert_true (harness_run_until (h, harness_all_see, &dead, 20 * SEC));
  /* Back on a new port (the old one is gone with its sockets). */
  harness_start_node (h, 3, NULL);
  via[0] = harness_address (h, 0);
  g_assert_cmpuint (harness_join (h, 3, via, NULL), ==, 1);
  g_assert_true (harness_run_until (h, harness_all_see, &alive, 10 * SEC));
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (4), 10 * SEC));
}

static void
leave_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (gossip_cluster_leave_finish (GOSSIP_CLUSTER (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

static gboolean
flag_set (Harness *h, gpointer data)
{
  return *(gboolean *) data;
}

static void
test_graceful_leave_over_sockets (void)
{
  g_autoptr (Harness) h = harness_new (3, FALSE, fast_secure);
  HarnessSeeState leaving = { 2, GOSSIP_NODE_STATE_LEAVING };
  gboolean left = FALSE;

  join_and_converge (h, 3);
  gossip_cluster_leave_async (harness_node (h, 2), NULL, leave_done, &left);
  g_assert_true (harness_run_until (h, flag_set, &left, 10 * SEC));
  g_assert_true (harness_run_until (h, harness_all_see, &leaving, 5 * SEC));
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_DEAD], ==, 0);
}

static void
test_reliable_only_mode_over_tcp (void)
{
  const char *const settings[] = { FAST, "transport", "datagrams", "false", NULL };
  g_autoptr (Harness) h = harness_new (3, FALSE, settings);
  HarnessSeeState dead = { 2, GOSSIP_NODE_STATE_DEAD };

  join_and_converge (h, 3);
  harness_run (h, 2 * SEC);
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_SUSPECT], ==, 0);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 0), "acks-received"), >, 0);
  harness_crash (h, 2);
  g_assert_true (harness_run_until (h, harness_all_see, &dead, 20 * SEC));
}

static void
test_wrong_key_cannot_join (void)
{
  g_autoptr (Harness) h = harness_new (1, FALSE, fast_secure);
  g_autoptr (GError) error = NULL;
  const char *const other_key[]
      = { "security", "key", KEY_B, "transport", "io_timeout", "1s", NULL };
  const char *via[] = { NULL, NULL };

  g_ptr_array_set_size (h->nodes, 2);
  harness_start_node (h, 1, other_key);
  via[0] = harness_address (h, 0);
  g_assert_cmpuint (harness_join (h, 1, via, &error), ==, 0);
  /* Refused at once, with the reason (a notice, docs/PROTOCOL.md). */
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH);
  /* The receiver counted the frame it could not authenticate. */
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 0), "dropped-frame"), >, 0);
  g_assert_cmpuint (gossip_cluster_get_n_alive (harness_node (h, 0)), ==, 1);
}

static void
test_plaintext_node_cannot_join_an_encrypted_cluster (void)
{
  g_autoptr (Harness) h = harness_new (1, FALSE, fast_secure);
  g_autoptr (GError) error = NULL;
  const char *const plaintext[]
      = { "plugins", "cipher", "", "security", "key", "", "transport", "io_timeout", "1s", NULL };
  const char *via[] = { NULL, NULL };

  g_ptr_array_set_size (h->nodes, 2);
  harness_start_node (h, 1, plaintext);
  via[0] = harness_address (h, 0);
  g_assert_cmpuint (harness_join (h, 1, via, &error), ==, 0);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 0), "dropped-frame"), >, 0);
}

static void
test_joining_itself_is_refused_on_sockets (void)
{
  g_autoptr (Harness) h = harness_new (1, FALSE, fast_secure);
  g_autoptr (GError) error = NULL;
  const char *self_addr[] = { harness_address (h, 0), NULL };

  g_assert_cmpuint (harness_join (h, 0, self_addr, &error), ==, 0);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_SELF_JOIN);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cluster-sockets/five-nodes-join-encrypted-and-compressed",
                   test_five_nodes_join_encrypted_and_compressed);
  g_test_add_func ("/cluster-sockets/crash-is-detected-and-restart-rejoins",
                   test_crash_is_detected_and_restart_rejoins);
  g_test_add_func ("/cluster-sockets/graceful-leave", test_graceful_leave_over_sockets);
  g_test_add_func ("/cluster-sockets/reliable-only-mode-over-tcp",
                   test_reliable_only_mode_over_tcp);
  g_test_add_func ("/cluster-sockets/wrong-key-cannot-join", test_wrong_key_cannot_join);
  g_test_add_func ("/cluster-sockets/plaintext-node-cannot-join-an-encrypted-cluster",
                   test_plaintext_node_cannot_join_an_encrypted_cluster);
  g_test_add_func ("/cluster-sockets/joining-itself-is-refused",
                   test_joining_itself_is_refused_on_sockets);
  return g_test_run ();
}
