/* example-common.h: what every libgossip example shares.
 *
 * The command line (--port, --web-port, --bind-host, --peers, --node-id,
 * --config), the cluster made from it, an interactive prompt on stdin run by
 * the main loop with the shared commands (help, peers, whoami, set-meta,
 * get-meta, show-meta, quit), and a graceful leave on quit, end of input,
 * SIGINT or SIGTERM.  An example creates an #Example, registers its handlers
 * and commands, and calls example_run():
 *
 *   Example *ex = example_new ("- what it shows", &argc, &argv);
 *   if (ex == NULL)
 *     return 2;
 *   example_add_command (ex, "hello", "NAME", "greet NAME", on_hello, NULL);
 *   return example_run (ex);
 *
 * Output lines are plain, one event per line, so scripts can match them.
 */
#pragma once

#include <gossip/gossip.h>

G_BEGIN_DECLS

typedef struct _Example Example;

/**
 * ExampleCommandFunc:
 * @example: the example
 * @args: exactly as many arguments as the command's usage names; the last
 *   one holds the rest of the line (so it may contain spaces)
 * @user_data: data given to example_add_command()
 *
 * Runs one command typed at the prompt.
 */
typedef void (*ExampleCommandFunc) (Example *example, char **args, gpointer user_data);

/**
 * ExampleHookFunc:
 * @example: the example
 * @user_data: data given with the hook
 *
 * Runs at one point of the example's life: see example_set_hooks().
 */
typedef void (*ExampleHookFunc) (Example *example, gpointer user_data);

Example *example_new (const char *summary, int *argc, char ***argv);
Example *example_new_with_options (const char *summary, const GOptionEntry *options, int *argc,
                                   char ***argv);
void example_free (Example *example);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Example, example_free)

GossipCluster *example_get_cluster (Example *example);
const char *example_get_node_id (Example *example);

void example_add_command (Example *example, const char *name, const char *usage, const char *help,
                          ExampleCommandFunc func, gpointer user_data);
void example_set_hooks (Example *example, ExampleHookFunc joined, ExampleHookFunc leaving,
                        gpointer user_data);
int example_run (Example *example);
void example_leave (Example *example, const char *why);

void example_print (Example *example, const char *format, ...) G_GNUC_PRINTF (2, 3);
GossipNode *example_find_node (Example *example, const char *id);
const char *example_state_name (GossipNodeState state);
char *example_format_meta_value (GossipNode *node, const char *key);
char *example_format_meta (GossipNode *node);

G_END_DECLS
