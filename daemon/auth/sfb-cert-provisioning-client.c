/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-auth"

#include "sfb-cert-provisioning-client.h"

#include "sfb-error.h"
#include "sfb-http-ntlm.h"
#include "sfb-ntlm-context.h"
#include "sfb-ntlm.h"
#include "sfb-text.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <libsoup/soup.h>

#define ENTROPY_BYTES 32
#define TICKET_MIN_VALIDITY_US (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)
#define MAX_DIAGNOSTICS 300
#define SOAP_ACTION_RST "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue\""
#define SOAP_ACTION_CERT "\"http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert\""

typedef struct
{
  SfbWebTicket *ticket;
  GBytes *proof_key; /* nullable */
} CachedTicket;

struct _SfbCertProvisioner
{
  GObject parent_instance;
  GTlsDatabase *database; /* nullable */
  /* NULL until a request needs it (sfb_cert_provisioner_close_connections());
   * each job keeps the session it began on: the NTLM legs share a connection */
  SoupSession *session;
  SfbAuthContext *ntlm;
  char *user_at_domain;
  GHashTable *tickets; /* AppliesTo -> CachedTicket */
  guint requests;
};

G_DEFINE_FINAL_TYPE (SfbCertProvisioner, sfb_cert_provisioner, G_TYPE_OBJECT)

static void
cached_ticket_free (CachedTicket *cached)
{
  if (cached == NULL)
    return;
  g_clear_pointer (&cached->ticket, sfb_web_ticket_free);
  g_clear_pointer (&cached->proof_key, g_bytes_unref);
  g_free (cached);
}

/* ---- one HTTP request, body read with a limit ---------------------- */

typedef struct
{
  SoupMessage *message;
  GBytes *body; /* once read */
} Http;

static void
http_free (Http *http)
{
  g_clear_object (&http->message);
  g_clear_pointer (&http->body, g_bytes_unref);
  g_free (http);
}

