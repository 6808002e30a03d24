/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The registration once signed in (docs/protocol.md §10, §12): refreshing
 * it before it expires, a new security association before the old one
 * does, service requests that wait for a new SA after a 401, the server's
 * requests (its registration-notify ends the registration), and signing
 * out: unsubscribe first, then REGISTER Expires: 0.
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-session-private.h"

#include "sfb-error.h"
#include "sfb-failure.h"
#include "sfb-log.h"
#include "sfb-registration.h"

#include <sfbd/sfb-names.h>

#include <string.h>

/* a 200 to REGISTER that says nowhere how long it holds (RFC 3261 wants
 * one): refresh as if it held this long, short enough for any server */
#define DEFAULT_EXPIRES_S 120

static void resend_reauth_queue (SfbSession *self);
static void sign_out_request_done (SfbSession *self, guint serial);
static void on_reregister (gpointer user_data);
static void on_reauthenticate (gpointer user_data);
static void on_service_response (GObject *source, GAsyncResult *result, gpointer user_data);
static gboolean
resend_after_reauthentication (SfbSession *self, GTask *task, SfbSipMessage *response);
static void start_reauthentication (SfbSession *self);
static void send_deregister (SfbSession *self);
static gboolean on_sign_out_timeout (gpointer user_data);

/* ---- refresh and SA renewal ------------------------------------------ */

static guint
keepalive_timeout (SfbSipMessage *response)
{
  return sfb_registration_keepalive_timeout (response);
}

/* Our GRUU: the Contact whose +sip.instance is ours (docs/protocol.md §17.7). */
static char *
find_gruu (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (SfbRegistration) registration = sfb_registration_parse (response, self->instance);

  return g_steal_pointer (&registration->gruu);
}

/* The registration time the server granted: our Contact's expires=, else
 * the Expires header, else a default short enough for any server. */
static guint64
granted_expires (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (SfbRegistration) registration = sfb_registration_parse (response, self->instance);

  if (registration->expires > 0)
    return registration->expires;
  g_info ("The server granted the registration without saying for how long: refreshing it "
          "after %u s",
          DEFAULT_EXPIRES_S);
  return DEFAULT_EXPIRES_S;
}

/* Expires, keep-alive and SA renewal from a 200 to REGISTER. */
void
sfb_session_schedule_refresh (SfbSession *self, SfbSipMessage *response)
{
  guint64 expires = granted_expires (self, response);
  guint keepalive = keepalive_timeout (response);
  guint refresh;
  gint64 sa_expires_at;

  refresh = expires > 60 ? (guint) expires - 30 : MAX ((guint) expires / 2, 1);
  sfb_deadline_set_seconds (&self->reregister, refresh, on_reregister, self);

  if (keepalive > 0)
    sfb_sip_connection_set_keepalive_interval (
        self->connection, keepalive > 60 ? keepalive - 30 : MAX (keepalive / 2, 1));

  sfb_deadline_clear (&self->reauth);
  sa_expires_at = sfb_auth_context_get_expires_at (sfb_sip_security_get_context (self->security));
  if (sa_expires_at > 0)
    {
      gint64 delay_ms = (sa_expires_at - g_get_real_time ()) / 1000;

      sfb_deadline_set_ms (
          &self->reauth, (guint) CLAMP (delay_ms, 1000, G_MAXINT32), on_reauthenticate, self);
    }
  g_debug ("Registered for %" G_GUINT64_FORMAT " s (refresh in %u s), keep-alive %u s",
           expires,
           refresh,
           keepalive);
}

static void
on_reregister (gpointer user_data)
{
  SfbSession *self = user_data;

  if (self->connection == NULL || !self->registered)
    return;
  g_debug ("Refreshing the registration");
  self->phase = PHASE_REFRESH;
  sfb_session_send_register (self, -1);
}

static void
on_reauthenticate (gpointer user_data)
{
  SfbSession *self = user_data;
  g_autoptr (GError) error = NULL;

  if (self->connection == NULL || !self->registered)
    return;
  g_info ("Security association about to expire: authenticating again");
  sfb_deadline_clear (&self->reregister);
  self->phase = PHASE_REAUTH;
  if (!sfb_session_new_security (self, &error))
    {
      sfb_session_fail (self, error);
      return;
    }
  sfb_session_send_register (self, -1);
}

