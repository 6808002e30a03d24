/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "sfb-sip-auth-header.h"

#include "sfb-sip-lex.h"

#include <string.h>

struct _SfbSipAuth
{
  char *scheme; /* in the same block, after the struct */
  char *token68;
  GPtrArray *params; /* SfbSipParam; raw_value keeps the quotes */
};

/* parameters whose values are secrets or tokens and never logged */
static const char *const secret_params[] = { "gssapi-data", "response", "rspauth", "password" };

/* one block: the scheme follows the struct (a scheme is a token of the
 * header, at most SFB_SIP_AUTH_MAX_LENGTH bytes, or a caller's literal) */
static SfbSipAuth *
auth_new (const char *scheme, gsize len)
{
  SfbSipAuth *auth = g_malloc (sizeof (SfbSipAuth) + len + 1);

  auth->scheme = (char *) (auth + 1);
  memcpy (auth->scheme, scheme, len);
  auth->scheme[len] = '\0';
  auth->token68 = NULL;
  /* room for a signed message's Authentication-Info (about ten
   * parameters): the array is not regrown on the way */
  auth->params = g_ptr_array_new_full (16, (GDestroyNotify) sfb_sip_param_free);
  return auth;
}

SfbSipAuth *
sfb_sip_auth_new (const char *scheme)
{
  g_return_val_if_fail (scheme != NULL && sfb_sip_is_token (scheme, strlen (scheme)), NULL);

  return auth_new (scheme, strlen (scheme));
}

void
sfb_sip_auth_free (SfbSipAuth *auth)
{
  if (auth == NULL)
    return;
  g_free (auth->token68);
  g_ptr_array_unref (auth->params);
  g_free (auth);
}

static gboolean
auth_error (GError **error, SfbSipError code, const char *what)
{
  g_set_error (error, SFB_SIP_ERROR, code, "authentication header: %s", what);
  return FALSE;
}

/* token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static gboolean
is_token68_char (guchar c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("-._~+/", c) != NULL);
}

/* a token68 directly after the scheme, alone up to ',' or the end: its
 * bytes in @token (not copied) */
static gboolean
try_token68 (SfbSipLex *lx, const char **token, gsize *token_len)
{
  const char *start = lx->p, *p = lx->p;

  while (p < lx->end && is_token68_char ((guchar) *p))
    p++;
  if (p == start)
    return FALSE;
  while (p < lx->end && *p == '=')
    p++;
  *token = start;
  *token_len = (gsize) (p - start);
  while (p < lx->end && sfb_sip_is_ws ((guchar) *p))
    p++;
  if (p < lx->end && *p != ',')
    return FALSE;
  lx->p = p;
  return TRUE;
}

/* token / quoted-string; unquoted values are taken leniently up to the
 * next separator, as servers send base64 (with '/' and '=') unquoted */
static gboolean
parse_value (SfbSipLex *lx,
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
        return FALSE;
    }
  else
    {
      while (lx->p < lx->end && !sfb_sip_is_ws ((guchar) *lx->p) && *lx->p != ',' && *lx->p != '"'
             && *lx->p != '\0')
        lx->p++;
      if (lx->p == start)
        return auth_error (error, SFB_SIP_ERROR_MALFORMED, "empty parameter value");
      *value = start;
      *value_len = (gsize) (lx->p - start);
    }
  *raw = start;
  *raw_len = (gsize) (lx->p - start);
  return TRUE;
}

static gboolean
check_input (const char *value, gsize n, GError **error)
{
  if (n > SFB_SIP_AUTH_MAX_LENGTH)
    return auth_error (error, SFB_SIP_ERROR_TOO_LARGE, "value too long");
  return TRUE;
}

/* One parse, two products: building (auths, one SfbSipAuth per challenge)
 * or viewing (view: the first challenge of scheme only, nothing built).
 * The counts and every check are the same for both. */
