/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-im"

#include "config.h"

#include "sfb-im-doc.h"

#include "sfb-content-type.h"
#include "sfb-error.h"
#include "sfb-svc-xml.h"
#include "sfb-text.h"

#include <string.h>

/* ---- text ------------------------------------------------------------ */

static gboolean
keep_char (gunichar c)
{
  return c == '\n' || c == '\t' || !sfb_text_is_unsafe_char (c);
}

char *
sfb_im_clean_text (const char *text, gssize length)
{
  gsize len = length < 0 ? strlen (text) : (gsize) length;
  g_autoptr (GString) out = g_string_sized_new (MIN (len, SFB_IM_MAX_TEXT) + 1);
  const char *p = text;
  const char *end = text + len;

  while (p < end && out->len < SFB_IM_MAX_TEXT)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      gsize n;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          c = 0xfffd;
          n = 1;
        }
      else
        n = g_utf8_next_char (p) - p;
      if (c == '\r')
        c = '\n';
      if (c == '\n' && *p == '\r' && p + 1 < end && p[1] == '\n')
        n = 2;
      if (keep_char (c))
        {
          char buf[6];
          gsize w = g_unichar_to_utf8 (c, buf);

          if (out->len + w > SFB_IM_MAX_TEXT)
            break;
          g_string_append_len (out, buf, w);
        }
      p += n;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- SDP ------------------------------------------------------------- */

static char *
sdp (const char *ip, const char *path)
{
  const char *family = strchr (ip, ':') != NULL ? "IP6" : "IP4";

  return g_strdup_printf ("v=0\r\n"
                          "o=- 0 0 IN %s %s\r\n"
                          "s=session\r\n"
                          "c=IN %s %s\r\n"
                          "t=0 0\r\n"
                          "m=message 5060 sip %s\r\n"
                          "a=accept-types:" SFB_IM_ACCEPT_TYPES "\r\n",
                          family,
                          ip,
                          family,
                          ip,
                          path);
}

char *
sfb_im_sdp_offer (const char *ip)
{
  return sdp (ip, "null");
}

char *
sfb_im_sdp_answer (const char *ip, const char *aor)
{
  return sdp (ip, aor);
}

/* Whether an SDP has an m=message (or m=x-ms-message) line. */
static gboolean
sdp_has_message (const char *data, gsize length)
{
  const char *p = data;
  const char *end = data + length;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *line_end = nl != NULL ? nl : end;
      gsize n = line_end - p;

      if ((n >= 10 && memcmp (p, "m=message ", 10) == 0)
          || (n >= 15 && memcmp (p, "m=x-ms-message ", 15) == 0))
        return TRUE;
      p = nl != NULL ? nl + 1 : end;
    }
  return FALSE;
}

typedef struct
{
  char *content_type;
  char *encoding;
  const char *body;
  gsize length;
} Part;

static void
part_clear (Part *part)
{
  g_free (part->content_type);
  g_free (part->encoding);
}

static GArray *
split_multipart (const char *content_type, const char *data, gsize length, GError **error);

SfbImOffer
sfb_im_offer_classify (const char *content_type, const char *data, gsize length)
{
  g_autofree char *media = sfb_content_type_media (content_type);
  g_autoptr (GArray) parts = NULL;

  if (length == 0)
    return SFB_IM_OFFER_OTHER_MEDIA;
  if (length > SFB_IM_MAX_BODY)
    return SFB_IM_OFFER_UNKNOWN_TYPE;
  if (g_str_equal (media, "application/sdp"))
    return sdp_has_message (data, length) ? SFB_IM_OFFER_MESSAGE : SFB_IM_OFFER_OTHER_MEDIA;
  if (!g_str_equal (media, "multipart/alternative"))
    return SFB_IM_OFFER_UNKNOWN_TYPE;
  /* the ICE variants of a call come as alternatives of SDPs */
  parts = split_multipart (content_type, data, length, NULL);
  if (parts == NULL)
    return SFB_IM_OFFER_UNKNOWN_TYPE;
  for (guint i = 0; i < parts->len; i++)
    {
      Part *part = &g_array_index (parts, Part, i);
      g_autofree char *part_media = sfb_content_type_media (part->content_type);

      if (!g_str_equal (part_media, "application/sdp"))
        return SFB_IM_OFFER_UNKNOWN_TYPE;
      if (sdp_has_message (part->body, part->length))
        return SFB_IM_OFFER_MESSAGE;
    }
  return SFB_IM_OFFER_OTHER_MEDIA;
}

