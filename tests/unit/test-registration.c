/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the server says about a registration: real server traces
 * (docs/protocol.md §9, §10.1, §15.5, MS-SIPREGE 4.1.3) and hostile input. */
#include "sfb-error.h"
#include "sfb-registration.h"

#include <string.h>

/* SfB 2015 200 OK to REGISTER (§15.5), plus §10.1's last two lines */
static const char ok_sfb2015[]
    = "SIP/2.0 200 OK\r\n"
      "Authentication-Info: NTLM qop=\"auth\", opaque=\"0999F355\", srand=\"AE4D44F8\", "
      "snum=\"1\", rspauth=\"010000006f006900a5960bc32d0f5e40\", "
      "targetname=\"sarco04.skype2015.loc\", realm=\"SIP Communications Service\", version=4\r\n"
      "From: \"user6\"<sip:user6@skype2015.loc>;tag=7DFF5C53A16C40AF26B60AF0062567AF;"
      "epid=451e9252b6\r\n"
      "To: <sip:user6@skype2015.loc>;tag=C5FE2F33CD23A451AA1D653DB6C6859C\r\n"
      "Call-ID: 501ED1D3EE6E7872588F67ADC5194AFA\r\n"
      "CSeq: 3 REGISTER\r\n"
      "Via: SIP/2.0/TLS 192.168.41.128:17925;branch=z9hG4bK8680AE1AB33D105937088D3C32BF86D8-2;"
      "ms-received-port=17925;ms-received-cid=87400\r\n"
      "Contact: <sip:user6@192.168.41.128:17925;transport=tls>;expires=300;+sip.instance=\"<urn:"
      "uuid:e0de506b-a705-59cc-9bfa-d37593141231>\";gruu=\"sip:user6@skype2015.loc;opaque=user:"
      "epid:a1De4AWnzFmb-tN1kxQSMQAA;gruu\"\r\n"
      "Expires: 300\r\n"
      "Allow-Events: vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,vnd-microsoft-"
      "roaming-ACL,presence,presence.wpending,vnd-microsoft-roaming-self,vnd-microsoft-"
      "provisioning-v2\r\n"
      "Supported: adhoclist\r\n"
      "Server: RTC/6.0\r\n"
      "Supported: msrtc-event-categories\r\n"
      "Supported: ms-keepalive-deregister\r\n"
      "Supported: ms-userservices-state-notification\r\n"
      "ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300\r\n"
      "presence-state: register-action=\"added\"\r\n"
      "Content-Length: 0\r\n\r\n";

/* the signed 301 of §9 / §15.5 */
static const char redirect_trace[]
    = "SIP/2.0 301 Redirect request to Home Server\r\n"
      "Authentication-Info: NTLM qop=\"auth\", opaque=\"DD23910A\", srand=\"8DD8F2A8\", "
      "snum=\"1\", rspauth=\"0100000065000000890295bc234ad41a\", "
      "targetname=\"T2RU-SKYPE-02.corp.tele2.ru\", realm=\"SIP Communications Service\", "
      "version=4\r\n"
      "From: <sip:user6@192.168.74.4>;tag=D3E42EE35E472F759A5A88AE6A214BB8;epid=d0b1e08d57\r\n"
      "To: <sip:user6@192.168.74.4>;tag=DCB82A4DA5F4BCE3FD28D1FA0FC1CA94\r\n"
      "Call-ID: 4037df9284354df39065195bd57a4b14\r\n"
      "CSeq: 3 REGISTER\r\n"
      "Via: SIP/2.0/TLS 192.168.41.195:65100;branch=z9hG4bK1;ms-received-port=65100\r\n"
      "Contact: <sip:192.168.74.5:5061;transport=tls>\r\n"
      "Expires: 2592000\r\n"
      "Content-Length: 0\r\n\r\n";

