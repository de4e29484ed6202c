/* gossip-stream.h: node-to-node streams.
 *
 * A stream is a #GIOStream between two nodes, opened with
 * gossip_cluster_open_stream_async() and answered by the handler the other
 * node registered with gossip_cluster_handle_stream().  It runs over a
 * transport channel of its own (TCP, WebSocket), each frame compressed and
 * encrypted with the cluster's plugins.  The writer may run at most
 * `[streams] window` bytes ahead of what the reader has consumed, so a slow
 * reader stalls the writer instead of growing memory.
 *
 * Closing the output stream tells the peer there is no more data (its reads
 * return 0 after what was sent); g_io_stream_close() closes both ways.
 * gossip_stream_abort() ends a stream at once, and the peer's reads and
 * writes fail with the reason.  A peer that dies or disconnects makes reads
 * and writes fail with %G_IO_ERROR_CONNECTION_CLOSED or
 * %G_IO_ERROR_BROKEN_PIPE: never a hang.
 *
 * Streams live on the cluster's main context.  Use the asynchronous
 * methods there; the synchronous ones iterate the context until they can
 * complete, so they may only be called from the thread that runs it.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GOSSIP_TYPE_STREAM (gossip_stream_get_type ())
G_DECLARE_FINAL_TYPE (GossipStream, gossip_stream, GOSSIP, STREAM, GIOStream)

const char *gossip_stream_get_peer_id (GIOStream *stream);
guint gossip_stream_get_message_type (GIOStream *stream);
void gossip_stream_abort (GIOStream *stream, const char *reason);

void gossip_stream_write_message_async (GIOStream *stream, guint type, GVariant *message,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
gboolean gossip_stream_write_message_finish (GIOStream *stream, GAsyncResult *result,
                                             GError **error);
void gossip_stream_read_message_async (GIOStream *stream, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
GVariant *gossip_stream_read_message_finish (GIOStream *stream, GAsyncResult *result, guint *type,
                                             GError **error);

G_END_DECLS
