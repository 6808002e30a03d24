/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: authentication header values (challenges,
 * Authorization, Authentication-Info), their re-serialisation and the log
 * redaction.
 */
#include "sfb-sip-auth-header.h"
#include "sfb-sip-signature.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* to_string() output parses back to the same text */
static void
check_round_trip (const SfbSipAuth *auth)
{
  g_autofree char *text = sfb_sip_auth_to_string (auth);
  g_autoptr (GPtrArray) again = sfb_sip_auth_parse (text, -1, NULL);
  g_autofree char *text2 = NULL;

  if (again == NULL || again->len != 1)
    abort ();
  text2 = sfb_sip_auth_to_string (again->pdata[0]);
  if (strcmp (text, text2) != 0)
    abort ();
}

static gboolean
is_clean (const char *value)
{
  return value == NULL || strpbrk (value, "\r\n") == NULL;
}

/* the builder, fed with what a server sent */
static void
check_build (const SfbSipAuth *auth)
{
  SfbSipAuthorization a = {
    .scheme = sfb_sip_auth_get_scheme (auth),
    .opaque = sfb_sip_auth_get_param (auth, "opaque"),
    .realm = sfb_sip_auth_get_param (auth, "realm"),
    .targetname = sfb_sip_auth_get_param (auth, "targetname"),
    .gssapi_data = sfb_sip_auth_get_param (auth, "gssapi-data"),
    .version = 4,
    .crand = "13317733",
    .cnum = 1,
    .response = sfb_sip_auth_get_param (auth, "response"),
  };
  g_autofree char *built = NULL;
  g_autoptr (GPtrArray) parsed = NULL;
  SfbSipSignatureParams params = { 0 };

  (void) sfb_sip_signature_params_init_from_auth (&params, auth, NULL);
  if (!is_clean (a.opaque) || !is_clean (a.realm) || !is_clean (a.targetname)
      || !is_clean (a.gssapi_data) || !is_clean (a.response))
    return;
  built = sfb_sip_auth_build_authorization (&a);
  parsed = sfb_sip_auth_parse (built, -1, NULL);
  if (parsed == NULL
      || g_strcmp0 (sfb_sip_auth_get_param (parsed->pdata[0], "realm"), a.realm) != 0)
    abort ();
}

/* the view of @scheme's challenge is the built list's, field by field,
 * and the signature fields taken from either are the same */
static void
check_same_challenge (const SfbSipAuthView *view, const SfbSipAuth *auth)
{
  SfbSipSignatureParams a = { 0 }, b = { 0 };
  g_autoptr (GError) error_a = NULL;
  g_autoptr (GError) error_b = NULL;

  if (view->found != (auth != NULL))
    abort ();
  if (auth == NULL)
    return;
  if (strcmp (sfb_sip_auth_view_get_scheme (view), sfb_sip_auth_get_scheme (auth)) != 0
      || view->n_params != sfb_sip_auth_get_n_params (auth))
    abort ();
  for (guint i = 0; i < view->n_params; i++)
    {
      const char *name = sfb_sip_auth_get_param_name (auth, i);

      if (view->params[i].name_len != strlen (name)
          || memcmp (view->params[i].name, name, view->params[i].name_len) != 0
          || strcmp (sfb_sip_auth_view_get_param_value (view, i),
                     sfb_sip_auth_get_param_value (auth, i))
                 != 0
          || g_strcmp0 (sfb_sip_auth_view_get_param (view, name),
                        sfb_sip_auth_get_param (auth, name))
                 != 0)
        abort ();
    }
  if (sfb_sip_signature_params_init_from_view (&a, view, &error_a)
          != sfb_sip_signature_params_init_from_auth (&b, auth, &error_b)
      || g_strcmp0 (error_a != NULL ? error_a->message : NULL,
                    error_b != NULL ? error_b->message : NULL)
             != 0
      || g_strcmp0 (a.protocol, b.protocol) != 0 || g_strcmp0 (a.rand, b.rand) != 0
      || g_strcmp0 (a.num, b.num) != 0 || g_strcmp0 (a.realm, b.realm) != 0
      || g_strcmp0 (a.targetname, b.targetname) != 0 || a.version != b.version)
    abort ();
}

/* sfb_sip_auth_view_parse () against sfb_sip_auth_parse () and find:
 * the same verdict and error, and the same challenge; one view reused
 * from input to input, as the signature check does */
static void
check_view (const char *text, size_t size, GPtrArray *auths, const GError *error)
{
  static SfbSipAuthView view;
  g_autoptr (GPtrArray) schemes = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (schemes, g_strdup ("NTLM"));
  g_ptr_array_add (schemes, g_strdup ("kerberos"));
  for (guint i = 0; auths != NULL && i < auths->len && i < 4; i++)
    {
      const char *scheme = sfb_sip_auth_get_scheme (auths->pdata[i]);

      g_ptr_array_add (schemes, g_strdup (scheme));
      g_ptr_array_add (schemes, g_ascii_strup (scheme, -1));
    }
  for (guint i = 0; i < schemes->len; i++)
    {
      g_autoptr (GError) view_error = NULL;
      gboolean ok
          = sfb_sip_auth_view_parse (&view, text, (gssize) size, schemes->pdata[i], &view_error);

      if (ok != (auths != NULL))
        abort ();
      if (!ok)
        {
          if (view.found || view_error->code != error->code
              || strcmp (view_error->message, error->message) != 0)
            abort ();
          continue;
        }
      check_same_challenge (&view, sfb_sip_auth_find (auths, schemes->pdata[i]));
    }
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse (text, (gssize) size, &error);
  g_autofree char *redacted = sfb_sip_auth_redact_value (text, (gssize) size, TRUE);
  g_autofree char *redacted2 = sfb_sip_auth_redact_value (text, (gssize) size, FALSE);

  /* an auth header is always rewritten for logs; others only when needed */
  if (redacted == NULL)
    abort ();
  (void) redacted2;
  check_view (text, size, auths, error);
  if (auths == NULL)
    return 0;
  /* NUL bytes inside quoted values make C strings shorter: no round trip */
  if (memchr (data, '\0', size) == NULL)
    {
      for (guint i = 0; i < auths->len; i++)
        check_round_trip (auths->pdata[i]);
    }
  for (guint i = 0; i < auths->len; i++)
    check_build (auths->pdata[i]);
  return 0;
}
