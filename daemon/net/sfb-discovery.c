/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-dns"

#include "config.h"

#include "sfb-discovery.h"

#include "sfb-autodiscover.h"
#include "sfb-error.h"
#include "sfb-proxy.h"

#include <string.h>

/* At most this many SRV targets per name are used (server data has limits). */
#define MAX_SRV_TARGETS 32
/* Per-request I/O timeout of the autodiscover HTTPS requests (s). */
#define AUTODISCOVER_TIMEOUT 10

/* ---- Candidates ---- */

SfbServerCandidate *
sfb_server_candidate_new (const char *host,
                          guint16 port,
                          SfbServerSource source,
                          const char *access_location)
{
  SfbServerCandidate *c;

  g_return_val_if_fail (host != NULL, NULL);

  c = g_new0 (SfbServerCandidate, 1);
  c->host = g_strdup (host);
  c->port = port;
  c->source = source;
  c->access_location = g_strdup (access_location);
  return c;
}

SfbServerCandidate *
sfb_server_candidate_copy (const SfbServerCandidate *c)
{
  g_return_val_if_fail (c != NULL, NULL);

  return sfb_server_candidate_new (c->host, c->port, c->source, c->access_location);
}

void
sfb_server_candidate_free (SfbServerCandidate *c)
{
  if (c == NULL)
    return;
  g_free (c->host);
  g_free (c->access_location);
  g_free (c);
}

const char *
sfb_server_source_to_string (SfbServerSource source)
{
  switch (source)
    {
    case SFB_SERVER_SOURCE_CONFIGURED:
      return "configured";
    case SFB_SERVER_SOURCE_LAST_HOME_POOL:
      return "last-home-pool";
    case SFB_SERVER_SOURCE_AUTODISCOVER:
      return "autodiscover";
    case SFB_SERVER_SOURCE_SRV:
      return "srv";
    case SFB_SERVER_SOURCE_A_RECORD:
      return "a-record";
    case SFB_SERVER_SOURCE_REDIRECT:
      return "redirect";
    default:
      return "unknown";
    }
}

char *
sfb_server_candidate_to_string (const SfbServerCandidate *c)
{
  g_return_val_if_fail (c != NULL, NULL);

  return g_strdup_printf ("%s:%u (%s%s%s)",
                          c->host,
                          c->port,
                          sfb_server_source_to_string (c->source),
                          c->access_location != NULL ? ", " : "",
                          c->access_location != NULL ? c->access_location : "");
}

/* ---- Pure helpers ---- */

char *
sfb_discovery_domain_from_uri (const char *sip_uri)
{
  const char *at;
  g_autofree char *domain = NULL;

  if (sip_uri == NULL)
    return NULL;
  if (g_ascii_strncasecmp (sip_uri, "sip:", 4) == 0)
    sip_uri += 4;
  at = strrchr (sip_uri, '@');
  if (at == NULL || at == sip_uri)
    return NULL;
  domain = g_ascii_strdown (at + 1, -1);
  /* Drop URI parameters or headers, then insist on a plain host name. */
  domain[strcspn (domain, ";?>")] = '\0';
  if (*domain == '\0' || strlen (domain) > 253 || domain[0] == '.' || domain[0] == '-')
    return NULL;
  for (const char *p = domain; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return NULL;
  return g_steal_pointer (&domain);
}

static char *
candidate_key (const SfbServerCandidate *c)
{
  g_autofree char *host = g_ascii_strdown (c->host, -1);
  gsize len = strlen (host);

  if (len > 0 && host[len - 1] == '.')
    host[len - 1] = '\0';
  return g_strdup_printf ("%s:%u", host, c->port);
}

gboolean
sfb_server_candidate_equal (const SfbServerCandidate *a, const SfbServerCandidate *b)
{
  g_autofree char *ka = NULL;
  g_autofree char *kb = NULL;

  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  ka = candidate_key (a);
  kb = candidate_key (b);
  return g_str_equal (ka, kb);
}

static gboolean
is_autodiscover (SfbDiscoveryLookup lookup)
{
  return lookup == SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL
         || lookup == SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL;
}

const SfbServerCandidate *
sfb_discovery_early_candidate (GPtrArray *const results[SFB_DISCOVERY_N_LOOKUPS],
                               const gboolean done[SFB_DISCOVERY_N_LOOKUPS],
                               gboolean *settled)
{
  gboolean all_above_done = TRUE;

  g_return_val_if_fail (settled != NULL, NULL);

  *settled = FALSE;
  for (guint l = 0; l < SFB_DISCOVERY_N_LOOKUPS; l++)
    {
      if (!done[l])
        {
          /* a DNS lookup still out could rank its answer above anything below */
          if (!is_autodiscover (l))
            return NULL;
          all_above_done = FALSE;
          continue;
        }
      if (results[l] != NULL && results[l]->len > 0)
        {
          *settled = all_above_done;
          return results[l]->pdata[0];
        }
    }
  return NULL;
}

GPtrArray *
sfb_discovery_combine (GPtrArray *const results[SFB_DISCOVERY_N_LOOKUPS])
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint l = 0; l < SFB_DISCOVERY_N_LOOKUPS; l++)
    {
      if (results[l] == NULL)
        continue;
      for (guint i = 0; i < results[l]->len; i++)
        {
          const SfbServerCandidate *c = results[l]->pdata[i];
          char *key = candidate_key (c);

          if (!g_hash_table_add (seen, key))
            continue; /* the table freed the duplicate key */
          g_ptr_array_add (out, sfb_server_candidate_copy (c));
        }
    }
  return out;
}

