/* gossip-stream.c: node-to-node streams over transport channels.
 *
 * One stream per channel (gossip-transport.h).  Every frame on it goes
 * through the cluster's pipeline, so it is compressed and encrypted like
 * any other; the frame header's codec id tells the two kinds apart:
 *
 *  - control frames, encoded by the codec: STREAM_OPEN (the opener's first
 *    frame: type, payload, its receive window), STREAM_ANSWER (accepted
 *    with the acceptor's window, or refused with an error), STREAM_CREDIT
 *    (the reader consumed this many more bytes), STREAM_FIN (no more data
 *    from this side), STREAM_ABORT (ended, with a reason);
 *  - data frames (%GOSSIP_FRAME_CODEC_RAW): the application's bytes.
 *
 * Flow control is credit-based and the transport needs none of its own:
 * a writer starts with the reader's window and spends it on data; the
 * reader grants credit back as the application consumes.  So at most one
 * window of data is in flight or buffered per direction, whatever the
 * application does, and a peer that sends beyond its credit is cut off.
 *
 * The #GIOStream (GossipStream), its input and output streams and the
 * channel's callbacks share one reference-counted StreamCore.  The cluster
 * keeps a reference on every core whose channel is open; stopping the
 * cluster aborts them all.
 */
#include "config.h"

#include <string.h>

#include "gossip/gossip-stream.h"
#include "gossip-cluster-private.h"
#include "gossip-frame-private.h"

typedef enum
{
  STATE_OPENING,   /* opener: waiting for the answer */
  STATE_ACCEPTING, /* acceptor: waiting for STREAM_OPEN */
  STATE_HANDLING,  /* acceptor: the handler runs; writes wait */
  STATE_OPEN,
  STATE_ENDED, /* the channel is gone */
} StreamState;

typedef struct
{
  GossipStreamFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} StreamHandler;

typedef struct _StreamCore StreamCore;

struct _StreamCore
{
  GossipCluster *cluster; /* NULL once the stream left the cluster */
  GossipClusterTransport *transport;
  GossipPipeline *pipeline;        /* owned: typed messages outlive the cluster */
  GMainContext *context;           /* owned */
  GossipTransportChannel *channel; /* NULL once ended */
  StreamState state;
  gboolean in_cluster; /* the cluster's set holds a reference */
  char *peer_id;
  char *peer_address;
  guint type;
  guint64 id;           /* random, chosen by the opener: every frame names it */
  guint64 tx_seq;       /* number of the next frame we send */
  guint64 rx_seq;       /* number the next frame we receive must have */
  GossipStream *stream; /* weak */

  /* Opening */
  GTask *open_task;
  gulong cancel_id;
  guint timer;

  /* Receiving */
  GQueue rx;       /* GBytes */
  gsize rx_offset; /* into the head of rx */
  gsize rx_buffered;
  guint64 window;   /* ours: what the peer may send ahead */
  guint64 consumed; /* not yet granted back */
  gboolean rx_fin;
  gboolean input_closed;
  GError *rx_error;
  GTask *read_task;
  guint8 *read_buffer;
  gsize read_count;

  /* Sending */
  guint64 credit;
  guint64 peer_window;
  gsize chunk_size;
  gboolean fin_sent;
  GError *tx_error;
  GTask *write_task;
  const guint8 *write_buffer;
  gsize write_count;
};

struct _GossipStream
{
  GIOStream parent;
  StreamCore *core;
  GInputStream *input;
  GOutputStream *output;
};

G_DEFINE_FINAL_TYPE (GossipStream, gossip_stream, G_TYPE_IO_STREAM)

#define GOSSIP_TYPE_STREAM_INPUT (gossip_stream_input_get_type ())
G_DECLARE_FINAL_TYPE (GossipStreamInput, gossip_stream_input, GOSSIP, STREAM_INPUT, GInputStream)
struct _GossipStreamInput
{
  GInputStream parent;
  StreamCore *core;
};
G_DEFINE_FINAL_TYPE (GossipStreamInput, gossip_stream_input, G_TYPE_INPUT_STREAM)

#define GOSSIP_TYPE_STREAM_OUTPUT (gossip_stream_output_get_type ())
G_DECLARE_FINAL_TYPE (GossipStreamOutput, gossip_stream_output, GOSSIP, STREAM_OUTPUT,
                      GOutputStream)
struct _GossipStreamOutput
{
  GOutputStream parent;
  StreamCore *core;
};
G_DEFINE_FINAL_TYPE (GossipStreamOutput, gossip_stream_output, G_TYPE_OUTPUT_STREAM)

/* A data frame's body starts with the stream's id and the frame's number,
 * 8 bytes each, big-endian. */
#define DATA_PREFIX 16

static const GossipTransportChannelCallbacks channel_callbacks;
static void core_end (StreamCore *core, GError *error, gboolean send_abort);
static void open_complete (StreamCore *core, GError *error);

/* ------------------------------------------------------------------------ */
/* The core */

static void
core_clear (StreamCore *core)
{
  g_assert (core->channel == NULL);
  g_assert (core->open_task == NULL && core->read_task == NULL && core->write_task == NULL);
  g_queue_clear_full (&core->rx, (GDestroyNotify) g_bytes_unref);
  g_clear_error (&core->rx_error);
  g_clear_error (&core->tx_error);
  g_free (core->peer_id);
  g_free (core->peer_address);
  gossip_pipeline_unref (core->pipeline);
  g_main_context_unref (core->context);
}

static StreamCore *
core_ref (StreamCore *core)
{
  return g_rc_box_acquire (core);
}

static void
core_unref (StreamCore *core)
{
  g_rc_box_release_full (core, (GDestroyNotify) core_clear);
}

static StreamCore *
core_new (GossipCluster *cluster, GossipClusterTransport *t, StreamState state)
{
  StreamCore *core = g_rc_box_new0 (StreamCore);

  core->cluster = cluster;
  core->transport = t;
  core->pipeline = gossip_pipeline_ref (cluster->pipeline);
  core->context = g_main_context_ref (cluster->context);
  core->state = state;
  core->window = gossip_config_get_size (cluster->config, "streams", "window");
  core->chunk_size = gossip_config_get_size (cluster->config, "streams", "chunk_size");
  /* A data frame adds its prefix, the frame header, nonce and tag. */
  core->chunk_size = MIN (core->chunk_size, cluster->max_frame_size - DATA_PREFIX
                                                - gossip_pipeline_get_overhead (cluster->pipeline));
  g_queue_init (&core->rx);
  /* The cluster's set owns the first reference until the channel ends. */
  g_hash_table_add (cluster->streams, core);
  core->in_cluster = TRUE;
  return core;
}

static const char *
core_name (StreamCore *core)
{
  return core->peer_id ? core->peer_id : core->peer_address;
}

/* Runs @func (core) on the cluster's context, later: never from inside
 * g_cancellable_connect(), a "cancelled" handler or another thread. */
