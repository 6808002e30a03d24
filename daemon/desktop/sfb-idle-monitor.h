/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbIdleMonitor: whether the user uses the computer, as the SfB client
 * publishes it (docs/architecture.md §12): active, inactive after the
 * inactive time without input, away after the away time more; away at once
 * while the screen is locked.
 *
 * Sources, all optional: GNOME's idle monitor (org.gnome.Mutter.IdleMonitor,
 * input idle time, preferred when present); logind's session IdleHint
 * (idle since IdleSinceHint) and LockedHint on the system bus (the session
 * from XDG_SESSION_ID, else this process's, else the user's display
 * session); org.gnome.ScreenSaver and org.freedesktop.ScreenSaver
 * ActiveChanged on the session bus (active counts as locked).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  SFB_IDLE_ACTIVE,
  SFB_IDLE_INACTIVE,
  SFB_IDLE_AWAY,
} SfbIdleState;

#define SFB_TYPE_IDLE_MONITOR (sfb_idle_monitor_get_type ())
G_DECLARE_FINAL_TYPE (SfbIdleMonitor, sfb_idle_monitor, SFB, IDLE_MONITOR, GObject)

/* @session_bus NULL: no screensaver nor GNOME idle monitor.  The system bus
 * (logind) is looked up here (DBUS_SYSTEM_BUS_ADDRESS, else the default). */
SfbIdleMonitor *sfb_idle_monitor_new (GDBusConnection *session_bus);

/* Seconds without input before inactive, then more before away; 0: never. */
void sfb_idle_monitor_set_times (SfbIdleMonitor *self, guint inactive_s, guint away_s);

SfbIdleState sfb_idle_monitor_get_state (SfbIdleMonitor *self);
gboolean sfb_idle_monitor_get_locked (SfbIdleMonitor *self);
const char *sfb_idle_state_to_string (SfbIdleState state);

/* Signals: "changed" (no arguments): the state changed. */

G_END_DECLS
