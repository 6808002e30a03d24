/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-sip-message.h"

#include <string.h>

#define REGISTER_HEAD                                                                              \
  "REGISTER sip:contoso.com SIP/2.0\r\n"                                                           \
  "Via: SIP/2.0/TLS 10.1.2.3:51234;branch=z9hG4bK1\r\n"                                            \
  "From: <sip:alice@contoso.com>;tag=8a7b6c5d;epid=01ab23cd45\r\n"                                 \
  "To: <sip:alice@contoso.com>\r\n"                                                                \
  "Max-Forwards: 70\r\n"                                                                           \
  "CSeq: 1 REGISTER\r\n"                                                                           \
  "Call-ID: 7f3c9a\r\n"

static SfbSipMessage *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  SfbSipMessage *msg = sfb_sip_message_parse (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_nonnull (msg);
  return msg;
}

static void
assert_bytes_equal (GBytes *bytes, const char *expected)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  g_assert_cmpmem (data, len, expected, strlen (expected));
}

static void
test_build_request (void)
{
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_new_request ("MESSAGE", "sip:bob@contoso.com");
  g_autoptr (GBytes) body = g_bytes_new_static ("hello", 5);
  g_autoptr (GBytes) out = NULL;

  sfb_sip_message_append_header (msg, "Via", "SIP/2.0/TLS 10.1.2.3:5061;branch=z9hG4bKa");
  sfb_sip_message_append_header (msg, "CSeq", "2 MESSAGE");
  sfb_sip_message_set_body (msg, "text/plain", body);
  g_assert_true (sfb_sip_message_is_request (msg));
  g_assert_cmpstr (sfb_sip_message_get_method (msg), ==, "MESSAGE");
  g_assert_cmpstr (sfb_sip_message_get_request_uri (msg), ==, "sip:bob@contoso.com");
  g_assert_cmpuint (sfb_sip_message_get_status_code (msg), ==, 0);
  g_assert_null (sfb_sip_message_get_reason (msg));
  out = sfb_sip_message_to_bytes (msg);
  assert_bytes_equal (out,
                      "MESSAGE sip:bob@contoso.com SIP/2.0\r\n"
                      "Via: SIP/2.0/TLS 10.1.2.3:5061;branch=z9hG4bKa\r\n"
                      "CSeq: 2 MESSAGE\r\n"
                      "Content-Type: text/plain\r\n"
                      "Content-Length: 5\r\n"
                      "\r\n"
                      "hello");
}

static void
test_build_response (void)
{
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_new_response (200, "OK");
  g_autofree char *text = NULL;

  sfb_sip_message_append_header (msg, "l", "99");
  g_assert_false (sfb_sip_message_is_request (msg));
  g_assert_null (sfb_sip_message_get_method (msg));
  g_assert_cmpuint (sfb_sip_message_get_status_code (msg), ==, 200);
  g_assert_cmpstr (sfb_sip_message_get_reason (msg), ==, "OK");
  /* a wrong Content-Length is rewritten, keeping the spelling */
  text = sfb_sip_message_to_string (msg);
  g_assert_cmpstr (text, ==, "SIP/2.0 200 OK\r\nl: 0\r\n\r\n");
}

static void
test_compact_names (void)
{
  g_autoptr (SfbSipMessage) msg = NULL;
  static const char *const pairs[][2] = {
    { "i", "Call-ID" },
    { "m", "Contact" },
    { "e", "Content-Encoding" },
    { "l", "Content-Length" },
    { "c", "Content-Type" },
    { "f", "From" },
    { "s", "Subject" },
    { "k", "Supported" },
    { "t", "To" },
    { "v", "Via" },
    { "o", "Event" },
    { "u", "Allow-Events" },
    { "r", "Refer-To" },
    { "b", "Referred-By" },
    { "x", "Session-Expires" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autofree char *upper = g_ascii_strup (pairs[i][0], -1);

      g_assert_cmpstr (sfb_sip_header_canonical_name (pairs[i][0]), ==, pairs[i][1]);
      g_assert_true (sfb_sip_header_name_equal (upper, pairs[i][1]));
      g_assert_true (sfb_sip_header_name_equal (pairs[i][1], pairs[i][0]));
    }
  g_assert_cmpstr (sfb_sip_header_canonical_name ("q"), ==, "q");
  g_assert_false (sfb_sip_header_name_equal ("Contact", "C%6Fntact"));

  msg = parse_ok ("OPTIONS sip:a@b SIP/2.0\r\n"
                  "v: SIP/2.0/TCP h;branch=z9hG4bK2\r\n"
                  "f: <sip:x@y>;tag=1\r\n"
                  "T: sip:a@b\r\n"
                  "i: abc\r\n"
                  "k: gruu-10\r\n"
                  "Supported: ms-forking\r\n"
                  "o: registration\r\n"
                  "u: presence\r\n"
                  "L: 0\r\n"
                  "\r\n");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Call-ID"), ==, "abc");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "CALL-id"), ==, "abc");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "I"), ==, "abc");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "to"), ==, "sip:a@b");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Event"), ==, "registration");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Allow-Events"), ==, "presence");
  g_assert_cmpuint (sfb_sip_message_count_headers (msg, "Supported"), ==, 2);
  /* the original spelling is kept */
  g_assert_cmpstr (sfb_sip_message_get_header_name (msg, 2), ==, "T");
  g_assert_cmpstr (sfb_sip_message_get_header_name (msg, 8), ==, "L");
}

