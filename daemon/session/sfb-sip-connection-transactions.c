/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "config.h"

/* SfbSipConnection's client transactions: the table of requests waiting
 * for their final response, matched by top Via branch and CSeq. */

#include "sfb-sip-connection-private.h"

#include "sfb-error.h"
#include "sfb-sip-via.h"

#define MAX_TRANSACTIONS 256

void
sfb_sip_connection_transaction_free (Transaction *tx)
{
  if (tx->timeout_source != NULL)
    {
      g_source_destroy (tx->timeout_source);
      g_source_unref (tx->timeout_source);
    }
  if (tx->cancel_source != NULL)
    {
      g_source_destroy (tx->cancel_source);
      g_source_unref (tx->cancel_source);
    }
  g_clear_object (&tx->task);
  g_free (tx->branch);
  g_free (tx->method);
  g_free (tx);
}

/* Removes @tx and completes its task with @response or @error (taken). */
void
sfb_sip_connection_transaction_complete (Transaction *tx, SfbSipMessage *response, GError *error)
{
  SfbSipConnection *self = tx->self;
  g_autoptr (GTask) task = g_steal_pointer (&tx->task);

  g_ptr_array_remove (self->transactions, tx);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_object_ref (response), g_object_unref);
}

static gboolean
on_transaction_timeout (gpointer user_data)
{
  Transaction *tx = user_data;

  sfb_sip_connection_transaction_complete (
      tx,
      NULL,
      g_error_new (SFB_ERROR,
                   SFB_ERROR_TIMED_OUT,
                   "%s:%u did not answer %s within the time allowed",
                   tx->self->host,
                   tx->self->port,
                   tx->method));
  return G_SOURCE_REMOVE;
}

static gboolean
on_transaction_cancelled (GCancellable *cancellable, gpointer user_data)
{
  Transaction *tx = user_data;

  sfb_sip_connection_transaction_complete (
      tx, NULL, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled"));
  return G_SOURCE_REMOVE;
}

static char *
top_via_branch (SfbSipMessage *message)
{
  const char *via = sfb_sip_message_get_header (message, "Via");
  g_autoptr (GPtrArray) vias = NULL;
  const char *branch;

  if (via == NULL)
    return NULL;
  vias = sfb_sip_via_parse_list (via, -1, NULL);
  if (vias == NULL || vias->len == 0)
    return NULL;
  branch = sfb_sip_via_get_branch (g_ptr_array_index (vias, 0));
  return g_strdup (branch);
}

void
sfb_sip_connection_handle_response (SfbSipConnection *self, SfbSipMessage *response)
{
  g_autofree char *branch = top_via_branch (response);
  g_autofree char *method = NULL;
  guint32 cseq = 0;

  if (sfb_sip_message_get_status_code (response) < 200)
    return; /* provisional: the transaction goes on */
  if (branch == NULL || !sfb_sip_message_get_cseq (response, &cseq, &method, NULL))
    {
      g_debug ("Response without a usable Via branch or CSeq from %s ignored", self->host);
      return;
    }
  for (guint i = 0; i < self->transactions->len; i++)
    {
      Transaction *tx = g_ptr_array_index (self->transactions, i);

      if (tx->cseq == cseq && g_ascii_strcasecmp (tx->method, method) == 0
          && g_strcmp0 (tx->branch, branch) == 0)
        {
          sfb_sip_connection_transaction_complete (tx, response, NULL);
          return;
        }
    }
  g_debug ("Response %u to %s %u from %s matches no transaction; ignored",
           sfb_sip_message_get_status_code (response),
           method,
           cseq,
           self->host);
}
void
sfb_sip_connection_send_request_async (SfbSipConnection *self,
                                       SfbSipMessage *request,
                                       guint timeout_ms,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *method = NULL;
  Transaction *tx;
  guint32 cseq = 0;

  g_return_if_fail (SFB_IS_SIP_CONNECTION (self));
  g_return_if_fail (SFB_IS_SIP_MESSAGE (request));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_sip_connection_send_request_async);
  if (g_task_return_error_if_cancelled (task))
    return;

  if (sfb_sip_message_get_header (request, "Via") == NULL)
    {
      g_autofree char *branch = sfb_sip_connection_new_token (16);
      g_autofree char *via = g_strdup_printf (
          "SIP/2.0/TLS %s:%u;branch=z9hG4bK%s", self->local_ip, self->local_port, branch);

      sfb_sip_message_prepend_header (request, "Via", via);
    }
  if (sfb_sip_message_get_header (request, "Max-Forwards") == NULL)
    sfb_sip_message_append_header (request, "Max-Forwards", "70");
  if (!sfb_sip_message_get_cseq (request, &cseq, &method, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->transactions->len >= MAX_TRANSACTIONS)
    {
      g_task_return_new_error (
          task, SFB_ERROR, SFB_ERROR_FAILED, "Too many requests pending on %s", self->host);
      return;
    }
  if (!sfb_sip_connection_prepare_outgoing (self, request, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  tx = g_new0 (Transaction, 1);
  tx->self = self;
  tx->task = g_steal_pointer (&task);
  tx->branch = top_via_branch (request);
  tx->cseq = cseq;
  tx->method = g_steal_pointer (&method);
  tx->timeout_source
      = g_timeout_source_new (timeout_ms > 0 ? timeout_ms : SFB_SIP_CONNECTION_DEFAULT_TIMEOUT_MS);
  g_source_set_callback (tx->timeout_source, on_transaction_timeout, tx, NULL);
  g_source_attach (tx->timeout_source, g_main_context_get_thread_default ());
  if (cancellable != NULL)
    {
      tx->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (tx->cancel_source, G_SOURCE_FUNC (on_transaction_cancelled), tx, NULL);
      g_source_attach (tx->cancel_source, g_main_context_get_thread_default ());
    }
  g_ptr_array_add (self->transactions, tx);
  sfb_sip_connection_end_hold (self);
  sfb_sip_connection_send_message (self, request);
}

SfbSipMessage *
sfb_sip_connection_send_request_finish (SfbSipConnection *self,
                                        GAsyncResult *result,
                                        GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
sfb_sip_connection_send_ack (SfbSipConnection *self, SfbSipMessage *request, GError **error)
{
  g_autofree char *branch = sfb_sip_connection_new_token (16);
  g_autofree char *via = NULL;

  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), FALSE);

  via = g_strdup_printf (
      "SIP/2.0/TLS %s:%u;branch=z9hG4bK%s", self->local_ip, self->local_port, branch);
  sfb_sip_message_prepend_header (request, "Via", via);
  if (sfb_sip_message_get_header (request, "Max-Forwards") == NULL)
    sfb_sip_message_append_header (request, "Max-Forwards", "70");
  if (!sfb_sip_connection_prepare_outgoing (self, request, error))
    return FALSE;
  sfb_sip_connection_send_message (self, request);
  return TRUE;
}
