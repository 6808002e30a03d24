/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RFC 3842 message summaries: the unread voice count, and what is refused. */
#include "config.h"

#include "sfb-error.h"
#include "sfb-message-summary.h"

#include <string.h>

static guint
parse_ok (const char *body)
{
  g_autoptr (GError) error = NULL;
  guint unread = 12345;

  g_assert_true (sfb_message_summary_parse (body, strlen (body), &unread, &error));
  g_assert_no_error (error);
  return unread;
}

static void
parse_refused (const char *body, gsize length)
{
  g_autoptr (GError) error = NULL;
  guint unread = 12345;

  g_assert_false (sfb_message_summary_parse (body, length, &unread, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
  g_assert_cmpuint (unread, ==, 12345);
}

static void
test_rfc_example (void)
{
  /* RFC 3842 section 5.3, as a voicemail server sends it */
  g_assert_cmpuint (parse_ok ("Messages-Waiting: yes\r\n"
                              "Message-Account: sip:alice@vmail.example.com\r\n"
                              "Voice-Message: 2/8 (0/2)\r\n"),
                    ==,
                    2);
}

static void
test_forms (void)
{
  /* names are case-insensitive, LF alone ends a line, blanks around values */
  g_assert_cmpuint (parse_ok ("messages-waiting :YES\nvoice-message:  7/0\n"), ==, 7);
  /* waiting without a count: one at least */
  g_assert_cmpuint (parse_ok ("Messages-Waiting: yes\r\n"), ==, 1);
  g_assert_cmpuint (parse_ok ("Messages-Waiting: no\r\n"), ==, 0);
  /* fax only: no voice message unread */
  g_assert_cmpuint (
      parse_ok ("Messages-Waiting: yes\r\nVoice-Message: 0/3\r\nFax-Message: 1/0\r\n"), ==, 0);
  /* a count without digits is ignored, the first Voice-Message counts */
  g_assert_cmpuint (parse_ok ("Messages-Waiting: yes\r\nVoice-Message: many\r\n"), ==, 1);
  g_assert_cmpuint (
      parse_ok ("Messages-Waiting: yes\r\nVoice-Message: 3/0\r\nVoice-Message: 9/0\r\n"), ==, 3);
  /* a header that only starts like one is not it */
  g_assert_cmpuint (parse_ok ("Messages-Waiting: no\r\nVoice-Messages: 5/0\r\n"), ==, 0);
}

static void
test_limits (void)
{
  g_autofree char *huge = NULL;
  g_autoptr (GString) big = g_string_new ("Messages-Waiting: yes\r\n");

  g_assert_cmpuint (parse_ok ("Messages-Waiting: yes\r\nVoice-Message: 99999999999999999999/0\r\n"),
                    ==,
                    SFB_MESSAGE_SUMMARY_MAX_COUNT);
  parse_refused ("Voice-Message: 2/0\r\n", strlen ("Voice-Message: 2/0\r\n"));
  parse_refused ("", 0);
  parse_refused ("Messages-Waiting: yes\0Voice-Message: 1/0", 40);
  while (big->len <= SFB_MESSAGE_SUMMARY_MAX_BODY)
    g_string_append (big, "Message-Account: sip:alice@vmail.example.com\r\n");
  huge = g_strdup (big->str);
  parse_refused (huge, strlen (huge));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/message-summary/rfc-example", test_rfc_example);
  g_test_add_func ("/message-summary/forms", test_forms);
  g_test_add_func ("/message-summary/limits", test_limits);
  return g_test_run ();
}