/* ---- decoding -------------------------------------------------------- */

static gboolean
is_base64 (const char *s)
{
  gsize n = 0;

  for (; *s != '\0'; s++, n++)
    if (!g_ascii_isalnum (*s) && *s != '+' && *s != '/' && *s != '=' && *s != '\r' && *s != '\n'
        && *s != ' ' && *s != '\t')
      return FALSE;
  return n > 0;
}

/* Base64 without its '=' padding (msgr, some ms-body values) decoded.  */
static GBytes *
base64_decode (const char *text, gsize length)
{
  g_autoptr (GString) clean = g_string_sized_new (length + 4);
  g_autofree char *copy = g_strndup (text, length);
  guchar *out;
  gsize n = 0;

  if (!is_base64 (copy))
    return NULL;
  for (const char *p = copy; *p != '\0'; p++)
    if (!g_ascii_isspace (*p) && *p != '=')
      g_string_append_c (clean, *p);
  if (clean->len % 4 == 1)
    return NULL;
  while (clean->len % 4 != 0)
    g_string_append_c (clean, '=');
  out = g_base64_decode (clean->str, &n);
  return g_bytes_new_take (out, n);
}

/* Bytes in @charset (NULL: UTF-8) to UTF-8, or NULL. */
static char *
to_utf8 (const char *data, gsize length, const char *charset)
{
  if (charset == NULL || g_ascii_strcasecmp (charset, "utf-8") == 0
      || g_ascii_strcasecmp (charset, "utf8") == 0 || g_ascii_strcasecmp (charset, "us-ascii") == 0)
    return g_strndup (data, length); /* invalid bytes are replaced later */
  return g_convert (data, length, "UTF-8", charset, NULL, NULL, NULL);
}

static guint
hex_value (char c)
{
  return g_ascii_isdigit (c) ? (guint) (c - '0') : (guint) (g_ascii_tolower (c) - 'a' + 10);
}

