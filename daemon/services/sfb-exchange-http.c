/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-exchange"

#include "config.h"

#include "sfb-exchange-http.h"

#include "sfb-auth-context.h"
#include "sfb-error.h"
#include "sfb-ntlm.h"
#include "sfb-sip-auth-header.h"
#include "sfb-stream.h"
#include "sfb-text.h"
#include "sfb-tls.h"

#include <libsoup/soup.h>
#include <string.h>

/* NEGOTIATE: UNICODE | OEM | REQUEST_TARGET | NTLM | ALWAYS_SIGN |
 * EXTENDED_SESSIONSECURITY | 128 | 56 */
#define NEGOTIATE_FLAGS                                                                            \
  (SFB_NTLM_NEGOTIATE_UNICODE | SFB_NTLM_NEGOTIATE_OEM | SFB_NTLM_REQUEST_TARGET                   \
   | SFB_NTLM_NEGOTIATE_NTLM | SFB_NTLM_NEGOTIATE_ALWAYS_SIGN                                      \
   | SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY | SFB_NTLM_NEGOTIATE_128 | SFB_NTLM_NEGOTIATE_56)
#define MAX_SHOWN_URL 200

struct _SfbExchangeHttp
{
  GObject parent_instance;
  SoupSession *session;
  SfbAuthContext *ntlm;    /* nullable */
  GHashTable *schemes;     /* host -> "NTLM"/"Negotiate": it asked for one before */
  GHashTable *no_kerberos; /* hosts where Kerberos failed: NTLM only */
  SfbExchangeHttpKerberosFunc new_kerberos;
  gpointer kerberos_data;
  guint requests;
};

G_DEFINE_FINAL_TYPE (SfbExchangeHttp, sfb_exchange_http, G_TYPE_OBJECT)

void
sfb_exchange_http_answer_free (SfbExchangeHttpAnswer *answer)
{
  if (answer == NULL)
    return;
  g_free (answer->reason);
  g_free (answer->content_type);
  g_free (answer->location);
  g_clear_pointer (&answer->body, g_bytes_unref);
  g_free (answer);
}

char *
sfb_exchange_http_status_text (const SfbExchangeHttpAnswer *answer)
{
  return g_strdup_printf (
      "HTTP %u%s%s", answer->status, *answer->reason != '\0' ? " " : "", answer->reason);
}

typedef struct
{
  char *url;
  char *shown; /* the URL for error text */
  char *host;
  char *body;
  const char *scheme; /* static: "NTLM" or "Negotiate" once chosen */
  guint legs;         /* 0: none sent, 1: NEGOTIATE sent, 2: AUTHENTICATE sent */
  gboolean kerberos;  /* the last leg carried a Kerberos token */
  SoupMessage *message;
} Job;

static void
job_free (Job *job)
{
  g_free (job->url);
  g_free (job->shown);
  g_free (job->host);
  g_free (job->body);
  g_clear_object (&job->message);
  g_free (job);
}

/* Whether the 401 offers @scheme (with or without a token). */
static gboolean
offers (SoupMessage *message, const char *scheme)
{
  SoupMessageHeadersIter iter;
  const char *name;
  const char *value;
  gsize n = strlen (scheme);

  soup_message_headers_iter_init (&iter, soup_message_get_response_headers (message));
  while (soup_message_headers_iter_next (&iter, &name, &value))
    if (g_ascii_strcasecmp (name, "WWW-Authenticate") == 0
        && g_ascii_strncasecmp (value, scheme, n) == 0 && (value[n] == '\0' || value[n] == ' '))
      return TRUE;
  return FALSE;
}

static char *
negotiate_token (void)
{
  guint8 msg[32] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0 };
  guint32 flags = NEGOTIATE_FLAGS;

  for (guint i = 0; i < 4; i++)
    msg[12 + i] = (guint8) (flags >> (8 * i));
  return g_base64_encode (msg, sizeof msg);
}

/* Which of NTLM / Negotiate the 401 offers (NTLM preferred), or NULL;
 * with @challenge, the NTLMSSP CHALLENGE carried under @scheme. */