static void
defer (StreamCore *core, GSourceFunc func)
{
  GSource *source;

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, func, core_ref (core), (GDestroyNotify) core_unref);
  g_source_attach (source, core->context);
  g_source_unref (source);
}

static gboolean
send_frame (StreamCore *core, GBytes *frame)
{
  if (core->channel == NULL || core->transport == NULL)
    return FALSE;
  core->transport->vtable->channel_send (core->transport->instance, core->channel, frame, NULL,
                                         NULL);
  return TRUE;
}

/* Sends a control message (floating, consumed), already numbered. */
static gboolean
send_message (StreamCore *core, GVariant *message)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (message);
  g_autoptr (GBytes) frame = NULL;
  g_autoptr (GError) error = NULL;

  if (core->channel == NULL)
    return FALSE;
  frame = gossip_pipeline_encode (core->pipeline, owned, &error);
  if (frame == NULL)
    {
      g_warning ("stream with %s: cannot encode a control frame: %s", core_name (core),
                 error->message);
      return FALSE;
    }
  return send_frame (core, frame);
}

/* CREDIT, FIN or ABORT, with the stream's id and the next frame number. */
static gboolean
send_control (StreamCore *core, GossipMsgType type, guint64 credit, const char *reason)
{
  return send_message (core,
                       _gossip_msg_stream_control (type, core->id, core->tx_seq++, credit, reason));
}

static void
leave_cluster (StreamCore *core)
{
  GossipCluster *cluster = core->cluster;

  if (!core->in_cluster)
    return;
  core->in_cluster = FALSE;
  core->cluster = NULL;
  core->transport = NULL;
  if (cluster != NULL && cluster->streams != NULL)
    g_hash_table_remove (cluster->streams, core); /* may drop the last reference */
}

static void
close_channel (StreamCore *core, gboolean abort)
{
  GossipTransportChannel *channel = core->channel;

  core->channel = NULL;
  if (core->timer != 0 && core->cluster != NULL)
    gossip_clock_remove_timer (core->cluster->clock, core->timer);
  core->timer = 0;
  if (channel != NULL && core->transport != NULL)
    core->transport->vtable->channel_close (core->transport->instance, channel, abort);
  core->state = STATE_ENDED;
}

/* Completes what waits on the receive side, if it can complete now. */
static void read_progress (StreamCore *core);
static void write_progress (StreamCore *core);

/* Both directions done cleanly: end the channel gracefully. */
static void
maybe_finish (StreamCore *core)
{
  if (core->state != STATE_OPEN || !core->fin_sent || !(core->rx_fin || core->input_closed))
    return;
  core_ref (core);
  close_channel (core, FALSE);
  leave_cluster (core);
  core_unref (core);
}

/* Ends the stream with @error (taken) for every pending and later
 * operation.  @send_abort: tell the peer why first. */
static void
core_end (StreamCore *core, GError *error, gboolean send_abort)
{
  core_ref (core);
  if (send_abort && core->channel != NULL)
    send_control (core, GOSSIP_MSG_STREAM_ABORT, 0, error->message);
  close_channel (core, !send_abort);
  if (core->rx_error == NULL && !core->rx_fin)
    core->rx_error = g_error_copy (error);
  if (core->tx_error == NULL)
    core->tx_error = g_error_copy (error);
  if (core->open_task != NULL)
    open_complete (core, g_error_copy (error));
  g_error_free (error);
  read_progress (core);
  write_progress (core);
  leave_cluster (core);
  core_unref (core);
}

static void protocol_error (StreamCore *core, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
protocol_error (StreamCore *core, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (core->cluster != NULL)
    _gossip_cluster_log_drop (core->cluster, GOSSIP_COUNTER_STREAM_ERRORS, core->peer_address,
                              "stream: %s", text);
  core_end (core,
            g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "stream with %s broke: %s",
                         core_name (core), text),
            TRUE);
}

/* ------------------------------------------------------------------------ */
/* Receiving */

static void
grant_credit (StreamCore *core, gboolean now)
{
  if (core->consumed == 0 || core->input_closed)
    return;
  /* Batched: a credit frame per quarter window consumed, or when the
   * buffer ran dry (the writer may be waiting for exactly this). */
  if (!now && core->consumed < core->window / 4)
    return;
  send_control (core, GOSSIP_MSG_STREAM_CREDIT, core->consumed, NULL);
  core->consumed = 0;
}

/* Copies up to @count buffered bytes into @buffer. */
static gsize
take_bytes (StreamCore *core, guint8 *buffer, gsize count)
{
  gsize done = 0;

  while (done < count && !g_queue_is_empty (&core->rx))
    {
      GBytes *head = g_queue_peek_head (&core->rx);
      gsize size;
      const guint8 *data = g_bytes_get_data (head, &size);
      gsize n = MIN (count - done, size - core->rx_offset);

      memcpy (buffer + done, data + core->rx_offset, n);
      done += n;
      core->rx_offset += n;
      if (core->rx_offset == size)
        {
          g_bytes_unref (g_queue_pop_head (&core->rx));
          core->rx_offset = 0;
        }
    }
  core->rx_buffered -= done;
  core->consumed += done;
  grant_credit (core, core->rx_buffered == 0);
  return done;
}

static void
read_progress (StreamCore *core)
{
  GTask *task = core->read_task;

  if (task == NULL)
    return;
  if (core->rx_buffered > 0)
    {
      core->read_task = NULL;
      g_task_return_int (task, (gssize) take_bytes (core, core->read_buffer, core->read_count));
    }
  else if (core->rx_fin)
    {
      core->read_task = NULL;
      g_task_return_int (task, 0);
    }
  else if (core->rx_error != NULL)
    {
      core->read_task = NULL;
      g_task_return_error (task, g_error_copy (core->rx_error));
    }
  else
    return;
  g_object_unref (task);
}

static void
on_data (StreamCore *core, GBytes *frame)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) data = NULL;
  gsize size;

  if (core->state != STATE_OPEN && core->state != STATE_HANDLING)
    {
      protocol_error (core, "data before the stream was open");
      return;
    }
  data = _gossip_pipeline_open_bytes (core->pipeline, frame, &error);
  if (data == NULL)
    {
      protocol_error (core, "%s", error->message);
      return;
    }
  if (core->rx_fin)
    {
      protocol_error (core, "data after the peer finished");
      return;
    }
  {
    const guint8 *p = g_bytes_get_data (data, &size);
    guint64 id, seq;

    if (size < DATA_PREFIX)
      {
        protocol_error (core, "a data frame of %" G_GSIZE_FORMAT " bytes", size);
        return;
      }
    memcpy (&id, p, 8);
    memcpy (&seq, p + 8, 8);
    if (GUINT64_FROM_BE (id) != core->id || GUINT64_FROM_BE (seq) != core->rx_seq)
      {
        protocol_error (core,
                        "data frame %" G_GUINT64_FORMAT " where frame %" G_GUINT64_FORMAT
                        " was due, or of another stream",
                        GUINT64_FROM_BE (seq), core->rx_seq);
        return;
      }
    core->rx_seq++;
    size -= DATA_PREFIX;
    {
      GBytes *body = g_bytes_new_from_bytes (data, DATA_PREFIX, size);

      g_bytes_unref (data);
      data = body;
    }
  }
  if (core->rx_buffered + core->consumed + size > core->window)
    {
      protocol_error (core, "peer sent beyond its credit (%" G_GSIZE_FORMAT " bytes buffered)",
                      core->rx_buffered);
      return;
    }
  if (core->input_closed || size == 0)
    {
      /* Nobody will read it: consumed at once. */
      core->consumed += size;
      grant_credit (core, FALSE);
      return;
    }
  g_queue_push_tail (&core->rx, g_steal_pointer (&data));
  core->rx_buffered += size;
  read_progress (core);
}

