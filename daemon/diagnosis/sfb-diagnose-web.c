/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The autodiscover stage: the walk of net/sfb-autodiscover.c from
 * lyncdiscoverinternal.D and lyncdiscover.D, judged request by request
 * (status, content type, Root and User documents, redirects, web ticket).
 * Hands the SIP servers the User documents name to the later stages.
 */
#define G_LOG_DOMAIN "sfbd-diagnosis"

#include "config.h"

#include "sfb-diagnosis-private.h"

#include "sfb-autodiscover.h"
#include "sfb-error.h"
#include "sfb-proxy.h"
#include "sfb-text.h"
#include "sfb-tls.h"

#include <string.h>

/* per request, as discovery's own walk */
#define WEB_TIMEOUT_SECONDS 10

static const SfbDiscoveryLookup lookups[] = {
  SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL,
  SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL,
};

typedef struct
{
  SfbDiagContext *ctx;
  GTask *task;
  SoupSession *session;
  guint pending;
} WebRun;

typedef struct
{
  WebRun *run;
  SfbDiagAutodiscover *ad;
} Walk;

static const char *
host_prefix (SfbDiscoveryLookup lookup)
{
  return lookup == SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL ? "lyncdiscoverinternal"
                                                              : "lyncdiscover";
}

static char *
quote (const char *text)
{
  return sfb_text_quote (text, -1, SFB_TEXT_QUOTE_MAX, SFB_TEXT_QUOTE_SPACES);
}

static SfbAutodiscoverHop *
hop_at (SfbDiagAutodiscover *ad, guint i)
{
  return ad->hops != NULL && i < ad->hops->len ? g_ptr_array_index (ad->hops, i) : NULL;
}

static gboolean
content_type_ok (const SfbAutodiscoverHop *hop)
{
  return hop->content_type != NULL
         && g_ascii_strcasecmp (hop->content_type, SFB_AUTODISCOVER_CONTENT_TYPE) == 0;
}

/* What one request got: "HTTP 200, application/...+xml, Root (links User, Redirect)" */
static void
describe_hop (GString *out, const SfbAutodiscoverHop *hop)
{
  g_autofree char *host = quote (hop->host);
  g_autofree char *type = quote (hop->content_type);
  const SfbAutodiscoverDocument *doc = hop->document;

  g_string_append_printf (out, "%s: HTTP %u", host, hop->status);
  if (hop->content_type != NULL)
    g_string_append_printf (out, ", %s", type);
  if (doc == NULL)
    return;
  if (doc->access_location != NULL)
    g_string_append_printf (out, ", AccessLocation %s", doc->access_location);
  if (doc->has_root)
    g_string_append_printf (out,
                            ", Root document with links%s%s",
                            doc->user_href != NULL ? " User" : "",
                            doc->redirect_href != NULL ? " Redirect" : "");
  if (doc->has_user)
    g_string_append_printf (
        out, ", User document%s", doc->redirect_href != NULL ? " with a Redirect link" : "");
}

/* A request that got no answer: the walk's error, or the certificate's */
static void
report_no_answer (SfbDiagContext *ctx,
                  const char *check,
                  SfbDiagAutodiscover *ad,
                  SfbAutodiscoverHop *hop)
{
  g_autofree char *host = quote (hop->host);

  if (hop->tls_errors != 0)
    {
      g_autoptr (GError) error
          = sfb_tls_error_new_for_certificate (hop->tls_errors, hop->host, hop->certificate);
      g_autofree char *fix
          = sfb_diag_certificate_fix (hop->tls_errors, hop->host, hop->certificate);

      sfb_diag_report (
          ctx, SFB_DIAG_STAGE_AUTODISCOVER, check, SFB_DIAGNOSIS_FAIL, error->message, fix);
      return;
    }
  sfb_diag_reportf (ctx,
                    SFB_DIAG_STAGE_AUTODISCOVER,
                    check,
                    SFB_DIAGNOSIS_FAIL,
                    "Make sure the web services (or the reverse proxy publishing them) answer "
                    "HTTPS on port 443 of this name and that no firewall blocks it from here.",
                    "No answer from https://%s: %s",
                    host,
                    ad->error != NULL ? ad->error->message : "the request failed");
}

