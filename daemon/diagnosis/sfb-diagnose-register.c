/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The REGISTERs of `sfbctl diagnose`: see sfb-diagnose-register.h.  The
 * legs are the session's (daemon/auth: SfbSipSecurity, the NTLM and
 * Kerberos contexts, sfb_auth_choose()); only the dialog is our own: a
 * fresh epid, Call-ID and connection, so the registrar keeps the
 * session's registration apart from this one.
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-diagnose-register.h"

#include "sfb-endpoint-id.h"
#include "sfb-error.h"
#include "sfb-ntlm-context.h"
#include "sfb-ntlm.h"
#ifdef HAVE_KERBEROS
#include "sfb-kerberos-context.h"
#endif
#include "sfb-registration.h"
#include "sfb-sip-connection.h"
#include "sfb-sip-security.h"

#include <libsoup/soup.h>
#include <string.h>

#define REGISTER_TIMEOUT_MS 10000
#define DEREGISTER_TIMEOUT_MS 5000
/* the schemes, then the NTLM CHALLENGE: a third 401 refuses the password
 * (as sfb-sign-in-auth.c counts them) */
#define MAX_AUTH_LEGS 2

typedef struct
{
  SfbDiagnoseRegisterInput in;
  SfbDiagnoseRegisterResult *result;
  char *instance;
  char *call_id;
  char *from_tag;
  char *ms_opaque;
  guint32 cseq;
  SfbSipConnection *connection;
  SfbSipSecurity *security;
  SfbSipMessage *pending; /* the 401 a context prepares for */
  guint auth_legs;
  guint failed; /* SfbAuthScheme bits whose preparation failed at this registrar */
  gboolean deregistering;
} Probe;

static void connect_hop (GTask *task, const char *host, guint16 port);
static void send_register (GTask *task, int expires);

void
sfb_diagnose_register_result_free (SfbDiagnoseRegisterResult *result)
{
  if (result == NULL)
    return;
  g_clear_error (&result->error);
  g_clear_pointer (&result->hops, g_ptr_array_unref);
  g_free (result->failed_hop);
  g_clear_object (&result->challenge);
  g_free (result->challenge_hop);
  g_free (result->epid);
  g_free (result);
}

static void
wipe_string (char *text)
{
  if (text != NULL)
    sfb_ntlm_wipe (text, strlen (text));
  g_free (text);
}

static void
probe_free (Probe *probe)
{
  g_free (probe->in.uri);
  g_free (probe->in.login);
  wipe_string (probe->in.password);
  g_clear_object (&probe->in.tls_database);
  g_free (probe->in.host);
  sfb_diagnose_register_result_free (probe->result);
  g_free (probe->instance);
  g_free (probe->call_id);
  g_free (probe->from_tag);
  g_free (probe->ms_opaque);
  if (probe->connection != NULL)
    sfb_sip_connection_close (probe->connection);
  g_clear_object (&probe->connection);
  g_clear_object (&probe->security);
  g_clear_object (&probe->pending);
  g_free (probe);
}

/* ---- the end ----------------------------------------------------------- */

static void
finish (GTask *task)
{
  Probe *probe = g_task_get_task_data (task);

  if (probe->connection != NULL)
    sfb_sip_connection_close (probe->connection);
  g_task_return_pointer (
      task, g_steal_pointer (&probe->result), (GDestroyNotify) sfb_diagnose_register_result_free);
  g_object_unref (task);
}

static void
finish_with (GTask *task, SfbDiagnoseRegisterOutcome outcome, GError *error)
{
  Probe *probe = g_task_get_task_data (task);

  probe->result->outcome = outcome;
  g_clear_error (&probe->result->error);
  probe->result->error = error;
  finish (task);
}

/* TRUE (and the task done) when @error is a cancellation */
static gboolean
cancelled (GTask *task, GError *error)
{
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  g_task_return_error (task, error);
  g_object_unref (task);
  return TRUE;
}

static const char *
current_hop (Probe *probe)
{
  return g_ptr_array_index (probe->result->hops, probe->result->hops->len - 1);
}

