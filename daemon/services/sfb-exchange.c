/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-exchange"

#include "config.h"

#include "sfb-exchange-private.h"
#include "sfb-message-summary.h"

#include "sfb-error.h"
#include "sfb-memory.h"
#include "sfb-policies.h"
#include "sfb-text.h"
#include "sfb-tls.h"

#include <sfbd/sfb-names.h>
#include <string.h>

G_DEFINE_FINAL_TYPE (SfbExchange, sfb_exchange, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STATE,
  PROP_LAST_ERROR,
  PROP_EWS_URL,
  PROP_IN_MEETING,
  PROP_CURRENT_MEETING,
  PROP_NEXT_MEETING,
  PROP_OUT_OF_OFFICE,
  PROP_OUT_OF_OFFICE_MESSAGE,
  PROP_UNREAD_VOICEMAILS,
  PROP_MISSED_CONVERSATIONS,
  PROP_LINE_URI,
  PROP_UM_URL,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_CALENDAR_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static GVariant *
empty_meeting (void)
{
  return g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
}

/* ---- changing what is shown (notify only on change) ------------------ */

static void
set_string (SfbExchange *self, char **field, const char *value, guint prop)
{
  if (g_strcmp0 (*field, value != NULL ? value : "") == 0)
    return;
  g_free (*field);
  *field = g_strdup (value != NULL ? value : "");
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
set_flag (SfbExchange *self, gboolean *field, gboolean value, guint prop)
{
  if (*field == !!value)
    return;
  *field = !!value;
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
set_count (SfbExchange *self, guint *field, guint value, guint prop)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
set_meeting (SfbExchange *self, GVariant **field, GVariant *value, guint prop)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (value);

  if (g_variant_equal (*field, owned))
    return;
  g_variant_unref (*field);
  *field = g_steal_pointer (&owned);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

void
sfb_exchange_set_state (SfbExchange *self, const char *state, const char *error)
{
  set_string (self, &self->state, state, PROP_STATE);
  set_string (self, &self->last_error, error, PROP_LAST_ERROR);
}

void
sfb_exchange_set_urls (SfbExchange *self, const char *email, const char *ews, const char *um)
{
  /* another mailbox: the next calendar read is news even when it holds the
   * same events (what is published names the mailbox) */
  if (self->email != NULL && email != NULL && g_ascii_strcasecmp (self->email, email) != 0)
    g_clear_pointer (&self->events_key, g_free);
  g_free (self->email);
  self->email = g_strdup (email);
  if (g_strcmp0 (self->ews_url, ews) != 0)
    g_clear_pointer (&self->history_folder_id, g_free);
  set_string (self, &self->ews_url, ews, PROP_EWS_URL);
  set_string (self, &self->um_url, um, PROP_UM_URL);
}

/* ---- the calendar at "now" -------------------------------------------- */

static GVariant *
meeting_variant (const SfbCalendarEvent *event)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  if (event != NULL)
    {
      g_variant_builder_add (&builder, "{sv}", "Subject", g_variant_new_string (event->subject));
      g_variant_builder_add (&builder, "{sv}", "Location", g_variant_new_string (event->location));
      g_variant_builder_add (&builder, "{sv}", "Start", g_variant_new_int64 (event->start));
      g_variant_builder_add (&builder, "{sv}", "End", g_variant_new_int64 (event->end));
    }
  return g_variant_builder_end (&builder);
}

/* Free and no-data blocks are no meetings: neither current nor next. */
static gboolean
counts_as_event (const SfbCalendarEvent *event)
{
  return event->busy_type != SFB_BUSY_FREE && event->busy_type != SFB_BUSY_NO_DATA;
}

/* The event covering @now that wins (OOF > Busy > elsewhere > Tentative). */
static const SfbCalendarEvent *
event_at (GPtrArray *events, gint64 now)
{
  const SfbCalendarEvent *best = NULL;

  for (guint i = 0; i < events->len; i++)
    {
      const SfbCalendarEvent *e = g_ptr_array_index (events, i);

      if (!counts_as_event (e) || e->start > now || e->end <= now)
        continue;
      if (best == NULL || sfb_busy_type_rank (e->busy_type) > sfb_busy_type_rank (best->busy_type))
        best = e;
    }
  return best;
}

/* The local midnight @days days after today's, in µs since the epoch. */
static gint64
local_midnight (gint64 now, int days)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (now / G_USEC_PER_SEC);
  g_autoptr (GDateTime) day = g_date_time_new_local (g_date_time_get_year (t),
                                                     g_date_time_get_month (t),
                                                     g_date_time_get_day_of_month (t),
                                                     0,
                                                     0,
                                                     0);
  g_autoptr (GDateTime) then = g_date_time_add_days (day, days);

  return g_date_time_to_unix (then) * G_USEC_PER_SEC;
}

/* The next meeting: one starting later today or tomorrow (local time). */
static const SfbCalendarEvent *
event_after (GPtrArray *events, gint64 now)
{
  gint64 limit = local_midnight (now, 2);

  for (guint i = 0; i < events->len; i++)
    {
      const SfbCalendarEvent *e = g_ptr_array_index (events, i);

      if (counts_as_event (e) && e->start > now && e->start < limit)
        return e;
    }
  return NULL;
}

/* The first start or end (of an event or of scheduled OOF) after @now, or 0. */
static gint64
next_boundary (SfbExchange *self, gint64 now)
{
  gint64 next = 0;
  gint64 candidates[2];

  for (guint i = 0; i < self->events->len; i++)
    {
      const SfbCalendarEvent *e = g_ptr_array_index (self->events, i);

      candidates[0] = e->start;
      candidates[1] = e->end;
      for (guint j = 0; j < 2; j++)
        if (candidates[j] > now && (next == 0 || candidates[j] < next))
          next = candidates[j];
    }
  /* at midnight, tomorrow's day after comes into NextMeeting's reach */
  candidates[0] = local_midnight (now, 1);
  if (self->events->len > 0 && (next == 0 || candidates[0] < next))
    next = candidates[0];
  if (self->oof != NULL && self->oof->state == SFB_OOF_SCHEDULED)
    {
      candidates[0] = self->oof->start;
      candidates[1] = self->oof->end;
      for (guint j = 0; j < 2; j++)
        if (candidates[j] > now && (next == 0 || candidates[j] < next))
          next = candidates[j];
    }
  return next;
}

static void schedule_boundary (SfbExchange *self);

/* In-meeting, current and next meeting and OOF as of now; TRUE when any
 * of what "calendar-changed" covers changed. */
static gboolean
evaluate_now (SfbExchange *self)
{
  gint64 now = g_get_real_time ();
  const SfbCalendarEvent *current = event_at (self->events, now);
  gboolean oof = sfb_exchange_oof_is_active (self->oof, now);
  gboolean changed = current != self->current || oof != self->out_of_office;

  self->current = current;
  set_flag (self,
            &self->in_meeting,
            current != NULL && current->is_meeting
                && (current->busy_type == SFB_BUSY_BUSY || current->busy_type == SFB_BUSY_OOF),
            PROP_IN_MEETING);
  set_meeting (self, &self->current_meeting, meeting_variant (current), PROP_CURRENT_MEETING);
  set_meeting (self,
               &self->next_meeting,
               meeting_variant (event_after (self->events, now)),
               PROP_NEXT_MEETING);
  set_flag (self, &self->out_of_office, oof, PROP_OUT_OF_OFFICE);
  set_string (self,
              &self->out_of_office_message,
              oof && self->oof != NULL ? self->oof->message : "",
              PROP_OUT_OF_OFFICE_MESSAGE);
  return changed;
}

static gboolean
on_boundary (gpointer user_data)
{
  SfbExchange *self = user_data;

  self->boundary_id = 0;
  if (evaluate_now (self))
    g_signal_emit (self, signals[SIGNAL_CALENDAR_CHANGED], 0);
  schedule_boundary (self);
  return G_SOURCE_REMOVE;
}

/* A timer at the next boundary (never a poll): at least 1 s away, so a
 * clock that jumps cannot make it spin. */
static void
schedule_boundary (SfbExchange *self)
{
  gint64 now = g_get_real_time ();
  gint64 next = next_boundary (self, now);
  gint64 delay_ms;

  g_clear_handle_id (&self->boundary_id, g_source_remove);
  if (next == 0)
    return;
  delay_ms = CLAMP ((next - now) / 1000 + 1, 1000, (gint64) 24 * 3600 * 1000);
  self->boundary_id = g_timeout_add ((guint) delay_ms, on_boundary, self);
}

/* ---- applying what a pass read ---------------------------------------- */

static char *
events_key (GPtrArray *events, const char *free_busy, const char *working_hours)
{
  GString *key = g_string_new (NULL);

  for (guint i = 0; i < events->len; i++)
    {
      const SfbCalendarEvent *e = g_ptr_array_index (events, i);

      g_string_append_printf (key,
                              "%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%d|%d|%s|%s\n",
                              e->start,
                              e->end,
                              e->busy_type,
                              e->is_meeting,
                              e->subject,
                              e->location);
    }
  g_string_append_printf (
      key, "fb:%s\nwh:%s", free_busy ? free_busy : "", working_hours ? working_hours : "");
  return g_string_free (key, FALSE);
}

void
sfb_exchange_apply_availability (SfbExchange *self,
                                 SfbExchangeAvailability *availability,
                                 gint64 window_start)
{
  g_autofree char *key
      = events_key (availability->events, availability->free_busy, availability->working_hours);
  gboolean changed = g_strcmp0 (key, self->events_key) != 0
                     || (availability->free_busy != NULL && window_start != self->free_busy_start);

  if (changed)
    {
      g_free (self->events_key);
      self->events_key = g_steal_pointer (&key);
      g_ptr_array_unref (self->events);
      self->events = g_steal_pointer (&availability->events);
      self->current = NULL; /* it pointed into the old array */
      g_free (self->free_busy);
      self->free_busy = g_steal_pointer (&availability->free_busy);
      self->free_busy_start = self->free_busy != NULL ? window_start : 0;
      self->free_busy_interval = self->free_busy != NULL ? SFB_EXCHANGE_FREE_BUSY_MINUTES : 0;
      g_free (self->working_hours);
      self->working_hours = g_steal_pointer (&availability->working_hours);
    }
  if (evaluate_now (self) || changed)
    g_signal_emit (self, signals[SIGNAL_CALENDAR_CHANGED], 0);
  schedule_boundary (self);
}

static gboolean
oof_equal (const SfbExchangeOof *a, const SfbExchangeOof *b)
{
  return a != NULL && b != NULL && a->state == b->state && a->start == b->start && a->end == b->end
         && g_strcmp0 (a->message, b->message) == 0;
}

void
sfb_exchange_apply_oof (SfbExchange *self, SfbExchangeOof *oof)
{
  gboolean changed = !oof_equal (self->oof, oof);

  g_clear_pointer (&self->oof, sfb_exchange_oof_free);
  self->oof = oof;
  self->oof_start = oof->state == SFB_OOF_SCHEDULED ? oof->start : 0;
  self->oof_end = oof->state == SFB_OOF_SCHEDULED ? oof->end : 0;
  if (evaluate_now (self) || changed)
    g_signal_emit (self, signals[SIGNAL_CALENDAR_CHANGED], 0);
  schedule_boundary (self);
}

static void
update_voicemails (SfbExchange *self)
{
  guint count = self->sip_voicemails_known ? self->sip_voicemails : self->ews_voicemails;

  set_count (self, &self->unread_voicemails, count, PROP_UNREAD_VOICEMAILS);
}

void
sfb_exchange_apply_counts (SfbExchange *self,
                           gboolean have_voicemails,
                           guint voicemails,
                           gboolean have_missed,
                           guint missed)
{
  if (have_voicemails)
    {
      self->have_ews_voicemails = TRUE;
      self->ews_voicemails = voicemails;
    }
  update_voicemails (self);
  if (have_missed)
    set_count (self, &self->missed_conversations, missed, PROP_MISSED_CONVERSATIONS);
}

/* ---- the mailbox and the line ------------------------------------------ */

static gboolean
plain_address (const char *value)
{
  const char *at = value != NULL ? strchr (value, '@') : NULL;

  if (at == NULL || at == value || at[1] == '\0' || strchr (at + 1, '@') != NULL
      || strlen (value) > 256)
    return FALSE;
  for (const char *p = value; *p; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || strchr ("<>\"'&;\\/", *p) != NULL)
      return FALSE;
  return TRUE;
}

char *
sfb_exchange_mailbox_address (SfbExchange *self)
{
  const char *uri = sfb_config_get_uri (self->config);

  if (plain_address (self->email_hint))
    return g_strdup (self->email_hint);
  if (uri != NULL && g_ascii_strncasecmp (uri, "sip:", 4) == 0)
    uri += 4;
  return plain_address (uri) ? g_strdup (uri) : NULL;
}

/* The line URI: roaming-self userProperties when told, else a userSetting
 * lineUri from provisioning (deployments that carry one there). */
static void
update_line_uri (SfbExchange *self)
{
  GVariant *policies = sfb_settings_get_policies (self->settings); /* borrowed */
  g_autofree char *provisioned = NULL;
  static const char *const names[] = { "lineUri", "LineURI", "LineUri", "lineURI" };
  g_autofree char *clean = NULL;

  for (guint i = 0; provisioned == NULL && i < G_N_ELEMENTS (names); i++)
    provisioned = sfb_policies_dup_string (policies, "userSetting", names[i]);
  clean = sfb_text_quote (self->line_uri_hint != NULL ? self->line_uri_hint : provisioned,
                          -1,
                          SFB_EXCHANGE_MAX_TEXT,
                          SFB_TEXT_QUOTE_SPACES);
  set_string (self, &self->line_uri, clean, PROP_LINE_URI);
}

static void
on_policies_changed (SfbSettings *settings, SfbExchange *self)
{
  update_line_uri (self);
}

/* ---- life with the session --------------------------------------------- */

static void stop_timers (SfbExchange *self);
static void start_pass (SfbExchange *self, SfbExchangePassKind kind);

static void
on_poll_timer (gpointer user_data)
{
  SfbExchange *self = user_data;

  sfb_deadline_set_seconds (&self->poll, SFB_EXCHANGE_COUNTS_INTERVAL_S, on_poll_timer, self);
  start_pass (self, sfb_exchange_poll_kind (++self->poll_ticks));
}

static void
start_poll (SfbExchange *self)
{
  if (sfb_deadline_is_set (&self->poll))
    return;
  self->poll_ticks = 0;
  sfb_deadline_set_seconds (&self->poll, SFB_EXCHANGE_COUNTS_INTERVAL_S, on_poll_timer, self);
}

static gboolean
on_retry (gpointer user_data)
{
  SfbExchange *self = user_data;

  self->retry_id = 0;
  start_pass (self, SFB_EXCHANGE_PASS_FULL);
  return G_SOURCE_REMOVE;
}

static void
stop_timers (SfbExchange *self)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  sfb_deadline_clear (&self->poll);
  g_clear_handle_id (&self->boundary_id, g_source_remove);
}

