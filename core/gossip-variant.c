/* gossip-variant.c: turning decoded values back into the types senders used,
 * and the helpers every codec builds its decoded values with.
 *
 * Codecs widen on the way through the wire (gossip-codec.h): every integer
 * comes back as x or t, strings as s, arrays and tuples as av, maps as a{sv}
 * or a(vv), Nothing as mv.  gossip_variant_coerce() undoes that for a given
 * definite type, checking ranges and structure on the way: a decoded value is
 * network input, so nothing about it is trusted.
 */
#include "config.h"

#include <string.h>

#include "gossip/gossip-codec.h"

static gboolean
type_error (GError **error, GVariant *value, const GVariantType *type)
{
  g_autofree char *want = g_variant_type_dup_string (type);

  g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TYPE,
               "cannot convert a value of type '%s' to '%s'", g_variant_get_type_string (value),
               want);
  return FALSE;
}

/* Integers of any type as sign + magnitude, so ranges can be compared
 * without overflow. */
static gboolean
get_integer (GVariant *value, gboolean *negative, guint64 *magnitude, gint64 *signed_value)
{
  gint64 s;

  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BYTE:
      s = g_variant_get_byte (value);
      break;
    case G_VARIANT_CLASS_INT16:
      s = g_variant_get_int16 (value);
      break;
    case G_VARIANT_CLASS_UINT16:
      s = g_variant_get_uint16 (value);
      break;
    case G_VARIANT_CLASS_INT32:
      s = g_variant_get_int32 (value);
      break;
    case G_VARIANT_CLASS_HANDLE:
      s = g_variant_get_handle (value);
      break;
    case G_VARIANT_CLASS_UINT32:
      s = g_variant_get_uint32 (value);
      break;
    case G_VARIANT_CLASS_INT64:
      s = g_variant_get_int64 (value);
      break;
    case G_VARIANT_CLASS_UINT64:
      *negative = FALSE;
      *magnitude = g_variant_get_uint64 (value);
      *signed_value = 0; /* unused by callers when the magnitude is above G_MAXINT64 */
      if (*magnitude <= G_MAXINT64)
        *signed_value = (gint64) *magnitude;
      return TRUE;
    default:
      return FALSE;
    }
  *negative = s < 0;
  *magnitude = s < 0 ? (guint64) 0 - (guint64) s : (guint64) s;
  *signed_value = s;
  return TRUE;
}

static GVariant *
coerce_integer (GVariant *value, const GVariantType *type, GError **error)
{
  gboolean negative;
  guint64 magnitude;
  gint64 s;
  gint64 min = 0;
  guint64 max;
  char t = g_variant_type_peek_string (type)[0];

  if (!get_integer (value, &negative, &magnitude, &s))
    {
      type_error (error, value, type);
      return NULL;
    }

  switch (t)
    {
    case 'y':
      max = G_MAXUINT8;
      break;
    case 'n':
      min = G_MININT16;
      max = G_MAXINT16;
      break;
    case 'q':
      max = G_MAXUINT16;
      break;
    case 'i':
    case 'h':
      min = G_MININT32;
      max = G_MAXINT32;
      break;
    case 'u':
      max = G_MAXUINT32;
      break;
    case 'x':
      min = G_MININT64;
      max = G_MAXINT64;
      break;
    default: /* 't' */
      max = G_MAXUINT64;
      break;
    }

  if (negative ? magnitude > (guint64) 0 - (guint64) min : magnitude > max)
    {
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TYPE,
                   "integer %s%" G_GUINT64_FORMAT " is out of range for type '%c'",
                   negative ? "-" : "", magnitude, t);
      return NULL;
    }

  switch (t)
    {
    case 'y':
      return g_variant_new_byte ((guint8) s);
    case 'n':
      return g_variant_new_int16 ((gint16) s);
    case 'q':
      return g_variant_new_uint16 ((guint16) s);
    case 'i':
      return g_variant_new_int32 ((gint32) s);
    case 'h':
      return g_variant_new_handle ((gint32) s);
    case 'u':
      return g_variant_new_uint32 ((guint32) s);
    case 'x':
      return g_variant_new_int64 (s);
    default:
      return g_variant_new_uint64 (magnitude);
    }
}

