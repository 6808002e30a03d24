/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-registration.h"
#include "sfb-subscription.h"

#include "sfb-deadline.h"
#include "sfb-error.h"
#include "sfb-log.h"
#include "sfb-sip-uri.h"

#include <sfbd/sfb-names.h>

#include <string.h>

#define MAX_EXPIRES_S (7 * 24 * 3600)

struct _SfbSubscription
{
  GObject parent_instance;

  SfbSession *session;
  gulong registered_id;
  guint request_id; /* sfb_session_add_request_handler() */
  gulong signing_out_id;
  char *event;
  char *accept;
  char *target_uri;
  char *content_type;
  GBytes *body;
  SfbSubscriptionBodyBuilder body_build; /* sfb_subscription_set_body_builder() */
  gpointer body_build_data;
  GDestroyNotify body_build_destroy;
  GPtrArray *headers; /* name, value, name, value... */
  int expires;

  gboolean wanted;
  GCancellable *cancellable;
  /* the dialog */
  char *call_id;
  char *local_from; /* our From header, tag included */
  char *remote_tag;
  char *remote_target;
  GPtrArray *routes;
  guint32 cseq;
  gboolean active;     /* a dialog with Expires > 0 is in place */
  guint last_status;   /* of the last answer to SUBSCRIBE */
  SfbDeadline refresh; /* one source for every deadline (sfb-deadline.h) */

  SfbSubscriptionBodyFunc body_func; /* sfb_subscription_set_body_handler() */
  gpointer body_data;
};

G_DEFINE_FINAL_TYPE (SfbSubscription, sfb_subscription, G_TYPE_OBJECT)

enum
{
  SIGNAL_TERMINATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void send_subscribe (SfbSubscription *self, gboolean refresh, gboolean unsubscribe);

static gboolean
session_registered (SfbSubscription *self)
{
  const char *state = sfb_session_get_state (self->session);

  return g_strcmp0 (state, SFB_STATE_RETRIEVING_SETTINGS) == 0
         || g_strcmp0 (state, SFB_STATE_SIGNED_IN) == 0;
}

static void
forget_dialog (SfbSubscription *self)
{
  sfb_deadline_clear (&self->refresh);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->call_id, g_free);
  g_clear_pointer (&self->local_from, g_free);
  g_clear_pointer (&self->remote_tag, g_free);
  g_clear_pointer (&self->remote_target, g_free);
  g_ptr_array_set_size (self->routes, 0);
  self->active = FALSE;
}

static void
terminated (SfbSubscription *self, const GError *reason)
{
  g_autoptr (SfbSubscription) keep G_GNUC_UNUSED = g_object_ref (self);

  g_info ("Subscription %s ended: %s", self->event, reason->message);
  forget_dialog (self);
  g_signal_emit (self, signals[SIGNAL_TERMINATED], 0, reason);
}

/* "terminated;expires=0" -> TRUE */
static gboolean
state_is_terminated (SfbSipMessage *message)
{
  const char *state = sfb_sip_message_get_header (message, "subscription-state");

  return state != NULL && g_ascii_strncasecmp (state, "terminated", 10) == 0;
}

static gboolean
header_uint (SfbSipMessage *message, const char *name, guint64 *value)
{
  const char *text = sfb_sip_message_get_header (message, name);

  return text != NULL && g_ascii_string_to_unsigned (text, 10, 0, MAX_EXPIRES_S, value, NULL);
}

static void
emit_body (SfbSubscription *self, SfbSipMessage *message, gboolean benotify)
{
  GBytes *body = sfb_sip_message_get_body (message);
  const char *type = sfb_sip_message_get_header (message, "Content-Type");

  if (body == NULL || g_bytes_get_size (body) == 0 || self->body_func == NULL)
    return;
  g_object_ref (self); /* the handler may drop the owner's reference */
  self->body_func (self, type != NULL ? type : "", body, benotify, self->body_data);
  g_object_unref (self);
}

