/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-failure.h"

#include "sfb-text.h"

#include <string.h>

char *
sfb_failure_quote (const char *text, gsize max_chars)
{
  return sfb_text_quote (text, -1, max_chars, SFB_TEXT_QUOTE_SPACES);
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
