/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-auth"

#include "sfb-tls-dsk-context.h"

#include "sfb-error.h"
#include "sfb-ntlm.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

/* docs/protocol.md §8.1: TLS 1.0–1.2, RSA key exchange, AES-CBC with SHA-1 MACs;
 * no session tickets (nothing to resume in a SIP SA) */
#define TLS_DSK_PRIORITY                                                                           \
  "NONE:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0:+RSA:+AES-128-CBC:+AES-256-CBC:+SHA1:"              \
  "+COMP-NULL:+SIGN-ALL:+CTYPE-X509:%NO_TICKETS"

/* MS-SIPAE 3.2.5.1 / docs/protocol.md §5.4 */
#define KEY_LABEL "client EAP encryption"
#define KEY_MATERIAL_LEN 128
#define CLIENT_KEY_OFFSET 64
#define SERVER_KEY_OFFSET 96
#define SIGN_KEY_LEN 32

/* docs/protocol.md §10.3: at most 8 h, less a 5 min buffer */
#define SA_MAX_US (G_GINT64_CONSTANT (8 * 3600) * G_USEC_PER_SEC)
#define SA_BUFFER_US (G_GINT64_CONSTANT (5 * 60) * G_USEC_PER_SEC)

/* A server flight bigger than this is not a TLS-DSK handshake */
#define MAX_SERVER_TOKEN (64 * 1024)

struct _SfbTlsDskContext
{
  SfbAuthContext parent_instance;

  gnutls_certificate_credentials_t credentials;
  gnutls_pcert_st pcert;
  gboolean have_pcert;
  gnutls_privkey_t key;
  gint64 certificate_expires_at;

  gnutls_session_t session;
  GByteArray *in; /* server records not read yet */
  gsize in_pos;
  GByteArray *out; /* client records written by the current leg */
  GBytes *server_certificate;
  gboolean server_certificate_mismatch;

  gboolean established;
  gnutls_mac_algorithm_t mac;
  guint8 *sign_keys; /* client key ‖ server key, wiped on reset */
  gint64 expires_at;
  char *description;
};

G_DEFINE_FINAL_TYPE (SfbTlsDskContext, sfb_tls_dsk_context, SFB_TYPE_AUTH_CONTEXT)

static void
reset (SfbTlsDskContext *self)
{
  g_clear_pointer (&self->session, gnutls_deinit);
  if (self->in != NULL)
    sfb_ntlm_wipe (self->in->data, self->in->len);
  g_byte_array_set_size (self->in, 0);
  self->in_pos = 0;
  g_byte_array_set_size (self->out, 0);
  self->server_certificate_mismatch = FALSE;
  self->established = FALSE;
  self->mac = GNUTLS_MAC_UNKNOWN;
  sfb_ntlm_wipe (self->sign_keys, 2 * SIGN_KEY_LEN);
  self->expires_at = 0;
  g_clear_pointer (&self->description, g_free);
}

static ssize_t
push_func (gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
  SfbTlsDskContext *self = ptr;

  g_byte_array_append (self->out, data, (guint) len);
  return (ssize_t) len;
}

static ssize_t
pull_func (gnutls_transport_ptr_t ptr, void *data, size_t len)
{
  SfbTlsDskContext *self = ptr;
  gsize left = self->in->len - self->in_pos;

  if (left == 0)
    {
      /* the next gssapi-data has not arrived: the leg is over */
      gnutls_transport_set_errno (self->session, EAGAIN);
      return -1;
    }
  len = MIN (len, left);
  memcpy (data, self->in->data + self->in_pos, len);
  self->in_pos += len;
  return (ssize_t) len;
}

/* The server asks for a certificate: always offer the user certificate,
 * whatever CA names the CertificateRequest lists. */
static int
retrieve_certificate (gnutls_session_t session,
                      const gnutls_datum_t *req_ca_rdn,
                      int nreqs,
                      const gnutls_pk_algorithm_t *pk_algos,
                      int pk_algos_length,
                      gnutls_pcert_st **pcert,
                      unsigned int *pcert_length,
                      gnutls_privkey_t *privkey)
{
  SfbTlsDskContext *self = gnutls_session_get_ptr (session);

  *pcert = &self->pcert;
  *pcert_length = 1;
  *privkey = self->key;
  return 0;
}

/* The inner server certificate must be the outer one (docs/protocol.md §3) */
static int
verify_server (gnutls_session_t session)
{
  SfbTlsDskContext *self = gnutls_session_get_ptr (session);
  const gnutls_datum_t *peers;
  unsigned int n_peers = 0;

  peers = gnutls_certificate_get_peers (session, &n_peers);
  if (self->server_certificate == NULL || peers == NULL || n_peers == 0
      || peers[0].size != g_bytes_get_size (self->server_certificate)
      || memcmp (peers[0].data, g_bytes_get_data (self->server_certificate, NULL), peers[0].size)
             != 0)
    {
      self->server_certificate_mismatch = TRUE;
      return -1;
    }
  return 0;
}

