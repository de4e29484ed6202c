/* gossip-broadcast-queue.c: a transmit-limited queue of updates.
 *
 * Items sit in a GSequence ordered by (transmits ascending, id descending),
 * so taking the best candidates is a walk from the front and requeueing one
 * is O(log n).  A hash table finds the current item for a key.  The walk
 * stops once not even the smallest update ever queued would fit: without
 * that, a datagram with a little room left walked the whole queue (10,000
 * user broadcasts in W5) to find that nothing fits.
 */
#include "config.h"

#include <math.h>

#include "gossip-broadcast-queue.h"

typedef struct
{
  GBytes *bytes;
  char *key; /* NULL for unique updates */
  guint transmits;
  guint64 id;
  GossipBroadcastFunc done;
  gpointer user_data;
  GSequenceIter *iter;
} Item;

struct _GossipBroadcastQueue
{
  guint retransmit_mult;
  guint64 next_id;
  GSequence *items;
  GHashTable *by_key; /* key -> Item */
  gsize min_size;     /* no item is smaller (the smallest ever pushed) */
};

static int
item_compare (gconstpointer a, gconstpointer b, gpointer unused)
{
  const Item *x = a, *y = b;

  if (x->transmits != y->transmits)
    return x->transmits < y->transmits ? -1 : 1;
  return x->id > y->id ? -1 : (x->id < y->id ? 1 : 0);
}

/* Frees an item already unlinked from the sequence and the key table. */
static void
item_finish (Item *item, gboolean finished)
{
  if (item->done != NULL)
    item->done (item->user_data, finished);
  g_bytes_unref (item->bytes);
  g_free (item->key);
  g_free (item);
}

static void
item_remove (GossipBroadcastQueue *q, Item *item, gboolean finished)
{
  g_sequence_remove (item->iter);
  if (item->key != NULL && g_hash_table_lookup (q->by_key, item->key) == item)
    g_hash_table_remove (q->by_key, item->key);
  item_finish (item, finished);
}

guint
_gossip_broadcast_queue_retransmit_limit (guint retransmit_mult, guint n_nodes)
{
  return retransmit_mult * (guint) ceil (log10 ((double) n_nodes + 1.0));
}

GossipBroadcastQueue *
_gossip_broadcast_queue_new (guint retransmit_mult)
{
  GossipBroadcastQueue *q = g_new0 (GossipBroadcastQueue, 1);

  q->retransmit_mult = MAX (retransmit_mult, 1);
  q->items = g_sequence_new (NULL);
  q->min_size = G_MAXSIZE;
  q->by_key = g_hash_table_new (g_str_hash, g_str_equal);
  return q;
}

void
_gossip_broadcast_queue_free (GossipBroadcastQueue *q)
{
  if (q == NULL)
    return;
  while (g_sequence_get_length (q->items) > 0)
    item_remove (q, g_sequence_get (g_sequence_get_begin_iter (q->items)), FALSE);
  g_sequence_free (q->items);
  g_hash_table_unref (q->by_key);
  g_free (q);
}

void
_gossip_broadcast_queue_push (GossipBroadcastQueue *q, GBytes *update, const char *key,
                              gboolean unique, GossipBroadcastFunc done, gpointer user_data)
{
  Item *item = g_new0 (Item, 1);

  if (key != NULL && !unique)
    {
      Item *old = g_hash_table_lookup (q->by_key, key);
      if (old != NULL)
        item_remove (q, old, FALSE);
      item->key = g_strdup (key);
      g_hash_table_insert (q->by_key, item->key, item);
    }
  item->bytes = g_bytes_ref (update);
  q->min_size = MIN (q->min_size, g_bytes_get_size (update));
  item->id = q->next_id++;
  item->done = done;
  item->user_data = user_data;
  item->iter = g_sequence_insert_sorted (q->items, item, item_compare, NULL);
}

/* Whether @bytes is one of @except (GBytes), by content. */
static gboolean
is_excepted (GPtrArray *except, GBytes *bytes)
{
  for (guint i = 0; except != NULL && i < except->len; i++)
    if (g_bytes_equal (g_ptr_array_index (except, i), bytes))
      return TRUE;
  return FALSE;
}

/*
 * Takes updates whose sizes plus @overhead each fit in @limit bytes in all,
 * best candidates first, and counts one transmission for each.  Returns the
 * taken updates (GBytes, owned by the array), possibly empty.
 */
GPtrArray *
_gossip_broadcast_queue_get_broadcasts (GossipBroadcastQueue *q, gsize overhead, gsize limit,
                                        guint n_nodes)
{
  return _gossip_broadcast_queue_get_broadcasts_except (q, overhead, limit, n_nodes, NULL);
}

/* As _gossip_broadcast_queue_get_broadcasts(), skipping the updates in
 * @except (GBytes, nullable): those a datagram already carries. */
GPtrArray *
_gossip_broadcast_queue_get_broadcasts_except (GossipBroadcastQueue *q, gsize overhead, gsize limit,
                                               guint n_nodes, GPtrArray *except)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr (GPtrArray) taken = g_ptr_array_new ();
  guint max_transmits = _gossip_broadcast_queue_retransmit_limit (q->retransmit_mult, n_nodes);
  gsize used = 0;
  GSequenceIter *iter = g_sequence_get_begin_iter (q->items);

  while (!g_sequence_iter_is_end (iter) && used + overhead < limit
         && limit - used - overhead >= q->min_size)
    {
      Item *item = g_sequence_get (iter);
      gsize size = g_bytes_get_size (item->bytes) + overhead;

      iter = g_sequence_iter_next (iter);
      if (used + size > limit || is_excepted (except, item->bytes))
        continue;
      used += size;
      g_ptr_array_add (out, g_bytes_ref (item->bytes));
      g_ptr_array_add (taken, item);
    }

  for (guint i = 0; i < taken->len; i++)
    {
      Item *item = g_ptr_array_index (taken, i);
      item->transmits++;
      if (item->transmits >= max_transmits)
        item_remove (q, item, TRUE);
      else
        g_sequence_sort_changed (item->iter, item_compare, NULL);
    }
  return out;
}

guint
_gossip_broadcast_queue_length (GossipBroadcastQueue *q)
{
  return (guint) g_sequence_get_length (q->items);
}

/* Drops the most-sent updates until at most @max_retained remain. */
void
_gossip_broadcast_queue_prune (GossipBroadcastQueue *q, guint max_retained)
{
  while ((guint) g_sequence_get_length (q->items) > max_retained)
    {
      GSequenceIter *last = g_sequence_iter_prev (g_sequence_get_end_iter (q->items));
      item_remove (q, g_sequence_get (last), FALSE);
    }
}
