/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-daemon.h"

#include "sfb-device-monitor.h"
#include "sfb-error.h"
#ifdef HAVE_KERBEROS
#include "sfb-kerberos-context.h"
#endif
#include "sfb-log.h"
#include "sfb-session.h"
#include "sfb-settings.h"
#include "sfb-contacts.h"
#include "sfb-conversations.h"
#include "sfb-exchange.h"
#include "sfb-presence.h"

#include <sfbd/sfb-names.h>

/* String properties first, contiguous, so they share one array. */
enum
{
  PROP_0,
  PROP_STATE,
  PROP_URI,
  PROP_LOGIN,
  PROP_SERVER,
  PROP_SERVER_VERSION,
  PROP_AUTH_METHOD,
  PROP_ACCESS_LOCATION,
  PROP_LOCAL_ADDRESS,
  PROP_INTERFACE,
  PROP_LAST_ERROR,
  PROP_LAST_ERROR_MESSAGE,
  PROP_AUDIO_OUTPUT,
  PROP_AUDIO_INPUT,
  PROP_VIDEO_INPUT,
  PROP_CREDENTIAL_STORE,
  PROP_CREDENTIAL_STORE_MESSAGE,
  PROP_SIGNED_IN_SINCE,
  PROP_RECONNECT_ATTEMPTS,
  PROP_NEXT_RETRY,
  PROP_CONFIG,
  PROP_SECRET_STORE,
  N_PROPS
};

#define FIRST_STRING_PROP PROP_STATE
#define LAST_STRING_PROP PROP_CREDENTIAL_STORE_MESSAGE

static GParamSpec *props[N_PROPS];

/* name and meaning of each string property, in enum order */
static const char *const string_props[][2] = {
  { "state", "Where the account is in the sign-in pipeline (SFB_STATE_*)" },
  { "uri", "The configured SIP address, sip:user@domain" },
  { "login", "The configured login, or the user part of the URI" },
  { "server", "host:port of the registrar in use" },
  { "server-version", "The registrar's Server header" },
  { "auth-method", "ntlm, kerberos or tls-dsk" },
  { "access-location", "internal or external" },
  { "local-address", "Local address:port of the SIP connection" },
  { "interface", "Network interface of the SIP connection" },
  { "last-error", "D-Bus name of the last sign-in error" },
  { "last-error-message", "What to do about the last sign-in error" },
  { "audio-output", "Node name of the audio output in use" },
  { "audio-input", "Node name of the audio input in use" },
  { "video-input", "Node name of the video input in use" },
  { "credential-store", "Where the password is: memory, secret-service, file or \"\"" },
  { "credential-store-message", "Where the password is, and why, for people" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (string_props) == LAST_STRING_PROP - FIRST_STRING_PROP + 1);

struct _SfbDaemon
{
  GObject parent_instance;

  SfbConfig *config;
  SfbSecretStore *secret_store;
  SfbSession *session;
  SfbSettings *settings;           /* policies, dial plan, their cache */
  SfbContacts *contacts;           /* roaming contacts and their cache */
  SfbPresence *presence;           /* own and contacts' presence */
  SfbExchange *exchange;           /* calendar, out-of-office, voicemail */
  SfbConversations *conversations; /* instant messages */
  SfbDeviceMonitor *device_monitor;
  char *strings[LAST_STRING_PROP + 1];
  guint64 signed_in_since;
  guint reconnect_attempts;
  guint64 next_retry;
  gboolean last_error_is_config;  /* LastError came from a bad sfbd.conf */
  gboolean last_error_is_session; /* LastError came from the sign-in pipeline */
};

G_DEFINE_FINAL_TYPE (SfbDaemon, sfb_daemon, G_TYPE_OBJECT)

enum
{
  SIGNAL_DEVICES_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
set_string (SfbDaemon *self, guint prop_id, const char *value)
{
  if (value == NULL)
    value = "";
  if (g_strcmp0 (self->strings[prop_id], value) == 0)
    return;
  g_free (self->strings[prop_id]);
  self->strings[prop_id] = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop_id]);
}

static void
set_last_error (SfbDaemon *self, const GError *error)
{
  /* who follows one of the two sees both of the new error */
  g_object_freeze_notify (G_OBJECT (self));
  set_string (self, PROP_LAST_ERROR, error != NULL ? sfb_error_get_dbus_name (error) : "");
  set_string (self, PROP_LAST_ERROR_MESSAGE, error != NULL ? error->message : "");
  self->last_error_is_config = FALSE;
  g_object_thaw_notify (G_OBJECT (self));
}

