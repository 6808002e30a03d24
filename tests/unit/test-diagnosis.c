/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of daemon/diagnosis: domain arguments, keys, fixes */
#include "sfb-diagnosis-private.h"
#include "sfb-error.h"

#include <string.h>

static void
test_domain_normalized (void)
{
  static const struct
  {
    const char *in;
    const char *out;
  } good[] = {
    { "contoso.com", "contoso.com" },
    { "Contoso.COM.", "contoso.com" },
    { "sub-1.contoso.test", "sub-1.contoso.test" },
    { "bücher.example", "xn--bcher-kva.example" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *domain = sfb_diagnosis_normalize_domain (good[i].in, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (domain, ==, good[i].out);
    }
}

static void
test_domain_refused (void)
{
  static const char *const bad[] = {
    "",
    ".",
    "localhost",
    "contoso..com",
    ".contoso.com",
    "-contoso.com",
    "not a domain",
    "contoso.com/x",
    "a\nb.com",
    "contoso.com:443",
    "\xff.com",
  };
  g_autofree char *long_name = g_strnfill (300, 'a');
  g_autofree char *too_long = g_strconcat (long_name, ".com", NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *domain = sfb_diagnosis_normalize_domain (bad[i], &error);

      g_assert_null (domain);
      g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
      /* the message quotes the argument only sanitised */
      g_assert_null (strchr (error->message, '\n'));
    }
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *domain = sfb_diagnosis_normalize_domain (too_long, &error);

    g_assert_null (domain);
    g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  }
}

static void
test_host_port_key (void)
{
  g_autofree char *a = sfb_diag_host_port ("Pool1.Contoso.TEST.", 5061);
  g_autofree char *b = sfb_diag_host_port ("pool1.contoso.test", 443);

  g_assert_cmpstr (a, ==, "pool1.contoso.test:5061");
  g_assert_cmpstr (b, ==, "pool1.contoso.test:443");
}

static void
test_certificate_fix_per_failed_check (void)
{
  g_autofree char *none = sfb_diag_certificate_fix (0, "sip.contoso.test", NULL);
  g_autofree char *ca
      = sfb_diag_certificate_fix (G_TLS_CERTIFICATE_UNKNOWN_CA, "sip.contoso.test", NULL);
  g_autofree char *both = sfb_diag_certificate_fix (
      G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_BAD_IDENTITY, "sip.contoso.test", NULL);

  g_assert_cmpstr (none, ==, "");
  g_assert_nonnull (strstr (ca, "which this machine does not trust"));
  g_assert_nonnull (strstr (ca, "[TLS] CAFile"));
  g_assert_nonnull (strstr (both, "The certificate on sip.contoso.test expired on"));
  g_assert_nonnull (strstr (both, "subject alternative names include sip.contoso.test"));
  g_assert_null (strstr (both, "does not trust"));
}

static void
test_result_names (void)
{
  g_assert_cmpstr (sfb_diagnosis_result_to_string (SFB_DIAGNOSIS_PASS), ==, "PASS");
  g_assert_cmpstr (sfb_diagnosis_result_to_string (SFB_DIAGNOSIS_WARN), ==, "WARN");
  g_assert_cmpstr (sfb_diagnosis_result_to_string (SFB_DIAGNOSIS_FAIL), ==, "FAIL");
  g_assert_cmpstr (sfb_diagnosis_result_to_string (SFB_DIAGNOSIS_SKIP), ==, "SKIP");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/diagnosis/domain/normalized", test_domain_normalized);
  g_test_add_func ("/diagnosis/domain/refused", test_domain_refused);
  g_test_add_func ("/diagnosis/host-port-key", test_host_port_key);
  g_test_add_func ("/diagnosis/certificate-fix", test_certificate_fix_per_failed_check);
  g_test_add_func ("/diagnosis/result-names", test_result_names);
  return g_test_run ();
}
