/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Server discovery (docs/protocol.md §2, docs/architecture.md §1).
 *
 * Every lookup starts at once, so discovery costs about one round trip
 * (plus autodiscover's HTTPS exchanges, which run beside the DNS queries):
 *
 *   1. autodiscover https://lyncdiscoverinternal.<domain>/?sipuri=<user@domain>
 *   2. autodiscover https://lyncdiscover.<domain>/?sipuri=<user@domain>
 *   3. SRV _sipinternaltls._tcp.<domain>   (RFC 2782 priority/weight order)
 *   4. SRV _sip._tls.<domain>              (RFC 2782 priority/weight order)
 *   5. A   sipinternal.<domain>  -> port 5061
 *   6. A   sip.<domain>          -> port 5061, then 443
 *   7. A   sipexternal.<domain>  -> port 443
 *
 * Candidates come out in that order, duplicates (same host and port, case
 * and trailing dot ignored) removed, the first occurrence kept.  Not tried:
 * autodiscover over http:// (an answer there can be spoofed and a conforming
 * server only redirects to https, MS-OCDISCWS 3.1.5.2), the TCP SRV records
 * _sipinternal._tcp and _sip._tcp (no plaintext SIP), and the bare
 * <domain>:5061 SIPE tries last (usually the web site, not a SIP server).
 * A configured Server and the last good home pool are the caller's business:
 * it puts them first (the CONFIGURED and LAST_HOME_POOL sources).
 *
 * Early candidate (docs/benchmarks.md): the DNS lookups answer in one round
 * trip, autodiscover takes several (DNS, TCP, TLS, two GETs).  While a run is
 * in flight, "early-candidate" names the best candidate known so far once
 * every DNS lookup ranked above it has finished, so the caller can dial it
 * beside autodiscover; `settled` says whether every lookup ranked above it
 * (autodiscover included) has finished, i.e. it is certain to be the first
 * candidate of the final result.  The final result keeps the documented
 * order regardless; what to do with a connection to an early candidate that
 * autodiscover outranks is the caller's decision (sfb-session.c).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  SFB_SERVER_SOURCE_CONFIGURED,
  SFB_SERVER_SOURCE_LAST_HOME_POOL,
  SFB_SERVER_SOURCE_AUTODISCOVER,
  SFB_SERVER_SOURCE_SRV,
  SFB_SERVER_SOURCE_A_RECORD,
  SFB_SERVER_SOURCE_REDIRECT, /* the Contact of a 301 */
} SfbServerSource;

typedef struct
{
  char *host; /* the name to dial AND to check the certificate against */
  guint16 port;
  SfbServerSource source;
  char *access_location; /* "internal" / "external" / NULL when unknown */
} SfbServerCandidate;

SfbServerCandidate *sfb_server_candidate_new (const char *host,
                                              guint16 port,
                                              SfbServerSource source,
                                              const char *access_location);
SfbServerCandidate *sfb_server_candidate_copy (const SfbServerCandidate *c);
void sfb_server_candidate_free (SfbServerCandidate *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbServerCandidate, sfb_server_candidate_free)

/* Same host and port (host case and a trailing dot ignored). */
gboolean sfb_server_candidate_equal (const SfbServerCandidate *a, const SfbServerCandidate *b);

/* "configured", "last-home-pool", "autodiscover", "srv", "a-record", "redirect" */
const char *sfb_server_source_to_string (SfbServerSource source);
/* "host:port (source[, access location])" for traces; free with g_free(). */
char *sfb_server_candidate_to_string (const SfbServerCandidate *c);

#define SFB_TYPE_DISCOVERY (sfb_discovery_get_type ())
G_DECLARE_FINAL_TYPE (SfbDiscovery, sfb_discovery, SFB, DISCOVERY, GObject)

/* Signal "early-candidate" (SfbServerCandidate *candidate, gboolean settled):
 * emitted during a run (never after it was cancelled, never for the lookup
 * that completes the run) each time the early candidate changes; the
 * candidate belongs to the emitter, copy it to keep it. */
