/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Instant-message documents: SDP offer/answer, Ms-Text-Format, bodies to
 * text, typing, failure words (docs/protocol.md §19). */
#include "sfb-content-type.h"
#include "sfb-error.h"
#include "sfb-im-doc.h"

#include <string.h>

static char *
to_text (const char *content_type, const char *body, GError **error)
{
  return sfb_im_body_to_text (content_type, body, strlen (body), error);
}

static void
test_im_sdp (void)
{
  g_autofree char *offer = sfb_im_sdp_offer ("192.0.2.10");
  g_autofree char *answer = sfb_im_sdp_answer ("192.0.2.20", "sip:bob@contoso.test");
  g_autofree char *v6 = sfb_im_sdp_offer ("2001:db8::1");
  const char *audio = "v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\ns=session\r\nc=IN IP4 192.0.2.1\r\n"
                      "t=0 0\r\nm=audio 50000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n";
  const char *legacy = "v=0\nm=x-ms-message 5060 sip null\n";
  const char *ice = "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nm=audio 1 RTP/AVP 0\r\n"
                    "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nm=video 1 RTP/AVP 0\r\n"
                    "--b1--\r\n";

  g_assert_nonnull (strstr (offer, "\r\nm=message 5060 sip null\r\n"));
  g_assert_nonnull (strstr (offer, "c=IN IP4 192.0.2.10\r\n"));
  g_assert_nonnull (strstr (offer, "a=accept-types:text/plain text/html"));
  g_assert_nonnull (strstr (answer, "\r\nm=message 5060 sip sip:bob@contoso.test\r\n"));
  g_assert_nonnull (strstr (v6, "c=IN IP6 2001:db8::1\r\n"));

  g_assert_cmpint (
      sfb_im_offer_classify ("application/sdp", offer, strlen (offer)), ==, SFB_IM_OFFER_MESSAGE);
  g_assert_cmpint (
      sfb_im_offer_classify ("Application/SDP", legacy, strlen (legacy)), ==, SFB_IM_OFFER_MESSAGE);
  g_assert_cmpint (sfb_im_offer_classify ("application/sdp", audio, strlen (audio)),
                   ==,
                   SFB_IM_OFFER_OTHER_MEDIA);
  g_assert_cmpint (sfb_im_offer_classify ("multipart/alternative; boundary=b1", ice, strlen (ice)),
                   ==,
                   SFB_IM_OFFER_OTHER_MEDIA);
  g_assert_cmpint (sfb_im_offer_classify (NULL, "", 0), ==, SFB_IM_OFFER_OTHER_MEDIA);
  g_assert_cmpint (
      sfb_im_offer_classify ("application/x-unknown", "x", 1), ==, SFB_IM_OFFER_UNKNOWN_TYPE);
}