/* Account.CredentialStore(Message), after every use of the store */
static void
update_credential_store (SfbDaemon *self)
{
  SfbSecretStore *store = self->secret_store;

  set_string (self,
              PROP_CREDENTIAL_STORE,
              sfb_credential_location_to_string (sfb_secret_store_get_location (store)));
  set_string (self, PROP_CREDENTIAL_STORE_MESSAGE, sfb_secret_store_get_location_message (store));
}

/* A bad sfbd.conf shows as LastError NotConfigured until it is fixed. */
static void
update_config_error (SfbDaemon *self)
{
  const GError *load_error = sfb_config_get_load_error (self->config);

  if (load_error != NULL)
    {
      set_last_error (self, load_error);
      self->last_error_is_config = TRUE;
    }
  else if (self->last_error_is_config)
    {
      set_last_error (self, NULL);
    }
}

/* ---- devices --------------------------------------------------------- */

/* The preferred device of each kind when present, else the system default. */
static void
update_devices_in_use (SfbDaemon *self)
{
  static const struct
  {
    guint prop_id;
    const char *kind;
  } in_use[] = {
    { PROP_AUDIO_OUTPUT, SFB_DEVICE_KIND_AUDIO_OUTPUT },
    { PROP_AUDIO_INPUT, SFB_DEVICE_KIND_AUDIO_INPUT },
    { PROP_VIDEO_INPUT, SFB_DEVICE_KIND_VIDEO_INPUT },
  };

  if (self->device_monitor == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (in_use); i++)
    set_string (self,
                in_use[i].prop_id,
                sfb_device_monitor_resolve (self->device_monitor,
                                            in_use[i].kind,
                                            sfb_config_get_device (self->config, in_use[i].kind)));
}

static void
on_devices_changed (SfbDaemon *self)
{
  update_devices_in_use (self);
  g_signal_emit (self, signals[SIGNAL_DEVICES_CHANGED], 0);
}

/* aa{sv}: one dictionary per device, the ListDevices() contract */
GVariant *
sfb_daemon_list_devices (SfbDaemon *self)
{
  g_autoptr (GPtrArray) devices = NULL;
  GVariantBuilder builder;

  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);

  devices = sfb_device_monitor_list (self->device_monitor);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < devices->len; i++)
    {
      const SfbMediaDevice *device = g_ptr_array_index (devices, i);
      const char *system_default
          = sfb_device_monitor_get_default (self->device_monitor, device->kind);

      g_variant_builder_open (&builder, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&builder, "{sv}", "Id", g_variant_new_uint32 (device->id));
      g_variant_builder_add (&builder, "{sv}", "Name", g_variant_new_string (device->name));
      g_variant_builder_add (
          &builder, "{sv}", "Description", g_variant_new_string (device->description));
      g_variant_builder_add (&builder, "{sv}", "Kind", g_variant_new_string (device->kind));
      g_variant_builder_add (&builder,
                             "{sv}",
                             "Default",
                             g_variant_new_boolean (g_strcmp0 (system_default, device->name) == 0));
      if (device->has_volume)
        {
          g_variant_builder_add (&builder, "{sv}", "Volume", g_variant_new_double (device->volume));
          g_variant_builder_add (&builder, "{sv}", "Muted", g_variant_new_boolean (device->muted));
        }
      g_variant_builder_close (&builder);
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static void
on_config_changed (SfbDaemon *self)
{
  const char *uri = sfb_config_get_uri (self->config);

  /* another account: never show the old one's contacts (SfbSettings
   * reloads its own cache) */
  if (self->strings[PROP_URI] != NULL && g_strcmp0 (self->strings[PROP_URI], uri ? uri : "") != 0
      && self->contacts != NULL)
    sfb_contacts_load_cache (self->contacts);
  set_string (self, PROP_URI, uri);
  set_string (self, PROP_LOGIN, sfb_config_get_login (self->config));
  update_devices_in_use (self);
  update_config_error (self);
}

/* ---- account ------------------------------------------------------- */

static gboolean
check_configured (SfbDaemon *self, GError **error)
{
  const GError *load_error = sfb_config_get_load_error (self->config);

  if (load_error != NULL)
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED, load_error->message);
      return FALSE;
    }
  if (sfb_config_get_uri (self->config) == NULL)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_NOT_CONFIGURED,
                           "No SIP address is configured. Set one with: "
                           "sfbctl config set Account.Uri sip:user@example.com");
      return FALSE;
    }
  return TRUE;
}