SfbDiscovery *sfb_discovery_new (GResolver *resolver /* nullable: default */,
                                 GTlsDatabase *tls_database /* nullable: system */);

/* The web ticket provider autodiscover uses when a User resource answers
 * 401 with X-MS-WebTicketURL (sfb-autodiscover.h); @provider NULL: none.
 * The object is held by a weak reference only. */
struct _SfbWebTicketProvider;
void sfb_discovery_set_web_ticket_provider (SfbDiscovery *self,
                                            const struct _SfbWebTicketProvider *provider);

/* Closes autodiscover's idle HTTPS connections now rather than after
 * libsoup's idle timeout; a run still in flight finishes on its own
 * connections, which close when it ends.  The next run connects afresh. */
void sfb_discovery_close_connections (SfbDiscovery *self);

/* Runs autodiscover (lyncdiscoverinternal, lyncdiscover), SRV and A lookups
 * concurrently; returns every candidate in the documented order of
 * preference, duplicates removed.  Fails with SFB_ERROR_DISCOVERY_FAILED
 * (message summarising each lookup's result) only when no candidate at all
 * was found; SFB_ERROR_INVALID_ARGS when @sip_uri has no domain.
 * @sip_uri: "sip:user@domain" or "user@domain". */
void sfb_discovery_run_async (SfbDiscovery *self,
                              const char *sip_uri,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
/* A GPtrArray of SfbServerCandidate (owns them). */
GPtrArray *sfb_discovery_run_finish (SfbDiscovery *self, GAsyncResult *result, GError **error);

/* After a run: one line per lookup for the sign-in trace, e.g.
 * "SRV _sipinternaltls._tcp.contoso.test: pool1.contoso.test:5061 (prio 0 weight 0)"
 * or "... : NXDOMAIN". */
GStrv sfb_discovery_get_details (SfbDiscovery *self);

/* ---- Pure helpers, exported for the unit tests ---- */

/* A failed resolver lookup in words: "NXDOMAIN or no record", "failed
 * (server failure or no answer: ...)"; free with g_free(). */
char *sfb_discovery_describe_resolver_error (const GError *error);

/* The lookups of one run, in order of preference. */
typedef enum
{
  SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL,
  SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL,
  SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS,
  SFB_DISCOVERY_LOOKUP_SRV_TLS,
  SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL,
  SFB_DISCOVERY_LOOKUP_A_SIP,
  SFB_DISCOVERY_LOOKUP_A_SIPEXTERNAL,
  SFB_DISCOVERY_N_LOOKUPS,
} SfbDiscoveryLookup;

/* The domain of "sip:user@domain" / "user@domain" (lower case), or NULL. */
char *sfb_discovery_domain_from_uri (const char *sip_uri);

/* Concatenates @results (each a GPtrArray of SfbServerCandidate or NULL for
 * a lookup that found nothing), in lookup order, dropping duplicates.  Returns
 * new copies; the inputs are not modified. */
GPtrArray *sfb_discovery_combine (GPtrArray *const results[SFB_DISCOVERY_N_LOOKUPS]);

/* The early candidate of a run in flight: the first candidate, in lookup
 * order, of the lookups that are @done, provided every DNS lookup (SRV, A)
 * ranked above it is done; autodiscover lookups may still be pending, in
 * which case *@settled is FALSE.  NULL (and *@settled FALSE) when no
 * candidate qualifies yet.  Points into @results. */
const SfbServerCandidate *
sfb_discovery_early_candidate (GPtrArray *const results[SFB_DISCOVERY_N_LOOKUPS],
                               const gboolean done[SFB_DISCOVERY_N_LOOKUPS],
                               gboolean *settled);

/* RFC 2782 order of a GList of GSrvTarget: ascending priority; within one
 * priority a weighted random choice (weight 0 entries first, as the RFC's
 * selection algorithm puts them, then by running sum), drawn from @rand
 * (NULL: g_random_*).  A single target "." means "service not offered" and
 * yields an empty list.  Returns a new list of copies. */
GList *sfb_srv_targets_order (GList *targets, GRand *rand);

G_END_DECLS
