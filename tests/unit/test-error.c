/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SFB_ERROR: every code <-> its contract D-Bus name, and conversion. */
#include "config.h"

#include "sfb-error.h"

#include <sfbd/sfb-names.h>
#include <string.h>

/* Spelled out, not taken from sfb-names.h: this is the contract. */
static const struct
{
  SfbError code;
  const char *name;
} contract[] = {
  { SFB_ERROR_FAILED, "org.sfbd.Sfbd.Error.Failed" },
  { SFB_ERROR_NOT_CONFIGURED, "org.sfbd.Sfbd.Error.NotConfigured" },
  { SFB_ERROR_NO_CREDENTIALS, "org.sfbd.Sfbd.Error.NoCredentials" },
  { SFB_ERROR_NOT_SIGNED_IN, "org.sfbd.Sfbd.Error.NotSignedIn" },
  { SFB_ERROR_AUTH_FAILED, "org.sfbd.Sfbd.Error.AuthFailed" },
  { SFB_ERROR_CERTIFICATE_INVALID, "org.sfbd.Sfbd.Error.CertificateInvalid" },
  { SFB_ERROR_NOT_REACHABLE, "org.sfbd.Sfbd.Error.NotReachable" },
  { SFB_ERROR_DISCOVERY_FAILED, "org.sfbd.Sfbd.Error.DiscoveryFailed" },
  { SFB_ERROR_TIMED_OUT, "org.sfbd.Sfbd.Error.TimedOut" },
  { SFB_ERROR_SERVER_REJECTED, "org.sfbd.Sfbd.Error.ServerRejected" },
  { SFB_ERROR_ACCOUNT_DISABLED, "org.sfbd.Sfbd.Error.AccountDisabled" },
  { SFB_ERROR_NO_MATCHING_RULE, "org.sfbd.Sfbd.Error.NoMatchingRule" },
  { SFB_ERROR_NOT_FOUND, "org.sfbd.Sfbd.Error.NotFound" },
  { SFB_ERROR_INVALID_ARGS, "org.sfbd.Sfbd.Error.InvalidArgs" },
  { SFB_ERROR_CLOCK_SKEW, "org.sfbd.Sfbd.Error.ClockSkew" },
  { SFB_ERROR_CERTIFICATE_PROVISIONING_FAILED,
    "org.sfbd.Sfbd.Error.CertificateProvisioningFailed" },
  { SFB_ERROR_NO_USABLE_AUTH_SCHEME, "org.sfbd.Sfbd.Error.NoUsableAuthScheme" },
  { SFB_ERROR_SIGNATURE_INVALID, "org.sfbd.Sfbd.Error.SignatureInvalid" },
};

static void
test_error_all_codes_named (void)
{
  g_assert_cmpuint (G_N_ELEMENTS (contract), ==, SFB_ERROR_N_CODES);
  for (gsize i = 0; i < G_N_ELEMENTS (contract); i++)
    g_assert_cmpstr (sfb_error_to_dbus_name (contract[i].code), ==, contract[i].name);
}

/* What g_dbus_method_invocation_return_gerror() sends, and what a client
 * in this process gets back. */
static void
test_error_round_trip (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (contract); i++)
    {
      g_autoptr (GError) error = g_error_new (SFB_ERROR, (gint) contract[i].code, "why");
      g_autofree char *encoded = g_dbus_error_encode_gerror (error);
      g_autoptr (GError) decoded = g_dbus_error_new_for_dbus_error (contract[i].name, "why");
      g_autofree char *remote = g_dbus_error_get_remote_error (decoded);
      SfbError code = SFB_ERROR_FAILED;

      g_assert_cmpstr (encoded, ==, contract[i].name);
      g_assert_error (decoded, SFB_ERROR, (gint) contract[i].code);
      g_assert_cmpstr (remote, ==, contract[i].name);
      g_assert_true (sfb_error_from_dbus_name (contract[i].name, &code));
      g_assert_cmpint (code, ==, contract[i].code);
      g_assert_cmpstr (sfb_error_get_dbus_name (error), ==, contract[i].name);
    }
  g_assert_false (sfb_error_from_dbus_name ("org.sfbd.Sfbd.Error.Nope", NULL));
  g_assert_cmpstr (sfb_error_to_dbus_name ((SfbError) 999), ==, SFB_DBUS_ERROR_FAILED);
}