static gint
compare_priority (gconstpointer a, gconstpointer b)
{
  guint16 pa = g_srv_target_get_priority (*(GSrvTarget *const *) a);
  guint16 pb = g_srv_target_get_priority (*(GSrvTarget *const *) b);

  return (pa > pb) - (pa < pb);
}

static gint
compare_zero_weight_first (gconstpointer a, gconstpointer b)
{
  gboolean za = g_srv_target_get_weight (*(GSrvTarget *const *) a) == 0;
  gboolean zb = g_srv_target_get_weight (*(GSrvTarget *const *) b) == 0;

  return zb - za;
}

GList *
sfb_srv_targets_order (GList *targets, GRand *rand)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_srv_target_free);
  GList *out = NULL;
  guint start = 0;

  for (GList *l = targets; l != NULL && all->len < MAX_SRV_TARGETS; l = l->next)
    g_ptr_array_add (all, g_srv_target_copy (l->data));
  /* RFC 2782: a single "." target means the service is decidedly not offered. */
  if (all->len == 1)
    {
      const char *host = g_srv_target_get_hostname (all->pdata[0]);

      if (host == NULL || *host == '\0' || g_str_equal (host, "."))
        return NULL;
    }
  /* g_ptr_array_sort is not stable; ties are re-ordered by weight below anyway. */
  g_ptr_array_sort (all, compare_priority);

  while (start < all->len)
    {
      guint16 priority = g_srv_target_get_priority (all->pdata[start]);
      g_autoptr (GPtrArray) group = g_ptr_array_new ();
      guint end = start;

      while (end < all->len && g_srv_target_get_priority (all->pdata[end]) == priority)
        g_ptr_array_add (group, all->pdata[end++]);
      g_ptr_array_sort (group, compare_zero_weight_first);

      while (group->len > 0)
        {
          guint32 sum = 0;
          guint32 pick;
          guint32 running = 0;
          guint chosen = group->len - 1;

          for (guint i = 0; i < group->len; i++)
            sum += g_srv_target_get_weight (group->pdata[i]);
          pick = rand != NULL ? (guint32) g_rand_int_range (rand, 0, (gint32) sum + 1)
                              : (guint32) g_random_int_range (0, (gint32) sum + 1);
          for (guint i = 0; i < group->len; i++)
            {
              running += g_srv_target_get_weight (group->pdata[i]);
              if (running >= pick)
                {
                  chosen = i;
                  break;
                }
            }
          out = g_list_prepend (out, g_srv_target_copy (group->pdata[chosen]));
          g_ptr_array_remove_index (group, chosen); /* keeps the order of the rest */
        }
      start = end;
    }
  return g_list_reverse (out);
}

