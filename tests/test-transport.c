/* test-transport.c: the conformance suite every transport plugin must pass.
 *
 * Runs once per transport variant whose plugin is named in
 * GOSSIP_TEST_TRANSPORTS (space or comma separated; by default the ones this
 * build knows about), each case as /transport/<variant>/<case>.  A variant is
 * a plugin plus how its nodes bind (socket runs on 127.0.0.1 and, when the
 * host has it, on ::1).  Variants whose plugin is not required are skipped
 * while it cannot be loaded.
 *
 * Every wait iterates the test's own GMainContext until a condition holds or
 * a deadline passes: in real time for real transports, in virtual time (a
 * GossipManualClock advanced a millisecond at a time) for simulated ones.
 *
 * Transports with real sockets also meet hostile peers, raw sockets written
 * here: oversized length prefixes, a byte-per-100-ms sender, too many
 * connections, garbage, and peers that vanish.
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <gio/gnetworking.h>
#include <glib/gstdio.h>

#include "gossip/gossip-clock.h"
#include "gossip/gossip-memory-network.h"
#include "gossip/gossip-plugin.h"
#include "gossip/gossip-transport.h"
#include "tls-test-certs.h"

#ifndef GOSSIP_TEST_DEFAULT_TRANSPORTS
#define GOSSIP_TEST_DEFAULT_TRANSPORTS "socket memory"
#endif

#define KiB 1024
#define MiB (1024 * 1024)

#define MAX_DATAGRAM 1400
#define MAX_FRAME    (2 * MiB)
/* How long a wait for something that must happen may take. */
#define WAIT_US (10 * G_USEC_PER_SEC)
/* How long to watch for something that must not happen. */
#define QUIET_US (200 * 1000)

/* ------------------------------------------------------------------------ */
/* Variants */

typedef struct
{
  const char *variant;
  const char *plugin;
  const char *bind_template; /* "{run}" and "{node}" are replaced */
  gboolean real_time;        /* FALSE: driven by a GossipManualClock */
  gboolean raw_sockets;      /* reachable with plain TCP/UDP: the hostile-peer cases apply */
  gboolean needs_ipv6;
  gboolean required;         /* FALSE: skipped while the plugin cannot be loaded */
  gboolean bounded_queue;    /* a burst of sends to one peer must hit LIMIT */
  const char *loopback_name; /* a host name for the bind address, or NULL */
  const char *const *bad_addresses;
  const char *config;                /* keyfile text, "{certs}" is the certificates' folder */
  gboolean datagrams_on_connections; /* WebSocket: "datagrams" are frames, from the connection */
} TransportKind;

static const char *const socket_bad_addresses[] = {
  "",
  "nonsense",
  "127.0.0.1",
  "127.0.0.1:",
  "127.0.0.1:0",
  "127.0.0.1:65536",
  "127.0.0.1:-1",
  "127.0.0.1:+80",
  "127.0.0.1:80x",
  "127.0.0.1: 80",
  "[::1",
  "[::1]",
  "[::1]80",
  "::1:80",
  "[127.0.0.1]:80",
  "[localhost]:80",
  "mem://test/node",
  "ws://127.0.0.1:80",
  "bad host:80",
  "a..b:80",
  NULL,
};

static const char *const memory_bad_addresses[] = {
  "", "mem://", "127.0.0.1:80", "nonsense", NULL,
};

static const char *const ws_bad_addresses[] = {
  "",
  "nonsense",
  "127.0.0.1:80",
  "ws://",
  "ws://127.0.0.1",
  "ws://127.0.0.1:0/gossip",
  "ws://127.0.0.1:65536/gossip",
  "ws://[::1/gossip",
  "ws://bad host:80/gossip",
  "ws://127.0.0.1:80/a b",
  "http://127.0.0.1:80/gossip",
  "mem://test/node",
  NULL,
};

static const char *const soup_bad_addresses[] = {
  "",
  "nonsense",
  "127.0.0.1:80",
  "mem://test/node",
  "http://127.0.0.1:80/gossip",
  "ws://",
  "ws://:80/gossip",
  "ws://127.0.0.1:0/gossip",
  "ws://127.0.0.1:65536/gossip",
  "ws://user@127.0.0.1:80/gossip",
  "wss://[::1/gossip",
  NULL,
};

#define WS_CONFIG_INSECURE "[websocket]\nallow_insecure=true\n"
#define WS_CONFIG_TLS                                                                              \
  "[websocket]\ntls_cert_file={certs}/server-cert.pem\ntls_key_file={certs}/server-key.pem\n"      \
  "tls_ca_file={certs}/ca.pem\n"

static const TransportKind known_kinds[] = {
  { "socket", "socket", "127.0.0.1:0", TRUE, TRUE, FALSE, TRUE, TRUE, "localhost",
    socket_bad_addresses },
  { "socket-ipv6", "socket", "[::1]:0", TRUE, TRUE, TRUE, TRUE, TRUE, NULL, socket_bad_addresses },
  { "memory", "memory", "mem://test-{run}/node{node}", FALSE, FALSE, FALSE, FALSE, FALSE, NULL,
    memory_bad_addresses },
  { "websocket-wslay", "websocket-wslay", "127.0.0.1:0", TRUE, FALSE, FALSE, TRUE, TRUE, NULL,
    ws_bad_addresses, WS_CONFIG_INSECURE, TRUE },
  { "websocket-wslay-wss", "websocket-wslay", "127.0.0.1:0", TRUE, FALSE, FALSE, TRUE, TRUE, NULL,
    ws_bad_addresses, WS_CONFIG_TLS, TRUE },
  { "websocket-soup", "websocket-soup", "127.0.0.1:0", TRUE, FALSE, FALSE, TRUE, TRUE, NULL,
    soup_bad_addresses, WS_CONFIG_INSECURE, TRUE },
  { "websocket-soup-wss", "websocket-soup", "127.0.0.1:0", TRUE, FALSE, FALSE, TRUE, TRUE, NULL,
    soup_bad_addresses, WS_CONFIG_TLS, TRUE },
};

/* Where the test certificates are, once made (tls-test-certs.c). */
static char *certs_dir;

typedef struct
{
  const TransportKind *kind;
  char *name; /* for a plugin with no entry in known_kinds */
  GossipPlugin *plugin;
  const GossipTransportVTable *vtable;
  char *load_error;
  const char *skip_reason;
} TransportUnderTest;

static void
transport_under_test_free (gpointer data)
{
  TransportUnderTest *tut = data;

  g_free (tut->name);
  g_free (tut->load_error);
  g_free (tut);
}

/* ------------------------------------------------------------------------ */
/* Fixture and nodes */

typedef struct
{
  GossipTransportPath path;
  char *from;
  GBytes *frame;
} Received;

typedef struct
{
  char *from;
  GError *reason;
} Dropped;

typedef struct _Fixture Fixture;

typedef struct
{
  Fixture *f;
  gpointer instance; /* NULL once destroyed */
  char *address;
  GPtrArray *received; /* Received */
  GPtrArray *dropped;  /* Dropped */
  gboolean destroy_on_receive;
  GPtrArray *accepted; /* Chan, channels this node accepted (not owned) */
  gboolean refuse_channels;
  guint channels_refused;
} Node;

typedef struct
{
  gboolean datagrams;
  gsize max_datagram_size;
  gsize max_frame_size;
  guint max_connections;
  gint64 idle_timeout_us;
  gint64 io_timeout_us;
  gint64 connect_timeout_us;
} Limits;

struct _Fixture
{
  const TransportUnderTest *tut;
  GMainContext *context;
  GossipClock *clock;
  guint run;
  guint next_node;
  GPtrArray *nodes; /* Node, freed at teardown */
  guint done_count; /* completions of every SendResult */
  GPtrArray *chans; /* Chan, freed at teardown after the nodes */
};

typedef struct
{
  Node *sender;
  guint calls;
  GError *error;
  gboolean destroy_sender;
} SendResult;

/* TRUE while a vtable call runs: no callback may come from inside one. */
static gboolean in_vtable_call;

static void
received_free (gpointer data)
{
  Received *r = data;

  g_free (r->from);
  g_bytes_unref (r->frame);
  g_free (r);
}

static void
dropped_free (gpointer data)
{
  Dropped *d = data;

  g_free (d->from);
  g_error_free (d->reason);
  g_free (d);
}

static void
node_destroy (Node *node)
{
  gpointer instance = g_steal_pointer (&node->instance);

  g_assert_nonnull (instance);
  in_vtable_call = TRUE;
  node->f->tut->vtable->destroy (instance);
  in_vtable_call = FALSE;
}

static void
on_received (gpointer user_data, GossipTransportPath path, const char *from, GBytes *frame)
{
  Node *node = user_data;
  Received *r = g_new0 (Received, 1);

  g_assert_false (in_vtable_call);
  g_assert_nonnull (node->instance);
  g_assert_nonnull (from);
  g_assert_nonnull (frame);
  r->path = path;
  r->from = g_strdup (from);
  /* The frame is only borrowed: keep a copy, not a reference. */
  r->frame = g_bytes_new (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  g_ptr_array_add (node->received, r);
  if (node->destroy_on_receive)
    node_destroy (node);
}

static void
on_dropped (gpointer user_data, const char *from, const GError *reason)
{
  Node *node = user_data;
  Dropped *d = g_new0 (Dropped, 1);

  g_assert_false (in_vtable_call);
  g_assert_nonnull (node->instance);
  g_assert_nonnull (reason);
  g_assert_true (reason->domain == GOSSIP_TRANSPORT_ERROR);
  g_test_message ("dropped from %s: %s", from ? from : "(unknown)", reason->message);
  d->from = g_strdup (from);
  d->reason = g_error_copy (reason);
  g_ptr_array_add (node->dropped, d);
}

static gboolean on_channel_accepted (gpointer user_data, const char *from,
                                     GossipTransportChannel *channel);

static const GossipTransportCallbacks test_callbacks = {
  .received = on_received,
  .dropped = on_dropped,
  .channel_accepted = on_channel_accepted,
};

static Limits
default_limits (void)
{
  Limits l = { 0 };

  l.datagrams = TRUE;
  l.max_datagram_size = MAX_DATAGRAM;
  l.max_frame_size = MAX_FRAME;
  l.max_connections = 64;
  l.idle_timeout_us = 30 * G_USEC_PER_SEC;
  l.io_timeout_us = 5 * G_USEC_PER_SEC;
  l.connect_timeout_us = 5 * G_USEC_PER_SEC;
  return l;
}

static char *
bind_address_for (Fixture *f, guint index)
{
  GString *s = g_string_new (f->tut->kind->bind_template);
  g_autofree char *run = g_strdup_printf ("%u", f->run);
  g_autofree char *node = g_strdup_printf ("%u", index);

  g_string_replace (s, "{run}", run, 0);
  g_string_replace (s, "{node}", node, 0);
  return g_string_free (s, FALSE);
}

static gpointer
create_instance (Fixture *f, Node *node, const char *bind, const Limits *l, GError **error)
{
  GossipTransportParams params = { 0 };
  g_autoptr (GossipConfig) config = NULL;
  gpointer instance;

  if (f->tut->kind->config != NULL)
    {
      g_autoptr (GString) text = g_string_new (f->tut->kind->config);
      g_autoptr (GError) config_error = NULL;

      g_string_replace (text, "{certs}", certs_dir ? certs_dir : "", 0);
      config = gossip_config_new_from_data (text->str, (gssize) text->len, &config_error);
      g_assert_no_error (config_error);
      params.config = config;
    }

  params.struct_size = sizeof params;
  params.context = f->context;
  params.clock = f->clock;
  params.bind_address = bind;
  params.datagrams = l->datagrams;
  params.max_datagram_size = l->max_datagram_size;
  params.max_frame_size = l->max_frame_size;
  params.max_connections = l->max_connections;
  params.idle_timeout_us = l->idle_timeout_us;
  params.io_timeout_us = l->io_timeout_us;
  params.connect_timeout_us = l->connect_timeout_us;
  params.callbacks = &test_callbacks;
  params.user_data = node;
  in_vtable_call = TRUE;
  instance = f->tut->vtable->create (&params, error);
  in_vtable_call = FALSE;
  return instance;
}

static Node *
node_new_at (Fixture *f, const char *bind, const Limits *l)
{
  g_autoptr (GError) error = NULL;
  Node *node = g_new0 (Node, 1);

  node->f = f;
  node->received = g_ptr_array_new_with_free_func (received_free);
  node->dropped = g_ptr_array_new_with_free_func (dropped_free);
  node->accepted = g_ptr_array_new ();
  g_ptr_array_add (f->nodes, node);
  node->instance = create_instance (f, node, bind, l, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node->instance);
  in_vtable_call = TRUE;
  node->address = f->tut->vtable->get_local_address (node->instance);
  in_vtable_call = FALSE;
  g_assert_nonnull (node->address);
  g_test_message ("node bound to %s is at %s", bind, node->address);
  return node;
}

static Node *
node_new_with (Fixture *f, const Limits *l)
{
  g_autofree char *bind = bind_address_for (f, f->next_node++);

  return node_new_at (f, bind, l);
}

static Node *
node_new (Fixture *f)
{
  Limits l = default_limits ();

  return node_new_with (f, &l);
}

static void
node_free (gpointer data)
{
  Node *node = data;

  if (node->instance != NULL)
    node_destroy (node);
  g_free (node->address);
  g_ptr_array_unref (node->received);
  g_ptr_array_unref (node->dropped);
  g_ptr_array_unref (node->accepted);
  g_free (node);
}

static void chan_free (gpointer data);

static guint fixture_runs;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->tut = data;
  f->run = ++fixture_runs;
  f->context = g_main_context_new ();
  /* The test's context is the thread-default one, as a GossipCluster's is:
   * libraries with GIO-style asynchronous calls (libsoup) rely on it. */
  g_main_context_push_thread_default (f->context);
  f->clock = f->tut->kind->real_time ? gossip_clock_new_for_context (f->context)
                                     : gossip_manual_clock_new ();
  f->nodes = g_ptr_array_new_with_free_func (node_free);
  f->chans = g_ptr_array_new_with_free_func (chan_free);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_ptr_array_unref (f->nodes);
  g_ptr_array_unref (f->chans);
  /* Whatever the transports left on the context (nothing, if they clean up)
   * runs or goes now. */
  for (guint i = 0; i < 1000 && g_main_context_iteration (f->context, FALSE); i++)
    ;
  g_object_unref (f->clock);
  g_main_context_pop_thread_default (f->context);
  g_main_context_unref (f->context);
}

