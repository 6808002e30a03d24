/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-exchange"

#include "config.h"

#include "sfb-exchange.h"

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
};

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
  return self;
}

void
sfb_exchange_refresh (SfbExchange *self)
{
  g_return_if_fail (SFB_IS_EXCHANGE (self));
}

void
sfb_exchange_set_sip_voicemails (SfbExchange *self, gboolean known, guint unread)
{
  g_return_if_fail (SFB_IS_EXCHANGE (self));
  self->sip_voicemails_known = known;
  self->sip_voicemails = unread;
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
  (void) self;
  return NULL;
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
}
