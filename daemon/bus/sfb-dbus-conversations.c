/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Conversations: instant messages of SfbConversations */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-conversations.h"
#include "sfb-dbus-adapters.h"

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

static gboolean
handle_send_message (SfbDBusConversations *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char *uri,
                     const char *text,
                     SfbDaemon *daemon)
{
  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  sfb_conversations_send_async (
      sfb_daemon_get_conversations (daemon), uri, text, NULL, on_sent, g_object_ref (invocation));
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
  GError *error = NULL;
  GVariant *messages;

  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  messages = sfb_conversations_get_messages (sfb_daemon_get_conversations (daemon), id, &error);
  if (messages == NULL)
    return sfb_dbus_return_error (invocation, error);
  sfb_dbus_conversations_complete_get_messages (skeleton, invocation, messages);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_mark_read (SfbDBusConversations *skeleton,
                  GDBusMethodInvocation *invocation,
                  const char *id,
                  SfbDaemon *daemon)
{
  GError *error = NULL;

  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!sfb_conversations_mark_read (sfb_daemon_get_conversations (daemon), id, &error))
    return sfb_dbus_return_error (invocation, error);
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
  GError *error = NULL;

  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!sfb_conversations_set_typing (sfb_daemon_get_conversations (daemon), id, typing, &error))
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
  GError *error = NULL;

  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!sfb_conversations_close (sfb_daemon_get_conversations (daemon), id, &error))
    return sfb_dbus_return_error (invocation, error);
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

GDBusInterfaceSkeleton *
sfb_dbus_conversations_adapter_new (SfbDaemon *daemon)
{
  SfbDBusConversations *skeleton = sfb_dbus_conversations_skeleton_new ();
  SfbConversations *conversations = sfb_daemon_get_conversations (daemon);

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
