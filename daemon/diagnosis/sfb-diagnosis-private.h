/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the stages of SfbDiagnosis share (docs/architecture.md §2.2): the
 * context of one run, through which a stage hands what it found to the
 * later ones, the table of stages and the helpers to report a check.
 *
 * A stage is started with its own GTask (source object: the SfbDiagnosis,
 * cancellable: ctx->cancellable) and ends with g_task_return_boolean (task,
 * TRUE) once it reported its checks: what it finds is reported, never
 * returned as an error.  A check whose input another check failed to provide
 * is reported SKIP with the reason (sfb_diag_skip_unless()).
 */
#pragma once

#include "sfb-diagnosis.h"
#include "sfb-diagnose-register.h"
#include "sfb-discovery.h"

G_BEGIN_DECLS

/* Stage names (the D-Bus Stage values), in order */
#define SFB_DIAG_STAGE_DNS "dns"
#define SFB_DIAG_STAGE_AUTODISCOVER "autodiscover"
#define SFB_DIAG_STAGE_CONNECTIVITY "connectivity"
#define SFB_DIAG_STAGE_TLS "tls"
#define SFB_DIAG_STAGE_AUTHENTICATION "authentication"
#define SFB_DIAG_STAGE_REDIRECTION "redirection"
#define SFB_DIAG_STAGE_SETTINGS "settings"

/* What autodiscover found at one host (lyncdiscoverinternal.D, lyncdiscover.D) */
typedef struct
{
  char *host;
  char *url;             /* the first URL requested; NULL: not asked (no address) */
  GPtrArray *hops;       /* SfbAutodiscoverHop (sfb-autodiscover.h), in walk order */
  GPtrArray *candidates; /* SfbServerCandidate the User document names */
  GError *error;         /* how the walk failed, NULL: it did not */
} SfbDiagAutodiscover;

void sfb_diag_autodiscover_free (SfbDiagAutodiscover *ad);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbDiagAutodiscover, sfb_diag_autodiscover_free)

typedef struct
{
  SfbDiagnosis *diagnosis; /* not a reference: the run is the diagnosis's */
  SfbConfig *config;
  SfbSecretStore *secret_store; /* nullable */
  SfbDiagnosisFlags flags;
  char *domain;  /* lower-case ASCII */
  char *sip_uri; /* the configured account, NULL with --domain */
  GResolver *resolver;
  GTlsDatabase *tls_database; /* never NULL during a run */
  GError *tls_database_error; /* the CAFile could not be used (system store then) */
  GCancellable *cancellable;

  GPtrArray *checks;    /* GVariant a{sv}, reported so far */
  GHashTable *outcomes; /* "stage/check" -> SfbDiagOutcome */

  /* Hand-over between stages */
  /* Per discovery lookup (sfb-discovery.h): the candidates it gave (NULL:
   * none); dns fills SRV and A, autodiscover its two. */
  GPtrArray *lookups[SFB_DISCOVERY_N_LOOKUPS];
  /* per discovery lookup: dns found a record (an address, an SRV target) */
  gboolean resolved[SFB_DISCOVERY_N_LOOKUPS];
  GPtrArray *autodiscover; /* SfbDiagAutodiscover, internal then external */
  /* every SIP server to try, in discovery order (set before connectivity) */
  GPtrArray *candidates;
  /* what connectivity found per candidate, its TLS handshake included (made
   * as soon as the connection was: sfb-diagnose-connect.c), for tls */
  GPtrArray *probes;
  /* "host:port" (lower case) -> GTlsCertificate the server presented */
  GHashTable *certificates;
  /* "host:port" (lower case) -> GUINT_TO_POINTER (GTlsCertificateFlags + 1):
   * the checks the certificate failed (1: none, it is trusted for the name) */
  GHashTable *tls_ok;
  /* authentication's REGISTERs (sfb-diagnose-register.h), for redirection
   * and settings; NULL when none was answered */
  SfbDiagnoseRegisterResult *registration;
} SfbDiagContext;

typedef void (*SfbDiagStageFunc) (SfbDiagContext *ctx, GTask *task);

typedef struct
{
  const char *name;
  SfbDiagStageFunc run;
} SfbDiagStage;

/* The stages, one file per group */
void sfb_diagnose_dns (SfbDiagContext *ctx, GTask *task);            /* sfb-diagnose-dns.c */
void sfb_diagnose_autodiscover (SfbDiagContext *ctx, GTask *task);   /* sfb-diagnose-web.c */
void sfb_diagnose_connectivity (SfbDiagContext *ctx, GTask *task);   /* sfb-diagnose-connect.c */
void sfb_diagnose_tls (SfbDiagContext *ctx, GTask *task);            /* sfb-diagnose-connect.c */
void sfb_diagnose_authentication (SfbDiagContext *ctx, GTask *task); /* sfb-diagnose-auth.c */
void sfb_diagnose_redirection (SfbDiagContext *ctx, GTask *task);    /* sfb-diagnose-auth.c */
void sfb_diagnose_settings (SfbDiagContext *ctx, GTask *task);       /* sfb-diagnose-settings.c */

/* Reports one check: emitted at once, kept for the result.  @evidence and
 * @fix are bounded and sanitised here (server data may be in them); @fix is
 * dropped for PASS and SKIP. */
void sfb_diag_report (SfbDiagContext *ctx,
                      const char *stage,
                      const char *check,
                      SfbDiagnosisResult result,
                      const char *evidence,
                      const char *fix);
void sfb_diag_reportf (SfbDiagContext *ctx,
                       const char *stage,
                       const char *check,
                       SfbDiagnosisResult result,
                       const char *fix,
                       const char *evidence_format,
                       ...) G_GNUC_PRINTF (6, 7);

/* The result of an earlier check; FALSE when it was not reported. */
gboolean sfb_diag_lookup (SfbDiagContext *ctx,
                          const char *stage,
                          const char *check,
                          SfbDiagnosisResult *result);

/* When the check @dep_stage/@dep_check did not end PASS or WARN (or was
 * never reported), reports @stage/@check SKIP saying so and returns TRUE. */
gboolean sfb_diag_skip_unless (SfbDiagContext *ctx,
                               const char *stage,
                               const char *check,
                               const char *dep_stage,
                               const char *dep_check);
/* Reports @stage/@check SKIP with @reason. */
void sfb_diag_skip (SfbDiagContext *ctx, const char *stage, const char *check, const char *reason);

/* "host:port" lower case, the key of the tables above; free with g_free(). */
char *sfb_diag_host_port (const char *host, guint16 port);

/* A certificate's failed checks (sfb-tls.h) as what an administrator should
 * do about the certificate of @host; "" for none.  sfb-diagnose-connect.c */
char *sfb_diag_certificate_fix (GTlsCertificateFlags errors,
                                const char *host,
                                GTlsCertificate *certificate);

G_END_DECLS
