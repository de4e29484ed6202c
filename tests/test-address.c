/* test-address.c: every address form, parsed and refused; resolution
 * through a fake GResolver (A, AAAA, several addresses, SRV priorities and
 * weights, NXDOMAIN, dead SRV targets, cancellation); and whole clusters on
 * loopback sockets joining and advertising through names the fake resolver
 * answers, installed with g_resolver_set_default(). */
#include "config.h"

#include <string.h>

#include "cluster-harness.h"
#include "gossip/gossip-address.h"

#define SEC G_USEC_PER_SEC

/* ------------------------------------------------------------------------ */
/* A resolver that answers from tables */

#define FAKE_TYPE_RESOLVER (fake_resolver_get_type ())
G_DECLARE_FINAL_TYPE (FakeResolver, fake_resolver, FAKE, RESOLVER, GResolver)

struct _FakeResolver
{
  GResolver parent_instance;
  GHashTable *hosts; /* name -> GPtrArray of GInetAddress */
  GHashTable *srv;   /* name -> GPtrArray of GVariant (qqqs) */
  gboolean hang;     /* answer nothing until the lookup is cancelled */
  GPtrArray *asked;  /* every name looked up, in order */
};

G_DEFINE_TYPE (FakeResolver, fake_resolver, G_TYPE_RESOLVER)

static gboolean
answer_cancelled (GCancellable *cancellable, gpointer data)
{
  g_task_return_error_if_cancelled (G_TASK (data));
  return G_SOURCE_REMOVE;
}

/* Leaves @task unanswered until its cancellable fires. */
static void
hang (GTask *task)
{
  GSource *source = g_cancellable_source_new (g_task_get_cancellable (task));

  g_assert_nonnull (g_task_get_cancellable (task));
  g_source_set_callback (source, G_SOURCE_FUNC (answer_cancelled), g_object_ref (task),
                         g_object_unref);
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static void
free_addresses (gpointer addresses)
{
  g_resolver_free_addresses (addresses);
}

static void
free_records (gpointer records)
{
  g_list_free_full (records, (GDestroyNotify) g_variant_unref);
}

/* Answers @task with a GList of @table's entries for @name (GObjects or
 * GVariants), NOT_FOUND (@not_found, the name), or, hanging, not at all. */
static void
fake_answer (FakeResolver *self, GTask *task, GHashTable *table, const char *name,
             const char *not_found)
{
  GPtrArray *found = g_hash_table_lookup (table, name);
  gboolean records = table == self->srv;
  GList *list = NULL;

  if (self->hang)
    {
      hang (task);
      return;
    }
  if (found == NULL)
    {
      g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "%s “%s”",
                               not_found, name);
      return;
    }
  for (guint i = found->len; i > 0; i--)
    list = g_list_prepend (list, records ? (gpointer) g_variant_ref (found->pdata[i - 1])
                                         : g_object_ref (found->pdata[i - 1]));
  g_task_return_pointer (task, list, records ? free_records : free_addresses);
}

