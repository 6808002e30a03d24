/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The applet's presence view (words, icons, status) and its dbusmenu
 * model, without a bus. */
#include "config.h"

#include "sfb-dbus-menu.h"
#include "sfb-presence-view.h"

#include <sfbd/sfb-names.h>
#include <string.h>

static void
test_not_running (void)
{
  SfbPresenceInput input = { 0 };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);

  g_assert_cmpstr (view->icon_name, ==, "sfbd-not-running");
  g_assert_cmpstr (view->summary, ==, "sfbd not running");
  g_assert_cmpstr (view->css_class, ==, "not-running");
  g_assert_nonnull (strstr (view->title, "sfbd not running"));
  g_assert_nonnull (strstr (view->details, "systemctl --user start sfbd"));
}

static void
test_signed_out (void)
{
  SfbPresenceInput input = {
    .running = TRUE,
    .state = SFB_STATE_SIGNED_OUT,
    .availability = SFB_AVAILABILITY_OFFLINE,
    .uri = "sip:alice@contoso.test",
  };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);

  g_assert_cmpstr (view->icon_name, ==, "sfbd-signed-out");
  g_assert_cmpstr (view->status, ==, "Active");
  g_assert_cmpstr (view->overlay_icon_name, ==, "");
  g_assert_cmpstr (view->summary, ==, "Signed out");
  g_assert_cmpstr (view->css_class, ==, "signed-out");
  g_assert_cmpstr (view->availability, ==, "");
  g_assert_cmpstr (view->details, ==, "State: Signed out\nAccount: sip:alice@contoso.test");
}

static void
test_signed_in (void)
{
  static const char *const cases[][3] = {
    { SFB_AVAILABILITY_ONLINE, "sfbd-available", "Available" },
    { SFB_AVAILABILITY_BUSY, "sfbd-busy", "Busy" },
    { SFB_AVAILABILITY_DO_NOT_DISTURB, "sfbd-dnd", "Do not disturb" },
    { SFB_AVAILABILITY_BE_RIGHT_BACK, "sfbd-be-right-back", "Be right back" },
    { SFB_AVAILABILITY_AWAY, "sfbd-away", "Away" },
    { SFB_AVAILABILITY_OFF_WORK, "sfbd-off-work", "Off work" },
    { SFB_AVAILABILITY_APPEAR_OFFLINE, "sfbd-appear-offline", "Appear offline" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      SfbPresenceInput input = {
        .running = TRUE,
        .state = SFB_STATE_SIGNED_IN,
        .availability = cases[i][0],
        .note = "In Oslo",
        .server = "pool01.contoso.test:5061",
      };
      g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);
      g_autofree char *title = g_strdup_printf ("Skype for Business: %s", cases[i][2]);

      g_assert_cmpstr (view->icon_name, ==, cases[i][1]);
      g_assert_cmpstr (view->summary, ==, cases[i][2]);
      g_assert_cmpstr (view->title, ==, title);
      g_assert_cmpstr (view->status, ==, "Active");
      g_assert_cmpstr (view->availability, ==, cases[i][0]);
      g_assert_nonnull (strstr (view->details, "Note: In Oslo"));
      g_assert_nonnull (strstr (view->details, "Server: pool01.contoso.test:5061"));
    }
}

static void
test_failed (void)
{
  SfbPresenceInput input = {
    .running = TRUE,
    .state = SFB_STATE_FAILED,
    .availability = SFB_AVAILABILITY_OFFLINE,
    .last_error = SFB_DBUS_ERROR_AUTH_FAILED,
    .last_error_message
    = "The server rejected the password. Set it again with: sfbctl set-password",
  };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);

  g_assert_cmpstr (view->status, ==, "NeedsAttention");
  g_assert_cmpstr (view->icon_name, ==, "sfbd-failed");
  g_assert_cmpstr (view->overlay_icon_name, ==, "dialog-error");
  g_assert_cmpstr (view->attention_icon_name, ==, "sfbd-failed");
  g_assert_cmpstr (view->summary, ==, "Sign-in failed");
  g_assert_nonnull (strstr (view->details,
                            "Last error: The server rejected the password. Set it again with: "
                            "sfbctl set-password (AuthFailed)"));
}

