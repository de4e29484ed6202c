# plugins/transport/socket: UDP datagrams and length-prefixed TCP frames (GIO only, always built).
gossipplugin_LTLIBRARIES += plugins/transport/socket/gossip-transport-socket.la
plugins_transport_socket_gossip_transport_socket_la_SOURCES = \
	plugins/transport/socket/gossip-transport-socket.c \
	plugins/transport/socket/socket-connection.c \
	plugins/transport/socket/socket-channel.c \
	plugins/transport/socket/socket-address.c \
	plugins/transport/socket/socket-address.h \
	plugins/transport/socket/socket-private.h
plugins_transport_socket_gossip_transport_socket_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DG_LOG_DOMAIN=\"gossip-socket\"
plugins_transport_socket_gossip_transport_socket_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_transport_socket_gossip_transport_socket_la_LIBADD = $(GOSSIP_PLUGIN_LIBS)
