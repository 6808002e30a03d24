/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SfbTlsDskContext against a GnuTLS server session in this file: the legs
 * of docs/protocol.md §4.4, key material compared on both sides through
 * signatures, tampering, the outer-certificate rule, SA lifetime. */
#include "sfb-error.h"
#include "sfb-sip-auth-header.h"
#include "sfb-sip-security.h"
#include "sfb-sip-signature.h"
#include "sfb-test-certs.h"
#include "sfb-tls-dsk-context.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#define HOUR (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)

/* ---- certificates made for the test ---- */

static SfbTestKeyPair server_pair;
static SfbTestKeyPair client_pair;
static SfbTestKeyPair other_pair;

/* ---- the in-memory server ---- */

typedef struct
{
  gnutls_session_t session;
  gnutls_certificate_credentials_t cred;
  GByteArray *in;
  gsize in_pos;
  GByteArray *out;
} Server;

static ssize_t
server_push (gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
  Server *server = ptr;

  g_byte_array_append (server->out, data, (guint) len);
  return (ssize_t) len;
}

static ssize_t
server_pull (gnutls_transport_ptr_t ptr, void *data, size_t len)
{
  Server *server = ptr;
  gsize left = server->in->len - server->in_pos;

  if (left == 0)
    {
      gnutls_transport_set_errno (server->session, EAGAIN);
      return -1;
    }
  len = MIN (len, left);
  memcpy (data, server->in->data + server->in_pos, len);
  server->in_pos += len;
  return (ssize_t) len;
}

static Server *
server_new (const char *priority, const SfbTestKeyPair *pair)
{
  Server *server = g_new0 (Server, 1);
  gnutls_datum_t cert = { (unsigned char *) g_bytes_get_data (pair->cert_pem, NULL),
                          (unsigned int) g_bytes_get_size (pair->cert_pem) };
  gnutls_datum_t key = { (unsigned char *) g_bytes_get_data (pair->key_pem, NULL),
                         (unsigned int) g_bytes_get_size (pair->key_pem) };

  server->in = g_byte_array_new ();
  server->out = g_byte_array_new ();
  g_assert_cmpint (gnutls_certificate_allocate_credentials (&server->cred), ==, 0);
  g_assert_cmpint (
      gnutls_certificate_set_x509_key_mem (server->cred, &cert, &key, GNUTLS_X509_FMT_PEM), >=, 0);
  g_assert_cmpint (gnutls_init (&server->session, GNUTLS_SERVER), ==, 0);
  g_assert_cmpint (gnutls_priority_set_direct (server->session, priority, NULL), ==, 0);
  g_assert_cmpint (
      gnutls_credentials_set (server->session, GNUTLS_CRD_CERTIFICATE, server->cred), ==, 0);
  /* TLS-DSK: the client must present its certificate (docs/protocol.md §8.1);
   * the test checks it by hand below instead of against a CA */
  gnutls_certificate_server_set_request (server->session, GNUTLS_CERT_REQUIRE);
  gnutls_transport_set_ptr (server->session, server);
  gnutls_transport_set_push_function (server->session, server_push);
  gnutls_transport_set_pull_function (server->session, server_pull);
  return server;
}

static void
server_free (Server *server)
{
  gnutls_deinit (server->session);
  gnutls_certificate_free_credentials (server->cred);
  g_byte_array_unref (server->in);
  g_byte_array_unref (server->out);
  g_free (server);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_free)

/* Feeds a client token; returns the server's answer and its handshake status */
static GBytes *
server_leg (Server *server, GBytes *client_token, int *ret)
{
  GBytes *answer;

  g_byte_array_append (
      server->in, g_bytes_get_data (client_token, NULL), (guint) g_bytes_get_size (client_token));
  do
    *ret = gnutls_handshake (server->session);
  while (*ret < 0 && *ret != GNUTLS_E_AGAIN && !gnutls_error_is_fatal (*ret));
  if (*ret < 0 && *ret != GNUTLS_E_AGAIN)
    gnutls_alert_send_appropriate (server->session, *ret);
  answer = g_bytes_new (server->out->data, server->out->len);
  g_byte_array_set_size (server->out, 0);
  return answer;
}

