/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state cache (docs/architecture.md §5): what the server
 * last said (policies, dial plan, contacts, groups), so a restart shows it
 * before the network answers.
 *
 * One file per item and account: <state_dir>/cache/<sha256(account)[0:16]>-<name>,
 * a serialised GVariant a{sv} {"Account": s, "Data": v}, written
 * atomically with mode 0600 (directory 0700).  sfb_cache_load() returns
 * NULL (nothing cached) when the file is missing, larger than
 * SFB_CACHE_MAX_SIZE, not in normal form, of another type than @type, or
 * written for another account: data are never shown for another account.
 *
 * Usable by "presence" for contacts and groups: pick a @name of your own
 * ("contacts"); "policies" and "dial-plan" are taken.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_CACHE_MAX_SIZE (16 * 1024 * 1024)

gboolean sfb_cache_save (
    const char *state_dir, const char *account, const char *name, GVariant *data, GError **error);
/* A full reference, or NULL. */
GVariant *sfb_cache_load (const char *state_dir,
                          const char *account,
                          const char *name,
                          const GVariantType *type);
void sfb_cache_remove (const char *state_dir, const char *account, const char *name);

G_END_DECLS
