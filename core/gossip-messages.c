/* gossip-messages.c: build and parse the protocol's messages.
 *
 * Parsing is where input from the network becomes trusted data: every field
 * is type-checked and every string bounded here, so the state machine never
 * sees a malformed message.  Integers are accepted in any integer type
 * because codecs map them to the widest one (see gossip-codec.h).
 */
#include "config.h"

#include <string.h>

#include "gossip-messages.h"
#include "gossip/gossip-cluster.h"

/* Reads an integer field's value (any integer type, boxed or not). */
static gboolean
value_uint (GVariant *value, const char *key, guint64 *out, GError **error)
{
  g_autoptr (GVariant) v = g_variant_ref (value);
  gint64 s;

  if (g_variant_is_of_type (v, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *inner = g_variant_get_variant (v);
      g_variant_unref (v);
      v = inner;
    }
  switch (g_variant_classify (v))
    {
    case G_VARIANT_CLASS_BYTE:
      *out = g_variant_get_byte (v);
      return TRUE;
    case G_VARIANT_CLASS_UINT16:
      *out = g_variant_get_uint16 (v);
      return TRUE;
    case G_VARIANT_CLASS_UINT32:
      *out = g_variant_get_uint32 (v);
      return TRUE;
    case G_VARIANT_CLASS_UINT64:
      *out = g_variant_get_uint64 (v);
      return TRUE;
    case G_VARIANT_CLASS_INT16:
      s = g_variant_get_int16 (v);
      break;
    case G_VARIANT_CLASS_INT32:
      s = g_variant_get_int32 (v);
      break;
    case G_VARIANT_CLASS_INT64:
      s = g_variant_get_int64 (v);
      break;
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "field \"%s\" is not an integer",
                   key);
      return FALSE;
    }
  if (s < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "field \"%s\" is negative", key);
      return FALSE;
    }
  *out = (guint64) s;
  return TRUE;
}

static gboolean
lookup_uint (GVariant *dict, const char *key, guint64 *out, gboolean required, GError **error)
{
  g_autoptr (GVariant) v = g_variant_lookup_value (dict, key, NULL);

  if (v == NULL)
    {
      if (required)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "field \"%s\" missing", key);
      return !required;
    }
  return value_uint (v, key, out, error);
}

/* Returns a string borrowed from @dict (GVariant strings live as long as it). */
static gboolean
lookup_string (GVariant *dict, const char *key, const char **out, gsize max_len, gboolean required,
               GError **error)
{
  g_autoptr (GVariant) v = g_variant_lookup_value (dict, key, NULL);
  gsize len;

  *out = NULL;
  if (v == NULL)
    {
      if (required)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "field \"%s\" missing", key);
      return !required;
    }
  if (!g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "field \"%s\" is not a string", key);
      return FALSE;
    }
  *out = g_variant_get_string (v, &len);
  if (len > max_len || (required && len == 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "field \"%s\" has %" G_GSIZE_FORMAT " bytes (1 to %" G_GSIZE_FORMAT " allowed)",
                   key, len, max_len);
      *out = NULL;
      return FALSE;
    }
  /* The pointer stays valid after the child is unreferenced: @dict is in
   * serialised form (see ensure_serialised), so it points into @dict's own
   * buffer, which the caller keeps alive. */
  return TRUE;
}

static gboolean
lookup_array (GVariant *dict, const char *key, GVariant **out, gsize max_len, GError **error)
{
  GVariant *v = g_variant_lookup_value (dict, key, NULL);

  *out = NULL;
  if (v == NULL)
    return TRUE;
  if (!g_variant_is_of_type (v, G_VARIANT_TYPE ("av")) || g_variant_n_children (v) > max_len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "field \"%s\" is not an array of at most %" G_GSIZE_FORMAT " items", key,
                   max_len);
      g_variant_unref (v);
      return FALSE;
    }
  *out = v; /* owned; released by _gossip_msg_clear() */
  return TRUE;
}