void
sfb_session_refreshed (SfbSession *self, SfbSipMessage *response)
{
  g_autofree char *gruu = find_gruu (self, response);

  if (gruu != NULL)
    {
      g_free (self->gruu);
      self->gruu = g_steal_pointer (&gruu);
    }
  self->phase = PHASE_NONE;
  sfb_session_schedule_refresh (self, response);
  g_debug ("Registration refreshed");
  resend_reauth_queue (self);
}

/* ---- incoming requests ----------------------------------------------- */

static SfbSipMessage *
make_response (SfbSipMessage *request, guint code, const char *reason)
{
  g_autoptr (SfbSipMessage) response = sfb_sip_message_new_response (code, reason);
  g_auto (GStrv) vias = sfb_sip_message_get_header_values (request, "Via");
  const char *to = sfb_sip_message_get_header (request, "To");

  for (guint i = 0; vias != NULL && vias[i] != NULL; i++)
    sfb_sip_message_append_header (response, "Via", vias[i]);
  if (sfb_sip_message_get_header (request, "From") != NULL)
    sfb_sip_message_append_header (response, "From", sfb_sip_message_get_header (request, "From"));
  if (to != NULL)
    {
      g_autofree char *tagged = NULL;

      if (strstr (to, ";tag=") == NULL)
        {
          g_autofree char *tag = sfb_sip_connection_new_token (10);

          tagged = g_strdup_printf ("%s;tag=%s", to, tag);
        }
      sfb_sip_message_append_header (response, "To", tagged != NULL ? tagged : to);
    }
  if (sfb_sip_message_get_header (request, "Call-ID") != NULL)
    sfb_sip_message_append_header (
        response, "Call-ID", sfb_sip_message_get_header (request, "Call-ID"));
  if (sfb_sip_message_get_header (request, "CSeq") != NULL)
    sfb_sip_message_append_header (response, "CSeq", sfb_sip_message_get_header (request, "CSeq"));
  sfb_sip_message_append_header (response, "User-Agent", "sfbd/" PACKAGE_VERSION);
  return g_steal_pointer (&response);
}

static void
answer (SfbSession *self, SfbSipMessage *request, guint code, const char *reason)
{
  g_autoptr (SfbSipMessage) response = make_response (request, code, reason);
  g_autoptr (GError) error = NULL;

  if (!sfb_sip_connection_send_response (self->connection, response, &error))
    g_debug ("Could not answer %s: %s", sfb_sip_message_get_method (request), error->message);
}

/* What the server said, in words (sfb_failure_deregistration_reason()),
 * its text quoted bounded and without control or bidi characters. */
static GError *
signed_out_by_server_error (SfbSession *self, const char *event, const char *diagnostics)
{
  g_autofree char *why = sfb_failure_deregistration_reason (event, diagnostics);

  return g_error_new (SFB_ERROR,
                      SFB_ERROR_SERVER_REJECTED,
                      "The server signed %s out: %s. Sign in again with: sfbctl sign-in",
                      self->uri,
                      why);
}

