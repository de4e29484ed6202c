/* gossip-compress-lz4.c: LZ4 block compression through liblz4.
 *
 * Wire format: the decompressed length (4 bytes, big-endian) followed by one
 * LZ4 block.  The block format has no header of its own, so the length is
 * what lets the decoder refuse a block that claims more than the caller
 * allows before it allocates anything.  It has no checksum either: on a
 * cluster without a cipher, a damaged block can decode to wrong bytes (the
 * same as snappy; use zlib or zstd there if that matters).
 *
 * Levels:
 *   GOSSIP_COMPRESSOR_LEVEL_DEFAULT (-1): plain fast LZ4 (acceleration 1),
 *     the speed LZ4 is chosen for;
 *   1 to 12: LZ4HC at that level (slower to compress, smaller output; 9 is
 *     LZ4HC's own default).  Decompression is the same fast decoder either way.
 * Everything else, 0 included, is refused.
 *
 * Each instance allocates the compression state it needs once (LZ4's or
 * LZ4HC's) and reuses it, so an instance is used by one thread at a time (a
 * pipeline owns its compressor instance).
 */
#include "config.h"

#include <gmodule.h>
#include <lz4.h>
#include <lz4hc.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-compressor.h"

#define LZ4_HEADER_SIZE   4
#define LZ4_GOSSIP_HC_MIN 1
#define LZ4_GOSSIP_HC_MAX LZ4HC_CLEVEL_MAX

typedef struct
{
  int hc_level;   /* 0: fast LZ4; otherwise the LZ4HC level */
  gpointer state; /* LZ4_sizeofState() or LZ4_sizeofStateHC() bytes */
} Lz4Compressor;

static void
lz4_destroy (gpointer self)
{
  Lz4Compressor *z = self;

  if (z == NULL)
    return;
  g_free (z->state);
  g_free (z);
}

static gpointer
lz4_create (int level, GError **error)
{
  Lz4Compressor *z;

  if (level != GOSSIP_COMPRESSOR_LEVEL_DEFAULT
      && (level < LZ4_GOSSIP_HC_MIN || level > LZ4_GOSSIP_HC_MAX))
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_BAD_LEVEL,
                   "lz4 levels are %d to %d for LZ4HC (or %d for fast LZ4), not %d",
                   LZ4_GOSSIP_HC_MIN, LZ4_GOSSIP_HC_MAX, GOSSIP_COMPRESSOR_LEVEL_DEFAULT, level);
      return NULL;
    }

  z = g_new0 (Lz4Compressor, 1);
  z->hc_level = level == GOSSIP_COMPRESSOR_LEVEL_DEFAULT ? 0 : level;
  /* g_malloc() aligns for any type, which both states require. */
  z->state
      = g_malloc (z->hc_level == 0 ? (gsize) LZ4_sizeofState () : (gsize) LZ4_sizeofStateHC ());
  return z;
}

static void
write_be32 (guint8 *p, guint32 value)
{
  p[0] = (guint8) (value >> 24);
  p[1] = (guint8) (value >> 16);
  p[2] = (guint8) (value >> 8);
  p[3] = (guint8) value;
}

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | (guint32) p[3];
}

