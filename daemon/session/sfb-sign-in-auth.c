/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The 401 legs of a REGISTER (docs/protocol.md §4, §8): the first 401
 * chooses a scheme (the policy is sfb_auth_choose() in
 * daemon/auth/sfb-auth-choice.c), its context prepares (Kerberos tickets,
 * a TLS-DSK certificate, provisioned first when none is stored), and each
 * further 401 is answered until the 200; with Auth=auto a failed scheme
 * gives way to the next one offered.  The legs themselves are
 * daemon/auth/sfb-sip-security.c.
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-session-private.h"

#include "sfb-error.h"
#include "sfb-failure.h"
#include "sfb-log.h"
#include "sfb-ntlm-context.h"
#ifdef HAVE_KERBEROS
#include "sfb-kerberos-context.h"
#endif
#include "sfb-tls-dsk-context.h"

#include <string.h>

/* NTLM: two challenges (schemes, then CHALLENGE); a third 401 answers the
 * AUTHENTICATE: the password was refused (docs/protocol.md §17.9) */
#define MAX_AUTH_LEGS 2
/* TLS-DSK: the schemes, ServerHello..Done, then ChangeCipherSpec+Finished */
#define MAX_AUTH_LEGS_TLS_DSK 3

static void choose_scheme (SfbSession *self, SfbSipMessage *response);
static void challenge_failed (SfbSession *self,
                              SfbSipMessage *response,
                              gboolean while_preparing,
                              const GError *error);
static void provision_certificate (SfbSession *self, SfbSipMessage *response);
static void nothing_left_to_try (SfbSession *self, const char *offered);
static void on_security_prepared (GObject *source, GAsyncResult *result, gpointer user_data);
static gboolean auth_error_has_own_name (const GError *error);
static void on_certificate_provisioned (GObject *source, GAsyncResult *result, gpointer user_data);
static SfbCertProvisioner *ensure_provisioner (SfbSession *self);
static GError *provisioning_error (SfbSession *self, SfbSipMessage *response, const GError *error);

/* ---- TLS-DSK certificates -------------------------------------------- */

static const char *
user_at_domain (SfbSession *self)
{
  return g_str_has_prefix (self->uri, "sip:") ? self->uri + 4 : self->uri;
}