static gboolean
start_session (SfbTlsDskContext *self, GError **error)
{
  const char *err_pos = NULL;
  int ret;

  ret = gnutls_init (&self->session, GNUTLS_CLIENT);
  if (ret == GNUTLS_E_SUCCESS)
    ret = gnutls_priority_set_direct (self->session, TLS_DSK_PRIORITY, &err_pos);
  if (ret == GNUTLS_E_SUCCESS)
    ret = gnutls_credentials_set (self->session, GNUTLS_CRD_CERTIFICATE, self->credentials);
  if (ret != GNUTLS_E_SUCCESS)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "Cannot set up the TLS-DSK session: %s",
                   gnutls_strerror (ret));
      g_clear_pointer (&self->session, gnutls_deinit);
      return FALSE;
    }
  gnutls_session_set_ptr (self->session, self);
  gnutls_transport_set_ptr (self->session, self);
  gnutls_transport_set_push_function (self->session, push_func);
  gnutls_transport_set_pull_function (self->session, pull_func);
  gnutls_session_set_verify_function (self->session, verify_server);
  return TRUE;
}

static gboolean
derive_keys (SfbTlsDskContext *self, GError **error)
{
  guint8 material[KEY_MATERIAL_LEN];
  gint64 now = g_get_real_time ();
  gint64 end;
  char *desc;
  int ret;

  self->mac = gnutls_mac_get (self->session);
  if (self->mac != GNUTLS_MAC_SHA1 && self->mac != GNUTLS_MAC_MD5)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_AUTH_FAILED,
                   "The TLS-DSK server chose a suite with a %s MAC",
                   gnutls_mac_get_name (self->mac));
      return FALSE;
    }
  ret = gnutls_prf (
      self->session, strlen (KEY_LABEL), KEY_LABEL, 0, 0, NULL, sizeof material, (char *) material);
  if (ret != GNUTLS_E_SUCCESS)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "Cannot derive the TLS-DSK keys: %s",
                   gnutls_strerror (ret));
      return FALSE;
    }
  memcpy (self->sign_keys, material + CLIENT_KEY_OFFSET, SIGN_KEY_LEN);
  memcpy (self->sign_keys + SIGN_KEY_LEN, material + SERVER_KEY_OFFSET, SIGN_KEY_LEN);
  sfb_ntlm_wipe (material, sizeof material);

  end = MIN (self->certificate_expires_at, now + SA_MAX_US);
  self->expires_at = MAX (end - SA_BUFFER_US, now);
  desc = gnutls_session_get_desc (self->session);
  self->description = g_strdup (desc);
  gnutls_free (desc);
  self->established = TRUE;
  g_debug ("TLS-DSK security association established: %s", self->description);
  return TRUE;
}

static void
set_handshake_error (SfbTlsDskContext *self, int ret, GError **error)
{
  if (self->server_certificate_mismatch)
    g_set_error (error,
                 SFB_ERROR,
                 SFB_ERROR_CERTIFICATE_INVALID,
                 self->server_certificate == NULL
                     ? "No registrar certificate to check the TLS-DSK server certificate against"
                     : "The TLS-DSK server certificate is not the registrar's TLS certificate");
  else if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED)
    g_set_error (error,
                 SFB_ERROR,
                 SFB_ERROR_AUTH_FAILED,
                 "The server ended the TLS-DSK handshake: %s",
                 gnutls_alert_get_name (gnutls_alert_get (self->session)));
  else
    g_set_error (error,
                 SFB_ERROR,
                 SFB_ERROR_AUTH_FAILED,
                 "TLS-DSK handshake failed: %s",
                 gnutls_strerror (ret));
}

static GBytes *
sfb_tls_dsk_context_step (SfbAuthContext *context, GBytes *server_token, GError **error)
{
  SfbTlsDskContext *self = SFB_TLS_DSK_CONTEXT (context);
  GBytes *token;
  int ret;

  if (server_token == NULL || g_bytes_get_size (server_token) == 0)
    {
      /* a plain challenge: a new security association */
      reset (self);
      if (!start_session (self, error))
        return NULL;
    }
  else if (self->session == NULL || self->established)
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_AUTH_FAILED, "Unexpected TLS-DSK token from the server");
      return NULL;
    }
  else if (g_bytes_get_size (server_token) > MAX_SERVER_TOKEN)
    {
      reset (self);
      g_set_error (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED, "TLS-DSK server token too large");
      return NULL;
    }
  else
    {
      g_byte_array_append (
          self->in, g_bytes_get_data (server_token, NULL), (guint) g_bytes_get_size (server_token));
    }

  g_byte_array_set_size (self->out, 0);
  do
    ret = gnutls_handshake (self->session);
  while (ret < 0 && ret != GNUTLS_E_AGAIN && !gnutls_error_is_fatal (ret));

  if (ret == GNUTLS_E_SUCCESS)
    {
      if (!derive_keys (self, error))
        {
          reset (self);
          return NULL;
        }
    }
  else if (ret != GNUTLS_E_AGAIN)
    {
      set_handshake_error (self, ret, error);
      reset (self);
      return NULL;
    }
  else if (self->out->len == 0)
    {
      /* we wait for more, but the server waits for us */
      reset (self);
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_AUTH_FAILED, "Incomplete TLS-DSK handshake from the server");
      return NULL;
    }

  token = g_bytes_new (self->out->data, self->out->len);
  g_byte_array_set_size (self->out, 0);
  return token;
}

