/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-notify.h"

#include <systemd/sd-daemon.h>

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
  int r = sd_notify (0, state);

  if (r < 0)
    g_debug ("sd_notify failed: %s", g_strerror (-r));
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
  uint64_t usec = 0;
  guint interval_ms;
  int r = sd_watchdog_enabled (0, &usec);

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
