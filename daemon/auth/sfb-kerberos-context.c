/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-auth"

#include "sfb-kerberos-context.h"

#include "sfb-error.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <string.h>

/* MS-SIPAE 3.2.2 / docs/protocol.md §10.3: at most 8 h, renewed 5 min early */
#define SA_MAX_LIFETIME_S (8 * 3600)
#define SA_RENEW_BEFORE_S (5 * 60)
#define MAX_LOGIN_LENGTH 512
#define MAX_TARGETNAME_LENGTH 512
#define MAX_SIGNATURE_LENGTH 1024

struct _SfbKerberosContext
{
  SfbAuthContext parent_instance;

  char *login;
  char *password; /* wiped once a ticket is acquired, or in finalize */
  char *principal;
  const char *source; /* "ccache" / "password" */

  gss_cred_id_t cred;
  gss_ctx_id_t ctx;
  GBytes *initial_token; /* made by prepare, handed out by the first step */
  gboolean spnego;       /* HTTP Negotiate: a SPNEGO NegTokenInit around the AP-REQ */
  gboolean established;
  gboolean token_taken;
  gint64 expires_at;
};

G_DEFINE_FINAL_TYPE (SfbKerberosContext, sfb_kerberos_context, SFB_TYPE_AUTH_CONTEXT)

/* ---- pure helpers ---------------------------------------------------- */

static gboolean
valid_part (const char *text, gsize len)
{
  if (len == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) text[i];

      if (c <= ' ' || c == 0x7f || c == '@' || c == '\\' || c == '/')
        return FALSE;
    }
  return TRUE;
}

char *
sfb_kerberos_principal_from_login (const char *login, const char *default_realm)
{
  const char *sep;
  gsize len;

  if (login == NULL
      || (default_realm != NULL && !valid_part (default_realm, strlen (default_realm))))
    return NULL;
  len = strlen (login);
  if (len == 0 || len > MAX_LOGIN_LENGTH)
    return NULL;

  if ((sep = strchr (login, '\\')) != NULL)
    {
      g_autofree char *domain = g_strndup (login, (gsize) (sep - login));
      const char *user = sep + 1;
      g_autofree char *domain_up = NULL;

      if (!valid_part (domain, strlen (domain)) || !valid_part (user, strlen (user)))
        return NULL;
      domain_up = g_ascii_strup (domain, -1);
      if (default_realm != NULL)
        {
          const char *dot = strchr (default_realm, '.');
          gsize first = dot != NULL ? (gsize) (dot - default_realm) : strlen (default_realm);

          if (first == strlen (domain) && g_ascii_strncasecmp (default_realm, domain, first) == 0)
            return g_strdup_printf ("%s@%s", user, default_realm);
        }
      return g_strdup_printf ("%s@%s", user, domain_up);
    }
  if ((sep = strchr (login, '@')) != NULL)
    {
      g_autofree char *user = g_strndup (login, (gsize) (sep - login));
      g_autofree char *realm = g_ascii_strup (sep + 1, -1);

      if (!valid_part (user, strlen (user)) || !valid_part (realm, strlen (realm))
          || realm[0] == '.' || g_str_has_suffix (realm, "."))
        return NULL;
      return g_strdup_printf ("%s@%s", user, realm);
    }
  if (!valid_part (login, len))
    return NULL;
  return default_realm != NULL ? g_strdup_printf ("%s@%s", login, default_realm) : g_strdup (login);
}

char *
sfb_kerberos_service_from_targetname (const char *targetname)
{
  const char *slash;
  gsize len;

  if (targetname == NULL)
    return NULL;
  len = strlen (targetname);
  slash = strchr (targetname, '/');
  if (len > MAX_TARGETNAME_LENGTH || slash == NULL || slash == targetname
      || !valid_part (targetname, (gsize) (slash - targetname))
      || !valid_part (slash + 1, strlen (slash + 1)))
    return NULL;
  return g_strdup_printf ("%.*s@%s", (int) (slash - targetname), targetname, slash + 1);
}

/* ---- GSSAPI errors --------------------------------------------------- */

