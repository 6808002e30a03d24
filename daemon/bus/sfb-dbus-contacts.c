/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Contacts: empty until contacts are retrieved at sign-in */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

static gboolean
handle_list_contacts (SfbDBusContacts *skeleton,
                      GDBusMethodInvocation *invocation,
                      SfbDaemon *daemon)
{
  sfb_dbus_contacts_complete_list_contacts (
      skeleton, invocation, g_variant_new_array (G_VARIANT_TYPE_VARDICT, NULL, 0));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_groups (SfbDBusContacts *skeleton, GDBusMethodInvocation *invocation, SfbDaemon *daemon)
{
  sfb_dbus_contacts_complete_list_groups (
      skeleton, invocation, g_variant_new_array (G_VARIANT_TYPE_VARDICT, NULL, 0));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

GDBusInterfaceSkeleton *
sfb_dbus_contacts_adapter_new (SfbDaemon *daemon)
{
  SfbDBusContacts *skeleton = sfb_dbus_contacts_skeleton_new ();

  sfb_dbus_contacts_set_count (skeleton, 0);
  sfb_dbus_contacts_set_revision (skeleton, 0);
  g_signal_connect_object (
      skeleton, "handle-list-contacts", G_CALLBACK (handle_list_contacts), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-list-groups", G_CALLBACK (handle_list_groups), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
