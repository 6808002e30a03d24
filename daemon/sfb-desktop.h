/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbDesktop: SfbDaemon at home in the desktop session (docs/architecture.md
 * §12).  It publishes the session's idle and lock state as the machineState
 * (SfbIdleMonitor → SfbPresence), and notifies (SfbNotifier) the failures only
 * the user can fix, once per failure, withdrawn once signed in, and a
 * reconnect that lasts longer than Notifications.ReconnectingAfter.  Their
 * actions start the account window, sfbd-window(1).  Suspend is the
 * session's own (daemon/session/sfb-reconnect-policy.c).
 */
#pragma once

#include <gio/gio.h>

#include "sfb-daemon.h"
#include "sfb-notifier.h"

G_BEGIN_DECLS

/* A reconnect lasting longer than this gets a notification (seconds). */
#define SFB_DESKTOP_RECONNECTING_AFTER_S 120
/* The inactive and away times of the SfB client (seconds). */
#define SFB_DESKTOP_INACTIVE_AFTER_S 300
#define SFB_DESKTOP_AWAY_AFTER_S 300

#define SFB_TYPE_DESKTOP (sfb_desktop_get_type ())
G_DECLARE_FINAL_TYPE (SfbDesktop, sfb_desktop, SFB, DESKTOP, GObject)

/* @session_bus NULL: idle and lock from logind only, no notifications. */
SfbDesktop *sfb_desktop_new (SfbDaemon *daemon, GDBusConnection *session_bus);

/* The daemon's one notifier: the failures here, the instant messages in
 * the Conversations adapter (keys "im-<id>"), one view of the server. */
SfbNotifier *sfb_desktop_get_notifier (SfbDesktop *self);

G_END_DECLS