/* ------------------------------------------------------------------------ */
/* Waiting */

typedef gboolean (*Condition) (gpointer data);

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates until @cond holds or @timeout_us passes (virtual time for a
 * manual clock); returns whether it holds. */
static gboolean
wait_for (Fixture *f, Condition cond, gpointer data, gint64 timeout_us)
{
  gint64 real_deadline = g_get_monotonic_time () + MAX (timeout_us, 0) + 20 * G_USEC_PER_SEC;

  if (f->tut->kind->real_time)
    {
      gint64 deadline = g_get_monotonic_time () + timeout_us;
      GSource *ticker = g_timeout_source_new (5);
      gboolean ok;

      g_source_set_callback (ticker, tick, NULL, NULL);
      g_source_attach (ticker, f->context);
      while (!(ok = cond (data)) && g_get_monotonic_time () < deadline)
        g_main_context_iteration (f->context, TRUE);
      g_source_destroy (ticker);
      g_source_unref (ticker);
      return ok;
    }
  else
    {
      GossipManualClock *manual = GOSSIP_MANUAL_CLOCK (f->clock);
      gint64 deadline = gossip_clock_now (f->clock) + timeout_us;

      for (;;)
        {
          while (g_main_context_iteration (f->context, FALSE))
            ;
          if (cond (data))
            return TRUE;
          if (gossip_clock_now (f->clock) >= deadline || g_get_monotonic_time () > real_deadline)
            return FALSE;
          gossip_manual_clock_advance (manual, 1000);
        }
    }
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

/* Lets @us pass, for things that must not happen. */
static void
run_for (Fixture *f, gint64 us)
{
  wait_for (f, never, NULL, us);
}

typedef struct
{
  const guint *counter;
  guint target;
} CountAtLeast;

static gboolean
count_reached (gpointer data)
{
  const CountAtLeast *c = data;

  return *c->counter >= c->target;
}

static void
wait_count (Fixture *f, const guint *counter, guint target, gint64 timeout_us)
{
  CountAtLeast c = { counter, target };

  if (!wait_for (f, count_reached, &c, timeout_us))
    g_error ("waited %" G_GINT64_FORMAT " ms for %u events, saw %u", timeout_us / 1000, target,
             *counter);
}

static void
wait_received (Node *node, guint n)
{
  wait_count (node->f, &node->received->len, n, WAIT_US);
}

static void
wait_dropped (Node *node, guint n, gint64 timeout_us)
{
  wait_count (node->f, &node->dropped->len, n, timeout_us);
}

static void
wait_done (Fixture *f, guint n)
{
  wait_count (f, &f->done_count, n, WAIT_US);
}

static Received *
received_at (Node *node, guint i)
{
  g_assert_cmpuint (i, <, node->received->len);
  return g_ptr_array_index (node->received, i);
}

static Dropped *
dropped_at (Node *node, guint i)
{
  g_assert_cmpuint (i, <, node->dropped->len);
  return g_ptr_array_index (node->dropped, i);
}

/* ------------------------------------------------------------------------ */
/* Sending */

static void
send_done (gpointer user_data, const GError *error)
{
  SendResult *r = user_data;

  g_assert_false (in_vtable_call);
  g_assert_nonnull (r->sender->instance);
  r->calls++;
  g_assert_cmpuint (r->calls, ==, 1);
  if (error != NULL)
    {
      g_assert_true (error->domain == GOSSIP_TRANSPORT_ERROR);
      r->error = g_error_copy (error);
    }
  r->sender->f->done_count++;
  if (r->destroy_sender)
    node_destroy (r->sender);
}

static void
send_reliable (Node *from, const char *to, GBytes *frame, SendResult *result)
{
  result->sender = from;
  in_vtable_call = TRUE;
  from->f->tut->vtable->send_reliable (from->instance, to, frame, send_done, result);
  in_vtable_call = FALSE;
  g_assert_cmpuint (result->calls, ==, 0);
}

static gboolean
send_datagram (Node *from, const char *to, GBytes *frame, GError **error)
{
  gboolean ok;

  in_vtable_call = TRUE;
  ok = from->f->tut->vtable->send_datagram (from->instance, to, frame, error);
  in_vtable_call = FALSE;
  g_assert_true (ok || error == NULL || *error != NULL);
  return ok;
}

static void
send_result_clear (SendResult *r)
{
  g_clear_error (&r->error);
}

static GBytes *
random_bytes (gsize len)
{
  guint8 *data = g_malloc (len + 1);

  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) g_test_rand_int_range (0, 256);
  return g_bytes_new_take (data, len);
}

/* A frame that says which it is: "frame <i>" padded to @len with a pattern. */
static GBytes *
numbered_frame (guint i, gsize len)
{
  GString *s = g_string_new (NULL);

  g_string_printf (s, "frame %u;", i);
  while (s->len < len)
    g_string_append_c (s, (char) ('a' + (s->len + i) % 26));
  return g_string_free_to_bytes (s);
}

static void
assert_bytes_equal (GBytes *got, GBytes *expected)
{
  gsize got_len, expected_len;
  const guint8 *got_data = g_bytes_get_data (got, &got_len);
  const guint8 *expected_data = g_bytes_get_data (expected, &expected_len);

  g_assert_cmpmem (got_data, got_len, expected_data, expected_len);
}

/* ------------------------------------------------------------------------ */
/* Cases for every transport */

static void
test_loads (Fixture *f, gconstpointer data)
{
  const TransportUnderTest *tut = data;

  g_assert_nonnull (tut->plugin);
  g_assert_cmpint (gossip_plugin_get_kind (tut->plugin), ==, GOSSIP_PLUGIN_KIND_TRANSPORT);
  g_assert_cmpstr (gossip_plugin_get_name (tut->plugin), ==, tut->kind->plugin);
  g_assert_cmpuint (tut->vtable->struct_size, >=,
                    G_STRUCT_OFFSET (GossipTransportVTable, reserved));
  g_assert_nonnull (tut->vtable->schemes);
  if (tut->kind->raw_sockets)
    g_assert_null (tut->vtable->schemes[0]); /* plain host:port addresses */
}

static void
test_local_address (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);

  g_assert_cmpstr (a->address, !=, "");
  g_assert_cmpstr (a->address, !=, b->address);
  if (f->tut->kind->raw_sockets)
    {
      g_autofree char *prefix
          = g_strndup (f->tut->kind->bind_template, strlen (f->tut->kind->bind_template) - 1);

      /* The bound IP, and the port actually picked. */
      g_assert_true (g_str_has_prefix (a->address, prefix));
      g_assert_false (g_str_has_suffix (a->address, ":0"));
      g_assert_cmpuint (strlen (a->address), >, strlen (prefix));
    }
}

static void
test_datagram_both_ways (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  g_autoptr (GBytes) ping = g_bytes_new_static ("ping", 4);
  g_autoptr (GBytes) pong = g_bytes_new_static ("pong", 4);
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GError) error = NULL;
  Received *r;

  GossipTransportPath path = f->tut->kind->datagrams_on_connections
                                 ? GOSSIP_TRANSPORT_PATH_RELIABLE
                                 : GOSSIP_TRANSPORT_PATH_DATAGRAM;

  g_assert_true (send_datagram (a, b->address, ping, &error));
  g_assert_no_error (error);
  wait_received (b, 1);
  r = received_at (b, 0);
  g_assert_cmpint (r->path, ==, path);
  assert_bytes_equal (r->frame, ping);
  /* Over a connection, `from` is the connection's (a's ephemeral port). */
  if (!f->tut->kind->datagrams_on_connections)
    g_assert_cmpstr (r->from, ==, a->address);

  /* `from` is the address to answer to. */
  g_assert_true (send_datagram (b, r->from, pong, &error));
  g_assert_no_error (error);
  wait_received (a, 1);
  r = received_at (a, 0);
  g_assert_cmpint (r->path, ==, path);
  assert_bytes_equal (r->frame, pong);
  g_assert_cmpstr (r->from, ==, b->address);

  /* An empty datagram is a datagram. */
  g_assert_true (send_datagram (a, b->address, empty, &error));
  g_assert_no_error (error);
  wait_received (b, 2);
  g_assert_cmpuint (g_bytes_get_size (received_at (b, 1)->frame), ==, 0);
  g_assert_cmpuint (a->dropped->len + b->dropped->len, ==, 0);
}

static void
test_datagram_size_limit (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  g_autoptr (GBytes) largest = random_bytes (MAX_DATAGRAM);
  g_autoptr (GBytes) too_big = random_bytes (MAX_DATAGRAM + 1);
  g_autoptr (GBytes) huge = random_bytes (64 * KiB);
  g_autoptr (GError) error = NULL;

  g_assert_true (send_datagram (a, b->address, largest, &error));
  g_assert_no_error (error);
  wait_received (b, 1);
  assert_bytes_equal (received_at (b, 0)->frame, largest);

  g_assert_false (send_datagram (a, b->address, too_big, &error));
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG);
  g_clear_error (&error);
  g_assert_false (send_datagram (a, b->address, huge, &error));
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG);
  run_for (f, QUIET_US);
  g_assert_cmpuint (b->received->len, ==, 1);
}

