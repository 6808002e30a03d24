/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The PipeWire backend of SfbDeviceMonitor.  A pw_loop of our own is driven
 * by the GLib main loop (its fd in a GSource), so no thread is involved.
 * Nodes of the device classes are bound to read their name, description
 * and Props; the "default" metadata (WirePlumber) gives the defaults.
 * When PipeWire is absent or goes away, the runtime directory is watched
 * for its socket: nothing polls while it stays away.  The socket file
 * exists a moment before PipeWire listens on it (bind, then listen), and a
 * stale one can be left by a crash, so a refused connection is retried a
 * few times with growing delays, then left to the next socket event.  Only
 * when the directory cannot be watched does a slow timer retry for good.
 * libpipewire itself (opened then, sfb-pipewire-lib.h), its loop, its
 * context and the SPA plugins and modules they load (~2.4 MB resident) are
 * started only once the socket is there: a session without PipeWire never
 * pays for them.
 */
#define G_LOG_DOMAIN "sfbd-media"

#include "config.h"

#include "sfb-device-monitor-private.h"
#include "sfb-pw-parse.h"

#include <errno.h>
#include <gio/gio.h>
#include <pipewire/extensions/metadata.h>
#include <pipewire/pipewire.h>
#include <spa/param/props.h>
#include <string.h>

#include "sfb-pipewire-lib.h"

#include <sfbd/sfb-names.h>

/* seconds between connection attempts while PipeWire is away and its
 * runtime directory cannot be watched */
#define RETRY_SECONDS 3
/* with the directory watched: attempts after a refused connection, the
 * first after RETRY_BURST_FIRST_MS, each delay doubling (6.3 s in all) */
#define RETRY_BURST_FIRST_MS 100
#define RETRY_BURST_ATTEMPTS 6

typedef struct
{
  GSource source;
  struct pw_loop *loop;
} SfbPwSource;

typedef struct
{
  SfbPipewire *pw;
  guint32 id;
  const char *kind;
  struct pw_proxy *proxy;
  struct spa_hook node_listener;
  SfbMediaDevice *device; /* what we know; reported once it has a name */
  gboolean reported;
} SfbPwNode;

struct _SfbPipewire
{
  SfbDeviceMonitor *monitor; /* owns us */
  struct pw_loop *loop;
  GSource *source;
  struct pw_context *context;
  struct pw_core *core;
  struct spa_hook core_listener;
  struct pw_registry *registry;
  struct spa_hook registry_listener;
  struct pw_proxy *metadata;
  guint32 metadata_id;
  struct spa_hook metadata_listener;
  GHashTable *nodes; /* global id -> SfbPwNode */
  guint retry_id;
  guint retry_attempts; /* of the current burst */
  guint disconnect_id;
  GFileMonitor *dir_monitor;
  char *socket_name;
  char *socket_path; /* set when dir_monitor watches its directory */
  gboolean reported_absent;
  gboolean reported_unusable; /* the library, a loop or a context failed */
  gboolean unloadable;        /* libpipewire cannot be loaded: nothing to retry */
};

static gboolean
pw_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  SfbPwSource *pw_source = (SfbPwSource *) source;
  int result = pw_loop_iterate (pw_source->loop, 0);

  if (result < 0 && result != -EINTR)
    g_debug ("pw_loop_iterate: %s", g_strerror (-result));
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs pw_source_funcs = {
  .dispatch = pw_source_dispatch,
};

static GSource *
pw_source_new (struct pw_loop *loop)
{
  GSource *source = g_source_new (&pw_source_funcs, sizeof (SfbPwSource));

  ((SfbPwSource *) source)->loop = loop;
  g_source_set_static_name (source, "PipeWire");
  g_source_add_unix_fd (source, pw_loop_get_fd (loop), G_IO_IN | G_IO_ERR | G_IO_HUP);
  return source;
}

/* ---- nodes ---------------------------------------------------------- */

static void
report_node (SfbPwNode *node)
{
  if (node->device->name == NULL)
    return;
  if (!node->reported)
    g_info ("Found %s %s (%s)", node->kind, node->device->name, node->device->description);
  node->reported = TRUE;
  sfb_device_monitor_take_device (node->pw->monitor, sfb_media_device_copy (node->device));
}

