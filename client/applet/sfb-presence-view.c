/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tray's view of sfbd: see sfb-presence-view.h. */
#include "config.h"

#include "sfb-presence-view.h"

#include "sfb-error-view.h"

#include <sfbd/sfb-names.h>
#include <string.h>

typedef struct
{
  const char *value;
  const char *words;
  const char *icon;
} Entry;

/*
 * The icons are the project's own (client/applet/icons, installed into the
 * hicolor theme), so every state looks distinct in every icon theme; their
 * colours are listed in sfb-sni-item.c.
 */
static const Entry states[] = {
  { SFB_STATE_SIGNED_OUT, "Signed out", SFB_ICON_SIGNED_OUT },
  { SFB_STATE_DISCOVERING, "Looking for the server", SFB_ICON_CONNECTING },
  { SFB_STATE_CONNECTING, "Connecting", SFB_ICON_CONNECTING },
  { SFB_STATE_AUTHENTICATING, "Authenticating", SFB_ICON_CONNECTING },
  { SFB_STATE_REDIRECTING, "Moving to the home pool", SFB_ICON_CONNECTING },
  { SFB_STATE_RETRIEVING_SETTINGS, "Retrieving settings", SFB_ICON_CONNECTING },
  { SFB_STATE_SIGNED_IN, "Signed in", SFB_ICON_AVAILABLE },
  { SFB_STATE_RECONNECTING, "Reconnecting", SFB_ICON_RECONNECTING },
  { SFB_STATE_FAILED, "Sign-in failed", SFB_ICON_FAILED },
};

static const Entry availabilities[] = {
  { SFB_AVAILABILITY_ONLINE, "Available", SFB_ICON_AVAILABLE },
  { SFB_AVAILABILITY_BUSY, "Busy", SFB_ICON_BUSY },
  { SFB_AVAILABILITY_DO_NOT_DISTURB, "Do not disturb", SFB_ICON_DO_NOT_DISTURB },
  { SFB_AVAILABILITY_BE_RIGHT_BACK, "Be right back", SFB_ICON_BE_RIGHT_BACK },
  { SFB_AVAILABILITY_AWAY, "Away", SFB_ICON_AWAY },
  { SFB_AVAILABILITY_OFF_WORK, "Off work", SFB_ICON_OFF_WORK },
  { SFB_AVAILABILITY_APPEAR_OFFLINE, "Appear offline", SFB_ICON_APPEAR_OFFLINE },
  { SFB_AVAILABILITY_OFFLINE, "Offline", SFB_ICON_SIGNED_OUT },
};

#define PRODUCT "Skype for Business"

static const Entry *
find_entry (const Entry *entries, gsize n, const char *value)
{
  for (gsize i = 0; value != NULL && i < n; i++)
    if (g_str_equal (entries[i].value, value))
      return &entries[i];
  return NULL;
}

const char *
sfb_presence_view_state_words (const char *state)
{
  const Entry *entry = find_entry (states, G_N_ELEMENTS (states), state);

  if (entry != NULL)
    return entry->words;
  return state != NULL && *state != '\0' ? state : "Unknown state";
}

const char *
sfb_presence_view_availability_words (const char *availability)
{
  const Entry *entry = find_entry (availabilities, G_N_ELEMENTS (availabilities), availability);

  return entry != NULL ? entry->words : NULL;
}

const char *
sfb_presence_view_availability_icon (const char *availability)
{
  const Entry *entry = find_entry (availabilities, G_N_ELEMENTS (availabilities), availability);

  return entry != NULL ? entry->icon : SFB_ICON_AVAILABLE;
}

char *
sfb_presence_view_clean_text (const char *text, gsize max_chars)
{
  g_autofree char *valid = NULL;
  GString *out;
  gsize n = 0;

  if (text == NULL)
    return g_strdup ("");
  valid = g_utf8_make_valid (text, -1);
  out = g_string_new (NULL);
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (n == max_chars)
        {
          g_string_append (out, "…");
          break;
        }
      g_string_append_unichar (out, g_unichar_iscntrl (c) ? ' ' : c);
      n++;
    }
  return g_string_free (out, FALSE);
}

static gboolean
is_empty (const char *text)
{
  return text == NULL || *text == '\0';
}

/* ---- Exchange ---- */

static GDateTime *
local_time (gint64 usec)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  return utc != NULL ? g_date_time_to_local (utc) : NULL;
}

static gboolean
same_day (GDateTime *a, GDateTime *b)
{
  return g_date_time_get_year (a) == g_date_time_get_year (b)
         && g_date_time_get_day_of_year (a) == g_date_time_get_day_of_year (b);
}

