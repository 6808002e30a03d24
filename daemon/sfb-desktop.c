/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-desktop.h"

#include "sfb-idle-monitor.h"
#include "sfb-notifier.h"
#include "sfb-presence.h"

#include <sfbd/sfb-names.h>

#define KEY_FAILURE "sign-in-failure"
#define KEY_RECONNECTING "reconnecting"
/* The account window: D-Bus activatable (client/README.md); its program,
 * when no service file is installed: SFBD_WINDOW names another (tests). */
#define WINDOW_NAME "sfbd-window"
#define WINDOW_BUS_NAME "org.sfbd.Window"
#define WINDOW_PATH "/org/sfbd/Window"
#define WINDOW_ACTIVATE_TIMEOUT_MS 25000
/* What a notification says to do about the password, in the window's words. */
#define SET_PASSWORD_HINT "Choose Set password… to enter it."

/* Failures only the user (or an administrator) can fix, and what helps. */
static const struct
{
  const char *error;
  const char *summary;
  gboolean password; /* "Set password…" rather than "Account…" */
} failures[] = {
  { SFB_DBUS_ERROR_AUTH_FAILED, "Skype for Business: the password was refused", TRUE },
  { SFB_DBUS_ERROR_NO_CREDENTIALS, "Skype for Business: a password is needed", TRUE },
  { SFB_DBUS_ERROR_CERTIFICATE_INVALID,
    "Skype for Business: the server's certificate was rejected",
    FALSE },
  { SFB_DBUS_ERROR_ACCOUNT_DISABLED, "Skype for Business: the account is disabled", FALSE },
  { SFB_DBUS_ERROR_SERVER_REJECTED,
    "Skype for Business: the server refused or ended the sign-in",
    FALSE },
  { SFB_DBUS_ERROR_CLOCK_SKEW, "Skype for Business: the clock is wrong", FALSE },
  { SFB_DBUS_ERROR_NO_USABLE_AUTH_SCHEME, "Skype for Business: no usable way to sign in", FALSE },
  { SFB_DBUS_ERROR_CERTIFICATE_PROVISIONING_FAILED,
    "Skype for Business: no sign-in certificate",
    FALSE },
};

struct _SfbDesktop
{
  GObject parent_instance;

  SfbDaemon *daemon;
  GDBusConnection *session_bus;
  SfbNotifier *notifier;
  SfbIdleMonitor *idle;
  gboolean failure_armed; /* a new attempt began since the last failure notice */
  char *failure_shown;    /* the error name of that notice */
  guint reconnecting_id;  /* the reconnect notice's deadline */
  gboolean reconnecting_shown;
};

G_DEFINE_FINAL_TYPE (SfbDesktop, sfb_desktop, G_TYPE_OBJECT)

static gint
find_failure (const char *error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (failures); i++)
    if (g_strcmp0 (failures[i].error, error) == 0)
      return (gint) i;
  return -1;
}

static gboolean
state_is (const char *state, const char *which)
{
  return g_strcmp0 (state, which) == 0;
}

/* Trying to sign in: discovering up to retrieving-settings, or waiting to retry. */
static gboolean
state_is_trying (const char *state)
{
  return state_is (state, SFB_STATE_DISCOVERING) || state_is (state, SFB_STATE_CONNECTING)
         || state_is (state, SFB_STATE_AUTHENTICATING) || state_is (state, SFB_STATE_REDIRECTING)
         || state_is (state, SFB_STATE_RETRIEVING_SETTINGS)
         || state_is (state, SFB_STATE_RECONNECTING);
}

/* ---- failures ------------------------------------------------------- */

/* The failure's message with its command-line advice ("…with: sfbctl
 * set-password", the message's last sentence; LastErrorMessage keeps it)
 * replaced by the notification's own button. */
static char *
password_body (const char *message)
{
  const char *command = strstr (message, "sfbctl");
  const char *end = message;

  if (command == NULL)
    return g_strdup_printf ("%s%s" SET_PASSWORD_HINT, message, *message != '\0' ? "\n" : "");
  for (const char *p = message; p < command; p++)
    if (p[0] == '.' && p[1] == ' ')
      end = p + 1;
  return g_strdup_printf (
      "%.*s%s" SET_PASSWORD_HINT, (int) (end - message), message, end != message ? " " : "");
}

