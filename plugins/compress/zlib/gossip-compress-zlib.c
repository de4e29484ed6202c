/* gossip-compress-zlib.c: deflate through zlib.
 *
 * The zlib format (RFC 1950) is used rather than raw deflate: its two-byte
 * header rejects most non-zlib input at once, and its Adler-32 trailer checks
 * the decompressed bytes themselves, which matters on clusters that run
 * without a cipher, where nothing else would notice a damaged stored block.
 * Six bytes per frame is the price.
 *
 * Each instance sets up one deflate and one inflate stream and resets them per
 * call, so a frame costs no zlib allocations.  An instance is therefore used
 * by one thread at a time (a pipeline owns its compressor instance).
 */
#include "config.h"

#include <gmodule.h>
/* next_in is then const, as our input is. */
#define ZLIB_CONST
#include <zlib.h>

#include "gossip/gossip-plugin.h"
#include "gossip/gossip-compressor.h"

/* First guess at the output size, as a multiple of the input size; the buffer
 * doubles from there, but never past the caller's limit. */
#define ZLIB_FIRST_GUESS_RATIO 4
#define ZLIB_MIN_CHUNK         4096

typedef struct
{
  z_stream deflater;
  z_stream inflater;
} ZlibCompressor;

static void
zlib_destroy (gpointer self)
{
  ZlibCompressor *z = self;

  if (z == NULL)
    return;
  deflateEnd (&z->deflater);
  inflateEnd (&z->inflater);
  g_free (z);
}

static gpointer
zlib_create (int level, GError **error)
{
  ZlibCompressor *z;
  int ret;

  if (level != GOSSIP_COMPRESSOR_LEVEL_DEFAULT && (level < 0 || level > 9))
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_BAD_LEVEL,
                   "zlib levels are 0 to 9 (or %d for the default), not %d",
                   GOSSIP_COMPRESSOR_LEVEL_DEFAULT, level);
      return NULL;
    }

  z = g_new0 (ZlibCompressor, 1);
  ret = deflateInit (&z->deflater,
                     level == GOSSIP_COMPRESSOR_LEVEL_DEFAULT ? Z_DEFAULT_COMPRESSION : level);
  if (ret != Z_OK)
    {
      g_free (z);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "zlib cannot set up a compressor: %s", zError (ret));
      return NULL;
    }
  ret = inflateInit (&z->inflater);
  if (ret != Z_OK)
    {
      deflateEnd (&z->deflater);
      g_free (z);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "zlib cannot set up a decompressor: %s", zError (ret));
      return NULL;
    }
  return z;
}

static gboolean
zlib_compress (gpointer self, const guint8 *in, gsize in_len, GByteArray *out, GError **error)
{
  ZlibCompressor *z = self;
  z_stream *s = &z->deflater;
  guint old_len = out->len;
  uLong bound;
  int ret;

  if (in_len > G_MAXUINT)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "%" G_GSIZE_FORMAT " bytes are too many to compress in one call", in_len);
      return FALSE;
    }
  deflateReset (s);
  bound = deflateBound (s, (uLong) in_len);
  if (bound > G_MAXUINT - old_len)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "%" G_GSIZE_FORMAT " bytes are too many to compress into a byte array", in_len);
      return FALSE;
    }

  g_byte_array_set_size (out, old_len + (guint) bound);
  s->next_in = in;
  s->avail_in = (uInt) in_len;
  s->next_out = out->data + old_len;
  s->avail_out = (uInt) bound;
  /* deflateBound() is a guarantee for the stream's own settings: one call
   * with Z_FINISH and that much room always completes. */
  ret = deflate (s, Z_FINISH);
  if (ret != Z_STREAM_END)
    {
      g_byte_array_set_size (out, old_len);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "zlib failed to compress: %s", s->msg ? s->msg : zError (ret));
      return FALSE;
    }
  g_byte_array_set_size (out, old_len + (guint) s->total_out);
  return TRUE;
}

