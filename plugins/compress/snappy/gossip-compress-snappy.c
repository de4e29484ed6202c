/* gossip-compress-snappy.c: Snappy through its C API.
 *
 * Snappy's format starts with the uncompressed length, so the size limit is
 * enforced before anything is allocated, and the output is then decoded
 * straight into its final place.
 */
#include "config.h"

#include <gmodule.h>
#include <snappy-c.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-compressor.h"

/* Snappy keeps no state between calls, so every instance is this one
 * placeholder: create must return non-NULL, and there is nothing to free. */
static guint8 snappy_instance;

static gpointer
snappy_create (int level, GError **error)
{
  if (level != GOSSIP_COMPRESSOR_LEVEL_DEFAULT)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_BAD_LEVEL,
                   "snappy has no compression levels: only the default (%d) is accepted, not %d",
                   GOSSIP_COMPRESSOR_LEVEL_DEFAULT, level);
      return NULL;
    }
  return &snappy_instance;
}

static void
snappy_destroy (gpointer self)
{
}

static gboolean
snappy_compress_append (gpointer self, const guint8 *in, gsize in_len, GByteArray *out,
                        GError **error)
{
  guint old_len = out->len;
  size_t bound = snappy_max_compressed_length (in_len);
  size_t written;
  snappy_status status;

  /* The bound is 32 + n + n/6, so it is below n only if it wrapped. */
  if (bound < in_len || bound > G_MAXUINT - old_len)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "%" G_GSIZE_FORMAT " bytes are too many to compress into a byte array", in_len);
      return FALSE;
    }

  g_byte_array_set_size (out, old_len + (guint) bound);
  written = bound;
  status = snappy_compress ((const char *) in, in_len, (char *) out->data + old_len, &written);
  if (status != SNAPPY_OK)
    {
      g_byte_array_set_size (out, old_len);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "snappy failed to compress (status %d)", (int) status);
      return FALSE;
    }
  g_byte_array_set_size (out, old_len + (guint) written);
  return TRUE;
}

static gboolean
snappy_decompress_append (gpointer self, const guint8 *in, gsize in_len, gsize max_out,
                          GByteArray *out, GError **error)
{
  guint old_len = out->len;
  size_t expected, written;

  if (snappy_uncompressed_length ((const char *) in, in_len, &expected) != SNAPPY_OK)
    {
      g_set_error_literal (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
                           "not snappy data: no valid length header");
      return FALSE;
    }
  if (expected > max_out || expected > G_MAXUINT - old_len)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_TOO_BIG,
                   "snappy data claims %" G_GSIZE_FORMAT " bytes, more than the %" G_GSIZE_FORMAT
                   " allowed",
                   (gsize) expected, max_out);
      return FALSE;
    }

  /* Nothing to decode into: still check the rest is a well-formed stream. */
  if (expected == 0)
    {
      if (snappy_validate_compressed_buffer ((const char *) in, in_len) != SNAPPY_OK)
        {
          g_set_error_literal (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
                               "corrupt snappy data");
          return FALSE;
        }
      return TRUE;
    }

  g_byte_array_set_size (out, old_len + (guint) expected);
  written = expected;
  if (snappy_uncompress ((const char *) in, in_len, (char *) out->data + old_len, &written)
          != SNAPPY_OK
      || written != expected)
    {
      g_byte_array_set_size (out, old_len);
      g_set_error_literal (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
                           "corrupt snappy data");
      return FALSE;
    }
  return TRUE;
}

static const GossipCompressorVTable snappy_vtable = {
  .struct_size = sizeof (GossipCompressorVTable),
  .wire_id = 1,
  .create = snappy_create,
  .destroy = snappy_destroy,
  .compress = snappy_compress_append,
  .decompress = snappy_decompress_append,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_COMPRESSOR, "snappy", PACKAGE_VERSION,
                      "Snappy: fast, modest compression, no levels", NULL, &snappy_vtable);