static void
start_pass (SfbExchange *self, SfbExchangePassKind kind)
{
  if (!self->active)
    return;
  if (self->pass != NULL)
    {
      /* counts come with the full pass running anyway */
      self->pending_full |= kind == SFB_EXCHANGE_PASS_FULL;
      return;
    }
  /* while failed, only the retry timer or Refresh() tries again */
  if (kind == SFB_EXCHANGE_PASS_COUNTS
      && g_strcmp0 (self->state, SFB_EXCHANGE_STATE_CONNECTED) != 0)
    return;
  sfb_exchange_pass_start (self, kind);
}

static void forget_mailbox (SfbExchange *self);

/* Discovery found no Exchange: nothing to retry, so no timer at all (not
 * even the poll's); a new registration, a network change, Refresh(), a
 * sign-in or another mailbox address looks again (docs/protocol.md §18.1). */
static void
settle_absent (SfbExchange *self, const GError *error)
{
  if (g_strcmp0 (self->last_error, error->message) != 0)
    g_message ("Exchange: %s", error->message);
  stop_timers (self);
  sfb_backoff_reset (&self->backoff);
  forget_mailbox (self);
  sfb_exchange_set_state (self, SFB_EXCHANGE_STATE_UNAVAILABLE, error->message);
}

void
sfb_exchange_pass_done (SfbExchange *self,
                        SfbExchangePassKind kind,
                        const GError *error,
                        gboolean absent)
{
  /* a pass is a burst (HTTPS, TLS, XML): give its pages back after it,
   * without putting off a trim already pending (a retry's pages were kept
   * until the next burst) */
  sfb_memory_trim_eventually ();
  sfb_tls_release_system_trust (); /* with it: ~3.9 MB when its servers needed it */
  if (error == NULL)
    {
      sfb_backoff_reset (&self->backoff);
      start_poll (self);
      sfb_exchange_set_state (self, SFB_EXCHANGE_STATE_CONNECTED, NULL);
    }
  else if (absent && self->active)
    settle_absent (self, error);
  else if (self->active)
    {
      guint delay = MAX (sfb_backoff_next (&self->backoff, NULL), SFB_EXCHANGE_RETRY_MIN_MS);

      if (g_strcmp0 (self->last_error, error->message) != 0)
        g_warning ("Exchange: %s (again in %u s)", error->message, delay / 1000);
      sfb_exchange_set_state (self, SFB_EXCHANGE_STATE_FAILED, error->message);
      g_clear_handle_id (&self->retry_id, g_source_remove);
      self->retry_id = g_timeout_add (delay, on_retry, self);
    }
  if (self->pending_full && self->active)
    {
      self->pending_full = FALSE;
      start_pass (self, SFB_EXCHANGE_PASS_FULL);
    }
  /* no pass follows at once (the poll's is 3 min away, past libsoup's 60-s
   * idle timeout): close the connections now rather than have libsoup wake
   * up to close them (docs/benchmarks.md) */
  if (self->pass == NULL && self->http != NULL)
    sfb_exchange_http_close_connections (self->http);
}

