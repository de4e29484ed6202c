/* gossip-codec-json.c: GVariant <-> JSON (RFC 8259), wire id 2.
 *
 * Human-readable frames for debugging, with the value mapping of
 * gossip-codec.h.  The JSON forms (docs/CODEC-MAPPING.md, "JSON"):
 *
 *   b                  true / false
 *   integers           a number without fraction or exponent, |n| <= 2^53;
 *                      beyond that encoding fails (UNSUPPORTED)
 *   d                  a finite number that always has a fraction or an
 *                      exponent (1.0, 1e+21); inf and NaN: UNSUPPORTED
 *   s o g              a string
 *   ay                 {"$b64": "<base64>"}
 *   maps, string keys  an object, unless keys repeat or the only key is
 *                      "$b64" or "$map": then as for other keys
 *   maps, other keys   {"$map": [[key, value], ...]}
 *   arrays, tuples     an array
 *   Nothing            null
 *
 * Encoding is written here rather than through JsonGenerator: json-glib
 * 1.6 prints the double 1e21 as "1e+21.0", which is not JSON.  Doubles are
 * printed with the fewest digits (15 to 17) that read back to the same bits.
 *
 * Decoding reads hostile bytes.  json-glib's JsonParser is lenient (it takes
 * comments, single quotes, hex numbers, "var x = ...;", a second value after
 * the first, wraps integers beyond 64 bits, cuts strings at \u0000, drops
 * repeated keys) and recursive without a depth limit, so the input first
 * goes through a strict, iterative RFC 8259 validator of our own.  It also
 * enforces what the mapping needs: at most 3 * 32 + 1 raw levels of nesting
 * (a map in the tagged form takes three), no \u0000 or lone surrogates,
 * integers within 2^53, finite numbers, nothing but whitespace after the
 * value, and it counts the members of each object.  Only then JsonParser
 * builds the tree (the frame size limit bounds its size), and a walk turns
 * the tree into the GVariant, checking the mapping's depth limit and the
 * tags, and refusing objects that lost members to repeated keys.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <gmodule.h>
#include <json-glib/json-glib.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-codec.h"

#define JSON_MAX_INTEGER (G_GUINT64_CONSTANT (1) << 53)
/* A map in the tagged form is three levels of JSON ({"$map": [[k, v]]}),
 * and a binary at the bottom one more. */
#define MAX_RAW_DEPTH (3 * GOSSIP_CODEC_MAX_DEPTH + 1)
#define TAG_BYTES     "$b64"
#define TAG_MAP       "$map"

/* ------------------------------------------------------------------ encode */

typedef struct
{
  GByteArray *out;
  gboolean overflow;
  GError **error;
} Encoder;

static void
put (Encoder *e, const char *s, gsize len)
{
  if (e->overflow || len > G_MAXUINT - e->out->len)
    {
      e->overflow = TRUE;
      return;
    }
  g_byte_array_append (e->out, (const guint8 *) s, (guint) len);
}

static void
put_literal (Encoder *e, const char *s)
{
  put (e, s, strlen (s));
}

static void
put_string (Encoder *e, const char *s, gsize len)
{
  gsize start = 0;

  put (e, "\"", 1);
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) s[i];
      char esc[8];

      if (c == '"' || c == '\\')
        g_snprintf (esc, sizeof esc, "\\%c", c);
      else if (c == '\n')
        g_strlcpy (esc, "\\n", sizeof esc);
      else if (c == '\t')
        g_strlcpy (esc, "\\t", sizeof esc);
      else if (c == '\r')
        g_strlcpy (esc, "\\r", sizeof esc);
      else if (c < 0x20)
        g_snprintf (esc, sizeof esc, "\\u%04x", c);
      else
        continue;
      put (e, s + start, i - start);
      put_literal (e, esc);
      start = i + 1;
    }
  put (e, s + start, len - start);
  put (e, "\"", 1);
}

