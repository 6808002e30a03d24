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
void sfb_presence_read_category (SfbPresenceInfo *info,
                                 CategoryRanks *ranks,
                                 const SfbXmlNode *category);

/* How a categories or rlmi document is read. */
typedef enum
{
  SFB_PRESENCE_READ_AUTO,  /* sfb_xml_read_fast(), else (it gave up) expat */
  SFB_PRESENCE_READ_FAST,  /* sfb_xml_read_fast() alone: NULL or FALSE without
                             * an error when it gives up (tests) */
  SFB_PRESENCE_READ_EXPAT, /* expat alone (tests) */
} SfbPresenceRead;

SfbPresenceInfo *sfb_presence_parse_categories_with (SfbPresenceRead how,
                                                     const char *data,
                                                     gsize length,
                                                     GError **error);
/* An rlmi list: what it says is added to @notify (FALSE: nothing added). */
gboolean sfb_presence_parse_rlmi_with (
    SfbPresenceRead how, SfbPresenceNotify *notify, const char *data, gsize length, GError **error);

/* The readers of the parts of a notification, so the tests can give the
 * tree readers they compare with (tests/oracle/sfb-presence-tree.h). */
typedef struct
{
  gboolean (*rlmi) (SfbPresenceNotify *notify, const char *data, gsize length, GError **error);
  SfbPresenceInfo *(*categories) (const char *data, gsize length, GError **error);
} SfbPresencePartReaders;

SfbPresenceNotify *sfb_presence_notify_parse_with (const SfbPresencePartReaders *readers,
                                                   const char *content_type,
                                                   const char *data,
                                                   gsize length,
                                                   GError **error);

SfbPresenceNotify *sfb_presence_notify_new (void);
/* One <resource> of an rlmi list: its uri, whether it has an <instance>,
 * and the first instance's state and poolFqdn (values as
 * sfb_svc_xml_value() leaves them).  @limit_base: what the arrays'
 * lengths count against SFB_CONTACTS_MAX_CONTACTS besides their own. */
void sfb_presence_notify_add_resource (SfbPresenceNotify *notify,
                                       const SfbPresenceNotify *limit_base,
                                       const char *raw_uri,
                                       gboolean has_instance,
                                       const char *state,
                                       const char *pool);

G_END_DECLS