static GBytes *
server_key (Server *server, gsize offset)
{
  guint8 material[128];

  g_assert_cmpint (gnutls_prf (server->session,
                               strlen ("client EAP encryption"),
                               "client EAP encryption",
                               0,
                               0,
                               NULL,
                               sizeof material,
                               (char *) material),
                   ==,
                   0);
  return g_bytes_new (material + offset, 32);
}

static GBytes *
hmac_sha1 (GBytes *key, const char *data)
{
  guint8 out[20];

  g_assert_cmpint (gnutls_hmac_fast (GNUTLS_MAC_SHA1,
                                     g_bytes_get_data (key, NULL),
                                     g_bytes_get_size (key),
                                     data,
                                     strlen (data),
                                     out),
                   ==,
                   0);
  return g_bytes_new (out, sizeof out);
}

#define SERVER_TLS10 "NONE:+VERS-TLS1.0:+RSA:+AES-128-CBC:+SHA1:+COMP-NULL:+SIGN-ALL:+CTYPE-X509"
#define SERVER_TLS12                                                                               \
  "NONE:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0:+RSA:+AES-256-CBC:+AES-128-CBC:+SHA1:"              \
  "+COMP-NULL:+SIGN-ALL:+CTYPE-X509"
#define SERVER_ECDHE_ONLY                                                                          \
  "NONE:+VERS-TLS1.2:+ECDHE-RSA:+AES-128-GCM:+AEAD:+COMP-NULL:+SIGN-ALL:+CTYPE-X509:+GROUP-ALL"

static SfbAuthContext *
client_new (void)
{
  g_autoptr (GError) error = NULL;
  SfbAuthContext *context
      = sfb_tls_dsk_context_new (client_pair.cert_pem, client_pair.key_pem, &error);

  g_assert_no_error (error);
  sfb_tls_dsk_context_set_server_certificate (SFB_TLS_DSK_CONTEXT (context), server_pair.cert_der);
  return context;
}

/* Runs the four legs; returns the number of client tokens with data */
static guint
handshake (SfbAuthContext *context, Server *server)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) hello = NULL;
  g_autoptr (GBytes) flight2 = NULL;
  g_autoptr (GBytes) flight3 = NULL;
  g_autoptr (GBytes) flight4 = NULL;
  g_autoptr (GBytes) last = NULL;
  int ret;

  /* R2: ClientHello */
  hello = sfb_auth_context_step (context, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (hello), >, 5);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (hello, NULL))[0], ==, 22);
  g_assert_false (sfb_auth_context_is_established (context));

  /* 401: ServerHello .. ServerHelloDone */
  flight2 = server_leg (server, hello, &ret);
  g_assert_cmpint (ret, ==, GNUTLS_E_AGAIN);

  /* R3: Certificate, ClientKeyExchange, CertificateVerify, CCS, Finished */
  flight3 = sfb_auth_context_step (context, flight2, &error);
  g_assert_no_error (error);
  g_assert_false (sfb_auth_context_is_established (context));

  /* 401: CCS, Finished */
  flight4 = server_leg (server, flight3, &ret);
  g_assert_cmpint (ret, ==, GNUTLS_E_SUCCESS);
  g_assert_cmpuint (g_bytes_get_size (flight4), >, 0);

  /* R4: nothing more to send, signed */
  last = sfb_auth_context_step (context, flight4, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (last), ==, 0);
  g_assert_true (sfb_auth_context_is_established (context));
  return 2;
}

