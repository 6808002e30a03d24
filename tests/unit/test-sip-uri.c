/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-sip-error.h"
#include "sfb-sip-lex.h"
#include "sfb-sip-uri.h"
#include "sfb-sip-via.h"

#include <string.h>

static void
test_uri_basic (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipUri) uri = NULL;
  gsize len;

  uri = sfb_sip_uri_parse (
      "sip:alice@contoso.com:5061;transport=tls;lr?Subject=hi%20there&X=", -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sfb_sip_uri_get_scheme (uri), ==, SFB_SIP_URI_SCHEME_SIP);
  g_assert_cmpstr (sfb_sip_uri_get_user (uri, &len), ==, "alice");
  g_assert_cmpuint (len, ==, 5);
  g_assert_null (sfb_sip_uri_get_password (uri));
  g_assert_cmpstr (sfb_sip_uri_get_host (uri), ==, "contoso.com");
  g_assert_false (sfb_sip_uri_host_is_ipv6 (uri));
  g_assert_cmpuint (sfb_sip_uri_get_port (uri), ==, 5061);
  g_assert_cmpuint (sfb_sip_uri_get_n_params (uri), ==, 2);
  g_assert_cmpstr (sfb_sip_uri_get_param (uri, "TRANSPORT"), ==, "tls");
  g_assert_cmpstr (sfb_sip_uri_get_param (uri, "lr"), ==, "");
  g_assert_null (sfb_sip_uri_get_param_value (uri, 1));
  g_assert_true (sfb_sip_uri_has_param (uri, "lr"));
  g_assert_null (sfb_sip_uri_get_param (uri, "maddr"));
  g_assert_cmpuint (sfb_sip_uri_get_n_headers (uri), ==, 2);
  g_assert_cmpstr (sfb_sip_uri_get_header (uri, "subject"), ==, "hi there");
  g_assert_cmpstr (sfb_sip_uri_get_header (uri, "X"), ==, "");
  g_assert_cmpstr (sfb_sip_uri_to_string (uri),
                   ==,
                   "sip:alice@contoso.com:5061;transport=tls;lr?Subject=hi%20there&X=");
}

static void
test_uri_forms (void)
{
  g_autoptr (SfbSipUri) host_only = sfb_sip_uri_parse ("SIPS:Contoso.COM", -1, NULL);
  g_autoptr (SfbSipUri) v6 = sfb_sip_uri_parse ("sip:bob@[2001:db8::10]:5070;maddr=x", -1, NULL);
  g_autoptr (SfbSipUri) v6_bare = sfb_sip_uri_parse ("sip:[::1]", -1, NULL);
  g_autoptr (SfbSipUri) v6_zone = sfb_sip_uri_parse ("sip:[fe80::1%eth0]", -1, NULL);
  g_autoptr (SfbSipUri) tel = sfb_sip_uri_parse ("tel:+1-201-555-0123;ext=42", -1, NULL);
  g_autoptr (SfbSipUri) pw = sfb_sip_uri_parse ("sip:joe:s%65cret@h.example", -1, NULL);
  g_autoptr (SfbSipUri) v4 = sfb_sip_uri_parse ("sip:192.0.2.1:0", -1, NULL);
  g_autoptr (SfbSipUri) grruu = sfb_sip_uri_parse (
      "sip:alice@contoso.com;opaque=user:epid:Xz4_5ryWQF2tTEQ9IWxfbgAA;gruu", -1, NULL);

  g_assert_nonnull (host_only);
  g_assert_cmpint (sfb_sip_uri_get_scheme (host_only), ==, SFB_SIP_URI_SCHEME_SIPS);
  g_assert_null (sfb_sip_uri_get_user (host_only, NULL));
  g_assert_cmpstr (sfb_sip_uri_get_host (host_only), ==, "Contoso.COM");
  g_assert_cmpuint (sfb_sip_uri_get_port (host_only), ==, 0);

  g_assert_nonnull (v6);
  g_assert_true (sfb_sip_uri_host_is_ipv6 (v6));
  g_assert_cmpstr (sfb_sip_uri_get_host (v6), ==, "2001:db8::10");
  g_assert_cmpuint (sfb_sip_uri_get_port (v6), ==, 5070);
  g_assert_cmpstr (sfb_sip_uri_get_param (v6, "maddr"), ==, "x");
  g_assert_nonnull (v6_bare);
  g_assert_cmpstr (sfb_sip_uri_get_host (v6_bare), ==, "::1");
  g_assert_cmpstr (sfb_sip_uri_get_host (v6_zone), ==, "fe80::1%eth0");

  g_assert_nonnull (tel);
  g_assert_cmpint (sfb_sip_uri_get_scheme (tel), ==, SFB_SIP_URI_SCHEME_TEL);
  g_assert_cmpstr (sfb_sip_uri_get_user (tel, NULL), ==, "+1-201-555-0123");
  g_assert_null (sfb_sip_uri_get_host (tel));
  g_assert_cmpstr (sfb_sip_uri_get_param (tel, "ext"), ==, "42");

  g_assert_nonnull (pw);
  g_assert_cmpstr (sfb_sip_uri_get_user (pw, NULL), ==, "joe");
  g_assert_cmpstr (sfb_sip_uri_get_password (pw), ==, "secret");

  g_assert_nonnull (v4);
  g_assert_cmpstr (sfb_sip_uri_get_host (v4), ==, "192.0.2.1");

  g_assert_nonnull (grruu);
  g_assert_cmpstr (
      sfb_sip_uri_get_param (grruu, "opaque"), ==, "user:epid:Xz4_5ryWQF2tTEQ9IWxfbgAA");
  g_assert_true (sfb_sip_uri_has_param (grruu, "gruu"));
}

