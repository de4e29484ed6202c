/* gossip-kv: a replicated key/value store.
 *
 *   set KEY VALUE   write locally, then broadcast the entry to every node
 *   get KEY         "KEY = VALUE" or "KEY not found"
 *   delete KEY      write a tombstone, broadcast it
 *   keys            the keys, one a line, then "(N keys)"
 *
 * Entries are last-writer-wins on hybrid logical clock timestamps
 * (kv-store.c).  A node prints every remote change it applies:
 * "kv: KEY = VALUE (from NODE)" or "kv: KEY deleted (from NODE)", NODE being
 * the writer.
 *
 * Broadcasts reach the nodes that are alive at the time.  A node that was
 * away (just joined, restarted, cut off by a partition) catches up by a full
 * sync: whenever a peer becomes alive after being unknown, suspect, dead or
 * gone, this node opens a stream to it and both sides send every entry they
 * have, tombstones included, then close their output; each merges what it
 * reads.  "kv: synced with NODE (sent S, received R, applied A)" ends it.
 * Tombstones older than --tombstone-ttl are forgotten by a timer.
 */
#include "config.h"

#include "example-common.h"
#include "kv-store.h"

#define TYPE_UPDATE           (GOSSIP_MESSAGE_TYPE_USER + 1) /* a broadcast entry */
#define TYPE_SYNC             (GOSSIP_MESSAGE_TYPE_USER + 2) /* the full-sync stream */
#define SYNC_ENTRY            1                              /* one entry in a sync stream */
#define SYNC_MAX_ENTRIES      1000000                        /* a peer sending more is aborted */
#define SYNC_ATTEMPTS         3
#define SYNC_RETRY_MS         1000
#define DEFAULT_TOMBSTONE_TTL "10m"

typedef struct
{
  Example *ex;
  GossipCluster *cluster;
  KvStore *store;
  GPtrArray *syncs; /* Sync, in progress */
  GCancellable *cancellable;
  guint purge_source;
} Kv;

/* An entry from the network: merged, printed when it won.  Returns: if it won */
static gboolean
apply (Kv *kv, const KvEntry *entry)
{
  g_autoptr (GError) error = NULL;

  if (kv_store_merge (kv->store, entry, &error) == KV_MERGE_IGNORED)
    {
      if (error != NULL)
        example_print (kv->ex, "kv: refused %s from %s: %s", entry->key, entry->node,
                       error->message);
      return FALSE;
    }
  if (entry->value != NULL)
    example_print (kv->ex, "kv: %s = %s (from %s)", entry->key, entry->value, entry->node);
  else
    example_print (kv->ex, "kv: %s deleted (from %s)", entry->key, entry->node);
  return TRUE;
}

static gboolean
on_update (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload, gpointer data,
           GError **error)
{
  g_autoptr (KvEntry) entry = kv_entry_from_variant (payload, error);

  if (entry == NULL)
    return FALSE;
  apply (data, entry);
  return TRUE;
}

/* Full sync over a stream.  Both sides run the same code: write every entry
 * and close the output, while reading the peer's entries to their end. */

typedef struct
{
  Kv *kv;
  char *peer;
  gboolean opener;
  guint attempt;
  GIOStream *stream;
  GPtrArray *outgoing; /* KvEntry: a snapshot taken when the stream opened */
  guint sent, received, applied;
  gboolean written, read; /* each direction is finished */
  gboolean failed;
  guint pending;      /* asynchronous calls not yet called back */
  guint retry_source; /* a retry, or the accepted side, waiting to start */
} Sync;

static void start_sync (Kv *kv, const char *peer, guint attempt);

static Sync *
sync_new (Kv *kv, const char *peer, gboolean opener, guint attempt)
{
  Sync *s = g_new0 (Sync, 1);

  s->kv = kv;
  s->peer = g_strdup (peer);
  s->opener = opener;
  s->attempt = attempt;
  g_ptr_array_add (kv->syncs, s);
  return s;
}

static void
sync_free (Sync *s)
{
  g_ptr_array_remove (s->kv->syncs, s);
  g_clear_object (&s->stream);
  g_clear_pointer (&s->outgoing, g_ptr_array_unref);
  g_free (s->peer);
  g_free (s);
}

/* One asynchronous call came back: the sync ends when none is left. */
static void
sync_unref (Sync *s)
{
  if (--s->pending == 0)
    sync_free (s);
}

