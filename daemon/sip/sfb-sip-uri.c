/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "sfb-sip-uri.h"

#include "sfb-sip-error.h"
#include "sfb-sip-lex.h"

#include <string.h>

/* more list elements than this in one header is an attack, not a list */
#define MAX_LIST_ELEMENTS 256

typedef struct
{
  char *name;
  char *value; /* NULL when valueless */
} UriPair;

struct _SfbSipUri
{
  char *text;
  SfbSipUriScheme scheme;
  char *user_raw;
  char *user;
  gsize user_len;
  char *password;
  char *host;
  gboolean ipv6;
  guint16 port;
  GPtrArray *params;  /* NULL until the first one */
  GPtrArray *headers; /* NULL until the first one */
  guint n_params;
  guint n_headers;
  gboolean check_only; /* sfb_sip_uri_check(): verdicts and counts, no strings kept */
};

struct _SfbSipNameAddr
{
  char *display;
  gsize display_len;
  char *uri;
  gboolean bracketed;
  GPtrArray *params;
};

/* Character classes of RFC 3261 §25.1 */
#define USER_UNRESERVED "&=+$,;?/"
#define PASSWORD_CHARS "&=+$,"
#define PARAM_UNRESERVED "[]/:&+$"
#define HNV_UNRESERVED "[]/?:+$"
#define TEL_CHARS "+-.()*#%"

static gboolean
is_unreserved (guchar c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("-_.!~*'()", c) != NULL);
}

static gboolean
is_in_class (guchar c, const char *extra)
{
  return is_unreserved (c) || c == '%' || (c != '\0' && strchr (extra, c) != NULL);
}

static const char *
scan_class (const char *p, const char *end, const char *extra)
{
  while (p < end && is_in_class ((guchar) *p, extra))
    p++;
  return p;
}

static int
hex_value (guchar c)
{
  return g_ascii_isxdigit (c) ? g_ascii_xdigit_value (c) : -1;
}

static gboolean
escape_error (GError **error, gsize offset)
{
  g_set_error (error,
               SFB_SIP_ERROR,
               SFB_SIP_ERROR_MALFORMED,
               "invalid escape sequence at offset %" G_GSIZE_FORMAT,
               offset);
  return FALSE;
}

/* sfb_sip_uri_unescape()'s verdict and decoded length, nothing copied */
static gboolean
check_escapes (const char *text, gsize n, gsize *out_len, GError **error)
{
  gsize decoded = 0;

  for (gsize i = 0; i < n; i++, decoded++)
    {
      if (text[i] != '%')
        continue;
      if (i + 2 >= n || hex_value ((guchar) text[i + 1]) < 0
          || hex_value ((guchar) text[i + 2]) < 0)
        return escape_error (error, i);
      i += 2;
    }
  if (out_len != NULL)
    *out_len = decoded;
  return TRUE;
}

/* *out the unescaped text, or, checking only, nothing (out left NULL) */
static gboolean
unescape_into (
    SfbSipUri *uri, const char *text, gsize n, char **out, gsize *out_len, GError **error)
{
  if (uri->check_only)
    return check_escapes (text, n, out_len, error);
  *out = sfb_sip_uri_unescape (text, (gssize) n, out_len, error);
  return *out != NULL;
}

