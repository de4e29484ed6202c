/* test-kv-store.c: examples/kv's last-writer-wins map, without a cluster.
 *
 * The clock is a variable the tests move, backwards too.
 */
#include "config.h"

#include <string.h>

#include <gossip/gossip.h>

#include "kv-store.h"

#define TTL_MS 10000

typedef struct
{
  gint64 now_ms;
} FakeClock;

static gint64
fake_now (gpointer data)
{
  return ((FakeClock *) data)->now_ms;
}

static KvStore *
store_new (const char *node, FakeClock *clock)
{
  return kv_store_new (node, TTL_MS, fake_now, clock);
}

static guint64
ts_at (gint64 ms, guint logical)
{
  return ((guint64) ms << KV_HLC_LOGICAL_BITS) | logical;
}

static KvMergeResult
merge (KvStore *store, const char *key, const char *value, guint64 ts, const char *node)
{
  g_autoptr (KvEntry) e = kv_entry_new (key, value, ts, node);
  g_autoptr (GError) error = NULL;
  KvMergeResult r = kv_store_merge (store, e, &error);

  g_assert_no_error (error);
  return r;
}

static void
test_later_write_wins (void)
{
  FakeClock clock = { 100000 };
  g_autoptr (KvStore) s = store_new ("n1", &clock);

  g_assert_cmpint (merge (s, "k", "new", ts_at (5000, 0), "n2"), ==, KV_MERGE_APPLIED);
  g_assert_cmpint (merge (s, "k", "old", ts_at (4000, 7), "n3"), ==, KV_MERGE_IGNORED);
  g_assert_cmpstr (kv_store_get (s, "k"), ==, "new");
  g_assert_cmpint (merge (s, "k", "newer", ts_at (5000, 1), "n0"), ==, KV_MERGE_APPLIED);
  g_assert_cmpstr (kv_store_get (s, "k"), ==, "newer");
  /* The same write again changes nothing. */
  g_assert_cmpint (merge (s, "k", "newer", ts_at (5000, 1), "n0"), ==, KV_MERGE_IGNORED);
  g_assert_cmpstr (kv_store_lookup (s, "k")->node, ==, "n0");
}

static void
test_tie_broken_by_node_id (void)
{
  FakeClock clock = { 100000 };
  g_autoptr (KvStore) a = store_new ("x", &clock);
  g_autoptr (KvStore) b = store_new ("y", &clock);
  guint64 ts = ts_at (5000, 3);

  /* Both orders: the larger node ID wins. */
  merge (a, "k", "from-n1", ts, "n1");
  merge (a, "k", "from-n2", ts, "n2");
  merge (b, "k", "from-n2", ts, "n2");
  g_assert_cmpint (merge (b, "k", "from-n1", ts, "n1"), ==, KV_MERGE_IGNORED);
  g_assert_cmpstr (kv_store_get (a, "k"), ==, "from-n2");
  g_assert_cmpstr (kv_store_get (b, "k"), ==, "from-n2");
}

static void
test_local_writes (void)
{
  FakeClock clock = { 100000 };
  g_autoptr (KvStore) s = store_new ("n1", &clock);
  const KvEntry *e;

  e = kv_store_set (s, "k", "v");
  g_assert_cmpuint (e->ts, ==, ts_at (100000, 0));
  g_assert_cmpstr (e->node, ==, "n1");
  g_assert_cmpstr (kv_store_get (s, "k"), ==, "v");

  /* A remote write from a clock ahead of ours: our next write still wins. */
  merge (s, "k", "remote", ts_at (100500, 9), "n9");
  e = kv_store_set (s, "k", "mine");
  g_assert_cmpuint (e->ts, ==, ts_at (100500, 10));
  g_assert_cmpstr (kv_store_get (s, "k"), ==, "mine");

  e = kv_store_delete (s, "k");
  g_assert_null (e->value);
  g_assert_null (kv_store_get (s, "k"));
  g_assert_nonnull (kv_store_lookup (s, "k"));
  /* Deleting a key never set here still leaves a tombstone for the others. */
  e = kv_store_delete (s, "absent");
  g_assert_cmpstr (e->key, ==, "absent");
  g_assert_null (kv_store_get (s, "absent"));
}

