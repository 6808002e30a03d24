/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSession: the sign-in pipeline and the registration that keeps one
 * account signed in (issue 4; protocol.md §1, §3, §4, §9, §10, §12).
 *
 *   signed-out -> discovering -> connecting -> authenticating
 *     -> redirecting -> connecting -> authenticating -> signed-in
 *   signed-in -> reconnecting -> (discovering|connecting) ... -> signed-in
 *   any -> failed (AuthFailed, CertificateInvalid, AccountDisabled,
 *                  ServerRejected: only the user can fix those)
 *
 * retrieving-settings belongs to issue 6; until then the session goes from
 * the 200 OK to REGISTER straight to signed-in.
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

G_BEGIN_DECLS

#define SFB_TYPE_SESSION (sfb_session_get_type ())
G_DECLARE_FINAL_TYPE (SfbSession, sfb_session, SFB, SESSION, GObject)

SfbSession *sfb_session_new (SfbConfig *config, const char *state_dir);

/* Starts (or restarts) signing in with @password (copied, wiped at the
 * end).  Progress shows in the state; never blocks. */
void sfb_session_sign_in (SfbSession *self, const char *password);
/* Unregisters (REGISTER Expires: 0, waiting briefly for its answer) and
 * closes; the state goes to signed-out. */
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
/* The error that ended the last attempt (NULL after a success). */
const GError *sfb_session_get_last_error (SfbSession *self);
/* aa{sv}: the stages of the last attempt (GetSignInTrace). */
GVariant *sfb_session_get_trace (SfbSession *self);
/* The GRUU of the registration, or NULL. */
const char *sfb_session_get_gruu (SfbSession *self);

G_END_DECLS
