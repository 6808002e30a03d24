/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Failures and the reconnect policy.
 *
 * A failure the user must fix ends in "failed" (sfb_session_fail()); a
 * network or server fault in "reconnecting" with a retry at NextRetry
 * (sfb_session_retry_later()), after the backoff, a 503's Retry-After, or
 * longer for a server whose signatures fail.  A 504 sends the REGISTER
 * again on the same connection (sfb_session_resend_after_timeout()).  Each
 * failure goes to the journal at WARNING with SFB_ERROR_NAME and the fields
 * of the attempt that failed (log_failure()); a retry that fails the same
 * way again is logged at INFO only.  Offline, the retry waits for the
 * network.  Sleep: a logind delay inhibitor is held while awake; on
 * PrepareForSleep(true) the session signs out cleanly (unsubscribe,
 * unregister) and only then releases it, and signs in again on resume
 * (without an inhibitor, it reconnects at once after resume).
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-session-private.h"

#include "sfb-error.h"
#include "sfb-log.h"
#include "sfb-registration.h"

#include <sfbd/sfb-names.h>

#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <string.h>

#define MAX_RETRY_AFTER_S 3600
/* a server whose signatures fail: each attempt is a full logon that leaves
 * a registration behind, so from the second failure in a row the retry
 * waits twice this, then doubles (signature_retry_delay_ms()) */
#define SIGNATURE_RETRY_S 15
/* a registration that lasted this long forgets earlier signature failures */
#define SIGNATURE_FORGET_S 300

/* ---- failures -------------------------------------------------------- */

static void
log_failure (SfbSession *self,
             GLogLevelFlags level,
             const char *message_id,
             const char *state,
             const GError *error,
             const char *message)
{
  g_autoptr (GError) converted = g_error_copy (error);
  g_autofree char *status
      = self->last_sip_status != 0 ? g_strdup_printf ("%u", self->last_sip_status) : NULL;
  GLogField fields[16];
  gsize n = 0;

  sfb_error_convert (&converted);
#define FIELD(k, v) fields[n++] = (GLogField){ (k), (v), -1 }
  FIELD ("MESSAGE", message);
  FIELD ("PRIORITY", level == G_LOG_LEVEL_WARNING ? "4" : "6");
  FIELD ("GLIB_DOMAIN", G_LOG_DOMAIN);
  FIELD ("CODE_FILE", __FILE__);
  FIELD ("CODE_FUNC", G_STRFUNC);
  FIELD ("SFB_ERROR_DOMAIN", g_quark_to_string (error->domain));
  FIELD ("SFB_ERROR_MESSAGE", error->message);
  FIELD ("SFB_ERROR_NAME", sfb_error_get_dbus_name (converted));
  FIELD ("SFB_STATE", state);
  FIELD ("SFB_URI", self->uri != NULL ? self->uri : "");
  FIELD ("SFB_TOPIC", "sign-in");
  if (message_id != NULL)
    FIELD ("MESSAGE_ID", message_id);
  /* only what this attempt has: no server before one was dialled, no
   * status before a REGISTER was answered */
  if (self->attempt_server != NULL)
    FIELD ("SFB_SERVER", self->attempt_server);
  if (status != NULL)
    FIELD ("SFB_SIP_STATUS", status);
#undef FIELD
  g_assert (n <= G_N_ELEMENTS (fields));
  g_log_structured_array (level, fields, n);
}

/* A new attempt on a server: nothing of the last one's journal fields stays. */
void
sfb_session_begin_attempt_fields (SfbSession *self, const char *host, guint16 port)
{
  g_free (self->attempt_server);
  self->attempt_server = host != NULL ? g_strdup_printf ("%s:%u", host, port) : NULL;
  self->last_sip_status = 0;
}

