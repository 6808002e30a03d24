/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-autodiscover.h"
#include "sfb-error.h"

#include <string.h>

static SfbAutodiscoverDocument *
parse_file (const char *name, GError **error)
{
  g_autofree char *path = g_build_filename (g_getenv ("SFB_TEST_DATA"), "autodiscover", name, NULL);
  g_autofree char *data = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &data, &length, NULL));
  return sfb_autodiscover_parse (data, length, error);
}

static SfbAutodiscoverDocument *
parse_string (const char *text, GError **error)
{
  return sfb_autodiscover_parse (text, strlen (text), error);
}

static void
assert_candidate (
    GPtrArray *candidates, guint index, const char *host, guint16 port, const char *location)
{
  const SfbServerCandidate *c;

  g_assert_cmpuint (index, <, candidates->len);
  c = candidates->pdata[index];
  g_assert_cmpstr (c->host, ==, host);
  g_assert_cmpuint (c->port, ==, port);
  g_assert_cmpint (c->source, ==, SFB_SERVER_SOURCE_AUTODISCOVER);
  g_assert_cmpstr (c->access_location, ==, location);
}

static void
test_microsoft_sample (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAutodiscoverDocument) doc = parse_file ("ms-lync2013-user-external.xml", &error);
  g_autoptr (GPtrArray) candidates = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (doc);
  g_assert_true (doc->has_user);
  g_assert_false (doc->has_root);
  g_assert_cmpstr (doc->access_location, ==, "external");
  /* " pool01.contoso.com" and "sip.contoso.com " are trimmed */
  g_assert_cmpstr (doc->internal_fqdn, ==, "pool01.contoso.com");
  g_assert_cmpuint (doc->internal_port, ==, 443);
  g_assert_cmpstr (doc->external_fqdn, ==, "sip.contoso.com");
  g_assert_cmpuint (doc->external_port, ==, 443);
  g_assert_null (doc->redirect_href);
  g_assert_null (doc->user_href);

  /* AccessLocation="External": only the external access point is used. */
  candidates = sfb_autodiscover_document_get_candidates (doc);
  g_assert_cmpuint (candidates->len, ==, 1);
  assert_candidate (candidates, 0, "sip.contoso.com", 443, "external");
}

static void
test_root (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAutodiscoverDocument) doc = parse_file ("root.xml", &error);
  g_autoptr (GPtrArray) candidates = NULL;

  g_assert_no_error (error);
  g_assert_true (doc->has_root);
  g_assert_false (doc->has_user);
  g_assert_cmpstr (doc->access_location, ==, "internal");
  g_assert_cmpstr (doc->user_href,
                   ==,
                   "https://lyncdiscoverinternal.contoso.test/Autodiscover/AutodiscoverService.svc/"
                   "root/user?sipuri=alice@contoso.test");
  g_assert_null (doc->redirect_href);
  candidates = sfb_autodiscover_document_get_candidates (doc);
  g_assert_cmpuint (candidates->len, ==, 0);
}

static void
test_user_internal (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAutodiscoverDocument) doc = parse_file ("user-internal.xml", &error);
  g_autoptr (GPtrArray) candidates = NULL;

  g_assert_no_error (error);
  candidates = sfb_autodiscover_document_get_candidates (doc);
  /* SipClient*, never SipServer*; Internal: the internal one only */
  g_assert_cmpuint (candidates->len, ==, 1);
  assert_candidate (candidates, 0, "director.contoso.test", 5061, "internal");
}

static void
test_redirects (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAutodiscoverDocument) user = parse_file ("user-redirect.xml", &error);
  g_autoptr (SfbAutodiscoverDocument) root = NULL;

  g_assert_no_error (error);
  g_assert_true (user->has_user);
  g_assert_cmpstr (
      user->redirect_href,
      ==,
      "https://pool2.contoso.test/Autodiscover/AutodiscoverService.svc/root?sipuri=bob@"
      "contoso.test");
  g_assert_null (user->internal_fqdn);

  root = parse_file ("root-redirect.xml", &error);
  g_assert_no_error (error);
  g_assert_true (root->has_root);
  g_assert_nonnull (root->redirect_href);
  g_assert_true (g_str_has_prefix (root->redirect_href, "https://lyncdiscover.contoso.test/"));
}

