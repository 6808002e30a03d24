/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NTLM primitives (MS-NLMP; docs/protocol.md §5.2, §6): one-way functions,
 * NTLMv1/v2 responses, key derivation, message signatures, the CHALLENGE
 * parser and the AUTHENTICATE builder.  Pure functions, no state, no I/O:
 * SfbNtlmContext drives them.  Key buffers are caller-owned; wipe them
 * with sfb_ntlm_wipe().
 *
 * The CHALLENGE parser treats its input as hostile: at most
 * SFB_NTLM_MAX_MESSAGE bytes, every offset and length checked, at most
 * SFB_NTLM_MAX_AV_PAIRS AV pairs, a TargetInfo that ends with MsvAvEOL.
 */
#pragma once

#include <glib.h>
#include <nettle/hmac.h>

G_BEGIN_DECLS

#define SFB_NTLM_NEGOTIATE_UNICODE 0x00000001u
#define SFB_NTLM_NEGOTIATE_OEM 0x00000002u
#define SFB_NTLM_REQUEST_TARGET 0x00000004u
#define SFB_NTLM_NEGOTIATE_SIGN 0x00000010u
#define SFB_NTLM_NEGOTIATE_SEAL 0x00000020u
#define SFB_NTLM_NEGOTIATE_DATAGRAM 0x00000040u
#define SFB_NTLM_NEGOTIATE_LM_KEY 0x00000080u
#define SFB_NTLM_NEGOTIATE_NTLM 0x00000200u
#define SFB_NTLM_NEGOTIATE_ALWAYS_SIGN 0x00008000u
#define SFB_NTLM_TARGET_TYPE_DOMAIN 0x00010000u
#define SFB_NTLM_TARGET_TYPE_SERVER 0x00020000u
#define SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define SFB_NTLM_NEGOTIATE_IDENTIFY 0x00100000u
#define SFB_NTLM_NEGOTIATE_TARGET_INFO 0x00800000u
#define SFB_NTLM_NEGOTIATE_VERSION 0x02000000u
#define SFB_NTLM_NEGOTIATE_128 0x20000000u
#define SFB_NTLM_NEGOTIATE_KEY_EXCH 0x40000000u
#define SFB_NTLM_NEGOTIATE_56 0x80000000u

/* MS-SIPAE: every signature in both directions uses sequence number 100 */
#define SFB_NTLM_SIP_SEQ 100u

#define SFB_NTLM_MAX_MESSAGE (16 * 1024)
#define SFB_NTLM_MAX_AV_PAIRS 64
#define SFB_NTLM_MAX_STRING 256 /* user, domain, workstation, in characters */

#define SFB_NTLM_AV_EOL 0
#define SFB_NTLM_AV_TIMESTAMP 7

/* A parsed CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2). */
typedef struct
{
  guint32 flags;
  guint8 server_challenge[8];
  GBytes *target_name; /* raw bytes as sent (UTF-16LE or OEM), maybe empty */
  GBytes *target_info; /* AV pairs, validated, MsvAvEOL included; empty if none */
  gboolean has_timestamp;
  guint64 timestamp; /* MsvAvTimestamp (FILETIME) */
  gboolean has_version;
  guint8 version[8];
} SfbNtlmChallenge;

SfbNtlmChallenge *sfb_ntlm_challenge_parse (const guint8 *data, gsize len, GError **error);
void sfb_ntlm_challenge_free (SfbNtlmChallenge *challenge);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbNtlmChallenge, sfb_ntlm_challenge_free)

/* Overwrites memory in a way the compiler does not drop. */
void sfb_ntlm_wipe (gpointer data, gsize len);
/* A copy of @data (keys, private keys) whose memory is wiped when the last
 * reference goes. */
GBytes *sfb_ntlm_secret_bytes_new (gconstpointer data, gsize len);

/* Hashes and ciphers (nettle) */
void sfb_ntlm_md4 (const guint8 *data, gsize len, guint8 out[16]);
void sfb_ntlm_md5 (const guint8 *data, gsize len, guint8 out[16]);
void
sfb_ntlm_hmac_md5 (const guint8 *key, gsize key_len, const guint8 *data, gsize len, guint8 out[16]);
void sfb_ntlm_rc4 (const guint8 *key, gsize key_len, const guint8 *in, guint8 *out, gsize len);
guint32 sfb_ntlm_crc32 (const guint8 *data, gsize len);

/* UTF-8 to UTF-16LE (no terminator); NULL if not valid UTF-8. */
GBytes *sfb_ntlm_utf16le (const char *text);