static void
on_node_info (void *data, const struct pw_node_info *info)
{
  SfbPwNode *node = data;
  const char *name;
  const char *description;

  if (!(info->change_mask & PW_NODE_CHANGE_MASK_PROPS) || info->props == NULL)
    return;
  name = spa_dict_lookup (info->props, PW_KEY_NODE_NAME);
  if (!sfb_pw_name_is_valid (name))
    {
      if (node->device->name == NULL)
        g_info ("Not usable for calls: %s node %u has no valid node.name", node->kind, node->id);
      return;
    }
  description = spa_dict_lookup (info->props, PW_KEY_NODE_DESCRIPTION);
  if (!sfb_pw_name_is_valid (description))
    description = spa_dict_lookup (info->props, PW_KEY_NODE_NICK);
  if (!sfb_pw_name_is_valid (description))
    description = name;
  g_free (node->device->name);
  node->device->name = g_strdup (name);
  g_free (node->device->description);
  node->device->description = g_strdup (description);
  report_node (node);
}

static void
on_node_param (
    void *data, int seq, uint32_t id, uint32_t index, uint32_t next, const struct spa_pod *param)
{
  SfbPwNode *node = data;
  SfbPwProps props;

  if (id != SPA_PARAM_Props || param == NULL)
    return;
  if (!sfb_pw_parse_props (param, SPA_POD_SIZE (param), &props))
    return;
  if (props.has_volume)
    {
      node->device->has_volume = TRUE;
      node->device->volume = props.volume;
    }
  if (props.has_mute)
    node->device->muted = props.mute;
  if (props.has_volume || props.has_mute)
    report_node (node);
}

static const struct pw_node_events node_events = {
  PW_VERSION_NODE_EVENTS,
  .info = on_node_info,
  .param = on_node_param,
};

static void
node_free (SfbPwNode *node)
{
  spa_hook_remove (&node->node_listener);
  pw_proxy_destroy (node->proxy);
  sfb_media_device_free (node->device);
  g_free (node);
}

static void
add_node (SfbPipewire *pw, uint32_t id, const struct spa_dict *props)
{
  const char *media_class = spa_dict_lookup (props, PW_KEY_MEDIA_CLASS);
  const char *kind = sfb_device_kind_from_media_class (media_class);
  uint32_t param_ids[] = { SPA_PARAM_Props };
  SfbPwNode *node;

  if (kind == NULL)
    {
      if (media_class != NULL
          && (g_str_has_prefix (media_class, "Audio/") || g_str_has_prefix (media_class, "Video/")))
        g_info ("Not usable for calls: %s (media.class %s)",
                spa_dict_lookup (props, PW_KEY_NODE_NAME),
                media_class);
      return;
    }
  node = g_new0 (SfbPwNode, 1);
  node->pw = pw;
  node->id = id;
  node->kind = kind;
  node->device = g_new0 (SfbMediaDevice, 1);
  node->device->id = id;
  node->device->kind = kind;
  node->proxy = pw_registry_bind (pw->registry, id, PW_TYPE_INTERFACE_Node, PW_VERSION_NODE, 0);
  if (node->proxy == NULL)
    {
      g_info ("Not usable for calls: %s node %u cannot be bound: %s", kind, id, g_strerror (errno));
      sfb_media_device_free (node->device);
      g_free (node);
      return;
    }
  pw_proxy_add_object_listener (node->proxy, &node->node_listener, &node_events, node);
  if (strcmp (kind, SFB_DEVICE_KIND_VIDEO_INPUT) != 0)
    pw_node_subscribe_params ((struct pw_node *) node->proxy, param_ids, G_N_ELEMENTS (param_ids));
  g_hash_table_replace (pw->nodes, GUINT_TO_POINTER (id), node);
}

/* ---- default metadata ----------------------------------------------- */

static const char *
kind_of_default_key (const char *key)
{
  if (g_strcmp0 (key, "default.audio.sink") == 0)
    return SFB_DEVICE_KIND_AUDIO_OUTPUT;
  if (g_strcmp0 (key, "default.audio.source") == 0)
    return SFB_DEVICE_KIND_AUDIO_INPUT;
  if (g_strcmp0 (key, "default.video.source") == 0)
    return SFB_DEVICE_KIND_VIDEO_INPUT;
  return NULL;
}

static void
clear_defaults (SfbPipewire *pw)
{
  sfb_device_monitor_set_default (pw->monitor, SFB_DEVICE_KIND_AUDIO_OUTPUT, NULL);
  sfb_device_monitor_set_default (pw->monitor, SFB_DEVICE_KIND_AUDIO_INPUT, NULL);
  sfb_device_monitor_set_default (pw->monitor, SFB_DEVICE_KIND_VIDEO_INPUT, NULL);
}

