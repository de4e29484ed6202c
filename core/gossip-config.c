/* gossip-config.c: every setting of a cluster, from a keyfile or from C.
 *
 * The settings live in one table (gossip-config-keys.c); this file is the
 * table-driven machinery around it: parsing and formatting each type,
 * range and sanity checks, profiles, atomic keyfile loading with line
 * numbers in errors, and the cross-key checks of gossip_config_validate().
 *
 * Each key remembers whether it was given explicitly (in a keyfile or by a
 * setter).  A profile only ever sets keys that were not, so an explicit key
 * wins over the profile whatever the order in which both were given.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "gossip-config-private.h"

#define MAX_NODE_ID_BYTES 128
#define MAX_QUOTED_BYTES  64
#define US_PER_MS         G_GINT64_CONSTANT (1000)
#define US_PER_S          (1000 * US_PER_MS)
#define US_PER_MIN        (60 * US_PER_S)
#define US_PER_HOUR       (60 * US_PER_MIN)
#define BYTES_PER_KIB     G_GUINT64_CONSTANT (1024)
#define BYTES_PER_MIB     (1024 * BYTES_PER_KIB)
#define BYTES_PER_GIB     (1024 * BYTES_PER_MIB)
#define DURATION_EXPECTED "expected a duration like 250ms, 1s or 5m"
#define SIZE_EXPECTED     "expected a size like 1400, 64KiB or 4MiB"

/* One value; which member is used depends on the key's type. */
typedef struct
{
  gint64 i;    /* BOOLEAN, INT, DURATION (microseconds) */
  guint64 u;   /* SIZE */
  double d;    /* DOUBLE */
  char *s;     /* STRING, CHOICE */
  char **strv; /* STRV, never NULL once set */
} Value;

struct _GossipConfig
{
  GObject parent_instance;

  Value *values;          /* _gossip_config_n_keys */
  gboolean *explicit_set; /* _gossip_config_n_keys */
};

G_DEFINE_FINAL_TYPE (GossipConfig, gossip_config, G_TYPE_OBJECT)

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */

static void
wipe (char *s)
{
  if (s == NULL)
    return;
  for (volatile char *p = s; *p != '\0'; p++)
    *p = '\0';
}

static gboolean
is_secret (guint idx)
{
  return _gossip_config_key_info[idx].check == GOSSIP_CONFIG_CHECK_BASE64_KEY;
}

static void
value_clear (guint idx, Value *v)
{
  if (is_secret (idx))
    {
      wipe (v->s);
      for (guint i = 0; v->strv != NULL && v->strv[i] != NULL; i++)
        wipe (v->strv[i]);
    }
  g_clear_pointer (&v->s, g_free);
  g_clear_pointer (&v->strv, g_strfreev);
  memset (v, 0, sizeof *v);
}

static void
value_copy (const Value *from, Value *to)
{
  *to = *from;
  to->s = g_strdup (from->s);
  to->strv = g_strdupv (from->strv);
}

/* Moves @from into slot @idx of @values, freeing the old value. */
static void
value_replace (Value *values, guint idx, Value *from)
{
  value_clear (idx, &values[idx]);
  values[idx] = *from;
  memset (from, 0, sizeof *from);
}

static int
find_key (const char *group, const char *key)
{
  for (guint i = 0; i < _gossip_config_n_keys; i++)
    if (strcmp (_gossip_config_keys[i].group, group) == 0
        && strcmp (_gossip_config_keys[i].key, key) == 0)
      return (int) i;
  return -1;
}

static gboolean
group_known (const char *group)
{
  for (guint i = 0; i < _gossip_config_n_keys; i++)
    if (strcmp (_gossip_config_keys[i].group, group) == 0)
      return TRUE;
  return FALSE;
}

static int
profile_key_index (void)
{
  return find_key ("health", "profile");
}

static const char *
type_name (GossipConfigType type)
{
  switch (type)
    {
    case GOSSIP_CONFIG_TYPE_BOOLEAN:
      return "boolean";
    case GOSSIP_CONFIG_TYPE_INT:
      return "integer";
    case GOSSIP_CONFIG_TYPE_DOUBLE:
      return "number";
    case GOSSIP_CONFIG_TYPE_SIZE:
      return "size";
    case GOSSIP_CONFIG_TYPE_DURATION:
      return "duration";
    case GOSSIP_CONFIG_TYPE_STRING:
      return "string";
    case GOSSIP_CONFIG_TYPE_STRV:
      return "list";
    case GOSSIP_CONFIG_TYPE_CHOICE:
      return "choice";
    default:
      return "unknown type";
    }
}

/* User text, escaped and shortened, for quoting in a message. */
static char *
quote (const char *text)
{
  g_autofree char *escaped = g_strescape (text, NULL);

  if (strlen (escaped) > MAX_QUOTED_BYTES)
    return g_strdup_printf ("%.*s...", MAX_QUOTED_BYTES, escaped);
  return g_steal_pointer (&escaped);
}

/* Levenshtein distance, for "did you mean" suggestions. */
static guint
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *row = g_new (guint, lb + 1);
  guint result;

  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diag = row[0];

      row[0] = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint up = row[j];
          guint best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

          best = MIN (best, up + 1);
          best = MIN (best, row[j - 1] + 1);
          row[j] = best;
          diag = up;
        }
    }
  result = row[lb];
  return result;
}

static gboolean
close_enough (const char *typed, const char *known, guint distance)
{
  return distance <= MAX (2u, (guint) strlen (known) / 3) && distance < strlen (known);
}

/* "[group] key (line N): " or "[group] key: " */
static void
prefix_key_error (GError **error, guint idx, int line)
{
  const GossipConfigKey *k = &_gossip_config_keys[idx];

  if (line > 0)
    g_prefix_error (error, "[%s] %s (line %d): ", k->group, k->key, line);
  else
    g_prefix_error (error, "[%s] %s: ", k->group, k->key);
}

static void
set_unknown_group_error (GError **error, const char *group, int line)
{
  g_autofree char *quoted = quote (group);
  g_autofree char *where = line > 0 ? g_strdup_printf (" (line %d)", line) : g_strdup ("");
  const char *best = NULL;
  guint best_distance = G_MAXUINT;
  g_autoptr (GString) known = g_string_new (NULL);

  for (guint i = 0; i < _gossip_config_n_keys; i++)
    {
      const char *g = _gossip_config_keys[i].group;
      guint d;

      if (i > 0 && strcmp (g, _gossip_config_keys[i - 1].group) == 0)
        continue;
      g_string_append_printf (known, "%s%s", known->len > 0 ? ", " : "", g);
      d = edit_distance (group, g);
      if (d < best_distance)
        {
          best_distance = d;
          best = g;
        }
    }
  if (best != NULL && close_enough (group, best, best_distance))
    g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_UNKNOWN_GROUP,
                 "[%s]%s: unknown group; did you mean '%s'?", quoted, where, best);
  else
    g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_UNKNOWN_GROUP,
                 "[%s]%s: unknown group; the groups are %s", quoted, where, known->str);
}

