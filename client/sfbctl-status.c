/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl status: one look at everything, from the properties of all the
 * interfaces.
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"
#include "sfb-error-view.h"
#include "sfb-presence-view.h"
#include "sfbd/sfb-names.h"

#include <string.h>

typedef struct
{
  SfbDBusAccount *account;
  SfbDBusPresence *presence;
  SfbDBusContacts *contacts;
  SfbDBusDialPlan *dial_plan;
  SfbDBusPolicies *policies;
  SfbDBusDevices *devices;
  SfbDBusExchange *exchange; /* NULL from an sfbd without the interface */
} Status;

static void
status_clear (Status *status)
{
  g_clear_object (&status->account);
  g_clear_object (&status->presence);
  g_clear_object (&status->contacts);
  g_clear_object (&status->dial_plan);
  g_clear_object (&status->policies);
  g_clear_object (&status->devices);
  g_clear_object (&status->exchange);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Status, status_clear)

/* Exchange is optional: an sfbd from before it has no such interface
 * (GDBus answers GetAll() for it with InvalidArgs) */
static gboolean
load_exchange (Sfbctl *ctl, Status *status, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  status->exchange = sfbctl_get_exchange (ctl, &local_error);
  if (status->exchange != NULL
      || g_error_matches (local_error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS)
      || g_error_matches (local_error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static gboolean
status_load (Sfbctl *ctl, Status *status, GError **error)
{
  return (status->account = sfbctl_get_account (ctl, error)) != NULL
         && (status->presence = sfbctl_get_presence (ctl, error)) != NULL
         && (status->contacts = sfbctl_get_contacts (ctl, error)) != NULL
         && (status->dial_plan = sfbctl_get_dial_plan (ctl, error)) != NULL
         && (status->policies = sfbctl_get_policies (ctl, error)) != NULL
         && (status->devices = sfbctl_get_devices (ctl, error)) != NULL
         && load_exchange (ctl, status, error);
}

/* ---- JSON: Account's properties, then one object per other interface ---- */

static void
add_interface_member (JsonObject *object, gpointer proxy)
{
  const char *interface_name = g_dbus_proxy_get_interface_name (G_DBUS_PROXY (proxy));
  const char *short_name = interface_name + strlen (SFB_DBUS_INTERFACE_PREFIX);

  json_object_set_member (object, short_name, sfbctl_json_from_properties (proxy));
}

static void
print_status_json (Status *status)
{
  g_autoptr (JsonNode) node = sfbctl_json_from_properties (status->account);
  JsonObject *object = json_node_get_object (node);

  add_interface_member (object, status->presence);
  add_interface_member (object, status->contacts);
  add_interface_member (object, status->dial_plan);
  add_interface_member (object, status->policies);
  add_interface_member (object, status->devices);
  if (status->exchange != NULL)
    add_interface_member (object, status->exchange);
  sfbctl_print_json (node);
}

/* ---- text ---- */

static SfbctlStyle
state_style (const char *state)
{
  if (g_strcmp0 (state, SFB_STATE_SIGNED_IN) == 0)
    return SFBCTL_STYLE_GOOD;
  if (g_strcmp0 (state, SFB_STATE_FAILED) == 0)
    return SFBCTL_STYLE_BAD;
  if (g_strcmp0 (state, SFB_STATE_SIGNED_OUT) == 0)
    return SFBCTL_STYLE_DIM;
  return SFBCTL_STYLE_BUSY;
}

static const char *
or_none (const char *value, const char *none)
{
  return value != NULL && *value != '\0' ? value : none;
}

/* reconnecting: when sfbd tries by itself next (Account.NextRetry) */
static void
add_next_retry_field (SfbctlFields *fields, SfbDBusAccount *account)
{
  g_autofree char *next = sfbctl_format_next_retry (sfb_dbus_account_get_next_retry (account));
  const char *state = sfb_dbus_account_get_state (account);

  if (next != NULL)
    sfbctl_fields_add (fields, "Next attempt", "%s", next);
  else if (g_strcmp0 (state, SFB_STATE_RECONNECTING) == 0)
    sfbctl_fields_add (fields, "Next attempt", "when the network changes");
}

static void
add_account_fields (SfbctlFields *fields, SfbDBusAccount *account)
{
  const char *state = or_none (sfb_dbus_account_get_state (account), "unknown");
  const char *uri = sfb_dbus_account_get_uri (account);
  const char *server = sfb_dbus_account_get_server (account);
  guint64 signed_in_since = sfb_dbus_account_get_signed_in_since (account);

  sfbctl_fields_add (
      fields, "State", "%s%s%s", sfbctl_style (state_style (state)), state, sfbctl_style_reset ());
  if (uri == NULL || *uri == '\0')
    sfbctl_fields_add (fields, "Account", "(not configured)");
  else
    sfbctl_fields_add (fields,
                       "Account",
                       "%s (login %s)",
                       uri,
                       or_none (sfb_dbus_account_get_login (account), "?"));

  if (server == NULL || *server == '\0')
    sfbctl_fields_add (fields, "Server", "(not connected)");
  else
    sfbctl_fields_add (fields,
                       "Server",
                       "%s (%s, %s)",
                       server,
                       or_none (sfb_dbus_account_get_access_location (account), "location unknown"),
                       or_none (sfb_dbus_account_get_server_version (account), "version unknown"));
  sfbctl_fields_add (
      fields, "Auth", "%s", or_none (sfb_dbus_account_get_auth_method (account), "(none)"));

  if (signed_in_since != 0)
    {
      g_autofree char *since = sfbctl_format_time (signed_in_since);
      sfbctl_fields_add (fields, "Signed in since", "%s", since);
    }
  if (sfb_dbus_account_get_reconnect_attempts (account) > 0)
    sfbctl_fields_add (
        fields, "Reconnect attempts", "%u", sfb_dbus_account_get_reconnect_attempts (account));
  /* a password in a plain file says so, and why */
  if (sfb_dbus_account_get_credential_store_message (account) != NULL
      && *sfb_dbus_account_get_credential_store_message (account) != '\0')
    sfbctl_fields_add (
        fields, "Password", "%s", sfb_dbus_account_get_credential_store_message (account));
  add_next_retry_field (fields, account);
}

static void
add_last_error_field (SfbctlFields *fields, SfbDBusAccount *account)
{
  const char *name = sfb_dbus_account_get_last_error (account);
  const char *message = sfb_dbus_account_get_last_error_message (account);

  if (name == NULL || *name == '\0')
    return;
  sfbctl_fields_add (fields,
                     "Last error",
                     "%s%s%s (%s)",
                     sfbctl_style (SFBCTL_STYLE_BAD),
                     or_none (message, "no details"),
                     sfbctl_style_reset (),
                     sfb_error_view_short_name (name));
}

static void
exchange_input (SfbPresenceInput *input, SfbDBusExchange *exchange)
{
  if (exchange == NULL)
    return;
  input->exchange_state = sfb_dbus_exchange_get_state (exchange);
  input->current_meeting = sfb_dbus_exchange_get_current_meeting (exchange);
  input->next_meeting = sfb_dbus_exchange_get_next_meeting (exchange);
  input->unread_voicemails = sfb_dbus_exchange_get_unread_voicemails (exchange);
  input->missed_conversations = sfb_dbus_exchange_get_missed_conversations (exchange);
}

/* one line while Exchange is connected, or failed while signed in (sfbctl
 * exchange says the rest: the reason is too long for a status line) */
static void
add_exchange_field (SfbctlFields *fields, Status *status)
{
  SfbPresenceInput input = { .running = TRUE };
  g_autofree char *meeting = NULL;
  g_autofree char *counts = NULL;

  input.state = sfb_dbus_account_get_state (status->account);
  exchange_input (&input, status->exchange);
  if (g_strcmp0 (input.state, SFB_STATE_SIGNED_IN) == 0
      && g_strcmp0 (input.exchange_state, SFB_EXCHANGE_STATE_FAILED) == 0)
    {
      sfbctl_fields_add (fields,
                         "Exchange",
                         "%sfailed%s — see sfbctl exchange",
                         sfbctl_style (SFBCTL_STYLE_BAD),
                         sfbctl_style_reset ());
      return;
    }
  if (!sfb_presence_view_shows_exchange (&input))
    return;
  meeting = sfb_presence_view_meeting_line (&input);
  counts = sfb_presence_view_exchange_counts (&input);
  sfbctl_fields_add (fields,
                     "Exchange",
                     "%s%s%s",
                     meeting != NULL ? meeting : "",
                     meeting != NULL ? "; " : "",
                     counts);
}

static void
print_status_text (Status *status)
{
  g_autoptr (SfbctlFields) fields = sfbctl_fields_new ();
  const char *const *groups = sfb_dbus_policies_get_groups (status->policies);

  add_account_fields (fields, status->account);
  sfbctl_fields_add (fields,
                     "Availability",
                     "%s",
                     or_none (sfb_dbus_presence_get_availability (status->presence), "unknown"));
  sfbctl_fields_add (
      fields, "Note", "%s", or_none (sfb_dbus_presence_get_note (status->presence), "(none)"));
  sfbctl_fields_add (fields,
                     "Contacts",
                     "%u%s",
                     sfb_dbus_contacts_get_count (status->contacts),
                     sfb_dbus_contacts_get_cached (status->contacts) ? " (cached)" : "");
  if (sfb_dbus_contacts_get_ucs_mode (status->contacts) != NULL
      && *sfb_dbus_contacts_get_ucs_mode (status->contacts) != '\0')
    sfbctl_fields_add (fields,
                       "Contact list",
                       "in Exchange (ucsmode %s), not read by sfbd",
                       sfb_dbus_contacts_get_ucs_mode (status->contacts));
  sfbctl_fields_add (fields,
                     "Dial plan",
                     "%s%s",
                     or_none (sfb_dbus_dial_plan_get_name (status->dial_plan), "(none)"),
                     sfb_dbus_dial_plan_get_cached (status->dial_plan) ? " (cached)" : "");
  if (groups != NULL && groups[0] != NULL)
    {
      g_autofree char *names = g_strjoinv (", ", (char **) groups);

      sfbctl_fields_add (fields,
                         "Policy groups",
                         "%u: %s%s",
                         g_strv_length ((char **) groups),
                         names,
                         sfb_dbus_policies_get_cached (status->policies) ? " (cached)" : "");
    }
  else
    sfbctl_fields_add (fields, "Policy groups", "0");
  add_exchange_field (fields, status);
  add_last_error_field (fields, status->account);
  sfbctl_fields_print (fields);
}

/* ---- waybar: one JSON line for a custom module (client/README.md) ---- */

static void
add_markup_member (JsonBuilder *builder, const char *name, const char *text)
{
  g_autofree char *markup = g_markup_escape_text (text, -1);

  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, markup);
}

static int
print_status_waybar (Sfbctl *ctl)
{
  g_autoptr (SfbDBusAccount) account = NULL;
  g_autoptr (SfbDBusPresence) presence = NULL;
  g_autoptr (SfbDBusExchange) exchange = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbPresenceView) view = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *tooltip = NULL;
  SfbPresenceInput input = { 0 };

  if ((account = sfbctl_get_account (ctl, &error)) == NULL
      || (presence = sfbctl_get_presence (ctl, &error)) == NULL)
    {
      /* the bar shows "not running" or "not answering" rather than an error */
      SfbCallFailure failure = sfb_error_view_call_failure (error);

      if (failure == SFB_CALL_FAILED)
        return sfbctl_print_error (ctl, error);
      input.running = failure == SFB_CALL_NOT_ANSWERING;
      input.not_answering = input.running;
    }
  else
    {
      input.running = TRUE;
      input.state = sfb_dbus_account_get_state (account);
      input.uri = sfb_dbus_account_get_uri (account);
      input.server = sfb_dbus_account_get_server (account);
      input.last_error = sfb_dbus_account_get_last_error (account);
      input.last_error_message = sfb_dbus_account_get_last_error_message (account);
      input.reconnect_attempts = sfb_dbus_account_get_reconnect_attempts (account);
      input.next_retry = sfb_dbus_account_get_next_retry (account);
      input.availability = sfb_dbus_presence_get_availability (presence);
      input.note = sfb_dbus_presence_get_note (presence);
      /* optional, as in the text */
      exchange = sfbctl_get_exchange (ctl, NULL);
      exchange_input (&input, exchange);
    }
  view = sfb_presence_view_new (&input);
  tooltip = g_strdup_printf ("%s\n%s", view->title, view->details);

  json_builder_begin_object (builder);
  add_markup_member (builder, "text", view->summary);
  add_markup_member (builder, "tooltip", tooltip);
  json_builder_set_member_name (builder, "alt");
  json_builder_add_string_value (
      builder, *view->availability != '\0' ? view->availability : view->css_class);
  json_builder_set_member_name (builder, "class");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, view->css_class);
  if (*view->availability != '\0')
    json_builder_add_string_value (builder, view->availability);
  if (g_str_equal (view->status, "NeedsAttention"))
    json_builder_add_string_value (builder, "attention");
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  sfbctl_print_json_line (node);
  return SFBCTL_EXIT_OK;
}

