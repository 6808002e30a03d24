/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "config.h"

#include "sfb-sip-connection.h"

#include "sfb-error.h"
#include "sfb-log.h"
#include "sfb-sip-parser.h"
#include "sfb-sip-via.h"
#include "sfb-tls.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#define TRACE_DOMAIN "sfbd-sip-trace"
#define READ_BUFFER_SIZE 16384
#define CONNECT_TIMEOUT_S 15
#define MAX_TRANSACTIONS 256
/* Liveness (see "liveness" below and sfbd(8)).  RFC 5626 §4.4.1: a CRLF
 * pong answers a CRLFCRLF ping within 10 s. */
#define PONG_TIMEOUT_S 10
/* a server that answers pings is pinged at least this often when idle */
#define LIVENESS_PING_S 60
/* inside a message: no byte for this long, or the message not complete
 * this long after its first byte, ends the connection */
#define PARTIAL_STALL_S 15
#define PARTIAL_MAX_S 60

typedef struct
{
  SfbSipConnection *self; /* unowned: the connection owns the transaction */
  GTask *task;
  char *branch;
  guint32 cseq;
  char *method;
  GSource *timeout_source;
  GSource *cancel_source;
} Transaction;

struct _SfbSipConnection
{
  GObject parent_instance;

  char *host;
  guint16 port;
  GIOStream *connection; /* a GSocketConnection, or any stream (tests) */
  GCancellable *io_cancellable;
  SfbSipParser *parser;
  SfbSipSecurity *security;
  char *local_ip;
  guint16 local_port;
  char *local_address;
  char *interface;
  char *peer_subject;
  GBytes *peer_certificate; /* DER, for TLS-DSK */

  guint8 read_buffer[READ_BUFFER_SIZE];
  GQueue write_queue; /* of GBytes */
  GBytes *writing;    /* the message being written */

  GPtrArray *transactions; /* of Transaction */

  guint keepalive_interval; /* s, 0: off */
  guint keepalive_id;
  gint64 last_sent; /* monotonic µs */
  guint64 keepalives_sent;

  /* liveness */
  gboolean ping_outstanding; /* a ping went out, nothing came back yet */
  gboolean answers_pings;    /* the server answered a ping with a pong */
  guint64 line_ends_seen;    /* the parser's keep-alive line ends so far */
  guint pong_id;
  gint64 partial_since; /* monotonic µs: first byte of the message in progress, 0: none */
  gint64 last_received; /* monotonic µs */
  guint partial_id;

  gboolean closed;
};

G_DEFINE_FINAL_TYPE (SfbSipConnection, sfb_sip_connection, G_TYPE_OBJECT)

enum
{
  SIGNAL_REQUEST,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void fail_connection (SfbSipConnection *self, GError *error);
static void start_read (SfbSipConnection *self);
static void write_next (SfbSipConnection *self);
static void rearm_keepalive (SfbSipConnection *self);
static guint keepalive_interval (SfbSipConnection *self);
static void expect_pong (SfbSipConnection *self);
static void watch_liveness (SfbSipConnection *self, gsize received);

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

/* ---- transactions ---------------------------------------------------- */

static void
transaction_free (Transaction *tx)
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
static void
transaction_complete (Transaction *tx, SfbSipMessage *response, GError *error)
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

  transaction_complete (tx,
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

  transaction_complete (
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

static void
handle_response (SfbSipConnection *self, SfbSipMessage *response)
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
          transaction_complete (tx, response, NULL);
          return;
        }
    }
  g_debug ("Response %u to %s %u from %s matches no transaction; ignored",
           sfb_sip_message_get_status_code (response),
           method,
           cseq,
           self->host);
}

/* ---- sending --------------------------------------------------------- */

static void
queue_bytes (SfbSipConnection *self, GBytes *bytes)
{
  g_queue_push_tail (&self->write_queue, g_bytes_ref (bytes));
  self->last_sent = g_get_monotonic_time ();
  write_next (self);
  rearm_keepalive (self);
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
        fail_connection (self,
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
   * (protocol.md §17.15) */
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

static gboolean
prepare_outgoing (SfbSipConnection *self, SfbSipMessage *message, GError **error)
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

static void
send_message (SfbSipConnection *self, SfbSipMessage *message)
{
  g_autoptr (GBytes) bytes = sfb_sip_message_to_bytes (message);

  trace_message ("->", self, message);
  queue_bytes (self, bytes);
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
  if (!prepare_outgoing (self, request, &error))
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
  send_message (self, request);
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
sfb_sip_connection_send_response (SfbSipConnection *self, SfbSipMessage *response, GError **error)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), FALSE);

  if (!prepare_outgoing (self, response, error))
    return FALSE;
  send_message (self, response);
  return TRUE;
}

