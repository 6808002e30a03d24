/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One pass of SfbExchange (docs/protocol.md, "Exchange"): Autodiscover
 * when the EWS URL is not known yet, then the EWS reads.
 *
 * Autodiscover (POX) for the mailbox address: POST to
 *   https://DOMAIN/autodiscover/autodiscover.xml,
 *   https://autodiscover.DOMAIN/autodiscover/autodiscover.xml,
 * then to https://TARGET[:PORT]/autodiscover/autodiscover.xml for each
 * target of the _autodiscover._tcp.DOMAIN SRV record.  A 301/302/307/308
 * to an https Location and a RedirectUrl POST there first; a RedirectAddr
 * starts the list again for the new address; at most
 * SFB_EXCHANGE_MAX_REDIRECTS in all.  Plain http is never used (the
 * password's proof would follow).  Each URL, the SRV lookup and the first
 * EWS read after a discovery is a stage of the sign-in trace; a discovery
 * (a retry, Refresh() after a failure) replaces the last one's stages.
 * When every candidate said "not here" (SFB_ERROR_NOT_FOUND: no such name,
 * no SRV record, nothing listening, 404, not an Autodiscover document) and
 * none was an Exchange, the deployment has none: the pass ends "absent"
 * and nothing retries it (docs/protocol.md §18.1).
 *
 * EWS, in order: GetUserAvailability and GetUserOofSettings (a failure
 * fails the pass), then the voicemail and missed-conversation counts (a
 * failure there leaves the count as it was: Exchange 2010 has no
 * conversationhistory folder, and not every mailbox is UM-enabled).
 */
#define G_LOG_DOMAIN "sfbd-exchange"

#include "config.h"

#include "sfb-exchange-private.h"

#include "sfb-error.h"
#include "sfb-text.h"

#include <string.h>

/* as the HTTP layer shows a URL in its errors (sfb-exchange-http.c) */
#define SHOWN_URL_MAX 200
/* the longest URL followed (as the Autodiscover parser takes them) */
#define URL_MAX 2048

typedef enum
{
  STEP_AVAILABILITY,
  STEP_OOF,
  STEP_VOICEMAIL,
  STEP_MISSED,
  STEP_DONE,
  STEP_HISTORY_FOLDER, /* after STEP_MISSED failed on Exchange 2010 */
} Step;

struct _SfbExchangePass
{
  SfbExchange *self; /* not a reference: the pass is cancelled before it goes */
  SfbExchangePassKind kind;
  GCancellable *cancellable;
  /* discovery */
  char *email;
  char *domain;
  GQueue urls; /* of char *, the candidates left */
  gboolean srv_done;
  guint redirects;
  GString *failures;    /* "URL: reason; ..." */
  GError *error;        /* the failure that says most */
  gboolean only_absent; /* every failure so far was "not here" */
  gboolean heard;       /* an Autodiscover document answered */
  gint64 started_at;    /* real time of the current trace stage */
  /* reads */
  Step step;
  gboolean trace_read;
  gint64 window_start;
  gboolean have_voicemails;
  guint voicemails;
  gboolean have_missed;
  guint missed;
  gboolean tried_folder;
};

static void pass_free (SfbExchangePass *pass);
static void try_next_url (SfbExchangePass *pass);
static void read_step (SfbExchangePass *pass);

/* ---- the end ---------------------------------------------------------- */

static void
pass_free (SfbExchangePass *pass)
{
  g_clear_object (&pass->cancellable);
  g_free (pass->email);
  g_free (pass->domain);
  g_queue_clear_full (&pass->urls, g_free);
  if (pass->failures != NULL)
    g_string_free (pass->failures, TRUE);
  g_clear_error (&pass->error);
  g_free (pass);
}

/* Hands the result to the object (which may start another pass). */
static void
pass_finish (SfbExchangePass *pass, const GError *error, gboolean absent)
{
  SfbExchange *self = pass->self;
  SfbExchangePassKind kind = pass->kind;
  g_autoptr (GError) copy = error != NULL ? g_error_copy (error) : NULL;

  self->pass = NULL;
  pass_free (pass);
  sfb_exchange_pass_done (self, kind, copy, absent);
}

void
sfb_exchange_pass_cancel (SfbExchange *self)
{
  SfbExchangePass *pass = self->pass;

  if (pass == NULL)
    return;
  self->pass = NULL;
  g_cancellable_cancel (pass->cancellable);
  /* the idle connections close now, the cancelled request's when it ends */
  sfb_exchange_http_close_connections (self->http);
  /* the callbacks see the cancellation and free nothing: they own a ref
   * on nothing but the pass, which is orphaned now */
  pass->self = NULL;
}

/* A callback of @pass: FALSE when the pass was cancelled (and is freed
 * now); any other error, even a cancellation from elsewhere, is an answer. */
static gboolean
pass_alive (SfbExchangePass *pass)
{
  if (pass->self != NULL)
    return TRUE;
  pass_free (pass);
  return FALSE;
}

/* A URL (or address) for the trace and error texts: the server may have
 * chosen it, so bounded and sanitised like any server text. */
static char *
shown (const char *url)
{
  return sfb_text_quote_untrusted (url, -1, SHOWN_URL_MAX);
}

static void
trace (SfbExchangePass *pass, const char *stage, const GError *error, const char *detail)
{
  gint64 now = g_get_real_time ();

  sfb_session_trace_add_stage (
      pass->self->session, stage, pass->started_at, now - pass->started_at, error, detail);
  pass->started_at = now;
}

/* ---- Autodiscover ----------------------------------------------------- */

static char *
autodiscover_url (const char *host, guint16 port)
{
  if (port == 0 || port == 443)
    return g_strdup_printf ("https://%s/autodiscover/autodiscover.xml", host);
  return g_strdup_printf ("https://%s:%u/autodiscover/autodiscover.xml", host, port);
}

/* The candidate list for pass->email: the domain, autodiscover.domain;
 * SRV comes when those are used up. */
static gboolean
start_over (SfbExchangePass *pass, const char *email)
{
  const char *at = strchr (email, '@');

  if (at == NULL || at[1] == '\0')
    return FALSE;
  g_free (pass->email);
  g_free (pass->domain);
  pass->email = g_strdup (email);
  pass->domain = g_ascii_strdown (at + 1, -1);
  g_queue_clear_full (&pass->urls, g_free);
  g_queue_push_tail (&pass->urls, autodiscover_url (pass->domain, 0));
  g_queue_push_tail (
      &pass->urls,
      g_strdup_printf ("https://autodiscover.%s/autodiscover/autodiscover.xml", pass->domain));
  pass->srv_done = FALSE;
  return TRUE;
}

/* Keeps @error (the most telling: a refused password or TLS problem over a
 * missing host) and its text for the summary; @stage: the trace's.
 * SFB_ERROR_NOT_FOUND says "not here" (the file's head). */
static void
note_stage_failure (SfbExchangePass *pass, const char *stage, const char *url, GError *error)
{
  g_autofree char *name = shown (url);
  /* error texts from the HTTP layer start with the URL (as shown) already */
  gboolean named = g_str_has_prefix (error->message, name);

  trace (pass, stage, error, named ? NULL : name);
  if (pass->failures->len > 0)
    g_string_append (pass->failures, "; ");
  if (named)
    g_string_append (pass->failures, error->message);
  else
    g_string_append_printf (pass->failures, "%s: %s", name, error->message);
  pass->only_absent &= g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_FOUND);
  if (pass->error == NULL || pass->error->code == SFB_ERROR_NOT_REACHABLE
      || pass->error->code == SFB_ERROR_DISCOVERY_FAILED
      || pass->error->code == SFB_ERROR_NOT_FOUND)
    {
      g_clear_error (&pass->error);
      pass->error = g_error_copy (error);
    }
  g_error_free (error);
}

