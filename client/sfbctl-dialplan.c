/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl dialplan [show] | normalize NUMBER
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"

#include <stdio.h>

static void
print_rules (GVariant *rules)
{
  g_autoptr (SfbctlTable) table
      = sfbctl_table_new ("PATTERN", "TRANSLATION", "INTERNAL EXTENSION", NULL);

  for (gsize i = 0; i < g_variant_n_children (rules); i++)
    {
      g_autoptr (GVariant) rule = g_variant_get_child_value (rules, i);
      g_autofree char *pattern = sfbctl_lookup_string (rule, "Pattern");
      g_autofree char *translation = sfbctl_lookup_string (rule, "Translation");
      gboolean internal_extension = FALSE;

      g_variant_lookup (rule, "InternalExtension", "b", &internal_extension);
      sfbctl_table_add_row (table, pattern, translation, internal_extension ? "yes" : "");
    }
  printf ("\n");
  sfbctl_table_print (table);
}

static int
print_dial_plan_text (Sfbctl *ctl, SfbDBusDialPlan *dial_plan)
{
  const char *name = sfb_dbus_dial_plan_get_name (dial_plan);
  const char *prefix = sfb_dbus_dial_plan_get_external_access_prefix (dial_plan);
  GVariant *rules = sfb_dbus_dial_plan_get_rules (dial_plan);
  g_autoptr (SfbctlFields) fields = sfbctl_fields_new ();

  if (name == NULL || *name == '\0')
    return sfbctl_print_done (
        ctl, "No dial plan%s", sfbctl_is_signed_in (ctl) ? "" : " (not signed in)");

  sfbctl_fields_add (
      fields, "Name", "%s%s", name, sfb_dbus_dial_plan_get_cached (dial_plan) ? " (cached)" : "");
  sfbctl_fields_add (fields,
                     "External access prefix",
                     "%s",
                     prefix != NULL && *prefix != '\0' ? prefix : "(none)");
  sfbctl_fields_add (fields,
                     "Optimize device dialing",
                     "%s",
                     sfb_dbus_dial_plan_get_optimize_device_dialing (dial_plan) ? "yes" : "no");
  sfbctl_fields_add (fields, "Rules", "%zu", rules != NULL ? g_variant_n_children (rules) : 0);
  sfbctl_fields_print (fields);
  if (rules != NULL && g_variant_n_children (rules) > 0)
    print_rules (rules);
  return SFBCTL_EXIT_OK;
}

static int
dialplan_show (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusDialPlan) dial_plan = NULL;
  g_autoptr (GError) error = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (
          ctl, "Show the dial plan (location profile).", NULL, &argc, &argv, &exit_code))
    return exit_code;

  dial_plan = sfbctl_get_dial_plan (ctl, &error);
  if (dial_plan == NULL)
    return sfbctl_print_error (ctl, error);
  if (ctl->json)
    return sfbctl_print_properties_json (dial_plan);
  return print_dial_plan_text (ctl, dial_plan);
}

static void
print_normalized_json (const char *number,
                       const char *normalized,
                       const char *pattern,
                       gboolean internal_extension)
{
  g_autoptr (JsonObject) object = json_object_new ();
  g_autoptr (JsonNode) node = json_node_alloc ();

  json_object_set_string_member (object, "Number", number);
  json_object_set_string_member (object, "Normalized", normalized);
  json_object_set_string_member (object, "Pattern", pattern);
  json_object_set_boolean_member (object, "InternalExtension", internal_extension);
  sfbctl_print_json (json_node_init_object (node, object));
}

static int
dialplan_normalize (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusDialPlan) dial_plan = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *pattern = NULL;
  gboolean internal_extension = FALSE;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_options (ctl,
                             "NUMBER",
                             "Normalize a number with the dial plan's rules.",
                             NULL,
                             &argc,
                             &argv,
                             &exit_code)
      || !sfbctl_check_arguments (ctl, argc, argv, 1, 1, &exit_code))
    return exit_code;

  dial_plan = sfbctl_get_dial_plan (ctl, &error);
  if (dial_plan == NULL
      || !sfb_dbus_dial_plan_call_normalize_sync (
          dial_plan, argv[1], &normalized, &pattern, &internal_extension, NULL, &error))
    return sfbctl_print_error (ctl, error);

  if (ctl->json)
    print_normalized_json (argv[1], normalized, pattern, internal_extension);
  else
    printf (
        "%s (rule %s%s)\n", normalized, pattern, internal_extension ? ", internal extension" : "");
  return SFBCTL_EXIT_OK;
}

int
sfbctl_cmd_dialplan (Sfbctl *ctl, int argc, char **argv)
{
  static const SfbctlCommand commands[] = {
    { "show", dialplan_show, NULL, "Show the dial plan" },
    { "normalize", dialplan_normalize, "NUMBER", "Normalize a number" },
  };

  return sfbctl_dispatch (ctl, commands, G_N_ELEMENTS (commands), "show", argc, argv);
}