/* ---- keep-alive ------------------------------------------------------ */

static gboolean
on_keepalive (gpointer user_data)
{
  SfbSipConnection *self = user_data;
  static const char ping[] = "\r\n\r\n";
  gint64 idle = g_get_monotonic_time () - self->last_sent;

  self->keepalive_id = 0;
  if (self->closed || self->keepalive_interval == 0)
    return G_SOURCE_REMOVE;
  if (idle >= (gint64) keepalive_interval (self) * G_USEC_PER_SEC - G_USEC_PER_SEC / 2)
    {
      g_autoptr (GBytes) bytes = g_bytes_new_static (ping, 4);

      self->keepalives_sent++;
      g_debug ("Keep-alive to %s:%u", self->host, self->port);
      queue_bytes (self, bytes);
      expect_pong (self);
      return G_SOURCE_REMOVE;
    }
  rearm_keepalive (self);
  return G_SOURCE_REMOVE;
}

static void
rearm_keepalive (SfbSipConnection *self)
{
  gint64 due;
  gint64 delay_ms;

  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->closed || self->keepalive_interval == 0)
    return;
  due = self->last_sent + (gint64) keepalive_interval (self) * G_USEC_PER_SEC;
  delay_ms = MAX ((due - g_get_monotonic_time ()) / 1000, 10);
  self->keepalive_id = g_timeout_add ((guint) delay_ms, on_keepalive, self);
}

void
sfb_sip_connection_set_keepalive_interval (SfbSipConnection *self, guint seconds)
{
  g_return_if_fail (SFB_IS_SIP_CONNECTION (self));
  self->keepalive_interval = seconds;
  rearm_keepalive (self);
}

guint64
sfb_sip_connection_get_n_keepalives_sent (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), 0);
  return self->keepalives_sent;
}

/* ---- liveness -------------------------------------------------------- *
 *
 * A server that goes silent without FIN or RST (hung, or the path
 * black-holes) is otherwise noticed only when a transaction times out.
 * Whether SfB front ends answer CRLFCRLF pings is not documented, so the
 * connection learns it: once the server answered a ping with a CRLF pong
 * (one line end, while a ping was out), every later ping must be
 * answered (by the pong or by anything else) within PONG_TIMEOUT_S, and
 * pings go at least every LIVENESS_PING_S when idle.  A server that never
 * answers a ping is never held to it.  Independently, a message that
 * stalls (PARTIAL_STALL_S without a byte inside it, or not complete after
 * PARTIAL_MAX_S) would swallow every later message: it ends the
 * connection. */

static guint
keepalive_interval (SfbSipConnection *self)
{
  if (self->answers_pings)
    return MIN (self->keepalive_interval, LIVENESS_PING_S);
  return self->keepalive_interval;
}

static gboolean
on_pong_timeout (gpointer user_data)
{
  SfbSipConnection *self = user_data;

  self->pong_id = 0;
  if (self->closed || !self->ping_outstanding)
    return G_SOURCE_REMOVE;
  if (!self->answers_pings)
    {
      /* never answered one: nothing to expect */
      self->ping_outstanding = FALSE;
      return G_SOURCE_REMOVE;
    }
  fail_connection (self,
                   g_error_new (SFB_ERROR,
                                SFB_ERROR_NOT_REACHABLE,
                                "%s:%u stopped answering: no answer to a keep-alive within %d s",
                                self->host,
                                self->port,
                                PONG_TIMEOUT_S));
  return G_SOURCE_REMOVE;
}

static void
expect_pong (SfbSipConnection *self)
{
  self->ping_outstanding = TRUE;
  if (self->pong_id == 0)
    self->pong_id = g_timeout_add_seconds (PONG_TIMEOUT_S, on_pong_timeout, self);
}

static gboolean
on_partial_timeout (gpointer user_data)
{
  SfbSipConnection *self = user_data;
  gint64 now = g_get_monotonic_time ();

  self->partial_id = 0;
  if (self->closed || self->partial_since == 0)
    return G_SOURCE_REMOVE;
  fail_connection (self,
                   g_error_new (SFB_ERROR,
                                SFB_ERROR_NOT_REACHABLE,
                                "%s:%u stalled inside a message (%" G_GSIZE_FORMAT
                                " bytes of it in %" G_GINT64_FORMAT " s, none for %" G_GINT64_FORMAT
                                " s)",
                                self->host,
                                self->port,
                                sfb_sip_parser_get_buffered (self->parser),
                                (now - self->partial_since) / G_USEC_PER_SEC,
                                (now - self->last_received) / G_USEC_PER_SEC));
  return G_SOURCE_REMOVE;
}