static char *
gss_message (OM_uint32 major, OM_uint32 minor)
{
  GString *out = g_string_new (NULL);
  struct
  {
    OM_uint32 code;
    int type;
  } parts[] = { { major, GSS_C_GSS_CODE }, { minor, GSS_C_MECH_CODE } };

  for (guint p = 0; p < G_N_ELEMENTS (parts); p++)
    {
      OM_uint32 context = 0;

      if (parts[p].code == 0 || (p == 0 && GSS_ERROR (major) == GSS_S_FAILURE && minor != 0))
        continue;
      do
        {
          OM_uint32 min = 0;
          gss_buffer_desc text = GSS_C_EMPTY_BUFFER;

          if (GSS_ERROR (gss_display_status (
                  &min, parts[p].code, parts[p].type, GSS_C_NO_OID, &context, &text)))
            break;
          if (out->len > 0)
            g_string_append (out, ": ");
          g_string_append_len (out, text.value, (gssize) text.length);
          gss_release_buffer (&min, &text);
        }
      while (context != 0 && out->len < 1024);
    }
  if (out->len == 0)
    g_string_append_printf (out, "GSSAPI error %u/%u", major, minor);
  return g_string_free (out, FALSE);
}

static void
set_gss_error (GError **error, const char *what, OM_uint32 major, OM_uint32 minor)
{
  g_autofree char *text = gss_message (major, minor);
  int code = SFB_ERROR_FAILED;

  switch ((krb5_error_code) minor)
    {
    case KRB5KDC_ERR_PREAUTH_FAILED:
    case KRB5KRB_AP_ERR_BAD_INTEGRITY:
    case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
    case KRB5KDC_ERR_CLIENT_REVOKED:
    case KRB5KDC_ERR_KEY_EXP:
      code = SFB_ERROR_AUTH_FAILED;
      break;
    case KRB5KRB_AP_ERR_SKEW:
    case KRB5_KDCREP_SKEW:
      code = SFB_ERROR_CLOCK_SKEW;
      break;
    case KRB5_KDC_UNREACH:
    case KRB5_REALM_CANT_RESOLVE:
    case KRB5_REALM_UNKNOWN:
      code = SFB_ERROR_NOT_REACHABLE;
      break;
    default:
      break;
    }
  g_debug ("GSSAPI %s: major %u minor %d", what, major, (int) minor);
  if (code == SFB_ERROR_CLOCK_SKEW)
    g_set_error (error,
                 SFB_ERROR,
                 code,
                 "%s: %s. The clock of this computer and that of the Kerberos server differ "
                 "by more than it allows (usually 5 minutes). Check the clock with: timedatectl",
                 what,
                 text);
  else
    g_set_error (error, SFB_ERROR, code, "%s: %s", what, text);
}

/* ---- credentials (thread) -------------------------------------------- */

/* krb5 1.2.840.113554.1.2.2, then SPNEGO (RFC 4178) 1.3.6.1.5.5.2, spelled
 * out (MIT exports no SPNEGO constant, and gss_mech_krb5 is no constant
 * expression).  The Kerberos workers of several contexts hand these sets
 * to GSSAPI at once, so nothing here is written at run time: the krb5 set
 * is the first element alone. */
static gss_OID_desc krb5_spnego_oids[2] = {
  { 9, (void *) "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" },
  { 6, (void *) "\x2b\x06\x01\x05\x05\x02" },
};
static gss_OID_set_desc krb5_mechs = { 1, krb5_spnego_oids };
static gss_OID_set_desc krb5_spnego_mechs = { 2, krb5_spnego_oids };
#define SPNEGO_MECH (&krb5_spnego_oids[1])

/* The mechanisms to acquire credentials for: SPNEGO needs an element of
 * its own beside the krb5 one it carries. */
static gss_OID_set
cred_mech_set (gboolean spnego)
{
  return spnego ? &krb5_spnego_mechs : &krb5_mechs;
}

