/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl exchange [show] | refresh: what sfbd reads from the user's
 * Exchange mailbox (dbus/org.sfbd.Sfbd1.Exchange.xml).  Every text here
 * comes from the mail server through sfbd: it is cut and cleaned again
 * before it reaches the terminal.
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"
#include "sfb-presence-view.h"
#include "sfbd/sfb-names.h"

#include <string.h>

static char *
clean (const char *text)
{
  return sfb_presence_view_clean_text (text, SFB_PRESENCE_VIEW_MAX_TEXT);
}

static char *
meeting_or_none (GVariant *meeting)
{
  char *text = sfb_presence_view_meeting_text (meeting, SFB_PRESENCE_VIEW_MAX_SUBJECT);

  return text != NULL ? text : g_strdup ("none");
}

char *
sfbctl_exchange_format_property (const char *name, GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT))
    return meeting_or_none (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return clean (g_variant_get_string (value, NULL));
  return NULL;
}

static SfbctlStyle
state_style (const char *state)
{
  if (g_strcmp0 (state, SFB_EXCHANGE_STATE_CONNECTED) == 0)
    return SFBCTL_STYLE_GOOD;
  if (g_strcmp0 (state, SFB_EXCHANGE_STATE_FAILED) == 0)
    return SFBCTL_STYLE_BAD;
  if (g_strcmp0 (state, SFB_EXCHANGE_STATE_DISCOVERING) == 0)
    return SFBCTL_STYLE_BUSY;
  return SFBCTL_STYLE_DIM;
}

/* what the state means for the user, and what to do about it; signed in,
 * "unavailable" with a last error is a discovery that found no Exchange */
static const char *
state_explanation (Sfbctl *ctl, const char *state, const char *last_error)
{
  if (g_strcmp0 (state, SFB_EXCHANGE_STATE_UNAVAILABLE) == 0 && !sfbctl_is_signed_in (ctl))
    return " (not signed in; sign in with: sfbctl sign-in)";
  if (g_strcmp0 (state, SFB_EXCHANGE_STATE_UNAVAILABLE) == 0)
    return *last_error != '\0' ? " (no Exchange found; to look again: sfbctl exchange refresh)"
                               : " (not started yet)";
  if (g_strcmp0 (state, SFB_EXCHANGE_STATE_DISCOVERING) == 0)
    return " (looking for the Exchange server)";
  if (g_strcmp0 (state, SFB_EXCHANGE_STATE_FAILED) == 0)
    return " (sfbd tries again by itself; to try now: sfbctl exchange refresh)";
  return "";
}

static void
add_text_field (SfbctlFields *fields, const char *key, const char *value)
{
  g_autofree char *text = clean (value);

  sfbctl_fields_add (fields, key, "%s", *text != '\0' ? text : "(none)");
}

static void
add_meeting_field (SfbctlFields *fields, const char *key, GVariant *meeting)
{
  g_autofree char *text = meeting_or_none (meeting);

  sfbctl_fields_add (fields, key, "%s", text);
}

static void
print_exchange_text (Sfbctl *ctl, SfbDBusExchange *exchange)
{
  g_autoptr (SfbctlFields) fields = sfbctl_fields_new ();
  g_autofree char *state = clean (sfb_dbus_exchange_get_state (exchange));
  g_autofree char *last_error = clean (sfb_dbus_exchange_get_last_error (exchange));

  sfbctl_fields_add (fields,
                     "State",
                     "%s%s%s%s",
                     sfbctl_style (state_style (state)),
                     *state != '\0' ? state : "unknown",
                     sfbctl_style_reset (),
                     state_explanation (ctl, state, last_error));
  if (*last_error != '\0')
    sfbctl_fields_add (fields,
                       "Last error",
                       "%s%s%s",
                       sfbctl_style (SFBCTL_STYLE_BAD),
                       last_error,
                       sfbctl_style_reset ());
  add_text_field (fields, "EWS URL", sfb_dbus_exchange_get_ews_url (exchange));
  sfbctl_fields_add (
      fields, "In a meeting", "%s", sfb_dbus_exchange_get_in_meeting (exchange) ? "yes" : "no");
  add_meeting_field (fields, "Current meeting", sfb_dbus_exchange_get_current_meeting (exchange));
  add_meeting_field (fields, "Next meeting", sfb_dbus_exchange_get_next_meeting (exchange));
  sfbctl_fields_add (
      fields, "Out of office", "%s", sfb_dbus_exchange_get_out_of_office (exchange) ? "yes" : "no");
  add_text_field (
      fields, "Out-of-office message", sfb_dbus_exchange_get_out_of_office_message (exchange));
  sfbctl_fields_add (
      fields, "Unread voicemails", "%u", sfb_dbus_exchange_get_unread_voicemails (exchange));
  sfbctl_fields_add (
      fields, "Missed conversations", "%u", sfb_dbus_exchange_get_missed_conversations (exchange));
  add_text_field (fields, "Line URI", sfb_dbus_exchange_get_line_uri (exchange));
  add_text_field (fields, "UM URL", sfb_dbus_exchange_get_um_url (exchange));
  sfbctl_fields_print (fields);
}

static int
exchange_show (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusExchange) exchange = NULL;
  g_autoptr (GError) error = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (ctl,
                                  "Show the meetings, out-of-office, voicemail and missed "
                                  "conversations sfbd reads from Exchange.",
                                  NULL,
                                  &argc,
                                  &argv,
                                  &exit_code))
    return exit_code;

  exchange = sfbctl_get_exchange (ctl, &error);
  if (exchange == NULL)
    return sfbctl_print_error (ctl, error);
  if (ctl->json)
    return sfbctl_print_properties_json (exchange);
  print_exchange_text (ctl, exchange);
  return SFBCTL_EXIT_OK;
}

static int
exchange_refresh (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusExchange) exchange = NULL;
  g_autoptr (GError) error = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (
          ctl, "Read everything from Exchange now.", NULL, &argc, &argv, &exit_code))
    return exit_code;

  exchange = sfbctl_get_exchange (ctl, &error);
  if (exchange == NULL || !sfb_dbus_exchange_call_refresh_sync (exchange, NULL, &error))
    return sfbctl_print_error (ctl, error);
  return sfbctl_print_done (ctl, "Reading Exchange now; see the result with: sfbctl exchange");
}

int
sfbctl_cmd_exchange (Sfbctl *ctl, int argc, char **argv)
{
  static const SfbctlCommand commands[] = {
    { "show", exchange_show, NULL, "Show what sfbd reads from Exchange" },
    { "refresh", exchange_refresh, NULL, "Read everything from Exchange now" },
  };

  return sfbctl_dispatch (ctl, commands, G_N_ELEMENTS (commands), "show", argc, argv);
}
