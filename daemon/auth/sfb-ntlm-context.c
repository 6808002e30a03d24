/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-auth"

#include "sfb-ntlm-context.h"

#include "sfb-error.h"
#include "sfb-ntlm.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

/* What the AUTHENTICATE may carry of the server's flags (docs/protocol.md §6) */
#define WANTED_FLAGS                                                                               \
  (SFB_NTLM_NEGOTIATE_UNICODE | SFB_NTLM_NEGOTIATE_NTLM | SFB_NTLM_NEGOTIATE_ALWAYS_SIGN           \
   | SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY | SFB_NTLM_NEGOTIATE_TARGET_INFO                  \
   | SFB_NTLM_NEGOTIATE_SIGN | SFB_NTLM_NEGOTIATE_DATAGRAM | SFB_NTLM_NEGOTIATE_IDENTIFY           \
   | SFB_NTLM_NEGOTIATE_KEY_EXCH | SFB_NTLM_NEGOTIATE_VERSION | SFB_NTLM_NEGOTIATE_128             \
   | SFB_NTLM_NEGOTIATE_56 | SFB_NTLM_REQUEST_TARGET)
/* NTLMv2 cannot work without these */
#define REQUIRED_FLAGS                                                                             \
  (SFB_NTLM_NEGOTIATE_UNICODE | SFB_NTLM_NEGOTIATE_NTLM | SFB_NTLM_NEGOTIATE_TARGET_INFO)

/* MS-SIPAE 3.2.2 / docs/protocol.md §10.3: 8 h minus a 5 min buffer */
#define SA_LIFETIME_US (G_GINT64_CONSTANT (8 * 3600 - 5 * 60) * G_USEC_PER_SEC)

/* Windows XP SP2 5.1.2600, NTLMSSP revision 15 (docs/protocol.md §6) */
static const guint8 client_version[8] = { 5, 1, 0x28, 0x0a, 0, 0, 0, 0x0f };

typedef enum
{
  STATE_INITIAL,
  STATE_WAIT_CHALLENGE,
  STATE_ESTABLISHED,
} State;

/* Everything secret, in one block that finalize wipes */
typedef struct
{
  guint8 response_key_nt[16];
  guint8 client_sign[16];
  guint8 server_sign[16];
  guint8 client_seal[16];
  guint8 server_seal[16];
  gsize seal_len;
  /* with ESS: what every signature takes from the keys (sfb_ntlm_mac_key_init()) */
  SfbNtlmMacKey client_mac;
  SfbNtlmMacKey server_mac;
  /* test hooks */
  gboolean fixed_randoms;
  guint8 fixed_client_challenge[8];
  guint8 fixed_exported[16];
} Keys;

struct _SfbNtlmContext
{
  SfbAuthContext parent_instance;

  char *user;
  char *domain;
  char *workstation;
  gboolean credentials_valid;
  State state;
  guint32 flags;
  gint64 expires_at;
  guint64 fixed_timestamp;
  Keys *keys;
};

G_DEFINE_FINAL_TYPE (SfbNtlmContext, sfb_ntlm_context, SFB_TYPE_AUTH_CONTEXT)

static void
forget_keys (SfbNtlmContext *self)
{
  Keys *k = self->keys;

  sfb_ntlm_wipe (k->client_sign, sizeof k->client_sign);
  sfb_ntlm_wipe (k->server_sign, sizeof k->server_sign);
  sfb_ntlm_wipe (k->client_seal, sizeof k->client_seal);
  sfb_ntlm_wipe (k->server_seal, sizeof k->server_seal);
  sfb_ntlm_wipe (&k->client_mac, sizeof k->client_mac);
  sfb_ntlm_wipe (&k->server_mac, sizeof k->server_mac);
  k->seal_len = 0;
  self->flags = 0;
  self->expires_at = 0;
}

static void
random_bytes (gboolean fixed, const guint8 *fixed_value, guint8 *out, gsize len, gboolean key)
{
  if (fixed)
    memcpy (out, fixed_value, len);
  else if (gnutls_rnd (key ? GNUTLS_RND_KEY : GNUTLS_RND_NONCE, out, len) != 0)
    g_error ("gnutls_rnd failed"); /* no entropy: nothing sensible to do */
}

