/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbConfig's insides, shared by its files:
 *   sfb-config.c        the object, getters, default paths
 *   sfb-config-keys.c   the keys, validation and normalization, choices
 *   sfb-config-read.c   loading the file
 *   sfb-config-write.c  Configure(): changes and the atomic rewrite
 */
#pragma once

#include "sfb-config.h"

G_BEGIN_DECLS

struct _SfbConfig
{
  GObject parent_instance;

  char *path;
  GHashTable *values; /* "Group.Key" -> normalized value; valid, set keys only */
  GError *load_error;
  char *default_login; /* the user part of the URI */
  char *server_host;
  guint16 server_port;
  guint n_unknown; /* unknown keys in the last load */
};

#define KEY_FILE_FLAGS (G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS)

typedef gboolean (*SfbValidateFunc) (const char *value, char **normalized, GError **error);

typedef struct
{
  const char *group;
  const char *key;
  const char *name;
  SfbValidateFunc validate;
  gboolean boolean;
} SfbConfigKey;

/* sfb-config.c */
void sfb_config_emit_changed (SfbConfig *self);

/* sfb-config-keys.c */
const SfbConfigKey *sfb_config_find_key_exact (const char *group, const char *key);
const SfbConfigKey *sfb_config_lookup_key (const char *name);
char *sfb_config_dup_known_names (void);
const char *sfb_config_find_inline_comment (const char *raw);
char *sfb_config_clean_value (const char *raw);
gboolean sfb_config_validate_value (const SfbConfigKey *key,
                                    const char *value,
                                    char **normalized,
                                    GError **error);
gboolean sfb_config_split_server (const char *value, char **host, guint16 *port);

/* sfb-config-read.c */
GKeyFile *sfb_config_read_key_file (const char *path, char **contents_out, GError **error);

G_END_DECLS
