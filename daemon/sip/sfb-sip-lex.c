/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "sfb-sip-lex.h"

#include "sfb-sip-error.h"

#include <string.h>

/* token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"),
 * one table look-up a byte: every header name and parameter of every
 * received message is scanned with it (test-sip-message compares it with
 * the definition for every byte).  The scanners that run per byte are
 * inline in sfb-sip-lex.h. */
const guint8 sfb_sip_token_chars[256] = {
  ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['-'] = 1, ['.'] = 1,
  ['!'] = 1,         ['%'] = 1,         ['*'] = 1,         ['_'] = 1, ['+'] = 1,
  ['`'] = 1,         ['\''] = 1,        ['~'] = 1,
};

static inline gboolean
is_token_char (guchar c)
{
  return sfb_sip_is_token_char (c);
}

gboolean
sfb_sip_is_ipv6_reference (const char *host)
{
  if (strchr (host, ':') == NULL)
    return FALSE;
  for (const char *p = host; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr (".:%-_", *p) == NULL)
      return FALSE;
  return g_hostname_is_ip_address (host);
}

char *
sfb_sip_strdup_trimmed (const char *text, gsize len)
{
  while (len > 0 && sfb_sip_is_ws ((guchar) text[0]))
    {
      text++;
      len--;
    }
  while (len > 0 && sfb_sip_is_ws ((guchar) text[len - 1]))
    len--;
  return g_strndup (text, len);
}

/* quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE; out gets the
 * unescaped content, which may hold NUL bytes */
gboolean
sfb_sip_lex_quoted (SfbSipLex *lx, GString *out, GError **error)
{
  if (!sfb_sip_lex_peek (lx, '"'))
    {
      g_set_error_literal (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED, "expected '\"'");
      return FALSE;
    }
  lx->p++;
  while (lx->p < lx->end)
    {
      char c = *lx->p++;

      if (c == '"')
        return TRUE;
      if (c == '\\')
        {
          if (lx->p >= lx->end || *lx->p == '\r' || *lx->p == '\n')
            break;
          c = *lx->p++;
        }
      if (out != NULL)
        g_string_append_c (out, c);
    }
  g_set_error_literal (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED, "unterminated quoted string");
  return FALSE;
}

gboolean
sfb_sip_lex_quoted_view (
    SfbSipLex *lx, GString **scratch, const char **value, gsize *value_len, GError **error)
{
  /* without an escape, the bytes between the quotes: no GString grown a
   * byte at a time (a signed message's Authentication-Info has seven);
   * the closing quote and an escape before it found by memchr () */
  if (sfb_sip_lex_peek (lx, '"'))
    {
      const char *start = lx->p + 1;
      const char *quote = memchr (start, '"', (gsize) (lx->end - start));

      if (quote != NULL && memchr (start, '\\', (gsize) (quote - start)) == NULL)
        {
          *value = start;
          *value_len = (gsize) (quote - start);
          lx->p = quote + 1;
          return TRUE;
        }
    }
  if (*scratch == NULL)
    *scratch = g_string_new (NULL);
  g_string_truncate (*scratch, 0);
  if (!sfb_sip_lex_quoted (lx, *scratch, error))
    return FALSE;
  *value = (*scratch)->str;
  *value_len = (*scratch)->len;
  return TRUE;
}

char *
sfb_sip_lex_quoted_dup (SfbSipLex *lx, GError **error)
{
  g_autoptr (GString) scratch = NULL;
  const char *value;
  gsize len;

  if (!sfb_sip_lex_quoted_view (lx, &scratch, &value, &len, error))
    return NULL;
  /* the GString's text up to its first NUL, as it was read before */
  return g_strndup (value, len);
}

/* @len bytes of @text and a NUL at @dest; the byte after them */
static char *
put_string (char *dest, const char *text, gsize len)
{
  memcpy (dest, text, len);
  dest[len] = '\0';
  return dest + len + 1;
}

SfbSipParam *
sfb_sip_param_new (const char *name,
                   gsize name_len,
                   const char *value,
                   gsize value_len,
                   const char *raw,
                   gsize raw_len)
{
  gsize size = sizeof (SfbSipParam);
  SfbSipParam *param;
  char *p;

  /* the lengths are of bytes in one message, far below any overflow;
   * checked all the same */
  if (!g_size_checked_add (&size, size, name_len) || !g_size_checked_add (&size, size, 1)
      || (value != NULL
          && (!g_size_checked_add (&size, size, value_len)
              || !g_size_checked_add (&size, size, raw_len)
              || !g_size_checked_add (&size, size, 2))))
    g_error ("SIP parameter too large");
  param = g_malloc (size);
  p = put_string ((char *) (param + 1), name, name_len);
  param->name = (char *) (param + 1);
  param->value = NULL;
  param->raw_value = NULL;
  if (value != NULL)
    {
      param->value = p;
      p = put_string (p, value, value_len);
      param->raw_value = p;
      put_string (p, raw, raw_len);
    }
  return param;
}

void
sfb_sip_param_free (SfbSipParam *param)
{
  g_free (param); /* one block */
}

GPtrArray *
sfb_sip_params_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_sip_param_free);
}

/* gen-value = token / host / quoted-string; host adds ':' and IPv6 '[' ']' */
static gboolean
is_gen_value_char (guchar c)
{
  return is_token_char (c) || c == ':' || c == '[' || c == ']';
}

/* The value after '=': *value and *value_len unquoted and unescaped,
 * *raw and *raw_len as written. */