static void accept_open (StreamCore *core, const GossipMsg *msg);

static void
on_answer (StreamCore *core, const GossipMsg *msg)
{
  if (msg->error_text != NULL)
    {
      gint code = msg->code == GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE ? GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE
                  : msg->code == GOSSIP_CLUSTER_ERROR_QUEUE_FULL ? GOSSIP_CLUSTER_ERROR_QUEUE_FULL
                                                                 : GOSSIP_CLUSTER_ERROR_REMOTE;

      core_ref (core);
      close_channel (core, FALSE);
      open_complete (core, g_error_new (GOSSIP_CLUSTER_ERROR, code, "%s refused the stream: %s",
                                        core_name (core), msg->error_text));
      leave_cluster (core);
      core_unref (core);
      return;
    }
  if (msg->window == 0 || msg->window > G_MAXINT64)
    {
      protocol_error (core, "answer with a window of %" G_GUINT64_FORMAT, msg->window);
      return;
    }
  core->peer_window = core->credit = msg->window;
  if (core->timer != 0)
    gossip_clock_clear_timer (core->cluster->clock, &core->timer);
  core->state = STATE_OPEN;
  open_complete (core, NULL);
}

static void
on_control (StreamCore *core, GBytes *frame)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) message = NULL;
  g_auto (GossipMsg) msg = { 0 };

  message = gossip_pipeline_decode (core->pipeline, g_bytes_get_data (frame, NULL),
                                    g_bytes_get_size (frame), &error);
  if (message == NULL || !_gossip_msg_parse (message, &msg, &error))
    {
      protocol_error (core, "%s", error->message);
      return;
    }
  if (msg.type < GOSSIP_MSG_STREAM_OPEN || msg.type > GOSSIP_MSG_STREAM_ABORT)
    {
      protocol_error (core, "unexpected message type %u", (guint) msg.type);
      return;
    }
  /* Every frame names the stream and is numbered: a frame dropped,
   * reordered, replayed or taken from another stream breaks the stream. */
  if (core->state == STATE_ACCEPTING && msg.type == GOSSIP_MSG_STREAM_OPEN)
    core->id = msg.stream_id;
  if (msg.stream_id != core->id || msg.seq != core->rx_seq)
    {
      protocol_error (core,
                      "frame %" G_GUINT64_FORMAT " of stream %016" G_GINT64_MODIFIER
                      "x where frame %" G_GUINT64_FORMAT " of %016" G_GINT64_MODIFIER "x was due",
                      msg.seq, msg.stream_id, core->rx_seq, core->id);
      return;
    }
  core->rx_seq++;
  switch (msg.type)
    {
    case GOSSIP_MSG_STREAM_OPEN:
      if (core->state != STATE_ACCEPTING)
        break;
      accept_open (core, &msg);
      return;
    case GOSSIP_MSG_STREAM_ANSWER:
      if (core->state != STATE_OPENING)
        break;
      on_answer (core, &msg);
      return;
    case GOSSIP_MSG_STREAM_CREDIT:
      if (core->state != STATE_OPEN && core->state != STATE_HANDLING)
        break;
      if (msg.window > core->peer_window - core->credit)
        {
          protocol_error (core, "credit of %" G_GUINT64_FORMAT " beyond the window", msg.window);
          return;
        }
      core->credit += msg.window;
      write_progress (core);
      return;
    case GOSSIP_MSG_STREAM_FIN:
      if (core->state != STATE_OPEN && core->state != STATE_HANDLING)
        break;
      core->rx_fin = TRUE;
      read_progress (core);
      maybe_finish (core);
      return;
    case GOSSIP_MSG_STREAM_ABORT:
      core_end (core,
                g_error_new (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "%s aborted the stream: %s",
                             core_name (core), msg.error_text ? msg.error_text : "no reason given"),
                FALSE);
      return;
    default:
      break;
    }
  protocol_error (core, "unexpected message type %u", (guint) msg.type);
}

static void
channel_received (gpointer user_data, GBytes *frame)
{
  StreamCore *core = user_data;
  gsize size = g_bytes_get_size (frame);
  const guint8 *data = g_bytes_get_data (frame, NULL);

  if (core->cluster == NULL)
    return;
  core_ref (core);
  if (size > 3 && data[3] == GOSSIP_FRAME_CODEC_RAW)
    on_data (core, frame);
  else
    on_control (core, frame);
  core_unref (core);
}

static void
channel_closed (gpointer user_data, const GError *error)
{
  StreamCore *core = user_data;
  GError *why;

  core->channel = NULL; /* the transport frees it */
  if (error != NULL)
    why = g_error_new (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "stream with %s broke: %s",
                       core_name (core), error->message);
  else if (core->state == STATE_OPENING || core->state == STATE_ACCEPTING)
    why = g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                       "%s closed the stream before answering", core_name (core));
  else
    why = g_error_new (G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "%s closed the stream",
                       core_name (core));
  if (core->state == STATE_OPENING && error != NULL)
    {
      g_clear_error (&why);
      why = g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                         "cannot open a stream to %s: %s", core_name (core), error->message);
    }
  if (error == NULL && core->rx_fin)
    {
      /* A clean end after the peer's FIN: only our writes are cut short. */
      if (core->tx_error == NULL && !core->fin_sent)
        core->tx_error = g_error_copy (why);
    }
  core_end (core, why, FALSE);
}

static const GossipTransportChannelCallbacks channel_callbacks = {
  .received = channel_received,
  .closed = channel_closed,
};

/* ------------------------------------------------------------------------ */
/* Sending */

