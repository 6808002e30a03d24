/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "sfb-content-type.h"

#include <string.h>

/* g_ascii_tolower(), inline (GLib's is a call per byte) */
static inline char
ascii_lower (char c)
{
  return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* [*start, *end) trimmed of ASCII space, as g_strstrip() trims */
static void
trim (const char **start, const char **end)
{
  while (*start < *end && g_ascii_isspace (**start))
    (*start)++;
  while (*end > *start && g_ascii_isspace ((*end)[-1]))
    (*end)--;
}

/* The media type of [@start, @start + @length): up to the first ';',
 * trimmed and in lower case, in one allocation (a presence storm reads
 * three per update). */
char *
sfb_content_type_media_len (const char *start, gsize length)
{
  const char *semi = memchr (start, ';', length);
  const char *end = semi != NULL ? semi : start + length;
  char *media;

  trim (&start, &end);
  media = g_strndup (start, end - start);
  for (char *p = media; *p != '\0'; p++)
    *p = ascii_lower (*p);
  return media;
}

char *
sfb_content_type_media (const char *content_type)
{
  if (content_type == NULL)
    return g_strdup ("");
  return sfb_content_type_media_len (content_type, strlen (content_type));
}

/* The value of parameter @name of item [start, end), or NULL. */
static char *
item_param (const char *start, const char *end, const char *name)
{
  const char *eq = memchr (start, '=', end - start);
  const char *key_end = eq;
  gsize n;

  if (eq == NULL)
    return NULL;
  trim (&start, &key_end);
  n = key_end - start;
  if (n != strlen (name) || g_ascii_strncasecmp (start, name, n) != 0)
    return NULL;
  start = eq + 1;
  trim (&start, &end);
  if (end - start >= 2 && start[0] == '"' && end[-1] == '"')
    return g_strndup (start + 1, end - start - 2);
  return g_strndup (start, end - start);
}

/* The items of @content_type are split on ';' outside double quotes; the
 * first is the media type, and the first 64 are looked at.  Walked in
 * place, from one byte that matters to the next (strcspn() looks at many
 * at once): a presence notification's boundary is read for each contact's
 * change. */
char *
sfb_content_type_param (const char *content_type, const char *name)
{
  const char *start;
  gboolean quoted = FALSE;
  guint n = 0;

  if (content_type == NULL)
    return NULL;
  start = content_type;
  for (const char *p = content_type;; p++)
    {
      /* a backslash escapes only inside quotes, a ';' splits only outside */
      p += strcspn (p, quoted ? "\"\\" : "\";");
      if (*p == '"')
        quoted = !quoted;
      else if (*p == '\\')
        {
          if (p[1] != '\0')
            p++;
        }
      else
        {
          if (n > 0 && n < 64)
            {
              char *value = item_param (start, p, name);

              if (value != NULL)
                return value;
            }
          n++;
          if (*p == '\0' || n >= 64)
            return NULL;
          start = p + 1;
        }
    }
}
