/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "sfb-sip-message.h"

#include "sfb-sip-auth-header.h"
#include "sfb-sip-lex.h"
#include "sfb-sip-message-private.h"
#include "sfb-sip-uri.h"
#include "sfb-sip-via.h"

#include <stdarg.h>
#include <string.h>

typedef struct
{
  char *name;  /* as written */
  char *value; /* unfolded and trimmed; may hold NUL bytes */
  gsize value_len;
  char *raw; /* the header as received, folding included; NULL once built */
  gsize raw_len;
} SfbSipHeader;

struct _SfbSipMessage
{
  GObject parent_instance;

  char *start_line;
  char *method; /* NULL for a response */
  char *request_uri;
  guint status_code; /* 0 for a request */
  char *reason;
  GPtrArray *headers;
  GBytes *body;
};

G_DEFINE_FINAL_TYPE (SfbSipMessage, sfb_sip_message, G_TYPE_OBJECT)

static const char redacted[] = "<redacted>";

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

static void
sip_header_free (SfbSipHeader *header)
{
  g_free (header->name);
  g_free (header->value);
  g_free (header->raw);
  g_free (header);
}

static void
sfb_sip_message_finalize (GObject *object)
{
  SfbSipMessage *self = SFB_SIP_MESSAGE (object);

  g_free (self->start_line);
  g_free (self->method);
  g_free (self->request_uri);
  g_free (self->reason);
  g_ptr_array_unref (self->headers);
  g_bytes_unref (self->body);

  G_OBJECT_CLASS (sfb_sip_message_parent_class)->finalize (object);
}

static void
sfb_sip_message_class_init (SfbSipMessageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sfb_sip_message_finalize;
}

static void
sfb_sip_message_init (SfbSipMessage *self)
{
  self->headers = g_ptr_array_new_with_free_func ((GDestroyNotify) sip_header_free);
  self->body = g_bytes_new_static ("", 0);
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

  self = g_object_new (SFB_TYPE_SIP_MESSAGE, NULL);
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

  self = g_object_new (SFB_TYPE_SIP_MESSAGE, NULL);
  self->status_code = status_code;
  self->reason = g_strdup (reason != NULL ? reason : "");
  self->start_line = g_strdup_printf ("SIP/2.0 %u %s", status_code, self->reason);
  return self;
}

/* Parsing: start line */