/* Base64 straight into the output, without a string in between. */
static void
put_base64 (Encoder *e, const guint8 *data, gsize len)
{
  /* What g_base64_encode_step() and _close() may write together. */
  gsize room = (len / 3 + 1) * 4 + 4;
  guint old_len = e->out->len;
  gint state = 0, save = 0;
  gsize n;

  if (e->overflow || room > G_MAXUINT - old_len)
    {
      e->overflow = TRUE;
      return;
    }
  g_byte_array_set_size (e->out, old_len + (guint) room);
  n = g_base64_encode_step (data, len, FALSE, (char *) e->out->data + old_len, &state, &save);
  n += g_base64_encode_close (FALSE, (char *) e->out->data + old_len + n, &state, &save);
  g_byte_array_set_size (e->out, old_len + (guint) n);
}

static gboolean
put_integer (Encoder *e, gboolean negative, guint64 magnitude)
{
  char buf[32];

  if (magnitude > JSON_MAX_INTEGER)
    {
      g_set_error (e->error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                   "the integer %s%" G_GUINT64_FORMAT " is beyond 2^53, which JSON does not "
                   "carry exactly",
                   negative ? "-" : "", magnitude);
      return FALSE;
    }
  g_snprintf (buf, sizeof buf, "%s%" G_GUINT64_FORMAT, negative && magnitude ? "-" : "", magnitude);
  put_literal (e, buf);
  return TRUE;
}

static gboolean
put_signed (Encoder *e, gint64 v)
{
  return put_integer (e, v < 0, v < 0 ? (guint64) 0 - (guint64) v : (guint64) v);
}

static gboolean
same_double (gdouble a, gdouble b)
{
  return memcmp (&a, &b, sizeof a) == 0;
}

static gboolean
put_double (Encoder *e, gdouble d)
{
  static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE + 2];

  if (!isfinite (d))
    {
      g_set_error (e->error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_UNSUPPORTED, "JSON has no %s",
                   isnan (d) ? "NaN" : "infinities");
      return FALSE;
    }
  /* The shortest of these that reads back exactly; %.17g always does. */
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, formats[i], d);
      if (same_double (g_ascii_strtod (buf, NULL), d))
        break;
    }
  /* A number with neither fraction nor exponent would read as an integer. */
  if (strpbrk (buf, ".eE") == NULL)
    g_strlcat (buf, ".0", sizeof buf);
  put_literal (e, buf);
  return TRUE;
}

/* Opens boxes and Justs; returns a new reference to what is inside, which
 * is a maybe only if it is Nothing. */
static GVariant *
unwrap (GVariant *value)
{
  GVariant *v = g_variant_ref (value);

  for (;;)
    {
      GVariant *inner;

      if (g_variant_is_of_type (v, G_VARIANT_TYPE_VARIANT))
        inner = g_variant_get_variant (v);
      else if (g_variant_is_of_type (v, G_VARIANT_TYPE_MAYBE))
        {
          inner = g_variant_get_maybe (v);
          if (inner == NULL)
            return v;
        }
      else
        return v;
      g_variant_unref (v);
      v = inner;
    }
}

static gboolean
is_string (GVariant *v)
{
  return g_variant_is_of_type (v, G_VARIANT_TYPE_STRING)
         || g_variant_is_of_type (v, G_VARIANT_TYPE_OBJECT_PATH)
         || g_variant_is_of_type (v, G_VARIANT_TYPE_SIGNATURE);
}

/* Whether a map can be a plain JSON object: string keys, none repeated,
 * and not one that reads as a tag. */
static gboolean
map_is_plain_object (GVariant *map)
{
  gsize n = g_variant_n_children (map);
  g_autoptr (GHashTable) seen = NULL;

  if (n > 1)
    seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) entry = g_variant_get_child_value (map, i);
      g_autoptr (GVariant) raw_key = g_variant_get_child_value (entry, 0);
      g_autoptr (GVariant) key = unwrap (raw_key);
      const char *s;

      if (!is_string (key))
        return FALSE;
      s = g_variant_get_string (key, NULL);
      if (n == 1)
        return strcmp (s, TAG_BYTES) != 0 && strcmp (s, TAG_MAP) != 0;
      if (!g_hash_table_add (seen, g_strdup (s)))
        return FALSE;
    }
  return TRUE;
}

