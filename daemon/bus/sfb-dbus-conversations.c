/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Conversations: instant messages of SfbConversations, and
 * their desktop notifications (the daemon's one SfbNotifier, shared with
 * SfbDesktop, keys "im-<id>": the sender's name and the text, an inline
 * reply where the server offers it; a click or MarkRead marks the
 * conversation read). */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-conversations.h"
#include "sfb-dbus-adapters.h"
#include "sfb-notifier.h"

#include <string.h>

#define NOTIFICATION_PREFIX "im-"

/* The skeleton's data: the notifier, once the desktop session gave it. */
typedef struct
{
  SfbDaemon *daemon;
  SfbNotifier *notifier;
} Notifications;

static void
notifications_free (Notifications *notifications)
{
  if (notifications->notifier != NULL)
    g_signal_handlers_disconnect_by_data (notifications->notifier, notifications);
  g_clear_object (&notifications->notifier);
  g_free (notifications);
}

static char *
notification_key (const char *id)
{
  return g_strconcat (NOTIFICATION_PREFIX, id, NULL);
}

static const char *
key_id (const char *key)
{
  return g_str_has_prefix (key, NOTIFICATION_PREFIX) ? key + strlen (NOTIFICATION_PREFIX) : NULL;
}

static void
on_reply_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = sfb_conversations_send_finish (SFB_CONVERSATIONS (source), result, &error);

  if (id == NULL)
    g_warning ("The reply was not sent: %s", error->message);
}

static void
on_notification_reply (SfbNotifier *notifier,
                       const char *key,
                       const char *text,
                       Notifications *notifications)
{
  SfbConversations *conversations = sfb_daemon_get_conversations (notifications->daemon);
  const char *id = key_id (key);
  g_autoptr (GVariant) list = NULL;
  GVariantIter iter;
  GVariant *entry;

  if (id == NULL)
    return;
  list = sfb_conversations_list (conversations);
  g_variant_ref_sink (list);
  g_variant_iter_init (&iter, list);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr (GVariant) owned = entry;
      const char *entry_id = NULL;
      const char *uri = NULL;

      if (g_variant_lookup (owned, "Id", "&s", &entry_id) && g_str_equal (entry_id, id)
          && g_variant_lookup (owned, "Uri", "&s", &uri))
        {
          sfb_conversations_mark_read (conversations, id, NULL);
          sfb_conversations_send_async (conversations, uri, text, NULL, on_reply_sent, NULL);
          return;
        }
    }
}

static void
on_notification_action (SfbNotifier *notifier,
                        const char *key,
                        const char *action,
                        Notifications *notifications)
{
  const char *id = key_id (key);

  if (id != NULL && g_str_equal (action, "default"))
    sfb_conversations_mark_read (sfb_daemon_get_conversations (notifications->daemon), id, NULL);
}

static void
notify_message (SfbDBusConversations *skeleton, const char *id, const char *text)
{
  Notifications *notifications = g_object_get_data (G_OBJECT (skeleton), "sfb-notifications");
  SfbConversations *conversations = sfb_daemon_get_conversations (notifications->daemon);
  static const char *const actions[] = { "default", "Open", NULL };
  g_autofree char *key = notification_key (id);

  if (notifications->notifier == NULL)
    return;
  sfb_notifier_show (notifications->notifier,
                     key,
                     sfb_conversations_get_display_name (conversations, id),
                     text,
                     actions,
                     TRUE);
}

