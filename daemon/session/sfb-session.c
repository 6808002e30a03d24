/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-session.h"

#include "sfb-auth-choice.h"
#include "sfb-autodiscover.h"
#include "sfb-backoff.h"
#include "sfb-cert-provisioning-client.h"
#include "sfb-discovery.h"
#include "sfb-endpoint-id.h"
#include "sfb-error.h"
#include "sfb-failure.h"
#include "sfb-file.h"
#include "sfb-home-pool.h"
#include "sfb-log.h"
#include "sfb-ntlm-context.h"
#include "sfb-registration.h"
#ifdef HAVE_KERBEROS
#include "sfb-kerberos-context.h"
#endif
#include "sfb-sip-connection.h"
#include "sfb-sip-security.h"
#include "sfb-sip-uri.h"
#include "sfb-tls-dsk-context.h"
#include "sfb-tls.h"

#include <sfbd/sfb-names.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define MAX_REDIRECTS 5
/* NTLM: two challenges (schemes, then CHALLENGE); a third 401 answers the
 * AUTHENTICATE: the password was refused (protocol.md §17.9) */
#define MAX_AUTH_LEGS 2
/* TLS-DSK: the schemes, ServerHello..Done, then ChangeCipherSpec+Finished */
#define MAX_AUTH_LEGS_TLS_DSK 3
#define MAX_CANDIDATES 32
#define REGISTER_TIMEOUT_MS 20000
#define SIGN_OUT_TIMEOUT_MS 2000
#define KEEPALIVE_BEFORE_REGISTERED_S 60
#define MAX_RETRY_AFTER_S 3600
/* a 200 to REGISTER that says nowhere how long it holds (RFC 3261 wants
 * one): refresh as if it held this long, short enough for any server */
#define DEFAULT_EXPIRES_S 120
/* a server whose signatures fail: each attempt is a full logon that leaves
 * a registration behind, so from the second failure in a row the retry
 * waits twice this, then doubles (signature_retry_delay_ms()) */
#define SIGNATURE_RETRY_S 15
/* a registration that lasted this long forgets earlier signature failures */
#define SIGNATURE_FORGET_S 300
/* 504 Server Time-out: REGISTER again after Retry-After or 60 s, six times,
 * then handle it as a 503 (protocol.md §10.2) */
#define TIMEOUT_RESEND_S 60
#define MAX_TIMEOUT_RESENDS 6
#define MAX_TRACE_STAGES 64
#define CONTACT_METHODS                                                                            \
  "INVITE, MESSAGE, INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY"

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

typedef struct
{
  char *stage;
  gint64 started_at; /* real time, µs */
  gint64 started_mono;
  gint64 duration; /* -1 while running */
  char *result;
  GString *detail;
} TraceStage;

struct _SfbSession
{
  GObject parent_instance;

  SfbConfig *config;
  char *state_dir;
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
  SfbAuthScheme auth_scheme;       /* the scheme of `security` (auth choice, issue 5) */
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

  guint reregister_id;
  guint reauth_id;
  guint retry_id;
  SfbBackoff backoff;
  guint resend_id;       /* REGISTER again after a 504 (protocol.md §10.2) */
  guint redirect_id;     /* connect to the redirect target (an idle) */
  guint n_timeouts;      /* consecutive 504s */
  guint last_sip_status; /* of the last answer to REGISTER, for the journal */
  /* failures (see "failures" below) */
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

  char *strings[N_STRINGS];
  guint64 signed_in_since;
  guint reconnect_attempts;
  GError *last_error;
  GPtrArray *trace; /* of TraceStage */

  /* signing out: unsubscribe first (see "signing out" below) */
  guint sign_out_serial;  /* of the current sign-out, never 0 */
  guint sign_out_pending; /* its unsubscribes not answered yet */
  gboolean deregistering; /* its REGISTER Expires: 0 went out */
  guint sign_out_id;      /* the deadline of the unsubscribes */

  /* service requests waiting for a new SA (see "requests for
   * daemon/services" below), of GTask */
  GPtrArray *reauth_queue;

  /* issue 6: retrieving-settings (see "settings tasks" below) */
  GHashTable *settings_tasks; /* id -> name */
  guint next_settings_task;
  guint settings_timeout_id;
};

