/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the files of SfbExchange share:
 *   sfb-exchange.c        the object, its properties and getters, the
 *                         session's life (start, stop), timers, and
 *                         applying what was read (notify only on change)
 *   sfb-exchange-pass.c   one pass: Autodiscover (the URLs in order, SRV,
 *                         redirects) then the EWS reads
 */
#pragma once

#include "sfb-backoff.h"
#include "sfb-deadline.h"
#include "sfb-exchange-http.h"
#include "sfb-exchange.h"

G_BEGIN_DECLS

/* Calendar and OOF every 15 minutes (as SIPE and the Windows client);
 * the voicemail and missed-conversation counts every 3 minutes.  A
 * meeting starting or ending needs no read: a timer at the next boundary
 * re-evaluates the events held. */
#define SFB_EXCHANGE_FULL_INTERVAL_S (15 * 60)
#define SFB_EXCHANGE_COUNTS_INTERVAL_S (3 * 60)
/* Both on one timer (one source in the main loop, not two): it fires every
 * SFB_EXCHANGE_COUNTS_INTERVAL_S and every this many firings reads
 * everything instead (the full pass reads the counts too). */
#define SFB_EXCHANGE_FULL_TICKS (SFB_EXCHANGE_FULL_INTERVAL_S / SFB_EXCHANGE_COUNTS_INTERVAL_S)
G_STATIC_ASSERT (SFB_EXCHANGE_FULL_INTERVAL_S % SFB_EXCHANGE_COUNTS_INTERVAL_S == 0);
/* Failed passes: retried after 30 s, doubling, at most every 15 minutes.
 * A discovery that found no Exchange is not: nothing would change the
 * answer but what starts a pass anyway (docs/protocol.md §18.1). */
#define SFB_EXCHANGE_RETRY_BASE_MS 30000
#define SFB_EXCHANGE_RETRY_CAP_MS (15 * 60 * 1000)
#define SFB_EXCHANGE_RETRY_MIN_MS 5000
/* Autodiscover redirects (302, RedirectUrl, RedirectAddr) per discovery */
#define SFB_EXCHANGE_MAX_REDIRECTS 10
/* The free/busy window: from yesterday 00:00 UTC, 4 days, 15-minute slots */
#define SFB_EXCHANGE_WINDOW_DAYS 4
#define SFB_EXCHANGE_FREE_BUSY_MINUTES 15

typedef struct _SfbExchangePass SfbExchangePass;

struct _SfbExchange
{
  GObject parent_instance;

  SfbSession *session;
  SfbConfig *config;
  SfbSettings *settings;
  char *state_dir;

  char *state;
  char *last_error;
  char *ews_url;
  gboolean in_meeting;
  GVariant *current_meeting; /* a{sv} */
  GVariant *next_meeting;    /* a{sv} */
  gboolean out_of_office;
  char *out_of_office_message;
  guint unread_voicemails;
  guint missed_conversations;
  char *line_uri;
  char *um_url;

  char *email;
  GPtrArray *events; /* SfbCalendarEvent */
  char *free_busy;
  gint64 free_busy_start;
  guint free_busy_interval;
  char *working_hours;
  gint64 oof_start;
  gint64 oof_end;
  gboolean sip_voicemails_known;
  guint sip_voicemails;

  /* the engine */
  gulong changed_id;
  gulong registered_id;
  guint request_id; /* NOTIFY Event: message-summary (sfb_session_add_request_handler()) */
  gulong policies_id;
  gulong network_id;   /* GNetworkMonitor "network-changed" */
  gboolean active;     /* signed in: Exchange is read */
  gboolean registered; /* registered again since: read again once signed-in */
  SfbExchangeHttp *http;
  SfbExchangePass *pass; /* the running pass, or NULL */
  gboolean pending_full; /* a full pass was asked for while one ran */
  SfbBackoff backoff;
  guint retry_id;
  SfbDeadline poll; /* the counts and full passes' timer (sfb-deadline.h) */
  guint poll_ticks; /* its firings since it started */
  guint boundary_id;
  gboolean have_ews_voicemails;
  guint ews_voicemails;
  SfbExchangeOof *oof; /* as read, for the boundary timer */
  char *events_key;    /* the events as text, to notice a change */
  const SfbCalendarEvent *current;
  char *email_hint;        /* from the contact card, when known */
  char *line_uri_hint;     /* from roaming-self userProperties, when known */
  char *history_folder_id; /* Exchange 2010: Conversation History found by name */
};

/* sfb-exchange-pass.c */
typedef enum
{
  SFB_EXCHANGE_PASS_FULL,   /* discover when needed, then read everything */
  SFB_EXCHANGE_PASS_COUNTS, /* voicemail and missed conversations only */
} SfbExchangePassKind;

/* The pass the poll timer's @tick-th firing (from 1) starts: a full one
 * every SFB_EXCHANGE_FULL_INTERVAL_S, the counts between. */
static inline SfbExchangePassKind
sfb_exchange_poll_kind (guint tick)
{
  return tick % SFB_EXCHANGE_FULL_TICKS == 0 ? SFB_EXCHANGE_PASS_FULL : SFB_EXCHANGE_PASS_COUNTS;
}

void sfb_exchange_pass_start (SfbExchange *self, SfbExchangePassKind kind);
void sfb_exchange_pass_cancel (SfbExchange *self);

/* sfb-exchange.c, for the pass */
void sfb_exchange_set_state (SfbExchange *self, const char *state, const char *error);
void sfb_exchange_set_urls (SfbExchange *self, const char *email, const char *ews, const char *um);
void sfb_exchange_apply_availability (SfbExchange *self,
                                      SfbExchangeAvailability *availability,
                                      gint64 window_start);
void sfb_exchange_apply_oof (SfbExchange *self, SfbExchangeOof *oof);
void sfb_exchange_apply_counts (SfbExchange *self,
                                gboolean have_voicemails,
                                guint voicemails,
                                gboolean have_missed,
                                guint missed);
/* The pass ended: @error NULL when it succeeded (connected); @absent when
 * its discovery found that the deployment has no Exchange (@error says
 * what it tried), else a failure to retry. */
void sfb_exchange_pass_done (SfbExchange *self,
                             SfbExchangePassKind kind,
                             const GError *error,
                             gboolean absent);
/* The SMTP address to discover: the contact card's, else the SIP URI's
 * user@domain; NULL when unusable. */
char *sfb_exchange_mailbox_address (SfbExchange *self);

G_END_DECLS
