/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsing a server's XML safely, for every document the daemon reads from
 * the network (autodiscover, certificate provisioning, the contacts,
 * presence and Exchange services).
 *
 * A document is refused when it is empty, larger than its limit, holds a
 * DTD or entity declaration (nothing to expand, nothing to fetch), is not
 * well-formed and namespace-well-formed UTF-8 XML, or nests deeper or
 * holds more elements than its limits.  expat reads it (docs/architecture.md
 * says why): it never touches the network, prints nothing, and a read
 * stops at the first limit exceeded.  Trees are walked and freed without
 * recursion.  Callers word the error themselves from the verdict, so each
 * keeps its own message.
 */
#pragma once

#include <glib.h>

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
  gsize max_document;   /* bytes */
  guint max_depth;      /* levels of elements, the root being level 1 */
  guint max_elements;   /* 0: no limit besides the size */
  gboolean drop_blanks; /* the tree leaves out whitespace between elements */
} SfbXmlLimits;

/* An attribute: namespace declarations are not attributes. */
typedef struct
{
  const char *name;   /* local name */
  const char *prefix; /* NULL: none */
  const char *ns_uri; /* NULL: no namespace */
  const char *value;  /* value_length bytes, references resolved; NUL-terminated in a tree */
  gsize value_length;
} SfbXmlAttr;

typedef enum
{
  SFB_XML_NODE_ELEMENT,
  SFB_XML_NODE_TEXT, /* character data and CDATA sections, adjacent ones joined */
  SFB_XML_NODE_PI,   /* a processing instruction inside the root */
} SfbXmlNodeType;

/* A read-only tree: comments are left out; nothing outside the root
 * element is kept. */
typedef struct _SfbXmlNode SfbXmlNode;
struct _SfbXmlNode
{
  SfbXmlNodeType type;
  const char *name;    /* element: local name; PI: target; text: NULL */
  const char *prefix;  /* element: NULL when none */
  const char *ns_uri;  /* element: NULL when in no namespace */
  const char *content; /* text, PI: content_length bytes, NUL-terminated; element: NULL */
  gsize content_length;
  const SfbXmlAttr *attrs;
  guint n_attrs;
  SfbXmlNode *parent; /* NULL for the root */
  SfbXmlNode *children;
  SfbXmlNode *next;
};

typedef struct _SfbXmlDoc SfbXmlDoc;

void sfb_xml_doc_free (SfbXmlDoc *doc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbXmlDoc, sfb_xml_doc_free)

/* The root element (never NULL). */
SfbXmlNode *sfb_xml_doc_root (const SfbXmlDoc *doc);

/* The document (free with sfb_xml_doc_free()), or NULL with *@verdict
 * saying why.  Whitespace-only text is kept, except, with
 * @limits->drop_blanks, in an element that holds elements and no other
 * text. */
SfbXmlDoc *
sfb_xml_read (const char *data, gsize length, const SfbXmlLimits *limits, SfbXmlVerdict *verdict);

/* The value of @node's attribute @name in the namespace @ns_uri (NULL: in
 * no namespace), or NULL. */
const char *sfb_xml_node_attr (const SfbXmlNode *node, const char *name, const char *ns_uri);
/* The first attribute named @name whatever its namespace, or NULL. */
const char *sfb_xml_node_attr_any_ns (const SfbXmlNode *node, const char *name);
/* The text of @node and of all its descendants, in document order (a
 * text node: its own text); never NULL for a node. */
char *sfb_xml_node_text (const SfbXmlNode *node);

/* The exclusive canonical form (sfb-xml-c14n.h) of @element and what it
 * holds, as a document of its own, or NULL. */
char *sfb_xml_canonicalize (const SfbXmlNode *element);

/* The same checks and verdicts as sfb_xml_read() without building a tree:
 * @sax's callbacks are called with @user_data.  The reading stops at the
 * first limit exceeded, which gives the verdict, or at the first error;
 * the callbacks see a document that may still be refused, and their
 * results must be dropped unless the verdict is SFB_XML_OK.  Text comes in
 * pieces (CDATA sections included), references resolved. */
typedef struct
{
  void (*start_element) (gpointer user_data,
                         const char *local_name,
                         const SfbXmlAttr *attrs,
                         guint n_attrs);
  void (*end_element) (gpointer user_data, const char *local_name);
  void (*characters) (gpointer user_data, const char *text, gsize length);
} SfbXmlSax;

void sfb_xml_read_sax (const char *data,
                       gsize length,
                       const SfbXmlLimits *limits,
                       const SfbXmlSax *sax,
                       gpointer user_data,
                       SfbXmlVerdict *verdict);

/* The same callbacks as sfb_xml_read_sax() gives them, from a reader of
 * our own for plain documents (sfb-xml-fast.c says what it reads), without
 * expat: TRUE when it read the whole document and accepted it (expat
 * would give SFB_XML_OK); FALSE when it gave up.  It gives up on anything
 * it does not read itself, malformed documents and limits exceeded
 * included: the callbacks may then have seen part of the document, and
 * the caller drops what they gathered and reads the document with
 * sfb_xml_read_sax(), which gives the verdict.  Attribute values it hands
 * over are not NUL-terminated. */
gboolean sfb_xml_read_fast (const char *data,
                            gsize length,
                            const SfbXmlLimits *limits,
                            const SfbXmlSax *sax,
                            gpointer user_data);

/* The attribute @name in no namespace (@ns_uri NULL) or in the namespace
 * @ns_uri among a start element's, or NULL. */
const SfbXmlAttr *
sfb_xml_attr_find (const SfbXmlAttr *attrs, guint n_attrs, const char *name, const char *ns_uri);
/* A NUL-terminated copy of its value, or NULL. */
char *
sfb_xml_attr_dup (const SfbXmlAttr *attrs, guint n_attrs, const char *name, const char *ns_uri);

G_END_DECLS
