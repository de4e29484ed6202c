/* bench-stream.c: node-to-node stream throughput and per-message latency.
 *
 * Two nodes in one process, on one main loop (so one core does both ends'
 * work: sealing, opening, both kernels' copies), over loopback.  For each
 * transport and cipher asked for:
 *
 *   throughput: the opener writes --size MiB in 1 MiB writes; the
 *     acceptor reads and discards.  MiB/s from the first write to the last
 *     byte read.
 *   latency: --messages round trips of a 100-byte typed message
 *     (gossip_stream_write_message_async) that the acceptor echoes; the
 *     p50 / p99 / max of each round trip.
 *
 * Usage: bench-stream [--transport socket,websocket-wslay,websocket-wslay-wss,...]
 *                     [--cipher none,aes-gcm]
 *                     [--size MiB] [--messages N] [--extra GROUP.KEY=VALUE ...]
 * Prints one JSON object per combination on stdout, and the same figures
 * as a sentence on stderr.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gossip/gossip.h"
#include "tls-test-certs.h"

#define SEC        G_GINT64_CONSTANT (1000000)
#define KEY_A      "c2VjcmV0LWtleS0xMjM0NTY3ODkwYWJjZGVmZ2hpams="
#define BENCH_TYPE 400
#define CHUNK      (1 << 20)

typedef struct
{
  GIOStream *stream; /* the acceptor's */
  guint8 *buffer;
  guint64 received;
  gboolean echo_messages;
  GError *error;
} Sink;

static void sink_read (Sink *s);

static void
sink_got (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Sink *s = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &s->error);

  if (n <= 0)
    return;
  s->received += (guint64) n;
  sink_read (s);
}

static void
sink_read (Sink *s)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (s->stream), s->buffer, CHUNK,
                             G_PRIORITY_DEFAULT, NULL, sink_got, s);
}

static void echo_next (Sink *s);

static void
echo_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Sink *s = user_data;

  if (gossip_stream_write_message_finish (G_IO_STREAM (source), result, &s->error))
    echo_next (s);
}

static void
echo_got (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Sink *s = user_data;
  guint type = 0;
  GVariant *message
      = gossip_stream_read_message_finish (G_IO_STREAM (source), result, &type, &s->error);

  if (message == NULL)
    return;
  gossip_stream_write_message_async (s->stream, type, message, NULL, echo_written, s);
  g_variant_unref (message);
}

static void
echo_next (Sink *s)
{
  gossip_stream_read_message_async (s->stream, NULL, echo_got, s);
}

static gboolean
on_stream (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
           GIOStream *stream, gpointer user_data, GError **error)
{
  Sink *s = user_data;

  g_clear_object (&s->stream);
  s->stream = g_object_ref (stream);
  s->received = 0;
  s->echo_messages = payload != NULL && g_variant_is_of_type (payload, G_VARIANT_TYPE_BOOLEAN)
                     && g_variant_get_boolean (payload);
  if (s->echo_messages)
    echo_next (s);
  else
    sink_read (s);
  return TRUE;
}

/* ------------------------------------------------------------------------ */

static char *certs_dir; /* for "-wss" variants */

/* @variant: a transport plugin's name, "-wss" appended for WebSocket over
 * TLS with certificates made for the run. */
static GossipCluster *
node_new (const char *variant, const char *cipher, char **extra, guint index, GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GossipConfig) config = NULL;
  gboolean ws = g_str_has_prefix (variant, "websocket");
  gboolean tls = g_str_has_suffix (variant, "-wss");
  g_autofree char *transport = tls ? g_strndup (variant, strlen (variant) - 4) : g_strdup (variant);

  g_string_append_printf (text,
                          "[cluster]\nnode_id=bench%u\nbind_address=127.0.0.1:0\n"
                          "[plugins]\ntransport=%s\n",
                          index, transport);
  if (g_strcmp0 (cipher, "none") != 0)
    g_string_append_printf (text, "cipher=%s\n[security]\nkey=%s\n", cipher, KEY_A);
  if (tls)
    {
      if (certs_dir == NULL)
        {
          certs_dir = g_dir_make_tmp ("gossip-bench-certs-XXXXXX", error);
          if (certs_dir == NULL || !gossip_test_certs_generate (certs_dir, error))
            return NULL;
        }
      g_string_append_printf (text,
                              "[websocket]\ntls_cert_file=%s/server-cert.pem\n"
                              "tls_key_file=%s/server-key.pem\ntls_ca_file=%s/ca.pem\n",
                              certs_dir, certs_dir, certs_dir);
    }
  else if (ws)
    g_string_append (text, "[websocket]\nallow_insecure=true\n");
  config = gossip_config_new_from_data (text->str, -1, error);
  if (config == NULL)
    return NULL;
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    {
      g_auto (GStrv) kv = g_strsplit (extra[i], "=", 2);
      g_auto (GStrv) gk = g_strsplit (kv[0], ".", 2);

      if (kv[1] == NULL || gk[1] == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "--extra %s: expected GROUP.KEY=VALUE", extra[i]);
          return NULL;
        }
      if (!gossip_config_set_value (config, gk[0], gk[1], kv[1], error))
        return NULL;
    }
  return gossip_cluster_new (config, error);
}