/* registration-notify (docs/protocol.md §12.3) */
static void
deregistered (SfbSession *self, SfbSipMessage *request)
{
  g_autoptr (SfbDeregistration) dereg = sfb_deregistration_parse (request);
  /* server text: shown only bounded, without control or bidi characters */
  g_autofree char *event
      = dereg->event != NULL ? sfb_failure_quote (dereg->event, SFB_FAILURE_MAX_QUOTE) : NULL;
  g_autofree char *diagnostics = dereg->diagnostics != NULL
                                     ? sfb_failure_quote (dereg->diagnostics, SFB_FAILURE_MAX_QUOTE)
                                     : NULL;
  g_autoptr (GError) error = NULL;

  sfb_log (G_LOG_LEVEL_WARNING,
           SFB_LOG_TOPIC ("registration"),
           "MESSAGE",
           "The server ended the registration: event=%s%s%s",
           event != NULL ? event : "(none)",
           diagnostics != NULL ? " " : "",
           diagnostics != NULL ? diagnostics : "");

  if (dereg->kind == SFB_DEREGISTRATION_REJECTED)
    {
      error = g_error_new (SFB_ERROR,
                           SFB_ERROR_ACCOUNT_DISABLED,
                           "The server signed %s out because the account was disabled%s%s%s. "
                           "Ask your administrator.",
                           self->uri,
                           diagnostics != NULL ? " (" : "",
                           diagnostics != NULL ? diagnostics : "",
                           diagnostics != NULL ? ")" : "");
      sfb_session_fail (self, error);
      return;
    }
  if (dereg->kind == SFB_DEREGISTRATION_DEACTIVATED
      || dereg->kind == SFB_DEREGISTRATION_REGISTRAR_CHANGE)
    {
      if (dereg->registrar_host != NULL)
        {
          /* the registrar the server named becomes the home pool, tried
           * first, with discovery behind it */
          g_info ("The account moved (%s): registering at %s", event, dereg->registrar_host);
          sfb_session_save_home_pool (self, dereg->registrar_host, dereg->registrar_port, NULL);
          sfb_session_start_attempt (self, TRUE);
          return;
        }
      g_info ("The account moved (%s): discovering its server again", event);
      sfb_session_forget_home_pool (self);
      sfb_session_start_attempt (self, FALSE);
      return;
    }
  /* unregistered, or anything unknown: signed out, not retried */
  error = signed_out_by_server_error (self, event, diagnostics);
  sfb_log (G_LOG_LEVEL_WARNING,
           SFB_LOG_MESSAGE_ID (SFB_LOG_MSGID_SIGN_OUT),
           SFB_LOG_ERR (error),
           "SFB_ERROR_NAME",
           sfb_error_get_dbus_name (error),
           SFB_LOG_STATE (SFB_STATE_SIGNED_OUT),
           SFB_LOG_URI (self->uri),
           "SFB_SERVER",
           self->strings[STR_SERVER],
           SFB_LOG_TOPIC ("registration"),
           "MESSAGE",
           "Signed out by the server: %s",
           error->message);
  sfb_session_cancel_attempt (self);
  sfb_session_clear_connection_properties (self);
  sfb_session_set_last_error (self, error);
  sfb_session_set_state (self, SFB_STATE_SIGNED_OUT);
}

void
sfb_session_on_request (SfbSipConnection *connection, SfbSipMessage *request, gpointer user_data)
{
  SfbSession *self = user_data;
  g_autoptr (SfbSession) keep G_GNUC_UNUSED = g_object_ref (self);
  const char *method = sfb_sip_message_get_method (request);
  const char *event = sfb_sip_message_get_header (request, "Event");
  gboolean notify = g_strcmp0 (method, "NOTIFY") == 0;
  gboolean benotify = g_strcmp0 (method, "BENOTIFY") == 0;

  if (connection != self->connection || g_strcmp0 (method, "ACK") == 0)
    return;
  if ((notify || benotify) && event != NULL
      && g_ascii_strncasecmp (event, "registration-notify", 19) == 0)
    {
      if (notify)
        answer (self, request, 200, "OK");
      deregistered (self, request);
      return;
    }
  if (self->registered && sfb_session_emit_request (self, request))
    return; /* a service (daemon/services) owns it */
  if (benotify)
    return; /* never answered (docs/protocol.md §13 item 8) */
  if (notify)
    answer (self, request, 200, "OK");
  else if (g_strcmp0 (method, "OPTIONS") == 0)
    {
      g_autoptr (SfbSipMessage) response = make_response (request, 200, "OK");
      g_autoptr (GError) error = NULL;

      sfb_sip_message_append_header (response, "Allow", SFB_SESSION_ALLOW);
      if (!sfb_sip_connection_send_response (self->connection, response, &error))
        g_debug ("Could not answer OPTIONS: %s", error->message);
    }
  else
    answer (self, request, 501, "Not Implemented");
}

gboolean
sfb_session_respond (SfbSession *self,
                     SfbSipMessage *request,
                     guint code,
                     const char *reason,
                     const char *content_type,
                     GBytes *body,
                     GError **error)
{
  g_autoptr (SfbSipMessage) response = NULL;

  g_return_val_if_fail (SFB_IS_SESSION (self), FALSE);
  g_return_val_if_fail (g_strcmp0 (sfb_sip_message_get_method (request), "BENOTIFY") != 0, FALSE);

  if (self->connection == NULL)
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_NOT_SIGNED_IN, "Not connected");
      return FALSE;
    }
  response = make_response (request, code, reason);
  if (body != NULL)
    sfb_sip_message_set_body (response, content_type, body);
  return sfb_sip_connection_send_response (self->connection, response, error);
}

