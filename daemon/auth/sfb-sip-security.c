/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-auth"

#include "sfb-sip-security.h"

#include "sfb-error.h"
#include "sfb-sip-auth-header.h"
#include "sfb-sip-signature.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define MAX_SIGNATURE_HEX 1024

struct _SfbSipSecurity
{
  GObject parent_instance;

  SfbAuthContext *context;
  gboolean challenged; /* a challenge of our scheme was seen */
  gboolean proxy;      /* it came in a 407: Proxy-* headers */
  char *realm;
  char *targetname;
  char *opaque;
  guint version;
  GBytes *pending;         /* client token still to send */
  gboolean awaiting_final; /* the final token went out; no signed answer yet */
  guint32 cnum;
  GString *verify_buffer;     /* reused for every received message's signature buffer */
  SfbSipAuthView verify_auth; /* reused: the received message's Authentication-Info */
};

G_DEFINE_FINAL_TYPE (SfbSipSecurity, sfb_sip_security, G_TYPE_OBJECT)

static void
sfb_sip_security_finalize (GObject *object)
{
  SfbSipSecurity *self = SFB_SIP_SECURITY (object);

  g_clear_object (&self->context);
  g_free (self->realm);
  g_free (self->targetname);
  g_free (self->opaque);
  g_clear_pointer (&self->pending, g_bytes_unref);
  if (self->verify_buffer != NULL)
    g_string_free (self->verify_buffer, TRUE);
  sfb_sip_auth_view_clear (&self->verify_auth);
  G_OBJECT_CLASS (sfb_sip_security_parent_class)->finalize (object);
}

static void
sfb_sip_security_class_init (SfbSipSecurityClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sfb_sip_security_finalize;
}

static void
sfb_sip_security_init (SfbSipSecurity *self)
{
}

SfbSipSecurity *
sfb_sip_security_new (SfbAuthContext *context)
{
  SfbSipSecurity *self;

  g_return_val_if_fail (SFB_IS_AUTH_CONTEXT (context), NULL);
  self = g_object_new (SFB_TYPE_SIP_SECURITY, NULL);
  self->context = g_object_ref (context);
  return self;
}

gboolean
sfb_sip_security_is_established (SfbSipSecurity *self)
{
  g_return_val_if_fail (SFB_IS_SIP_SECURITY (self), FALSE);
  return sfb_auth_context_is_established (self->context);
}

const char *
sfb_sip_security_get_scheme (SfbSipSecurity *self)
{
  g_return_val_if_fail (SFB_IS_SIP_SECURITY (self), NULL);
  return sfb_auth_context_get_scheme (self->context);
}

SfbAuthContext *
sfb_sip_security_get_context (SfbSipSecurity *self)
{
  g_return_val_if_fail (SFB_IS_SIP_SECURITY (self), NULL);
  return self->context;
}

static const char *
challenge_header (SfbSipMessage *response)
{
  return sfb_sip_message_get_status_code (response) == 407 ? "Proxy-Authenticate"
                                                           : "WWW-Authenticate";
}

GStrv
sfb_sip_security_offered_schemes (SfbSipMessage *response)
{
  g_autoptr (GPtrArray) auths = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (response), NULL);
  auths = sfb_sip_auth_parse_message (response, challenge_header (response));
  for (guint i = 0; i < auths->len; i++)
    {
      const char *scheme = sfb_sip_auth_get_scheme (g_ptr_array_index (auths, i));

      if (g_hash_table_add (seen, (gpointer) scheme))
        g_strv_builder_add (builder, scheme);
    }
  return g_strv_builder_end (builder);
}

/* Base64 that is exactly base64 (g_base64_decode accepts anything) */
static gboolean
is_base64 (const char *text, gsize len)
{
  gsize data_len
      = strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  gsize pad = strspn (text + data_len, "=");

  return len % 4 == 0 && data_len + pad == len && pad <= 2;
}

static GBytes *
decode_base64 (const char *text, GError **error)
{
  gsize len = strlen (text);
  gsize out_len = 0;
  guchar *out;

  if (len > SFB_SIP_AUTH_MAX_LENGTH || !is_base64 (text, len))
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server sent gssapi-data that is not base64");
      return NULL;
    }
  out = g_base64_decode (text, &out_len);
  return g_bytes_new_take (out, out_len);
}