static void
test_error_foreign_name (void)
{
  g_autoptr (GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "x");

  g_assert_cmpstr (sfb_error_get_dbus_name (error), ==, SFB_DBUS_ERROR_FAILED);
}

static void
test_error_convert_table (void)
{
  const struct
  {
    GQuark domain;
    gint code;
    SfbError expected;
    const char *hint; /* in the new message, or NULL */
  } cases[] = {
    { G_IO_ERROR, G_IO_ERROR_TIMED_OUT, SFB_ERROR_TIMED_OUT, "network" },
    { G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, SFB_ERROR_NOT_REACHABLE, "Account.Server" },
    { G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, SFB_ERROR_NOT_REACHABLE, NULL },
    { G_IO_ERROR, G_IO_ERROR_NOT_FOUND, SFB_ERROR_NOT_FOUND, NULL },
    { G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, SFB_ERROR_INVALID_ARGS, NULL },
    { G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, SFB_ERROR_FAILED, "permissions" },
    { G_IO_ERROR, G_IO_ERROR_CANCELLED, SFB_ERROR_FAILED, NULL },
    { G_FILE_ERROR, G_FILE_ERROR_NOENT, SFB_ERROR_NOT_FOUND, NULL },
    { G_FILE_ERROR, G_FILE_ERROR_ACCES, SFB_ERROR_FAILED, "permissions" },
    { G_FILE_ERROR, G_FILE_ERROR_NOSPC, SFB_ERROR_FAILED, "disk space" },
    { G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE, SFB_ERROR_FAILED, "Fix or remove" },
    { G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND, SFB_ERROR_NOT_FOUND, NULL },
    { G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, SFB_ERROR_INVALID_ARGS, NULL },
    { G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, SFB_ERROR_DISCOVERY_FAILED, "Account.Server" },
    { G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE, SFB_ERROR_NOT_REACHABLE, "DNS" },
    { G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, SFB_ERROR_CERTIFICATE_INVALID, "TLS.CAFile" },
    { G_TLS_ERROR, G_TLS_ERROR_HANDSHAKE, SFB_ERROR_NOT_REACHABLE, "TLS" },
    { G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED, SFB_ERROR_AUTH_FAILED, NULL },
    { G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, SFB_ERROR_INVALID_ARGS, NULL },
    { G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY, SFB_ERROR_TIMED_OUT, NULL },
    { G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED, SFB_ERROR_FAILED, NULL },
    { G_OPTION_ERROR, G_OPTION_ERROR_FAILED, SFB_ERROR_FAILED, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error
          = g_error_new_literal (cases[i].domain, cases[i].code, "Original text");

      sfb_error_convert (&error);
      g_assert_error (error, SFB_ERROR, (gint) cases[i].expected);
      g_assert_true (g_str_has_prefix (error->message, "Original text"));
      if (cases[i].hint != NULL)
        g_assert_nonnull (strstr (error->message, cases[i].hint));
    }
}

static void
test_error_convert_keeps_sfb (void)
{
  GError *error = g_error_new_literal (SFB_ERROR, SFB_ERROR_AUTH_FAILED, "Wrong password");
  GError *before = error;
  GError **no_error = NULL;
  GError *unset = NULL;

  sfb_error_convert (&error);
  g_assert_true (error == before);
  g_assert_cmpstr (error->message, ==, "Wrong password");
  g_error_free (error);

  sfb_error_convert (no_error);
  sfb_error_convert (&unset);
  g_assert_null (unset);
}

/* A remote error: the GDBus.Error prefix never reaches a person. */
static void
test_error_convert_remote (void)
{
  g_autoptr (GError) error
      = g_dbus_error_new_for_dbus_error ("org.freedesktop.DBus.Error.ServiceUnknown", "No keyring");

  sfb_error_convert (&error);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "No keyring");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/error/all-codes-named", test_error_all_codes_named);
  g_test_add_func ("/error/round-trip", test_error_round_trip);
  g_test_add_func ("/error/foreign-name", test_error_foreign_name);
  g_test_add_func ("/error/convert/table", test_error_convert_table);
  g_test_add_func ("/error/convert/keeps-sfb", test_error_convert_keeps_sfb);
  g_test_add_func ("/error/convert/remote", test_error_convert_remote);
  return g_test_run ();
}
