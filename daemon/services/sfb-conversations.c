/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-im"

#include "config.h"

#include "sfb-conversations.h"

#include "sfb-error.h"
#include "sfb-im-doc.h"
#include "sfb-sip-message.h"
#include "sfb-sip-uri.h"
#include "sfb-text.h"

#include <sfbd/sfb-names.h>

#include <string.h>

/* One SIP dialog of a conversation (RFC 3261 §12), from our side. */
typedef struct
{
  char *call_id;
  char *local;         /* our From/To value, tagged */
  char *remote;        /* the peer's, tagged */
  char *remote_target; /* the peer's Contact URI: the Request-URI */
  GStrv route;         /* Route values, in the order to send them */
  guint32 cseq;        /* last CSeq we sent */
} Dialog;

typedef struct
{
  char *from;
  char *text;
  gint64 time;
  gboolean in;
} Message;

typedef struct
{
  char *id;
  char *uri;
  char *display_name;
  GQueue messages; /* of Message */
  guint unread;
  gint64 last_activity;
  Dialog *dialog;
  GQueue sends;    /* of GTask: SendMessage calls, the head one in flight */
  gboolean typing; /* the peer's */
} Conversation;

struct _SfbConversations
{
  GObject parent_instance;

  SfbSession *session;
  GHashTable *by_id; /* id -> Conversation */
  guint next_id;
  guint request_id; /* sfb_session_add_request_handler() */
  gulong registered_id;
};

G_DEFINE_FINAL_TYPE (SfbConversations, sfb_conversations, G_TYPE_OBJECT)

enum
{
  SIGNAL_MESSAGE_RECEIVED,
  SIGNAL_TYPING_CHANGED,
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void send_next (SfbConversations *self, Conversation *conv);

/* ---- model ----------------------------------------------------------- */

static void
dialog_free (Dialog *dialog)
{
  if (dialog == NULL)
    return;
  g_free (dialog->call_id);
  g_free (dialog->local);
  g_free (dialog->remote);
  g_free (dialog->remote_target);
  g_strfreev (dialog->route);
  g_free (dialog);
}

static void
message_free (Message *message)
{
  g_free (message->from);
  g_free (message->text);
  g_free (message);
}

static void
fail_sends (Conversation *conv, const char *why)
{
  GTask *task;

  while ((task = g_queue_pop_head (&conv->sends)) != NULL)
    {
      g_task_return_new_error (task, SFB_ERROR, SFB_ERROR_FAILED, "%s", why);
      g_object_unref (task);
    }
}

static void
conversation_free (Conversation *conv)
{
  fail_sends (conv, "The conversation was closed");
  g_queue_clear_full (&conv->messages, (GDestroyNotify) message_free);
  dialog_free (conv->dialog);
  g_free (conv->id);
  g_free (conv->uri);
  g_free (conv->display_name);
  g_free (conv);
}

static Conversation *
find_by_uri (SfbConversations *self, const char *uri)
{
  GHashTableIter iter;
  Conversation *conv;

  g_hash_table_iter_init (&iter, self->by_id);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conv))
    if (g_ascii_strcasecmp (conv->uri, uri) == 0)
      return conv;
  return NULL;
}

static Conversation *
find_by_call_id (SfbConversations *self, const char *call_id)
{
  GHashTableIter iter;
  Conversation *conv;

  if (call_id == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, self->by_id);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conv))
    if (conv->dialog != NULL && g_str_equal (conv->dialog->call_id, call_id))
      return conv;
  return NULL;
}

/* Forgets the least recently active conversation without a request in
 * flight, so a new one fits. */
static void
make_room (SfbConversations *self)
{
  GHashTableIter iter;
  Conversation *conv;
  Conversation *oldest = NULL;

  if (g_hash_table_size (self->by_id) < SFB_CONVERSATIONS_MAX)
    return;
  g_hash_table_iter_init (&iter, self->by_id);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conv))
    if (g_queue_is_empty (&conv->sends)
        && (oldest == NULL || conv->last_activity < oldest->last_activity))
      oldest = conv;
  if (oldest != NULL)
    g_hash_table_remove (self->by_id, oldest->id);
}

static Conversation *
get_conversation (SfbConversations *self, const char *uri, const char *display_name)
{
  Conversation *conv = find_by_uri (self, uri);

  if (conv == NULL)
    {
      make_room (self);
      conv = g_new0 (Conversation, 1);
      conv->id = g_strdup_printf ("%u", ++self->next_id);
      conv->uri = g_strdup (uri);
      conv->last_activity = g_get_real_time ();
      g_hash_table_insert (self->by_id, conv->id, conv);
    }
  if (display_name != NULL && *display_name != '\0')
    {
      g_free (conv->display_name);
      conv->display_name = g_strdup (display_name);
    }
  return conv;
}

