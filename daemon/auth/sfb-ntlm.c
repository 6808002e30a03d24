/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-auth"

#include "sfb-ntlm.h"

#include "sfb-error.h"

#include <nettle/arcfour.h>
#include <nettle/des.h>
#include <nettle/hmac.h>
#include <nettle/md4.h>
#include <nettle/md5.h>
#include <string.h>

#define NTLMSSP_SIGNATURE "NTLMSSP\0"
#define CHALLENGE_HEADER 32      /* up to and including ServerChallenge */
#define CHALLENGE_TARGET_INFO 48 /* with Reserved and TargetInfoFields */
#define AUTHENTICATE_HEADER 64

void
sfb_ntlm_wipe (gpointer data, gsize len)
{
  if (data != NULL && len > 0)
    explicit_bzero (data, len);
}

typedef struct
{
  gsize len;
  guint8 data[];
} SecretBlock;

static void
secret_block_free (gpointer data)
{
  SecretBlock *block = data;

  sfb_ntlm_wipe (block->data, block->len);
  g_free (block);
}

GBytes *
sfb_ntlm_secret_bytes_new (gconstpointer data, gsize len)
{
  SecretBlock *block = g_malloc (sizeof (SecretBlock) + MAX (len, 1));

  block->len = len;
  if (len > 0)
    memcpy (block->data, data, len);
  return g_bytes_new_with_free_func (block->data, len, secret_block_free, block);
}

static guint16
read_le16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
read_le32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static void
write_le16 (guint8 *p, guint16 v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
}

