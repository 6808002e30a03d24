/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-secret-store.h"

#include "sfb-error.h"
#include "sfb-file.h"
#include "sfb-log.h"
#include "sfb-text.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#ifdef HAVE_LIBSECRET
#include <libsecret/secret.h>

#include "sfb-secret-lib.h"
#endif

#define PASSWORD_KEY "Password"

/* how to keep the password in a keyring after Auto fell back to the file */
#define START_KEYRING_ADVICE                                                                       \
  "install and start a Secret Service such as gnome-keyring (for example: apt install "            \
  "gnome-keyring, then log in again), and set the password again"
#define INSTALL_LIBSECRET_ADVICE                                                                   \
  "install libsecret (for example: apt install libsecret-1-0), restart sfbd, and set the "         \
  "password again"

struct _SfbSecretStore
{
  GObject parent_instance;

  char *path;
  char *uri;      /* whose password is in memory */
  char *password; /* never logged: registered with the log scrubber */
  SfbCredentialLocation location;
  char *location_message;
};

G_DEFINE_FINAL_TYPE (SfbSecretStore, sfb_secret_store, G_TYPE_OBJECT)

typedef enum
{
  OP_LOOKUP,
  OP_STORE,
  OP_UNSTORE, /* a memory-only password: remove stored copies of one URI */
  OP_FORGET,
} Operation;

/* The task data of every operation. */
typedef struct
{
  Operation op;
  char *uri;      /* NULL for OP_FORGET: every URI */
  char *password; /* OP_STORE and OP_UNSTORE, wiped when freed */
  SfbSecretsStore backend;
  char *fallback_reason;       /* auto fell back to the file: why (not a secret) */
  const char *fallback_advice; /* and how to get a keyring; NULL: START_KEYRING_ADVICE */
#ifdef HAVE_LIBSECRET
  SecretService *service;
  guint pending; /* item deletions in flight */
  guint locked;  /* items left alone because their keyring is locked */
  GError *delete_error;
#endif
} Request;

static void
request_free (gpointer data)
{
  Request *request = data;

  if (request->password != NULL)
    explicit_bzero (request->password, strlen (request->password));
  g_free (request->password);
  g_free (request->uri);
  g_free (request->fallback_reason);
#ifdef HAVE_LIBSECRET
  g_clear_object (&request->service);
  g_clear_error (&request->delete_error);
#endif
  g_free (request);
}

static GTask *
request_task_new (SfbSecretStore *self,
                  Operation op,
                  const char *uri,
                  const char *password,
                  SfbSecretsStore backend,
                  GCancellable *cancellable,
                  GAsyncReadyCallback callback,
                  gpointer user_data,
                  gpointer source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Request *request = g_new0 (Request, 1);

  g_task_set_source_tag (task, source_tag);
  request->op = op;
  request->uri = g_strdup (uri);
  request->password = g_strdup (password);
  request->backend = backend;
  g_task_set_task_data (task, request, request_free);
  return task;
}

/* ---- memory --------------------------------------------------------- */

static void
set_location (SfbSecretStore *self,
              SfbCredentialLocation location,
              const char *reason,
              const char *advice)
{
  g_autofree char *shown = reason != NULL ? sfb_text_quote_untrusted (reason, -1, 160) : NULL;

  self->location = location;
  g_free (self->location_message);
  switch (location)
    {
    case SFB_CREDENTIAL_MEMORY:
      self->location_message = g_strdup ("The password is kept in memory only, until sfbd stops");
      break;
    case SFB_CREDENTIAL_SECRET_SERVICE:
      self->location_message = g_strdup ("The password is kept in the Secret Service (keyring)");
      break;
    case SFB_CREDENTIAL_FILE:
      if (shown == NULL)
        self->location_message = g_strdup_printf (
            "The password is kept in the file %s (mode 0600), as Secrets.Store=file asks",
            self->path);
      else
        self->location_message = g_strdup_printf (
            "The password is kept in the plain file %s (mode 0600), not in a keyring: %s. "
            "To keep it in a keyring, %s",
            self->path,
            shown,
            advice != NULL ? advice : START_KEYRING_ADVICE);
      break;
    case SFB_CREDENTIAL_NONE:
    default:
      self->location_message = g_strdup ("");
      break;
    }
}

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
  set_location (self, SFB_CREDENTIAL_NONE, NULL, NULL);
}

