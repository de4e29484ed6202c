/* kv-store.h: a last-writer-wins map with a hybrid logical clock.
 *
 * Every entry carries the timestamp of the write that made it: a hybrid
 * logical clock (HLC) reading, wall-clock milliseconds << 16 | a logical
 * counter, and the ID of the node that wrote it.  Of two entries for a key
 * the one with the larger timestamp wins; equal timestamps are broken by the
 * larger node ID.  A delete is an entry too (a tombstone), so it beats older
 * sets and loses to newer ones.  Tombstones are purged once they are older
 * than the store's TTL.
 *
 * Merging is commutative, associative and idempotent, so replicas that have
 * seen the same entries hold the same map, whatever the order they saw
 * them in.  Nothing here knows about the network: gossip-kv.c sends and
 * receives the entries.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KV_HLC_LOGICAL_BITS 16
#define KV_HLC_PHYSICAL(ts) ((ts) >> KV_HLC_LOGICAL_BITS)
/* Timestamps from more than this far ahead of the local clock are refused:
 * one would otherwise win every later write. */
#define KV_MAX_CLOCK_SKEW_MS (60 * 60 * 1000)

typedef struct
{
  char *key;
  char *value; /* NULL for a tombstone */
  guint64 ts;  /* HLC: physical ms << 16 | logical */
  char *node;  /* the writer */
} KvEntry;

typedef enum
{
  KV_MERGE_IGNORED, /* not newer than what the store has */
  KV_MERGE_APPLIED, /* the entry won; the key's value or deletion changed */
} KvMergeResult;

/* Wall-clock milliseconds; replaceable for tests. */
typedef gint64 (*KvClockFunc) (gpointer user_data);

typedef struct _KvStore KvStore;

gboolean kv_check_entry (const char *key, const char *value, const char *node, GError **error);
KvEntry *kv_entry_new (const char *key, const char *value, guint64 ts, const char *node);
KvEntry *kv_entry_copy (const KvEntry *entry);
void kv_entry_free (KvEntry *entry);
int kv_entry_compare (const KvEntry *a, const KvEntry *b);
GVariant *kv_entry_to_variant (const KvEntry *entry);
KvEntry *kv_entry_from_variant (GVariant *variant, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KvEntry, kv_entry_free)

KvStore *kv_store_new (const char *node_id, gint64 tombstone_ttl_ms, KvClockFunc clock,
                       gpointer clock_data);
void kv_store_free (KvStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KvStore, kv_store_free)

guint64 kv_store_tick (KvStore *store);
void kv_store_observe (KvStore *store, guint64 remote_ts);

const KvEntry *kv_store_set (KvStore *store, const char *key, const char *value);
const KvEntry *kv_store_delete (KvStore *store, const char *key);
KvMergeResult kv_store_merge (KvStore *store, const KvEntry *entry, GError **error);

const char *kv_store_get (KvStore *store, const char *key);
const KvEntry *kv_store_lookup (KvStore *store, const char *key);
GPtrArray *kv_store_list_keys (KvStore *store);
GPtrArray *kv_store_list_entries (KvStore *store);
guint kv_store_purge (KvStore *store);

G_END_DECLS
