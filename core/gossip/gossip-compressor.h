/* gossip-compressor.h: the compressor plugin interface.
 *
 * Decompression reads bytes from the network: an implementation must stop
 * with %GOSSIP_COMPRESSOR_ERROR_TOO_BIG as soon as the output would exceed
 * @max_out (decompression bombs), and must never allocate more than that.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GOSSIP_COMPRESSOR_ERROR (gossip_compressor_error_quark ())
GQuark gossip_compressor_error_quark (void);

/**
 * GossipCompressorError:
 * @GOSSIP_COMPRESSOR_ERROR_CORRUPT: the input is not valid compressed data
 * @GOSSIP_COMPRESSOR_ERROR_TOO_BIG: the output would exceed the allowed size
 * @GOSSIP_COMPRESSOR_ERROR_BAD_LEVEL: compression level out of range
 * @GOSSIP_COMPRESSOR_ERROR_FAILED: the library failed otherwise
 */
typedef enum
{
  GOSSIP_COMPRESSOR_ERROR_CORRUPT,
  GOSSIP_COMPRESSOR_ERROR_TOO_BIG,
  GOSSIP_COMPRESSOR_ERROR_BAD_LEVEL,
  GOSSIP_COMPRESSOR_ERROR_FAILED,
} GossipCompressorError;

/** GOSSIP_COMPRESSOR_LEVEL_DEFAULT: ask the compressor for its own default level. */
#define GOSSIP_COMPRESSOR_LEVEL_DEFAULT (-1)

/**
 * GossipCompressorVTable:
 * @struct_size: sizeof (GossipCompressorVTable) when the plugin was built
 * @wire_id: id in frame headers (1 snappy, 2 zlib, 3 zstd, 4 lz4; third-party 128-255)
 * @create: make an instance with @level (%GOSSIP_COMPRESSOR_LEVEL_DEFAULT or a
 *   level the library accepts; others fail with BAD_LEVEL)
 * @destroy: free an instance
 * @compress: append the compressed form of @in to @out
 * @decompress: append the decompressed form of @in to @out, at most @max_out bytes
 */
typedef struct
{
  gsize struct_size;
  guint8 wire_id;
  gpointer (*create) (int level, GError **error);
  void (*destroy) (gpointer self);
  gboolean (*compress) (gpointer self, const guint8 *in, gsize in_len, GByteArray *out,
                        GError **error);
  gboolean (*decompress) (gpointer self, const guint8 *in, gsize in_len, gsize max_out,
                          GByteArray *out, GError **error);
  /*< private >*/
  gpointer reserved[8];
} GossipCompressorVTable;

G_END_DECLS