static void
set_memory (SfbSecretStore *self, const char *uri, const char *password)
{
  clear_memory (self);
  self->uri = g_strdup (uri);
  self->password = g_strdup (password);
  sfb_log_add_secret (password);
}

static const char *
get_memory (SfbSecretStore *self, const char *uri)
{
  if (self->password != NULL && g_strcmp0 (self->uri, uri) == 0)
    return self->password;
  return NULL;
}

/* ---- the 0600 file -------------------------------------------------- */

/* Limit on the password file: a few passwords */
#define MAX_FILE_SIZE (64 * 1024)

/* The password file, empty when it does not exist yet, or is not a regular
 * file (a FIFO there must not block sfbd: treated as absent, and logged).
 * Errors name the file and line, never its content: GKeyFile's own message
 * quotes the line, which may be a password. */
static GKeyFile *
read_file (SfbSecretStore *self, GError **error)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  guint line;
  gboolean ok;

  if (!sfb_file_read_regular (self->path, MAX_FILE_SIZE, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&key_file);
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_INVAL))
        {
          g_message ("Ignoring the password file: %s", local_error->message);
          return g_steal_pointer (&key_file);
        }
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "Cannot read the password file: %s",
                   local_error->message);
      return NULL;
    }
  ok = memchr (contents, '\0', length) == NULL
       && g_key_file_load_from_data (key_file, contents, length, G_KEY_FILE_NONE, NULL);
  line = ok ? 0 : sfb_key_file_find_bad_line (contents);
  explicit_bzero (contents, length);
  if (ok)
    return g_steal_pointer (&key_file);
  if (line > 0)
    g_set_error (error,
                 SFB_ERROR,
                 SFB_ERROR_FAILED,
                 "The password file %s is damaged at line %u (its content is not shown). "
                 "Correct or delete the file, then set the password again",
                 self->path,
                 line);
  else
    g_set_error (error,
                 SFB_ERROR,
                 SFB_ERROR_FAILED,
                 "The password file %s is damaged (its content is not shown). Correct or "
                 "delete the file, then set the password again",
                 self->path);
  return NULL;
}

