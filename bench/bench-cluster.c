/* bench-cluster.c: workloads W1-W5 and W7 of /work/shared/BENCHMARKS.md,
 * a whole cluster of GossipCluster nodes in one process.
 *
 *   W1  join convergence     sockets on 127.0.0.1, every node joins node 0 at once
 *   W2  broadcast latency    sockets, node 0 of a converged cluster broadcasts once
 *   W3  failure detection    sockets, one node of a converged cluster stops abruptly
 *   W4  idle cost            sockets, a converged cluster idles for S seconds
 *   W5  broadcast throughput sockets, node 0 broadcasts M messages as fast as it may
 *   W7  false positives    memory transport in virtual time: L loss for T minutes,
 *                          then (separately) one node cut off for 2 s
 *
 * Every node runs on the one GMainContext of the process.  When more than
 * one (workload, N, profile) is asked for, each runs in a fresh child process
 * (this program again, with --one), so that one run's sockets, heap and
 * plugins do not colour the next run's figures (W4 measures RSS growth).
 *
 * stdout: one JSON object per (workload, N, profile) (two for W7: "variant"
 * "loss" and "pause").  stderr: progress.  Every wait has a deadline.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "gossip/gossip.h"

/* Exported for tests and tools (core/gossip-cluster-private.h): seeds a
 * node's random choices, so W7 runs in virtual time are reproducible. */
void _gossip_cluster_set_seed (GossipCluster *cluster, guint32 seed);

#define MS  G_GINT64_CONSTANT (1000)
#define SEC G_USEC_PER_SEC

/* Deadlines: a run that misses one prints what it has and goes on. */
#define CONVERGE_DEADLINE   (60 * SEC)
#define DETECT_DEADLINE     (120 * SEC)
#define JOIN_DONE_DEADLINE  (30 * SEC)
#define W2_DELIVER_DEADLINE (10 * SEC) /* until every node has the broadcast */
#define W2_DRAIN_DEADLINE   (30 * SEC) /* until every node stopped retransmitting it */
/* W2: counters are read this long after the last arrival, so the last
 * nodes' own fan-out (already under way) is counted. */
#define W2_SETTLE (100 * MS)

/* The benchmark's one message type and payload size. */
#define BENCH_MESSAGE_TYPE GOSSIP_MESSAGE_TYPE_USER
#define BENCH_PAYLOAD_SIZE 100

/* Virtual time moves in steps this long, the main context drained between
 * them so that GTask callbacks run (as tests/cluster-harness.c does). */
#define VIRTUAL_STEP_US 5000

static char *opt_workloads = NULL;
static char *opt_nodes = NULL;
static char *opt_profiles = NULL;
static gdouble opt_idle_seconds = -1;
static gdouble opt_loss_minutes = -1;
static gdouble opt_loss = 0.2;
static gdouble opt_pause_seconds = 2.0;
static char *opt_compressor = NULL;
static char *opt_cipher = NULL;
static gint opt_seed = 1;
static char **opt_settings = NULL;
static gint opt_repeat = 1;
static gboolean opt_counters = FALSE;
static gint opt_messages = -1;
static gdouble opt_deadline = 120;
static gboolean opt_quick = FALSE;
static gboolean opt_one = FALSE;

static const GOptionEntry options[]
    = { { "workload", 'w', 0, G_OPTION_ARG_STRING, &opt_workloads,
          "Workloads, comma-separated (default W1,W2,W3,W4,W5,W7)", "LIST" },
        { "nodes", 'n', 0, G_OPTION_ARG_STRING, &opt_nodes,
          "Cluster sizes, comma-separated (default 16,64; 256 only when asked for; --quick: 4)",
          "LIST" },
        { "profile", 'p', 0, G_OPTION_ARG_STRING, &opt_profiles,
          "Timing profiles, comma-separated (default lan,local)", "LIST" },
        { "idle-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_idle_seconds,
          "W4: how long the converged cluster idles (default 60; --quick: 2)", "S" },
        { "loss-minutes", 0, 0, G_OPTION_ARG_DOUBLE, &opt_loss_minutes,
          "W7: virtual minutes of each variant (default 2; --quick: 0.25)", "T" },
        { "loss", 0, 0, G_OPTION_ARG_DOUBLE, &opt_loss,
          "W7: fraction of datagrams lost on every link (default 0.2)", "L" },
        { "pause-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_pause_seconds,
          "W7: how long one node is cut off in the pause variant (default 2)", "S" },
        { "messages", 'm', 0, G_OPTION_ARG_INT, &opt_messages,
          "W5: payloads node 0 broadcasts (default 10000; --quick: 200)", "M" },
        { "deadline", 0, 0, G_OPTION_ARG_DOUBLE, &opt_deadline,
          "W5: seconds the broadcasts may take to reach every node (default 120)", "S" },
        { "compressor", 0, 0, G_OPTION_ARG_STRING, &opt_compressor,
          "Compressor plugin for every node (default none)", "NAME" },
        { "cipher", 0, 0, G_OPTION_ARG_STRING, &opt_cipher,
          "Cipher plugin for every node, with a random 256-bit key (default none)", "NAME" },
        { "seed", 0, 0, G_OPTION_ARG_INT, &opt_seed,
          "W7: seed of the network and the nodes (default 1)", "N" },
        { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_settings,
          "Extra setting for every node, e.g. transport.max_connections=1024 (repeatable)",
          "GROUP.KEY=VALUE" },
        { "repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat,
          "Run every (workload, N, profile) this many times, one line each (default 1)", "R" },
        { "counters", 0, 0, G_OPTION_ARG_NONE, &opt_counters,
          "Print the nodes' summed counters and health scores to stderr at each phase", NULL },
        { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick,
          "Smoke run: 4 nodes, short idle and loss periods", NULL },
        { "one", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_one,
          "Run the one (workload, N, profile) asked for in this process", NULL },
        G_OPTION_ENTRY_NULL };

static const char *const known_workloads[] = { "W1", "W2", "W3", "W4", "W5", "W7", NULL };
static const char *const known_profiles[] = { "lan", "local", NULL };

typedef struct _Bench Bench;
typedef gboolean (*BenchPredicate) (Bench *b);

/* One node and what the benchmark tracks about its view. */
typedef struct
{
  Bench *b;
  guint index;
  gboolean converged; /* lists b->n_expected alive nodes */
  gint64 suspect_at;  /* first time it saw b->victim suspect or dead, 0 = not yet */
  gint64 dead_at;     /* first time it saw b->victim dead */
  gint64 arrived_at;  /* W2: when its handler got the broadcast, 0 = not yet */
  guint64 received;   /* W5: distinct messages its handler got */
  guint8 *seen;       /* W5: one bit per message index */
} NodeRef;

struct _Bench
{
  const char *workload;
  guint n;
  const char *profile;
  gboolean virtual_time;
  GMainContext *context;
  GossipClock *clock; /* the manual clock in virtual time, else NULL */
  GossipMemoryNetwork *network;
  char *network_name;
  char *key;        /* base64 cipher key, or NULL */
  GPtrArray *nodes; /* GossipCluster, NULL once stopped */
  NodeRef *refs;
  guint n_running;

  /* Convergence: nodes whose view lists n_expected alive members. */
  guint n_expected;
  guint n_converged;
  gint64 converged_at;
  guint64 frames_at_converge, bytes_at_converge;

  /* Joins in flight. */
  guint joins_pending;
  guint joins_failed;

  /* Failure detection of one node. */
  gint victim; /* -1: none */
  gint64 victim_stopped_at;
  guint n_saw_suspect, n_saw_dead;

  /* W7: transitions of nodes that never failed. */
  gboolean counting;
  gint paused;              /* node cut off in the pause variant, -1: none */
  guint64 false_suspect;    /* to SUSPECT, about a node that never failed, by any observer */
  guint64 false_dead;       /* to DEAD, likewise */
  guint64 false_by_paused;  /* the part of both seen by the paused node itself */
  guint64 paused_suspected; /* transitions of the paused node to SUSPECT */
  guint64 paused_dead;      /* transitions of the paused node to DEAD */
  guint64 changes;          /* every transition while counting */

  /* W2 and W5: node 0's broadcasts as the other nodes' handlers see them. */
  guint64 messages;     /* W5: M; 0 in W2 */
  gint64 sent_at;       /* W2: just before the broadcast call; W5: the first call */
  guint n_arrived;      /* W2: nodes that have the broadcast */
  guint n_complete;     /* W5: nodes that have every message */
  gint64 complete_at;   /* W5: when the last node got its last message */
  guint64 delivered;    /* W5: distinct (node, message) deliveries */
  gint64 reached_at[3]; /* W5: when reach_pct[k] % of M x (N-1) were delivered */
  guint64 duplicates;   /* deliveries of a message a node had already */
  guint64 bad_payloads; /* payloads not as sent (size, index or sender) */
  guint64 produced;     /* W5: broadcasts the library accepted */
  guint64 queue_full;   /* W5: calls refused with QUEUE_FULL */
  gint64 accepted_at;   /* W5: when the library had accepted all M */
  GSource *producer;    /* W5: the idle source that broadcasts, NULL = done */
  gboolean produce_failed;

