/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-text.h"

#include "sfb-error.h"

#include <string.h>

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026 */

static gboolean
is_bidi (gunichar c)
{
  return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e)
         || (c >= 0x2066 && c <= 0x2069);
}

gboolean
sfb_text_is_unsafe_char (gunichar c)
{
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
    return TRUE;
  /* Bidi: ALM, LRM, RLM, embeddings and overrides, isolates */
  if (is_bidi (c))
    return TRUE;
  if (c == 0x2028 || c == 0x2029)
    return TRUE;
  /* Non-characters: U+FDD0..U+FDEF and the last two of every plane */
  return (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe;
}

gboolean
sfb_text_is_xml_char (gunichar c)
{
  return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff)
         || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* Zero-width spaces and joiners and the byte-order mark: invisible in one
 * line shown to a person, so quoted text drops them with the blanks. */
static gboolean
is_invisible (gunichar c)
{
  return (c >= 0x200b && c <= 0x200d) || c == 0xfeff;
}

/* In the display form; U+FFFD too (invalid bytes, or text quoted before),
 * so that quoting text twice shows what quoting it once does. */
static gboolean
is_blank (gunichar c)
{
  return c == ' ' || c == 0xfffd || sfb_text_is_unsafe_char (c) || is_invisible (c);
}

char *
sfb_text_quote (const char *text, gssize length, gsize max_chars, SfbTextQuoteFlags flags)
{
  gboolean spaces = (flags & SFB_TEXT_QUOTE_SPACES) != 0;
  /* a character is at most 4 bytes: nothing past this bound can be shown */
  gsize bound = max_chars < G_MAXSIZE / 8 ? max_chars * 4 + 4 : G_MAXSIZE;
  g_autoptr (GString) out = NULL;
  gsize n, i = 0, chars = 0;
  gboolean space = FALSE;

  if (text == NULL || (spaces && max_chars == 0))
    return g_strdup ("");
  n = length < 0 ? strnlen (text, bound) : MIN ((gsize) length, bound);
  out = g_string_sized_new (MIN (n, max_chars * 4) + 4);
  while (i < n)
    {
      gunichar c = g_utf8_get_char_validated (text + i, (gssize) (n - i));

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          c = 0xfffd;
          i++;
        }
      else
        i += (gsize) g_unichar_to_utf8 (c, NULL);
      if (spaces && is_blank (c))
        {
          space = out->len > 0;
          continue;
        }
      if (chars + (space ? 1 : 0) >= max_chars)
        {
          g_string_append (out, ELLIPSIS);
          break;
        }
      if (space)
        {
          g_string_append_c (out, ' ');
          chars++;
          space = FALSE;
        }
      g_string_append_unichar (out, sfb_text_is_unsafe_char (c) ? 0xfffd : c);
      chars++;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
sfb_text_quote_untrusted (const char *text, gssize length, gsize max_chars)
{
  return sfb_text_quote (text, length, max_chars, SFB_TEXT_QUOTE_REPLACE);
}

static gboolean
allowed (gunichar c, SfbTextFlags flags)
{
  if ((flags & SFB_TEXT_MULTI_LINE) && (c == '\n' || c == '\t' || c == 0x2028 || c == 0x2029))
    return TRUE;
  if ((flags & SFB_TEXT_ALLOW_BIDI) && is_bidi (c))
    return TRUE;
  return !sfb_text_is_unsafe_char (c);
}

gboolean
sfb_text_check_argument (
    const char *what, const char *text, gsize max_bytes, SfbTextFlags flags, GError **error)
{
  gsize n = strlen (text);
  g_autofree char *shown = NULL;
  const char *end;

  if (n > max_bytes)
    {
      shown = sfb_text_quote_untrusted (text, (gssize) n, SFB_TEXT_QUOTE_MAX);
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "%s is too long (%" G_GSIZE_FORMAT " bytes, at most %" G_GSIZE_FORMAT "): “%s”",
                   what,
                   n,
                   max_bytes,
                   shown);
      return FALSE;
    }
  if (!g_utf8_validate (text, (gssize) n, &end))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "%s is not valid UTF-8 (at byte %" G_GSIZE_FORMAT ")",
                   what,
                   (gsize) (end - text));
      return FALSE;
    }
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!allowed (c, flags))
        {
          shown = sfb_text_quote_untrusted (text, (gssize) n, SFB_TEXT_QUOTE_MAX);
          g_set_error (error,
                       SFB_ERROR,
                       SFB_ERROR_INVALID_ARGS,
                       "%s contains the control or formatting character U+%04X at "
                       "character %ld: “%s”",
                       what,
                       c,
                       g_utf8_pointer_to_offset (text, p) + 1,
                       shown);
          return FALSE;
        }
    }
  return TRUE;
}

/* memmem(), looking first at the bytes equal to the needle's first with
 * memchr(): glibc's memmem() sets up a table per call, which costs more
 * than scanning the parts of a multipart body.  Once the candidates
 * that fail have cost more than the bytes passed (hostile input: the first
 * byte everywhere), memmem() takes the rest, so the search stays linear. */
const char *
sfb_text_find_bytes (const char *hay, gsize hay_len, const char *needle, gsize needle_len)
{
  const char *end = hay + hay_len;
  const char *p = hay;
  gsize spent = 0;

  if (needle_len == 0 || needle_len > hay_len)
    return needle_len == 0 ? hay : NULL;
  while ((gsize) (end - p) >= needle_len)
    {
      const char *c = memchr (p, needle[0], end - p - (needle_len - 1));

      if (c == NULL)
        return NULL;
      if (memcmp (c + 1, needle + 1, needle_len - 1) == 0)
        return c;
      spent += needle_len;
      p = c + 1;
      if (spent > (gsize) (p - hay) + 256)
        return memmem (p, end - p, needle, needle_len);
    }
  return NULL;
}