/* The stored TLS-DSK user certificate while it has an hour left */
static SfbUserCertificate *
usable_certificate (SfbSession *self)
{
  if (self->user_cert == NULL && self->uri != NULL)
    {
      g_autoptr (GError) error = NULL;

      self->user_cert = sfb_user_certificate_load (self->state_dir, user_at_domain (self), &error);
      if (self->user_cert == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
          && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        sfb_log (G_LOG_LEVEL_WARNING,
                 SFB_LOG_TOPIC ("sign-in"),
                 "MESSAGE",
                 "Ignoring the stored TLS-DSK certificate: %s",
                 error->message);
    }
  /* a certificate the server just issued is used even with less than an
   * hour left (else a short-lived one would be provisioned for ever) */
  if (self->user_cert != NULL && self->user_cert_fresh
      && self->user_cert->not_after > g_get_real_time () + 60 * G_USEC_PER_SEC)
    return self->user_cert;
  if (self->user_cert != NULL
      && !sfb_user_certificate_is_usable (self->user_cert, g_get_real_time ()))
    return NULL;
  return self->user_cert;
}

/* "CN=alice@contoso.test, valid until 2025-01-01T00:00:00Z" */
static char *
describe_certificate (const SfbUserCertificate *cert)
{
  g_autoptr (GTlsCertificate) tls = NULL;
  g_autofree char *subject = NULL;
  g_autoptr (GDateTime) until = g_date_time_new_from_unix_utc (cert->not_after / G_USEC_PER_SEC);
  g_autofree char *when = until != NULL ? g_date_time_format_iso8601 (until) : g_strdup ("?");

  tls = g_tls_certificate_new_from_pem (g_bytes_get_data (cert->certificate_pem, NULL),
                                        (gssize) g_bytes_get_size (cert->certificate_pem),
                                        NULL);
  if (tls != NULL)
    subject = g_tls_certificate_get_subject_name (tls);
  return g_strdup_printf ("%s, valid until %s", subject != NULL ? subject : "?", when);
}

/* ---- security for the next REGISTER ---------------------------------- */

static void
auth_choice_input (SfbSession *self, guint offered, SfbAuthChoiceInput *in)
{
  memset (in, 0, sizeof *in);
  in->mode = sfb_config_get_auth (self->config);
  in->offered = offered;
  in->failed = self->auth_failed;
  in->have_password = self->password != NULL;
#ifdef HAVE_KERBEROS
  in->kerberos_available = TRUE;
  /* a local read of the ccache (file or KCM), no KDC traffic */
  if (in->mode == SFB_AUTH_MODE_AUTO || in->mode == SFB_AUTH_MODE_KERBEROS)
    in->have_ccache = sfb_kerberos_have_ccache_credentials ();
#endif
  /* TLS-DSK: a certificate stored in the state dir and still valid for
   * an hour, else one can be provisioned with the password */
  in->tls_dsk_available = TRUE;
  in->have_certificate = usable_certificate (self) != NULL;
  in->can_provision = self->uri != NULL;
}

static gboolean
new_security_for (SfbSession *self, SfbAuthScheme scheme, GError **error)
{
  const char *login = sfb_config_get_login (self->config);
  g_autoptr (SfbAuthContext) context = NULL;

  if (scheme == SFB_AUTH_SCHEME_NTLM && self->password == NULL)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_NO_CREDENTIALS,
                           "No password is known. Set one with: sfbctl set-password");
      return FALSE;
    }
  if (scheme == SFB_AUTH_SCHEME_NTLM)
    context = sfb_ntlm_context_new (login != NULL ? login : "", self->password, NULL);
  else if (scheme == SFB_AUTH_SCHEME_TLS_DSK)
    {
      SfbUserCertificate *cert = usable_certificate (self);
      GBytes *peer;

      if (cert == NULL)
        {
          g_set_error_literal (error,
                               SFB_ERROR,
                               SFB_ERROR_NO_CREDENTIALS,
                               "No valid TLS-DSK certificate; sign in again to provision one");
          return FALSE;
        }
      context = sfb_tls_dsk_context_new (cert->certificate_pem, cert->key_pem, error);
      if (context == NULL)
        return FALSE;
      /* the in-band server certificate must be the outer one (docs/protocol.md §3) */
      peer = sfb_sip_connection_get_peer_certificate (self->connection);
      if (peer != NULL)
        sfb_tls_dsk_context_set_server_certificate (SFB_TLS_DSK_CONTEXT (context), peer);
    }
#ifdef HAVE_KERBEROS
  else if (scheme == SFB_AUTH_SCHEME_KERBEROS)
    context = sfb_kerberos_context_new (login != NULL ? login : "", self->password);
#endif
  if (context == NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "sfbd cannot authenticate with %s",
                   sfb_auth_scheme_to_name (scheme));
      return FALSE;
    }
  g_clear_object (&self->security);
  self->security = sfb_sip_security_new (context);
  sfb_sip_connection_set_security (self->connection, self->security);
  self->auth_scheme = scheme;
  self->auth_legs = 0;
  return TRUE;
}

/* The security for the next unsigned REGISTER: the scheme in use (a new
 * SA), else what Auth= would take if everything were offered; the first
 * 401 decides (choose_scheme). */