static gsize
send_data (StreamCore *core, const guint8 *buffer, gsize count, GError **error)
{
  gsize n = MIN (MIN (count, core->chunk_size), core->credit);
  guint64 prefix[2] = { GUINT64_TO_BE (core->id), GUINT64_TO_BE (core->tx_seq) };
  g_autoptr (GBytes) frame = NULL;

  frame = _gossip_pipeline_seal_bytes (core->pipeline, (const guint8 *) prefix, sizeof prefix,
                                       buffer, n, error);
  if (frame == NULL)
    return 0;
  if (!send_frame (core, frame))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "the stream with %s has ended",
                   core_name (core));
      return 0;
    }
  core->tx_seq++;
  core->credit -= n;
  return n;
}

static gboolean
can_write (StreamCore *core)
{
  return core->tx_error != NULL || core->fin_sent
         || (core->state == STATE_OPEN && core->credit > 0);
}

static gssize
write_now (StreamCore *core, const guint8 *buffer, gsize count, GError **error)
{
  gsize n;

  if (core->tx_error != NULL)
    {
      g_propagate_error (error, g_error_copy (core->tx_error));
      return -1;
    }
  if (core->fin_sent)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the stream's output is closed");
      return -1;
    }
  if (count == 0)
    return 0;
  n = send_data (core, buffer, count, error);
  return n == 0 ? -1 : (gssize) n;
}

static void
write_progress (StreamCore *core)
{
  GTask *task = core->write_task;
  GError *error = NULL;
  gssize n;

  if (task == NULL || !can_write (core))
    return;
  core->write_task = NULL;
  n = write_now (core, core->write_buffer, core->write_count, &error);
  if (n < 0)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, n);
  g_object_unref (task);
}

/* ------------------------------------------------------------------------ */
/* Waiting, for the synchronous methods */

static gboolean
wait_for (StreamCore *core, gboolean (*ready) (StreamCore *core), GCancellable *cancellable,
          GError **error)
{
  GMainContext *context;
  gboolean ok = TRUE;

  if (ready (core))
    return TRUE;
  context = core->context;
  if (!_gossip_main_context_acquire (context))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "a stream's synchronous methods must run on the thread of the "
                           "cluster's main context; use the asynchronous ones");
      return FALSE;
    }
  core_ref (core);
  while (!ready (core))
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      g_main_context_iteration (context, TRUE);
    }
  core_unref (core);
  g_main_context_release (context);
  return ok;
}

static gboolean
readable (StreamCore *core)
{
  return core->rx_buffered > 0 || core->rx_fin || core->rx_error != NULL;
}

static gboolean
writable (StreamCore *core)
{
  return can_write (core);
}

/* Wakes g_main_context_iteration() when the cancellable fires. */
static void
watch_cancellable (StreamCore *core, GCancellable *cancellable, GSource **source)
{
  *source = NULL;
  if (cancellable == NULL)
    return;
  *source = g_cancellable_source_new (cancellable);
  g_source_set_dummy_callback (*source);
  g_source_attach (*source, core->context);
}

static void
unwatch_cancellable (GSource *source)
{
  if (source != NULL)
    {
      g_source_destroy (source);
      g_source_unref (source);
    }
}

/* ------------------------------------------------------------------------ */
/* GInputStream */

static gssize
input_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
            GError **error)
{
  StreamCore *core = GOSSIP_STREAM_INPUT (stream)->core;
  GSource *source;
  gboolean ok;

  watch_cancellable (core, cancellable, &source);
  ok = wait_for (core, readable, cancellable, error);
  unwatch_cancellable (source);
  if (!ok)
    return -1;
  if (core->rx_buffered > 0)
    return (gssize) take_bytes (core, buffer, count);
  if (core->rx_fin)
    return 0;
  if (core->rx_error != NULL)
    g_propagate_error (error, g_error_copy (core->rx_error));
  else
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the stream has ended");
  return -1;
}

/* Fails the pending operation in @slot if its cancellable fired. */
static gboolean
cancel_pending (GTask **slot)
{
  GTask *task = *slot;

  if (task != NULL && g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      *slot = NULL;
      g_task_return_error_if_cancelled (task);
      g_object_unref (task);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
read_cancel_idle (gpointer user_data)
{
  return cancel_pending (&((StreamCore *) user_data)->read_task);
}

static void
read_cancelled (GCancellable *cancellable, gpointer user_data)
{
  defer (user_data, read_cancel_idle);
}

static void
input_read_async (GInputStream *stream, void *buffer, gsize count, int io_priority,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  StreamCore *core = GOSSIP_STREAM_INPUT (stream)->core;
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, input_read_async);
  g_task_set_priority (task, io_priority);
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  core->read_task = task;
  core->read_buffer = buffer;
  core->read_count = count;
  if (core->cluster == NULL && !readable (core))
    core->rx_error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "the cluster stopped");
  read_progress (core);
  if (core->read_task == task && cancellable != NULL)
    g_task_set_task_data (
        task,
        GSIZE_TO_POINTER (g_cancellable_connect (cancellable, G_CALLBACK (read_cancelled),
                                                 core_ref (core), (GDestroyNotify) core_unref)),
        NULL);
}

/* The end of a read or write: the task's data is its cancellable's
 * handler, if it waited. */
static gssize
finish_io (GAsyncResult *result, GError **error)
{
  GTask *task = G_TASK (result);
  gulong id = GPOINTER_TO_SIZE (g_task_get_task_data (task));

  if (id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), id);
  return g_task_propagate_int (task, error);
}

static gssize
input_read_finish (GInputStream *stream, GAsyncResult *result, GError **error)
{
  return finish_io (result, error);
}

static gboolean
input_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  StreamCore *core = GOSSIP_STREAM_INPUT (stream)->core;

  if (core->input_closed)
    return TRUE;
  core->input_closed = TRUE;
  core->consumed += core->rx_buffered;
  core->rx_buffered = 0;
  core->rx_offset = 0;
  g_queue_clear_full (&core->rx, (GDestroyNotify) g_bytes_unref);
  grant_credit (core, TRUE);
  maybe_finish (core);
  return TRUE;
}

static void
input_close_async (GInputStream *stream, int io_priority, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, input_close_async);
  input_close (stream, cancellable, NULL);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static gboolean
input_close_finish (GInputStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
gossip_stream_input_finalize (GObject *object)
{
  core_unref (GOSSIP_STREAM_INPUT (object)->core);
  G_OBJECT_CLASS (gossip_stream_input_parent_class)->finalize (object);
}

static void
gossip_stream_input_class_init (GossipStreamInputClass *klass)
{
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = gossip_stream_input_finalize;
  input_class->read_fn = input_read;
  input_class->read_async = input_read_async;
  input_class->read_finish = input_read_finish;
  input_class->close_fn = input_close;
  input_class->close_async = input_close_async;
  input_class->close_finish = input_close_finish;
}

static void
gossip_stream_input_init (GossipStreamInput *self)
{
}

/* ------------------------------------------------------------------------ */
/* GOutputStream */

static gssize
output_write (GOutputStream *stream, const void *buffer, gsize count, GCancellable *cancellable,
              GError **error)
{
  StreamCore *core = GOSSIP_STREAM_OUTPUT (stream)->core;
  GSource *source;
  gboolean ok;

  if (count == 0)
    return 0;
  watch_cancellable (core, cancellable, &source);
  ok = wait_for (core, writable, cancellable, error);
  unwatch_cancellable (source);
  if (!ok)
    return -1;
  if (core->cluster == NULL && core->tx_error == NULL)
    core->tx_error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "the cluster stopped");
  return write_now (core, buffer, count, error);
}