static void
test_hlc_monotonic (void)
{
  FakeClock clock = { 50000 };
  g_autoptr (KvStore) s = store_new ("n1", &clock);
  guint64 last = 0;

  for (guint i = 0; i < 200; i++)
    {
      guint64 ts;
      /* Forwards, still, and backwards by up to a second. */
      clock.now_ms += g_test_rand_int_range (-1000, 1001);
      ts = kv_store_tick (s);
      g_assert_cmpuint (ts, >, last);
      last = ts;
    }

  /* Once the wall clock passes everything seen, the logical part restarts. */
  clock.now_ms = KV_HLC_PHYSICAL (last) + 10;
  g_assert_cmpuint (kv_store_tick (s), ==, ts_at (clock.now_ms, 0));
  g_assert_cmpuint (kv_store_tick (s), ==, ts_at (clock.now_ms, 1));

  /* A clock that went back an hour: ticks go on from the last one. */
  clock.now_ms -= 3600 * 1000;
  g_assert_cmpuint (kv_store_tick (s), ==, ts_at (clock.now_ms + 3600 * 1000, 2));

  /* Observing a later remote timestamp moves the clock past it. */
  kv_store_observe (s, ts_at (clock.now_ms + 3600 * 1000 + 7, 4));
  g_assert_cmpuint (kv_store_tick (s), ==, ts_at (clock.now_ms + 3600 * 1000 + 7, 5));
  /* An older one does not move it back. */
  kv_store_observe (s, ts_at (1, 0));
  g_assert_cmpuint (kv_store_tick (s), ==, ts_at (clock.now_ms + 3600 * 1000 + 7, 6));
}

static void
test_tombstones (void)
{
  FakeClock clock = { 10000 }; /* no tombstone below has expired */
  g_autoptr (KvStore) s = store_new ("n1", &clock);

  merge (s, "k", "v1", ts_at (5000, 0), "n2");
  /* A newer delete beats the set... */
  g_assert_cmpint (merge (s, "k", NULL, ts_at (6000, 0), "n3"), ==, KV_MERGE_APPLIED);
  g_assert_null (kv_store_get (s, "k"));
  /* ...an older set arriving late loses to it... */
  g_assert_cmpint (merge (s, "k", "v0", ts_at (5500, 0), "n9"), ==, KV_MERGE_IGNORED);
  g_assert_null (kv_store_get (s, "k"));
  /* ...an older delete arriving late changes nothing... */
  g_assert_cmpint (merge (s, "k", NULL, ts_at (5900, 0), "n2"), ==, KV_MERGE_IGNORED);
  /* ...and a newer set beats the delete. */
  g_assert_cmpint (merge (s, "k", "v2", ts_at (6000, 1), "n2"), ==, KV_MERGE_APPLIED);
  g_assert_cmpstr (kv_store_get (s, "k"), ==, "v2");
  /* A delete older than the value never removes it. */
  g_assert_cmpint (merge (s, "k", NULL, ts_at (6000, 0), "n4"), ==, KV_MERGE_IGNORED);
  g_assert_cmpstr (kv_store_get (s, "k"), ==, "v2");

  g_autoptr (GPtrArray) keys = kv_store_list_keys (s);
  g_assert_cmpuint (keys->len, ==, 1);
  merge (s, "gone", NULL, ts_at (7000, 0), "n2");
  g_autoptr (GPtrArray) keys2 = kv_store_list_keys (s);
  g_autoptr (GPtrArray) entries = kv_store_list_entries (s);
  g_assert_cmpuint (keys2->len, ==, 1);
  g_assert_cmpuint (entries->len, ==, 2);
  g_assert_cmpstr (((KvEntry *) entries->pdata[0])->key, ==, "gone");
  g_assert_null (((KvEntry *) entries->pdata[0])->value);
}

