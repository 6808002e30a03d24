/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The settings stage of `sfbctl diagnose` (doc/sfbctl.1.rst, DIAGNOSE): the
 * web services a client needs after the registrar.
 *
 *   Certificate provisioning  <service>/mex of the TLS-DSK challenge's
 *                             sts-uri, else the home pool's standard URL
 *                             (docs/protocol.md §8.2): 200 with XML
 *   Web ticket service        <service>/mex of autodiscover's
 *                             X-MS-WebTicketURL, else the home pool's
 *                             (docs/protocol.md §8.3): 200 with XML
 *   Exchange autodiscover     a POX request for the user's address at the
 *                             two standard URLs: any answer of Exchange
 *                             (200 XML, or 401 asking for credentials)
 *                             passes; none is a WARN (no calendar or
 *                             voicemail data), never a FAIL
 *
 * Requests go out with the run's trust (ctx->tls_database) and never carry
 * credentials; nothing of an answer is read but its head.
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-diagnosis-private.h"

#include "sfb-autodiscover.h"
#include "sfb-proxy.h"
#include "sfb-sip-auth-header.h"
#include "sfb-text.h"

#include <libsoup/soup.h>
#include <string.h>

#define S SFB_DIAG_STAGE_SETTINGS

#define CHECK_CERTPROV "Certificate provisioning"
#define CHECK_WEBTICKET "Web ticket service"
#define CHECK_EXCHANGE "Exchange autodiscover"

#define HTTP_TIMEOUT_S 10
#define MAX_URL 2048
/* what evidence quotes of a server's header */
#define MAX_QUOTE 160

#define CERTPROV_PATH "/CertProv/CertProvisioningService.svc"
#define WEBTICKET_PATH "/WebTicket/WebTicketService.svc"
#define EXCHANGE_PATH "/autodiscover/autodiscover.xml"
#define EXCHANGE_REQUEST                                                                           \
  "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"                                                   \
  "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"              \
  "requestschema/2006\"><Request><EMailAddress>%s</EMailAddress><AcceptableResponseSchema>"        \
  "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"                \
  "</AcceptableResponseSchema></Request></Autodiscover>\n"

typedef struct
{
  SfbDiagContext *ctx;
  SoupSession *session;
  char *host;          /* the home pool (or the registrar) whose web services are asked */
  char *certprov_url;  /* without /mex */
  char *webticket_url; /* without /mex */
  char *email;         /* alice@contoso.test */
  GPtrArray *exchange; /* URLs still to try */
  GString *tried;      /* what the Exchange URLs answered */
} SettingsRun;

/* What one request found */
typedef struct
{
  guint status;       /* 0: no answer */
  char *reason;       /* sanitised */
  char *content_type; /* sanitised, "" when none */
  char *diagnostics;  /* X-Ms-diagnostics, sanitised, NULL when none */
  char *error;        /* no answer: why */
} Answer;

static void
answer_free (Answer *answer)
{
  g_free (answer->reason);
  g_free (answer->content_type);
  g_free (answer->diagnostics);
  g_free (answer->error);
  g_free (answer);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

static void
settings_run_free (SettingsRun *run)
{
  g_clear_object (&run->session);
  g_free (run->host);
  g_free (run->certprov_url);
  g_free (run->webticket_url);
  g_free (run->email);
  g_clear_pointer (&run->exchange, g_ptr_array_unref);
  if (run->tried != NULL)
    g_string_free (run->tried, TRUE);
  g_free (run);
}

/* ---- one request --------------------------------------------------------- */

static char *
quote (const char *text)
{
  return sfb_text_quote (text, -1, MAX_QUOTE, SFB_TEXT_QUOTE_SPACES);
}

static gboolean
is_xml (const Answer *answer)
{
  return strstr (answer->content_type, "xml") != NULL;
}

static void
on_sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *request = user_data;
  SoupMessage *message = g_task_get_task_data (request);
  g_autoptr (GInputStream) body = NULL;
  g_autoptr (GError) error = NULL;
  Answer *answer = g_new0 (Answer, 1);
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);

  body = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  if (body == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          answer_free (answer);
          g_task_return_error (request, g_steal_pointer (&error));
          g_object_unref (request);
          return;
        }
      answer->error = quote (error->message);
    }
  else
    {
      answer->status = soup_message_get_status (message);
      answer->reason = quote (soup_message_get_reason_phrase (message));
      answer->content_type = quote (soup_message_headers_get_one (headers, "Content-Type"));
      if (soup_message_headers_get_one (headers, "X-Ms-diagnostics") != NULL)
        answer->diagnostics = quote (soup_message_headers_get_one (headers, "X-Ms-diagnostics"));
    }
  g_task_return_pointer (request, answer, (GDestroyNotify) answer_free);
  g_object_unref (request);
}

