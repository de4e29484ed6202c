/* gossip-compress-lz4-example.c: a compressor plugin built outside libgossip's tree.
 *
 * It is the example docs/PLUGINS.md walks through: LZ4 block compression
 * through liblz4, each block preceded by its decompressed length (4 bytes,
 * big-endian) so that the decoder can refuse a block that claims more than
 * the caller allows before it allocates anything.  libgossip ships its own
 * "lz4" plugin; this one shows how a third party builds a plugin against the
 * installed library, under its own name and a third-party wire id.
 *
 * Build against an installed libgossip:
 *   make            (uses pkg-config gossip-1.0 liblz4)
 * then put the directory in [plugins] path and set [plugins] compressor=lz4-example,
 * or give the .so's absolute path as the compressor.
 */
#include <string.h>

#include <gossip/gossip.h>
#include <lz4.h>

#define HEADER_SIZE 4

typedef struct
{
  int acceleration; /* LZ4's speed knob: 1 is its default, larger is faster */
} Lz4Compressor;

static gpointer
lz4_create (int level, GError **error)
{
  Lz4Compressor *self;

  if (level != GOSSIP_COMPRESSOR_LEVEL_DEFAULT && (level < 1 || level > 65537))
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_BAD_LEVEL,
                   "lz4 levels are accelerations 1 to 65537 (or -1 for 1), not %d", level);
      return NULL;
    }
  self = g_new0 (Lz4Compressor, 1);
  self->acceleration = level == GOSSIP_COMPRESSOR_LEVEL_DEFAULT ? 1 : level;
  return self;
}

static void
lz4_destroy (gpointer self)
{
  g_free (self);
}

static gboolean
lz4_compress (gpointer data, const guint8 *in, gsize len, GByteArray *out, GError **error)
{
  Lz4Compressor *self = data;
  guint start = out->len;
  int bound, written;

  if (len > (gsize) LZ4_MAX_INPUT_SIZE)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_TOO_BIG,
                   "lz4 blocks hold at most %d bytes, not %" G_GSIZE_FORMAT, LZ4_MAX_INPUT_SIZE,
                   len);
      return FALSE;
    }
  bound = LZ4_compressBound ((int) len);
  g_byte_array_set_size (out, start + HEADER_SIZE + (guint) bound);
  out->data[start] = (guint8) (len >> 24);
  out->data[start + 1] = (guint8) (len >> 16);
  out->data[start + 2] = (guint8) (len >> 8);
  out->data[start + 3] = (guint8) len;
  written = LZ4_compress_fast ((const char *) in, (char *) out->data + start + HEADER_SIZE,
                               (int) len, bound, self->acceleration);
  if (written <= 0 && len > 0)
    {
      g_byte_array_set_size (out, start);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "LZ4_compress_fast failed");
      return FALSE;
    }
  g_byte_array_set_size (out, start + HEADER_SIZE + (guint) MAX (written, 0));
  return TRUE;
}

static gboolean
lz4_decompress (gpointer data, const guint8 *in, gsize len, gsize max_out, GByteArray *out,
                GError **error)
{
  guint start = out->len;
  gsize claimed;
  int got;

  if (len < HEADER_SIZE)
    goto corrupt;
  claimed = ((gsize) in[0] << 24) | ((gsize) in[1] << 16) | ((gsize) in[2] << 8) | in[3];
  /* Checked before any allocation: a small frame cannot make us reserve a
   * large buffer. */
  if (claimed > max_out)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_TOO_BIG,
                   "lz4 block claims %" G_GSIZE_FORMAT " bytes, more than the %" G_GSIZE_FORMAT
                   "-byte limit",
                   claimed, max_out);
      return FALSE;
    }
  if (claimed > (gsize) LZ4_MAX_INPUT_SIZE || len - HEADER_SIZE > (gsize) G_MAXINT)
    goto corrupt;
  if (claimed == 0)
    {
      /* LZ4 encodes an empty block as one zero token. */
      if (len == HEADER_SIZE + 1 && in[HEADER_SIZE] == 0)
        return TRUE;
      goto corrupt;
    }
  g_byte_array_set_size (out, start + (guint) claimed);
  /* LZ4_decompress_safe never writes past the given capacity and fails on
   * malformed input; a block must fill exactly the claimed size and use
   * every input byte. */
  got = LZ4_decompress_safe ((const char *) in + HEADER_SIZE, (char *) out->data + start,
                             (int) (len - HEADER_SIZE), (int) claimed);
  if (got < 0 || (gsize) got != claimed)
    {
      g_byte_array_set_size (out, start);
      goto corrupt;
    }
  return TRUE;

corrupt:
  g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
               "not a valid lz4 block");
  return FALSE;
}

static const GossipCompressorVTable lz4_vtable = {
  .struct_size = sizeof (GossipCompressorVTable),
  .wire_id = 200, /* third-party compressors use 128-255 */
  .create = lz4_create,
  .destroy = lz4_destroy,
  .compress = lz4_compress,
  .decompress = lz4_decompress,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_COMPRESSOR, "lz4-example", "1.0",
                      "LZ4 block compression through liblz4 (the out-of-tree example)", NULL,
                      &lz4_vtable);
