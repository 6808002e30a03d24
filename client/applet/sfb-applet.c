/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The presence applet: see sfb-applet.h. */
#define G_LOG_DOMAIN "sfbd-applet"

#include "config.h"

#include "sfb-applet.h"

#include "sfb-dbus-generated.h"
#include "sfb-dbus-menu.h"
#include "sfb-error-view.h"
#include "sfb-presence-view.h"
#include "sfb-property-cache.h"
#include "sfb-sni-item.h"

#include <sfbd/sfb-names.h>
#include <string.h>

struct _SfbApplet
{
  GObject parent_instance;

  GDBusConnection *connection;
  SfbDBusAccount *account;
  SfbDBusPresence *presence;
  SfbDBusExchange *exchange; /* NULL until its proxy is made */
  SfbSniItem *item;
  SfbDbusMenu *menu;
  GVariant *trace; /* aa{sv} of the last GetSignInTrace(), or NULL */
  char *traced_state;
  char *action_error;
  GCancellable *cancellable;
  guint update_id;
  int timeout_msec;       /* the bound of every call to sfbd */
  guint loading;          /* GetAll() calls in flight */
  gboolean not_answering; /* the last call timed out */
  guint reload_id;
  guint subscriptions[3]; /* PropertiesChanged of the three proxies */
  guint n_subscriptions;
  guint quit_id;
};

G_DEFINE_FINAL_TYPE (SfbApplet, sfb_applet, G_TYPE_OBJECT)

enum
{
  SIGNAL_QUIT,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

/* the availability choices of the menu, in order; ids stay as they were
 * given (off-work came later) */
static const struct
{
  const char *availability;
  const char *label;
  int id;
} choices[] = {
  { SFB_AVAILABILITY_ONLINE, "Available", SFB_APPLET_MENU_SET_AVAILABILITY },
  { SFB_AVAILABILITY_BUSY, "Busy", SFB_APPLET_MENU_SET_AVAILABILITY + 1 },
  { SFB_AVAILABILITY_DO_NOT_DISTURB, "Do not disturb", SFB_APPLET_MENU_SET_AVAILABILITY + 2 },
  { SFB_AVAILABILITY_BE_RIGHT_BACK, "Be right back", SFB_APPLET_MENU_SET_AVAILABILITY + 3 },
  { SFB_AVAILABILITY_AWAY, "Away", SFB_APPLET_MENU_SET_AVAILABILITY + 4 },
  { SFB_AVAILABILITY_OFF_WORK, "Off work", SFB_APPLET_MENU_SET_AVAILABILITY + 6 },
  { SFB_AVAILABILITY_APPEAR_OFFLINE, "Appear offline", SFB_APPLET_MENU_SET_AVAILABILITY + 5 },
};

/* the window's action for each item that opens it (client/README.md) */
static const struct
{
  int id;
  const char *action;
} window_actions[] = {
  { SFB_APPLET_MENU_SET_PASSWORD, "set-password" },
  { SFB_APPLET_MENU_ACCOUNT, "account" },
  { SFB_APPLET_MENU_DETAILS, "details" },
  { SFB_APPLET_MENU_NOTE, "note" },
};

static void schedule_update (SfbApplet *self);
static void load_properties (SfbApplet *self);

/* while sfbd does not answer, asks again now and then: it may recover */
static gboolean
on_reload (gpointer user_data)
{
  SfbApplet *self = user_data;

  self->reload_id = 0;
  load_properties (self);
  return G_SOURCE_REMOVE;
}

static void
set_not_answering (SfbApplet *self, gboolean not_answering)
{
  if (not_answering && self->reload_id == 0)
    self->reload_id = g_timeout_add_seconds (5, on_reload, self);
  if (self->not_answering != not_answering)
    g_info (not_answering ? "sfbd is not answering" : "sfbd is answering");
  self->not_answering = not_answering;
  schedule_update (self);
}

static gboolean
is_running (SfbApplet *self)
{
  g_autofree char *owner = NULL;

  if (self->account == NULL || self->presence == NULL)
    return FALSE;
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (self->account));
  return owner != NULL;
}

