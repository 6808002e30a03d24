/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificate provisioning for TLS-DSK (MS-OCAUTHWS, docs/protocol.md §8.2,
 * §8.3): the user key and PKCS#10 request, the certificate store in the
 * state dir, WS-Trust PSHA1, and the SOAP documents — parsers (pure,
 * limited, fuzzed) and builders (the web-ticket RST, the proof-signed
 * wsse:Security header, GetAndPublishCert).
 *
 * Every parser takes hostile input: at most SFB_CERT_PROV_MAX_DOCUMENT
 * bytes, nesting at most SFB_CERT_PROV_MAX_DEPTH, no DTD, no network, no
 * entity expansion; values longer than SFB_CERT_PROV_MAX_VALUE are refused.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SFB_CERT_PROV_MAX_DOCUMENT (256 * 1024)
#define SFB_CERT_PROV_MAX_DEPTH 32
#define SFB_CERT_PROV_MAX_VALUE (32 * 1024)

/* Reuse a stored certificate while at least this much validity remains */
#define SFB_USER_CERTIFICATE_MIN_VALIDITY_US (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)

/* ---- WS-Trust P_SHA1 (RFC 2246 §5), the proof key of §8.2 step 4 ---- */
void sfb_cert_prov_psha1 (const guint8 *secret,
                          gsize secret_len,
                          const guint8 *seed,
                          gsize seed_len,
                          guint8 *out,
                          gsize out_len);

/* ---- the key pair and the PKCS#10 request ---- */

/* An RSA-2048 key (PEM, PKCS#8) and a SHA-256 signed PKCS#10 (DER) with
 * subject CN=<user_at_domain>.  Slow (key generation): run it in a thread. */
gboolean sfb_cert_prov_make_request (const char *user_at_domain,
                                     GBytes **key_pem,
                                     GBytes **csr_der,
                                     GError **error);

/* ---- the stored certificate ---- */

typedef struct
{
  GBytes *certificate_pem;
  GBytes *key_pem;
  gint64 not_after; /* µs, g_get_real_time() clock */
} SfbUserCertificate;

void sfb_user_certificate_free (SfbUserCertificate *cert);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbUserCertificate, sfb_user_certificate_free)

/* <state_dir>/tls-dsk/<user_at_domain>.pem (0600, directory 0700) */
char *sfb_user_certificate_path (const char *state_dir, const char *user_at_domain);
/* Stores the provisioned certificate (DER or PEM) with its key, atomically,
 * mode 0600; fails if the key is not the certificate's. */
SfbUserCertificate *sfb_user_certificate_save (const char *state_dir,
                                               const char *user_at_domain,
                                               GBytes *certificate,
                                               GBytes *key_pem,
                                               GError **error);
/* NULL with G_IO_ERROR_NOT_FOUND when nothing is stored; a stored file that
 * does not parse is SFB_ERROR_CERTIFICATE_INVALID. */
SfbUserCertificate *
sfb_user_certificate_load (const char *state_dir, const char *user_at_domain, GError **error);
/* At least SFB_USER_CERTIFICATE_MIN_VALIDITY_US left at @now */
gboolean sfb_user_certificate_is_usable (const SfbUserCertificate *cert, gint64 now);

/* ---- parsers ---- */

typedef struct
{
  char *issuer;   /* web ticket service (…/WebTicket/WebTicketService.svc) */
  char *auth_uri; /* where GetAndPublishCert goes */
  gboolean proof; /* the issued token needs a proof-key signature */
} SfbCertProvMetadata;

void sfb_cert_prov_metadata_free (SfbCertProvMetadata *meta);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbCertProvMetadata, sfb_cert_prov_metadata_free)

/* <sts-uri>/mex: the CertProvisioningServiceWebTicketProof_SHA1 policy's
 * issuer and port address (docs/protocol.md §8.2 step 1). */
SfbCertProvMetadata *sfb_cert_prov_parse_mex (const char *data, gsize len, GError **error);

/* <issuer>/mex: the WebTicketServiceWinNegotiate port address (step 2). */
char *sfb_cert_prov_parse_webticket_mex (const char *data, gsize len, GError **error);

typedef struct
{
  char *assertion;    /* the saml:Assertion, exclusive-canonical, self-contained */
  char *assertion_id; /* its AssertionID */
  char *created;      /* Lifetime, as sent */
  char *expires;
  gint64 expires_at;      /* µs, 0 if unparsable */
  GBytes *server_entropy; /* nullable */
} SfbWebTicket;

void sfb_web_ticket_free (SfbWebTicket *ticket);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbWebTicket, sfb_web_ticket_free)

/* The RSTR of step 4; a SOAP fault becomes SFB_ERROR_AUTH_FAILED with its
 * text. */
SfbWebTicket *sfb_cert_prov_parse_rstr (const char *data, gsize len, GError **error);

/* GetAndPublishCert's response: the DER certificate; a fault becomes
 * SFB_ERROR_CERTIFICATE_INVALID with the server's text. */
GBytes *sfb_cert_prov_parse_certificate (const char *data, gsize len, GError **error);

/* ---- builders ---- */

/* The WS-Trust RST asking for a SAML web ticket for @applies_to */
char *sfb_cert_prov_build_rst (const char *applies_to,
                               const char *sip_uri,
                               GBytes *client_entropy,
                               const char *context_id);

/* wsse:Security: Timestamp (from the ticket's Lifetime), the Assertion and
 * an exc-c14n / HMAC-SHA1 ds:Signature over the Timestamp with @proof_key. */
char *sfb_cert_prov_build_security (const SfbWebTicket *ticket,
                                    const guint8 *proof_key,
                                    gsize proof_key_len,
                                    GError **error);

/* The GetAndPublishCert SOAP envelope (step 5) */
char *sfb_cert_prov_build_get_and_publish_cert (const char *auth_uri,
                                                const char *security,
                                                const char *device_id,
                                                const char *entity,
                                                GBytes *csr_der,
                                                const char *message_id,
                                                const char *request_id);

G_END_DECLS