static void
set_unknown_key_error (GError **error, const char *group, const char *key, int line)
{
  g_autofree char *quoted = quote (key);
  g_autofree char *where = line > 0 ? g_strdup_printf (" (line %d)", line) : g_strdup ("");
  const char *best = NULL;
  const char *elsewhere = NULL;
  guint best_distance = G_MAXUINT;
  g_autoptr (GString) known = g_string_new (NULL);

  for (guint i = 0; i < _gossip_config_n_keys; i++)
    {
      const GossipConfigKey *k = &_gossip_config_keys[i];

      if (strcmp (k->group, group) != 0)
        {
          if (strcmp (k->key, key) == 0 && elsewhere == NULL)
            elsewhere = k->group;
          continue;
        }
      g_string_append_printf (known, "%s%s", known->len > 0 ? ", " : "", k->key);
      guint d = edit_distance (key, k->key);
      if (d < best_distance)
        {
          best_distance = d;
          best = k->key;
        }
    }
  if (best != NULL && close_enough (key, best, best_distance))
    g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_UNKNOWN_KEY,
                 "[%s] %s%s: unknown key; did you mean '%s'?", group, quoted, where, best);
  else if (elsewhere != NULL)
    g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_UNKNOWN_KEY,
                 "[%s] %s%s: unknown key; did you mean [%s] %s?", group, quoted, where, elsewhere,
                 key);
  else
    g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_UNKNOWN_KEY,
                 "[%s] %s%s: unknown key; the keys of [%s] are %s", group, quoted, where, group,
                 known->str);
}

/* Finds a key for the C API: an error naming the closest key if unknown. */
static int
lookup_key (const char *group, const char *key, GError **error)
{
  int idx = find_key (group, key);

  if (idx >= 0)
    return idx;
  if (!group_known (group))
    set_unknown_group_error (error, group, 0);
  else
    set_unknown_key_error (error, group, key, 0);
  return -1;
}

/* ---------------------------------------------------------------------- */
/* Durations and sizes                                                     */

static const char *
skip_space (const char *p)
{
  while (g_ascii_isspace (*p))
    p++;
  return p;
}

/* Reads decimal digits; FALSE on overflow of a guint64. */
static gboolean
read_digits (const char **p, guint64 *out, guint *n_digits)
{
  guint64 v = 0;
  guint n = 0;

  while (g_ascii_isdigit (**p))
    {
      guint digit = (guint) (**p - '0');

      if (v > (G_MAXUINT64 - digit) / 10)
        return FALSE;
      v = v * 10 + digit;
      n++;
      (*p)++;
    }
  *out = v;
  *n_digits = n;
  return TRUE;
}

/* Splits "<unit><space>" at @p; FALSE if anything follows the unit. */
static gboolean
read_unit (const char *p, char **unit)
{
  const char *start = skip_space (p);
  const char *end = start;

  while (g_ascii_isalpha (*end))
    end++;
  *unit = g_strndup (start, (gsize) (end - start));
  return *skip_space (end) == '\0';
}

/**
 * gossip_parse_duration:
 * @text: a duration such as "250ms", "1.5s", "5m", "1h", "1500us" or a bare
 *   number of milliseconds
 * @out_us: (out) (optional): the duration in microseconds
 * @error: return location for a #GError, or %NULL
 *
 * Parses a duration as written in keyfiles.  The units are us, ms, s, m and
 * h; a bare number means milliseconds; a decimal fraction is allowed as long
 * as the result is a whole number of microseconds.  Negative, empty,
 * malformed and overflowing values are refused.
 *
 * Returns: %TRUE on success; %FALSE with %GOSSIP_CONFIG_ERROR_BAD_VALUE or
 *   %GOSSIP_CONFIG_ERROR_OUT_OF_RANGE (overflow) in @error
 */
gboolean
gossip_parse_duration (const char *text, gint64 *out_us, GError **error)
{
  static const struct
  {
    const char *name;
    guint64 us;
  } units[] = {
    { "", US_PER_MS }, { "us", 1 },         { "ms", US_PER_MS },
    { "s", US_PER_S }, { "m", US_PER_MIN }, { "h", US_PER_HOUR },
  };
  g_autofree char *quoted = NULL;
  g_autofree char *unit = NULL;
  const char *p;
  guint64 whole, frac = 0, frac_scale = 1, scale = 0, total, frac_us;
  guint n_digits, n_frac = 0;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  quoted = quote (text);
  p = skip_space (text);
  if (*p == '-')
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   DURATION_EXPECTED ", got '%s'; durations cannot be negative", quoted);
      return FALSE;
    }
  if (!read_digits (&p, &whole, &n_digits))
    goto overflow;
  if (n_digits == 0)
    goto malformed;
  if (*p == '.')
    {
      p++;
      while (g_ascii_isdigit (*p))
        {
          if (n_frac == 9)
            {
              g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                           DURATION_EXPECTED ", got '%s'; at most 9 decimals are allowed", quoted);
              return FALSE;
            }
          frac = frac * 10 + (guint64) (*p - '0');
          frac_scale *= 10;
          n_frac++;
          p++;
        }
      if (n_frac == 0)
        goto malformed;
    }
  if (!read_unit (p, &unit))
    goto malformed;
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (strcmp (unit, units[i].name) == 0)
      scale = units[i].us;
  if (scale == 0)
    {
      g_autofree char *quoted_unit = quote (unit);

      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   DURATION_EXPECTED ", got '%s'; unknown unit '%s' (the units are us, ms, s, m "
                                     "and h; a bare number is milliseconds)",
                   quoted, quoted_unit);
      return FALSE;
    }
  frac_us = frac * scale; /* < 10^9 * 3.6 * 10^9: no overflow */
  if (frac_us % frac_scale != 0)
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   DURATION_EXPECTED ", got '%s'; durations are whole microseconds", quoted);
      return FALSE;
    }
  if (whole > (guint64) G_MAXINT64 / scale)
    goto overflow;
  total = whole * scale + frac_us / frac_scale;
  if (total > (guint64) G_MAXINT64)
    goto overflow;
  if (out_us != NULL)
    *out_us = (gint64) total;
  return TRUE;

malformed:
  g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
               DURATION_EXPECTED ", got '%s'", quoted);
  return FALSE;
overflow:
  g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
               "duration '%s' is too long (more than 2^63 microseconds)", quoted);
  return FALSE;
}

/**
 * gossip_parse_size:
 * @text: a size such as "1400", "64KiB", "4MiB" or "1GiB"
 * @out_bytes: (out) (optional): the size in bytes
 * @error: return location for a #GError, or %NULL
 *
 * Parses a size as written in keyfiles: a whole number, optionally followed
 * by B, KiB, MiB or GiB.  Other units (KB, MB, k...) are refused rather than
 * guessed at.
 *
 * Returns: %TRUE on success; %FALSE with %GOSSIP_CONFIG_ERROR_BAD_VALUE or
 *   %GOSSIP_CONFIG_ERROR_OUT_OF_RANGE (overflow) in @error
 */