static void
test_reconnecting (void)
{
  SfbPresenceInput input = {
    .running = TRUE,
    .state = SFB_STATE_RECONNECTING,
    .availability = SFB_AVAILABILITY_BUSY,
    .reconnect_attempts = 3,
  };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);

  g_assert_cmpstr (view->status, ==, "NeedsAttention");
  g_assert_cmpstr (view->icon_name, ==, "sfbd-reconnecting");
  g_assert_cmpstr (view->attention_icon_name, ==, "sfbd-reconnecting");
  g_assert_cmpstr (view->overlay_icon_name, ==, "emblem-synchronizing");
  g_assert_cmpstr (view->summary, ==, "Reconnecting");
  g_assert_nonnull (strstr (view->details, "Reconnect attempts: 3"));
  /* no retry scheduled: it waits for the network */
  g_assert_nonnull (strstr (view->details, "Next attempt: when the network changes"));
}

/* Account.NextRetry in the tooltip, as a local clock time */
static void
test_reconnecting_next_retry (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GDateTime) later = g_date_time_add_seconds (now, 90);
  g_autofree char *expected = g_date_time_format (later, "Next attempt: %H:%M:%S");
  SfbPresenceInput input = {
    .running = TRUE,
    .state = SFB_STATE_RECONNECTING,
    .next_retry = (guint64) g_date_time_to_unix (later) * G_USEC_PER_SEC,
  };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);
  SfbPresenceInput signed_in = { .running = TRUE, .state = SFB_STATE_SIGNED_IN, .next_retry = 1 };
  g_autoptr (SfbPresenceView) quiet = sfb_presence_view_new (&signed_in);

  g_assert_nonnull (strstr (view->details, expected));
  g_assert_null (strstr (quiet->details, "Next attempt"));
}

static void
test_action_error_and_copy (void)
{
  SfbPresenceInput input = { .action_error = "Could not sign in: sfbd is not running" };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);
  g_autoptr (SfbPresenceView) copy = sfb_presence_view_copy (view);

  g_assert_nonnull (strstr (view->details, "Last action: Could not sign in"));
  g_assert_cmpstr (copy->details, ==, view->details);
  g_assert_cmpstr (copy->icon_name, ==, view->icon_name);
  g_assert_true (copy->details != view->details);
}

static void
test_clean_text (void)
{
  g_autofree char *cut = sfb_presence_view_clean_text ("äbcdef", 3);
  g_autofree char *control = sfb_presence_view_clean_text ("a\nb\tc", 10);
  g_autofree char *invalid = sfb_presence_view_clean_text ("a\xff"
                                                           "b",
                                                           10);
  g_autofree char *long_note = g_strnfill (1000, 'x');
  SfbPresenceInput input = {
    .running = TRUE,
    .state = SFB_STATE_SIGNED_IN,
    .availability = SFB_AVAILABILITY_ONLINE,
    .note = long_note,
  };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);

  g_assert_cmpstr (cut, ==, "äbc…");
  g_assert_cmpstr (control, ==, "a b c");
  g_assert_true (g_utf8_validate (invalid, -1, NULL));
  g_assert_cmpuint (strlen (view->details), <, 400);
}

static void
test_unknown_values (void)
{
  SfbPresenceInput input = {
    .running = TRUE,
    .state = "some-new-state",
    .availability = "some-new-availability",
  };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);

  g_assert_cmpstr (view->summary, ==, "some-new-state");
  g_assert_cmpstr (view->css_class, ==, "unknown");
  g_assert_null (sfb_presence_view_availability_words ("some-new-availability"));
}

static void
test_not_answering (void)
{
  SfbPresenceInput input = { .running = TRUE, .not_answering = TRUE, .state = "signed-in" };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);

  g_assert_cmpstr (view->icon_name, ==, "sfbd-not-answering");
  g_assert_cmpstr (view->summary, ==, "sfbd not answering");
  g_assert_cmpstr (view->css_class, ==, "not-answering");
  g_assert_cmpstr (view->status, ==, "NeedsAttention");
  g_assert_nonnull (strstr (view->details, "systemctl --user restart sfbd"));
}