G_DEFINE_FINAL_TYPE (SfbSession, sfb_session, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  SIGNAL_REGISTERED,
  SIGNAL_REQUEST,
  SIGNAL_SIGNING_OUT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void connect_next (SfbSession *self);
static void enter_retrieving_settings (SfbSession *self);
static void clear_settings_tasks (SfbSession *self);
static gboolean emit_request (SfbSession *self, SfbSipMessage *request);
static void send_register (SfbSession *self, int expires);
static void start_attempt (SfbSession *self, gboolean use_home_pool);
static void fail_reauth_queue (SfbSession *self);
static void resend_reauth_queue (SfbSession *self);
static void begin_sign_out (SfbSession *self);

/* ---- properties ------------------------------------------------------ */

static void
changed (SfbSession *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
set_string (SfbSession *self, guint which, const char *value)
{
  if (value == NULL)
    value = "";
  if (g_strcmp0 (self->strings[which], value) == 0)
    return;
  g_free (self->strings[which]);
  self->strings[which] = g_strdup (value);
  changed (self);
}

static void
set_state (SfbSession *self, const char *state)
{
  if (g_strcmp0 (self->strings[STR_STATE], state) != 0)
    sfb_log (G_LOG_LEVEL_INFO, SFB_LOG_STATE (state), "MESSAGE", "State: %s", state);
  set_string (self, STR_STATE, state);
}

static void
set_last_error (SfbSession *self, const GError *error)
{
  g_clear_error (&self->last_error);
  if (error != NULL)
    {
      self->last_error = g_error_copy (error);
      sfb_error_convert (&self->last_error);
    }
  changed (self);
}

static void
clear_connection_properties (SfbSession *self)
{
  set_string (self, STR_SERVER, NULL);
  set_string (self, STR_SERVER_VERSION, NULL);
  set_string (self, STR_LOCAL_ADDRESS, NULL);
  set_string (self, STR_INTERFACE, NULL);
  set_string (self, STR_ACCESS_LOCATION, NULL);
  set_string (self, STR_AUTH_METHOD, NULL);
  if (self->signed_in_since != 0)
    {
      self->signed_in_since = 0;
      changed (self);
    }
}

/* ---- trace ----------------------------------------------------------- */

static void
trace_stage_free (TraceStage *stage)
{
  g_free (stage->stage);
  g_free (stage->result);
  g_string_free (stage->detail, TRUE);
  g_free (stage);
}

static TraceStage *
current_stage (SfbSession *self)
{
  TraceStage *stage;

  if (self->trace->len == 0)
    return NULL;
  stage = g_ptr_array_index (self->trace, self->trace->len - 1);
  return stage->duration < 0 ? stage : NULL;
}

static void G_GNUC_PRINTF (2, 3) stage_detail (SfbSession *self, const char *format, ...)
{
  TraceStage *stage = current_stage (self);
  va_list args;

  if (stage == NULL)
    return;
  if (stage->detail->len > 0)
    g_string_append (stage->detail, "; ");
  va_start (args, format);
  g_string_append_vprintf (stage->detail, format, args);
  va_end (args);
}

/* Ends the running stage: "ok", or the D-Bus name of @error. */
static void
stage_end (SfbSession *self, const GError *error)
{
  TraceStage *stage = current_stage (self);

  if (stage == NULL)
    return;
  stage->duration = g_get_monotonic_time () - stage->started_mono;
  if (error != NULL)
    {
      g_autoptr (GError) converted = g_error_copy (error);

      sfb_error_convert (&converted);
      stage->result = g_strdup (sfb_error_get_dbus_name (converted));
      stage_detail (self, "%s", converted->message);
    }
  else
    {
      stage->result = g_strdup ("ok");
    }
}

static void G_GNUC_PRINTF (3, 4)
    stage_begin (SfbSession *self, const char *name, const char *format, ...)
{
  TraceStage *stage;
  va_list args;

  stage_end (self, NULL);
  if (self->trace->len >= MAX_TRACE_STAGES)
    return;
  stage = g_new0 (TraceStage, 1);
  stage->stage = g_strdup (name);
  stage->started_at = g_get_real_time ();
  stage->started_mono = g_get_monotonic_time ();
  stage->duration = -1;
  stage->detail = g_string_new (NULL);
  if (format != NULL)
    {
      va_start (args, format);
      g_string_append_vprintf (stage->detail, format, args);
      va_end (args);
    }
  g_ptr_array_add (self->trace, stage);
}

GVariant *
sfb_session_get_trace (SfbSession *self)
{
  GVariantBuilder builder;

  g_return_val_if_fail (SFB_IS_SESSION (self), NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < self->trace->len; i++)
    {
      TraceStage *stage = g_ptr_array_index (self->trace, i);
      gint64 duration
          = stage->duration >= 0 ? stage->duration : g_get_monotonic_time () - stage->started_mono;

      g_variant_builder_open (&builder, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&builder, "{sv}", "Stage", g_variant_new_string (stage->stage));
      g_variant_builder_add (
          &builder, "{sv}", "StartedAt", g_variant_new_uint64 ((guint64) stage->started_at));
      g_variant_builder_add (
          &builder, "{sv}", "Duration", g_variant_new_uint64 ((guint64) MAX (duration, 0)));
      g_variant_builder_add (
          &builder,
          "{sv}",
          "Result",
          g_variant_new_string (stage->result != NULL ? stage->result : "in-progress"));
      g_variant_builder_add (&builder, "{sv}", "Detail", g_variant_new_string (stage->detail->str));
      g_variant_builder_close (&builder);
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* ---- home pool ------------------------------------------------------- */

static char *
home_pool_path (SfbSession *self)
{
  return g_build_filename (self->state_dir, SFB_HOME_POOL_FILE, NULL);
}

static SfbServerCandidate *
load_home_pool (SfbSession *self)
{
  g_autofree char *path = home_pool_path (self);
  g_autofree char *contents = NULL;
  g_autofree char *host = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  guint16 port = 0;

  /* never blocks: anything but a small regular file is no home pool */
  if (!sfb_file_read_regular (path, 4096, &contents, &length, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_message ("Ignoring the remembered home pool: %s", error->message);
      return NULL;
    }
  if (!sfb_home_pool_parse (contents, length, self->uri, &host, &port))
    return NULL;
  return sfb_server_candidate_new (host, port, SFB_SERVER_SOURCE_LAST_HOME_POOL, NULL);
}

static void
save_home_pool (SfbSession *self, const char *host, guint16 port)
{
  g_autofree char *path = home_pool_path (self);
  g_autofree char *contents = sfb_home_pool_format (self->uri, host, port);
  g_autoptr (GError) error = NULL;

  if (g_mkdir_with_parents (self->state_dir, 0700) != 0
      || !g_file_set_contents_full (
          path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_debug ("Could not remember the home pool: %s",
             error != NULL ? error->message : g_strerror (errno));
}

static void
forget_home_pool (SfbSession *self)
{
  g_autofree char *path = home_pool_path (self);

  (void) g_unlink (path);
}

/* ---- tearing down ---------------------------------------------------- */

static void on_connection_closed (SfbSipConnection *connection, GError *error, SfbSession *self);
static void on_request (SfbSipConnection *connection, SfbSipMessage *request, SfbSession *self);

static void
clear_timers (SfbSession *self)
{
  g_clear_handle_id (&self->reregister_id, g_source_remove);
  g_clear_handle_id (&self->reauth_id, g_source_remove);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->resend_id, g_source_remove);
  g_clear_handle_id (&self->redirect_id, g_source_remove);
  g_clear_handle_id (&self->sign_out_id, g_source_remove);
  self->waiting_for_network = FALSE;
  /* no changed() here (dispose calls this): every caller announces a
   * change of its own right after */
  self->next_retry = 0;
}

static void
drop_connection (SfbSession *self)
{
  g_autoptr (SfbSipConnection) connection = g_steal_pointer (&self->connection);

  /* stolen first: closing fails the pending transactions, whose callbacks
   * must see a stale connection */
  if (connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (connection, self);
      sfb_sip_connection_close (connection);
    }
  g_clear_object (&self->security);
  g_clear_pointer (&self->gruu, g_free);
  self->registered = FALSE;
  self->phase = PHASE_NONE;
  clear_settings_tasks (self);
  fail_reauth_queue (self);
}

/* Stops everything the current attempt does. */
static void
cancel_attempt (SfbSession *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  clear_timers (self);
  drop_connection (self);
  self->discovering = FALSE;
  self->early_dialled = FALSE;
  self->early_failed = FALSE;
  self->connect_serial++;
}

static void
wipe_password (SfbSession *self)
{
  if (self->password == NULL)
    return;
  sfb_log_remove_secret (self->password);
  g_clear_object (&self->provisioner); /* it holds the NTLM hash */
  explicit_bzero (self->password, strlen (self->password));
  g_clear_pointer (&self->password, g_free);
}

/* ---- failures --------------------------------------------------------
 *
 * A failure the user must fix ends in "failed" (fail()); a network or
 * server fault in "reconnecting" with a retry at NextRetry (retry_later()).
 * Each goes to the journal at WARNING with SFB_ERROR_NAME and the fields of
 * the attempt that failed (log_failure()); a retry that fails the same way
 * again is logged at INFO only. */

static void
set_next_retry (SfbSession *self, gint64 when)
{
  if (self->next_retry == when)
    return;
  self->next_retry = when;
  changed (self);
}

/* A new attempt on a server: nothing of the last one's journal fields stays. */
static void
begin_attempt_fields (SfbSession *self, const char *host, guint16 port)
{
  g_free (self->attempt_server);
  self->attempt_server = host != NULL ? g_strdup_printf ("%s:%u", host, port) : NULL;
  self->last_sip_status = 0;
}

static void
log_failure (SfbSession *self,
             GLogLevelFlags level,
             const char *message_id,
             const char *state,
             const GError *error,
             const char *message)
{
  g_autoptr (GError) converted = g_error_copy (error);
  g_autofree char *status
      = self->last_sip_status != 0 ? g_strdup_printf ("%u", self->last_sip_status) : NULL;
  GLogField fields[16];
  gsize n = 0;

  sfb_error_convert (&converted);
#define FIELD(k, v) fields[n++] = (GLogField){ (k), (v), -1 }
  FIELD ("MESSAGE", message);
  FIELD ("PRIORITY", level == G_LOG_LEVEL_WARNING ? "4" : "6");
  FIELD ("GLIB_DOMAIN", G_LOG_DOMAIN);
  FIELD ("CODE_FILE", __FILE__);
  FIELD ("CODE_FUNC", G_STRFUNC);
  FIELD ("SFB_ERROR_DOMAIN", g_quark_to_string (error->domain));
  FIELD ("SFB_ERROR_MESSAGE", error->message);
  FIELD ("SFB_ERROR_NAME", sfb_error_get_dbus_name (converted));
  FIELD ("SFB_STATE", state);
  FIELD ("SFB_URI", self->uri != NULL ? self->uri : "");
  FIELD ("SFB_TOPIC", "sign-in");
  if (message_id != NULL)
    FIELD ("MESSAGE_ID", message_id);
  /* only what this attempt has: no server before one was dialled, no
   * status before a REGISTER was answered */
  if (self->attempt_server != NULL)
    FIELD ("SFB_SERVER", self->attempt_server);
  if (status != NULL)
    FIELD ("SFB_SIP_STATUS", status);
#undef FIELD
  g_assert (n <= G_N_ELEMENTS (fields));
  g_log_structured_array (level, fields, n);
}

/* A failure only the user can fix: no automatic retry. */
static void
fail (SfbSession *self, const GError *error)
{
  gboolean auth = g_error_matches (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED);
  g_autofree char *message = g_strdup_printf ("Sign-in failed: %s", error->message);

  /* the journal's MESSAGE_ID: a rejected password, or signed out for good */
  log_failure (self,
               G_LOG_LEVEL_WARNING,
               auth ? SFB_LOG_MSGID_AUTH_FAILED : SFB_LOG_MSGID_SIGN_OUT,
               SFB_STATE_FAILED,
               error,
               message);
  stage_end (self, error);
  cancel_attempt (self);
  clear_connection_properties (self);
  set_last_error (self, error);
  set_state (self, SFB_STATE_FAILED);
}

static gboolean
on_retry (gpointer user_data)
{
  SfbSession *self = user_data;

  self->retry_id = 0;
  self->reconnect_attempts++;
  set_next_retry (self, 0);
  changed (self);
  start_attempt (self, TRUE);
  return G_SOURCE_REMOVE;
}

/* A retry that fails like the last one is logged at INFO: a laptop off the
 * corporate network must not fill the journal with warnings. */
static void
log_retry (SfbSession *self, const GError *error, guint delay_ms)
{
  g_autoptr (GError) converted = g_error_copy (error);
  g_autofree char *key = NULL;
  g_autofree char *message = NULL;
  gboolean repeated;

  sfb_error_convert (&converted);
  key = g_strdup_printf ("%s\n%s", sfb_error_get_dbus_name (converted), error->message);
  repeated = g_strcmp0 (key, self->warned) == 0;
  if (self->waiting_for_network)
    message = g_strdup_printf ("Sign-in attempt failed: %s; will retry when the network is back",
                               error->message);
  else
    message = g_strdup_printf (
        "Sign-in attempt failed: %s; will retry in %u s", error->message, (delay_ms + 999) / 1000);
  log_failure (self,
               repeated ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_WARNING,
               NULL,
               SFB_STATE_RECONNECTING,
               error,
               message);
  g_free (self->warned);
  self->warned = g_steal_pointer (&key);
}

/* Signing in again resets the backoff, and a server whose signatures fail
 * lets the sign-in succeed first: so such failures are counted on their
 * own.  A first one may be a glitch (retried as usual), then 30 s, 60 s,
 * ... up to 5 minutes. */
static void
count_signature_failure (SfbSession *self, const GError *error)
{
  gint64 now = g_get_real_time ();

  if (!g_error_matches (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID))
    return;
  if (self->signed_in_since != 0
      && now - (gint64) self->signed_in_since > (gint64) SIGNATURE_FORGET_S * G_USEC_PER_SEC)
    self->signature_failures = 0;
  self->signature_failures++;
}

static gint64
signature_retry_delay_ms (SfbSession *self)
{
  if (self->signature_failures < 2)
    return -1;
  return MIN ((gint64) SIGNATURE_RETRY_S * 1000 << MIN (self->signature_failures - 1, 10),
              (gint64) SFB_BACKOFF_DEFAULT_CAP_MS);
}

/* The delay before the next attempt: the backoff's, at least @delay_ms when
 * >= 0 (a 503's Retry-After), at least SIGNATURE_RETRY_S after a message
 * that failed verification. */
static guint
retry_delay (SfbSession *self, const GError *error, gint64 delay_ms)
{
  guint delay = sfb_backoff_next (&self->backoff, NULL);

  if (g_error_matches (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID))
    delay_ms = MAX (delay_ms, signature_retry_delay_ms (self));
  if (delay_ms >= 0)
    delay = (guint) MIN (MAX ((gint64) delay, delay_ms), (gint64) MAX_RETRY_AFTER_S * 1000);
  return delay;
}

/* A network-class failure: reconnecting, retried with backoff (or after
 * @delay_ms when >= 0, e.g. a 503's Retry-After). */
static void
retry_later (SfbSession *self, const GError *error, gint64 delay_ms)
{
  guint delay = 0;

  count_signature_failure (self, error); /* before signed_in_since is cleared */
  stage_end (self, error);
  cancel_attempt (self);
  clear_connection_properties (self);
  set_last_error (self, error);
  if (self->monitor != NULL && !self->network_available)
    {
      /* no use knocking while offline: on_network_changed() retries */
      g_info ("The network is unavailable: waiting for it before trying again");
      self->waiting_for_network = TRUE;
    }
  else
    {
      delay = retry_delay (self, error, delay_ms);
      g_debug ("Next attempt in %u ms", delay);
      self->retry_id = g_timeout_add (delay, on_retry, self);
      set_next_retry (self, g_get_real_time () + (gint64) delay * 1000);
    }
  log_retry (self, error, delay);
  set_state (self, SFB_STATE_RECONNECTING);
}

/* ---- registration ---------------------------------------------------- */

typedef struct
{
  SfbSession *self;
  SfbSipConnection *connection;
  Phase phase;
} RegisterCall;

static void
register_call_free (RegisterCall *call)
{
  g_object_unref (call->self);
  g_object_unref (call->connection);
  g_free (call);
}

static char *
our_aor (SfbSession *self)
{
  return g_strdup_printf ("<%s>", self->uri);
}

static SfbSipMessage *
build_register (SfbSession *self, int expires)
{
  g_autofree char *request_uri = g_strdup_printf ("sip:%s", self->domain);
  g_autoptr (SfbSipMessage) message = sfb_sip_message_new_request ("REGISTER", request_uri);
  g_autofree char *aor = our_aor (self);
  g_autofree char *from = g_strdup_printf ("%s;tag=%s;epid=%s", aor, self->from_tag, self->epid);
  g_autofree char *cseq = g_strdup_printf ("%u REGISTER", ++self->cseq);
  g_autofree char *contact = NULL;
  const char *ip = sfb_sip_connection_get_local_ip (self->connection);

  contact = g_strdup_printf ("<sip:%s%s%s:%u;transport=tls;ms-opaque=%s>;methods=\"" CONTACT_METHODS
                             "\";proxy=replace;+sip.instance=\"<urn:uuid:%s>\"",
                             strchr (ip, ':') != NULL ? "[" : "",
                             ip,
                             strchr (ip, ':') != NULL ? "]" : "",
                             sfb_sip_connection_get_local_port (self->connection),
                             self->ms_opaque,
                             self->instance);
  sfb_sip_message_append_header (message, "From", from);
  sfb_sip_message_append_header (message, "To", aor);
  sfb_sip_message_append_header (message, "Max-Forwards", "70");
  sfb_sip_message_append_header (message, "CSeq", cseq);
  sfb_sip_message_append_header (message, "User-Agent", "sfbd/" PACKAGE_VERSION);
  sfb_sip_message_append_header (message, "Call-ID", self->call_id);
  sfb_sip_message_append_header (message, "Contact", contact);
  sfb_sip_message_append_header (
      message,
      "Supported",
      "gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence");
  sfb_sip_message_append_header (message, "Event", "registration");
  sfb_sip_message_append_header (message, "Allow-Events", "presence");
  sfb_sip_message_append_header (message, "ms-keep-alive", "UAC;hop-hop=yes");
  if (expires >= 0)
    {
      g_autofree char *value = g_strdup_printf ("%d", expires);

      sfb_sip_message_append_header (message, "Expires", value);
    }
  return g_steal_pointer (&message);
}

static void on_register_response (GObject *source, GAsyncResult *result, gpointer user_data);

static void
send_register (SfbSession *self, int expires)
{
  g_autoptr (SfbSipMessage) message = build_register (self, expires);
  RegisterCall *call = g_new0 (RegisterCall, 1);

  call->self = g_object_ref (self);
  call->connection = g_object_ref (self->connection);
  call->phase = self->phase;
  sfb_sip_connection_send_request_async (self->connection,
                                         message,
                                         self->phase == PHASE_SIGN_OUT ? SIGN_OUT_TIMEOUT_MS
                                                                       : REGISTER_TIMEOUT_MS,
                                         self->cancellable,
                                         on_register_response,
                                         call);
}

/* ---- auth choice (issue 5 item 11; policy in sfb-auth-choice.c) ----- */

/* ---- TLS-DSK certificates (issue 5 items 7, 8) ----------------------- */

static const char *
user_at_domain (SfbSession *self)
{
  return g_str_has_prefix (self->uri, "sip:") ? self->uri + 4 : self->uri;
}

/* The stored TLS-DSK user certificate while it has an hour left */
static SfbUserCertificate *
usable_certificate (SfbSession *self)
{
  if (self->user_cert == NULL && self->uri != NULL)
    {
      g_autoptr (GError) error = NULL;

      self->user_cert = sfb_user_certificate_load (self->state_dir, user_at_domain (self), &error);
      if (self->user_cert == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
          && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        sfb_log (G_LOG_LEVEL_WARNING,
                 SFB_LOG_TOPIC ("sign-in"),
                 "MESSAGE",
                 "Ignoring the stored TLS-DSK certificate: %s",
                 error->message);
    }
  /* a certificate the server just issued is used even with less than an
   * hour left (else a short-lived one would be provisioned for ever) */
  if (self->user_cert != NULL && self->user_cert_fresh
      && self->user_cert->not_after > g_get_real_time () + 60 * G_USEC_PER_SEC)
    return self->user_cert;
  if (self->user_cert != NULL
      && !sfb_user_certificate_is_usable (self->user_cert, g_get_real_time ()))
    return NULL;
  return self->user_cert;
}

/* "CN=alice@contoso.test, valid until 2025-01-01T00:00:00Z" */
static char *
describe_certificate (const SfbUserCertificate *cert)
{
  g_autoptr (GTlsCertificate) tls = NULL;
  g_autofree char *subject = NULL;
  g_autoptr (GDateTime) until = g_date_time_new_from_unix_utc (cert->not_after / G_USEC_PER_SEC);
  g_autofree char *when = until != NULL ? g_date_time_format_iso8601 (until) : g_strdup ("?");

  tls = g_tls_certificate_new_from_pem (g_bytes_get_data (cert->certificate_pem, NULL),
                                        (gssize) g_bytes_get_size (cert->certificate_pem),
                                        NULL);
  if (tls != NULL)
    subject = g_tls_certificate_get_subject_name (tls);
  return g_strdup_printf ("%s, valid until %s", subject != NULL ? subject : "?", when);
}

static void
auth_choice_input (SfbSession *self, guint offered, SfbAuthChoiceInput *in)
{
  memset (in, 0, sizeof *in);
  in->mode = sfb_config_get_auth (self->config);
  in->offered = offered;
  in->failed = self->auth_failed;
  in->have_password = self->password != NULL;
#ifdef HAVE_KERBEROS
  in->kerberos_available = TRUE;
  /* a local read of the ccache (file or KCM), no KDC traffic */
  if (in->mode == SFB_AUTH_MODE_AUTO || in->mode == SFB_AUTH_MODE_KERBEROS)
    in->have_ccache = sfb_kerberos_have_ccache_credentials ();
#endif
  /* TLS-DSK: a certificate stored in the state dir and still valid for
   * an hour, else one can be provisioned with the password */
  in->tls_dsk_available = TRUE;
  in->have_certificate = usable_certificate (self) != NULL;
  in->can_provision = self->uri != NULL;
}

static gboolean
new_security_for (SfbSession *self, SfbAuthScheme scheme, GError **error)
{
  const char *login = sfb_config_get_login (self->config);
  g_autoptr (SfbAuthContext) context = NULL;

  if (scheme == SFB_AUTH_SCHEME_NTLM && self->password == NULL)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_NO_CREDENTIALS,
                           "No password is known. Set one with: sfbctl set-password");
      return FALSE;
    }
  if (scheme == SFB_AUTH_SCHEME_NTLM)
    context = sfb_ntlm_context_new (login != NULL ? login : "", self->password, NULL);
  else if (scheme == SFB_AUTH_SCHEME_TLS_DSK)
    {
      SfbUserCertificate *cert = usable_certificate (self);
      GBytes *peer;

      if (cert == NULL)
        {
          g_set_error_literal (error,
                               SFB_ERROR,
                               SFB_ERROR_NO_CREDENTIALS,
                               "No valid TLS-DSK certificate; sign in again to provision one");
          return FALSE;
        }
      context = sfb_tls_dsk_context_new (cert->certificate_pem, cert->key_pem, error);
      if (context == NULL)
        return FALSE;
      /* the in-band server certificate must be the outer one (§3) */
      peer = sfb_sip_connection_get_peer_certificate (self->connection);
      if (peer != NULL)
        sfb_tls_dsk_context_set_server_certificate (SFB_TLS_DSK_CONTEXT (context), peer);
    }
#ifdef HAVE_KERBEROS
  else if (scheme == SFB_AUTH_SCHEME_KERBEROS)
    context = sfb_kerberos_context_new (login != NULL ? login : "", self->password);
#endif
  if (context == NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "sfbd cannot authenticate with %s",
                   sfb_auth_scheme_to_name (scheme));
      return FALSE;
    }
  g_clear_object (&self->security);
  self->security = sfb_sip_security_new (context);
  sfb_sip_connection_set_security (self->connection, self->security);
  self->auth_scheme = scheme;
  self->auth_legs = 0;
  return TRUE;
}

/* The security for the next unsigned REGISTER: the scheme in use (a new
 * SA), else what Auth= would take if everything were offered; the first
 * 401 decides (choose_scheme). */
static gboolean
new_security (SfbSession *self, GError **error)
{
  SfbAuthScheme scheme = self->auth_scheme;

  if (scheme == SFB_AUTH_SCHEME_NONE)
    {
      SfbAuthChoiceInput in;
      g_autofree char *reason = NULL;

      auth_choice_input (
          self, SFB_AUTH_SCHEME_NTLM | SFB_AUTH_SCHEME_KERBEROS | SFB_AUTH_SCHEME_TLS_DSK, &in);
      scheme = sfb_auth_choose (&in, &reason);
      if (scheme == SFB_AUTH_SCHEME_NONE || (scheme == SFB_AUTH_SCHEME_TLS_DSK && in.have_password))
        scheme = SFB_AUTH_SCHEME_NTLM; /* replaced at the first 401 */
    }
  return new_security_for (self, scheme, error);
}

static void
start_registration (SfbSession *self)
{
  g_autoptr (GError) error = NULL;

  self->phase = PHASE_SIGN_IN;
  set_state (self, SFB_STATE_AUTHENTICATING);
  stage_begin (self,
               SFB_STATE_AUTHENTICATING,
               "REGISTER to %s:%u",
               sfb_sip_connection_get_host (self->connection),
               sfb_sip_connection_get_port (self->connection));
  self->auth_scheme = SFB_AUTH_SCHEME_NONE;
  self->auth_failed = 0;
  if (!new_security (self, &error))
    {
      fail (self, error);
      return;
    }
  g_free (self->call_id);
  self->call_id = sfb_sip_connection_new_token (32);
  g_free (self->from_tag);
  self->from_tag = sfb_sip_connection_new_token (10);
  g_free (self->ms_opaque);
  self->ms_opaque = sfb_sip_connection_new_token (10);
  self->cseq = 0;
  send_register (self, -1);
}

static char *
diagnostics_of (SfbSipMessage *response)
{
  g_autofree char *diagnostics = sfb_registration_dup_diagnostics (response);

  return diagnostics != NULL ? g_strdup_printf (" (%s)", diagnostics) : g_strdup ("");
}

/* The first number of a header (Retry-After: 30 (busy), Expires: 300). */
static gboolean
header_number (SfbSipMessage *message, const char *name, guint64 max, guint64 *value)
{
  return sfb_registration_header_number (message, name, max, value);
}

static guint
keepalive_timeout (SfbSipMessage *response)
{
  return sfb_registration_keepalive_timeout (response);
}

/* Our GRUU: the Contact whose +sip.instance is ours (protocol.md §17.7). */
static char *
find_gruu (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (SfbRegistration) registration = sfb_registration_parse (response, self->instance);

  return g_steal_pointer (&registration->gruu);
}

static gboolean
on_reregister (gpointer user_data)
{
  SfbSession *self = user_data;

  self->reregister_id = 0;
  if (self->connection == NULL || !self->registered)
    return G_SOURCE_REMOVE;
  g_debug ("Refreshing the registration");
  self->phase = PHASE_REFRESH;
  send_register (self, -1);
  return G_SOURCE_REMOVE;
}

static gboolean
on_reauthenticate (gpointer user_data)
{
  SfbSession *self = user_data;
  g_autoptr (GError) error = NULL;

  self->reauth_id = 0;
  if (self->connection == NULL || !self->registered)
    return G_SOURCE_REMOVE;
  g_info ("Security association about to expire: authenticating again");
  g_clear_handle_id (&self->reregister_id, g_source_remove);
  self->phase = PHASE_REAUTH;
  if (!new_security (self, &error))
    {
      fail (self, error);
      return G_SOURCE_REMOVE;
    }
  send_register (self, -1);
  return G_SOURCE_REMOVE;
}

/* The registration time the server granted: our Contact's expires=, else
 * the Expires header, else a default short enough for any server. */
static guint64
granted_expires (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (SfbRegistration) registration = sfb_registration_parse (response, self->instance);

  if (registration->expires > 0)
    return registration->expires;
  g_info ("The server granted the registration without saying for how long: refreshing it "
          "after %u s",
          DEFAULT_EXPIRES_S);
  return DEFAULT_EXPIRES_S;
}

/* Expires, keep-alive and SA renewal from a 200 to REGISTER. */
static void
schedule_refresh (SfbSession *self, SfbSipMessage *response)
{
  guint64 expires = granted_expires (self, response);
  guint keepalive = keepalive_timeout (response);
  guint refresh;
  gint64 sa_expires_at;

  refresh = expires > 60 ? (guint) expires - 30 : MAX ((guint) expires / 2, 1);
  g_clear_handle_id (&self->reregister_id, g_source_remove);
  self->reregister_id = g_timeout_add_seconds (refresh, on_reregister, self);

  if (keepalive > 0)
    sfb_sip_connection_set_keepalive_interval (
        self->connection, keepalive > 60 ? keepalive - 30 : MAX (keepalive / 2, 1));

  g_clear_handle_id (&self->reauth_id, g_source_remove);
  sa_expires_at = sfb_auth_context_get_expires_at (sfb_sip_security_get_context (self->security));
  if (sa_expires_at > 0)
    {
      gint64 delay_ms = (sa_expires_at - g_get_real_time ()) / 1000;

      self->reauth_id
          = g_timeout_add ((guint) CLAMP (delay_ms, 1000, G_MAXINT32), on_reauthenticate, self);
    }
  g_debug ("Registered for %" G_GUINT64_FORMAT " s (refresh in %u s), keep-alive %u s",
           expires,
           refresh,
           keepalive);
}

static void
registered (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (SfbRegistration) registration = sfb_registration_parse (response, self->instance);
  const char *server = registration->server;
  const char *host = sfb_sip_connection_get_host (self->connection);
  guint16 port = sfb_sip_connection_get_port (self->connection);
  guint64 expires = 0;

  stage_detail (
      self, "security association established (%s)", sfb_auth_scheme_to_name (self->auth_scheme));
  stage_begin (self, "registered", NULL);
  g_free (self->gruu);
  self->gruu = g_steal_pointer (&registration->gruu);
  g_strfreev (self->supported);
  self->supported = sfb_sip_message_get_header_values (response, "Supported");
  expires = registration->expires;
  stage_detail (self,
                "GRUU %s; Expires %" G_GUINT64_FORMAT " s; keep-alive %u s; Server %s",
                self->gruu != NULL ? self->gruu : "(none for our +sip.instance)",
                expires,
                registration->keepalive,
                server != NULL ? server : "(none)");
  stage_detail (
      self, "Supported %s; Allow-Events %s", registration->supported, registration->allow_events);
  stage_end (self, NULL);

  self->registered = TRUE;
  self->phase = PHASE_NONE;
  schedule_refresh (self, response);
  if (sfb_config_get_server_host (self->config) == NULL)
    save_home_pool (self, host, port);
  sfb_backoff_reset (&self->backoff);
  self->reconnect_attempts = 0;
  g_clear_pointer (&self->warned, g_free); /* the next failure is news */
  self->signed_in_since = (guint64) g_get_real_time ();
  set_string (self, STR_SERVER_VERSION, server);
  set_last_error (self, NULL);
  {
    g_autofree char *where = g_strdup_printf ("%s:%u", host, port);
    g_autofree char *status = g_strdup_printf ("%u", self->last_sip_status);

    sfb_log (G_LOG_LEVEL_INFO,
             SFB_LOG_MESSAGE_ID (SFB_LOG_MSGID_SIGN_IN),
             SFB_LOG_STATE (SFB_STATE_SIGNED_IN),
             SFB_LOG_URI (self->uri),
             "SFB_SERVER",
             where,
             "SFB_SIP_STATUS",
             status,
             "SFB_AUTH_METHOD",
             self->strings[STR_AUTH_METHOD],
             SFB_LOG_TOPIC ("sign-in"),
             "MESSAGE",
             "Signed in as %s at %s",
             self->uri,
             where);
  }
  enter_retrieving_settings (self);
}

static void
refreshed (SfbSession *self, SfbSipMessage *response)
{
  g_autofree char *gruu = find_gruu (self, response);

  if (gruu != NULL)
    {
      g_free (self->gruu);
      self->gruu = g_steal_pointer (&gruu);
    }
  self->phase = PHASE_NONE;
  schedule_refresh (self, response);
  g_debug ("Registration refreshed");
  resend_reauth_queue (self);
}

static gboolean
on_redirect_connect (gpointer user_data)
{
  SfbSession *self = user_data;

  self->redirect_id = 0;
  connect_next (self);
  return G_SOURCE_REMOVE;
}

static void
redirect (SfbSession *self, SfbSipMessage *response)
{
  g_autofree char *to_host = NULL;
  SfbServerCandidate *current = g_ptr_array_index (self->candidates, self->candidate_index);
  SfbServerCandidate *target;
  guint16 port;

  if (!sfb_registration_parse_redirect (response, &to_host, &port, NULL))
    {
      g_autoptr (GError) bad = g_error_new (SFB_ERROR,
                                            SFB_ERROR_SERVER_REJECTED,
                                            "%s redirected sign-in without a usable Contact",
                                            sfb_sip_connection_get_host (self->connection));
      fail (self, bad);
      return;
    }
  stage_detail (self, "accepted; 301 redirect");
  set_state (self, SFB_STATE_REDIRECTING);
  stage_begin (self,
               SFB_STATE_REDIRECTING,
               "301 from %s:%u to %s:%u",
               sfb_sip_connection_get_host (self->connection),
               sfb_sip_connection_get_port (self->connection),
               to_host,
               port);
  if (++self->redirects > MAX_REDIRECTS)
    {
      g_autoptr (GError) loop = g_error_new (SFB_ERROR,
                                             SFB_ERROR_SERVER_REJECTED,
                                             "More than %d redirects; the servers send the "
                                             "sign-in around in a loop. Tell your administrator.",
                                             MAX_REDIRECTS);
      fail (self, loop);
      return;
    }
  target = sfb_server_candidate_new (
      to_host, port, SFB_SERVER_SOURCE_REDIRECT, current->access_location);
  drop_connection (self);
  clear_connection_properties (self);
  /* the redirect target replaces what is left of the list */
  g_ptr_array_set_size (self->candidates, self->candidate_index + 1);
  g_ptr_array_add (self->candidates, target);
  self->candidate_index++;
  self->discovery_pending = FALSE;
  /* from the main loop, so "redirecting" reaches the bus before "connecting" */
  self->redirect_id = g_idle_add (on_redirect_connect, self);
}

static void
rejected (SfbSession *self, SfbSipMessage *response)
{
  guint code = sfb_sip_message_get_status_code (response);
  g_autofree char *diagnostics = diagnostics_of (response);
  g_autoptr (GError) error = NULL;

  if (code == 403 && sfb_registration_diagnostics_code (response) == 4141)
    error = g_error_new (SFB_ERROR,
                         SFB_ERROR_ACCOUNT_DISABLED,
                         "The server says the account %s is disabled: SIP %u %s%s. Ask your "
                         "administrator.",
                         self->uri,
                         code,
                         sfb_sip_message_get_reason (response),
                         diagnostics);
  else
    error = g_error_new (SFB_ERROR,
                         SFB_ERROR_SERVER_REJECTED,
                         "%s rejected the registration of %s: SIP %u %s%s",
                         sfb_sip_connection_get_host (self->connection),
                         self->uri,
                         code,
                         sfb_sip_message_get_reason (response),
                         diagnostics);
  fail (self, error);
}

static void choose_scheme (SfbSession *self, SfbSipMessage *response);

/* Auth=auto after a failed handshake: the next offered scheme, on the same
 * 401 (it lists every scheme again), unless the password was refused. */
static gboolean
try_next_scheme (SfbSession *self,
                 SfbSipMessage *response,
                 gboolean while_preparing,
                 const GError *error)
{
  if (sfb_config_get_auth (self->config) != SFB_AUTH_MODE_AUTO
      || !sfb_auth_failure_allows_fallback (self->auth_scheme, while_preparing, error))
    return FALSE;
  stage_detail (self,
                "%s failed (%s); trying the next scheme",
                sfb_auth_scheme_to_name (self->auth_scheme),
                error->message);
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_TOPIC ("sign-in"),
           "MESSAGE",
           "%s authentication failed, trying the next scheme: %s",
           sfb_auth_scheme_to_name (self->auth_scheme),
           error->message);
  self->auth_failed |= self->auth_scheme;
  g_clear_error (&self->auth_cause);
  self->auth_cause = g_error_copy (error);
  choose_scheme (self, response);
  return TRUE;
}

/* AuthFailed means "credentials refused"; these say something else and
 * keep their names (docs: dbus/org.sfbd.Sfbd1.Account.xml). */
static gboolean
auth_error_has_own_name (const GError *error)
{
  static const SfbError own[] = {
    SFB_ERROR_AUTH_FAILED,
    SFB_ERROR_NO_CREDENTIALS,
    SFB_ERROR_NOT_CONFIGURED,
    SFB_ERROR_CLOCK_SKEW,
    SFB_ERROR_CERTIFICATE_PROVISIONING_FAILED,
    SFB_ERROR_NO_USABLE_AUTH_SCHEME,
    SFB_ERROR_SIGNATURE_INVALID,
    SFB_ERROR_ACCOUNT_DISABLED,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (own); i++)
    if (g_error_matches (error, SFB_ERROR, own[i]))
      return TRUE;
  return FALSE;
}

static void
challenge_failed (SfbSession *self,
                  SfbSipMessage *response,
                  gboolean while_preparing,
                  const GError *error)
{
  if (try_next_scheme (self, response, while_preparing, error))
    return;
  if (g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_REACHABLE)
      || g_error_matches (error, SFB_ERROR, SFB_ERROR_SIGNATURE_INVALID))
    {
      retry_later (self, error, -1); /* e.g. the KDC: a network error */
    }
  else if (!auth_error_has_own_name (error))
    {
      g_autoptr (GError) wrapped = g_error_new (SFB_ERROR,
                                                SFB_ERROR_AUTH_FAILED,
                                                "Authentication with %s failed: %s",
                                                sfb_sip_connection_get_host (self->connection),
                                                error->message);
      fail (self, wrapped);
    }
  else
    {
      fail (self, error);
    }
}

typedef struct
{
  SfbSession *self;
  SfbSipConnection *connection;
  SfbSipSecurity *security;
  SfbSipMessage *response;
} PrepareCall;

static void
prepare_call_free (PrepareCall *call)
{
  g_object_unref (call->self);
  g_object_unref (call->connection);
  g_object_unref (call->security);
  g_object_unref (call->response);
  g_free (call);
}

static void
on_security_prepared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PrepareCall *call = user_data;
  SfbSession *self = call->self;
  g_autoptr (GError) error = NULL;
  gboolean ok = sfb_sip_security_prepare_finish (SFB_SIP_SECURITY (source), result, &error);
  g_autoptr (SfbSipMessage) response = g_object_ref (call->response);

  if (call->connection != self->connection || call->security != self->security
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      prepare_call_free (call);
      return; /* stale: the session moved on */
    }
  prepare_call_free (call);
  if (!ok)
    {
      challenge_failed (self, response, TRUE, error);
      return;
    }
#ifdef HAVE_KERBEROS
  if (self->auth_scheme == SFB_AUTH_SCHEME_KERBEROS)
    {
      SfbKerberosContext *krb
          = SFB_KERBEROS_CONTEXT (sfb_sip_security_get_context (self->security));

      stage_detail (self,
                    "Kerberos service ticket for %s (credentials from the %s)",
                    sfb_kerberos_context_get_principal (krb),
                    sfb_kerberos_context_get_credential_source (krb));
    }
#endif
  if (!sfb_sip_security_handle_challenge (self->security, response, &error))
    {
      challenge_failed (self, response, FALSE, error);
      return;
    }
  send_register (self, -1);
}

/* The provisioning service's refusal as CertificateProvisioningFailed, with
 * its URL and what to do; a refused password (AuthFailed) and a service
 * that is down (NotReachable: retried) keep their names. */
static GError *
provisioning_error (SfbSession *self, SfbSipMessage *response, const GError *error)
{
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse_message (response, "WWW-Authenticate");
  SfbSipAuth *auth = auths != NULL ? sfb_sip_auth_find (auths, "TLS-DSK") : NULL;
  const char *sts_uri = auth != NULL ? sfb_sip_auth_get_param (auth, "sts-uri") : NULL;
  g_autofree char *shown
      = sfb_failure_quote (sts_uri != NULL ? sts_uri : "?", SFB_FAILURE_MAX_QUOTE);
  gboolean keep = g_error_matches (error, SFB_ERROR, SFB_ERROR_AUTH_FAILED)
                  || g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED)
                  || g_error_matches (error, SFB_ERROR, SFB_ERROR_CLOCK_SKEW);
  SfbError code = SFB_ERROR_CERTIFICATE_PROVISIONING_FAILED;

  if (keep || g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_REACHABLE))
    code = (SfbError) error->code; /* NotReachable: down for now, retried */
  return g_error_new (SFB_ERROR,
                      code,
                      "TLS-DSK certificate provisioning at %s failed: %s%s",
                      shown,
                      error->message,
                      keep ? ""
                           : ". Ask your administrator to check the certificate provisioning "
                             "service of the pool");
}