static void
test_uri_escapes (void)
{
  g_autoptr (SfbSipUri) uri = NULL;
  g_autofree char *plain = NULL;
  gsize len;
  const char *user;

  /* escaped NULs stay part of the user (RFC 4475 escnull) */
  uri = sfb_sip_uri_parse ("sip:null-%00-null@example.com", -1, NULL);
  g_assert_nonnull (uri);
  user = sfb_sip_uri_get_user (uri, &len);
  g_assert_cmpuint (len, ==, 11);
  g_assert_cmpmem (user, len, "null-\0-null", 11);
  g_assert_cmpstr (sfb_sip_uri_get_user_raw (uri), ==, "null-%00-null");

  plain = sfb_sip_uri_unescape ("a%41%7e%7E", -1, &len, NULL);
  g_assert_cmpstr (plain, ==, "aA~~");
  g_assert_cmpuint (len, ==, 4);
}

/* Text without a '%' is copied as it is; with one, escapes are decoded byte
 * by byte.  Each text below, read as it is, must give what the same text
 * with its byte i written as an escape gives: the copy against the loop. */
static void
test_uri_unescape_copy (void)
{
  static const struct
  {
    const char *text;
    gsize len;
  } cases[] = {
    { "a", 1 },
    { "alice", 5 },
    { "alice.smith-01", 14 },
    { "x\0y", 3 }, /* a NUL byte stays part of it, as in the loop */
    { "+1-555-0100", 11 },
    { "a;b=c?d", 7 },
  };

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const char *text = cases[c].text;
      gsize n = cases[c].len, copy_len = 0;
      g_autofree char *copy = sfb_sip_uri_unescape (text, (gssize) n, &copy_len, NULL);

      g_assert_nonnull (copy);
      g_assert_cmpmem (copy, copy_len, text, n);
      g_assert_cmpint (copy[copy_len], ==, '\0');
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr (GString) escaped = g_string_new_len (text, (gssize) i);
          g_autofree char *decoded = NULL;
          gsize decoded_len = 0;

          g_string_append_printf (escaped, "%%%02X", (guchar) text[i]);
          g_string_append_len (escaped, text + i + 1, (gssize) (n - i - 1));
          decoded = sfb_sip_uri_unescape (escaped->str, (gssize) escaped->len, &decoded_len, NULL);
          g_assert_nonnull (decoded);
          g_assert_cmpmem (decoded, decoded_len, copy, copy_len);
          g_assert_cmpint (decoded[decoded_len], ==, '\0');
        }
    }
  /* length -1: up to the NUL */
  {
    gsize len = 0;
    g_autofree char *copy = sfb_sip_uri_unescape ("bob", -1, &len, NULL);

    g_assert_cmpstr (copy, ==, "bob");
    g_assert_cmpuint (len, ==, 3);
  }
}