/* A failure only the user can fix: no automatic retry. */
void
sfb_session_fail (SfbSession *self, const GError *error)
{
  gboolean auth = g_error_matches (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
  g_autofree char *message = g_strdup_printf ("Sign-in failed: %s", error->message);

  /* the journal's MESSAGE_ID: a rejected password, or signed out for good */
  log_failure (self,
               G_LOG_LEVEL_WARNING,
               auth ? SFB_LOG_MSGID_AUTH_FAILED : SFB_LOG_MSGID_SIGN_OUT,
               SFB_STATE_FAILED,
               error,
               message);
  sfb_session_stage_end (self, error);
  sfb_session_cancel_attempt (self);
  sfb_session_clear_connection_properties (self);
  sfb_session_set_last_error (self, error);
  sfb_session_set_state (self, SFB_STATE_FAILED);
}

/* ---- retrying later -------------------------------------------------- */

static void
set_next_retry (SfbSession *self, gint64 when)
{
  if (self->next_retry == when)
    return;
  self->next_retry = when;
  sfb_session_changed (self);
}

static gboolean
on_retry (gpointer user_data)
{
  SfbSession *self = user_data;

  self->retry_id = 0;
  self->reconnect_attempts++;
  set_next_retry (self, 0);
  sfb_session_changed (self);
  sfb_session_start_attempt (self, TRUE);
  return G_SOURCE_REMOVE;
}

/* A retry that fails like the last one is logged at INFO: a laptop off the
 * corporate network must not fill the journal with warnings. */
static void
log_retry (SfbSession *self, const GError *error, guint delay_ms)
{
  g_autoptr (GError) converted = g_error_copy (error);
  g_autofree char *key = NULL;
  g_autofree char *message = NULL;
  gboolean repeated;

  sfb_error_convert (&converted);
  key = g_strdup_printf ("%s\n%s", sfb_error_get_dbus_name (converted), error->message);
  repeated = g_strcmp0 (key, self->warned) == 0;
  if (self->waiting_for_network)
    message = g_strdup_printf ("Sign-in attempt failed: %s; will retry when the network is back",
                               error->message);
  else
    message = g_strdup_printf (
        "Sign-in attempt failed: %s; will retry in %u s", error->message, (delay_ms + 999) / 1000);
  log_failure (self,
               repeated ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_WARNING,
               NULL,
               SFB_STATE_RECONNECTING,
               error,
               message);
  g_free (self->warned);
  self->warned = g_steal_pointer (&key);
}

/* Signing in again resets the backoff, and a server whose signatures fail
 * lets the sign-in succeed first: so such failures are counted on their
 * own.  A first one may be a glitch (retried as usual), then 30 s, 60 s,
 * ... up to 5 minutes. */
static void
count_signature_failure (SfbSession *self, const GError *error)
{
  gint64 now = g_get_real_time ();

  if (!g_error_matches (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID))
    return;
  if (self->signed_in_since != 0
      && now - (gint64) self->signed_in_since > (gint64) SIGNATURE_FORGET_S * G_USEC_PER_SEC)
    self->signature_failures = 0;
  self->signature_failures++;
}

static gint64
signature_retry_delay_ms (SfbSession *self)
{
  if (self->signature_failures < 2)
    return -1;
  return MIN ((gint64) SIGNATURE_RETRY_S * 1000 << MIN (self->signature_failures - 1, 10),
              (gint64) SFB_BACKOFF_DEFAULT_CAP_MS);
}

/* The delay before the next attempt: the backoff's, at least @delay_ms when
 * >= 0 (a 503's Retry-After), at least SIGNATURE_RETRY_S after a message
 * that failed verification. */
static guint
retry_delay (SfbSession *self, const GError *error, gint64 delay_ms)
{
  guint delay = sfb_backoff_next (&self->backoff, NULL);

  if (g_error_matches (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID))
    delay_ms = MAX (delay_ms, signature_retry_delay_ms (self));
  if (delay_ms >= 0)
    delay = (guint) MIN (MAX ((gint64) delay, delay_ms), (gint64) MAX_RETRY_AFTER_S * 1000);
  return delay;
}

/* A network-class failure: reconnecting, retried with backoff (or after
 * @delay_ms when >= 0, e.g. a 503's Retry-After). */
void
sfb_session_retry_later (SfbSession *self, const GError *error, gint64 delay_ms)
{
  guint delay = 0;

  count_signature_failure (self, error); /* before signed_in_since is cleared */
  sfb_session_stage_end (self, error);
  sfb_session_cancel_attempt (self);
  sfb_session_clear_connection_properties (self);
  sfb_session_set_last_error (self, error);
  if (self->monitor != NULL && !self->network_available)
    {
      /* no use knocking while offline: on_network_changed() retries */
      g_info ("The network is unavailable: waiting for it before trying again");
      self->waiting_for_network = TRUE;
    }
  else
    {
      delay = retry_delay (self, error, delay_ms);
      g_debug ("Next attempt in %u ms", delay);
      self->retry_id = g_timeout_add (delay, on_retry, self);
      set_next_retry (self, g_get_real_time () + (gint64) delay * 1000);
    }
  log_retry (self, error, delay);
  sfb_session_set_state (self, SFB_STATE_RECONNECTING);
}

/* ---- answers to REGISTER that mean later ----------------------------- */

/* " (<ms-diagnostics>)" of an error answer, for error text; "" without one. */
char *
sfb_session_diagnostics_of (SfbSipMessage *response)
{
  g_autofree char *diagnostics = sfb_registration_dup_diagnostics (response);

  return diagnostics != NULL ? g_strdup_printf (" (%s)", diagnostics) : g_strdup ("");
}

/* The first number of a header (Retry-After: 30 (busy), Expires: 300). */
static gboolean
header_number (SfbSipMessage *message, const char *name, guint64 max, guint64 *value)
{
  return sfb_registration_header_number (message, name, max, value);
}

static gboolean
on_resend_register (gpointer user_data)
{
  SfbSession *self = user_data;
  g_autoptr (GError) error = NULL;

  self->resend_id = 0;
  set_next_retry (self, 0);
  if (self->connection == NULL)
    return G_SOURCE_REMOVE;
  g_debug (
      "Sending the REGISTER again after a 504 (%u of %u)", self->n_timeouts, MAX_TIMEOUT_RESENDS);
  switch (self->phase)
    {
    case PHASE_SIGN_IN:
      /* the handshake may have been half-way: start it over */
      sfb_session_start_registration (self);
      break;
    case PHASE_REAUTH:
      if (!sfb_session_new_security (self, &error))
        sfb_session_fail (self, error);
      else
        sfb_session_send_register (self, -1);
      break;
    case PHASE_REFRESH:
      sfb_session_send_register (self, -1);
      break;
    case PHASE_NONE:
    case PHASE_SIGN_OUT:
    default:
      break;
    }
  return G_SOURCE_REMOVE;
}

/* 504: the registrar timed out behind the front end; the connection is
 * fine, so the REGISTER goes again on it, after a while. */
void
sfb_session_resend_after_timeout (SfbSession *self, SfbSipMessage *response)
{
  guint64 delay = TIMEOUT_RESEND_S;
  g_autofree char *diagnostics = sfb_session_diagnostics_of (response);
  g_autofree char *reason = sfb_registration_dup_reason (response);
  g_autoptr (GError) error = NULL;

  header_number (response, "Retry-After", MAX_RETRY_AFTER_S, &delay);
  error = g_error_new (SFB_ERROR,
                       SFB_ERROR_TIMED_OUT,
                       "%s timed out: SIP %u %s%s; registering again in %" G_GUINT64_FORMAT
                       " s (%u of %u)",
                       sfb_sip_connection_get_host (self->connection),
                       sfb_sip_message_get_status_code (response),
                       reason,
                       diagnostics,
                       delay,
                       self->n_timeouts,
                       MAX_TIMEOUT_RESENDS);
  sfb_log (G_LOG_LEVEL_INFO, SFB_LOG_TOPIC ("registration"), "MESSAGE", "%s", error->message);
  sfb_session_stage_detail (self, "%s", error->message);
  sfb_session_set_last_error (self, error);
  g_clear_handle_id (&self->resend_id, g_source_remove);
  self->resend_id = g_timeout_add_seconds ((guint) MAX (delay, 1), on_resend_register, self);
  set_next_retry (self, g_get_real_time () + (gint64) MAX (delay, 1) * G_USEC_PER_SEC);
}

/* 503 and the like (a 504 past MAX_TIMEOUT_RESENDS): the server is there
 * but cannot take the registration now; retry as it asks (Retry-After),
 * else with the backoff. */
void
sfb_session_retry_when_available (SfbSession *self, SfbSipMessage *response)
{
  guint code = sfb_sip_message_get_status_code (response);
  guint64 retry_after = 0;
  g_autofree char *diagnostics = sfb_session_diagnostics_of (response);
  gboolean has_retry_after
      = header_number (response, "Retry-After", MAX_RETRY_AFTER_S, &retry_after);
  g_autofree char *reason = sfb_registration_dup_reason (response);
  g_autoptr (GError) busy = NULL;

  self->n_timeouts = 0;
  busy = g_error_new (SFB_ERROR,
                      SFB_ERROR_SERVER_REJECTED,
                      "%s is not available: SIP %u %s%s; retrying%s",
                      sfb_sip_connection_get_host (self->connection),
                      code,
                      reason,
                      diagnostics,
                      has_retry_after ? " when the server asks to" : " later");

  sfb_session_retry_later (self, busy, has_retry_after ? (gint64) retry_after * 1000 : -1);
}

/* ---- network and sleep ----------------------------------------------- */

static void
retry_now (SfbSession *self, const char *why)
{
  if (g_strcmp0 (self->strings[STR_STATE], SFB_STATE_RECONNECTING) != 0
      || (self->retry_id == 0 && !self->waiting_for_network))
    return;
  g_info ("%s: retrying at once", why);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->waiting_for_network = FALSE;
  sfb_backoff_reset (&self->backoff);
  on_retry (self);
}

static void
on_network_changed (GNetworkMonitor *monitor, gboolean available, SfbSession *self)
{
  gboolean was = self->network_available;

  self->network_available = available;
  /* another network may have another DNS view (VPN, split DNS) */
  sfb_sip_connection_forget_addresses ();
  if (available != was)
    g_info ("The network is %s", available ? "available" : "unavailable");
  if (available && !was)
    retry_now (self, "The network is back");
}

/* ---- suspend: a delay inhibitor, sign out before sleep -------------- */

static void
release_inhibitor (SfbSession *self)
{
  self->release_on_sign_out = FALSE;
  if (self->sleep_inhibitor < 0)
    return;
  g_debug ("Releasing the sleep inhibitor");
  g_close (self->sleep_inhibitor, NULL);
  self->sleep_inhibitor = -1;
}

static void
on_inhibit (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbSession) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (GVariant) ret = NULL;
  gint32 index = -1;

  ret = g_dbus_connection_call_with_unix_fd_list_finish (
      G_DBUS_CONNECTION (source), &fds, result, &error);
  self->inhibitor_pending = FALSE;
  if (ret == NULL)
    {
      g_debug ("No sleep inhibitor, so no sign-out before sleep: %s", error->message);
      return;
    }
  g_variant_get (ret, "(h)", &index);
  if (fds == NULL || index < 0 || index >= g_unix_fd_list_get_length (fds))
    return;
  release_inhibitor (self);
  self->sleep_inhibitor = g_unix_fd_list_get (fds, index, NULL);
  if (self->system_bus == NULL) /* the session ended meanwhile */
    release_inhibitor (self);
}

