/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-config.h"

#include "sfb-error.h"
#include "sfb-file.h"
#include "sfb-text.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sfbd/sfb-names.h>

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

/* Unknown keys named in the one log line that summarises them */
#define MAX_UNKNOWN_LISTED 10

G_DEFINE_FINAL_TYPE (SfbConfig, sfb_config, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

#define KEY_FILE_FLAGS (G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS)

/* ---- validation ---------------------------------------------------- */

typedef gboolean (*SfbValidateFunc) (const char *value, char **normalized, GError **error);

static gboolean
is_valid_hostname (const char *host)
{
  gsize label = 0;

  if (*host == '\0' || strlen (host) > 253)
    return FALSE;
  for (const char *p = host;; p++)
    {
      if (*p == '.' || *p == '\0')
        {
          if (label == 0 || p[-1] == '-')
            return FALSE;
          if (*p == '\0')
            return TRUE;
          label = 0;
          continue;
        }
      if (!g_ascii_isalnum (*p) && (*p != '-' || label == 0))
        return FALSE;
      if (++label > 63)
        return FALSE;
    }
}

static gboolean
has_any_char (const char *s, const char *chars)
{
  return strpbrk (s, chars) != NULL;
}

static gboolean
validate_uri (const char *value, char **normalized, GError **error)
{
  const char *rest = value;
  g_autofree char *user = NULL;
  g_autofree char *domain = NULL;
  const char *at;

  if (g_ascii_strncasecmp (rest, "sip:", 4) == 0)
    rest += 4;
  at = strchr (rest, '@');
  if (at != NULL)
    {
      user = g_strndup (rest, (gsize) (at - rest));
      domain = g_ascii_strdown (at + 1, -1);
    }
  if (user == NULL || *user == '\0' || has_any_char (user, " \t:;?<>\"@[]#\\/")
      || !is_valid_hostname (domain))
    {
      g_autofree char *shown = sfb_text_quote_untrusted (value, -1, SFB_TEXT_QUOTE_MAX);

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "“%s” is not a SIP address; use sip:user@example.com or user@example.com",
                   shown);
      return FALSE;
    }
  *normalized = g_strdup_printf ("sip:%s@%s", user, domain);
  return TRUE;
}

/* A hand-written "DOMAIN\\user" (GKeyFile escaping) means "DOMAIN\user". */
static char *
unescape_backslashes (const char *value)
{
  g_auto (GStrv) parts = g_strsplit (value, "\\\\", -1);

  return g_strjoinv ("\\", parts);
}

static gboolean
is_valid_login (const char *login)
{
  const char *sep = strchr (login, '\\');
  const char *at = strchr (login, '@');

  /* characters Active Directory refuses in user and domain names */
  if (*login == '\0' || has_any_char (login, "\"/[]:;|=,+*?<>"))
    return FALSE;
  if (sep != NULL)
    return sep != login && sep[1] != '\0' && strchr (sep + 1, '\\') == NULL && at == NULL;
  if (at != NULL)
    return at != login && is_valid_hostname (at + 1);
  return TRUE;
}

static gboolean
validate_login (const char *value, char **normalized, GError **error)
{
  g_autofree char *login = unescape_backslashes (value);

  if (!is_valid_login (login))
    {
      g_autofree char *shown = sfb_text_quote_untrusted (value, -1, SFB_TEXT_QUOTE_MAX);

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "“%s” is not a login; use DOMAIN\\user or user@domain",
                   shown);
      return FALSE;
    }
  *normalized = g_steal_pointer (&login);
  return TRUE;
}

static gboolean
parse_port (const char *text, guint16 *port)
{
  guint64 number;

  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT16, &number, NULL))
    return FALSE;
  *port = (guint16) number;
  return TRUE;
}

/* "host", "host:port", "[v6]" or "[v6]:port"; *host is lower case. */
static gboolean
split_server (const char *value, char **host, guint16 *port)
{
  g_autofree char *name = NULL;
  const char *rest;

  if (value[0] == '[')
    {
      const char *end = strchr (value, ']');

      if (end == NULL)
        return FALSE;
      name = g_strndup (value + 1, (gsize) (end - value - 1));
      if (!strchr (name, ':') || !g_hostname_is_ip_address (name))
        return FALSE;
      rest = end + 1;
    }
  else
    {
      rest = strchr (value, ':');
      if (rest == NULL)
        rest = value + strlen (value);
      name = g_strndup (value, (gsize) (rest - value));
      if (!is_valid_hostname (name))
        return FALSE;
    }

  *port = 0;
  if (*rest != '\0' && (*rest != ':' || !parse_port (rest + 1, port)))
    return FALSE;
  *host = g_ascii_strdown (name, -1);
  return TRUE;
}