/* ---- icons ---- */

/* the icon a person sees for each look of the applet */
static char *
icon_of (const char *name, SfbPresenceInput input)
{
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);

  g_test_message ("%s: %s", name, view->icon_name);
  return g_strdup (view->icon_name);
}

#define SIGNED_IN(value)                                                                           \
  ((SfbPresenceInput){ .running = TRUE, .state = SFB_STATE_SIGNED_IN, .availability = value })
#define IN_STATE(state_value) ((SfbPresenceInput){ .running = TRUE, .state = state_value })

static GPtrArray *
distinct_looks (void)
{
  GPtrArray *icons = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (icons, icon_of ("available", SIGNED_IN (SFB_AVAILABILITY_ONLINE)));
  g_ptr_array_add (icons, icon_of ("busy", SIGNED_IN (SFB_AVAILABILITY_BUSY)));
  g_ptr_array_add (icons, icon_of ("do-not-disturb", SIGNED_IN (SFB_AVAILABILITY_DO_NOT_DISTURB)));
  g_ptr_array_add (icons, icon_of ("be-right-back", SIGNED_IN (SFB_AVAILABILITY_BE_RIGHT_BACK)));
  g_ptr_array_add (icons, icon_of ("away", SIGNED_IN (SFB_AVAILABILITY_AWAY)));
  g_ptr_array_add (icons, icon_of ("off-work", SIGNED_IN (SFB_AVAILABILITY_OFF_WORK)));
  g_ptr_array_add (icons, icon_of ("appear-offline", SIGNED_IN (SFB_AVAILABILITY_APPEAR_OFFLINE)));
  g_ptr_array_add (icons, icon_of ("signed-out", IN_STATE (SFB_STATE_SIGNED_OUT)));
  g_ptr_array_add (icons, icon_of ("connecting", IN_STATE (SFB_STATE_CONNECTING)));
  g_ptr_array_add (icons, icon_of ("reconnecting", IN_STATE (SFB_STATE_RECONNECTING)));
  g_ptr_array_add (icons, icon_of ("failed", IN_STATE (SFB_STATE_FAILED)));
  g_ptr_array_add (icons, icon_of ("not-running", (SfbPresenceInput){ 0 }));
  g_ptr_array_add (
      icons,
      icon_of ("not-answering", (SfbPresenceInput){ .running = TRUE, .not_answering = TRUE }));
  return icons;
}

/* each look has its own icon, and every icon is a shipped, well-formed SVG */
static void
test_each_state_has_its_own_icon (void)
{
  g_autoptr (GPtrArray) icons = distinct_looks ();
  const char *theme_path = g_getenv ("SFBD_APPLET_ICON_THEME_PATH");
  g_autoptr (GHashTable) contents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_nonnull (theme_path);
  for (guint i = 0; i < icons->len; i++)
    {
      const char *name = icons->pdata[i];
      g_autofree char *file = g_strconcat (name, ".svg", NULL);
      g_autofree char *path
          = g_build_filename (theme_path, "hicolor", "scalable", "status", file, NULL);
      g_autofree char *text = NULL;
      g_autoptr (GMarkupParseContext) parser = NULL;
      g_autoptr (GError) error = NULL;
      static const GMarkupParser no_callbacks = { 0 };

      g_assert_true (g_str_has_prefix (name, "sfbd-"));
      for (guint j = 0; j < i; j++)
        g_assert_cmpstr (icons->pdata[j], !=, name);

      g_assert_true (g_file_get_contents (path, &text, NULL, &error));
      g_assert_no_error (error);
      parser = g_markup_parse_context_new (&no_callbacks, 0, NULL, NULL);
      g_assert_true (g_markup_parse_context_parse (parser, text, -1, &error)
                     && g_markup_parse_context_end_parse (parser, &error));
      g_assert_no_error (error);
      g_assert_nonnull (strstr (text, "<svg "));
      /* drawn differently, not one file under two names */
      g_assert_false (g_hash_table_contains (contents, text));
      g_hash_table_add (contents, g_steal_pointer (&text));
    }
}

/* ---- dbusmenu model ---- */