static gboolean
parse_param_value (SfbSipLex *lx,
                   const char *name,
                   int name_len,
                   GString **scratch,
                   const char **value,
                   gsize *value_len,
                   const char **raw,
                   gsize *raw_len,
                   GError **error)
{
  const char *start = lx->p;

  if (sfb_sip_lex_peek (lx, '"'))
    {
      if (!sfb_sip_lex_quoted_view (lx, scratch, value, value_len, error))
        {
          g_prefix_error (error, "parameter '%.*s': ", name_len, name);
          return FALSE;
        }
    }
  else
    {
      while (lx->p < lx->end && is_gen_value_char ((guchar) *lx->p))
        lx->p++;
      if (lx->p == start)
        {
          g_set_error (error,
                       SFB_SIP_ERROR,
                       SFB_SIP_ERROR_MALFORMED,
                       "parameter '%.*s' has an empty value",
                       name_len,
                       name);
          return FALSE;
        }
      *value = start;
      *value_len = (gsize) (lx->p - start);
    }
  *raw = start;
  *raw_len = (gsize) (lx->p - start);
  return TRUE;
}

/* Checking only: the parameters counted, and the first called @want (any
 * case) found, its raw value a view into the text ("" when valueless) */
typedef struct
{
  guint count;
  const char *want;
  const char *raw;
  gsize raw_len;
} ParamsCheck;

static void
check_take (ParamsCheck *check, const char *name, gsize name_len, const char *raw, gsize raw_len)
{
  check->count++;
  if (check->want == NULL || check->raw != NULL || strlen (check->want) != name_len
      || g_ascii_strncasecmp (name, check->want, name_len) != 0)
    return;
  check->raw = raw != NULL ? raw : "";
  check->raw_len = raw_len;
}

/* into @params, or, when NULL, counted in @check and checked only */
static gboolean
parse_one_param (SfbSipLex *lx, GPtrArray *params, ParamsCheck *check, GError **error)
{
  g_autoptr (GString) scratch = NULL;
  const char *name, *value = NULL, *raw = NULL;
  gsize name_len, value_len = 0, raw_len = 0;

  sfb_sip_lex_skip_ws (lx);
  name_len = sfb_sip_lex_token (lx, &name);
  if (name_len == 0)
    {
      g_set_error_literal (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED, "empty parameter name");
      return FALSE;
    }
  if ((params != NULL ? params->len : check->count) >= SFB_SIP_LEX_MAX_PARAMS)
    {
      g_set_error (error,
                   SFB_SIP_ERROR,
                   SFB_SIP_ERROR_TOO_LARGE,
                   "more than %d parameters",
                   SFB_SIP_LEX_MAX_PARAMS);
      return FALSE;
    }
  sfb_sip_lex_skip_ws (lx);
  if (sfb_sip_lex_peek (lx, '='))
    {
      lx->p++;
      sfb_sip_lex_skip_ws (lx);
      if (!parse_param_value (lx,
                              name,
                              (int) MIN (name_len, G_MAXINT),
                              &scratch,
                              &value,
                              &value_len,
                              &raw,
                              &raw_len,
                              error))
        return FALSE;
    }
  if (params == NULL)
    check_take (check, name, name_len, raw, raw_len);
  else
    g_ptr_array_add (params, sfb_sip_param_new (name, name_len, value, value_len, raw, raw_len));
  return TRUE;
}

/* *( SEMI generic-param ); stops before ',' (the next list element) or at
 * the end */
static gboolean
params_parse (SfbSipLex *lx, GPtrArray *params, ParamsCheck *check, GError **error)
{
  for (;;)
    {
      sfb_sip_lex_skip_ws (lx);
      if (sfb_sip_lex_at_end (lx) || sfb_sip_lex_peek (lx, ','))
        return TRUE;
      if (!sfb_sip_lex_peek (lx, ';'))
        {
          g_set_error (error,
                       SFB_SIP_ERROR,
                       SFB_SIP_ERROR_MALFORMED,
                       "unexpected character '%c' where ';' was expected",
                       g_ascii_isprint (*lx->p) ? *lx->p : '?');
          return FALSE;
        }
      lx->p++;
      if (!parse_one_param (lx, params, check, error))
        return FALSE;
    }
}

gboolean
sfb_sip_params_parse (SfbSipLex *lx, GPtrArray *params, GError **error)
{
  g_return_val_if_fail (params != NULL, FALSE);
  return params_parse (lx, params, NULL, error);
}

/* sfb_sip_params_parse()'s verdict and position, nothing kept */
gboolean
sfb_sip_params_check (SfbSipLex *lx, GError **error)
{
  ParamsCheck check = { 0 };

  return params_parse (lx, NULL, &check, error);
}

/* sfb_sip_params_check () that also finds the first parameter called
 * @name (any case): *raw its value byte-exact ("" when valueless, NULL
 * when absent), a view into the text */
gboolean
sfb_sip_params_check_find (
    SfbSipLex *lx, const char *name, const char **raw, gsize *raw_len, GError **error)
{
  ParamsCheck check = { 0, name, NULL, 0 };

  if (!params_parse (lx, NULL, &check, error))
    return FALSE;
  *raw = check.raw;
  *raw_len = check.raw_len;
  return TRUE;
}

const SfbSipParam *
sfb_sip_params_find (GPtrArray *params, const char *name)
{
  for (guint i = 0; params != NULL && i < params->len; i++)
    {
      const SfbSipParam *param = g_ptr_array_index (params, i);

      if (sfb_sip_ascii_caseeq (param->name, name))
        return param;
    }
  return NULL;
}