/* ---- The GObject ---- */

struct _SfbDiscovery
{
  GObject parent_instance;

  GResolver *resolver;
  GTlsDatabase *tls_database;
  SoupSession *session; /* NULL until a run needs it (sfb_discovery_close_connections()) */
  GStrv details;
  GWeakRef ticket_object;
  SfbWebTicketProvider ticket_provider; /* .object unused: ticket_object */
};

enum
{
  SIGNAL_EARLY_CANDIDATE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SfbDiscovery, sfb_discovery, G_TYPE_OBJECT)

static void
sfb_discovery_finalize (GObject *object)
{
  SfbDiscovery *self = SFB_DISCOVERY (object);

  g_clear_object (&self->resolver);
  g_clear_object (&self->tls_database);
  g_clear_object (&self->session);
  g_clear_pointer (&self->details, g_strfreev);
  g_weak_ref_clear (&self->ticket_object);

  G_OBJECT_CLASS (sfb_discovery_parent_class)->finalize (object);
}

static void
sfb_discovery_class_init (SfbDiscoveryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sfb_discovery_finalize;

  signals[SIGNAL_EARLY_CANDIDATE] = g_signal_new ("early-candidate",
                                                  G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST,
                                                  0,
                                                  NULL,
                                                  NULL,
                                                  NULL,
                                                  G_TYPE_NONE,
                                                  2,
                                                  G_TYPE_POINTER,
                                                  G_TYPE_BOOLEAN);
}

static void
sfb_discovery_init (SfbDiscovery *self)
{
  g_weak_ref_init (&self->ticket_object, NULL);
}

void
sfb_discovery_set_web_ticket_provider (SfbDiscovery *self, const SfbWebTicketProvider *provider)
{
  g_return_if_fail (SFB_IS_DISCOVERY (self));

  g_weak_ref_set (&self->ticket_object, provider != NULL ? provider->object : NULL);
  self->ticket_provider.get_async = provider != NULL ? provider->get_async : NULL;
  self->ticket_provider.get_finish = provider != NULL ? provider->get_finish : NULL;
}

SfbDiscovery *
sfb_discovery_new (GResolver *resolver, GTlsDatabase *tls_database)
{
  SfbDiscovery *self = g_object_new (SFB_TYPE_DISCOVERY, NULL);

  self->resolver = resolver != NULL ? g_object_ref (resolver) : g_resolver_get_default ();
  if (tls_database != NULL)
    self->tls_database = g_object_ref (tls_database);
  return self;
}

static SoupSession *
ensure_session (SfbDiscovery *self)
{
  if (self->session != NULL)
    return self->session;
  self->session = soup_session_new_with_options (
      "timeout", AUTODISCOVER_TIMEOUT, "user-agent", "sfbd/" PACKAGE_VERSION, NULL);
  if (!sfb_proxy_may_be_configured ())
    soup_session_set_proxy_resolver (self->session, NULL);
  if (self->tls_database != NULL)
    soup_session_set_tls_database (self->session, self->tls_database);
  return self->session;
}

void
sfb_discovery_close_connections (SfbDiscovery *self)
{
  g_return_if_fail (SFB_IS_DISCOVERY (self));

  /* libsoup would keep the idle connections (their TLS state and buffers)
   * for 60 s and then wake up to close them.  A walk still out holds the
   * session: its connections close as soon as it ends. */
  g_clear_object (&self->session);
}

GStrv
sfb_discovery_get_details (SfbDiscovery *self)
{
  g_return_val_if_fail (SFB_IS_DISCOVERY (self), NULL);

  if (self->details == NULL)
    return g_new0 (char *, 1);
  return g_strdupv (self->details);
}

/* One run: the lookups in flight and their results. */
typedef struct
{
  char *domain;
  guint pending;
  GPtrArray *results[SFB_DISCOVERY_N_LOOKUPS];
  char *details[SFB_DISCOVERY_N_LOOKUPS];
  gboolean done[SFB_DISCOVERY_N_LOOKUPS];
  char *early; /* "host:port settled" last announced, NULL before */
} Run;

