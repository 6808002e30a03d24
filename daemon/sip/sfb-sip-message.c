/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "sfb-sip-message.h"

#include "sfb-sip-lex.h"
#include "sfb-sip-message-private.h"

#include <string.h>

G_DEFINE_FINAL_TYPE (SfbSipMessage, sfb_sip_message, G_TYPE_OBJECT)

/* Compact forms: RFC 3261 §7.3.3 and the extensions that define one */
static const struct
{
  char compact;
  const char *full;
} compact_names[] = {
  { 'a', "Accept-Contact" },
  { 'b', "Referred-By" },
  { 'c', "Content-Type" },
  { 'd', "Request-Disposition" },
  { 'e', "Content-Encoding" },
  { 'f', "From" },
  { 'i', "Call-ID" },
  { 'j', "Reject-Contact" },
  { 'k', "Supported" },
  { 'l', "Content-Length" },
  { 'm', "Contact" },
  { 'n', "Identity-Info" },
  { 'o', "Event" },
  { 'r', "Refer-To" },
  { 's', "Subject" },
  { 't', "To" },
  { 'u', "Allow-Events" },
  { 'v', "Via" },
  { 'x', "Session-Expires" },
  { 'y', "Identity" },
};

void
sfb_sip_header_clear (SfbSipHeader *header)
{
  if (!header->in_block)
    {
      g_free ((char *) header->name);
      g_free ((char *) header->value);
    }
}

static void
sfb_sip_message_finalize (GObject *object)
{
  SfbSipMessage *self = SFB_SIP_MESSAGE (object);

  if (self->block == NULL)
    {
      g_free (self->start_line);
      g_free (self->method);
      g_free (self->request_uri);
      g_free (self->reason);
    }
  g_free (self->block);
  g_array_unref (self->headers);
  g_bytes_unref (self->body);

  G_OBJECT_CLASS (sfb_sip_message_parent_class)->finalize (object);
}

static void
sfb_sip_message_class_init (SfbSipMessageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sfb_sip_message_finalize;
}

/* One empty body for every message without one: each parsed message had
 * its own, allocated and freed only to be replaced by the body read. */
static GBytes *
empty_body (void)
{
  static GBytes *empty;
  static gsize made;

  if (g_once_init_enter (&made))
    {
      empty = g_bytes_new_static ("", 0);
      g_once_init_leave (&made, 1);
    }
  return g_bytes_ref (empty);
}

static void
sfb_sip_message_init (SfbSipMessage *self)
{
  self->body = empty_body ();
}

SfbSipMessage *
sfb_sip_message_new_empty (guint n_headers)
{
  SfbSipMessage *self = g_object_new (SFB_TYPE_SIP_MESSAGE, NULL);

  self->headers = g_array_sized_new (FALSE, FALSE, sizeof (SfbSipHeader), n_headers);
  g_array_set_clear_func (self->headers, (GDestroyNotify) sfb_sip_header_clear);
  return self;
}

/* Header names */

const char *
sfb_sip_header_canonical_name (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  if (name[0] == '\0' || name[1] != '\0')
    return name;
  for (gsize i = 0; i < G_N_ELEMENTS (compact_names); i++)
    {
      if (g_ascii_tolower (name[0]) == compact_names[i].compact)
        return compact_names[i].full;
    }
  return name;
}

void
sfb_sip_header_set_key (SfbSipHeader *header, gsize name_len)
{
  header->key = sfb_sip_header_canonical_name (header->name);
  header->key_len = header->key == header->name ? name_len : strlen (header->key);
  header->key_tag = sfb_sip_header_key_tag (header->key, header->key_len);
}

gboolean
sfb_sip_header_name_equal (const char *a, const char *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  return g_ascii_strcasecmp (sfb_sip_header_canonical_name (a), sfb_sip_header_canonical_name (b))
         == 0;
}

/* Comma-separated lists: commas inside quoted strings (with quoted-pairs)
 * and inside <...> do not split; empty elements are dropped. */
GStrv
sfb_sip_split_list (const char *value, gssize len)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  const char *end, *start, *p;
  gboolean quoted = FALSE, angle = FALSE;

  g_return_val_if_fail (value != NULL, NULL);

  end = value + (len < 0 ? strlen (value) : (gsize) len);
  for (start = p = value; p <= end; p++)
    {
      if (p < end && quoted && *p == '\\' && p + 1 < end)
        p++;
      else if (p < end && *p == '"' && !angle)
        quoted = !quoted;
      else if (p < end && !quoted && (*p == '<' || *p == '>'))
        angle = *p == '<';
      else if (p == end || (*p == ',' && !quoted && !angle))
        {
          g_autofree char *element = sfb_sip_strdup_trimmed (start, p - start);

          if (element[0] != '\0')
            g_strv_builder_add (builder, element);
          start = p + 1;
        }
    }
  return g_strv_builder_end (builder);
}

/* Construction */

