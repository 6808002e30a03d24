/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-notify.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * sd_notify(3)'s protocol, written here rather than linking libsystemd for
 * two calls: that library and what only it pulls in (liblz4, libzstd,
 * libcap) were ~600 kB resident and ~70 kB dirty in every sfbd
 * (docs/benchmarks.md).  One datagram to $NOTIFY_SOCKET: a socket path, or
 * with a leading '@' an abstract socket; the kernel gives the service
 * manager our credentials.  1 when sent, 0 without $NOTIFY_SOCKET, else
 * -errno.
 */
static int
send_notification (const char *state)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  socklen_t addr_len;
  gsize len;
  ssize_t sent;
  int saved_errno;
  int fd;

  if (path == NULL || *path == '\0')
    return 0;
  len = strlen (path);
  if (path[0] != '/' && path[0] != '@')
    return -EAFNOSUPPORT;
  /* a path needs room for its NUL; an abstract name may fill sun_path */
  if (len > sizeof addr.sun_path || (path[0] == '/' && len == sizeof addr.sun_path))
    return -EINVAL;
  memcpy (addr.sun_path, path, len);
  /* a path with its NUL; an abstract name without */
  addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0';
  else
    addr_len++;
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *) &addr, addr_len);
  saved_errno = errno;
  close (fd);
  return sent < 0 ? -saved_errno : 1;
}

/* sd_watchdog_enabled(3): > 0 with the interval in @usec when
 * $WATCHDOG_USEC asks this process (or any, without $WATCHDOG_PID) for
 * pings, 0 when not, -EINVAL when the variables are not numbers */
static int
watchdog_interval (guint64 *usec)
{
  const char *text = g_getenv ("WATCHDOG_USEC");
  const char *pid_text = g_getenv ("WATCHDOG_PID");
  guint64 value = 0;
  guint64 pid = 0;

  if (text == NULL)
    return 0;
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT64 - 1, &value, NULL))
    return -EINVAL;
  if (pid_text != NULL)
    {
      if (!g_ascii_string_to_unsigned (pid_text, 10, 1, G_MAXINT, &pid, NULL))
        return -EINVAL;
      if ((pid_t) pid != getpid ())
        return 0;
    }
  *usec = value;
  return 1;
}

/* STATUS= is one line: no newline may end the assignment early */
static char *
status_line (const char *status)
{
  g_autofree char *line = g_strdup (status != NULL ? status : "");

  g_strdelimit (line, "\r\n", ' ');
  return g_strconcat ("STATUS=", line, NULL);
}

static void
notify (const char *state)
{
  int r = send_notification (state);

  if (r < 0)
    g_debug ("Cannot notify the service manager: %s", g_strerror (-r));
}

void
sfb_notify_ready (const char *status)
{
  g_autofree char *line = status_line (status);
  g_autofree char *state = g_strconcat ("READY=1\n", line, NULL);

  notify (state);
}

void
sfb_notify_status (const char *status)
{
  g_autofree char *line = status_line (status);

  notify (line);
}

void
sfb_notify_stopping (void)
{
  notify ("STOPPING=1\nSTATUS=Stopping");
}

static gboolean
on_watchdog (gpointer user_data)
{
  notify ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

/*
 * With WatchdogSec= (WATCHDOG_USEC), pings at half the interval from the
 * main loop, so a blocked loop is what the watchdog catches.  Returns the
 * source id, 0 when no watchdog is asked for.
 */
guint
sfb_notify_start_watchdog (void)
{
  guint64 usec = 0;
  guint interval_ms;
  int r = watchdog_interval (&usec);

  if (r <= 0 || usec == 0)
    {
      if (r < 0)
        g_debug ("Ignoring the watchdog settings: %s", g_strerror (-r));
      return 0;
    }
  interval_ms = (guint) MAX (usec / 2 / 1000, 1);
  g_debug ("Watchdog: a ping every %u ms", interval_ms);
  notify ("WATCHDOG=1");
  return g_timeout_add (interval_ms, on_watchdog, NULL);
}

/* "signed-in as sip:alice@contoso.test on pool.contoso.test:5061" */
char *
sfb_notify_format_status (const char *state,
                          const char *uri,
                          const char *server,
                          const char *last_error_message)
{
  GString *status = g_string_new (state != NULL && *state != '\0' ? state : "signed-out");

  if (uri != NULL && *uri != '\0')
    g_string_append_printf (status, " as %s", uri);
  if (server != NULL && *server != '\0')
    g_string_append_printf (status, " on %s", server);
  if (last_error_message != NULL && *last_error_message != '\0')
    g_string_append_printf (status, ": %s", last_error_message);
  return g_string_free (status, FALSE);
}