static void
on_certificate_provisioned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PrepareCall *call = user_data;
  SfbSession *self = call->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbUserCertificate) cert
      = sfb_cert_provisioner_provision_finish (SFB_CERT_PROVISIONER (source), result, &error);
  g_autoptr (SfbSipMessage) response = g_object_ref (call->response);
  g_autofree char *about = NULL;

  if (call->connection != self->connection || call->security != self->security
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      prepare_call_free (call);
      return; /* stale: the session moved on */
    }
  prepare_call_free (call);
  if (cert == NULL)
    {
      g_autoptr (GError) failed = provisioning_error (self, response, error);

      challenge_failed (self, response, TRUE, failed);
      return;
    }
  g_clear_pointer (&self->user_cert, sfb_user_certificate_free);
  self->user_cert = g_steal_pointer (&cert);
  self->user_cert_fresh = TRUE;
  about = describe_certificate (self->user_cert);
  stage_detail (self, "TLS-DSK certificate provisioned: %s", about);
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_TOPIC ("sign-in"),
           "MESSAGE",
           "Provisioned a TLS-DSK certificate for %s: %s",
           self->uri,
           about);
  /* protocol.md §4.4: start over with an unsigned REGISTER; its 401
   * finds the certificate */
  self->auth_legs = 0;
  send_register (self, -1);
}

