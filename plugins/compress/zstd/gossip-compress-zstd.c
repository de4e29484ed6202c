/* gossip-compress-zstd.c: Zstandard (RFC 8878) through libzstd.
 *
 * Each message is one zstd frame that records its decompressed size and
 * carries a content checksum (4 bytes of XXH64): like zlib's Adler-32, the
 * checksum catches a damaged frame on clusters that run without a cipher.
 *
 * Levels are zstd's 1 to 22; GOSSIP_COMPRESSOR_LEVEL_DEFAULT means zstd's
 * default, 3.  Zstd's 0 (another name for the default) and its negative
 * "fast" levels are refused, so that a level always means one thing here.
 *
 * Decompression knows the output size before it starts: a frame without a
 * content size is refused (ours always have one), as is one that claims more
 * than the caller allows, before anything is allocated.  The input must be
 * exactly one zstd frame; skippable frames and trailing bytes are corrupt.
 *
 * Each instance creates one compression and one decompression context and
 * reuses them for every call, so an instance is used by one thread at a time
 * (a pipeline owns its compressor instance).
 */
#include "config.h"

#include <gmodule.h>
#include <zstd.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-compressor.h"

#define ZSTD_GOSSIP_DEFAULT_LEVEL 3
#define ZSTD_GOSSIP_MIN_LEVEL     1
#define ZSTD_GOSSIP_MAX_LEVEL     22
#define ZSTD_MAGIC_SIZE           4

typedef struct
{
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
} ZstdCompressor;

static void
zstd_destroy (gpointer self)
{
  ZstdCompressor *z = self;

  if (z == NULL)
    return;
  ZSTD_freeCCtx (z->cctx);
  ZSTD_freeDCtx (z->dctx);
  g_free (z);
}

static gboolean
set_parameter (ZSTD_CCtx *cctx, ZSTD_cParameter param, int value, GError **error)
{
  size_t ret = ZSTD_CCtx_setParameter (cctx, param, value);

  if (ZSTD_isError (ret))
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "zstd cannot set up a compressor: %s", ZSTD_getErrorName (ret));
      return FALSE;
    }
  return TRUE;
}

static gpointer
zstd_create (int level, GError **error)
{
  ZstdCompressor *z;

  if (level != GOSSIP_COMPRESSOR_LEVEL_DEFAULT
      && (level < ZSTD_GOSSIP_MIN_LEVEL || level > ZSTD_GOSSIP_MAX_LEVEL))
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_BAD_LEVEL,
                   "zstd levels are %d to %d (or %d for the default, %d), not %d",
                   ZSTD_GOSSIP_MIN_LEVEL, ZSTD_GOSSIP_MAX_LEVEL, GOSSIP_COMPRESSOR_LEVEL_DEFAULT,
                   ZSTD_GOSSIP_DEFAULT_LEVEL, level);
      return NULL;
    }
  if (level == GOSSIP_COMPRESSOR_LEVEL_DEFAULT)
    level = ZSTD_GOSSIP_DEFAULT_LEVEL;

  z = g_new0 (ZstdCompressor, 1);
  z->cctx = ZSTD_createCCtx ();
  z->dctx = ZSTD_createDCtx ();
  if (z->cctx == NULL || z->dctx == NULL)
    {
      zstd_destroy (z);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "zstd cannot allocate its contexts");
      return NULL;
    }
  /* The content size is what lets the decoder refuse a bomb up front; it is
   * zstd's default for one-shot compression, but the decoder depends on it. */
  if (!set_parameter (z->cctx, ZSTD_c_compressionLevel, level, error)
      || !set_parameter (z->cctx, ZSTD_c_contentSizeFlag, 1, error)
      || !set_parameter (z->cctx, ZSTD_c_checksumFlag, 1, error))
    {
      zstd_destroy (z);
      return NULL;
    }
  return z;
}

