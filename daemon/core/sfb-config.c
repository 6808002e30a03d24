/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-config-private.h"

#include <sfbd/sfb-names.h>

G_DEFINE_FINAL_TYPE (SfbConfig, sfb_config, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* "changed": sfb_config_apply() wrote new values */
void
sfb_config_emit_changed (SfbConfig *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

/* ---- getters ------------------------------------------------------- */

const char *
sfb_config_get_path (SfbConfig *self)
{
  g_return_val_if_fail (SFB_IS_CONFIG (self), NULL);
  return self->path;
}

/* The first problem of the last load (NotConfigured), or NULL. */
const GError *
sfb_config_get_load_error (SfbConfig *self)
{
  g_return_val_if_fail (SFB_IS_CONFIG (self), NULL);
  return self->load_error;
}

/* The normalized value of "Group.Key", NULL when unset (or invalid). */
const char *
sfb_config_get_value (SfbConfig *self, const char *name)
{
  g_return_val_if_fail (SFB_IS_CONFIG (self), NULL);
  return g_hash_table_lookup (self->values, name);
}

/* "sip:user@domain" */
const char *
sfb_config_get_uri (SfbConfig *self)
{
  return sfb_config_get_value (self, "Account.Uri");
}

/* Account.Login, else the user part of the URI. */
const char *
sfb_config_get_login (SfbConfig *self)
{
  const char *login = sfb_config_get_value (self, "Account.Login");

  return login != NULL ? login : self->default_login;
}

/* "host[:port]" as configured. */
const char *
sfb_config_get_server (SfbConfig *self)
{
  return sfb_config_get_value (self, "Account.Server");
}

const char *
sfb_config_get_server_host (SfbConfig *self)
{
  g_return_val_if_fail (SFB_IS_CONFIG (self), NULL);
  return self->server_host;
}

/* 0 when Account.Server names no port. */
guint16
sfb_config_get_server_port (SfbConfig *self)
{
  g_return_val_if_fail (SFB_IS_CONFIG (self), 0);
  return self->server_port;
}

gboolean
sfb_config_get_auto_sign_in (SfbConfig *self)
{
  const char *value = sfb_config_get_value (self, "Account.AutoSignIn");

  return value == NULL || g_str_equal (value, "true");
}

guint
sfb_config_get_seconds (SfbConfig *self, const char *name, guint fallback)
{
  const char *value = sfb_config_get_value (self, name);
  guint64 seconds;

  if (value == NULL
      || !g_ascii_string_to_unsigned (value, 10, 0, SFB_CONFIG_MAX_SECONDS, &seconds, NULL))
    return fallback;
  return (guint) seconds;
}

const char *
sfb_config_get_ca_file (SfbConfig *self)
{
  return sfb_config_get_value (self, "TLS.CAFile");
}

/* The preferred node name for @kind (SFB_DEVICE_KIND_*), NULL when unset. */
const char *
sfb_config_get_device (SfbConfig *self, const char *kind)
{
  g_return_val_if_fail (kind != NULL, NULL);

  if (g_str_equal (kind, SFB_DEVICE_KIND_AUDIO_OUTPUT))
    return sfb_config_get_value (self, "Devices.AudioOutput");
  if (g_str_equal (kind, SFB_DEVICE_KIND_AUDIO_INPUT))
    return sfb_config_get_value (self, "Devices.AudioInput");
  if (g_str_equal (kind, SFB_DEVICE_KIND_VIDEO_INPUT))
    return sfb_config_get_value (self, "Devices.VideoInput");
  return NULL;
}

/* ---- paths and object ---------------------------------------------- */

/* $SFBD_CONFIG_DIR/sfbd.conf, else $XDG_CONFIG_HOME/sfbd/sfbd.conf */
char *
sfb_config_dup_default_path (void)
{
  const char *dir = g_getenv (SFB_ENV_CONFIG_DIR);

  if (dir != NULL && *dir != '\0')
    return g_build_filename (dir, SFB_CONFIG_FILE_NAME, NULL);
  return g_build_filename (g_get_user_config_dir (), "sfbd", SFB_CONFIG_FILE_NAME, NULL);
}

/* $SFBD_STATE_DIR, else $XDG_STATE_HOME/sfbd */
char *
sfb_dup_state_dir (void)
{
  const char *dir = g_getenv (SFB_ENV_STATE_DIR);

  if (dir != NULL && *dir != '\0')
    return g_strdup (dir);
  return g_build_filename (g_get_user_state_dir (), "sfbd", NULL);
}

static void
sfb_config_finalize (GObject *object)
{
  SfbConfig *self = SFB_CONFIG (object);

  g_free (self->path);
  g_hash_table_unref (self->values);
  g_clear_error (&self->load_error);
  g_free (self->default_login);
  g_free (self->server_host);
  G_OBJECT_CLASS (sfb_config_parent_class)->finalize (object);
}

static void
sfb_config_class_init (SfbConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sfb_config_finalize;

  /* after sfb_config_apply() wrote new values */
  signals[SIGNAL_CHANGED] = g_signal_new (
      "changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sfb_config_init (SfbConfig *self)
{
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* Loads @path now; a missing or broken file still gives a usable object. */
SfbConfig *
sfb_config_new_for_path (const char *path)
{
  SfbConfig *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (SFB_TYPE_CONFIG, NULL);
  self->path = g_strdup (path);
  sfb_config_reload (self);
  return self;
}

SfbConfig *
sfb_config_new (void)
{
  g_autofree char *path = sfb_config_dup_default_path ();

  return sfb_config_new_for_path (path);
}
