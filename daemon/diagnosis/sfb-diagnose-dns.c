/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dns stage: every name an SfB client looks up (sfb-discovery.h, in its
 * order of preference) and the A/AAAA of each SRV target.  Hands the SRV and
 * A candidates to the later stages through ctx->lookups.
 */
#define G_LOG_DOMAIN "sfbd-diagnosis"

#include "config.h"

#include "sfb-diagnosis-private.h"

#include <string.h>

/* The names of SfbDiscoveryLookup, in its order */
static const struct
{
  const char *prefix;
  gboolean srv;
} names[SFB_DISCOVERY_N_LOOKUPS] = {
  [SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL] = { "lyncdiscoverinternal", FALSE },
  [SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL] = { "lyncdiscover", FALSE },
  [SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS] = { "_sipinternaltls._tcp", TRUE },
  [SFB_DISCOVERY_LOOKUP_SRV_TLS] = { "_sip._tls", TRUE },
  [SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL] = { "sipinternal", FALSE },
  [SFB_DISCOVERY_LOOKUP_A_SIP] = { "sip", FALSE },
  [SFB_DISCOVERY_LOOKUP_A_SIPEXTERNAL] = { "sipexternal", FALSE },
};

typedef struct
{
  char *host;
  guint16 port;
  guint16 priority;
  guint16 weight;
  SfbDiscoveryLookup lookup; /* the SRV that named it */
  GList *addresses;          /* GInetAddress */
  GError *error;
} Target;

typedef struct
{
  SfbDiagContext *ctx;
  GTask *task;
  guint pending;
  GList *records[SFB_DISCOVERY_N_LOOKUPS]; /* GSrvTarget or GInetAddress, ordered */
  GError *errors[SFB_DISCOVERY_N_LOOKUPS];
  gboolean not_offered[SFB_DISCOVERY_N_LOOKUPS]; /* SRV target "." */
  GPtrArray *targets;                            /* Target */
} DnsRun;

typedef struct
{
  DnsRun *run;
  guint index; /* SfbDiscoveryLookup, or the Target's index in phase 2 */
} Pending;

static void
target_free (Target *t)
{
  g_free (t->host);
  g_resolver_free_addresses (t->addresses);
  g_clear_error (&t->error);
  g_free (t);
}

static void
dns_run_free (DnsRun *run)
{
  for (guint i = 0; i < SFB_DISCOVERY_N_LOOKUPS; i++)
    {
      if (names[i].srv)
        g_list_free_full (run->records[i], (GDestroyNotify) g_srv_target_free);
      else
        g_resolver_free_addresses (run->records[i]);
      g_clear_error (&run->errors[i]);
    }
  g_ptr_array_unref (run->targets);
  g_object_unref (run->task);
  g_free (run);
}

static char *
record_name (SfbDiagContext *ctx, SfbDiscoveryLookup lookup)
{
  return g_strdup_printf ("%s.%s", names[lookup].prefix, ctx->domain);
}

static char *
check_name (SfbDiagContext *ctx, SfbDiscoveryLookup lookup)
{
  g_autofree char *name = record_name (ctx, lookup);

  return g_strdup_printf ("%s %s", names[lookup].srv ? "SRV" : "A/AAAA", name);
}

static char *
addresses_to_string (GList *addresses)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (GList *l = addresses; l != NULL; l = l->next)
    {
      g_autofree char *address = g_inet_address_to_string (l->data);

      g_string_append_printf (text, "%s%s", l == addresses ? "" : ", ", address);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gboolean
found (DnsRun *run, SfbDiscoveryLookup lookup)
{
  return run->records[lookup] != NULL;
}

static gboolean
only_not_found (const GError *error)
{
  return error == NULL || g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND);
}

/* ---- what each name means ---- */