static void
check_keys (SfbAuthContext *context, Server *server)
{
  const char *buffer = "<TLS-DSK><1a2b3c4d><1><SIP Communications Service><fe.contoso.test>"
                       "<callid><1><REGISTER><sip:alice@contoso.test><tag><sip:alice@contoso.test>"
                       "<><><><>";
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (GBytes) client_key = server_key (server, 64);
  g_autoptr (GBytes) server_sign_key = server_key (server, 96);
  g_autoptr (GBytes) want = hmac_sha1 (client_key, buffer);
  g_autoptr (GBytes) rspauth = hmac_sha1 (server_sign_key, buffer);
  g_autoptr (GByteArray) tampered = NULL;
  g_autoptr (GBytes) tampered_bytes = NULL;
  g_autofree char *tampered_buffer = g_strdup (buffer);

  /* client signature = HMAC-SHA1 (key material [64..95]) as the server derives it */
  signature = sfb_auth_context_sign (context, buffer, strlen (buffer), &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (signature, want));

  /* the server's signature with [96..127] verifies */
  g_assert_true (sfb_auth_context_verify (context, buffer, strlen (buffer), rspauth, &error));
  g_assert_no_error (error);

  /* the server cannot pass off the client key as its own */
  g_assert_false (sfb_auth_context_verify (context, buffer, strlen (buffer), want, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
  g_clear_error (&error);

  /* one flipped bit in the signature */
  tampered = g_byte_array_new ();
  g_byte_array_append (tampered, g_bytes_get_data (rspauth, NULL), 20);
  tampered->data[7] ^= 0x01;
  tampered_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&tampered));
  g_assert_false (
      sfb_auth_context_verify (context, buffer, strlen (buffer), tampered_bytes, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
  g_clear_error (&error);

  /* one changed byte in the signed message */
  tampered_buffer[strlen (tampered_buffer) - 2] = '1';
  g_assert_false (sfb_auth_context_verify (
      context, tampered_buffer, strlen (tampered_buffer), rspauth, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
  g_clear_error (&error);

  /* a truncated signature */
  {
    g_autoptr (GBytes) shorter = g_bytes_new_from_bytes (rspauth, 0, 16);

    g_assert_false (sfb_auth_context_verify (context, buffer, strlen (buffer), shorter, &error));
    g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
    g_clear_error (&error);
  }
}

static void
check_client_certificate (Server *server)
{
  const gnutls_datum_t *peers;
  unsigned int n = 0;

  peers = gnutls_certificate_get_peers (server->session, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpmem (peers[0].data,
                   peers[0].size,
                   g_bytes_get_data (client_pair.cert_der, NULL),
                   g_bytes_get_size (client_pair.cert_der));
}

static void
test_handshake_tls10 (void)
{
  g_autoptr (SfbAuthContext) context = client_new ();
  g_autoptr (Server) server = server_new (SERVER_TLS10, &server_pair);

  handshake (context, server);
  g_assert_cmpint (gnutls_protocol_get_version (server->session), ==, GNUTLS_TLS1_0);
  g_assert_cmpint (gnutls_cipher_get (server->session), ==, GNUTLS_CIPHER_AES_128_CBC);
  check_client_certificate (server);
  check_keys (context, server);
  g_assert_nonnull (
      strstr (sfb_tls_dsk_context_get_description (SFB_TLS_DSK_CONTEXT (context)), "TLS1.0"));
}

static void
test_handshake_tls12 (void)
{
  g_autoptr (SfbAuthContext) context = client_new ();
  g_autoptr (Server) server = server_new (SERVER_TLS12, &server_pair);

  handshake (context, server);
  g_assert_cmpint (gnutls_protocol_get_version (server->session), ==, GNUTLS_TLS1_2);
  g_assert_cmpint (gnutls_kx_get (server->session), ==, GNUTLS_KX_RSA);
  check_client_certificate (server);
  check_keys (context, server);
}

/* A plain challenge after an SA starts a new one with new keys */
static void
test_restart (void)
{
  g_autoptr (SfbAuthContext) context = client_new ();
  g_autoptr (Server) first = server_new (SERVER_TLS12, &server_pair);
  g_autoptr (Server) second = server_new (SERVER_TLS12, &server_pair);
  g_autoptr (GBytes) old_key = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GBytes) old_sig = NULL;

  handshake (context, first);
  old_key = server_key (first, 64);
  old_sig = hmac_sha1 (old_key, "<x>");
  handshake (context, second);
  check_keys (context, second);
  sig = sfb_auth_context_sign (context, "<x>", 3, NULL);
  g_assert_false (g_bytes_equal (sig, old_sig));
}

static void
expect_failure (SfbAuthContext *context, Server *server, gint code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) hello = NULL;
  g_autoptr (GBytes) flight2 = NULL;
  g_autoptr (GBytes) flight3 = NULL;
  int ret;

  hello = sfb_auth_context_step (context, NULL, &error);
  g_assert_no_error (error);
  flight2 = server_leg (server, hello, &ret);
  flight3 = sfb_auth_context_step (context, flight2, &error);
  g_assert_null (flight3);
  g_assert_error (error, SFB_ERROR, code);
  g_assert_false (sfb_auth_context_is_established (context));
  g_assert_null (sfb_auth_context_sign (context, "<x>", 3, NULL));
}

/* The inner server certificate differs from the outer one */
static void
test_server_certificate_mismatch (void)
{
  g_autoptr (SfbAuthContext) context = client_new ();
  g_autoptr (Server) server = server_new (SERVER_TLS12, &other_pair);

  expect_failure (context, server, SFB_ERROR_CERTIFICATE_INVALID);
}

/* No outer certificate given: fail closed */
static void
test_server_certificate_unset (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAuthContext) context
      = sfb_tls_dsk_context_new (client_pair.cert_pem, client_pair.key_pem, &error);
  g_autoptr (Server) server = server_new (SERVER_TLS12, &server_pair);

  g_assert_no_error (error);
  expect_failure (context, server, SFB_ERROR_CERTIFICATE_INVALID);
}

/* A server that only speaks ECDHE + GCM: no common suite, the client says so */
static void
test_no_common_suite (void)
{
  g_autoptr (SfbAuthContext) context = client_new ();
  g_autoptr (Server) server = server_new (SERVER_ECDHE_ONLY, &server_pair);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) hello = NULL;
  g_autoptr (GBytes) alert = NULL;
  g_autoptr (GBytes) next = NULL;
  int ret;

  hello = sfb_auth_context_step (context, NULL, &error);
  g_assert_no_error (error);
  alert = server_leg (server, hello, &ret);
  g_assert_true (gnutls_error_is_fatal (ret));
  g_assert_cmpuint (g_bytes_get_size (alert), >, 0);
  next = sfb_auth_context_step (context, alert, &error);
  g_assert_null (next);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
  g_assert_nonnull (strstr (error->message, "ended the TLS-DSK handshake"));
  g_assert_false (sfb_auth_context_is_established (context));
}

/* Garbage and truncated server flights are errors, never a hang or a crash */
static void
test_bad_server_tokens (void)
{
  static const guint8 garbage[] = "HTTP/1.1 200 OK\r\n\r\n";
  g_autoptr (SfbAuthContext) context = client_new ();
  g_autoptr (Server) server = server_new (SERVER_TLS12, &server_pair);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) hello = NULL;
  g_autoptr (GBytes) flight2 = NULL;
  g_autoptr (GBytes) half = NULL;
  g_autoptr (GBytes) bad = g_bytes_new_static (garbage, sizeof garbage - 1);
  g_autoptr (GBytes) out = NULL;
  int ret;

  /* a token before the ClientHello */
  out = sfb_auth_context_step (context, bad, &error);
  g_assert_null (out);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
  g_clear_error (&error);

  hello = sfb_auth_context_step (context, NULL, &error);
  g_assert_no_error (error);
  flight2 = server_leg (server, hello, &ret);

  /* half of the server's flight: the client has nothing to say */
  half = g_bytes_new_from_bytes (flight2, 0, g_bytes_get_size (flight2) / 2);
  out = sfb_auth_context_step (context, half, &error);
  g_assert_null (out);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
  g_clear_error (&error);

  /* not TLS at all */
  g_clear_pointer (&hello, g_bytes_unref);
  hello = sfb_auth_context_step (context, NULL, &error);
  g_assert_no_error (error);
  out = sfb_auth_context_step (context, bad, &error);
  g_assert_null (out);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
}

