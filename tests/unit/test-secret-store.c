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

/* ---- the async API, waited for ---- */

static void
on_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static gboolean
set_password (SfbSecretStore *store,
              const char *uri,
              const char *password,
              gboolean keep,
              SfbSecretsStore backend,
              GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sfb_secret_store_set_password_async (
      store, uri, password, keep, backend, NULL, on_result, &result);
  return sfb_secret_store_set_password_finish (store, wait_for (&result), error);
}

static const char *
lookup_password (SfbSecretStore *store, const char *uri, SfbSecretsStore backend, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sfb_secret_store_lookup_password_async (store, uri, backend, NULL, on_result, &result);
  return sfb_secret_store_lookup_password_finish (store, wait_for (&result), error);
}

static gboolean
forget (SfbSecretStore *store, SfbSecretsStore backend, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sfb_secret_store_forget_async (store, backend, NULL, on_result, &result);
  return sfb_secret_store_forget_finish (store, wait_for (&result), error);
}

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
  g_assert_true (set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_FILE, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (lookup_password (store, URI, SFB_SECRETS_STORE_FILE, NULL), ==, PASSWORD);

  g_assert_cmpint (g_stat (f->dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* another instance, as after a restart */
  g_assert_cmpstr (lookup_password (restarted, URI, SFB_SECRETS_STORE_FILE, &error), ==, PASSWORD);
  g_assert_no_error (error);
  g_assert_null (lookup_password (restarted, OTHER_URI, SFB_SECRETS_STORE_FILE, NULL));

  /* a directory someone opened up is closed again when a password is written */
  g_assert_cmpint (g_chmod (f->dir, 0755), ==, 0);
  g_assert_true (set_password (store, OTHER_URI, PASSWORD, TRUE, SFB_SECRETS_STORE_FILE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (f->dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
}

/* No Secret Service on the (absent) session bus: auto means the file. */
static void
test_secret_store_auto_is_file (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (SfbSecretStore) restarted = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;

  g_assert_true (set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_AUTO, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (lookup_password (restarted, URI, SFB_SECRETS_STORE_AUTO, &error), ==, PASSWORD);
  g_assert_no_error (error);

  /* forgetting with auto clears the file although no Secret Service answers */
  g_assert_true (forget (restarted, SFB_SECRETS_STORE_AUTO, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_null (lookup_password (restarted, URI, SFB_SECRETS_STORE_AUTO, &error));
  g_assert_no_error (error);
}

static void
test_secret_store_memory_only (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (SfbSecretStore) restarted = sfb_secret_store_new (f->dir);
  g_autofree char *contents = NULL;

  g_assert_true (set_password (store, URI, PASSWORD, FALSE, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (lookup_password (store, URI, SFB_SECRETS_STORE_FILE, NULL), ==, PASSWORD);
  g_assert_null (lookup_password (store, OTHER_URI, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_null (lookup_password (restarted, URI, SFB_SECRETS_STORE_FILE, NULL));

  /* a memory-only password replaces a stored one on disk too */
  g_assert_true (set_password (store, OTHER_URI, "other", TRUE, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_true (set_password (store, URI, "old", TRUE, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_true (set_password (store, URI, "new", FALSE, SFB_SECRETS_STORE_FILE, NULL));
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

  g_assert_true (set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_FILE, NULL));
  g_assert_true (forget (store, SFB_SECRETS_STORE_FILE, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_null (lookup_password (store, URI, SFB_SECRETS_STORE_FILE, NULL));

  /* nothing to forget is fine */
  g_assert_true (forget (store, SFB_SECRETS_STORE_FILE, NULL));
}

static void
test_secret_store_empty (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;

  g_assert_false (set_password (store, URI, "", TRUE, SFB_SECRETS_STORE_FILE, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
}

/* Store=secret-service without a Secret Service: an error saying what to
 * do, nothing written anywhere, and a memory-only password still works. */
static void
test_secret_store_secret_service_unreachable (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;

  g_assert_false (
      set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_SECRET_SERVICE, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "Secrets.Store file"));
  g_assert_null (strstr (error->message, PASSWORD));
  g_clear_error (&error);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));

  g_assert_null (lookup_password (store, URI, SFB_SECRETS_STORE_SECRET_SERVICE, &error));
#ifdef HAVE_LIBSECRET
  g_assert_error (error, SFB_ERROR, SFB_ERROR_NO_CREDENTIALS);
  g_assert_nonnull (strstr (error->message, "Secret Service"));
  g_clear_error (&error);
  g_assert_false (forget (store, SFB_SECRETS_STORE_SECRET_SERVICE, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_NO_CREDENTIALS);
  g_clear_error (&error);
#else
  g_assert_no_error (error);
#endif

  g_assert_true (
      set_password (store, URI, PASSWORD, FALSE, SFB_SECRETS_STORE_SECRET_SERVICE, NULL));
  g_assert_cmpstr (
      lookup_password (store, URI, SFB_SECRETS_STORE_SECRET_SERVICE, NULL), ==, PASSWORD);
}

/* Every password the store holds is scrubbed from logs, until forgotten. */
static void
test_secret_store_scrubbed (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (SfbSecretStore) restarted = sfb_secret_store_new (f->dir);
  g_autofree char *scrubbed = NULL;
  g_autofree char *from_file = NULL;

  g_assert_true (set_password (store, URI, "hunter2-x", TRUE, SFB_SECRETS_STORE_FILE, NULL));
  scrubbed = sfb_log_scrub ("pw=hunter2-x");
  g_assert_cmpstr (scrubbed, ==, "pw=" SFB_LOG_REDACTED);

  sfb_log_clear_secrets ();
  g_assert_nonnull (lookup_password (restarted, URI, SFB_SECRETS_STORE_FILE, NULL));
  from_file = sfb_log_scrub ("pw=hunter2-x");
  g_assert_cmpstr (from_file, ==, "pw=" SFB_LOG_REDACTED);

  g_assert_true (forget (restarted, SFB_SECRETS_STORE_FILE, NULL));
  g_clear_object (&store);
  g_assert_null (sfb_log_scrub ("pw=hunter2-x"));
}

/* A damaged password file is reported by file and line, never quoted, and
 * never rewritten from the part that could be read. */
static void
test_secret_store_damaged_file (Fixture *f, gconstpointer data)
{
  static const char damaged[] = "[" OTHER_URI "]\nPassword=s3cret-of-bob\nnot a pair s3cret\n";
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;
  g_autofree char *after = NULL;
  g_autofree char *where = g_strdup_printf ("%s is damaged at line 3", f->path);

  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (f->path, damaged, -1, NULL));
  g_assert_null (lookup_password (store, URI, SFB_SECRETS_STORE_FILE, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, where));
  g_assert_null (strstr (error->message, "s3cret"));
  g_clear_error (&error);

  g_assert_false (set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_FILE, &error));
  g_assert_nonnull (strstr (error->message, where));
  g_assert_null (strstr (error->message, "s3cret"));
  g_assert_true (g_file_get_contents (f->path, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, damaged);
}

/* A FIFO in place of the password file is no file: nothing blocks. */
static void
test_secret_store_fifo (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (f->dir);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0700), ==, 0);
  g_assert_cmpint (mkfifo (f->path, 0600), ==, 0);
  g_assert_null (lookup_password (store, URI, SFB_SECRETS_STORE_FILE, &error));
  g_assert_no_error (error);
  /* and storing replaces it with a file */
  g_assert_true (set_password (store, URI, PASSWORD, TRUE, SFB_SECRETS_STORE_FILE, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_REGULAR));
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  int status;

  sfb_test_isolate ();
  {
    /* no session bus, so no Secret Service: tests/integration covers a real one */
    g_autofree char *no_bus = g_build_filename (sfb_test_root, "no-bus", NULL);
    g_autofree char *address = g_strconcat ("unix:path=", no_bus, NULL);

    g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  }
  g_test_init (&argc, &argv, NULL);

  ADD ("/secret-store/file", test_secret_store_file);
  ADD ("/secret-store/auto-is-file", test_secret_store_auto_is_file);
  ADD ("/secret-store/memory-only", test_secret_store_memory_only);
  ADD ("/secret-store/forget", test_secret_store_forget);
  ADD ("/secret-store/empty", test_secret_store_empty);
  ADD ("/secret-store/secret-service-unreachable", test_secret_store_secret_service_unreachable);
  ADD ("/secret-store/scrubbed", test_secret_store_scrubbed);
  ADD ("/secret-store/damaged-file", test_secret_store_damaged_file);
  ADD ("/secret-store/fifo", test_secret_store_fifo);
  status = g_test_run ();
  sfb_test_cleanup ();
  return status;
}
