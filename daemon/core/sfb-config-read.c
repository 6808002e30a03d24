/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

/* Loading sfbd.conf: the whole file or nothing, every key validated, the
 * first problem kept with its line as the load error. */

#include "sfb-config-private.h"

#include "sfb-error.h"
#include "sfb-file.h"
#include "sfb-text.h"

#include <string.h>

/* Unknown keys named in the one log line that summarises them */
#define MAX_UNKNOWN_LISTED 10

/* "group\nkey" -> 1-based line of its last definition, in one pass (a
 * search per key made reading a file of many keys quadratic). */
static GHashTable *
index_key_lines (const char *contents)
{
  GHashTable *lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *current = NULL;
  const char *line = contents;

  for (guint n = 1; line != NULL; n++)
    {
      const char *end = strchr (line, '\n');
      const char *p = line;
      const char *eq;

      while (*p == ' ' || *p == '\t')
        p++;
      eq = memchr (p, '=', end != NULL ? (gsize) (end - p) : strlen (p));
      if (*p == '[')
        {
          const char *close = memchr (p, ']', end != NULL ? (gsize) (end - p) : strlen (p));

          g_free (current);
          current = close != NULL ? g_strndup (p + 1, (gsize) (close - p - 1)) : NULL;
        }
      else if (current != NULL && *p != '#' && eq != NULL && eq > p)
        {
          const char *key_end = eq;

          while (key_end > p && (key_end[-1] == ' ' || key_end[-1] == '\t'))
            key_end--;
          g_hash_table_insert (lines,
                               g_strdup_printf ("%s\n%.*s", current, (int) (key_end - p), p),
                               GUINT_TO_POINTER (n));
        }
      line = end != NULL ? end + 1 : NULL;
    }
  return lines;
}

static guint
find_key_line (GHashTable *lines, const char *group, const char *key)
{
  g_autofree char *name = g_strdup_printf ("%s\n%s", group, key);

  return GPOINTER_TO_UINT (g_hash_table_lookup (lines, name));
}

/* 1-based line of byte @offset */
static guint
line_of (const char *contents, gsize offset)
{
  guint line = 1;

  for (gsize i = 0; i < offset; i++)
    line += contents[i] == '\n';
  return line;
}

/* The whole file, or NULL with a NotConfigured error naming it (and the
 * line): never a part of it, since Configure() writes back what was read.
 * A missing file is an empty configuration. */
static char *
read_whole_file (const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  const char *nul;

  if (!sfb_file_read_regular (path, SFB_CONFIG_MAX_SIZE, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_strdup ("");
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_NOT_CONFIGURED,
                   "%s. Fix or remove the file (at most %u KiB)",
                   local_error->message,
                   SFB_CONFIG_MAX_SIZE / 1024);
      return NULL;
    }
  /* GKeyFile would stop there and the rest would be lost */
  nul = memchr (contents, '\0', length);
  if (nul != NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_NOT_CONFIGURED,
                   "%s:%u: the file contains a NUL byte. Fix that line or remove the file",
                   path,
                   line_of (contents, (gsize) (nul - contents)));
      return NULL;
    }
  return g_steal_pointer (&contents);
}

GKeyFile *
sfb_config_read_key_file (const char *path, char **contents_out, GError **error)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *contents = read_whole_file (path, error);
  guint line;

  if (contents == NULL)
    return NULL;
  if (!g_key_file_load_from_data (key_file, contents, (gsize) -1, KEY_FILE_FLAGS, &local_error))
    {
      g_autofree char *shown
          = sfb_text_quote_untrusted (local_error->message, -1, 2 * SFB_TEXT_QUOTE_MAX);

      line = sfb_key_file_find_bad_line (contents);
      if (line > 0)
        g_set_error (error,
                     SFB_ERROR,
                     SFB_ERROR_NOT_CONFIGURED,
                     "%s:%u: the line is not a [group], a key=value or a #comment. Fix that "
                     "line or remove the file",
                     path,
                     line);
      else
        g_set_error (error,
                     SFB_ERROR,
                     SFB_ERROR_NOT_CONFIGURED,
                     "%s: %s. Fix or remove the file",
                     path,
                     shown);
      return NULL;
    }
  if (contents_out != NULL)
    *contents_out = g_steal_pointer (&contents);
  return g_steal_pointer (&key_file);
}