/* The default realm, as GSSAPI sees it: import a bare name and show it. */
static char *
default_realm (void)
{
  OM_uint32 major, minor;
  gss_name_t name = GSS_C_NO_NAME;
  gss_name_t canon = GSS_C_NO_NAME;
  gss_buffer_desc in = { 1, (void *) "x" };
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  char *realm = NULL;

  major = gss_import_name (&minor, &in, (gss_OID) GSS_KRB5_NT_PRINCIPAL_NAME, &name);
  if (!GSS_ERROR (major))
    major = gss_canonicalize_name (&minor, name, (gss_OID) gss_mech_krb5, &canon);
  if (!GSS_ERROR (major))
    major = gss_display_name (&minor, canon, &out, NULL);
  if (!GSS_ERROR (major) && out.length > 2 && ((char *) out.value)[1] == '@')
    realm = g_strndup ((char *) out.value + 2, out.length - 2);
  gss_release_buffer (&minor, &out);
  gss_release_name (&minor, &canon);
  gss_release_name (&minor, &name);
  return realm;
}

static char *
cred_principal (gss_cred_id_t cred, OM_uint32 *lifetime)
{
  OM_uint32 major, minor;
  gss_name_t name = GSS_C_NO_NAME;
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  char *principal = NULL;

  major = gss_inquire_cred (&minor, cred, &name, lifetime, NULL, NULL);
  if (GSS_ERROR (major))
    return NULL;
  if (!GSS_ERROR (gss_display_name (&minor, name, &out, NULL)))
    principal = g_strndup (out.value, out.length);
  gss_release_buffer (&minor, &out);
  gss_release_name (&minor, &name);
  return principal;
}

/* Valid credentials of the default ccache, or GSS_C_NO_CREDENTIAL. */
static gss_cred_id_t
ccache_credentials (gboolean spnego, char **principal)
{
  OM_uint32 major, minor, lifetime = 0;
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  g_autofree char *name = NULL;

  major = gss_acquire_cred (&minor,
                            GSS_C_NO_NAME,
                            GSS_C_INDEFINITE,
                            cred_mech_set (spnego),
                            GSS_C_INITIATE,
                            &cred,
                            NULL,
                            NULL);
  if (GSS_ERROR (major))
    return GSS_C_NO_CREDENTIAL;
  name = cred_principal (cred, &lifetime);
  if (name == NULL || lifetime == 0)
    {
      gss_release_cred (&minor, &cred);
      return GSS_C_NO_CREDENTIAL;
    }
  if (principal != NULL)
    *principal = g_steal_pointer (&name);
  return cred;
}

gboolean
sfb_kerberos_have_ccache_credentials (void)
{
  OM_uint32 minor;
  gss_cred_id_t cred = ccache_credentials (FALSE, NULL);

  if (cred == GSS_C_NO_CREDENTIAL)
    return FALSE;
  gss_release_cred (&minor, &cred);
  return TRUE;
}

char *
sfb_kerberos_principal_for_login (const char *login)
{
  g_autofree char *realm = default_realm ();

  return sfb_kerberos_principal_from_login (login, realm);
}

static gboolean
acquire_with_password (SfbKerberosContext *self, GError **error)
{
  OM_uint32 major, minor, ignored;
  gss_name_t name = GSS_C_NO_NAME;
  g_autofree char *realm = default_realm ();
  g_autofree char *principal = sfb_kerberos_principal_from_login (self->login, realm);
  gss_buffer_desc name_buf;
  gss_buffer_desc password_buf;

  if (principal == NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_NO_CREDENTIALS,
                   "The login \"%s\" gives no Kerberos principal",
                   self->login);
      return FALSE;
    }
  name_buf.value = principal;
  name_buf.length = strlen (principal);
  major = gss_import_name (&minor, &name_buf, (gss_OID) GSS_KRB5_NT_PRINCIPAL_NAME, &name);
  if (GSS_ERROR (major))
    {
      set_gss_error (error, "Bad Kerberos principal", major, minor);
      return FALSE;
    }
  password_buf.value = self->password;
  password_buf.length = strlen (self->password);
  major = gss_acquire_cred_with_password (&minor,
                                          name,
                                          &password_buf,
                                          GSS_C_INDEFINITE,
                                          cred_mech_set (self->spnego),
                                          GSS_C_INITIATE,
                                          &self->cred,
                                          NULL,
                                          NULL);
  gss_release_name (&ignored, &name);
  if (GSS_ERROR (major))
    {
      g_autofree char *what = g_strdup_printf ("The KDC did not issue a ticket for %s", principal);

      set_gss_error (error, what, major, minor);
      return FALSE;
    }
  g_free (self->principal);
  self->principal = g_steal_pointer (&principal);
  self->source = "password";
  /* the ticket is in self->cred now: the password is not needed again */
  explicit_bzero (self->password, strlen (self->password));
  g_clear_pointer (&self->password, g_free);
  return TRUE;
}

