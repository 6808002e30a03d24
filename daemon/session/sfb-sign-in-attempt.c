/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One sign-in attempt, from the candidates to the 200 OK to REGISTER
 * (docs/architecture.md §10, docs/protocol.md §2-§4, §9, §10): the
 * configured server, else the remembered home pool, else discovery (whose
 * early candidate is dialled while autodiscover is still out); connecting
 * to each in turn; the REGISTER and the answers to it, the 401s handed to
 * sfb-sign-in-auth.c; a 301 to the home pool; and "registered", after
 * which sfb-registration-lifetime.c keeps the registration.
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-session-private.h"

#include "sfb-autodiscover.h"
#include "sfb-endpoint-id.h"
#include "sfb-error.h"
#include "sfb-file.h"
#include "sfb-home-pool.h"
#include "sfb-log.h"
#include "sfb-registration.h"
#include "sfb-tls.h"

#include <sfbd/sfb-names.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define MAX_REDIRECTS 5
#define MAX_CANDIDATES 32
#define KEEPALIVE_BEFORE_REGISTERED_S 60
#define CONTACT_METHODS SFB_SESSION_ALLOW

static void run_discovery (SfbSession *self);
static void on_discovered (GObject *source, GAsyncResult *result, gpointer user_data);
static void on_early_candidate (SfbDiscovery *discovery,
                                SfbServerCandidate *candidate,
                                gboolean settled,
                                SfbSession *self);
static void add_discovered (SfbSession *self, GPtrArray *found);
static void connect_next (SfbSession *self);
static void on_connected (GObject *source, GAsyncResult *result, gpointer user_data);
static void on_connection_closed (SfbSipConnection *connection, GError *error, SfbSession *self);
static void on_register_response (GObject *source, GAsyncResult *result, gpointer user_data);
static void registered (SfbSession *self, SfbSipMessage *response);
static void redirect (SfbSession *self, SfbSipMessage *response);
static void rejected (SfbSession *self, SfbSipMessage *response);

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
  if (!self->home_address_read)
    {
      g_autofree char *address = NULL;
      gint64 learnt = 0;

      /* Only in a new process: later attempts have what this run resolved
       * (or chose to forget, when the network changed). */
      self->home_address_read = TRUE;
      if (sfb_home_pool_parse_address (
              contents, length, self->uri, g_get_real_time () / G_USEC_PER_SEC, &address, &learnt))
        sfb_sip_connection_remember_address (host, address);
    }
  return sfb_server_candidate_new (host, port, SFB_SERVER_SOURCE_LAST_HOME_POOL, NULL);
}

void
sfb_session_save_home_pool (SfbSession *self, const char *host, guint16 port, const char *address)
{
  g_autofree char *path = home_pool_path (self);
  g_autofree char *contents
      = sfb_home_pool_format (self->uri,
                              host,
                              port,
                              address != NULL && *address != '\0' ? address : NULL,
                              g_get_real_time () / G_USEC_PER_SEC);
  g_autoptr (GError) error = NULL;

  if (g_mkdir_with_parents (self->state_dir, 0700) != 0
      || !g_file_set_contents_full (
          path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_debug ("Could not remember the home pool: %s",
             error != NULL ? error->message : g_strerror (errno));
}

void
sfb_session_forget_home_pool (SfbSession *self)
{
  g_autofree char *path = home_pool_path (self);

  (void) g_unlink (path);
}

/* ---- starting an attempt --------------------------------------------- */

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
      SfbWebTicketProvider provider = { G_OBJECT (self),
                                        sfb_session_web_ticket_get_async,
                                        sfb_session_web_ticket_get_finish };

      self->tls_database = sfb_tls_database_new (sfb_config_get_ca_file (self->config), error);
      if (self->tls_database == NULL)
        return FALSE;
      self->discovery = sfb_discovery_new (NULL, self->tls_database);
      sfb_discovery_set_web_ticket_provider (self->discovery, &provider);
      g_signal_connect (self->discovery, "early-candidate", G_CALLBACK (on_early_candidate), self);
    }
  else
    sfb_tls_database_preload (self->tls_database); /* released once signed in */
  return TRUE;
}

