/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "sfb-sip-signature.h"

#include "sfb-sip-lex.h"
#include "sfb-sip-message-private.h"
#include "sfb-sip-uri.h"

#include <string.h>

/* "<" value ">"; the bytes copied inline while they fit (a reused buffer
 * keeps its room from message to message), as GLib's appends are calls */
static void
append_field_len (GString *out, const char *value, gsize len)
{
  if (len + 2 < out->allocated_len - out->len)
    {
      char *p = out->str + out->len;

      p[0] = '<';
      if (len > 0)
        memcpy (p + 1, value, len);
      p[len + 1] = '>';
      p[len + 2] = '\0';
      out->len += len + 2;
      return;
    }
  g_string_append_c (out, '<');
  g_string_append_len (out, value, (gssize) len);
  g_string_append_c (out, '>');
}

static void
append_field (GString *out, const char *value)
{
  append_field_len (out, value, value != NULL ? strlen (value) : 0);
}

static gboolean
sig_error (GError **error, const char *header, const char *what)
{
  g_set_error (
      error, SFB_SIP_ERROR, SFB_SIP_ERROR_INVALID, "cannot sign or verify: %s %s", header, what);
  return FALSE;
}

/* CSeq number and method exactly as written */
static gboolean
append_cseq (GString *out, SfbSipMessage *message, GError **error)
{
  const char *value = sfb_sip_message_get_header (message, "CSeq");
  const char *p;

  if (value == NULL)
    {
      append_field (out, NULL);
      append_field (out, NULL);
      return TRUE;
    }
  for (p = value; g_ascii_isdigit (*p); p++)
    ;
  if (p == value || !sfb_sip_is_ws ((guchar) *p))
    return sig_error (error, "CSeq", "is malformed");
  append_field_len (out, value, (gsize) (p - value));
  while (sfb_sip_is_ws ((guchar) *p))
    p++;
  append_field (out, p);
  return TRUE;
}

/* the first @name header checked (once per message: validation checked
 * From and To already), its URI and tag viewed in place; all empty when
 * there is none */
static gboolean
check_address (SfbSipMessage *message, const char *name, SfbSipNameAddrView *addr, GError **error)
{
  int i = sfb_sip_message_find_header (message, name, 0);
  const SfbSipNameAddrView *checked;

  memset (addr, 0, sizeof *addr);
  if (i < 0)
    return TRUE;
  checked = sfb_sip_message_header_name_addr (message, (guint) i, NULL);
  if (checked == NULL)
    return sig_error (error, name, "does not parse");
  *addr = *checked;
  return TRUE;
}

/* field 9/11 (URI, inside <> and without params) and 10/12 (tag) */
static gboolean
append_address (
    GString *out, SfbSipMessage *message, const char *name, gboolean with_uri, GError **error)
{
  SfbSipNameAddrView addr;

  if (!check_address (message, name, &addr, error))
    return FALSE;
  if (with_uri)
    append_field_len (out, addr.uri, addr.uri_len);
  append_field_len (out, addr.tag, addr.tag_len);
  return TRUE;
}

static gboolean
has_scheme (const char *uri, const char *scheme)
{
  gsize n = strlen (scheme);

  return g_ascii_strncasecmp (uri, scheme, n) == 0 && uri[n] == ':';
}

/* fields 13/14: the first sip: (or sips:) and tel: URI of
 * P-Asserted-Identity, else of P-Preferred-Identity */
static gboolean
append_identity (GString *out, SfbSipMessage *message, GError **error)
{
  const char *name = sfb_sip_message_find_header (message, "P-Asserted-Identity", 0) >= 0
                         ? "P-Asserted-Identity"
                         : "P-Preferred-Identity";
  const char *sip = NULL, *tel = NULL;
  g_autoptr (GPtrArray) all = NULL;

  if (sfb_sip_message_find_header (message, name, 0) < 0)
    {
      /* neither header: both fields empty, nothing to parse */
      append_field (out, NULL);
      append_field (out, NULL);
      return TRUE;
    }
  all = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_sip_name_addr_free);
  for (int i = sfb_sip_message_find_header (message, name, 0); i >= 0;
       i = sfb_sip_message_find_header (message, name, (guint) i + 1))
    {
      gsize len;
      const char *value = sfb_sip_message_get_header_value (message, (guint) i, &len);
      g_autoptr (GPtrArray) list = sfb_sip_name_addr_parse_list (value, (gssize) len, NULL);

      if (list == NULL)
        return sig_error (error, name, "does not parse");
      g_ptr_array_extend_and_steal (all, g_steal_pointer (&list));
    }
  for (guint i = 0; i < all->len; i++)
    {
      const char *uri = sfb_sip_name_addr_get_uri (g_ptr_array_index (all, i));

      if (sip == NULL && (has_scheme (uri, "sip") || has_scheme (uri, "sips")))
        sip = uri;
      else if (tel == NULL && has_scheme (uri, "tel"))
        tel = uri;
    }
  append_field (out, sip);
  append_field (out, tel);
  return TRUE;
}