/* After a read of @received bytes (all parsed). */
static void
watch_liveness (SfbSipConnection *self, gsize received)
{
  gint64 now = g_get_monotonic_time ();
  guint64 line_ends = sfb_sip_parser_get_n_keepalives (self->parser);
  gint64 due;

  if (received > 0)
    {
      if (self->ping_outstanding && line_ends == self->line_ends_seen + 1 && !self->answers_pings)
        {
          self->answers_pings = TRUE;
          g_debug ("%s:%u answers keep-alives: pinging at least every %d s, expecting an "
                   "answer within %d s",
                   self->host,
                   self->port,
                   LIVENESS_PING_S,
                   PONG_TIMEOUT_S);
          rearm_keepalive (self);
        }
      self->ping_outstanding = FALSE;
      g_clear_handle_id (&self->pong_id, g_source_remove);
      self->last_received = now;
    }
  self->line_ends_seen = line_ends;
  if (!sfb_sip_parser_has_partial (self->parser))
    {
      self->partial_since = 0;
      g_clear_handle_id (&self->partial_id, g_source_remove);
      return;
    }
  if (self->partial_since == 0)
    self->partial_since = now;
  due = MIN (self->last_received + PARTIAL_STALL_S * G_USEC_PER_SEC,
             self->partial_since + PARTIAL_MAX_S * G_USEC_PER_SEC);
  g_clear_handle_id (&self->partial_id, g_source_remove);
  self->partial_id = g_timeout_add (
      (guint) CLAMP ((due - now) / 1000, 10, G_MAXINT32), on_partial_timeout, self);
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
      fail_connection (self,
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
    handle_response (self, message);
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
      fail_connection (self,
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
      fail_connection (self,
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
        fail_connection (self,
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
    watch_liveness (self, (gsize) n);
  if (!self->closed)
    start_read (self);
}

static void
start_read (SfbSipConnection *self)
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
    transaction_complete (g_ptr_array_index (self->transactions, 0),
                          NULL,
                          reason != NULL ? g_error_copy (reason)
                                         : g_error_new (SFB_ERROR,
                                                        SFB_ERROR_NOT_REACHABLE,
                                                        "The connection to %s:%u was closed",
                                                        self->host,
                                                        self->port));
}

static void
fail_connection (SfbSipConnection *self, GError *error)
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

/* ---- connecting ------------------------------------------------------ */

typedef struct
{
  char *host;
  guint16 port;
  GTlsDatabase *tls_database;
  GTlsCertificateFlags certificate_errors;
  GTlsCertificate *rejected; /* the peer certificate of certificate_errors */
  GSocketClient *client;
  GList *addresses; /* of GInetAddress, from the resolver */
  GList *next_address;
  GError *first_error;
} ConnectData;

static void
connect_data_free (ConnectData *data)
{
  g_free (data->host);
  g_clear_object (&data->tls_database);
  g_clear_object (&data->rejected);
  g_clear_object (&data->client);
  g_resolver_free_addresses (data->addresses);
  g_clear_error (&data->first_error);
  g_free (data);
}

static gboolean
on_accept_certificate (GTlsConnection *tls,
                       GTlsCertificate *certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  ConnectData *data = user_data;

  data->certificate_errors = errors;
  g_set_object (&data->rejected, certificate);
  return FALSE; /* never accept what the trust store rejected */
}

static void on_connected (GObject *source, GAsyncResult *result, gpointer user_data);
static void connect_next_address (GTask *task);
static void forget_cached_addresses (const char *host);

/* TLS 1.2 session resumption (docs/benchmarks.md).  glib-networking resumes
 * TLS 1.3 sessions by itself, TLS 1.2 sessions only when told to with
 * g_tls_client_connection_copy_session_state() from an earlier connection.
 * So the last TLS connection that completed a verified handshake with each
 * server (name, port and trust database) is kept here, and a new connection
 * to the same server resumes its session.  Never across names or trust
 * databases: a resumed handshake has no certificate to check again. */
static GHashTable *resumable; /* "database/host:port" -> GTlsClientConnection */

static char *
resumable_key (ConnectData *data)
{
  g_autofree char *host = g_ascii_strdown (data->host, -1);

  return g_strdup_printf ("%p/%s:%u", (gpointer) data->tls_database, host, data->port);
}

static void
resume_session (ConnectData *data, GTlsClientConnection *tls)
{
  g_autofree char *key = NULL;
  GTlsClientConnection *previous;

  /* glib-networking computes no session ID under g_test_init() */
  if (resumable == NULL || g_test_initialized ())
    return;
  key = resumable_key (data);
  previous = g_hash_table_lookup (resumable, key);
  if (previous != NULL)
    g_tls_client_connection_copy_session_state (tls, previous);
}

static void
remember_session (ConnectData *data, GIOStream *connection)
{
  GIOStream *base = NULL;

  if (G_IS_TCP_WRAPPER_CONNECTION (connection))
    base = g_tcp_wrapper_connection_get_base_io_stream (G_TCP_WRAPPER_CONNECTION (connection));
  if (!G_IS_TLS_CLIENT_CONNECTION (base))
    return;
  if (resumable == NULL)
    resumable = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  if (g_hash_table_size (resumable) >= 64)
    g_hash_table_remove_all (resumable);
  g_hash_table_replace (resumable, resumable_key (data), g_object_ref (base));
}

static void
set_nodelay (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr (GError) error = NULL;

  if (socket != NULL && !g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    g_debug ("Could not set TCP_NODELAY: %s", error->message);
}

static void
on_client_event (GSocketClient *client,
                 GSocketClientEvent event,
                 GSocketConnectable *connectable,
                 GIOStream *connection,
                 gpointer user_data)
{
  ConnectData *data = user_data;

  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (connection))
    set_nodelay (G_SOCKET_CONNECTION (connection));
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && G_IS_TLS_CLIENT_CONNECTION (connection))
    {
      g_autoptr (GSocketConnectable) identity = g_network_address_new (data->host, data->port);

      /* dialled by address (see connect_next_address): the name is what
       * the certificate must match */
      g_tls_client_connection_set_server_identity (G_TLS_CLIENT_CONNECTION (connection), identity);
      if (data->tls_database != NULL)
        g_tls_connection_set_database (G_TLS_CONNECTION (connection), data->tls_database);
      resume_session (data, G_TLS_CLIENT_CONNECTION (connection));
      g_signal_connect (connection, "accept-certificate", G_CALLBACK (on_accept_certificate), data);
    }
}

/* The name of the interface that holds @address ("" when none does). */
static char *
interface_for_address (GInetAddress *address)
{
  struct ifaddrs *list = NULL;
  char *name = NULL;

  if (getifaddrs (&list) != 0)
    return g_strdup ("");
  for (struct ifaddrs *ifa = list; ifa != NULL && name == NULL; ifa = ifa->ifa_next)
    {
      g_autoptr (GSocketAddress) socket_address = NULL;
      gsize len;

      if (ifa->ifa_addr == NULL)
        continue;
      if (ifa->ifa_addr->sa_family == AF_INET)
        len = sizeof (struct sockaddr_in);
      else if (ifa->ifa_addr->sa_family == AF_INET6)
        len = sizeof (struct sockaddr_in6);
      else
        continue;
      socket_address = g_socket_address_new_from_native (ifa->ifa_addr, len);
      if (G_IS_INET_SOCKET_ADDRESS (socket_address)
          && g_inet_address_equal (
              g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (socket_address)), address))
        name = g_strdup (ifa->ifa_name);
    }
  freeifaddrs (list);
  return name != NULL ? name : g_strdup ("");
}

static void
record_endpoints (SfbSipConnection *self)
{
  g_autoptr (GSocketAddress) local = NULL;
  GIOStream *base = NULL;

  if (G_IS_SOCKET_CONNECTION (self->connection))
    local = g_socket_connection_get_local_address (G_SOCKET_CONNECTION (self->connection), NULL);
  if (G_IS_INET_SOCKET_ADDRESS (local))
    {
      GInetAddress *address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));

      self->local_ip = g_inet_address_to_string (address);
      self->local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
      self->interface = interface_for_address (address);
    }
  else
    {
      self->local_ip = g_strdup ("0.0.0.0");
      self->interface = g_strdup ("");
    }
  if (strchr (self->local_ip, ':') != NULL)
    self->local_address = g_strdup_printf ("[%s]:%u", self->local_ip, self->local_port);
  else
    self->local_address = g_strdup_printf ("%s:%u", self->local_ip, self->local_port);

  if (G_IS_TCP_WRAPPER_CONNECTION (self->connection))
    base
        = g_tcp_wrapper_connection_get_base_io_stream (G_TCP_WRAPPER_CONNECTION (self->connection));
  if (G_IS_TLS_CONNECTION (base))
    {
      GTlsCertificate *peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (base));

      if (peer != NULL)
        {
          g_autoptr (GByteArray) der = NULL;

          self->peer_subject = g_tls_certificate_get_subject_name (peer);
          g_object_get (peer, "certificate", &der, NULL);
          if (der != NULL)
            self->peer_certificate = g_bytes_new (der->data, der->len);
        }
    }
  if (self->peer_subject == NULL)
    self->peer_subject = g_strdup ("");
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ConnectData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (SfbSipConnection) self = NULL;
  GSocket *socket;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection == NULL && data->certificate_errors == 0
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && error->domain != G_TLS_ERROR
      && data->next_address != NULL)
    {
      /* the next address of the name, if it has more */
      if (data->first_error == NULL)
        data->first_error = g_steal_pointer (&error);
      connect_next_address (g_steal_pointer (&task));
      return;
    }
  if (connection == NULL && data->first_error != NULL && error->domain != G_TLS_ERROR)
    {
      g_clear_error (&error);
      error = g_steal_pointer (&data->first_error);
    }
  if (connection == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    forget_cached_addresses (data->host); /* stale, or the server moved */
  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (data->certificate_errors != 0)
        g_task_return_error (task,
                             sfb_tls_error_new_for_certificate (
                                 data->certificate_errors, data->host, data->rejected));
      else if (error->domain == G_TLS_ERROR)
        g_task_return_new_error (task,
                                 SFB_ERROR,
                                 SFB_ERROR_NOT_REACHABLE,
                                 "The TLS handshake with %s:%u failed: %s",
                                 data->host,
                                 data->port,
                                 error->message);
      else
        g_task_return_new_error (task,
                                 SFB_ERROR,
                                 SFB_ERROR_NOT_REACHABLE,
                                 "Cannot connect to %s:%u: %s",
                                 data->host,
                                 data->port,
                                 error->message);
      return;
    }
  socket = g_socket_connection_get_socket (connection);
  if (socket != NULL)
    g_socket_set_timeout (socket, 0); /* the connect timeout must not end idle reads */

  self = g_object_new (SFB_TYPE_SIP_CONNECTION, NULL);
  self->host = g_strdup (data->host);
  self->port = data->port;
  self->connection = G_IO_STREAM (g_steal_pointer (&connection));
  self->last_sent = g_get_monotonic_time ();
  remember_session (data, self->connection);
  record_endpoints (self);
  g_info ("Connected to %s:%u from %s (%s)",
          self->host,
          self->port,
          self->local_address,
          *self->interface != '\0' ? self->interface : "unknown interface");
  start_read (self);
  g_task_return_pointer (task, g_steal_pointer (&self), g_object_unref);
}

