/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-util.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>

static char *scratch_dir;

static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  return G_LOG_WRITER_HANDLED; /* criticals still abort: always fatal */
}

void
sfb_fuzz_quiet_logs (void)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_log_set_writer_func (quiet_writer, NULL, NULL);
}

/* The targets write files and one level of directories */
static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) entries = g_dir_open (dir, 0, NULL);
  const char *name;

  while (entries != NULL && (name = g_dir_read_name (entries)) != NULL)
    {
      g_autofree char *entry = g_build_filename (dir, name, NULL);

      if (g_file_test (entry, G_FILE_TEST_IS_DIR))
        remove_tree (entry);
      else
        g_unlink (entry);
    }
  g_rmdir (dir);
}

static void
remove_scratch_dir (void)
{
  remove_tree (scratch_dir);
}

const char *
sfb_fuzz_scratch_dir (const char *name)
{
  g_autofree char *template = g_strdup_printf ("sfbd-fuzz-%s-XXXXXX", name);

  g_assert (scratch_dir == NULL);
  if (g_access ("/dev/shm", W_OK) == 0)
    {
      g_autofree char *in_memory = g_build_filename ("/dev/shm", template, NULL);

      scratch_dir = g_mkdtemp (g_steal_pointer (&in_memory));
    }
  else
    scratch_dir = g_dir_make_tmp (template, NULL);
  if (scratch_dir == NULL)
    abort ();
  atexit (remove_scratch_dir);
  return scratch_dir;
}
