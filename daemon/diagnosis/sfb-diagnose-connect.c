/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The connectivity and tls stages: a TCP connection to every SIP server
 * discovery would try (connected, refused, filtered or unreachable), then a
 * TLS handshake on each that answered, judged by the trust sfbd uses
 * (net/sfb-tls.h: system store plus CAFile): chain and anchor, the names,
 * the dates and the protocol version.  Nothing is sent over them.
 *
 * The handshake starts as soon as its connection is made, within the
 * connectivity stage, and has a deadline of its own counted from then: a
 * server drops a connection that has not finished TLS within seconds (SfB
 * and sfbsim after 10), so it must not wait for the slowest candidate's
 * connect.  The tls stage reports what the handshakes found.
 *
 * The connect is made here, one address of the host after the other, each
 * with a socket timeout, not with GSocketClient: GLib 2.74's leaves its
 * task and data in a reference cycle when the last address fails after its
 * happy-eyeballs delay (250 ms), so for every host that drops packets (a
 * leak LeakSanitizer reports).  Nor is a connect ever cancelled: its
 * socket timeout ends it.  When the run is cancelled (its caller left) the
 * attempt stops waiting for it at once, and the connect finishes by itself
 * in the background holding only its Connect.
 */
#define G_LOG_DOMAIN "sfbd-diagnosis"

#include "config.h"

#include "sfb-diagnosis-private.h"

#include "sfb-text.h"
#include "sfb-tls.h"

#include <string.h>

#define CONNECT_TIMEOUT_SECONDS 5
/* from the connect; what a server allows for the handshake (see above) */
#define HANDSHAKE_TIMEOUT_SECONDS 10
/* a certificate this close to its end is a WARN */
#define EXPIRY_WARNING_DAYS 30
#define MAX_CHAIN 8

/* ---- shared: one attempt per candidate, with a deadline ---- */

typedef struct _Attempt Attempt;

/* A connect under way: the callbacks' data, freed by the last */
typedef struct
{
  Attempt *attempt; /* NULL once the attempt stopped waiting for it */
  char *host;
  GSocketAddressEnumerator *addresses;
  GSocketConnection *connection; /* to the address being tried */
  GError *error;                 /* why the last address failed */
} Connect;

typedef struct
{
  SfbDiagContext *ctx;
  GTask *task;
  guint pending;
  GPtrArray *attempts; /* Attempt, in candidate order */
} Run;

/* One candidate: its connect, then at once its handshake.  Kept in
 * ctx->probes for the tls stage once the connectivity stage is done. */
struct _Attempt
{
  Run *run;                      /* NULL once handed to ctx->probes */
  SfbServerCandidate *candidate; /* in ctx->candidates */
  char *key;                     /* host:port */
  GCancellable *cancellable;     /* the handshake's: the deadline or the run */
  Connect *connect;              /* the connect waited for, or NULL */
  guint deadline_id;
  gint64 started;
  /* connect */
  gboolean timed_out;
  gint64 elapsed; /* microseconds */
  GError *error;
  GSocketConnection *connection;
  char *address; /* the address connected to */
  gboolean connected;
  /* tls */
  gboolean tls_timed_out;
  gint64 tls_elapsed; /* microseconds */
  GError *tls_error;
  GIOStream *tls;
  GTlsCertificate *certificate;
  GTlsCertificateFlags errors;
  GTlsProtocolVersion version;
  GTlsCertificateFlags system_errors; /* the chain against the system store alone */
  gboolean system_checked;
};

static void
attempt_free (Attempt *a)
{
  if (a->connect != NULL)
    a->connect->attempt = NULL;
  if (a->deadline_id != 0)
    g_source_remove (a->deadline_id);
  g_free (a->key);
  g_clear_object (&a->cancellable);
  g_clear_error (&a->error);
  g_clear_error (&a->tls_error);
  g_free (a->address);
  g_clear_object (&a->connection);
  g_clear_object (&a->tls);
  g_clear_object (&a->certificate);
  g_free (a);
}

/* Done with the connection: closed without blocking (the stream lives
 * until the close is done) */