int
sfbctl_cmd_status (Sfbctl *ctl, int argc, char **argv)
{
  g_auto (Status) status = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *format = NULL;
  int exit_code = SFBCTL_EXIT_OK;
  const GOptionEntry entries[] = {
    { "format",
      0,
      0,
      G_OPTION_ARG_STRING,
      &format,
      "text (the default), json (as --json) or waybar (one line for a waybar custom module)",
      "FORMAT" },
    { NULL },
  };

  if (!sfbctl_parse_no_arguments (
          ctl, "Show the state of the account.", entries, &argc, &argv, &exit_code))
    return exit_code;

  /* status answers "is it running?": it never starts sfbd (auto_start) */
  if (format != NULL && g_str_equal (format, "waybar"))
    return print_status_waybar (ctl);
  if (format != NULL && g_str_equal (format, "json"))
    ctl->json = TRUE;
  else if (format != NULL && !g_str_equal (format, "text"))
    {
      g_autofree char *quoted = sfbctl_quote (format);
      return sfbctl_print_usage_error (
          ctl, "unknown format “%s”: use text, json or waybar", quoted);
    }
  if (!status_load (ctl, &status, &error))
    return sfbctl_print_error (ctl, error);

  if (ctl->json)
    print_status_json (&status);
  else
    print_status_text (&status);
  return SFBCTL_EXIT_OK;
}
