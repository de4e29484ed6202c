/* example-common.c: options, cluster set-up, the prompt and the shared commands. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixinputstream.h>

#include "example-common.h"

typedef struct
{
  char *name;
  char *usage; /* "NODE TEXT": one word per argument */
  char *help;
  guint n_args;
  ExampleCommandFunc func;
  gpointer user_data;
} Command;

struct _Example
{
  GossipCluster *cluster;
  GMainLoop *loop;
  char **peers;
  GPtrArray *commands; /* Command */
  GDataInputStream *input;
  GCancellable *cancellable;
  gboolean tty;
  gboolean in_command; /* output belongs to a command: no fresh prompt after it */
  gboolean leaving;
  ExampleHookFunc joined_hook, leaving_hook;
  gpointer hook_data;
};

static void
command_free (gpointer data)
{
  Command *c = data;

  g_free (c->name);
  g_free (c->usage);
  g_free (c->help);
  g_free (c);
}

/* "host:port", bracketing an IPv6 literal. */
static char *
host_port (const char *host, int port)
{
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%d", host, port);
  return g_strdup_printf ("%s:%d", host, port);
}

/* websocket-wslay if it is built, else websocket-soup. */
static const char *
websocket_transport (GossipConfig *config)
{
  const char *const *configured = gossip_config_get_strv (config, "plugins", "path");
  g_auto (GStrv) path = gossip_plugin_get_search_path (configured);
  g_auto (GStrv) available
      = gossip_plugin_list_available (GOSSIP_PLUGIN_KIND_TRANSPORT, (const char *const *) path);

  if (available != NULL && g_strv_contains ((const char *const *) available, "websocket-wslay"))
    return "websocket-wslay";
  if (available != NULL && g_strv_contains ((const char *const *) available, "websocket-soup"))
    return "websocket-soup";
  return "websocket-wslay"; /* start () then says it is missing */
}

static gboolean
configure (GossipConfig *config, const char *host, int port, int web_port, const char *node_id,
           gboolean have_file, GError **error)
{
  g_autoptr (GPtrArray) transports = g_ptr_array_new ();
  g_autofree char *joined = NULL;

  if (node_id != NULL && !gossip_config_set_value (config, "cluster", "node_id", node_id, error))
    return FALSE;
  if (port < 0 && web_port < 0 && !have_file)
    port = 7946;
  if (port >= 0)
    {
      g_autofree char *bind = host_port (host, port);
      g_ptr_array_add (transports, "socket");
      if (!gossip_config_set_value (config, "cluster", "bind_address", bind, error))
        return FALSE;
    }
  if (web_port >= 0)
    {
      g_autofree char *bind = host_port (host, web_port);
      g_autofree char *url = g_strdup_printf ("ws://%s/gossip", bind);
      g_ptr_array_add (transports, (gpointer) websocket_transport (config));
      if (!gossip_config_set_value (config, "websocket", "bind_address", bind, error)
          || !gossip_config_set_value (config, "websocket", "allow_insecure", "true", error)
          || (web_port > 0
              && !gossip_config_set_value (config, "websocket", "advertise_address", url, error)))
        return FALSE;
      if (port < 0 && !gossip_config_set_value (config, "cluster", "bind_address", bind, error))
        return FALSE;
    }
  if (transports->len == 0)
    return TRUE;
  g_ptr_array_add (transports, NULL);
  joined = g_strjoinv (",", (char **) transports->pdata);
  return gossip_config_set_value (config, "plugins", "transport", joined, error);
}

static char **
split_peers (const char *list)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) parts = g_strsplit (list ? list : "", ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (parts[i][0] != '\0')
        g_strv_builder_add (builder, parts[i]);
    }
  return g_strv_builder_end (builder);
}

/* --peers are also the cluster's seeds (unless the --config file names
 * some): a node started before its peers, or left alone later, keeps trying
 * them every [health] reconnect_interval. */