static void
fake_lookup_by_name_async (GResolver *resolver, const char *name, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  FakeResolver *self = FAKE_RESOLVER (resolver);
  g_autoptr (GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  g_ptr_array_add (self->asked, g_strdup (name));
  fake_answer (self, task, self->hosts, name, "No such host:");
}

static void
fake_lookup_records_async (GResolver *resolver, const char *name, GResolverRecordType type,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  FakeResolver *self = FAKE_RESOLVER (resolver);
  g_autoptr (GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  g_assert_cmpint (type, ==, G_RESOLVER_RECORD_SRV);
  g_ptr_array_add (self->asked, g_strconcat ("SRV ", name, NULL));
  fake_answer (self, task, self->srv, name, "No SRV record for");
}

/* Both kinds of lookup finish alike. */
static GList *
fake_lookup_finish (GResolver *resolver, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_resolver_finalize (GObject *object)
{
  FakeResolver *self = FAKE_RESOLVER (object);

  g_hash_table_unref (self->hosts);
  g_hash_table_unref (self->srv);
  g_ptr_array_unref (self->asked);
  G_OBJECT_CLASS (fake_resolver_parent_class)->finalize (object);
}

static void
fake_resolver_class_init (FakeResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = fake_resolver_finalize;
  resolver_class->lookup_by_name_async = fake_lookup_by_name_async;
  resolver_class->lookup_by_name_finish = fake_lookup_finish;
  resolver_class->lookup_records_async = fake_lookup_records_async;
  resolver_class->lookup_records_finish = fake_lookup_finish;
}

static void
fake_resolver_init (FakeResolver *self)
{
  self->hosts
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  self->srv
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  self->asked = g_ptr_array_new_with_free_func (g_free);
}

/* @name gets the IP addresses that follow, up to NULL. */
static void
fake_add_host (FakeResolver *self, const char *name, ...)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (g_object_unref);
  const char *ip;
  va_list args;

  va_start (args, name);
  while ((ip = va_arg (args, const char *)) != NULL)
    {
      GInetAddress *address = g_inet_address_new_from_string (ip);
      g_assert_nonnull (address);
      g_ptr_array_add (list, address);
    }
  va_end (args);
  g_hash_table_replace (self->hosts, g_strdup (name), list);
}

static void
fake_add_srv (FakeResolver *self, const char *name, guint16 priority, guint16 weight, guint16 port,
              const char *target)
{
  GPtrArray *list = g_hash_table_lookup (self->srv, name);

  if (list == NULL)
    {
      list = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      g_hash_table_insert (self->srv, g_strdup (name), list);
    }
  g_ptr_array_add (list,
                   g_variant_ref_sink (g_variant_new ("(qqqs)", priority, weight, port, target)));
}

static FakeResolver *
fake_new (void)
{
  return g_object_new (FAKE_TYPE_RESOLVER, NULL);
}

/* Makes @fake the default resolver until the returned one is restored. */
static GResolver *
fake_install (FakeResolver *fake)
{
  GResolver *previous = g_resolver_get_default ();

  g_resolver_set_default (G_RESOLVER (fake));
  return previous;
}

static void
fake_uninstall (GResolver *previous)
{
  g_resolver_set_default (previous);
  g_object_unref (previous);
}

/* ------------------------------------------------------------------------ */
/* Parsing */

typedef struct
{
  const char *text;
  guint16 default_port;
  GossipAddressKind kind;
  const char *scheme;
  const char *host;
  guint16 port;
  const char *path;
  const char *canonical;
} GoodCase;

static void
check_good (const GoodCase *c)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipAddress) a = gossip_address_parse (c->text, c->default_port, &error);
  g_autoptr (GossipAddress) copy = NULL;
  g_autofree char *text = NULL;
  g_autofree char *copy_text = NULL;

  g_test_message ("parsing \"%s\"", c->text);
  g_assert_no_error (error);
  g_assert_nonnull (a);
  g_assert_cmpint (gossip_address_get_kind (a), ==, c->kind);
  g_assert_cmpstr (gossip_address_get_scheme (a), ==, c->scheme);
  g_assert_cmpstr (gossip_address_get_host (a), ==, c->host);
  g_assert_cmpuint (gossip_address_get_port (a), ==, c->port);
  g_assert_cmpstr (gossip_address_get_path (a), ==, c->path);
  text = gossip_address_to_string (a);
  g_assert_cmpstr (text, ==, c->canonical);
  copy = gossip_address_copy (a);
  copy_text = gossip_address_to_string (copy);
  g_assert_cmpstr (copy_text, ==, c->canonical);
  /* The canonical form reads back as itself. */
  if (c->kind != GOSSIP_ADDRESS_KIND_URL)
    {
      g_autoptr (GossipAddress) again = gossip_address_parse (text, 0, &error);
      g_autofree char *again_text = NULL;
      g_assert_no_error (error);
      again_text = gossip_address_to_string (again);
      g_assert_cmpstr (again_text, ==, c->canonical);
    }
}

