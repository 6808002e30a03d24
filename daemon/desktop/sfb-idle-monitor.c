/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-idle-monitor.h"

#include <string.h>
#include <unistd.h>

#define LOGIN1_NAME "org.freedesktop.login1"
#define LOGIN1_PATH "/org/freedesktop/login1"
#define LOGIN1_MANAGER "org.freedesktop.login1.Manager"
#define LOGIN1_SESSION "org.freedesktop.login1.Session"
#define LOGIN1_USER "org.freedesktop.login1.User"
#define MUTTER_NAME "org.gnome.Mutter.IdleMonitor"
#define MUTTER_PATH "/org/gnome/Mutter/IdleMonitor/Core"
#define MUTTER_IFACE "org.gnome.Mutter.IdleMonitor"

/* The screensavers that announce ActiveChanged(b), and where. */
static const char *const screensavers[][2] = {
  { "org.gnome.ScreenSaver", "/org/gnome/ScreenSaver" },
  { "org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver" },
};

struct _SfbIdleMonitor
{
  GObject parent_instance;

  GDBusConnection *session_bus;
  GDBusConnection *system_bus;
  GCancellable *cancellable;
  guint inactive_s;
  guint away_s;

  /* logind */
  char *session_path;
  guint session_subscription;
  gboolean idle_hint;
  gint64 idle_since; /* monotonic µs when the session became idle */
  gboolean locked_hint;

  /* screensavers */
  guint saver_subscriptions[G_N_ELEMENTS (screensavers)];
  gboolean saver_active[G_N_ELEMENTS (screensavers)];

  /* GNOME's idle monitor: when present it, not IdleHint, says how idle */
  gboolean mutter;
  guint mutter_subscription;
  guint mutter_watch_inactive;
  guint mutter_watch_away;
  guint mutter_watch_active;
  guint mutter_generation; /* watches of an older generation are stale */
  SfbIdleState mutter_level;

  guint timer_id; /* the next step of the logind idle clock */
  SfbIdleState state;
};

G_DEFINE_FINAL_TYPE (SfbIdleMonitor, sfb_idle_monitor, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void update (SfbIdleMonitor *self);
static void mutter_arm (SfbIdleMonitor *self);

const char *
sfb_idle_state_to_string (SfbIdleState state)
{
  switch (state)
    {
    case SFB_IDLE_ACTIVE:
      return "active";
    case SFB_IDLE_INACTIVE:
      return "inactive";
    case SFB_IDLE_AWAY:
      return "away";
    default:
      return "unknown";
    }
}

gboolean
sfb_idle_monitor_get_locked (SfbIdleMonitor *self)
{
  g_return_val_if_fail (SFB_IS_IDLE_MONITOR (self), FALSE);

  if (self->locked_hint)
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (screensavers); i++)
    if (self->saver_active[i])
      return TRUE;
  return FALSE;
}

/* ---- the idle clock of logind's IdleHint ---------------------------- */

static gboolean
on_timer (gpointer user_data)
{
  SfbIdleMonitor *self = user_data;

  self->timer_id = 0;
  update (self);
  return G_SOURCE_REMOVE;
}

/* How idle the session is by IdleHint, and when that changes next (µs
 * from now, 0: never). */
static SfbIdleState
logind_level (SfbIdleMonitor *self, gint64 *next)
{
  gint64 idle_for;
  gint64 inactive_at = (gint64) self->inactive_s * G_USEC_PER_SEC;
  gint64 away_at = inactive_at + (gint64) self->away_s * G_USEC_PER_SEC;

  *next = 0;
  if (!self->idle_hint)
    return SFB_IDLE_ACTIVE;
  idle_for = g_get_monotonic_time () - self->idle_since;
  if (self->away_s != 0 && idle_for >= away_at)
    return SFB_IDLE_AWAY;
  if (self->away_s != 0)
    *next = away_at - idle_for;
  if (self->inactive_s != 0 && idle_for >= inactive_at)
    return SFB_IDLE_INACTIVE;
  if (self->inactive_s != 0)
    *next = inactive_at - idle_for;
  return SFB_IDLE_ACTIVE;
}

