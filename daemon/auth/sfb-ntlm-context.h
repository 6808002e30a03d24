/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbNtlmContext: connectionless NTLMv2 for MS-SIPAE (docs/protocol.md §5.2, §6).
 * The first step returns an empty token (connectionless NTLM has no
 * NEGOTIATE message), the second parses the CHALLENGE and returns the
 * AUTHENTICATE message; the context is then established and signs with
 * sequence number 100 and a per-message RC4 rekey.
 */
#pragma once

#include "sfb-auth-context.h"

G_BEGIN_DECLS

#define SFB_TYPE_NTLM_CONTEXT (sfb_ntlm_context_get_type ())
G_DECLARE_FINAL_TYPE (SfbNtlmContext, sfb_ntlm_context, SFB, NTLM_CONTEXT, SfbAuthContext)

/* login: "DOMAIN\user" or "user@domain" (domain then empty, per
 * docs/protocol.md §6); workstation: uppercased hostname (NULL: this host's). */
SfbAuthContext *
sfb_ntlm_context_new (const char *login, const char *password, const char *workstation);

/* Negotiated NTLMSSP flags (0 before the CHALLENGE), for logs and tests. */
guint32 sfb_ntlm_context_get_flags (SfbNtlmContext *self);

/* Tests only: fix the client challenge, exported session key and
 * timestamp (FILETIME; 0 = take the CHALLENGE's MsvAvTimestamp or now)
 * that the next step would otherwise draw at random. */
void sfb_ntlm_context_set_test_randoms (SfbNtlmContext *self,
                                        const guint8 client_challenge[8],
                                        const guint8 exported_session_key[16],
                                        guint64 timestamp);

G_END_DECLS