static void
test_parse_every_form (void)
{
  static const GoodCase cases[] = {
    /* IP:port, IP alone */
    { "127.0.0.1:8000", 7946, GOSSIP_ADDRESS_KIND_IP, NULL, "127.0.0.1", 8000, "",
      "127.0.0.1:8000" },
    { "192.0.2.7", 7946, GOSSIP_ADDRESS_KIND_IP, NULL, "192.0.2.7", 7946, "", "192.0.2.7:7946" },
    { "10.1.2.3:1", 0, GOSSIP_ADDRESS_KIND_IP, NULL, "10.1.2.3", 1, "", "10.1.2.3:1" },
    { "10.1.2.3:65535", 0, GOSSIP_ADDRESS_KIND_IP, NULL, "10.1.2.3", 65535, "", "10.1.2.3:65535" },
    { "10.1.2.3:0080", 0, GOSSIP_ADDRESS_KIND_IP, NULL, "10.1.2.3", 80, "", "10.1.2.3:80" },
    /* [IPv6]:port, [IPv6], bare IPv6 */
    { "[::1]:8000", 7946, GOSSIP_ADDRESS_KIND_IP, NULL, "::1", 8000, "", "[::1]:8000" },
    { "[2001:DB8:0::1]", 7946, GOSSIP_ADDRESS_KIND_IP, NULL, "2001:db8::1", 7946, "",
      "[2001:db8::1]:7946" },
    { "2001:db8::42", 9000, GOSSIP_ADDRESS_KIND_IP, NULL, "2001:db8::42", 9000, "",
      "[2001:db8::42]:9000" },
    { "::ffff:192.0.2.1", 1, GOSSIP_ADDRESS_KIND_IP, NULL, "::ffff:192.0.2.1", 1, "",
      "[::ffff:192.0.2.1]:1" },
    /* hostname:port, hostname */
    { "Gossip-1.Example.TEST:8000", 7946, GOSSIP_ADDRESS_KIND_HOSTNAME, NULL,
      "gossip-1.example.test", 8000, "", "gossip-1.example.test:8000" },
    { "localhost", 7946, GOSSIP_ADDRESS_KIND_HOSTNAME, NULL, "localhost", 7946, "",
      "localhost:7946" },
    { "db.example.test.", 5000, GOSSIP_ADDRESS_KIND_HOSTNAME, NULL, "db.example.test", 5000, "",
      "db.example.test:5000" },
    { "node_7.example.test:1", 0, GOSSIP_ADDRESS_KIND_HOSTNAME, NULL, "node_7.example.test", 1, "",
      "node_7.example.test:1" },
    { "1a.2b:99", 0, GOSSIP_ADDRESS_KIND_HOSTNAME, NULL, "1a.2b", 99, "", "1a.2b:99" },
    { "b\xc3\xbc"
      "cher.example:80",
      0, GOSSIP_ADDRESS_KIND_HOSTNAME, NULL, "xn--bcher-kva.example", 80, "",
      "xn--bcher-kva.example:80" },
    /* srv+NAME */
    { "srv+_gossip._tcp.Example.test", 7946, GOSSIP_ADDRESS_KIND_SRV, "srv",
      "_gossip._tcp.example.test", 0, "", "srv+_gossip._tcp.example.test" },
    { "SRV+_g._udp.x.test.", 0, GOSSIP_ADDRESS_KIND_SRV, "srv", "_g._udp.x.test", 0, "",
      "srv+_g._udp.x.test" },
    /* ws://, wss:// */
    { "ws://Host.test:8080/gossip", 7946, GOSSIP_ADDRESS_KIND_WEBSOCKET, "ws", "host.test", 8080,
      "/gossip", "ws://host.test:8080/gossip" },
    { "wss://host.test/gossip?cluster=a", 7946, GOSSIP_ADDRESS_KIND_WEBSOCKET, "wss", "host.test",
      443, "/gossip?cluster=a", "wss://host.test:443/gossip?cluster=a" },
    { "ws://[::1]:9000/", 0, GOSSIP_ADDRESS_KIND_WEBSOCKET, "ws", "::1", 9000, "/",
      "ws://[::1]:9000/" },
    { "WS://127.0.0.1", 0, GOSSIP_ADDRESS_KIND_WEBSOCKET, "ws", "127.0.0.1", 80, "",
      "ws://127.0.0.1:80" },
    /* other schemes belong to their transports */
    { "mem://net-1/node-000", 7946, GOSSIP_ADDRESS_KIND_URL, "mem", "net-1", 0, "/node-000",
      "mem://net-1/node-000" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_good (&cases[i]);
}

static void
test_parse_length_limits (void)
{
  g_autoptr (GString) name = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipAddress) a = NULL;
  g_autofree char *label63 = g_strnfill (63, 'a');

  /* 253 bytes: three labels of 63 and one of 61, joined by dots. */
  for (guint i = 0; i < 3; i++)
    g_string_append_printf (name, "%s.", label63);
  g_string_append_printf (name, "%.61s", label63);
  g_assert_cmpuint (name->len, ==, 253);
  a = gossip_address_parse (name->str, 7946, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gossip_address_get_host (a), ==, name->str);
  g_clear_pointer (&a, gossip_address_free);
  /* ...and with the final dot, which is not counted. */
  g_string_append_c (name, '.');
  a = gossip_address_parse (name->str, 7946, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (gossip_address_get_host (a)), ==, 253);
}

typedef struct
{
  const char *text;
  guint16 default_port;
  const char *why; /* part of the message after the quoted input */
} BadCase;

static void
check_bad (const char *text, guint16 default_port, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GossipAddress) a = gossip_address_parse (text, default_port, &error);
  g_autofree char *escaped = g_strescape (text, NULL);
  g_autofree char *prefix = g_strdup_printf ("bad address \"%s\": ", escaped);

  g_test_message ("refusing \"%s\"", escaped);
  g_assert_null (a);
  g_assert_error (error, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_INVALID);
  if (strlen (text) <= 200)
    g_assert_true (g_str_has_prefix (error->message, prefix));
  else
    g_assert_true (g_str_has_prefix (error->message, "bad address \""));
  if (strstr (error->message, why) == NULL)
    g_error ("\"%s\": message \"%s\" lacks \"%s\"", escaped, error->message, why);
}

