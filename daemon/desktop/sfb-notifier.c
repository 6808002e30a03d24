/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-notifier.h"

#include "sfb-text.h"

#include <string.h>

#define NOTIFY_NAME "org.freedesktop.Notifications"
#define NOTIFY_PATH "/org/freedesktop/Notifications"
#define NOTIFY_IFACE "org.freedesktop.Notifications"
#define INLINE_REPLY "inline-reply"
/* Action ids are ours, but bound them like any other text that travels. */
#define ACTION_ID_MAX 128
#define TOKEN_MAX 256

/* One notification: what the caller wants shown, and what the server has. */
typedef struct
{
  SfbNotifier *owner; /* not a reference: calls are cancelled before it goes */
  char *key;
  guint id;           /* the server's id, 0 while none is shown */
  gboolean in_flight; /* a Notify call is under way */
  gboolean wanted;    /* shown, as far as the caller is concerned */
  gboolean dirty;     /* what is shown differs from what is wanted */
  char *summary;      /* bounded and sanitised */
  char *body;         /* bounded and sanitised, not yet escaped */
  GStrv actions;      /* (id, label) pairs, sanitised */
  gboolean reply;
} Entry;

struct _SfbNotifier
{
  GObject parent_instance;

  GDBusConnection *bus;
  GCancellable *cancellable;
  GHashTable *entries; /* key → Entry (a reference) */
  GHashTable *by_id;   /* server id → Entry (borrowed from entries) */
  gboolean caps_known;
  gboolean caps_in_flight;
  gboolean markup;
  gboolean inline_reply;
  guint subscriptions[4];
  guint watch_id;
  gboolean server_seen;
  char *activation_token;
};

enum
{
  SIGNAL_ACTION,
  SIGNAL_REPLY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SfbNotifier, sfb_notifier, G_TYPE_OBJECT)

static void sync_entry (SfbNotifier *self, Entry *e);

static void
entry_clear (Entry *e)
{
  g_free (e->key);
  g_free (e->summary);
  g_free (e->body);
  g_strfreev (e->actions);
}

static Entry *
entry_ref (Entry *e)
{
  return g_rc_box_acquire (e);
}

static void
entry_unref (Entry *e)
{
  g_rc_box_release_full (e, (GDestroyNotify) entry_clear);
}

/* One line shown to a person, at most @max_chars characters. */
static char *
one_line (const char *text, gsize max_chars)
{
  return sfb_text_quote (text, -1, max_chars, SFB_TEXT_QUOTE_SPACES);
}

/* Several lines: each made safe, at most @max_chars characters and
 * @max_lines lines in all; tabs become spaces, CR LF becomes LF. */
static char *
body_text (const char *text, gsize max_chars, guint max_lines)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *head = NULL;
  g_auto (GStrv) lines = NULL;
  gsize left = max_chars;
  gsize bound = max_chars * 4 + 4;
  gsize n;
  guint i;

  if (text == NULL)
    return g_strdup ("");
  n = strnlen (text, bound);
  head = g_strndup (text, n);
  g_strdelimit (head, "\t", ' ');
  lines = g_strsplit (head, "\n", (gint) max_lines + 1);
  for (i = 0; lines[i] != NULL && left > 0; i++)
    {
      g_autofree char *line = NULL;
      gsize len = strlen (lines[i]);

      if (i == max_lines)
        {
          g_string_append (out, "\xe2\x80\xa6"); /* more lines than shown */
          break;
        }
      if (len > 0 && lines[i][len - 1] == '\r')
        lines[i][len - 1] = '\0';
      line = sfb_text_quote_untrusted (lines[i], -1, left);
      if (i > 0)
        g_string_append_c (out, '\n');
      g_string_append (out, line);
      left -= MIN (left, (gsize) g_utf8_strlen (line, -1));
    }
  if (n == bound && text[n] != '\0' && left > 0)
    g_string_append (out, "\xe2\x80\xa6");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static GStrv
sanitise_actions (const char *const *actions)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (gsize i = 0; actions != NULL && actions[i] != NULL && actions[i + 1] != NULL; i += 2)
    {
      g_autofree char *id = one_line (actions[i], ACTION_ID_MAX);
      g_autofree char *label = one_line (actions[i + 1], SFB_NOTIFIER_LABEL_MAX);

      /* the server's answer names the id: one we could not send is no action */
      if (*id == '\0' || g_str_equal (id, INLINE_REPLY))
        continue;
      g_strv_builder_add (builder, id);
      g_strv_builder_add (builder, label);
    }
  return g_strv_builder_end (builder);
}