static gboolean
validate_server (const char *value, char **normalized, GError **error)
{
  g_autofree char *host = NULL;
  guint16 port = 0;

  if (!split_server (value, &host, &port))
    {
      g_autofree char *shown = sfb_text_quote_untrusted (value, -1, SFB_TEXT_QUOTE_MAX);

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "“%s” is not a server; use host or host:port with a port from 1 to 65535 "
                   "(IPv6 addresses in brackets: [2001:db8::1]:5061)",
                   shown);
      return FALSE;
    }
  if (port == 0)
    *normalized = strchr (host, ':') ? g_strdup_printf ("[%s]", host) : g_strdup (host);
  else
    *normalized = strchr (host, ':') ? g_strdup_printf ("[%s]:%u", host, port)
                                     : g_strdup_printf ("%s:%u", host, port);
  return TRUE;
}

static const char *const auth_modes[] = { "auto", "ntlm", "kerberos", "tls-dsk", NULL };
static const char *const secrets_stores[] = { "auto", "secret-service", "file", NULL };
static const char *const booleans[] = { "true", "false", NULL };

static gint
find_choice (const char *const *choices, const char *value)
{
  for (gint i = 0; choices[i] != NULL; i++)
    {
      if (g_ascii_strcasecmp (choices[i], value) == 0)
        return i;
    }
  return -1;
}

static gboolean
validate_choice (const char *const *choices,
                 const char *what,
                 const char *value,
                 char **normalized,
                 GError **error)
{
  gint i = find_choice (choices, value);
  g_autofree char *allowed = NULL;
  g_autofree char *shown = NULL;

  if (i >= 0)
    {
      *normalized = g_strdup (choices[i]);
      return TRUE;
    }
  allowed = g_strjoinv (", ", (GStrv) choices);
  shown = sfb_text_quote_untrusted (value, -1, SFB_TEXT_QUOTE_MAX);
  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_INVALID_ARGS,
               "“%s” is not %s; use one of: %s",
               shown,
               what,
               allowed);
  return FALSE;
}

static gboolean
validate_auth (const char *value, char **normalized, GError **error)
{
  return validate_choice (auth_modes, "an authentication method", value, normalized, error);
}

static gboolean
validate_store (const char *value, char **normalized, GError **error)
{
  return validate_choice (secrets_stores, "a secret store", value, normalized, error);
}

static gboolean
validate_boolean (const char *value, char **normalized, GError **error)
{
  /* GKeyFile also writes 1 and 0 */
  if (g_str_equal (value, "1"))
    value = "true";
  else if (g_str_equal (value, "0"))
    value = "false";
  return validate_choice (booleans, "a boolean", value, normalized, error);
}

static gboolean
validate_ca_file (const char *value, char **normalized, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *shown = sfb_text_quote_untrusted (value, -1, SFB_TEXT_QUOTE_MAX);

  if (g_str_has_prefix (value, "~/"))
    path = g_build_filename (g_get_home_dir (), value + 2, NULL);
  else
    path = g_strdup (value);

  if (!g_path_is_absolute (path))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "“%s” is not an absolute path; give the full path of a PEM file",
                   shown);
      return FALSE;
    }
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) || access (path, R_OK) != 0)
    {
      g_autofree char *shown_path = sfb_text_quote_untrusted (path, -1, 200);

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "%s is not a readable file; give the path of a PEM file with the CA "
                   "certificates",
                   shown_path);
      return FALSE;
    }
  *normalized = g_steal_pointer (&path);
  return TRUE;
}

static gboolean
validate_device (const char *value, char **normalized, GError **error)
{
  *normalized = g_strdup (value);
  return TRUE;
}

typedef struct
{
  const char *group;
  const char *key;
  const char *name;
  SfbValidateFunc validate;
  gboolean boolean;
} SfbConfigKey;

static const SfbConfigKey config_keys[] = {
  { "Account", "Uri", "Account.Uri", validate_uri, FALSE },
  { "Account", "Login", "Account.Login", validate_login, FALSE },
  { "Account", "Server", "Account.Server", validate_server, FALSE },
  { "Account", "Auth", "Account.Auth", validate_auth, FALSE },
  { "Account", "AutoSignIn", "Account.AutoSignIn", validate_boolean, TRUE },
  { "TLS", "CAFile", "TLS.CAFile", validate_ca_file, FALSE },
  { "Secrets", "Store", "Secrets.Store", validate_store, FALSE },
  { "Devices", "AudioOutput", "Devices.AudioOutput", validate_device, FALSE },
  { "Devices", "AudioInput", "Devices.AudioInput", validate_device, FALSE },
  { "Devices", "VideoInput", "Devices.VideoInput", validate_device, FALSE },
};

