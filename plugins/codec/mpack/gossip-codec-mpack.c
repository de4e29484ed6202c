/* gossip-codec-mpack.c: GVariant <-> MessagePack through libmpack.
 *
 * A second MessagePack codec with the same wire id (1) as the msgpack
 * plugin: it must produce the very same bytes for every value and accept
 * the same inputs with the same errors (tests/test-codec.c checks both
 * against each other).  It uses libmpack (tarruda's, as in neovim), whose
 * core is a tokenizer: mpack_write() turns one token (an integer, a string
 * header, a chunk of string body, an array header...) into bytes and
 * mpack_read() turns bytes back into tokens.
 *
 * Encoding: tokens go through mpack_write(), which picks the smallest
 * format for unsigned integers, strings, binaries, arrays and maps, as
 * msgpack-c does.  Two things are done by hand:
 *  - doubles are always float64: the token is built from the bits, because
 *    mpack_pack_float() would pick float32 whenever that is exact;
 *  - negative integers are written here, because libmpack 1.0.5's writer
 *    chooses their format from the low 32 bits only and gets boundary
 *    values wrong (-129 becomes d0 7f, which reads as 127; -32769 becomes
 *    d1 7f ff; -4294967312 becomes the fixint f0).
 *
 * Decoding: mpack_read() tokenizes, and the recursive descent around it
 * does what a tokenizer cannot: every declared length or count is checked
 * against the bytes that remain before anything is allocated (a string or
 * binary needs its full length, an array of n elements n bytes, a map of n
 * pairs 2n), nesting is limited to GOSSIP_CODEC_MAX_DEPTH, the value must
 * span the input exactly.  Extension types are refused from their first
 * byte, before libmpack would wait for their header, so that errors are
 * the msgpack plugin's.
 */
#include "config.h"

#include <string.h>

#include <gmodule.h>
#include <mpack.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-codec.h"

/* ------------------------------------------------------------------ encode */

typedef struct
{
  mpack_tokbuf_t tokbuf;
  GByteArray *out;
  GError **error;
} Encoder;

static gboolean
encoder_fail (Encoder *e, const char *what)
{
  g_set_error (e->error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_UNSUPPORTED, "%s", what);
  return FALSE;
}

/* Makes room for @n more bytes; returns where they go. */
static char *
encoder_reserve (Encoder *e, gsize n)
{
  guint old_len = e->out->len;

  if (n > G_MAXUINT - old_len)
    return NULL;
  g_byte_array_set_size (e->out, old_len + (guint) n);
  return (char *) e->out->data + old_len;
}

static gboolean
put_token (Encoder *e, const mpack_token_t *tok)
{
  size_t room = MPACK_MAX_TOKEN_LEN;
  char *start = encoder_reserve (e, room);
  char *p = start;

  if (start == NULL)
    return encoder_fail (e, "the encoding does not fit in a byte array (4 GiB)");
  /* With MPACK_MAX_TOKEN_LEN bytes of room, a token is written whole. */
  if (mpack_write (&e->tokbuf, &p, &room, tok) != MPACK_OK)
    {
      g_byte_array_set_size (e->out, e->out->len - MPACK_MAX_TOKEN_LEN);
      return encoder_fail (e, "libmpack cannot write the token");
    }
  g_byte_array_set_size (e->out, e->out->len - (guint) room);
  return TRUE;
}

/* The body of a string or binary, after its header. */
static gboolean
put_chunk (Encoder *e, const void *data, gsize len)
{
  mpack_token_t tok;
  size_t room = len;
  char *p;

  if (len == 0)
    return TRUE;
  p = encoder_reserve (e, len);
  if (p == NULL)
    return encoder_fail (e, "the encoding does not fit in a byte array (4 GiB)");
  tok = mpack_pack_chunk (data, (mpack_uint32_t) len);
  if (mpack_write (&e->tokbuf, &p, &room, &tok) != MPACK_OK || room != 0)
    return encoder_fail (e, "libmpack cannot write a chunk");
  return TRUE;
}

static gboolean
put_uint (Encoder *e, guint64 v)
{
  mpack_token_t tok = mpack_pack_uint (v);

  return put_token (e, &tok);
}

/* Negative fixint, int8, int16, int32 or int64: the smallest that fits.
 * Not through mpack_write(), whose choice is wrong at the boundaries. */
