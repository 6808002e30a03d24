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
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* How long close() lets the queued messages go out.  A write waits only
 * when the kernel's send buffer is full, i.e. the peer stopped reading: a
 * live peer, even a loaded one, drains it well within this; the server
 * waits 32 s (64 * T1) for an answer, so later would be no use anyway; and
 * a peer that never reads holds the socket and the bytes no longer. */
#define FLUSH_DEADLINE_S 5

/* Bursts (see sfb_sip_connection_start_read()): wake-ups that read within
 * BURST_GAP_US of the previous one set the socket aside for HOLD_MS, and
 * then up to HOLD_MAX_READS reads take what came meanwhile.  A hold that
 * took a notification or more, and nothing else, is followed by one twice
 * as long, up to HOLD_MAX_MS: a sustained storm is read in a wake-up per
 * HOLD_MAX_MS however it is paced, and a presence change inside it is
 * seen HOLD_MAX_MS late at most. */
#define BURST_GAP_US 6000
#define HOLD_MS 3
#define HOLD_MAX_MS 20
#define HOLD_GROW_NOTIFICATIONS 1
/* What a server sends because of an exchange (the NOTIFY of one's own
 * presence after a publication's answer) comes right after the answer,
 * and is read at once: no hold this long after an answer. */
#define AFTER_ANSWER_US (50 * 1000)

static void write_next (SfbSipConnection *self);
static void finish_close (SfbSipConnection *self);

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
      if (self->flushing)
        finish_close (self); /* the rest cannot go out either */
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
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

  if (self->writing != NULL)
    return;
  if (g_queue_is_empty (&self->write_queue))
    {
      if (self->flushing)
        finish_close (self);
      return;
    }
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

/* Counts the wake-up's requests for the next hold (next_hold_ms()). */
static void
count_request (SfbSipConnection *self, SfbSipMessage *message)
{
  const char *method = sfb_sip_message_get_method (message);

  if (strcmp (method, "BENOTIFY") == 0 || strcmp (method, "NOTIFY") == 0)
    self->n_notifies++;
  else
    self->n_others++;
}

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
    {
      count_request (self, message);
      /* the caller holds a reference on self, as an emission would */
      if (self->request_func != NULL)
        self->request_func (self, message, self->request_data);
    }
  else
    {
      self->last_answer = g_get_monotonic_time ();
      sfb_sip_connection_handle_response (self, message);
    }
}

/* Handles what one read returned: @n bytes in the read buffer, or @error
 * (n < 0); FALSE when the connection ended. */
static gboolean
handle_read (SfbSipConnection *self, gssize n, const GError *error)
{
  g_autoptr (GError) parse_error = NULL;

  if (n < 0)
    {
      sfb_sip_connection_fail (self,
                               g_error_new (SFB_ERROR,
                                            SFB_ERROR_NOT_REACHABLE,
                                            "Lost the connection to %s:%u: %s",
                                            self->host,
                                            self->port,
                                            error->message));
      return FALSE;
    }
  if (n == 0)
    {
      sfb_sip_connection_fail (self,
                               g_error_new (SFB_ERROR,
                                            SFB_ERROR_NOT_REACHABLE,
                                            "%s:%u closed the connection",
                                            self->host,
                                            self->port));
      return FALSE;
    }
  /* n <= sizeof read_buffer: the stream wrote no more than it was given */
  sfb_sip_parser_feed (self->parser, (const char *) self->read_buffer, (gsize) n, &parse_error);
  /* messages completed before an error still count */
  for (SfbSipMessage *m; !self->closed && (m = sfb_sip_parser_pop (self->parser)) != NULL;)
    {
      g_autoptr (SfbSipMessage) message = m;
      handle_message (self, message);
    }
  if (!self->closed && parse_error != NULL)
    sfb_sip_connection_fail (
        self,
        g_error_new (SFB_ERROR,
                     SFB_ERROR_NOT_REACHABLE,
                     "%s:%u sent data that is not SIP (%s); the connection was "
                     "dropped",
                     self->host,
                     self->port,
                     parse_error->message));
  if (!self->closed)
    sfb_sip_connection_watch_liveness (self, (gsize) n);
  return !self->closed;
}

static void start_read_async (SfbSipConnection *self);

static void
on_read_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbSipConnection) self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (self->closed)
    return;
  if (handle_read (self, n, error))
    start_read_async (self);
}

static void
start_read_async (SfbSipConnection *self)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (self->connection)),
                             self->read_buffer,
                             sizeof self->read_buffer,
                             G_PRIORITY_DEFAULT,
                             self->io_cancellable,
                             on_read_done,
                             g_object_ref (self));
}