static void
on_refresh (gpointer user_data)
{
  send_subscribe (user_data, TRUE, FALSE);
}

static void
schedule_refresh (SfbSubscription *self, guint64 expires)
{
  guint64 delay;

  sfb_deadline_clear (&self->refresh);
  if (expires == 0)
    return;
  delay = expires > 2 * SFB_SUBSCRIPTION_REFRESH_MARGIN_S
              ? expires - SFB_SUBSCRIPTION_REFRESH_MARGIN_S
              : MAX (expires / 2, 1);
  sfb_deadline_set_seconds (&self->refresh, (guint) delay, on_refresh, self);
}

static void
learn_dialog (SfbSubscription *self, SfbSipMessage *response)
{
  const char *to = sfb_sip_message_get_header (response, "To");
  const char *contact = sfb_sip_message_get_header (response, "Contact");
  g_auto (GStrv) record_routes = sfb_sip_message_get_header_values (response, "Record-Route");
  g_autoptr (SfbSipNameAddr) to_addr = NULL;
  g_autoptr (SfbSipNameAddr) contact_addr = NULL;

  if (to != NULL && (to_addr = sfb_sip_name_addr_parse (to, -1, NULL)) != NULL
      && sfb_sip_name_addr_get_tag (to_addr) != NULL)
    {
      g_free (self->remote_tag);
      self->remote_tag = g_strdup (sfb_sip_name_addr_get_tag (to_addr));
    }
  if (contact != NULL && (contact_addr = sfb_sip_name_addr_parse (contact, -1, NULL)) != NULL)
    {
      g_free (self->remote_target);
      self->remote_target = g_strdup (sfb_sip_name_addr_get_uri (contact_addr));
    }
  if (self->routes->len == 0 && record_routes != NULL)
    {
      /* the route set is the Record-Route list in reverse (RFC 3261 §12.1.2) */
      for (guint i = g_strv_length (record_routes); i > 0; i--)
        {
          g_auto (GStrv) parts = sfb_sip_split_list (record_routes[i - 1], -1);

          for (guint j = parts != NULL ? g_strv_length (parts) : 0; j > 0; j--)
            g_ptr_array_add (self->routes, g_strdup (parts[j - 1]));
        }
    }
}

/* The session sends a request again with the next CSeq after a 401 (a
 * new SA): the dialog goes on from the CSeq that was answered. */
static void
sync_cseq (SfbSubscription *self, SfbSipMessage *response)
{
  guint32 cseq = 0;

  if (sfb_sip_message_get_cseq (response, &cseq, NULL, NULL) && cseq > self->cseq)
    self->cseq = cseq;
}

typedef struct
{
  SfbSubscription *self;
  gboolean unsubscribe;
  char *call_id;
} SubscribeCall;

static void
subscribe_call_free (SubscribeCall *call)
{
  g_object_unref (call->self);
  g_free (call->call_id);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SubscribeCall, subscribe_call_free)

static void
on_subscribe_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SubscribeCall) call = user_data;
  SfbSubscription *self = call->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) response = NULL;
  guint code;
  guint64 expires = 0;

  response = sfb_session_send_request_finish (SFB_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || call->unsubscribe
      || g_strcmp0 (call->call_id, self->call_id) != 0)
    return;
  if (response == NULL)
    {
      if (g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_SIGNED_IN))
        {
          forget_dialog (self); /* "registered" starts it again */
          return;
        }
      terminated (self, error);
      return;
    }
  code = sfb_sip_message_get_status_code (response);
  self->last_status = code;
  if (code < 200 || code >= 300)
    {
      g_autoptr (GError) rejected = NULL;
      g_autofree char *diagnostics = sfb_registration_dup_diagnostics (response);
      g_autofree char *reason = sfb_registration_dup_reason (response);

      rejected = g_error_new (SFB_ERROR,
                              SFB_ERROR_SERVER_REJECTED,
                              "SUBSCRIBE %s: SIP %u %s%s%s",
                              self->event,
                              code,
                              reason,
                              diagnostics != NULL ? "; " : "",
                              diagnostics != NULL ? diagnostics : "");
      terminated (self, rejected);
      return;
    }
  learn_dialog (self, response);
  sync_cseq (self, response);
  header_uint (response, "Expires", &expires);
  self->active = expires > 0 && !state_is_terminated (response);
  if (self->active)
    schedule_refresh (self, expires);
  emit_body (self, response, FALSE);
}