static gint64
lifetime_of_sa (gint64 cert_lifetime_s)
{
  g_auto (SfbTestKeyPair) pair = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAuthContext) context = NULL;
  g_autoptr (Server) server = server_new (SERVER_TLS12, &server_pair);

  sfb_test_key_pair_make (&pair, "alice@contoso.test", cert_lifetime_s, 1024);
  context = sfb_tls_dsk_context_new (pair.cert_pem, pair.key_pem, &error);
  g_assert_no_error (error);
  sfb_tls_dsk_context_set_server_certificate (SFB_TLS_DSK_CONTEXT (context), server_pair.cert_der);
  g_assert_cmpint (sfb_auth_context_get_expires_at (context), ==, 0);
  handshake (context, server);
  return sfb_auth_context_get_expires_at (context) - g_get_real_time ();
}

/* SA = certificate validity capped at 8 h, less 5 minutes */
static void
test_lifetime (void)
{
  gint64 five_min = 5 * 60 * G_USEC_PER_SEC;
  gint64 two_days = lifetime_of_sa (2 * 24 * 3600);
  gint64 two_hours = lifetime_of_sa (2 * 3600);

  g_assert_cmpint (two_days, <=, 8 * HOUR - five_min);
  g_assert_cmpint (two_days, >, 8 * HOUR - five_min - 60 * G_USEC_PER_SEC);
  g_assert_cmpint (two_hours, <=, 2 * HOUR - five_min);
  g_assert_cmpint (two_hours, >, 2 * HOUR - five_min - 60 * G_USEC_PER_SEC);
}