static void
add_message (
    SfbConversations *self, Conversation *conv, const char *from, const char *text, gboolean in)
{
  Message *message = g_new0 (Message, 1);

  message->from = g_strdup (from);
  message->text = g_strdup (text);
  message->time = g_get_real_time ();
  message->in = in;
  g_queue_push_tail (&conv->messages, message);
  while (g_queue_get_length (&conv->messages) > SFB_CONVERSATIONS_MAX_MESSAGES)
    message_free (g_queue_pop_head (&conv->messages));
  conv->last_activity = message->time;
  if (in)
    {
      conv->unread++;
      g_signal_emit (
          self, signals[SIGNAL_MESSAGE_RECEIVED], 0, conv->id, from, text, message->time);
    }
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
set_typing (SfbConversations *self, Conversation *conv, gboolean typing)
{
  if (conv->typing == typing)
    return;
  conv->typing = typing;
  g_signal_emit (self, signals[SIGNAL_TYPING_CHANGED], 0, conv->id, conv->uri, typing);
}

/* ---- SIP helpers ----------------------------------------------------- */

/* The URI and display name of a From/To/Contact value (display name
 * cleaned, NULL when none). */
static char *
name_addr_uri (const char *value, char **display_name)
{
  g_autoptr (SfbSipNameAddr) addr = NULL;
  const char *name;
  gsize n = 0;

  if (display_name != NULL)
    *display_name = NULL;
  if (value == NULL || (addr = sfb_sip_name_addr_parse (value, -1, NULL)) == NULL)
    return NULL;
  name = sfb_sip_name_addr_get_display_name (addr, &n);
  if (display_name != NULL && name != NULL && n > 0)
    *display_name = sfb_text_quote (name, n, SFB_TEXT_QUOTE_MAX, SFB_TEXT_QUOTE_SPACES);
  return g_strdup (sfb_sip_name_addr_get_uri (addr));
}

/* A URI's user part goes into D-Bus, logs and notifications: printable
 * UTF-8 only (an escaped control character or space is refused). */
static gboolean
user_is_safe (const char *user, gsize n)
{
  const char *end = user + n;

  if (!g_utf8_validate (user, n, NULL))
    return FALSE;
  for (const char *p = user; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == ' ' || sfb_text_is_unsafe_char (c))
        return FALSE;
    }
  return TRUE;
}

/* The AOR of a URI: scheme, user and host, no parameters ("sip:bob@x"). */
static char *
aor_of (const char *uri)
{
  g_autoptr (SfbSipUri) parsed = NULL;
  const char *user;
  gsize n = 0;
  g_autofree char *clean = NULL;

  if (uri == NULL || (parsed = sfb_sip_uri_parse (uri, -1, NULL)) == NULL)
    return NULL;
  if (sfb_sip_uri_get_scheme (parsed) != SFB_SIP_URI_SCHEME_SIP)
    return NULL;
  user = sfb_sip_uri_get_user (parsed, &n);
  if (user == NULL || n == 0 || n > 256 || !user_is_safe (user, n))
    return NULL;
  clean = g_strdup_printf ("sip:%.*s@%s", (int) n, user, sfb_sip_uri_get_host (parsed));
  return g_ascii_strdown (clean, -1);
}

static char *
local_ip (SfbSession *session)
{
  const char *address = sfb_session_get_local_address (session);
  const char *colon;

  if (address == NULL || *address == '\0')
    return g_strdup ("0.0.0.0");
  if (address[0] == '[')
    {
      const char *close = strchr (address, ']');

      return close != NULL ? g_strndup (address + 1, close - address - 1) : g_strdup ("0.0.0.0");
    }
  colon = strrchr (address, ':');
  return colon != NULL ? g_strndup (address, colon - address) : g_strdup (address);
}

static void
set_text_body (SfbSipMessage *message, const char *content_type, const char *text)
{
  g_autoptr (GBytes) body = g_bytes_new (text, strlen (text));

  sfb_sip_message_set_body (message, content_type, body);
}

static void
respond (SfbConversations *self, SfbSipMessage *request, guint code, const char *reason)
{
  g_autoptr (GError) error = NULL;

  if (!sfb_session_respond (self->session, request, code, reason, NULL, NULL, &error))
    g_debug ("Could not answer %s: %s", sfb_sip_message_get_method (request), error->message);
}

static void
respond_with_accept (SfbConversations *self,
                     SfbSipMessage *request,
                     guint code,
                     const char *reason,
                     const char *accept)
{
  g_autoptr (SfbSipMessage) response
      = sfb_session_new_response (self->session, request, code, reason);
  g_autoptr (GError) error = NULL;

  sfb_sip_message_append_header (response, "Accept", accept);
  if (!sfb_session_send_response (self->session, response, &error))
    g_debug ("Could not answer %s: %s", sfb_sip_message_get_method (request), error->message);
}

