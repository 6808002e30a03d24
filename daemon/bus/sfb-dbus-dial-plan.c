/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.DialPlan: the location profile of SfbSettings (the cached
 * one until the server answers after sign-in) */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"
#include "sfb-settings.h"

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

  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!sfb_daemon_normalize_number (
          daemon, number, &normalized, &pattern, &internal_extension, &error))
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_dial_plan_complete_normalize (
      skeleton, invocation, normalized, pattern, internal_extension);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_dial_plan_changed (SfbSettings *settings, SfbDBusDialPlan *skeleton)
{
  SfbDialPlan *plan = sfb_settings_get_dial_plan (settings);

  sfb_dbus_dial_plan_set_name (skeleton, plan != NULL ? sfb_dial_plan_get_name (plan) : "");
  sfb_dbus_dial_plan_set_external_access_prefix (
      skeleton, plan != NULL ? sfb_dial_plan_get_external_access_prefix (plan) : "");
  sfb_dbus_dial_plan_set_optimize_device_dialing (
      skeleton, plan != NULL && sfb_dial_plan_get_optimize_device_dialing (plan));
  sfb_dbus_dial_plan_set_rules (skeleton,
                                plan != NULL
                                    ? sfb_dial_plan_get_rules (plan)
                                    : g_variant_new_array (G_VARIANT_TYPE_VARDICT, NULL, 0));
  sfb_dbus_dial_plan_set_cached (skeleton, sfb_settings_dial_plan_is_cached (settings));
}

GDBusInterfaceSkeleton *
sfb_dbus_dial_plan_adapter_new (SfbDaemon *daemon)
{
  SfbDBusDialPlan *skeleton = sfb_dbus_dial_plan_skeleton_new ();
  SfbSettings *settings = sfb_daemon_get_settings (daemon);

  on_dial_plan_changed (settings, skeleton);
  g_signal_connect_object (skeleton, "handle-normalize", G_CALLBACK (handle_normalize), daemon, 0);
  g_signal_connect_object (
      settings, "dial-plan-changed", G_CALLBACK (on_dial_plan_changed), skeleton, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