/* "10:00", or "2026-12-08 10:00" when not on the day of @reference */
static char *
format_clock (GDateTime *time, GDateTime *reference)
{
  return g_date_time_format (time, same_day (time, reference) ? "%H:%M" : "%Y-%m-%d %H:%M");
}

char *
sfb_presence_view_meeting_text (GVariant *meeting, gsize max_chars)
{
  gint64 start = 0;
  gint64 end = 0;
  const char *subject = "";
  const char *location = "";
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GDateTime) from = NULL;
  g_autoptr (GDateTime) to = NULL;
  g_autofree char *from_text = NULL;
  g_autofree char *clean_subject = NULL;
  GString *out;

  if (meeting == NULL || !g_variant_is_of_type (meeting, G_VARIANT_TYPE_VARDICT)
      || !g_variant_lookup (meeting, "Start", "x", &start) || (from = local_time (start)) == NULL)
    return NULL;
  if (g_variant_lookup (meeting, "End", "x", &end) && end > start)
    to = local_time (end);
  g_variant_lookup (meeting, "Subject", "&s", &subject);
  g_variant_lookup (meeting, "Location", "&s", &location);

  from_text = format_clock (from, now);
  out = g_string_new (from_text);
  if (to != NULL)
    {
      g_autofree char *to_text = format_clock (to, from);
      g_string_append_printf (out, "–%s", to_text);
    }
  clean_subject = sfb_presence_view_clean_text (subject, max_chars);
  g_string_append_printf (out, " %s", *clean_subject != '\0' ? clean_subject : "(no subject)");
  if (!is_empty (location))
    {
      g_autofree char *clean_location
          = sfb_presence_view_clean_text (location, SFB_PRESENCE_VIEW_MAX_LOCATION);
      g_string_append_printf (out, " (%s)", clean_location);
    }
  return g_string_free (out, FALSE);
}

gboolean
sfb_presence_view_shows_exchange (const SfbPresenceInput *input)
{
  return input->running && !input->not_answering
         && g_strcmp0 (input->state, SFB_STATE_SIGNED_IN) == 0
         && g_strcmp0 (input->exchange_state, SFB_EXCHANGE_STATE_CONNECTED) == 0;
}

char *
sfb_presence_view_meeting_line (const SfbPresenceInput *input)
{
  g_autofree char *now
      = sfb_presence_view_meeting_text (input->current_meeting, SFB_PRESENCE_VIEW_MAX_SUBJECT);
  g_autofree char *next = NULL;

  if (now != NULL)
    return g_strdup_printf ("Meeting now: %s", now);
  next = sfb_presence_view_meeting_text (input->next_meeting, SFB_PRESENCE_VIEW_MAX_SUBJECT);
  return next != NULL ? g_strdup_printf ("Next meeting: %s", next) : NULL;
}

char *
sfb_presence_view_exchange_counts (const SfbPresenceInput *input)
{
  return g_strdup_printf ("%u unread voicemail%s, %u missed conversation%s",
                          input->unread_voicemails,
                          input->unread_voicemails == 1 ? "" : "s",
                          input->missed_conversations,
                          input->missed_conversations == 1 ? "" : "s");
}

static void
add_exchange (GString *details, const SfbPresenceInput *input)
{
  g_autofree char *meeting = NULL;
  g_autofree char *counts = NULL;

  if (!sfb_presence_view_shows_exchange (input))
    return;
  meeting = sfb_presence_view_meeting_line (input);
  counts = sfb_presence_view_exchange_counts (input);
  /* the lines are clean already; append_line would cut them again */
  if (meeting != NULL)
    g_string_append_printf (details, "\n%s", meeting);
  g_string_append_printf (details, "\nExchange: %s", counts);
}

static void
append_line (GString *details, const char *key, const char *value)
{
  g_autofree char *clean = sfb_presence_view_clean_text (value, SFB_PRESENCE_VIEW_MAX_TEXT);

  if (details->len > 0)
    g_string_append_c (details, '\n');
  g_string_append_printf (details, "%s: %s", key, clean);
}

static void
add_last_error (GString *details, const SfbPresenceInput *input)
{
  if (is_empty (input->last_error) && is_empty (input->last_error_message))
    return;
  if (is_empty (input->last_error))
    append_line (details, "Last error", input->last_error_message);
  else
    {
      g_autofree char *line = g_strdup_printf (
          "%s (%s)",
          is_empty (input->last_error_message) ? "no details" : input->last_error_message,
          sfb_error_view_short_name (input->last_error));
      append_line (details, "Last error", line);
    }
}