/* The first request (https://H/?sipuri=...): the Root document */
static gboolean
report_root (SfbDiagContext *ctx, SfbDiagAutodiscover *ad)
{
  g_autofree char *check = g_strdup_printf ("Root %s", ad->host);
  SfbAutodiscoverHop *hop = hop_at (ad, 0);
  g_autoptr (GString) evidence = g_string_new (NULL);

  if (hop == NULL || hop->status == 0)
    {
      SfbAutodiscoverHop none = { .host = ad->host };

      report_no_answer (ctx, check, ad, hop != NULL ? hop : &none);
      return FALSE;
    }
  describe_hop (evidence, hop);
  if (hop->status == 200 && !content_type_ok (hop))
    {
      g_autofree char *type = quote (hop->content_type);
      g_autofree char *fix = g_strdup_printf (
          "%s is answered by another web server (a portal or the company web site?): point "
          "the name at the pool's web services, or at the reverse proxy publishing them, "
          "which answer %s.",
          ad->host,
          SFB_AUTODISCOVER_CONTENT_TYPE);

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_AUTODISCOVER,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        fix,
                        "%s answered HTTP 200 with content type “%s”, not %s",
                        ad->host,
                        hop->content_type != NULL ? type : "(none)",
                        SFB_AUTODISCOVER_CONTENT_TYPE);
      return FALSE;
    }
  if (hop->status != 200)
    {
      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_AUTODISCOVER,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        "Check the pool's web services (IIS, the Autodiscover virtual "
                        "directory) or the reverse proxy in front of them: the root of "
                        "autodiscover must answer 200 to anyone.",
                        "%s (the Root request must get 200)",
                        evidence->str);
      return FALSE;
    }
  if (hop->document == NULL)
    {
      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_AUTODISCOVER,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        "The web services answer something that is not an "
                        "AutodiscoverResponse: check the Autodiscover virtual directory and "
                        "any proxy rewriting the answer.",
                        "%s; not a valid document: %s",
                        evidence->str,
                        ad->error != NULL ? ad->error->message : "unreadable");
      return FALSE;
    }
  sfb_diag_report (
      ctx, SFB_DIAG_STAGE_AUTODISCOVER, check, SFB_DIAGNOSIS_PASS, evidence->str, NULL);
  return TRUE;
}

static void
append_candidates (GString *out, GPtrArray *candidates)
{
  for (guint i = 0; i < candidates->len; i++)
    {
      g_autofree char *text = sfb_server_candidate_to_string (g_ptr_array_index (candidates, i));

      g_string_append_printf (out, "%s%s", i ? ", " : "", text);
    }
}

/* The rest of the walk: redirects, web ticket, the User document */
static void
report_user (SfbDiagContext *ctx, SfbDiagAutodiscover *ad)
{
  g_autofree char *check = g_strdup_printf ("User %s", ad->host);
  SfbAutodiscoverHop *last = hop_at (ad, ad->hops->len - 1);
  g_autoptr (GString) walk = g_string_new (NULL);
  g_autofree char *user = NULL;

  if (ctx->sip_uri == NULL)
    {
      sfb_diag_skip (ctx,
                     SFB_DIAG_STAGE_AUTODISCOVER,
                     check,
                     "Skipped: without an account (--domain) there is no user to look up");
      return;
    }
  user = sfb_text_quote (ctx->sip_uri, -1, 256, SFB_TEXT_QUOTE_SPACES);
  for (guint i = 1; i < ad->hops->len; i++)
    {
      g_string_append (walk, i > 1 ? " -> " : "");
      describe_hop (walk, hop_at (ad, i));
    }
  if (walk->len == 0)
    g_string_append (walk, "The Root document links to no User resource");
  if (last->status == 0 || (ad->hops->len > 1 && last->status == 200 && !content_type_ok (last)))
    {
      report_no_answer (ctx, check, ad, last);
      return;
    }
  if (ad->error != NULL)
    {
      gboolean loop = g_strrstr (ad->error->message, "redirect loop") != NULL;

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_AUTODISCOVER,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        loop ? "The Redirect links of the autodiscover services lead round in "
                               "circles: check each pool's autodiscover and the user's home "
                               "pool (Get-CsUser)."
                             : "Check the web services of the pools the walk reached.",
                        "%s; %s",
                        walk->str,
                        ad->error->message);
      return;
    }
  if (last->status == 401 && last->web_ticket_url != NULL)
    {
      g_autofree char *url = sfb_text_quote (last->web_ticket_url, -1, 256, SFB_TEXT_QUOTE_SPACES);

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_AUTODISCOVER,
                        check,
                        SFB_DIAGNOSIS_PASS,
                        NULL,
                        "%s: the User resource needs a web ticket from %s (clients get one "
                        "with the user's credentials; sfbd does)",
                        walk->str,
                        url);
      return;
    }
  if (last->status == 401)
    {
      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_AUTODISCOVER,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        "The User resource asks for authentication without naming the web "
                        "ticket service (X-MS-WebTicketURL): check the pool's web services and "
                        "any reverse proxy that strips headers.",
                        "%s",
                        walk->str);
      return;
    }
  if (last->status == 404)
    {
      g_autofree char *fix = g_strdup_printf (
          "Enable %s for Skype for Business (Enable-CsUser) with this SIP address, or correct "
          "Account.Uri.",
          user);

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_AUTODISCOVER,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        fix,
                        "%s: %s is not known to this autodiscover service",
                        walk->str,
                        user);
      return;
    }
  if (ad->candidates == NULL || ad->candidates->len == 0)
    {
      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_AUTODISCOVER,
                        check,
                        SFB_DIAGNOSIS_WARN,
                        "Set the pool's internal and external web services and SIP access "
                        "FQDNs (Set-CsWebServiceConfiguration, the topology) so autodiscover "
                        "names them.",
                        "%s: the answer names no SIP server for this access location",
                        walk->str);
      return;
    }
  g_string_append (walk, ": SIP ");
  append_candidates (walk, ad->candidates);
  sfb_diag_report (ctx, SFB_DIAG_STAGE_AUTODISCOVER, check, SFB_DIAGNOSIS_PASS, walk->str, NULL);
}