static void
test_order_and_duplicates (void)
{
  g_autoptr (SfbSipMessage) msg = NULL;
  int i;

  msg = parse_ok ("SIP/2.0 401 Unauthorized\r\n"
                  "WWW-Authenticate: NTLM realm=\"SIP Communications Service\"\r\n"
                  "Via: SIP/2.0/TLS h;branch=z9hG4bK3\r\n"
                  "www-authenticate: Kerberos realm=\"SIP Communications Service\"\r\n"
                  "WWW-Authenticate: TLS-DSK realm=\"SIP Communications Service\"\r\n"
                  "Content-Length: 0\r\n"
                  "\r\n");
  g_assert_cmpuint (sfb_sip_message_get_n_headers (msg), ==, 5);
  g_assert_cmpuint (sfb_sip_message_count_headers (msg, "WWW-Authenticate"), ==, 3);
  i = sfb_sip_message_find_header (msg, "WWW-Authenticate", 0);
  g_assert_cmpint (i, ==, 0);
  i = sfb_sip_message_find_header (msg, "WWW-Authenticate", (guint) i + 1);
  g_assert_cmpint (i, ==, 2);
  g_assert_cmpstr (sfb_sip_message_get_header_name (msg, 2), ==, "www-authenticate");
  g_assert_cmpstr (sfb_sip_message_get_header_value (msg, 2, NULL),
                   ==,
                   "Kerberos realm=\"SIP Communications Service\"");
  i = sfb_sip_message_find_header (msg, "WWW-Authenticate", (guint) i + 1);
  g_assert_cmpint (i, ==, 3);
  g_assert_cmpint (sfb_sip_message_find_header (msg, "WWW-Authenticate", (guint) i + 1), ==, -1);
  g_assert_null (sfb_sip_message_get_header (msg, "Expires"));
}

static void
test_split_list (void)
{
  static const struct
  {
    const char *value;
    const char *joined;
  } cases[] = {
    { "gruu-10, adhoclist,msrtc-event-categories ,  com.microsoft.msrtc.presence",
      "gruu-10|adhoclist|msrtc-event-categories|com.microsoft.msrtc.presence" },
    { "presence,registration", "presence|registration" },
    { "\"a, b\" <sip:x@y;p=1,2>;q=1, <sip:z@w>", "\"a, b\" <sip:x@y;p=1,2>;q=1|<sip:z@w>" },
    { "\"esc \\\" , quote\" <sip:a@b>, c", "\"esc \\\" , quote\" <sip:a@b>|c" },
    { ";;,,;;,;", ";;|;;|;" },
    { "", "" },
    { " , ,", "" },
    { "single", "single" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (GStrv) parts = sfb_sip_split_list (cases[i].value, -1);
      g_autofree char *joined = g_strjoinv ("|", parts);

      g_assert_cmpstr (joined, ==, cases[i].joined);
    }
}

static void
test_list_values (void)
{
  g_autoptr (SfbSipMessage) msg = NULL;
  g_auto (GStrv) supported = NULL;
  g_auto (GStrv) events = NULL;
  g_auto (GStrv) none = NULL;

  /* both forms of docs/protocol.md §17 items 4 and 5 */
  msg = parse_ok ("SIP/2.0 200 OK\r\n"
                  "Supported: gruu-10, adhoclist\r\n"
                  "k: msrtc-event-categories\r\n"
                  "Supported: ms-forking\r\n"
                  "Allow-Events: presence , registration,\r\n"
                  " vnd-microsoft-roaming-contacts\r\n"
                  "\r\n");
  supported = sfb_sip_message_get_header_values (msg, "Supported");
  g_assert_cmpuint (g_strv_length (supported), ==, 4);
  g_assert_cmpstr (supported[2], ==, "msrtc-event-categories");
  g_assert_cmpstr (supported[3], ==, "ms-forking");
  events = sfb_sip_message_get_header_values (msg, "u");
  g_assert_cmpuint (g_strv_length (events), ==, 3);
  g_assert_cmpstr (events[1], ==, "registration");
  g_assert_cmpstr (events[2], ==, "vnd-microsoft-roaming-contacts");
  none = sfb_sip_message_get_header_values (msg, "Require");
  g_assert_nonnull (none);
  g_assert_cmpuint (g_strv_length (none), ==, 0);
}

static void
test_folding (void)
{
  static const char text[] = "OPTIONS sip:a@b SIP/2.0\r\n"
                             "Subject: first line \r\n"
                             "\t second line\r\n"
                             "   third\r\n"
                             "Empty:\r\n"
                             "Spaced   :   value  \r\n"
                             "Content-Length: 0\r\n"
                             "\r\n";
  g_autoptr (SfbSipMessage) msg = parse_ok (text);
  g_autoptr (GBytes) out = sfb_sip_message_to_bytes (msg);

  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Subject"), ==, "first line second line third");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Empty"), ==, "");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Spaced"), ==, "value");
  g_assert_cmpstr (sfb_sip_message_get_header_name (msg, 2), ==, "Spaced");
  /* received bytes come back unchanged */
  assert_bytes_equal (out, text);
}

