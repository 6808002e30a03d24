/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "sfb-xml-events.h"

#include "sfb-svc-xml.h"

#include <string.h>

static void
put_escaped (GString *out, const char *text, gsize length)
{
  for (gsize i = 0; i < length; i++)
    {
      guchar c = text[i];

      if (c < 0x20 || c == '\\' || c == '|' || c == '}')
        g_string_append_printf (out, "\\%02x", c);
      else
        g_string_append_c (out, c);
    }
}

static void
on_start (gpointer user_data, const char *name, int n, const xmlChar **attributes)
{
  GString *out = user_data;

  g_string_append_printf (out, "}<%s", name);
  for (int i = 0; i < n; i++)
    {
      const char **a = (const char **) attributes + 5 * i;

      g_string_append_printf (
          out, " %s|%s|%s|", a[0], a[1] ? a[1] : "(none)", a[2] ? a[2] : "(none)");
      put_escaped (out, a[3], a[4] - a[3]);
    }
  g_string_append (out, ">{");
}

static void
on_end (gpointer user_data, const char *name)
{
  g_string_append_printf (user_data, "}</%s>{", name);
}

static void
on_text (gpointer user_data, const char *text, int length)
{
  put_escaped (user_data, text, length);
}

static const SfbXmlSax recorder = { on_start, on_end, on_text };

char *
sfb_xml_events_fast (const char *data, gsize length, const SfbXmlLimits *limits)
{
  GString *out = g_string_new ("{");

  if (!sfb_xml_read_fast (data, length, limits, &recorder, out))
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

char *
sfb_xml_events_libxml (const char *data,
                       gsize length,
                       const SfbXmlLimits *limits,
                       SfbXmlVerdict *verdict)
{
  GString *out = g_string_new ("{");

  sfb_xml_read_sax (data, length, limits, &recorder, out, verdict);
  return g_string_free (out, FALSE);
}

const SfbXmlLimits sfb_xml_events_svc_limits = {
  SFB_SVC_XML_MAX_DOCUMENT,
  SFB_SVC_XML_MAX_DEPTH,
  SFB_SVC_XML_MAX_ELEMENTS,
  0,
};

SfbXmlEventsMatch
sfb_xml_events_compare (const char *data, gsize length, const SfbXmlLimits *limits)
{
  g_autofree char *fast = sfb_xml_events_fast (data, length, limits);
  SfbXmlVerdict verdict = SFB_XML_OK;
  g_autofree char *libxml = NULL;

  if (fast == NULL)
    return SFB_XML_EVENTS_FAST_GAVE_UP;
  libxml = sfb_xml_events_libxml (data, length, limits, &verdict);
  if (verdict == SFB_XML_OK && strcmp (fast, libxml) == 0)
    return SFB_XML_EVENTS_SAME;
  g_printerr ("fast reader: %s\nlibxml2 (verdict %d): %s\n", fast, (int) verdict, libxml);
  return SFB_XML_EVENTS_DIFFERENT;
}
