/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Exchange documents SfbExchange sends and reads (docs/protocol.md,
 * "Exchange"), pure: no I/O, fuzzed.
 *
 *   Autodiscover (POX, MS-OXDSCLI): the request for an SMTP address; the
 *     response's EWS, Availability, OOF and UM URLs (https only), its
 *     RedirectAddr / RedirectUrl and its Error.
 *   EWS (SOAP 1.1, times in UTC: every request names a zero-bias time zone):
 *     GetUserAvailability (DetailedMerged: MergedFreeBusy, CalendarEvents,
 *     WorkingHours), GetUserOofSettings, GetFolder on the distinguished
 *     "voicemail" folder (UnreadCount), FindItem on the distinguished
 *     "conversationhistory" folder for unread IPM.Note.Microsoft.Missed*
 *     items (TotalItemsInView); on Exchange 2010, which lacks that name,
 *     FindFolder by DisplayName "Conversation History" first.
 *
 * Every answer is hostile: sfb_svc_xml_parse() limits (size, depth,
 * elements), at most SFB_EXCHANGE_MAX_EVENTS events, text cut to
 * SFB_EXCHANGE_MAX_TEXT characters (the OOF message to
 * SFB_EXCHANGE_MAX_MESSAGE) and cleaned of control and bidi characters.
 * The WorkingHours element handed on is rebuilt from the values read,
 * never the server's bytes.  A SOAP fault or a ResponseClass other than
 * Success is an error quoting the server's code, bounded and sanitised.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_EXCHANGE_MAX_EVENTS 256
#define SFB_EXCHANGE_MAX_TEXT 256       /* subject, location: characters */
#define SFB_EXCHANGE_MAX_MESSAGE 2000   /* the OOF message: characters */
#define SFB_EXCHANGE_MAX_FREE_BUSY 8640 /* digits: 4 days at 1 minute */
#define SFB_EXCHANGE_MAX_WORKING_PERIODS 16

/* EWS LegacyFreeBusyType, in the order overlapping events win (OOF over
 * Busy over Tentative, docs/protocol.md). */
typedef enum
{
  SFB_BUSY_FREE,
  SFB_BUSY_TENTATIVE,
  SFB_BUSY_BUSY,
  SFB_BUSY_OOF,
  SFB_BUSY_WORKING_ELSEWHERE,
  SFB_BUSY_NO_DATA,
} SfbBusyType;

typedef struct
{
  char *subject;  /* plain text, bounded, sanitised; "" when none */
  char *location; /* likewise */
  gint64 start;   /* µs since the epoch, UTC */
  gint64 end;
  SfbBusyType busy_type;
  gboolean is_meeting;
} SfbCalendarEvent;

void sfb_calendar_event_free (SfbCalendarEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbCalendarEvent, sfb_calendar_event_free)

/* How much an event counts when several cover the same moment:
 * OOF > Busy > Working elsewhere > Tentative > Free, No data. */
guint sfb_busy_type_rank (SfbBusyType type);

/* ---- Autodiscover (POX) ---- */

typedef struct
{
  char *ews_url; /* EXCH EwsUrl, else EXCH ASUrl, else EXPR EwsUrl/ASUrl; https only */
  char *as_url;  /* the Availability service */
  char *oof_url;
  char *um_url;
  char *redirect_addr; /* Action redirectAddr: an SMTP address */
  char *redirect_url;  /* Action redirectUrl: https only */
  char *error_code;    /* Response/Error/ErrorCode, sanitised */
  char *error_message; /* Response/Error/Message, sanitised */
} SfbExchangeAutodiscover;

void sfb_exchange_autodiscover_free (SfbExchangeAutodiscover *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbExchangeAutodiscover, sfb_exchange_autodiscover_free)

/* The POX request body for @email (XML-escaped). */
char *sfb_exchange_doc_autodiscover_request (const char *email);
/* NULL with an error when the document is not an Autodiscover response;
 * a response with none of the URLs, redirects or an error is an error too. */
SfbExchangeAutodiscover *
sfb_exchange_doc_parse_autodiscover (const char *data, gsize length, GError **error);

/* ---- GetUserAvailability ---- */

typedef struct
{
  char *free_busy;     /* MergedFreeBusy digits 0-5, or NULL */
  GPtrArray *events;   /* SfbCalendarEvent, sorted by start */
  char *working_hours; /* rebuilt WorkingHours element, or NULL */
} SfbExchangeAvailability;

void sfb_exchange_availability_free (SfbExchangeAvailability *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbExchangeAvailability, sfb_exchange_availability_free)

/* For @email's calendar in [@start, @end) (µs since the epoch, UTC), with
 * merged free/busy in @interval_minutes slots. */
char *sfb_exchange_doc_availability_request (const char *email,
                                             gint64 start,
                                             gint64 end,
                                             guint interval_minutes);
SfbExchangeAvailability *
sfb_exchange_doc_parse_availability (const char *data, gsize length, GError **error);

/* ---- GetUserOofSettings ---- */

typedef enum
{
  SFB_OOF_DISABLED,
  SFB_OOF_ENABLED,
  SFB_OOF_SCHEDULED,
} SfbOofState;

typedef struct
{
  SfbOofState state;
  gint64 start; /* µs; Scheduled only (0 otherwise) */
  gint64 end;
  char *message; /* InternalReply as plain text (HTML stripped), bounded, "" when none */
} SfbExchangeOof;

void sfb_exchange_oof_free (SfbExchangeOof *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbExchangeOof, sfb_exchange_oof_free)

char *sfb_exchange_doc_oof_request (const char *email);
SfbExchangeOof *sfb_exchange_doc_parse_oof (const char *data, gsize length, GError **error);
/* Whether OOF is on at @now (Enabled, or Scheduled with @now in [start, end)). */
gboolean sfb_exchange_oof_is_active (const SfbExchangeOof *oof, gint64 now);

/* ---- counts ---- */

/* GetFolder of the distinguished "voicemail" folder. */
char *sfb_exchange_doc_voicemail_request (void);
/* Its UnreadCount. */
gboolean
sfb_exchange_doc_parse_unread_count (const char *data, gsize length, guint *unread, GError **error);

/* FindItem in "conversationhistory": unread items whose class starts with
 * IPM.Note.Microsoft.Missed (IM and voice), one item shape, IdOnly. */
char *sfb_exchange_doc_missed_request (void);
/* The same in the folder @folder_id (FindFolder's answer below). */
char *sfb_exchange_doc_missed_request_in (const char *folder_id);
/* Exchange 2010 has no distinguished "conversationhistory": FindFolder
 * under msgfolderroot for the DisplayName "Conversation History". */
char *sfb_exchange_doc_history_folder_request (void);
/* The first folder's FolderId Id (base64 characters, bounded). */
char *sfb_exchange_doc_parse_folder_id (const char *data, gsize length, GError **error);
/* The RootFolder's TotalItemsInView. */
gboolean
sfb_exchange_doc_parse_item_count (const char *data, gsize length, guint *count, GError **error);

/* ---- helpers, public for the tests ---- */

/* HTML (or plain text) to plain text: tags dropped, the common entities
 * decoded, a BOM dropped, runs of blanks made one space, line breaks kept
 * (at most two in a row), unsafe characters dropped, at most @max_chars. */
char *sfb_exchange_doc_html_to_text (const char *html, gsize max_chars);
/* An EWS dateTime ("2024-05-07T09:00:00", "…Z", "…+01:00"; no offset is
 * UTC) in µs since the epoch, or -1. */
gint64 sfb_exchange_doc_parse_time (const char *text);

G_END_DECLS