static gboolean
use_peers_as_seeds (GossipConfig *config, const char *const *peers, GError **error)
{
  const char *const *seeds = gossip_config_get_strv (config, "cluster", "seeds");

  if (peers[0] == NULL || (seeds != NULL && seeds[0] != NULL))
    return TRUE;
  return gossip_config_set_strv (config, "cluster", "seeds", peers, error);
}

static void cmd_help (Example *ex, char **args, gpointer data);
static void cmd_peers (Example *ex, char **args, gpointer data);
static void cmd_whoami (Example *ex, char **args, gpointer data);
static void cmd_set_meta (Example *ex, char **args, gpointer data);
static void cmd_get_meta (Example *ex, char **args, gpointer data);
static void cmd_show_meta (Example *ex, char **args, gpointer data);
static void cmd_quit (Example *ex, char **args, gpointer data);

/**
 * example_new:
 * @summary: what the program does, for --help
 * @argc: (inout): the program's argc
 * @argv: (inout): the program's argv
 *
 * Parses the command line and creates the (not yet started) cluster.
 * Prints what is wrong and returns %NULL on a bad option or setting.
 */
Example *
example_new (const char *summary, int *argc, char ***argv)
{
  return example_new_with_options (summary, NULL, argc, argv);
}

/**
 * example_new_with_options:
 * @options: (nullable): the program's own options, %NULL-terminated, parsed
 *   with the common ones
 *
 * Like example_new(), with options of the example's own.
 */
Example *
example_new_with_options (const char *summary, const GOptionEntry *options, int *argc, char ***argv)
{
  int port = -1, web_port = -1;
  g_autofree char *host = NULL, *peers = NULL, *node_id = NULL, *config_file = NULL;
  GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Listen on TCP and UDP PORT (socket transport)",
      "PORT" },
    { "web-port", 'w', 0, G_OPTION_ARG_INT, &web_port,
      "Listen for WebSocket connections on PORT (ws://HOST:PORT/gossip)", "PORT" },
    { "bind-host", 0, 0, G_OPTION_ARG_STRING, &host, "Address to listen on (default 127.0.0.1)",
      "HOST" },
    { "peers", 0, 0, G_OPTION_ARG_STRING, &peers,
      "Comma-separated addresses to join (host:port, ws://host:port/gossip, ...)", "ADDR,..." },
    { "node-id", 'n', 0, G_OPTION_ARG_STRING, &node_id, "This node's ID (default: a UUID)", "ID" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "Read settings from this keyfile first; the options above override it", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (summary);
  g_autoptr (GossipConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) peer_list = NULL;
  Example *ex;

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (context, entries, NULL);
  if (options != NULL)
    g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("error: %s\n", error->message);
      return NULL;
    }
  if (*argc > 1 || port > 65535 || web_port > 65535)
    {
      g_printerr ("error: %s\n", *argc > 1 ? "unexpected arguments" : "ports are 0-65535");
      return NULL;
    }
  config = config_file ? gossip_config_new_from_file (config_file, &error) : gossip_config_new ();
  peer_list = split_peers (peers);
  if (config == NULL
      || !configure (config, host ? host : "127.0.0.1", port, web_port, node_id,
                     config_file != NULL, &error)
      || !use_peers_as_seeds (config, (const char *const *) peer_list, &error))
    {
      g_printerr ("error: %s\n", error->message);
      return NULL;
    }

  ex = g_new0 (Example, 1);
  ex->cluster = gossip_cluster_new (config, &error);
  if (ex->cluster == NULL)
    {
      g_printerr ("error: %s\n", error->message);
      g_free (ex);
      return NULL;
    }
  ex->loop = g_main_loop_new (NULL, FALSE);
  ex->peers = g_steal_pointer (&peer_list);
  ex->commands = g_ptr_array_new_with_free_func (command_free);
  ex->cancellable = g_cancellable_new ();
  ex->tty = isatty (STDIN_FILENO);
  example_add_command (ex, "help", "", "list the commands", cmd_help, NULL);
  example_add_command (ex, "peers", "", "list the members: ID, address, state, metadata", cmd_peers,
                       NULL);
  example_add_command (ex, "whoami", "", "this node's ID and addresses", cmd_whoami, NULL);
  example_add_command (ex, "set-meta", "KEY VALUE", "set a metadata string on this node",
                       cmd_set_meta, NULL);
  example_add_command (ex, "get-meta", "NODE KEY", "one metadata value of a node", cmd_get_meta,
                       NULL);
  example_add_command (ex, "show-meta", "NODE", "all metadata of a node", cmd_show_meta, NULL);
  example_add_command (ex, "quit", "", "leave the cluster and exit", cmd_quit, NULL);
  return ex;
}