static guint64
filetime_now (void)
{
  return (guint64) g_get_real_time () * 10u + G_GUINT64_CONSTANT (116444736000000000);
}

/* Refuse a CHALLENGE that does not allow NTLMv2 */
static gboolean
check_challenge (SfbNtlmChallenge *challenge, GError **error)
{
  g_autofree char *flag_names = NULL;

  if ((challenge->flags & REQUIRED_FLAGS) != REQUIRED_FLAGS
      || g_bytes_get_size (challenge->target_info) == 0)
    {
      flag_names = sfb_ntlm_flags_to_string (challenge->flags);
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The server's NTLM CHALLENGE does not allow NTLMv2 (flags %s)",
                   flag_names);
      return FALSE;
    }
  return TRUE;
}

static guint64
challenge_timestamp (SfbNtlmContext *self, SfbNtlmChallenge *challenge)
{
  if (self->fixed_timestamp != 0)
    return self->fixed_timestamp;
  else if (challenge->has_timestamp)
    return challenge->timestamp;
  else
    return filetime_now ();
}

/* The AUTHENTICATE is built: derive the session keys and start the SA */
static void
establish (SfbNtlmContext *self, guint32 flags, const guint8 *exported)
{
  Keys *k = self->keys;
  g_autofree char *flag_names = NULL;

  if (flags & SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)
    {
      sfb_ntlm_sign_key (exported, TRUE, k->client_sign);
      sfb_ntlm_sign_key (exported, FALSE, k->server_sign);
      sfb_ntlm_seal_key (flags, exported, TRUE, k->client_seal, &k->seal_len);
      sfb_ntlm_seal_key (flags, exported, FALSE, k->server_seal, &k->seal_len);
      sfb_ntlm_mac_key_init (&k->client_mac,
                             flags,
                             k->client_sign,
                             k->client_seal,
                             k->seal_len,
                             SFB_NTLM_SIP_SEQ,
                             TRUE);
      sfb_ntlm_mac_key_init (&k->server_mac,
                             flags,
                             k->server_sign,
                             k->server_seal,
                             k->seal_len,
                             SFB_NTLM_SIP_SEQ,
                             TRUE);
    }
  else
    {
      /* one key both ways; signatures are RC4-sealed CRC32s */
      sfb_ntlm_seal_key (flags, exported, TRUE, k->client_seal, &k->seal_len);
      memcpy (k->server_seal, k->client_seal, 16);
    }
  self->flags = flags;
  self->state = STATE_ESTABLISHED;
  self->expires_at = g_get_real_time () + SA_LIFETIME_US;
  flag_names = sfb_ntlm_flags_to_string (flags);
  g_debug ("NTLM security association established, flags %s", flag_names);
}