typedef struct
{
  SfbSipLex lx;
  GPtrArray *auths;    /* building */
  SfbSipAuth *current; /* building: the challenge being read */
  SfbSipAuthView *view;
  const char *scheme; /* viewing: the scheme looked for */
  gsize scheme_len;
  gboolean in_match; /* viewing: the current challenge is the one */
  guint n_challenges;
  guint n_params; /* of the current challenge */
  gboolean need_comma;
} AuthParse;

G_STATIC_ASSERT (SFB_SIP_AUTH_MAX_PARAMS == SFB_SIP_LEX_MAX_PARAMS);

/* @len bytes and a NUL at the end of the view's strings; their offset.
 * The room was made before the parse (view_reserve ()). */
static gsize
view_put (SfbSipAuthView *view, const char *text, gsize len)
{
  gsize at = view->strings_len;

  g_assert (len < view->strings_size - at);
  memcpy (view->strings + at, text, len);
  view->strings[at + len] = '\0';
  view->strings_len = at + len + 1;
  return at;
}

/* The scheme and the values are bytes of the value parsed, apart from each
 * other (an unescaped value is shorter than its text): @len bytes and a NUL
 * for each, the scheme and at most SFB_SIP_AUTH_MAX_PARAMS values, hold them */
static void
view_reserve (SfbSipAuthView *view, gsize len)
{
  gsize size = len;

  if (!g_size_checked_add (&size, size, SFB_SIP_AUTH_MAX_PARAMS + 1))
    g_error ("authentication header too large");
  if (view->strings_size < size)
    {
      g_free (view->strings);
      view->strings = g_malloc (size);
      view->strings_size = size;
    }
  view->strings_len = 0;
}

/* a name (not NUL-terminated) equal to @name (of @len bytes) but for case */
static inline gboolean
name_caseeq (const char *have, gsize have_len, const char *name, gsize len)
{
  if (have_len != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (have[i] != name[i] && sfb_sip_ascii_lower (have[i]) != sfb_sip_ascii_lower (name[i]))
        return FALSE;
    }
  return TRUE;
}

static void
view_start (AuthParse *ap, const char *name, gsize name_len)
{
  SfbSipAuthView *view = ap->view;

  ap->in_match = !view->found && name_caseeq (name, name_len, ap->scheme, ap->scheme_len);
  if (!ap->in_match)
    return;
  view->found = TRUE;
  view->strings_len = 0;
  view_put (view, name, name_len);
}

static gboolean
start_challenge (AuthParse *ap, const char *name, gsize name_len, GError **error)
{
  const char *token = NULL;
  gsize token_len = 0;

  if (ap->n_challenges >= SFB_SIP_AUTH_MAX_CHALLENGES)
    return auth_error (error, SFB_SIP_ERROR_TOO_LARGE, "too many challenges");
  ap->n_challenges++;
  ap->n_params = 0;
  if (ap->view != NULL)
    view_start (ap, name, name_len);
  else
    {
      ap->current = auth_new (name, name_len);
      g_ptr_array_add (ap->auths, ap->current);
    }
  ap->need_comma = try_token68 (&ap->lx, &token, &token_len);
  if (ap->need_comma && ap->current != NULL)
    ap->current->token68 = g_strndup (token, token_len);
  return TRUE;
}

/* building: one block per parameter (sfb_sip_param_new()); viewing: the
 * value copied after the others, for the challenge looked for only */
static void
add_param (AuthParse *ap,
           const char *name,
           gsize name_len,
           const char *value,
           gsize value_len,
           const char *raw,
           gsize raw_len)
{
  SfbSipAuthView *view = ap->view;

  if (view == NULL)
    {
      g_ptr_array_add (ap->current->params,
                       sfb_sip_param_new (name, name_len, value, value_len, raw, raw_len));
      return;
    }
  if (!ap->in_match)
    return;
  view->params[view->n_params].name = name;
  view->params[view->n_params].name_len = name_len;
  view->params[view->n_params].value = view_put (view, value, value_len);
  view->n_params++;
}

