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

  g_assert_cmpstr (view->icon_name, ==, "user-offline");
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

  g_assert_cmpstr (view->icon_name, ==, "user-offline");
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
    { SFB_AVAILABILITY_ONLINE, "user-available", "Available" },
    { SFB_AVAILABILITY_BUSY, "user-busy", "Busy" },
    { SFB_AVAILABILITY_DO_NOT_DISTURB, "user-busy", "Do not disturb" },
    { SFB_AVAILABILITY_BE_RIGHT_BACK, "user-away", "Be right back" },
    { SFB_AVAILABILITY_AWAY, "user-away", "Away" },
    { SFB_AVAILABILITY_APPEAR_OFFLINE, "user-invisible", "Appear offline" },
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
  g_assert_cmpstr (view->overlay_icon_name, ==, "dialog-error");
  g_assert_cmpstr (view->attention_icon_name, ==, "dialog-error");
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
  g_assert_cmpstr (view->icon_name, ==, "user-offline");
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

int
main (int argc, char **argv)
{
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
  g_test_add_func ("/applet/menu/revision", test_menu_revision);
  g_test_add_func ("/applet/menu/escape", test_menu_escape);
  return g_test_run ();
}