/* A request in @dialog: Request-URI the remote target, Route, the dialog's
 * From/To/Call-ID and the next CSeq. */
static SfbSipMessage *
dialog_request (SfbConversations *self, Dialog *dialog, const char *method, guint32 cseq)
{
  SfbSipMessage *request = sfb_session_new_request (self->session, method, dialog->remote_target);
  g_autofree char *cseq_value = g_strdup_printf ("%u %s", cseq, method);

  sfb_sip_message_set_header (request, "From", dialog->local);
  sfb_sip_message_set_header (request, "To", dialog->remote);
  sfb_sip_message_set_header (request, "Call-ID", dialog->call_id);
  sfb_sip_message_set_header (request, "CSeq", cseq_value);
  for (guint i = 0; dialog->route != NULL && dialog->route[i] != NULL; i++)
    sfb_sip_message_append_header (request, "Route", dialog->route[i]);
  return request;
}

static void
on_bye_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbSipMessage) response = NULL;
  g_autoptr (GError) error = NULL;

  response = sfb_session_send_request_finish (SFB_SESSION (source), result, &error);
  if (response == NULL)
    g_debug ("BYE: %s", error->message);
}

static void
end_dialog (SfbConversations *self, Conversation *conv, gboolean send_bye)
{
  if (conv->dialog == NULL)
    return;
  if (send_bye)
    {
      g_autoptr (SfbSipMessage) bye
          = dialog_request (self, conv->dialog, "BYE", ++conv->dialog->cseq);

      sfb_session_send_request_async (self->session, bye, NULL, on_bye_sent, NULL);
    }
  g_clear_pointer (&conv->dialog, dialog_free);
  set_typing (self, conv, FALSE);
}

/* ---- incoming -------------------------------------------------------- */

static void
take_first_message (SfbConversations *self, Conversation *conv, SfbSipMessage *invite)
{
  const char *value = sfb_sip_message_get_header (invite, "Ms-Text-Format");
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;

  if (value == NULL)
    return;
  text = sfb_im_text_format_parse (value, &error);
  if (text == NULL)
    g_debug (
        "The first message of an invitation from %s was dropped: %s", conv->uri, error->message);
  else if (*text != '\0')
    add_message (self, conv, conv->uri, text, TRUE);
}

/* Whether @request offers an IM session; else it is answered here. */
static gboolean
offer_is_im (SfbConversations *self, SfbSipMessage *request, const char *peer)
{
  GBytes *body = sfb_sip_message_get_body (request);
  const char *content_type = sfb_sip_message_get_header (request, "Content-Type");
  gsize length = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &length) : NULL;

  switch (sfb_im_offer_classify (content_type, data, length))
    {
    case SFB_IM_OFFER_OTHER_MEDIA:
      /* 4xx, not 6xx: the server goes on ringing the user's other endpoints */
      g_info ("Declined a call (not an IM session) from %s: this endpoint takes IM only",
              peer != NULL ? peer : "an unknown caller");
      respond (self, request, 488, "Not Acceptable Here");
      return FALSE;
    case SFB_IM_OFFER_UNKNOWN_TYPE:
      respond_with_accept (self, request, 415, "Unsupported Media Type", "application/sdp");
      return FALSE;
    case SFB_IM_OFFER_MESSAGE:
      break;
    }
  return TRUE;
}

/* The 200 accepting the IM session @request offers: our SDP answer, and
 * @record_route (nullable) sent back as the dialog's route set. */
static SfbSipMessage *
invite_answer (SfbConversations *self, SfbSipMessage *request, char *const *record_route)
{
  SfbSipMessage *response = sfb_session_new_response (self->session, request, 200, "OK");
  const char *gruu = sfb_session_get_gruu (self->session);
  g_autofree char *contact = NULL;
  g_autofree char *ip = NULL;
  g_autofree char *sdp = NULL;

  for (guint i = 0; record_route != NULL && record_route[i] != NULL; i++)
    sfb_sip_message_append_header (response, "Record-Route", record_route[i]);
  contact = g_strdup_printf ("<%s>", gruu != NULL ? gruu : sfb_session_get_uri (self->session));
  sfb_sip_message_append_header (response, "Contact", contact);
  sfb_sip_message_append_header (response, "Supported", "ms-text-format");
  sfb_sip_message_append_header (response, "Supported", "ms-sender");
  sfb_sip_message_append_header (response, "Allow", SFB_SESSION_ALLOW);
  ip = local_ip (self->session);
  sdp = sfb_im_sdp_answer (ip, sfb_session_get_uri (self->session));
  set_text_body (response, "application/sdp", sdp);
  return response;
}