static gboolean
retry_sync (gpointer data)
{
  Sync *s = data;

  s->retry_source = 0;
  start_sync (s->kv, s->peer, s->attempt + 1);
  sync_free (s);
  return G_SOURCE_REMOVE;
}

static void
sync_fail (Sync *s, const GError *error)
{
  GossipNode *node;

  if (s->failed)
    return;
  s->failed = TRUE;
  if (s->stream != NULL)
    gossip_stream_abort (s->stream, error->message);
  if (g_cancellable_is_cancelled (s->kv->cancellable))
    return;
  example_print (s->kv->ex, "kv: sync with %s failed: %s", s->peer, error->message);
  /* The opener tries again while the peer looks alive. */
  node = gossip_cluster_get_node (s->kv->cluster, s->peer);
  if (s->opener && s->attempt < SYNC_ATTEMPTS && node != NULL
      && gossip_node_get_state (node) == GOSSIP_NODE_STATE_ALIVE)
    {
      Sync *again = sync_new (s->kv, s->peer, TRUE, s->attempt);
      again->retry_source = g_timeout_add (SYNC_RETRY_MS, retry_sync, again);
    }
}

static void
on_sync_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  Sync *s = data;
  g_autoptr (GError) error = NULL;

  if (!g_input_stream_close_finish (G_INPUT_STREAM (source), result, &error))
    sync_fail (s, error);
  else
    example_print (s->kv->ex, "kv: synced with %s (sent %u, received %u, applied %u)", s->peer,
                   s->sent, s->received, s->applied);
  sync_unref (s);
}

/* Both directions are finished: close the input too (the output is
 * closed already, and GIO's g_io_stream_close_async() would fail on it). */
static void
sync_maybe_done (Sync *s)
{
  if (!s->written || !s->read || s->failed)
    return;
  s->pending++;
  g_input_stream_close_async (g_io_stream_get_input_stream (s->stream), G_PRIORITY_DEFAULT,
                              s->kv->cancellable, on_sync_closed, s);
}

static void write_next (Sync *s);

static void
on_entry_written (GObject *source, GAsyncResult *result, gpointer data)
{
  Sync *s = data;
  g_autoptr (GError) error = NULL;

  if (!gossip_stream_write_message_finish (G_IO_STREAM (source), result, &error))
    sync_fail (s, error);
  else if (!s->failed)
    {
      s->sent++;
      write_next (s);
    }
  sync_unref (s);
}

static void
on_output_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  Sync *s = data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    sync_fail (s, error);
  else
    {
      s->written = TRUE;
      sync_maybe_done (s);
    }
  sync_unref (s);
}

/* Writes the next entry, or closes the output after the last one. */
static void
write_next (Sync *s)
{
  s->pending++;
  if (s->sent < s->outgoing->len)
    gossip_stream_write_message_async (s->stream, SYNC_ENTRY,
                                       kv_entry_to_variant (s->outgoing->pdata[s->sent]),
                                       s->kv->cancellable, on_entry_written, s);
  else
    g_output_stream_close_async (g_io_stream_get_output_stream (s->stream), G_PRIORITY_DEFAULT,
                                 s->kv->cancellable, on_output_closed, s);
}

static void read_next (Sync *s);

static void
on_entry_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Sync *s = data;
  g_autoptr (GError) error = NULL;
  guint type = 0;
  g_autoptr (GVariant) message
      = gossip_stream_read_message_finish (G_IO_STREAM (source), result, &type, &error);
  g_autoptr (KvEntry) entry = NULL;

  if (s->failed)
    ;
  else if (message == NULL && error == NULL)
    {
      /* The peer closed its output: everything it had is here. */
      s->read = TRUE;
      sync_maybe_done (s);
    }
  else if (message == NULL)
    sync_fail (s, error);
  else if (type != SYNC_ENTRY || ++s->received > SYNC_MAX_ENTRIES)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s",
                   type != SYNC_ENTRY ? "unexpected message" : "too many entries");
      sync_fail (s, error);
    }
  else if ((entry = kv_entry_from_variant (message, &error)) == NULL)
    sync_fail (s, error);
  else
    {
      s->applied += apply (s->kv, entry);
      read_next (s);
    }
  sync_unref (s);
}

