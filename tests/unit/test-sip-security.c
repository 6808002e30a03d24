/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SfbSipSecurity against a fake registrar built in this file from the NTLM
 * primitives: handshake legs, signing both ways, opaque, cnum, 407, and
 * every way a server can fail us. */
#include "sfb-error.h"
#include "sfb-ntlm-context.h"
#include "sfb-ntlm-test-util.h"
#include "sfb-ntlm.h"
#include "sfb-sip-auth-header.h"
#include "sfb-sip-security.h"
#include "sfb-sip-signature.h"

#include <string.h>

#define REALM "SIP Communications Service"
#define TARGET "fe.contoso.test"
#define PASSWORD "Pa$$word"

/* ---- the fake registrar ---- */

typedef struct
{
  guint32 flags;
  guint8 client_sign[16];
  guint8 client_seal[16];
  guint8 server_sign[16];
  guint8 server_seal[16];
  gsize seal_len;
  guint snum;
} Server;

static GBytes *
field (GBytes *message, gsize at)
{
  const guint8 *p = g_bytes_get_data (message, NULL);
  guint len = p[at] | p[at + 1] << 8;
  guint offset = p[at + 4] | p[at + 5] << 8 | p[at + 6] << 16;

  g_assert_cmpuint (offset + len, <=, g_bytes_get_size (message));
  return g_bytes_new (p + offset, len);
}

static char *
utf16_field (GBytes *message, gsize at)
{
  g_autoptr (GBytes) raw = field (message, at);
  gsize len;
  const guint8 *p = g_bytes_get_data (raw, &len);
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i + 1 < len; i += 2)
    g_string_append_c (out, (char) p[i]); /* ASCII names in these tests */
  return g_string_free (out, FALSE);
}

/* Checks an AUTHENTICATE as a domain controller would and derives the keys */
static void
server_accept (Server *server, GBytes *challenge_msg, GBytes *authenticate, const char *password)
{
  g_autoptr (SfbNtlmChallenge) challenge = sfb_ntlm_challenge_parse (
      g_bytes_get_data (challenge_msg, NULL), g_bytes_get_size (challenge_msg), NULL);
  g_autoptr (GBytes) nt = field (authenticate, 20);
  g_autoptr (GBytes) enc = field (authenticate, 52);
  g_autofree char *domain = utf16_field (authenticate, 28);
  g_autofree char *user = utf16_field (authenticate, 36);
  g_autofree guint8 *proof_input = NULL;
  const guint8 *p = g_bytes_get_data (authenticate, NULL);
  const guint8 *ntp = g_bytes_get_data (nt, NULL);
  gsize nt_len = g_bytes_get_size (nt);
  guint8 key[16];
  guint8 proof[16];
  guint8 kx[16];
  guint8 exported[16];

  g_assert_cmpuint (nt_len, >, 24);
  server->flags = p[60] | p[61] << 8 | p[62] << 16 | (guint32) p[63] << 24;
  g_assert_true (sfb_ntlm_ntowfv2 (password, user, domain, key));
  proof_input = g_malloc (8 + nt_len - 16);
  memcpy (proof_input, challenge->server_challenge, 8);
  memcpy (proof_input + 8, ntp + 16, nt_len - 16);
  sfb_ntlm_hmac_md5 (key, 16, proof_input, 8 + nt_len - 16, proof);
  g_assert_cmpmem (proof, 16, ntp, 16);
  sfb_ntlm_hmac_md5 (key, 16, proof, 16, kx);
  if (server->flags & SFB_NTLM_NEGOTIATE_KEY_EXCH)
    {
      g_assert_cmpuint (g_bytes_get_size (enc), ==, 16);
      sfb_ntlm_rc4 (kx, 16, g_bytes_get_data (enc, NULL), exported, 16);
    }
  else
    memcpy (exported, kx, 16);
  if (server->flags & SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)
    {
      sfb_ntlm_sign_key (exported, TRUE, server->client_sign);
      sfb_ntlm_sign_key (exported, FALSE, server->server_sign);
      sfb_ntlm_seal_key (server->flags, exported, TRUE, server->client_seal, &server->seal_len);
      sfb_ntlm_seal_key (server->flags, exported, FALSE, server->server_seal, &server->seal_len);
    }
  else
    {
      sfb_ntlm_seal_key (server->flags, exported, TRUE, server->client_seal, &server->seal_len);
      memcpy (server->server_seal, server->client_seal, 16);
    }
}

