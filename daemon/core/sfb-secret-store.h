/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSecretStore: the account password, in memory and optionally in a
 * 0600 file under the state directory, keyed by the account URI.  The
 * Secret Service (libsecret) backend comes later; until then
 * Secrets.Store=auto uses the file.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-config.h"

G_BEGIN_DECLS

#define SFB_SECRET_STORE_FILE_NAME "passwords"

#define SFB_TYPE_SECRET_STORE (sfb_secret_store_get_type ())
G_DECLARE_FINAL_TYPE (SfbSecretStore, sfb_secret_store, SFB, SECRET_STORE, GObject)

SfbSecretStore *sfb_secret_store_new (const char *state_dir);

const char *sfb_secret_store_get_path (SfbSecretStore *self);
gboolean sfb_secret_store_set_password (SfbSecretStore *self,
                                        const char *uri,
                                        const char *password,
                                        gboolean store,
                                        SfbSecretsStore backend,
                                        GError **error);
const char *sfb_secret_store_lookup_password (SfbSecretStore *self,
                                              const char *uri,
                                              SfbSecretsStore backend,
                                              GError **error);
gboolean sfb_secret_store_forget (SfbSecretStore *self, GError **error);

G_END_DECLS