static void
test_parse_refuses_every_malformed_form (void)
{
  static const BadCase cases[] = {
    { "", 7946, "empty" },
    { "[::1:80", 7946, "missing \"]\"" },
    { "[::1]x", 7946, "junk after \"]\"" },
    { "[::1]80", 7946, "junk after \"]\"" },
    { "[::1]:", 7946, "missing port" },
    { "[]:80", 7946, "empty host" },
    { "[127.0.0.1]:80", 7946, "not an IPv6 address" },
    { "[gossip.test]:80", 7946, "not an IPv6 address" },
    { ":80", 7946, "empty host" },
    { "host.test:", 7946, "missing port" },
    { "host.test:0", 7946, "1 to 65535" },
    { "host.test:65536", 7946, "1 to 65535" },
    { "host.test:999999999999", 7946, "1 to 65535" },
    { "host.test:-1", 7946, "1 to 65535" },
    { "host.test:+80", 7946, "1 to 65535" },
    { "host.test:8o", 7946, "1 to 65535" },
    { "host.test:80:90", 7946, "too many \":\"" },
    { "1.2.3.4:80:90", 7946, "too many \":\"" },
    { "host.test", 0, "no port" },
    { "192.0.2.1", 0, "no port" },
    { "host name.test:80", 7946, "space" },
    { " host.test:80", 7946, "space" },
    { "host.test:80 ", 7946, "space" },
    { "host.test:80\n", 7946, "control" },
    { "host\t.test", 7946, "control" },
    { "-bad.test", 7946, "starts or ends with '-'" },
    { "bad-.test", 7946, "starts or ends with '-'" },
    { "a..b.test", 7946, "empty label" },
    { ".a.test", 7946, "empty label" },
    { ".", 7946, "empty label" },
    { "bang!.test:80", 7946, "neither an IP address nor a host name" },
    { "256.1.1.1", 7946, "neither an IP address nor a host name" },
    { "1.2.3:80", 7946, "neither an IP address nor a host name" },
    { "host.test/path", 7946, "neither an IP address nor a host name" },
    { "\xff\xfe:80", 7946, "UTF-8" },
    { "srv+", 7946, "empty SRV name" },
    { "srv+_gossip._tcp.test:80", 7946, "takes no port" },
    { "srv+-x.test", 7946, "SRV name" },
    { "srv+a..b", 7946, "SRV name" },
    { "ws://", 7946, "empty host" },
    { "ws://:80/x", 7946, "empty host" },
    { "ws://user:secret@host.test/", 7946, "user name" },
    { "ws://host.test/#frag", 7946, "fragment" },
    { "ws://host.test:0/", 7946, "1 to 65535" },
    { "ws://host.test:70000/", 7946, "not a valid URL" },
    { "ws://bad!host/", 7946, "neither an IP address nor a host name" },
    { "wss://[::1/x", 7946, "not a valid URL" },
    { "1ws://host.test/", 7946, "URL scheme" },
    { "://host.test", 7946, "URL scheme" },
    { "w s://host.test", 7946, "space" },
  };
  g_autofree char *label64 = g_strnfill (64, 'a');
  g_autofree char *long_label = g_strdup_printf ("%s.test:80", label64);
  g_autofree char *name254 = NULL;
  g_autofree char *huge = g_strnfill (GOSSIP_ADDRESS_MAX_LENGTH + 1, 'a');
  g_autoptr (GString) name = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_bad (cases[i].text, cases[i].default_port, cases[i].why);
  check_bad (long_label, 7946, "longer than 63");
  for (guint i = 0; i < 3; i++)
    g_string_append_printf (name, "%.63s.", label64);
  g_string_append_printf (name, "%.62s", label64);
  g_assert_cmpuint (name->len, ==, 254);
  check_bad (name->str, 7946, "longer than 253");
  name254 = g_strconcat ("srv+", name->str, NULL);
  check_bad (name254, 7946, "longer than 253");
  check_bad (huge, 7946, "longer than 2048");
}

/* ------------------------------------------------------------------------ */
/* Resolution through the fake */

typedef struct
{
  GAsyncResult *result;
} Wait;

static void
wait_done (GObject *source, GAsyncResult *result, gpointer data)
{
  ((Wait *) data)->result = g_object_ref (result);
}

static gboolean
wake (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* Iterates the thread-default context until *@flag is set; 10 s at most. */
static void
iterate_until (gpointer *flag)
{
  gint64 deadline = g_get_monotonic_time () + 10 * SEC;

  while (*flag == NULL && g_get_monotonic_time () < deadline)
    {
      GSource *tick = g_timeout_source_new (20);
      g_source_set_callback (tick, wake, NULL, NULL);
      g_source_attach (tick, g_main_context_get_thread_default ());
      g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
      g_source_destroy (tick);
      g_source_unref (tick);
    }
  g_assert_nonnull (*flag);
}

static char **
resolve (FakeResolver *fake, const char *text, guint16 default_port, GCancellable *cancellable,
         GError **error)
{
  Wait w = { 0 };
  char **result;

  gossip_address_resolve_async (text, default_port, fake ? G_RESOLVER (fake) : NULL, cancellable,
                                wait_done, &w);
  iterate_until ((gpointer *) &w.result);
  result = gossip_address_resolve_finish (w.result, error);
  g_object_unref (w.result);
  return result;
}

static void
assert_strv (char **got, ...)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) want = NULL;
  g_autofree char *got_text = NULL;
  g_autofree char *want_text = NULL;
  const char *s;
  va_list args;

  va_start (args, got);
  while ((s = va_arg (args, const char *)) != NULL)
    g_strv_builder_add (builder, s);
  va_end (args);
  want = g_strv_builder_end (builder);
  g_assert_nonnull (got);
  got_text = g_strjoinv (" ", got);
  want_text = g_strjoinv (" ", want);
  g_assert_cmpstr (got_text, ==, want_text);
}

/* Resolving @text fails with @code; the message holds every string that
 * follows, up to NULL. */
static void
expect_failure (FakeResolver *fake, const char *text, guint16 default_port, GossipAddressError code,
                ...)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) got = resolve (fake, text, default_port, NULL, &error);
  const char *part;
  va_list args;

  g_assert_null (got);
  g_assert_error (error, GOSSIP_ADDRESS_ERROR, (gint) code);
  va_start (args, code);
  while ((part = va_arg (args, const char *)) != NULL)
    if (strstr (error->message, part) == NULL)
      g_error ("\"%s\": message \"%s\" lacks \"%s\"", text, error->message, part);
  va_end (args);
}

