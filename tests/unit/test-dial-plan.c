/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Location profile parsing and number normalization over the seed's dial
 * plan (seed 000, docs/protocol.md §11.6). */
#include "sfb-dial-plan.h"
#include "sfb-error.h"

#include <string.h>

static SfbDialPlan *
load (const char *name)
{
  g_autofree char *path = g_build_filename (g_getenv ("SFB_TEST_DATA"), "services", name, NULL);
  g_autofree char *data = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;
  SfbDialPlan *plan;

  g_assert_true (g_file_get_contents (path, &data, &length, NULL));
  plan = sfb_dial_plan_parse (data, length, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plan);
  return plan;
}

static SfbDialPlan *
parse_string (const char *xml, GError **error)
{
  return sfb_dial_plan_parse (xml, strlen (xml), error);
}

static void
test_dial_plan_parse_seed (void)
{
  g_autoptr (SfbDialPlan) plan = load ("location-profile-seed.xml");
  g_autoptr (GVariant) rules = g_variant_ref_sink (sfb_dial_plan_get_rules (plan));
  g_autoptr (GVariant) first = NULL;
  const char *text = NULL;
  gboolean internal = TRUE;

  g_assert_cmpstr (sfb_dial_plan_get_name (plan), ==, "XXXX_dial_plan");
  g_assert_cmpstr (sfb_dial_plan_get_external_access_prefix (plan), ==, "9");
  g_assert_true (sfb_dial_plan_get_optimize_device_dialing (plan));
  g_assert_cmpuint (g_variant_n_children (rules), ==, 5);
  first = g_variant_get_child_value (rules, 0);
  g_assert_true (g_variant_lookup (first, "Pattern", "&s", &text));
  g_assert_cmpstr (text, ==, "^(\\d{6})$");
  g_assert_true (g_variant_lookup (first, "Translation", "&s", &text));
  g_assert_cmpstr (text, ==, "+441785$1");
  g_assert_true (g_variant_lookup (first, "InternalExtension", "b", &internal));
  g_assert_false (internal);
}

typedef struct
{
  const char *dialled;
  const char *expected; /* NULL: NoMatchingRule */
  const char *pattern;
} Case;

#define R_LOCAL "^(\\d{6})$"
#define R_NATIONAL "^0([1-9])(\\d*)$"
#define R_INTL "^(00)?([1-9])(\\d{5,})$"
#define R_EMERGENCY "^(999$|112$|123$|101$)"
#define R_FIXUP "^\\+440(\\d{10}\\d?\\d?)"

/* The expected normalizations of the seed's rules. */
static const Case seed_cases[] = {
  /* 6-digit local numbers */
  { "123456", "+441785123456", R_LOCAL },
  { "654321", "+441785654321", R_LOCAL },
  { "000000", "+441785000000", R_LOCAL },
  { "12 34 56", "+441785123456", R_LOCAL },
  /* national numbers with a leading 0 */
  { "01785123456", "+441785123456", R_NATIONAL },
  { "02079460000", "+442079460000", R_NATIONAL },
  { "07700900123", "+447700900123", R_NATIONAL },
  { "01", "+441", R_NATIONAL },
  { "(01785) 123-456", "+441785123456", R_NATIONAL },
  /* international with 00, or without it */
  { "0014255551234", "+14255551234", R_INTL },
  { "00441785123456", "+441785123456", R_INTL },
  { "004930123456", "+4930123456", R_INTL },
  { "1234567", "+1234567", R_INTL },
  { "14255551234", "+14255551234", R_INTL },
  /* emergency numbers: the 6-digit and international rules do not take them */
  { "999", "+999", R_EMERGENCY },
  { "112", "+112", R_EMERGENCY },
  { "123", "+123", R_EMERGENCY },
  { "101", "+101", R_EMERGENCY },
  /* the +440 fix-up */
  { "+4401785123456", "+441785123456", R_FIXUP },
  { "+44017851234567", "+4417851234567", R_FIXUP },
  { "+440178512345678", "+44178512345678", R_FIXUP },
  /* the external access prefix 9 (OptimizeDeviceDialing=true): ignored by
   * the rules, which see the rest */
  { "9123456", "+441785123456", R_LOCAL },
  { "901785123456", "+441785123456", R_NATIONAL },
  { "90014255551234", "+14255551234", R_INTL },
  { "9999", "+999", R_EMERGENCY },
  { "9112", "+112", R_EMERGENCY },
  /* ... and when the rest matches nothing, the number as dialled counts */
  { "912345", "+441785912345", R_LOCAL },
  { "9999999", "+441785999999", R_LOCAL },
  /* numbers no rule matches */
  { "+441785123456", NULL, NULL }, /* already E.164 */
  { "12345", NULL, NULL },
  { "0", NULL, NULL },
  { "00", NULL, NULL },
  { "0012", NULL, NULL },
  { "100", NULL, NULL },
  { "911", NULL, NULL },
  { "+4401785", NULL, NULL },
  { "+4401785123456789", NULL, NULL }, /* more than 12 digits after +440 */
  { "*123#", NULL, NULL },
  { "abc", NULL, NULL },
  { "9", NULL, NULL },
};

