/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SfbKerberosContext without a KDC: the principal a login maps to, the
 * GSS service name of a targetname, and the errors a user sees when
 * Kerberos cannot start.  (Against a real KDC: tests/integration/
 * test_kerberos.py.) */
#include "sfb-error.h"
#include "sfb-kerberos-context.h"

#include <glib/gstdio.h>
#include <string.h>

static void
test_principal (void)
{
  static const struct
  {
    const char *login;
    const char *realm;
    const char *principal;
  } cases[] = {
    /* NetBIOS domain that is the realm's first label -> the realm */
    { "CONTOSO\\alice", "CONTOSO.TEST", "alice@CONTOSO.TEST" },
    { "contoso\\alice", "CONTOSO.TEST", "alice@CONTOSO.TEST" },
    /* otherwise DOMAIN upper-cased, as SIPE does (docs/protocol.md §17.11) */
    { "CONTOSO\\alice", NULL, "alice@CONTOSO" },
    { "fabrikam\\bob", "CONTOSO.TEST", "bob@FABRIKAM" },
    { "CONTOSOX\\alice", "CONTOSO.TEST", "alice@CONTOSOX" },
    /* UPN: the domain upper-cased is the realm */
    { "alice@contoso.test", "OTHER.TEST", "alice@CONTOSO.TEST" },
    { "Alice@Sub.Contoso.Test", NULL, "Alice@SUB.CONTOSO.TEST" },
    /* bare user: the default realm */
    { "alice", "CONTOSO.TEST", "alice@CONTOSO.TEST" },
    { "alice", NULL, "alice" },
    /* unusable */
    { "", "CONTOSO.TEST", NULL },
    { "CONTOSO\\", NULL, NULL },
    { "\\alice", NULL, NULL },
    { "a@b@c", NULL, NULL },
    { "@contoso.test", NULL, NULL },
    { "alice@", NULL, NULL },
    { "alice@.test", NULL, NULL },
    { "CONTOSO\\al ice", NULL, NULL },
    { "CON/TOSO\\alice", NULL, NULL },
    { "alice", "BAD REALM", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = sfb_kerberos_principal_from_login (cases[i].login, cases[i].realm);

      g_test_message ("%s (%s)", cases[i].login, cases[i].realm);
      g_assert_cmpstr (got, ==, cases[i].principal);
    }
  g_assert_null (sfb_kerberos_principal_from_login (NULL, NULL));
}

static void
test_service (void)
{
  static const struct
  {
    const char *targetname;
    const char *service;
  } cases[] = {
    { "sip/pool1.contoso.test", "sip@pool1.contoso.test" },
    { "sip/LYNC2013-SERVER.lync.loc", "sip@LYNC2013-SERVER.lync.loc" },
    { "pool1.contoso.test", NULL }, /* the NTLM form */
    { "sip/", NULL },
    { "/pool1", NULL },
    { "sip/a/b", NULL },
    { "sip/a b", NULL },
    { "sip/a@b", NULL },
    { "", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = sfb_kerberos_service_from_targetname (cases[i].targetname);

      g_assert_cmpstr (got, ==, cases[i].service);
    }
  g_assert_null (sfb_kerberos_service_from_targetname (NULL));
}

typedef struct
{
  GMainLoop *loop;
  GError *error;
  gboolean ok;
} Wait;

static void
on_prepared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;

  wait->ok = sfb_auth_context_prepare_finish (SFB_AUTH_CONTEXT (source), result, &wait->error);
  g_main_loop_quit (wait->loop);
}

static GError *
prepare (SfbAuthContext *context, const char *targetname)
{
  g_autoptr (SfbSipAuth) challenge = sfb_sip_auth_new ("Kerberos");
  Wait wait = { g_main_loop_new (NULL, FALSE), NULL, FALSE };

  if (targetname != NULL)
    sfb_sip_auth_add_param (challenge, "targetname", targetname, TRUE);
  sfb_auth_context_prepare_async (context, challenge, NULL, on_prepared, &wait);
  g_main_loop_run (wait.loop);
  g_main_loop_unref (wait.loop);
  g_assert_true (wait.ok == (wait.error == NULL));
  return wait.error;
}

/* Kerberos configured with a realm whose KDC is nowhere, and an empty
 * credential cache: @conf is written, @ccache names a file never made */
static void
use_nowhere_realm (const char *conf, const char *ccache)
{
  g_assert_true (g_file_set_contents (conf,
                                      "[libdefaults]\n default_realm = NOWHERE.TEST\n"
                                      " dns_lookup_kdc = false\n",
                                      -1,
                                      NULL));
  g_setenv ("KRB5_CONFIG", conf, TRUE);
  g_setenv ("KRB5CCNAME", ccache, TRUE);
}

static void
test_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sfb-krb-XXXXXX", NULL);
  g_autofree char *conf = g_build_filename (dir, "krb5.conf", NULL);
  g_autofree char *ccache = g_strdup_printf ("FILE:%s/no-such-ccache", dir);
  g_autoptr (SfbAuthContext) no_creds = NULL;
  g_autoptr (SfbAuthContext) bad_target = NULL;
  g_autoptr (SfbAuthContext) unprepared = NULL;
  g_autoptr (SfbAuthContext) no_kdc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) token = NULL;

  use_nowhere_realm (conf, ccache);
  g_assert_false (sfb_kerberos_have_ccache_credentials ());

  no_creds = sfb_kerberos_context_new ("CONTOSO\\alice", NULL);
  g_assert_cmpstr (sfb_auth_context_get_scheme (no_creds), ==, "Kerberos");
  error = prepare (no_creds, "sip/pool1.contoso.test");
  g_assert_error (error, SFB_ERROR, SFB_ERROR_NO_CREDENTIALS);
  g_clear_error (&error);

  bad_target = sfb_kerberos_context_new ("CONTOSO\\alice", "secret-pw");
  error = prepare (bad_target, "pool1.contoso.test");
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "targetname"));
  g_assert_null (strstr (error->message, "secret-pw"));
  g_clear_error (&error);

  /* no KDC for the realm: NotReachable, so Auth=auto may fall back */
  no_kdc = sfb_kerberos_context_new ("alice@nowhere.test", "secret-pw");
  error = prepare (no_kdc, "sip/pool1.nowhere.test");
  g_assert_nonnull (error);
  g_test_message ("no KDC: %s", error->message);
  g_assert_true (error->code == SFB_ERROR_NOT_REACHABLE || error->code == SFB_ERROR_FAILED);
  g_assert_null (strstr (error->message, "secret-pw"));
  g_clear_error (&error);

  unprepared = sfb_kerberos_context_new ("CONTOSO\\alice", "secret-pw");
  token = sfb_auth_context_step (unprepared, NULL, &error);
  g_assert_null (token);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_false (sfb_auth_context_is_established (unprepared));
  g_assert_cmpint (sfb_auth_context_get_expires_at (unprepared), ==, 0);
  g_clear_error (&error);

  g_unlink (conf);
  g_rmdir (dir);
}