static void
update (SfbIdleMonitor *self)
{
  SfbIdleState state;
  gint64 next = 0;

  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->mutter)
    state = self->mutter_level;
  else
    state = logind_level (self, &next);
  if (sfb_idle_monitor_get_locked (self))
    state = SFB_IDLE_AWAY;
  if (next > 0 && !self->mutter)
    self->timer_id
        = g_timeout_add ((guint) MIN ((next + 999) / 1000, (gint64) G_MAXUINT), on_timer, self);
  if (state == self->state)
    return;
  g_info ("The desktop session is %s%s",
          sfb_idle_state_to_string (state),
          sfb_idle_monitor_get_locked (self) ? " (locked)" : "");
  self->state = state;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

/* ---- logind --------------------------------------------------------- */

static void
session_properties (SfbIdleMonitor *self, GVariant *dict)
{
  gboolean idle = self->idle_hint;
  guint64 since = 0;

  g_variant_lookup (dict, "LockedHint", "b", &self->locked_hint);
  if (g_variant_lookup (dict, "IdleHint", "b", &idle) && idle != self->idle_hint)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 real_now = g_get_real_time ();

      self->idle_hint = idle;
      self->idle_since = now;
      /* IdleSinceHint (real time µs): idle from then, if it is sensible */
      if (idle && g_variant_lookup (dict, "IdleSinceHint", "t", &since) && since > 0
          && (gint64) since <= real_now
          && real_now - (gint64) since < (gint64) G_USEC_PER_SEC * 86400)
        self->idle_since = now - (real_now - (gint64) since);
    }
  update (self);
}

static void
on_session_signal (GDBusConnection *bus,
                   const char *sender,
                   const char *path,
                   const char *iface,
                   const char *signal,
                   GVariant *parameters,
                   gpointer user_data)
{
  g_autoptr (GVariant) changed = NULL;
  const char *changed_iface = NULL;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    return;
  g_variant_get (parameters, "(&s@a{sv}as)", &changed_iface, &changed, NULL);
  if (g_str_equal (changed_iface, LOGIN1_SESSION))
    session_properties (user_data, changed);
}

static void
on_session_all (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SfbIdleMonitor *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret = NULL;
  g_autoptr (GVariant) dict = NULL;

  ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (ret == NULL)
    {
      g_debug ("The logind session's properties: %s", error->message);
      return;
    }
  g_variant_get (ret, "(@a{sv})", &dict);
  session_properties (self, dict);
}

static void
follow_session (SfbIdleMonitor *self, const char *path)
{
  g_info ("Following the idle and lock hints of logind session %s", path);
  self->session_path = g_strdup (path);
  self->session_subscription
      = g_dbus_connection_signal_subscribe (self->system_bus,
                                            LOGIN1_NAME,
                                            "org.freedesktop.DBus.Properties",
                                            "PropertiesChanged",
                                            path,
                                            LOGIN1_SESSION,
                                            G_DBUS_SIGNAL_FLAGS_NONE,
                                            on_session_signal,
                                            self,
                                            NULL);
  g_dbus_connection_call (self->system_bus,
                          LOGIN1_NAME,
                          path,
                          "org.freedesktop.DBus.Properties",
                          "GetAll",
                          g_variant_new ("(s)", LOGIN1_SESSION),
                          G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE,
                          -1,
                          self->cancellable,
                          on_session_all,
                          self);
}

static void
on_display_session (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SfbIdleMonitor *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret = NULL;
  g_autoptr (GVariant) display = NULL;
  const char *path = NULL;

  ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (ret == NULL)
    {
      g_debug ("No logind session to follow: %s", error->message);
      return;
    }
  g_variant_get (ret, "(v)", &display);
  if (!g_variant_is_of_type (display, G_VARIANT_TYPE ("(so)")))
    return;
  g_variant_get (display, "(&s&o)", NULL, &path);
  if (!g_str_equal (path, "/"))
    follow_session (self, path);
}