static gboolean encode_value (Encoder *e, GVariant *value, guint depth);

static gboolean
encode_map (Encoder *e, GVariant *map, guint depth)
{
  gsize n = g_variant_n_children (map);
  gboolean plain = map_is_plain_object (map);

  put_literal (e, plain ? "{" : "{\"" TAG_MAP "\":[");
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) entry = g_variant_get_child_value (map, i);
      g_autoptr (GVariant) k = g_variant_get_child_value (entry, 0);
      g_autoptr (GVariant) v = g_variant_get_child_value (entry, 1);

      if (i > 0)
        put (e, ",", 1);
      if (plain)
        {
          g_autoptr (GVariant) key = unwrap (k);
          gsize len;
          const char *s = g_variant_get_string (key, &len);

          put_string (e, s, len);
          put (e, ":", 1);
          if (!encode_value (e, v, depth + 1))
            return FALSE;
        }
      else
        {
          put (e, "[", 1);
          if (!encode_value (e, k, depth + 1))
            return FALSE;
          put (e, ",", 1);
          if (!encode_value (e, v, depth + 1))
            return FALSE;
          put (e, "]", 1);
        }
    }
  put_literal (e, plain ? "}" : "]}");
  return TRUE;
}

static gboolean
encode_value (Encoder *e, GVariant *value, guint depth)
{
  g_autoptr (GVariant) v = unwrap (value);
  const char *type = g_variant_get_type_string (v);

  switch (type[0])
    {
    case 'm': /* Nothing */
      put_literal (e, "null");
      return TRUE;
    case 'b':
      put_literal (e, g_variant_get_boolean (v) ? "true" : "false");
      return TRUE;
    case 'y':
      return put_integer (e, FALSE, g_variant_get_byte (v));
    case 'n':
      return put_signed (e, g_variant_get_int16 (v));
    case 'q':
      return put_integer (e, FALSE, g_variant_get_uint16 (v));
    case 'i':
      return put_signed (e, g_variant_get_int32 (v));
    case 'h':
      return put_signed (e, g_variant_get_handle (v));
    case 'u':
      return put_integer (e, FALSE, g_variant_get_uint32 (v));
    case 'x':
      return put_signed (e, g_variant_get_int64 (v));
    case 't':
      return put_integer (e, FALSE, g_variant_get_uint64 (v));
    case 'd':
      return put_double (e, g_variant_get_double (v));
    case 's':
    case 'o':
    case 'g':
      {
        gsize len;
        const char *s = g_variant_get_string (v, &len);

        put_string (e, s, len);
        return TRUE;
      }
    default:
      break;
    }

  /* Binaries are scalars, in a tagged object. */
  if (type[0] == 'a' && type[1] == 'y')
    {
      gsize len = 0;
      gconstpointer bytes = g_variant_get_fixed_array (v, &len, 1);

      put_literal (e, "{\"" TAG_BYTES "\":\"");
      put_base64 (e, bytes, len);
      put_literal (e, "\"}");
      return TRUE;
    }

  /* A container: one more level of nesting. */
  if (!gossip_codec_check_depth (depth, e->error))
    return FALSE;

  if (type[0] == 'a' && (type[1] == '{' || strcmp (type, "a(vv)") == 0))
    return encode_map (e, v, depth);

  /* Other arrays, tuples and (stray) dict entries. */
  {
    gsize n = g_variant_n_children (v);

    put (e, "[", 1);
    for (gsize i = 0; i < n; i++)
      {
        g_autoptr (GVariant) child = g_variant_get_child_value (v, i);

        if (i > 0)
          put (e, ",", 1);
        if (!encode_value (e, child, depth + 1))
          return FALSE;
      }
    put (e, "]", 1);
    return TRUE;
  }
}