/* Decoders build values in tree form; serialising once makes every child
 * share one buffer, so strings borrowed from children stay valid for as long
 * as the message itself (GLib frees tree-form children on serialisation). */
static void
ensure_serialised (GVariant *value)
{
  (void) g_variant_get_data (value);
}

void
_gossip_msg_clear (GossipMsg *msg)
{
  g_clear_pointer (&msg->members, g_variant_unref);
  g_clear_pointer (&msg->piggyback, g_variant_unref);
  g_clear_pointer (&msg->payload, g_variant_unref);
  g_clear_pointer (&msg->metadata, g_variant_unref);
}

static gboolean
lookup_bool (GVariant *dict, const char *key, gboolean *out)
{
  g_autoptr (GVariant) v = g_variant_lookup_value (dict, key, G_VARIANT_TYPE_BOOLEAN);

  *out = v != NULL && g_variant_get_boolean (v);
  return TRUE;
}

/* The payload "v" is any value; it stays boxed as the codec decoded it. */
static gboolean
lookup_payload (GVariant *dict, const char *key, GVariant **out)
{
  *out = g_variant_lookup_value (dict, key, NULL);
  if (*out != NULL && g_variant_is_of_type (*out, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *inner = g_variant_get_variant (*out);
      g_variant_unref (*out);
      *out = inner;
    }
  return TRUE;
}

guint
_gossip_msg_peek_type (GVariant *entry)
{
  guint64 type = 0;

  if (!g_variant_is_of_type (entry, G_VARIANT_TYPE_VARDICT)
      || !lookup_uint (entry, "t", &type, TRUE, NULL))
    return 0;
  return (guint) MIN (type, G_MAXUINT16);
}

/* One pass over a BROADCAST entry's map; the payload is taken as is. */
static gboolean
parse_broadcast (GVariant *message, GossipMsg *out, guint64 *user_type, GError **error)
{
  enum
  {
    HAVE_O = 1 << 0,
    HAVE_E = 1 << 1,
    HAVE_S = 1 << 2,
    HAVE_UT = 1 << 3,
    HAVE_H = 1 << 4,
    HAVE_TS = 1 << 5,
    HAVE_ALL = (1 << 6) - 1
  };
  static const char *const names[] = { "o", "e", "s", "ut", "h", "ts" };
  GVariantIter iter;
  const char *key;
  GVariant *value;
  guint have = 0;
  guint64 sent_at = 0;
  gboolean ok = TRUE;

  g_variant_iter_init (&iter, message);
  while (ok && g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (strcmp (key, "o") == 0)
        {
          gsize len = 0;
          if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
            out->origin = g_variant_get_string (value, &len);
          ok = out->origin != NULL && len > 0 && len <= GOSSIP_MSG_MAX_ID_LEN;
          if (!ok)
            {
              out->origin = NULL;
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "field \"o\" is not a string of 1 to %d bytes", GOSSIP_MSG_MAX_ID_LEN);
            }
          have |= HAVE_O;
        }
      else if (strcmp (key, "e") == 0)
        ok = value_uint (value, key, &out->epoch, error), have |= HAVE_E;
      else if (strcmp (key, "s") == 0)
        ok = value_uint (value, key, &out->seq, error), have |= HAVE_S;
      else if (strcmp (key, "ut") == 0)
        ok = value_uint (value, key, user_type, error), have |= HAVE_UT;
      else if (strcmp (key, "h") == 0)
        ok = value_uint (value, key, &out->hops, error), have |= HAVE_H;
      else if (strcmp (key, "ts") == 0)
        ok = value_uint (value, key, &sent_at, error), have |= HAVE_TS;
      else if (strcmp (key, "r") == 0)
        out->relay
            = g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN) && g_variant_get_boolean (value);
      else if (strcmp (key, "v") == 0 && out->payload == NULL)
        out->payload = g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT)
                           ? g_variant_get_variant (value)
                           : g_variant_ref (value);
      g_variant_unref (value);
    }
  if (!ok)
    return FALSE;
  if (have != HAVE_ALL)
    {
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        if (!(have & (1u << i)))
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "field \"%s\" missing",
                         names[i]);
            break;
          }
      return FALSE;
    }
  out->sent_at = (gint64) MIN (sent_at, (guint64) G_MAXINT64);
  return TRUE;
}

