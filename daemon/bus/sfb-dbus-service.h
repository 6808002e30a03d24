/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbDBusService: exports SfbDaemon on /org/sfbd/Sfbd with all the
 * org.sfbd.Sfbd1.* interfaces.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-daemon.h"
#include "sfb-notifier.h"

G_BEGIN_DECLS

#define SFB_TYPE_DBUS_SERVICE (sfb_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (SfbDBusService, sfb_dbus_service, SFB, DBUS_SERVICE, GObject)

SfbDBusService *sfb_dbus_service_new (SfbDaemon *daemon);
gboolean
sfb_dbus_service_export (SfbDBusService *self, GDBusConnection *connection, GError **error);
void sfb_dbus_service_unexport (SfbDBusService *self);
/* The desktop session's notifier, for the instant-message notifications
 * (NULL: none). */
void sfb_dbus_service_set_notifier (SfbDBusService *self, SfbNotifier *notifier);

G_END_DECLS
