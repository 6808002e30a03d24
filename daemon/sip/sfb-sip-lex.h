/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private scanning helpers shared by the header value parsers (name-addr,
 * Via, auth parameters).  Values are length-delimited: a quoted-pair may
 * legally carry a NUL byte (RFC 3261 §25.1, RFC 4475 intmeth).
 */
#pragma once

#include <glib.h>

#include <string.h>

G_BEGIN_DECLS

/* ASCII letters only, as g_ascii_tolower() */
static inline char
sfb_sip_ascii_lower (char c)
{
  return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* g_ascii_strcasecmp (a, b) == 0, inline: names are compared on every
 * received message, GLib's call costs several times this loop, and the
 * names compared are mostly written alike */
static inline gboolean
sfb_sip_ascii_caseeq (const char *a, const char *b)
{
  for (;; a++, b++)
    {
      char x = *a, y = *b;

      if (x == y)
        {
          if (x == '\0')
            return TRUE;
          continue;
        }
      if (x >= 'A' && x <= 'Z')
        x = (char) (x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z')
        y = (char) (y - 'A' + 'a');
      if (x != y)
        return FALSE;
    }
}

/* generic-params per header element; more is an attack, not a header */
#define SFB_SIP_LEX_MAX_PARAMS 64

typedef struct
{
  const char *p;
  const char *end;
} SfbSipLex;

/* One allocation: the strings follow the struct (sfb_sip_param_new()) */
typedef struct
{
  char *name;
  char *value;     /* unquoted and unescaped; NULL when valueless */
  char *raw_value; /* byte-exact as in the message; NULL when valueless */
} SfbSipParam;

/* The per-byte scanners are inline: every received message's header
 * values go through them some two hundred times, and a call cost as much
 * as their work. */
extern const guint8 sfb_sip_token_chars[256];

static inline gboolean
sfb_sip_is_ws (guchar c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline gboolean
sfb_sip_is_token_char (guchar c)
{
  return sfb_sip_token_chars[c] != 0;
}

static inline gboolean
sfb_sip_is_token (const char *text, gsize len)
{
  if (len == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!sfb_sip_is_token_char ((guchar) text[i]))
        return FALSE;
    }
  return TRUE;
}

static inline void
sfb_sip_lex_init (SfbSipLex *lx, const char *text, gssize len)
{
  if (text == NULL)
    text = "";
  lx->p = text;
  lx->end = text + (len < 0 ? strlen (text) : (gsize) len);
}

static inline gboolean
sfb_sip_lex_at_end (const SfbSipLex *lx)
{
  return lx->p >= lx->end;
}

static inline gboolean
sfb_sip_lex_peek (const SfbSipLex *lx, char c)
{
  return lx->p < lx->end && *lx->p == c;
}

/* LWS: header values are unfolded, but a stray CRLF+WSP is harmless */
static inline void
sfb_sip_lex_skip_ws (SfbSipLex *lx)
{
  while (lx->p < lx->end && sfb_sip_is_ws ((guchar) *lx->p))
    lx->p++;
}

static inline gsize
sfb_sip_lex_token (SfbSipLex *lx, const char **start)
{
  const char *s = lx->p;

  while (lx->p < lx->end && sfb_sip_is_token_char ((guchar) *lx->p))
    lx->p++;
  if (start != NULL)
    *start = s;
  return (gsize) (lx->p - s);
}

gboolean sfb_sip_lex_quoted (SfbSipLex *lx, GString *out, GError **error);
/* The same, the value returned (as a C string: cut at a NUL, as the
 * GString's text would be read) */
char *sfb_sip_lex_quoted_dup (SfbSipLex *lx, GError **error);
/* The same, without a copy when the string has no escape: *value points
 * into the text (@value_len bytes); with escapes, into *scratch (made
 * when NULL, owned by the caller). */
gboolean sfb_sip_lex_quoted_view (
    SfbSipLex *lx, GString **scratch, const char **value, gsize *value_len, GError **error);

/* The text between '[' and ']' of a URI or Via host: an IPv6 address, and
 * after a '%' a zone of the characters an interface name holds (GLib alone
 * takes any bytes there: controls, invalid UTF-8). */
gboolean sfb_sip_is_ipv6_reference (const char *host);
char *sfb_sip_strdup_trimmed (const char *text, gsize len);

/* @value NULL: a valueless parameter (@raw ignored).  Each string is
 * copied as a C string: a NUL inside a value ends it for every reader,
 * as with the separate copies this replaced. */
SfbSipParam *sfb_sip_param_new (const char *name,
                                gsize name_len,
                                const char *value,
                                gsize value_len,
                                const char *raw,
                                gsize raw_len);
void sfb_sip_param_free (SfbSipParam *param);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbSipParam, sfb_sip_param_free)
GPtrArray *sfb_sip_params_new (void);
gboolean sfb_sip_params_parse (SfbSipLex *lx, GPtrArray *params, GError **error);
gboolean sfb_sip_params_check (SfbSipLex *lx, GError **error);
gboolean sfb_sip_params_check_find (
    SfbSipLex *lx, const char *name, const char **raw, gsize *raw_len, GError **error);
const SfbSipParam *sfb_sip_params_find (GPtrArray *params, const char *name);

G_END_DECLS
