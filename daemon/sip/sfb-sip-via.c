/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "sfb-sip-via.h"

#include "sfb-sip-error.h"
#include "sfb-sip-lex.h"

#include <string.h>

#define MAX_VIAS 256

struct _SfbSipVia
{
  char *protocol_name;
  char *protocol_version;
  char *transport;
  char *host; /* without the brackets of an IPv6 reference */
  guint16 port;
  GPtrArray *params;   /* NULL when checking only */
  gboolean check_only; /* sfb_sip_via_check_list(): verdicts, no strings kept */
};

static void
via_clear (SfbSipVia *via)
{
  g_free (via->protocol_name);
  g_free (via->protocol_version);
  g_free (via->transport);
  g_free (via->host);
  g_clear_pointer (&via->params, g_ptr_array_unref);
}

void
sfb_sip_via_free (SfbSipVia *via)
{
  if (via == NULL)
    return;
  via_clear (via);
  g_free (via);
}

static gboolean
via_error (GError **error, const char *what)
{
  g_set_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED, "%s in Via", what);
  return FALSE;
}

/* FALSE when there is no token; *out its copy unless checking only */
static gboolean
lex_token_take (SfbSipLex *lx, const SfbSipVia *via, char **out)
{
  const char *start;
  gsize len;

  sfb_sip_lex_skip_ws (lx);
  len = sfb_sip_lex_token (lx, &start);
  if (len > 0 && !via->check_only)
    *out = g_strndup (start, len);
  return len > 0;
}

/* sent-protocol = protocol-name SLASH protocol-version SLASH transport */
static gboolean
parse_sent_protocol (SfbSipLex *lx, SfbSipVia *via, GError **error)
{
  char **parts[] = { &via->protocol_name, &via->protocol_version, &via->transport };

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      if (i > 0)
        {
          sfb_sip_lex_skip_ws (lx);
          if (!sfb_sip_lex_peek (lx, '/'))
            return via_error (error, "missing '/'");
          lx->p++;
        }
      if (!lex_token_take (lx, via, parts[i]))
        return via_error (error, "empty sent-protocol element");
    }
  return TRUE;
}

static gboolean
parse_port (SfbSipLex *lx, SfbSipVia *via, GError **error)
{
  guint port = 0;
  guint digits = 0;

  sfb_sip_lex_skip_ws (lx);
  while (!sfb_sip_lex_at_end (lx) && g_ascii_isdigit (*lx->p) && digits < 6)
    {
      port = port * 10 + (guint) (*lx->p++ - '0');
      digits++;
    }
  if (digits == 0 || port > G_MAXUINT16)
    return via_error (error, "invalid port");
  via->port = (guint16) port;
  return TRUE;
}

/* sent-by = host [ COLON port ] */
static gboolean
parse_sent_by (SfbSipLex *lx, SfbSipVia *via, GError **error)
{
  const char *start;

  sfb_sip_lex_skip_ws (lx);
  start = lx->p;
  if (sfb_sip_lex_peek (lx, '['))
    {
      const char *close = memchr (lx->p, ']', lx->end - lx->p);

      if (close == NULL)
        return via_error (error, "unterminated IPv6 reference");
      via->host = g_strndup (start + 1, close - start - 1);
      if (!sfb_sip_is_ipv6_reference (via->host))
        return via_error (error, "invalid IPv6 reference");
      lx->p = close + 1;
    }
  else
    {
      while (!sfb_sip_lex_at_end (lx)
             && (g_ascii_isalnum (*lx->p) || *lx->p == '-' || *lx->p == '.' || *lx->p == '_'))
        lx->p++;
      if (lx->p == start)
        return via_error (error, "empty host");
      if (!via->check_only)
        via->host = g_strndup (start, lx->p - start);
    }
  sfb_sip_lex_skip_ws (lx);
  if (sfb_sip_lex_peek (lx, ':'))
    {
      lx->p++;
      return parse_port (lx, via, error);
    }
  return TRUE;
}

