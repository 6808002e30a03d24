/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

/* The settings of sfbd.conf (docs/architecture.md §5): the table of keys,
 * how each value is validated and normalized, and the named choices. */

#include "sfb-config-private.h"

#include "sfb-error.h"
#include "sfb-text.h"

#include <string.h>
#include <unistd.h>

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
gboolean
sfb_config_split_server (const char *value, char **host, guint16 *port)
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

  if (!sfb_config_split_server (value, &host, &port))
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

/* A time in whole seconds, 0 (never) to a day. */
static gboolean
validate_seconds (const char *value, char **normalized, GError **error)
{
  guint64 seconds;

  if (!g_ascii_string_to_unsigned (value, 10, 0, SFB_CONFIG_MAX_SECONDS, &seconds, NULL))
    {
      g_autofree char *shown = sfb_text_quote_untrusted (value, -1, SFB_TEXT_QUOTE_MAX);

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "“%s” is not a time; give whole seconds from 0 (never) to %u",
                   shown,
                   SFB_CONFIG_MAX_SECONDS);
      return FALSE;
    }
  *normalized = g_strdup_printf ("%" G_GUINT64_FORMAT, seconds);
  return TRUE;
}

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
  { "Presence", "InactiveAfter", "Presence.InactiveAfter", validate_seconds, FALSE },
  { "Presence", "AwayAfter", "Presence.AwayAfter", validate_seconds, FALSE },
  { "Notifications",
    "ReconnectingAfter",
    "Notifications.ReconnectingAfter",
    validate_seconds,
    FALSE },
};

/* In the file: exact group and key. */
const SfbConfigKey *
sfb_config_find_key_exact (const char *group, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    {
      if (g_str_equal (config_keys[i].group, group) && g_str_equal (config_keys[i].key, key))
        return &config_keys[i];
    }
  return NULL;
}

/* From Configure(): "Group.Key" or a bare "Key" (all are unique), any case. */
const SfbConfigKey *
sfb_config_lookup_key (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    {
      if (g_ascii_strcasecmp (config_keys[i].name, name) == 0
          || g_ascii_strcasecmp (config_keys[i].key, name) == 0)
        return &config_keys[i];
    }
  return NULL;
}

char *
sfb_config_dup_known_names (void)
{
  g_autoptr (GString) names = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", config_keys[i].name);
  return g_string_free (g_steal_pointer (&names), FALSE);
}

/* A '#' at the start of a value or after a blank starts a comment, as in
 * the documented example ("Server=   # host[:port]: …"). */
const char *
sfb_config_find_inline_comment (const char *raw)
{
  for (const char *p = raw; *p != '\0'; p++)
    {
      if (*p == '#' && (p == raw || p[-1] == ' ' || p[-1] == '\t'))
        return p;
    }
  return NULL;
}

char *
sfb_config_clean_value (const char *raw)
{
  const char *comment = sfb_config_find_inline_comment (raw);
  char *value = comment != NULL ? g_strndup (raw, (gsize) (comment - raw)) : g_strdup (raw);

  return g_strstrip (value);
}

gboolean
sfb_config_validate_value (const SfbConfigKey *key,
                           const char *value,
                           char **normalized,
                           GError **error)
{
  /* UTF-8, bounded, no control or formatting characters: checked here, when
   * the file is read, not at sign-in */
  if (!sfb_text_check_argument (key->name, value, SFB_CONFIG_MAX_VALUE, 0, error))
    return FALSE;
  if (sfb_config_find_inline_comment (value) != NULL)
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

/* ---- choices --------------------------------------------------------- */

SfbAuthMode
sfb_config_get_auth (SfbConfig *self)
{
  const char *value = sfb_config_get_value (self, "Account.Auth");

  return value != NULL ? (SfbAuthMode) find_choice (auth_modes, value) : SFB_AUTH_MODE_AUTO;
}

SfbSecretsStore
sfb_config_get_secrets_store (SfbConfig *self)
{
  const char *value = sfb_config_get_value (self, "Secrets.Store");

  return value != NULL ? (SfbSecretsStore) find_choice (secrets_stores, value)
                       : SFB_SECRETS_STORE_AUTO;
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