static void
report_all (WebRun *run)
{
  SfbDiagContext *ctx = run->ctx;

  for (guint i = 0; i < ctx->autodiscover->len; i++)
    {
      SfbDiagAutodiscover *ad = g_ptr_array_index (ctx->autodiscover, i);

      if (ad->url == NULL)
        {
          g_autofree char *root = g_strdup_printf ("Root %s", ad->host);
          g_autofree char *check = g_strdup_printf ("User %s", ad->host);
          g_autofree char *reason = g_strdup_printf (
              "Skipped: %s has no address (dns check A/AAAA %s)", ad->host, ad->host);

          sfb_diag_skip (ctx, SFB_DIAG_STAGE_AUTODISCOVER, root, reason);
          sfb_diag_skip (ctx, SFB_DIAG_STAGE_AUTODISCOVER, check, reason);
          continue;
        }
      if (report_root (ctx, ad))
        report_user (ctx, ad);
      else
        {
          g_autofree char *check = g_strdup_printf ("User %s", ad->host);
          g_autofree char *root = g_strdup_printf ("Root %s", ad->host);

          sfb_diag_skip_unless (
              ctx, SFB_DIAG_STAGE_AUTODISCOVER, check, SFB_DIAG_STAGE_AUTODISCOVER, root);
        }
    }
}

/* ctx->lookups of autodiscover, once both walks are done (for connectivity) */
static void
hand_over (SfbDiagContext *ctx)
{
  for (guint i = 0; i < ctx->autodiscover->len; i++)
    {
      SfbDiagAutodiscover *ad = g_ptr_array_index (ctx->autodiscover, i);

      if (ad->candidates != NULL && ad->candidates->len > 0)
        ctx->lookups[lookups[i]] = g_ptr_array_ref (ad->candidates);
    }
}

static void
web_run_finish (WebRun *run)
{
  GTask *task = run->task;

  if (!g_task_return_error_if_cancelled (task))
    {
      report_all (run);
      hand_over (run->ctx);
      g_task_return_boolean (task, TRUE);
    }
  g_object_unref (run->session);
  g_object_unref (task);
  g_free (run);
}

static void
on_walked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Walk *walk = user_data;
  WebRun *run = walk->run;
  SfbDiagAutodiscover *ad = walk->ad;
  g_autofree char *detail = NULL;

  (void) source;
  ad->candidates = sfb_autodiscover_lookup_finish (result, &detail, &ad->error);
  ad->hops = sfb_autodiscover_lookup_get_hops (result);
  g_debug ("Diagnosis: autodiscover %s: %s", ad->host, detail);
  g_free (walk);
  if (--run->pending == 0)
    web_run_finish (run);
}

void
sfb_diagnose_autodiscover (SfbDiagContext *ctx, GTask *task)
{
  WebRun *run = g_new0 (WebRun, 1);
  g_autofree char *user = NULL;

  run->ctx = ctx;
  run->task = g_object_ref (task);
  run->session = soup_session_new_with_options (
      "timeout", WEB_TIMEOUT_SECONDS, "user-agent", "sfbd/" PACKAGE_VERSION, NULL);
  soup_session_set_tls_database (run->session, ctx->tls_database);
  if (!sfb_proxy_may_be_configured ())
    soup_session_set_proxy_resolver (run->session, NULL);
  if (ctx->sip_uri != NULL)
    {
      g_autofree char *domain = sfb_discovery_domain_from_uri (ctx->sip_uri);
      const char *at = strchr (ctx->sip_uri, '@');
      const char *start = g_str_has_prefix (ctx->sip_uri, "sip:") ? ctx->sip_uri + 4 : ctx->sip_uri;

      if (at != NULL && domain != NULL)
        user = g_strdup_printf ("%.*s@%s", (int) (at - start), start, domain);
    }

  run->pending = 1;
  for (guint i = 0; i < G_N_ELEMENTS (lookups); i++)
    {
      SfbDiagAutodiscover *ad = g_new0 (SfbDiagAutodiscover, 1);
      Walk *walk;

      ad->host = g_strdup_printf ("%s.%s", host_prefix (lookups[i]), ctx->domain);
      g_ptr_array_add (ctx->autodiscover, ad);
      if (!ctx->resolved[lookups[i]])
        continue; /* reported SKIP with the others, in order */
      ad->url = user != NULL ? sfb_autodiscover_build_url (ad->host, user)
                             : g_strdup_printf ("https://%s/", ad->host);
      walk = g_new0 (Walk, 1);
      walk->run = run;
      walk->ad = ad;
      run->pending++;
      sfb_autodiscover_lookup_async (run->session, ad->url, ctx->cancellable, on_walked, walk);
    }
  if (--run->pending == 0)
    web_run_finish (run);
}
