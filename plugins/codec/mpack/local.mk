# plugins/codec/mpack: GVariant <-> MessagePack through libmpack's tokenizer
# (wire id 1: byte-for-byte the same encodings as plugins/codec/msgpack).
if BUILD_MPACK
gossipplugin_LTLIBRARIES += plugins/codec/mpack/gossip-codec-mpack.la
plugins_codec_mpack_gossip_codec_mpack_la_SOURCES = plugins/codec/mpack/gossip-codec-mpack.c
plugins_codec_mpack_gossip_codec_mpack_la_CFLAGS = $(AM_CFLAGS) $(MPACK_CFLAGS)
plugins_codec_mpack_gossip_codec_mpack_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_codec_mpack_gossip_codec_mpack_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(MPACK_LIBS)
endif