static void
http_sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Http *http = g_task_get_task_data (task);
  GError *error = NULL;

  http->body = sfb_http_ntlm_send_finish (result, &error);
  if (http->body == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static SoupSession *
ensure_session (SfbCertProvisioner *self)
{
  if (self->session == NULL)
    self->session = sfb_http_ntlm_session_new (self->database);
  return self->session;
}

/* Only https: the ticket and the password's proof travel here. */
static void
http_request_async (SfbCertProvisioner *self,
                    SoupSession *session,
                    const char *method,
                    const char *url,
                    const char *soap_action,
                    const char *authorization,
                    const char *body,
                    GCancellable *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  g_autoptr (GUri) uri = sfb_http_ntlm_parse_url (url, &error);
  Http *http;

  g_task_set_source_tag (task, http_request_async);
  if (uri == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  http = g_new0 (Http, 1);
  http->message = sfb_http_ntlm_message_new (method, uri, authorization, body);
  g_task_set_task_data (task, http, (GDestroyNotify) http_free);
  if (soap_action != NULL)
    soup_message_headers_replace (
        soup_message_get_request_headers (http->message), "SOAPAction", soap_action);
  self->requests++;
  g_debug ("Certificate provisioning: %s https://%s%s",
           method,
           g_uri_get_host (uri),
           g_uri_get_path (uri));
  /* errors name the request by its host, not the whole URL */
  sfb_http_ntlm_send_async (session,
                            http->message,
                            SFB_CERT_PROV_MAX_DOCUMENT,
                            g_uri_get_host (uri),
                            NULL,
                            cancellable,
                            http_sent_cb,
                            g_steal_pointer (&task));
}

/* The answer's body (NUL-terminated), its status and message; NULL on a
 * transport error. */
static GBytes *
http_request_finish (GAsyncResult *result, SoupMessage **message, GError **error)
{
  GTask *task = G_TASK (result);
  Http *http = g_task_get_task_data (task);

  if (!g_task_propagate_boolean (task, error))
    return NULL;
  *message = g_object_ref (http->message);
  return g_bytes_ref (http->body);
}

/* "28099; reason=..." from X-Ms-diagnostics, printable and short */
static char *
diagnostics_of (SoupMessage *message)
{
  const char *value = soup_message_headers_get_one (soup_message_get_response_headers (message),
                                                    "X-Ms-diagnostics");
  g_autofree char *shown = NULL;

  if (value == NULL)
    return g_strdup ("");
  shown = sfb_text_quote_untrusted (value, -1, MAX_DIAGNOSTICS);
  return g_strdup_printf (" (%s)", shown);
}

/* An HTTP failure status as an error: 503 is a service that is down. */
static GError *
status_error (SoupMessage *message, const char *what, const GError *fault)
{
  guint status = soup_message_get_status (message);
  g_autofree char *diagnostics = diagnostics_of (message);
  /* the reason phrase is the server's text */
  g_autofree char *reason
      = sfb_text_quote_untrusted (soup_message_get_reason_phrase (message), -1, SFB_TEXT_QUOTE_MAX);
  GUri *uri = soup_message_get_uri (message);

  return g_error_new (SFB_ERROR,
                      status == SOUP_STATUS_SERVICE_UNAVAILABLE ? SFB_ERROR_NOT_REACHABLE
                                                                : SFB_ERROR_SERVER_REJECTED,
                      "%s at %s failed: HTTP %u %s%s%s%s",
                      what,
                      g_uri_get_host (uri),
                      status,
                      reason,
                      fault != NULL ? ": " : "",
                      fault != NULL ? fault->message : "",
                      diagnostics);
}

/* The answer's body, or NULL once @task is answered with the transport
 * error; @message: the request, for its status and headers. */
static GBytes *
answer_or_return (GTask *task, GAsyncResult *result, SoupMessage **message)
{
  GError *error = NULL;
  GBytes *body = http_request_finish (result, message, &error);

  if (body == NULL)
    g_task_return_error (task, error);
  return body;
}

/* The body of a 200 OK answer, or NULL once @task is answered: with the
 * transport error, or the failure status of the request for @what. */
static GBytes *
ok_answer_or_return (GTask *task, GAsyncResult *result, const char *what, SoupMessage **message)
{
  g_autoptr (GBytes) body = answer_or_return (task, result, message);

  if (body != NULL && soup_message_get_status (*message) != SOUP_STATUS_OK)
    {
      g_task_return_error (task, status_error (*message, what, NULL));
      return NULL;
    }
  return g_steal_pointer (&body);
}

/* The document @what from the host that answered @message is unusable. */
static void
return_document_error (GTask *task, SoupMessage *message, const char *what, const GError *error)
{
  g_task_return_new_error (task,
                           SFB_ERROR,
                           SFB_ERROR_SERVER_REJECTED,
                           "%s at %s: %s",
                           what,
                           g_uri_get_host (soup_message_get_uri (message)),
                           error->message);
}

/* The metadata exchange document of the service at @service_uri */
static void
mex_request_async (SfbCertProvisioner *self,
                   SoupSession *session,
                   const char *service_uri,
                   GCancellable *cancellable,
                   GAsyncReadyCallback callback,
                   gpointer user_data)
{
  g_autofree char *mex = g_strdup_printf ("%s/mex", service_uri);

  http_request_async (
      self, session, SOUP_METHOD_GET, mex, NULL, NULL, NULL, cancellable, callback, user_data);
}

/* ---- web tickets ----------------------------------------------------- */

typedef struct
{
  SoupSession *session;
  char *service_uri;
  char *applies_to;
  char *endpoint; /* the WinNegotiate port */
  char *rst;
  GBytes *entropy;
  guint legs;
} TicketJob;

static void
ticket_job_free (TicketJob *job)
{
  g_clear_object (&job->session);
  g_free (job->service_uri);
  g_free (job->applies_to);
  g_free (job->endpoint);
  g_free (job->rst);
  g_clear_pointer (&job->entropy, g_bytes_unref);
  g_free (job);
}

static void ticket_post (GTask *task, const char *authorization);

/* The NTLM AUTHENTICATE answering a 401, as an Authorization header;
 * NULL once @task has returned the error */
static char *
ticket_authorization (GTask *task, SoupMessage *message)
{
  SfbCertProvisioner *self = g_task_get_source_object (task);
  TicketJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) challenge = job->legs == 1 ? sfb_http_ntlm_challenge (message, NULL) : NULL;
  g_autoptr (GBytes) token = NULL;

  if (challenge == NULL)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_AUTH_FAILED,
                               "The web ticket service at %s refused the password of %s",
                               g_uri_get_host (soup_message_get_uri (message)),
                               self->user_at_domain);
      return NULL;
    }
  token = sfb_auth_context_step (self->ntlm, challenge, &error);
  if (token == NULL)
    {
      g_task_return_new_error (
          task, SFB_ERROR, SFB_ERROR_SERVER_REJECTED, "Web ticket NTLM: %s", error->message);
      return NULL;
    }
  return sfb_http_ntlm_authorization ("NTLM", token);
}