  /* Waiting. */
  GMainLoop *loop;
  BenchPredicate pred;
};

/* ---- small helpers ------------------------------------------------------ */

static gint64
bench_now (Bench *b)
{
  return b->clock != NULL ? gossip_clock_now (b->clock) : g_get_monotonic_time ();
}

static char *
node_name (guint i)
{
  return g_strdup_printf ("node-%03u", i);
}

/* The index in a "node-%03u" id, or -1. */
static gint
node_index (const char *id)
{
  guint64 value;

  if (!g_str_has_prefix (id, "node-")
      || !g_ascii_string_to_unsigned (id + 5, 10, 0, G_MAXINT, &value, NULL))
    return -1;
  return (gint) value;
}

static GossipCluster *
bench_node (Bench *b, guint i)
{
  return b->nodes->pdata[i];
}

static guint64
sum_counter (Bench *b, const char *name)
{
  guint64 sum = 0;

  for (guint i = 0; i < b->nodes->len; i++)
    if (bench_node (b, i) != NULL)
      sum += gossip_cluster_get_counter (bench_node (b, i), name);
  return sum;
}

/* With --counters: every non-zero counter summed over the running nodes,
 * and the nodes' Lifeguard health scores, to stderr. */
static void
dump_counters (Bench *b, const char *phase)
{
  g_autoptr (GHashTable) sums = NULL;
  g_autoptr (GList) keys = NULL;
  g_autoptr (GString) text = NULL;
  guint health_max = 0, health_sum = 0;

  if (!opt_counters)
    return;
  sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < b->nodes->len; i++)
    {
      g_autoptr (GHashTable) counters = NULL;
      GHashTableIter iter;
      gpointer key, value;

      if (bench_node (b, i) == NULL)
        continue;
      health_max = MAX (health_max, gossip_cluster_get_health_score (bench_node (b, i)));
      health_sum += gossip_cluster_get_health_score (bench_node (b, i));
      counters = gossip_cluster_get_counters (bench_node (b, i));
      g_hash_table_iter_init (&iter, counters);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          guint64 *sum = g_hash_table_lookup (sums, key);

          if (sum == NULL)
            {
              sum = g_new0 (guint64, 1);
              g_hash_table_insert (sums, g_strdup (key), sum);
            }
          *sum += *(guint64 *) value;
        }
    }
  text = g_string_new (NULL);
  g_string_append_printf (text, "%s n=%u %s: %s: health score max %u sum %u |", b->workload, b->n,
                          b->profile, phase, health_max, health_sum);
  keys = g_list_sort (g_hash_table_get_keys (sums), (GCompareFunc) strcmp);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      guint64 sum = *(guint64 *) g_hash_table_lookup (sums, l->data);

      if (sum != 0)
        g_string_append_printf (text, " %s=%" G_GUINT64_FORMAT, (char *) l->data, sum);
    }
  g_printerr ("%s\n", text->str);
}

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6
         + (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

/* VmRSS of this process in KiB, 0 when it cannot be read. */
static guint64
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;
  guint64 kib = 0;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "\nVmRSS:");
  if (line != NULL)
    kib = g_ascii_strtoull (line + strlen ("\nVmRSS:"), NULL, 10);
  return kib;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/* Nearest-rank percentile of @values (sorted in place), in ms. */
static double
percentile_ms (GArray *values, double p)
{
  guint rank;

  if (values->len == 0)
    return NAN;
  g_array_sort (values, compare_gint64);
  rank = (guint) ceil (p * values->len);
  rank = CLAMP (rank, 1u, values->len);
  return (double) g_array_index (values, gint64, rank - 1) / 1000.0;
}

/* ---- JSON output -------------------------------------------------------- */

/* Every name and string printed is the program's own or a plugin name
 * (letters, digits, '-', '_', '.'); only --set text is escaped. */
/* The transport the nodes run: --set plugins.transport=... wins. */
static const char *
transport_name (Bench *b)
{
  for (guint i = 0; opt_settings != NULL && opt_settings[i] != NULL; i++)
    if (g_str_has_prefix (opt_settings[i], "plugins.transport="))
      return opt_settings[i] + strlen ("plugins.transport=");
  return b->virtual_time ? "memory" : "socket";
}

static GString *
json_begin (Bench *b, const char *workload)
{
  GString *line = g_string_new (NULL);

  g_string_append_printf (line,
                          "{\"impl\":\"libgossip\",\"workload\":\"%s\",\"n\":%u,\"profile\":\"%s\","
                          "\"transport\":\"%s\",\"codec\":\"msgpack\",\"compressor\":\"%s\","
                          "\"cipher\":\"%s\"",
                          workload, b->n, b->profile, transport_name (b),
                          opt_compressor ? opt_compressor : "none",
                          opt_cipher ? opt_cipher : "none");
  /* Settings given with --set must show with the figures they changed. */
  if (opt_settings != NULL)
    {
      g_autofree char *joined = g_strjoinv (";", opt_settings);
      g_autofree char *escaped = g_strescape (joined, NULL);

      g_string_append_printf (line, ",\"set\":\"%s\"", escaped);
    }
  return line;
}

static void
json_double (GString *line, const char *key, double value, const char *format)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (value))
    g_string_append_printf (line, ",\"%s\":null", key);
  else
    g_string_append_printf (line, ",\"%s\":%s", key,
                            g_ascii_formatd (buf, sizeof buf, format, value));
}

static void
json_uint (GString *line, const char *key, guint64 value)
{
  g_string_append_printf (line, ",\"%s\":%" G_GUINT64_FORMAT, key, value);
}

static void
json_bool (GString *line, const char *key, gboolean value)
{
  g_string_append_printf (line, ",\"%s\":%s", key, value ? "true" : "false");
}

static void
json_string (GString *line, const char *key, const char *value)
{
  g_string_append_printf (line, ",\"%s\":\"%s\"", key, value);
}

static void
json_end (GString *line)
{
  g_string_append (line, "}\n");
  fputs (line->str, stdout);
  fflush (stdout);
  g_string_free (line, TRUE);
}

/* ---- waiting ------------------------------------------------------------ */

static void
bench_poke (Bench *b)
{
  if (b->loop != NULL && b->pred != NULL && b->pred (b))
    g_main_loop_quit (b->loop);
}