void
example_free (Example *ex)
{
  if (ex == NULL)
    return;
  if (gossip_cluster_is_running (ex->cluster))
    gossip_cluster_stop (ex->cluster);
  g_object_unref (ex->cluster);
  g_main_loop_unref (ex->loop);
  g_strfreev (ex->peers);
  g_ptr_array_unref (ex->commands);
  g_clear_object (&ex->input);
  g_object_unref (ex->cancellable);
  g_free (ex);
}

GossipCluster *
example_get_cluster (Example *ex)
{
  return ex->cluster;
}

const char *
example_get_node_id (Example *ex)
{
  return gossip_node_get_id (gossip_cluster_get_local_node (ex->cluster));
}

/**
 * example_set_hooks:
 * @joined: (nullable): called once the cluster started and the join of
 *   --peers finished, whether or not it succeeded (at once without --peers)
 * @leaving: (nullable): called when the example starts leaving, before the
 *   cluster's graceful leave
 *
 * Lets an example act at these points of its life.
 */
void
example_set_hooks (Example *ex, ExampleHookFunc joined, ExampleHookFunc leaving, gpointer user_data)
{
  ex->joined_hook = joined;
  ex->leaving_hook = leaving;
  ex->hook_data = user_data;
}

/**
 * example_add_command:
 * @name: what the user types
 * @usage: its arguments, one word each ("NODE TEXT"); "" for none
 * @help: one line for `help`
 * @func: runs it
 */
void
example_add_command (Example *ex, const char *name, const char *usage, const char *help,
                     ExampleCommandFunc func, gpointer user_data)
{
  Command *c = g_new0 (Command, 1);
  g_auto (GStrv) words = g_strsplit_set (usage, " ", -1);

  c->name = g_strdup (name);
  c->usage = g_strdup (usage);
  c->help = g_strdup (help);
  for (guint i = 0; words[i] != NULL; i++)
    c->n_args += words[i][0] != '\0';
  c->func = func;
  c->user_data = user_data;
  g_ptr_array_add (ex->commands, c);
}

/**
 * example_print:
 *
 * Prints one line.  On a terminal, output that arrives between commands
 * (messages, events) is followed by a fresh prompt.
 */
void
example_print (Example *ex, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  if (ex->tty && !ex->in_command)
    g_print ("\r%s\n> ", line);
  else
    g_print ("%s\n", line);
}

/* The node with @id, or NULL after printing an error. */
GossipNode *
example_find_node (Example *ex, const char *id)
{
  GossipNode *node = gossip_cluster_get_node (ex->cluster, id);

  if (node == NULL)
    example_print (ex, "error: no node %s", id);
  return node;
}

/* "alive", "suspect", "dead", "left" (a node that left gracefully) or "unknown". */
const char *
example_state_name (GossipNodeState state)
{
  if (state == GOSSIP_NODE_STATE_LEAVING)
    return "left";
  return gossip_node_state_to_string (state);
}

