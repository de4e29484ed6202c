/* bad-plugin.c: one source, compiled once per way a plugin can be wrong, so
 * the loader's refusals are tested against real shared objects. */
#include "config.h"

#include <gmodule.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-codec.h"

G_GNUC_UNUSED static gpointer
fake_create (GError **error)
{
  return g_malloc0 (1);
}

G_GNUC_UNUSED static gboolean
fake_encode (gpointer self, GVariant *value, GByteArray *out, GError **error)
{
  return TRUE;
}

G_GNUC_UNUSED static GVariant *
fake_decode (gpointer self, const guint8 *data, gsize len, GError **error)
{
  return g_variant_ref_sink (g_variant_new_boolean (TRUE));
}

G_GNUC_UNUSED static const GossipCodecVTable vtable = {
  .struct_size = sizeof (GossipCodecVTable),
  .wire_id = 200,
  .create = fake_create,
  .destroy = g_free,
#ifndef BAD_INCOMPLETE
  .encode = fake_encode,
#endif
  .decode = fake_decode,
};

#ifdef BAD_INIT
static gboolean
failing_init (GError **error)
{
  g_set_error_literal (error, GOSSIP_PLUGIN_ERROR, GOSSIP_PLUGIN_ERROR_INIT_FAILED,
                       "no hardware for this");
  return FALSE;
}
#define INIT failing_init
#else
#define INIT NULL
#endif

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "good"
#endif
#ifndef ABI_MAJOR
#define ABI_MAJOR GOSSIP_PLUGIN_ABI_MAJOR
#endif
#ifndef ABI_MINOR
#define ABI_MINOR GOSSIP_PLUGIN_ABI_MINOR
#endif
#ifndef KIND
#define KIND GOSSIP_PLUGIN_KIND_CODEC
#endif
#ifdef BAD_NO_VTABLE
#define VTABLE NULL
#else
#define VTABLE &vtable
#endif

#ifndef BAD_NO_SYMBOL
G_MODULE_EXPORT const GossipPluginDescriptor gossip_plugin_descriptor = {
  ABI_MAJOR, ABI_MINOR, KIND,     PLUGIN_NAME, "0.0.1", "a plugin built wrong on purpose",
  INIT,      VTABLE,    { NULL },
};
#else
G_MODULE_EXPORT const int gossip_something_else = 1;
#endif