static gboolean
parse_param (AuthParse *ap, const char *name, gsize name_len, GError **error)
{
  g_autoptr (GString) own_scratch = NULL;
  GString **scratch = ap->view != NULL ? &ap->view->scratch : &own_scratch;
  const char *value, *raw;
  gsize value_len, raw_len;

  if (ap->n_params >= SFB_SIP_LEX_MAX_PARAMS)
    return auth_error (error, SFB_SIP_ERROR_TOO_LARGE, "too many parameters");
  ap->lx.p++; /* '=' */
  sfb_sip_lex_skip_ws (&ap->lx);
  if (!parse_value (&ap->lx, scratch, &value, &value_len, &raw, &raw_len, error))
    return FALSE;
  ap->n_params++;
  add_param (ap, name, name_len, value, value_len, raw, raw_len);
  return TRUE;
}

/* one step: a separator, a parameter or a new scheme */
static gboolean
parse_step (AuthParse *ap, GError **error)
{
  const char *name;
  gsize name_len;

  if (sfb_sip_lex_peek (&ap->lx, ','))
    {
      ap->lx.p++;
      ap->need_comma = FALSE;
      return TRUE;
    }
  if (ap->need_comma)
    return auth_error (error, SFB_SIP_ERROR_MALFORMED, "expected ','");
  name_len = sfb_sip_lex_token (&ap->lx, &name);
  if (name_len == 0)
    return auth_error (error, SFB_SIP_ERROR_MALFORMED, "expected a scheme or a parameter");
  sfb_sip_lex_skip_ws (&ap->lx);
  if (!sfb_sip_lex_peek (&ap->lx, '='))
    return start_challenge (ap, name, name_len, error);
  if (ap->n_challenges == 0)
    return auth_error (error, SFB_SIP_ERROR_MALFORMED, "parameter before the scheme");
  ap->need_comma = TRUE;
  return parse_param (ap, name, name_len, error);
}

static gboolean
auth_parse_run (AuthParse *ap, const char *value, gssize len, GError **error)
{
  sfb_sip_lex_init (&ap->lx, value, len);
  if (!check_input (value, ap->lx.end - ap->lx.p, error))
    return FALSE;
  for (;;)
    {
      sfb_sip_lex_skip_ws (&ap->lx);
      if (sfb_sip_lex_at_end (&ap->lx))
        break;
      if (!parse_step (ap, error))
        return FALSE;
    }
  if (ap->n_challenges == 0)
    return auth_error (error, SFB_SIP_ERROR_MALFORMED, "no scheme");
  return TRUE;
}

GPtrArray *
sfb_sip_auth_parse (const char *value, gssize len, GError **error)
{
  g_autoptr (GPtrArray) auths = NULL;
  AuthParse ap = { 0 };

  g_return_val_if_fail (value != NULL, NULL);

  auths = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_sip_auth_free);
  ap.auths = auths;
  if (!auth_parse_run (&ap, value, len, error))
    return NULL;
  return g_steal_pointer (&auths);
}

gboolean
sfb_sip_auth_view_parse (
    SfbSipAuthView *view, const char *value, gssize len, const char *scheme, GError **error)
{
  AuthParse ap = { 0 };

  g_return_val_if_fail (view != NULL && value != NULL && scheme != NULL, FALSE);

  view->found = FALSE;
  view->n_params = 0;
  /* a longer value is refused before anything is kept */
  view_reserve (view, MIN (len < 0 ? strlen (value) : (gsize) len, SFB_SIP_AUTH_MAX_LENGTH));
  ap.view = view;
  ap.scheme = scheme;
  ap.scheme_len = strlen (scheme);
  if (auth_parse_run (&ap, value, len, error))
    return TRUE;
  view->found = FALSE;
  view->n_params = 0;
  return FALSE;
}