gboolean
gossip_parse_size (const char *text, guint64 *out_bytes, GError **error)
{
  static const struct
  {
    const char *name;
    guint64 bytes;
  } units[] = {
    { "", 1 },
    { "B", 1 },
    { "KiB", BYTES_PER_KIB },
    { "MiB", BYTES_PER_MIB },
    { "GiB", BYTES_PER_GIB },
  };
  g_autofree char *quoted = NULL;
  g_autofree char *unit = NULL;
  const char *p;
  guint64 whole, scale = 0;
  guint n_digits;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  quoted = quote (text);
  p = skip_space (text);
  if (!read_digits (&p, &whole, &n_digits))
    goto overflow;
  if (n_digits == 0 || !read_unit (p, &unit))
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   SIZE_EXPECTED ", got '%s'", quoted);
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (strcmp (unit, units[i].name) == 0)
      scale = units[i].bytes;
  if (scale == 0)
    {
      g_autofree char *quoted_unit = quote (unit);

      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   SIZE_EXPECTED ", got '%s'; unknown unit '%s' (the units are bytes, KiB, MiB "
                                 "and GiB)",
                   quoted, quoted_unit);
      return FALSE;
    }
  if (whole > G_MAXUINT64 / scale)
    goto overflow;
  if (out_bytes != NULL)
    *out_bytes = whole * scale;
  return TRUE;

overflow:
  g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
               "size '%s' is too large (more than 2^64 bytes)", quoted);
  return FALSE;
}

static char *
format_duration (gint64 us)
{
  static const struct
  {
    const char *name;
    gint64 us;
  } units[] = {
    { "h", US_PER_HOUR },
    { "m", US_PER_MIN },
    { "s", US_PER_S },
    { "ms", US_PER_MS },
  };

  if (us == 0)
    return g_strdup ("0s");
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (us % units[i].us == 0)
      return g_strdup_printf ("%" G_GINT64_FORMAT "%s", us / units[i].us, units[i].name);
  return g_strdup_printf ("%" G_GINT64_FORMAT "us", us);
}

static char *
format_size (guint64 bytes)
{
  static const struct
  {
    const char *name;
    guint64 bytes;
  } units[] = {
    { "GiB", BYTES_PER_GIB },
    { "MiB", BYTES_PER_MIB },
    { "KiB", BYTES_PER_KIB },
  };

  for (guint i = 0; bytes != 0 && i < G_N_ELEMENTS (units); i++)
    if (bytes % units[i].bytes == 0)
      return g_strdup_printf ("%" G_GUINT64_FORMAT "%s", bytes / units[i].bytes, units[i].name);
  return g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);
}

static char *
format_double (double d)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_dtostr (buf, sizeof buf, d));
}

/* The keyfile form of a value (unescaped). */
static char *
format_value (guint idx, const Value *v)
{
  switch (_gossip_config_keys[idx].type)
    {
    case GOSSIP_CONFIG_TYPE_BOOLEAN:
      return g_strdup (v->i ? "true" : "false");
    case GOSSIP_CONFIG_TYPE_INT:
      return g_strdup_printf ("%" G_GINT64_FORMAT, v->i);
    case GOSSIP_CONFIG_TYPE_DOUBLE:
      return format_double (v->d);
    case GOSSIP_CONFIG_TYPE_SIZE:
      return format_size (v->u);
    case GOSSIP_CONFIG_TYPE_DURATION:
      return format_duration (v->i);
    case GOSSIP_CONFIG_TYPE_STRING:
    case GOSSIP_CONFIG_TYPE_CHOICE:
      return g_strdup (v->s != NULL ? v->s : "");
    case GOSSIP_CONFIG_TYPE_STRV:
      return v->strv != NULL ? g_strjoinv (",", v->strv) : g_strdup ("");
    default:
      g_return_val_if_reached (NULL);
    }
}

/* ---------------------------------------------------------------------- */
/* Checking values                                                         */

static gboolean
check_base64_key (const char *text, GError **error)
{
  gsize len = strlen (text), decoded_len = 0;
  gboolean padding = FALSE;
  guchar *decoded;

  if (len % 4 != 0)
    {
      g_set_error (
          error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
          "expected base64 with '=' padding (a multiple of 4 characters), got %" G_GSIZE_FORMAT
          " characters",
          len);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (c == '=' && i + 2 >= len)
        padding = TRUE;
      else if (padding || !(g_ascii_isalnum (c) || c == '+' || c == '/'))
        {
          /* The key is a secret: name the position, not the text. */
          g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                       "expected base64 (A-Z, a-z, 0-9, '+', '/' and '=' padding at the end), "
                       "found an invalid character at offset %" G_GSIZE_FORMAT,
                       i);
          return FALSE;
        }
    }
  decoded = g_base64_decode (text, &decoded_len);
  if (decoded != NULL)
    {
      for (volatile guchar *p = decoded; p < decoded + decoded_len; p++)
        *p = 0;
      g_free (decoded);
    }
  if (decoded_len != 16 && decoded_len != 24 && decoded_len != 32)
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   "expected a base64 key of 16, 24 or 32 bytes, got %" G_GSIZE_FORMAT " bytes",
                   decoded_len);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_node_id (const char *text, GError **error)
{
  g_autofree char *quoted = quote (text);
  gsize len = strlen (text);

  if (len > MAX_NODE_ID_BYTES)
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   "expected at most %d bytes, got %" G_GSIZE_FORMAT, MAX_NODE_ID_BYTES, len);
      return FALSE;
    }
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_isprint (c) || g_unichar_isspace (c))
        {
          g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                       "expected printable characters without whitespace, got '%s'", quoted);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_string (guint idx, const char *text, GError **error)
{
  switch (_gossip_config_key_info[idx].check)
    {
    case GOSSIP_CONFIG_CHECK_NODE_ID:
      return check_node_id (text, error);
    case GOSSIP_CONFIG_CHECK_BASE64_KEY:
      return text[0] == '\0' || check_base64_key (text, error);
    case GOSSIP_CONFIG_CHECK_NOT_EMPTY:
      if (text[0] != '\0')
        return TRUE;
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   "expected a value, got an empty one");
      return FALSE;
    case GOSSIP_CONFIG_CHECK_NONE:
    default:
      return TRUE;
    }
}

static gboolean
out_of_range (guint idx, const Value *v, GError **error)
{
  const GossipConfigKeyInfo *info = &_gossip_config_key_info[idx];
  g_autofree char *value = format_value (idx, v);
  g_autofree char *min = NULL;
  g_autofree char *max = NULL;

  switch (_gossip_config_keys[idx].type)
    {
    case GOSSIP_CONFIG_TYPE_SIZE:
      min = format_size ((guint64) info->min);
      max = format_size ((guint64) info->max);
      break;
    case GOSSIP_CONFIG_TYPE_DURATION:
      min = format_duration (info->min);
      max = format_duration (info->max);
      break;
    case GOSSIP_CONFIG_TYPE_DOUBLE:
      min = format_double (info->min_double);
      max = format_double (info->max_double);
      break;
    default:
      min = g_strdup_printf ("%" G_GINT64_FORMAT, info->min);
      max = g_strdup_printf ("%" G_GINT64_FORMAT, info->max);
      break;
    }
  g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
               "%s is out of range %s..%s", value, min, max);
  return FALSE;
}