static GObject *
new_kerberos_context (gpointer session)
{
  return sfb_session_new_http_kerberos_context (session);
}

/* Signed in (again): new credentials, read everything now. */
static void
activate (SfbExchange *self)
{
  g_autoptr (GObject) ntlm = sfb_session_new_http_ntlm_context (self->session);

  sfb_exchange_pass_cancel (self);
  g_clear_object (&self->http);
  self->http = sfb_exchange_http_new (sfb_session_get_tls_database (self->session), ntlm);
  /* Kerberos when the sign-in used it (a KDC answers) or there is no
   * password (the user's ticket is all there is) */
  if (ntlm == NULL || g_strcmp0 (sfb_session_get_auth_method (self->session), "kerberos") == 0)
    sfb_exchange_http_set_kerberos (self->http, new_kerberos_context, self->session);
  self->active = TRUE;
  self->registered = FALSE;
  self->pending_full = FALSE;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  start_poll (self);
  update_line_uri (self);
  start_pass (self, SFB_EXCHANGE_PASS_FULL);
}

/* What was read from the mailbox goes (the SIP voicemail count stays: it is
 * the server's over SIP). */
static void
forget_mailbox (SfbExchange *self)
{
  gboolean had_calendar = self->events->len > 0 || self->free_busy != NULL
                          || self->working_hours != NULL || self->oof != NULL;

  g_clear_handle_id (&self->boundary_id, g_source_remove);
  g_ptr_array_set_size (self->events, 0);
  self->current = NULL;
  g_clear_pointer (&self->events_key, g_free);
  g_clear_pointer (&self->free_busy, g_free);
  self->free_busy_start = 0;
  self->free_busy_interval = 0;
  g_clear_pointer (&self->working_hours, g_free);
  g_clear_pointer (&self->oof, sfb_exchange_oof_free);
  self->oof_start = self->oof_end = 0;
  self->have_ews_voicemails = FALSE;
  self->ews_voicemails = 0;
  g_clear_pointer (&self->email, g_free);
  g_clear_pointer (&self->history_folder_id, g_free);
  set_string (self, &self->ews_url, "", PROP_EWS_URL);
  set_string (self, &self->um_url, "", PROP_UM_URL);
  evaluate_now (self);
  update_voicemails (self);
  set_count (self, &self->missed_conversations, 0, PROP_MISSED_CONVERSATIONS);
  if (had_calendar)
    g_signal_emit (self, signals[SIGNAL_CALENDAR_CHANGED], 0);
}