static gboolean
malformed (GError **error, const char *what)
{
  g_set_error_literal (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED, what);
  return FALSE;
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; only 2.0 is spoken */
static gboolean
check_version (const char *version, gsize len, GError **error)
{
  gsize i = 4, major, minor;

  if (len < 4 || g_ascii_strncasecmp (version, "SIP/", 4) != 0)
    return malformed (error, "invalid SIP version");
  for (major = i; i < len && g_ascii_isdigit (version[i]); i++)
    ;
  if (i == major || i >= len || version[i] != '.')
    return malformed (error, "invalid SIP version");
  for (minor = ++i; i < len && g_ascii_isdigit (version[i]); i++)
    ;
  if (i == minor || i != len)
    return malformed (error, "invalid SIP version");
  if (len != 7 || version[4] != '2' || version[6] != '0')
    {
      g_autofree char *copy = g_strndup (version, MIN (len, 16));

      g_set_error (error,
                   SFB_SIP_ERROR,
                   SFB_SIP_ERROR_UNSUPPORTED_VERSION,
                   "unsupported SIP version '%s'",
                   copy);
      return FALSE;
    }
  return TRUE;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; a missing
 * final SP with an empty reason is tolerated */
static gboolean
parse_status_line (SfbSipMessage *self, const char *line, gsize len, GError **error)
{
  const char *sp = memchr (line, ' ', len);
  const char *code, *end = line + len;

  if (sp == NULL)
    return malformed (error, "Status-Line without a status code");
  if (!check_version (line, sp - line, error))
    return FALSE;
  code = sp + 1;
  if (end - code < 3 || !g_ascii_isdigit (code[0]) || !g_ascii_isdigit (code[1])
      || !g_ascii_isdigit (code[2]) || (end - code > 3 && code[3] != ' '))
    return malformed (error, "status code is not three digits");
  self->status_code = (guint) g_ascii_digit_value (code[0]) * 100
                      + (guint) g_ascii_digit_value (code[1]) * 10
                      + (guint) g_ascii_digit_value (code[2]);
  if (self->status_code < 100 || self->status_code > 699)
    return malformed (error, "status code out of range 100-699");
  self->reason = end - code > 3 ? g_strndup (code + 4, end - code - 4) : g_strdup ("");
  return TRUE;
}

/* Request-URI: a scheme and URI characters; '<', '>', '"', whitespace and
 * controls are never part of it (RFC 4475 ltgtruri) */
static gboolean
check_request_uri (const char *uri, gsize len, GError **error)
{
  gsize i = 0;

  if (len == 0 || !g_ascii_isalpha (uri[0]))
    return malformed (error, "Request-URI without a scheme");
  while (i < len && (g_ascii_isalnum (uri[i]) || uri[i] == '+' || uri[i] == '-' || uri[i] == '.'))
    i++;
  if (i == len || uri[i] != ':')
    return malformed (error, "Request-URI without a scheme");
  for (i = 0; i < len; i++)
    {
      guchar c = (guchar) uri[i];

      if (c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"')
        return malformed (error, "invalid character in Request-URI");
    }
  return TRUE;
}

/* Request-Line = Method SP Request-URI SP SIP-Version, single spaces only
 * (RFC 4475 lwsstart, lwsruri, trws) */
static gboolean
parse_request_line (SfbSipMessage *self, const char *line, gsize len, GError **error)
{
  const char *end = line + len;
  const char *sp1 = memchr (line, ' ', len);
  const char *sp2 = sp1 != NULL ? memchr (sp1 + 1, ' ', end - sp1 - 1) : NULL;

  if (sp1 == NULL || sp2 == NULL)
    return malformed (error, "Request-Line is not 'Method SP Request-URI SP SIP-Version'");
  if (memchr (sp2 + 1, ' ', end - sp2 - 1) != NULL || sp2 == sp1 + 1)
    return malformed (error, "extra whitespace in Request-Line");
  if (!sfb_sip_is_token (line, sp1 - line))
    return malformed (error, "method is not a token");
  if (!check_request_uri (sp1 + 1, sp2 - sp1 - 1, error)
      || !check_version (sp2 + 1, end - sp2 - 1, error))
    return FALSE;
  self->method = g_strndup (line, sp1 - line);
  self->request_uri = g_strndup (sp1 + 1, sp2 - sp1 - 1);
  return TRUE;
}

static gboolean
parse_start_line (SfbSipMessage *self, const char *line, gsize len, GError **error)
{
  gboolean ok;

  if (memchr (line, '\0', len) != NULL || memchr (line, '\r', len) != NULL)
    return malformed (error, "control character in start line");
  if (len >= 4 && g_ascii_strncasecmp (line, "SIP/", 4) == 0)
    ok = parse_status_line (self, line, len, error);
  else
    ok = parse_request_line (self, line, len, error);
  if (ok)
    self->start_line = g_strndup (line, len);
  return ok;
}

/* Parsing: header lines */

typedef struct
{
  const char *head;
  gsize len;
  gsize pos;
} LineReader;

/* the next line without its CRLF or LF; FALSE at the end */
static gboolean
next_line (LineReader *reader, const char **line, gsize *line_len)
{
  const char *start = reader->head + reader->pos;
  const char *nl;
  gsize n;

  if (reader->pos >= reader->len)
    return FALSE;
  nl = memchr (start, '\n', reader->len - reader->pos);
  n = nl != NULL ? (gsize) (nl - start) : reader->len - reader->pos;
  reader->pos += n + (nl != NULL ? 1 : 0);
  if (n > 0 && start[n - 1] == '\r' && nl != NULL)
    n--;
  *line = start;
  *line_len = n;
  return TRUE;
}

static gboolean
is_sp (char c)
{
  return c == ' ' || c == '\t';
}

/* appends one physical line's part of a value, joining folds with one SP */
static void
append_segment (GString *value, const char *segment, gsize len)
{
  while (len > 0 && is_sp (segment[0]))
    {
      segment++;
      len--;
    }
  while (len > 0 && is_sp (segment[len - 1]))
    len--;
  if (len == 0)
    return;
  if (value->len > 0)
    g_string_append_c (value, ' ');
  g_string_append_len (value, segment, len);
}

static SfbSipHeader *
header_start (const char *line, gsize len, GString *value, GError **error)
{
  const char *colon = memchr (line, ':', len);
  gsize name_len;
  SfbSipHeader *header;

  if (colon == NULL)
    {
      malformed (error, "header line without ':'");
      return NULL;
    }
  for (name_len = colon - line; name_len > 0 && is_sp (line[name_len - 1]); name_len--)
    ;
  if (!sfb_sip_is_token (line, name_len))
    {
      malformed (error, "header name is not a token");
      return NULL;
    }
  header = g_new0 (SfbSipHeader, 1);
  header->name = g_strndup (line, name_len);
  g_string_truncate (value, 0);
  append_segment (value, colon + 1, len - (colon + 1 - line));
  return header;
}

static void
header_finish (
    SfbSipMessage *self, SfbSipHeader *header, GString *value, const char *raw, const char *raw_end)
{
  header->value_len = value->len;
  header->value = g_malloc (value->len + 1);
  memcpy (header->value, value->str, value->len + 1);
  header->raw_len = raw_end - raw;
  header->raw = g_malloc (header->raw_len + 1);
  memcpy (header->raw, raw, header->raw_len);
  header->raw[header->raw_len] = '\0';
  g_ptr_array_add (self->headers, header);
}

static gboolean
parse_headers (SfbSipMessage *self, LineReader *reader, GError **error)
{
  g_autoptr (GString) value = g_string_new (NULL);
  SfbSipHeader *header = NULL;
  const char *raw = NULL, *raw_end = NULL, *line;
  gsize len;

  while (next_line (reader, &line, &len) && len > 0)
    {
      if (memchr (line, '\r', len) != NULL)
        {
          g_clear_pointer (&header, sip_header_free);
          return malformed (error, "bare CR in header line");
        }
      if (is_sp (line[0]))
        {
          if (header == NULL)
            return malformed (error, "continuation line before the first header");
          append_segment (value, line, len);
          raw_end = line + len;
          continue;
        }
      if (header != NULL)
        header_finish (self, header, value, raw, raw_end);
      header = header_start (line, len, value, error);
      if (header == NULL)
        return FALSE;
      raw = line;
      raw_end = line + len;
    }
  if (header != NULL)
    header_finish (self, header, value, raw, raw_end);
  return TRUE;
}

/* head: start line and headers, up to and including the blank line */
SfbSipMessage *
sfb_sip_message_parse_head (const char *head, gsize len, GError **error)
{
  g_autoptr (SfbSipMessage) self = g_object_new (SFB_TYPE_SIP_MESSAGE, NULL);
  LineReader reader = { head, len, 0 };
  const char *line;
  gsize line_len;

  if (!next_line (&reader, &line, &line_len) || line_len == 0)
    {
      malformed (error, "empty start line");
      return NULL;
    }
  if (!parse_start_line (self, line, line_len, error) || !parse_headers (self, &reader, error))
    return NULL;
  return g_steal_pointer (&self);
}

static gboolean
too_large (GError **error, const char *what, gsize limit)
{
  g_set_error (error,
               SFB_SIP_ERROR,
               SFB_SIP_ERROR_TOO_LARGE,
               "%s exceeds the limit of %" G_GSIZE_FORMAT,
               what,
               limit);
  return FALSE;
}

/* a physical line of n bytes (CR included when terminated by CRLF) */
static gboolean
check_line (const char *line, gsize n, gboolean terminated, GError **error)
{
  if (terminated && n > 0 && line[n - 1] == '\r')
    n--;
  else if (!terminated && n > 0)
    n--; /* a CR may still be waiting for its LF */
  if (n > SFB_SIP_MAX_LINE)
    return too_large (error, "header line length", SFB_SIP_MAX_LINE);
  return TRUE;
}

gboolean
sfb_sip_head_scan (
    SfbSipHeadScan *scan, const char *buf, gsize len, gsize *head_len, GError **error)
{
  *head_len = 0;
  while (scan->pos < len)
    {
      const char *nl = memchr (buf + scan->pos, '\n', len - scan->pos);
      const char *line = buf + scan->line_start;
      gsize end = nl != NULL ? (gsize) (nl - buf) : len;

      if (!check_line (line, end - scan->line_start, nl != NULL, error))
        return FALSE;
      if (end + (nl != NULL ? 1 : 0) > SFB_SIP_MAX_HEADER_SECTION)
        return too_large (error, "header section size", SFB_SIP_MAX_HEADER_SECTION);
      if (nl == NULL)
        {
          scan->pos = len;
          return TRUE;
        }
      if (end == scan->line_start || (end == scan->line_start + 1 && line[0] == '\r'))
        {
          *head_len = end + 1;
          return TRUE;
        }
      if (scan->line_start > 0 && !is_sp (line[0]) && ++scan->n_headers > SFB_SIP_MAX_HEADERS)
        return too_large (error, "header count", SFB_SIP_MAX_HEADERS);
      scan->pos = scan->line_start = end + 1;
    }
  return TRUE;
}

/* Content-Length framing: absent means 0 on a stream unless Content-Type
 * is present (then the message is ambiguous: protocol.md §3), and "to the
 * end of the datagram" otherwise (RFC 3261 §18.3) */
gboolean
sfb_sip_message_get_framing (
    SfbSipMessage *self, gboolean stream, gboolean *has_length, gsize *length, GError **error)
{
  const char *value;
  guint64 n = 0;

  *has_length = FALSE;
  *length = 0;
  if (sfb_sip_message_count_headers (self, "Content-Length") > 1)
    return malformed (error, "more than one Content-Length header");
  value = sfb_sip_message_get_header (self, "Content-Length");
  if (value == NULL)
    {
      if (stream && sfb_sip_message_get_header (self, "Content-Type") != NULL)
        return malformed (error, "Content-Type without Content-Length on a stream");
      return TRUE;
    }
  if (value[0] == '\0')
    return malformed (error, "empty Content-Length");
  for (const char *p = value; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        return malformed (error, "Content-Length is not a decimal number");
      n = MIN (n * 10 + (guint64) (*p - '0'), (guint64) SFB_SIP_MAX_BODY + 1);
    }
  if (n > SFB_SIP_MAX_BODY)
    return too_large (error, "Content-Length", SFB_SIP_MAX_BODY);
  *has_length = TRUE;
  *length = (gsize) n;
  return TRUE;
}

void
sfb_sip_message_take_body (SfbSipMessage *self, GBytes *body)
{
  g_bytes_unref (self->body);
  self->body = body;
}

/* A whole message from a datagram-style buffer: leading CRLFs are skipped,
 * octets after Content-Length are ignored (RFC 4475 dblreq), a body shorter
 * than Content-Length is an error (RFC 4475 clerr). */
SfbSipMessage *
sfb_sip_message_parse (const char *data, gsize len, GError **error)
{
  g_autoptr (SfbSipMessage) self = NULL;
  SfbSipHeadScan scan = { 0 };
  gsize off = 0, head_len, body_len;
  gboolean has_length;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  while (off < len && (data[off] == '\r' || data[off] == '\n'))
    off++;
  if (!sfb_sip_head_scan (&scan, data + off, len - off, &head_len, error))
    return NULL;
  if (head_len == 0)
    {
      malformed (error, "message ends inside the header section");
      return NULL;
    }
  self = sfb_sip_message_parse_head (data + off, head_len, error);
  if (self == NULL || !sfb_sip_message_get_framing (self, FALSE, &has_length, &body_len, error))
    return NULL;
  off += head_len;
  if (!has_length)
    body_len = len - off;
  if (body_len > SFB_SIP_MAX_BODY)
    {
      too_large (error, "body size", SFB_SIP_MAX_BODY);
      return NULL;
    }
  if (body_len > len - off)
    {
      g_set_error (error,
                   SFB_SIP_ERROR,
                   SFB_SIP_ERROR_MALFORMED,
                   "body of %" G_GSIZE_FORMAT
                   " bytes is shorter than Content-Length %" G_GSIZE_FORMAT,
                   len - off,
                   body_len);
      return NULL;
    }
  sfb_sip_message_take_body (self, g_bytes_new (data + off, body_len));
  return g_steal_pointer (&self);
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

static SfbSipHeader *
header_at (SfbSipMessage *self, guint index)
{
  return g_ptr_array_index (self->headers, index);
}

/* the name as written (a compact form stays compact) */
const char *
sfb_sip_message_get_header_name (SfbSipMessage *self, guint index)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);
  g_return_val_if_fail (index < self->headers->len, NULL);
  return header_at (self, index)->name;
}

const char *
sfb_sip_message_get_header_value (SfbSipMessage *self, guint index, gsize *len)
{
  SfbSipHeader *header;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);
  g_return_val_if_fail (index < self->headers->len, NULL);
  header = header_at (self, index);
  if (len != NULL)
    *len = header->value_len;
  return header->value;
}

/* the index of the first header called name at or after start, or -1 */
int
sfb_sip_message_find_header (SfbSipMessage *self, const char *name, guint start)
{
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), -1);
  g_return_val_if_fail (name != NULL, -1);

  for (guint i = start; i < self->headers->len; i++)
    {
      if (sfb_sip_header_name_equal (header_at (self, i)->name, name))
        return (int) i;
    }
  return -1;
}

