/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-sip-signature.h"

#include <string.h>

#define REALM "SIP Communications Service"
#define TARGET "cosmo-ocs-r2.cosmo.local"
#define CALL_ID "4037df9284354df39065195bd57a4b14"

/* docs/protocol.md §5.1, first example: the client's signed REGISTER */
static void
test_spec_register (void)
{
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_new_request ("REGISTER", "sip:cosmo.local");
  SfbSipSignatureParams params = {
    .protocol = "NTLM",
    .rand = "13317733",
    .num = "1",
    .realm = REALM,
    .targetname = TARGET,
    .version = 3,
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *buffer = NULL;

  sfb_sip_message_append_header (msg, "Via", "SIP/2.0/TLS 192.168.1.5:2301;branch=z9hG4bKf4b1");
  sfb_sip_message_append_header (
      msg, "From", "<sip:user@cosmo.local>;tag=3e49177a52;epid=7ff7b4b1e0");
  sfb_sip_message_append_header (msg, "To", "<sip:user@cosmo.local>");
  sfb_sip_message_append_header (msg, "CSeq", "3 REGISTER");
  sfb_sip_message_append_header (msg, "Call-ID", CALL_ID);
  sfb_sip_message_append_header (msg, "Event", "registration");
  buffer = sfb_sip_signature_buffer (msg, &params, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (buffer,
                   ==,
                   "<NTLM><13317733><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"
                   "<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local>"
                   "<3e49177a52><sip:user@cosmo.local><><><><>");
}

/* docs/protocol.md §5.1, second example: the server's 200 OK, verified with the
 * values of its own Authentication-Info */
static void
test_spec_200 (void)
{
  static const char text[]
      = "SIP/2.0 200 OK\r\n"
        "Authentication-Info: NTLM qop=\"auth\", opaque=\"CDAA6E44\", srand=\"9616454F\", "
        "snum=\"1\", "
        "rspauth=\"0100000000000000a6b2f0cf64000000\", targetname=\"" TARGET "\", "
        "realm=\"" REALM "\", version=3\r\n"
        "Via: SIP/2.0/TLS 192.168.1.5:2301;branch=z9hG4bKf4b1;ms-received-port=2301\r\n"
        "From: <sip:user@cosmo.local>;tag=3e49177a52;epid=7ff7b4b1e0\r\n"
        "To: <sip:user@cosmo.local>;tag=5E61CCD925D17E043D9A74835A88F664\r\n"
        "Call-ID: " CALL_ID "\r\n"
        "CSeq: 3 REGISTER\r\n"
        "Expires: 7200\r\n"
        "Content-Length: 0\r\n\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, sizeof text - 1, &error);
  g_autoptr (GPtrArray) infos = NULL;
  SfbSipSignatureParams params = { 0 };
  g_autofree char *buffer = NULL;

  g_assert_no_error (error);
  infos = sfb_sip_auth_parse_message (msg, "Authentication-Info");
  g_assert_cmpuint (infos->len, ==, 1);
  g_assert_true (sfb_sip_signature_params_init_from_auth (&params, infos->pdata[0], &error));
  g_assert_cmpuint (params.version, ==, 3);
  buffer = sfb_sip_signature_buffer (msg, &params, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (buffer,
                   ==,
                   "<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"
                   "<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local>"
                   "<3e49177a52><sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664><><>"
                   "<7200><200>");
}

static char *
buffer_for (const char *text, guint version)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, strlen (text), &error);
  SfbSipSignatureParams params = {
    .protocol = "Kerberos",
    .rand = "R",
    .num = "7",
    .realm = "M",
    .targetname = "sip/T",
    .version = version,
  };
  char *buffer;

  g_assert_no_error (error);
  buffer = sfb_sip_signature_buffer (msg, &params, &error);
  g_assert_no_error (error);
  return buffer;
}

/* From and To are parsed once per message, by validation or by the
 * signature, whichever comes first: the buffer is the same either way,
 * and the same when built again. */
static void
test_after_validation (void)
{
  static const char text[]
      = "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/TLS 192.168.1.5:2301;branch=z9hG4bKf4b1;ms-received-port=2301\r\n"
        "From: \"A, B\" <sip:user@cosmo.local;transport=tls>;tag=3e49177a52;epid=7ff7b4b1e0\r\n"
        "To: sip:user@cosmo.local;tag=5E61CCD925D17E043D9A74835A88F664\r\n"
        "Call-ID: " CALL_ID "\r\n"
        "CSeq: 3 REGISTER\r\n"
        "Content-Length: 0\r\n\r\n";
  static const char expected[]
      = "<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"
        "<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local;transport=tls>"
        "<3e49177a52><sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664><><><><200>";
  SfbSipSignatureParams params = {
    .protocol = "NTLM",
    .rand = "9616454F",
    .num = "1",
    .realm = REALM,
    .targetname = TARGET,
    .version = 3,
  };

  for (guint validate_first = 0; validate_first < 2; validate_first++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, sizeof text - 1, &error);
      g_autofree char *first = NULL;
      g_autofree char *again = NULL;

      g_assert_no_error (error);
      if (validate_first)
        g_assert_true (sfb_sip_message_validate (msg, &error));
      first = sfb_sip_signature_buffer (msg, &params, &error);
      g_assert_no_error (error);
      g_assert_true (sfb_sip_message_validate (msg, &error));
      again = sfb_sip_signature_buffer (msg, &params, &error);
      g_assert_cmpstr (first, ==, expected);
      g_assert_cmpstr (again, ==, expected);
    }
}