SfbSipMessage *
sfb_session_new_response (SfbSession *self, SfbSipMessage *request, guint code, const char *reason)
{
  g_return_val_if_fail (SFB_IS_SESSION (self), NULL);
  return make_response (request, code, reason);
}

gboolean
sfb_session_send_response (SfbSession *self, SfbSipMessage *response, GError **error)
{
  g_return_val_if_fail (SFB_IS_SESSION (self), FALSE);

  if (self->connection == NULL)
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_NOT_SIGNED_IN, "Not connected");
      return FALSE;
    }
  return sfb_sip_connection_send_response (self->connection, response, error);
}

gboolean
sfb_session_send_ack (SfbSession *self, SfbSipMessage *ack, GError **error)
{
  g_return_val_if_fail (SFB_IS_SESSION (self), FALSE);

  if (self->connection == NULL || !self->registered)
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_NOT_SIGNED_IN, "Not signed in");
      return FALSE;
    }
  return sfb_sip_connection_send_ack (self->connection, ack, error);
}

const char *
sfb_session_get_uri (SfbSession *self)
{
  g_return_val_if_fail (SFB_IS_SESSION (self), NULL);
  return self->uri;
}

/* ---- requests for daemon/services ------------------------------------ */

static char *
own_contact (SfbSession *self)
{
  const char *ip;

  if (self->gruu != NULL)
    return g_strdup_printf ("<%s>", self->gruu);
  ip = sfb_sip_connection_get_local_ip (self->connection);
  return g_strdup_printf (
      "<sip:%s%s%s:%u;transport=tls;ms-opaque=%s>;+sip.instance=\"<urn:uuid:%s>\"",
      strchr (ip, ':') != NULL ? "[" : "",
      ip,
      strchr (ip, ':') != NULL ? "]" : "",
      sfb_sip_connection_get_local_port (self->connection),
      self->ms_opaque,
      self->instance);
}

SfbSipMessage *
sfb_session_new_request (SfbSession *self, const char *method, const char *request_uri)
{
  g_autoptr (SfbSipMessage) message = NULL;
  g_autofree char *tag = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *call_id = NULL;
  g_autofree char *cseq = NULL;
  g_autofree char *contact = NULL;

  g_return_val_if_fail (SFB_IS_SESSION (self), NULL);
  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (self->uri != NULL, NULL);

  message = sfb_sip_message_new_request (method, request_uri != NULL ? request_uri : self->uri);
  tag = sfb_sip_connection_new_token (10);
  from = g_strdup_printf ("<%s>;tag=%s;epid=%s", self->uri, tag, self->epid);
  to = g_strdup_printf ("<%s>", request_uri != NULL ? request_uri : self->uri);
  call_id = sfb_sip_connection_new_token (32);
  cseq = g_strdup_printf ("1 %s", method);
  sfb_sip_message_append_header (message, "From", from);
  sfb_sip_message_append_header (message, "To", to);
  sfb_sip_message_append_header (message, "Max-Forwards", "70");
  sfb_sip_message_append_header (message, "CSeq", cseq);
  sfb_sip_message_append_header (message, "User-Agent", "sfbd/" PACKAGE_VERSION);
  sfb_sip_message_append_header (message, "Call-ID", call_id);
  if (self->connection != NULL)
    {
      contact = own_contact (self);
      sfb_sip_message_append_header (message, "Contact", contact);
    }
  return g_steal_pointer (&message);
}

/* A service request in flight (the GTask's data). */
typedef struct
{
  SfbSipMessage *request;
  gboolean sent;   /* went out once: a resend is a new transaction */
  gboolean resent; /* sent again after a 401 already: the next is final */
  guint sign_out;  /* an unsubscribe of this sign-out, 0: none */
} ServiceCall;

static void
service_call_free (ServiceCall *call)
{
  g_object_unref (call->request);
  g_free (call);
}

