/* kv-store.c: the last-writer-wins map, its clock and its tombstones. */
#include "config.h"

#include <string.h>

#include <gossip/gossip.h>

#include "kv-store.h"

#define KV_MAX_KEY   256
#define KV_MAX_VALUE (64 * 1024)
#define KV_MAX_NODE  256

struct _KvStore
{
  char *node_id;
  gint64 tombstone_ttl_ms;
  KvClockFunc clock;
  gpointer clock_data;
  guint64 hlc;         /* the last timestamp this store handed out or saw */
  GHashTable *entries; /* key -> KvEntry (owned), tombstones included */
};

KvEntry *
kv_entry_new (const char *key, const char *value, guint64 ts, const char *node)
{
  KvEntry *e = g_new0 (KvEntry, 1);

  e->key = g_strdup (key);
  e->value = g_strdup (value);
  e->ts = ts;
  e->node = g_strdup (node);
  return e;
}

KvEntry *
kv_entry_copy (const KvEntry *entry)
{
  return kv_entry_new (entry->key, entry->value, entry->ts, entry->node);
}

void
kv_entry_free (KvEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->key);
  g_free (entry->value);
  g_free (entry->node);
  g_free (entry);
}

/* Which write is later: <0 when @a is older than @b, >0 when newer; 0 only
 * for the same write (same timestamp and writer). */
int
kv_entry_compare (const KvEntry *a, const KvEntry *b)
{
  if (a->ts != b->ts)
    return a->ts < b->ts ? -1 : 1;
  return strcmp (a->node, b->node);
}

/* On the wire: (key, timestamp, writer, deleted, value); value is "" for a
 * tombstone.  No maybe type: codecs turn maybes into plain values. */
GVariant *
kv_entry_to_variant (const KvEntry *entry)
{
  return g_variant_new ("(sxsbs)", entry->key, (gint64) entry->ts, entry->node,
                        entry->value == NULL, entry->value ? entry->value : "");
}

static gboolean
valid_word (const char *s, gsize max)
{
  gsize len = strlen (s);

  if (len == 0 || len > max)
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (g_ascii_isspace (*p) || g_ascii_iscntrl (*p))
      return FALSE;
  return TRUE;
}

/**
 * kv_check_entry:
 * @value: (nullable): %NULL for a tombstone
 *
 * Keys and writers are 1-256 bytes without spaces or control characters;
 * values at most 64 KiB.
 *
 * Returns: %TRUE if they are, else %FALSE with @error set
 */
gboolean
kv_check_entry (const char *key, const char *value, const char *node, GError **error)
{
  const char *what = NULL;

  if (!valid_word (key, KV_MAX_KEY))
    what = "a key is 1-256 bytes without spaces or control characters";
  else if (!valid_word (node, KV_MAX_NODE))
    what = "a node ID is 1-256 bytes without spaces or control characters";
  else if (value != NULL && strlen (value) > KV_MAX_VALUE)
    what = "a value is at most 64 KiB";
  if (what != NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, what);
  return what == NULL;
}

/**
 * kv_entry_from_variant:
 * @variant: an entry as a codec decoded it
 *
 * Checks everything: the shape, the key, writer and value
 * (kv_check_entry()), a timestamp above zero, no value in a tombstone.
 *
 * Returns: (transfer full): the entry, or %NULL with @error set
 */
KvEntry *
kv_entry_from_variant (GVariant *variant, GError **error)
{
  g_autoptr (GVariant) v = NULL;
  const char *key, *node, *value;
  gint64 ts;
  gboolean deleted;

  if (variant == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no entry");
      return NULL;
    }
  v = gossip_variant_coerce (variant, G_VARIANT_TYPE ("(sxsbs)"), error);
  if (v == NULL)
    return NULL;
  g_variant_get (v, "(&sx&sb&s)", &key, &ts, &node, &deleted, &value);
  if (!kv_check_entry (key, deleted ? NULL : value, node, error))
    return NULL;
  if (ts <= 0 || (deleted && value[0] != '\0'))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           ts <= 0 ? "a timestamp is above zero" : "a tombstone has no value");
      return NULL;
    }
  return kv_entry_new (key, deleted ? NULL : value, (guint64) ts, node);
}

static gint64
real_clock (gpointer data)
{
  return g_get_real_time () / 1000;
}

/**
 * kv_store_new:
 * @node_id: this node's ID, the writer of its own entries
 * @tombstone_ttl_ms: how long a deletion is remembered
 * @clock: (nullable): wall-clock milliseconds; %NULL for the real clock
 */
KvStore *
kv_store_new (const char *node_id, gint64 tombstone_ttl_ms, KvClockFunc clock, gpointer clock_data)
{
  KvStore *store = g_new0 (KvStore, 1);

  store->node_id = g_strdup (node_id);
  store->tombstone_ttl_ms = tombstone_ttl_ms;
  store->clock = clock ? clock : real_clock;
  store->clock_data = clock_data;
  store->entries
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) kv_entry_free);
  return store;
}

void
kv_store_free (KvStore *store)
{
  if (store == NULL)
    return;
  g_hash_table_unref (store->entries);
  g_free (store->node_id);
  g_free (store);
}

static guint64
physical_now (KvStore *store)
{
  gint64 ms = store->clock (store->clock_data);

  return ms > 0 ? (guint64) ms << KV_HLC_LOGICAL_BITS : 0;
}