gboolean
sfb_session_new_security (SfbSession *self, GError **error)
{
  SfbAuthScheme scheme = self->auth_scheme;

  if (scheme == SFB_AUTH_SCHEME_NONE)
    {
      SfbAuthChoiceInput in;
      g_autofree char *reason = NULL;

      auth_choice_input (
          self, SFB_AUTH_SCHEME_NTLM | SFB_AUTH_SCHEME_KERBEROS | SFB_AUTH_SCHEME_TLS_DSK, &in);
      scheme = sfb_auth_choose (&in, &reason);
      if (scheme == SFB_AUTH_SCHEME_NONE || (scheme == SFB_AUTH_SCHEME_TLS_DSK && in.have_password))
        scheme = SFB_AUTH_SCHEME_NTLM; /* replaced at the first 401 */
    }
  return new_security_for (self, scheme, error);
}

/* ---- a 401 to REGISTER ----------------------------------------------- */

/* A scheme being prepared (or a certificate provisioned) for the 401 in
 * `response`, on `connection` with `security`: stale once the session
 * moved on. */
typedef struct
{
  SfbSession *self;
  SfbSipConnection *connection;
  SfbSipSecurity *security;
  SfbSipMessage *response;
} PrepareCall;

static void
prepare_call_free (PrepareCall *call)
{
  g_object_unref (call->self);
  g_object_unref (call->connection);
  g_object_unref (call->security);
  g_object_unref (call->response);
  g_free (call);
}

/* TRUE: send the next REGISTER now; FALSE: handled (failed, or the
 * answer follows asynchronously). */
gboolean
sfb_session_handle_challenge (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (GError) error = NULL;

  if (++self->auth_legs
      > (self->auth_scheme == SFB_AUTH_SCHEME_TLS_DSK ? MAX_AUTH_LEGS_TLS_DSK : MAX_AUTH_LEGS))
    {
      if (self->auth_scheme == SFB_AUTH_SCHEME_TLS_DSK)
        {
          /* a 401 to the signed last leg: the handshake or the
           * certificate was refused, not the password */
          g_set_error (&error,
                       SFB_ERROR,
                       SFB_ERROR_AUTH_FAILED,
                       "%s refused the TLS-DSK handshake of %s",
                       sfb_sip_connection_get_host (self->connection),
                       self->uri);
          challenge_failed (self, response, FALSE, error);
          return FALSE;
        }
      g_set_error (&error,
                   SFB_ERROR,
                   SFB_ERROR_AUTH_FAILED,
                   "%s did not accept the password of %s for %s. Set the right one with: "
                   "sfbctl set-password",
                   sfb_sip_connection_get_host (self->connection),
                   sfb_config_get_login (self->config),
                   self->uri);
      sfb_session_fail (self, error);
      return FALSE;
    }
  if (self->auth_legs == 1)
    {
      g_auto (GStrv) offered = sfb_sip_security_offered_schemes (response);
      g_autofree char *list = offered != NULL ? g_strjoinv (", ", offered) : g_strdup ("");

      sfb_session_stage_detail (self, "offered: %s", *list != '\0' ? list : "(nothing)");
      choose_scheme (self, response);
      return FALSE;
    }
  if (!sfb_sip_security_handle_challenge (self->security, response, &error))
    {
      challenge_failed (self, response, FALSE, error);
      return FALSE;
    }
  return TRUE;
}

/* The first 401 of a handshake: pick the scheme (sfb_auth_choose), let its
 * context prepare (Kerberos: tickets, in a thread), then answer. */