static const char *
offered_scheme (SoupMessage *message, const char *scheme, GBytes **challenge)
{
  SoupMessageHeadersIter iter;
  const char *name;
  const char *value;
  const char *found = NULL;

  soup_message_headers_iter_init (&iter, soup_message_get_response_headers (message));
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      gsize n;
      const char *token;
      guchar *raw;
      gsize len = 0;

      if (g_ascii_strcasecmp (name, "WWW-Authenticate") != 0)
        continue;
      if (scheme == NULL)
        {
          if (g_ascii_strncasecmp (value, "NTLM", 4) == 0 && (value[4] == '\0' || value[4] == ' '))
            found = "NTLM";
          else if (found == NULL && g_ascii_strncasecmp (value, "Negotiate", 9) == 0
                   && (value[9] == '\0' || value[9] == ' '))
            found = "Negotiate";
          continue;
        }
      n = strlen (scheme);
      if (g_ascii_strncasecmp (value, scheme, n) != 0 || value[n] != ' ')
        continue;
      token = value + n;
      while (*token == ' ')
        token++;
      if (*token == '\0' || strlen (token) > 4 * SFB_NTLM_MAX_MESSAGE / 3 + 4)
        continue;
      raw = g_base64_decode (token, &len);
      if (len >= 8 && memcmp (raw, "NTLMSSP", 8) == 0)
        {
          *challenge = g_bytes_new_take (raw, len);
          return scheme;
        }
      g_free (raw);
    }
  return found;
}

/* Sends the request with @authorization (nullable); takes @task. */
static void send_leg (GTask *task, const char *authorization);
static void read_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) stream
      = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  GCancellable *cancellable;

  if (stream == NULL)
    {
      GTlsCertificateFlags flags = soup_message_get_tls_peer_certificate_errors (job->message);

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (error->domain == G_TLS_ERROR && flags != 0)
        {
          /* the certificate in words, as for SIP (sfb-tls.h) */
          g_autoptr (GError) tls = sfb_tls_error_new_for_certificate (
              flags, job->host, soup_message_get_tls_peer_certificate (job->message));

          g_task_return_new_error (
              task, SFB_ERROR, tls->code, "%s: TLS failed: %s", job->shown, tls->message);
        }
      else
        g_task_return_new_error (task,
                                 SFB_ERROR,
                                 SFB_ERROR_NOT_REACHABLE,
                                 "%s: %s%s",
                                 job->shown,
                                 error->domain == G_TLS_ERROR ? "TLS failed: " : "",
                                 error->message);
      return;
    }
  /* read all of it: the next leg must reuse this connection */
  cancellable = g_task_get_cancellable (task);
  sfb_stream_read_bounded_async (
      stream, SFB_EXCHANGE_HTTP_MAX_BODY, cancellable, read_cb, g_steal_pointer (&task));
}

static SfbExchangeHttpAnswer *
make_answer (SoupMessage *message, GBytes *body)
{
  SfbExchangeHttpAnswer *answer = g_new0 (SfbExchangeHttpAnswer, 1);
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);
  const char *type = soup_message_headers_get_content_type (headers, NULL);
  const char *location = soup_message_headers_get_one (headers, "Location");

  answer->status = soup_message_get_status (message);
  answer->reason = sfb_text_quote (
      soup_message_get_reason_phrase (message), -1, SFB_TEXT_QUOTE_MAX, SFB_TEXT_QUOTE_SPACES);
  answer->content_type = g_ascii_strdown (type != NULL ? type : "", -1);
  answer->location = location != NULL && strlen (location) <= 2048 ? g_strdup (location) : NULL;
  answer->body = g_bytes_ref (body);
  return answer;
}

/* The NEGOTIATE under NTLM (preferred) or Negotiate, or @task returns the error. */
static void
start_ntlm (GTask *task)
{
  SfbExchangeHttp *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autofree char *b64 = NULL;
  g_autofree char *header = NULL;

  job->scheme = offered_scheme (job->message, NULL, NULL);
  if (job->scheme == NULL)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_NO_USABLE_AUTH_SCHEME,
                               "%s asks for an authentication sfbd does not use (neither "
                               "NTLM nor Negotiate: sfbd never sends the password with Basic)",
                               job->shown);
      return;
    }
  g_hash_table_replace (self->schemes, g_strdup (job->host), (gpointer) job->scheme);
  b64 = negotiate_token ();
  header = g_strdup_printf ("%s %s", job->scheme, b64);
  job->legs = 1;
  send_leg (g_object_ref (task), header);
}

