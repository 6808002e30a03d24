/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Failure wording: server text quoted safely, deregistration reasons. */
#include "config.h"

#include "sfb-failure.h"

#include <string.h>

static void
test_quote_strips_controls_and_bidi (void)
{
  g_autofree char *quoted
      = sfb_failure_quote ("evil\u202Egnp.exe\u2066\u2069 \x07\x1b[31mred\r\nnext\u2028line", 200);

  g_assert_cmpstr (quoted, ==, "evil gnp.exe [31mred next line");
  for (const char *p = quoted; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_false (g_unichar_iscntrl (c));
      g_assert_false (c >= 0x202A && c <= 0x202E);
      g_assert_false (c >= 0x2066 && c <= 0x2069);
    }
}

static void
test_quote_bounds_and_validates (void)
{
  g_autofree char *long_text = g_strnfill (100000, 'a');
  g_autofree char *quoted = sfb_failure_quote (long_text, 10);
  g_autofree char *invalid = sfb_failure_quote ("ab\xff\xfe"
                                                "cd",
                                                200);
  g_autofree char *none = sfb_failure_quote (NULL, 10);
  g_autofree char *multibyte = sfb_failure_quote ("ééééé", 3);

  g_assert_cmpstr (quoted, ==, "aaaaaaaaaa…");
  g_assert_true (g_utf8_validate (invalid, -1, NULL));
  g_assert_nonnull (strstr (invalid, "cd"));
  g_assert_cmpstr (none, ==, "");
  g_assert_cmpstr (multibyte, ==, "ééé…");
}

static void
test_deregistration_reasons (void)
{
  static const struct
  {
    const char *event;
    const char *diagnostics;
    const char *expected;
  } cases[] = {
    { "unregistered",
      "4140;reason=\"Removed by administrator\"",
      "an administrator removed this sign-in (ms-diagnostics 4140 \"Removed by administrator\")" },
    { "unregistered", "4141;reason=\"User disabled\"", "the account was disabled" },
    { "unregistered",
      "4999;reason=\"Maintenance\"",
      "the server says \"Maintenance\" (ms-diagnostics 4999)" },
    { "unregistered", NULL, "signed in on more devices than they allow" },
    { "something-new", NULL, "the server gave no reason (unknown event \"something-new\")" },
    { NULL, NULL, "the server gave no reason" },
    { NULL, "4999", "the server gave no reason (ms-diagnostics 4999)" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *why
          = sfb_failure_deregistration_reason (cases[i].event, cases[i].diagnostics);

      g_assert_nonnull (strstr (why, cases[i].expected));
      if (cases[i].diagnostics != NULL || g_strcmp0 (cases[i].event, "unregistered") != 0)
        g_assert_null (strstr (why, "devices"));
    }
}

static void
test_deregistration_reason_is_quoted (void)
{
  g_autofree char *why = sfb_failure_deregistration_reason ("unregistered\u202E",
                                                            "1;reason=\"a\u202Eb\x01"
                                                            "c\"");

  g_assert_null (strstr (why, "\u202E"));
  g_assert_null (strchr (why, '\x01'));
  g_assert_nonnull (strstr (why, "the server says \"a b c\""));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/failure/quote/controls-bidi", test_quote_strips_controls_and_bidi);
  g_test_add_func ("/failure/quote/bounds", test_quote_bounds_and_validates);
  g_test_add_func ("/failure/deregistration/reasons", test_deregistration_reasons);
  g_test_add_func ("/failure/deregistration/quoted", test_deregistration_reason_is_quoted);
  return g_test_run ();
}
