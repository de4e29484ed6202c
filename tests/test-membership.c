/* test-membership.c: SWIM + Lifeguard membership, end to end between whole
 * nodes on the memory transport in virtual time (deterministic, fast), and
 * the scenarios of LESSONS.md. */
#include "config.h"

#include "cluster-harness.h"

#define SEC G_USEC_PER_SEC

static const char *const lan_profile[] = {
  "health", "profile", "lan", "health", "dead_node_timeout", "20s", "health", "reconnect_interval",
  "2s",     NULL,
};

static void
join_and_converge (Harness *h, guint n, gint64 max_us)
{
  harness_join_all_to (h, 0);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (n), max_us))
    {
      harness_dump (h);
      g_test_fail_printf ("%u nodes did not converge within %" G_GINT64_FORMAT " us", n, max_us);
    }
}

static void
test_three_nodes_join_through_one_and_see_each_other (void)
{
  g_autoptr (Harness) h = harness_new (3, TRUE, lan_profile);

  join_and_converge (h, 3, 5 * SEC);
  for (guint i = 0; i < 3; i++)
    for (guint j = 0; j < 3; j++)
      g_assert_cmpint (harness_state_of (h, i, j), ==, GOSSIP_NODE_STATE_ALIVE);
}

static void
assert_no_false_positives (Harness *h)
{
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_SUSPECT], ==, 0);
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_DEAD], ==, 0);
}

static void
test_twenty_nodes_join_through_one_at_once_without_false_suspicion (void)
{
  g_autoptr (Harness) h = harness_new (20, TRUE, lan_profile);

  join_and_converge (h, 20, 10 * SEC);
  harness_run (h, 10 * SEC);
  g_assert_true (harness_converged (h, GUINT_TO_POINTER (20)));
  assert_no_false_positives (h);
}

static void
test_hundred_nodes_join_through_one_at_once_and_settle (void)
{
  g_autoptr (Harness) h = harness_new (100, TRUE, lan_profile);

  join_and_converge (h, 100, 20 * SEC);
  harness_run (h, 10 * SEC);
  g_assert_true (harness_converged (h, GUINT_TO_POINTER (100)));
  assert_no_false_positives (h);
}