static void
on_kerberos_prepared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbExchangeHttp *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  SfbAuthContext *krb = SFB_AUTH_CONTEXT (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) token = NULL;
  g_autofree char *b64 = NULL;
  g_autofree char *header = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (sfb_auth_context_prepare_finish (krb, result, &error))
    token = sfb_auth_context_step (krb, NULL, &error);
  if (token == NULL)
    {
      g_info ("Exchange: no Kerberos for %s (%s): NTLM instead", job->host, error->message);
      g_hash_table_add (self->no_kerberos, g_strdup (job->host));
      start_ntlm (task);
      return;
    }
  b64 = g_base64_encode (g_bytes_get_data (token, NULL), g_bytes_get_size (token));
  header = g_strdup_printf ("Negotiate %s", b64);
  job->scheme = "Negotiate";
  job->kerberos = TRUE;
  job->legs = 2; /* Kerberos has one leg */
  send_leg (g_object_ref (task), header);
}

/* A Kerberos token for HTTP/<host> (made in a thread), else NTLM. */
static void
start_kerberos (GTask *task)
{
  SfbExchangeHttp *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr (GObject) krb = self->new_kerberos (self->kerberos_data);
  g_autoptr (SfbSipAuth) challenge = sfb_sip_auth_new ("Kerberos");
  g_autofree char *target = g_strdup_printf ("HTTP/%s", job->host);

  if (krb == NULL)
    {
      g_hash_table_add (self->no_kerberos, g_strdup (job->host));
      start_ntlm (task);
      return;
    }
  sfb_sip_auth_add_param (challenge, "targetname", target, TRUE);
  sfb_auth_context_prepare_async (SFB_AUTH_CONTEXT (krb),
                                  challenge,
                                  g_task_get_cancellable (task),
                                  on_kerberos_prepared,
                                  g_object_ref (task));
}

/* The next leg of the handshake after a 401, or @task returns the error. */
static void
answer_challenge (GTask *task)
{
  SfbExchangeHttp *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr (GBytes) challenge = NULL;
  g_autoptr (GBytes) token = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *b64 = NULL;
  g_autofree char *header = NULL;

  if (job->kerberos)
    {
      /* the ticket was refused: NTLM from the start */
      g_info ("Exchange: %s refused the Kerberos ticket: NTLM instead", job->host);
      g_hash_table_add (self->no_kerberos, g_strdup (job->host));
      job->kerberos = FALSE;
      job->legs = 0;
    }
  if (job->legs == 0)
    {
      if (self->new_kerberos != NULL && offers (job->message, "Negotiate")
          && !g_hash_table_contains (self->no_kerberos, job->host))
        start_kerberos (task);
      else
        start_ntlm (task);
      return;
    }
  if (job->legs == 1 && self->ntlm != NULL
      && offered_scheme (job->message, job->scheme, &challenge) != NULL && challenge != NULL)
    token = sfb_auth_context_step (self->ntlm, challenge, &error);
  if (token == NULL)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_AUTH_FAILED,
                               "%s refused the password (HTTP 401 after %s)%s",
                               job->shown,
                               job->scheme,
                               self->ntlm == NULL ? ": no password is known" : "");
      return;
    }
  b64 = g_base64_encode (g_bytes_get_data (token, NULL), g_bytes_get_size (token));
  header = g_strdup_printf ("%s %s", job->scheme, b64);
  job->legs = 2;
  send_leg (g_object_ref (task), header);
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = sfb_stream_read_bounded_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
    g_task_return_new_error (task,
                             SFB_ERROR,
                             SFB_ERROR_SERVER_REJECTED,
                             "%s: the answer is larger than %d bytes",
                             job->shown,
                             SFB_EXCHANGE_HTTP_MAX_BODY);
  else if (body == NULL)
    g_task_return_new_error (task,
                             SFB_ERROR,
                             SFB_ERROR_NOT_REACHABLE,
                             "%s: reading the answer failed: %s",
                             job->shown,
                             error->message);
  else if (soup_message_get_status (job->message) == SOUP_STATUS_UNAUTHORIZED
           && (job->legs < 2 || job->kerberos))
    answer_challenge (task);
  else if (soup_message_get_status (job->message) == SOUP_STATUS_UNAUTHORIZED)
    g_task_return_new_error (task,
                             SFB_ERROR,
                             SFB_ERROR_AUTH_FAILED,
                             "%s refused the password (HTTP 401 after the %s handshake)",
                             job->shown,
                             job->scheme);
  else
    g_task_return_pointer (
        task, make_answer (job->message, body), (GDestroyNotify) sfb_exchange_http_answer_free);
}

