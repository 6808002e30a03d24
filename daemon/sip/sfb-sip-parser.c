/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "sfb-sip-parser.h"

#include "sfb-sip-message-private.h"

#include <string.h>

typedef enum
{
  STATE_IDLE, /* between messages: keep-alives */
  STATE_HEAD,
  STATE_BODY,
  STATE_FAILED,
} ParserState;

struct _SfbSipParser
{
  GObject parent_instance;

  ParserState state;
  GByteArray *head;
  SfbSipHeadScan scan;
  SfbSipMessage *message; /* head parsed, body pending */
  /* Content-Length bytes, allocated once: body_len filled so far */
  guint8 *body;
  gsize body_len;
  gsize body_missing;
  GQueue complete;
  guint64 n_keepalives;
  char *failure;
};

G_DEFINE_FINAL_TYPE (SfbSipParser, sfb_sip_parser, G_TYPE_OBJECT)

static void
clear_partial (SfbSipParser *self)
{
  g_byte_array_set_size (self->head, 0);
  memset (&self->scan, 0, sizeof self->scan);
  g_clear_object (&self->message);
  g_clear_pointer (&self->body, g_free);
  self->body_len = 0;
  self->body_missing = 0;
}

static void
sfb_sip_parser_finalize (GObject *object)
{
  SfbSipParser *self = SFB_SIP_PARSER (object);

  clear_partial (self);
  g_byte_array_unref (self->head);
  g_queue_clear_full (&self->complete, g_object_unref);
  g_free (self->failure);

  G_OBJECT_CLASS (sfb_sip_parser_parent_class)->finalize (object);
}

static void
sfb_sip_parser_class_init (SfbSipParserClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sfb_sip_parser_finalize;
}

static void
sfb_sip_parser_init (SfbSipParser *self)
{
  self->head = g_byte_array_new ();
  g_queue_init (&self->complete);
}

SfbSipParser *
sfb_sip_parser_new (void)
{
  return g_object_new (SFB_TYPE_SIP_PARSER, NULL);
}

static gboolean
fail (SfbSipParser *self, GError *error, GError **out)
{
  clear_partial (self);
  self->state = STATE_FAILED;
  g_free (self->failure);
  self->failure = g_strdup (error->message);
  g_propagate_error (out, error);
  return FALSE;
}

static void
complete (SfbSipParser *self, GBytes *body)
{
  sfb_sip_message_take_body (self->message, body);
  g_queue_push_tail (&self->complete, g_steal_pointer (&self->message));
  clear_partial (self);
  self->state = STATE_IDLE;
}

/* the blank line was found: parse the head and decide on the body */
static gboolean
head_done (SfbSipParser *self, GError **error)
{
  gboolean has_length;
  gsize length;

  self->message = sfb_sip_message_parse_head (
      (const char *) self->head->data, self->head->len, self->scan.n_headers, error);
  if (self->message == NULL
      || !sfb_sip_message_get_framing (self->message, TRUE, &has_length, &length, error))
    return FALSE;
  g_byte_array_set_size (self->head, 0);
  memset (&self->scan, 0, sizeof self->scan);
  if (length == 0)
    {
      complete (self, g_bytes_new_static ("", 0));
      return TRUE;
    }
  /* exactly Content-Length (at most SFB_SIP_MAX_BODY): no reallocations,
   * no doubling past the limit */
  self->body = g_malloc (length);
  self->body_len = 0;
  self->body_missing = length;
  self->state = STATE_BODY;
  return TRUE;
}

/* never holds more than the section limit: only what still fits is taken,
 * and bytes past the blank line go back to the caller's input */
static gsize
feed_head (SfbSipParser *self, const char *data, gsize len, GError **error)
{
  gsize room = SFB_SIP_MAX_HEADER_SECTION - self->head->len;
  gsize take = MIN (len, room);
  gsize head_len;
  gsize used;

  g_byte_array_append (self->head, (const guint8 *) data, (guint) take);
  if (!sfb_sip_head_scan (
          &self->scan, (const char *) self->head->data, self->head->len, &head_len, error))
    return 0;
  if (head_len == 0)
    {
      if (self->head->len < SFB_SIP_MAX_HEADER_SECTION)
        return take;
      g_set_error (error,
                   SFB_SIP_ERROR,
                   SFB_SIP_ERROR_TOO_LARGE,
                   "header section size exceeds the limit of %d",
                   SFB_SIP_MAX_HEADER_SECTION);
      return 0;
    }
  used = head_len - (self->head->len - take);
  g_byte_array_set_size (self->head, (guint) head_len);
  return head_done (self, error) ? used : 0;
}