static void
append_params (GString *out, const SfbSipSignatureParams *params)
{
  append_field (out, params->protocol);
  append_field (out, params->rand);
  append_field (out, params->num);
  append_field (out, params->realm);
  append_field (out, params->targetname);
}

/* The buffer of docs/protocol.md §5.1.  Version >= 3: 15 fields for a request,
 * 16 for a response (the status code last).  Version < 3 leaves out the
 * To URI and both identity URIs.  Absent headers give empty fields "<>".
 * Appended to @out; on error @out is left as it was. */
gboolean
sfb_sip_signature_buffer_append (GString *out,
                                 SfbSipMessage *message,
                                 const SfbSipSignatureParams *params,
                                 GError **error)
{
  gsize start;
  gboolean v3;

  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (message), FALSE);
  g_return_val_if_fail (params != NULL, FALSE);

  start = out->len;
  v3 = params->version >= 3;
  append_params (out, params);
  append_field (out, sfb_sip_message_get_header (message, "Call-ID"));
  if (!append_cseq (out, message, error) || !append_address (out, message, "From", TRUE, error)
      || !append_address (out, message, "To", v3, error)
      || (v3 && !append_identity (out, message, error)))
    {
      g_string_truncate (out, start);
      return FALSE;
    }
  append_field (out, sfb_sip_message_get_header (message, "Expires"));
  if (!sfb_sip_message_is_request (message))
    {
      char code[16];

      g_snprintf (code, sizeof code, "%u", sfb_sip_message_get_status_code (message));
      append_field (out, code);
    }
  return TRUE;
}

char *
sfb_sip_signature_buffer (SfbSipMessage *message,
                          const SfbSipSignatureParams *params,
                          GError **error)
{
  /* room for a usual buffer (some 300 bytes; GLib makes it 512): no
   * regrowth while appending */
  g_autoptr (GString) out = g_string_sized_new (384);

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (message), NULL);
  g_return_val_if_fail (params != NULL, NULL);

  if (!sfb_sip_signature_buffer_append (out, message, params, error))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* For verifying a received message: protocol, srand, snum, realm and
 * targetname (and version, when given) from its own Authentication-Info.
 * The strings stay owned by auth. */
/* the fields a signed answer's challenge gives, looked up by @get */
static gboolean
params_init (SfbSipSignatureParams *params,
             gconstpointer auth,
             const char *scheme,
             const char *(*get) (gconstpointer auth, const char *name),
             GError **error)
{
  const char *version;
  const char *rand;
  const char *num;

  rand = get (auth, "srand");
  num = get (auth, "snum");
  if (rand == NULL)
    rand = get (auth, "crand");
  if (num == NULL)
    num = get (auth, "cnum");
  if (rand == NULL || num == NULL)
    return sig_error (error, scheme, "parameters lack srand or snum");
  params->protocol = scheme;
  params->rand = rand;
  params->num = num;
  params->realm = get (auth, "realm");
  params->targetname = get (auth, "targetname");
  version = get (auth, "version");
  if (version != NULL)
    params->version = (guint) MIN (g_ascii_strtoull (version, NULL, 10), G_MAXUINT);
  return TRUE;
}

static const char *
auth_get (gconstpointer auth, const char *name)
{
  return sfb_sip_auth_get_param (auth, name);
}

static const char *
view_get (gconstpointer view, const char *name)
{
  return sfb_sip_auth_view_get_param (view, name);
}

gboolean
sfb_sip_signature_params_init_from_auth (SfbSipSignatureParams *params,
                                         const SfbSipAuth *auth,
                                         GError **error)
{
  g_return_val_if_fail (params != NULL && auth != NULL, FALSE);

  return params_init (params, auth, sfb_sip_auth_get_scheme (auth), auth_get, error);
}

gboolean
sfb_sip_signature_params_init_from_view (SfbSipSignatureParams *params,
                                         const SfbSipAuthView *view,
                                         GError **error)
{
  g_return_val_if_fail (params != NULL && view != NULL && view->found, FALSE);

  return params_init (params, view, sfb_sip_auth_view_get_scheme (view), view_get, error);
}