/* The token class's table against RFC 3261's definition, every byte */
static void
test_token_chars (void)
{
  for (guint c = 0; c < 256; c++)
    {
      gboolean want = g_ascii_isalnum (c) || (c != 0 && strchr ("-.!%*_+`'~", (int) c) != NULL);
      char one = (char) c;

      g_assert_cmpint (sfb_sip_is_token_char ((guchar) c), ==, want);
      g_assert_cmpint (sfb_sip_is_token (&one, 1), ==, want);
    }
}

static void
test_uri_invalid (void)
{
  static const struct
  {
    const char *text;
    int code;
  } cases[] = {
    { "", SFB_SIP_ERROR_MALFORMED },
    { "sip", SFB_SIP_ERROR_MALFORMED },
    { "alice@contoso.com", SFB_SIP_ERROR_MALFORMED },
    { "1sip:host", SFB_SIP_ERROR_MALFORMED },
    { "http://www.example.com", SFB_SIP_ERROR_UNSUPPORTED_SCHEME },
    { "soap.beep://192.0.2.103:3002", SFB_SIP_ERROR_UNSUPPORTED_SCHEME },
    { "sip:", SFB_SIP_ERROR_MALFORMED },
    { "sip:@host", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host:", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host:65536", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host:99999999", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host:5060x", SFB_SIP_ERROR_MALFORMED },
    { "sip:us er@host", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@ho st", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host;", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host;;lr", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host;a=", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host;a=b=c", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host?", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@host?a", SFB_SIP_ERROR_MALFORMED },
    { "sip:user%4@host", SFB_SIP_ERROR_MALFORMED },
    { "sip:user%zz@host", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@[::1", SFB_SIP_ERROR_MALFORMED },
    /* a zone is an interface name, not any bytes GLib would take */
    { "sip:user@[fe80::1%\x1b[2J]", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@[fe80::1%\xff]", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@[nothex]", SFB_SIP_ERROR_MALFORMED },
    { "sip:user@[192.0.2.1]", SFB_SIP_ERROR_MALFORMED },
    { "sip:<user@host>", SFB_SIP_ERROR_MALFORMED },
    { "tel:", SFB_SIP_ERROR_MALFORMED },
    { "tel:+123?x=y", SFB_SIP_ERROR_MALFORMED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipUri) uri = sfb_sip_uri_parse (cases[i].text, -1, &error);

      g_test_message ("%s", cases[i].text);
      g_assert_null (uri);
      g_assert_error (error, SFB_SIP_ERROR, cases[i].code);
    }
}

static void
test_uri_embedded_nul (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipUri) uri = sfb_sip_uri_parse ("sip:a\0b@host", 12, &error);

  g_assert_null (uri);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED);
}

static void
test_name_addr_forms (void)
{
  g_autoptr (SfbSipNameAddr) quoted = NULL;
  g_autoptr (SfbSipNameAddr) tokens = NULL;
  g_autoptr (SfbSipNameAddr) bare = NULL;
  g_autoptr (SfbSipNameAddr) nodisplay = NULL;
  g_autoptr (SfbSipUri) uri = NULL;
  g_autoptr (GError) error = NULL;

  quoted = sfb_sip_name_addr_parse (
      "\"Alice \\\"A\\\" Smith\" "
      "<sip:alice@contoso.com;transport=tls>;tag=8a7b6c5d;epid=01ab23cd45",
      -1,
      &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sfb_sip_name_addr_get_display_name (quoted, NULL), ==, "Alice \"A\" Smith");
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (quoted), ==, "sip:alice@contoso.com;transport=tls");
  g_assert_true (sfb_sip_name_addr_is_bracketed (quoted));
  g_assert_cmpstr (sfb_sip_name_addr_get_tag (quoted), ==, "8a7b6c5d");
  g_assert_cmpstr (sfb_sip_name_addr_get_param (quoted, "EPID"), ==, "01ab23cd45");
  g_assert_cmpuint (sfb_sip_name_addr_get_n_params (quoted), ==, 2);
  uri = sfb_sip_name_addr_parse_uri (quoted, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sfb_sip_uri_get_param (uri, "transport"), ==, "tls");

  tokens = sfb_sip_name_addr_parse ("A. G. Bell <sip:agb@bell-telephone.com> ;tag=a48s", -1, NULL);
  g_assert_nonnull (tokens);
  g_assert_cmpstr (sfb_sip_name_addr_get_display_name (tokens, NULL), ==, "A. G. Bell");
  g_assert_cmpstr (sfb_sip_name_addr_get_tag (tokens), ==, "a48s");

  /* without <>, parameters belong to the header, not to the URI */
  bare = sfb_sip_name_addr_parse ("sip:+12125551212@server.phone2net.com;tag=887s", -1, NULL);
  g_assert_nonnull (bare);
  g_assert_null (sfb_sip_name_addr_get_display_name (bare, NULL));
  g_assert_false (sfb_sip_name_addr_is_bracketed (bare));
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (bare), ==, "sip:+12125551212@server.phone2net.com");
  g_assert_cmpstr (sfb_sip_name_addr_get_tag (bare), ==, "887s");

  nodisplay = sfb_sip_name_addr_parse ("<sip:user@cosmo.local>", -1, NULL);
  g_assert_nonnull (nodisplay);
  g_assert_null (sfb_sip_name_addr_get_display_name (nodisplay, NULL));
  g_assert_null (sfb_sip_name_addr_get_tag (nodisplay));
}