static SfbSipMessage *
parse (const char *text)
{
  g_autoptr (GError) error = NULL;
  SfbSipMessage *message = sfb_sip_message_parse (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_nonnull (message);
  return message;
}

/* a minimal response carrying @headers (each ending in CRLF) */
static SfbSipMessage *
response_with (guint code, const char *headers)
{
  g_autofree char *text = g_strdup_printf ("SIP/2.0 %u Whatever\r\n"
                                           "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1\r\n"
                                           "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\n"
                                           "Call-ID: 1\r\nCSeq: 1 REGISTER\r\n%s"
                                           "Content-Length: 0\r\n\r\n",
                                           code,
                                           headers);

  return parse (text);
}

static void
test_ok_sfb2015 (void)
{
  g_autoptr (SfbSipMessage) response = parse (ok_sfb2015);
  /* our instance in upper case, as Microsoft clients send it (§17.7) */
  g_autoptr (SfbRegistration) reg
      = sfb_registration_parse (response, "E0DE506B-A705-59CC-9BFA-D37593141231");

  g_assert_cmpstr (
      reg->gruu, ==, "sip:user6@skype2015.loc;opaque=user:epid:a1De4AWnzFmb-tN1kxQSMQAA;gruu");
  g_assert_cmpuint (reg->expires, ==, 300);
  g_assert_cmpuint (reg->keepalive, ==, 300);
  g_assert_cmpstr (reg->server, ==, "RTC/6.0");
  g_assert_cmpstr (reg->supported,
                   ==,
                   "adhoclist,msrtc-event-categories,ms-keepalive-deregister,ms-userservices-"
                   "state-notification");
  g_assert_true (sfb_registration_list_has (reg->supported, "MSRTC-event-categories"));
  g_assert_false (sfb_registration_list_has (reg->supported, "adhoc"));
  g_assert_true (sfb_registration_list_has (reg->allow_events, "vnd-microsoft-provisioning-v2"));
  g_assert_true (sfb_registration_list_has (reg->allow_events, "presence"));
  g_assert_false (sfb_registration_list_has (reg->allow_events, "presence.w"));
}

static void
test_ok_not_ours (void)
{
  g_autoptr (SfbSipMessage) response = parse (ok_sfb2015);
  g_autoptr (SfbRegistration) reg
      = sfb_registration_parse (response, "34D859DB-6585-5F91-A3B4-DE853C15347D");

  g_assert_null (reg->gruu);
  g_assert_cmpuint (reg->expires, ==, 300);
}

/* The server granted our binding 30 s in its Contact and sent no Expires
 * header (or another value in it): our Contact's expires= counts. */
static void
test_ok_contact_expires (void)
{
  static const char ours[] = "\"<urn:uuid:22222222-2222-2222-2222-222222222222>\"";
  g_autofree char *contacts
      = g_strdup_printf ("Contact: <sip:u@10.0.0.2:1;transport=tls>;expires=3600;+sip.instance="
                         "\"<urn:uuid:11111111-1111-1111-1111-111111111111>\"\r\n"
                         "Contact: <sip:u@10.0.0.3:1;transport=tls>;expires=30;+sip.instance=%s;"
                         "gruu=\"sip:u@d;opaque=user:epid:BBB;gruu\"\r\n",
                         ours);
  g_autofree char *with_header = g_strconcat (contacts, "Expires: 300\r\n", NULL);
  g_autoptr (SfbSipMessage) bare = response_with (200, contacts);
  g_autoptr (SfbSipMessage) both = response_with (200, with_header);
  g_autoptr (SfbSipMessage) header_only = response_with (200, "Expires: 120\r\n");
  g_autoptr (SfbRegistration) a
      = sfb_registration_parse (bare, "22222222-2222-2222-2222-222222222222");
  g_autoptr (SfbRegistration) b
      = sfb_registration_parse (both, "22222222-2222-2222-2222-222222222222");
  g_autoptr (SfbRegistration) c
      = sfb_registration_parse (header_only, "22222222-2222-2222-2222-222222222222");
  g_autoptr (SfbRegistration) d
      = sfb_registration_parse (bare, "33333333-3333-3333-3333-333333333333");

  g_assert_cmpuint (a->expires, ==, 30);
  g_assert_cmpstr (a->gruu, ==, "sip:u@d;opaque=user:epid:BBB;gruu");
  g_assert_cmpuint (b->expires, ==, 30);
  g_assert_cmpuint (c->expires, ==, 120);
  g_assert_cmpuint (d->expires, ==, 0); /* another endpoint's 3600 is not ours */
}

static void
test_ok_several_contacts (void)
{
  /* two endpoints of the user in one header and one more in another;
   * Supported on one line with spaces (both forms, §17.5) */
  g_autoptr (SfbSipMessage) response = response_with (
      200,
      "Contact: <sip:u@10.0.0.2:1;transport=tls>;+sip.instance=\"<urn:uuid:11111111-1111-1111-"
      "1111-111111111111>\";gruu=\"sip:u@d;opaque=user:epid:AAA;gruu\", "
      "<sip:u@10.0.0.3:1;transport=tls>;+sip.instance=\"<urn:uuid:22222222-2222-2222-2222-"
      "222222222222>\";gruu=\"sip:u@d;opaque=user:epid:BBB;gruu\"\r\n"
      "Contact: <sip:u@10.0.0.4:1>;+sip.instance=\"<urn:uuid:33333333-3333-3333-3333-"
      "333333333333>\";gruu=\"sip:u@d;opaque=user:epid:CCC;gruu\"\r\n"
      "Supported: adhoclist , msrtc-event-categories,,\r\n"
      "Allow-Events:  presence ,vnd-microsoft-roaming-self\r\n"
      "Expires: 7200\r\n");
  g_autoptr (SfbRegistration) two
      = sfb_registration_parse (response, "22222222-2222-2222-2222-222222222222");
  g_autoptr (SfbRegistration) three
      = sfb_registration_parse (response, "33333333-3333-3333-3333-333333333333");

  g_assert_cmpstr (two->gruu, ==, "sip:u@d;opaque=user:epid:BBB;gruu");
  g_assert_cmpstr (three->gruu, ==, "sip:u@d;opaque=user:epid:CCC;gruu");
  g_assert_cmpstr (two->supported, ==, "adhoclist,msrtc-event-categories");
  g_assert_cmpstr (two->allow_events, ==, "presence,vnd-microsoft-roaming-self");
  g_assert_cmpuint (two->expires, ==, 7200);
  g_assert_cmpuint (two->keepalive, ==, 0);
  g_assert_null (two->server);
}

static void
test_ok_hostile (void)
{
  g_autofree char *long_server = g_strnfill (5000, 'x');
  g_autofree char *long_gruu = g_strnfill (600, 'g');
  g_autofree char *headers = g_strdup_printf (
      "Contact: <sip:u@10.0.0.2>;+sip.instance=\"<urn:uuid:11111111-1111-1111-1111-"
      "111111111111>\";gruu=\"sip:u@d;x=%s\"\r\n"
      "Contact: <sip:u@10.0.0.2>;+sip.instance=\"<urn:uuid:22222222-2222-2222-2222-"
      "222222222222>\";gruu=\"sip:u@d>\\r\\nInjected: yes\"\r\n"
      "Contact: <sip:u@10.0.0.2>;+sip.instance=\"<urn:uuid:33333333-3333-3333-3333-"
      "333333333333>\";gruu=\"tel:+1234\"\r\n"
      "Server: RTC/6.0 \xff\xfe%s\r\n"
      "Expires: 99999999999999999999\r\n"
      "ms-keep-alive: UAS; timeout=0; timeout=999999999\r\n",
      long_gruu,
      long_server);
  g_autoptr (SfbSipMessage) response = response_with (200, headers);
  const char *ids[] = { "11111111-1111-1111-1111-111111111111",
                        "22222222-2222-2222-2222-222222222222",
                        "33333333-3333-3333-3333-333333333333" };

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr (SfbRegistration) reg = sfb_registration_parse (response, ids[i]);

      /* too long, would break out of <...>, not a sip: URI */
      g_assert_null (reg->gruu);
      /* a Server header goes to the ServerVersion property: cut, valid UTF-8 */
      g_assert_nonnull (reg->server);
      g_assert_cmpuint (strlen (reg->server), <=, SFB_REGISTRATION_MAX_TEXT + 8);
      g_assert_true (g_utf8_validate (reg->server, -1, NULL));
      g_assert_true (g_str_has_prefix (reg->server, "RTC/6.0 "));
      g_assert_cmpuint (reg->expires, ==, 0);
      g_assert_cmpuint (reg->keepalive, ==, 0);
    }
}

