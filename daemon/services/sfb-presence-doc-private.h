/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the presence document files:
 *   sfb-presence-doc.c      availability, categories, notifications (rlmi, multipart)
 *   sfb-presence-roaming.c  roaming-self and the publication versions
 *   sfb-presence-publish.c  publication, 409 faults, batched SUBSCRIBE, setSubscribers
 */
#pragma once

#include "sfb-presence-doc.h"
#include "sfb-svc-xml.h"

G_BEGIN_DECLS

/* Which category so far decided the state and the note (higher wins). */
typedef struct
{
  int state_rank;
  int note_rank;
  /* roaming-self: the calendarState/phoneState the user's endpoints publish
   * are inputs of the server's aggregation, never the user's presence */
  gboolean own;
} CategoryRanks;

/* One <category>: what it says about the presentity. */
void
sfb_presence_read_category (SfbPresenceInfo *info, CategoryRanks *ranks, const xmlNode *category);

/* The parsers of categories and notifications as they were, reading a
 * libxml2 tree: the reference the tree-less ones are tested against (unit
 * tests, fuzz-presence). */
SfbPresenceInfo *
sfb_presence_parse_categories_tree (const char *data, gsize length, GError **error);
SfbPresenceNotify *sfb_presence_notify_parse_tree (const char *content_type,
                                                   const char *data,
                                                   gsize length,
                                                   GError **error);

G_END_DECLS
