/* gossip-metadata.c: a node's typed key/value map. */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "gossip/gossip-codec.h"
#include "gossip-metadata.h"

typedef struct
{
  GossipMetaType type;
  GVariant *value;
} Entry;

struct _GossipMetadata
{
  GHashTable *entries; /* key -> Entry */
  GVariant *wire;      /* cached wire form, or NULL */
};

/* Type codes on the wire: short, stable, codec-neutral. */
static const struct
{
  const char *code;
  const char *variant_type;
} meta_types[] = {
  [GOSSIP_META_TYPE_NONE] = { NULL, NULL },     [GOSSIP_META_TYPE_STRING] = { "s", "s" },
  [GOSSIP_META_TYPE_BOOLEAN] = { "b", "b" },    [GOSSIP_META_TYPE_INT64] = { "i", "x" },
  [GOSSIP_META_TYPE_UINT64] = { "u", "t" },     [GOSSIP_META_TYPE_DOUBLE] = { "d", "d" },
  [GOSSIP_META_TYPE_TIMESTAMP] = { "ts", "x" }, [GOSSIP_META_TYPE_BYTES] = { "y", "ay" },
};

const GVariantType *
_gossip_meta_type_variant_type (GossipMetaType type)
{
  g_return_val_if_fail (type > GOSSIP_META_TYPE_NONE && type <= GOSSIP_META_TYPE_BYTES, NULL);
  return G_VARIANT_TYPE (meta_types[type].variant_type);
}

static GossipMetaType
type_from_code (const char *code)
{
  for (guint i = GOSSIP_META_TYPE_STRING; i <= GOSSIP_META_TYPE_BYTES; i++)
    if (strcmp (meta_types[i].code, code) == 0)
      return (GossipMetaType) i;
  return GOSSIP_META_TYPE_NONE;
}

static void
entry_free (gpointer data)
{
  Entry *e = data;

  g_variant_unref (e->value);
  g_free (e);
}

GossipMetadata *
_gossip_metadata_new (void)
{
  GossipMetadata *md = g_new0 (GossipMetadata, 1);

  md->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  return md;
}

GossipMetadata *
_gossip_metadata_copy (const GossipMetadata *md)
{
  GossipMetadata *copy = _gossip_metadata_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, md->entries);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Entry *e = value;
      _gossip_metadata_set (copy, key, e->type, e->value);
    }
  return copy;
}

void
_gossip_metadata_free (GossipMetadata *md)
{
  if (md == NULL)
    return;
  g_hash_table_unref (md->entries);
  g_clear_pointer (&md->wire, g_variant_unref);
  g_free (md);
}

gboolean
_gossip_metadata_check_key (const char *key, GError **error)
{
  gsize len = key ? strlen (key) : 0;

  if (len == 0 || len > GOSSIP_META_MAX_KEY_LEN || !g_utf8_validate (key, (gssize) len, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "metadata key \"%.40s\" must be 1 to %d bytes of UTF-8", key ? key : "",
                   GOSSIP_META_MAX_KEY_LEN);
      return FALSE;
    }
  for (const char *p = key; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "metadata key \"%.40s\" contains a control character", key);
        return FALSE;
      }
  return TRUE;
}

void
_gossip_metadata_set (GossipMetadata *md, const char *key, GossipMetaType type, GVariant *value)
{
  Entry *e = g_new0 (Entry, 1);

  e->type = type;
  e->value = g_variant_ref_sink (value);
  g_hash_table_replace (md->entries, g_strdup (key), e);
  g_clear_pointer (&md->wire, g_variant_unref);
}

gboolean
_gossip_metadata_remove (GossipMetadata *md, const char *key)
{
  if (!g_hash_table_remove (md->entries, key))
    return FALSE;
  g_clear_pointer (&md->wire, g_variant_unref);
  return TRUE;
}

GVariant *
_gossip_metadata_lookup (const GossipMetadata *md, const char *key, GossipMetaType *type)
{
  Entry *e = md && key ? g_hash_table_lookup (md->entries, key) : NULL;

  if (type != NULL)
    *type = e ? e->type : GOSSIP_META_TYPE_NONE;
  return e ? e->value : NULL;
}

guint
_gossip_metadata_size (const GossipMetadata *md)
{
  return md ? g_hash_table_size (md->entries) : 0;
}

static gint
compare_keys (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char **
_gossip_metadata_keys (const GossipMetadata *md)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  if (md != NULL)
    {
      g_hash_table_iter_init (&iter, md->entries);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (keys, g_strdup (key));
    }
  g_ptr_array_sort (keys, compare_keys);
  g_ptr_array_add (keys, NULL);
  return (char **) g_ptr_array_free (keys, FALSE);
}

