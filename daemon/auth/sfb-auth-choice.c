/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-auth"

#include "sfb-auth-choice.h"

#include "sfb-error.h"

#include <sfbd/sfb-names.h>

static const struct
{
  SfbAuthScheme scheme;
  const char *name;
  const char *method;
} schemes[] = {
  { SFB_AUTH_SCHEME_NTLM, "NTLM", SFB_AUTH_NTLM },
  { SFB_AUTH_SCHEME_KERBEROS, "Kerberos", SFB_AUTH_KERBEROS },
  { SFB_AUTH_SCHEME_TLS_DSK, "TLS-DSK", SFB_AUTH_TLS_DSK },
};

SfbAuthScheme
sfb_auth_scheme_from_name (const char *name)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (schemes); i++)
    if (g_ascii_strcasecmp (name, schemes[i].name) == 0)
      return schemes[i].scheme;
  return SFB_AUTH_SCHEME_NONE;
}

guint
sfb_auth_schemes_from_names (const char *const *names)
{
  guint bits = 0;

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    bits |= sfb_auth_scheme_from_name (names[i]);
  return bits;
}

const char *
sfb_auth_scheme_to_name (SfbAuthScheme scheme)
{
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (schemes[i].scheme == scheme)
      return schemes[i].name;
  return "none";
}

const char *
sfb_auth_scheme_to_method (SfbAuthScheme scheme)
{
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (schemes[i].scheme == scheme)
      return schemes[i].method;
  return "";
}

/* Can @scheme be used now?  NULL if so, else why not. */
static const char *
unusable (const SfbAuthChoiceInput *in, SfbAuthScheme scheme)
{
  if (!(in->offered & scheme))
    return "not offered by the server";
  if (in->failed & scheme)
    return "failed in this sign-in";
  switch (scheme)
    {
    case SFB_AUTH_SCHEME_TLS_DSK:
      if (!in->tls_dsk_available)
        return "not supported by this sfbd";
      if (!in->have_certificate && !(in->can_provision && in->have_password))
        return "no valid certificate";
      return NULL;
    case SFB_AUTH_SCHEME_KERBEROS:
      if (!in->kerberos_available)
        return "sfbd was built without Kerberos";
      if (!in->have_ccache && !in->have_password)
        return "no ticket in the credential cache and no password";
      return NULL;
    case SFB_AUTH_SCHEME_NTLM:
      if (!in->have_password)
        return "no password";
      return NULL;
    case SFB_AUTH_SCHEME_NONE:
    default:
      return "unknown";
    }
}

static const char *
credentials_of (const SfbAuthChoiceInput *in, SfbAuthScheme scheme)
{
  switch (scheme)
    {
    case SFB_AUTH_SCHEME_TLS_DSK:
      return in->have_certificate ? "a valid certificate" : "a certificate to provision";
    case SFB_AUTH_SCHEME_KERBEROS:
      return in->have_ccache ? "a ticket in the credential cache" : "the password";
    case SFB_AUTH_SCHEME_NTLM:
    case SFB_AUTH_SCHEME_NONE:
    default:
      return "the password";
    }
}

static SfbAuthScheme
mode_scheme (SfbAuthMode mode)
{
  switch (mode)
    {
    case SFB_AUTH_MODE_NTLM:
      return SFB_AUTH_SCHEME_NTLM;
    case SFB_AUTH_MODE_KERBEROS:
      return SFB_AUTH_SCHEME_KERBEROS;
    case SFB_AUTH_MODE_TLS_DSK:
      return SFB_AUTH_SCHEME_TLS_DSK;
    case SFB_AUTH_MODE_AUTO:
    default:
      return SFB_AUTH_SCHEME_NONE;
    }
}

SfbAuthScheme
sfb_auth_choose (const SfbAuthChoiceInput *in, char **reason)
{
  static const SfbAuthScheme order[]
      = { SFB_AUTH_SCHEME_TLS_DSK, SFB_AUTH_SCHEME_KERBEROS, SFB_AUTH_SCHEME_NTLM };
  SfbAuthScheme fixed;
  g_autoptr (GString) why = g_string_new (NULL);

  g_return_val_if_fail (in != NULL, SFB_AUTH_SCHEME_NONE);

  fixed = mode_scheme (in->mode);
  if (fixed != SFB_AUTH_SCHEME_NONE)
    {
      const char *no = unusable (in, fixed);

      if (reason != NULL)
        *reason = no == NULL ? g_strdup_printf ("Auth=%s: %s with %s",
                                                sfb_auth_mode_to_string (in->mode),
                                                sfb_auth_scheme_to_name (fixed),
                                                credentials_of (in, fixed))
                             : g_strdup_printf ("Auth=%s: %s is %s",
                                                sfb_auth_mode_to_string (in->mode),
                                                sfb_auth_scheme_to_name (fixed),
                                                no);
      return no == NULL ? fixed : SFB_AUTH_SCHEME_NONE;
    }

  g_string_append (why, "Auth=auto: ");
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      const char *no = unusable (in, order[i]);

      if (no == NULL)
        {
          g_string_append_printf (
              why, "%s with %s", sfb_auth_scheme_to_name (order[i]), credentials_of (in, order[i]));
          if (reason != NULL)
            *reason = g_strdup (why->str);
          return order[i];
        }
      g_string_append_printf (why, "%s %s; ", sfb_auth_scheme_to_name (order[i]), no);
    }
  g_string_append (why, "nothing left to try");
  if (reason != NULL)
    *reason = g_strdup (why->str);
  return SFB_AUTH_SCHEME_NONE;
}

gboolean
sfb_auth_failure_allows_fallback (SfbAuthScheme scheme,
                                  gboolean while_preparing,
                                  const GError *error)
{
  if (scheme == SFB_AUTH_SCHEME_NTLM)
    return FALSE; /* its 401 on the final leg is a rejected password (§17.9) */
  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  if (while_preparing)
    return error == NULL || !g_error_matches (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
  return TRUE; /* the server refused a ticket or a TLS handshake: not the password */
}