static void
test_no_location (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAutodiscoverDocument) doc = parse_file ("user-no-location.xml", &error);
  g_autoptr (GPtrArray) candidates = NULL;

  g_assert_no_error (error);
  g_assert_null (doc->access_location);
  candidates = sfb_autodiscover_document_get_candidates (doc);
  /* Internal first whatever the document order; default ports; case and
   * trailing dot normalised. */
  g_assert_cmpuint (candidates->len, ==, 2);
  assert_candidate (candidates, 0, "pool1.contoso.test", 5061, "internal");
  assert_candidate (candidates, 1, "sip.contoso.test", 443, "external");
}

static void
assert_rejected (const char *text, const char *message_part)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAutodiscoverDocument) doc = parse_string (text, &error);

  g_assert_null (doc);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_DISCOVERY_FAILED);
  if (message_part != NULL && strstr (error->message, message_part) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, message_part);
}

static void
test_hostile (void)
{
  g_autoptr (GString) big = g_string_new ("<AutodiscoverResponse><User>");
  g_autoptr (GString) deep = g_string_new ("<AutodiscoverResponse>");

  assert_rejected ("", "empty");
  assert_rejected ("not xml at all", "well-formed");
  assert_rejected ("<AutodiscoverResponse><User>", "well-formed");
  assert_rejected ("<Html><Body>It works!</Body></Html>", "not an AutodiscoverResponse");
  assert_rejected ("<AutodiscoverResponse AccessLocation=\"Internal\"/>", "neither");
  /* Billion laughs, external entities, external DTD: no DTD is accepted. */
  assert_rejected ("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaa\">"
                   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;\">]>"
                   "<AutodiscoverResponse AccessLocation=\"&c;\"><Root/></AutodiscoverResponse>",
                   "DTD");
  assert_rejected ("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                   "<AutodiscoverResponse><User><SipClientInternalAccess fqdn=\"&x;\"/></User>"
                   "</AutodiscoverResponse>",
                   "DTD");
  assert_rejected ("<!DOCTYPE AutodiscoverResponse SYSTEM \"http://example.invalid/x.dtd\">"
                   "<AutodiscoverResponse><Root/></AutodiscoverResponse>",
                   "DTD");
  /* An undeclared entity is not well-formed. */
  assert_rejected ("<AutodiscoverResponse AccessLocation=\"&x;\"><Root/></AutodiscoverResponse>",
                   "well-formed");

  /* Size limit */
  while (big->len <= SFB_AUTODISCOVER_MAX_DOCUMENT_SIZE)
    g_string_append (big, "<Link token=\"Self\" href=\"https://a.contoso.test/\"/>");
  g_string_append (big, "</User></AutodiscoverResponse>");
  assert_rejected (big->str, "too large");

  /* Depth limit */
  for (guint i = 0; i < 100; i++)
    g_string_append (deep, "<User>");
  for (guint i = 0; i < 100; i++)
    g_string_append (deep, "</User>");
  g_string_append (deep, "</AutodiscoverResponse>");
  assert_rejected (deep->str, "deeply");
}

static void
test_bad_values_ignored (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAutodiscoverDocument) doc = NULL;
  g_autoptr (GPtrArray) candidates = NULL;
  g_autoptr (GString) long_fqdn = g_string_new (NULL);
  g_autofree char *text = NULL;

  for (guint i = 0; i < 300; i++)
    g_string_append_c (long_fqdn, 'a');
  text = g_strdup_printf ("<AutodiscoverResponse><User>"
                          "<SipClientInternalAccess fqdn=\"evil host;rm -rf\" port=\"5061\"/>"
                          "<SipClientInternalAccess fqdn=\"%s\" port=\"5061\"/>"
                          "<SipClientInternalAccess fqdn=\"a..b\" port=\"5061\"/>"
                          "<SipClientInternalAccess fqdn=\"ok.contoso.test\" port=\"99999\"/>"
                          "<SipClientInternalAccess fqdn=\"ok.contoso.test\" port=\"0\"/>"
                          "<SipClientInternalAccess fqdn=\"ok.contoso.test\" port=\"-1\"/>"
                          "<SipClientInternalAccess fqdn=\"   \" port=\"5061\"/>"
                          "<SipClientInternalAccess fqdn=\"good.contoso.test\" port=\" 5062 \"/>"
                          "<SipClientInternalAccess fqdn=\"second.contoso.test\" port=\"5061\"/>"
                          "<SipClientExternalAccess fqdn=\"ext.contoso.test\" port=\"443x\"/>"
                          "<Link token=\"Redirect\"/>"
                          "<Link href=\"https://no-token.contoso.test/\"/>"
                          "</User></AutodiscoverResponse>",
                          long_fqdn->str);
  doc = parse_string (text, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (doc->internal_fqdn, ==, "good.contoso.test");
  g_assert_cmpuint (doc->internal_port, ==, 5062);
  g_assert_null (doc->external_fqdn);
  g_assert_null (doc->redirect_href);
  candidates = sfb_autodiscover_document_get_candidates (doc);
  g_assert_cmpuint (candidates->len, ==, 1);
  assert_candidate (candidates, 0, "good.contoso.test", 5062, "internal");
}