/* The web ticket / provisioning client, made from the password (NULL
 * without one). */
static SfbCertProvisioner *
ensure_provisioner (SfbSession *self)
{
  const char *login = sfb_config_get_login (self->config);

  if (self->provisioner == NULL && self->password != NULL)
    self->provisioner = sfb_cert_provisioner_new (self->tls_database,
                                                  login != NULL ? login : user_at_domain (self),
                                                  self->password,
                                                  user_at_domain (self));
  return self->provisioner;
}

/* Autodiscover's web ticket provider (issue 5 item 9, protocol.md §2.2):
 * the User resource behind X-MS-WebTicket. */
static void
web_ticket_get_async (GObject *object,
                      const char *service_url,
                      const char *applies_to,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  SfbSession *self = SFB_SESSION (object);
  SfbCertProvisioner *provisioner = ensure_provisioner (self);

  if (provisioner == NULL)
    {
      g_task_report_new_error (self,
                               callback,
                               user_data,
                               web_ticket_get_async,
                               SFB_ERROR,
                               SFB_ERROR_NOT_CONFIGURED,
                               "no password for a web ticket");
      return;
    }
  sfb_cert_provisioner_get_web_ticket_async (
      provisioner, service_url, applies_to, cancellable, callback, user_data);
}

static char *
web_ticket_get_finish (GObject *source, GAsyncResult *result, GError **error)
{
  if (SFB_IS_CERT_PROVISIONER (source))
    return sfb_cert_provisioner_get_web_ticket_finish (
        SFB_CERT_PROVISIONER (source), result, error);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* TLS-DSK without a usable certificate: get one from the provisioning
 * service the challenge names (sts-uri), then start over. */
static void
provision_certificate (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse_message (response, "WWW-Authenticate");
  SfbSipAuth *auth = auths != NULL ? sfb_sip_auth_find (auths, "TLS-DSK") : NULL;
  const char *sts_uri = auth != NULL ? sfb_sip_auth_get_param (auth, "sts-uri") : NULL;
  g_autofree char *shown = NULL;
  PrepareCall *call;

  self->auth_scheme = SFB_AUTH_SCHEME_TLS_DSK;
  self->auth_legs = 1;
  set_string (self, STR_AUTH_METHOD, sfb_auth_scheme_to_method (SFB_AUTH_SCHEME_TLS_DSK));
  if (sts_uri == NULL || *sts_uri == '\0')
    {
      g_autoptr (GError) error
          = g_error_new (SFB_ERROR,
                         SFB_ERROR_SERVER_REJECTED,
                         "%s offers TLS-DSK without a certificate provisioning service (sts-uri)",
                         sfb_sip_connection_get_host (self->connection));

      challenge_failed (self, response, TRUE, error);
      return;
    }
  if (ensure_provisioner (self) == NULL)
    {
      g_autoptr (GError) error = g_error_new_literal (
          SFB_ERROR, SFB_ERROR_NOT_CONFIGURED, "TLS-DSK certificate provisioning needs a password");

      challenge_failed (self, response, TRUE, error);
      return;
    }
  shown = g_utf8_make_valid (sts_uri, MIN (strlen (sts_uri), 200));
  stage_detail (self, "no usable TLS-DSK certificate: provisioning one at %s", shown);

  call = g_new0 (PrepareCall, 1);
  call->self = g_object_ref (self);
  call->connection = g_object_ref (self->connection);
  call->security = g_object_ref (self->security);
  call->response = g_object_ref (response);
  sfb_cert_provisioner_provision_async (self->provisioner,
                                        sts_uri,
                                        self->state_dir,
                                        self->instance,
                                        self->cancellable,
                                        on_certificate_provisioned,
                                        call);
}

/* Auth=auto and every offered scheme failed: the decisive cause is why
 * the last one failed (a clock skew, the provisioning service's answer),
 * under its own name; a network fault is retried. */
static void
nothing_left_to_try (SfbSession *self, const char *offered)
{
  g_autoptr (GError) error = NULL;
  const GError *cause = self->auth_cause;
  SfbError code = SFB_ERROR_NO_USABLE_AUTH_SCHEME;

  if (g_error_matches (cause, SFB_ERROR, SFB_ERROR_NOT_REACHABLE)
      || auth_error_has_own_name (cause))
    code = (SfbError) cause->code;
  error = g_error_new (SFB_ERROR,
                       code,
                       "%s%s(%s offers only %s, and nothing else is left to try)",
                       cause->message,
                       g_str_has_suffix (cause->message, ".") ? " " : ". ",
                       sfb_sip_connection_get_host (self->connection),
                       *offered != '\0' ? offered : "no authentication scheme");
  if (g_error_matches (error, SFB_ERROR, SFB_ERROR_NOT_REACHABLE))
    retry_later (self, error, -1);
  else
    fail (self, error);
}

/* The first 401 of a handshake: pick the scheme (sfb_auth_choose), let its
 * context prepare (Kerberos: tickets, in a thread), then answer. */
static void
choose_scheme (SfbSession *self, SfbSipMessage *response)
{
  g_auto (GStrv) offered = sfb_sip_security_offered_schemes (response);
  g_autofree char *list = offered != NULL ? g_strjoinv (", ", offered) : g_strdup ("");
  g_autofree char *reason = NULL;
  g_autoptr (GError) error = NULL;
  SfbAuthChoiceInput in;
  SfbAuthScheme scheme;
  PrepareCall *call;

  auth_choice_input (self, sfb_auth_schemes_from_names ((const char *const *) offered), &in);
  scheme = sfb_auth_choose (&in, &reason);
  if (scheme == SFB_AUTH_SCHEME_NONE)
    {
      if (!in.have_password && !in.have_ccache)
        error = g_error_new (SFB_ERROR,
                             SFB_ERROR_NO_CREDENTIALS,
                             "No credentials to sign in to %s with (%s). Set a password with: "
                             "sfbctl set-password",
                             sfb_sip_connection_get_host (self->connection),
                             reason);
      else if (in.failed != 0 && self->auth_cause != NULL)
        {
          nothing_left_to_try (self, list);
          return;
        }
      else
        error = g_error_new (SFB_ERROR,
                             SFB_ERROR_NO_USABLE_AUTH_SCHEME,
                             "%s offers %s, and sfbd cannot use any of them: %s",
                             sfb_sip_connection_get_host (self->connection),
                             *list != '\0' ? list : "no authentication scheme",
                             reason);
      fail (self, error);
      return;
    }
  stage_detail (self, "chosen: %s (%s)", sfb_auth_scheme_to_name (scheme), reason);
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_TOPIC ("sign-in"),
           "MESSAGE",
           "Authenticating with %s: %s",
           sfb_auth_scheme_to_name (scheme),
           reason);
  if (scheme == SFB_AUTH_SCHEME_TLS_DSK && usable_certificate (self) == NULL)
    {
      provision_certificate (self, response);
      return;
    }
  if (scheme == SFB_AUTH_SCHEME_TLS_DSK)
    {
      g_autofree char *about = describe_certificate (self->user_cert);

      stage_detail (self, "TLS-DSK certificate reused: %s", about);
    }
  if (!new_security_for (self, scheme, &error))
    {
      fail (self, error);
      return;
    }
  self->auth_legs = 1;
  set_string (self, STR_AUTH_METHOD, sfb_auth_scheme_to_method (scheme));

  call = g_new0 (PrepareCall, 1);
  call->self = g_object_ref (self);
  call->connection = g_object_ref (self->connection);
  call->security = g_object_ref (self->security);
  call->response = g_object_ref (response);
  sfb_sip_security_prepare_async (
      self->security, response, self->cancellable, on_security_prepared, call);
}