/* SPNEGO offers only krb5: not NTLM through gss-ntlmssp, if installed (the
 * HTTP code runs its own NTLM when Kerberos fails). */
static gboolean
restrict_to_krb5 (SfbKerberosContext *self, GError **error)
{
  OM_uint32 major, minor;

  major = gss_set_neg_mechs (&minor, self->cred, &krb5_mechs);
  if (GSS_ERROR (major))
    {
      set_gss_error (error, "Cannot limit SPNEGO to Kerberos", major, minor);
      return FALSE;
    }
  return TRUE;
}

/* Credentials from the ccache, else from the password */
static gboolean
obtain_credentials (SfbKerberosContext *self, GError **error)
{
  char *principal = NULL;

  self->cred = ccache_credentials (self->spnego, &principal);
  if (self->cred != GSS_C_NO_CREDENTIAL)
    {
      g_free (self->principal);
      self->principal = principal;
      self->source = "ccache";
    }
  else if (self->password == NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_NO_CREDENTIALS,
                   "No Kerberos ticket in the credential cache and no password");
      return FALSE;
    }
  else if (!acquire_with_password (self, error))
    return FALSE;
  return !self->spnego || restrict_to_krb5 (self, error);
}

/* The first (and, for Kerberos, only) initiator token for @service, in @out.
 * Under SPNEGO the context stays incomplete (GSS_S_CONTINUE_NEEDED) until the
 * acceptor's NegTokenResp, which HTTP does not need: see step(). */
static gboolean
init_context (SfbKerberosContext *self,
              const char *service,
              gss_buffer_desc *out,
              OM_uint32 *ret_flags,
              OM_uint32 *time_rec,
              GError **error)
{
  OM_uint32 major, minor, ignored;
  gss_name_t target = GSS_C_NO_NAME;
  gss_buffer_desc name_buf = { strlen (service), (void *) service };

  major = gss_import_name (&minor, &name_buf, GSS_C_NT_HOSTBASED_SERVICE, &target);
  if (GSS_ERROR (major))
    {
      set_gss_error (error, "Bad Kerberos service name", major, minor);
      return FALSE;
    }
  major = gss_init_sec_context (&minor,
                                self->cred,
                                &self->ctx,
                                target,
                                self->spnego ? SPNEGO_MECH : (gss_OID) gss_mech_krb5,
                                GSS_C_INTEG_FLAG,
                                GSS_C_INDEFINITE,
                                GSS_C_NO_CHANNEL_BINDINGS,
                                GSS_C_NO_BUFFER,
                                NULL,
                                out,
                                ret_flags,
                                time_rec);
  gss_release_name (&ignored, &target);
  if (self->spnego && major == GSS_S_CONTINUE_NEEDED)
    major = GSS_S_COMPLETE;
  if (GSS_ERROR (major) || major != GSS_S_COMPLETE || out->length == 0)
    {
      g_autofree char *what = g_strdup_printf ("No Kerberos service ticket for %s (as %s)",
                                               service,
                                               self->principal != NULL ? self->principal : "?");

      gss_release_buffer (&ignored, out);
      if (!GSS_ERROR (major))
        g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "%s: incomplete context", what);
      else
        set_gss_error (error, what, major, minor);
      return FALSE;
    }
  return TRUE;
}