/* ---- connecting -------------------------------------------------------- */

static void
on_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Probe *probe = g_task_get_task_data (task);
  GError *error = NULL;

  probe->connection = sfb_sip_connection_new_finish (res, &error);
  if (probe->connection == NULL)
    {
      if (cancelled (task, error))
        return;
      probe->result->failed_hop = g_strdup (current_hop (probe));
      probe->result->failed_hop_unresolved
          = strstr (error->message, SFB_SIP_CONNECTION_NO_ADDRESS) != NULL;
      finish_with (task, SFB_DIAGNOSE_REGISTER_UNREACHABLE, error);
      return;
    }
  /* a new dialog at every registrar, as a sign-in does after a 301 */
  g_free (probe->call_id);
  probe->call_id = sfb_sip_connection_new_token (32);
  g_free (probe->from_tag);
  probe->from_tag = sfb_sip_connection_new_token (10);
  probe->cseq = 0;
  probe->auth_legs = 0;
  probe->failed = 0;
  send_register (task, -1);
}

static void
connect_hop (GTask *task, const char *host, guint16 port)
{
  Probe *probe = g_task_get_task_data (task);

  g_ptr_array_add (probe->result->hops, g_strdup_printf ("%s:%u", host, port));
  if (probe->connection != NULL)
    sfb_sip_connection_close (probe->connection);
  g_clear_object (&probe->connection);
  g_clear_object (&probe->security);
  sfb_sip_connection_new_async (
      host, port, probe->in.tls_database, g_task_get_cancellable (task), on_connected, task);
}

/* ---- REGISTER ---------------------------------------------------------- */

static SfbSipMessage *
build_register (Probe *probe, int expires)
{
  const char *at = strchr (probe->in.uri, '@');
  g_autofree char *request_uri = g_strdup_printf ("sip:%s", at != NULL ? at + 1 : "");
  g_autoptr (SfbSipMessage) message = sfb_sip_message_new_request ("REGISTER", request_uri);
  g_autofree char *aor = g_strdup_printf ("<%s>", probe->in.uri);
  g_autofree char *from
      = g_strdup_printf ("%s;tag=%s;epid=%s", aor, probe->from_tag, probe->result->epid);
  g_autofree char *cseq = g_strdup_printf ("%u REGISTER", ++probe->cseq);
  const char *ip = sfb_sip_connection_get_local_ip (probe->connection);
  gboolean v6 = strchr (ip, ':') != NULL;
  g_autofree char *contact
      = g_strdup_printf ("<sip:%s%s%s:%u;transport=tls;ms-opaque=%s>;+sip.instance="
                         "\"<urn:uuid:%s>\"",
                         v6 ? "[" : "",
                         ip,
                         v6 ? "]" : "",
                         sfb_sip_connection_get_local_port (probe->connection),
                         probe->ms_opaque,
                         probe->instance);

  sfb_sip_message_append_header (message, "From", from);
  sfb_sip_message_append_header (message, "To", aor);
  sfb_sip_message_append_header (message, "Max-Forwards", "70");
  sfb_sip_message_append_header (message, "CSeq", cseq);
  sfb_sip_message_append_header (message, "User-Agent", "sfbd/" PACKAGE_VERSION " (diagnose)");
  sfb_sip_message_append_header (message, "Call-ID", probe->call_id);
  sfb_sip_message_append_header (message, "Contact", contact);
  sfb_sip_message_append_header (message, "Supported", "gruu-10");
  sfb_sip_message_append_header (message, "Event", "registration");
  if (expires >= 0)
    {
      g_autofree char *value = g_strdup_printf ("%d", expires);

      sfb_sip_message_append_header (message, "Expires", value);
    }
  return g_steal_pointer (&message);
}

static void on_register_answer (GObject *source, GAsyncResult *res, gpointer user_data);