/* Signed out (or failed for good): nothing is known any more. */
static void
deactivate (SfbExchange *self)
{
  sfb_exchange_pass_cancel (self);
  stop_timers (self);
  g_clear_object (&self->http); /* it holds the NTLM hash */
  self->active = FALSE;
  self->registered = FALSE;
  self->pending_full = FALSE;
  sfb_backoff_reset (&self->backoff);
  self->sip_voicemails_known = FALSE;
  self->sip_voicemails = 0;
  /* the next sign-in's roaming-self tells them again (maybe for another account) */
  g_clear_pointer (&self->email_hint, g_free);
  g_clear_pointer (&self->line_uri_hint, g_free);
  sfb_exchange_set_state (self, SFB_EXCHANGE_STATE_UNAVAILABLE, NULL);
  set_string (self, &self->line_uri, "", PROP_LINE_URI);
  forget_mailbox (self);
}

static void
on_session_changed (SfbSession *session, SfbExchange *self)
{
  const char *state = sfb_session_get_state (session);

  if (g_str_equal (state, SFB_STATE_SIGNED_IN))
    {
      if (!self->active || self->registered)
        activate (self);
    }
  else if (g_str_equal (state, SFB_STATE_SIGNED_OUT) || g_str_equal (state, SFB_STATE_FAILED))
    {
      if (self->active || g_strcmp0 (self->state, SFB_EXCHANGE_STATE_UNAVAILABLE) != 0)
        deactivate (self);
    }
}

