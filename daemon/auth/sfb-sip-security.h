/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSipSecurity: the MS-SIPAE state of one registrar connection
 * (docs/protocol.md §4–§6): the challenge parameters (realm, targetname,
 * version, opaque), the pending handshake token, the client sequence
 * number (cnum) and the SfbAuthContext that signs and verifies.
 */
#pragma once

#include <glib-object.h>

#include "sfb-auth-context.h"
#include "sfb-sip-message.h"

G_BEGIN_DECLS

#define SFB_TYPE_SIP_SECURITY (sfb_sip_security_get_type ())
G_DECLARE_FINAL_TYPE (SfbSipSecurity, sfb_sip_security, SFB, SIP_SECURITY, GObject)

SfbSipSecurity *sfb_sip_security_new (SfbAuthContext *context);

/* A 401/407 to REGISTER: take our scheme's challenge (WWW-Authenticate or
 * Proxy-Authenticate), remember realm, targetname, version, opaque, run
 * one step with its gssapi-data.  A 401 answering the final leg is
 * SFB_ERROR_AUTH_FAILED. */
gboolean
sfb_sip_security_handle_challenge (SfbSipSecurity *self, SfbSipMessage *response, GError **error);

/* Add Authorization (or Proxy-Authorization after a 407) to an outgoing
 * request or response: gssapi-data while a token is pending; once the
 * context is established, crand/cnum/response signing the message (v4:
 * already on the message carrying the final token).  Before any challenge
 * this adds nothing. */
gboolean sfb_sip_security_authorize (SfbSipSecurity *self, SfbSipMessage *message, GError **error);

/* An incoming message: verify Authentication-Info (or
 * Proxy-Authentication-Info) rspauth with srand/snum/realm/targetname from
 * that header; refresh opaque.  Established SA + unsigned message (other
 * than 401 / REGISTER responses / 1xx) or a bad signature -> FALSE with
 * SFB_ERROR_SIGNATURE_INVALID "bad server signature". */
gboolean sfb_sip_security_verify (SfbSipSecurity *self, SfbSipMessage *message, GError **error);

gboolean sfb_sip_security_is_established (SfbSipSecurity *self);
const char *sfb_sip_security_get_scheme (SfbSipSecurity *self); /* "NTLM" */
SfbAuthContext *sfb_sip_security_get_context (SfbSipSecurity *self);

/* Before handle_challenge() on the first 401: lets the context do its
 * blocking or network work (SfbAuthContextClass.prepare_async) with this
 * scheme's challenge.  Contexts without such work complete at once. */
void sfb_sip_security_prepare_async (SfbSipSecurity *self,
                                     SfbSipMessage *response,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean
sfb_sip_security_prepare_finish (SfbSipSecurity *self, GAsyncResult *result, GError **error);

/* Schemes a 401 offers, in header order (for the trace and Auth=auto). */
GStrv sfb_sip_security_offered_schemes (SfbSipMessage *response);

G_END_DECLS