typedef enum
{
  READ_MORE_LATER, /* all read that was there */
  READ_BLOCKED,    /* the stream would block while its socket may be readable */
  READ_ENDED,      /* the connection ended */
} ReadState;

/* Reads what the stream has without blocking and handles it; @n_reads
 * counts the reads that returned bytes.  Without @drain, a read shorter
 * than the buffer ends it (one TLS record per read: the next waits for the
 * next wake-up); with @drain, only a read that would block does, or
 * HOLD_MAX_READS. */
static ReadState
read_available (SfbSipConnection *self, gboolean drain, guint *n_reads)
{
  GPollableInputStream *stream
      = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (self->connection));
  gssize n;

  do
    {
      g_autoptr (GError) error = NULL;

      n = g_pollable_input_stream_read_nonblocking (
          stream, self->read_buffer, sizeof self->read_buffer, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return *n_reads > 0 && drain ? READ_MORE_LATER : READ_BLOCKED;
      if (!handle_read (self, n, error))
        return READ_ENDED;
      ++*n_reads;
      /* a full buffer may have left decrypted bytes in the TLS layer, which
       * the socket's readiness would not report */
    }
  while ((gsize) n == sizeof self->read_buffer || (drain && *n_reads < HOLD_MAX_READS));
  return READ_MORE_LATER;
}

static void watch_socket (SfbSipConnection *self);
static void attach_socket_source (SfbSipConnection *self);
static gboolean read_socket (SfbSipConnection *self, gboolean after_hold);

/* The stream's source, while the socket's is set aside (see
 * sfb_sip_connection_fall_back_to_stream()). */
static gboolean
on_stream_readable (GObject *stream, gpointer user_data)
{
  g_autoptr (SfbSipConnection) self = g_object_ref (user_data);
  guint n_reads = 0;
  ReadState state = read_available (self, FALSE, &n_reads);

  if (state == READ_ENDED)
    return G_SOURCE_REMOVE;
  if (state == READ_BLOCKED)
    return G_SOURCE_CONTINUE; /* the TLS layer still refuses: wait for it */
  /* The TLS layer reads again: back to the socket's source, the cheap
   * one, with a first read as at the start for what the layer may hold. */
  g_source_destroy (self->read_source);
  g_clear_pointer (&self->read_source, g_source_unref);
  watch_socket (self);
  return G_SOURCE_REMOVE;
}

/* The stream's own source: a TLS stream's watches the TLS layer's state
 * as well as the socket, through a tree of three sources, each of which
 * wakes the main loop when it is dispatched.  Used only until the stream
 * yields bytes again. */
void
sfb_sip_connection_fall_back_to_stream (SfbSipConnection *self)
{
  GInputStream *stream = g_io_stream_get_input_stream (self->connection);

  g_return_if_fail (self->read_source != NULL && !self->closed);
  g_source_destroy (self->read_source);
  g_clear_pointer (&self->read_source, g_source_unref);
  g_clear_handle_id (&self->first_read_id, g_source_remove);
  self->read_source
      = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (stream), NULL);
  g_source_set_static_name (self->read_source, SFB_SIP_READ_SOURCE_STREAM);
  g_source_set_callback (self->read_source, G_SOURCE_FUNC (on_stream_readable), self, NULL);
  g_source_attach (self->read_source, g_main_context_get_thread_default ());
}

static gboolean
on_hold_done (gpointer user_data)
{
  g_autoptr (SfbSipConnection) self = g_object_ref (user_data);

  self->hold_id = 0;
  attach_socket_source (self);
  read_socket (self, TRUE);
  return G_SOURCE_REMOVE;
}

/* Whether to set the socket aside after a wake-up that read @n_reads
 * times: in a burst (bytes again soon after the last, or during a hold)
 * while no answer is awaited nor was just read.  A lone message is read
 * at once, as is an answer (sfb_sip_connection_end_hold() ends a hold
 * when a request goes out) and what follows it. */
static gboolean
burst_goes_on (SfbSipConnection *self, guint n_reads, gboolean after_hold, gint64 now)
{
  if (n_reads == 0)
    return FALSE;
  if (self->closed || self->transactions->len > 0)
    return FALSE;
  if (self->last_answer > 0 && now - self->last_answer < self->after_answer_us)
    return FALSE;
  return after_hold || (self->last_read > 0 && now - self->last_read < self->burst_gap_us);
}

/* How long the next hold lasts: a burst starts with hold_ms; a hold whose
 * wake-up took HOLD_GROW_NOTIFICATIONS notifications or more and no other
 * request (an instant message, an invitation: what follows one is not held
 * longer) is followed by one twice as long, up to hold_max_ms, so that
 * notifications paced 1-5 ms apart reach the longest hold within a few
 * wake-ups; any other hold by one of hold_ms, as is one whose wake-up
 * stopped at HOLD_MAX_READS (a server faster than the longest hold's
 * reads: shorter holds keep up with it).  The longer holds delay a
 * presence change inside a sustained storm by hold_max_ms at most;
 * answers never wait (see burst_goes_on()). */