static void
note_failure (SfbExchangePass *pass, const char *url, GError *error)
{
  note_stage_failure (pass, "exchange-autodiscover", url, error);
}

/* Every candidate said "not here": what was tried, and that nothing will
 * try again by itself (what does: docs/protocol.md §18.1). */
static void
discovery_found_none (SfbExchangePass *pass)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *address = shown (pass->email);

  error = g_error_new (SFB_ERROR,
                       SFB_ERROR_NOT_FOUND,
                       "No Exchange found for %s: %s. Nothing to retry: sfbd looks again "
                       "after a reconnect or a network change, at the next sign-in, or now "
                       "with: sfbctl exchange refresh",
                       address,
                       pass->failures->str);
  pass_finish (pass, error, TRUE);
}

static void
discovery_failed (SfbExchangePass *pass)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *address = shown (pass->email);
  int code = pass->error != NULL ? pass->error->code : SFB_ERROR_DISCOVERY_FAILED;
  /* a certificate's error says what to do already */
  const char *advice
      = code == SFB_ERROR_AUTH_FAILED
            ? " Check the password (sfbctl set-password); Exchange takes the same one."
        : code == SFB_ERROR_CERTIFICATE_INVALID
            ? ""
            : " Check that Exchange Autodiscover answers for this domain.";

  if (pass->only_absent && !pass->heard)
    {
      discovery_found_none (pass);
      return;
    }
  if (code == SFB_ERROR_NOT_REACHABLE || code == SFB_ERROR_NOT_FOUND)
    code = SFB_ERROR_DISCOVERY_FAILED;
  error = g_error_new (SFB_ERROR,
                       code,
                       "Exchange Autodiscover found no EWS URL for %s: %s.%s",
                       address,
                       pass->failures->str,
                       advice);
  pass_finish (pass, error, FALSE);
}