static gboolean
deadline_reached (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
drain_context (Bench *b)
{
  for (guint i = 0; i < 100 && g_main_context_iteration (b->context, FALSE); i++)
    ;
}

/* Runs the cluster until @pred holds or @max_us have passed (virtual or
 * real); @pred NULL runs the whole time.  Returns whether @pred holds. */
static gboolean
bench_run_until (Bench *b, BenchPredicate pred, gint64 max_us)
{
  if (pred != NULL && pred (b))
    return TRUE;
  if (b->virtual_time)
    {
      gint64 end = bench_now (b) + max_us;

      while (bench_now (b) < end)
        {
          gossip_manual_clock_advance (GOSSIP_MANUAL_CLOCK (b->clock),
                                       MIN (VIRTUAL_STEP_US, end - bench_now (b)));
          drain_context (b);
          if (pred != NULL && pred (b))
            return TRUE;
        }
    }
  else
    {
      /* Event-driven: the signal handlers re-check @pred and quit. */
      GSource *deadline = g_timeout_source_new ((guint) MAX (max_us / 1000, 1));

      b->loop = g_main_loop_new (b->context, FALSE);
      b->pred = pred;
      g_source_set_callback (deadline, deadline_reached, b->loop, NULL);
      g_source_attach (deadline, b->context);
      g_main_loop_run (b->loop);
      g_source_destroy (deadline);
      g_source_unref (deadline);
      b->pred = NULL;
      g_clear_pointer (&b->loop, g_main_loop_unref);
    }
  return pred != NULL && pred (b);
}

static gboolean
all_converged (Bench *b)
{
  return b->n_converged == b->n_running;
}

static gboolean
joins_done (Bench *b)
{
  return b->joins_pending == 0;
}

static gboolean
all_saw_victim_dead (Bench *b)
{
  return b->n_saw_dead == b->n_running;
}

/* ---- the cluster -------------------------------------------------------- */

static void
update_converged (Bench *b, NodeRef *ref)
{
  gboolean now = gossip_cluster_get_n_alive (bench_node (b, ref->index)) == b->n_expected;

  if (now == ref->converged)
    return;
  ref->converged = now;
  if (now)
    b->n_converged++;
  else
    b->n_converged--;
  if (now && b->n_converged == b->n_running && b->converged_at == 0)
    {
      b->converged_at = bench_now (b);
      b->frames_at_converge = sum_counter (b, "frames-out");
      b->bytes_at_converge = sum_counter (b, "bytes-out");
    }
}

static void
on_state_changed (GossipCluster *cluster, GossipNode *node, GossipNodeState old, gpointer data)
{
  NodeRef *ref = data;
  Bench *b = ref->b;
  GossipNodeState state = gossip_node_get_state (node);
  gint subject = node_index (gossip_node_get_id (node));

  if (gossip_node_is_local (node))
    return;
  update_converged (b, ref);

  if (b->victim >= 0 && subject == b->victim && b->victim_stopped_at != 0)
    {
      gint64 now = bench_now (b);

      if ((state == GOSSIP_NODE_STATE_SUSPECT || state == GOSSIP_NODE_STATE_DEAD)
          && ref->suspect_at == 0)
        {
          ref->suspect_at = now;
          b->n_saw_suspect++;
        }
      if (state == GOSSIP_NODE_STATE_DEAD && ref->dead_at == 0)
        {
          ref->dead_at = now;
          b->n_saw_dead++;
        }
    }

  if (b->counting)
    {
      b->changes++;
      if (subject >= 0 && subject == b->paused)
        {
          b->paused_suspected += state == GOSSIP_NODE_STATE_SUSPECT;
          b->paused_dead += state == GOSSIP_NODE_STATE_DEAD;
        }
      else if (state == GOSSIP_NODE_STATE_SUSPECT || state == GOSSIP_NODE_STATE_DEAD)
        {
          if (state == GOSSIP_NODE_STATE_SUSPECT)
            b->false_suspect++;
          else
            b->false_dead++;
          if ((gint) ref->index == b->paused)
            b->false_by_paused++;
        }
    }
  bench_poke (b);
}

static gboolean
set_all (GossipConfig *config, const char *const (*settings)[3], guint n, GError **error)
{
  for (guint k = 0; k < n; k++)
    if (settings[k][2] != NULL
        && !gossip_config_set_value (config, settings[k][0], settings[k][1], settings[k][2], error))
      return FALSE;
  return TRUE;
}

/* The --set GROUP.KEY=VALUE settings. */
static gboolean
apply_extra_settings (GossipConfig *config, GError **error)
{
  for (guint k = 0; opt_settings != NULL && opt_settings[k] != NULL; k++)
    {
      g_auto (GStrv) kv = g_strsplit (opt_settings[k], "=", 2);
      g_auto (GStrv) gk = g_strsplit (kv[0], ".", 2);

      if (kv[1] == NULL || gk[0] == NULL || gk[1] == NULL)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--set %s: expected GROUP.KEY=VALUE", opt_settings[k]);
          return FALSE;
        }
      if (!gossip_config_set_value (config, gk[0], gk[1], kv[1], error))
        return FALSE;
    }
  return TRUE;
}

static GossipCluster *
start_node (Bench *b, guint i, GError **error)
{
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autofree char *name = node_name (i);
  g_autofree char *bind = b->virtual_time ? g_strdup_printf ("mem://%s/%s", b->network_name, name)
                                          : g_strdup ("127.0.0.1:0");
  const char *const settings[][3] = {
    { "cluster", "node_id", name },
    { "cluster", "bind_address", bind },
    { "plugins", "transport", b->virtual_time ? "memory" : "socket" },
    { "plugins", "codec", "msgpack" },
    { "plugins", "compressor", opt_compressor },
    { "plugins", "cipher", opt_cipher },
    { "security", "key", b->key },
    { "health", "profile", b->profile },
  };
  GossipCluster *cluster;

  if (!set_all (config, settings, G_N_ELEMENTS (settings), error))
    return NULL;
  if (!apply_extra_settings (config, error))
    return NULL;
  cluster = b->virtual_time ? gossip_cluster_new_with_clock (config, b->clock, error)
                            : gossip_cluster_new (config, error);
  if (cluster == NULL)
    return NULL;
  if (b->virtual_time)
    _gossip_cluster_set_seed (cluster, (guint32) opt_seed * 7919u + i);
  if (!gossip_cluster_start (cluster, error))
    {
      g_object_unref (cluster);
      return NULL;
    }
  g_signal_connect (cluster, "node-state-changed", G_CALLBACK (on_state_changed), &b->refs[i]);
  return cluster;
}

static Bench *
bench_new (const char *workload, guint n, const char *profile, gboolean virtual_time)
{
  Bench *b = g_new0 (Bench, 1);

  b->workload = workload;
  b->n = n;
  b->profile = profile;
  b->virtual_time = virtual_time;
  b->context = g_main_context_ref_thread_default ();
  b->nodes = g_ptr_array_new ();
  g_ptr_array_set_size (b->nodes, (gint) n);
  b->refs = g_new0 (NodeRef, n);
  b->victim = -1;
  b->paused = -1;
  b->n_expected = n;
  for (guint i = 0; i < n; i++)
    {
      b->refs[i].b = b;
      b->refs[i].index = i;
    }
  if (opt_cipher != NULL)
    {
      guint8 key[32];

      for (guint i = 0; i < sizeof key; i++)
        key[i] = (guint8) g_random_int ();
      b->key = g_base64_encode (key, sizeof key);
    }
  if (virtual_time)
    {
      b->clock = gossip_manual_clock_new ();
      b->network_name = g_strdup_printf ("bench-%u", (guint) getpid ());
      b->network = gossip_memory_network_get (b->network_name);
      gossip_memory_network_set_seed (b->network, (guint64) opt_seed);
      gossip_memory_network_set_default_link (b->network, 0.0, 200, 100);
    }
  return b;
}

/* Starts every node; FALSE (with a message) when one cannot start. */
static gboolean
bench_start (Bench *b)
{
  for (guint i = 0; i < b->n; i++)
    {
      g_autoptr (GError) error = NULL;

      b->nodes->pdata[i] = start_node (b, i, &error);
      if (b->nodes->pdata[i] == NULL)
        {
          g_printerr ("%s n=%u %s: cannot start node %u: %s\n", b->workload, b->n, b->profile, i,
                      error->message);
          return FALSE;
        }
      b->n_running++;
    }
  for (guint i = 0; i < b->n; i++)
    update_converged (b, &b->refs[i]);
  return TRUE;
}

static void
bench_stop_node (Bench *b, guint i)
{
  GossipCluster *c = bench_node (b, i);

  if (c == NULL)
    return;
  /* Abrupt: timers cancelled, sockets closed, no leave message. */
  g_signal_handlers_disconnect_by_data (c, &b->refs[i]);
  gossip_cluster_stop (c);
  g_object_unref (c);
  b->nodes->pdata[i] = NULL;
  b->n_running--;
  if (b->refs[i].converged)
    b->n_converged--;
  b->refs[i].converged = FALSE;
}

static void
bench_stop_producer (Bench *b)
{
  if (b->producer != NULL)
    {
      g_source_destroy (b->producer);
      g_clear_pointer (&b->producer, g_source_unref);
    }
}

static void
bench_free (Bench *b)
{
  bench_stop_producer (b);
  for (guint i = 0; i < b->nodes->len; i++)
    bench_stop_node (b, i);
  /* Let the idle callbacks of finished tasks run so nothing is left over. */
  for (guint i = 0; i < 1000 && g_main_context_iteration (b->context, FALSE); i++)
    ;
  g_ptr_array_unref (b->nodes);
  for (guint i = 0; i < b->n; i++)
    g_free (b->refs[i].seen);
  g_free (b->refs);
  g_clear_pointer (&b->network, gossip_memory_network_unref);
  g_clear_object (&b->clock);
  g_main_context_unref (b->context);
  g_free (b->network_name);
  g_free (b->key);
  g_free (b);
}

static void
join_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Bench *b = data;
  g_autoptr (GError) error = NULL;

  if (gossip_cluster_join_finish (GOSSIP_CLUSTER (source), result, &error) == 0)
    {
      /* The first few tell why; bench_converge reports the count. */
      if (b->joins_failed++ < 3)
        g_printerr ("%s n=%u %s: join failed: %s\n", b->workload, b->n, b->profile,
                    error ? error->message : "no node joined");
    }
  b->joins_pending--;
  bench_poke (b);
}

/* Every node but 0 joins node 0 at once; returns the time of the first call. */
static gint64
join_all_to_first (Bench *b)
{
  const char *via[] = { gossip_cluster_get_advertise_address (bench_node (b, 0)), NULL };
  gint64 started = bench_now (b);

  for (guint i = 1; i < b->n; i++)
    {
      b->joins_pending++;
      gossip_cluster_join_async (bench_node (b, i), via, NULL, join_done, b);
    }
  return started;
}