static void
run_free (Run *run)
{
  g_free (run->domain);
  g_free (run->early);
  for (guint i = 0; i < SFB_DISCOVERY_N_LOOKUPS; i++)
    {
      g_clear_pointer (&run->results[i], g_ptr_array_unref);
      g_free (run->details[i]);
    }
  g_free (run);
}

/* A lookup's callback data: the task and which lookup it was. */
typedef struct
{
  GTask *task;
  SfbDiscoveryLookup lookup;
} Pending;

static Pending *
pending_new (GTask *task, SfbDiscoveryLookup lookup)
{
  Pending *p = g_new0 (Pending, 1);
  Run *run = g_task_get_task_data (task);

  p->task = g_object_ref (task);
  p->lookup = lookup;
  run->pending++;
  return p;
}

static GPtrArray *
candidates_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
}

static const char *
a_record_name (SfbDiscoveryLookup lookup)
{
  switch (lookup)
    {
    case SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL:
      return "sipinternal";
    case SFB_DISCOVERY_LOOKUP_A_SIP:
      return "sip";
    case SFB_DISCOVERY_LOOKUP_A_SIPEXTERNAL:
      return "sipexternal";
    default:
      g_assert_not_reached ();
    }
}

char *
sfb_discovery_describe_resolver_error (const GError *error)
{
  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
    return g_strdup ("NXDOMAIN or no record");
  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE))
    return g_strdup_printf ("failed (server failure or no answer: %s)", error->message);
  return g_strdup_printf ("failed (%s)", error->message);
}

static void
run_finish (GTask *task)
{
  SfbDiscovery *self = g_task_get_source_object (task);
  Run *run = g_task_get_task_data (task);
  g_autoptr (GPtrArray) candidates = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < SFB_DISCOVERY_N_LOOKUPS; i++)
    if (run->details[i] != NULL)
      g_strv_builder_add (builder, run->details[i]);
  g_clear_pointer (&self->details, g_strfreev);
  self->details = g_strv_builder_end (builder);

  if (g_task_return_error_if_cancelled (task))
    return;

  candidates = sfb_discovery_combine (run->results);
  for (guint i = 0; i < candidates->len; i++)
    {
      g_autofree char *text = sfb_server_candidate_to_string (candidates->pdata[i]);

      g_debug ("Discovery candidate %u: %s", i + 1, text);
    }
  if (candidates->len == 0)
    {
      g_autofree char *summary = g_strjoinv ("; ", self->details);

      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_DISCOVERY_FAILED,
                               "No server found for %s: %s. Set Account.Server to skip discovery",
                               run->domain,
                               summary);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&candidates), (GDestroyNotify) g_ptr_array_unref);
}

/* Announces the early candidate when it changed (a run still in flight). */
static void
announce_early (GTask *task)
{
  SfbDiscovery *self = g_task_get_source_object (task);
  Run *run = g_task_get_task_data (task);
  const SfbServerCandidate *early;
  gboolean settled;
  g_autofree char *key = NULL;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    return;
  early = sfb_discovery_early_candidate (run->results, run->done, &settled);
  if (early == NULL)
    return;
  key = g_strdup_printf ("%s:%u %d", early->host, early->port, settled);
  if (g_strcmp0 (key, run->early) == 0)
    return;
  g_free (run->early);
  run->early = g_steal_pointer (&key);
  {
    g_autofree char *text = sfb_server_candidate_to_string (early);

    g_debug ("Early candidate: %s%s", text, settled ? "" : " (autodiscover still running)");
  }
  g_signal_emit (self, signals[SIGNAL_EARLY_CANDIDATE], 0, early, settled);
}

static void
pending_done (Pending *p)
{
  Run *run = g_task_get_task_data (p->task);

  if (p->lookup < SFB_DISCOVERY_N_LOOKUPS)
    run->done[p->lookup] = TRUE;
  if (--run->pending == 0)
    run_finish (p->task);
  else if (p->lookup < SFB_DISCOVERY_N_LOOKUPS)
    announce_early (p->task);
  g_object_unref (p->task);
  g_free (p);
}