static const char *
account_state (SfbApplet *self)
{
  return is_running (self) ? sfb_dbus_account_get_state (self->account) : NULL;
}

/* ---- calling sfbd ---- */

typedef struct
{
  SfbApplet *applet;
  char *what;         /* "sign in", for the error text */
  const char *target; /* who did not answer: "sfbd" or "sfbd-window" */
} ActionData;

static void
action_data_free (ActionData *data)
{
  g_object_unref (data->applet);
  g_free (data->what);
  g_free (data);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ActionData, action_data_free)

static void
on_action_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (ActionData) data = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  SfbApplet *self = data->applet;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_pointer (&self->action_error, g_free);
  if (reply == NULL)
    {
      self->action_error = sfb_error_view_call_text (data->what, data->target, error);
      if (g_str_equal (data->target, "sfbd")
          && sfb_error_view_call_failure (error) == SFB_CALL_NOT_ANSWERING)
        set_not_answering (self, TRUE);
      g_info ("%s", self->action_error);
    }
  else
    g_info ("Done: %s", data->what);
  schedule_update (self);
}

/* Calls sfbd or the window; a call may start either through D-Bus activation. */
static void
call_name (SfbApplet *self,
           const char *name,
           const char *path,
           const char *interface,
           const char *method,
           GVariant *parameters,
           const char *what)
{
  ActionData *data = g_new0 (ActionData, 1);

  data->applet = g_object_ref (self);
  data->what = g_strdup (what);
  data->target = g_str_equal (name, SFB_DBUS_NAME) ? "sfbd" : "sfbd-window";
  g_debug ("Calling %s.%s of %s", interface, method, name);
  g_dbus_connection_call (self->connection,
                          name,
                          path,
                          interface,
                          method,
                          parameters,
                          NULL,
                          G_DBUS_CALL_FLAGS_NONE,
                          self->timeout_msec,
                          self->cancellable,
                          on_action_done,
                          data);
}

static void
call_sfbd (SfbApplet *self,
           const char *interface,
           const char *method,
           GVariant *parameters,
           const char *what)
{
  call_name (self, SFB_DBUS_NAME, SFB_DBUS_PATH, interface, method, parameters, what);
}

/* The window starts on its own through D-Bus activation, not as a child
 * in the applet's sandboxed unit (client/README.md). */
static void
open_window (SfbApplet *self, const char *action)
{
  GVariant *parameters = g_variant_new ("(s@av@a{sv})",
                                        action,
                                        g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0),
                                        g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));

  call_name (self,
             SFB_APPLET_WINDOW_BUS_NAME,
             SFB_APPLET_WINDOW_PATH,
             "org.freedesktop.Application",
             "ActivateAction",
             parameters,
             "open the account window");
}

static void
on_flushed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbApplet) self = user_data;

  g_dbus_connection_flush_finish (G_DBUS_CONNECTION (source), result, NULL);
  g_info ("Quitting (the menu's Quit)");
  g_signal_emit (self, signals[SIGNAL_QUIT], 0);
}

/* after the menu's reply to the click has gone out */
static gboolean
on_quit_idle (gpointer user_data)
{
  SfbApplet *self = user_data;

  self->quit_id = 0;
  g_dbus_connection_flush (self->connection, NULL, on_flushed, g_object_ref (self));
  return G_SOURCE_REMOVE;
}

