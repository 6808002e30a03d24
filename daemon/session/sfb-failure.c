/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-failure.h"

#include <string.h>

/* Format characters that reorder or hide text (Trojan Source), line and
 * paragraph separators, and the byte-order mark. */
static gboolean
is_hidden (gunichar c)
{
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E)
         || (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029 || c == 0xFEFF
         || (c >= 0x200B && c <= 0x200D) || c == 0xFFFE || c == 0xFFFF;
}

char *
sfb_failure_quote (const char *text, gsize max_chars)
{
  g_autofree char *valid = NULL;
  GString *out;
  gsize chars = 0;
  gboolean space = FALSE;

  if (text == NULL || max_chars == 0)
    return g_strdup ("");
  /* a UTF-8 character is at most 4 bytes: read no more than needed
   * (strnlen: @text may be long) */
  valid = g_utf8_make_valid (text, (gssize) strnlen (text, max_chars * 4 + 4));
  out = g_string_sized_new (MIN (strlen (valid), max_chars * 4) + 4);
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c) || is_hidden (c) || c == ' ')
        {
          space = out->len > 0;
          continue;
        }
      if (chars + (space ? 1 : 0) >= max_chars)
        {
          g_string_append (out, "…");
          break;
        }
      if (space)
        {
          g_string_append_c (out, ' ');
          chars++;
          space = FALSE;
        }
      g_string_append_unichar (out, c);
      chars++;
    }
  return g_string_free (out, FALSE);
}

/* The code and reason="…" of "4140;reason=\"Removed by administrator\";source=…" */
static guint
diagnostics_code (const char *diagnostics, char **reason)
{
  const char *found;
  guint64 code = 0;
  char digits[6] = "";
  gsize n;

  *reason = NULL;
  if (diagnostics == NULL)
    return 0;
  n = strspn (diagnostics, "0123456789");
  if (n > 0 && n < sizeof digits)
    {
      memcpy (digits, diagnostics, n);
      digits[n] = '\0';
      if (!g_ascii_string_to_unsigned (digits, 10, 1, 99999, &code, NULL))
        code = 0;
    }
  found = strstr (diagnostics, "reason=\"");
  if (found != NULL)
    {
      const char *start = found + strlen ("reason=\"");
      const char *end = strchr (start, '"');

      if (end != NULL && end > start)
        {
          g_autofree char *raw = g_strndup (start, (gsize) (end - start));

          *reason = sfb_failure_quote (raw, SFB_FAILURE_MAX_QUOTE);
        }
    }
  return (guint) code;
}

char *
sfb_failure_deregistration_reason (const char *event, const char *diagnostics)
{
  static const struct
  {
    guint code;
    const char *meaning;
  } codes[] = {
    { 4140, "an administrator removed this sign-in" },
    { 4141, "the account was disabled" },
  };
  g_autofree char *reason = NULL;
  g_autofree char *quoted_event = sfb_failure_quote (event, 64);
  guint code = diagnostics_code (diagnostics, &reason);

  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    if (codes[i].code == code)
      return g_strdup_printf ("%s (ms-diagnostics %u%s%s%s)",
                              codes[i].meaning,
                              code,
                              reason != NULL ? " \"" : "",
                              reason != NULL ? reason : "",
                              reason != NULL ? "\"" : "");
  if (reason != NULL && *reason != '\0')
    return code != 0 ? g_strdup_printf ("the server says \"%s\" (ms-diagnostics %u)", reason, code)
                     : g_strdup_printf ("the server says \"%s\"", reason);
  if (event != NULL && g_ascii_strcasecmp (event, "unregistered") == 0)
    return g_strdup ("the server ended this sign-in (event \"unregistered\", which servers send "
                     "when the account signed in on more devices than they allow)");
  if (code != 0)
    return g_strdup_printf ("the server gave no reason (ms-diagnostics %u%s%s%s)",
                            code,
                            *quoted_event != '\0' ? ", event \"" : "",
                            quoted_event,
                            *quoted_event != '\0' ? "\"" : "");
  if (*quoted_event != '\0')
    return g_strdup_printf ("the server gave no reason (unknown event \"%s\")", quoted_event);
  return g_strdup ("the server gave no reason");
}

char *
sfb_failure_format_time (gint64 usec)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  g_autoptr (GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;

  return local != NULL ? g_date_time_format (local, "%H:%M:%S") : g_strdup ("?");
}
