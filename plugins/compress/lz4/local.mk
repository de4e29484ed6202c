# plugins/compress/lz4: LZ4 blocks (fast or HC) behind a length header, through liblz4.
if BUILD_LZ4
gossipplugin_LTLIBRARIES += plugins/compress/lz4/gossip-compress-lz4.la
plugins_compress_lz4_gossip_compress_lz4_la_SOURCES = plugins/compress/lz4/gossip-compress-lz4.c
plugins_compress_lz4_gossip_compress_lz4_la_CFLAGS = $(AM_CFLAGS) $(LZ4_CFLAGS)
plugins_compress_lz4_gossip_compress_lz4_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_compress_lz4_gossip_compress_lz4_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(LZ4_LIBS)
endif