/* --------------------------------------------------------------- validate */

typedef struct
{
  const char *start;
  const char *p;
  const char *end;
  /* The member count of every object, in the order they open. */
  GArray *object_sizes;
  GError **error;
} Scanner;

static gboolean scan_fail (Scanner *s, GossipCodecError code, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
scan_fail (Scanner *s, GossipCodecError code, const char *format, ...)
{
  va_list ap;
  g_autofree char *message = NULL;

  if (s->error != NULL && *s->error == NULL)
    {
      va_start (ap, format);
      message = g_strdup_vprintf (format, ap);
      va_end (ap);
      *s->error = g_error_new (GOSSIP_CODEC_ERROR, code, "JSON, byte %" G_GSIZE_FORMAT ": %s",
                               (gsize) (s->p - s->start), message);
    }
  return FALSE;
}

static void
skip_space (Scanner *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

/* Reads 4 hex digits after "\u": 1, or 0 if the input ends first, or -1. */
static int
scan_hex4 (Scanner *s, guint *out)
{
  guint v = 0;

  for (guint i = 0; i < 4; i++)
    {
      int d;

      if (s->p + i >= s->end)
        return 0;
      d = g_ascii_xdigit_value (s->p[i]);
      if (d < 0)
        return -1;
      v = v * 16 + (guint) d;
    }
  s->p += 4;
  *out = v;
  return 1;
}

static gboolean
scan_unicode_escape (Scanner *s)
{
  guint cp = 0, low = 0;
  int r = scan_hex4 (s, &cp);

  if (r <= 0)
    return scan_fail (s, r == 0 ? GOSSIP_CODEC_ERROR_TRUNCATED : GOSSIP_CODEC_ERROR_MALFORMED,
                      "a \\u escape needs 4 hex digits");
  if (cp == 0)
    return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED,
                      "\\u0000: a GVariant string cannot hold a NUL character");
  if (cp >= 0xdc00 && cp <= 0xdfff)
    return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "a low surrogate without a high one");
  if (cp < 0xd800 || cp > 0xdbff)
    return TRUE;
  /* A high surrogate: a low one must follow. */
  for (guint i = 0; i < 2; i++)
    {
      if (s->p + i >= s->end)
        return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED, "input ends inside a surrogate pair");
      if (s->p[i] != "\\u"[i])
        return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "a high surrogate without a low one");
    }
  s->p += 2;
  r = scan_hex4 (s, &low);
  if (r <= 0)
    return scan_fail (s, r == 0 ? GOSSIP_CODEC_ERROR_TRUNCATED : GOSSIP_CODEC_ERROR_MALFORMED,
                      "a \\u escape needs 4 hex digits");
  if (low < 0xdc00 || low > 0xdfff)
    return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "a high surrogate without a low one");
  return TRUE;
}

/* At the opening quote. */
static gboolean
scan_string (Scanner *s)
{
  s->p++;
  for (;;)
    {
      guchar c;

      if (s->p >= s->end)
        return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED, "input ends inside a string");
      c = (guchar) *s->p;
      if (c == '"')
        {
          s->p++;
          return TRUE;
        }
      if (c < 0x20)
        return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "control character 0x%02x in a string",
                          c);
      s->p++;
      if (c != '\\')
        continue; /* UTF-8 was checked for the whole input */
      if (s->p >= s->end)
        return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED, "input ends inside an escape");
      c = (guchar) *s->p++;
      if (c == 'u')
        {
          if (!scan_unicode_escape (s))
            return FALSE;
        }
      else if (strchr ("\"\\/bfnrt", c) == NULL || c == '\0')
        {
          s->p--;
          return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "invalid escape \\%c in a string",
                            g_ascii_isprint (c) ? c : '?');
        }
    }
}