/* A missing record: WARN or FAIL with the fix, given what else exists. */
static void
report_missing (DnsRun *run, SfbDiscoveryLookup lookup)
{
  SfbDiagContext *ctx = run->ctx;
  const char *d = ctx->domain;
  g_autofree char *check = check_name (ctx, lookup);
  g_autofree char *why = sfb_discovery_describe_resolver_error (run->errors[lookup]);
  g_autofree char *evidence = NULL;
  g_autofree char *fix = NULL;
  gboolean any_autodiscover = found (run, SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL)
                              || found (run, SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL);
  gboolean any_srv = found (run, SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS)
                     || found (run, SFB_DISCOVERY_LOOKUP_SRV_TLS);
  gboolean any_a = found (run, SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL)
                   || found (run, SFB_DISCOVERY_LOOKUP_A_SIP)
                   || found (run, SFB_DISCOVERY_LOOKUP_A_SIPEXTERNAL);
  gboolean nothing = !any_autodiscover && !any_srv && !any_a;
  SfbDiagnosisResult result = nothing ? SFB_DIAGNOSIS_FAIL : SFB_DIAGNOSIS_WARN;

  if (!only_not_found (run->errors[lookup]))
    {
      g_autofree char *name = record_name (ctx, lookup);

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_DNS,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        "Check that the DNS servers this machine uses answer (resolvectl "
                        "status; resolvectl query NAME): a lookup that fails is not the "
                        "same as a record that is missing.",
                        "The lookup of %s %s",
                        name,
                        why);
      return;
    }

  switch (lookup)
    {
    case SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL:
      if (found (run, SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL))
        {
          evidence = g_strdup_printf ("lyncdiscoverinternal.%s: %s, while lyncdiscover.%s "
                                      "resolves: only the external record is visible here "
                                      "(split DNS?)",
                                      d,
                                      why,
                                      d);
          fix = g_strdup_printf ("On the internal network, publish lyncdiscoverinternal.%s in "
                                 "the internal DNS zone pointing at the pool's internal web "
                                 "services; outside it nothing needs to change.",
                                 d);
        }
      else
        {
          evidence = g_strdup_printf ("lyncdiscoverinternal.%s: %s", d, why);
          fix = g_strdup_printf ("Publish lyncdiscoverinternal.%s (internal DNS zone) and "
                                 "lyncdiscover.%s (public zone) as A or CNAME records pointing "
                                 "at the pool's web services, so clients can discover it.",
                                 d,
                                 d);
          if (any_srv)
            result = SFB_DIAGNOSIS_WARN;
          else
            result = SFB_DIAGNOSIS_FAIL;
        }
      break;
    case SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL:
      evidence = g_strdup_printf ("lyncdiscover.%s: %s", d, why);
      fix = g_strdup_printf ("Publish lyncdiscover.%s in the public DNS zone pointing at the "
                             "reverse proxy of the web services, so clients outside the "
                             "network can discover the deployment.",
                             d);
      result = any_srv || found (run, SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL)
                   ? SFB_DIAGNOSIS_WARN
                   : SFB_DIAGNOSIS_FAIL;
      break;
    case SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS:
      if (found (run, SFB_DISCOVERY_LOOKUP_SRV_TLS))
        evidence = g_strdup_printf ("_sipinternaltls._tcp.%s: %s, while _sip._tls.%s exists: "
                                    "only the external record is visible here (split DNS?)",
                                    d,
                                    why,
                                    d);
      else
        evidence = g_strdup_printf ("_sipinternaltls._tcp.%s: %s", d, why);
      fix = g_strdup_printf ("Publish an SRV record _sipinternaltls._tcp.%s pointing at the "
                             "pool's FQDN on port 5061 in the internal DNS zone.",
                             d);
      result = any_srv || any_autodiscover ? SFB_DIAGNOSIS_WARN : SFB_DIAGNOSIS_FAIL;
      break;
    case SFB_DISCOVERY_LOOKUP_SRV_TLS:
      evidence = g_strdup_printf ("_sip._tls.%s: %s", d, why);
      fix = g_strdup_printf ("Publish an SRV record _sip._tls.%s pointing at the Access Edge "
                             "server's FQDN on port 443 in the public DNS zone, so clients "
                             "outside the network can sign in.",
                             d);
      result = any_srv || any_autodiscover ? SFB_DIAGNOSIS_WARN : SFB_DIAGNOSIS_FAIL;
      break;
    default:
      {
        g_autofree char *name = record_name (ctx, lookup);

        if (any_srv || any_autodiscover)
          {
            sfb_diag_reportf (ctx,
                              SFB_DIAG_STAGE_DNS,
                              check,
                              SFB_DIAGNOSIS_PASS,
                              NULL,
                              "%s: %s (optional: clients find the server through %s)",
                              name,
                              why,
                              any_autodiscover ? "autodiscover" : "the SRV records");
            return;
          }
        evidence = g_strdup_printf ("%s: %s", name, why);
        fix = g_strdup_printf ("Publish an SRV record _sipinternaltls._tcp.%s pointing at the "
                               "pool's FQDN on port 5061 (or at least an A record sip.%s "
                               "for it).",
                               d,
                               d);
      }
    }
  sfb_diag_report (ctx, SFB_DIAG_STAGE_DNS, check, result, evidence, fix);
}