/* Checks a value of the right type against its key's range and rules. */
static gboolean
check_value (guint idx, const Value *v, GError **error)
{
  const GossipConfigKeyInfo *info = &_gossip_config_key_info[idx];

  switch (_gossip_config_keys[idx].type)
    {
    case GOSSIP_CONFIG_TYPE_BOOLEAN:
      return TRUE;
    case GOSSIP_CONFIG_TYPE_INT:
    case GOSSIP_CONFIG_TYPE_DURATION:
      if (v->i < info->min || v->i > info->max)
        return out_of_range (idx, v, error);
      return TRUE;
    case GOSSIP_CONFIG_TYPE_SIZE:
      if (v->u < (guint64) info->min || v->u > (guint64) info->max)
        return out_of_range (idx, v, error);
      return TRUE;
    case GOSSIP_CONFIG_TYPE_DOUBLE:
      if (!isfinite (v->d))
        {
          g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                       "expected a finite number");
          return FALSE;
        }
      if (info->min_double < info->max_double
          && (v->d < info->min_double || v->d > info->max_double))
        return out_of_range (idx, v, error);
      return TRUE;
    case GOSSIP_CONFIG_TYPE_STRING:
      return check_string (idx, v->s, error);
    case GOSSIP_CONFIG_TYPE_CHOICE:
      if (info->choices != NULL && g_strv_contains (info->choices, v->s))
        return TRUE;
      {
        g_autofree char *quoted = quote (v->s);
        g_autofree char *choices
            = info->choices != NULL ? g_strjoinv (", ", (char **) info->choices) : g_strdup ("");

        g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                     "expected one of %s, got '%s'", choices, quoted);
      }
      return FALSE;
    case GOSSIP_CONFIG_TYPE_STRV:
      if (info->check == GOSSIP_CONFIG_CHECK_NOT_EMPTY && v->strv[0] == NULL)
        {
          g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                       "expected at least one item, got an empty list");
          return FALSE;
        }
      for (guint i = 0; v->strv[i] != NULL; i++)
        if (!check_string (idx, v->strv[i], error))
          {
            g_prefix_error (error, "item %u: ", i + 1);
            return FALSE;
          }
      return TRUE;
    default:
      g_return_val_if_reached (FALSE);
    }
}

/* Parses the keyfile form of a value (unescaped) into @out. */
static gboolean
parse_value (guint idx, const char *raw, Value *out, GError **error)
{
  g_autofree char *text = g_strstrip (g_strdup (raw));
  g_autofree char *quoted = NULL; /* only for messages, never of a secret */
  Value v = { 0 };

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   "expected UTF-8 text");
      if (is_secret (idx))
        wipe (text);
      return FALSE;
    }
  if (!is_secret (idx))
    quoted = quote (text);
  switch (_gossip_config_keys[idx].type)
    {
    case GOSSIP_CONFIG_TYPE_BOOLEAN:
      {
        static const char *const yes[] = { "true", "yes", "on", "1", NULL };
        static const char *const no[] = { "false", "no", "off", "0", NULL };
        g_autofree char *lower = g_ascii_strdown (text, -1);

        if (g_strv_contains (yes, lower))
          v.i = TRUE;
        else if (g_strv_contains (no, lower))
          v.i = FALSE;
        else
          {
            g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                         "expected true or false, got '%s'", quoted);
            return FALSE;
          }
      }
      break;
    case GOSSIP_CONFIG_TYPE_INT:
      {
        g_autoptr (GError) local = NULL;

        if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &v.i, &local))
          {
            if (g_error_matches (local, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
              g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_OUT_OF_RANGE,
                           "%s does not fit in 64 bits", quoted);
            else
              g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                           "expected an integer, got '%s'", quoted);
            return FALSE;
          }
      }
      break;
    case GOSSIP_CONFIG_TYPE_DOUBLE:
      {
        char *end = NULL;

        errno = 0;
        v.d = g_ascii_strtod (text, &end);
        if (text[0] == '\0' || end == NULL || *end != '\0' || errno != 0 || !isfinite (v.d))
          {
            g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                         "expected a number, got '%s'", quoted);
            return FALSE;
          }
      }
      break;
    case GOSSIP_CONFIG_TYPE_SIZE:
      if (!gossip_parse_size (text, &v.u, error))
        return FALSE;
      break;
    case GOSSIP_CONFIG_TYPE_DURATION:
      if (!gossip_parse_duration (text, &v.i, error))
        return FALSE;
      break;
    case GOSSIP_CONFIG_TYPE_STRING:
    case GOSSIP_CONFIG_TYPE_CHOICE:
      v.s = g_strdup (text);
      break;
    case GOSSIP_CONFIG_TYPE_STRV:
      {
        g_auto (GStrv) parts = g_strsplit_set (text, ",;", -1);
        g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

        for (guint i = 0; parts[i] != NULL; i++)
          {
            g_strstrip (parts[i]);
            if (parts[i][0] != '\0')
              g_strv_builder_add (builder, parts[i]);
          }
        v.strv = g_strv_builder_end (builder);
        if (is_secret (idx))
          for (guint i = 0; parts[i] != NULL; i++)
            wipe (parts[i]);
      }
      break;
    default:
      g_return_val_if_reached (FALSE);
    }
  if (is_secret (idx))
    wipe (text);
  if (!check_value (idx, &v, error))
    {
      value_clear (idx, &v);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* State: values plus "given explicitly" flags                             */

static void
apply_profile (Value *values, const gboolean *explicit_set, const char *name)
{
  for (guint p = 0; p < _gossip_config_n_profiles; p++)
    {
      const GossipConfigProfile *profile = &_gossip_config_profiles[p];

      if (strcmp (profile->name, name) != 0)
        continue;
      for (guint i = 0; i < GOSSIP_CONFIG_PROFILE_N_VALUES; i++)
        {
          const GossipConfigProfileValue *pv = &profile->values[i];
          int idx = find_key (pv->group, pv->key);
          g_autoptr (GError) error = NULL;
          Value v;

          if (idx < 0 || !parse_value ((guint) idx, pv->value, &v, &error))
            {
              g_critical ("profile %s: bad [%s] %s: %s", name, pv->group, pv->key,
                          error != NULL ? error->message : "unknown key");
              continue;
            }
          if (explicit_set[idx])
            value_clear ((guint) idx, &v);
          else
            value_replace (values, (guint) idx, &v);
        }
      return;
    }
  g_critical ("unknown profile '%s'", name);
}

static Value *
values_copy (const Value *from)
{
  Value *to = g_new0 (Value, _gossip_config_n_keys);

  for (guint i = 0; i < _gossip_config_n_keys; i++)
    value_copy (&from[i], &to[i]);
  return to;
}

static void
values_free (Value *values)
{
  if (values == NULL)
    return;
  for (guint i = 0; i < _gossip_config_n_keys; i++)
    value_clear (i, &values[i]);
  g_free (values);
}

/* Stores @v (consumed) as the explicitly given value of key @idx. */
static void
store_explicit (Value *values, gboolean *explicit_set, guint idx, Value *v)
{
  value_replace (values, idx, v);
  explicit_set[idx] = TRUE;
  if ((int) idx == profile_key_index ())
    apply_profile (values, explicit_set, values[idx].s);
}

/* ---------------------------------------------------------------------- */
/* GObject                                                                 */

static void
gossip_config_finalize (GObject *object)
{
  GossipConfig *self = GOSSIP_CONFIG (object);

  values_free (self->values);
  g_free (self->explicit_set);
  G_OBJECT_CLASS (gossip_config_parent_class)->finalize (object);
}

static void
gossip_config_class_init (GossipConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gossip_config_finalize;
}

static void
gossip_config_init (GossipConfig *self)
{
  self->values = g_new0 (Value, _gossip_config_n_keys);
  self->explicit_set = g_new0 (gboolean, _gossip_config_n_keys);
  for (guint i = 0; i < _gossip_config_n_keys; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!parse_value (i, _gossip_config_keys[i].default_value, &self->values[i], &error))
        g_error ("default of [%s] %s: %s", _gossip_config_keys[i].group, _gossip_config_keys[i].key,
                 error->message);
    }
}

