/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSipConnection over a socketpair: framing of what comes in (split
 * anywhere, CRLF keep-alives between messages), client transactions
 * (matched by Via branch and CSeq, provisional answers skipped), incoming
 * requests, the end of the connection, transaction time-outs and what
 * close() still sends (within its deadline).  The test
 * plays the server on the other end of the pair.
 */
#include "sfb-error.h"
#include "sfb-sip-connection-private.h"
#include "sfb-test-certs.h"

#include <gio/gio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define DEADLINE_US (10 * G_USEC_PER_SEC) /* a safety net, not a timing check */

typedef struct
{
  SfbSipConnection *connection;
  GSocket *peer; /* the server's end, non-blocking */
  GString *received;
  GPtrArray *requests; /* what the request handler was given */
  guint want_requests; /* got_wanted_requests() */
  guint n_closed;
  GError *closed_error;
  SfbSipMessage *response;
  GError *error;
  gboolean done;
  GIOStream *server_tls; /* tls_fixture_setup(): the server's end */
  guint handshakes;
} Fixture;

static void
on_request (SfbSipConnection *connection, SfbSipMessage *request, gpointer user_data)
{
  Fixture *fx = user_data;

  g_ptr_array_add (fx->requests, g_object_ref (request));
}

static void
on_closed (SfbSipConnection *connection, GError *error, Fixture *fx)
{
  fx->n_closed++;
  g_clear_error (&fx->closed_error);
  fx->closed_error = g_error_copy (error);
}

/* the connection under test over @stream, its requests and close noted */
static void
fixture_connect (Fixture *fx, GIOStream *stream)
{
  fx->connection = sfb_sip_connection_new_for_stream (stream, "pool.test", 5061);
  fx->received = g_string_new (NULL);
  fx->requests = g_ptr_array_new_with_free_func (g_object_unref);
  sfb_sip_connection_set_request_handler (fx->connection, on_request, fx);
  g_signal_connect (fx->connection, "closed", G_CALLBACK (on_closed), fx);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  int fds[2];
  g_autoptr (GSocket) ours = NULL;
  g_autoptr (GSocketConnection) stream = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  ours = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  fx->peer = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  g_socket_set_blocking (fx->peer, FALSE);
  stream = g_socket_connection_factory_create_connection (ours);
  fixture_connect (fx, G_IO_STREAM (stream));
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  if (fx->connection != NULL)
    sfb_sip_connection_close (fx->connection);
  g_clear_object (&fx->connection);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&fx->peer);
  g_clear_object (&fx->server_tls);
  g_string_free (fx->received, TRUE);
  g_ptr_array_unref (fx->requests);
  g_clear_error (&fx->closed_error);
  g_clear_object (&fx->response);
  g_clear_error (&fx->error);
}

/* Runs the main loop until @done says so (or the safety deadline). */
static void
spin_until (gboolean (*done) (Fixture *), Fixture *fx)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;

  while (!done (fx))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

static gboolean
transaction_done (Fixture *fx)
{
  return fx->done;
}

