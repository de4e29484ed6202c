# core/: libgossip-1.0, the library every plugin and application links.
lib_LTLIBRARIES += core/libgossip-1.0.la

gossipincludedir = $(includedir)/gossip-1.0/gossip
gossipinclude_HEADERS = \
	core/gossip/gossip.h \
	core/gossip/gossip-version.h \
	core/gossip/gossip-plugin.h \
	core/gossip/gossip-transport.h \
	core/gossip/gossip-codec.h \
	core/gossip/gossip-cipher.h \
	core/gossip/gossip-compressor.h \
	core/gossip/gossip-clock.h \
	core/gossip/gossip-config.h \
	core/gossip/gossip-frame.h \
	core/gossip/gossip-memory-network.h \
	core/gossip/gossip-node.h \
	core/gossip/gossip-cluster.h \
	core/gossip/gossip-stream.h \
	core/gossip/gossip-address.h \
	core/gossip/gossip-leader.h

core_libgossip_1_0_la_SOURCES = \
	core/gossip-errors.c \
	core/gossip-transport-util.c \
	core/gossip-plugin-loader.c \
	core/gossip-clock.c \
	core/gossip-config.c \
	core/gossip-config-keys.c \
	core/gossip-config-private.h \
	core/gossip-variant.c \
	core/gossip-frame.c \
	core/gossip-keyring.c \
	core/gossip-frame-private.h \
	core/gossip-memory-network.c \
	core/gossip-memory-network-private.h \
	core/gossip-uuid.c \
	core/gossip-uuid.h \
	core/gossip-awareness.c \
	core/gossip-awareness.h \
	core/gossip-suspicion.c \
	core/gossip-suspicion.h \
	core/gossip-broadcast-queue.c \
	core/gossip-broadcast-queue.h \
	core/gossip-node.c \
	core/gossip-metadata.c \
	core/gossip-metadata.h \
	core/gossip-messaging.c \
	core/gossip-meta-sync.c \
	core/gossip-node-private.h \
	core/gossip-messages.c \
	core/gossip-messages.h \
	core/gossip-cluster.c \
	core/gossip-stream.c \
	core/gossip-cluster-private.h \
	core/gossip-membership.c \
	core/gossip-probe.c \
	core/gossip-pushpull.c \
	core/gossip-address.c \
	core/gossip-address-private.h \
	core/gossip-notice.c \
	core/gossip-leader.c \
	$(gossipinclude_HEADERS)

core_libgossip_1_0_la_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"gossip\" \
	-DGOSSIP_COMPILATION \
	-DGOSSIP_PLUGIN_INSTALL_DIR=\"$(gossipplugindir)\" \
	-DGOSSIP_PLUGIN_BUILD_DIR=\"$(abs_top_builddir)/plugins\"
core_libgossip_1_0_la_LIBADD = $(GLIB_LIBS) -lm
core_libgossip_1_0_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 -no-undefined \
	-export-symbols-regex '^_?gossip_'