static void
on_menu_activated (SfbDbusMenu *menu, int id, SfbApplet *self)
{
  for (gsize i = 0; i < G_N_ELEMENTS (choices); i++)
    if (choices[i].id == id)
      {
        g_autofree char *what = g_strdup_printf ("set availability to %s", choices[i].availability);
        call_sfbd (self,
                   SFB_DBUS_PRESENCE_INTERFACE,
                   "SetAvailability",
                   g_variant_new ("(s)", choices[i].availability),
                   what);
        return;
      }
  for (gsize i = 0; i < G_N_ELEMENTS (window_actions); i++)
    if (window_actions[i].id == id)
      {
        open_window (self, window_actions[i].action);
        return;
      }
  if (id == SFB_APPLET_MENU_QUIT && self->quit_id == 0)
    self->quit_id = g_idle_add (on_quit_idle, self);
  else if (id == SFB_APPLET_MENU_SIGN_IN)
    call_sfbd (self, SFB_DBUS_ACCOUNT_INTERFACE, "SignIn", NULL, "sign in");
  else if (id == SFB_APPLET_MENU_SIGN_OUT)
    call_sfbd (self, SFB_DBUS_ACCOUNT_INTERFACE, "SignOut", NULL, "sign out");
  else if (id == SFB_APPLET_MENU_RECONNECT)
    call_sfbd (self, SFB_DBUS_ACCOUNT_INTERFACE, "Reconnect", NULL, "reconnect");
}

/* ---- the sign-in trace ---- */

static void
on_trace (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbApplet) self = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_pointer (&self->trace, g_variant_unref);
  if (reply == NULL)
    g_debug ("No sign-in trace: %s", error->message);
  else
    self->trace = g_variant_get_child_value (reply, 0);
  schedule_update (self);
}