static void
test_expiry (void)
{
  FakeClock clock = { 100000 };
  g_autoptr (KvStore) s = store_new ("n1", &clock);

  kv_store_set (s, "kept", "v");
  kv_store_delete (s, "k"); /* at 100000 */
  clock.now_ms = 100000 + TTL_MS - 1;
  g_assert_cmpuint (kv_store_purge (s), ==, 0);
  g_assert_nonnull (kv_store_lookup (s, "k"));
  clock.now_ms = 100000 + TTL_MS;
  g_assert_cmpuint (kv_store_purge (s), ==, 1);
  g_assert_null (kv_store_lookup (s, "k"));
  /* Values never expire. */
  clock.now_ms += 100 * TTL_MS;
  g_assert_cmpuint (kv_store_purge (s), ==, 0);
  g_assert_cmpstr (kv_store_get (s, "kept"), ==, "v");

  /* An expired tombstone from elsewhere still deletes an older value here,
   * but is not kept; it does not delete a newer one. */
  clock.now_ms = 200000;
  merge (s, "old", "v", ts_at (150000, 0), "n2");
  merge (s, "new", "v", ts_at (180000, 0), "n2");
  g_assert_cmpint (merge (s, "old", NULL, ts_at (170000, 0), "n3"), ==, KV_MERGE_APPLIED);
  g_assert_null (kv_store_lookup (s, "old"));
  g_assert_cmpint (merge (s, "new", NULL, ts_at (170000, 0), "n3"), ==, KV_MERGE_IGNORED);
  g_assert_cmpstr (kv_store_get (s, "new"), ==, "v");
  g_assert_cmpint (merge (s, "never", NULL, ts_at (170000, 0), "n3"), ==, KV_MERGE_IGNORED);
  g_assert_null (kv_store_lookup (s, "never"));
}

static void
test_future_timestamp_refused (void)
{
  FakeClock clock = { 100000 };
  g_autoptr (KvStore) s = store_new ("n1", &clock);
  g_autoptr (KvEntry) far = kv_entry_new ("k", "v", G_MAXINT64, "evil");
  g_autoptr (KvEntry) near
      = kv_entry_new ("k", "ok", ts_at (100000 + KV_MAX_CLOCK_SKEW_MS, 0), "n2");
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (kv_store_merge (s, far, &error), ==, KV_MERGE_IGNORED);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_null (kv_store_lookup (s, "k"));
  g_assert_cmpuint (kv_store_tick (s), ==, ts_at (100000, 0));
  g_clear_error (&error);
  g_assert_cmpint (kv_store_merge (s, near, &error), ==, KV_MERGE_APPLIED);
  g_assert_no_error (error);
}