/* the first value of a header, or NULL */
const char *
sfb_sip_message_get_header (SfbSipMessage *self, const char *name)
{
  int i = sfb_sip_message_find_header (self, name, 0);

  return i >= 0 ? header_at (self, (guint) i)->value : NULL;
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
      SfbSipHeader *header = header_at (self, (guint) i);
      g_auto (GStrv) elements = sfb_sip_split_list (header->value, header->value_len);

      g_strv_builder_addv (builder, (const char **) elements);
    }
  return g_strv_builder_end (builder);
}

/* Building */

static SfbSipHeader *
header_new (const char *name, const char *value)
{
  SfbSipHeader *header;

  g_return_val_if_fail (name != NULL && sfb_sip_is_token (name, strlen (name)), NULL);
  /* a CR or LF in a value would inject headers */
  g_return_val_if_fail (value != NULL && strpbrk (value, "\r\n") == NULL, NULL);

  header = g_new0 (SfbSipHeader, 1);
  header->name = g_strdup (name);
  header->value = g_strdup (value);
  header->value_len = strlen (value);
  return header;
}

void
sfb_sip_message_append_header (SfbSipMessage *self, const char *name, const char *value)
{
  SfbSipHeader *header;

  g_return_if_fail (SFB_IS_SIP_MESSAGE (self));
  header = header_new (name, value);
  if (header != NULL)
    g_ptr_array_add (self->headers, header);
}