static gboolean
parse_user (GVariant *message, GossipMsg *out, GError **error)
{
  guint64 user_type = 0, code = 0;

  switch (out->type)
    {
    case GOSSIP_MSG_USER:
      if (!lookup_uint (message, "s", &out->seq, FALSE, error)
          || !lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
          || !lookup_string (message, "fa", &out->from_address, GOSSIP_MSG_MAX_ADDRESS_LEN, FALSE,
                             error)
          || !lookup_uint (message, "ut", &user_type, TRUE, error)
          || !lookup_bool (message, "rq", &out->request))
        return FALSE;
      break;
    case GOSSIP_MSG_USER_REPLY:
      if (!lookup_uint (message, "s", &out->seq, TRUE, error)
          || !lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
          || !lookup_string (message, "e", &out->error_text, 1024, FALSE, error)
          || !lookup_uint (message, "ec", &code, FALSE, error))
        return FALSE;
      out->code = (guint) MIN (code, G_MAXUINT);
      break;
    case GOSSIP_MSG_STREAM_OPEN:
      if (!lookup_uint (message, "sid", &out->stream_id, TRUE, error)
          || !lookup_uint (message, "s", &out->seq, TRUE, error)
          || !lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
          || !lookup_string (message, "fa", &out->from_address, GOSSIP_MSG_MAX_ADDRESS_LEN, FALSE,
                             error)
          || !lookup_uint (message, "ut", &user_type, TRUE, error)
          || !lookup_uint (message, "w", &out->window, TRUE, error))
        return FALSE;
      break;
    case GOSSIP_MSG_STREAM_ANSWER:
      if (!lookup_uint (message, "sid", &out->stream_id, TRUE, error)
          || !lookup_uint (message, "s", &out->seq, TRUE, error)
          || !lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
          || !lookup_string (message, "e", &out->error_text, 1024, FALSE, error)
          || !lookup_uint (message, "ec", &code, FALSE, error)
          || !lookup_uint (message, "w", &out->window, TRUE, error))
        return FALSE;
      out->code = (guint) MIN (code, G_MAXUINT);
      break;
    case GOSSIP_MSG_BROADCAST:
      /* The hottest message there is (every copy of every broadcast), so
       * it is read in one pass: g_variant_lookup_value() rescans the map
       * from its start for every key. */
      if (!parse_broadcast (message, out, &user_type, error))
        return FALSE;
      break;
    default:
      g_assert_not_reached ();
    }
  if (out->type != GOSSIP_MSG_USER_REPLY && out->type != GOSSIP_MSG_STREAM_ANSWER
      && (user_type <= GOSSIP_MSG_LAST_PROTOCOL || user_type > G_MAXUINT16))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "user message type %" G_GUINT64_FORMAT " is outside 128..65535", user_type);
      return FALSE;
    }
  out->user_type = (guint) user_type;
  if (out->type == GOSSIP_MSG_BROADCAST)
    return TRUE; /* parse_broadcast took the payload */
  return lookup_payload (message, "v", &out->payload);
}

