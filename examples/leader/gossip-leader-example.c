/* gossip-leader-example: one node of a cluster that elects a leader.
 *
 * Joins the peers given with --peers, takes part in a GossipLeaderElection
 * and prints what happens:
 *
 *   leader: NODE term N        a new leader (or term) is followed
 *   I am the leader (term N)   this node won
 *   lost leader: NODE term N   the leader is gone (dead, cut off, replaced)
 *   stepped down (term N)      this node no longer leads
 *
 * Type "leader" for the current state; "quit", end of input (Ctrl-D) or
 * Ctrl-C leave the cluster gracefully and exit.
 *
 * The command line is this file's own for now; it moves to the examples'
 * common CLI (examples/common) once that is merged.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include <gossip/gossip.h>

static int opt_port = 7946;
static char *opt_bind = NULL;
static char *opt_peers = NULL;
static char *opt_node_id = NULL;
static char *opt_state_file = NULL;
static int opt_heartbeat_ms = 1000;
static int opt_timeout_ms = 5000;
static int opt_check_ms = 500;

static GOptionEntry entries[] = {
  { "port", 'p', 0, G_OPTION_ARG_INT, &opt_port,
    "Port to listen on (TCP and UDP, default 7946, 0 picks one)", "PORT" },
  { "bind", 'b', 0, G_OPTION_ARG_STRING, &opt_bind, "Address to listen on (default 127.0.0.1)",
    "HOST" },
  { "peers", 'j', 0, G_OPTION_ARG_STRING, &opt_peers,
    "Comma-separated addresses of nodes to join (host:port)", "ADDR,..." },
  { "node-id", 'n', 0, G_OPTION_ARG_STRING, &opt_node_id, "This node's ID (default: generated)",
    "ID" },
  { "state-file", 's', 0, G_OPTION_ARG_FILENAME, &opt_state_file,
    "Keep the term and vote in FILE across restarts", "FILE" },
  { "heartbeat-ms", 0, 0, G_OPTION_ARG_INT, &opt_heartbeat_ms,
    "Leader heartbeat interval (default 1000)", "MS" },
  { "leader-timeout-ms", 0, 0, G_OPTION_ARG_INT, &opt_timeout_ms,
    "Time without a leader before an election (default 5000)", "MS" },
  { "check-ms", 0, 0, G_OPTION_ARG_INT, &opt_check_ms, "Check interval (default 500)", "MS" },
  { NULL },
};

typedef struct
{
  GMainLoop *loop;
  GossipCluster *cluster;
  GossipLeaderElection *election;
  GIOChannel *input;
  guint input_watch;
  GCancellable *cancellable;
  gboolean quitting;
} App;

static void
on_elected (GossipLeaderElection *election, const char *leader, guint64 term, gpointer data)
{
  (void) election;
  (void) data;
  g_print ("leader: %s term %" G_GUINT64_FORMAT "\n", leader, term);
}

static void
on_lost (GossipLeaderElection *election, const char *leader, guint64 term, gpointer data)
{
  (void) election;
  (void) data;
  g_print ("lost leader: %s term %" G_GUINT64_FORMAT "\n", leader, term);
}

static void
on_became_leader (GossipLeaderElection *election, guint64 term, gpointer data)
{
  (void) election;
  (void) data;
  g_print ("I am the leader (term %" G_GUINT64_FORMAT ")\n", term);
}

static void
on_stepped_down (GossipLeaderElection *election, guint64 term, gpointer data)
{
  (void) election;
  (void) data;
  g_print ("stepped down (term %" G_GUINT64_FORMAT ")\n", term);
}

static void
left (GObject *source, GAsyncResult *result, gpointer data)
{
  App *app = data;
  g_autoptr (GError) error = NULL;

  if (!gossip_cluster_leave_finish (GOSSIP_CLUSTER (source), result, &error))
    g_printerr ("leave: %s\n", error->message);
  g_main_loop_quit (app->loop);
}

/* Stop leading, tell the others we leave, then exit the loop. */
static void
quit (App *app)
{
  if (app->quitting)
    return;
  app->quitting = TRUE;
  g_cancellable_cancel (app->cancellable);
  if (app->election != NULL)
    gossip_leader_election_stop (app->election);
  gossip_cluster_leave_async (app->cluster, NULL, left, app);
}

static gboolean
on_signal (gpointer data)
{
  quit (data);
  return G_SOURCE_CONTINUE;
}

static void
print_state (App *app)
{
  const char *leader = gossip_leader_election_get_leader (app->election);

  g_print ("term %" G_GUINT64_FORMAT ", leader %s%s, %u live nodes, quorum %u of %u\n",
           gossip_leader_election_get_term (app->election), leader ? leader : "(none)",
           gossip_leader_election_is_leader (app->election) ? " (this node)" : "",
           gossip_cluster_get_n_alive (app->cluster),
           gossip_leader_election_get_quorum (app->election),
           gossip_leader_election_get_electorate_size (app->election));
}

