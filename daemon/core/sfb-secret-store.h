/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSecretStore: the account password, in memory and optionally in a
 * backend, keyed by the account URI:
 *
 *   secret-service  the Secret Service (libsecret, gnome-keyring, KeePassXC…),
 *                   one item per URI, schema org.sfbd.Sfbd.Password with the
 *                   attribute "uri", in the default collection
 *   file            a 0600 key file under the state directory
 *   auto            the Secret Service when one is reachable, else the file
 *
 * Every call that may reach the Secret Service is asynchronous and never
 * prompts: a locked keyring is reported (NoCredentials on lookup, Failed on
 * store) with a message asking the user to unlock it, never unlocked by
 * sfbd.
 *
 * Forgetting removes every password sfbd keeps, for every URI, from memory,
 * the file and the Secret Service: after ForgetCredentials() nothing sfbd
 * stored is left on the machine, whichever account it belonged to.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-config.h"

G_BEGIN_DECLS

#define SFB_SECRET_STORE_FILE_NAME "passwords"
#define SFB_SECRET_SCHEMA_NAME "org.sfbd.Sfbd.Password"
#define SFB_SECRET_ATTRIBUTE_URI "uri"

#define SFB_TYPE_SECRET_STORE (sfb_secret_store_get_type ())
G_DECLARE_FINAL_TYPE (SfbSecretStore, sfb_secret_store, SFB, SECRET_STORE, GObject)

SfbSecretStore *sfb_secret_store_new (const char *state_dir);

const char *sfb_secret_store_get_path (SfbSecretStore *self);

/* Where the password in memory came from or went to (Account.CredentialStore) */
typedef enum
{
  SFB_CREDENTIAL_NONE,
  SFB_CREDENTIAL_MEMORY,
  SFB_CREDENTIAL_SECRET_SERVICE,
  SFB_CREDENTIAL_FILE,
} SfbCredentialLocation;

SfbCredentialLocation sfb_secret_store_get_location (SfbSecretStore *self);
/* "", "memory", "secret-service" or "file" */
const char *sfb_credential_location_to_string (SfbCredentialLocation location);
/* A sentence for people: where the password is and, for a file that
 * Store=auto chose, why and how to get a keyring.  "" when none is known. */
const char *sfb_secret_store_get_location_message (SfbSecretStore *self);

void sfb_secret_store_set_password_async (SfbSecretStore *self,
                                          const char *uri,
                                          const char *password,
                                          gboolean store,
                                          SfbSecretsStore backend,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
gboolean
sfb_secret_store_set_password_finish (SfbSecretStore *self, GAsyncResult *result, GError **error);

void sfb_secret_store_lookup_password_async (SfbSecretStore *self,
                                             const char *uri,
                                             SfbSecretsStore backend,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer user_data);
const char *sfb_secret_store_lookup_password_finish (SfbSecretStore *self,
                                                     GAsyncResult *result,
                                                     GError **error);

void sfb_secret_store_forget_async (SfbSecretStore *self,
                                    SfbSecretsStore backend,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean
sfb_secret_store_forget_finish (SfbSecretStore *self, GAsyncResult *result, GError **error);

G_END_DECLS
