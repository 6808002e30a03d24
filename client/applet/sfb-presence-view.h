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
  gboolean running; /* FALSE: nobody owns org.sfbd.Sfbd */
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
} SfbPresenceInput;

typedef struct
{
  char *icon_name;           /* freedesktop name: user-available, user-offline… */
  char *overlay_icon_name;   /* "" when none */
  char *attention_icon_name; /* "" when none */
  char *status;              /* StatusNotifierItem status: Active or NeedsAttention */
  char *title;               /* one line: "Skype for Business: Busy" */
  char *summary;             /* short, for a bar: "Busy", "Signed out" */
  char *details;             /* several lines, plain text */
  char *css_class;           /* state, or "not-running" */
  char *availability;        /* the availability when signed in, else "" */
} SfbPresenceView;

/* Longest text kept from any sfbd string (a note, an error message). */
#define SFB_PRESENCE_VIEW_MAX_TEXT 200

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
/* The freedesktop icon name for an availability. */
const char *sfb_presence_view_availability_icon (const char *availability);

/* @text cut to @max_chars characters (an ellipsis marks the cut), made
 * valid UTF-8 with control characters turned into spaces. */
char *sfb_presence_view_clean_text (const char *text, gsize max_chars);

G_END_DECLS