static int
on_metadata_property (
    void *data, uint32_t subject, const char *key, const char *type, const char *value)
{
  SfbPipewire *pw = data;
  const char *kind;
  g_autofree char *name = NULL;

  if (subject != PW_ID_CORE)
    return 0;
  if (key == NULL)
    {
      clear_defaults (pw);
      return 0;
    }
  kind = kind_of_default_key (key);
  if (kind == NULL)
    return 0;
  if (value != NULL)
    {
      name = sfb_pw_parse_default_name (value);
      if (name == NULL)
        g_debug ("Ignoring the malformed value of %s", key);
    }
  sfb_device_monitor_set_default (pw->monitor, kind, name);
  return 0;
}

static const struct pw_metadata_events metadata_events = {
  PW_VERSION_METADATA_EVENTS,
  .property = on_metadata_property,
};

static void
drop_metadata (SfbPipewire *pw)
{
  if (pw->metadata == NULL)
    return;
  spa_hook_remove (&pw->metadata_listener);
  g_clear_pointer (&pw->metadata, pw_proxy_destroy);
  clear_defaults (pw);
}

static void
add_metadata (SfbPipewire *pw, uint32_t id, const struct spa_dict *props)
{
  if (g_strcmp0 (spa_dict_lookup (props, PW_KEY_METADATA_NAME), "default") != 0)
    return;
  drop_metadata (pw);
  pw->metadata
      = pw_registry_bind (pw->registry, id, PW_TYPE_INTERFACE_Metadata, PW_VERSION_METADATA, 0);
  if (pw->metadata == NULL)
    return;
  pw->metadata_id = id;
  pw_proxy_add_object_listener (pw->metadata, &pw->metadata_listener, &metadata_events, pw);
}

/* ---- registry --------------------------------------------------------- */

static void
on_global (void *data,
           uint32_t id,
           uint32_t permissions,
           const char *type,
           uint32_t version,
           const struct spa_dict *props)
{
  SfbPipewire *pw = data;

  if (props == NULL)
    return;
  if (strcmp (type, PW_TYPE_INTERFACE_Node) == 0)
    add_node (pw, id, props);
  else if (strcmp (type, PW_TYPE_INTERFACE_Metadata) == 0)
    add_metadata (pw, id, props);
}

static void
on_global_remove (void *data, uint32_t id)
{
  SfbPipewire *pw = data;
  SfbPwNode *node = g_hash_table_lookup (pw->nodes, GUINT_TO_POINTER (id));

  if (node != NULL)
    {
      if (node->reported)
        g_info ("Removed %s %s", node->kind, node->device->name);
      g_hash_table_remove (pw->nodes, GUINT_TO_POINTER (id));
      sfb_device_monitor_remove_device (pw->monitor, id);
    }
  else if (pw->metadata != NULL && id == pw->metadata_id)
    {
      drop_metadata (pw);
    }
}

static const struct pw_registry_events registry_events = {
  PW_VERSION_REGISTRY_EVENTS,
  .global = on_global,
  .global_remove = on_global_remove,
};

/* ---- connection ------------------------------------------------------- */

static void schedule_retry (SfbPipewire *pw);
static gboolean try_connect (SfbPipewire *pw);
static gboolean start_pipewire (SfbPipewire *pw);

static void
disconnect (SfbPipewire *pw)
{
  g_hash_table_remove_all (pw->nodes);
  drop_metadata (pw);
  if (pw->registry != NULL)
    {
      spa_hook_remove (&pw->registry_listener);
      pw_proxy_destroy ((struct pw_proxy *) pw->registry);
      pw->registry = NULL;
    }
  if (pw->core != NULL)
    {
      spa_hook_remove (&pw->core_listener);
      pw_core_disconnect (pw->core);
      pw->core = NULL;
    }
  sfb_device_monitor_set_connected (pw->monitor, FALSE);
}

static gboolean
disconnect_later (gpointer user_data)
{
  SfbPipewire *pw = user_data;

  pw->disconnect_id = 0;
  g_info ("Lost the connection to PipeWire; waiting for it to come back");
  disconnect (pw);
  if (!try_connect (pw))
    schedule_retry (pw);
  return G_SOURCE_REMOVE;
}

static void
on_core_error (void *data, uint32_t id, int seq, int res, const char *message)
{
  SfbPipewire *pw = data;

  g_debug ("PipeWire error on object %u: %s (%s)", id, message, g_strerror (-res));
  /* the core cannot be destroyed from inside its own callback */
  if (id == PW_ID_CORE && res == -EPIPE && pw->disconnect_id == 0)
    pw->disconnect_id = g_idle_add (disconnect_later, pw);
}