/* The session's view of the account, copied to the Account properties. */
static void
on_session_changed (SfbDaemon *self)
{
  const GError *error = sfb_session_get_last_error (self->session);
  guint64 since = sfb_session_get_signed_in_since (self->session);
  guint attempts = sfb_session_get_reconnect_attempts (self->session);
  guint64 next_retry = sfb_session_get_next_retry (self->session);

  set_string (self, PROP_STATE, sfb_session_get_state (self->session));
  set_string (self, PROP_SERVER, sfb_session_get_server (self->session));
  set_string (self, PROP_SERVER_VERSION, sfb_session_get_server_version (self->session));
  set_string (self, PROP_AUTH_METHOD, sfb_session_get_auth_method (self->session));
  set_string (self, PROP_ACCESS_LOCATION, sfb_session_get_access_location (self->session));
  set_string (self, PROP_LOCAL_ADDRESS, sfb_session_get_local_address (self->session));
  set_string (self, PROP_INTERFACE, sfb_session_get_interface (self->session));
  if (self->signed_in_since != since)
    {
      self->signed_in_since = since;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_SIGNED_IN_SINCE]);
    }
  if (self->reconnect_attempts != attempts)
    {
      self->reconnect_attempts = attempts;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RECONNECT_ATTEMPTS]);
    }
  if (self->next_retry != next_retry)
    {
      self->next_retry = next_retry;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_NEXT_RETRY]);
    }
  if (error != NULL)
    {
      set_last_error (self, error);
      self->last_error_is_session = TRUE;
    }
  else if (self->last_error_is_session)
    {
      set_last_error (self, NULL);
      self->last_error_is_session = FALSE;
      update_config_error (self);
    }
}

static void
refuse_sign_in (SfbDaemon *self, GError *error)
{
  sfb_error_convert (&error);
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_ERR (error),
           SFB_LOG_ERROR_NAME (sfb_error_get_dbus_name (error)),
           SFB_LOG_TOPIC ("sign-in"),
           "MESSAGE",
           "Sign-in refused: %s",
           error->message);
  set_last_error (self, error);
  self->last_error_is_session = FALSE;
  update_config_error (self);
  g_error_free (error);
}

/* Without a password, Kerberos (Auth=auto or kerberos) can sign in
 * with the ticket already in the user's credential cache. */
static gboolean
kerberos_ticket_usable (SfbDaemon *self)
{
#ifdef HAVE_KERBEROS
  SfbAuthMode mode = sfb_config_get_auth (self->config);

  return (mode == SFB_AUTH_MODE_AUTO || mode == SFB_AUTH_MODE_KERBEROS)
         && sfb_kerberos_have_ccache_credentials ();
#else
  return FALSE;
#endif
}

/* Neither a password nor a Kerberos ticket: both ways out, when Kerberos
 * may be used. */
static GError *
no_credentials_error (SfbDaemon *self, const char *uri)
{
#ifdef HAVE_KERBEROS
  SfbAuthMode mode = sfb_config_get_auth (self->config);
  const char *login = sfb_config_get_login (self->config);

  /* kinit takes a principal (user@REALM), not DOMAIN\user */
  gboolean principal = login != NULL && strchr (login, '@') != NULL && strchr (login, '\\') == NULL;

  if (mode == SFB_AUTH_MODE_AUTO || mode == SFB_AUTH_MODE_KERBEROS)
    return g_error_new (SFB_ERROR,
                        SFB_ERROR_NO_CREDENTIALS,
                        "No password is known for %s and there is no Kerberos ticket. Get a "
                        "ticket with: kinit%s%s, or set a password with: sfbctl set-password",
                        uri,
                        principal ? " " : "",
                        principal ? login : "");
#endif
  return g_error_new (SFB_ERROR,
                      SFB_ERROR_NO_CREDENTIALS,
                      "No password is known for %s. Set one with: sfbctl set-password",
                      uri);
}

