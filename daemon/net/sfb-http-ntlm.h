/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HTTPS requests that answer a 401 with NTLM themselves (the Exchange
 * client and certificate provisioning).  NTLM over HTTP is
 * connection-oriented: the NEGOTIATE and the AUTHENTICATE must travel on
 * the connection that carried the CHALLENGE, so a session keeps one
 * connection per host, a POST is marked safe to send on a used connection,
 * and a leg reads its whole answer (bounded) before it completes.
 *
 * Error text names the request by the caller's @shown text only: never a
 * header, a token or a body.
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A session with one connection per host that leaves 401s to the caller;
 * @database: nullable (the system store). */
SoupSession *sfb_http_ntlm_session_new (GTlsDatabase *database);

/* @url parsed if it is https with a host; else NULL and
 * SFB_ERROR_SERVER_REJECTED "refusing the non-HTTPS or malformed URL …". */
GUri *sfb_http_ntlm_parse_url (const char *url, GError **error);

/* A request that never redirects and may share the connection of the
 * last leg; @authorization and @body (sent as text/xml) nullable. */
SoupMessage *sfb_http_ntlm_message_new (const char *method,
                                        GUri *uri,
                                        const char *authorization,
                                        const char *body);

/* Sends @message on @session and reads its body, at most @max_body bytes.
 * Errors (SFB_ERROR), each starting with @shown: SFB_ERROR_NOT_REACHABLE
 * for the transport; SFB_ERROR_SERVER_REJECTED for a body over
 * @max_body; with @certificate_host (nullable), a refused certificate in
 * words for that host (sfb-tls.h).  G_IO_ERROR_CANCELLED as it is. */
void sfb_http_ntlm_send_async (SoupSession *session,
                               SoupMessage *message,
                               gsize max_body,
                               const char *shown,
                               const char *certificate_host,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
/* The body; the status and headers are @message's. */
GBytes *sfb_http_ntlm_send_finish (GAsyncResult *result, GError **error);
/* After sfb_http_ntlm_send_finish() failed: TRUE when no server is there at
 * all (the host name does not exist or has no address, or nothing listens
 * on the port), which trying again changes only when DNS or the network
 * does; FALSE for every other failure (timeouts, TLS, a DNS server's
 * failure, an unreachable network). */
gboolean sfb_http_ntlm_send_found_no_server (GAsyncResult *result);

/* "@scheme <token>": an Authorization header. */
char *sfb_http_ntlm_authorization (const char *scheme, GBytes *token);

/* The Authorization header that opens the handshake: an NTLM NEGOTIATE
 * under @scheme ("NTLM" or "Negotiate"). */
char *sfb_http_ntlm_negotiate (const char *scheme);

/* The NTLM CHALLENGE a 401 carries in "WWW-Authenticate: @scheme <b64>"
 * (@scheme NULL: under NTLM or Negotiate), or NULL. */
GBytes *sfb_http_ntlm_challenge (SoupMessage *message, const char *scheme);

G_END_DECLS