char *
sfb_sip_uri_unescape (const char *text, gssize len, gsize *out_len, GError **error)
{
  g_autoptr (GString) out = NULL;
  gsize n;

  g_return_val_if_fail (text != NULL, NULL);

  n = len < 0 ? strlen (text) : (gsize) len;
  if (memchr (text, '%', n) == NULL)
    {
      /* nothing escaped (nearly every URI): the bytes as they are, in one
       * block, as the loop below would give them (NUL bytes included) */
      char *copy = g_malloc (n + 1);

      memcpy (copy, text, n);
      copy[n] = '\0';
      if (out_len != NULL)
        *out_len = n;
      return copy;
    }
  out = g_string_sized_new (n);
  for (gsize i = 0; i < n; i++)
    {
      int hi, lo;

      if (text[i] != '%')
        {
          g_string_append_c (out, text[i]);
          continue;
        }
      hi = i + 2 < n ? hex_value ((guchar) text[i + 1]) : -1;
      lo = i + 2 < n ? hex_value ((guchar) text[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        {
          escape_error (error, i);
          return NULL;
        }
      g_string_append_c (out, (char) (hi << 4 | lo));
      i += 2;
    }
  if (out_len != NULL)
    *out_len = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
uri_pair_free (UriPair *pair)
{
  g_free (pair->name);
  g_free (pair->value);
  g_free (pair);
}

static void
uri_clear (SfbSipUri *uri)
{
  g_free (uri->text);
  g_free (uri->user_raw);
  g_free (uri->user);
  g_free (uri->password);
  g_free (uri->host);
  g_clear_pointer (&uri->params, g_ptr_array_unref);
  g_clear_pointer (&uri->headers, g_ptr_array_unref);
}

void
sfb_sip_uri_free (SfbSipUri *uri)
{
  if (uri == NULL)
    return;
  uri_clear (uri);
  g_free (uri);
}

static gboolean
set_malformed (GError **error, const char *what)
{
  g_set_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED, "%s in URI", what);
  return FALSE;
}

static gboolean
parse_userinfo (SfbSipUri *uri, const char *s, const char *at, GError **error)
{
  const char *colon = memchr (s, ':', at - s);
  const char *user_end = colon != NULL ? colon : at;
  g_autofree char *password = NULL;

  if (user_end == s || scan_class (s, user_end, USER_UNRESERVED) != user_end)
    return set_malformed (error, "empty or invalid user part");
  if (colon != NULL)
    {
      if (scan_class (colon + 1, at, PASSWORD_CHARS) != at)
        return set_malformed (error, "invalid password part");
      if (!unescape_into (uri, colon + 1, at - colon - 1, &password, NULL, error))
        return FALSE;
    }
  if (!unescape_into (uri, s, user_end - s, &uri->user, &uri->user_len, error))
    return FALSE;
  if (!uri->check_only)
    uri->user_raw = g_strndup (s, user_end - s);
  uri->password = g_steal_pointer (&password);
  return TRUE;
}

static const char *
parse_port (SfbSipUri *uri, const char *p, const char *end, GError **error)
{
  guint port = 0;
  const char *start = ++p;

  while (p < end && g_ascii_isdigit (*p) && p - start < 6)
    port = port * 10 + (guint) (*p++ - '0');
  if (p == start || port > G_MAXUINT16)
    {
      set_malformed (error, "invalid port");
      return NULL;
    }
  uri->port = (guint16) port;
  return p;
}

static const char *
parse_hostport (SfbSipUri *uri, const char *p, const char *end, GError **error)
{
  const char *start = p;

  if (p < end && *p == '[')
    {
      const char *close = memchr (p, ']', end - p);

      if (close == NULL)
        {
          set_malformed (error, "unterminated IPv6 reference");
          return NULL;
        }
      uri->host = g_strndup (p + 1, close - p - 1);
      uri->ipv6 = TRUE;
      if (!sfb_sip_is_ipv6_reference (uri->host))
        {
          set_malformed (error, "invalid IPv6 reference");
          return NULL;
        }
      p = close + 1;
    }
  else
    {
      while (p < end && (g_ascii_isalnum (*p) || *p == '-' || *p == '.' || *p == '_'))
        p++;
      if (p == start)
        {
          set_malformed (error, "empty host");
          return NULL;
        }
      if (!uri->check_only)
        uri->host = g_strndup (start, p - start);
    }
  if (p < end && *p == ':')
    return parse_port (uri, p, end, error);
  return p;
}

/* name [ "=" value ]; each side unescaped, names kept as written; *into
 * is made with its first pair (most URIs have no parameters or headers) */
static gboolean
parse_pair (SfbSipUri *uri,
            const char *start,
            const char *end,
            gboolean need_value,
            GPtrArray **into,
            guint *count,
            GError **error)
{
  const char *eq = memchr (start, '=', end - start);
  const char *name_end = eq != NULL ? eq : end;
  UriPair *pair;
  g_autofree char *name = NULL;
  g_autofree char *value = NULL;

  if (name_end == start || (need_value && eq == NULL)
      || (eq != NULL && !need_value && eq + 1 == end)
      || (eq != NULL && memchr (eq + 1, '=', end - eq - 1) != NULL))
    {
      g_set_error_literal (
          error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED, "empty parameter or header in URI");
      return FALSE;
    }
  if (*count >= SFB_SIP_LEX_MAX_PARAMS)
    {
      g_set_error (error,
                   SFB_SIP_ERROR,
                   SFB_SIP_ERROR_TOO_LARGE,
                   "more than %d parameters or headers in URI",
                   SFB_SIP_LEX_MAX_PARAMS);
      return FALSE;
    }
  if (!unescape_into (uri, start, name_end - start, &name, NULL, error))
    return FALSE;
  if (eq != NULL && !unescape_into (uri, eq + 1, end - eq - 1, &value, NULL, error))
    return FALSE;
  ++*count;
  if (uri->check_only)
    return TRUE;
  pair = g_new0 (UriPair, 1);
  pair->name = g_steal_pointer (&name);
  pair->value = g_steal_pointer (&value);
  if (*into == NULL)
    *into = g_ptr_array_new_with_free_func ((GDestroyNotify) uri_pair_free);
  g_ptr_array_add (*into, pair);
  return TRUE;
}

/* *( ";" uri-parameter ); '=' is not a paramchar, so scan to the next one */
static const char *
parse_params (SfbSipUri *uri, const char *p, const char *end, GError **error)
{
  while (p < end && *p == ';')
    {
      const char *start = ++p;

      while (p < end && (is_in_class ((guchar) *p, PARAM_UNRESERVED) || *p == '='))
        p++;
      if (!parse_pair (uri, start, p, FALSE, &uri->params, &uri->n_params, error))
        return NULL;
    }
  return p;
}

/* "?" header *( "&" header ); hvalue may be empty */
static const char *
parse_headers (SfbSipUri *uri, const char *p, const char *end, GError **error)
{
  if (p >= end || *p != '?')
    return p;
  do
    {
      const char *start = ++p;

      while (p < end && (is_in_class ((guchar) *p, HNV_UNRESERVED) || *p == '='))
        p++;
      if (!parse_pair (uri, start, p, TRUE, &uri->headers, &uri->n_headers, error))
        return NULL;
    }
  while (p < end && *p == '&');
  return p;
}

static gboolean
parse_sip (SfbSipUri *uri, const char *s, const char *end, GError **error)
{
  const char *at = memchr (s, '@', end - s);
  const char *p = s;

  /* the user part may hold ';' and '?', but neither params nor headers
   * may hold a bare '@': the first '@' ends the userinfo */
  if (at != NULL)
    {
      if (!parse_userinfo (uri, s, at, error))
        return FALSE;
      p = at + 1;
    }
  p = parse_hostport (uri, p, end, error);
  if (p != NULL)
    p = parse_params (uri, p, end, error);
  if (p != NULL)
    p = parse_headers (uri, p, end, error);
  if (p == NULL)
    return FALSE;
  if (p != end)
    return set_malformed (error, "unexpected character");
  return TRUE;
}

static gboolean
parse_tel (SfbSipUri *uri, const char *s, const char *end, GError **error)
{
  const char *p = s;

  while (p < end && (g_ascii_isalnum (*p) || (*p != '\0' && strchr (TEL_CHARS, *p) != NULL)))
    p++;
  if (p == s)
    return set_malformed (error, "empty telephone number");
  if (!uri->check_only)
    uri->user_raw = g_strndup (s, p - s);
  if (!unescape_into (uri, s, p - s, &uri->user, &uri->user_len, error))
    return FALSE;
  p = parse_params (uri, p, end, error);
  if (p == NULL)
    return FALSE;
  if (p != end)
    return set_malformed (error, "unexpected character");
  return TRUE;
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ); returns the ':' */
static const char *
scan_scheme (const char *text, const char *end)
{
  const char *p = text;

  if (p >= end || !g_ascii_isalpha (*p))
    return NULL;
  while (p < end && (g_ascii_isalnum (*p) || *p == '+' || *p == '-' || *p == '.'))
    p++;
  return p < end && *p == ':' ? p : NULL;
}

static gboolean
parse_scheme (SfbSipUri *uri, const char *text, gsize n, const char **rest, GError **error)
{
  const char *colon = scan_scheme (text, text + n);
  gsize len;

  if (colon == NULL)
    return set_malformed (error, "missing or invalid scheme");
  len = colon - text;
  if (len == 3 && g_ascii_strncasecmp (text, "sip", 3) == 0)
    uri->scheme = SFB_SIP_URI_SCHEME_SIP;
  else if (len == 4 && g_ascii_strncasecmp (text, "sips", 4) == 0)
    uri->scheme = SFB_SIP_URI_SCHEME_SIPS;
  else if (len == 3 && g_ascii_strncasecmp (text, "tel", 3) == 0)
    uri->scheme = SFB_SIP_URI_SCHEME_TEL;
  else
    {
      g_autofree char *scheme = g_strndup (text, MIN (len, 32));

      g_set_error (error,
                   SFB_SIP_ERROR,
                   SFB_SIP_ERROR_UNSUPPORTED_SCHEME,
                   "unsupported URI scheme '%s'",
                   scheme);
      return FALSE;
    }
  *rest = colon + 1;
  return TRUE;
}

static gboolean
parse_uri (SfbSipUri *uri, const char *text, gsize n, GError **error)
{
  const char *rest;

  if (memchr (text, '\0', n) != NULL)
    return set_malformed (error, "NUL byte");
  if (!parse_scheme (uri, text, n, &rest, error))
    return FALSE;
  if (uri->scheme == SFB_SIP_URI_SCHEME_TEL)
    return parse_tel (uri, rest, text + n, error);
  return parse_sip (uri, rest, text + n, error);
}

SfbSipUri *
sfb_sip_uri_parse (const char *text, gssize len, GError **error)
{
  g_autoptr (SfbSipUri) uri = g_new0 (SfbSipUri, 1);
  gsize n;

  g_return_val_if_fail (text != NULL, NULL);

  n = len < 0 ? strlen (text) : (gsize) len;
  uri->text = g_strndup (text, n);
  if (!parse_uri (uri, text, n, error))
    return NULL;
  return g_steal_pointer (&uri);
}

/* sfb_sip_uri_parse()'s verdict (the same error) and the number of
 * headers, without building the URI: validation checks every request's
 * Request-URI and keeps nothing of it */
gboolean
sfb_sip_uri_check (const char *text, gssize len, guint *n_headers, GError **error)
{
  SfbSipUri uri = { 0 };
  gboolean ok;

  g_return_val_if_fail (text != NULL, FALSE);

  uri.check_only = TRUE;
  ok = parse_uri (&uri, text, len < 0 ? strlen (text) : (gsize) len, error);
  if (ok && n_headers != NULL)
    *n_headers = uri.n_headers;
  uri_clear (&uri); /* an IPv6 host, checked as a string */
  return ok;
}

const char *
sfb_sip_uri_to_string (const SfbSipUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);
  return uri->text;
}

SfbSipUriScheme
sfb_sip_uri_get_scheme (const SfbSipUri *uri)
{
  g_return_val_if_fail (uri != NULL, SFB_SIP_URI_SCHEME_SIP);
  return uri->scheme;
}

/* for tel: URIs, the telephone-subscriber (number) */
const char *
sfb_sip_uri_get_user (const SfbSipUri *uri, gsize *len)
{
  g_return_val_if_fail (uri != NULL, NULL);
  if (len != NULL)
    *len = uri->user_len;
  return uri->user;
}

const char *
sfb_sip_uri_get_user_raw (const SfbSipUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);
  return uri->user_raw;
}