/* TRUE: send the next REGISTER now; FALSE: handled (failed, or the
 * answer follows asynchronously). */
static gboolean
handle_challenge (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (GError) error = NULL;

  if (++self->auth_legs
      > (self->auth_scheme == SFB_AUTH_SCHEME_TLS_DSK ? MAX_AUTH_LEGS_TLS_DSK : MAX_AUTH_LEGS))
    {
      if (self->auth_scheme == SFB_AUTH_SCHEME_TLS_DSK)
        {
          /* a 401 to the signed last leg: the handshake or the
           * certificate was refused, not the password */
          g_set_error (&error,
                       SFB_ERROR,
                       SFB_ERROR_AUTH_FAILED,
                       "%s refused the TLS-DSK handshake of %s",
                       sfb_sip_connection_get_host (self->connection),
                       self->uri);
          challenge_failed (self, response, FALSE, error);
          return FALSE;
        }
      g_set_error (&error,
                   SFB_ERROR,
                   SFB_ERROR_AUTH_FAILED,
                   "%s did not accept the password of %s for %s. Set the right one with: "
                   "sfbctl set-password",
                   sfb_sip_connection_get_host (self->connection),
                   sfb_config_get_login (self->config),
                   self->uri);
      fail (self, error);
      return FALSE;
    }
  if (self->auth_legs == 1)
    {
      g_auto (GStrv) offered = sfb_sip_security_offered_schemes (response);
      g_autofree char *list = offered != NULL ? g_strjoinv (", ", offered) : g_strdup ("");

      stage_detail (self, "offered: %s", *list != '\0' ? list : "(nothing)");
      choose_scheme (self, response);
      return FALSE;
    }
  if (!sfb_sip_security_handle_challenge (self->security, response, &error))
    {
      challenge_failed (self, response, FALSE, error);
      return FALSE;
    }
  return TRUE;
}

static void
finish_sign_out (SfbSession *self)
{
  if (g_strcmp0 (self->strings[STR_STATE], SFB_STATE_SIGNED_OUT) != 0)
    sfb_log (G_LOG_LEVEL_INFO,
             SFB_LOG_MESSAGE_ID (SFB_LOG_MSGID_SIGN_OUT),
             SFB_LOG_STATE (SFB_STATE_SIGNED_OUT),
             SFB_LOG_URI (self->uri != NULL ? self->uri : ""),
             "SFB_SERVER",
             self->strings[STR_SERVER],
             SFB_LOG_TOPIC ("sign-out"),
             "MESSAGE",
             "Signed out");
  cancel_attempt (self);
  clear_connection_properties (self);
  wipe_password (self);
  set_state (self, SFB_STATE_SIGNED_OUT);
}

static gboolean
on_resend_register (gpointer user_data)
{
  SfbSession *self = user_data;
  g_autoptr (GError) error = NULL;

  self->resend_id = 0;
  set_next_retry (self, 0);
  if (self->connection == NULL)
    return G_SOURCE_REMOVE;
  g_debug (
      "Sending the REGISTER again after a 504 (%u of %u)", self->n_timeouts, MAX_TIMEOUT_RESENDS);
  switch (self->phase)
    {
    case PHASE_SIGN_IN:
      /* the handshake may have been half-way: start it over */
      start_registration (self);
      break;
    case PHASE_REAUTH:
      if (!new_security (self, &error))
        fail (self, error);
      else
        send_register (self, -1);
      break;
    case PHASE_REFRESH:
      send_register (self, -1);
      break;
    case PHASE_NONE:
    case PHASE_SIGN_OUT:
    default:
      break;
    }
  return G_SOURCE_REMOVE;
}

/* 504: the registrar timed out behind the front end; the connection is
 * fine, so the REGISTER goes again on it, after a while. */
static void
resend_after_timeout (SfbSession *self, SfbSipMessage *response)
{
  guint64 delay = TIMEOUT_RESEND_S;
  g_autofree char *diagnostics = diagnostics_of (response);
  g_autoptr (GError) error = NULL;

  header_number (response, "Retry-After", MAX_RETRY_AFTER_S, &delay);
  error = g_error_new (SFB_ERROR,
                       SFB_ERROR_TIMED_OUT,
                       "%s timed out: SIP %u %s%s; registering again in %" G_GUINT64_FORMAT
                       " s (%u of %u)",
                       sfb_sip_connection_get_host (self->connection),
                       sfb_sip_message_get_status_code (response),
                       sfb_sip_message_get_reason (response),
                       diagnostics,
                       delay,
                       self->n_timeouts,
                       MAX_TIMEOUT_RESENDS);
  sfb_log (G_LOG_LEVEL_INFO, SFB_LOG_TOPIC ("registration"), "MESSAGE", "%s", error->message);
  stage_detail (self, "%s", error->message);
  set_last_error (self, error);
  g_clear_handle_id (&self->resend_id, g_source_remove);
  self->resend_id = g_timeout_add_seconds ((guint) MAX (delay, 1), on_resend_register, self);
  set_next_retry (self, g_get_real_time () + (gint64) MAX (delay, 1) * G_USEC_PER_SEC);
}

static void
on_register_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RegisterCall *call = user_data;
  SfbSession *self = call->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) response = NULL;
  Phase phase = call->phase;
  guint code;

  response = sfb_sip_connection_send_request_finish (call->connection, result, &error);
  if (call->connection != self->connection || phase != self->phase
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      register_call_free (call);
      return; /* stale: the session moved on */
    }
  register_call_free (call);

  if (phase == PHASE_SIGN_OUT)
    {
      g_debug ("Unregistered (%s)", error != NULL ? error->message : "answered");
      finish_sign_out (self);
      return;
    }
  if (response == NULL)
    {
      retry_later (self, error, -1);
      return;
    }

  code = sfb_sip_message_get_status_code (response);
  self->last_sip_status = code;
  if (code == 504 && phase != PHASE_SIGN_OUT && ++self->n_timeouts <= MAX_TIMEOUT_RESENDS)
    {
      resend_after_timeout (self, response);
      return;
    }
  if (code != 504 && self->n_timeouts > 0)
    {
      self->n_timeouts = 0;
      if (code >= 200 && code < 300)
        set_last_error (self, NULL);
    }
  if (code == 401 || code == 407)
    {
      if (phase == PHASE_REFRESH)
        {
          g_autoptr (GError) sec_error = NULL;

          g_info ("The server asks for authentication again");
          self->phase = PHASE_REAUTH;
          if (!new_security (self, &sec_error))
            fail (self, sec_error);
          else
            send_register (self, -1);
          return;
        }
      if (handle_challenge (self, response))
        send_register (self, -1);
      return;
    }
  if (code >= 200 && code < 300)
    {
      if (phase == PHASE_SIGN_IN)
        registered (self, response);
      else
        refreshed (self, response);
      return;
    }
  if (code == 301 && phase == PHASE_SIGN_IN)
    {
      redirect (self, response);
      return;
    }
  if (code == 503 || code == 504 || code == 408 || code == 480 || code == 500)
    {
      guint64 retry_after = 0;
      g_autofree char *diagnostics = diagnostics_of (response);
      gboolean has_retry_after
          = header_number (response, "Retry-After", MAX_RETRY_AFTER_S, &retry_after);
      g_autoptr (GError) busy = NULL;

      self->n_timeouts = 0;
      busy = g_error_new (SFB_ERROR,
                          SFB_ERROR_SERVER_REJECTED,
                          "%s is not available: SIP %u %s%s; retrying%s",
                          sfb_sip_connection_get_host (self->connection),
                          code,
                          sfb_sip_message_get_reason (response),
                          diagnostics,
                          has_retry_after ? " when the server asks to" : " later");

      retry_later (self, busy, has_retry_after ? (gint64) retry_after * 1000 : -1);
      return;
    }
  rejected (self, response);
}

/* ---- connecting ------------------------------------------------------ */

static void
on_connection_closed (SfbSipConnection *connection, GError *error, SfbSession *self)
{
  g_autoptr (SfbSession) keep G_GNUC_UNUSED = g_object_ref (self);

  if (connection != self->connection)
    return;
  if (self->phase == PHASE_SIGN_OUT)
    {
      finish_sign_out (self);
      return;
    }
  /* INFO: retry_later() warns, once per distinct failure */
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_ERR (error),
           SFB_LOG_TOPIC ("connection"),
           "MESSAGE",
           "Connection lost: %s",
           error->message);
  retry_later (self, error, -1);
}

typedef struct
{
  SfbSession *self;
  guint serial;
} ConnectCall;

/* Adds a candidate's failure to `tried` (the message when none is left); a
 * name that DNS itself gave (an SRV target, an autodiscover answer) and that
 * does not resolve is the administrator's to fix: say where it came from. */
static void
note_candidate_failure (SfbSession *self, SfbServerCandidate *candidate, const GError *error)
{
  gboolean unresolved = strstr (error->message, SFB_SIP_CONNECTION_NO_ADDRESS) != NULL;

  if (self->tried->len > 0)
    g_string_append (self->tried, "; ");
  g_string_append (self->tried, error->message);
  if (unresolved
      && (candidate->source == SFB_SERVER_SOURCE_SRV
          || candidate->source == SFB_SERVER_SOURCE_AUTODISCOVER))
    {
      g_string_append_printf (self->tried,
                              " (%s, named by %s of %s, has no address in DNS: ask your "
                              "administrator to fix that record)",
                              candidate->host,
                              candidate->source == SFB_SERVER_SOURCE_SRV ? "an SRV record"
                                                                         : "autodiscover",
                              self->domain != NULL ? self->domain : "the domain");
    }
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConnectCall *call = user_data;
  g_autoptr (SfbSession) self = call->self;
  guint serial = call->serial;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipConnection) connection = NULL;
  SfbServerCandidate *candidate;

  g_free (call);
  connection = sfb_sip_connection_new_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (serial != self->connect_serial)
    {
      /* stale: an autodiscover answer replaced this early candidate */
      if (connection != NULL)
        sfb_sip_connection_close (connection);
      return;
    }
  if (self->candidates == NULL || self->candidate_index >= self->candidates->len)
    return;
  candidate = g_ptr_array_index (self->candidates, self->candidate_index);
  if (connection == NULL && self->discovering && self->candidate_index == self->discovery_base)
    {
      /* the early candidate failed while discovery is still out: forget it,
       * the full list tries it again in its rank (a certificate error then
       * counts where the documented order puts it) */
      stage_end (self, error);
      g_ptr_array_set_size (self->candidates, self->discovery_base);
      self->early_failed = TRUE;
      connect_next (self);
      return;
    }
  if (connection == NULL)
    {
      stage_end (self, error);
      if (g_error_matches (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID))
        {
          fail (self, error);
          return;
        }
      note_candidate_failure (self, candidate, error);
      self->candidate_index++;
      connect_next (self);
      return;
    }

  self->connection = g_steal_pointer (&connection);
  g_signal_connect (self->connection, "closed", G_CALLBACK (on_connection_closed), self);
  g_signal_connect (self->connection, "request", G_CALLBACK (on_request), self);
  sfb_sip_connection_set_keepalive_interval (self->connection, KEEPALIVE_BEFORE_REGISTERED_S);
  {
    g_autofree char *server = g_strdup_printf ("%s:%u", candidate->host, candidate->port);

    set_string (self, STR_SERVER, server);
  }
  set_string (self, STR_LOCAL_ADDRESS, sfb_sip_connection_get_local_address (self->connection));
  set_string (self, STR_INTERFACE, sfb_sip_connection_get_interface (self->connection));
  set_string (self, STR_ACCESS_LOCATION, candidate->access_location);
  stage_detail (self,
                "connected from %s (%s); certificate %s",
                sfb_sip_connection_get_local_address (self->connection),
                *sfb_sip_connection_get_interface (self->connection) != '\0'
                    ? sfb_sip_connection_get_interface (self->connection)
                    : "unknown interface",
                sfb_sip_connection_get_peer_subject (self->connection));
  stage_end (self, NULL);
  start_registration (self);
}

static void run_discovery (SfbSession *self);