static gboolean
lz4_compress (gpointer self, const guint8 *in, gsize in_len, GByteArray *out, GError **error)
{
  Lz4Compressor *z = self;
  guint old_len = out->len;
  guint8 *block;
  int bound, written;

  if (in_len > (gsize) LZ4_MAX_INPUT_SIZE)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "an lz4 block holds at most %d bytes, not %" G_GSIZE_FORMAT, LZ4_MAX_INPUT_SIZE,
                   in_len);
      return FALSE;
    }
  bound = LZ4_compressBound ((int) in_len);
  if ((gsize) bound + LZ4_HEADER_SIZE > G_MAXUINT - old_len)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "%" G_GSIZE_FORMAT " bytes are too many to compress into a byte array", in_len);
      return FALSE;
    }

  g_byte_array_set_size (out, old_len + LZ4_HEADER_SIZE + (guint) bound);
  write_be32 (out->data + old_len, (guint32) in_len);
  block = out->data + old_len + LZ4_HEADER_SIZE;
  /* With room for the bound, both always succeed; an empty input becomes a
   * one-byte block (a single empty token). */
  if (z->hc_level == 0)
    written = LZ4_compress_fast_extState (z->state, (const char *) in, (char *) block, (int) in_len,
                                          bound, 1);
  else
    written = LZ4_compress_HC_extStateHC (z->state, (const char *) in, (char *) block, (int) in_len,
                                          bound, z->hc_level);
  if (written <= 0)
    {
      g_byte_array_set_size (out, old_len);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "lz4 failed to compress %" G_GSIZE_FORMAT " bytes", in_len);
      return FALSE;
    }
  g_byte_array_set_size (out, old_len + LZ4_HEADER_SIZE + (guint) written);
  return TRUE;
}

static gboolean
lz4_decompress (gpointer self, const guint8 *in, gsize in_len, gsize max_out, GByteArray *out,
                GError **error)
{
  guint old_len = out->len;
  gsize limit = MIN (max_out, (gsize) (G_MAXUINT - old_len));
  const char *corrupt = NULL;
  gsize claimed;
  int got;

  (void) self;
  if (in_len < LZ4_HEADER_SIZE + 1)
    {
      corrupt = "shorter than a length and the smallest block";
      goto corrupt;
    }
  claimed = read_be32 (in);
  /* Checked before any allocation: a small frame cannot make us reserve a
   * large buffer. */
  if (claimed > limit)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_TOO_BIG,
                   "lz4 block claims %" G_GSIZE_FORMAT " bytes, more than the %" G_GSIZE_FORMAT
                   " allowed",
                   claimed, limit);
      return FALSE;
    }
  if (claimed > (gsize) LZ4_MAX_INPUT_SIZE)
    {
      corrupt = "claimed length is beyond what an lz4 block holds";
      goto corrupt;
    }
  if (in_len - LZ4_HEADER_SIZE > (gsize) G_MAXINT)
    {
      corrupt = "block is larger than lz4 can read";
      goto corrupt;
    }
  if (claimed == 0)
    {
      /* The one encoding of nothing: a single empty token. */
      if (in_len != LZ4_HEADER_SIZE + 1 || in[LZ4_HEADER_SIZE] != 0)
        {
          corrupt = "an empty block is one zero byte";
          goto corrupt;
        }
      return TRUE;
    }

  g_byte_array_set_size (out, old_len + (guint) claimed);
  /* LZ4_decompress_safe() never reads or writes outside the given buffers,
   * and fails unless the block's last literals end exactly at the end of the
   * input: trailing bytes are refused.  The block must also fill exactly the
   * claimed length. */
  got = LZ4_decompress_safe ((const char *) in + LZ4_HEADER_SIZE, (char *) out->data + old_len,
                             (int) (in_len - LZ4_HEADER_SIZE), (int) claimed);
  if (got < 0 || (gsize) got != claimed)
    {
      g_byte_array_set_size (out, old_len);
      corrupt = got < 0 ? "malformed block" : "block is shorter than its claimed length";
      goto corrupt;
    }
  return TRUE;

corrupt:
  g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
               "corrupt lz4 data: %s", corrupt);
  return FALSE;
}

static const GossipCompressorVTable lz4_vtable = {
  .struct_size = sizeof (GossipCompressorVTable),
  .wire_id = 4,
  .create = lz4_create,
  .destroy = lz4_destroy,
  .compress = lz4_compress,
  .decompress = lz4_decompress,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_COMPRESSOR, "lz4", PACKAGE_VERSION,
                      "LZ4 blocks (liblz4): fast by default, levels 1 to 12 for LZ4HC", NULL,
                      &lz4_vtable);
