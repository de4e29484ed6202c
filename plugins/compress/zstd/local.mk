# plugins/compress/zstd: Zstandard frames (RFC 8878) through libzstd.
if BUILD_ZSTD
gossipplugin_LTLIBRARIES += plugins/compress/zstd/gossip-compress-zstd.la
plugins_compress_zstd_gossip_compress_zstd_la_SOURCES = plugins/compress/zstd/gossip-compress-zstd.c
plugins_compress_zstd_gossip_compress_zstd_la_CFLAGS = $(AM_CFLAGS) $(ZSTD_CFLAGS)
plugins_compress_zstd_gossip_compress_zstd_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_compress_zstd_gossip_compress_zstd_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(ZSTD_LIBS)
endif
