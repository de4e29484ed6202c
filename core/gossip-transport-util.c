/* gossip-transport-util.c: helpers for the authors of transport plugins. */
#include "config.h"

#include "gossip/gossip-transport.h"
#include "gossip-cluster-private.h"

/* How long gossip_transport_push_context() waits for another thread to let
 * go of the context.  glib-networking holds it for one certificate check. */
#define PUSH_CONTEXT_WAIT_US (2 * G_USEC_PER_SEC)

/*
 * _gossip_main_context_acquire:
 *
 * g_main_context_acquire(), waiting up to two seconds for another thread
 * to let go.  A thread that is not iterating a context does not own it, and
 * glib-networking's TLS handshake thread then takes it for a moment (see
 * gossip_transport_push_context()); a plain acquire in that moment fails
 * although the caller is on the right thread.
 */
gboolean
_gossip_main_context_acquire (GMainContext *context)
{
  gint64 deadline = g_get_monotonic_time () + PUSH_CONTEXT_WAIT_US;
  gulong pause_us = 10;

  while (!g_main_context_acquire (context))
    {
      if (g_get_monotonic_time () >= deadline)
        return FALSE;
      g_usleep (pause_us);
      pause_us = MIN (pause_us * 2, 1000);
    }
  return TRUE;
}

/**
 * gossip_transport_push_context:
 * @context: the transport's context (#GossipTransportParams.context)
 * @error: where to say why it could not be done
 *
 * Makes @context the calling thread's thread-default context, so that an
 * asynchronous GIO call started next (a connect, a resolve, a TLS handshake)
 * reports back on it.  Undo it with gossip_transport_pop_context().
 *
 * Use this instead of g_main_context_push_thread_default().  A transport is
 * called from its context's thread, but not always from inside an iteration
 * of the context: an application may send between iterations.  The context
 * is then owned by nobody, and glib-networking's TLS handshake thread takes
 * it for a moment (g_main_context_invoke() runs the certificate check there
 * when no thread owns the context).  g_main_context_push_thread_default()
 * called in that moment fails to acquire the context, and the pop that
 * follows corrupts its ownership count: GLib later aborts.  This function
 * waits for the context to be free (a short moment) and fails, without
 * touching the context, if another thread holds it for more than two
 * seconds, which means the caller is not on the context's thread at all.
 *
 * Returns: %TRUE if @context was pushed; %FALSE with @error otherwise
 */
gboolean
gossip_transport_push_context (GMainContext *context, GError **error)
{
  g_return_val_if_fail (context != NULL, FALSE);
  if (!_gossip_main_context_acquire (context))
    {
      g_set_error_literal (error, GOSSIP_TRANSPORT_ERROR, GOSSIP_TRANSPORT_ERROR_CLOSED,
                           "the transport's main context is owned by another thread: "
                           "transports must be used from their context's thread");
      return FALSE;
    }
  /* push_thread_default acquires again (recursively, since we own it now)
   * and pop releases that; our own acquisition ends here. */
  g_main_context_push_thread_default (context);
  g_main_context_release (context);
  return TRUE;
}

/**
 * gossip_transport_pop_context:
 * @context: the context given to a successful gossip_transport_push_context()
 *
 * Undoes gossip_transport_push_context().
 */
void
gossip_transport_pop_context (GMainContext *context)
{
  g_main_context_pop_thread_default (context);
}

/* ------------------------------------------------------------------------ */
/* Listening */

#define LISTEN_BACKLOG       128
#define ACCEPTS_PER_DISPATCH 16

/**
 * gossip_transport_listen_tcp:
 * @address: where to listen; port 0 picks one
 * @error: where to say why it could not
 *
 * A non-blocking TCP socket bound to @address (address reuse on) and
 * listening, with a backlog of 128.  Watch it with
 * gossip_transport_accept_source_new().
 *
 * Returns: (transfer full): the socket, or %NULL with @error
 */
GSocket *
gossip_transport_listen_tcp (GSocketAddress *address, GError **error)
{
  g_autoptr (GSocket) listener = NULL;

  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (address), NULL);
  listener = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                           G_SOCKET_PROTOCOL_TCP, error);
  if (listener == NULL)
    return NULL;
  g_socket_set_blocking (listener, FALSE);
  g_socket_set_listen_backlog (listener, LISTEN_BACKLOG);
  if (!g_socket_bind (listener, address, TRUE, error) || !g_socket_listen (listener, error))
    return NULL;
  return g_steal_pointer (&listener);
}

typedef struct
{
  GossipTransportAcceptFunc func;
  gpointer user_data;
} AcceptWatch;

static gboolean
accept_ready (GSocket *listener, GIOCondition condition, gpointer data)
{
  AcceptWatch *w = data;

  /* A bounded batch, so that a flood of connections cannot starve the rest
   * of the context. */
  for (guint i = 0; i < ACCEPTS_PER_DISPATCH; i++)
    {
      g_autoptr (GError) error = NULL;
      GSocket *socket = g_socket_accept (listener, NULL, &error);

      if (socket == NULL)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("accept failed: %s", error->message);
          break;
        }
      w->func (socket, w->user_data);
      if (g_socket_is_closed (listener))
        break; /* the callback stopped the listener */
    }
  return G_SOURCE_CONTINUE;
}

/**
 * gossip_transport_accept_source_new:
 * @listener: a listening socket (gossip_transport_listen_tcp())
 * @func: (scope notified): called with each accepted connection
 * @user_data: for @func
 *
 * A source that accepts connections on @listener, at most 16 per dispatch,
 * and gives each to @func.  Attach it to the transport's context; destroy it
 * (g_source_destroy()) before closing @listener.
 *
 * Returns: (transfer full): the source, not attached
 */
GSource *
gossip_transport_accept_source_new (GSocket *listener, GossipTransportAcceptFunc func,
                                    gpointer user_data)
{
  GSource *source;
  AcceptWatch *w;

  g_return_val_if_fail (G_IS_SOCKET (listener), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  w = g_new0 (AcceptWatch, 1);
  w->func = func;
  w->user_data = user_data;
  source = g_socket_create_source (listener, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (accept_ready), w, g_free);
  g_source_set_static_name (source, "gossip transport listener");
  return source;
}