/* Keep @ticket (and its proof key) for job->applies_to */
static CachedTicket *
cache_ticket (SfbCertProvisioner *self, TicketJob *job, SfbWebTicket *ticket)
{
  CachedTicket *cached;

  cached = g_new0 (CachedTicket, 1);
  if (ticket->server_entropy != NULL)
    {
      gsize len = g_bytes_get_size (job->entropy);
      guint8 *proof = g_malloc (len);

      sfb_cert_prov_psha1 (g_bytes_get_data (job->entropy, NULL),
                           len,
                           g_bytes_get_data (ticket->server_entropy, NULL),
                           g_bytes_get_size (ticket->server_entropy),
                           proof,
                           len);
      cached->proof_key = sfb_ntlm_secret_bytes_new (proof, len);
      sfb_ntlm_wipe (proof, len);
      g_free (proof);
    }
  cached->ticket = ticket;
  g_debug ("Web ticket for %s, valid until %s", job->applies_to, cached->ticket->expires);
  g_hash_table_replace (self->tickets, g_strdup (job->applies_to), cached);
  return cached;
}

static void
ticket_posted_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbCertProvisioner *self = SFB_CERT_PROVISIONER (source);
  TicketJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) body = answer_or_return (task, result, &message);
  g_autoptr (SfbWebTicket) ticket = NULL;
  guint status;

  if (body == NULL)
    return;
  status = soup_message_get_status (message);
  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      g_autofree char *header = ticket_authorization (task, message);

      if (header != NULL)
        ticket_post (g_steal_pointer (&task), header);
      return;
    }
  if (status != SOUP_STATUS_OK)
    {
      g_autoptr (GError) fault = NULL;
      /* only for the fault's text */
      g_autoptr (SfbWebTicket) none G_GNUC_UNUSED = sfb_cert_prov_parse_rstr (
          g_bytes_get_data (body, NULL), g_bytes_get_size (body), &fault);

      g_task_return_error (task, status_error (message, "The web ticket request", fault));
      return;
    }
  ticket
      = sfb_cert_prov_parse_rstr (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  if (ticket == NULL)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_SERVER_REJECTED,
                               "The web ticket from %s: %s",
                               g_uri_get_host (soup_message_get_uri (message)),
                               error->message);
      return;
    }
  g_task_return_pointer (task, cache_ticket (self, job, g_steal_pointer (&ticket)), NULL);
}

static void
ticket_post (GTask *task, const char *authorization)
{
  SfbCertProvisioner *self = g_task_get_source_object (task);
  TicketJob *job = g_task_get_task_data (task);

  job->legs++;
  http_request_async (self,
                      job->session,
                      SOUP_METHOD_POST,
                      job->endpoint,
                      SOAP_ACTION_RST,
                      authorization,
                      job->rst,
                      g_task_get_cancellable (task),
                      ticket_posted_cb,
                      task);
}

static void
ticket_mex_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbCertProvisioner *self = SFB_CERT_PROVISIONER (source);
  TicketJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) body
      = ok_answer_or_return (task, result, "The web ticket service metadata", &message);
  g_autofree char *context_id = NULL;
  g_autofree char *sip_uri = NULL;
  g_autofree char *negotiate = NULL;
  guint8 entropy[ENTROPY_BYTES];

  if (body == NULL)
    return;
  job->endpoint = sfb_cert_prov_parse_webticket_mex (
      g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  if (job->endpoint == NULL)
    {
      return_document_error (task, message, "The web ticket service metadata", error);
      return;
    }
  if (gnutls_rnd (GNUTLS_RND_KEY, entropy, sizeof entropy) != 0)
    g_error ("gnutls_rnd failed");
  job->entropy = g_bytes_new (entropy, sizeof entropy);
  sfb_ntlm_wipe (entropy, sizeof entropy);
  context_id = g_uuid_string_random ();
  sip_uri = g_strdup_printf ("sip:%s", self->user_at_domain);
  job->rst = sfb_cert_prov_build_rst (job->applies_to, sip_uri, job->entropy, context_id);
  negotiate = sfb_http_ntlm_negotiate ("NTLM");
  ticket_post (g_steal_pointer (&task), negotiate);
}

/* Internal: finish returns the (cache-owned) CachedTicket; @session: the
 * caller's job's, NULL: the provisioner's */
