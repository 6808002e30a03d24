/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-registration.h"
#include "sfb-presence.h"

#include "sfb-endpoint-id.h"
#include "sfb-error.h"
#include "sfb-exchange.h"
#include "sfb-text.h"
#include "sfb-log.h"
#include "sfb-marshal.h"
#include "sfb-presence-doc.h"
#include "sfb-presence-known.h"
#include "sfb-subscription.h"

#include <sfbd/sfb-names.h>

#include <string.h>

#define PRESENCE_ACCEPT                                                                            \
  "application/rlmi+xml, multipart/related, text/xml+msrtc.pidf, "                                 \
  "application/msrtc-event-categories+xml, application/xpidf+xml, application/pidf+xml"
#define ROAMING_SELF_BODY                                                                          \
  "<roamingList xmlns=\"http://schemas.microsoft.com/2006/09/sip/roaming-self\">"                  \
  "<roaming type=\"categories\"/><roaming type=\"containers\"/>"                                   \
  "<roaming type=\"subscribers\"/></roamingList>"

typedef enum
{
  PUBLISH_STATE, /* machineState + userState (+ device at sign-in) */
  PUBLISH_NOTE,
  PUBLISH_CALENDAR, /* calendarState, calendarData, the OOF note */
} PublishKind;

struct _SfbPresence
{
  GObject parent_instance;

  SfbSession *session;
  SfbConfig *config;
  SfbContacts *contacts;
  char *state_dir;
  gulong registered_id;
  gulong contacts_id;

  SfbSubscription *roaming_self;
  SfbSubscription *batch;
  char *batch_uris;               /* the contacts the batch was made for: a digest */
  GHashTable *pool_subscriptions; /* pool fqdn or contact uri -> SfbSubscription */
  GHashTable *presences;          /* SfbPresenceInfo (sfb-presence-known.h) */
  GHashTable *acknowledging;      /* subscribers acknowledged in this registration */
  GHashTable *singles;            /* without adhoclist: contact uri -> SfbSubscription */

  GHashTable *versions;
  char *aor;
  char *epid;
  char *instance_uuid;
  gboolean published;    /* the initial publication of this registration */
  gboolean roaming_seen; /* its first roaming-self arrived */
  guint settings_task;
  GCancellable *cancellable;

  /* bumped whenever anything in `presences` changes (sfb_presence_get_contacts_version) */
  guint64 contacts_version;

  /* own presence as the server aggregated it */
  guint availability;
  char *activity;
  char *note;
  /* what the user chose (0: online) */
  guint wanted_code;
  char *wanted_activity;
  char *wanted_note; /* NULL: never set */
  /* the machineState: active, inactive or away (the desktop session) */
  guint machine_code;

  /* the voicemail count the server sent (roaming-self mwi) */
  gboolean voicemails_known;
  guint voicemails;

  /* the directory's view of the user (roaming-self contactCard e-mail,
   * userProperties line), this registration's; for Exchange */
  char *own_email;
  char *own_line;

  /* publishing the Exchange calendar */
  SfbExchange *exchange;
  gulong calendar_id;
  SfbCalendarPresence *calendar_published; /* what the server has (this registration) */
  guint generation;                        /* registrations so far */
  gboolean calendar_busy;                  /* a calendar publication is under way */
  gboolean calendar_again;                 /* and the calendar changed meanwhile */
};