static gboolean
put_negative (Encoder *e, gint64 v)
{
  guint8 buf[9];
  guint64 bits = (guint64) v;
  guint n;
  char *p;

  if (v >= -32)
    {
      buf[0] = (guint8) bits;
      n = 0;
    }
  else if (v >= G_MININT8)
    {
      buf[0] = 0xd0;
      n = 1;
    }
  else if (v >= G_MININT16)
    {
      buf[0] = 0xd1;
      n = 2;
    }
  else if (v >= G_MININT32)
    {
      buf[0] = 0xd2;
      n = 4;
    }
  else
    {
      buf[0] = 0xd3;
      n = 8;
    }
  for (guint i = 0; i < n; i++)
    buf[1 + i] = (guint8) (bits >> (8 * (n - 1 - i)));
  p = encoder_reserve (e, 1 + n);
  if (p == NULL)
    return encoder_fail (e, "the encoding does not fit in a byte array (4 GiB)");
  memcpy (p, buf, 1 + n);
  return TRUE;
}

static gboolean
put_int (Encoder *e, gint64 v)
{
  return v >= 0 ? put_uint (e, (guint64) v) : put_negative (e, v);
}

static gboolean
put_double (Encoder *e, gdouble d)
{
  mpack_token_t tok;
  guint64 bits;

  /* Always float64 (cb), NaN, infinities and -0.0 included. */
  memcpy (&bits, &d, sizeof bits);
  memset (&tok, 0, sizeof tok);
  tok.type = MPACK_TOKEN_FLOAT;
  tok.length = 8;
  tok.data.value.hi = (mpack_uint32_t) (bits >> 32);
  tok.data.value.lo = (mpack_uint32_t) (bits & 0xffffffffu);
  return put_token (e, &tok);
}

static gboolean
put_bool (Encoder *e, gboolean b)
{
  mpack_token_t tok = mpack_pack_boolean (b ? 1 : 0);

  return put_token (e, &tok);
}

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

static gboolean
put_header (Encoder *e, mpack_token_t tok)
{
  return put_token (e, &tok);
}

/* Arrays of fixed-size basic types (ai, ad, at, ...) are read in one go. */
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
  if (!check_length (e, n, "array") || !put_header (e, mpack_pack_array ((mpack_uint32_t) n)))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      gboolean ok;

      switch (elem)
        {
        case 'b':
          ok = put_bool (e, ((const guint8 *) data)[i]);
          break;
        case 'y':
          ok = put_uint (e, ((const guint8 *) data)[i]);
          break;
        case 'n':
          ok = put_int (e, ((const gint16 *) data)[i]);
          break;
        case 'q':
          ok = put_uint (e, ((const guint16 *) data)[i]);
          break;
        case 'i':
        case 'h':
          ok = put_int (e, ((const gint32 *) data)[i]);
          break;
        case 'u':
          ok = put_uint (e, ((const guint32 *) data)[i]);
          break;
        case 'x':
          ok = put_int (e, ((const gint64 *) data)[i]);
          break;
        case 't':
          ok = put_uint (e, ((const guint64 *) data)[i]);
          break;
        default: /* 'd' */
          ok = put_double (e, ((const gdouble *) data)[i]);
          break;
        }
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