const char *
sfb_sip_uri_get_password (const SfbSipUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);
  return uri->password;
}

/* without the brackets of an IPv6 reference; NULL for tel: */
const char *
sfb_sip_uri_get_host (const SfbSipUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);
  return uri->host;
}

gboolean
sfb_sip_uri_host_is_ipv6 (const SfbSipUri *uri)
{
  g_return_val_if_fail (uri != NULL, FALSE);
  return uri->ipv6;
}

guint16
sfb_sip_uri_get_port (const SfbSipUri *uri)
{
  g_return_val_if_fail (uri != NULL, 0);
  return uri->port;
}

/* @pairs NULL: none */
static const UriPair *
pair_at (GPtrArray *pairs, guint index)
{
  g_return_val_if_fail (pairs != NULL && index < pairs->len, NULL);
  return g_ptr_array_index (pairs, index);
}

static const UriPair *
pair_find (GPtrArray *pairs, const char *name)
{
  for (guint i = 0; pairs != NULL && i < pairs->len; i++)
    {
      const UriPair *pair = g_ptr_array_index (pairs, i);

      if (g_ascii_strcasecmp (pair->name, name) == 0)
        return pair;
    }
  return NULL;
}

guint
sfb_sip_uri_get_n_params (const SfbSipUri *uri)
{
  g_return_val_if_fail (uri != NULL, 0);
  return uri->params != NULL ? uri->params->len : 0;
}