static void
write_le32 (guint8 *p, guint32 v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static void
write_le64 (guint8 *p, guint64 v)
{
  for (guint i = 0; i < 8; i++)
    p[i] = (v >> (8 * i)) & 0xff;
}

/* ---- hashes and ciphers ---- */

void
sfb_ntlm_md4 (const guint8 *data, gsize len, guint8 out[16])
{
  struct md4_ctx ctx;

  md4_init (&ctx);
  md4_update (&ctx, len, data);
  md4_digest (&ctx, MD4_DIGEST_SIZE, out);
  sfb_ntlm_wipe (&ctx, sizeof ctx);
}

void
sfb_ntlm_md5 (const guint8 *data, gsize len, guint8 out[16])
{
  struct md5_ctx ctx;

  md5_init (&ctx);
  md5_update (&ctx, len, data);
  md5_digest (&ctx, MD5_DIGEST_SIZE, out);
  sfb_ntlm_wipe (&ctx, sizeof ctx);
}

void
sfb_ntlm_hmac_md5 (const guint8 *key, gsize key_len, const guint8 *data, gsize len, guint8 out[16])
{
  struct hmac_md5_ctx ctx;

  hmac_md5_set_key (&ctx, key_len, key);
  hmac_md5_update (&ctx, len, data);
  hmac_md5_digest (&ctx, MD5_DIGEST_SIZE, out);
  sfb_ntlm_wipe (&ctx, sizeof ctx);
}

void
sfb_ntlm_rc4 (const guint8 *key, gsize key_len, const guint8 *in, guint8 *out, gsize len)
{
  struct arcfour_ctx ctx;

  g_return_if_fail (key_len >= ARCFOUR_MIN_KEY_SIZE && key_len <= ARCFOUR_MAX_KEY_SIZE);
  arcfour_set_key (&ctx, key_len, key);
  arcfour_crypt (&ctx, len, out, in);
  sfb_ntlm_wipe (&ctx, sizeof ctx);
}

/* CRC-32 (IEEE 802.3, reflected, as zlib) */
guint32
sfb_ntlm_crc32 (const guint8 *data, gsize len)
{
  guint32 crc = 0xffffffffu;

  for (gsize i = 0; i < len; i++)
    {
      crc ^= data[i];
      for (guint bit = 0; bit < 8; bit++)
        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
  return crc ^ 0xffffffffu;
}

/* 7 key bytes -> 8 DES key bytes (parity bits left clear; nettle ignores them) */
static void
des_encrypt_7 (const guint8 key7[7], const guint8 in[8], guint8 out[8])
{
  struct des_ctx ctx;
  guint8 key[8];

  key[0] = key7[0];
  key[1] = (guint8) ((key7[0] << 7) | (key7[1] >> 1));
  key[2] = (guint8) ((key7[1] << 6) | (key7[2] >> 2));
  key[3] = (guint8) ((key7[2] << 5) | (key7[3] >> 3));
  key[4] = (guint8) ((key7[3] << 4) | (key7[4] >> 4));
  key[5] = (guint8) ((key7[4] << 3) | (key7[5] >> 5));
  key[6] = (guint8) ((key7[5] << 2) | (key7[6] >> 6));
  key[7] = (guint8) (key7[6] << 1);
  for (guint i = 0; i < 8; i++)
    key[i] &= 0xfe;
  /* FALSE only for weak keys, which still encrypt */
  (void) des_set_key (&ctx, key);
  des_encrypt (&ctx, DES_BLOCK_SIZE, out, in);
  sfb_ntlm_wipe (&ctx, sizeof ctx);
  sfb_ntlm_wipe (key, sizeof key);
}

/* DESL (MS-NLMP 6): a 16-byte key spread over three DES keys */
static void
desl (const guint8 key[16], const guint8 data[8], guint8 out[24])
{
  guint8 k3[7] = { key[14], key[15], 0, 0, 0, 0, 0 };

  des_encrypt_7 (key, data, out);
  des_encrypt_7 (key + 7, data, out + 8);
  des_encrypt_7 (k3, data, out + 16);
  sfb_ntlm_wipe (k3, sizeof k3);
}

/* ---- one-way functions ---- */

GBytes *
sfb_ntlm_utf16le (const char *text)
{
  gunichar2 *utf16;
  glong n = 0;
  guint8 *out;

  utf16 = g_utf8_to_utf16 (text, -1, NULL, &n, NULL);
  if (utf16 == NULL)
    return NULL;
  out = g_malloc ((gsize) n * 2 + 1);
  for (glong i = 0; i < n; i++)
    write_le16 (out + 2 * i, utf16[i]);
  sfb_ntlm_wipe (utf16, (gsize) n * 2);
  g_free (utf16);
  return g_bytes_new_take (out, (gsize) n * 2);
}

/* Frees a GBytes that held a secret after wiping it. */
static void
bytes_wipe_unref (GBytes *bytes)
{
  gsize len;
  gconstpointer data;

  if (bytes == NULL)
    return;
  data = g_bytes_get_data (bytes, &len);
  /* the GBytes was created here and holds the only reference */
  sfb_ntlm_wipe ((gpointer) data, len);
  g_bytes_unref (bytes);
}

gboolean
sfb_ntlm_nt_hash (const char *password, guint8 out[16])
{
  GBytes *utf16 = sfb_ntlm_utf16le (password);
  gsize len;
  const guint8 *data;

  if (utf16 == NULL)
    return FALSE;
  data = g_bytes_get_data (utf16, &len);
  sfb_ntlm_md4 (data, len, out);
  bytes_wipe_unref (utf16);
  return TRUE;
}

gboolean
sfb_ntlm_lm_hash (const char *password, guint8 out[16])
{
  static const guint8 magic[8] = { 'K', 'G', 'S', '!', '@', '#', '$', '%' };
  guint8 key[14] = { 0 };
  g_autofree char *upper = NULL;
  gsize len;

  if (!g_utf8_validate (password, -1, NULL))
    return FALSE;
  upper = g_ascii_strup (password, -1);
  len = MIN (strlen (upper), sizeof key);
  memcpy (key, upper, len);
  sfb_ntlm_wipe (upper, strlen (upper));
  des_encrypt_7 (key, magic, out);
  des_encrypt_7 (key + 7, magic, out + 8);
  sfb_ntlm_wipe (key, sizeof key);
  return TRUE;
}

gboolean
sfb_ntlm_ntowfv2_from_hash (const guint8 nt_hash[16],
                            const char *user,
                            const char *domain,
                            guint8 out[16])
{
  g_autofree char *upper = NULL;
  g_autofree char *joined = NULL;
  g_autoptr (GBytes) utf16 = NULL;
  gsize len;
  const guint8 *data;

  if (!g_utf8_validate (user, -1, NULL) || !g_utf8_validate (domain, -1, NULL))
    return FALSE;
  upper = g_utf8_strup (user, -1);
  joined = g_strconcat (upper, domain, NULL);
  utf16 = sfb_ntlm_utf16le (joined);
  if (utf16 == NULL)
    return FALSE;
  data = g_bytes_get_data (utf16, &len);
  sfb_ntlm_hmac_md5 (nt_hash, 16, data, len, out);
  return TRUE;
}

gboolean
sfb_ntlm_ntowfv2 (const char *password, const char *user, const char *domain, guint8 out[16])
{
  guint8 hash[16];
  gboolean ok;

  if (!sfb_ntlm_nt_hash (password, hash))
    return FALSE;
  ok = sfb_ntlm_ntowfv2_from_hash (hash, user, domain, out);
  sfb_ntlm_wipe (hash, sizeof hash);
  return ok;
}

/* ---- responses ---- */

void
sfb_ntlm_v1_responses (guint32 flags,
                       const guint8 nt_hash[16],
                       const guint8 lm_hash[16],
                       const guint8 server_challenge[8],
                       const guint8 client_challenge[8],
                       guint8 lm_response[24],
                       guint8 nt_response[24],
                       guint8 key_exchange_key[16])
{
  guint8 session_base_key[16];

  if (flags & SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)
    {
      guint8 both[16];
      guint8 digest[16];

      memcpy (both, server_challenge, 8);
      memcpy (both + 8, client_challenge, 8);
      sfb_ntlm_md5 (both, sizeof both, digest);
      desl (nt_hash, digest, nt_response);
      memset (lm_response, 0, 24);
      memcpy (lm_response, client_challenge, 8);
      sfb_ntlm_md4 (nt_hash, 16, session_base_key);
      sfb_ntlm_hmac_md5 (session_base_key, 16, both, sizeof both, key_exchange_key);
    }
  else
    {
      desl (nt_hash, server_challenge, nt_response);
      desl (lm_hash, server_challenge, lm_response);
      sfb_ntlm_md4 (nt_hash, 16, session_base_key);
      memcpy (key_exchange_key, session_base_key, 16);
    }
  sfb_ntlm_wipe (session_base_key, sizeof session_base_key);
}

GBytes *
sfb_ntlm_v2_responses (const guint8 response_key_nt[16],
                       const guint8 server_challenge[8],
                       const guint8 client_challenge[8],
                       guint64 timestamp,
                       GBytes *target_info,
                       guint8 lm_response[24],
                       guint8 session_base_key[16])
{
  gsize ti_len = target_info != NULL ? g_bytes_get_size (target_info) : 0;
  gsize blob_len = 28 + ti_len + 4;
  g_autofree guint8 *msg = g_malloc0 (8 + blob_len);
  guint8 *blob = msg + 8;
  guint8 *out = g_malloc (16 + blob_len);
  guint8 proof[16];
  guint8 both[16];

  /* blob: 0101 0000, reserved, time, client challenge, reserved, AV pairs, reserved */
  blob[0] = 1;
  blob[1] = 1;
  write_le64 (blob + 8, timestamp);
  memcpy (blob + 16, client_challenge, 8);
  if (ti_len > 0)
    memcpy (blob + 28, g_bytes_get_data (target_info, NULL), ti_len);

  memcpy (msg, server_challenge, 8);
  sfb_ntlm_hmac_md5 (response_key_nt, 16, msg, 8 + blob_len, proof);
  memcpy (out, proof, 16);
  memcpy (out + 16, blob, blob_len);

  memcpy (both, server_challenge, 8);
  memcpy (both + 8, client_challenge, 8);
  sfb_ntlm_hmac_md5 (response_key_nt, 16, both, sizeof both, lm_response);
  memcpy (lm_response + 16, client_challenge, 8);

  sfb_ntlm_hmac_md5 (response_key_nt, 16, proof, sizeof proof, session_base_key);
  return g_bytes_new_take (out, 16 + blob_len);
}

/* ---- keys and signatures ---- */

static void
magic_key (const guint8 *key, gsize key_len, gboolean client, const char *what, guint8 out[16])
{
  g_autofree char *magic = g_strdup_printf ("session key to %s %s key magic constant",
                                            client ? "client-to-server" : "server-to-client",
                                            what);
  gsize magic_len = strlen (magic) + 1; /* the NUL is part of the constant */
  g_autofree guint8 *buf = g_malloc (key_len + magic_len);

  memcpy (buf, key, key_len);
  memcpy (buf + key_len, magic, magic_len);
  sfb_ntlm_md5 (buf, key_len + magic_len, out);
  sfb_ntlm_wipe (buf, key_len);
}

void
sfb_ntlm_sign_key (const guint8 exported_session_key[16], gboolean client, guint8 out[16])
{
  magic_key (exported_session_key, 16, client, "signing", out);
}

void
sfb_ntlm_seal_key (guint32 flags,
                   const guint8 exported_session_key[16],
                   gboolean client,
                   guint8 out[16],
                   gsize *seal_key_len)
{
  if (flags & SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)
    {
      gsize len = (flags & SFB_NTLM_NEGOTIATE_128) ? 16 : (flags & SFB_NTLM_NEGOTIATE_56) ? 7 : 5;

      magic_key (exported_session_key, len, client, "sealing", out);
      *seal_key_len = 16;
    }
  else if (flags & SFB_NTLM_NEGOTIATE_LM_KEY)
    {
      memset (out, 0, 16);
      if (flags & SFB_NTLM_NEGOTIATE_56)
        {
          memcpy (out, exported_session_key, 7);
          out[7] = 0xa0;
        }
      else
        {
          memcpy (out, exported_session_key, 5);
          out[5] = 0xe5;
          out[6] = 0x38;
          out[7] = 0xb0;
        }
      *seal_key_len = 8;
    }
  else
    {
      /* What OCS verified for non-ESS signatures (docs/protocol.md §15.2, §17.8):
       * the exported key itself, also with DATAGRAM. */
      memcpy (out, exported_session_key, 16);
      *seal_key_len = 16;
    }
}

void
sfb_ntlm_mac (guint32 flags,
              const guint8 sign_key[16],
              const guint8 *seal_key,
              gsize seal_key_len,
              guint32 seq,
              gboolean datagram,
              const guint8 random_pad[4],
              const guint8 *data,
              gsize len,
              guint8 out[16])
{
  guint8 seqb[4];

  write_le32 (seqb, seq);
  write_le32 (out, 1);
  if (flags & SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)
    {
      struct hmac_md5_ctx ctx;
      guint8 digest[16];

      hmac_md5_set_key (&ctx, 16, sign_key);
      hmac_md5_update (&ctx, sizeof seqb, seqb);
      hmac_md5_update (&ctx, len, data);
      hmac_md5_digest (&ctx, sizeof digest, digest);
      sfb_ntlm_wipe (&ctx, sizeof ctx);
      if (flags & SFB_NTLM_NEGOTIATE_KEY_EXCH)
        {
          if (datagram)
            {
              guint8 buf[16 + 4];
              guint8 key[16];

              memcpy (buf, seal_key, seal_key_len);
              memcpy (buf + seal_key_len, seqb, 4);
              sfb_ntlm_md5 (buf, seal_key_len + 4, key);
              sfb_ntlm_rc4 (key, sizeof key, digest, out + 4, 8);
              sfb_ntlm_wipe (buf, sizeof buf);
              sfb_ntlm_wipe (key, sizeof key);
            }
          else
            sfb_ntlm_rc4 (seal_key, seal_key_len, digest, out + 4, 8);
        }
      else
        memcpy (out + 4, digest, 8);
      memcpy (out + 12, seqb, 4);
      sfb_ntlm_wipe (digest, sizeof digest);
    }
  else
    {
      guint8 plain[12];
      guint8 sealed[12];

      /* the pad goes through RC4 first, but travels in the clear */
      memcpy (plain, random_pad, 4);
      write_le32 (plain + 4, sfb_ntlm_crc32 (data, len));
      memset (plain + 8, 0, 4);
      sfb_ntlm_rc4 (seal_key, seal_key_len, plain, sealed, sizeof plain);
      memcpy (out + 4, random_pad, 4);
      memcpy (out + 8, sealed + 4, 4);
      for (guint i = 0; i < 4; i++)
        out[12 + i] = sealed[8 + i] ^ seqb[i];
    }
}

void
sfb_ntlm_mac_key_init (SfbNtlmMacKey *key,
                       guint32 flags,
                       const guint8 sign_key[16],
                       const guint8 *seal_key,
                       gsize seal_key_len,
                       guint32 seq,
                       gboolean datagram)
{
  static const guint8 zeros[8] = { 0 };

  g_return_if_fail (flags & SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY);
  g_return_if_fail (seal_key_len <= 16);

  hmac_md5_set_key (&key->hmac, 16, sign_key);
  write_le32 (key->seqb, seq);
  key->sealed = (flags & SFB_NTLM_NEGOTIATE_KEY_EXCH) != 0;
  memset (key->keystream, 0, sizeof key->keystream);
  if (!key->sealed)
    return;
  /* a fresh RC4 state per signature: its first 8 bytes never change */
  if (datagram)
    {
      guint8 buf[16 + 4];
      guint8 rc4_key[16];

      memcpy (buf, seal_key, seal_key_len);
      memcpy (buf + seal_key_len, key->seqb, 4);
      sfb_ntlm_md5 (buf, seal_key_len + 4, rc4_key);
      sfb_ntlm_rc4 (rc4_key, sizeof rc4_key, zeros, key->keystream, sizeof key->keystream);
      sfb_ntlm_wipe (buf, sizeof buf);
      sfb_ntlm_wipe (rc4_key, sizeof rc4_key);
    }
  else
    sfb_ntlm_rc4 (seal_key, seal_key_len, zeros, key->keystream, sizeof key->keystream);
}

void
sfb_ntlm_mac_with_key (const SfbNtlmMacKey *key, const guint8 *data, gsize len, guint8 out[16])
{
  struct hmac_md5_ctx ctx = key->hmac;
  guint8 digest[16];

  write_le32 (out, 1);
  hmac_md5_update (&ctx, sizeof key->seqb, key->seqb);
  hmac_md5_update (&ctx, len, data);
  hmac_md5_digest (&ctx, sizeof digest, digest);
  sfb_ntlm_wipe (&ctx, sizeof ctx);
  for (guint i = 0; i < 8; i++)
    out[4 + i] = key->sealed ? digest[i] ^ key->keystream[i] : digest[i];
  memcpy (out + 12, key->seqb, 4);
  sfb_ntlm_wipe (digest, sizeof digest);
}

/* ---- CHALLENGE ---- */

static gboolean
challenge_error (GError **error, const char *what)
{
  g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "Malformed NTLM CHALLENGE: %s", what);
  return FALSE;
}

/* A security buffer (len, maxlen, offset) inside data[0..len) */
static gboolean
read_field (const guint8 *data, gsize len, gsize at, const guint8 **out, gsize *out_len)
{
  guint16 field_len = read_le16 (data + at);
  guint32 offset = read_le32 (data + at + 4);

  if (field_len == 0)
    {
      *out = NULL;
      *out_len = 0;
      return TRUE;
    }
  if (offset > len || field_len > len - offset)
    return FALSE;
  *out = data + offset;
  *out_len = field_len;
  return TRUE;
}

static gboolean
check_av_pairs (SfbNtlmChallenge *challenge, const guint8 *p, gsize len, GError **error)
{
  gsize at = 0;

  for (guint n = 0;; n++)
    {
      guint16 id;
      guint16 av_len;

      if (n >= SFB_NTLM_MAX_AV_PAIRS)
        return challenge_error (error, "too many TargetInfo pairs");
      if (len - at < 4)
        return challenge_error (error, "TargetInfo lacks MsvAvEOL");
      id = read_le16 (p + at);
      av_len = read_le16 (p + at + 2);
      at += 4;
      if (av_len > len - at)
        return challenge_error (error, "TargetInfo pair out of bounds");
      if (id == SFB_NTLM_AV_EOL)
        {
          if (av_len != 0)
            return challenge_error (error, "MsvAvEOL with a value");
          break;
        }
      if (id == SFB_NTLM_AV_TIMESTAMP)
        {
          if (av_len != 8)
            return challenge_error (error, "MsvAvTimestamp of wrong size");
          challenge->has_timestamp = TRUE;
          challenge->timestamp
              = (guint64) read_le32 (p + at) | ((guint64) read_le32 (p + at + 4) << 32);
        }
      at += av_len;
    }
  /* anything after MsvAvEOL is not sent back */
  challenge->target_info = g_bytes_new (p, at);
  return TRUE;
}

void
sfb_ntlm_challenge_free (SfbNtlmChallenge *challenge)
{
  if (challenge == NULL)
    return;
  g_clear_pointer (&challenge->target_name, g_bytes_unref);
  g_clear_pointer (&challenge->target_info, g_bytes_unref);
  g_free (challenge);
}

SfbNtlmChallenge *
sfb_ntlm_challenge_parse (const guint8 *data, gsize len, GError **error)
{
  g_autoptr (SfbNtlmChallenge) challenge = g_new0 (SfbNtlmChallenge, 1);
  const guint8 *field;
  gsize field_len;

  if (len > SFB_NTLM_MAX_MESSAGE)
    {
      challenge_error (error, "too long");
      return NULL;
    }
  if (len < CHALLENGE_HEADER || memcmp (data, NTLMSSP_SIGNATURE, 8) != 0)
    {
      challenge_error (error, "not an NTLMSSP message");
      return NULL;
    }
  if (read_le32 (data + 8) != 2)
    {
      challenge_error (error, "not a CHALLENGE message");
      return NULL;
    }
  challenge->flags = read_le32 (data + 20);
  memcpy (challenge->server_challenge, data + 24, 8);
  if (!read_field (data, len, 12, &field, &field_len))
    {
      challenge_error (error, "TargetName out of bounds");
      return NULL;
    }
  challenge->target_name = g_bytes_new (field, field_len);

  if (len >= CHALLENGE_TARGET_INFO && (challenge->flags & SFB_NTLM_NEGOTIATE_TARGET_INFO))
    {
      if (!read_field (data, len, 40, &field, &field_len))
        {
          challenge_error (error, "TargetInfo out of bounds");
          return NULL;
        }
      if (field_len > 0 && !check_av_pairs (challenge, field, field_len, error))
        return NULL;
    }
  if (challenge->target_info == NULL)
    challenge->target_info = g_bytes_new (NULL, 0);
  if (len >= CHALLENGE_TARGET_INFO + 8 && (challenge->flags & SFB_NTLM_NEGOTIATE_VERSION))
    {
      challenge->has_version = TRUE;
      memcpy (challenge->version, data + CHALLENGE_TARGET_INFO, 8);
    }
  return g_steal_pointer (&challenge);
}

/* ---- AUTHENTICATE ---- */

static void
put_field (GByteArray *msg, gsize header_at, const guint8 *data, gsize len)
{
  write_le16 (msg->data + header_at, (guint16) len);
  write_le16 (msg->data + header_at + 2, (guint16) len);
  write_le32 (msg->data + header_at + 4, msg->len);
  if (len > 0)
    g_byte_array_append (msg, data, (guint) len);
}

static GBytes *
string_field (const char *text, GError **error)
{
  GBytes *utf16;

  if (text == NULL)
    text = "";
  if (g_utf8_strlen (text, -1) > SFB_NTLM_MAX_STRING || (utf16 = sfb_ntlm_utf16le (text)) == NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "NTLM user, domain and workstation must be UTF-8 of at most %d characters",
                   SFB_NTLM_MAX_STRING);
      return NULL;
    }
  return utf16;
}