G_DEFINE_FINAL_TYPE (SfbPresence, sfb_presence, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  SIGNAL_PRESENCE_CHANGED,
  SIGNAL_VOICEMAIL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
publish (SfbPresence *self, PublishKind kind, gboolean with_device, guint attempt, GTask *task);
static gboolean ensure_identity (SfbPresence *self, GError **error);

static gboolean
registered (SfbPresence *self)
{
  const char *state = sfb_session_get_state (self->session);

  return g_strcmp0 (state, SFB_STATE_RETRIEVING_SETTINGS) == 0
         || g_strcmp0 (state, SFB_STATE_SIGNED_IN) == 0;
}

static void
end_settings_task (SfbPresence *self)
{
  if (self->settings_task != 0)
    sfb_session_end_settings_task (self->session, self->settings_task);
  self->settings_task = 0;
}

static void
set_own (SfbPresence *self, guint code, const char *activity, const char *note)
{
  gboolean changed = FALSE;

  if (code != 0 && (code != self->availability || g_strcmp0 (activity, self->activity) != 0))
    {
      self->availability = code;
      g_free (self->activity);
      self->activity = g_strdup (activity);
      changed = TRUE;
    }
  if (note != NULL && g_strcmp0 (note, self->note) != 0)
    {
      g_free (self->note);
      self->note = g_strdup (note);
      changed = TRUE;
    }
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
set_voicemails (SfbPresence *self, gboolean known, guint unread)
{
  if (known == self->voicemails_known && (!known || unread == self->voicemails))
    return;
  self->voicemails_known = known;
  self->voicemails = known ? unread : 0;
  g_info ("Voicemail waiting indication: %s",
          known ? (unread != 0 ? "messages waiting" : "none waiting") : "withdrawn");
  g_signal_emit (self, signals[SIGNAL_VOICEMAIL_CHANGED], 0);
}

/* ---- publishing ---- */

typedef struct
{
  SfbPresence *self;
  SfbPublish *publish;
  PublishKind kind;
  gboolean with_device;
  guint attempt;
  GTask *task;                   /* SetAvailability/SetNote waiting for the answer, or NULL */
  SfbCalendarPresence *calendar; /* PUBLISH_CALENDAR: what is being published */
  guint generation;
} PublishCall;

static void
publish_call_free (PublishCall *call)
{
  g_object_unref (call->self);
  sfb_publish_free (call->publish);
  sfb_calendar_presence_free (call->calendar);
  g_clear_object (&call->task);
  g_free (call);
}

static void publish_calendar (SfbPresence *self);

/* The end of a calendar publication: @accepted (transfer full) is what the
 * server now has, NULL when it failed (the next change tries again). */
static void
calendar_done (SfbPresence *self, guint generation, SfbCalendarPresence *accepted)
{
  if (accepted != NULL && generation == self->generation)
    {
      sfb_calendar_presence_free (self->calendar_published);
      self->calendar_published = accepted;
    }
  else
    sfb_calendar_presence_free (accepted);
  self->calendar_busy = FALSE;
  if (self->calendar_again)
    {
      self->calendar_again = FALSE;
      publish_calendar (self);
    }
}

/* The end of one publication: @error (transfer full) or NULL for success. */
static void
publish_done (SfbPresence *self, gboolean with_device, GTask *task, GError *error)
{
  if (with_device)
    end_settings_task (self);
  if (task != NULL && error != NULL)
    g_task_return_error (task, error);
  else if (task != NULL)
    g_task_return_boolean (task, TRUE);
  else
    g_clear_error (&error);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PublishCall, publish_call_free)

static void
add_publication (SfbPresence *self,
                 SfbPublish *publish,
                 const char *name,
                 guint32 instance,
                 guint container,
                 const char *expire_type,
                 const char *content)
{
  sfb_publish_add_versioned (
      publish, self->versions, name, instance, container, expire_type, content);
}

static void apply_roaming_self (SfbPresence *self, GBytes *body);

/* The initial publication of a registration goes out with the versions of
 * the former one (sfbd's own user state and note; endpoint publications
 * ended with it), so a 409 on the user state there means another endpoint
 * chose one since: it is newer than this run's choice and stays
 * (docs/protocol.md §11.4). */
static void
user_state_taken (SfbPresence *self)
{
  if (self->wanted_code == 0)
    return;
  g_info ("Another endpoint changed the user state meanwhile: keeping it");
  self->wanted_code = 0;
  g_clear_pointer (&self->wanted_activity, g_free);
}

static void
on_publish_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PublishCall) call = user_data;
  SfbPresence *self = call->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) response = NULL;
  guint code;

  response = sfb_session_send_request_finish (SFB_SESSION (source), result, &error);
  if (response == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_info ("Publishing presence failed: %s", error->message);
      if (call->kind == PUBLISH_CALENDAR)
        calendar_done (self, call->generation, NULL);
      publish_done (self, call->with_device, call->task, g_steal_pointer (&error));
      return;
    }
  code = sfb_sip_message_get_status_code (response);
  if (code == 409 && call->attempt + 1 < SFB_PRESENCE_MAX_PUBLISH_ATTEMPTS)
    {
      GBytes *body = sfb_sip_message_get_body (response);
      g_autoptr (GArray) ops = NULL;
      g_autofree char *faultcode = NULL;
      gsize length = 0;
      const char *data = body != NULL ? g_bytes_get_data (body, &length) : NULL;

      if (sfb_presence_parse_fault (data, length, &faultcode, &ops, &error))
        {
          g_info ("Publication versions out of date (%s): using the server's",
                  faultcode != NULL ? faultcode : "409");
          for (guint i = 0; i < ops->len; i++)
            {
              const SfbFaultOperation *op = &g_array_index (ops, SfbFaultOperation, i);
              guint32 instance = 0;
              guint container = 0;
              const char *name
                  = sfb_publish_get_key (call->publish, op->index, &instance, &container);

              if (name == NULL)
                continue;
              sfb_pub_versions_set (self->versions, name, instance, container, op->cur_version);
              if (call->with_device && g_str_equal (name, "state")
                  && instance == SFB_INSTANCE_USER_STATE)
                user_state_taken (self);
            }
          publish (self, call->kind, call->with_device, call->attempt + 1, call->task);
          return;
        }
      g_info ("Unusable 409 to a presence publication: %s", error->message);
    }
  if (code < 200 || code >= 300)
    {
      g_autofree char *diagnostics = sfb_registration_dup_diagnostics (response);
      g_autofree char *reason = sfb_registration_dup_reason (response);

      g_autoptr (GError) rejected = g_error_new (SFB_ERROR,
                                                 SFB_ERROR_SERVER_REJECTED,
                                                 "The server rejected the presence publication: "
                                                 "SIP %u %s%s%s",
                                                 code,
                                                 reason,
                                                 diagnostics != NULL ? "; " : "",
                                                 diagnostics != NULL ? diagnostics : "");

      g_info ("%s", rejected->message);
      if (call->kind == PUBLISH_CALENDAR)
        calendar_done (self, call->generation, NULL);
      publish_done (self, call->with_device, call->task, g_steal_pointer (&rejected));
      return;
    }
  else
    {
      const char *type = sfb_sip_message_get_header (response, "Content-Type");
      GBytes *body = sfb_sip_message_get_body (response);

      sfb_pub_versions_published (self->versions, call->publish);
      if (call->kind == PUBLISH_CALENDAR)
        calendar_done (self, call->generation, g_steal_pointer (&call->calendar));
      if (type != NULL && g_str_has_prefix (type, SFB_CT_ROAMING_SELF) && body != NULL)
        apply_roaming_self (self, body);
    }
  publish_done (self, call->with_device, call->task, NULL);
}

static char *
timezone_string (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();

  return g_date_time_format (now, "00:00:00%:z");
}