/* A new registration (after a reconnect, the network's return, resume):
 * Exchange is read again once signed-in, without delaying it. */
static void
on_registered (SfbSession *session, SfbExchange *self)
{
  self->registered = TRUE;
}

/* Another network may have another DNS view (a VPN, split DNS): where
 * discovery found no Exchange, look again.  A failed pass has its timer. */
static void
on_network_changed (GNetworkMonitor *monitor, gboolean available, SfbExchange *self)
{
  if (available && self->active && self->pass == NULL
      && g_strcmp0 (self->state, SFB_EXCHANGE_STATE_UNAVAILABLE) == 0)
    start_pass (self, SFB_EXCHANGE_PASS_FULL);
}

static void
respond (SfbSession *session, SfbSipMessage *request, guint code, const char *reason)
{
  g_autoptr (GError) error = NULL;

  if (!sfb_session_respond (session, request, code, reason, NULL, NULL, &error))
    g_debug ("Could not answer a message summary: %s", error->message);
}

/* An unsolicited NOTIFY Event: message-summary (RFC 3842) from a voicemail
 * server that reaches the endpoint itself: its count is a SIP count, like
 * the roaming-self mwi category's. */
static gboolean
is_message_summary (SfbSipMessage *request)
{
  const char *event;

  /* the method first: every request comes here, a presence storm's
   * BENOTIFYs too, and a header lookup costs more */
  if (g_strcmp0 (sfb_sip_message_get_method (request), "NOTIFY") != 0)
    return FALSE;
  event = sfb_sip_message_get_header (request, "Event");
  return event != NULL
         && g_ascii_strncasecmp (
                event, SFB_EVENT_MESSAGE_SUMMARY, strlen (SFB_EVENT_MESSAGE_SUMMARY))
                == 0
         && (event[strlen (SFB_EVENT_MESSAGE_SUMMARY)] == '\0'
             || event[strlen (SFB_EVENT_MESSAGE_SUMMARY)] == ';');
}

