/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsing a server's XML safely, for every document the daemon reads from
 * the network (autodiscover, certificate provisioning, the contacts and
 * presence services; Exchange answers later).
 *
 * A document is refused when it is empty, larger than its limit, holds a
 * DTD or entity declaration (nothing to expand, nothing to fetch), is not
 * well-formed UTF-8 XML, or nests deeper or holds more elements than its
 * limits.  libxml2 never touches the network (XML_PARSE_NONET), prints
 * nothing, and the document is walked without recursion.  Callers word the
 * error themselves from the verdict, so each keeps its own message.  The
 * tree is read-only (XML_PARSE_COMPACT): never modify it.
 */
#pragma once

#include <glib.h>

#include <libxml/tree.h>

G_BEGIN_DECLS

typedef enum
{
  SFB_XML_OK,
  SFB_XML_EMPTY,
  SFB_XML_TOO_LARGE,
  SFB_XML_DTD,
  SFB_XML_MALFORMED,
  SFB_XML_NO_ROOT,
  SFB_XML_TOO_DEEP,
  SFB_XML_TOO_MANY_ELEMENTS,
} SfbXmlVerdict;

typedef struct
{
  gsize max_document; /* bytes */
  guint max_depth;    /* levels of elements, the root being level 1 */
  guint max_elements; /* 0: no limit besides the size */
  int parse_options;  /* added to the safe XML_PARSE_* set (e.g. NOBLANKS) */
} SfbXmlLimits;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)

/* Frees the calling thread's parser context, which the reads reuse (its
 * name dictionary and buffers, ~40 kB after a sign-in); the next read
 * makes a new one.  For idle moments (sfb-memory.h). */
void sfb_xml_release_parser (void);

/* The document (free with xmlFreeDoc), or NULL with *@verdict saying why. */
xmlDoc *
sfb_xml_read (const char *data, gsize length, const SfbXmlLimits *limits, SfbXmlVerdict *verdict);

/* The same checks and verdicts as sfb_xml_read() without building a tree:
 * libxml2 calls @sax's SAX2 callbacks (startElementNs, endElementNs,
 * characters; the others are ignored) with @user_data.  Elements are
 * counted and their depth checked as they come, but the verdict is given
 * once the whole document was read, as sfb_xml_read() gives it (a
 * malformed document is MALFORMED however deep): the callbacks see a
 * document that may still be refused, and their results must be dropped
 * unless the verdict is SFB_XML_OK.  Text in CDATA sections comes through
 * characters.  An attribute value holding "&#38;" stands for "&" (libxml2
 * leaves that one reference in values for the tree builder to resolve):
 * see sfb_xml_attr_dup(). */
typedef struct
{
  void (*start_element) (gpointer user_data,
                         const char *local_name,
                         int n_attributes,
                         const xmlChar **attributes); /* 5 per attribute, as in SAX2 */
  void (*end_element) (gpointer user_data, const char *local_name);
  void (*characters) (gpointer user_data, const char *text, int length);
} SfbXmlSax;

void sfb_xml_read_sax (const char *data,
                       gsize length,
                       const SfbXmlLimits *limits,
                       const SfbXmlSax *sax,
                       gpointer user_data,
                       SfbXmlVerdict *verdict);

/* The same callbacks as sfb_xml_read_sax() gives them, from a reader of
 * our own for plain documents (sfb-xml-fast.c says what it reads), without
 * libxml2: TRUE when it read the whole document and accepted it (libxml2
 * would give SFB_XML_OK); FALSE when it gave up.  It gives up on anything
 * it does not read itself, malformed documents and limits exceeded
 * included: the callbacks may then have seen part of the document, and
 * the caller drops what they gathered and reads the document with
 * sfb_xml_read_sax(), which gives the verdict. */
gboolean sfb_xml_read_fast (const char *data,
                            gsize length,
                            const SfbXmlLimits *limits,
                            const SfbXmlSax *sax,
                            gpointer user_data);

/* The value of the attribute @name without a namespace (@ns_uri NULL) or in
 * the namespace @ns_uri, among a SAX2 start element's, as the tree would
 * hold it ("&#38;" resolved); NULL when absent. */
char *sfb_xml_attr_dup (int n_attributes,
                        const xmlChar **attributes,
                        const char *name,
                        const char *ns_uri);

/* The attribute sfb_xml_attr_dup() copies, in place: its value as SAX2
 * hands it over in [*@value, *@end) ("&#38;" not resolved); FALSE when
 * absent. */
gboolean sfb_xml_attr_find (int n_attributes,
                            const xmlChar **attributes,
                            const char *name,
                            const char *ns_uri,
                            const char **value,
                            const char **end);

G_END_DECLS