static void
autodiscover_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  Run *run = g_task_get_task_data (p->task);
  g_autoptr (GError) error = NULL;
  g_autofree char *detail = NULL;
  GPtrArray *found;
  const char *name = p->lookup == SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL
                         ? "lyncdiscoverinternal"
                         : "lyncdiscover";

  found = sfb_autodiscover_lookup_finish (result, &detail, &error);
  run->results[p->lookup] = found;
  run->details[p->lookup] = g_strdup_printf ("Autodiscover %s.%s: %s", name, run->domain, detail);
  pending_done (p);
}

static void
srv_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  Run *run = g_task_get_task_data (p->task);
  g_autoptr (GError) error = NULL;
  GList *targets;
  GList *ordered;
  gboolean internal = p->lookup == SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS;
  g_autofree char *name
      = g_strdup_printf ("SRV %s.%s", internal ? "_sipinternaltls._tcp" : "_sip._tls", run->domain);
  g_autoptr (GString) detail = g_string_new (name);

  targets = g_resolver_lookup_service_finish (G_RESOLVER (source), result, &error);
  if (targets == NULL)
    {
      g_autofree char *why
          = error != NULL ? sfb_discovery_describe_resolver_error (error) : g_strdup ("no record");

      g_string_append_printf (detail, ": %s", why);
      run->details[p->lookup] = g_string_free (g_steal_pointer (&detail), FALSE);
      pending_done (p);
      return;
    }
  ordered = sfb_srv_targets_order (targets, NULL);
  g_list_free_full (targets, (GDestroyNotify) g_srv_target_free);

  run->results[p->lookup] = candidates_new ();
  if (ordered == NULL)
    g_string_append (detail, ": service not offered (target \".\")");
  for (GList *l = ordered; l != NULL; l = l->next)
    {
      GSrvTarget *t = l->data;
      const char *host = g_srv_target_get_hostname (t);

      g_string_append_printf (detail,
                              "%s %s:%u (prio %u weight %u)",
                              l == ordered ? ":" : ",",
                              host,
                              g_srv_target_get_port (t),
                              g_srv_target_get_priority (t),
                              g_srv_target_get_weight (t));
      if (host == NULL || *host == '\0' || g_str_equal (host, ".")
          || g_srv_target_get_port (t) == 0)
        continue;
      g_ptr_array_add (run->results[p->lookup],
                       sfb_server_candidate_new (host,
                                                 g_srv_target_get_port (t),
                                                 SFB_SERVER_SOURCE_SRV,
                                                 internal ? "internal" : "external"));
    }
  g_list_free_full (ordered, (GDestroyNotify) g_srv_target_free);
  run->details[p->lookup] = g_string_free (g_steal_pointer (&detail), FALSE);
  pending_done (p);
}

static void
a_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  Run *run = g_task_get_task_data (p->task);
  g_autoptr (GError) error = NULL;
  GList *addresses;
  g_autofree char *host = g_strdup_printf ("%s.%s", a_record_name (p->lookup), run->domain);
  g_autoptr (GString) detail = g_string_new (NULL);

  g_string_printf (detail, "A %s", host);
  addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  if (addresses == NULL)
    {
      g_autofree char *why
          = error != NULL ? sfb_discovery_describe_resolver_error (error) : g_strdup ("no record");

      g_string_append_printf (detail, ": %s", why);
      run->details[p->lookup] = g_string_free (g_steal_pointer (&detail), FALSE);
      pending_done (p);
      return;
    }
  for (GList *l = addresses; l != NULL; l = l->next)
    {
      g_autofree char *text = g_inet_address_to_string (l->data);

      g_string_append_printf (detail, "%s %s", l == addresses ? ":" : ",", text);
    }
  g_resolver_free_addresses (addresses);

  run->results[p->lookup] = candidates_new ();
  switch (p->lookup)
    {
    case SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL:
      g_ptr_array_add (
          run->results[p->lookup],
          sfb_server_candidate_new (host, 5061, SFB_SERVER_SOURCE_A_RECORD, "internal"));
      break;
    case SFB_DISCOVERY_LOOKUP_A_SIP:
      g_ptr_array_add (run->results[p->lookup],
                       sfb_server_candidate_new (host, 5061, SFB_SERVER_SOURCE_A_RECORD, NULL));
      g_ptr_array_add (run->results[p->lookup],
                       sfb_server_candidate_new (host, 443, SFB_SERVER_SOURCE_A_RECORD, NULL));
      break;
    default:
      g_ptr_array_add (
          run->results[p->lookup],
          sfb_server_candidate_new (host, 443, SFB_SERVER_SOURCE_A_RECORD, "external"));
      break;
    }
  run->details[p->lookup] = g_string_free (g_steal_pointer (&detail), FALSE);
  pending_done (p);
}

