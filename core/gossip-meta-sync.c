/* gossip-meta-sync.c: every node's metadata, spread to every node.
 *
 * A node is the only writer of its own metadata.  Each change advances the
 * map's version, a hybrid logical clock (wall-clock milliseconds << 16,
 * plus a counter), so the newest map always wins, also across restarts; and
 * it bumps the node's incarnation, so the change spreads as an ordinary
 * alive update.  Maps up to GOSSIP_META_INLINE_MAX bytes ride inline on
 * alive updates and push-pull records; larger ones (up to
 * `[messages] max_metadata_size`) carry only their version, and a node that
 * sees a newer version fetches the map from its owner over the reliable path.
 */
#include "config.h"

#include "gossip-cluster-private.h"

/* ------------------------------------------------------------------------ */
/* The local node */

static guint64
next_version (GossipCluster *self, guint64 at_least)
{
  guint64 physical = (guint64) MAX (gossip_clock_now_wall (self->clock) / 1000, 0) << 16;
  guint64 current = gossip_node_get_metadata_version (self->local->node);

  return MAX (MAX (physical, current + 1), at_least + 1);
}

static void
publish (gpointer data)
{
  GossipCluster *self = data;

  self->meta_publish_timer = 0;
  _gossip_membership_announce (self);
}

/* Changes in one main-loop turn go out as one update. */
static void
schedule_publish (GossipCluster *self)
{
  if (self->running && self->meta_publish_timer == 0)
    self->meta_publish_timer = gossip_clock_add_timer (self->clock, 0, publish, self, NULL);
}

/* A previous life of this node had a newer map: move past it. */
void
_gossip_meta_local_claim (GossipCluster *self, guint64 meta_version)
{
  GossipNode *n = self->local->node;

  _gossip_node_set_metadata (n, _gossip_metadata_copy (_gossip_node_get_meta (n)),
                             next_version (self, meta_version));
  schedule_publish (self);
}

void
_gossip_meta_stop (GossipCluster *self)
{
  gossip_clock_clear_timer (self->clock, &self->meta_publish_timer);
}

/* Applies one change to a copy of the local map, checks the limit, and
 * installs it.  @value NULL deletes @key. */
static gboolean
change_local (GossipCluster *self, const char *key, GossipMetaType type, GVariant *value,
              GError **error)
{
  GossipNode *n = self->local->node;
  g_autoptr (GVariant) owned = value ? g_variant_ref_sink (value) : NULL;
  g_autoptr (GossipMetadata) md = NULL;
  g_autoptr (GError) local = NULL;

  if (!_gossip_metadata_check_key (key, &local))
    {
      g_set_error_literal (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_INVALID,
                           local->message);
      return FALSE;
    }
  md = _gossip_metadata_copy (_gossip_node_get_meta (n));
  if (owned != NULL)
    _gossip_metadata_set (md, key, type, owned);
  else if (!_gossip_metadata_remove (md, key))
    return TRUE; /* nothing to delete */
  if (_gossip_metadata_size (md) > GOSSIP_META_MAX_KEYS)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TOO_BIG,
                   "metadata may have at most %d keys", GOSSIP_META_MAX_KEYS);
      return FALSE;
    }
  if (_gossip_metadata_wire_size (md) > self->max_metadata_size)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TOO_BIG,
                   "setting \"%s\" would make the metadata %" G_GSIZE_FORMAT
                   " bytes; [messages] max_metadata_size is %" G_GSIZE_FORMAT,
                   key, _gossip_metadata_wire_size (md), self->max_metadata_size);
      return FALSE;
    }
  if (_gossip_metadata_equal (md, _gossip_node_get_meta (n)))
    return TRUE;
  _gossip_node_set_metadata (n, g_steal_pointer (&md), next_version (self, 0));
  self->counters[GOSSIP_COUNTER_META_CHANGES]++;
  _gossip_cluster_emit_metadata_changed (self, n);
  schedule_publish (self);
  return TRUE;
}