/* The dialog the peer's INVITE opens (callee side, RFC 3261 §12.1.1);
 * takes @remote_target and @route (nullable: none). */
static Dialog *
dialog_from_invite (SfbSipMessage *request,
                    SfbSipMessage *response,
                    char *remote_target,
                    char **route)
{
  Dialog *dialog = g_new0 (Dialog, 1);

  dialog->call_id = g_strdup (sfb_sip_message_get_header (request, "Call-ID"));
  dialog->local = g_strdup (sfb_sip_message_get_header (response, "To"));
  dialog->remote = g_strdup (sfb_sip_message_get_header (request, "From"));
  dialog->remote_target = remote_target;
  dialog->route = route != NULL ? route : g_new0 (char *, 1);
  dialog->cseq = 0;
  return dialog;
}

static void
on_invite (SfbConversations *self, SfbSipMessage *request)
{
  g_autofree char *display_name = NULL;
  g_autofree char *from_uri
      = name_addr_uri (sfb_sip_message_get_header (request, "From"), &display_name);
  g_autofree char *peer = aor_of (from_uri);
  g_autofree char *contact = name_addr_uri (sfb_sip_message_get_header (request, "Contact"), NULL);
  g_autoptr (SfbSipMessage) response = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) record_route = NULL;
  Conversation *conv;
  Dialog *dialog;

  if (!offer_is_im (self, request, peer))
    return;
  if (peer == NULL || contact == NULL)
    {
      respond (self, request, 400, "Bad Request");
      return;
    }
  conv = get_conversation (self, peer, display_name);
  /* a new INVITE from the peer replaces the dialog we had */
  end_dialog (self, conv, FALSE);
  record_route = sfb_sip_message_get_header_values (request, "Record-Route");
  response = invite_answer (self, request, record_route);
  dialog = dialog_from_invite (
      request, response, g_steal_pointer (&contact), g_steal_pointer (&record_route));
  if (!sfb_session_send_response (self->session, response, &error))
    {
      g_debug ("Could not accept the IM session from %s: %s", peer, error->message);
      dialog_free (dialog);
      return;
    }
  conv->dialog = dialog;
  take_first_message (self, conv, request);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_message (SfbConversations *self, Conversation *conv, SfbSipMessage *request)
{
  GBytes *body = sfb_sip_message_get_body (request);
  const char *content_type = sfb_sip_message_get_header (request, "Content-Type");
  gsize length = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &length) : "";
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  int typing;

  typing = sfb_im_typing_parse (content_type, data, length);
  if (typing >= 0)
    {
      respond (self, request, 200, "OK");
      set_typing (self, conv, typing == 1);
      return;
    }
  if (!sfb_im_is_text_type (content_type))
    {
      respond_with_accept (self,
                           request,
                           415,
                           "Unsupported Media Type",
                           "text/plain, text/html, text/rtf, multipart/alternative");
      return;
    }
  text = sfb_im_body_to_text (content_type, data, length, &error);
  respond (self, request, 200, "OK");
  set_typing (self, conv, FALSE);
  if (text == NULL)
    g_debug ("A message from %s was dropped: %s", conv->uri, error->message);
  else if (*text != '\0')
    add_message (self, conv, conv->uri, text, TRUE);
}

static void
on_info (SfbConversations *self, Conversation *conv, SfbSipMessage *request)
{
  GBytes *body = sfb_sip_message_get_body (request);
  gsize length = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &length) : "";
  int typing
      = sfb_im_typing_parse (sfb_sip_message_get_header (request, "Content-Type"), data, length);

  respond (self, request, 200, "OK");
  if (typing >= 0)
    set_typing (self, conv, typing == 1);
}

static gboolean
on_request (SfbSession *session, SfbSipMessage *request, gpointer user_data)
{
  SfbConversations *self = user_data;
  const char *method = sfb_sip_message_get_method (request);
  Conversation *conv;

  if (g_strcmp0 (method, "INVITE") == 0)
    {
      on_invite (self, request);
      return TRUE;
    }
  if (g_strcmp0 (method, "MESSAGE") != 0 && g_strcmp0 (method, "INFO") != 0
      && g_strcmp0 (method, "BYE") != 0 && g_strcmp0 (method, "CANCEL") != 0)
    return FALSE;
  conv = find_by_call_id (self, sfb_sip_message_get_header (request, "Call-ID"));
  if (g_strcmp0 (method, "CANCEL") == 0)
    {
      /* the 200 to the INVITE went out at once: the CANCEL comes too late
       * to change it (RFC 3261 §9.2); the server BYEs a losing branch */
      respond (self,
               request,
               conv != NULL ? 200 : 481,
               conv != NULL ? "OK" : "Call/Transaction Does Not Exist");
      return TRUE;
    }
  if (conv == NULL)
    {
      respond (self, request, 481, "Call/Transaction Does Not Exist");
      return TRUE;
    }
  if (g_strcmp0 (method, "BYE") == 0)
    {
      respond (self, request, 200, "OK");
      end_dialog (self, conv, FALSE);
    }
  else if (g_strcmp0 (method, "MESSAGE") == 0)
    on_message (self, conv, request);
  else
    on_info (self, conv, request);
  return TRUE;
}