static void
test_identity (void)
{
  g_autofree char *pai
      = buffer_for ("SIP/2.0 200 OK\r\n"
                    "f: \"Bob\" <SIP:Bob@Contoso.com;transport=tls>;epid=e;tag=ab;x\r\n"
                    "t: sip:me@contoso.com;tag=cd;epid=99\r\n"
                    "i: call\r\n"
                    "CSeq: 0042 NOTIFY\r\n"
                    "P-Preferred-Identity: <sip:ignored@x>\r\n"
                    "P-Asserted-Identity: \"Name\"<sip:a@b>,<tel:+1234>\r\n"
                    "\r\n",
                    4);
  g_autofree char *split = buffer_for ("NOTIFY sip:me@h SIP/2.0\r\n"
                                       "From: <sip:x@y>;tag=1\r\n"
                                       "P-Asserted-Identity: <tel:+49301234>\r\n"
                                       "P-Asserted-Identity: <sips:s@y>, <sip:second@y>\r\n"
                                       "CSeq: 1 NOTIFY\r\n"
                                       "\r\n",
                                       4);
  g_autofree char *ppi = buffer_for ("NOTIFY sip:me@h SIP/2.0\r\n"
                                     "P-Preferred-Identity: <sip:pref@y>\r\n"
                                     "\r\n",
                                     3);

  g_assert_cmpstr (pai,
                   ==,
                   "<Kerberos><R><7><M><sip/T><call><0042><NOTIFY>"
                   "<SIP:Bob@Contoso.com;transport=tls><ab><sip:me@contoso.com><cd>"
                   "<sip:a@b><tel:+1234><><200>");
  g_assert_cmpstr (split,
                   ==,
                   "<Kerberos><R><7><M><sip/T><><1><NOTIFY><sip:x@y><1><><><sips:s@y>"
                   "<tel:+49301234><>");
  g_assert_cmpstr (ppi, ==, "<Kerberos><R><7><M><sip/T><><><><><><><><sip:pref@y><><>");
}

/* version < 3: no To URI, no identities (MS-SIP 3.1.4.2) */
static void
test_version_2 (void)
{
  static const char text[] = "SIP/2.0 200 OK\r\n"
                             "From: <sip:a@b>;tag=1\r\n"
                             "To: <sip:c@d>;tag=2\r\n"
                             "Call-ID: x\r\n"
                             "CSeq: 5 SUBSCRIBE\r\n"
                             "Expires: 3600\r\n"
                             "P-Asserted-Identity: <sip:ignored@x>\r\n"
                             "\r\n";
  g_autofree char *v2 = buffer_for (text, 2);
  g_autofree char *v4 = buffer_for (text, 4);

  g_assert_cmpstr (v2, ==, "<Kerberos><R><7><M><sip/T><x><5><SUBSCRIBE><sip:a@b><1><2><3600><200>");
  g_assert_cmpstr (v4,
                   ==,
                   "<Kerberos><R><7><M><sip/T><x><5><SUBSCRIBE><sip:a@b><1><sip:c@d><2>"
                   "<sip:ignored@x><><3600><200>");
}