static const struct pw_core_events core_events = {
  PW_VERSION_CORE_EVENTS,
  .error = on_core_error,
};

static gboolean
try_connect (SfbPipewire *pw)
{
  int saved_errno;

  if (pw->core != NULL)
    return TRUE;
  if (!start_pipewire (pw))
    return FALSE;
  pw->core = pw_context_connect (pw->context, NULL, 0);
  if (pw->core == NULL)
    {
      saved_errno = errno;
      if (!pw->reported_absent)
        g_info ("PipeWire is not running (%s); devices appear when it starts",
                g_strerror (saved_errno));
      pw->reported_absent = TRUE;
      return FALSE;
    }
  pw->reported_absent = FALSE;
  pw->retry_attempts = 0;
  pw_core_add_listener (pw->core, &pw->core_listener, &core_events, pw);
  pw->registry = pw_core_get_registry (pw->core, PW_VERSION_REGISTRY, 0);
  pw_registry_add_listener (pw->registry, &pw->registry_listener, &registry_events, pw);
  g_clear_handle_id (&pw->retry_id, g_source_remove);
  g_info ("Connected to PipeWire");
  sfb_device_monitor_set_connected (pw->monitor, TRUE);
  return TRUE;
}

static gboolean
on_retry (gpointer user_data)
{
  SfbPipewire *pw = user_data;

  pw->retry_id = 0;
  if (!try_connect (pw))
    schedule_retry (pw);
  return G_SOURCE_REMOVE;
}

/* Watched directory: a short burst of attempts (the bind-to-listen window,
 * a stale socket), then nothing until the socket is created again.  Not
 * watched: every RETRY_SECONDS. */
static void
schedule_retry (SfbPipewire *pw)
{
  guint delay_ms = RETRY_SECONDS * 1000;

  if (pw->retry_id != 0)
    return;
  /* the library is tried once per process: no attempt can succeed */
  if (pw->unloadable)
    {
      g_debug ("Not retrying: PipeWire's library cannot be loaded");
      return;
    }
  if (pw->dir_monitor != NULL)
    {
      /* no socket yet: its creation will be seen */
      if (!g_file_test (pw->socket_path, G_FILE_TEST_EXISTS))
        return;
      if (pw->retry_attempts >= RETRY_BURST_ATTEMPTS)
        {
          g_debug ("Waiting for the PipeWire socket to be created again");
          return;
        }
      delay_ms = RETRY_BURST_FIRST_MS << pw->retry_attempts;
      pw->retry_attempts++;
      g_debug ("PipeWire's socket is there but refused us; retrying in %u ms", delay_ms);
    }
  pw->retry_id = g_timeout_add (delay_ms, on_retry, pw);
}

/* the socket appeared: PipeWire listens right after it binds */
static void
on_runtime_dir_changed (GFileMonitor *monitor,
                        GFile *file,
                        GFile *other_file,
                        GFileMonitorEvent event,
                        gpointer user_data)
{
  SfbPipewire *pw = user_data;
  g_autofree char *basename = NULL;

  if (pw->core != NULL || event != G_FILE_MONITOR_EVENT_CREATED)
    return;
  basename = g_file_get_basename (file);
  if (g_strcmp0 (basename, pw->socket_name) != 0)
    return;
  /* a new socket: a new burst, if PipeWire does not listen yet */
  g_clear_handle_id (&pw->retry_id, g_source_remove);
  pw->retry_attempts = 0;
  if (!try_connect (pw))
    schedule_retry (pw);
}

/* where libpipewire looks for the socket: PIPEWIRE_RUNTIME_DIR, XDG_RUNTIME_DIR */
static void
watch_runtime_dir (SfbPipewire *pw)
{
  const char *remote = g_getenv ("PIPEWIRE_REMOTE");
  const char *dir = g_getenv ("PIPEWIRE_RUNTIME_DIR");
  g_autofree char *dir_owned = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GError) error = NULL;

  if (remote == NULL || *remote == '\0')
    remote = PW_DEFAULT_REMOTE;
  if (g_path_is_absolute (remote))
    {
      dir = dir_owned = g_path_get_dirname (remote);
      pw->socket_name = g_path_get_basename (remote);
    }
  else
    {
      pw->socket_name = g_strdup (remote);
    }
  if (dir == NULL || *dir == '\0')
    dir = g_getenv ("XDG_RUNTIME_DIR");
  if (dir == NULL || *dir == '\0')
    return;
  /* GLib watches a missing directory by polling it: use our slow retry */
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_debug ("Cannot watch %s for PipeWire: not a directory", dir);
      return;
    }
  file = g_file_new_for_path (dir);
  pw->dir_monitor = g_file_monitor_directory (file, G_FILE_MONITOR_NONE, NULL, &error);
  if (pw->dir_monitor == NULL)
    {
      g_debug ("Cannot watch %s for PipeWire: %s", dir, error->message);
      return;
    }
  pw->socket_path = g_build_filename (dir, pw->socket_name, NULL);
  g_signal_connect (pw->dir_monitor, "changed", G_CALLBACK (on_runtime_dir_changed), pw);
}