static void
send_leg (GTask *task, const char *authorization)
{
  SfbExchangeHttp *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr (GBytes) bytes = g_bytes_new (job->body, strlen (job->body));

  g_clear_object (&job->message);
  job->message = soup_message_new (SOUP_METHOD_POST, job->url);
  /* IDEMPOTENT: libsoup would open a new connection for a POST, and the
   * NTLM legs must share one */
  soup_message_add_flags (job->message, SOUP_MESSAGE_NO_REDIRECT | SOUP_MESSAGE_IDEMPOTENT);
  soup_message_headers_replace (
      soup_message_get_request_headers (job->message), "Accept", "text/xml");
  if (authorization != NULL)
    soup_message_headers_replace (
        soup_message_get_request_headers (job->message), "Authorization", authorization);
  soup_message_set_request_body_from_bytes (job->message, "text/xml; charset=utf-8", bytes);
  self->requests++;
  g_debug ("Exchange: POST %s (%s)", job->shown, job->legs == 0 ? "anonymous" : job->scheme);
  soup_session_send_async (self->session,
                           job->message,
                           G_PRIORITY_DEFAULT,
                           g_task_get_cancellable (task),
                           sent_cb,
                           task);
}

void
sfb_exchange_http_post_async (SfbExchangeHttp *self,
                              const char *url,
                              const char *body,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  Job *job;
  g_autofree char *b64 = NULL;
  g_autofree char *header = NULL;

  g_task_set_source_tag (task, sfb_exchange_http_post_async);
  job = g_new0 (Job, 1);
  job->url = g_strdup (url);
  job->shown = sfb_text_quote_untrusted (url, -1, MAX_SHOWN_URL);
  job->body = g_strdup (body);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  if (uri == NULL || g_uri_get_host (uri) == NULL
      || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_SERVER_REJECTED,
                               "refusing the non-HTTPS or malformed URL %s",
                               job->shown);
      return;
    }
  job->host = g_ascii_strdown (g_uri_get_host (uri), -1);
  job->scheme = g_hash_table_lookup (self->schemes, job->host);
  if (job->scheme != NULL)
    {
      /* it asked before: save the anonymous round trip */
      b64 = negotiate_token ();
      header = g_strdup_printf ("%s %s", job->scheme, b64);
      job->legs = 1;
    }
  send_leg (g_steal_pointer (&task), header);
}

SfbExchangeHttpAnswer *
sfb_exchange_http_post_finish (SfbExchangeHttp *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

guint
sfb_exchange_http_get_request_count (SfbExchangeHttp *self)
{
  return self->requests;
}

static void
sfb_exchange_http_finalize (GObject *object)
{
  SfbExchangeHttp *self = SFB_EXCHANGE_HTTP (object);

  g_clear_object (&self->session);
  g_clear_object (&self->ntlm);
  g_clear_pointer (&self->schemes, g_hash_table_unref);
  g_clear_pointer (&self->no_kerberos, g_hash_table_unref);
  G_OBJECT_CLASS (sfb_exchange_http_parent_class)->finalize (object);
}

static void
sfb_exchange_http_class_init (SfbExchangeHttpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sfb_exchange_http_finalize;
}

static void
sfb_exchange_http_init (SfbExchangeHttp *self)
{
  self->schemes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->no_kerberos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

void
sfb_exchange_http_set_kerberos (SfbExchangeHttp *self,
                                SfbExchangeHttpKerberosFunc new_kerberos,
                                gpointer user_data)
{
  self->new_kerberos = new_kerberos;
  self->kerberos_data = user_data;
}

SfbExchangeHttp *
sfb_exchange_http_new (GTlsDatabase *database, GObject *ntlm)
{
  SfbExchangeHttp *self = g_object_new (SFB_TYPE_EXCHANGE_HTTP, NULL);

  g_return_val_if_fail (ntlm == NULL || SFB_IS_AUTH_CONTEXT (ntlm), self);
  /* one connection per host: connection-oriented NTLM needs its legs on
   * the same connection */
  self->session = soup_session_new_with_options (
      "max-conns-per-host", 1, "timeout", 30, "user-agent", "sfbd", NULL);
  if (database != NULL)
    soup_session_set_tls_database (self->session, database);
  /* we answer 401s ourselves */
  soup_session_remove_feature_by_type (self->session, SOUP_TYPE_AUTH_MANAGER);
  if (ntlm != NULL)
    self->ntlm = SFB_AUTH_CONTEXT (g_object_ref (ntlm));
  return self;
}