static gboolean
all_digests_equal (Harness *h, gpointer data)
{
  g_autofree char *first = gossip_cluster_get_membership_digest (harness_node (h, 0));

  for (guint i = 1; i < h->nodes->len; i++)
    {
      g_autofree char *d = gossip_cluster_get_membership_digest (harness_node (h, i));
      if (g_strcmp0 (first, d) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
test_membership_digest_tells_when_views_converged (void)
{
  g_autoptr (Harness) h = harness_new (5, TRUE, lan_profile);
  g_autofree char *alone = gossip_cluster_get_membership_digest (harness_node (h, 0));

  g_assert_false (all_digests_equal (h, NULL));
  join_and_converge (h, 5, 5 * SEC);
  g_assert_true (harness_run_until (h, all_digests_equal, NULL, 5 * SEC));
  {
    g_autofree char *now = gossip_cluster_get_membership_digest (harness_node (h, 0));
    g_assert_cmpstr (now, !=, alone);
  }
}

static gboolean
someone_suspects (Harness *h, gpointer data)
{
  return h->transitions[GOSSIP_NODE_STATE_SUSPECT] > 0;
}

static void
test_crashed_node_is_suspected_then_declared_dead (void)
{
  g_autoptr (Harness) h = harness_new (6, TRUE, lan_profile);
  HarnessSeeState dead = { 5, GOSSIP_NODE_STATE_DEAD };
  gint64 crashed_at;

  join_and_converge (h, 6, 5 * SEC);
  crashed_at = harness_now (h);
  harness_crash (h, 5);
  /* Someone suspects it within a few probe periods... */
  g_assert_true (harness_run_until (h, someone_suspects, NULL, 5 * SEC));
  g_assert_cmpint (harness_now (h) - crashed_at, <, 5 * SEC);
  /* ...and everyone declares it dead within the suspicion bound
   * (suspicion_mult x max(1, log10 n) x probe_interval x max_timeout_mult,
   * plus a probe round each). */
  g_assert_true (harness_run_until (h, harness_all_see, &dead, 30 * SEC));
  g_assert_cmpint (harness_now (h) - crashed_at, <, 30 * SEC);
  g_assert_cmpuint (gossip_cluster_get_n_alive (harness_node (h, 0)), ==, 5);
}

static void
test_graceful_leave_is_seen_as_leaving_not_dead (void)
{
  g_autoptr (Harness) h = harness_new (4, TRUE, lan_profile);
  HarnessSeeState leaving = { 3, GOSSIP_NODE_STATE_LEAVING };

  join_and_converge (h, 4, 5 * SEC);
  gossip_cluster_leave_async (harness_node (h, 3), NULL, NULL, NULL);
  g_assert_true (harness_run_until (h, harness_all_see, &leaving, 5 * SEC));
  harness_crash (h, 3);
  harness_run (h, 10 * SEC);
  g_assert_true (harness_all_see_state (h, 3, GOSSIP_NODE_STATE_LEAVING)
                 || harness_all_see_state (h, 3, GOSSIP_NODE_STATE_UNKNOWN));
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_DEAD], ==, 0);
}

static gboolean
someone_suspects_3 (Harness *h, gpointer data)
{
  for (guint i = 0; i < 3; i++)
    if (harness_state_of (h, i, 3) == GOSSIP_NODE_STATE_SUSPECT)
      return TRUE;
  return FALSE;
}

static void
test_false_suspicion_is_refuted_with_higher_incarnation (void)
{
  g_autoptr (Harness) h = harness_new (4, TRUE, lan_profile);
  g_autofree char *name = harness_node_name (3);
  GossipNode *self3;
  guint64 before;
  HarnessSeeState alive = { 3, GOSSIP_NODE_STATE_ALIVE };

  join_and_converge (h, 4, 5 * SEC);
  self3 = gossip_cluster_get_local_node (harness_node (h, 3));
  before = gossip_node_get_incarnation (self3);
  /* Cut node 3 off for a moment: others suspect it, then it comes back
   * before the suspicion expires and refutes. */
  gossip_memory_network_set_paused (h->network, name, TRUE);
  g_assert_true (harness_run_until (h, someone_suspects_3, NULL, 10 * SEC));
  gossip_memory_network_set_paused (h->network, name, FALSE);
  g_assert_true (harness_run_until (h, harness_all_see, &alive, 10 * SEC));
  g_assert_cmpuint (gossip_node_get_incarnation (self3), >, before);
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_DEAD], ==, 0);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 3), "refutations"), >, 0);
}

static void
test_node_unreachable_from_one_peer_stays_alive_through_indirect_probes (void)
{
  g_autoptr (Harness) h = harness_new (5, TRUE, lan_profile);
  g_autofree char *a = harness_node_name (0);
  g_autofree char *c = harness_node_name (4);

  join_and_converge (h, 5, 5 * SEC);
  /* A and C cannot talk directly (both ways), everyone else can. */
  {
    const char *sa[] = { a, NULL }, *sc[] = { c, NULL };
    gossip_memory_network_partition (h->network, sa, sc);
  }
  harness_run (h, 60 * SEC);
  g_assert_cmpint (harness_state_of (h, 0, 4), ==, GOSSIP_NODE_STATE_ALIVE);
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_DEAD], ==, 0);
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 0), "indirect-probes"), >, 0);
}

static void
test_node_nobody_can_reach_dies_despite_helpers_answering (void)
{
  g_autoptr (Harness) h = harness_new (5, TRUE, lan_profile);
  g_autofree char *c = harness_node_name (4);
  HarnessSeeState dead = { 4, GOSSIP_NODE_STATE_DEAD };

  join_and_converge (h, 5, 5 * SEC);
  /* C is paused: helpers answer "could not reach it" (nack), which must
   * not be taken for an ack. */
  gossip_memory_network_set_paused (h->network, c, TRUE);
  g_assert_true (harness_run_until (h, harness_all_see, &dead, 60 * SEC));
  g_assert_cmpuint (gossip_cluster_get_counter (harness_node (h, 0), "nacks-received")
                        + gossip_cluster_get_counter (harness_node (h, 1), "nacks-received")
                        + gossip_cluster_get_counter (harness_node (h, 2), "nacks-received")
                        + gossip_cluster_get_counter (harness_node (h, 3), "nacks-received"),
                    >, 0);
}