static FakeResolver *
example_zone (void)
{
  FakeResolver *fake = fake_new ();

  fake_add_host (fake, "a.test", "192.0.2.1", NULL);
  fake_add_host (fake, "v6.test", "2001:db8::1", NULL);
  fake_add_host (fake, "multi.test", "192.0.2.10", "2001:db8::10", "192.0.2.11", "192.0.2.10",
                 NULL);
  fake_add_host (fake, "b.test", "192.0.2.2", "192.0.2.3", NULL);
  fake_add_host (fake, "c.test", "2001:db8::c", NULL);
  /* Priority 10 before 20; within 10, weight 50 before 5; the order of
   * equal records is kept. */
  fake_add_srv (fake, "_gossip._tcp.test", 20, 0, 7003, "c.test");
  fake_add_srv (fake, "_gossip._tcp.test", 10, 5, 7002, "a.test");
  fake_add_srv (fake, "_gossip._tcp.test", 10, 50, 7001, "b.test");
  fake_add_srv (fake, "_half._tcp.test", 10, 0, 7001, "gone.test");
  fake_add_srv (fake, "_half._tcp.test", 20, 0, 7002, "a.test");
  fake_add_srv (fake, "_dead._tcp.test", 10, 0, 7001, "gone.test");
  fake_add_srv (fake, "_dead._tcp.test", 10, 0, 7002, "lost.test");
  fake_add_srv (fake, "_none._tcp.test", 0, 0, 0, ".");
  fake_add_srv (fake, "_junk._tcp.test", 0, 0, 7000, "bad..name");
  return fake;
}

static void
test_resolve_a_and_aaaa (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) a = resolve (fake, "a.test:8000", 7946, NULL, &error);
  g_auto (GStrv) v6 = NULL;
  g_auto (GStrv) defaulted = NULL;

  g_assert_no_error (error);
  assert_strv (a, "192.0.2.1:8000", NULL);
  v6 = resolve (fake, "V6.test", 7946, NULL, &error);
  g_assert_no_error (error);
  assert_strv (v6, "[2001:db8::1]:7946", NULL);
  defaulted = resolve (fake, "a.test.", 1234, NULL, &error);
  g_assert_no_error (error);
  assert_strv (defaulted, "192.0.2.1:1234", NULL);
  g_assert_cmpuint (fake->asked->len, ==, 3);
  g_assert_cmpstr (fake->asked->pdata[1], ==, "v6.test");
}

static void
test_resolve_name_with_several_addresses (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) got = resolve (fake, "multi.test:9000", 7946, NULL, &error);

  g_assert_no_error (error);
  /* In the resolver's order, each once. */
  assert_strv (got, "192.0.2.10:9000", "[2001:db8::10]:9000", "192.0.2.11:9000", NULL);
}

static void
test_resolve_caps_a_huge_answer (void)
{
  g_autoptr (FakeResolver) fake = fake_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto (GStrv) got = NULL;

  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *ip = g_strdup_printf ("10.0.%u.%u", i / 100, i % 100);
      g_ptr_array_add (list, g_inet_address_new_from_string (ip));
    }
  g_hash_table_replace (fake->hosts, g_strdup ("big.test"), g_ptr_array_ref (list));
  for (guint i = 0; i < 100; i++)
    fake_add_srv (fake, "_big._tcp.test", 0, 0, (guint16) (1000 + i), "big.test");
  got = resolve (fake, "big.test", 80, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (got), ==, GOSSIP_ADDRESS_MAX_RESULTS);
  g_assert_cmpstr (got[0], ==, "10.0.0.0:80");
  g_clear_pointer (&got, g_strfreev);
  /* 100 targets: only the first 64 are even looked up. */
  g_ptr_array_set_size (fake->asked, 0);
  got = resolve (fake, "srv+_big._tcp.test", 80, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (got), ==, GOSSIP_ADDRESS_MAX_RESULTS);
  g_assert_cmpuint (fake->asked->len, ==, 1 + GOSSIP_ADDRESS_MAX_RESULTS);
}

static void
test_resolve_srv_orders_by_priority_then_weight (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) got = resolve (fake, "srv+_gossip._tcp.test", 7946, NULL, &error);

  g_assert_no_error (error);
  assert_strv (got, "192.0.2.2:7001", "192.0.2.3:7001", "192.0.2.1:7002", "[2001:db8::c]:7003",
               NULL);
  g_assert_cmpstr (fake->asked->pdata[0], ==, "SRV _gossip._tcp.test");
  g_assert_cmpuint (fake->asked->len, ==, 4);
}

static void
test_resolve_nxdomain_names_the_input (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();

  expect_failure (fake, "missing.test:80", 7946, GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED,
                  "cannot resolve \"missing.test:80\": ", NULL);
  expect_failure (fake, "srv+_nothing._tcp.test", 7946, GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED,
                  "cannot resolve \"srv+_nothing._tcp.test\": ", NULL);
}

static void
test_resolve_srv_skips_targets_that_do_not_resolve (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) got = resolve (fake, "srv+_half._tcp.test", 7946, NULL, &error);

  g_assert_no_error (error);
  assert_strv (got, "192.0.2.1:7002", NULL);
  /* When none resolves, the error names the input and each target. */
  expect_failure (fake, "srv+_dead._tcp.test", 7946, GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED,
                  "\"srv+_dead._tcp.test\"", "gone.test", "lost.test", NULL);
}

static void
test_resolve_srv_without_usable_targets (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();

  expect_failure (fake, "srv+_none._tcp.test", 7946, GOSSIP_ADDRESS_ERROR_NO_ADDRESSES,
                  "\"srv+_none._tcp.test\"", NULL);
  expect_failure (fake, "srv+_junk._tcp.test", 7946, GOSSIP_ADDRESS_ERROR_NO_ADDRESSES,
                  "\"srv+_junk._tcp.test\"", "invalid", NULL);
}