void
sfb_sip_auth_view_clear (SfbSipAuthView *view)
{
  g_clear_pointer (&view->strings, g_free);
  view->strings_size = 0;
  view->strings_len = 0;
  if (view->scratch != NULL)
    g_string_free (g_steal_pointer (&view->scratch), TRUE);
  view->found = FALSE;
  view->n_params = 0;
}

const char *
sfb_sip_auth_view_get_scheme (const SfbSipAuthView *view)
{
  g_return_val_if_fail (view != NULL && view->found, NULL);
  return view->strings;
}

const char *
sfb_sip_auth_view_get_param_value (const SfbSipAuthView *view, guint index)
{
  g_return_val_if_fail (view != NULL && view->found && index < view->n_params, NULL);
  return view->strings + view->params[index].value;
}

const char *
sfb_sip_auth_view_get_param (const SfbSipAuthView *view, const char *name)
{
  gsize len;

  g_return_val_if_fail (view != NULL && name != NULL, NULL);

  len = strlen (name);
  for (guint i = 0; view->found && i < view->n_params; i++)
    {
      const SfbSipAuthViewParam *param = &view->params[i];

      if (name_caseeq (param->name, param->name_len, name, len))
        return view->strings + param->value;
    }
  return NULL;
}

static GPtrArray *
empty_list (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_sip_auth_free);
}

/* every challenge of every header called header_name, in order; a header
 * that does not parse is skipped (one odd scheme must not hide the rest) */
GPtrArray *
sfb_sip_auth_parse_message (SfbSipMessage *message, const char *header_name)
{
  GPtrArray *all = NULL;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (message), empty_list ());
  g_return_val_if_fail (header_name != NULL, empty_list ());

  for (int i = sfb_sip_message_find_header (message, header_name, 0); i >= 0;
       i = sfb_sip_message_find_header (message, header_name, (guint) i + 1))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) auths = NULL;
      gsize len;
      const char *value = sfb_sip_message_get_header_value (message, (guint) i, &len);

      auths = sfb_sip_auth_parse (value, len, &error);
      if (auths == NULL)
        {
          g_debug ("ignoring %s header %d: %s", header_name, i, error->message);
          continue;
        }
      if (all == NULL)
        {
          /* usually the only one: its list is the result */
          all = g_steal_pointer (&auths);
          continue;
        }
      for (guint j = 0; j < auths->len; j++)
        g_ptr_array_add (all, g_steal_pointer (&auths->pdata[j]));
      g_ptr_array_set_free_func (auths, NULL);
    }
  return all != NULL ? all : empty_list ();
}

/* as sfb_sip_auth_parse_message (): a header that does not parse is
 * skipped; the headers after the one found are still parsed (checked), for
 * the same log */
gboolean
sfb_sip_auth_view_find_message (SfbSipAuthView *view,
                                SfbSipMessage *message,
                                const char *header_name,
                                const char *scheme)
{
  gboolean found = FALSE;

  g_return_val_if_fail (view != NULL && SFB_IS_SIP_MESSAGE (message), FALSE);
  g_return_val_if_fail (header_name != NULL && scheme != NULL, FALSE);

  for (int i = sfb_sip_message_find_header (message, header_name, 0); i >= 0;
       i = sfb_sip_message_find_header (message, header_name, (guint) i + 1))
    {
      g_autoptr (GError) error = NULL;
      gsize len;
      const char *value = sfb_sip_message_get_header_value (message, (guint) i, &len);

      if (found)
        {
          /* checked only: nothing of it is kept */
          SfbSipAuthView later = { 0 };

          if (!sfb_sip_auth_view_parse (&later, value, (gssize) len, "", &error))
            g_debug ("ignoring %s header %d: %s", header_name, i, error->message);
          sfb_sip_auth_view_clear (&later);
          continue;
        }
      if (!sfb_sip_auth_view_parse (view, value, (gssize) len, scheme, &error))
        g_debug ("ignoring %s header %d: %s", header_name, i, error->message);
      found = view->found;
    }
  view->found = found;
  if (!found)
    view->n_params = 0;
  return found;
}

