/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966) and the
 * name-addr / addr-spec form of From, To, Contact, P-Asserted-Identity...
 *
 * Parsed values keep the text as it appears in the message: signatures
 * (MS-SIPAE) are computed over those exact bytes.  Unescaped values are
 * offered beside them.  Where an unescaped value may legally hold a NUL
 * byte (the user part, a quoted display name), the getter returns its
 * length too; other C-string getters stop at an embedded NUL.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SFB_SIP_URI_SCHEME_SIP,
  SFB_SIP_URI_SCHEME_SIPS,
  SFB_SIP_URI_SCHEME_TEL,
} SfbSipUriScheme;

typedef struct _SfbSipUri SfbSipUri;

SfbSipUri *sfb_sip_uri_parse (const char *text, gssize len, GError **error);
gboolean sfb_sip_uri_check (const char *text, gssize len, guint *n_headers, GError **error);
void sfb_sip_uri_free (SfbSipUri *uri);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbSipUri, sfb_sip_uri_free)

const char *sfb_sip_uri_to_string (const SfbSipUri *uri);
SfbSipUriScheme sfb_sip_uri_get_scheme (const SfbSipUri *uri);
const char *sfb_sip_uri_get_user (const SfbSipUri *uri, gsize *len);
const char *sfb_sip_uri_get_user_raw (const SfbSipUri *uri);
const char *sfb_sip_uri_get_password (const SfbSipUri *uri);
const char *sfb_sip_uri_get_host (const SfbSipUri *uri);
gboolean sfb_sip_uri_host_is_ipv6 (const SfbSipUri *uri);
guint16 sfb_sip_uri_get_port (const SfbSipUri *uri);
guint sfb_sip_uri_get_n_params (const SfbSipUri *uri);
const char *sfb_sip_uri_get_param_name (const SfbSipUri *uri, guint index);
const char *sfb_sip_uri_get_param_value (const SfbSipUri *uri, guint index);
gboolean sfb_sip_uri_has_param (const SfbSipUri *uri, const char *name);
const char *sfb_sip_uri_get_param (const SfbSipUri *uri, const char *name);
guint sfb_sip_uri_get_n_headers (const SfbSipUri *uri);
const char *sfb_sip_uri_get_header_name (const SfbSipUri *uri, guint index);
const char *sfb_sip_uri_get_header_value (const SfbSipUri *uri, guint index);
const char *sfb_sip_uri_get_header (const SfbSipUri *uri, const char *name);

char *sfb_sip_uri_unescape (const char *text, gssize len, gsize *out_len, GError **error);

typedef struct _SfbSipNameAddr SfbSipNameAddr;

SfbSipNameAddr *sfb_sip_name_addr_parse (const char *text, gssize len, GError **error);
GPtrArray *sfb_sip_name_addr_parse_list (const char *text, gssize len, GError **error);

/* sfb_sip_name_addr_parse ()'s verdict and error without building it
 * (validation and the signature check read From and To of every received
 * message): sfb_sip_name_addr_get_uri () and _get_tag () as views into
 * @text, tag NULL when absent; @view may be NULL */
typedef struct
{
  const char *uri;
  gsize uri_len;
  const char *tag;
  gsize tag_len;
} SfbSipNameAddrView;

gboolean
sfb_sip_name_addr_check (const char *text, gssize len, SfbSipNameAddrView *view, GError **error);
void sfb_sip_name_addr_free (SfbSipNameAddr *addr);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbSipNameAddr, sfb_sip_name_addr_free)

const char *sfb_sip_name_addr_get_display_name (const SfbSipNameAddr *addr, gsize *len);
const char *sfb_sip_name_addr_get_uri (const SfbSipNameAddr *addr);
gboolean sfb_sip_name_addr_is_bracketed (const SfbSipNameAddr *addr);
SfbSipUri *sfb_sip_name_addr_parse_uri (const SfbSipNameAddr *addr, GError **error);
guint sfb_sip_name_addr_get_n_params (const SfbSipNameAddr *addr);
const char *sfb_sip_name_addr_get_param_name (const SfbSipNameAddr *addr, guint index);
const char *sfb_sip_name_addr_get_param_value (const SfbSipNameAddr *addr, guint index);
const char *sfb_sip_name_addr_get_param (const SfbSipNameAddr *addr, const char *name);
const char *sfb_sip_name_addr_get_param_raw (const SfbSipNameAddr *addr, const char *name);
gboolean sfb_sip_name_addr_has_param (const SfbSipNameAddr *addr, const char *name);
const char *sfb_sip_name_addr_get_tag (const SfbSipNameAddr *addr);

G_END_DECLS