/* What the calendar says now, as the publication needs it. */
static SfbCalendarPresence *
calendar_snapshot (SfbPresence *self)
{
  SfbCalendarPresence cal = { 0 };
  const SfbCalendarEvent *event = sfb_exchange_get_current_event (self->exchange);

  cal.email = (char *) sfb_exchange_get_email (self->exchange);
  if (event != NULL && (event->busy_type == SFB_BUSY_BUSY || event->busy_type == SFB_BUSY_OOF))
    {
      if (event->busy_type == SFB_BUSY_OOF)
        cal.state = SFB_CALENDAR_OOF;
      else
        cal.state = event->is_meeting ? SFB_CALENDAR_MEETING : SFB_CALENDAR_BUSY;
      cal.state_start = event->start;
      cal.subject = event->subject;
      cal.location = event->location;
    }
  cal.working_hours = (char *) sfb_exchange_get_working_hours (self->exchange);
  cal.free_busy = (char *) sfb_exchange_get_free_busy (
      self->exchange, &cal.free_busy_start, &cal.free_busy_interval);
  cal.oof = sfb_exchange_get_out_of_office (self->exchange, &cal.oof_start, &cal.oof_end);
  cal.oof_message = (char *) sfb_exchange_get_out_of_office_message (self->exchange);
  return sfb_calendar_presence_copy (&cal);
}

static void
publish (SfbPresence *self, PublishKind kind, gboolean with_device, guint attempt, GTask *task)
{
  g_autoptr (SfbPublish) publish = sfb_publish_new (self->aor);
  g_autoptr (SfbSipMessage) request = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (SfbCalendarPresence) calendar = NULL;
  PublishCall *call;

  if (kind == PUBLISH_STATE)
    {
      guint32 device = sfb_presence_device_instance (self->epid);
      guint32 machine = sfb_presence_machine_state_instance (self->epid);
      g_autofree char *machine_state
          = sfb_presence_state_xml ("machineState", FALSE, self->machine_code, NULL);
      g_autofree char *user_state = NULL;

      if (with_device)
        {
          g_autofree char *tz = timezone_string ();
          g_autofree char *dev
              = sfb_presence_device_xml (self->aor, self->instance_uuid, g_get_host_name (), tz);

          add_publication (self, publish, "device", device, 2, "endpoint", dev);
        }
      for (guint container = 2; container <= 3; container++)
        add_publication (self, publish, "state", machine, container, "endpoint", machine_state);
      /* A userState only for what the user chose, here or (adopted from
       * roaming-self) on another endpoint or in an earlier run: a manual
       * state wins the server's aggregation over the calendar
       * (docs/protocol.md §11.4, §11.7).  Without one sfbd leaves the user
       * state alone: it is static and the user's, kept across sign-ins and
       * endpoints as the SfB client keeps it (Do Not Disturb set on the
       * phone stays); SetAvailability("online") is the reset. */
      if (self->wanted_code != 0)
        user_state
            = sfb_presence_state_xml ("userState", TRUE, self->wanted_code, self->wanted_activity);
      if (user_state != NULL)
        for (guint container = 2; container <= 3; container++)
          add_publication (
              self, publish, "state", SFB_INSTANCE_USER_STATE, container, "static", user_state);
    }
  if (kind == PUBLISH_NOTE || (with_device && self->wanted_note != NULL))
    {
      g_autofree char *note = NULL;
      static const guint containers[] = { 200, 300, 400 };

      if (self->wanted_note != NULL && *self->wanted_note != '\0')
        note = sfb_presence_note_xml (self->wanted_note);
      for (gsize i = 0; i < G_N_ELEMENTS (containers); i++)
        add_publication (self, publish, "note", SFB_INSTANCE_NOTE, containers[i], "static", note);
    }
  if (kind == PUBLISH_CALENDAR)
    {
      calendar = calendar_snapshot (self);
      sfb_presence_add_calendar (publish, self->versions, self->calendar_published, calendar);
    }
  if (sfb_publish_get_length (publish) == 0)
    {
      if (kind == PUBLISH_CALENDAR)
        calendar_done (self, self->generation, g_steal_pointer (&calendar));
      publish_done (self, with_device, task, NULL);
      return;
    }

  request = sfb_session_new_request (self->session, "SERVICE", NULL);
  if (request == NULL)
    {
      if (kind == PUBLISH_CALENDAR)
        calendar_done (self, self->generation, NULL);
      publish_done (self,
                    with_device,
                    task,
                    g_error_new_literal (SFB_ERROR,
                                         SFB_ERROR_NOT_SIGNED_IN,
                                         "Not signed in. Sign in first with: sfbctl sign-in"));
      return;
    }
  body = sfb_publish_to_bytes (publish);
  sfb_sip_message_set_body (request, SFB_CT_CATEGORY_PUBLISH, body);

  call = g_new0 (PublishCall, 1);
  call->self = g_object_ref (self);
  call->publish = g_steal_pointer (&publish);
  call->kind = kind;
  call->with_device = with_device;
  call->attempt = attempt;
  call->task = task != NULL ? g_object_ref (task) : NULL;
  call->calendar = g_steal_pointer (&calendar);
  call->generation = self->generation;
  sfb_session_send_request_async (
      self->session, request, self->cancellable, on_publish_response, call);
}

/* After the first publication of a registration and whenever the calendar
 * changes; one at a time, the latest calendar wins. */
static void
publish_calendar (SfbPresence *self)
{
  /* the calendar's versions (calendarData is static) come from roaming-self */
  if (self->exchange == NULL || !self->published || !self->roaming_seen || !registered (self))
    return;
  if (self->calendar_busy)
    {
      self->calendar_again = TRUE;
      return;
    }
  self->calendar_busy = TRUE;
  publish (self, PUBLISH_CALENDAR, FALSE, 0, NULL);
}

static void
on_calendar_changed (SfbExchange *exchange, SfbPresence *self)
{
  publish_calendar (self);
}

/* ---- roaming-self ---- */