SfbSipAuth *
sfb_sip_auth_find (GPtrArray *auths, const char *scheme)
{
  g_return_val_if_fail (auths != NULL && scheme != NULL, NULL);

  for (guint i = 0; i < auths->len; i++)
    {
      SfbSipAuth *auth = g_ptr_array_index (auths, i);

      if (g_ascii_strcasecmp (auth->scheme, scheme) == 0)
        return auth;
    }
  return NULL;
}

const char *
sfb_sip_auth_get_scheme (const SfbSipAuth *auth)
{
  g_return_val_if_fail (auth != NULL, NULL);
  return auth->scheme;
}

/* the token68 form ("Negotiate YIIG..."), or NULL */
const char *
sfb_sip_auth_get_token68 (const SfbSipAuth *auth)
{
  g_return_val_if_fail (auth != NULL, NULL);
  return auth->token68;
}

guint
sfb_sip_auth_get_n_params (const SfbSipAuth *auth)
{
  g_return_val_if_fail (auth != NULL, 0);
  return auth->params->len;
}

const char *
sfb_sip_auth_get_param_name (const SfbSipAuth *auth, guint index)
{
  const SfbSipParam *param;

  g_return_val_if_fail (auth != NULL && index < auth->params->len, NULL);
  param = g_ptr_array_index (auth->params, index);
  return param->name;
}

const char *
sfb_sip_auth_get_param_value (const SfbSipAuth *auth, guint index)
{
  const SfbSipParam *param;

  g_return_val_if_fail (auth != NULL && index < auth->params->len, NULL);
  param = g_ptr_array_index (auth->params, index);
  return param->value;
}

/* unquoted, case-insensitive name, the first occurrence; NULL when absent */
const char *
sfb_sip_auth_get_param (const SfbSipAuth *auth, const char *name)
{
  const SfbSipParam *param;

  g_return_val_if_fail (auth != NULL && name != NULL, NULL);
  param = sfb_sip_params_find (auth->params, name);
  return param != NULL ? param->value : NULL;
}

