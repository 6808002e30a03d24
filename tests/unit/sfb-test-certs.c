/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-test-certs.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <time.h>

void
sfb_test_key_pair_clear (SfbTestKeyPair *pair)
{
  g_clear_pointer (&pair->cert_der, g_bytes_unref);
  g_clear_pointer (&pair->cert_pem, g_bytes_unref);
  g_clear_pointer (&pair->key_pem, g_bytes_unref);
}

static GBytes *
export_crt (gnutls_x509_crt_t crt, gnutls_x509_crt_fmt_t fmt)
{
  gnutls_datum_t out = { 0 };
  GBytes *bytes;

  g_assert_cmpint (gnutls_x509_crt_export2 (crt, fmt, &out), ==, 0);
  bytes = g_bytes_new (out.data, out.size);
  gnutls_free (out.data);
  return bytes;
}

void
sfb_test_key_pair_make (SfbTestKeyPair *pair, const char *cn, gint64 lifetime_s, guint bits)
{
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  gnutls_datum_t out = { 0 };
  g_autofree char *dn = g_strdup_printf ("CN=%s", cn);
  time_t now = time (NULL);
  guint8 serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

  g_assert_cmpint (gnutls_x509_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (key, GNUTLS_PK_RSA, bits, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  gnutls_x509_crt_set_version (crt, 3);
  serial[7] = (guint8) g_random_int ();
  gnutls_x509_crt_set_serial (crt, serial, sizeof serial);
  gnutls_x509_crt_set_activation_time (crt, now - 60);
  gnutls_x509_crt_set_expiration_time (crt, (time_t) (now + lifetime_s));
  g_assert_cmpint (gnutls_x509_crt_set_dn (crt, dn, NULL), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (crt, key), ==, 0);
  gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT);
  g_assert_cmpint (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), ==, 0);
  pair->cert_der = export_crt (crt, GNUTLS_X509_FMT_DER);
  pair->cert_pem = export_crt (crt, GNUTLS_X509_FMT_PEM);
  g_assert_cmpint (gnutls_x509_privkey_export2 (key, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  pair->key_pem = g_bytes_new (out.data, out.size);
  gnutls_free (out.data);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_privkey_deinit (key);
}
