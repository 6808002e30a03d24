/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl monitor: one line per property change or signal of the
 * interfaces (one JSON object per line with --json), and a line when sfbd
 * starts or stops, until Ctrl-C.  Every line is flushed at once: scripts
 * and tests read it through a pipe.
 */
#include "config.h"

#include "sfb-presence-view.h"
#include "sfbctl.h"
#include "sfbctl-output.h"
#include "sfbd/sfb-names.h"

#include <glib-unix.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  Sfbctl *ctl;
  GMainLoop *loop;
} Monitor;

static GDBusInterfaceInfo *
find_interface_info (const char *interface_name)
{
  GDBusInterfaceInfo *infos[] = {
    sfb_dbus_account_interface_info (),  sfb_dbus_presence_interface_info (),
    sfb_dbus_contacts_interface_info (), sfb_dbus_dial_plan_interface_info (),
    sfb_dbus_policies_interface_info (), sfb_dbus_devices_interface_info (),
    sfb_dbus_exchange_interface_info (), sfb_dbus_conversations_interface_info (),
  };

  for (gsize i = 0; i < G_N_ELEMENTS (infos); i++)
    if (g_str_equal (infos[i]->name, interface_name))
      return infos[i];
  return NULL;
}

static char *
now_for_people (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *seconds = g_date_time_format (now, "%H:%M:%S");

  return g_strdup_printf ("%s.%03d", seconds, g_date_time_get_microsecond (now) / 1000);
}

static const char *
short_interface_name (const char *interface_name)
{
  if (g_str_has_prefix (interface_name, SFB_DBUS_INTERFACE_PREFIX))
    return interface_name + strlen (SFB_DBUS_INTERFACE_PREFIX);
  return interface_name;
}

/* {"Time": ..., "Interface": ..., "Signal": ...}; the caller adds the rest */
static JsonObject *
new_event (const char *interface_name, const char *signal_name)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *time = g_date_time_format_iso8601 (now);
  JsonObject *event = json_object_new ();

  json_object_set_string_member (event, "Time", time);
  json_object_set_string_member (event, "Interface", interface_name);
  json_object_set_string_member (event, "Signal", signal_name);
  return event;
}

static void
print_event (JsonObject *event)
{
  g_autoptr (JsonNode) node = json_node_alloc ();

  sfbctl_print_json_line (json_node_init_object (node, event));
}

