/* gossip-codec.h: the codec plugin interface (GVariant <-> bytes).
 *
 * Writing a codec: implement the functions below and export the vtable with
 * GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_CODEC, "name", ...).
 *
 * Every codec implements the same mapping (docs/PLUGINS.md, "Value mapping"):
 *
 *   GVariant                      wire (MessagePack terms)      decodes as
 *   b                             bool                          b
 *   y n q i u x t h               integer                       x (t when > G_MAXINT64)
 *   d                             float64                       d
 *   s o g                         string                        s
 *   ay                            binary                        ay
 *   a{s*} a{?*}                   map (keys encoded as values)  a{sv} when all keys are
 *                                                               strings, else a(vv)
 *                                                               (a{vv} is no GVariant type)
 *   a(vv)                         map (the decoded form above)  as a{?*}
 *   other arrays, tuples          array                         av
 *   v                             the boxed value itself        (its mapping)
 *   m* (Nothing)                  nil                           mv (Nothing)
 *   m* (Just x)                   x                             (x's mapping)
 *
 * gossip_variant_coerce() turns a decoded value back into the type the
 * sender used, so `(si)` survives a round trip through any codec.
 *
 * A decoder reads bytes from the network: it must check every length against
 * the remaining input before allocating, limit nesting depth to
 * %GOSSIP_CODEC_MAX_DEPTH and fail with %GOSSIP_CODEC_ERROR, never crash.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GOSSIP_CODEC_MAX_DEPTH 32

#define GOSSIP_CODEC_ERROR (gossip_codec_error_quark ())
GQuark gossip_codec_error_quark (void);

/**
 * GossipCodecError:
 * @GOSSIP_CODEC_ERROR_UNSUPPORTED: a value this codec cannot represent faithfully
 * @GOSSIP_CODEC_ERROR_MALFORMED: input bytes are not a valid encoding
 * @GOSSIP_CODEC_ERROR_TRUNCATED: input ends in the middle of a value
 * @GOSSIP_CODEC_ERROR_TOO_DEEP: nesting deeper than %GOSSIP_CODEC_MAX_DEPTH
 * @GOSSIP_CODEC_ERROR_TRAILING: bytes left over after one complete value
 * @GOSSIP_CODEC_ERROR_TYPE: gossip_variant_coerce() cannot convert to the asked type
 */
typedef enum
{
  GOSSIP_CODEC_ERROR_UNSUPPORTED,
  GOSSIP_CODEC_ERROR_MALFORMED,
  GOSSIP_CODEC_ERROR_TRUNCATED,
  GOSSIP_CODEC_ERROR_TOO_DEEP,
  GOSSIP_CODEC_ERROR_TRAILING,
  GOSSIP_CODEC_ERROR_TYPE,
} GossipCodecError;

/**
 * GossipCodecVTable:
 * @struct_size: sizeof (GossipCodecVTable) when the plugin was built
 * @wire_id: the codec's id in frame headers (1 = MessagePack, 2 = JSON;
 *   third-party codecs use 128-255).  Codecs with the same id must produce
 *   interchangeable bytes.
 * @create: make an instance; may keep reusable buffers
 * @destroy: free an instance
 * @encode: append the encoding of @value to @out
 * @decode: decode exactly one value spanning all of @data; returns a new,
 *   non-floating reference
 *
 * Instances are used from one thread at a time (the cluster's context).
 */
typedef struct
{
  gsize struct_size;
  guint8 wire_id;
  gpointer (*create) (GError **error);
  void (*destroy) (gpointer self);
  gboolean (*encode) (gpointer self, GVariant *value, GByteArray *out, GError **error);
  GVariant *(*decode) (gpointer self, const guint8 *data, gsize len, GError **error);
  /*< private >*/
  gpointer reserved[8];
} GossipCodecVTable;

GVariant *gossip_variant_coerce (GVariant *value, const GVariantType *type, GError **error);

/**
 * GossipCodecBuilder:
 *
 * What every decoder does at the end of a container: turns the decoded
 * children into the types of the mapping above.  Items become `av`;
 * alternating keys and values become `a{sv}` when every key is a string,
 * else `a(vv)`.  Codecs use it so that all of them build decoded values the
 * same way (docs/CODEC-MAPPING.md).
 */
typedef struct _GossipCodecBuilder GossipCodecBuilder;

GossipCodecBuilder *gossip_codec_builder_new (gsize n_values);
void gossip_codec_builder_add (GossipCodecBuilder *builder, GVariant *value);
GVariant *gossip_codec_builder_end_array (GossipCodecBuilder *builder);
GVariant *gossip_codec_builder_end_map (GossipCodecBuilder *builder);
void gossip_codec_builder_free (GossipCodecBuilder *builder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GossipCodecBuilder, gossip_codec_builder_free)

gboolean gossip_codec_check_depth (guint depth, GError **error);

gpointer gossip_codec_create_stateless (GError **error);
void gossip_codec_destroy_stateless (gpointer self);

G_END_DECLS