static void
fetch_trace (SfbApplet *self)
{
  if (!is_running (self))
    return;
  g_dbus_connection_call (self->connection,
                          SFB_DBUS_NAME,
                          SFB_DBUS_PATH,
                          SFB_DBUS_ACCOUNT_INTERFACE,
                          "GetSignInTrace",
                          NULL,
                          G_VARIANT_TYPE ("(aa{sv})"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          self->timeout_msec,
                          self->cancellable,
                          on_trace,
                          g_object_ref (self));
}

static void
on_menu_about_to_show (SfbDbusMenu *menu, int id, SfbApplet *self)
{
  if (id == SFB_APPLET_MENU_TRACE || id == SFB_DBUS_MENU_ROOT)
    fetch_trace (self);
}

static char *
stage_label (GVariant *stage)
{
  g_autofree char *name = NULL;
  g_autofree char *text = sfb_presence_view_stage_text (stage, SFB_APPLET_MAX_DETAIL, &name);
  g_autofree char *label = g_strdup_printf ("%s: %s", name, text);

  return sfb_dbus_menu_escape_label (label);
}

/* ---- showing the state ---- */

static void
add_separator (SfbApplet *self, int *separators)
{
  sfb_dbus_menu_add_item (
      self->menu, SFB_APPLET_MENU_SEPARATOR + (*separators)++, 0, sfb_dbus_menu_item_separator ());
}

/* the meeting and the counts, as information under the header */
static void
add_exchange_items (SfbApplet *self, const SfbPresenceInput *input)
{
  g_autofree char *meeting = NULL;
  g_autofree char *counts = NULL;
  g_autofree char *counts_label = NULL;

  if (!sfb_presence_view_shows_exchange (input))
    return;
  meeting = sfb_presence_view_meeting_line (input);
  if (meeting != NULL)
    {
      g_autofree char *label = sfb_dbus_menu_escape_label (meeting);

      sfb_dbus_menu_add_item (self->menu,
                              SFB_APPLET_MENU_EXCHANGE_MEETING,
                              0,
                              sfb_dbus_menu_item_standard (label, FALSE));
    }
  counts = sfb_presence_view_exchange_counts (input);
  counts_label = sfb_dbus_menu_escape_label (counts);
  sfb_dbus_menu_add_item (self->menu,
                          SFB_APPLET_MENU_EXCHANGE_COUNTS,
                          0,
                          sfb_dbus_menu_item_standard (counts_label, FALSE));
}

static char *
header_label (SfbApplet *self, const SfbPresenceView *view, const char *state)
{
  const char *uri = is_running (self) ? sfb_dbus_account_get_uri (self->account) : NULL;
  g_autofree char *text = NULL;

  if (uri != NULL && *uri != '\0')
    text = g_strdup_printf ("%s — %s", uri, view->summary);
  else
    text = g_strdup (view->summary);
  if (g_strcmp0 (state, SFB_STATE_RECONNECTING) == 0)
    {
      SfbPresenceInput input
          = { .state = state, .next_retry = sfb_dbus_account_get_next_retry (self->account) };
      g_autofree char *next = sfb_presence_view_next_attempt (&input);
      char *with_next = g_strdup_printf ("%s (next attempt %s)", text, next);

      g_free (text);
      text = with_next;
    }
  return sfb_dbus_menu_escape_label (text);
}

static void
add_item (SfbApplet *self, int id, const char *label, gboolean enabled)
{
  sfb_dbus_menu_add_item (self->menu, id, 0, sfb_dbus_menu_item_standard (label, enabled));
}

/* signed out, signing in, signed in, reconnecting, or sfbd not running */
static void
add_presence_items (SfbApplet *self,
                    const SfbPresenceView *view,
                    const char *state,
                    int *separators)
{
  gboolean running = is_running (self);
  gboolean signed_in = g_strcmp0 (state, SFB_STATE_SIGNED_IN) == 0;
  gboolean signed_out = g_strcmp0 (state, SFB_STATE_SIGNED_OUT) == 0;

  for (gsize i = 0; i < G_N_ELEMENTS (choices); i++)
    sfb_dbus_menu_add_item (
        self->menu,
        choices[i].id,
        0,
        sfb_dbus_menu_item_radio (
            choices[i].label,
            signed_in,
            signed_in && g_strcmp0 (view->availability, choices[i].availability) == 0));
  add_item (self, SFB_APPLET_MENU_NOTE, "Personal note…", signed_in);
  add_separator (self, separators);
  /* sign in also starts sfbd when it is not running */
  add_item (self, SFB_APPLET_MENU_SIGN_IN, "Sign in", !running || signed_out);
  add_item (self, SFB_APPLET_MENU_SIGN_OUT, "Sign out", running && !signed_out);
  add_item (self, SFB_APPLET_MENU_RECONNECT, "Reconnect", running && !signed_out);
}

/* failed: only what helps; the fix for the last error first, when it is
 * in the account window (the menu has no item for the checks) */
static void
add_failed_items (SfbApplet *self)
{
  const SfbErrorFix *fix = sfb_error_view_fix (sfb_dbus_account_get_last_error (self->account));

  if (fix != NULL && fix->place == SFB_ERROR_FIX_PASSWORD)
    add_item (self, SFB_APPLET_MENU_SET_PASSWORD, fix->button, TRUE);
  else if (fix != NULL && fix->place == SFB_ERROR_FIX_ACCOUNT)
    add_item (self, SFB_APPLET_MENU_ACCOUNT, fix->button, TRUE);
  add_item (self, SFB_APPLET_MENU_SIGN_IN, "Sign in again", TRUE);
  add_item (self, SFB_APPLET_MENU_DETAILS, "Details…", TRUE);
}

static void
add_trace_items (SfbApplet *self)
{
  gsize n_stages = self->trace != NULL ? g_variant_n_children (self->trace) : 0;

  sfb_dbus_menu_add_item (self->menu,
                          SFB_APPLET_MENU_TRACE,
                          0,
                          sfb_dbus_menu_item_submenu ("Last sign-in", is_running (self)));
  if (n_stages == 0)
    sfb_dbus_menu_add_item (self->menu,
                            SFB_APPLET_MENU_TRACE_EMPTY,
                            SFB_APPLET_MENU_TRACE,
                            sfb_dbus_menu_item_standard ("No sign-in attempt yet", FALSE));
  for (gsize i = 0; i < n_stages && i < SFB_APPLET_MAX_STAGES; i++)
    {
      g_autoptr (GVariant) stage = g_variant_get_child_value (self->trace, i);
      g_autofree char *label = stage_label (stage);

      sfb_dbus_menu_add_item (self->menu,
                              SFB_APPLET_MENU_TRACE_STAGE + (int) i,
                              SFB_APPLET_MENU_TRACE,
                              sfb_dbus_menu_item_standard (label, TRUE));
    }
}

static void
build_menu (SfbApplet *self, const SfbPresenceView *view, const SfbPresenceInput *shown)
{
  const char *state = account_state (self);
  gboolean failed = g_strcmp0 (state, SFB_STATE_FAILED) == 0;
  g_autofree char *header = header_label (self, view, state);
  int separators = 0;

  sfb_dbus_menu_begin (self->menu);
  add_item (self, SFB_APPLET_MENU_HEADER, header, FALSE);
  add_exchange_items (self, shown);
  add_separator (self, &separators);
  if (failed)
    add_failed_items (self);
  else
    add_presence_items (self, view, state, &separators);
  add_separator (self, &separators);
  add_trace_items (self);
  add_separator (self, &separators);
  if (!failed)
    {
      add_item (self, SFB_APPLET_MENU_ACCOUNT, "Account…", TRUE);
      add_item (self, SFB_APPLET_MENU_SET_PASSWORD, "Set password…", TRUE);
    }
  add_item (self, SFB_APPLET_MENU_QUIT, "Quit", TRUE);
  sfb_dbus_menu_commit (self->menu);
}

/* an sfbd without the Exchange interface leaves its properties unset */
static void
add_exchange_input (SfbApplet *self, SfbPresenceInput *input)
{
  if (self->exchange == NULL)
    return;
  input->exchange_state = sfb_dbus_exchange_get_state (self->exchange);
  input->current_meeting = sfb_dbus_exchange_get_current_meeting (self->exchange);
  input->next_meeting = sfb_dbus_exchange_get_next_meeting (self->exchange);
  input->unread_voicemails = sfb_dbus_exchange_get_unread_voicemails (self->exchange);
  input->missed_conversations = sfb_dbus_exchange_get_missed_conversations (self->exchange);
}

static void
update (SfbApplet *self)
{
  SfbPresenceInput input = { 0 };
  g_autoptr (SfbPresenceView) view = NULL;

  input.running = is_running (self);
  input.not_answering = input.running && self->not_answering;
  /* a new sfbd: the last view stays until its properties are in */
  if (input.running && !input.not_answering && self->loading > 0)
    return;
  input.action_error = self->action_error;
  if (input.running && !input.not_answering)
    {
      input.state = sfb_dbus_account_get_state (self->account);
      input.uri = sfb_dbus_account_get_uri (self->account);
      input.server = sfb_dbus_account_get_server (self->account);
      input.last_error = sfb_dbus_account_get_last_error (self->account);
      input.last_error_message = sfb_dbus_account_get_last_error_message (self->account);
      input.reconnect_attempts = sfb_dbus_account_get_reconnect_attempts (self->account);
      input.next_retry = sfb_dbus_account_get_next_retry (self->account);
      input.availability = sfb_dbus_presence_get_availability (self->presence);
      input.note = sfb_dbus_presence_get_note (self->presence);
      add_exchange_input (self, &input);
    }
  else
    g_clear_pointer (&self->trace, g_variant_unref);

  view = sfb_presence_view_new (&input);
  g_debug ("Showing: %s", view->title);
  sfb_sni_item_update (self->item, view);
  build_menu (self, view, &input);

  /* each new state may have a new trace */
  if (g_strcmp0 (self->traced_state, input.state) != 0)
    {
      g_free (self->traced_state);
      self->traced_state = g_strdup (input.state);
      fetch_trace (self);
    }
}

static gboolean
on_update_idle (gpointer user_data)
{
  SfbApplet *self = user_data;

  self->update_id = 0;
  update (self);
  return G_SOURCE_REMOVE;
}

/* coalesces the bursts of PropertiesChanged into one update */
static void
schedule_update (SfbApplet *self)
{
  if (self->update_id == 0)
    self->update_id = g_idle_add (on_update_idle, self);
}

static void
on_proxy_changed (GDBusProxy *proxy,
                  GVariant *changed,
                  const char *const *invalidated,
                  SfbApplet *self)
{
  /* a signal from sfbd: it is answering again */
  if (self->not_answering)
    load_properties (self);
  schedule_update (self);
}

/* ---- properties, loaded under the timeout (a proxy's own loading waits
 * 25 s and then hides the failure) ---- */

typedef struct
{
  SfbApplet *applet;
  GDBusProxy *proxy;
} LoadData;

static void
on_properties_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LoadData *data = user_data;
  g_autoptr (SfbApplet) self = data->applet;
  g_autoptr (GDBusProxy) proxy = data->proxy;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (GError) error = NULL;

  g_free (data);
  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->loading--;
  if (reply == NULL)
    {
      g_debug ("Cannot read the properties of %s: %s",
               g_dbus_proxy_get_interface_name (proxy),
               error->message);
      set_not_answering (self, sfb_error_view_call_failure (error) == SFB_CALL_NOT_ANSWERING);
      return;
    }
  properties = g_variant_get_child_value (reply, 0);
  sfb_property_cache_set_all (proxy, properties);
  set_not_answering (self, FALSE);
}

