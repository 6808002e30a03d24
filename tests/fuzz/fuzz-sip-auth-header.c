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
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse (text, (gssize) size, NULL);
  g_autofree char *redacted = sfb_sip_auth_redact_value (text, (gssize) size, TRUE);
  g_autofree char *redacted2 = sfb_sip_auth_redact_value (text, (gssize) size, FALSE);

  /* an auth header is always rewritten for logs; others only when needed */
  if (redacted == NULL)
    abort ();
  (void) redacted2;
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
