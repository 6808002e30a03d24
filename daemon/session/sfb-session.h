/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSession: the sign-in pipeline and the registration that keeps one
 * account signed in (docs/protocol.md §1, §3, §4, §9, §10, §12; the files
 * that make it up are listed in sfb-session-private.h).
 *
 *   signed-out -> discovering -> connecting -> authenticating
 *     -> redirecting -> connecting -> authenticating -> signed-in
 *   signed-in -> reconnecting -> (discovering|connecting) ... -> signed-in
 *   any -> failed (AuthFailed, CertificateInvalid, AccountDisabled,
 *                  ServerRejected: only the user can fix those)
 *
 * After the 200 OK to REGISTER the session is retrieving-settings: it
 * emits "registered", and services (daemon/services) register "settings
 * tasks" from that handler; the session becomes signed-in when every task
 * ended, or after SFB_SESSION_SETTINGS_TIMEOUT_S.
 *
 * Candidates: the configured Server (skips discovery), else the last good
 * home pool (kept in <state_dir>/home-pool), then the results of
 * SfbDiscovery.  A connection failure moves on to the next candidate; a
 * certificate failure ends the attempt with CertificateInvalid.  Network
 * failures (every candidate unreachable, connection lost, 503, timeouts)
 * are retried forever with SfbBackoff, at once when the network comes back
 * or after resume; a rejected password is never retried automatically.
 *
 * Every property change is announced with "changed"; SfbDaemon copies
 * them to the Account interface.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-config.h"
#include "sfb-sip-message.h"

G_BEGIN_DECLS

#define SFB_TYPE_SESSION (sfb_session_get_type ())
G_DECLARE_FINAL_TYPE (SfbSession, sfb_session, SFB, SESSION, GObject)

SfbSession *sfb_session_new (SfbConfig *config, const char *state_dir);

/* Starts (or restarts) signing in with @password (copied, wiped at the
 * end).  Progress shows in the state; never blocks.  @password may be
 * NULL: Kerberos with the ticket of the user's credential cache only. */
void sfb_session_sign_in (SfbSession *self, const char *password);
/* Unsubscribes ("signing-out": services send SUBSCRIBE Expires: 0 and the
 * session waits up to 2 s for the answers), unregisters (REGISTER
 * Expires: 0, waiting up to 2 s for its answer) and closes; the state goes
 * to signed-out. */
void sfb_session_sign_out (SfbSession *self);
/* Drops the connection and signs in again at once.  Fails with
 * NotSignedIn when there is nothing to reconnect. */
gboolean sfb_session_reconnect (SfbSession *self, GError **error);

const char *sfb_session_get_state (SfbSession *self);
const char *sfb_session_get_server (SfbSession *self);
const char *sfb_session_get_server_version (SfbSession *self);
const char *sfb_session_get_auth_method (SfbSession *self);
const char *sfb_session_get_access_location (SfbSession *self);
const char *sfb_session_get_local_address (SfbSession *self);
const char *sfb_session_get_interface (SfbSession *self);
guint64 sfb_session_get_signed_in_since (SfbSession *self);
guint sfb_session_get_reconnect_attempts (SfbSession *self);
/* When the next automatic attempt starts (µs since the epoch), 0 when none
 * is scheduled (signed in, failed, signed out, or waiting for the network). */
guint64 sfb_session_get_next_retry (SfbSession *self);
/* The error that ended the last attempt (NULL after a success). */
const GError *sfb_session_get_last_error (SfbSession *self);
/* aa{sv}: the stages of the last attempt (GetSignInTrace). */
GVariant *sfb_session_get_trace (SfbSession *self);
/* The GRUU of the registration, or NULL. */
const char *sfb_session_get_gruu (SfbSession *self);
/* Whether the last REGISTER 200 listed @option in Supported. */
gboolean sfb_session_server_supports (SfbSession *self, const char *option);

/* ---- for daemon/services -------------------------------------------
 *
 * A request to send once registered: From (AOR;tag;epid), To, Call-ID,
 * CSeq 1, Max-Forwards, Contact (the GRUU) and User-Agent prefilled; the
 * connection adds the Via.  The caller adds Event/Accept/Content-Type/body
 * and may override To/Call-ID/CSeq/tags for in-dialog requests.
 * @request_uri NULL: the own AOR. */
SfbSipMessage *
sfb_session_new_request (SfbSession *self, const char *method, const char *request_uri);
/* Sends (signed) and completes with the final response; NotSignedIn when
 * not registered (or the connection ended while authenticating again),
 * TimedOut, or the connection's error when it is lost. */