void
sfb_sip_message_prepend_header (SfbSipMessage *self, const char *name, const char *value)
{
  SfbSipHeader *header;

  g_return_if_fail (SFB_IS_SIP_MESSAGE (self));
  header = header_new (name, value);
  if (header != NULL)
    g_ptr_array_insert (self->headers, 0, header);
}

/* replaces the first header called name and removes the others; appends
 * when there is none */
void
sfb_sip_message_set_header (SfbSipMessage *self, const char *name, const char *value)
{
  SfbSipHeader *header;
  int i;

  g_return_if_fail (SFB_IS_SIP_MESSAGE (self));
  header = header_new (name, value);
  if (header == NULL)
    return;
  i = sfb_sip_message_find_header (self, name, 0);
  if (i < 0)
    {
      g_ptr_array_add (self->headers, header);
      return;
    }
  sip_header_free (g_steal_pointer (&self->headers->pdata[i]));
  self->headers->pdata[i] = header;
  for (int j = sfb_sip_message_find_header (self, name, (guint) i + 1); j >= 0;
       j = sfb_sip_message_find_header (self, name, (guint) j))
    g_ptr_array_remove_index (self->headers, (guint) j);
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
      g_ptr_array_remove_index (self->headers, (guint) i);
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
  sfb_sip_message_take_body (self, body != NULL ? g_bytes_ref (body) : g_bytes_new_static ("", 0));
}