static gboolean
zstd_compress (gpointer self, const guint8 *in, gsize in_len, GByteArray *out, GError **error)
{
  ZstdCompressor *z = self;
  guint old_len = out->len;
  size_t bound = ZSTD_compressBound (in_len);
  size_t written;

  if (ZSTD_isError (bound) || bound > G_MAXUINT - old_len)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "%" G_GSIZE_FORMAT " bytes are too many to compress into a byte array", in_len);
      return FALSE;
    }

  g_byte_array_set_size (out, old_len + (guint) bound);
  /* ZSTD_compress2() starts a new frame (resetting the session, keeping the
   * parameters) and, with room for the bound, always completes it. */
  written = ZSTD_compress2 (z->cctx, out->data + old_len, bound, in, in_len);
  if (ZSTD_isError (written))
    {
      g_byte_array_set_size (out, old_len);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "zstd failed to compress: %s", ZSTD_getErrorName (written));
      return FALSE;
    }
  g_byte_array_set_size (out, old_len + (guint) written);
  return TRUE;
}

static gboolean
zstd_decompress (gpointer self, const guint8 *in, gsize in_len, gsize max_out, GByteArray *out,
                 GError **error)
{
  ZstdCompressor *z = self;
  guint old_len = out->len;
  gsize limit = MIN (max_out, (gsize) (G_MAXUINT - old_len));
  unsigned long long content_size;
  size_t frame_size, produced;
  guint8 empty;
  guint8 *dst;

  /* A regular frame only: not a skippable frame, nor a legacy format that a
   * libzstd built with legacy support would otherwise accept. */
  if (in_len < ZSTD_MAGIC_SIZE
      || (in[0] | (guint32) in[1] << 8 | (guint32) in[2] << 16 | (guint32) in[3] << 24)
             != ZSTD_MAGICNUMBER)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
                   "corrupt zstd data: not a zstd frame");
      return FALSE;
    }

  content_size = ZSTD_getFrameContentSize (in, in_len);
  if (content_size == ZSTD_CONTENTSIZE_ERROR || content_size == ZSTD_CONTENTSIZE_UNKNOWN)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
                   "corrupt zstd data: %s",
                   content_size == ZSTD_CONTENTSIZE_ERROR ? "invalid or truncated frame header"
                                                          : "frame does not record its size");
      return FALSE;
    }
  /* Checked before any allocation: a small frame cannot make us reserve a
   * large buffer. */
  if (content_size > limit)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_TOO_BIG,
                   "zstd frame claims %llu bytes, more than the %" G_GSIZE_FORMAT " allowed",
                   content_size, limit);
      return FALSE;
    }
  frame_size = ZSTD_findFrameCompressedSize (in, in_len);
  if (ZSTD_isError (frame_size) || frame_size != in_len)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
                   "corrupt zstd data: %s",
                   ZSTD_isError (frame_size) ? ZSTD_getErrorName (frame_size)
                                             : "trailing bytes after the end of the zstd frame");
      return FALSE;
    }

  if (content_size > 0)
    {
      g_byte_array_set_size (out, old_len + (guint) content_size);
      dst = out->data + old_len;
    }
  else
    dst = &empty;
  produced = ZSTD_decompressDCtx (z->dctx, dst, (size_t) content_size, in, in_len);
  if (ZSTD_isError (produced) || produced != content_size)
    {
      g_byte_array_set_size (out, old_len);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
                   "corrupt zstd data: %s",
                   ZSTD_isError (produced) ? ZSTD_getErrorName (produced)
                                           : "frame is shorter than it claims");
      return FALSE;
    }
  return TRUE;
}

static const GossipCompressorVTable zstd_vtable = {
  .struct_size = sizeof (GossipCompressorVTable),
  .wire_id = 3,
  .create = zstd_create,
  .destroy = zstd_destroy,
  .compress = zstd_compress,
  .decompress = zstd_decompress,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_COMPRESSOR, "zstd", PACKAGE_VERSION,
                      "Zstandard with content checksums (libzstd), levels 1 to 22", NULL,
                      &zstd_vtable);
