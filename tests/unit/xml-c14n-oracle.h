/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libxml2 side of the differential tests of sfb-xml-c14n (the unit
 * test and the fuzz target): one element of a libxml2 tree canonicalised
 * by libxml2's xmlC14NExecute() and by the event writer, the tree walked
 * into it without recursion.  libxml2 is a test-only dependency here.
 */
#pragma once

#include "sfb-xml-c14n.h"

#include <libxml/c14n.h>
#include <libxml/tree.h>

#include <string.h>

/* The node after @node in document order, its first child first when
 * @descend: a walk without recursion; NULL at the end */
static xmlNode *
oracle_next_node (xmlNode *node, gboolean descend)
{
  if (descend && node->children != NULL)
    return node->children;
  while (node != NULL && node->next == NULL)
    node = node->parent;
  return node != NULL ? node->next : NULL;
}

/* Only @top and what lies under it is visible to libxml2's canonicaliser */
static int
oracle_inside (void *user_data, xmlNode *node, xmlNode *parent)
{
  xmlNode *top = user_data;
  xmlNode *n
      = (node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE) ? parent : node;

  for (; n != NULL; n = n->parent)
    if (n == top)
      return 1;
  return 0;
}

/* libxml2's exclusive canonical form of @apex (without comments), or NULL
 * when libxml2 refuses it (a relative namespace URI, for one) */
static char *
oracle_libxml2_c14n (xmlDoc *doc, xmlNode *apex)
{
  xmlOutputBuffer *buf = xmlAllocOutputBuffer (NULL);
  char *out = NULL;

  if (xmlC14NExecute (doc, oracle_inside, apex, XML_C14N_EXCLUSIVE_1_0, NULL, 0, buf) >= 0)
    out = g_strndup ((const char *) xmlOutputBufferGetContent (buf), xmlOutputBufferGetSize (buf));
  xmlOutputBufferClose (buf);
  return out;
}

static void
oracle_start_element (SfbXmlC14n *c, xmlNode *element)
{
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (xmlFree);
  g_autoptr (GArray) attrs = g_array_new (FALSE, TRUE, sizeof (SfbXmlC14nAttr));

  for (xmlAttr *a = element->properties; a != NULL; a = a->next)
    {
      xmlChar *value = xmlNodeGetContent ((xmlNode *) a);
      SfbXmlC14nAttr attr = {
        .prefix = a->ns != NULL ? (const char *) a->ns->prefix : NULL,
        .local_name = (const char *) a->name,
        .ns_uri = a->ns != NULL ? (const char *) a->ns->href : NULL,
        .value = value != NULL ? (const char *) value : "",
      };

      g_ptr_array_add (values, value);
      g_array_append_val (attrs, attr);
    }
  sfb_xml_c14n_start_element (c,
                              element->ns != NULL ? (const char *) element->ns->prefix : NULL,
                              (const char *) element->name,
                              element->ns != NULL ? (const char *) element->ns->href : NULL,
                              (const SfbXmlC14nAttr *) (void *) attrs->data,
                              attrs->len);
}

/* Feeds @node to @c; comments are left out, as the canonical form does */
static void
oracle_feed_node (SfbXmlC14n *c, xmlNode *node)
{
  const char *content = (const char *) node->content;

  switch (node->type)
    {
    case XML_ELEMENT_NODE:
      oracle_start_element (c, node);
      break;
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
      sfb_xml_c14n_text (c, content, content != NULL ? strlen (content) : 0);
      break;
    case XML_PI_NODE:
      sfb_xml_c14n_processing_instruction (c, (const char *) node->name, content);
      break;
    default:
      break;
    }
}

/* The writer's canonical form of @apex, from a walk of its subtree */
static char *
oracle_sfb_c14n (xmlNode *apex)
{
  SfbXmlC14n *c = sfb_xml_c14n_new ();
  xmlNode *node = apex;

  for (;;)
    {
      oracle_feed_node (c, node);
      if (node->type == XML_ELEMENT_NODE && node->children != NULL)
        {
          node = node->children;
          continue;
        }
      /* leave @node, and every ancestor it was the last child of */
      for (;;)
        {
          if (node->type == XML_ELEMENT_NODE)
            sfb_xml_c14n_end_element (c);
          if (node == apex)
            return sfb_xml_c14n_finish (c);
          if (node->next != NULL)
            {
              node = node->next;
              break;
            }
          node = node->parent;
        }
    }
}
