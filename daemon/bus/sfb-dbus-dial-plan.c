/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.DialPlan: empty until the location profile is retrieved */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

static gboolean
handle_normalize (SfbDBusDialPlan *skeleton,
                  GDBusMethodInvocation *invocation,
                  const char *number,
                  SfbDaemon *daemon)
{
  g_autofree char *normalized = NULL;
  g_autofree char *pattern = NULL;
  gboolean internal_extension = FALSE;
  GError *error = NULL;

  if (!sfb_daemon_normalize_number (
          daemon, number, &normalized, &pattern, &internal_extension, &error))
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_dial_plan_complete_normalize (
      skeleton, invocation, normalized, pattern, internal_extension);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

GDBusInterfaceSkeleton *
sfb_dbus_dial_plan_adapter_new (SfbDaemon *daemon)
{
  SfbDBusDialPlan *skeleton = sfb_dbus_dial_plan_skeleton_new ();

  sfb_dbus_dial_plan_set_name (skeleton, "");
  sfb_dbus_dial_plan_set_external_access_prefix (skeleton, "");
  sfb_dbus_dial_plan_set_optimize_device_dialing (skeleton, FALSE);
  sfb_dbus_dial_plan_set_rules (skeleton, g_variant_new_array (G_VARIANT_TYPE_VARDICT, NULL, 0));
  g_signal_connect_object (skeleton, "handle-normalize", G_CALLBACK (handle_normalize), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