static void
prepare_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SfbKerberosContext *self = source;
  const char *service = task_data;
  OM_uint32 minor, ret_flags = 0, time_rec = 0;
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  g_autoptr (GError) error = NULL;
  gint64 lifetime;

  if (self->cred == GSS_C_NO_CREDENTIAL && !obtain_credentials (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  if (!init_context (self, service, &out, &ret_flags, &time_rec, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* SPNEGO (HTTP) neither signs nor has its final flags yet */
  if (!self->spnego && !(ret_flags & GSS_C_INTEG_FLAG))
    {
      gss_release_buffer (&minor, &out);
      g_task_return_new_error (
          task, SFB_ERROR, SFB_ERROR_FAILED, "The Kerberos context offers no integrity");
      return;
    }
  self->initial_token = g_bytes_new (out.value, out.length);
  gss_release_buffer (&minor, &out);
  lifetime = time_rec == GSS_C_INDEFINITE ? SA_MAX_LIFETIME_S : MIN (time_rec, SA_MAX_LIFETIME_S);
  lifetime -= MIN (SA_RENEW_BEFORE_S, lifetime / 2);
  self->expires_at = g_get_real_time () + lifetime * G_USEC_PER_SEC;
  g_debug ("Kerberos context for %s as %s (%s credentials), valid %u s",
           service,
           self->principal,
           self->source,
           time_rec);
  g_task_return_boolean (task, TRUE);
}

static void
sfb_kerberos_context_prepare_async (SfbAuthContext *context,
                                    const SfbSipAuth *challenge,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  SfbKerberosContext *self = SFB_KERBEROS_CONTEXT (context);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  const char *targetname = sfb_sip_auth_get_param (challenge, "targetname");
  char *service = sfb_kerberos_service_from_targetname (targetname);

  g_task_set_source_tag (task, sfb_kerberos_context_prepare_async);
  if (service == NULL)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_FAILED,
                               "The Kerberos challenge has no usable targetname (%s)",
                               targetname != NULL ? targetname : "none");
      return;
    }
  if (self->ctx != GSS_C_NO_CONTEXT || self->initial_token != NULL)
    {
      g_free (service);
      g_task_return_new_error (
          task, SFB_ERROR, SFB_ERROR_FAILED, "This Kerberos context was already used");
      return;
    }
  g_task_set_task_data (task, service, g_free);
  g_task_run_in_thread (task, prepare_thread);
}

static gboolean
sfb_kerberos_context_prepare_finish (SfbAuthContext *context, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, context), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- SfbAuthContext -------------------------------------------------- */

static GBytes *
sfb_kerberos_context_step (SfbAuthContext *context, GBytes *server_token, GError **error)
{
  SfbKerberosContext *self = SFB_KERBEROS_CONTEXT (context);

  if (server_token != NULL)
    {
      /* no mutual authentication was asked for: nothing comes back */
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_AUTH_FAILED,
                   "The server answered the Kerberos token with another token");
      return NULL;
    }
  if (self->initial_token == NULL || self->token_taken)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   self->token_taken ? "Kerberos allows a single leg"
                                     : "Kerberos was not prepared for this challenge");
      return NULL;
    }
  self->token_taken = TRUE;
  self->established = TRUE;
  return g_bytes_ref (self->initial_token);
}

static gboolean
sfb_kerberos_context_is_established (SfbAuthContext *context)
{
  return SFB_KERBEROS_CONTEXT (context)->established;
}

static GBytes *
sfb_kerberos_context_sign (SfbAuthContext *context, const char *data, gsize len, GError **error)
{
  SfbKerberosContext *self = SFB_KERBEROS_CONTEXT (context);
  OM_uint32 major, minor;
  gss_buffer_desc in = { len, (void *) data };
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  GBytes *mic;

  major = gss_get_mic (&minor, self->ctx, GSS_C_QOP_DEFAULT, &in, &out);
  if (GSS_ERROR (major))
    {
      set_gss_error (error, "Cannot sign with Kerberos", major, minor);
      return NULL;
    }
  mic = g_bytes_new (out.value, out.length);
  gss_release_buffer (&minor, &out);
  return mic;
}

