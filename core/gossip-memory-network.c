/* gossip-memory-network.c: an in-process network for tests and simulation.
 *
 * Networks are looked up by name in a process-wide registry and live while
 * someone holds a reference (each attached endpoint holds one).  A frame sent
 * from A to B is scheduled on A's clock after the link's delay; when the
 * timer fires the frame is handed to B if B is still attached.  Loss is drawn
 * from the network's own seeded GRand, so a run with a manual clock and a
 * fixed seed is reproducible.  The reliable path is never lost and never
 * reordered between two endpoints (it models TCP); partitions and paused
 * endpoints refuse it with GOSSIP_TRANSPORT_ERROR_UNREACHABLE.
 */
#include "config.h"

#include "gossip-memory-network-private.h"
#include "gossip/gossip-transport.h"

#define MEMORY_SCHEME "mem://"

typedef struct
{
  double loss;
  gint64 delay_us;
} MemoryLink;

struct _GossipMemoryNetwork
{
  gatomicrefcount ref_count;
  char *name;
  GRand *rand;
  double default_loss;
  gint64 default_delay_us;
  gint64 default_jitter_us;
  GHashTable *links;         /* "from\nto" -> MemoryLink */
  GHashTable *side_a;        /* name set, or NULL when not partitioned */
  GHashTable *side_b;        /* name set */
  GHashTable *paused;        /* name set */
  GHashTable *endpoints;     /* name -> GossipMemoryEndpoint (not owned) */
  GHashTable *last_reliable; /* "from\nto" -> gint64 *, keeps the reliable path FIFO */
  guint64 delivered;
  guint64 lost;
};

typedef struct _MemoryFrame MemoryFrame;

struct _GossipMemoryEndpoint
{
  GossipMemoryNetwork *network; /* owned ref */
  char *name;
  GossipClock *clock; /* owned ref */
  GossipMemoryDeliverFunc deliver;
  GossipMemoryChannelFunc channel_func;
  gpointer user_data;
  GHashTable *in_flight; /* MemoryFrame set: frames sent from here, on our clock */
};

struct _MemoryFrame
{
  GossipMemoryEndpoint *from; /* not owned; the frame is cancelled when it detaches */
  char *to;
  gboolean reliable;
  GBytes *bytes;     /* NULL for a channel message without a frame */
  guint channel_tag; /* 0: not a channel message */
  guint64 channel_id;
  guint timer;
};

G_LOCK_DEFINE_STATIC (registry);
static GHashTable *registry; /* name -> GossipMemoryNetwork (weak) */

static char *
link_key (const char *from, const char *to)
{
  return g_strconcat (from, "\n", to, NULL);
}

/**
 * gossip_memory_network_get:
 * @name: the network's name, as in "mem://NAME/node"
 *
 * Returns the network called @name, creating it if nobody holds it.
 *
 * Returns: (transfer full): a reference to the network
 */
GossipMemoryNetwork *
gossip_memory_network_get (const char *name)
{
  GossipMemoryNetwork *network;

  g_return_val_if_fail (name != NULL, NULL);

  G_LOCK (registry);
  if (registry == NULL)
    registry = g_hash_table_new (g_str_hash, g_str_equal);
  network = g_hash_table_lookup (registry, name);
  if (network != NULL)
    {
      g_atomic_ref_count_inc (&network->ref_count);
      G_UNLOCK (registry);
      return network;
    }
  network = g_new0 (GossipMemoryNetwork, 1);
  g_atomic_ref_count_init (&network->ref_count);
  network->name = g_strdup (name);
  network->rand = g_rand_new_with_seed (0x9e3779b9u);
  network->links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  network->paused = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  network->endpoints = g_hash_table_new (g_str_hash, g_str_equal);
  network->last_reliable = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (registry, network->name, network);
  G_UNLOCK (registry);
  return network;
}

/**
 * gossip_memory_network_ref:
 * @network: a network
 *
 * Returns: (transfer full): @network
 */
GossipMemoryNetwork *
gossip_memory_network_ref (GossipMemoryNetwork *network)
{
  g_return_val_if_fail (network != NULL, NULL);
  g_atomic_ref_count_inc (&network->ref_count);
  return network;
}

/**
 * gossip_memory_network_unref:
 * @network: (transfer full): a network
 *
 * Drops a reference; the last one removes the network from the registry.
 */