/**
 * kv_store_tick:
 *
 * A timestamp for a local write: the wall clock if it moved past every
 * timestamp seen so far, else the last one plus one.  Strictly increasing,
 * even when the wall clock goes backwards.
 */
guint64
kv_store_tick (KvStore *store)
{
  guint64 now = physical_now (store);

  store->hlc = now > store->hlc ? now : store->hlc + 1;
  return store->hlc;
}

/**
 * kv_store_observe:
 *
 * Moves the clock past a timestamp received from another node, so this
 * node's next write is later than everything it has seen.
 */
void
kv_store_observe (KvStore *store, guint64 remote_ts)
{
  store->hlc = MAX (store->hlc, remote_ts);
}

/* Stores @entry (taking it) if it is newer than the key's entry. */
static KvMergeResult
put (KvStore *store, KvEntry *entry)
{
  KvEntry *old = g_hash_table_lookup (store->entries, entry->key);

  if (old != NULL && kv_entry_compare (entry, old) <= 0)
    {
      kv_entry_free (entry);
      return KV_MERGE_IGNORED;
    }
  g_hash_table_replace (store->entries, entry->key, entry);
  return KV_MERGE_APPLIED;
}

static gboolean
expired (KvStore *store, const KvEntry *entry)
{
  gint64 now = store->clock (store->clock_data);

  return entry->value == NULL
         && (gint64) KV_HLC_PHYSICAL (entry->ts) + store->tombstone_ttl_ms <= now;
}

/**
 * kv_store_set:
 *
 * A local write.  Returns: (transfer none): the new entry, to send to the
 *   other nodes
 */
const KvEntry *
kv_store_set (KvStore *store, const char *key, const char *value)
{
  KvEntry *e = kv_entry_new (key, value, kv_store_tick (store), store->node_id);

  put (store, e);
  return e;
}

/**
 * kv_store_delete:
 *
 * A local delete: a tombstone, even when the key is not set here (another
 * node may have it).  Returns: (transfer none): the tombstone, to send on
 */
const KvEntry *
kv_store_delete (KvStore *store, const char *key)
{
  return kv_store_set (store, key, NULL);
}

/**
 * kv_store_merge:
 * @entry: an entry from another node
 *
 * Keeps @entry if it is newer than the key's entry here.  A tombstone that
 * has already expired still deletes an older value but is not kept.  An
 * entry whose timestamp is more than %KV_MAX_CLOCK_SKEW_MS ahead of this
 * node's clock is refused with @error set.
 *
 * Returns: whether the key's state changed
 */
KvMergeResult
kv_store_merge (KvStore *store, const KvEntry *entry, GError **error)
{
  gint64 now = store->clock (store->clock_data);
  KvEntry *old;
  gboolean had_value;

  if ((gint64) KV_HLC_PHYSICAL (entry->ts) > now + KV_MAX_CLOCK_SKEW_MS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s's timestamp for %s is too far in the future", entry->node, entry->key);
      return KV_MERGE_IGNORED;
    }
  kv_store_observe (store, entry->ts);
  if (!expired (store, entry))
    return put (store, kv_entry_copy (entry));
  old = g_hash_table_lookup (store->entries, entry->key);
  if (old == NULL || kv_entry_compare (entry, old) <= 0)
    return KV_MERGE_IGNORED;
  had_value = old->value != NULL;
  g_hash_table_remove (store->entries, entry->key);
  return had_value ? KV_MERGE_APPLIED : KV_MERGE_IGNORED;
}

/* The key's value, or NULL if it is not set or deleted. */
const char *
kv_store_get (KvStore *store, const char *key)
{
  const KvEntry *e = g_hash_table_lookup (store->entries, key);

  return e ? e->value : NULL;
}

/* The key's entry, tombstone included, or NULL. */
const KvEntry *
kv_store_lookup (KvStore *store, const char *key)
{
  return g_hash_table_lookup (store->entries, key);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Returns: (transfer container): the keys that have a value, sorted */
GPtrArray *
kv_store_list_keys (KvStore *store)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter it;
  KvEntry *e;

  g_hash_table_iter_init (&it, store->entries);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &e))
    if (e->value != NULL)
      g_ptr_array_add (keys, e->key);
  g_ptr_array_sort (keys, compare_strings);
  return keys;
}

static int
compare_entry_keys (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(KvEntry *const *) a)->key, (*(KvEntry *const *) b)->key);
}

/* Returns: (transfer full): copies of every entry, tombstones too, by key */
GPtrArray *
kv_store_list_entries (KvStore *store)
{
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) kv_entry_free);
  GHashTableIter it;
  KvEntry *e;

  g_hash_table_iter_init (&it, store->entries);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &e))
    g_ptr_array_add (all, kv_entry_copy (e));
  g_ptr_array_sort (all, compare_entry_keys);
  return all;
}

/* Forgets tombstones older than the TTL.  Returns: how many */
guint
kv_store_purge (KvStore *store)
{
  GHashTableIter it;
  KvEntry *e;
  guint n = 0;

  g_hash_table_iter_init (&it, store->entries);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &e))
    if (expired (store, e))
      {
        g_hash_table_iter_remove (&it);
        n++;
      }
  return n;
}