static void
test_numbers (void)
{
  g_autoptr (SfbSipMessage) response
      = response_with (503, "Retry-After: 30 (busy)\r\nExpires: 4294967296\r\n");
  g_autoptr (SfbSipMessage) bare = response_with (503, "Retry-After: soon\r\n");
  guint64 value = 0;

  g_assert_true (sfb_registration_header_number (response, "Retry-After", 3600, &value));
  g_assert_cmpuint (value, ==, 30);
  g_assert_false (sfb_registration_header_number (response, "Retry-After", 10, &value));
  g_assert_false (sfb_registration_header_number (response, "Expires", G_MAXUINT32, &value));
  g_assert_false (sfb_registration_header_number (bare, "Retry-After", 3600, &value));
  g_assert_false (sfb_registration_header_number (bare, "Expires", 3600, &value));
}

static void
test_redirect_trace (void)
{
  g_autoptr (SfbSipMessage) response = parse (redirect_trace);
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;

  g_assert_true (sfb_registration_parse_redirect (response, &host, &port, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (host, ==, "192.168.74.5");
  g_assert_cmpuint (port, ==, 5061);
}

static void
test_redirect_forms (void)
{
  static const struct
  {
    const char *contact;
    const char *host;
    guint16 port;
  } cases[] = {
    { "Contact: <sip:pool2.contoso.test;transport=tls>\r\n", "pool2.contoso.test", 5061 },
    { "Contact: sip:pool2.contoso.test:5062\r\n", "pool2.contoso.test", 5062 },
    { "Contact: \"Pool\" <sip:[::1]:5063;transport=tls>\r\n", NULL, 5063 },
    /* the first usable entry of a list */
    { "Contact: <tel:+123>, <sip:pool3.contoso.test>\r\n", "pool3.contoso.test", 5061 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SfbSipMessage) response = response_with (301, cases[i].contact);
      g_autoptr (GError) error = NULL;
      g_autofree char *host = NULL;
      guint16 port = 0;

      g_assert_true (sfb_registration_parse_redirect (response, &host, &port, &error));
      g_assert_no_error (error);
      if (cases[i].host != NULL)
        g_assert_cmpstr (host, ==, cases[i].host);
      else
        g_assert_true (strstr (host, "::1") != NULL);
      g_assert_cmpuint (port, ==, cases[i].port);
    }
}

static void
test_redirect_hostile (void)
{
  g_autofree char *long_host = g_strnfill (300, 'a');
  g_autofree char *too_long = g_strdup_printf ("Contact: <sip:%s.test>\r\n", long_host);
  const char *cases[] = {
    "",
    "Contact: <>\r\n",
    "Contact: garbage\r\n",
    "Contact: <tel:+123>\r\n",
    "Contact: <sip:-bad-.test>\r\n",
    too_long,
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SfbSipMessage) response = response_with (301, cases[i]);
      g_autoptr (GError) error = NULL;
      g_autofree char *host = NULL;
      guint16 port = 0;

      g_assert_false (sfb_registration_parse_redirect (response, &host, &port, &error));
      g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
      g_assert_null (host);
    }
}

static void
test_diagnostics (void)
{
  g_autoptr (SfbSipMessage) disabled = response_with (
      403, "ms-diagnostics: 4141;reason=\"User disabled\";source=\"fe.contoso.test\"\r\n");
  g_autoptr (SfbSipMessage) public
      = response_with (403, "ms-diagnostics-public: 4141;reason=\"User disabled\"\r\n");
  g_autoptr (SfbSipMessage) warning = response_with (403, "Warning: 399 fe \"Not allowed\"\r\n");
  g_autoptr (SfbSipMessage) none = response_with (403, "");
  g_autoptr (SfbSipMessage) hostile
      = response_with (503, "ms-diagnostics: 99999999999;reason=\"\x01\x1b[31m\xc3\"\r\n");
  g_autofree char *text = sfb_registration_dup_diagnostics (disabled);
  g_autofree char *public_text = sfb_registration_dup_diagnostics (public);
  g_autofree char *warning_text = sfb_registration_dup_diagnostics (warning);
  g_autofree char *hostile_text = sfb_registration_dup_diagnostics (hostile);

  g_assert_cmpstr (text, ==, "4141;reason=\"User disabled\";source=\"fe.contoso.test\"");
  g_assert_cmpuint (sfb_registration_diagnostics_code (disabled), ==, 4141);
  g_assert_cmpstr (public_text, ==, "4141;reason=\"User disabled\"");
  g_assert_cmpuint (sfb_registration_diagnostics_code (public), ==, 4141);
  g_assert_cmpstr (warning_text, ==, "399 fe \"Not allowed\"");
  g_assert_cmpuint (sfb_registration_diagnostics_code (warning), ==, 0);
  g_assert_null (sfb_registration_dup_diagnostics (none));
  g_assert_cmpuint (sfb_registration_diagnostics_code (none), ==, 0);
  g_assert_cmpuint (sfb_registration_diagnostics_code (hostile), ==, 0);
  g_assert_true (g_utf8_validate (hostile_text, -1, NULL));
  g_assert_null (strchr (hostile_text, '\x1b'));
  g_assert_null (strchr (hostile_text, '\x01'));
}

/* MS-SIPREGE 4.1.3 / §12.3 */
static SfbSipMessage *
notify_with (const char *headers, const char *body)
{
  g_autofree char *text
      = g_strdup_printf ("BENOTIFY sip:alice@10.0.0.1:5061;transport=tls SIP/2.0\r\n"
                         "Via: SIP/2.0/TLS 10.0.0.2:5061;branch=z9hG4bK1\r\n"
                         "From: <sip:alice@contoso.test>;tag=1\r\n"
                         "To: <sip:alice@contoso.test>;tag=2;epid=01ab23cd45\r\n"
                         "Call-ID: 1\r\nCSeq: 3 BENOTIFY\r\nEvent: registration-notify\r\n"
                         "subscription-state: terminated;expires=0\r\n%s"
                         "Content-Type: text/registration-event\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         headers,
                         strlen (body),
                         body);

  return parse (text);
}

static void
test_deregistration (void)
{
  static const struct
  {
    const char *body;
    SfbDeregistrationKind kind;
    const char *event;
  } cases[] = {
    { "deregistered;event=rejected", SFB_DEREGISTRATION_REJECTED, "rejected" },
    { "deregistered;event=unregistered", SFB_DEREGISTRATION_UNREGISTERED, "unregistered" },
    { "deregistered;event=deactivated\r\n", SFB_DEREGISTRATION_DEACTIVATED, "deactivated" },
    { "deregistered;event=Preferred-Registrar-Change",
      SFB_DEREGISTRATION_REGISTRAR_CHANGE,
      "Preferred-Registrar-Change" },
    /* an XML form (RFC 3680 contact event attribute) */
    { "<reginfo><registration><contact event=\"rejected\"/></registration></reginfo>",
      SFB_DEREGISTRATION_REJECTED,
      "rejected" },
    { "deregistered;event=moved-to-mars", SFB_DEREGISTRATION_UNKNOWN, "moved-to-mars" },
    { "deregistered", SFB_DEREGISTRATION_UNKNOWN, NULL },
    { "", SFB_DEREGISTRATION_UNKNOWN, NULL },
    { "event=", SFB_DEREGISTRATION_UNKNOWN, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SfbSipMessage) request
          = notify_with ("ms-diagnostics-public: 4141;reason=\"User disabled\"\r\n", cases[i].body);
      g_autoptr (SfbDeregistration) dereg = sfb_deregistration_parse (request);

      g_assert_cmpint (dereg->kind, ==, cases[i].kind);
      g_assert_cmpstr (dereg->event, ==, cases[i].event);
      g_assert_cmpstr (dereg->diagnostics, ==, "4141;reason=\"User disabled\"");
      g_assert_null (dereg->registrar_host);
    }
}

static void
test_deregistration_registrar (void)
{
  g_autoptr (SfbSipMessage) moved
      = notify_with ("P-Preferred-Registrar: <sip:pool2.contoso.test:5071;transport=tls>\r\n",
                     "deregistered;event=preferred-registrar-change");
  g_autoptr (SfbSipMessage) bad = notify_with ("P-Preferred-Registrar: <sip:bad host>\r\n",
                                               "deregistered;event=preferred-registrar-change");
  /* a registrar is only taken with preferred-registrar-change */
  g_autoptr (SfbSipMessage) other = notify_with (
      "P-Preferred-Registrar: <sip:pool2.contoso.test>\r\n", "deregistered;event=deactivated");
  g_autoptr (SfbDeregistration) a = sfb_deregistration_parse (moved);
  g_autoptr (SfbDeregistration) b = sfb_deregistration_parse (bad);
  g_autoptr (SfbDeregistration) c = sfb_deregistration_parse (other);

  g_assert_cmpstr (a->registrar_host, ==, "pool2.contoso.test");
  g_assert_cmpuint (a->registrar_port, ==, 5071);
  g_assert_null (a->diagnostics);
  g_assert_cmpint (b->kind, ==, SFB_DEREGISTRATION_REGISTRAR_CHANGE);
  g_assert_null (b->registrar_host);
  g_assert_cmpint (c->kind, ==, SFB_DEREGISTRATION_DEACTIVATED);
  g_assert_null (c->registrar_host);
}

static void
test_deregistration_hostile (void)
{
  /* the event past the bytes looked at is not seen; binary is harmless */
  g_autofree char *padding = g_strnfill (SFB_REGISTRATION_MAX_NOTIFY_BODY, ' ');
  g_autofree char *late = g_strconcat (padding, "event=rejected", NULL);
  g_autoptr (SfbSipMessage) far = notify_with ("", late);
  g_autoptr (SfbSipMessage) binary = notify_with ("", "event=\xff\xfe\x01rejected");
  g_autoptr (SfbDeregistration) a = sfb_deregistration_parse (far);
  g_autoptr (SfbDeregistration) b = sfb_deregistration_parse (binary);

  g_assert_cmpint (a->kind, ==, SFB_DEREGISTRATION_UNKNOWN);
  g_assert_null (a->event);
  g_assert_cmpint (b->kind, ==, SFB_DEREGISTRATION_UNKNOWN);
  g_assert_true (g_utf8_validate (b->event, -1, NULL));
  g_assert_null (strchr (b->event, '\x01'));
}

static void
test_sanitize (void)
{
  g_autofree char *cut = sfb_registration_sanitize ("abcdef", -1, 3);
  g_autofree char *ctl = sfb_registration_sanitize ("a\r\nb\x7f", -1, 64);
  g_autofree char *utf8 = sfb_registration_sanitize ("\xc3\xa9t\xc3\xa9", -1, 64);
  g_autofree char *half = sfb_registration_sanitize ("\xc3\xa9\xc3\xa9", -1, 3);
  g_autofree char *bidi = sfb_registration_sanitize ("Removed \xe2\x80\xae"
                                                     "evil",
                                                     -1,
                                                     64);

  g_assert_cmpstr (cut, ==, "abc\xe2\x80\xa6");
  g_assert_cmpstr (ctl,
                   ==,
                   "a\xef\xbf\xbd\xef\xbf\xbd"
                   "b\xef\xbf\xbd");
  g_assert_cmpstr (bidi,
                   ==,
                   "Removed \xef\xbf\xbd"
                   "evil");
  g_assert_cmpstr (utf8, ==, "été");
  g_assert_true (g_utf8_validate (half, -1, NULL));
  g_assert_true (g_str_has_prefix (half, "é"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/registration/ok/sfb2015", test_ok_sfb2015);
  g_test_add_func ("/registration/ok/not-ours", test_ok_not_ours);
  g_test_add_func ("/registration/ok/several-contacts", test_ok_several_contacts);
  g_test_add_func ("/registration/ok/contact-expires", test_ok_contact_expires);
  g_test_add_func ("/registration/ok/hostile", test_ok_hostile);
  g_test_add_func ("/registration/numbers", test_numbers);
  g_test_add_func ("/registration/redirect/trace", test_redirect_trace);
  g_test_add_func ("/registration/redirect/forms", test_redirect_forms);
  g_test_add_func ("/registration/redirect/hostile", test_redirect_hostile);
  g_test_add_func ("/registration/diagnostics", test_diagnostics);
  g_test_add_func ("/registration/deregistration/events", test_deregistration);
  g_test_add_func ("/registration/deregistration/registrar", test_deregistration_registrar);
  g_test_add_func ("/registration/deregistration/hostile", test_deregistration_hostile);
  g_test_add_func ("/registration/sanitize", test_sanitize);
  return g_test_run ();
}