static gboolean
entry_has_action (Entry *e, const char *action_id)
{
  if (g_str_equal (action_id, "default"))
    return TRUE;
  for (gsize i = 0; e->actions != NULL && e->actions[i] != NULL; i += 2)
    if (g_str_equal (e->actions[i], action_id))
      return TRUE;
  return FALSE;
}

static void
unmap_id (SfbNotifier *self, Entry *e)
{
  if (e->id != 0 && g_hash_table_lookup (self->by_id, GUINT_TO_POINTER (e->id)) == e)
    g_hash_table_remove (self->by_id, GUINT_TO_POINTER (e->id));
  e->id = 0;
}

static void
notify_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Entry *e = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret = NULL;
  SfbNotifier *self;

  ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      entry_unref (e);
      return;
    }
  self = e->owner;
  e->in_flight = FALSE;
  if (ret != NULL)
    {
      guint id = 0;

      g_variant_get (ret, "(u)", &id);
      if (id != e->id)
        unmap_id (self, e);
      e->id = id;
      if (id != 0)
        g_hash_table_insert (self->by_id, GUINT_TO_POINTER (id), e);
    }
  else
    {
      g_debug ("Notification “%s” not shown: %s", e->key, error->message);
    }
  sync_entry (self, e);
  entry_unref (e);
}

static GVariant *
notify_parameters (SfbNotifier *self, Entry *e)
{
  g_autofree char *body = NULL;
  GVariantBuilder actions;
  GVariantBuilder hints;

  body = self->markup ? g_markup_escape_text (e->body, -1) : g_strdup (e->body);
  g_variant_builder_init (&actions, G_VARIANT_TYPE_STRING_ARRAY);
  for (gsize i = 0; e->actions[i] != NULL; i++)
    g_variant_builder_add (&actions, "s", e->actions[i]);
  if (e->reply && self->inline_reply)
    {
      g_variant_builder_add (&actions, "s", INLINE_REPLY);
      g_variant_builder_add (&actions, "s", "Reply");
    }
  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&hints, "{sv}", "urgency", g_variant_new_byte (1));
  return g_variant_new (
      "(susssasa{sv}i)", "sfbd", e->id, "", e->summary, body, &actions, &hints, -1);
}

static void
send_notify (SfbNotifier *self, Entry *e)
{
  e->in_flight = TRUE;
  e->dirty = FALSE;
  g_dbus_connection_call (self->bus,
                          NOTIFY_NAME,
                          NOTIFY_PATH,
                          NOTIFY_IFACE,
                          "Notify",
                          notify_parameters (self, e),
                          G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE,
                          -1,
                          self->cancellable,
                          notify_done,
                          entry_ref (e));
}

static void
send_close (SfbNotifier *self, guint id)
{
  g_dbus_connection_call (self->bus,
                          NOTIFY_NAME,
                          NOTIFY_PATH,
                          NOTIFY_IFACE,
                          "CloseNotification",
                          g_variant_new ("(u)", id),
                          NULL,
                          G_DBUS_CALL_FLAGS_NONE,
                          -1,
                          NULL,
                          NULL,
                          NULL);
}

/* Brings what the server shows to what the caller wants, one call at a
 * time per notification (a replacement needs the id of the one before). */
static void
sync_entry (SfbNotifier *self, Entry *e)
{
  if (!self->caps_known || e->in_flight)
    return;
  if (e->wanted)
    {
      if (e->dirty)
        send_notify (self, e);
      return;
    }
  if (e->id != 0)
    send_close (self, e->id);
  unmap_id (self, e);
  g_hash_table_remove (self->entries, e->key);
}

static void
sync_all (SfbNotifier *self)
{
  g_autoptr (GList) list = g_hash_table_get_values (self->entries);

  for (GList *l = list; l != NULL; l = l->next)
    entry_ref (l->data);
  for (GList *l = list; l != NULL; l = l->next)
    {
      sync_entry (self, l->data);
      entry_unref (l->data);
    }
}

static void
capabilities_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SfbNotifier *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret = NULL;
  g_autofree const char **caps = NULL;

  ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->caps_in_flight = FALSE;
  self->caps_known = TRUE;
  self->markup = FALSE;
  self->inline_reply = FALSE;
  if (ret == NULL)
    g_debug ("No notification server: %s", error->message);
  else
    {
      g_variant_get (ret, "(^a&s)", &caps);
      self->markup = g_strv_contains (caps, "body-markup");
      self->inline_reply = g_strv_contains (caps, INLINE_REPLY);
    }
  sync_all (self);
}

