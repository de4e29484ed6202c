/* gossip-transport-memory.c: the in-process transport.
 *
 * Binds "mem://NETWORK/NAME" on a GossipMemoryNetwork (see
 * gossip-memory-network.h); frames travel through the sender's GossipClock,
 * so a cluster on a GossipManualClock runs in virtual time.  Size limits are
 * enforced exactly as the socket transport enforces them, so tests on memory
 * see the same refusals a deployment would.
 *
 * Channels are messages on the network's reliable path (ordered with it,
 * delayed like it): OPEN, then FRAMEs both ways, ended by CLOSE (the peer
 * reports closed(NULL) after the frames before it), ABORT, or REFUSE from an
 * acceptor that does not take it.  Both ends name a channel by its opener's
 * endpoint name and the opener's counter.  A channel ends with UNREACHABLE
 * when a message cannot be sent, and when a check every LINK_CHECK_US finds
 * the other end gone, cut off by a partition or paused -- on both sides, as
 * each side checks.  Channels count toward max_connections.
 */
#include "config.h"

#include <gmodule.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-transport.h"
#include "gossip-memory-network-private.h"

/* How often open channels check that their peer is still reachable. */
#define LINK_CHECK_US (10 * 1000)

typedef enum
{
  MSG_OPEN = 1,
  MSG_FRAME,
  MSG_CLOSE,
  MSG_ABORT,
  MSG_REFUSE,
} ChannelMsg;

/* Set in a message's tag when the opener sent it. */
#define MSG_FROM_OPENER 0x100

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
  guint max_connections;
  GHashTable *channels; /* "opener/id" -> GossipTransportChannel (owned) */
  guint live_channels;  /* not ended */
  guint64 next_channel_id;
  guint link_timer;
} MemoryTransport;

struct _GossipTransportChannel
{
  int ref_count;
  MemoryTransport *self; /* NULL once the transport is destroyed */
  char *key;             /* "opener/id" */
  guint64 id;
  gboolean opened_here;
  char *peer;         /* the other end's endpoint name */
  char *peer_address; /* mem://NETWORK/peer */
  gboolean attached;
  gboolean ended;      /* over; closed() not reported yet unless owner_gone */
  gboolean owner_gone; /* closed by the owner, or told it ended */
  GError *end_error;
  guint end_timer;
  guint pending_dones;
  GossipTransportChannelCallbacks callbacks;
  gpointer user_data;
};

typedef struct
{
  MemoryTransport *self;
  GossipTransportSendFunc done;
  gpointer user_data;
  GError *error;
  guint timer;
  GossipTransportChannel *channel; /* owned; for a channel's send */
} PendingDone;

static void channel_unref (GossipTransportChannel *ch);
static void memory_channel_message (gpointer user_data, const char *from, guint tag, guint64 id,
                                    GBytes *frame);

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
  gossip_clock_clear_timer (self->clock, &self->link_timer);
  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, &pending))
    {
      GossipTransportChannel *ch = pending;

      gossip_clock_clear_timer (self->clock, &ch->end_timer);
      ch->self = NULL;
      ch->owner_gone = TRUE;
    }
  g_hash_table_unref (self->channels);
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
  self->channels
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) channel_unref);
  self->max_connections = params->max_connections > 0 ? params->max_connections : G_MAXUINT;
  network = gossip_memory_network_get (network_name);
  self->endpoint
      = _gossip_memory_network_attach (network, name, self->clock, memory_deliver, self, error);
  self->network_name = g_steal_pointer (&network_name);
  self->name = g_steal_pointer (&name);
  if (self->endpoint != NULL)
    _gossip_memory_endpoint_set_channel_func (self->endpoint, memory_channel_message);
  if (self->endpoint == NULL)
    {
      g_hash_table_unref (self->channels);
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
  /* A channel's owner hears nothing once it closed it or was told it ended. */
  if (pending->channel != NULL)
    {
      pending->channel->pending_dones--;
      if (pending->channel->owner_gone)
        return;
    }
  if (pending->done != NULL)
    pending->done (pending->user_data, pending->error);
}