static void
show_failure (SfbDesktop *self, gint which)
{
  const char *message = sfb_daemon_get_last_error_message (self->daemon);
  g_autofree char *body = NULL;
  const char *const password_actions[]
      = { "set-password", "Set password…", "details", "Details", NULL };
  const char *const account_actions[] = { "account", "Account…", "details", "Details", NULL };
  const char *const rejected_actions[] = { "sign-in", "Sign in", "details", "Details", NULL };
  const char *const *actions = failures[which].password ? password_actions : account_actions;

  if (g_str_equal (failures[which].error, SFB_DBUS_ERROR_SERVER_REJECTED))
    actions = rejected_actions;
  if (failures[which].password)
    message = body = password_body (message);
  g_info ("Notifying the user: %s", failures[which].summary);
  sfb_notifier_show (self->notifier, KEY_FAILURE, failures[which].summary, message, actions, FALSE);
  self->failure_armed = FALSE;
  g_free (self->failure_shown);
  self->failure_shown = g_strdup (failures[which].error);
}

/* ---- reconnecting --------------------------------------------------- */

static gboolean
on_reconnecting_deadline (gpointer user_data)
{
  SfbDesktop *self = user_data;
  const char *const actions[] = { "details", "Details", NULL };
  g_autofree char *body = NULL;
  const char *message = sfb_daemon_get_last_error_message (self->daemon);

  self->reconnecting_id = 0;
  body = g_strdup_printf ("%s%ssfbd keeps trying, and tries at once when the network changes.",
                          message,
                          *message != '\0' ? "\n" : "");
  g_info ("Notifying the user: still reconnecting");
  sfb_notifier_show (
      self->notifier, KEY_RECONNECTING, "Skype for Business: reconnecting", body, actions, FALSE);
  self->reconnecting_shown = TRUE;
  return G_SOURCE_REMOVE;
}

static void
stop_reconnecting (SfbDesktop *self)
{
  g_clear_handle_id (&self->reconnecting_id, g_source_remove);
  if (self->reconnecting_shown)
    sfb_notifier_withdraw (self->notifier, KEY_RECONNECTING);
  self->reconnecting_shown = FALSE;
}

static void
follow_reconnecting (SfbDesktop *self, const char *state)
{
  guint after;

  /* a reconnect goes through the sign-in states until signed in */
  if (!state_is_trying (state))
    {
      stop_reconnecting (self);
      return;
    }
  if (self->reconnecting_id != 0 || self->reconnecting_shown
      || !state_is (state, SFB_STATE_RECONNECTING))
    return;
  after = sfb_config_get_seconds (sfb_daemon_get_config (self->daemon),
                                  "Notifications.ReconnectingAfter",
                                  SFB_DESKTOP_RECONNECTING_AFTER_S);
  if (after != 0)
    self->reconnecting_id = g_timeout_add_seconds (after, on_reconnecting_deadline, self);
}

static void
on_account_changed (SfbDesktop *self)
{
  const char *state = sfb_daemon_get_state (self->daemon);
  const char *error = sfb_daemon_get_last_error (self->daemon);
  gint which = find_failure (error);

  follow_reconnecting (self, state);
  if (state_is (state, SFB_STATE_SIGNED_IN))
    {
      sfb_notifier_withdraw (self->notifier, KEY_FAILURE);
      self->failure_armed = TRUE;
      g_clear_pointer (&self->failure_shown, g_free);
      return;
    }
  if (state_is_trying (state))
    {
      self->failure_armed = TRUE;
      return;
    }
  /* failed; or signed out with no credentials (refused before any attempt) */
  if (which >= 0 && (self->failure_armed || g_strcmp0 (self->failure_shown, error) != 0)
      && (state_is (state, SFB_STATE_FAILED)
          || g_str_equal (failures[which].error, SFB_DBUS_ERROR_NO_CREDENTIALS)))
    show_failure (self, which);
}

/* ---- actions -------------------------------------------------------- */

static void
on_window_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error))
    g_debug ("%s: %s", WINDOW_NAME, error->message);
}