/* A header's value is the parts of its lines, each without SP and HTAB at
 * either end, the non-empty ones joined by one SP (what a fold reads as).
 * One-line headers are read in place, folded ones built up: both against
 * that definition, for every pair and triple of the parts below. */
static void
expect_value (const char *const *parts, guint n)
{
  g_autoptr (GString) text = g_string_new ("OPTIONS sip:a@b SIP/2.0\r\nX-V:");
  g_autoptr (GString) want = g_string_new (NULL);
  g_autoptr (SfbSipMessage) msg = NULL;
  g_autoptr (GError) error = NULL;
  const char *value;
  int i;
  gsize len = 0;

  for (guint k = 0; k < n; k++)
    {
      const char *p = parts[k];
      gsize l = strlen (p);

      g_string_append_printf (text, "%s%s\r\n", k > 0 ? " " : "", p);
      while (l > 0 && (p[0] == ' ' || p[0] == '\t'))
        p++, l--;
      while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
        l--;
      if (l == 0)
        continue;
      if (want->len > 0)
        g_string_append_c (want, ' ');
      g_string_append_len (want, p, (gssize) l);
    }
  g_string_append (text, "Content-Length: 0\r\n\r\n");
  msg = sfb_sip_message_parse (text->str, text->len, &error);
  g_assert_no_error (error);
  i = sfb_sip_message_find_header (msg, "X-V", 0);
  g_assert_cmpint (i, ==, 0);
  value = sfb_sip_message_get_header_value (msg, (guint) i, &len);
  g_assert_cmpmem (value, len, want->str, want->len);
  g_assert_cmpint (value[len], ==, '\0');
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Content-Length"), ==, "0");
}

static void
test_folding_in_place (void)
{
  static const char *const parts[] = {
    "", " ", "a", " a", "a ", "\ta\t", "  a  b  ", "x;y=\"q r\"", "\t \t",
  };

  for (guint a = 0; a < G_N_ELEMENTS (parts); a++)
    {
      const char *one[] = { parts[a] };

      expect_value (one, 1);
      for (guint b = 0; b < G_N_ELEMENTS (parts); b++)
        {
          const char *two[] = { parts[a], parts[b] };

          if (parts[b][0] == '\0')
            continue; /* an empty line ends the head */
          expect_value (two, 2);
          for (guint c = 0; c < G_N_ELEMENTS (parts); c++)
            {
              const char *three[] = { parts[a], parts[b], parts[c] };

              if (parts[c][0] != '\0')
                expect_value (three, 3);
            }
        }
    }
}

static void
test_round_trip (void)
{
#define CASE(s)                                                                                    \
  {                                                                                                \
    s, sizeof (s) - 1                                                                              \
  }
  static const struct
  {
    const char *text;
    gsize len;
  } texts[] = {
    CASE (REGISTER_HEAD "Content-Length: 0\r\n\r\n"),
    CASE ("SIP/2.0 100 \r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n"),
    CASE ("sip/2.0 180 Ringing\r\nl: 4\r\n\r\nabcd"),
    CASE ("NOTIFY sip:a@b SIP/2.0\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n"
          "\0\r\n\xff\x01z"),
  };
#undef CASE

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      gsize len = texts[i].len;
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (texts[i].text, len, &error);
      g_autoptr (GBytes) out = NULL;
      g_autoptr (SfbSipMessage) again = NULL;
      g_autoptr (GBytes) out2 = NULL;

      g_assert_no_error (error);
      out = sfb_sip_message_to_bytes (msg);
      g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), texts[i].text, len);
      again = sfb_sip_message_parse (g_bytes_get_data (out, NULL), g_bytes_get_size (out), &error);
      g_assert_no_error (error);
      out2 = sfb_sip_message_to_bytes (again);
      g_assert_true (g_bytes_equal (out, out2));
    }
}

static void
test_missing_content_length (void)
{
  g_autoptr (SfbSipMessage) msg = parse_ok ("BYE sip:a@b SIP/2.0\nCall-ID: 1\n\n");
  g_autofree char *text = sfb_sip_message_to_string (msg);

  /* bare LF line ends are read; CRLF is written, with a Content-Length */
  g_assert_cmpstr (text, ==, "BYE sip:a@b SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 0\r\n\r\n");
}

/* names of one length differing in one letter, or in case only */
static void
test_name_case (void)
{
  g_autoptr (SfbSipMessage) msg = parse_ok ("BYE sip:a@b SIP/2.0\r\n"
                                            "CALL-ie: other\r\n"
                                            "cALL-id: 1\r\n"
                                            "tO: <sip:a@b>\r\n"
                                            "Content-Length: 0\r\n\r\n");

  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Call-ID"), ==, "1");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "call-IE"), ==, "other");
  g_assert_cmpuint (sfb_sip_message_count_headers (msg, "CALL-ID"), ==, 1);
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "t"), ==, "<sip:a@b>");
  g_assert_null (sfb_sip_message_get_header (msg, "Call-I"));
  g_assert_null (sfb_sip_message_get_header (msg, "Call-IDs"));
  g_assert_null (sfb_sip_message_get_header (msg, "Call-JD"));
}