static void
test_name_addr_params (void)
{
  g_autoptr (SfbSipNameAddr) contact = NULL;

  contact = sfb_sip_name_addr_parse (
      "<sip:10.1.2.3:51234;transport=tls;ms-opaque=d3470f2e1d>;methods=\"INVITE, MESSAGE, INFO\""
      ";proxy=replace;+sip.instance=\"<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>\";expires="
      "7200",
      -1,
      NULL);
  g_assert_nonnull (contact);
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (contact),
                   ==,
                   "sip:10.1.2.3:51234;transport=tls;ms-opaque=d3470f2e1d");
  g_assert_cmpstr (sfb_sip_name_addr_get_param (contact, "methods"), ==, "INVITE, MESSAGE, INFO");
  g_assert_cmpstr (
      sfb_sip_name_addr_get_param_raw (contact, "methods"), ==, "\"INVITE, MESSAGE, INFO\"");
  g_assert_cmpstr (sfb_sip_name_addr_get_param (contact, "+SIP.INSTANCE"),
                   ==,
                   "<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>");
  g_assert_cmpstr (sfb_sip_name_addr_get_param (contact, "expires"), ==, "7200");
  g_assert_cmpstr (sfb_sip_name_addr_get_param_name (contact, 1), ==, "proxy");
  g_assert_cmpstr (sfb_sip_name_addr_get_param_value (contact, 1), ==, "replace");
}

static void
test_name_addr_list (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;

  list = sfb_sip_name_addr_parse_list (
      "\"Doe, John\" <sip:jd@example.com;lr>;q=0.7, sip:b@example.com;expires=60 ,<tel:+1234>",
      -1,
      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_assert_cmpstr (sfb_sip_name_addr_get_display_name (list->pdata[0], NULL), ==, "Doe, John");
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (list->pdata[0]), ==, "sip:jd@example.com;lr");
  g_assert_cmpstr (sfb_sip_name_addr_get_param (list->pdata[0], "q"), ==, "0.7");
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (list->pdata[1]), ==, "sip:b@example.com");
  g_assert_cmpstr (sfb_sip_name_addr_get_param (list->pdata[1], "expires"), ==, "60");
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (list->pdata[2]), ==, "tel:+1234");
}