static gboolean
write_file (SfbSecretStore *self, GKeyFile *key_file, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (self->path);
  g_autofree char *data = NULL;
  gsize length;
  gboolean ok;

  /* 0700 even when the directory was there before */
  if (g_mkdir_with_parents (dir, 0700) != 0 || g_chmod (dir, 0700) != 0)
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
  g_autoptr (GKeyFile) key_file = read_file (self, error);

  /* never rewritten from a part: the other accounts' passwords would go */
  if (key_file == NULL)
    return FALSE;
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

/* Into memory when the file has a password for @uri; FALSE on a read error. */
static gboolean
load_from_file (
    SfbSecretStore *self, const char *uri, const char *reason, const char *advice, GError **error)
{
  g_autoptr (GKeyFile) key_file = read_file (self, error);
  g_autofree char *password = NULL;

  if (key_file == NULL)
    return FALSE;
  password = g_key_file_get_string (key_file, uri, PASSWORD_KEY, NULL);
  if (password != NULL && *password != '\0')
    {
      set_memory (self, uri, password);
      set_location (self, SFB_CREDENTIAL_FILE, reason, advice);
    }
  if (password != NULL)
    explicit_bzero (password, strlen (password));
  return TRUE;
}

static gboolean
remove_file (SfbSecretStore *self, GError **error)
{
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

/* ---- completing with the file --------------------------------------- */

static void
return_lookup_from_file (GTask *task)
{
  SfbSecretStore *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  GError *error = NULL;

  if (!load_from_file (
          self, request->uri, request->fallback_reason, request->fallback_advice, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, get_memory (self, request->uri) != NULL);
}

static void
return_store_in_file (GTask *task)
{
  SfbSecretStore *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  GError *error = NULL;

  if (!store_in_file (self, request->uri, request->password, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  set_memory (self, request->uri, request->password);
  set_location (self, SFB_CREDENTIAL_FILE, request->fallback_reason, request->fallback_advice);
  if (request->fallback_reason != NULL)
    g_message ("Password for %s: %s", request->uri, self->location_message);
  else
    g_info ("Password for %s kept in the file %s", request->uri, self->path);
  g_task_return_boolean (task, TRUE);
}

static void
return_no_secret_service (GTask *task)
{
  g_task_return_new_error (task,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "This build of sfbd cannot use the Secret Service. Keep the password "
                           "in memory only, or store it in a file with: "
                           "sfbctl config set Secrets.Store file");
}

/* ---- the Secret Service --------------------------------------------- */

#ifdef HAVE_LIBSECRET

static const SecretSchema *
password_schema (void)
{
  static const SecretSchema schema = {
    SFB_SECRET_SCHEMA_NAME,
    SECRET_SCHEMA_NONE,
    {
        { SFB_SECRET_ATTRIBUTE_URI, SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    },
  };

  return &schema;
}

/* The items of one URI, or of every URI when @uri is NULL. */
static GHashTable *
attributes_for (const char *uri)
{
  GHashTable *attributes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (uri != NULL)
    g_hash_table_insert (attributes, g_strdup (SFB_SECRET_ATTRIBUTE_URI), g_strdup (uri));
  return attributes;
}

static GError *
unreachable_error (const GError *cause)
{
  return g_error_new (SFB_ERROR,
                      SFB_ERROR_NO_CREDENTIALS,
                      "Cannot reach the Secret Service (%s). Start a keyring such as "
                      "gnome-keyring, or keep the password in a file with: "
                      "sfbctl config set Secrets.Store file",
                      cause->message);
}

static gboolean
use_secret_service (SfbSecretsStore backend)
{
  return backend != SFB_SECRETS_STORE_FILE;
}

static void return_after_deleting (GTask *task);

static void
on_item_deleted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!secret_item_delete_finish (SECRET_ITEM (source), result, &error)
      && request->delete_error == NULL)
    request->delete_error = g_steal_pointer (&error);
  if (--request->pending == 0)
    return_after_deleting (task);
}

/* Deletes the unlocked items; counts the locked ones, never unlocks. */
static void
delete_items (GTask *task, GList *items)
{
  Request *request = g_task_get_task_data (task);

  request->pending = 1; /* until every deletion has started */
  for (GList *l = items; l != NULL; l = l->next)
    {
      SecretItem *item = l->data;

      if (secret_item_get_locked (item))
        {
          request->locked++;
          continue;
        }
      request->pending++;
      secret_item_delete (
          item, g_task_get_cancellable (task), on_item_deleted, g_object_ref (task));
    }
  if (--request->pending == 0)
    return_after_deleting (task);
}

static void
return_after_deleting (GTask *task)
{
  Request *request = g_task_get_task_data (task);

  if (request->op == OP_UNSTORE)
    {
      /* best effort: the memory-only password is in place either way */
      if (request->delete_error != NULL)
        g_debug ("Cannot remove the stored password from the Secret Service: %s",
                 request->delete_error->message);
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (request->delete_error != NULL)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_FAILED,
                               "Cannot remove a password from the Secret Service: %s",
                               request->delete_error->message);
      return;
    }
  if (request->locked > 0)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_FAILED,
                               "%u password(s) of sfbd are in a locked keyring and were left "
                               "there. Unlock the keyring and forget the credentials again",
                               request->locked);
      return;
    }
  g_info ("Passwords removed from the Secret Service");
  g_task_return_boolean (task, TRUE);
}

static void
on_lookup_searched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbSecretStore *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GList *items = secret_service_search_finish (SECRET_SERVICE (source), result, &error);
  gboolean locked = FALSE;

  if (error != NULL)
    {
      if (request->backend == SFB_SECRETS_STORE_AUTO
          && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return_lookup_from_file (task);
      else
        g_task_return_error (task, unreachable_error (error));
      return;
    }
  for (GList *l = items; l != NULL && get_memory (self, request->uri) == NULL; l = l->next)
    {
      SecretItem *item = l->data;
      SecretValue *value;
      const char *text;

      if (secret_item_get_locked (item))
        {
          locked = TRUE;
          continue;
        }
      value = secret_item_get_secret (item);
      if (value == NULL)
        continue;
      text = secret_value_get_text (value);
      if (text != NULL && *text != '\0')
        {
          set_memory (self, request->uri, text);
          set_location (self, SFB_CREDENTIAL_SECRET_SERVICE, NULL, NULL);
        }
      secret_value_unref (value);
    }
  g_list_free_full (items, g_object_unref);

  if (get_memory (self, request->uri) == NULL && request->backend == SFB_SECRETS_STORE_AUTO)
    {
      if (!load_from_file (self,
                           request->uri,
                           "it was stored there when no Secret Service answered",
                           NULL,
                           &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }
  if (get_memory (self, request->uri) == NULL && locked)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_NO_CREDENTIALS,
                               "The keyring holding the password for %s is locked. Unlock it "
                               "(for example by logging in to the desktop session) and sign in "
                               "again; sfbd never asks for the keyring password itself",
                               request->uri);
      return;
    }
  g_task_return_boolean (task, get_memory (self, request->uri) != NULL);
}

static void
on_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbSecretStore *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!secret_service_store_finish (SECRET_SERVICE (source), result, &error))
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_FAILED,
                               "Cannot store the password in the Secret Service: %s",
                               error->message);
      return;
    }
  set_memory (self, request->uri, request->password);
  set_location (self, SFB_CREDENTIAL_SECRET_SERVICE, NULL, NULL);
  /* one stored copy only: the Secret Service's */
  if (!remove_from_file (self, request->uri, &error))
    g_debug ("Cannot remove the old copy in the password file: %s", error->message);
  g_info ("Password for %s stored in the Secret Service", request->uri);
  g_task_return_boolean (task, TRUE);
}