static void
add_problem (SfbConfig *self, const char *problem)
{
  g_message ("Ignoring a setting: %s", problem);
  if (self->load_error == NULL)
    self->load_error = g_error_new_literal (SFB_ERROR, SFB_ERROR_NOT_CONFIGURED, problem);
}

static void
parse_entry (SfbConfig *self,
             GKeyFile *key_file,
             GHashTable *lines,
             GString *unknown,
             const char *group,
             const char *key)
{
  const SfbConfigKey *known = sfb_config_find_key_exact (group, key);
  g_autofree char *raw = NULL;
  g_autofree char *value = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *problem = NULL;
  g_autoptr (GError) error = NULL;

  if (known == NULL)
    {
      /* kept as it is: perhaps from a newer sfbd; logged once, in summary */
      if (strchr (key, '[') == NULL && ++self->n_unknown <= MAX_UNKNOWN_LISTED)
        {
          g_autofree char *shown_group = sfb_text_quote_untrusted (group, -1, SFB_TEXT_QUOTE_MAX);
          g_autofree char *shown_key = sfb_text_quote_untrusted (key, -1, SFB_TEXT_QUOTE_MAX);

          g_string_append_printf (unknown,
                                  "%s%s.%s (line %u)",
                                  unknown->len > 0 ? ", " : "",
                                  shown_group,
                                  shown_key,
                                  find_key_line (lines, group, key));
        }
      return;
    }
  raw = g_key_file_get_value (key_file, group, key, NULL);
  value = sfb_config_clean_value (raw != NULL ? raw : "");
  if (*value == '\0')
    return;
  if (!sfb_config_validate_value (known, value, &normalized, &error))
    {
      problem = g_strdup_printf (
          "%s:%u: %s", self->path, find_key_line (lines, group, key), error->message);
      add_problem (self, problem);
      return;
    }
  g_hash_table_replace (self->values, g_strdup (known->name), g_steal_pointer (&normalized));
}

static void
update_derived (SfbConfig *self)
{
  const char *uri = sfb_config_get_uri (self);
  const char *server = sfb_config_get_server (self);

  g_clear_pointer (&self->default_login, g_free);
  g_clear_pointer (&self->server_host, g_free);
  self->server_port = 0;
  if (uri != NULL)
    self->default_login = g_strndup (uri + 4, (gsize) (strchr (uri, '@') - uri - 4));
  if (server != NULL)
    sfb_config_split_server (server, &self->server_host, &self->server_port);
}

/* Re-reads the file; problems end up in sfb_config_get_load_error(). */
void
sfb_config_reload (SfbConfig *self)
{
  g_autoptr (GKeyFile) key_file = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  g_auto (GStrv) groups = NULL;

  g_return_if_fail (SFB_IS_CONFIG (self));

  g_hash_table_remove_all (self->values);
  g_clear_error (&self->load_error);
  key_file = sfb_config_read_key_file (self->path, &contents, &error);
  if (key_file == NULL)
    {
      g_message ("Ignoring the configuration: %s", error->message);
      self->load_error = g_steal_pointer (&error);
    }
  else
    {
      g_autoptr (GHashTable) lines = index_key_lines (contents);
      g_autoptr (GString) unknown = g_string_new (NULL);

      self->n_unknown = 0;
      groups = g_key_file_get_groups (key_file, NULL);
      for (guint i = 0; groups[i] != NULL; i++)
        {
          g_auto (GStrv) keys = g_key_file_get_keys (key_file, groups[i], NULL, NULL);

          for (guint j = 0; keys != NULL && keys[j] != NULL; j++)
            parse_entry (self, key_file, lines, unknown, groups[i], keys[j]);
        }
      if (self->n_unknown > 0)
        g_message ("%s: %u unknown setting(s), kept as they are: %s%s",
                   self->path,
                   self->n_unknown,
                   unknown->str,
                   self->n_unknown > MAX_UNKNOWN_LISTED ? ", …" : "");
    }
  update_derived (self);
}