static gboolean
scan_digits (Scanner *s, const char *what)
{
  if (s->p >= s->end)
    return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED, "input ends inside a number");
  if (!g_ascii_isdigit (*s->p))
    return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "%s needs digits", what);
  while (s->p < s->end && g_ascii_isdigit (*s->p))
    s->p++;
  return TRUE;
}

static gboolean
scan_number (Scanner *s)
{
  const char *begin = s->p;
  gboolean integer = TRUE;

  if (*s->p == '-')
    s->p++;
  if (s->p < s->end && *s->p == '0')
    {
      s->p++;
      if (s->p < s->end && g_ascii_isdigit (*s->p))
        return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "a number with a leading zero");
    }
  else if (!scan_digits (s, "a number"))
    return FALSE;
  if (s->p < s->end && *s->p == '.')
    {
      s->p++;
      integer = FALSE;
      if (!scan_digits (s, "a fraction"))
        return FALSE;
    }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
    {
      s->p++;
      integer = FALSE;
      if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
        s->p++;
      if (!scan_digits (s, "an exponent"))
        return FALSE;
    }

  if (integer)
    {
      guint64 magnitude = 0;

      for (const char *q = begin + (*begin == '-'); q < s->p; q++)
        {
          magnitude = magnitude * 10 + (guint64) (*q - '0');
          if (magnitude > JSON_MAX_INTEGER)
            {
              s->p = begin;
              return scan_fail (s, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                                "an integer beyond 2^53, which JSON does not carry exactly");
            }
        }
    }
  else
    {
      g_autofree char *text = g_strndup (begin, (gsize) (s->p - begin));

      if (!isfinite (g_ascii_strtod (text, NULL)))
        {
          s->p = begin;
          return scan_fail (s, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                            "a number beyond the range of a double");
        }
    }
  return TRUE;
}

static gboolean
scan_literal (Scanner *s)
{
  const char *word = *s->p == 't' ? "true" : *s->p == 'f' ? "false" : "null";

  for (gsize i = 0; word[i] != '\0'; i++)
    {
      if (s->p + i >= s->end)
        return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED, "input ends inside '%s'", word);
      if (s->p[i] != word[i])
        return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "not a JSON value");
    }
  s->p += strlen (word);
  return TRUE;
}

/* A key and its colon, after the opening brace or a comma. */
static gboolean
scan_key (Scanner *s, guint object)
{
  skip_space (s);
  if (s->p >= s->end)
    return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED, "input ends inside an object");
  if (*s->p != '"')
    return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "object keys must be strings");
  if (!scan_string (s))
    return FALSE;
  skip_space (s);
  if (s->p >= s->end)
    return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED, "input ends inside an object");
  if (*s->p != ':')
    return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "expected ':' after an object key");
  s->p++;
  g_array_index (s->object_sizes, guint, object)++;
  return TRUE;
}

static gboolean
scan_utf8 (Scanner *s)
{
  const char *bad;

  if (g_utf8_validate_len (s->start, (gsize) (s->end - s->start), &bad))
    return TRUE;
  s->p = bad;
  /* A character cut by the end of the input is a truncation. */
  if (*bad != '\0' && g_utf8_get_char_validated (bad, (gssize) (s->end - bad)) == (gunichar) -2)
    return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED, "input ends inside a UTF-8 character");
  return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "not valid UTF-8, or a NUL byte");
}