char *
sfb_presence_view_next_attempt (const SfbPresenceInput *input)
{
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;

  if (g_strcmp0 (input->state, SFB_STATE_RECONNECTING) != 0)
    return NULL;
  if (input->next_retry == 0)
    return g_strdup ("when the network changes");
  utc = g_date_time_new_from_unix_utc ((gint64) (input->next_retry / G_USEC_PER_SEC));
  if (utc == NULL)
    return NULL;
  local = g_date_time_to_local (utc);
  return g_date_time_format (local, "%H:%M:%S");
}

static SfbPresenceView *
view_not_running (void)
{
  SfbPresenceView *view = g_new0 (SfbPresenceView, 1);

  view->icon_name = g_strdup (SFB_ICON_NOT_RUNNING);
  view->overlay_icon_name = g_strdup ("");
  view->attention_icon_name = g_strdup ("");
  view->status = g_strdup ("Active");
  view->title = g_strdup (PRODUCT ": sfbd not running");
  view->summary = g_strdup ("sfbd not running");
  view->details = g_strdup ("sfbd is not running.\nStart it with: systemctl --user start sfbd");
  view->css_class = g_strdup ("not-running");
  view->availability = g_strdup ("");
  return view;
}

/* sfbd owns its name but did not answer in time: hung, or stopped */
static SfbPresenceView *
view_not_answering (void)
{
  SfbPresenceView *view = g_new0 (SfbPresenceView, 1);

  view->icon_name = g_strdup (SFB_ICON_NOT_ANSWERING);
  view->overlay_icon_name = g_strdup ("");
  view->attention_icon_name = g_strdup (SFB_ICON_NOT_ANSWERING);
  view->status = g_strdup ("NeedsAttention");
  view->title = g_strdup (PRODUCT ": sfbd not answering");
  view->summary = g_strdup ("sfbd not answering");
  view->details = g_strdup ("sfbd is running but not answering.\n"
                            "See its log with: journalctl --user -u sfbd\n"
                            "Restart it with: systemctl --user restart sfbd");
  view->css_class = g_strdup ("not-answering");
  view->availability = g_strdup ("");
  return view;
}

/* not running or not answering: the fixed view, and the last action */
static SfbPresenceView *
view_unreachable (const SfbPresenceInput *input)
{
  SfbPresenceView *view = input->running ? view_not_answering () : view_not_running ();

  if (!is_empty (input->action_error))
    {
      g_autoptr (GString) text = g_string_new (view->details);

      append_line (text, "Last action", input->action_error);
      g_free (view->details);
      view->details = g_string_free (g_steal_pointer (&text), FALSE);
    }
  return view;
}

/* the icon and summary: the availability when signed in, else the state */
static void
set_icon (SfbPresenceView *view, const SfbPresenceInput *input, const Entry *state)
{
  const char *state_words = sfb_presence_view_state_words (input->state);

  if (g_strcmp0 (input->state, SFB_STATE_SIGNED_IN) == 0)
    {
      const char *words = sfb_presence_view_availability_words (input->availability);

      view->icon_name = g_strdup (sfb_presence_view_availability_icon (input->availability));
      view->summary = g_strdup (words != NULL ? words : state_words);
      view->availability = g_strdup (input->availability != NULL ? input->availability : "");
    }
  else
    {
      view->icon_name = g_strdup (state != NULL ? state->icon : SFB_ICON_CONNECTING);
      view->summary = g_strdup (state_words);
      view->availability = g_strdup ("");
    }
}

/* failed and reconnecting ask for attention; hosts show the attention
 * icon instead of the icon: the own one too */
static void
set_attention (SfbPresenceView *view, const SfbPresenceInput *input)
{
  gboolean failed = g_strcmp0 (input->state, SFB_STATE_FAILED) == 0;
  gboolean reconnecting = g_strcmp0 (input->state, SFB_STATE_RECONNECTING) == 0;

  if (failed)
    {
      view->overlay_icon_name = g_strdup ("dialog-error");
      view->attention_icon_name = g_strdup (SFB_ICON_FAILED);
    }
  else if (reconnecting)
    {
      view->overlay_icon_name = g_strdup ("emblem-synchronizing");
      view->attention_icon_name = g_strdup (SFB_ICON_RECONNECTING);
    }
  else
    {
      view->overlay_icon_name = g_strdup ("");
      view->attention_icon_name = g_strdup ("");
    }
  view->status = g_strdup (failed || reconnecting ? "NeedsAttention" : "Active");
}