void
sfb_session_start_attempt (SfbSession *self, gboolean use_home_pool)
{
  g_autoptr (GError) error = NULL;
  const char *host = sfb_config_get_server_host (self->config);

  sfb_session_cancel_attempt (self);
  sfb_session_clear_connection_properties (self);
  self->cancellable = g_cancellable_new ();
  g_ptr_array_set_size (self->trace, 0);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  self->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
  self->candidate_index = 0;
  self->redirects = 0;
  self->discovery_pending = FALSE;
  g_string_truncate (self->tried, 0);
  sfb_session_begin_attempt_fields (self, NULL, 0);
  g_clear_error (&self->auth_cause);

  if (!prepare_identity (self, &error))
    {
      sfb_session_fail (self, error);
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

/* ---- discovery ------------------------------------------------------- */

static void
run_discovery (SfbSession *self)
{
  self->discovery_pending = FALSE;
  self->discovering = TRUE;
  self->discovery_base = self->candidates->len;
  self->candidate_index = self->candidates->len;
  self->early_dialled = FALSE;
  self->early_failed = FALSE;
  sfb_session_set_state (self, SFB_STATE_DISCOVERING);
  sfb_session_stage_begin (self, SFB_STATE_DISCOVERING, NULL);
  sfb_discovery_run_async (
      self->discovery, self->uri, self->cancellable, on_discovered, g_object_ref (self));
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
  if (self->registered)
    {
      /* signed in beside discovery: it was the last */
      sfb_session_close_http_connections (self);
      sfb_session_release_trust_when_done (self);
    }
  details = sfb_discovery_get_details (SFB_DISCOVERY (source));
  for (guint i = 0; details != NULL && details[i] != NULL; i++)
    sfb_session_discovery_detail (self, details[i]);
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
          sfb_session_discovery_detail (
              self,
              found != NULL && found->len > 0 && sfb_server_candidate_equal (found->pdata[0], early)
                  ? "the early candidate is the first candidate"
                  : "kept the early candidate");
          if (found != NULL && self->redirects == 0)
            add_discovered (self, found);
          return;
        }
      text = sfb_server_candidate_to_string (found->pdata[0]);
      g_info ("Discovery finished: %s outranks the early candidate, connecting there", text);
      sfb_session_discovery_detail (self,
                                    "the early candidate was replaced by the first candidate");
      sfb_session_stage_detail (self, "replaced by %s", text);
      sfb_session_stage_end (self, NULL);
      sfb_session_drop_connection (self);
      sfb_session_clear_connection_properties (self);
      self->connect_serial++;
      g_ptr_array_set_size (self->candidates, self->discovery_base);
      add_discovered (self, found);
      self->candidate_index = self->discovery_base;
      connect_next (self);
      return;
    }
  if (found == NULL)
    {
      sfb_session_retry_later (self, error, -1);
      return;
    }
  sfb_session_stage_detail (self, "%u candidates", found->len);
  add_discovered (self, found);
  sfb_session_stage_end (self, NULL);
  connect_next (self);
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
  sfb_session_stage_detail (self,
                            "dialling %s %s",
                            text,
                            settled ? "(every lookup above it answered)" : "beside autodiscover");
  g_ptr_array_set_size (self->candidates, self->discovery_base);
  g_ptr_array_add (self->candidates, sfb_server_candidate_copy (candidate));
  self->candidate_index = self->discovery_base;
  connect_next (self);
}

/* ---- connecting ------------------------------------------------------ */

