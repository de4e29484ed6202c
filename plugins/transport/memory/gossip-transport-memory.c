/* gossip-transport-memory.c: the in-process transport.
 *
 * Binds "mem://NETWORK/NAME" on a GossipMemoryNetwork (see
 * gossip-memory-network.h); frames travel through the sender's GossipClock,
 * so a cluster on a GossipManualClock runs in virtual time.  Size limits are
 * enforced exactly as the socket transport enforces them, so tests on memory
 * see the same refusals a deployment would.
 */
#include "config.h"

#include <gmodule.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-transport.h"
#include "gossip-memory-network-private.h"

typedef struct
{
  GossipClock *clock;
  GMainContext *context;
  char *network_name;
  char *name;
  GossipMemoryEndpoint *endpoint;
  gboolean datagrams;
  gsize max_datagram_size;
  gsize max_frame_size;
  GossipTransportCallbacks callbacks;
  gpointer user_data;
  GHashTable *pending_done; /* PendingDone set, completions not yet reported */
} MemoryTransport;

typedef struct
{
  MemoryTransport *self;
  GossipTransportSendFunc done;
  gpointer user_data;
  GError *error;
  guint timer;
} PendingDone;

static void
memory_deliver (gpointer user_data, gboolean reliable, const char *from, GBytes *frame)
{
  MemoryTransport *self = user_data;
  g_autofree char *address = g_strdup_printf ("mem://%s/%s", self->network_name, from);
  gsize limit = reliable ? self->max_frame_size : self->max_datagram_size;

  if (!reliable && !self->datagrams)
    return; /* no datagram socket: the frame falls on the floor */
  if (g_bytes_get_size (frame) > limit)
    {
      g_autoptr (GError) error = g_error_new (
          GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
          "%" G_GSIZE_FORMAT "-byte frame exceeds the %" G_GSIZE_FORMAT "-byte limit",
          g_bytes_get_size (frame), limit);
      self->callbacks.dropped (self->user_data, address, error);
      return;
    }
  self->callbacks.received (
      self->user_data, reliable ? GOSSIP_TRANSPORT_PATH_RELIABLE : GOSSIP_TRANSPORT_PATH_DATAGRAM,
      address, frame);
}

static void
memory_destroy (gpointer data)
{
  MemoryTransport *self = data;
  GHashTableIter iter;
  gpointer pending;

  if (self == NULL)
    return;
  g_hash_table_iter_init (&iter, self->pending_done);
  while (g_hash_table_iter_next (&iter, &pending, NULL))
    {
      guint timer = ((PendingDone *) pending)->timer;
      g_hash_table_iter_steal (&iter);
      gossip_clock_remove_timer (self->clock, timer);
    }
  g_hash_table_unref (self->pending_done);
  _gossip_memory_endpoint_detach (self->endpoint);
  g_object_unref (self->clock);
  g_main_context_unref (self->context);
  g_free (self->network_name);
  g_free (self->name);
  g_free (self);
}

static gpointer
memory_create (const GossipTransportParams *params, GError **error)
{
  g_autofree char *network_name = NULL, *name = NULL;
  g_autoptr (GossipMemoryNetwork) network = NULL;
  MemoryTransport *self;

  if (params->struct_size < G_STRUCT_OFFSET (GossipTransportParams, user_data) + sizeof (gpointer))
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS,
                   "transport parameters from an incompatible core");
      return NULL;
    }
  if (!_gossip_memory_parse_address (params->bind_address, &network_name, &name, error))
    return NULL;

  self = g_new0 (MemoryTransport, 1);
  self->clock = g_object_ref (params->clock);
  self->context = g_main_context_ref (params->context);
  self->datagrams = params->datagrams;
  self->max_datagram_size = params->max_datagram_size;
  self->max_frame_size = params->max_frame_size;
  self->callbacks = *params->callbacks;
  self->user_data = params->user_data;
  self->pending_done = g_hash_table_new (NULL, NULL);
  network = gossip_memory_network_get (network_name);
  self->endpoint
      = _gossip_memory_network_attach (network, name, self->clock, memory_deliver, self, error);
  self->network_name = g_steal_pointer (&network_name);
  self->name = g_steal_pointer (&name);
  if (self->endpoint == NULL)
    {
      g_hash_table_unref (self->pending_done);
      g_object_unref (self->clock);
      g_main_context_unref (self->context);
      g_free (self->network_name);
      g_free (self->name);
      g_free (self);
      return NULL;
    }
  return self;
}

