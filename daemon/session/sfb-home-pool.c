/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "sfb-home-pool.h"
#include "sfb-sip-lex.h"

#include <gio/gio.h>
#include <string.h>

#define ADDRESS_MAX_LENGTH 45 /* INET6_ADDRSTRLEN - 1 */

char *
sfb_home_pool_format (
    const char *uri, const char *host, guint16 port, const char *address, gint64 learnt)
{
  if (address == NULL)
    return g_strdup_printf ("%s\n%s:%u\n", uri, host, port);
  return g_strdup_printf ("%s\n%s:%u\n%s %" G_GINT64_FORMAT "\n", uri, host, port, address, learnt);
}

/* Line @index (0-based) of @contents, without its '\n'; NULL when the file
 * has fewer lines or the line holds a NUL.  Each line is judged alone, so a
 * bad byte in one loses no other. */
static char *
dup_line (const char *contents, gsize length, guint index)
{
  const char *start = contents;
  const char *end = contents + length;

  for (guint i = 0; i < index; i++)
    {
      const char *newline = memchr (start, '\n', (gsize) (end - start));

      if (newline == NULL)
        return NULL;
      start = newline + 1;
    }
  {
    const char *newline = memchr (start, '\n', (gsize) (end - start));
    gsize line_length = (gsize) ((newline != NULL ? newline : end) - start);

    if (memchr (start, '\0', line_length) != NULL)
      return NULL;
    return g_strndup (start, line_length);
  }
}

/* An IPv4 address, or an IPv6 one whose zone holds only what an interface
 * name does (GLib alone takes any bytes there: controls, invalid UTF-8). */
static gboolean
is_ip_address (const char *text)
{
  if (strchr (text, ':') != NULL)
    return sfb_sip_is_ipv6_reference (text);
  return g_hostname_is_ip_address (text);
}

/* The host is dialled, checked against the certificate and shown on D-Bus
 * and in traces: letters, digits, '.', '-', '_', or an IP address. */
static gboolean
is_host (const char *host)
{
  gsize length = strlen (host);

  if (length == 0 || length > 255)
    return FALSE;
  if (is_ip_address (host))
    return TRUE;
  if (host[0] == '[' && host[length - 1] == ']')
    {
      g_autofree char *address = g_strndup (host + 1, length - 2);

      return is_ip_address (address);
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
  g_autofree char *account = NULL;
  g_autofree char *pool = NULL;
  g_autofree char *name = NULL;
  const char *colon;
  guint64 number;

  g_return_val_if_fail (contents != NULL && uri != NULL, FALSE);

  account = dup_line (contents, length, 0);
  pool = dup_line (contents, length, 1);
  if (account == NULL || pool == NULL || g_strcmp0 (account, uri) != 0)
    return FALSE;
  colon = strrchr (pool, ':');
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
    return FALSE;
  name = g_strndup (pool, (gsize) (colon - pool));
  if (!is_host (name))
    return FALSE;
  *host = g_steal_pointer (&name);
  *port = (guint16) number;
  return TRUE;
}

gboolean
sfb_home_pool_parse_address (
    const char *contents, gsize length, const char *uri, gint64 now, char **address, gint64 *learnt)
{
  g_autofree char *host = NULL;
  g_autofree char *line = NULL;
  g_auto (GStrv) fields = NULL;
  gint64 when = 0;
  guint16 port = 0;

  g_return_val_if_fail (contents != NULL && uri != NULL, FALSE);

  /* an address only for a home pool that is itself valid */
  if (!sfb_home_pool_parse (contents, length, uri, &host, &port))
    return FALSE;
  line = dup_line (contents, length, 2);
  if (line == NULL)
    return FALSE;
  fields = g_strsplit (line, " ", 3);
  if (g_strv_length (fields) != 2 || strlen (fields[0]) > ADDRESS_MAX_LENGTH
      || !is_ip_address (fields[0])
      || !g_ascii_string_to_signed (fields[1], 10, 1, G_MAXINT64, &when, NULL))
    return FALSE;
  if (when > now + 24 * 3600 || now - when > SFB_HOME_POOL_ADDRESS_MAX_AGE_S)
    return FALSE;
  *address = g_strdup (fields[0]);
  *learnt = when;
  return TRUE;
}