/* A metadata value as text, or NULL if @node has no @key. */
char *
example_format_meta_value (GossipNode *node, const char *key)
{
  switch (gossip_node_get_meta_type (node, key))
    {
    case GOSSIP_META_TYPE_STRING:
      return g_strdup (gossip_node_get_meta_string (node, key, ""));
    case GOSSIP_META_TYPE_BOOLEAN:
      return g_strdup (gossip_node_get_meta_boolean (node, key, FALSE) ? "true" : "false");
    case GOSSIP_META_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, gossip_node_get_meta_int64 (node, key, 0));
    case GOSSIP_META_TYPE_UINT64:
      return g_strdup_printf ("%" G_GUINT64_FORMAT, gossip_node_get_meta_uint64 (node, key, 0));
    case GOSSIP_META_TYPE_DOUBLE:
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup (
            g_ascii_dtostr (buf, sizeof buf, gossip_node_get_meta_double (node, key, 0)));
      }
    case GOSSIP_META_TYPE_TIMESTAMP:
      {
        g_autoptr (GDateTime) t = gossip_node_get_meta_timestamp (node, key);
        return t ? g_date_time_format_iso8601 (t) : NULL;
      }
    case GOSSIP_META_TYPE_BYTES:
      {
        g_autoptr (GBytes) b = gossip_node_get_meta_bytes (node, key);
        g_autofree char *text
            = b ? g_base64_encode (g_bytes_get_data (b, NULL), g_bytes_get_size (b)) : NULL;
        return text ? g_strconcat ("base64:", text, NULL) : NULL;
      }
    case GOSSIP_META_TYPE_NONE:
    default:
      return NULL;
    }
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* "key=value key=value", keys sorted; "" when there are none. */
char *
example_format_meta (GossipNode *node)
{
  g_auto (GStrv) keys = gossip_node_list_meta_keys (node);
  g_autoptr (GString) out = g_string_new (NULL);

  if (keys == NULL)
    return g_strdup ("");
  qsort (keys, g_strv_length (keys), sizeof (char *), compare_strings);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autofree char *value = example_format_meta_value (node, keys[i]);
      g_string_append_printf (out, "%s%s=%s", out->len ? " " : "", keys[i], value ? value : "");
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
node_addresses (GossipNode *node)
{
  const char *const *all = gossip_node_get_addresses (node);

  if (all == NULL || all[0] == NULL)
    return g_strdup (gossip_node_get_address (node));
  return g_strjoinv (",", (char **) all);
}

/* Shared commands */

static void
cmd_help (Example *ex, char **args, gpointer data)
{
  for (guint i = 0; i < ex->commands->len; i++)
    {
      Command *c = g_ptr_array_index (ex->commands, i);
      g_autofree char *both = g_strjoin (" ", c->name, c->usage, NULL);
      example_print (ex, "  %-24s %s", g_strstrip (both), c->help);
    }
}

static int
compare_nodes (gconstpointer a, gconstpointer b)
{
  return strcmp (gossip_node_get_id (*(GossipNode *const *) a),
                 gossip_node_get_id (*(GossipNode *const *) b));
}

static void
cmd_peers (Example *ex, char **args, gpointer data)
{
  g_autoptr (GPtrArray) nodes = gossip_cluster_list_nodes (ex->cluster);
  g_autoptr (GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);
  int id_width = 2, address_width = 7;

  g_ptr_array_sort (nodes, compare_nodes);
  for (guint i = 0; i < nodes->len; i++)
    {
      GossipNode *node = g_ptr_array_index (nodes, i);
      char *address = node_addresses (node);
      id_width = MAX (id_width, (int) strlen (gossip_node_get_id (node)));
      address_width = MAX (address_width, (int) strlen (address));
      g_ptr_array_add (addresses, address);
    }
  example_print (ex, "%-6s %-*s %-*s %-7s %s", "", id_width, "ID", address_width, "ADDRESS",
                 "STATE", "METADATA");
  for (guint i = 0; i < nodes->len; i++)
    {
      GossipNode *node = g_ptr_array_index (nodes, i);
      g_autofree char *meta = example_format_meta (node);
      g_autofree char *row
          = g_strdup_printf ("member %-*s %-*s %-7s %s", id_width, gossip_node_get_id (node),
                             address_width, (char *) g_ptr_array_index (addresses, i),
                             example_state_name (gossip_node_get_state (node)), meta);
      example_print (ex, "%s", g_strchomp (row));
    }
  example_print (ex, "peers: %u nodes, %u alive", nodes->len,
                 gossip_cluster_get_n_alive (ex->cluster));
}

static void
cmd_whoami (Example *ex, char **args, gpointer data)
{
  g_autofree char *addresses = node_addresses (gossip_cluster_get_local_node (ex->cluster));

  example_print (ex, "whoami: %s %s", example_get_node_id (ex), addresses);
}

static void
cmd_set_meta (Example *ex, char **args, gpointer data)
{
  g_autoptr (GError) error = NULL;

  if (gossip_cluster_set_meta_string (ex->cluster, args[0], args[1], &error))
    example_print (ex, "ok: %s=%s", args[0], args[1]);
  else
    example_print (ex, "error: %s", error->message);
}

static void
cmd_get_meta (Example *ex, char **args, gpointer data)
{
  GossipNode *node = example_find_node (ex, args[0]);
  g_autofree char *value = node ? example_format_meta_value (node, args[1]) : NULL;

  if (node == NULL)
    return;
  if (value == NULL)
    example_print (ex, "error: %s has no %s", args[0], args[1]);
  else
    example_print (ex, "meta %s %s=%s", args[0], args[1], value);
}

static void
cmd_show_meta (Example *ex, char **args, gpointer data)
{
  GossipNode *node = example_find_node (ex, args[0]);
  g_autofree char *meta = node ? example_format_meta (node) : NULL;

  if (node != NULL)
    example_print (ex, "meta %s %s", args[0], meta[0] ? meta : "(none)");
}

static void
cmd_quit (Example *ex, char **args, gpointer data)
{
  example_leave (ex, "quit");
}

/* The prompt */

static void
prompt (Example *ex)
{
  if (ex->tty && !ex->leaving)
    g_print ("> ");
}

/* Splits "WORD WORD REST OF LINE" into @n words, the last taking the rest. */
static char **
split_args (const char *text, guint n)
{
  char **args = g_new0 (char *, n + 1);
  const char *p = text;

  for (guint i = 0; i < n; i++)
    {
      const char *end;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\0')
        {
          g_strfreev (args);
          return NULL;
        }
      end = p;
      if (i + 1 < n)
        while (*end != '\0' && *end != ' ' && *end != '\t')
          end++;
      else
        end = p + strlen (p);
      args[i] = g_strstrip (g_strndup (p, (gsize) (end - p)));
      p = end;
    }
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p != '\0')
    {
      g_strfreev (args);
      return NULL;
    }
  return args;
}

