/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl config show | set KEY VALUE
 *
 * Keys are the "Group.Key" names Configure() takes.  "show" reads Uri and
 * Login from sfbd's Account properties (normalized, with the login
 * default applied); the other settings are not exposed on D-Bus, so they
 * come from sfbd.conf itself, read-only, with the defaults of
 * docs/architecture.md §5 for keys the file leaves out.
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"
#include "sfbd/sfb-names.h"

#include <string.h>

typedef struct
{
  const char *key;
  const char *default_value;
  gboolean is_boolean;
} ConfigSetting;

/* clang-format off */
static const ConfigSetting settings[] = {
  { "Account.Uri",        "",            FALSE },
  { "Account.Login",      "",            FALSE },
  { "Account.Server",     "",            FALSE },
  { "Account.Auth",       SFB_AUTH_AUTO, FALSE },
  { "Account.AutoSignIn", "true",        TRUE },
  { "TLS.CAFile",         "",            FALSE },
  { "Secrets.Store",      "auto",        FALSE },
};
/* clang-format on */

/* a value of sfbd's view of the configuration */
typedef struct
{
  char *key;
  GVariant *value;
  gboolean is_default;
} ConfigValue;

static void
config_value_free (ConfigValue *value)
{
  g_free (value->key);
  g_variant_unref (value->value);
  g_free (value);
}

static void
add_value (GPtrArray *values, const char *key, GVariant *value, gboolean is_default)
{
  ConfigValue *entry = g_new0 (ConfigValue, 1);

  entry->key = g_strdup (key);
  entry->value = g_variant_ref_sink (value);
  entry->is_default = is_default;
  g_ptr_array_add (values, entry);
}

static const ConfigSetting *
find_setting (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      const char *bare_key = strchr (settings[i].key, '.') + 1;

      /* Configure() also takes unique keys without their group */
      if (g_str_equal (settings[i].key, key) || g_str_equal (bare_key, key))
        return &settings[i];
    }
  return NULL;
}

/* "true", "yes", "on", "1" and their opposites; FALSE for anything else */
static gboolean
parse_boolean (const char *text, gboolean *value)
{
  static const char *const true_words[] = { "true", "yes", "on", "1" };
  static const char *const false_words[] = { "false", "no", "off", "0" };

  for (gsize i = 0; i < G_N_ELEMENTS (true_words); i++)
    {
      if (g_ascii_strcasecmp (text, true_words[i]) == 0)
        {
          *value = TRUE;
          return TRUE;
        }
      if (g_ascii_strcasecmp (text, false_words[i]) == 0)
        {
          *value = FALSE;
          return TRUE;
        }
    }
  return FALSE;
}

static GVariant *
setting_variant (const ConfigSetting *setting, const char *text)
{
  gboolean boolean;

  if (setting != NULL && setting->is_boolean && parse_boolean (text, &boolean))
    return g_variant_new_boolean (boolean);
  return g_variant_new_string (text);
}

/* ---- show ---- */

static char *
config_file_path (void)
{
  const char *dir = g_getenv (SFB_ENV_CONFIG_DIR);

  if (dir != NULL && *dir != '\0')
    return g_build_filename (dir, "sfbd.conf", NULL);
  return g_build_filename (g_get_user_config_dir (), "sfbd", "sfbd.conf", NULL);
}

static GKeyFile *
load_config_file (const char *path, GError **error)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error)
      && !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error,
                   local_error->domain,
                   local_error->code,
                   "cannot read %s: %s",
                   path,
                   local_error->message);
      return NULL;
    }
  return g_steal_pointer (&key_file);
}

static GVariant *
file_value (GKeyFile *key_file, const ConfigSetting *setting, gboolean *is_default)
{
  g_auto (GStrv) group_key = g_strsplit (setting->key, ".", 2);
  g_autofree char *text = g_key_file_get_string (key_file, group_key[0], group_key[1], NULL);

  *is_default = text == NULL;
  return setting_variant (setting, text != NULL ? text : setting->default_value);
}

/* keys of the file that are not among the known settings, as strings */
static void
add_other_file_values (GPtrArray *values, GKeyFile *key_file)
{
  g_auto (GStrv) groups = g_key_file_get_groups (key_file, NULL);

  for (guint g = 0; groups[g] != NULL; g++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (key_file, groups[g], NULL, NULL);

      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        {
          g_autofree char *key = g_strdup_printf ("%s.%s", groups[g], keys[k]);
          g_autofree char *text = g_key_file_get_string (key_file, groups[g], keys[k], NULL);

          if (find_setting (key) == NULL && text != NULL)
            add_value (values, key, g_variant_new_string (text), FALSE);
        }
    }
}

/* the settings sfbd exposes as Account properties; NULL for the others */
static GVariant *
daemon_value (SfbDBusAccount *account, const char *key)
{
  const char *value = NULL;

  if (g_str_equal (key, "Account.Uri"))
    value = sfb_dbus_account_get_uri (account);
  else if (g_str_equal (key, "Account.Login"))
    value = sfb_dbus_account_get_login (account);
  else
    return NULL;
  return g_variant_ref_sink (g_variant_new_string (value != NULL ? value : ""));
}