gboolean
_gossip_update_parse (GVariant *update, GossipUpdate *out, GError **error)
{
  guint64 type = 0, state = 0, pv = 0;

  memset (out, 0, sizeof *out);
  ensure_serialised (update);
  if (g_variant_is_of_type (update, G_VARIANT_TYPE_VARIANT))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "nested variant");
      return FALSE;
    }
  if (!g_variant_is_of_type (update, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "update is not a map");
      return FALSE;
    }
  if (!lookup_uint (update, "t", &type, FALSE, error)
      || !lookup_string (update, "n", &out->node, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
      || !lookup_uint (update, "i", &out->incarnation, TRUE, error)
      || !lookup_string (update, "a", &out->address, GOSSIP_MSG_MAX_ADDRESS_LEN, FALSE, error)
      || !lookup_string (update, "ax", &out->extra_addresses, GOSSIP_MSG_MAX_EXTRA_ADDRESSES_LEN,
                         FALSE, error)
      || !lookup_string (update, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, FALSE, error)
      || !lookup_uint (update, "st", &state, FALSE, error)
      || !lookup_uint (update, "pv", &pv, FALSE, error)
      || !lookup_string (update, "av", &out->app_version, GOSSIP_MSG_MAX_VERSION_LEN, FALSE, error)
      || !lookup_uint (update, "mv", &out->meta_version, FALSE, error))
    return FALSE;
  out->source = update;
  out->type = (GossipMsgType) type;
  out->state = (guint) MIN (state, G_MAXUINT);
  out->protocol_version = (guint) MIN (pv, G_MAXUINT);
  if (type == 0 && (state < 1 || state > 4))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "record state %" G_GUINT64_FORMAT " is not a known state", state);
      return FALSE;
    }
  if (type != 0 && (type < GOSSIP_MSG_ALIVE || type > GOSSIP_MSG_LEAVE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "type %" G_GUINT64_FORMAT " is not a membership update", type);
      return FALSE;
    }
  if ((type == GOSSIP_MSG_ALIVE || type == 0) && out->address == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "alive without address");
      return FALSE;
    }
  return TRUE;
}

gboolean
_gossip_msg_parse (GVariant *message, GossipMsg *out, GError **error)
{
  guint64 type = 0, pv = 0, code = 0;
  g_autoptr (GVariant) join = NULL;

  memset (out, 0, sizeof *out);
  ensure_serialised (message);
  if (!g_variant_is_of_type (message, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "message is not a map");
      return FALSE;
    }
  if (!lookup_uint (message, "t", &type, TRUE, error)
      || !lookup_array (message, "pb", &out->piggyback, GOSSIP_MSG_MAX_PIGGYBACK, error))
    return FALSE;
  out->type = (GossipMsgType) MIN (type, G_MAXUINT16);
  switch (type)
    {
    case GOSSIP_MSG_PING:
      return lookup_uint (message, "s", &out->seq, TRUE, error)
             && lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
             && lookup_string (message, "fa", &out->from_address, GOSSIP_MSG_MAX_ADDRESS_LEN, TRUE,
                               error)
             && lookup_uint (message, "fi", &out->from_incarnation, FALSE, error)
             && lookup_string (message, "tg", &out->target, GOSSIP_MSG_MAX_ID_LEN, FALSE, error);
    case GOSSIP_MSG_ACK:
    case GOSSIP_MSG_NACK:
      return lookup_uint (message, "s", &out->seq, TRUE, error)
             && lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
             && lookup_string (message, "dg", &out->digest, 64, FALSE, error);
    case GOSSIP_MSG_PING_REQ:
      return lookup_uint (message, "s", &out->seq, TRUE, error)
             && lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
             && lookup_string (message, "fa", &out->from_address, GOSSIP_MSG_MAX_ADDRESS_LEN, TRUE,
                               error)
             && lookup_string (message, "tg", &out->target, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
             && lookup_string (message, "ta", &out->target_address, GOSSIP_MSG_MAX_ADDRESS_LEN,
                               TRUE, error);
    case GOSSIP_MSG_ALIVE:
    case GOSSIP_MSG_SUSPECT:
    case GOSSIP_MSG_DEAD:
    case GOSSIP_MSG_LEAVE:
      return _gossip_update_parse (message, &out->update, error);
    case GOSSIP_MSG_PUSH_PULL:
    case GOSSIP_MSG_PUSH_PULL_REPLY:
      if (!lookup_uint (message, "s", &out->seq, TRUE, error)
          || !lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
          || !lookup_string (message, "fa", &out->from_address, GOSSIP_MSG_MAX_ADDRESS_LEN, TRUE,
                             error)
          || !lookup_uint (message, "pv", &pv, TRUE, error)
          || !lookup_string (message, "av", &out->app_version, GOSSIP_MSG_MAX_VERSION_LEN, FALSE,
                             error)
          || !lookup_array (message, "ms", &out->members, GOSSIP_MSG_MAX_MEMBERS, error))
        return FALSE;
      out->protocol_version = (guint) MIN (pv, G_MAXUINT);
      join = g_variant_lookup_value (message, "j", G_VARIANT_TYPE_BOOLEAN);
      out->join = join != NULL && g_variant_get_boolean (join);
      if (out->members == NULL)
        {
          _gossip_msg_clear (out);
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "push-pull without members");
          return FALSE;
        }
      return TRUE;
    case GOSSIP_MSG_REFUSE:
      if (!lookup_uint (message, "s", &out->seq, TRUE, error)
          || !lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
          || !lookup_uint (message, "c", &code, TRUE, error)
          || !lookup_string (message, "why", &out->reason, 1024, TRUE, error))
        return FALSE;
      out->code = (guint) MIN (code, G_MAXUINT);
      return TRUE;
    case GOSSIP_MSG_GOSSIP:
      return lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error);
    case GOSSIP_MSG_USER:
    case GOSSIP_MSG_USER_REPLY:
    case GOSSIP_MSG_BROADCAST:
    case GOSSIP_MSG_STREAM_OPEN:
    case GOSSIP_MSG_STREAM_ANSWER:
      return parse_user (message, out, error);
    case GOSSIP_MSG_STREAM_CREDIT:
    case GOSSIP_MSG_STREAM_FIN:
    case GOSSIP_MSG_STREAM_ABORT:
      return lookup_uint (message, "sid", &out->stream_id, TRUE, error)
             && lookup_uint (message, "s", &out->seq, TRUE, error)
             && lookup_uint (message, "w", &out->window, type == GOSSIP_MSG_STREAM_CREDIT, error)
             && lookup_string (message, "e", &out->error_text, 1024, FALSE, error);
    case GOSSIP_MSG_META_REQUEST:
    case GOSSIP_MSG_META_REPLY:
      if (!lookup_uint (message, "s", &out->seq, TRUE, error)
          || !lookup_string (message, "f", &out->from, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
          || !lookup_string (message, "n", &out->node, GOSSIP_MSG_MAX_ID_LEN, TRUE, error)
          || !lookup_uint (message, "mv", &out->meta_version, FALSE, error))
        return FALSE;
      out->metadata = g_variant_lookup_value (message, "m", NULL);
      return TRUE;
    default:
      /* Types above the protocol's range are the application's (issue 4);
       * unknown protocol types from newer nodes are ignored by the caller. */
      return TRUE;
    }
}