static void
test_set_and_remove (void)
{
  g_autoptr (SfbSipMessage) msg = parse_ok (REGISTER_HEAD "Contact: <sip:a@1>\r\n"
                                                          "m: <sip:a@2>\r\n"
                                                          "Content-Length: 0\r\n\r\n");
  g_autoptr (GBytes) body = g_bytes_new_static ("<x/>", 4);
  g_autofree char *text = NULL;

  sfb_sip_message_set_header (msg, "CONTACT", "<sip:a@3>");
  g_assert_cmpuint (sfb_sip_message_count_headers (msg, "Contact"), ==, 1);
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "m"), ==, "<sip:a@3>");
  g_assert_cmpuint (sfb_sip_message_remove_header (msg, "via"), ==, 1);
  g_assert_cmpuint (sfb_sip_message_remove_header (msg, "Via"), ==, 0);
  sfb_sip_message_prepend_header (msg, "Via", "SIP/2.0/TLS 1.2.3.4;branch=z9hG4bKnew");
  sfb_sip_message_set_header (msg, "Expires", "0");
  sfb_sip_message_set_body (msg, "application/xml", body);
  text = sfb_sip_message_to_string (msg);
  g_assert_cmpstr (text,
                   ==,
                   "REGISTER sip:contoso.com SIP/2.0\r\n"
                   "Via: SIP/2.0/TLS 1.2.3.4;branch=z9hG4bKnew\r\n"
                   "From: <sip:alice@contoso.com>;tag=8a7b6c5d;epid=01ab23cd45\r\n"
                   "To: <sip:alice@contoso.com>\r\n"
                   "Max-Forwards: 70\r\n"
                   "CSeq: 1 REGISTER\r\n"
                   "Call-ID: 7f3c9a\r\n"
                   "CONTACT: <sip:a@3>\r\n"
                   "Content-Length: 4\r\n"
                   "Expires: 0\r\n"
                   "Content-Type: application/xml\r\n"
                   "\r\n"
                   "<x/>");
}

static void
test_header_injection_guard (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (SfbSipMessage) msg = sfb_sip_message_new_request ("OPTIONS", "sip:a@b");

      sfb_sip_message_append_header (msg, "Subject", "x\r\nAuthorization: evil");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*");
}

static const char *const secrets[] = {
  "TlRMTVNTUAADAAAAGAAYAHIAAAAYABgAigAAABQAFABAAAAAD",
  "0100000029618e9651b65a7764000000",
  "010000006f006900a5960bc32d0f5e40",
  "YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEFoQMCAQ6iBwMF",
  "TlRMTVNTUAACAAAAAAAAADgAAADzgpji4mBkWg",
  "MsRtcOAuthTicketSecret",
  "cookieSECRETvalue",
  "hidden\"quote",
  "unquotedSecret42",
  "afterNULsecret",
  "foldedSecretPart",
  "malformedSecret",
  "Base64Token68Secret==",
};

static void
test_redaction (void)
{
  static const char text[]
      = "REGISTER sip:contoso.com SIP/2.0\r\n"
        "Via: SIP/2.0/TLS 10.1.2.3:51234;branch=z9hG4bK1\r\n"
        "Call-ID: visible-call-id\r\n"
        "Authorization: NTLM qop=\"auth\", opaque=\"2BDBAC9D\", realm=\"SIP Communications "
        "Service\", "
        "targetname=\"fe.contoso.com\", "
        "gssapi-data=\"TlRMTVNTUAADAAAAGAAYAHIAAAAYABgAigAAABQAFABAAAAAD\", version=4, "
        "crand=\"13317733\", cnum=\"1\", response=\"0100000029618e9651b65a7764000000\"\r\n"
        "PROXY-AUTHORIZATION: Kerberos\r\n"
        " gssapi-data=\"YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEFoQMCAQ6iBwMF\"\r\n"
        "WWW-Authenticate: NTLM opaque=\"1\", "
        "gssapi-data=\"TlRMTVNTUAACAAAAAAAAADgAAADzgpji4mBkWg\", "
        "targetname=\"visible.target\"\r\n"
        "Authentication-Info: NTLM qop=\"auth\", rspauth=\"010000006f006900a5960bc32d0f5e40\", "
        "srand=\"AE4D44F8\"\r\n"
        "Proxy-Authentication-Info: NTLM RESPONSE = unquotedSecret42\r\n"
        "Proxy-Authenticate: Negotiate Base64Token68Secret==\r\n"
        "X-MS-WebTicket: MsRtcOAuthTicketSecret\r\n"
        "Cookie: session=cookieSECRETvalue\r\n"
        "X-Escaped: Foo gssapi-data=\"hidden\\\"quote\"\r\n"
        "X-Nul: Foo gssapi-data=\"a\\\0\", response=\"afterNULsecret\"\r\n"
        "X-Folded: Foo a=b,\r\n rspauth=\r\n foldedSecretPart\r\n"
        "X-Broken: gssapi-data=\"malformedSecret\r\n"
        "ms-diagnostics: 1000;reason=\"Final response\"\r\n"
        "Content-Length: 0\r\n"
        "\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, sizeof text - 1, &error);
  g_autofree char *redacted = NULL;

  g_assert_no_error (error);
  redacted = sfb_sip_message_to_string_redacted (msg);
  g_test_message ("%s", redacted);
  for (gsize i = 0; i < G_N_ELEMENTS (secrets); i++)
    g_assert_null (strstr (redacted, secrets[i]));
  g_assert_nonnull (strstr (redacted, "Authorization: NTLM <redacted>\r\n"));
  g_assert_nonnull (strstr (redacted, "PROXY-AUTHORIZATION: Kerberos <redacted>\r\n"));
  g_assert_nonnull (strstr (redacted, "visible-call-id"));
  g_assert_nonnull (strstr (redacted, "targetname=\"visible.target\""));
  g_assert_nonnull (strstr (redacted, "srand=\"AE4D44F8\""));
  g_assert_nonnull (strstr (redacted, "ms-diagnostics: 1000;reason=\"Final response\"\r\n"));
  g_assert_null (memchr (redacted, '\0', strlen (redacted)));
}