/* Semantics */

static gboolean G_GNUC_PRINTF (2, 3) invalid (GError **error, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, SFB_SIP_ERROR, SFB_SIP_ERROR_INVALID, message);
  return FALSE;
}

/* CSeq = 1*DIGIT LWS Method, number below 2**31 (RFC 3261 §8.1.1.5) */
gboolean
sfb_sip_message_get_cseq (SfbSipMessage *self, guint32 *number, char **method, GError **error)
{
  const char *value, *p;
  guint64 n = 0;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), FALSE);

  value = sfb_sip_message_get_header (self, "CSeq");
  if (value == NULL)
    return invalid (error, "missing %s header", "CSeq");
  for (p = value; g_ascii_isdigit (*p); p++)
    n = MIN (n * 10 + (guint64) (*p - '0'), G_MAXUINT32);
  if (p == value || !is_sp (*p))
    return invalid (error, "%s is not 'number method'", "CSeq");
  if (n >= G_MAXINT32 + (guint64) 1)
    return invalid (error, "%s number out of range", "CSeq");
  while (is_sp (*p))
    p++;
  if (!sfb_sip_is_token (p, strlen (p)))
    return invalid (error, "%s method is not a token", "CSeq");
  if (number != NULL)
    *number = (guint32) n;
  if (method != NULL)
    *method = g_strdup (p);
  return TRUE;
}

