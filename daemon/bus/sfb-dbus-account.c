/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Account */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

/* The password lookup may take a Secret Service round trip: async. */
static void
on_signed_in (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data; /* the reply consumes it */
  GDBusInterfaceSkeleton *skeleton = g_object_get_data (G_OBJECT (invocation), "skeleton");
  GError *error = NULL;

  /* the new attempt's State goes out before the reply, so a client that
   * follows State after the reply (sfbctl sign-in --wait) never takes the
   * previous attempt's "failed" or "reconnecting" for this one's */
  if (skeleton != NULL)
    g_dbus_interface_skeleton_flush (skeleton);
  if (!sfb_daemon_sign_in_finish (SFB_DAEMON (source), result, &error))
    sfb_dbus_return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_sign_in (SfbDBusAccount *skeleton, GDBusMethodInvocation *invocation, SfbDaemon *daemon)
{
  g_object_set_data_full (
      G_OBJECT (invocation), "skeleton", g_object_ref (skeleton), g_object_unref);
  sfb_daemon_sign_in_async (daemon, NULL, on_signed_in, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_sign_out (SfbDBusAccount *skeleton, GDBusMethodInvocation *invocation, SfbDaemon *daemon)
{
  GError *error = NULL;

  if (!sfb_daemon_sign_out (daemon, &error))
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_account_complete_sign_out (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_reconnect (SfbDBusAccount *skeleton, GDBusMethodInvocation *invocation, SfbDaemon *daemon)
{
  GError *error = NULL;

  if (!sfb_daemon_reconnect (daemon, &error))
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_account_complete_reconnect (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_configure (SfbDBusAccount *skeleton,
                  GDBusMethodInvocation *invocation,
                  GVariant *settings,
                  SfbDaemon *daemon)
{
  GError *error = NULL;

  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!sfb_daemon_configure (daemon, settings, &error))
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_account_complete_configure (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_password_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data; /* the reply consumes it */
  GError *error = NULL;

  if (!sfb_daemon_set_password_finish (SFB_DAEMON (source), result, &error))
    sfb_dbus_return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_set_password (SfbDBusAccount *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char *password,
                     gboolean store,
                     SfbDaemon *daemon)
{
  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  sfb_daemon_set_password_async (daemon, password, store, NULL, on_password_set, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_credentials_forgotten (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data; /* the reply consumes it */
  GError *error = NULL;

  if (!sfb_daemon_forget_credentials_finish (SFB_DAEMON (source), result, &error))
    sfb_dbus_return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_forget_credentials (SfbDBusAccount *skeleton,
                           GDBusMethodInvocation *invocation,
                           SfbDaemon *daemon)
{
  sfb_daemon_forget_credentials_async (daemon, NULL, on_credentials_forgotten, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_sign_in_trace (SfbDBusAccount *skeleton,
                          GDBusMethodInvocation *invocation,
                          SfbDaemon *daemon)
{
  g_autoptr (GVariant) stages = sfb_daemon_get_sign_in_trace (daemon);

  sfb_dbus_account_complete_get_sign_in_trace (skeleton, invocation, stages);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

GDBusInterfaceSkeleton *
sfb_dbus_account_adapter_new (SfbDaemon *daemon)
{
  static const char *const bound[] = {
    "state",
    "uri",
    "login",
    "server",
    "server-version",
    "auth-method",
    "access-location",
    "local-address",
    "interface",
    "signed-in-since",
    "last-error",
    "last-error-message",
    "reconnect-attempts",
    "credential-store",
    "credential-store-message",
    "next-retry",
    NULL,
  };
  SfbDBusAccount *skeleton = sfb_dbus_account_skeleton_new ();

  sfb_dbus_account_set_version (skeleton, PACKAGE_VERSION);
  sfb_dbus_bind_properties (daemon, skeleton, bound);

  g_signal_connect_object (skeleton, "handle-sign-in", G_CALLBACK (handle_sign_in), daemon, 0);
  g_signal_connect_object (skeleton, "handle-sign-out", G_CALLBACK (handle_sign_out), daemon, 0);
  g_signal_connect_object (skeleton, "handle-reconnect", G_CALLBACK (handle_reconnect), daemon, 0);
  g_signal_connect_object (skeleton, "handle-configure", G_CALLBACK (handle_configure), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-set-password", G_CALLBACK (handle_set_password), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-forget-credentials", G_CALLBACK (handle_forget_credentials), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-get-sign-in-trace", G_CALLBACK (handle_get_sign_in_trace), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
