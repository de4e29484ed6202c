# plugins/transport/memory: the in-process network (GossipMemoryNetwork) as a transport.
gossipplugin_LTLIBRARIES += plugins/transport/memory/gossip-transport-memory.la
plugins_transport_memory_gossip_transport_memory_la_SOURCES = \
	plugins/transport/memory/gossip-transport-memory.c
plugins_transport_memory_gossip_transport_memory_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_transport_memory_gossip_transport_memory_la_LIBADD = $(GOSSIP_PLUGIN_LIBS)