static gboolean
sfb_kerberos_context_verify (
    SfbAuthContext *context, const char *data, gsize len, GBytes *signature, GError **error)
{
  SfbKerberosContext *self = SFB_KERBEROS_CONTEXT (context);
  OM_uint32 major, minor;
  gsize sig_len;
  const void *sig = g_bytes_get_data (signature, &sig_len);
  gss_buffer_desc in = { len, (void *) data };
  gss_buffer_desc token = { sig_len, (void *) sig };

  if (sig_len == 0 || sig_len > MAX_SIGNATURE_LENGTH)
    {
      g_set_error (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID, "Bad Kerberos signature length");
      return FALSE;
    }
  major = gss_verify_mic (&minor, self->ctx, &in, &token, NULL);
  /* without sequence flags MIT reports no order; still refuse any error */
  if (GSS_ERROR (major))
    {
      set_gss_error (error, "Bad Kerberos signature", major, minor);
      if (error != NULL && *error != NULL)
        (*error)->code = SFB_ERROR_SIGNATURE_INVALID;
      return FALSE;
    }
  return TRUE;
}

static gint64
sfb_kerberos_context_get_expires_at (SfbAuthContext *context)
{
  SfbKerberosContext *self = SFB_KERBEROS_CONTEXT (context);

  return self->established ? self->expires_at : 0;
}

static void
sfb_kerberos_context_finalize (GObject *object)
{
  SfbKerberosContext *self = SFB_KERBEROS_CONTEXT (object);
  OM_uint32 minor;

  if (self->ctx != GSS_C_NO_CONTEXT)
    gss_delete_sec_context (&minor, &self->ctx, GSS_C_NO_BUFFER);
  if (self->cred != GSS_C_NO_CREDENTIAL)
    gss_release_cred (&minor, &self->cred);
  if (self->password != NULL)
    {
      explicit_bzero (self->password, strlen (self->password));
      g_free (self->password);
    }
  g_free (self->login);
  g_free (self->principal);
  g_clear_pointer (&self->initial_token, g_bytes_unref);
  G_OBJECT_CLASS (sfb_kerberos_context_parent_class)->finalize (object);
}

static void
sfb_kerberos_context_class_init (SfbKerberosContextClass *klass)
{
  SfbAuthContextClass *auth_class = SFB_AUTH_CONTEXT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = sfb_kerberos_context_finalize;
  auth_class->scheme = "Kerberos";
  auth_class->step = sfb_kerberos_context_step;
  auth_class->is_established = sfb_kerberos_context_is_established;
  auth_class->sign = sfb_kerberos_context_sign;
  auth_class->verify = sfb_kerberos_context_verify;
  auth_class->get_expires_at = sfb_kerberos_context_get_expires_at;
  auth_class->prepare_async = sfb_kerberos_context_prepare_async;
  auth_class->prepare_finish = sfb_kerberos_context_prepare_finish;
}

static void
sfb_kerberos_context_init (SfbKerberosContext *self)
{
  self->cred = GSS_C_NO_CREDENTIAL;
  self->ctx = GSS_C_NO_CONTEXT;
}

SfbAuthContext *
sfb_kerberos_context_new (const char *login, const char *password)
{
  SfbKerberosContext *self = g_object_new (SFB_TYPE_KERBEROS_CONTEXT, NULL);

  self->login = g_strdup (login != NULL ? login : "");
  self->password = g_strdup (password);
  return SFB_AUTH_CONTEXT (self);
}

SfbAuthContext *
sfb_kerberos_context_new_spnego (const char *login, const char *password)
{
  SfbAuthContext *context = sfb_kerberos_context_new (login, password);

  SFB_KERBEROS_CONTEXT (context)->spnego = TRUE;
  return context;
}

const char *
sfb_kerberos_context_get_principal (SfbKerberosContext *self)
{
  g_return_val_if_fail (SFB_IS_KERBEROS_CONTEXT (self), NULL);
  return self->principal;
}

const char *
sfb_kerberos_context_get_credential_source (SfbKerberosContext *self)
{
  g_return_val_if_fail (SFB_IS_KERBEROS_CONTEXT (self), NULL);
  return self->source;
}
