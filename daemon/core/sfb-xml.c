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

void
sfb_xml_release_parser (void)
{
  ReusableCtxt *reusable = g_private_get (&ctxt_key);

  if (reusable != NULL)
    g_clear_pointer (&reusable->ctxt, xmlFreeParserCtxt);
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
static gboolean
parse_utf8 (xmlParserCtxt *ctxt, const char *data, gsize length, int options)
{
  xmlParserInputBuffer *buffer;
  xmlParserInput *input;

  buffer = xmlParserInputBufferCreateMem (data, (int) length, XML_CHAR_ENCODING_NONE);
  if (buffer == NULL)
    return FALSE;
  /* the whole document is in the buffer: without a read callback libxml2
   * stops asking for more near its end (it did at every step of the last
   * 250 bytes) */
  buffer->readcallback = NULL;
  input = xmlNewIOInputStream (ctxt, buffer, XML_CHAR_ENCODING_NONE);
  if (input == NULL)
    {
      xmlFreeParserInputBuffer (buffer);
      return FALSE;
    }
  inputPush (ctxt, input);
  xmlCtxtUseOptions (ctxt, options | XML_PARSE_IGNORE_ENC);
  ctxt->encoding = xmlStrdup ((const xmlChar *) "UTF-8");
  xmlSwitchEncoding (ctxt, XML_CHAR_ENCODING_UTF8);
  input->filename = (char *) xmlStrdup ((const xmlChar *) "server.xml");
  xmlParseDocument (ctxt);
  return ctxt->wellFormed;
}

static xmlDoc *
read_utf8 (xmlParserCtxt *ctxt, const char *data, gsize length, int options)
{
  xmlDoc *doc = NULL;

  xmlCtxtReset (ctxt);
  if (parse_utf8 (ctxt, data, length, options))
    doc = ctxt->myDoc;
  else if (ctxt->myDoc != NULL)
    xmlFreeDoc (ctxt->myDoc);
  ctxt->myDoc = NULL;
  return doc;
}

#define SAFE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

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
  doc = read_utf8 (ctxt, data, length, SAFE_OPTIONS | XML_PARSE_COMPACT | limits->parse_options);
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

/* ---- without a tree ---- */

typedef struct
{
  const SfbXmlSax *sax;
  gpointer user_data;
  const SfbXmlLimits *limits;
  guint depth;
  guint count;
  gboolean dtd;
  /* the first limit exceeded, in document order: no callback after it
   * (the document is refused), so the callbacks never see an element
   * beyond the limits */
  SfbXmlVerdict shape;
} SaxRun;

static void
sax_start (void *ctx,
           const xmlChar *local_name,
           const xmlChar *prefix,
           const xmlChar *uri,
           int n_namespaces,
           const xmlChar **namespaces,
           int n_attributes,
           int n_defaulted,
           const xmlChar **attributes)
{
  SaxRun *run = ctx;
  g_autofree char *qname = NULL;

  run->depth++;
  run->count++;
  if (run->shape == SFB_XML_OK && run->depth > 1)
    {
      /* as check_shape() walks the tree */
      if (run->depth > run->limits->max_depth)
        run->shape = SFB_XML_TOO_DEEP;
      else if (run->limits->max_elements != 0 && run->count > run->limits->max_elements)
        run->shape = SFB_XML_TOO_MANY_ELEMENTS;
    }
  if (run->shape != SFB_XML_OK || run->sax->start_element == NULL)
    return;
  /* the tree names an element whose prefix is not declared "prefix:name" */
  if (prefix != NULL && uri == NULL)
    qname = g_strconcat ((const char *) prefix, ":", (const char *) local_name, NULL);
  run->sax->start_element (
      run->user_data, qname != NULL ? qname : (const char *) local_name, n_attributes, attributes);
}

static void
sax_end (void *ctx, const xmlChar *local_name, const xmlChar *prefix, const xmlChar *uri)
{
  SaxRun *run = ctx;
  g_autofree char *qname = NULL;

  run->depth--;
  if (run->shape != SFB_XML_OK || run->sax->end_element == NULL)
    return;
  if (prefix != NULL && uri == NULL)
    qname = g_strconcat ((const char *) prefix, ":", (const char *) local_name, NULL);
  run->sax->end_element (run->user_data, qname != NULL ? qname : (const char *) local_name);
}

static void
sax_characters (void *ctx, const xmlChar *text, int length)
{
  SaxRun *run = ctx;

  if (run->depth == 0 || run->shape != SFB_XML_OK || run->sax->characters == NULL)
    return;
  run->sax->characters (run->user_data, (const char *) text, length);
}

static void
sax_internal_subset (void *ctx,
                     const xmlChar *name,
                     const xmlChar *external_id,
                     const xmlChar *system_id)
{
  SaxRun *run = ctx;

  run->dtd = TRUE;
}

void
sfb_xml_read_sax (const char *data,
                  gsize length,
                  const SfbXmlLimits *limits,
                  const SfbXmlSax *sax,
                  gpointer user_data,
                  SfbXmlVerdict *verdict)
{
  static GOnce once = G_ONCE_INIT;
  xmlSAXHandler handler = { 0 };
  SaxRun run = { sax, user_data, limits, 0, 0, FALSE, SFB_XML_OK };
  xmlParserCtxt *ctxt;
  xmlSAXHandler *tree_sax;
  void *tree_user_data;
  gboolean well_formed;

  g_return_if_fail (limits != NULL && sax != NULL && verdict != NULL);

  g_once (&once, init_libxml, NULL);
  *verdict = check_input (data, length, limits);
  if (*verdict != SFB_XML_OK)
    return;
  ctxt = parser_ctxt ();
  if (ctxt == NULL)
    {
      *verdict = SFB_XML_MALFORMED;
      return;
    }
  /* No startDocument: no document is built.  xmlCtxtUseOptions() edits
   * the handler (NOCDATA, NOERROR): the reused context's own is put back
   * afterwards, untouched. */
  handler.initialized = XML_SAX2_MAGIC;
  handler.startElementNs = sax_start;
  handler.endElementNs = sax_end;
  handler.characters = sax_characters;
  handler.ignorableWhitespace = sax_characters;
  handler.internalSubset = sax_internal_subset;
  xmlCtxtReset (ctxt);
  tree_sax = ctxt->sax;
  tree_user_data = ctxt->userData;
  ctxt->sax = &handler;
  ctxt->userData = &run;
  well_formed = parse_utf8 (ctxt, data, length, SAFE_OPTIONS | limits->parse_options);
  ctxt->sax = tree_sax;
  ctxt->userData = tree_user_data;
  if (ctxt->myDoc != NULL)
    g_clear_pointer (&ctxt->myDoc, xmlFreeDoc);
  if (!well_formed)
    *verdict = SFB_XML_MALFORMED;
  else if (run.dtd)
    *verdict = SFB_XML_DTD;
  else if (run.count == 0)
    *verdict = SFB_XML_NO_ROOT;
  else
    *verdict = run.shape;
}

gboolean
sfb_xml_attr_find (int n_attributes,
                   const xmlChar **attributes,
                   const char *name,
                   const char *ns_uri,
                   const char **value,
                   const char **end)
{
  for (int i = 0; i < n_attributes; i++)
    {
      const xmlChar **a = attributes + 5 * i; /* name, prefix, URI, value, end */

      if (strcmp ((const char *) a[0], name) != 0)
        continue;
      /* no namespace: no prefix either (the tree names an attribute whose
       * prefix is not declared "prefix:name") */
      if (ns_uri == NULL ? a[1] != NULL || a[2] != NULL
                         : a[2] == NULL || strcmp ((const char *) a[2], ns_uri) != 0)
        continue;
      *value = (const char *) a[3];
      *end = (const char *) a[4];
      return TRUE;
    }
  return FALSE;
}

char *
sfb_xml_attr_dup (int n_attributes,
                  const xmlChar **attributes,
                  const char *name,
                  const char *ns_uri)
{
  const char *value, *end;
  GString *out;

  if (!sfb_xml_attr_find (n_attributes, attributes, name, ns_uri, &value, &end))
    return NULL;
  if (memchr (value, '&', end - value) == NULL)
    return g_strndup (value, end - value);
  out = g_string_sized_new (end - value);
  for (const char *p = value; p < end; p++)
    {
      g_string_append_c (out, *p);
      if (*p == '&' && end - p >= 5 && memcmp (p, "&#38;", 5) == 0)
        p += 4;
    }
  return g_string_free (out, FALSE);
}