static void
test_redaction_controls_and_body (void)
{
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_new_request ("MESSAGE", "sip:a@b");
  g_autoptr (GBytes) binary = g_bytes_new_static ("\x01\x02\xff", 3);
  g_autoptr (GBytes) text = g_bytes_new_static ("hi\x1b[31m", 7);
  g_autofree char *out1 = NULL;
  g_autofree char *out2 = NULL;

  sfb_sip_message_set_body (msg, "application/octet-stream", binary);
  out1 = sfb_sip_message_to_string_redacted (msg);
  g_assert_true (g_str_has_suffix (out1, "\r\n\r\n[3 bytes of binary body]"));
  sfb_sip_message_set_body (msg, "text/plain", text);
  out2 = sfb_sip_message_to_string_redacted (msg);
  g_assert_true (g_str_has_suffix (out2, "\r\n\r\nhi?[31m"));
}

static void
test_cseq (void)
{
  g_autoptr (SfbSipMessage) msg
      = parse_ok ("INVITE sip:a@b SIP/2.0\r\ncseq: 0009\r\n  INVITE\r\n\r\n");
  g_autoptr (SfbSipMessage) big
      = parse_ok ("INVITE sip:a@b SIP/2.0\r\nCSeq: 2147483648 INVITE\r\n\r\n");
  g_autoptr (GError) error = NULL;
  g_autofree char *method = NULL;
  guint32 number = 0;

  g_assert_true (sfb_sip_message_get_cseq (msg, &number, &method, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (number, ==, 9);
  g_assert_cmpstr (method, ==, "INVITE");
  g_assert_false (sfb_sip_message_get_cseq (big, NULL, NULL, &error));
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_INVALID);
}

static void
test_validate (void)
{
  static const struct
  {
    const char *text;
    gboolean valid;
  } cases[] = {
    { REGISTER_HEAD "\r\n", TRUE },
    { "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:a@b>;tag=2\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\n\r\n",
      TRUE },
    { "REGISTER sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@b>\r\n"
      "To: <sip:a@b>\r\nCSeq: 1 REGISTER\r\n\r\n",
      FALSE },
    { REGISTER_HEAD "Call-ID: second\r\n\r\n", FALSE },
    { REGISTER_HEAD "From: <sip:b@c>\r\n\r\n", FALSE },
    { "OPTIONS sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@b>\r\n"
      "To: <sip:a@b>\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\n\r\n",
      FALSE },
    { "REGISTER sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@b>\r\n"
      "To: \"open <sip:a@b>\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\n\r\n",
      FALSE },
    { "REGISTER sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/TLS h;;\r\nFrom: <sip:a@b>\r\n"
      "To: <sip:a@b>\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\n\r\n",
      FALSE },
    { "REGISTER sip:contoso.com SIP/2.0\r\nFrom: <sip:a@b>\r\n"
      "To: <sip:a@b>\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\n\r\n",
      FALSE },
    { REGISTER_HEAD "Max-Forwards: 5\r\n\r\n", FALSE },
    { "REGISTER sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@b>\r\n"
      "To: <sip:a@b>\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\nMax-Forwards: 256\r\n\r\n",
      FALSE },
    { "REGISTER sip:contoso.com?x=y SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@b>\r\n"
      "To: <sip:a@b>\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\n\r\n",
      FALSE },
    { "REGISTER urn:x:y SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@b>\r\n"
      "To: <sip:a@b>\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\n\r\n",
      TRUE },
    { "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@b>\r\n"
      "To: <sip:a@b>\r\nCSeq: x REGISTER\r\nCall-ID: x\r\n\r\n",
      FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipMessage) msg = parse_ok (cases[i].text);
      gboolean valid = sfb_sip_message_validate (msg, &error);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, error != NULL ? error->message : "valid");
      g_assert_cmpint (valid, ==, cases[i].valid);
      g_assert_true (valid == (error == NULL));
    }
}