static void
choose_scheme (SfbSession *self, SfbSipMessage *response)
{
  g_auto (GStrv) offered = sfb_sip_security_offered_schemes (response);
  g_autofree char *list = offered != NULL ? g_strjoinv (", ", offered) : g_strdup ("");
  g_autofree char *reason = NULL;
  g_autoptr (GError) error = NULL;
  SfbAuthChoiceInput in;
  SfbAuthScheme scheme;
  PrepareCall *call;

  auth_choice_input (self, sfb_auth_schemes_from_names ((const char *const *) offered), &in);
  scheme = sfb_auth_choose (&in, &reason);
  if (scheme == SFB_AUTH_SCHEME_NONE)
    {
      if (!in.have_password && !in.have_ccache)
        error = g_error_new (SFB_ERROR,
                             SFB_ERROR_NO_CREDENTIALS,
                             "No credentials to sign in to %s with (%s). Set a password with: "
                             "sfbctl set-password",
                             sfb_sip_connection_get_host (self->connection),
                             reason);
      else if (in.failed != 0 && self->auth_cause != NULL)
        {
          nothing_left_to_try (self, list);
          return;
        }
      else
        error = g_error_new (SFB_ERROR,
                             SFB_ERROR_NO_USABLE_AUTH_SCHEME,
                             "%s offers %s, and sfbd cannot use any of them: %s",
                             sfb_sip_connection_get_host (self->connection),
                             *list != '\0' ? list : "no authentication scheme",
                             reason);
      sfb_session_fail (self, error);
      return;
    }
  sfb_session_stage_detail (self, "chosen: %s (%s)", sfb_auth_scheme_to_name (scheme), reason);
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_TOPIC ("sign-in"),
           "MESSAGE",
           "Authenticating with %s: %s",
           sfb_auth_scheme_to_name (scheme),
           reason);
  if (scheme == SFB_AUTH_SCHEME_TLS_DSK && usable_certificate (self) == NULL)
    {
      provision_certificate (self, response);
      return;
    }
  if (scheme == SFB_AUTH_SCHEME_TLS_DSK)
    {
      g_autofree char *about = describe_certificate (self->user_cert);

      sfb_session_stage_detail (self, "TLS-DSK certificate reused: %s", about);
    }
  if (!new_security_for (self, scheme, &error))
    {
      sfb_session_fail (self, error);
      return;
    }
  self->auth_legs = 1;
  sfb_session_set_string (self, STR_AUTH_METHOD, sfb_auth_scheme_to_method (scheme));

  call = g_new0 (PrepareCall, 1);
  call->self = g_object_ref (self);
  call->connection = g_object_ref (self->connection);
  call->security = g_object_ref (self->security);
  call->response = g_object_ref (response);
  sfb_sip_security_prepare_async (
      self->security, response, self->cancellable, on_security_prepared, call);
}

/* Auth=auto and every offered scheme failed: the decisive cause is why
 * the last one failed (a clock skew, the provisioning service's answer),
 * under its own name; a network fault is retried. */
static void
nothing_left_to_try (SfbSession *self, const char *offered)
{
  g_autoptr (GError) error = NULL;
  const GError *cause = self->auth_cause;
  SfbError code = SFB_ERROR_NO_USABLE_AUTH_SCHEME;

  if (g_error_matches (cause, SFB_ERROR, SFB_ERROR_NOT_REACHABLE)
      || auth_error_has_own_name (cause))
    code = (SfbError) cause->code;
  error = g_error_new (SFB_ERROR,
                       code,
                       "%s%s(%s offers only %s, and nothing else is left to try)",
                       cause->message,
                       g_str_has_suffix (cause->message, ".") ? " " : ". ",
                       sfb_sip_connection_get_host (self->connection),
                       *offered != '\0' ? offered : "no authentication scheme");
  if (g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_REACHABLE))
    sfb_session_retry_later (self, error, -1);
  else
    sfb_session_fail (self, error);
}

/* ---- preparing the chosen scheme ------------------------------------- */

static void
on_security_prepared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PrepareCall *call = user_data;
  SfbSession *self = call->self;
  g_autoptr (GError) error = NULL;
  gboolean ok = sfb_sip_security_prepare_finish (SFB_SIP_SECURITY (source), result, &error);
  g_autoptr (SfbSipMessage) response = g_object_ref (call->response);

  if (call->connection != self->connection || call->security != self->security
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      prepare_call_free (call);
      return; /* stale: the session moved on */
    }
  prepare_call_free (call);
  if (!ok)
    {
      challenge_failed (self, response, TRUE, error);
      return;
    }