static GVariant *
coerce_double (GVariant *value, const GVariantType *type, GError **error)
{
  gboolean negative;
  guint64 magnitude;
  gint64 s;

  if (!get_integer (value, &negative, &magnitude, &s))
    {
      type_error (error, value, type);
      return NULL;
    }
  return g_variant_new_double (negative ? (gdouble) s : (gdouble) magnitude);
}

static GVariant *
coerce_string (GVariant *value, const GVariantType *type, GError **error)
{
  const char *s;
  char t = g_variant_type_peek_string (type)[0];

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
      && !g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH)
      && !g_variant_is_of_type (value, G_VARIANT_TYPE_SIGNATURE))
    {
      type_error (error, value, type);
      return NULL;
    }
  s = g_variant_get_string (value, NULL);
  switch (t)
    {
    case 's':
      return g_variant_new_string (s);
    case 'o':
      if (!g_variant_is_object_path (s))
        {
          g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TYPE,
                       "\"%s\" is not a valid object path (type 'o')", s);
          return NULL;
        }
      return g_variant_new_object_path (s);
    default: /* 'g' */
      if (!g_variant_is_signature (s))
        {
          g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TYPE,
                       "\"%s\" is not a valid signature (type 'g')", s);
          return NULL;
        }
      return g_variant_new_signature (s);
    }
}

static GVariant *coerce (GVariant *value, const GVariantType *type, GError **error);

/* Every coerce_*() returns an owned, non-floating reference or NULL. */
static GVariant *
sunk (GVariant *value)
{
  return value != NULL ? g_variant_ref_sink (value) : NULL;
}

static void
unref_children (GVariant **children, gsize n)
{
  for (gsize i = 0; i < n; i++)
    g_variant_unref (children[i]);
  g_free (children);
}

static GVariant *
coerce_maybe (GVariant *value, const GVariantType *type, GError **error)
{
  const GVariantType *element = g_variant_type_element (type);
  g_autoptr (GVariant) inner = NULL;
  g_autoptr (GVariant) coerced = NULL;

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_MAYBE))
    {
      inner = g_variant_get_maybe (value);
      if (inner == NULL)
        return sunk (g_variant_new_maybe (element, NULL));
      value = inner;
    }
  coerced = coerce (value, element, error);
  if (coerced == NULL)
    return NULL;
  return sunk (g_variant_new_maybe (NULL, coerced));
}

/* The @n children of @value (an array, tuple or dict entry) coerced one by
 * one, to @array_element or else to the item types from @first_item on;
 * NULL on the first failure. */
static GVariant **
coerce_children (GVariant *value, gsize n, const GVariantType *array_element,
                 const GVariantType *first_item, GError **error)
{
  GVariant **children = g_new (GVariant *, MAX (n, 1));
  const GVariantType *item = first_item;

  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) child = g_variant_get_child_value (value, i);
      const GVariantType *want = array_element != NULL ? array_element : item;

      children[i] = coerce (child, want, error);
      if (children[i] == NULL)
        {
          g_prefix_error (error, "%s %" G_GSIZE_FORMAT ": ",
                          array_element != NULL ? "element" : "item", i);
          unref_children (children, i);
          return NULL;
        }
      if (array_element == NULL)
        item = g_variant_type_next (item);
    }
  return children;
}

static gboolean
is_sequence (GVariant *value)
{
  return g_variant_is_container (value) && !g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT)
         && !g_variant_is_of_type (value, G_VARIANT_TYPE_MAYBE);
}