GBytes *
sfb_ntlm_build_authenticate (guint32 flags,
                             const char *domain,
                             const char *user,
                             const char *workstation,
                             const guint8 lm_response[24],
                             GBytes *nt_response,
                             const guint8 encrypted_session_key[16],
                             const guint8 version[8],
                             GError **error)
{
  g_autoptr (GBytes) domain16 = string_field (domain, error);
  g_autoptr (GBytes) user16 = NULL;
  g_autoptr (GBytes) host16 = NULL;
  g_autoptr (GByteArray) msg = NULL;
  gsize header = AUTHENTICATE_HEADER + (version != NULL ? 8 : 0);
  gsize nt_len = g_bytes_get_size (nt_response);

  if (domain16 == NULL || (user16 = string_field (user, error)) == NULL
      || (host16 = string_field (workstation, error)) == NULL)
    return NULL;
  if (nt_len > SFB_NTLM_MAX_MESSAGE)
    {
      g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "NTLM response too long");
      return NULL;
    }
  msg = g_byte_array_sized_new ((guint) (header + nt_len + 24 + 3 * 2 * SFB_NTLM_MAX_STRING));
  g_byte_array_set_size (msg, (guint) header);
  memset (msg->data, 0, header);
  memcpy (msg->data, NTLMSSP_SIGNATURE, 8);
  write_le32 (msg->data + 8, 3);
  write_le32 (msg->data + 60, flags);
  if (version != NULL)
    memcpy (msg->data + AUTHENTICATE_HEADER, version, 8);
  /* payload order as Microsoft clients write it */
  put_field (msg, 28, g_bytes_get_data (domain16, NULL), g_bytes_get_size (domain16));
  put_field (msg, 36, g_bytes_get_data (user16, NULL), g_bytes_get_size (user16));
  put_field (msg, 44, g_bytes_get_data (host16, NULL), g_bytes_get_size (host16));
  put_field (msg, 12, lm_response, 24);
  put_field (msg, 20, g_bytes_get_data (nt_response, NULL), nt_len);
  put_field (msg, 52, encrypted_session_key, encrypted_session_key != NULL ? 16 : 0);
  return g_byte_array_free_to_bytes (g_steal_pointer (&msg));
}

