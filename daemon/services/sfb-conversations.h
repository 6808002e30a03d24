/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbConversations: instant messages (docs/protocol.md §19).
 *
 * Incoming: the session's request handler brings INVITE, MESSAGE, INFO,
 * BYE and CANCEL.  An IM INVITE (SDP with m=message) is answered 200 at
 * once with the answer SDP, Contact (the GRUU), the Record-Route copied and
 * "Supported: ms-text-format"; its Ms-Text-Format first message is shown.
 * Other INVITEs are declined with 488 (SDP without m=message: audio, video,
 * application sharing) or 415 with Accept: application/sdp (a body type
 * sfbd does not read): 4xx, so the server keeps ringing the user's other
 * endpoints and the caller learns this endpoint takes no calls.
 *
 * Outgoing: SendMessage() INVITEs with the first message in Ms-Text-Format
 * (or sends a MESSAGE in the open dialog), one request at a time per
 * conversation; it completes when the message was delivered, or fails with
 * the words of sfb_im_failure_text() (MessageNotDelivered).
 *
 * Kept in memory for this daemon run only: at most
 * SFB_CONVERSATIONS_MAX conversations (starting one more forgets the one
 * least recently active) of at most SFB_CONVERSATIONS_MAX_MESSAGES
 * messages each (the oldest go first); texts are at most SFB_IM_MAX_TEXT
 * bytes.  One conversation per remote URI; a new sign-in forgets the
 * dialogs (not the messages).
 */
#pragma once

#include <gio/gio.h>

#include "sfb-session.h"

G_BEGIN_DECLS

#define SFB_CONVERSATIONS_MAX 64
#define SFB_CONVERSATIONS_MAX_MESSAGES 500
/* Bytes of a message sent from D-Bus */
#define SFB_CONVERSATIONS_MAX_SEND 8192

#define SFB_TYPE_CONVERSATIONS (sfb_conversations_get_type ())
G_DECLARE_FINAL_TYPE (SfbConversations, sfb_conversations, SFB, CONVERSATIONS, GObject)

SfbConversations *sfb_conversations_new (SfbSession *session);

/* Completes with the conversation id once the message was delivered. */
void sfb_conversations_send_async (SfbConversations *self,
                                   const char *uri,
                                   const char *text,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
char *sfb_conversations_send_finish (SfbConversations *self, GAsyncResult *result, GError **error);

/* aa{sv}: Id, Uri, DisplayName, Unread (u), LastActivity (x, µs),
 * most recent first; floating. */
GVariant *sfb_conversations_list (SfbConversations *self);
/* aa{sv}: From, Text, Time (x, µs), Direction ("in"/"out"), oldest
 * first; floating.  NULL with NotFound for an unknown @id. */
GVariant *sfb_conversations_get_messages (SfbConversations *self, const char *id, GError **error);
/* The id of the conversation with @uri, or NULL. */
const char *sfb_conversations_find (SfbConversations *self, const char *uri);
gboolean sfb_conversations_mark_read (SfbConversations *self, const char *id, GError **error);
gboolean sfb_conversations_set_typing (SfbConversations *self,
                                       const char *id,
                                       gboolean typing,
                                       GError **error);
/* Ends the dialog (BYE) and forgets the conversation. */
gboolean sfb_conversations_close (SfbConversations *self, const char *id, GError **error);
/* The display name of @id's peer (its URI when none), NULL when unknown. */
const char *sfb_conversations_get_display_name (SfbConversations *self, const char *id);

/* Signals:
 *   "message-received" (id, from_uri, text, gint64 time_us)
 *   "typing-changed"   (id, uri, gboolean typing)
 *   "changed"          (void): the list changed (new conversation,
 *                      message, unread count, closed). */

G_END_DECLS
