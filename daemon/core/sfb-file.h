/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading sfbd's own files (state, caches, the password file, sfbd.conf):
 * never blocking on a FIFO or device put in their place, never more than
 * a bound.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The whole of @path when it is a regular file of at most @max_size bytes
 * (a NUL is added after the @length bytes).  Opened with O_NONBLOCK and
 * checked with fstat before reading, so a FIFO, socket or device there
 * fails at once: G_FILE_ERROR_NOENT when absent, G_FILE_ERROR_INVAL when
 * not a regular file, G_FILE_ERROR_FAILED when larger than @max_size, else
 * the error of open or read.  Messages name @path. */
gboolean sfb_file_read_regular (
    const char *path, gsize max_size, char **contents, gsize *length, GError **error);

/* The 1-based line of a key file's @contents that GKeyFile would refuse:
 * not valid UTF-8, or neither blank, #comment, [group] nor key=value after
 * a group.  0 when none is found.  Lets an error name the line without
 * quoting it (GKeyFile's own message quotes the line, which may hold a
 * secret). */
guint sfb_key_file_find_bad_line (const char *contents);

G_END_DECLS
