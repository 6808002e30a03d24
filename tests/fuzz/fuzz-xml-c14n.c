/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the exclusive canonicaliser (daemon/core/sfb-xml-c14n.c)
 * against libxml2's xmlC14NExecute().  The input is parsed by libxml2 (no
 * network, no DTD: documents with one are skipped, as are those that are not
 * namespace-well-formed); the first elements in document order are each
 * canonicalised both ways, and any difference aborts.
 */
#include "../unit/xml-c14n-oracle.h"

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

/* Both forms of @apex, equal or the process aborts */
static void
compare (xmlDoc *doc, xmlNode *apex)
{
  g_autofree char *reference = oracle_libxml2_c14n (doc, apex);
  g_autofree char *ours = NULL;

  if (reference == NULL)
    return; /* libxml2 refuses it (a relative namespace URI) */
  ours = oracle_sfb_c14n (apex);
  if (g_strcmp0 (ours, reference) != 0)
    {
      fprintf (stderr, "libxml2: %s\nsfb:     %s\n", reference, ours ? ours : "(null)");
      abort ();
    }
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
  if (doc != NULL && (!ctxt->wellFormed || !ctxt->nsWellFormed || doc->intSubset != NULL))
    g_clear_pointer (&doc, xmlFreeDoc);
  xmlFreeParserCtxt (ctxt);
  return doc;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  xmlDoc *doc;
  xmlNode *node;
  guint apexes = 0;

  if (size > G_MAXINT)
    return 0;
  doc = parse (data, size);
  if (doc == NULL)
    return 0;
  /* document order, without recursion */
  node = xmlDocGetRootElement (doc);
  while (node != NULL && apexes < MAX_APEXES)
    {
      if (node->type == XML_ELEMENT_NODE)
        {
          compare (doc, node);
          apexes++;
        }
      if (node->type == XML_ELEMENT_NODE && node->children != NULL)
        {
          node = node->children;
          continue;
        }
      while (node != NULL && node->next == NULL)
        node = node->parent;
      if (node != NULL)
        node = node->next;
    }
  xmlFreeDoc (doc);
  return 0;
}