static void
test_resolve_empty_answer (void)
{
  g_autoptr (FakeResolver) fake = fake_new ();

  fake_add_host (fake, "empty.test", NULL);
  expect_failure (fake, "empty.test", 80, GOSSIP_ADDRESS_ERROR_NO_ADDRESSES, "\"empty.test\"",
                  NULL);
}

static void
test_resolve_literals_need_no_lookup (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();
  g_autoptr (GError) error = NULL;
  const char *const same[]
      = { "ws://Host.test:81/x", "wss://h.test/y?z=1", "mem://net/node-000", NULL };

  for (guint i = 0; same[i] != NULL; i++)
    {
      g_auto (GStrv) got = resolve (fake, same[i], 7946, NULL, &error);
      g_assert_no_error (error);
      assert_strv (got, same[i], NULL);
    }
  {
    g_auto (GStrv) v4 = resolve (fake, "192.0.2.9", 7946, NULL, &error);
    g_auto (GStrv) v6 = resolve (fake, "2001:DB8::9", 7946, NULL, &error);
    g_assert_no_error (error);
    assert_strv (v4, "192.0.2.9:7946", NULL);
    assert_strv (v6, "[2001:db8::9]:7946", NULL);
  }
  g_assert_cmpuint (fake->asked->len, ==, 0);
}

static void
test_resolve_refuses_malformed_input (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();

  expect_failure (fake, "[::1:80", 7946, GOSSIP_ADDRESS_ERROR_INVALID,
                  "bad address \"[::1:80\": missing \"]\"", NULL);
  g_assert_cmpuint (fake->asked->len, ==, 0);
}

static gboolean
cancel_soon (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_resolve_can_be_cancelled (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();
  const char *const inputs[] = { "a.test:80", "srv+_gossip._tcp.test", NULL };

  fake->hang = TRUE;
  for (guint i = 0; inputs[i] != NULL; i++)
    {
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) got = NULL;

      g_idle_add (cancel_soon, cancellable);
      got = resolve (fake, inputs[i], 7946, cancellable, &error);
      g_assert_null (got);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    }
  /* An SRV lookup that already has targets stops there too. */
  fake->hang = FALSE;
  {
    g_autoptr (GCancellable) cancellable = g_cancellable_new ();
    g_autoptr (GError) error = NULL;
    g_auto (GStrv) got = NULL;

    g_cancellable_cancel (cancellable);
    got = resolve (fake, "srv+_gossip._tcp.test", 7946, cancellable, &error);
    g_assert_null (got);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }
}

static void
test_resolve_sync_and_default_resolver (void)
{
  g_autoptr (FakeResolver) fake = example_zone ();
  GResolver *previous = fake_install (fake);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) sync = gossip_address_resolve ("srv+_half._tcp.test", 7946, NULL, NULL, &error);
  g_auto (GStrv) missing = NULL;

  g_assert_no_error (error);
  assert_strv (sync, "192.0.2.1:7002", NULL);
  missing = gossip_address_resolve ("missing.test", 7946, G_RESOLVER (fake), NULL, &error);
  g_assert_null (missing);
  g_assert_error (error, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED);
  g_assert_nonnull (strstr (error->message, "\"missing.test\""));
  g_clear_error (&error);
  {
    /* NULL means the default resolver, which is the fake now. */
    g_auto (GStrv) async = resolve (NULL, "multi.test:1", 7946, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_strv_length (async), ==, 3);
  }
  /* SRV + 2 targets, missing.test, multi.test */
  g_assert_cmpuint (fake->asked->len, ==, 5);
  fake_uninstall (previous);
}

/* ------------------------------------------------------------------------ */
/* Clusters on loopback sockets, names from the fake */

#define FAST                                                                                       \
  "health", "profile", "local", "health", "probe_interval", "300ms", "health", "probe_timeout",    \
      "100ms", "gossip", "interval", "50ms", "health", "reconnect_interval", "500ms"

static const char *const fast[] = { FAST, NULL };

static guint16
port_of (const char *address)
{
  g_autoptr (GossipAddress) a = gossip_address_parse (address, 0, NULL);

  g_assert_nonnull (a);
  return gossip_address_get_port (a);
}

/* Each node i is "n<i>.cluster.test" (127.0.0.1) and a target of
 * "_gossip._tcp.cluster.test" with its port. */
static void
publish_nodes (FakeResolver *fake, Harness *h)
{
  for (guint i = 0; i < h->nodes->len; i++)
    if (harness_node (h, i) != NULL)
      {
        g_autofree char *name = g_strdup_printf ("n%u.cluster.test", i);
        fake_add_host (fake, name, "127.0.0.1", NULL);
        fake_add_srv (fake, "_gossip._tcp.cluster.test", 10, 0, port_of (harness_address (h, i)),
                      name);
      }
}

static void
test_join_through_srv_reaches_every_node (void)
{
  g_autoptr (FakeResolver) fake = fake_new ();
  GResolver *previous = fake_install (fake);
  g_autoptr (Harness) h = harness_new (4, FALSE, fast);
  g_autoptr (GError) error = NULL;
  const char *via[] = { "srv+_gossip._tcp.cluster.test", NULL };

  /* The joiner (node 3) is a target too: it skips itself. */
  publish_nodes (fake, h);
  g_assert_cmpuint (harness_join (h, 3, via, &error), ==, 3);
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (harness_state_of (h, 3, i), ==, GOSSIP_NODE_STATE_ALIVE);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (4), 10 * SEC))
    {
      harness_dump (h);
      g_test_fail_printf ("4 nodes joined through an SRV name did not converge in 10 s");
    }
  g_assert_cmpstr (fake->asked->pdata[0], ==, "SRV _gossip._tcp.cluster.test");
  fake_uninstall (previous);
}