/* Checks that the input is exactly one JSON value, iteratively. */
static gboolean
scan_document (Scanner *s)
{
  char open[MAX_RAW_DEPTH];
  guint object[MAX_RAW_DEPTH];
  guint depth = 0;

  if (!scan_utf8 (s))
    return FALSE;
  s->p = s->start;
  for (;;)
    {
      char c;

      /* A value. */
      skip_space (s);
      if (s->p >= s->end)
        return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED,
                          depth ? "input ends inside a container" : "no JSON value");
      c = *s->p;
      if (c == '[' || c == '{')
        {
          if (depth >= MAX_RAW_DEPTH)
            return scan_fail (s, GOSSIP_CODEC_ERROR_TOO_DEEP,
                              "JSON nests deeper than a value of %d containers can",
                              GOSSIP_CODEC_MAX_DEPTH);
          s->p++;
          open[depth] = c;
          if (c == '{')
            {
              guint zero = 0;

              object[depth] = s->object_sizes->len;
              g_array_append_val (s->object_sizes, zero);
            }
          depth++;
          skip_space (s);
          if (s->p < s->end && *s->p == (c == '[' ? ']' : '}'))
            {
              s->p++;
              depth--;
            }
          else
            {
              if (c == '{' && !scan_key (s, object[depth - 1]))
                return FALSE;
              continue;
            }
        }
      else if (c == '"')
        {
          if (!scan_string (s))
            return FALSE;
        }
      else if (c == '-' || g_ascii_isdigit (c))
        {
          if (!scan_number (s))
            return FALSE;
        }
      else if (c == 't' || c == 'f' || c == 'n')
        {
          if (!scan_literal (s))
            return FALSE;
        }
      else
        return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "not a JSON value");

      /* After a value: close containers, or a comma and the next value. */
      for (;;)
        {
          char close;

          skip_space (s);
          if (depth == 0)
            {
              if (s->p < s->end)
                return scan_fail (s, GOSSIP_CODEC_ERROR_TRAILING,
                                  "%" G_GSIZE_FORMAT " bytes after the end of the JSON value",
                                  (gsize) (s->end - s->p));
              return TRUE;
            }
          if (s->p >= s->end)
            return scan_fail (s, GOSSIP_CODEC_ERROR_TRUNCATED, "input ends inside a container");
          close = open[depth - 1] == '[' ? ']' : '}';
          if (*s->p == close)
            {
              s->p++;
              depth--;
              continue;
            }
          if (*s->p != ',')
            return scan_fail (s, GOSSIP_CODEC_ERROR_MALFORMED, "expected ',' or '%c'", close);
          s->p++;
          if (open[depth - 1] == '{' && !scan_key (s, object[depth - 1]))
            return FALSE;
          break;
        }
    }
}

/* ------------------------------------------------------------------ build */

typedef struct
{
  GArray *object_sizes;
  guint next_object;
  GError **error;
} Builder;

static gboolean build_fail (Builder *b, GossipCodecError code, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
build_fail (Builder *b, GossipCodecError code, const char *format, ...)
{
  va_list ap;

  if (b->error != NULL && *b->error == NULL)
    {
      va_start (ap, format);
      *b->error = g_error_new_valist (GOSSIP_CODEC_ERROR, code, format, ap);
      va_end (ap);
    }
  return FALSE;
}

static GVariant *build_value (Builder *b, JsonNode *node, guint depth);

static GVariant *
build_string (Builder *b, const char *s)
{
  /* The validator refused \u0000 and lone surrogates; check anyway, since
   * g_variant_new_string() would not take anything else. */
  if (s == NULL || !g_utf8_validate (s, -1, NULL))
    {
      build_fail (b, GOSSIP_CODEC_ERROR_MALFORMED, "a JSON string GVariant cannot hold");
      return NULL;
    }
  return g_variant_new_string (s);
}

static int
base64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Whether @text is base64 exactly as g_base64_encode() writes it: whole
 * groups of 4, only the alphabet, '=' only as the padding of the last group,
 * and zero in the bits the padding leaves unused. */
static gboolean
is_canonical_base64 (const char *text)
{
  gsize len = strlen (text);
  gsize pad = 0;

  if (len % 4 != 0)
    return FALSE;
  while (pad < 2 && pad < len && text[len - 1 - pad] == '=')
    pad++;
  for (gsize i = 0; i < len - pad; i++)
    if (base64_value (text[i]) < 0)
      return FALSE;
  if (pad == 0)
    return TRUE;
  /* With one '=', the last character carries 2 unused bits; with two, 4. */
  return (base64_value (text[len - pad - 1]) & (pad == 1 ? 0x3 : 0xf)) == 0;
}

static GVariant *
build_binary (Builder *b, JsonNode *node)
{
  const char *text;
  guchar *bytes;
  gsize len = 0;

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      build_fail (b, GOSSIP_CODEC_ERROR_MALFORMED, "\"" TAG_BYTES "\" needs a base64 string");
      return NULL;
    }
  text = json_node_get_string (node);
  /* g_base64_decode() skips what is not base64: only the canonical form,
   * the one that encodes back to the same text, is taken. */
  if (!is_canonical_base64 (text))
    {
      build_fail (b, GOSSIP_CODEC_ERROR_MALFORMED,
                  "\"" TAG_BYTES "\" holds no canonical base64 text");
      return NULL;
    }
  bytes = g_base64_decode (text, &len);
  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, bytes, len, TRUE, g_free, bytes);
}

