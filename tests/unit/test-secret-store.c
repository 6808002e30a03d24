/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SfbSecretStore: memory, the 0600 file backend, forgetting, scrubbing. */
#include "config.h"

#include "sfb-error.h"
#include "sfb-log.h"
#include "sfb-secret-store.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include "sfb-test.h"
#include <sfbd/sfb-names.h>

#define URI "sip:alice@contoso.test"
#define OTHER_URI "sip:bob@contoso.test"
#define PASSWORD "Corr3ct horse\\battery\n"

typedef struct
{
  char *root; /* this test's directory */
  char *dir;  /* not created: the store must do it */
  char *path;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->root = sfb_test_make_dir ();
  f->dir = g_build_filename (f->root, "state", "sfbd", NULL);
  f->path = g_build_filename (f->dir, SFB_SECRET_STORE_FILE_NAME, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  sfb_log_clear_secrets ();
  sfb_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->dir);
  g_free (f->path);
}

static void
test_secret_store_file (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (SfbSecretStore) restarted = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;
  GStatBuf st;

  g_assert_cmpstr (sfb_secret_store_get_path (store), ==, f->path);
  g_assert_true (
      sfb_secret_store_set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_FILE, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (
      sfb_secret_store_lookup_password (store, URI, SFB_SECRETS_STORE_FILE, NULL), ==, PASSWORD);

  g_assert_cmpint (g_stat (f->dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* another instance, as after a restart */
  g_assert_cmpstr (
      sfb_secret_store_lookup_password (restarted, URI, SFB_SECRETS_STORE_FILE, &error),
      ==,
      PASSWORD);
  g_assert_no_error (error);
  g_assert_null (
      sfb_secret_store_lookup_password (restarted, OTHER_URI, SFB_SECRETS_STORE_FILE, NULL));
}

/* Until the libsecret backend exists, auto means the file. */
static void
test_secret_store_auto_is_file (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (SfbSecretStore) restarted = sfb_secret_store_new (f->dir);

  g_assert_true (
      sfb_secret_store_set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_AUTO, NULL));
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (sfb_secret_store_lookup_password (restarted, URI, SFB_SECRETS_STORE_AUTO, NULL),
                   ==,
                   PASSWORD);
}

static void
test_secret_store_memory_only (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (SfbSecretStore) restarted = sfb_secret_store_new (f->dir);
  g_autofree char *contents = NULL;

  g_assert_true (
      sfb_secret_store_set_password (store, URI, PASSWORD, FALSE, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (
      sfb_secret_store_lookup_password (store, URI, SFB_SECRETS_STORE_FILE, NULL), ==, PASSWORD);
  g_assert_null (sfb_secret_store_lookup_password (store, OTHER_URI, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_null (sfb_secret_store_lookup_password (restarted, URI, SFB_SECRETS_STORE_FILE, NULL));

  /* a memory-only password replaces a stored one on disk too */
  g_assert_true (sfb_secret_store_set_password (
      store, OTHER_URI, "other", TRUE, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_true (
      sfb_secret_store_set_password (store, URI, "old", TRUE, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_true (
      sfb_secret_store_set_password (store, URI, "new", FALSE, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_true (g_file_get_contents (f->path, &contents, NULL, NULL));
  g_assert_null (strstr (contents, "old"));
  g_assert_null (strstr (contents, "new"));
  g_assert_nonnull (strstr (contents, OTHER_URI));
}

static void
test_secret_store_forget (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;

  g_assert_true (
      sfb_secret_store_set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_true (sfb_secret_store_forget (store, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_null (sfb_secret_store_lookup_password (store, URI, SFB_SECRETS_STORE_FILE, NULL));

  /* nothing to forget is fine */
  g_assert_true (sfb_secret_store_forget (store, NULL));
}

static void
test_secret_store_empty (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;

  g_assert_false (
      sfb_secret_store_set_password (store, URI, "", TRUE, SFB_SECRETS_STORE_FILE, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
}

/* Store=secret-service: honest failure, nothing written, memory still works. */
static void
test_secret_store_secret_service (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;

  g_assert_false (sfb_secret_store_set_password (
      store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_SECRET_SERVICE, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_null (strstr (error->message, PASSWORD));
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_null (
      sfb_secret_store_lookup_password (store, URI, SFB_SECRETS_STORE_SECRET_SERVICE, NULL));

  g_assert_true (sfb_secret_store_set_password (
      store, URI, PASSWORD, FALSE, SFB_SECRETS_STORE_SECRET_SERVICE, NULL));
  g_assert_cmpstr (
      sfb_secret_store_lookup_password (store, URI, SFB_SECRETS_STORE_SECRET_SERVICE, NULL),
      ==,
      PASSWORD);
}

/* Every password the store holds is scrubbed from logs, until forgotten. */
static void
test_secret_store_scrubbed (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (SfbSecretStore) restarted = sfb_secret_store_new (f->dir);
  g_autofree char *scrubbed = NULL;
  g_autofree char *from_file = NULL;

  g_assert_true (
      sfb_secret_store_set_password (store, URI, "hunter2-x", TRUE, SFB_SECRETS_STORE_FILE, NULL));
  scrubbed = sfb_log_scrub ("pw=hunter2-x");
  g_assert_cmpstr (scrubbed, ==, "pw=" SFB_LOG_REDACTED);

  sfb_log_clear_secrets ();
  g_assert_nonnull (
      sfb_secret_store_lookup_password (restarted, URI, SFB_SECRETS_STORE_FILE, NULL));
  from_file = sfb_log_scrub ("pw=hunter2-x");
  g_assert_cmpstr (from_file, ==, "pw=" SFB_LOG_REDACTED);

  g_assert_true (sfb_secret_store_forget (restarted, NULL));
  g_clear_object (&store);
  g_assert_null (sfb_log_scrub ("pw=hunter2-x"));
}

/* A damaged password file is reported on lookup and replaced on store. */
static void
test_secret_store_damaged_file (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (f->path, "garbage without a group\n", -1, NULL));
  g_assert_null (sfb_secret_store_lookup_password (store, URI, SFB_SECRETS_STORE_FILE, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, f->path));

  g_assert_true (
      sfb_secret_store_set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_FILE, NULL));
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  int status;

  sfb_test_isolate ();
  g_test_init (&argc, &argv, NULL);

  ADD ("/secret-store/file", test_secret_store_file);
  ADD ("/secret-store/auto-is-file", test_secret_store_auto_is_file);
  ADD ("/secret-store/memory-only", test_secret_store_memory_only);
  ADD ("/secret-store/forget", test_secret_store_forget);
  ADD ("/secret-store/empty", test_secret_store_empty);
  ADD ("/secret-store/secret-service", test_secret_store_secret_service);
  ADD ("/secret-store/scrubbed", test_secret_store_scrubbed);
  ADD ("/secret-store/damaged-file", test_secret_store_damaged_file);
  status = g_test_run ();
  sfb_test_cleanup ();
  return status;
}
