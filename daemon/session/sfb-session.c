/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSession: the object, the properties SfbDaemon copies to the Account
 * interface, the public API, and the states the sign-in moves through
 * (docs/architecture.md §9).  The sign-in itself starts in
 * sfb-sign-in-attempt.c (sfb_session_start_attempt()); the other files are
 * listed in sfb-session-private.h.
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-session-private.h"

#include "sfb-error.h"
#include "sfb-log.h"
#include "sfb-tls.h"

#include <sfbd/sfb-names.h>

#include <string.h>

G_DEFINE_FINAL_TYPE (SfbSession, sfb_session, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  SIGNAL_REGISTERED,
  SIGNAL_SIGNING_OUT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void clear_settings_tasks (SfbSession *self);

/* ---- properties ------------------------------------------------------ */

void
sfb_session_changed (SfbSession *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

void
sfb_session_set_string (SfbSession *self, guint which, const char *value)
{
  if (value == NULL)
    value = "";
  if (g_strcmp0 (self->strings[which], value) == 0)
    return;
  g_free (self->strings[which]);
  self->strings[which] = g_strdup (value);
  sfb_session_changed (self);
}

void
sfb_session_set_state (SfbSession *self, const char *state)
{
  if (g_strcmp0 (self->strings[STR_STATE], state) != 0)
    sfb_log (G_LOG_LEVEL_INFO, SFB_LOG_STATE (state), "MESSAGE", "State: %s", state);
  sfb_session_set_string (self, STR_STATE, state);
}

void
sfb_session_set_last_error (SfbSession *self, const GError *error)
{
  g_clear_error (&self->last_error);
  if (error != NULL)
    {
      self->last_error = g_error_copy (error);
      sfb_error_convert (&self->last_error);
    }
  sfb_session_changed (self);
}

void
sfb_session_clear_connection_properties (SfbSession *self)
{
  sfb_session_set_string (self, STR_SERVER, NULL);
  sfb_session_set_string (self, STR_SERVER_VERSION, NULL);
  sfb_session_set_string (self, STR_LOCAL_ADDRESS, NULL);
  sfb_session_set_string (self, STR_INTERFACE, NULL);
  sfb_session_set_string (self, STR_ACCESS_LOCATION, NULL);
  sfb_session_set_string (self, STR_AUTH_METHOD, NULL);
  if (self->signed_in_since != 0)
    {
      self->signed_in_since = 0;
      sfb_session_changed (self);
    }
}

/* ---- tearing down ---------------------------------------------------- */

static void
clear_timers (SfbSession *self)
{
  sfb_deadline_clear (&self->reregister);
  sfb_deadline_clear (&self->reauth);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->resend_id, g_source_remove);
  g_clear_handle_id (&self->redirect_id, g_source_remove);
  g_clear_handle_id (&self->sign_out_id, g_source_remove);
  self->waiting_for_network = FALSE;
  /* no sfb_session_changed() here (dispose calls this): every caller announces a
   * change of its own right after */
  self->next_retry = 0;
}

void
sfb_session_drop_connection (SfbSession *self)
{
  g_autoptr (SfbSipConnection) connection = g_steal_pointer (&self->connection);

  /* stolen first: closing fails the pending transactions, whose callbacks
   * must see a stale connection */
  if (connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (connection, self);
      sfb_sip_connection_set_request_handler (connection, NULL, NULL);
      sfb_sip_connection_close (connection);
    }
  g_clear_object (&self->security);
  g_clear_pointer (&self->gruu, g_free);
  self->registered = FALSE;
  self->phase = PHASE_NONE;
  clear_settings_tasks (self);
  sfb_session_fail_reauth_queue (self);
}

/* The sign-in's HTTPS (autodiscover, web tickets, certificate provisioning)
 * is done with: close its connections now.  libsoup would keep them, TLS
 * state and buffers, until its idle timeout and wake up 60 s later to close
 * them (docs/benchmarks.md).  A request still out ends on its own
 * connection, closed then; the next use connects afresh. */
void
sfb_session_close_http_connections (SfbSession *self)
{
  if (self->discovery != NULL)
    sfb_discovery_close_connections (self->discovery);
  if (self->provisioner != NULL)
    sfb_cert_provisioner_close_connections (self->provisioner);
}

/* Signed in, and the sign-in's HTTPS is over (discovery may outlast the
 * settings): the system trust store (~3.9 MB of heap) is not needed until
 * the next verification that asks it, which loads it again; the trim after
 * signing in gives its pages back. */
void
sfb_session_release_trust_when_done (SfbSession *self)
{
  if (self->discovering || g_strcmp0 (self->strings[STR_STATE], SFB_STATE_SIGNED_IN) != 0)
    return;
  sfb_tls_release_system_trust ();
}

/* Stops everything the current attempt does. */
void
sfb_session_cancel_attempt (SfbSession *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  sfb_session_close_http_connections (self);
  clear_timers (self);
  sfb_session_drop_connection (self);
  self->discovering = FALSE;
  self->early_dialled = FALSE;
  self->early_failed = FALSE;
  self->connect_serial++;
}

void
sfb_session_wipe_password (SfbSession *self)
{
  if (self->password == NULL)
    return;
  sfb_log_remove_secret (self->password);
  g_clear_object (&self->provisioner); /* it holds the NTLM hash */
  explicit_bzero (self->password, strlen (self->password));
  g_clear_pointer (&self->password, g_free);
}

/* ---- public ---------------------------------------------------------- */

void
sfb_session_sign_in (SfbSession *self, const char *password)
{
  g_return_if_fail (SFB_IS_SESSION (self));

  sfb_session_forget_resume (self);
  sfb_session_wipe_password (self);
  self->password = g_strdup (password);
  if (self->password != NULL)
    sfb_log_add_secret (self->password);
  self->ccache_sign_in = self->password == NULL; /* Kerberos credentials only */
  sfb_session_watch_system (self);
  sfb_backoff_reset (&self->backoff);
  self->reconnect_attempts = 0;
  g_clear_pointer (&self->warned, g_free); /* a user-started sign-in warns afresh */
  self->signature_failures = 0;
  sfb_session_set_last_error (self, NULL);
  sfb_session_start_attempt (self, TRUE);
}

void
sfb_session_sign_out (SfbSession *self)
{
  g_return_if_fail (SFB_IS_SESSION (self));

  sfb_session_forget_resume (self);
  if (self->connection != NULL && self->registered
      && !sfb_sip_connection_is_closed (self->connection))
    {
      clear_timers (self);
      self->phase = PHASE_SIGN_OUT;
      sfb_session_begin_sign_out (self);
      return;
    }
  sfb_session_finish_sign_out (self);
}

gboolean
sfb_session_reconnect (SfbSession *self, GError **error)
{
  const char *state;

  g_return_val_if_fail (SFB_IS_SESSION (self), FALSE);

  state = self->strings[STR_STATE];
  if ((self->password == NULL && !self->ccache_sign_in)
      || g_strcmp0 (state, SFB_STATE_SIGNED_OUT) == 0 || g_strcmp0 (state, SFB_STATE_FAILED) == 0)
    {
      g_set_error_literal (
          error,
          SFB_ERROR,
          SFB_ERROR_NOT_SIGNED_IN,
          "Not signed in, so there is nothing to reconnect. Sign in with: sfbctl sign-in");
      return FALSE;
    }
  sfb_backoff_reset (&self->backoff);
  sfb_session_start_attempt (self, TRUE);
  return TRUE;
}

const char *
sfb_session_get_state (SfbSession *self)
{
  return self->strings[STR_STATE];
}

const char *
sfb_session_get_server (SfbSession *self)
{
  return self->strings[STR_SERVER];
}

const char *
sfb_session_get_server_version (SfbSession *self)
{
  return self->strings[STR_SERVER_VERSION];
}

const char *
sfb_session_get_auth_method (SfbSession *self)
{
  return self->strings[STR_AUTH_METHOD];
}

const char *
sfb_session_get_access_location (SfbSession *self)
{
  return self->strings[STR_ACCESS_LOCATION];
}

const char *
sfb_session_get_local_address (SfbSession *self)
{
  return self->strings[STR_LOCAL_ADDRESS];
}

const char *
sfb_session_get_interface (SfbSession *self)
{
  return self->strings[STR_INTERFACE];
}

guint64
sfb_session_get_signed_in_since (SfbSession *self)
{
  return self->signed_in_since;
}

guint
sfb_session_get_reconnect_attempts (SfbSession *self)
{
  return self->reconnect_attempts;
}

guint64
sfb_session_get_next_retry (SfbSession *self)
{
  return (guint64) MAX (self->next_retry, 0);
}

const GError *
sfb_session_get_last_error (SfbSession *self)
{
  return self->last_error;
}

const char *
sfb_session_get_gruu (SfbSession *self)
{
  return self->registered ? self->gruu : NULL;
}

gboolean
sfb_session_server_supports (SfbSession *self, const char *option)
{
  for (guint i = 0; self->supported != NULL && self->supported[i] != NULL; i++)
    {
      g_autofree char *value = g_strstrip (g_strdup (self->supported[i]));

      if (g_ascii_strcasecmp (value, option) == 0)
        return TRUE;
    }
  return FALSE;
}

/* ---- signals for daemon/services ------------------------------------- */

typedef struct
{
  guint id; /* 0: removed during an offer, dropped after it */
  SfbSessionRequestFunc func;
  gpointer user_data;
} RequestHandler;

guint
sfb_session_add_request_handler (SfbSession *self, SfbSessionRequestFunc func, gpointer user_data)
{
  RequestHandler handler = { 0, func, user_data };

  g_return_val_if_fail (SFB_IS_SESSION (self), 0);
  g_return_val_if_fail (func != NULL, 0);

  handler.id = ++self->request_handler_id;
  g_array_append_val (self->request_handlers, handler);
  return handler.id;
}

void
sfb_session_clear_request_handler (SfbSession *self, guint *id)
{
  g_return_if_fail (SFB_IS_SESSION (self));
  g_return_if_fail (id != NULL);

  for (guint i = 0; *id != 0 && i < self->request_handlers->len; i++)
    {
      RequestHandler *handler = &g_array_index (self->request_handlers, RequestHandler, i);

      if (handler->id != *id)
        continue;
      /* an offer running walks the array by index: keep the places */
      if (self->request_emissions > 0)
        {
          handler->id = 0;
          self->request_compact = TRUE;
        }
      else
        g_array_remove_index (self->request_handlers, i);
      break;
    }
  *id = 0;
}

static void
compact_request_handlers (SfbSession *self)
{
  for (guint i = self->request_handlers->len; i > 0; i--)
    if (g_array_index (self->request_handlers, RequestHandler, i - 1).id == 0)
      g_array_remove_index (self->request_handlers, i - 1);
  self->request_compact = FALSE;
}

gboolean
sfb_session_emit_request (SfbSession *self, SfbSipMessage *request)
{
  guint n = self->request_handlers->len; /* those added meanwhile see the next */
  gboolean handled = FALSE;

  g_object_ref (self); /* a handler may drop the last other reference */
  self->request_emissions++;
  for (guint i = 0; !handled && i < n; i++)
    {
      /* copied: a handler may add another, which moves the array */
      RequestHandler handler = g_array_index (self->request_handlers, RequestHandler, i);

      if (handler.id != 0)
        handled = handler.func (self, request, handler.user_data);
    }
  if (--self->request_emissions == 0 && self->request_compact)
    compact_request_handlers (self);
  g_object_unref (self);
  return handled;
}

/* Services unsubscribe from their handlers (sfb_session_begin_sign_out()). */
void
sfb_session_emit_signing_out (SfbSession *self)
{
  g_signal_emit (self, signals[SIGNAL_SIGNING_OUT], 0);
}

/* ---- settings tasks (retrieving-settings) ---------------------------- */

static void
settings_done (SfbSession *self, const char *why)
{
  g_clear_handle_id (&self->settings_timeout_id, g_source_remove);
  g_hash_table_remove_all (self->settings_tasks);
  if (g_strcmp0 (self->strings[STR_STATE], SFB_STATE_RETRIEVING_SETTINGS) != 0)
    return;
  sfb_session_stage_detail (self, "%s", why);
  sfb_session_stage_end (self, NULL);
  sfb_session_close_http_connections (self);
  sfb_session_set_state (self, SFB_STATE_SIGNED_IN);
  sfb_session_release_trust_when_done (self);
}

static gboolean
on_settings_timeout (gpointer user_data)
{
  SfbSession *self = user_data;
  g_autoptr (GString) pending = g_string_new (NULL);
  GHashTableIter iter;
  gpointer value;

  self->settings_timeout_id = 0;
  g_hash_table_iter_init (&iter, self->settings_tasks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_string_append_printf (pending, "%s%s", pending->len > 0 ? ", " : "", (const char *) value);
  sfb_log (G_LOG_LEVEL_WARNING,
           SFB_LOG_TOPIC ("settings"),
           "MESSAGE",
           "Settings still pending after %u s (%s); signed in without them",
           SFB_SESSION_SETTINGS_TIMEOUT_S,
           pending->str);
  g_string_prepend (pending, "timed out waiting for: ");
  settings_done (self, pending->str);
  return G_SOURCE_REMOVE;
}

static void
clear_settings_tasks (SfbSession *self)
{
  g_clear_handle_id (&self->settings_timeout_id, g_source_remove);
  g_hash_table_remove_all (self->settings_tasks);
}

void
sfb_session_enter_retrieving_settings (SfbSession *self)
{
  g_autoptr (SfbSession) keep G_GNUC_UNUSED = g_object_ref (self);

  clear_settings_tasks (self);
  sfb_session_set_state (self, SFB_STATE_RETRIEVING_SETTINGS);
  sfb_session_stage_begin (self, SFB_STATE_RETRIEVING_SETTINGS, NULL);
  g_signal_emit (self, signals[SIGNAL_REGISTERED], 0);
  if (!self->registered)
    return; /* a handler's failure dropped the connection */
  if (g_hash_table_size (self->settings_tasks) == 0)
    settings_done (self, "nothing to wait for");
  else if (self->settings_timeout_id == 0)
    self->settings_timeout_id
        = g_timeout_add_seconds (SFB_SESSION_SETTINGS_TIMEOUT_S, on_settings_timeout, self);
}

guint
sfb_session_begin_settings_task (SfbSession *self, const char *name)
{
  guint id;

  g_return_val_if_fail (SFB_IS_SESSION (self), 0);

  if (g_strcmp0 (self->strings[STR_STATE], SFB_STATE_RETRIEVING_SETTINGS) != 0)
    return 0; /* nothing waits: the session is past (or before) that stage */
  id = ++self->next_settings_task;
  if (id == 0)
    id = ++self->next_settings_task;
  g_hash_table_insert (self->settings_tasks, GUINT_TO_POINTER (id), g_strdup (name));
  return id;
}

void
sfb_session_end_settings_task (SfbSession *self, guint id)
{
  const char *name;

  g_return_if_fail (SFB_IS_SESSION (self));

  if (id == 0)
    return;
  name = g_hash_table_lookup (self->settings_tasks, GUINT_TO_POINTER (id));
  if (name == NULL)
    return; /* stale: a reconnect or the timeout dropped it */
  sfb_session_stage_detail (self, "%s done", name);
  g_hash_table_remove (self->settings_tasks, GUINT_TO_POINTER (id));
  if (g_hash_table_size (self->settings_tasks) == 0)
    settings_done (self, "all settings retrieved");
}

/* ---- object ---------------------------------------------------------- */

static void
sfb_session_dispose (GObject *object)
{
  SfbSession *self = SFB_SESSION (object);

  sfb_session_cancel_attempt (self);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  sfb_session_unwatch_system (self);
  if (self->discovery != NULL)
    g_signal_handlers_disconnect_by_data (self->discovery, self);
  g_clear_object (&self->discovery);
  g_clear_object (&self->tls_database);
  g_clear_object (&self->provisioner);
  g_clear_pointer (&self->user_cert, sfb_user_certificate_free);
  g_clear_object (&self->config);
  sfb_session_wipe_password (self);
  G_OBJECT_CLASS (sfb_session_parent_class)->dispose (object);
}

static void
sfb_session_finalize (GObject *object)
{
  SfbSession *self = SFB_SESSION (object);

  for (guint i = 0; i < N_STRINGS; i++)
    g_free (self->strings[i]);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  g_ptr_array_unref (self->trace);
  g_string_free (self->tried, TRUE);
  g_clear_error (&self->last_error);
  g_clear_error (&self->auth_cause);
  g_free (self->attempt_server);
  g_free (self->warned);
  g_free (self->state_dir);
  g_free (self->uri);
  g_free (self->domain);
  g_free (self->epid);
  g_free (self->instance);
  g_free (self->call_id);
  g_free (self->from_tag);
  g_free (self->ms_opaque);
  g_free (self->gruu);
  g_strfreev (self->supported);
  g_hash_table_unref (self->settings_tasks);
  g_ptr_array_unref (self->reauth_queue);
  g_array_unref (self->request_handlers);
  G_OBJECT_CLASS (sfb_session_parent_class)->finalize (object);
}

static void
sfb_session_class_init (SfbSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_session_dispose;
  object_class->finalize = sfb_session_finalize;

  /* changed(): any getter may return something new */
  signals[SIGNAL_CHANGED] = g_signal_new (
      "changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* registered(): a registration completed on a (new) connection */
  signals[SIGNAL_REGISTERED] = g_signal_new ("registered",
                                             G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST,
                                             0,
                                             NULL,
                                             NULL,
                                             NULL,
                                             G_TYPE_NONE,
                                             0);
  /* signing-out (void): about to unregister; unsubscribe now (with
   * sfb_session_send_request_async) */
  signals[SIGNAL_SIGNING_OUT] = g_signal_new ("signing-out",
                                              G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST,
                                              0,
                                              NULL,
                                              NULL,
                                              NULL,
                                              G_TYPE_NONE,
                                              0);
}

static void
sfb_session_init (SfbSession *self)
{
  for (guint i = 0; i < N_STRINGS; i++)
    self->strings[i] = g_strdup ("");
  g_free (self->strings[STR_STATE]);
  self->strings[STR_STATE] = g_strdup (SFB_STATE_SIGNED_OUT);
  self->sleep_inhibitor = -1;
  self->trace = sfb_session_trace_new ();
  self->tried = g_string_new (NULL);
  self->settings_tasks = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->reauth_queue = g_ptr_array_new_with_free_func (g_object_unref);
  self->request_handlers = g_array_new (FALSE, FALSE, sizeof (RequestHandler));
  sfb_backoff_init (&self->backoff, SFB_BACKOFF_DEFAULT_BASE_MS, SFB_BACKOFF_DEFAULT_CAP_MS);
}

static gboolean
has_text (const char *value)
{
  return value != NULL && *value != '\0';
}

SfbSession *
sfb_session_new (SfbConfig *config, const char *state_dir)
{
  SfbSession *self;

  g_return_val_if_fail (SFB_IS_CONFIG (config), NULL);
  g_return_val_if_fail (state_dir != NULL, NULL);

  self = g_object_new (SFB_TYPE_SESSION, NULL);
  self->config = g_object_ref (config);
  self->state_dir = g_strdup (state_dir);
  /* the first sign-in must not wait for the system trust store, unless
   * a CAFile may make it unneeded, or there is no account yet: a
   * Configure() may bring a CAFile (sfb_tls_database_new preloads at
   * sign-in) */
  if (!has_text (sfb_config_get_ca_file (config)) && has_text (sfb_config_get_uri (config)))
    sfb_tls_preload_system_trust ();
  return self;
}