/* The Kerberos workers of several contexts look for ccache credentials at
 * once: the mechanism sets they hand GSSAPI are shared, so they must be
 * data nobody writes.  Without ThreadSanitizer this only shows that
 * concurrent callers agree; a TSan build of this test reports a data race
 * when a set is filled in at run time. */
#define CCACHE_THREADS 4
#define CCACHE_ROUNDS 20

static gpointer
look_for_ccache (gpointer user_data)
{
  guint found = 0;

  for (guint i = 0; i < CCACHE_ROUNDS; i++)
    found += sfb_kerberos_have_ccache_credentials ();
  return GUINT_TO_POINTER (found);
}

static void
test_threads (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sfb-krb-XXXXXX", NULL);
  g_autofree char *conf = g_build_filename (dir, "krb5.conf", NULL);
  g_autofree char *ccache = g_strdup_printf ("FILE:%s/no-such-ccache", dir);
  GThread *threads[CCACHE_THREADS];

  use_nowhere_realm (conf, ccache);
  for (guint i = 0; i < CCACHE_THREADS; i++)
    threads[i] = g_thread_new ("ccache", look_for_ccache, NULL);
  for (guint i = 0; i < CCACHE_THREADS; i++)
    g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (threads[i])), ==, 0);

  g_unlink (conf);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kerberos/principal", test_principal);
  g_test_add_func ("/kerberos/service", test_service);
  g_test_add_func ("/kerberos/errors", test_errors);
  g_test_add_func ("/kerberos/threads", test_threads);
  return g_test_run ();
}