static void
test_build_url (void)
{
  g_autofree char *url
      = sfb_autodiscover_build_url ("lyncdiscover.contoso.test", "alice@contoso.test");
  g_autofree char *odd
      = sfb_autodiscover_build_url ("lyncdiscover.contoso.test", "a b&c=d@contoso.test");

  g_assert_cmpstr (url, ==, "https://lyncdiscover.contoso.test/?sipuri=alice@contoso.test");
  g_assert_cmpstr (odd, ==, "https://lyncdiscover.contoso.test/?sipuri=a%20b%26c%3Dd@contoso.test");
}

/* A web server's own content type: quoted exactly, not read past its end
 * (an allocation of exactly its size, so ASan sees any over-read). */
static void
test_content_type_error (void)
{
  g_autofree char *type = g_strdup ("text/html");
  g_autofree char *hostile = g_strdup ("text/html\r\nX-Fake: \xe2\x80\xae"
                                       "1");
  g_autofree char *huge = g_strnfill (4096, 'a');
  g_autoptr (GError) error
      = sfb_autodiscover_content_type_error ("lyncdiscover.contoso.test", type);
  g_autoptr (GError) error2 = sfb_autodiscover_content_type_error ("h", hostile);
  g_autoptr (GError) error3 = sfb_autodiscover_content_type_error ("h", huge);
  g_autoptr (GError) error4 = sfb_autodiscover_content_type_error ("h", NULL);

  g_assert_error (error, SFB_ERROR, SFB_ERROR_DISCOVERY_FAILED);
  g_assert_cmpstr (error->message,
                   ==,
                   "lyncdiscover.contoso.test answered with content type “text/html”, not "
                   "application/vnd.microsoft.rtc.autodiscover+xml");
  g_assert_null (strpbrk (error2->message, "\r\n"));
  g_assert_null (strstr (error2->message, "\xe2\x80\xae"));
  g_assert_nonnull (strstr (error2->message, "X-Fake"));
  g_assert_cmpuint (strlen (error3->message), <, 200);
  g_assert_nonnull (strstr (error4->message, "no content type"));
}

/* The server's reason phrase: bounded, one line, no bidi override */
static void
test_status_error (void)
{
  g_autofree char *long_reason = g_strnfill (10000, 'r');
  g_autoptr (GError) plain = sfb_autodiscover_status_error ("h.test", 500, "Internal Error");
  g_autoptr (GError) hostile = sfb_autodiscover_status_error ("h.test",
                                                              500,
                                                              "Oops\r\nFake: \xe2\x80\xae"
                                                              "x");
  g_autoptr (GError) huge = sfb_autodiscover_status_error ("h.test", 500, long_reason);
  g_autoptr (GError) none = sfb_autodiscover_status_error ("h.test", 500, NULL);

  g_assert_cmpstr (plain->message, ==, "h.test answered HTTP 500 Internal Error");
  g_assert_null (strpbrk (hostile->message, "\r\n"));
  g_assert_null (strstr (hostile->message, "\xe2\x80\xae"));
  g_assert_cmpuint (strlen (huge->message), <, 200);
  g_assert_cmpstr (none->message, ==, "h.test answered HTTP 500 ");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/net/autodiscover/microsoft-sample", test_microsoft_sample);
  g_test_add_func ("/net/autodiscover/root", test_root);
  g_test_add_func ("/net/autodiscover/user-internal", test_user_internal);
  g_test_add_func ("/net/autodiscover/redirects", test_redirects);
  g_test_add_func ("/net/autodiscover/no-location", test_no_location);
  g_test_add_func ("/net/autodiscover/hostile", test_hostile);
  g_test_add_func ("/net/autodiscover/bad-values-ignored", test_bad_values_ignored);
  g_test_add_func ("/net/autodiscover/build-url", test_build_url);
  g_test_add_func ("/net/autodiscover/content-type-error", test_content_type_error);
  g_test_add_func ("/net/autodiscover/status-error", test_status_error);

  return g_test_run ();
}