static GBytes *
authenticate (SfbNtlmContext *self, GBytes *server_token, GError **error)
{
  Keys *k = self->keys;
  g_autoptr (SfbNtlmChallenge) challenge = NULL;
  g_autoptr (GBytes) nt_response = NULL;
  guint8 client_challenge[8];
  guint8 lm_response[24];
  guint8 key_exchange_key[16];
  guint8 exported[16];
  guint8 encrypted[16];
  guint64 timestamp;
  guint32 flags;
  GBytes *message;

  challenge = sfb_ntlm_challenge_parse (
      g_bytes_get_data (server_token, NULL), g_bytes_get_size (server_token), error);
  if (challenge == NULL)
    return NULL;
  if (!check_challenge (challenge, error))
    return NULL;
  flags = (challenge->flags & WANTED_FLAGS) | SFB_NTLM_REQUEST_TARGET;
  if (flags & SFB_NTLM_NEGOTIATE_128)
    flags &= ~SFB_NTLM_NEGOTIATE_56;

  timestamp = challenge_timestamp (self, challenge);

  random_bytes (k->fixed_randoms, k->fixed_client_challenge, client_challenge, 8, FALSE);
  nt_response = sfb_ntlm_v2_responses (k->response_key_nt,
                                       challenge->server_challenge,
                                       client_challenge,
                                       timestamp,
                                       challenge->target_info,
                                       lm_response,
                                       key_exchange_key);
  if (flags & SFB_NTLM_NEGOTIATE_KEY_EXCH)
    {
      random_bytes (k->fixed_randoms, k->fixed_exported, exported, 16, TRUE);
      sfb_ntlm_rc4 (key_exchange_key, 16, exported, encrypted, 16);
    }
  else
    memcpy (exported, key_exchange_key, 16);

  message
      = sfb_ntlm_build_authenticate (flags,
                                     self->domain,
                                     self->user,
                                     self->workstation,
                                     lm_response,
                                     nt_response,
                                     (flags & SFB_NTLM_NEGOTIATE_KEY_EXCH) ? encrypted : NULL,
                                     (flags & SFB_NTLM_NEGOTIATE_VERSION) ? client_version : NULL,
                                     error);
  if (message != NULL)
    establish (self, flags, exported);

  sfb_ntlm_wipe (lm_response, sizeof lm_response);
  sfb_ntlm_wipe (key_exchange_key, sizeof key_exchange_key);
  sfb_ntlm_wipe (exported, sizeof exported);
  sfb_ntlm_wipe (encrypted, sizeof encrypted);
  sfb_ntlm_wipe (client_challenge, sizeof client_challenge);
  return message;
}

static GBytes *
sfb_ntlm_context_step (SfbAuthContext *context, GBytes *server_token, GError **error)
{
  SfbNtlmContext *self = SFB_NTLM_CONTEXT (context);

  if (!self->credentials_valid)
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "NTLM needs a login and password in UTF-8");
      return NULL;
    }
  /* any new leg starts a new security association */
  forget_keys (self);
  if (server_token == NULL || g_bytes_get_size (server_token) == 0)
    {
      /* connectionless NTLM: no NEGOTIATE, an empty first token */
      self->state = STATE_WAIT_CHALLENGE;
      return g_bytes_new (NULL, 0);
    }
  self->state = STATE_INITIAL;
  return authenticate (self, server_token, error);
}

static gboolean
sfb_ntlm_context_is_established (SfbAuthContext *context)
{
  return SFB_NTLM_CONTEXT (context)->state == STATE_ESTABLISHED;
}

static GBytes *
sfb_ntlm_context_sign (SfbAuthContext *context, const char *data, gsize len, GError **error)
{
  SfbNtlmContext *self = SFB_NTLM_CONTEXT (context);
  static const guint8 zero_pad[4] = { 0 };
  guint8 mac[16];

  if (self->flags & SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)
    {
      sfb_ntlm_mac_with_key (&self->keys->client_mac, (const guint8 *) data, len, mac);
      return g_bytes_new (mac, sizeof mac);
    }
  sfb_ntlm_mac (self->flags,
                self->keys->client_sign,
                self->keys->client_seal,
                self->keys->seal_len,
                SFB_NTLM_SIP_SEQ,
                TRUE,
                zero_pad,
                (const guint8 *) data,
                len,
                mac);
  return g_bytes_new (mac, sizeof mac);
}

static gboolean
sfb_ntlm_context_verify (
    SfbAuthContext *context, const char *data, gsize len, GBytes *signature, GError **error)
{
  SfbNtlmContext *self = SFB_NTLM_CONTEXT (context);
  const guint8 *got;
  gsize got_len;
  guint8 want[16];
  guint8 diff = 0;

  got = g_bytes_get_data (signature, &got_len);
  if (got_len == sizeof want)
    {
      /* a non-ESS signature carries its own RandomPad */
      if (self->flags & SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)
        sfb_ntlm_mac_with_key (&self->keys->server_mac, (const guint8 *) data, len, want);
      else
        sfb_ntlm_mac (self->flags,
                      self->keys->server_sign,
                      self->keys->server_seal,
                      self->keys->seal_len,
                      SFB_NTLM_SIP_SEQ,
                      TRUE,
                      got + 4,
                      (const guint8 *) data,
                      len,
                      want);
      for (gsize i = 0; i < sizeof want; i++)
        diff |= want[i] ^ got[i];
    }
  if (got_len != sizeof want || diff != 0)
    {
      g_set_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID, "bad server signature");
      return FALSE;
    }
  return TRUE;
}

