/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One adapter per interface: a generated skeleton whose properties are
 * bound to SfbDaemon and whose methods call it.  Private to bus/.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-daemon.h"
#include "sfb-dbus-generated.h"
#include "sfb-notifier.h"

G_BEGIN_DECLS

GDBusInterfaceSkeleton *sfb_dbus_account_adapter_new (SfbDaemon *daemon);
GDBusInterfaceSkeleton *sfb_dbus_presence_adapter_new (SfbDaemon *daemon);
GDBusInterfaceSkeleton *sfb_dbus_contacts_adapter_new (SfbDaemon *daemon);
GDBusInterfaceSkeleton *sfb_dbus_dial_plan_adapter_new (SfbDaemon *daemon);
GDBusInterfaceSkeleton *sfb_dbus_policies_adapter_new (SfbDaemon *daemon);
GDBusInterfaceSkeleton *sfb_dbus_devices_adapter_new (SfbDaemon *daemon);
GDBusInterfaceSkeleton *sfb_dbus_exchange_adapter_new (SfbDaemon *daemon);
GDBusInterfaceSkeleton *sfb_dbus_diagnostics_adapter_new (SfbDaemon *daemon);
GDBusInterfaceSkeleton *sfb_dbus_conversations_adapter_new (SfbDaemon *daemon);
void sfb_dbus_conversations_adapter_set_notifier (GDBusInterfaceSkeleton *adapter,
                                                  SfbNotifier *notifier);

gboolean sfb_dbus_return_error (GDBusMethodInvocation *invocation, GError *error);
gboolean sfb_dbus_args_ok (GDBusMethodInvocation *invocation);
void sfb_dbus_bind_properties (SfbDaemon *daemon, gpointer skeleton, const char *const *names);

G_END_DECLS
