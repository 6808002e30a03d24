/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbDeviceMonitor: the audio and video devices a call would use, from
 * PipeWire.  Works without PipeWire (no devices) and picks it up when it
 * starts; follows hot-plug, default, volume and mute changes and PipeWire
 * restarts.  "changed" is emitted once per burst of changes.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct
{
  guint32 id;        /* PipeWire global id */
  char *name;        /* node.name */
  char *description; /* node.description, else node.nick, else the name */
  const char *kind;  /* SFB_DEVICE_KIND_* */
  gboolean has_volume;
  double volume; /* cubic scale: linear amplitude = volume³ */
  gboolean muted;
} SfbMediaDevice;

SfbMediaDevice *sfb_media_device_copy (const SfbMediaDevice *device);
void sfb_media_device_free (SfbMediaDevice *device);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbMediaDevice, sfb_media_device_free)

#define SFB_TYPE_DEVICE_MONITOR (sfb_device_monitor_get_type ())
G_DECLARE_FINAL_TYPE (SfbDeviceMonitor, sfb_device_monitor, SFB, DEVICE_MONITOR, GObject)

SfbDeviceMonitor *sfb_device_monitor_new (void);

GPtrArray *sfb_device_monitor_list (SfbDeviceMonitor *self);
const char *sfb_device_monitor_get_default (SfbDeviceMonitor *self, const char *kind);
gboolean sfb_device_monitor_has_device (SfbDeviceMonitor *self, const char *kind, const char *name);
const char *
sfb_device_monitor_resolve (SfbDeviceMonitor *self, const char *kind, const char *preferred);
gboolean sfb_device_monitor_get_connected (SfbDeviceMonitor *self);

const char *sfb_device_kind_from_media_class (const char *media_class);

G_END_DECLS