static gint64
sfb_ntlm_context_get_expires_at (SfbAuthContext *context)
{
  SfbNtlmContext *self = SFB_NTLM_CONTEXT (context);

  return self->state == STATE_ESTABLISHED ? self->expires_at : 0;
}

static void
sfb_ntlm_context_finalize (GObject *object)
{
  SfbNtlmContext *self = SFB_NTLM_CONTEXT (object);

  sfb_ntlm_wipe (self->keys, sizeof *self->keys);
  g_free (self->keys);
  g_free (self->user);
  g_free (self->domain);
  g_free (self->workstation);
  G_OBJECT_CLASS (sfb_ntlm_context_parent_class)->finalize (object);
}

static void
sfb_ntlm_context_class_init (SfbNtlmContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SfbAuthContextClass *auth_class = SFB_AUTH_CONTEXT_CLASS (klass);

  object_class->finalize = sfb_ntlm_context_finalize;
  auth_class->scheme = "NTLM";
  auth_class->step = sfb_ntlm_context_step;
  auth_class->is_established = sfb_ntlm_context_is_established;
  auth_class->sign = sfb_ntlm_context_sign;
  auth_class->verify = sfb_ntlm_context_verify;
  auth_class->get_expires_at = sfb_ntlm_context_get_expires_at;
}

static void
sfb_ntlm_context_init (SfbNtlmContext *self)
{
  self->keys = g_new0 (Keys, 1);
}

static char *
default_workstation (void)
{
  g_autofree char *host = g_strdup (g_get_host_name ());
  char *dot = strchr (host, '.');

  if (dot != NULL)
    *dot = '\0';
  return g_utf8_strup (host, -1);
}

/**
 * sfb_ntlm_context_new:
 * @login: "DOMAIN\user" or "user@domain" (the domain then stays empty)
 * @password: the password; only its NTLMv2 one-way hash is kept
 * @workstation: (nullable): the upper-case host name sent; NULL for this host's
 */
SfbAuthContext *
sfb_ntlm_context_new (const char *login, const char *password, const char *workstation)
{
  SfbNtlmContext *self;
  const char *backslash;

  g_return_val_if_fail (login != NULL && password != NULL, NULL);
  self = g_object_new (SFB_TYPE_NTLM_CONTEXT, NULL);

  backslash = strchr (login, '\\');
  if (backslash != NULL)
    {
      self->domain = g_strndup (login, (gsize) (backslash - login));
      self->user = g_strdup (backslash + 1);
    }
  else
    {
      self->domain = g_strdup ("");
      self->user = g_strdup (login);
    }
  self->workstation = workstation != NULL ? g_strdup (workstation) : default_workstation ();
  self->credentials_valid
      = g_utf8_validate (self->workstation, -1, NULL)
        && sfb_ntlm_ntowfv2 (password, self->user, self->domain, self->keys->response_key_nt);
  return SFB_AUTH_CONTEXT (self);
}

guint32
sfb_ntlm_context_get_flags (SfbNtlmContext *self)
{
  g_return_val_if_fail (SFB_IS_NTLM_CONTEXT (self), 0);
  return self->flags;
}

void
sfb_ntlm_context_set_test_randoms (SfbNtlmContext *self,
                                   const guint8 client_challenge[8],
                                   const guint8 exported_session_key[16],
                                   guint64 timestamp)
{
  g_return_if_fail (SFB_IS_NTLM_CONTEXT (self));
  self->keys->fixed_randoms = TRUE;
  memcpy (self->keys->fixed_client_challenge, client_challenge, 8);
  memcpy (self->keys->fixed_exported, exported_session_key, 16);
  self->fixed_timestamp = timestamp;
}
