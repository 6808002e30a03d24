/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-media"

#include "config.h"

#include "sfb-device-monitor.h"

#include "sfb-device-monitor-private.h"

#include <sfbd/sfb-names.h>

/* kinds in listing order */
static const char *const kinds[] = {
  SFB_DEVICE_KIND_AUDIO_OUTPUT,
  SFB_DEVICE_KIND_AUDIO_INPUT,
  SFB_DEVICE_KIND_VIDEO_INPUT,
};

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _SfbDeviceMonitor
{
  GObject parent_instance;

  GHashTable *devices; /* id -> SfbMediaDevice */
  char *defaults[G_N_ELEMENTS (kinds)];
  gboolean connected;
  guint changed_id;
  SfbPipewire *pipewire;
};

G_DEFINE_FINAL_TYPE (SfbDeviceMonitor, sfb_device_monitor, G_TYPE_OBJECT)

SfbMediaDevice *
sfb_media_device_copy (const SfbMediaDevice *device)
{
  SfbMediaDevice *copy = g_new (SfbMediaDevice, 1);

  *copy = *device;
  copy->name = g_strdup (device->name);
  copy->description = g_strdup (device->description);
  return copy;
}

void
sfb_media_device_free (SfbMediaDevice *device)
{
  if (device == NULL)
    return;
  g_free (device->name);
  g_free (device->description);
  g_free (device);
}

static int
kind_index (const char *kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_strcmp0 (kinds[i], kind) == 0)
      return (int) i;
  return -1;
}

/*
 * The kind of device a PipeWire media.class is, or NULL when a call cannot
 * use it.  Virtual sources (null sinks, echo cancellers) count as inputs.
 */
const char *
sfb_device_kind_from_media_class (const char *media_class)
{
  if (g_strcmp0 (media_class, "Audio/Sink") == 0)
    return SFB_DEVICE_KIND_AUDIO_OUTPUT;
  if (g_strcmp0 (media_class, "Audio/Source") == 0
      || g_strcmp0 (media_class, "Audio/Source/Virtual") == 0)
    return SFB_DEVICE_KIND_AUDIO_INPUT;
  if (g_strcmp0 (media_class, "Video/Source") == 0)
    return SFB_DEVICE_KIND_VIDEO_INPUT;
  return NULL;
}

static gboolean
emit_changed (gpointer user_data)
{
  SfbDeviceMonitor *self = user_data;

  self->changed_id = 0;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

/* one "changed" per burst: a PipeWire restart is one change, not twenty */
static void
schedule_changed (SfbDeviceMonitor *self)
{
  if (self->changed_id == 0)
    self->changed_id = g_idle_add (emit_changed, self);
}

static gboolean
same_device (const SfbMediaDevice *a, const SfbMediaDevice *b)
{
  return g_strcmp0 (a->name, b->name) == 0 && g_strcmp0 (a->description, b->description) == 0
         && a->kind == b->kind && a->has_volume == b->has_volume && a->volume == b->volume
         && a->muted == b->muted;
}

/* adds or replaces the device with @device->id */
void
sfb_device_monitor_take_device (SfbDeviceMonitor *self, SfbMediaDevice *device)
{
  SfbMediaDevice *old = g_hash_table_lookup (self->devices, GUINT_TO_POINTER (device->id));

  if (old != NULL && same_device (old, device))
    {
      sfb_media_device_free (device);
      return;
    }
  g_hash_table_replace (self->devices, GUINT_TO_POINTER (device->id), device);
  schedule_changed (self);
}

void
sfb_device_monitor_remove_device (SfbDeviceMonitor *self, guint32 id)
{
  if (g_hash_table_remove (self->devices, GUINT_TO_POINTER (id)))
    schedule_changed (self);
}

void
sfb_device_monitor_set_default (SfbDeviceMonitor *self, const char *kind, const char *name)
{
  int i = kind_index (kind);

  if (i < 0 || g_strcmp0 (self->defaults[i], name) == 0)
    return;
  g_free (self->defaults[i]);
  self->defaults[i] = g_strdup (name);
  g_info ("System default %s: %s", kind, name != NULL ? name : "(none)");
  schedule_changed (self);
}

/* disconnected: nothing is known any more */
void
sfb_device_monitor_set_connected (SfbDeviceMonitor *self, gboolean connected)
{
  if (self->connected == connected)
    return;
  self->connected = connected;
  if (!connected)
    {
      g_hash_table_remove_all (self->devices);
      for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
        g_clear_pointer (&self->defaults[i], g_free);
    }
  schedule_changed (self);
}

static int
compare_devices (gconstpointer a, gconstpointer b)
{
  const SfbMediaDevice *da = *(const SfbMediaDevice *const *) a;
  const SfbMediaDevice *db = *(const SfbMediaDevice *const *) b;
  int ka = kind_index (da->kind);
  int kb = kind_index (db->kind);

  if (ka != kb)
    return ka < kb ? -1 : 1;
  return da->id < db->id ? -1 : (da->id > db->id ? 1 : 0);
}

/* copies of every device, by kind then id; free with g_ptr_array_unref() */
GPtrArray *
sfb_device_monitor_list (SfbDeviceMonitor *self)
{
  GPtrArray *list;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (SFB_IS_DEVICE_MONITOR (self), NULL);

  list = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_media_device_free);
  g_hash_table_iter_init (&iter, self->devices);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, sfb_media_device_copy (value));
  g_ptr_array_sort (list, compare_devices);
  return list;
}