static void
on_default_collection (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (SecretCollection) collection = secret_collection_for_alias_finish (result, &error);
  g_autoptr (GHashTable) attributes = NULL;
  SecretValue *value;
  g_autofree char *label = NULL;

  if (collection == NULL)
    {
      if (request->backend == SFB_SECRETS_STORE_AUTO)
        {
          request->fallback_reason
              = g_strdup_printf ("the Secret Service has no default keyring (%s)",
                                 error != NULL ? error->message : "no reason given");
          return_store_in_file (task);
          return;
        }
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_FAILED,
                               "The Secret Service has no default keyring%s%s. Create one "
                               "(for example with Seahorse), or keep the password in a file "
                               "with: sfbctl config set Secrets.Store file",
                               error != NULL ? ": " : "",
                               error != NULL ? error->message : "");
      return;
    }
  if (secret_collection_get_locked (collection))
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_FAILED,
                               "The default keyring is locked, so the password cannot be "
                               "stored there. Unlock the keyring and set the password again, "
                               "or use it for this session only with: "
                               "sfbctl set-password --no-store");
      return;
    }
  attributes = attributes_for (request->uri);
  label = g_strdup_printf ("Skype for Business password for %s", request->uri);
  value = secret_value_new (request->password, -1, "text/plain");
  secret_service_store (request->service,
                        password_schema (),
                        attributes,
                        SECRET_COLLECTION_DEFAULT,
                        label,
                        value,
                        cancellable,
                        on_stored,
                        g_steal_pointer (&task));
  secret_value_unref (value);
}

static void
on_delete_searched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GList *items = secret_service_search_finish (SECRET_SERVICE (source), result, &error);

  if (error != NULL)
    {
      if (request->op == OP_FORGET && request->backend == SFB_SECRETS_STORE_SECRET_SERVICE)
        g_task_return_error (task, unreachable_error (error));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  delete_items (task, items);
  g_list_free_full (items, g_object_unref);
}

/* libsecret cannot be loaded (@why): what Store=secret-service refuses with */
static GError *
no_library_error (const char *why)
{
  return g_error_new (SFB_ERROR,
                      SFB_ERROR_NO_CREDENTIALS,
                      "Cannot use the Secret Service: libsecret cannot be loaded (%s). Install "
                      "libsecret (for example: apt install libsecret-1-0) and restart sfbd, or "
                      "keep the password in a file with: sfbctl config set Secrets.Store file",
                      why);
}