static void
pending_done_free (gpointer data)
{
  PendingDone *pending = data;

  g_clear_error (&pending->error);
  if (pending->channel != NULL)
    channel_unref (pending->channel);
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

/* ------------------------------------------------------------------------ */
/* Channels */

static void
channel_unref (GossipTransportChannel *ch)
{
  if (--ch->ref_count > 0)
    return;
  g_clear_error (&ch->end_error);
  g_free (ch->key);
  g_free (ch->peer);
  g_free (ch->peer_address);
  g_free (ch);
}

static GossipTransportChannel *
channel_new (MemoryTransport *self, const char *opener, guint64 id, const char *peer)
{
  GossipTransportChannel *ch = g_new0 (GossipTransportChannel, 1);

  ch->ref_count = 1; /* self->channels' */
  ch->self = self;
  ch->id = id;
  ch->key = g_strdup_printf ("%s/%" G_GUINT64_FORMAT, opener, id);
  ch->peer = g_strdup (peer);
  ch->peer_address = g_strdup_printf ("mem://%s/%s", self->network_name, peer);
  g_hash_table_insert (self->channels, ch->key, ch);
  self->live_channels++;
  return ch;
}

/* Sends a message about @ch to its other end. */
static gboolean
channel_message (GossipTransportChannel *ch, ChannelMsg msg, GBytes *frame, GError **error)
{
  MemoryTransport *self = ch->self;

  return _gossip_memory_endpoint_send_channel (self->endpoint, ch->peer,
                                               msg | (ch->opened_here ? MSG_FROM_OPENER : 0),
                                               ch->id, frame, error);
}

/* The owner is done with @ch: it leaves the table. */
static void
channel_forget (GossipTransportChannel *ch)
{
  MemoryTransport *self = ch->self;

  ch->owner_gone = TRUE;
  gossip_clock_clear_timer (self->clock, &ch->end_timer);
  g_hash_table_remove (self->channels, ch->key);
}

static void
channel_report_end (gpointer data)
{
  GossipTransportChannel *ch = data;
  GossipTransportChannelCallbacks callbacks = ch->callbacks;
  gpointer user_data = ch->user_data;
  GError *error;

  ch->end_timer = 0;
  /* closed() comes after the done reports still pending. */
  if (ch->pending_dones > 0)
    {
      ch->end_timer = gossip_clock_add_timer (ch->self->clock, 0, channel_report_end, ch, NULL);
      return;
    }
  error = g_steal_pointer (&ch->end_error);
  ch->ref_count++;
  channel_forget (ch);
  callbacks.closed (user_data, error);
  g_clear_error (&error);
  channel_unref (ch);
}

/* @ch is over (@error taken, NULL: cleanly); its owner hears it later. */
static void
channel_end (GossipTransportChannel *ch, GError *error)
{
  MemoryTransport *self = ch->self;

  if (ch->ended)
    {
      g_clear_error (&error);
      return;
    }
  ch->ended = TRUE;
  self->live_channels--;
  ch->end_error = error;
  if (!ch->owner_gone && ch->attached)
    ch->end_timer = gossip_clock_add_timer (self->clock, 0, channel_report_end, ch, NULL);
}

static void
link_check (gpointer data)
{
  MemoryTransport *self = data;
  GHashTableIter iter;
  gpointer value;

  self->link_timer = 0;
  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GossipTransportChannel *ch = value;

      if (!ch->ended && !_gossip_memory_endpoint_can_reach (self->endpoint, ch->peer))
        channel_end (ch, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                      "the channel to %s is cut off", ch->peer_address));
    }
  if (self->live_channels > 0)
    self->link_timer = gossip_clock_add_timer (self->clock, LINK_CHECK_US, link_check, self, NULL);
}

static void
link_check_start (MemoryTransport *self)
{
  if (self->link_timer == 0)
    self->link_timer = gossip_clock_add_timer (self->clock, LINK_CHECK_US, link_check, self, NULL);
}

static void
channel_accept (MemoryTransport *self, const char *from, guint64 id)
{
  g_autofree char *key = g_strdup_printf ("%s/%" G_GUINT64_FORMAT, from, id);
  GossipTransportChannel *ch;
  gboolean accepted;

  if (g_hash_table_contains (self->channels, key))
    return;
  ch = channel_new (self, from, id, from);
  if (self->live_channels > self->max_connections)
    {
      g_autoptr (GError) error = g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                                              "refused a channel from %s: %u connections are open",
                                              ch->peer_address, self->max_connections);

      self->callbacks.dropped (self->user_data, ch->peer_address, error);
      accepted = FALSE;
    }
  else if (self->callbacks.channel_accepted == NULL)
    accepted = FALSE;
  else
    {
      ch->ref_count++;
      accepted = self->callbacks.channel_accepted (self->user_data, ch->peer_address, ch);
      if (ch->self == NULL || ch->owner_gone)
        {
          channel_unref (ch); /* destroyed or closed meanwhile */
          return;
        }
      channel_unref (ch);
      if (accepted && !ch->attached)
        {
          g_warning ("a channel from %s was accepted but not attached; closing it",
                     ch->peer_address);
          accepted = FALSE;
        }
    }
  if (accepted)
    {
      link_check_start (self);
      return;
    }
  channel_message (ch, MSG_REFUSE, NULL, NULL);
  channel_end (ch, NULL);
  channel_forget (ch);
}