const char *
sfb_sip_uri_get_param_name (const SfbSipUri *uri, guint index)
{
  const UriPair *pair;

  g_return_val_if_fail (uri != NULL, NULL);
  pair = pair_at (uri->params, index);
  return pair != NULL ? pair->name : NULL;
}

/* NULL for a valueless parameter such as "lr" */
const char *
sfb_sip_uri_get_param_value (const SfbSipUri *uri, guint index)
{
  const UriPair *pair;

  g_return_val_if_fail (uri != NULL, NULL);
  pair = pair_at (uri->params, index);
  return pair != NULL ? pair->value : NULL;
}

gboolean
sfb_sip_uri_has_param (const SfbSipUri *uri, const char *name)
{
  g_return_val_if_fail (uri != NULL && name != NULL, FALSE);
  return pair_find (uri->params, name) != NULL;
}

/* case-insensitive name; "" for a valueless parameter, NULL when absent */
const char *
sfb_sip_uri_get_param (const SfbSipUri *uri, const char *name)
{
  const UriPair *pair;

  g_return_val_if_fail (uri != NULL && name != NULL, NULL);
  pair = pair_find (uri->params, name);
  if (pair == NULL)
    return NULL;
  return pair->value != NULL ? pair->value : "";
}

guint
sfb_sip_uri_get_n_headers (const SfbSipUri *uri)
{
  g_return_val_if_fail (uri != NULL, 0);
  return uri->headers != NULL ? uri->headers->len : 0;
}

