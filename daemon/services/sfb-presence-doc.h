/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Presence documents (docs/protocol.md §11.3–11.5, §13; MS-PRES), pure, no I/O:
 *
 *   parsers   roaming-self (roamingData: category versions, own presence,
 *             subscribers), contacts' presence (categories documents, alone
 *             or in a multipart/related rlmi notification), 409 faults
 *   builders  the category publication (SERVICE
 *             application/msrtc-category-publish+xml) and the batched
 *             presence SUBSCRIBE body (batchSub with adhocList)
 *
 * Availability strings (docs/architecture.md §3): online 3500, busy 6500,
 * do-not-disturb 9500, be-right-back 12500, away 15500, off-work (15500
 * with activity "off-work"), appear-offline (userState 18000), offline
 * 18500; other codes map by the ranges of §11.4.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_PRESENCE_MAX_PARTS 20001
#define SFB_PRESENCE_MAX_CATEGORIES 20000

#define SFB_CT_ROAMING_SELF "application/vnd-microsoft-roaming-self+xml"
#define SFB_CT_ROAMING_CONTACTS "application/vnd-microsoft-roaming-contacts+xml"
#define SFB_CT_CATEGORY_PUBLISH "application/msrtc-category-publish+xml"
#define SFB_CT_EVENT_CATEGORIES "application/msrtc-event-categories+xml"
#define SFB_CT_RLMI "application/rlmi+xml"
#define SFB_CT_ADRL_CATEGORYLIST "application/msrtc-adrl-categorylist+xml"
#define SFB_CT_FAULT "application/msrtc-fault+xml"
#define SFB_CT_SET_SUBSCRIBERS "application/msrtc-presence-setsubscriber+xml"

/* Instances (docs/protocol.md §11.4) */
#define SFB_INSTANCE_USER_STATE 0x20000000u
#define SFB_INSTANCE_NOTE 0u

/* ---- availability ---- */

/* The contract string for a code (and activity token, may be NULL). */
const char *sfb_availability_from_code (guint code, const char *activity);
/* What to publish for a contract string: the userState code and activity
 * token (NULL for none).  FALSE for unknown strings and "offline". */
gboolean sfb_availability_to_code (const char *availability, guint *code, const char **activity);

/* ---- someone's presence, from categories ---- */

typedef struct
{
  char *uri;
  guint availability; /* 0: no state category seen */
  char *activity;     /* token or NULL */
  char *note;         /* NULL: no note category seen; "" cleared */
  char *display_name;
  char *title;
  char *company;
  char *email;
  gboolean automaton; /* contactCard says it is a bot */
  gboolean has_card;
} SfbPresenceInfo;

void sfb_presence_info_free (SfbPresenceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbPresenceInfo, sfb_presence_info_free)

/* A categories document (application/msrtc-event-categories+xml). */
SfbPresenceInfo *sfb_presence_parse_categories (const char *data, gsize length, GError **error);

typedef struct
{
  char *uri;
  char *pool; /* poolFqdn, NULL: subscribe to this contact alone */
} SfbPresenceResubscribe;

typedef struct
{
  GPtrArray *presences;   /* SfbPresenceInfo, one per contact part */
  GPtrArray *resubscribe; /* SfbPresenceResubscribe */
  GPtrArray *terminated;  /* char *: resources the server ended */
} SfbPresenceNotify;

void sfb_presence_notify_free (SfbPresenceNotify *notify);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbPresenceNotify, sfb_presence_notify_free)

/* A presence NOTIFY/BENOTIFY body or the piggy-backed 200 body: a
 * categories document, an rlmi list, or multipart/related of both. */
SfbPresenceNotify *sfb_presence_notify_parse (const char *content_type,
                                              const char *data,
                                              gsize length,
                                              GError **error);

/* ---- roaming-self ---- */

typedef struct
{
  char *name;
  guint32 instance;
  guint container;
  guint version;
  gboolean removed; /* <category name container/>: every instance gone */
} SfbCategoryRef;

typedef struct
{
  char *user;
  char *display_name;
  gboolean acknowledged;
} SfbSubscriber;

typedef struct
{
  gboolean has_categories;
  GPtrArray *categories; /* SfbCategoryRef */
  /* The user's own presence as the server aggregated it (NULL without
   * categories): aggregateState, note, contactCard. */
  SfbPresenceInfo *self;
  gboolean has_subscribers;
  GPtrArray *subscribers; /* SfbSubscriber */
} SfbRoamingSelf;

void sfb_roaming_self_free (SfbRoamingSelf *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbRoamingSelf, sfb_roaming_self_free)

SfbRoamingSelf *sfb_roaming_self_parse (const char *data, gsize length, GError **error);

/* ---- versions of own publications, keyed (name, instance, container) ---- */

GHashTable *sfb_pub_versions_new (void);
guint
sfb_pub_versions_get (GHashTable *versions, const char *name, guint32 instance, guint container);
void sfb_pub_versions_set (
    GHashTable *versions, const char *name, guint32 instance, guint container, guint version);
void sfb_pub_versions_apply (GHashTable *versions, const SfbRoamingSelf *roaming);

/* ---- publishing ---- */

typedef struct _SfbPublish SfbPublish;

SfbPublish *sfb_publish_new (const char *uri);
void sfb_publish_free (SfbPublish *publish);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbPublish, sfb_publish_free)

/* @content: the category element (XML), NULL to remove the publication */
void sfb_publish_add (SfbPublish *publish,
                      const char *name,
                      guint32 instance,
                      guint container,
                      guint version,
                      const char *expire_type,
                      const char *content);
guint sfb_publish_get_length (SfbPublish *publish);
/* Publication @index (1-based, as in a 409) or NULL. */
const char *
sfb_publish_get_key (SfbPublish *publish, guint index, guint32 *instance, guint *container);
GBytes *sfb_publish_to_bytes (SfbPublish *publish);

/* Instances derived from the epid as SIPE does (docs/protocol.md §11.4). */
guint32 sfb_presence_device_instance (const char *epid);
guint32 sfb_presence_machine_state_instance (const char *epid);

char *sfb_presence_device_xml (const char *uri,
                               const char *instance_uuid,
                               const char *machine_name,
                               const char *time_zone);
/* @type "machineState" or "userState" */
char *sfb_presence_state_xml (const char *type,
                              gboolean manual,
                              guint availability,
                              const char *activity);
char *sfb_presence_note_xml (const char *note);

typedef struct
{
  guint index;
  guint cur_version;
} SfbFaultOperation;

/* A 409 msrtc-fault body: the Faultcode and details/operation entries. */
gboolean sfb_presence_parse_fault (
    const char *data, gsize length, char **faultcode, GArray **operations, GError **error);

/* batchSub with an adhocList of @uris and the categories sfbd reads. */
GBytes *sfb_presence_batch_subscribe_body (const char *self_uri, const char *const *uris);

/* setSubscribers acknowledging each of @users (as roaming-self named them). */
GBytes *sfb_presence_set_subscribers_body (const char *const *users);

G_END_DECLS
