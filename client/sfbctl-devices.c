/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl devices [list] | select KIND NAME
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"
#include "sfbd/sfb-names.h"

static const char *const device_kinds[] = {
  SFB_DEVICE_KIND_AUDIO_OUTPUT,
  SFB_DEVICE_KIND_AUDIO_INPUT,
  SFB_DEVICE_KIND_VIDEO_INPUT,
  NULL,
};

/* the node name in use for @kind */
static const char *
device_in_use (SfbDBusDevices *devices, const char *kind)
{
  if (g_strcmp0 (kind, SFB_DEVICE_KIND_AUDIO_OUTPUT) == 0)
    return sfb_dbus_devices_get_audio_output (devices);
  if (g_strcmp0 (kind, SFB_DEVICE_KIND_AUDIO_INPUT) == 0)
    return sfb_dbus_devices_get_audio_input (devices);
  if (g_strcmp0 (kind, SFB_DEVICE_KIND_VIDEO_INPUT) == 0)
    return sfb_dbus_devices_get_video_input (devices);
  return NULL;
}

static void
append_word (GString *text, const char *word)
{
  if (text->len > 0)
    g_string_append (text, ", ");
  g_string_append (text, word);
}

/* "80%, in use, default, muted" */
static char *
describe_state (SfbDBusDevices *devices, GVariant *device, const char *kind, const char *name)
{
  GString *text = g_string_new (NULL);
  gboolean is_default = FALSE, muted = FALSE;
  double volume;

  if (g_variant_lookup (device, "Volume", "d", &volume))
    g_string_append_printf (text, "%.0f%%", volume * 100);
  if (g_strcmp0 (device_in_use (devices, kind), name) == 0)
    append_word (text, "in use");
  if (g_variant_lookup (device, "Default", "b", &is_default) && is_default)
    append_word (text, "default");
  if (g_variant_lookup (device, "Muted", "b", &muted) && muted)
    append_word (text, "muted");
  return g_string_free (text, FALSE);
}

static void
print_devices_text (SfbDBusDevices *devices, GVariant *list)
{
  g_autoptr (SfbctlTable) table = sfbctl_table_new ("KIND", "NAME", "DESCRIPTION", "STATE", NULL);

  for (gsize i = 0; i < g_variant_n_children (list); i++)
    {
      g_autoptr (GVariant) device = g_variant_get_child_value (list, i);
      g_autofree char *kind = sfbctl_lookup_string (device, "Kind");
      g_autofree char *name = sfbctl_lookup_string (device, "Name");
      g_autofree char *description = sfbctl_lookup_string (device, "Description");
      g_autofree char *state = describe_state (devices, device, kind, name);

      sfbctl_table_add_row (table, kind, name, description, state);
    }
  sfbctl_table_print (table);
}

/* the three properties, then ListDevices() as "Devices" */
static int
print_devices_json (SfbDBusDevices *devices, GVariant *list)
{
  g_autoptr (JsonNode) node = sfbctl_json_from_properties (devices);

  json_object_set_member (json_node_get_object (node), "Devices", sfbctl_json_from_variant (list));
  sfbctl_print_json (node);
  return SFBCTL_EXIT_OK;
}

static int
devices_list (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusDevices) devices = NULL;
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GError) error = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (ctl,
                                  "List the audio and video devices a call would use.",
                                  NULL,
                                  &argc,
                                  &argv,
                                  &exit_code))
    return exit_code;

  devices = sfbctl_get_devices (ctl, &error);
  if (devices == NULL || !sfb_dbus_devices_call_list_devices_sync (devices, &list, NULL, &error))
    return sfbctl_print_error (ctl, error);

  if (ctl->json)
    return print_devices_json (devices, list);
  if (g_variant_n_children (list) == 0)
    return sfbctl_print_done (ctl, "No audio or video devices found");
  print_devices_text (devices, list);
  return SFBCTL_EXIT_OK;
}

static int
devices_select (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusDevices) devices = NULL;
  g_autoptr (GError) error = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_options (ctl,
                             "KIND NAME",
                             "Prefer a device; KIND is audio-output, audio-input or video-input.",
                             NULL,
                             &argc,
                             &argv,
                             &exit_code)
      || !sfbctl_check_arguments (ctl, argc, argv, 2, 2, &exit_code))
    return exit_code;
  if (!g_strv_contains (device_kinds, argv[1]))
    {
      g_autofree char *quoted = sfbctl_quote (argv[1]);
      return sfbctl_print_usage_error (
          ctl, "unknown device kind “%s”; use audio-output, audio-input or video-input", quoted);
    }

  /* sfbd stores the choice: it may be started for it */
  ctl->auto_start = TRUE;
  devices = sfbctl_get_devices (ctl, &error);
  if (devices == NULL
      || !sfb_dbus_devices_call_select_device_sync (devices, argv[1], argv[2], NULL, &error))
    return sfbctl_print_error (ctl, error);
  return sfbctl_print_done (ctl, "%s set to %s", argv[1], argv[2]);
}

int
sfbctl_cmd_devices (Sfbctl *ctl, int argc, char **argv)
{
  static const SfbctlCommand commands[] = {
    { "list", devices_list, NULL, "List audio and video devices" },
    { "select", devices_select, "KIND NAME", "Prefer a device" },
  };

  return sfbctl_dispatch (ctl, commands, G_N_ELEMENTS (commands), "list", argc, argv);
}
