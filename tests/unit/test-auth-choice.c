/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Auth= policy (Account.Auth): which scheme a sign-in uses given
 * what the server offers and which credentials exist, the fallback after
 * a failed handshake, and the reason the trace shows. */
#include "sfb-auth-choice.h"
#include "sfb-error.h"

#include <sfbd/sfb-names.h>
#include <string.h>

#define ALL (SFB_AUTH_SCHEME_NTLM | SFB_AUTH_SCHEME_KERBEROS | SFB_AUTH_SCHEME_TLS_DSK)

static SfbAuthChoiceInput
base_input (void)
{
  SfbAuthChoiceInput in = { 0 };

  in.mode = SFB_AUTH_MODE_AUTO;
  in.offered = ALL;
  in.have_password = TRUE;
  in.kerberos_available = TRUE;
  in.tls_dsk_available = TRUE;
  return in;
}

static SfbAuthScheme
choose (const SfbAuthChoiceInput *in, const char *reason_part)
{
  g_autofree char *reason = NULL;
  SfbAuthScheme scheme = sfb_auth_choose (in, &reason);

  g_assert_nonnull (reason);
  if (reason_part != NULL && strstr (reason, reason_part) == NULL)
    g_error ("reason \"%s\" lacks \"%s\"", reason, reason_part);
  return scheme;
}

static void
test_auto_order (void)
{
  SfbAuthChoiceInput in = base_input ();

  /* no certificate: Kerberos with the password */
  g_assert_cmpint (choose (&in, "Kerberos with the password"), ==, SFB_AUTH_SCHEME_KERBEROS);
  in.have_ccache = TRUE;
  g_assert_cmpint (
      choose (&in, "Kerberos with a ticket in the credential cache"), ==, SFB_AUTH_SCHEME_KERBEROS);
  /* a valid certificate wins */
  in.have_certificate = TRUE;
  g_assert_cmpint (choose (&in, "TLS-DSK with a valid certificate"), ==, SFB_AUTH_SCHEME_TLS_DSK);
  /* ... when offered */
  in.offered = SFB_AUTH_SCHEME_NTLM | SFB_AUTH_SCHEME_KERBEROS;
  g_assert_cmpint (choose (&in, "TLS-DSK not offered by the server"), ==, SFB_AUTH_SCHEME_KERBEROS);
  /* NTLM only */
  in.offered = SFB_AUTH_SCHEME_NTLM;
  g_assert_cmpint (choose (&in, "NTLM with the password"), ==, SFB_AUTH_SCHEME_NTLM);
}

static void
test_auto_credentials (void)
{
  SfbAuthChoiceInput in = base_input ();

  /* a ticket but no password: Kerberos, and NTLM is impossible */
  in.have_password = FALSE;
  in.have_ccache = TRUE;
  g_assert_cmpint (choose (&in, NULL), ==, SFB_AUTH_SCHEME_KERBEROS);
  in.failed = SFB_AUTH_SCHEME_KERBEROS;
  g_assert_cmpint (choose (&in, "NTLM no password"), ==, SFB_AUTH_SCHEME_NONE);
  /* nothing at all */
  in = base_input ();
  in.have_password = FALSE;
  g_assert_cmpint (
      choose (&in, "no ticket in the credential cache and no password"), ==, SFB_AUTH_SCHEME_NONE);
  /* built without Kerberos: NTLM */
  in = base_input ();
  in.kerberos_available = FALSE;
  g_assert_cmpint (choose (&in, "built without Kerberos"), ==, SFB_AUTH_SCHEME_NTLM);
  /* TLS-DSK provisioning needs the password (hook for the TLS-DSK code) */
  in = base_input ();
  in.can_provision = TRUE;
  g_assert_cmpint (
      choose (&in, "TLS-DSK with a certificate to provision"), ==, SFB_AUTH_SCHEME_TLS_DSK);
  in.have_password = FALSE;
  in.have_ccache = TRUE;
  g_assert_cmpint (choose (&in, "TLS-DSK no valid certificate"), ==, SFB_AUTH_SCHEME_KERBEROS);
}

static void
test_auto_fallback (void)
{
  SfbAuthChoiceInput in = base_input ();

  in.have_certificate = TRUE;
  in.failed = SFB_AUTH_SCHEME_TLS_DSK;
  g_assert_cmpint (choose (&in, "TLS-DSK failed in this sign-in"), ==, SFB_AUTH_SCHEME_KERBEROS);
  in.failed |= SFB_AUTH_SCHEME_KERBEROS;
  g_assert_cmpint (choose (&in, "Kerberos failed in this sign-in; NTLM with the password"),
                   ==,
                   SFB_AUTH_SCHEME_NTLM);
  in.failed |= SFB_AUTH_SCHEME_NTLM;
  g_assert_cmpint (choose (&in, "nothing left to try"), ==, SFB_AUTH_SCHEME_NONE);
}