static void
connect_next (SfbSession *self)
{
  SfbServerCandidate *candidate;
  g_autofree char *text = NULL;
  ConnectCall *call;

  if (self->candidate_index >= self->candidates->len)
    {
      g_autoptr (GError) error = NULL;

      if (self->discovering && self->redirects == 0)
        {
          /* the early candidate failed: on_discovered() goes on */
          self->early_failed = TRUE;
          set_state (self, SFB_STATE_DISCOVERING);
          stage_begin (self, SFB_STATE_DISCOVERING, "waiting for the remaining lookups");
          return;
        }
      if (self->discovery_pending)
        {
          run_discovery (self);
          return;
        }
      error = g_error_new (SFB_ERROR,
                           SFB_ERROR_NOT_REACHABLE,
                           "No server could be reached for %s: %s",
                           self->uri,
                           self->tried->len > 0 ? self->tried->str : "no candidates");
      retry_later (self, error, -1);
      return;
    }
  candidate = g_ptr_array_index (self->candidates, self->candidate_index);
  text = sfb_server_candidate_to_string (candidate);
  begin_attempt_fields (self, candidate->host, candidate->port);
  set_state (self, SFB_STATE_CONNECTING);
  stage_begin (self, SFB_STATE_CONNECTING, "%s", text);
  call = g_new0 (ConnectCall, 1);
  call->self = g_object_ref (self);
  call->serial = ++self->connect_serial;
  sfb_sip_connection_new_async (
      candidate->host, candidate->port, self->tls_database, self->cancellable, on_connected, call);
}

/* Discovery's lookup lines go to the (last) discovering stage, which has
 * ended already when an early candidate was dialled. */
static void
discovery_detail (SfbSession *self, const char *text)
{
  for (guint i = self->trace->len; i > 0; i--)
    {
      TraceStage *stage = g_ptr_array_index (self->trace, i - 1);

      if (g_strcmp0 (stage->stage, SFB_STATE_DISCOVERING) != 0)
        continue;
      if (stage->detail->len > 0)
        g_string_append (stage->detail, "; ");
      g_string_append (stage->detail, text);
      return;
    }
}

/* Adds discovery's candidates after `discovery_base`, skipping known ones. */
static void
add_discovered (SfbSession *self, GPtrArray *found)
{
  for (guint i = 0; i < found->len && self->candidates->len < MAX_CANDIDATES; i++)
    {
      SfbServerCandidate *c = g_ptr_array_index (found, i);
      gboolean seen = FALSE;

      for (guint j = 0; j < self->candidates->len && !seen; j++)
        seen = sfb_server_candidate_equal (g_ptr_array_index (self->candidates, j), c);
      if (!seen)
        g_ptr_array_add (self->candidates, sfb_server_candidate_copy (c));
    }
}

/* The best candidate whose DNS lookups have all answered, autodiscover maybe
 * still out: dial it now rather than after autodiscover's 4-5 round trips. */
static void
on_early_candidate (SfbDiscovery *discovery,
                    SfbServerCandidate *candidate,
                    gboolean settled,
                    SfbSession *self)
{
  g_autofree char *text = NULL;

  if (!self->discovering || self->early_dialled || self->cancellable == NULL)
    return;
  self->early_dialled = TRUE;
  text = sfb_server_candidate_to_string (candidate);
  stage_detail (self,
                "dialling %s %s",
                text,
                settled ? "(every lookup above it answered)" : "beside autodiscover");
  g_ptr_array_set_size (self->candidates, self->discovery_base);
  g_ptr_array_add (self->candidates, sfb_server_candidate_copy (candidate));
  self->candidate_index = self->discovery_base;
  connect_next (self);
}

static void
on_discovered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbSession) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_auto (GStrv) details = NULL;

  found = sfb_discovery_run_finish (SFB_DISCOVERY (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->discovering)
    return;
  self->discovering = FALSE;
  details = sfb_discovery_get_details (SFB_DISCOVERY (source));
  for (guint i = 0; details != NULL && details[i] != NULL; i++)
    discovery_detail (self, details[i]);
  if (self->early_dialled && !self->early_failed)
    {
      /* The early candidate's connection is up or on its way.  A final
       * first candidate that outranks it replaces it, but only before the
       * REGISTER completed and before a redirect: once a registrar took the
       * sign-in (or sent it on), the deployment has spoken. */
      SfbServerCandidate *early = g_ptr_array_index (self->candidates, self->discovery_base);
      g_autofree char *text = NULL;

      if (found == NULL || found->len == 0 || self->redirects > 0 || self->registered
          || sfb_server_candidate_equal (found->pdata[0], early))
        {
          discovery_detail (self,
                            found != NULL && found->len > 0
                                    && sfb_server_candidate_equal (found->pdata[0], early)
                                ? "the early candidate is the first candidate"
                                : "kept the early candidate");
          if (found != NULL && self->redirects == 0)
            add_discovered (self, found);
          return;
        }
      text = sfb_server_candidate_to_string (found->pdata[0]);
      g_info ("Discovery finished: %s outranks the early candidate, connecting there", text);
      discovery_detail (self, "the early candidate was replaced by the first candidate");
      stage_detail (self, "replaced by %s", text);
      stage_end (self, NULL);
      drop_connection (self);
      clear_connection_properties (self);
      self->connect_serial++;
      g_ptr_array_set_size (self->candidates, self->discovery_base);
      add_discovered (self, found);
      self->candidate_index = self->discovery_base;
      connect_next (self);
      return;
    }
  if (found == NULL)
    {
      retry_later (self, error, -1);
      return;
    }
  stage_detail (self, "%u candidates", found->len);
  add_discovered (self, found);
  stage_end (self, NULL);
  connect_next (self);
}

static void
run_discovery (SfbSession *self)
{
  self->discovery_pending = FALSE;
  self->discovering = TRUE;
  self->discovery_base = self->candidates->len;
  self->candidate_index = self->candidates->len;
  self->early_dialled = FALSE;
  self->early_failed = FALSE;
  set_state (self, SFB_STATE_DISCOVERING);
  stage_begin (self, SFB_STATE_DISCOVERING, NULL);
  sfb_discovery_run_async (
      self->discovery, self->uri, self->cancellable, on_discovered, g_object_ref (self));
}

static gboolean
prepare_identity (SfbSession *self, GError **error)
{
  const char *uri = sfb_config_get_uri (self->config);
  const char *at;

  if (uri == NULL || (at = strchr (uri, '@')) == NULL)
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED, "No SIP address is configured");
      return FALSE;
    }
  g_free (self->uri);
  self->uri = g_strdup (uri);
  g_free (self->domain);
  self->domain = g_strdup (at + 1);
  if (self->epid == NULL)
    {
      self->epid = sfb_endpoint_id_load_or_create (self->state_dir, error);
      if (self->epid == NULL)
        return FALSE;
      self->instance = sfb_endpoint_id_to_instance (self->epid);
    }
  if (self->tls_database == NULL)
    {
      SfbWebTicketProvider provider
          = { G_OBJECT (self), web_ticket_get_async, web_ticket_get_finish };

      self->tls_database = sfb_tls_database_new (sfb_config_get_ca_file (self->config), error);
      if (self->tls_database == NULL)
        return FALSE;
      self->discovery = sfb_discovery_new (NULL, self->tls_database);
      sfb_discovery_set_web_ticket_provider (self->discovery, &provider);
      g_signal_connect (self->discovery, "early-candidate", G_CALLBACK (on_early_candidate), self);
    }
  return TRUE;
}

static void
start_attempt (SfbSession *self, gboolean use_home_pool)
{
  g_autoptr (GError) error = NULL;
  const char *host = sfb_config_get_server_host (self->config);

  cancel_attempt (self);
  clear_connection_properties (self);
  self->cancellable = g_cancellable_new ();
  g_ptr_array_set_size (self->trace, 0);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  self->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
  self->candidate_index = 0;
  self->redirects = 0;
  self->discovery_pending = FALSE;
  g_string_truncate (self->tried, 0);
  begin_attempt_fields (self, NULL, 0);
  g_clear_error (&self->auth_cause);

  if (!prepare_identity (self, &error))
    {
      fail (self, error);
      return;
    }
  if (host != NULL)
    {
      guint16 port = sfb_config_get_server_port (self->config);

      g_ptr_array_add (self->candidates,
                       sfb_server_candidate_new (
                           host, port != 0 ? port : 5061, SFB_SERVER_SOURCE_CONFIGURED, NULL));
      connect_next (self);
      return;
    }
  if (use_home_pool)
    {
      SfbServerCandidate *home = load_home_pool (self);

      if (home != NULL)
        {
          g_ptr_array_add (self->candidates, home);
          self->discovery_pending = TRUE;
          connect_next (self);
          return;
        }
    }
  run_discovery (self);
}

/* ---- incoming requests ----------------------------------------------- */

static SfbSipMessage *
make_response (SfbSipMessage *request, guint code, const char *reason)
{
  g_autoptr (SfbSipMessage) response = sfb_sip_message_new_response (code, reason);
  g_auto (GStrv) vias = sfb_sip_message_get_header_values (request, "Via");
  const char *to = sfb_sip_message_get_header (request, "To");

  for (guint i = 0; vias != NULL && vias[i] != NULL; i++)
    sfb_sip_message_append_header (response, "Via", vias[i]);
  if (sfb_sip_message_get_header (request, "From") != NULL)
    sfb_sip_message_append_header (response, "From", sfb_sip_message_get_header (request, "From"));
  if (to != NULL)
    {
      g_autofree char *tagged = NULL;

      if (strstr (to, ";tag=") == NULL)
        {
          g_autofree char *tag = sfb_sip_connection_new_token (10);

          tagged = g_strdup_printf ("%s;tag=%s", to, tag);
        }
      sfb_sip_message_append_header (response, "To", tagged != NULL ? tagged : to);
    }
  if (sfb_sip_message_get_header (request, "Call-ID") != NULL)
    sfb_sip_message_append_header (
        response, "Call-ID", sfb_sip_message_get_header (request, "Call-ID"));
  if (sfb_sip_message_get_header (request, "CSeq") != NULL)
    sfb_sip_message_append_header (response, "CSeq", sfb_sip_message_get_header (request, "CSeq"));
  sfb_sip_message_append_header (response, "User-Agent", "sfbd/" PACKAGE_VERSION);
  return g_steal_pointer (&response);
}

static void
answer (SfbSession *self, SfbSipMessage *request, guint code, const char *reason)
{
  g_autoptr (SfbSipMessage) response = make_response (request, code, reason);
  g_autoptr (GError) error = NULL;

  if (!sfb_sip_connection_send_response (self->connection, response, &error))
    g_debug ("Could not answer %s: %s", sfb_sip_message_get_method (request), error->message);
}

/* What the server said, in words (sfb_failure_deregistration_reason()),
 * its text quoted bounded and without control or bidi characters. */
static GError *
signed_out_by_server_error (SfbSession *self, const char *event, const char *diagnostics)
{
  g_autofree char *why = sfb_failure_deregistration_reason (event, diagnostics);

  return g_error_new (SFB_ERROR,
                      SFB_ERROR_SERVER_REJECTED,
                      "The server signed %s out: %s. Sign in again with: sfbctl sign-in",
                      self->uri,
                      why);
}

/* registration-notify (protocol.md §12.3) */
static void
deregistered (SfbSession *self, SfbSipMessage *request)
{
  g_autoptr (SfbDeregistration) dereg = sfb_deregistration_parse (request);
  /* server text: shown only bounded, without control or bidi characters */
  g_autofree char *event
      = dereg->event != NULL ? sfb_failure_quote (dereg->event, SFB_FAILURE_MAX_QUOTE) : NULL;
  g_autofree char *diagnostics = dereg->diagnostics != NULL
                                     ? sfb_failure_quote (dereg->diagnostics, SFB_FAILURE_MAX_QUOTE)
                                     : NULL;
  g_autoptr (GError) error = NULL;

  sfb_log (G_LOG_LEVEL_WARNING,
           SFB_LOG_TOPIC ("registration"),
           "MESSAGE",
           "The server ended the registration: event=%s%s%s",
           event != NULL ? event : "(none)",
           diagnostics != NULL ? " " : "",
           diagnostics != NULL ? diagnostics : "");

  if (dereg->kind == SFB_DEREGISTRATION_REJECTED)
    {
      error = g_error_new (SFB_ERROR,
                           SFB_ERROR_ACCOUNT_DISABLED,
                           "The server signed %s out because the account was disabled%s%s%s. "
                           "Ask your administrator.",
                           self->uri,
                           diagnostics != NULL ? " (" : "",
                           diagnostics != NULL ? diagnostics : "",
                           diagnostics != NULL ? ")" : "");
      fail (self, error);
      return;
    }
  if (dereg->kind == SFB_DEREGISTRATION_DEACTIVATED
      || dereg->kind == SFB_DEREGISTRATION_REGISTRAR_CHANGE)
    {
      if (dereg->registrar_host != NULL)
        {
          /* the registrar the server named becomes the home pool, tried
           * first, with discovery behind it */
          g_info ("The account moved (%s): registering at %s", event, dereg->registrar_host);
          save_home_pool (self, dereg->registrar_host, dereg->registrar_port);
          start_attempt (self, TRUE);
          return;
        }
      g_info ("The account moved (%s): discovering its server again", event);
      forget_home_pool (self);
      start_attempt (self, FALSE);
      return;
    }
  /* unregistered, or anything unknown: signed out, not retried */
  error = signed_out_by_server_error (self, event, diagnostics);
  sfb_log (G_LOG_LEVEL_WARNING,
           SFB_LOG_MESSAGE_ID (SFB_LOG_MSGID_SIGN_OUT),
           SFB_LOG_ERR (error),
           "SFB_ERROR_NAME",
           sfb_error_get_dbus_name (error),
           SFB_LOG_STATE (SFB_STATE_SIGNED_OUT),
           SFB_LOG_URI (self->uri),
           "SFB_SERVER",
           self->strings[STR_SERVER],
           SFB_LOG_TOPIC ("registration"),
           "MESSAGE",
           "Signed out by the server: %s",
           error->message);
  cancel_attempt (self);
  clear_connection_properties (self);
  set_last_error (self, error);
  set_state (self, SFB_STATE_SIGNED_OUT);
}