static void
dispatch (Example *ex, char *line)
{
  const char *rest;
  g_autofree char *name = NULL;

  g_strstrip (line);
  if (line[0] == '\0')
    return;
  if (!g_utf8_validate (line, -1, NULL))
    {
      example_print (ex, "error: the line is not UTF-8");
      return;
    }
  rest = line + strcspn (line, " \t");
  name = g_strndup (line, (gsize) (rest - line));
  for (guint i = 0; i < ex->commands->len; i++)
    {
      Command *c = g_ptr_array_index (ex->commands, i);
      g_auto (GStrv) args = NULL;
      if (strcmp (c->name, name) != 0)
        continue;
      args = split_args (rest, c->n_args);
      if (args == NULL)
        example_print (ex, "usage: %s %s", c->name, c->usage);
      else
        c->func (ex, args, c->user_data);
      return;
    }
  example_print (ex, "error: unknown command \"%s\" (try help)", name);
}

static void read_next_line (Example *ex);

static void
on_line (GObject *source, GAsyncResult *result, gpointer data)
{
  Example *ex = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *line
      = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (line == NULL)
    {
      if (error != NULL)
        g_printerr ("error: reading stdin: %s\n", error->message);
      example_leave (ex, error ? "input error" : "end of input");
      return;
    }
  ex->in_command = TRUE;
  dispatch (ex, line);
  ex->in_command = FALSE;
  if (!ex->leaving)
    {
      prompt (ex);
      read_next_line (ex);
    }
}

