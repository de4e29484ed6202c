/* gossip-node.c: one member as the local node sees it.
 *
 * Nodes are owned by their cluster and updated only on its context; the
 * application reads them (and holds references to them) but never writes.
 */
#include "config.h"

#include "gossip/gossip-node.h"
#include "gossip-node-private.h"
#include "gossip-metadata.h"

struct _GossipNode
{
  GObject parent_instance;
  char *id;
  char *address;
  char *extra;      /* the other transports' addresses, space-separated, or NULL */
  char **addresses; /* address, then extra's, built on demand */
  GossipNodeState state;
  guint64 incarnation;
  guint protocol_version;
  char *app_version;
  gint64 state_changed_at;
  GossipMetadata *meta; /* never NULL */
  guint64 meta_version;
  GVariant *meta_plain; /* gossip_node_get_metadata()'s answer, built on demand */
  gboolean local;
};

G_DEFINE_FINAL_TYPE (GossipNode, gossip_node, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_ADDRESS,
  PROP_STATE,
  PROP_INCARNATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const GEnumValue state_values[] = {
  { GOSSIP_NODE_STATE_UNKNOWN, "GOSSIP_NODE_STATE_UNKNOWN", "unknown" },
  { GOSSIP_NODE_STATE_ALIVE, "GOSSIP_NODE_STATE_ALIVE", "alive" },
  { GOSSIP_NODE_STATE_SUSPECT, "GOSSIP_NODE_STATE_SUSPECT", "suspect" },
  { GOSSIP_NODE_STATE_DEAD, "GOSSIP_NODE_STATE_DEAD", "dead" },
  { GOSSIP_NODE_STATE_LEAVING, "GOSSIP_NODE_STATE_LEAVING", "leaving" },
  { 0, NULL, NULL },
};

GType
gossip_node_state_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GossipNodeState", state_values));
  return (GType) type;
}

/**
 * gossip_node_state_to_string:
 * @state: a #GossipNodeState
 *
 * Returns: "unknown", "alive", "suspect", "dead" or "leaving"
 */
const char *
gossip_node_state_to_string (GossipNodeState state)
{
  if ((guint) state > GOSSIP_NODE_STATE_LEAVING)
    return "invalid";
  return state_values[state].value_nick;
}

static void
gossip_node_finalize (GObject *object)
{
  GossipNode *self = GOSSIP_NODE (object);

  g_free (self->id);
  g_free (self->address);
  g_strfreev (self->addresses);
  g_free (self->extra);
  g_free (self->app_version);
  _gossip_metadata_free (self->meta);
  g_clear_pointer (&self->meta_plain, g_variant_unref);
  G_OBJECT_CLASS (gossip_node_parent_class)->finalize (object);
}

