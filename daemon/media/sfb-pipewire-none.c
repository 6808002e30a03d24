/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The device monitor of a build without PipeWire: no devices, ever. */
#define G_LOG_DOMAIN "sfbd-media"

#include "config.h"

#include "sfb-device-monitor-private.h"

SfbPipewire *
sfb_pipewire_new (SfbDeviceMonitor *monitor)
{
  g_info ("sfbd was built without PipeWire; no audio or video devices will be listed");
  return NULL;
}

void
sfb_pipewire_free (SfbPipewire *pw)
{
}
