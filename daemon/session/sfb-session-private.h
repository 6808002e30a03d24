/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSession's insides, shared by the files that make up the session
 * (docs/architecture.md §9, §10).  Follow one sign-in in this order:
 *
 *   sfb-session.c              the object, its properties and public API, the
 *                              state it shows, retrieving-settings -> signed-in
 *   sfb-sign-in-attempt.c      candidates, discovery, connecting, the REGISTER
 *                              and its answers, the 301 redirect, registered
 *   sfb-sign-in-auth.c         the 401 legs: choosing a scheme, answering its
 *                              challenges, TLS-DSK certificate provisioning
 *   sfb-registration-lifetime.c  once registered: refresh, SA renewal,
 *                              re-authentication of service requests, the
 *                              server's requests and deregistration, sign-out
 *   sfb-reconnect-policy.c     failures: give up (failed) or retry later
 *                              (backoff, Retry-After, 504), network and sleep
 *   sfb-sign-in-trace.c        the stages of the last sign-in (GetSignInTrace)
 *
 * Nothing outside daemon/session includes this header.
 */
#pragma once

#include "sfb-session.h"

#include "sfb-auth-choice.h"
#include "sfb-backoff.h"
#include "sfb-cert-provisioning-client.h"
#include "sfb-deadline.h"
#include "sfb-discovery.h"
#include "sfb-sip-connection.h"
#include "sfb-sip-security.h"

G_BEGIN_DECLS

#define REGISTER_TIMEOUT_MS 20000
#define SIGN_OUT_TIMEOUT_MS 2000
/* 504 Server Time-out: REGISTER again after Retry-After or 60 s, six times,
 * then handle it as a 503 (docs/protocol.md §10.2) */
#define TIMEOUT_RESEND_S 60
#define MAX_TIMEOUT_RESENDS 6

typedef enum
{
  PHASE_NONE,
  PHASE_SIGN_IN, /* the REGISTERs of a sign-in, up to the 200 or 301 */
  PHASE_REFRESH, /* re-REGISTER with the SA in place */
  PHASE_REAUTH,  /* a new SA on the same connection */
  PHASE_SIGN_OUT,
} Phase;

enum
{
  STR_STATE,
  STR_SERVER,
  STR_SERVER_VERSION,
  STR_AUTH_METHOD,
  STR_ACCESS_LOCATION,
  STR_LOCAL_ADDRESS,
  STR_INTERFACE,
  N_STRINGS
};

struct _SfbSession
{
  GObject parent_instance;

  SfbConfig *config;
  char *state_dir;
  gboolean home_address_read; /* the home pool's remembered address, once a process */
  char *password;
  char *uri;
  char *domain;
  char *epid;
  char *instance;

  GTlsDatabase *tls_database;
  SfbDiscovery *discovery;
  GCancellable *cancellable; /* of the current attempt */

  GPtrArray *candidates; /* of SfbServerCandidate */
  guint candidate_index;
  gboolean discovery_pending; /* run discovery when the candidates run out */
  /* early connect (docs/benchmarks.md): dial discovery's early candidate
   * while autodiscover is still out */
  gboolean discovering;   /* a discovery run is in flight */
  guint discovery_base;   /* where its candidates go in `candidates` */
  gboolean early_dialled; /* an early candidate was dialled in this run */
  gboolean early_failed;  /* ... and failed: wait for the full list */
  guint connect_serial;   /* a connect of an older serial is stale */
  GString *tried;
  guint redirects;

  SfbSipConnection *connection;
  SfbSipSecurity *security;
  Phase phase;
  guint auth_legs;
  SfbAuthScheme auth_scheme;       /* the scheme of `security` (sfb_auth_choose()) */
  guint auth_failed;               /* SfbAuthScheme bits that failed in this sign-in */
  gboolean ccache_sign_in;         /* signing in with Kerberos credentials only */
  SfbUserCertificate *user_cert;   /* TLS-DSK: the stored certificate (loaded once) */
  SfbCertProvisioner *provisioner; /* TLS-DSK: web tickets, provisioning */
  gboolean user_cert_fresh;        /* provisioned by this sfbd: used even if short-lived */
  char *call_id;
  char *from_tag;
  guint32 cseq;
  char *ms_opaque;
  char *gruu;
  GStrv supported; /* Supported of the REGISTER 200 */
  gboolean registered;

  /* the registration's refresh and the SA's end: deadlines, one main-loop
   * source for them all (sfb-deadline.h) */
  SfbDeadline reregister;
  SfbDeadline reauth;
  guint retry_id;
  SfbBackoff backoff;
  guint resend_id;       /* REGISTER again after a 504 (docs/protocol.md §10.2) */
  guint redirect_id;     /* connect to the redirect target (an idle) */
  guint n_timeouts;      /* consecutive 504s */
  guint last_sip_status; /* of the last answer to REGISTER, for the journal */
  /* failures (see sfb-reconnect-policy.c) */
  char *attempt_server;     /* host:port dialled by the current attempt, for the journal */
  gint64 next_retry;        /* real time µs of the next automatic attempt, 0: none */
  char *warned;             /* the failure last logged at WARNING while retrying */
  GError *auth_cause;       /* why the last failed scheme of this sign-in failed */
  guint signature_failures; /* in a row, not reset by signing in again */