static void
test_dial_plan_normalize_seed (void)
{
  g_autoptr (SfbDialPlan) plan = load ("location-profile-seed.xml");

  for (guint i = 0; i < G_N_ELEMENTS (seed_cases); i++)
    {
      const Case *c = &seed_cases[i];
      g_autofree char *normalized = NULL;
      g_autofree char *pattern = NULL;
      gboolean internal = TRUE;
      g_autoptr (GError) error = NULL;
      gboolean ok;

      g_test_message ("%s -> %s", c->dialled, c->expected != NULL ? c->expected : "no match");
      ok = sfb_dial_plan_normalize (plan, c->dialled, &normalized, &pattern, &internal, &error);
      if (c->expected == NULL)
        {
          g_assert_false (ok);
          g_assert_error (error, SFB_ERROR, SFB_ERROR_NO_MATCHING_RULE);
          continue;
        }
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpstr (normalized, ==, c->expected);
      g_assert_cmpstr (pattern, ==, c->pattern);
      g_assert_false (internal);
    }
}

#define PROFILE(ns, rules, tail)                                                                   \
  "<LocationProfileDescription xmlns=\"" ns "\"><Name>P</Name>" rules tail                         \
  "</LocationProfileDescription>"
#define SPEC "http://schemas.microsoft.com/2007/03/LocationProfileDescription"
#define RULE(p, t, ie)                                                                             \
  "<Rule><Pattern>" p "</Pattern><Translation>" t "</Translation><InternalEnterpriseExtension>" ie \
  "</InternalEnterpriseExtension></Rule>"

static char *
normalize1 (const char *xml, const char *number, gboolean *internal, GError **error)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (SfbDialPlan) plan = parse_string (xml, &parse_error);
  g_autofree char *pattern = NULL;
  char *normalized = NULL;
  gboolean dummy;

  g_assert_no_error (parse_error);
  g_assert_nonnull (plan);
  if (!sfb_dial_plan_normalize (
          plan, number, &normalized, &pattern, internal != NULL ? internal : &dummy, error))
    return NULL;
  return normalized;
}

static void
test_dial_plan_namespaces (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbDialPlan) spec
      = parse_string (PROFILE (SPEC, RULE ("^1$", "+1", "false"), ""), NULL);
  g_autoptr (SfbDialPlan) none = parse_string (
      "<LocationProfileDescription><Name>N</Name></LocationProfileDescription>", NULL);
  g_autoptr (SfbDialPlan) other
      = parse_string (PROFILE ("urn:other", RULE ("^1$", "+1", "false"), ""), &error);

  g_assert_nonnull (spec);
  g_assert_cmpstr (sfb_dial_plan_get_name (spec), ==, "P");
  g_assert_cmpstr (sfb_dial_plan_get_external_access_prefix (spec), ==, "");
  g_assert_false (sfb_dial_plan_get_optimize_device_dialing (spec));
  g_assert_nonnull (none);
  g_assert_null (other);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
}

static void
test_dial_plan_first_full_match (void)
{
  /* the first rule matches a prefix only: not a full match, the second wins */
  const char *xml
      = PROFILE (SPEC, RULE ("^12", "A", "false") RULE ("^(\\d{4})$", "+9$1", "true"), "");
  gboolean internal = FALSE;
  g_autofree char *out = normalize1 (xml, "1234", &internal, NULL);
  /* alternation that needs backtracking to the longer branch to be whole */
  g_autofree char *alt = normalize1 (
      PROFILE (SPEC, RULE ("(\\d{3}|\\d{4})", "&lt;$1&gt;", "false"), ""), "1234", NULL, NULL);

  g_assert_cmpstr (out, ==, "+91234");
  g_assert_true (internal);
  g_assert_cmpstr (alt, ==, "<1234>");
}

