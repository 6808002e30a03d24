/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-core"

#include "sfb-xml.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

static gpointer
init_libxml (gpointer data)
{
  xmlInitParser ();
  return NULL;
}

/* One parser context per thread, reused: a new one per document (its
 * buffers, its name dictionary) was a good part of the cost of each
 * presence notification.  Its dictionary keeps the element and attribute
 * names seen, which servers choose: the context is replaced after
 * CTXT_MAX_USES documents or once the dictionary holds CTXT_MAX_NAMES. */
#define CTXT_MAX_USES 1000
#define CTXT_MAX_NAMES 4096

typedef struct
{
  xmlParserCtxt *ctxt;
  guint uses;
} ReusableCtxt;

static void
reusable_ctxt_free (gpointer data)
{
  ReusableCtxt *reusable = data;

  if (reusable->ctxt != NULL)
    xmlFreeParserCtxt (reusable->ctxt);
  g_free (reusable);
}

static GPrivate ctxt_key = G_PRIVATE_INIT (reusable_ctxt_free);

static xmlParserCtxt *
parser_ctxt (void)
{
  ReusableCtxt *reusable = g_private_get (&ctxt_key);

  if (reusable == NULL)
    {
      reusable = g_new0 (ReusableCtxt, 1);
      g_private_set (&ctxt_key, reusable);
    }
  if (reusable->ctxt != NULL
      && (reusable->uses >= CTXT_MAX_USES || xmlDictSize (reusable->ctxt->dict) > CTXT_MAX_NAMES))
    g_clear_pointer (&reusable->ctxt, xmlFreeParserCtxt);
  if (reusable->ctxt == NULL)
    {
      reusable->ctxt = xmlNewParserCtxt ();
      reusable->uses = 0;
    }
  reusable->uses++;
  return reusable->ctxt;
}

/* The encoding is forced to UTF-8 when parsing, so this byte search cannot
 * be dodged with another encoding.  One pass over the "<!" in the
 * document, not one per declaration looked for. */
static gboolean
has_markup_declaration (const char *data, gsize length)
{
  static const char *const names[] = { "DOCTYPE", "ENTITY", "doctype", "entity" };
  const char *end = data + length;

  /* memchr, not memmem: glibc's memmem is slow for a two-byte needle */
  for (const char *p = memchr (data, '<', length); p != NULL;
       p = memchr (p + 1, '<', end - (p + 1)))
    {
      gsize rest = end - (p + 1);

      if (rest == 0 || p[1] != '!')
        continue;
      for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
        {
          gsize n = strlen (names[i]);

          if (rest - 1 >= n && memcmp (p + 2, names[i], n) == 0)
            return TRUE;
        }
    }
  return FALSE;
}

static xmlNode *
first_element (xmlNode *node)
{
  while (node != NULL && node->type != XML_ELEMENT_NODE)
    node = node->next;
  return node;
}

/* Depth and element count in one pre-order walk, iteratively (no
 * recursion on server data). */
static SfbXmlVerdict
check_shape (xmlNode *root, const SfbXmlLimits *limits)
{
  xmlNode *node = root;
  guint depth = 1;
  guint count = 1;

  while (node != NULL)
    {
      xmlNode *next = first_element (node->children);

      if (next != NULL)
        depth++;
      while (next == NULL && node != root)
        {
          next = first_element (node->next);
          if (next == NULL)
            {
              node = node->parent;
              depth--;
            }
        }
      if (next == NULL)
        break;
      if (depth > limits->max_depth)
        return SFB_XML_TOO_DEEP;
      if (limits->max_elements != 0 && ++count > limits->max_elements)
        return SFB_XML_TOO_MANY_ELEMENTS;
      node = next;
    }
  return SFB_XML_OK;
}