SfbSipMessage *
sfb_sip_message_new_request (const char *method, const char *request_uri)
{
  SfbSipMessage *self;

  g_return_val_if_fail (method != NULL && sfb_sip_is_token (method, strlen (method)), NULL);
  g_return_val_if_fail (request_uri != NULL && request_uri[0] != '\0', NULL);
  g_return_val_if_fail (strpbrk (request_uri, " \t\r\n") == NULL, NULL);

  self = sfb_sip_message_new_empty (0);
  self->method = g_strdup (method);
  self->request_uri = g_strdup (request_uri);
  self->start_line = g_strdup_printf ("%s %s SIP/2.0", method, request_uri);
  return self;
}

SfbSipMessage *
sfb_sip_message_new_response (guint status_code, const char *reason)
{
  SfbSipMessage *self;

  g_return_val_if_fail (status_code >= 100 && status_code <= 699, NULL);
  g_return_val_if_fail (reason == NULL || strpbrk (reason, "\r\n") == NULL, NULL);

  self = sfb_sip_message_new_empty (0);
  self->status_code = status_code;
  self->reason = g_strdup (reason != NULL ? reason : "");
  self->start_line = g_strdup_printf ("SIP/2.0 %u %s", status_code, self->reason);
  return self;
}

void
sfb_sip_message_take_body (SfbSipMessage *self, GBytes *body)
{
  g_bytes_unref (self->body);
  self->body = body;
}

/* Accessors */

gboolean
sfb_sip_message_is_request (SfbSipMessage *self)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), FALSE);
  return self->method != NULL;
}

/* NULL for a response */
const char *
sfb_sip_message_get_method (SfbSipMessage *self)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);
  return self->method;
}

const char *
sfb_sip_message_get_request_uri (SfbSipMessage *self)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);
  return self->request_uri;
}

/* 0 for a request */
guint
sfb_sip_message_get_status_code (SfbSipMessage *self)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), 0);
  return self->status_code;
}

const char *
sfb_sip_message_get_reason (SfbSipMessage *self)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);
  return self->reason;
}

const char *
sfb_sip_message_get_start_line (SfbSipMessage *self)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);
  return self->start_line;
}

guint
sfb_sip_message_get_n_headers (SfbSipMessage *self)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), 0);
  return self->headers->len;
}

const SfbSipNameAddrView *
sfb_sip_message_header_name_addr (SfbSipMessage *self, guint index, GError **error)
{
  SfbSipHeader *header = sfb_sip_message_header_at (self, index);

  if (!header->name_addr_checked)
    {
      if (!sfb_sip_name_addr_check (
              header->value, (gssize) header->value_len, &header->name_addr, error))
        return NULL;
      header->name_addr_checked = TRUE;
    }
  return &header->name_addr;
}

/* the name as written (a compact form stays compact) */
const char *
sfb_sip_message_get_header_name (SfbSipMessage *self, guint index)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);
  g_return_val_if_fail (index < self->headers->len, NULL);
  return sfb_sip_message_header_at (self, index)->name;
}

const char *
sfb_sip_message_get_header_value (SfbSipMessage *self, guint index, gsize *len)
{
  SfbSipHeader *header;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);
  g_return_val_if_fail (index < self->headers->len, NULL);
  header = sfb_sip_message_header_at (self, index);
  if (len != NULL)
    *len = header->value_len;
  return header->value;
}

/* find_header()'s index: the first header of each bucket (the headers
 * counted are at most SFB_SIP_MAX_HEADERS when parsed; a built message
 * with more than a guint16 holds is searched from the start) */
static void
index_keys (SfbSipMessage *self)
{
  memset (self->key_first, 0, sizeof self->key_first);
  for (guint i = self->headers->len; i-- > 0;)
    {
      if (i >= G_MAXUINT16)
        continue;
      self->key_first[sfb_sip_header_key_bucket (sfb_sip_message_header_at (self, i)->key_tag)]
          = (guint16) (i + 1);
    }
  self->key_first_valid = TRUE;
}

/* the index of the first header called name at or after start, or -1;
 * name is canonicalised once, each header's canonical name was found when
 * it was made, the search starts at the first header of the name's bucket,
 * and lengths and first letters are compared before whole names: every
 * received message is searched for some twenty headers */
int
sfb_sip_message_find_header (SfbSipMessage *self, const char *name, guint start)
{
  const char *wanted;
  gsize wanted_len;
  guint32 tag;
  guint first;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), -1);
  g_return_val_if_fail (name != NULL, -1);

  /* only a one-letter name is a compact form */
  wanted = name[0] != '\0' && name[1] == '\0' ? sfb_sip_header_canonical_name (name) : name;
  wanted_len = strlen (wanted);
  tag = sfb_sip_header_key_tag (wanted, wanted_len);
  if (!self->key_first_valid)
    index_keys (self);
  first = self->key_first[sfb_sip_header_key_bucket (tag)];
  if (first == 0 && self->headers->len <= G_MAXUINT16)
    return -1;
  for (guint i = MAX (start, first > 0 ? first - 1 : 0); i < self->headers->len; i++)
    {
      const SfbSipHeader *have = sfb_sip_message_header_at (self, i);

      /* mostly written as looked for: the bytes compared first */
      if (have->key_tag == tag && have->key_len == wanted_len
          && (memcmp (have->key, wanted, wanted_len) == 0
              || sfb_sip_ascii_caseeq (have->key, wanted)))
        return (int) i;
    }
  return -1;
}