static void
test_dial_plan_substitutions (void)
{
  static const struct
  {
    const char *pattern;
    const char *translation;
    const char *number;
    const char *expected;
  } cases[] = {
    { "^(\\d)(\\d)$", "$2$1", "12", "21" },
    { "^(\\d)(\\d)$", "${2}0${1}", "12", "201" },
    { "^(?&lt;a&gt;\\d)(?&lt;b&gt;\\d)$", "${b}${a}", "12", "21" },
    { "^(\\d)$", "$$1", "5", "$1" },
    { "^(\\d)$", "[$&amp;]", "5", "[5]" },
    { "^(\\d)$", "$_", "5", "5" },
    { "^(\\d)(\\d)$", "$+", "12", "2" },
    { "^(\\d)$", "$12", "5", "52" },  /* no group 12: group 1 then "2" */
    { "^(\\d)$", "$9x", "5", "$9x" }, /* no group 9: literal */
    { "^(\\d)$", "${zz}", "5", "${zz}" },
    { "^(1)?(\\d)$", "[$1]$2", "5", "[]5" }, /* unmatched group: empty */
    { "^(?i)a(\\d)$", "+$1", "A7", "+7" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *xml = g_strdup_printf (
          PROFILE (SPEC, "<Rule><Pattern>%s</Pattern><Translation>%s</Translation></Rule>", ""),
          cases[i].pattern,
          cases[i].translation);
      g_autoptr (GError) error = NULL;
      g_autofree char *out = normalize1 (xml, cases[i].number, NULL, &error);

      g_test_message ("%s / %s", cases[i].pattern, cases[i].translation);
      g_assert_no_error (error);
      g_assert_cmpstr (out, ==, cases[i].expected);
    }
}

static void
test_dial_plan_hostile_patterns (void)
{
  static const char *const refused[] = {
    "^(\\d+)+$",
    "^(a*)*$",
    "^((\\d+))+$",
    "^(\\d+){2,}$",
    "[0-9-[5]]",
    "(?<a-b>1)",
    "(*LIMIT_MATCH=99999999)1",
    "\\Q1",
    "(?x)1 # comment",
    "(",
    "[",
    "\\",
  };
  static const char *const accepted[] = {
    "^(\\d{6})$", "^(00)?([1-9])(\\d{5,})$",
    "^(\\d+)$",   "^(\\d{3}){2}$",
    "[0-9-]",     "(?<name>1)",
    "(?<=1)2",    "(?:12)+",
  };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *xml = NULL;
      g_autoptr (SfbDialPlan) plan = NULL;
      g_autofree char *escaped = g_markup_escape_text (refused[i], -1);
      g_autofree char *normalized = NULL;
      g_autofree char *pattern = NULL;
      gboolean internal;

      g_test_message ("refused: %s", refused[i]);
      xml = g_strdup_printf (
          PROFILE (SPEC, "<Rule><Pattern>%s</Pattern><Translation>X</Translation></Rule>", ""),
          escaped);
      plan = parse_string (xml, NULL);
      g_assert_nonnull (plan); /* the plan is kept; the rule never matches */
      g_assert_false (
          sfb_dial_plan_normalize (plan, "1", &normalized, &pattern, &internal, &error));
      g_assert_error (error, SFB_ERROR, SFB_ERROR_NO_MATCHING_RULE);
      g_clear_error (&error);
      g_assert_false (sfb_dial_plan_check_pattern (refused[i], &error));
    }
  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr (GError) error = NULL;

      g_test_message ("accepted: %s", accepted[i]);
      g_assert_true (sfb_dial_plan_check_pattern (accepted[i], &error));
      g_assert_no_error (error);
    }
}

static void
test_dial_plan_match_limit (void)
{
  /* exponential backtracking the up-front check does not see: the match
   * limit stops it and the next rule still applies */
  g_autofree char *ones = g_strnfill (40, '1');
  g_autofree char *number = g_strconcat (ones, "4", NULL);
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  const char *xml = PROFILE (
      SPEC, RULE ("^(1|1|11)*[23]$", "bad", "false") RULE ("^(\\d+)$", "ok", "false"), "");

  out = normalize1 (xml, number, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "ok");
}

