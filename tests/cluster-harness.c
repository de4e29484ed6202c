/* cluster-harness.c: see cluster-harness.h. */
#include "config.h"

#include "cluster-harness.h"

/* From gossip-cluster-private.h, exported for tests. */
void _gossip_cluster_set_seed (GossipCluster *cluster, guint32 seed);

static guint harness_counter;

char *
harness_node_name (guint i)
{
  return g_strdup_printf ("node-%03u", i);
}

static GossipConfig *
make_config (Harness *h, guint i, const char *const *settings, const char *const *extra)
{
  g_autoptr (GError) error = NULL;
  GossipConfig *config = gossip_config_new ();
  g_autofree char *name = harness_node_name (i);
  const char *const *lists[] = { settings, extra };

  if (h->virtual_time)
    {
      g_autofree char *bind = g_strdup_printf ("mem://%s/%s", h->network_name, name);
      g_assert_true (gossip_config_set_value (config, "plugins", "transport", "memory", &error));
      g_assert_true (gossip_config_set_value (config, "cluster", "bind_address", bind, &error));
    }
  else
    g_assert_true (
        gossip_config_set_value (config, "cluster", "bind_address", "127.0.0.1:0", &error));
  g_assert_true (gossip_config_set_value (config, "cluster", "node_id", name, &error));
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint k = 0; lists[l] != NULL && lists[l][k] != NULL; k += 3)
      {
        gossip_config_set_value (config, lists[l][k], lists[l][k + 1], lists[l][k + 2], &error);
        g_assert_no_error (error);
      }
  return config;
}

static void
on_state_changed (GossipCluster *cluster, GossipNode *node, GossipNodeState old, gpointer data)
{
  Harness *h = data;
  GossipNodeState state = gossip_node_get_state (node);

  if ((guint) state < G_N_ELEMENTS (h->transitions))
    h->transitions[state]++;
}

GossipCluster *
harness_start_node (Harness *h, guint i, const char *const *extra)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipConfig) config = make_config (h, i, g_ptr_array_index (h->configs, 0), extra);
  GossipCluster *cluster;

  if (h->virtual_time)
    {
      cluster = gossip_cluster_new_with_clock (config, h->clock, &error);
      /* Reproducible runs: every random choice follows the test's --seed. */
      if (cluster != NULL)
        _gossip_cluster_set_seed (cluster, (guint32) g_test_rand_int ());
    }
  else
    cluster = gossip_cluster_new (config, &error);
  g_assert_no_error (error);
  g_assert_true (gossip_cluster_start (cluster, &error));
  g_assert_no_error (error);
  g_signal_connect (cluster, "node-state-changed", G_CALLBACK (on_state_changed), h);
  if (h->nodes->pdata[i] != NULL)
    g_object_unref (h->nodes->pdata[i]);
  h->nodes->pdata[i] = cluster;
  return cluster;
}

Harness *
harness_new (guint n, gboolean virtual_time, const char *const *settings)
{
  Harness *h = g_new0 (Harness, 1);

  h->virtual_time = virtual_time;
  h->context = g_main_context_ref_thread_default ();
  h->nodes = g_ptr_array_new ();
  h->configs = g_ptr_array_new ();
  g_ptr_array_add (h->configs, (gpointer) settings);
  g_ptr_array_set_size (h->nodes, (gint) n);
  if (virtual_time)
    {
      h->clock = gossip_manual_clock_new ();
      h->network_name = g_strdup_printf ("harness-%u-%u", (guint) getpid (), harness_counter++);
      h->network = gossip_memory_network_get (h->network_name);
      gossip_memory_network_set_seed (h->network, g_test_rand_int ());
      gossip_memory_network_set_default_link (h->network, 0.0, 200, 100);
    }
  else
    h->clock = gossip_clock_new_for_context (h->context);
  for (guint i = 0; i < n; i++)
    harness_start_node (h, i, NULL);
  return h;
}