static void
test_reliable_both_ways (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  g_autoptr (GBytes) request = g_bytes_new_static ("request", 7);
  g_autoptr (GBytes) reply = g_bytes_new_static ("reply", 5);
  SendResult sent = { 0 }, answered = { 0 };
  Received *r;

  send_reliable (a, b->address, request, &sent);
  wait_received (b, 1);
  r = received_at (b, 0);
  g_assert_cmpint (r->path, ==, GOSSIP_TRANSPORT_PATH_RELIABLE);
  assert_bytes_equal (r->frame, request);
  wait_done (f, 1);
  g_assert_no_error (sent.error);

  /* Answering to `from` reaches the sender, over the connection it opened:
   * so the answer comes from the address the sender used. */
  send_reliable (b, r->from, reply, &answered);
  wait_received (a, 1);
  r = received_at (a, 0);
  g_assert_cmpint (r->path, ==, GOSSIP_TRANSPORT_PATH_RELIABLE);
  assert_bytes_equal (r->frame, reply);
  g_assert_cmpstr (r->from, ==, b->address);
  wait_done (f, 2);
  g_assert_no_error (answered.error);
  g_assert_cmpuint (a->dropped->len + b->dropped->len, ==, 0);
}

static void
test_reliable_keeps_order (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  SendResult results[100] = { 0 };
  GBytes *frames[100];

  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      frames[i] = numbered_frame (i, 16 + (i * 997) % 20000);
      send_reliable (a, b->address, frames[i], &results[i]);
    }
  wait_received (b, G_N_ELEMENTS (frames));
  wait_done (f, G_N_ELEMENTS (frames));
  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      Received *r = received_at (b, i);

      g_assert_no_error (results[i].error);
      g_assert_cmpuint (results[i].calls, ==, 1);
      assert_bytes_equal (r->frame, frames[i]);
      /* All over one pooled connection. */
      g_assert_cmpstr (r->from, ==, received_at (b, 0)->from);
      g_bytes_unref (frames[i]);
    }
  run_for (f, QUIET_US);
  g_assert_cmpuint (b->received->len, ==, G_N_ELEMENTS (frames));
}

static void
test_reliable_one_mebibyte (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  g_autoptr (GBytes) frame = random_bytes (MiB);
  g_autoptr (GBytes) after = g_bytes_new_static ("after", 5);
  SendResult r1 = { 0 }, r2 = { 0 };

  send_reliable (a, b->address, frame, &r1);
  send_reliable (a, b->address, after, &r2);
  wait_received (b, 2);
  assert_bytes_equal (received_at (b, 0)->frame, frame);
  assert_bytes_equal (received_at (b, 1)->frame, after);
  wait_done (f, 2);
  g_assert_no_error (r1.error);
  g_assert_no_error (r2.error);
}

static void
test_reliable_frame_limit (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  g_autoptr (GBytes) largest = random_bytes (MAX_FRAME);
  g_autoptr (GBytes) too_big = random_bytes (MAX_FRAME + 1);
  g_autoptr (GBytes) marker = g_bytes_new_static ("marker", 6);
  SendResult ok = { 0 }, refused = { 0 }, last = { 0 };

  send_reliable (a, b->address, largest, &ok);
  send_reliable (a, b->address, too_big, &refused);
  send_reliable (a, b->address, marker, &last);
  wait_done (f, 3);
  g_assert_no_error (ok.error);
  g_assert_error (refused.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG);
  g_assert_no_error (last.error);
  wait_received (b, 2);
  assert_bytes_equal (received_at (b, 0)->frame, largest);
  assert_bytes_equal (received_at (b, 1)->frame, marker);
  run_for (f, QUIET_US);
  g_assert_cmpuint (b->received->len, ==, 2);
  g_assert_cmpuint (b->dropped->len, ==, 0);
  send_result_clear (&refused);
}

static void
test_reliable_empty_frame (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  g_autoptr (GBytes) before = g_bytes_new_static ("before", 6);
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GBytes) after = g_bytes_new_static ("after", 5);
  SendResult results[3] = { 0 };

  send_reliable (a, b->address, before, &results[0]);
  send_reliable (a, b->address, empty, &results[1]);
  send_reliable (a, b->address, after, &results[2]);
  wait_received (b, 3);
  assert_bytes_equal (received_at (b, 0)->frame, before);
  g_assert_cmpuint (g_bytes_get_size (received_at (b, 1)->frame), ==, 0);
  assert_bytes_equal (received_at (b, 2)->frame, after);
  wait_done (f, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_no_error (results[i].error);
}

static void
test_reliable_unreachable (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *gone = node_new (f);
  g_autoptr (GBytes) frame = g_bytes_new_static ("anyone?", 7);
  SendResult results[3] = { 0 };

  node_destroy (gone);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    send_reliable (a, gone->address, frame, &results[i]);
  wait_done (f, G_N_ELEMENTS (results));
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_assert_error (results[i].error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
      send_result_clear (&results[i]);
    }
}

static void
test_bad_addresses (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  const char *const *bad = f->tut->kind->bad_addresses;
  g_autoptr (GBytes) frame = g_bytes_new_static ("x", 1);
  guint n = g_strv_length ((char **) bad);
  g_autofree SendResult *results = g_new0 (SendResult, n);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;

      g_test_message ("bad address \"%s\"", bad[i]);
      g_assert_false (send_datagram (a, bad[i], frame, &error));
      g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS);
      send_reliable (a, bad[i], frame, &results[i]);
    }
  wait_done (f, n);
  for (guint i = 0; i < n; i++)
    {
      g_test_message ("bad address \"%s\": %s", bad[i],
                      results[i].error ? results[i].error->message : "accepted");
      g_assert_error (results[i].error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS);
      send_result_clear (&results[i]);
    }
}

static void
test_reliable_pools_connections (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  SendResult results[30] = { 0 };
  GBytes *frames[30];
  const char *from;

  for (guint i = 0; i < 20; i++)
    {
      frames[i] = numbered_frame (i, 100);
      send_reliable (a, b->address, frames[i], &results[i]);
      /* Half of them after the connection is up and idle again. */
      if (i == 9)
        {
          wait_received (b, 10);
          run_for (f, 50 * 1000);
        }
    }
  wait_received (b, 20);
  from = received_at (b, 0)->from;
  for (guint i = 0; i < 20; i++)
    {
      assert_bytes_equal (received_at (b, i)->frame, frames[i]);
      g_assert_cmpstr (received_at (b, i)->from, ==, from);
    }

  /* Answers to `from` ride the same connection back. */
  for (guint i = 20; i < 30; i++)
    {
      frames[i] = numbered_frame (i, 100);
      send_reliable (b, from, frames[i], &results[i]);
    }
  wait_received (a, 10);
  for (guint i = 20; i < 30; i++)
    {
      assert_bytes_equal (received_at (a, i - 20)->frame, frames[i]);
      g_assert_cmpstr (received_at (a, i - 20)->from, ==, b->address);
    }
  wait_done (f, 30);
  for (guint i = 0; i < 30; i++)
    {
      g_assert_no_error (results[i].error);
      g_bytes_unref (frames[i]);
    }
}

static void
test_destroy_with_pending_sends (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  Node *gone = node_new (f);
  SendResult results[23] = { 0 };
  g_autoptr (GBytes) big = random_bytes (256 * KiB);
  g_autoptr (GBytes) too_big = random_bytes (MAX_FRAME + 1);
  g_autoptr (GBytes) small = g_bytes_new_static ("d", 1);
  g_autoptr (GError) error = NULL;

  node_destroy (gone);
  for (guint i = 0; i < 20; i++)
    send_reliable (a, b->address, big, &results[i]);
  send_reliable (a, gone->address, big, &results[20]);
  send_reliable (a, "", big, &results[21]);
  send_reliable (a, b->address, too_big, &results[22]);
  send_datagram (a, b->address, small, &error); /* may arrive at b, or not */
  g_clear_error (&error);
  /* Nothing reported after destroy, not even the failures already known:
   * send_done() and the node's callbacks assert the instance is alive. */
  node_destroy (a);
  run_for (f, QUIET_US);
  g_assert_cmpuint (f->done_count, ==, 0);
  g_assert_cmpuint (a->received->len + a->dropped->len, ==, 0);

  /* And b, in the middle of receiving whatever arrived. */
  node_destroy (b);
  run_for (f, QUIET_US / 2);
}

static gboolean
instance_gone (gpointer data)
{
  return ((Node *) data)->instance == NULL;
}

static void
test_destroy_inside_callbacks (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  Node *c = node_new (f);
  g_autoptr (GBytes) frame = numbered_frame (0, 1000);
  SendResult to_b[5] = { 0 }, to_c[5] = { 0 };

  /* b dies on its first reception, with more frames on the way. */
  b->destroy_on_receive = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (to_b); i++)
    send_reliable (a, b->address, frame, &to_b[i]);
  wait_count (f, &b->received->len, 1, WAIT_US);
  g_assert_null (b->instance);

  /* a dies in its first send completion, with others pending. */
  for (guint i = 0; i < G_N_ELEMENTS (to_c); i++)
    {
      to_c[i].destroy_sender = TRUE;
      send_reliable (a, c->address, frame, &to_c[i]);
    }
  /* The first completion needs a connection (and for wss a handshake): wait
   * for it, however slow the machine. */
  wait_for (f, instance_gone, a, WAIT_US);
  g_assert_null (a->instance);
  g_assert_cmpuint (b->received->len, ==, 1);
  for (guint i = 0; i < G_N_ELEMENTS (to_b); i++)
    send_result_clear (&to_b[i]);
  for (guint i = 0; i < G_N_ELEMENTS (to_c); i++)
    send_result_clear (&to_c[i]);
}

static void
test_datagrams_disabled (Fixture *f, gconstpointer data)
{
  Limits reliable_only = default_limits ();
  Node *a = node_new (f);
  Node *d;
  g_autoptr (GBytes) frame = g_bytes_new_static ("hello", 5);
  g_autoptr (GError) error = NULL;
  SendResult to_d = { 0 }, to_a = { 0 };

  reliable_only.datagrams = FALSE;
  d = node_new_with (f, &reliable_only);
  g_assert_false (send_datagram (d, a->address, frame, &error));
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED);
  g_clear_error (&error);
  /* Datagrams to it go nowhere (the send itself may or may not fail);
   * where they are frames on a connection, they arrive all the same. */
  if (!f->tut->kind->datagrams_on_connections)
    {
      send_datagram (a, d->address, frame, &error);
      g_clear_error (&error);
      run_for (f, QUIET_US);
      g_assert_cmpuint (d->received->len, ==, 0);
    }

  send_reliable (a, d->address, frame, &to_d);
  wait_received (d, 1);
  g_assert_cmpint (received_at (d, 0)->path, ==, GOSSIP_TRANSPORT_PATH_RELIABLE);
  send_reliable (d, a->address, frame, &to_a);
  wait_received (a, 1);
  g_assert_cmpint (received_at (a, 0)->path, ==, GOSSIP_TRANSPORT_PATH_RELIABLE);
  wait_done (f, 2);
  g_assert_no_error (to_d.error);
  g_assert_no_error (to_a.error);
}

static void
test_send_burst_each_done_once (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  const guint n = 1000;
  g_autofree SendResult *results = g_new0 (SendResult, n);
  GPtrArray *frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  guint ok = 0, limited = 0, next = 0;

  /* Far more than any queue should take at once: every send completes once,
   * either sent or refused with LIMIT, and what was sent arrives in order. */
  for (guint i = 0; i < n; i++)
    {
      g_ptr_array_add (frames, numbered_frame (i, 64 + i % 200));
      send_reliable (a, b->address, g_ptr_array_index (frames, i), &results[i]);
    }
  wait_done (f, n);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpuint (results[i].calls, ==, 1);
      if (results[i].error == NULL)
        ok++;
      else
        {
          g_assert_error (results[i].error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT);
          limited++;
        }
    }
  g_test_message ("%u sent, %u refused", ok, limited);
  g_assert_cmpuint (ok, >, 0);
  if (f->tut->kind->bounded_queue)
    g_assert_cmpuint (limited, >, 0);
  wait_received (b, ok);
  for (guint i = 0; i < n; i++)
    if (results[i].error == NULL)
      assert_bytes_equal (received_at (b, next++)->frame, g_ptr_array_index (frames, i));
  for (guint i = 0; i < n; i++)
    send_result_clear (&results[i]);
  g_ptr_array_unref (frames);
}