static void
gossip_node_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GossipNode *self = GOSSIP_NODE (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_INCARNATION:
      g_value_set_uint64 (value, self->incarnation);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gossip_node_class_init (GossipNodeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = gossip_node_finalize;
  object_class->get_property = gossip_node_get_property;

  /**
   * GossipNode:id:
   *
   * The node's unique ID (by default a UUIDv7).
   */
  properties[PROP_ID]
      = g_param_spec_string ("id", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * GossipNode:address:
   *
   * The address other nodes reach it at.
   */
  properties[PROP_ADDRESS] = g_param_spec_string ("address", NULL, NULL, NULL,
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * GossipNode:state:
   *
   * Its #GossipNodeState as this node believes it.
   */
  properties[PROP_STATE]
      = g_param_spec_enum ("state", NULL, NULL, GOSSIP_TYPE_NODE_STATE, GOSSIP_NODE_STATE_UNKNOWN,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * GossipNode:incarnation:
   *
   * The node's incarnation: it orders every claim made about the node.
   */
  properties[PROP_INCARNATION]
      = g_param_spec_uint64 ("incarnation", NULL, NULL, 0, G_MAXUINT64, 0,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
gossip_node_init (GossipNode *self)
{
  self->meta = _gossip_metadata_new ();
}

GossipNode *
_gossip_node_new (const char *id, const char *address, gboolean local)
{
  GossipNode *self = g_object_new (GOSSIP_TYPE_NODE, NULL);

  self->id = g_strdup (id);
  self->address = g_strdup (address);
  self->local = local;
  self->app_version = g_strdup ("");
  return self;
}

void
_gossip_node_set_address (GossipNode *node, const char *address)
{
  if (g_strcmp0 (node->address, address) == 0)
    return;
  g_free (node->address);
  node->address = g_strdup (address);
  g_clear_pointer (&node->addresses, g_strfreev);
  g_object_notify_by_pspec (G_OBJECT (node), properties[PROP_ADDRESS]);
}

/* Rebuilds addresses from address and extra: the advertised one first,
 * then the others, each once, at most GOSSIP_NODE_MAX_ADDRESSES. */
static void
rebuild_addresses (GossipNode *node)
{
  g_auto (GStrv) split = g_strsplit (node->extra ? node->extra : "", " ", -1);
  GPtrArray *all = g_ptr_array_new ();

  g_ptr_array_add (all, g_strdup (node->address ? node->address : ""));
  for (guint i = 0; split[i] != NULL && all->len < GOSSIP_NODE_MAX_ADDRESSES; i++)
    {
      gboolean seen = split[i][0] == '\0';

      for (guint j = 0; j < all->len && !seen; j++)
        seen = g_str_equal (all->pdata[j], split[i]);
      if (!seen)
        g_ptr_array_add (all, g_strdup (split[i]));
    }
  g_ptr_array_add (all, NULL);
  g_strfreev (node->addresses);
  node->addresses = (char **) g_ptr_array_free (all, FALSE);
}

/* @extra: the addresses of the node's other transports, space-separated
 * (their wire form, "ax"), or NULL. */
void
_gossip_node_set_extra_addresses (GossipNode *node, const char *extra)
{
  if (g_strcmp0 (node->extra, extra) == 0 && node->addresses != NULL)
    return;
  g_free (node->extra);
  node->extra = g_strdup (extra);
  rebuild_addresses (node);
}

/* Space-separated, or NULL: what goes on the wire. */
const char *
_gossip_node_get_extra_addresses (GossipNode *node)
{
  return node->extra;
}

/**
 * gossip_node_get_addresses:
 * @node: a node
 *
 * All the addresses the node can be reached at: its advertised address
 * first, then those of its other transports (a node listening on TCP/UDP
 * and on WebSocket has one of each).  A node sends to the first address
 * one of its own transports serves.
 *
 * Returns: (transfer none) (array zero-terminated=1): the addresses
 */
const char *const *
gossip_node_get_addresses (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), NULL);
  if (node->addresses == NULL)
    rebuild_addresses (node);
  return (const char *const *) node->addresses;
}

/* Bumped on every change of a node's state or incarnation in this process,
 * so a cluster can tell cheaply that its membership digest is still valid. */
static gint generation = 1;

guint
_gossip_node_get_generation (void)
{
  return (guint) g_atomic_int_get (&generation);
}

static void
bump_generation (void)
{
  g_atomic_int_inc (&generation);
}

void
_gossip_node_set_state (GossipNode *node, GossipNodeState state, gint64 now_wall)
{
  if (node->state == state)
    return;
  bump_generation ();
  node->state = state;
  node->state_changed_at = now_wall;
  g_object_notify_by_pspec (G_OBJECT (node), properties[PROP_STATE]);
}

void
_gossip_node_set_incarnation (GossipNode *node, guint64 incarnation)
{
  if (node->incarnation == incarnation)
    return;
  bump_generation ();
  node->incarnation = incarnation;
  g_object_notify_by_pspec (G_OBJECT (node), properties[PROP_INCARNATION]);
}

void
_gossip_node_set_versions (GossipNode *node, guint protocol_version, const char *app_version)
{
  node->protocol_version = protocol_version;
  if (g_strcmp0 (node->app_version, app_version) != 0)
    {
      g_free (node->app_version);
      node->app_version = g_strdup (app_version ? app_version : "");
    }
}

/* Takes @metadata. */
void
_gossip_node_set_metadata (GossipNode *node, GossipMetadata *metadata, guint64 version)
{
  bump_generation ();
  _gossip_metadata_free (node->meta);
  node->meta = metadata;
  node->meta_version = version;
  g_clear_pointer (&node->meta_plain, g_variant_unref);
}

GossipMetadata *
_gossip_node_get_meta (GossipNode *node)
{
  return node->meta;
}

/** gossip_node_get_id: @node: a node. Returns: (transfer none): its unique ID */
const char *
gossip_node_get_id (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), NULL);
  return node->id;
}

/** gossip_node_get_address: @node: a node. Returns: (transfer none): its advertised address */
const char *
gossip_node_get_address (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), NULL);
  return node->address;
}