static gboolean
write_cancel_idle (gpointer user_data)
{
  return cancel_pending (&((StreamCore *) user_data)->write_task);
}

static void
write_cancelled (GCancellable *cancellable, gpointer user_data)
{
  defer (user_data, write_cancel_idle);
}

static void
output_write_async (GOutputStream *stream, const void *buffer, gsize count, int io_priority,
                    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  StreamCore *core = GOSSIP_STREAM_OUTPUT (stream)->core;
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, output_write_async);
  g_task_set_priority (task, io_priority);
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  if (count == 0)
    {
      g_task_return_int (task, 0);
      g_object_unref (task);
      return;
    }
  core->write_task = task;
  core->write_buffer = buffer;
  core->write_count = count;
  if (core->cluster == NULL && core->tx_error == NULL)
    core->tx_error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "the cluster stopped");
  write_progress (core);
  if (core->write_task == task && cancellable != NULL)
    g_task_set_task_data (
        task,
        GSIZE_TO_POINTER (g_cancellable_connect (cancellable, G_CALLBACK (write_cancelled),
                                                 core_ref (core), (GDestroyNotify) core_unref)),
        NULL);
}

static gssize
output_write_finish (GOutputStream *stream, GAsyncResult *result, GError **error)
{
  return finish_io (result, error);
}

static gboolean
output_close (GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  StreamCore *core = GOSSIP_STREAM_OUTPUT (stream)->core;

  if (core->fin_sent)
    return TRUE;
  core->fin_sent = TRUE;
  /* Inside the accepting handler the answer has not gone yet: the FIN
   * follows it (accept_open). */
  if (core->tx_error == NULL && core->state != STATE_HANDLING)
    send_control (core, GOSSIP_MSG_STREAM_FIN, 0, NULL);
  maybe_finish (core);
  return TRUE;
}

static void
output_close_async (GOutputStream *stream, int io_priority, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, output_close_async);
  output_close (stream, cancellable, NULL);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static gboolean
output_close_finish (GOutputStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
gossip_stream_output_finalize (GObject *object)
{
  core_unref (GOSSIP_STREAM_OUTPUT (object)->core);
  G_OBJECT_CLASS (gossip_stream_output_parent_class)->finalize (object);
}

static void
gossip_stream_output_class_init (GossipStreamOutputClass *klass)
{
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = gossip_stream_output_finalize;
  output_class->write_fn = output_write;
  output_class->write_async = output_write_async;
  output_class->write_finish = output_write_finish;
  output_class->close_fn = output_close;
  output_class->close_async = output_close_async;
  output_class->close_finish = output_close_finish;
}

static void
gossip_stream_output_init (GossipStreamOutput *self)
{
}

/* ------------------------------------------------------------------------ */
/* GossipStream */

static GInputStream *
gossip_stream_get_input_stream (GIOStream *stream)
{
  return GOSSIP_STREAM (stream)->input;
}

static GOutputStream *
gossip_stream_get_output_stream (GIOStream *stream)
{
  return GOSSIP_STREAM (stream)->output;
}

static void
gossip_stream_finalize (GObject *object)
{
  GossipStream *self = GOSSIP_STREAM (object);

  g_clear_object (&self->input);
  g_clear_object (&self->output);
  core_unref (self->core);
  G_OBJECT_CLASS (gossip_stream_parent_class)->finalize (object);
}

static void
gossip_stream_class_init (GossipStreamClass *klass)
{
  GIOStreamClass *io_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = gossip_stream_finalize;
  io_class->get_input_stream = gossip_stream_get_input_stream;
  io_class->get_output_stream = gossip_stream_get_output_stream;
}

static void
gossip_stream_init (GossipStream *self)
{
}

static GossipStream *
stream_new (StreamCore *core)
{
  GossipStream *self = g_object_new (GOSSIP_TYPE_STREAM, NULL);
  GossipStreamInput *input = g_object_new (GOSSIP_TYPE_STREAM_INPUT, NULL);
  GossipStreamOutput *output = g_object_new (GOSSIP_TYPE_STREAM_OUTPUT, NULL);

  self->core = core_ref (core);
  input->core = core_ref (core);
  output->core = core_ref (core);
  self->input = G_INPUT_STREAM (input);
  self->output = G_OUTPUT_STREAM (output);
  core->stream = self;
  g_object_add_weak_pointer (G_OBJECT (self), (gpointer *) &core->stream);
  return self;
}

/**
 * gossip_stream_get_peer_id:
 * @stream: a stream from gossip_cluster_open_stream_finish() or a
 *   #GossipStreamFunc
 *
 * Returns: the ID of the node at the other end
 */
const char *
gossip_stream_get_peer_id (GIOStream *stream)
{
  g_return_val_if_fail (GOSSIP_IS_STREAM (stream), NULL);
  return GOSSIP_STREAM (stream)->core->peer_id;
}

/**
 * gossip_stream_get_message_type:
 * @stream: a stream
 *
 * Returns: the type the stream was opened with
 */
guint
gossip_stream_get_message_type (GIOStream *stream)
{
  g_return_val_if_fail (GOSSIP_IS_STREAM (stream), 0);
  return GOSSIP_STREAM (stream)->core->type;
}

/**
 * gossip_stream_abort:
 * @stream: a stream
 * @reason: (nullable): why, for the peer's error message
 *
 * Ends @stream at once, both ways: data not yet sent is dropped, and the
 * peer's pending and later reads and writes fail with
 * %G_IO_ERROR_CONNECTION_CLOSED and @reason.  Ours fail with
 * %G_IO_ERROR_CLOSED.
 */
void
gossip_stream_abort (GIOStream *stream, const char *reason)
{
  StreamCore *core;

  g_return_if_fail (GOSSIP_IS_STREAM (stream));
  core = GOSSIP_STREAM (stream)->core;
  if (core->state == STATE_ENDED)
    return;
  core_end (core,
            g_error_new (G_IO_ERROR, G_IO_ERROR_CLOSED, "%s",
                         reason != NULL ? reason : "the stream was aborted"),
            TRUE);
}

/* ------------------------------------------------------------------------ */
/* Opening */

static void
open_complete (StreamCore *core, GError *error)
{
  GTask *task = core->open_task;
  GCancellable *cancellable;

  if (task == NULL)
    {
      g_clear_error (&error);
      return;
    }
  core->open_task = NULL;
  cancellable = g_task_get_cancellable (task);
  if (core->cancel_id != 0)
    g_cancellable_disconnect (cancellable, core->cancel_id);
  core->cancel_id = 0;
  if (error == NULL && g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      /* Opened, but the caller no longer wants it. */
      g_task_return_error (task, error);
      g_object_unref (task);
      core_end (core,
                g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "opening was cancelled"),
                TRUE);
      return;
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    {
      if (core->cluster != NULL)
        core->cluster->counters[GOSSIP_COUNTER_STREAMS_OPENED]++;
      g_task_return_pointer (task, stream_new (core), g_object_unref);
    }
  g_object_unref (task);
}

static void
open_timed_out (gpointer user_data)
{
  StreamCore *core = user_data;

  core->timer = 0;
  core_end (core,
            g_error_new (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TIMEOUT,
                         "%s did not answer the stream in time", core_name (core)),
            FALSE);
}

static gboolean
open_cancelled_idle (gpointer user_data)
{
  StreamCore *core = user_data;

  if (core->open_task != NULL)
    core_end (core, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "opening was cancelled"),
              FALSE);
  return G_SOURCE_REMOVE;
}