static void
send_register (GTask *task, int expires)
{
  Probe *probe = g_task_get_task_data (task);
  g_autoptr (SfbSipMessage) message = build_register (probe, expires);

  sfb_sip_connection_send_request_async (probe->connection,
                                         message,
                                         expires == 0 ? DEREGISTER_TIMEOUT_MS : REGISTER_TIMEOUT_MS,
                                         g_task_get_cancellable (task),
                                         on_register_answer,
                                         task);
}

/* ---- 401: the offer, then the handshake -------------------------------- */

static SfbAuthContext *
new_context (Probe *probe, SfbAuthScheme scheme)
{
  const char *login = probe->in.login != NULL ? probe->in.login : "";

  if (scheme == SFB_AUTH_SCHEME_NTLM && probe->in.password != NULL)
    return sfb_ntlm_context_new (login, probe->in.password, NULL);
#ifdef HAVE_KERBEROS
  if (scheme == SFB_AUTH_SCHEME_KERBEROS)
    return sfb_kerberos_context_new (login, probe->in.password);
#endif
  return NULL;
}

/* The scheme a sign-in would take for this offer (TLS-DSK aside: the
 * diagnosis provisions no certificate); FALSE with the reason when none. */
static gboolean
choose_security (Probe *probe, SfbSipMessage *response, GError **error)
{
  g_auto (GStrv) offered = sfb_sip_security_offered_schemes (response);
  g_autofree char *list = offered != NULL ? g_strjoinv (", ", offered) : g_strdup ("");
  g_autofree char *reason = NULL;
  g_autoptr (SfbAuthContext) context = NULL;
  SfbAuthChoiceInput in = { 0 };
  SfbAuthScheme scheme;

  in.mode = probe->in.mode;
  in.offered = sfb_auth_schemes_from_names ((const char *const *) offered)
               & ~(guint) SFB_AUTH_SCHEME_TLS_DSK;
  in.failed = probe->failed;
  probe->result->tls_dsk_only
      = in.offered == 0
        && (sfb_auth_schemes_from_names ((const char *const *) offered) & SFB_AUTH_SCHEME_TLS_DSK);
  in.have_password = probe->in.password != NULL;
#ifdef HAVE_KERBEROS
  in.kerberos_available = TRUE;
  in.have_ccache = sfb_kerberos_have_ccache_credentials ();
#endif
  scheme = sfb_auth_choose (&in, &reason);
  if (scheme != SFB_AUTH_SCHEME_NONE)
    context = new_context (probe, scheme);
  if (context == NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   in.have_password || in.have_ccache ? SFB_ERROR_NO_USABLE_AUTH_SCHEME
                                                      : SFB_ERROR_NO_CREDENTIALS,
                   "%s offers %s; the test sign-in cannot use any of them (%s)",
                   current_hop (probe),
                   *list != '\0' ? list : "no scheme",
                   reason != NULL ? reason : "TLS-DSK is not tried by the diagnosis");
      return FALSE;
    }
  g_clear_object (&probe->security);
  probe->security = sfb_sip_security_new (context);
  sfb_sip_connection_set_security (probe->connection, probe->security);
  probe->result->scheme = scheme;
  return TRUE;
}

static void
refused (GTask *task, GError *error)
{
  Probe *probe = g_task_get_task_data (task);

  if (g_error_matches (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED))
    {
      g_error_free (error);
      finish_with (task,
                   SFB_DIAGNOSE_REGISTER_AUTH_FAILED,
                   g_error_new (SFB_ERROR,
                                SFB_ERROR_AUTH_FAILED,
                                "%s refused the credentials of %s (%s)",
                                current_hop (probe),
                                probe->in.login != NULL ? probe->in.login : probe->in.uri,
                                sfb_auth_scheme_to_name (probe->result->scheme)));
      return;
    }
  finish_with (task, SFB_DIAGNOSE_REGISTER_REJECTED, error);
}

static void
answer_challenge (GTask *task, SfbSipMessage *response)
{
  Probe *probe = g_task_get_task_data (task);
  GError *error = NULL;

  if (!sfb_sip_security_handle_challenge (probe->security, response, &error))
    {
      refused (task, error);
      return;
    }
  send_register (task, -1);
}

