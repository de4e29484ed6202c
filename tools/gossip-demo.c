/* gossip-demo: a local cluster doing its job, in one process.
 *
 * Starts N nodes on loopback sockets (msgpack + snappy + AES-256-GCM, the
 * plugins loaded from the build tree), joins them all through the first,
 * then kills one abruptly and shows the others suspect it and declare it
 * dead, restarts it and shows it rejoin.  Exits 0 when the cluster behaved,
 * 1 when a phase did not finish in time; always within about a minute.
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include <gossip/gossip.h>
#include <gossip/gossip-cluster.h>

static int opt_nodes = 5;
static char *opt_profile = NULL;
static gboolean opt_quiet = FALSE;

static GOptionEntry entries[] = {
  { "nodes", 'n', 0, G_OPTION_ARG_INT, &opt_nodes, "Number of nodes (2-64, default 5)", "N" },
  { "profile", 'p', 0, G_OPTION_ARG_STRING, &opt_profile, "Timing profile (default local)",
    "lan|local" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print phases only, not the table", NULL },
  { NULL },
};

typedef struct
{
  GPtrArray *nodes; /* GossipCluster or NULL while down */
  char *key;
  gint64 start;
  gboolean tty;
  guint joins_pending;
} Demo;

static double
elapsed (Demo *d)
{
  return (double) (g_get_monotonic_time () - d->start) / G_USEC_PER_SEC;
}

static void
on_state_changed (GossipCluster *cluster, GossipNode *node, GossipNodeState old, gpointer data)
{
  Demo *d = data;

  if (gossip_node_is_local (node))
    return;
  g_print ("%6.2fs  %-8s sees %-8s %s -> %s (incarnation %" G_GUINT64_FORMAT ")\n", elapsed (d),
           gossip_node_get_id (gossip_cluster_get_local_node (cluster)), gossip_node_get_id (node),
           gossip_node_state_to_string (old),
           gossip_node_state_to_string (gossip_node_get_state (node)),
           gossip_node_get_incarnation (node));
}

static GossipCluster *
start_node (Demo *d, guint i, GError **error)
{
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autofree char *id = g_strdup_printf ("node-%u", i);
  const char *settings[][3] = {
    { "cluster", "node_id", id },
    { "cluster", "bind_address", "127.0.0.1:0" },
    { "plugins", "codec", "msgpack" },
    { "plugins", "compressor", "snappy" },
    { "plugins", "cipher", "aes-gcm" },
    { "security", "key", d->key },
    { "health", "profile", opt_profile ? opt_profile : "local" },
  };
  GossipCluster *cluster;

  for (guint k = 0; k < G_N_ELEMENTS (settings); k++)
    if (!gossip_config_set_value (config, settings[k][0], settings[k][1], settings[k][2], error))
      return NULL;
  cluster = gossip_cluster_new (config, error);
  if (cluster == NULL)
    return NULL;
  if (!gossip_cluster_start (cluster, error))
    {
      g_object_unref (cluster);
      return NULL;
    }
  g_signal_connect (cluster, "node-state-changed", G_CALLBACK (on_state_changed), d);
  return cluster;
}

static void
joined (GObject *source, GAsyncResult *result, gpointer data)
{
  Demo *d = data;
  g_autoptr (GError) error = NULL;

  if (gossip_cluster_join_finish (GOSSIP_CLUSTER (source), result, &error) == 0)
    g_printerr ("join failed: %s\n", error->message);
  d->joins_pending--;
}

static void
join_first (Demo *d, guint i)
{
  const char *via[] = {
    gossip_cluster_get_advertise_address (g_ptr_array_index (d->nodes, 0)),
    NULL,
  };

  d->joins_pending++;
  gossip_cluster_join_async (g_ptr_array_index (d->nodes, i), via, NULL, joined, d);
}

static char
state_letter (GossipNode *node)
{
  if (node == NULL)
    return '.';
  return "?ASDL"[gossip_node_get_state (node)];
}

static void
print_table (Demo *d)
{
  g_autoptr (GString) out = g_string_new (NULL);

  if (opt_quiet)
    return;
  g_string_append_printf (out,
                          "%6.2fs  view of each node (A alive, S suspect, D dead, L leaving)\n"
                          "          ",
                          elapsed (d));
  for (guint j = 0; j < d->nodes->len; j++)
    g_string_append_printf (out, " node-%-3u", j);
  g_string_append_c (out, '\n');
  for (guint i = 0; i < d->nodes->len; i++)
    {
      GossipCluster *c = g_ptr_array_index (d->nodes, i);
      g_string_append_printf (out, "  node-%-3u", i);
      for (guint j = 0; j < d->nodes->len; j++)
        {
          g_autofree char *id = g_strdup_printf ("node-%u", j);
          GossipNode *n = c ? gossip_cluster_get_node (c, id) : NULL;
          if (c == NULL)
            g_string_append (out, "   (down)");
          else
            g_string_append_printf (out, "   %c/%-4" G_GUINT64_FORMAT, state_letter (n),
                                    n ? gossip_node_get_incarnation (n) : 0);
        }
      g_string_append_c (out, '\n');
    }
  g_print ("%s", out->str);
}

