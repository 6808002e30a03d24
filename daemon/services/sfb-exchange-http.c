/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-exchange"

#include "config.h"

#include "sfb-exchange-http.h"

#include "sfb-auth-context.h"
#include "sfb-error.h"
#include "sfb-http-ntlm.h"
#include "sfb-sip-auth-header.h"
#include "sfb-text.h"

#include <libsoup/soup.h>
#include <string.h>

#define MAX_SHOWN_URL 200

struct _SfbExchangeHttp
{
  GObject parent_instance;
  /* NULL until a request needs it (sfb_exchange_http_close_connections()) */
  SoupSession *session;
  GTlsDatabase *database;  /* nullable: the system's */
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
  GUri *uri;
  char *shown; /* the URL for error text */
  char *host;
  char *body;
  SoupSession *session; /* the one it began on: the NTLM legs share a connection */
  const char *scheme;   /* static: "NTLM" or "Negotiate" once chosen */
  guint legs;           /* 0: none sent, 1: NEGOTIATE sent, 2: AUTHENTICATE sent */
  gboolean kerberos;    /* the last leg carried a Kerberos token */
  SoupMessage *message;
} Job;

static SoupSession *
ensure_session (SfbExchangeHttp *self)
{
  if (self->session == NULL)
    self->session = sfb_http_ntlm_session_new (self->database);
  return self->session;
}

static void
job_free (Job *job)
{
  g_clear_pointer (&job->uri, g_uri_unref);
  g_free (job->shown);
  g_free (job->host);
  g_free (job->body);
  g_clear_object (&job->message);
  g_clear_object (&job->session);
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

/* Which of NTLM / Negotiate the 401 offers (NTLM preferred), or NULL. */
static const char *
offered_scheme (SoupMessage *message)
{
  if (offers (message, "NTLM"))
    return "NTLM";
  if (offers (message, "Negotiate"))
    return "Negotiate";
  return NULL;
}

/* Sends the request with @authorization (nullable); takes @task. */
static void send_leg (GTask *task, const char *authorization);
static void sent_cb (GObject *source, GAsyncResult *result, gpointer user_data);

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
  g_autofree char *header = NULL;

  job->scheme = offered_scheme (job->message);
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
  header = sfb_http_ntlm_negotiate (job->scheme);
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
  header = sfb_http_ntlm_authorization ("Negotiate", token);
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
      && (challenge = sfb_http_ntlm_challenge (job->message, job->scheme)) != NULL)
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
  header = sfb_http_ntlm_authorization (job->scheme, token);
  job->legs = 2;
  send_leg (g_object_ref (task), header);
}

static void
sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GBytes) body = sfb_http_ntlm_send_finish (result, &error);

  if (body == NULL && sfb_http_ntlm_send_found_no_server (result))
    {
      g_task_return_new_error (task, SFB_ERROR, SFB_ERROR_NOT_FOUND, "%s", error->message);
      g_error_free (error);
    }
  else if (body == NULL)
    g_task_return_error (task, error);
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

  g_clear_object (&job->message);
  job->message = sfb_http_ntlm_message_new (SOUP_METHOD_POST, job->uri, authorization, job->body);
  soup_message_headers_replace (
      soup_message_get_request_headers (job->message), "Accept", "text/xml");
  self->requests++;
  g_debug ("Exchange: POST %s (%s)", job->shown, job->legs == 0 ? "anonymous" : job->scheme);
  sfb_http_ntlm_send_async (job->session,
                            job->message,
                            SFB_EXCHANGE_HTTP_MAX_BODY,
                            job->shown,
                            job->host,
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
  GError *error = NULL;
  Job *job;
  g_autofree char *header = NULL;

  g_task_set_source_tag (task, sfb_exchange_http_post_async);
  job = g_new0 (Job, 1);
  job->uri = sfb_http_ntlm_parse_url (url, &error);
  job->shown = sfb_text_quote_untrusted (url, -1, MAX_SHOWN_URL);
  job->body = g_strdup (body);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  if (job->uri == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->host = g_ascii_strdown (g_uri_get_host (job->uri), -1);
  job->session = g_object_ref (ensure_session (self));
  job->scheme = g_hash_table_lookup (self->schemes, job->host);
  if (job->scheme != NULL)
    {
      /* it asked before: save the anonymous round trip */
      header = sfb_http_ntlm_negotiate (job->scheme);
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

void
sfb_exchange_http_close_connections (SfbExchangeHttp *self)
{
  g_return_if_fail (SFB_IS_EXCHANGE_HTTP (self));

  /* libsoup would keep the idle connections (their TLS state and buffers)
   * for 60 s and then wake up to close them; the next poll is 3 min away
   * and would connect afresh anyway.  A request still out holds the
   * session: its connection closes as soon as it ends. */
  g_clear_object (&self->session);
}

static void
sfb_exchange_http_finalize (GObject *object)
{
  SfbExchangeHttp *self = SFB_EXCHANGE_HTTP (object);

  g_clear_object (&self->session);
  g_clear_object (&self->database);
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
  if (database != NULL)
    self->database = g_object_ref (database);
  if (ntlm != NULL)
    self->ntlm = SFB_AUTH_CONTEXT (g_object_ref (ntlm));
  return self;
}