static void
test_im_text_format (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *built = sfb_im_text_format_build ("Hello ü");
  g_autofree char *parsed = sfb_im_text_format_parse (built, &error);
  g_autofree char *capture = NULL;
  g_autofree char *html = NULL;
  g_autofree char *unpadded = NULL;
  g_autofree char *percent = NULL;
  g_autofree char *big = g_strnfill (SFB_IM_MAX_EMBEDDED_TEXT + 1, 'a');
  g_autofree char *none = NULL;

  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (built, "text/plain; charset=UTF-8; ms-body="));
  g_assert_cmpstr (parsed, ==, "Hello ü");

  /* as the SfB client sends it: ms-body=SGVsbG8= */
  capture = sfb_im_text_format_parse ("text/plain; charset=UTF-8; ms-body=SGVsbG8=", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (capture, ==, "Hello");
  /* its ms-im-format HTML copy */
  html = sfb_im_text_format_parse (
      "text/html; charset=UTF-8; ms-body=PFNQQU4gc3R5bGU9ImZvbnQtZmFtaWx5OlNlZ29lIFVJOyBmb250LXNpem"
      "U6MTBwdDsiPkhlbGxvPC9TUEFOPg==",
      &error);
  g_assert_no_error (error);
  g_assert_cmpstr (html, ==, "Hello");
  /* padding stripped, with an msgr parameter before it */
  unpadded = sfb_im_text_format_parse (
      "text/plain; charset=UTF-8;msgr=WAAtAE0ATQBTAC0ASQBNAC0ARgBvAHIAbQBhAHQAOgAgAEYATgA9AFMAZQBn"
      "AG8AZQAlADIAMABVAEkAOwAgAEUARgA9ADsAIABDAE8APQAwADsAIABDAFMAPQAwADsAIABQAEYAPQAwAA0ACgANAAoA"
      ";"
      "ms-body=SGk",
      &error);
  g_assert_no_error (error);
  g_assert_cmpstr (unpadded, ==, "Hi");
  /* the %-encoded form */
  percent = sfb_im_text_format_parse ("text/plain; ms-body=Hello%20there%21", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (percent, ==, "Hello there!");

  g_assert_null (sfb_im_text_format_build (big));
  none = sfb_im_text_format_parse ("text/plain; charset=UTF-8", &error);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_null (none);
}

static void
test_im_bodies (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *plain
      = to_text ("text/plain; charset=UTF-8", "line 1\r\nline 2\x01\x1b[2J", &error);
  g_autofree char *html = NULL;
  g_autofree char *rtf = NULL;
  g_autofree char *latin1 = NULL;
  g_autofree char *invalid = NULL;
  g_autofree char *alt = NULL;
  g_autofree char *alt_html = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (plain, ==, "line 1\nline 2[2J");

  html = to_text ("text/html",
                  "<SPAN style=\"font-family:Segoe UI\">a &amp; b<br>c&#x263A;&#9731;&lt;"
                  "</SPAN><script>alert(1)</script><p>d</p>&bogus;\r\n",
                  &error);
  g_assert_no_error (error);
  g_assert_cmpstr (html, ==, "a & b\nc☺☃<d\n&bogus;");

  rtf = to_text ("text/rtf",
                 "{\\rtf1\\fbidis\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fnil Segoe UI;}}"
                 "{\\colortbl ;\\red0\\green0\\blue0;}\\viewkind4\\uc1\\pard\\f0\\fs20 Hello "
                 "\\'e9t\\'e9 \\u9731?\\par second\\{x\\}\\par"
                 "{\\*\\lyncflags<rtf=1>}}",
                 &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rtf, ==, "Hello été ☃\nsecond{x}");

  latin1 = to_text ("text/plain; charset=ISO-8859-1", "caf\xe9", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (latin1, ==, "café");
  invalid = to_text ("text/plain",
                     "a\xff"
                     "b",
                     &error);
  g_assert_no_error (error);
  g_assert_cmpstr (invalid,
                   ==,
                   "a\xef\xbf\xbd"
                   "b");

  alt = to_text ("multipart/alternative; boundary=\"x;y\"",
                 "preamble\r\n--x;y\r\nContent-Type: text/html\r\n\r\n<b>bold</b>\r\n"
                 "--x;y\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\naGkgdGhlcmU=\r\n--x;y--\r\n",
                 &error);
  g_assert_no_error (error);
  g_assert_cmpstr (alt, ==, "hi there");
  alt_html = to_text ("multipart/alternative; boundary=b",
                      "--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: "
                      "quoted-printable\r\n\r\n<i>=C3=BC</i>=\r\n!\r\n--b--\r\n",
                      &error);
  g_assert_no_error (error);
  g_assert_cmpstr (alt_html, ==, "ü!");

  g_assert_true (sfb_im_is_text_type ("text/plain;charset=UTF-8"));
  g_assert_true (sfb_im_is_text_type ("TEXT/HTML"));
  g_assert_false (sfb_im_is_text_type ("application/x-ms-ink"));
  g_assert_false (sfb_im_is_text_type (NULL));
}

static void
test_im_limits (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *deep_rtf = NULL;
  g_autofree char *huge = g_strnfill (SFB_IM_MAX_BODY + 1, 'a');
  g_autofree char *long_text = g_strnfill (SFB_IM_MAX_BODY, 'b');
  g_autofree char *cut = NULL;
  g_autoptr (GString) parts = g_string_new ("");
  g_autoptr (GString) nested = g_string_new ("");
  g_autoptr (GString) rtf = g_string_new ("{\\rtf1 ");
  char *text;

  for (guint i = 0; i < SFB_IM_MAX_RTF_DEPTH + 1; i++)
    g_string_append_c (rtf, '{');
  text = to_text ("text/rtf", rtf->str, &error);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_null (text);
  g_clear_error (&error);

  text = sfb_im_body_to_text ("text/plain", huge, strlen (huge), &error);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_null (text);
  g_clear_error (&error);

  cut = to_text ("text/plain", long_text, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (cut), ==, SFB_IM_MAX_TEXT);

  for (guint i = 0; i < SFB_IM_MAX_PARTS + 1; i++)
    g_string_append (parts, "--b\r\nContent-Type: text/html\r\n\r\nx\r\n");
  g_string_append (parts, "--b--\r\n");
  text = to_text ("multipart/alternative; boundary=b", parts->str, &error);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_null (text);
  g_clear_error (&error);

  /* alternative in alternative in alternative: one level too deep */
  g_string_append (nested,
                   "--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
                   "--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"
                   "--c\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--c--\r\n"
                   "--b--\r\n--a--\r\n");
  text = to_text ("multipart/alternative; boundary=a", nested->str, &error);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_null (text);
  g_clear_error (&error);

  text = to_text ("application/octet-stream", "x", &error);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_null (text);
  g_clear_error (&error);

  deep_rtf = to_text ("text/rtf", "not rtf", &error);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_null (deep_rtf);
}

static void
test_im_typing (void)
{
  g_autofree char *on = sfb_im_typing_build (TRUE);
  g_autofree char *off = sfb_im_typing_build (FALSE);
  const char *composing = "<?xml version=\"1.0\"?><isComposing "
                          "xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"><state>active</state>"
                          "</isComposing>";
  const char *dtd = "<!DOCTYPE x [<!ENTITY a \"b\">]><KeyboardActivity><status status=\"type\"/>"
                    "</KeyboardActivity>";

  g_assert_cmpstr (on,
                   ==,
                   "<?xml version=\"1.0\"?><KeyboardActivity> <status status=\"type\" "
                   "/></KeyboardActivity>");
  g_assert_cmpint (sfb_im_typing_parse ("application/xml", on, strlen (on)), ==, 1);
  g_assert_cmpint (sfb_im_typing_parse (NULL, off, strlen (off)), ==, 0);
  g_assert_cmpint (
      sfb_im_typing_parse ("application/im-iscomposing+xml", composing, strlen (composing)), ==, 1);
  g_assert_cmpint (sfb_im_typing_parse ("application/xml", dtd, strlen (dtd)), ==, -1);
  g_assert_cmpint (sfb_im_typing_parse ("text/plain", on, strlen (on)), ==, -1);
  g_assert_cmpint (sfb_im_typing_parse ("application/xml", "<x", 2), ==, -1);
}

static void
test_im_failure_text (void)
{
  g_autofree char *offline = sfb_im_failure_text (
      "sip:bob@contoso.test",
      480,
      "Temporarily Unavailable",
      "15;reason=\"Destination user not available\u202e\";source=\"pool01.contoso.test\"",
      NULL);
  g_autofree char *busy
      = sfb_im_failure_text ("sip:bob@contoso.test", 486, "Busy Here", NULL, NULL);
  g_autofree char *blocked = sfb_im_failure_text (
      "sip:bob@contoso.test", 606, "Not Acceptable", NULL, "309 pool \"hyperlink\"");

  g_assert_cmpstr (offline,
                   ==,
                   "The message to sip:bob@contoso.test was not delivered: the recipient is "
                   "offline or unavailable (480 Temporarily Unavailable: Destination user not "
                   "available)");
  g_assert_nonnull (strstr (busy, "does not want to be disturbed (486 Busy Here)"));
  g_assert_nonnull (strstr (blocked, "was blocked by policy"));
}

static void
test_im_content_type (void)
{
  g_autofree char *media = sfb_content_type_media (" Text/Plain ; charset=UTF-8");
  g_autofree char *charset = sfb_content_type_param ("text/plain; CHARSET = \"utf-8\"", "charset");
  g_autofree char *missing = sfb_content_type_param ("text/plain", "charset");

  g_assert_cmpstr (media, ==, "text/plain");
  g_assert_cmpstr (charset, ==, "utf-8");
  g_assert_null (missing);
}

/* A media type read from a range: nothing past its end, trimmed, lowered */
static void
test_content_type_media_len (void)
{
  static const char line[] = "Content-Type: \tApplication/RLMI+xml \r\nX: a;b";
  g_autofree char *whole = sfb_content_type_media_len (line + 13, strlen (line) - 13);
  g_autofree char *value = sfb_content_type_media_len (line + 13, 25);
  g_autofree char *cut = sfb_content_type_media_len (line + 13, 9);
  g_autofree char *blank = sfb_content_type_media_len (" \t ", 3);
  g_autofree char *none = sfb_content_type_media (NULL);

  g_assert_cmpstr (whole, ==, "application/rlmi+xml \r\nx: a");
  g_assert_cmpstr (value, ==, "application/rlmi+xml");
  g_assert_cmpstr (cut, ==, "applica");
  g_assert_cmpstr (blank, ==, "");
  g_assert_cmpstr (none, ==, "");
}

/* Parameters of a Content-Type: items split on ';' outside quotes, the
 * first 64 looked at, names in any case, values trimmed and unquoted once */
static void
test_content_type_params (void)
{
  static const struct
  {
    const char *value;
    const char *name;
    const char *expected;
  } cases[] = {
    { "multipart/related; type=\"application/rlmi+xml\"; start=\"<rlmi-1>\"; "
      "boundary=\"sfbsim-b0undary\"",
      "boundary",
      "sfbsim-b0undary" },
    { "multipart/related; type=\"application/rlmi+xml\"; boundary=b",
      "type",
      "application/rlmi+xml" },
    { "a/b; boundary=\"x;y=z\"; q=1", "boundary", "x;y=z" },
    { "a/b; boundary=\"x;y=z\"; q=1", "q", "1" },
    { "a/b; x=\"a\\\"b;c\"; y = v ", "x", "a\\\"b;c" },
    { "a/b; x=\"a\\\"b;c\"; y = v ", "y", "v" },
    { "a/b;boundary", "boundary", NULL },
    { "a/b; boundary=", "boundary", "" },
    { "a/b; boundary=\"", "boundary", "\"" },
    { "a/b; boundary=\"\"", "boundary", "" },
    { "a/b; BOUNDARY = \"q\" ", "boundary", "q" },
    { "a/b; boundaryx=1", "boundary", NULL },
    { "boundary=1; a=2", "boundary", NULL },
    { "a/b; x=\"abc; boundary=1", "boundary", NULL },
    { "a/b; a=1=2", "a", "1=2" },
    { "a/b;;\tb=\t2\t", "b", "2" },
    { "a/b; x=a\\; y=\"\\\\\"; z=3", "z", "3" },
    { "a/b; x=a\\; y=\"\\\\\"; z=3", "x", "a\\" },
    { "a/b; x=\"a\\", "x", "\"a\\" },
    { "a/b; y=1; x=\"a\\", "y", "1" },
    { NULL, "b", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *value = sfb_content_type_param (cases[i].value, cases[i].name);

      g_test_message ("%s: %s", cases[i].value, cases[i].name);
      g_assert_cmpstr (value, ==, cases[i].expected);
    }
  /* item 63 is the last looked at */
  for (guint items = 62; items <= 63; items++)
    {
      GString *many = g_string_new ("a/b");
      g_autofree char *value = NULL;

      for (guint i = 0; i < items; i++)
        g_string_append (many, "; p=1");
      g_string_append (many, "; z=2");
      value = sfb_content_type_param (many->str, "z");
      g_assert_cmpstr (value, ==, items == 62 ? "2" : NULL);
      g_string_free (many, TRUE);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/im-doc/sdp", test_im_sdp);
  g_test_add_func ("/im-doc/content-type-params", test_content_type_params);
  g_test_add_func ("/im-doc/text-format", test_im_text_format);
  g_test_add_func ("/im-doc/bodies", test_im_bodies);
  g_test_add_func ("/im-doc/limits", test_im_limits);
  g_test_add_func ("/im-doc/typing", test_im_typing);
  g_test_add_func ("/im-doc/failure-text", test_im_failure_text);
  g_test_add_func ("/im-doc/content-type", test_im_content_type);
  g_test_add_func ("/im-doc/content-type-media-len", test_content_type_media_len);
  return g_test_run ();
}