/**
 * gossip_cluster_set_meta_string:
 * @cluster: a cluster (running or not)
 * @key: 1 to 128 bytes of UTF-8 without control characters
 * @value: the value
 * @error: return location for a #GError
 *
 * Sets a metadata value of the local node; it spreads to every node, which
 * emits #GossipCluster::node-metadata-changed.  Changes made in one
 * main-loop turn spread as one update.  Fails with
 * %GOSSIP_CLUSTER_ERROR_INVALID for a bad key and
 * %GOSSIP_CLUSTER_ERROR_TOO_BIG beyond `[messages] max_metadata_size`; the
 * map is then unchanged.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_cluster_set_meta_string (GossipCluster *self, const char *key, const char *value,
                                GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (value != NULL && g_utf8_validate (value, -1, NULL), FALSE);
  return change_local (self, key, GOSSIP_META_TYPE_STRING, g_variant_new_string (value), error);
}

/**
 * gossip_cluster_set_meta_boolean:
 * @cluster: a cluster
 * @key: a metadata key
 * @value: the value
 * @error: return location for a #GError
 *
 * As gossip_cluster_set_meta_string(), for a boolean.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_cluster_set_meta_boolean (GossipCluster *self, const char *key, gboolean value,
                                 GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return change_local (self, key, GOSSIP_META_TYPE_BOOLEAN, g_variant_new_boolean (value), error);
}

/**
 * gossip_cluster_set_meta_int64:
 * @cluster: a cluster
 * @key: a metadata key
 * @value: the value
 * @error: return location for a #GError
 *
 * As gossip_cluster_set_meta_string(), for a signed integer.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_cluster_set_meta_int64 (GossipCluster *self, const char *key, gint64 value, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return change_local (self, key, GOSSIP_META_TYPE_INT64, g_variant_new_int64 (value), error);
}

/**
 * gossip_cluster_set_meta_uint64:
 * @cluster: a cluster
 * @key: a metadata key
 * @value: the value
 * @error: return location for a #GError
 *
 * As gossip_cluster_set_meta_string(), for an unsigned integer.  The JSON
 * codec cannot carry values above 2^53: with it, such a value makes the
 * node's updates fail to encode.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_cluster_set_meta_uint64 (GossipCluster *self, const char *key, guint64 value, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return change_local (self, key, GOSSIP_META_TYPE_UINT64, g_variant_new_uint64 (value), error);
}

/**
 * gossip_cluster_set_meta_double:
 * @cluster: a cluster
 * @key: a metadata key
 * @value: the value
 * @error: return location for a #GError
 *
 * As gossip_cluster_set_meta_string(), for a double.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_cluster_set_meta_double (GossipCluster *self, const char *key, gdouble value, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return change_local (self, key, GOSSIP_META_TYPE_DOUBLE, g_variant_new_double (value), error);
}

/**
 * gossip_cluster_set_meta_timestamp:
 * @cluster: a cluster
 * @key: a metadata key
 * @value: the time (kept to the microsecond, as UTC)
 * @error: return location for a #GError
 *
 * As gossip_cluster_set_meta_string(), for a point in time.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_cluster_set_meta_timestamp (GossipCluster *self, const char *key, GDateTime *value,
                                   GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  return change_local (self, key, GOSSIP_META_TYPE_TIMESTAMP,
                       g_variant_new_int64 (g_date_time_to_unix (value) * G_USEC_PER_SEC
                                            + g_date_time_get_microsecond (value)),
                       error);
}

/**
 * gossip_cluster_set_meta_bytes:
 * @cluster: a cluster
 * @key: a metadata key
 * @value: the bytes
 * @error: return location for a #GError
 *
 * As gossip_cluster_set_meta_string(), for a byte string.
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_cluster_set_meta_bytes (GossipCluster *self, const char *key, GBytes *value, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  return change_local (self, key, GOSSIP_META_TYPE_BYTES,
                       g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, value, TRUE), error);
}

/**
 * gossip_cluster_delete_meta:
 * @cluster: a cluster
 * @key: a metadata key
 * @error: return location for a #GError
 *
 * Removes @key from the local node's metadata (nothing happens if absent).
 *
 * Returns: %TRUE on success
 */
gboolean
gossip_cluster_delete_meta (GossipCluster *self, const char *key, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return change_local (self, key, GOSSIP_META_TYPE_NONE, NULL, error);
}

/* ------------------------------------------------------------------------ */
/* Other nodes */