/** gossip_node_get_state: @node: a node. Returns: its state as this node believes it */
GossipNodeState
gossip_node_get_state (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), GOSSIP_NODE_STATE_UNKNOWN);
  return node->state;
}

/** gossip_node_get_incarnation: @node: a node. Returns: its incarnation number */
guint64
gossip_node_get_incarnation (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), 0);
  return node->incarnation;
}

/** gossip_node_get_protocol_version: @node: a node. Returns: the protocol version it speaks */
guint
gossip_node_get_protocol_version (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), 0);
  return node->protocol_version;
}

/**
 * gossip_node_get_app_version:
 * @node: a node
 *
 * Returns: (transfer none): the application version it announced ("" if none)
 */
const char *
gossip_node_get_app_version (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), NULL);
  return node->app_version;
}

/**
 * gossip_node_get_state_changed_at:
 * @node: a node
 *
 * Returns: wall-clock time (µs since the epoch, from the cluster's clock) of
 *   the last state change, 0 if it never changed
 */
gint64
gossip_node_get_state_changed_at (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), 0);
  return node->state_changed_at;
}

/**
 * gossip_node_get_metadata:
 * @node: a node
 *
 * The whole map as plain values (`a{sv}` of s, b, x, t, d and ay; a
 * timestamp appears as its int64 microseconds since the epoch, so use
 * gossip_node_get_meta_type() to tell it from an int64).
 *
 * Returns: (transfer none): the node's metadata map, empty if it has none
 */
GVariant *
gossip_node_get_metadata (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), NULL);
  if (node->meta_plain == NULL)
    node->meta_plain = _gossip_metadata_to_plain (node->meta);
  return node->meta_plain;
}

/**
 * gossip_node_get_metadata_version:
 * @node: a node
 *
 * Returns: the version of the node's metadata: a hybrid logical clock the
 *   node advances on every change (0 before it ever set any)
 */
guint64
gossip_node_get_metadata_version (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), 0);
  return node->meta_version;
}

/**
 * gossip_node_list_meta_keys:
 * @node: a node
 *
 * Returns: (transfer full) (array zero-terminated=1): the metadata keys, sorted
 */
char **
gossip_node_list_meta_keys (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), NULL);
  return _gossip_metadata_keys (node->meta);
}

/**
 * gossip_node_get_meta_type:
 * @node: a node
 * @key: a metadata key
 *
 * Returns: the type of the value under @key, %GOSSIP_META_TYPE_NONE if there is none
 */
GossipMetaType
gossip_node_get_meta_type (GossipNode *node, const char *key)
{
  GossipMetaType type;

  g_return_val_if_fail (GOSSIP_IS_NODE (node), GOSSIP_META_TYPE_NONE);
  _gossip_metadata_lookup (node->meta, key, &type);
  return type;
}

static GVariant *
lookup_typed (GossipNode *node, const char *key, GossipMetaType want)
{
  GossipMetaType type;
  GVariant *v = _gossip_metadata_lookup (node->meta, key, &type);

  return type == want ? v : NULL;
}

/**
 * gossip_node_get_meta_string:
 * @node: a node
 * @key: a metadata key
 * @default_value: (nullable): returned when @key is absent or not a string
 *
 * Returns: (transfer none) (nullable): the string under @key
 */
const char *
gossip_node_get_meta_string (GossipNode *node, const char *key, const char *default_value)
{
  GVariant *v;

  g_return_val_if_fail (GOSSIP_IS_NODE (node), default_value);
  v = lookup_typed (node, key, GOSSIP_META_TYPE_STRING);
  return v ? g_variant_get_string (v, NULL) : default_value;
}

