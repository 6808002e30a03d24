/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Untrusted text on its way into error text: bounded and sanitised. */
#include "config.h"

#include "sfb-error.h"
#include "sfb-text.h"

#include <string.h>

static void
assert_quote (const char *text, gssize length, gsize max, const char *expected)
{
  g_autofree char *got = sfb_text_quote_untrusted (text, length, max);

  g_assert_cmpstr (got, ==, expected);
  g_assert_true (g_utf8_validate (got, -1, NULL));
}

static void
test_quote (void)
{
  /* An allocation of exactly its size: reading past it is caught by ASan. */
  g_autofree char *short_text = g_strdup ("text/html");

  assert_quote (short_text, -1, 64, "text/html");
  assert_quote (NULL, -1, 64, "");
  assert_quote ("", -1, 64, "");
  /* Cut at characters, not bytes, and said */
  assert_quote ("abcdef", -1, 3, "abc…");
  assert_quote ("\xc3\xa9\xc3\xa9\xc3\xa9", -1, 2, "éé…");
  assert_quote ("abc", 3, 3, "abc");
  /* Never past @length, even without a NUL there */
  assert_quote ("abcdef", 2, 64, "ab");
  /* A character cut by @length is invalid, not read on */
  assert_quote ("a\xc3\xa9", 2, 64, "a\xef\xbf\xbd");
  /* Invalid bytes, controls, bidi overrides, separators, non-characters */
  assert_quote ("a\xffz", -1, 64, "a\xef\xbf\xbdz");
  assert_quote ("line\r\nfake: x",
                -1,
                64,
                "line\xef\xbf\xbd\xef\xbf\xbd"
                "fake: x");
  assert_quote ("a\x1b[31mb", -1, 64, "a\xef\xbf\xbd[31mb");
  assert_quote ("evil\xe2\x80\xaegnp.exe", -1, 64, "evil\xef\xbf\xbdgnp.exe");
  assert_quote ("a\xe2\x80\xa8"
                "b",
                -1,
                64,
                "a\xef\xbf\xbd"
                "b");
  assert_quote ("a\xef\xbf\xbe"
                "b",
                -1,
                64,
                "a\xef\xbf\xbd"
                "b");
  assert_quote ("a\xc2\x85"
                "b",
                -1,
                64,
                "a\xef\xbf\xbd"
                "b");
  /* An embedded NUL inside @length is a control character */
  assert_quote ("a\0b",
                3,
                64,
                "a\xef\xbf\xbd"
                "b");
}

