/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the SAX callbacks of sfb_xml_read_fast() and sfb_xml_read_sax()
 * (expat) see, and what libxml2's SAX2 reader sees of the same document,
 * written out as text to compare: each start tag with its attributes
 * (local name, prefix, namespace name, value), each end tag, and the text
 * between them joined (the parsers split it where they like).  libxml2 is
 * the reference here, never in the daemon.  For the tests only.
 */
#pragma once

#include "sfb-xml.h"

G_BEGIN_DECLS

/* NULL when the fast reader gave up. */
char *sfb_xml_events_fast (const char *data, gsize length, const SfbXmlLimits *limits);
/* The events, and the verdict in *@verdict. */
char *sfb_xml_events_expat (const char *data,
                            gsize length,
                            const SfbXmlLimits *limits,
                            SfbXmlVerdict *verdict);
/* The same from libxml2 (the daemon's reader before expat: UTF-8 forced,
 * no network, the same limits checked on the whole document);
 * *@namespace_error: libxml2 found the document not namespace-well-formed
 * (an undeclared prefix...), which it reports but accepts. */
char *sfb_xml_events_libxml (const char *data,
                             gsize length,
                             const SfbXmlLimits *limits,
                             SfbXmlVerdict *verdict,
                             gboolean *namespace_error);

/* The limits the services read their documents with (sfb-svc-xml.h). */
extern const SfbXmlLimits sfb_xml_events_svc_limits;

typedef enum
{
  SFB_XML_EVENTS_FAST_GAVE_UP, /* expat and libxml2 agree; nothing else to compare */
  SFB_XML_EVENTS_SAME,
  SFB_XML_EVENTS_DIFFERENT, /* what differs written to stderr */
} SfbXmlEventsMatch;

/* expat accepts what libxml2 accepts, the callbacks seeing the same,
 * except a document that is not namespace-well-formed, which expat
 * refuses (right, per Namespaces in XML 1.0) and libxml2 accepts; and
 * whatever sfb_xml_read_fast() accepts, expat accepts, the callbacks
 * seeing the same. */
SfbXmlEventsMatch
sfb_xml_events_compare (const char *data, gsize length, const SfbXmlLimits *limits);

G_END_DECLS
