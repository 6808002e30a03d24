/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a glance at the panel shows: sfbd's state and presence turned into
 * words, freedesktop icon names and a tray status.  Pure functions of the
 * D-Bus properties, shared by the tray applet and `sfbctl status --format
 * waybar`, so both say the same thing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The properties the view depends on; NULL strings count as empty. */
typedef struct
{
  gboolean running;       /* FALSE: nobody owns org.sfbd.Sfbd */
  gboolean not_answering; /* running, but no reply within the timeout */
  const char *state;
  const char *availability;
  const char *note;
  const char *uri;
  const char *server;
  const char *last_error;         /* D-Bus error name */
  const char *last_error_message; /* a sentence for a person */
  guint reconnect_attempts;
  const char *action_error; /* why the user's last menu action failed */
  guint64 next_retry;       /* Account.NextRetry: µs since the epoch, 0 when none */
  /* The Exchange interface; shown only while it is "connected" */
  const char *exchange_state;
  GVariant *current_meeting; /* a{sv} (dbus/org.sfbd.Sfbd1.Exchange.xml); NULL or empty: none */
  GVariant *next_meeting;
  guint unread_voicemails;
  guint missed_conversations;
} SfbPresenceInput;

typedef struct
{
  char *icon_name;           /* one of the SFB_ICON_ names */
  char *overlay_icon_name;   /* "" when none */
  char *attention_icon_name; /* "" when none */
  char *status;              /* StatusNotifierItem status: Active or NeedsAttention */
  char *title;               /* one line: "Skype for Business: Busy" */
  char *summary;             /* short, for a bar: "Busy", "Signed out" */
  char *details;             /* several lines, plain text */
  char *css_class;           /* state, "not-running" or "not-answering" */
  char *availability;        /* the availability when signed in, else "" */
} SfbPresenceView;

/*
 * The applet's own icons (client/applet/icons/hicolor/scalable/status),
 * one per look: every state and availability is distinct in colour or
 * shape whatever the icon theme.
 */
#define SFB_ICON_AVAILABLE "sfbd-available"
#define SFB_ICON_BUSY "sfbd-busy"
#define SFB_ICON_DO_NOT_DISTURB "sfbd-dnd"
#define SFB_ICON_BE_RIGHT_BACK "sfbd-be-right-back"
#define SFB_ICON_AWAY "sfbd-away"
#define SFB_ICON_OFF_WORK "sfbd-off-work"
#define SFB_ICON_APPEAR_OFFLINE "sfbd-appear-offline"
#define SFB_ICON_SIGNED_OUT "sfbd-signed-out"
#define SFB_ICON_CONNECTING "sfbd-connecting"
#define SFB_ICON_RECONNECTING "sfbd-reconnecting"
#define SFB_ICON_FAILED "sfbd-failed"
#define SFB_ICON_NOT_RUNNING "sfbd-not-running"
#define SFB_ICON_NOT_ANSWERING "sfbd-not-answering"

/* Longest text kept from any sfbd string (a note, an error message). */
#define SFB_PRESENCE_VIEW_MAX_TEXT 200
/* Longest meeting subject kept in a line; locations are cut shorter */
#define SFB_PRESENCE_VIEW_MAX_SUBJECT 80
#define SFB_PRESENCE_VIEW_MAX_LOCATION 40

SfbPresenceView *sfb_presence_view_new (const SfbPresenceInput *input);
SfbPresenceView *sfb_presence_view_copy (const SfbPresenceView *view);
void sfb_presence_view_free (SfbPresenceView *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbPresenceView, sfb_presence_view_free)

/* Reconnecting: when sfbd tries again by itself, "14:03:27" (local time)
 * or "when the network changes"; NULL in any other state. */
char *sfb_presence_view_next_attempt (const SfbPresenceInput *input);

/* Words for a State value ("Signed in"); the value itself when unknown. */
const char *sfb_presence_view_state_words (const char *state);
/* Words for an Availability value ("Do not disturb"); NULL when unknown. */
const char *sfb_presence_view_availability_words (const char *availability);
/* The icon name for an availability. */
const char *sfb_presence_view_availability_icon (const char *availability);

/* An Exchange meeting (a{sv}: Subject, Location, Start, End) for people,
 * times local: "10:00–11:00 Weekly sync (Room 1)", the date first when it
 * is not today; the subject cut to @max_chars.  NULL when @meeting is NULL,
 * empty or has no start. */
char *sfb_presence_view_meeting_text (GVariant *meeting, gsize max_chars);
/* Whether the Exchange lines show: signed in and Exchange "connected". */
gboolean sfb_presence_view_shows_exchange (const SfbPresenceInput *input);
/* "Meeting now: …" or "Next meeting: …"; NULL when there is neither. */
char *sfb_presence_view_meeting_line (const SfbPresenceInput *input);
/* "2 unread voicemails, 1 missed conversation" */
char *sfb_presence_view_exchange_counts (const SfbPresenceInput *input);

/* One stage of Account.GetSignInTrace() (dbus/org.sfbd.Sfbd1.Account.xml)
 * in words: "AuthFailed, 120 ms — detail", its result ("running" while it
 * runs), its duration and its detail cut to @max_detail; its name, cleaned,
 * in @name.  Cleaned, not escaped: the caller shows them as plain text. */
char *sfb_presence_view_stage_text (GVariant *stage, gsize max_detail, char **name);

/* @text cut to @max_chars characters (an ellipsis marks the cut), made
 * valid UTF-8 with control characters turned into spaces. */
char *sfb_presence_view_clean_text (const char *text, gsize max_chars);

G_END_DECLS
