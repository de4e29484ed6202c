# plugins/codec/json: GVariant <-> JSON (wire id 2), human-readable frames for
# debugging; a strict validator of our own, then json-glib's JsonParser.
if BUILD_JSON
gossipplugin_LTLIBRARIES += plugins/codec/json/gossip-codec-json.la
plugins_codec_json_gossip_codec_json_la_SOURCES = plugins/codec/json/gossip-codec-json.c
plugins_codec_json_gossip_codec_json_la_CFLAGS = $(AM_CFLAGS) $(JSON_GLIB_CFLAGS)
plugins_codec_json_gossip_codec_json_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_codec_json_gossip_codec_json_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(JSON_GLIB_LIBS)
endif