static void
ticket_async (SfbCertProvisioner *self,
              SoupSession *session,
              const char *service_uri,
              const char *applies_to,
              GCancellable *cancellable,
              GAsyncReadyCallback callback,
              gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  CachedTicket *cached = g_hash_table_lookup (self->tickets, applies_to);
  TicketJob *job;

  g_task_set_source_tag (task, ticket_async);
  if (cached != NULL && cached->ticket->expires_at - g_get_real_time () > TICKET_MIN_VALIDITY_US)
    {
      g_debug ("Reusing the web ticket for %s", applies_to);
      g_task_return_pointer (task, cached, NULL);
      return;
    }
  g_hash_table_remove (self->tickets, applies_to);
  job = g_new0 (TicketJob, 1);
  job->session = g_object_ref (session != NULL ? session : ensure_session (self));
  job->service_uri = g_strdup (service_uri);
  job->applies_to = g_strdup (applies_to);
  g_task_set_task_data (task, job, (GDestroyNotify) ticket_job_free);
  mex_request_async (
      self, job->session, service_uri, cancellable, ticket_mex_cb, g_steal_pointer (&task));
}

static CachedTicket *
ticket_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
web_ticket_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  CachedTicket *cached = ticket_finish (result, &error);

  if (cached == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_strdup (cached->ticket->assertion), g_free);
}

void
sfb_cert_provisioner_get_web_ticket_async (SfbCertProvisioner *self,
                                           const char *service_uri,
                                           const char *applies_to,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer user_data)
{
  GTask *task;

  g_return_if_fail (SFB_IS_CERT_PROVISIONER (self));
  g_return_if_fail (service_uri != NULL && applies_to != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_cert_provisioner_get_web_ticket_async);
  ticket_async (self, NULL, service_uri, applies_to, cancellable, web_ticket_cb, task);
}

char *
sfb_cert_provisioner_get_web_ticket_finish (SfbCertProvisioner *self,
                                            GAsyncResult *result,
                                            GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- provisioning ---------------------------------------------------- */

typedef struct
{
  SoupSession *session;
  char *sts_uri;
  char *state_dir;
  char *device_id;
  SfbCertProvMetadata *meta;
  GBytes *key_pem;
  GBytes *csr_der;
} ProvisionJob;

static void
provision_job_free (ProvisionJob *job)
{
  g_clear_object (&job->session);
  g_free (job->sts_uri);
  g_free (job->state_dir);
  g_free (job->device_id);
  g_clear_pointer (&job->meta, sfb_cert_prov_metadata_free);
  g_clear_pointer (&job->key_pem, g_bytes_unref);
  g_clear_pointer (&job->csr_der, g_bytes_unref);
  g_free (job);
}

static void
cert_posted_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbCertProvisioner *self = SFB_CERT_PROVISIONER (source);
  ProvisionJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) body = answer_or_return (task, result, &message);
  g_autoptr (GBytes) der = NULL;
  SfbUserCertificate *cert;

  if (body == NULL)
    return;
  der = sfb_cert_prov_parse_certificate (
      g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  if (soup_message_get_status (message) != SOUP_STATUS_OK || der == NULL)
    {
      /* a refused ticket must not be offered again */
      g_hash_table_remove (self->tickets, job->meta->auth_uri);
      if (soup_message_get_status (message) != SOUP_STATUS_OK)
        g_task_return_error (task, status_error (message, "GetAndPublishCert", error));
      else
        return_document_error (task, message, "GetAndPublishCert", error);
      return;
    }
  cert
      = sfb_user_certificate_save (job->state_dir, self->user_at_domain, der, job->key_pem, &error);
  if (cert == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, cert, (GDestroyNotify) sfb_user_certificate_free);
}

static void
make_request_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SfbCertProvisioner *self = source;
  ProvisionJob *job = data;
  GError *error = NULL;

  if (!sfb_cert_prov_make_request (self->user_at_domain, &job->key_pem, &job->csr_der, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
request_made_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbCertProvisioner *self = SFB_CERT_PROVISIONER (source);
  ProvisionJob *job = g_task_get_task_data (task);
  GError *error = NULL;
  g_autofree char *security = NULL;
  g_autofree char *envelope = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *request_id = NULL;
  GCancellable *cancellable;
  CachedTicket *cached;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  cached = g_hash_table_lookup (self->tickets, job->meta->auth_uri);
  if (cached == NULL || cached->proof_key == NULL)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_SERVER_REJECTED,
                               "The web ticket for %s has no proof key",
                               job->meta->auth_uri);
      return;
    }
  security = sfb_cert_prov_build_security (cached->ticket,
                                           g_bytes_get_data (cached->proof_key, NULL),
                                           g_bytes_get_size (cached->proof_key),
                                           &error);
  if (security == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  message_id = g_uuid_string_random ();
  request_id = g_uuid_string_random ();
  envelope = sfb_cert_prov_build_get_and_publish_cert (job->meta->auth_uri,
                                                       security,
                                                       job->device_id,
                                                       self->user_at_domain,
                                                       job->csr_der,
                                                       message_id,
                                                       request_id);
  cancellable = g_task_get_cancellable (task); /* before the task is stolen */
  http_request_async (self,
                      job->session,
                      SOUP_METHOD_POST,
                      job->meta->auth_uri,
                      SOAP_ACTION_CERT,
                      NULL,
                      envelope,
                      cancellable,
                      cert_posted_cb,
                      g_steal_pointer (&task));
}

