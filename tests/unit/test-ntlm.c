/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NTLM primitives and SfbNtlmContext against MS-NLMP §4.2 and the real SIP
 * capture of docs/protocol.md §15.2. */
#include "sfb-error.h"
#include "sfb-ntlm-context.h"
#include "sfb-ntlm.h"
#include "sfb-ntlm-test-util.h"

#include <string.h>

/* MS-NLMP 4.2.1 common values */
static const guint8 server_challenge[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
static const guint8 client_challenge[8] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
static const guint8 random_session_key[16] = { 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
                                               0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 };
/* "Plaintext" in UTF-16LE */
static const guint8 plaintext[18]
    = { 'P', 0, 'l', 0, 'a', 0, 'i', 0, 'n', 0, 't', 0, 'e', 0, 'x', 0, 't', 0 };

static void
test_hashes (void)
{
  static const guint8 hmac_key[16] = { 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                       0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b };
  guint8 out[16];

  /* RFC 1320, RFC 1321, RFC 2104 */
  sfb_ntlm_md4 ((const guint8 *) "message digest", 14, out);
  assert_hex (out, 16, "d9130a8164549fe818874806e1c7014b");
  sfb_ntlm_md5 ((const guint8 *) "message digest", 14, out);
  assert_hex (out, 16, "f96b697d7cb7938d525a2f31aaf161d0");
  sfb_ntlm_hmac_md5 (hmac_key, 16, (const guint8 *) "Hi There", 8, out);
  assert_hex (out, 16, "9294727a3638bb1c13f48ef8158bfc9d");
  /* MS-NLMP 4.2.2.4 */
  g_assert_cmphex (sfb_ntlm_crc32 (plaintext, sizeof plaintext), ==, 0x93aa847d);
  g_assert_cmphex (sfb_ntlm_crc32 ((const guint8 *) "123456789", 9), ==, 0xcbf43926);
}

/* MS-NLMP 4.2.2: NTLMv1 without extended session security */
static void
test_v1 (void)
{
  const guint32 flags = 0xe2028233;
  guint8 lm_hash[16];
  guint8 nt_hash[16];
  guint8 lm[24];
  guint8 nt[24];
  guint8 kx[16];
  guint8 encrypted[16];
  guint8 seal_key[16];
  gsize seal_len = 0;
  guint8 in[18 + 12] = { 0 };
  guint8 sealed[18 + 12];

  g_assert_true (sfb_ntlm_lm_hash ("Password", lm_hash));
  assert_hex (lm_hash, 16, "e52cac67419a9a224a3b108f3fa6cb6d");
  g_assert_true (sfb_ntlm_nt_hash ("Password", nt_hash));
  assert_hex (nt_hash, 16, "a4f49c406510bdcab6824ee7c30fd852");
  sfb_ntlm_v1_responses (flags, nt_hash, lm_hash, server_challenge, client_challenge, lm, nt, kx);
  assert_hex (lm, 24, "98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13");
  assert_hex (nt, 24, "67c43011f30298a2ad35ece64f16331c44bdbed927841f94");
  assert_hex (kx, 16, "d87262b0cde4b1cb7499becccdf10784"); /* = SessionBaseKey */
  sfb_ntlm_rc4 (kx, 16, random_session_key, encrypted, 16);
  assert_hex (encrypted, 16, "518822b1b3f350c8958682ecbb3e3cb7");

  /* 4.2.2.4: the seal key is the session key; one RC4 stream seals the
   * text, then RandomPad, CRC32 and SeqNum of the signature */
  sfb_ntlm_seal_key (flags, random_session_key, TRUE, seal_key, &seal_len);
  g_assert_cmpuint (seal_len, ==, 16);
  memcpy (in, plaintext, 18);
  in[22] = 0x7d;
  in[23] = 0x84;
  in[24] = 0xaa;
  in[25] = 0x93;
  sfb_ntlm_rc4 (seal_key, seal_len, in, sealed, sizeof in);
  assert_hex (sealed, 18, "56fe04d861f9319af0d7238a2e3b4d457fb8");
  assert_hex (sealed + 18, 12, "45c844e509dcd1df2e459d36"); /* signature 01000000 + this */
}

/* MS-NLMP 4.2.3: NTLMv1 with extended session security */
static void
test_v1_ess (void)
{
  const guint32 flags = 0x820a8233;
  guint8 nt_hash[16];
  guint8 lm_hash[16];
  guint8 lm[24];
  guint8 nt[24];
  guint8 kx[16];
  guint8 sign_key[16];
  guint8 seal_key[16];
  gsize seal_len = 0;
  guint8 sealed[18];
  guint8 mac[16];
  static const guint8 pad[4] = { 0 };

  g_assert_true (sfb_ntlm_nt_hash ("Password", nt_hash));
  g_assert_true (sfb_ntlm_lm_hash ("Password", lm_hash));
  sfb_ntlm_v1_responses (flags, nt_hash, lm_hash, server_challenge, client_challenge, lm, nt, kx);
  assert_hex (lm, 24, "aaaaaaaaaaaaaaaa00000000000000000000000000000000");
  assert_hex (nt, 24, "7537f803ae367128ca458204bde7caf81e97ed2683267232");
  assert_hex (kx, 16, "eb93429a8bd952f8b89c55b87f475edc");
  /* no KEY_EXCH: the exported key is the KeyExchangeKey; 56-bit sealing */
  sfb_ntlm_sign_key (kx, TRUE, sign_key);
  assert_hex (sign_key, 16, "60e799be5c72fc92922ae8ebe961fb8d");
  sfb_ntlm_seal_key (flags, kx, TRUE, seal_key, &seal_len);
  assert_hex (seal_key, 16, "04dd7f014d8504d265a25cc86a3a7c06");
  sfb_ntlm_rc4 (seal_key, seal_len, plaintext, sealed, sizeof sealed);
  assert_hex (sealed, 18, "a02372f6530273f3aa1eb90190ce5200c99d");
  sfb_ntlm_mac (flags, sign_key, seal_key, seal_len, 0, FALSE, pad, plaintext, 18, mac);
  assert_hex (mac, 16, "01000000ff2aeb52f681793a00000000");
}

#define V2_TARGET_INFO                                                                             \
  "02000c0044006f006d00610069006e0001000c005300650072007600650072000000"                           \
  "0000"

/* MS-NLMP 4.2.4: NTLMv2 */
static void
test_v2 (void)
{
  const guint32 flags = 0xe28a8233;
  g_autoptr (GBytes) target_info = test_hex (V2_TARGET_INFO);
  g_autoptr (GBytes) nt = NULL;
  g_autoptr (GBytes) auth = NULL;
  guint8 key[16];
  guint8 lm[24];
  guint8 base[16];
  guint8 encrypted[16];
  guint8 sign_key[16];
  guint8 seal_key[16];
  gsize seal_len = 0;
  guint8 in[18 + 8];
  guint8 sealed[18 + 8];
  guint8 mac[16];
  static const guint8 pad[4] = { 0 };
  static const guint8 version[8] = { 5, 1, 0x28, 0x0a, 0, 0, 0, 0x0f };

  g_assert_true (sfb_ntlm_ntowfv2 ("Password", "User", "Domain", key));
  assert_hex (key, 16, "0c868a403bfd7a93a3001ef22ef02e3f");
  nt = sfb_ntlm_v2_responses (key, server_challenge, client_challenge, 0, target_info, lm, base);
  assert_hex (lm, 24, "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
  assert_bytes_hex (nt,
                    "68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000"
                    "aaaaaaaaaaaaaaaa00000000" V2_TARGET_INFO "00000000");
  assert_hex (base, 16, "8de40ccadbc14a82f15cb0ad0de95ca3");
  sfb_ntlm_rc4 (base, 16, random_session_key, encrypted, 16);
  assert_hex (encrypted, 16, "c5dad2544fc9799094ce1ce90bc9d03e");
  sfb_ntlm_sign_key (random_session_key, TRUE, sign_key);
  assert_hex (sign_key, 16, "4788dc861b4782f35d43fd98fe1a2d39");
  sfb_ntlm_seal_key (flags, random_session_key, TRUE, seal_key, &seal_len);
  assert_hex (seal_key, 16, "59f600973cc4960a25480a7c196e4c58");

  /* 4.2.4.4: HMAC before RC4, then one RC4 stream over text and checksum */
  sfb_ntlm_mac (flags & ~SFB_NTLM_NEGOTIATE_KEY_EXCH,
                sign_key,
                seal_key,
                seal_len,
                0,
                FALSE,
                pad,
                plaintext,
                18,
                mac);
  assert_hex (mac, 16, "0100000070352851f256430900000000");
  memcpy (in, plaintext, 18);
  memcpy (in + 18, mac + 4, 8);
  sfb_ntlm_rc4 (seal_key, seal_len, in, sealed, sizeof in);
  assert_hex (sealed, 18, "54e50165bf1936dc996020c1811b0f06fb5f");
  assert_hex (sealed + 18, 8, "7fb38ec5c55d4976");

  /* the AUTHENTICATE message of the same exchange (flags 0xe2888235) */
  auth = sfb_ntlm_build_authenticate (
      0xe2888235, "Domain", "User", "COMPUTER", lm, nt, encrypted, version, NULL);
  assert_bytes_hex (
      auth,
      "4e544c4d5353500003000000180018006c00000054005400840000000c000c0048000000080008005400"
      "0000100010005c00000010001000d8000000358288e20501280a0000000f44006f006d00610069006e00"
      "550073006500720043004f004d005000550054004500520086c35097ac9cec102554764a57cccc19aaaa"
      "aaaaaaaaaaaa68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000aaaaaaaa"
      "aaaaaaaa0000000002000c0044006f006d00610069006e0001000c005300650072007600650072000000"
      "000000000000c5dad2544fc9799094ce1ce90bc9d03e");
}

/* The MS-NLMP 4.2.4 CHALLENGE parses into its parts */
static void
test_challenge_parse (void)
{
  g_autoptr (GBytes) msg = test_hex (
      "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef0000000000000000240024"
      "0044000000060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001"
      "000c0053006500720076006500720000000000");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbNtlmChallenge) c = NULL;

  c = sfb_ntlm_challenge_parse (g_bytes_get_data (msg, NULL), g_bytes_get_size (msg), &error);
  g_assert_no_error (error);
  g_assert_cmphex (c->flags, ==, 0xe28a8233);
  assert_hex (c->server_challenge, 8, "0123456789abcdef");
  assert_bytes_hex (c->target_name, "530065007200760065007200");
  assert_bytes_hex (c->target_info, V2_TARGET_INFO);
  g_assert_false (c->has_timestamp);
  g_assert_true (c->has_version);
  assert_hex (c->version, 8, "060070170000000f");
}

static SfbNtlmChallenge *
parse_hex (const char *hex, GError **error)
{
  g_autoptr (GBytes) msg = test_hex (hex);

  return sfb_ntlm_challenge_parse (g_bytes_get_data (msg, NULL), g_bytes_get_size (msg), error);
}

/* Hostile CHALLENGEs: every bad offset, length and AV pair is refused */
static void
test_challenge_hostile (void)
{
  static const char *const bad[] = {
    "",                         /* empty */
    "4e544c4d5353500002000000", /* truncated header */
    /* wrong message type */
    "4e544c4d53535000010000000000000000000000338280e20123456789abcdef",
    /* wrong signature */
    "4e544c4d53535001020000000000000000000000338280e20123456789abcdef",
    /* TargetName past the end */
    "4e544c4d5353500002000000ffffffff20000000338280e20123456789abcdef",
    /* TargetName offset 0xffffffff (overflow) */
    "4e544c4d530535000020000000200020ffffffff338280e20123456789abcdef",
    /* TargetInfo length past the end */
    "4e544c4d53535000020000000000000030000000338280e20123456789abcdef0000000000000000"
    "0800080030000000",
    /* AV pair longer than TargetInfo */
    "4e544c4d53535000020000000000000030000000338280e20123456789abcdef0000000000000000"
    "08000800300000000200ff0044004f00",
    /* no MsvAvEOL */
    "4e544c4d53535000020000000000000030000000338280e20123456789abcdef0000000000000000"
    "080008003000000002000400440044004",
    /* MsvAvTimestamp of 4 bytes */
    "4e544c4d53535000020000000000000030000000338280e20123456789abcdef0000000000000000"
    "0c000c0030000000070004000000000000000000",
    /* MsvAvEOL with a value */
    "4e544c4d53535000020000000000000030000000338280e20123456789abcdef0000000000000000"
    "08000800300000000000040000000000",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbNtlmChallenge) c = NULL;
      g_autofree char *hex = g_strdup (bad[i]);

      /* odd-length lines are cut to whole bytes */
      hex[strlen (hex) & ~(gsize) 1] = '\0';
      c = parse_hex (hex, &error);
      g_assert_null (c);
      g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
    }

  /* too many AV pairs */
  {
    g_autoptr (GString) hex = g_string_new (
        "4e544c4d53535000020000000000000030000000338280e20123456789abcdef0000000000000000");
    g_autoptr (GError) error = NULL;
    g_autoptr (SfbNtlmChallenge) c = NULL;
    guint n = SFB_NTLM_MAX_AV_PAIRS + 1;
    guint len = n * 4 + 4;

    g_string_append_printf (
        hex, "%02x%02x%02x%02x30000000", len & 0xff, len >> 8, len & 0xff, len >> 8);
    for (guint i = 0; i < n; i++)
      g_string_append (hex, "09000000");
    g_string_append (hex, "00000000");
    c = parse_hex (hex->str, &error);
    g_assert_null (c);
    g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  }

  /* every truncation of a real CHALLENGE fails cleanly or parses */
  {
    g_autoptr (GBytes) msg = test_hex (CAPTURE_TYPE2);
    gsize len;
    const guint8 *data = g_bytes_get_data (msg, &len);

    for (gsize cut = 0; cut < len; cut++)
      {
        g_autofree guint8 *copy = g_memdup2 (data, cut);
        g_autoptr (SfbNtlmChallenge) c = sfb_ntlm_challenge_parse (copy, cut, NULL);

        /* the TargetInfo ends at the end: any cut below it is refused */
        if (cut >= 48)
          g_assert_null (c);
      }
  }
}