static void
test_name_addr_invalid (void)
{
  static const char *const cases[] = {
    "",
    "<>",
    "\"unterminated <sip:a@b>",
    "\"Quoted\" sip:a@b",
    "Bell, Alexander <sip:a.g.bell@example.com>",
    "< sip:t.watson@example.org >",
    "<sip:a@b",
    "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
    "<sip:a@b>;tag=",
    "<sip:a@b>;=x",
    "<sip:a@b>;;",
    "<sip:a@b> junk",
    "<sip:a@b>, <sip:c@d>",
    "nouri",
    "<sip:a@b>;p=\"open",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipNameAddr) addr = sfb_sip_name_addr_parse (cases[i], -1, &error);

      g_test_message ("%s", cases[i]);
      g_assert_null (addr);
      g_assert_true (error != NULL && error->domain == SFB_SIP_ERROR);
    }
}

static void
test_name_addr_too_many_params (void)
{
  g_autoptr (GString) text = g_string_new ("<sip:a@b>");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipNameAddr) addr = NULL;

  for (guint i = 0; i < 65; i++)
    g_string_append_printf (text, ";p%u=%u", i, i);
  addr = sfb_sip_name_addr_parse (text->str, -1, &error);
  g_assert_null (addr);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
}

/* Parameters and headers: none, and up to the limit (the lists are made
 * with their first entry) */
static void
test_uri_params_none_and_limit (void)
{
  g_autoptr (SfbSipUri) bare = sfb_sip_uri_parse ("sip:alice@example.com", -1, NULL);
  g_autoptr (GString) text = g_string_new ("sip:a@b");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipUri) full = NULL;
  g_autoptr (SfbSipUri) over = NULL;

  g_assert_nonnull (bare);
  g_assert_cmpuint (sfb_sip_uri_get_n_params (bare), ==, 0);
  g_assert_cmpuint (sfb_sip_uri_get_n_headers (bare), ==, 0);
  g_assert_false (sfb_sip_uri_has_param (bare, "lr"));
  g_assert_null (sfb_sip_uri_get_param (bare, "transport"));
  g_assert_null (sfb_sip_uri_get_header (bare, "Subject"));

  for (guint i = 0; i < SFB_SIP_LEX_MAX_PARAMS; i++)
    g_string_append_printf (text, ";p%u=%u", i, i);
  full = sfb_sip_uri_parse (text->str, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sfb_sip_uri_get_n_params (full), ==, SFB_SIP_LEX_MAX_PARAMS);
  g_assert_cmpstr (sfb_sip_uri_get_param (full, "p0"), ==, "0");
  g_assert_cmpuint (sfb_sip_uri_get_n_headers (full), ==, 0);
  g_string_append (text, ";one-more");
  over = sfb_sip_uri_parse (text->str, -1, &error);
  g_assert_null (over);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
}

static void
test_via (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) vias = NULL;

  vias = sfb_sip_via_parse_list (
      "SIP/2.0/TLS 10.1.2.3:51234;branch=z9hG4bK77;rport;received=1.2.3.4,"
      " SIP / 2.0 / UDP [2001:db8::1] : 5060 ; branch = z9hG4bK88",
      -1,
      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vias->len, ==, 2);
  g_assert_cmpstr (sfb_sip_via_get_protocol_name (vias->pdata[0]), ==, "SIP");
  g_assert_cmpstr (sfb_sip_via_get_protocol_version (vias->pdata[0]), ==, "2.0");
  g_assert_cmpstr (sfb_sip_via_get_transport (vias->pdata[0]), ==, "TLS");
  g_assert_cmpstr (sfb_sip_via_get_host (vias->pdata[0]), ==, "10.1.2.3");
  g_assert_cmpuint (sfb_sip_via_get_port (vias->pdata[0]), ==, 51234);
  g_assert_cmpstr (sfb_sip_via_get_branch (vias->pdata[0]), ==, "z9hG4bK77");
  g_assert_cmpstr (sfb_sip_via_get_param (vias->pdata[0], "rport"), ==, "");
  g_assert_cmpstr (sfb_sip_via_get_param (vias->pdata[0], "received"), ==, "1.2.3.4");
  g_assert_cmpstr (sfb_sip_via_get_transport (vias->pdata[1]), ==, "UDP");
  g_assert_cmpstr (sfb_sip_via_get_host (vias->pdata[1]), ==, "2001:db8::1");
  g_assert_cmpuint (sfb_sip_via_get_port (vias->pdata[1]), ==, 5060);
  g_assert_cmpstr (sfb_sip_via_get_branch (vias->pdata[1]), ==, "z9hG4bK88");
}

