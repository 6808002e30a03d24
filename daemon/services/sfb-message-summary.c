/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-message-summary.h"

#include "sfb-error.h"

#include <string.h>

/* The leading digits of @text as a count, capped; FALSE when none. */
static gboolean
parse_count (const char *text, guint *count)
{
  guint64 value = 0;
  const char *p = text;

  while (*p == ' ' || *p == '\t')
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; g_ascii_isdigit (*p); p++)
    value = MIN (value * 10 + (guint) (*p - '0'), (guint64) SFB_MESSAGE_SUMMARY_MAX_COUNT);
  *count = (guint) value;
  return TRUE;
}

/* One "Name: value" line; the value with blanks around it removed, or NULL. */
static char *
header_value (const char *line, const char *name)
{
  gsize name_len = strlen (name);
  const char *p;

  if (g_ascii_strncasecmp (line, name, name_len) != 0)
    return NULL;
  p = line + name_len;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p != ':')
    return NULL;
  return g_strstrip (g_strdup (p + 1));
}

gboolean
sfb_message_summary_parse (const char *data, gsize length, guint *unread_voice, GError **error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  int waiting = -1; /* unknown */
  gboolean have_voice = FALSE;
  guint voice = 0;

  g_return_val_if_fail (unread_voice != NULL, FALSE);
  if (length > SFB_MESSAGE_SUMMARY_MAX_BODY || (length > 0 && memchr (data, '\0', length)))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_SERVER_REJECTED,
                   "the message summary is over %d bytes or holds a NUL byte",
                   SFB_MESSAGE_SUMMARY_MAX_BODY);
      return FALSE;
    }
  text = g_strndup (data, length);
  lines = g_strsplit_set (text, "\r\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      g_autofree char *value = NULL;

      if ((value = header_value (*line, "Messages-Waiting")) != NULL)
        waiting = g_ascii_strcasecmp (value, "yes") == 0 ? 1 : 0;
      else if (!have_voice && (value = header_value (*line, "Voice-Message")) != NULL)
        have_voice = parse_count (value, &voice);
    }
  if (waiting < 0)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_SERVER_REJECTED,
                           "the message summary has no Messages-Waiting line");
      return FALSE;
    }
  *unread_voice = have_voice ? voice : (guint) waiting;
  return TRUE;
}