static GBytes *
quoted_printable_decode (const char *data, gsize length)
{
  g_autoptr (GByteArray) out = g_byte_array_sized_new (length);

  for (gsize i = 0; i < length; i++)
    {
      guint8 c = data[i];

      if (c == '=' && i + 2 < length + 0 && g_ascii_isxdigit (data[i + 1])
          && g_ascii_isxdigit (data[i + 2]))
        {
          c = hex_value (data[i + 1]) << 4 | hex_value (data[i + 2]);
          i += 2;
        }
      else if (c == '=' && i + 1 < length && (data[i + 1] == '\r' || data[i + 1] == '\n'))
        {
          /* soft line break */
          i += (data[i + 1] == '\r' && i + 2 < length && data[i + 2] == '\n') ? 2 : 1;
          continue;
        }
      g_byte_array_append (out, &c, 1);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* ---- HTML ------------------------------------------------------------ */

static gboolean
tag_is (const char *tag, gsize n, const char *name)
{
  gsize k = strlen (name);

  return n >= k && g_ascii_strncasecmp (tag, name, k) == 0
         && (n == k || g_ascii_isspace (tag[k]) || tag[k] == '/' || tag[k] == '>');
}

/* One entity at @p (after '&'), appended; returns the bytes used. */
static gsize
html_entity (const char *p, const char *end, GString *out)
{
  static const struct
  {
    const char *name;
    const char *text;
  } named[] = {
    { "amp;", "&" },   { "lt;", "<" },   { "gt;", ">" },
    { "quot;", "\"" }, { "apos;", "'" }, { "nbsp;", " " },
  };
  gsize avail = end - p;

  for (guint i = 0; i < G_N_ELEMENTS (named); i++)
    {
      gsize k = strlen (named[i].name);

      if (avail >= k && g_ascii_strncasecmp (p, named[i].name, k) == 0)
        {
          g_string_append (out, named[i].text);
          return k;
        }
    }
  if (avail >= 3 && p[0] == '#')
    {
      gboolean hex = p[1] == 'x' || p[1] == 'X';
      gsize i = hex ? 2 : 1;
      guint64 value = 0;
      gsize digits = 0;

      for (; i < avail && digits < 8 && (hex ? g_ascii_isxdigit (p[i]) : g_ascii_isdigit (p[i]));
           i++, digits++)
        value = value * (hex ? 16 : 10) + hex_value (p[i]);
      if (digits > 0 && i < avail && p[i] == ';')
        {
          gunichar c = value <= 0x10ffff && g_unichar_validate ((gunichar) value) ? (gunichar) value
                                                                                  : 0xfffd;

          g_string_append_unichar (out, c);
          return i + 1;
        }
    }
  g_string_append_c (out, '&');
  return 0;
}

static char *
html_to_text (const char *data, gsize length)
{
  g_autoptr (GString) out = g_string_sized_new (MIN (length, SFB_IM_MAX_TEXT));
  const char *p = data;
  const char *end = data + length;
  gboolean skipping = FALSE; /* inside <script> or <style> */

  while (p < end && out->len < SFB_IM_MAX_TEXT * 2)
    {
      if (*p == '<')
        {
          const char *close = memchr (p, '>', end - p);
          const char *tag = p + 1;
          gsize n;
          gboolean closing;

          if (close == NULL)
            break;
          closing = tag < close && *tag == '/';
          if (closing)
            tag++;
          n = close - tag;
          if (tag_is (tag, n, "script") || tag_is (tag, n, "style"))
            skipping = !closing;
          else if (!skipping
                   && (tag_is (tag, n, "br") || (closing && tag_is (tag, n, "p"))
                       || (closing && tag_is (tag, n, "div"))))
            g_string_append_c (out, '\n');
          p = close + 1;
          continue;
        }
      if (skipping)
        {
          p++;
          continue;
        }
      if (*p == '&')
        {
          p++;
          p += html_entity (p, end, out);
          continue;
        }
      /* line breaks in HTML source are not breaks in the text */
      if (*p != '\r' && *p != '\n')
        g_string_append_c (out, *p);
      p++;
    }
  while (out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- RTF ------------------------------------------------------------- */

typedef struct
{
  GString *out;
  guint depth;
  guint skip_depth; /* > 0: inside a destination that is not text */
  guint uc;         /* fallback characters after \uN */
  guint pending_skip;
} Rtf;

static gboolean
rtf_is_skipped_destination (const char *word)
{
  static const char *const skipped[] = {
    "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "header", "footer", "generator",
  };

  for (guint i = 0; i < G_N_ELEMENTS (skipped); i++)
    if (g_str_equal (word, skipped[i]))
      return TRUE;
  return FALSE;
}

static void
rtf_emit (Rtf *rtf, gunichar c)
{
  if (rtf->pending_skip > 0)
    {
      rtf->pending_skip--;
      return;
    }
  if (rtf->skip_depth == 0)
    g_string_append_unichar (rtf->out, c);
}

/* A control symbol at @p (after '\', not a letter); returns where it
 * ends. */
static const char *
rtf_symbol (Rtf *rtf, const char *p, const char *end, gboolean group_start)
{
  if (*p == '\'' && end - p >= 3 && g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]))
    {
      /* \'hh: a byte of the document's code page, read as Windows-1252's
       * Latin-1 subset */
      rtf_emit (rtf, hex_value (p[1]) << 4 | hex_value (p[2]));
      return p + 3;
    }
  if (*p == '*')
    {
      if (group_start && rtf->skip_depth == 0)
        rtf->skip_depth = rtf->depth;
    }
  else if (*p == '\\' || *p == '{' || *p == '}')
    rtf_emit (rtf, (gunichar) *p);
  else if (*p == '~')
    rtf_emit (rtf, ' ');
  return p + 1;
}

/* What control word @word (with @param when @has_param) does to the text. */
static void
rtf_word (Rtf *rtf, const char *word, gboolean has_param, gint64 param, gboolean group_start)
{
  if (group_start && rtf->skip_depth == 0 && rtf_is_skipped_destination (word))
    rtf->skip_depth = rtf->depth;
  else if (g_str_equal (word, "par") || g_str_equal (word, "line"))
    rtf_emit (rtf, '\n');
  else if (g_str_equal (word, "tab"))
    rtf_emit (rtf, '\t');
  else if (g_str_equal (word, "uc") && has_param && param >= 0 && param < 8)
    rtf->uc = (guint) param;
  else if (g_str_equal (word, "u") && has_param)
    {
      gint64 value = param < 0 ? param + 65536 : param;

      rtf_emit (rtf, value > 0 && value < 0xd800 ? (gunichar) value : 0xfffd);
      rtf->pending_skip = rtf->uc;
    }
}

/* A control word or symbol at @p (after '\'); returns where it ends.  A
 * word longer than 32 letters is cut (no RTF word is that long); the
 * parameter stops growing at 7 digits. */
static const char *
rtf_control (Rtf *rtf, const char *p, const char *end, gboolean group_start)
{
  char word[33];
  gsize n = 0;
  gboolean has_param = FALSE;
  gboolean negative = FALSE;
  gint64 param = 0;

  if (p >= end)
    return p;
  if (!g_ascii_isalpha (*p))
    return rtf_symbol (rtf, p, end, group_start);
  while (p < end && g_ascii_isalpha (*p))
    {
      if (n < sizeof word - 1)
        word[n++] = *p;
      p++;
    }
  word[n] = '\0';
  if (p < end && *p == '-')
    {
      negative = TRUE;
      p++;
    }
  while (p < end && g_ascii_isdigit (*p))
    {
      has_param = TRUE;
      if (param < 1000000)
        param = param * 10 + (*p - '0');
      p++;
    }
  if (negative)
    param = -param;
  /* the space that ends a control word is part of it */
  if (p < end && *p == ' ')
    p++;
  rtf_word (rtf, word, has_param, param, group_start);
  return p;
}

static char *
rtf_to_text (const char *data, gsize length, GError **error)
{
  g_autoptr (GString) out = g_string_sized_new (MIN (length, SFB_IM_MAX_TEXT));
  Rtf rtf = { out, 0, 0, 1, 0 };
  const char *p = data;
  const char *end = data + length;
  gboolean group_start = FALSE;

  if (length < 5 || memcmp (data, "{\\rtf", 5) != 0)
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_FAILED, "The RTF message has no RTF header");
      return NULL;
    }
  while (p < end && out->len < SFB_IM_MAX_TEXT * 2)
    {
      gboolean was_group_start = group_start;

      group_start = FALSE;
      switch (*p)
        {
        case '{':
          if (++rtf.depth > SFB_IM_MAX_RTF_DEPTH)
            {
              g_set_error_literal (
                  error, SFB_ERROR, SFB_ERROR_FAILED, "The RTF message is nested too deep");
              return NULL;
            }
          group_start = TRUE;
          p++;
          break;
        case '}':
          if (rtf.skip_depth == rtf.depth)
            rtf.skip_depth = 0;
          if (rtf.depth > 0)
            rtf.depth--;
          rtf.pending_skip = 0;
          p++;
          break;
        case '\\':
          p = rtf_control (&rtf, p + 1, end, was_group_start);
          break;
        case '\r':
        case '\n':
          p++;
          break;
        default:
          rtf_emit (&rtf, (guchar) *p);
          p++;
          break;
        }
    }
  while (out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- multipart ------------------------------------------------------- */

/* The header section of a part: Content-Type, Content-Transfer-Encoding. */
static void
part_headers (Part *part, const char *headers, gsize length)
{
  g_autofree char *copy = g_strndup (headers, length);
  g_auto (GStrv) lines = g_strsplit (copy, "\n", 64);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *colon = strchr (lines[i], ':');
      g_autofree char *name = NULL;

      if (colon == NULL)
        continue;
      name = g_strstrip (g_strndup (lines[i], colon - lines[i]));
      if (g_ascii_strcasecmp (name, "Content-Type") == 0 && part->content_type == NULL)
        part->content_type = g_strdup (g_strstrip (colon + 1));
      else if (g_ascii_strcasecmp (name, "Content-Transfer-Encoding") == 0
               && part->encoding == NULL)
        part->encoding = g_ascii_strdown (g_strstrip (colon + 1), -1);
    }
}

/* The part between a delimiter line's end @start and the next delimiter
 * @next into @part; FALSE when it has no blank line ending its headers. */
static gboolean
part_between (const char *start, const char *next, Part *part)
{
  /* headers end at the first blank line */
  const char *blank = sfb_text_find_bytes (start, next - start, "\r\n\r\n", 4);
  const char *body = blank != NULL ? blank + 4 : NULL;
  gsize n;

  if (blank == NULL)
    {
      blank = sfb_text_find_bytes (start, next - start, "\n\n", 2);
      body = blank != NULL ? blank + 2 : NULL;
    }
  if (blank == NULL)
    return FALSE;
  n = next - body;
  /* the CRLF before the delimiter belongs to it */
  if (n >= 1 && body[n - 1] == '\n')
    n--;
  if (n >= 1 && body[n - 1] == '\r')
    n--;
  part_headers (part, start, blank - start);
  part->body = body;
  part->length = n;
  return TRUE;
}

static GArray *
split_multipart (const char *content_type, const char *data, gsize length, GError **error)
{
  g_autofree char *boundary = sfb_content_type_param (content_type, "boundary");
  g_autofree char *delimiter = NULL;
  g_autoptr (GArray) parts = g_array_new (FALSE, TRUE, sizeof (Part));
  const char *end = data + length;
  const char *p;
  gsize dlen;

  g_array_set_clear_func (parts, (GDestroyNotify) part_clear);
  if (boundary == NULL || *boundary == '\0' || strlen (boundary) > 70)
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The multipart message has no usable boundary");
      return NULL;
    }
  delimiter = g_strconcat ("--", boundary, NULL);
  dlen = strlen (delimiter);
  p = sfb_text_find_bytes (data, length, delimiter, dlen);
  while (p != NULL)
    {
      const char *start = p + dlen;
      const char *next;
      Part part = { 0 };

      if (end - start >= 2 && memcmp (start, "--", 2) == 0)
        break; /* the closing delimiter */
      next = sfb_text_find_bytes (start, end - start, delimiter, dlen);
      if (next == NULL)
        break;
      if (parts->len >= SFB_IM_MAX_PARTS)
        {
          g_set_error_literal (
              error, SFB_ERROR, SFB_ERROR_FAILED, "The multipart message has too many parts");
          return NULL;
        }
      if (part_between (start, next, &part))
        g_array_append_val (parts, part);
      p = next;
    }
  if (parts->len == 0)
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The multipart message has no parts");
      return NULL;
    }
  return g_steal_pointer (&parts);
}