void
gossip_memory_network_unref (GossipMemoryNetwork *network)
{
  g_return_if_fail (network != NULL);

  G_LOCK (registry);
  if (!g_atomic_ref_count_dec (&network->ref_count))
    {
      G_UNLOCK (registry);
      return;
    }
  g_hash_table_remove (registry, network->name);
  if (g_hash_table_size (registry) == 0)
    g_clear_pointer (&registry, g_hash_table_unref);
  G_UNLOCK (registry);

  g_warn_if_fail (g_hash_table_size (network->endpoints) == 0);
  g_hash_table_unref (network->endpoints);
  g_hash_table_unref (network->links);
  g_hash_table_unref (network->last_reliable);
  g_hash_table_unref (network->paused);
  g_clear_pointer (&network->side_a, g_hash_table_unref);
  g_clear_pointer (&network->side_b, g_hash_table_unref);
  g_rand_free (network->rand);
  g_free (network->name);
  g_free (network);
}

/**
 * gossip_memory_network_set_seed:
 * @network: a network
 * @seed: seed for loss and jitter
 *
 * Reseeds the network's random source, for reproducible runs.
 */
void
gossip_memory_network_set_seed (GossipMemoryNetwork *network, guint64 seed)
{
  guint32 words[2] = { (guint32) seed, (guint32) (seed >> 32) };

  g_return_if_fail (network != NULL);
  g_rand_set_seed_array (network->rand, words, 2);
}

/**
 * gossip_memory_network_set_default_link:
 * @network: a network
 * @loss: probability in [0, 1] that a datagram is lost
 * @delay_us: one-way delay
 * @jitter_us: datagrams get up to this much extra delay, uniformly
 *
 * Sets the properties of every link without its own settings.
 */
void
gossip_memory_network_set_default_link (GossipMemoryNetwork *network, double loss, gint64 delay_us,
                                        gint64 jitter_us)
{
  g_return_if_fail (network != NULL);
  g_return_if_fail (loss >= 0.0 && loss <= 1.0);
  g_return_if_fail (delay_us >= 0 && jitter_us >= 0);

  network->default_loss = loss;
  network->default_delay_us = delay_us;
  network->default_jitter_us = jitter_us;
}

/**
 * gossip_memory_network_set_link:
 * @network: a network
 * @from: sending endpoint name
 * @to: receiving endpoint name
 * @loss: probability in [0, 1] that a datagram is lost
 * @delay_us: one-way delay
 *
 * Overrides the default for one direction of one link.
 */
void
gossip_memory_network_set_link (GossipMemoryNetwork *network, const char *from, const char *to,
                                double loss, gint64 delay_us)
{
  MemoryLink *link;

  g_return_if_fail (network != NULL && from != NULL && to != NULL);
  g_return_if_fail (loss >= 0.0 && loss <= 1.0 && delay_us >= 0);

  link = g_new (MemoryLink, 1);
  link->loss = loss;
  link->delay_us = delay_us;
  g_hash_table_replace (network->links, link_key (from, to), link);
}

/**
 * gossip_memory_network_clear_link:
 * @network: a network
 * @from: sending endpoint name
 * @to: receiving endpoint name
 *
 * Returns one direction of a link to the default settings.
 */
void
gossip_memory_network_clear_link (GossipMemoryNetwork *network, const char *from, const char *to)
{
  g_autofree char *key = NULL;

  g_return_if_fail (network != NULL && from != NULL && to != NULL);
  key = link_key (from, to);
  g_hash_table_remove (network->links, key);
}

static GHashTable *
name_set (const char *const *names)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (; names != NULL && *names != NULL; names++)
    g_hash_table_add (set, g_strdup (*names));
  return set;
}

/**
 * gossip_memory_network_partition:
 * @network: a network
 * @side_a: (array zero-terminated=1): endpoint names on one side
 * @side_b: (array zero-terminated=1): endpoint names on the other side
 *
 * Cuts every link between a name of @side_a and a name of @side_b, both
 * directions, until gossip_memory_network_heal().  Names on neither side
 * still reach everyone.
 */
void
gossip_memory_network_partition (GossipMemoryNetwork *network, const char *const *side_a,
                                 const char *const *side_b)
{
  g_return_if_fail (network != NULL);

  g_clear_pointer (&network->side_a, g_hash_table_unref);
  g_clear_pointer (&network->side_b, g_hash_table_unref);
  network->side_a = name_set (side_a);
  network->side_b = name_set (side_b);
}

/**
 * gossip_memory_network_heal:
 * @network: a network
 *
 * Removes the partition.
 */
void
gossip_memory_network_heal (GossipMemoryNetwork *network)
{
  g_return_if_fail (network != NULL);

  g_clear_pointer (&network->side_a, g_hash_table_unref);
  g_clear_pointer (&network->side_b, g_hash_table_unref);
}