#ifdef HAVE_KERBEROS
  if (self->auth_scheme == SFB_AUTH_SCHEME_KERBEROS)
    {
      SfbKerberosContext *krb
          = SFB_KERBEROS_CONTEXT (sfb_sip_security_get_context (self->security));

      sfb_session_stage_detail (self,
                                "Kerberos service ticket for %s (credentials from the %s)",
                                sfb_kerberos_context_get_principal (krb),
                                sfb_kerberos_context_get_credential_source (krb));
    }
#endif
  if (!sfb_sip_security_handle_challenge (self->security, response, &error))
    {
      challenge_failed (self, response, FALSE, error);
      return;
    }
  sfb_session_send_register (self, -1);
}

/* ---- a scheme that failed -------------------------------------------- */

/* Auth=auto after a failed handshake: the next offered scheme, on the same
 * 401 (it lists every scheme again), unless the password was refused. */
static gboolean
try_next_scheme (SfbSession *self,
                 SfbSipMessage *response,
                 gboolean while_preparing,
                 const GError *error)
{
  if (sfb_config_get_auth (self->config) != SFB_AUTH_MODE_AUTO
      || !sfb_auth_failure_allows_fallback (self->auth_scheme, while_preparing, error))
    return FALSE;
  sfb_session_stage_detail (self,
                            "%s failed (%s); trying the next scheme",
                            sfb_auth_scheme_to_name (self->auth_scheme),
                            error->message);
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_TOPIC ("sign-in"),
           "MESSAGE",
           "%s authentication failed, trying the next scheme: %s",
           sfb_auth_scheme_to_name (self->auth_scheme),
           error->message);
  self->auth_failed |= self->auth_scheme;
  g_clear_error (&self->auth_cause);
  self->auth_cause = g_error_copy (error);
  choose_scheme (self, response);
  return TRUE;
}

/* AuthFailed means "credentials refused"; these say something else and
 * keep their names (docs: dbus/org.sfbd.Sfbd1.Account.xml). */
static gboolean
auth_error_has_own_name (const GError *error)
{
  static const SfbError own[] = {
    SFB_ERROR_AUTH_FAILED,
    SFB_ERROR_NO_CREDENTIALS,
    SFB_ERROR_NOT_CONFIGURED,
    SFB_ERROR_CLOCK_SKEW,
    SFB_ERROR_CERTIFICATE_PROVISIONING_FAILED,
    SFB_ERROR_NO_USABLE_AUTH_SCHEME,
    SFB_ERROR_SIGNATURE_INVALID,
    SFB_ERROR_ACCOUNT_DISABLED,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (own); i++)
    if (g_error_matches (error, SFB_ERROR, own[i]))
      return TRUE;
  return FALSE;
}

static void
challenge_failed (SfbSession *self,
                  SfbSipMessage *response,
                  gboolean while_preparing,
                  const GError *error)
{
  if (try_next_scheme (self, response, while_preparing, error))
    return;
  if (g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_REACHABLE)
      || g_error_matches (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID))
    {
      sfb_session_retry_later (self, error, -1); /* e.g. the KDC: a network error */
    }
  else if (!auth_error_has_own_name (error))
    {
      g_autoptr (GError) wrapped = g_error_new (SFB_ERROR,
                                                SFB_ERROR_AUTH_FAILED,
                                                "Authentication with %s failed: %s",
                                                sfb_sip_connection_get_host (self->connection),
                                                error->message);
      sfb_session_fail (self, wrapped);
    }
  else
    {
      sfb_session_fail (self, error);
    }
}

/* ---- TLS-DSK certificate provisioning -------------------------------- */

/* TLS-DSK without a usable certificate: get one from the provisioning
 * service the challenge names (sts-uri), then start over. */