static GPtrArray *
collect_values (SfbDBusAccount *account, GKeyFile *key_file)
{
  GPtrArray *values = g_ptr_array_new_with_free_func ((GDestroyNotify) config_value_free);

  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      gboolean is_default;
      g_autoptr (GVariant) from_file
          = g_variant_ref_sink (file_value (key_file, &settings[i], &is_default));
      /* what sfbd uses (normalized, defaults applied) wins over the file */
      g_autoptr (GVariant) from_daemon = daemon_value (account, settings[i].key);

      add_value (
          values, settings[i].key, from_daemon != NULL ? from_daemon : from_file, is_default);
    }
  add_other_file_values (values, key_file);
  return values;
}

static void
print_values_json (GPtrArray *values)
{
  g_autoptr (JsonObject) object = json_object_new ();
  g_autoptr (JsonNode) node = json_node_alloc ();

  for (guint i = 0; i < values->len; i++)
    {
      ConfigValue *entry = values->pdata[i];
      json_object_set_member (object, entry->key, sfbctl_json_from_variant (entry->value));
    }
  sfbctl_print_json (json_node_init_object (node, object));
}

static void
print_values_text (GPtrArray *values, const char *path)
{
  g_autoptr (SfbctlFields) fields = sfbctl_fields_new ();

  for (guint i = 0; i < values->len; i++)
    {
      ConfigValue *entry = values->pdata[i];
      g_autofree char *text = sfbctl_format_value (entry->value);

      if (*text == '\0')
        sfbctl_fields_add (fields, entry->key, "(not set)");
      else if (entry->is_default)
        sfbctl_fields_add (fields,
                           entry->key,
                           "%s %s(default)%s",
                           text,
                           sfbctl_style (SFBCTL_STYLE_DIM),
                           sfbctl_style_reset ());
      else
        sfbctl_fields_add (fields, entry->key, "%s", text);
    }
  sfbctl_fields_add (fields,
                     "File",
                     "%s%s",
                     path,
                     g_file_test (path, G_FILE_TEST_EXISTS) ? "" : " (not created yet)");
  sfbctl_fields_print (fields);
}

static int
config_show (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusAccount) account = NULL;
  g_autoptr (GKeyFile) key_file = NULL;
  g_autoptr (GPtrArray) values = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = config_file_path ();
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (
          ctl, "Show the configuration sfbd uses.", NULL, &argc, &argv, &exit_code))
    return exit_code;

  account = sfbctl_get_account (ctl, &error);
  if (account == NULL)
    return sfbctl_print_error (ctl, error);
  key_file = load_config_file (path, &error);
  if (key_file == NULL)
    return sfbctl_print_error (ctl, error);

  values = collect_values (account, key_file);
  if (ctl->json)
    print_values_json (values);
  else
    print_values_text (values, path);
  return SFBCTL_EXIT_OK;
}

/* ---- set ---- */

static int
config_set (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusAccount) account = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  const ConfigSetting *setting;
  const char *key, *text;
  int exit_code = SFBCTL_EXIT_OK;
  gboolean boolean;

  if (!sfbctl_parse_options (ctl,
                             "KEY VALUE",
                             "Change one setting; an empty VALUE restores the default.\n"
                             "Keys: Account.Uri, Account.Login, Account.Server, Account.Auth,\n"
                             "Account.AutoSignIn, TLS.CAFile, Secrets.Store.",
                             NULL,
                             &argc,
                             &argv,
                             &exit_code)
      || !sfbctl_check_arguments (ctl, argc, argv, 2, 2, &exit_code))
    return exit_code;

  key = argv[1];
  text = argv[2];
  setting = find_setting (key);
  if (setting != NULL && setting->is_boolean && *text != '\0' && !parse_boolean (text, &boolean))
    {
      g_autofree char *quoted = sfbctl_quote (text);
      return sfbctl_print_usage_error (ctl, "%s takes true or false, not “%s”", key, quoted);
    }

  /* sfbd writes the change: it may be started for it */
  ctl->auto_start = TRUE;
  account = sfbctl_get_account (ctl, &error);
  if (account == NULL)
    return sfbctl_print_error (ctl, error);
  g_variant_dict_insert_value (&dict, key, setting_variant (setting, text));
  if (!sfb_dbus_account_call_configure_sync (account, g_variant_dict_end (&dict), NULL, &error))
    return sfbctl_print_error (ctl, error);

  if (*text == '\0')
    return sfbctl_print_done (ctl, "%s restored to its default", key);
  return sfbctl_print_done (ctl, "%s set to “%s”", key, text);
}

int
sfbctl_cmd_config (Sfbctl *ctl, int argc, char **argv)
{
  static const SfbctlCommand commands[] = {
    { "show", config_show, NULL, "Show the configuration sfbd uses" },
    { "set", config_set, "KEY VALUE", "Change one setting" },
  };

  return sfbctl_dispatch (ctl, commands, G_N_ELEMENTS (commands), "show", argc, argv);
}