static gboolean
check_single (SfbSipMessage *self, const char *name, gboolean required, GError **error)
{
  guint n = sfb_sip_message_count_headers (self, name);

  if (n > 1)
    return invalid (error, "more than one %s header", name);
  if (n == 0 && required)
    return invalid (error, "missing %s header", name);
  return TRUE;
}

static gboolean
check_name_addr (SfbSipMessage *self, const char *name, GError **error)
{
  int i = sfb_sip_message_find_header (self, name, 0);
  SfbSipHeader *header = header_at (self, (guint) i);
  g_autoptr (SfbSipNameAddr) addr = NULL;

  addr = sfb_sip_name_addr_parse (header->value, header->value_len, error);
  if (addr == NULL)
    g_prefix_error (error, "%s: ", name);
  return addr != NULL;
}

static gboolean
check_vias (SfbSipMessage *self, GError **error)
{
  if (sfb_sip_message_count_headers (self, "Via") == 0)
    return invalid (error, "missing %s header", "Via");
  for (int i = sfb_sip_message_find_header (self, "Via", 0); i >= 0;
       i = sfb_sip_message_find_header (self, "Via", (guint) i + 1))
    {
      SfbSipHeader *header = header_at (self, (guint) i);
      g_autoptr (GPtrArray) vias = sfb_sip_via_parse_list (header->value, header->value_len, error);

      if (vias == NULL)
        {
          g_prefix_error (error, "Via: ");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_max_forwards (SfbSipMessage *self, GError **error)
{
  const char *value = sfb_sip_message_get_header (self, "Max-Forwards");
  guint n = 0;

  if (value == NULL)
    return TRUE;
  for (const char *p = value; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        return invalid (error, "%s is not a number", "Max-Forwards");
      n = MIN (n * 10 + (guint) (*p - '0'), 1000);
    }
  if (value[0] == '\0' || n > 255)
    return invalid (error, "%s out of range 0-255", "Max-Forwards");
  return TRUE;
}

/* a SIP Request-URI carries no headers part (RFC 4475 escruri) */
static gboolean
check_request (SfbSipMessage *self, GError **error)
{
  g_autoptr (SfbSipUri) uri = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *method = NULL;

  if (!sfb_sip_message_get_cseq (self, NULL, &method, error))
    return FALSE;
  if (g_strcmp0 (method, self->method) != 0)
    return invalid (error, "CSeq method '%s' does not match the request method", method);
  uri = sfb_sip_uri_parse (self->request_uri, -1, &local_error);
  if (uri == NULL && g_error_matches (local_error, SFB_SIP_ERROR, SFB_SIP_ERROR_UNSUPPORTED_SCHEME))
    return TRUE; /* the TU answers 416 */
  if (uri == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "Request-URI: ");
      return FALSE;
    }
  if (sfb_sip_uri_get_n_headers (uri) > 0)
    return invalid (error, "%s has a headers part", "Request-URI");
  return check_max_forwards (self, error);
}

/* The checks a UA applies before handing a message to a transaction: the
 * mandatory headers of RFC 3261 §8.1.1, single-valued headers present once,
 * CSeq in range and matching the method, parseable From, To and Via. */
gboolean
sfb_sip_message_validate (SfbSipMessage *self, GError **error)
{
  static const char *const singles[] = { "Call-ID", "CSeq", "From", "To" };
  static const char *const optional[] = { "Max-Forwards", "Content-Type", "Content-Length" };

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), FALSE);

  for (gsize i = 0; i < G_N_ELEMENTS (singles); i++)
    {
      if (!check_single (self, singles[i], TRUE, error))
        return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (optional); i++)
    {
      if (!check_single (self, optional[i], FALSE, error))
        return FALSE;
    }
  if (!check_name_addr (self, "From", error) || !check_name_addr (self, "To", error)
      || !check_vias (self, error))
    return FALSE;
  if (self->method != NULL)
    return check_request (self, error);
  return sfb_sip_message_get_cseq (self, NULL, NULL, error);
}