static void
on_registered (SfbSession *session, SfbConversations *self)
{
  GHashTableIter iter;
  Conversation *conv;

  /* a new registration: the old dialogs ended with the old connection */
  g_hash_table_iter_init (&iter, self->by_id);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conv))
    if (g_queue_is_empty (&conv->sends))
      end_dialog (self, conv, FALSE);
}

/* ---- outgoing -------------------------------------------------------- */

typedef struct
{
  SfbConversations *self;
  char *conversation_id;
  char *text;
  gboolean invited; /* this send made the INVITE */
} Send;

static void
send_free (Send *send)
{
  g_object_unref (send->self);
  g_free (send->conversation_id);
  g_free (send->text);
  g_free (send);
}

static Conversation *
send_conversation (GTask *task)
{
  Send *send = g_task_get_task_data (task);

  return g_hash_table_lookup (send->self->by_id, send->conversation_id);
}

/* Ends the head send of @conv with @error (NULL: delivered) and starts
 * the next. */
static void
finish_send (SfbConversations *self, Conversation *conv, GError *error)
{
  g_autoptr (GTask) task = g_queue_pop_head (&conv->sends);
  Send *send = g_task_get_task_data (task);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    {
      add_message (self, conv, sfb_session_get_uri (self->session), send->text, FALSE);
      g_task_return_pointer (task, g_strdup (conv->id), g_free);
    }
  send_next (self, conv);
}

static GError *
failure (Conversation *conv, SfbSipMessage *response, const GError *error)
{
  g_autofree char *text = NULL;

  if (error != NULL)
    return g_error_new (error->domain,
                        error->code,
                        "The message to %s was not delivered: %s",
                        conv->uri,
                        error->message);
  text = sfb_im_failure_text (conv->uri,
                              sfb_sip_message_get_status_code (response),
                              sfb_sip_message_get_reason (response),
                              sfb_sip_message_get_header (response, "ms-diagnostics"),
                              sfb_sip_message_get_header (response, "Warning"));
  return g_error_new_literal (SFB_ERROR, SFB_ERROR_FAILED, text);
}

static void
on_message_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Send *send = g_task_get_task_data (task);
  SfbConversations *self = send->self;
  g_autoptr (SfbSipMessage) response = NULL;
  g_autoptr (GError) error = NULL;
  Conversation *conv = send_conversation (task);
  guint code;

  response = sfb_session_send_request_finish (SFB_SESSION (source), result, &error);
  if (conv == NULL)
    return; /* closed meanwhile: the task was failed then */
  code = response != NULL ? sfb_sip_message_get_status_code (response) : 0;
  if (code >= 200 && code < 300)
    {
      finish_send (self, conv, NULL);
      return;
    }
  if ((code == 408 || code == 480 || code == 481) && !send->invited)
    {
      /* the peer left the dialog: invite again (docs/protocol.md §19.4) */
      end_dialog (self, conv, code != 481);
      send_next (self, conv);
      return;
    }
  finish_send (self, conv, failure (conv, response, error));
}

static void
send_in_dialog (SfbConversations *self, Conversation *conv, GTask *task)
{
  Send *send = g_task_get_task_data (task);
  g_autoptr (SfbSipMessage) message
      = dialog_request (self, conv->dialog, "MESSAGE", ++conv->dialog->cseq);

  set_text_body (message, "text/plain; charset=UTF-8", send->text);
  sfb_session_send_request_async (
      self->session, message, g_task_get_cancellable (task), on_message_sent, g_object_ref (task));
}

/* The dialog from the 200 to our INVITE (caller side, RFC 3261 §12.1.2). */
static Dialog *
dialog_from_answer (SfbSipMessage *invite, SfbSipMessage *response)
{
  g_auto (GStrv) record_route = sfb_sip_message_get_header_values (response, "Record-Route");
  g_autofree char *target = name_addr_uri (sfb_sip_message_get_header (response, "Contact"), NULL);
  guint32 cseq = 1;
  guint n = record_route != NULL ? g_strv_length (record_route) : 0;
  Dialog *dialog;

  if (target == NULL)
    return NULL;
  sfb_sip_message_get_cseq (response, &cseq, NULL, NULL);
  dialog = g_new0 (Dialog, 1);
  dialog->call_id = g_strdup (sfb_sip_message_get_header (invite, "Call-ID"));
  dialog->local = g_strdup (sfb_sip_message_get_header (invite, "From"));
  dialog->remote = g_strdup (sfb_sip_message_get_header (response, "To"));
  dialog->remote_target = g_steal_pointer (&target);
  dialog->cseq = cseq;
  dialog->route = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    dialog->route[i] = g_strdup (record_route[n - 1 - i]);
  return dialog;
}