char *
sfb_ntlm_flags_to_string (guint32 flags)
{
  static const struct
  {
    guint32 flag;
    const char *name;
  } names[] = {
    { SFB_NTLM_NEGOTIATE_UNICODE, "UNICODE" },
    { SFB_NTLM_NEGOTIATE_OEM, "OEM" },
    { SFB_NTLM_REQUEST_TARGET, "REQUEST_TARGET" },
    { SFB_NTLM_NEGOTIATE_SIGN, "SIGN" },
    { SFB_NTLM_NEGOTIATE_SEAL, "SEAL" },
    { SFB_NTLM_NEGOTIATE_DATAGRAM, "DATAGRAM" },
    { SFB_NTLM_NEGOTIATE_LM_KEY, "LM_KEY" },
    { SFB_NTLM_NEGOTIATE_NTLM, "NTLM" },
    { SFB_NTLM_NEGOTIATE_ALWAYS_SIGN, "ALWAYS_SIGN" },
    { SFB_NTLM_TARGET_TYPE_DOMAIN, "TARGET_TYPE_DOMAIN" },
    { SFB_NTLM_TARGET_TYPE_SERVER, "TARGET_TYPE_SERVER" },
    { SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY, "EXTENDED_SESSIONSECURITY" },
    { SFB_NTLM_NEGOTIATE_IDENTIFY, "IDENTIFY" },
    { SFB_NTLM_NEGOTIATE_TARGET_INFO, "TARGET_INFO" },
    { SFB_NTLM_NEGOTIATE_VERSION, "VERSION" },
    { SFB_NTLM_NEGOTIATE_128, "128" },
    { SFB_NTLM_NEGOTIATE_KEY_EXCH, "KEY_EXCH" },
    { SFB_NTLM_NEGOTIATE_56, "56" },
  };
  g_autoptr (GString) out = g_string_new (NULL);
  guint32 rest = flags;

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (!(flags & names[i].flag))
        continue;
      if (out->len > 0)
        g_string_append_c (out, '|');
      g_string_append (out, names[i].name);
      rest &= ~names[i].flag;
    }
  if (rest != 0)
    g_string_append_printf (out, "%s0x%08x", out->len > 0 ? "|" : "", rest);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