static void
test_short_pause_below_suspicion_timeout_stays_alive (void)
{
  g_autoptr (Harness) h = harness_new (6, TRUE, lan_profile);
  g_autofree char *c = harness_node_name (5);

  join_and_converge (h, 6, 5 * SEC);
  gossip_memory_network_set_paused (h->network, c, TRUE);
  harness_run (h, 1500000);
  gossip_memory_network_set_paused (h->network, c, FALSE);
  harness_run (h, 20 * SEC);
  g_assert_true (harness_all_see_state (h, 5, GOSSIP_NODE_STATE_ALIVE));
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_DEAD], ==, 0);
}

static void
test_partition_into_halves_heals_by_itself (void)
{
  g_autoptr (Harness) h = harness_new (6, TRUE, lan_profile);
  g_autofree char *n0 = harness_node_name (0), *n1 = harness_node_name (1),
                  *n2 = harness_node_name (2), *n3 = harness_node_name (3),
                  *n4 = harness_node_name (4), *n5 = harness_node_name (5);
  const char *left[] = { n0, n1, n2, NULL }, *right[] = { n3, n4, n5, NULL };

  join_and_converge (h, 6, 5 * SEC);
  gossip_memory_network_partition (h->network, left, right);
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (3), 60 * SEC));
  gossip_memory_network_heal (h->network);
  /* No application re-join: reconnect attempts to dead members heal it. */
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (6), 60 * SEC));
}

static void
test_dead_node_returning_rejoins_cleanly (void)
{
  g_autoptr (Harness) h = harness_new (4, TRUE, lan_profile);
  HarnessSeeState dead = { 3, GOSSIP_NODE_STATE_DEAD };
  const char *via[] = { NULL, NULL };

  join_and_converge (h, 4, 5 * SEC);
  harness_crash (h, 3);
  g_assert_true (harness_run_until (h, harness_all_see, &dead, 60 * SEC));
  harness_start_node (h, 3, NULL);
  via[0] = harness_address (h, 0);
  g_assert_cmpuint (harness_join (h, 3, via, NULL), ==, 1);
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (4), 10 * SEC));
}

static void
test_same_id_on_a_new_address_is_accepted (void)
{
  g_autoptr (Harness) h = harness_new (4, TRUE, lan_profile);
  g_autofree char *old_address = NULL;
  g_autofree char *bind = NULL;
  const char *via[] = { NULL, NULL };
  g_autofree char *name = harness_node_name (3);

  join_and_converge (h, 4, 5 * SEC);
  old_address = g_strdup (harness_address (h, 3));
  harness_crash (h, 3);
  bind = g_strdup_printf ("mem://%s/moved-node", h->network_name);
  {
    const char *extra[] = { "cluster", "bind_address", bind, NULL };
    harness_start_node (h, 3, extra);
  }
  via[0] = harness_address (h, 0);
  g_assert_cmpuint (harness_join (h, 3, via, NULL), ==, 1);
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (4), 10 * SEC));
  for (guint i = 0; i < 3; i++)
    g_assert_cmpstr (gossip_node_get_address (gossip_cluster_get_node (harness_node (h, i), name)),
                     ==, bind);
}

static void
leave_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (gossip_cluster_leave_finish (GOSSIP_CLUSTER (source), result, &error));
  *(gboolean *) data = TRUE;
}

static gboolean
flag_set (Harness *h, gpointer data)
{
  return *(gboolean *) data;
}

static void
test_node_can_rejoin_after_leaving (void)
{
  g_autoptr (Harness) h = harness_new (4, TRUE, lan_profile);
  gboolean left = FALSE;
  HarnessSeeState leaving = { 3, GOSSIP_NODE_STATE_LEAVING };
  const char *via[] = { NULL, NULL };

  join_and_converge (h, 4, 5 * SEC);
  gossip_cluster_leave_async (harness_node (h, 3), NULL, leave_done, &left);
  g_assert_true (harness_run_until (h, flag_set, &left, 10 * SEC));
  g_assert_true (harness_run_until (h, harness_all_see, &leaving, 5 * SEC));
  harness_crash (h, 3);
  harness_start_node (h, 3, NULL);
  via[0] = harness_address (h, 0);
  g_assert_cmpuint (harness_join (h, 3, via, NULL), ==, 1);
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (4), 10 * SEC));
}

