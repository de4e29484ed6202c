# plugins/codec/msgpack: GVariant <-> MessagePack; msgpack-c packs, a
# bounds-checking reader of our own decodes.
if BUILD_MSGPACK
gossipplugin_LTLIBRARIES += plugins/codec/msgpack/gossip-codec-msgpack.la
plugins_codec_msgpack_gossip_codec_msgpack_la_SOURCES = plugins/codec/msgpack/gossip-codec-msgpack.c
plugins_codec_msgpack_gossip_codec_msgpack_la_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
plugins_codec_msgpack_gossip_codec_msgpack_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_codec_msgpack_gossip_codec_msgpack_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(MSGPACK_LIBS)
endif