static char *body_to_text (
    const char *content_type, const char *data, gsize length, guint depth, GError **error);

/* The best part of an alternative for plain text: plain, else HTML, else
 * RTF, else a nested alternative. */
static char *
multipart_to_text (
    const char *content_type, const char *data, gsize length, guint depth, GError **error)
{
  static const char *const preference[] = {
    "text/plain", "text/html", "text/rtf", "multipart/alternative", "multipart/related",
  };
  g_autoptr (GArray) parts = NULL;

  if (depth >= SFB_IM_MAX_DEPTH)
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The multipart message is nested too deep");
      return NULL;
    }
  parts = split_multipart (content_type, data, length, error);
  if (parts == NULL)
    return NULL;
  for (guint k = 0; k < G_N_ELEMENTS (preference); k++)
    for (guint i = 0; i < parts->len; i++)
      {
        Part *part = &g_array_index (parts, Part, i);
        g_autofree char *media = sfb_content_type_media (part->content_type);
        g_autoptr (GBytes) decoded = NULL;
        const char *body = part->body;
        gsize n = part->length;

        if (!g_str_equal (media, preference[k]))
          continue;
        if (g_strcmp0 (part->encoding, "base64") == 0)
          decoded = base64_decode (part->body, part->length);
        else if (g_strcmp0 (part->encoding, "quoted-printable") == 0)
          decoded = quoted_printable_decode (part->body, part->length);
        if (decoded != NULL)
          body = g_bytes_get_data (decoded, &n);
        else if (g_strcmp0 (part->encoding, "base64") == 0)
          continue;
        return body_to_text (part->content_type, body != NULL ? body : "", n, depth + 1, error);
      }
  g_set_error_literal (
      error, SFB_ERROR, SFB_ERROR_FAILED, "The multipart message has no text part");
  return NULL;
}