static void
send_subscribe (SfbSubscription *self, gboolean refresh, gboolean unsubscribe)
{
  g_autoptr (SfbSipMessage) request = NULL;
  g_autofree char *cseq = NULL;
  SubscribeCall *call;

  if (!refresh && !unsubscribe)
    {
      forget_dialog (self);
      self->cancellable = g_cancellable_new ();
    }
  request = sfb_session_new_request (self->session,
                                     "SUBSCRIBE",
                                     (refresh || unsubscribe) && self->remote_target != NULL
                                         ? self->remote_target
                                         : self->target_uri);
  if (request == NULL)
    return;
  if (self->target_uri != NULL)
    {
      g_autofree char *to = g_strdup_printf (
          "<%s>%s%s",
          self->target_uri,
          (refresh || unsubscribe) && self->remote_tag != NULL ? ";tag=" : "",
          (refresh || unsubscribe) && self->remote_tag != NULL ? self->remote_tag : "");

      sfb_sip_message_set_header (request, "To", to);
    }
  else if ((refresh || unsubscribe) && self->remote_tag != NULL)
    {
      g_autofree char *to = g_strdup_printf (
          "%s;tag=%s", sfb_sip_message_get_header (request, "To"), self->remote_tag);

      sfb_sip_message_set_header (request, "To", to);
    }
  if (self->call_id == NULL)
    {
      self->call_id = g_strdup (sfb_sip_message_get_header (request, "Call-ID"));
      self->local_from = g_strdup (sfb_sip_message_get_header (request, "From"));
      self->cseq = 1;
    }
  else
    {
      sfb_sip_message_set_header (request, "Call-ID", self->call_id);
      sfb_sip_message_set_header (request, "From", self->local_from);
      self->cseq++;
    }
  cseq = g_strdup_printf ("%u SUBSCRIBE", self->cseq);
  sfb_sip_message_set_header (request, "CSeq", cseq);
  for (guint i = 0; i < self->routes->len; i++)
    sfb_sip_message_append_header (request, "Route", g_ptr_array_index (self->routes, i));
  sfb_sip_message_append_header (request, "Event", self->event);
  if (self->accept != NULL)
    sfb_sip_message_append_header (request, "Accept", self->accept);
  sfb_sip_message_append_header (request, "Supported", "com.microsoft.autoextend");
  sfb_sip_message_append_header (request, "Supported", "ms-benotify");
  sfb_sip_message_append_header (request, "Proxy-Require", "ms-benotify");
  sfb_sip_message_append_header (request, "Supported", "ms-piggyback-first-notify");
  for (guint i = 0; i + 1 < self->headers->len; i += 2)
    sfb_sip_message_append_header (
        request, g_ptr_array_index (self->headers, i), g_ptr_array_index (self->headers, i + 1));
  if (unsubscribe)
    {
      sfb_sip_message_append_header (request, "Expires", "0");
    }
  else if (self->expires >= 0)
    {
      g_autofree char *value = g_strdup_printf ("%d", self->expires);

      sfb_sip_message_append_header (request, "Expires", value);
    }
  if (self->body_build != NULL)
    {
      g_autoptr (GBytes) built = self->body_build (self->body_build_data);

      sfb_sip_message_set_body (request, self->content_type, built);
    }
  else if (self->body != NULL)
    sfb_sip_message_set_body (request, self->content_type, self->body);

  call = g_new0 (SubscribeCall, 1);
  call->self = g_object_ref (self);
  call->unsubscribe = unsubscribe;
  call->call_id = g_strdup (self->call_id);
  sfb_session_send_request_async (
      self->session, request, unsubscribe ? NULL : self->cancellable, on_subscribe_response, call);
}