static void
test_datagram (void)
{
  static const char extra[]
      = "\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nabTRAILING";
  static const char nolength[] = "OPTIONS sip:a@b SIP/2.0\r\nContent-Type: text/plain\r\n\r\nrest";
  static const char shortbody[] = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 20\r\n\r\nrest";
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) a = sfb_sip_message_parse (extra, sizeof extra - 1, &error);
  g_autoptr (SfbSipMessage) b = sfb_sip_message_parse (nolength, sizeof nolength - 1, &error);
  g_autoptr (SfbSipMessage) c = NULL;

  g_assert_no_error (error);
  assert_bytes_equal (sfb_sip_message_get_body (a), "ab");
  assert_bytes_equal (sfb_sip_message_get_body (b), "rest");
  c = sfb_sip_message_parse (shortbody, sizeof shortbody - 1, &error);
  g_assert_null (c);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED);
}

static void
test_bad_start_lines (void)
{
  static const struct
  {
    const char *line;
    int code;
  } cases[] = {
    { "SIP/2.0 4294967301 better not break the receiver", SFB_SIP_ERROR_MALFORMED },
    { "SIP/2.0 99 Too small", SFB_SIP_ERROR_MALFORMED },
    { "SIP/2.0 700 Too big", SFB_SIP_ERROR_MALFORMED },
    { "SIP/2.0 2x0 OK", SFB_SIP_ERROR_MALFORMED },
    { "SIP/2.0", SFB_SIP_ERROR_MALFORMED },
    { "SIP/3.0 200 OK", SFB_SIP_ERROR_UNSUPPORTED_VERSION },
    { "SIP/2.00 200 OK", SFB_SIP_ERROR_UNSUPPORTED_VERSION },
    { "SIP/x 200 OK", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS sip:a@b SIP/7.0", SFB_SIP_ERROR_UNSUPPORTED_VERSION },
    { "OPTIONS sip:a@b HTTP/1.1", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS sip:a@b SIP/2.0 ", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS  sip:a@b SIP/2.0", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS sip:a@b; lr SIP/2.0", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS <sip:a@b> SIP/2.0", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS sip:a@b", SFB_SIP_ERROR_MALFORMED },
    { "OPT@ONS sip:a@b SIP/2.0", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS nocolon SIP/2.0", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS sip:a\x01 SIP/2.0", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS sip:a\rb SIP/2.0", SFB_SIP_ERROR_MALFORMED },
    { " OPTIONS sip:a@b SIP/2.0", SFB_SIP_ERROR_MALFORMED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("%s\r\nContent-Length: 0\r\n\r\n", cases[i].line);
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, strlen (text), &error);

      g_test_message ("%s -> %s", cases[i].line, error != NULL ? error->message : "parsed");
      g_assert_null (msg);
      g_assert_error (error, SFB_SIP_ERROR, cases[i].code);
    }
}

static void
test_bad_headers (void)
{
  static const char *const cases[] = {
    "OPTIONS sip:a@b SIP/2.0\r\nNo colon here\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\n continuation: first\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\n: empty name\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nX\x01: a\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1 2\r\n\r\nab",
    "OPTIONS sip:a@b SIP/2.0\r\nContent-Length:\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\nl: 0\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n",
    "\r\n\r\n",
    "",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (cases[i], strlen (cases[i]), &error);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, error != NULL ? error->message : "parsed");
      g_assert_null (msg);
      g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED);
    }
}

static void
test_nul_in_value (void)
{
  static const char text[] = "OPTIONS sip:a@b SIP/2.0\r\nTo: \"a\\\0b\" <sip:a@b>\r\n\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, sizeof text - 1, &error);
  gsize len;
  const char *value;

  g_assert_no_error (error);
  value = sfb_sip_message_get_header_value (msg, 0, &len);
  g_assert_cmpmem (value, len, "\"a\\\0b\" <sip:a@b>", 16);
}

/* A parsed head lives in one block: a copy of it, then each header's name
 * and unfolded value as strings, which must fit in the head's length (and
 * one byte).  The heads below fill that room most: the shortest headers
 * ("a:" and LF, where name, NUL, value and NUL take all three bytes of the
 * line), as many as the limit allows, lines at the line limit, folds of
 * blanks; each must read back what was sent. */
static void
test_head_block_limits (void)
{
  g_autoptr (GString) text = g_string_new ("A s:x SIP/2.0\n");
  g_autoptr (GString) big = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) msg = NULL;
  g_autoptr (SfbSipMessage) too_many = NULL;
  g_autoptr (SfbSipMessage) folded = NULL;
  g_autoptr (SfbSipMessage) too_long = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autofree char *long_value = NULL;
  g_autofree char *want = NULL;

  /* the most headers, each as short as a header can be */
  for (guint i = 0; i < SFB_SIP_MAX_HEADERS; i++)
    g_string_append (text, "a:\n");
  g_string_append (text, "\n");
  msg = sfb_sip_message_parse (text->str, text->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sfb_sip_message_get_n_headers (msg), ==, SFB_SIP_MAX_HEADERS);
  for (guint i = 0; i < SFB_SIP_MAX_HEADERS; i++)
    {
      gsize len = 1;

      g_assert_cmpstr (sfb_sip_message_get_header_name (msg, i), ==, "a");
      g_assert_cmpstr (sfb_sip_message_get_header_value (msg, i, &len), ==, "");
      g_assert_cmpuint (len, ==, 0);
    }
  g_assert_cmpstr (sfb_sip_message_get_method (msg), ==, "A");
  g_assert_cmpstr (sfb_sip_message_get_request_uri (msg), ==, "s:x");
  g_assert_cmpstr (sfb_sip_message_get_start_line (msg), ==, "A s:x SIP/2.0");

  /* one more is refused, as before */
  g_string_truncate (text, text->len - 1);
  g_string_append (text, "a:\n\n");
  too_many = sfb_sip_message_parse (text->str, text->len, &error);
  g_assert_null (too_many);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
  g_assert_cmpstr (error->message, ==, "header count exceeds the limit of 256");
  g_clear_error (&error);

  /* lines at the line limit, folded with blank lines and short ones */
  long_value = g_strnfill (SFB_SIP_MAX_LINE - 3, 'v');
  big = g_string_new ("SIP/2.0 200\r\n");
  g_string_append_printf (big, "X: %s\r\n", long_value);
  g_string_append_printf (
      big, "Y:\r\n \r\n\t%s\r\n \t \r\n w\r\n", long_value + SFB_SIP_MAX_LINE / 2);
  g_string_append (big, "Z:\r\n \r\n\t\r\nl: 0\r\n\r\n");
  folded = sfb_sip_message_parse (big->str, big->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sfb_sip_message_get_n_headers (folded), ==, 4);
  g_assert_cmpstr (sfb_sip_message_get_start_line (folded), ==, "SIP/2.0 200");
  g_assert_cmpstr (sfb_sip_message_get_header (folded, "X"), ==, long_value);
  want = g_strconcat (long_value + SFB_SIP_MAX_LINE / 2, " w", NULL);
  g_assert_cmpstr (sfb_sip_message_get_header (folded, "Y"), ==, want);
  g_assert_cmpstr (sfb_sip_message_get_header (folded, "Z"), ==, "");
  g_assert_cmpstr (sfb_sip_message_get_header (folded, "Content-Length"), ==, "0");
  /* received headers are sent back as received */
  out = sfb_sip_message_to_bytes (folded);
  assert_bytes_equal (out, big->str);

  /* one byte more on a line is refused, as before */
  g_string_insert_c (big, strlen ("SIP/2.0 200\r\nX: "), 'v');
  too_long = sfb_sip_message_parse (big->str, big->len, &error);
  g_assert_null (too_long);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
  g_assert_cmpstr (error->message, ==, "header line length exceeds the limit of 32768");
}

