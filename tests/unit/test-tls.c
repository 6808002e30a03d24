/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-error.h"
#include "sfb-tls.h"

#include <string.h>

#include <glib/gstdio.h>

static char *
data_path (const char *name)
{
  return g_build_filename (g_getenv ("SFB_TEST_DATA"), "tls", name, NULL);
}

/* @host NULL: no identity to check */
static GTlsCertificateFlags
verify_certificate (GTlsDatabase *db, GTlsCertificate *cert, const char *host)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnectable) identity
      = host != NULL ? g_network_address_new (host, 5061) : NULL;
  GTlsCertificateFlags flags;

  flags = g_tls_database_verify_chain (db,
                                       cert,
                                       G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                       identity,
                                       NULL,
                                       G_TLS_DATABASE_VERIFY_NONE,
                                       NULL,
                                       &error);
  g_assert_no_error (error);
  return flags;
}

static GTlsCertificateFlags
verify (GTlsDatabase *db, const char *cert_name, const char *host)
{
  g_autofree char *path = data_path (cert_name);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = g_tls_certificate_new_from_file (path, &error);

  g_assert_no_error (error);
  return verify_certificate (db, cert, host);
}

static void
test_ca_file_trust (void)
{
  g_autofree char *ca = data_path ("ca.pem");
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) with_ca = sfb_tls_database_new (ca, &error);
  g_autoptr (GTlsDatabase) system_only = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (with_ca);

  /* Trusted through the CAFile, for the right name. */
  g_assert_cmpuint (verify (with_ca, "server.pem", "server.sfbd.test"), ==, 0);
  /* The identity check is never relaxed. */
  g_assert_cmpuint (
      verify (with_ca, "server.pem", "other.sfbd.test"), ==, G_TLS_CERTIFICATE_BAD_IDENTITY);
  /* Expired: reported as expired, not as untrusted. */
  g_assert_cmpuint (verify (with_ca, "expired.pem", "server.sfbd.test") & G_TLS_CERTIFICATE_EXPIRED,
                    ==,
                    G_TLS_CERTIFICATE_EXPIRED);
  g_assert_cmpuint (
      verify (with_ca, "expired.pem", "server.sfbd.test") & G_TLS_CERTIFICATE_UNKNOWN_CA, ==, 0);
  /* Neither the system store nor the CAFile knows a self-signed one. */
  g_assert_cmpuint (verify (with_ca, "selfsigned.pem", "server.sfbd.test")
                        & G_TLS_CERTIFICATE_UNKNOWN_CA,
                    ==,
                    G_TLS_CERTIFICATE_UNKNOWN_CA);

  /* Without the CAFile the test CA is unknown. */
  system_only = sfb_tls_database_new (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (verify (system_only, "server.pem", "server.sfbd.test")
                        & G_TLS_CERTIFICATE_UNKNOWN_CA,
                    ==,
                    G_TLS_CERTIFICATE_UNKNOWN_CA);
}

static void
test_bad_ca_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) db = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sfbd-tls-XXXXXX", NULL);
  g_autofree char *junk = g_build_filename (dir, "junk.pem", NULL);

  db = sfb_tls_database_new ("/nonexistent/ca.pem", &error);
  g_assert_null (db);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED);
  g_assert_nonnull (strstr (error->message, "/nonexistent/ca.pem"));
  g_assert_nonnull (strstr (error->message, "TLS.CAFile"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (junk, "this is not a certificate\n", -1, NULL));
  db = sfb_tls_database_new (junk, &error);
  g_assert_null (db);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED);
  g_clear_error (&error);

  /* An empty CAFile setting means the system store only. */
  db = sfb_tls_database_new ("", &error);
  g_assert_no_error (error);
  g_assert_nonnull (db);

  g_unlink (junk);
  g_rmdir (dir);
}

