/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the SAX callbacks of sfb_xml_read_fast() and sfb_xml_read_sax() see,
 * written out as text to compare: each start tag with its attributes (local
 * name, prefix, namespace name, value), each end tag, and the text between
 * them joined (libxml2 splits it where it likes).  For the tests only.
 */
#pragma once

#include "sfb-xml.h"

G_BEGIN_DECLS

/* NULL when the fast reader gave up. */
char *sfb_xml_events_fast (const char *data, gsize length, const SfbXmlLimits *limits);
/* The events, and the verdict in *@verdict. */
char *sfb_xml_events_libxml (const char *data,
                             gsize length,
                             const SfbXmlLimits *limits,
                             SfbXmlVerdict *verdict);

/* The limits the services read their documents with (sfb-svc-xml.h). */
extern const SfbXmlLimits sfb_xml_events_svc_limits;

typedef enum
{
  SFB_XML_EVENTS_FAST_GAVE_UP, /* nothing to compare */
  SFB_XML_EVENTS_SAME,
  SFB_XML_EVENTS_DIFFERENT, /* both written to stderr */
} SfbXmlEventsMatch;

/* Whatever sfb_xml_read_fast() accepts, libxml2 must accept, the callbacks
 * seeing the same. */
SfbXmlEventsMatch
sfb_xml_events_compare (const char *data, gsize length, const SfbXmlLimits *limits);

G_END_DECLS