static void
attempt_close (Attempt *a)
{
  if (a->tls != NULL)
    g_io_stream_close_async (a->tls, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  else if (a->connection != NULL)
    g_io_stream_close_async (G_IO_STREAM (a->connection), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&a->tls);
  g_clear_object (&a->connection);
}

/* The time since the clock started, the deadline removed */
static gint64
attempt_stop_clock (Attempt *a)
{
  if (a->deadline_id != 0)
    g_source_remove (a->deadline_id);
  a->deadline_id = 0;
  return g_get_monotonic_time () - a->started;
}

typedef void (*ReportFunc) (Run *run);

static void report_connectivity (Run *run);
static void run_attempt_done (Run *run, ReportFunc report);

/* Done waiting for the connect under way, which goes on by itself (see
 * above).  May free @a with its run. */
static void
attempt_stop_waiting (Attempt *a)
{
  a->connect->attempt = NULL;
  a->connect = NULL;
  a->elapsed = attempt_stop_clock (a);
  run_attempt_done (a->run, report_connectivity);
}

static gboolean
on_deadline (gpointer user_data)
{
  Attempt *a = user_data;

  a->deadline_id = 0;
  if (a->connected)
    {
      a->tls_timed_out = TRUE;
      g_cancellable_cancel (a->cancellable);
      return G_SOURCE_REMOVE;
    }
  /* the socket timeouts had to end it (they do not count the name's
   * lookup, and a host may have more addresses): filtered all the same */
  a->timed_out = TRUE;
  if (a->connect != NULL)
    attempt_stop_waiting (a);
  return G_SOURCE_REMOVE;
}

static void
on_run_cancelled (GCancellable *run_cancellable, Attempt *a)
{
  (void) run_cancellable;
  g_cancellable_cancel (a->cancellable);
  if (a->connect != NULL)
    attempt_stop_waiting (a);
}

static void
attempt_start_clock (Attempt *a, guint timeout_seconds)
{
  a->started = g_get_monotonic_time ();
  a->deadline_id = g_timeout_add_seconds (timeout_seconds, on_deadline, a);
}

static Attempt *
attempt_new (Run *run, SfbServerCandidate *candidate, guint timeout_seconds)
{
  Attempt *a = g_new0 (Attempt, 1);

  a->run = run;
  a->candidate = candidate;
  a->key = sfb_diag_host_port (candidate->host, candidate->port);
  a->cancellable = g_cancellable_new ();
  g_cancellable_connect (run->ctx->cancellable, G_CALLBACK (on_run_cancelled), a, NULL);
  attempt_start_clock (a, timeout_seconds);
  g_ptr_array_add (run->attempts, a);
  run->pending++;
  return a;
}

static void
run_free (Run *run)
{
  /* the run's cancellable keeps no handler pointing at a freed attempt */
  for (guint i = 0; i < run->attempts->len; i++)
    {
      Attempt *a = g_ptr_array_index (run->attempts, i);

      g_signal_handlers_disconnect_by_data (run->ctx->cancellable, a);
      a->run = NULL;
    }
  g_ptr_array_unref (run->attempts);
  g_object_unref (run->task);
  g_free (run);
}

static void
run_attempt_done (Run *run, ReportFunc report)
{
  if (--run->pending > 0)
    return;
  if (!g_task_return_error_if_cancelled (run->task))
    {
      report (run);
      g_task_return_boolean (run->task, TRUE);
    }
  run_free (run);
}

static Run *
run_new (SfbDiagContext *ctx, GTask *task)
{
  Run *run = g_new0 (Run, 1);

  run->ctx = ctx;
  run->task = g_object_ref (task);
  run->attempts = g_ptr_array_new_with_free_func ((GDestroyNotify) attempt_free);
  run->pending = 1; /* until every attempt has started */
  return run;
}

static char *
format_duration (gint64 usec)
{
  if (usec < 10000)
    return g_strdup_printf ("%.1f ms", usec / 1000.0);
  return g_strdup_printf ("%" G_GINT64_FORMAT " ms", usec / 1000);
}

/* ---- connectivity ---- */

static void
collect_candidates (SfbDiagContext *ctx)
{
  g_autoptr (GPtrArray) discovered = sfb_discovery_combine (ctx->lookups);
  const char *server = ctx->sip_uri != NULL ? sfb_config_get_server_host (ctx->config) : NULL;
  guint16 port = sfb_config_get_server_port (ctx->config);

  /* Account.Server without a port is 5061, as a sign-in dials it */
  if (server != NULL)
    g_ptr_array_add (ctx->candidates,
                     sfb_server_candidate_new (
                         server, port != 0 ? port : 5061, SFB_SERVER_SOURCE_CONFIGURED, NULL));
  for (guint i = 0; i < discovered->len; i++)
    {
      SfbServerCandidate *c = g_ptr_array_index (discovered, i);
      gboolean known = FALSE;

      for (guint j = 0; j < ctx->candidates->len && !known; j++)
        known = sfb_server_candidate_equal (c, g_ptr_array_index (ctx->candidates, j));
      if (!known)
        g_ptr_array_add (ctx->candidates, sfb_server_candidate_copy (c));
    }
}

static char *
connect_check_name (const Attempt *a)
{
  return g_strdup_printf ("connect %s", a->key);
}

/* Another port of the same host answered (the A record sip.D: 5061, then 443) */
static const Attempt *
sibling_connected (Run *run, const Attempt *a)
{
  for (guint i = 0; i < run->attempts->len; i++)
    {
      const Attempt *other = g_ptr_array_index (run->attempts, i);

      if (other != a && other->connected
          && g_ascii_strcasecmp (other->candidate->host, a->candidate->host) == 0)
        return other;
    }
  return NULL;
}

static void
report_connect_failure (Run *run, Attempt *a)
{
  SfbDiagContext *ctx = run->ctx;
  g_autofree char *check = connect_check_name (a);
  g_autofree char *source = sfb_server_candidate_to_string (a->candidate);
  const SfbServerCandidate *c = a->candidate;
  g_autofree char *evidence = NULL;
  g_autofree char *fix = NULL;
  const Attempt *sibling = sibling_connected (run, a);

  if (a->timed_out || g_error_matches (a->error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      evidence = g_strdup_printf (
          "%s: filtered: no answer within %d s", source, CONNECT_TIMEOUT_SECONDS);
      fix = g_strdup_printf ("A firewall drops the packets to %s: open TCP port %u from this "
                             "network to it, or correct the record that names this port.",
                             c->host,
                             c->port);
    }
  else if (g_error_matches (a->error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    {
      evidence = g_strdup_printf (
          "%s: refused: nothing accepts connections on port %u", source, c->port);
      fix = g_strdup_printf ("Start the Skype for Business service on %s (Front End, Director "
                             "or Edge) or make it listen on port %u, or correct the record "
                             "that names this port.",
                             c->host,
                             c->port);
    }
  else if (g_error_matches (a->error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
           || g_error_matches (a->error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    {
      evidence = g_strdup_printf ("%s: unreachable: %s", source, a->error->message);
      fix = g_strdup_printf ("There is no route from here to %s: check this machine's network, "
                             "VPN and routing.",
                             c->host);
    }
  else if (a->error != NULL && a->error->domain == G_RESOLVER_ERROR)
    {
      g_autofree char *why = sfb_discovery_describe_resolver_error (a->error);

      evidence = g_strdup_printf ("%s: the name does not resolve: %s", source, why);
      fix = g_strdup_printf ("Publish an A record for %s.", c->host);
    }
  else
    {
      evidence
          = g_strdup_printf ("%s: %s", source, a->error != NULL ? a->error->message : "failed");
      fix = g_strdup_printf (
          "Check that %s accepts TCP connections on port %u from here.", c->host, c->port);
    }
  if (sibling != NULL && c->source == SFB_SERVER_SOURCE_A_RECORD)
    {
      /* the fallback port of an A record: the client goes on to the other */
      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_CONNECTIVITY,
                        check,
                        SFB_DIAGNOSIS_PASS,
                        NULL,
                        "%s (not needed: %s answers)",
                        evidence,
                        sibling->key);
      return;
    }
  sfb_diag_report (ctx, SFB_DIAG_STAGE_CONNECTIVITY, check, SFB_DIAGNOSIS_FAIL, evidence, fix);
}

static void
report_connectivity (Run *run)
{
  SfbDiagContext *ctx = run->ctx;

  if (run->attempts->len == 0)
    {
      sfb_diag_skip (ctx,
                     SFB_DIAG_STAGE_CONNECTIVITY,
                     "SIP servers",
                     "Skipped: neither DNS nor autodiscover named a SIP server to try "
                     "(see the dns and autodiscover checks)");
      return;
    }
  for (guint i = 0; i < run->attempts->len; i++)
    {
      Attempt *a = g_ptr_array_index (run->attempts, i);
      g_autofree char *check = connect_check_name (a);
      g_autofree char *source = NULL;
      g_autofree char *took = NULL;

      if (!a->connected)
        {
          report_connect_failure (run, a);
          continue;
        }
      source = sfb_server_candidate_to_string (a->candidate);
      took = format_duration (a->elapsed);
      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_CONNECTIVITY,
                        check,
                        SFB_DIAGNOSIS_PASS,
                        NULL,
                        "%s: connected to %s in %s",
                        source,
                        a->address != NULL ? a->address : "?",
                        took);
    }
  /* for the tls stage */
  g_clear_pointer (&ctx->probes, g_ptr_array_unref);
  ctx->probes = g_ptr_array_ref (run->attempts);
}

static void start_handshake (Attempt *a);

static void
connect_free (Connect *connect)
{
  g_free (connect->host);
  g_clear_object (&connect->addresses);
  g_clear_object (&connect->connection);
  g_clear_error (&connect->error);
  g_free (connect);
}

static void on_connected (Attempt *a);

/* The connect is over: connect->connection is connected, else
 * connect->error says why not */
static void
connect_done (Connect *connect)
{
  Attempt *a = connect->attempt;

  if (a == NULL)
    {
      /* nobody waits for it any more */
      if (connect->connection != NULL)
        g_io_stream_close_async (
            G_IO_STREAM (connect->connection), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      connect_free (connect);
      return;
    }
  a->connect = NULL;
  a->connection = g_steal_pointer (&connect->connection);
  if (a->connection == NULL)
    a->error = g_steal_pointer (&connect->error);
  connect_free (connect);
  on_connected (a);
}

static void connect_next (Connect *connect);

static void
on_address_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Connect *connect = user_data;

  if (g_socket_connection_connect_finish (G_SOCKET_CONNECTION (source), result, &connect->error))
    {
      /* as GSocketClient leaves it */
      g_socket_set_blocking (g_socket_connection_get_socket (connect->connection), TRUE);
      connect_done (connect);
      return;
    }
  g_prefix_error (&connect->error, "Could not connect to %s: ", connect->host);
  g_clear_object (&connect->connection);
  connect_next (connect);
}

static void
on_address (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Connect *connect = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) address
      = g_socket_address_enumerator_next_finish (connect->addresses, result, &error);
  g_autoptr (GSocket) socket = NULL;

  if (address == NULL || connect->attempt == NULL)
    {
      /* out of addresses: the last one's failure, else the lookup's */
      if (connect->error == NULL)
        connect->error
            = error != NULL
                  ? g_steal_pointer (&error)
                  : g_error_new (
                      G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND, "No address for %s", connect->host);
      connect_done (connect);
      return;
    }
  g_clear_error (&connect->error);
  socket = g_socket_new (g_socket_address_get_family (address),
                         G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP,
                         &connect->error);
  if (socket == NULL)
    {
      connect_next (connect);
      return;
    }
  /* what ends this address's connect (see above) */
  g_socket_set_timeout (socket, CONNECT_TIMEOUT_SECONDS);
  connect->connection = g_socket_connection_factory_create_connection (socket);
  g_socket_connection_connect_async (
      connect->connection, address, NULL, on_address_connected, connect);
}

static void
connect_next (Connect *connect)
{
  g_socket_address_enumerator_next_async (connect->addresses, NULL, on_address, connect);
}

static void
connect_start (Attempt *a)
{
  Connect *connect = g_new0 (Connect, 1);
  g_autoptr (GSocketConnectable) connectable
      = g_network_address_new (a->candidate->host, a->candidate->port);

  connect->attempt = a;
  connect->host = g_strdup (a->candidate->host);
  connect->addresses = g_socket_connectable_enumerate (connectable);
  a->connect = connect;
  connect_next (connect);
}

static void
on_connected (Attempt *a)
{
  g_autoptr (GSocketAddress) remote = NULL;

  a->connected = a->connection != NULL;
  a->elapsed = attempt_stop_clock (a);
  if (!a->connected)
    {
      run_attempt_done (a->run, report_connectivity);
      return;
    }
  remote = g_socket_connection_get_remote_address (a->connection, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    a->address = g_inet_address_to_string (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  start_handshake (a);
}

void
sfb_diagnose_connectivity (SfbDiagContext *ctx, GTask *task)
{
  Run *run;

  /* attempt_new would stop waiting for each connect as it starts it */
  if (g_task_return_error_if_cancelled (task))
    return;
  run = run_new (ctx, task);
  collect_candidates (ctx);
  for (guint i = 0; i < ctx->candidates->len; i++)
    {
      SfbServerCandidate *c = g_ptr_array_index (ctx->candidates, i);

      connect_start (attempt_new (run, c, CONNECT_TIMEOUT_SECONDS + 1));
    }
  run_attempt_done (run, report_connectivity);
}

/* ---- tls: what to do about a certificate ---- */

static char *
format_date (GDateTime *when)
{
  return when != NULL ? g_date_time_format (when, "%Y-%m-%d") : g_strdup ("an unknown date");
}

static char *
issuer_name (GTlsCertificate *certificate)
{
  g_autofree char *issuer
      = certificate != NULL ? g_tls_certificate_get_issuer_name (certificate) : NULL;

  return sfb_text_quote (
      issuer != NULL ? issuer : "an unknown issuer", -1, 128, SFB_TEXT_QUOTE_SPACES);
}

char *
sfb_diag_certificate_fix (GTlsCertificateFlags errors,
                          const char *host,
                          GTlsCertificate *certificate)
{
  g_autoptr (GString) fix = g_string_new (NULL);

  if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
    {
      g_autofree char *issuer = issuer_name (certificate);

      g_string_append_printf (fix,
                              "The certificate on %s is issued by “%s”, which this machine "
                              "does not trust: install that CA's certificate in the system "
                              "trust store, or name it in sfbd.conf ([TLS] CAFile); or give "
                              "the server a certificate from a trusted CA. ",
                              host,
                              issuer);
    }
  if (errors & G_TLS_CERTIFICATE_EXPIRED)
    {
      g_autoptr (GDateTime) until
          = certificate != NULL ? g_tls_certificate_get_not_valid_after (certificate) : NULL;
      g_autofree char *date = format_date (until);

      g_string_append_printf (fix,
                              "The certificate on %s expired on %s: renew it and assign the "
                              "new one to the server (Deployment Wizard or Set-CsCertificate). ",
                              host,
                              date);
    }
  if (errors & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    {
      g_autoptr (GDateTime) from
          = certificate != NULL ? g_tls_certificate_get_not_valid_before (certificate) : NULL;
      g_autofree char *date = format_date (from);

      g_string_append_printf (fix,
                              "The certificate on %s is valid only from %s: check this "
                              "machine's clock, or assign a certificate that is valid now. ",
                              host,
                              date);
    }
  if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    {
      g_autofree char *names
          = certificate != NULL ? sfb_tls_certificate_names (certificate) : g_strdup ("");

      g_string_append_printf (fix,
                              "The certificate on %s is for %s, not %s: issue one whose "
                              "subject alternative names include %s (the pool's FQDN and every "
                              "name clients dial). ",
                              host,
                              *names != '\0' ? names : "no name",
                              host,
                              host);
    }
  if (errors
      & ~(G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_NOT_ACTIVATED
          | G_TLS_CERTIFICATE_BAD_IDENTITY))
    g_string_append_printf (fix,
                            "Replace the certificate on %s: it is revoked, insecure or "
                            "malformed. ",
                            host);
  if (fix->len > 0)
    g_string_truncate (fix, fix->len - 1);
  return g_string_free (g_steal_pointer (&fix), FALSE);
}

/* ---- tls: the checks ---- */

static char *
chain_to_string (GTlsCertificate *certificate)
{
  g_autoptr (GString) out = g_string_new (NULL);
  GTlsCertificate *c = certificate;

  for (guint i = 0; c != NULL && i < MAX_CHAIN; i++, c = g_tls_certificate_get_issuer (c))
    {
      g_autofree char *subject = g_tls_certificate_get_subject_name (c);
      g_autofree char *shown
          = sfb_text_quote (subject != NULL ? subject : "?", -1, 128, SFB_TEXT_QUOTE_SPACES);

      g_string_append_printf (out, "%s%s", i ? " <- " : "", shown);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
report_chain (SfbDiagContext *ctx, Attempt *a, const char *host)
{
  g_autofree char *check = g_strdup_printf ("chain %s", a->key);
  g_autofree char *chain = chain_to_string (a->certificate);
  g_autofree char *issuer = issuer_name (a->certificate);
  const char *ca_file = sfb_config_get_ca_file (ctx->config);
  GTlsCertificateFlags chain_errors = a->errors
                                      & ~(G_TLS_CERTIFICATE_BAD_IDENTITY | G_TLS_CERTIFICATE_EXPIRED
                                          | G_TLS_CERTIFICATE_NOT_ACTIVATED);

  if (chain_errors != 0)
    {
      g_autofree char *fix = sfb_diag_certificate_fix (chain_errors, host, a->certificate);
      g_autofree char *words = sfb_tls_flags_to_string (chain_errors, host);

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_TLS,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        fix,
                        "%s: %s; no trust anchor for “%s” in the system store%s%s",
                        chain,
                        words,
                        issuer,
                        ca_file != NULL ? " or " : "",
                        ca_file != NULL ? ca_file : "");
      return;
    }
  sfb_diag_reportf (
      ctx,
      SFB_DIAG_STAGE_TLS,
      check,
      SFB_DIAGNOSIS_PASS,
      NULL,
      "%s; trust anchor for “%s” found in %s%s",
      chain,
      issuer,
      (a->system_checked && !(a->system_errors & G_TLS_CERTIFICATE_UNKNOWN_CA)) || ca_file == NULL
          ? "the system store"
          : "the CAFile ",
      (a->system_checked && !(a->system_errors & G_TLS_CERTIFICATE_UNKNOWN_CA)) || ca_file == NULL
          ? ""
          : ca_file);
}

static void
report_name (SfbDiagContext *ctx, Attempt *a, const char *host)
{
  g_autofree char *check = g_strdup_printf ("name %s", a->key);
  g_autofree char *names = sfb_tls_certificate_names (a->certificate);

  if (a->errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    {
      g_autofree char *fix
          = sfb_diag_certificate_fix (G_TLS_CERTIFICATE_BAD_IDENTITY, host, a->certificate);

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_TLS,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        fix,
                        "The certificate is for %s, which does not include %s",
                        *names != '\0' ? names : "no name",
                        host);
      return;
    }
  sfb_diag_reportf (ctx,
                    SFB_DIAG_STAGE_TLS,
                    check,
                    SFB_DIAGNOSIS_PASS,
                    NULL,
                    "The certificate is for %s, which includes %s",
                    names,
                    host);
}

static void
report_validity (SfbDiagContext *ctx, Attempt *a, const char *host)
{
  g_autofree char *check = g_strdup_printf ("validity %s", a->key);
  g_autoptr (GDateTime) from = g_tls_certificate_get_not_valid_before (a->certificate);
  g_autoptr (GDateTime) until = g_tls_certificate_get_not_valid_after (a->certificate);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *from_text = format_date (from);
  g_autofree char *until_text = format_date (until);
  GTlsCertificateFlags dates
      = a->errors & (G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_NOT_ACTIVATED);

  if (dates != 0)
    {
      g_autofree char *fix = sfb_diag_certificate_fix (dates, host, a->certificate);

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_TLS,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        fix,
                        "Valid from %s to %s: %s",
                        from_text,
                        until_text,
                        (dates & G_TLS_CERTIFICATE_EXPIRED) ? "expired" : "not valid yet");
      return;
    }
  if (until != NULL
      && g_date_time_difference (until, now) < (GTimeSpan) EXPIRY_WARNING_DAYS * G_TIME_SPAN_DAY)
    {
      g_autofree char *fix = g_strdup_printf (
          "The certificate on %s expires on %s: renew it before then and assign the new one "
          "to the server (Deployment Wizard or Set-CsCertificate).",
          host,
          until_text);

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_TLS,
                        check,
                        SFB_DIAGNOSIS_WARN,
                        fix,
                        "Valid from %s to %s: expires within %d days",
                        from_text,
                        until_text,
                        EXPIRY_WARNING_DAYS);
      return;
    }
  sfb_diag_reportf (ctx,
                    SFB_DIAG_STAGE_TLS,
                    check,
                    SFB_DIAGNOSIS_PASS,
                    NULL,
                    "Valid from %s to %s",
                    from_text,
                    until_text);
}

static const char *
protocol_name (GTlsProtocolVersion version)
{
  switch (version)
    {
    case G_TLS_PROTOCOL_VERSION_SSL_3_0:
      return "SSL 3.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_0:
      return "TLS 1.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_1:
      return "TLS 1.1";
    case G_TLS_PROTOCOL_VERSION_TLS_1_2:
      return "TLS 1.2";
    case G_TLS_PROTOCOL_VERSION_TLS_1_3:
      return "TLS 1.3";
    default:
      return "an unknown version";
    }
}

static void
report_protocol (SfbDiagContext *ctx, Attempt *a, const char *host)
{
  g_autofree char *check = g_strdup_printf ("protocol %s", a->key);

  if (a->version == G_TLS_PROTOCOL_VERSION_TLS_1_2 || a->version == G_TLS_PROTOCOL_VERSION_TLS_1_3)
    {
      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_TLS,
                        check,
                        SFB_DIAGNOSIS_PASS,
                        NULL,
                        "%s negotiated",
                        protocol_name (a->version));
      return;
    }
  sfb_diag_reportf (ctx,
                    SFB_DIAG_STAGE_TLS,
                    check,
                    SFB_DIAGNOSIS_WARN,
                    "Enable TLS 1.2 on the server (Schannel) and disable the older versions.",
                    "%s negotiated with %s",
                    protocol_name (a->version),
                    host);
}

static Attempt *
find_probe (SfbDiagContext *ctx, const char *key)
{
  for (guint i = 0; ctx->probes != NULL && i < ctx->probes->len; i++)
    {
      Attempt *a = g_ptr_array_index (ctx->probes, i);

      if (g_str_equal (a->key, key))
        return a;
    }
  return NULL;
}

static void
report_tls (SfbDiagContext *ctx)
{
  if (ctx->tls_database_error != NULL)
    sfb_diag_report (ctx,
                     SFB_DIAG_STAGE_TLS,
                     "CAFile",
                     SFB_DIAGNOSIS_FAIL,
                     ctx->tls_database_error->message,
                     "Correct [TLS] CAFile in sfbd.conf (sfbctl config set TLS.CAFile PATH): it "
                     "must name a readable PEM file holding the CA certificate that issued the "
                     "servers' certificates.");
  for (guint i = 0; i < ctx->candidates->len; i++)
    {
      SfbServerCandidate *c = g_ptr_array_index (ctx->candidates, i);
      g_autofree char *key = sfb_diag_host_port (c->host, c->port);
      g_autofree char *connect = g_strdup_printf ("connect %s", key);
      g_autofree char *check = g_strdup_printf ("handshake %s", key);
      Attempt *a = find_probe (ctx, key);

      if (a == NULL || !a->connected)
        {
          /* not reachable: say why, unless that was not a failure (a fallback port) */
          SfbDiagnosisResult result;

          if (sfb_diag_lookup (ctx, SFB_DIAG_STAGE_CONNECTIVITY, connect, &result)
              && result == SFB_DIAGNOSIS_PASS)
            continue;
          sfb_diag_skip_unless (
              ctx, SFB_DIAG_STAGE_TLS, check, SFB_DIAG_STAGE_CONNECTIVITY, connect);
          continue;
        }
      if (a->certificate == NULL)
        {
          g_autofree char *took = format_duration (a->tls_elapsed);

          sfb_diag_reportf (ctx,
                            SFB_DIAG_STAGE_TLS,
                            check,
                            SFB_DIAGNOSIS_FAIL,
                            "Make sure the port speaks TLS (SIP over TLS on 5061 or 443), not "
                            "plain TCP or another service, and that no proxy breaks the "
                            "handshake.",
                            "%s: %s after %s",
                            key,
                            a->tls_timed_out
                                ? "no TLS answer in time"
                                : (a->tls_error != NULL ? a->tls_error->message : "failed"),
                            took);
          continue;
        }
      report_chain (ctx, a, c->host);
      report_name (ctx, a, c->host);
      report_validity (ctx, a, c->host);
      report_protocol (ctx, a, c->host);
      g_hash_table_replace (ctx->certificates, g_strdup (key), g_object_ref (a->certificate));
      g_hash_table_replace (ctx->tls_ok, g_strdup (key), GUINT_TO_POINTER (a->errors + 1));
    }
}

/* The handshake of @a is over (its findings in @a) */
static void
handshake_done (Attempt *a)
{
  a->tls_elapsed = attempt_stop_clock (a);
  attempt_close (a);
  run_attempt_done (a->run, report_connectivity);
}

static void
on_system_verified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Attempt *a = user_data;
  g_autoptr (GError) error = NULL;

  a->system_errors = g_tls_database_verify_chain_finish (G_TLS_DATABASE (source), result, &error);
  a->system_checked = error == NULL;
  run_attempt_done (a->run, report_connectivity);
}

/* Where the anchor is: the system store alone, or (else) the CAFile */
static void
verify_with_system_store (Attempt *a)
{
  GTlsDatabase *system = g_tls_backend_get_default_database (g_tls_backend_get_default ());

  if (system == NULL || sfb_config_get_ca_file (a->run->ctx->config) == NULL)
    {
      g_clear_object (&system);
      run_attempt_done (a->run, report_connectivity);
      return;
    }
  g_tls_database_verify_chain_async (system,
                                     a->certificate,
                                     G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                     NULL,
                                     NULL,
                                     G_TLS_DATABASE_VERIFY_NONE,
                                     a->run->ctx->cancellable,
                                     on_system_verified,
                                     a);
  g_object_unref (system);
}

static gboolean
on_accept_certificate (GTlsConnection *connection,
                       GTlsCertificate *certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  Attempt *a = user_data;

  (void) connection;
  /* Only looked at: nothing is ever sent over this connection, which is
   * closed right after the handshake. */
  a->errors = errors;
  g_set_object (&a->certificate, certificate);
  return TRUE;
}

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Attempt *a = user_data;

  if (g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &a->tls_error))
    {
      a->version = g_tls_connection_get_protocol_version (G_TLS_CONNECTION (source));
      if (a->certificate == NULL)
        a->certificate
            = g_object_ref (g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (source)));
    }
  else
    g_clear_object (&a->certificate);
  if (a->certificate != NULL && !(a->errors & G_TLS_CERTIFICATE_UNKNOWN_CA))
    {
      /* the run's pending count stays until the verification is done */
      a->run->pending++;
      verify_with_system_store (a);
    }
  handshake_done (a);
}

/* On the connection just made, before the server gives up waiting for it */
static void
start_handshake (Attempt *a)
{
  g_autoptr (GSocketConnectable) identity
      = g_network_address_new (a->candidate->host, a->candidate->port);

  attempt_start_clock (a, HANDSHAKE_TIMEOUT_SECONDS);
  a->tls = g_tls_client_connection_new (G_IO_STREAM (a->connection), identity, &a->tls_error);
  if (a->tls == NULL)
    {
      handshake_done (a);
      return;
    }
  g_tls_connection_set_database (G_TLS_CONNECTION (a->tls), a->run->ctx->tls_database);
  g_signal_connect (a->tls, "accept-certificate", G_CALLBACK (on_accept_certificate), a);
  g_tls_connection_handshake_async (
      G_TLS_CONNECTION (a->tls), G_PRIORITY_DEFAULT, a->cancellable, on_handshake, a);
}

void
sfb_diagnose_tls (SfbDiagContext *ctx, GTask *task)
{
  /* the handshakes were made with the connections (start_handshake) */
  report_tls (ctx);
  g_task_return_boolean (task, TRUE);
}
