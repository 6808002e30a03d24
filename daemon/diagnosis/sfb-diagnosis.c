/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SfbDiagnosis: the run, the table of stages and the check helpers */
#define G_LOG_DOMAIN "sfbd-diagnosis"

#include "config.h"

#include "sfb-diagnosis-private.h"

#include "sfb-autodiscover.h"
#include "sfb-error.h"
#include "sfb-text.h"
#include "sfb-tls.h"

#include <string.h>

/* In order; a NULL run is a stage that reports nothing yet.  One line each. */
/* clang-format off */
static const SfbDiagStage stages[] = {
  { SFB_DIAG_STAGE_DNS, sfb_diagnose_dns },
  { SFB_DIAG_STAGE_AUTODISCOVER, sfb_diagnose_autodiscover },
  { SFB_DIAG_STAGE_CONNECTIVITY, sfb_diagnose_connectivity },
  { SFB_DIAG_STAGE_TLS, sfb_diagnose_tls },
  { SFB_DIAG_STAGE_AUTHENTICATION, sfb_diagnose_authentication },
  { SFB_DIAG_STAGE_REDIRECTION, sfb_diagnose_redirection },
  { SFB_DIAG_STAGE_SETTINGS, sfb_diagnose_settings },
};
/* clang-format on */

struct _SfbDiagnosis
{
  GObject parent_instance;

  SfbConfig *config;
  SfbSecretStore *secret_store;
  GTlsDatabase *tls_database;
  GResolver *resolver;
  char *domain;
  SfbDiagnosisFlags flags;
  gboolean started;
  SfbDiagContext *ctx;
};