/* the start line is a string in the block: a reason is its tail */
static void
test_head_block_start_lines (void)
{
  static const struct
  {
    const char *text;
    guint code;
    const char *reason;
  } cases[] = {
    { "SIP/2.0 486 Busy Here\r\n\r\n", 486, "Busy Here" },
    { "SIP/2.0 200 \r\n\r\n", 200, "" },
    { "SIP/2.0 200\r\n\r\n", 200, "" },
    { "SIP/2.0 200\n\n", 200, "" },
    { "SIP/2.0 180 a\r\nX: y\r\n\r\n", 180, "a" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SfbSipMessage) msg = parse_ok (cases[i].text);
      g_autofree char *line = g_strndup (cases[i].text, strcspn (cases[i].text, "\r\n"));

      g_assert_cmpuint (sfb_sip_message_get_status_code (msg), ==, cases[i].code);
      g_assert_cmpstr (sfb_sip_message_get_reason (msg), ==, cases[i].reason);
      g_assert_cmpstr (sfb_sip_message_get_start_line (msg), ==, line);
      g_assert_null (sfb_sip_message_get_method (msg));
    }
}

/* A message without a body has an empty one, never NULL, and every such
 * message shares one: none allocates a body of its own only to have it
 * replaced.  The shared one outlives the messages that held it. */
static void
test_empty_body_shared (void)
{
  static const char bodyless[] = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
  g_autoptr (GError) error = NULL;
  SfbSipMessage *first = sfb_sip_message_new_request ("OPTIONS", "sip:a@b");
  GBytes *empty = sfb_sip_message_get_body (first);
  g_autoptr (SfbSipMessage) built = NULL;
  g_autoptr (SfbSipMessage) parsed = NULL;
  g_autoptr (SfbSipMessage) cleared = sfb_sip_message_new_response (200, "OK");
  g_autoptr (GBytes) hello = g_bytes_new_static ("hello", 5);

  g_assert_nonnull (empty);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);
  g_object_unref (first);
  built = sfb_sip_message_new_response (180, "Ringing");
  parsed = sfb_sip_message_parse (bodyless, sizeof bodyless - 1, &error);
  g_assert_no_error (error);
  g_assert_true (sfb_sip_message_get_body (built) == empty);
  g_assert_cmpuint (g_bytes_get_size (sfb_sip_message_get_body (parsed)), ==, 0);
  sfb_sip_message_set_body (cleared, NULL, hello);
  assert_bytes_equal (sfb_sip_message_get_body (cleared), "hello");
  sfb_sip_message_set_body (cleared, NULL, NULL);
  g_assert_true (sfb_sip_message_get_body (cleared) == empty);
}