static gboolean
redirect_allowed (SfbExchangePass *pass, const char *what)
{
  if (++pass->redirects <= SFB_EXCHANGE_MAX_REDIRECTS)
    return TRUE;
  note_failure (pass,
                what,
                g_error_new (SFB_ERROR,
                             SFB_ERROR_SERVER_REJECTED,
                             "more than %d Autodiscover redirects",
                             SFB_EXCHANGE_MAX_REDIRECTS));
  g_queue_clear_full (&pass->urls, g_free);
  pass->srv_done = TRUE;
  return FALSE;
}

/* An absolute URL that is printable ASCII (a URI is ASCII: anything else
 * is a server's mistake or a trap, e.g. a bidi override) and not too long. */
static gboolean
plain_url (const char *url)
{
  if (url == NULL || strlen (url) > URL_MAX)
    return FALSE;
  for (const char *p = url; *p; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f)
      return FALSE;
  return TRUE;
}

/* A 3xx: POST again at an https Location. */
static void
follow_location (SfbExchangePass *pass, const char *url, SfbExchangeHttpAnswer *answer)
{
  g_autoptr (GUri) base = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GUri) target = NULL;
  g_autofree char *status = sfb_exchange_http_status_text (answer);
  g_autofree char *next = NULL;

  if (base != NULL && answer->location != NULL)
    target = g_uri_parse_relative (base, answer->location, G_URI_FLAGS_NONE, NULL);
  if (target != NULL)
    next = g_uri_to_string (target);
  if (target == NULL || g_ascii_strcasecmp (g_uri_get_scheme (target), "https") != 0
      || !plain_url (next))
    {
      /* never followed, so no Autodiscover here for sfbd */
      note_failure (pass,
                    url,
                    g_error_new (SFB_ERROR,
                                 SFB_ERROR_NOT_FOUND,
                                 "%s redirects to a non-HTTPS or malformed location",
                                 status));
      return;
    }
  if (redirect_allowed (pass, url))
    {
      g_autofree char *from = shown (url);
      g_autofree char *to = shown (next);
      g_autofree char *detail = g_strdup_printf ("%s: %s to %s", from, status, to);

      trace (pass, "exchange-autodiscover", NULL, detail);
      g_queue_push_head (&pass->urls, g_steal_pointer (&next));
    }
}