static void
on_session_path (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SfbIdleMonitor *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret = NULL;
  const char *path = NULL;

  ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (ret != NULL)
    {
      g_variant_get (ret, "(&o)", &path);
      follow_session (self, path);
      return;
    }
  /* a systemd user service is in no session: the user's graphical one */
  g_debug ("This process's logind session: %s; trying the user's display session", error->message);
  g_dbus_connection_call (self->system_bus,
                          LOGIN1_NAME,
                          LOGIN1_PATH "/user/self",
                          "org.freedesktop.DBus.Properties",
                          "Get",
                          g_variant_new ("(ss)", LOGIN1_USER, "Display"),
                          G_VARIANT_TYPE ("(v)"),
                          G_DBUS_CALL_FLAGS_NONE,
                          -1,
                          self->cancellable,
                          on_display_session,
                          self);
}

static void
find_session (SfbIdleMonitor *self)
{
  const char *id = g_getenv ("XDG_SESSION_ID");
  gboolean by_id = id != NULL && *id != '\0' && g_utf8_validate (id, -1, NULL);

  g_dbus_connection_call (self->system_bus,
                          LOGIN1_NAME,
                          LOGIN1_PATH,
                          LOGIN1_MANAGER,
                          by_id ? "GetSession" : "GetSessionByPID",
                          by_id ? g_variant_new ("(s)", id)
                                : g_variant_new ("(u)", (guint32) getpid ()),
                          G_VARIANT_TYPE ("(o)"),
                          G_DBUS_CALL_FLAGS_NONE,
                          -1,
                          self->cancellable,
                          on_session_path,
                          self);
}

static void
on_system_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SfbIdleMonitor *self = user_data;
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (bus == NULL)
    {
      g_debug ("No system bus, so no logind idle and lock hints: %s", error->message);
      return;
    }
  self->system_bus = bus;
  find_session (self);
}

/* ---- screensavers --------------------------------------------------- */

static void
set_saver (SfbIdleMonitor *self, const char *iface, gboolean active)
{
  for (gsize i = 0; i < G_N_ELEMENTS (screensavers); i++)
    if (g_str_equal (screensavers[i][0], iface))
      self->saver_active[i] = active;
  update (self);
}

static void
on_saver_signal (GDBusConnection *bus,
                 const char *sender,
                 const char *path,
                 const char *iface,
                 const char *signal,
                 GVariant *parameters,
                 gpointer user_data)
{
  gboolean active = FALSE;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    return;
  g_variant_get (parameters, "(b)", &active);
  set_saver (user_data, iface, active);
}

typedef struct
{
  SfbIdleMonitor *self;
  const char *iface;
} SaverCall;

static void
on_saver_active (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree SaverCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret = NULL;
  gboolean active = FALSE;

  ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (ret == NULL)
    return; /* no such screensaver, or cancelled */
  g_variant_get (ret, "(b)", &active);
  set_saver (call->self, call->iface, active);
}

static void
watch_screensavers (SfbIdleMonitor *self)
{
  for (gsize i = 0; i < G_N_ELEMENTS (screensavers); i++)
    {
      SaverCall *call = g_new0 (SaverCall, 1);

      self->saver_subscriptions[i] = g_dbus_connection_signal_subscribe (self->session_bus,
                                                                         screensavers[i][0],
                                                                         screensavers[i][0],
                                                                         "ActiveChanged",
                                                                         NULL,
                                                                         NULL,
                                                                         G_DBUS_SIGNAL_FLAGS_NONE,
                                                                         on_saver_signal,
                                                                         self,
                                                                         NULL);
      call->self = self;
      call->iface = screensavers[i][0];
      g_dbus_connection_call (self->session_bus,
                              screensavers[i][0],
                              screensavers[i][1],
                              screensavers[i][0],
                              "GetActive",
                              NULL,
                              G_VARIANT_TYPE ("(b)"),
                              G_DBUS_CALL_FLAGS_NO_AUTO_START,
                              -1,
                              self->cancellable,
                              on_saver_active,
                              call);
    }
}