static GVariant *
coerce_array (GVariant *value, const GVariantType *type, GError **error)
{
  const GVariantType *element = g_variant_type_element (type);
  gsize n;
  GVariant **children;
  GVariant *result;

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_ARRAY))
    {
      type_error (error, value, type);
      return NULL;
    }
  n = g_variant_n_children (value);
  children = coerce_children (value, n, element, NULL, error);
  if (children == NULL)
    return NULL;
  result = sunk (g_variant_new_array (element, children, n));
  unref_children (children, n);
  return result;
}

/* Tuples and dict entries, from arrays, tuples or dict entries of as many
 * children. */
static GVariant *
coerce_tuple (GVariant *value, const GVariantType *type, GError **error)
{
  gsize want = g_variant_type_n_items (type);
  gsize n;
  GVariant **children;
  GVariant *result;

  if (!is_sequence (value))
    {
      type_error (error, value, type);
      return NULL;
    }
  n = g_variant_n_children (value);
  if (n != want)
    {
      g_autofree char *type_string = g_variant_type_dup_string (type);

      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TYPE,
                   "%" G_GSIZE_FORMAT " items where '%s' needs %" G_GSIZE_FORMAT, n, type_string,
                   want);
      return NULL;
    }
  children = coerce_children (value, n, NULL, g_variant_type_first (type), error);
  if (children == NULL)
    return NULL;
  if (g_variant_type_is_dict_entry (type))
    result = sunk (g_variant_new_dict_entry (children[0], children[1]));
  else
    result = sunk (g_variant_new_tuple (children, n));
  unref_children (children, n);
  return result;
}

static GVariant *
coerce (GVariant *value, const GVariantType *type, GError **error)
{
  g_autoptr (GVariant) unwrapped = NULL;
  gboolean want_box = g_variant_type_equal (type, G_VARIANT_TYPE_VARIANT);
  gboolean want_maybe = g_variant_type_is_maybe (type);

  /* Boxes on the way in are opened unless a box is what is asked for, and
   * Justs unless a maybe (or a box) is.  In a loop: no stack for them. */
  for (;;)
    {
      GVariant *inner;

      if (want_box || g_variant_is_of_type (value, type))
        break;
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
        inner = g_variant_get_variant (value);
      else if (!want_maybe && g_variant_is_of_type (value, G_VARIANT_TYPE_MAYBE))
        {
          inner = g_variant_get_maybe (value);
          if (inner == NULL)
            break;
        }
      else
        break;
      g_clear_pointer (&unwrapped, g_variant_unref);
      unwrapped = value = inner;
    }

  if (g_variant_is_of_type (value, type))
    return g_variant_ref (value);

  switch (g_variant_type_peek_string (type)[0])
    {
    case 'v':
      return sunk (g_variant_new_variant (value));
    case 'y':
    case 'n':
    case 'q':
    case 'i':
    case 'u':
    case 'x':
    case 't':
    case 'h':
      return sunk (coerce_integer (value, type, error));
    case 'd':
      return sunk (coerce_double (value, type, error));
    case 's':
    case 'o':
    case 'g':
      return sunk (coerce_string (value, type, error));
    case 'm':
      return coerce_maybe (value, type, error);
    case 'a':
      return coerce_array (value, type, error);
    case '(':
    case '{':
      return coerce_tuple (value, type, error);
    default: /* 'b', from nothing but 'b' */
      type_error (error, value, type);
      return NULL;
    }
}

/**
 * gossip_variant_coerce:
 * @value: (transfer none): a value, typically as a codec decoded it; a
 *   floating reference is sunk and consumed
 * @type: the definite type wanted
 * @error: return location for a #GError, or %NULL
 *
 * Converts @value to @type, undoing what the codec mapping (gossip-codec.h)
 * does on the wire:
 *
 * - integers of any type become any integer type (including `h`) if the
 *   value is in range, and `d` if asked for;
 * - `s`, `o` and `g` become each other, if the string is a valid object
 *   path or signature as needed;
 * - arrays (such as `av`) become arrays of any element type, element by
 *   element, and tuples or dict entries when they have as many children;
 * - maps decoded as `a{sv}` or `a(vv)` become any dictionary type;
 * - `mv` Nothing becomes Nothing of any maybe type, and any other value
 *   becomes Just of a maybe type;
 * - any value is boxed when `v` is asked for, and boxes in @value are
 *   opened wherever something other than `v` is asked for.
 *
 * A value already of @type is returned as it is (with a new reference).
 *
 * Returns: (transfer full) (nullable): the converted value (never floating),
 *   or %NULL with @error set to %GOSSIP_CODEC_ERROR_TYPE naming what did not
 *   fit
 */