static void
connect_next_address (GTask *task)
{
  ConnectData *data = g_task_get_task_data (task);
  GInetAddress *address = data->next_address->data;
  g_autoptr (GSocketAddress) socket_address = g_inet_socket_address_new (address, data->port);

  data->next_address = data->next_address->next;
  g_socket_client_connect_async (data->client,
                                 G_SOCKET_CONNECTABLE (socket_address),
                                 g_task_get_cancellable (task),
                                 on_connected,
                                 task);
}

/* Addresses resolved for a connection are reused by the next connection to
 * the same name for ADDRESS_CACHE_S (reconnect, restart of a sign-in: one
 * DNS round trip less).  getaddrinfo() does not tell the record's TTL, so the
 * lifetime is a short fixed one; an entry is dropped as soon as connecting to
 * its addresses fails, and everything when the network changes
 * (sfb_sip_connection_forget_addresses()), so a moved server or another DNS
 * view (VPN, split DNS) is looked up again. */
#define ADDRESS_CACHE_S 60
#define ADDRESS_CACHE_MAX 64

typedef struct
{
  GList *addresses; /* of GInetAddress */
  gint64 expires;   /* monotonic µs */
} CachedAddresses;

static GHashTable *address_cache; /* lower-case host -> CachedAddresses */

static void
cached_addresses_free (CachedAddresses *cached)
{
  g_resolver_free_addresses (cached->addresses);
  g_free (cached);
}

