/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Policies: empty until provisioning is received */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

static gboolean
handle_get_policy (SfbDBusPolicies *skeleton,
                   GDBusMethodInvocation *invocation,
                   const char *group,
                   SfbDaemon *daemon)
{
  g_autoptr (GVariant) policy = NULL;
  GError *error = NULL;

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
      skeleton, invocation, g_variant_new_array (G_VARIANT_TYPE ("{sa{sv}}"), NULL, 0));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

GDBusInterfaceSkeleton *
sfb_dbus_policies_adapter_new (SfbDaemon *daemon)
{
  static const char *const no_groups[] = { NULL };
  SfbDBusPolicies *skeleton = sfb_dbus_policies_skeleton_new ();

  sfb_dbus_policies_set_groups (skeleton, no_groups);
  g_signal_connect_object (
      skeleton, "handle-get-policy", G_CALLBACK (handle_get_policy), daemon, 0);
  g_signal_connect_object (skeleton, "handle-get-all", G_CALLBACK (handle_get_all), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
