/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Property caches kept by the caller: see sfb-property-cache.h. */
#include "config.h"

#include "sfb-property-cache.h"

void
sfb_property_cache_set_all (GDBusProxy *proxy, GVariant *properties)
{
  GVariantIter iter;
  const char *name;
  GVariant *value;

  g_return_if_fail (G_IS_DBUS_PROXY (proxy));
  g_return_if_fail (g_variant_is_of_type (properties, G_VARIANT_TYPE_VARDICT));

  g_variant_iter_init (&iter, properties);
  while (g_variant_iter_loop (&iter, "{&sv}", &name, &value))
    g_dbus_proxy_set_cached_property (proxy, name, value);
}

static void
on_properties_changed (GDBusConnection *connection,
                       const char *sender,
                       const char *path,
                       const char *interface_name,
                       const char *signal_name,
                       GVariant *parameters,
                       gpointer user_data)
{
  g_autoptr (GDBusProxy) proxy = g_weak_ref_get (user_data);
  g_autoptr (GVariant) changed = NULL;
  g_autofree const char **invalidated = NULL;
  const char *changed_interface;

  if (proxy == NULL || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    return;
  g_variant_get (parameters, "(&s@a{sv}^a&s)", &changed_interface, &changed, &invalidated);
  if (g_strcmp0 (changed_interface, g_dbus_proxy_get_interface_name (proxy)) != 0)
    return;

  sfb_property_cache_set_all (proxy, changed);
  for (gsize i = 0; invalidated[i] != NULL; i++)
    g_dbus_proxy_set_cached_property (proxy, invalidated[i], NULL);
  g_signal_emit_by_name (proxy, "g-properties-changed", changed, invalidated);
}

static void
weak_ref_free (gpointer weak_ref)
{
  g_weak_ref_clear (weak_ref);
  g_free (weak_ref);
}

guint
sfb_property_cache_follow (GDBusProxy *proxy)
{
  GWeakRef *weak_ref = g_new0 (GWeakRef, 1);

  g_return_val_if_fail (G_IS_DBUS_PROXY (proxy), 0);

  g_weak_ref_init (weak_ref, proxy);
  return g_dbus_connection_signal_subscribe (g_dbus_proxy_get_connection (proxy),
                                             g_dbus_proxy_get_name (proxy),
                                             "org.freedesktop.DBus.Properties",
                                             "PropertiesChanged",
                                             g_dbus_proxy_get_object_path (proxy),
                                             g_dbus_proxy_get_interface_name (proxy),
                                             G_DBUS_SIGNAL_FLAGS_NONE,
                                             on_properties_changed,
                                             weak_ref,
                                             weak_ref_free);
}