/* No Secret Service to ask (@error says why; @no_library: libsecret cannot
 * be loaded, @error->message is dlerror's): the file, when Auto may fall
 * back to it, else an error saying what to do.  Takes @task. */
static void
no_secret_service (GTask *task, GError *error, gboolean no_library)
{
  Request *request = g_task_get_task_data (task);
  gboolean fallback = request->backend == SFB_SECRETS_STORE_AUTO
                      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_debug ("No Secret Service: %s", error->message);
  if (no_library)
    {
      request->fallback_reason
          = g_strdup_printf ("libsecret cannot be loaded (%s)", error->message);
      request->fallback_advice = INSTALL_LIBSECRET_ADVICE;
    }
  else
    {
      request->fallback_reason
          = g_strdup_printf ("no Secret Service answers on the session bus (%s)", error->message);
    }
  if (request->op == OP_LOOKUP && fallback)
    return_lookup_from_file (task);
  else if (request->op == OP_STORE && fallback)
    return_store_in_file (task);
  else if (request->op == OP_UNSTORE || (request->op == OP_FORGET && fallback))
    g_task_return_boolean (task, TRUE); /* nothing reachable to remove */
  else if (no_library)
    g_task_return_error (task, no_library_error (error->message));
  else
    g_task_return_error (task, unreachable_error (error));
  g_object_unref (task);
}

