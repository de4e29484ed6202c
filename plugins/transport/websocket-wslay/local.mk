# plugins/transport/websocket-wslay: WebSocket (ws://, wss://) framed by wslay over GIO sockets.
# socket-address.c is the socket transport's host:port parser, compiled in again.
if BUILD_WSLAY
gossipplugin_LTLIBRARIES += plugins/transport/websocket-wslay/gossip-transport-websocket-wslay.la
plugins_transport_websocket_wslay_gossip_transport_websocket_wslay_la_SOURCES = \
	plugins/transport/websocket-wslay/gossip-transport-websocket-wslay.c \
	plugins/transport/websocket-wslay/wslay-connection.c \
	plugins/transport/websocket-wslay/wslay-handshake.c \
	plugins/transport/websocket-wslay/wslay-private.h \
	plugins/transport/socket/socket-address.c \
	plugins/transport/socket/socket-address.h \
	plugins/transport/socket/socket-private.h
plugins_transport_websocket_wslay_gossip_transport_websocket_wslay_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(srcdir)/plugins/transport/socket -DG_LOG_DOMAIN=\"gossip-wslay\"
plugins_transport_websocket_wslay_gossip_transport_websocket_wslay_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_transport_websocket_wslay_gossip_transport_websocket_wslay_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) \
	$(WSLAY_LIBS)
endif