/* Messages are built from dict entries collected in a small array and
 * made into one a{sv} at the end: about a third cheaper than
 * GVariantBuilder, which parses a format string and looks up type info
 * for every entry.  No message has more than MSG_MAX_KEYS keys. */
#define MSG_MAX_KEYS 16

typedef struct
{
  GVariant *entries[MSG_MAX_KEYS];
  gsize n;
} MsgBuilder;

static void
msg_init (MsgBuilder *b)
{
  b->n = 0;
}

static void
put (MsgBuilder *b, const char *key, GVariant *value)
{
  g_assert (b->n < MSG_MAX_KEYS);
  b->entries[b->n++]
      = g_variant_new_dict_entry (g_variant_new_string (key), g_variant_new_variant (value));
}

static GVariant *
msg_end (MsgBuilder *b)
{
  return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), b->entries, b->n);
}

static void
put_u (MsgBuilder *b, const char *key, guint64 value)
{
  put (b, key, g_variant_new_uint64 (value));
}

static void
put_s (MsgBuilder *b, const char *key, const char *value)
{
  if (value != NULL)
    put (b, key, g_variant_new_string (value));
}

GVariant *
_gossip_msg_ping (guint64 seq, const char *from, const char *from_address, guint64 from_incarnation,
                  const char *target)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_PING);
  put_u (&b, "s", seq);
  put_s (&b, "f", from);
  put_s (&b, "fa", from_address);
  put_u (&b, "fi", from_incarnation);
  put_s (&b, "tg", target);
  return msg_end (&b);
}