static void
on_registered (SfbSession *session, SfbSubscription *self)
{
  if (self->wanted)
    send_subscribe (self, FALSE, FALSE);
}

/* Sign-out: unsubscribe (Expires: 0) before the session unregisters, and
 * stay wanted: the next sign-in subscribes again. */
static void
on_signing_out (SfbSession *session, SfbSubscription *self)
{
  if (self->active)
    send_subscribe (self, TRUE, TRUE);
  forget_dialog (self);
}

static gboolean
on_request (SfbSession *session, SfbSipMessage *request, gpointer user_data)
{
  SfbSubscription *self = user_data;
  const char *method = sfb_sip_message_get_method (request);
  gboolean benotify = g_strcmp0 (method, "BENOTIFY") == 0;
  g_autoptr (SfbSubscription) keep = NULL;

  if (self->call_id == NULL || (!benotify && g_strcmp0 (method, "NOTIFY") != 0)
      || g_strcmp0 (sfb_sip_message_get_header (request, "Call-ID"), self->call_id) != 0)
    return FALSE;
  keep = g_object_ref (self);
  if (!benotify)
    {
      g_autoptr (GError) error = NULL;

      if (!sfb_session_respond (session, request, 200, "OK", NULL, NULL, &error))
        g_debug ("Could not answer NOTIFY %s: %s", self->event, error->message);
    }
  emit_body (self, request, benotify);
  if (self->active && state_is_terminated (request))
    {
      g_autoptr (GError) reason = g_error_new (SFB_ERROR,
                                               SFB_ERROR_SERVER_REJECTED,
                                               "the server ended the %s subscription",
                                               self->event);

      terminated (self, reason);
    }
  return TRUE;
}

/* ---- API ------------------------------------------------------------- */

SfbSubscription *
sfb_subscription_new (SfbSession *session,
                      const char *event,
                      const char *accept,
                      const char *target_uri)
{
  SfbSubscription *self;

  g_return_val_if_fail (SFB_IS_SESSION (session), NULL);
  g_return_val_if_fail (event != NULL, NULL);

  self = g_object_new (SFB_TYPE_SUBSCRIPTION, NULL);
  self->session = g_object_ref (session);
  self->event = g_strdup (event);
  self->accept = g_strdup (accept);
  self->target_uri = g_strdup (target_uri);
  self->registered_id = g_signal_connect (session, "registered", G_CALLBACK (on_registered), self);
  self->request_id = sfb_session_add_request_handler (session, on_request, self);
  self->signing_out_id
      = g_signal_connect (session, "signing-out", G_CALLBACK (on_signing_out), self);
  return self;
}

void
sfb_subscription_set_body_handler (SfbSubscription *self,
                                   SfbSubscriptionBodyFunc func,
                                   gpointer user_data)
{
  g_return_if_fail (SFB_IS_SUBSCRIPTION (self));

  self->body_func = func;
  self->body_data = func != NULL ? user_data : NULL;
}

static void
clear_body_builder (SfbSubscription *self)
{
  if (self->body_build_destroy != NULL)
    self->body_build_destroy (self->body_build_data);
  self->body_build = NULL;
  self->body_build_data = NULL;
  self->body_build_destroy = NULL;
}

void
sfb_subscription_set_body (SfbSubscription *self, const char *content_type, GBytes *body)
{
  g_return_if_fail (SFB_IS_SUBSCRIPTION (self));

  g_free (self->content_type);
  self->content_type = g_strdup (content_type);
  g_clear_pointer (&self->body, g_bytes_unref);
  clear_body_builder (self);
  if (body != NULL)
    self->body = g_bytes_ref (body);
}