/* GET (or POST @body as text/xml) @url; completes with an Answer */
static void
request (SettingsRun *run,
         const char *url,
         const char *body,
         GAsyncReadyCallback callback,
         gpointer user_data)
{
  SoupMessage *message = soup_message_new (body != NULL ? "POST" : "GET", url);
  GTask *task = g_task_new (NULL, run->ctx->cancellable, callback, user_data);

  if (message == NULL)
    {
      Answer *answer = g_new0 (Answer, 1);

      answer->error = g_strdup ("not a valid URL");
      g_task_return_pointer (task, answer, (GDestroyNotify) answer_free);
      g_object_unref (task);
      return;
    }
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "text/xml; charset=utf-8", bytes);
    }
  g_task_set_task_data (task, message, g_object_unref);
  soup_session_send_async (
      run->session, message, G_PRIORITY_DEFAULT, run->ctx->cancellable, on_sent, task);
}

static Answer *
request_finish (GAsyncResult *res, GError **error)
{
  return g_task_propagate_pointer (G_TASK (res), error);
}

/* "answered HTTP 403 Forbidden (text/xml); X-Ms-diagnostics: ..." or "no answer: ..." */
static char *
describe (const Answer *answer)
{
  if (answer->status == 0)
    return g_strdup_printf ("no answer: %s", answer->error);
  return g_strdup_printf ("answered HTTP %u %s (%s)%s%s",
                          answer->status,
                          answer->reason,
                          *answer->content_type != '\0' ? answer->content_type : "no content",
                          answer->diagnostics != NULL ? "; X-Ms-diagnostics: " : "",
                          answer->diagnostics != NULL ? answer->diagnostics : "");
}

/* ---- which URLs ---------------------------------------------------------- */

/* an https URL of reasonable length, else NULL */
static char *
usable_url (const char *url)
{
  if (url == NULL || strlen (url) > MAX_URL || !g_str_has_prefix (url, "https://")
      || !g_uri_is_valid (url, G_URI_FLAGS_NONE, NULL))
    return NULL;
  return g_strdup (url);
}

/* the TLS-DSK challenge's sts-uri (the registrar's own answer), else NULL */
static char *
sts_uri (SfbDiagContext *ctx)
{
  g_autoptr (GPtrArray) auths = NULL;
  SfbSipAuth *tls_dsk;

  if (ctx->registration == NULL || ctx->registration->challenge == NULL)
    return NULL;
  auths = sfb_sip_auth_parse_message (ctx->registration->challenge, "WWW-Authenticate");
  tls_dsk = auths != NULL ? sfb_sip_auth_find (auths, "TLS-DSK") : NULL;
  return tls_dsk != NULL ? usable_url (sfb_sip_auth_get_param (tls_dsk, "sts-uri")) : NULL;
}