GVariant *
_gossip_msg_ack (GossipMsgType type, guint64 seq, const char *from, const char *digest)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", type);
  put_u (&b, "s", seq);
  put_s (&b, "f", from);
  if (digest != NULL)
    put_s (&b, "dg", digest);
  return msg_end (&b);
}

GVariant *
_gossip_msg_ping_req (guint64 seq, const char *from, const char *from_address, const char *target,
                      const char *target_address)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_PING_REQ);
  put_u (&b, "s", seq);
  put_s (&b, "f", from);
  put_s (&b, "fa", from_address);
  put_s (&b, "tg", target);
  put_s (&b, "ta", target_address);
  return msg_end (&b);
}

static GVariant *
build_update (const GossipUpdate *u, gboolean record)
{
  MsgBuilder b;

  msg_init (&b);
  if (!record)
    put_u (&b, "t", u->type);
  put_s (&b, "n", u->node);
  put_u (&b, "i", u->incarnation);
  if (record || u->type == GOSSIP_MSG_ALIVE)
    {
      put_s (&b, "a", u->address);
      if (u->extra_addresses != NULL && u->extra_addresses[0] != '\0')
        put_s (&b, "ax", u->extra_addresses);
      put_u (&b, "pv", u->protocol_version);
      if (u->app_version != NULL && u->app_version[0] != '\0')
        put_s (&b, "av", u->app_version);
    }
  if (record)
    put_u (&b, "st", u->state);
  if ((record || u->type == GOSSIP_MSG_ALIVE) && u->meta_version != 0)
    {
      put_u (&b, "mv", u->meta_version);
      if (u->metadata != NULL)
        put (&b, "m", u->metadata);
    }
  put_s (&b, "f", u->from);
  return msg_end (&b);
}

GVariant *
_gossip_msg_update (const GossipUpdate *update)
{
  return build_update (update, FALSE);
}

GVariant *
_gossip_msg_record (const GossipUpdate *record)
{
  return build_update (record, TRUE);
}

GVariant *
_gossip_msg_push_pull (GossipMsgType type, guint64 seq, const char *from, const char *from_address,
                       gboolean join, guint protocol_version, const char *app_version,
                       GVariant *members)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", type);
  put_u (&b, "s", seq);
  put_s (&b, "f", from);
  put_s (&b, "fa", from_address);
  if (join)
    put (&b, "j", g_variant_new_boolean (TRUE));
  put_u (&b, "pv", protocol_version);
  put_s (&b, "av", app_version);
  put (&b, "ms", members);
  return msg_end (&b);
}

GVariant *
_gossip_msg_refuse (guint64 seq, const char *from, guint code, const char *reason)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_REFUSE);
  put_u (&b, "s", seq);
  put_s (&b, "f", from);
  put_u (&b, "c", code);
  put_s (&b, "why", reason);
  return msg_end (&b);
}

GVariant *
_gossip_msg_gossip (const char *from)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_GOSSIP);
  put_s (&b, "f", from);
  return msg_end (&b);
}

/* Returns a new floating copy of @message (a{sv}, borrowed) with "pb" set to
 * @updates (GVariant a{sv} each). */
GVariant *
_gossip_msg_with_piggyback (GVariant *message, GPtrArray *updates)
{
  MsgBuilder b;
  GVariantBuilder pb;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  msg_init (&b);
  g_variant_iter_init (&iter, message);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (b.n < MSG_MAX_KEYS - 1)
        put (&b, key, value);
      g_variant_unref (value);
    }
  g_variant_builder_init (&pb, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < updates->len; i++)
    g_variant_builder_add (&pb, "v", g_ptr_array_index (updates, i));
  put (&b, "pb", g_variant_builder_end (&pb));
  return msg_end (&b);
}