static void
on_request (SfbSipConnection *connection, SfbSipMessage *request, SfbSession *self)
{
  g_autoptr (SfbSession) keep G_GNUC_UNUSED = g_object_ref (self);
  const char *method = sfb_sip_message_get_method (request);
  const char *event = sfb_sip_message_get_header (request, "Event");
  gboolean notify = g_strcmp0 (method, "NOTIFY") == 0;
  gboolean benotify = g_strcmp0 (method, "BENOTIFY") == 0;

  if (connection != self->connection || g_strcmp0 (method, "ACK") == 0)
    return;
  if ((notify || benotify) && event != NULL
      && g_ascii_strncasecmp (event, "registration-notify", 19) == 0)
    {
      if (notify)
        answer (self, request, 200, "OK");
      deregistered (self, request);
      return;
    }
  if (self->registered && emit_request (self, request))
    return; /* a service (daemon/services) owns it */
  if (benotify)
    return; /* never answered (protocol.md §13 item 8) */
  if (notify)
    answer (self, request, 200, "OK");
  else if (g_strcmp0 (method, "OPTIONS") == 0)
    answer (self, request, 200, "OK");
  else
    answer (self, request, 501, "Not Implemented");
}

/* ---- network and sleep ----------------------------------------------- */

static void
retry_now (SfbSession *self, const char *why)
{
  if (g_strcmp0 (self->strings[STR_STATE], SFB_STATE_RECONNECTING) != 0
      || (self->retry_id == 0 && !self->waiting_for_network))
    return;
  g_info ("%s: retrying at once", why);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->waiting_for_network = FALSE;
  sfb_backoff_reset (&self->backoff);
  on_retry (self);
}

static void
on_network_changed (GNetworkMonitor *monitor, gboolean available, SfbSession *self)
{
  gboolean was = self->network_available;

  self->network_available = available;
  /* another network may have another DNS view (VPN, split DNS) */
  sfb_sip_connection_forget_addresses ();
  if (available != was)
    g_info ("The network is %s", available ? "available" : "unavailable");
  if (available && !was)
    retry_now (self, "The network is back");
}

static void
on_prepare_for_sleep (GDBusConnection *bus,
                      const char *sender,
                      const char *path,
                      const char *interface,
                      const char *signal,
                      GVariant *parameters,
                      gpointer user_data)
{
  SfbSession *self = user_data;
  gboolean going_to_sleep = FALSE;
  const char *state = self->strings[STR_STATE];

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    return;
  g_variant_get (parameters, "(b)", &going_to_sleep);
  if (going_to_sleep)
    return;
  if (g_strcmp0 (state, SFB_STATE_SIGNED_IN) == 0 || g_strcmp0 (state, SFB_STATE_RECONNECTING) == 0)
    {
      g_info ("Resumed from sleep: reconnecting");
      sfb_backoff_reset (&self->backoff);
      start_attempt (self, TRUE);
    }
}

static void
on_system_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbSession) self = user_data;
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (result, &error);

  if (bus == NULL)
    {
      g_debug ("No system bus, so no resume detection: %s", error->message);
      return;
    }
  self->system_bus = bus;
  self->sleep_subscription = g_dbus_connection_signal_subscribe (bus,
                                                                 "org.freedesktop.login1",
                                                                 "org.freedesktop.login1.Manager",
                                                                 "PrepareForSleep",
                                                                 "/org/freedesktop/login1",
                                                                 NULL,
                                                                 G_DBUS_SIGNAL_FLAGS_NONE,
                                                                 on_prepare_for_sleep,
                                                                 self,
                                                                 NULL);
}

static void
watch_system (SfbSession *self)
{
  if (self->monitor != NULL)
    return;
  self->monitor = g_object_ref (g_network_monitor_get_default ());
  self->network_available = g_network_monitor_get_network_available (self->monitor);
  g_signal_connect (self->monitor, "network-changed", G_CALLBACK (on_network_changed), self);
  g_bus_get (G_BUS_TYPE_SYSTEM, NULL, on_system_bus, g_object_ref (self));
}

/* ---- public ---------------------------------------------------------- */

void
sfb_session_sign_in (SfbSession *self, const char *password)
{
  g_return_if_fail (SFB_IS_SESSION (self));

  wipe_password (self);
  self->password = g_strdup (password);
  if (self->password != NULL)
    sfb_log_add_secret (self->password);
  self->ccache_sign_in = self->password == NULL; /* Kerberos credentials only */
  watch_system (self);
  sfb_backoff_reset (&self->backoff);
  self->reconnect_attempts = 0;
  g_clear_pointer (&self->warned, g_free); /* a user-started sign-in warns afresh */
  self->signature_failures = 0;
  set_last_error (self, NULL);
  start_attempt (self, TRUE);
}

void
sfb_session_sign_out (SfbSession *self)
{
  g_return_if_fail (SFB_IS_SESSION (self));

  if (self->connection != NULL && self->registered
      && !sfb_sip_connection_is_closed (self->connection))
    {
      clear_timers (self);
      self->phase = PHASE_SIGN_OUT;
      begin_sign_out (self);
      return;
    }
  finish_sign_out (self);
}

gboolean
sfb_session_reconnect (SfbSession *self, GError **error)
{
  const char *state;

  g_return_val_if_fail (SFB_IS_SESSION (self), FALSE);

  state = self->strings[STR_STATE];
  if ((self->password == NULL && !self->ccache_sign_in)
      || g_strcmp0 (state, SFB_STATE_SIGNED_OUT) == 0 || g_strcmp0 (state, SFB_STATE_FAILED) == 0)
    {
      g_set_error_literal (
          error,
          SFB_ERROR,
          SFB_ERROR_NOT_SIGNED_IN,
          "Not signed in, so there is nothing to reconnect. Sign in with: sfbctl sign-in");
      return FALSE;
    }
  sfb_backoff_reset (&self->backoff);
  start_attempt (self, TRUE);
  return TRUE;
}

const char *
sfb_session_get_state (SfbSession *self)
{
  return self->strings[STR_STATE];
}

const char *
sfb_session_get_server (SfbSession *self)
{
  return self->strings[STR_SERVER];
}

const char *
sfb_session_get_server_version (SfbSession *self)
{
  return self->strings[STR_SERVER_VERSION];
}

const char *
sfb_session_get_auth_method (SfbSession *self)
{
  return self->strings[STR_AUTH_METHOD];
}

const char *
sfb_session_get_access_location (SfbSession *self)
{
  return self->strings[STR_ACCESS_LOCATION];
}

const char *
sfb_session_get_local_address (SfbSession *self)
{
  return self->strings[STR_LOCAL_ADDRESS];
}

const char *
sfb_session_get_interface (SfbSession *self)
{
  return self->strings[STR_INTERFACE];
}

guint64
sfb_session_get_signed_in_since (SfbSession *self)
{
  return self->signed_in_since;
}

guint
sfb_session_get_reconnect_attempts (SfbSession *self)
{
  return self->reconnect_attempts;
}

guint64
sfb_session_get_next_retry (SfbSession *self)
{
  return (guint64) MAX (self->next_retry, 0);
}

const GError *
sfb_session_get_last_error (SfbSession *self)
{
  return self->last_error;
}

const char *
sfb_session_get_gruu (SfbSession *self)
{
  return self->registered ? self->gruu : NULL;
}

gboolean
sfb_session_server_supports (SfbSession *self, const char *option)
{
  for (guint i = 0; self->supported != NULL && self->supported[i] != NULL; i++)
    {
      g_autofree char *value = g_strstrip (g_strdup (self->supported[i]));

      if (g_ascii_strcasecmp (value, option) == 0)
        return TRUE;
    }
  return FALSE;
}

/* ---- requests for daemon/services (issue 6) -------------------------- */

static gboolean
emit_request (SfbSession *self, SfbSipMessage *request)
{
  gboolean handled = FALSE;

  g_signal_emit (self, signals[SIGNAL_REQUEST], 0, request, &handled);
  return handled;
}

static char *
own_contact (SfbSession *self)
{
  const char *ip;

  if (self->gruu != NULL)
    return g_strdup_printf ("<%s>", self->gruu);
  ip = sfb_sip_connection_get_local_ip (self->connection);
  return g_strdup_printf (
      "<sip:%s%s%s:%u;transport=tls;ms-opaque=%s>;+sip.instance=\"<urn:uuid:%s>\"",
      strchr (ip, ':') != NULL ? "[" : "",
      ip,
      strchr (ip, ':') != NULL ? "]" : "",
      sfb_sip_connection_get_local_port (self->connection),
      self->ms_opaque,
      self->instance);
}

SfbSipMessage *
sfb_session_new_request (SfbSession *self, const char *method, const char *request_uri)
{
  g_autoptr (SfbSipMessage) message = NULL;
  g_autofree char *tag = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *call_id = NULL;
  g_autofree char *cseq = NULL;
  g_autofree char *contact = NULL;

  g_return_val_if_fail (SFB_IS_SESSION (self), NULL);
  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (self->uri != NULL, NULL);

  message = sfb_sip_message_new_request (method, request_uri != NULL ? request_uri : self->uri);
  tag = sfb_sip_connection_new_token (10);
  from = g_strdup_printf ("<%s>;tag=%s;epid=%s", self->uri, tag, self->epid);
  to = g_strdup_printf ("<%s>", request_uri != NULL ? request_uri : self->uri);
  call_id = sfb_sip_connection_new_token (32);
  cseq = g_strdup_printf ("1 %s", method);
  sfb_sip_message_append_header (message, "From", from);
  sfb_sip_message_append_header (message, "To", to);
  sfb_sip_message_append_header (message, "Max-Forwards", "70");
  sfb_sip_message_append_header (message, "CSeq", cseq);
  sfb_sip_message_append_header (message, "User-Agent", "sfbd/" PACKAGE_VERSION);
  sfb_sip_message_append_header (message, "Call-ID", call_id);
  if (self->connection != NULL)
    {
      contact = own_contact (self);
      sfb_sip_message_append_header (message, "Contact", contact);
    }
  return g_steal_pointer (&message);
}

/* A service request in flight (the GTask's data). */
typedef struct
{
  SfbSipMessage *request;
  gboolean sent;   /* went out once: a resend is a new transaction */
  gboolean resent; /* sent again after a 401 already: the next is final */
  guint sign_out;  /* an unsubscribe of this sign-out, 0: none */
} ServiceCall;

static void
service_call_free (ServiceCall *call)
{
  g_object_unref (call->request);
  g_free (call);
}

static void on_service_response (GObject *source, GAsyncResult *result, gpointer user_data);
static void sign_out_request_done (SfbSession *self, guint serial);

/* Sends @task's request on the current connection (takes @task). */
static void
send_service_call (SfbSession *self, GTask *task)
{
  ServiceCall *call = g_task_get_task_data (task);

  if (call->sent)
    {
      /* a new transaction: a fresh Via branch (the connection adds it) and
       * the next CSeq (RFC 3261 §8.1.3.5) */
      g_autofree char *method = NULL;
      guint32 cseq = 0;

      sfb_sip_message_remove_header (call->request, "Via");
      if (sfb_sip_message_get_cseq (call->request, &cseq, &method, NULL) && cseq < G_MAXUINT32)
        {
          g_autofree char *value = g_strdup_printf ("%u %s", cseq + 1, method);

          sfb_sip_message_set_header (call->request, "CSeq", value);
        }
    }
  call->sent = TRUE;
  sfb_sip_connection_send_request_async (self->connection,
                                         call->request,
                                         SFB_SIP_CONNECTION_DEFAULT_TIMEOUT_MS,
                                         g_task_get_cancellable (task),
                                         on_service_response,
                                         task);
}

/* A new SA on the same connection (the server lost ours), unless a
 * REGISTER that ends in one, or a sign-out, is under way. */
static void
start_reauthentication (SfbSession *self)
{
  g_autoptr (GError) error = NULL;

  if (self->phase != PHASE_NONE)
    return;
  g_clear_handle_id (&self->reregister_id, g_source_remove);
  g_clear_handle_id (&self->reauth_id, g_source_remove);
  self->phase = PHASE_REAUTH;
  if (!new_security (self, &error))
    {
      fail (self, error);
      return;
    }
  send_register (self, -1);
}

/* A 401/407 to a request after sign-in: the server lost the security
 * association (a restarted front end, an SA it expired early).  The
 * request waits for a new SA and goes once more; TRUE when it does. */
static gboolean
resend_after_reauthentication (SfbSession *self, GTask *task, SfbSipMessage *response)
{
  ServiceCall *call = g_task_get_task_data (task);
  guint code = sfb_sip_message_get_status_code (response);

  if ((code != 401 && code != 407) || call->resent || call->sign_out != 0 || !self->registered
      || self->phase == PHASE_SIGN_OUT)
    return FALSE;
  call->resent = TRUE;
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_TOPIC ("registration"),
           "MESSAGE",
           "%s answered %s with SIP %u: the security association was lost; authenticating "
           "again and sending it once more",
           sfb_sip_connection_get_host (self->connection),
           sfb_sip_message_get_method (call->request),
           code);
  g_ptr_array_add (self->reauth_queue, g_object_ref (task));
  start_reauthentication (self);
  return TRUE;
}

