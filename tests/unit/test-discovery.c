/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-discovery.h"

static void
test_domain_from_uri (void)
{
  const struct
  {
    const char *uri;
    const char *domain;
  } cases[] = {
    { "sip:alice@contoso.test", "contoso.test" },
    { "alice@Contoso.Test", "contoso.test" },
    { "SIP:alice@contoso.test;transport=tls", "contoso.test" },
    { "sip:alice@contoso.test>", "contoso.test" },
    { "sip:alice", NULL },
    { "@contoso.test", NULL },
    { "sip:alice@", NULL },
    { "sip:alice@evil host", NULL },
    { "sip:alice@.contoso.test", NULL },
    { "", NULL },
    { NULL, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *domain = sfb_discovery_domain_from_uri (cases[i].uri);

      g_assert_cmpstr (domain, ==, cases[i].domain);
    }
}

static GPtrArray *
list (const char *first, ...)
{
  GPtrArray *a = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
  va_list ap;

  va_start (ap, first);
  for (const char *host = first; host != NULL; host = va_arg (ap, const char *))
    {
      guint port = va_arg (ap, guint);
      SfbServerSource source = va_arg (ap, SfbServerSource);

      g_ptr_array_add (a, sfb_server_candidate_new (host, port, source, NULL));
    }
  va_end (ap);
  return a;
}

static void
test_combine_order (void)
{
  GPtrArray *results[SFB_DISCOVERY_N_LOOKUPS] = { NULL };
  g_autoptr (GPtrArray) out = NULL;
  const char *expected[] = {
    "director.contoso.test:5061 (autodiscover)",
    "sip.contoso.test:443 (autodiscover)",
    "pool1.contoso.test:5061 (srv)",
    "pool2.contoso.test:5061 (srv)",
    "sipinternal.contoso.test:5061 (a-record)",
    "sip.contoso.test:5061 (a-record)",
    "sipexternal.contoso.test:443 (a-record)",
  };

  /* Fake lookup results as the resolver and autodiscover would give them,
   * filled in out of order: the combination follows lookup order. */
  results[SFB_DISCOVERY_LOOKUP_A_SIPEXTERNAL]
      = list ("sipexternal.contoso.test", 443, SFB_SERVER_SOURCE_A_RECORD, NULL);
  results[SFB_DISCOVERY_LOOKUP_A_SIP] = list ("sip.contoso.test",
                                              5061,
                                              SFB_SERVER_SOURCE_A_RECORD,
                                              "sip.contoso.test",
                                              443,
                                              SFB_SERVER_SOURCE_A_RECORD,
                                              NULL);
  results[SFB_DISCOVERY_LOOKUP_SRV_TLS]
      = list ("SIP.contoso.test.", 443, SFB_SERVER_SOURCE_SRV, NULL); /* duplicate */
  results[SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS] = list ("pool1.contoso.test",
                                                         5061,
                                                         SFB_SERVER_SOURCE_SRV,
                                                         "pool2.contoso.test",
                                                         5061,
                                                         SFB_SERVER_SOURCE_SRV,
                                                         NULL);
  results[SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL]
      = list ("director.contoso.test", 5061, SFB_SERVER_SOURCE_AUTODISCOVER, NULL); /* dup */
  results[SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL] = list ("director.contoso.test",
                                                              5061,
                                                              SFB_SERVER_SOURCE_AUTODISCOVER,
                                                              "sip.contoso.test",
                                                              443,
                                                              SFB_SERVER_SOURCE_AUTODISCOVER,
                                                              NULL);
  /* SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL found "sipinternal" */
  results[SFB_DISCOVERY_LOOKUP_A_SIPINTERNAL]
      = list ("sipinternal.contoso.test", 5061, SFB_SERVER_SOURCE_A_RECORD, NULL);

  out = sfb_discovery_combine (results);
  g_assert_cmpuint (out->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < out->len; i++)
    {
      g_autofree char *text = sfb_server_candidate_to_string (out->pdata[i]);

      g_assert_cmpstr (text, ==, expected[i]);
    }

  for (guint i = 0; i < SFB_DISCOVERY_N_LOOKUPS; i++)
    g_clear_pointer (&results[i], g_ptr_array_unref);
}

static void
test_combine_empty (void)
{
  GPtrArray *results[SFB_DISCOVERY_N_LOOKUPS] = { NULL };
  g_autoptr (GPtrArray) out = NULL;

  results[SFB_DISCOVERY_LOOKUP_SRV_TLS] = list (NULL);
  out = sfb_discovery_combine (results);
  g_assert_cmpuint (out->len, ==, 0);
  g_ptr_array_unref (results[SFB_DISCOVERY_LOOKUP_SRV_TLS]);
}

static GList *
srv (guint16 priority, guint16 weight, const char *host, GList *rest)
{
  return g_list_append (rest, g_srv_target_new (host, 5061, priority, weight));
}

static char *
hosts (GList *targets)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (GList *l = targets; l != NULL; l = l->next)
    g_string_append_printf (
        s, "%s%s", l == targets ? "" : " ", g_srv_target_get_hostname (l->data));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_srv_priority (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (1);
  GList *in = NULL;
  GList *out;
  g_autofree char *text = NULL;

  in = srv (20, 0, "c", in);
  in = srv (0, 0, "a", in);
  in = srv (10, 0, "b", in);
  out = sfb_srv_targets_order (in, rand);
  text = hosts (out);
  g_assert_cmpstr (text, ==, "a b c");
  g_list_free_full (out, (GDestroyNotify) g_srv_target_free);
  g_list_free_full (in, (GDestroyNotify) g_srv_target_free);
}

static void
test_srv_weight (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  GList *in = NULL;
  guint heavy_first = 0;
  guint zero_first = 0;

  /* Same priority: weight 90 vs 10 vs 0.  The heavy one should lead about
   * 90% of the time; the weight-0 one almost never; every target every time. */
  in = srv (5, 10, "light", in);
  in = srv (5, 0, "zero", in);
  in = srv (5, 90, "heavy", in);
  in = srv (1, 0, "first", in);
  for (guint i = 0; i < 1000; i++)
    {
      GList *out = sfb_srv_targets_order (in, rand);

      g_assert_cmpuint (g_list_length (out), ==, 4);
      g_assert_cmpstr (g_srv_target_get_hostname (out->data), ==, "first");
      if (g_str_equal (g_srv_target_get_hostname (out->next->data), "heavy"))
        heavy_first++;
      if (g_str_equal (g_srv_target_get_hostname (out->next->data), "zero"))
        zero_first++;
      g_list_free_full (out, (GDestroyNotify) g_srv_target_free);
    }
  g_assert_cmpuint (heavy_first, >, 800);
  g_assert_cmpuint (heavy_first, <, 980);
  g_assert_cmpuint (zero_first, <, 50);
  g_list_free_full (in, (GDestroyNotify) g_srv_target_free);
}

static void
test_srv_not_offered (void)
{
  GList *in = srv (0, 0, ".", NULL);

  g_assert_null (sfb_srv_targets_order (in, NULL));
  g_list_free_full (in, (GDestroyNotify) g_srv_target_free);
}

static void
test_srv_limit (void)
{
  GList *in = NULL;
  GList *out;

  for (guint i = 0; i < 1000; i++)
    in = g_list_prepend (in, g_srv_target_new ("x.contoso.test", 5061, 0, 65535));
  out = sfb_srv_targets_order (in, NULL);
  g_assert_cmpuint (g_list_length (out), ==, 32);
  g_list_free_full (out, (GDestroyNotify) g_srv_target_free);
  g_list_free_full (in, (GDestroyNotify) g_srv_target_free);
}

static void
test_candidate_strings (void)
{
  g_autoptr (SfbServerCandidate) c
      = sfb_server_candidate_new ("pool1.contoso.test", 5061, SFB_SERVER_SOURCE_SRV, "internal");
  g_autoptr (SfbServerCandidate) copy = sfb_server_candidate_copy (c);
  g_autofree char *text = sfb_server_candidate_to_string (copy);

  g_assert_cmpstr (text, ==, "pool1.contoso.test:5061 (srv, internal)");
  g_assert_cmpstr (sfb_server_source_to_string (SFB_SERVER_SOURCE_CONFIGURED), ==, "configured");
  g_assert_cmpstr (
      sfb_server_source_to_string (SFB_SERVER_SOURCE_LAST_HOME_POOL), ==, "last-home-pool");
  g_assert_cmpstr (sfb_server_source_to_string (SFB_SERVER_SOURCE_REDIRECT), ==, "redirect");
}

static void
test_candidate_equal (void)
{
  g_autoptr (SfbServerCandidate) a
      = sfb_server_candidate_new ("Pool1.Contoso.Test.", 5061, SFB_SERVER_SOURCE_SRV, NULL);
  g_autoptr (SfbServerCandidate) b = sfb_server_candidate_new (
      "pool1.contoso.test", 5061, SFB_SERVER_SOURCE_AUTODISCOVER, "internal");
  g_autoptr (SfbServerCandidate) other_port
      = sfb_server_candidate_new ("pool1.contoso.test", 443, SFB_SERVER_SOURCE_SRV, NULL);

  g_assert_true (sfb_server_candidate_equal (a, b));
  g_assert_false (sfb_server_candidate_equal (a, other_port));
}

/* The candidate dialled beside autodiscover: the best one known once every
 * DNS lookup ranked above it has answered. */
static void
test_early_candidate (void)
{
  GPtrArray *results[SFB_DISCOVERY_N_LOOKUPS] = { NULL };
  gboolean done[SFB_DISCOVERY_N_LOOKUPS] = { FALSE };
  const SfbServerCandidate *early;
  gboolean settled = TRUE;

  results[SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL]
      = list ("pool2.contoso.test", 5061, SFB_SERVER_SOURCE_AUTODISCOVER, NULL);
  results[SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS]
      = list ("director.contoso.test", 5061, SFB_SERVER_SOURCE_SRV, NULL);
  results[SFB_DISCOVERY_LOOKUP_A_SIP] = list ("sip.contoso.test",
                                              5061,
                                              SFB_SERVER_SOURCE_A_RECORD,
                                              "sip.contoso.test",
                                              443,
                                              SFB_SERVER_SOURCE_A_RECORD,
                                              NULL);

  /* nothing answered yet */
  g_assert_null (sfb_discovery_early_candidate (results, done, &settled));
  g_assert_false (settled);

  /* an A record answered, but the SRV lookups ranked above it have not */
  done[SFB_DISCOVERY_LOOKUP_A_SIP] = TRUE;
  g_assert_null (sfb_discovery_early_candidate (results, done, &settled));

  /* every DNS lookup answered, autodiscover is still out: the SRV target,
   * not settled */
  for (guint l = SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS; l < SFB_DISCOVERY_N_LOOKUPS; l++)
    done[l] = TRUE;
  early = sfb_discovery_early_candidate (results, done, &settled);
  g_assert_nonnull (early);
  g_assert_cmpstr (early->host, ==, "director.contoso.test");
  g_assert_false (settled);

  /* the internal autodiscover found nothing: still not settled while the
   * external one is out */
  done[SFB_DISCOVERY_LOOKUP_AUTODISCOVER_EXTERNAL] = TRUE;
  early = sfb_discovery_early_candidate (results, done, &settled);
  g_assert_cmpstr (early->host, ==, "director.contoso.test");
  g_assert_false (settled);

  /* the internal autodiscover answers: it outranks the SRV target, settled */
  done[SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL] = TRUE;
  early = sfb_discovery_early_candidate (results, done, &settled);
  g_assert_cmpstr (early->host, ==, "pool2.contoso.test");
  g_assert_true (settled);

  /* the SRV lookup failed (no result): the A record is next once done */
  g_clear_pointer (&results[SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL], g_ptr_array_unref);
  g_clear_pointer (&results[SFB_DISCOVERY_LOOKUP_SRV_INTERNAL_TLS], g_ptr_array_unref);
  done[SFB_DISCOVERY_LOOKUP_AUTODISCOVER_INTERNAL] = FALSE;
  early = sfb_discovery_early_candidate (results, done, &settled);
  g_assert_cmpstr (early->host, ==, "sip.contoso.test");
  g_assert_cmpuint (early->port, ==, 5061);
  g_assert_false (settled);

  for (guint l = 0; l < SFB_DISCOVERY_N_LOOKUPS; l++)
    g_clear_pointer (&results[l], g_ptr_array_unref);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/net/discovery/domain-from-uri", test_domain_from_uri);
  g_test_add_func ("/net/discovery/combine-order", test_combine_order);
  g_test_add_func ("/net/discovery/combine-empty", test_combine_empty);
  g_test_add_func ("/net/discovery/srv-priority", test_srv_priority);
  g_test_add_func ("/net/discovery/srv-weight", test_srv_weight);
  g_test_add_func ("/net/discovery/srv-not-offered", test_srv_not_offered);
  g_test_add_func ("/net/discovery/srv-limit", test_srv_limit);
  g_test_add_func ("/net/discovery/candidate-strings", test_candidate_strings);
  g_test_add_func ("/net/discovery/candidate-equal", test_candidate_equal);
  g_test_add_func ("/net/discovery/early-candidate", test_early_candidate);

  return g_test_run ();
}