gboolean
sfb_im_is_text_type (const char *content_type)
{
  g_autofree char *media = sfb_content_type_media (content_type);

  return g_str_equal (media, "text/plain") || g_str_equal (media, "text/html")
         || g_str_equal (media, "text/rtf") || g_str_equal (media, "multipart/alternative")
         || g_str_equal (media, "multipart/related");
}

static char *
body_to_text (const char *content_type, const char *data, gsize length, guint depth, GError **error)
{
  g_autofree char *media = sfb_content_type_media (content_type);
  g_autofree char *charset = sfb_content_type_param (content_type, "charset");
  g_autofree char *utf8 = NULL;
  g_autofree char *text = NULL;

  if (length > SFB_IM_MAX_BODY)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The message is too large (%" G_GSIZE_FORMAT " bytes)",
                   length);
      return NULL;
    }
  if (g_str_has_prefix (media, "multipart/") && sfb_im_is_text_type (media))
    return multipart_to_text (content_type, data, length, depth, error);
  if (!sfb_im_is_text_type (media))
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_FAILED, "The message type is not text");
      return NULL;
    }
  utf8 = to_utf8 (data, length, charset);
  if (utf8 == NULL)
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The message's character set is not known");
      return NULL;
    }
  if (g_str_equal (media, "text/html"))
    text = html_to_text (utf8, strlen (utf8));
  else if (g_str_equal (media, "text/rtf"))
    text = rtf_to_text (utf8, strlen (utf8), error);
  else
    text = g_steal_pointer (&utf8);
  if (text == NULL)
    return NULL;
  return sfb_im_clean_text (text, -1);
}

