/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-service.h"

#include "sfb-dbus-adapters.h"
#include "sfb-args.h"
#include "sfb-error.h"
#include "sfb-log.h"

#include <sfbd/sfb-names.h>
#include <string.h>

struct _SfbDBusService
{
  GObject parent_instance;

  SfbDaemon *daemon;
  GPtrArray *skeletons; /* GDBusInterfaceSkeleton, one per interface */
  gboolean exported;
};

G_DEFINE_FINAL_TYPE (SfbDBusService, sfb_dbus_service, G_TYPE_OBJECT)

/*
 * Returns @error (taken) to the caller, converted to a contract name
 * first so that nothing but org.sfbd.Sfbd.Error.* crosses the bus.
 */
gboolean
sfb_dbus_return_error (GDBusMethodInvocation *invocation, GError *error)
{
  sfb_error_convert (&error);
  g_debug ("%s.%s failed: %s: %s",
           g_dbus_method_invocation_get_interface_name (invocation),
           g_dbus_method_invocation_get_method_name (invocation),
           sfb_error_get_dbus_name (error),
           error->message);
  g_dbus_method_invocation_take_error (invocation, error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* FALSE, with the error returned, when an argument is out of bounds
 * (sfb_args_check); the handler then only returns HANDLED. */
gboolean
sfb_dbus_args_ok (GDBusMethodInvocation *invocation)
{
  const char *interface = g_dbus_method_invocation_get_interface_name (invocation);
  const char *dot = strrchr (interface, '.');
  GError *error = NULL;

  if (sfb_args_check (dot != NULL ? dot + 1 : interface,
                      g_dbus_method_invocation_get_method_name (invocation),
                      g_dbus_method_invocation_get_parameters (invocation),
                      &error))
    return TRUE;
  sfb_dbus_return_error (invocation, error);
  return FALSE;
}

/* Same-named properties; the skeleton then emits PropertiesChanged. */
void
sfb_dbus_bind_properties (SfbDaemon *daemon, gpointer skeleton, const char *const *names)
{
  for (gsize i = 0; names[i] != NULL; i++)
    g_object_bind_property (daemon, names[i], skeleton, names[i], G_BINDING_SYNC_CREATE);
}

gboolean
sfb_dbus_service_export (SfbDBusService *self, GDBusConnection *connection, GError **error)
{
  g_return_val_if_fail (SFB_IS_DBUS_SERVICE (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (!self->exported, FALSE);

  for (guint i = 0; i < self->skeletons->len; i++)
    {
      GDBusInterfaceSkeleton *skeleton = g_ptr_array_index (self->skeletons, i);

      if (!g_dbus_interface_skeleton_export (skeleton, connection, SFB_DBUS_PATH, error))
        {
          for (guint j = 0; j < i; j++)
            g_dbus_interface_skeleton_unexport (g_ptr_array_index (self->skeletons, j));
          return FALSE;
        }
    }
  self->exported = TRUE;
  g_debug ("Exported %u interfaces on %s", self->skeletons->len, SFB_DBUS_PATH);
  return TRUE;
}

void
sfb_dbus_service_unexport (SfbDBusService *self)
{
  g_return_if_fail (SFB_IS_DBUS_SERVICE (self));

  if (!self->exported)
    return;
  for (guint i = 0; i < self->skeletons->len; i++)
    g_dbus_interface_skeleton_unexport (g_ptr_array_index (self->skeletons, i));
  self->exported = FALSE;
}

static void
sfb_dbus_service_dispose (GObject *object)
{
  SfbDBusService *self = SFB_DBUS_SERVICE (object);

  sfb_dbus_service_unexport (self);
  g_clear_pointer (&self->skeletons, g_ptr_array_unref);
  g_clear_object (&self->daemon);
  G_OBJECT_CLASS (sfb_dbus_service_parent_class)->dispose (object);
}

static void
sfb_dbus_service_class_init (SfbDBusServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sfb_dbus_service_dispose;
}

static void
sfb_dbus_service_init (SfbDBusService *self)
{
  self->skeletons = g_ptr_array_new_with_free_func (g_object_unref);
}

SfbDBusService *
sfb_dbus_service_new (SfbDaemon *daemon)
{
  SfbDBusService *self;

  g_return_val_if_fail (SFB_IS_DAEMON (daemon), NULL);

  self = g_object_new (SFB_TYPE_DBUS_SERVICE, NULL);
  self->daemon = g_object_ref (daemon);
  g_ptr_array_add (self->skeletons, sfb_dbus_account_adapter_new (daemon));
  g_ptr_array_add (self->skeletons, sfb_dbus_presence_adapter_new (daemon));
  g_ptr_array_add (self->skeletons, sfb_dbus_contacts_adapter_new (daemon));
  g_ptr_array_add (self->skeletons, sfb_dbus_dial_plan_adapter_new (daemon));
  g_ptr_array_add (self->skeletons, sfb_dbus_policies_adapter_new (daemon));
  g_ptr_array_add (self->skeletons, sfb_dbus_devices_adapter_new (daemon));
  g_ptr_array_add (self->skeletons, sfb_dbus_exchange_adapter_new (daemon));
  g_ptr_array_add (self->skeletons, sfb_dbus_diagnostics_adapter_new (daemon));
  g_ptr_array_add (self->skeletons, sfb_dbus_conversations_adapter_new (daemon));
  return self;
}

void
sfb_dbus_service_set_notifier (SfbDBusService *self, SfbNotifier *notifier)
{
  g_return_if_fail (SFB_IS_DBUS_SERVICE (self));

  for (guint i = 0; i < self->skeletons->len; i++)
    if (SFB_DBUS_IS_CONVERSATIONS (g_ptr_array_index (self->skeletons, i)))
      sfb_dbus_conversations_adapter_set_notifier (g_ptr_array_index (self->skeletons, i),
                                                   notifier);
}