GVariant *
gossip_variant_coerce (GVariant *value, const GVariantType *type, GError **error)
{
  GVariant *result;

  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (type != NULL && g_variant_type_is_definite (type), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* A floating @value is consumed, as GVariant constructors do. */
  g_variant_ref_sink (value);
  result = coerce (value, type, error);
  g_variant_unref (value);
  return result;
}

/* ------------------------------------------------------------------------ */
/* Building decoded containers */

/* Containers up to this size need no allocation besides the builder. */
#define BUILDER_INLINE 16
/* However many values a decoder announces, no more slots than this are
 * reserved before the values arrive. */
#define BUILDER_MAX_RESERVE 1024

struct _GossipCodecBuilder
{
  GVariant **values; /* inline_values, or allocated once that is full */
  gsize len;
  gsize size;
  GVariant *inline_values[BUILDER_INLINE];
};

/**
 * gossip_codec_builder_new:
 * @n_values: how many values the container announces (items, or twice the
 *   pairs of a map); only a hint, so a hostile count costs nothing
 *
 * Starts collecting the decoded children of one array or map.  Finish with
 * gossip_codec_builder_end_array() or gossip_codec_builder_end_map(), or
 * drop it with gossip_codec_builder_free() when decoding fails (g_autoptr
 * does that).
 *
 * Returns: (transfer full): a builder
 */
GossipCodecBuilder *
gossip_codec_builder_new (gsize n_values)
{
  GossipCodecBuilder *self = g_new (GossipCodecBuilder, 1);

  self->len = 0;
  if (n_values <= BUILDER_INLINE)
    {
      self->values = self->inline_values;
      self->size = BUILDER_INLINE;
    }
  else
    {
      self->size = MIN (n_values, BUILDER_MAX_RESERVE);
      self->values = g_new (GVariant *, self->size);
    }
  return self;
}

/**
 * gossip_codec_builder_add:
 * @builder: a builder
 * @value: (transfer full): the next decoded value (for a map: a key, then
 *   its value); a floating reference is sunk, a full one taken over
 *
 * Appends @value.
 */
void
gossip_codec_builder_add (GossipCodecBuilder *self, GVariant *value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (value != NULL);

  if (self->len == self->size)
    {
      GVariant **grown = g_new (GVariant *, self->size * 2);

      memcpy (grown, self->values, self->len * sizeof (GVariant *));
      if (self->values != self->inline_values)
        g_free (self->values);
      self->values = grown;
      self->size *= 2;
    }
  self->values[self->len++] = value;
}

/* Boxes @value, consuming it: a floating one is sunk into the box, a full
 * one's reference is passed on to it. */
static GVariant *
box (GVariant *value)
{
  gboolean floating = g_variant_is_floating (value);
  GVariant *boxed = g_variant_new_variant (value);

  if (!floating)
    g_variant_unref (value);
  return boxed;
}

/* Same as box() for a dict entry's key. */
static GVariant *
dict_entry (GVariant *key, GVariant *boxed_value)
{
  gboolean floating = g_variant_is_floating (key);
  GVariant *entry = g_variant_new_dict_entry (key, boxed_value);

  if (!floating)
    g_variant_unref (key);
  return entry;
}

/* Makes an array of the first @n values (floating children of @type, which
 * it sinks) and frees the builder. */
static GVariant *
builder_finish (GossipCodecBuilder *self, const GVariantType *type, gsize n)
{
  GVariant *result = g_variant_new_array (type, self->values, n);

  self->len = 0;
  gossip_codec_builder_free (self);
  return result;
}

/**
 * gossip_codec_builder_end_array:
 * @builder: (transfer full): a builder
 *
 * Returns: (transfer floating): the values added, each boxed, as `av`;
 *   @builder is freed
 */
GVariant *
gossip_codec_builder_end_array (GossipCodecBuilder *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  for (gsize i = 0; i < self->len; i++)
    self->values[i] = box (self->values[i]);
  return builder_finish (self, G_VARIANT_TYPE_VARIANT, self->len);
}

/**
 * gossip_codec_builder_end_map:
 * @builder: (transfer full): a builder holding keys and values alternately
 *
 * Entries keep their order, repeated keys included.
 *
 * Returns: (transfer floating): `a{sv}` when every key is a string, else
 *   `a(vv)`; @builder is freed
 */
GVariant *
gossip_codec_builder_end_map (GossipCodecBuilder *self)
{
  gboolean string_keys = TRUE;
  gsize n;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->len % 2 == 0, NULL);

  n = self->len / 2;
  for (gsize i = 0; i < n && string_keys; i++)
    string_keys = g_variant_is_of_type (self->values[2 * i], G_VARIANT_TYPE_STRING);
  /* Entry i goes where key i was or before: nothing unread is overwritten. */
  for (gsize i = 0; i < n; i++)
    {
      GVariant *key = self->values[2 * i];
      GVariant *value = box (self->values[2 * i + 1]);

      if (string_keys)
        self->values[i] = dict_entry (key, value);
      else
        {
          GVariant *pair[2] = { box (key), value };

          self->values[i] = g_variant_new_tuple (pair, 2);
        }
    }
  return builder_finish (self, string_keys ? G_VARIANT_TYPE ("{sv}") : G_VARIANT_TYPE ("(vv)"), n);
}

