/* gossip-notice.c: nodes with other plugins fail loudly, not by timeout.
 *
 * Two nodes whose codec, compressor, cipher or key differ cannot read each
 * other's frames, and without help a join between them would only time
 * out.  So when a frame arriving on a reliable connection is refused for
 * such a mismatch, the receiver answers on that connection with a notice
 * (gossip_frame_new_notice(): codec id 0, plaintext, readable by any node)
 * naming its own plugins.  A node that gets a notice from an address it is
 * exchanging state with ends those exchanges with
 * GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH and a message that says what
 * differs; a join then fails with it.  docs/PROTOCOL.md ("Notices") has the
 * format and the security argument: a notice is not authenticated, so it
 * can only end exchanges this node started with that address, never change
 * membership.
 */
#include "config.h"

#include <string.h>

#include "gossip-cluster-private.h"
#include "gossip-frame-private.h"

/* Notices sent per second at most; beyond that they are only counted. */
#define NOTICES_PER_SECOND 10

static gboolean
is_plugin_mismatch (const GError *error)
{
  if (error->domain != GOSSIP_FRAME_ERROR)
    return FALSE;
  switch (error->code)
    {
    case GOSSIP_FRAME_ERROR_CODEC_MISMATCH:
    case GOSSIP_FRAME_ERROR_COMPRESSOR_MISMATCH:
    case GOSSIP_FRAME_ERROR_CIPHER_MISMATCH:
    case GOSSIP_FRAME_ERROR_NOT_ENCRYPTED:
    case GOSSIP_FRAME_ERROR_UNKNOWN_KEY:
    case GOSSIP_FRAME_ERROR_AUTH_FAILED:
      return TRUE;
    default:
      return FALSE;
    }
}

/* A configured plugin name as one notice token: "none" when there is no
 * plugin, and nothing but [A-Za-z0-9._/-] (a name may be a path). */