gboolean
_gossip_metadata_equal (const GossipMetadata *a, const GossipMetadata *b)
{
  GHashTableIter iter;
  gpointer key, value;

  if (_gossip_metadata_size (a) != _gossip_metadata_size (b))
    return FALSE;
  if (a == NULL || b == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, a->entries);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Entry *x = value, *y = g_hash_table_lookup (b->entries, key);
      if (y == NULL || x->type != y->type || !g_variant_equal (x->value, y->value))
        return FALSE;
    }
  return TRUE;
}

GVariant *
_gossip_metadata_to_wire (GossipMetadata *md)
{
  GVariantBuilder b;
  g_autofree gpointer *keys = NULL;
  guint n;

  if (md->wire != NULL)
    return md->wire;
  /* Sorted keys: equal maps give equal bytes. */
  keys = g_hash_table_get_keys_as_array (md->entries, &n);
  qsort (keys, n, sizeof *keys, compare_keys);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < n; i++)
    {
      Entry *e = g_hash_table_lookup (md->entries, keys[i]);
      GVariant *pair[2] = { g_variant_new_variant (g_variant_new_string (meta_types[e->type].code)),
                            g_variant_new_variant (e->value) };
      g_variant_builder_add (&b, "{sv}", keys[i],
                             g_variant_new_array (G_VARIANT_TYPE_VARIANT, pair, 2));
    }
  md->wire = g_variant_ref_sink (g_variant_builder_end (&b));
  return md->wire;
}

gsize
_gossip_metadata_wire_size (GossipMetadata *md)
{
  return g_variant_get_size (_gossip_metadata_to_wire (md));
}

static GVariant *
unbox (GVariant *v)
{
  while (v != NULL && g_variant_is_of_type (v, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *inner = g_variant_get_variant (v);
      g_variant_unref (v);
      v = inner;
    }
  return v;
}

/* Rebuilds a map from what a codec decoded.  Everything is checked: the
 * shape, every key, every type code, and the size. */
GossipMetadata *
_gossip_metadata_from_wire (GVariant *wire, gsize max_size, GError **error)
{
  g_autoptr (GossipMetadata) md = NULL;
  g_autoptr (GVariant) dict = unbox (g_variant_ref (wire));
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (!g_variant_is_of_type (dict, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "metadata is not a map");
      return NULL;
    }
  if (g_variant_n_children (dict) > GOSSIP_META_MAX_KEYS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "metadata has more than %d keys",
                   GOSSIP_META_MAX_KEYS);
      return NULL;
    }
  md = _gossip_metadata_new ();
  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) pair = unbox (value);
      g_autoptr (GVariant) code = NULL;
      g_autoptr (GVariant) raw = NULL;
      GVariant *typed;
      GossipMetaType type;

      if (!_gossip_metadata_check_key (key, error))
        return NULL;
      if (!g_variant_is_of_type (pair, G_VARIANT_TYPE ("av")) || g_variant_n_children (pair) != 2)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "metadata value \"%.40s\" is not a [type, value] pair", key);
          return NULL;
        }
      code = unbox (g_variant_get_child_value (pair, 0));
      raw = unbox (g_variant_get_child_value (pair, 1));
      type = g_variant_is_of_type (code, G_VARIANT_TYPE_STRING)
                 ? type_from_code (g_variant_get_string (code, NULL))
                 : GOSSIP_META_TYPE_NONE;
      if (type == GOSSIP_META_TYPE_NONE)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "metadata value \"%.40s\" has an unknown type", key);
          return NULL;
        }
      typed = gossip_variant_coerce (raw, _gossip_meta_type_variant_type (type), error);
      if (typed == NULL)
        {
          g_prefix_error (error, "metadata value \"%.40s\": ", key);
          return NULL;
        }
      _gossip_metadata_set (md, key, type, typed);
      g_variant_unref (typed);
    }
  if (_gossip_metadata_wire_size (md) > max_size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "metadata of %" G_GSIZE_FORMAT " bytes exceeds the limit of %" G_GSIZE_FORMAT,
                   _gossip_metadata_wire_size (md), max_size);
      return NULL;
    }
  return g_steal_pointer (&md);
}

GVariant *
_gossip_metadata_to_plain (const GossipMetadata *md)
{
  GVariantBuilder b;
  GHashTableIter iter;
  gpointer key, value;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (md != NULL)
    {
      g_hash_table_iter_init (&iter, md->entries);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_variant_builder_add (&b, "{sv}", key, ((Entry *) value)->value);
    }
  return g_variant_ref_sink (g_variant_builder_end (&b));
}
