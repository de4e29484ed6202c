# examples/leader: one node taking part in a GossipLeaderElection.
noinst_PROGRAMS += examples/leader/gossip-leader-example
examples_leader_gossip_leader_example_SOURCES = examples/leader/gossip-leader-example.c
examples_leader_gossip_leader_example_LDADD = core/libgossip-1.0.la $(GLIB_LIBS)
EXTRA_DIST += examples/leader/README.md
