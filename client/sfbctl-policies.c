/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl policies [list] | show GROUP
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"

#include <stdio.h>

static int
policies_list (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusPolicies) policies = NULL;
  g_autoptr (GError) error = NULL;
  const char *const *groups;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (
          ctl, "List the policy groups the server sent.", NULL, &argc, &argv, &exit_code))
    return exit_code;

  policies = sfbctl_get_policies (ctl, &error);
  if (policies == NULL)
    return sfbctl_print_error (ctl, error);
  if (ctl->json)
    return sfbctl_print_properties_json (policies);

  groups = sfb_dbus_policies_get_groups (policies);
  if (groups == NULL || groups[0] == NULL)
    return sfbctl_print_done (
        ctl, "No policies%s", sfbctl_is_signed_in (ctl) ? "" : " (not signed in)");
  for (guint i = 0; groups[i] != NULL; i++)
    printf ("%s\n", groups[i]);
  return SFBCTL_EXIT_OK;
}

static int
policies_show (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusPolicies) policies = NULL;
  g_autoptr (GVariant) policy = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbctlFields) fields = sfbctl_fields_new ();
  GVariantIter iter;
  const char *key;
  GVariant *value;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_options (
          ctl, "GROUP", "Show every property of one policy group.", NULL, &argc, &argv, &exit_code)
      || !sfbctl_check_arguments (ctl, argc, argv, 1, 1, &exit_code))
    return exit_code;

  policies = sfbctl_get_policies (ctl, &error);
  if (policies == NULL
      || !sfb_dbus_policies_call_get_policy_sync (policies, argv[1], &policy, NULL, &error))
    return sfbctl_print_error (ctl, error);
  if (ctl->json)
    return sfbctl_print_variant_json (policy);

  g_variant_iter_init (&iter, policy);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      g_autofree char *text = sfbctl_format_value (value);
      sfbctl_fields_add (fields, key, "%s", text);
    }
  sfbctl_fields_print (fields);
  return SFBCTL_EXIT_OK;
}

int
sfbctl_cmd_policies (Sfbctl *ctl, int argc, char **argv)
{
  static const SfbctlCommand commands[] = {
    { "list", policies_list, NULL, "List the policy groups" },
    { "show", policies_show, "GROUP", "Show one policy group" },
  };

  return sfbctl_dispatch (ctl, commands, G_N_ELEMENTS (commands), "list", argc, argv);
}