const char *
sfb_sip_uri_get_header_name (const SfbSipUri *uri, guint index)
{
  const UriPair *pair;

  g_return_val_if_fail (uri != NULL, NULL);
  pair = pair_at (uri->headers, index);
  return pair != NULL ? pair->name : NULL;
}

const char *
sfb_sip_uri_get_header_value (const SfbSipUri *uri, guint index)
{
  const UriPair *pair;

  g_return_val_if_fail (uri != NULL, NULL);
  pair = pair_at (uri->headers, index);
  return pair != NULL ? pair->value : NULL;
}

const char *
sfb_sip_uri_get_header (const SfbSipUri *uri, const char *name)
{
  const UriPair *pair;

  g_return_val_if_fail (uri != NULL && name != NULL, NULL);
  pair = pair_find (uri->headers, name);
  return pair != NULL ? pair->value : NULL;
}

/* name-addr / addr-spec */

void
sfb_sip_name_addr_free (SfbSipNameAddr *addr)
{
  if (addr == NULL)
    return;
  g_free (addr->display);
  g_free (addr->uri);
  g_clear_pointer (&addr->params, g_ptr_array_unref);
  g_free (addr);
}

static gboolean
addr_error (GError **error, const char *what)
{
  g_set_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED, "%s in address", what);
  return FALSE;
}

static gboolean
parse_quoted_display (SfbSipLex *lx, SfbSipNameAddr *addr, GError **error)
{
  g_autoptr (GString) display = g_string_new (NULL);

  if (!sfb_sip_lex_quoted (lx, display, error))
    return FALSE;
  addr->display_len = display->len;
  addr->display = g_string_free (g_steal_pointer (&display), FALSE);
  return TRUE;
}

/* display-name = *(token LWS) / quoted-string, followed by "<"; checked
 * only when @addr is NULL */
static gboolean
parse_display_name (SfbSipLex *lx, SfbSipNameAddr *addr, GError **error)
{
  const char *start = lx->p;

  if (sfb_sip_lex_peek (lx, '"'))
    {
      if (!(addr != NULL ? parse_quoted_display (lx, addr, error)
                         : sfb_sip_lex_quoted (lx, NULL, error)))
        return FALSE;
      sfb_sip_lex_skip_ws (lx);
      return sfb_sip_lex_peek (lx, '<') || addr_error (error, "missing '<' after display name");
    }
  while (sfb_sip_lex_token (lx, NULL) > 0)
    sfb_sip_lex_skip_ws (lx);
  if (!sfb_sip_lex_peek (lx, '<'))
    {
      lx->p = start; /* not a name-addr: an addr-spec */
      return TRUE;
    }
  if (lx->p > start && addr != NULL)
    {
      addr->display = sfb_sip_strdup_trimmed (start, lx->p - start);
      addr->display_len = strlen (addr->display);
    }
  return TRUE;
}

