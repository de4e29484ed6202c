/* gossip-codec-msgpack.c: GVariant <-> MessagePack.
 *
 * Encoding goes through msgpack-c's packer, which always picks the smallest
 * format for integers, strings, binaries, arrays and maps; doubles are always
 * float64.  The mapping is the one in gossip-codec.h and docs/CODEC-MAPPING.md.
 *
 * Decoding reads hostile bytes, so it does not hand them to msgpack-c (whose
 * unpacker sizes its zone from the declared lengths).  A small recursive
 * descent reader walks the bytes instead and builds the GVariant directly:
 * every declared length is checked against the bytes that remain before
 * anything is allocated (an array of n elements needs at least n bytes, a map
 * of n pairs at least 2n), nesting is limited to GOSSIP_CODEC_MAX_DEPTH, and
 * the value must span the input exactly.
 */
#include "config.h"

#include <string.h>

#include <gmodule.h>
#include <msgpack.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-codec.h"

/* ------------------------------------------------------------------ encode */

typedef struct
{
  GByteArray *out;
  gboolean overflow;
} Writer;

static int
writer_append (void *data, const char *buf, size_t len)
{
  Writer *w = data;

  if (len > G_MAXUINT - w->out->len)
    {
      w->overflow = TRUE;
      return -1;
    }
  g_byte_array_append (w->out, (const guint8 *) buf, (guint) len);
  return 0;
}

typedef struct
{
  msgpack_packer pk;
  Writer writer;
  GError **error;
} Encoder;

static gboolean
encoder_failed (Encoder *e)
{
  if (e->writer.overflow)
    g_set_error (e->error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                 "the encoding does not fit in a byte array (4 GiB)");
  else
    g_set_error (e->error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                 "MessagePack packer failed");
  return FALSE;
}

#define PACK(e, call)                                                                              \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if ((call) != 0)                                                                               \
      return encoder_failed (e);                                                                   \
  }                                                                                                \
  G_STMT_END

static gboolean
check_length (Encoder *e, gsize n, const char *what)
{
  if (n > G_MAXUINT32)
    {
      g_set_error (e->error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                   "a %s of %" G_GSIZE_FORMAT " elements is too long for MessagePack", what, n);
      return FALSE;
    }
  return TRUE;
}

/* Arrays of fixed-size basic types (ai, ad, at, ...) are read in one go
 * rather than child by child: a big saving for long numeric arrays. */
static gboolean
encode_fixed_array (Encoder *e, GVariant *value, char elem)
{
  gsize n = 0;
  gsize size;
  gconstpointer data;

  switch (elem)
    {
    case 'b':
    case 'y':
      size = 1;
      break;
    case 'n':
    case 'q':
      size = 2;
      break;
    case 'i':
    case 'u':
    case 'h':
      size = 4;
      break;
    default:
      size = 8;
      break;
    }
  data = g_variant_get_fixed_array (value, &n, size);
  if (!check_length (e, n, "array"))
    return FALSE;
  PACK (e, msgpack_pack_array (&e->pk, n));
  for (gsize i = 0; i < n; i++)
    {
      int r;

      switch (elem)
        {
        case 'b':
          r = ((const guint8 *) data)[i] ? msgpack_pack_true (&e->pk) : msgpack_pack_false (&e->pk);
          break;
        case 'y':
          r = msgpack_pack_uint64 (&e->pk, ((const guint8 *) data)[i]);
          break;
        case 'n':
          r = msgpack_pack_int64 (&e->pk, ((const gint16 *) data)[i]);
          break;
        case 'q':
          r = msgpack_pack_uint64 (&e->pk, ((const guint16 *) data)[i]);
          break;
        case 'i':
        case 'h':
          r = msgpack_pack_int64 (&e->pk, ((const gint32 *) data)[i]);
          break;
        case 'u':
          r = msgpack_pack_uint64 (&e->pk, ((const guint32 *) data)[i]);
          break;
        case 'x':
          r = msgpack_pack_int64 (&e->pk, ((const gint64 *) data)[i]);
          break;
        case 't':
          r = msgpack_pack_uint64 (&e->pk, ((const guint64 *) data)[i]);
          break;
        default: /* 'd' */
          r = msgpack_pack_double (&e->pk, ((const gdouble *) data)[i]);
          break;
        }
      if (r != 0)
        return encoder_failed (e);
    }
  return TRUE;
}