static gboolean
sfb_tls_dsk_context_is_established (SfbAuthContext *context)
{
  return SFB_TLS_DSK_CONTEXT (context)->established;
}

static GBytes *
mac (SfbTlsDskContext *self, const guint8 *key, const char *data, gsize len, GError **error)
{
  guint8 out[20];
  int ret;

  ret = gnutls_hmac_fast (self->mac, key, SIGN_KEY_LEN, data, len, out);
  if (ret != GNUTLS_E_SUCCESS)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "TLS-DSK signature failed: %s",
                   gnutls_strerror (ret));
      return NULL;
    }
  return g_bytes_new (out, gnutls_hmac_get_len (self->mac));
}

static GBytes *
sfb_tls_dsk_context_sign (SfbAuthContext *context, const char *data, gsize len, GError **error)
{
  SfbTlsDskContext *self = SFB_TLS_DSK_CONTEXT (context);

  return mac (self, self->sign_keys, data, len, error);
}

static gboolean
sfb_tls_dsk_context_verify (
    SfbAuthContext *context, const char *data, gsize len, GBytes *signature, GError **error)
{
  SfbTlsDskContext *self = SFB_TLS_DSK_CONTEXT (context);
  g_autoptr (GBytes) want = mac (self, self->sign_keys + SIGN_KEY_LEN, data, len, error);
  const guint8 *a;
  const guint8 *b;
  gsize a_len;
  gsize b_len;
  guint8 diff = 0;

  if (want == NULL)
    return FALSE;
  a = g_bytes_get_data (want, &a_len);
  b = g_bytes_get_data (signature, &b_len);
  if (a_len == b_len)
    {
      for (gsize i = 0; i < a_len; i++)
        diff |= a[i] ^ b[i];
    }
  if (a_len != b_len || diff != 0)
    {
      g_set_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID, "bad server signature");
      return FALSE;
    }
  return TRUE;
}

static gint64
sfb_tls_dsk_context_get_expires_at (SfbAuthContext *context)
{
  SfbTlsDskContext *self = SFB_TLS_DSK_CONTEXT (context);

  return self->established ? self->expires_at : 0;
}

static void
sfb_tls_dsk_context_finalize (GObject *object)
{
  SfbTlsDskContext *self = SFB_TLS_DSK_CONTEXT (object);

  reset (self);
  g_clear_pointer (&self->in, g_byte_array_unref);
  g_clear_pointer (&self->out, g_byte_array_unref);
  g_free (self->sign_keys);
  g_clear_pointer (&self->server_certificate, g_bytes_unref);
  if (self->have_pcert)
    gnutls_pcert_deinit (&self->pcert);
  g_clear_pointer (&self->key, gnutls_privkey_deinit);
  g_clear_pointer (&self->credentials, gnutls_certificate_free_credentials);
  G_OBJECT_CLASS (sfb_tls_dsk_context_parent_class)->finalize (object);
}

static void
sfb_tls_dsk_context_class_init (SfbTlsDskContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SfbAuthContextClass *auth_class = SFB_AUTH_CONTEXT_CLASS (klass);

  object_class->finalize = sfb_tls_dsk_context_finalize;
  auth_class->scheme = "TLS-DSK";
  auth_class->step = sfb_tls_dsk_context_step;
  auth_class->is_established = sfb_tls_dsk_context_is_established;
  auth_class->sign = sfb_tls_dsk_context_sign;
  auth_class->verify = sfb_tls_dsk_context_verify;
  auth_class->get_expires_at = sfb_tls_dsk_context_get_expires_at;
}

static void
sfb_tls_dsk_context_init (SfbTlsDskContext *self)
{
  self->in = g_byte_array_new ();
  self->out = g_byte_array_new ();
  self->sign_keys = g_malloc0 (2 * SIGN_KEY_LEN);
}

static gnutls_x509_crt_fmt_t
format_of (GBytes *bytes)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  return g_strstr_len (data, (gssize) len, "-----BEGIN ") != NULL ? GNUTLS_X509_FMT_PEM
                                                                  : GNUTLS_X509_FMT_DER;
}