static gboolean
encode_value (Encoder *e, GVariant *value, guint depth)
{
  g_autoptr (GVariant) held = NULL;
  const char *type;

  /* Boxes and Justs are transparent: unwrapped in a loop, at no stack cost. */
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
            return put_header (e, mpack_pack_nil ());
        }
      else
        break;
      g_clear_pointer (&held, g_variant_unref);
      held = value = inner;
    }

  switch (type[0])
    {
    case 'b':
      return put_bool (e, g_variant_get_boolean (value));
    case 'y':
      return put_uint (e, g_variant_get_byte (value));
    case 'n':
      return put_int (e, g_variant_get_int16 (value));
    case 'q':
      return put_uint (e, g_variant_get_uint16 (value));
    case 'i':
      return put_int (e, g_variant_get_int32 (value));
    case 'h':
      return put_int (e, g_variant_get_handle (value));
    case 'u':
      return put_uint (e, g_variant_get_uint32 (value));
    case 'x':
      return put_int (e, g_variant_get_int64 (value));
    case 't':
      return put_uint (e, g_variant_get_uint64 (value));
    case 'd':
      return put_double (e, g_variant_get_double (value));
    case 's':
    case 'o':
    case 'g':
      {
        gsize len;
        const char *s = g_variant_get_string (value, &len);

        return check_length (e, len, "string")
               && put_header (e, mpack_pack_str ((mpack_uint32_t) len)) && put_chunk (e, s, len);
      }
    default:
      break;
    }

  /* Binaries are scalars on the wire. */
  if (type[0] == 'a' && type[1] == 'y')
    {
      gsize len = 0;
      gconstpointer bytes = g_variant_get_fixed_array (value, &len, 1);

      return check_length (e, len, "byte array")
             && put_header (e, mpack_pack_bin ((mpack_uint32_t) len)) && put_chunk (e, bytes, len);
    }

  /* A container: one more level of nesting on the wire. */
  if (!gossip_codec_check_depth (depth, e->error))
    return FALSE;

  /* Dictionaries, and a(vv), the form of maps with other than string keys. */
  if (type[0] == 'a' && (type[1] == '{' || strcmp (type, "a(vv)") == 0))
    {
      gsize n = g_variant_n_children (value);

      if (!check_length (e, n, "map") || !put_header (e, mpack_pack_map ((mpack_uint32_t) n)))
        return FALSE;
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

    if (!check_length (e, n, "array") || !put_header (e, mpack_pack_array ((mpack_uint32_t) n)))
      return FALSE;
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
  mpack_tokbuf_t tokbuf;
  const char *p;
  size_t left;
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

static GVariant *decode_value (Reader *r, guint depth);

/* Reads the body of a string or binary of @len bytes, already checked to
 * be there: one chunk token. */
static const char *
read_body (Reader *r, mpack_uint32_t len)
{
  mpack_token_t tok;

  if (len == 0)
    return r->p;
  if (mpack_read (&r->tokbuf, &r->p, &r->left, &tok) != MPACK_OK || tok.type != MPACK_TOKEN_CHUNK
      || tok.length != len)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_MALFORMED, "libmpack returned no chunk of %u bytes",
                   (guint) len);
      return NULL;
    }
  return tok.data.chunk_ptr;
}

static GVariant *
decode_string (Reader *r, mpack_uint32_t len)
{
  const char *body;
  char *copy;

  if (len > r->left)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "a string of %u bytes with only %" G_GSIZE_FORMAT " left", (guint) len,
                   (gsize) r->left);
      return NULL;
    }
  /* Also refuses NUL bytes, which GVariant strings cannot hold. */
  if (!g_utf8_validate_len (r->p, len, NULL))
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_MALFORMED,
                   "a string that is not valid UTF-8 or contains a NUL byte");
      return NULL;
    }
  body = read_body (r, len);
  if (body == NULL)
    return NULL;
  copy = g_malloc ((gsize) len + 1);
  memcpy (copy, body, len);
  copy[len] = '\0';
  return g_variant_new_from_data (G_VARIANT_TYPE_STRING, copy, (gsize) len + 1, TRUE, g_free, copy);
}

static GVariant *
decode_binary (Reader *r, mpack_uint32_t len)
{
  const char *body;

  if (len > r->left)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "a binary of %u bytes with only %" G_GSIZE_FORMAT " left", (guint) len,
                   (gsize) r->left);
      return NULL;
    }
  body = read_body (r, len);
  if (body == NULL)
    return NULL;
  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, body, len, 1);
}

static GVariant *
decode_array (Reader *r, mpack_uint32_t count, guint depth)
{
  g_autoptr (GossipCodecBuilder) items = NULL;

  if (!gossip_codec_check_depth (depth, r->error))
    return NULL;
  /* Every element takes at least one byte. */
  if (count > r->left)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "an array of %u elements with only %" G_GSIZE_FORMAT " bytes left",
                   (guint) count, (gsize) r->left);
      return NULL;
    }
  items = gossip_codec_builder_new (count);
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
decode_map (Reader *r, mpack_uint32_t count, guint depth)
{
  g_autoptr (GossipCodecBuilder) pairs = NULL;

  if (!gossip_codec_check_depth (depth, r->error))
    return NULL;
  /* Every pair takes at least two bytes. */
  if (count > r->left / 2)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "a map of %u pairs with only %" G_GSIZE_FORMAT " bytes left", (guint) count,
                   (gsize) r->left);
      return NULL;
    }
  pairs = gossip_codec_builder_new (2 * (gsize) count);
  for (gsize i = 0; i < 2 * (gsize) count; i++)
    {
      /* A key, then its value. */
      GVariant *child = decode_value (r, depth + 1);

      if (child == NULL)
        return NULL;
      gossip_codec_builder_add (pairs, child);
    }
  return gossip_codec_builder_end_map (g_steal_pointer (&pairs));
}

