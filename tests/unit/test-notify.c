/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sd_notify's protocol (sfb-notify.c): $NOTIFY_SOCKET as a path or, with a
 * leading '@', an abstract socket, and what sun_path cannot hold. */
#include "config.h"

#include "sfb-notify.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SUN_PATH_SIZE (sizeof ((struct sockaddr_un *) NULL)->sun_path)

/* A datagram socket bound to @name: a path, or with a leading '@' the
 * abstract name that follows (its length is the address's, no NUL). */
static int
bind_socket (const char *name)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize len = strlen (name);
  socklen_t addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + len);
  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpuint (len, <=, SUN_PATH_SIZE);
  memcpy (addr.sun_path, name, len);
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  g_assert_no_errno (bind (fd, (struct sockaddr *) &addr, addr_len));
  return fd;
}

/* What is waiting on @fd (sfbd sends synchronously), NULL when nothing */
static char *
receive (int fd)
{
  char buffer[512];
  ssize_t n = recv (fd, buffer, sizeof buffer, 0);

  if (n < 0)
    {
      g_assert_cmpint (errno, ==, EAGAIN);
      return NULL;
    }
  return g_strndup (buffer, (gsize) n);
}

static void
assert_ready_reaches (int fd, const char *notify_socket)
{
  g_autofree char *message = NULL;

  g_setenv ("NOTIFY_SOCKET", notify_socket, TRUE);
  sfb_notify_ready ("signed-out as sip:alice@contoso.test");
  message = receive (fd);
  g_assert_cmpstr (message, ==, "READY=1\nSTATUS=signed-out as sip:alice@contoso.test");
}

/* Nothing is sent anywhere, in particular not to @fd, bound to a prefix
 * of @notify_socket: a name sun_path cannot hold is refused, not cut. */
static void
assert_refused (int fd, const char *notify_socket)
{
  g_autofree char *message = NULL;

  g_setenv ("NOTIFY_SOCKET", notify_socket, TRUE);
  sfb_notify_ready ("signed-out");
  sfb_notify_status ("signed-out");
  sfb_notify_stopping ();
  message = receive (fd);
  g_assert_null (message);
}

/* A name of @len characters under @dir, starting with @first */
static char *
name_of_length (const char *dir, char first, gsize len)
{
  GString *name = g_string_new (dir);

  if (first != '\0')
    g_string_append_c (name, first);
  while (name->len < len)
    g_string_append_c (name, 'n');
  g_assert_cmpuint (name->len, ==, len);
  return g_string_free (name, FALSE);
}

static void
test_path (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sfb-notify-XXXXXX", NULL);
  g_autofree char *prefix = NULL;
  g_autofree char *longest = NULL;
  g_autofree char *too_long = NULL;
  g_autofree char *far_too_long = NULL;
  int fd;

  g_assert_nonnull (dir);
  /* the longest path sun_path holds with its NUL */
  prefix = g_strconcat (dir, "/", NULL);
  longest = name_of_length (prefix, '\0', SUN_PATH_SIZE - 1);
  fd = bind_socket (longest);
  assert_ready_reaches (fd, longest);
  /* one more character: refused, not sent to the path it would be cut to */
  too_long = g_strconcat (longest, "x", NULL);
  assert_refused (fd, too_long);
  far_too_long = name_of_length (longest, '\0', 4096);
  assert_refused (fd, far_too_long);
  /* a relative path is not the protocol's */
  assert_refused (fd, strrchr (longest, '/') + 1);
  close (fd);
  g_unlink (longest);
  g_rmdir (dir);
  g_unsetenv ("NOTIFY_SOCKET");
}

static void
test_abstract (void)
{
  g_autofree char *prefix = g_strdup_printf ("@sfb-notify-test-%d-", (int) getpid ());
  g_autofree char *name = g_strconcat (prefix, "short", NULL);
  g_autofree char *longest = NULL;
  g_autofree char *too_long = NULL;
  int fd;

  fd = bind_socket (name);
  assert_ready_reaches (fd, name);
  close (fd);

  /* an abstract name fills sun_path: its NUL and 107 characters, no end NUL */
  longest = name_of_length (prefix, '\0', SUN_PATH_SIZE);
  fd = bind_socket (longest);
  assert_ready_reaches (fd, longest);
  too_long = g_strconcat (longest, "x", NULL);
  assert_refused (fd, too_long);
  close (fd);
  g_unsetenv ("NOTIFY_SOCKET");
}

static void
test_status_is_one_line (void)
{
  g_autofree char *name = g_strdup_printf ("@sfb-notify-test-%d-status", (int) getpid ());
  g_autofree char *message = NULL;
  int fd = bind_socket (name);

  g_setenv ("NOTIFY_SOCKET", name, TRUE);
  sfb_notify_status ("failed: line one\nREADY=1\r\nline two");
  message = receive (fd);
  g_assert_cmpstr (message, ==, "STATUS=failed: line one READY=1  line two");
  close (fd);
  g_unsetenv ("NOTIFY_SOCKET");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notify/path", test_path);
  g_test_add_func ("/notify/abstract", test_abstract);
  g_test_add_func ("/notify/status-is-one-line", test_status_is_one_line);
  return g_test_run ();
}