static gboolean
have_ipv6_loopback (void)
{
  g_autoptr (GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);

  return socket != NULL && g_socket_bind (socket, address, FALSE, NULL);
}

static void
test_join_through_a_name_with_several_addresses (void)
{
  /* Reliable path only, so IPv4 and IPv6 nodes can reach each other. */
  const char *const settings[] = { FAST, "transport", "datagrams", "false", NULL };
  g_autoptr (FakeResolver) fake = NULL;
  g_autoptr (Harness) h = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *port = NULL;
  g_autofree char *bind6 = NULL;
  GResolver *previous;
  const char *via[] = { "pair.cluster.test", NULL };

  if (!have_ipv6_loopback ())
    {
      g_test_skip ("no IPv6 loopback on this host");
      return;
    }
  fake = fake_new ();
  previous = fake_install (fake);
  /* Node 0 on 127.0.0.1:P, node 1 on [::1]:P: one name, two nodes. */
  h = harness_new (1, FALSE, settings);
  port = g_strdup_printf ("%u", port_of (harness_address (h, 0)));
  bind6 = g_strdup_printf ("[::1]:%s", port);
  g_ptr_array_set_size (h->nodes, 3);
  {
    const char *extra[] = { "cluster", "bind_address", bind6, NULL };
    harness_start_node (h, 1, extra);
  }
  {
    const char *extra[] = { "cluster", "default_port", port, NULL };
    harness_start_node (h, 2, extra);
  }
  fake_add_host (fake, "pair.cluster.test", "127.0.0.1", "::1", NULL);
  g_assert_cmpuint (harness_join (h, 2, via, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpint (harness_state_of (h, 2, 0), ==, GOSSIP_NODE_STATE_ALIVE);
  g_assert_cmpint (harness_state_of (h, 2, 1), ==, GOSSIP_NODE_STATE_ALIVE);
  if (!harness_run_until (h, harness_converged, GUINT_TO_POINTER (3), 10 * SEC))
    {
      harness_dump (h);
      g_test_fail_printf ("3 nodes joined through one name did not converge in 10 s");
    }
  g_clear_pointer (&h, harness_free);
  fake_uninstall (previous);
}

static void
test_join_names_the_address_that_did_not_resolve (void)
{
  g_autoptr (FakeResolver) fake = fake_new ();
  GResolver *previous = fake_install (fake);
  g_autoptr (Harness) h = harness_new (2, FALSE, fast);
  g_autoptr (GError) error = NULL;
  const char *nowhere[] = { "nowhere.cluster.test:7946", "srv+_none._tcp.cluster.test", NULL };
  const char *mixed[] = { "nowhere.cluster.test", harness_address (h, 0), "[::1:80", NULL };

  g_assert_cmpuint (harness_join (h, 1, nowhere, &error), ==, 0);
  g_assert_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_JOIN_FAILED);
  g_assert_nonnull (strstr (error->message, "nowhere.cluster.test:7946"));
  g_assert_nonnull (strstr (error->message, "srv+_none._tcp.cluster.test"));
  g_clear_error (&error);
  /* One good address among bad ones is a join. */
  g_assert_cmpuint (harness_join (h, 1, mixed, &error), ==, 1);
  g_assert_no_error (error);
  fake_uninstall (previous);
}

static void
test_join_cancelled_while_resolving (void)
{
  g_autoptr (FakeResolver) fake = fake_new ();
  GResolver *previous = fake_install (fake);
  g_autoptr (Harness) h = harness_new (1, FALSE, fast);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  const char *via[] = { "slow.cluster.test", "srv+_slow._tcp.cluster.test", NULL };

  /* The fake never answers: only the cancellation ends this join. */
  fake->hang = TRUE;
  g_timeout_add (100, cancel_soon, cancellable);
  g_assert_cmpuint (harness_join_cancellable (h, 0, via, cancellable, &error), ==, 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (fake->asked->len, ==, 2); /* both looked up at once */
  fake_uninstall (previous);
}

static void
test_advertise_address_may_be_a_name_or_srv (void)
{
  g_autoptr (FakeResolver) fake = fake_new ();
  GResolver *previous = fake_install (fake);
  g_autoptr (Harness) h = harness_new (3, FALSE, fast);
  g_autofree char *expected = NULL;
  g_autofree char *own = NULL;

  publish_nodes (fake, h);
  fake_add_host (fake, "me.cluster.test", "127.0.0.1", NULL);
  /* A name without a port takes the bound port. */
  {
    const char *extra[] = { "cluster", "advertise_address", "me.cluster.test", NULL };
    g_ptr_array_set_size (h->nodes, 4);
    harness_start_node (h, 3, extra);
  }
  own = g_strdup_printf ("127.0.0.1:%u", port_of (harness_address (h, 3)));
  g_assert_cmpstr (harness_address (h, 3), ==, own);
  /* srv+ picks the target that is this node: node 2 comes back on its old
   * port, and of the three targets (all 127.0.0.1) only one has that port. */
  expected = g_strdup (harness_address (h, 2));
  harness_crash (h, 2);
  {
    const char *extra[] = { "cluster", "bind_address",      expected,
                            "cluster", "advertise_address", "srv+_gossip._tcp.cluster.test",
                            NULL };
    harness_start_node (h, 2, extra);
  }
  g_assert_cmpstr (harness_address (h, 2), ==, expected);
  harness_join_all_to (h, 0);
  g_assert_true (harness_run_until (h, harness_converged, GUINT_TO_POINTER (4), 10 * SEC));
  g_clear_pointer (&h, harness_free);
  fake_uninstall (previous);
}

static void
test_unresolvable_advertise_address_fails_start (void)
{
  g_autoptr (FakeResolver) fake = fake_new ();
  GResolver *previous = fake_install (fake);
  g_autoptr (GossipConfig) config = gossip_config_new ();
  g_autoptr (GossipCluster) cluster = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (gossip_config_set_value (config, "cluster", "bind_address", "127.0.0.1:0", NULL));
  g_assert_true (
      gossip_config_set_value (config, "cluster", "advertise_address", "gone.cluster.test", NULL));
  cluster = gossip_cluster_new (config, &error);
  g_assert_no_error (error);
  g_assert_false (gossip_cluster_start (cluster, &error));
  g_assert_error (error, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_RESOLVE_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "[cluster] advertise_address: "));
  g_assert_nonnull (strstr (error->message, "\"gone.cluster.test\""));
  g_assert_false (gossip_cluster_is_running (cluster));
  g_clear_error (&error);
  /* A malformed one is refused the same way. */
  g_assert_true (gossip_config_set_value (config, "cluster", "advertise_address", "[::1:80", NULL));
  g_clear_object (&cluster);
  cluster = gossip_cluster_new (config, &error);
  g_assert_false (gossip_cluster_start (cluster, &error));
  g_assert_error (error, GOSSIP_ADDRESS_ERROR, GOSSIP_ADDRESS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "[::1:80"));
  g_clear_error (&error);
  /* An IP without a port takes the bound one, without a lookup. */
  g_assert_true (
      gossip_config_set_value (config, "cluster", "advertise_address", "127.0.0.1", NULL));
  g_clear_object (&cluster);
  cluster = gossip_cluster_new (config, &error);
  g_assert_true (gossip_cluster_start (cluster, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (gossip_cluster_get_advertise_address (cluster), "127.0.0.1:"));
  g_assert_cmpuint (port_of (gossip_cluster_get_advertise_address (cluster)), >, 0);
  gossip_cluster_stop (cluster);
  g_assert_cmpuint (fake->asked->len, ==, 1);
  fake_uninstall (previous);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/address/parse/every-form", test_parse_every_form);
  g_test_add_func ("/address/parse/length-limits", test_parse_length_limits);
  g_test_add_func ("/address/parse/refuses-every-malformed-form",
                   test_parse_refuses_every_malformed_form);
  g_test_add_func ("/address/resolve/a-and-aaaa", test_resolve_a_and_aaaa);
  g_test_add_func ("/address/resolve/name-with-several-addresses",
                   test_resolve_name_with_several_addresses);
  g_test_add_func ("/address/resolve/caps-a-huge-answer", test_resolve_caps_a_huge_answer);
  g_test_add_func ("/address/resolve/srv-orders-by-priority-then-weight",
                   test_resolve_srv_orders_by_priority_then_weight);
  g_test_add_func ("/address/resolve/nxdomain-names-the-input",
                   test_resolve_nxdomain_names_the_input);
  g_test_add_func ("/address/resolve/srv-skips-targets-that-do-not-resolve",
                   test_resolve_srv_skips_targets_that_do_not_resolve);
  g_test_add_func ("/address/resolve/srv-without-usable-targets",
                   test_resolve_srv_without_usable_targets);
  g_test_add_func ("/address/resolve/empty-answer", test_resolve_empty_answer);
  g_test_add_func ("/address/resolve/literals-need-no-lookup",
                   test_resolve_literals_need_no_lookup);
  g_test_add_func ("/address/resolve/refuses-malformed-input",
                   test_resolve_refuses_malformed_input);
  g_test_add_func ("/address/resolve/can-be-cancelled", test_resolve_can_be_cancelled);
  g_test_add_func ("/address/resolve/sync-and-default-resolver",
                   test_resolve_sync_and_default_resolver);
  g_test_add_func ("/address/cluster/join-through-srv-reaches-every-node",
                   test_join_through_srv_reaches_every_node);
  g_test_add_func ("/address/cluster/join-through-a-name-with-several-addresses",
                   test_join_through_a_name_with_several_addresses);
  g_test_add_func ("/address/cluster/join-names-the-address-that-did-not-resolve",
                   test_join_names_the_address_that_did_not_resolve);
  g_test_add_func ("/address/cluster/join-cancelled-while-resolving",
                   test_join_cancelled_while_resolving);
  g_test_add_func ("/address/cluster/advertise-address-may-be-a-name-or-srv",
                   test_advertise_address_may_be_a_name_or_srv);
  g_test_add_func ("/address/cluster/unresolvable-advertise-address-fails-start",
                   test_unresolvable_advertise_address_fails_start);
  return g_test_run ();
}