/* The new SA is in place: send what waited for it. */
static void
resend_reauth_queue (SfbSession *self)
{
  g_autoptr (GPtrArray) queue = g_steal_pointer (&self->reauth_queue);

  self->reauth_queue = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < queue->len; i++)
    send_service_call (self, g_object_ref (g_ptr_array_index (queue, i)));
}

/* The connection is gone: what waited for a new SA fails as not signed in
 * (services start over at the next "registered"). */
static void
fail_reauth_queue (SfbSession *self)
{
  g_autoptr (GPtrArray) queue = NULL;

  if (self->reauth_queue == NULL || self->reauth_queue->len == 0)
    return;
  queue = g_steal_pointer (&self->reauth_queue);
  self->reauth_queue = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < queue->len; i++)
    {
      GTask *task = g_ptr_array_index (queue, i);
      ServiceCall *call = g_task_get_task_data (task);

      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_NOT_SIGNED_IN,
                               "The connection ended while authenticating again: %s was not "
                               "sent",
                               sfb_sip_message_get_method (call->request));
    }
}

static void
on_service_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbSession *self = g_task_get_source_object (task);
  ServiceCall *call = g_task_get_task_data (task);
  guint sign_out = call->sign_out;
  GError *error = NULL;
  SfbSipMessage *response
      = sfb_sip_connection_send_request_finish (SFB_SIP_CONNECTION (source), result, &error);

  if (response != NULL && SFB_SIP_CONNECTION (source) == self->connection
      && resend_after_reauthentication (self, task, response))
    {
      g_object_unref (response);
      return;
    }
  if (response == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, response, g_object_unref);
  if (sign_out != 0)
    sign_out_request_done (self, sign_out);
}

void
sfb_session_send_request_async (SfbSession *self,
                                SfbSipMessage *request,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  ServiceCall *call;

  g_return_if_fail (SFB_IS_SESSION (self));
  g_return_if_fail (SFB_IS_SIP_MESSAGE (request));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_session_send_request_async);
  if (self->connection == NULL || !self->registered)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_NOT_SIGNED_IN,
                               "Not signed in: cannot send %s",
                               sfb_sip_message_get_method (request));
      return;
    }
  call = g_new0 (ServiceCall, 1);
  call->request = g_object_ref (request);
  g_task_set_task_data (task, call, (GDestroyNotify) service_call_free);
  if (self->phase == PHASE_SIGN_OUT && !self->deregistering)
    {
      call->sign_out = self->sign_out_serial;
      self->sign_out_pending++;
    }
  if (self->phase == PHASE_REAUTH)
    {
      /* unsigned until the new SA is in place: wait for it */
      g_ptr_array_add (self->reauth_queue, g_steal_pointer (&task));
      return;
    }
  send_service_call (self, g_steal_pointer (&task));
}

/* ---- signing out: unsubscribe, then unregister ------------------------ */

static void
send_deregister (SfbSession *self)
{
  g_clear_handle_id (&self->sign_out_id, g_source_remove);
  if (self->deregistering)
    return;
  self->deregistering = TRUE;
  send_register (self, 0);
}

static gboolean
on_sign_out_timeout (gpointer user_data)
{
  SfbSession *self = user_data;

  self->sign_out_id = 0;
  g_debug ("%u unsubscribes unanswered: unregistering anyway", self->sign_out_pending);
  send_deregister (self);
  return G_SOURCE_REMOVE;
}

static void
sign_out_request_done (SfbSession *self, guint serial)
{
  if (serial != self->sign_out_serial || self->phase != PHASE_SIGN_OUT || self->deregistering
      || self->sign_out_pending == 0)
    return;
  if (--self->sign_out_pending == 0)
    send_deregister (self);
}

/* "signing-out" lets services unsubscribe (their requests are counted in
 * sfb_session_send_request_async()); the REGISTER Expires: 0 goes when
 * they are answered, or after SIGN_OUT_TIMEOUT_MS, so that the server
 * still knows the endpoint they came from. */
static void
begin_sign_out (SfbSession *self)
{
  g_autoptr (SfbSession) keep G_GNUC_UNUSED = g_object_ref (self);

  if (++self->sign_out_serial == 0)
    self->sign_out_serial = 1;
  self->sign_out_pending = 0;
  self->deregistering = FALSE;
  g_signal_emit (self, signals[SIGNAL_SIGNING_OUT], 0);
  if (self->phase != PHASE_SIGN_OUT || self->deregistering)
    return; /* the session moved on meanwhile */
  if (self->sign_out_pending == 0)
    {
      send_deregister (self);
      return;
    }
  g_debug ("Unsubscribing (%u) before unregistering", self->sign_out_pending);
  self->sign_out_id = g_timeout_add (SIGN_OUT_TIMEOUT_MS, on_sign_out_timeout, self);
}

SfbSipMessage *
sfb_session_send_request_finish (SfbSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
sfb_session_respond (SfbSession *self,
                     SfbSipMessage *request,
                     guint code,
                     const char *reason,
                     const char *content_type,
                     GBytes *body,
                     GError **error)
{
  g_autoptr (SfbSipMessage) response = NULL;

  g_return_val_if_fail (SFB_IS_SESSION (self), FALSE);
  g_return_val_if_fail (g_strcmp0 (sfb_sip_message_get_method (request), "BENOTIFY") != 0, FALSE);

  if (self->connection == NULL)
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_NOT_SIGNED_IN, "Not connected");
      return FALSE;
    }
  response = make_response (request, code, reason);
  if (body != NULL)
    sfb_sip_message_set_body (response, content_type, body);
  return sfb_sip_connection_send_response (self->connection, response, error);
}

/* ---- settings tasks (retrieving-settings) ---------------------------- */

static void
settings_done (SfbSession *self, const char *why)
{
  g_clear_handle_id (&self->settings_timeout_id, g_source_remove);
  g_hash_table_remove_all (self->settings_tasks);
  if (g_strcmp0 (self->strings[STR_STATE], SFB_STATE_RETRIEVING_SETTINGS) != 0)
    return;
  stage_detail (self, "%s", why);
  stage_end (self, NULL);
  set_state (self, SFB_STATE_SIGNED_IN);
}

static gboolean
on_settings_timeout (gpointer user_data)
{
  SfbSession *self = user_data;
  g_autoptr (GString) pending = g_string_new (NULL);
  GHashTableIter iter;
  gpointer value;

  self->settings_timeout_id = 0;
  g_hash_table_iter_init (&iter, self->settings_tasks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_string_append_printf (pending, "%s%s", pending->len > 0 ? ", " : "", (const char *) value);
  sfb_log (G_LOG_LEVEL_WARNING,
           SFB_LOG_TOPIC ("settings"),
           "MESSAGE",
           "Settings still pending after %u s (%s); signed in without them",
           SFB_SESSION_SETTINGS_TIMEOUT_S,
           pending->str);
  g_string_prepend (pending, "timed out waiting for: ");
  settings_done (self, pending->str);
  return G_SOURCE_REMOVE;
}

static void
clear_settings_tasks (SfbSession *self)
{
  g_clear_handle_id (&self->settings_timeout_id, g_source_remove);
  g_hash_table_remove_all (self->settings_tasks);
}

static void
enter_retrieving_settings (SfbSession *self)
{
  g_autoptr (SfbSession) keep G_GNUC_UNUSED = g_object_ref (self);

  clear_settings_tasks (self);
  set_state (self, SFB_STATE_RETRIEVING_SETTINGS);
  stage_begin (self, SFB_STATE_RETRIEVING_SETTINGS, NULL);
  g_signal_emit (self, signals[SIGNAL_REGISTERED], 0);
  if (!self->registered)
    return; /* a handler's failure dropped the connection */
  if (g_hash_table_size (self->settings_tasks) == 0)
    settings_done (self, "nothing to wait for");
  else if (self->settings_timeout_id == 0)
    self->settings_timeout_id
        = g_timeout_add_seconds (SFB_SESSION_SETTINGS_TIMEOUT_S, on_settings_timeout, self);
}

guint
sfb_session_begin_settings_task (SfbSession *self, const char *name)
{
  guint id;

  g_return_val_if_fail (SFB_IS_SESSION (self), 0);

  if (g_strcmp0 (self->strings[STR_STATE], SFB_STATE_RETRIEVING_SETTINGS) != 0)
    return 0; /* nothing waits: the session is past (or before) that stage */
  id = ++self->next_settings_task;
  if (id == 0)
    id = ++self->next_settings_task;
  g_hash_table_insert (self->settings_tasks, GUINT_TO_POINTER (id), g_strdup (name));
  return id;
}

void
sfb_session_end_settings_task (SfbSession *self, guint id)
{
  const char *name;

  g_return_if_fail (SFB_IS_SESSION (self));

  if (id == 0)
    return;
  name = g_hash_table_lookup (self->settings_tasks, GUINT_TO_POINTER (id));
  if (name == NULL)
    return; /* stale: a reconnect or the timeout dropped it */
  stage_detail (self, "%s done", name);
  g_hash_table_remove (self->settings_tasks, GUINT_TO_POINTER (id));
  if (g_hash_table_size (self->settings_tasks) == 0)
    settings_done (self, "all settings retrieved");
}

/* ---- object ---------------------------------------------------------- */

static void
sfb_session_dispose (GObject *object)
{
  SfbSession *self = SFB_SESSION (object);

  cancel_attempt (self);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  if (self->system_bus != NULL && self->sleep_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_subscription);
  self->sleep_subscription = 0;
  g_clear_object (&self->system_bus);
  if (self->discovery != NULL)
    g_signal_handlers_disconnect_by_data (self->discovery, self);
  g_clear_object (&self->discovery);
  g_clear_object (&self->tls_database);
  g_clear_object (&self->provisioner);
  g_clear_pointer (&self->user_cert, sfb_user_certificate_free);
  g_clear_object (&self->config);
  wipe_password (self);
  G_OBJECT_CLASS (sfb_session_parent_class)->dispose (object);
}

static void
sfb_session_finalize (GObject *object)
{
  SfbSession *self = SFB_SESSION (object);

  for (guint i = 0; i < N_STRINGS; i++)
    g_free (self->strings[i]);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  g_ptr_array_unref (self->trace);
  g_string_free (self->tried, TRUE);
  g_clear_error (&self->last_error);
  g_clear_error (&self->auth_cause);
  g_free (self->attempt_server);
  g_free (self->warned);
  g_free (self->state_dir);
  g_free (self->uri);
  g_free (self->domain);
  g_free (self->epid);
  g_free (self->instance);
  g_free (self->call_id);
  g_free (self->from_tag);
  g_free (self->ms_opaque);
  g_free (self->gruu);
  g_strfreev (self->supported);
  g_hash_table_unref (self->settings_tasks);
  g_ptr_array_unref (self->reauth_queue);
  G_OBJECT_CLASS (sfb_session_parent_class)->finalize (object);
}

static void
sfb_session_class_init (SfbSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_session_dispose;
  object_class->finalize = sfb_session_finalize;

  /* changed(): any getter may return something new */
  signals[SIGNAL_CHANGED] = g_signal_new (
      "changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* registered(): a registration completed on a (new) connection */
  signals[SIGNAL_REGISTERED] = g_signal_new ("registered",
                                             G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST,
                                             0,
                                             NULL,
                                             NULL,
                                             NULL,
                                             G_TYPE_NONE,
                                             0);
  /* signing-out (void): about to unregister; unsubscribe now (with
   * sfb_session_send_request_async) */
  signals[SIGNAL_SIGNING_OUT] = g_signal_new ("signing-out",
                                              G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST,
                                              0,
                                              NULL,
                                              NULL,
                                              NULL,
                                              G_TYPE_NONE,
                                              0);
  /* request(SfbSipMessage *) -> gboolean handled */
  signals[SIGNAL_REQUEST] = g_signal_new ("request",
                                          G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST,
                                          0,
                                          g_signal_accumulator_true_handled,
                                          NULL,
                                          NULL,
                                          G_TYPE_BOOLEAN,
                                          1,
                                          SFB_TYPE_SIP_MESSAGE);
}

static void
sfb_session_init (SfbSession *self)
{
  for (guint i = 0; i < N_STRINGS; i++)
    self->strings[i] = g_strdup ("");
  g_free (self->strings[STR_STATE]);
  self->strings[STR_STATE] = g_strdup (SFB_STATE_SIGNED_OUT);
  self->trace = g_ptr_array_new_with_free_func ((GDestroyNotify) trace_stage_free);
  self->tried = g_string_new (NULL);
  self->settings_tasks = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->reauth_queue = g_ptr_array_new_with_free_func (g_object_unref);
  sfb_backoff_init (&self->backoff, SFB_BACKOFF_DEFAULT_BASE_MS, SFB_BACKOFF_DEFAULT_CAP_MS);
}

SfbSession *
sfb_session_new (SfbConfig *config, const char *state_dir)
{
  SfbSession *self;

  g_return_val_if_fail (SFB_IS_CONFIG (config), NULL);
  g_return_val_if_fail (state_dir != NULL, NULL);

  self = g_object_new (SFB_TYPE_SESSION, NULL);
  self->config = g_object_ref (config);
  self->state_dir = g_strdup (state_dir);
  /* the first sign-in must not wait for the system trust store */
  sfb_tls_preload_system_trust ();
  return self;
}