static gboolean
is_xml_type (const char *type)
{
  return g_str_equal (type, "text/xml") || g_str_equal (type, "application/xml");
}

/* A 200 with a POX document: done, or where to go next. */
static void
read_autodiscover (SfbExchangePass *pass, const char *url, SfbExchangeHttpAnswer *answer)
{
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (answer->body, &length);
  g_autoptr (SfbExchangeAutodiscover) ad
      = sfb_exchange_doc_parse_autodiscover (data, length, &error);
  g_autofree char *from = shown (url);

  if (ad == NULL)
    {
      note_failure (pass, url, g_steal_pointer (&error));
      return;
    }
  pass->heard = TRUE;
  if (ad->ews_url != NULL)
    {
      g_autofree char *ews = shown (ad->ews_url);
      g_autofree char *detail = g_strdup_printf ("%s: EWS %s", from, ews);

      trace (pass, "exchange-autodiscover", NULL, detail);
      sfb_exchange_set_urls (pass->self, pass->email, ad->ews_url, ad->um_url);
      pass->trace_read = TRUE;
      pass->step = STEP_AVAILABILITY;
      read_step (pass);
      return;
    }
  if (ad->redirect_url != NULL && redirect_allowed (pass, url))
    {
      g_autofree char *to = shown (ad->redirect_url);
      g_autofree char *detail = g_strdup_printf ("%s: RedirectUrl %s", from, to);

      trace (pass, "exchange-autodiscover", NULL, detail);
      g_queue_push_head (&pass->urls, g_strdup (ad->redirect_url));
    }
  else if (ad->redirect_addr != NULL && g_ascii_strcasecmp (ad->redirect_addr, pass->email) != 0
           && redirect_allowed (pass, url))
    {
      g_autofree char *to = shown (ad->redirect_addr);
      g_autofree char *detail = g_strdup_printf ("%s: RedirectAddr %s", from, to);

      trace (pass, "exchange-autodiscover", NULL, detail);
      start_over (pass, ad->redirect_addr);
    }
  else if (ad->error_code != NULL)
    note_failure (pass,
                  url,
                  g_error_new (SFB_ERROR,
                               SFB_ERROR_SERVER_REJECTED,
                               "Autodiscover error %s%s%s",
                               ad->error_code,
                               *ad->error_message != '\0' ? ": " : "",
                               ad->error_message));
  else if (pass->redirects <= SFB_EXCHANGE_MAX_REDIRECTS)
    note_failure (
        pass,
        url,
        g_error_new (SFB_ERROR, SFB_ERROR_SERVER_REJECTED, "a redirect back to the same address"));
  if (pass->self != NULL)
    try_next_url (pass);
}

/* A status other than 200 or a redirect: "not here" when nothing at that
 * URL takes a POST (a web server without Autodiscover); 503 may pass */
static int
autodiscover_status_code (guint status)
{
  switch (status)
    {
    case 404: /* Not Found */
    case 405: /* Method Not Allowed */
    case 410: /* Gone */
      return SFB_ERROR_NOT_FOUND;
    case 503: /* Service Unavailable */
      return SFB_ERROR_NOT_REACHABLE;
    default:
      return SFB_ERROR_SERVER_REJECTED;
    }
}