static const SfbSipAuth *
find_auth (GPtrArray *auths)
{
  const SfbSipAuth *auth = sfb_sip_auth_find (auths, "NTLM");

  g_assert_nonnull (auth);
  return auth;
}

/* The client's response over the client's message, checked with the client keys */
static gboolean
server_verify (Server *server, SfbSipMessage *msg, const char *header)
{
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse_message (msg, header);
  const SfbSipAuth *auth = find_auth (auths);
  SfbSipSignatureParams params = { 0 };
  g_autofree char *buffer = NULL;
  g_autofree char *want = NULL;
  static const guint8 pad[4] = { 0 };
  guint8 mac[16];

  g_assert_true (sfb_sip_signature_params_init_from_auth (&params, auth, NULL));
  buffer = sfb_sip_signature_buffer (msg, &params, NULL);
  g_assert_nonnull (buffer);
  sfb_ntlm_mac (server->flags,
                server->client_sign,
                server->client_seal,
                server->seal_len,
                SFB_NTLM_SIP_SEQ,
                TRUE,
                pad,
                (const guint8 *) buffer,
                strlen (buffer),
                mac);
  want = test_to_hex (mac, 16);
  return g_ascii_strcasecmp (want, sfb_sip_auth_get_param (auth, "response")) == 0;
}

/* Signs a server message: Authentication-Info with srand, snum, rspauth */
static void
server_sign (Server *server, SfbSipMessage *msg, const char *opaque)
{
  g_autofree char *snum = g_strdup_printf ("%u", ++server->snum);
  g_autofree char *buffer = NULL;
  g_autofree char *rspauth = NULL;
  g_autofree char *value = NULL;
  static const guint8 pad[4] = { 0 };
  guint8 mac[16];
  SfbSipSignatureParams params = {
    .protocol = "NTLM",
    .rand = "AE4D44F8",
    .num = snum,
    .realm = REALM,
    .targetname = TARGET,
    .version = 4,
  };

  buffer = sfb_sip_signature_buffer (msg, &params, NULL);
  g_assert_nonnull (buffer);
  sfb_ntlm_mac (server->flags,
                server->server_sign,
                server->server_seal,
                server->seal_len,
                SFB_NTLM_SIP_SEQ,
                TRUE,
                pad,
                (const guint8 *) buffer,
                strlen (buffer),
                mac);
  rspauth = test_to_hex (mac, 16);
  value = g_strdup_printf ("NTLM qop=\"auth\", opaque=\"%s\", srand=\"AE4D44F8\", snum=\"%s\", "
                           "rspauth=\"%s\", targetname=\"" TARGET "\", realm=\"" REALM
                           "\", version=4",
                           opaque,
                           snum,
                           rspauth);
  sfb_sip_message_append_header (msg, "Authentication-Info", value);
}

/* ---- messages ---- */

static SfbSipMessage *
request (const char *method, guint cseq)
{
  g_autofree char *text
      = g_strdup_printf ("%s sip:contoso.test SIP/2.0\r\n"
                         "Via: SIP/2.0/TLS 127.0.0.1:5000;branch=z9hG4bK%u\r\n"
                         "From: <sip:alice@contoso.test>;tag=a1b2c3;epid=0123456789\r\n"
                         "To: <sip:alice@contoso.test>\r\n"
                         "Call-ID: 4037df9284354df39065195bd57a4b14\r\n"
                         "CSeq: %u %s\r\n"
                         "Content-Length: 0\r\n\r\n",
                         method,
                         cseq,
                         cseq,
                         method);
  SfbSipMessage *msg = sfb_sip_message_parse (text, strlen (text), NULL);

  g_assert_nonnull (msg);
  return msg;
}

static SfbSipMessage *
response (guint status, const char *method, guint cseq, const char *extra)
{
  g_autofree char *text
      = g_strdup_printf ("SIP/2.0 %u Whatever\r\n"
                         "Via: SIP/2.0/TLS 127.0.0.1:5000;branch=z9hG4bK%u\r\n"
                         "From: <sip:alice@contoso.test>;tag=a1b2c3;epid=0123456789\r\n"
                         "To: <sip:alice@contoso.test>;tag=5E61CCD925D1\r\n"
                         "Call-ID: 4037df9284354df39065195bd57a4b14\r\n"
                         "CSeq: %u %s\r\n"
                         "%s"
                         "Content-Length: 0\r\n\r\n",
                         status,
                         cseq,
                         cseq,
                         method,
                         extra);
  SfbSipMessage *msg = sfb_sip_message_parse (text, strlen (text), NULL);

  g_assert_nonnull (msg);
  return msg;
}