static void
test_many_peers (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *peers[5];
  SendResult results[G_N_ELEMENTS (peers)] = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    peers[i] = node_new (f);
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      g_autoptr (GBytes) frame = numbered_frame (i, 500);

      send_reliable (a, peers[i]->address, frame, &results[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      g_autoptr (GBytes) expected = numbered_frame (i, 500);

      wait_received (peers[i], 1);
      assert_bytes_equal (received_at (peers[i], 0)->frame, expected);
    }
  wait_done (f, G_N_ELEMENTS (peers));
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    g_assert_no_error (results[i].error);
}

/* ------------------------------------------------------------------------ */
/* Raw peers, for transports on real sockets */

static GInetSocketAddress *
inet_address (const char *address)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnectable) parsed = g_network_address_parse (address, 0, &error);
  GSocketAddress *inet;

  g_assert_no_error (error);
  inet = g_inet_socket_address_new_from_string (
      g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed)),
      g_network_address_get_port (G_NETWORK_ADDRESS (parsed)));
  g_assert_nonnull (inet);
  return G_INET_SOCKET_ADDRESS (inet);
}

static GSocket *
raw_connect (const char *address)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetSocketAddress) to = inet_address (address);
  GSocket *socket = g_socket_new (g_socket_address_get_family (G_SOCKET_ADDRESS (to)),
                                  G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (socket, 5);
  /* The kernel completes the handshake; the transport accepts later. */
  g_assert_true (g_socket_connect (socket, G_SOCKET_ADDRESS (to), NULL, &error));
  g_assert_no_error (error);
  return socket;
}

static void
raw_send (GSocket *socket, const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  /* A transport that already closed the connection makes this fail: fine. */
  for (gsize sent = 0; sent < len;)
    {
      gssize n = g_socket_send (socket, (const char *) data + sent, len - sent, NULL, &error);

      if (n <= 0)
        {
          g_test_message ("raw send: %s", error ? error->message : "nothing sent");
          return;
        }
      sent += (gsize) n;
    }
}

/* The peer closed (EOF or reset).  Data it sent is read and discarded. */
static gboolean
raw_is_closed (gpointer data)
{
  GSocket *socket = data;
  char buf[4096];
  g_autoptr (GError) error = NULL;
  gssize n = g_socket_receive_with_blocking (socket, buf, sizeof buf, FALSE, NULL, &error);

  if (n == 0)
    return TRUE;
  return n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

static void
assert_raw_closed (Fixture *f, GSocket *socket, gint64 timeout_us)
{
  if (!wait_for (f, raw_is_closed, socket, timeout_us))
    g_error ("the transport did not close the connection within %" G_GINT64_FORMAT " ms",
             timeout_us / 1000);
}

static void
raw_close (GSocket *socket)
{
  g_socket_close (socket, NULL);
  g_object_unref (socket);
}

/* The node still works: a frame from a fresh peer goes through. */
static void
assert_still_serves (Fixture *f, Node *node)
{
  Node *probe = node_new (f);
  g_autoptr (GBytes) frame = g_bytes_new_static ("still there?", 12);
  SendResult result = { 0 };
  guint before = node->received->len;

  send_reliable (probe, node->address, frame, &result);
  wait_received (node, before + 1);
  assert_bytes_equal (received_at (node, before)->frame, frame);
  wait_count (f, &result.calls, 1, WAIT_US);
  g_assert_no_error (result.error);
}

static void
test_hostile_huge_length_prefix (Fixture *f, gconstpointer data)
{
  Node *b = node_new (f);
  /* FF FF FF FF would open a channel (see the channel cases): one less. */
  const guint8 four_gib[4] = { 0xff, 0xff, 0xff, 0xfe };
  const guint8 one_over[4] = { (MAX_FRAME + 1) >> 24, ((MAX_FRAME + 1) >> 16) & 0xff,
                               ((MAX_FRAME + 1) >> 8) & 0xff, (MAX_FRAME + 1) & 0xff };
  GSocket *raw = raw_connect (b->address);
  GSocket *raw2 = raw_connect (b->address);

  /* Refused from the length alone: no 4 GiB buffer (ASan would abort on
   * the attempt), no waiting for the bytes. */
  raw_send (raw, four_gib, sizeof four_gib);
  wait_dropped (b, 1, WAIT_US);
  g_assert_error (dropped_at (b, 0)->reason, GOSSIP_TRANSPORT_ERROR,
                  GOSSIP_TRANSPORT_ERROR_TOO_BIG);
  g_assert_nonnull (dropped_at (b, 0)->from);
  assert_raw_closed (f, raw, WAIT_US);

  raw_send (raw2, one_over, sizeof one_over);
  wait_dropped (b, 2, WAIT_US);
  g_assert_error (dropped_at (b, 1)->reason, GOSSIP_TRANSPORT_ERROR,
                  GOSSIP_TRANSPORT_ERROR_TOO_BIG);
  assert_raw_closed (f, raw2, WAIT_US);
  g_assert_cmpuint (b->received->len, ==, 0);
  raw_close (raw);
  raw_close (raw2);
  assert_still_serves (f, b);
}

typedef struct
{
  GSocket *socket;
  gint64 last_byte;
  guint sent;
  Node *node;
} Dribbler;

static gboolean
dribble (gpointer data)
{
  Dribbler *d = data;
  gint64 now = g_get_monotonic_time ();

  if (d->node->dropped->len > 0)
    return TRUE;
  if (now - d->last_byte >= 100 * 1000)
    {
      const guint8 frame[8] = { 0, 0, 0, 100, 'd', 'r', 'i', 'p' };

      raw_send (d->socket, &frame[d->sent % sizeof frame], 1);
      d->sent++;
      d->last_byte = now;
    }
  return FALSE;
}

static void
test_hostile_slow_peer (Fixture *f, gconstpointer data)
{
  Limits l = default_limits ();
  Node *b;
  Dribbler d = { 0 };

  l.io_timeout_us = 300 * 1000;
  b = node_new_with (f, &l);
  d.socket = raw_connect (b->address);
  d.node = b;
  /* One byte per 100 ms of a 104-byte frame: it must be cut off at 300 ms,
   * long before the frame could complete. */
  g_assert_true (wait_for (f, dribble, &d, 3 * G_USEC_PER_SEC));
  g_assert_error (dropped_at (b, 0)->reason, GOSSIP_TRANSPORT_ERROR,
                  GOSSIP_TRANSPORT_ERROR_TIMEOUT);
  g_assert_cmpuint (d.sent, <, 20);
  assert_raw_closed (f, d.socket, WAIT_US);
  g_assert_cmpuint (b->received->len, ==, 0);
  raw_close (d.socket);
  assert_still_serves (f, b);
}

static void
test_hostile_connection_limit (Fixture *f, gconstpointer data)
{
  Limits l = default_limits ();
  Node *a = node_new (f);
  Node *b;
  GSocket *raw[5];
  g_autoptr (GBytes) frame = g_bytes_new_static ("room?", 5);
  SendResult result = { 0 };

  l.max_connections = 2;
  b = node_new_with (f, &l);
  for (guint i = 0; i < G_N_ELEMENTS (raw); i++)
    raw[i] = raw_connect (b->address);
  wait_dropped (b, 3, WAIT_US);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_error (dropped_at (b, i)->reason, GOSSIP_TRANSPORT_ERROR,
                      GOSSIP_TRANSPORT_ERROR_LIMIT);
      g_assert_nonnull (dropped_at (b, i)->from);
    }
  /* Connections are accepted in order: the first two stay. */
  for (guint i = 2; i < G_N_ELEMENTS (raw); i++)
    assert_raw_closed (f, raw[i], WAIT_US);
  run_for (f, QUIET_US);
  g_assert_false (raw_is_closed (raw[0]));
  g_assert_false (raw_is_closed (raw[1]));
  g_assert_cmpuint (b->dropped->len, ==, 3);

  /* b at its limit may still connect out, by closing an idle connection. */
  send_reliable (b, a->address, frame, &result);
  wait_received (a, 1);
  wait_count (f, &result.calls, 1, WAIT_US);
  g_assert_no_error (result.error);
  g_assert_true (raw_is_closed (raw[0]) || raw_is_closed (raw[1]));
  for (guint i = 0; i < G_N_ELEMENTS (raw); i++)
    raw_close (raw[i]);
}

static void
test_hostile_idle_connection (Fixture *f, gconstpointer data)
{
  Limits l = default_limits ();
  Node *a, *b;
  GSocket *raw;
  g_autoptr (GBytes) frame = g_bytes_new_static ("hi", 2);
  SendResult first = { 0 }, second = { 0 };

  l.idle_timeout_us = 300 * 1000;
  a = node_new_with (f, &l);
  b = node_new_with (f, &l);

  /* A peer that connects and says nothing is closed once idle. */
  raw = raw_connect (b->address);
  assert_raw_closed (f, raw, 3 * G_USEC_PER_SEC);
  raw_close (raw);

  /* A pooled connection goes when idle, and the next send opens another. */
  send_reliable (a, b->address, frame, &first);
  wait_received (b, 1);
  run_for (f, 800 * 1000);
  send_reliable (a, b->address, frame, &second);
  wait_received (b, 2);
  g_assert_cmpstr (received_at (b, 0)->from, !=, received_at (b, 1)->from);
  wait_done (f, 2);
  g_assert_no_error (first.error);
  g_assert_no_error (second.error);
}

static void
test_hostile_garbage (Fixture *f, gconstpointer data)
{
  Node *b = node_new (f);
  GSocket *raw[20];

  for (guint i = 0; i < G_N_ELEMENTS (raw); i++)
    {
      gsize len = (gsize) g_test_rand_int_range (1, 5000);
      g_autoptr (GBytes) noise = random_bytes (len);
      guint8 *bytes = g_memdup2 (g_bytes_get_data (noise, NULL), len);

      /* Half start with a plausible small length, so the garbage gets past
       * the first frame and into the next length prefix. */
      if (i % 2 == 0 && len >= 4)
        {
          guint32 first = (guint32) g_test_rand_int_range (0, (gint) len);

          bytes[0] = 0;
          bytes[1] = (guint8) (first >> 16);
          bytes[2] = (guint8) (first >> 8);
          bytes[3] = (guint8) first;
        }
      raw[i] = raw_connect (b->address);
      raw_send (raw[i], bytes, len);
      g_free (bytes);
      if (i % 3 == 0)
        raw_close (g_steal_pointer (&raw[i]));
    }
  run_for (f, QUIET_US);
  for (guint i = 0; i < b->dropped->len; i++)
    {
      const GError *reason = dropped_at (b, i)->reason;

      g_assert_true (
          g_error_matches (reason, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG)
          || g_error_matches (reason, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_PROTOCOL));
    }
  for (guint i = 0; i < G_N_ELEMENTS (raw); i++)
    if (raw[i] != NULL)
      raw_close (raw[i]);
  assert_still_serves (f, b);
}

static void
test_hostile_truncated_frame (Fixture *f, gconstpointer data)
{
  Node *b = node_new (f);
  const guint8 partial[10] = { 0, 0, 0, 100, 1, 2, 3, 4, 5, 6 };
  const guint8 whole[8] = { 0, 0, 0, 4, 'w', 'h', 'o', 'l' };
  GSocket *raw = raw_connect (b->address);

  raw_send (raw, whole, sizeof whole);
  raw_send (raw, partial, sizeof partial);
  wait_received (b, 1);
  g_assert_cmpmem (g_bytes_get_data (received_at (b, 0)->frame, NULL),
                   g_bytes_get_size (received_at (b, 0)->frame), "whol", 4);
  raw_close (raw);
  wait_dropped (b, 1, WAIT_US);
  g_assert_error (dropped_at (b, 0)->reason, GOSSIP_TRANSPORT_ERROR,
                  GOSSIP_TRANSPORT_ERROR_PROTOCOL);
  g_assert_cmpuint (b->received->len, ==, 1);
}