/* Stores that saw the same entries in any order, any number of times, agree. */
static gboolean
same_state (KvStore *a, KvStore *b)
{
  g_autoptr (GPtrArray) ea = kv_store_list_entries (a);
  g_autoptr (GPtrArray) eb = kv_store_list_entries (b);

  if (ea->len != eb->len)
    return FALSE;
  for (guint i = 0; i < ea->len; i++)
    {
      KvEntry *x = ea->pdata[i], *y = eb->pdata[i];
      if (strcmp (x->key, y->key) != 0 || kv_entry_compare (x, y) != 0
          || g_strcmp0 (x->value, y->value) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
test_merge_commutative_idempotent (void)
{
  for (guint seed = 0; seed < 20; seed++)
    {
      FakeClock clock = { 900010 }; /* no tombstone has expired */
      g_autoptr (KvStore) forwards = store_new ("a", &clock);
      g_autoptr (KvStore) backwards = store_new ("b", &clock);
      g_autoptr (KvStore) twice = store_new ("c", &clock);
      g_autoptr (GPtrArray) writes
          = g_ptr_array_new_with_free_func ((GDestroyNotify) kv_entry_free);
      GRand *rand = g_rand_new_with_seed (seed);

      for (guint i = 0; i < 60; i++)
        {
          g_autofree char *key = g_strdup_printf ("k%d", g_rand_int_range (rand, 0, 5));
          g_autofree char *node = g_strdup_printf ("n%d", g_rand_int_range (rand, 0, 3));
          g_autofree char *value = g_strdup_printf ("v%u", i);
          /* Few distinct timestamps, so ties happen. */
          guint64 ts
              = ts_at (900000 + g_rand_int_range (rand, 0, 4), g_rand_int_range (rand, 0, 2));
          g_ptr_array_add (writes,
                           kv_entry_new (key, g_rand_boolean (rand) ? value : NULL, ts, node));
        }
      /* The same writer never makes two writes with one timestamp. */
      for (guint i = 0; i < writes->len; i++)
        for (guint j = 0; j < i; j++)
          if (kv_entry_compare (writes->pdata[i], writes->pdata[j]) == 0)
            {
              g_ptr_array_remove_index (writes, i--);
              break;
            }

      for (guint i = 0; i < writes->len; i++)
        kv_store_merge (forwards, writes->pdata[i], NULL);
      for (guint i = writes->len; i-- > 0;)
        kv_store_merge (backwards, writes->pdata[i], NULL);
      for (guint round = 0; round < 2; round++)
        for (guint i = 0; i < writes->len; i++)
          kv_store_merge (twice, writes->pdata[g_rand_int_range (rand, 0, (gint32) writes->len)],
                          NULL);
      for (guint i = 0; i < writes->len; i++)
        kv_store_merge (twice, writes->pdata[i], NULL);

      g_assert_true (same_state (forwards, backwards));
      g_assert_true (same_state (forwards, twice));

      /* Merging one store's entries into another: nothing new. */
      g_autoptr (GPtrArray) all = kv_store_list_entries (backwards);
      for (guint i = 0; i < all->len; i++)
        g_assert_cmpint (kv_store_merge (forwards, all->pdata[i], NULL), ==, KV_MERGE_IGNORED);
      g_assert_true (same_state (forwards, backwards));
      g_rand_free (rand);
    }
}

static void
test_variant (void)
{
  g_autoptr (KvEntry) e = kv_entry_new ("key", "a value", ts_at (123456, 7), "n1");
  g_autoptr (KvEntry) t = kv_entry_new ("key", NULL, ts_at (123456, 8), "n2");
  g_autoptr (GError) error = NULL;
  const char *bad[] = {
    "('', int64 5, 'n1', false, 'v')",    /* empty key */
    "('a b', int64 5, 'n1', false, 'v')", /* space in key */
    "('k', int64 0, 'n1', false, 'v')",   /* no timestamp */
    "('k', int64 -5, 'n1', false, 'v')",  /* negative */
    "('k', int64 5, '', false, 'v')",     /* no writer */
    "('k', int64 5, 'n1', true, 'v')",    /* tombstone with a value */
    "('k', int64 5, 'n1', false)",        /* too short */
    "('k', 'five', 'n1', false, 'v')",    /* wrong type */
    "'just a string'",
  };

  for (guint i = 0; i < 2; i++)
    {
      KvEntry *in = i ? t : e;
      g_autoptr (GVariant) v = g_variant_ref_sink (kv_entry_to_variant (in));
      g_autoptr (KvEntry) out = kv_entry_from_variant (v, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (out->key, ==, in->key);
      g_assert_cmpstr (out->value, ==, in->value);
      g_assert_cmpstr (out->node, ==, in->node);
      g_assert_cmpuint (out->ts, ==, in->ts);
    }

  /* As a codec decodes it: an array of widened values. */
  {
    g_autoptr (GVariant) v
        = g_variant_ref_sink (g_variant_new_parsed ("[<'k'>, <int64 99>, <'n1'>, <false>, <'v'>]"));
    g_autoptr (KvEntry) out = kv_entry_from_variant (v, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (out->ts, ==, 99);
  }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new_parsed (bad[i]));
      g_autoptr (KvEntry) out = kv_entry_from_variant (v, &error);
      g_assert_null (out);
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  g_assert_null (kv_entry_from_variant (NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);

  {
    g_autofree char *huge = g_strnfill (64 * 1024 + 1, 'x');
    g_autoptr (GVariant) v
        = g_variant_ref_sink (g_variant_new ("(sxsbs)", "k", (gint64) 5, "n1", FALSE, huge));
    g_autoptr (KvEntry) out = kv_entry_from_variant (v, &error);
    g_assert_null (out);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kv-store/later-write-wins", test_later_write_wins);
  g_test_add_func ("/kv-store/tie-broken-by-node-id", test_tie_broken_by_node_id);
  g_test_add_func ("/kv-store/local-writes", test_local_writes);
  g_test_add_func ("/kv-store/hlc-monotonic", test_hlc_monotonic);
  g_test_add_func ("/kv-store/tombstones", test_tombstones);
  g_test_add_func ("/kv-store/expiry", test_expiry);
  g_test_add_func ("/kv-store/future-timestamp-refused", test_future_timestamp_refused);
  g_test_add_func ("/kv-store/merge-commutative-idempotent", test_merge_commutative_idempotent);
  g_test_add_func ("/kv-store/variant", test_variant);
  return g_test_run ();
}