/* Held while awake, so that logind waits (up to its InhibitDelayMaxSec)
 * for the sign-out before sleep. */
static void
take_inhibitor (SfbSession *self)
{
  if (self->system_bus == NULL || self->sleep_inhibitor >= 0 || self->inhibitor_pending)
    return;
  self->inhibitor_pending = TRUE;
  g_dbus_connection_call_with_unix_fd_list (
      self->system_bus,
      "org.freedesktop.login1",
      "/org/freedesktop/login1",
      "org.freedesktop.login1.Manager",
      "Inhibit",
      g_variant_new ("(ssss)", "sleep", "sfbd", "Signing out of Skype for Business", "delay"),
      G_VARIANT_TYPE ("(h)"),
      G_DBUS_CALL_FLAGS_NONE,
      -1,
      NULL,
      NULL,
      on_inhibit,
      g_object_ref (self));
}

/* The sign-out is done (or there was nothing to sign out): sleep may go on. */
void
sfb_session_sleep_signed_out (SfbSession *self)
{
  if (self->release_on_sign_out)
    release_inhibitor (self);
}

void
sfb_session_forget_resume (SfbSession *self)
{
  self->resume_sign_in = FALSE;
  if (self->resume_password != NULL)
    {
      explicit_bzero (self->resume_password, strlen (self->resume_password));
      g_clear_pointer (&self->resume_password, g_free);
    }
}