static void
on_autodiscover_answer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SfbExchangePass *pass = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeHttpAnswer) answer
      = sfb_exchange_http_post_finish (SFB_EXCHANGE_HTTP (source), result, &error);
  g_autofree char *url = NULL;

  if (!pass_alive (pass))
    return;
  url = g_queue_pop_head (&pass->urls);
  if (answer == NULL)
    note_failure (pass, url, g_steal_pointer (&error));
  else if (answer->status >= 300 && answer->status < 400 && answer->status != 304)
    follow_location (pass, url, answer);
  else if (answer->status != 200)
    {
      g_autofree char *status = sfb_exchange_http_status_text (answer);

      note_failure (
          pass,
          url,
          g_error_new (SFB_ERROR, autodiscover_status_code (answer->status), "%s", status));
    }
  else if (!is_xml_type (answer->content_type))
    {
      g_autofree char *type = sfb_text_quote_untrusted (answer->content_type, -1, 40);

      note_failure (pass,
                    url,
                    g_error_new (SFB_ERROR,
                                 SFB_ERROR_NOT_FOUND,
                                 "answered %s, not an Autodiscover document",
                                 *type != '\0' ? type : "without a Content-Type"));
    }
  else
    {
      /* it goes on from there (or ends the pass) */
      read_autodiscover (pass, url, answer);
      return;
    }
  try_next_url (pass);
}

/* No target from the SRV lookup: "not here" when DNS says there is no
 * such record (or only ".", RFC 2782's "no service"); a DNS server's
 * failure or a timeout may pass. */
static GError *
srv_error (const GError *error)
{
  if (error == NULL)
    return g_error_new_literal (SFB_ERROR, SFB_ERROR_NOT_FOUND, "no SRV record");
  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
    return g_error_new (SFB_ERROR, SFB_ERROR_NOT_FOUND, "no SRV record: %s", error->message);
  return g_error_new (
      SFB_ERROR, SFB_ERROR_NOT_REACHABLE, "the SRV lookup failed: %s", error->message);
}

static void
on_srv (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SfbExchangePass *pass = user_data;
  g_autoptr (GError) error = NULL;
  GList *targets = g_resolver_lookup_service_finish (G_RESOLVER (source), result, &error);
  g_autofree char *name = NULL;
  g_autoptr (GString) detail = NULL;

  if (!pass_alive (pass))
    {
      g_resolver_free_targets (targets);
      return;
    }
  name = g_strdup_printf ("_autodiscover._tcp.%s", pass->domain);
  detail = g_string_new (name);
  for (GList *l = targets; l != NULL && g_queue_get_length (&pass->urls) < 8; l = l->next)
    {
      const char *host = g_srv_target_get_hostname (l->data);
      guint16 port = g_srv_target_get_port (l->data);
      g_autofree char *host_shown = NULL;

      if (host == NULL || *host == '\0' || g_str_equal (host, "."))
        continue;
      g_queue_push_tail (&pass->urls, autodiscover_url (host, port));
      host_shown = shown (host);
      g_string_append_printf (detail, "%s %s:%u", l->prev == NULL ? ":" : ",", host_shown, port);
    }
  g_resolver_free_targets (targets);
  if (g_queue_is_empty (&pass->urls))
    note_stage_failure (pass, "exchange-autodiscover-srv", name, srv_error (error));
  else
    {
      trace (pass, "exchange-autodiscover-srv", NULL, detail->str);
    }
  try_next_url (pass);
}

static void
try_next_url (SfbExchangePass *pass)
{
  const char *url = g_queue_peek_head (&pass->urls);

  if (url != NULL)
    {
      g_autofree char *body = sfb_exchange_doc_autodiscover_request (pass->email);

      pass->started_at = g_get_real_time ();
      sfb_exchange_http_post_async (
          pass->self->http, url, body, pass->cancellable, on_autodiscover_answer, pass);
      return;
    }
  if (!pass->srv_done)
    {
      g_autoptr (GResolver) resolver = g_resolver_get_default ();

      pass->srv_done = TRUE;
      pass->started_at = g_get_real_time ();
      g_resolver_lookup_service_async (
          resolver, "autodiscover", "tcp", pass->domain, pass->cancellable, on_srv, pass);
      return;
    }
  discovery_failed (pass);
}