static void
on_set_subscribers_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbPresence) self G_GNUC_UNUSED = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) response = NULL;
  guint code;

  response = sfb_session_send_request_finish (SFB_SESSION (source), result, &error);
  if (response == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_info ("Acknowledging new subscribers failed: %s", error->message);
      return;
    }
  code = sfb_sip_message_get_status_code (response);
  if (code < 200 || code >= 300)
    {
      g_autofree char *reason = sfb_registration_dup_reason (response);

      g_info ("The server refused to acknowledge subscribers: SIP %u %s", code, reason);
    }
}

/* Those who newly subscribed to the user's presence (subscribers with
 * acknowledged="false") are acknowledged with setSubscribers, once per
 * registration (docs/protocol.md §11.3).  sfbd asks nobody: SfB clients show
 * a "added you to their contacts" notice; sfbd logs it. */
static void
acknowledge_subscribers (SfbPresence *self, const SfbRoamingSelf *roaming)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) users = NULL;
  g_autoptr (SfbSipMessage) request = NULL;
  g_autoptr (GBytes) body = NULL;

  for (guint i = 0; roaming->has_subscribers && i < roaming->subscribers->len; i++)
    {
      const SfbSubscriber *s = roaming->subscribers->pdata[i];

      if (s->acknowledged || s->user == NULL || *s->user == '\0'
          || g_hash_table_contains (self->acknowledging, s->user))
        continue;
      g_hash_table_add (self->acknowledging, g_strdup (s->user));
      g_info ("%s added you to their contacts", s->user);
      g_strv_builder_add (builder, s->user);
    }
  users = g_strv_builder_end (builder);
  if (users[0] == NULL || !registered (self))
    return;
  request = sfb_session_new_request (self->session, "SERVICE", NULL);
  if (request == NULL)
    return;
  body = sfb_presence_set_subscribers_body ((const char *const *) users);
  sfb_sip_message_set_body (request, SFB_CT_SET_SUBSCRIBERS, body);
  sfb_session_send_request_async (
      self->session, request, self->cancellable, on_set_subscribers_response, g_object_ref (self));
}

/* The user's own e-mail address and line, as the directory has them: the
 * mailbox Exchange Autodiscover looks for (it may differ from the SIP
 * address) and the line shown (docs/protocol.md §18.2, §18.5).  A body
 * without the category leaves what is known. */
static void
update_directory (SfbPresence *self, const SfbRoamingSelf *roaming)
{
  gboolean card = roaming->self != NULL && roaming->self->has_card;

  if (card)
    {
      g_free (self->own_email);
      self->own_email = g_strdup (roaming->self->email);
    }
  if (roaming->has_user_properties)
    {
      g_free (self->own_line);
      self->own_line = g_strdup (roaming->line_uri);
    }
  if ((card || roaming->has_user_properties) && self->exchange != NULL)
    sfb_exchange_set_directory_hints (self->exchange, self->own_email, self->own_line);
}

/* The userState on the server is the user's choice, whichever endpoint made
 * it and in whichever run (docs/protocol.md §11.4: static, kept across
 * sign-ins as the SfB client keeps it): the one shown (appear-offline, which
 * others see as offline) and the one republished with the machineState.
 * Not from a document older than what sfbd last published itself (a NOTIFY
 * overtaken by SetAvailability): before the versions are applied. */
static void
adopt_user_state (SfbPresence *self, const SfbRoamingSelf *roaming)
{
  guint known = sfb_pub_versions_get (
      self->versions, "state", SFB_INSTANCE_USER_STATE, roaming->user_state_container);

  if (roaming->user_state == 0 || roaming->user_state_version < known
      || (roaming->user_state == self->wanted_code
          && g_strcmp0 (roaming->user_activity, self->wanted_activity) == 0))
    return;
  self->wanted_code = roaming->user_state;
  g_free (self->wanted_activity);
  self->wanted_activity = g_strdup (roaming->user_activity);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
apply_roaming_self (SfbPresence *self, GBytes *body)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbRoamingSelf) roaming = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (body, &length);

  roaming = sfb_roaming_self_parse (data, length, &error);
  if (roaming == NULL)
    {
      sfb_warn_err (error, "Ignoring a roaming-self document: %s", error->message);
      return;
    }
  adopt_user_state (self, roaming);
  sfb_pub_versions_apply (self->versions, roaming);
  if (roaming->self != NULL)
    set_own (self, roaming->self->availability, roaming->self->activity, roaming->self->note);
  if (roaming->mwi.state != SFB_MWI_ABSENT)
    set_voicemails (self, roaming->mwi.state == SFB_MWI_SET, roaming->mwi.unread);
  update_directory (self, roaming);
  acknowledge_subscribers (self, roaming);
}

/* The first publication of a registration: device, machineState, and the
 * user's choices of this run.  It goes out at once with the versions kept
 * (on_registered), beside the settings and the roaming-self subscription
 * rather than after its answer; a stale one costs the 409's retry. */
static void
publish_initial (SfbPresence *self)
{
  if (self->published || !ensure_identity (self, NULL))
    return;
  self->published = TRUE;
  publish (self, PUBLISH_STATE, TRUE, 0, NULL);
}

static void
on_roaming_self (SfbSubscription *subscription,
                 const char *content_type,
                 GBytes *body,
                 gboolean benotify,
                 gpointer user_data)
{
  SfbPresence *self = user_data;
  gboolean first = !self->roaming_seen;

  apply_roaming_self (self, body);
  self->roaming_seen = TRUE;
  publish_initial (self);
  if (first)
    publish_calendar (self); /* later changes come from the calendar itself */
}

static void
on_roaming_self_terminated (SfbSubscription *subscription, const GError *reason, SfbPresence *self)
{
  g_info ("Roaming-self subscription ended: %s", reason->message);
  end_settings_task (self);
}

