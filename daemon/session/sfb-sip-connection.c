/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "config.h"

#include "sfb-sip-connection-private.h"

#include "sfb-error.h"
#include "sfb-log.h"

#define TRACE_DOMAIN "sfbd-sip-trace"

G_DEFINE_FINAL_TYPE (SfbSipConnection, sfb_sip_connection, G_TYPE_OBJECT)

enum
{
  SIGNAL_REQUEST,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void write_next (SfbSipConnection *self);

char *
sfb_sip_connection_new_token (guint n_hex)
{
  GString *token = g_string_sized_new (n_hex);

  for (guint i = 0; i < n_hex; i++)
    g_string_append_c (token, "0123456789abcdef"[g_random_int_range (0, 16)]);
  return g_string_free (token, FALSE);
}

static void
trace_message (const char *direction, SfbSipConnection *self, SfbSipMessage *message)
{
  g_autofree char *text = NULL;

  if (!sfb_log_get_verbose ())
    return;
  text = sfb_sip_message_to_string_redacted (message);
  g_log_structured (TRACE_DOMAIN,
                    G_LOG_LEVEL_DEBUG,
                    "MESSAGE",
                    "%s %s:%u\n%s",
                    direction,
                    self->host,
                    self->port,
                    text);
}

/* ---- sending --------------------------------------------------------- */

void
sfb_sip_connection_queue_bytes (SfbSipConnection *self, GBytes *bytes)
{
  g_queue_push_tail (&self->write_queue, g_bytes_ref (bytes));
  self->last_sent = g_get_monotonic_time ();
  write_next (self);
  sfb_sip_connection_rearm_keepalive (self);
}

static void
on_write_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbSipConnection) self = user_data;
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&self->writing, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        sfb_sip_connection_fail (self,
                                 g_error_new (SFB_ERROR,
                                              SFB_ERROR_NOT_REACHABLE,
                                              "Lost the connection to %s:%u while sending: %s",
                                              self->host,
                                              self->port,
                                              error->message));
      return;
    }
  write_next (self);
}

static void
write_next (SfbSipConnection *self)
{
  gsize len;
  const void *data;

  if (self->writing != NULL || self->closed || g_queue_is_empty (&self->write_queue))
    return;
  /* one write per SIP message: one TLS record, one TCP segment with NODELAY
   * (docs/protocol.md §17.15) */
  self->writing = g_queue_pop_head (&self->write_queue);
  data = g_bytes_get_data (self->writing, &len);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (self->connection)),
                                   data,
                                   len,
                                   G_PRIORITY_DEFAULT,
                                   self->io_cancellable,
                                   on_write_done,
                                   g_object_ref (self));
}

gboolean
sfb_sip_connection_prepare_outgoing (SfbSipConnection *self, SfbSipMessage *message, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (self->closed)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_NOT_REACHABLE,
                   "The connection to %s:%u is closed",
                   self->host,
                   self->port);
      return FALSE;
    }
  if (self->security != NULL && !sfb_sip_security_authorize (self->security, message, &local_error))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_AUTH_FAILED,
                   "Could not sign a message to %s: %s",
                   self->host,
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}

void
sfb_sip_connection_send_message (SfbSipConnection *self, SfbSipMessage *message)
{
  g_autoptr (GBytes) bytes = sfb_sip_message_to_bytes (message);

  trace_message ("->", self, message);
  sfb_sip_connection_queue_bytes (self, bytes);
}
gboolean
sfb_sip_connection_send_response (SfbSipConnection *self, SfbSipMessage *response, GError **error)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), FALSE);

  if (!sfb_sip_connection_prepare_outgoing (self, response, error))
    return FALSE;
  sfb_sip_connection_send_message (self, response);
  return TRUE;
}

/* ---- receiving ------------------------------------------------------- */