static void
load_proxy_properties (SfbApplet *self, GDBusProxy *proxy)
{
  g_autofree char *owner = proxy != NULL ? g_dbus_proxy_get_name_owner (proxy) : NULL;
  LoadData *data;

  if (owner == NULL)
    return;
  data = g_new0 (LoadData, 1);
  data->applet = g_object_ref (self);
  data->proxy = g_object_ref (proxy);
  self->loading++;
  g_dbus_connection_call (self->connection,
                          owner,
                          SFB_DBUS_PATH,
                          "org.freedesktop.DBus.Properties",
                          "GetAll",
                          g_variant_new ("(s)", g_dbus_proxy_get_interface_name (proxy)),
                          G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          self->timeout_msec,
                          self->cancellable,
                          on_properties_loaded,
                          data);
}

static void
load_properties (SfbApplet *self)
{
  load_proxy_properties (self, G_DBUS_PROXY (self->account));
  load_proxy_properties (self, G_DBUS_PROXY (self->presence));
  load_proxy_properties (self, G_DBUS_PROXY (self->exchange));
}

static void
on_name_owner (GObject *proxy, GParamSpec *pspec, SfbApplet *self)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));

  if (proxy == G_OBJECT (self->account))
    g_info (owner != NULL ? "sfbd is running (%s)" : "sfbd stopped", owner);
  /* a restarted sfbd starts a new trace */
  g_clear_pointer (&self->traced_state, g_free);
  if (owner == NULL)
    self->not_answering = FALSE;
  else
    load_proxy_properties (self, G_DBUS_PROXY (proxy));
  schedule_update (self);
}