static void
test_check_argument (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *long_text = g_strnfill (100000, 'x');

  g_assert_true (sfb_text_check_argument ("Note", "Lunch 🍕", 100, 0, &error));
  g_assert_no_error (error);
  g_assert_true (sfb_text_check_argument ("Note", "a\nb\tc", 100, SFB_TEXT_MULTI_LINE, &error));
  g_assert_no_error (error);

  g_assert_false (sfb_text_check_argument ("Note", "a\nb", 100, 0, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (error->message, "Note"));
  g_assert_nonnull (strstr (error->message, "U+000A"));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);

  g_assert_false (sfb_text_check_argument ("Note",
                                           "a\xe2\x80\xae"
                                           "b",
                                           100,
                                           0,
                                           &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (error->message, "U+202E"));
  g_clear_error (&error);

  g_assert_false (sfb_text_check_argument ("Name", "a\xff", 100, 0, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_clear_error (&error);

  /* Too long: said, and quoted only a short prefix */
  g_assert_false (sfb_text_check_argument ("Name", long_text, 1024, 0, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (error->message, "too long"));
  g_assert_cmpuint (strlen (error->message), <, 200);
}

static void
test_xml_char (void)
{
  g_assert_true (sfb_text_is_xml_char ('\t'));
  g_assert_true (sfb_text_is_xml_char ('\n'));
  g_assert_true (sfb_text_is_xml_char ('a'));
  g_assert_true (sfb_text_is_xml_char (0x1f355));
  g_assert_false (sfb_text_is_xml_char (0x1));
  g_assert_false (sfb_text_is_xml_char (0x1b));
  g_assert_false (sfb_text_is_xml_char (0xfffe));
  g_assert_false (sfb_text_is_xml_char (0xffff));
  g_assert_false (sfb_text_is_xml_char (0xd800));
}

/* One line for a person: blanks, controls, bidi, invisible characters and
 * invalid bytes become one space per run, none at the ends; the cut counts
 * no blank. */
static void
test_quote_spaces (void)
{
  static const struct
  {
    const char *text;
    gsize max;
    const char *expected;
  } cases[] = {
    { "  a\t\r\n\u200Bb\u202Ec\uFEFF  ", 10, "a b c" },
    { "zero\u200Dwidth", 20, "zero width" },
    { "ab\xff", 10, "ab" },
    /* text quoted before shows as if quoted once */
    { "evil\uFFFDgnp \uFFFD bell", 20, "evil gnp bell" },
    { "abc   ", 3, "abc" },
    { "abc d", 3, "abc…" },
    { "abc", 0, "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got
          = sfb_text_quote (cases[i].text, -1, cases[i].max, SFB_TEXT_QUOTE_SPACES);

      g_assert_cmpstr (got, ==, cases[i].expected);
    }
}

static void
assert_finds_as_memmem (const char *hay, gsize len, const char *needle)
{
  gsize n = strlen (needle);

  g_assert_true (sfb_text_find_bytes (hay, len, needle, n) == memmem (hay, len, needle, n));
}

/* sfb_text_find_bytes() finds what memmem() finds: in every text of up
 * to 8 bytes of "-", "b", CR, LF, and in long ones whose failing
 * candidates hand the search to memmem() at each place before the needle. */
static void
test_find_bytes (void)
{
  static const char alphabet[] = "-b\r\n";
  static const char *const needles[] = { "--b", "--bb", "\r\n\r\n", "-", "b-" };
  g_autofree char *b198 = g_strnfill (198, 'b');
  g_autofree char *long_needle = g_strconcat ("--", b198, "x", NULL);
  char hay[8];

  for (gsize len = 0; len <= sizeof hay; len++)
    {
      gsize total = 1;

      for (gsize i = 0; i < len; i++)
        total *= 4;
      for (gsize k = 0; k < total; k++)
        {
          gsize x = k;

          for (gsize i = 0; i < len; i++, x /= 4)
            hay[i] = alphabet[x % 4];
          for (gsize i = 0; i < G_N_ELEMENTS (needles); i++)
            assert_finds_as_memmem (hay, len, needles[i]);
        }
    }
  for (guint junk = 0; junk <= 8; junk++)
    for (guint dashes = 0; dashes <= 4; dashes++)
      {
        GString *text = g_string_new (NULL);
        g_autofree char *s = NULL;
        gsize len;

        for (guint i = 0; i < junk; i++)
          g_string_append_printf (text, "-b--%s", b198);
        for (guint i = 0; i < dashes; i++)
          g_string_append_c (text, '-');
        g_string_append (text, long_needle);
        g_string_append (text, "tail--");
        len = text->len;
        s = g_string_free (text, FALSE);
        assert_finds_as_memmem (s, len, long_needle);
        assert_finds_as_memmem (s, len, "--bb");
        assert_finds_as_memmem (s, len, "-x");
        assert_finds_as_memmem (s, len, "--y");
        g_assert_nonnull (sfb_text_find_bytes (s, len, long_needle, strlen (long_needle)));
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/text/quote", test_quote);
  g_test_add_func ("/core/text/quote-spaces", test_quote_spaces);
  g_test_add_func ("/core/text/check-argument", test_check_argument);
  g_test_add_func ("/core/text/xml-char", test_xml_char);
  g_test_add_func ("/core/text/find-bytes", test_find_bytes);
  return g_test_run ();
}