char *
sfb_im_body_to_text (const char *content_type, const char *data, gsize length, GError **error)
{
  return body_to_text (content_type, data != NULL ? data : "", length, 0, error);
}

/* ---- Ms-Text-Format -------------------------------------------------- */

char *
sfb_im_text_format_build (const char *text)
{
  g_autofree char *body = NULL;

  if (strlen (text) > SFB_IM_MAX_EMBEDDED_TEXT)
    return NULL;
  body = g_base64_encode ((const guchar *) text, strlen (text));
  return g_strdup_printf ("text/plain; charset=UTF-8; ms-body=%s", body);
}

char *
sfb_im_text_format_parse (const char *value, GError **error)
{
  g_autofree char *body = sfb_content_type_param (value, "ms-body");
  g_autoptr (GBytes) decoded = NULL;
  const char *data;
  gsize n = 0;

  if (body == NULL)
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_FAILED, "Ms-Text-Format has no ms-body");
      return NULL;
    }
  decoded = base64_decode (body, strlen (body));
  if (decoded == NULL)
    {
      /* the %-encoded form */
      g_autofree char *unescaped = g_uri_unescape_string (body, NULL);

      if (unescaped == NULL)
        {
          g_set_error_literal (
              error, SFB_ERROR, SFB_ERROR_FAILED, "Ms-Text-Format's ms-body cannot be decoded");
          return NULL;
        }
      decoded = g_bytes_new (unescaped, strlen (unescaped));
    }
  data = g_bytes_get_data (decoded, &n);
  return sfb_im_body_to_text (value, data, n, error);
}