static gboolean
encode_value (Encoder *e, GVariant *value, guint depth)
{
  g_autoptr (GVariant) held = NULL;
  const char *type;

  /* Boxes and Justs are transparent: unwrap them in a loop, so that however
   * many there are, they cost no stack. */
  for (;;)
    {
      GVariant *inner;

      type = g_variant_get_type_string (value);
      if (type[0] == 'v')
        inner = g_variant_get_variant (value);
      else if (type[0] == 'm')
        {
          inner = g_variant_get_maybe (value);
          if (inner == NULL)
            {
              PACK (e, msgpack_pack_nil (&e->pk));
              return TRUE;
            }
        }
      else
        break;
      g_clear_pointer (&held, g_variant_unref);
      held = value = inner;
    }

  switch (type[0])
    {
    case 'b':
      PACK (e, g_variant_get_boolean (value) ? msgpack_pack_true (&e->pk)
                                             : msgpack_pack_false (&e->pk));
      return TRUE;
    case 'y':
      PACK (e, msgpack_pack_uint64 (&e->pk, g_variant_get_byte (value)));
      return TRUE;
    case 'n':
      PACK (e, msgpack_pack_int64 (&e->pk, g_variant_get_int16 (value)));
      return TRUE;
    case 'q':
      PACK (e, msgpack_pack_uint64 (&e->pk, g_variant_get_uint16 (value)));
      return TRUE;
    case 'i':
      PACK (e, msgpack_pack_int64 (&e->pk, g_variant_get_int32 (value)));
      return TRUE;
    case 'h':
      PACK (e, msgpack_pack_int64 (&e->pk, g_variant_get_handle (value)));
      return TRUE;
    case 'u':
      PACK (e, msgpack_pack_uint64 (&e->pk, g_variant_get_uint32 (value)));
      return TRUE;
    case 'x':
      PACK (e, msgpack_pack_int64 (&e->pk, g_variant_get_int64 (value)));
      return TRUE;
    case 't':
      PACK (e, msgpack_pack_uint64 (&e->pk, g_variant_get_uint64 (value)));
      return TRUE;
    case 'd':
      PACK (e, msgpack_pack_double (&e->pk, g_variant_get_double (value)));
      return TRUE;
    case 's':
    case 'o':
    case 'g':
      {
        gsize len;
        const char *s = g_variant_get_string (value, &len);

        if (!check_length (e, len, "string"))
          return FALSE;
        PACK (e, msgpack_pack_str (&e->pk, len));
        PACK (e, msgpack_pack_str_body (&e->pk, s, len));
        return TRUE;
      }
    default:
      break;
    }

  /* Binaries are scalars on the wire. */
  if (type[0] == 'a' && type[1] == 'y')
    {
      gsize len = 0;
      gconstpointer bytes = g_variant_get_fixed_array (value, &len, 1);

      if (!check_length (e, len, "byte array"))
        return FALSE;
      PACK (e, msgpack_pack_bin (&e->pk, len));
      PACK (e, msgpack_pack_bin_body (&e->pk, bytes, len));
      return TRUE;
    }

  /* A container: one more level of nesting on the wire. */
  if (!gossip_codec_check_depth (depth, e->error))
    return FALSE;

  /* Dictionaries, and a(vv): the form maps with other than string keys
   * decode to, which must encode back to the same map. */
  if (type[0] == 'a' && (type[1] == '{' || strcmp (type, "a(vv)") == 0))
    {
      gsize n = g_variant_n_children (value);

      if (!check_length (e, n, "map"))
        return FALSE;
      PACK (e, msgpack_pack_map (&e->pk, n));
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr (GVariant) entry = g_variant_get_child_value (value, i);
          g_autoptr (GVariant) k = g_variant_get_child_value (entry, 0);
          g_autoptr (GVariant) v = g_variant_get_child_value (entry, 1);

          if (!encode_value (e, k, depth + 1) || !encode_value (e, v, depth + 1))
            return FALSE;
        }
      return TRUE;
    }

  if (type[0] == 'a' && strchr ("bnqiuxthd", type[1]) != NULL)
    return encode_fixed_array (e, value, type[1]);

  /* Other arrays, tuples and (stray) dict entries. */
  {
    gsize n = g_variant_n_children (value);

    if (!check_length (e, n, "array"))
      return FALSE;
    PACK (e, msgpack_pack_array (&e->pk, n));
    for (gsize i = 0; i < n; i++)
      {
        g_autoptr (GVariant) child = g_variant_get_child_value (value, i);

        if (!encode_value (e, child, depth + 1))
          return FALSE;
      }
    return TRUE;
  }
}

/* ------------------------------------------------------------------ decode */

typedef struct
{
  const guint8 *p;
  const guint8 *end;
  GError **error;
} Reader;