static void print_line (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
print_line (const char *format, ...)
{
  g_autofree char *time = now_for_people ();
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  printf ("%s%s%s %s\n", sfbctl_style (SFBCTL_STYLE_DIM), time, sfbctl_style_reset (), text);
  fflush (stdout);
}

static char *
format_for_line (GVariant *value)
{
  g_autofree char *text = sfbctl_format_value (value);

  return *text != '\0' ? g_steal_pointer (&text) : g_strdup ("\"\"");
}

/* Exchange's values come from the mail server: cleaned, meetings in words */
static char *
format_property (const char *interface_name, const char *name, GVariant *value)
{
  g_autoptr (GVariant) inner = g_variant_get_variant (value);
  char *text = NULL;

  if (g_str_equal (interface_name, SFB_DBUS_EXCHANGE_INTERFACE))
    text = sfbctl_exchange_format_property (name, inner);
  if (text != NULL && *text == '\0')
    {
      g_free (text);
      return g_strdup ("\"\"");
    }
  return text != NULL ? text : format_for_line (value);
}

static void
print_properties_changed (Monitor *monitor,
                          const char *interface_name,
                          GVariant *changed,
                          const char *const *invalidated)
{
  if (monitor->ctl->json)
    {
      g_autoptr (JsonObject) event = new_event (interface_name, "PropertiesChanged");

      json_object_set_member (event, "Properties", sfbctl_json_from_variant (changed));
      if (invalidated[0] != NULL)
        {
          JsonArray *names = json_array_new ();

          for (guint i = 0; invalidated[i] != NULL; i++)
            json_array_add_string_element (names, invalidated[i]);
          json_object_set_array_member (event, "Invalidated", names);
        }
      print_event (event);
      return;
    }

  for (gsize i = 0; i < g_variant_n_children (changed); i++)
    {
      g_autoptr (GVariant) entry = g_variant_get_child_value (changed, i);
      g_autoptr (GVariant) value = g_variant_get_child_value (entry, 1);
      g_autofree char *name = NULL;
      g_autofree char *text = NULL;

      g_variant_get_child (entry, 0, "s", &name);
      text = format_property (interface_name, name, value);
      print_line ("%s.%s: %s", short_interface_name (interface_name), name, text);
    }
  for (guint i = 0; invalidated[i] != NULL; i++)
    print_line ("%s.%s: (changed)", short_interface_name (interface_name), invalidated[i]);
}

static char *
argument_name (const char *interface_name, const char *signal_name, gsize index)
{
  static const char *const name_owner_changed_args[] = { "Name", "OldOwner", "NewOwner" };
  GDBusInterfaceInfo *info = find_interface_info (interface_name);
  GDBusSignalInfo *signal
      = info != NULL ? g_dbus_interface_info_lookup_signal (info, signal_name) : NULL;

  if (g_str_equal (signal_name, "NameOwnerChanged") && index < 3)
    return g_strdup (name_owner_changed_args[index]);

  for (gsize i = 0; signal != NULL && signal->args[i] != NULL; i++)
    if (i == index)
      return sfbctl_camel_case (signal->args[i]->name);
  return g_strdup_printf ("Arg%" G_GSIZE_FORMAT, index);
}

/* A batch of contacts' presence changes: one line per contact, as a
 * signal per contact would print. */
static gboolean
print_presences_per_contact (const char *interface_name, const char *signal_name, GVariant *args)
{
  g_autoptr (GVariant) presences = NULL;
  GVariantIter iter;
  const char *uri;
  GVariant *presence;

  if (g_strcmp0 (interface_name, SFB_DBUS_INTERFACE_PREFIX "Presence") != 0
      || g_strcmp0 (signal_name, "PresencesChanged") != 0
      || !g_variant_is_of_type (args, G_VARIANT_TYPE ("(a{sa{sv}})")))
    return FALSE;
  presences = g_variant_get_child_value (args, 0);
  g_variant_iter_init (&iter, presences);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &uri, &presence))
    {
      g_autofree char *text = format_for_line (presence);

      print_line ("Presence.%s: Uri=%s Presence=%s", signal_name, uri, text);
      g_variant_unref (presence);
    }
  return TRUE;
}

static void
print_signal (Monitor *monitor, const char *interface_name, const char *signal_name, GVariant *args)
{
  g_autoptr (JsonObject) arguments = json_object_new ();
  g_autoptr (GString) line = g_string_new (NULL);

  /* the first API's PresenceChanged repeats a batch of one: shown once, from PresencesChanged */
  if (g_strcmp0 (interface_name, SFB_DBUS_INTERFACE_PREFIX "Presence") == 0
      && g_strcmp0 (signal_name, "PresenceChanged") == 0)
    return;
  g_string_append_printf (line, "%s.%s", short_interface_name (interface_name), signal_name);
  for (gsize i = 0; i < g_variant_n_children (args); i++)
    {
      g_autoptr (GVariant) value = g_variant_get_child_value (args, i);
      g_autofree char *name = argument_name (interface_name, signal_name, i);
      /* a message's text is anyone's: one cleaned line */
      g_autofree char *text
          = g_str_equal (interface_name, SFB_DBUS_CONVERSATIONS_INTERFACE)
                    && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
                ? sfb_presence_view_clean_text (g_variant_get_string (value, NULL), 500)
                : format_for_line (value);

      json_object_set_member (arguments, name, sfbctl_json_from_variant (value));
      g_string_append_printf (line, "%s %s=%s", i == 0 ? ":" : "", name, text);
    }

  if (monitor->ctl->json)
    {
      g_autoptr (JsonObject) event = new_event (interface_name, signal_name);

      json_object_set_object_member (event, "Args", g_steal_pointer (&arguments));
      print_event (event);
    }
  else if (!print_presences_per_contact (interface_name, signal_name, args))
    print_line ("%s", line->str);
}

