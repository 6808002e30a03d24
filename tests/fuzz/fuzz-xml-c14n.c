/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the exclusive canonicaliser (daemon/core/sfb-xml-c14n.c)
 * against libxml2's xmlC14NExecute().  The input is parsed by libxml2 (no
 * network, no DTD: documents with one are skipped, as are those that are not
 * namespace-well-formed); the first elements in document order are each
 * canonicalised both ways, and any difference aborts.  The daemon's own
 * path is held to the same forms: the document read by sfb_xml_read()
 * (expat, our tree), each of those elements given to
 * sfb_xml_canonicalize().
 */
#include "../unit/xml-c14n-oracle.h"
#include "sfb-xml.h"

#include <libxml/parser.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_APEXES 16

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
silent (void *user_data, const char *format, ...)
{
}

static void
silent_structured (void *user_data, const xmlError *error)
{
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  xmlInitParser ();
  xmlSetGenericErrorFunc (NULL, silent);
  xmlSetStructuredErrorFunc (NULL, (xmlStructuredErrorFunc) silent_structured);
  return 0;
}

static void
same (const char *reference, const char *ours, const char *how)
{
  if (g_strcmp0 (ours, reference) != 0)
    {
      fprintf (stderr, "libxml2: %s\n%s: %s\n", reference, how, ours ? ours : "(null)");
      abort ();
    }
}

/* The forms of @apex, equal or the process aborts: libxml2's, the
 * canonicaliser's fed from libxml2's tree, and sfb_xml_canonicalize() of
 * @ours, the same element in our tree (NULL: the daemon refused the
 * document) */
static void
compare (xmlDoc *doc, xmlNode *apex, const SfbXmlNode *ours)
{
  g_autofree char *reference = oracle_libxml2_c14n (doc, apex);
  g_autofree char *from_libxml2 = NULL;
  g_autofree char *from_tree = NULL;

  if (reference == NULL)
    return; /* libxml2 refuses it (a relative namespace URI) */
  from_libxml2 = oracle_sfb_c14n (apex);
  same (reference, from_libxml2, "sfb");
  if (ours == NULL)
    return;
  from_tree = sfb_xml_canonicalize (ours);
  same (reference, from_tree, "tree");
}

/* The next element after @n in document order, without recursion */
static const SfbXmlNode *
next_element (const SfbXmlNode *n)
{
  do
    {
      if (n->type == SFB_XML_NODE_ELEMENT && n->children != NULL)
        n = n->children;
      else
        {
          while (n != NULL && n->next == NULL)
            n = n->parent;
          if (n != NULL)
            n = n->next;
        }
    }
  while (n != NULL && n->type != SFB_XML_NODE_ELEMENT);
  return n;
}

/* libxml2 keeps "&#38;" for "&" in namespace names (its tree holds
 * "a&#38;b" for xmlns:p="a&amp;b", and its canonical form writes that as
 * it is): no reference to compare with */
static gboolean
has_amp_in_namespace (xmlNode *root)
{
  for (xmlNode *node = root; node != NULL;
       node = oracle_next_node (node, node->type == XML_ELEMENT_NODE))
    for (xmlNs *ns = node->type == XML_ELEMENT_NODE ? node->nsDef : NULL; ns != NULL; ns = ns->next)
      if (ns->href != NULL && strchr ((const char *) ns->href, '&') != NULL)
        return TRUE;
  return FALSE;
}

static xmlDoc *
parse (const uint8_t *data, size_t size)
{
  xmlParserCtxt *ctxt = xmlNewParserCtxt ();
  xmlDoc *doc;

  if (ctxt == NULL)
    return NULL;
  doc = xmlCtxtReadMemory (ctxt,
                           (const char *) data,
                           (int) size,
                           NULL,
                           NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc != NULL
      && (!ctxt->wellFormed || !ctxt->nsWellFormed || doc->intSubset != NULL
          || has_amp_in_namespace (xmlDocGetRootElement (doc))))
    g_clear_pointer (&doc, xmlFreeDoc);
  xmlFreeParserCtxt (ctxt);
  return doc;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const SfbXmlLimits loose = { 64 * 1024, 4096, 0, FALSE };
  g_autoptr (SfbXmlDoc) tree = NULL;
  const SfbXmlNode *ours;
  SfbXmlVerdict verdict;
  xmlDoc *doc;
  xmlNode *node;
  guint apexes = 0;

  if (size > G_MAXINT)
    return 0;
  doc = parse (data, size);
  if (doc == NULL)
    return 0;
  /* the daemon may refuse what libxml2 read (a "<!DOCTYPE" in a comment, a
   * NUL after the root): then libxml2's tree alone is compared */
  tree = sfb_xml_read ((const char *) data, size, &loose, &verdict);
  ours = tree != NULL ? sfb_xml_doc_root (tree) : NULL;
  /* document order, without recursion */
  node = xmlDocGetRootElement (doc);
  for (; node != NULL && apexes < MAX_APEXES;
       node = oracle_next_node (node, node->type == XML_ELEMENT_NODE))
    if (node->type == XML_ELEMENT_NODE)
      {
        compare (doc, node, ours);
        ours = ours != NULL ? next_element (ours) : NULL;
        apexes++;
      }
  xmlFreeDoc (doc);
  return 0;
}