static void
test_menu_revision (void)
{
  g_autoptr (SfbDbusMenu) menu = sfb_dbus_menu_new ();
  guint first;

  sfb_dbus_menu_begin (menu);
  sfb_dbus_menu_add_item (menu, 1, 0, sfb_dbus_menu_item_standard ("Sign in", TRUE));
  sfb_dbus_menu_commit (menu);
  first = sfb_dbus_menu_get_revision (menu);

  /* the same menu again is no new revision */
  sfb_dbus_menu_begin (menu);
  sfb_dbus_menu_add_item (menu, 1, 0, sfb_dbus_menu_item_standard ("Sign in", TRUE));
  sfb_dbus_menu_commit (menu);
  g_assert_cmpuint (sfb_dbus_menu_get_revision (menu), ==, first);

  /* a disabled item is */
  sfb_dbus_menu_begin (menu);
  sfb_dbus_menu_add_item (menu, 1, 0, sfb_dbus_menu_item_standard ("Sign in", FALSE));
  sfb_dbus_menu_commit (menu);
  g_assert_cmpuint (sfb_dbus_menu_get_revision (menu), ==, first + 1);
}

static void
test_menu_escape (void)
{
  g_autofree char *label = sfb_dbus_menu_escape_label ("sip:first_last@contoso.test");

  g_assert_cmpstr (label, ==, "sip:first__last@contoso.test");
}

/* 2023-11-14 22:13:20 UTC */
#define MEETING_START G_GINT64_CONSTANT (1700000000000000)
#define HOUR (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)

static GVariant *
meeting (const char *subject, const char *location, gint64 start, gint64 end)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "Subject", "s", subject);
  g_variant_dict_insert (&dict, "Location", "s", location);
  g_variant_dict_insert (&dict, "Start", "x", start);
  g_variant_dict_insert (&dict, "End", "x", end);
  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

/* main() sets TZ=UTC: local times are UTC */
static void
test_meeting_text (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) midnight = g_date_time_new_utc (g_date_time_get_year (now),
                                                        g_date_time_get_month (now),
                                                        g_date_time_get_day_of_month (now),
                                                        0,
                                                        0,
                                                        0);
  gint64 today = g_date_time_to_unix (midnight) * G_USEC_PER_SEC;
  g_autoptr (GVariant) past
      = meeting ("Weekly sync", "Room 1", MEETING_START, MEETING_START + HOUR);
  g_autoptr (GVariant) overnight = meeting ("Release", "", MEETING_START, MEETING_START + 2 * HOUR);
  g_autoptr (GVariant) now_on = meeting ("Stand-up", "", today + HOUR, today + 2 * HOUR);
  g_autoptr (GVariant) no_end = meeting ("", "", today + HOUR, 0);
  g_autoptr (GVariant) empty = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  g_autoptr (GVariant) wrong_type = g_variant_ref_sink (g_variant_new_parsed ("{'Start': <'x'>}"));
  g_autofree char *filler = g_strnfill (500, 'x');
  g_autofree char *hostile_subject = g_strconcat ("Evil\x1b[31m\nline", filler, NULL);
  g_autoptr (GVariant) hostile = meeting (hostile_subject, "Room\t2", MEETING_START, 0);
  g_autofree char *text = NULL;

  text = sfb_presence_view_meeting_text (past, 80);
  g_assert_cmpstr (text, ==, "2023-11-14 22:13–23:13 Weekly sync (Room 1)");
  g_clear_pointer (&text, g_free);
  /* the end on the next day carries its date */
  text = sfb_presence_view_meeting_text (overnight, 80);
  g_assert_cmpstr (text, ==, "2023-11-14 22:13–2023-11-15 00:13 Release");
  g_clear_pointer (&text, g_free);
  /* today: the clock only */
  text = sfb_presence_view_meeting_text (now_on, 80);
  g_assert_cmpstr (text, ==, "01:00–02:00 Stand-up");
  g_clear_pointer (&text, g_free);
  text = sfb_presence_view_meeting_text (no_end, 80);
  g_assert_cmpstr (text, ==, "01:00 (no subject)");
  g_clear_pointer (&text, g_free);
  text = sfb_presence_view_meeting_text (hostile, 10);
  g_assert_cmpstr (text, ==, "2023-11-14 22:13 Evil [31m … (Room 2)");
  g_clear_pointer (&text, g_free);

  g_assert_null (sfb_presence_view_meeting_text (NULL, 80));
  g_assert_null (sfb_presence_view_meeting_text (empty, 80));
  g_assert_null (sfb_presence_view_meeting_text (wrong_type, 80));
}