/**
 * gossip_config_new:
 *
 * Creates a configuration holding every key's default.
 *
 * Returns: (transfer full): a new #GossipConfig
 */
GossipConfig *
gossip_config_new (void)
{
  return g_object_new (GOSSIP_TYPE_CONFIG, NULL);
}

/**
 * gossip_config_new_from_file:
 * @path: (type filename): a keyfile
 * @error: return location for a #GError, or %NULL
 *
 * Creates a configuration from the defaults and the keys in @path.
 *
 * Returns: (transfer full) (nullable): a new #GossipConfig, or %NULL with
 *   @error set
 */
GossipConfig *
gossip_config_new_from_file (const char *path, GError **error)
{
  g_autoptr (GossipConfig) config = gossip_config_new ();

  g_return_val_if_fail (path != NULL, NULL);
  if (!gossip_config_load_file (config, path, error))
    return NULL;
  return g_steal_pointer (&config);
}

/**
 * gossip_config_new_from_data:
 * @data: keyfile text
 * @length: length of @data in bytes, or -1 if it is nul-terminated
 * @error: return location for a #GError, or %NULL
 *
 * Creates a configuration from the defaults and the keys in @data.
 *
 * Returns: (transfer full) (nullable): a new #GossipConfig, or %NULL with
 *   @error set
 */
GossipConfig *
gossip_config_new_from_data (const char *data, gssize length, GError **error)
{
  g_autoptr (GossipConfig) config = gossip_config_new ();

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  if (!gossip_config_load_data (config, data, length, error))
    return NULL;
  return g_steal_pointer (&config);
}

/**
 * gossip_config_copy:
 * @config: a #GossipConfig
 *
 * Copies every value, and which keys were given explicitly.
 *
 * Returns: (transfer full): an independent copy of @config
 */
GossipConfig *
gossip_config_copy (GossipConfig *config)
{
  GossipConfig *copy;

  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), NULL);
  copy = gossip_config_new ();
  values_free (copy->values);
  copy->values = values_copy (config->values);
  memcpy (copy->explicit_set, config->explicit_set, _gossip_config_n_keys * sizeof (gboolean));
  return copy;
}

/* ---------------------------------------------------------------------- */
/* Loading keyfiles                                                        */

/* Line numbers of groups and keys, found by scanning the text the way
 * GKeyFile reads it (GKeyFile does not report them). */
typedef struct
{
  GHashTable *lines; /* "group" or "group\nkey" -> line (GINT_TO_POINTER) */
  int first_bad_line;
} LineMap;

static void
line_map_scan (LineMap *map, const char *data, gsize length)
{
  g_autofree char *group = NULL;
  const char *p = data, *end = data + length;
  int line = 0;

  map->lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  map->first_bad_line = 0;
  while (p < end)
    {
      const char *eol = memchr (p, '\n', (gsize) (end - p));
      g_autofree char *text = g_strndup (p, (gsize) ((eol != NULL ? eol : end) - p));
      char *t = g_strstrip (text);
      gsize len = strlen (t);
      char *eq;

      line++;
      p = eol != NULL ? eol + 1 : end;
      if (len == 0 || t[0] == '#')
        continue;
      if (t[0] == '[')
        {
          if (t[len - 1] != ']')
            {
              if (map->first_bad_line == 0)
                map->first_bad_line = line;
              continue;
            }
          g_free (group);
          group = g_strndup (t + 1, len - 2);
          if (!g_hash_table_contains (map->lines, group))
            g_hash_table_insert (map->lines, g_strdup (group), GINT_TO_POINTER (line));
          continue;
        }
      eq = strchr (t, '=');
      if (eq == NULL || group == NULL)
        {
          if (map->first_bad_line == 0)
            map->first_bad_line = line;
          continue;
        }
      *eq = '\0';
      g_hash_table_insert (map->lines, g_strdup_printf ("%s\n%s", group, g_strchomp (t)),
                           GINT_TO_POINTER (line));
    }
}

static int
line_of (const LineMap *map, const char *group, const char *key)
{
  g_autofree char *name = NULL;

  if (map == NULL || map->lines == NULL)
    return 0;
  if (key == NULL)
    return GPOINTER_TO_INT (g_hash_table_lookup (map->lines, group));
  name = g_strdup_printf ("%s\n%s", group, key);
  return GPOINTER_TO_INT (g_hash_table_lookup (map->lines, name));
}

static gboolean
load_keyfile (GossipConfig *self, GKeyFile *keyfile, const LineMap *map, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (keyfile, NULL);
  Value *values = values_copy (self->values);
  g_autofree gboolean *explicit_set
      = g_memdup2 (self->explicit_set, _gossip_config_n_keys * sizeof (gboolean));
  gboolean profile_given = FALSE;

  for (guint g = 0; groups[g] != NULL; g++)
    {
      const char *group = groups[g];
      g_auto (GStrv) keys = NULL;
      GError *local = NULL;

      if (!group_known (group))
        {
          set_unknown_group_error (error, group, line_of (map, group, NULL));
          goto fail;
        }
      keys = g_key_file_get_keys (keyfile, group, NULL, &local);
      if (keys == NULL)
        {
          g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_PARSE, "[%s]: %s", group,
                       local->message);
          g_clear_error (&local);
          goto fail;
        }
      for (guint k = 0; keys[k] != NULL; k++)
        {
          int idx = find_key (group, keys[k]);
          int line = line_of (map, group, keys[k]);
          g_autofree char *raw = NULL;
          Value v;

          if (idx < 0)
            {
              set_unknown_key_error (error, group, keys[k], line);
              goto fail;
            }
          /* On a bad escape GKeyFile returns a string and sets an error. */
          raw = g_key_file_get_string (keyfile, group, keys[k], &local);
          if (raw == NULL || local != NULL)
            {
              g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_PARSE, "%s",
                           local != NULL ? local->message : "unreadable value");
              g_clear_error (&local);
              if (raw != NULL && is_secret ((guint) idx))
                wipe (raw);
              prefix_key_error (error, (guint) idx, line);
              goto fail;
            }
          if (!parse_value ((guint) idx, raw, &v, error))
            {
              if (is_secret ((guint) idx))
                wipe (raw);
              prefix_key_error (error, (guint) idx, line);
              goto fail;
            }
          if (is_secret ((guint) idx))
            wipe (raw);
          value_replace (values, (guint) idx, &v);
          explicit_set[idx] = TRUE;
          if (idx == profile_key_index ())
            profile_given = TRUE;
        }
    }
  /* After all keys are in, so explicit keys win whatever the line order. */
  if (profile_given)
    apply_profile (values, explicit_set, values[profile_key_index ()].s);

  values_free (self->values);
  self->values = values;
  memcpy (self->explicit_set, explicit_set, _gossip_config_n_keys * sizeof (gboolean));
  return TRUE;