/* sfb_sip_message_find_header() (an index by bucket of names) against a
 * plain walk comparing every header's name, at every start, for names in
 * full and compact form and in any case, on a parsed message changed by
 * appends, prepends, sets and removals (a fixed seed) */
static int
find_header_plainly (SfbSipMessage *msg, const char *name, guint start)
{
  for (guint i = start; i < sfb_sip_message_get_n_headers (msg); i++)
    {
      if (sfb_sip_header_name_equal (sfb_sip_message_get_header_name (msg, i), name))
        return (int) i;
    }
  return -1;
}

static void
assert_find_header_plain (SfbSipMessage *msg, const char *const *names, gsize n_names)
{
  for (gsize k = 0; k < n_names; k++)
    for (guint start = 0; start <= sfb_sip_message_get_n_headers (msg) + 1; start++)
      g_assert_cmpint (sfb_sip_message_find_header (msg, names[k], start),
                       ==,
                       find_header_plainly (msg, names[k], start));
}

static void
test_find_header_index (void)
{
  static const char *const names[] = {
    "Via",
    "v",
    "From",
    "f",
    "TO",
    "t",
    "Call-ID",
    "i",
    "CSeq",
    "Contact",
    "m",
    "Content-Length",
    "l",
    "Content-Type",
    "c",
    "Event",
    "o",
    "Subscription-State",
    "Authentication-Info",
    "Proxy-Authentication-Info",
    "Expires",
    "Max-Forwards",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Supported",
    "k",
    "X-A",
    "X-B",
    "X-Absent",
    "ms-diagnostics",
    "Record-Route",
    "Require",
  };
  static const char text[] = "NOTIFY sip:a@b SIP/2.0\r\n"
                             "v: SIP/2.0/TLS h\r\n"
                             "From: <sip:a@b>;tag=1\r\n"
                             "t: <sip:c@d>\r\n"
                             "Call-ID: x\r\n"
                             "CSeq: 1 NOTIFY\r\n"
                             "Via: SIP/2.0/TLS h2\r\n"
                             "Event: presence\r\n"
                             "X-A: 1\r\n"
                             "x-a: 2\r\n"
                             "Content-Length: 0\r\n\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, sizeof text - 1, &error);
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);

  g_assert_no_error (error);
  assert_find_header_plain (msg, names, G_N_ELEMENTS (names));
  for (guint step = 0; step < 300; step++)
    {
      const char *name = names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))];

      switch (g_rand_int_range (rand, 0, 5))
        {
        case 0:
          sfb_sip_message_append_header (msg, name, "a");
          break;
        case 1:
          sfb_sip_message_prepend_header (msg, name, "p");
          break;
        case 2:
          sfb_sip_message_set_header (msg, name, "s");
          break;
        case 3:
          (void) sfb_sip_message_remove_header (msg, name);
          break;
        default:
          (void) sfb_sip_message_get_header (msg, name);
          break;
        }
      assert_find_header_plain (msg, names, G_N_ELEMENTS (names));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sip/message/build-request", test_build_request);
  g_test_add_func ("/sip/message/build-response", test_build_response);
  g_test_add_func ("/sip/message/empty-body-shared", test_empty_body_shared);
  g_test_add_func ("/sip/message/compact-names", test_compact_names);
  g_test_add_func ("/sip/message/order-and-duplicates", test_order_and_duplicates);
  g_test_add_func ("/sip/message/split-list", test_split_list);
  g_test_add_func ("/sip/message/list-values", test_list_values);
  g_test_add_func ("/sip/message/folding", test_folding);
  g_test_add_func ("/sip/message/folding-in-place", test_folding_in_place);
  g_test_add_func ("/sip/message/round-trip", test_round_trip);
  g_test_add_func ("/sip/message/missing-content-length", test_missing_content_length);
  g_test_add_func ("/sip/message/name-case", test_name_case);
  g_test_add_func ("/sip/message/set-and-remove", test_set_and_remove);
  g_test_add_func ("/sip/message/header-injection-guard", test_header_injection_guard);
  g_test_add_func ("/sip/message/redaction", test_redaction);
  g_test_add_func ("/sip/message/redaction-controls-and-body", test_redaction_controls_and_body);
  g_test_add_func ("/sip/message/cseq", test_cseq);
  g_test_add_func ("/sip/message/validate", test_validate);
  g_test_add_func ("/sip/message/datagram", test_datagram);
  g_test_add_func ("/sip/message/bad-start-lines", test_bad_start_lines);
  g_test_add_func ("/sip/message/bad-headers", test_bad_headers);
  g_test_add_func ("/sip/message/nul-in-value", test_nul_in_value);
  g_test_add_func ("/sip/message/head-block-limits", test_head_block_limits);
  g_test_add_func ("/sip/message/head-block-start-lines", test_head_block_start_lines);
  g_test_add_func ("/sip/message/find-header-index", test_find_header_index);

  return g_test_run ();
}