/* Starts, joins and waits for convergence; FALSE (with a message) if not. */
static gboolean
bench_converge (Bench *b, gint64 *join_started)
{
  gint64 started;
  gboolean ok;

  if (!bench_start (b))
    return FALSE;
  started = join_all_to_first (b);
  if (join_started != NULL)
    *join_started = started;
  ok = bench_run_until (b, all_converged, CONVERGE_DEADLINE);
  dump_counters (b, "converged");
  /* The joins' own callbacks come shortly after; wait so none is left. */
  bench_run_until (b, joins_done, JOIN_DONE_DEADLINE);
  if (!ok)
    {
      guint lo = G_MAXUINT, hi = 0, suspect = 0, dead = 0;

      /* How far the views got, to tell slow gossip from false suspicions. */
      for (guint i = 0; i < b->n; i++)
        if (bench_node (b, i) != NULL)
          {
            guint alive = gossip_cluster_get_n_alive (bench_node (b, i));

            lo = MIN (lo, alive);
            hi = MAX (hi, alive);
            suspect += gossip_cluster_count_nodes_in_state (bench_node (b, i),
                                                            GOSSIP_NODE_STATE_SUSPECT);
            dead += gossip_cluster_count_nodes_in_state (bench_node (b, i), GOSSIP_NODE_STATE_DEAD);
          }
      g_printerr ("%s n=%u %s: not converged after %.0f s: %u of %u nodes list %u alive, the "
                  "views list %u to %u alive, %u suspect and %u dead entries in all; %u of %u "
                  "joins failed\n",
                  b->workload, b->n, b->profile, (double) CONVERGE_DEADLINE / SEC, b->n_converged,
                  b->n_running, b->n_expected, lo, hi, suspect, dead, b->joins_failed, b->n - 1);
    }
  return ok;
}

/* ---- workloads ---------------------------------------------------------- */

static gboolean
run_w1 (guint n, const char *profile)
{
  Bench *b = bench_new ("W1", n, profile, FALSE);
  gint64 started = 0;
  double cpu0 = cpu_seconds ();
  gboolean ok = bench_converge (b, &started);
  double cpu = cpu_seconds () - cpu0;
  GString *line = json_begin (b, "W1");
  double converge_ms = ok ? (double) (b->converged_at - started) / 1000.0 : NAN;

  json_bool (line, "converged", ok);
  json_double (line, "converge_ms", converge_ms, "%.1f");
  json_double (line, "pkts_per_node", ok ? (double) b->frames_at_converge / n : NAN, "%.1f");
  json_double (line, "bytes_per_node", ok ? (double) b->bytes_at_converge / n : NAN, "%.0f");
  json_uint (line, "joins_failed", b->joins_failed);
  json_uint (line, "nodes_converged", b->n_converged);
  /* Start-up, join and convergence, up to the joins' last callback: tells
   * whether one process could keep up with all N nodes. */
  json_double (line, "cpu_s", cpu, "%.2f");
  json_double (line, "wall_s", (double) (g_get_monotonic_time () - started) / SEC, "%.2f");
  json_end (line);
  g_printerr ("W1 n=%u %s: %s in %.1f ms, %.1f frames and %.0f bytes sent per node\n", n, profile,
              ok ? "converged" : "NOT converged", converge_ms, (double) b->frames_at_converge / n,
              (double) b->bytes_at_converge / n);
  bench_free (b);
  return ok;
}

/* Times of the observers that saw the victim suspect (or dead), in us since
 * it stopped. */
static GArray *
detection_times (Bench *b, gboolean dead)
{
  GArray *times = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < b->n; i++)
    {
      gint64 at = dead ? b->refs[i].dead_at : b->refs[i].suspect_at;

      if ((gint) i != b->victim && at != 0)
        {
          gint64 delta = at - b->victim_stopped_at;
          g_array_append_val (times, delta);
        }
    }
  return times;
}

/* Stops b->victim and waits until every other node sees it dead; adds the
 * detection figures to @line: W3's names, or with @real W7's "real_" ones
 * (real_dead_ms: until every other node sees it dead). */
static gboolean
measure_detection (Bench *b, GString *line, gboolean real)
{
  g_autoptr (GArray) suspect = NULL, dead = NULL;
  gboolean ok;

  dump_counters (b, "before the stop");
  bench_stop_node (b, (guint) b->victim);
  b->victim_stopped_at = bench_now (b);
  ok = bench_run_until (b, all_saw_victim_dead, DETECT_DEADLINE);
  dump_counters (b, "after the detection");
  suspect = detection_times (b, FALSE);
  dead = detection_times (b, TRUE);
  if (real)
    {
      json_double (line, "real_dead_ms", ok ? percentile_ms (dead, 1.0) : NAN, "%.1f");
      json_double (line, "real_dead_p50_ms", percentile_ms (dead, 0.5), "%.1f");
      json_double (line, "real_first_suspect_ms", percentile_ms (suspect, 0.0), "%.1f");
      json_uint (line, "real_detected", b->n_saw_dead);
    }
  else
    {
      json_double (line, "suspect_p50_ms", percentile_ms (suspect, 0.5), "%.1f");
      json_double (line, "dead_p50_ms", percentile_ms (dead, 0.5), "%.1f");
      json_double (line, "dead_max_ms", ok ? percentile_ms (dead, 1.0) : NAN, "%.1f");
      json_double (line, "first_suspect_ms", percentile_ms (suspect, 0.0), "%.1f");
      json_uint (line, "detected", b->n_saw_dead);
    }
  g_printerr ("%s n=%u %s: node %d stopped; first suspicion %.0f ms, suspect p50 %.0f ms, "
              "dead p50 %.0f ms, dead max %.0f ms (%u of %u saw it dead)\n",
              b->workload, b->n, b->profile, b->victim, percentile_ms (suspect, 0.0),
              percentile_ms (suspect, 0.5), percentile_ms (dead, 0.5),
              ok ? percentile_ms (dead, 1.0) : NAN, b->n_saw_dead, b->n_running);
  return ok;
}

static gboolean
run_w3 (guint n, const char *profile)
{
  Bench *b = bench_new ("W3", n, profile, FALSE);
  gboolean ok = bench_converge (b, NULL);
  GString *line = json_begin (b, "W3");
  guint64 probes, pings;

  if (ok)
    {
      /* Let the join's own broadcasts die down first. */
      bench_run_until (b, NULL, opt_quick ? SEC / 2 : 3 * SEC);
      b->victim = (gint) n - 1;
      pings = sum_counter (b, "pings-sent");
      ok = measure_detection (b, line, FALSE);
      probes = sum_counter (b, "pings-sent") - pings;
      json_uint (line, "suspicions", sum_counter (b, "suspicions"));
      json_uint (line, "pings_during", probes);
    }
  json_bool (line, "converged", b->converged_at != 0);
  json_end (line);
  bench_free (b);
  return ok;
}

static gboolean
run_w4 (guint n, const char *profile, double idle_seconds)
{
  guint64 rss_empty = rss_kib ();
  Bench *b = bench_new ("W4", n, profile, FALSE);
  gboolean ok = bench_converge (b, NULL);
  GString *line = json_begin (b, "W4");

  if (ok)
    {
      double cpu0, cpu1;
      guint64 bytes0, frames0, rss;
      gint64 t0, t1;

      /* The join's broadcasts are not idle traffic. */
      bench_run_until (b, NULL, opt_quick ? SEC / 2 : 5 * SEC);
      b->counting = TRUE;
      bytes0 = sum_counter (b, "bytes-out");
      frames0 = sum_counter (b, "frames-out");
      cpu0 = cpu_seconds ();
      t0 = g_get_monotonic_time ();
      bench_run_until (b, NULL, (gint64) (idle_seconds * SEC));
      t1 = g_get_monotonic_time ();
      cpu1 = cpu_seconds ();
      rss = rss_kib ();
      dump_counters (b, "after the idle period");
      {
        double seconds = (double) (t1 - t0) / SEC;
        double cpu = (cpu1 - cpu0) / n / (seconds / 60.0);
        double rss_per_node = (double) (rss > rss_empty ? rss - rss_empty : 0) / n;
        double bytes = (double) (sum_counter (b, "bytes-out") - bytes0) / n / seconds;
        double frames = (double) (sum_counter (b, "frames-out") - frames0) / n / seconds;

        json_double (line, "cpu_s_per_node_min", cpu, "%.5f");
        json_double (line, "rss_kib_per_node", rss_per_node, "%.1f");
        json_double (line, "bytes_per_node_s", bytes, "%.1f");
        json_double (line, "pkts_per_node_s", frames, "%.2f");
        json_double (line, "idle_s", seconds, "%.1f");
        json_uint (line, "rss_kib_empty", rss_empty);
        json_uint (line, "rss_kib", rss);
        json_uint (line, "state_changes", b->changes);
        json_bool (line, "still_converged", all_converged (b));
        g_printerr (
            "W4 n=%u %s: %.1f s idle: %.5f CPU-s/node/min, %.1f KiB/node "
            "(RSS %" G_GUINT64_FORMAT " KiB over %" G_GUINT64_FORMAT
            " KiB empty), %.1f B/node/s, %.2f frames/node/s, %" G_GUINT64_FORMAT " state changes\n",
            n, profile, seconds, cpu, rss_per_node, rss, rss_empty, bytes, frames, b->changes);
      }
    }
  json_bool (line, "converged", b->converged_at != 0);
  json_end (line);
  bench_free (b);
  return ok;
}