/* autodiscover's X-MS-WebTicketURL, else NULL */
static char *
autodiscover_web_ticket_url (SfbDiagContext *ctx)
{
  for (guint i = 0; ctx->autodiscover != NULL && i < ctx->autodiscover->len; i++)
    {
      const SfbDiagAutodiscover *ad = g_ptr_array_index (ctx->autodiscover, i);

      for (guint j = 0; ad->hops != NULL && j < ad->hops->len; j++)
        {
          const SfbAutodiscoverHop *hop = g_ptr_array_index (ad->hops, j);
          char *url = usable_url (hop->web_ticket_url);

          if (url != NULL)
            return url;
        }
    }
  return NULL;
}

/* The host whose web services are asked: the registrar that registered
 * the test sign-in (the home pool), else the one that challenged. */
static char *
web_services_host (SfbDiagContext *ctx)
{
  const SfbDiagnoseRegisterResult *reg = ctx->registration;
  const char *hop = NULL;
  const char *colon;

  if (reg == NULL)
    return NULL;
  if (reg->outcome == SFB_DIAGNOSE_REGISTER_REGISTERED && reg->hops->len > 0)
    hop = g_ptr_array_index (reg->hops, reg->hops->len - 1);
  else
    hop = reg->challenge_hop;
  if (hop == NULL || (colon = strrchr (hop, ':')) == NULL)
    return NULL;
  return g_strndup (hop, (gsize) (colon - hop));
}

/* ---- the checks ---------------------------------------------------------- */

static void exchange_next (GTask *task);

static void
report_service (SettingsRun *run, const char *check, const char *url, const Answer *answer)
{
  g_autofree char *what = describe (answer);
  g_autofree char *fix = NULL;

  if (answer->status == 200 && is_xml (answer))
    {
      sfb_diag_reportf (run->ctx, S, check, SFB_DIAGNOSIS_PASS, NULL, "%s/mex %s", url, what);
      return;
    }
  if (answer->status == 0)
    fix = g_strdup_printf ("Let clients reach %s on HTTPS (TCP 443): its internal web site "
                           "must be up and open through firewalls and proxies.",
                           run->host);
  else if (strcmp (check, CHECK_CERTPROV) == 0)
    fix = g_strdup_printf ("The certificate provisioning service of %s is refusing: check "
                           "that the CertProv application of its internal web site runs in "
                           "IIS and look up the X-Ms-diagnostics code in its event log. "
                           "Clients signing in with TLS-DSK (certificates) need it.",
                           run->host);
  else
    fix = g_strdup_printf ("The web ticket service of %s is not answering as it should: check "
                           "that the WebTicket application of its internal web site runs in "
                           "IIS, with Windows authentication enabled.",
                           run->host);
  sfb_diag_reportf (run->ctx, S, check, SFB_DIAGNOSIS_FAIL, fix, "%s/mex %s", url, what);
}

