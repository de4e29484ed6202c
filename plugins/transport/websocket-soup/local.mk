# plugins/transport/websocket-soup: gossip frames and channels over WebSocket, with libsoup 3.
gossipplugin_LTLIBRARIES += plugins/transport/websocket-soup/gossip-transport-websocket-soup.la
plugins_transport_websocket_soup_gossip_transport_websocket_soup_la_SOURCES = \
	plugins/transport/websocket-soup/gossip-transport-websocket-soup.c \
	plugins/transport/websocket-soup/ws-soup-connection.c \
	plugins/transport/websocket-soup/ws-soup-private.h
plugins_transport_websocket_soup_gossip_transport_websocket_soup_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DG_LOG_DOMAIN=\"gossip-websocket-soup\"
plugins_transport_websocket_soup_gossip_transport_websocket_soup_la_CFLAGS = $(AM_CFLAGS) $(SOUP_CFLAGS)
plugins_transport_websocket_soup_gossip_transport_websocket_soup_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_transport_websocket_soup_gossip_transport_websocket_soup_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(SOUP_LIBS)