static void
test_via_invalid (void)
{
  static const char *const cases[] = {
    "",
    "SIP/2.0",
    "SIP/2.0/UDP",
    "SIP/2.0/UDP 192.0.2.15;;,;,,",
    "SIP//UDP host",
    "SIP/2.0/UDP host:",
    "SIP/2.0/UDP host:70000",
    "SIP/2.0/UDP [::1",
    "SIP/2.0/UDP [fe80::1%\x07]",
    "SIP/2.0/UDP [fe80::1%\xc3\x28]",
    "SIP/2.0/UDP host junk",
    "SIP/2.0/UDP host,",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) vias = sfb_sip_via_parse_list (cases[i], -1, &error);

      g_test_message ("%s", cases[i]);
      g_assert_null (vias);
      g_assert_nonnull (error);
    }
}

/* validation's sfb_sip_uri_check() gives sfb_sip_uri_parse()'s verdict,
 * error (domain, code and text) and header count, for URIs of every form
 * and each with every byte position given one of the characters the parse
 * treats specially */
static void
assert_check_agrees (const char *text, gsize len)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GError) check_error = NULL;
  g_autoptr (SfbSipUri) uri = sfb_sip_uri_parse (text, (gssize) len, &parse_error);
  guint n_headers = G_MAXUINT;
  gboolean ok = sfb_sip_uri_check (text, (gssize) len, &n_headers, &check_error);

  if (uri != NULL)
    {
      g_assert_true (ok);
      g_assert_no_error (check_error);
      g_assert_cmpuint (n_headers, ==, sfb_sip_uri_get_n_headers (uri));
      return;
    }
  g_assert_false (ok);
  g_assert_nonnull (check_error);
  g_assert_cmpuint (check_error->domain, ==, parse_error->domain);
  g_assert_cmpint (check_error->code, ==, parse_error->code);
  g_assert_cmpstr (check_error->message, ==, parse_error->message);
}

/* @check on @text, and on it with each of @specials (its NUL too)
 * inserted at, and put in place of, each byte */
static void
check_with_specials (const char *text,
                     const char *specials,
                     gsize n_specials,
                     void (*check) (const char *text, gsize len))
{
  gsize n = strlen (text);

  check (text, n);
  for (gsize at = 0; at <= n; at++)
    {
      for (gsize c = 0; c < n_specials; c++)
        {
          g_autofree char *inserted = g_malloc (n + 1);
          g_autofree char *replaced = g_memdup2 (text, n + 1);

          memcpy (inserted, text, at);
          inserted[at] = specials[c];
          memcpy (inserted + at + 1, text + at, n - at);
          check (inserted, n + 1);
          if (at < n)
            {
              replaced[at] = specials[c];
              check (replaced, n);
            }
        }
    }
}

