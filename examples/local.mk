# examples/: small programs to read and copy from (each has a README.md).
# examples/common is the shape they share: options, the prompt, the shared commands.
noinst_LTLIBRARIES += examples/common/libexample-common.la
examples_common_libexample_common_la_SOURCES = examples/common/example-common.c \
	examples/common/example-common.h
examples_common_libexample_common_la_CFLAGS = $(AM_CFLAGS) $(GIO_UNIX_CFLAGS)
EXAMPLE_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/examples/common
EXAMPLE_LDADD = examples/common/libexample-common.la core/libgossip-1.0.la $(GLIB_LIBS)

noinst_PROGRAMS += examples/basic/gossip-basic
examples_basic_gossip_basic_SOURCES = examples/basic/gossip-basic.c
examples_basic_gossip_basic_CFLAGS = $(EXAMPLE_CFLAGS)
examples_basic_gossip_basic_LDADD = $(EXAMPLE_LDADD)

noinst_PROGRAMS += examples/events/gossip-events
examples_events_gossip_events_SOURCES = examples/events/gossip-events.c
examples_events_gossip_events_CFLAGS = $(EXAMPLE_CFLAGS)
examples_events_gossip_events_LDADD = $(EXAMPLE_LDADD)

noinst_PROGRAMS += examples/usermessages/gossip-usermessages
examples_usermessages_gossip_usermessages_SOURCES = examples/usermessages/gossip-usermessages.c
examples_usermessages_gossip_usermessages_CFLAGS = $(EXAMPLE_CFLAGS)
examples_usermessages_gossip_usermessages_LDADD = $(EXAMPLE_LDADD)

noinst_PROGRAMS += examples/stream/gossip-stream
examples_stream_gossip_stream_SOURCES = examples/stream/gossip-stream.c
examples_stream_gossip_stream_CFLAGS = $(EXAMPLE_CFLAGS)
examples_stream_gossip_stream_LDADD = $(EXAMPLE_LDADD)

EXTRA_DIST += examples/basic/README.md examples/events/README.md \
	examples/usermessages/README.md examples/stream/README.md

include tests/examples/local.mk
include examples/kv/local.mk