static void
test_fixed_modes (void)
{
  SfbAuthChoiceInput in = base_input ();

  in.mode = SFB_AUTH_MODE_NTLM;
  in.have_ccache = TRUE;
  g_assert_cmpint (choose (&in, "Auth=ntlm: NTLM with the password"), ==, SFB_AUTH_SCHEME_NTLM);
  in.mode = SFB_AUTH_MODE_KERBEROS;
  g_assert_cmpint (
      choose (&in, "Auth=kerberos: Kerberos with a ticket"), ==, SFB_AUTH_SCHEME_KERBEROS);
  /* never another scheme, even when the chosen one cannot work */
  in.offered = SFB_AUTH_SCHEME_NTLM;
  g_assert_cmpint (choose (&in, "Auth=kerberos: Kerberos is not offered by the server"),
                   ==,
                   SFB_AUTH_SCHEME_NONE);
  in.offered = ALL;
  in.failed = SFB_AUTH_SCHEME_KERBEROS;
  g_assert_cmpint (choose (&in, "failed"), ==, SFB_AUTH_SCHEME_NONE);
  in.mode = SFB_AUTH_MODE_TLS_DSK;
  in.failed = 0;
  g_assert_cmpint (choose (&in, "no valid certificate"), ==, SFB_AUTH_SCHEME_NONE);
  in.have_certificate = TRUE;
  g_assert_cmpint (choose (&in, NULL), ==, SFB_AUTH_SCHEME_TLS_DSK);
}

static void
test_fallback_rules (void)
{
  g_autoptr (GError) password = g_error_new_literal (SFB_ERROR, SFB_ERROR_AUTH_FAILED, "refused");
  g_autoptr (GError) unreachable
      = g_error_new_literal (SFB_ERROR, SFB_ERROR_NOT_REACHABLE, "no KDC");
  g_autoptr (GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "x");

  /* KDC down: try the next scheme; KDC refused the password: stop */
  g_assert_true (sfb_auth_failure_allows_fallback (SFB_AUTH_SCHEME_KERBEROS, TRUE, unreachable));
  g_assert_false (sfb_auth_failure_allows_fallback (SFB_AUTH_SCHEME_KERBEROS, TRUE, password));
  /* the registrar refused the ticket: not the password */
  g_assert_true (sfb_auth_failure_allows_fallback (SFB_AUTH_SCHEME_KERBEROS, FALSE, password));
  g_assert_true (sfb_auth_failure_allows_fallback (SFB_AUTH_SCHEME_TLS_DSK, FALSE, password));
  g_assert_false (sfb_auth_failure_allows_fallback (SFB_AUTH_SCHEME_TLS_DSK, TRUE, password));
  /* NTLM is always a rejected password; cancelling is not a failure */
  g_assert_false (sfb_auth_failure_allows_fallback (SFB_AUTH_SCHEME_NTLM, FALSE, password));
  g_assert_false (sfb_auth_failure_allows_fallback (SFB_AUTH_SCHEME_KERBEROS, TRUE, cancelled));
}

static void
test_names (void)
{
  const char *offered[] = { "NTLM", "kerberos", "Digest", "TLS-DSK", NULL };

  g_assert_cmpuint (sfb_auth_schemes_from_names (offered), ==, ALL);
  g_assert_cmpuint (sfb_auth_schemes_from_names (NULL), ==, 0);
  g_assert_cmpint (sfb_auth_scheme_from_name ("Basic"), ==, SFB_AUTH_SCHEME_NONE);
  g_assert_cmpstr (sfb_auth_scheme_to_name (SFB_AUTH_SCHEME_KERBEROS), ==, "Kerberos");
  g_assert_cmpstr (sfb_auth_scheme_to_method (SFB_AUTH_SCHEME_KERBEROS), ==, SFB_AUTH_KERBEROS);
  g_assert_cmpstr (sfb_auth_scheme_to_method (SFB_AUTH_SCHEME_TLS_DSK), ==, "tls-dsk");
  g_assert_cmpstr (sfb_auth_scheme_to_method (SFB_AUTH_SCHEME_NTLM), ==, "ntlm");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/auth-choice/auto-order", test_auto_order);
  g_test_add_func ("/auth-choice/auto-credentials", test_auto_credentials);
  g_test_add_func ("/auth-choice/auto-fallback", test_auto_fallback);
  g_test_add_func ("/auth-choice/fixed-modes", test_fixed_modes);
  g_test_add_func ("/auth-choice/fallback-rules", test_fallback_rules);
  g_test_add_func ("/auth-choice/names", test_names);
  return g_test_run ();
}