static void
test_uri_check (void)
{
  static const char *const uris[] = {
    "sip:alice@example.com",
    "sip:alice:pw%41@example.com:5061;transport=tls;maddr=10.0.0.1?subject=hi&x=%20",
    "sips:[2001:db8::1]:5061;lr",
    "sip:[fe80::1%25eth0];x",
    "sip:user%2Cname@h;ms-opaque=a%3db;epid=7ff7b4",
    "sip:h?a=&b=1",
    "tel:+1-555-0100;phone-context=%2B1",
    "tel:+1%",
    "sip:a%4@b",
    "sip:a@b;x=%4",
    "sip:a@b;x=%zz",
    "sip:a@b?h=%4g",
    "sip:u:p%@h",
    "mailto:a@b",
    "sip:",
    "sip:@h",
    "sip:h:99999",
    "sip:[::1",
    "",
  };
  static const char specials[] = "%=;?&@:[]<> 4aZ";

  for (gsize i = 0; i < G_N_ELEMENTS (uris); i++)
    check_with_specials (uris[i], specials, sizeof specials, assert_check_agrees);
  /* the parameter and header limits count alike */
  for (guint k = 62; k <= 66; k++)
    {
      g_autoptr (GString) params = g_string_new ("sip:h");
      g_autoptr (GString) headers = g_string_new ("sip:h");

      for (guint j = 0; j < k; j++)
        {
          g_string_append_printf (params, ";p%u", j);
          g_string_append_printf (headers, "%c%u=v", j == 0 ? '?' : '&', j);
        }
      assert_check_agrees (params->str, params->len);
      assert_check_agrees (headers->str, headers->len);
    }
}

/* validation's sfb_sip_via_check_list() gives sfb_sip_via_parse_list()'s
 * verdict and error for Via values of every form, each with every byte
 * position given one of the characters the parse treats specially, and
 * around the parameter and Via limits */
static void
assert_via_check_agrees (const char *text, gsize len)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GError) check_error = NULL;
  g_autoptr (GPtrArray) vias = sfb_sip_via_parse_list (text, (gssize) len, &parse_error);
  gboolean ok = sfb_sip_via_check_list (text, (gssize) len, &check_error);

  if (vias != NULL)
    {
      g_assert_true (ok);
      g_assert_no_error (check_error);
      return;
    }
  g_assert_false (ok);
  g_assert_nonnull (check_error);
  g_assert_cmpuint (check_error->domain, ==, parse_error->domain);
  g_assert_cmpint (check_error->code, ==, parse_error->code);
  g_assert_cmpstr (check_error->message, ==, parse_error->message);
}

static void
test_via_check (void)
{
  static const char *const values[] = {
    "SIP/2.0/TLS 192.168.1.5:2301;branch=z9hG4bKf4b1;ms-received-port=2301",
    "SIP/2.0/UDP [2001:db8::1]:5060;received=\"a\\\"b\";rport, SIP / 2.0 / TCP h-1.x_y",
    "SIP/2.0/TLS [fe80::1%eth0];maddr=[::1]",
    "SIP/2.0/TLS h:70000",
    "SIP/2.0/TLS h;=x",
    "SIP/2.0/TLS h;x=",
    "SIP/2.0/TLS h;x=\"open",
    "SIP/2.0 h",
    "",
  };
  static const char specials[] = "/;=,\"\\[]: \t:9a";

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    check_with_specials (values[i], specials, sizeof specials, assert_via_check_agrees);
  for (guint k = 62; k <= 66; k++)
    {
      g_autoptr (GString) params = g_string_new ("SIP/2.0/TLS h");

      for (guint j = 0; j < k; j++)
        g_string_append_printf (params, ";p%u=%u", j, j);
      assert_via_check_agrees (params->str, params->len);
    }
  for (guint k = 254; k <= 258; k++)
    {
      g_autoptr (GString) list = g_string_new (NULL);

      for (guint j = 0; j < k; j++)
        g_string_append_printf (list, "%sSIP/2.0/TLS h%u;branch=b", j > 0 ? ", " : "", j);
      assert_via_check_agrees (list->str, list->len);
    }
}

/* validation's and the signature's sfb_sip_name_addr_check() gives
 * sfb_sip_name_addr_parse()'s verdict and error, and its URI and tag as
 * sfb_sip_name_addr_get_uri() and _get_tag() give them */
