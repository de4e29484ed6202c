/* test-mixed-transports.c: one cluster, several transports.
 *
 * Five nodes on loopback: node 0 runs the socket transport and a WebSocket
 * transport, nodes 1 and 2 only the socket transport, nodes 3 and 4 only the
 * WebSocket one.  Everyone must see everyone alive and nobody suspected for
 * lack of a shared transport; broadcasts from either side reach all; a
 * WebSocket-only node that dies is seen dead by the socket-only nodes too;
 * and streams run from either side to node 0.
 *
 * Runs once per WebSocket provider named in GOSSIP_TEST_WS_PLUGINS
 * (space-separated; by default those built), and once with node 0 on one
 * provider and nodes 3, 4 on the other when both are built (interop).
 */
#include "config.h"

#include <string.h>

#include "cluster-harness.h"

#define SEC      G_GINT64_CONSTANT (1000000)
#define MSG_TYPE 500
#define N_NODES  5

typedef struct
{
  const char *hub;      /* node 0's WebSocket plugin */
  const char *ws_nodes; /* nodes 3 and 4's */
} Pairing;

static const char *const base[] = {
  "health", "profile", "lan", "websocket", "allow_insecure", "true", NULL,
};

static void
start_nodes (Harness *h, const Pairing *p)
{
  g_autofree char *both = g_strdup_printf ("socket,%s", p->hub);
  const char *const hub[]
      = { "plugins", "transport", both, "websocket", "bind_address", "127.0.0.1:0", NULL };
  const char *const sock[] = { "plugins", "transport", "socket", NULL };
  const char *const ws[] = { "plugins", "transport", p->ws_nodes, NULL };

  g_ptr_array_set_size (h->nodes, N_NODES);
  harness_start_node (h, 0, hub);
  harness_start_node (h, 1, sock);
  harness_start_node (h, 2, sock);
  harness_start_node (h, 3, ws);
  harness_start_node (h, 4, ws);
}

/* Node 0's address of the kind @want ("ws" or plain). */
static const char *
hub_address (Harness *h, gboolean websocket)
{
  const char *const *all
      = gossip_node_get_addresses (gossip_cluster_get_local_node (harness_node (h, 0)));

  for (guint i = 0; all[i] != NULL; i++)
    if ((strstr (all[i], "://") != NULL) == websocket)
      return all[i];
  g_error ("node 0 has no %s address", websocket ? "WebSocket" : "socket");
  return NULL;
}

typedef struct
{
  guint got[N_NODES];
} Inbox;

static gboolean
on_message (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
            gpointer user_data, GError **error)
{
  guint *count = user_data;

  (*count)++;
  return TRUE;
}

typedef struct
{
  guint *counts[N_NODES];
  guint target;
} Reached;

static gboolean
all_reached (Harness *h, gpointer data)
{
  Reached *r = data;

  for (guint i = 0; i < N_NODES; i++)
    if (r->counts[i] != NULL && *r->counts[i] < r->target)
      return FALSE;
  return TRUE;
}

static gboolean
on_stream (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
           GIOStream *stream, gpointer user_data, GError **error)
{
  guint *opened = user_data;

  (*opened)++;
  return TRUE;
}

typedef struct
{
  gboolean done;
  GIOStream *stream;
  GError *error;
} Opened;

static void
on_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Opened *o = user_data;

  o->stream = gossip_cluster_open_stream_finish (GOSSIP_CLUSTER (source), result, &o->error);
  o->done = TRUE;
}

static gboolean
flag_set (Harness *h, gpointer data)
{
  return *(gboolean *) data;
}