static void
take_param (char **field, const SfbSipAuth *auth, const char *name)
{
  const char *value = sfb_sip_auth_get_param (auth, name);

  /* every signed message repeats the opaque: no copy when it is the same */
  if (value != NULL && g_strcmp0 (value, *field) != 0)
    {
      g_free (*field);
      *field = g_strdup (value);
    }
}

/* take_param () from the challenge verify found */
static void
take_view_param (char **field, const SfbSipAuthView *view, const char *name)
{
  const char *value = sfb_sip_auth_view_get_param (view, name);

  if (value != NULL && g_strcmp0 (value, *field) != 0)
    {
      g_free (*field);
      *field = g_strdup (value);
    }
}

/* @response must be a 401/407 and not the rejection of a final leg */
static gboolean
check_challenge (SfbSipSecurity *self,
                 SfbSipMessage *response,
                 const char *scheme,
                 guint *status_out,
                 GError **error)
{
  guint status;

  status = sfb_sip_message_is_request (response) ? 0 : sfb_sip_message_get_status_code (response);
  *status_out = status;
  if (status != 401 && status != 407)
    {
      g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "Not an authentication challenge");
      return FALSE;
    }
  if (self->awaiting_final)
    {
      /* docs/protocol.md §17.9: never loop on a rejected final leg */
      self->awaiting_final = FALSE;
      g_clear_pointer (&self->pending, g_bytes_unref);
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_AUTH_FAILED,
                   "The server rejected the %s credentials",
                   scheme);
      return FALSE;
    }
  return TRUE;
}

/* The challenge's gssapi-data in *@server_token, or a plain challenge's fresh start */
static gboolean
take_server_token (SfbSipSecurity *self,
                   const SfbSipAuth *auth,
                   GBytes **server_token,
                   GError **error)
{
  const char *gssapi_data;

  gssapi_data = sfb_sip_auth_get_param (auth, "gssapi-data");
  if (gssapi_data != NULL && gssapi_data[0] != '\0')
    {
      *server_token = decode_base64 (gssapi_data, error);
      if (*server_token == NULL)
        return FALSE;
    }
  else
    {
      /* a plain challenge starts over: new SA, new opaque */
      g_clear_pointer (&self->opaque, g_free);
      self->cnum = 0;
    }
  return TRUE;
}

static void
take_challenge_params (SfbSipSecurity *self, const SfbSipAuth *auth, guint status)
{
  const char *version;

  self->challenged = TRUE;
  self->proxy = status == 407;
  take_param (&self->realm, auth, "realm");
  take_param (&self->targetname, auth, "targetname");
  take_param (&self->opaque, auth, "opaque");
  version = sfb_sip_auth_get_param (auth, "version");
  if (version != NULL)
    self->version = (guint) MIN (g_ascii_strtoull (version, NULL, 10), 255);
}

gboolean
sfb_sip_security_handle_challenge (SfbSipSecurity *self, SfbSipMessage *response, GError **error)
{
  g_autoptr (GPtrArray) auths = NULL;
  g_autoptr (GBytes) server_token = NULL;
  g_autoptr (GBytes) token = NULL;
  const char *scheme;
  const SfbSipAuth *auth;
  guint status;

  g_return_val_if_fail (SFB_IS_SIP_SECURITY (self), FALSE);
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (response), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  scheme = sfb_auth_context_get_scheme (self->context);
  if (!check_challenge (self, response, scheme, &status, error))
    return FALSE;
  auths = sfb_sip_auth_parse_message (response, challenge_header (response));
  auth = sfb_sip_auth_find (auths, scheme);
  if (auth == NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_AUTH_FAILED,
                   "The server does not offer %s authentication",
                   scheme);
      return FALSE;
    }

  if (!take_server_token (self, auth, &server_token, error))
    return FALSE;

  take_challenge_params (self, auth, status);

  token = sfb_auth_context_step (self->context, server_token, error);
  g_clear_pointer (&self->pending, g_bytes_unref);
  if (token == NULL)
    return FALSE;
  if (g_bytes_get_size (token) == 0 && sfb_auth_context_is_established (self->context))
    {
      /* TLS-DSK's last leg (docs/protocol.md §4.4): no gssapi-data, only a
       * signature; a 401 to it is a rejection */
      self->awaiting_final = TRUE;
      g_clear_pointer (&token, g_bytes_unref);
    }
  self->pending = g_steal_pointer (&token);
  g_debug ("%s challenge in a %u: leg with%s server token, version %u",
           scheme,
           status,
           server_token != NULL ? "" : "out",
           self->version);
  return TRUE;
}