static void
open_cancelled (GCancellable *cancellable, gpointer user_data)
{
  defer (user_data, open_cancelled_idle);
}

static gboolean
check_stream_type (guint type, GError **error)
{
  if (type < GOSSIP_MESSAGE_TYPE_USER || type > G_MAXUINT16)
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_RESERVED_TYPE,
                   "stream type %u is not a user type (%d to 65535)", type,
                   GOSSIP_MESSAGE_TYPE_USER);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_capacity (GossipCluster *self, GError **error)
{
  guint max = (guint) gossip_config_get_int (self->config, "streams", "max_streams");

  if (g_hash_table_size (self->streams) < max)
    return TRUE;
  g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_QUEUE_FULL,
               "%u streams are open, the most [streams] max_streams allows", max);
  return FALSE;
}

/**
 * gossip_cluster_open_stream_async:
 * @cluster: a running cluster
 * @node: the node to open a stream to
 * @type: the stream type, %GOSSIP_MESSAGE_TYPE_USER or above; @node must
 *   handle it (gossip_cluster_handle_stream())
 * @payload: (nullable): handed to the remote handler (floating is sunk)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the stream is open or has failed
 * @user_data: data for @callback
 *
 * Opens a stream to @node over a channel of the transport that serves its
 * address.  Fails with %GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE when @node has no
 * handler for @type, %GOSSIP_CLUSTER_ERROR_REMOTE when its handler refuses,
 * %GOSSIP_CLUSTER_ERROR_UNREACHABLE when it cannot be reached,
 * %GOSSIP_CLUSTER_ERROR_TIMEOUT after `[streams] open_timeout`,
 * %GOSSIP_CLUSTER_ERROR_QUEUE_FULL beyond `[streams] max_streams`, and
 * %G_IO_ERROR_NOT_SUPPORTED when that transport has no channels.
 */
void
gossip_cluster_open_stream_async (GossipCluster *self, GossipNode *node, guint type,
                                  GVariant *payload, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GVariant) owned = payload ? g_variant_ref_sink (payload) : NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame = NULL;
  g_autoptr (GVariant) open_message = NULL;
  GossipClusterTransport *t = NULL;
  guint64 stream_id;
  const char *address;
  StreamCore *core;
  GTask *task;

  g_return_if_fail (GOSSIP_IS_CLUSTER (self));
  g_return_if_fail (GOSSIP_IS_NODE (node));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gossip_cluster_open_stream_async);
  g_task_set_check_cancellable (task, FALSE);
  {
    GossipMember *m = _gossip_membership_lookup (self, gossip_node_get_id (node));

    /* A member's route is the first of its addresses we have a transport for. */
    address = m != NULL && m->route != NULL ? m->route : gossip_node_get_address (node);
  }
  if (!check_stream_type (type, &error))
    goto fail;
  if (!self->running)
    {
      g_set_error_literal (&error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                           "the cluster is not running");
      goto fail;
    }
  if (address == NULL || (t = _gossip_cluster_transport_for (self, address)) == NULL)
    {
      g_set_error (&error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNREACHABLE,
                   "no transport of this node serves %s's address %s", gossip_node_get_id (node),
                   address ? address : "(none)");
      goto fail;
    }
  if (t->vtable->struct_size < G_STRUCT_OFFSET (GossipTransportVTable, reserved)
      || t->vtable->channel_open == NULL)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "transport %s has no streams (channels)", t->name);
      goto fail;
    }
  if (!check_capacity (self, &error))
    goto fail;
  /* Unpredictable, so frames of one stream cannot be passed off as another's. */
  stream_id = ((guint64) g_random_int () << 32) | g_random_int ();
  open_message = g_variant_ref_sink (
      _gossip_msg_stream_open (stream_id, self->node_id, self->advertise_address, type,
                               gossip_config_get_size (self->config, "streams", "window"), owned));
  frame = gossip_pipeline_encode (self->pipeline, open_message, &error);
  if (frame == NULL)
    goto fail;
  core = core_new (self, t, STATE_OPENING);
  core->id = stream_id;
  core->tx_seq = 1;
  core->peer_id = g_strdup (gossip_node_get_id (node));
  core->peer_address = g_strdup (address);
  core->type = type;
  core->channel = t->vtable->channel_open (t->instance, address, &channel_callbacks, core, &error);
  if (core->channel == NULL)
    {
      leave_cluster (core);
      g_prefix_error (&error, "cannot open a stream to %s: ", gossip_node_get_id (node));
      goto fail;
    }
  core->open_task = task;
  send_frame (core, frame);
  core->timer = gossip_clock_add_timer (
      self->clock, gossip_config_get_duration (self->config, "streams", "open_timeout"),
      open_timed_out, core, NULL);
  if (cancellable != NULL)
    core->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (open_cancelled),
                                             core_ref (core), (GDestroyNotify) core_unref);
  return;

fail:
  g_task_return_error (task, g_steal_pointer (&error));
  g_object_unref (task);
}

/**
 * gossip_cluster_open_stream_finish:
 * @cluster: a cluster
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the stream, a #GossipStream
 */