static SfbSipMessage *
plain_challenge (guint status)
{
  const char *header = status == 407 ? "Proxy-Authenticate" : "WWW-Authenticate";
  g_autofree char *extra = g_strdup_printf (
      "%s: Kerberos realm=\"" REALM "\", targetname=\"sip/" TARGET "\", version=4\r\n"
      "%s: NTLM realm=\"" REALM "\", targetname=\"" TARGET "\", version=4\r\n",
      header,
      header);

  return response (status, "REGISTER", 1, extra);
}

static SfbSipMessage *
token_challenge (guint status, GBytes *challenge, guint cseq)
{
  const char *header = status == 407 ? "Proxy-Authenticate" : "WWW-Authenticate";
  g_autofree char *b64
      = g_base64_encode (g_bytes_get_data (challenge, NULL), g_bytes_get_size (challenge));
  g_autofree char *extra
      = g_strdup_printf ("%s: NTLM opaque=\"2BDBAC9D\", gssapi-data=\"%s\", targetname=\"" TARGET
                         "\", realm=\"" REALM "\", version=4\r\n",
                         header,
                         b64);

  return response (status, "REGISTER", cseq, extra);
}

static const SfbSipAuth *
authorization (SfbSipMessage *msg, const char *header, GPtrArray **store)
{
  *store = sfb_sip_auth_parse_message (msg, header);
  return find_auth (*store);
}

typedef struct
{
  Server server;
  SfbSipSecurity *security;
  GBytes *challenge;
  gboolean proxy;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbAuthContext) context = sfb_ntlm_context_new ("COSMO\\User", PASSWORD, "WS");

  memset (&f->server, 0, sizeof f->server);
  f->security = sfb_sip_security_new (context);
  f->challenge = test_hex (data != NULL ? (const char *) data : CAPTURE_TYPE2);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->security);
  g_clear_pointer (&f->challenge, g_bytes_unref);
}

/* Runs the three REGISTER legs up to the signed final one; returns it */
static SfbSipMessage *
handshake (Fixture *f, guint status)
{
  const char *header = status == 407 ? "Proxy-Authorization" : "Authorization";
  const char *other = status == 407 ? "Authorization" : "Proxy-Authorization";
  g_autoptr (SfbSipMessage) r1 = request ("REGISTER", 1);
  g_autoptr (SfbSipMessage) r2 = request ("REGISTER", 2);
  g_autoptr (SfbSipMessage) c1 = plain_challenge (status);
  g_autoptr (SfbSipMessage) c2 = token_challenge (status, f->challenge, 2);
  g_autoptr (GPtrArray) a2 = NULL;
  g_autoptr (GPtrArray) a3 = NULL;
  g_autoptr (GBytes) type3 = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) r3 = request ("REGISTER", 3);
  const SfbSipAuth *auth;

  /* before any challenge: nothing added */
  g_assert_true (sfb_sip_security_authorize (f->security, r1, &error));
  g_assert_no_error (error);
  g_assert_null (sfb_sip_message_get_header (r1, "Authorization"));
  g_assert_null (sfb_sip_message_get_header (r1, "Proxy-Authorization"));
  g_assert_true (sfb_sip_security_verify (f->security, c1, &error));

  /* leg 2: empty token, unsigned */
  g_assert_true (sfb_sip_security_handle_challenge (f->security, c1, &error));
  g_assert_no_error (error);
  g_assert_true (sfb_sip_security_authorize (f->security, r2, &error));
  g_assert_null (sfb_sip_message_get_header (r2, other));
  auth = authorization (r2, header, &a2);
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "gssapi-data"), ==, "");
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "targetname"), ==, TARGET);
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "realm"), ==, REALM);
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "version"), ==, "4");
  g_assert_null (sfb_sip_auth_get_param (auth, "response"));
  g_assert_null (sfb_sip_auth_get_param (auth, "opaque"));
  g_assert_false (sfb_sip_security_is_established (f->security));

  /* leg 3: AUTHENTICATE, already signed (version 4), opaque echoed */
  g_assert_true (sfb_sip_security_handle_challenge (f->security, c2, &error));
  g_assert_no_error (error);
  g_assert_true (sfb_sip_security_is_established (f->security));
  g_assert_true (sfb_sip_security_authorize (f->security, r3, &error));
  g_assert_no_error (error);
  auth = authorization (r3, header, &a3);
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "opaque"), ==, "2BDBAC9D");
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "cnum"), ==, "1");
  g_assert_cmpuint (strlen (sfb_sip_auth_get_param (auth, "crand")), ==, 8);
  {
    gsize len = 0;
    guchar *raw = g_base64_decode (sfb_sip_auth_get_param (auth, "gssapi-data"), &len);

    type3 = g_bytes_new_take (raw, len);
  }
  server_accept (&f->server, f->challenge, type3, PASSWORD);
  g_assert_true (server_verify (&f->server, r3, header));
  return g_steal_pointer (&r3);
}

