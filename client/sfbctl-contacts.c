/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl contacts [list] | groups
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"

typedef gboolean (*ListCall) (SfbDBusContacts *contacts,
                              GVariant **out,
                              GCancellable *cancellable,
                              GError **error);

/* calls a List method; the result is NULL after printing the error */
static GVariant *
call_list (Sfbctl *ctl, ListCall list_call, int *exit_code)
{
  g_autoptr (SfbDBusContacts) contacts = NULL;
  g_autoptr (GVariant) items = NULL;
  g_autoptr (GError) error = NULL;

  contacts = sfbctl_get_contacts (ctl, &error);
  if (contacts == NULL || !list_call (contacts, &items, NULL, &error))
    {
      *exit_code = sfbctl_print_error (ctl, error);
      return NULL;
    }
  return g_steal_pointer (&items);
}

/* an empty list, with the likely reason */
static int
print_none (Sfbctl *ctl, const char *what)
{
  return sfbctl_print_done (
      ctl, "No %s%s", what, sfbctl_is_signed_in (ctl) ? "" : " (not signed in)");
}

static int
contacts_list (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (GVariant) items = NULL;
  g_autoptr (SfbctlTable) table = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (
          ctl, "List your contacts with their presence.", NULL, &argc, &argv, &exit_code))
    return exit_code;
  items = call_list (ctl, sfb_dbus_contacts_call_list_contacts_sync, &exit_code);
  if (items == NULL)
    return exit_code;
  if (ctl->json)
    return sfbctl_print_variant_json (items);
  if (g_variant_n_children (items) == 0)
    {
      g_autoptr (SfbDBusContacts) contacts = sfbctl_get_contacts (ctl, NULL);
      const char *ucs = contacts != NULL ? sfb_dbus_contacts_get_ucs_mode (contacts) : NULL;

      if (ucs != NULL && *ucs != '\0')
        return sfbctl_print_done (ctl,
                                  "Your contact list is stored in Exchange (ucsmode %s); "
                                  "sfbd does not read it",
                                  ucs);
      return print_none (ctl, "contacts");
    }

  table = sfbctl_table_new ("NAME", "URI", "AVAILABILITY", "GROUPS", "NOTE", NULL);
  for (gsize i = 0; i < g_variant_n_children (items); i++)
    {
      g_autoptr (GVariant) contact = g_variant_get_child_value (items, i);
      g_autofree char *name = sfbctl_lookup_string (contact, "Name");
      g_autofree char *uri = sfbctl_lookup_string (contact, "Uri");
      g_autofree char *availability = sfbctl_lookup_string (contact, "Availability");
      g_autofree char *groups = sfbctl_lookup_string (contact, "Groups");
      g_autofree char *note = sfbctl_lookup_string (contact, "Note");

      sfbctl_table_add_row (table, name, uri, availability, groups, note);
    }
  sfbctl_table_print (table);
  return SFBCTL_EXIT_OK;
}

static int
contacts_groups (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (GVariant) items = NULL;
  g_autoptr (SfbctlTable) table = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (ctl, "List your contact groups.", NULL, &argc, &argv, &exit_code))
    return exit_code;
  items = call_list (ctl, sfb_dbus_contacts_call_list_groups_sync, &exit_code);
  if (items == NULL)
    return exit_code;
  if (ctl->json)
    return sfbctl_print_variant_json (items);
  if (g_variant_n_children (items) == 0)
    return print_none (ctl, "contact groups");

  table = sfbctl_table_new ("ID", "NAME", "DEFAULT", NULL);
  for (gsize i = 0; i < g_variant_n_children (items); i++)
    {
      g_autoptr (GVariant) group = g_variant_get_child_value (items, i);
      g_autofree char *id = sfbctl_lookup_string (group, "Id");
      g_autofree char *name = sfbctl_lookup_string (group, "Name");
      gboolean is_default = FALSE;

      g_variant_lookup (group, "Default", "b", &is_default);
      sfbctl_table_add_row (table, id, name, is_default ? "yes" : "");
    }
  sfbctl_table_print (table);
  return SFBCTL_EXIT_OK;
}

int
sfbctl_cmd_contacts (Sfbctl *ctl, int argc, char **argv)
{
  static const SfbctlCommand commands[] = {
    { "list", contacts_list, NULL, "List your contacts" },
    { "groups", contacts_groups, NULL, "List your contact groups" },
  };

  return sfbctl_dispatch (ctl, commands, G_N_ELEMENTS (commands), "list", argc, argv);
}