/* ---- contacts' presence ---- */

static void subscribe_elsewhere (SfbPresence *self, const SfbPresenceResubscribe *re);

static void
on_presence_body (SfbSubscription *subscription,
                  const char *content_type,
                  GBytes *body,
                  gboolean benotify,
                  gpointer user_data)
{
  SfbPresence *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbPresenceNotify) notify = NULL;
  g_autofree SfbPresenceInfo **changed = NULL; /* the entries that changed */
  gsize length = 0;
  const char *data = g_bytes_get_data (body, &length);

  notify = sfb_presence_notify_parse (content_type, data, length, &error);
  if (notify == NULL)
    {
      sfb_warn_err (error, "Ignoring a presence notification: %s", error->message);
      return;
    }
  /* All merged before any signal: what is kept of each contact is then
   * allocated together, not between the signals' short-lived values,
   * whose holes would pin the heap's pages once they are freed */
  changed = g_new (SfbPresenceInfo *, MAX (notify->presences->len, 1));
  for (guint i = 0; i < notify->presences->len; i++)
    changed[i] = sfb_presence_known_merge (
        self->presences, notify->presences->pdata[i], &self->contacts_version);
  for (guint i = 0; i < notify->presences->len; i++)
    {
      const SfbPresenceInfo *info = notify->presences->pdata[i];

      if (changed[i] != NULL)
        {
          /* entries stay where they are while the table grows, and no
           * "presence-changed" handler removes one */
          g_autoptr (GVariant) presence = sfb_presence_info_dup_variant (changed[i]);

          g_signal_emit (self, signals[SIGNAL_PRESENCE_CHANGED], 0, info->uri, presence);
        }
    }
  for (guint i = 0; i < notify->resubscribe->len; i++)
    subscribe_elsewhere (self, notify->resubscribe->pdata[i]);
}

static void
on_presence_terminated (SfbSubscription *subscription, const GError *reason, SfbPresence *self)
{
  g_info ("A presence subscription ended: %s", reason->message);
}

static guint
new_action_id (void)
{
  return (guint) g_random_int_range (1, G_MAXINT);
}

/* @uris: a pool's batch (kept, it is short); NULL: one contact, @target */
static SfbSubscription *
new_presence_subscription (SfbPresence *self, const char *target, const char *const *uris)
{
  SfbSubscription *sub = sfb_subscription_new (self->session, "presence", PRESENCE_ACCEPT, target);

  if (uris != NULL)
    {
      g_autoptr (GBytes) body
          = sfb_presence_batch_subscribe_body (self->aor, new_action_id (), uris);

      sfb_subscription_add_header (sub, "Require", "adhoclist, categoryList");
      sfb_subscription_add_header (sub, "Supported", "eventlist");
      sfb_subscription_set_body (sub, SFB_CT_ADRL_CATEGORYLIST, body);
    }
  sfb_subscription_set_body_handler (sub, on_presence_body, self);
  g_signal_connect (sub, "terminated", G_CALLBACK (on_presence_terminated), self);
  return sub;
}

/* The batch of every contact: its body built from the contact list for
 * each SUBSCRIBE, not kept (44 kB with 1,000 contacts) */
typedef struct
{
  SfbContacts *contacts;
  char *aor;
  guint action_id;
} BatchBody;

static void
batch_body_free (BatchBody *batch)
{
  g_object_unref (batch->contacts);
  g_free (batch->aor);
  g_free (batch);
}

static GBytes *
build_batch_body (gpointer data)
{
  BatchBody *batch = data;
  const GPtrArray *contacts = sfb_contacts_get_list (batch->contacts)->contacts;
  g_autofree const char **uris = g_new (const char *, contacts->len + 1);

  for (guint i = 0; i < contacts->len; i++)
    uris[i] = ((const SfbContactEntry *) contacts->pdata[i])->uri;
  uris[contacts->len] = NULL;
  return sfb_presence_batch_subscribe_body (batch->aor, batch->action_id, uris);
}

static SfbSubscription *
new_batch_subscription (SfbPresence *self)
{
  SfbSubscription *sub = new_presence_subscription (self, NULL, NULL);
  BatchBody *batch = g_new0 (BatchBody, 1);

  batch->contacts = g_object_ref (self->contacts);
  batch->aor = g_strdup (self->aor);
  batch->action_id = new_action_id ();
  sfb_subscription_add_header (sub, "Require", "adhoclist, categoryList");
  sfb_subscription_add_header (sub, "Supported", "eventlist");
  sfb_subscription_set_body_builder (
      sub, SFB_CT_ADRL_CATEGORYLIST, build_batch_body, batch, (GDestroyNotify) batch_body_free);
  return sub;
}

/* rlmi "resubscribe": a batch of its own toward poolFqdn, else a single
 * SUBSCRIBE To the contact (MS-PRES 3.4.5.1.3). */