static void
test_hostile_connect_and_close (Fixture *f, gconstpointer data)
{
  Node *b = node_new (f);

  for (guint i = 0; i < 20; i++)
    {
      GSocket *raw = raw_connect (b->address);

      /* Every other one with a reset rather than a clean close. */
      if (i % 2 == 1)
        {
          struct linger linger = { 1, 0 };

          g_assert_cmpint (
              setsockopt (g_socket_get_fd (raw), SOL_SOCKET, SO_LINGER, &linger, sizeof linger), ==,
              0);
        }
      raw_close (raw);
    }
  run_for (f, QUIET_US);
  g_assert_cmpuint (b->dropped->len, ==, 0);
  g_assert_cmpuint (b->received->len, ==, 0);
  assert_still_serves (f, b);
}

static void
test_hostile_oversized_datagram (Fixture *f, gconstpointer data)
{
  Node *b = node_new (f);
  g_autoptr (GInetSocketAddress) to = inet_address (b->address);
  g_autoptr (GBytes) too_big = random_bytes (MAX_DATAGRAM + 1);
  g_autoptr (GBytes) fits = random_bytes (MAX_DATAGRAM);
  g_autoptr (GError) error = NULL;
  GSocket *udp = g_socket_new (g_socket_address_get_family (G_SOCKET_ADDRESS (to)),
                               G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);

  g_assert_no_error (error);
  g_socket_send_to (udp, G_SOCKET_ADDRESS (to), g_bytes_get_data (too_big, NULL), MAX_DATAGRAM + 1,
                    NULL, &error);
  g_assert_no_error (error);
  g_socket_send_to (udp, G_SOCKET_ADDRESS (to), g_bytes_get_data (fits, NULL), MAX_DATAGRAM, NULL,
                    &error);
  g_assert_no_error (error);
  wait_dropped (b, 1, WAIT_US);
  g_assert_error (dropped_at (b, 0)->reason, GOSSIP_TRANSPORT_ERROR,
                  GOSSIP_TRANSPORT_ERROR_TOO_BIG);
  wait_received (b, 1);
  assert_bytes_equal (received_at (b, 0)->frame, fits);
  raw_close (udp);
}

static char *socket_address_string (GSocket *socket);

static void
test_hostile_peer_never_reads (Fixture *f, gconstpointer data)
{
  Limits l = default_limits ();
  Node *a;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetSocketAddress) any = NULL;
  g_autofree char *peer = NULL;
  g_autoptr (GBytes) frame = random_bytes (MAX_FRAME);
  GSocket *listener;
  gboolean timed_out = FALSE;

  l.io_timeout_us = 300 * 1000;
  a = node_new_with (f, &l);
  any = inet_address (f->tut->kind->bind_template);
  listener = g_socket_new (g_socket_address_get_family (G_SOCKET_ADDRESS (any)),
                           G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  /* A tiny receive window, never read: the sender's frames stall. */
  g_socket_set_option (listener, SOL_SOCKET, SO_RCVBUF, 4096, NULL);
  g_assert_true (g_socket_bind (listener, G_SOCKET_ADDRESS (any), FALSE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  peer = socket_address_string (listener);

  /* Kernel buffers take a few MiB; a frame after that must fail TIMEOUT. */
  for (guint i = 0; i < 16 && !timed_out; i++)
    {
      SendResult result = { 0 };

      send_reliable (a, peer, frame, &result);
      wait_count (f, &result.calls, 1, WAIT_US);
      if (result.error != NULL)
        {
          g_test_message ("frame %u: %s", i, result.error->message);
          g_assert_error (result.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT);
          timed_out = TRUE;
        }
      send_result_clear (&result);
    }
  g_assert_true (timed_out);
  raw_close (listener);
}

static char *
socket_address_string (GSocket *socket)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (socket, &error);
  g_autofree char *ip = NULL;
  guint port;

  g_assert_no_error (error);
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (bound)));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return strchr (ip, ':') ? g_strdup_printf ("[%s]:%u", ip, port)
                          : g_strdup_printf ("%s:%u", ip, port);
}

/* A listener that never accepts and whose accept queue is full: the kernel
 * drops further connection attempts, so connecting hangs. */
static void
test_hostile_connect_timeout (Fixture *f, gconstpointer data)
{
  Limits l = default_limits ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetSocketAddress) any = inet_address (f->tut->kind->bind_template);
  g_autoptr (GInetSocketAddress) target = NULL;
  g_autoptr (GBytes) frame = g_bytes_new_static ("hello?", 6);
  g_autofree char *peer = NULL;
  GSocketFamily family = g_socket_address_get_family (G_SOCKET_ADDRESS (any));
  GSocket *listener;
  GSocket *fillers[4];
  SendResult result = { 0 };
  Node *a;

  l.connect_timeout_us = 300 * 1000;
  a = node_new_with (f, &l);
  listener = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_set_listen_backlog (listener, 0);
  g_assert_true (g_socket_bind (listener, G_SOCKET_ADDRESS (any), FALSE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  peer = socket_address_string (listener);
  target = inet_address (peer);
  for (guint i = 0; i < G_N_ELEMENTS (fillers); i++)
    {
      fillers[i] = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
      g_assert_no_error (error);
      g_socket_set_blocking (fillers[i], FALSE);
      g_socket_connect (fillers[i], G_SOCKET_ADDRESS (target), NULL, NULL);
    }

  send_reliable (a, peer, frame, &result);
  wait_count (f, &result.calls, 1, 3 * G_USEC_PER_SEC);
  g_assert_error (result.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT);
  send_result_clear (&result);
  for (guint i = 0; i < G_N_ELEMENTS (fillers); i++)
    raw_close (fillers[i]);
  raw_close (listener);
}

static void
test_socket_hostname (Fixture *f, gconstpointer data)
{
  Node *a = node_new (f);
  Node *b = node_new (f);
  const char *colon = strrchr (b->address, ':');
  g_autofree char *by_name = g_strdup_printf ("%s%s", f->tut->kind->loopback_name, colon);
  g_autoptr (GBytes) frame = g_bytes_new_static ("by name", 7);
  g_autoptr (GError) error = NULL;
  SendResult result = { 0 };

  /* Resolving would block: datagrams take numeric addresses only. */
  g_assert_false (send_datagram (a, by_name, frame, &error));
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS);

  send_reliable (a, by_name, frame, &result);
  wait_received (b, 1);
  assert_bytes_equal (received_at (b, 0)->frame, frame);
  wait_count (f, &result.calls, 1, WAIT_US);
  g_assert_no_error (result.error);
}

static void
test_socket_bind_forms (Fixture *f, gconstpointer data)
{
  Limits l = default_limits ();
  gboolean v6 = f->tut->kind->needs_ipv6;
  Node *a = node_new (f);
  Node *any = node_new_at (f, v6 ? "[::]:0" : "0.0.0.0:0", &l);
  const char *port = strrchr (any->address, ':');
  g_autofree char *loopback = g_strdup_printf ("%s%s", v6 ? "[::1]" : "127.0.0.1", port);
  g_autofree char *taken = NULL;
  g_autoptr (GBytes) frame = g_bytes_new_static ("any", 3);
  g_autoptr (GError) error = NULL;
  SendResult result = { 0 };
  gpointer instance;

  g_assert_true (g_str_has_prefix (any->address, v6 ? "[::]:" : "0.0.0.0:"));
  g_assert_cmpstr (port, !=, ":0");
  send_reliable (a, loopback, frame, &result);
  g_assert_true (send_datagram (a, loopback, frame, &error));
  g_assert_no_error (error);
  wait_received (any, 2);
  wait_count (f, &result.calls, 1, WAIT_US);
  g_assert_no_error (result.error);
  if (v6)
    {
      /* "[::]" is dual-stack: IPv4 peers reach it too, and are seen as IPv4. */
      Node *v4 = node_new_at (f, "127.0.0.1:0", &l);
      g_autofree char *as_v4 = g_strdup_printf ("127.0.0.1%s", port);
      SendResult over_v4 = { 0 };

      send_reliable (v4, as_v4, frame, &over_v4);
      g_assert_true (send_datagram (v4, as_v4, frame, &error));
      g_assert_no_error (error);
      wait_received (any, 4);
      g_assert_true (g_str_has_prefix (received_at (any, 2)->from, "127.0.0.1:"));
      g_assert_true (g_str_has_prefix (received_at (any, 3)->from, "127.0.0.1:"));
      /* And answers go back over IPv4. */
      g_assert_true (send_datagram (any, v4->address, frame, &error));
      g_assert_no_error (error);
      wait_received (v4, 1);
      wait_count (f, &over_v4.calls, 1, WAIT_US);
      g_assert_no_error (over_v4.error);
    }

  /* A port in use is an error from create, not a surprise later. */
  taken = g_strdup (a->address);
  instance = create_instance (f, a, taken, &l, &error);
  g_assert_null (instance);
  g_assert_nonnull (error);
  g_test_message ("binding %s again: %s", taken, error->message);
  g_clear_error (&error);

  /* Bind addresses are numeric, with a port. */
  instance = create_instance (f, a, v6 ? "[::1]" : "localhost:0", &l, &error);
  g_assert_null (instance);
  g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS);
}

/* ------------------------------------------------------------------------ */
/* Channels */

/* Frames kept in flight by a Feeder. */
#define FEED_WINDOW 16

typedef struct
{
  Node *node;
  GossipTransportChannel *channel; /* NULL once closed by us or ended */
  GPtrArray *received;             /* GBytes copies, unless verifying */
  guint n_received;
  guint64 bytes_received;
  gboolean closed; /* closed() was called */
  GError *error;   /* what closed() said */
  gboolean close_on_receive;
  GBytes *const *expected; /* when set: frame i must equal expected[i % n_expected] */
  guint n_expected;
} Chan;

static void
chan_free (gpointer data)
{
  Chan *ch = data;

  g_ptr_array_unref (ch->received);
  g_clear_error (&ch->error);
  g_free (ch);
}

static Chan *
chan_new (Node *node)
{
  Chan *ch = g_new0 (Chan, 1);

  ch->node = node;
  ch->received = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (node->f->chans, ch);
  return ch;
}

static void
chan_close (Chan *ch, gboolean abort)
{
  GossipTransportChannel *channel = g_steal_pointer (&ch->channel);

  g_assert_nonnull (channel);
  in_vtable_call = TRUE;
  ch->node->f->tut->vtable->channel_close (ch->node->instance, channel, abort);
  in_vtable_call = FALSE;
}

static void
on_chan_received (gpointer user_data, GBytes *frame)
{
  Chan *ch = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);

  g_assert_false (in_vtable_call);
  g_assert_nonnull (ch->node->instance);
  g_assert_nonnull (ch->channel);
  g_assert_false (ch->closed);
  if (ch->expected != NULL)
    {
      gsize want_len;
      const guint8 *want
          = g_bytes_get_data (ch->expected[ch->n_received % ch->n_expected], &want_len);

      g_assert_cmpuint (len, ==, want_len);
      if (memcmp (data, want, len) != 0)
        g_error ("channel frame %u differs from the one sent", ch->n_received);
    }
  else
    g_ptr_array_add (ch->received, g_bytes_new (data, len));
  ch->n_received++;
  ch->bytes_received += len;
  if (ch->close_on_receive)
    chan_close (ch, FALSE);
}

