/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Diagnostics: Diagnose() runs an SfbDiagnosis and relays
 * its checks as CheckCompleted; a run whose caller leaves the bus (sfbctl
 * interrupted) is stopped, so it holds no connections nor a place among
 * the MAX_RUNNING */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"
#include "sfb-diagnosis.h"
#include "sfb-error.h"
#include "sfb-text.h"

/* Diagnoses running at once, for all callers together */
#define MAX_RUNNING 4
#define MAX_TOKEN_BYTES 64
#define MAX_DOMAIN_BYTES 253

typedef struct
{
  SfbDBusDiagnostics *skeleton;
  GDBusMethodInvocation *invocation;
  char *token;
  guint *running;
  GCancellable *cancellable; /* cancelled when the caller leaves */
  guint watch_id;            /* the caller's name */
} Call;

static void
call_free (Call *call)
{
  (*call->running)--;
  if (call->watch_id != 0)
    g_bus_unwatch_name (call->watch_id);
  g_object_unref (call->cancellable);
  g_object_unref (call->skeleton);
  g_object_unref (call->invocation);
  g_free (call->token);
  g_free (call);
}

static void
on_check_completed (SfbDiagnosis *diagnosis, GVariant *check, Call *call)
{
  (void) diagnosis;
  sfb_dbus_diagnostics_emit_check_completed (call->skeleton, call->token, check);
}

static void
on_caller_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Call *call = user_data;

  (void) connection, (void) name;
  g_debug ("The caller of Diagnose() left: its diagnosis stops");
  g_cancellable_cancel (call->cancellable);
}

static void
on_diagnosed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;
  g_autoptr (GVariant) checks = NULL;
  GError *error = NULL;

  g_signal_handlers_disconnect_by_data (source, call);
  checks = sfb_diagnosis_run_finish (SFB_DIAGNOSIS (source), result, &error);
  if (checks == NULL)
    sfb_dbus_return_error (call->invocation, error);
  else
    sfb_dbus_diagnostics_complete_diagnose (call->skeleton, call->invocation, checks);
  call_free (call);
}

static gboolean
unknown_option (GDBusMethodInvocation *invocation, const char *key)
{
  g_autofree char *quoted = sfb_text_quote_untrusted (key, -1, SFB_TEXT_QUOTE_MAX);

  return sfb_dbus_return_error (
      invocation,
      g_error_new (
          SFB_ERROR, SFB_ERROR_INVALID_ARGS, "Unknown option or wrong type: “%s”", quoted));
}

static gboolean
handle_diagnose (SfbDBusDiagnostics *skeleton,
                 GDBusMethodInvocation *invocation,
                 GVariant *options,
                 SfbDaemon *daemon)
{
  guint *running = g_object_get_data (G_OBJECT (skeleton), "sfb-running");
  g_autofree char *domain = NULL;
  g_autofree char *token = NULL;
  gboolean sign_in = FALSE;
  g_autoptr (SfbDiagnosis) diagnosis = NULL;
  GVariantIter iter;
  const char *key;
  GVariant *value;
  GError *error = NULL;
  Call *call;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) owned G_GNUC_UNUSED = value;

      if (g_str_equal (key, "Domain") && g_variant_is_of_type (owned, G_VARIANT_TYPE_STRING))
        {
          g_free (domain);
          domain = g_variant_dup_string (owned, NULL);
        }
      else if (g_str_equal (key, "Token") && g_variant_is_of_type (owned, G_VARIANT_TYPE_STRING))
        {
          g_free (token);
          token = g_variant_dup_string (owned, NULL);
        }
      else if (g_str_equal (key, "SignIn") && g_variant_is_of_type (owned, G_VARIANT_TYPE_BOOLEAN))
        sign_in = g_variant_get_boolean (owned);
      else
        return unknown_option (invocation, key);
    }
  if (token == NULL)
    token = g_strdup ("");
  if ((domain != NULL
       && !sfb_text_check_argument ("The domain", domain, MAX_DOMAIN_BYTES, 0, &error))
      || !sfb_text_check_argument ("The token", token, MAX_TOKEN_BYTES, 0, &error))
    return sfb_dbus_return_error (invocation, error);
  if (*running >= MAX_RUNNING)
    return sfb_dbus_return_error (
        invocation,
        g_error_new (SFB_ERROR,
                     SFB_ERROR_FAILED,
                     "%u diagnoses are running already; try again when one has finished",
                     *running));

  diagnosis = sfb_diagnosis_new (sfb_daemon_get_config (daemon),
                                 NULL,
                                 domain,
                                 sign_in ? SFB_DIAGNOSIS_SIGN_IN : SFB_DIAGNOSIS_FLAGS_NONE);
  sfb_diagnosis_set_secret_store (diagnosis, sfb_daemon_get_secret_store (daemon));

  (*running)++;
  call = g_new0 (Call, 1);
  call->skeleton = g_object_ref (skeleton);
  call->invocation = g_object_ref (invocation);
  call->token = g_strdup (token);
  call->running = running;
  call->cancellable = g_cancellable_new ();
  if (g_dbus_method_invocation_get_sender (invocation) != NULL)
    call->watch_id
        = g_bus_watch_name_on_connection (g_dbus_method_invocation_get_connection (invocation),
                                          g_dbus_method_invocation_get_sender (invocation),
                                          G_BUS_NAME_WATCHER_FLAGS_NONE,
                                          NULL,
                                          on_caller_vanished,
                                          call,
                                          NULL);
  g_signal_connect (diagnosis, "check-completed", G_CALLBACK (on_check_completed), call);
  sfb_diagnosis_run_async (diagnosis, call->cancellable, on_diagnosed, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

GDBusInterfaceSkeleton *
sfb_dbus_diagnostics_adapter_new (SfbDaemon *daemon)
{
  SfbDBusDiagnostics *skeleton = sfb_dbus_diagnostics_skeleton_new ();

  g_object_set_data_full (G_OBJECT (skeleton), "sfb-running", g_new0 (guint, 1), g_free);
  g_signal_connect_object (skeleton, "handle-diagnose", G_CALLBACK (handle_diagnose), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
