/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsecret opened when the Secret Service is first asked rather than
 * linked: with the password in a file (Secrets.Store=file) sfbd never maps
 * it, nor libgcrypt and libgpg-error that it brings (~480 kB resident,
 * ~64 kB of it dirty; docs/benchmarks.md).  Include this after
 * <libsecret/secret.h>; the secret_* functions below go through the table,
 * so call sfb_secret_lib_load() first and make none when it fails.  Use no
 * g_autoptr (SecretValue): its cleanup, inline in libsecret's header, would
 * call the library directly.
 */
#pragma once

#include <glib.h>
#include <libsecret/secret.h>

G_BEGIN_DECLS

#define SFB_SECRET_FUNCTIONS(X)                                                                    \
  X (secret_collection_for_alias)                                                                  \
  X (secret_collection_for_alias_finish)                                                           \
  X (secret_collection_get_locked)                                                                 \
  X (secret_item_delete)                                                                           \
  X (secret_item_delete_finish)                                                                    \
  X (secret_item_get_locked)                                                                       \
  X (secret_item_get_secret)                                                                       \
  X (secret_item_get_type)                                                                         \
  X (secret_service_get)                                                                           \
  X (secret_service_get_finish)                                                                    \
  X (secret_service_get_type)                                                                      \
  X (secret_service_search)                                                                        \
  X (secret_service_search_finish)                                                                 \
  X (secret_service_store)                                                                         \
  X (secret_service_store_finish)                                                                  \
  X (secret_value_get_text)                                                                        \
  X (secret_value_new)                                                                             \
  X (secret_value_unref)

typedef struct
{
#define SFB_SECRET_MEMBER(name) __typeof__ (name) *name##_fn;
  SFB_SECRET_FUNCTIONS (SFB_SECRET_MEMBER)
#undef SFB_SECRET_MEMBER
} SfbSecretLib;

/* filled once by sfb_secret_lib_load(), read-only after */
extern SfbSecretLib sfb_secret_lib;

/* NULL once libsecret is loaded, else why not (tried once per process) */
const char *sfb_secret_lib_load (void);

#define secret_collection_for_alias (sfb_secret_lib.secret_collection_for_alias_fn)
#define secret_collection_for_alias_finish (sfb_secret_lib.secret_collection_for_alias_finish_fn)
#define secret_collection_get_locked (sfb_secret_lib.secret_collection_get_locked_fn)
#define secret_item_delete (sfb_secret_lib.secret_item_delete_fn)
#define secret_item_delete_finish (sfb_secret_lib.secret_item_delete_finish_fn)
#define secret_item_get_locked (sfb_secret_lib.secret_item_get_locked_fn)
#define secret_item_get_secret (sfb_secret_lib.secret_item_get_secret_fn)
#define secret_item_get_type (sfb_secret_lib.secret_item_get_type_fn)
#define secret_service_get (sfb_secret_lib.secret_service_get_fn)
#define secret_service_get_finish (sfb_secret_lib.secret_service_get_finish_fn)
#define secret_service_get_type (sfb_secret_lib.secret_service_get_type_fn)
#define secret_service_search (sfb_secret_lib.secret_service_search_fn)
#define secret_service_search_finish (sfb_secret_lib.secret_service_search_finish_fn)
#define secret_service_store (sfb_secret_lib.secret_service_store_fn)
#define secret_service_store_finish (sfb_secret_lib.secret_service_store_finish_fn)
#define secret_value_get_text (sfb_secret_lib.secret_value_get_text_fn)
#define secret_value_new (sfb_secret_lib.secret_value_new_fn)
#define secret_value_unref (sfb_secret_lib.secret_value_unref_fn)

G_END_DECLS