/* Sends @task's request on the current connection (takes @task). */
static void
send_service_call (SfbSession *self, GTask *task)
{
  ServiceCall *call = g_task_get_task_data (task);

  if (call->sent)
    {
      /* a new transaction: a fresh Via branch (the connection adds it) and
       * the next CSeq (RFC 3261 §8.1.3.5) */
      g_autofree char *method = NULL;
      guint32 cseq = 0;

      sfb_sip_message_remove_header (call->request, "Via");
      if (sfb_sip_message_get_cseq (call->request, &cseq, &method, NULL) && cseq < G_MAXUINT32)
        {
          g_autofree char *value = g_strdup_printf ("%u %s", cseq + 1, method);

          sfb_sip_message_set_header (call->request, "CSeq", value);
        }
    }
  call->sent = TRUE;
  sfb_sip_connection_send_request_async (self->connection,
                                         call->request,
                                         SFB_SIP_CONNECTION_DEFAULT_TIMEOUT_MS,
                                         g_task_get_cancellable (task),
                                         on_service_response,
                                         task);
}

static void
on_service_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbSession *self = g_task_get_source_object (task);
  ServiceCall *call = g_task_get_task_data (task);
  guint sign_out = call->sign_out;
  GError *error = NULL;
  SfbSipMessage *response
      = sfb_sip_connection_send_request_finish (SFB_SIP_CONNECTION (source), result, &error);

  if (response != NULL && SFB_SIP_CONNECTION (source) == self->connection
      && resend_after_reauthentication (self, task, response))
    {
      g_object_unref (response);
      return;
    }
  if (response == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, response, g_object_unref);
  if (sign_out != 0)
    sign_out_request_done (self, sign_out);
}

void
sfb_session_send_request_async (SfbSession *self,
                                SfbSipMessage *request,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  ServiceCall *call;

  g_return_if_fail (SFB_IS_SESSION (self));
  g_return_if_fail (SFB_IS_SIP_MESSAGE (request));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_session_send_request_async);
  if (self->connection == NULL || !self->registered)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_NOT_SIGNED_IN,
                               "Not signed in: cannot send %s",
                               sfb_sip_message_get_method (request));
      return;
    }
  call = g_new0 (ServiceCall, 1);
  call->request = g_object_ref (request);
  g_task_set_task_data (task, call, (GDestroyNotify) service_call_free);
  if (self->phase == PHASE_SIGN_OUT && !self->deregistering)
    {
      call->sign_out = self->sign_out_serial;
      self->sign_out_pending++;
    }
  if (self->phase == PHASE_REAUTH)
    {
      /* unsigned until the new SA is in place: wait for it */
      g_ptr_array_add (self->reauth_queue, g_steal_pointer (&task));
      return;
    }
  send_service_call (self, g_steal_pointer (&task));
}

SfbSipMessage *
sfb_session_send_request_finish (SfbSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- re-authentication: requests that wait for a new SA -------------- */

/* A 401/407 to a request after sign-in: the server lost the security
 * association (a restarted front end, an SA it expired early).  The
 * request waits for a new SA and goes once more; TRUE when it does. */
static gboolean
resend_after_reauthentication (SfbSession *self, GTask *task, SfbSipMessage *response)
{
  ServiceCall *call = g_task_get_task_data (task);
  guint code = sfb_sip_message_get_status_code (response);

  if ((code != 401 && code != 407) || call->resent || call->sign_out != 0 || !self->registered
      || self->phase == PHASE_SIGN_OUT)
    return FALSE;
  call->resent = TRUE;
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_TOPIC ("registration"),
           "MESSAGE",
           "%s answered %s with SIP %u: the security association was lost; authenticating "
           "again and sending it once more",
           sfb_sip_connection_get_host (self->connection),
           sfb_sip_message_get_method (call->request),
           code);
  g_ptr_array_add (self->reauth_queue, g_object_ref (task));
  start_reauthentication (self);
  return TRUE;
}

/* A new SA on the same connection (the server lost ours), unless a
 * REGISTER that ends in one, or a sign-out, is under way. */
static void
start_reauthentication (SfbSession *self)
{
  g_autoptr (GError) error = NULL;

  if (self->phase != PHASE_NONE)
    return;
  sfb_deadline_clear (&self->reregister);
  sfb_deadline_clear (&self->reauth);
  self->phase = PHASE_REAUTH;
  if (!sfb_session_new_security (self, &error))
    {
      sfb_session_fail (self, error);
      return;
    }
  sfb_session_send_register (self, -1);
}