static void
handle_message (SfbSipConnection *self, SfbSipMessage *message)
{
  g_autoptr (GError) error = NULL;

  trace_message ("<-", self, message);
  if (!sfb_sip_message_validate (message, &error))
    {
      g_debug ("Invalid message from %s ignored: %s", self->host, error->message);
      return;
    }
  if (self->security != NULL && !sfb_sip_security_verify (self->security, message, &error))
    {
      /* not the credentials: the bytes changed on the way */
      sfb_sip_connection_fail (
          self,
          g_error_new (SFB_ERROR,
                       SFB_ERROR_SIGNATURE_INVALID,
                       "A message from %s failed signature verification (%s): "
                       "something between the server and this computer changes "
                       "the messages (a proxy that rewrites SIP, or an attack). "
                       "The connection was dropped; ask your administrator or "
                       "try another network",
                       self->host,
                       error->message));
      return;
    }
  if (sfb_sip_message_is_request (message))
    g_signal_emit (self, signals[SIGNAL_REQUEST], 0, message);
  else
    sfb_sip_connection_handle_response (self, message);
}

static void
on_read_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbSipConnection) self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (self->closed)
    return;
  if (n < 0)
    {
      sfb_sip_connection_fail (self,
                               g_error_new (SFB_ERROR,
                                            SFB_ERROR_NOT_REACHABLE,
                                            "Lost the connection to %s:%u: %s",
                                            self->host,
                                            self->port,
                                            error->message));
      return;
    }
  if (n == 0)
    {
      sfb_sip_connection_fail (self,
                               g_error_new (SFB_ERROR,
                                            SFB_ERROR_NOT_REACHABLE,
                                            "%s:%u closed the connection",
                                            self->host,
                                            self->port));
      return;
    }
  if (!sfb_sip_parser_feed (self->parser, (const char *) self->read_buffer, n, &error))
    {
      /* messages completed before the error still count */
      g_autoptr (GError) parse_error = g_steal_pointer (&error);

      for (SfbSipMessage *m; !self->closed && (m = sfb_sip_parser_pop (self->parser)) != NULL;)
        {
          g_autoptr (SfbSipMessage) message = m;
          handle_message (self, message);
        }
      if (!self->closed)
        sfb_sip_connection_fail (
            self,
            g_error_new (SFB_ERROR,
                         SFB_ERROR_NOT_REACHABLE,
                         "%s:%u sent data that is not SIP (%s); the connection was "
                         "dropped",
                         self->host,
                         self->port,
                         parse_error->message));
      return;
    }
  for (SfbSipMessage *m; !self->closed && (m = sfb_sip_parser_pop (self->parser)) != NULL;)
    {
      g_autoptr (SfbSipMessage) message = m;
      handle_message (self, message);
    }
  if (!self->closed)
    sfb_sip_connection_watch_liveness (self, (gsize) n);
  if (!self->closed)
    sfb_sip_connection_start_read (self);
}

void
sfb_sip_connection_start_read (SfbSipConnection *self)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (self->connection)),
                             self->read_buffer,
                             sizeof self->read_buffer,
                             G_PRIORITY_DEFAULT,
                             self->io_cancellable,
                             on_read_done,
                             g_object_ref (self));
}

/* ---- closing --------------------------------------------------------- */

static void
shut_down (SfbSipConnection *self, const GError *reason)
{
  self->closed = TRUE;
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_handle_id (&self->pong_id, g_source_remove);
  g_clear_handle_id (&self->partial_id, g_source_remove);
  g_cancellable_cancel (self->io_cancellable);
  g_queue_clear_full (&self->write_queue, (GDestroyNotify) g_bytes_unref);
  if (self->connection != NULL)
    g_io_stream_close_async (G_IO_STREAM (self->connection), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  while (self->transactions->len > 0)
    sfb_sip_connection_transaction_complete (
        g_ptr_array_index (self->transactions, 0),
        NULL,
        reason != NULL ? g_error_copy (reason)
                       : g_error_new (SFB_ERROR,
                                      SFB_ERROR_NOT_REACHABLE,
                                      "The connection to %s:%u was closed",
                                      self->host,
                                      self->port));
}

void
sfb_sip_connection_fail (SfbSipConnection *self, GError *error)
{
  g_autoptr (GError) reason = error;
  g_autoptr (SfbSipConnection) keep G_GNUC_UNUSED = g_object_ref (self);

  if (self->closed)
    return;
  g_info ("Connection to %s:%u ended: %s", self->host, self->port, reason->message);
  shut_down (self, reason);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, reason);
}