void
sfb_discovery_run_async (SfbDiscovery *self,
                         const char *sip_uri,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autofree char *domain = NULL;
  g_autofree char *user_at_domain = NULL;
  const char *at;
  Run *run;
  Pending *guard;
  g_autoptr (GObject) ticket_object = NULL;
  SfbWebTicketProvider provider;

  g_return_if_fail (SFB_IS_DISCOVERY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_discovery_run_async);

  domain = sfb_discovery_domain_from_uri (sip_uri);
  if (domain == NULL)
    {
      g_task_return_new_error (task,
                               SFB_ERROR,
                               SFB_ERROR_INVALID_ARGS,
                               "“%s” is not a SIP address of the form user@domain",
                               sip_uri != NULL ? sip_uri : "");
      return;
    }
  /* sipuri=user@domain: the URI without "sip:" and without parameters. */
  if (g_ascii_strncasecmp (sip_uri, "sip:", 4) == 0)
    sip_uri += 4;
  at = strrchr (sip_uri, '@');
  user_at_domain = g_strdup_printf ("%.*s@%s", (int) (at - sip_uri), sip_uri, domain);

  run = g_new0 (Run, 1);
  run->domain = g_strdup (domain);
  g_task_set_task_data (task, run, (GDestroyNotify) run_free);
  g_clear_pointer (&self->details, g_strfreev);

  /* Hold one pending count until everything has started, so a lookup that
   * completes at once cannot finish the run early. */
  guard = pending_new (task, SFB_DISCOVERY_N_LOOKUPS);

  ticket_object = g_weak_ref_get (&self->ticket_object);
  provider = self->ticket_provider;
  provider.object = ticket_object;
  for (guint i = 0; i < 2; i++)
    {
      SfbDiscoveryLookup lookup = i == 0 ? SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL
                                         : SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL;
      g_autofree char *host
          = g_strdup_printf ("%s.%s", i == 0 ? "lyncdiscoverinternal" : "lyncdiscover", domain);
      g_autofree char *url = sfb_autodiscover_build_url (host, user_at_domain);

      sfb_autodiscover_lookup_full_async (ensure_session (self),
                                          url,
                                          &provider,
                                          cancellable,
                                          autodiscover_cb,
                                          pending_new (task, lookup));
    }
  g_resolver_lookup_service_async (self->resolver,
                                   "sipinternaltls",
                                   "tcp",
                                   domain,
                                   cancellable,
                                   srv_cb,
                                   pending_new (task, SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS));
  g_resolver_lookup_service_async (self->resolver,
                                   "sip",
                                   "tls",
                                   domain,
                                   cancellable,
                                   srv_cb,
                                   pending_new (task, SFB_DISCOVERY_LOOKUP_SRV_TLS));
  for (SfbDiscoveryLookup l = SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL;
       l <= SFB_DISCOVERY_LOOKUP_A_SIPEXTERNAL;
       l++)
    {
      g_autofree char *host = g_strdup_printf ("%s.%s", a_record_name (l), domain);

      g_resolver_lookup_by_name_async (
          self->resolver, host, cancellable, a_cb, pending_new (task, l));
    }

  g_debug ("Discovery for %s: %u lookups started", domain, run->pending - 1);
  pending_done (guard);
}

GPtrArray *
sfb_discovery_run_finish (SfbDiscovery *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (SFB_IS_DISCOVERY (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