/* docs/protocol.md §15.2: the real OC 2007 R2 exchange, through SfbNtlmContext */
static SfbAuthContext *
capture_context (void)
{
  g_autoptr (GBytes) time = test_hex (CAPTURE_TIME);
  g_autoptr (GBytes) cc = test_hex (CAPTURE_CLIENT_CHALLENGE);
  g_autoptr (GBytes) enc = test_hex (CAPTURE_ENCRYPTED_KEY);
  g_autoptr (GBytes) type2 = test_hex (CAPTURE_TYPE2);
  g_autoptr (GBytes) nt = NULL;
  g_autoptr (SfbNtlmChallenge) c = NULL;
  SfbAuthContext *context;
  guint8 key[16];
  guint8 lm[24];
  guint8 kx[16];
  guint8 exported[16];

  /* the ExportedSessionKey the client picked, recovered from the capture */
  c = sfb_ntlm_challenge_parse (g_bytes_get_data (type2, NULL), g_bytes_get_size (type2), NULL);
  g_assert_nonnull (c);
  g_assert_true (sfb_ntlm_ntowfv2 ("Pa$$word", "User", "COSMO", key));
  nt = sfb_ntlm_v2_responses (key,
                              c->server_challenge,
                              g_bytes_get_data (cc, NULL),
                              test_le64 (time),
                              c->target_info,
                              lm,
                              kx);
  assert_hex (g_bytes_get_data (nt, NULL), 16, "8dc0c800ae76eca606d2b9fbebd04731");
  sfb_ntlm_rc4 (kx, 16, g_bytes_get_data (enc, NULL), exported, 16);

  context = sfb_ntlm_context_new ("COSMO\\User", "Pa$$word", "COSMO-OCS-R2");
  sfb_ntlm_context_set_test_randoms (
      SFB_NTLM_CONTEXT (context), g_bytes_get_data (cc, NULL), exported, test_le64 (time));
  return context;
}