static void
test_exchange_lines (void)
{
  g_autoptr (GVariant) now_on
      = meeting ("Weekly sync", "Room 1", MEETING_START, MEETING_START + HOUR);
  g_autoptr (GVariant) next
      = meeting ("Review", "", MEETING_START + 2 * HOUR, MEETING_START + 3 * HOUR);
  SfbPresenceInput input = {
    .running = TRUE,
    .state = SFB_STATE_SIGNED_IN,
    .availability = SFB_AVAILABILITY_BUSY,
    .exchange_state = SFB_EXCHANGE_STATE_CONNECTED,
    .current_meeting = now_on,
    .next_meeting = next,
    .unread_voicemails = 2,
    .missed_conversations = 1,
  };
  g_autoptr (SfbPresenceView) view = sfb_presence_view_new (&input);
  g_autoptr (SfbPresenceView) without_meeting = NULL;
  g_autoptr (SfbPresenceView) failed = NULL;
  g_autoptr (SfbPresenceView) signed_out = NULL;
  g_autofree char *line = NULL;

  g_assert_cmpstr (view->details,
                   ==,
                   "State: Signed in\nAvailability: Busy\n"
                   "Meeting now: 2023-11-14 22:13–23:13 Weekly sync (Room 1)\n"
                   "Exchange: 2 unread voicemails, 1 missed conversation");

  /* no meeting now: the next one */
  input.current_meeting = NULL;
  line = sfb_presence_view_meeting_line (&input);
  g_assert_cmpstr (line, ==, "Next meeting: 2023-11-15 00:13–01:13 Review");
  input.next_meeting = NULL;
  input.unread_voicemails = 1;
  input.missed_conversations = 0;
  without_meeting = sfb_presence_view_new (&input);
  g_assert_cmpstr (without_meeting->details,
                   ==,
                   "State: Signed in\nAvailability: Busy\n"
                   "Exchange: 1 unread voicemail, 0 missed conversations");

  /* Exchange not connected, or not signed in: nothing about it */
  input.exchange_state = SFB_EXCHANGE_STATE_FAILED;
  failed = sfb_presence_view_new (&input);
  g_assert_null (strstr (failed->details, "Exchange"));
  input.exchange_state = SFB_EXCHANGE_STATE_CONNECTED;
  input.state = SFB_STATE_SIGNED_OUT;
  signed_out = sfb_presence_view_new (&input);
  g_assert_null (strstr (signed_out->details, "Exchange"));
  g_assert_false (sfb_presence_view_shows_exchange (&input));
}

int
main (int argc, char **argv)
{
  /* the meetings' times in known words */
  g_setenv ("TZ", "UTC", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/applet/view/not-running", test_not_running);
  g_test_add_func ("/applet/view/signed-out", test_signed_out);
  g_test_add_func ("/applet/view/signed-in", test_signed_in);
  g_test_add_func ("/applet/view/failed", test_failed);
  g_test_add_func ("/applet/view/reconnecting", test_reconnecting);
  g_test_add_func ("/applet/view/reconnecting-next-retry", test_reconnecting_next_retry);
  g_test_add_func ("/applet/view/action-error", test_action_error_and_copy);
  g_test_add_func ("/applet/view/clean-text", test_clean_text);
  g_test_add_func ("/applet/view/unknown", test_unknown_values);
  g_test_add_func ("/applet/view/not-answering", test_not_answering);
  g_test_add_func ("/applet/view/meeting-text", test_meeting_text);
  g_test_add_func ("/applet/view/exchange", test_exchange_lines);
  g_test_add_func ("/applet/icons/own-icon-per-state", test_each_state_has_its_own_icon);
  g_test_add_func ("/applet/menu/revision", test_menu_revision);
  g_test_add_func ("/applet/menu/escape", test_menu_escape);
  return g_test_run ();
}