/* One-way functions (MS-NLMP 3.3.1, 3.3.2).  FALSE if a string is not
 * valid UTF-8. */
gboolean sfb_ntlm_nt_hash (const char *password, guint8 out[16]); /* NTOWFv1 */
gboolean sfb_ntlm_lm_hash (const char *password, guint8 out[16]); /* LMOWFv1 */
gboolean
sfb_ntlm_ntowfv2 (const char *password, const char *user, const char *domain, guint8 out[16]);
gboolean sfb_ntlm_ntowfv2_from_hash (const guint8 nt_hash[16],
                                     const char *user,
                                     const char *domain,
                                     guint8 out[16]);

/* NTLMv1 (MS-NLMP 3.3.1), with or without extended session security:
 * responses, SessionBaseKey and KeyExchangeKey. */
void sfb_ntlm_v1_responses (guint32 flags,
                            const guint8 nt_hash[16],
                            const guint8 lm_hash[16],
                            const guint8 server_challenge[8],
                            const guint8 client_challenge[8],
                            guint8 lm_response[24],
                            guint8 nt_response[24],
                            guint8 key_exchange_key[16]);

/* NTLMv2 (MS-NLMP 3.3.2): the NtChallengeResponse (NTProofStr ‖ blob) is
 * returned; lm_response is LMv2; session_base_key is also the
 * KeyExchangeKey. */
GBytes *sfb_ntlm_v2_responses (const guint8 response_key_nt[16],
                               const guint8 server_challenge[8],
                               const guint8 client_challenge[8],
                               guint64 timestamp,
                               GBytes *target_info,
                               guint8 lm_response[24],
                               guint8 session_base_key[16]);

/* SIGNKEY / SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3).  Without extended session
 * security the seal key is the exported key (weakened only with LM_KEY);
 * its length goes to *seal_key_len. */
void sfb_ntlm_sign_key (const guint8 exported_session_key[16], gboolean client, guint8 out[16]);
void sfb_ntlm_seal_key (guint32 flags,
                        const guint8 exported_session_key[16],
                        gboolean client,
                        guint8 out[16],
                        gsize *seal_key_len);

/* NTLMSSP_MESSAGE_SIGNATURE (docs/protocol.md §5.2) with a fresh RC4 state:
 * with ESS, HMAC-MD5 over LE32(seq) ‖ data, RC4-sealed under KEY_EXCH
 * (datagram: with MD5(SealKey ‖ LE32(seq))); without ESS, RandomPad ‖
 * RC4(CRC32 ‖ seq) where random_pad is the 4 clear pad bytes. */
void sfb_ntlm_mac (guint32 flags,
                   const guint8 sign_key[16],
                   const guint8 *seal_key,
                   gsize seal_key_len,
                   guint32 seq,
                   gboolean datagram,
                   const guint8 random_pad[4],
                   const guint8 *data,
                   gsize len,
                   guint8 out[16]);

/* What an ESS signature (sfb_ntlm_mac()) takes from the keys and the
 * sequence number alone, which SIP keeps constant: HMAC-MD5's keyed state
 * and, under KEY_EXCH, the RC4 keystream the checksum is sealed with.
 * Secret: wipe it with the keys. */
typedef struct
{
  struct hmac_md5_ctx hmac;
  guint8 seqb[4];
  gboolean sealed;
  guint8 keystream[8];
} SfbNtlmMacKey;

/* flags must include SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY */
void sfb_ntlm_mac_key_init (SfbNtlmMacKey *key,
                            guint32 flags,
                            const guint8 sign_key[16],
                            const guint8 *seal_key,
                            gsize seal_key_len,
                            guint32 seq,
                            gboolean datagram);
/* sfb_ntlm_mac() with the key's flags, keys and sequence number */
void
sfb_ntlm_mac_with_key (const SfbNtlmMacKey *key, const guint8 *data, gsize len, guint8 out[16]);

/* The AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3), Unicode strings, no MIC;
 * encrypted_session_key may be NULL; version NULL leaves the VERSION
 * field out. */
GBytes *sfb_ntlm_build_authenticate (guint32 flags,
                                     const char *domain,
                                     const char *user,
                                     const char *workstation,
                                     const guint8 lm_response[24],
                                     GBytes *nt_response,
                                     const guint8 encrypted_session_key[16],
                                     const guint8 version[8],
                                     GError **error);

/* "UNICODE|NTLM|..." for debug logs */
char *sfb_ntlm_flags_to_string (guint32 flags);

G_END_DECLS