/* In the file: exact group and key. */
static const SfbConfigKey *
find_key_exact (const char *group, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    {
      if (g_str_equal (config_keys[i].group, group) && g_str_equal (config_keys[i].key, key))
        return &config_keys[i];
    }
  return NULL;
}

/* From Configure(): "Group.Key" or a bare "Key" (all are unique), any case. */
static const SfbConfigKey *
lookup_key (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    {
      if (g_ascii_strcasecmp (config_keys[i].name, name) == 0
          || g_ascii_strcasecmp (config_keys[i].key, name) == 0)
        return &config_keys[i];
    }
  return NULL;
}

static char *
dup_known_names (void)
{
  g_autoptr (GString) names = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", config_keys[i].name);
  return g_string_free (g_steal_pointer (&names), FALSE);
}

/* A '#' at the start of a value or after a blank starts a comment, as in
 * the documented example ("Server=   # host[:port]: …"). */
static const char *
find_inline_comment (const char *raw)
{
  for (const char *p = raw; *p != '\0'; p++)
    {
      if (*p == '#' && (p == raw || p[-1] == ' ' || p[-1] == '\t'))
        return p;
    }
  return NULL;
}

static char *
clean_value (const char *raw)
{
  const char *comment = find_inline_comment (raw);
  char *value = comment != NULL ? g_strndup (raw, (gsize) (comment - raw)) : g_strdup (raw);

  return g_strstrip (value);
}

static gboolean
validate_value (const SfbConfigKey *key, const char *value, char **normalized, GError **error)
{
  /* UTF-8, bounded, no control or formatting characters: checked here, when
   * the file is read, not at sign-in */
  if (!sfb_text_check_argument (key->name, value, SFB_CONFIG_MAX_VALUE, 0, error))
    return FALSE;
  if (find_inline_comment (value) != NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "%s: the value must not contain a “#” at its start or after a blank, "
                   "which starts a comment",
                   key->name);
      return FALSE;
    }
  if (!key->validate (value, normalized, error))
    {
      g_prefix_error (error, "%s: ", key->name);
      return FALSE;
    }
  return TRUE;
}

/* ---- reading ------------------------------------------------------- */

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

static GKeyFile *
read_key_file (const char *path, char **contents_out, GError **error)
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
  const SfbConfigKey *known = find_key_exact (group, key);
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
  value = clean_value (raw != NULL ? raw : "");
  if (*value == '\0')
    return;
  if (!validate_value (known, value, &normalized, &error))
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
    split_server (server, &self->server_host, &self->server_port);
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
  key_file = read_key_file (self->path, &contents, &error);
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

/* ---- writing ------------------------------------------------------- */

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
  const SfbConfigKey *key = lookup_key (name);
  SfbConfigChange *change;

  if (key == NULL)
    {
      g_autofree char *known = dup_known_names ();
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
  if (*text != '\0' && !validate_value (key, text, &normalized, error))
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
  comment = old != NULL ? find_inline_comment (old) : NULL;
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
  key_file = read_key_file (self->path, NULL, error);
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
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
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

SfbAuthMode
sfb_config_get_auth (SfbConfig *self)
{
  const char *value = sfb_config_get_value (self, "Account.Auth");

  return value != NULL ? (SfbAuthMode) find_choice (auth_modes, value) : SFB_AUTH_MODE_AUTO;
}

gboolean
sfb_config_get_auto_sign_in (SfbConfig *self)
{
  const char *value = sfb_config_get_value (self, "Account.AutoSignIn");

  return value == NULL || g_str_equal (value, "true");
}

const char *
sfb_config_get_ca_file (SfbConfig *self)
{
  return sfb_config_get_value (self, "TLS.CAFile");
}

SfbSecretsStore
sfb_config_get_secrets_store (SfbConfig *self)
{
  const char *value = sfb_config_get_value (self, "Secrets.Store");

  return value != NULL ? (SfbSecretsStore) find_choice (secrets_stores, value)
                       : SFB_SECRETS_STORE_AUTO;
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

const char *
sfb_auth_mode_to_string (SfbAuthMode mode)
{
  if ((guint) mode >= G_N_ELEMENTS (auth_modes) - 1)
    return NULL;
  return auth_modes[mode];
}

const char *
sfb_secrets_store_to_string (SfbSecretsStore store)
{
  if ((guint) store >= G_N_ELEMENTS (secrets_stores) - 1)
    return NULL;
  return secrets_stores[store];
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