static gboolean reader_fail (Reader *r, GossipCodecError code, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
reader_fail (Reader *r, GossipCodecError code, const char *format, ...)
{
  va_list ap;

  if (r->error != NULL && *r->error == NULL)
    {
      va_start (ap, format);
      *r->error = g_error_new_valist (GOSSIP_CODEC_ERROR, code, format, ap);
      va_end (ap);
    }
  return FALSE;
}

static inline gsize
reader_left (const Reader *r)
{
  return (gsize) (r->end - r->p);
}

/* Consumes a big-endian unsigned integer of @n bytes (1, 2, 4 or 8). */
static gboolean
read_uint (Reader *r, guint n, guint64 *out)
{
  guint64 v = 0;

  if (reader_left (r) < n)
    return reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                        "MessagePack input ends inside a %u-byte field", n);
  for (guint i = 0; i < n; i++)
    v = (v << 8) | r->p[i];
  r->p += n;
  *out = v;
  return TRUE;
}

static GVariant *decode_value (Reader *r, guint depth);

static GVariant *
decode_string (Reader *r, guint64 len)
{
  char *copy;

  if (len > reader_left (r))
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "a string of %" G_GUINT64_FORMAT " bytes with only %" G_GSIZE_FORMAT " left",
                   len, reader_left (r));
      return NULL;
    }
  /* Also refuses NUL bytes, which GVariant strings cannot hold. */
  if (!g_utf8_validate_len ((const char *) r->p, (gsize) len, NULL))
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_MALFORMED,
                   "a string that is not valid UTF-8 or contains a NUL byte");
      return NULL;
    }
  copy = g_malloc ((gsize) len + 1);
  memcpy (copy, r->p, (gsize) len);
  copy[len] = '\0';
  r->p += len;
  /* Validated above: no need for GVariant to check it again. */
  return g_variant_new_from_data (G_VARIANT_TYPE_STRING, copy, (gsize) len + 1, TRUE, g_free, copy);
}

static GVariant *
decode_binary (Reader *r, guint64 len)
{
  GVariant *v;

  if (len > reader_left (r))
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "a binary of %" G_GUINT64_FORMAT " bytes with only %" G_GSIZE_FORMAT " left",
                   len, reader_left (r));
      return NULL;
    }
  v = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, r->p, (gsize) len, 1);
  r->p += len;
  return v;
}

static GVariant *
decode_array (Reader *r, guint64 count, guint depth)
{
  g_autoptr (GossipCodecBuilder) items = NULL;

  if (!gossip_codec_check_depth (depth, r->error))
    return NULL;
  /* Every element takes at least one byte. */
  if (count > reader_left (r))
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "an array of %" G_GUINT64_FORMAT " elements with only %" G_GSIZE_FORMAT
                   " bytes left",
                   count, reader_left (r));
      return NULL;
    }
  items = gossip_codec_builder_new ((gsize) count);
  for (gsize i = 0; i < count; i++)
    {
      GVariant *child = decode_value (r, depth + 1);

      if (child == NULL)
        return NULL;
      gossip_codec_builder_add (items, child);
    }
  return gossip_codec_builder_end_array (g_steal_pointer (&items));
}

static GVariant *
decode_map (Reader *r, guint64 count, guint depth)
{
  g_autoptr (GossipCodecBuilder) pairs = NULL;

  if (!gossip_codec_check_depth (depth, r->error))
    return NULL;
  /* Every pair takes at least two bytes. */
  if (count > reader_left (r) / 2)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "a map of %" G_GUINT64_FORMAT " pairs with only %" G_GSIZE_FORMAT " bytes left",
                   count, reader_left (r));
      return NULL;
    }
  pairs = gossip_codec_builder_new (2 * (gsize) count);
  for (gsize i = 0; i < 2 * count; i++)
    {
      /* A key, then its value. */
      GVariant *child = decode_value (r, depth + 1);

      if (child == NULL)
        return NULL;
      gossip_codec_builder_add (pairs, child);
    }
  return gossip_codec_builder_end_map (g_steal_pointer (&pairs));
}

static gdouble
double_from_bits (guint64 bits)
{
  gdouble d;

  memcpy (&d, &bits, sizeof d);
  return d;
}

static gfloat
float_from_bits (guint32 bits)
{
  gfloat f;

  memcpy (&f, &bits, sizeof f);
  return f;
}