/* the lines of the tooltip, from the state to the last action */
static char *
details_text (const SfbPresenceInput *input, const char *availability_words)
{
  g_autoptr (GString) details = g_string_new (NULL);

  append_line (details, "State", sfb_presence_view_state_words (input->state));
  if (g_strcmp0 (input->state, SFB_STATE_SIGNED_IN) == 0)
    {
      append_line (details, "Availability", availability_words);
      if (!is_empty (input->note))
        append_line (details, "Note", input->note);
      add_exchange (details, input);
    }
  if (!is_empty (input->uri))
    append_line (details, "Account", input->uri);
  if (!is_empty (input->server))
    append_line (details, "Server", input->server);
  if (input->reconnect_attempts > 0)
    {
      g_autofree char *attempts = g_strdup_printf ("%u", input->reconnect_attempts);
      append_line (details, "Reconnect attempts", attempts);
    }
  if (g_strcmp0 (input->state, SFB_STATE_RECONNECTING) == 0)
    {
      g_autofree char *next = sfb_presence_view_next_attempt (input);

      if (next != NULL)
        append_line (details, "Next attempt", next);
    }
  add_last_error (details, input);
  if (!is_empty (input->action_error))
    append_line (details, "Last action", input->action_error);
  return g_string_free (g_steal_pointer (&details), FALSE);
}

SfbPresenceView *
sfb_presence_view_new (const SfbPresenceInput *input)
{
  SfbPresenceView *view;
  const Entry *state;

  g_return_val_if_fail (input != NULL, NULL);

  if (!input->running || input->not_answering)
    return view_unreachable (input);

  view = g_new0 (SfbPresenceView, 1);
  state = find_entry (states, G_N_ELEMENTS (states), input->state);
  set_icon (view, input, state);
  set_attention (view, input);
  view->title = g_strdup_printf (PRODUCT ": %s", view->summary);
  view->css_class = g_strdup (state != NULL ? state->value : "unknown");
  view->details = details_text (input, view->summary);
  return view;
}

static char *
format_duration (guint64 usec)
{
  if (usec < 1000)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " µs", usec);
  if (usec < 10 * G_USEC_PER_SEC)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " ms", usec / 1000);
  return g_strdup_printf ("%.1f s", (double) usec / G_USEC_PER_SEC);
}

char *
sfb_presence_view_stage_text (GVariant *stage, gsize max_detail, char **name)
{
  const char *stage_name = "?";
  const char *result = "";
  const char *detail = "";
  guint64 duration = 0;
  g_autofree char *clean_result = NULL;
  g_autofree char *clean_detail = NULL;
  g_autofree char *time = NULL;

  g_variant_lookup (stage, "Stage", "&s", &stage_name);
  g_variant_lookup (stage, "Result", "&s", &result);
  g_variant_lookup (stage, "Detail", "&s", &detail);
  g_variant_lookup (stage, "Duration", "t", &duration);
  *name = sfb_presence_view_clean_text (stage_name, 40);
  clean_result = sfb_presence_view_clean_text (sfb_error_view_short_name (result), 40);
  clean_detail = sfb_presence_view_clean_text (detail, max_detail);
  time = format_duration (duration);
  /* a stage without a result is the one sfbd is in */
  return g_strdup_printf ("%s, %s%s%s",
                          *clean_result != '\0' ? clean_result : "running",
                          time,
                          *clean_detail != '\0' ? " — " : "",
                          clean_detail);
}

SfbPresenceView *
sfb_presence_view_copy (const SfbPresenceView *view)
{
  SfbPresenceView *copy = g_new0 (SfbPresenceView, 1);

  copy->icon_name = g_strdup (view->icon_name);
  copy->overlay_icon_name = g_strdup (view->overlay_icon_name);
  copy->attention_icon_name = g_strdup (view->attention_icon_name);
  copy->status = g_strdup (view->status);
  copy->title = g_strdup (view->title);
  copy->summary = g_strdup (view->summary);
  copy->details = g_strdup (view->details);
  copy->css_class = g_strdup (view->css_class);
  copy->availability = g_strdup (view->availability);
  return copy;
}

void
sfb_presence_view_free (SfbPresenceView *view)
{
  if (view == NULL)
    return;
  g_free (view->icon_name);
  g_free (view->overlay_icon_name);
  g_free (view->attention_icon_name);
  g_free (view->status);
  g_free (view->title);
  g_free (view->summary);
  g_free (view->details);
  g_free (view->css_class);
  g_free (view->availability);
  g_free (view);
}
