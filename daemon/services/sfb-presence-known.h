/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What is known of the contacts' presence: one SfbPresenceInfo per
 * normalized URI, merged from each notification (SfbPresence's store).
 * Pure: no I/O.
 *
 * Kept for every contact while signed in (1,000 contacts: 1,000 of each),
 * so laid out small (docs/benchmarks.md, "Heap, fourth pass"): one block per
 * contact holds the info, its uri and the display name it was first seen
 * with; an e-mail address that is the uri's user@host points into the uri;
 * the activity token, title and company are interned (GRefString); the
 * table is a set of the entries' uris (no array of values beside the
 * keys), each entry found from its uri, which follows it in its block.
 */
#pragma once

#include <glib.h>

#include "sfb-presence-doc.h"

G_BEGIN_DECLS

GHashTable *sfb_presence_known_new (void);
/* Merges @update (with a normalized uri) into what is known of its
 * contact.  When anything changed (presence or card), ++*@version becomes
 * the entry's version; returns the entry when the presence (availability,
 * activity, note) changed, else NULL.  Entries stay where they are until
 * the table is freed. */
SfbPresenceInfo *
sfb_presence_known_merge (GHashTable *known, const SfbPresenceInfo *update, guint64 *version);
const SfbPresenceInfo *sfb_presence_known_lookup (GHashTable *known, const char *normalized_uri);

G_END_DECLS