static void
discover (SfbExchangePass *pass)
{
  g_autofree char *email = sfb_exchange_mailbox_address (pass->self);

  if (email == NULL || !start_over (pass, email))
    {
      g_autoptr (GError) error = g_error_new_literal (
          SFB_ERROR, SFB_ERROR_NOT_CONFIGURED, "No mailbox address is known for Exchange");

      pass_finish (pass, error, FALSE);
      return;
    }
  /* one discovery's story in the sign-in trace: a retry replaces the
   * stages of the one before instead of piling up to the trace's cap */
  sfb_session_trace_remove_stages (pass->self->session, "exchange-");
  sfb_exchange_set_state (pass->self, SFB_EXCHANGE_STATE_DISCOVERING, NULL);
  try_next_url (pass);
}

/* ---- EWS ------------------------------------------------------------- */

static const char *const step_names[] = {
  [STEP_AVAILABILITY] = "GetUserAvailability",
  [STEP_OOF] = "GetUserOofSettings",
  [STEP_VOICEMAIL] = "GetFolder voicemail",
  [STEP_MISSED] = "FindItem conversationhistory",
  [STEP_DONE] = "",
  [STEP_HISTORY_FOLDER] = "FindFolder Conversation History",
};

static char *
step_request (SfbExchangePass *pass)
{
  gint64 end;

  switch (pass->step)
    {
    case STEP_AVAILABILITY:
      {
        g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
        g_autoptr (GDateTime) today = g_date_time_new_utc (g_date_time_get_year (now),
                                                           g_date_time_get_month (now),
                                                           g_date_time_get_day_of_month (now),
                                                           0,
                                                           0,
                                                           0);

        pass->window_start = (g_date_time_to_unix (today) - 24 * 3600) * G_USEC_PER_SEC;
        end = pass->window_start + (gint64) SFB_EXCHANGE_WINDOW_DAYS * 24 * 3600 * G_USEC_PER_SEC;
        return sfb_exchange_doc_availability_request (
            pass->self->email, pass->window_start, end, SFB_EXCHANGE_FREE_BUSY_MINUTES);
      }
    case STEP_OOF:
      return sfb_exchange_doc_oof_request (pass->self->email);
    case STEP_VOICEMAIL:
      return sfb_exchange_doc_voicemail_request ();
    case STEP_HISTORY_FOLDER:
      return sfb_exchange_doc_history_folder_request ();
    case STEP_MISSED:
    case STEP_DONE:
    default:
      return sfb_exchange_doc_missed_request_in (pass->self->history_folder_id);
    }
}

/* Reads the answer of the current step; FALSE with @error when the step failed. */
static gboolean
read_answer (SfbExchangePass *pass, SfbExchangeHttpAnswer *answer, GError **error)
{
  gsize length = 0;
  const char *data = g_bytes_get_data (answer->body, &length);

  /* EWS answers faults with 500 and a SOAP body: read those too */
  if (answer->status != 200 && !(answer->status == 500 && is_xml_type (answer->content_type)))
    {
      g_autofree char *status = sfb_exchange_http_status_text (answer);

      g_set_error (error,
                   SFB_ERROR,
                   answer->status == 503 ? SFB_ERROR_NOT_REACHABLE : SFB_ERROR_SERVER_REJECTED,
                   "%s",
                   status);
      return FALSE;
    }
  switch (pass->step)
    {
    case STEP_AVAILABILITY:
      {
        g_autoptr (SfbExchangeAvailability) av
            = sfb_exchange_doc_parse_availability (data, length, error);

        if (av != NULL)
          sfb_exchange_apply_availability (pass->self, av, pass->window_start);
        return av != NULL;
      }
    case STEP_OOF:
      {
        SfbExchangeOof *oof = sfb_exchange_doc_parse_oof (data, length, error);

        if (oof == NULL)
          return FALSE;
        sfb_exchange_apply_oof (pass->self, oof);
        return TRUE;
      }
    case STEP_VOICEMAIL:
      pass->have_voicemails
          = sfb_exchange_doc_parse_unread_count (data, length, &pass->voicemails, error);
      return pass->have_voicemails;
    case STEP_HISTORY_FOLDER:
      g_free (pass->self->history_folder_id);
      pass->self->history_folder_id = sfb_exchange_doc_parse_folder_id (data, length, error);
      return pass->self->history_folder_id != NULL;
    case STEP_MISSED:
    case STEP_DONE:
    default:
      pass->have_missed = sfb_exchange_doc_parse_item_count (data, length, &pass->missed, error);
      return pass->have_missed;
    }
}

