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

SfbXmlDoc *
sfb_svc_xml_parse (const char *data, gsize length, const char *what, GError **error)
{
  SfbXmlVerdict verdict;
  SfbXmlDoc *xml = sfb_xml_read (data, length, &limits, &verdict);

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
sfb_svc_xml_is (const SfbXmlNode *node, const char *local_name)
{
  return node != NULL && node->type == SFB_XML_NODE_ELEMENT
         && g_str_equal ((const char *) node->name, local_name);
}

SfbXmlNode *
sfb_svc_xml_child (const SfbXmlNode *node, const char *local_name)
{
  if (node == NULL)
    return NULL;
  for (SfbXmlNode *c = node->children; c != NULL; c = c->next)
    if (c->type == SFB_XML_NODE_ELEMENT && (local_name == NULL || sfb_svc_xml_is (c, local_name)))
      return c;
  return NULL;
}

SfbXmlNode *
sfb_svc_xml_next (const SfbXmlNode *node, const char *local_name)
{
  if (node == NULL)
    return NULL;
  for (SfbXmlNode *c = node->next; c != NULL; c = c->next)
    if (c->type == SFB_XML_NODE_ELEMENT && (local_name == NULL || sfb_svc_xml_is (c, local_name)))
      return c;
  return NULL;
}

/* A trimmed copy of @raw, NULL when absent or too long */
static char *
copy_value (const char *raw)
{
  if (raw == NULL || strlen (raw) > SFB_SVC_XML_MAX_VALUE)
    return NULL;
  return g_strstrip (g_strdup (raw));
}

char *
sfb_svc_xml_attr (const SfbXmlNode *node, const char *name)
{
  return copy_value (sfb_xml_node_attr (node, name, NULL));
}

char *
sfb_svc_xml_attr_ns (const SfbXmlNode *node, const char *name, const char *ns_uri)
{
  return copy_value (sfb_xml_node_attr (node, name, ns_uri));
}

gboolean
sfb_svc_xml_attr_uint (const SfbXmlNode *node, const char *name, guint64 max, guint64 *value)
{
  g_autofree char *raw = sfb_svc_xml_attr (node, name);

  return raw != NULL && g_ascii_string_to_unsigned (raw, 10, 0, max, value, NULL);
}

char *
sfb_svc_xml_text (const SfbXmlNode *node)
{
  return node != NULL ? sfb_svc_xml_value (sfb_xml_node_text (node)) : NULL;
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