static char *
quote (const char *value)
{
  GString *out = g_string_new ("\"");

  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

void
sfb_sip_auth_add_param (SfbSipAuth *auth, const char *name, const char *value, gboolean quoted)
{
  g_autofree char *raw = NULL;
  SfbSipParam *param;

  g_return_if_fail (auth != NULL);
  g_return_if_fail (name != NULL && sfb_sip_is_token (name, strlen (name)));
  g_return_if_fail (value != NULL && strpbrk (value, "\r\n") == NULL);
  g_return_if_fail (quoted || (value[0] != '\0' && strpbrk (value, " \t,\"") == NULL));

  raw = quoted ? quote (value) : g_strdup (value);
  param = sfb_sip_param_new (name, strlen (name), value, strlen (value), raw, strlen (raw));
  g_ptr_array_add (auth->params, param);
}

static gboolean
is_secret (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (secret_params); i++)
    {
      if (g_ascii_strcasecmp (name, secret_params[i]) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
append_auth (GString *out, const SfbSipAuth *auth, gboolean redact, gboolean redact_token68)
{
  g_string_append (out, auth->scheme);
  if (auth->token68 != NULL)
    g_string_append_printf (out, " %s", redact_token68 ? "<redacted>" : auth->token68);
  for (guint i = 0; i < auth->params->len; i++)
    {
      const SfbSipParam *param = g_ptr_array_index (auth->params, i);

      /* after a token68, a ',' keeps the first parameter from reading as
       * a new scheme */
      g_string_append_printf (out,
                              "%s%s=%s",
                              i == 0 && auth->token68 == NULL ? " " : ", ",
                              param->name,
                              redact && is_secret (param->name) ? "<redacted>" : param->raw_value);
    }
}

/* the value as "Scheme name=value, ..." with each value as parsed */
char *
sfb_sip_auth_to_string (const SfbSipAuth *auth)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (auth != NULL, NULL);
  append_auth (out, auth, FALSE, FALSE);
  return g_string_free (out, FALSE);
}

static void
append_quoted_param (GString *out, const char *name, const char *value)
{
  g_autofree char *quoted = NULL;

  if (value == NULL)
    return;
  quoted = quote (value);
  g_string_append_printf (out, "%s%s=%s", out->str[out->len - 1] == ' ' ? "" : ", ", name, quoted);
}

static gboolean
is_clean (const char *value)
{
  return value == NULL || strpbrk (value, "\r\n") == NULL;
}

char *
sfb_sip_auth_build_authorization (const SfbSipAuthorization *a)
{
  GString *out;

  g_return_val_if_fail (a != NULL && a->scheme != NULL, NULL);
  g_return_val_if_fail (sfb_sip_is_token (a->scheme, strlen (a->scheme)), NULL);
  g_return_val_if_fail (is_clean (a->opaque) && is_clean (a->realm) && is_clean (a->targetname)
                            && is_clean (a->gssapi_data) && is_clean (a->crand)
                            && is_clean (a->response),
                        NULL);

  out = g_string_new (a->scheme);
  g_string_append (out, " qop=\"auth\"");
  append_quoted_param (out, "opaque", a->opaque);
  append_quoted_param (out, "realm", a->realm);
  append_quoted_param (out, "targetname", a->targetname);
  append_quoted_param (out, "gssapi-data", a->gssapi_data);
  if (a->version > 0)
    g_string_append_printf (out, ", version=%u", a->version);
  if (a->crand != NULL)
    {
      g_autofree char *cnum = g_strdup_printf ("%" G_GUINT32_FORMAT, a->cnum);

      append_quoted_param (out, "crand", a->crand);
      append_quoted_param (out, "cnum", cnum);
    }
  append_quoted_param (out, "response", a->response);
  return g_string_free (out, FALSE);
}

/* "name" followed by optional whitespace and '=' anywhere in the value */
static gboolean
contains_param (const char *haystack, gsize len, const char *name)
{
  gsize n = strlen (name);

  for (gsize i = 0; i + n <= len; i++)
    {
      gsize j = i + n;

      if (g_ascii_strncasecmp (haystack + i, name, n) != 0)
        continue;
      while (j < len && sfb_sip_is_ws ((guchar) haystack[j]))
        j++;
      if (j < len && haystack[j] == '=')
        return TRUE;
    }
  return FALSE;
}

static gboolean
may_hold_secret (const char *value, gsize len)
{
  for (gsize i = 0; i < G_N_ELEMENTS (secret_params); i++)
    {
      if (contains_param (value, len, secret_params[i]))
        return TRUE;
    }
  return FALSE;
}

/* For logs: NULL when the value holds nothing to hide, else the value with
 * secret parameters (and, in auth headers, token68 blobs) replaced.  What
 * does not parse is hidden whole: redaction fails closed. */
char *
sfb_sip_auth_redact_value (const char *value, gssize len, gboolean auth_header)
{
  g_autoptr (GPtrArray) auths = NULL;
  g_autoptr (GString) out = NULL;
  gsize n;

  g_return_val_if_fail (value != NULL, NULL);

  n = len < 0 ? strlen (value) : (gsize) len;
  if (!auth_header && !may_hold_secret (value, n))
    return NULL;
  auths = sfb_sip_auth_parse (value, (gssize) n, NULL);
  if (auths == NULL || memchr (value, '\0', n) != NULL)
    return g_strdup ("<redacted>");
  out = g_string_new (NULL);
  for (guint i = 0; i < auths->len; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      append_auth (out, g_ptr_array_index (auths, i), TRUE, auth_header);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
