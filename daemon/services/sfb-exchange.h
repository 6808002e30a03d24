/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbExchange: the user's Exchange mailbox as seen after sign-in
 * (the Exchange interface, docs/architecture.md §3): Autodiscover (POX)
 * for the EWS URL, then the calendar (free/busy, the current and next
 * meeting, working hours), out-of-office, the unread voicemails and the
 * missed conversations, kept current.  Exchange failing never touches the
 * SIP sign-in: it has its own state, reason and backoff.
 *
 * Every value below is a read-only GObject property named like its D-Bus
 * property in kebab case, and notifies when it changes:
 *   "state"                  s  unavailable, discovering, connected, failed
 *                               (unavailable while signed in with a last error:
 *                               discovery found no Exchange, and nothing retries
 *                               it on a timer: docs/protocol.md §18.1)
 *   "last-error"             s  why the last attempt failed, for people ("" when none)
 *   "ews-url"                s
 *   "in-meeting"             b  a Busy/OOF meeting covers now
 *   "current-meeting"        a{sv} Subject s, Location s, Start x, End x (µs since
 *   "next-meeting"           a{sv}   the epoch); empty when there is none
 *   "out-of-office"          b
 *   "out-of-office-message"  s  plain text, bounded and sanitised
 *   "unread-voicemails"      u
 *   "missed-conversations"   u
 *   "line-uri"               s  from provisioning (tel:+1425...;ext=...)
 *   "um-url"                 s
 *
 * For the presence publication (calendarData, calendarState, OOF note) the
 * calendar is also available as data, below; "calendar-changed" is emitted
 * whenever any of it changes, including when "now" crosses the start or end
 * of an event (a timer at the next boundary, never a poll).
 */
#pragma once

#include <gio/gio.h>

#include "sfb-config.h"
#include "sfb-exchange-doc.h"
#include "sfb-session.h"
#include "sfb-settings.h"

G_BEGIN_DECLS

#define SFB_EXCHANGE_STATE_UNAVAILABLE "unavailable"
#define SFB_EXCHANGE_STATE_DISCOVERING "discovering"
#define SFB_EXCHANGE_STATE_CONNECTED "connected"
#define SFB_EXCHANGE_STATE_FAILED "failed"

#define SFB_TYPE_EXCHANGE (sfb_exchange_get_type ())
G_DECLARE_FINAL_TYPE (SfbExchange, sfb_exchange, SFB, EXCHANGE, GObject)

SfbExchange *sfb_exchange_new (SfbSession *session,
                               SfbConfig *config,
                               SfbSettings *settings,
                               const char *state_dir);

/* Refresh() on D-Bus: discover again if needed, then read everything now. */
void sfb_exchange_refresh (SfbExchange *self);

/* The voicemail count the server sent over SIP (the roaming-self "mwi"
 * category); when @known it wins over the count read through EWS. */
void sfb_exchange_set_sip_voicemails (SfbExchange *self, gboolean known, guint unread);

/* What the directory says about the user (the roaming-self contact card's
 * e-mail address, its userProperties line URI), when known: the address
 * wins over the SIP URI's user@domain for Autodiscover (a different one
 * while signed in is discovered at once), the line over provisioning's.
 * NULL: not known.  SfbPresence calls it; sign-out forgets both. */
void sfb_exchange_set_directory_hints (SfbExchange *self, const char *email, const char *line_uri);

/* ---- the calendar as data, for the presence publication ---- */

/* The SMTP address the mailbox was discovered for (NULL before). */
const char *sfb_exchange_get_email (SfbExchange *self);
/* The events of the window read (yesterday 00:00 UTC and the 3 days
 * after), sorted by start (SfbCalendarEvent *). */
GPtrArray *sfb_exchange_get_events (SfbExchange *self);
/* The event covering now that wins (OOF > Busy > Tentative), or NULL. */
const SfbCalendarEvent *sfb_exchange_get_current_event (SfbExchange *self);
/* EWS MergedFreeBusy digits (one per @interval_minutes from @start, µs
 * since the epoch), or NULL when unknown. */
const char *sfb_exchange_get_free_busy (SfbExchange *self, gint64 *start, guint *interval_minutes);
/* The EWS WorkingHours element, rebuilt by our parser from the values it
 * read (never the server's bytes), or NULL when unknown. */
const char *sfb_exchange_get_working_hours (SfbExchange *self);
/* Out-of-office as scheduled: @start/@end 0 when it is simply on. */
gboolean sfb_exchange_get_out_of_office (SfbExchange *self, gint64 *start, gint64 *end);
const char *sfb_exchange_get_out_of_office_message (SfbExchange *self);

/* Signals:
 *   "calendar-changed"  (no arguments): events, the current event, free/busy,
 *                       working hours or out-of-office changed
 */

G_END_DECLS