static gboolean
check_uri_text (const char *uri, gsize len, GError **error)
{
  const char *end = uri + len;

  if (len == 0)
    return addr_error (error, "empty URI");
  for (const char *p = uri; p < end; p++)
    {
      if (sfb_sip_is_ws ((guchar) *p) || *p == '<' || *p == '>' || *p == '"' || *p == '\0')
        return addr_error (error, "invalid character in URI");
    }
  if (scan_scheme (uri, end) == NULL)
    return addr_error (error, "URI without a valid scheme");
  return TRUE;
}

/* the URI's bytes in *uri (a view into the text); *bracketed when in <> */
static gboolean
parse_addr_uri (
    SfbSipLex *lx, const char **uri, gsize *uri_len, gboolean *bracketed, GError **error)
{
  const char *start;

  if (sfb_sip_lex_peek (lx, '<'))
    {
      const char *close;

      start = ++lx->p;
      close = memchr (start, '>', lx->end - start);
      if (close == NULL)
        return addr_error (error, "missing '>'");
      if (!check_uri_text (start, close - start, error))
        return FALSE;
      *bracketed = TRUE;
      *uri = start;
      *uri_len = (gsize) (close - start);
      lx->p = close + 1;
      return TRUE;
    }
  /* a bare addr-spec ends at the first ';' (RFC 3261 §20.10) */
  start = lx->p;
  while (lx->p < lx->end && !sfb_sip_is_ws ((guchar) *lx->p) && *lx->p != ';' && *lx->p != ',')
    lx->p++;
  if (!check_uri_text (start, lx->p - start, error))
    return FALSE;
  if (memchr (start, '?', lx->p - start) != NULL)
    return addr_error (error, "URI with headers outside '<>'");
  *bracketed = FALSE;
  *uri = start;
  *uri_len = (gsize) (lx->p - start);
  return TRUE;
}

static SfbSipNameAddr *
parse_name_addr_element (SfbSipLex *lx, GError **error)
{
  g_autoptr (SfbSipNameAddr) addr = g_new0 (SfbSipNameAddr, 1);
  const char *uri;
  gsize uri_len;

  addr->params = sfb_sip_params_new ();
  sfb_sip_lex_skip_ws (lx);
  if (!parse_display_name (lx, addr, error)
      || !parse_addr_uri (lx, &uri, &uri_len, &addr->bracketed, error))
    return NULL;
  /* checked above: no NUL in it */
  addr->uri = g_strndup (uri, uri_len);
  if (!sfb_sip_params_parse (lx, addr->params, error))
    return NULL;
  return g_steal_pointer (&addr);
}

SfbSipNameAddr *
sfb_sip_name_addr_parse (const char *text, gssize len, GError **error)
{
  g_autoptr (SfbSipNameAddr) addr = NULL;
  SfbSipLex lx;

  g_return_val_if_fail (text != NULL, NULL);

  sfb_sip_lex_init (&lx, text, len);
  addr = parse_name_addr_element (&lx, error);
  if (addr == NULL)
    return NULL;
  sfb_sip_lex_skip_ws (&lx);
  if (!sfb_sip_lex_at_end (&lx))
    {
      addr_error (error, "more than one element");
      return NULL;
    }
  return g_steal_pointer (&addr);
}

/* the same code checking only: nothing built, the URI and the tag's raw
 * value views into @text */
gboolean
sfb_sip_name_addr_check (const char *text, gssize len, SfbSipNameAddrView *view, GError **error)
{
  SfbSipNameAddrView own;
  gboolean bracketed;
  SfbSipLex lx;

  g_return_val_if_fail (text != NULL, FALSE);

  if (view == NULL)
    view = &own;
  sfb_sip_lex_init (&lx, text, len);
  sfb_sip_lex_skip_ws (&lx);
  if (!parse_display_name (&lx, NULL, error)
      || !parse_addr_uri (&lx, &view->uri, &view->uri_len, &bracketed, error)
      || !sfb_sip_params_check_find (&lx, "tag", &view->tag, &view->tag_len, error))
    return FALSE;
  sfb_sip_lex_skip_ws (&lx);
  if (!sfb_sip_lex_at_end (&lx))
    return addr_error (error, "more than one element");
  /* a NUL in a quoted tag ends sfb_sip_name_addr_get_tag ()'s string */
  if (view->tag != NULL)
    view->tag_len = strnlen (view->tag, view->tag_len);
  return TRUE;
}

