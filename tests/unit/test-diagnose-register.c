/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-diagnose-register.h"

/* Mon, 07 Dec 2026 00:00:00 GMT */
#define MIDNIGHT_US (G_GINT64_CONSTANT (1796601600) * G_USEC_PER_SEC)

static void
test_clock_offset_of_an_http_date (void)
{
  gint64 offset = 42;

  g_assert_true (sfb_diagnose_clock_offset ("Mon, 07 Dec 2026 00:00:00 GMT", MIDNIGHT_US, &offset));
  g_assert_cmpint (offset, ==, 0);
  /* the server 10 minutes behind: negative */
  g_assert_true (sfb_diagnose_clock_offset ("Sun, 06 Dec 2026 23:50:00 GMT", MIDNIGHT_US, &offset));
  g_assert_cmpint (offset, ==, -600);
  g_assert_true (
      sfb_diagnose_clock_offset ("Mon, 07 Dec 2026 00:03:20 GMT", MIDNIGHT_US + 999999, &offset));
  g_assert_cmpint (offset, ==, 200);
}

static void
test_clock_offset_refuses_what_is_no_date (void)
{
  g_autofree char *long_date = g_strnfill (200, '1');
  gint64 offset = 42;

  g_assert_false (sfb_diagnose_clock_offset (NULL, MIDNIGHT_US, &offset));
  g_assert_false (sfb_diagnose_clock_offset ("", MIDNIGHT_US, &offset));
  g_assert_false (sfb_diagnose_clock_offset ("yesterday", MIDNIGHT_US, &offset));
  g_assert_false (sfb_diagnose_clock_offset (long_date, MIDNIGHT_US, &offset));
  g_assert_cmpint (offset, ==, 42);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/diagnose/clock-offset", test_clock_offset_of_an_http_date);
  g_test_add_func ("/diagnose/clock-offset-refused", test_clock_offset_refuses_what_is_no_date);
  return g_test_run ();
}
