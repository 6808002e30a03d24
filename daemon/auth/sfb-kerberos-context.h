/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbKerberosContext: MS-SIPAE Kerberos through GSSAPI (docs/protocol.md §4.4,
 * §5.3, §7).  The raw krb5 mechanism (not SPNEGO) with GSS_C_INTEG_FLAG
 * only, so the context is complete after its one initial token (AP-REQ);
 * signatures are gss_get_mic / gss_verify_mic over the §5.1 buffer; the SA
 * lives as long as the service ticket (capped at 8 h, renewed 5 min early).
 * HTTP Negotiate uses the SPNEGO form, sfb_kerberos_context_new_spnego().
 *
 * Credentials: the user's ccache (KRB5CCNAME) when it holds a valid TGT,
 * else acquired with the stored password (gss_acquire_cred_with_password,
 * kept in memory, never written to the user's ccache).  Both talk to the
 * KDC and may block, so they run in a GTask thread in prepare_async(); the
 * target comes from the challenge's targetname "sip/<fqdn>", imported as
 * the host-based service "sip@<fqdn>".
 *
 * Errors of prepare: SFB_ERROR_AUTH_FAILED when the KDC refused the
 * password or the principal (a rejected password: never fall back,
 * docs/architecture.md §3), SFB_ERROR_NO_CREDENTIALS when there is neither a
 * ccache nor a password, SFB_ERROR_NOT_REACHABLE when no KDC answered,
 * SFB_ERROR_FAILED otherwise.  No secret appears in any message.
 */
#pragma once

#include "sfb-auth-context.h"

G_BEGIN_DECLS

#define SFB_TYPE_KERBEROS_CONTEXT (sfb_kerberos_context_get_type ())
G_DECLARE_FINAL_TYPE (
    SfbKerberosContext, sfb_kerberos_context, SFB, KERBEROS_CONTEXT, SfbAuthContext)

/* login: "DOMAIN\user", "user@domain" or "user"; password may be NULL (ccache only). */
SfbAuthContext *sfb_kerberos_context_new (const char *login, const char *password);
/* The same for HTTP `Negotiate` (RFC 4559): the initial token is a SPNEGO
 * NegTokenInit offering only krb5, with the AP-REQ as its optimistic mech
 * token (docs/protocol.md §18.3).  The one leg is all HTTP uses: the
 * acceptor's final NegTokenResp is not needed (no mutual authentication,
 * no signatures), so the context cannot sign or verify. */
SfbAuthContext *sfb_kerberos_context_new_spnego (const char *login, const char *password);

/* The client principal used with a password (pure, unit-tested):
 * "DOMAIN\user" -> "user@DOMAIN" (upper case), except that a NetBIOS
 * DOMAIN equal to the first label of default_realm gives
 * "user@<default_realm>" (CONTOSO\alice with realm CONTOSO.TEST);
 * "user@domain" -> "user@DOMAIN"; "user" -> "user@<default_realm>" (or
 * "user" without one).  NULL for an unusable login. */
char *sfb_kerberos_principal_from_login (const char *login, const char *default_realm);

/* The principal of @login with the krb5 configuration's default realm (what
 * `kinit` needs; sfb_kerberos_principal_from_login()), NULL when none. */
char *sfb_kerberos_principal_for_login (const char *login);

/* "sip/fqdn" -> "sip@fqdn" (the GSS host-based name); NULL when malformed. */
char *sfb_kerberos_service_from_targetname (const char *targetname);

/* The client principal actually used (after prepare), e.g. for the trace. */
const char *sfb_kerberos_context_get_principal (SfbKerberosContext *self);
/* "ccache" or "password" (after prepare), NULL before. */
const char *sfb_kerberos_context_get_credential_source (SfbKerberosContext *self);

/* TRUE when the default ccache holds unexpired initiator credentials.
 * Reads the ccache (a local file or KCM), does not contact the KDC. */
gboolean sfb_kerberos_have_ccache_credentials (void);

G_END_DECLS