/* Before sleep: unsubscribe and unregister, so that nobody sees a stale
 * Available while the computer sleeps; remember to sign in again. */
static void
prepare_for_sleep (SfbSession *self)
{
  const char *state = self->strings[STR_STATE];
  gboolean wanted
      = g_strcmp0 (state, SFB_STATE_SIGNED_OUT) != 0 && g_strcmp0 (state, SFB_STATE_FAILED) != 0;
  g_autofree char *password = wanted ? g_strdup (self->password) : NULL;

  if (!wanted)
    {
      release_inhibitor (self);
      return;
    }
  g_info ("Going to sleep: signing out");
  sfb_session_sign_out (self); /* forgets an earlier resume */
  self->resume_sign_in = TRUE;
  self->resume_password = g_steal_pointer (&password);
  if (g_strcmp0 (self->strings[STR_STATE], SFB_STATE_SIGNED_OUT) == 0)
    release_inhibitor (self);
  else
    self->release_on_sign_out = TRUE;
}

static void
resumed (SfbSession *self)
{
  const char *state = self->strings[STR_STATE];
  g_autofree char *password = NULL;

  take_inhibitor (self);
  if (self->resume_sign_in)
    {
      if (g_strcmp0 (state, SFB_STATE_SIGNED_OUT) != 0)
        {
          sfb_session_forget_resume (self); /* the user signed in meanwhile */
          return;
        }
      g_info ("Resumed from sleep: signing in again");
      password = g_steal_pointer (&self->resume_password);
      sfb_session_sign_in (self, password);
      if (password != NULL)
        explicit_bzero (password, strlen (password));
      return;
    }
  /* no sign-out before sleep (no inhibitor): the connection is likely dead */
  if (g_strcmp0 (state, SFB_STATE_SIGNED_IN) == 0 || g_strcmp0 (state, SFB_STATE_RECONNECTING) == 0)
    {
      g_info ("Resumed from sleep: reconnecting");
      sfb_backoff_reset (&self->backoff);
      sfb_session_start_attempt (self, TRUE);
    }
}