typedef struct
{
  SfbSession *self;
  guint serial;
} ConnectCall;
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
          sfb_session_set_state (self, SFB_STATE_DISCOVERING);
          sfb_session_stage_begin (
              self, SFB_STATE_DISCOVERING, "waiting for the remaining lookups");
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
      sfb_session_retry_later (self, error, -1);
      return;
    }
  candidate = g_ptr_array_index (self->candidates, self->candidate_index);
  text = sfb_server_candidate_to_string (candidate);
  sfb_session_begin_attempt_fields (self, candidate->host, candidate->port);
  sfb_session_set_state (self, SFB_STATE_CONNECTING);
  sfb_session_stage_begin (self, SFB_STATE_CONNECTING, "%s", text);
  call = g_new0 (ConnectCall, 1);
  call->self = g_object_ref (self);
  call->serial = ++self->connect_serial;
  sfb_sip_connection_new_async (
      candidate->host, candidate->port, self->tls_database, self->cancellable, on_connected, call);
}

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
      sfb_session_stage_end (self, error);
      g_ptr_array_set_size (self->candidates, self->discovery_base);
      self->early_failed = TRUE;
      connect_next (self);
      return;
    }
  if (connection == NULL)
    {
      sfb_session_stage_end (self, error);
      if (g_error_matches (error, SFB_ERROR, SFB_ERROR_CERTIFICATE_INVALID))
        {
          sfb_session_fail (self, error);
          return;
        }
      note_candidate_failure (self, candidate, error);
      self->candidate_index++;
      connect_next (self);
      return;
    }

  self->connection = g_steal_pointer (&connection);
  g_signal_connect (self->connection, "closed", G_CALLBACK (on_connection_closed), self);
  sfb_sip_connection_set_request_handler (self->connection, sfb_session_on_request, self);
  sfb_sip_connection_set_keepalive_interval (self->connection, KEEPALIVE_BEFORE_REGISTERED_S);
  {
    g_autofree char *server = g_strdup_printf ("%s:%u", candidate->host, candidate->port);

    sfb_session_set_string (self, STR_SERVER, server);
  }
  sfb_session_set_string (
      self, STR_LOCAL_ADDRESS, sfb_sip_connection_get_local_address (self->connection));
  sfb_session_set_string (self, STR_INTERFACE, sfb_sip_connection_get_interface (self->connection));
  sfb_session_set_string (self, STR_ACCESS_LOCATION, candidate->access_location);
  sfb_session_stage_detail (self,
                            "connected to %s (%s) from %s (%s); certificate %s",
                            sfb_sip_connection_get_remote_ip (self->connection),
                            sfb_sip_connection_get_address_source (self->connection),
                            sfb_sip_connection_get_local_address (self->connection),
                            *sfb_sip_connection_get_interface (self->connection) != '\0'
                                ? sfb_sip_connection_get_interface (self->connection)
                                : "unknown interface",
                            sfb_sip_connection_get_peer_subject (self->connection));
  sfb_session_stage_end (self, NULL);
  sfb_session_start_registration (self);
}

static void
on_connection_closed (SfbSipConnection *connection, GError *error, SfbSession *self)
{
  g_autoptr (SfbSession) keep G_GNUC_UNUSED = g_object_ref (self);

  if (connection != self->connection)
    return;
  if (self->phase == PHASE_SIGN_OUT)
    {
      sfb_session_finish_sign_out (self);
      return;
    }
  /* INFO: sfb_session_retry_later() warns, once per distinct failure */
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_ERR (error),
           SFB_LOG_TOPIC ("connection"),
           "MESSAGE",
           "Connection lost: %s",
           error->message);
  sfb_session_retry_later (self, error, -1);
}

/* ---- REGISTER -------------------------------------------------------- */

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

void
sfb_session_send_register (SfbSession *self, int expires)
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

void
sfb_session_start_registration (SfbSession *self)
{
  g_autoptr (GError) error = NULL;

  self->phase = PHASE_SIGN_IN;
  sfb_session_set_state (self, SFB_STATE_AUTHENTICATING);
  sfb_session_stage_begin (self,
                           SFB_STATE_AUTHENTICATING,
                           "REGISTER to %s:%u",
                           sfb_sip_connection_get_host (self->connection),
                           sfb_sip_connection_get_port (self->connection));
  self->auth_scheme = SFB_AUTH_SCHEME_NONE;
  self->auth_failed = 0;
  if (!sfb_session_new_security (self, &error))
    {
      sfb_session_fail (self, error);
      return;
    }
  g_free (self->call_id);
  self->call_id = sfb_sip_connection_new_token (32);
  g_free (self->from_tag);
  self->from_tag = sfb_sip_connection_new_token (10);
  g_free (self->ms_opaque);
  self->ms_opaque = sfb_sip_connection_new_token (10);
  self->cseq = 0;
  sfb_session_send_register (self, -1);
}

/* ---- answers to REGISTER --------------------------------------------- */

/* A 401/407: the next leg of the handshake, or, to a refresh, a new SA
 * (the server lost ours). */
static void
register_challenged (SfbSession *self, Phase phase, SfbSipMessage *response)
{
  if (phase == PHASE_REFRESH)
    {
      g_autoptr (GError) sec_error = NULL;

      g_info ("The server asks for authentication again");
      self->phase = PHASE_REAUTH;
      if (!sfb_session_new_security (self, &sec_error))
        sfb_session_fail (self, sec_error);
      else
        sfb_session_send_register (self, -1);
      return;
    }
  if (sfb_session_handle_challenge (self, response))
    sfb_session_send_register (self, -1);
}