GVariant *
_gossip_msg_user (guint64 seq, const char *from, const char *from_address, guint user_type,
                  gboolean request, GVariant *payload)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_USER);
  if (seq != 0)
    put_u (&b, "s", seq);
  put_s (&b, "f", from);
  put_s (&b, "fa", from_address);
  put_u (&b, "ut", user_type);
  if (request)
    put (&b, "rq", g_variant_new_boolean (TRUE));
  if (payload != NULL)
    put (&b, "v", payload);
  return msg_end (&b);
}

GVariant *
_gossip_msg_stream_open (guint64 stream_id, const char *from, const char *from_address,
                         guint user_type, guint64 window, GVariant *payload)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_STREAM_OPEN);
  put_u (&b, "sid", stream_id);
  put_u (&b, "s", 0);
  put_s (&b, "f", from);
  put_s (&b, "fa", from_address);
  put_u (&b, "ut", user_type);
  put_u (&b, "w", window);
  if (payload != NULL)
    put (&b, "v", payload);
  return msg_end (&b);
}

GVariant *
_gossip_msg_stream_answer (guint64 stream_id, const char *from, guint64 window, const GError *error)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_STREAM_ANSWER);
  put_u (&b, "sid", stream_id);
  put_u (&b, "s", 0);
  put_s (&b, "f", from);
  put_u (&b, "w", window);
  if (error != NULL)
    {
      put_s (&b, "e", error->message);
      put_u (&b, "ec", error->domain == GOSSIP_CLUSTER_ERROR ? (guint) error->code : 0);
    }
  return msg_end (&b);
}

/* CREDIT (@credit bytes more may be sent), FIN (no more data) or ABORT
 * (@reason). */
GVariant *
_gossip_msg_stream_control (GossipMsgType type, guint64 stream_id, guint64 seq, guint64 credit,
                            const char *reason)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", type);
  put_u (&b, "sid", stream_id);
  put_u (&b, "s", seq);
  if (type == GOSSIP_MSG_STREAM_CREDIT)
    put_u (&b, "w", credit);
  put_s (&b, "e", reason);
  return msg_end (&b);
}

GVariant *
_gossip_msg_user_reply (guint64 seq, const char *from, GVariant *payload, const GError *error)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_USER_REPLY);
  put_u (&b, "s", seq);
  put_s (&b, "f", from);
  if (error != NULL)
    {
      put_s (&b, "e", error->message);
      put_u (&b, "ec", error->domain == GOSSIP_CLUSTER_ERROR ? (guint) error->code : 0);
    }
  else if (payload != NULL)
    put (&b, "v", payload);
  return msg_end (&b);
}

GVariant *
_gossip_msg_broadcast (const char *origin, guint64 epoch, guint64 seq, guint user_type,
                       guint64 hops, gint64 sent_at, gboolean relay, GVariant *payload)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_BROADCAST);
  put_s (&b, "o", origin);
  put_u (&b, "e", epoch);
  put_u (&b, "s", seq);
  put_u (&b, "ut", user_type);
  put_u (&b, "h", hops);
  put_u (&b, "ts", (guint64) MAX (sent_at, 0));
  if (relay)
    put (&b, "r", g_variant_new_boolean (TRUE));
  if (payload != NULL)
    put (&b, "v", payload);
  return msg_end (&b);
}

GVariant *
_gossip_msg_meta_request (guint64 seq, const char *from, const char *node)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_META_REQUEST);
  put_u (&b, "s", seq);
  put_s (&b, "f", from);
  put_s (&b, "n", node);
  return msg_end (&b);
}

GVariant *
_gossip_msg_meta_reply (guint64 seq, const char *from, const char *node, guint64 meta_version,
                        GVariant *metadata)
{
  MsgBuilder b;

  msg_init (&b);
  put_u (&b, "t", GOSSIP_MSG_META_REPLY);
  put_u (&b, "s", seq);
  put_s (&b, "f", from);
  put_s (&b, "n", node);
  put_u (&b, "mv", meta_version);
  if (metadata != NULL)
    put (&b, "m", metadata);
  return msg_end (&b);
}