static gpointer
ref_address (gconstpointer address, gpointer user_data)
{
  return g_object_ref ((gpointer) address);
}

static GList *
copy_addresses (GList *addresses)
{
  return g_list_copy_deep (addresses, ref_address, NULL);
}

static GList *
lookup_cached_addresses (const char *host)
{
  g_autofree char *key = g_ascii_strdown (host, -1);
  CachedAddresses *cached;

  if (address_cache == NULL)
    return NULL;
  cached = g_hash_table_lookup (address_cache, key);
  if (cached == NULL)
    return NULL;
  if (g_get_monotonic_time () >= cached->expires)
    {
      g_hash_table_remove (address_cache, key);
      return NULL;
    }
  return copy_addresses (cached->addresses);
}

static void
cache_addresses (const char *host, GList *addresses)
{
  CachedAddresses *cached = g_new0 (CachedAddresses, 1);

  if (address_cache == NULL)
    address_cache = g_hash_table_new_full (
        g_str_hash, g_str_equal, g_free, (GDestroyNotify) cached_addresses_free);
  if (g_hash_table_size (address_cache) >= ADDRESS_CACHE_MAX)
    g_hash_table_remove_all (address_cache);
  cached->addresses = copy_addresses (addresses);
  cached->expires = g_get_monotonic_time () + ADDRESS_CACHE_S * G_USEC_PER_SEC;
  g_hash_table_replace (address_cache, g_ascii_strdown (host, -1), cached);
}

