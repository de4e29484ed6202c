# plugins/compress/zlib: deflate in the zlib format (RFC 1950) through zlib.
if BUILD_ZLIB
gossipplugin_LTLIBRARIES += plugins/compress/zlib/gossip-compress-zlib.la
plugins_compress_zlib_gossip_compress_zlib_la_SOURCES = plugins/compress/zlib/gossip-compress-zlib.c
plugins_compress_zlib_gossip_compress_zlib_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
plugins_compress_zlib_gossip_compress_zlib_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_compress_zlib_gossip_compress_zlib_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(ZLIB_LIBS)
endif
