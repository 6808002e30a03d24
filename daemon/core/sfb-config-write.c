/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

/* Configure(): validating a set of changes, then rewriting sfbd.conf
 * atomically with its comments and unknown keys. */

#include "sfb-config-private.h"

#include "sfb-error.h"
#include "sfb-text.h"

#include <errno.h>

#include <glib/gstdio.h>

typedef struct
{
  const SfbConfigKey *key;
  char *value; /* NULL: remove the key */
} SfbConfigChange;

static void
config_change_free (gpointer data)
{
  SfbConfigChange *change = data;

  g_free (change->value);
  g_free (change);
}

static char *
variant_to_text (const SfbConfigKey *key, GVariant *value, GError **error)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (value, NULL);
  if (key->boolean && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_strdup (g_variant_get_boolean (value) ? "true" : "false");

  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_INVALID_ARGS,
               "%s takes %s, not a value of type “%s”",
               key->name,
               key->boolean ? "a boolean or the string “true” or “false”" : "a string",
               g_variant_get_type_string (value));
  return NULL;
}

static SfbConfigChange *
parse_change (const char *name, GVariant *value, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *normalized = NULL;
  const SfbConfigKey *key = sfb_config_lookup_key (name);
  SfbConfigChange *change;

  if (key == NULL)
    {
      g_autofree char *known = sfb_config_dup_known_names ();
      g_autofree char *shown = sfb_text_quote_untrusted (name, -1, SFB_TEXT_QUOTE_MAX);

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "Unknown setting “%s”; the settings are: %s",
                   shown,
                   known);
      return NULL;
    }
  text = variant_to_text (key, value, error);
  if (text == NULL)
    return NULL;
  g_strstrip (text);
  if (*text != '\0' && !sfb_config_validate_value (key, text, &normalized, error))
    return NULL;

  change = g_new0 (SfbConfigChange, 1);
  change->key = key;
  change->value = g_steal_pointer (&normalized);
  return change;
}

static GPtrArray *
parse_changes (GVariant *settings, GError **error)
{
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func (config_change_free);
  GVariantIter iter;
  const char *name;
  GVariant *value;

  if (!g_variant_is_of_type (settings, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "Settings must be a dictionary of type a{sv}, not “%s”",
                   g_variant_get_type_string (settings));
      return NULL;
    }
  g_variant_iter_init (&iter, settings);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      g_autoptr (GVariant) owned = value;
      SfbConfigChange *change = parse_change (name, owned, error);

      if (change == NULL)
        return NULL;
      g_ptr_array_add (changes, change);
    }
  return g_steal_pointer (&changes);
}

/* Sets the value, keeping a comment that followed the old one. */
static void
apply_change (GKeyFile *key_file, const SfbConfigChange *change)
{
  const char *group = change->key->group;
  const char *key = change->key->key;
  g_autofree char *old = NULL;
  g_autofree char *line = NULL;
  const char *comment;

  if (change->value == NULL)
    {
      g_key_file_remove_key (key_file, group, key, NULL);
      return;
    }
  old = g_key_file_get_value (key_file, group, key, NULL);
  comment = old != NULL ? sfb_config_find_inline_comment (old) : NULL;
  line = comment != NULL ? g_strdup_printf ("%s  %s", change->value, comment)
                         : g_strdup (change->value);
  g_key_file_set_value (key_file, group, key, line);
}

static gboolean
write_key_file (const char *path, GKeyFile *key_file, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *data = NULL;
  gsize length;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "Cannot create the directory %s: %s",
                   dir,
                   g_strerror (saved_errno));
      return FALSE;
    }
  data = g_key_file_to_data (key_file, &length, NULL);
  if (!g_file_set_contents_full (
          path, data, (gssize) length, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    {
      sfb_error_convert (error);
      g_prefix_error (error, "Cannot save the configuration: ");
      return FALSE;
    }
  return TRUE;
}

/*
 * Configure(): @settings maps "Group.Key" (or a bare unique "Key") to a
 * string, or a boolean for AutoSignIn; "" removes the key.  Everything is
 * validated before anything is written, then the file is rewritten
 * atomically (0600), keeping its comments and unknown keys.
 */
gboolean
sfb_config_apply (SfbConfig *self, GVariant *settings, GError **error)
{
  g_autoptr (GPtrArray) changes = NULL;
  g_autoptr (GKeyFile) key_file = NULL;

  g_return_val_if_fail (SFB_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (settings != NULL, FALSE);

  changes = parse_changes (settings, error);
  if (changes == NULL)
    return FALSE;
  if (changes->len == 0)
    return TRUE;

  /* the file as it is now, with any edit made by hand since we loaded it */
  key_file = sfb_config_read_key_file (self->path, NULL, error);
  if (key_file == NULL)
    {
      g_prefix_error (error, "Cannot change the configuration: ");
      return FALSE;
    }
  for (guint i = 0; i < changes->len; i++)
    apply_change (key_file, g_ptr_array_index (changes, i));
  if (!write_key_file (self->path, key_file, error))
    return FALSE;

  sfb_config_reload (self);
  sfb_config_emit_changed (self);
  return TRUE;
}