fail:
  values_free (values);
  return FALSE;
}

/**
 * gossip_config_load_keyfile:
 * @config: a #GossipConfig
 * @keyfile: a loaded #GKeyFile
 * @error: return location for a #GError, or %NULL
 *
 * Sets every key of @keyfile, marking each as given explicitly; a
 * `[health] profile` key then sets the profile's keys that were not.  Every
 * key is checked before any is applied: on error @config is unchanged.
 * Errors name group and key but no line (a #GKeyFile does not keep them;
 * gossip_config_load_data() does).  Cross-key consistency is not checked
 * here but by gossip_config_validate().
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR in @error
 */
gboolean
gossip_config_load_keyfile (GossipConfig *config, GKeyFile *keyfile, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (keyfile != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return load_keyfile (config, keyfile, NULL, error);
}

/**
 * gossip_config_load_data:
 * @config: a #GossipConfig
 * @data: keyfile text
 * @length: length of @data in bytes, or -1 if it is nul-terminated
 * @error: return location for a #GError, or %NULL
 *
 * Like gossip_config_load_keyfile(), from text; errors name the line.
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR in @error
 *   (and @config unchanged)
 */
gboolean
gossip_config_load_data (GossipConfig *config, const char *data, gssize length, GError **error)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  LineMap map;
  gboolean ok;

  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (data == NULL)
    data = "";
  if (length < 0)
    length = (gssize) strlen (data);
  line_map_scan (&map, data, (gsize) length);
  if (!g_key_file_load_from_data (keyfile, data, (gsize) length, G_KEY_FILE_NONE, &local))
    {
      if (map.first_bad_line > 0)
        g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_PARSE, "line %d: %s",
                     map.first_bad_line, local->message);
      else
        g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_PARSE, "%s", local->message);
      g_hash_table_unref (map.lines);
      return FALSE;
    }
  ok = load_keyfile (config, keyfile, &map, error);
  g_hash_table_unref (map.lines);
  return ok;
}

/**
 * gossip_config_load_file:
 * @config: a #GossipConfig
 * @path: (type filename): a keyfile
 * @error: return location for a #GError, or %NULL
 *
 * Like gossip_config_load_data(), from a file.  Error messages start with
 * @path.
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR (or a
 *   #G_FILE_ERROR if the file cannot be read) in @error, and @config
 *   unchanged
 */
gboolean
gossip_config_load_file (GossipConfig *config, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;

  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_file_get_contents (path, &data, &length, error)
      || !gossip_config_load_data (config, data, (gssize) length, error))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_prefix_error (error, "%s: ", display);
      return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Validation and profiles                                                 */

/**
 * gossip_config_validate:
 * @config: a #GossipConfig
 * @error: return location for a #GError, or %NULL
 *
 * Checks that the keys agree with each other: an encryption key needs a
 * cipher and a cipher a key; accepted keys need a primary key; the probe
 * timeout must be shorter than the probe interval; a datagram must fit in a
 * frame.  Each key on its own was already checked when it was set.
 *
 * Returns: %TRUE if consistent, %FALSE with
 *   %GOSSIP_CONFIG_ERROR_INCONSISTENT in @error
 */
gboolean
gossip_config_validate (GossipConfig *config, GError **error)
{
  const char *key, *cipher;
  const char *const *accepted;
  gint64 probe_interval, probe_timeout;
  guint64 datagram, frame;

  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  key = gossip_config_get_string (config, "security", "key");
  accepted = gossip_config_get_strv (config, "security", "accepted_keys");
  cipher = gossip_config_get_string (config, "plugins", "cipher");
  if (key[0] != '\0' && cipher[0] == '\0')
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT,
                   "[security] key is set but [plugins] cipher is empty: name a cipher plugin "
                   "(e.g. aes-gcm) or remove the key");
      return FALSE;
    }
  if (accepted[0] != NULL && key[0] == '\0')
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT,
                   "[security] accepted_keys is set but [security] key is empty: the primary "
                   "key is needed to encrypt");
      return FALSE;
    }
  if (cipher[0] != '\0' && key[0] == '\0')
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT,
                   "[plugins] cipher is '%s' but [security] key is empty", cipher);
      return FALSE;
    }
  probe_interval = gossip_config_get_duration (config, "health", "probe_interval");
  probe_timeout = gossip_config_get_duration (config, "health", "probe_timeout");
  if (probe_timeout >= probe_interval)
    {
      g_autofree char *t = format_duration (probe_timeout);
      g_autofree char *i = format_duration (probe_interval);

      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT,
                   "[health] probe_timeout (%s) must be shorter than [health] probe_interval (%s)",
                   t, i);
      return FALSE;
    }
  datagram = gossip_config_get_size (config, "transport", "max_datagram_size");
  frame = gossip_config_get_size (config, "transport", "max_frame_size");
  if (datagram > frame)
    {
      g_autofree char *d = format_size (datagram);
      g_autofree char *f = format_size (frame);

      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_INCONSISTENT,
                   "[transport] max_datagram_size (%s) must not exceed [transport] "
                   "max_frame_size (%s)",
                   d, f);
      return FALSE;
    }
  return TRUE;
}

/**
 * gossip_config_set_profile:
 * @config: a #GossipConfig
 * @profile: "lan", "local" or "wan"
 * @error: return location for a #GError, or %NULL
 *
 * Sets `[health] profile` and, from it, every timing key (probe interval
 * and timeout, indirect checks, suspicion multiplier, gossip interval,
 * fanout, retransmit multiplier, push-pull interval) that was not given
 * explicitly.  The values are hashicorp/memberlist's DefaultLANConfig,
 * DefaultLocalConfig and DefaultWANConfig.
 *
 * Returns: %TRUE on success, %FALSE with %GOSSIP_CONFIG_ERROR_BAD_VALUE in
 *   @error for an unknown profile
 */