GIOStream *
gossip_cluster_open_stream_finish (GossipCluster *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------------ */
/* Accepting */

static void
refuse (StreamCore *core, const GError *error)
{
  core->cluster->counters[GOSSIP_COUNTER_STREAMS_REFUSED]++;
  send_message (core,
                _gossip_msg_stream_answer (core->id, core->cluster->node_id, core->window, error));
  core->tx_seq = 1;
  core_ref (core);
  close_channel (core, FALSE);
  leave_cluster (core);
  core_unref (core);
}

static void
accept_open (StreamCore *core, const GossipMsg *msg)
{
  GossipCluster *self = core->cluster;
  StreamHandler *h = g_hash_table_lookup (self->stream_handlers, GUINT_TO_POINTER (msg->user_type));
  g_autoptr (GossipNode) sender = NULL;
  g_autoptr (GossipStream) stream = NULL;
  g_autoptr (GError) error = NULL;

  gossip_clock_clear_timer (self->clock, &core->timer);
  core->peer_id = g_strdup (msg->from);
  core->type = msg->user_type;
  if (msg->window == 0 || msg->window > G_MAXINT64)
    {
      protocol_error (core, "open with a window of %" G_GUINT64_FORMAT, msg->window);
      return;
    }
  if (h == NULL)
    {
      g_set_error (&error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE,
                   "%s has no handler for stream type %u", self->node_id, msg->user_type);
      refuse (core, error);
      return;
    }
  core->peer_window = core->credit = msg->window;
  core->state = STATE_HANDLING;
  sender = _gossip_messaging_sender (self, msg->from, msg->from_address);
  stream = stream_new (core);
  if (!h->func (self, sender, msg->user_type, msg->payload, G_IO_STREAM (stream), h->user_data,
                &error))
    {
      if (error == NULL)
        g_set_error_literal (&error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_REMOTE,
                             "the stream handler refused without saying why");
      error->domain = GOSSIP_CLUSTER_ERROR;
      error->code = GOSSIP_CLUSTER_ERROR_REMOTE;
      core->tx_error = g_error_copy (error);
      refuse (core, error);
      read_progress (core);
      write_progress (core);
      return;
    }
  if (core->state != STATE_HANDLING)
    return; /* the handler ended it already */
  self->counters[GOSSIP_COUNTER_STREAMS_ACCEPTED]++;
  send_message (core, _gossip_msg_stream_answer (core->id, self->node_id, core->window, NULL));
  core->tx_seq = 1;
  core->state = STATE_OPEN;
  write_progress (core);
  if (core->fin_sent && core->tx_error == NULL)
    send_control (core, GOSSIP_MSG_STREAM_FIN, 0, NULL); /* the handler closed its output */
  read_progress (core);
  maybe_finish (core);
  /* Dropping our reference closes the stream unless the handler kept one. */
}

static void
accept_timed_out (gpointer user_data)
{
  StreamCore *core = user_data;

  core->timer = 0;
  protocol_error (core, "no stream request within [streams] open_timeout");
}

gboolean
_gossip_stream_accepted (GossipCluster *self, GossipClusterTransport *t, const char *from,
                         GossipTransportChannel *channel)
{
  StreamCore *core;

  if (!self->running || !check_capacity (self, NULL))
    {
      self->counters[GOSSIP_COUNTER_STREAMS_REFUSED]++;
      return FALSE;
    }
  core = core_new (self, t, STATE_ACCEPTING);
  core->peer_address = g_strdup (from);
  core->channel = channel;
  t->vtable->channel_attach (t->instance, channel, &channel_callbacks, core);
  core->timer = gossip_clock_add_timer (
      self->clock, gossip_config_get_duration (self->config, "streams", "open_timeout"),
      accept_timed_out, core, NULL);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Handlers and the cluster's side */

static void
stream_handler_free (gpointer data)
{
  StreamHandler *h = data;

  if (h->destroy != NULL)
    h->destroy (h->user_data);
  g_free (h);
}

/**
 * gossip_cluster_handle_stream:
 * @cluster: a cluster
 * @type: a stream type, %GOSSIP_MESSAGE_TYPE_USER or above
 * @func: (scope notified): called for each stream of @type opened to this node
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * Answers streams of @type.  Stream types are separate from message types:
 * the same number may have a message handler and a stream handler.
 *
 * Returns: %TRUE, or %FALSE if @type is reserved or already handled
 */
gboolean
gossip_cluster_handle_stream (GossipCluster *self, guint type, GossipStreamFunc func,
                              gpointer user_data, GDestroyNotify destroy, GError **error)
{
  StreamHandler *h;

  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  if (!check_stream_type (type, error))
    return FALSE;
  if (g_hash_table_contains (self->stream_handlers, GUINT_TO_POINTER (type)))
    {
      g_set_error (error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_ALREADY_HANDLED,
                   "stream type %u already has a handler; remove it with "
                   "gossip_cluster_unhandle_stream()",
                   type);
      return FALSE;
    }
  h = g_new0 (StreamHandler, 1);
  h->func = func;
  h->user_data = user_data;
  h->destroy = destroy;
  g_hash_table_insert (self->stream_handlers, GUINT_TO_POINTER (type), h);
  return TRUE;
}

/**
 * gossip_cluster_unhandle_stream:
 * @cluster: a cluster
 * @type: a stream type
 *
 * Removes the handler of @type; streams open already are not touched,
 * later ones are refused with %GOSSIP_CLUSTER_ERROR_UNKNOWN_TYPE.
 *
 * Returns: %TRUE if there was a handler
 */
gboolean
gossip_cluster_unhandle_stream (GossipCluster *self, guint type)
{
  g_return_val_if_fail (GOSSIP_IS_CLUSTER (self), FALSE);
  return g_hash_table_remove (self->stream_handlers, GUINT_TO_POINTER (type));
}

void
_gossip_stream_init (GossipCluster *self)
{
  self->streams = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) core_unref, NULL);
  self->stream_handlers = g_hash_table_new_full (NULL, NULL, NULL, stream_handler_free);
}

/* Aborts every stream (the transports are about to go). */
void
_gossip_stream_stop (GossipCluster *self)
{
  g_autoptr (GPtrArray) cores = g_ptr_array_new_with_free_func ((GDestroyNotify) core_unref);
  GHashTableIter iter;
  gpointer key;

  if (self->streams == NULL)
    return;
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (cores, core_ref (key));
  for (guint i = 0; i < cores->len; i++)
    {
      StreamCore *core = g_ptr_array_index (cores, i);

      core_end (core,
                g_error_new_literal (GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_NOT_RUNNING,
                                     "the cluster stopped"),
                FALSE);
    }
}

void
_gossip_stream_finalize (GossipCluster *self)
{
  _gossip_stream_stop (self);
  g_clear_pointer (&self->streams, g_hash_table_unref);
  g_clear_pointer (&self->stream_handlers, g_hash_table_unref);
}

/* ------------------------------------------------------------------------ */
/* Typed messages */

/* On a stream, a typed message is a 4-byte big-endian length and the
 * codec's encoding of {"t": type, "v": message}. */

typedef struct
{
  GBytes *bytes;
  guint8 header[4];
  guint type;
} MessageIO;

static void
message_io_free (gpointer data)
{
  MessageIO *io = data;

  g_clear_pointer (&io->bytes, g_bytes_unref);
  g_free (io);
}

static GossipPipeline *
stream_pipeline (GIOStream *stream, GError **error)
{
  return GOSSIP_STREAM (stream)->core->pipeline;
}

