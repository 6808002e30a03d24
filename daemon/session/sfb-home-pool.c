/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "sfb-home-pool.h"

#include <gio/gio.h>
#include <string.h>

char *
sfb_home_pool_format (const char *uri, const char *host, guint16 port)
{
  return g_strdup_printf ("%s\n%s:%u\n", uri, host, port);
}

/* The host is dialled, checked against the certificate and shown on D-Bus
 * and in traces: letters, digits, '.', '-', '_', or an IP address. */
static gboolean
is_host (const char *host)
{
  gsize length = strlen (host);

  if (length == 0 || length > 255)
    return FALSE;
  if (g_hostname_is_ip_address (host))
    return TRUE;
  if (host[0] == '[' && host[length - 1] == ']')
    {
      g_autofree char *address = g_strndup (host + 1, length - 2);

      return g_hostname_is_ip_address (address);
    }
  for (const char *p = host; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

gboolean
sfb_home_pool_parse (
    const char *contents, gsize length, const char *uri, char **host, guint16 *port)
{
  g_auto (GStrv) lines = NULL;
  g_autofree char *name = NULL;
  const char *colon;
  guint64 number;

  g_return_val_if_fail (contents != NULL && uri != NULL, FALSE);

  if (memchr (contents, '\0', length) != NULL)
    return FALSE;
  lines = g_strsplit (contents, "\n", 3);
  if (g_strv_length (lines) < 2 || g_strcmp0 (lines[0], uri) != 0)
    return FALSE;
  colon = strrchr (lines[1], ':');
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
    return FALSE;
  name = g_strndup (lines[1], (gsize) (colon - lines[1]));
  if (!is_host (name))
    return FALSE;
  *host = g_steal_pointer (&name);
  *port = (guint16) number;
  return TRUE;
}