/* Serialising */

static void
append_header (GString *out, SfbSipHeader *header)
{
  if (header->raw != NULL)
    g_string_append_len (out, header->raw, header->raw_len);
  else
    {
      g_string_append (out, header->name);
      g_string_append (out, ": ");
      g_string_append_len (out, header->value, header->value_len);
    }
  g_string_append (out, "\r\n");
}

/* the first Content-Length (as written, when it is right) stands for all */
static void
append_content_length (GString *out, SfbSipHeader *header, gsize body_len)
{
  g_autofree char *len = g_strdup_printf ("%" G_GSIZE_FORMAT, body_len);

  if (header != NULL && g_strcmp0 (header->value, len) == 0)
    append_header (out, header);
  else
    g_string_append_printf (
        out, "%s: %s\r\n", header != NULL ? header->name : "Content-Length", len);
}

typedef char *(*ValueFilter) (SfbSipHeader *header);

static GString *
serialise_head (SfbSipMessage *self, ValueFilter filter)
{
  GString *out = g_string_new (self->start_line);
  gsize body_len = g_bytes_get_size (self->body);
  gboolean have_length = FALSE;

  g_string_append (out, "\r\n");
  for (guint i = 0; i < self->headers->len; i++)
    {
      SfbSipHeader *header = header_at (self, i);
      g_autofree char *filtered = filter != NULL ? filter (header) : NULL;

      if (sfb_sip_header_name_equal (header->name, "Content-Length"))
        {
          if (!have_length)
            append_content_length (out, header, body_len);
          have_length = TRUE;
        }
      else if (filtered != NULL)
        g_string_append_printf (out, "%s: %s\r\n", header->name, filtered);
      else
        append_header (out, header);
    }
  if (!have_length)
    append_content_length (out, NULL, body_len);
  g_string_append (out, "\r\n");
  return out;
}

