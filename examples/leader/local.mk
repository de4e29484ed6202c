# examples/leader: one node taking part in a GossipLeaderElection.
noinst_PROGRAMS += examples/leader/gossip-leader
examples_leader_gossip_leader_SOURCES = examples/leader/gossip-leader.c
examples_leader_gossip_leader_CFLAGS = $(EXAMPLE_CFLAGS)
examples_leader_gossip_leader_LDADD = $(EXAMPLE_LDADD)
EXTRA_DIST += examples/leader/README.md