static void
fetch_capabilities (SfbNotifier *self)
{
  self->caps_known = FALSE;
  if (self->caps_in_flight)
    return;
  self->caps_in_flight = TRUE;
  g_dbus_connection_call (self->bus,
                          NOTIFY_NAME,
                          NOTIFY_PATH,
                          NOTIFY_IFACE,
                          "GetCapabilities",
                          NULL,
                          G_VARIANT_TYPE ("(as)"),
                          G_DBUS_CALL_FLAGS_NONE,
                          -1,
                          self->cancellable,
                          capabilities_done,
                          self);
}

/* A notification server that (re)appears shows nothing of ours: show again
 * what is still wanted, with its capabilities. */
static void
server_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer user_data)
{
  SfbNotifier *self = user_data;
  GHashTableIter iter;
  Entry *e;

  if (!self->server_seen && self->caps_in_flight)
    {
      /* the first answer is on its way from this very server */
      self->server_seen = TRUE;
      return;
    }
  self->server_seen = TRUE;
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &e))
    {
      if (e->id == 0 && e->wanted)
        e->dirty = TRUE;
    }
  fetch_capabilities (self);
}

static void
server_vanished (GDBusConnection *bus, const char *name, gpointer user_data)
{
  SfbNotifier *self = user_data;
  GHashTableIter iter;
  Entry *e;

  if (!self->server_seen)
    return;
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &e))
    {
      e->id = 0;
      e->dirty = e->wanted;
    }
  g_hash_table_remove_all (self->by_id);
}

static Entry *
entry_for_id (SfbNotifier *self, guint id)
{
  return id != 0 ? g_hash_table_lookup (self->by_id, GUINT_TO_POINTER (id)) : NULL;
}

static void
on_action_invoked (SfbNotifier *self, guint id, const char *action_id)
{
  Entry *e = entry_for_id (self, id);
  g_autofree char *key = NULL;

  if (e == NULL || !entry_has_action (e, action_id))
    return;
  key = g_strdup (e->key);
  g_signal_emit (self, signals[SIGNAL_ACTION], 0, key, action_id);
}

static void
on_replied (SfbNotifier *self, guint id, const char *text)
{
  Entry *e = entry_for_id (self, id);
  g_autoptr (GError) error = NULL;
  g_autofree char *key = NULL;

  if (e == NULL || !e->reply)
    return;
  if (!sfb_text_check_argument (
          "reply", text, SFB_NOTIFIER_REPLY_MAX, SFB_TEXT_MULTI_LINE | SFB_TEXT_ALLOW_BIDI, &error))
    {
      g_message ("Inline reply to “%s” dropped: %s", e->key, error->message);
      return;
    }
  key = g_strdup (e->key);
  g_signal_emit (self, signals[SIGNAL_REPLY], 0, key, text);
}

static void
on_closed (SfbNotifier *self, guint id)
{
  Entry *e = entry_for_id (self, id);

  if (e == NULL)
    return;
  unmap_id (self, e);
  /* dismissed or expired: the next show of the key is a new notification */
  if (!e->in_flight)
    g_hash_table_remove (self->entries, e->key);
}