static gpointer
init_pipewire (gpointer data)
{
  pw_init (NULL, NULL);
  return NULL;
}

/* libpipewire's loop and context, at the first connection attempt; FALSE
 * (said once) when they cannot be made, to be tried again at the next */
static gboolean
start_pipewire (SfbPipewire *pw)
{
  static GOnce once = G_ONCE_INIT;
  const char *why;

  if (pw->context != NULL)
    return TRUE;
  if ((why = sfb_pipewire_lib_load ()) != NULL)
    {
      pw->unloadable = TRUE;
      /* named here too: a long path in @why can be cut before the name */
      if (!pw->reported_unusable)
        g_warning ("Cannot load PipeWire's library %s: %s; no devices will be listed",
                   SFB_PIPEWIRE_LIBRARY,
                   why);
      pw->reported_unusable = TRUE;
      return FALSE;
    }
  g_once (&once, init_pipewire, NULL);
  if (pw->loop == NULL)
    {
      pw->loop = pw_loop_new (NULL);
      if (pw->loop == NULL)
        {
          if (!pw->reported_unusable)
            g_warning ("Cannot create a PipeWire loop: %s; no devices will be listed",
                       g_strerror (errno));
          pw->reported_unusable = TRUE;
          return FALSE;
        }
      pw_loop_enter (pw->loop);
      pw->source = pw_source_new (pw->loop);
      g_source_attach (pw->source, NULL);
    }
  pw->context = pw_context_new (pw->loop, NULL, 0);
  if (pw->context == NULL)
    {
      if (!pw->reported_unusable)
        g_warning ("Cannot create a PipeWire context: %s; no devices will be listed",
                   g_strerror (errno));
      pw->reported_unusable = TRUE;
      return FALSE;
    }
  return TRUE;
}

SfbPipewire *
sfb_pipewire_new (SfbDeviceMonitor *monitor)
{
  SfbPipewire *pw;

  pw = g_new0 (SfbPipewire, 1);
  pw->monitor = monitor;
  pw->nodes
      = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) node_free);
  watch_runtime_dir (pw);
  /* watched and no socket: nothing to connect to until it is created */
  if (pw->socket_path != NULL && !g_file_test (pw->socket_path, G_FILE_TEST_EXISTS))
    {
      if (!pw->reported_absent)
        g_info ("PipeWire is not running (no %s); devices appear when it starts", pw->socket_path);
      pw->reported_absent = TRUE;
      return pw;
    }
  if (!try_connect (pw))
    schedule_retry (pw);
  return pw;
}

void
sfb_pipewire_free (SfbPipewire *pw)
{
  if (pw == NULL)
    return;
  g_clear_handle_id (&pw->retry_id, g_source_remove);
  g_clear_handle_id (&pw->disconnect_id, g_source_remove);
  g_clear_object (&pw->dir_monitor);
  if (pw->context != NULL)
    {
      g_hash_table_remove_all (pw->nodes);
      if (pw->metadata != NULL)
        {
          spa_hook_remove (&pw->metadata_listener);
          pw_proxy_destroy (pw->metadata);
        }
      if (pw->registry != NULL)
        {
          spa_hook_remove (&pw->registry_listener);
          pw_proxy_destroy ((struct pw_proxy *) pw->registry);
        }
      if (pw->core != NULL)
        {
          spa_hook_remove (&pw->core_listener);
          pw_core_disconnect (pw->core);
        }
      pw_context_destroy (pw->context);
    }
  if (pw->source != NULL)
    {
      g_source_destroy (pw->source);
      g_source_unref (pw->source);
    }
  if (pw->loop != NULL)
    {
      pw_loop_leave (pw->loop);
      pw_loop_destroy (pw->loop);
    }
  g_hash_table_unref (pw->nodes);
  g_free (pw->socket_name);
  g_free (pw->socket_path);
  g_free (pw);
}
