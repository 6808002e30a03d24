/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-cache.h"

#include "sfb-file.h"

#include "sfb-log.h"

#include <errno.h>
#include <glib/gstdio.h>

static char *
cache_path (const char *state_dir, const char *account, const char *name)
{
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, account, -1);
  g_autofree char *file = g_strdup_printf ("%.16s-%s", digest, name);

  return g_build_filename (state_dir, "cache", file, NULL);
}

gboolean
sfb_cache_save (
    const char *state_dir, const char *account, const char *name, GVariant *data, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GVariant) wrapped = NULL;
  GVariantBuilder builder;

  g_return_val_if_fail (state_dir != NULL && account != NULL && name != NULL, FALSE);

  path = cache_path (state_dir, account, name);
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error,
                   G_FILE_ERROR,
                   g_file_error_from_errno (saved),
                   "Cannot create %s: %s",
                   dir,
                   g_strerror (saved));
      return FALSE;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "Account", g_variant_new_string (account));
  g_variant_builder_add (&builder, "{sv}", "Data", data);
  wrapped = g_variant_ref_sink (g_variant_builder_end (&builder));
  return g_file_set_contents_full (path,
                                   g_variant_get_data (wrapped),
                                   (gssize) g_variant_get_size (wrapped),
                                   G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600,
                                   error);
}

GVariant *
sfb_cache_load (const char *state_dir,
                const char *account,
                const char *name,
                const GVariantType *type)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GVariant) wrapped = NULL;
  g_autoptr (GVariant) owner = NULL;
  g_autoptr (GVariant) data = NULL;
  g_autoptr (GError) error = NULL;

  if (state_dir == NULL || account == NULL)
    return NULL;
  path = cache_path (state_dir, account, name);
  /* never blocks: a FIFO or anything but a bounded regular file is no cache */
  if (!sfb_file_read_regular (path, SFB_CACHE_MAX_SIZE, &contents, &length, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_info ("Ignoring the cache file: %s", error->message);
      return NULL;
    }
  bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
  wrapped = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
  if (!g_variant_is_normal_form (wrapped))
    {
      g_info ("Ignoring the damaged cache file %s", path);
      return NULL;
    }
  owner = g_variant_lookup_value (wrapped, "Account", G_VARIANT_TYPE_STRING);
  if (owner == NULL || g_strcmp0 (g_variant_get_string (owner, NULL), account) != 0)
    return NULL;
  data = g_variant_lookup_value (wrapped, "Data", type);
  return g_steal_pointer (&data);
}

void
sfb_cache_remove (const char *state_dir, const char *account, const char *name)
{
  g_autofree char *path = cache_path (state_dir, account, name);

  g_unlink (path);
}