void
harness_free (Harness *h)
{
  for (guint i = 0; i < h->nodes->len; i++)
    if (h->nodes->pdata[i] != NULL)
      {
        gossip_cluster_stop (h->nodes->pdata[i]);
        g_object_unref (h->nodes->pdata[i]);
      }
  g_ptr_array_unref (h->nodes);
  g_ptr_array_unref (h->configs);
  /* Let idle callbacks of finished tasks run so nothing leaks. */
  for (guint i = 0; i < 1000 && g_main_context_iteration (h->context, FALSE); i++)
    ;
  g_clear_pointer (&h->network, gossip_memory_network_unref);
  g_clear_object (&h->clock);
  g_main_context_unref (h->context);
  g_free (h->network_name);
  g_free (h);
}

GossipCluster *
harness_node (Harness *h, guint i)
{
  return h->nodes->pdata[i];
}

const char *
harness_address (Harness *h, guint i)
{
  return gossip_cluster_get_advertise_address (harness_node (h, i));
}

void
harness_crash (Harness *h, guint i)
{
  GossipCluster *c = harness_node (h, i);

  /* Abrupt: sockets closed, no leave message. */
  gossip_cluster_stop (c);
  g_object_unref (c);
  h->nodes->pdata[i] = NULL;
}

gint64
harness_now (Harness *h)
{
  return gossip_clock_now (h->clock);
}

static gboolean
wake (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* Virtual time moves in small steps, with the main context drained between
 * them so GTask callbacks run; real time simply iterates the context. */
void
harness_run (Harness *h, gint64 us)
{
  harness_run_until (h, NULL, NULL, us);
}

gboolean
harness_run_until (Harness *h, gboolean (*done) (Harness *h, gpointer data), gpointer data,
                   gint64 max_us)
{
  gint64 end = harness_now (h) + max_us;

  while (harness_now (h) < end)
    {
      if (done != NULL && done (h, data))
        return TRUE;
      if (h->virtual_time)
        {
          gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (h->clock),
                                       MIN (5000, end - harness_now (h)));
          for (guint i = 0; i < 100 && g_main_context_iteration (h->context, FALSE); i++)
            ;
        }
      else
        {
          /* Bounded wait so the deadline is checked often. */
          GSource *tick = g_timeout_source_new (10);
          g_source_set_callback (tick, wake, NULL, NULL);
          g_source_attach (tick, h->context);
          g_main_context_iteration (h->context, TRUE);
          g_source_destroy (tick);
          g_source_unref (tick);
        }
    }
  return done != NULL && done (h, data);
}

typedef struct
{
  gboolean finished;
  guint joined;
  GError *error;
} JoinWait;

static void
join_done (GObject *source, GAsyncResult *result, gpointer data)
{
  JoinWait *w = data;

  w->joined = gossip_cluster_join_finish (GOSSIP_CLUSTER (source), result, &w->error);
  w->finished = TRUE;
}

static gboolean
join_finished (Harness *h, gpointer data)
{
  return ((JoinWait *) data)->finished;
}

guint
harness_join (Harness *h, guint i, const char *const *addresses, GError **error)
{
  return harness_join_cancellable (h, i, addresses, NULL, error);
}

guint
harness_join_cancellable (Harness *h, guint i, const char *const *addresses,
                          GCancellable *cancellable, GError **error)
{
  JoinWait w = { 0 };

  gossip_cluster_join_async (harness_node (h, i), addresses, cancellable, join_done, &w);
  g_assert_true (harness_run_until (h, join_finished, &w, 30 * G_USEC_PER_SEC));
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.joined;
}