static char *
random_hex (void)
{
  guint8 bytes[4];

  if (gnutls_rnd (GNUTLS_RND_NONCE, bytes, sizeof bytes) != 0)
    g_error ("gnutls_rnd failed");
  return g_strdup_printf ("%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2], bytes[3]);
}

static char *
to_hex (GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  GString *out = g_string_sized_new (len * 2);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", data[i]);
  return g_string_free (out, FALSE);
}

static int
hex_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static GBytes *
from_hex (const char *text)
{
  gsize len = strlen (text);
  guint8 bytes[MAX_SIGNATURE_HEX / 2];

  if (len == 0 || len % 2 != 0 || len > MAX_SIGNATURE_HEX)
    return NULL;
  for (gsize i = 0; i < len; i += 2)
    {
      int hi = hex_digit (text[i]);
      int lo = hex_digit (text[i + 1]);

      if (hi < 0 || lo < 0)
        return NULL;
      bytes[i / 2] = (guint8) (hi << 4 | lo);
    }
  /* len / 2 <= sizeof bytes: checked above */
  return g_bytes_new (bytes, len / 2);
}

gboolean
sfb_sip_security_authorize (SfbSipSecurity *self, SfbSipMessage *message, GError **error)
{
  g_autofree char *gssapi_data = NULL;
  g_autofree char *crand = NULL;
  g_autofree char *cnum = NULL;
  g_autofree char *response = NULL;
  g_autofree char *value = NULL;
  const char *header;
  gboolean sign;
  SfbSipAuthorization authorization = { 0 };

  g_return_val_if_fail (SFB_IS_SIP_SECURITY (self), FALSE);
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (message), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!self->challenged)
    return TRUE;
  header = self->proxy ? "Proxy-Authorization" : "Authorization";
  /* a resent message is signed afresh */
  sfb_sip_message_remove_header (message, "Authorization");
  sfb_sip_message_remove_header (message, "Proxy-Authorization");

  if (self->pending != NULL)
    gssapi_data = g_base64_encode (g_bytes_get_data (self->pending, NULL),
                                   g_bytes_get_size (self->pending));
  /* v4: the message carrying the final token is already signed */
  sign = sfb_auth_context_is_established (self->context)
         && (self->pending == NULL || self->version >= 4);
  if (sign)
    {
      g_autoptr (GBytes) signature = NULL;
      g_autofree char *buffer = NULL;
      SfbSipSignatureParams params = { 0 };

      crand = random_hex ();
      cnum = g_strdup_printf ("%u", self->cnum + 1);
      params.protocol = sfb_auth_context_get_scheme (self->context);
      params.rand = crand;
      params.num = cnum;
      params.realm = self->realm;
      params.targetname = self->targetname;
      params.version = self->version;
      buffer = sfb_sip_signature_buffer (message, &params, error);
      if (buffer == NULL)
        return FALSE;
      signature = sfb_auth_context_sign (self->context, buffer, strlen (buffer), error);
      if (signature == NULL)
        return FALSE;
      response = to_hex (signature);
      self->cnum++;
    }

  authorization.scheme = sfb_auth_context_get_scheme (self->context);
  authorization.opaque = self->opaque;
  authorization.realm = self->realm;
  authorization.targetname = self->targetname;
  authorization.gssapi_data = gssapi_data;
  authorization.version = self->version;
  authorization.crand = crand;
  authorization.cnum = self->cnum;
  authorization.response = response;
  value = sfb_sip_auth_build_authorization (&authorization);
  sfb_sip_message_append_header (message, header, value);

  if (self->pending != NULL && sfb_auth_context_is_established (self->context))
    self->awaiting_final = TRUE;
  g_clear_pointer (&self->pending, g_bytes_unref);
  return TRUE;
}

static gboolean
bad_signature (GError **error, const char *why)
{
  g_set_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID, "bad server signature (%s)", why);
  return FALSE;
}

/* Unsigned messages an SA still lets through (docs/protocol.md §4.5) */
static gboolean
is_challenge (SfbSipMessage *message)
{
  guint status = sfb_sip_message_get_status_code (message);

  return status == 401 || status == 407;
}