static void
test_capture (void)
{
  g_autoptr (SfbAuthContext) context = capture_context ();
  g_autoptr (GBytes) type2 = test_hex (CAPTURE_TYPE2);
  g_autoptr (GBytes) first = NULL;
  g_autoptr (GBytes) type3 = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GBytes) server_sig = test_hex (CAPTURE_RESPONSE_SIGNATURE);
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (sfb_auth_context_get_scheme (context), ==, "NTLM");
  first = sfb_auth_context_step (context, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (first), ==, 0);
  g_assert_false (sfb_auth_context_is_established (context));
  g_assert_cmpint (sfb_auth_context_get_expires_at (context), ==, 0);

  type3 = sfb_auth_context_step (context, type2, &error);
  g_assert_no_error (error);
  assert_bytes_hex (type3, CAPTURE_TYPE3_HEAD CAPTURE_TYPE3_OUR_VERSION CAPTURE_TYPE3_TAIL);
  g_assert_cmphex (sfb_ntlm_context_get_flags (SFB_NTLM_CONTEXT (context)), ==, 0x62988255);
  g_assert_true (sfb_auth_context_is_established (context));
  g_assert_cmpint (sfb_auth_context_get_expires_at (context), >, g_get_real_time ());

  sig = sfb_auth_context_sign (
      context, CAPTURE_REQUEST_BUFFER, strlen (CAPTURE_REQUEST_BUFFER), &error);
  g_assert_no_error (error);
  assert_bytes_hex (sig, CAPTURE_REQUEST_SIGNATURE);
  /* the server's 200 OK verifies; a changed byte does not */
  g_assert_true (sfb_auth_context_verify (
      context, CAPTURE_RESPONSE_BUFFER, strlen (CAPTURE_RESPONSE_BUFFER), server_sig, &error));
  g_assert_no_error (error);
  {
    g_autofree char *tampered = g_strdup (CAPTURE_RESPONSE_BUFFER);

    tampered[strlen (tampered) - 3] = '1'; /* <200> -> <210> */
    g_assert_false (
        sfb_auth_context_verify (context, tampered, strlen (tampered), server_sig, &error));
    g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
    g_clear_error (&error);
  }
  /* the client's own signature is no server signature */
  g_assert_false (sfb_auth_context_verify (
      context, CAPTURE_REQUEST_BUFFER, strlen (CAPTURE_REQUEST_BUFFER), sig, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID);
  g_clear_error (&error);

  /* a new first leg drops the security association */
  g_clear_pointer (&first, g_bytes_unref);
  first = sfb_auth_context_step (context, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (sfb_auth_context_is_established (context));
  g_assert_null (sfb_auth_context_sign (context, "x", 1, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
}

/* docs/protocol.md §15.2, non-ESS example: OCS 2007 signature of a v2 buffer */
static void
test_non_ess (void)
{
  static const char buffer[]
      = "<NTLM><0878F41B><1><SIP Communications Service><ocs1.ocs.provo.novell.com>"
        "<8592g5DCBa1694i5887m0D0Bt2247b3F38xAE9Fx><3><REGISTER>"
        "<sip:gabriel@ocs.provo.novell.com><2947328781><B816D65C2300A32CFA6D371F2AF537FD>"
        "<900><200>";
  const guint32 flags = SFB_NTLM_NEGOTIATE_UNICODE | SFB_NTLM_NEGOTIATE_SIGN
                        | SFB_NTLM_NEGOTIATE_DATAGRAM | SFB_NTLM_NEGOTIATE_NTLM
                        | SFB_NTLM_NEGOTIATE_ALWAYS_SIGN | SFB_NTLM_NEGOTIATE_TARGET_INFO
                        | SFB_NTLM_NEGOTIATE_128 | SFB_NTLM_NEGOTIATE_KEY_EXCH;
  g_autoptr (GBytes) exported = test_hex ("5F029153BC025058969548615E7099BA");
  static const guint8 pad[4] = { 0 };
  guint8 seal_key[16];
  gsize seal_len = 0;
  guint8 mac[16];

  sfb_ntlm_seal_key (flags, g_bytes_get_data (exported, NULL), TRUE, seal_key, &seal_len);
  sfb_ntlm_mac (flags,
                NULL,
                seal_key,
                seal_len,
                SFB_NTLM_SIP_SEQ,
                TRUE,
                pad,
                (const guint8 *) buffer,
                strlen (buffer),
                mac);
  assert_hex (mac, 16, "0100000000000000BF2E52667DDF6DED");
}

static GBytes *
authenticate_field (GBytes *message, gsize at)
{
  const guint8 *p = g_bytes_get_data (message, NULL);
  guint len = p[at] | p[at + 1] << 8;
  guint offset = p[at + 4] | p[at + 5] << 8;

  g_assert_cmpuint (offset + len, <=, g_bytes_get_size (message));
  return g_bytes_new (p + offset, len);
}

/* "user@domain" goes as the user name with an empty domain (docs/protocol.md §6) */
static void
test_login_forms (void)
{
  g_autoptr (SfbAuthContext) upn = sfb_ntlm_context_new ("alice@contoso.test", "pw", NULL);
  g_autoptr (SfbAuthContext) bad = sfb_ntlm_context_new ("\xff\\alice", "pw", "HOST");
  g_autoptr (GBytes) type2 = test_hex (CAPTURE_TYPE2);
  g_autoptr (GBytes) empty = NULL;
  g_autoptr (GBytes) type3 = NULL;
  g_autoptr (GBytes) domain = NULL;
  g_autoptr (GBytes) user = NULL;
  g_autoptr (GBytes) host = NULL;
  g_autoptr (GBytes) expected_user = sfb_ntlm_utf16le ("alice@contoso.test");
  g_autoptr (GBytes) expected_host = NULL;
  g_autofree char *short_host = g_strdup (g_get_host_name ());
  g_autofree char *upper = NULL;
  g_autoptr (GError) error = NULL;

  empty = sfb_auth_context_step (upn, NULL, &error);
  g_assert_no_error (error);
  type3 = sfb_auth_context_step (upn, type2, &error);
  g_assert_no_error (error);
  domain = authenticate_field (type3, 28);
  user = authenticate_field (type3, 36);
  host = authenticate_field (type3, 44);
  g_assert_cmpuint (g_bytes_get_size (domain), ==, 0);
  g_assert_true (g_bytes_equal (user, expected_user));
  /* the workstation defaults to this host's upper-case short name */
  if (strchr (short_host, '.') != NULL)
    *strchr (short_host, '.') = '\0';
  upper = g_utf8_strup (short_host, -1);
  expected_host = sfb_ntlm_utf16le (upper);
  g_assert_true (g_bytes_equal (host, expected_host));

  /* a login that is not UTF-8 fails at the first step, with no secret in the error */
  g_assert_null (sfb_auth_context_step (bad, NULL, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_assert_null (strstr (error->message, "pw"));
}

/* A CHALLENGE that does not allow NTLMv2 is refused */
static void
test_challenge_without_target_info (void)
{
  g_autoptr (SfbAuthContext) context = sfb_ntlm_context_new ("D\\u", "pw", "H");
  g_autoptr (GBytes) no_ti
      = test_hex ("4e544c4d53535000020000000000000030000000338280e20123456789abcdef");
  g_autoptr (GBytes) empty = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GError) error = NULL;

  empty = sfb_auth_context_step (context, NULL, &error);
  out = sfb_auth_context_step (context, no_ti, &error);
  g_assert_null (out);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_false (sfb_auth_context_is_established (context));
}

static void
test_flags_to_string (void)
{
  g_autofree char *s = sfb_ntlm_flags_to_string (0x62988255);

  g_assert_cmpstr (s,
                   ==,
                   "UNICODE|REQUEST_TARGET|SIGN|DATAGRAM|NTLM|ALWAYS_SIGN|"
                   "EXTENDED_SESSIONSECURITY|IDENTIFY|TARGET_INFO|VERSION|128|KEY_EXCH");
}

/* the per-context key gives sfb_ntlm_mac()'s signatures, every ESS case */
static void
test_mac_key (void)
{
  static const guint32 flag_sets[] = {
    SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY,
    SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY | SFB_NTLM_NEGOTIATE_KEY_EXCH,
  };
  static const gsize seal_lens[] = { 5, 7, 16 };
  static const guint32 seqs[] = { 0, SFB_NTLM_SIP_SEQ, 0x01020304 };
  static const guint8 pad[4] = { 0 };
  guint8 sign_key[16], seal_key[16], data[300];

  for (guint i = 0; i < sizeof sign_key; i++)
    {
      sign_key[i] = (guint8) (i * 7 + 1);
      seal_key[i] = (guint8) (0xf0 - i * 3);
    }
  for (guint i = 0; i < sizeof data; i++)
    data[i] = (guint8) (i * 31);
  for (guint f = 0; f < G_N_ELEMENTS (flag_sets); f++)
    for (guint l = 0; l < G_N_ELEMENTS (seal_lens); l++)
      for (guint q = 0; q < G_N_ELEMENTS (seqs); q++)
        for (int datagram = 0; datagram <= 1; datagram++)
          {
            SfbNtlmMacKey key;

            sfb_ntlm_mac_key_init (
                &key, flag_sets[f], sign_key, seal_key, seal_lens[l], seqs[q], datagram);
            /* twice with one key: nothing in it is used up */
            for (guint round = 0; round < 2; round++)
              for (gsize len = 0; len <= sizeof data; len += 37 + round)
                {
                  guint8 want[16], got[16];

                  sfb_ntlm_mac (flag_sets[f],
                                sign_key,
                                seal_key,
                                seal_lens[l],
                                seqs[q],
                                datagram,
                                pad,
                                data,
                                len,
                                want);
                  sfb_ntlm_mac_with_key (&key, data, len, got);
                  g_assert_cmpmem (got, sizeof got, want, sizeof want);
                }
            sfb_ntlm_wipe (&key, sizeof key);
          }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ntlm/hashes", test_hashes);
  g_test_add_func ("/ntlm/ms-nlmp/v1", test_v1);
  g_test_add_func ("/ntlm/ms-nlmp/v1-ess", test_v1_ess);
  g_test_add_func ("/ntlm/ms-nlmp/v2", test_v2);
  g_test_add_func ("/ntlm/challenge/parse", test_challenge_parse);
  g_test_add_func ("/ntlm/challenge/hostile", test_challenge_hostile);
  g_test_add_func ("/ntlm/challenge/no-target-info", test_challenge_without_target_info);
  g_test_add_func ("/ntlm/capture", test_capture);
  g_test_add_func ("/ntlm/non-ess", test_non_ess);
  g_test_add_func ("/ntlm/mac-key", test_mac_key);
  g_test_add_func ("/ntlm/login-forms", test_login_forms);
  g_test_add_func ("/ntlm/flags-to-string", test_flags_to_string);
  return g_test_run ();
}