/* Room for the next inflate() call: double what is there, starting from a
 * guess based on the input size, and never past @limit. */
static gsize
next_chunk (gsize produced, gsize in_len, gsize limit)
{
  gsize want;

  if (produced > 0)
    want = produced;
  else if (in_len <= G_MAXSIZE / ZLIB_FIRST_GUESS_RATIO)
    want = MAX (in_len * ZLIB_FIRST_GUESS_RATIO, ZLIB_MIN_CHUNK);
  else
    want = G_MAXSIZE;
  return MIN (MIN (want, limit - produced), G_MAXUINT);
}

static gboolean
zlib_decompress (gpointer self, const guint8 *in, gsize in_len, gsize max_out, GByteArray *out,
                 GError **error)
{
  ZlibCompressor *z = self;
  z_stream *s = &z->inflater;
  guint old_len = out->len;
  gsize limit = MIN (max_out, (gsize) (G_MAXUINT - old_len));
  gsize produced = 0;
  const char *corrupt = NULL;

  if (in_len > G_MAXUINT)
    {
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                   "%" G_GSIZE_FORMAT " bytes of zlib data are too many for one call", in_len);
      return FALSE;
    }
  inflateReset (s);
  s->next_in = in;
  s->avail_in = (uInt) in_len;

  for (;;)
    {
      /* Once the limit is reached, one more byte of room tells a stream that
       * ends exactly there from one that would go on (a decompression bomb):
       * the work done and the memory used never exceed the limit. */
      guint8 probe;
      gboolean probing = produced == limit;
      gsize room = probing ? 1 : next_chunk (produced, in_len, limit);
      int ret;

      if (probing)
        s->next_out = &probe;
      else
        {
          g_byte_array_set_size (out, old_len + (guint) (produced + room));
          s->next_out = out->data + old_len + produced;
        }
      s->avail_out = (uInt) room;

      ret = inflate (s, Z_NO_FLUSH);

      if (probing && s->avail_out == 0)
        {
          g_byte_array_set_size (out, old_len);
          g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_TOO_BIG,
                       "zlib data expands to more than the %" G_GSIZE_FORMAT " bytes allowed",
                       limit);
          return FALSE;
        }
      if (!probing)
        produced += room - s->avail_out;

      switch (ret)
        {
        case Z_OK:
          continue;
        case Z_STREAM_END:
          if (s->avail_in != 0)
            corrupt = "trailing bytes after the end of the zlib stream";
          break;
        case Z_BUF_ERROR:
          /* There was room for output, so it is the input that ran out. */
          corrupt = "truncated zlib stream";
          break;
        case Z_NEED_DICT:
          corrupt = "zlib stream needs a preset dictionary";
          break;
        case Z_DATA_ERROR:
          corrupt = s->msg ? s->msg : "invalid zlib data";
          break;
        default:
          g_byte_array_set_size (out, old_len);
          g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_FAILED,
                       "zlib failed to decompress: %s", s->msg ? s->msg : zError (ret));
          return FALSE;
        }
      break;
    }

  if (corrupt != NULL)
    {
      g_byte_array_set_size (out, old_len);
      g_set_error (error, GOSSIP_COMPRESSOR_ERROR, GOSSIP_COMPRESSOR_ERROR_CORRUPT,
                   "corrupt zlib data: %s", corrupt);
      return FALSE;
    }
  g_byte_array_set_size (out, old_len + (guint) produced);
  return TRUE;
}

static const GossipCompressorVTable zlib_vtable = {
  .struct_size = sizeof (GossipCompressorVTable),
  .wire_id = 2,
  .create = zlib_create,
  .destroy = zlib_destroy,
  .compress = zlib_compress,
  .decompress = zlib_decompress,
};

GOSSIP_PLUGIN_DEFINE (GOSSIP_PLUGIN_KIND_COMPRESSOR, "zlib", PACKAGE_VERSION,
                      "zlib (deflate with Adler-32), levels 0 to 9", NULL, &zlib_vtable);