static void
on_exchange (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  SettingsRun *run = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (Answer) answer = request_finish (res, &error);
  const char *url = g_ptr_array_index (run->exchange, 0);
  g_autofree char *what = NULL;

  if (answer == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  what = describe (answer);
  /* Exchange answers a request without credentials with 401 */
  if ((answer->status == 200 && is_xml (answer)) || answer->status == 401)
    {
      sfb_diag_reportf (run->ctx,
                        S,
                        CHECK_EXCHANGE,
                        SFB_DIAGNOSIS_PASS,
                        NULL,
                        "%s %s%s",
                        url,
                        what,
                        answer->status == 401 ? ": Exchange is there and asks for credentials"
                                              : "");
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  g_string_append_printf (run->tried, "%s%s %s", run->tried->len > 0 ? "; " : "", url, what);
  g_ptr_array_remove_index (run->exchange, 0);
  exchange_next (task);
}

static void
exchange_next (GTask *task)
{
  SettingsRun *run = g_task_get_task_data (task);
  g_autofree char *escaped = NULL;
  g_autofree char *body = NULL;

  if (run->exchange->len == 0)
    {
      sfb_diag_reportf (run->ctx,
                        S,
                        CHECK_EXCHANGE,
                        SFB_DIAGNOSIS_WARN,
                        "Without Exchange autodiscover sfbd finds no calendar, voicemail or "
                        "Exchange contact store for the user. If the user has an Exchange "
                        "mailbox, publish autodiscover in DNS (autodiscover.<domain>, a CNAME "
                        "to the Exchange Client Access service) with a certificate naming it.",
                        "No Exchange autodiscover answered for %s: %s",
                        run->email,
                        run->tried->str);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  escaped = g_markup_escape_text (run->email, -1);
  body = g_strdup_printf (EXCHANGE_REQUEST, escaped);
  request (run, g_ptr_array_index (run->exchange, 0), body, on_exchange, task);
}

static void
start_exchange (GTask *task)
{
  SettingsRun *run = g_task_get_task_data (task);
  const char *at = run->email != NULL ? strchr (run->email, '@') : NULL;

  if (at == NULL)
    {
      sfb_diag_skip (run->ctx,
                     S,
                     CHECK_EXCHANGE,
                     "no account: checked for the configured account only (not with --domain)");
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  run->exchange = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (run->exchange,
                   g_strdup_printf ("https://autodiscover.%s" EXCHANGE_PATH, at + 1));
  g_ptr_array_add (run->exchange, g_strdup_printf ("https://%s" EXCHANGE_PATH, at + 1));
  run->tried = g_string_new (NULL);
  exchange_next (task);
}

static void
on_webticket (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  SettingsRun *run = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (Answer) answer = request_finish (res, &error);

  if (answer == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  report_service (run, CHECK_WEBTICKET, run->webticket_url, answer);
  start_exchange (task);
}

static void
on_certprov (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  SettingsRun *run = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (Answer) answer = request_finish (res, &error);
  g_autofree char *mex = NULL;

  if (answer == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  report_service (run, CHECK_CERTPROV, run->certprov_url, answer);
  mex = g_strdup_printf ("%s/mex", run->webticket_url);
  request (run, mex, NULL, on_webticket, task);
}

void
sfb_diagnose_settings (SfbDiagContext *ctx, GTask *task)
{
  SettingsRun *run = g_new0 (SettingsRun, 1);
  g_autofree char *mex = NULL;

  run->ctx = ctx;
  run->email
      = ctx->sip_uri != NULL
            ? g_strdup (g_str_has_prefix (ctx->sip_uri, "sip:") ? ctx->sip_uri + 4 : ctx->sip_uri)
            : NULL;
  run->session = soup_session_new_with_options (
      "tls-database", ctx->tls_database, "timeout", HTTP_TIMEOUT_S, NULL);
  if (!sfb_proxy_may_be_configured ())
    soup_session_set_proxy_resolver (run->session, NULL);
  g_task_set_task_data (task, run, (GDestroyNotify) settings_run_free);
  g_object_ref (task); /* until the last callback */
  run->host = web_services_host (ctx);
  if (run->host == NULL)
    {
      const char *why = ctx->sip_uri == NULL
                            ? "no account: checked for the configured account only (not with "
                              "--domain)"
                            : "no registrar answered to name the pool's web services (see "
                              "authentication)";

      sfb_diag_skip (ctx, S, CHECK_CERTPROV, why);
      sfb_diag_skip (ctx, S, CHECK_WEBTICKET, why);
      start_exchange (task);
      return;
    }
  run->certprov_url = sts_uri (ctx);
  if (run->certprov_url == NULL)
    run->certprov_url = g_strdup_printf ("https://%s" CERTPROV_PATH, run->host);
  run->webticket_url = autodiscover_web_ticket_url (ctx);
  if (run->webticket_url == NULL)
    run->webticket_url = g_strdup_printf ("https://%s" WEBTICKET_PATH, run->host);
  mex = g_strdup_printf ("%s/mex", run->certprov_url);
  request (run, mex, NULL, on_certprov, task);
}
