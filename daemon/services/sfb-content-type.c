/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "sfb-content-type.h"

#include <string.h>

/* @value split on ';' outside double quotes (at most 64 items). */
static GStrv
split_params (const char *value)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  const char *start = value;
  gboolean quoted = FALSE;
  guint n = 0;

  for (const char *p = value;; p++)
    {
      if (*p == '"')
        quoted = !quoted;
      else if (*p == '\\' && quoted && p[1] != '\0')
        p++;
      else if ((*p == ';' && !quoted) || *p == '\0')
        {
          if (n++ < 64)
            {
              g_autofree char *item = g_strndup (start, p - start);

              g_strv_builder_add (builder, item);
            }
          if (*p == '\0')
            break;
          start = p + 1;
        }
    }
  return g_strv_builder_end (builder);
}

char *
sfb_content_type_media (const char *content_type)
{
  g_autofree char *media = NULL;
  const char *semi;

  if (content_type == NULL)
    return g_strdup ("");
  semi = strchr (content_type, ';');
  media = g_strndup (content_type,
                     semi != NULL ? (gsize) (semi - content_type) : strlen (content_type));
  return g_ascii_strdown (g_strstrip (media), -1);
}

char *
sfb_content_type_param (const char *content_type, const char *name)
{
  g_auto (GStrv) items = NULL;

  if (content_type == NULL)
    return NULL;
  /* a boundary may hold ';' only when quoted: split on ';' outside quotes */
  items = split_params (content_type);
  for (guint i = 1; items[i] != NULL; i++)
    {
      char *eq = strchr (items[i], '=');
      g_autofree char *key = NULL;
      char *value;
      gsize n;

      if (eq == NULL)
        continue;
      key = g_strstrip (g_strndup (items[i], eq - items[i]));
      if (g_ascii_strcasecmp (key, name) != 0)
        continue;
      value = g_strstrip (eq + 1);
      n = strlen (value);
      if (n >= 2 && value[0] == '"' && value[n - 1] == '"')
        return g_strndup (value + 1, n - 2);
      return g_strdup (value);
    }
  return NULL;
}