/* Without the account window, the notification itself says what it would
 * have shown, and the command that does it in a terminal. */
static void
explain_without_window (SfbDesktop *self, const char *key, const char *page)
{
  const char *message = sfb_daemon_get_last_error_message (self->daemon);
  gint which = find_failure (self->failure_shown);
  g_autofree char *body = NULL;
  const char *summary = "Skype for Business: reconnecting";

  if (g_str_equal (key, KEY_FAILURE) && which >= 0)
    summary = failures[which].summary;
  body = g_strdup_printf ("State: %s\n%s%s%s",
                          sfb_daemon_get_state (self->daemon),
                          message,
                          *message != '\0' ? "\n" : "",
                          g_str_equal (page, "--details")
                              ? "More with: sfbctl status; sfbctl trace"
                              : "Set it up with: sfbctl config set, sfbctl set-password");
  sfb_notifier_show (self->notifier, key, summary, body, NULL, FALSE);
}

/* Spawns the account window at @page (its option), when it is not D-Bus
 * activatable; the notification's activation token lets it take the focus. */
static void
spawn_window (SfbDesktop *self, const char *key, const char *page, const char *token)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *installed = g_build_filename (BINDIR, WINDOW_NAME, NULL);
  const char *program = g_getenv ("SFBD_WINDOW");

  if (program == NULL || *program == '\0')
    program = g_file_test (installed, G_FILE_TEST_IS_EXECUTABLE) ? installed : WINDOW_NAME;
  if (token != NULL && *token != '\0')
    {
      g_subprocess_launcher_setenv (launcher, "XDG_ACTIVATION_TOKEN", token, TRUE);
      g_subprocess_launcher_setenv (launcher, "DESKTOP_STARTUP_ID", token, TRUE);
    }
  process = g_subprocess_launcher_spawn (launcher, &error, program, page, NULL);
  if (process == NULL)
    {
      g_message ("Cannot start the account window %s: %s", program, error->message);
      explain_without_window (self, key, page);
      return;
    }
  g_info ("Started the account window (%s %s)", program, page);
  g_subprocess_wait_async (process, NULL, on_window_exited, NULL);
}

typedef struct
{
  SfbDesktop *self;
  char *key;
  char *action;
  char *token;
} WindowCall;

static void
window_call_free (WindowCall *call)
{
  g_object_unref (call->self);
  g_free (call->key);
  g_free (call->action);
  g_free (call->token);
  g_free (call);
}

static void
on_window_activated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  WindowCall *call = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *page = g_strconcat ("--", call->action, NULL);

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    g_info ("Opened the account window (%s)", call->action);
  else if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN))
    spawn_window (call->self, call->key, page, call->token); /* no service file */
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    {
      g_message ("Cannot open the account window: %s", error->message);
      explain_without_window (call->self, call->key, page);
    }
  window_call_free (call);
}

/* Opens the account window at @action (an action it documents) through
 * D-Bus activation: the window runs in the session, not in sfbd's unit.
 * The notification's activation token lets it take the focus. */
static void
start_window (SfbDesktop *self, const char *key, const char *action)
{
  const char *token = sfb_notifier_get_activation_token (self->notifier);
  GVariantBuilder platform;
  WindowCall *call = g_new0 (WindowCall, 1);

  g_variant_builder_init (&platform, G_VARIANT_TYPE_VARDICT);
  if (token != NULL && *token != '\0')
    {
      g_variant_builder_add (&platform, "{sv}", "activation-token", g_variant_new_string (token));
      g_variant_builder_add (&platform, "{sv}", "desktop-startup-id", g_variant_new_string (token));
    }
  call->self = g_object_ref (self);
  call->key = g_strdup (key);
  call->action = g_strdup (action);
  call->token = g_strdup (token);
  g_dbus_connection_call (
      self->session_bus,
      WINDOW_BUS_NAME,
      WINDOW_PATH,
      "org.freedesktop.Application",
      "ActivateAction",
      g_variant_new (
          "(s@ava{sv})", action, g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0), &platform),
      NULL,
      G_DBUS_CALL_FLAGS_NONE,
      WINDOW_ACTIVATE_TIMEOUT_MS,
      NULL,
      on_window_activated,
      call);
}