gboolean
gossip_config_set_profile (GossipConfig *config, const char *profile, GError **error)
{
  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (profile != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return gossip_config_set_value (config, "health", "profile", profile, error);
}

/* ---------------------------------------------------------------------- */
/* Generic access                                                          */

/**
 * gossip_config_set_value:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key
 * @value: the value in keyfile form, e.g. "500ms", "4MiB", "a,b"
 * @error: return location for a #GError, or %NULL
 *
 * Parses and sets one key as if it were a line of a keyfile (escapes
 * already resolved), marking it as given explicitly.
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR in @error
 *   (and @config unchanged)
 */
gboolean
gossip_config_set_value (GossipConfig *config, const char *group, const char *key,
                         const char *value, GError **error)
{
  int idx;
  Value v;

  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (group != NULL && key != NULL && value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  idx = lookup_key (group, key, error);
  if (idx < 0)
    return FALSE;
  if (!parse_value ((guint) idx, value, &v, error))
    {
      prefix_key_error (error, (guint) idx, 0);
      return FALSE;
    }
  store_explicit (config->values, config->explicit_set, (guint) idx, &v);
  return TRUE;
}

/**
 * gossip_config_get_value:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key
 *
 * Formats one value as it would be written in a keyfile (unescaped):
 * durations and sizes in their most compact exact unit ("500ms", "30s",
 * "4MiB"), lists joined with commas.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL for an unknown
 *   key
 */
char *
gossip_config_get_value (GossipConfig *config, const char *group, const char *key)
{
  int idx;

  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), NULL);
  g_return_val_if_fail (group != NULL && key != NULL, NULL);

  idx = find_key (group, key);
  if (idx < 0)
    return NULL;
  return format_value ((guint) idx, &config->values[idx]);
}

/**
 * gossip_config_to_data:
 * @config: a #GossipConfig
 * @length: (out) (optional): length of the result in bytes
 *
 * Writes every key as a commented keyfile.  Keys given explicitly are
 * active lines; the others are commented out, showing their current value,
 * so that loading the result into a new #GossipConfig gives back the same
 * values and the same explicit keys.  The result includes the encryption
 * keys, if any: protect it like them.
 *
 * Returns: (transfer full): keyfile text
 */
char *
gossip_config_to_data (GossipConfig *config, gsize *length)
{
  g_autoptr (GKeyFile) escaper = g_key_file_new ();
  GString *out;

  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), NULL);

  out = g_string_new ("# libgossip configuration.  Commented keys show their current value\n"
                      "# without having been set explicitly.\n");
  for (guint i = 0; i < _gossip_config_n_keys; i++)
    {
      const GossipConfigKey *k = &_gossip_config_keys[i];
      g_autofree char *value = format_value (i, &config->values[i]);
      g_autofree char *escaped = NULL;

      if (i == 0 || strcmp (k->group, _gossip_config_keys[i - 1].group) != 0)
        g_string_append_printf (out, "\n[%s]\n", k->group);
      g_key_file_set_string (escaper, k->group, k->key, value);
      escaped = g_key_file_get_value (escaper, k->group, k->key, NULL);
      g_string_append_printf (out, "# %s\n%s%s=%s\n", k->description,
                              config->explicit_set[i] ? "" : "#", k->key, escaped);
      if (is_secret (i))
        {
          wipe (value);
          wipe (escaped);
        }
    }
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

/**
 * gossip_config_list_keys:
 * @n_keys: (out) (optional): number of keys
 *
 * Describes every key libgossip knows, grouped, in keyfile order.
 *
 * Returns: (transfer none) (array length=n_keys): a static table
 */
const GossipConfigKey *
gossip_config_list_keys (guint *n_keys)
{
  if (n_keys != NULL)
    *n_keys = _gossip_config_n_keys;
  return _gossip_config_keys;
}

/* ---------------------------------------------------------------------- */
/* Typed access                                                            */

static gboolean
type_matches (GossipConfigType have, GossipConfigType want)
{
  return have == want || (want == GOSSIP_CONFIG_TYPE_STRING && have == GOSSIP_CONFIG_TYPE_CHOICE);
}

/* The key's index for a typed getter/setter, or -1 after a critical. */
static int
typed_key (const char *func, const char *group, const char *key, GossipConfigType type)
{
  int idx = find_key (group, key);

  if (idx < 0)
    {
      g_critical ("%s: unknown key [%s] %s", func, group, key);
      return -1;
    }
  if (!type_matches (_gossip_config_keys[idx].type, type))
    {
      g_critical ("%s: [%s] %s is of type %s, not %s", func, group, key,
                  type_name (_gossip_config_keys[idx].type), type_name (type));
      return -1;
    }
  return idx;
}

#define TYPED_GET(config, group, key, want_type, fail)                                             \
  int idx;                                                                                         \
  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), fail);                                          \
  g_return_val_if_fail (group != NULL && key != NULL, fail);                                       \
  idx = typed_key (G_STRFUNC, group, key, want_type);                                              \
  if (idx < 0)                                                                                     \
    return fail;

/**
 * gossip_config_get_boolean:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a boolean setting
 *
 * Returns: the value; %FALSE (with a critical) for an unknown key or one of
 *   another type
 */
gboolean
gossip_config_get_boolean (GossipConfig *config, const char *group, const char *key)
{
  TYPED_GET (config, group, key, GOSSIP_CONFIG_TYPE_BOOLEAN, FALSE);
  return config->values[idx].i != 0;
}

/**
 * gossip_config_get_int:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of an integer setting
 *
 * Returns: the value; 0 (with a critical) for an unknown key or one of
 *   another type
 */
gint64
gossip_config_get_int (GossipConfig *config, const char *group, const char *key)
{
  TYPED_GET (config, group, key, GOSSIP_CONFIG_TYPE_INT, 0);
  return config->values[idx].i;
}

/**
 * gossip_config_get_double:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a floating-point setting
 *
 * Returns: the value; 0 (with a critical) for an unknown key or one of
 *   another type
 */
double
gossip_config_get_double (GossipConfig *config, const char *group, const char *key)
{
  TYPED_GET (config, group, key, GOSSIP_CONFIG_TYPE_DOUBLE, 0.0);
  return config->values[idx].d;
}

/**
 * gossip_config_get_size:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a size setting
 *
 * Returns: the value in bytes; 0 (with a critical) for an unknown key or
 *   one of another type
 */
guint64
gossip_config_get_size (GossipConfig *config, const char *group, const char *key)
{
  TYPED_GET (config, group, key, GOSSIP_CONFIG_TYPE_SIZE, 0);
  return config->values[idx].u;
}

/**
 * gossip_config_get_duration:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a duration setting
 *
 * Returns: the value in microseconds; 0 (with a critical) for an unknown key
 *   or one of another type
 */
gint64
gossip_config_get_duration (GossipConfig *config, const char *group, const char *key)
{
  TYPED_GET (config, group, key, GOSSIP_CONFIG_TYPE_DURATION, 0);
  return config->values[idx].i;
}

/**
 * gossip_config_get_string:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a string or choice setting
 *
 * Returns: (transfer none) (nullable): the value, "" when unset; %NULL (with
 *   a critical) for an unknown key or one of another type.  Valid until the
 *   key is next set.
 */
const char *
gossip_config_get_string (GossipConfig *config, const char *group, const char *key)
{
  TYPED_GET (config, group, key, GOSSIP_CONFIG_TYPE_STRING, NULL);
  return config->values[idx].s;
}

/**
 * gossip_config_get_strv:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a list setting
 *
 * Returns: (transfer none) (array zero-terminated=1) (nullable): the list,
 *   empty when unset; %NULL (with a critical) for an unknown key or one of
 *   another type.  Valid until the key is next set.
 */
