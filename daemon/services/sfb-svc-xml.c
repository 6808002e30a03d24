/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-svc-xml.h"

#include "sfb-error.h"

#include <string.h>

#include <libxml/parser.h>

static gpointer
init_libxml (gpointer data)
{
  xmlInitParser ();
  return NULL;
}

static gboolean
has_markup_declaration (const char *data, gsize length)
{
  static const char *const needles[] = { "<!DOCTYPE", "<!ENTITY", "<!doctype", "<!entity" };

  for (gsize i = 0; i < G_N_ELEMENTS (needles); i++)
    if (memmem (data, length, needles[i], strlen (needles[i])) != NULL)
      return TRUE;
  return FALSE;
}

/* Depth and element count, iteratively (no recursion on server data). */
static gboolean
shape_within_limits (xmlNode *root)
{
  xmlNode *node = root;
  guint depth = 1;
  guint count = 1;

  while (node != NULL)
    {
      xmlNode *child = NULL;

      for (xmlNode *c = node->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
          {
            child = c;
            break;
          }
      if (child != NULL)
        {
          if (++depth > SFB_SVC_XML_MAX_DEPTH || ++count > SFB_SVC_XML_MAX_ELEMENTS)
            return FALSE;
          node = child;
          continue;
        }
      while (node != NULL && node != root)
        {
          xmlNode *sibling = node->next;

          while (sibling != NULL && sibling->type != XML_ELEMENT_NODE)
            sibling = sibling->next;
          if (sibling != NULL)
            {
              if (++count > SFB_SVC_XML_MAX_ELEMENTS)
                return FALSE;
              node = sibling;
              break;
            }
          node = node->parent;
          depth--;
        }
      if (node == root)
        break;
    }
  return TRUE;
}

xmlDoc *
sfb_svc_xml_parse (const char *data, gsize length, const char *what, GError **error)
{
  static GOnce once = G_ONCE_INIT;
  g_autoptr (xmlDoc) xml = NULL;
  xmlNode *root;

  g_once (&once, init_libxml, NULL);

  if (data == NULL || length == 0)
    {
      g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "The server's %s document is empty", what);
      return NULL;
    }
  if (length > SFB_SVC_XML_MAX_DOCUMENT || length > G_MAXINT)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The server's %s document is too large (%" G_GSIZE_FORMAT " bytes)",
                   what,
                   length);
      return NULL;
    }
  /* The encoding is forced to UTF-8 below, so this byte search cannot be
   * dodged with another encoding. */
  if (has_markup_declaration (data, length))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The server's %s document contains a DTD, which is not accepted",
                   what);
      return NULL;
    }
  xml = xmlReadMemory (data,
                       (int) length,
                       "server.xml",
                       "UTF-8",
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING
                           | XML_PARSE_NOCDATA);
  if (xml == NULL)
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's %s document is not well-formed", what);
      return NULL;
    }
  root = xmlDocGetRootElement (xml);
  if (xml->intSubset != NULL || xml->extSubset != NULL || root == NULL)
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's %s document is unusable", what);
      return NULL;
    }
  if (!shape_within_limits (root))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The server's %s document is nested too deeply or too large",
                   what);
      return NULL;
    }
  return g_steal_pointer (&xml);
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
sfb_svc_clean_string (const char *value)
{
  char *copy;

  if (value == NULL || !g_utf8_validate (value, -1, NULL))
    return NULL;
  copy = g_strdup (value);
  for (char *p = copy; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return copy;
}