/* ---- W2 and W5: node 0's broadcasts ------------------------------------- */

/* A counter of the kernel's UDP statistics in /proc/net/snmp, e.g.
 * "RcvbufErrors" (datagrams dropped because a socket's receive buffer was
 * full).  It covers the whole network namespace, not only this process.
 * Returns G_MAXUINT64 when it cannot be read. */
static guint64
udp_stat (const char *name)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/net/snmp", &text, NULL, NULL))
    return G_MAXUINT64;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    if (g_str_has_prefix (lines[i], "Udp: ") && g_str_has_prefix (lines[i + 1], "Udp: "))
      {
        g_auto (GStrv) names = g_strsplit (lines[i], " ", -1);
        g_auto (GStrv) values = g_strsplit (lines[i + 1], " ", -1);

        for (guint k = 1; names[k] != NULL && values[k] != NULL; k++)
          if (g_str_equal (names[k], name))
            return g_ascii_strtoull (values[k], NULL, 10);
        break;
      }
  return G_MAXUINT64;
}

/* @after - @before of a udp_stat(), null when either could not be read. */
static void
json_udp_delta (GString *line, const char *key, guint64 before, guint64 after)
{
  if (before == G_MAXUINT64 || after == G_MAXUINT64 || after < before)
    g_string_append_printf (line, ",\"%s\":null", key);
  else
    json_uint (line, key, after - before);
}

/* The payload of message @index: the index (4 bytes, little endian), then
 * filler, BENCH_PAYLOAD_SIZE bytes in all. */
static GVariant *
bench_payload (guint32 index)
{
  guint8 data[BENCH_PAYLOAD_SIZE];
  guint32 le = GUINT32_TO_LE (index);
  g_autoptr (GBytes) bytes = NULL;

  memcpy (data, &le, sizeof le);
  for (guint i = sizeof le; i < sizeof data; i++)
    data[i] = (guint8) (index * 31u + i);
  bytes = g_bytes_new (data, sizeof data);
  return gossip_payload_new_bytes (bytes);
}

/* W5 also times how long the first 50, 90 and 99 % of the deliveries took. */
static const guint reach_pct[] = { 50, 90, 99 };
G_STATIC_ASSERT (G_N_ELEMENTS (reach_pct) == G_N_ELEMENTS (((Bench *) NULL)->reached_at));

/* Every node's handler: W2 times the arrival, W5 counts distinct messages. */
static gboolean
on_bench_message (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
                  gpointer data, GError **error)
{
  NodeRef *ref = data;
  Bench *b = ref->b;
  gint64 now = g_get_monotonic_time ();
  g_autoptr (GBytes) bytes = gossip_payload_get_bytes (payload);
  const guint8 *p = NULL;
  gsize size = 0;
  guint32 index;

  (void) cluster;
  (void) type;
  (void) error;
  if (bytes != NULL)
    p = g_bytes_get_data (bytes, &size);
  if (p == NULL || size != BENCH_PAYLOAD_SIZE
      || !g_str_equal (gossip_node_get_id (sender), "node-000"))
    {
      b->bad_payloads++;
      return TRUE;
    }
  memcpy (&index, p, sizeof index);
  index = GUINT32_FROM_LE (index);
  if (b->messages == 0)
    {
      if (ref->arrived_at != 0)
        b->duplicates++;
      else
        {
          ref->arrived_at = now;
          b->n_arrived++;
        }
    }
  else if (index >= b->messages || ref->seen == NULL)
    b->bad_payloads++;
  else if (ref->seen[index / 8] & (1u << (index % 8)))
    b->duplicates++;
  else
    {
      ref->seen[index / 8] |= (guint8) (1u << (index % 8));
      b->delivered++;
      for (guint k = 0; k < G_N_ELEMENTS (reach_pct); k++)
        if (b->reached_at[k] == 0 && b->delivered * 100 >= reach_pct[k] * b->messages * (b->n - 1))
          b->reached_at[k] = now;
      if (++ref->received == b->messages && ++b->n_complete == b->n - 1)
        b->complete_at = now;
    }
  bench_poke (b);
  return TRUE;
}