/* the node name of the system default of @kind, NULL if none */
const char *
sfb_device_monitor_get_default (SfbDeviceMonitor *self, const char *kind)
{
  int i;

  g_return_val_if_fail (SFB_IS_DEVICE_MONITOR (self), NULL);
  i = kind_index (kind);
  return i >= 0 ? self->defaults[i] : NULL;
}

gboolean
sfb_device_monitor_has_device (SfbDeviceMonitor *self, const char *kind, const char *name)
{
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (SFB_IS_DEVICE_MONITOR (self), FALSE);

  if (name == NULL)
    return FALSE;
  g_hash_table_iter_init (&iter, self->devices);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const SfbMediaDevice *device = value;

      if (g_strcmp0 (device->kind, kind) == 0 && g_strcmp0 (device->name, name) == 0)
        return TRUE;
    }
  return FALSE;
}

/*
 * The device of @kind a call would use: @preferred when it is present,
 * else the system default when it is present, else NULL.
 */
const char *
sfb_device_monitor_resolve (SfbDeviceMonitor *self, const char *kind, const char *preferred)
{
  const char *fallback;

  g_return_val_if_fail (SFB_IS_DEVICE_MONITOR (self), NULL);

  if (preferred != NULL && *preferred != '\0'
      && sfb_device_monitor_has_device (self, kind, preferred))
    return preferred;
  fallback = sfb_device_monitor_get_default (self, kind);
  if (sfb_device_monitor_has_device (self, kind, fallback))
    return fallback;
  return NULL;
}

gboolean
sfb_device_monitor_get_connected (SfbDeviceMonitor *self)
{
  g_return_val_if_fail (SFB_IS_DEVICE_MONITOR (self), FALSE);
  return self->connected;
}

static void
sfb_device_monitor_dispose (GObject *object)
{
  SfbDeviceMonitor *self = SFB_DEVICE_MONITOR (object);

  g_clear_pointer (&self->pipewire, sfb_pipewire_free);
  g_clear_handle_id (&self->changed_id, g_source_remove);
  G_OBJECT_CLASS (sfb_device_monitor_parent_class)->dispose (object);
}

static void
sfb_device_monitor_finalize (GObject *object)
{
  SfbDeviceMonitor *self = SFB_DEVICE_MONITOR (object);

  g_hash_table_unref (self->devices);
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    g_free (self->defaults[i]);
  G_OBJECT_CLASS (sfb_device_monitor_parent_class)->finalize (object);
}

static void
sfb_device_monitor_class_init (SfbDeviceMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_device_monitor_dispose;
  object_class->finalize = sfb_device_monitor_finalize;

  /* devices, defaults, volumes or the connection changed */
  signals[SIGNAL_CHANGED] = g_signal_new (
      "changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sfb_device_monitor_init (SfbDeviceMonitor *self)
{
  self->devices = g_hash_table_new_full (
      g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) sfb_media_device_free);
}

/* Starts watching PipeWire at once; see the file comment. */
SfbDeviceMonitor *
sfb_device_monitor_new (void)
{
  SfbDeviceMonitor *self = g_object_new (SFB_TYPE_DEVICE_MONITOR, NULL);

  self->pipewire = sfb_pipewire_new (self);
  return self;
}
