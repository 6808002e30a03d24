/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Exclusive XML Canonicalization 1.0 (without comments, no
 * InclusiveNamespaces prefix list), written from parser events: the
 * digests of TLS-DSK certificate provisioning (the SAML assertion, our own
 * Timestamp and SignedInfo; docs/protocol.md).  Independent of any parser.
 *
 * The first start_element is the apex, the element canonicalised; what its
 * ancestors declared does not matter in exclusive c14n.  Each element and
 * attribute gives its own prefix and namespace URI; a prefix is rendered on
 * an element where it is visibly utilised (by the element or one of its
 * attributes) unless an output ancestor already rendered it with the same
 * URI.  Text and attribute values are as parsed (entities resolved, CDATA
 * as text), UTF-8.  Comments are not canonicalised: do not feed them.
 *
 * The writer trusts its caller for well-formed names and UTF-8, but stays
 * safe on anything: no recursion, lengths read as given, nothing quadratic
 * in the attributes or the depth (prefixes are looked up in a table, not
 * along the ancestors).
 * Namespace declarations given among the attributes are ignored: the
 * writer derives the ones it renders.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* prefix/ns_uri NULL (or ""): none; value as parsed, entities resolved, UTF-8 */
typedef struct
{
  const char *prefix;
  const char *local_name;
  const char *ns_uri;
  const char *value;
} SfbXmlC14nAttr;

typedef struct _SfbXmlC14n SfbXmlC14n;

SfbXmlC14n *sfb_xml_c14n_new (void);

void sfb_xml_c14n_start_element (SfbXmlC14n *c,
                                 const char *prefix,
                                 const char *local_name,
                                 const char *ns_uri,
                                 const SfbXmlC14nAttr *attrs,
                                 guint n_attrs);
void sfb_xml_c14n_text (SfbXmlC14n *c, const char *text, gsize length);
void sfb_xml_c14n_processing_instruction (SfbXmlC14n *c, const char *target, const char *data);
void sfb_xml_c14n_end_element (SfbXmlC14n *c);

/* Frees @c.  The canonical text (g_free), or NULL when elements were left
 * open, an event came outside the apex element (or before it), none came,
 * or one no parser gives (a nameless attribute, a NUL in text). */
char *sfb_xml_c14n_finish (SfbXmlC14n *c);

void sfb_xml_c14n_free (SfbXmlC14n *c);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbXmlC14n, sfb_xml_c14n_free)

G_END_DECLS