static void
on_sign_in_password (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SfbDaemon *self = g_task_get_source_object (task);
  const char *uri = g_task_get_task_data (task);
  GError *error = NULL;
  const char *password;

  password = sfb_secret_store_lookup_password_finish (SFB_SECRET_STORE (source), result, &error);
  update_credential_store (self);
  if (password == NULL && error == NULL && kerberos_ticket_usable (self))
    {
      sfb_log (G_LOG_LEVEL_INFO,
               SFB_LOG_TOPIC ("sign-in"),
               SFB_LOG_URI (uri),
               "MESSAGE",
               "Signing in as %s with the Kerberos ticket of the credential cache",
               uri);
      sfb_session_sign_in (self->session, NULL);
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (password == NULL && error == NULL)
    error = no_credentials_error (self, uri);
  if (error != NULL)
    {
      refuse_sign_in (self, g_error_copy (error));
      g_task_return_error (task, error);
      return;
    }
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_TOPIC ("sign-in"),
           SFB_LOG_URI (uri),
           "MESSAGE",
           "Signing in as %s",
           uri);
  sfb_session_sign_in (self->session, password);
  g_task_return_boolean (task, TRUE);
}

/*
 * SignIn(): checks what it can, looks the password up (the Secret Service
 * may take a round trip), then starts the pipeline (SfbSession); progress
 * and failures show in State and LastError.
 */
void
sfb_daemon_sign_in_async (SfbDaemon *self,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;
  const char *uri;

  g_return_if_fail (SFB_IS_DAEMON (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_daemon_sign_in_async);
  if (!check_configured (self, &error))
    {
      refuse_sign_in (self, g_error_copy (error));
      g_task_return_error (task, error);
      return;
    }
  uri = sfb_config_get_uri (self->config);
  g_task_set_task_data (task, g_strdup (uri), g_free);
  sfb_secret_store_lookup_password_async (self->secret_store,
                                          uri,
                                          sfb_config_get_secrets_store (self->config),
                                          cancellable,
                                          on_sign_in_password,
                                          g_steal_pointer (&task));
}

gboolean
sfb_daemon_sign_in_finish (SfbDaemon *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- AutoSignIn ---- */

static void
on_auto_sign_in_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  /* a refusal is in LastError already */
  if (!sfb_daemon_sign_in_finish (SFB_DAEMON (source), result, &error))
    g_debug ("AutoSignIn did not start: %s", error->message);
}

static void
on_auto_sign_in_password (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbDaemon) self = user_data;
  g_autoptr (GError) error = NULL;
  const char *password
      = sfb_secret_store_lookup_password_finish (SFB_SECRET_STORE (source), result, &error);

  update_credential_store (self);
  if (password == NULL && error == NULL && !kerberos_ticket_usable (self))
    {
      g_info ("AutoSignIn: no password is known for %s yet; waiting for SignIn",
              sfb_config_get_uri (self->config));
      return;
    }
  if (g_strcmp0 (self->strings[PROP_STATE], SFB_STATE_SIGNED_OUT) != 0)
    return; /* a client was quicker */
  g_info ("AutoSignIn: signing in");
  sfb_daemon_sign_in_async (self, NULL, on_auto_sign_in_done, NULL);
}

/* Account.AutoSignIn: signs in at start when an account and its
 * credentials are there; quiet otherwise.  Never blocks. */
void
sfb_daemon_auto_sign_in (SfbDaemon *self)
{
  g_return_if_fail (SFB_IS_DAEMON (self));

  if (!sfb_config_get_auto_sign_in (self->config))
    {
      g_info ("AutoSignIn is off; waiting for SignIn");
      return;
    }
  if (sfb_config_get_load_error (self->config) || sfb_config_get_uri (self->config) == NULL)
    return;
  sfb_secret_store_lookup_password_async (self->secret_store,
                                          sfb_config_get_uri (self->config),
                                          sfb_config_get_secrets_store (self->config),
                                          NULL,
                                          on_auto_sign_in_password,
                                          g_object_ref (self));
}

/* Unregisters and closes (or stops an attempt in progress). */
gboolean
sfb_daemon_sign_out (SfbDaemon *self, GError **error)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), FALSE);
  sfb_session_sign_out (self->session);
  return TRUE;
}

gboolean
sfb_daemon_reconnect (SfbDaemon *self, GError **error)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), FALSE);
  return sfb_session_reconnect (self->session, error);
}