/* Returns a floating reference, or NULL with r->error set. */
static GVariant *
decode_value (Reader *r, guint depth)
{
  mpack_token_t tok;
  guint8 tag;
  int status;

  if (r->left == 0)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "MessagePack input ends where a value should be");
      return NULL;
    }
  /* Extension types (ext 8/16/32, fixext 1-16), known from their first
   * byte: refused before libmpack would ask for the rest of the header. */
  tag = (guint8) r->p[0];
  if ((tag >= 0xc7 && tag <= 0xc9) || (tag >= 0xd4 && tag <= 0xd8))
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                   "MessagePack extension types (tag 0x%02x) have no GVariant mapping", tag);
      return NULL;
    }

  memset (&tok, 0, sizeof tok);
  status = mpack_read (&r->tokbuf, &r->p, &r->left, &tok);
  if (status == MPACK_EOF)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "MessagePack input ends inside the header of a value (tag 0x%02x)", tag);
      return NULL;
    }
  if (status != MPACK_OK)
    {
      reader_fail (r, GOSSIP_CODEC_ERROR_MALFORMED,
                   "byte 0x%02x does not start a MessagePack value", tag);
      return NULL;
    }

  switch (tok.type)
    {
    case MPACK_TOKEN_NIL:
      return g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);
    case MPACK_TOKEN_BOOLEAN:
      return g_variant_new_boolean (mpack_unpack_boolean (tok) ? TRUE : FALSE);
    case MPACK_TOKEN_UINT:
      {
        guint64 u = mpack_unpack_uint (tok);

        if (u > G_MAXINT64)
          return g_variant_new_uint64 (u);
        return g_variant_new_int64 ((gint64) u);
      }
    case MPACK_TOKEN_SINT:
      return g_variant_new_int64 (mpack_unpack_sint (tok));
    case MPACK_TOKEN_FLOAT:
      /* float32 widens to d; float64 as it is. */
      return g_variant_new_double (mpack_unpack_float (tok));
    case MPACK_TOKEN_STR:
      return decode_string (r, tok.length);
    case MPACK_TOKEN_BIN:
      return decode_binary (r, tok.length);
    case MPACK_TOKEN_ARRAY:
      return decode_array (r, tok.length, depth);
    case MPACK_TOKEN_MAP:
      return decode_map (r, tok.length, depth);
    default: /* chunks come only after a header; extensions were refused */
      reader_fail (r, GOSSIP_CODEC_ERROR_MALFORMED, "unexpected libmpack token %d", (int) tok.type);
      return NULL;
    }
}

/* ------------------------------------------------------------------ vtable */

static gboolean
mpack_codec_encode (gpointer self, GVariant *value, GByteArray *out, GError **error)
{
  Encoder e = { .out = out, .error = error };
  guint old_len = out->len;

  g_return_val_if_fail (value != NULL, FALSE);

  mpack_tokbuf_init (&e.tokbuf);
  if (!encode_value (&e, value, 0))
    {
      g_byte_array_set_size (out, old_len);
      return FALSE;
    }
  return TRUE;
}

static GVariant *
mpack_codec_decode (gpointer self, const guint8 *data, gsize len, GError **error)
{
  Reader r = { .p = (const char *) data, .left = len, .error = error };
  GVariant *value;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len == 0)
    {
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TRUNCATED,
                   "empty MessagePack input");
      return NULL;
    }
  mpack_tokbuf_init (&r.tokbuf);
  value = decode_value (&r, 0);
  if (value == NULL)
    return NULL;
  g_variant_ref_sink (value);
  if (r.left != 0)
    {
      g_variant_unref (value);
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TRAILING,
                   "%" G_GSIZE_FORMAT " bytes after the end of the MessagePack value",
                   (gsize) r.left);
      return NULL;
    }
  return value;
}

static const GossipCodecVTable mpack_vtable = {
  .struct_size = sizeof (GossipCodecVTable),
  .wire_id = 1,
  .create = gossip_codec_create_stateless,
  .destroy = gossip_codec_destroy_stateless,
  .encode = mpack_codec_encode,
  .decode = mpack_codec_decode,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_CODEC, "mpack", PACKAGE_VERSION,
                      "MessagePack through libmpack, byte for byte the same as msgpack", NULL,
                      &mpack_vtable);