void
sfb_subscription_set_body_builder (SfbSubscription *self,
                                   const char *content_type,
                                   SfbSubscriptionBodyBuilder build,
                                   gpointer user_data,
                                   GDestroyNotify destroy)
{
  g_return_if_fail (SFB_IS_SUBSCRIPTION (self));
  g_return_if_fail (build != NULL);

  sfb_subscription_set_body (self, content_type, NULL);
  self->body_build = build;
  self->body_build_data = user_data;
  self->body_build_destroy = destroy;
}

void
sfb_subscription_add_header (SfbSubscription *self, const char *name, const char *value)
{
  g_return_if_fail (SFB_IS_SUBSCRIPTION (self));
  g_return_if_fail (name != NULL && value != NULL);

  g_ptr_array_add (self->headers, g_strdup (name));
  g_ptr_array_add (self->headers, g_strdup (value));
}

void
sfb_subscription_set_expires (SfbSubscription *self, int expires)
{
  g_return_if_fail (SFB_IS_SUBSCRIPTION (self));

  self->expires = expires;
}

void
sfb_subscription_start (SfbSubscription *self)
{
  g_return_if_fail (SFB_IS_SUBSCRIPTION (self));

  self->wanted = TRUE;
  if (session_registered (self))
    send_subscribe (self, FALSE, FALSE);
}

void
sfb_subscription_stop (SfbSubscription *self)
{
  g_return_if_fail (SFB_IS_SUBSCRIPTION (self));

  self->wanted = FALSE;
  if (self->active && session_registered (self))
    send_subscribe (self, TRUE, TRUE);
  forget_dialog (self);
}

gboolean
sfb_subscription_is_active (SfbSubscription *self)
{
  g_return_val_if_fail (SFB_IS_SUBSCRIPTION (self), FALSE);

  return self->active;
}

const char *
sfb_subscription_get_event (SfbSubscription *self)
{
  g_return_val_if_fail (SFB_IS_SUBSCRIPTION (self), NULL);

  return self->event;
}

/* ---- object ---------------------------------------------------------- */

static void
sfb_subscription_dispose (GObject *object)
{
  SfbSubscription *self = SFB_SUBSCRIPTION (object);

  forget_dialog (self);
  if (self->session != NULL)
    {
      g_clear_signal_handler (&self->registered_id, self->session);
      sfb_session_clear_request_handler (self->session, &self->request_id);
      g_clear_signal_handler (&self->signing_out_id, self->session);
    }
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sfb_subscription_parent_class)->dispose (object);
}

static void
sfb_subscription_finalize (GObject *object)
{
  SfbSubscription *self = SFB_SUBSCRIPTION (object);

  g_free (self->event);
  g_free (self->accept);
  g_free (self->target_uri);
  g_free (self->content_type);
  g_clear_pointer (&self->body, g_bytes_unref);
  clear_body_builder (self);
  g_ptr_array_unref (self->headers);
  g_ptr_array_unref (self->routes);
  G_OBJECT_CLASS (sfb_subscription_parent_class)->finalize (object);
}

static void
sfb_subscription_class_init (SfbSubscriptionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_subscription_dispose;
  object_class->finalize = sfb_subscription_finalize;

  signals[SIGNAL_TERMINATED] = g_signal_new ("terminated",
                                             G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST,
                                             0,
                                             NULL,
                                             NULL,
                                             NULL,
                                             G_TYPE_NONE,
                                             1,
                                             G_TYPE_ERROR);
}

static void
sfb_subscription_init (SfbSubscription *self)
{
  self->headers = g_ptr_array_new_with_free_func (g_free);
  self->routes = g_ptr_array_new_with_free_func (g_free);
  self->expires = -1;
}

guint
sfb_subscription_get_last_status (SfbSubscription *self)
{
  g_return_val_if_fail (SFB_IS_SUBSCRIPTION (self), 0);
  return self->last_status;
}