GBytes *
sfb_sip_message_to_bytes (SfbSipMessage *self)
{
  GString *out;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);

  out = serialise_head (self, NULL);
  g_string_append_len (
      out, g_bytes_get_data (self->body, NULL), (gssize) g_bytes_get_size (self->body));
  return g_string_free_to_bytes (out);
}

/* NUL-terminated copy of to_bytes(); text after an embedded NUL is lost */
char *
sfb_sip_message_to_string (SfbSipMessage *self)
{
  g_autoptr (GBytes) bytes = sfb_sip_message_to_bytes (self);
  gsize len;
  const char *data;

  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &len);
  return g_strndup (data, len);
}

/* Redaction */

static gboolean
name_contains (const char *name, const char *word)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return strstr (lower, word) != NULL;
}

static gboolean
is_auth_header (const char *name)
{
  static const char *const names[] = {
    "WWW-Authenticate", "Proxy-Authenticate", "Authentication-Info", "Proxy-Authentication-Info"
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (g_ascii_strcasecmp (name, names[i]) == 0)
        return TRUE;
    }
  return FALSE;
}

/* NULL keeps the value; otherwise the text to log instead */
static char *
redact_header (SfbSipHeader *header)
{
  if (sfb_sip_header_name_equal (header->name, "Authorization")
      || sfb_sip_header_name_equal (header->name, "Proxy-Authorization"))
    {
      const char *end = header->value;

      while (sfb_sip_is_token_char ((guchar) *end))
        end++;
      return end > header->value
                 ? g_strdup_printf ("%.*s %s", (int) (end - header->value), header->value, redacted)
                 : g_strdup (redacted);
    }
  if (name_contains (header->name, "cookie") || name_contains (header->name, "ticket"))
    return g_strdup (redacted);
  return sfb_sip_auth_redact_value (
      header->value, (gssize) header->value_len, is_auth_header (header->name));
}

/* controls never reach a terminal or the journal, nor does invalid UTF-8 */
static void
append_loggable (GString *out, const char *data, gsize len)
{
  g_autofree char *copy = g_malloc (len + 1);
  g_autofree char *valid = NULL;

  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) data[i];

      copy[i] = (c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f ? '?' : (char) c;
    }
  copy[len] = '\0';
  valid = g_utf8_make_valid (copy, (gssize) len);
  g_string_append (out, valid);
}

static void
append_loggable_body (GString *out, GBytes *body)
{
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  if (len > 0 && (memchr (data, '\0', len) != NULL || !g_utf8_validate (data, (gssize) len, NULL)))
    g_string_append_printf (out, "[%" G_GSIZE_FORMAT " bytes of binary body]", len);
  else if (len > 0)
    append_loggable (out, data, len);
}

/* The only form of a message that may be logged: Authorization and
 * Proxy-Authorization keep just their scheme, gssapi-data, response and
 * rspauth values are hidden wherever they appear, cookie and ticket
 * headers are hidden whole. */
char *
sfb_sip_message_to_string_redacted (SfbSipMessage *self)
{
  g_autoptr (GString) head = NULL;
  g_autoptr (GString) out = g_string_new (NULL);

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), NULL);

  head = serialise_head (self, redact_header);
  append_loggable (out, head->str, head->len);
  append_loggable_body (out, self->body);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
