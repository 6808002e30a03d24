/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbCertProvisioner: the HTTP side of certificate provisioning
 * (MS-OCAUTHWS, docs/protocol.md §8.2, §8.3) over libsoup 3.
 *
 * Web tickets: <issuer>/mex -> the WebTicketServiceWinNegotiate port ->
 * a WS-Trust RST authenticated with connection-oriented NTLMv2 (our own
 * NTLM code, sfb-ntlm.h, in "Authorization: NTLM" headers on one
 * keep-alive connection) -> the RSTR.  Tickets are cached per AppliesTo
 * URI while they stay valid for more than a minute.
 *
 * Provisioning: <sts-uri>/mex -> a web ticket for the auth URI -> an
 * RSA-2048 key and PKCS#10 (made in a thread) -> GetAndPublishCert with
 * the proof-signed wsse:Security header -> the certificate, stored with its
 * key (0600) under <state_dir>/tls-dsk/.
 *
 * Errors: the network or a service that is down (HTTP 503) is
 * SFB_ERROR_NOT_REACHABLE; a password the web ticket service refuses is
 * SFB_ERROR_AUTH_FAILED; any other fault is SFB_ERROR_SERVER_REJECTED with
 * the server's text.  No error, log line or trace holds the password, the
 * ticket or key material.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-cert-provisioning.h"

G_BEGIN_DECLS

#define SFB_TYPE_CERT_PROVISIONER (sfb_cert_provisioner_get_type ())
G_DECLARE_FINAL_TYPE (SfbCertProvisioner, sfb_cert_provisioner, SFB, CERT_PROVISIONER, GObject)

/* @database: trust for HTTPS (nullable: the system's); @login: the NTLM
 * login (DOMAIN\user or user@domain); only the NTLMv2 hash of @password is
 * kept. */
SfbCertProvisioner *sfb_cert_provisioner_new (GTlsDatabase *database,
                                              const char *login,
                                              const char *password,
                                              const char *user_at_domain);

/* A web ticket from the service at @service_uri (…/WebTicketService.svc)
 * for @applies_to; finish returns the raw saml:Assertion. */
void sfb_cert_provisioner_get_web_ticket_async (SfbCertProvisioner *self,
                                                const char *service_uri,
                                                const char *applies_to,
                                                GCancellable *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer user_data);
char *sfb_cert_provisioner_get_web_ticket_finish (SfbCertProvisioner *self,
                                                  GAsyncResult *result,
                                                  GError **error);

/* A new user certificate from the provisioning service at @sts_uri (the
 * TLS-DSK challenge's sts-uri), stored under @state_dir. */
void sfb_cert_provisioner_provision_async (SfbCertProvisioner *self,
                                           const char *sts_uri,
                                           const char *state_dir,
                                           const char *device_id,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer user_data);
SfbUserCertificate *sfb_cert_provisioner_provision_finish (SfbCertProvisioner *self,
                                                           GAsyncResult *result,
                                                           GError **error);

/* Closes the idle HTTPS connections now rather than after libsoup's idle
 * timeout, 60 s later; a request in flight finishes on its own connection,
 * which closes when it ends.  The web tickets stay cached. */
void sfb_cert_provisioner_close_connections (SfbCertProvisioner *self);

/* How many HTTP requests this provisioner sent (for the trace and tests). */
guint sfb_cert_provisioner_get_request_count (SfbCertProvisioner *self);

G_END_DECLS