static void
subscribe_elsewhere (SfbPresence *self, const SfbPresenceResubscribe *re)
{
  g_autofree char *target = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) uris = NULL;
  SfbSubscription *old;
  const char *key = re->pool != NULL ? re->pool : re->uri;

  old = g_hash_table_lookup (self->pool_subscriptions, key);
  if (re->pool == NULL)
    {
      if (old != NULL)
        return;
      target = g_strdup (re->uri);
    }
  else
    {
      /* the pool's batch so far plus this contact */
      g_auto (GStrv) have = old != NULL ? g_object_steal_data (G_OBJECT (old), "uris") : NULL;

      for (guint i = 0; have != NULL && have[i] != NULL; i++)
        {
          if (g_str_equal (have[i], re->uri))
            {
              g_object_set_data_full (
                  G_OBJECT (old), "uris", g_steal_pointer (&have), (GDestroyNotify) g_strfreev);
              return;
            }
          g_strv_builder_add (builder, have[i]);
        }
      g_strv_builder_add (builder, re->uri);
      uris = g_strv_builder_end (builder);
      target = g_strdup_printf ("sip:%s", re->pool);
    }
  if (old != NULL)
    sfb_subscription_stop (old);
  g_debug ("Subscribing to %s's presence through %s", re->uri, target);
  {
    SfbSubscription *sub = new_presence_subscription (self, target, (const char *const *) uris);

    if (uris != NULL)
      g_object_set_data_full (
          G_OBJECT (sub), "uris", g_steal_pointer (&uris), (GDestroyNotify) g_strfreev);
    g_hash_table_replace (self->pool_subscriptions, g_strdup (key), sub);
    sfb_subscription_start (sub);
  }
}

static void
stop_subscription (gpointer data)
{
  SfbSubscription *sub = data;

  g_signal_handlers_disconnect_matched (
      sub, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_presence_body, NULL);
  g_signal_handlers_disconnect_matched (
      sub, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_presence_terminated, NULL);
  sfb_subscription_stop (sub);
  g_object_unref (sub);
}

/* The SHA-256 of the URIs joined by spaces: what tells a batch's contacts
 * apart, without keeping them (27 kB with 1,000 contacts) */
static char *
uris_digest (const char *const *uris)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  for (guint i = 0; uris[i] != NULL; i++)
    {
      if (i > 0)
        g_checksum_update (sum, (const guchar *) " ", 1);
      g_checksum_update (sum, (const guchar *) uris[i], -1);
    }
  return g_strdup (g_checksum_get_string (sum));
}

static void
on_contacts_changed (SfbContacts *contacts, SfbPresence *self)
{
  g_auto (GStrv) uris = sfb_contacts_dup_uris (contacts);
  g_autofree char *joined = uris_digest ((const char *const *) uris);

  /* An empty list needs no identity: nothing is written before a sign-in. */
  if (sfb_contacts_is_cached (contacts) || g_strcmp0 (joined, self->batch_uris) == 0
      || (uris[0] != NULL && !ensure_identity (self, NULL)))
    return;
  g_free (self->batch_uris);
  self->batch_uris = g_steal_pointer (&joined);
  g_hash_table_remove_all (self->pool_subscriptions);
  g_hash_table_remove_all (self->singles);
  g_clear_pointer (&self->batch, stop_subscription);
  if (uris[0] == NULL)
    return;
  if (!sfb_session_server_supports (self->session, "adhoclist"))
    {
      /* No batched subscriptions: one SUBSCRIBE To each contact. */
      g_debug ("The server does not support adhoclist: %u single presence subscriptions",
               g_strv_length (uris));
      for (guint i = 0; uris[i] != NULL; i++)
        {
          SfbSubscription *sub = new_presence_subscription (self, uris[i], NULL);

          g_hash_table_replace (self->singles, g_strdup (uris[i]), sub);
          sfb_subscription_start (sub);
        }
      return;
    }
  self->batch = new_batch_subscription (self);
  sfb_subscription_start (self->batch);
}

/* What a new registration may publish with before roaming-self: the
 * versions of sfbd's own static publications of the former one, the user
 * state and the note (still the server's unless another endpoint published
 * them since: then a 409 says so).  The endpoint publications (device,
 * machineState, calendarState) expired with the former endpoint and start
 * again at 0; the rest is learnt from roaming-self before it is used. */
static void
keep_static_versions (GHashTable *versions)
{
  static const struct
  {
    const char *name;
    guint32 instance;
    guint container;
  } kept[] = {
    { "state", SFB_INSTANCE_USER_STATE, 2 }, { "state", SFB_INSTANCE_USER_STATE, 3 },
    { "note", SFB_INSTANCE_NOTE, 200 },      { "note", SFB_INSTANCE_NOTE, 300 },
    { "note", SFB_INSTANCE_NOTE, 400 },
  };
  guint values[G_N_ELEMENTS (kept)];

  for (gsize i = 0; i < G_N_ELEMENTS (kept); i++)
    values[i] = sfb_pub_versions_get (versions, kept[i].name, kept[i].instance, kept[i].container);
  g_hash_table_remove_all (versions);
  for (gsize i = 0; i < G_N_ELEMENTS (kept); i++)
    sfb_pub_versions_set (versions, kept[i].name, kept[i].instance, kept[i].container, values[i]);
}

static void
on_registered (SfbSession *session, SfbPresence *self)
{
  self->published = FALSE;
  self->roaming_seen = FALSE;
  /* the calendar's endpoint publications ended with the former registration */
  self->generation++;
  g_clear_pointer (&self->calendar_published, sfb_calendar_presence_free);
  keep_static_versions (self->versions);
  end_settings_task (self);
  self->settings_task = sfb_session_begin_settings_task (session, "presence publication");
  publish_initial (self);
  /* The pools' subscriptions come back from the batch's rlmi. */
  g_hash_table_remove_all (self->pool_subscriptions);
  g_hash_table_remove_all (self->acknowledging);
  /* the new registration's roaming-self tells them again (the account may
   * have changed) */
  g_clear_pointer (&self->own_email, g_free);
  g_clear_pointer (&self->own_line, g_free);
}

/* ---- API ---- */

