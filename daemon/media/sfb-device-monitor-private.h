/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Between SfbDeviceMonitor and its PipeWire backend. */
#pragma once

#include "sfb-device-monitor.h"

G_BEGIN_DECLS

/* what the backend reports */
void sfb_device_monitor_take_device (SfbDeviceMonitor *self, SfbMediaDevice *device);
void sfb_device_monitor_remove_device (SfbDeviceMonitor *self, guint32 id);
void sfb_device_monitor_set_default (SfbDeviceMonitor *self, const char *kind, const char *name);
void sfb_device_monitor_set_connected (SfbDeviceMonitor *self, gboolean connected);

/* the backend: NULL when sfbd was built without PipeWire */
typedef struct _SfbPipewire SfbPipewire;

SfbPipewire *sfb_pipewire_new (SfbDeviceMonitor *monitor);
void sfb_pipewire_free (SfbPipewire *pw);

G_END_DECLS