static void
on_prepare_for_sleep (GDBusConnection *bus,
                      const char *sender,
                      const char *path,
                      const char *interface,
                      const char *signal,
                      GVariant *parameters,
                      gpointer user_data)
{
  SfbSession *self = user_data;
  gboolean going_to_sleep = FALSE;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    return;
  g_variant_get (parameters, "(b)", &going_to_sleep);
  if (going_to_sleep)
    prepare_for_sleep (self);
  else
    resumed (self);
}

static void
on_system_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbSession) self = user_data;
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (result, &error);

  if (bus == NULL)
    {
      g_debug ("No system bus, so no resume detection: %s", error->message);
      return;
    }
  self->system_bus = bus;
  self->sleep_subscription = g_dbus_connection_signal_subscribe (bus,
                                                                 "org.freedesktop.login1",
                                                                 "org.freedesktop.login1.Manager",
                                                                 "PrepareForSleep",
                                                                 "/org/freedesktop/login1",
                                                                 NULL,
                                                                 G_DBUS_SIGNAL_FLAGS_NONE,
                                                                 on_prepare_for_sleep,
                                                                 self,
                                                                 NULL);
  take_inhibitor (self);
}

void
sfb_session_watch_system (SfbSession *self)
{
  if (self->monitor != NULL)
    return;
  self->monitor = g_object_ref (g_network_monitor_get_default ());
  self->network_available = g_network_monitor_get_network_available (self->monitor);
  g_signal_connect (self->monitor, "network-changed", G_CALLBACK (on_network_changed), self);
  g_bus_get (G_BUS_TYPE_SYSTEM, NULL, on_system_bus, g_object_ref (self));
}

void
sfb_session_unwatch_system (SfbSession *self)
{
  if (self->system_bus != NULL && self->sleep_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_subscription);
  self->sleep_subscription = 0;
  g_clear_object (&self->system_bus);
  release_inhibitor (self);
  sfb_session_forget_resume (self);
}
