/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbConfig: sfbd.conf (docs/architecture.md §5) as typed, validated
 * values.  A broken file never stops the daemon: what is valid is used,
 * the first problem is kept as the load error (NotConfigured, with file
 * and line).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  SFB_AUTH_MODE_AUTO,
  SFB_AUTH_MODE_NTLM,
  SFB_AUTH_MODE_KERBEROS,
  SFB_AUTH_MODE_TLS_DSK,
} SfbAuthMode;

typedef enum
{
  SFB_SECRETS_STORE_AUTO,
  SFB_SECRETS_STORE_SECRET_SERVICE,
  SFB_SECRETS_STORE_FILE,
} SfbSecretsStore;

#define SFB_CONFIG_FILE_NAME "sfbd.conf"
/* sfbd.conf(5): a larger file is not read (nor rewritten) at all. */
#define SFB_CONFIG_MAX_SIZE (1024 * 1024)
/* The longest value of a setting, in bytes. */
#define SFB_CONFIG_MAX_VALUE 1024
/* The longest time a setting in seconds may give (a day). */
#define SFB_CONFIG_MAX_SECONDS 86400

#define SFB_TYPE_CONFIG (sfb_config_get_type ())
G_DECLARE_FINAL_TYPE (SfbConfig, sfb_config, SFB, CONFIG, GObject)

SfbConfig *sfb_config_new (void);
SfbConfig *sfb_config_new_for_path (const char *path);

const char *sfb_config_get_path (SfbConfig *self);
const GError *sfb_config_get_load_error (SfbConfig *self);
void sfb_config_reload (SfbConfig *self);
gboolean sfb_config_apply (SfbConfig *self, GVariant *settings, GError **error);

const char *sfb_config_get_uri (SfbConfig *self);
const char *sfb_config_get_login (SfbConfig *self);
const char *sfb_config_get_server (SfbConfig *self);
const char *sfb_config_get_server_host (SfbConfig *self);
guint16 sfb_config_get_server_port (SfbConfig *self);
SfbAuthMode sfb_config_get_auth (SfbConfig *self);
gboolean sfb_config_get_auto_sign_in (SfbConfig *self);
const char *sfb_config_get_ca_file (SfbConfig *self);
SfbSecretsStore sfb_config_get_secrets_store (SfbConfig *self);
const char *sfb_config_get_device (SfbConfig *self, const char *kind);
const char *sfb_config_get_value (SfbConfig *self, const char *name);
/* A setting in seconds (Presence.InactiveAfter, …), @fallback when unset. */
guint sfb_config_get_seconds (SfbConfig *self, const char *name, guint fallback);

const char *sfb_auth_mode_to_string (SfbAuthMode mode);
const char *sfb_secrets_store_to_string (SfbSecretsStore store);

char *sfb_config_dup_default_path (void);
char *sfb_dup_state_dir (void);

G_END_DECLS