static gboolean
on_request (SfbSession *session, SfbSipMessage *request, gpointer user_data)
{
  SfbExchange *self = user_data;
  const char *content_type;
  GBytes *body;
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  const char *data;
  guint unread = 0;

  if (!is_message_summary (request))
    return FALSE;
  content_type = sfb_sip_message_get_header (request, "Content-Type");
  body = sfb_sip_message_get_body (request);
  data = body != NULL ? g_bytes_get_data (body, &length) : NULL;
  if (content_type != NULL
      && g_ascii_strncasecmp (content_type, SFB_CT_MESSAGE_SUMMARY, strlen (SFB_CT_MESSAGE_SUMMARY))
             != 0)
    {
      respond (session, request, 415, "Unsupported Media Type");
      return TRUE;
    }
  if (!sfb_message_summary_parse (data, length, &unread, &error))
    {
      g_info ("A message summary was refused: %s", error->message);
      respond (session, request, 400, "Bad Request");
      return TRUE;
    }
  respond (session, request, 200, "OK");
  sfb_exchange_set_sip_voicemails (self, TRUE, unread);
  return TRUE;
}

SfbExchange *
sfb_exchange_new (SfbSession *session,
                  SfbConfig *config,
                  SfbSettings *settings,
                  const char *state_dir)
{
  SfbExchange *self = g_object_new (SFB_TYPE_EXCHANGE, NULL);

  self->session = g_object_ref (session);
  self->config = g_object_ref (config);
  self->settings = g_object_ref (settings);
  self->state_dir = g_strdup (state_dir);
  self->changed_id = g_signal_connect (session, "changed", G_CALLBACK (on_session_changed), self);
  self->registered_id = g_signal_connect (session, "registered", G_CALLBACK (on_registered), self);
  self->request_id = sfb_session_add_request_handler (session, on_request, self);
  self->policies_id
      = g_signal_connect (settings, "policies-changed", G_CALLBACK (on_policies_changed), self);
  self->network_id = g_signal_connect (
      g_network_monitor_get_default (), "network-changed", G_CALLBACK (on_network_changed), self);
  return self;
}