static void
test_dial_plan_limits (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbDialPlan) plan = load ("location-profile-seed.xml");
  g_autofree char *long_number = g_strnfill (SFB_DIAL_PLAN_MAX_NUMBER + 1, '1');
  g_autofree char *n = NULL;
  g_autofree char *p = NULL;
  gboolean internal;
  GString *big = g_string_new ("<LocationProfileDescription><Name>N</Name>");
  g_autoptr (SfbDialPlan) too_many = NULL;

  g_assert_false (sfb_dial_plan_normalize (plan, long_number, &n, &p, &internal, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_assert_false (sfb_dial_plan_normalize (plan, "", &n, &p, &internal, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_assert_false (sfb_dial_plan_normalize (plan, "12\xc3\xa9", &n, &p, &internal, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  for (guint i = 0; i <= SFB_DIAL_PLAN_MAX_RULES; i++)
    g_string_append (big, "<Rule><Pattern>1</Pattern><Translation>1</Translation></Rule>");
  g_string_append (big, "</LocationProfileDescription>");
  too_many = sfb_dial_plan_parse (big->str, big->len, &error);
  g_assert_null (too_many);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
  g_string_free (big, TRUE);
  g_clear_error (&error);

  /* a DTD (entities to expand) and deep nesting are refused before any use */
  g_assert_null (parse_string ("<!DOCTYPE LocationProfileDescription [<!ENTITY n \"N\">]>"
                               "<LocationProfileDescription><Name>&n;</Name>"
                               "</LocationProfileDescription>",
                               &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
  g_assert_nonnull (strstr (error->message, "DTD"));
  g_clear_error (&error);
  g_assert_null (parse_string ("<LocationProfileDescription><Name>N</Name><a><a><a><a><a><a><a><a>"
                               "</a></a></a></a></a></a></a></a></LocationProfileDescription>",
                               &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
  g_assert_nonnull (strstr (error->message, "deeply"));
  g_clear_error (&error);

  g_assert_null (parse_string ("<x/>", &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
  g_clear_error (&error);
  g_assert_null (parse_string ("<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
                               "<LocationProfileDescription><Name>&e;</Name>"
                               "</LocationProfileDescription>",
                               &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
}

static guint refusals_logged;

static GLogWriterOutput
count_refusals (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length == -1
        && strstr (fields[i].value, "the rule never matches") != NULL)
      refusals_logged++;
  return G_LOG_WRITER_HANDLED;
}

/* Patterns are compiled when a rule is first tried, not when the profile
 * is read (the daemon's PCRE2 stays untouched until a number is dialled):
 * a refused one is logged then, and once. */
static void
test_dial_plan_compiled_when_tried (void)
{
  g_autoptr (SfbDialPlan) plan = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *pattern = NULL;
  gboolean internal;

  if (g_test_subprocess ())
    {
      g_log_set_writer_func (count_refusals, NULL, NULL);
      plan = parse_string (
          PROFILE (SPEC, RULE ("\\Q1", "X", "false") RULE ("^(\\d+)$", "+$1", "false"), ""), NULL);
      g_assert_nonnull (plan);
      g_assert_cmpuint (refusals_logged, ==, 0);
      g_assert_true (
          sfb_dial_plan_normalize (plan, "42", &normalized, &pattern, &internal, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (normalized, ==, "+42");
      g_assert_cmpuint (refusals_logged, ==, 1);
      g_clear_pointer (&normalized, g_free);
      g_clear_pointer (&pattern, g_free);
      g_assert_true (sfb_dial_plan_normalize (plan, "7", &normalized, &pattern, &internal, &error));
      g_assert_cmpuint (refusals_logged, ==, 1);
      return;
    }
  /* a subprocess: the writer is process-wide and set once */
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dial-plan/parse-seed", test_dial_plan_parse_seed);
  g_test_add_func ("/dial-plan/normalize-seed", test_dial_plan_normalize_seed);
  g_test_add_func ("/dial-plan/namespaces", test_dial_plan_namespaces);
  g_test_add_func ("/dial-plan/first-full-match", test_dial_plan_first_full_match);
  g_test_add_func ("/dial-plan/substitutions", test_dial_plan_substitutions);
  g_test_add_func ("/dial-plan/hostile-patterns", test_dial_plan_hostile_patterns);
  g_test_add_func ("/dial-plan/match-limit", test_dial_plan_match_limit);
  g_test_add_func ("/dial-plan/limits", test_dial_plan_limits);
  g_test_add_func ("/dial-plan/compiled-when-tried", test_dial_plan_compiled_when_tried);
  return g_test_run ();
}