/**
 * gossip_memory_network_set_paused:
 * @network: a network
 * @name: an endpoint name
 * @paused: whether the endpoint is cut off
 *
 * A paused endpoint neither sends nor receives, like a stopped process whose
 * sockets stay open: datagrams to and from it are lost, reliable sends fail.
 */
void
gossip_memory_network_set_paused (GossipMemoryNetwork *network, const char *name, gboolean paused)
{
  g_return_if_fail (network != NULL && name != NULL);

  if (paused)
    g_hash_table_add (network->paused, g_strdup (name));
  else
    g_hash_table_remove (network->paused, name);
}

/**
 * gossip_memory_network_get_delivered:
 * @network: a network
 *
 * Returns: frames handed to a receiver so far
 */
guint64
gossip_memory_network_get_delivered (GossipMemoryNetwork *network)
{
  g_return_val_if_fail (network != NULL, 0);
  return network->delivered;
}

/**
 * gossip_memory_network_get_lost:
 * @network: a network
 *
 * Returns: frames lost so far (random loss, partitions, paused or missing
 *   receivers)
 */
guint64
gossip_memory_network_get_lost (GossipMemoryNetwork *network)
{
  g_return_val_if_fail (network != NULL, 0);
  return network->lost;
}

/* ------------------------------------------------------------ endpoints */

static void
memory_frame_free (gpointer data)
{
  MemoryFrame *frame = data;

  g_clear_pointer (&frame->bytes, g_bytes_unref);
  g_free (frame->to);
  g_free (frame);
}

gboolean
_gossip_memory_parse_address (const char *address, char **network, char **name, GError **error)
{
  const char *rest, *slash;

  if (address == NULL || !g_str_has_prefix (address, MEMORY_SCHEME))
    goto bad;
  rest = address + strlen (MEMORY_SCHEME);
  slash = strchr (rest, '/');
  if (slash == NULL || slash == rest || slash[1] == '\0' || strchr (slash + 1, '/') != NULL)
    goto bad;
  if (network != NULL)
    *network = g_strndup (rest, slash - rest);
  if (name != NULL)
    *name = g_strdup (slash + 1);
  return TRUE;

bad:
  g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
               "'%s' is not a memory address (expected mem://NETWORK/NAME)",
               address ? address : "(null)");
  return FALSE;
}

GossipMemoryEndpoint *
_gossip_memory_network_attach (GossipMemoryNetwork *network, const char *name, GossipClock *clock,
                               GossipMemoryDeliverFunc deliver, gpointer user_data, GError **error)
{
  GossipMemoryEndpoint *endpoint;

  g_return_val_if_fail (network != NULL && name != NULL && GOSSIP_IS_CLOCK (clock), NULL);

  if (g_hash_table_contains (network->endpoints, name))
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                   "mem://%s/%s is already in use", network->name, name);
      return NULL;
    }
  endpoint = g_new0 (GossipMemoryEndpoint, 1);
  endpoint->network = gossip_memory_network_ref (network);
  endpoint->name = g_strdup (name);
  endpoint->clock = g_object_ref (clock);
  endpoint->deliver = deliver;
  endpoint->user_data = user_data;
  endpoint->in_flight = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (network->endpoints, endpoint->name, endpoint);
  return endpoint;
}

void
_gossip_memory_endpoint_detach (GossipMemoryEndpoint *endpoint)
{
  GHashTableIter iter;
  gpointer frame;

  if (endpoint == NULL)
    return;
  /* Frames this endpoint sent are still on its clock: cancel them. */
  g_hash_table_iter_init (&iter, endpoint->in_flight);
  while (g_hash_table_iter_next (&iter, &frame, NULL))
    {
      MemoryFrame *f = frame;
      g_hash_table_iter_remove (&iter);
      gossip_clock_remove_timer (endpoint->clock, f->timer);
    }
  g_hash_table_unref (endpoint->in_flight);
  g_hash_table_remove (endpoint->network->endpoints, endpoint->name);
  gossip_memory_network_unref (endpoint->network);
  g_object_unref (endpoint->clock);
  g_free (endpoint->name);
  g_free (endpoint);
}

static gboolean
is_cut (GossipMemoryNetwork *network, const char *from, const char *to)
{
  if (g_hash_table_contains (network->paused, from) || g_hash_table_contains (network->paused, to))
    return TRUE;
  if (network->side_a == NULL)
    return FALSE;
  return (g_hash_table_contains (network->side_a, from)
          && g_hash_table_contains (network->side_b, to))
         || (g_hash_table_contains (network->side_b, from)
             && g_hash_table_contains (network->side_a, to));
}