static void
apply (GossipCluster *self, GossipMember *m, GVariant *wire, guint64 version, const char *from)
{
  g_autoptr (GError) error = NULL;
  GossipMetadata *md = _gossip_metadata_from_wire (wire, self->max_metadata_size, &error);
  gboolean changed;

  if (md == NULL)
    {
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_METADATA, from, "metadata of %s: %s",
                                gossip_node_get_id (m->node), error->message);
      return;
    }
  changed = !_gossip_metadata_equal (md, _gossip_node_get_meta (m->node));
  _gossip_node_set_metadata (m->node, md, version);
  if (changed)
    {
      self->counters[GOSSIP_COUNTER_META_CHANGES]++;
      _gossip_cluster_emit_metadata_changed (self, m->node);
    }
}

typedef struct
{
  GossipCluster *cluster;
  guint64 seq;
  guint timer;
} Fetch;

static void
fetch_destroy (gpointer data)
{
  Fetch *f = data;

  gossip_clock_clear_timer (f->cluster->clock, &f->timer);
  g_free (f);
}

static void
fetch_timed_out (gpointer data)
{
  Fetch *f = data;

  f->timer = 0;
  _gossip_cluster_remove_pending (f->cluster, f->seq);
}

static void
fetch_reply (GossipCluster *self, GossipPending *pending, const GossipMsg *reply)
{
  Fetch *f = pending->data;
  GossipMember *m = _gossip_membership_lookup (self, reply->node);

  if (reply->type == GOSSIP_MSG_META_REPLY && m != NULL && m != self->local
      && reply->metadata != NULL
      && reply->meta_version > gossip_node_get_metadata_version (m->node))
    apply (self, m, reply->metadata, reply->meta_version, reply->from);
  if (m != NULL)
    m->meta_fetching = 0;
  _gossip_cluster_remove_pending (self, f->seq);
}

static void
fetch (GossipCluster *self, GossipMember *m, guint64 version)
{
  gint64 now = gossip_clock_now (self->clock);
  Fetch *f;

  /* One fetch per member at a time; a fetch that got lost is retried
   * after io_timeout by the next update that names the version. */
  if (m->meta_fetching >= version && now - m->meta_fetch_started < self->io_timeout)
    return;
  if (m->route == NULL)
    return; /* none of our transports reaches it: inline metadata only */
  f = g_new0 (Fetch, 1);
  f->cluster = self;
  f->seq = _gossip_cluster_next_seq (self);
  _gossip_cluster_add_pending (self, f->seq, fetch_reply, f, fetch_destroy);
  f->timer = gossip_clock_add_timer (self->clock, self->io_timeout, fetch_timed_out, f, NULL);
  m->meta_fetching = version;
  m->meta_fetch_started = now;
  self->counters[GOSSIP_COUNTER_META_FETCHES]++;
  _gossip_cluster_send (
      self, m->route,
      _gossip_msg_meta_request (f->seq, self->node_id, gossip_node_get_id (m->node)), TRUE, FALSE,
      NULL, NULL);
}

/* An alive update or record named @m's metadata version: take the map if
 * it came inline, else fetch it. */
void
_gossip_meta_observe (GossipCluster *self, GossipMember *m, const GossipUpdate *u, const char *via)
{
  g_autoptr (GVariant) wire = NULL;

  if (m == self->local || u->meta_version <= gossip_node_get_metadata_version (m->node))
    return;
  if (u->source != NULL)
    wire = g_variant_lookup_value (u->source, "m", NULL);
  if (wire != NULL)
    apply (self, m, wire, u->meta_version, via ? via : u->node);
  else if (gossip_node_get_state (m->node) == GOSSIP_NODE_STATE_ALIVE)
    fetch (self, m, u->meta_version);
}

/* Any node answers for itself and for the members it knows. */
void
_gossip_meta_handle_request (GossipCluster *self, GossipTransportPath path, const char *from,
                             const GossipMsg *msg)
{
  GossipMember *m = _gossip_membership_lookup (self, msg->node);

  if (path != GOSSIP_TRANSPORT_PATH_RELIABLE)
    {
      _gossip_cluster_log_drop (self, GOSSIP_COUNTER_DROPPED_MALFORMED, from,
                                "metadata request by datagram");
      return;
    }
  _gossip_cluster_send (self, from,
                        _gossip_msg_meta_reply (
                            msg->seq, self->node_id, msg->node,
                            m ? gossip_node_get_metadata_version (m->node) : 0,
                            m ? _gossip_metadata_to_wire (_gossip_node_get_meta (m->node)) : NULL),
                        TRUE, FALSE, NULL, NULL);
}