static void
on_ews_answer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SfbExchangePass *pass = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeHttpAnswer) answer
      = sfb_exchange_http_post_finish (SFB_EXCHANGE_HTTP (source), result, &error);
  gboolean ok;

  if (!pass_alive (pass))
    return;
  ok = answer != NULL && read_answer (pass, answer, &error);
  if (!ok)
    {
      g_autoptr (GError) wrapped = NULL;
      g_autofree char *ews = NULL;

      g_assert (error != NULL);
      if (pass->step >= STEP_VOICEMAIL)
        {
          /* the counts are optional: keep what was shown */
          g_info ("Exchange %s: %s", step_names[pass->step], error->message);
          if (pass->step == STEP_MISSED && pass->self->history_folder_id == NULL
              && !pass->tried_folder)
            pass->step = STEP_HISTORY_FOLDER; /* Exchange 2010 */
          else
            pass->step = pass->step == STEP_HISTORY_FOLDER ? STEP_DONE : pass->step + 1;
          pass->tried_folder |= pass->step == STEP_HISTORY_FOLDER;
          read_step (pass);
          return;
        }
      ews = shown (pass->self->ews_url);
      wrapped = g_error_new (SFB_ERROR,
                             error->code,
                             "EWS %s at %s failed: %s",
                             step_names[pass->step],
                             ews,
                             error->message);
      if (pass->trace_read)
        trace (pass, "exchange-ews", wrapped, NULL);
      pass_finish (pass, wrapped, FALSE);
      return;
    }
  pass->step = pass->step == STEP_HISTORY_FOLDER ? STEP_MISSED : pass->step + 1;
  read_step (pass);
}

static void
read_step (SfbExchangePass *pass)
{
  g_autofree char *body = NULL;

  if (pass->step == STEP_DONE)
    {
      sfb_exchange_apply_counts (
          pass->self, pass->have_voicemails, pass->voicemails, pass->have_missed, pass->missed);
      if (pass->trace_read)
        {
          g_autofree char *ews = shown (pass->self->ews_url);

          trace (pass, "exchange-ews", NULL, ews);
        }
      pass_finish (pass, NULL, FALSE);
      return;
    }
  body = step_request (pass);
  if (pass->step == STEP_AVAILABILITY && pass->trace_read)
    pass->started_at = g_get_real_time ();
  sfb_exchange_http_post_async (
      pass->self->http, pass->self->ews_url, body, pass->cancellable, on_ews_answer, pass);
}

/* ---- starting --------------------------------------------------------- */

void
sfb_exchange_pass_start (SfbExchange *self, SfbExchangePassKind kind)
{
  SfbExchangePass *pass;

  g_return_if_fail (self->pass == NULL && self->http != NULL);
  pass = g_new0 (SfbExchangePass, 1);
  pass->self = self;
  pass->kind = kind;
  pass->cancellable = g_cancellable_new ();
  pass->failures = g_string_new (NULL);
  pass->only_absent = TRUE;
  g_queue_init (&pass->urls);
  self->pass = pass;
  if (*self->ews_url == '\0')
    {
      discover (pass);
      return;
    }
  pass->step = kind == SFB_EXCHANGE_PASS_COUNTS ? STEP_VOICEMAIL : STEP_AVAILABILITY;
  read_step (pass);
}