static void
on_sfbd_signal (GDBusConnection *bus,
                const char *sender,
                const char *path,
                const char *interface_name,
                const char *signal_name,
                GVariant *parameters,
                gpointer user_data)
{
  Monitor *monitor = user_data;

  if (g_str_equal (interface_name, "org.freedesktop.DBus.Properties")
      && g_str_equal (signal_name, "PropertiesChanged")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    {
      const char *changed_interface;
      g_autoptr (GVariant) changed = NULL;
      g_autofree const char **invalidated = NULL;

      g_variant_get (parameters, "(&s@a{sv}^a&s)", &changed_interface, &changed, &invalidated);
      if (g_str_has_prefix (changed_interface, SFB_DBUS_INTERFACE_PREFIX))
        print_properties_changed (monitor, changed_interface, changed, invalidated);
    }
  else if (g_str_has_prefix (interface_name, SFB_DBUS_INTERFACE_PREFIX))
    print_signal (monitor, interface_name, signal_name, parameters);
}

static void
on_name_owner_changed (GDBusConnection *bus,
                       const char *sender,
                       const char *path,
                       const char *interface_name,
                       const char *signal_name,
                       GVariant *parameters,
                       gpointer user_data)
{
  Monitor *monitor = user_data;
  const char *new_owner;

  if (monitor->ctl->json)
    {
      print_signal (monitor, interface_name, signal_name, parameters);
      return;
    }
  g_variant_get (parameters, "(&s&s&s)", NULL, NULL, &new_owner);
  if (*new_owner == '\0')
    print_line ("sfbd stopped");
  else
    print_line ("sfbd started (%s)", new_owner);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  Monitor *monitor = user_data;

  g_main_loop_quit (monitor->loop);
  return G_SOURCE_CONTINUE;
}

/* sfbd's unique name; a round trip after the subscriptions, so they are in effect */
static char *
get_sfbd_owner (Sfbctl *ctl, GDBusConnection *bus, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  char *owner = NULL;

  reply = g_dbus_connection_call_sync (bus,
                                       "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus",
                                       "GetNameOwner",
                                       g_variant_new ("(s)", SFB_DBUS_NAME),
                                       G_VARIANT_TYPE ("(s)"),
                                       G_DBUS_CALL_FLAGS_NONE,
                                       sfbctl_timeout_msec (ctl),
                                       NULL,
                                       error);
  if (reply != NULL)
    g_variant_get (reply, "(s)", &owner);
  return owner;
}

static int
follow (Sfbctl *ctl, GDBusConnection *bus)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  g_autofree char *owner = NULL;
  Monitor monitor = { .ctl = ctl, .loop = loop };
  guint sfbd_id, owner_id, sigint_id, sigterm_id;

  sfbd_id = g_dbus_connection_signal_subscribe (bus,
                                                SFB_DBUS_NAME,
                                                NULL,
                                                NULL,
                                                SFB_DBUS_PATH,
                                                NULL,
                                                G_DBUS_SIGNAL_FLAGS_NONE,
                                                on_sfbd_signal,
                                                &monitor,
                                                NULL);
  owner_id = g_dbus_connection_signal_subscribe (bus,
                                                 "org.freedesktop.DBus",
                                                 "org.freedesktop.DBus",
                                                 "NameOwnerChanged",
                                                 "/org/freedesktop/DBus",
                                                 SFB_DBUS_NAME,
                                                 G_DBUS_SIGNAL_FLAGS_NONE,
                                                 on_name_owner_changed,
                                                 &monitor,
                                                 NULL);

  owner = get_sfbd_owner (ctl, bus, &error);
  if (owner == NULL)
    {
      g_dbus_connection_signal_unsubscribe (bus, sfbd_id);
      g_dbus_connection_signal_unsubscribe (bus, owner_id);
      return sfbctl_print_error (ctl, error);
    }

  fprintf (stderr, "Monitoring sfbd (%s); press Ctrl-C to stop\n", owner);
  sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, &monitor);
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, &monitor);
  g_main_loop_run (loop);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_dbus_connection_signal_unsubscribe (bus, sfbd_id);
  g_dbus_connection_signal_unsubscribe (bus, owner_id);
  return SFBCTL_EXIT_OK;
}

int
sfbctl_cmd_monitor (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (ctl,
                                  "Follow every property change and signal of sfbd until Ctrl-C.",
                                  NULL,
                                  &argc,
                                  &argv,
                                  &exit_code))
    return exit_code;

  /* watching never starts sfbd (auto_start) */
  bus = sfbctl_get_bus (ctl, &error);
  if (bus == NULL)
    return sfbctl_print_error (ctl, error);
  return follow (ctl, bus);
}