static void
memory_frame_arrive (gpointer data)
{
  MemoryFrame *frame = data;
  GossipMemoryEndpoint *from = frame->from;
  GossipMemoryNetwork *network = from->network;
  GossipMemoryEndpoint *to;

  g_hash_table_remove (from->in_flight, frame);
  to = g_hash_table_lookup (network->endpoints, frame->to);
  /* A partition or pause that began while the frame was in flight still
   * takes datagrams; reliable frames already on the wire get through. */
  if (to == NULL || (!frame->reliable && is_cut (network, from->name, frame->to)))
    {
      network->lost++;
      return;
    }
  network->delivered++;
  if (frame->channel_tag != 0)
    {
      if (to->channel_func != NULL)
        to->channel_func (to->user_data, from->name, frame->channel_tag, frame->channel_id,
                          frame->bytes);
      return;
    }
  to->deliver (to->user_data, frame->reliable, from->name, frame->bytes);
}

static gboolean endpoint_send (GossipMemoryEndpoint *endpoint, const char *to, gboolean reliable,
                               GBytes *bytes, guint channel_tag, guint64 channel_id,
                               GError **error);

gboolean
_gossip_memory_endpoint_send (GossipMemoryEndpoint *endpoint, const char *to, gboolean reliable,
                              GBytes *bytes, GError **error)
{
  return endpoint_send (endpoint, to, reliable, bytes, 0, 0, error);
}

void
_gossip_memory_endpoint_set_channel_func (GossipMemoryEndpoint *endpoint,
                                          GossipMemoryChannelFunc func)
{
  endpoint->channel_func = func;
}

/* A channel message travels as a reliable frame does: FIFO with it, never
 * lost, refused (UNREACHABLE) while @to is gone, cut off or paused. */
gboolean
_gossip_memory_endpoint_send_channel (GossipMemoryEndpoint *endpoint, const char *to, guint tag,
                                      guint64 id, GBytes *frame, GError **error)
{
  g_return_val_if_fail (tag != 0, FALSE);
  return endpoint_send (endpoint, to, TRUE, frame, tag, id, error);
}

gboolean
_gossip_memory_endpoint_can_reach (GossipMemoryEndpoint *endpoint, const char *to)
{
  return g_hash_table_contains (endpoint->network->endpoints, to)
         && !is_cut (endpoint->network, endpoint->name, to);
}

static gboolean
endpoint_send (GossipMemoryEndpoint *endpoint, const char *to, gboolean reliable, GBytes *bytes,
               guint channel_tag, guint64 channel_id, GError **error)
{
  GossipMemoryNetwork *network = endpoint->network;
  g_autofree char *key = link_key (endpoint->name, to);
  MemoryLink *link = g_hash_table_lookup (network->links, key);
  double loss = link ? link->loss : network->default_loss;
  gint64 delay = link ? link->delay_us : network->default_delay_us;
  MemoryFrame *frame;

  if (reliable)
    {
      gint64 *last, due;

      if (!g_hash_table_contains (network->endpoints, to) || is_cut (network, endpoint->name, to))
        {
          g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                       "mem://%s/%s cannot reach %s", network->name, endpoint->name, to);
          return FALSE;
        }
      /* FIFO per direction: never deliver before an earlier reliable frame. */
      due = gossip_clock_now (endpoint->clock) + delay;
      last = g_hash_table_lookup (network->last_reliable, key);
      if (last == NULL)
        {
          last = g_new (gint64, 1);
          g_hash_table_insert (network->last_reliable, g_steal_pointer (&key), last);
        }
      else if (*last > due)
        due = *last;
      *last = due;
      delay = due - gossip_clock_now (endpoint->clock);
    }
  else
    {
      if (network->default_jitter_us > 0)
        delay += g_rand_int_range (network->rand, 0,
                                   (gint32) MIN (network->default_jitter_us, G_MAXINT32));
      if (is_cut (network, endpoint->name, to)
          || (loss > 0.0 && g_rand_double (network->rand) < loss))
        {
          network->lost++;
          return TRUE; /* a lost datagram is not an error the sender sees */
        }
    }

  frame = g_new0 (MemoryFrame, 1);
  frame->from = endpoint;
  frame->to = g_strdup (to);
  frame->reliable = reliable;
  frame->bytes = bytes != NULL ? g_bytes_ref (bytes) : NULL;
  frame->channel_tag = channel_tag;
  frame->channel_id = channel_id;
  g_hash_table_add (endpoint->in_flight, frame);
  frame->timer = gossip_clock_add_timer (endpoint->clock, delay, memory_frame_arrive, frame,
                                         memory_frame_free);
  return TRUE;
}