static gboolean
handle_everywhere (Bench *b)
{
  for (guint i = 0; i < b->n; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!gossip_cluster_handle (bench_node (b, i), BENCH_MESSAGE_TYPE, on_bench_message,
                                  &b->refs[i], NULL, &error))
        {
          g_printerr ("%s n=%u %s: node %u: %s\n", b->workload, b->n, b->profile, i,
                      error->message);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
all_arrived (Bench *b)
{
  return b->n_arrived == b->n - 1;
}

static gboolean
all_complete (Bench *b)
{
  return b->n_complete == b->n - 1 || b->produce_failed;
}

/* No node keeps a message for its first fan-out or for retransmission. */
static gboolean
queues_drained (Bench *b)
{
  for (guint i = 0; i < b->nodes->len; i++)
    if (bench_node (b, i) != NULL && gossip_cluster_get_queue_depth (bench_node (b, i)) > 0)
      return FALSE;
  return TRUE;
}

/* As bench_run_until(), for a predicate no signal announces: checked every
 * @step_us. */
static gboolean
bench_poll_until (Bench *b, BenchPredicate pred, gint64 max_us, gint64 step_us)
{
  gint64 end = g_get_monotonic_time () + max_us;

  while (!pred (b))
    {
      gint64 left = end - g_get_monotonic_time ();

      if (left <= 0)
        return FALSE;
      bench_run_until (b, NULL, MIN (step_us, left));
    }
  return TRUE;
}

/* What every node has sent so far, summed. */
typedef struct
{
  gint64 at;
  guint64 frames, bytes, entries, duplicates;
} Traffic;

static void
traffic_take (Bench *b, Traffic *t)
{
  t->at = g_get_monotonic_time ();
  t->frames = sum_counter (b, "frames-out");
  t->bytes = sum_counter (b, "bytes-out");
  t->entries = sum_counter (b, "broadcast-entries-sent");
  t->duplicates = sum_counter (b, "broadcasts-duplicate");
}

/* Adds duplicate_deliveries to @line; FALSE (with a message) if a handler
 * got a message twice or one not as sent. */
static gboolean
deliveries_sound (Bench *b, GString *line)
{
  json_uint (line, "duplicate_deliveries", b->duplicates);
  if (b->duplicates == 0 && b->bad_payloads == 0)
    return TRUE;
  g_printerr ("%s n=%u %s: %" G_GUINT64_FORMAT " duplicate and %" G_GUINT64_FORMAT
              " malformed deliveries\n",
              b->workload, b->n, b->profile, b->duplicates, b->bad_payloads);
  return FALSE;
}

/* Tells what node @i, which never got the broadcast, saw of broadcasts. */
static void
report_missed (Bench *b, guint i)
{
  const char *const names[]
      = { "frames-in",          "broadcasts-delivered", "broadcasts-duplicate",
          "broadcasts-expired", "dropped-frame",        "dropped-malformed" };
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    g_string_append_printf (text, " %s=%" G_GUINT64_FORMAT, names[k],
                            gossip_cluster_get_counter (bench_node (b, i), names[k]));
  g_printerr ("%s n=%u %s: node-%03u never got it:%s\n", b->workload, b->n, b->profile, i,
              text->str);
}

static gboolean
run_w2 (guint n, const char *profile)
{
  Bench *b = bench_new ("W2", n, profile, FALSE);
  gboolean ok = bench_converge (b, NULL) && handle_everywhere (b);
  GString *line = json_begin (b, "W2");
  g_autoptr (GArray) arrivals = g_array_new (FALSE, FALSE, sizeof (gint64));
  Traffic quiet, t0, t1, t2;
  gboolean sent = FALSE, drained = FALSE;
  double frames_rate = 0, bytes_rate = 0; /* background, per node per us */
  double busy = NAN; /* process CPU / wall time while the background is taken */
  double cpu = NAN;  /* process CPU from the broadcast call to the last arrival */
  gint64 cut = 0;    /* end of the delivery phase */
  guint delivered = 0;
  guint64 rcvbuf0 = 0, rcvbuf1 = G_MAXUINT64;

  if (ok)
    {
      g_autoptr (GError) error = NULL;

      /* Let the join's own broadcasts die down, then take the background
       * traffic (probes and acks) that the figures are compared with. */
      bench_run_until (b, NULL, opt_quick ? SEC / 2 : SEC);
      traffic_take (b, &quiet);
      busy = cpu_seconds ();
      bench_run_until (b, NULL, opt_quick ? SEC / 2 : 2 * SEC);
      traffic_take (b, &t0);
      busy = (cpu_seconds () - busy) / ((double) (t0.at - quiet.at) / SEC);
      frames_rate = (double) (t0.frames - quiet.frames) / n / (double) (t0.at - quiet.at);
      bytes_rate = (double) (t0.bytes - quiet.bytes) / n / (double) (t0.at - quiet.at);
      dump_counters (b, "before the broadcast");
      rcvbuf0 = udp_stat ("RcvbufErrors");
      b->counting = TRUE;
      cpu = cpu_seconds ();
      b->sent_at = g_get_monotonic_time ();
      sent = gossip_cluster_broadcast (bench_node (b, 0), BENCH_MESSAGE_TYPE, bench_payload (0),
                                       &error);
      if (!sent)
        g_printerr ("W2 n=%u %s: cannot broadcast: %s\n", n, profile, error->message);
    }
  if (sent)
    {
      ok = bench_run_until (b, all_arrived, W2_DELIVER_DEADLINE);
      cpu = cpu_seconds () - cpu;
      /* The figures count the nodes reached by now; later ones (during the
       * drain below) only as "delivered_late". */
      cut = g_get_monotonic_time ();
      delivered = b->n_arrived;
      bench_run_until (b, NULL, W2_SETTLE);
      traffic_take (b, &t1);
      rcvbuf1 = udp_stat ("RcvbufErrors");
      /* Its retransmissions ride on later datagrams until every node has
       * sent it retransmit_mult x log10 (N + 1) times. */
      drained = bench_poll_until (b, queues_drained, W2_DRAIN_DEADLINE, 20 * MS);
      traffic_take (b, &t2);
      dump_counters (b, "after the broadcast");
      for (guint i = 1; i < n; i++)
        if (b->refs[i].arrived_at != 0 && b->refs[i].arrived_at <= cut)
          {
            gint64 delta = b->refs[i].arrived_at - b->sent_at;
            g_array_append_val (arrivals, delta);
          }
        else if (b->refs[i].arrived_at == 0)
          report_missed (b, i);
      if (opt_counters)
        {
          g_autoptr (GString) text = g_string_new (NULL);

          g_array_sort (arrivals, compare_gint64);
          for (guint i = 0; i < arrivals->len; i++)
            g_string_append_printf (text, " %.1f", g_array_index (arrivals, gint64, i) / 1000.0);
          g_printerr ("W2 n=%u %s: arrivals (ms):%s\n", n, profile, text->str);
        }
    }
  json_bool (line, "converged", b->converged_at != 0);
  json_uint (line, "delivered", delivered);
  if (sent)
    {
      json_uint (line, "delivered_late", b->n_arrived - delivered);
      double window = (double) (t1.at - b->sent_at);
      double total = (double) (t2.at - t0.at);
      double p50 = percentile_ms (arrivals, 0.5), p99 = percentile_ms (arrivals, 0.99);
      double max = ok ? percentile_ms (arrivals, 1.0) : NAN;

      json_double (line, "p50_ms", p50, "%.2f");
      json_double (line, "p99_ms", p99, "%.2f");
      json_double (line, "max_ms", max, "%.2f");
      json_double (line, "first_ms", percentile_ms (arrivals, 0.0), "%.2f");
      /* From the broadcast call until the last arrival plus W2_SETTLE (or
       * the deadline), everything sent, probes included. */
      json_double (line, "pkts_per_node", (double) (t1.frames - t0.frames) / n, "%.2f");
      json_double (line, "bytes_per_node", (double) (t1.bytes - t0.bytes) / n, "%.0f");
      json_double (line, "window_ms", window / 1000.0, "%.1f");
      json_double (line, "background_pkts_per_node", frames_rate * window, "%.2f");
      /* Near 1: the one thread carrying every node was saturated already. */
      json_double (line, "busy_before", busy, "%.2f");
      /* All of it, every node's share of the one thread, probes included. */
      json_double (line, "cpu_ms", cpu * 1000.0, "%.1f");
      json_double (line, "entries_per_node", (double) (t1.entries - t0.entries) / n, "%.2f");
      json_double (line, "duplicates_per_node", (double) (t1.duplicates - t0.duplicates) / n,
                   "%.2f");
      /* Until no node keeps it for retransmission, minus the background. */
      json_bool (line, "drained", drained);
      json_double (line, "drain_ms", (double) (t2.at - b->sent_at) / 1000.0, "%.0f");
      json_double (line, "pkts_per_node_drained",
                   (double) (t2.frames - t0.frames) / n - frames_rate * total, "%.2f");
      json_double (line, "bytes_per_node_drained",
                   (double) (t2.bytes - t0.bytes) / n - bytes_rate * total, "%.0f");
      json_udp_delta (line, "udp_rcvbuf_errors", rcvbuf0, rcvbuf1);
      json_uint (line, "state_changes", b->changes);
      g_printerr ("W2 n=%u %s: %u of %u nodes got it: p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
                  "%.2f frames and %.0f bytes per node in %.1f ms (%.2f frames background); "
                  "retransmissions over after %.0f ms\n",
                  n, profile, delivered, n - 1, p50, p99, max, (double) (t1.frames - t0.frames) / n,
                  (double) (t1.bytes - t0.bytes) / n, window / 1000.0, frames_rate * window,
                  (double) (t2.at - b->sent_at) / 1000.0);
    }
  ok &= deliveries_sound (b, line);
  json_end (line);
  bench_free (b);
  return ok && sent;
}

/* W5's producer, an idle source: broadcasts until the library refuses
 * (QUEUE_FULL: try again after a main-loop iteration) or all M are out. */
static gboolean
produce (gpointer data)
{
  Bench *b = data;

  while (b->produced < b->messages)
    {
      g_autoptr (GError) error = NULL;

      if (!gossip_cluster_broadcast (bench_node (b, 0), BENCH_MESSAGE_TYPE,
                                     bench_payload ((guint32) b->produced), &error))
        {
          if (g_error_matches (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_QUEUE_FULL))
            {
              b->queue_full++;
              return G_SOURCE_CONTINUE;
            }
          g_printerr ("W5 n=%u %s: broadcast %" G_GUINT64_FORMAT " failed: %s\n", b->n, b->profile,
                      b->produced, error->message);
          b->produce_failed = TRUE;
          bench_poke (b);
          break;
        }
      b->produced++;
    }
  if (!b->produce_failed)
    b->accepted_at = g_get_monotonic_time ();
  g_clear_pointer (&b->producer, g_source_unref);
  return G_SOURCE_REMOVE;
}

static gboolean
w5_progress (gpointer data)
{
  Bench *b = data;

  g_printerr ("W5 n=%u %s: %.1f s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
              " accepted, %.1f%% delivered, %u of %u nodes have all\n",
              b->n, b->profile, (double) (g_get_monotonic_time () - b->sent_at) / SEC, b->produced,
              b->messages, 100.0 * (double) b->delivered / (double) (b->messages * (b->n - 1)),
              b->n_complete, b->n - 1);
  return G_SOURCE_CONTINUE;
}

static gboolean
run_w5 (guint n, const char *profile, guint64 messages, double deadline)
{
  Bench *b = bench_new ("W5", n, profile, FALSE);
  gboolean ok = bench_converge (b, NULL) && handle_everywhere (b);
  GString *line = json_begin (b, "W5");
  gboolean complete = FALSE;

  json_uint (line, "messages", messages);
  if (ok)
    {
      const char *const drops[]
          = { "broadcasts-forward-dropped", "broadcasts-pruned", "send-failed", "suspicions" };
      guint64 drops0[G_N_ELEMENTS (drops)];
      guint64 rcvbuf0, sndbuf0;
      GSource *progress;
      Traffic t0, t1;
      double cpu0, cpu;
      gint64 end;
      double min_pct = 100.0;

      b->messages = messages;
      for (guint i = 1; i < n; i++)
        b->refs[i].seen = g_new0 (guint8, (messages + 7) / 8);
      bench_run_until (b, NULL, opt_quick ? SEC / 2 : SEC);
      dump_counters (b, "before the broadcasts");
      for (guint k = 0; k < G_N_ELEMENTS (drops); k++)
        drops0[k] = sum_counter (b, drops[k]);
      rcvbuf0 = udp_stat ("RcvbufErrors");
      sndbuf0 = udp_stat ("SndbufErrors");
      traffic_take (b, &t0);
      cpu0 = cpu_seconds ();
      b->counting = TRUE;
      b->sent_at = g_get_monotonic_time ();
      b->producer = g_idle_source_new ();
      /* The producer runs in every iteration, as the sockets do. */
      g_source_set_priority (b->producer, G_PRIORITY_DEFAULT);
      g_source_set_callback (b->producer, produce, b, NULL);
      g_source_attach (b->producer, b->context);
      progress = g_timeout_source_new_seconds (5);
      g_source_set_callback (progress, w5_progress, b, NULL);
      g_source_attach (progress, b->context);
      complete = bench_run_until (b, all_complete, (gint64) (deadline * SEC)) && !b->produce_failed;
      end = complete ? b->complete_at : g_get_monotonic_time ();
      cpu = cpu_seconds () - cpu0;
      bench_stop_producer (b);
      traffic_take (b, &t1);
      g_source_destroy (progress);
      g_source_unref (progress);
      dump_counters (b, "after the broadcasts");
      for (guint i = 1; i < n; i++)
        min_pct = MIN (min_pct, 100.0 * (double) b->refs[i].received / (double) messages);

      json_bool (line, "complete", complete);
      json_double (line, "msgs_per_s",
                   complete ? (double) messages / ((double) (end - b->sent_at) / SEC) : NAN,
                   "%.0f");
      json_double (line, "delivered_pct",
                   100.0 * (double) b->delivered / (double) (messages * (n - 1)), "%.3f");
      /* Over the deliveries made, M x (N-1) when complete. */
      json_double (line, "cpu_us_per_delivery",
                   b->delivered ? cpu * 1e6 / (double) b->delivered : NAN, "%.2f");
      json_double (line, "elapsed_ms", (double) (end - b->sent_at) / 1000.0, "%.0f");
      for (guint k = 0; k < G_N_ELEMENTS (reach_pct); k++)
        {
          char key[16];

          g_snprintf (key, sizeof key, "t%u_ms", reach_pct[k]);
          json_double (line, key,
                       b->reached_at[k] ? (double) (b->reached_at[k] - b->sent_at) / 1000.0 : NAN,
                       "%.0f");
        }
      json_double (line, "accept_ms",
                   b->accepted_at ? (double) (b->accepted_at - b->sent_at) / 1000.0 : NAN, "%.1f");
      json_uint (line, "accepted", b->produced);
      json_uint (line, "queue_full", b->queue_full);
      json_uint (line, "nodes_complete", b->n_complete);
      json_double (line, "min_node_pct", min_pct, "%.3f");
      json_double (line, "cpu_s", cpu, "%.2f");
      json_double (line, "pkts_per_node", (double) (t1.frames - t0.frames) / n, "%.0f");
      json_double (line, "bytes_per_node", (double) (t1.bytes - t0.bytes) / n, "%.0f");
      json_double (line, "entries_per_node", (double) (t1.entries - t0.entries) / n, "%.0f");
      json_double (line, "duplicates_per_node", (double) (t1.duplicates - t0.duplicates) / n,
                   "%.0f");
      json_uint (line, "forward_dropped", sum_counter (b, drops[0]) - drops0[0]);
      json_uint (line, "pruned", sum_counter (b, drops[1]) - drops0[1]);
      json_uint (line, "send_failed", sum_counter (b, drops[2]) - drops0[2]);
      json_uint (line, "suspicions", sum_counter (b, drops[3]) - drops0[3]);
      json_udp_delta (line, "udp_rcvbuf_errors", rcvbuf0, udp_stat ("RcvbufErrors"));
      json_udp_delta (line, "udp_sndbuf_errors", sndbuf0, udp_stat ("SndbufErrors"));
      json_uint (line, "state_changes", b->changes);
      g_printerr (
          "W5 n=%u %s: %s after %.1f s: %.3f%% of %" G_GUINT64_FORMAT
          " messages delivered to %u nodes (%u have all), %.0f msgs/s, %.2f CPU-us per "
          "delivery, %" G_GUINT64_FORMAT " QUEUE_FULL\n",
          n, profile, complete ? "complete" : "NOT complete", (double) (end - b->sent_at) / SEC,
          100.0 * (double) b->delivered / (double) (messages * (n - 1)), messages, n - 1,
          b->n_complete, complete ? (double) messages / ((double) (end - b->sent_at) / SEC) : NAN,
          b->delivered ? cpu * 1e6 / (double) b->delivered : NAN, b->queue_full);
    }
  else
    json_bool (line, "complete", FALSE);
  ok &= deliveries_sound (b, line);
  json_bool (line, "converged", b->converged_at != 0);
  json_end (line);
  bench_free (b);
  return ok && complete;
}

/* W7 figures common to both variants. */
static void
w7_fields (Bench *b, GString *line, const char *variant, double loss, double minutes)
{
  json_string (line, "variant", variant);
  json_double (line, "loss", loss, "%.3f");
  json_double (line, "minutes", minutes, "%.2f");
  json_uint (line, "false_suspect", b->false_suspect);
  json_uint (line, "false_dead", b->false_dead);
}

static gboolean
run_w7_loss (guint n, const char *profile, double loss, double minutes)
{
  Bench *b = bench_new ("W7", n, profile, TRUE);
  gint64 wall0 = g_get_monotonic_time ();
  gboolean ok = bench_converge (b, NULL);
  guint64 lost = 0, sent = 0, suspicions = 0, refutations = 0;
  GString *line;

  if (ok)
    {
      guint64 lost0, delivered0, refutations0, suspicions0;

      bench_run_until (b, NULL, 5 * SEC);
      lost0 = gossip_memory_network_get_lost (b->network);
      delivered0 = gossip_memory_network_get_delivered (b->network);
      refutations0 = sum_counter (b, "refutations");
      suspicions0 = sum_counter (b, "suspicions");
      gossip_memory_network_set_default_link (b->network, loss, 200, 100);
      b->counting = TRUE;
      bench_run_until (b, NULL, (gint64) (minutes * 60 * SEC));
      b->counting = FALSE;
      dump_counters (b, "after the loss");
      suspicions = sum_counter (b, "suspicions") - suspicions0;
      refutations = sum_counter (b, "refutations") - refutations0;
      lost = gossip_memory_network_get_lost (b->network) - lost0;
      sent = lost + gossip_memory_network_get_delivered (b->network) - delivered0;
      g_printerr ("W7 n=%u %s: %.0f%% loss for %.2f virtual min: %" G_GUINT64_FORMAT
                  " false suspect, %" G_GUINT64_FORMAT " false dead (%" G_GUINT64_FORMAT
                  " suspicions raised, %" G_GUINT64_FORMAT " refutations)\n",
                  n, profile, loss * 100, minutes, b->false_suspect, b->false_dead, suspicions,
                  refutations);
    }
  line = json_begin (b, "W7");
  w7_fields (b, line, "loss", loss, minutes);
  json_uint (line, "suspicions", suspicions);
  json_uint (line, "refutations", refutations);
  json_double (line, "lost_fraction", sent ? (double) lost / (double) sent : NAN, "%.3f");
  if (ok)
    {
      /* A real failure, with the loss still on. */
      b->victim = (gint) n - 1;
      ok = measure_detection (b, line, TRUE);
    }
  json_bool (line, "converged", b->converged_at != 0);
  json_double (line, "wall_s", (double) (g_get_monotonic_time () - wall0) / SEC, "%.1f");
  json_end (line);
  bench_free (b);
  return ok;
}

static gboolean
run_w7_pause (guint n, const char *profile, double pause_seconds, double minutes)
{
  Bench *b = bench_new ("W7", n, profile, TRUE);
  gint64 wall0 = g_get_monotonic_time ();
  gboolean ok = bench_converge (b, NULL);
  g_autofree char *paused_name = node_name (n - 1);
  GString *line = NULL;
  gint64 total = (gint64) (minutes * 60 * SEC), before = MIN (10 * SEC, total / 4);
  gint64 pause = (gint64) (pause_seconds * SEC);

  if (ok)
    {
      bench_run_until (b, NULL, 5 * SEC);
      b->paused = (gint) n - 1;
      b->counting = TRUE;
      bench_run_until (b, NULL, before);
      gossip_memory_network_set_paused (b->network, paused_name, TRUE);
      bench_run_until (b, NULL, pause);
      gossip_memory_network_set_paused (b->network, paused_name, FALSE);
      bench_run_until (b, NULL, MAX (total - before - pause, 0));
      b->counting = FALSE;
      dump_counters (b, "after the pause");
      g_printerr ("W7 n=%u %s: node %u cut off for %.1f s: %" G_GUINT64_FORMAT
                  " false suspect, %" G_GUINT64_FORMAT " false dead (%" G_GUINT64_FORMAT
                  " seen by the paused node); paused node suspected %" G_GUINT64_FORMAT
                  " times, declared dead %" G_GUINT64_FORMAT " times\n",
                  n, profile, n - 1, pause_seconds, b->false_suspect, b->false_dead,
                  b->false_by_paused, b->paused_suspected, b->paused_dead);
    }
  line = json_begin (b, "W7");
  w7_fields (b, line, "pause", 0.0, minutes);
  json_double (line, "pause_s", pause_seconds, "%.2f");
  json_uint (line, "false_seen_by_paused", b->false_by_paused);
  json_uint (line, "paused_suspected", b->paused_suspected);
  json_uint (line, "paused_dead", b->paused_dead);
  json_bool (line, "paused_declared_dead", b->paused_dead > 0);
  if (ok)
    {
      /* A real failure of another node, no loss. */
      b->victim = 1;
      ok = measure_detection (b, line, TRUE);
    }
  json_bool (line, "converged", b->converged_at != 0);
  json_double (line, "wall_s", (double) (g_get_monotonic_time () - wall0) / SEC, "%.1f");
  json_end (line);
  bench_free (b);
  return ok;
}

/* ---- driver ------------------------------------------------------------- */

typedef struct
{
  const char *workload;
  guint n;
  const char *profile;
  gint seed; /* W7: repeats differ by their seed */
} Run;

static gboolean
run_one (const Run *run, double idle_seconds, double loss_minutes, guint64 messages)
{
  g_printerr ("%s n=%u %s: starting\n", run->workload, run->n, run->profile);
  if (g_str_equal (run->workload, "W1"))
    return run_w1 (run->n, run->profile);
  if (g_str_equal (run->workload, "W2"))
    return run_w2 (run->n, run->profile);
  if (g_str_equal (run->workload, "W5"))
    return run_w5 (run->n, run->profile, messages, opt_deadline);
  if (g_str_equal (run->workload, "W3"))
    return run_w3 (run->n, run->profile);
  if (g_str_equal (run->workload, "W4"))
    return run_w4 (run->n, run->profile, idle_seconds);
  /* W7: two separate clusters, so one variant's counts are not the other's. */
  {
    gboolean loss_ok = run_w7_loss (run->n, run->profile, opt_loss, loss_minutes);
    gboolean pause_ok = run_w7_pause (run->n, run->profile, opt_pause_seconds, loss_minutes);

    return loss_ok && pause_ok;
  }
}

/* Runs @run in a child process (this program with --one); the child writes
 * to our stdout and stderr. */
static gboolean
run_child (const char *self, const Run *run, double idle_seconds, double loss_minutes,
           guint64 messages)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) argv = NULL;
  char n[16], idle[G_ASCII_DTOSTR_BUF_SIZE], minutes[G_ASCII_DTOSTR_BUF_SIZE],
      loss[G_ASCII_DTOSTR_BUF_SIZE], pause[G_ASCII_DTOSTR_BUF_SIZE], seed[16],
      deadline[G_ASCII_DTOSTR_BUF_SIZE], m[24];
  int status;

  g_snprintf (n, sizeof n, "%u", run->n);
  g_snprintf (seed, sizeof seed, "%d", run->seed);
  g_snprintf (m, sizeof m, "%" G_GUINT64_FORMAT, messages);
  g_ascii_dtostr (deadline, sizeof deadline, opt_deadline);
  g_ascii_dtostr (idle, sizeof idle, idle_seconds);
  g_ascii_dtostr (minutes, sizeof minutes, loss_minutes);
  g_ascii_dtostr (loss, sizeof loss, opt_loss);
  g_ascii_dtostr (pause, sizeof pause, opt_pause_seconds);
  g_strv_builder_add_many (builder, self, "--one", "--workload", run->workload, "--nodes", n,
                           "--profile", run->profile, "--idle-seconds", idle, "--loss-minutes",
                           minutes, "--loss", loss, "--pause-seconds", pause, "--seed", seed,
                           "--messages", m, "--deadline", deadline, NULL);
  if (opt_compressor != NULL)
    g_strv_builder_add_many (builder, "--compressor", opt_compressor, NULL);
  if (opt_cipher != NULL)
    g_strv_builder_add_many (builder, "--cipher", opt_cipher, NULL);
  if (opt_quick)
    g_strv_builder_add (builder, "--quick");
  if (opt_counters)
    g_strv_builder_add (builder, "--counters");
  for (guint k = 0; opt_settings != NULL && opt_settings[k] != NULL; k++)
    g_strv_builder_add_many (builder, "--set", opt_settings[k], NULL);
  argv = g_strv_builder_end (builder);
  fflush (stdout);
  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      g_printerr ("%s n=%u %s: %s\n", run->workload, run->n, run->profile, error->message);
      return FALSE;
    }
  return TRUE;
}