SfbPresence *
sfb_presence_new (SfbSession *session,
                  SfbConfig *config,
                  SfbContacts *contacts,
                  const char *state_dir)
{
  SfbPresence *self = g_object_new (SFB_TYPE_PRESENCE, NULL);
  g_autoptr (GBytes) body = g_bytes_new_static (ROAMING_SELF_BODY, strlen (ROAMING_SELF_BODY));

  self->session = g_object_ref (session);
  self->config = g_object_ref (config);
  self->contacts = g_object_ref (contacts);
  self->state_dir = g_strdup (state_dir);
  self->registered_id = g_signal_connect (session, "registered", G_CALLBACK (on_registered), self);
  self->contacts_id
      = g_signal_connect (contacts, "contacts-changed", G_CALLBACK (on_contacts_changed), self);
  self->roaming_self
      = sfb_subscription_new (session, "vnd-microsoft-roaming-self", SFB_CT_ROAMING_SELF, NULL);
  sfb_subscription_set_body (self->roaming_self, SFB_CT_ROAMING_SELF, body);
  sfb_subscription_set_body_handler (self->roaming_self, on_roaming_self, self);
  g_signal_connect (
      self->roaming_self, "terminated", G_CALLBACK (on_roaming_self_terminated), self);
  sfb_subscription_start (self->roaming_self);
  return self;
}

/* The identity used in publications, read when first needed (the config
 * may change between sign-ins). */
static gboolean
ensure_identity (SfbPresence *self, GError **error)
{
  const char *uri = sfb_config_get_uri (self->config);

  if (uri == NULL || *uri == '\0')
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED, "No account is configured");
      return FALSE;
    }
  g_free (self->aor);
  self->aor = g_str_has_prefix (uri, "sip:") ? g_strdup (uri) : g_strconcat ("sip:", uri, NULL);
  if (self->epid == NULL && self->state_dir != NULL)
    {
      self->epid = sfb_endpoint_id_load_or_create (self->state_dir, error);
      if (self->epid == NULL)
        return FALSE;
      self->instance_uuid = sfb_endpoint_id_to_instance (self->epid);
    }
  return TRUE;
}

static gboolean
check_registered (SfbPresence *self, GError **error)
{
  if (!registered (self))
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_NOT_SIGNED_IN,
                           "Not signed in. Sign in first with: sfbctl sign-in");
      return FALSE;
    }
  return ensure_identity (self, error);
}