static guint
next_hold_ms (SfbSipConnection *self, gboolean after_hold, guint n_reads)
{
  if (!after_hold || self->n_others > 0 || self->n_notifies < HOLD_GROW_NOTIFICATIONS
      || n_reads >= HOLD_MAX_READS)
    return self->hold_ms;
  return MAX (self->hold_ms, MIN (self->burst_hold_ms * 2, self->hold_max_ms));
}

/* Sets the socket aside for a burst's hold: what comes meanwhile waits in
 * the kernel, and is read in one wake-up when the hold ends. */
static void
hold (SfbSipConnection *self, gboolean after_hold, guint n_reads)
{
  g_source_destroy (self->read_source);
  g_clear_pointer (&self->read_source, g_source_unref);
  g_clear_handle_id (&self->first_read_id, g_source_remove);
  self->burst_hold_ms = next_hold_ms (self, after_hold, n_reads);
  self->hold_id = g_timeout_add (self->burst_hold_ms, on_hold_done, self);
}

void
sfb_sip_connection_end_hold (SfbSipConnection *self)
{
  if (self->hold_id == 0 || self->closed)
    return;
  g_clear_handle_id (&self->hold_id, g_source_remove);
  watch_socket (self);
}

/* Reads from the socket's source (@after_hold: when a burst's hold ended);
 * FALSE when that source is done with. */
static gboolean
read_socket (SfbSipConnection *self, gboolean after_hold)
{
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (self->connection));
  ReadState state;
  guint n_reads = 0;
  gint64 now;

  if (self->reading)
    return TRUE; /* a main loop run inside a message handler */
  self->reading = TRUE;
  self->n_notifies = 0;
  self->n_others = 0;
  state = read_available (self, after_hold, &n_reads);
  /* The TLS layer read part of a record, and the rest came before the
   * readiness check below: one more read takes it. */
  if (state == READ_BLOCKED && g_socket_condition_check (socket, G_IO_IN) != 0)
    state = read_available (self, after_hold, &n_reads);
  self->reading = FALSE;
  if (state == READ_ENDED)
    return FALSE;
  if (n_reads > 0)
    {
      now = g_get_monotonic_time ();
      self->read_wakeups++;
      if (state == READ_MORE_LATER && burst_goes_on (self, n_reads, after_hold, now))
        {
          self->last_read = now;
          hold (self, after_hold, n_reads);
          return FALSE;
        }
      self->last_read = now;
    }
  /* The TLS layer can refuse to read while it runs another operation
   * (a handshake): the socket stays readable and its source would spin.
   * The stream's own source waits for that operation. */
  if (state == READ_BLOCKED && g_socket_condition_check (socket, G_IO_IN) != 0)
    {
      sfb_sip_connection_fall_back_to_stream (self);
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_socket_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  g_autoptr (SfbSipConnection) self = g_object_ref (user_data);

  return read_socket (self, FALSE) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* The first try, at once as read_async() did: bytes may wait in the TLS
 * layer, which the socket would not report. */
static gboolean
on_first_read (gpointer user_data)
{
  g_autoptr (SfbSipConnection) self = g_object_ref (user_data);

  self->first_read_id = 0;
  read_socket (self, FALSE);
  return G_SOURCE_REMOVE;
}

static void
attach_socket_source (SfbSipConnection *self)
{
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (self->connection));

  self->read_source = g_socket_create_source (socket, G_IO_IN, NULL);
  g_source_set_static_name (self->read_source, SFB_SIP_READ_SOURCE_SOCKET);
  g_source_set_callback (self->read_source, G_SOURCE_FUNC (on_socket_readable), self, NULL);
  g_source_set_can_recurse (self->read_source, TRUE);
  g_source_attach (self->read_source, g_main_context_get_thread_default ());
}

/* The socket's source, and a first read at once. */
static void
watch_socket (SfbSipConnection *self)
{
  attach_socket_source (self);
  self->first_read_id = g_idle_add (on_first_read, self);
}