/* With nobody to tell, a leave ends within a gossip interval, not after
 * [health] leave_timeout; with peers it lasts until they were told. */
static void
test_lone_node_leaves_at_once (void)
{
  const char *const settings[] = {
    "health", "profile", "lan", "health", "leave_timeout", "30s", NULL,
  };
  g_autoptr (Harness) h = harness_new (2, TRUE, settings);
  gboolean left = FALSE;
  HarnessSeeState leaving = { 1, GOSSIP_NODE_STATE_LEAVING };
  gint64 start;

  gossip_cluster_leave_async (harness_node (h, 0), NULL, leave_done, &left);
  start = harness_now (h);
  g_assert_true (harness_run_until (h, flag_set, &left, 30 * SEC));
  g_assert_cmpint (harness_now (h) - start, <=, SEC);

  /* Node 1 alone too, until node 0's second life joins it. */
  harness_crash (h, 0);
  harness_start_node (h, 0, NULL);
  {
    const char *via[] = { harness_address (h, 1), NULL };

    g_assert_cmpuint (harness_join (h, 0, via, NULL), ==, 1);
  }
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (2), 10 * SEC));
  left = FALSE;
  gossip_cluster_leave_async (harness_node (h, 1), NULL, leave_done, &left);
  g_assert_true (harness_run_until (h, flag_set, &left, 30 * SEC));
  g_assert_true (harness_run_until (h, harness_all_see, &leaving, 5 * SEC));
}

static void
test_reliable_only_mode_detects_and_converges (void)
{
  const char *const settings[] = {
    "health", "profile", "local", "transport", "datagrams", "false", NULL,
  };
  g_autoptr (Harness) h = harness_new (4, TRUE, settings);
  HarnessSeeState dead = { 3, GOSSIP_NODE_STATE_DEAD };

  join_and_converge (h, 4, 5 * SEC);
  harness_run (h, 10 * SEC);
  assert_no_false_positives (h);
  harness_crash (h, 3);
  g_assert_true (harness_run_until (h, harness_all_see, &dead, 60 * SEC));
}

static gboolean
refuse_old_apps (GossipCluster *cluster, const char *node_id, const char *app_version,
                 gpointer data, GError **error)
{
  if (g_strcmp0 (app_version, "2.0") < 0)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH,
                   "app version %s is older than 2.0", app_version);
      return FALSE;
    }
  return TRUE;
}

static void
test_application_version_check_refuses_join_with_reason (void)
{
  const char *const settings[]
      = { "health", "profile", "local", "cluster", "app_version", "1.0", NULL };
  g_autoptr (Harness) h = harness_new (2, TRUE, settings);
  g_autoptr (GError) error = NULL;
  const char *via[] = { harness_address (h, 0), NULL };

  gossip_cluster_set_version_check (harness_node (h, 0), refuse_old_apps, NULL, NULL);
  g_assert_cmpuint (harness_join (h, 1, via, &error), ==, 0);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_VERSION_MISMATCH);
  g_assert_nonnull (strstr (error->message, "older than 2.0"));
  g_assert_cmpuint (gossip_cluster_get_n_alive (harness_node (h, 0)), ==, 1);
}

static void
test_joining_itself_is_refused (void)
{
  g_autoptr (Harness) h = harness_new (1, TRUE, lan_profile);
  g_autoptr (GError) error = NULL;
  const char *self_addr[] = { harness_address (h, 0), NULL };

  g_assert_cmpuint (harness_join (h, 0, self_addr, &error), ==, 0);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_SELF_JOIN);
}

static void
test_join_reports_failure_when_no_address_answers (void)
{
  g_autoptr (Harness) h = harness_new (1, TRUE, lan_profile);
  g_autoptr (GError) error = NULL;
  g_autofree char *nowhere = g_strdup_printf ("mem://%s/nobody", h->network_name);
  const char *addresses[] = { nowhere, NULL };

  g_assert_cmpuint (harness_join (h, 0, addresses, &error), ==, 0);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_JOIN_FAILED);
  g_assert_nonnull (strstr (error->message, "nobody"));
}