static void
read_next (Sync *s)
{
  s->pending++;
  gossip_stream_read_message_async (s->stream, s->kv->cancellable, on_entry_read, s);
}

/* Both directions at once: a stream's reads and writes are independent. */
static void
sync_run (Sync *s, GIOStream *stream)
{
  s->stream = g_object_ref (stream);
  s->outgoing = kv_store_list_entries (s->kv->store);
  s->pending++; /* held until both directions are started */
  write_next (s);
  read_next (s);
  sync_unref (s);
}

static void
on_sync_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  Sync *s = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) stream
      = gossip_cluster_open_stream_finish (GOSSIP_CLUSTER (source), result, &error);

  if (stream == NULL)
    sync_fail (s, error);
  else
    sync_run (s, stream);
  sync_unref (s);
}

static gboolean
sync_in_progress (Kv *kv, const char *peer)
{
  for (guint i = 0; i < kv->syncs->len; i++)
    if (g_str_equal (((Sync *) kv->syncs->pdata[i])->peer, peer))
      return TRUE;
  return FALSE;
}

static void
start_sync (Kv *kv, const char *peer, guint attempt)
{
  GossipNode *node = gossip_cluster_get_node (kv->cluster, peer);
  Sync *s;

  if (node == NULL || g_cancellable_is_cancelled (kv->cancellable))
    return;
  s = sync_new (kv, peer, TRUE, attempt);
  s->pending = 1;
  gossip_cluster_open_stream_async (kv->cluster, node, TYPE_SYNC, NULL, kv->cancellable,
                                    on_sync_opened, s);
}

static gboolean
sync_run_later (gpointer data)
{
  Sync *s = data;
  g_autoptr (GIOStream) stream = g_steal_pointer (&s->stream);

  s->retry_source = 0;
  if (!g_cancellable_is_cancelled (s->kv->cancellable))
    sync_run (s, stream);
  sync_unref (s);
  return G_SOURCE_REMOVE;
}

/* A peer opened a sync: the same exchange from this side, started once the
 * handler has returned and the stream is answered (closing the output inside
 * the handler would send its end before the answer). */
static gboolean
on_sync_stream (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
                GIOStream *stream, gpointer data, GError **error)
{
  Kv *kv = data;
  Sync *s;

  if (g_cancellable_is_cancelled (kv->cancellable))
    {
      g_set_error_literal (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                           "leaving");
      return FALSE;
    }
  s = sync_new (kv, gossip_node_get_id (sender), FALSE, 1);
  s->pending = 1;
  s->stream = g_object_ref (stream);
  s->retry_source = g_idle_add (sync_run_later, s);
  return TRUE;
}

/* A peer is (back) alive: it joined, restarted, or a partition healed. */
static void
on_node_state_changed (GossipCluster *cluster, GossipNode *node, GossipNodeState old_state,
                       gpointer data)
{
  Kv *kv = data;
  const char *id = gossip_node_get_id (node);

  if (gossip_node_get_state (node) != GOSSIP_NODE_STATE_ALIVE
      || old_state == GOSSIP_NODE_STATE_ALIVE || node == gossip_cluster_get_local_node (cluster)
      || sync_in_progress (kv, id))
    return;
  start_sync (kv, id, 1);
}

static gboolean
on_purge (gpointer data)
{
  Kv *kv = data;

  kv_store_purge (kv->store);
  return G_SOURCE_CONTINUE;
}

/* Commands */

static void
broadcast (Kv *kv, const KvEntry *entry)
{
  g_autoptr (GError) error = NULL;

  if (!gossip_cluster_broadcast (kv->cluster, TYPE_UPDATE, kv_entry_to_variant (entry), &error))
    example_print (kv->ex, "warning: not broadcast (%s); the next sync carries it", error->message);
}

static void
cmd_set (Example *ex, char **args, gpointer data)
{
  Kv *kv = data;
  g_autoptr (GError) error = NULL;

  if (!kv_check_entry (args[0], args[1], example_get_node_id (ex), &error))
    {
      example_print (ex, "error: %s", error->message);
      return;
    }
  broadcast (kv, kv_store_set (kv->store, args[0], args[1]));
  example_print (ex, "ok: %s = %s", args[0], args[1]);
}

