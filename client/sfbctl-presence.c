/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl presence [show] | set AVAILABILITY | note TEXT | get URI...
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"
#include "sfbd/sfb-names.h"

/* what SetAvailability() takes: every availability but "offline" */
static const char *const settable_availabilities[] = {
  SFB_AVAILABILITY_ONLINE,         SFB_AVAILABILITY_BUSY,
  SFB_AVAILABILITY_DO_NOT_DISTURB, SFB_AVAILABILITY_BE_RIGHT_BACK,
  SFB_AVAILABILITY_AWAY,           SFB_AVAILABILITY_OFF_WORK,
  SFB_AVAILABILITY_APPEAR_OFFLINE, NULL,
};

static int
presence_show (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusPresence) presence = NULL;
  g_autoptr (SfbctlFields) fields = sfbctl_fields_new ();
  g_autoptr (GError) error = NULL;
  const char *activity, *note;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (
          ctl, "Show your published presence.", NULL, &argc, &argv, &exit_code))
    return exit_code;

  presence = sfbctl_get_presence (ctl, &error);
  if (presence == NULL)
    return sfbctl_print_error (ctl, error);
  if (ctl->json)
    return sfbctl_print_properties_json (presence);

  activity = sfb_dbus_presence_get_activity (presence);
  note = sfb_dbus_presence_get_note (presence);
  sfbctl_fields_add (fields,
                     "Availability",
                     "%s (%u)",
                     sfb_dbus_presence_get_availability (presence),
                     sfb_dbus_presence_get_availability_code (presence));
  sfbctl_fields_add (fields, "Activity", "%s", activity != NULL && *activity ? activity : "(none)");
  sfbctl_fields_add (fields, "Note", "%s", note != NULL && *note ? note : "(none)");
  sfbctl_fields_print (fields);
  return SFBCTL_EXIT_OK;
}

static int
presence_set (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusPresence) presence = NULL;
  g_autoptr (GError) error = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_options (ctl,
                             "AVAILABILITY",
                             "Publish an availability: online, busy, do-not-disturb,\n"
                             "be-right-back, away, off-work or appear-offline.",
                             NULL,
                             &argc,
                             &argv,
                             &exit_code)
      || !sfbctl_check_arguments (ctl, argc, argv, 1, 1, &exit_code))
    return exit_code;
  if (!g_strv_contains (settable_availabilities, argv[1]))
    {
      g_autofree char *choices = g_strjoinv (", ", (char **) settable_availabilities);
      g_autofree char *quoted = sfbctl_quote (argv[1]);
      return sfbctl_print_usage_error (
          ctl, "unknown availability “%s”; use one of %s", quoted, choices);
    }

  presence = sfbctl_get_presence (ctl, &error);
  if (presence == NULL
      || !sfb_dbus_presence_call_set_availability_sync (presence, argv[1], NULL, &error))
    return sfbctl_print_error (ctl, error);
  return sfbctl_print_done (ctl, "Availability set to %s", argv[1]);
}

static int
presence_note (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusPresence) presence = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *note = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_options (
          ctl, "TEXT", "Publish a personal note; \"\" clears it.", NULL, &argc, &argv, &exit_code)
      || !sfbctl_check_arguments (ctl, argc, argv, 1, -1, &exit_code))
    return exit_code;

  /* "presence note Back at 3" needs no quotes */
  note = g_strjoinv (" ", argv + 1);
  presence = sfbctl_get_presence (ctl, &error);
  if (presence == NULL || !sfb_dbus_presence_call_set_note_sync (presence, note, NULL, &error))
    return sfbctl_print_error (ctl, error);
  if (*note == '\0')
    return sfbctl_print_done (ctl, "Note cleared");
  return sfbctl_print_done (ctl, "Note set to “%s”", note);
}

static void
print_presence_table (GVariant *found, char **uris)
{
  g_autoptr (SfbctlTable) table
      = sfbctl_table_new ("URI", "AVAILABILITY", "ACTIVITY", "NOTE", NULL);

  for (guint i = 0; uris[i] != NULL; i++)
    {
      g_autoptr (GVariant) presence = g_variant_lookup_value (found, uris[i], NULL);
      g_autofree char *availability = NULL;
      g_autofree char *activity = NULL;
      g_autofree char *note = NULL;

      if (presence == NULL)
        {
          sfbctl_table_add_row (table, uris[i], "unknown", "", "");
          continue;
        }
      availability = sfbctl_lookup_string (presence, "Availability");
      activity = sfbctl_lookup_string (presence, "Activity");
      note = sfbctl_lookup_string (presence, "Note");
      sfbctl_table_add_row (table, uris[i], availability, activity, note);
    }
  sfbctl_table_print (table);
}

static int
presence_get (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusPresence) presence = NULL;
  g_autoptr (GVariant) found = NULL;
  g_autoptr (GError) error = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_options (
          ctl, "URI…", "Show the last known presence of people.", NULL, &argc, &argv, &exit_code)
      || !sfbctl_check_arguments (ctl, argc, argv, 1, -1, &exit_code))
    return exit_code;

  presence = sfbctl_get_presence (ctl, &error);
  if (presence == NULL
      || !sfb_dbus_presence_call_get_presence_sync (
          presence, (const char *const *) argv + 1, &found, NULL, &error))
    return sfbctl_print_error (ctl, error);

  if (ctl->json)
    return sfbctl_print_variant_json (found);
  print_presence_table (found, argv + 1);
  return SFBCTL_EXIT_OK;
}

int
sfbctl_cmd_presence (Sfbctl *ctl, int argc, char **argv)
{
  static const SfbctlCommand commands[] = {
    { "show", presence_show, NULL, "Show your published presence" },
    { "set", presence_set, "AVAILABILITY", "Publish an availability" },
    { "note", presence_note, "TEXT", "Publish a personal note" },
    { "get", presence_get, "URI…", "Show other people's presence" },
  };

  return sfbctl_dispatch (ctl, commands, G_N_ELEMENTS (commands), "show", argc, argv);
}