static void
test_bad_credentials (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) junk = g_bytes_new_static ("junk", 4);
  g_auto (SfbTestKeyPair) expired = { 0 };
  SfbAuthContext *context;

  /* a key that is not the certificate's */
  context = sfb_tls_dsk_context_new (client_pair.cert_pem, other_pair.key_pem, &error);
  g_assert_null (context);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
  g_clear_error (&error);

  context = sfb_tls_dsk_context_new (junk, client_pair.key_pem, &error);
  g_assert_null (context);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
  g_clear_error (&error);

  context = sfb_tls_dsk_context_new (client_pair.cert_pem, junk, &error);
  g_assert_null (context);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
  g_clear_error (&error);

  sfb_test_key_pair_make (&expired, "alice@contoso.test", -10, 1024);
  context = sfb_tls_dsk_context_new (expired.cert_pem, expired.key_pem, &error);
  g_assert_null (context);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
  g_clear_error (&error);

  /* DER certificate and one PEM buffer holding both blocks work too */
  {
    g_autoptr (GByteArray) both = g_byte_array_new ();
    g_autoptr (GBytes) both_bytes = NULL;

    g_byte_array_append (both,
                         g_bytes_get_data (client_pair.cert_pem, NULL),
                         (guint) g_bytes_get_size (client_pair.cert_pem));
    g_byte_array_append (both,
                         g_bytes_get_data (client_pair.key_pem, NULL),
                         (guint) g_bytes_get_size (client_pair.key_pem));
    both_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&both));
    context = sfb_tls_dsk_context_new (both_bytes, both_bytes, &error);
    g_assert_no_error (error);
    g_object_unref (context);
    context = sfb_tls_dsk_context_new (client_pair.cert_der, client_pair.key_pem, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (sfb_auth_context_get_scheme (context), ==, "TLS-DSK");
    g_object_unref (context);
  }
}

/* ---- the same through SfbSipSecurity: REGISTER legs as on the wire ---- */