static void
cmd_get (Example *ex, char **args, gpointer data)
{
  Kv *kv = data;
  const char *value = kv_store_get (kv->store, args[0]);

  if (value != NULL)
    example_print (ex, "%s = %s", args[0], value);
  else
    example_print (ex, "%s not found", args[0]);
}

static void
cmd_delete (Example *ex, char **args, gpointer data)
{
  Kv *kv = data;
  g_autoptr (GError) error = NULL;

  if (!kv_check_entry (args[0], NULL, example_get_node_id (ex), &error))
    {
      example_print (ex, "error: %s", error->message);
      return;
    }
  broadcast (kv, kv_store_delete (kv->store, args[0]));
  example_print (ex, "ok: %s deleted", args[0]);
}

static void
cmd_keys (Example *ex, char **args, gpointer data)
{
  Kv *kv = data;
  g_autoptr (GPtrArray) keys = kv_store_list_keys (kv->store);

  for (guint i = 0; i < keys->len; i++)
    example_print (ex, "%s", (char *) keys->pdata[i]);
  example_print (ex, "(%u keys)", keys->len);
}

/* Leaving: stop syncing; the streams' calls come back cancelled. */
static void
on_leaving (Example *ex, gpointer data)
{
  Kv *kv = data;

  g_cancellable_cancel (kv->cancellable);
  for (guint i = kv->syncs->len; i-- > 0;)
    {
      Sync *s = kv->syncs->pdata[i];
      if (s->retry_source != 0)
        {
          g_source_remove (s->retry_source);
          sync_free (s);
        }
    }
}

int
main (int argc, char **argv)
{
  g_autofree char *ttl_text = NULL;
  GOptionEntry options[] = {
    { "tombstone-ttl", 0, 0, G_OPTION_ARG_STRING, &ttl_text,
      "Forget deletions after this long (default " DEFAULT_TOMBSTONE_TTL ")", "DURATION" },
    { NULL },
  };
  g_autoptr (Example) ex
      = example_new_with_options ("- a replicated key/value store", options, &argc, &argv);
  g_autoptr (GError) error = NULL;
  gint64 ttl_us = 0;
  Kv kv = { 0 };
  int status;

  if (ex == NULL)
    return 2;
  if (!gossip_parse_duration (ttl_text ? ttl_text : DEFAULT_TOMBSTONE_TTL, &ttl_us, &error)
      || ttl_us < 1000)
    {
      g_printerr ("error: --tombstone-ttl: %s\n", error ? error->message : "at least 1ms");
      return 2;
    }
  kv.ex = ex;
  kv.cluster = example_get_cluster (ex);
  kv.store = kv_store_new (example_get_node_id (ex), ttl_us / 1000, NULL, NULL);
  kv.syncs = g_ptr_array_new ();
  kv.cancellable = g_cancellable_new ();
  if (!gossip_cluster_handle_no_forward (kv.cluster, TYPE_UPDATE, on_update, &kv, NULL, &error)
      || !gossip_cluster_handle_stream (kv.cluster, TYPE_SYNC, on_sync_stream, &kv, NULL, &error))
    {
      g_printerr ("error: %s\n", error->message);
      return 1;
    }
  g_signal_connect (kv.cluster, "node-state-changed", G_CALLBACK (on_node_state_changed), &kv);
  kv.purge_source = g_timeout_add (CLAMP (ttl_us / 1000 / 4, 100, 60 * 1000), on_purge, &kv);
  example_set_hooks (ex, NULL, on_leaving, &kv);
  example_add_command (ex, "set", "KEY VALUE", "set KEY to VALUE on every node", cmd_set, &kv);
  example_add_command (ex, "get", "KEY", "KEY's value here", cmd_get, &kv);
  example_add_command (ex, "delete", "KEY", "delete KEY on every node", cmd_delete, &kv);
  example_add_command (ex, "keys", "", "the keys that have a value here", cmd_keys, &kv);

  status = example_run (ex);

  /* Let the cancelled syncs call back before their data goes. */
  g_cancellable_cancel (kv.cancellable);
  for (guint i = 0; i < 1000 && kv.syncs->len > 0; i++)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_signal_handlers_disconnect_by_data (kv.cluster, &kv);
  g_source_remove (kv.purge_source);
  g_ptr_array_unref (kv.syncs);
  g_object_unref (kv.cancellable);
  kv_store_free (kv.store);
  return status;
}