static void
forget_cached_addresses (const char *host)
{
  g_autofree char *key = g_ascii_strdown (host, -1);

  if (address_cache != NULL)
    g_hash_table_remove (address_cache, key);
}

void
sfb_sip_connection_forget_addresses (void)
{
  if (address_cache != NULL)
    g_hash_table_remove_all (address_cache);
}

/* GLib resolves names for GSocketClient one address family at a time with
 * AI_ADDRCONFIG, which finds nothing on a host whose only interface is lo
 * (the test network); one lookup of both families works everywhere. */
static void
on_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ConnectData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  data->addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  if (data->addresses == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task,
                                 SFB_ERROR,
                                 SFB_ERROR_NOT_REACHABLE,
                                 "Cannot connect to %s:%u: the name " SFB_SIP_CONNECTION_NO_ADDRESS
                                 " (%s)",
                                 data->host,
                                 data->port,
                                 error->message);
      return;
    }
  cache_addresses (data->host, data->addresses);
  data->next_address = data->addresses;
  connect_next_address (g_steal_pointer (&task));
}

void
sfb_sip_connection_new_async (const char *host,
                              guint16 port,
                              GTlsDatabase *tls_database,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GResolver) resolver = NULL;
  ConnectData *data;

  g_return_if_fail (host != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_sip_connection_new_async);
  data = g_new0 (ConnectData, 1);
  data->host = g_strdup (host);
  data->port = port != 0 ? port : 5061;
  data->tls_database = tls_database != NULL ? g_object_ref (tls_database) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify) connect_data_free);

  data->client = g_socket_client_new ();
  g_socket_client_set_tls (data->client, TRUE);
  g_socket_client_set_timeout (data->client, CONNECT_TIMEOUT_S);
  g_signal_connect (data->client, "event", G_CALLBACK (on_client_event), data);
  data->addresses = lookup_cached_addresses (host);
  if (data->addresses != NULL)
    {
      g_debug ("Dialling %s with the addresses resolved before", host);
      data->next_address = data->addresses;
      connect_next_address (g_steal_pointer (&task));
      return;
    }
  resolver = g_resolver_get_default ();
  g_resolver_lookup_by_name_async (
      resolver, host, cancellable, on_resolved, g_steal_pointer (&task));
}

SfbSipConnection *
sfb_sip_connection_new_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* A connection over @stream, already open (tests, or a transport set up
 * elsewhere): reading starts at once. */
SfbSipConnection *
sfb_sip_connection_new_for_stream (GIOStream *stream, const char *host, guint16 port)
{
  SfbSipConnection *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (host != NULL, NULL);

  self = g_object_new (SFB_TYPE_SIP_CONNECTION, NULL);
  self->host = g_strdup (host);
  self->port = port;
  self->connection = g_object_ref (stream);
  self->last_sent = g_get_monotonic_time ();
  record_endpoints (self);
  start_read (self);
  return self;
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
  self->transactions = g_ptr_array_new_with_free_func ((GDestroyNotify) transaction_free);
  g_queue_init (&self->write_queue);
}
