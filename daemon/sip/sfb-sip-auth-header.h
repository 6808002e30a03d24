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
