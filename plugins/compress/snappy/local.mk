# plugins/compress/snappy: Snappy through its C API (snappy-c.h).
if BUILD_SNAPPY
gossipplugin_LTLIBRARIES += plugins/compress/snappy/gossip-compress-snappy.la
plugins_compress_snappy_gossip_compress_snappy_la_SOURCES = plugins/compress/snappy/gossip-compress-snappy.c
plugins_compress_snappy_gossip_compress_snappy_la_CFLAGS = $(AM_CFLAGS)
plugins_compress_snappy_gossip_compress_snappy_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_compress_snappy_gossip_compress_snappy_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(SNAPPY_LIBS)
endif