static void
on_sign_in_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  /* a refusal shows in LastError, and notifies again */
  if (!sfb_daemon_sign_in_finish (SFB_DAEMON (source), result, &error))
    g_debug ("Sign-in from a notification did not start: %s", error->message);
}

static void
on_action (SfbNotifier *notifier, const char *key, const char *action, SfbDesktop *self)
{
  if (g_str_equal (action, "set-password") || g_str_equal (action, "account")
      || g_str_equal (action, "details"))
    start_window (self, key, action);
  else if (g_str_equal (action, "default"))
    start_window (self, key, "details");
  else if (g_str_equal (action, "sign-in"))
    sfb_daemon_sign_in_async (self->daemon, NULL, on_sign_in_started, NULL);
}

/* ---- idle and lock -------------------------------------------------- */

static void
on_idle_changed (SfbDesktop *self)
{
  static const guint codes[] = {
    [SFB_IDLE_ACTIVE] = SFB_MACHINE_STATE_ACTIVE,
    [SFB_IDLE_INACTIVE] = SFB_MACHINE_STATE_INACTIVE,
    [SFB_IDLE_AWAY] = SFB_MACHINE_STATE_AWAY,
  };
  SfbIdleState state = sfb_idle_monitor_get_state (self->idle);

  sfb_presence_set_machine_state (sfb_daemon_get_presence (self->daemon), codes[state]);
}

static void
on_config_changed (SfbDesktop *self)
{
  SfbConfig *config = sfb_daemon_get_config (self->daemon);

  sfb_idle_monitor_set_times (
      self->idle,
      sfb_config_get_seconds (config, "Presence.InactiveAfter", SFB_DESKTOP_INACTIVE_AFTER_S),
      sfb_config_get_seconds (config, "Presence.AwayAfter", SFB_DESKTOP_AWAY_AFTER_S));
}

/* ---- object --------------------------------------------------------- */

SfbDesktop *
sfb_desktop_new (SfbDaemon *daemon, GDBusConnection *session_bus)
{
  SfbDesktop *self = g_object_new (SFB_TYPE_DESKTOP, NULL);

  self->daemon = g_object_ref (daemon);
  self->session_bus = session_bus != NULL ? g_object_ref (session_bus) : NULL;
  self->notifier = sfb_notifier_new (session_bus);
  self->idle = sfb_idle_monitor_new (session_bus);
  g_signal_connect (self->notifier, "action", G_CALLBACK (on_action), self);
  g_signal_connect_swapped (self->idle, "changed", G_CALLBACK (on_idle_changed), self);
  g_signal_connect_object (sfb_daemon_get_config (daemon),
                           "changed",
                           G_CALLBACK (on_config_changed),
                           self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (
      daemon, "notify::state", G_CALLBACK (on_account_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (
      daemon, "notify::last-error", G_CALLBACK (on_account_changed), self, G_CONNECT_SWAPPED);
  on_config_changed (self);
  on_account_changed (self);
  return self;
}

SfbNotifier *
sfb_desktop_get_notifier (SfbDesktop *self)
{
  g_return_val_if_fail (SFB_IS_DESKTOP (self), NULL);

  return self->notifier;
}

static void
sfb_desktop_dispose (GObject *object)
{
  SfbDesktop *self = SFB_DESKTOP (object);

  g_clear_handle_id (&self->reconnecting_id, g_source_remove);
  if (self->notifier != NULL)
    g_signal_handlers_disconnect_by_data (self->notifier, self);
  if (self->idle != NULL)
    g_signal_handlers_disconnect_by_data (self->idle, self);
  g_clear_object (&self->notifier);
  g_clear_object (&self->idle);
  g_clear_object (&self->session_bus);
  g_clear_object (&self->daemon);
  g_clear_pointer (&self->failure_shown, g_free);
  G_OBJECT_CLASS (sfb_desktop_parent_class)->dispose (object);
}

static void
sfb_desktop_init (SfbDesktop *self)
{
  self->failure_armed = TRUE;
}

static void
sfb_desktop_class_init (SfbDesktopClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sfb_desktop_dispose;
}
