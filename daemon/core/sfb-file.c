/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

static void
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error,
               G_FILE_ERROR,
               g_file_error_from_errno (saved_errno),
               "Cannot %s %s: %s",
               what,
               path,
               g_strerror (saved_errno));
}

/* Up to @max_size bytes; st_size is only a hint: the file may change. */
static gboolean
read_all (int fd, const char *path, gsize max_size, char **contents, gsize *length, GError **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  guint8 chunk[16384];

  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_errno_error (error, errno, "read", path);
          return FALSE;
        }
      if (n == 0)
        break;
      if ((gsize) n > max_size - data->len)
        {
          g_set_error (error,
                       G_FILE_ERROR,
                       G_FILE_ERROR_FAILED,
                       "%s is larger than %" G_GSIZE_FORMAT " bytes",
                       path,
                       max_size);
          return FALSE;
        }
      g_byte_array_append (data, chunk, (guint) n);
    }
  *length = data->len;
  g_byte_array_append (data, (const guint8 *) "", 1);
  *contents = (char *) g_byte_array_free (g_steal_pointer (&data), FALSE);
  return TRUE;
}

gboolean
sfb_file_read_regular (
    const char *path, gsize max_size, char **contents, gsize *length, GError **error)
{
  struct stat st;
  int fd;
  gboolean ok;

  g_return_val_if_fail (path != NULL && contents != NULL && length != NULL, FALSE);

  fd = g_open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0)
    {
      set_errno_error (error, errno, "open", path);
      return FALSE;
    }
  if (fstat (fd, &st) != 0)
    {
      set_errno_error (error, errno, "examine", path);
      close (fd);
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s is not a regular file", path);
      close (fd);
      return FALSE;
    }
  if ((guint64) st.st_size > max_size)
    {
      g_set_error (error,
                   G_FILE_ERROR,
                   G_FILE_ERROR_FAILED,
                   "%s is larger than %" G_GSIZE_FORMAT " bytes",
                   path,
                   max_size);
      close (fd);
      return FALSE;
    }
  /* a regular file never blocks: back to plain reads */
  (void) fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  ok = read_all (fd, path, max_size, contents, length, error);
  close (fd);
  return ok;
}

guint
sfb_key_file_find_bad_line (const char *contents)
{
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  gboolean in_group = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (!g_utf8_validate (line, -1, NULL))
        return i + 1;
      while (g_ascii_isspace (*line))
        line++;
      if (*line == '\0' || *line == '#')
        continue;
      if (*line == '[')
        {
          if (strchr (line, ']') == NULL)
            return i + 1;
          in_group = TRUE;
          continue;
        }
      if (!in_group || strchr (line, '=') == NULL || *line == '=')
        return i + 1;
    }
  return 0;
}