/* The new SA is in place: send what waited for it. */
static void
resend_reauth_queue (SfbSession *self)
{
  g_autoptr (GPtrArray) queue = g_steal_pointer (&self->reauth_queue);

  self->reauth_queue = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < queue->len; i++)
    send_service_call (self, g_object_ref (g_ptr_array_index (queue, i)));
}

/* The connection is gone: what waited for a new SA fails as not signed in
 * (services start over at the next "registered"). */
void
sfb_session_fail_reauth_queue (SfbSession *self)
{
  g_autoptr (GPtrArray) queue = NULL;

  if (self->reauth_queue == NULL || self->reauth_queue->len == 0)
    return;
  queue = g_steal_pointer (&self->reauth_queue);
  self->reauth_queue = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < queue->len; i++)
    {
      GTask *task = g_ptr_array_index (queue, i);
      ServiceCall *call = g_task_get_task_data (task);

      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_NOT_SIGNED_IN,
                               "The connection ended while authenticating again: %s was not "
                               "sent",
                               sfb_sip_message_get_method (call->request));
    }
}

/* ---- signing out: unsubscribe, then unregister ----------------------- */

/* "signing-out" lets services unsubscribe (their requests are counted in
 * sfb_session_send_request_async()); the REGISTER Expires: 0 goes when
 * they are answered, or after SIGN_OUT_TIMEOUT_MS, so that the server
 * still knows the endpoint they came from. */
void
sfb_session_begin_sign_out (SfbSession *self)
{
  g_autoptr (SfbSession) keep G_GNUC_UNUSED = g_object_ref (self);

  if (++self->sign_out_serial == 0)
    self->sign_out_serial = 1;
  self->sign_out_pending = 0;
  self->deregistering = FALSE;
  sfb_session_emit_signing_out (self);
  if (self->phase != PHASE_SIGN_OUT || self->deregistering)
    return; /* the session moved on meanwhile */
  if (self->sign_out_pending == 0)
    {
      send_deregister (self);
      return;
    }
  g_debug ("Unsubscribing (%u) before unregistering", self->sign_out_pending);
  self->sign_out_id = g_timeout_add (SIGN_OUT_TIMEOUT_MS, on_sign_out_timeout, self);
}

static gboolean
on_sign_out_timeout (gpointer user_data)
{
  SfbSession *self = user_data;

  self->sign_out_id = 0;
  g_debug ("%u unsubscribes unanswered: unregistering anyway", self->sign_out_pending);
  send_deregister (self);
  return G_SOURCE_REMOVE;
}

static void
sign_out_request_done (SfbSession *self, guint serial)
{
  if (serial != self->sign_out_serial || self->phase != PHASE_SIGN_OUT || self->deregistering
      || self->sign_out_pending == 0)
    return;
  if (--self->sign_out_pending == 0)
    send_deregister (self);
}

static void
send_deregister (SfbSession *self)
{
  g_clear_handle_id (&self->sign_out_id, g_source_remove);
  if (self->deregistering)
    return;
  self->deregistering = TRUE;
  sfb_session_send_register (self, 0);
}

void
sfb_session_finish_sign_out (SfbSession *self)
{
  if (g_strcmp0 (self->strings[STR_STATE], SFB_STATE_SIGNED_OUT) != 0)
    sfb_log (G_LOG_LEVEL_INFO,
             SFB_LOG_MESSAGE_ID (SFB_LOG_MSGID_SIGN_OUT),
             SFB_LOG_STATE (SFB_STATE_SIGNED_OUT),
             SFB_LOG_URI (self->uri != NULL ? self->uri : ""),
             "SFB_SERVER",
             self->strings[STR_SERVER],
             SFB_LOG_TOPIC ("sign-out"),
             "MESSAGE",
             "Signed out");
  sfb_session_cancel_attempt (self);
  sfb_session_clear_connection_properties (self);
  sfb_session_wipe_password (self);
  sfb_session_set_state (self, SFB_STATE_SIGNED_OUT);
  sfb_session_sleep_signed_out (self);
}