static gboolean
load_credentials (SfbTlsDskContext *self, GBytes *certificate, GBytes *key, GError **error)
{
  gnutls_datum_t cert_datum = { (unsigned char *) g_bytes_get_data (certificate, NULL),
                                (unsigned int) g_bytes_get_size (certificate) };
  gnutls_datum_t key_datum
      = { (unsigned char *) g_bytes_get_data (key, NULL), (unsigned int) g_bytes_get_size (key) };
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pubkey = NULL;
  guint8 cert_id[64];
  guint8 key_id[64];
  size_t cert_id_len = sizeof cert_id;
  size_t key_id_len = sizeof key_id;
  time_t not_after;
  int ret;

  ret = gnutls_x509_crt_init (&crt);
  if (ret == GNUTLS_E_SUCCESS)
    ret = gnutls_x509_crt_import (crt, &cert_datum, format_of (certificate));
  if (ret == GNUTLS_E_SUCCESS)
    {
      ret = gnutls_pcert_import_x509 (&self->pcert, crt, 0);
      self->have_pcert = ret == GNUTLS_E_SUCCESS;
    }
  if (ret != GNUTLS_E_SUCCESS)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_CERTIFICATE_INVALID,
                   "Cannot read the user certificate: %s",
                   gnutls_strerror (ret));
      g_clear_pointer (&crt, gnutls_x509_crt_deinit);
      return FALSE;
    }
  not_after = gnutls_x509_crt_get_expiration_time (crt);
  ret = gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, cert_id, &cert_id_len);
  gnutls_x509_crt_deinit (crt);
  if (ret != GNUTLS_E_SUCCESS || not_after == (time_t) -1)
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID, "Cannot read the user certificate");
      return FALSE;
    }
  self->certificate_expires_at = (gint64) not_after * G_USEC_PER_SEC;

  ret = gnutls_privkey_init (&self->key);
  if (ret == GNUTLS_E_SUCCESS)
    ret = gnutls_privkey_import_x509_raw (self->key, &key_datum, format_of (key), NULL, 0);
  if (ret == GNUTLS_E_SUCCESS)
    ret = gnutls_pubkey_init (&pubkey);
  if (ret == GNUTLS_E_SUCCESS)
    ret = gnutls_pubkey_import_privkey (pubkey, self->key, 0, 0);
  if (ret == GNUTLS_E_SUCCESS)
    ret = gnutls_pubkey_get_key_id (pubkey, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_len);
  g_clear_pointer (&pubkey, gnutls_pubkey_deinit);
  if (ret != GNUTLS_E_SUCCESS)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_CERTIFICATE_INVALID,
                   "Cannot read the user certificate's private key: %s",
                   gnutls_strerror (ret));
      return FALSE;
    }
  if (key_id_len != cert_id_len || memcmp (key_id, cert_id, key_id_len) != 0)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_CERTIFICATE_INVALID,
                   "The private key does not belong to the user certificate");
      return FALSE;
    }

  ret = gnutls_certificate_allocate_credentials (&self->credentials);
  if (ret != GNUTLS_E_SUCCESS)
    {
      g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "%s", gnutls_strerror (ret));
      return FALSE;
    }
  gnutls_certificate_set_retrieve_function2 (self->credentials, retrieve_certificate);
  return TRUE;
}

SfbAuthContext *
sfb_tls_dsk_context_new (GBytes *certificate, GBytes *key, GError **error)
{
  g_autoptr (SfbTlsDskContext) self = NULL;

  g_return_val_if_fail (certificate != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (SFB_TYPE_TLS_DSK_CONTEXT, NULL);
  if (!load_credentials (self, certificate, key, error))
    return NULL;
  if (self->certificate_expires_at <= g_get_real_time ())
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID, "The user certificate has expired");
      return NULL;
    }
  return SFB_AUTH_CONTEXT (g_steal_pointer (&self));
}

void
sfb_tls_dsk_context_set_server_certificate (SfbTlsDskContext *self, GBytes *der)
{
  g_return_if_fail (SFB_IS_TLS_DSK_CONTEXT (self));

  g_clear_pointer (&self->server_certificate, g_bytes_unref);
  if (der != NULL)
    self->server_certificate = g_bytes_ref (der);
}

const char *
sfb_tls_dsk_context_get_description (SfbTlsDskContext *self)
{
  g_return_val_if_fail (SFB_IS_TLS_DSK_CONTEXT (self), NULL);
  return self->description;
}

gint64
sfb_tls_dsk_context_get_certificate_expires_at (SfbTlsDskContext *self)
{
  g_return_val_if_fail (SFB_IS_TLS_DSK_CONTEXT (self), 0);
  return self->certificate_expires_at;
}
