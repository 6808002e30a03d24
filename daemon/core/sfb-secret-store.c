/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-secret-store.h"

#include "sfb-error.h"
#include "sfb-log.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#define PASSWORD_KEY "Password"

struct _SfbSecretStore
{
  GObject parent_instance;

  char *path;
  char *uri;      /* whose password is in memory */
  char *password; /* never logged: registered with the log scrubber */
};

G_DEFINE_FINAL_TYPE (SfbSecretStore, sfb_secret_store, G_TYPE_OBJECT)

static void
clear_memory (SfbSecretStore *self)
{
  if (self->password != NULL)
    {
      sfb_log_remove_secret (self->password);
      explicit_bzero (self->password, strlen (self->password));
    }
  g_clear_pointer (&self->password, g_free);
  g_clear_pointer (&self->uri, g_free);
}

static void
set_memory (SfbSecretStore *self, const char *uri, const char *password)
{
  clear_memory (self);
  self->uri = g_strdup (uri);
  self->password = g_strdup (password);
  sfb_log_add_secret (password);
}

/* The password file, empty when it does not exist yet. */
static GKeyFile *
read_file (SfbSecretStore *self, GError **error)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;

  if (!g_key_file_load_from_file (key_file, self->path, G_KEY_FILE_NONE, &local_error)
      && !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_prefixed_error (
          error, g_steal_pointer (&local_error), "Cannot read the password file %s: ", self->path);
      sfb_error_convert (error);
      return NULL;
    }
  return g_steal_pointer (&key_file);
}

static gboolean
write_file (SfbSecretStore *self, GKeyFile *key_file, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (self->path);
  g_autofree char *data = NULL;
  gsize length;
  gboolean ok;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "Cannot create the directory %s: %s",
                   dir,
                   g_strerror (saved_errno));
      return FALSE;
    }
  data = g_key_file_to_data (key_file, &length, NULL);
  ok = g_file_set_contents_full (
      self->path, data, (gssize) length, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
  explicit_bzero (data, length);
  if (!ok)
    {
      sfb_error_convert (error);
      g_prefix_error (error, "Cannot save the password: ");
    }
  return ok;
}

static gboolean
store_in_file (SfbSecretStore *self, const char *uri, const char *password, GError **error)
{
  g_autoptr (GKeyFile) key_file = read_file (self, NULL);

  /* our own file: when it is unreadable, start a new one */
  if (key_file == NULL)
    key_file = g_key_file_new ();
  g_key_file_set_string (key_file, uri, PASSWORD_KEY, password);
  return write_file (self, key_file, error);
}

static gboolean
remove_from_file (SfbSecretStore *self, const char *uri, GError **error)
{
  g_autoptr (GKeyFile) key_file = read_file (self, NULL);

  if (key_file == NULL || !g_key_file_has_group (key_file, uri))
    return TRUE;
  g_key_file_remove_group (key_file, uri, NULL);
  return write_file (self, key_file, error);
}

static gboolean
check_backend (SfbSecretsStore backend, GError **error)
{
  if (backend != SFB_SECRETS_STORE_SECRET_SERVICE)
    return TRUE;
  g_set_error_literal (error,
                       SFB_ERROR,
                       SFB_ERROR_FAILED,
                       "This build of sfbd cannot use the Secret Service yet. Keep the password "
                       "in memory only, or store it in a file with: "
                       "sfbctl config set Secrets.Store file");
  return FALSE;
}

/*
 * Keeps @password for @uri in memory and, when @store, in the backend;
 * otherwise any stored copy is removed so that the memory-only password
 * is the only one.
 */
gboolean
sfb_secret_store_set_password (SfbSecretStore *self,
                               const char *uri,
                               const char *password,
                               gboolean store,
                               SfbSecretsStore backend,
                               GError **error)
{
  g_return_val_if_fail (SFB_IS_SECRET_STORE (self), FALSE);
  g_return_val_if_fail (uri != NULL, FALSE);
  g_return_val_if_fail (password != NULL, FALSE);

  if (*password == '\0')
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "The password is empty");
      return FALSE;
    }
  if (store && !check_backend (backend, error))
    return FALSE;

  set_memory (self, uri, password);
  /* auto means the Secret Service when available: not in this build */
  if (store)
    return store_in_file (self, uri, password, error);
  return remove_from_file (self, uri, error);
}

/*
 * The password for @uri, from memory or else from the backend; NULL when
 * none is known (@error is set only when the store cannot be read).  The
 * string belongs to the store and lives until the next change.
 */
const char *
sfb_secret_store_lookup_password (SfbSecretStore *self,
                                  const char *uri,
                                  SfbSecretsStore backend,
                                  GError **error)
{
  g_autoptr (GKeyFile) key_file = NULL;
  g_autofree char *password = NULL;

  g_return_val_if_fail (SFB_IS_SECRET_STORE (self), NULL);
  g_return_val_if_fail (uri != NULL, NULL);

  if (self->password != NULL && g_strcmp0 (self->uri, uri) == 0)
    return self->password;
  if (backend == SFB_SECRETS_STORE_SECRET_SERVICE)
    return NULL;

  key_file = read_file (self, error);
  if (key_file == NULL)
    return NULL;
  password = g_key_file_get_string (key_file, uri, PASSWORD_KEY, NULL);
  if (password == NULL || *password == '\0')
    return NULL;
  set_memory (self, uri, password);
  explicit_bzero (password, strlen (password));
  return self->password;
}

/* ForgetCredentials(): every password, from memory and from disk. */
gboolean
sfb_secret_store_forget (SfbSecretStore *self, GError **error)
{
  g_return_val_if_fail (SFB_IS_SECRET_STORE (self), FALSE);

  clear_memory (self);
  if (g_unlink (self->path) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "Cannot remove the password file %s: %s",
                   self->path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

const char *
sfb_secret_store_get_path (SfbSecretStore *self)
{
  g_return_val_if_fail (SFB_IS_SECRET_STORE (self), NULL);
  return self->path;
}

static void
sfb_secret_store_finalize (GObject *object)
{
  SfbSecretStore *self = SFB_SECRET_STORE (object);

  clear_memory (self);
  g_free (self->path);
  G_OBJECT_CLASS (sfb_secret_store_parent_class)->finalize (object);
}

static void
sfb_secret_store_class_init (SfbSecretStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sfb_secret_store_finalize;
}

static void
sfb_secret_store_init (SfbSecretStore *self)
{
}

/* @state_dir: NULL for sfb_dup_state_dir() */
SfbSecretStore *
sfb_secret_store_new (const char *state_dir)
{
  SfbSecretStore *self = g_object_new (SFB_TYPE_SECRET_STORE, NULL);
  g_autofree char *dir = state_dir != NULL ? g_strdup (state_dir) : sfb_dup_state_dir ();

  self->path = g_build_filename (dir, SFB_SECRET_STORE_FILE_NAME, NULL);
  return self;
}