static void
provision_certificate (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse_message (response, "WWW-Authenticate");
  SfbSipAuth *auth = auths != NULL ? sfb_sip_auth_find (auths, "TLS-DSK") : NULL;
  const char *sts_uri = auth != NULL ? sfb_sip_auth_get_param (auth, "sts-uri") : NULL;
  g_autofree char *shown = NULL;
  PrepareCall *call;

  self->auth_scheme = SFB_AUTH_SCHEME_TLS_DSK;
  self->auth_legs = 1;
  sfb_session_set_string (
      self, STR_AUTH_METHOD, sfb_auth_scheme_to_method (SFB_AUTH_SCHEME_TLS_DSK));
  if (sts_uri == NULL || *sts_uri == '\0')
    {
      g_autoptr (GError) error
          = g_error_new (SFB_ERROR,
                         SFB_ERROR_SERVER_REJECTED,
                         "%s offers TLS-DSK without a certificate provisioning service (sts-uri)",
                         sfb_sip_connection_get_host (self->connection));

      challenge_failed (self, response, TRUE, error);
      return;
    }
  if (ensure_provisioner (self) == NULL)
    {
      g_autoptr (GError) error = g_error_new_literal (
          SFB_ERROR, SFB_ERROR_NOT_CONFIGURED, "TLS-DSK certificate provisioning needs a password");

      challenge_failed (self, response, TRUE, error);
      return;
    }
  shown = g_utf8_make_valid (sts_uri, MIN (strlen (sts_uri), 200));
  sfb_session_stage_detail (self, "no usable TLS-DSK certificate: provisioning one at %s", shown);

  call = g_new0 (PrepareCall, 1);
  call->self = g_object_ref (self);
  call->connection = g_object_ref (self->connection);
  call->security = g_object_ref (self->security);
  call->response = g_object_ref (response);
  sfb_cert_provisioner_provision_async (self->provisioner,
                                        sts_uri,
                                        self->state_dir,
                                        self->instance,
                                        self->cancellable,
                                        on_certificate_provisioned,
                                        call);
}

static void
on_certificate_provisioned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PrepareCall *call = user_data;
  SfbSession *self = call->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbUserCertificate) cert
      = sfb_cert_provisioner_provision_finish (SFB_CERT_PROVISIONER (source), result, &error);
  g_autoptr (SfbSipMessage) response = g_object_ref (call->response);
  g_autofree char *about = NULL;

  if (call->connection != self->connection || call->security != self->security
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      prepare_call_free (call);
      return; /* stale: the session moved on */
    }
  prepare_call_free (call);
  if (cert == NULL)
    {
      g_autoptr (GError) failed = provisioning_error (self, response, error);

      challenge_failed (self, response, TRUE, failed);
      return;
    }
  g_clear_pointer (&self->user_cert, sfb_user_certificate_free);
  self->user_cert = g_steal_pointer (&cert);
  self->user_cert_fresh = TRUE;
  about = describe_certificate (self->user_cert);
  sfb_session_stage_detail (self, "TLS-DSK certificate provisioned: %s", about);
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_TOPIC ("sign-in"),
           "MESSAGE",
           "Provisioned a TLS-DSK certificate for %s: %s",
           self->uri,
           about);
  /* docs/protocol.md §4.4: start over with an unsigned REGISTER; its 401
   * finds the certificate */
  self->auth_legs = 0;
  sfb_session_send_register (self, -1);
}

/* The provisioning service's refusal as CertificateProvisioningFailed, with
 * its URL and what to do; a refused password (AuthFailed) and a service
 * that is down (NotReachable: retried) keep their names. */
