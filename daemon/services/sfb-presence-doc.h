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
  /* SfbPresence: its contacts version when this last changed, the low 32
   * bits (in what would be padding: 1,000 contacts are 1,000 of these) */
  guint32 version;
  char *activity; /* token or NULL */
  char *note;     /* NULL: no note category seen; "" cleared */
  char *display_name;
  char *title;
  char *company;
  char *email;
  gboolean automaton; /* contactCard says it is a bot */
  gboolean has_card;
} SfbPresenceInfo;

void sfb_presence_info_free (SfbPresenceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbPresenceInfo, sfb_presence_info_free)

/* Someone's presence as the D-Bus API gives it (dbus/org.sfbd.Sfbd1.Presence.xml,
 * GetPresence, PresencesChanged): an a{sv} with "Availability" (s),
 * "AvailabilityCode" (u), "Activity" (s), "Note" (s); a full reference,
 * not floating: without a note, the same value is shared between the
 * contacts that show it (immutable, thread-safe references). */
GVariant *sfb_presence_info_dup_variant (const SfbPresenceInfo *info);

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

/* The "mwi" category (container 1) the server publishes from Exchange UM's
 * message-summary NOTIFY (docs/protocol.md, "Voicemail"). */
#define SFB_PRESENCE_MAX_VOICEMAILS 999999u

typedef enum
{
  SFB_MWI_ABSENT,  /* no mwi category in this document */
  SFB_MWI_SET,     /* the count below */
  SFB_MWI_REMOVED, /* <category name="mwi" container="1"/>: no count any more */
} SfbMwiState;

typedef struct
{
  SfbMwiState state;
  gboolean waiting;
  guint unread; /* unreadVoiceMailCount, else 1 while messageWaiting (at least one) */
} SfbMwi;

typedef struct
{
  gboolean has_categories;
  GPtrArray *categories; /* SfbCategoryRef */
  SfbMwi mwi;
  /* The user's own presence as the server aggregated it (NULL without
   * categories): aggregateState, note, contactCard. */
  SfbPresenceInfo *self;
  gboolean has_subscribers;
  GPtrArray *subscribers; /* SfbSubscriber */
  /* The server's userProperties (Self container): the user's line, the
   * first lines/line holding a tel: or sip: URI (printable ASCII, at most
   * SFB_PRESENCE_MAX_LINE_URI bytes), NULL when none.  The contact card's
   * e-mail address is self->email (self->has_card). */
  gboolean has_user_properties;
  char *line_uri;
  /* The user's manual state, the userState instance in container 2 or 3
   * (docs/protocol.md §11.4): static, kept across sign-ins; 0 when this
   * document has none.  user_activity: its activity token or NULL; where
   * it was read: its container and version. */
  guint user_state;
  char *user_activity;
  guint user_state_container;
  guint user_state_version;
} SfbRoamingSelf;

#define SFB_PRESENCE_MAX_LINE_URI 256

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

/* Adds a publication with the version the server has; a removal (@content
 * NULL) of what the server does not have is left out. */
void sfb_publish_add_versioned (SfbPublish *publish,
                                GHashTable *versions,
                                const char *name,
                                guint32 instance,
                                guint container,
                                const char *expire_type,
                                const char *content);
/* Every publication of @publish was accepted (2xx): the server now has
 * version + 1 of each, and nothing of those removed. */
void sfb_pub_versions_published (GHashTable *versions, SfbPublish *publish);

/* ---- what sfbd publishes from the Exchange calendar (docs/protocol.md,
 * "Calendar presence") ---- */

#define SFB_CALENDAR_MAX_FREE_BUSY 4096 /* digits (slots) published at most */
#define SFB_CALENDAR_MAX_TEXT 2048      /* bytes of a subject, location or OOF text */

/* What the event covering now makes of the user's state. */
typedef enum
{
  SFB_CALENDAR_FREE, /* free, tentative or no event: no calendarState */
  SFB_CALENDAR_BUSY,
  SFB_CALENDAR_MEETING, /* busy and a meeting: activity in-a-meeting */
  SFB_CALENDAR_OOF,
} SfbCalendarState;