void sfb_session_send_request_async (SfbSession *self,
                                     SfbSipMessage *request,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
SfbSipMessage *
sfb_session_send_request_finish (SfbSession *self, GAsyncResult *result, GError **error);
/* Signals:
 *   "registered" (void): a registration completed on a (new) connection:
 *                (re)subscribe and publish now.
 *   "signing-out" (void): sign-out is about to unregister: unsubscribe now;
 *                the REGISTER Expires: 0 waits for those answers.
 * Requests: sfb_session_add_request_handler() below.
 * sfb_session_respond() sends a signed response (never for BENOTIFY).
 *
 * A 401/407 to a request (the server lost the security association): the
 * session authenticates again on the same connection and sends the
 * request once more (next CSeq, new branch); requests made while it
 * authenticates wait for the new SA.  The second 401 is the answer. */
/* A verified request from the server other than the session's own
 * (registration-notify), while registered: handlers are offered it in the
 * order they were added; the first returning TRUE owns it (and answers
 * it).  A plain list rather than a GObject signal: every request of a
 * presence storm (a thousand NOTIFYs) goes through some six handlers, and
 * a signal with more than one handler marshals each call through GValues.
 * A handler added while a request is offered sees the next one; one
 * removed then is not called again.  The handler holds no reference on
 * @user_data: remove it before @user_data goes. */
typedef gboolean (*SfbSessionRequestFunc) (SfbSession *session,
                                           SfbSipMessage *request,
                                           gpointer user_data);
guint
sfb_session_add_request_handler (SfbSession *self, SfbSessionRequestFunc func, gpointer user_data);
/* Removes the handler @id and sets it to 0; nothing for 0. */
void sfb_session_clear_request_handler (SfbSession *self, guint *id);

gboolean sfb_session_respond (SfbSession *self,
                              SfbSipMessage *request,
                              guint code,
                              const char *reason,
                              const char *content_type,
                              GBytes *body,
                              GError **error);
/* The methods sfbd answers (Contact ;methods= and Allow): no SUBSCRIBE or
 * REFER, which it refuses with 501. */
#define SFB_SESSION_ALLOW "INVITE, MESSAGE, INFO, OPTIONS, BYE, CANCEL, NOTIFY, ACK, BENOTIFY"
/* For services that answer with more than a body (an INVITE's 200: Contact,
 * Record-Route, SDP): a response to @request with Via, From, To (tagged
 * with a new tag when untagged), Call-ID, CSeq and User-Agent, then
 * sfb_session_send_response() signs and sends it. */
SfbSipMessage *
sfb_session_new_response (SfbSession *self, SfbSipMessage *request, guint code, const char *reason);
gboolean sfb_session_send_response (SfbSession *self, SfbSipMessage *response, GError **error);
/* Sends @ack (an ACK made with sfb_session_new_request()) signed, without
 * waiting for anything: NotSignedIn when not connected. */
gboolean sfb_session_send_ack (SfbSession *self, SfbSipMessage *ack, GError **error);
/* The signed-in account's URI (the AOR), NULL before the first sign-in. */
const char *sfb_session_get_uri (SfbSession *self);

/* retrieving-settings: the session stays there until every task begun
 * (from a "registered" handler) ended, or the timeout elapsed.  begin
 * returns 0 (a no-op id) outside retrieving-settings; ending a stale id
 * (after a reconnect) does nothing. */
#define SFB_SESSION_SETTINGS_TIMEOUT_S 10
guint sfb_session_begin_settings_task (SfbSession *self, const char *name);
void sfb_session_end_settings_task (SfbSession *self, guint id);

/* ---- for services that talk HTTP with the sign-in credentials (Exchange) ----
 *
 * The TLS trust of the sign-in (system store plus CAFile), NULL before the
 * first attempt. */
GTlsDatabase *sfb_session_get_tls_database (SfbSession *self);
/* A new NTLM context (an SfbAuthContext) for connection-oriented HTTP NTLM
 * with the sign-in login and password, or NULL when no password is known
 * (a Kerberos-only sign-in, or signed out).  Only the NTLM hash is kept in
 * it. */
GObject *sfb_session_new_http_ntlm_context (SfbSession *self);
/* A new Kerberos context for HTTP Negotiate (SPNEGO-wrapped; an
 * SfbAuthContext, one per HTTP request: prepare
 * it with a challenge whose targetname is "HTTP/<host>") with the user's
 * ticket, else the sign-in password; NULL when built without Kerberos. */
GObject *sfb_session_new_http_kerberos_context (SfbSession *self);
/* A stage after signed-in in the sign-in trace (GetSignInTrace), started
 * at @started_at (real time, µs) and lasting @duration µs: @error NULL is
 * "ok", else its D-Bus name and message are the result and detail; @detail
 * (plain text, never a secret) comes first.  Only while signed in: in any
 * other state the trace is a sign-in attempt's, and nothing is added. */
void sfb_session_trace_add_stage (SfbSession *self,
                                  const char *name,
                                  gint64 started_at,
                                  gint64 duration,
                                  const GError *error,
                                  const char *detail);
/* Removes the complete stages whose name starts with @prefix: a service
 * trying again replaces its stages of the last try (the trace tells one
 * sign-in, not every retry).  Only while signed in, as above. */
void sfb_session_trace_remove_stages (SfbSession *self, const char *prefix);

G_END_DECLS