static void start_scheme (GTask *task, SfbSipMessage *response);

static void
on_prepared (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr (SfbSipMessage) response = g_steal_pointer (&probe->pending);
  GError *error = NULL;

  if (sfb_sip_security_prepare_finish (SFB_SIP_SECURITY (source), res, &error))
    {
      answer_challenge (task, response);
      return;
    }
  if (cancelled (task, error))
    return;
  /* as a sign-in: with Auth=auto a scheme that cannot be prepared (the KDC
   * is down) gives way to the next one offered, a refused password never */
  if (probe->in.mode == SFB_AUTH_MODE_AUTO
      && sfb_auth_failure_allows_fallback (probe->result->scheme, TRUE, error))
    {
      probe->failed |= probe->result->scheme;
      g_error_free (error);
      start_scheme (task, response);
      return;
    }
  refused (task, error);
}

/* The first 401 at a registrar: choose, prepare, then answer */
static void
start_scheme (GTask *task, SfbSipMessage *response)
{
  Probe *probe = g_task_get_task_data (task);
  GError *error = NULL;

  if (!choose_security (probe, response, &error))
    {
      finish_with (task, SFB_DIAGNOSE_REGISTER_NO_SCHEME, error);
      return;
    }
  probe->pending = g_object_ref (response);
  sfb_sip_security_prepare_async (
      probe->security, response, g_task_get_cancellable (task), on_prepared, task);
}

static void
challenged (GTask *task, SfbSipMessage *response)
{
  Probe *probe = g_task_get_task_data (task);

  if (probe->result->challenge == NULL)
    {
      probe->result->challenge = g_object_ref (response);
      probe->result->challenge_hop = g_strdup (current_hop (probe));
    }
  if (!probe->in.sign_in)
    {
      finish_with (task, SFB_DIAGNOSE_REGISTER_CHALLENGED, NULL);
      return;
    }
  if (++probe->auth_legs > MAX_AUTH_LEGS)
    {
      refused (task, g_error_new_literal (SFB_ERROR, SFB_ERROR_AUTH_FAILED, "refused"));
      return;
    }
  if (probe->auth_legs > 1)
    answer_challenge (task, response);
  else
    start_scheme (task, response);
}

/* ---- 301, 200 and the rest ---------------------------------------------- */

static gboolean
hop_seen (Probe *probe, const char *hop)
{
  for (guint i = 0; i < probe->result->hops->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (probe->result->hops, i), hop) == 0)
      return TRUE;
  return FALSE;
}

static void
redirected (GTask *task, SfbSipMessage *response)
{
  Probe *probe = g_task_get_task_data (task);
  g_autofree char *host = NULL;
  g_autofree char *hop = NULL;
  const char *from = current_hop (probe);
  GError *error = NULL;
  guint16 port = 0;

  if (probe->security == NULL || !sfb_sip_security_is_established (probe->security))
    probe->result->n_redirects_before_auth++;
  if (!sfb_registration_parse_redirect (response, &host, &port, &error))
    {
      finish_with (task, SFB_DIAGNOSE_REGISTER_REJECTED, error);
      return;
    }
  hop = g_strdup_printf ("%s:%u", host, port);
  if (hop_seen (probe, hop))
    {
      g_ptr_array_add (probe->result->hops, g_strdup (hop));
      finish_with (task,
                   SFB_DIAGNOSE_REGISTER_LOOP,
                   g_error_new (SFB_ERROR,
                                SFB_ERROR_SERVER_REJECTED,
                                "%s redirects to %s, which was asked before",
                                from,
                                hop));
      return;
    }
  if (probe->result->hops->len > SFB_DIAGNOSE_MAX_REDIRECTS)
    {
      g_ptr_array_add (probe->result->hops, g_strdup (hop));
      finish_with (task,
                   SFB_DIAGNOSE_REGISTER_TOO_MANY,
                   g_error_new (SFB_ERROR,
                                SFB_ERROR_SERVER_REJECTED,
                                "more than %d redirects",
                                SFB_DIAGNOSE_MAX_REDIRECTS));
      return;
    }
  connect_hop (task, host, port);
}