static void
on_chan_closed (gpointer user_data, const GError *error)
{
  Chan *ch = user_data;

  g_assert_false (in_vtable_call);
  g_assert_nonnull (ch->node->instance);
  g_assert_nonnull (ch->channel);
  g_assert_false (ch->closed);
  ch->closed = TRUE;
  ch->channel = NULL;
  if (error != NULL)
    {
      g_assert_true (error->domain == GOSSIP_TRANSPORT_ERROR);
      ch->error = g_error_copy (error);
    }
  g_test_message ("channel closed: %s", error != NULL ? error->message : "cleanly");
}

static const GossipTransportChannelCallbacks chan_callbacks = {
  .received = on_chan_received,
  .closed = on_chan_closed,
};

static gboolean
on_channel_accepted (gpointer user_data, const char *from, GossipTransportChannel *channel)
{
  Node *node = user_data;
  Chan *ch;

  g_assert_false (in_vtable_call);
  g_assert_nonnull (node->instance);
  g_assert_nonnull (from);
  g_assert_nonnull (channel);
  if (node->refuse_channels)
    {
      node->channels_refused++;
      return FALSE;
    }
  ch = chan_new (node);
  ch->channel = channel;
  g_ptr_array_add (node->accepted, ch);
  in_vtable_call = TRUE;
  node->f->tut->vtable->channel_attach (node->instance, channel, &chan_callbacks, ch);
  in_vtable_call = FALSE;
  g_assert_cmpuint (ch->n_received, ==, 0);
  return TRUE;
}

static Chan *
chan_open (Node *node, const char *address)
{
  Chan *ch = chan_new (node);
  g_autoptr (GError) error = NULL;

  in_vtable_call = TRUE;
  ch->channel
      = node->f->tut->vtable->channel_open (node->instance, address, &chan_callbacks, ch, &error);
  in_vtable_call = FALSE;
  g_assert_no_error (error);
  g_assert_nonnull (ch->channel);
  return ch;
}

static void
chan_send (Chan *ch, GBytes *frame, SendResult *result)
{
  if (result != NULL)
    result->sender = ch->node;
  in_vtable_call = TRUE;
  ch->node->f->tut->vtable->channel_send (ch->node->instance, ch->channel, frame,
                                          result != NULL ? send_done : NULL, result);
  in_vtable_call = FALSE;
  g_assert_true (result == NULL || result->calls == 0);
}

/* The channel @node accepted as its @i-th. */
static Chan *
wait_accepted (Node *node, guint i)
{
  wait_count (node->f, &node->accepted->len, i + 1, WAIT_US);
  return g_ptr_array_index (node->accepted, i);
}

static gboolean
chan_is_closed (gpointer data)
{
  return ((Chan *) data)->closed;
}

static void
wait_chan_closed (Chan *ch)
{
  if (!wait_for (ch->node->f, chan_is_closed, ch, WAIT_US))
    g_error ("the channel did not end within %d ms", WAIT_US / 1000);
}

static void
wait_chan_received (Chan *ch, guint n)
{
  wait_count (ch->node->f, &ch->n_received, n, WAIT_US);
}

static Chan *
chan_received_check (Chan *ch, guint i, GBytes *expected)
{
  g_assert_cmpuint (i, <, ch->received->len);
  assert_bytes_equal (g_ptr_array_index (ch->received, i), expected);
  return ch;
}

static void
skip_without_channels (Fixture *f)
{
  if (f->tut->vtable->channel_open == NULL)
    g_test_skip ("this transport has no channels");
}

#define REQUIRE_CHANNELS(f)                                                                        \
  G_STMT_START                                                                                     \
  {                                                                                                \
    skip_without_channels (f);                                                                     \
    if (f->tut->vtable->channel_open == NULL)                                                      \
      return;                                                                                      \
  }                                                                                                \
  G_STMT_END

static void
test_channel_both_ways (Fixture *f, gconstpointer data)
{
  Node *a, *b;
  Chan *ab, *ba;
  g_autoptr (GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autoptr (GBytes) world = g_bytes_new_static ("world", 5);
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  SendResult r1 = { 0 }, r2 = { 0 }, r3 = { 0 };

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  ab = chan_open (a, b->address);
  chan_send (ab, hello, &r1);
  ba = wait_accepted (b, 0);
  wait_chan_received (ba, 1);
  chan_received_check (ba, 0, hello);
  chan_send (ba, world, &r2);
  chan_send (ba, empty, &r3);
  wait_chan_received (ab, 2);
  chan_received_check (ab, 0, world);
  g_assert_cmpuint (g_bytes_get_size (g_ptr_array_index (ab->received, 1)), ==, 0);
  wait_done (f, 3);
  g_assert_no_error (r1.error);
  g_assert_no_error (r2.error);
  g_assert_no_error (r3.error);
  /* Channel frames are the channel's: nothing on the node's own paths. */
  run_for (f, QUIET_US);
  g_assert_cmpuint (a->received->len + b->received->len, ==, 0);
  g_assert_cmpuint (a->dropped->len + b->dropped->len, ==, 0);
  g_assert_false (ab->closed || ba->closed);
  chan_close (ab, FALSE);
  wait_chan_closed (ba);
  g_assert_no_error (ba->error);
}

static void
test_channel_keeps_order (Fixture *f, gconstpointer data)
{
  const guint n = 1000;
  Node *a, *b;
  Chan *ab, *ba;
  g_autofree SendResult *results = g_new0 (SendResult, n);
  g_autoptr (GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  ab = chan_open (a, b->address);
  /* All queued at once, before the connection is even up: every one is
   * kept (no LIMIT on channels), sent in order. */
  for (guint i = 0; i < n; i++)
    {
      g_ptr_array_add (frames, numbered_frame (i, 16 + (i * 997) % 5000));
      chan_send (ab, g_ptr_array_index (frames, i), &results[i]);
    }
  ba = wait_accepted (b, 0);
  wait_chan_received (ba, n);
  for (guint i = 0; i < n; i++)
    chan_received_check (ba, i, g_ptr_array_index (frames, i));
  wait_done (f, n);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpuint (results[i].calls, ==, 1);
      g_assert_no_error (results[i].error);
    }
}

static void
test_channel_one_mebibyte (Fixture *f, gconstpointer data)
{
  Node *a, *b;
  Chan *ab, *ba;
  g_autoptr (GBytes) frame = random_bytes (MiB);
  g_autoptr (GBytes) after = g_bytes_new_static ("after", 5);
  SendResult r1 = { 0 }, r2 = { 0 }, r3 = { 0 };

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  ab = chan_open (a, b->address);
  chan_send (ab, frame, &r1);
  chan_send (ab, after, &r2);
  ba = wait_accepted (b, 0);
  wait_chan_received (ba, 2);
  chan_received_check (ba, 0, frame);
  chan_received_check (ba, 1, after);
  chan_send (ba, frame, &r3);
  wait_chan_received (ab, 1);
  chan_received_check (ab, 0, frame);
  wait_done (f, 3);
  g_assert_no_error (r1.error);
  g_assert_no_error (r2.error);
  g_assert_no_error (r3.error);
}

static void
test_channel_frame_limit (Fixture *f, gconstpointer data)
{
  Node *a, *b;
  Chan *ab, *ba;
  g_autoptr (GBytes) largest = random_bytes (MAX_FRAME);
  g_autoptr (GBytes) too_big = random_bytes (MAX_FRAME + 1);
  g_autoptr (GBytes) marker = g_bytes_new_static ("marker", 6);
  SendResult ok = { 0 }, refused = { 0 }, last = { 0 };

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  ab = chan_open (a, b->address);
  chan_send (ab, largest, &ok);
  chan_send (ab, too_big, &refused);
  chan_send (ab, marker, &last);
  wait_done (f, 3);
  g_assert_no_error (ok.error);
  g_assert_error (refused.error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TOO_BIG);
  g_assert_no_error (last.error);
  ba = wait_accepted (b, 0);
  wait_chan_received (ba, 2);
  chan_received_check (ba, 0, largest);
  chan_received_check (ba, 1, marker);
  run_for (f, QUIET_US);
  /* The refusal is local: the channel goes on. */
  g_assert_cmpuint (ba->n_received, ==, 2);
  g_assert_false (ab->closed || ba->closed);
  send_result_clear (&refused);
}

static void
test_channel_graceful_close (Fixture *f, gconstpointer data)
{
  const guint n = 200;
  Node *a, *b;
  Chan *ab, *ba;
  g_autofree SendResult *results = g_new0 (SendResult, n);
  g_autoptr (GBytes) big = random_bytes (64 * KiB);
  g_autoptr (GBytes) reply = g_bytes_new_static ("reply", 5);
  SendResult question = { 0 }, answer = { 0 };

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  ab = chan_open (a, b->address);
  for (guint i = 0; i < n; i++)
    chan_send (ab, big, &results[i]);
  /* Closed with everything still queued, before it is even connected:
   * all of it arrives, then the end, and a hears nothing more. */
  chan_close (ab, FALSE);
  ba = wait_accepted (b, 0);
  wait_chan_closed (ba);
  g_assert_no_error (ba->error);
  g_assert_cmpuint (ba->n_received, ==, n);
  for (guint i = 0; i < n; i++)
    chan_received_check (ba, i, big);
  run_for (f, QUIET_US);
  g_assert_cmpuint (f->done_count, ==, 0);

  /* The other way round: the acceptor ends it after answering. */
  ab = chan_open (a, b->address);
  chan_send (ab, reply, &question);
  ba = wait_accepted (b, 1);
  wait_chan_received (ba, 1);
  chan_send (ba, reply, &answer);
  chan_close (ba, FALSE);
  wait_chan_closed (ab);
  g_assert_no_error (ab->error);
  g_assert_cmpuint (ab->n_received, ==, 1);
  chan_received_check (ab, 0, reply);
}

static void
test_channel_abort (Fixture *f, gconstpointer data)
{
  Node *a, *b;
  Chan *ab, *ba;
  g_autoptr (GBytes) frame = random_bytes (16 * KiB);
  SendResult results[20] = { 0 };

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  ab = chan_open (a, b->address);
  chan_send (ab, frame, &results[0]);
  ba = wait_accepted (b, 0);
  wait_chan_received (ba, 1);
  for (guint i = 1; i < G_N_ELEMENTS (results); i++)
    chan_send (ab, frame, &results[i]);
  chan_close (ab, TRUE);
  wait_chan_closed (ba);
  g_assert_nonnull (ba->error);
  g_assert_cmpuint (ba->n_received, <=, G_N_ELEMENTS (results));
  run_for (f, QUIET_US);
  /* Only the first frame's done could be reported, before the abort. */
  g_assert_cmpuint (f->done_count, <=, 1);
}

static void
test_channel_unreachable (Fixture *f, gconstpointer data)
{
  Node *a, *gone;
  Chan *ch;
  g_autoptr (GBytes) frame = g_bytes_new_static ("anyone?", 7);
  SendResult result = { 0 };

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  gone = node_new (f);
  node_destroy (gone);
  ch = chan_open (a, gone->address);
  chan_send (ch, frame, &result);
  wait_chan_closed (ch);
  g_assert_true (
      g_error_matches (ch->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE)
      || g_error_matches (ch->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_TIMEOUT));
  /* The queued frame failed, and was reported before the end. */
  g_assert_cmpuint (result.calls, ==, 1);
  g_assert_nonnull (result.error);
  send_result_clear (&result);
}

static void
test_channel_bad_addresses (Fixture *f, gconstpointer data)
{
  Node *a;
  const char *const *bad = f->tut->kind->bad_addresses;

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      Chan *ch = chan_new (a);

      in_vtable_call = TRUE;
      ch->channel = f->tut->vtable->channel_open (a->instance, bad[i], &chan_callbacks, ch, &error);
      in_vtable_call = FALSE;
      g_test_message ("bad address \"%s\": %s", bad[i], error ? error->message : "accepted");
      g_assert_null (ch->channel);
      g_assert_error (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_BAD_ADDRESS);
    }
  run_for (f, QUIET_US);
}