static gsize
feed_body (SfbSipParser *self, const char *data, gsize len)
{
  gsize take = MIN (len, self->body_missing);

  /* body_len + body_missing == the length allocated, take <= body_missing */
  memcpy (self->body + self->body_len, data, take);
  self->body_len += take;
  self->body_missing -= take;
  if (self->body_missing == 0)
    {
      gsize body_len = self->body_len;

      self->body_len = 0;
      complete (self, g_bytes_new_take (g_steal_pointer (&self->body), body_len));
    }
  return take;
}

static gsize
feed_idle (SfbSipParser *self, const char *data, gsize len)
{
  gsize i = 0;

  while (i < len && (data[i] == '\r' || data[i] == '\n'))
    {
      if (data[i] == '\n')
        self->n_keepalives++;
      i++;
    }
  if (i < len)
    self->state = STATE_HEAD;
  return i;
}

gboolean
sfb_sip_parser_feed (SfbSipParser *self, const char *data, gsize len, GError **error)
{
  g_return_val_if_fail (SFB_IS_SIP_PARSER (self), FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (self->state == STATE_FAILED)
    {
      g_set_error (error,
                   SFB_SIP_ERROR,
                   SFB_SIP_ERROR_FAILED,
                   "the SIP parser failed earlier: %s",
                   self->failure);
      return FALSE;
    }
  while (len > 0)
    {
      g_autoptr (GError) local_error = NULL;
      gsize used = 0;

      switch (self->state)
        {
        case STATE_IDLE:
          used = feed_idle (self, data, len);
          break;
        case STATE_HEAD:
          used = feed_head (self, data, len, &local_error);
          break;
        case STATE_BODY:
          used = feed_body (self, data, len);
          break;
        case STATE_FAILED:
        default:
          g_assert_not_reached ();
        }
      if (local_error != NULL)
        return fail (self, g_steal_pointer (&local_error), error);
      data += used;
      len -= used;
    }
  return TRUE;
}

/* the oldest complete message (transfer full), or NULL */
SfbSipMessage *
sfb_sip_parser_pop (SfbSipParser *self)
{
  g_return_val_if_fail (SFB_IS_SIP_PARSER (self), NULL);
  return g_queue_pop_head (&self->complete);
}

guint
sfb_sip_parser_get_n_pending (SfbSipParser *self)
{
  g_return_val_if_fail (SFB_IS_SIP_PARSER (self), 0);
  return self->complete.length;
}

/* line ends seen between messages since creation or reset: a transport
 * compares it around a feed to notice a keep-alive pong */
guint64
sfb_sip_parser_get_n_keepalives (SfbSipParser *self)
{
  g_return_val_if_fail (SFB_IS_SIP_PARSER (self), 0);
  return self->n_keepalives;
}

/* TRUE inside a message: end of stream now means a truncated message */
gboolean
sfb_sip_parser_has_partial (SfbSipParser *self)
{
  g_return_val_if_fail (SFB_IS_SIP_PARSER (self), FALSE);
  return self->state == STATE_HEAD || self->state == STATE_BODY;
}

/* bytes held for the message in progress */
gsize
sfb_sip_parser_get_buffered (SfbSipParser *self)
{
  g_return_val_if_fail (SFB_IS_SIP_PARSER (self), 0);
  return self->head->len + self->body_len;
}

gboolean
sfb_sip_parser_is_failed (SfbSipParser *self)
{
  g_return_val_if_fail (SFB_IS_SIP_PARSER (self), FALSE);
  return self->state == STATE_FAILED;
}

/* back to a fresh state, for a new connection; pending messages are dropped */
void
sfb_sip_parser_reset (SfbSipParser *self)
{
  g_return_if_fail (SFB_IS_SIP_PARSER (self));

  clear_partial (self);
  g_queue_clear_full (&self->complete, g_object_unref);
  g_clear_pointer (&self->failure, g_free);
  self->n_keepalives = 0;
  self->state = STATE_IDLE;
}