/* Instance prefixes; the low bits are a hash of the SMTP address. */
#define SFB_INSTANCE_CALENDAR_MEETING 0x40000000u
#define SFB_INSTANCE_CALENDAR_OOF 0x50000000u
#define SFB_INSTANCE_FREE_BUSY 0x40000000u
#define SFB_INSTANCE_OOF_NOTE 0x40000000u
#define SFB_INSTANCE_WORKING_HOURS 0u

typedef struct
{
  char *email; /* SMTP address; NULL: nothing is published */
  SfbCalendarState state;
  gint64 state_start; /* µs since the epoch: the event's start */
  char *subject;      /* plain text or NULL */
  char *location;
  char *working_hours; /* an EWS WorkingHours element (XML) or NULL */
  char *free_busy;     /* EWS MergedFreeBusy digits or NULL */
  gint64 free_busy_start;
  guint free_busy_interval; /* minutes */
  gboolean oof;
  char *oof_message; /* plain text */
  gint64 oof_start;  /* 0 when OOF is simply on */
  gint64 oof_end;
} SfbCalendarPresence;

SfbCalendarPresence *sfb_calendar_presence_copy (const SfbCalendarPresence *cal);
void sfb_calendar_presence_free (SfbCalendarPresence *cal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbCalendarPresence, sfb_calendar_presence_free)

/* 0x40000000 | the low 28 (or, with @wide, 30) bits of MD5(lower-case @email). */
guint32 sfb_presence_calendar_instance (guint32 prefix, gboolean wide, const char *email);
/* EWS MergedFreeBusy digits as the calendarData freeBusy value: 2 bits a
 * slot, the first slot in the least significant bits, base64; "4" (no
 * data) and anything unknown count as free.  NULL when @digits is empty. */
char *sfb_presence_free_busy_base64 (const char *digits);
/* The state element (xsi:type calendarState) for @cal, NULL when free. */
char *sfb_presence_calendar_state_xml (const SfbCalendarPresence *cal);
/* calendarData elements: working hours, free/busy, the empty one. */
char *sfb_presence_working_hours_xml (const char *email, const char *working_hours);
char *sfb_presence_free_busy_xml (const char *email,
                                  gint64 start,
                                  guint interval_minutes,
                                  const char *digits);
char *sfb_presence_calendar_data_empty_xml (void);
/* The out-of-office note (type OOF), with startTime/endTime when both set. */
char *sfb_presence_oof_note_xml (const char *text, gint64 start, gint64 end);

/* Adds to @publish what differs between @before (what was last published,
 * NULL: nothing) and @now: calendarState (containers 2, 3; cleared when
 * free), working hours and free/busy (calendarData in 1, 100, 200, 300,
 * 400, empty in 32000; free/busy every time), the OOF note (200, 300, 400;
 * cleared when OOF ends).  Without a mailbox in @now, the calendarState and
 * OOF note @before published are removed. */
void sfb_presence_add_calendar (SfbPublish *publish,
                                GHashTable *versions,
                                const SfbCalendarPresence *before,
                                const SfbCalendarPresence *now);

typedef struct
{
  guint index;
  guint cur_version;
} SfbFaultOperation;

/* A 409 msrtc-fault body: the Faultcode and details/operation entries. */
gboolean sfb_presence_parse_fault (
    const char *data, gsize length, char **faultcode, GArray **operations, GError **error);

/* batchSub with an adhocList of @uris and the categories sfbd reads;
 * @action_id: the action's id, the same in every SUBSCRIBE of a dialog. */
GBytes *
sfb_presence_batch_subscribe_body (const char *self_uri, guint action_id, const char *const *uris);

/* setSubscribers acknowledging each of @users (as roaming-self named them). */
GBytes *sfb_presence_set_subscribers_body (const char *const *users);

G_END_DECLS