static void
test_register (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSipMessage) r3 G_GNUC_UNUSED = handshake (f, 401);
  g_autoptr (SfbSipMessage) ok = response (200, "REGISTER", 3, "Expires: 7200\r\n");
  g_autoptr (SfbSipMessage) r4 = request ("SUBSCRIBE", 4);
  g_autoptr (SfbSipMessage) notify = request ("NOTIFY", 7);
  g_autoptr (SfbSipMessage) signed_notify = request ("NOTIFY", 8);
  g_autoptr (SfbSipMessage) trying = response (100, "SUBSCRIBE", 4, "");
  g_autoptr (SfbSipMessage) reply = response (200, "NOTIFY", 8, "");
  g_autoptr (GPtrArray) a4 = NULL;
  g_autoptr (GPtrArray) a5 = NULL;
  g_autoptr (GError) error = NULL;
  const SfbSipAuth *auth;

  g_assert_cmpstr (sfb_sip_security_get_scheme (f->security), ==, "NTLM");
  /* the signed 200 verifies and brings a new opaque */
  server_sign (&f->server, ok, "0999F355");
  g_assert_true (sfb_sip_security_verify (f->security, ok, &error));
  g_assert_no_error (error);

  /* every later request: signed, opaque refreshed, cnum counting, no token */
  g_assert_true (sfb_sip_security_authorize (f->security, r4, &error));
  auth = authorization (r4, "Authorization", &a4);
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "opaque"), ==, "0999F355");
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "cnum"), ==, "2");
  g_assert_null (sfb_sip_auth_get_param (auth, "gssapi-data"));
  g_assert_true (server_verify (&f->server, r4, "Authorization"));
  /* a resent request is signed afresh with one Authorization */
  g_assert_true (sfb_sip_security_authorize (f->security, r4, &error));
  g_assert_cmpuint (sfb_sip_message_count_headers (r4, "Authorization"), ==, 1);
  g_clear_pointer (&a4, g_ptr_array_unref);
  auth = authorization (r4, "Authorization", &a4);
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "cnum"), ==, "3");
  g_assert_true (server_verify (&f->server, r4, "Authorization"));

  /* 1xx may come unsigned; a request may not */
  g_assert_true (sfb_sip_security_verify (f->security, trying, &error));
  g_assert_false (sfb_sip_security_verify (f->security, notify, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
  g_assert_nonnull (strstr (error->message, "bad server signature"));
  g_clear_error (&error);
  server_sign (&f->server, signed_notify, "0999F355");
  g_assert_true (sfb_sip_security_verify (f->security, signed_notify, &error));
  g_assert_no_error (error);

  /* our 200 OK to the NOTIFY is signed too */
  g_assert_true (sfb_sip_security_authorize (f->security, reply, &error));
  auth = authorization (reply, "Authorization", &a5);
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "cnum"), ==, "4");
  g_assert_true (server_verify (&f->server, reply, "Authorization"));
}