/* Every node joins `via` at once (the Go library never converges this way). */
void
harness_join_all_to (Harness *h, guint via)
{
  const char *addresses[] = { harness_address (h, via), NULL };
  g_autofree JoinWait *waits = g_new0 (JoinWait, h->nodes->len);

  for (guint i = 0; i < h->nodes->len; i++)
    if (i != via && harness_node (h, i) != NULL)
      gossip_cluster_join_async (harness_node (h, i), addresses, NULL, join_done, &waits[i]);
    else
      waits[i].finished = TRUE;
  for (guint i = 0; i < h->nodes->len; i++)
    {
      if (i == via || harness_node (h, i) == NULL)
        continue;
      g_assert_true (harness_run_until (h, join_finished, &waits[i], 30 * G_USEC_PER_SEC));
      g_assert_no_error (waits[i].error);
      g_assert_cmpuint (waits[i].joined, ==, 1);
    }
}

GossipNodeState
harness_state_of (Harness *h, guint observer, guint subject)
{
  g_autofree char *name = harness_node_name (subject);
  GossipNode *node = gossip_cluster_get_node (harness_node (h, observer), name);

  return node ? gossip_node_get_state (node) : GOSSIP_NODE_STATE_UNKNOWN;
}

/* Every running node sees exactly GPOINTER_TO_UINT(n_alive) alive nodes. */
gboolean
harness_converged (Harness *h, gpointer n_alive)
{
  for (guint i = 0; i < h->nodes->len; i++)
    if (harness_node (h, i) != NULL
        && gossip_cluster_get_n_alive (harness_node (h, i)) != GPOINTER_TO_UINT (n_alive))
      return FALSE;
  return TRUE;
}

gboolean
harness_all_see_state (Harness *h, guint subject, GossipNodeState state)
{
  for (guint i = 0; i < h->nodes->len; i++)
    if (i != subject && harness_node (h, i) != NULL && harness_state_of (h, i, subject) != state)
      return FALSE;
  return TRUE;
}

/* Logs every node's view and its non-zero counters (for failing tests). */
void
harness_dump (Harness *h)
{
  for (guint i = 0; i < h->nodes->len; i++)
    {
      GossipCluster *c = harness_node (h, i);
      g_autoptr (GHashTable) counters = NULL;
      g_autoptr (GString) line = NULL;
      GHashTableIter iter;
      gpointer key, value;

      if (c == NULL)
        {
          g_test_message ("node %u: down", i);
          continue;
        }
      line = g_string_new (NULL);
      g_string_append_printf (line, "node %u: alive %u suspect %u dead %u left %u health %u |", i,
                              gossip_cluster_count_nodes_in_state (c, GOSSIP_NODE_STATE_ALIVE),
                              gossip_cluster_count_nodes_in_state (c, GOSSIP_NODE_STATE_SUSPECT),
                              gossip_cluster_count_nodes_in_state (c, GOSSIP_NODE_STATE_DEAD),
                              gossip_cluster_count_nodes_in_state (c, GOSSIP_NODE_STATE_LEAVING),
                              gossip_cluster_get_health_score (c));
      counters = gossip_cluster_get_counters (c);
      g_hash_table_iter_init (&iter, counters);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (*(guint64 *) value != 0)
          g_string_append_printf (line, " %s=%" G_GUINT64_FORMAT, (char *) key, *(guint64 *) value);
      for (guint j = 0; j < h->nodes->len; j++)
        {
          g_autofree char *name = harness_node_name (j);
          GossipNode *seen = gossip_cluster_get_node (c, name);
          if (harness_node (h, j) != NULL
              && (seen == NULL || gossip_node_get_state (seen) != GOSSIP_NODE_STATE_ALIVE))
            g_string_append_printf (
                line, " [%s: %s]", name,
                seen ? gossip_node_state_to_string (gossip_node_get_state (seen)) : "unknown");
        }
      g_test_message ("%s", line->str);
    }
}

gboolean
harness_all_see (Harness *h, gpointer see_state)
{
  HarnessSeeState *s = see_state;
  return harness_all_see_state (h, s->subject, s->state);
}