G_DEFINE_FINAL_TYPE (SfbDiagnosis, sfb_diagnosis, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHECK_COMPLETED,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

typedef struct
{
  SfbDiagnosisResult result;
  char *evidence;
} SfbDiagOutcome;

static void
outcome_free (SfbDiagOutcome *outcome)
{
  g_free (outcome->evidence);
  g_free (outcome);
}

const char *
sfb_diagnosis_result_to_string (SfbDiagnosisResult result)
{
  switch (result)
    {
    case SFB_DIAGNOSIS_PASS:
      return "PASS";
    case SFB_DIAGNOSIS_WARN:
      return "WARN";
    case SFB_DIAGNOSIS_FAIL:
      return "FAIL";
    case SFB_DIAGNOSIS_SKIP:
      return "SKIP";
    default:
      g_return_val_if_reached ("FAIL");
    }
}

void
sfb_diag_autodiscover_free (SfbDiagAutodiscover *ad)
{
  if (ad == NULL)
    return;
  g_free (ad->host);
  g_free (ad->url);
  g_clear_pointer (&ad->hops, g_ptr_array_unref);
  g_clear_pointer (&ad->candidates, g_ptr_array_unref);
  g_clear_error (&ad->error);
  g_free (ad);
}

static void
context_free (SfbDiagContext *ctx)
{
  g_clear_object (&ctx->config);
  g_clear_object (&ctx->secret_store);
  g_free (ctx->domain);
  g_free (ctx->sip_uri);
  g_clear_object (&ctx->resolver);
  g_clear_object (&ctx->tls_database);
  g_clear_error (&ctx->tls_database_error);
  g_clear_object (&ctx->cancellable);
  g_clear_pointer (&ctx->checks, g_ptr_array_unref);
  g_clear_pointer (&ctx->outcomes, g_hash_table_unref);
  for (guint i = 0; i < SFB_DISCOVERY_N_LOOKUPS; i++)
    g_clear_pointer (&ctx->lookups[i], g_ptr_array_unref);
  g_clear_pointer (&ctx->autodiscover, g_ptr_array_unref);
  g_clear_pointer (&ctx->candidates, g_ptr_array_unref);
  g_clear_pointer (&ctx->probes, g_ptr_array_unref);
  g_clear_pointer (&ctx->certificates, g_hash_table_unref);
  g_clear_pointer (&ctx->tls_ok, g_hash_table_unref);
  g_clear_pointer (&ctx->registration, sfb_diagnose_register_result_free);
  g_free (ctx);
}

/* ---- reporting ---- */

static char *
outcome_key (const char *stage, const char *check)
{
  return g_strdup_printf ("%s/%s", stage, check);
}

void
sfb_diag_report (SfbDiagContext *ctx,
                 const char *stage,
                 const char *check,
                 SfbDiagnosisResult result,
                 const char *evidence,
                 const char *fix)
{
  g_autoptr (GVariantDict) dict = g_variant_dict_new (NULL);
  g_autofree char *safe_check = sfb_text_quote (check, -1, 256, SFB_TEXT_QUOTE_SPACES);
  g_autofree char *safe_evidence
      = sfb_text_quote (evidence, -1, SFB_DIAGNOSIS_MAX_EVIDENCE, SFB_TEXT_QUOTE_SPACES);
  g_autofree char *safe_fix = NULL;
  SfbDiagOutcome *outcome;
  GVariant *variant;

  if (result == SFB_DIAGNOSIS_WARN || result == SFB_DIAGNOSIS_FAIL)
    safe_fix = sfb_text_quote (fix, -1, SFB_DIAGNOSIS_MAX_FIX, SFB_TEXT_QUOTE_SPACES);
  else
    safe_fix = g_strdup ("");

  g_variant_dict_insert (dict, SFB_DIAGNOSIS_KEY_STAGE, "s", stage);
  g_variant_dict_insert (dict, SFB_DIAGNOSIS_KEY_CHECK, "s", safe_check);
  g_variant_dict_insert (
      dict, SFB_DIAGNOSIS_KEY_RESULT, "s", sfb_diagnosis_result_to_string (result));
  g_variant_dict_insert (dict, SFB_DIAGNOSIS_KEY_EVIDENCE, "s", safe_evidence);
  g_variant_dict_insert (dict, SFB_DIAGNOSIS_KEY_FIX, "s", safe_fix);
  variant = g_variant_ref_sink (g_variant_dict_end (dict));

  outcome = g_new0 (SfbDiagOutcome, 1);
  outcome->result = result;
  outcome->evidence = g_strdup (safe_evidence);
  g_hash_table_replace (ctx->outcomes, outcome_key (stage, safe_check), outcome);
  g_ptr_array_add (ctx->checks, variant);

  g_debug (
      "%s %s/%s: %s", sfb_diagnosis_result_to_string (result), stage, safe_check, safe_evidence);
  g_signal_emit (ctx->diagnosis, signals[SIGNAL_CHECK_COMPLETED], 0, variant);
}

void
sfb_diag_reportf (SfbDiagContext *ctx,
                  const char *stage,
                  const char *check,
                  SfbDiagnosisResult result,
                  const char *fix,
                  const char *evidence_format,
                  ...)
{
  g_autofree char *evidence = NULL;
  va_list args;

  va_start (args, evidence_format);
  evidence = g_strdup_vprintf (evidence_format, args);
  va_end (args);
  sfb_diag_report (ctx, stage, check, result, evidence, fix);
}

gboolean
sfb_diag_lookup (SfbDiagContext *ctx,
                 const char *stage,
                 const char *check,
                 SfbDiagnosisResult *result)
{
  g_autofree char *key = outcome_key (stage, check);
  SfbDiagOutcome *outcome = g_hash_table_lookup (ctx->outcomes, key);

  if (outcome == NULL)
    return FALSE;
  if (result != NULL)
    *result = outcome->result;
  return TRUE;
}

void
sfb_diag_skip (SfbDiagContext *ctx, const char *stage, const char *check, const char *reason)
{
  sfb_diag_report (ctx, stage, check, SFB_DIAGNOSIS_SKIP, reason, NULL);
}

gboolean
sfb_diag_skip_unless (SfbDiagContext *ctx,
                      const char *stage,
                      const char *check,
                      const char *dep_stage,
                      const char *dep_check)
{
  g_autofree char *key = outcome_key (dep_stage, dep_check);
  SfbDiagOutcome *outcome = g_hash_table_lookup (ctx->outcomes, key);
  g_autofree char *reason = NULL;

  if (outcome != NULL
      && (outcome->result == SFB_DIAGNOSIS_PASS || outcome->result == SFB_DIAGNOSIS_WARN))
    return FALSE;
  if (outcome == NULL)
    reason = g_strdup_printf ("Skipped: the check %s was not made", key);
  else
    reason = g_strdup_printf ("Skipped because %s is %s: %s",
                              key,
                              sfb_diagnosis_result_to_string (outcome->result),
                              outcome->evidence);
  sfb_diag_skip (ctx, stage, check, reason);
  return TRUE;
}

char *
sfb_diag_host_port (const char *host, guint16 port)
{
  g_autofree char *lower = g_ascii_strdown (host, -1);
  gsize length = strlen (lower);

  if (length > 1 && lower[length - 1] == '.')
    lower[length - 1] = '\0';
  return g_strdup_printf ("%s:%u", lower, port);
}

/* ---- the run ---- */

static void run_stage (GTask *task, guint index);

typedef struct
{
  GTask *run; /* the whole run */
  guint index;
} StageCall;

static void
on_stage_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StageCall *call = user_data;
  g_autoptr (GTask) run = call->run;
  guint index = call->index;
  g_autoptr (GError) error = NULL;

  g_free (call);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* a stage reports what it finds; only cancellation ends the run */
      g_task_return_error (run, g_steal_pointer (&error));
      return;
    }
  run_stage (run, index + 1);
}