static void
test_tampered (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSipMessage) r3 G_GNUC_UNUSED = handshake (f, 401);
  g_autoptr (SfbSipMessage) ok = response (200, "REGISTER", 3, "Expires: 7200\r\n");
  g_autoptr (SfbSipMessage) notify = request ("NOTIFY", 9);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr (SfbSipMessage) changed = NULL;
  char *expires;

  /* the server's signature over Expires 7200 does not cover 7201 */
  server_sign (&f->server, ok, "0999F355");
  text = sfb_sip_message_to_string (ok);
  expires = strstr (text, "Expires: 7200");
  g_assert_nonnull (expires);
  expires[12] = '1';
  changed = sfb_sip_message_parse (text, strlen (text), NULL);
  g_assert_false (sfb_sip_security_verify (f->security, changed, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
  g_clear_error (&error);

  /* a garbled rspauth */
  sfb_sip_message_set_header (
      notify,
      "Authentication-Info",
      "NTLM qop=\"auth\", opaque=\"0999F355\", srand=\"AE4D44F8\", snum=\"2\", "
      "rspauth=\"01000000zz\", targetname=\"" TARGET "\", realm=\"" REALM "\", version=4");
  g_assert_false (sfb_sip_security_verify (f->security, notify, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
}

/* docs/protocol.md §17.9: a 401 to the final leg is a rejected password */
static void
test_final_leg_rejected (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSipMessage) r3 G_GNUC_UNUSED = handshake (f, 401);
  g_autoptr (SfbSipMessage) again = plain_challenge (401);
  g_autoptr (GError) error = NULL;

  /* The connection verifies every message before the session sees it: the
   * unsigned 401 passes, and must not end the wait for the final answer. */
  g_assert_true (sfb_sip_security_verify (f->security, again, &error));
  g_assert_false (sfb_sip_security_handle_challenge (f->security, again, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
  g_assert_null (strstr (error->message, PASSWORD));
}

/* A wrong password: the server refuses the proof, the client sees a 401 */
static void
test_wrong_password (void)
{
  g_autoptr (SfbAuthContext) context = sfb_ntlm_context_new ("COSMO\\User", "wrong", "WS");
  g_autoptr (SfbSipSecurity) security = sfb_sip_security_new (context);
  g_autoptr (GBytes) challenge = test_hex (CAPTURE_TYPE2);
  g_autoptr (SfbSipMessage) c1 = plain_challenge (401);
  g_autoptr (SfbSipMessage) c2 = token_challenge (401, challenge, 2);
  g_autoptr (SfbSipMessage) r3 = request ("REGISTER", 3);
  g_autoptr (SfbSipMessage) c3 = plain_challenge (401);
  g_autoptr (GError) error = NULL;

  g_assert_true (sfb_sip_security_handle_challenge (security, c1, &error));
  g_assert_true (sfb_sip_security_handle_challenge (security, c2, &error));
  g_assert_true (sfb_sip_security_authorize (security, r3, &error));
  g_assert_false (sfb_sip_security_handle_challenge (security, c3, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
}

/* A 407 answers with Proxy-Authorization, and only that */
static void
test_proxy (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSipMessage) r3 G_GNUC_UNUSED = handshake (f, 407);
  g_autoptr (SfbSipMessage) r4 = request ("SUBSCRIBE", 4);
  g_autoptr (GError) error = NULL;

  g_assert_true (sfb_sip_security_authorize (f->security, r4, &error));
  g_assert_null (sfb_sip_message_get_header (r4, "Authorization"));
  g_assert_true (server_verify (&f->server, r4, "Proxy-Authorization"));
}

/* A server without NTLM, a broken gssapi-data, a CHALLENGE we refuse */
static void
test_bad_challenges (void)
{
  g_autoptr (SfbAuthContext) context = sfb_ntlm_context_new ("D\\u", "pw", "WS");
  g_autoptr (SfbSipSecurity) security = sfb_sip_security_new (context);
  g_autoptr (SfbSipMessage) kerberos_only = response (
      401,
      "REGISTER",
      1,
      "WWW-Authenticate: Kerberos realm=\"" REALM "\", targetname=\"sip/" TARGET "\"\r\n"
      "WWW-Authenticate: TLS-DSK realm=\"" REALM "\", targetname=\"" TARGET "\"\r\n");
  g_autoptr (SfbSipMessage) not_base64 = response (
      401, "REGISTER", 2, "WWW-Authenticate: NTLM gssapi-data=\"TlRM*TVNT\", version=4\r\n");
  g_autoptr (SfbSipMessage) not_ntlm = response (
      401, "REGISTER", 2, "WWW-Authenticate: NTLM gssapi-data=\"AAAAAAAA\", version=4\r\n");
  g_autoptr (SfbSipMessage) ok = response (200, "REGISTER", 2, "");
  g_auto (GStrv) schemes = sfb_sip_security_offered_schemes (kerberos_only);
  g_autoptr (SfbSipMessage) several = plain_challenge (401);
  g_auto (GStrv) schemes2 = sfb_sip_security_offered_schemes (several);
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (g_strv_length (schemes), ==, 2);
  g_assert_cmpstr (schemes[0], ==, "Kerberos");
  g_assert_cmpstr (schemes[1], ==, "TLS-DSK");
  g_assert_cmpstr (schemes2[1], ==, "NTLM");

  g_assert_false (sfb_sip_security_handle_challenge (security, kerberos_only, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
  g_clear_error (&error);
  g_assert_false (sfb_sip_security_handle_challenge (security, not_base64, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (sfb_sip_security_handle_challenge (security, not_ntlm, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (sfb_sip_security_handle_challenge (security, ok, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_false (sfb_sip_security_is_established (security));
}

/* A CHALLENGE without extended session security: CRC32 signatures */
#define NON_ESS_TYPE2                                                                              \
  "4E544C4D53535000020000000000000038000000F38290E2DD1BAAF4E7E218D1000000000000000096009600380000" \
  "000502CE0E0000000F02000A0043004F0053004D004F000100180043004F0053004D004F002D004F00430053002D00" \
  "520032000400160063006F0073006D006F002E006C006F00630061006C000300300063006F0073006D006F002D006F" \
  "00630073002D00720032002E0063006F0073006D006F002E006C006F00630061006C000500160063006F0073006D00" \
  "6F002E006C006F00630061006C0000000000"

static void
test_non_ess (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSipMessage) r3 G_GNUC_UNUSED = handshake (f, 401);
  g_autoptr (SfbSipMessage) ok = response (200, "REGISTER", 3, "Expires: 7200\r\n");
  g_autoptr (GError) error = NULL;

  g_assert_false (f->server.flags & SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY);
  server_sign (&f->server, ok, "0999F355");
  g_assert_true (sfb_sip_security_verify (f->security, ok, &error));
  g_assert_no_error (error);
}

/* A 401 to a re-REGISTER while the SA exists starts a new handshake */
static void
test_reauthenticate (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSipMessage) r3 G_GNUC_UNUSED = handshake (f, 401);
  g_autoptr (SfbSipMessage) ok = response (200, "REGISTER", 3, "Expires: 7200\r\n");
  g_autoptr (SfbSipMessage) again = plain_challenge (401);
  g_autoptr (SfbSipMessage) r5 = request ("REGISTER", 5);
  g_autoptr (GPtrArray) a5 = NULL;
  g_autoptr (GError) error = NULL;
  const SfbSipAuth *auth;

  server_sign (&f->server, ok, "0999F355");
  g_assert_true (sfb_sip_security_verify (f->security, ok, &error));
  g_assert_true (sfb_sip_security_handle_challenge (f->security, again, &error));
  g_assert_no_error (error);
  g_assert_false (sfb_sip_security_is_established (f->security));
  g_assert_true (sfb_sip_security_authorize (f->security, r5, &error));
  auth = authorization (r5, "Authorization", &a5);
  g_assert_cmpstr (sfb_sip_auth_get_param (auth, "gssapi-data"), ==, "");
  g_assert_null (sfb_sip_auth_get_param (auth, "opaque"));
  g_assert_null (sfb_sip_auth_get_param (auth, "response"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add (
      "/sip-security/register", Fixture, NULL, fixture_setup, test_register, fixture_teardown);
  g_test_add (
      "/sip-security/tampered", Fixture, NULL, fixture_setup, test_tampered, fixture_teardown);
  g_test_add ("/sip-security/final-leg-rejected",
              Fixture,
              NULL,
              fixture_setup,
              test_final_leg_rejected,
              fixture_teardown);
  g_test_add ("/sip-security/proxy", Fixture, NULL, fixture_setup, test_proxy, fixture_teardown);
  g_test_add ("/sip-security/non-ess",
              Fixture,
              NON_ESS_TYPE2,
              fixture_setup,
              test_non_ess,
              fixture_teardown);
  g_test_add ("/sip-security/reauthenticate",
              Fixture,
              NULL,
              fixture_setup,
              test_reauthenticate,
              fixture_teardown);
  g_test_add_func ("/sip-security/wrong-password", test_wrong_password);
  g_test_add_func ("/sip-security/bad-challenges", test_bad_challenges);
  return g_test_run ();
}