static void
watch_proxy (SfbApplet *self, gpointer proxy)
{
  self->subscriptions[self->n_subscriptions++] = sfb_property_cache_follow (proxy);
  g_signal_connect_object (
      proxy, "g-properties-changed", G_CALLBACK (on_proxy_changed), self, G_CONNECT_DEFAULT);
  g_signal_connect_object (
      proxy, "notify::g-name-owner", G_CALLBACK (on_name_owner), self, G_CONNECT_DEFAULT);
}

/* what the three proxies do once made; NULL: why it could not be */
static void
follow_proxy (SfbApplet *self, gpointer proxy, const char *interface, const GError *error)
{
  if (proxy == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot follow %s: %s", interface, error->message);
      return;
    }
  watch_proxy (self, proxy);
  load_proxy_properties (self, G_DBUS_PROXY (proxy));
  schedule_update (self);
}

static void
on_account_proxy (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbApplet) self = user_data;
  g_autoptr (GError) error = NULL;
  SfbDBusAccount *proxy = sfb_dbus_account_proxy_new_finish (result, &error);

  self->account = proxy; /* NULL: it could not be made */
  follow_proxy (self, proxy, SFB_DBUS_ACCOUNT_INTERFACE, error);
}

static void
on_presence_proxy (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbApplet) self = user_data;
  g_autoptr (GError) error = NULL;
  SfbDBusPresence *proxy = sfb_dbus_presence_proxy_new_finish (result, &error);

  self->presence = proxy; /* NULL: it could not be made */
  follow_proxy (self, proxy, SFB_DBUS_PRESENCE_INTERFACE, error);
}