#define REALM "SIP Communications Service"
#define TARGET "fe.contoso.test"

static SfbSipMessage *
sip_message (const char *first_line, guint cseq, const char *to_tag, const char *extra)
{
  g_autofree char *text = g_strdup_printf ("%s\r\n"
                                           "Via: SIP/2.0/TLS 127.0.0.1:5000;branch=z9hG4bK%u\r\n"
                                           "From: <sip:alice@contoso.test>;tag=a1b2c3\r\n"
                                           "To: <sip:alice@contoso.test>%s\r\n"
                                           "Call-ID: 4037df9284354df39065195bd57a4b14\r\n"
                                           "CSeq: %u REGISTER\r\n"
                                           "%s"
                                           "Content-Length: 0\r\n\r\n",
                                           first_line,
                                           cseq,
                                           to_tag,
                                           cseq,
                                           extra);
  SfbSipMessage *msg = sfb_sip_message_parse (text, strlen (text), NULL);

  g_assert_nonnull (msg);
  return msg;
}

static SfbSipMessage *
register_request (guint cseq)
{
  return sip_message ("REGISTER sip:contoso.test SIP/2.0", cseq, "", "");
}

static SfbSipMessage *
challenge_401 (guint cseq, GBytes *token)
{
  g_autofree char *b64 = NULL;
  g_autofree char *extra = NULL;

  if (token == NULL)
    extra = g_strdup (
        "WWW-Authenticate: NTLM realm=\"" REALM "\", targetname=\"" TARGET "\", version=4\r\n"
        "WWW-Authenticate: TLS-DSK realm=\"" REALM "\", targetname=\"" TARGET "\", version=4, "
        "sts-uri=\"https://" TARGET "/CertProv/CertProvisioningService.svc\"\r\n");
  else
    {
      b64 = g_base64_encode (g_bytes_get_data (token, NULL), g_bytes_get_size (token));
      extra = g_strdup_printf ("WWW-Authenticate: TLS-DSK opaque=\"5CA1AB1E\", gssapi-data=\"%s\", "
                               "targetname=\"" TARGET "\", realm=\"" REALM "\", version=4\r\n",
                               b64);
    }
  return sip_message ("SIP/2.0 401 Unauthorized", cseq, ";tag=5E61CC", extra);
}

static GBytes *
client_token (SfbSipMessage *msg)
{
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse_message (msg, "Authorization");
  const SfbSipAuth *auth = sfb_sip_auth_find (auths, "TLS-DSK");
  const char *data;
  gsize len = 0;
  guchar *raw;

  g_assert_nonnull (auth);
  data = sfb_sip_auth_get_param (auth, "gssapi-data");
  g_assert_nonnull (data);
  raw = g_base64_decode (data, &len);
  return g_bytes_new_take (raw, len);
}

static char *
hex (GBytes *bytes)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", p[i]);
  return g_string_free (out, FALSE);
}

/* A 200 signed with the server key the GnuTLS server derives */
static SfbSipMessage *
signed_200 (Server *server, guint cseq, gboolean tamper)
{
  g_autoptr (SfbSipMessage) msg = sip_message ("SIP/2.0 200 OK", cseq, ";tag=5E61CC", "");
  g_autoptr (GBytes) key = server_key (server, 96);
  g_autoptr (GBytes) mac = NULL;
  g_autofree char *buffer = NULL;
  g_autofree char *rspauth = NULL;
  g_autofree char *value = NULL;
  SfbSipSignatureParams params = {
    .protocol = "TLS-DSK",
    .rand = "AE4D44F8",
    .num = "1",
    .realm = REALM,
    .targetname = TARGET,
    .version = 4,
  };

  buffer = sfb_sip_signature_buffer (msg, &params, NULL);
  g_assert_nonnull (buffer);
  mac = hmac_sha1 (key, buffer);
  rspauth = hex (mac);
  if (tamper)
    rspauth[0] = rspauth[0] == '0' ? '1' : '0';
  value = g_strdup_printf ("TLS-DSK qop=\"auth\", opaque=\"5CA1AB1E\", srand=\"AE4D44F8\", "
                           "snum=\"1\", rspauth=\"%s\", targetname=\"" TARGET "\", realm=\"" REALM
                           "\", version=4",
                           rspauth);
  sfb_sip_message_append_header (msg, "Authentication-Info", value);
  return g_steal_pointer (&msg);
}

