/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

/* Parsing SfbSipMessage: the start line, header lines (folding, limits),
 * the end of the header section, Content-Length framing, and a whole
 * message from one buffer.  SfbSipParser uses the same steps on a stream. */

#include "sfb-sip-message.h"

#include "sfb-sip-lex.h"
#include "sfb-sip-message-private.h"

#include <string.h>

/* The head is parsed in the message's block (SfbSipMessage.block): a
 * copy of it, where the start line becomes a string in place and the
 * headers' raw text stays as received, then the strings written after it
 * by a HeadWriter.  They fit in the head's length and one byte: the method
 * and Request-URI with their NULs in the start line; a header's name, NUL,
 * value and NUL in its raw text (name, ':', value) and its line end (a
 * fold's line end and leading SP or HTAB become one SP). */
typedef struct
{
  char *p; /* where the next byte goes */
  char *end;
} HeadWriter;

static char *
writer_put (HeadWriter *w, const char *bytes, gsize len)
{
  char *start = w->p;

  g_assert (len <= (gsize) (w->end - w->p));
  memcpy (w->p, bytes, len);
  w->p += len;
  return start;
}

static char *
writer_put_string (HeadWriter *w, const char *bytes, gsize len)
{
  char *start = writer_put (w, bytes, len);

  writer_put (w, "", 1);
  return start;
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
parse_status_line (SfbSipMessage *self, char *line, gsize len, GError **error)
{
  char *sp = memchr (line, ' ', len);
  char *code, *end = line + len;

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
  /* the tail of the start line, a string in place */
  self->reason = end - code > 3 ? code + 4 : end;
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
parse_request_line (SfbSipMessage *self, const char *line, gsize len, HeadWriter *w, GError **error)
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
  self->method = writer_put_string (w, line, sp1 - line);
  self->request_uri = writer_put_string (w, sp1 + 1, sp2 - sp1 - 1);
  return TRUE;
}

/* line: in the block, followed by its line end or the block's spare byte */
static gboolean
parse_start_line (SfbSipMessage *self, char *line, gsize len, HeadWriter *w, GError **error)
{
  if (memchr (line, '\0', len) != NULL || memchr (line, '\r', len) != NULL)
    return malformed (error, "control character in start line");
  line[len] = '\0';
  self->start_line = line;
  if (len >= 4 && g_ascii_strncasecmp (line, "SIP/", 4) == 0)
    return parse_status_line (self, line, len, error);
  return parse_request_line (self, line, len, w, error);
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

/* one physical line's part of a value, without its SP and HTAB at either end */
static void
trim_segment (const char **segment, gsize *len)
{
  while (*len > 0 && sfb_sip_is_sp ((*segment)[0]))
    {
      (*segment)++;
      (*len)--;
    }
  while (*len > 0 && sfb_sip_is_sp ((*segment)[*len - 1]))
    (*len)--;
}

/* appends one physical line's part of the value being written (the last
 * thing in @w), joining folds with one SP */
static void
value_append (SfbSipHeader *header, HeadWriter *w, const char *segment, gsize len)
{
  trim_segment (&segment, &len);
  if (len == 0)
    return;
  if (header->value_len > 0)
    {
      writer_put (w, " ", 1);
      header->value_len++;
    }
  writer_put (w, segment, len);
  header->value_len += len;
}

/* starts @header from its first line: FALSE with @error set when the line
 * is not a header */
static gboolean
header_start (SfbSipHeader *header, const char *line, gsize len, HeadWriter *w, GError **error)
{
  const char *colon = memchr (line, ':', len);
  gsize name_len;

  if (colon == NULL)
    return malformed (error, "header line without ':'");
  for (name_len = colon - line; name_len > 0 && sfb_sip_is_sp (line[name_len - 1]); name_len--)
    ;
  if (!sfb_sip_is_token (line, name_len))
    return malformed (error, "header name is not a token");
  *header = (SfbSipHeader){ 0 };
  header->in_block = TRUE;
  header->name = writer_put_string (w, line, name_len);
  sfb_sip_header_set_key (header, name_len);
  header->value = w->p;
  value_append (header, w, colon + 1, len - (colon + 1 - line));
  header->raw = line;
  header->raw_len = len;
  return TRUE;
}

static void
header_finish (SfbSipMessage *self, SfbSipHeader *header, HeadWriter *w)
{
  writer_put (w, "", 1);
  g_array_append_val (self->headers, *header);
  sfb_sip_message_headers_changed (self);
}

static gboolean
parse_headers (SfbSipMessage *self, LineReader *reader, HeadWriter *w, GError **error)
{
  SfbSipHeader header;
  gboolean open = FALSE;
  const char *line;
  gsize len;

  while (next_line (reader, &line, &len) && len > 0)
    {
      if (memchr (line, '\r', len) != NULL)
        return malformed (error, "bare CR in header line");
      if (sfb_sip_is_sp (line[0]))
        {
          if (!open)
            return malformed (error, "continuation line before the first header");
          value_append (&header, w, line, len);
          header.raw_len = line + len - header.raw;
          continue;
        }
      if (open)
        header_finish (self, &header, w);
      open = header_start (&header, line, len, w, error);
      if (!open)
        return FALSE;
    }
  if (open)
    header_finish (self, &header, w);
  return TRUE;
}

/* head: start line and headers, up to and including the blank line, as
 * sfb_sip_head_scan() found it (@n_headers: its count, the room made) */
SfbSipMessage *
sfb_sip_message_parse_head (const char *head, gsize len, guint n_headers, GError **error)
{
  g_autoptr (SfbSipMessage) self = sfb_sip_message_new_empty (n_headers);
  /* the copy, its spare byte, the strings (see HeadWriter) */
  char *block = self->block = g_malloc (2 * len + 2);
  HeadWriter w = { block + len + 1, block + 2 * len + 2 };
  LineReader reader = { block, len, 0 };
  const char *line;
  gsize line_len;

  memcpy (block, head, len);
  block[len] = '\0';
  if (!next_line (&reader, &line, &line_len) || line_len == 0)
    {
      malformed (error, "empty start line");
      return NULL;
    }
  if (!parse_start_line (self, block, line_len, &w, error)
      || !parse_headers (self, &reader, &w, error))
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
      if (scan->line_start > 0 && !sfb_sip_is_sp (line[0])
          && ++scan->n_headers > SFB_SIP_MAX_HEADERS)
        return too_large (error, "header count", SFB_SIP_MAX_HEADERS);
      scan->pos = scan->line_start = end + 1;
    }
  return TRUE;
}

/* Content-Length framing: absent means 0 on a stream unless Content-Type
 * is present (then the message is ambiguous: docs/protocol.md §3), and "to the
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
  self = sfb_sip_message_parse_head (data + off, head_len, scan.n_headers, error);
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