static GVariant *
build_tagged_map (Builder *b, JsonNode *node, guint depth)
{
  g_autoptr (GossipCodecBuilder) map = NULL;
  JsonArray *pairs;
  gsize n;

  if (!gossip_codec_check_depth (depth, b->error))
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      build_fail (b, GOSSIP_CODEC_ERROR_MALFORMED, "\"" TAG_MAP "\" needs an array of pairs");
      return NULL;
    }
  pairs = json_node_get_array (node);
  n = json_array_get_length (pairs);
  map = gossip_codec_builder_new (2 * n);
  for (gsize i = 0; i < n; i++)
    {
      JsonNode *pair = json_array_get_element (pairs, (guint) i);
      JsonArray *kv = JSON_NODE_HOLDS_ARRAY (pair) ? json_node_get_array (pair) : NULL;

      if (kv == NULL || json_array_get_length (kv) != 2)
        {
          build_fail (b, GOSSIP_CODEC_ERROR_MALFORMED,
                      "\"" TAG_MAP "\" element %" G_GSIZE_FORMAT " is not a [key, value] pair", i);
          return NULL;
        }
      for (guint k = 0; k < 2; k++)
        {
          GVariant *child = build_value (b, json_array_get_element (kv, k), depth + 1);

          if (child == NULL)
            return NULL;
          gossip_codec_builder_add (map, child);
        }
    }
  return gossip_codec_builder_end_map (g_steal_pointer (&map));
}

static GVariant *
build_object (Builder *b, JsonObject *object, guint depth)
{
  guint index = b->next_object++;
  gsize n = json_object_get_size (object);
  g_autoptr (GossipCodecBuilder) map = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  gsize i = 0;

  /* Objects are visited in the order they open, as they were counted. */
  if (index >= b->object_sizes->len || g_array_index (b->object_sizes, guint, index) != n)
    {
      build_fail (b, GOSSIP_CODEC_ERROR_MALFORMED, "a JSON object with a repeated key");
      return NULL;
    }
  if (n == 1)
    {
      json_object_iter_init_ordered (&iter, object);
      json_object_iter_next_ordered (&iter, &name, &member);
      if (strcmp (name, TAG_BYTES) == 0)
        return build_binary (b, member);
      if (strcmp (name, TAG_MAP) == 0)
        return build_tagged_map (b, member, depth);
    }

  if (!gossip_codec_check_depth (depth, b->error))
    return NULL;
  map = gossip_codec_builder_new (2 * n);
  json_object_iter_init_ordered (&iter, object);
  for (; i < n && json_object_iter_next_ordered (&iter, &name, &member); i++)
    {
      GVariant *key = build_string (b, name);
      GVariant *value;

      if (key == NULL)
        return NULL;
      gossip_codec_builder_add (map, key);
      value = build_value (b, member, depth + 1);
      if (value == NULL)
        return NULL;
      gossip_codec_builder_add (map, value);
    }
  if (i < n)
    {
      build_fail (b, GOSSIP_CODEC_ERROR_MALFORMED, "a JSON object lost members");
      return NULL;
    }
  return gossip_codec_builder_end_map (g_steal_pointer (&map));
}