static SfbXmlVerdict
check_input (const char *data, gsize length, const SfbXmlLimits *limits)
{
  if (data == NULL || length == 0)
    return SFB_XML_EMPTY;
  if (length > limits->max_document || length > G_MAXINT)
    return SFB_XML_TOO_LARGE;
  if (has_markup_declaration (data, length))
    return SFB_XML_DTD;
  return SFB_XML_OK;
}

/* What xmlCtxtReadMemory (ctxt, data, length, "server.xml", "UTF-8",
 * options) does, without its UTF-8 to UTF-8 converter: given an encoding
 * name, libxml2 (2.9) pipes the document through a converter that only
 * copies, in small chunks, which was a third of the parsing time of a
 * presence notification.  Setting the context's encoding keeps what the
 * encoding name did: no detection from the first bytes (a UTF-16 byte
 * order mark is malformed UTF-8), a UTF-8 byte order mark skipped; and
 * XML_PARSE_IGNORE_ENC keeps a declared encoding from switching away from
 * UTF-8 (the converter read such a document as UTF-8 too). */
static xmlDoc *
read_utf8 (xmlParserCtxt *ctxt, const char *data, gsize length, int options)
{
  xmlParserInputBuffer *buffer;
  xmlParserInput *input;
  xmlDoc *doc = NULL;

  xmlCtxtReset (ctxt);
  buffer = xmlParserInputBufferCreateMem (data, (int) length, XML_CHAR_ENCODING_NONE);
  if (buffer == NULL)
    return NULL;
  /* the whole document is in the buffer: without a read callback libxml2
   * stops asking for more near its end (it did at every step of the last
   * 250 bytes) */
  buffer->readcallback = NULL;
  input = xmlNewIOInputStream (ctxt, buffer, XML_CHAR_ENCODING_NONE);
  if (input == NULL)
    {
      xmlFreeParserInputBuffer (buffer);
      return NULL;
    }
  inputPush (ctxt, input);
  xmlCtxtUseOptions (ctxt, options | XML_PARSE_IGNORE_ENC);
  ctxt->encoding = xmlStrdup ((const xmlChar *) "UTF-8");
  xmlSwitchEncoding (ctxt, XML_CHAR_ENCODING_UTF8);
  input->filename = (char *) xmlStrdup ((const xmlChar *) "server.xml");
  xmlParseDocument (ctxt);
  if (ctxt->wellFormed)
    doc = ctxt->myDoc;
  else if (ctxt->myDoc != NULL)
    xmlFreeDoc (ctxt->myDoc);
  ctxt->myDoc = NULL;
  return doc;
}

xmlDoc *
sfb_xml_read (const char *data, gsize length, const SfbXmlLimits *limits, SfbXmlVerdict *verdict)
{
  static GOnce once = G_ONCE_INIT;
  xmlParserCtxt *ctxt;
  xmlDoc *doc;

  g_return_val_if_fail (limits != NULL && verdict != NULL, NULL);

  g_once (&once, init_libxml, NULL);
  *verdict = check_input (data, length, limits);
  if (*verdict != SFB_XML_OK)
    return NULL;
  ctxt = parser_ctxt ();
  if (ctxt == NULL)
    {
      *verdict = SFB_XML_MALFORMED;
      return NULL;
    }
  /* XML_PARSE_COMPACT: short text nodes live inside the node (one allocation
   * less each); the tree must then not be modified, and no caller does */
  doc = read_utf8 (ctxt,
                   data,
                   length,
                   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA
                       | XML_PARSE_COMPACT | limits->parse_options);
  if (doc == NULL)
    *verdict = SFB_XML_MALFORMED;
  else if (doc->intSubset != NULL || doc->extSubset != NULL)
    *verdict = SFB_XML_DTD;
  else if (xmlDocGetRootElement (doc) == NULL)
    *verdict = SFB_XML_NO_ROOT;
  else
    *verdict = check_shape (xmlDocGetRootElement (doc), limits);
  if (*verdict != SFB_XML_OK)
    g_clear_pointer (&doc, xmlFreeDoc);
  return doc;
}