static void
on_service (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) attributes = NULL;

  request->service = secret_service_get_finish (result, &error);
  if (request->service == NULL)
    {
      no_secret_service (g_steal_pointer (&task), error, FALSE);
      return;
    }

  attributes = attributes_for (request->uri);
  switch (request->op)
    {
    case OP_LOOKUP:
      secret_service_search (request->service,
                             password_schema (),
                             attributes,
                             SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS,
                             cancellable,
                             on_lookup_searched,
                             g_steal_pointer (&task));
      break;
    case OP_STORE:
      secret_collection_for_alias (request->service,
                                   SECRET_COLLECTION_DEFAULT,
                                   SECRET_COLLECTION_NONE,
                                   cancellable,
                                   on_default_collection,
                                   g_steal_pointer (&task));
      break;
    case OP_UNSTORE:
    case OP_FORGET:
      secret_service_search (request->service,
                             password_schema (),
                             attributes,
                             SECRET_SEARCH_ALL,
                             cancellable,
                             on_delete_searched,
                             g_steal_pointer (&task));
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Never an unlock prompt: only SECRET_SERVICE_OPEN_SESSION, and searches
 * without SECRET_SEARCH_UNLOCK. */
static void
start_secret_service (GTask *task)
{
  const char *why = sfb_secret_lib_load ();

  if (why != NULL)
    {
      g_autoptr (GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, why);

      no_secret_service (task, error, TRUE);
      return;
    }
  secret_service_get (SECRET_SERVICE_OPEN_SESSION, g_task_get_cancellable (task), on_service, task);
}

#else /* !HAVE_LIBSECRET */

static gboolean
use_secret_service (SfbSecretsStore backend)
{
  return FALSE;
}

static void
start_secret_service (GTask *task)
{
  g_assert_not_reached ();
}

#endif

/* ---- public API ----------------------------------------------------- */

static void
request_set_fallback_reason (GTask *task, const char *reason)
{
  Request *request = g_task_get_task_data (task);

  g_free (request->fallback_reason);
  request->fallback_reason = g_strdup (reason);
}

SfbCredentialLocation
sfb_secret_store_get_location (SfbSecretStore *self)
{
  g_return_val_if_fail (SFB_IS_SECRET_STORE (self), SFB_CREDENTIAL_NONE);
  return self->location;
}

const char *
sfb_credential_location_to_string (SfbCredentialLocation location)
{
  switch (location)
    {
    case SFB_CREDENTIAL_MEMORY:
      return "memory";
    case SFB_CREDENTIAL_SECRET_SERVICE:
      return "secret-service";
    case SFB_CREDENTIAL_FILE:
      return "file";
    case SFB_CREDENTIAL_NONE:
    default:
      return "";
    }
}

const char *
sfb_secret_store_get_location_message (SfbSecretStore *self)
{
  g_return_val_if_fail (SFB_IS_SECRET_STORE (self), "");
  return self->location_message != NULL ? self->location_message : "";
}

/*
 * Keeps @password for @uri in memory and, when @store, in the backend
 * (for auto: the Secret Service when reachable, else the file).  When
 * not @store, stored copies for @uri are removed, so that the memory-only
 * password is the only one.
 */
void
sfb_secret_store_set_password_async (SfbSecretStore *self,
                                     const char *uri,
                                     const char *password,
                                     gboolean store,
                                     SfbSecretsStore backend,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (SFB_IS_SECRET_STORE (self));
  g_return_if_fail (uri != NULL);
  g_return_if_fail (password != NULL);

  task = request_task_new (self,
                           store ? OP_STORE : OP_UNSTORE,
                           uri,
                           password,
                           backend,
                           cancellable,
                           callback,
                           user_data,
                           sfb_secret_store_set_password_async);
  if (*password == '\0')
    {
      g_task_return_new_error (task, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "The password is empty");
      return;
    }
  if (!store)
    {
      set_memory (self, uri, password);
      set_location (self, SFB_CREDENTIAL_MEMORY, NULL, NULL);
      if (!remove_from_file (self, uri, &error))
        g_task_return_error (task, error);
      else if (use_secret_service (backend))
        start_secret_service (g_steal_pointer (&task));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  if (use_secret_service (backend))
    start_secret_service (g_steal_pointer (&task));
  else if (backend == SFB_SECRETS_STORE_SECRET_SERVICE)
    return_no_secret_service (task);
  else
    {
      if (backend == SFB_SECRETS_STORE_AUTO)
        request_set_fallback_reason (task, "this build of sfbd has no Secret Service support");
      return_store_in_file (task);
    }
}

gboolean
sfb_secret_store_set_password_finish (SfbSecretStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/*
 * The password for @uri, from memory or else from the backend (auto: the
 * Secret Service, then the file).
 */
void
sfb_secret_store_lookup_password_async (SfbSecretStore *self,
                                        const char *uri,
                                        SfbSecretsStore backend,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (SFB_IS_SECRET_STORE (self));
  g_return_if_fail (uri != NULL);

  task = request_task_new (self,
                           OP_LOOKUP,
                           uri,
                           NULL,
                           backend,
                           cancellable,
                           callback,
                           user_data,
                           sfb_secret_store_lookup_password_async);
  if (get_memory (self, uri) != NULL)
    g_task_return_boolean (task, TRUE);
  else if (use_secret_service (backend))
    start_secret_service (g_steal_pointer (&task));
  else if (backend == SFB_SECRETS_STORE_SECRET_SERVICE)
    g_task_return_boolean (task, FALSE); /* memory only in this build */
  else
    {
      if (backend == SFB_SECRETS_STORE_AUTO)
        request_set_fallback_reason (task, "this build of sfbd has no Secret Service support");
      return_lookup_from_file (task);
    }
}

/*
 * NULL when no password is known (@error is set only when a store cannot
 * be read, or its keyring is locked).  The string belongs to the store and
 * lives until the next change.
 */
const char *
sfb_secret_store_lookup_password_finish (SfbSecretStore *self, GAsyncResult *result, GError **error)
{
  Request *request;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  request = g_task_get_task_data (G_TASK (result));
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return get_memory (self, request->uri);
}

/* ForgetCredentials(): every password of every URI, from memory, the file
 * and (unless Store=file) the Secret Service. */
void
sfb_secret_store_forget_async (SfbSecretStore *self,
                               SfbSecretsStore backend,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (SFB_IS_SECRET_STORE (self));

  task = request_task_new (self,
                           OP_FORGET,
                           NULL,
                           NULL,
                           backend,
                           cancellable,
                           callback,
                           user_data,
                           sfb_secret_store_forget_async);
  clear_memory (self);
  if (!remove_file (self, &error))
    g_task_return_error (task, error);
  else if (use_secret_service (backend))
    start_secret_service (g_steal_pointer (&task));
  else
    g_task_return_boolean (task, TRUE);
}

gboolean
sfb_secret_store_forget_finish (SfbSecretStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
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
  g_free (self->location_message);
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
