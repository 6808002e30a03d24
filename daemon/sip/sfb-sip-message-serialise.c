/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

/* Writing SfbSipMessage: the bytes sent (received headers byte-for-byte,
 * one correct Content-Length) and the redacted text that may be logged. */

#include "sfb-sip-message.h"

#include "sfb-sip-auth-header.h"
#include "sfb-sip-lex.h"
#include "sfb-sip-message-private.h"

#include <string.h>

static const char redacted[] = "<redacted>";

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
      SfbSipHeader *header = sfb_sip_message_header_at (self, i);
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
