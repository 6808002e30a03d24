/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbDiagnosis: the connectivity analyzer behind Diagnostics.Diagnose()
 * (dbus/org.sfbd.Sfbd1.Diagnostics.xml, doc/sfbctl.1.rst "diagnose").
 *
 * One object per run.  It runs the stages of sign-in one after the other
 * (dns, autodiscover, connectivity, tls, authentication, redirection,
 * settings), each made of checks that end PASS, WARN, FAIL or SKIP with their
 * evidence and, for WARN and FAIL, the fix in an administrator's words.  It
 * makes its own lookups and connections and changes no state: a signed-in
 * session is never disturbed.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-config.h"
#include "sfb-secret-store.h"

G_BEGIN_DECLS

typedef enum
{
  SFB_DIAGNOSIS_PASS,
  SFB_DIAGNOSIS_WARN,
  SFB_DIAGNOSIS_FAIL,
  SFB_DIAGNOSIS_SKIP,
} SfbDiagnosisResult;

/* "PASS", "WARN", "FAIL", "SKIP" (the D-Bus Result values) */
const char *sfb_diagnosis_result_to_string (SfbDiagnosisResult result);

typedef enum
{
  SFB_DIAGNOSIS_FLAGS_NONE = 0,
  /* also a real authentication with the stored credentials */
  SFB_DIAGNOSIS_SIGN_IN = 1 << 0,
} SfbDiagnosisFlags;

/* Keys of a check's a{sv} (all strings) */
#define SFB_DIAGNOSIS_KEY_STAGE "Stage"
#define SFB_DIAGNOSIS_KEY_CHECK "Check"
#define SFB_DIAGNOSIS_KEY_RESULT "Result"
#define SFB_DIAGNOSIS_KEY_EVIDENCE "Evidence"
#define SFB_DIAGNOSIS_KEY_FIX "Fix"

/* Bounds of what a check says (characters); server data is quoted within. */
#define SFB_DIAGNOSIS_MAX_EVIDENCE 1024
#define SFB_DIAGNOSIS_MAX_FIX 512

#define SFB_TYPE_DIAGNOSIS (sfb_diagnosis_get_type ())
G_DECLARE_FINAL_TYPE (SfbDiagnosis, sfb_diagnosis, SFB, DIAGNOSIS, GObject)

/* Signal "check-completed" (GVariant *check): an a{sv} with the keys above,
 * emitted as each check finishes, in the order of the final result. */

/* @config: the account (Uri, Server, Auth, CAFile); @tls_database (nullable):
 * the trust to judge certificates with, NULL to make one from the CAFile
 * (a CAFile that cannot be read is a FAIL of the tls stage);
 * @domain (nullable): check this domain's published records without an
 * account instead of the configured Uri's domain. */
SfbDiagnosis *sfb_diagnosis_new (SfbConfig *config,
                                 GTlsDatabase *tls_database,
                                 const char *domain,
                                 SfbDiagnosisFlags flags);
/* The resolver for every lookup (tests); default: g_resolver_get_default(). */
void sfb_diagnosis_set_resolver (SfbDiagnosis *self, GResolver *resolver);
/* The stored credentials, for SFB_DIAGNOSIS_SIGN_IN. */
void sfb_diagnosis_set_secret_store (SfbDiagnosis *self, SfbSecretStore *secret_store);

/* Runs every stage once (a second call is a programming error).  Fails with
 * SFB_ERROR_INVALID_ARGS for a domain that is not a DNS name and with
 * SFB_ERROR_NOT_CONFIGURED when neither a domain nor a Uri is known;
 * everything else the stages find is a check, not an error. */
void sfb_diagnosis_run_async (SfbDiagnosis *self,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
/* The checks (aa{sv}, in order). */
GVariant *sfb_diagnosis_run_finish (SfbDiagnosis *self, GAsyncResult *result, GError **error);

/* Pure: @text as a lower-case ASCII DNS name (IDN converted, a trailing dot
 * dropped), or NULL with SFB_ERROR_INVALID_ARGS. */
char *sfb_diagnosis_normalize_domain (const char *text, GError **error);

G_END_DECLS
