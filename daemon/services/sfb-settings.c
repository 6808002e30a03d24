/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-registration.h"
#include "sfb-settings.h"

#include "sfb-cache.h"
#include "sfb-error.h"
#include "sfb-log.h"
#include "sfb-policies.h"
#include "sfb-subscription.h"

#include <string.h>

#define CACHE_POLICIES "policies"
#define CACHE_DIAL_PLAN "dial-plan"

struct _SfbSettings
{
  GObject parent_instance;

  SfbSession *session;
  SfbConfig *config;
  char *state_dir;
  char *loaded_account; /* whose cache was loaded last */
  SfbSubscription *provisioning;
  gulong registered_id;
  gulong config_changed_id;

  GVariant *policies; /* a{sa{sv}} */
  SfbDialPlan *dial_plan;
  gboolean policies_cached;
  gboolean dial_plan_cached;

  guint policies_task;
  guint dial_plan_task;
  GCancellable *cancellable; /* the location-profile request */
  char *asked_uri;           /* of the location profile asked for since "registered" */
};

G_DEFINE_FINAL_TYPE (SfbSettings, sfb_settings, G_TYPE_OBJECT)

enum
{
  SIGNAL_POLICIES_CHANGED,
  SIGNAL_DIAL_PLAN_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *
account (SfbSettings *self)
{
  return sfb_config_get_uri (self->config);
}

static void
save (SfbSettings *self, const char *name, GVariant *data)
{
  g_autoptr (GError) error = NULL;

  if (account (self) == NULL)
    return;
  if (!sfb_cache_save (self->state_dir, account (self), name, data, &error))
    g_warning ("Could not cache the %s: %s", name, error->message);
}

static void
set_policies (SfbSettings *self, GVariant *policies, gboolean cached)
{
  g_clear_pointer (&self->policies, g_variant_unref);
  self->policies = g_variant_ref (policies);
  self->policies_cached = cached;
  g_signal_emit (self, signals[SIGNAL_POLICIES_CHANGED], 0);
}

static void
set_dial_plan (SfbSettings *self, SfbDialPlan *plan, gboolean cached)
{
  g_clear_pointer (&self->dial_plan, sfb_dial_plan_unref);
  self->dial_plan = plan != NULL ? sfb_dial_plan_ref (plan) : NULL;
  self->dial_plan_cached = cached;
  g_signal_emit (self, signals[SIGNAL_DIAL_PLAN_CHANGED], 0);
}

/* ---- location profile ------------------------------------------------ */

static void
end_dial_plan_task (SfbSettings *self)
{
  sfb_session_end_settings_task (self->session, self->dial_plan_task);
  self->dial_plan_task = 0;
}

static void
on_location_profile (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbSettings) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) response = NULL;
  g_autoptr (SfbDialPlan) plan = NULL;
  GBytes *body;
  guint code;

  response = sfb_session_send_request_finish (SFB_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (response == NULL)
    {
      g_warning ("No location profile: %s", error->message);
      end_dial_plan_task (self);
      return;
    }
  code = sfb_sip_message_get_status_code (response);
  body = sfb_sip_message_get_body (response);
  if (code < 200 || code >= 300 || body == NULL)
    {
      g_autofree char *diagnostics = sfb_registration_dup_diagnostics (response);
      g_autofree char *reason = sfb_registration_dup_reason (response);

      g_warning ("The server has no location profile for this account: SIP %u %s%s%s",
                 code,
                 reason,
                 diagnostics != NULL ? "; " : "",
                 diagnostics != NULL ? diagnostics : "");
      end_dial_plan_task (self);
      return;
    }
  plan = sfb_dial_plan_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  if (plan == NULL)
    {
      g_warning ("Unusable location profile: %s", error->message);
      end_dial_plan_task (self);
      return;
    }
  g_info ("Dial plan %s with %u rules",
          sfb_dial_plan_get_name (plan),
          sfb_dial_plan_get_n_rules (plan));
  save (self, CACHE_DIAL_PLAN, g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, body, TRUE));
  set_dial_plan (self, plan, FALSE);
  end_dial_plan_task (self);
}

/* From @policies (NULL: none known) */
static char *
location_profile_uri_from (SfbSettings *self, GVariant *policies)
{
  g_autofree char *gruu
      = sfb_policies_dup_string (policies, "ServerConfiguration", "ucLocationProfile");
  g_autofree char *name
      = sfb_policies_dup_string (policies, "userSetting", "ucUserLocationProfile");

  if (gruu != NULL && g_str_has_prefix (gruu, "sip:") && strlen (gruu) < 1024)
    return g_steal_pointer (&gruu);
  if (name != NULL && *name != '\0' && strlen (name) < 256 && strpbrk (name, ";<>\" \r\n") == NULL)
    return g_strdup_printf (
        "%s;opaque=app:locationprofile:get;phone-context=%s", account (self), name);
  return g_strdup_printf ("%s;opaque=app:locationprofile:get;default", account (self));
}