static void
test_channel_refused (Fixture *f, gconstpointer data)
{
  Node *a, *b;
  Chan *ab;
  g_autoptr (GBytes) frame = g_bytes_new_static ("let me in", 9);
  SendResult result = { 0 };

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  b->refuse_channels = TRUE;
  ab = chan_open (a, b->address);
  chan_send (ab, frame, &result);
  wait_chan_closed (ab);
  g_assert_nonnull (ab->error);
  g_assert_cmpuint (b->channels_refused, ==, 1);
  g_assert_cmpuint (b->accepted->len, ==, 0);
  g_assert_cmpuint (b->received->len, ==, 0);
  run_for (f, QUIET_US);
  send_result_clear (&result);
}

static void
test_channel_close_inside_received (Fixture *f, gconstpointer data)
{
  Node *a, *b;
  Chan *ab, *ba;
  SendResult results[10] = { 0 };
  GBytes *frames[10];

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  ab = chan_open (a, b->address);
  chan_send (ab, (frames[0] = numbered_frame (0, 100)), &results[0]);
  ba = wait_accepted (b, 0);
  wait_chan_received (ba, 1);
  for (guint i = 1; i < G_N_ELEMENTS (frames); i++)
    chan_send (ab, (frames[i] = numbered_frame (i, 100)), &results[i]);
  ba->close_on_receive = TRUE;
  wait_chan_received (ba, 2);
  /* Closed from inside the callback: nothing more for it. */
  wait_chan_closed (ab);
  g_assert_no_error (ab->error);
  run_for (f, QUIET_US);
  g_assert_cmpuint (ba->n_received, ==, 2);
  g_assert_false (ba->closed);
  chan_received_check (ba, 1, frames[1]);
  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      send_result_clear (&results[i]);
      g_bytes_unref (frames[i]);
    }
}

static void
test_channel_destroy_with_open (Fixture *f, gconstpointer data)
{
  Node *a, *b, *c;
  Chan *ab[3], *ba[3], *cb;
  g_autoptr (GBytes) frame = random_bytes (32 * KiB);
  SendResult results[3][10] = { 0 }, to_b = { 0 };

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  c = node_new (f);
  for (guint i = 0; i < G_N_ELEMENTS (ab); i++)
    {
      ab[i] = chan_open (a, b->address);
      chan_send (ab[i], frame, &results[i][0]);
      ba[i] = wait_accepted (b, i);
      wait_chan_received (ba[i], 1);
    }
  wait_done (f, G_N_ELEMENTS (ab));
  /* Frames still on their way, a channel still connecting, an accepted
   * channel not yet seen by its owner: a goes, and says nothing more. */
  for (guint i = 0; i < G_N_ELEMENTS (ab); i++)
    for (guint j = 1; j < G_N_ELEMENTS (results[i]); j++)
      chan_send (ab[i], frame, &results[i][j]);
  chan_open (a, c->address);
  chan_open (c, a->address);
  node_destroy (a);
  /* The peers see each channel end, with an error. */
  for (guint i = 0; i < G_N_ELEMENTS (ba); i++)
    {
      wait_chan_closed (ba[i]);
      g_assert_nonnull (ba[i]->error);
    }
  run_for (f, QUIET_US);
  g_assert_cmpuint (f->done_count, ==, G_N_ELEMENTS (ab));

  /* b goes with a channel to c open. */
  cb = chan_open (c, b->address);
  chan_send (cb, frame, &to_b);
  wait_accepted (b, G_N_ELEMENTS (ab));
  node_destroy (b);
  wait_chan_closed (cb);
  g_assert_nonnull (cb->error);
  send_result_clear (&to_b);
}

static void
test_channel_connection_limit (Fixture *f, gconstpointer data)
{
  Limits l = default_limits ();
  Node *a, *b, *c;
  Chan *ab[3], *ca[2];
  g_autoptr (GBytes) frame = g_bytes_new_static ("room?", 5);
  SendResult results[3] = { 0 };
  guint ended = 0;

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  l.max_connections = 2;
  b = node_new_with (f, &l);
  l.max_connections = 1;
  c = node_new_with (f, &l);

  /* An acceptor at its limit refuses a third channel. */
  for (guint i = 0; i < G_N_ELEMENTS (ab); i++)
    {
      ab[i] = chan_open (a, b->address);
      chan_send (ab[i], frame, &results[i]);
    }
  wait_dropped (b, 1, WAIT_US);
  g_assert_error (dropped_at (b, 0)->reason, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT);
  wait_accepted (b, 1);
  run_for (f, QUIET_US);
  g_assert_cmpuint (b->accepted->len, ==, 2);
  for (guint i = 0; i < G_N_ELEMENTS (ab); i++)
    if (ab[i]->closed)
      {
        g_assert_nonnull (ab[i]->error);
        ended++;
      }
  g_assert_cmpuint (ended, ==, 1);

  /* An opener at its limit cannot open a second one: channels are never
   * closed to make room. */
  ca[0] = chan_open (c, a->address);
  wait_accepted (a, 0);
  ca[1] = chan_open (c, a->address);
  wait_chan_closed (ca[1]);
  g_assert_error (ca[1]->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_LIMIT);
  run_for (f, QUIET_US);
  g_assert_false (ca[0]->closed);
  g_assert_cmpuint (a->accepted->len, ==, 1);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    send_result_clear (&results[i]);
}

static void
test_channel_frames_before_attach (Fixture *f, gconstpointer data)
{
  Node *a, *b;
  Chan *ab, *ba;
  GBytes *frames[5];

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  ab = chan_open (a, b->address);
  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    chan_send (ab, (frames[i] = numbered_frame (i, 3000)), NULL);
  chan_close (ab, FALSE);
  /* Everything, the end included, may be there before b's owner hears of
   * the channel: it gets it all after attaching (on_channel_accepted checks
   * nothing comes from inside channel_attach). */
  ba = wait_accepted (b, 0);
  wait_chan_closed (ba);
  g_assert_no_error (ba->error);
  g_assert_cmpuint (ba->n_received, ==, G_N_ELEMENTS (frames));
  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      chan_received_check (ba, i, frames[i]);
      g_bytes_unref (frames[i]);
    }
}

typedef struct
{
  Chan *ch;
  GBytes *const *frames;
  guint n_frames;
  guint total;
  guint next;
  guint completed;
  guint failed;
} Feeder;

static void feeder_fill (Feeder *fd);

static void
feeder_done (gpointer user_data, const GError *error)
{
  Feeder *fd = user_data;

  g_assert_false (in_vtable_call);
  fd->completed++;
  if (error != NULL)
    fd->failed++;
  else
    feeder_fill (fd);
}

/* Keeps FEED_WINDOW frames in flight. */
static void
feeder_fill (Feeder *fd)
{
  Chan *ch = fd->ch;

  while (fd->failed == 0 && ch->channel != NULL && fd->next < fd->total
         && fd->next - fd->completed < FEED_WINDOW)
    {
      in_vtable_call = TRUE;
      ch->node->f->tut->vtable->channel_send (ch->node->instance, ch->channel,
                                              fd->frames[fd->next % fd->n_frames], feeder_done, fd);
      in_vtable_call = FALSE;
      fd->next++;
    }
}

static void
test_channel_throughput (Fixture *f, gconstpointer data)
{
  const gsize frame_size = 256 * KiB;
  const guint total = (256 * MiB) / frame_size;
  Node *a, *b;
  Chan *ab, *ba;
  GBytes *frames[7];
  Feeder fd = { 0 };
  gint64 start, elapsed;

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    frames[i] = random_bytes (frame_size);
  ab = chan_open (a, b->address);
  ba = NULL;
  /* Every frame is compared, in order, with the one sent. */
  fd.ch = ab;
  fd.frames = frames;
  fd.n_frames = G_N_ELEMENTS (frames);
  fd.total = total;
  start = g_get_monotonic_time ();
  feeder_fill (&fd);
  ba = wait_accepted (b, 0);
  ba->expected = frames;
  ba->n_expected = G_N_ELEMENTS (frames);
  wait_count (f, &ba->n_received, total, 120 * G_USEC_PER_SEC);
  elapsed = g_get_monotonic_time () - start;
  g_assert_cmpuint (fd.failed, ==, 0);
  g_assert_cmpuint (ba->bytes_received, ==, (guint64) total * frame_size);
  g_test_message ("%u MiB through one channel in %" G_GINT64_FORMAT " ms: %.0f MiB/s%s",
                  (guint) (ba->bytes_received / MiB), elapsed / 1000,
                  (double) ba->bytes_received / MiB / ((double) MAX (elapsed, 1) / G_USEC_PER_SEC),
                  f->tut->kind->real_time ? "" : " (wall clock, virtual-time transport)");
  wait_count (f, &fd.completed, total, WAIT_US);
  chan_close (ab, FALSE);
  wait_chan_closed (ba);
  g_assert_no_error (ba->error);
  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    g_bytes_unref (frames[i]);
}

/* Memory only: a partition, or a paused end, ends a channel on both sides,
 * as it refuses the reliable path. */