static GVariant *
build_array (Builder *b, JsonArray *array, guint depth)
{
  gsize n = json_array_get_length (array);
  g_autoptr (GossipCodecBuilder) items = NULL;

  if (!gossip_codec_check_depth (depth, b->error))
    return NULL;
  items = gossip_codec_builder_new (n);
  for (gsize i = 0; i < n; i++)
    {
      GVariant *child = build_value (b, json_array_get_element (array, (guint) i), depth + 1);

      if (child == NULL)
        return NULL;
      gossip_codec_builder_add (items, child);
    }
  return gossip_codec_builder_end_array (g_steal_pointer (&items));
}

/* Returns a floating reference, or NULL with b->error set. */
static GVariant *
build_value (Builder *b, JsonNode *node, guint depth)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_NULL:
      return g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);
    case JSON_NODE_ARRAY:
      return build_array (b, json_node_get_array (node), depth);
    case JSON_NODE_OBJECT:
      return build_object (b, json_node_get_object (node), depth);
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_BOOLEAN:
      return g_variant_new_boolean (json_node_get_boolean (node));
    case G_TYPE_INT64:
      /* The validator kept integers within 2^53. */
      return g_variant_new_int64 (json_node_get_int (node));
    case G_TYPE_DOUBLE:
      return g_variant_new_double (json_node_get_double (node));
    case G_TYPE_STRING:
      return build_string (b, json_node_get_string (node));
    default:
      build_fail (b, GOSSIP_CODEC_ERROR_MALFORMED, "a JSON value of unexpected type %s",
                  g_type_name (json_node_get_value_type (node)));
      return NULL;
    }
}

/* ------------------------------------------------------------------ vtable */

static gboolean
json_codec_encode (gpointer self, GVariant *value, GByteArray *out, GError **error)
{
  Encoder e = { .out = out, .error = error };
  guint old_len = out->len;
  gboolean ok;

  g_return_val_if_fail (value != NULL, FALSE);

  ok = encode_value (&e, value, 0);
  if (ok && e.overflow)
    {
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                   "the encoding does not fit in a byte array (4 GiB)");
      ok = FALSE;
    }
  if (!ok)
    g_byte_array_set_size (out, old_len);
  return ok;
}

static GVariant *
json_codec_decode (gpointer self, const guint8 *data, gsize len, GError **error)
{
  g_autoptr (GArray) object_sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  Scanner s = { (const char *) data, (const char *) data, (const char *) data + len, object_sizes,
                error };
  Builder b = { object_sizes, 0, error };
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) parse_error = NULL;
  GVariant *value;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len == 0)
    {
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_TRUNCATED, "empty JSON input");
      return NULL;
    }
  if (len > G_MAXSSIZE)
    {
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_UNSUPPORTED,
                   "JSON input too long");
      return NULL;
    }
  if (!scan_document (&s))
    return NULL;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, (const char *) data, (gssize) len, &parse_error))
    {
      g_set_error (error, GOSSIP_CODEC_ERROR, GOSSIP_CODEC_ERROR_MALFORMED, "JSON: %s",
                   parse_error->message);
      return NULL;
    }
  value = build_value (&b, json_parser_get_root (parser), 0);
  if (value == NULL)
    return NULL;
  return g_variant_ref_sink (value);
}

static const GossipCodecVTable json_vtable = {
  .struct_size = sizeof (GossipCodecVTable),
  .wire_id = 2,
  .create = gossip_codec_create_stateless,
  .destroy = gossip_codec_destroy_stateless,
  .encode = json_codec_encode,
  .decode = json_codec_decode,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_CODEC, "json", PACKAGE_VERSION,
                      "JSON through json-glib (human-readable, for debugging)", NULL, &json_vtable);