/* A socket's stream (plain, or TLS over it) is read from one source on the
 * socket itself: each message costs one wake-up and the reads that return
 * it.  g_input_stream_read_async() sets up a GTask and a tree of sources
 * per read and tears them down after, each step an eventfd write to wake
 * the main loop, and tries a read that fails with EAGAIN before every
 * wait.  The source may recurse (GLib then does not take its descriptor
 * out of the poll set around each dispatch, two more eventfd writes); no
 * main loop runs inside the daemon's handlers, and "reading" guards it
 * anyway.  When the TLS layer will not read while the socket is readable,
 * the stream's costlier source stands in until the stream reads again: a
 * partial TLS record looks the same for a moment, so a lasting switch
 * would put a long connection on the slow path sooner or later.  Other
 * streams are read with read_async().
 *
 * Bursts (a presence storm: a NOTIFY every 0.5-1 ms) would cost a wake-up
 * per message, each a poll, reads and an ACK from the kernel: when a
 * wake-up reads within BURST_GAP_US of the previous one and no answer is
 * awaited or was just read, the socket is set aside for HOLD_MS and what
 * came meanwhile is read in one wake-up (as a network card's interrupt
 * moderation does); while that finds bytes the burst goes on, and while
 * each hold takes several notifications the holds grow (next_hold_ms()).
 * A lone message is read at once, a request going out ends a hold (its
 * answer, and for AFTER_ANSWER_US what follows it, are read at once), a
 * burst's messages wait HOLD_MAX_MS at most, and no timer is left when the
 * burst is over (docs/benchmarks.md, "Storm: reading a burst in fewer
 * wake-ups", "Storm: holds that grow"). */
void
sfb_sip_connection_start_read (SfbSipConnection *self)
{
  GInputStream *stream = g_io_stream_get_input_stream (self->connection);

  g_return_if_fail (self->read_source == NULL);
  if (!G_IS_SOCKET_CONNECTION (self->connection) || !G_IS_POLLABLE_INPUT_STREAM (stream)
      || !g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (stream)))
    {
      start_read_async (self);
      return;
    }
  watch_socket (self);
}

/* ---- closing --------------------------------------------------------- */

/* Ends the I/O: the queued messages are dropped, the write in progress
 * cancelled and the stream closed. */
static void
finish_close (SfbSipConnection *self)
{
  self->flushing = FALSE;
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_cancellable_cancel (self->io_cancellable);
  g_queue_clear_full (&self->write_queue, (GDestroyNotify) g_bytes_unref);
  if (self->connection != NULL)
    g_io_stream_close_async (G_IO_STREAM (self->connection), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
}

static gboolean
on_flush_deadline (gpointer user_data)
{
  SfbSipConnection *self = user_data;

  self->flush_id = 0;
  g_debug ("%s:%u did not take the last messages in time; dropped", self->host, self->port);
  finish_close (self);
  return G_SOURCE_REMOVE;
}

/* The connection is closed at once for its owner (no reads, no new
 * messages, the transactions failed); with @flush, what is already queued
 * (the answers to requests just handled: a NOTIFY that ended the
 * registration wants its 200 OK) still goes out first, within
 * FLUSH_DEADLINE_S.  The writes' callbacks, and the deadline, keep the
 * object alive meanwhile. */
static void
shut_down (SfbSipConnection *self, const GError *reason, gboolean flush)
{
  self->closed = TRUE;
  if (self->read_source != NULL)
    g_source_destroy (self->read_source);
  g_clear_pointer (&self->read_source, g_source_unref);
  g_clear_handle_id (&self->first_read_id, g_source_remove);
  g_clear_handle_id (&self->hold_id, g_source_remove);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_handle_id (&self->pong_id, g_source_remove);
  g_clear_handle_id (&self->partial_id, g_source_remove);
  if (flush && self->writing != NULL)
    {
      self->flushing = TRUE;
      self->flush_id = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT,
                                                   FLUSH_DEADLINE_S,
                                                   on_flush_deadline,
                                                   g_object_ref (self),
                                                   g_object_unref);
    }
  else
    finish_close (self);
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
  shut_down (self, reason, FALSE); /* broken: nothing more goes out */
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, reason);
}

void
sfb_sip_connection_close (SfbSipConnection *self)
{
  g_return_if_fail (SFB_IS_SIP_CONNECTION (self));
  if (self->closed)
    return;
  g_debug ("Closing the connection to %s:%u", self->host, self->port);
  shut_down (self, NULL, TRUE);
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

void
sfb_sip_connection_set_request_handler (SfbSipConnection *self,
                                        SfbSipConnectionRequestFunc func,
                                        gpointer user_data)
{
  g_return_if_fail (SFB_IS_SIP_CONNECTION (self));

  self->request_func = func;
  self->request_data = func != NULL ? user_data : NULL;
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
    shut_down (self, NULL, FALSE);
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
  self->burst_gap_us = BURST_GAP_US;
  self->after_answer_us = AFTER_ANSWER_US;
  self->hold_ms = HOLD_MS;
  self->hold_max_ms = HOLD_MAX_MS;
}
