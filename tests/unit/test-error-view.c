/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the clients (applet, sfbd-window, sfbctl) say about sfbd's errors
 * and the sign-in trace: client/sfb-error-view.c and the presence view. */
#include "config.h"

#include "sfb-error-view.h"
#include "sfb-presence-view.h"

#include <sfbd/sfb-names.h>
#include <string.h>

static void
test_fix_places (void)
{
  const SfbErrorFix *fix = sfb_error_view_fix (SFB_DBUS_ERROR_AUTH_FAILED);

  g_assert_nonnull (fix);
  g_assert_cmpint (fix->place, ==, SFB_ERROR_FIX_PASSWORD);
  g_assert_cmpstr (fix->button, ==, "Set password…");
  g_assert_true (g_str_has_prefix (fix->advice, "The server refused the password."));

  fix = sfb_error_view_fix (SFB_DBUS_ERROR_NO_USABLE_AUTH_SCHEME);
  g_assert_cmpint (fix->place, ==, SFB_ERROR_FIX_ACCOUNT);
  g_assert_cmpstr (fix->button, ==, "Account…");

  fix = sfb_error_view_fix (SFB_DBUS_ERROR_CERTIFICATE_INVALID);
  g_assert_cmpint (fix->place, ==, SFB_ERROR_FIX_CHECKS);
  g_assert_cmpstr (fix->button, ==, "Run checks…");

  /* advice, but nothing in a client fixes it */
  fix = sfb_error_view_fix (SFB_DBUS_ERROR_ACCOUNT_DISABLED);
  g_assert_cmpint (fix->place, ==, SFB_ERROR_FIX_NOWHERE);
  g_assert_null (fix->button);
  g_assert_nonnull (strstr (fix->advice, "administrator"));
}

static void
test_fix_unknown (void)
{
  g_assert_null (sfb_error_view_fix (NULL));
  g_assert_null (sfb_error_view_fix (""));
  g_assert_null (sfb_error_view_fix (SFB_DBUS_ERROR_NOT_SIGNED_IN));
  /* only sfbd's own names: not a bare or foreign one */
  g_assert_null (sfb_error_view_fix ("AuthFailed"));
  g_assert_null (sfb_error_view_fix ("org.example.Error.AuthFailed"));
}

static void
test_short_name (void)
{
  g_assert_cmpstr (sfb_error_view_short_name (SFB_DBUS_ERROR_CLOCK_SKEW), ==, "ClockSkew");
  g_assert_cmpstr (sfb_error_view_short_name ("org.freedesktop.DBus.Error.NoReply"),
                   ==,
                   "org.freedesktop.DBus.Error.NoReply");
  g_assert_cmpstr (sfb_error_view_short_name (""), ==, "");
}

static void
assert_call_text (const GError *error,
                  const char *target,
                  SfbCallFailure failure,
                  const char *expected)
{
  g_autofree char *text = sfb_error_view_call_text ("sign in", target, error);

  g_assert_cmpint (sfb_error_view_call_failure (error), ==, failure);
  g_assert_cmpstr (text, ==, expected);
}

static void
test_call_text (void)
{
  g_autoptr (GError) no_owner = g_dbus_error_new_for_dbus_error (
      "org.freedesktop.DBus.Error.NameHasNoOwner", "Could not activate remote peer");
  g_autoptr (GError) unknown = g_dbus_error_new_for_dbus_error (
      "org.freedesktop.DBus.Error.ServiceUnknown", "The name was not provided");
  g_autoptr (GError) no_reply = g_dbus_error_new_for_dbus_error (
      "org.freedesktop.DBus.Error.NoReply", "Timeout was reached");
  g_autoptr (GError) timed_out = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Timeout");
  g_autoptr (GError) refused
      = g_dbus_error_new_for_dbus_error (SFB_DBUS_ERROR_NO_CREDENTIALS, "No password\nstored");

  assert_call_text (
      no_owner, "sfbd", SFB_CALL_NOT_RUNNING, "Could not sign in: sfbd is not running");
  assert_call_text (
      unknown, "sfbd", SFB_CALL_NOT_RUNNING, "Could not sign in: sfbd is not running");
  assert_call_text (unknown,
                    "sfbd-window",
                    SFB_CALL_NOT_RUNNING,
                    "Could not sign in: sfbd-window is not installed");
  assert_call_text (
      no_reply, "sfbd", SFB_CALL_NOT_ANSWERING, "Could not sign in: sfbd is not answering");
  assert_call_text (
      timed_out, "sfbd", SFB_CALL_NOT_ANSWERING, "Could not sign in: sfbd is not answering");
  /* sfbd's own message, without "GDBus.Error:…: " and on one line */
  assert_call_text (refused, "sfbd", SFB_CALL_FAILED, "Could not sign in: No password stored");
  g_assert_true (g_dbus_error_is_remote_error (refused));
}

/* One classification for sfbctl, the window and the applet: every error
 * by which D-Bus or GDBus says no reply came in time is "not answering";
 * a callee's own errors, even about timeouts, are its answer. */