void
sfb_sip_connection_close (SfbSipConnection *self)
{
  g_return_if_fail (SFB_IS_SIP_CONNECTION (self));
  if (self->closed)
    return;
  g_debug ("Closing the connection to %s:%u", self->host, self->port);
  shut_down (self, NULL);
}

gboolean
sfb_sip_connection_is_closed (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), TRUE);
  return self->closed;
}
/* ---- accessors ------------------------------------------------------- */

const char *
sfb_sip_connection_get_host (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), NULL);
  return self->host;
}

guint16
sfb_sip_connection_get_port (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), 0);
  return self->port;
}

const char *
sfb_sip_connection_get_local_ip (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), NULL);
  return self->local_ip;
}

guint16
sfb_sip_connection_get_local_port (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), 0);
  return self->local_port;
}

const char *
sfb_sip_connection_get_local_address (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), NULL);
  return self->local_address;
}

const char *
sfb_sip_connection_get_interface (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), NULL);
  return self->interface;
}

const char *
sfb_sip_connection_get_remote_ip (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), NULL);
  return self->remote_ip != NULL ? self->remote_ip : "";
}

const char *
sfb_sip_connection_get_address_source (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), NULL);
  return self->address_source != NULL ? self->address_source : "";
}

const char *
sfb_sip_connection_get_peer_subject (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), NULL);
  return self->peer_subject;
}

GBytes *
sfb_sip_connection_get_peer_certificate (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), NULL);
  return self->peer_certificate;
}

void
sfb_sip_connection_set_security (SfbSipConnection *self, SfbSipSecurity *security)
{
  g_return_if_fail (SFB_IS_SIP_CONNECTION (self));
  g_set_object (&self->security, security);
}

SfbSipSecurity *
sfb_sip_connection_get_security (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), NULL);
  return self->security;
}

/* ---- object ---------------------------------------------------------- */

static void
sfb_sip_connection_dispose (GObject *object)
{
  SfbSipConnection *self = SFB_SIP_CONNECTION (object);

  if (!self->closed)
    shut_down (self, NULL);
  g_clear_object (&self->connection);
  g_clear_object (&self->security);
  G_OBJECT_CLASS (sfb_sip_connection_parent_class)->dispose (object);
}

static void
sfb_sip_connection_finalize (GObject *object)
{
  SfbSipConnection *self = SFB_SIP_CONNECTION (object);

  g_ptr_array_unref (self->transactions);
  g_clear_object (&self->io_cancellable);
  g_clear_object (&self->parser);
  g_free (self->host);
  g_free (self->local_ip);
  g_free (self->local_address);
  g_free (self->remote_ip);
  g_free (self->address_source);
  g_free (self->interface);
  g_free (self->peer_subject);
  g_clear_pointer (&self->peer_certificate, g_bytes_unref);
  g_clear_pointer (&self->writing, g_bytes_unref);
  G_OBJECT_CLASS (sfb_sip_connection_parent_class)->finalize (object);
}

static void
sfb_sip_connection_class_init (SfbSipConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_sip_connection_dispose;
  object_class->finalize = sfb_sip_connection_finalize;

  /* request(SfbSipMessage *request): an incoming, verified request */
  signals[SIGNAL_REQUEST] = g_signal_new ("request",
                                          G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST,
                                          0,
                                          NULL,
                                          NULL,
                                          NULL,
                                          G_TYPE_NONE,
                                          1,
                                          SFB_TYPE_SIP_MESSAGE);
  /* closed(GError *reason): the connection ended without close() */
  signals[SIGNAL_CLOSED] = g_signal_new ("closed",
                                         G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST,
                                         0,
                                         NULL,
                                         NULL,
                                         NULL,
                                         G_TYPE_NONE,
                                         1,
                                         G_TYPE_ERROR);
}

static void
sfb_sip_connection_init (SfbSipConnection *self)
{
  self->io_cancellable = g_cancellable_new ();
  self->parser = sfb_sip_parser_new ();
  self->transactions
      = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_sip_connection_transaction_free);
  g_queue_init (&self->write_queue);
}
