/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A com.canonical.dbusmenu server: the menu a tray host shows for a
 * StatusNotifierItem.  The owner rebuilds the whole menu whenever its
 * model changes (begin, add items, commit); commit announces a new layout
 * revision only when something visible changed.  Clicks arrive as the
 * "activated" signal, menus about to open as "about-to-show".
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SFB_TYPE_DBUS_MENU (sfb_dbus_menu_get_type ())
G_DECLARE_FINAL_TYPE (SfbDbusMenu, sfb_dbus_menu, SFB, DBUS_MENU, GObject)

#define SFB_DBUS_MENU_INTERFACE "com.canonical.dbusmenu"
#define SFB_DBUS_MENU_ROOT 0

SfbDbusMenu *sfb_dbus_menu_new (void);

gboolean sfb_dbus_menu_export (SfbDbusMenu *self,
                               GDBusConnection *connection,
                               const char *object_path,
                               GError **error);
void sfb_dbus_menu_unexport (SfbDbusMenu *self);

/* Rebuilding: begin() forgets every item but the root; add_item() takes
 * an a{sv} of dbusmenu properties (a floating reference is sunk); items
 * are shown in the order they were added; commit() publishes. */
void sfb_dbus_menu_begin (SfbDbusMenu *self);
void sfb_dbus_menu_add_item (SfbDbusMenu *self, int id, int parent_id, GVariant *properties);
void sfb_dbus_menu_commit (SfbDbusMenu *self);

guint sfb_dbus_menu_get_revision (SfbDbusMenu *self);

/* Properties of common items, as floating a{sv} */
GVariant *sfb_dbus_menu_item_standard (const char *label, gboolean enabled);
GVariant *sfb_dbus_menu_item_radio (const char *label, gboolean enabled, gboolean selected);
GVariant *sfb_dbus_menu_item_submenu (const char *label, gboolean enabled);
GVariant *sfb_dbus_menu_item_separator (void);

/* A label with its underscores doubled, so none becomes a mnemonic. */
char *sfb_dbus_menu_escape_label (const char *text);

G_END_DECLS