static char *
location_profile_uri (SfbSettings *self)
{
  return location_profile_uri_from (self, self->policies_cached ? NULL : self->policies);
}

static void
fetch_location_profile_at (SfbSettings *self, const char *uri)
{
  g_autoptr (SfbSipMessage) request = NULL;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_free (self->asked_uri);
  self->asked_uri = g_strdup (uri);
  request = sfb_session_new_request (self->session, "SERVICE", uri);
  sfb_sip_message_append_header (request, "Accept", SFB_CT_LOCATION_PROFILE);
  sfb_session_send_request_async (
      self->session, request, self->cancellable, on_location_profile, g_object_ref (self));
}

static void
fetch_location_profile (SfbSettings *self)
{
  g_autofree char *uri = location_profile_uri (self);

  fetch_location_profile_at (self, uri);
}

/* After the provisioning query of a registration: the location profile,
 * unless the one asked for at "registered" (from the policies known then)
 * is the one these policies name. */
static void
fetch_location_profile_unless_asked (SfbSettings *self)
{
  g_autofree char *uri = location_profile_uri (self);

  if (g_strcmp0 (uri, self->asked_uri) == 0)
    return;
  fetch_location_profile_at (self, uri);
}

/* ---- provisioning ---------------------------------------------------- */

static void
on_provisioning (SfbSubscription *subscription,
                 const char *content_type,
                 GBytes *body,
                 gboolean benotify,
                 gpointer user_data)
{
  SfbSettings *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) parsed = NULL;
  g_autoptr (GVariant) merged = NULL;
  gboolean first = self->policies_task != 0;

  parsed = sfb_policies_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  if (parsed == NULL)
    {
      g_warning ("Unusable provisioning document: %s", error->message);
    }
  else
    {
      /* the answer to the query is the whole picture; a later
       * notification replaces the groups it carries */
      merged = first || self->policies_cached ? g_variant_ref (parsed)
                                              : sfb_policies_merge (self->policies, parsed);
      g_info ("Policies: %" G_GSIZE_FORMAT " groups", g_variant_n_children (merged));
      save (self, CACHE_POLICIES, merged);
      set_policies (self, merged, FALSE);
    }
  sfb_session_end_settings_task (self->session, self->policies_task);
  self->policies_task = 0;
  if (first)
    fetch_location_profile_unless_asked (self);
  else
    fetch_location_profile (self); /* the server changed something: ask again */
}

static void
on_provisioning_terminated (SfbSubscription *subscription, const GError *reason, SfbSettings *self)
{
  if (self->policies_task == 0)
    return;
  g_warning ("No policies: %s", reason->message);
  sfb_session_end_settings_task (self->session, self->policies_task);
  self->policies_task = 0;
  fetch_location_profile_unless_asked (self);
}

static void
on_config_changed (SfbConfig *config, SfbSettings *self)
{
  if (g_strcmp0 (account (self), self->loaded_account) == 0)
    return;
  g_info ("The account changed: showing what the cache has for it");
  g_cancellable_cancel (self->cancellable);
  sfb_settings_load_cache (self);
}

/* The location profile is asked for at once, beside the provisioning
 * query, at the address the policies known from before (the last
 * registration, or the cache) name: settings in one exchange instead of
 * two.  Policies that name another one make it asked for again. */
static void
on_registered (SfbSession *session, SfbSettings *self)
{
  self->policies_task = sfb_session_begin_settings_task (session, "policies");
  self->dial_plan_task = sfb_session_begin_settings_task (session, "dial plan");
  g_clear_pointer (&self->asked_uri, g_free);
  if (self->policies != NULL)
    {
      g_autofree char *uri = location_profile_uri_from (self, self->policies);

      fetch_location_profile_at (self, uri);
    }
}

/* ---- API ------------------------------------------------------------- */

void
sfb_settings_load_cache (SfbSettings *self)
{
  g_autoptr (GVariant) policies = NULL;
  g_autoptr (GVariant) document = NULL;
  g_autoptr (SfbDialPlan) plan = NULL;

  g_return_if_fail (SFB_IS_SETTINGS (self));

  /* whatever is shown belongs to the account loaded last: another
   * account's data go, even when the new one has nothing cached */
  g_free (self->loaded_account);
  self->loaded_account = g_strdup (account (self));
  if (account (self) != NULL)
    {
      policies = sfb_cache_load (
          self->state_dir, account (self), CACHE_POLICIES, G_VARIANT_TYPE ("a{sa{sv}}"));
      document = sfb_cache_load (
          self->state_dir, account (self), CACHE_DIAL_PLAN, G_VARIANT_TYPE_BYTESTRING);
    }
  if (document != NULL)
    plan = sfb_dial_plan_parse (g_variant_get_data (document), g_variant_get_size (document), NULL);
  if (policies == NULL)
    policies = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sa{sv}}"), NULL, 0));
  set_policies (self, policies, g_variant_n_children (policies) > 0);
  set_dial_plan (self, plan, plan != NULL);
}

