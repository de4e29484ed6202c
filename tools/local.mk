# tools/: the demo and small command-line helpers.
bin_PROGRAMS += tools/gossip-demo
tools_gossip_demo_SOURCES = tools/gossip-demo.c
tools_gossip_demo_LDADD = core/libgossip-1.0.la $(GLIB_LIBS)