void
sfb_presence_set_availability_async (SfbPresence *self,
                                     const char *availability,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  guint code = 0;
  const char *activity = NULL;

  g_return_if_fail (SFB_IS_PRESENCE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_presence_set_availability_async);
  if (!sfb_availability_to_code (availability, &code, &activity))
    {
      g_autofree char *shown = sfb_text_quote_untrusted (availability, -1, SFB_TEXT_QUOTE_MAX);

      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_INVALID_ARGS,
                               "“%s” is not an availability one can set; use one of: "
                               "online, busy, do-not-disturb, be-right-back, away, off-work, "
                               "appear-offline",
                               shown);
      return;
    }
  if (!check_registered (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  self->wanted_code = code;
  g_free (self->wanted_activity);
  self->wanted_activity = g_strdup (activity);
  publish (self, PUBLISH_STATE, FALSE, 0, task);
}

void
sfb_presence_set_machine_state (SfbPresence *self, guint code)
{
  g_return_if_fail (SFB_IS_PRESENCE (self));

  if (self->machine_code == code)
    return;
  self->machine_code = code;
  /* before the first publication of a registration, that one carries it */
  if (self->published && registered (self))
    publish (self, PUBLISH_STATE, FALSE, 0, NULL);
}

gboolean
sfb_presence_set_availability_finish (SfbPresence *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
sfb_presence_set_note_async (SfbPresence *self,
                             const char *note,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (SFB_IS_PRESENCE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_presence_set_note_async);
  /* UTF-8 that XML 1.0 can carry (else the server refuses the publication
   * with 400): no control characters but newline and tab, no U+FFFE/U+FFFF */
  if (note == NULL)
    {
      g_task_return_new_error (task, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "No note given");
      return;
    }
  if (!sfb_text_check_argument (
          "The note", note, 2048, SFB_TEXT_MULTI_LINE | SFB_TEXT_ALLOW_BIDI, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!check_registered (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_free (self->wanted_note);
  self->wanted_note = g_strdup (note);
  publish (self, PUBLISH_NOTE, FALSE, 0, task);
}

gboolean
sfb_presence_set_note_finish (SfbPresence *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

const char *
sfb_presence_get_availability (SfbPresence *self)
{
  if (self->availability == 0 || !registered (self))
    return SFB_AVAILABILITY_OFFLINE;
  /* Others see "appear offline" as offline (the server aggregates 18000 to 18500); the
   * user who chose it sees the choice, as the SfB client shows it. */
  if (self->wanted_code == 18000 && self->availability >= 18000)
    return SFB_AVAILABILITY_APPEAR_OFFLINE;
  return sfb_availability_from_code (self->availability, self->activity);
}

guint
sfb_presence_get_availability_code (SfbPresence *self)
{
  return registered (self) ? self->availability : 0;
}

const char *
sfb_presence_get_activity (SfbPresence *self)
{
  return self->activity != NULL && registered (self) ? self->activity : "";
}

const char *
sfb_presence_get_note (SfbPresence *self)
{
  return self->note != NULL ? self->note : "";
}

gboolean
sfb_presence_get_voicemails (SfbPresence *self, guint *unread)
{
  g_return_val_if_fail (SFB_IS_PRESENCE (self), FALSE);
  if (unread != NULL)
    *unread = self->voicemails;
  return self->voicemails_known;
}

void
sfb_presence_follow_exchange (SfbPresence *self, SfbExchange *exchange)
{
  g_return_if_fail (SFB_IS_PRESENCE (self));
  g_return_if_fail (exchange == NULL || SFB_IS_EXCHANGE (exchange));

  if (self->exchange != NULL)
    g_clear_signal_handler (&self->calendar_id, self->exchange);
  g_clear_object (&self->exchange);
  g_clear_pointer (&self->calendar_published, sfb_calendar_presence_free);
  if (exchange == NULL)
    return;
  self->exchange = g_object_ref (exchange);
  self->calendar_id
      = g_signal_connect (exchange, "calendar-changed", G_CALLBACK (on_calendar_changed), self);
  if (self->own_email != NULL || self->own_line != NULL)
    sfb_exchange_set_directory_hints (exchange, self->own_email, self->own_line);
  publish_calendar (self);
}

GVariant *
sfb_presence_lookup (SfbPresence *self, const char *uri)
{
  g_autofree char *norm = sfb_contact_normalize_uri (uri);
  const SfbPresenceInfo *info = sfb_presence_known_lookup (self->presences, norm);

  return info != NULL ? sfb_presence_info_dup_variant (info) : NULL;
}

const SfbPresenceInfo *
sfb_presence_peek (SfbPresence *self, const char *normalized_uri)
{
  return sfb_presence_known_lookup (self->presences, normalized_uri);
}

guint64
sfb_presence_get_contacts_version (SfbPresence *self)
{
  g_return_val_if_fail (SFB_IS_PRESENCE (self), 0);
  return self->contacts_version;
}

const char *
sfb_presence_lookup_card (SfbPresence *self, const char *uri, const char *field)
{
  const SfbPresenceInfo *info = sfb_presence_known_lookup (self->presences, uri);

  if (info == NULL)
    return NULL;
  if (g_str_equal (field, "Name"))
    return info->display_name;
  if (g_str_equal (field, "Title"))
    return info->title;
  if (g_str_equal (field, "Company"))
    return info->company;
  if (g_str_equal (field, "Email"))
    return info->email;
  return NULL;
}

/* ---- object ---- */

static void
sfb_presence_dispose (GObject *object)
{
  SfbPresence *self = SFB_PRESENCE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->roaming_self != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->roaming_self, self);
      sfb_subscription_set_body_handler (self->roaming_self, NULL, NULL);
    }
  g_clear_object (&self->roaming_self);
  if (self->batch != NULL)
    g_signal_handlers_disconnect_by_data (self->batch, self);
  g_clear_object (&self->batch);
  if (self->pool_subscriptions != NULL)
    {
      GHashTableIter iter;
      gpointer sub;

      g_hash_table_iter_init (&iter, self->pool_subscriptions);
      while (g_hash_table_iter_next (&iter, NULL, &sub))
        {
          g_signal_handlers_disconnect_by_data (sub, self);
          sfb_subscription_set_body_handler (sub, NULL, NULL);
        }
      g_hash_table_remove_all (self->pool_subscriptions);
    }
  if (self->singles != NULL)
    g_hash_table_remove_all (self->singles);
  if (self->session != NULL)
    g_clear_signal_handler (&self->registered_id, self->session);
  if (self->contacts != NULL)
    g_clear_signal_handler (&self->contacts_id, self->contacts);
  if (self->exchange != NULL)
    g_clear_signal_handler (&self->calendar_id, self->exchange);
  g_clear_object (&self->exchange);
  g_clear_object (&self->session);
  g_clear_object (&self->config);
  g_clear_object (&self->contacts);
  G_OBJECT_CLASS (sfb_presence_parent_class)->dispose (object);
}

static void
sfb_presence_finalize (GObject *object)
{
  SfbPresence *self = SFB_PRESENCE (object);

  g_clear_object (&self->cancellable);
  g_hash_table_unref (self->pool_subscriptions);
  g_hash_table_unref (self->presences);
  g_hash_table_unref (self->versions);
  g_hash_table_unref (self->acknowledging);
  g_hash_table_unref (self->singles);
  g_free (self->batch_uris);
  g_free (self->state_dir);
  g_free (self->aor);
  g_free (self->epid);
  g_free (self->instance_uuid);
  g_free (self->activity);
  g_free (self->note);
  g_free (self->wanted_activity);
  g_free (self->wanted_note);
  g_free (self->own_email);
  g_free (self->own_line);
  sfb_calendar_presence_free (self->calendar_published);
  G_OBJECT_CLASS (sfb_presence_parent_class)->finalize (object);
}

static void
sfb_presence_class_init (SfbPresenceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_presence_dispose;
  object_class->finalize = sfb_presence_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new (
      "changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* "presence-changed" is emitted once per changed contact (a presence
   * storm's thousand): generated marshallers spare GLib's generic one
   * (libffi, GValues), and its arguments are of static scope (they outlive
   * every handler), so the va marshaller copies neither per emission. */
  signals[SIGNAL_PRESENCE_CHANGED] = g_signal_new ("presence-changed",
                                                   G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST,
                                                   0,
                                                   NULL,
                                                   NULL,
                                                   sfb_marshal_VOID__STRING_VARIANT,
                                                   G_TYPE_NONE,
                                                   2,
                                                   G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                                                   G_TYPE_VARIANT | G_SIGNAL_TYPE_STATIC_SCOPE);
  g_signal_set_va_marshaller (signals[SIGNAL_PRESENCE_CHANGED],
                              G_TYPE_FROM_CLASS (klass),
                              sfb_marshal_VOID__STRING_VARIANTv);
  signals[SIGNAL_VOICEMAIL_CHANGED] = g_signal_new ("voicemail-changed",
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
sfb_presence_init (SfbPresence *self)
{
  self->machine_code = SFB_MACHINE_STATE_ACTIVE;
  self->cancellable = g_cancellable_new ();
  self->pool_subscriptions
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, stop_subscription);
  self->presences = sfb_presence_known_new ();
  self->versions = sfb_pub_versions_new ();
  self->acknowledging = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->singles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, stop_subscription);
}
