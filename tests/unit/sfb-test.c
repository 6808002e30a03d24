/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-test.h"

#include <glib/gstdio.h>
#include <sfbd/sfb-names.h>

char *sfb_test_root;

void
sfb_test_rm_rf (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        sfb_test_rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* Everything under one temporary directory: the real home is never used.
 * (G_TEST_OPTION_ISOLATE_DIRS would do, but GLib leaks there, which fails
 * the sanitizer build.) */
void
sfb_test_isolate (void)
{
  const char *const vars[][2] = {
    { "XDG_CONFIG_HOME", "xdg-config" },
    { "XDG_STATE_HOME", "xdg-state" },
    { SFB_ENV_CONFIG_DIR, "sfbd-config" },
    { SFB_ENV_STATE_DIR, "sfbd-state" },
    /* never a PipeWire of the host: the daemon lists no devices */
    { "PIPEWIRE_RUNTIME_DIR", "no-pipewire" },
  };

  sfb_test_root = g_dir_make_tmp ("sfbd-test-XXXXXX", NULL);
  g_assert_nonnull (sfb_test_root);
  for (gsize i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      g_autofree char *dir = g_build_filename (sfb_test_root, vars[i][1], NULL);

      g_setenv (vars[i][0], dir, TRUE);
    }
  g_unsetenv ("PIPEWIRE_REMOTE");
}

/* A fresh directory for one test. */
char *
sfb_test_make_dir (void)
{
  char *dir = g_build_filename (sfb_test_root, "test-XXXXXX", NULL);

  g_assert_nonnull (g_mkdtemp (dir));
  return dir;
}

void
sfb_test_cleanup (void)
{
  sfb_test_rm_rf (sfb_test_root);
  g_clear_pointer (&sfb_test_root, g_free);
}