static void
test_errors (void)
{
  static const char *const cases[] = {
    "OPTIONS sip:a@b SIP/2.0\r\nFrom: \"open <sip:a@b>\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nTo: <sip:a@b\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nCSeq: REGISTER\r\n\r\n",
    "OPTIONS sip:a@b SIP/2.0\r\nP-Asserted-Identity: <sip:a@b>;;\r\n\r\n",
  };
  SfbSipSignatureParams params = { .protocol = "NTLM", .version = 4 };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (cases[i], strlen (cases[i]), NULL);
      g_autofree char *buffer = sfb_sip_signature_buffer (msg, &params, &error);

      g_assert_null (buffer);
      g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_INVALID);
    }
}

/* Appending to a buffer already holding k bytes, for every k up to past
 * GLib's 512-byte step: each field in turn lands at every distance from the
 * end of the room (copied in place or grown), and the bytes are those of
 * sfb_sip_signature_buffer(); an error leaves the buffer as it was. */
static void
test_append (void)
{
  static const char text[] = "SIP/2.0 200 OK\r\n"
                             "Via: SIP/2.0/TLS 192.168.1.5:2301;branch=z9hG4bKf4b1\r\n"
                             "From: <sip:user@cosmo.local>;tag=3e49177a52;epid=7ff7b4b1e0\r\n"
                             "To: <sip:user@cosmo.local>;tag=5E61CCD925D17E043D9A74835A88F664\r\n"
                             "P-Asserted-Identity: <sip:pai@cosmo.local>, <tel:+1555>\r\n"
                             "Call-ID: " CALL_ID "\r\n"
                             "CSeq: 3 REGISTER\r\n"
                             "Expires: 7200\r\n"
                             "Content-Length: 0\r\n\r\n";
  static const char expected[]
      = "<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"
        "<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local>"
        "<3e49177a52><sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664>"
        "<sip:pai@cosmo.local><tel:+1555><7200><200>";
  static const char bad[] = "OPTIONS sip:a@b SIP/2.0\r\nCSeq: REGISTER\r\n\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, sizeof text - 1, &error);
  g_autoptr (SfbSipMessage) bad_msg = sfb_sip_message_parse (bad, sizeof bad - 1, NULL);
  SfbSipSignatureParams params = {
    .protocol = "NTLM",
    .rand = "9616454F",
    .num = "1",
    .realm = REALM,
    .targetname = TARGET,
    .version = 4,
  };
  g_autofree char *whole = NULL;

  g_assert_no_error (error);
  whole = sfb_sip_signature_buffer (msg, &params, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (whole, ==, expected);
  for (gsize k = 0; k <= 700; k++)
    {
      g_autoptr (GString) out = g_string_new (NULL);
      g_autoptr (GString) reused = g_string_sized_new (k + 1);

      for (gsize i = 0; i < k; i++)
        g_string_append_c (out, (char) ('a' + i % 26));
      g_string_append_len (reused, out->str, (gssize) out->len);
      g_assert_true (sfb_sip_signature_buffer_append (out, msg, &params, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (out->len, ==, k + sizeof expected - 1);
      g_assert_cmpuint (strlen (out->str), ==, out->len);
      g_assert_cmpstr (out->str + k, ==, expected);
      g_assert_cmpint (memcmp (out->str, reused->str, k), ==, 0);

      g_assert_false (sfb_sip_signature_buffer_append (reused, bad_msg, &params, &error));
      g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_cmpuint (reused->len, ==, k);
      g_assert_cmpuint (strlen (reused->str), ==, k);
      g_assert_cmpint (memcmp (out->str, reused->str, k), ==, 0);
    }
}

static void
test_params_from_auth (void)
{
  g_autoptr (GPtrArray) no_rand = sfb_sip_auth_parse ("NTLM snum=\"1\"", -1, NULL);
  g_autoptr (GPtrArray) client = sfb_sip_auth_parse (
      "TLS-DSK crand=\"ab\", cnum=\"9\", realm=\"r\", targetname=\"t\"", -1, NULL);
  SfbSipSignatureParams params = { .version = 4 };
  g_autoptr (GError) error = NULL;

  g_assert_false (sfb_sip_signature_params_init_from_auth (&params, no_rand->pdata[0], &error));
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_INVALID);
  g_clear_error (&error);
  /* without a version parameter the caller's value stays */
  g_assert_true (sfb_sip_signature_params_init_from_auth (&params, client->pdata[0], &error));
  g_assert_cmpstr (params.protocol, ==, "TLS-DSK");
  g_assert_cmpstr (params.rand, ==, "ab");
  g_assert_cmpstr (params.num, ==, "9");
  g_assert_cmpstr (params.realm, ==, "r");
  g_assert_cmpstr (params.targetname, ==, "t");
  g_assert_cmpuint (params.version, ==, 4);
}

/* A From or To that does not parse fails validation and the signature
 * every time it is asked, whichever comes first (the check is kept only
 * when it passes) */
static void
test_unparsed_address (void)
{
  static const char *const texts[] = {
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TLS h\r\n"
    "From: <sip:user@cosmo.local;tag=1\r\n"
    "To: <sip:user@cosmo.local>;tag=2\r\n"
    "Call-ID: c\r\n"
    "CSeq: 3 REGISTER\r\n"
    "Content-Length: 0\r\n\r\n",
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TLS h\r\n"
    "From: <sip:user@cosmo.local>;tag=1\r\n"
    "To: <sip:user@cosmo.local>;tag=\"2\r\n"
    "Call-ID: c\r\n"
    "CSeq: 3 REGISTER\r\n"
    "Content-Length: 0\r\n\r\n",
  };
  static const char *const names[] = { "From", "To" };
  SfbSipSignatureParams params = {
    .protocol = "NTLM",
    .rand = "1",
    .num = "1",
    .realm = REALM,
    .targetname = TARGET,
    .version = 4,
  };

  for (gsize t = 0; t < G_N_ELEMENTS (texts); t++)
    for (guint validate_first = 0; validate_first < 2; validate_first++)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (texts[t], strlen (texts[t]), &error);
        g_autofree char *want
            = g_strdup_printf ("cannot sign or verify: %s does not parse", names[t]);

        g_assert_no_error (error);
        for (guint round = 0; round < 2; round++)
          {
            g_autoptr (GError) validate_error = NULL;
            g_autoptr (GError) sign_error = NULL;
            g_autofree char *buffer = NULL;

            if (validate_first)
              g_assert_false (sfb_sip_message_validate (msg, &validate_error));
            buffer = sfb_sip_signature_buffer (msg, &params, &sign_error);
            g_assert_null (buffer);
            g_assert_error (sign_error, SFB_SIP_ERROR, SFB_SIP_ERROR_INVALID);
            g_assert_cmpstr (sign_error->message, ==, want);
            if (!validate_first)
              g_assert_false (sfb_sip_message_validate (msg, &validate_error));
            g_assert_error (validate_error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED);
            g_assert_true (g_str_has_prefix (validate_error->message, names[t]));
          }
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sip/signature/unparsed-address", test_unparsed_address);
  g_test_add_func ("/sip/signature/spec-register", test_spec_register);
  g_test_add_func ("/sip/signature/spec-200", test_spec_200);
  g_test_add_func ("/sip/signature/after-validation", test_after_validation);
  g_test_add_func ("/sip/signature/identity", test_identity);
  g_test_add_func ("/sip/signature/version-2", test_version_2);
  g_test_add_func ("/sip/signature/errors", test_errors);
  g_test_add_func ("/sip/signature/params-from-auth", test_params_from_auth);
  g_test_add_func ("/sip/signature/append", test_append);

  return g_test_run ();
}