/* ---- GNOME's idle monitor ------------------------------------------- */

typedef struct
{
  SfbIdleMonitor *self;
  guint generation;
  guint *slot;
} WatchCall;

static void
on_watch_added (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree WatchCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret = NULL;
  SfbIdleMonitor *self = call->self;
  guint id = 0;

  ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (ret == NULL)
    {
      if (self->mutter)
        g_debug ("GNOME's idle monitor: %s", error->message);
      return;
    }
  g_variant_get (ret, "(u)", &id);
  if (call->generation != self->mutter_generation)
    {
      /* times changed meanwhile: this watch is of no use */
      g_dbus_connection_call (self->session_bus,
                              MUTTER_NAME,
                              MUTTER_PATH,
                              MUTTER_IFACE,
                              "RemoveWatch",
                              g_variant_new ("(u)", id),
                              NULL,
                              G_DBUS_CALL_FLAGS_NONE,
                              -1,
                              NULL,
                              NULL,
                              NULL);
      return;
    }
  if (!self->mutter)
    {
      g_info ("Following GNOME's idle monitor");
      self->mutter = TRUE;
    }
  *call->slot = id;
  update (self);
}

static void
add_watch (SfbIdleMonitor *self, const char *method, GVariant *parameters, guint *slot)
{
  WatchCall *call = g_new0 (WatchCall, 1);

  call->self = self;
  call->generation = self->mutter_generation;
  call->slot = slot;
  g_dbus_connection_call (self->session_bus,
                          MUTTER_NAME,
                          MUTTER_PATH,
                          MUTTER_IFACE,
                          method,
                          parameters,
                          G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          -1,
                          self->cancellable,
                          on_watch_added,
                          call);
}

static void
remove_watch (SfbIdleMonitor *self, guint *slot)
{
  if (*slot == 0)
    return;
  g_dbus_connection_call (self->session_bus,
                          MUTTER_NAME,
                          MUTTER_PATH,
                          MUTTER_IFACE,
                          "RemoveWatch",
                          g_variant_new ("(u)", *slot),
                          NULL,
                          G_DBUS_CALL_FLAGS_NONE,
                          -1,
                          NULL,
                          NULL,
                          NULL);
  *slot = 0;
}

/* Idle watches at the inactive and away times (input idle time). */
static void
mutter_arm (SfbIdleMonitor *self)
{
  guint64 inactive_ms = (guint64) self->inactive_s * 1000;
  guint64 away_ms = inactive_ms + (guint64) self->away_s * 1000;

  self->mutter_generation++;
  remove_watch (self, &self->mutter_watch_inactive);
  remove_watch (self, &self->mutter_watch_away);
  if (self->inactive_s != 0)
    add_watch (
        self, "AddIdleWatch", g_variant_new ("(t)", inactive_ms), &self->mutter_watch_inactive);
  if (self->away_s != 0)
    add_watch (self, "AddIdleWatch", g_variant_new ("(t)", away_ms), &self->mutter_watch_away);
}

static void
on_mutter_signal (GDBusConnection *bus,
                  const char *sender,
                  const char *path,
                  const char *iface,
                  const char *signal,
                  GVariant *parameters,
                  gpointer user_data)
{
  SfbIdleMonitor *self = user_data;
  guint id = 0;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(u)")))
    return;
  g_variant_get (parameters, "(u)", &id);
  if (id == 0)
    return;
  if (id == self->mutter_watch_active)
    {
      /* a user-active watch fires once */
      self->mutter_watch_active = 0;
      self->mutter_level = SFB_IDLE_ACTIVE;
    }
  else if (id == self->mutter_watch_away)
    self->mutter_level = SFB_IDLE_AWAY;
  else if (id == self->mutter_watch_inactive)
    self->mutter_level = MAX (self->mutter_level, SFB_IDLE_INACTIVE);
  else
    return;
  if (self->mutter_level != SFB_IDLE_ACTIVE && self->mutter_watch_active == 0)
    add_watch (self, "AddUserActiveWatch", NULL, &self->mutter_watch_active);
  update (self);
}