static void
report_srv (DnsRun *run, SfbDiscoveryLookup lookup)
{
  SfbDiagContext *ctx = run->ctx;
  g_autofree char *check = check_name (ctx, lookup);
  g_autofree char *name = record_name (ctx, lookup);
  g_autoptr (GString) evidence = g_string_new (name);

  if (run->not_offered[lookup])
    {
      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_DNS,
                        check,
                        SFB_DIAGNOSIS_WARN,
                        "Remove the \".\" SRV record, or point it at the server's FQDN, "
                        "if the service is meant to be offered.",
                        "%s has the target \".\": the service is declared not offered here",
                        name);
      return;
    }
  for (GList *l = run->records[lookup]; l != NULL; l = l->next)
    g_string_append_printf (evidence,
                            "%s %s:%u (priority %u, weight %u)",
                            l == run->records[lookup] ? ":" : ",",
                            g_srv_target_get_hostname (l->data),
                            g_srv_target_get_port (l->data),
                            g_srv_target_get_priority (l->data),
                            g_srv_target_get_weight (l->data));
  sfb_diag_report (ctx, SFB_DIAG_STAGE_DNS, check, SFB_DIAGNOSIS_PASS, evidence->str, NULL);
}

static void
report_target (DnsRun *run, Target *t)
{
  SfbDiagContext *ctx = run->ctx;
  g_autofree char *srv = record_name (ctx, t->lookup);
  g_autofree char *check = g_strdup_printf ("SRV target %s", t->host);
  g_autofree char *addresses = NULL;

  if (sfb_diag_lookup (ctx, SFB_DIAG_STAGE_DNS, check, NULL))
    return; /* named by both SRV records */
  if (t->addresses != NULL)
    {
      addresses = addresses_to_string (t->addresses);
      sfb_diag_reportf (
          ctx, SFB_DIAG_STAGE_DNS, check, SFB_DIAGNOSIS_PASS, NULL, "%s: %s", t->host, addresses);
      return;
    }
  if (!only_not_found (t->error))
    {
      g_autofree char *why = sfb_discovery_describe_resolver_error (t->error);

      sfb_diag_reportf (ctx,
                        SFB_DIAG_STAGE_DNS,
                        check,
                        SFB_DIAGNOSIS_FAIL,
                        "Check that the DNS servers this machine uses answer (resolvectl "
                        "status; resolvectl query NAME).",
                        "The lookup of %s (the target of SRV %s) %s",
                        t->host,
                        srv,
                        why);
      return;
    }
  {
    g_autofree char *fix = g_strdup_printf (
        "Publish an A (or AAAA) record for %s, or point the SRV record %s at a name that has one.",
        t->host,
        srv);

    sfb_diag_reportf (ctx,
                      SFB_DIAG_STAGE_DNS,
                      check,
                      SFB_DIAGNOSIS_FAIL,
                      fix,
                      "%s, the target of SRV %s, has no A or AAAA record",
                      t->host,
                      srv);
  }
}