/* Splits a comma list, checking each item against @known (NULL: a size). */
static GPtrArray *
parse_list (const char *text, const char *const *known, const char *what, GError **error)
{
  g_auto (GStrv) items = g_strsplit (text, ",", -1);
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; items[i] != NULL; i++)
    {
      const char *item = g_strstrip (items[i]);
      guint64 value;

      if (*item == '\0')
        continue;
      if (known != NULL)
        {
          guint k;

          for (k = 0; known[k] != NULL && g_ascii_strcasecmp (known[k], item) != 0; k++)
            ;
          if (known[k] == NULL)
            {
              g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "unknown %s \"%s\"",
                           what, item);
              g_ptr_array_unref (out);
              return NULL;
            }
          g_ptr_array_add (out, (gpointer) known[k]);
        }
      else if (!g_ascii_string_to_unsigned (item, 10, 3, 4096, &value, NULL))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s \"%s\" is not a number from 3 to 4096", what, item);
          g_ptr_array_unref (out);
          return NULL;
        }
      else
        g_ptr_array_add (out, GUINT_TO_POINTER ((guint) value));
    }
  if (out->len == 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "no %s given", what);
      g_ptr_array_unref (out);
      return NULL;
    }
  return out;
}

/* Hundreds of nodes each keep sockets open. */
static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (
      "- W1 join convergence, W2 broadcast latency, W3 failure detection, W4 idle cost, "
      "W5 broadcast throughput, W7 false positives");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) workloads = NULL, sizes = NULL, profiles = NULL;
  g_autoptr (GArray) runs = g_array_new (FALSE, FALSE, sizeof (Run));
  g_autofree char *self = NULL;
  double idle_seconds, loss_minutes;
  guint64 messages;
  gboolean ok = TRUE;

  g_option_context_add_main_entries (context, options, NULL);
  g_option_context_set_description (
      context, "Figures go to stdout, one JSON object per line; progress to stderr.\n"
               "Sockets are on 127.0.0.1; W7 uses the memory transport in virtual time.\n"
               "N=256 is not in the default list: ask for it with --nodes 256.\n");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-cluster: %s\n", error->message);
      return 2;
    }
  idle_seconds = opt_idle_seconds >= 0 ? opt_idle_seconds : opt_quick ? 2.0 : 60.0;
  loss_minutes = opt_loss_minutes >= 0 ? opt_loss_minutes : opt_quick ? 0.25 : 2.0;
  messages = opt_messages >= 0 ? (guint64) opt_messages : opt_quick ? 200 : 10000;
  if (messages < 1 || messages > 1000000 || opt_deadline <= 0 || opt_deadline > 3600)
    {
      g_printerr ("bench-cluster: --messages must be from 1 to 1000000, --deadline in (0, 3600]\n");
      return 2;
    }
  if (idle_seconds <= 0 || idle_seconds > 3600 || loss_minutes <= 0 || loss_minutes > 600
      || opt_loss < 0 || opt_loss >= 1 || opt_pause_seconds <= 0 || opt_pause_seconds > 600)
    {
      g_printerr ("bench-cluster: --idle-seconds and --loss-minutes must be positive (at most "
                  "3600 s and 600 min), --loss in [0, 1), --pause-seconds in (0, 600]\n");
      return 2;
    }
  workloads = parse_list (opt_workloads ? opt_workloads : "W1,W2,W3,W4,W5,W7", known_workloads,
                          "workload", &error);
  sizes = workloads ? parse_list (opt_nodes   ? opt_nodes
                                  : opt_quick ? "4"
                                              : "16,64",
                                  NULL, "node count", &error)
                    : NULL;
  profiles = sizes ? parse_list (opt_profiles ? opt_profiles : "lan,local", known_profiles,
                                 "profile", &error)
                   : NULL;
  if (profiles == NULL)
    {
      g_printerr ("bench-cluster: %s\n", error->message);
      return 2;
    }
  {
    g_autoptr (GossipConfig) check = gossip_config_new ();

    if (!apply_extra_settings (check, &error))
      {
        g_printerr ("bench-cluster: %s\n", error->message);
        return 2;
      }
  }
  if (opt_repeat < 1 || opt_repeat > 1000)
    {
      g_printerr ("bench-cluster: --repeat must be from 1 to 1000\n");
      return 2;
    }
  for (guint w = 0; w < workloads->len; w++)
    for (guint s = 0; s < sizes->len; s++)
      for (guint p = 0; p < profiles->len; p++)
        for (gint r = 0; r < opt_repeat; r++)
          {
            Run run = { workloads->pdata[w], GPOINTER_TO_UINT (sizes->pdata[s]), profiles->pdata[p],
                        opt_seed + r };
            g_array_append_val (runs, run);
          }

  raise_fd_limit ();
  if (opt_one && runs->len != 1)
    {
      g_printerr ("bench-cluster: --one runs exactly one workload, size and profile\n");
      return 2;
    }
  if (runs->len == 1)
    {
      for (guint i = 0; i < runs->len; i++)
        ok &= run_one (&g_array_index (runs, Run, i), idle_seconds, loss_minutes, messages);
      return ok ? 0 : 1;
    }
  self = g_file_read_link ("/proc/self/exe", &error);
  if (self == NULL)
    {
      g_printerr ("bench-cluster: %s\n", error->message);
      return 1;
    }
  for (guint i = 0; i < runs->len; i++)
    ok &= run_child (self, &g_array_index (runs, Run, i), idle_seconds, loss_minutes, messages);
  return ok ? 0 : 1;
}