/* R1..R4 of docs/protocol.md §4.4; returns the security object after R4 went out */
static SfbSipSecurity *
sip_handshake (Server *server)
{
  g_autoptr (SfbAuthContext) context = client_new ();
  g_autoptr (SfbSipSecurity) security = sfb_sip_security_new (context);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) r2 = register_request (2);
  g_autoptr (SfbSipMessage) r3 = register_request (3);
  g_autoptr (SfbSipMessage) r4 = register_request (4);
  g_autoptr (SfbSipMessage) c1 = challenge_401 (1, NULL);
  g_autoptr (SfbSipMessage) c2 = NULL;
  g_autoptr (SfbSipMessage) c3 = NULL;
  g_autoptr (GBytes) hello = NULL;
  g_autoptr (GBytes) flight2 = NULL;
  g_autoptr (GBytes) flight3 = NULL;
  g_autoptr (GBytes) flight4 = NULL;
  g_autoptr (GPtrArray) auths = NULL;
  g_autoptr (GBytes) key = NULL;
  g_autoptr (GBytes) want = NULL;
  g_autofree char *buffer = NULL;
  g_autofree char *want_hex = NULL;
  const SfbSipAuth *auth;
  SfbSipSignatureParams params = { 0 };
  int ret;

  /* R2: ClientHello, unsigned */
  g_assert_true (sfb_sip_security_handle_challenge (security, c1, &error));
  g_assert_no_error (error);
  g_assert_true (sfb_sip_security_authorize (security, r2, &error));
  hello = client_token (r2);
  flight2 = server_leg (server, hello, &ret);
  g_assert_cmpint (ret, ==, GNUTLS_E_AGAIN);

  /* R3: the client's second flight, unsigned, opaque echoed */
  c2 = challenge_401 (2, flight2);
  g_assert_true (sfb_sip_security_handle_challenge (security, c2, &error));
  g_assert_no_error (error);
  g_assert_true (sfb_sip_security_authorize (security, r3, &error));
  flight3 = client_token (r3);
  g_clear_pointer (&auths, g_ptr_array_unref);
  auths = sfb_sip_auth_parse_message (r3, "Authorization");
  auth = sfb_sip_auth_find (auths, "TLS-DSK");
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "opaque"), ==, "5CA1AB1E");
  g_assert_null (sfb_sip_auth_get_param (auth, "response"));
  flight4 = server_leg (server, flight3, &ret);
  g_assert_cmpint (ret, ==, GNUTLS_E_SUCCESS);

  /* R4: no gssapi-data, signed with the client key */
  c3 = challenge_401 (3, flight4);
  g_assert_true (sfb_sip_security_handle_challenge (security, c3, &error));
  g_assert_no_error (error);
  g_assert_true (sfb_sip_security_is_established (security));
  g_assert_true (sfb_sip_security_authorize (security, r4, &error));
  g_clear_pointer (&auths, g_ptr_array_unref);
  auths = sfb_sip_auth_parse_message (r4, "Authorization");
  auth = sfb_sip_auth_find (auths, "TLS-DSK");
  g_assert_nonnull (auth);
  g_assert_null (sfb_sip_auth_get_param (auth, "gssapi-data"));
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "cnum"), ==, "1");
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "opaque"), ==, "5CA1AB1E");
  g_assert_true (sfb_sip_signature_params_init_from_auth (&params, auth, &error));
  params.protocol = "TLS-DSK";
  params.rand = sfb_sip_auth_get_param (auth, "crand");
  params.num = sfb_sip_auth_get_param (auth, "cnum");
  params.realm = REALM;
  params.targetname = TARGET;
  params.version = 4;
  buffer = sfb_sip_signature_buffer (r4, &params, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (buffer, "<TLS-DSK><"));
  key = server_key (server, 64);
  want = hmac_sha1 (key, buffer);
  want_hex = hex (want);
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "response"), ==, want_hex);
  return g_steal_pointer (&security);
}