/* The candidates the later stages try, as discovery would make them */
static void
hand_over (DnsRun *run)
{
  SfbDiagContext *ctx = run->ctx;

  for (SfbDiscoveryLookup l = SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS;
       l <= SFB_DISCOVERY_LOOKUP_SRV_TLS;
       l++)
    for (guint i = 0; i < run->targets->len; i++)
      {
        Target *t = g_ptr_array_index (run->targets, i);

        if (t->lookup != l || t->addresses == NULL)
          continue;
        if (ctx->lookups[l] == NULL)
          ctx->lookups[l]
              = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
        g_ptr_array_add (ctx->lookups[l],
                         sfb_server_candidate_new (
                             t->host,
                             t->port,
                             SFB_SERVER_SOURCE_SRV,
                             l == SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS ? "internal" : "external"));
      }
  for (SfbDiscoveryLookup l = SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL;
       l <= SFB_DISCOVERY_LOOKUP_A_SIPEXTERNAL;
       l++)
    {
      g_autofree char *host = record_name (ctx, l);
      GPtrArray *list;

      if (!found (run, l))
        continue;
      list = ctx->lookups[l]
          = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
      if (l == SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL)
        g_ptr_array_add (
            list, sfb_server_candidate_new (host, 5061, SFB_SERVER_SOURCE_A_RECORD, "internal"));
      else if (l == SFB_DISCOVERY_LOOKUP_A_SIP)
        {
          g_ptr_array_add (list,
                           sfb_server_candidate_new (host, 5061, SFB_SERVER_SOURCE_A_RECORD, NULL));
          g_ptr_array_add (list,
                           sfb_server_candidate_new (host, 443, SFB_SERVER_SOURCE_A_RECORD, NULL));
        }
      else
        g_ptr_array_add (
            list, sfb_server_candidate_new (host, 443, SFB_SERVER_SOURCE_A_RECORD, "external"));
    }
}

static void
report_all (DnsRun *run)
{
  for (SfbDiscoveryLookup l = 0; l < SFB_DISCOVERY_N_LOOKUPS; l++)
    {
      run->ctx->resolved[l] = found (run, l);
      if (!found (run, l) && !run->not_offered[l])
        report_missing (run, l);
      else if (names[l].srv)
        report_srv (run, l);
      else
        {
          g_autofree char *check = check_name (run->ctx, l);
          g_autofree char *name = record_name (run->ctx, l);
          g_autofree char *addresses = addresses_to_string (run->records[l]);

          sfb_diag_reportf (run->ctx,
                            SFB_DIAG_STAGE_DNS,
                            check,
                            SFB_DIAGNOSIS_PASS,
                            NULL,
                            "%s: %s",
                            name,
                            addresses);
        }
      if (names[l].srv)
        for (guint i = 0; i < run->targets->len; i++)
          {
            Target *t = g_ptr_array_index (run->targets, i);

            if (t->lookup == l)
              report_target (run, t);
          }
    }
}

/* ---- lookups ---- */

static void copy_shared_answers (DnsRun *run);

static void
finish (DnsRun *run)
{
  GTask *task = g_object_ref (run->task);

  if (!g_task_return_error_if_cancelled (task))
    {
      copy_shared_answers (run);
      report_all (run);
      hand_over (run);
      g_task_return_boolean (task, TRUE);
    }
  dns_run_free (run);
  g_object_unref (task);
}

static void
on_target_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  DnsRun *run = p->run;
  Target *t = g_ptr_array_index (run->targets, p->index);

  t->addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &t->error);
  g_free (p);
  if (--run->pending == 0)
    finish (run);
}

static Target *
find_target (DnsRun *run, const char *host)
{
  for (guint i = 0; i < run->targets->len; i++)
    {
      Target *t = g_ptr_array_index (run->targets, i);

      if (g_ascii_strcasecmp (t->host, host) == 0)
        return t;
    }
  return NULL;
}