/**
 * gossip_codec_builder_free:
 * @builder: (transfer full): a builder
 *
 * Drops a builder and every value in it, when decoding failed.
 */
void
gossip_codec_builder_free (GossipCodecBuilder *self)
{
  if (self == NULL)
    return;
  for (gsize i = 0; i < self->len; i++)
    g_variant_unref (self->values[i]);
  if (self->values != self->inline_values)
    g_free (self->values);
  g_free (self);
}

/**
 * gossip_codec_check_depth:
 * @depth: the nesting depth of a container about to be encoded or decoded
 *   (0 for one at the top)
 * @error: return location for a #GError
 *
 * The depth limit every codec enforces, with the same error.
 *
 * Returns: %TRUE when @depth is below %GOSSIP_CODEC_MAX_DEPTH, else %FALSE
 *   with %GOSSIP_CODEC_ERROR_TOO_DEEP
 */
gboolean
gossip_codec_check_depth (guint depth, GError **error)
{
  if (depth < GOSSIP_CODEC_MAX_DEPTH)
    return TRUE;
  g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TOO_DEEP,
               "values nest deeper than %d containers", GOSSIP_CODEC_MAX_DEPTH);
  return FALSE;
}

/* Any non-NULL pointer will do for a codec without state. */
static const guint8 stateless_instance;

/**
 * gossip_codec_create_stateless:
 * @error: unused
 *
 * A #GossipCodecVTable create function for codecs that keep no state.
 *
 * Returns: a non-%NULL pointer that stands for the instance
 */
gpointer
gossip_codec_create_stateless (GError **error)
{
  return (gpointer) &stateless_instance;
}

/**
 * gossip_codec_destroy_stateless:
 * @self: what gossip_codec_create_stateless() returned
 *
 * The matching destroy function: nothing to free.
 */
void
gossip_codec_destroy_stateless (gpointer self)
{
  g_return_if_fail (self == &stateless_instance);
}