static void
test_sip_register (void)
{
  g_autoptr (Server) server = server_new (SERVER_TLS10, &server_pair);
  g_autoptr (SfbSipSecurity) security = sip_handshake (server);
  g_autoptr (SfbSipMessage) ok = signed_200 (server, 4, FALSE);
  g_autoptr (SfbSipMessage) unsigned_notify = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (sfb_sip_security_verify (security, ok, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (sfb_sip_security_get_scheme (security), ==, "TLS-DSK");

  /* after the SA, an unsigned request is dropped */
  unsigned_notify = sip_message ("NOTIFY sip:alice@contoso.test SIP/2.0", 5, ";tag=5E61CC", "");
  g_assert_false (sfb_sip_security_verify (security, unsigned_notify, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
}

static void
test_sip_tampered (void)
{
  g_autoptr (Server) server = server_new (SERVER_TLS12, &server_pair);
  g_autoptr (SfbSipSecurity) security = sip_handshake (server);
  g_autoptr (SfbSipMessage) bad = signed_200 (server, 4, TRUE);
  g_autoptr (GError) error = NULL;

  g_assert_false (sfb_sip_security_verify (security, bad, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
  g_assert_nonnull (strstr (error->message, "bad server signature"));
}

/* A 401 answering the signed last leg is a rejection, not a new round */
static void
test_sip_final_leg_rejected (void)
{
  g_autoptr (Server) server = server_new (SERVER_TLS12, &server_pair);
  g_autoptr (SfbSipSecurity) security = sip_handshake (server);
  g_autoptr (SfbSipMessage) again = challenge_401 (4, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (sfb_sip_security_verify (security, again, &error));
  g_assert_false (sfb_sip_security_handle_challenge (security, again, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  sfb_test_key_pair_make (&server_pair, "fe.contoso.test", 2 * 24 * 3600, 2048);
  sfb_test_key_pair_make (&client_pair, "alice@contoso.test", 2 * 24 * 3600, 2048);
  sfb_test_key_pair_make (&other_pair, "fe.contoso.test", 2 * 24 * 3600, 1024);

  g_test_add_func ("/auth/tls-dsk/handshake-tls10", test_handshake_tls10);
  g_test_add_func ("/auth/tls-dsk/handshake-tls12", test_handshake_tls12);
  g_test_add_func ("/auth/tls-dsk/restart", test_restart);
  g_test_add_func ("/auth/tls-dsk/server-certificate-mismatch", test_server_certificate_mismatch);
  g_test_add_func ("/auth/tls-dsk/server-certificate-unset", test_server_certificate_unset);
  g_test_add_func ("/auth/tls-dsk/no-common-suite", test_no_common_suite);
  g_test_add_func ("/auth/tls-dsk/bad-server-tokens", test_bad_server_tokens);
  g_test_add_func ("/auth/tls-dsk/lifetime", test_lifetime);
  g_test_add_func ("/auth/tls-dsk/bad-credentials", test_bad_credentials);
  g_test_add_func ("/auth/tls-dsk/sip/register", test_sip_register);
  g_test_add_func ("/auth/tls-dsk/sip/tampered", test_sip_tampered);
  g_test_add_func ("/auth/tls-dsk/sip/final-leg-rejected", test_sip_final_leg_rejected);
  ret = g_test_run ();
  sfb_test_key_pair_clear (&server_pair);
  sfb_test_key_pair_clear (&client_pair);
  sfb_test_key_pair_clear (&other_pair);
  return ret;
}
