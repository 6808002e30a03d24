/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Exchange: the user's mailbox (SfbExchange): calendar,
 * out-of-office, voicemail and missed conversations */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

#include "sfb-error.h"
#include "sfb-exchange.h"

#include <sfbd/sfb-names.h>

/* Refresh() reads Exchange with the sign-in's credentials, so it needs
 * one; the reads themselves report through State and LastError. */
static gboolean
handle_refresh (SfbDBusExchange *skeleton, GDBusMethodInvocation *invocation, SfbDaemon *daemon)
{
  if (g_strcmp0 (sfb_daemon_get_state (daemon), SFB_STATE_SIGNED_IN) != 0)
    return sfb_dbus_return_error (
        invocation,
        g_error_new_literal (SFB_ERROR,
                             SFB_ERROR_NOT_SIGNED_IN,
                             "Not signed in, so Exchange cannot be read. Sign in first with: "
                             "sfbctl sign-in"));
  sfb_exchange_refresh (sfb_daemon_get_exchange (daemon));
  sfb_dbus_exchange_complete_refresh (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

GDBusInterfaceSkeleton *
sfb_dbus_exchange_adapter_new (SfbDaemon *daemon)
{
  /* SfbExchange's properties carry the D-Bus names in kebab case. */
  static const char *const bound[] = {
    "state",
    "last-error",
    "ews-url",
    "in-meeting",
    "current-meeting",
    "next-meeting",
    "out-of-office",
    "out-of-office-message",
    "unread-voicemails",
    "missed-conversations",
    "line-uri",
    "um-url",
    NULL,
  };
  SfbDBusExchange *skeleton = sfb_dbus_exchange_skeleton_new ();
  SfbExchange *exchange = sfb_daemon_get_exchange (daemon);

  for (gsize i = 0; bound[i] != NULL; i++)
    g_object_bind_property (exchange, bound[i], skeleton, bound[i], G_BINDING_SYNC_CREATE);
  g_signal_connect_object (skeleton, "handle-refresh", G_CALLBACK (handle_refresh), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