static void
test_call_failure (void)
{
  static const struct
  {
    const char *name;
    SfbCallFailure failure;
  } names[] = {
    { "org.freedesktop.DBus.Error.ServiceUnknown", SFB_CALL_NOT_RUNNING },
    { "org.freedesktop.DBus.Error.NameHasNoOwner", SFB_CALL_NOT_RUNNING },
    { "org.freedesktop.DBus.Error.NoReply", SFB_CALL_NOT_ANSWERING },
    { "org.freedesktop.DBus.Error.Timeout", SFB_CALL_NOT_ANSWERING },
    { "org.freedesktop.DBus.Error.TimedOut", SFB_CALL_NOT_ANSWERING },
    { "org.freedesktop.DBus.Error.Failed", SFB_CALL_FAILED },
    { "org.freedesktop.DBus.Error.Disconnected", SFB_CALL_FAILED },
    { "org.freedesktop.DBus.Error.UnknownMethod", SFB_CALL_FAILED },
    { SFB_DBUS_ERROR_TIMED_OUT, SFB_CALL_FAILED }, /* sfbd's server timed out */
    { SFB_DBUS_ERROR_NOT_SIGNED_IN, SFB_CALL_FAILED },
    /* GDBus's name for a G_IO_ERROR_TIMED_OUT sent by the callee */
    { "org.gtk.GDBus.UnmappedGError.Quark._g_2dio_2derror_2dquark.Code24", SFB_CALL_FAILED },
  };
  g_autoptr (GError) local = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Timeout");
  g_autoptr (GError) other = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "Closed");

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GError) error = g_dbus_error_new_for_dbus_error (names[i].name, "text");

      if (g_str_has_prefix (names[i].name, "org.gtk.GDBus.UnmappedGError."))
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

      g_test_message ("%s", names[i].name);
      g_assert_cmpint (sfb_error_view_call_failure (error), ==, names[i].failure);
    }
  g_assert_cmpint (sfb_error_view_call_failure (local), ==, SFB_CALL_NOT_ANSWERING);
  g_assert_cmpint (sfb_error_view_call_failure (other), ==, SFB_CALL_FAILED);
}

/* a long message is cut, an ellipsis marks the cut */
static void
test_call_text_cut (void)
{
  g_autofree char *long_message = g_strnfill (SFB_PRESENCE_VIEW_MAX_TEXT * 2, 'x');
  g_autofree char *kept = g_strnfill (SFB_PRESENCE_VIEW_MAX_TEXT, 'x');
  g_autofree char *expected = g_strdup_printf ("Could not set the note: %s…", kept);
  g_autoptr (GError) error = g_dbus_error_new_for_dbus_error (SFB_DBUS_ERROR_FAILED, long_message);
  g_autofree char *text = sfb_error_view_call_text ("set the note", "sfbd", error);

  g_assert_cmpstr (text, ==, expected);
}

static GVariant *
stage_new (const char *name, const char *result, const char *detail, guint64 duration)
{
  g_auto (GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&builder, "{sv}", "Stage", g_variant_new_string (name));
  if (result != NULL)
    g_variant_builder_add (&builder, "{sv}", "Result", g_variant_new_string (result));
  if (detail != NULL)
    g_variant_builder_add (&builder, "{sv}", "Detail", g_variant_new_string (detail));
  g_variant_builder_add (&builder, "{sv}", "Duration", g_variant_new_uint64 (duration));
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static void
assert_stage (GVariant *stage, gsize max_detail, const char *name, const char *text)
{
  g_autofree char *shown_name = NULL;
  g_autofree char *shown = sfb_presence_view_stage_text (stage, max_detail, &shown_name);

  g_assert_cmpstr (shown_name, ==, name);
  g_assert_cmpstr (shown, ==, text);
}

static void
test_stage_text (void)
{
  g_autoptr (GVariant) failed
      = stage_new ("authenticating", SFB_DBUS_ERROR_AUTH_FAILED, "401 from the registrar", 1500);
  g_autoptr (GVariant) running = stage_new ("connecting", NULL, NULL, 12);
  g_autoptr (GVariant) slow = stage_new ("discovering", "ok", "", 12 * G_USEC_PER_SEC);
  g_autoptr (GVariant) long_detail = stage_new ("a\tb", "ok", "abcdefghij", 9 * G_USEC_PER_SEC);

  assert_stage (failed, 300, "authenticating", "AuthFailed, 1 ms — 401 from the registrar");
  assert_stage (running, 300, "connecting", "running, 12 µs");
  assert_stage (slow, 300, "discovering", "ok, 12.0 s");
  /* control characters become spaces; the detail is cut with an ellipsis */
  assert_stage (long_detail, 4, "a b", "ok, 9000 ms — abcd…");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/error-view/fix/places", test_fix_places);
  g_test_add_func ("/error-view/fix/unknown", test_fix_unknown);
  g_test_add_func ("/error-view/short-name", test_short_name);
  g_test_add_func ("/error-view/call-text", test_call_text);
  g_test_add_func ("/error-view/call-failure", test_call_failure);
  g_test_add_func ("/error-view/call-text-cut", test_call_text_cut);
  g_test_add_func ("/error-view/stage-text", test_stage_text);
  return g_test_run ();
}