void
sfb_exchange_refresh (SfbExchange *self)
{
  g_return_if_fail (SFB_IS_EXCHANGE (self));

  if (!self->active)
    return;
  /* the user asked: at once, and a failure starts the backoff over */
  sfb_backoff_reset (&self->backoff);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (g_strcmp0 (self->state, SFB_EXCHANGE_STATE_FAILED) == 0)
    {
      /* discover again: the failure may have been the URL */
      sfb_exchange_pass_cancel (self);
      set_string (self, &self->ews_url, "", PROP_EWS_URL);
    }
  start_pass (self, SFB_EXCHANGE_PASS_FULL);
}

void
sfb_exchange_set_sip_voicemails (SfbExchange *self, gboolean known, guint unread)
{
  g_return_if_fail (SFB_IS_EXCHANGE (self));
  self->sip_voicemails_known = known;
  self->sip_voicemails = unread;
  update_voicemails (self);
}

void
sfb_exchange_set_directory_hints (SfbExchange *self, const char *email, const char *line_uri)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  g_return_if_fail (SFB_IS_EXCHANGE (self));
  before = sfb_exchange_mailbox_address (self);
  g_free (self->email_hint);
  self->email_hint = g_strdup (email);
  g_free (self->line_uri_hint);
  self->line_uri_hint = g_strdup (line_uri);
  if (!self->active)
    return;
  update_line_uri (self);
  after = sfb_exchange_mailbox_address (self);
  if (g_strcmp0 (before, after) != 0)
    {
      /* another mailbox (the contact card changed while signed in):
       * discover it at once, as Refresh() after a failure does */
      sfb_exchange_pass_cancel (self);
      set_string (self, &self->ews_url, "", PROP_EWS_URL);
      sfb_backoff_reset (&self->backoff);
      g_clear_handle_id (&self->retry_id, g_source_remove);
      start_pass (self, SFB_EXCHANGE_PASS_FULL);
    }
}

const char *
sfb_exchange_get_email (SfbExchange *self)
{
  return self->email;
}

GPtrArray *
sfb_exchange_get_events (SfbExchange *self)
{
  return self->events;
}

const SfbCalendarEvent *
sfb_exchange_get_current_event (SfbExchange *self)
{
  return self->current;
}

const char *
sfb_exchange_get_free_busy (SfbExchange *self, gint64 *start, guint *interval_minutes)
{
  if (start != NULL)
    *start = self->free_busy_start;
  if (interval_minutes != NULL)
    *interval_minutes = self->free_busy_interval;
  return self->free_busy;
}

const char *
sfb_exchange_get_working_hours (SfbExchange *self)
{
  return self->working_hours;
}

gboolean
sfb_exchange_get_out_of_office (SfbExchange *self, gint64 *start, gint64 *end)
{
  if (start != NULL)
    *start = self->oof_start;
  if (end != NULL)
    *end = self->oof_end;
  return self->out_of_office;
}

