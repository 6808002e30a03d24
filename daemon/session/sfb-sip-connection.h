/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSipConnection: one SIP-over-TLS connection to a registrar
 * (docs/protocol.md §3, §5, §12.1).
 *
 * Connects with GSocketClient (TLS, server identity = the host dialled,
 * trust = the given GTlsDatabase), sets TCP_NODELAY and writes each SIP
 * message with one write.  Incoming bytes go through the incremental
 * parser (CRLF keep-alives skipped); every incoming message passes
 * SfbSipSecurity's verify, every outgoing one its authorize.  A message
 * that fails verification, a parse error, EOF or a read error ends the
 * connection: "closed" is emitted once with the reason and every pending
 * transaction fails.
 *
 * Client transactions: sfb_sip_connection_send_request_async() adds the
 * Via (with a fresh branch) and Max-Forwards when missing and completes
 * with the first final response whose top Via branch and CSeq match, or
 * SFB_ERROR_TIMED_OUT.  Incoming requests go to the request handler
 * (sfb_sip_connection_set_request_handler()), which answers with
 * sfb_sip_connection_send_response().
 *
 * Keep-alive: when nothing was sent for the keep-alive interval, a CRLFCRLF
 * ping goes out (every sent message restarts the idle clock).  Once the
 * server has answered a ping with a CRLF pong, a ping unanswered for 10 s
 * ends the connection ("closed"), and pings go at least every 60 s; a
 * message from the server that stalls (15 s without a byte inside it, or
 * not complete within 60 s) ends it too (sfbd(8), STAYING SIGNED IN).
 */
#pragma once

#include <gio/gio.h>

#include "sfb-sip-message.h"
#include "sfb-sip-security.h"

G_BEGIN_DECLS

/* In the message of a connection that failed because its name did not
 * resolve: "Cannot connect to host:port: the name does not resolve (...)" */
#define SFB_SIP_CONNECTION_NO_ADDRESS "does not resolve"

/* Transaction timeout when the caller passes 0: no final answer in this
 * time fails the request with SFB_ERROR_TIMED_OUT (REGISTER uses a
 * shorter one of its own, docs/protocol.md §10.2). */
#define SFB_SIP_CONNECTION_DEFAULT_TIMEOUT_MS 30000

#define SFB_TYPE_SIP_CONNECTION (sfb_sip_connection_get_type ())
G_DECLARE_FINAL_TYPE (SfbSipConnection, sfb_sip_connection, SFB, SIP_CONNECTION, GObject)

void sfb_sip_connection_new_async (const char *host,
                                   guint16 port,
                                   GTlsDatabase *tls_database,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
SfbSipConnection *sfb_sip_connection_new_finish (GAsyncResult *result, GError **error);
/* Connections reuse the addresses an earlier connection resolved for the
 * same name for a minute; this forgets them all (the network changed). */
void sfb_sip_connection_forget_addresses (void);
/* The address @host had in an earlier run (the state directory): the next
 * connection to @host dials it at once and resolves the name beside it,
 * falling back to the resolver's answer if it fails.  Ignored when this
 * run already resolved @host. */
void sfb_sip_connection_remember_address (const char *host, const char *address);
/* Over an open stream (unit tests; no TLS, no DNS). */
SfbSipConnection *
sfb_sip_connection_new_for_stream (GIOStream *stream, const char *host, guint16 port);

const char *sfb_sip_connection_get_host (SfbSipConnection *self);
guint16 sfb_sip_connection_get_port (SfbSipConnection *self);
const char *sfb_sip_connection_get_local_ip (SfbSipConnection *self);
guint16 sfb_sip_connection_get_local_port (SfbSipConnection *self);
const char *sfb_sip_connection_get_local_address (SfbSipConnection *self); /* "ip:port" */
const char *sfb_sip_connection_get_interface (SfbSipConnection *self);     /* "" if unknown */
const char *sfb_sip_connection_get_remote_ip (SfbSipConnection *self);     /* "" if unknown */
/* how the address was found: "resolved", "resolved before", "the
 * remembered address", ...; "" if unknown */
const char *sfb_sip_connection_get_address_source (SfbSipConnection *self);
const char *sfb_sip_connection_get_peer_subject (SfbSipConnection *self); /* certificate */
GBytes *sfb_sip_connection_get_peer_certificate (SfbSipConnection *self); /* DER, nullable */

void sfb_sip_connection_set_security (SfbSipConnection *self, SfbSipSecurity *security);
/* Each incoming, verified request goes to one handler, the owner's,
 * called directly (every NOTIFY of a presence storm: a GObject signal
 * would cost an emission each).  NULL @func removes it; requests are then
 * dropped.  The handler holds no reference on @user_data: remove it
 * before @user_data goes. */
typedef void (*SfbSipConnectionRequestFunc) (SfbSipConnection *connection,
                                             SfbSipMessage *request,
                                             gpointer user_data);
void sfb_sip_connection_set_request_handler (SfbSipConnection *self,
                                             SfbSipConnectionRequestFunc func,
                                             gpointer user_data);
SfbSipSecurity *sfb_sip_connection_get_security (SfbSipConnection *self);
void sfb_sip_connection_set_keepalive_interval (SfbSipConnection *self, guint seconds);
guint64 sfb_sip_connection_get_n_keepalives_sent (SfbSipConnection *self);

void sfb_sip_connection_send_request_async (SfbSipConnection *self,
                                            SfbSipMessage *request,
                                            guint timeout_ms,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);
SfbSipMessage *sfb_sip_connection_send_request_finish (SfbSipConnection *self,
                                                       GAsyncResult *result,
                                                       GError **error);
gboolean
sfb_sip_connection_send_response (SfbSipConnection *self, SfbSipMessage *response, GError **error);
/* A request that gets no response (ACK to a 2xx): Via and signature
 * added, no transaction. */
gboolean
sfb_sip_connection_send_ack (SfbSipConnection *self, SfbSipMessage *request, GError **error);

gboolean sfb_sip_connection_is_closed (SfbSipConnection *self);
/* Closed at once for the caller ("closed" is not emitted, pending
 * transactions fail, nothing more is read or sent), but the messages
 * already queued (answers just given) still go out before the stream
 * closes, for at most a few seconds. */
void sfb_sip_connection_close (SfbSipConnection *self);

char *sfb_sip_connection_new_token (guint n_hex);

G_END_DECLS