static gboolean
may_be_unsigned (SfbSipMessage *message)
{
  guint status;
  g_autofree char *method = NULL;

  if (sfb_sip_message_is_request (message))
    return FALSE;
  status = sfb_sip_message_get_status_code (message);
  if (status < 200 || is_challenge (message))
    return TRUE;
  return sfb_sip_message_get_cseq (message, NULL, &method, NULL)
         && g_strcmp0 (method, "REGISTER") == 0;
}

/* The challenge of our scheme in Authentication-Info, else in
 * Proxy-Authentication-Info, found without building the headers' lists */
static const SfbSipAuthView *
find_auth (SfbSipSecurity *self, SfbSipMessage *message)
{
  const char *scheme = sfb_auth_context_get_scheme (self->context);
  SfbSipAuthView *view = &self->verify_auth;

  if (sfb_sip_auth_view_find_message (view, message, "Authentication-Info", scheme)
      || sfb_sip_auth_view_find_message (view, message, "Proxy-Authentication-Info", scheme))
    return view;
  return NULL;
}

gboolean
sfb_sip_security_verify (SfbSipSecurity *self, SfbSipMessage *message, GError **error)
{
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (GError) local_error = NULL;
  const SfbSipAuthView *auth;
  const char *rspauth;
  SfbSipSignatureParams params = { 0 };

  g_return_val_if_fail (SFB_IS_SIP_SECURITY (self), FALSE);
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (message), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  auth = find_auth (self, message);
  if (!sfb_auth_context_is_established (self->context))
    {
      /* nothing to check against yet */
      if (auth != NULL)
        take_view_param (&self->opaque, auth, "opaque");
      return TRUE;
    }
  if (auth == NULL)
    {
      if (may_be_unsigned (message))
        {
          /* An unsigned final answer to REGISTER ends the handshake too, except a
           * challenge: a 401/407 answering the final leg is handle_challenge()'s to
           * judge (a rejected password, docs/protocol.md §17.9). */
          if (!sfb_sip_message_is_request (message) && !is_challenge (message)
              && sfb_sip_message_get_status_code (message) >= 200)
            self->awaiting_final = FALSE;
          return TRUE;
        }
      return bad_signature (error, "unsigned message");
    }

  rspauth = sfb_sip_auth_view_get_param (auth, "rspauth");
  if (rspauth == NULL || (signature = from_hex (rspauth)) == NULL)
    return bad_signature (error, "no rspauth");
  params.version = self->version; /* unless the header says otherwise */
  if (!sfb_sip_signature_params_init_from_view (&params, auth, &local_error))
    return bad_signature (error, local_error->message);
  if (params.realm == NULL)
    params.realm = self->realm;
  if (params.targetname == NULL)
    params.targetname = self->targetname;
  if (self->verify_buffer == NULL)
    self->verify_buffer = g_string_sized_new (512);
  g_string_truncate (self->verify_buffer, 0);
  if (!sfb_sip_signature_buffer_append (self->verify_buffer, message, &params, &local_error))
    return bad_signature (error, local_error->message);
  if (!sfb_auth_context_verify (
          self->context, self->verify_buffer->str, self->verify_buffer->len, signature, NULL))
    return bad_signature (error, "signature mismatch");

  self->awaiting_final = FALSE;
  take_view_param (&self->opaque, auth, "opaque");
  return TRUE;
}

/* ---- preparing a context (Kerberos tickets, TLS-DSK certificates) ----- */

static void
on_context_prepared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (!sfb_auth_context_prepare_finish (SFB_AUTH_CONTEXT (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
sfb_sip_security_prepare_async (SfbSipSecurity *self,
                                SfbSipMessage *response,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GPtrArray) auths = NULL;
  const SfbSipAuth *auth;
  const char *scheme;

  g_return_if_fail (SFB_IS_SIP_SECURITY (self));
  g_return_if_fail (SFB_IS_SIP_MESSAGE (response));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_sip_security_prepare_async);
  scheme = sfb_auth_context_get_scheme (self->context);
  auths = sfb_sip_auth_parse_message (response, challenge_header (response));
  auth = sfb_sip_auth_find (auths, scheme);
  if (auth == NULL)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_AUTH_FAILED,
                               "The server does not offer %s authentication",
                               scheme);
      return;
    }
  /* the challenge is only read before prepare_async returns */
  sfb_auth_context_prepare_async (
      self->context, auth, cancellable, on_context_prepared, g_steal_pointer (&task));
}

gboolean
sfb_sip_security_prepare_finish (SfbSipSecurity *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