static void
watch_mutter (SfbIdleMonitor *self)
{
  self->mutter_subscription = g_dbus_connection_signal_subscribe (self->session_bus,
                                                                  MUTTER_NAME,
                                                                  MUTTER_IFACE,
                                                                  "WatchFired",
                                                                  MUTTER_PATH,
                                                                  NULL,
                                                                  G_DBUS_SIGNAL_FLAGS_NONE,
                                                                  on_mutter_signal,
                                                                  self,
                                                                  NULL);
  mutter_arm (self);
}

/* ---- object --------------------------------------------------------- */

SfbIdleMonitor *
sfb_idle_monitor_new (GDBusConnection *session_bus)
{
  SfbIdleMonitor *self = g_object_new (SFB_TYPE_IDLE_MONITOR, NULL);

  if (session_bus != NULL)
    {
      self->session_bus = g_object_ref (session_bus);
      watch_screensavers (self);
      watch_mutter (self);
    }
  g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, on_system_bus, self);
  return self;
}

void
sfb_idle_monitor_set_times (SfbIdleMonitor *self, guint inactive_s, guint away_s)
{
  g_return_if_fail (SFB_IS_IDLE_MONITOR (self));

  if (inactive_s == self->inactive_s && away_s == self->away_s)
    return;
  self->inactive_s = inactive_s;
  self->away_s = away_s;
  if (self->session_bus != NULL)
    mutter_arm (self);
  update (self);
}

SfbIdleState
sfb_idle_monitor_get_state (SfbIdleMonitor *self)
{
  g_return_val_if_fail (SFB_IS_IDLE_MONITOR (self), SFB_IDLE_ACTIVE);
  return self->state;
}

static void
sfb_idle_monitor_dispose (GObject *object)
{
  SfbIdleMonitor *self = SFB_IDLE_MONITOR (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->session_bus != NULL)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (screensavers); i++)
        if (self->saver_subscriptions[i] != 0)
          g_dbus_connection_signal_unsubscribe (self->session_bus, self->saver_subscriptions[i]);
      memset (self->saver_subscriptions, 0, sizeof self->saver_subscriptions);
      if (self->mutter_subscription != 0)
        g_dbus_connection_signal_unsubscribe (self->session_bus, self->mutter_subscription);
      self->mutter_subscription = 0;
      remove_watch (self, &self->mutter_watch_inactive);
      remove_watch (self, &self->mutter_watch_away);
      remove_watch (self, &self->mutter_watch_active);
    }
  if (self->system_bus != NULL && self->session_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->system_bus, self->session_subscription);
  self->session_subscription = 0;
  g_clear_object (&self->session_bus);
  g_clear_object (&self->system_bus);
  G_OBJECT_CLASS (sfb_idle_monitor_parent_class)->dispose (object);
}

static void
sfb_idle_monitor_finalize (GObject *object)
{
  SfbIdleMonitor *self = SFB_IDLE_MONITOR (object);

  g_clear_object (&self->cancellable);
  g_free (self->session_path);
  G_OBJECT_CLASS (sfb_idle_monitor_parent_class)->finalize (object);
}

static void
sfb_idle_monitor_init (SfbIdleMonitor *self)
{
  self->cancellable = g_cancellable_new ();
  self->state = SFB_IDLE_ACTIVE;
  self->mutter_level = SFB_IDLE_ACTIVE;
}

static void
sfb_idle_monitor_class_init (SfbIdleMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_idle_monitor_dispose;
  object_class->finalize = sfb_idle_monitor_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new (
      "changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}