  GNetworkMonitor *monitor;
  gboolean network_available;
  gboolean waiting_for_network; /* reconnecting, no timer: retried when it is back */
  GDBusConnection *system_bus;
  guint sleep_subscription;
  /* suspend (sfb-reconnect-policy.c): a logind delay inhibitor held while
   * awake, released once the sign-out before sleep is done */
  int sleep_inhibitor;          /* its fd, -1: none */
  gboolean inhibitor_pending;   /* Inhibit() is under way */
  gboolean release_on_sign_out; /* the sign-out of PrepareForSleep(true) */
  gboolean resume_sign_in;      /* signed out for sleep: sign in again on resume */
  gboolean resumed_early;       /* PrepareForSleep(false) came before the sign-out ended */
  char *resume_password;        /* the password of that sign-in (NULL: Kerberos) */

  char *strings[N_STRINGS];
  guint64 signed_in_since;
  guint reconnect_attempts;
  GError *last_error;
  GPtrArray *trace; /* of TraceStage (sfb-sign-in-trace.c) */

  /* signing out: unsubscribe first (see sfb-registration-lifetime.c) */
  guint sign_out_serial;  /* of the current sign-out, never 0 */
  guint sign_out_pending; /* its unsubscribes not answered yet */
  gboolean deregistering; /* its REGISTER Expires: 0 went out */
  guint sign_out_id;      /* the deadline of the unsubscribes */

  /* service requests waiting for a new SA (see "requests for
   * daemon/services" in sfb-registration-lifetime.c), of GTask */
  GPtrArray *reauth_queue;

  /* the services' request handlers (sfb_session_add_request_handler()) */
  GArray *request_handlers; /* of RequestHandler, in the order added */
  guint request_handler_id; /* the last id given */
  guint request_emissions;  /* offers running (a handler may recurse) */
  gboolean request_compact; /* handlers were removed during an offer */

  /* retrieving-settings (see "settings tasks" in sfb-session.c) */
  GHashTable *settings_tasks; /* id -> name */
  guint next_settings_task;
  guint settings_timeout_id;
};

/* sfb-session.c: properties and tearing down */
void sfb_session_changed (SfbSession *self);
void sfb_session_set_string (SfbSession *self, guint which, const char *value);
void sfb_session_set_state (SfbSession *self, const char *state);
void sfb_session_set_last_error (SfbSession *self, const GError *error);
void sfb_session_clear_connection_properties (SfbSession *self);
void sfb_session_drop_connection (SfbSession *self);
void sfb_session_close_http_connections (SfbSession *self);
void sfb_session_release_trust_when_done (SfbSession *self);
void sfb_session_cancel_attempt (SfbSession *self);
void sfb_session_wipe_password (SfbSession *self);
gboolean sfb_session_emit_request (SfbSession *self, SfbSipMessage *request);
void sfb_session_emit_signing_out (SfbSession *self);
void sfb_session_enter_retrieving_settings (SfbSession *self);

/* sfb-sign-in-attempt.c */
void sfb_session_start_attempt (SfbSession *self, gboolean use_home_pool);
void sfb_session_start_registration (SfbSession *self);
void sfb_session_send_register (SfbSession *self, int expires);
/* @address: the IP address the pool was reached at, or NULL */
void
sfb_session_save_home_pool (SfbSession *self, const char *host, guint16 port, const char *address);
void sfb_session_forget_home_pool (SfbSession *self);

/* sfb-sign-in-auth.c */
gboolean sfb_session_new_security (SfbSession *self, GError **error);
gboolean sfb_session_handle_challenge (SfbSession *self, SfbSipMessage *response);
void sfb_session_web_ticket_get_async (GObject *object,
                                       const char *service_url,
                                       const char *applies_to,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);
char *sfb_session_web_ticket_get_finish (GObject *source, GAsyncResult *result, GError **error);

/* sfb-registration-lifetime.c */
void sfb_session_schedule_refresh (SfbSession *self, SfbSipMessage *response);
void sfb_session_refreshed (SfbSession *self, SfbSipMessage *response);
/* the connection's request handler; @user_data: the session */
void
sfb_session_on_request (SfbSipConnection *connection, SfbSipMessage *request, gpointer user_data);
void sfb_session_fail_reauth_queue (SfbSession *self);
void sfb_session_begin_sign_out (SfbSession *self);
void sfb_session_finish_sign_out (SfbSession *self);

/* sfb-reconnect-policy.c */
void sfb_session_begin_attempt_fields (SfbSession *self, const char *host, guint16 port);
void sfb_session_fail (SfbSession *self, const GError *error);
void sfb_session_retry_later (SfbSession *self, const GError *error, gint64 delay_ms);
void sfb_session_retry_when_available (SfbSession *self, SfbSipMessage *response);
void sfb_session_resend_after_timeout (SfbSession *self, SfbSipMessage *response);
char *sfb_session_diagnostics_of (SfbSipMessage *response);
void sfb_session_watch_system (SfbSession *self);
void sfb_session_sleep_signed_out (SfbSession *self);
void sfb_session_forget_resume (SfbSession *self);
void sfb_session_unwatch_system (SfbSession *self);

/* sfb-sign-in-trace.c */
GPtrArray *sfb_session_trace_new (void);
void sfb_session_stage_begin (SfbSession *self, const char *name, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
void sfb_session_stage_detail (SfbSession *self, const char *format, ...) G_GNUC_PRINTF (2, 3);
void sfb_session_stage_end (SfbSession *self, const GError *error);
void sfb_session_discovery_detail (SfbSession *self, const char *text);

G_END_DECLS