/* An answer to a REGISTER of @phase (not a sign-out's). */
static void
register_answered (SfbSession *self, Phase phase, SfbSipMessage *response)
{
  guint code = sfb_sip_message_get_status_code (response);

  self->last_sip_status = code;
  if (code == 504 && phase != PHASE_SIGN_OUT && ++self->n_timeouts <= MAX_TIMEOUT_RESENDS)
    {
      sfb_session_resend_after_timeout (self, response);
      return;
    }
  if (code != 504 && self->n_timeouts > 0)
    {
      self->n_timeouts = 0;
      if (code >= 200 && code < 300)
        sfb_session_set_last_error (self, NULL);
    }
  if (code == 401 || code == 407)
    {
      register_challenged (self, phase, response);
      return;
    }
  if (code >= 200 && code < 300)
    {
      if (phase == PHASE_SIGN_IN)
        registered (self, response);
      else
        sfb_session_refreshed (self, response);
      return;
    }
  if (code == 301 && phase == PHASE_SIGN_IN)
    {
      redirect (self, response);
      return;
    }
  if (code == 503 || code == 504 || code == 408 || code == 480 || code == 500)
    {
      sfb_session_retry_when_available (self, response);
      return;
    }
  rejected (self, response);
}

static void
on_register_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RegisterCall *call = user_data;
  SfbSession *self = call->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) response = NULL;
  Phase phase = call->phase;

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
      sfb_session_finish_sign_out (self);
      return;
    }
  if (response == NULL)
    {
      sfb_session_retry_later (self, error, -1);
      return;
    }
  register_answered (self, phase, response);
}

static void
registered (SfbSession *self, SfbSipMessage *response)
{
  g_autoptr (SfbRegistration) registration = sfb_registration_parse (response, self->instance);
  const char *server = registration->server;
  const char *host = sfb_sip_connection_get_host (self->connection);
  guint16 port = sfb_sip_connection_get_port (self->connection);
  guint64 expires = 0;

  sfb_session_stage_detail (
      self, "security association established (%s)", sfb_auth_scheme_to_name (self->auth_scheme));
  sfb_session_stage_begin (self, "registered", NULL);
  g_free (self->gruu);
  self->gruu = g_steal_pointer (&registration->gruu);
  g_strfreev (self->supported);
  self->supported = sfb_sip_message_get_header_values (response, "Supported");
  expires = registration->expires;
  sfb_session_stage_detail (self,
                            "GRUU %s; Expires %" G_GUINT64_FORMAT " s; keep-alive %u s; Server %s",
                            self->gruu != NULL ? self->gruu : "(none for our +sip.instance)",
                            expires,
                            registration->keepalive,
                            server != NULL ? server : "(none)");
  sfb_session_stage_detail (
      self, "Supported %s; Allow-Events %s", registration->supported, registration->allow_events);
  sfb_session_stage_end (self, NULL);

  self->registered = TRUE;
  self->phase = PHASE_NONE;
  sfb_session_schedule_refresh (self, response);
  if (sfb_config_get_server_host (self->config) == NULL)
    sfb_session_save_home_pool (
        self, host, port, sfb_sip_connection_get_remote_ip (self->connection));
  sfb_backoff_reset (&self->backoff);
  self->reconnect_attempts = 0;
  g_clear_pointer (&self->warned, g_free); /* the next failure is news */
  self->signed_in_since = (guint64) g_get_real_time ();
  sfb_session_set_string (self, STR_SERVER_VERSION, server);
  sfb_session_set_last_error (self, NULL);
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
  sfb_session_enter_retrieving_settings (self);
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
      sfb_session_fail (self, bad);
      return;
    }
  sfb_session_stage_detail (self, "accepted; 301 redirect");
  sfb_session_set_state (self, SFB_STATE_REDIRECTING);
  sfb_session_stage_begin (self,
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
      sfb_session_fail (self, loop);
      return;
    }
  target = sfb_server_candidate_new (
      to_host, port, SFB_SERVER_SOURCE_REDIRECT, current->access_location);
  sfb_session_drop_connection (self);
  sfb_session_clear_connection_properties (self);
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
  g_autofree char *diagnostics = sfb_session_diagnostics_of (response);
  g_autofree char *reason = sfb_registration_dup_reason (response);
  g_autoptr (GError) error = NULL;

  if (code == 403 && sfb_registration_diagnostics_code (response) == 4141)
    error = g_error_new (SFB_ERROR,
                         SFB_ERROR_ACCOUNT_DISABLED,
                         "The server says the account %s is disabled: SIP %u %s%s. Ask your "
                         "administrator.",
                         self->uri,
                         code,
                         reason,
                         diagnostics);
  else
    error = g_error_new (SFB_ERROR,
                         SFB_ERROR_SERVER_REJECTED,
                         "%s rejected the registration of %s: SIP %u %s%s",
                         sfb_sip_connection_get_host (self->connection),
                         self->uri,
                         code,
                         reason,
                         diagnostics);
  sfb_session_fail (self, error);
}