/* What the peer received so far (non-blocking). */
static void
peer_pump (Fixture *fx)
{
  char buffer[4096];
  gssize n;

  while ((n = g_socket_receive (fx->peer, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (fx->received, buffer, n);
}

static gboolean
peer_has_message (Fixture *fx)
{
  peer_pump (fx);
  /* requests from the connection under test carry no body here */
  return strstr (fx->received->str, "\r\n\r\n") != NULL
         && strspn (fx->received->str, "\r\n") < fx->received->len;
}

/* The next message the connection sent (CRLF keep-alives skipped). */
static SfbSipMessage *
peer_read_message (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  SfbSipMessage *message;
  const char *end;
  gsize skip;

  spin_until (peer_has_message, fx);
  skip = strspn (fx->received->str, "\r\n");
  g_string_erase (fx->received, 0, (gssize) skip);
  end = strstr (fx->received->str, "\r\n\r\n");
  message = sfb_sip_message_parse (fx->received->str, end + 4 - fx->received->str, &error);
  g_assert_no_error (error);
  g_string_erase (fx->received, 0, end + 4 - fx->received->str);
  return message;
}

/* Writes @text to the connection, @chunk bytes at a time, letting the
 * connection read between the chunks (while a burst's hold sets the socket
 * aside, the chunks pile up: a full socket waits for the hold's end). */
static void
peer_write (Fixture *fx, const char *text, gsize chunk)
{
  gsize len = strlen (text);

  for (gsize off = 0; off < len; off += chunk)
    {
      gsize n = MIN (chunk, len - off);
      g_autoptr (GError) error = NULL;
      gssize sent;

      while ((sent = g_socket_send (fx->peer, text + off, n, NULL, &error)) < 0
             && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_clear_error (&error);
          g_main_context_iteration (NULL, TRUE);
        }
      g_assert_no_error (error);
      g_assert_cmpint (sent, ==, (gssize) n);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
}

static void
on_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *fx = user_data;

  fx->response
      = sfb_sip_connection_send_request_finish (SFB_SIP_CONNECTION (source), result, &fx->error);
  fx->done = TRUE;
}

static void
send_options (Fixture *fx, guint timeout_ms)
{
  g_autoptr (SfbSipMessage) request = sfb_sip_message_new_request ("OPTIONS", "sip:pool.test");

  sfb_sip_message_append_header (request, "From", "<sip:alice@contoso.test>;tag=1");
  sfb_sip_message_append_header (request, "To", "<sip:pool.test>");
  sfb_sip_message_append_header (request, "Call-ID", "call-1");
  sfb_sip_message_append_header (request, "CSeq", "7 OPTIONS");
  sfb_sip_connection_send_request_async (
      fx->connection, request, timeout_ms, NULL, on_response, fx);
}

static char *
response_text (SfbSipMessage *request, const char *status, const char *branch, const char *cseq)
{
  g_autofree char *via = NULL;
  const char *sent_via = sfb_sip_message_get_header (request, "Via");

  via = branch != NULL ? g_strdup_printf ("SIP/2.0/TLS 127.0.0.1:5061;branch=%s", branch)
                       : g_strdup (sent_via);
  return g_strdup_printf ("SIP/2.0 %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=srv\r\n"
                          "Call-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n",
                          status,
                          via,
                          sfb_sip_message_get_header (request, "From"),
                          sfb_sip_message_get_header (request, "To"),
                          sfb_sip_message_get_header (request, "Call-ID"),
                          cseq != NULL ? cseq : sfb_sip_message_get_header (request, "CSeq"));
}

static void
test_transaction (Fixture *fx, gconstpointer data)
{
  g_autoptr (SfbSipMessage) sent = NULL;
  g_autofree char *trying = NULL;
  g_autofree char *wrong_branch = NULL;
  g_autofree char *wrong_cseq = NULL;
  g_autofree char *ok = NULL;
  g_autofree char *all = NULL;

  send_options (fx, 5000);
  sent = peer_read_message (fx);
  g_assert_cmpstr (sfb_sip_message_get_method (sent), ==, "OPTIONS");
  g_assert_true (g_str_has_prefix (sfb_sip_message_get_header (sent, "Via"), "SIP/2.0/TLS "));
  g_assert_nonnull (strstr (sfb_sip_message_get_header (sent, "Via"), ";branch=z9hG4bK"));
  g_assert_cmpstr (sfb_sip_message_get_header (sent, "Max-Forwards"), ==, "70");

  trying = response_text (sent, "100 Trying", NULL, NULL);
  wrong_branch = response_text (sent, "200 Not yours", "z9hG4bKother", NULL);
  wrong_cseq = response_text (sent, "200 Old", NULL, "6 OPTIONS");
  ok = response_text (sent, "200 OK", NULL, NULL);
  /* a keep-alive, a provisional and two strangers first; all split anywhere */
  all = g_strconcat ("\r\n\r\n", trying, wrong_branch, wrong_cseq, "\r\n\r\n", ok, NULL);
  peer_write (fx, all, 7);
  spin_until (transaction_done, fx);
  g_assert_no_error (fx->error);
  g_assert_cmpuint (sfb_sip_message_get_status_code (fx->response), ==, 200);
  g_assert_cmpstr (sfb_sip_message_get_reason (fx->response), ==, "OK");
  g_assert_cmpuint (fx->n_closed, ==, 0);
}

static gboolean
got_request (Fixture *fx)
{
  return fx->requests->len > 0;
}

static void
test_incoming_request (Fixture *fx, gconstpointer data)
{
  static const char notify[] = "NOTIFY sip:alice@127.0.0.1:5061;transport=tls SIP/2.0\r\n"
                               "Via: SIP/2.0/TLS 127.0.1.11:5061;branch=z9hG4bKsrv1\r\n"
                               "From: <sip:alice@contoso.test>;tag=a\r\n"
                               "To: <sip:alice@contoso.test>;tag=b\r\n"
                               "Call-ID: n-1\r\nCSeq: 3 NOTIFY\r\nEvent: presence\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
                               "hello world";
  g_autoptr (SfbSipMessage) response = sfb_sip_message_new_response (200, "OK");
  g_autoptr (SfbSipMessage) answer = NULL;
  g_autoptr (GError) error = NULL;
  SfbSipMessage *request;
  GBytes *body;

  peer_write (fx, notify, 1); /* byte by byte */
  spin_until (got_request, fx);
  g_assert_cmpuint (fx->requests->len, ==, 1);
  request = g_ptr_array_index (fx->requests, 0);
  g_assert_cmpstr (sfb_sip_message_get_method (request), ==, "NOTIFY");
  body = sfb_sip_message_get_body (request);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "hello world", 11);

  sfb_sip_message_append_header (response, "Via", sfb_sip_message_get_header (request, "Via"));
  sfb_sip_message_append_header (response, "Call-ID", "n-1");
  sfb_sip_message_append_header (response, "CSeq", "3 NOTIFY");
  g_assert_true (sfb_sip_connection_send_response (fx->connection, response, &error));
  g_assert_no_error (error);
  answer = peer_read_message (fx);
  g_assert_cmpuint (sfb_sip_message_get_status_code (answer), ==, 200);
  g_assert_cmpstr (sfb_sip_message_get_header (answer, "CSeq"), ==, "3 NOTIFY");
}

static gboolean
closed_and_done (Fixture *fx)
{
  return fx->n_closed > 0 && fx->done;
}

static void
test_end_of_connection (Fixture *fx, gconstpointer data)
{
  g_autoptr (SfbSipMessage) sent = NULL;
  g_autoptr (SfbSipMessage) late = sfb_sip_message_new_request ("OPTIONS", "sip:pool.test");
  g_autoptr (GError) error = NULL;

  send_options (fx, 5000);
  sent = peer_read_message (fx);
  g_socket_close (fx->peer, NULL);
  spin_until (closed_and_done, fx);
  g_assert_cmpuint (fx->n_closed, ==, 1);
  g_assert_nonnull (fx->closed_error);
  g_assert_nonnull (fx->error); /* the pending transaction failed with it */
  g_assert_null (fx->response);
  g_assert_true (sfb_sip_connection_is_closed (fx->connection));
  g_assert_false (sfb_sip_connection_send_response (fx->connection, late, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_NOT_REACHABLE);
}

static void
test_transaction_timeout (Fixture *fx, gconstpointer data)
{
  g_autoptr (SfbSipMessage) sent = NULL;

  send_options (fx, 50);
  sent = peer_read_message (fx);
  spin_until (transaction_done, fx); /* nobody answers */
  g_assert_error (fx->error, SFB_ERROR, SFB_ERROR_TIMED_OUT);
  g_assert_false (sfb_sip_connection_is_closed (fx->connection));
  g_assert_cmpuint (fx->n_closed, ==, 0);
}

static void
test_garbage (Fixture *fx, gconstpointer data)
{
  g_autofree char *junk = g_strnfill (4096, 'A'); /* a start line that never ends */
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;

  /* the parser's limit ends the connection; the peer's writes then fail */
  while (fx->n_closed == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      (void) g_socket_send (fx->peer, junk, 4096, NULL, NULL);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  g_assert_cmpuint (fx->n_closed, ==, 1);
  g_assert_true (sfb_sip_connection_is_closed (fx->connection));
}

static gboolean
got_three_requests (Fixture *fx)
{
  return fx->requests->len >= 3;
}

/* Several messages in one burst, one of them larger than a read: each is
 * handled whole and in order, and the connection stays open. */
static void
test_burst (Fixture *fx, gconstpointer data)
{
  g_autofree char *big_body = g_strnfill (40000, 'x');
  g_autoptr (GString) burst = g_string_new (NULL);
  static const char *const bodies[] = { "first", NULL, "third" };
  gsize off = 0;

  for (guint i = 0; i < 3; i++)
    {
      const char *body = bodies[i] != NULL ? bodies[i] : big_body;

      g_string_append_printf (burst,
                              "NOTIFY sip:alice@127.0.0.1:5061;transport=tls SIP/2.0\r\n"
                              "Via: SIP/2.0/TLS 127.0.1.11:5061;branch=z9hG4bKb%u\r\n"
                              "From: <sip:alice@contoso.test>;tag=a\r\n"
                              "To: <sip:alice@contoso.test>;tag=b\r\n"
                              "Call-ID: burst\r\nCSeq: %u NOTIFY\r\nEvent: presence\r\n"
                              "Content-Type: text/plain\r\nContent-Length: %" G_GSIZE_FORMAT
                              "\r\n\r\n%s",
                              i,
                              i + 1,
                              strlen (body),
                              body);
    }
  /* as much as the socket takes per call, without reading in between */
  while (off < burst->len)
    {
      gssize n = g_socket_send (fx->peer, burst->str + off, burst->len - off, NULL, NULL);

      if (n > 0)
        off += (gsize) n;
      else
        g_main_context_iteration (NULL, FALSE);
    }
  spin_until (got_three_requests, fx);
  g_assert_cmpuint (fx->requests->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      SfbSipMessage *request = g_ptr_array_index (fx->requests, i);
      GBytes *body = sfb_sip_message_get_body (request);
      const char *want = bodies[i] != NULL ? bodies[i] : big_body;
      g_autofree char *cseq = g_strdup_printf ("%u NOTIFY", i + 1);

      g_assert_cmpstr (sfb_sip_message_get_header (request, "CSeq"), ==, cseq);
      g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), want, strlen (want));
    }
  g_assert_false (sfb_sip_connection_is_closed (fx->connection));
  g_assert_cmpuint (fx->n_closed, ==, 0);
}

static const char *
read_source_name (Fixture *fx)
{
  g_assert_nonnull (fx->connection->read_source);
  return g_source_get_name (fx->connection->read_source);
}

/* The socket is read from: its source, or a burst's hold that brings the
 * source back (not the stream's source). */
static gboolean
reads_from_socket (Fixture *fx)
{
  if (fx->connection->read_source == NULL)
    return fx->connection->hold_id != 0;
  return g_strcmp0 (g_source_get_name (fx->connection->read_source), SFB_SIP_READ_SOURCE_SOCKET)
         == 0;
}

static char *
notify_text (guint cseq)
{
  return g_strdup_printf ("NOTIFY sip:alice@127.0.0.1:5061;transport=tls SIP/2.0\r\n"
                          "Via: SIP/2.0/TLS 127.0.1.11:5061;branch=z9hG4bKn%u\r\n"
                          "From: <sip:alice@contoso.test>;tag=a\r\n"
                          "To: <sip:alice@contoso.test>;tag=b\r\n"
                          "Call-ID: n\r\nCSeq: %u NOTIFY\r\nEvent: registration-notify\r\n"
                          "Content-Length: 0\r\n\r\n",
                          cseq,
                          cseq);
}

/* a presence NOTIFY, for the read-fallback tests */
static char *
fallback_notify_text (guint cseq)
{
  return g_strdup_printf ("NOTIFY sip:alice@127.0.0.1:5061;transport=tls SIP/2.0\r\n"
                          "Via: SIP/2.0/TLS 127.0.1.11:5061;branch=z9hG4bKf%u\r\n"
                          "From: <sip:alice@contoso.test>;tag=a\r\n"
                          "To: <sip:alice@contoso.test>;tag=b\r\n"
                          "Call-ID: fallback\r\nCSeq: %u NOTIFY\r\nEvent: presence\r\n"
                          "Content-Length: 0\r\n\r\n",
                          cseq,
                          cseq);
}

/* Answers each request; the second ends the connection, as a NOTIFY that
 * ends the registration does. */
static void
answer_then_close_on_second (SfbSipConnection *connection,
                             SfbSipMessage *request,
                             gpointer user_data)
{
  static const char *const copied[] = { "Via", "Call-ID", "CSeq" };
  Fixture *fx = user_data;
  g_autoptr (SfbSipMessage) response = sfb_sip_message_new_response (200, "OK");
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (copied); i++)
    sfb_sip_message_append_header (
        response, copied[i], sfb_sip_message_get_header (request, copied[i]));
  g_assert_true (sfb_sip_connection_send_response (connection, response, &error));
  g_assert_no_error (error);
  g_ptr_array_add (fx->requests, g_object_ref (request));
  if (fx->requests->len == 2)
    sfb_sip_connection_close (connection);
}

static gboolean
peer_got_eof (Fixture *fx)
{
  char buffer[4096];
  gssize n;

  while ((n = g_socket_receive (fx->peer, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (fx->received, buffer, n);
  return n == 0;
}

/* Two requests read at once: the second closes the connection while the
 * answer to the first is still being written (GIO completes a write at a
 * later main loop iteration).  The answer to the second, queued behind it,
 * still goes out before the end of the stream. */
static void
test_close_flushes (Fixture *fx, gconstpointer data)
{
  g_autofree char *first = notify_text (1);
  g_autofree char *second = notify_text (2);
  g_autofree char *both = g_strconcat (first, second, NULL);

  sfb_sip_connection_set_request_handler (fx->connection, answer_then_close_on_second, fx);
  peer_write (fx, both, strlen (both)); /* one send: one read */
  spin_until (peer_got_eof, fx);
  g_assert_cmpuint (fx->requests->len, ==, 2);
  g_assert_nonnull (strstr (fx->received->str, "CSeq: 1 NOTIFY"));
  g_assert_nonnull (strstr (fx->received->str, "CSeq: 2 NOTIFY"));
  g_assert_cmpuint (fx->n_closed, ==, 0);
}

/* A peer that never reads: the flush gives up after its deadline and the
 * connection goes (a safety net longer than that deadline, no timing
 * check). */
static void
test_close_flush_deadline (Fixture *fx, gconstpointer data)
{
  gsize size = 8 << 20; /* more than the socket pair buffers */
  g_autoptr (GBytes) body = g_bytes_new_take (g_strnfill (size, 'x'), size);
  g_autoptr (SfbSipMessage) response = sfb_sip_message_new_response (200, "OK");
  SfbSipConnection *connection = g_steal_pointer (&fx->connection);
  gint64 deadline = g_get_monotonic_time () + 2 * DEADLINE_US;
  g_autoptr (GError) error = NULL;

  sfb_sip_message_set_body (response, "text/plain", body);
  g_assert_true (sfb_sip_connection_send_response (connection, response, &error));
  g_assert_no_error (error);
  g_object_add_weak_pointer (G_OBJECT (connection), (gpointer *) &connection);
  sfb_sip_connection_close (connection);
  g_assert_true (sfb_sip_connection_is_closed (connection));
  g_object_unref (connection);
  g_assert_nonnull (connection); /* still writing */
  while (connection != NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

static gboolean
got_all_requests (Fixture *fx)
{
  return fx->requests->len >= 4;
}

/* the four NOTIFYs the fallback tests send, each delivered once, in order,
 * on a connection still open */
static void
assert_four_notifies_in_order (Fixture *fx)
{
  g_assert_cmpuint (fx->requests->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *cseq = g_strdup_printf ("%u NOTIFY", i + 1);

      g_assert_cmpstr (
          sfb_sip_message_get_header (g_ptr_array_index (fx->requests, i), "CSeq"), ==, cseq);
    }
  g_assert_cmpuint (fx->n_closed, ==, 0);
}

/* After the TLS layer would not read while the socket was readable (the
 * fallback to the stream's source, forced here: the race that leads there
 * is not deterministic), the next message brings reading back to the
 * socket's source, and every message is delivered, in order. */
static void
test_fallback_is_temporary (Fixture *fx, gconstpointer data)
{
  while (g_main_context_iteration (NULL, FALSE)) /* the first read */
    ;
  g_assert_cmpstr (read_source_name (fx), ==, SFB_SIP_READ_SOURCE_SOCKET);
  sfb_sip_connection_fall_back_to_stream (fx->connection);
  g_assert_cmpstr (read_source_name (fx), ==, SFB_SIP_READ_SOURCE_STREAM);

  for (guint i = 1; i <= 4; i++)
    {
      g_autofree char *notify = fallback_notify_text (i);

      peer_write (fx, notify, 40); /* in pieces, as over a network */
      if (i == 1)
        spin_until (got_request, fx);
      /* a message was read: the socket's source is back, and stays */
      g_assert_true (reads_from_socket (fx));
    }
  spin_until (got_all_requests, fx);
  assert_four_notifies_in_order (fx);
}

/* Closed while the stream's source stands in: nothing more is read, and
 * nothing is left attached to the main loop. */
static void
test_close_during_fallback (Fixture *fx, gconstpointer data)
{
  g_autofree char *notify = fallback_notify_text (1);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  sfb_sip_connection_fall_back_to_stream (fx->connection);
  sfb_sip_connection_close (fx->connection);
  g_assert_null (fx->connection->read_source);
  (void) g_socket_send (fx->peer, notify, strlen (notify), NULL, NULL); /* may be closed */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (fx->requests->len, ==, 0);
  g_assert_true (sfb_sip_connection_is_closed (fx->connection));
}

/* ---- over real TLS ---- */

/* The server's certificate with its key, made for the run. */
static GTlsCertificate *
make_server_certificate (void)
{
  g_auto (SfbTestKeyPair) pair = { 0 };
  g_autoptr (GByteArray) pem = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  GTlsCertificate *certificate;

  sfb_test_key_pair_make (&pair, "pool.test", 3600, 2048);
  g_byte_array_append (
      pem, g_bytes_get_data (pair.cert_pem, NULL), (guint) g_bytes_get_size (pair.cert_pem));
  g_byte_array_append (
      pem, g_bytes_get_data (pair.key_pem, NULL), (guint) g_bytes_get_size (pair.key_pem));
  certificate
      = g_tls_certificate_new_from_pem ((const char *) pem->data, (gssize) pem->len, &error);
  g_assert_no_error (error);
  return certificate;
}

static gboolean
accept_any (GTlsConnection *tls, GTlsCertificate *cert, GTlsCertificateFlags errors, gpointer data)
{
  return TRUE; /* a test's own certificate; the checks are the daemon's TLS tests' */
}

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *fx = user_data;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error));
  g_assert_no_error (error);
  fx->handshakes++;
}

static gboolean
handshakes_done (Fixture *fx)
{
  return fx->handshakes == 2;
}

/* The connection over TLS over loopback TCP, wrapped as the daemon wraps
 * it (a socket connection whose stream is the TLS one); the test plays the
 * server through server_tls. */
static void
tls_fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSocket) listener = NULL;
  g_autoptr (GSocket) ours = NULL;
  g_autoptr (GSocket) theirs = NULL;
  g_autoptr (GSocketConnection) ours_stream = NULL;
  g_autoptr (GSocketConnection) theirs_stream = NULL;
  g_autoptr (GIOStream) client_tls = NULL;
  g_autoptr (GSocketConnection) wrapped = NULL;
  g_autoptr (GTlsCertificate) certificate = make_server_certificate ();
  g_autoptr (GError) error = NULL;

  listener
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (listener, any_port, TRUE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  bound = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);
  ours = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_connect (ours, bound, NULL, &error)); /* the backlog takes it */
  theirs = g_socket_accept (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_option (ours, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_option (theirs, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  ours_stream = g_socket_connection_factory_create_connection (ours);
  theirs_stream = g_socket_connection_factory_create_connection (theirs);
  client_tls = g_tls_client_connection_new (G_IO_STREAM (ours_stream), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (client_tls, "accept-certificate", G_CALLBACK (accept_any), NULL);
  fx->server_tls = g_tls_server_connection_new (G_IO_STREAM (theirs_stream), certificate, &error);
  g_assert_no_error (error);
  g_tls_connection_handshake_async (
      G_TLS_CONNECTION (client_tls), G_PRIORITY_DEFAULT, NULL, on_handshake, fx);
  g_tls_connection_handshake_async (
      G_TLS_CONNECTION (fx->server_tls), G_PRIORITY_DEFAULT, NULL, on_handshake, fx);
  spin_until (handshakes_done, fx);

  wrapped = g_tcp_wrapper_connection_new (client_tls, ours);
  fixture_connect (fx, G_IO_STREAM (wrapped));
}

/* One write: one TLS record. */
static void
server_send (Fixture *fx, const char *text)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_output_stream_write_all (
      g_io_stream_get_output_stream (fx->server_tls), text, strlen (text), NULL, NULL, &error));
  g_assert_no_error (error);
}

/* As test_fallback_is_temporary, over TLS, where the stream's source is
 * glib-networking's: two records wait when the fallback's source fires, the
 * second is read after the return to the socket's source. */
static void
test_tls_fallback_is_temporary (Fixture *fx, gconstpointer data)
{
  g_autofree char *first = fallback_notify_text (1);
  g_autofree char *second = fallback_notify_text (2);

  while (g_main_context_iteration (NULL, FALSE)) /* the first read */
    ;
  g_assert_true (reads_from_socket (fx));
  sfb_sip_connection_fall_back_to_stream (fx->connection);
  g_assert_cmpstr (read_source_name (fx), ==, SFB_SIP_READ_SOURCE_STREAM);
  server_send (fx, first);
  server_send (fx, second);
  spin_until (got_request, fx);
  g_assert_true (reads_from_socket (fx));
  for (guint i = 3; i <= 4; i++)
    {
      g_autofree char *notify = fallback_notify_text (i);

      server_send (fx, notify);
    }
  spin_until (got_all_requests, fx);
  g_assert_true (reads_from_socket (fx));
  assert_four_notifies_in_order (fx);
}

/* ---- bursts ---- */

/* Holds that would outlast the safety deadline: a message kept waiting by
 * one fails the test instead of arriving late.  Every read after the first
 * counts as part of a burst (the gap is a minute). */
#define LONG_HOLD_MS (60 * 1000)

static void
long_holds (Fixture *fx)
{
  fx->connection->burst_gap_us = 60 * G_USEC_PER_SEC;
  fx->connection->after_answer_us = 60 * G_USEC_PER_SEC;
  fx->connection->hold_ms = LONG_HOLD_MS;
}

/* The peer answers @sent (an OPTIONS of send_options()) with a 200, which
 * ends the transaction. */
static void
answer_ok (Fixture *fx, SfbSipMessage *sent)
{
  g_autofree char *ok = response_text (sent, "200 OK", NULL, NULL);

  peer_write (fx, ok, strlen (ok));
  spin_until (transaction_done, fx);
  g_assert_no_error (fx->error);
  g_assert_cmpuint (sfb_sip_message_get_status_code (fx->response), ==, 200);
}

static gboolean
got_wanted_requests (Fixture *fx)
{
  return fx->requests->len >= fx->want_requests;
}

/* Writes NOTIFY @cseq and runs the main loop until it was handled. */
static void
peer_notify (Fixture *fx, guint cseq)
{
  g_autofree char *notify = notify_text (cseq);

  fx->want_requests = fx->requests->len + 1;
  peer_write (fx, notify, strlen (notify));
  spin_until (got_wanted_requests, fx);
}

/* A message after a quiet time is read at once, and so is the next: the
 * first does not start a hold (only a read soon after another does). */
static void
test_lone_message_at_once (Fixture *fx, gconstpointer data)
{
  long_holds (fx);
  while (g_main_context_iteration (NULL, FALSE)) /* the first read */
    ;
  peer_notify (fx, 1);
  g_assert_cmpuint (fx->connection->hold_id, ==, 0);
  peer_notify (fx, 2); /* would wait out a hold started by the first */
  g_assert_cmpuint (fx->requests->len, ==, 2);
}

/* In a burst's hold, sending a request ends the hold: the answer is read at
 * once. */
static void
test_answer_ends_hold (Fixture *fx, gconstpointer data)
{
  g_autoptr (SfbSipMessage) sent = NULL;

  long_holds (fx);
  peer_notify (fx, 1);
  peer_notify (fx, 2);
  g_assert_cmpuint (fx->connection->hold_id, !=, 0); /* a burst: the socket set aside */
  send_options (fx, 5000);
  sent = peer_read_message (fx);
  answer_ok (fx, sent);
}

/* While an answer is awaited, messages in quick succession start no hold:
 * the answer behind them is read at once. */
static void
test_no_hold_while_awaiting (Fixture *fx, gconstpointer data)
{
  g_autoptr (SfbSipMessage) sent = NULL;

  long_holds (fx);
  send_options (fx, 5000);
  sent = peer_read_message (fx);
  peer_notify (fx, 1);
  peer_notify (fx, 2);
  g_assert_cmpuint (fx->connection->hold_id, ==, 0);
  answer_ok (fx, sent);
}

/* What follows an answer (the server's NOTIFYs that the exchange caused)
 * is read at once, however quickly it comes. */
static void
test_after_answer_at_once (Fixture *fx, gconstpointer data)
{
  g_autoptr (SfbSipMessage) sent = NULL;

  long_holds (fx);
  peer_notify (fx, 1);
  send_options (fx, 5000);
  sent = peer_read_message (fx);
  answer_ok (fx, sent);
  peer_notify (fx, 2); /* close after the answer: a burst but for it */
  peer_notify (fx, 3);
  g_assert_cmpuint (fx->requests->len, ==, 3);
  g_assert_cmpuint (fx->connection->hold_id, ==, 0);
}

static gboolean
hold_ended (Fixture *fx)
{
  return fx->connection->hold_id == 0;
}

/* Over TLS, where a read returns one record: the messages that came during
 * a burst's hold are read in one wake-up when it ends, and once the burst
 * is over (a hold that found nothing) the socket's source is back and no
 * timer is left. */
static void
test_tls_burst_read_together (Fixture *fx, gconstpointer data)
{
  guint64 wakeups;

  fx->connection->burst_gap_us = 60 * G_USEC_PER_SEC;
  fx->connection->hold_ms = 500;                 /* the four writes below fit in it */
  while (g_main_context_iteration (NULL, FALSE)) /* the first read */
    ;
  for (guint i = 1; i <= 2; i++)
    {
      g_autofree char *notify = notify_text (i);

      server_send (fx, notify);
      fx->want_requests = i;
      spin_until (got_wanted_requests, fx);
    }
  g_assert_cmpuint (fx->connection->hold_id, !=, 0);
  wakeups = fx->connection->read_wakeups;
  for (guint i = 3; i <= 6; i++)
    {
      g_autofree char *notify = notify_text (i);

      server_send (fx, notify); /* one TLS record each */
    }
  fx->want_requests = 6;
  spin_until (got_wanted_requests, fx);
  g_assert_cmpuint (fx->connection->read_wakeups - wakeups, ==, 1);
  spin_until (hold_ended, fx);
  g_assert_cmpstr (read_source_name (fx), ==, SFB_SIP_READ_SOURCE_SOCKET);
  g_assert_cmpuint (fx->requests->len, ==, 6);
  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *cseq = g_strdup_printf ("%u NOTIFY", i + 1);

      g_assert_cmpstr (
          sfb_sip_message_get_header (g_ptr_array_index (fx->requests, i), "CSeq"), ==, cseq);
    }
}

/* Ends a burst's hold now, as its timer would. */
static void
end_hold_now (Fixture *fx)
{
  GSource *timer = g_main_context_find_source_by_id (NULL, fx->connection->hold_id);

  g_assert_nonnull (timer);
  g_source_set_ready_time (timer, 0);
}

static char *
instant_message_text (guint cseq)
{
  return g_strdup_printf ("MESSAGE sip:alice@127.0.0.1:5061;transport=tls SIP/2.0\r\n"
                          "Via: SIP/2.0/TLS 127.0.1.11:5061;branch=z9hG4bKm%u\r\n"
                          "From: <sip:bob@contoso.test>;tag=c\r\n"
                          "To: <sip:alice@contoso.test>;tag=d\r\n"
                          "Call-ID: im\r\nCSeq: %u MESSAGE\r\n"
                          "Content-Length: 0\r\n\r\n",
                          cseq,
                          cseq);
}

/* While the socket is held, the peer writes @n_notifies NOTIFYs (after an
 * instant message with @with_message); the hold ends, they are read, and
 * the burst goes on: the next hold's length. */
static guint
next_hold_after (Fixture *fx, guint n_notifies, gboolean with_message, guint *cseq)
{
  g_assert_cmpuint (fx->connection->hold_id, !=, 0);
  fx->want_requests = fx->requests->len + n_notifies + (with_message ? 1 : 0);
  if (with_message)
    {
      g_autofree char *message = instant_message_text (++*cseq);

      peer_write (fx, message, strlen (message));
    }
  for (guint i = 0; i < n_notifies; i++)
    {
      g_autofree char *notify = notify_text (++*cseq);

      peer_write (fx, notify, strlen (notify));
    }
  end_hold_now (fx);
  spin_until (got_wanted_requests, fx);
  g_assert_cmpuint (fx->connection->hold_id, !=, 0);
  return fx->connection->burst_hold_ms;
}

/* A hold that took a notification or more, and no other request, is
 * followed by one twice as long, up to the longest: a burst paced one
 * notification per hold reaches the longest hold as one of several per
 * hold does.  An instant message among them, and the next is the first
 * hold's length again, as is the first of the next burst. */
static void
test_holds_grow (Fixture *fx, gconstpointer data)
{
  guint cseq = 0;

  long_holds (fx);
  fx->connection->hold_max_ms = LONG_HOLD_MS * 5 / 2;
  while (g_main_context_iteration (NULL, FALSE)) /* the first read */
    ;
  peer_notify (fx, ++cseq);
  peer_notify (fx, ++cseq);
  g_assert_cmpuint (fx->connection->burst_hold_ms, ==, LONG_HOLD_MS);
  g_assert_cmpuint (next_hold_after (fx, 1, FALSE, &cseq), ==, LONG_HOLD_MS * 2);
  g_assert_cmpuint (next_hold_after (fx, 1, FALSE, &cseq), ==, LONG_HOLD_MS * 5 / 2);
  g_assert_cmpuint (next_hold_after (fx, 1, FALSE, &cseq), ==, LONG_HOLD_MS * 5 / 2);
  g_assert_cmpuint (next_hold_after (fx, 4, FALSE, &cseq), ==, LONG_HOLD_MS * 5 / 2);
  g_assert_cmpuint (next_hold_after (fx, 3, TRUE, &cseq), ==, LONG_HOLD_MS);
  g_assert_cmpuint (next_hold_after (fx, 0, TRUE, &cseq), ==, LONG_HOLD_MS);
  g_assert_cmpuint (next_hold_after (fx, 2, FALSE, &cseq), ==, LONG_HOLD_MS * 2);
  /* a hold that finds nothing ends the burst */
  end_hold_now (fx);
  spin_until (hold_ended, fx);
  g_assert_true (reads_from_socket (fx));
  /* three in one write, one wake-up, within the gap: a new burst's first
   * hold */
  {
    g_autoptr (GString) three = g_string_new (NULL);

    for (guint i = 0; i < 3; i++)
      {
        g_autofree char *notify = notify_text (++cseq);

        g_string_append (three, notify);
      }
    fx->want_requests = fx->requests->len + 3;
    peer_write (fx, three->str, three->len);
    spin_until (got_wanted_requests, fx);
  }
  g_assert_cmpuint (fx->connection->hold_id, !=, 0);
  g_assert_cmpuint (fx->connection->burst_hold_ms, ==, LONG_HOLD_MS);
  g_assert_cmpuint (fx->requests->len, ==, cseq);
  for (guint i = 0; i < cseq; i++)
    {
      const char *got = sfb_sip_message_get_header (g_ptr_array_index (fx->requests, i), "CSeq");

      g_assert_cmpuint (g_ascii_strtoull (got, NULL, 10), ==, i + 1);
    }
}

/* What a presence change inside a burst may wait, at most, as
 * docs/benchmarks.md states it ("Storm: paced bursts"): the longest hold. */
static void
test_hold_bounded (Fixture *fx, gconstpointer data)
{
  g_assert_cmpuint (fx->connection->hold_ms, >, 0);
  g_assert_cmpuint (fx->connection->hold_ms, <=, fx->connection->hold_max_ms);
  g_assert_cmpuint (fx->connection->hold_max_ms, <=, 20);
}

/* Over TLS, one record a read: a hold's end that stops at HOLD_MAX_READS
 * with records left is followed by the first hold's length, not a longer
 * one (a server faster than the longest hold's reads is kept up with), and
 * what was left is read when that hold ends. */
static void
test_tls_hold_at_most_reads (Fixture *fx, gconstpointer data)
{
  guint n = HOLD_MAX_READS + 1;

  long_holds (fx);
  fx->connection->hold_max_ms = LONG_HOLD_MS * 4;
  while (g_main_context_iteration (NULL, FALSE)) /* the first read */
    ;
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *notify = notify_text (i);

      server_send (fx, notify);
      if (i == 3)
        end_hold_now (fx); /* the second started a hold */
      fx->want_requests = i;
      spin_until (got_wanted_requests, fx);
    }
  g_assert_cmpuint (fx->connection->hold_id, !=, 0);
  g_assert_cmpuint (fx->connection->burst_hold_ms, ==, LONG_HOLD_MS * 2);
  for (guint i = 4; i < 4 + n; i++)
    {
      g_autofree char *notify = notify_text (i);

      server_send (fx, notify); /* one TLS record each */
    }
  fx->want_requests = 3 + HOLD_MAX_READS;
  end_hold_now (fx);
  spin_until (got_wanted_requests, fx);
  g_assert_cmpuint (fx->requests->len, ==, 3 + HOLD_MAX_READS);
  g_assert_cmpuint (fx->connection->hold_id, !=, 0);
  g_assert_cmpuint (fx->connection->burst_hold_ms, ==, LONG_HOLD_MS);
  fx->want_requests = 3 + n;
  end_hold_now (fx);
  spin_until (got_wanted_requests, fx);
  g_assert_cmpuint (fx->connection->burst_hold_ms, ==, LONG_HOLD_MS * 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/sip-connection/transaction",
              Fixture,
              NULL,
              fixture_setup,
              test_transaction,
              fixture_teardown);
  g_test_add ("/sip-connection/incoming-request",
              Fixture,
              NULL,
              fixture_setup,
              test_incoming_request,
              fixture_teardown);
  g_test_add ("/sip-connection/burst", Fixture, NULL, fixture_setup, test_burst, fixture_teardown);
  g_test_add ("/sip-connection/end-of-connection",
              Fixture,
              NULL,
              fixture_setup,
              test_end_of_connection,
              fixture_teardown);
  g_test_add ("/sip-connection/transaction-timeout",
              Fixture,
              NULL,
              fixture_setup,
              test_transaction_timeout,
              fixture_teardown);
  g_test_add ("/sip-connection/oversized-garbage",
              Fixture,
              NULL,
              fixture_setup,
              test_garbage,
              fixture_teardown);
  g_test_add ("/sip-connection/close-flushes",
              Fixture,
              NULL,
              fixture_setup,
              test_close_flushes,
              fixture_teardown);
  g_test_add ("/sip-connection/close-flush-deadline",
              Fixture,
              NULL,
              fixture_setup,
              test_close_flush_deadline,
              fixture_teardown);
  g_test_add ("/sip-connection/fallback-is-temporary",
              Fixture,
              NULL,
              fixture_setup,
              test_fallback_is_temporary,
              fixture_teardown);
  g_test_add ("/sip-connection/close-during-fallback",
              Fixture,
              NULL,
              fixture_setup,
              test_close_during_fallback,
              fixture_teardown);
  g_test_add ("/sip-connection/tls-fallback-is-temporary",
              Fixture,
              NULL,
              tls_fixture_setup,
              test_tls_fallback_is_temporary,
              fixture_teardown);
  g_test_add ("/sip-connection/lone-message-at-once",
              Fixture,
              NULL,
              fixture_setup,
              test_lone_message_at_once,
              fixture_teardown);
  g_test_add ("/sip-connection/answer-ends-hold",
              Fixture,
              NULL,
              fixture_setup,
              test_answer_ends_hold,
              fixture_teardown);
  g_test_add ("/sip-connection/no-hold-while-awaiting",
              Fixture,
              NULL,
              fixture_setup,
              test_no_hold_while_awaiting,
              fixture_teardown);
  g_test_add ("/sip-connection/after-answer-at-once",
              Fixture,
              NULL,
              fixture_setup,
              test_after_answer_at_once,
              fixture_teardown);
  g_test_add ("/sip-connection/holds-grow",
              Fixture,
              NULL,
              fixture_setup,
              test_holds_grow,
              fixture_teardown);
  g_test_add ("/sip-connection/tls-burst-read-together",
              Fixture,
              NULL,
              tls_fixture_setup,
              test_tls_burst_read_together,
              fixture_teardown);
  g_test_add ("/sip-connection/tls-hold-at-most-reads",
              Fixture,
              NULL,
              tls_fixture_setup,
              test_tls_hold_at_most_reads,
              fixture_teardown);
  g_test_add ("/sip-connection/hold-bounded",
              Fixture,
              NULL,
              fixture_setup,
              test_hold_bounded,
              fixture_teardown);
  return g_test_run ();
}