static void
test_another_process_with_our_id_is_refused (void)
{
  g_autoptr (Harness) h = harness_new (2, TRUE, lan_profile);
  g_autoptr (GError) error = NULL;
  g_autofree char *twin = g_strdup_printf ("mem://%s/twin", h->network_name);
  const char *extra[] = { "cluster", "node_id", "node-000", "cluster", "bind_address", twin, NULL };
  const char *via[] = { harness_address (h, 0), NULL };

  harness_start_node (h, 1, extra);
  g_assert_cmpuint (harness_join (h, 1, via, &error), ==, 0);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_ID_CONFLICT);
  /* The local node was never replaced. */
  g_assert_true (gossip_node_is_local (gossip_cluster_get_node (harness_node (h, 0), "node-000")));
}

static void
test_five_hundred_nodes_converge_within_expected_rounds (void)
{
  g_autoptr (Harness) h = harness_new (500, TRUE, lan_profile);
  gint64 start = harness_now (h);

  join_and_converge (h, 500, 60 * SEC);
  /* Gossip rounds of 100 ms; log2(500) + ln(500) is about 15.2 rounds after
   * the last join answered, and joins all go through one node. */
  g_test_message ("500 nodes converged after %.1f s of virtual time",
                  (double) (harness_now (h) - start) / SEC);
  harness_run (h, 5 * SEC);
  assert_no_false_positives (h);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/membership/three-nodes-join-through-one-and-see-each-other",
                   test_three_nodes_join_through_one_and_see_each_other);
  g_test_add_func ("/membership/twenty-nodes-join-through-one-at-once-without-false-suspicion",
                   test_twenty_nodes_join_through_one_at_once_without_false_suspicion);
  g_test_add_func ("/membership/hundred-nodes-join-through-one-at-once-and-settle",
                   test_hundred_nodes_join_through_one_at_once_and_settle);
  g_test_add_func ("/membership/digest-tells-when-views-converged",
                   test_membership_digest_tells_when_views_converged);
  g_test_add_func ("/membership/crashed-node-is-suspected-then-declared-dead",
                   test_crashed_node_is_suspected_then_declared_dead);
  g_test_add_func ("/membership/graceful-leave-is-seen-as-leaving-not-dead",
                   test_graceful_leave_is_seen_as_leaving_not_dead);
  g_test_add_func ("/membership/false-suspicion-is-refuted-with-higher-incarnation",
                   test_false_suspicion_is_refuted_with_higher_incarnation);
  g_test_add_func ("/membership/node-unreachable-from-one-peer-stays-alive-through-indirect-probes",
                   test_node_unreachable_from_one_peer_stays_alive_through_indirect_probes);
  g_test_add_func ("/membership/node-nobody-can-reach-dies-despite-helpers-answering",
                   test_node_nobody_can_reach_dies_despite_helpers_answering);
  g_test_add_func ("/membership/short-pause-below-suspicion-timeout-stays-alive",
                   test_short_pause_below_suspicion_timeout_stays_alive);
  g_test_add_func ("/membership/partition-into-halves-heals-by-itself",
                   test_partition_into_halves_heals_by_itself);
  g_test_add_func ("/membership/dead-node-returning-rejoins-cleanly",
                   test_dead_node_returning_rejoins_cleanly);
  g_test_add_func ("/membership/same-id-on-a-new-address-is-accepted",
                   test_same_id_on_a_new_address_is_accepted);
  g_test_add_func ("/membership/node-can-rejoin-after-leaving", test_node_can_rejoin_after_leaving);
  g_test_add_func ("/membership/lone-node-leaves-at-once", test_lone_node_leaves_at_once);
  g_test_add_func ("/membership/reliable-only-mode-detects-and-converges",
                   test_reliable_only_mode_detects_and_converges);
  g_test_add_func ("/membership/application-version-check-refuses-join-with-reason",
                   test_application_version_check_refuses_join_with_reason);
  g_test_add_func ("/membership/joining-itself-is-refused", test_joining_itself_is_refused);
  g_test_add_func ("/membership/join-reports-failure-when-no-address-answers",
                   test_join_reports_failure_when_no_address_answers);
  g_test_add_func ("/membership/another-process-with-our-id-is-refused",
                   test_another_process_with_our_id_is_refused);
  g_test_add_func ("/membership/five-hundred-nodes-converge-within-expected-rounds",
                   test_five_hundred_nodes_converge_within_expected_rounds);
  return g_test_run ();
}
