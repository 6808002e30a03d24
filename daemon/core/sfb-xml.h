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

/* The document (free with xmlFreeDoc), or NULL with *@verdict saying why. */
xmlDoc *
sfb_xml_read (const char *data, gsize length, const SfbXmlLimits *limits, SfbXmlVerdict *verdict);

G_END_DECLS