static void
test_mixed (gconstpointer data)
{
  const Pairing *p = data;
  g_autoptr (Harness) h = harness_new (0, FALSE, base);
  guint counts[N_NODES] = { 0 };
  Reached reached = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *id3 = harness_node_name (3);
  g_autofree char *id0 = harness_node_name (0);
  guint streams = 0;
  HarnessSeeState dead = { 4, GOSSIP_NODE_STATE_DEAD };
  GossipNode *n3;

  start_nodes (h, p);
  for (guint i = 1; i < N_NODES; i++)
    {
      const char *const via[] = { hub_address (h, i >= 3), NULL };

      g_assert_cmpuint (harness_join (h, i, via, &error), ==, 1);
      g_assert_no_error (error);
    }
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (N_NODES), 30 * SEC))
    {
      harness_dump (h);
      g_error ("the mixed cluster did not converge");
    }
  /* Several probe rounds: nobody is suspected for lack of a transport. */
  harness_run (h, 3 * SEC);
  g_assert_true (harness_converged (h, GUINT_TO_POINTER (N_NODES)));
  if (h->transitions[GOSSIP_NODE_STATE_SUSPECT] != 0)
    harness_dump (h);
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_SUSPECT], ==, 0);
  g_assert_cmpuint (h->transitions[GOSSIP_NODE_STATE_DEAD], ==, 0);

  /* A socket-only node knows the WebSocket-only ones' addresses but has no
   * route to them: sending directly fails clearly. */
  n3 = gossip_cluster_get_node (harness_node (h, 1), id3);
  g_assert_nonnull (n3);
  g_assert_true (g_str_has_prefix (gossip_node_get_address (n3), "ws"));
  g_assert_false (gossip_cluster_send_to (harness_node (h, 1), n3, MSG_TYPE, NULL, &error));
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE);
  g_clear_error (&error);
  /* Node 0 advertises both of its addresses. */
  g_assert_cmpuint (g_strv_length ((char **) gossip_node_get_addresses (
                        gossip_cluster_get_node (harness_node (h, 3), id0))),
                    ==, 2);

  /* Broadcasts from either side reach everyone. */
  for (guint i = 0; i < N_NODES; i++)
    {
      g_assert_true (gossip_cluster_handle (harness_node (h, i), MSG_TYPE, on_message, &counts[i],
                                            NULL, &error));
      reached.counts[i] = &counts[i];
    }
  g_assert_true (gossip_cluster_broadcast (harness_node (h, 1), MSG_TYPE,
                                           g_variant_new_string ("from socket"), &error));
  g_assert_true (gossip_cluster_broadcast (harness_node (h, 3), MSG_TYPE,
                                           g_variant_new_string ("from websocket"), &error));
  g_assert_no_error (error);
  /* Nodes 1 and 3 get the other's broadcast, everyone else both. */
  reached.target = 1;
  g_assert_true (harness_run_until (h, all_reached, &reached, 20 * SEC));
  harness_run (h, SEC);
  for (guint i = 0; i < N_NODES; i++)
    g_assert_cmpuint (counts[i], >=, (i == 1 || i == 3) ? 1 : 2);

  /* Streams to node 0 from a node on either side. */
  g_assert_true (gossip_cluster_handle_stream (harness_node (h, 0), MSG_TYPE, on_stream, &streams,
                                               NULL, &error));
  for (guint from = 1; from < N_NODES; from += 2)
    {
      Opened o = { 0 };

      gossip_cluster_open_stream_async (harness_node (h, from),
                                        gossip_cluster_get_node (harness_node (h, from), id0),
                                        MSG_TYPE, NULL, NULL, on_opened, &o);
      g_assert_true (harness_run_until (h, flag_set, &o.done, 10 * SEC));
      g_assert_no_error (o.error);
      g_clear_object (&o.stream);
    }
  g_assert_cmpuint (streams, ==, 2);

  /* A WebSocket-only node dies: the socket-only ones learn it too. */
  harness_crash (h, 4);
  if (!harness_run_until (h, harness_all_see, &dead, 60 * SEC))
    {
      harness_dump (h);
      g_error ("node 4's death did not reach everyone");
    }
}

int
main (int argc, char **argv)
{
  const char *wanted = g_getenv ("GOSSIP_TEST_WS_PLUGINS");
  g_auto (GStrv) names = g_strsplit (wanted ? wanted : GOSSIP_TEST_DEFAULT_WS_PLUGINS, " ", -1);
  static Pairing pairings[8];
  guint n = 0;

  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; names[i] != NULL && n < G_N_ELEMENTS (pairings); i++)
    {
      g_autofree char *path = NULL;

      if (names[i][0] == '\0')
        continue;
      pairings[n].hub = pairings[n].ws_nodes = names[i];
      path = g_strdup_printf ("/mixed-transports/%s", names[i]);
      g_test_add_data_func (path, &pairings[n++], test_mixed);
    }
  for (guint i = 0; names[i] != NULL; i++)
    for (guint j = 0; names[j] != NULL && n < G_N_ELEMENTS (pairings); j++)
      {
        g_autofree char *path = NULL;

        if (i == j || names[i][0] == '\0' || names[j][0] == '\0')
          continue;
        pairings[n].hub = names[i];
        pairings[n].ws_nodes = names[j];
        path = g_strdup_printf ("/mixed-transports/interop/%s-hub/%s-nodes", names[i], names[j]);
        g_test_add_data_func (path, &pairings[n++], test_mixed);
      }
  return g_test_run ();
}
