/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Authentication headers: WWW-Authenticate, Proxy-Authenticate,
 * Authentication-Info, Proxy-Authentication-Info, Authorization and
 * Proxy-Authorization (RFC 3261 §25.1, RFC 7235 §2.1, MS-SIPAE).
 *
 * One header value may hold several challenges ("NTLM realm=..., Kerberos
 * realm=...") and a message several headers; both give one SfbSipAuth per
 * scheme occurrence, in order.  Quoted values are unescaped; commas inside
 * quotes do not split.  A value may be at most SFB_SIP_AUTH_MAX_LENGTH
 * bytes, hold at most SFB_SIP_AUTH_MAX_CHALLENGES schemes, each with at
 * most 64 parameters.
 */
#pragma once

#include <glib.h>

#include "sfb-sip-message.h"

G_BEGIN_DECLS

#define SFB_SIP_AUTH_MAX_LENGTH (64 * 1024)
#define SFB_SIP_AUTH_MAX_CHALLENGES 16

typedef struct _SfbSipAuth SfbSipAuth;

SfbSipAuth *sfb_sip_auth_new (const char *scheme);
void sfb_sip_auth_free (SfbSipAuth *auth);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbSipAuth, sfb_sip_auth_free)

GPtrArray *sfb_sip_auth_parse (const char *value, gssize len, GError **error);
GPtrArray *sfb_sip_auth_parse_message (SfbSipMessage *message, const char *header_name);
SfbSipAuth *sfb_sip_auth_find (GPtrArray *auths, const char *scheme);

const char *sfb_sip_auth_get_scheme (const SfbSipAuth *auth);
const char *sfb_sip_auth_get_token68 (const SfbSipAuth *auth);
guint sfb_sip_auth_get_n_params (const SfbSipAuth *auth);
const char *sfb_sip_auth_get_param_name (const SfbSipAuth *auth, guint index);
const char *sfb_sip_auth_get_param_value (const SfbSipAuth *auth, guint index);
const char *sfb_sip_auth_get_param (const SfbSipAuth *auth, const char *name);
void
sfb_sip_auth_add_param (SfbSipAuth *auth, const char *name, const char *value, gboolean quoted);
char *sfb_sip_auth_to_string (const SfbSipAuth *auth);

/* One challenge found without building the list: what a received message's
 * signature check reads (sfb_sip_security_verify()), parsed and checked
 * exactly as sfb_sip_auth_parse() does, with no allocation once the
 * buffers have grown.  Names point into the parsed text (the message's
 * header), valid while it is; the scheme and the values are NUL-terminated
 * copies in @strings, unquoted and unescaped.  Initialise with { 0 }, free
 * with sfb_sip_auth_view_clear(); one view serves message after message. */
#define SFB_SIP_AUTH_MAX_PARAMS 64

typedef struct
{
  const char *name; /* not NUL-terminated */
  gsize name_len;
  gsize value; /* offset of the value in strings */
} SfbSipAuthViewParam;

typedef struct
{
  /* the scheme at 0, then each value, each with its NUL: room for the
   * value parsed and a NUL per parameter is made before the parse */
  char *strings;
  gsize strings_len;
  gsize strings_size;
  GString *scratch; /* a quoted value with escapes, unescaped */
  gboolean found;
  guint n_params;
  SfbSipAuthViewParam params[SFB_SIP_AUTH_MAX_PARAMS];
} SfbSipAuthView;

/* sfb_sip_auth_find (sfb_sip_auth_parse (value, len, error), scheme):
 * FALSE with @error where the parse fails; else TRUE, and view->found
 * tells whether a challenge of @scheme (any case) is there. */
gboolean sfb_sip_auth_view_parse (
    SfbSipAuthView *view, const char *value, gssize len, const char *scheme, GError **error);
/* sfb_sip_auth_find (sfb_sip_auth_parse_message (message, header_name),
 * scheme) != NULL, the challenge then in @view */
gboolean sfb_sip_auth_view_find_message (SfbSipAuthView *view,
                                         SfbSipMessage *message,
                                         const char *header_name,
                                         const char *scheme);
void sfb_sip_auth_view_clear (SfbSipAuthView *view);
const char *sfb_sip_auth_view_get_scheme (const SfbSipAuthView *view);
const char *sfb_sip_auth_view_get_param_value (const SfbSipAuthView *view, guint index);
/* as sfb_sip_auth_get_param () */
const char *sfb_sip_auth_view_get_param (const SfbSipAuthView *view, const char *name);

/* The client's Authorization / Proxy-Authorization value, parameters in
 * the order real servers accept (docs/protocol.md §4.2): qop, opaque, realm,
 * targetname, gssapi-data, version, crand, cnum, response.  NULL strings
 * (and version 0) are left out; gssapi_data "" is sent as gssapi-data="";
 * cnum is sent with crand. */
typedef struct
{
  const char *scheme;
  const char *opaque;
  const char *realm;
  const char *targetname;
  const char *gssapi_data;
  guint version;
  const char *crand;
  guint32 cnum;
  const char *response;
} SfbSipAuthorization;

char *sfb_sip_auth_build_authorization (const SfbSipAuthorization *authorization);

char *sfb_sip_auth_redact_value (const char *value, gssize len, gboolean auth_header);

G_END_DECLS