static void
memory_channel_message (gpointer user_data, const char *from, guint tag, guint64 id, GBytes *frame)
{
  MemoryTransport *self = user_data;
  g_autofree char *key = NULL;
  GossipTransportChannel *ch;
  ChannelMsg msg = tag & ~MSG_FROM_OPENER;

  if (msg == MSG_OPEN)
    {
      channel_accept (self, from, id);
      return;
    }
  key = (tag & MSG_FROM_OPENER) ? g_strdup_printf ("%s/%" G_GUINT64_FORMAT, from, id)
                                : g_strdup_printf ("%s/%" G_GUINT64_FORMAT, self->name, id);
  ch = g_hash_table_lookup (self->channels, key);
  if (ch == NULL || ch->ended || ch->owner_gone)
    return; /* a channel that is over here */
  switch (msg)
    {
    case MSG_FRAME:
      if (g_bytes_get_size (frame) > self->max_frame_size)
        {
          g_autoptr (GError) error = g_error_new (
              GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
              "%" G_GSIZE_FORMAT "-byte frame exceeds the %" G_GSIZE_FORMAT "-byte limit",
              g_bytes_get_size (frame), self->max_frame_size);

          self->callbacks.dropped (self->user_data, ch->peer_address, error);
          channel_message (ch, MSG_ABORT, NULL, NULL);
          channel_end (ch, g_error_copy (error));
          return;
        }
      ch->callbacks.received (ch->user_data, frame);
      break;
    case MSG_CLOSE:
      channel_end (ch, NULL);
      break;
    case MSG_ABORT:
      channel_end (ch, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                    "the channel was reset by %s", ch->peer_address));
      break;
    case MSG_REFUSE:
      channel_end (ch, g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                                    "%s refused the channel", ch->peer_address));
      break;
    default:
      break;
    }
}

static GossipTransportChannel *
memory_channel_open (gpointer data, const char *address,
                     const GossipTransportChannelCallbacks *callbacks, gpointer user_data,
                     GError **error)
{
  MemoryTransport *self = data;
  g_autofree char *network = NULL, *peer = NULL;
  GossipTransportChannel *ch;
  GError *local_error = NULL;

  g_return_val_if_fail (callbacks != NULL, NULL);
  if (!_gossip_memory_parse_address (address, &network, &peer, error))
    return NULL;
  ch = channel_new (self, self->name, ++self->next_channel_id, peer);
  ch->opened_here = TRUE;
  ch->attached = TRUE;
  ch->callbacks = *callbacks;
  ch->user_data = user_data;
  if (g_strcmp0 (network, self->network_name) != 0)
    local_error = g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE,
                               "%s is on another memory network than mem://%s", address,
                               self->network_name);
  else if (self->live_channels > self->max_connections)
    local_error = g_error_new (GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT,
                               "cannot open a channel to %s: %u connections are open", address,
                               self->max_connections);
  else
    channel_message (ch, MSG_OPEN, NULL, &local_error);
  if (local_error != NULL)
    channel_end (ch, local_error);
  else
    link_check_start (self);
  return ch;
}

static void
memory_channel_attach (gpointer data, GossipTransportChannel *ch,
                       const GossipTransportChannelCallbacks *callbacks, gpointer user_data)
{
  g_return_if_fail (callbacks != NULL && !ch->attached);
  ch->callbacks = *callbacks;
  ch->user_data = user_data;
  ch->attached = TRUE;
}

static void
memory_channel_send (gpointer data, GossipTransportChannel *ch, GBytes *frame,
                     GossipTransportSendFunc done, gpointer user_data)
{
  MemoryTransport *self = data;
  PendingDone *pending;

  g_return_if_fail (!ch->owner_gone);
  pending = g_new0 (PendingDone, 1);
  pending->self = self;
  pending->done = done;
  pending->user_data = user_data;
  if (g_bytes_get_size (frame) > self->max_frame_size)
    g_set_error (&pending->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG,
                 "%" G_GSIZE_FORMAT "-byte frame exceeds the %" G_GSIZE_FORMAT "-byte limit",
                 g_bytes_get_size (frame), self->max_frame_size);
  else if (ch->ended)
    g_set_error (&pending->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                 "the channel to %s has ended", ch->peer_address);
  else if (!channel_message (ch, MSG_FRAME, frame, &pending->error))
    channel_end (ch, g_error_copy (pending->error));

  pending->channel = ch;
  ch->ref_count++;
  ch->pending_dones++;
  g_hash_table_add (self->pending_done, pending);
  pending->timer
      = gossip_clock_add_timer (self->clock, 0, pending_done_fire, pending, pending_done_free);
}

static void
memory_channel_close (gpointer data, GossipTransportChannel *ch, gboolean abort)
{
  if (ch->owner_gone)
    return;
  if (!ch->ended)
    {
      channel_message (ch, abort ? MSG_ABORT : MSG_CLOSE, NULL, NULL);
      channel_end (ch, NULL);
    }
  channel_forget (ch);
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
  .channel_open = memory_channel_open,
  .channel_attach = memory_channel_attach,
  .channel_send = memory_channel_send,
  .channel_close = memory_channel_close,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_TRANSPORT, "memory", PACKAGE_VERSION,
                      "In-process network for tests and simulation (virtual time, loss, "
                      "partitions)",
                      NULL, &memory_vtable);