const char *
sfb_exchange_get_out_of_office_message (SfbExchange *self)
{
  return self->out_of_office_message;
}
static void
sfb_exchange_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SfbExchange *self = SFB_EXCHANGE (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_string (value, self->state);
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;
    case PROP_EWS_URL:
      g_value_set_string (value, self->ews_url);
      break;
    case PROP_IN_MEETING:
      g_value_set_boolean (value, self->in_meeting);
      break;
    case PROP_CURRENT_MEETING:
      g_value_set_variant (value, self->current_meeting);
      break;
    case PROP_NEXT_MEETING:
      g_value_set_variant (value, self->next_meeting);
      break;
    case PROP_OUT_OF_OFFICE:
      g_value_set_boolean (value, self->out_of_office);
      break;
    case PROP_OUT_OF_OFFICE_MESSAGE:
      g_value_set_string (value, self->out_of_office_message);
      break;
    case PROP_UNREAD_VOICEMAILS:
      g_value_set_uint (value, self->unread_voicemails);
      break;
    case PROP_MISSED_CONVERSATIONS:
      g_value_set_uint (value, self->missed_conversations);
      break;
    case PROP_LINE_URI:
      g_value_set_string (value, self->line_uri);
      break;
    case PROP_UM_URL:
      g_value_set_string (value, self->um_url);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sfb_exchange_dispose (GObject *object)
{
  SfbExchange *self = SFB_EXCHANGE (object);

  sfb_exchange_pass_cancel (self);
  stop_timers (self);
  g_clear_object (&self->http);
  self->active = FALSE;
  if (self->session != NULL)
    {
      g_clear_signal_handler (&self->changed_id, self->session);
      g_clear_signal_handler (&self->registered_id, self->session);
      sfb_session_clear_request_handler (self->session, &self->request_id);
    }
  if (self->settings != NULL)
    g_clear_signal_handler (&self->policies_id, self->settings);
  g_clear_signal_handler (&self->network_id, g_network_monitor_get_default ());
  G_OBJECT_CLASS (sfb_exchange_parent_class)->dispose (object);
}

static void
sfb_exchange_finalize (GObject *object)
{
  SfbExchange *self = SFB_EXCHANGE (object);

  g_clear_object (&self->session);
  g_clear_object (&self->config);
  g_clear_object (&self->settings);
  g_free (self->state_dir);
  g_free (self->state);
  g_free (self->last_error);
  g_free (self->ews_url);
  g_clear_pointer (&self->current_meeting, g_variant_unref);
  g_clear_pointer (&self->next_meeting, g_variant_unref);
  g_free (self->out_of_office_message);
  g_free (self->line_uri);
  g_free (self->um_url);
  g_free (self->email);
  g_clear_pointer (&self->events, g_ptr_array_unref);
  g_free (self->free_busy);
  g_free (self->working_hours);
  g_clear_pointer (&self->oof, sfb_exchange_oof_free);
  g_free (self->events_key);
  g_free (self->email_hint);
  g_free (self->line_uri_hint);
  g_free (self->history_folder_id);
  G_OBJECT_CLASS (sfb_exchange_parent_class)->finalize (object);
}

static GParamSpec *
string_prop (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, "", G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
flag_prop (const char *name)
{
  return g_param_spec_boolean (name, NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
count_prop (const char *name)
{
  return g_param_spec_uint (
      name, NULL, NULL, 0, G_MAXUINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
meeting_prop (const char *name)
{
  return g_param_spec_variant (
      name, NULL, NULL, G_VARIANT_TYPE_VARDICT, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static void
sfb_exchange_class_init (SfbExchangeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = sfb_exchange_get_property;
  object_class->dispose = sfb_exchange_dispose;
  object_class->finalize = sfb_exchange_finalize;

  props[PROP_STATE] = string_prop ("state");
  props[PROP_LAST_ERROR] = string_prop ("last-error");
  props[PROP_EWS_URL] = string_prop ("ews-url");
  props[PROP_IN_MEETING] = flag_prop ("in-meeting");
  props[PROP_CURRENT_MEETING] = meeting_prop ("current-meeting");
  props[PROP_NEXT_MEETING] = meeting_prop ("next-meeting");
  props[PROP_OUT_OF_OFFICE] = flag_prop ("out-of-office");
  props[PROP_OUT_OF_OFFICE_MESSAGE] = string_prop ("out-of-office-message");
  props[PROP_UNREAD_VOICEMAILS] = count_prop ("unread-voicemails");
  props[PROP_MISSED_CONVERSATIONS] = count_prop ("missed-conversations");
  props[PROP_LINE_URI] = string_prop ("line-uri");
  props[PROP_UM_URL] = string_prop ("um-url");
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_CALENDAR_CHANGED] = g_signal_new ("calendar-changed",
                                                   G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST,
                                                   0,
                                                   NULL,
                                                   NULL,
                                                   NULL,
                                                   G_TYPE_NONE,
                                                   0);
}

static void
sfb_exchange_init (SfbExchange *self)
{
  self->state = g_strdup (SFB_EXCHANGE_STATE_UNAVAILABLE);
  self->last_error = g_strdup ("");
  self->ews_url = g_strdup ("");
  self->current_meeting = empty_meeting ();
  self->next_meeting = empty_meeting ();
  self->out_of_office_message = g_strdup ("");
  self->line_uri = g_strdup ("");
  self->um_url = g_strdup ("");
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_calendar_event_free);
  sfb_backoff_init (&self->backoff, SFB_EXCHANGE_RETRY_BASE_MS, SFB_EXCHANGE_RETRY_CAP_MS);
}
