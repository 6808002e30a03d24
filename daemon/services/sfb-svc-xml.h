/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bounded helpers over the XML tree (sfb-xml.h) for the documents of the contacts and presence
 * services (roaming contacts, roaming-self, categories, rlmi, faults).
 *
 * Every document comes from the server, so parsing (sfb_xml_read(),
 * sfb-xml.h) refuses DTDs (nothing to expand or fetch), documents over
 * SFB_SVC_XML_MAX_DOCUMENT bytes, nesting deeper than SFB_SVC_XML_MAX_DEPTH
 * and more than SFB_SVC_XML_MAX_ELEMENTS elements.  Element names are compared by local
 * name: Microsoft servers change the default namespace on nearly every
 * element, and spellings differ between versions.
 */
#pragma once

#include <glib.h>

#include "sfb-xml.h"

G_BEGIN_DECLS

#define SFB_SVC_XML_MAX_DOCUMENT (4 * 1024 * 1024)
#define SFB_SVC_XML_MAX_DEPTH 32
#define SFB_SVC_XML_MAX_ELEMENTS 200000
/* Attribute and text values longer than this are treated as absent. */
#define SFB_SVC_XML_MAX_VALUE 4096

/* @what names the document in the error ("roaming contacts"). */
SfbXmlDoc *sfb_svc_xml_parse (const char *data, gsize length, const char *what, GError **error);

/* The same checks and errors without building a tree (sfb_xml_read_sax());
 * what the callbacks gathered counts only when this returns TRUE. */
gboolean sfb_svc_xml_parse_sax (const char *data,
                                gsize length,
                                const char *what,
                                const SfbXmlSax *sax,
                                gpointer user_data,
                                GError **error);
/* What sfb_svc_xml_attr() and sfb_svc_xml_text() make of a value (takes
 * @raw): trimmed, NULL when too long. */
char *sfb_svc_xml_value (char *raw);

gboolean sfb_svc_xml_is (const SfbXmlNode *node, const char *local_name);
/* The first element child named @local_name, or NULL. */
SfbXmlNode *sfb_svc_xml_child (const SfbXmlNode *node, const char *local_name);
/* The next element sibling after @node named @local_name (NULL: any name). */
SfbXmlNode *sfb_svc_xml_next (const SfbXmlNode *node, const char *local_name);
/* Trimmed attribute value, NULL when absent or too long (empty kept). */
char *sfb_svc_xml_attr (const SfbXmlNode *node, const char *name);
/* An attribute in a namespace given by its URI (xsi:type). */
char *sfb_svc_xml_attr_ns (const SfbXmlNode *node, const char *name, const char *ns_uri);
gboolean
sfb_svc_xml_attr_uint (const SfbXmlNode *node, const char *name, guint64 max, guint64 *value);
/* Trimmed text content, NULL when too long. */
char *sfb_svc_xml_text (const SfbXmlNode *node);

/* "true"/"1" (any case) */
gboolean sfb_svc_xml_parse_bool (const char *value);

/* Strings the daemon keeps from documents go into logs, D-Bus and JSON:
 * a copy with control characters turned into spaces; NULL when not UTF-8. */
char *sfb_svc_clean_string (const char *value);
/* The same of the @length bytes at @value (a NUL among them: NULL). */
char *sfb_svc_clean_string_len (const char *value, gsize length);

G_END_DECLS
