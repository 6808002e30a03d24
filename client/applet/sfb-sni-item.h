/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A StatusNotifierItem (org.kde.StatusNotifierItem at /StatusNotifierItem):
 * owns org.kde.StatusNotifierItem-PID-N, registers with
 * org.kde.StatusNotifierWatcher whenever a watcher appears (so a restarted
 * panel finds the item again) and announces every change of icon, title,
 * tooltip and status with the New* signals.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-presence-view.h"

G_BEGIN_DECLS

#define SFB_TYPE_SNI_ITEM (sfb_sni_item_get_type ())
G_DECLARE_FINAL_TYPE (SfbSniItem, sfb_sni_item, SFB, SNI_ITEM, GObject)

#define SFB_SNI_ITEM_INTERFACE "org.kde.StatusNotifierItem"
#define SFB_SNI_ITEM_PATH "/StatusNotifierItem"
#define SFB_SNI_WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define SFB_SNI_WATCHER_PATH "/StatusNotifierWatcher"
#define SFB_SNI_WATCHER_INTERFACE "org.kde.StatusNotifierWatcher"

SfbSniItem *sfb_sni_item_new (const char *id, const char *menu_path);

/* Exports the item on @connection, takes its bus name and starts watching
 * for a watcher. */
gboolean sfb_sni_item_start (SfbSniItem *self, GDBusConnection *connection, GError **error);

/* Shows @view; only what changed is announced. */
void sfb_sni_item_update (SfbSniItem *self, const SfbPresenceView *view);

/* The IconThemePath of the item: the directory holding hicolor/ with the
 * applet's own icons. */
const char *sfb_sni_item_icon_theme_path (void);

/* How many times the item was registered with a watcher (for logs). */
guint sfb_sni_item_get_registrations (SfbSniItem *self);

G_END_DECLS
