/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.sfbd.Sfbd1.Devices: the PipeWire devices of SfbDaemon's device
 * monitor, the ones in use, and the preferred ones kept in sfbd.conf.
 */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

static gboolean
handle_list_devices (SfbDBusDevices *skeleton, GDBusMethodInvocation *invocation, SfbDaemon *daemon)
{
  g_autoptr (GVariant) devices = sfb_daemon_list_devices (daemon);

  sfb_dbus_devices_complete_list_devices (skeleton, invocation, devices);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_select_device (SfbDBusDevices *skeleton,
                      GDBusMethodInvocation *invocation,
                      const char *kind,
                      const char *name,
                      SfbDaemon *daemon)
{
  GError *error = NULL;

  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!sfb_daemon_select_device (daemon, kind, name, &error))
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_devices_complete_select_device (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

GDBusInterfaceSkeleton *
sfb_dbus_devices_adapter_new (SfbDaemon *daemon)
{
  static const char *const bound[] = { "audio-output", "audio-input", "video-input", NULL };
  SfbDBusDevices *skeleton = sfb_dbus_devices_skeleton_new ();

  sfb_dbus_bind_properties (daemon, skeleton, bound);
  g_signal_connect_object (
      skeleton, "handle-list-devices", G_CALLBACK (handle_list_devices), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-select-device", G_CALLBACK (handle_select_device), daemon, 0);
  g_signal_connect_object (daemon,
                           "devices-changed",
                           G_CALLBACK (sfb_dbus_devices_emit_devices_changed),
                           skeleton,
                           G_CONNECT_SWAPPED);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
