/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbTlsDskContext: MS-SIPAE TLS-DSK (docs/protocol.md §4.4, §5.4, §8.1).  A
 * GnuTLS client session runs over in-memory push/pull functions: every
 * gssapi-data token is a run of raw TLS records.  TLS 1.0–1.2, RSA key
 * exchange, AES-CBC-SHA suites; the user certificate (from certificate
 * provisioning) is the client certificate.
 *
 * Legs: step (NULL) returns the ClientHello; step (server flight) returns
 * Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec and
 * Finished; step (server ChangeCipherSpec + Finished) returns an empty
 * token and the context is established.  step (NULL) again starts over.
 *
 * Keys: gnutls_prf (label "client EAP encryption", client random ‖ server
 * random, 128 bytes); client signing key = bytes 64..95, server = 96..127;
 * signatures are HMAC-SHA1 (HMAC-MD5 for an MD5 suite, never offered).
 * The SA lasts as long as the certificate, at most 8 h, less 5 minutes.
 *
 * The TLS-DSK server certificate must be byte-for-byte the certificate of
 * the outer TLS connection (docs/protocol.md §3): set it before the second leg
 * with sfb_tls_dsk_context_set_server_certificate(); without it the
 * handshake fails closed (SFB_ERROR_CERTIFICATE_INVALID).
 */
#pragma once

#include "sfb-auth-context.h"

G_BEGIN_DECLS

#define SFB_TYPE_TLS_DSK_CONTEXT (sfb_tls_dsk_context_get_type ())
G_DECLARE_FINAL_TYPE (SfbTlsDskContext, sfb_tls_dsk_context, SFB, TLS_DSK_CONTEXT, SfbAuthContext)

/* certificate: the user certificate (PEM or DER); key: its RSA private key
 * (PEM or DER, PKCS#1 or PKCS#8).  Both may be the same PEM buffer holding
 * both blocks. */
SfbAuthContext *sfb_tls_dsk_context_new (GBytes *certificate, GBytes *key, GError **error);

/* The DER certificate the outer TLS server presented. */
void sfb_tls_dsk_context_set_server_certificate (SfbTlsDskContext *self, GBytes *der);

/* "TLS1.0 RSA-AES-128-CBC-SHA1" once established, else NULL; for logs. */
const char *sfb_tls_dsk_context_get_description (SfbTlsDskContext *self);

/* When the user certificate stops being valid (g_get_real_time() µs). */
gint64 sfb_tls_dsk_context_get_certificate_expires_at (SfbTlsDskContext *self);

G_END_DECLS