static void
read_next_line (Example *ex)
{
  g_data_input_stream_read_line_async (ex->input, G_PRIORITY_DEFAULT, ex->cancellable, on_line, ex);
}

/* Start, join, leave */

static void
on_joined (GObject *source, GAsyncResult *result, gpointer data)
{
  Example *ex = data;
  g_autoptr (GError) error = NULL;
  guint n = gossip_cluster_join_finish (GOSSIP_CLUSTER (source), result, &error);

  if (n == 0)
    example_print (ex, "join failed: %s", error ? error->message : "no address answered");
  else
    example_print (ex, "joined %u", n);
  if (ex->joined_hook != NULL && !ex->leaving)
    ex->joined_hook (ex, ex->hook_data);
}

static void
on_left (GObject *source, GAsyncResult *result, gpointer data)
{
  Example *ex = data;
  g_autoptr (GError) error = NULL;

  if (!gossip_cluster_leave_finish (GOSSIP_CLUSTER (source), result, &error))
    example_print (ex, "error: leave: %s", error->message);
  example_print (ex, "left");
  g_main_loop_quit (ex->loop);
}

/**
 * example_leave:
 * @why: printed in the "leaving (WHY)" line
 *
 * Leaves the cluster gracefully, then makes example_run() return.  Asked a
 * second time while leaving, returns at once.
 */
void
example_leave (Example *ex, const char *why)
{
  if (ex->leaving)
    {
      g_main_loop_quit (ex->loop);
      return;
    }
  ex->leaving = TRUE;
  g_cancellable_cancel (ex->cancellable);
  example_print (ex, "leaving (%s)", why);
  if (ex->leaving_hook != NULL)
    ex->leaving_hook (ex, ex->hook_data);
  gossip_cluster_leave_async (ex->cluster, NULL, on_left, ex);
}

static gboolean
on_signal (gpointer data)
{
  Example *ex = data;

  example_leave (ex, "signal");
  return G_SOURCE_CONTINUE;
}

/**
 * example_run:
 *
 * Starts the cluster, joins --peers, reads commands until quit, end of input
 * or SIGINT/SIGTERM, then leaves gracefully.
 *
 * Returns: the exit status: 0, or 1 if the cluster could not start
 */
int
example_run (Example *ex)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) in = NULL;
  g_autofree char *addresses = NULL;
  guint sigint, sigterm;

  sigint = g_unix_signal_add (SIGINT, on_signal, ex);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, ex);
  if (!gossip_cluster_start (ex->cluster, &error))
    {
      g_printerr ("error: cannot start: %s\n", error->message);
      g_source_remove (sigint);
      g_source_remove (sigterm);
      return 1;
    }
  addresses = node_addresses (gossip_cluster_get_local_node (ex->cluster));
  example_print (ex, "node %s listening on %s", example_get_node_id (ex), addresses);
  if (ex->peers[0] != NULL)
    gossip_cluster_join_async (ex->cluster, (const char *const *) ex->peers, NULL, on_joined, ex);
  else if (ex->joined_hook != NULL)
    ex->joined_hook (ex, ex->hook_data);

  in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  ex->input = g_data_input_stream_new (in);
  g_data_input_stream_set_newline_type (ex->input, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  read_next_line (ex);
  prompt (ex);

  g_main_loop_run (ex->loop);

  g_source_remove (sigint);
  g_source_remove (sigterm);
  gossip_cluster_stop (ex->cluster);
  /* Let the cancelled read and operations the stop failed call back. */
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  return 0;
}
