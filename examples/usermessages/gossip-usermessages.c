/* gossip-usermessages: the application's own messages.
 *
 * Three message types, each with a handler registered before start:
 *
 *   broadcast TEXT   gossip_cluster_broadcast (): every other live node gets
 *                    it exactly once and prints "broadcast from NODE: TEXT"
 *   send NODE TEXT   gossip_cluster_send_to (): one node, best effort; it
 *                    prints "message from NODE: TEXT"
 *   ask NODE TEXT    gossip_cluster_request_async (): NODE's handler answers
 *                    "TEXT IN CAPITALS (answered by NODE)"; the asker prints
 *                    "reply from NODE: ..." or "error: ..."
 *
 * Payloads are GVariant strings; whatever arrives is checked before use.
 */
#include "config.h"

#include "example-common.h"

#define TYPE_BROADCAST (GOSSIP_MESSAGE_TYPE_USER + 1)
#define TYPE_DIRECT    (GOSSIP_MESSAGE_TYPE_USER + 2)
#define TYPE_ASK       (GOSSIP_MESSAGE_TYPE_USER + 3)
#define ASK_TIMEOUT_MS 5000

/* The payload's text, or NULL with @error set. */
static const char *
payload_text (GVariant *payload, GError **error)
{
  if (payload == NULL || !g_variant_is_of_type (payload, G_VARIANT_TYPE_STRING))
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID,
                   "expected a string payload");
      return NULL;
    }
  return g_variant_get_string (payload, NULL);
}

/* Receiving */

static gboolean
on_broadcast (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
              gpointer data, GError **error)
{
  const char *text = payload_text (payload, error);

  if (text == NULL)
    return FALSE;
  example_print (data, "broadcast from %s: %s", gossip_node_get_id (sender), text);
  return TRUE;
}

static gboolean
on_direct (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload, gpointer data,
           GError **error)
{
  const char *text = payload_text (payload, error);

  if (text == NULL)
    return FALSE;
  example_print (data, "message from %s: %s", gossip_node_get_id (sender), text);
  return TRUE;
}

static GVariant *
on_ask (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload, gpointer data,
        GError **error)
{
  const char *text = payload_text (payload, error);
  g_autofree char *upper = NULL;

  if (text == NULL)
    return NULL;
  example_print (data, "question from %s: %s", gossip_node_get_id (sender), text);
  upper = g_utf8_strup (text, -1);
  return g_variant_new_take_string (
      g_strdup_printf ("%s (answered by %s)", upper, example_get_node_id (data)));
}

/* Sending */

static void
cmd_broadcast (Example *ex, char **args, gpointer data)
{
  g_autoptr (GError) error = NULL;

  if (gossip_cluster_broadcast (example_get_cluster (ex), TYPE_BROADCAST,
                                g_variant_new_string (args[0]), &error))
    example_print (ex, "ok: broadcast sent");
  else
    example_print (ex, "error: %s", error->message);
}

static void
cmd_send (Example *ex, char **args, gpointer data)
{
  GossipNode *node = example_find_node (ex, args[0]);
  g_autoptr (GError) error = NULL;

  if (node == NULL)
    return;
  if (gossip_cluster_send_to (example_get_cluster (ex), node, TYPE_DIRECT,
                              g_variant_new_string (args[1]), &error))
    example_print (ex, "ok: sent to %s", args[0]);
  else
    example_print (ex, "error: %s", error->message);
}

typedef struct
{
  Example *ex;
  char *node_id;
} Ask;

static void
on_reply (GObject *source, GAsyncResult *result, gpointer data)
{
  Ask *ask = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = gossip_cluster_request_finish (GOSSIP_CLUSTER (source), result, &error);
  const char *text = reply ? payload_text (reply, &error) : NULL;

  if (text != NULL)
    example_print (ask->ex, "reply from %s: %s", ask->node_id, text);
  else
    example_print (ask->ex, "error: %s", error ? error->message : "empty reply");
  g_free (ask->node_id);
  g_free (ask);
}

static void
cmd_ask (Example *ex, char **args, gpointer data)
{
  GossipNode *node = example_find_node (ex, args[0]);
  Ask *ask;

  if (node == NULL)
    return;
  ask = g_new0 (Ask, 1);
  ask->ex = ex;
  ask->node_id = g_strdup (args[0]);
  gossip_cluster_request_async (example_get_cluster (ex), node, TYPE_ASK,
                                g_variant_new_string (args[1]), ASK_TIMEOUT_MS, NULL, on_reply,
                                ask);
}

int
main (int argc, char **argv)
{
  g_autoptr (Example) ex = example_new ("- broadcast, send and ask", &argc, &argv);
  g_autoptr (GError) error = NULL;
  GossipCluster *cluster;

  if (ex == NULL)
    return 2;
  cluster = example_get_cluster (ex);
  if (!gossip_cluster_handle_no_forward (cluster, TYPE_BROADCAST, on_broadcast, ex, NULL, &error)
      || !gossip_cluster_handle_no_forward (cluster, TYPE_DIRECT, on_direct, ex, NULL, &error)
      || !gossip_cluster_handle_with_reply (cluster, TYPE_ASK, on_ask, ex, NULL, &error))
    {
      g_printerr ("error: %s\n", error->message);
      return 1;
    }
  example_add_command (ex, "broadcast", "TEXT", "send TEXT to every node", cmd_broadcast, NULL);
  example_add_command (ex, "send", "NODE TEXT", "send TEXT to NODE", cmd_send, NULL);
  example_add_command (ex, "ask", "NODE TEXT", "ask NODE; it answers TEXT in capitals", cmd_ask,
                       NULL);
  return example_run (ex);
}