static void
run_stage (GTask *run, guint index)
{
  SfbDiagnosis *self = g_task_get_source_object (run);
  SfbDiagContext *ctx = self->ctx;
  StageCall *call;
  GTask *stage;

  while (index < G_N_ELEMENTS (stages) && stages[index].run == NULL)
    index++;
  if (g_task_return_error_if_cancelled (run))
    return;
  if (index >= G_N_ELEMENTS (stages))
    {
      GVariantBuilder builder;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
      for (guint i = 0; i < ctx->checks->len; i++)
        g_variant_builder_add_value (&builder, g_ptr_array_index (ctx->checks, i));
      g_task_return_pointer (run,
                             g_variant_ref_sink (g_variant_builder_end (&builder)),
                             (GDestroyNotify) g_variant_unref);
      return;
    }

  call = g_new0 (StageCall, 1);
  call->run = g_object_ref (run);
  call->index = index;
  stage = g_task_new (self, ctx->cancellable, on_stage_done, call);
  g_task_set_source_tag (stage, stages[index].run);
  g_debug ("Diagnosis of %s: stage %s", ctx->domain, stages[index].name);
  stages[index].run (ctx, stage);
  g_object_unref (stage);
}

static gboolean
is_dns_label_char (char c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '_';
}

char *
sfb_diagnosis_normalize_domain (const char *text, GError **error)
{
  g_autofree char *ascii = NULL;
  g_autofree char *quoted = NULL;
  gsize length;
  gboolean ok = TRUE;

  if (text != NULL && g_utf8_validate (text, -1, NULL))
    ascii = g_hostname_to_ascii (text);
  if (ascii != NULL)
    {
      length = strlen (ascii);
      if (length > 1 && ascii[length - 1] == '.')
        ascii[--length] = '\0';
      ok = length > 0 && length <= 253 && ascii[0] != '.' && ascii[0] != '-'
           && strstr (ascii, "..") == NULL && strchr (ascii, '.') != NULL;
      for (gsize i = 0; ok && i < length; i++)
        ok = ascii[i] == '.' || is_dns_label_char (ascii[i]);
      if (ok)
        return g_ascii_strdown (ascii, -1);
    }
  quoted = sfb_text_quote (text, -1, SFB_TEXT_QUOTE_MAX, SFB_TEXT_QUOTE_REPLACE);
  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_INVALID_ARGS,
               "“%s” is not a domain name such as contoso.com",
               quoted);
  return NULL;
}

