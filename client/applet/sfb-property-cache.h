/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The property cache of a GDBusProxy made with
 * G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES, kept by the caller: a proxy
 * that loads its own properties waits up to 25 s for GetAll() and then
 * hides the failure, while sfbctl and the applet bound every call and say
 * "sfbd is not answering".  Shared by both.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Stores GetAll()'s a{sv} in @proxy's cache. */
void sfb_property_cache_set_all (GDBusProxy *proxy, GVariant *properties);

/* Follows PropertiesChanged of @proxy's interface from its name's owner:
 * updates the cache and emits g-properties-changed, as a proxy that loads
 * its properties does (it alone subscribes).  Returns the subscription,
 * for g_dbus_connection_signal_unsubscribe(); it does not keep @proxy
 * alive. */
guint sfb_property_cache_follow (GDBusProxy *proxy);

G_END_DECLS