static void
rejected (GTask *task, SfbSipMessage *response)
{
  Probe *probe = g_task_get_task_data (task);
  g_autofree char *reason = sfb_registration_dup_reason (response);
  g_autofree char *diagnostics = sfb_registration_dup_diagnostics (response);

  finish_with (task,
               SFB_DIAGNOSE_REGISTER_REJECTED,
               g_error_new (SFB_ERROR,
                            SFB_ERROR_SERVER_REJECTED,
                            "%s answered SIP %u %s%s%s",
                            current_hop (probe),
                            sfb_sip_message_get_status_code (response),
                            reason,
                            diagnostics != NULL ? "; " : "",
                            diagnostics != NULL ? diagnostics : ""));
}

static void
on_register_answer (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr (SfbSipMessage) response = NULL;
  GError *error = NULL;
  guint code;

  response = sfb_sip_connection_send_request_finish (SFB_SIP_CONNECTION (source), res, &error);
  if (response == NULL && cancelled (task, error))
    return;
  if (probe->deregistering)
    {
      probe->result->deregister_status
          = response != NULL ? sfb_sip_message_get_status_code (response) : 0;
      g_clear_error (&error);
      finish (task);
      return;
    }
  if (response == NULL)
    {
      finish_with (task, SFB_DIAGNOSE_REGISTER_REJECTED, error);
      return;
    }
  code = sfb_sip_message_get_status_code (response);
  if (code == 401 || code == 407)
    challenged (task, response);
  else if (code == 301)
    redirected (task, response);
  else if (code >= 200 && code < 300)
    {
      /* registered: undo it at once (Expires: 0 on the same dialog) */
      probe->result->outcome = SFB_DIAGNOSE_REGISTER_REGISTERED;
      probe->deregistering = TRUE;
      send_register (task, 0);
    }
  else
    rejected (task, response);
}

/* ---- public ------------------------------------------------------------ */

void
sfb_diagnose_register_async (const SfbDiagnoseRegisterInput *input,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  GTask *task;
  Probe *probe;

  g_return_if_fail (input->uri != NULL && input->host != NULL);
  task = g_task_new (NULL, cancellable, callback, user_data);
  probe = g_new0 (Probe, 1);
  g_task_set_source_tag (task, sfb_diagnose_register_async);
  probe->in.uri = g_strdup (input->uri);
  probe->in.login = g_strdup (input->login);
  probe->in.password = g_strdup (input->password);
  probe->in.mode = input->mode;
  probe->in.tls_database = input->tls_database != NULL ? g_object_ref (input->tls_database) : NULL;
  probe->in.host = g_strdup (input->host);
  probe->in.port = input->port;
  probe->in.sign_in = input->sign_in;
  probe->result = g_new0 (SfbDiagnoseRegisterResult, 1);
  probe->result->hops = g_ptr_array_new_with_free_func (g_free);
  /* an endpoint of its own: the registrar keeps the session's apart */
  probe->result->epid = sfb_sip_connection_new_token (10);
  probe->instance = sfb_endpoint_id_to_instance (probe->result->epid);
  probe->ms_opaque = sfb_sip_connection_new_token (10);
  g_task_set_task_data (task, probe, (GDestroyNotify) probe_free);
  connect_hop (task, probe->in.host, probe->in.port);
}

SfbDiagnoseRegisterResult *
sfb_diagnose_register_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
sfb_diagnose_clock_offset (const char *date, gint64 now_us, gint64 *offset_s)
{
  g_autoptr (GDateTime) when = NULL;

  if (date == NULL || strlen (date) > 64)
    return FALSE;
  when = soup_date_time_new_from_http_string (date);
  if (when == NULL)
    return FALSE;
  *offset_s = g_date_time_to_unix (when) - now_us / G_USEC_PER_SEC;
  return TRUE;
}