static char *
plugin_token (GossipCluster *self, const char *key)
{
  const char *name = gossip_config_get_string (self->config, "plugins", key);
  char *token = g_strdup (name != NULL && name[0] != '\0' ? name : "none");

  for (char *p = token; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._/-", *p) == NULL)
      *p = '_';
  return token;
}

/* "reason=codec-mismatch codec=msgpack/1 compressor=none/0 cipher=aes-gcm/1 key=3fa1" */
static char *
describe_self (GossipCluster *self, GossipFrameError reason)
{
  g_autofree char *codec = plugin_token (self, "codec");
  g_autofree char *compressor = plugin_token (self, "compressor");
  g_autofree char *cipher = plugin_token (self, "cipher");
  GossipFrameHeader ids;

  _gossip_pipeline_get_ids (self->pipeline, &ids);
  if (ids.cipher_id == 0)
    return g_strdup_printf ("reason=%s codec=%s/%u compressor=%s/%u cipher=none/0 key=none",
                            gossip_frame_error_to_string (reason), codec, ids.codec_id, compressor,
                            ids.compressor_id);
  return g_strdup_printf ("reason=%s codec=%s/%u compressor=%s/%u cipher=%s/%u key=%04x",
                          gossip_frame_error_to_string (reason), codec, ids.codec_id, compressor,
                          ids.compressor_id, cipher, ids.cipher_id, ids.key_id);
}

static void
send_notice (GossipCluster *self, GossipClusterTransport *t, const char *to,
             GossipFrameError reason)
{
  gint64 now = gossip_clock_now (self->clock);
  g_autofree char *text = NULL;
  g_autoptr (GBytes) frame = NULL;

  if (self->notices_in_window == 0 || now - self->notice_window >= G_USEC_PER_SEC)
    {
      self->notice_window = now;
      self->notices_in_window = 0;
    }
  if (self->notices_in_window >= NOTICES_PER_SECOND)
    {
      _gossip_cluster_count (self, GOSSIP_COUNTER_NOTICES_SUPPRESSED);
      return;
    }
  self->notices_in_window++;
  text = describe_self (self, reason);
  frame = gossip_frame_new_notice (text);
  _gossip_cluster_count (self, GOSSIP_COUNTER_NOTICES_SENT);
  t->vtable->send_reliable (t->instance, to, frame, NULL, NULL);
}

/* The value of @field in a notice's "field=value" tokens, or NULL. */
static char *
notice_field (char **tokens, const char *field)
{
  gsize len = strlen (field);

  for (guint i = 0; tokens[i] != NULL; i++)
    if (strncmp (tokens[i], field, len) == 0 && tokens[i][len] == '=')
      return g_strdup (tokens[i] + len + 1);
  return NULL;
}

/* A plugin's name from a "name/id" value. */
static char *
plugin_name (char **tokens, const char *field)
{
  char *value = notice_field (tokens, field);
  char *slash = value ? strrchr (value, '/') : NULL;

  if (slash != NULL)
    *slash = '\0';
  return value;
}

/* What a peer's notice means for this node, in one sentence. */
static char *
explain_notice (GossipCluster *self, const char *from, const char *text)
{
  g_auto (GStrv) tokens = g_strsplit (text, " ", 16);
  g_autofree char *reason = notice_field (tokens, "reason");
  const char *kind = NULL;

  if (g_strcmp0 (reason, "codec-mismatch") == 0)
    kind = "codec";
  else if (g_strcmp0 (reason, "compressor-mismatch") == 0)
    kind = "compressor";
  else if (g_strcmp0 (reason, "cipher-mismatch") == 0 || g_strcmp0 (reason, "not-encrypted") == 0)
    kind = "cipher";
  if (kind != NULL)
    {
      g_autofree char *theirs = plugin_name (tokens, kind);
      g_autofree char *ours = plugin_token (self, kind);

      if (theirs != NULL && g_strcmp0 (theirs, ours) != 0)
        return g_strdup_printf ("peer %s uses %s %s, this node %s", from, kind, theirs, ours);
    }
  if (g_strcmp0 (reason, "unknown-key") == 0 || g_strcmp0 (reason, "auth-failed") == 0)
    {
      g_autofree char *theirs = notice_field (tokens, "key");
      GossipFrameHeader ids;

      _gossip_pipeline_get_ids (self->pipeline, &ids);
      return g_strdup_printf ("peer %s does not accept this node's key (key id %04x; the peer's "
                              "primary key id is %s): configure the same [security] key on every "
                              "node, or list this one in the peer's accepted_keys",
                              from, ids.key_id, theirs ? theirs : "not given");
    }
  return g_strdup_printf ("peer %s cannot read this node's frames: %s", from, text);
}

/*
 * Called with every frame the pipeline refused.  Only the reliable path
 * counts: a datagram's source address is whatever its sender wrote, while a
 * reliable connection's peer is the one this node talks to.
 */
void
_gossip_notice_handle_rejected (GossipCluster *self, GossipClusterTransport *t,
                                GossipTransportPath path, const char *from, const GError *error)
{
  g_autoptr (GError) mismatch = NULL;

  if (path != GOSSIP_TRANSPORT_PATH_RELIABLE || from == NULL)
    return;
  if (g_error_matches (error, GOSSIP_FRAME_ERROR, GOSSIP_FRAME_ERROR_NOTICE))
    {
      g_autofree char *why = explain_notice (self, from, error->message);

      mismatch
          = g_error_new_literal (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH, why);
      _gossip_pushpull_fail_exchanges (self, from, mismatch);
      return;
    }
  if (!is_plugin_mismatch (error))
    return;
  /* An exchange this node started cannot succeed if the answer it gets is
   * unreadable: end it now rather than at its timeout. */
  mismatch = g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_PLUGIN_MISMATCH,
                          "peer %s sends frames this node cannot read: %s", from, error->message);
  _gossip_pushpull_fail_exchanges (self, from, mismatch);
  send_notice (self, t, from, (GossipFrameError) error->code);
}