/**
 * gossip_node_get_meta_boolean:
 * @node: a node
 * @key: a metadata key
 * @default_value: returned when @key is absent or not a boolean
 *
 * Returns: the boolean under @key
 */
gboolean
gossip_node_get_meta_boolean (GossipNode *node, const char *key, gboolean default_value)
{
  GVariant *v;

  g_return_val_if_fail (GOSSIP_IS_NODE (node), default_value);
  v = lookup_typed (node, key, GOSSIP_META_TYPE_BOOLEAN);
  return v ? g_variant_get_boolean (v) : default_value;
}

/**
 * gossip_node_get_meta_int64:
 * @node: a node
 * @key: a metadata key
 * @default_value: returned when @key is absent or not an int64
 *
 * Returns: the int64 under @key
 */
gint64
gossip_node_get_meta_int64 (GossipNode *node, const char *key, gint64 default_value)
{
  GVariant *v;

  g_return_val_if_fail (GOSSIP_IS_NODE (node), default_value);
  v = lookup_typed (node, key, GOSSIP_META_TYPE_INT64);
  return v ? g_variant_get_int64 (v) : default_value;
}

/**
 * gossip_node_get_meta_uint64:
 * @node: a node
 * @key: a metadata key
 * @default_value: returned when @key is absent or not a uint64
 *
 * Returns: the uint64 under @key
 */
guint64
gossip_node_get_meta_uint64 (GossipNode *node, const char *key, guint64 default_value)
{
  GVariant *v;

  g_return_val_if_fail (GOSSIP_IS_NODE (node), default_value);
  v = lookup_typed (node, key, GOSSIP_META_TYPE_UINT64);
  return v ? g_variant_get_uint64 (v) : default_value;
}

/**
 * gossip_node_get_meta_double:
 * @node: a node
 * @key: a metadata key
 * @default_value: returned when @key is absent or not a double
 *
 * Returns: the double under @key
 */
gdouble
gossip_node_get_meta_double (GossipNode *node, const char *key, gdouble default_value)
{
  GVariant *v;

  g_return_val_if_fail (GOSSIP_IS_NODE (node), default_value);
  v = lookup_typed (node, key, GOSSIP_META_TYPE_DOUBLE);
  return v ? g_variant_get_double (v) : default_value;
}

/**
 * gossip_node_get_meta_timestamp:
 * @node: a node
 * @key: a metadata key
 *
 * Returns: (transfer full) (nullable): the timestamp under @key (UTC), or
 *   %NULL when @key is absent or not a timestamp
 */
GDateTime *
gossip_node_get_meta_timestamp (GossipNode *node, const char *key)
{
  GVariant *v;
  gint64 usec, sec;
  g_autoptr (GDateTime) whole = NULL;

  g_return_val_if_fail (GOSSIP_IS_NODE (node), NULL);
  v = lookup_typed (node, key, GOSSIP_META_TYPE_TIMESTAMP);
  if (v == NULL)
    return NULL;
  usec = g_variant_get_int64 (v);
  sec = usec / G_USEC_PER_SEC - (usec % G_USEC_PER_SEC < 0 ? 1 : 0);
  whole = g_date_time_new_from_unix_utc (sec);
  return whole ? g_date_time_add (whole, usec - sec * G_USEC_PER_SEC) : NULL;
}

/**
 * gossip_node_get_meta_bytes:
 * @node: a node
 * @key: a metadata key
 *
 * Returns: (transfer full) (nullable): the bytes under @key, or %NULL when
 *   @key is absent or not bytes
 */
GBytes *
gossip_node_get_meta_bytes (GossipNode *node, const char *key)
{
  GVariant *v;

  g_return_val_if_fail (GOSSIP_IS_NODE (node), NULL);
  v = lookup_typed (node, key, GOSSIP_META_TYPE_BYTES);
  return v ? g_variant_get_data_as_bytes (v) : NULL;
}

/** gossip_node_is_local: @node: a node. Returns: %TRUE for the cluster's own node */
gboolean
gossip_node_is_local (GossipNode *node)
{
  g_return_val_if_fail (GOSSIP_IS_NODE (node), FALSE);
  return node->local;
}
