/* gossip-stream: a node-to-node stream that echoes.
 *
 * `stream NODE MESSAGE` opens a stream to NODE with
 * gossip_cluster_open_stream_async (), writes MESSAGE and closes its output
 * (the peer's reads then end).  NODE's handler, registered with
 * gossip_cluster_handle_stream (), reads to the end, prints
 * "stream from OPENER: MESSAGE", writes it back and closes.  The opener reads
 * the echo to its end and prints "echo from NODE: MESSAGE".
 *
 * A stream is a GIOStream: both sides use the plain GInputStream and
 * GOutputStream calls, asynchronously on the main loop.  Each side keeps at
 * most MAX_MESSAGE bytes and aborts the stream when the peer sends more.
 */
#include "config.h"

#include <string.h>

#include "example-common.h"

#define TYPE_ECHO   (GOSSIP_MESSAGE_TYPE_USER + 1)
#define MAX_MESSAGE (64 * 1024)

typedef struct
{
  Example *ex;
  GIOStream *stream;
  char *peer;       /* the other node's ID */
  gboolean opener;  /* this node opened the stream */
  GByteArray *data; /* the opener: what it sends; the other: what it got */
  GByteArray *echo; /* the opener: what came back */
  guint8 buffer[4096];
} Echo;

static void
echo_free (Echo *e)
{
  g_clear_object (&e->stream);
  g_free (e->peer);
  g_byte_array_unref (e->data);
  g_byte_array_unref (e->echo);
  g_free (e);
}

static Echo *
echo_new (Example *ex, const char *peer, gboolean opener)
{
  Echo *e = g_new0 (Echo, 1);

  e->ex = ex;
  e->peer = g_strdup (peer);
  e->opener = opener;
  e->data = g_byte_array_new ();
  e->echo = g_byte_array_new ();
  return e;
}

static void
echo_fail (Echo *e, const char *message)
{
  example_print (e->ex, "error: stream %s %s: %s", e->opener ? "to" : "from", e->peer, message);
  if (e->stream != NULL)
    gossip_stream_abort (e->stream, message);
  echo_free (e);
}

static void
on_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  echo_free (data);
}

static void read_more (Echo *e);

/* Output closed: the opener now waits for the echo; the other side is done. */
static void
on_output_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  Echo *e = data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    echo_fail (e, error->message);
  else if (e->opener)
    read_more (e);
  else
    g_io_stream_close_async (e->stream, G_PRIORITY_DEFAULT, NULL, on_closed, e);
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer data)
{
  Echo *e = data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    echo_fail (e, error->message);
  else
    g_output_stream_close_async (G_OUTPUT_STREAM (source), G_PRIORITY_DEFAULT, NULL,
                                 on_output_closed, e);
}

/* Writes e->data, then closes the output. */
static void
write_and_close (Echo *e)
{
  g_output_stream_write_all_async (g_io_stream_get_output_stream (e->stream), e->data->data,
                                   e->data->len, G_PRIORITY_DEFAULT, NULL, on_written, e);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Echo *e = data;
  g_autoptr (GError) error = NULL;
  GByteArray *into = e->opener ? e->echo : e->data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  g_autofree char *text = NULL;

  if (n < 0)
    {
      echo_fail (e, error->message);
      return;
    }
  if (n > 0)
    {
      if (into->len + (gsize) n > MAX_MESSAGE)
        {
          echo_fail (e, "message too long");
          return;
        }
      g_byte_array_append (into, e->buffer, (guint) n);
      read_more (e);
      return;
    }

  /* The peer closed its output: the message is complete. */
  text = g_utf8_make_valid ((const char *) into->data, into->len);
  if (e->opener)
    {
      example_print (e->ex, "echo from %s: %s", e->peer, text);
      g_io_stream_close_async (e->stream, G_PRIORITY_DEFAULT, NULL, on_closed, e);
    }
  else
    {
      example_print (e->ex, "stream from %s: %s", e->peer, text);
      write_and_close (e);
    }
}

static void
read_more (Echo *e)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (e->stream), e->buffer, sizeof e->buffer,
                             G_PRIORITY_DEFAULT, NULL, on_read, e);
}

/* The node that is asked: accept, read to the end, echo. */
static gboolean
on_stream (GossipCluster *cluster, GossipNode *sender, guint type, GVariant *payload,
           GIOStream *stream, gpointer data, GError **error)
{
  Echo *e = echo_new (data, gossip_node_get_id (sender), FALSE);

  e->stream = g_object_ref (stream);
  read_more (e);
  return TRUE;
}

/* The node that asks: open, write, close the output, read the echo. */
static void
on_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  Echo *e = data;
  g_autoptr (GError) error = NULL;

  e->stream = gossip_cluster_open_stream_finish (GOSSIP_CLUSTER (source), result, &error);
  if (e->stream == NULL)
    echo_fail (e, error->message);
  else
    write_and_close (e);
}

static void
cmd_stream (Example *ex, char **args, gpointer data)
{
  GossipNode *node = example_find_node (ex, args[0]);
  Echo *e;

  if (node == NULL)
    return;
  e = echo_new (ex, args[0], TRUE);
  g_byte_array_append (e->data, (const guint8 *) args[1], (guint) strlen (args[1]));
  gossip_cluster_open_stream_async (example_get_cluster (ex), node, TYPE_ECHO, NULL, NULL,
                                    on_opened, e);
}

int
main (int argc, char **argv)
{
  g_autoptr (Example) ex = example_new ("- streams between nodes", &argc, &argv);
  g_autoptr (GError) error = NULL;

  if (ex == NULL)
    return 2;
  if (!gossip_cluster_handle_stream (example_get_cluster (ex), TYPE_ECHO, on_stream, ex, NULL,
                                     &error))
    {
      g_printerr ("error: %s\n", error->message);
      return 1;
    }
  example_add_command (ex, "stream", "NODE MESSAGE",
                       "send MESSAGE over a stream to NODE, which echoes it", cmd_stream, NULL);
  return example_run (ex);
}
