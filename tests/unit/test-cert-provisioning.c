/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Certificate provisioning pieces: PSHA1, key + PKCS#10, the certificate
 * store, the SOAP parsers over sample and hostile documents, and the
 * proof-key signature checked by re-canonicalizing in context. */
#include "sfb-cert-provisioning.h"
#include "sfb-error.h"

#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <string.h>
#include <sys/stat.h>

static char *
to_hex (const guint8 *data, gsize len)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", data[i]);
  return g_string_free (out, FALSE);
}

/* ---- PSHA1: RFC 2246 §5 P_SHA1; expected values from an independent
 * implementation (Python's hmac module, see the commit message) ---- */
static void
test_psha1 (void)
{
  guint8 secret[32];
  guint8 seed[32];
  guint8 out[45];
  g_autofree char *hex1 = NULL;
  g_autofree char *hex2 = NULL;

  for (guint i = 0; i < 32; i++)
    {
      secret[i] = (guint8) i;
      seed[i] = (guint8) (100 + i);
    }
  sfb_cert_prov_psha1 (secret, 32, seed, 32, out, 32);
  hex1 = to_hex (out, 32);
  g_assert_cmpstr (hex1, ==, "5f2f3bae6385bb76c4c85bd8393fc091b7ac48d8270dd39613328dd67ce8b566");

  /* more than one block, a partial last block */
  sfb_cert_prov_psha1 ((const guint8 *) "secret", 6, (const guint8 *) "label seed", 10, out, 45);
  hex2 = to_hex (out, 45);
  g_assert_cmpstr (hex2,
                   ==,
                   "61b482af1b01128d9ef729f112a4f30ea2361e991ebc743e1086b63326330f6ec8e63cb71f4c"
                   "bec698c01df285");
}

/* ---- key and request ---- */

static GBytes *key_pem;
static GBytes *csr_der;

static void
test_request (void)
{
  gnutls_x509_crq_t crq;
  gnutls_datum_t in = { (unsigned char *) g_bytes_get_data (csr_der, NULL),
                        (unsigned int) g_bytes_get_size (csr_der) };
  char cn[128];
  size_t cn_len = sizeof cn;
  unsigned int bits = 0;

  g_assert_cmpint (gnutls_x509_crq_init (&crq), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_import (crq, &in, GNUTLS_X509_FMT_DER), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_verify (crq, 0), ==, 0);
  g_assert_cmpint (
      gnutls_x509_crq_get_dn_by_oid (crq, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len), ==, 0);
  g_assert_cmpstr (cn, ==, "alice@contoso.test");
  g_assert_cmpint (gnutls_x509_crq_get_pk_algorithm (crq, &bits), ==, GNUTLS_PK_RSA);
  g_assert_cmpuint (bits, ==, 2048);
  gnutls_x509_crq_deinit (crq);
  g_assert_nonnull (strstr (g_bytes_get_data (key_pem, NULL), "-----BEGIN PRIVATE KEY-----"));
}

/* A certificate for the CSR's key, issued by a throw-away CA, valid for
 * @lifetime_s: what the provisioning service would return (DER) */