static void
test_memory_channel_partition (Fixture *f, gconstpointer data)
{
  g_autofree char *network_name = g_strdup_printf ("test-%u", f->run);
  g_autoptr (GossipMemoryNetwork) network = gossip_memory_network_get (network_name);
  const char *const side_a[] = { "node0", NULL };
  const char *const side_b[] = { "node1", NULL };
  Node *a, *b, *c;
  Chan *ab, *ba, *ac, *ca;
  g_autoptr (GBytes) frame = g_bytes_new_static ("over", 4);
  SendResult results[3] = { 0 };

  REQUIRE_CHANNELS (f);
  a = node_new (f);
  b = node_new (f);
  c = node_new (f);
  g_assert_true (g_str_has_suffix (a->address, "/node0"));
  ab = chan_open (a, b->address);
  ac = chan_open (a, c->address);
  chan_send (ab, frame, &results[0]);
  chan_send (ac, frame, &results[1]);
  ba = wait_accepted (b, 0);
  ca = wait_accepted (c, 0);
  wait_chan_received (ba, 1);
  wait_chan_received (ca, 1);

  gossip_memory_network_partition (network, side_a, side_b);
  wait_chan_closed (ab);
  wait_chan_closed (ba);
  g_assert_error (ab->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_assert_error (ba->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  run_for (f, QUIET_US);
  g_assert_false (ac->closed || ca->closed);
  gossip_memory_network_heal (network);

  gossip_memory_network_set_paused (network, "node2", TRUE);
  chan_send (ac, frame, &results[2]);
  wait_chan_closed (ac);
  wait_chan_closed (ca);
  g_assert_error (ac->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_assert_error (ca->error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  g_assert_error (results[2].error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_UNREACHABLE);
  gossip_memory_network_set_paused (network, "node2", FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    send_result_clear (&results[i]);
}

/* ------------------------------------------------------------------------ */
/* Channels against raw peers */

static const guint8 channel_preamble[12]
    = { 0xff, 0xff, 0xff, 0xff, 'G', 'O', 'S', 'S', 'I', 'P', 'C', 'H' };

typedef struct
{
  GSocket *socket;
  guint8 *buf;
  gsize len;
  gsize got;
} RawReceive;

static gboolean
raw_received_all (gpointer data)
{
  RawReceive *r = data;
  g_autoptr (GError) error = NULL;
  gssize n = g_socket_receive_with_blocking (r->socket, (char *) r->buf + r->got, r->len - r->got,
                                             FALSE, NULL, &error);

  if (n < 0)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  else
    {
      g_assert_cmpint (n, >, 0);
      r->got += (gsize) n;
    }
  return r->got == r->len;
}

/* Reads @len bytes while the transport runs. */
static void
raw_receive_exactly (Fixture *f, GSocket *socket, guint8 *buf, gsize len)
{
  RawReceive r = { socket, buf, len, 0 };

  if (!wait_for (f, raw_received_all, &r, WAIT_US))
    g_error ("got %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes", r.got, len);
}

static void
test_hostile_channel_bad_magic (Fixture *f, gconstpointer data)
{
  Node *b;
  GSocket *raw;
  guint8 wrong[12];

  REQUIRE_CHANNELS (f);
  b = node_new (f);
  raw = raw_connect (b->address);
  memcpy (wrong, channel_preamble, sizeof wrong);
  wrong[10] = 'X';
  raw_send (raw, wrong, sizeof wrong);
  wait_dropped (b, 1, WAIT_US);
  g_assert_error (dropped_at (b, 0)->reason, GOSSIP_TRANSPORT_ERROR,
                  GOSSIP_TRANSPORT_ERROR_PROTOCOL);
  assert_raw_closed (f, raw, WAIT_US);
  raw_close (raw);
  g_assert_cmpuint (b->accepted->len, ==, 0);
  g_assert_cmpuint (b->received->len, ==, 0);
  assert_still_serves (f, b);
}

static void
test_hostile_channel_huge_length_prefix (Fixture *f, gconstpointer data)
{
  Node *b;
  GSocket *raw;
  const guint8 hello[9] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
  const guint8 four_gib[4] = { 0xff, 0xff, 0xff, 0xff };
  guint8 answer[sizeof channel_preamble];
  Chan *ba;

  REQUIRE_CHANNELS (f);
  b = node_new (f);
  raw = raw_connect (b->address);
  raw_send (raw, channel_preamble, sizeof channel_preamble);
  raw_send (raw, hello, sizeof hello);
  /* The acceptor answers with the same preamble (docs/PROTOCOL.md). */
  raw_receive_exactly (f, raw, answer, sizeof answer);
  g_assert_cmpmem (answer, sizeof answer, channel_preamble, sizeof channel_preamble);
  ba = wait_accepted (b, 0);
  wait_chan_received (ba, 1);
  g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (ba->received, 0), NULL), 5, "hello", 5);
  /* Past the preamble, FF FF FF FF is just a length, refused as such. */
  raw_send (raw, four_gib, sizeof four_gib);
  wait_dropped (b, 1, WAIT_US);
  g_assert_error (dropped_at (b, 0)->reason, GOSSIP_TRANSPORT_ERROR,
                  GOSSIP_TRANSPORT_ERROR_TOO_BIG);
  wait_chan_closed (ba);
  g_assert_nonnull (ba->error);
  assert_raw_closed (f, raw, WAIT_US);
  raw_close (raw);
  assert_still_serves (f, b);
}

static void
test_hostile_channel_peer_never_reads (Fixture *f, gconstpointer data)
{
  const guint n = 256; /* 64 MiB */
  Limits l = default_limits ();
  Node *a;
  Chan *ch;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetSocketAddress) any = NULL;
  g_autofree char *peer = NULL;
  g_autoptr (GBytes) frame = random_bytes (256 * KiB);
  g_autofree SendResult *results = g_new0 (SendResult, n);
  GSocket *listener;
  guint sent = 0, sent_later = 0;

  REQUIRE_CHANNELS (f);
  l.io_timeout_us = 60 * G_USEC_PER_SEC;
  a = node_new_with (f, &l);
  any = inet_address (f->tut->kind->bind_template);
  listener = g_socket_new (g_socket_address_get_family (G_SOCKET_ADDRESS (any)),
                           G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  /* A tiny receive window, never read, never even accepted. */
  g_socket_set_option (listener, SOL_SOCKET, SO_RCVBUF, 4096, NULL);
  g_assert_true (g_socket_bind (listener, G_SOCKET_ADDRESS (any), FALSE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  peer = socket_address_string (listener);

  ch = chan_open (a, peer);
  for (guint i = 0; i < n; i++)
    chan_send (ch, frame, &results[i]);
  run_for (f, 2 * QUIET_US);
  for (guint i = 0; i < n; i++)
    sent += results[i].calls;
  /* The kernel takes a few MiB; the rest waits in the queue, undone. */
  run_for (f, 2 * QUIET_US);
  for (guint i = 0; i < n; i++)
    sent_later += results[i].calls;
  g_test_message ("%u of %u frames (256 KiB each) taken by a peer that never reads", sent, n);
  g_assert_cmpuint (sent, <, n / 2);
  g_assert_cmpuint (sent_later, ==, sent);
  g_assert_cmpuint (f->done_count, ==, sent);
  g_assert_false (ch->closed);
  for (guint i = 0; i < sent; i++)
    g_assert_no_error (results[i].error);
  chan_close (ch, TRUE);
  run_for (f, QUIET_US);
  g_assert_cmpuint (f->done_count, ==, sent);
  raw_close (listener);
}

/* ------------------------------------------------------------------------ */
/* Registration */

typedef void (*FixtureFunc) (Fixture *f, gconstpointer data);

typedef struct
{
  const char *name;
  FixtureFunc func;
} Case;

static const Case common_cases[] = {
  { "local-address", test_local_address },
  { "datagram-both-ways", test_datagram_both_ways },
  { "datagram-size-limit", test_datagram_size_limit },
  { "reliable-both-ways", test_reliable_both_ways },
  { "reliable-keeps-order", test_reliable_keeps_order },
  { "reliable-one-mebibyte", test_reliable_one_mebibyte },
  { "reliable-frame-limit", test_reliable_frame_limit },
  { "reliable-empty-frame", test_reliable_empty_frame },
  { "reliable-unreachable", test_reliable_unreachable },
  { "bad-addresses", test_bad_addresses },
  { "reliable-pools-connections", test_reliable_pools_connections },
  { "destroy-with-pending-sends", test_destroy_with_pending_sends },
  { "destroy-inside-callbacks", test_destroy_inside_callbacks },
  { "datagrams-disabled", test_datagrams_disabled },
  { "send-burst-each-done-once", test_send_burst_each_done_once },
  { "many-peers", test_many_peers },
  { "channel/both-ways", test_channel_both_ways },
  { "channel/keeps-order", test_channel_keeps_order },
  { "channel/one-mebibyte", test_channel_one_mebibyte },
  { "channel/frame-limit", test_channel_frame_limit },
  { "channel/graceful-close", test_channel_graceful_close },
  { "channel/abort", test_channel_abort },
  { "channel/unreachable", test_channel_unreachable },
  { "channel/bad-addresses", test_channel_bad_addresses },
  { "channel/refused", test_channel_refused },
  { "channel/close-inside-received", test_channel_close_inside_received },
  { "channel/destroy-with-open", test_channel_destroy_with_open },
  { "channel/connection-limit", test_channel_connection_limit },
  { "channel/frames-before-attach", test_channel_frames_before_attach },
  { "channel/throughput", test_channel_throughput },
};

static const Case raw_socket_cases[] = {
  { "hostile/huge-length-prefix", test_hostile_huge_length_prefix },
  { "hostile/slow-peer", test_hostile_slow_peer },
  { "hostile/connection-limit", test_hostile_connection_limit },
  { "hostile/idle-connection", test_hostile_idle_connection },
  { "hostile/garbage", test_hostile_garbage },
  { "hostile/truncated-frame", test_hostile_truncated_frame },
  { "hostile/connect-and-close", test_hostile_connect_and_close },
  { "hostile/oversized-datagram", test_hostile_oversized_datagram },
  { "hostile/peer-never-reads", test_hostile_peer_never_reads },
  { "hostile/connect-timeout", test_hostile_connect_timeout },
  { "hostile/channel-bad-magic", test_hostile_channel_bad_magic },
  { "hostile/channel-huge-length-prefix", test_hostile_channel_huge_length_prefix },
  { "hostile/channel-peer-never-reads", test_hostile_channel_peer_never_reads },
  { "bind-forms", test_socket_bind_forms },
};

static void
test_unavailable (gconstpointer data)
{
  const TransportUnderTest *tut = data;

  if (tut->kind == NULL)
    g_test_fail_printf ("transport %s: no entry in known_kinds[] says how its nodes bind",
                        tut->name);
  else if (tut->skip_reason != NULL)
    g_test_skip (tut->skip_reason);
  else if (tut->load_error != NULL && tut->kind->required)
    g_test_fail_printf ("transport %s did not load: %s", tut->kind->plugin, tut->load_error);
  else
    g_test_skip (tut->load_error);
}

static gboolean
ipv6_loopback_available (void)
{
  g_autoptr (GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GSocketAddress) loopback = NULL;

  if (socket == NULL)
    return FALSE;
  loopback = g_inet_socket_address_new_from_string ("::1", 0);
  return g_socket_bind (socket, loopback, FALSE, NULL);
}

static void
add_case (TransportUnderTest *tut, const char *name, FixtureFunc func)
{
  g_autofree char *path = g_strdup_printf ("/transport/%s/%s", tut->kind->variant, name);

  g_test_add (path, Fixture, tut, fixture_setup, func, fixture_teardown);
}

static void
add_transport_tests (GPtrArray *tuts, const char *name)
{
  gboolean known = FALSE;

  for (guint k = 0; k < G_N_ELEMENTS (known_kinds); k++)
    {
      const TransportKind *kind = &known_kinds[k];
      TransportUnderTest *tut;
      g_autoptr (GError) error = NULL;
      g_autofree char *load_path = NULL;

      if (strcmp (kind->plugin, name) != 0)
        continue;
      known = TRUE;
      tut = g_new0 (TransportUnderTest, 1);
      tut->kind = kind;
      g_ptr_array_add (tuts, tut);
      tut->plugin = gossip_plugin_load (GOSSIP_PLUGIN_KIND_TRANSPORT, name, NULL, &error);
      if (tut->plugin == NULL)
        tut->load_error = g_strdup (error->message);
      else
        tut->vtable = gossip_plugin_get_vtable (tut->plugin);
      if (kind->needs_ipv6 && !ipv6_loopback_available ())
        tut->skip_reason = "no IPv6 loopback on this host";

      load_path = g_strdup_printf ("/transport/%s/loads", kind->variant);
      if (tut->plugin == NULL || tut->skip_reason != NULL)
        {
          g_test_add_data_func (load_path, tut, test_unavailable);
          continue;
        }
      g_test_add (load_path, Fixture, tut, fixture_setup, test_loads, fixture_teardown);
      for (guint i = 0; i < G_N_ELEMENTS (common_cases); i++)
        add_case (tut, common_cases[i].name, common_cases[i].func);
      if (strcmp (kind->plugin, "memory") == 0)
        add_case (tut, "channel/partition", test_memory_channel_partition);
      if (!kind->raw_sockets)
        continue;
      for (guint i = 0; i < G_N_ELEMENTS (raw_socket_cases); i++)
        add_case (tut, raw_socket_cases[i].name, raw_socket_cases[i].func);
      if (kind->loopback_name != NULL)
        add_case (tut, "hostname", test_socket_hostname);
    }
  if (!known)
    {
      TransportUnderTest *tut = g_new0 (TransportUnderTest, 1);
      g_autofree char *path = g_strdup_printf ("/transport/%s/loads", name);

      tut->name = g_strdup (name);
      g_ptr_array_add (tuts, tut);
      g_test_add_data_func (path, tut, test_unavailable);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) tuts = g_ptr_array_new_with_free_func (transport_under_test_free);
  const char *names = g_getenv ("GOSSIP_TEST_TRANSPORTS");
  g_auto (GStrv) tokens = NULL;
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  certs_dir = g_dir_make_tmp ("gossip-transport-certs-XXXXXX", &error);
  g_assert_no_error (error);
  gossip_test_certs_generate (certs_dir, &error);
  g_assert_no_error (error);
  tokens = g_strsplit_set (names ? names : GOSSIP_TEST_DEFAULT_TRANSPORTS, " ,", -1);
  for (guint i = 0; tokens[i] != NULL; i++)
    if (tokens[i][0] != '\0')
      add_transport_tests (tuts, tokens[i]);
  status = g_test_run ();
  gossip_test_certs_remove (certs_dir);
  g_rmdir (certs_dir);
  g_free (certs_dir);
  return status;
}