static gboolean
took_first_message (SfbSipMessage *response)
{
  g_auto (GStrv) supported = sfb_sip_message_get_header_values (response, "Supported");

  for (guint i = 0; supported != NULL && supported[i] != NULL; i++)
    {
      g_auto (GStrv) tokens = sfb_sip_split_list (supported[i], -1);

      for (guint k = 0; tokens != NULL && tokens[k] != NULL; k++)
        if (g_ascii_strcasecmp (tokens[k], "ms-text-format") == 0
            || g_ascii_strcasecmp (tokens[k], "ms-embedded-first-message") == 0)
          return TRUE;
    }
  return FALSE;
}

static void
send_ack (SfbConversations *self, Dialog *dialog)
{
  g_autoptr (SfbSipMessage) ack = dialog_request (self, dialog, "ACK", dialog->cseq);
  g_autoptr (GError) error = NULL;

  if (!sfb_session_send_ack (self->session, ack, &error))
    g_debug ("Could not send the ACK: %s", error->message);
}

typedef struct
{
  GTask *task;
  SfbSipMessage *invite;
  gboolean embedded;
} Invite;

static void
on_invite_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Invite *invite = user_data;
  g_autoptr (GTask) task = invite->task;
  g_autoptr (SfbSipMessage) request = invite->invite;
  gboolean embedded = invite->embedded;
  Send *send = g_task_get_task_data (task);
  SfbConversations *self = send->self;
  g_autoptr (SfbSipMessage) response = NULL;
  g_autoptr (GError) error = NULL;
  Conversation *conv = send_conversation (task);
  guint code;

  g_free (invite);
  response = sfb_session_send_request_finish (SFB_SESSION (source), result, &error);
  if (conv == NULL)
    return;
  code = response != NULL ? sfb_sip_message_get_status_code (response) : 0;
  if (code < 200 || code >= 300)
    {
      finish_send (self, conv, failure (conv, response, error));
      return;
    }
  /* the peer may have invited us meanwhile: ours is the dialog now */
  g_clear_pointer (&conv->dialog, dialog_free);
  conv->dialog = dialog_from_answer (request, response);
  if (conv->dialog == NULL)
    {
      finish_send (self,
                   conv,
                   g_error_new (SFB_ERROR,
                                SFB_ERROR_FAILED,
                                "The message to %s was not delivered: the answer had no Contact",
                                conv->uri));
      return;
    }
  send_ack (self, conv->dialog);
  if (embedded && took_first_message (response))
    finish_send (self, conv, NULL);
  else
    send_in_dialog (self, conv, task);
}

static void
send_invite (SfbConversations *self, Conversation *conv, GTask *task)
{
  Send *send = g_task_get_task_data (task);
  g_autofree char *ip = local_ip (self->session);
  g_autofree char *sdp = sfb_im_sdp_offer (ip);
  g_autofree char *first = sfb_im_text_format_build (send->text);
  g_autofree char *conversation_id = g_strdup_printf ("%u", g_random_int ());
  Invite *invite = g_new0 (Invite, 1);

  send->invited = TRUE;
  invite->task = g_object_ref (task);
  invite->invite = sfb_session_new_request (self->session, "INVITE", conv->uri);
  invite->embedded = first != NULL;
  sfb_sip_message_append_header (invite->invite, "Supported", "ms-sender");
  sfb_sip_message_append_header (invite->invite, "Supported", "ms-text-format");
  if (first != NULL)
    sfb_sip_message_append_header (invite->invite, "Ms-Text-Format", first);
  sfb_sip_message_append_header (invite->invite, "Ms-Conversation-ID", conversation_id);
  sfb_sip_message_append_header (invite->invite, "Allow", SFB_SESSION_ALLOW);
  set_text_body (invite->invite, "application/sdp", sdp);
  sfb_session_send_request_async (
      self->session, invite->invite, g_task_get_cancellable (task), on_invite_answered, invite);
}

static void
send_next (SfbConversations *self, Conversation *conv)
{
  GTask *task = g_queue_peek_head (&conv->sends);

  if (task == NULL)
    return;
  if (conv->dialog != NULL)
    send_in_dialog (self, conv, task);
  else
    send_invite (self, conv, task);
}