static void
message_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/**
 * gossip_stream_write_message_async:
 * @stream: a #GossipStream
 * @type: the message's type, any number the two ends agree on
 * @message: the message (floating is sunk); encoded with the cluster's codec
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the message is written
 * @user_data: data for @callback
 *
 * Writes one typed message, to be read with
 * gossip_stream_read_message_async() (the seed's WriteStreamMsg).  At most
 * `[transport] max_frame_size` bytes once encoded.  Don't interleave with
 * other writes to the same stream.
 */
void
gossip_stream_write_message_async (GIOStream *stream, guint type, GVariant *message,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_autoptr (GVariant) owned = NULL;
  g_autoptr (GByteArray) out = NULL;
  GError *error = NULL;
  GossipPipeline *pipeline;
  GVariantBuilder b;
  GTask *task;
  guint32 len;

  g_return_if_fail (GOSSIP_IS_STREAM (stream));
  g_return_if_fail (message != NULL);
  owned = g_variant_ref_sink (message);
  task = g_task_new (stream, cancellable, callback, user_data);
  g_task_set_source_tag (task, gossip_stream_write_message_async);
  pipeline = stream_pipeline (stream, &error);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "t", g_variant_new_uint64 (type));
  g_variant_builder_add (&b, "{sv}", "v", owned);
  out = g_byte_array_new ();
  g_byte_array_set_size (out, 4);
  if (pipeline != NULL)
    {
      g_autoptr (GVariant) wrapped = g_variant_ref_sink (g_variant_builder_end (&b));

      if (_gossip_pipeline_encode_body (pipeline, wrapped, out, &error)
          && out->len - 4 > _gossip_pipeline_get_max_frame_size (pipeline))
        g_set_error (&error, GOSSIP_CLUSTER_ERROR, GOSSIP_CLUSTER_ERROR_TOO_BIG,
                     "a stream message of %u bytes is above [transport] max_frame_size",
                     out->len - 4);
    }
  else
    g_variant_builder_clear (&b);
  if (error != NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  len = GUINT32_TO_BE (out->len - 4);
  memcpy (out->data, &len, 4);
  g_task_set_task_data (task, g_byte_array_free_to_bytes (g_steal_pointer (&out)),
                        (GDestroyNotify) g_bytes_unref);
  {
    GBytes *bytes = g_task_get_task_data (task);

    g_output_stream_write_all_async (g_io_stream_get_output_stream (stream),
                                     g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                     G_PRIORITY_DEFAULT, cancellable, message_written, task);
  }
}

/**
 * gossip_stream_write_message_finish:
 * @stream: a #GossipStream
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the message was written
 */
gboolean
gossip_stream_write_message_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
body_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GIOStream *stream = g_task_get_source_object (task);
  MessageIO *io = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GVariant) wrapped = NULL;
  g_autoptr (GVariant) type = NULL;
  g_autoptr (GVariant) number = NULL;
  GossipPipeline *pipeline;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error))
    goto fail;
  if (n < g_bytes_get_size (io->bytes))
    {
      error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                                   "the stream ended inside a message");
      goto fail;
    }
  pipeline = stream_pipeline (stream, &error);
  if (pipeline == NULL)
    goto fail;
  wrapped = _gossip_pipeline_decode_body (pipeline, g_bytes_get_data (io->bytes, NULL),
                                          g_bytes_get_size (io->bytes), &error);
  if (wrapped == NULL)
    goto fail;
  if (g_variant_is_of_type (wrapped, G_VARIANT_TYPE_VARDICT))
    type = g_variant_lookup_value (wrapped, "t", NULL);
  if (type != NULL)
    number = gossip_variant_coerce (type, G_VARIANT_TYPE_UINT64, NULL);
  if (number == NULL || g_variant_get_uint64 (number) > G_MAXUINT)
    {
      error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                   "a stream message without a valid type");
      goto fail;
    }
  io->type = (guint) g_variant_get_uint64 (number);
  g_task_return_pointer (task, g_variant_lookup_value (wrapped, "v", NULL),
                         (GDestroyNotify) g_variant_unref);
  g_object_unref (task);
  return;

fail:
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
header_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GIOStream *stream = g_task_get_source_object (task);
  MessageIO *io = g_task_get_task_data (task);
  GError *error = NULL;
  GossipPipeline *pipeline;
  gsize n = 0;
  guint32 len;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error))
    goto fail;
  if (n == 0)
    {
      /* A clean end between messages. */
      g_task_return_pointer (task, NULL, NULL);
      g_object_unref (task);
      return;
    }
  if (n < 4)
    {
      error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                                   "the stream ended inside a message's length");
      goto fail;
    }
  pipeline = stream_pipeline (stream, &error);
  if (pipeline == NULL)
    goto fail;
  memcpy (&len, io->header, 4);
  len = GUINT32_FROM_BE (len);
  if (len == 0 || len > _gossip_pipeline_get_max_frame_size (pipeline))
    {
      error
          = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         "a stream message of %u bytes (at most [transport] max_frame_size)", len);
      goto fail;
    }
  io->bytes = g_bytes_new_take (g_malloc (len), len);
  g_input_stream_read_all_async (
      G_INPUT_STREAM (source), (void *) g_bytes_get_data (io->bytes, NULL), len, G_PRIORITY_DEFAULT,
      g_task_get_cancellable (task), body_read, task);
  return;

fail:
  g_task_return_error (task, error);
  g_object_unref (task);
}

/**
 * gossip_stream_read_message_async:
 * @stream: a #GossipStream
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when a message was read
 * @user_data: data for @callback
 *
 * Reads one message written with gossip_stream_write_message_async() (the
 * seed's ReadStreamMsg).  Don't interleave with other reads.
 */
void
gossip_stream_read_message_async (GIOStream *stream, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  MessageIO *io = g_new0 (MessageIO, 1);
  GTask *task;

  g_return_if_fail (GOSSIP_IS_STREAM (stream));
  task = g_task_new (stream, cancellable, callback, user_data);
  g_task_set_source_tag (task, gossip_stream_read_message_async);
  g_task_set_task_data (task, io, message_io_free);
  g_input_stream_read_all_async (g_io_stream_get_input_stream (stream), io->header, 4,
                                 G_PRIORITY_DEFAULT, cancellable, header_read, task);
}

/**
 * gossip_stream_read_message_finish:
 * @stream: a #GossipStream
 * @result: the #GAsyncResult
 * @type: (out) (optional): the message's type
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the message as the codec decoded it;
 *   %NULL without an error when the peer finished the stream between
 *   messages
 */
GVariant *
gossip_stream_read_message_finish (GIOStream *stream, GAsyncResult *result, guint *type,
                                   GError **error)
{
  MessageIO *io;

  g_return_val_if_fail (g_task_is_valid (result, stream), NULL);
  io = g_task_get_task_data (G_TASK (result));
  if (type != NULL)
    *type = io->type;
  return g_task_propagate_pointer (G_TASK (result), error);
}