static char *
memory_get_local_address (gpointer data)
{
  MemoryTransport *self = data;

  return g_strdup_printf ("mem://%s/%s", self->network_name, self->name);
}

/* Resolves @address to an endpoint name on our network. */
static char *
memory_peer_name (MemoryTransport *self, const char *address, GError **error)
{
  g_autofree char *network = NULL;
  char *name = NULL;

  if (!_gossip_memory_parse_address (address, &network, &name, error))
    return NULL;
  if (g_strcmp0 (network, self->network_name) != 0)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                   "%s is on another memory network than mem://%s", address, self->network_name);
      g_free (name);
      return NULL;
    }
  return name;
}

static gboolean
memory_send_datagram (gpointer data, const char *address, GBytes *frame, GError **error)
{
  MemoryTransport *self = data;
  g_autofree char *peer = NULL;

  if (!self->datagrams)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                   "datagrams are switched off");
      return FALSE;
    }
  if (g_bytes_get_size (frame) > self->max_datagram_size)
    {
      g_set_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                   "%" G_GSIZE_FORMAT "-byte datagram exceeds the %" G_GSIZE_FORMAT "-byte limit",
                   g_bytes_get_size (frame), self->max_datagram_size);
      return FALSE;
    }
  peer = memory_peer_name (self, address, error);
  if (peer == NULL)
    return FALSE;
  return _gossip_memory_endpoint_send (self->endpoint, peer, FALSE, frame, error);
}

static void
pending_done_fire (gpointer data)
{
  PendingDone *pending = data;

  g_hash_table_remove (pending->self->pending_done, pending);
  if (pending->done != NULL)
    pending->done (pending->user_data, pending->error);
}

static void
pending_done_free (gpointer data)
{
  PendingDone *pending = data;

  g_clear_error (&pending->error);
  g_free (pending);
}

static void
memory_send_reliable (gpointer data, const char *address, GBytes *frame,
                      GossipTransportSendFunc done, gpointer user_data)
{
  MemoryTransport *self = data;
  g_autofree char *peer = NULL;
  PendingDone *pending = g_new0 (PendingDone, 1);

  pending->self = self;
  pending->done = done;
  pending->user_data = user_data;
  if (g_bytes_get_size (frame) > self->max_frame_size)
    g_set_error (&pending->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                 "%" G_GSIZE_FORMAT "-byte frame exceeds the %" G_GSIZE_FORMAT "-byte limit",
                 g_bytes_get_size (frame), self->max_frame_size);
  else if ((peer = memory_peer_name (self, address, &pending->error)) != NULL)
    _gossip_memory_endpoint_send (self->endpoint, peer, TRUE, frame, &pending->error);

  /* Completion is always reported later, on the clock. */
  g_hash_table_add (self->pending_done, pending);
  pending->timer
      = gossip_clock_add_timer (self->clock, 0, pending_done_fire, pending, pending_done_free);
}

static const char *const memory_schemes[] = { "mem", NULL };

static const GossipTransportVTable memory_vtable = {
  .struct_size = sizeof (GossipTransportVTable),
  .schemes = memory_schemes,
  .create = memory_create,
  .destroy = memory_destroy,
  .get_local_address = memory_get_local_address,
  .send_datagram = memory_send_datagram,
  .send_reliable = memory_send_reliable,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_TRANSPORT, "memory", PACKAGE_VERSION,
                      "In-process network for tests and simulation (virtual time, loss, "
                      "partitions)",
                      NULL, &memory_vtable);