static void
on_signal (GDBusConnection *bus,
           const char *sender,
           const char *path,
           const char *iface,
           const char *signal,
           GVariant *parameters,
           gpointer user_data)
{
  SfbNotifier *self = user_data;
  const char *text = NULL;
  guint id = 0;
  guint reason = 0;

  if (g_str_equal (signal, "ActionInvoked")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(us)")))
    {
      g_variant_get (parameters, "(u&s)", &id, &text);
      on_action_invoked (self, id, text);
    }
  else if (g_str_equal (signal, "NotificationReplied")
           && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(us)")))
    {
      g_variant_get (parameters, "(u&s)", &id, &text);
      on_replied (self, id, text);
    }
  else if (g_str_equal (signal, "ActivationToken")
           && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(us)")))
    {
      g_variant_get (parameters, "(u&s)", &id, &text);
      if (entry_for_id (self, id) != NULL)
        {
          g_free (self->activation_token);
          self->activation_token = one_line (text, TOKEN_MAX);
        }
    }
  else if (g_str_equal (signal, "NotificationClosed")
           && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(uu)")))
    {
      g_variant_get (parameters, "(uu)", &id, &reason);
      on_closed (self, id);
    }
}

SfbNotifier *
sfb_notifier_new (GDBusConnection *session_bus)
{
  SfbNotifier *self = g_object_new (SFB_TYPE_NOTIFIER, NULL);
  static const char *const names[] = {
    "ActionInvoked",
    "NotificationClosed",
    "NotificationReplied",
    "ActivationToken",
  };

  if (session_bus == NULL)
    return self;
  self->bus = g_object_ref (session_bus);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    self->subscriptions[i] = g_dbus_connection_signal_subscribe (self->bus,
                                                                 NOTIFY_NAME,
                                                                 NOTIFY_IFACE,
                                                                 names[i],
                                                                 NOTIFY_PATH,
                                                                 NULL,
                                                                 G_DBUS_SIGNAL_FLAGS_NONE,
                                                                 on_signal,
                                                                 self,
                                                                 NULL);
  fetch_capabilities (self);
  self->watch_id = g_bus_watch_name_on_connection (self->bus,
                                                   NOTIFY_NAME,
                                                   G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                   server_appeared,
                                                   server_vanished,
                                                   self,
                                                   NULL);
  return self;
}

void
sfb_notifier_show (SfbNotifier *self,
                   const char *key,
                   const char *summary,
                   const char *body,
                   const char *const *actions,
                   gboolean reply)
{
  Entry *e;

  g_return_if_fail (SFB_IS_NOTIFIER (self));
  g_return_if_fail (key != NULL);

  if (self->bus == NULL)
    return;
  e = g_hash_table_lookup (self->entries, key);
  if (e == NULL)
    {
      e = g_rc_box_new0 (Entry);
      e->owner = self;
      e->key = g_strdup (key);
      g_hash_table_insert (self->entries, g_strdup (key), e);
    }
  g_free (e->summary);
  e->summary = one_line (summary, SFB_NOTIFIER_SUMMARY_MAX);
  g_free (e->body);
  e->body = body_text (body, SFB_NOTIFIER_BODY_MAX, SFB_NOTIFIER_BODY_LINES_MAX);
  g_strfreev (e->actions);
  e->actions = sanitise_actions (actions);
  e->reply = reply;
  e->wanted = TRUE;
  e->dirty = TRUE;
  sync_entry (self, e);
}

void
sfb_notifier_withdraw (SfbNotifier *self, const char *key)
{
  Entry *e;

  g_return_if_fail (SFB_IS_NOTIFIER (self));
  g_return_if_fail (key != NULL);

  e = g_hash_table_lookup (self->entries, key);
  if (e == NULL)
    return;
  e->wanted = FALSE;
  e->dirty = FALSE;
  sync_entry (self, e);
}

gboolean
sfb_notifier_is_shown (SfbNotifier *self, const char *key)
{
  Entry *e;

  g_return_val_if_fail (SFB_IS_NOTIFIER (self), FALSE);

  e = key != NULL ? g_hash_table_lookup (self->entries, key) : NULL;
  return e != NULL && e->wanted;
}

const char *
sfb_notifier_get_activation_token (SfbNotifier *self)
{
  g_return_val_if_fail (SFB_IS_NOTIFIER (self), NULL);
  return self->activation_token;
}

static void
sfb_notifier_dispose (GObject *object)
{
  SfbNotifier *self = SFB_NOTIFIER (object);

  g_cancellable_cancel (self->cancellable);
  for (guint i = 0; i < G_N_ELEMENTS (self->subscriptions); i++)
    if (self->subscriptions[i] != 0)
      g_dbus_connection_signal_unsubscribe (self->bus, self->subscriptions[i]);
  memset (self->subscriptions, 0, sizeof self->subscriptions);
  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  g_hash_table_remove_all (self->by_id);
  g_hash_table_remove_all (self->entries);
  g_clear_object (&self->bus);
  G_OBJECT_CLASS (sfb_notifier_parent_class)->dispose (object);
}

static void
sfb_notifier_finalize (GObject *object)
{
  SfbNotifier *self = SFB_NOTIFIER (object);

  g_clear_object (&self->cancellable);
  g_hash_table_unref (self->by_id);
  g_hash_table_unref (self->entries);
  g_free (self->activation_token);
  G_OBJECT_CLASS (sfb_notifier_parent_class)->finalize (object);
}

static void
sfb_notifier_init (SfbNotifier *self)
{
  self->cancellable = g_cancellable_new ();
  self->entries
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_unref);
  self->by_id = g_hash_table_new (g_direct_hash, g_direct_equal);
}

static void
sfb_notifier_class_init (SfbNotifierClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_notifier_dispose;
  object_class->finalize = sfb_notifier_finalize;

  signals[SIGNAL_ACTION] = g_signal_new ("action",
                                         G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST,
                                         0,
                                         NULL,
                                         NULL,
                                         NULL,
                                         G_TYPE_NONE,
                                         2,
                                         G_TYPE_STRING,
                                         G_TYPE_STRING);
  signals[SIGNAL_REPLY] = g_signal_new ("reply",
                                        G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST,
                                        0,
                                        NULL,
                                        NULL,
                                        NULL,
                                        G_TYPE_NONE,
                                        2,
                                        G_TYPE_STRING,
                                        G_TYPE_STRING);
}