typedef struct
{
  gboolean done;
  guint joined;
  GIOStream *stream;
  GError *error;
} Wait;

static void
on_joined (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->joined = gossip_cluster_join_finish (GOSSIP_CLUSTER (source), result, &w->error);
  w->done = TRUE;
}

static void
on_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->stream = gossip_cluster_open_stream_finish (GOSSIP_CLUSTER (source), result, &w->error);
  w->done = TRUE;
}

static gboolean
run_until (gboolean *flag, gint64 max_us)
{
  gint64 deadline = g_get_monotonic_time () + max_us;

  while (!*flag && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  return *flag;
}

typedef struct
{
  GOutputStream *out;
  guint8 *data;
  guint64 total;
  guint64 sent;
  gboolean done;
  GError *error;
} Source;

static void source_write (Source *s);

static void
source_wrote (GObject *obj, GAsyncResult *result, gpointer user_data)
{
  Source *s = user_data;
  gssize n = g_output_stream_write_finish (G_OUTPUT_STREAM (obj), result, &s->error);

  if (n < 0)
    {
      s->done = TRUE;
      return;
    }
  s->sent += (guint64) n;
  source_write (s);
}

static void
source_write (Source *s)
{
  if (s->sent >= s->total)
    {
      s->done = TRUE;
      return;
    }
  g_output_stream_write_async (s->out, s->data, (gsize) MIN ((guint64) CHUNK, s->total - s->sent),
                               G_PRIORITY_DEFAULT, NULL, source_wrote, s);
}

static gboolean
all_received (Sink *sink, guint64 total, gint64 max_us)
{
  gint64 deadline = g_get_monotonic_time () + max_us;

  while (sink->received < total && sink->error == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  return sink->received == total;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

typedef struct
{
  gboolean done;
  GError *error;
  GVariant *message;
} Step;

static void
on_step_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Step *st = user_data;

  gossip_stream_write_message_finish (G_IO_STREAM (source), result, &st->error);
}

static void
on_step_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Step *st = user_data;

  st->message = gossip_stream_read_message_finish (G_IO_STREAM (source), result, NULL, &st->error);
  st->done = TRUE;
}

static gboolean
bench_one (const char *transport, const char *cipher, guint64 size_mib, guint messages,
           char **extra, GError **error)
{
  g_autoptr (GossipCluster) a = node_new (transport, cipher, extra, 0, error);
  g_autoptr (GossipCluster) b = a ? node_new (transport, cipher, extra, 1, error) : NULL;
  g_autoptr (GossipNode) target = NULL;
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GIOStream) echo_stream = NULL;
  g_autofree char *b_address = NULL;
  Sink sink = { 0 };
  Source src = { 0 };
  Wait w = { 0 };
  GArray *rtts;
  gint64 start, elapsed;
  double mibs;

  if (b == NULL || !gossip_cluster_start (a, error) || !gossip_cluster_start (b, error))
    return FALSE;
  sink.buffer = g_malloc (CHUNK);
  if (!gossip_cluster_handle_stream (b, BENCH_TYPE, on_stream, &sink, NULL, error))
    return FALSE;
  b_address = g_strdup (gossip_cluster_get_advertise_address (b));
  gossip_cluster_join_async (a, (const char *const[]){ b_address, NULL }, NULL, on_joined, &w);
  if (!run_until (&w.done, 30 * SEC) || w.error != NULL)
    {
      g_propagate_prefixed_error (error, w.error, "join: ");
      return FALSE;
    }
  target = gossip_cluster_get_node (a, "bench1");
  if (target == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "bench1 is not a member");
      return FALSE;
    }
  g_object_ref (target);

  /* Throughput */
  memset (&w, 0, sizeof w);
  gossip_cluster_open_stream_async (a, target, BENCH_TYPE, g_variant_new_boolean (FALSE), NULL,
                                    on_opened, &w);
  if (!run_until (&w.done, 30 * SEC) || w.error != NULL)
    {
      g_propagate_prefixed_error (error, w.error, "open: ");
      return FALSE;
    }
  stream = w.stream;
  src.out = g_io_stream_get_output_stream (stream);
  src.data = g_malloc (CHUNK);
  memset (src.data, 0x5a, CHUNK);
  for (gsize i = 0; i < CHUNK; i += 64)
    src.data[i] = (guint8) g_random_int ();
  src.total = size_mib << 20;
  start = g_get_monotonic_time ();
  source_write (&src);
  if (!all_received (&sink, src.total, 600 * SEC))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "throughput: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes arrived%s%s",
                   sink.received, src.total, sink.error ? ": " : "",
                   sink.error ? sink.error->message : "");
      return FALSE;
    }
  elapsed = g_get_monotonic_time () - start;
  mibs = (double) size_mib / ((double) elapsed / 1e6);
  g_io_stream_close (stream, NULL, NULL);

  /* Latency */
  memset (&w, 0, sizeof w);
  gossip_cluster_open_stream_async (a, target, BENCH_TYPE, g_variant_new_boolean (TRUE), NULL,
                                    on_opened, &w);
  if (!run_until (&w.done, 30 * SEC) || w.error != NULL)
    {
      g_propagate_prefixed_error (error, w.error, "open: ");
      return FALSE;
    }
  echo_stream = w.stream;
  rtts = g_array_sized_new (FALSE, FALSE, sizeof (gint64), messages);
  for (guint i = 0; i < messages; i++)
    {
      guint8 payload[100];
      Step st = { 0 };
      gint64 t0;

      memset (payload, (int) i, sizeof payload);
      t0 = g_get_monotonic_time ();
      gossip_stream_write_message_async (
          echo_stream, 1, g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, payload, 100, 1), NULL,
          on_step_written, &st);
      gossip_stream_read_message_async (echo_stream, NULL, on_step_read, &st);
      if (!run_until (&st.done, 10 * SEC) || st.message == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "latency: message %u: %s", i,
                       st.error ? st.error->message : "no echo");
          g_clear_error (&st.error);
          g_array_unref (rtts);
          return FALSE;
        }
      g_variant_unref (st.message);
      g_clear_error (&st.error);
      {
        gint64 rtt = g_get_monotonic_time () - t0;
        g_array_append_val (rtts, rtt);
      }
    }
  g_array_sort (rtts, compare_gint64);
  {
    gint64 p50 = g_array_index (rtts, gint64, messages / 2);
    gint64 p99 = g_array_index (rtts, gint64, (gsize) (messages * 0.99));
    gint64 max = g_array_index (rtts, gint64, messages - 1);

    g_printerr ("stream %s %s: %.0f MiB/s (%" G_GUINT64_FORMAT " MiB in %.2f s); message rtt "
                "p50 %" G_GINT64_FORMAT " us, p99 %" G_GINT64_FORMAT " us, max %" G_GINT64_FORMAT
                " us (%u x 100 B)\n",
                transport, cipher, mibs, size_mib, (double) elapsed / 1e6, p50, p99, max, messages);
    g_print ("{\"impl\":\"libgossip\",\"workload\":\"stream\",\"transport\":\"%s\","
             "\"cipher\":\"%s\",\"mib\":%" G_GUINT64_FORMAT ",\"seconds\":%.3f,"
             "\"mib_per_s\":%.1f,\"messages\":%u,\"rtt_p50_us\":%" G_GINT64_FORMAT
             ",\"rtt_p99_us\":%" G_GINT64_FORMAT ",\"rtt_max_us\":%" G_GINT64_FORMAT "}\n",
             transport, cipher, size_mib, (double) elapsed / 1e6, mibs, messages, p50, p99, max);
  }
  g_array_unref (rtts);
  g_io_stream_close (echo_stream, NULL, NULL);
  g_clear_object (&sink.stream);
  gossip_cluster_stop (a);
  gossip_cluster_stop (b);
  /* Let the reads still pending on this run's streams fail and finish
   * before the Sink they point at goes. */
  for (guint i = 0; i < 1000 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_clear_error (&sink.error);
  g_clear_error (&src.error);
  g_free (sink.buffer);
  g_free (src.data);
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *transports = NULL;
  g_autofree char *ciphers = NULL;
  g_auto (GStrv) extra = NULL;
  gint size_mib = 1024;
  gint messages = 10000;
  GOptionEntry entries[] = {
    { "transport", 0, 0, G_OPTION_ARG_STRING, &transports,
      "Comma-separated transports, -wss appended for WebSocket over TLS (default socket)", "LIST" },
    { "cipher", 0, 0, G_OPTION_ARG_STRING, &ciphers,
      "Comma-separated ciphers, none for plaintext (default none,aes-gcm)", "LIST" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size_mib, "MiB streamed per throughput run (1024)", "N" },
    { "messages", 0, 0, G_OPTION_ARG_INT, &messages, "Round trips for latency (10000)", "N" },
    { "extra", 0, 0, G_OPTION_ARG_STRING_ARRAY, &extra, "GROUP.KEY=VALUE for both nodes",
      "SETTING" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- stream benchmarks");
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) transport_list = NULL;
  g_auto (GStrv) cipher_list = NULL;
  int status = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (size_mib < 1 || messages < 1)
    {
      g_printerr ("--size and --messages must be at least 1\n");
      return 2;
    }
  transport_list = g_strsplit (transports ? transports : "socket", ",", -1);
  cipher_list = g_strsplit (ciphers ? ciphers : "none,aes-gcm", ",", -1);
  for (guint i = 0; transport_list[i] != NULL; i++)
    for (guint j = 0; cipher_list[j] != NULL; j++)
      if (!bench_one (transport_list[i], cipher_list[j], (guint64) size_mib, (guint) messages,
                      extra, &error))
        {
          g_printerr ("stream %s %s: %s\n", transport_list[i], cipher_list[j], error->message);
          g_clear_error (&error);
          status = 1;
        }
  if (certs_dir != NULL)
    gossip_test_certs_remove (certs_dir);
  g_free (certs_dir);
  return status;
}