/* Phase 2: the A/AAAA of every SRV target (each name once) */
static void
resolve_targets (DnsRun *run)
{
  GPtrArray *unique = g_ptr_array_new ();

  for (SfbDiscoveryLookup l = SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS;
       l <= SFB_DISCOVERY_LOOKUP_SRV_TLS;
       l++)
    for (GList *i = run->records[l]; i != NULL; i = i->next)
      {
        const char *host = g_srv_target_get_hostname (i->data);
        Target *t;

        if (host == NULL || *host == '\0' || g_str_equal (host, "."))
          continue;
        t = g_new0 (Target, 1);
        t->host = g_strdup (host);
        t->port = g_srv_target_get_port (i->data);
        t->priority = g_srv_target_get_priority (i->data);
        t->weight = g_srv_target_get_weight (i->data);
        t->lookup = l;
        if (find_target (run, host) == NULL)
          g_ptr_array_add (unique, GUINT_TO_POINTER (run->targets->len));
        g_ptr_array_add (run->targets, t);
      }

  run->pending = unique->len + 1;
  for (guint i = 0; i < unique->len; i++)
    {
      Pending *p = g_new0 (Pending, 1);
      Target *t;

      p->run = run;
      p->index = GPOINTER_TO_UINT (g_ptr_array_index (unique, i));
      t = g_ptr_array_index (run->targets, p->index);
      g_resolver_lookup_by_name_async (
          run->ctx->resolver, t->host, run->ctx->cancellable, on_target_resolved, p);
    }
  g_ptr_array_unref (unique);
  if (--run->pending == 0)
    finish (run);
}

/* Targets named twice were resolved once: share the answer. */
static void
copy_shared_answers (DnsRun *run)
{
  for (guint i = 0; i < run->targets->len; i++)
    {
      Target *t = g_ptr_array_index (run->targets, i);
      Target *first = find_target (run, t->host);

      if (first == NULL || first == t)
        continue;
      t->addresses
          = g_list_copy_deep (first->addresses, (GCopyFunc) (void (*) (void)) g_object_ref, NULL);
      t->error = first->error != NULL ? g_error_copy (first->error) : NULL;
    }
}

static void
on_record (DnsRun *run, SfbDiscoveryLookup lookup, GList *records, GError *error)
{
  if (names[lookup].srv && records != NULL)
    {
      GList *ordered = sfb_srv_targets_order (records, NULL);

      run->not_offered[lookup] = ordered == NULL;
      g_list_free_full (records, (GDestroyNotify) g_srv_target_free);
      records = ordered;
    }
  run->records[lookup] = records;
  run->errors[lookup] = error;
  if (--run->pending > 0)
    return;
  if (g_task_return_error_if_cancelled (run->task))
    {
      dns_run_free (run);
      return;
    }
  resolve_targets (run);
}

static void
on_service (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  GError *error = NULL;
  GList *records = g_resolver_lookup_service_finish (G_RESOLVER (source), result, &error);
  DnsRun *run = p->run;
  guint index = p->index;

  g_free (p);
  on_record (run, index, records, error);
}

static void
on_name (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  GError *error = NULL;
  GList *records = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  DnsRun *run = p->run;
  guint index = p->index;

  g_free (p);
  on_record (run, index, records, error);
}

void
sfb_diagnose_dns (SfbDiagContext *ctx, GTask *task)
{
  DnsRun *run = g_new0 (DnsRun, 1);

  run->ctx = ctx;
  run->task = g_object_ref (task);
  run->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  run->pending = SFB_DISCOVERY_N_LOOKUPS;
  for (SfbDiscoveryLookup l = 0; l < SFB_DISCOVERY_N_LOOKUPS; l++)
    {
      Pending *p = g_new0 (Pending, 1);

      p->run = run;
      p->index = l;
      if (names[l].srv)
        g_resolver_lookup_service_async (ctx->resolver,
                                         l == SFB_DISCOVERY_LOOKUP_SRV_TLS ? "sip"
                                                                           : "sipinternaltls",
                                         l == SFB_DISCOVERY_LOOKUP_SRV_TLS ? "tls" : "tcp",
                                         ctx->domain,
                                         ctx->cancellable,
                                         on_service,
                                         p);
      else
        {
          g_autofree char *host = record_name (ctx, l);

          g_resolver_lookup_by_name_async (ctx->resolver, host, ctx->cancellable, on_name, p);
        }
    }
}