/* Returns a floating reference, or NULL with r->error set. */
static GVariant *
decode_value (Reader *r, guint depth)
{
  guint8 tag;
  guint64 n = 0;

  if (r->p >= r->end)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "MessagePack input ends where a value should be");
      return NULL;
    }
  tag = *r->p++;

  if (tag <= 0x7f)
    return g_variant_new_int64 (tag);
  if (tag >= 0xe0)
    return g_variant_new_int64 ((gint8) tag);
  if ((tag & 0xf0) == 0x80)
    return decode_map (r, tag & 0x0f, depth);
  if ((tag & 0xf0) == 0x90)
    return decode_array (r, tag & 0x0f, depth);
  if ((tag & 0xe0) == 0xa0)
    return decode_string (r, tag & 0x1f);

  switch (tag)
    {
    case 0xc0:
      return g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);
    case 0xc2:
      return g_variant_new_boolean (FALSE);
    case 0xc3:
      return g_variant_new_boolean (TRUE);

    case 0xc4: /* bin 8/16/32 */
    case 0xc5:
    case 0xc6:
      if (!read_uint (r, 1u << (tag - 0xc4), &n))
        return NULL;
      return decode_binary (r, n);

    case 0xc7: /* ext 8/16/32 */
    case 0xc8:
    case 0xc9:
    case 0xd4: /* fixext 1/2/4/8/16 */
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      reader_fail (r, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                   "MessagePack extension types (tag 0x%02x) have no GVariant mapping", tag);
      return NULL;

    case 0xca: /* float 32 */
      if (!read_uint (r, 4, &n))
        return NULL;
      return g_variant_new_double (float_from_bits ((guint32) n));
    case 0xcb: /* float 64 */
      if (!read_uint (r, 8, &n))
        return NULL;
      return g_variant_new_double (double_from_bits (n));

    case 0xcc: /* uint 8/16/32/64 */
    case 0xcd:
    case 0xce:
    case 0xcf:
      if (!read_uint (r, 1u << (tag - 0xcc), &n))
        return NULL;
      if (n > G_MAXINT64)
        return g_variant_new_uint64 (n);
      return g_variant_new_int64 ((gint64) n);

    case 0xd0: /* int 8/16/32/64 */
      if (!read_uint (r, 1, &n))
        return NULL;
      return g_variant_new_int64 ((gint8) n);
    case 0xd1:
      if (!read_uint (r, 2, &n))
        return NULL;
      return g_variant_new_int64 ((gint16) n);
    case 0xd2:
      if (!read_uint (r, 4, &n))
        return NULL;
      return g_variant_new_int64 ((gint32) n);
    case 0xd3:
      if (!read_uint (r, 8, &n))
        return NULL;
      return g_variant_new_int64 ((gint64) n);

    case 0xd9: /* str 8/16/32 */
    case 0xda:
    case 0xdb:
      if (!read_uint (r, 1u << (tag - 0xd9), &n))
        return NULL;
      return decode_string (r, n);

    case 0xdc: /* array 16/32 */
    case 0xdd:
      if (!read_uint (r, tag == 0xdc ? 2 : 4, &n))
        return NULL;
      return decode_array (r, n, depth);

    case 0xde: /* map 16/32 */
    case 0xdf:
      if (!read_uint (r, tag == 0xde ? 2 : 4, &n))
        return NULL;
      return decode_map (r, n, depth);

    default: /* 0xc1: never used */
      reader_fail (r, GOSSIP_CODEC_ERROR_MALFORMED,
                   "byte 0x%02x does not start a MessagePack value", tag);
      return NULL;
    }
}

/* ------------------------------------------------------------------ vtable */

static gboolean
msgpack_codec_encode (gpointer self, GVariant *value, GByteArray *out, GError **error)
{
  Encoder e = { .writer = { out, FALSE }, .error = error };
  guint old_len = out->len;

  g_return_val_if_fail (value != NULL, FALSE);

  msgpack_packer_init (&e.pk, &e.writer, writer_append);
  if (!encode_value (&e, value, 0))
    {
      g_byte_array_set_size (out, old_len);
      return FALSE;
    }
  return TRUE;
}

static GVariant *
msgpack_codec_decode (gpointer self, const guint8 *data, gsize len, GError **error)
{
  Reader r = { data, data + len, error };
  GVariant *value;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len == 0)
    {
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "empty MessagePack input");
      return NULL;
    }
  value = decode_value (&r, 0);
  if (value == NULL)
    return NULL;
  g_variant_ref_sink (value);
  if (r.p != r.end)
    {
      g_variant_unref (value);
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TRAILING,
                   "%" G_GSIZE_FORMAT " bytes after the end of the MessagePack value",
                   reader_left (&r));
      return NULL;
    }
  return value;
}

static const GossipCodecVTable msgpack_vtable = {
  .struct_size = sizeof (GossipCodecVTable),
  .wire_id = 1,
  .create = gossip_codec_create_stateless,
  .destroy = gossip_codec_destroy_stateless,
  .encode = msgpack_codec_encode,
  .decode = msgpack_codec_decode,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_CODEC, "msgpack", PACKAGE_VERSION,
                      "MessagePack through msgpack-c, with a bounds-checking decoder", NULL,
                      &msgpack_vtable);