static gboolean
parse_via_fields (SfbSipLex *lx, SfbSipVia *via, GError **error)
{
  if (!parse_sent_protocol (lx, via, error) || !parse_sent_by (lx, via, error))
    return FALSE;
  if (via->check_only)
    return sfb_sip_params_check (lx, error);
  return sfb_sip_params_parse (lx, via->params, error);
}

static SfbSipVia *
parse_via_element (SfbSipLex *lx, GError **error)
{
  g_autoptr (SfbSipVia) via = g_new0 (SfbSipVia, 1);

  via->params = sfb_sip_params_new ();
  if (!parse_via_fields (lx, via, error))
    return NULL;
  return g_steal_pointer (&via);
}

/* one via-parm checked in a scratch struct, nothing kept */
static gboolean
check_via_element (SfbSipLex *lx, GError **error)
{
  SfbSipVia via = { 0 };
  gboolean ok;

  via.check_only = TRUE;
  ok = parse_via_fields (lx, &via, error);
  via_clear (&via); /* an IPv6 host, checked as a string */
  return ok;
}

/* one Via header value may carry several comma-separated via-parms */
GPtrArray *
sfb_sip_via_parse_list (const char *text, gssize len, GError **error)
{
  g_autoptr (GPtrArray) list = NULL;
  SfbSipLex lx;

  g_return_val_if_fail (text != NULL, NULL);

  list = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_sip_via_free);
  sfb_sip_lex_init (&lx, text, len);
  for (;;)
    {
      SfbSipVia *via;

      if (list->len >= MAX_VIAS)
        {
          g_set_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE, "more than %d Via", MAX_VIAS);
          return NULL;
        }
      via = parse_via_element (&lx, error);
      if (via == NULL)
        return NULL;
      g_ptr_array_add (list, via);
      sfb_sip_lex_skip_ws (&lx);
      if (sfb_sip_lex_at_end (&lx))
        return g_steal_pointer (&list);
      lx.p++; /* ',' */
    }
}

/* sfb_sip_via_parse_list()'s verdict (the same error), without building
 * the list: validation checks every received message's Via headers and
 * keeps nothing of them */
gboolean
sfb_sip_via_check_list (const char *text, gssize len, GError **error)
{
  SfbSipLex lx;

  g_return_val_if_fail (text != NULL, FALSE);

  sfb_sip_lex_init (&lx, text, len);
  for (guint n = 0;; n++)
    {
      if (n >= MAX_VIAS)
        {
          g_set_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE, "more than %d Via", MAX_VIAS);
          return FALSE;
        }
      if (!check_via_element (&lx, error))
        return FALSE;
      sfb_sip_lex_skip_ws (&lx);
      if (sfb_sip_lex_at_end (&lx))
        return TRUE;
      lx.p++; /* ',' */
    }
}

const char *
sfb_sip_via_get_protocol_name (const SfbSipVia *via)
{
  g_return_val_if_fail (via != NULL, NULL);
  return via->protocol_name;
}

const char *
sfb_sip_via_get_protocol_version (const SfbSipVia *via)
{
  g_return_val_if_fail (via != NULL, NULL);
  return via->protocol_version;
}

const char *
sfb_sip_via_get_transport (const SfbSipVia *via)
{
  g_return_val_if_fail (via != NULL, NULL);
  return via->transport;
}

const char *
sfb_sip_via_get_host (const SfbSipVia *via)
{
  g_return_val_if_fail (via != NULL, NULL);
  return via->host;
}

/* 0 when absent */
guint16
sfb_sip_via_get_port (const SfbSipVia *via)
{
  g_return_val_if_fail (via != NULL, 0);
  return via->port;
}

/* unquoted; "" for a valueless parameter (rport), NULL when absent */
const char *
sfb_sip_via_get_param (const SfbSipVia *via, const char *name)
{
  const SfbSipParam *param;

  g_return_val_if_fail (via != NULL && name != NULL, NULL);
  param = sfb_sip_params_find (via->params, name);
  if (param == NULL)
    return NULL;
  return param->value != NULL ? param->value : "";
}

const char *
sfb_sip_via_get_branch (const SfbSipVia *via)
{
  return sfb_sip_via_get_param (via, "branch");
}
