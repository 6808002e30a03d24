/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-svc-xml.h"

#include "sfb-error.h"

#include <string.h>

static const SfbXmlLimits limits = {
  .max_document = SFB_SVC_XML_MAX_DOCUMENT,
  .max_depth = SFB_SVC_XML_MAX_DEPTH,
  .max_elements = SFB_SVC_XML_MAX_ELEMENTS,
};

static gboolean
verdict_ok (SfbXmlVerdict verdict, const char *what, gsize length, GError **error)
{
  switch (verdict)
    {
    case SFB_XML_OK:
      return TRUE;
    case SFB_XML_EMPTY:
      g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "The server's %s document is empty", what);
      break;
    case SFB_XML_TOO_LARGE:
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The server's %s document is too large (%" G_GSIZE_FORMAT " bytes)",
                   what,
                   length);
      break;
    case SFB_XML_DTD:
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The server's %s document contains a DTD, which is not accepted",
                   what);
      break;
    case SFB_XML_MALFORMED:
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's %s document is not well-formed", what);
      break;
    case SFB_XML_NO_ROOT:
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's %s document is unusable", what);
      break;
    case SFB_XML_TOO_DEEP:
    case SFB_XML_TOO_MANY_ELEMENTS:
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The server's %s document is nested too deeply or too large",
                   what);
      break;
    }
  return FALSE;
}

xmlDoc *
sfb_svc_xml_parse (const char *data, gsize length, const char *what, GError **error)
{
  SfbXmlVerdict verdict;
  xmlDoc *xml = sfb_xml_read (data, length, &limits, &verdict);

  return verdict_ok (verdict, what, length, error) ? xml : NULL;
}

gboolean
sfb_svc_xml_parse_sax (const char *data,
                       gsize length,
                       const char *what,
                       const SfbXmlSax *sax,
                       gpointer user_data,
                       GError **error)
{
  SfbXmlVerdict verdict;

  sfb_xml_read_sax (data, length, &limits, sax, user_data, &verdict);
  return verdict_ok (verdict, what, length, error);
}

char *
sfb_svc_xml_value (char *raw)
{
  if (raw != NULL && strlen (raw) > SFB_SVC_XML_MAX_VALUE)
    g_clear_pointer (&raw, g_free);
  return raw != NULL ? g_strstrip (raw) : NULL;
}

gboolean
sfb_svc_xml_is (const xmlNode *node, const char *local_name)
{
  return node != NULL && node->type == XML_ELEMENT_NODE && node->name != NULL
         && g_str_equal ((const char *) node->name, local_name);
}

xmlNode *
sfb_svc_xml_child (const xmlNode *node, const char *local_name)
{
  if (node == NULL)
    return NULL;
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && (local_name == NULL || sfb_svc_xml_is (c, local_name)))
      return c;
  return NULL;
}

xmlNode *
sfb_svc_xml_next (const xmlNode *node, const char *local_name)
{
  if (node == NULL)
    return NULL;
  for (xmlNode *c = node->next; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && (local_name == NULL || sfb_svc_xml_is (c, local_name)))
      return c;
  return NULL;
}

static char *
take_value (xmlChar *raw)
{
  char *value;

  if (raw == NULL)
    return NULL;
  if (strlen ((const char *) raw) > SFB_SVC_XML_MAX_VALUE)
    {
      xmlFree (raw);
      return NULL;
    }
  value = g_strstrip (g_strdup ((const char *) raw));
  xmlFree (raw);
  return value;
}

char *
sfb_svc_xml_attr (const xmlNode *node, const char *name)
{
  return take_value (xmlGetNoNsProp (node, (const xmlChar *) name));
}

char *
sfb_svc_xml_attr_ns (const xmlNode *node, const char *name, const char *ns_uri)
{
  return take_value (xmlGetNsProp (node, (const xmlChar *) name, (const xmlChar *) ns_uri));
}

gboolean
sfb_svc_xml_attr_uint (const xmlNode *node, const char *name, guint64 max, guint64 *value)
{
  g_autofree char *raw = sfb_svc_xml_attr (node, name);

  return raw != NULL && g_ascii_string_to_unsigned (raw, 10, 0, max, value, NULL);
}

char *
sfb_svc_xml_text (const xmlNode *node)
{
  return take_value (xmlNodeGetContent (node));
}

gboolean
sfb_svc_xml_parse_bool (const char *value)
{
  return value != NULL && (g_ascii_strcasecmp (value, "true") == 0 || g_str_equal (value, "1"));
}

char *
sfb_svc_clean_string_len (const char *value, gsize length)
{
  char *copy;

  /* g_utf8_validate() refuses a NUL within @length */
  if (value == NULL || !g_utf8_validate (value, length, NULL))
    return NULL;
  copy = g_strndup (value, length);
  for (char *p = copy; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return copy;
}

char *
sfb_svc_clean_string (const char *value)
{
  return value != NULL ? sfb_svc_clean_string_len (value, strlen (value)) : NULL;
}