static void
test_error_messages (void)
{
  g_autoptr (GError) untrusted
      = sfb_tls_error_new (G_TLS_CERTIFICATE_UNKNOWN_CA, "pool1.contoso.test");
  g_autoptr (GError) name = sfb_tls_error_new (G_TLS_CERTIFICATE_BAD_IDENTITY, "sip.contoso.test");
  g_autoptr (GError) expired = sfb_tls_error_new (
      G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_UNKNOWN_CA, "pool1.contoso.test");
  g_autoptr (GError) nothing = sfb_tls_error_new (0, NULL);

  g_assert_error (untrusted, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
  g_assert_cmpstr (untrusted->message,
                   ==,
                   "The certificate of pool1.contoso.test was rejected (untrusted issuer). If the "
                   "server uses a private certificate authority, add it with: sfbctl config set "
                   "TLS.CAFile /path/to/ca.pem");
  g_assert_error (name, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
  g_assert_nonnull (strstr (name->message, "(does not match the name sip.contoso.test)"));
  g_assert_nonnull (strstr (expired->message, "pool1.contoso.test"));
  g_assert_nonnull (strstr (expired->message, "untrusted issuer, expired"));
  g_assert_error (nothing, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID);
  g_assert_nonnull (strstr (nothing->message, "could not be verified"));
}

/* The process default database sfbd installs trusts what the system store
 * trusts, and a database with a CAFile still reaches the real system store
 * through it (not itself: that would recurse without end). */
static void
test_default_database (void)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  g_autofree char *ca = data_path ("ca.pem");
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) with_ca = NULL;
  g_autoptr (GTlsDatabase) fallback = NULL;

  if (!g_tls_backend_supports_tls (backend))
    {
      g_test_skip ("no TLS backend");
      return;
    }
  sfb_tls_install_default_database ();
  fallback = g_tls_backend_get_default_database (backend);
  g_assert_true (SFB_IS_TLS_DATABASE (fallback));
  g_assert_cmpuint (verify (fallback, "server.pem", "server.sfbd.test")
                        & G_TLS_CERTIFICATE_UNKNOWN_CA,
                    ==,
                    G_TLS_CERTIFICATE_UNKNOWN_CA);

  with_ca = sfb_tls_database_new (ca, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (verify (with_ca, "server.pem", "server.sfbd.test"), ==, 0);
  g_assert_cmpuint (verify (with_ca, "selfsigned.pem", "server.sfbd.test")
                        & G_TLS_CERTIFICATE_UNKNOWN_CA,
                    ==,
                    G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_tls_backend_set_default_database (backend, NULL);
}

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* After sfb_tls_release_system_trust() the next verification that needs
 * the system store loads it again: a CA of the store is still trusted, the
 * test CA (in no store) still is not, and releasing twice does no harm. */
static void
test_release_system_trust (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) system_only = sfb_tls_database_new (NULL, &error);
  GList *roots;
  g_autoptr (GTlsCertificate) root = NULL;

  if (!g_file_test (SYSTEM_BUNDLE, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no system bundle " SYSTEM_BUNDLE);
      return;
    }
  roots = g_tls_certificate_list_new_from_file (SYSTEM_BUNDLE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (roots);
  root = g_object_ref (roots->data);
  g_list_free_full (roots, g_object_unref);

  g_assert_cmpuint (verify_certificate (system_only, root, NULL), ==, 0);
  sfb_tls_release_system_trust ();
  sfb_tls_release_system_trust ();
  g_assert_cmpuint (verify_certificate (system_only, root, NULL), ==, 0);
  sfb_tls_release_system_trust ();
  g_assert_cmpuint (verify (system_only, "server.pem", "server.sfbd.test")
                        & G_TLS_CERTIFICATE_UNKNOWN_CA,
                    ==,
                    G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_assert_cmpuint (verify_certificate (system_only, root, NULL), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/net/tls/ca-file-trust", test_ca_file_trust);
  g_test_add_func ("/net/tls/bad-ca-file", test_bad_ca_file);
  g_test_add_func ("/net/tls/error-messages", test_error_messages);
  g_test_add_func ("/net/tls/default-database", test_default_database);
  g_test_add_func ("/net/tls/release-system-trust", test_release_system_trust);

  return g_test_run ();
}