void
sfb_conversations_send_async (SfbConversations *self,
                              const char *uri,
                              const char *text,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autofree char *aor = NULL;
  g_autofree char *clean = NULL;
  Conversation *conv;
  Send *send;

  g_return_if_fail (SFB_IS_CONVERSATIONS (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_conversations_send_async);
  aor = aor_of (uri);
  if (aor == NULL)
    {
      g_autofree char *quoted = sfb_text_quote_untrusted (uri, -1, SFB_TEXT_QUOTE_MAX);

      g_task_return_new_error (
          task, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "Not a SIP URI of a person: %s", quoted);
      return;
    }
  clean = sfb_im_clean_text (text, -1);
  if (*clean == '\0')
    {
      g_task_return_new_error (task, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "The message is empty");
      return;
    }
  if (g_strcmp0 (sfb_session_get_state (self->session), SFB_STATE_SIGNED_IN) != 0
      && g_strcmp0 (sfb_session_get_state (self->session), SFB_STATE_RETRIEVING_SETTINGS) != 0)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_NOT_SIGNED_IN,
                               "Not signed in: sign in first with: sfbctl sign-in");
      return;
    }
  conv = get_conversation (self, aor, NULL);
  send = g_new0 (Send, 1);
  send->self = g_object_ref (self);
  send->conversation_id = g_strdup (conv->id);
  send->text = g_steal_pointer (&clean);
  g_task_set_task_data (task, send, (GDestroyNotify) send_free);
  g_queue_push_tail (&conv->sends, g_object_ref (task));
  if (g_queue_get_length (&conv->sends) == 1)
    send_next (self, conv);
}

char *
sfb_conversations_send_finish (SfbConversations *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- queries --------------------------------------------------------- */

static gint
by_activity (gconstpointer a, gconstpointer b)
{
  const Conversation *x = *(Conversation *const *) a;
  const Conversation *y = *(Conversation *const *) b;

  return x->last_activity < y->last_activity ? 1 : x->last_activity > y->last_activity ? -1 : 0;
}

GVariant *
sfb_conversations_list (SfbConversations *self)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  GVariantBuilder builder;
  GHashTableIter iter;
  Conversation *each;

  g_hash_table_iter_init (&iter, self->by_id);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &each))
    g_ptr_array_add (all, each);
  g_ptr_array_sort (all, by_activity);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < all->len; i++)
    {
      Conversation *conv = g_ptr_array_index (all, i);

      g_variant_builder_open (&builder, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&builder, "{sv}", "Id", g_variant_new_string (conv->id));
      g_variant_builder_add (&builder, "{sv}", "Uri", g_variant_new_string (conv->uri));
      g_variant_builder_add (
          &builder,
          "{sv}",
          "DisplayName",
          g_variant_new_string (conv->display_name != NULL ? conv->display_name : ""));
      g_variant_builder_add (&builder, "{sv}", "Unread", g_variant_new_uint32 (conv->unread));
      g_variant_builder_add (
          &builder, "{sv}", "LastActivity", g_variant_new_int64 (conv->last_activity));
      g_variant_builder_close (&builder);
    }
  return g_variant_builder_end (&builder);
}

static Conversation *
lookup (SfbConversations *self, const char *id, GError **error)
{
  Conversation *conv = g_hash_table_lookup (self->by_id, id);

  if (conv == NULL)
    {
      g_autofree char *quoted = sfb_text_quote_untrusted (id, -1, SFB_TEXT_QUOTE_MAX);

      g_set_error (error, SFB_ERROR, SFB_ERROR_NOT_FOUND, "No conversation %s", quoted);
    }
  return conv;
}

GVariant *
sfb_conversations_get_messages (SfbConversations *self, const char *id, GError **error)
{
  Conversation *conv = lookup (self, id, error);
  GVariantBuilder builder;

  if (conv == NULL)
    return NULL;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (GList *l = conv->messages.head; l != NULL; l = l->next)
    {
      Message *message = l->data;

      g_variant_builder_open (&builder, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&builder, "{sv}", "From", g_variant_new_string (message->from));
      g_variant_builder_add (&builder, "{sv}", "Text", g_variant_new_string (message->text));
      g_variant_builder_add (&builder, "{sv}", "Time", g_variant_new_int64 (message->time));
      g_variant_builder_add (
          &builder, "{sv}", "Direction", g_variant_new_string (message->in ? "in" : "out"));
      g_variant_builder_close (&builder);
    }
  return g_variant_builder_end (&builder);
}

const char *
sfb_conversations_find (SfbConversations *self, const char *uri)
{
  g_autofree char *aor = aor_of (uri);
  Conversation *conv = aor != NULL ? find_by_uri (self, aor) : NULL;

  return conv != NULL ? conv->id : NULL;
}

