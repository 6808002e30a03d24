/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Policies: the provisioning groups of SfbSettings (the
 * cached ones until the server answers after sign-in) */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"
#include "sfb-settings.h"

static gboolean
handle_get_policy (SfbDBusPolicies *skeleton,
                   GDBusMethodInvocation *invocation,
                   const char *group,
                   SfbDaemon *daemon)
{
  g_autoptr (GVariant) policy = NULL;
  GError *error = NULL;

  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  policy = sfb_daemon_get_policy (daemon, group, &error);
  if (policy == NULL)
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_policies_complete_get_policy (skeleton, invocation, policy);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_all (SfbDBusPolicies *skeleton, GDBusMethodInvocation *invocation, SfbDaemon *daemon)
{
  sfb_dbus_policies_complete_get_all (
      skeleton, invocation, sfb_settings_get_policies (sfb_daemon_get_settings (daemon)));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_policies_changed (SfbSettings *settings, SfbDBusPolicies *skeleton)
{
  g_auto (GStrv) groups = sfb_settings_dup_groups (settings);

  sfb_dbus_policies_set_groups (skeleton, (const char *const *) groups);
  sfb_dbus_policies_set_cached (skeleton, sfb_settings_policies_are_cached (settings));
  sfb_dbus_policies_emit_policies_changed (skeleton);
}

GDBusInterfaceSkeleton *
sfb_dbus_policies_adapter_new (SfbDaemon *daemon)
{
  SfbDBusPolicies *skeleton = sfb_dbus_policies_skeleton_new ();
  SfbSettings *settings = sfb_daemon_get_settings (daemon);
  g_auto (GStrv) groups = sfb_settings_dup_groups (settings);

  sfb_dbus_policies_set_groups (skeleton, (const char *const *) groups);
  sfb_dbus_policies_set_cached (skeleton, sfb_settings_policies_are_cached (settings));
  g_signal_connect_object (
      skeleton, "handle-get-policy", G_CALLBACK (handle_get_policy), daemon, 0);
  g_signal_connect_object (skeleton, "handle-get-all", G_CALLBACK (handle_get_all), daemon, 0);
  g_signal_connect_object (
      settings, "policies-changed", G_CALLBACK (on_policies_changed), skeleton, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