static GBytes *
issue (GBytes *csr, gint64 lifetime_s)
{
  gnutls_x509_privkey_t ca_key;
  gnutls_x509_crt_t ca;
  gnutls_x509_crt_t crt;
  gnutls_x509_crq_t crq;
  gnutls_datum_t in
      = { (unsigned char *) g_bytes_get_data (csr, NULL), (unsigned int) g_bytes_get_size (csr) };
  gnutls_datum_t out = { 0 };
  time_t now = time (NULL);
  guint8 serial[4] = { 1, 2, 3, 4 };
  GBytes *der;

  gnutls_x509_privkey_init (&ca_key);
  g_assert_cmpint (gnutls_x509_privkey_generate (ca_key, GNUTLS_PK_RSA, 1024, 0), ==, 0);
  gnutls_x509_crt_init (&ca);
  gnutls_x509_crt_set_version (ca, 3);
  gnutls_x509_crt_set_serial (ca, serial, sizeof serial);
  gnutls_x509_crt_set_activation_time (ca, now - 60);
  gnutls_x509_crt_set_expiration_time (ca, now + 86400);
  gnutls_x509_crt_set_dn (ca, "CN=Provisioning CA", NULL);
  gnutls_x509_crt_set_key (ca, ca_key);
  gnutls_x509_crt_set_basic_constraints (ca, 1, -1);
  g_assert_cmpint (gnutls_x509_crt_sign2 (ca, ca, ca_key, GNUTLS_DIG_SHA256, 0), ==, 0);

  gnutls_x509_crq_init (&crq);
  g_assert_cmpint (gnutls_x509_crq_import (crq, &in, GNUTLS_X509_FMT_DER), ==, 0);
  gnutls_x509_crt_init (&crt);
  g_assert_cmpint (gnutls_x509_crt_set_crq (crt, crq), ==, 0);
  gnutls_x509_crt_set_version (crt, 3);
  serial[3] = 5;
  gnutls_x509_crt_set_serial (crt, serial, sizeof serial);
  gnutls_x509_crt_set_activation_time (crt, now - 60);
  gnutls_x509_crt_set_expiration_time (crt, (time_t) (now + lifetime_s));
  g_assert_cmpint (gnutls_x509_crt_sign2 (crt, ca, ca_key, GNUTLS_DIG_SHA256, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &out), ==, 0);
  der = g_bytes_new (out.data, out.size);
  gnutls_free (out.data);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_crq_deinit (crq);
  gnutls_x509_crt_deinit (ca);
  gnutls_x509_privkey_deinit (ca_key);
  return der;
}

