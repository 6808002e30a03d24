/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Presence: own presence is "offline" until sign-in exists */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

#include <sfbd/sfb-names.h>

static gboolean
handle_set_availability (SfbDBusPresence *skeleton,
                         GDBusMethodInvocation *invocation,
                         const char *availability,
                         SfbDaemon *daemon)
{
  GError *error = NULL;

  if (!sfb_daemon_set_availability (daemon, availability, &error))
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_presence_complete_set_availability (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_note (SfbDBusPresence *skeleton,
                 GDBusMethodInvocation *invocation,
                 const char *note,
                 SfbDaemon *daemon)
{
  GError *error = NULL;

  if (!sfb_daemon_set_note (daemon, note, &error))
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_presence_complete_set_note (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Nobody's presence is known yet. */
static gboolean
handle_get_presence (SfbDBusPresence *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char *const *uris,
                     SfbDaemon *daemon)
{
  sfb_dbus_presence_complete_get_presence (
      skeleton, invocation, g_variant_new_array (G_VARIANT_TYPE ("{sa{sv}}"), NULL, 0));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

GDBusInterfaceSkeleton *
sfb_dbus_presence_adapter_new (SfbDaemon *daemon)
{
  SfbDBusPresence *skeleton = sfb_dbus_presence_skeleton_new ();

  sfb_dbus_presence_set_availability (skeleton, SFB_AVAILABILITY_OFFLINE);
  sfb_dbus_presence_set_availability_code (skeleton, 0);
  sfb_dbus_presence_set_activity (skeleton, "");
  sfb_dbus_presence_set_note (skeleton, "");

  g_signal_connect_object (
      skeleton, "handle-set-availability", G_CALLBACK (handle_set_availability), daemon, 0);
  g_signal_connect_object (skeleton, "handle-set-note", G_CALLBACK (handle_set_note), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-get-presence", G_CALLBACK (handle_get_presence), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
