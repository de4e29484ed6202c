# Deliberately broken plugins for the loader's refusal tests (built by make check only).
BAD_PLUGIN_LDFLAGS = -module -avoid-version -no-undefined -shared -rpath /nowhere $(SANITIZER_LDFLAGS)
BAD_PLUGIN_LIBADD = core/libgossip-1.0.la $(GLIB_LIBS)
check_LTLIBRARIES += \
	tests/plugins/gossip-codec-good.la \
	tests/plugins/gossip-codec-nosymbol.la \
	tests/plugins/gossip-codec-badabi.la \
	tests/plugins/gossip-codec-newminor.la \
	tests/plugins/gossip-codec-wrongkind.la \
	tests/plugins/gossip-codec-misnamed.la \
	tests/plugins/gossip-codec-initfail.la \
	tests/plugins/gossip-codec-novtable.la \
	tests/plugins/gossip-codec-incomplete.la
tests_plugins_gossip_codec_good_la_SOURCES = tests/plugins/bad-plugin.c
tests_plugins_gossip_codec_good_la_LDFLAGS = $(BAD_PLUGIN_LDFLAGS)
tests_plugins_gossip_codec_good_la_LIBADD = $(BAD_PLUGIN_LIBADD)
tests_plugins_gossip_codec_nosymbol_la_SOURCES = tests/plugins/bad-plugin.c
tests_plugins_gossip_codec_nosymbol_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_NO_SYMBOL
tests_plugins_gossip_codec_nosymbol_la_LDFLAGS = $(BAD_PLUGIN_LDFLAGS)
tests_plugins_gossip_codec_nosymbol_la_LIBADD = $(BAD_PLUGIN_LIBADD)
tests_plugins_gossip_codec_badabi_la_SOURCES = tests/plugins/bad-plugin.c
tests_plugins_gossip_codec_badabi_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUGIN_NAME='"badabi"' -DABI_MAJOR=99
tests_plugins_gossip_codec_badabi_la_LDFLAGS = $(BAD_PLUGIN_LDFLAGS)
tests_plugins_gossip_codec_badabi_la_LIBADD = $(BAD_PLUGIN_LIBADD)
tests_plugins_gossip_codec_newminor_la_SOURCES = tests/plugins/bad-plugin.c
tests_plugins_gossip_codec_newminor_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUGIN_NAME='"newminor"' -DABI_MINOR=99
tests_plugins_gossip_codec_newminor_la_LDFLAGS = $(BAD_PLUGIN_LDFLAGS)
tests_plugins_gossip_codec_newminor_la_LIBADD = $(BAD_PLUGIN_LIBADD)
tests_plugins_gossip_codec_wrongkind_la_SOURCES = tests/plugins/bad-plugin.c
tests_plugins_gossip_codec_wrongkind_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUGIN_NAME='"wrongkind"' -DKIND=GOSSIP_PLUGIN_KIND_CIPHER
tests_plugins_gossip_codec_wrongkind_la_LDFLAGS = $(BAD_PLUGIN_LDFLAGS)
tests_plugins_gossip_codec_wrongkind_la_LIBADD = $(BAD_PLUGIN_LIBADD)
tests_plugins_gossip_codec_misnamed_la_SOURCES = tests/plugins/bad-plugin.c
tests_plugins_gossip_codec_misnamed_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUGIN_NAME='"someone-else"'
tests_plugins_gossip_codec_misnamed_la_LDFLAGS = $(BAD_PLUGIN_LDFLAGS)
tests_plugins_gossip_codec_misnamed_la_LIBADD = $(BAD_PLUGIN_LIBADD)
tests_plugins_gossip_codec_initfail_la_SOURCES = tests/plugins/bad-plugin.c
tests_plugins_gossip_codec_initfail_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUGIN_NAME='"initfail"' -DBAD_INIT
tests_plugins_gossip_codec_initfail_la_LDFLAGS = $(BAD_PLUGIN_LDFLAGS)
tests_plugins_gossip_codec_initfail_la_LIBADD = $(BAD_PLUGIN_LIBADD)
tests_plugins_gossip_codec_novtable_la_SOURCES = tests/plugins/bad-plugin.c
tests_plugins_gossip_codec_novtable_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUGIN_NAME='"novtable"' -DBAD_NO_VTABLE
tests_plugins_gossip_codec_novtable_la_LDFLAGS = $(BAD_PLUGIN_LDFLAGS)
tests_plugins_gossip_codec_novtable_la_LIBADD = $(BAD_PLUGIN_LIBADD)
tests_plugins_gossip_codec_incomplete_la_SOURCES = tests/plugins/bad-plugin.c
tests_plugins_gossip_codec_incomplete_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUGIN_NAME='"incomplete"' -DBAD_INCOMPLETE
tests_plugins_gossip_codec_incomplete_la_LDFLAGS = $(BAD_PLUGIN_LDFLAGS)
tests_plugins_gossip_codec_incomplete_la_LIBADD = $(BAD_PLUGIN_LIBADD)
