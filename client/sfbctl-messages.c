/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl message send URI TEXT
 * sfbctl messages [URI]
 */
#include "config.h"

#include "sfb-presence-view.h"
#include "sfbctl.h"
#include "sfbctl-output.h"

#include <stdio.h>
#include <string.h>

/* What a line shows of a message's text, in characters. */
#define TEXT_MAX 2000

static int
message_send (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusConversations) conversations = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_options (ctl,
                             "URI TEXT",
                             "Send an instant message; returns once it was delivered.",
                             NULL,
                             &argc,
                             &argv,
                             &exit_code)
      || !sfbctl_check_arguments (ctl, argc, argv, 2, 2, &exit_code))
    return exit_code;

  conversations = sfbctl_get_conversations (ctl, &error);
  if (conversations == NULL
      || !sfb_dbus_conversations_call_send_message_sync (
          conversations, argv[1], argv[2], &id, NULL, &error))
    return sfbctl_print_error (ctl, error);
  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) node = json_node_alloc ();

      json_object_set_string_member (object, "Id", id);
      sfbctl_print_json (json_node_init_object (node, object));
      return SFBCTL_EXIT_OK;
    }
  return sfbctl_print_done (ctl, "Delivered");
}

int
sfbctl_cmd_message (Sfbctl *ctl, int argc, char **argv)
{
  static const SfbctlCommand commands[] = {
    { "send", message_send, "URI TEXT", "Send an instant message" },
  };

  return sfbctl_dispatch (ctl, commands, G_N_ELEMENTS (commands), NULL, argc, argv);
}

/* The id of the conversation with @uri in @list (aa{sv}), or NULL. */
static char *
find_conversation (GVariant *list, const char *uri)
{
  for (gsize i = 0; i < g_variant_n_children (list); i++)
    {
      g_autoptr (GVariant) entry = g_variant_get_child_value (list, i);
      g_autofree char *entry_uri = sfbctl_lookup_string (entry, "Uri");

      if (g_ascii_strcasecmp (entry_uri, uri) == 0)
        return sfbctl_lookup_string (entry, "Id");
    }
  return NULL;
}

static void
print_conversations_text (GVariant *list)
{
  g_autoptr (SfbctlTable) table = sfbctl_table_new ("URI", "NAME", "UNREAD", "LAST ACTIVITY", NULL);

  for (gsize i = 0; i < g_variant_n_children (list); i++)
    {
      g_autoptr (GVariant) entry = g_variant_get_child_value (list, i);
      g_autofree char *uri = sfbctl_lookup_string (entry, "Uri");
      g_autofree char *name = sfbctl_lookup_string (entry, "DisplayName");
      g_autofree char *clean_uri = sfb_presence_view_clean_text (uri, 80);
      g_autofree char *clean_name = sfb_presence_view_clean_text (name, 60);
      g_autofree char *unread = NULL;
      g_autofree char *when = NULL;
      guint32 n = 0;
      gint64 last = 0;

      g_variant_lookup (entry, "Unread", "u", &n);
      g_variant_lookup (entry, "LastActivity", "x", &last);
      unread = g_strdup_printf ("%u", n);
      when = sfbctl_format_time (last > 0 ? (guint64) last : 0);
      sfbctl_table_add_row (table, clean_uri, clean_name, unread, when);
    }
  sfbctl_table_print (table);
}

static void
print_messages_text (GVariant *messages)
{
  for (gsize i = 0; i < g_variant_n_children (messages); i++)
    {
      g_autoptr (GVariant) entry = g_variant_get_child_value (messages, i);
      g_autofree char *from = sfbctl_lookup_string (entry, "From");
      g_autofree char *text = sfbctl_lookup_string (entry, "Text");
      g_autofree char *clean_from = sfb_presence_view_clean_text (from, 80);
      g_autofree char *when = NULL;
      g_auto (GStrv) lines = g_strsplit (text, "\n", 200);
      gint64 time = 0;

      g_variant_lookup (entry, "Time", "x", &time);
      when = sfbctl_format_time (time > 0 ? (guint64) time : 0);
      /* one line per line of text, each cleaned of what a terminal obeys */
      for (guint k = 0; lines[k] != NULL; k++)
        {
          g_autofree char *line = sfb_presence_view_clean_text (lines[k], TEXT_MAX);

          if (k == 0)
            printf ("%s%s%s  %s: %s\n",
                    sfbctl_style (SFBCTL_STYLE_DIM),
                    when,
                    sfbctl_style_reset (),
                    clean_from,
                    line);
          else
            printf ("    %s\n", line);
        }
    }
  fflush (stdout);
}

int
sfbctl_cmd_messages (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusConversations) conversations = NULL;
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GVariant) messages = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_options (ctl,
                             "[URI]",
                             "List the conversations of this sfbd run, or the messages "
                             "exchanged with URI.",
                             NULL,
                             &argc,
                             &argv,
                             &exit_code)
      || !sfbctl_check_arguments (ctl, argc, argv, 0, 1, &exit_code))
    return exit_code;

  conversations = sfbctl_get_conversations (ctl, &error);
  if (conversations == NULL
      || !sfb_dbus_conversations_call_list_conversations_sync (conversations, &list, NULL, &error))
    return sfbctl_print_error (ctl, error);
  if (argc < 2)
    {
      if (ctl->json)
        return sfbctl_print_variant_json (list);
      if (g_variant_n_children (list) == 0)
        return sfbctl_print_done (ctl, "No conversations");
      print_conversations_text (list);
      return SFBCTL_EXIT_OK;
    }
  id = find_conversation (list, argv[1]);
  if (id == NULL)
    {
      if (ctl->json)
        return sfbctl_print_variant_json (g_variant_new_array (G_VARIANT_TYPE_VARDICT, NULL, 0));
      return sfbctl_print_done (ctl, "No messages");
    }
  if (!sfb_dbus_conversations_call_get_messages_sync (conversations, id, &messages, NULL, &error))
    return sfbctl_print_error (ctl, error);
  if (ctl->json)
    return sfbctl_print_variant_json (messages);
  print_messages_text (messages);
  return SFBCTL_EXIT_OK;
}