const char *
sfb_conversations_get_display_name (SfbConversations *self, const char *id)
{
  Conversation *conv = g_hash_table_lookup (self->by_id, id);

  if (conv == NULL)
    return NULL;
  return conv->display_name != NULL ? conv->display_name : conv->uri;
}

gboolean
sfb_conversations_mark_read (SfbConversations *self, const char *id, GError **error)
{
  Conversation *conv = lookup (self, id, error);

  if (conv == NULL)
    return FALSE;
  if (conv->unread != 0)
    {
      conv->unread = 0;
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
    }
  return TRUE;
}

static void
on_typing_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbConversations) self = user_data;
  g_autoptr (SfbSipMessage) response = NULL;
  g_autoptr (GError) error = NULL;
  Conversation *conv;
  guint code;

  response = sfb_session_send_request_finish (SFB_SESSION (source), result, &error);
  if (response == NULL)
    return;
  code = sfb_sip_message_get_status_code (response);
  if (code != 408 && code != 480 && code != 481)
    return;
  /* the peer left: end the dialog, the next message invites again */
  conv = find_by_call_id (self, sfb_sip_message_get_header (response, "Call-ID"));
  if (conv != NULL && g_queue_is_empty (&conv->sends))
    end_dialog (self, conv, code != 481);
}

gboolean
sfb_conversations_set_typing (SfbConversations *self,
                              const char *id,
                              gboolean typing,
                              GError **error)
{
  Conversation *conv = lookup (self, id, error);
  g_autoptr (SfbSipMessage) info = NULL;
  g_autofree char *body = NULL;

  if (conv == NULL)
    return FALSE;
  if (conv->dialog == NULL)
    return TRUE; /* nobody to tell: the next message opens the dialog */
  body = sfb_im_typing_build (typing);
  info = dialog_request (self, conv->dialog, "INFO", ++conv->dialog->cseq);
  set_text_body (info, "application/xml", body);
  sfb_session_send_request_async (self->session, info, NULL, on_typing_sent, g_object_ref (self));
  return TRUE;
}

gboolean
sfb_conversations_close (SfbConversations *self, const char *id, GError **error)
{
  Conversation *conv = lookup (self, id, error);

  if (conv == NULL)
    return FALSE;
  end_dialog (self, conv, TRUE);
  g_hash_table_remove (self->by_id, id);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

/* ---- object ---------------------------------------------------------- */

static void
sfb_conversations_dispose (GObject *object)
{
  SfbConversations *self = SFB_CONVERSATIONS (object);

  if (self->session != NULL)
    {
      sfb_session_clear_request_handler (self->session, &self->request_id);
      g_clear_signal_handler (&self->registered_id, self->session);
    }
  if (self->by_id != NULL)
    g_hash_table_remove_all (self->by_id);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sfb_conversations_parent_class)->dispose (object);
}

static void
sfb_conversations_finalize (GObject *object)
{
  SfbConversations *self = SFB_CONVERSATIONS (object);

  g_hash_table_unref (self->by_id);
  G_OBJECT_CLASS (sfb_conversations_parent_class)->finalize (object);
}

static void
sfb_conversations_class_init (SfbConversationsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_conversations_dispose;
  object_class->finalize = sfb_conversations_finalize;
  signals[SIGNAL_MESSAGE_RECEIVED] = g_signal_new ("message-received",
                                                   G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST,
                                                   0,
                                                   NULL,
                                                   NULL,
                                                   NULL,
                                                   G_TYPE_NONE,
                                                   4,
                                                   G_TYPE_STRING,
                                                   G_TYPE_STRING,
                                                   G_TYPE_STRING,
                                                   G_TYPE_INT64);
  signals[SIGNAL_TYPING_CHANGED] = g_signal_new ("typing-changed",
                                                 G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST,
                                                 0,
                                                 NULL,
                                                 NULL,
                                                 NULL,
                                                 G_TYPE_NONE,
                                                 3,
                                                 G_TYPE_STRING,
                                                 G_TYPE_STRING,
                                                 G_TYPE_BOOLEAN);
  signals[SIGNAL_CHANGED] = g_signal_new (
      "changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sfb_conversations_init (SfbConversations *self)
{
  self->by_id
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) conversation_free);
}

SfbConversations *
sfb_conversations_new (SfbSession *session)
{
  SfbConversations *self;

  g_return_val_if_fail (SFB_IS_SESSION (session), NULL);

  self = g_object_new (SFB_TYPE_CONVERSATIONS, NULL);
  self->session = g_object_ref (session);
  self->request_id = sfb_session_add_request_handler (session, on_request, self);
  self->registered_id = g_signal_connect (session, "registered", G_CALLBACK (on_registered), self);
  return self;
}