const char *const *
gossip_config_get_strv (GossipConfig *config, const char *group, const char *key)
{
  TYPED_GET (config, group, key, GOSSIP_CONFIG_TYPE_STRV, NULL);
  return (const char *const *) config->values[idx].strv;
}

/* Checks @v (consumed) for key @idx and stores it, or fails with a
 * prefixed error. */
static gboolean
typed_set (GossipConfig *config, guint idx, Value *v, GError **error)
{
  if (!check_value (idx, v, error))
    {
      value_clear (idx, v);
      prefix_key_error (error, idx, 0);
      return FALSE;
    }
  store_explicit (config->values, config->explicit_set, idx, v);
  return TRUE;
}

#define TYPED_SET(config, group, key, want_type)                                                   \
  int idx;                                                                                         \
  Value v = { 0 };                                                                                 \
  g_return_val_if_fail (GOSSIP_IS_CONFIG (config), FALSE);                                         \
  g_return_val_if_fail (group != NULL && key != NULL, FALSE);                                      \
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);                                   \
  idx = lookup_key (group, key, error);                                                            \
  if (idx < 0)                                                                                     \
    return FALSE;                                                                                  \
  if (!type_matches (_gossip_config_keys[idx].type, want_type))                                    \
    {                                                                                              \
      g_critical ("%s: [%s] %s is of type %s, not %s", G_STRFUNC, group, key,                      \
                  type_name (_gossip_config_keys[idx].type), type_name (want_type));               \
      return FALSE;                                                                                \
    }

/**
 * gossip_config_set_boolean:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a boolean setting
 * @value: the value
 * @error: return location for a #GError, or %NULL
 *
 * Sets a boolean key, marking it as given explicitly.
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR in @error
 */
gboolean
gossip_config_set_boolean (GossipConfig *config, const char *group, const char *key, gboolean value,
                           GError **error)
{
  TYPED_SET (config, group, key, GOSSIP_CONFIG_TYPE_BOOLEAN);
  v.i = value ? TRUE : FALSE;
  return typed_set (config, (guint) idx, &v, error);
}

/**
 * gossip_config_set_int:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of an integer setting
 * @value: the value
 * @error: return location for a #GError, or %NULL
 *
 * Sets an integer key, marking it as given explicitly.
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR (e.g.
 *   %GOSSIP_CONFIG_ERROR_OUT_OF_RANGE) in @error
 */
gboolean
gossip_config_set_int (GossipConfig *config, const char *group, const char *key, gint64 value,
                       GError **error)
{
  TYPED_SET (config, group, key, GOSSIP_CONFIG_TYPE_INT);
  v.i = value;
  return typed_set (config, (guint) idx, &v, error);
}

/**
 * gossip_config_set_double:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a floating-point setting
 * @value: the value; must be finite
 * @error: return location for a #GError, or %NULL
 *
 * Sets a floating-point key, marking it as given explicitly.
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR in @error
 */
gboolean
gossip_config_set_double (GossipConfig *config, const char *group, const char *key, double value,
                          GError **error)
{
  TYPED_SET (config, group, key, GOSSIP_CONFIG_TYPE_DOUBLE);
  v.d = value;
  return typed_set (config, (guint) idx, &v, error);
}

/**
 * gossip_config_set_size:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a size setting
 * @value: the value in bytes
 * @error: return location for a #GError, or %NULL
 *
 * Sets a size key, marking it as given explicitly.
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR in @error
 */
gboolean
gossip_config_set_size (GossipConfig *config, const char *group, const char *key, guint64 value,
                        GError **error)
{
  TYPED_SET (config, group, key, GOSSIP_CONFIG_TYPE_SIZE);
  v.u = value;
  return typed_set (config, (guint) idx, &v, error);
}

/**
 * gossip_config_set_duration:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a duration setting
 * @value_us: the value in microseconds
 * @error: return location for a #GError, or %NULL
 *
 * Sets a duration key, marking it as given explicitly.
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR in @error
 */
gboolean
gossip_config_set_duration (GossipConfig *config, const char *group, const char *key,
                            gint64 value_us, GError **error)
{
  TYPED_SET (config, group, key, GOSSIP_CONFIG_TYPE_DURATION);
  v.i = value_us;
  return typed_set (config, (guint) idx, &v, error);
}

/* A string from C must survive a keyfile round trip unchanged. */
static gboolean
check_c_string (const char *value, gboolean list_item, GError **error)
{
  gsize len = strlen (value);

  if (!g_utf8_validate (value, -1, NULL))
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   "expected UTF-8 text");
      return FALSE;
    }
  if (len > 0 && (g_ascii_isspace (value[0]) || g_ascii_isspace (value[len - 1])))
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   "expected text without leading or trailing whitespace");
      return FALSE;
    }
  if (list_item && (len == 0 || strpbrk (value, ",;") != NULL))
    {
      g_set_error (error, GOSSIP_CONFIG_ERROR, GOSSIP_CONFIG_ERROR_BAD_VALUE,
                   "expected non-empty list items without ',' or ';'");
      return FALSE;
    }
  return TRUE;
}

/**
 * gossip_config_set_string:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a string or choice setting
 * @value: the value: UTF-8, without leading or trailing whitespace
 * @error: return location for a #GError, or %NULL
 *
 * Sets a string key, marking it as given explicitly.  Setting
 * `[health] profile` is gossip_config_set_profile().
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR in @error
 */
gboolean
gossip_config_set_string (GossipConfig *config, const char *group, const char *key,
                          const char *value, GError **error)
{
  TYPED_SET (config, group, key, GOSSIP_CONFIG_TYPE_STRING);
  g_return_val_if_fail (value != NULL, FALSE);
  if (!check_c_string (value, FALSE, error))
    {
      prefix_key_error (error, (guint) idx, 0);
      return FALSE;
    }
  v.s = g_strdup (value);
  return typed_set (config, (guint) idx, &v, error);
}

/**
 * gossip_config_set_strv:
 * @config: a #GossipConfig
 * @group: keyfile group
 * @key: keyfile key of a list setting
 * @value: (array zero-terminated=1) (nullable): the items: UTF-8, non-empty,
 *   without ',', ';' or leading or trailing whitespace; %NULL for none
 * @error: return location for a #GError, or %NULL
 *
 * Sets a list key, marking it as given explicitly.
 *
 * Returns: %TRUE on success, %FALSE with a #GOSSIP_CONFIG_ERROR in @error
 */
gboolean
gossip_config_set_strv (GossipConfig *config, const char *group, const char *key,
                        const char *const *value, GError **error)
{
  static const char *const empty[] = { NULL };

  TYPED_SET (config, group, key, GOSSIP_CONFIG_TYPE_STRV);
  if (value == NULL)
    value = empty;
  for (guint i = 0; value[i] != NULL; i++)
    if (!check_c_string (value[i], TRUE, error))
      {
        g_prefix_error (error, "item %u: ", i + 1);
        prefix_key_error (error, (guint) idx, 0);
        return FALSE;
      }
  v.strv = g_strdupv ((char **) value);
  return typed_set (config, (guint) idx, &v, error);
}