static GError *
provisioning_error (SfbSession *self, SfbSipMessage *response, const GError *error)
{
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse_message (response, "WWW-Authenticate");
  SfbSipAuth *auth = auths != NULL ? sfb_sip_auth_find (auths, "TLS-DSK") : NULL;
  const char *sts_uri = auth != NULL ? sfb_sip_auth_get_param (auth, "sts-uri") : NULL;
  g_autofree char *shown
      = sfb_failure_quote (sts_uri != NULL ? sts_uri : "?", SFB_FAILURE_MAX_QUOTE);
  gboolean keep = g_error_matches (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED)
                  || g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED)
                  || g_error_matches (error, SFB_ERROR, SFB_ERROR_CLOCK_SKEW);
  SfbError code = SFB_ERROR_CERTIFICATE_PROVISIONING_FAILED;

  if (keep || g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_REACHABLE))
    code = (SfbError) error->code; /* NotReachable: down for now, retried */
  return g_error_new (SFB_ERROR,
                      code,
                      "TLS-DSK certificate provisioning at %s failed: %s%s",
                      shown,
                      error->message,
                      keep ? ""
                           : ". Ask your administrator to check the certificate provisioning "
                             "service of the pool");
}

/* ---- HTTP services ---------------------------------------------------- */

GObject *
sfb_session_new_http_ntlm_context (SfbSession *self)
{
  const char *login;

  g_return_val_if_fail (SFB_IS_SESSION (self), NULL);
  if (self->password == NULL || self->uri == NULL)
    return NULL;
  login = sfb_config_get_login (self->config);
  return G_OBJECT (
      sfb_ntlm_context_new (login != NULL ? login : user_at_domain (self), self->password, NULL));
}

GObject *
sfb_session_new_http_kerberos_context (SfbSession *self)
{
  g_return_val_if_fail (SFB_IS_SESSION (self), NULL);
#ifdef HAVE_KERBEROS
  {
    const char *login = sfb_config_get_login (self->config);

    if (self->uri == NULL)
      return NULL;
    return G_OBJECT (sfb_kerberos_context_new_spnego (login != NULL ? login : user_at_domain (self),
                                                      self->password));
  }
#else
  return NULL;
#endif
}

GTlsDatabase *
sfb_session_get_tls_database (SfbSession *self)
{
  g_return_val_if_fail (SFB_IS_SESSION (self), NULL);
  return self->tls_database;
}

/* ---- web tickets ----------------------------------------------------- */

/* The web ticket / provisioning client, made from the password (NULL
 * without one). */
static SfbCertProvisioner *
ensure_provisioner (SfbSession *self)
{
  const char *login = sfb_config_get_login (self->config);

  if (self->provisioner == NULL && self->password != NULL)
    self->provisioner = sfb_cert_provisioner_new (self->tls_database,
                                                  login != NULL ? login : user_at_domain (self),
                                                  self->password,
                                                  user_at_domain (self));
  return self->provisioner;
}

/* Autodiscover's web ticket provider (docs/protocol.md §2.2, §8.3):
 * the User resource behind X-MS-WebTicket. */
void
sfb_session_web_ticket_get_async (GObject *object,
                                  const char *service_url,
                                  const char *applies_to,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  SfbSession *self = SFB_SESSION (object);
  SfbCertProvisioner *provisioner = ensure_provisioner (self);

  if (provisioner == NULL)
    {
      g_task_report_new_error (self,
                               callback,
                               user_data,
                               sfb_session_web_ticket_get_async,
                               SFB_ERROR,
                               SFB_ERROR_NOT_CONFIGURED,
                               "no password for a web ticket");
      return;
    }
  sfb_cert_provisioner_get_web_ticket_async (
      provisioner, service_url, applies_to, cancellable, callback, user_data);
}

char *
sfb_session_web_ticket_get_finish (GObject *source, GAsyncResult *result, GError **error)
{
  if (SFB_IS_CERT_PROVISIONER (source))
    return sfb_cert_provisioner_get_web_ticket_finish (
        SFB_CERT_PROVISIONER (source), result, error);
  return g_task_propagate_pointer (G_TASK (result), error);
}