static void
assert_name_addr_check_agrees (const char *text, gsize len)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GError) check_error = NULL;
  g_autoptr (SfbSipNameAddr) addr = sfb_sip_name_addr_parse (text, (gssize) len, &parse_error);
  SfbSipNameAddrView view = { "x", 1, "x", 1 };
  gboolean ok = sfb_sip_name_addr_check (text, (gssize) len, &view, &check_error);

  if (addr != NULL)
    {
      const char *tag = sfb_sip_name_addr_get_tag (addr);

      g_assert_true (ok);
      g_assert_no_error (check_error);
      g_assert_cmpmem (view.uri,
                       view.uri_len,
                       sfb_sip_name_addr_get_uri (addr),
                       strlen (sfb_sip_name_addr_get_uri (addr)));
      g_assert_cmpint (view.tag != NULL, ==, tag != NULL);
      if (tag != NULL)
        g_assert_cmpmem (view.tag, view.tag_len, tag, strlen (tag));
      return;
    }
  g_assert_false (ok);
  g_assert_nonnull (check_error);
  g_assert_cmpuint (check_error->domain, ==, parse_error->domain);
  g_assert_cmpint (check_error->code, ==, parse_error->code);
  g_assert_cmpstr (check_error->message, ==, parse_error->message);
  g_assert_true (sfb_sip_name_addr_check (text, (gssize) len, NULL, NULL) == FALSE);
}

static void
test_name_addr_check (void)
{
  static const char *const values[] = {
    "\"Alice A.\" <sip:alice@example.com>;tag=1928301774;epid=7ff7b4",
    "Bob <sip:bob@example.com;transport=tls>;TAG=\"q\\\"t\";x",
    "<sip:carol@h>;x=1;tag;tag=2",
    "sip:dave@h;tag=ab;epid=c",
    "\"a\\\"b\" <tel:+1555>",
    "sip:u@h?x=y",
    "<sip:u@h",
    "\"open <sip:u@h>",
    "A B <>",
    "<sip:u@h>;tag=\"a\\",
    "<sip:u@h>, <sip:v@h>",
    "<sip:u@h> x",
    "<mailto:u@h>;=",
    "",
  };
  static const char specials[] = "\"\\<>;=, \tt:?@";

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    check_with_specials (values[i], specials, sizeof specials, assert_name_addr_check_agrees);
  /* the parameter limit counts alike; the tag first or last */
  for (guint k = 62; k <= 66; k++)
    {
      g_autoptr (GString) first = g_string_new ("<sip:h>;tag=t");
      g_autoptr (GString) last = g_string_new ("<sip:h>");

      for (guint j = 0; j < k; j++)
        {
          g_string_append_printf (first, ";p%u", j);
          g_string_append_printf (last, ";p%u=%u", j, j);
        }
      g_string_append (last, ";tag=t");
      assert_name_addr_check_agrees (first->str, first->len);
      assert_name_addr_check_agrees (last->str, last->len);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sip/uri/basic", test_uri_basic);
  g_test_add_func ("/sip/uri/forms", test_uri_forms);
  g_test_add_func ("/sip/uri/escapes", test_uri_escapes);
  g_test_add_func ("/sip/uri/unescape-copy", test_uri_unescape_copy);
  g_test_add_func ("/sip/uri/params-none-and-limit", test_uri_params_none_and_limit);
  g_test_add_func ("/sip/lex/token-chars", test_token_chars);
  g_test_add_func ("/sip/uri/invalid", test_uri_invalid);
  g_test_add_func ("/sip/uri/check", test_uri_check);
  g_test_add_func ("/sip/uri/embedded-nul", test_uri_embedded_nul);
  g_test_add_func ("/sip/name-addr/forms", test_name_addr_forms);
  g_test_add_func ("/sip/name-addr/params", test_name_addr_params);
  g_test_add_func ("/sip/name-addr/list", test_name_addr_list);
  g_test_add_func ("/sip/name-addr/invalid", test_name_addr_invalid);
  g_test_add_func ("/sip/name-addr/too-many-params", test_name_addr_too_many_params);
  g_test_add_func ("/sip/name-addr/check", test_name_addr_check);
  g_test_add_func ("/sip/via/parse", test_via);
  g_test_add_func ("/sip/via/invalid", test_via_invalid);
  g_test_add_func ("/sip/via/check", test_via_check);

  return g_test_run ();
}