static void
withdraw_notification (SfbDBusConversations *skeleton, const char *id)
{
  Notifications *notifications = g_object_get_data (G_OBJECT (skeleton), "sfb-notifications");
  g_autofree char *key = notification_key (id);

  if (notifications->notifier != NULL)
    sfb_notifier_withdraw (notifications->notifier, key);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  GError *error = NULL;
  g_autofree char *id = sfb_conversations_send_finish (SFB_CONVERSATIONS (source), result, &error);

  if (id == NULL)
    {
      sfb_dbus_return_error (invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", id));
}

/* The check every method starts with (sfb-args.h): the conversations, or
 * NULL once @invocation is answered with the error. */
static SfbConversations *
checked_conversations (GDBusMethodInvocation *invocation, SfbDaemon *daemon)
{
  return sfb_dbus_args_ok (invocation) ? sfb_daemon_get_conversations (daemon) : NULL;
}

static gboolean
handle_send_message (SfbDBusConversations *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char *uri,
                     const char *text,
                     SfbDaemon *daemon)
{
  SfbConversations *conversations = checked_conversations (invocation, daemon);

  if (conversations != NULL)
    sfb_conversations_send_async (
        conversations, uri, text, NULL, on_sent, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_conversations (SfbDBusConversations *skeleton,
                           GDBusMethodInvocation *invocation,
                           SfbDaemon *daemon)
{
  sfb_dbus_conversations_complete_list_conversations (
      skeleton, invocation, sfb_conversations_list (sfb_daemon_get_conversations (daemon)));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_messages (SfbDBusConversations *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char *id,
                     SfbDaemon *daemon)
{
  SfbConversations *conversations = checked_conversations (invocation, daemon);
  GError *error = NULL;
  GVariant *messages;

  if (conversations == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  messages = sfb_conversations_get_messages (conversations, id, &error);
  if (messages == NULL)
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_conversations_complete_get_messages (skeleton, invocation, messages);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef gboolean (*ConversationCall) (SfbConversations *conversations,
                                      const char *id,
                                      GError **error);

/* MarkRead and Close: @call on conversation @id, whose notification then
 * goes; FALSE once @invocation is answered with the error. */
static gboolean
call_and_withdraw (SfbDBusConversations *skeleton,
                   GDBusMethodInvocation *invocation,
                   const char *id,
                   SfbDaemon *daemon,
                   ConversationCall call)
{
  SfbConversations *conversations = checked_conversations (invocation, daemon);
  GError *error = NULL;

  if (conversations == NULL)
    return FALSE;
  if (!call (conversations, id, &error))
    {
      sfb_dbus_return_error (invocation, error);
      return FALSE;
    }
  withdraw_notification (skeleton, id);
  return TRUE;
}

static gboolean
handle_mark_read (SfbDBusConversations *skeleton,
                  GDBusMethodInvocation *invocation,
                  const char *id,
                  SfbDaemon *daemon)
{
  if (call_and_withdraw (skeleton, invocation, id, daemon, sfb_conversations_mark_read))
    sfb_dbus_conversations_complete_mark_read (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_typing (SfbDBusConversations *skeleton,
                   GDBusMethodInvocation *invocation,
                   const char *id,
                   gboolean typing,
                   SfbDaemon *daemon)
{
  SfbConversations *conversations = checked_conversations (invocation, daemon);
  GError *error = NULL;

  if (conversations == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!sfb_conversations_set_typing (conversations, id, typing, &error))
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_conversations_complete_set_typing (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_close (SfbDBusConversations *skeleton,
              GDBusMethodInvocation *invocation,
              const char *id,
              SfbDaemon *daemon)
{
  if (call_and_withdraw (skeleton, invocation, id, daemon, sfb_conversations_close))
    sfb_dbus_conversations_complete_close (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_message_received (SfbConversations *conversations,
                     const char *id,
                     const char *from_uri,
                     const char *text,
                     gint64 time,
                     SfbDBusConversations *skeleton)
{
  sfb_dbus_conversations_emit_message_received (skeleton, id, from_uri, text, time);
  notify_message (skeleton, id, text);
}

static void
on_typing_changed (SfbConversations *conversations,
                   const char *id,
                   const char *uri,
                   gboolean typing,
                   SfbDBusConversations *skeleton)
{
  sfb_dbus_conversations_emit_typing_changed (skeleton, id, uri, typing);
}

void
sfb_dbus_conversations_adapter_set_notifier (GDBusInterfaceSkeleton *adapter, SfbNotifier *notifier)
{
  Notifications *notifications = g_object_get_data (G_OBJECT (adapter), "sfb-notifications");

  if (notifications->notifier != NULL)
    g_signal_handlers_disconnect_by_data (notifications->notifier, notifications);
  g_set_object (&notifications->notifier, notifier);
  if (notifier == NULL)
    return;
  g_signal_connect (notifier, "reply", G_CALLBACK (on_notification_reply), notifications);
  g_signal_connect (notifier, "action", G_CALLBACK (on_notification_action), notifications);
}

GDBusInterfaceSkeleton *
sfb_dbus_conversations_adapter_new (SfbDaemon *daemon)
{
  SfbDBusConversations *skeleton = sfb_dbus_conversations_skeleton_new ();
  SfbConversations *conversations = sfb_daemon_get_conversations (daemon);
  Notifications *notifications = g_new0 (Notifications, 1);

  notifications->daemon = daemon;
  g_object_set_data_full (
      G_OBJECT (skeleton), "sfb-notifications", notifications, (GDestroyNotify) notifications_free);
  g_signal_connect_object (
      skeleton, "handle-send-message", G_CALLBACK (handle_send_message), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-list-conversations", G_CALLBACK (handle_list_conversations), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-get-messages", G_CALLBACK (handle_get_messages), daemon, 0);
  g_signal_connect_object (skeleton, "handle-mark-read", G_CALLBACK (handle_mark_read), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-set-typing", G_CALLBACK (handle_set_typing), daemon, 0);
  g_signal_connect_object (skeleton, "handle-close", G_CALLBACK (handle_close), daemon, 0);
  g_signal_connect_object (
      conversations, "message-received", G_CALLBACK (on_message_received), skeleton, 0);
  g_signal_connect_object (
      conversations, "typing-changed", G_CALLBACK (on_typing_changed), skeleton, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