gboolean
sfb_daemon_configure (SfbDaemon *self, GVariant *settings, GError **error)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), FALSE);
  return sfb_config_apply (self->config, settings, error);
}

static void
on_password_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  update_credential_store (g_task_get_source_object (task));
  if (!sfb_secret_store_set_password_finish (SFB_SECRET_STORE (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
sfb_daemon_set_password_async (SfbDaemon *self,
                               const char *password,
                               gboolean store,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  const char *uri;

  g_return_if_fail (SFB_IS_DAEMON (self));
  g_return_if_fail (password != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_daemon_set_password_async);
  if (*password == '\0')
    {
      g_task_return_new_error (task, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "The password is empty");
      return;
    }
  uri = sfb_config_get_uri (self->config);
  if (uri == NULL)
    {
      g_task_return_new_error (
          task,
          SFB_ERROR,
          SFB_ERROR_NOT_CONFIGURED,
          "No SIP address is configured, so the password cannot be kept for it. "
          "Set one first with: sfbctl config set Account.Uri sip:user@example.com");
      return;
    }
  sfb_secret_store_set_password_async (self->secret_store,
                                       uri,
                                       password,
                                       store,
                                       sfb_config_get_secrets_store (self->config),
                                       cancellable,
                                       on_password_set,
                                       g_steal_pointer (&task));
}

gboolean
sfb_daemon_set_password_finish (SfbDaemon *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_credentials_forgotten (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  update_credential_store (g_task_get_source_object (task));
  if (!sfb_secret_store_forget_finish (SFB_SECRET_STORE (source), result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_info ("Credentials forgotten");
  g_task_return_boolean (task, TRUE);
}

/* ForgetCredentials(): every stored password of every URI (memory, file,
 * Secret Service), see sfb-secret-store.h. */
void
sfb_daemon_forget_credentials_async (SfbDaemon *self,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  GTask *task;

  g_return_if_fail (SFB_IS_DAEMON (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_daemon_forget_credentials_async);
  sfb_secret_store_forget_async (self->secret_store,
                                 sfb_config_get_secrets_store (self->config),
                                 cancellable,
                                 on_credentials_forgotten,
                                 task);
}

gboolean
sfb_daemon_forget_credentials_finish (SfbDaemon *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* aa{sv}, one dictionary per stage of the last attempt */
GVariant *
sfb_daemon_get_sign_in_trace (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return sfb_session_get_trace (self->session);
}

/* The count the server sent over SIP (Exchange UM's MWI) is the Exchange
 * interface's UnreadVoicemails while it has one. */
static void
on_voicemail_changed (SfbDaemon *self)
{
  guint unread = 0;
  gboolean known = sfb_presence_get_voicemails (self->presence, &unread);

  sfb_exchange_set_sip_voicemails (self->exchange, known, unread);
}

/* ---- presence, dial plan, policies, devices ------------------------ */

gboolean
sfb_daemon_normalize_number (SfbDaemon *self,
                             const char *number,
                             char **normalized,
                             char **pattern,
                             gboolean *internal_extension,
                             GError **error)
{
  SfbDialPlan *plan;

  g_return_val_if_fail (SFB_IS_DAEMON (self), FALSE);

  plan = sfb_settings_get_dial_plan (self->settings);
  if (plan != NULL)
    return sfb_dial_plan_normalize (plan, number, normalized, pattern, internal_extension, error);
  g_set_error_literal (
      error, SFB_ERROR, SFB_ERROR_NOT_FOUND, "No dial plan is known yet; sign in first");
  return FALSE;
}

/* a{sv} of one provisioning group: none is known yet. */
GVariant *
sfb_daemon_get_policy (SfbDaemon *self, const char *group, GError **error)
{
  GVariant *policy;

  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);

  policy = g_variant_lookup_value (
      sfb_settings_get_policies (self->settings), group, G_VARIANT_TYPE_VARDICT);
  if (policy != NULL)
    return policy;
  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_NOT_FOUND,
               "No policy group “%s” is known%s",
               group,
               g_variant_n_children (sfb_settings_get_policies (self->settings)) == 0
                   ? "; no policies are known yet, sign in first"
                   : "");
  return NULL;
}

SfbSettings *
sfb_daemon_get_settings (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->settings;
}

SfbContacts *
sfb_daemon_get_contacts (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->contacts;
}

SfbConversations *
sfb_daemon_get_conversations (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->conversations;
}

SfbExchange *
sfb_daemon_get_exchange (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->exchange;
}

SfbPresence *
sfb_daemon_get_presence (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->presence;
}

static const char *
device_setting (const char *kind)
{
  if (g_strcmp0 (kind, SFB_DEVICE_KIND_AUDIO_OUTPUT) == 0)
    return "Devices.AudioOutput";
  if (g_strcmp0 (kind, SFB_DEVICE_KIND_AUDIO_INPUT) == 0)
    return "Devices.AudioInput";
  if (g_strcmp0 (kind, SFB_DEVICE_KIND_VIDEO_INPUT) == 0)
    return "Devices.VideoInput";
  return NULL;
}

/* Keeps @name as the preferred device of @kind in sfbd.conf. */
gboolean
sfb_daemon_select_device (SfbDaemon *self, const char *kind, const char *name, GError **error)
{
  const char *setting = device_setting (kind);
  g_autoptr (GVariantDict) dict = NULL;
  g_autoptr (GVariant) settings = NULL;

  g_return_val_if_fail (SFB_IS_DAEMON (self), FALSE);

  if (setting == NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_INVALID_ARGS,
                   "“%s” is not a device kind; use audio-output, audio-input or video-input",
                   kind);
      return FALSE;
    }
  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "The device name is empty");
      return FALSE;
    }
  dict = g_variant_dict_new (NULL);
  g_variant_dict_insert (dict, setting, "s", name);
  settings = g_variant_ref_sink (g_variant_dict_end (dict));
  return sfb_config_apply (self->config, settings, error);
}

/* ---- object -------------------------------------------------------- */

SfbConfig *
sfb_daemon_get_config (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->config;
}

SfbSecretStore *
sfb_daemon_get_secret_store (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->secret_store;
}

const char *
sfb_daemon_get_state (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->strings[PROP_STATE];
}

const char *
sfb_daemon_get_last_error (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->strings[PROP_LAST_ERROR];
}

const char *
sfb_daemon_get_last_error_message (SfbDaemon *self)
{
  g_return_val_if_fail (SFB_IS_DAEMON (self), NULL);
  return self->strings[PROP_LAST_ERROR_MESSAGE];
}

static void
sfb_daemon_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SfbDaemon *self = SFB_DAEMON (object);

  if (prop_id >= FIRST_STRING_PROP && prop_id <= LAST_STRING_PROP)
    {
      g_value_set_string (value, self->strings[prop_id]);
      return;
    }
  switch (prop_id)
    {
    case PROP_SIGNED_IN_SINCE:
      g_value_set_uint64 (value, self->signed_in_since);
      break;
    case PROP_RECONNECT_ATTEMPTS:
      g_value_set_uint (value, self->reconnect_attempts);
      break;
    case PROP_NEXT_RETRY:
      g_value_set_uint64 (value, self->next_retry);
      break;
    case PROP_CONFIG:
      g_value_set_object (value, self->config);
      break;
    case PROP_SECRET_STORE:
      g_value_set_object (value, self->secret_store);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sfb_daemon_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  SfbDaemon *self = SFB_DAEMON (object);

  switch (prop_id)
    {
    case PROP_CONFIG:
      self->config = g_value_dup_object (value);
      break;
    case PROP_SECRET_STORE:
      self->secret_store = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sfb_daemon_constructed (GObject *object)
{
  SfbDaemon *self = SFB_DAEMON (object);

  G_OBJECT_CLASS (sfb_daemon_parent_class)->constructed (object);

  if (self->config == NULL)
    self->config = sfb_config_new ();
  if (self->secret_store == NULL)
    self->secret_store = sfb_secret_store_new (NULL);
  g_signal_connect_object (
      self->config, "changed", G_CALLBACK (on_config_changed), self, G_CONNECT_SWAPPED);
  {
    g_autofree char *state_dir = sfb_dup_state_dir ();

    self->session = sfb_session_new (self->config, state_dir);
    g_signal_connect_object (
        self->session, "changed", G_CALLBACK (on_session_changed), self, G_CONNECT_SWAPPED);
    self->settings = sfb_settings_new (self->session, self->config, state_dir);
    sfb_settings_load_cache (self->settings);
    self->contacts = sfb_contacts_new (self->session, self->config, state_dir);
    sfb_contacts_load_cache (self->contacts);
    self->presence = sfb_presence_new (self->session, self->config, self->contacts, state_dir);
    self->exchange = sfb_exchange_new (self->session, self->config, self->settings, state_dir);
    sfb_presence_follow_exchange (self->presence, self->exchange);
    self->conversations = sfb_conversations_new (self->session);
    g_signal_connect_object (self->presence,
                             "voicemail-changed",
                             G_CALLBACK (on_voicemail_changed),
                             self,
                             G_CONNECT_SWAPPED);
  }
  self->device_monitor = sfb_device_monitor_new ();
  g_signal_connect_object (
      self->device_monitor, "changed", G_CALLBACK (on_devices_changed), self, G_CONNECT_SWAPPED);
  on_config_changed (self);
}

static void
sfb_daemon_dispose (GObject *object)
{
  SfbDaemon *self = SFB_DAEMON (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->conversations);
  g_clear_object (&self->exchange);
  g_clear_object (&self->presence);
  g_clear_object (&self->contacts);
  g_clear_object (&self->session);
  g_clear_object (&self->config);
  g_clear_object (&self->secret_store);
  g_clear_object (&self->device_monitor);
  G_OBJECT_CLASS (sfb_daemon_parent_class)->dispose (object);
}

static void
sfb_daemon_finalize (GObject *object)
{
  SfbDaemon *self = SFB_DAEMON (object);

  for (guint i = 0; i < G_N_ELEMENTS (self->strings); i++)
    g_free (self->strings[i]);
  G_OBJECT_CLASS (sfb_daemon_parent_class)->finalize (object);
}

static void
sfb_daemon_class_init (SfbDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags read_only = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = sfb_daemon_get_property;
  object_class->set_property = sfb_daemon_set_property;
  object_class->constructed = sfb_daemon_constructed;
  object_class->dispose = sfb_daemon_dispose;
  object_class->finalize = sfb_daemon_finalize;

  for (guint i = FIRST_STRING_PROP; i <= LAST_STRING_PROP; i++)
    props[i] = g_param_spec_string (string_props[i - FIRST_STRING_PROP][0],
                                    NULL,
                                    string_props[i - FIRST_STRING_PROP][1],
                                    "",
                                    read_only);
  props[PROP_SIGNED_IN_SINCE] = g_param_spec_uint64 ("signed-in-since",
                                                     NULL,
                                                     "µs since the epoch, 0 when signed out",
                                                     0,
                                                     G_MAXUINT64,
                                                     0,
                                                     read_only);
  props[PROP_RECONNECT_ATTEMPTS] = g_param_spec_uint ("reconnect-attempts",
                                                      NULL,
                                                      "Attempts since the connection was lost",
                                                      0,
                                                      G_MAXUINT,
                                                      0,
                                                      read_only);
  props[PROP_NEXT_RETRY]
      = g_param_spec_uint64 ("next-retry",
                             NULL,
                             "µs since the epoch of the next automatic attempt, 0 "
                             "when none is scheduled",
                             0,
                             G_MAXUINT64,
                             0,
                             read_only);
  props[PROP_CONFIG]
      = g_param_spec_object ("config",
                             NULL,
                             NULL,
                             SFB_TYPE_CONFIG,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_SECRET_STORE]
      = g_param_spec_object ("secret-store",
                             NULL,
                             NULL,
                             SFB_TYPE_SECRET_STORE,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* devices appeared, went away or changed (default, volume, mute) */
  signals[SIGNAL_DEVICES_CHANGED] = g_signal_new ("devices-changed",
                                                  G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST,
                                                  0,
                                                  NULL,
                                                  NULL,
                                                  NULL,
                                                  G_TYPE_NONE,
                                                  0);
}

static void
sfb_daemon_init (SfbDaemon *self)
{
  for (guint i = FIRST_STRING_PROP; i <= LAST_STRING_PROP; i++)
    self->strings[i] = g_strdup ("");
  g_free (self->strings[PROP_STATE]);
  self->strings[PROP_STATE] = g_strdup (SFB_STATE_SIGNED_OUT);
}

/* Reads the configuration now; a broken one shows as LastError. */
SfbDaemon *
sfb_daemon_new (void)
{
  return g_object_new (SFB_TYPE_DAEMON, NULL);
}