SfbSettings *
sfb_settings_new (SfbSession *session, SfbConfig *config, const char *state_dir)
{
  SfbSettings *self;
  g_autoptr (GBytes) body = sfb_policies_request_body ();

  g_return_val_if_fail (SFB_IS_SESSION (session), NULL);

  self = g_object_new (SFB_TYPE_SETTINGS, NULL);
  self->session = g_object_ref (session);
  self->config = g_object_ref (config);
  self->state_dir = g_strdup (state_dir);
  self->registered_id = g_signal_connect (session, "registered", G_CALLBACK (on_registered), self);
  self->config_changed_id
      = g_signal_connect (config, "changed", G_CALLBACK (on_config_changed), self);
  self->provisioning
      = sfb_subscription_new (session, SFB_EVENT_PROVISIONING, SFB_CT_PROVISIONING, NULL);
  sfb_subscription_set_expires (self->provisioning, 0);
  sfb_subscription_set_body (self->provisioning, SFB_CT_PROVISIONING, body);
  sfb_subscription_set_body_handler (self->provisioning, on_provisioning, self);
  g_signal_connect (
      self->provisioning, "terminated", G_CALLBACK (on_provisioning_terminated), self);
  sfb_subscription_start (self->provisioning);
  return self;
}

GVariant *
sfb_settings_get_policies (SfbSettings *self)
{
  g_return_val_if_fail (SFB_IS_SETTINGS (self), NULL);
  return self->policies;
}

GStrv
sfb_settings_dup_groups (SfbSettings *self)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  GVariantIter iter;
  const char *name;

  g_return_val_if_fail (SFB_IS_SETTINGS (self), NULL);

  g_variant_iter_init (&iter, self->policies);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &name, NULL))
    g_strv_builder_add (builder, name);
  return g_strv_builder_end (builder);
}

SfbDialPlan *
sfb_settings_get_dial_plan (SfbSettings *self)
{
  g_return_val_if_fail (SFB_IS_SETTINGS (self), NULL);
  return self->dial_plan;
}

gboolean
sfb_settings_is_cached (SfbSettings *self)
{
  g_return_val_if_fail (SFB_IS_SETTINGS (self), FALSE);
  return self->policies_cached || self->dial_plan_cached;
}

gboolean
sfb_settings_policies_are_cached (SfbSettings *self)
{
  g_return_val_if_fail (SFB_IS_SETTINGS (self), FALSE);
  return self->policies_cached;
}

gboolean
sfb_settings_dial_plan_is_cached (SfbSettings *self)
{
  g_return_val_if_fail (SFB_IS_SETTINGS (self), FALSE);
  return self->dial_plan_cached;
}

/* ---- object ---------------------------------------------------------- */

static void
sfb_settings_dispose (GObject *object)
{
  SfbSettings *self = SFB_SETTINGS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->provisioning != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->provisioning, self);
      sfb_subscription_set_body_handler (self->provisioning, NULL, NULL);
    }
  g_clear_object (&self->provisioning);
  if (self->session != NULL)
    g_clear_signal_handler (&self->registered_id, self->session);
  if (self->config != NULL)
    g_clear_signal_handler (&self->config_changed_id, self->config);
  g_clear_object (&self->session);
  g_clear_object (&self->config);
  G_OBJECT_CLASS (sfb_settings_parent_class)->dispose (object);
}

static void
sfb_settings_finalize (GObject *object)
{
  SfbSettings *self = SFB_SETTINGS (object);

  g_clear_pointer (&self->policies, g_variant_unref);
  g_clear_pointer (&self->dial_plan, sfb_dial_plan_unref);
  g_free (self->state_dir);
  g_free (self->loaded_account);
  g_free (self->asked_uri);
  G_OBJECT_CLASS (sfb_settings_parent_class)->finalize (object);
}

static void
sfb_settings_class_init (SfbSettingsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_settings_dispose;
  object_class->finalize = sfb_settings_finalize;

  signals[SIGNAL_POLICIES_CHANGED] = g_signal_new ("policies-changed",
                                                   G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST,
                                                   0,
                                                   NULL,
                                                   NULL,
                                                   NULL,
                                                   G_TYPE_NONE,
                                                   0);
  signals[SIGNAL_DIAL_PLAN_CHANGED] = g_signal_new ("dial-plan-changed",
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
sfb_settings_init (SfbSettings *self)
{
  self->policies = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sa{sv}}"), NULL, 0));
}