static void
test_store (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sfb-certprov-XXXXXX", NULL);
  g_autofree char *path = sfb_user_certificate_path (dir, "alice@contoso.test");
  g_autofree char *tls_dir = g_path_get_dirname (path);
  g_autoptr (GBytes) der = issue (csr_der, 2 * 86400);
  g_autoptr (GBytes) short_der = issue (csr_der, 30 * 60);
  g_autoptr (SfbUserCertificate) saved = NULL;
  g_autoptr (SfbUserCertificate) loaded = NULL;
  g_autoptr (SfbUserCertificate) none = NULL;
  g_autoptr (SfbUserCertificate) expiring = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) other_key = NULL;
  g_autoptr (GBytes) other_csr = NULL;
  gint64 now = g_get_real_time ();
  struct stat st;

  /* nothing stored yet */
  none = sfb_user_certificate_load (dir, "alice@contoso.test", &error);
  g_assert_null (none);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);

  saved = sfb_user_certificate_save (dir, "alice@contoso.test", der, key_pem, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (tls_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_true (sfb_user_certificate_is_usable (saved, now));

  /* a restart reads back the same certificate and key */
  loaded = sfb_user_certificate_load (dir, "alice@contoso.test", &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (loaded->certificate_pem, saved->certificate_pem));
  g_assert_nonnull (strstr (g_bytes_get_data (loaded->key_pem, NULL), "PRIVATE KEY"));
  g_assert_cmpint (loaded->not_after, ==, saved->not_after);
  g_assert_cmpint (loaded->not_after - now, >, G_GINT64_CONSTANT (47 * 3600) * G_USEC_PER_SEC);
  g_assert_true (sfb_user_certificate_is_usable (loaded, now));
  /* less than an hour left: provision again */
  g_assert_false (sfb_user_certificate_is_usable (
      loaded, loaded->not_after - G_GINT64_CONSTANT (59 * 60) * G_USEC_PER_SEC));

  expiring = sfb_user_certificate_save (dir, "alice@contoso.test", short_der, key_pem, &error);
  g_assert_no_error (error);
  g_assert_false (sfb_user_certificate_is_usable (expiring, now));
  /* a directory someone opened up is closed again when the key is written */
  g_assert_cmpint (g_chmod (tls_dir, 0755), ==, 0);
  g_clear_pointer (&expiring, sfb_user_certificate_free);
  expiring = sfb_user_certificate_save (dir, "alice@contoso.test", short_der, key_pem, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (tls_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* a certificate for another key is refused, the stored one kept */
  g_assert_true (sfb_cert_prov_make_request ("bob@contoso.test", &other_key, &other_csr, &error));
  g_assert_null (sfb_user_certificate_save (dir, "alice@contoso.test", der, other_key, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
  g_clear_error (&error);
  g_clear_pointer (&loaded, sfb_user_certificate_free);
  loaded = sfb_user_certificate_load (dir, "alice@contoso.test", &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (loaded->certificate_pem, expiring->certificate_pem));

  /* a corrupt file is an error, not a crash */
  g_assert_true (g_file_set_contents (path, "garbage", -1, NULL));
  g_clear_pointer (&loaded, sfb_user_certificate_free);
  loaded = sfb_user_certificate_load (dir, "alice@contoso.test", &error);
  g_assert_null (loaded);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);

  /* file names stay inside the state dir */
  {
    g_autofree char *odd = sfb_user_certificate_path (dir, "../../etc/passwd");
    g_autofree char *odd_dir = g_path_get_dirname (odd);

    g_assert_cmpstr (odd_dir, ==, tls_dir);
  }
  g_unlink (path);
  g_rmdir (tls_dir);
  g_rmdir (dir);
}

/* ---- parsers ---- */

#define MEX                                                                                        \
  "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\""                              \
  " xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\""                                    \
  " xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/"                                           \
  "oasis-200401-wss-wssecurity-utility-1.0.xsd\""                                                  \
  " xmlns:sp=\"http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702\""                        \
  " xmlns:wsa10=\"http://www.w3.org/2005/08/addressing\""                                          \
  " xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\">"                                         \
  "<wsp:Policy wsu:Id=\"CertProvisioningServiceWebTicketBearer_policy\"><wsp:ExactlyOne>"          \
  "<wsp:All><sp:SignedSupportingTokens><wsp:Policy><sp:IssuedToken><sp:Issuer>"                    \
  "<wsa10:Address>https://wrong.contoso.test/bearer</wsa10:Address></sp:Issuer>"                   \
  "</sp:IssuedToken></wsp:Policy></sp:SignedSupportingTokens></wsp:All></wsp:ExactlyOne>"          \
  "</wsp:Policy>"                                                                                  \
  "<wsp:Policy wsu:Id=\"CertProvisioningServiceWebTicketProof_SHA1_policy\"><wsp:ExactlyOne>"      \
  "<wsp:All><sp:EndorsingSupportingTokens><wsp:Policy><sp:IssuedToken><sp:Issuer>"                 \
  "<wsa10:Address> https://fe.contoso.test/WebTicket/WebTicketService.svc </wsa10:Address>"        \
  "</sp:Issuer></sp:IssuedToken></wsp:Policy></sp:EndorsingSupportingTokens></wsp:All>"            \
  "</wsp:ExactlyOne></wsp:Policy>"                                                                 \
  "<wsdl:service name=\"CertProvisioningService\">"                                                \
  "<wsdl:port name=\"CertProvisioningServiceWebTicketBearer\" binding=\"b1\">"                     \
  "<soap:address location=\"https://fe.contoso.test/CertProv/"                                     \
  "CertProvisioningService.svc/WebTicket_Bearer\"/></wsdl:port>"                                   \
  "<wsdl:port name=\"CertProvisioningServiceWebTicketProof_SHA1\" binding=\"b2\">"                 \
  "<soap:address location=\"https://fe.contoso.test/CertProv/"                                     \
  "CertProvisioningService.svc/WebTicket_Proof_SHA1\"/></wsdl:port>"                               \
  "</wsdl:service></wsdl:definitions>"

#define WEBTICKET_MEX                                                                              \
  "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\""                              \
  " xmlns:soap12=\"http://schemas.xmlsoap.org/wsdl/soap12/\">"                                     \
  "<wsdl:service name=\"WebTicketService\">"                                                       \
  "<wsdl:port name=\"WebTicketServiceWsFedBearer\" binding=\"x\"><soap12:address"                  \
  " location=\"https://fe.contoso.test/WebTicket/WebTicketService.svc/WsFed_bearer\"/>"            \
  "</wsdl:port>"                                                                                   \
  "<wsdl:port name=\"WebTicketServiceWinNegotiate\" binding=\"y\"><soap12:address"                 \
  " location=\"https://fe.contoso.test/WebTicket/WebTicketService.svc/WinNegotiate\"/>"            \
  "</wsdl:port></wsdl:service></wsdl:definitions>"

static void
test_parse_mex (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbCertProvMetadata) meta = sfb_cert_prov_parse_mex (MEX, strlen (MEX), &error);
  g_autofree char *port = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (meta->issuer, ==, "https://fe.contoso.test/WebTicket/WebTicketService.svc");
  g_assert_cmpstr (meta->auth_uri,
                   ==,
                   "https://fe.contoso.test/CertProv/CertProvisioningService.svc/"
                   "WebTicket_Proof_SHA1");
  g_assert_true (meta->proof);

  port = sfb_cert_prov_parse_webticket_mex (WEBTICKET_MEX, strlen (WEBTICKET_MEX), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (port, ==, "https://fe.contoso.test/WebTicket/WebTicketService.svc/WinNegotiate");

  /* the wrong document for each parser */
  g_assert_null (sfb_cert_prov_parse_mex (WEBTICKET_MEX, strlen (WEBTICKET_MEX), &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (sfb_cert_prov_parse_webticket_mex (MEX, strlen (MEX), &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
}

#define RSTR                                                                                       \
  "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"                     \
  "<RequestSecurityTokenResponse xmlns=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\">"      \
  "<TokenType>urn:oasis:names:tc:SAML:1.0:assertion</TokenType>"                                   \
  "<RequestedSecurityToken>"                                                                       \
  "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\" MajorVersion=\"1\""        \
  " MinorVersion=\"1\" AssertionID=\"SamlSecurityToken-6b5ea4e2\" Issuer=\"fe.contoso.test\">"     \
  "<saml:Conditions NotBefore=\"2024-05-01T10:00:00Z\" NotOnOrAfter=\"2024-05-01T18:00:00Z\"/>"    \
  "<saml:AttributeStatement><saml:Subject><saml:NameIdentifier>sip:alice@contoso.test"             \
  "</saml:NameIdentifier></saml:Subject></saml:AttributeStatement></saml:Assertion>"               \
  "</RequestedSecurityToken>"                                                                      \
  "<Lifetime><wsu:Created xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/"                     \
  "oasis-200401-wss-wssecurity-utility-1.0.xsd\">2024-05-01T10:00:00Z</wsu:Created>"               \
  "<wsu:Expires xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/"                               \
  "oasis-200401-wss-wssecurity-utility-1.0.xsd\">2024-05-01T18:00:00Z</wsu:Expires></Lifetime>"    \
  "<Entropy><BinarySecret>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=</BinarySecret></Entropy>"   \
  "</RequestSecurityTokenResponse></s:Body></s:Envelope>"

#define FAULT                                                                                      \
  "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault>"            \
  "<faultcode>s:Client</faultcode><faultstring>Generic</faultstring><detail>"                      \
  "<error xmlns=\"http://schemas.microsoft.com/OCS/AuthWebServices/\"><internalerror>"             \
  "<text>The user is not SIP enabled\r\n&lt;script&gt;</text></internalerror></error>"             \
  "</detail></s:Fault></s:Body></s:Envelope>"

static void
test_parse_rstr (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbWebTicket) ticket = sfb_cert_prov_parse_rstr (RSTR, strlen (RSTR), &error);
  g_autoptr (GDateTime) expires = g_date_time_new_utc (2024, 5, 1, 18, 0, 0);
  gsize len = 0;

  g_assert_no_error (error);
  g_assert_cmpstr (ticket->assertion_id, ==, "SamlSecurityToken-6b5ea4e2");
  g_assert_cmpstr (ticket->created, ==, "2024-05-01T10:00:00Z");
  g_assert_cmpstr (ticket->expires, ==, "2024-05-01T18:00:00Z");
  g_assert_cmpint (ticket->expires_at, ==, g_date_time_to_unix (expires) * G_USEC_PER_SEC);
  g_assert_nonnull (ticket->server_entropy);
  g_assert_cmpuint (g_bytes_get_size (ticket->server_entropy), ==, 32);
  /* the assertion stands on its own: its namespace declared on it */
  g_assert_true (g_str_has_prefix (ticket->assertion,
                                   "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:"
                                   "assertion\""));
  g_assert_true (g_str_has_suffix (ticket->assertion, "</saml:Assertion>"));
  g_assert_null (strstr (ticket->assertion, "RequestedSecurityToken"));
  (void) len;

  g_assert_null (sfb_cert_prov_parse_rstr (FAULT, strlen (FAULT), &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
  g_assert_nonnull (strstr (error->message, "The user is not SIP enabled"));
  /* server text is made printable, single-line */
  g_assert_null (strpbrk (error->message, "\r\n<>"));
}

static void
test_parse_certificate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) der = issue (csr_der, 86400);
  g_autofree char *b64 = g_base64_encode (g_bytes_get_data (der, NULL), g_bytes_get_size (der));
  g_autofree char *doc = g_strdup_printf (
      "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
      "<GetAndPublishCertResponse xmlns=\"http://schemas.microsoft.com/OCS/AuthWebServices/\">"
      "<RequestSecurityTokenResponse xmlns=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/\">"
      "<TokenType>x</TokenType><RequestedSecurityToken>"
      "<BinarySecurityToken xmlns=\"http://docs.oasis-open.org/wss/2004/01/"
      "oasis-200401-wss-wssecurity-secext-1.0.xsd\">%s</BinarySecurityToken>"
      "</RequestedSecurityToken></RequestSecurityTokenResponse>"
      "</GetAndPublishCertResponse></s:Body></s:Envelope>",
      b64);
  g_autoptr (GBytes) got = sfb_cert_prov_parse_certificate (doc, strlen (doc), &error);

  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (got, der));

  g_assert_null (sfb_cert_prov_parse_certificate (FAULT, strlen (FAULT), &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
  g_assert_nonnull (strstr (error->message, "The user is not SIP enabled"));
  g_clear_error (&error);

  g_assert_null (sfb_cert_prov_parse_certificate (RSTR, strlen (RSTR), &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
}

static void
test_hostile (void)
{
  static const char *const docs[] = {
    "",
    "not xml",
    "<a><b></a>",
    /* entities and DTDs are refused outright */
    "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY e \"x\">]><d>&e;</d>",
    "<?xml version=\"1.0\"?><!DOCTYPE d SYSTEM \"http://127.0.0.1/x.dtd\"><d/>",
  };
  g_autoptr (GString) deep = g_string_new (NULL);
  g_autofree char *big = g_strnfill (SFB_CERT_PROV_MAX_DOCUMENT + 1, ' ');

  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      g_autoptr (GError) e1 = NULL;
      g_autoptr (GError) e2 = NULL;
      g_autoptr (GError) e3 = NULL;
      g_autoptr (GError) e4 = NULL;

      g_assert_null (sfb_cert_prov_parse_mex (docs[i], strlen (docs[i]), &e1));
      g_assert_nonnull (e1);
      g_assert_null (sfb_cert_prov_parse_webticket_mex (docs[i], strlen (docs[i]), &e2));
      g_assert_nonnull (e2);
      g_assert_null (sfb_cert_prov_parse_rstr (docs[i], strlen (docs[i]), &e3));
      g_assert_nonnull (e3);
      g_assert_null (sfb_cert_prov_parse_certificate (docs[i], strlen (docs[i]), &e4));
      g_assert_nonnull (e4);
    }
  for (guint i = 0; i < SFB_CERT_PROV_MAX_DEPTH + 2; i++)
    g_string_append (deep, "<a>");
  for (guint i = 0; i < SFB_CERT_PROV_MAX_DEPTH + 2; i++)
    g_string_append (deep, "</a>");
  {
    g_autoptr (GError) error = NULL;

    g_assert_null (sfb_cert_prov_parse_rstr (deep->str, deep->len, &error));
    g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
    g_clear_error (&error);
    memcpy (big, "<a>", 3);
    g_assert_null (sfb_cert_prov_parse_rstr (big, strlen (big), &error));
    g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
    g_clear_error (&error);
    /* http:// endpoints are never used */
    {
      g_autofree char *http = g_strdup (MEX);
      char *at = strstr (
          http, "https://fe.contoso.test/CertProv/CertProvisioningService.svc/WebTicket_Proof");

      memmove (at + 4, at + 5, strlen (at + 5) + 1);
      g_assert_null (sfb_cert_prov_parse_mex (http, strlen (http), &error));
      g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
    }
  }
}

/* ---- builders ---- */

/* Canonical form of the element matched by @xpath, in the context of the
 * whole document (xmlC14NDocDumpMemory over an XPath node set: another
 * route than the one the code under test takes) */
static char *
c14n_in_context (xmlDoc *doc, const char *xpath)
{
  g_autofree char *expr = g_strdup_printf ("(%s/descendant-or-self::node() | %s//@* | "
                                           "%s/descendant-or-self::*/namespace::*)",
                                           xpath,
                                           xpath,
                                           xpath);
  xmlXPathContext *ctx = xmlXPathNewContext (doc);
  xmlXPathObject *obj;
  xmlChar *out = NULL;
  char *result;

  xmlXPathRegisterNs (ctx,
                      BAD_CAST "wsu",
                      BAD_CAST "http://docs.oasis-open.org/wss/2004/01/"
                               "oasis-200401-wss-wssecurity-utility-1.0.xsd");
  xmlXPathRegisterNs (ctx, BAD_CAST "ds", BAD_CAST "http://www.w3.org/2000/09/xmldsig#");
  obj = xmlXPathEvalExpression (BAD_CAST expr, ctx);
  g_assert_nonnull (obj);
  g_assert_cmpint (
      xmlC14NDocDumpMemory (doc, obj->nodesetval, XML_C14N_EXCLUSIVE_1_0, NULL, 0, &out), >, 0);
  result = g_strdup ((const char *) out);
  xmlFree (out);
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (ctx);
  return result;
}

static char *
element_text (xmlDoc *doc, const char *xpath)
{
  xmlXPathContext *ctx = xmlXPathNewContext (doc);
  xmlXPathObject *obj;
  char *result;
  xmlChar *content;

  xmlXPathRegisterNs (ctx, BAD_CAST "ds", BAD_CAST "http://www.w3.org/2000/09/xmldsig#");
  xmlXPathRegisterNs (ctx,
                      BAD_CAST "wsse",
                      BAD_CAST "http://docs.oasis-open.org/wss/2004/01/"
                               "oasis-200401-wss-wssecurity-secext-1.0.xsd");
  obj = xmlXPathEvalExpression (BAD_CAST xpath, ctx);
  g_assert_nonnull (obj);
  g_assert_nonnull (obj->nodesetval);
  g_assert_cmpint (obj->nodesetval->nodeNr, ==, 1);
  content = xmlNodeGetContent (obj->nodesetval->nodeTab[0]);
  result = g_strdup ((const char *) content);
  xmlFree (content);
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (ctx);
  return result;
}

static void
test_security (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbWebTicket) ticket = sfb_cert_prov_parse_rstr (RSTR, strlen (RSTR), &error);
  guint8 client_entropy[32];
  guint8 proof[32];
  g_autofree char *security = NULL;
  g_autofree char *envelope = NULL;
  g_autofree char *timestamp = NULL;
  g_autofree char *signed_info = NULL;
  g_autofree char *digest_value = NULL;
  g_autofree char *signature_value = NULL;
  g_autofree char *key_id = NULL;
  g_autofree char *want_digest = NULL;
  g_autofree char *want_signature = NULL;
  guint8 digest[20];
  guint8 mac[20];
  xmlDoc *doc;

  g_assert_no_error (error);
  memset (client_entropy, 0x5a, sizeof client_entropy);
  /* proof key = P_SHA1 (client entropy, server entropy) */
  sfb_cert_prov_psha1 (client_entropy,
                       sizeof client_entropy,
                       g_bytes_get_data (ticket->server_entropy, NULL),
                       g_bytes_get_size (ticket->server_entropy),
                       proof,
                       sizeof proof);
  security = sfb_cert_prov_build_security (ticket, proof, sizeof proof, &error);
  g_assert_no_error (error);

  /* inside a full SOAP message, as the server sees it */
  envelope = sfb_cert_prov_build_get_and_publish_cert (
      "https://fe.contoso.test/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1",
      security,
      "0123ABCD-0000-1111-2222-333344445555",
      "alice@contoso.test",
      csr_der,
      "11111111-2222-3333-4444-555555555555",
      "66666666-7777-8888-9999-000000000000");
  doc = xmlReadMemory (envelope, (int) strlen (envelope), NULL, NULL, XML_PARSE_NONET);
  g_assert_nonnull (doc);

  timestamp = c14n_in_context (doc, "//wsu:Timestamp");
  signed_info = c14n_in_context (doc, "//ds:SignedInfo");
  digest_value = element_text (doc, "//ds:DigestValue");
  signature_value = element_text (doc, "//ds:SignatureValue");
  key_id = element_text (doc, "//wsse:KeyIdentifier");
  g_assert_cmpstr (key_id, ==, "SamlSecurityToken-6b5ea4e2");
  g_assert_nonnull (strstr (timestamp, "wsu:Id=\"timestamp\""));
  g_assert_nonnull (strstr (timestamp, "<wsu:Created>2024-05-01T10:00:00Z</wsu:Created>"));

  gnutls_hash_fast (GNUTLS_DIG_SHA1, timestamp, strlen (timestamp), digest);
  want_digest = g_base64_encode (digest, sizeof digest);
  g_assert_cmpstr (digest_value, ==, want_digest);
  gnutls_hmac_fast (GNUTLS_MAC_SHA1, proof, sizeof proof, signed_info, strlen (signed_info), mac);
  want_signature = g_base64_encode (mac, sizeof mac);
  g_assert_cmpstr (signature_value, ==, want_signature);

  /* the CSR travels base64 with CRLF every 76 characters */
  {
    g_autofree char *token = element_text (doc, "//wsse:BinarySecurityToken");
    /* XML turns CRLF into LF */
    g_auto (GStrv) lines = g_strsplit (token, "\n", -1);
    gsize out_len = 0;
    g_autofree guchar *raw = NULL;
    g_autofree char *joined = g_strjoinv ("", lines);

    g_assert_cmpuint (g_strv_length (lines), >, 1);
    g_assert_nonnull (strstr (envelope, "\r\n"));
    g_assert_cmpuint (strlen (lines[0]), ==, 76);
    raw = g_base64_decode (joined, &out_len);
    g_assert_cmpmem (raw, out_len, g_bytes_get_data (csr_der, NULL), g_bytes_get_size (csr_der));
  }
  xmlFreeDoc (doc);
}

static void
test_rst (void)
{
  guint8 entropy_bytes[32] = { 1, 2, 3 };
  g_autoptr (GBytes) entropy = g_bytes_new (entropy_bytes, sizeof entropy_bytes);
  g_autofree char *rst = sfb_cert_prov_build_rst (
      "https://fe.contoso.test/CertProv/x?a=1&b=<2>", "sip:alice@contoso.test", entropy, "uuid-1");
  xmlDoc *doc = xmlReadMemory (rst, (int) strlen (rst), NULL, NULL, XML_PARSE_NONET);

  /* well-formed even with markup characters in the values */
  g_assert_nonnull (doc);
  g_assert_nonnull (strstr (rst, "x?a=1&amp;b=&lt;2&gt;"));
  g_assert_nonnull (strstr (rst, "<auth:Value>sip:alice@contoso.test</auth:Value>"));
  g_assert_nonnull (strstr (rst, "/SymmetricKey</wst:KeyType>"));
  xmlFreeDoc (doc);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (sfb_cert_prov_make_request ("alice@contoso.test", &key_pem, &csr_der, &error));
  g_assert_no_error (error);

  g_test_add_func ("/cert-provisioning/psha1", test_psha1);
  g_test_add_func ("/cert-provisioning/request", test_request);
  g_test_add_func ("/cert-provisioning/store", test_store);
  g_test_add_func ("/cert-provisioning/parse-mex", test_parse_mex);
  g_test_add_func ("/cert-provisioning/parse-rstr", test_parse_rstr);
  g_test_add_func ("/cert-provisioning/parse-certificate", test_parse_certificate);
  g_test_add_func ("/cert-provisioning/hostile", test_hostile);
  g_test_add_func ("/cert-provisioning/security", test_security);
  g_test_add_func ("/cert-provisioning/rst", test_rst);
  return g_test_run ();
}
