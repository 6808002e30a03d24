/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The authentication and redirection stages of `sfbctl diagnose`
 * (doc/sfbctl.1.rst, DIAGNOSE; docs/protocol.md §4.2, §9):
 *
 *   authentication  Schemes offered (the 401 to an unauthenticated REGISTER
 *                   against Account.Auth), Server clock (its Date against
 *                   ours), Kerberos ticket (the credential cache, when
 *                   Kerberos is offered or configured), Test sign-in (with
 *                   SignIn: the stored credentials, then a de-register)
 *   redirection     Redirects (the 301s, a loop named), Home pool (the
 *                   registrar that registered the test sign-in, reachable)
 *
 * Both stages read one run of sfb-diagnose-register.c (its own connection
 * and endpoint id: the session's registration is never touched), made by
 * the authentication stage and kept in the context for redirection and
 * settings.
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-diagnosis-private.h"

#include "sfb-error.h"
#ifdef HAVE_KERBEROS
#include "sfb-kerberos-context.h"
#endif
#include "sfb-ntlm.h"
#include "sfb-registration.h"
#include "sfb-sip-security.h"
#include "sfb-text.h"

#include <string.h>

#define A SFB_DIAG_STAGE_AUTHENTICATION
#define R SFB_DIAG_STAGE_REDIRECTION

#define CHECK_SCHEMES "Schemes offered"
#define CHECK_CLOCK "Server clock"
#define CHECK_KERBEROS "Kerberos ticket"
#define CHECK_SIGN_IN "Test sign-in"
#define CHECK_REDIRECTS "Redirects"
#define CHECK_HOME_POOL "Home pool"

/* NTLM allows 15 minutes of skew, Kerberos 5 (docs/protocol.md §4.2):
 * warn well before the first of them */
#define CLOCK_WARN_S 120
#define CLOCK_FAIL_S 300

#define FIX_CLOCK                                                                                  \
  "Set this computer's clock right and keep it right: enable NTP (timedatectl set-ntp true). "     \
  "Kerberos refuses a clock more than 5 minutes off the server's."
#define FIX_PASSWORD                                                                               \
  "The stored password is wrong or has expired: set the right one with sfbctl set-password, "      \
  "and check that the account is not locked out in Active Directory."

typedef struct
{
  SfbDiagContext *ctx;
  char *password;                /* nullable; wiped when freed */
  char *registrar;               /* host:port probed */
  SfbServerCandidate *candidate; /* ... as a candidate */
} AuthRun;

static void
auth_run_free (AuthRun *run)
{
  if (run->password != NULL)
    sfb_ntlm_wipe (run->password, strlen (run->password));
  g_free (run->password);
  g_free (run->registrar);
  g_clear_pointer (&run->candidate, sfb_server_candidate_free);
  g_free (run);
}

/* ---- which registrar ---------------------------------------------------- */

/* The first candidate whose TLS and certificate passed (tls); the
 * configured server when no stage named any candidate; else NULL. */
static SfbServerCandidate *
first_usable_registrar (SfbDiagContext *ctx)
{
  const char *server = sfb_config_get_server_host (ctx->config);
  guint16 port = sfb_config_get_server_port (ctx->config);

  for (guint i = 0; ctx->candidates != NULL && i < ctx->candidates->len; i++)
    {
      const SfbServerCandidate *c = g_ptr_array_index (ctx->candidates, i);
      g_autofree char *key = sfb_diag_host_port (c->host, c->port);

      /* 1: the certificate passed every check */
      if (ctx->tls_ok != NULL && g_hash_table_lookup (ctx->tls_ok, key) == GUINT_TO_POINTER (1))
        return sfb_server_candidate_copy (c);
    }
  if ((ctx->candidates == NULL || ctx->candidates->len == 0) && server != NULL)
    return sfb_server_candidate_new (
        server, port != 0 ? port : 5061, SFB_SERVER_SOURCE_CONFIGURED, NULL);
  return NULL;
}

static void
skip_all (SfbDiagContext *ctx, const char *reason)
{
  const char *auth_checks[] = { CHECK_SCHEMES, CHECK_CLOCK, CHECK_KERBEROS, CHECK_SIGN_IN };

  for (guint i = 0; i < G_N_ELEMENTS (auth_checks); i++)
    sfb_diag_skip (ctx, A, auth_checks[i], reason);
}

/* ---- Schemes offered ---------------------------------------------------- */

static guint
offered_schemes (SfbSipMessage *challenge, char **list)
{
  g_auto (GStrv) offered = sfb_sip_security_offered_schemes (challenge);

  *list
      = offered != NULL && offered[0] != NULL ? g_strjoinv (", ", offered) : g_strdup ("no scheme");
  return sfb_auth_schemes_from_names ((const char *const *) offered);
}

static gboolean
have_ccache (void)
{
#ifdef HAVE_KERBEROS
  return sfb_kerberos_have_ccache_credentials ();
#else
  return FALSE;
#endif
}

static void
report_schemes (AuthRun *run, const SfbDiagnoseRegisterResult *reg)
{
  SfbDiagContext *ctx = run->ctx;
  SfbAuthMode mode = sfb_config_get_auth (ctx->config);
  g_autofree char *list = NULL;
  g_autofree char *reason = NULL;
  SfbAuthChoiceInput in = { 0 };
  SfbAuthScheme scheme;

  if (reg->challenge == NULL)
    {
      sfb_diag_reportf (ctx,
                        A,
                        CHECK_SCHEMES,
                        SFB_DIAGNOSIS_FAIL,
                        "The registrar must challenge a REGISTER with 401 and the schemes it "
                        "accepts: check that the address is a Skype for Business registrar "
                        "(Front End or Director) and look up its answer in its logs.",
                        "No 401 from %s to an unauthenticated REGISTER: %s",
                        run->registrar,
                        reg->error != NULL ? reg->error->message : "no answer");
      return;
    }
  in.mode = mode;
  in.offered = offered_schemes (reg->challenge, &list);
  in.have_password = run->password != NULL;
#ifdef HAVE_KERBEROS
  in.kerberos_available = TRUE;
#endif
  in.have_ccache = have_ccache ();
  in.tls_dsk_available = TRUE;
  in.can_provision = TRUE;
  scheme = sfb_auth_choose (&in, &reason);
  if (scheme == SFB_AUTH_SCHEME_NONE && (in.have_password || in.have_ccache))
    sfb_diag_reportf (ctx,
                      A,
                      CHECK_SCHEMES,
                      SFB_DIAGNOSIS_FAIL,
                      "Make Auth match the server: sfbctl config set Account.Auth auto (or one "
                      "of the schemes offered), or enable the missing scheme on the registrar "
                      "(Set-CsProxyConfiguration).",
                      "%s offers %s; Auth=%s cannot use any of them: %s",
                      reg->challenge_hop,
                      list,
                      sfb_auth_mode_to_string (mode),
                      reason);
  else if (scheme == SFB_AUTH_SCHEME_NONE)
    sfb_diag_reportf (ctx,
                      A,
                      CHECK_SCHEMES,
                      SFB_DIAGNOSIS_WARN,
                      "Store the password with sfbctl set-password (or get a Kerberos ticket "
                      "with kinit).",
                      "%s offers %s (Auth=%s); no credentials are known to use them with: %s",
                      reg->challenge_hop,
                      list,
                      sfb_auth_mode_to_string (mode),
                      reason);
  else
    sfb_diag_reportf (ctx,
                      A,
                      CHECK_SCHEMES,
                      SFB_DIAGNOSIS_PASS,
                      NULL,
                      "%s offers %s; Auth=%s signs in with %s (%s)",
                      reg->challenge_hop,
                      list,
                      sfb_auth_mode_to_string (mode),
                      sfb_auth_scheme_to_name (scheme),
                      reason);
}

/* ---- Server clock ------------------------------------------------------- */

static void
report_clock (SfbDiagContext *ctx, const SfbDiagnoseRegisterResult *reg)
{
  const char *date
      = reg->challenge != NULL ? sfb_sip_message_get_header (reg->challenge, "Date") : NULL;
  g_autofree char *quoted = NULL;
  gint64 offset = 0;
  gint64 off;
  SfbDiagnosisResult result;

  if (reg->challenge == NULL)
    {
      sfb_diag_skip (ctx, A, CHECK_CLOCK, "no 401 from the registrar to read its Date from");
      return;
    }
  quoted = sfb_text_quote (date, -1, SFB_TEXT_QUOTE_MAX, SFB_TEXT_QUOTE_SPACES);
  if (!sfb_diagnose_clock_offset (date, g_get_real_time (), &offset))
    {
      sfb_diag_reportf (ctx,
                        A,
                        CHECK_CLOCK,
                        SFB_DIAGNOSIS_WARN,
                        "Nothing to fix in sfbd; to compare the clocks by hand, look at the "
                        "server's time and run timedatectl here.",
                        "%s sent %s Date header: the clocks could not be compared",
                        reg->challenge_hop,
                        date != NULL ? "an unreadable" : "no");
      return;
    }
  off = ABS (offset);
  result = off > CLOCK_FAIL_S   ? SFB_DIAGNOSIS_FAIL
           : off > CLOCK_WARN_S ? SFB_DIAGNOSIS_WARN
                                : SFB_DIAGNOSIS_PASS;
  sfb_diag_reportf (ctx,
                    A,
                    CHECK_CLOCK,
                    result,
                    FIX_CLOCK,
                    "This computer's clock is %" G_GINT64_FORMAT " s %s %s's (Date: %s)",
                    off,
                    offset > 0 ? "behind" : "ahead of",
                    reg->challenge_hop,
                    quoted);
}

/* ---- Kerberos ticket ---------------------------------------------------- */

static void
report_kerberos (AuthRun *run, const SfbDiagnoseRegisterResult *reg)
{
  SfbDiagContext *ctx = run->ctx;
  SfbAuthMode mode = sfb_config_get_auth (ctx->config);
  g_autofree char *list = NULL;
  g_autofree char *principal = NULL;
  g_autofree char *fix = NULL;
  guint offered = reg->challenge != NULL ? offered_schemes (reg->challenge, &list) : 0;

  if (reg->challenge == NULL && mode != SFB_AUTH_MODE_KERBEROS)
    {
      sfb_diag_skip (ctx, A, CHECK_KERBEROS, "no 401 from the registrar to read its offer from");
      return;
    }
  if (!(offered & SFB_AUTH_SCHEME_KERBEROS) && mode != SFB_AUTH_MODE_KERBEROS)
    {
      sfb_diag_skip (ctx, A, CHECK_KERBEROS, "Kerberos is neither offered nor configured");
      return;
    }
#ifdef HAVE_KERBEROS
  principal = sfb_kerberos_principal_for_login (sfb_config_get_login (ctx->config));
#endif
  if (principal == NULL)
    {
      const char *uri = ctx->sip_uri;

      principal = g_strdup (g_str_has_prefix (uri, "sip:") ? uri + 4 : uri);
    }
  if (have_ccache ())
    {
      sfb_diag_report (ctx,
                       A,
                       CHECK_KERBEROS,
                       SFB_DIAGNOSIS_PASS,
                       "A Kerberos ticket is in the credential cache",
                       NULL);
      return;
    }
  fix = g_strdup_printf ("Get a Kerberos ticket: run kinit %s (and check that the Kerberos "
                         "realm and its KDC are in /etc/krb5.conf).",
                         principal);
  if (mode == SFB_AUTH_MODE_KERBEROS && run->password == NULL)
    sfb_diag_report (ctx,
                     A,
                     CHECK_KERBEROS,
                     SFB_DIAGNOSIS_FAIL,
                     "No Kerberos ticket in the credential cache and no stored password: "
                     "Auth=kerberos has nothing to sign in with",
                     fix);
  else
    sfb_diag_reportf (ctx,
                      A,
                      CHECK_KERBEROS,
                      SFB_DIAGNOSIS_WARN,
                      fix,
                      "No Kerberos ticket in the credential cache: no single sign-on; sfbd "
                      "signs in with %s",
                      run->password != NULL ? "the stored password"
                                            : "nothing (no password stored)");
}

/* ---- Test sign-in ------------------------------------------------------- */

static const char *
hop_after (const SfbDiagnoseRegisterResult *reg)
{
  return g_ptr_array_index (reg->hops, reg->hops->len - 1);
}

static void
report_registered (SfbDiagContext *ctx, const SfbDiagnoseRegisterResult *reg)
{
  if (reg->deregister_status >= 200 && reg->deregister_status < 300)
    sfb_diag_reportf (ctx,
                      A,
                      CHECK_SIGN_IN,
                      SFB_DIAGNOSIS_PASS,
                      NULL,
                      "Signed in at %s with %s as a separate endpoint (epid %s) and signed out "
                      "again",
                      hop_after (reg),
                      sfb_auth_scheme_to_name (reg->scheme),
                      reg->epid);
  else
    sfb_diag_reportf (ctx,
                      A,
                      CHECK_SIGN_IN,
                      SFB_DIAGNOSIS_WARN,
                      "Nothing to do: the server drops the test registration when it expires.",
                      "Signed in at %s with %s (epid %s), but the de-register was not "
                      "confirmed (%s)",
                      hop_after (reg),
                      sfb_auth_scheme_to_name (reg->scheme),
                      reg->epid,
                      reg->deregister_status != 0 ? "refused" : "no answer");
}

static void
report_sign_in (AuthRun *run, const SfbDiagnoseRegisterResult *reg)
{
  SfbDiagContext *ctx = run->ctx;
  const char *why = reg->error != NULL ? reg->error->message : "";

  if (!(ctx->flags & SFB_DIAGNOSIS_SIGN_IN))
    {
      sfb_diag_skip (ctx, A, CHECK_SIGN_IN, "not asked for (sfbctl diagnose --sign-in)");
      return;
    }
  switch (reg->outcome)
    {
    case SFB_DIAGNOSE_REGISTER_REGISTERED:
      report_registered (ctx, reg);
      return;
    case SFB_DIAGNOSE_REGISTER_AUTH_FAILED:
      sfb_diag_report (ctx, A, CHECK_SIGN_IN, SFB_DIAGNOSIS_FAIL, why, FIX_PASSWORD);
      return;
    case SFB_DIAGNOSE_REGISTER_NO_SCHEME:
      if (reg->tls_dsk_only)
        {
          sfb_diag_skip (ctx,
                         A,
                         CHECK_SIGN_IN,
                         "the registrar offers only TLS-DSK; the test sign-in authenticates "
                         "with NTLM or Kerberos (a sign-in checks TLS-DSK)");
          return;
        }
      sfb_diag_report (ctx,
                       A,
                       CHECK_SIGN_IN,
                       SFB_DIAGNOSIS_FAIL,
                       why,
                       run->password == NULL
                           ? "Store the password with sfbctl set-password, then run the "
                             "diagnosis again."
                           : "Make Auth match the server (sfbctl config set Account.Auth auto).");
      return;
    case SFB_DIAGNOSE_REGISTER_LOOP:
    case SFB_DIAGNOSE_REGISTER_TOO_MANY:
      sfb_diag_reportf (ctx,
                        A,
                        CHECK_SIGN_IN,
                        reg->scheme != SFB_AUTH_SCHEME_NONE ? SFB_DIAGNOSIS_PASS
                                                            : SFB_DIAGNOSIS_FAIL,
                        "See the redirection checks.",
                        "The credentials were accepted (%s); the sign-in went no further than "
                        "the redirects (see redirection)",
                        sfb_auth_scheme_to_name (reg->scheme));
      return;
    default:
      sfb_diag_reportf (ctx,
                        A,
                        CHECK_SIGN_IN,
                        SFB_DIAGNOSIS_FAIL,
                        "Look up the answer (and its ms-diagnostics code) in the registrar's "
                        "logs, or ask the Skype for Business administrator.",
                        "The test sign-in did not complete: %s",
                        why);
      return;
    }
}

/* ---- the stage ---------------------------------------------------------- */

static void
on_registered (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  AuthRun *run = g_task_get_task_data (task);
  SfbDiagContext *ctx = run->ctx;
  g_autoptr (GError) error = NULL;
  SfbDiagnoseRegisterResult *reg = sfb_diagnose_register_finish (res, &error);

  if (reg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  sfb_diagnose_register_result_free (ctx->registration);
  ctx->registration = reg;
  report_schemes (run, reg);
  report_clock (ctx, reg);
  report_kerberos (run, reg);
  report_sign_in (run, reg);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
probe (GTask *task)
{
  AuthRun *run = g_task_get_task_data (task);
  SfbDiagContext *ctx = run->ctx;
  const SfbServerCandidate *registrar = run->candidate;
  SfbDiagnoseRegisterInput in = { 0 };

  in.uri = ctx->sip_uri;
  in.login = (char *) sfb_config_get_login (ctx->config);
  in.password = (ctx->flags & SFB_DIAGNOSIS_SIGN_IN) ? run->password : NULL;
  in.mode = sfb_config_get_auth (ctx->config);
  in.tls_database = ctx->tls_database;
  in.host = registrar->host;
  in.port = registrar->port;
  in.sign_in = (ctx->flags & SFB_DIAGNOSIS_SIGN_IN) != 0;
  sfb_diagnose_register_async (&in, ctx->cancellable, on_registered, task);
}

static void
on_password (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  AuthRun *run = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  const char *password
      = sfb_secret_store_lookup_password_finish (SFB_SECRET_STORE (source), res, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  /* a locked keyring is "no password" here; the sign-in check says so */
  run->password = g_strdup (password);
  probe (task);
}

void
sfb_diagnose_authentication (SfbDiagContext *ctx, GTask *task)
{
  g_autoptr (SfbServerCandidate) registrar = first_usable_registrar (ctx);
  AuthRun *run;

  if (ctx->sip_uri == NULL)
    {
      skip_all (ctx, "no account: checked for the configured account only (not with --domain)");
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (registrar == NULL)
    {
      skip_all (ctx,
                "Skipped: no SIP server both answered and passed the tls checks (chain, name, "
                "validity): see connectivity and tls");
      g_task_return_boolean (task, TRUE);
      return;
    }
  run = g_new0 (AuthRun, 1);
  run->ctx = ctx;
  run->registrar = sfb_diag_host_port (registrar->host, registrar->port);
  run->candidate = g_steal_pointer (&registrar);
  g_task_set_task_data (task, run, (GDestroyNotify) auth_run_free);
  g_object_ref (task); /* until the last callback */
  if (ctx->secret_store == NULL)
    {
      probe (task);
      return;
    }
  sfb_secret_store_lookup_password_async (ctx->secret_store,
                                          ctx->sip_uri,
                                          sfb_config_get_secrets_store (ctx->config),
                                          ctx->cancellable,
                                          on_password,
                                          task);
}

/* ---- redirection -------------------------------------------------------- */

static char *
join_hops (const SfbDiagnoseRegisterResult *reg)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < reg->hops->len; i++)
    g_string_append_printf (
        out, "%s%s", i > 0 ? " -> " : "", (const char *) g_ptr_array_index (reg->hops, i));
  return g_string_free (out, FALSE);
}

/* TRUE when the run got far enough to say anything about redirects */
static gboolean
redirects_known (SfbDiagContext *ctx, const SfbDiagnoseRegisterResult *reg)
{
  const char *reason = NULL;

  if (reg == NULL)
    reason = "no REGISTER was answered (see authentication)";
  else if (!(ctx->flags & SFB_DIAGNOSIS_SIGN_IN) && reg->n_redirects_before_auth == 0)
    reason = "the registrar redirects only after authentication: run sfbctl diagnose "
             "--sign-in";
  else if (reg->outcome == SFB_DIAGNOSE_REGISTER_AUTH_FAILED
           || reg->outcome == SFB_DIAGNOSE_REGISTER_NO_SCHEME)
    reason = "the test sign-in was not authenticated (see authentication)";
  if (reason == NULL)
    return TRUE;
  sfb_diag_skip (ctx, R, CHECK_REDIRECTS, reason);
  sfb_diag_skip (ctx, R, CHECK_HOME_POOL, reason);
  return FALSE;
}

static void
report_redirects (SfbDiagContext *ctx, const SfbDiagnoseRegisterResult *reg)
{
  g_autofree char *path = join_hops (reg);

  if (reg->outcome == SFB_DIAGNOSE_REGISTER_LOOP || reg->outcome == SFB_DIAGNOSE_REGISTER_TOO_MANY)
    sfb_diag_reportf (ctx,
                      R,
                      CHECK_REDIRECTS,
                      SFB_DIAGNOSIS_FAIL,
                      "The pools disagree about the user's home pool: check the user's "
                      "RegistrarPool (Get-CsUser), that the pools in the path are in the "
                      "published topology, and that Central Management Store replication is "
                      "up to date (Get-CsManagementStoreReplicationStatus).",
                      "The registrars send the sign-in around in a loop: %s (%s)",
                      path,
                      reg->error != NULL ? reg->error->message : "");
  else if (reg->hops->len > 1)
    sfb_diag_reportf (ctx,
                      R,
                      CHECK_REDIRECTS,
                      SFB_DIAGNOSIS_PASS,
                      NULL,
                      "%u redirect(s), no loop: %s",
                      reg->hops->len - 1,
                      path);
  else
    sfb_diag_reportf (
        ctx, R, CHECK_REDIRECTS, SFB_DIAGNOSIS_PASS, NULL, "No redirect: %s answered itself", path);
}

static void
report_home_pool (SfbDiagContext *ctx, const SfbDiagnoseRegisterResult *reg)
{
  const char *home = hop_after (reg);

  switch (reg->outcome)
    {
    case SFB_DIAGNOSE_REGISTER_REGISTERED:
      sfb_diag_reportf (ctx,
                        R,
                        CHECK_HOME_POOL,
                        SFB_DIAGNOSIS_PASS,
                        NULL,
                        "%s (reachable; it registered the test sign-in)",
                        home);
      return;
    case SFB_DIAGNOSE_REGISTER_CHALLENGED:
      sfb_diag_reportf (
          ctx, R, CHECK_HOME_POOL, SFB_DIAGNOSIS_PASS, NULL, "%s (reachable; it challenged)", home);
      return;
    case SFB_DIAGNOSE_REGISTER_UNREACHABLE:
      if (reg->hops->len > 1)
        {
          sfb_diag_reportf (ctx,
                            R,
                            CHECK_HOME_POOL,
                            SFB_DIAGNOSIS_FAIL,
                            reg->failed_hop_unresolved
                                ? "Publish the home pool's name in DNS (an A record for the "
                                  "pool FQDN the Director redirects to)."
                                : "Let clients reach the home pool on its SIP port (TCP 5061 "
                                  "through firewalls), or fix its registrar service.",
                            "Redirected to %s, which %s: %s",
                            reg->failed_hop,
                            reg->failed_hop_unresolved ? "does not resolve" : "is not reachable",
                            reg->error != NULL ? reg->error->message : "");
          return;
        }
      break;
    case SFB_DIAGNOSE_REGISTER_LOOP:
    case SFB_DIAGNOSE_REGISTER_TOO_MANY:
      sfb_diag_skip (ctx, R, CHECK_HOME_POOL, "no home pool: the redirects loop");
      return;
    default:
      break;
    }
  sfb_diag_skip (ctx, R, CHECK_HOME_POOL, "the test sign-in did not reach a home pool");
}

void
sfb_diagnose_redirection (SfbDiagContext *ctx, GTask *task)
{
  const SfbDiagnoseRegisterResult *reg = ctx->registration;

  if (redirects_known (ctx, reg))
    {
      report_redirects (ctx, reg);
      report_home_pool (ctx, reg);
    }
  g_task_return_boolean (task, TRUE);
}