static void
handle_line (App *app, char *line)
{
  g_strstrip (line);
  if (strcmp (line, "quit") == 0 || strcmp (line, "exit") == 0)
    quit (app);
  else if (strcmp (line, "leader") == 0)
    print_state (app);
  else if (line[0] != '\0')
    g_print ("commands: leader, quit\n");
}

/* Lines from stdin, read on the main loop as they come. */
static gboolean
on_input (GIOChannel *channel, GIOCondition condition, gpointer data)
{
  App *app = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  GIOStatus status;

  (void) condition;
  status = g_io_channel_read_line (channel, &line, NULL, NULL, &error);
  if (status == G_IO_STATUS_NORMAL)
    {
      handle_line (app, line);
      return G_SOURCE_CONTINUE;
    }
  if (status == G_IO_STATUS_AGAIN)
    return G_SOURCE_CONTINUE;
  if (error != NULL)
    g_printerr ("stdin: %s\n", error->message);
  /* End of input (or an error): leave. */
  app->input_watch = 0;
  quit (app);
  return G_SOURCE_REMOVE;
}

static void
start_election (App *app)
{
  g_autoptr (GError) error = NULL;
  GossipLeaderConfig config;

  gossip_leader_config_init (&config);
  config.heartbeat_interval_ms = (guint) MAX (opt_heartbeat_ms, 1);
  config.leader_timeout_ms = (guint) MAX (opt_timeout_ms, 1);
  config.check_interval_ms = (guint) MAX (opt_check_ms, 1);
  config.state_file = opt_state_file;
  app->election = gossip_leader_election_new (app->cluster, 0, &config, &error);
  if (app->election == NULL || !gossip_leader_election_start (app->election, &error))
    {
      g_printerr ("leader election: %s\n", error->message);
      quit (app);
      return;
    }
  g_signal_connect (app->election, "elected", G_CALLBACK (on_elected), app);
  g_signal_connect (app->election, "lost", G_CALLBACK (on_lost), app);
  g_signal_connect (app->election, "became-leader", G_CALLBACK (on_became_leader), app);
  g_signal_connect (app->election, "stepped-down", G_CALLBACK (on_stepped_down), app);
}

static void
joined (GObject *source, GAsyncResult *result, gpointer data)
{
  App *app = data;
  g_autoptr (GError) error = NULL;
  guint n = gossip_cluster_join_finish (GOSSIP_CLUSTER (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (n == 0)
    g_printerr ("join: %s (the peers are retried in the background)\n", error->message);
  else
    g_print ("joined %u of the peers\n", n);
  /* Once joined, the electorate is the cluster's (docs/LEADER.md). */
  if (!app->quitting)
    start_election (app);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context
      = g_option_context_new ("- elect a leader in a gossip cluster");
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autofree char *bind = NULL;
  g_auto (GStrv) peers = NULL;
  App app = { 0 };

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_port < 0 || opt_port > 65535)
    {
      g_printerr ("--port must be 0 to 65535\n");
      return 2;
    }
  bind = g_strdup_printf ("%s:%d", opt_bind ? opt_bind : "127.0.0.1", opt_port);
  peers = opt_peers ? g_strsplit (opt_peers, ",", -1) : g_new0 (char *, 1);
  if (!gossip_config_set_value (config, "cluster", "bind_address", bind, &error)
      || (opt_node_id != NULL
          && !gossip_config_set_value (config, "cluster", "node_id", opt_node_id, &error))
      || (opt_peers != NULL
          && !gossip_config_set_value (config, "cluster", "seeds", opt_peers, &error)))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  app.cluster = gossip_cluster_new (config, &error);
  if (app.cluster == NULL || !gossip_cluster_start (app.cluster, &error))
    {
      g_printerr ("cannot start: %s\n", error->message);
      g_clear_object (&app.cluster);
      return 1;
    }
  g_print ("node %s listening on %s\n",
           gossip_node_get_id (gossip_cluster_get_local_node (app.cluster)),
           gossip_cluster_get_advertise_address (app.cluster));

  app.loop = g_main_loop_new (NULL, FALSE);
  app.cancellable = g_cancellable_new ();
  app.input = g_io_channel_unix_new (0);
  /* Never block the loop on a partial line. */
  g_io_channel_set_flags (app.input, G_IO_FLAG_NONBLOCK, NULL);
  app.input_watch = g_io_add_watch (app.input, G_IO_IN | G_IO_HUP | G_IO_ERR, on_input, &app);
  g_unix_signal_add (SIGINT, on_signal, &app);
  g_unix_signal_add (SIGTERM, on_signal, &app);

  if (peers[0] != NULL)
    gossip_cluster_join_async (app.cluster, (const char *const *) peers, app.cancellable, joined,
                               &app);
  else
    start_election (&app);

  g_main_loop_run (app.loop);

  gossip_cluster_stop (app.cluster);
  g_clear_object (&app.election);
  if (app.input_watch != 0)
    g_source_remove (app.input_watch);
  g_io_channel_unref (app.input);
  g_clear_object (&app.cancellable);
  g_clear_object (&app.cluster);
  g_main_loop_unref (app.loop);
  return 0;
}