/* the first value of a header, or NULL */
const char *
sfb_sip_message_get_header (SfbSipMessage *self, const char *name)
{
  int i = sfb_sip_message_find_header (self, name, 0);

  return i >= 0 ? sfb_sip_message_header_at (self, (guint) i)->value : NULL;
}

guint
sfb_sip_message_count_headers (SfbSipMessage *self, const char *name)
{
  guint n = 0;

  for (int i = sfb_sip_message_find_header (self, name, 0); i >= 0;
       i = sfb_sip_message_find_header (self, name, (guint) i + 1))
    n++;
  return n;
}

/* every element of a list-valued header (Via, Supported, Allow-Events...)
 * over all its header lines, in order */
GStrv
sfb_sip_message_get_header_values (SfbSipMessage *self, const char *name)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (int i = sfb_sip_message_find_header (self, name, 0); i >= 0;
       i = sfb_sip_message_find_header (self, name, (guint) i + 1))
    {
      SfbSipHeader *header = sfb_sip_message_header_at (self, (guint) i);
      g_auto (GStrv) elements = sfb_sip_split_list (header->value, header->value_len);

      g_strv_builder_addv (builder, (const char **) elements);
    }
  return g_strv_builder_end (builder);
}

/* Building */

static gboolean
header_init (SfbSipHeader *header, const char *name, const char *value)
{
  g_return_val_if_fail (name != NULL && sfb_sip_is_token (name, strlen (name)), FALSE);
  /* a CR or LF in a value would inject headers */
  g_return_val_if_fail (value != NULL && strpbrk (value, "\r\n") == NULL, FALSE);

  *header = (SfbSipHeader){ 0 };
  header->name = g_strdup (name);
  sfb_sip_header_set_key (header, strlen (name));
  header->value = g_strdup (value);
  header->value_len = strlen (value);
  return TRUE;
}

void
sfb_sip_message_append_header (SfbSipMessage *self, const char *name, const char *value)
{
  SfbSipHeader header;

  g_return_if_fail (SFB_IS_SIP_MESSAGE (self));
  if (header_init (&header, name, value))
    g_array_append_val (self->headers, header);
  sfb_sip_message_headers_changed (self);
}

void
sfb_sip_message_prepend_header (SfbSipMessage *self, const char *name, const char *value)
{
  SfbSipHeader header;

  g_return_if_fail (SFB_IS_SIP_MESSAGE (self));
  if (header_init (&header, name, value))
    g_array_prepend_val (self->headers, header);
  sfb_sip_message_headers_changed (self);
}

/* replaces the first header called name and removes the others; appends
 * when there is none */
void
sfb_sip_message_set_header (SfbSipMessage *self, const char *name, const char *value)
{
  SfbSipHeader header;
  int i;

  g_return_if_fail (SFB_IS_SIP_MESSAGE (self));
  if (!header_init (&header, name, value))
    return;
  i = sfb_sip_message_find_header (self, name, 0);
  if (i < 0)
    {
      g_array_append_val (self->headers, header);
      sfb_sip_message_headers_changed (self);
      return;
    }
  sfb_sip_header_clear (sfb_sip_message_header_at (self, (guint) i));
  *sfb_sip_message_header_at (self, (guint) i) = header;
  for (int j = sfb_sip_message_find_header (self, name, (guint) i + 1); j >= 0;
       j = sfb_sip_message_find_header (self, name, (guint) j))
    {
      g_array_remove_index (self->headers, (guint) j);
      sfb_sip_message_headers_changed (self);
    }
}

guint
sfb_sip_message_remove_header (SfbSipMessage *self, const char *name)
{
  guint n = 0;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), 0);
  g_return_val_if_fail (name != NULL, 0);

  for (int i = sfb_sip_message_find_header (self, name, 0); i >= 0;
       i = sfb_sip_message_find_header (self, name, (guint) i))
    {
      g_array_remove_index (self->headers, (guint) i);
      sfb_sip_message_headers_changed (self);
      n++;
    }
  return n;
}

/* never NULL; empty when there is no body */
GBytes *
sfb_sip_message_get_body (SfbSipMessage *self)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);
  return self->body;
}

/* content_type NULL leaves Content-Type as it is; the serialiser writes
 * the matching Content-Length */
void
sfb_sip_message_set_body (SfbSipMessage *self, const char *content_type, GBytes *body)
{
  g_return_if_fail (SFB_IS_SIP_MESSAGE (self));

  if (content_type != NULL)
    sfb_sip_message_set_header (self, "Content-Type", content_type);
  sfb_sip_message_take_body (self, body != NULL ? g_bytes_ref (body) : empty_body ());
}