static void
on_exchange_proxy (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbApplet) self = user_data;
  g_autoptr (GError) error = NULL;
  SfbDBusExchange *proxy = sfb_dbus_exchange_proxy_new_finish (result, &error);

  self->exchange = proxy; /* NULL: it could not be made */
  follow_proxy (self, proxy, SFB_DBUS_EXCHANGE_INTERFACE, error);
}

gboolean
sfb_applet_start (SfbApplet *self, GDBusConnection *connection, GError **error)
{
  g_return_val_if_fail (SFB_IS_APPLET (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);

  self->connection = g_object_ref (connection);
  if (!sfb_dbus_menu_export (self->menu, connection, SFB_APPLET_MENU_PATH, error))
    return FALSE;
  /* the menu first, so the item never points to a missing menu */
  update (self);
  if (!sfb_sni_item_start (self->item, connection, error))
    return FALSE;

  /* proxies of the well-known name follow sfbd through restarts, and
   * never start it; their properties are loaded under the timeout */
  sfb_dbus_account_proxy_new (connection,
                              G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START
                                  | G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                              SFB_DBUS_NAME,
                              SFB_DBUS_PATH,
                              self->cancellable,
                              on_account_proxy,
                              g_object_ref (self));
  sfb_dbus_presence_proxy_new (connection,
                               G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START
                                   | G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                               SFB_DBUS_NAME,
                               SFB_DBUS_PATH,
                               self->cancellable,
                               on_presence_proxy,
                               g_object_ref (self));
  sfb_dbus_exchange_proxy_new (connection,
                               G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START
                                   | G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                               SFB_DBUS_NAME,
                               SFB_DBUS_PATH,
                               self->cancellable,
                               on_exchange_proxy,
                               g_object_ref (self));
  return TRUE;
}

static void
sfb_applet_dispose (GObject *object)
{
  SfbApplet *self = SFB_APPLET (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->update_id, g_source_remove);
  g_clear_handle_id (&self->reload_id, g_source_remove);
  g_clear_handle_id (&self->quit_id, g_source_remove);
  for (guint i = 0; i < self->n_subscriptions; i++)
    g_dbus_connection_signal_unsubscribe (self->connection, self->subscriptions[i]);
  self->n_subscriptions = 0;
  g_clear_object (&self->account);
  g_clear_object (&self->presence);
  g_clear_object (&self->exchange);
  g_clear_object (&self->item);
  g_clear_object (&self->menu);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (sfb_applet_parent_class)->dispose (object);
}

static void
sfb_applet_finalize (GObject *object)
{
  SfbApplet *self = SFB_APPLET (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->trace, g_variant_unref);
  g_free (self->traced_state);
  g_free (self->action_error);
  G_OBJECT_CLASS (sfb_applet_parent_class)->finalize (object);
}

static void
sfb_applet_class_init (SfbAppletClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_applet_dispose;
  object_class->finalize = sfb_applet_finalize;

  /* the menu's Quit, once its reply is sent */
  signals[SIGNAL_QUIT] = g_signal_new (
      "quit", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sfb_applet_init (SfbApplet *self)
{
  self->cancellable = g_cancellable_new ();
  self->timeout_msec = SFB_APPLET_DEFAULT_TIMEOUT * 1000;
  self->menu = sfb_dbus_menu_new ();
  self->item = sfb_sni_item_new (SFB_APPLET_ID, SFB_APPLET_MENU_PATH);
  g_signal_connect_object (
      self->menu, "activated", G_CALLBACK (on_menu_activated), self, G_CONNECT_DEFAULT);
  g_signal_connect_object (
      self->menu, "about-to-show", G_CALLBACK (on_menu_about_to_show), self, G_CONNECT_DEFAULT);
}

SfbApplet *
sfb_applet_new (void)
{
  return g_object_new (SFB_TYPE_APPLET, NULL);
}

void
sfb_applet_set_timeout (SfbApplet *self, guint seconds)
{
  g_return_if_fail (SFB_IS_APPLET (self));
  g_return_if_fail (seconds > 0 && seconds <= G_MAXINT / 1000);

  self->timeout_msec = (int) seconds * 1000;
}
