/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TLS trust for every connection sfbd makes (SIP and HTTPS): the system
 * store plus the optional [TLS] CAFile (docs/protocol.md §3).  A chain is
 * accepted when either source verifies it for the identity dialled; the
 * identity check itself is never relaxed.  There is no plaintext fallback
 * anywhere.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SFB_TYPE_TLS_DATABASE (sfb_tls_database_get_type ())
G_DECLARE_FINAL_TYPE (SfbTlsDatabase, sfb_tls_database, SFB, TLS_DATABASE, GTlsDatabase)

/* Trust = the system store plus the PEM anchors in @ca_file (nullable or
 * empty: system store only).  The system store is loaded when a chain the
 * CA file does not accept (or a look-up it cannot answer) needs it; without
 * a CA file it is preloaded (sfb_tls_database_preload()).  Fails with
 * SFB_ERROR_NOT_CONFIGURED naming the file when it cannot be read or holds
 * no certificate. */
GTlsDatabase *sfb_tls_database_new (const char *ca_file, GError **error);

/* Loads the system trust store (12-14 ms of CPU with GnuTLS, ~3.9 MB of
 * heap) in a worker thread, so that the handshake that needs it finds it
 * ready.  Never blocks the caller; a second call finds it loaded. */
void sfb_tls_preload_system_trust (void);

/* A new attempt will verify servers with @database: preloads the system
 * store when it will be needed, i.e. without a CA file, or once a
 * verification with @database asked it (a server the CA file does not
 * vouch for). */
void sfb_tls_database_preload (GTlsDatabase *database);

/* Drops the process's system trust store (the one every SfbTlsDatabase
 * shares), to give its heap back once signed in: a verification still
 * running keeps it until it ends, the next one loads it again.  Trust is
 * unchanged.  Main thread or any; does nothing when it is not loaded. */
void sfb_tls_release_system_trust (void);

/* Makes the process's default TLS database (g_tls_backend_get_default_database(),
 * which glib-networking gives every client connection while it is being
 * made, before the caller's own database is set, as libsoup does) an
 * SfbTlsDatabase without CA file: the same trust, but the system store is
 * loaded only when a verification needs it, not for every HTTPS connection. */
void sfb_tls_install_default_database (void);

/* Turn GTlsCertificateFlags of a rejected peer into
 * SFB_ERROR_CERTIFICATE_INVALID, the message naming the host and the failed
 * check(s) in words ("untrusted issuer", "expired", "does not match the name
 * <host>") and what to do. */
GError *sfb_tls_error_new (GTlsCertificateFlags errors, const char *host);
/* The same, with what @certificate (the rejected peer's, may be NULL) says
 * about the failed checks: when it expired or becomes valid, and the names
 * it is for when it does not match @host. */
GError *sfb_tls_error_new_for_certificate (GTlsCertificateFlags errors,
                                           const char *host,
                                           GTlsCertificate *certificate);

/* "pool1.contoso.test, sip.contoso.test": the DNS names @certificate is for
 * (bounded, only name characters), else its subject; free with g_free(). */
char *sfb_tls_certificate_names (GTlsCertificate *certificate);

/* The failed checks in words, comma separated ("untrusted issuer, expired"). */
char *sfb_tls_flags_to_string (GTlsCertificateFlags errors, const char *host);

G_END_DECLS