/* a comma-separated list (Contact, Route, P-Asserted-Identity) */
GPtrArray *
sfb_sip_name_addr_parse_list (const char *text, gssize len, GError **error)
{
  g_autoptr (GPtrArray) list = NULL;
  SfbSipLex lx;

  g_return_val_if_fail (text != NULL, NULL);

  list = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_sip_name_addr_free);
  sfb_sip_lex_init (&lx, text, len);
  for (;;)
    {
      SfbSipNameAddr *addr;

      if (list->len >= MAX_LIST_ELEMENTS)
        {
          g_set_error (error,
                       SFB_SIP_ERROR,
                       SFB_SIP_ERROR_TOO_LARGE,
                       "more than %d addresses",
                       MAX_LIST_ELEMENTS);
          return NULL;
        }
      addr = parse_name_addr_element (&lx, error);
      if (addr == NULL)
        return NULL;
      g_ptr_array_add (list, addr);
      sfb_sip_lex_skip_ws (&lx);
      if (sfb_sip_lex_at_end (&lx))
        return g_steal_pointer (&list);
      lx.p++; /* the ',' sfb_sip_params_parse() stopped at */
    }
}

/* unquoted and unescaped (it may hold NUL bytes: see len); NULL if none */
const char *
sfb_sip_name_addr_get_display_name (const SfbSipNameAddr *addr, gsize *len)
{
  g_return_val_if_fail (addr != NULL, NULL);
  if (len != NULL)
    *len = addr->display_len;
  return addr->display;
}

/* the URI byte-for-byte as in the message, without '<' '>' */
const char *
sfb_sip_name_addr_get_uri (const SfbSipNameAddr *addr)
{
  g_return_val_if_fail (addr != NULL, NULL);
  return addr->uri;
}

gboolean
sfb_sip_name_addr_is_bracketed (const SfbSipNameAddr *addr)
{
  g_return_val_if_fail (addr != NULL, FALSE);
  return addr->bracketed;
}

SfbSipUri *
sfb_sip_name_addr_parse_uri (const SfbSipNameAddr *addr, GError **error)
{
  g_return_val_if_fail (addr != NULL, NULL);
  return sfb_sip_uri_parse (addr->uri, -1, error);
}

guint
sfb_sip_name_addr_get_n_params (const SfbSipNameAddr *addr)
{
  g_return_val_if_fail (addr != NULL, 0);
  return addr->params->len;
}

const char *
sfb_sip_name_addr_get_param_name (const SfbSipNameAddr *addr, guint index)
{
  const SfbSipParam *param;

  g_return_val_if_fail (addr != NULL && index < addr->params->len, NULL);
  param = g_ptr_array_index (addr->params, index);
  return param->name;
}

/* unquoted; NULL for a valueless parameter */
const char *
sfb_sip_name_addr_get_param_value (const SfbSipNameAddr *addr, guint index)
{
  const SfbSipParam *param;

  g_return_val_if_fail (addr != NULL && index < addr->params->len, NULL);
  param = g_ptr_array_index (addr->params, index);
  return param->value;
}

gboolean
sfb_sip_name_addr_has_param (const SfbSipNameAddr *addr, const char *name)
{
  g_return_val_if_fail (addr != NULL && name != NULL, FALSE);
  return sfb_sip_params_find (addr->params, name) != NULL;
}

/* unquoted; "" for a valueless parameter, NULL when absent */
const char *
sfb_sip_name_addr_get_param (const SfbSipNameAddr *addr, const char *name)
{
  const SfbSipParam *param;

  g_return_val_if_fail (addr != NULL && name != NULL, NULL);
  param = sfb_sip_params_find (addr->params, name);
  if (param == NULL)
    return NULL;
  return param->value != NULL ? param->value : "";
}

/* byte-exact (quotes kept); "" for a valueless parameter, NULL when absent */
const char *
sfb_sip_name_addr_get_param_raw (const SfbSipNameAddr *addr, const char *name)
{
  const SfbSipParam *param;

  g_return_val_if_fail (addr != NULL && name != NULL, NULL);
  param = sfb_sip_params_find (addr->params, name);
  if (param == NULL)
    return NULL;
  return param->raw_value != NULL ? param->raw_value : "";
}

/* the tag alone, ending at the next ';' (no epid), byte-exact */
const char *
sfb_sip_name_addr_get_tag (const SfbSipNameAddr *addr)
{
  return sfb_sip_name_addr_get_param_raw (addr, "tag");
}