/* Every running node sees `subject` in `state` (subject -1: everyone alive). */
static gboolean
all_see (Demo *d, int subject, GossipNodeState state)
{
  for (guint i = 0; i < d->nodes->len; i++)
    {
      GossipCluster *c = g_ptr_array_index (d->nodes, i);
      if (c == NULL || (int) i == subject)
        continue;
      if (subject < 0)
        {
          if (gossip_cluster_get_n_alive (c) != d->nodes->len)
            return FALSE;
        }
      else
        {
          g_autofree char *id = g_strdup_printf ("node-%d", subject);
          GossipNode *n = gossip_cluster_get_node (c, id);
          if (n == NULL || gossip_node_get_state (n) != state)
            return FALSE;
        }
    }
  return TRUE;
}

static gboolean
wait_for (Demo *d, const char *what, int subject, GossipNodeState state, double seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  gint64 next_table = 0;

  g_print ("%6.2fs  -- waiting until %s\n", elapsed (d), what);
  while (g_get_monotonic_time () < deadline)
    {
      if (all_see (d, subject, state) && d->joins_pending == 0)
        {
          print_table (d);
          g_print ("%6.2fs  -- done: %s\n", elapsed (d), what);
          return TRUE;
        }
      if (g_get_monotonic_time () >= next_table)
        {
          print_table (d);
          next_table = g_get_monotonic_time () + G_USEC_PER_SEC;
        }
      g_main_context_iteration (NULL, FALSE) || (g_usleep (2000), TRUE);
    }
  print_table (d);
  g_printerr ("%6.2fs  -- FAILED: %s did not happen within %.0f s\n", elapsed (d), what, seconds);
  return FALSE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) options = g_option_context_new ("- a local libgossip cluster");
  g_autoptr (GError) error = NULL;
  guint8 key[32];
  Demo d = { 0 };
  guint victim;
  gboolean ok;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_nodes < 2 || opt_nodes > 64)
    {
      g_printerr ("--nodes must be between 2 and 64\n");
      return 2;
    }
  for (guint i = 0; i < sizeof key; i++)
    key[i] = (guint8) g_random_int ();
  d.key = g_base64_encode (key, sizeof key);
  d.nodes = g_ptr_array_new_with_free_func (g_object_unref);
  d.start = g_get_monotonic_time ();
  victim = (guint) opt_nodes - 1;

  for (guint i = 0; i < (guint) opt_nodes; i++)
    {
      GossipCluster *c = start_node (&d, i, &error);
      if (c == NULL)
        {
          g_printerr ("cannot start node-%u: %s\n", i, error->message);
          return 1;
        }
      g_print ("%6.2fs  node-%u listening on %s\n", elapsed (&d), i,
               gossip_cluster_get_advertise_address (c));
      g_ptr_array_add (d.nodes, c);
    }
  g_print ("%6.2fs  plugins: socket transport, msgpack codec, snappy compressor, aes-gcm cipher "
           "(256-bit key)\n",
           elapsed (&d));
  for (guint i = 1; i < (guint) opt_nodes; i++)
    join_first (&d, i);

  ok = wait_for (&d, "every node sees every node alive", -1, GOSSIP_NODE_STATE_ALIVE, 15);
  if (ok)
    {
      g_print ("%6.2fs  -- killing node-%u abruptly (no leave message)\n", elapsed (&d), victim);
      gossip_cluster_stop (g_ptr_array_index (d.nodes, victim));
      g_clear_object (&d.nodes->pdata[victim]);
      ok = wait_for (&d, "the others suspect it", (int) victim, GOSSIP_NODE_STATE_SUSPECT, 10)
           || all_see (&d, (int) victim, GOSSIP_NODE_STATE_DEAD);
      ok = ok
           && wait_for (&d, "the others declare it dead", (int) victim, GOSSIP_NODE_STATE_DEAD, 30);
    }
  if (ok)
    {
      g_print ("%6.2fs  -- restarting node-%u on a new port\n", elapsed (&d), victim);
      d.nodes->pdata[victim] = start_node (&d, victim, &error);
      if (d.nodes->pdata[victim] == NULL)
        {
          g_printerr ("cannot restart: %s\n", error->message);
          return 1;
        }
      join_first (&d, victim);
      ok = wait_for (&d, "it is back and everyone sees everyone alive", -1, GOSSIP_NODE_STATE_ALIVE,
                     15);
    }
  for (guint i = 0; i < d.nodes->len; i++)
    if (d.nodes->pdata[i] != NULL)
      gossip_cluster_stop (d.nodes->pdata[i]);
  g_ptr_array_unref (d.nodes);
  g_free (d.key);
  g_print ("%6.2fs  %s\n", elapsed (&d),
           ok ? "demo finished: the cluster detected the failure and healed"
              : "demo FAILED: the cluster did not behave");
  return ok ? 0 : 1;
}