/* ---- typing ---------------------------------------------------------- */

int
sfb_im_typing_parse (const char *content_type, const char *data, gsize length)
{
  g_autofree char *media = sfb_content_type_media (content_type);
  g_autoptr (SfbXmlDoc) xml = NULL;
  SfbXmlNode *root;

  if (length == 0 || length > 16 * 1024)
    return -1;
  if (!g_str_equal (media, "") && !g_str_equal (media, "application/xml")
      && !g_str_equal (media, "text/xml") && !g_str_equal (media, "application/im-iscomposing+xml"))
    return -1;
  xml = sfb_svc_xml_parse (data, length, "typing", NULL);
  if (xml == NULL || (root = sfb_xml_doc_root (xml)) == NULL)
    return -1;
  if (sfb_svc_xml_is (root, "KeyboardActivity"))
    {
      SfbXmlNode *status = sfb_svc_xml_child (root, "status");
      g_autofree char *value = status != NULL ? sfb_svc_xml_attr (status, "status") : NULL;

      if (g_strcmp0 (value, "type") == 0)
        return 1;
      if (g_strcmp0 (value, "idle") == 0)
        return 0;
      return -1;
    }
  if (sfb_svc_xml_is (root, "isComposing"))
    {
      SfbXmlNode *state = sfb_svc_xml_child (root, "state");
      g_autofree char *value = state != NULL ? sfb_svc_xml_text (state) : NULL;

      if (g_strcmp0 (value, "active") == 0)
        return 1;
      if (g_strcmp0 (value, "idle") == 0)
        return 0;
    }
  return -1;
}

char *
sfb_im_typing_build (gboolean typing)
{
  return g_strdup_printf ("<?xml version=\"1.0\"?><KeyboardActivity> <status status=\"%s\" "
                          "/></KeyboardActivity>",
                          typing ? "type" : "idle");
}

/* ---- failures -------------------------------------------------------- */

static char *
diagnostics_reason (const char *value)
{
  const char *start;
  const char *end;

  if (value == NULL || (start = strstr (value, "reason=\"")) == NULL)
    return NULL;
  start += 8;
  end = strchr (start, '"');
  return sfb_text_quote (
      start, end != NULL ? end - start : -1, SFB_TEXT_QUOTE_MAX, SFB_TEXT_QUOTE_SPACES);
}

char *
sfb_im_failure_text (const char *uri,
                     guint code,
                     const char *reason,
                     const char *ms_diagnostics,
                     const char *warning)
{
  g_autofree char *safe_uri = sfb_text_quote (uri, -1, SFB_TEXT_QUOTE_MAX, SFB_TEXT_QUOTE_SPACES);
  g_autofree char *safe_reason
      = sfb_text_quote (reason, -1, SFB_TEXT_QUOTE_MAX, SFB_TEXT_QUOTE_SPACES);
  g_autofree char *why = diagnostics_reason (ms_diagnostics);
  const char *meaning;

  if (code == 606 && warning != NULL && g_str_has_prefix (warning, "309"))
    meaning = "was blocked by policy";
  else if (code == 500 || code == 503 || code == 504 || code == 603)
    meaning = "could not be delivered: the service is not available";
  else if (code == 486)
    meaning = "was not delivered: the recipient does not want to be disturbed";
  else if (code == 415 || code == 488)
    meaning = "was not delivered: the recipient does not support this type of message";
  else
    meaning = "was not delivered: the recipient is offline or unavailable";
  if (why != NULL && *why != '\0')
    return g_strdup_printf (
        "The message to %s %s (%u %s: %s)", safe_uri, meaning, code, safe_reason, why);
  return g_strdup_printf ("The message to %s %s (%u %s)", safe_uri, meaning, code, safe_reason);
}