static SfbDiagContext *
context_new (SfbDiagnosis *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GError) tls_error = NULL;
  const char *uri = sfb_config_get_uri (self->config);
  g_autofree char *domain = NULL;
  SfbDiagContext *ctx;

  if (self->domain != NULL)
    domain = sfb_diagnosis_normalize_domain (self->domain, error);
  else if (uri != NULL)
    domain = sfb_discovery_domain_from_uri (uri);
  else
    g_set_error_literal (error,
                         SFB_ERROR,
                         SFB_ERROR_NOT_CONFIGURED,
                         "No SIP address is configured: set one with "
                         "sfbctl config set Account.Uri sip:user@example.com, "
                         "or name the domain to check (sfbctl diagnose --domain example.com)");
  if (domain == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (
            error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED, "The configured Uri has no domain");
      return NULL;
    }

  ctx = g_new0 (SfbDiagContext, 1);
  ctx->diagnosis = self;
  ctx->config = g_object_ref (self->config);
  ctx->secret_store = self->secret_store != NULL ? g_object_ref (self->secret_store) : NULL;
  ctx->flags = self->flags;
  ctx->domain = g_steal_pointer (&domain);
  ctx->sip_uri = self->domain == NULL ? g_strdup (uri) : NULL;
  ctx->resolver
      = self->resolver != NULL ? g_object_ref (self->resolver) : g_resolver_get_default ();
  if (self->tls_database != NULL)
    ctx->tls_database = g_object_ref (self->tls_database);
  else
    ctx->tls_database = sfb_tls_database_new (sfb_config_get_ca_file (self->config), &tls_error);
  if (ctx->tls_database == NULL)
    {
      /* judged by the system store alone; the tls stage reports the CAFile */
      ctx->tls_database_error = g_steal_pointer (&tls_error);
      ctx->tls_database = sfb_tls_database_new (NULL, NULL);
    }
  ctx->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  ctx->checks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  ctx->outcomes
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) outcome_free);
  ctx->autodiscover = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_diag_autodiscover_free);
  ctx->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
  ctx->certificates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  ctx->tls_ok = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return ctx;
}

void
sfb_diagnosis_run_async (SfbDiagnosis *self,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (SFB_IS_DIAGNOSIS (self));
  g_return_if_fail (!self->started);

  self->started = TRUE;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_diagnosis_run_async);
  self->ctx = context_new (self, cancellable, &error);
  if (self->ctx == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  run_stage (task, 0);
}

GVariant *
sfb_diagnosis_run_finish (SfbDiagnosis *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (SFB_IS_DIAGNOSIS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- object ---- */

void
sfb_diagnosis_set_resolver (SfbDiagnosis *self, GResolver *resolver)
{
  g_return_if_fail (SFB_IS_DIAGNOSIS (self));
  g_set_object (&self->resolver, resolver);
}

void
sfb_diagnosis_set_secret_store (SfbDiagnosis *self, SfbSecretStore *secret_store)
{
  g_return_if_fail (SFB_IS_DIAGNOSIS (self));
  g_set_object (&self->secret_store, secret_store);
}

SfbDiagnosis *
sfb_diagnosis_new (SfbConfig *config,
                   GTlsDatabase *tls_database,
                   const char *domain,
                   SfbDiagnosisFlags flags)
{
  SfbDiagnosis *self;

  g_return_val_if_fail (SFB_IS_CONFIG (config), NULL);
  g_return_val_if_fail (tls_database == NULL || G_IS_TLS_DATABASE (tls_database), NULL);

  self = g_object_new (SFB_TYPE_DIAGNOSIS, NULL);
  self->config = g_object_ref (config);
  self->tls_database = tls_database != NULL ? g_object_ref (tls_database) : NULL;
  self->domain = domain != NULL && *domain != '\0' ? g_strdup (domain) : NULL;
  self->flags = flags;
  return self;
}

static void
sfb_diagnosis_finalize (GObject *object)
{
  SfbDiagnosis *self = SFB_DIAGNOSIS (object);

  g_clear_pointer (&self->ctx, context_free);
  g_clear_object (&self->config);
  g_clear_object (&self->secret_store);
  g_clear_object (&self->tls_database);
  g_clear_object (&self->resolver);
  g_free (self->domain);
  G_OBJECT_CLASS (sfb_diagnosis_parent_class)->finalize (object);
}

static void
sfb_diagnosis_class_init (SfbDiagnosisClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sfb_diagnosis_finalize;

  signals[SIGNAL_CHECK_COMPLETED] = g_signal_new ("check-completed",
                                                  G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST,
                                                  0,
                                                  NULL,
                                                  NULL,
                                                  NULL,
                                                  G_TYPE_NONE,
                                                  1,
                                                  G_TYPE_VARIANT);
}

static void
sfb_diagnosis_init (SfbDiagnosis *self)
{
  (void) self;
}