static void
provision_ticket_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbCertProvisioner *self = SFB_CERT_PROVISIONER (source);
  ProvisionJob *job = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GTask) thread = NULL;

  if (ticket_finish (result, &error) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* RSA-2048 key generation takes a while: not on the main loop */
  thread = g_task_new (self, g_task_get_cancellable (task), request_made_cb, g_object_ref (task));
  g_task_set_task_data (thread, job, NULL);
  g_task_run_in_thread (thread, make_request_thread);
}

static void
provision_mex_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbCertProvisioner *self = SFB_CERT_PROVISIONER (source);
  ProvisionJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) body
      = ok_answer_or_return (task, result, "The certificate provisioning metadata", &message);
  GCancellable *cancellable;

  if (body == NULL)
    return;
  job->meta
      = sfb_cert_prov_parse_mex (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  if (job->meta == NULL)
    {
      return_document_error (task, message, "The certificate provisioning metadata", error);
      return;
    }
  cancellable = g_task_get_cancellable (task); /* before the task is stolen */
  ticket_async (self,
                job->session,
                job->meta->issuer,
                job->meta->auth_uri,
                cancellable,
                provision_ticket_cb,
                g_steal_pointer (&task));
}

void
sfb_cert_provisioner_provision_async (SfbCertProvisioner *self,
                                      const char *sts_uri,
                                      const char *state_dir,
                                      const char *device_id,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  ProvisionJob *job;

  g_return_if_fail (SFB_IS_CERT_PROVISIONER (self));
  g_return_if_fail (sts_uri != NULL && state_dir != NULL && device_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_cert_provisioner_provision_async);
  job = g_new0 (ProvisionJob, 1);
  job->session = g_object_ref (ensure_session (self));
  job->sts_uri = g_strdup (sts_uri);
  job->state_dir = g_strdup (state_dir);
  job->device_id = g_strdup (device_id);
  g_task_set_task_data (task, job, (GDestroyNotify) provision_job_free);
  mex_request_async (
      self, job->session, sts_uri, cancellable, provision_mex_cb, g_steal_pointer (&task));
}

SfbUserCertificate *
sfb_cert_provisioner_provision_finish (SfbCertProvisioner *self,
                                       GAsyncResult *result,
                                       GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
sfb_cert_provisioner_close_connections (SfbCertProvisioner *self)
{
  g_return_if_fail (SFB_IS_CERT_PROVISIONER (self));

  /* rather than libsoup's idle timeout, 60 s later (see the header) */
  g_clear_object (&self->session);
}

guint
sfb_cert_provisioner_get_request_count (SfbCertProvisioner *self)
{
  g_return_val_if_fail (SFB_IS_CERT_PROVISIONER (self), 0);
  return self->requests;
}

/* ---- object ---------------------------------------------------------- */

static void
sfb_cert_provisioner_finalize (GObject *object)
{
  SfbCertProvisioner *self = SFB_CERT_PROVISIONER (object);

  g_clear_object (&self->session);
  g_clear_object (&self->database);
  g_clear_object (&self->ntlm);
  g_free (self->user_at_domain);
  g_clear_pointer (&self->tickets, g_hash_table_unref);
  G_OBJECT_CLASS (sfb_cert_provisioner_parent_class)->finalize (object);
}

static void
sfb_cert_provisioner_class_init (SfbCertProvisionerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sfb_cert_provisioner_finalize;
}

static void
sfb_cert_provisioner_init (SfbCertProvisioner *self)
{
  self->tickets = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, (GDestroyNotify) cached_ticket_free);
}

SfbCertProvisioner *
sfb_cert_provisioner_new (GTlsDatabase *database,
                          const char *login,
                          const char *password,
                          const char *user_at_domain)
{
  SfbCertProvisioner *self;

  g_return_val_if_fail (login != NULL && password != NULL && user_at_domain != NULL, NULL);

  self = g_object_new (SFB_TYPE_CERT_PROVISIONER, NULL);
  self->database = database != NULL ? g_object_ref (database) : NULL;
  self->ntlm = sfb_ntlm_context_new (login, password, NULL);
  self->user_at_domain = g_strdup (user_at_domain);
  return self;
}
