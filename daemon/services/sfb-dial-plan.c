/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-dial-plan.h"

#include "sfb-error.h"
#include "sfb-log.h"
#include "sfb-xml.h"

#include <stdlib.h>
#include <string.h>

#define NS_SPEC "http://schemas.microsoft.com/2007/03/LocationProfileDescription"
#define NS_SEED "http://schemas.microsoft.com/2007/03/locationProfileDescription"
#define SEPARATORS " \t-.()"

typedef struct
{
  char *pattern;
  char *translation;
  gboolean internal_extension;
  int applicable_for_device_dialing; /* -1: not given */
  /* compiled when first tried (rule_regex()): PCRE2 stays untouched, its
   * pages unmapped, until a number is normalized (docs/benchmarks.md) */
  gboolean compiled;
  GRegex *regex; /* NULL: refused, or not compiled yet */
} Rule;

struct _SfbDialPlan
{
  gatomicrefcount ref_count;
  char *name;
  char *external_access_prefix;
  gboolean optimize_device_dialing;
  GPtrArray *rules; /* of Rule */
  GBytes *document;
};

static void
rule_free (Rule *rule)
{
  g_free (rule->pattern);
  g_free (rule->translation);
  g_clear_pointer (&rule->regex, g_regex_unref);
  g_free (rule);
}

SfbDialPlan *
sfb_dial_plan_ref (SfbDialPlan *plan)
{
  g_atomic_ref_count_inc (&plan->ref_count);
  return plan;
}

void
sfb_dial_plan_unref (SfbDialPlan *plan)
{
  if (plan == NULL || !g_atomic_ref_count_dec (&plan->ref_count))
    return;
  g_free (plan->name);
  g_free (plan->external_access_prefix);
  g_ptr_array_unref (plan->rules);
  g_bytes_unref (plan->document);
  g_free (plan);
}

/* ---- patterns -------------------------------------------------------- */

/* Length of the quantifier at @p (0: none); *unbounded for *, + and {n,} */
static gsize
quantifier (const char *p, gboolean *unbounded)
{
  gsize n = 0;

  *unbounded = FALSE;
  if (p[0] == '*' || p[0] == '+')
    {
      *unbounded = TRUE;
      n = 1;
    }
  else if (p[0] == '?')
    {
      n = 1;
    }
  else if (p[0] == '{' && g_ascii_isdigit (p[1]))
    {
      gsize i = 1;

      while (g_ascii_isdigit (p[i]))
        i++;
      if (p[i] == ',')
        {
          i++;
          if (p[i] == '}')
            *unbounded = TRUE;
          while (g_ascii_isdigit (p[i]))
            i++;
        }
      if (p[i] != '}')
        {
          *unbounded = FALSE;
          return 0; /* a literal '{' */
        }
      n = i + 1;
    }
  if (n > 0 && (p[n] == '?' || p[n] == '+'))
    n++; /* lazy or possessive */
  return n;
}

static gboolean
refuse (GError **error, const char *pattern, const char *why)
{
  g_set_error (
      error, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "Dial plan pattern “%s” refused: %s", pattern, why);
  return FALSE;
}

/* What scan_pattern knows at the current position */
typedef struct
{
  const char *pattern;
  gboolean stack[64]; /* per open group: it holds an unbounded repeat */
  guint depth;
  gboolean top;
  gboolean in_class;
} Scan;

/* The innermost open group (or the top level) holds an unbounded repeat */
static void
mark_unbounded (Scan *s)
{
  if (s->depth > 0)
    s->stack[s->depth - 1] = TRUE;
  else
    s->top = TRUE;
}

static gboolean
scan_escape (Scan *s, gsize *i, GError **error)
{
  const char *pattern = s->pattern;
  gboolean unbounded;
  gsize q;

  if (pattern[*i + 1] == 'Q')
    return refuse (error, pattern, "\\Q quoting is not supported");
  *i += pattern[*i + 1] != '\0' ? 2 : 1;
  if (!s->in_class && (q = quantifier (pattern + *i, &unbounded)) > 0)
    {
      if (unbounded)
        mark_unbounded (s);
      *i += q;
    }
  return TRUE;
}

static gboolean
scan_in_class (Scan *s, gsize *i, GError **error)
{
  const char *pattern = s->pattern;
  char c = pattern[*i];

  if (c == '[' && *i > 0 && pattern[*i - 1] == '-')
    return refuse (error, pattern, ".NET character class subtraction has no PCRE form");
  if (c == ']')
    s->in_class = FALSE;
  (*i)++;
  return TRUE;
}

static void
scan_class_open (Scan *s, gsize *i)
{
  const char *pattern = s->pattern;

  s->in_class = TRUE;
  (*i)++;
  if (pattern[*i] == '^')
    (*i)++;
  if (pattern[*i] == ']')
    (*i)++;
}

/* The "(?" group syntax at @j: refuse what .NET and PCRE read differently */
static gboolean
scan_group_syntax (const char *pattern, gsize j, GError **error)
{
  if ((pattern[j] == '<' && pattern[j + 1] != '=' && pattern[j + 1] != '!') || pattern[j] == '\'')
    {
      char close = pattern[j] == '<' ? '>' : '\'';

      for (j++; pattern[j] != '\0' && pattern[j] != close; j++)
        if (pattern[j] == '-')
          return refuse (error, pattern, ".NET balancing groups have no PCRE form");
    }
  else
    {
      for (; g_ascii_isalpha (pattern[j]) || pattern[j] == '-'; j++)
        if (pattern[j] == 'x')
          return refuse (error, pattern, "the x (extended) option is not supported");
    }
  return TRUE;
}

static gboolean
scan_group_open (Scan *s, gsize *i, GError **error)
{
  const char *pattern = s->pattern;

  if (pattern[*i + 1] == '*')
    return refuse (error, pattern, "PCRE verbs are not .NET syntax");
  if (pattern[*i + 1] == '?' && !scan_group_syntax (pattern, *i + 2, error))
    return FALSE;
  if (s->depth == G_N_ELEMENTS (s->stack))
    return refuse (error, pattern, "groups nested too deep");
  s->stack[s->depth++] = FALSE;
  (*i)++;
  return TRUE;
}

static gboolean
scan_group_close (Scan *s, gsize *i, GError **error)
{
  gboolean inner = s->depth > 0 ? s->stack[--s->depth] : FALSE;
  gboolean unbounded;
  gsize q;

  (*i)++;
  q = quantifier (s->pattern + *i, &unbounded);
  if (q > 0 && unbounded && inner)
    return refuse (error,
                   s->pattern,
                   "a repeated group holds an unbounded repeat (catastrophic backtracking)");
  *i += q;
  if (inner || (q > 0 && unbounded))
    mark_unbounded (s);
  return TRUE;
}

static void
scan_other (Scan *s, gsize *i)
{
  gboolean unbounded;
  gsize q = quantifier (s->pattern + *i, &unbounded);

  if (q > 0)
    {
      if (unbounded)
        mark_unbounded (s);
      *i += q;
      return;
    }
  (*i)++;
}

static gboolean
scan_pattern (const char *pattern, GError **error)
{
  gsize len = strlen (pattern);
  Scan s = { .pattern = pattern };

  if (len == 0 || len > SFB_DIAL_PLAN_MAX_PATTERN)
    return refuse (error, "", "empty or too long");
  if (!g_utf8_validate (pattern, (gssize) len, NULL))
    return refuse (error, "", "not UTF-8");
  for (gsize i = 0; i < len;)
    {
      char c = pattern[i];
      gboolean ok = TRUE;

      if (c == '\\')
        ok = scan_escape (&s, &i, error);
      else if (s.in_class)
        ok = scan_in_class (&s, &i, error);
      else if (c == '[')
        scan_class_open (&s, &i);
      else if (c == '(')
        ok = scan_group_open (&s, &i, error);
      else if (c == ')')
        ok = scan_group_close (&s, &i, error);
      else
        scan_other (&s, &i);
      if (!ok)
        return FALSE;
    }
  (void) s.top;
  return TRUE;
}

static GRegex *
compile_pattern (const char *pattern, GError **error)
{
  g_autofree char *full = NULL;
  g_autoptr (GError) local = NULL;
  GRegex *regex;

  if (!scan_pattern (pattern, error))
    return NULL;
  full = g_strdup_printf ("(*LIMIT_MATCH=%u)(*LIMIT_DEPTH=%u)(?:%s)\\z",
                          SFB_DIAL_PLAN_MATCH_LIMIT,
                          SFB_DIAL_PLAN_DEPTH_LIMIT,
                          pattern);
  regex = g_regex_new (full, G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT, &local);
  if (regex == NULL)
    {
      refuse (error, pattern, local->message);
      return NULL;
    }
  return regex;
}

gboolean
sfb_dial_plan_check_pattern (const char *pattern, GError **error)
{
  GRegex *regex = compile_pattern (pattern, error);

  if (regex == NULL)
    return FALSE;
  g_regex_unref (regex);
  return TRUE;
}

/* ---- parsing --------------------------------------------------------- */

static gboolean
is_element (SfbXmlNode *node, const char *name)
{
  return node->type == SFB_XML_NODE_ELEMENT && strcmp ((const char *) node->name, name) == 0;
}

static char *
child_text (SfbXmlNode *parent, const char *name)
{
  for (SfbXmlNode *c = parent->children; c != NULL; c = c->next)
    if (is_element (c, name))
      {
        return g_strstrip (sfb_xml_node_text (c));
      }
  return NULL;
}

static int
child_bool (SfbXmlNode *parent, const char *name)
{
  g_autofree char *text = child_text (parent, name);

  if (text == NULL)
    return -1;
  return g_ascii_strcasecmp (text, "true") == 0 || g_strcmp0 (text, "1") == 0;
}

static gboolean
bad_document (GError **error, const char *why)
{
  g_set_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED, "The location profile %s", why);
  return FALSE;
}

/* The document's root element, refused unless a LocationProfileDescription */
static SfbXmlNode *
read_profile (const char *data, gsize length, SfbXmlDoc **doc_out, GError **error)
{
  /* LocationProfileDescription > Rule > Pattern is three levels: 8 leaves room */
  static const SfbXmlLimits limits = {
    .max_document = SFB_DIAL_PLAN_MAX_DOCUMENT,
    .max_depth = 8,
  };
  SfbXmlVerdict verdict;
  SfbXmlDoc *doc;
  SfbXmlNode *root;
  const char *ns;

  if (length > SFB_DIAL_PLAN_MAX_DOCUMENT)
    {
      bad_document (error, "is too large");
      return NULL;
    }
  /* a server document like any other: no DTD, no network, bounded depth */
  doc = *doc_out = sfb_xml_read (data, length, &limits, &verdict);
  if (verdict == SFB_XML_DTD)
    {
      bad_document (error, "contains a DTD, which is not accepted");
      return NULL;
    }
  if (verdict == SFB_XML_TOO_DEEP || verdict == SFB_XML_TOO_MANY_ELEMENTS)
    {
      bad_document (error, "is nested too deeply");
      return NULL;
    }
  root = doc != NULL ? sfb_xml_doc_root (doc) : NULL;
  if (root == NULL || !is_element (root, "LocationProfileDescription"))
    {
      bad_document (error, "is not a LocationProfileDescription");
      return NULL;
    }
  ns = root->ns_uri != NULL ? root->ns_uri : "";
  if (*ns != '\0' && strcmp (ns, NS_SPEC) != 0 && strcmp (ns, NS_SEED) != 0)
    {
      bad_document (error, "has an unknown namespace");
      return NULL;
    }
  return root;
}

/* Name, ExternalAccessPrefix and OptimizeDeviceDialing */
static gboolean
parse_profile_fields (SfbDialPlan *plan, SfbXmlNode *root, GError **error)
{
  plan->name = child_text (root, "Name");
  if (plan->name == NULL || *plan->name == '\0' || strlen (plan->name) > SFB_DIAL_PLAN_MAX_PATTERN
      || !g_utf8_validate (plan->name, -1, NULL))
    return bad_document (error, "has no usable Name");
  plan->external_access_prefix = child_text (root, "ExternalAccessPrefix");
  if (plan->external_access_prefix == NULL)
    plan->external_access_prefix = g_strdup ("");
  if (strlen (plan->external_access_prefix) > SFB_DIAL_PLAN_MAX_NUMBER
      || !g_utf8_validate (plan->external_access_prefix, -1, NULL))
    return bad_document (error, "has an unusable ExternalAccessPrefix");
  plan->optimize_device_dialing = child_bool (root, "OptimizeDeviceDialing") == 1;
  return TRUE;
}

/* One Rule element; its pattern is compiled when first tried */
static gboolean
parse_rule (SfbDialPlan *plan, SfbXmlNode *r, GError **error)
{
  Rule *rule;

  rule = g_new0 (Rule, 1);
  g_ptr_array_add (plan->rules, rule);
  rule->pattern = child_text (r, "Pattern");
  rule->translation = child_text (r, "Translation");
  if (rule->pattern == NULL)
    rule->pattern = g_strdup ("");
  if (rule->translation == NULL)
    rule->translation = g_strdup ("");
  if (strlen (rule->pattern) > SFB_DIAL_PLAN_MAX_PATTERN
      || strlen (rule->translation) > SFB_DIAL_PLAN_MAX_PATTERN
      || !g_utf8_validate (rule->pattern, -1, NULL)
      || !g_utf8_validate (rule->translation, -1, NULL))
    return bad_document (error, "has a rule that is too long or not UTF-8");
  rule->internal_extension = child_bool (r, "InternalEnterpriseExtension") == 1;
  rule->applicable_for_device_dialing = child_bool (r, "ApplicableForDeviceDialing");
  return TRUE;
}

SfbDialPlan *
sfb_dial_plan_parse (const char *data, gsize length, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = NULL;
  g_autoptr (SfbDialPlan) plan = NULL;
  SfbXmlNode *root;
  guint n_rules = 0;

  root = read_profile (data, length, &doc, error);
  if (root == NULL)
    return NULL;

  plan = g_new0 (SfbDialPlan, 1);
  g_atomic_ref_count_init (&plan->ref_count);
  plan->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) rule_free);
  plan->document = g_bytes_new (data, length);
  if (!parse_profile_fields (plan, root, error))
    return NULL;

  for (SfbXmlNode *r = root->children; r != NULL; r = r->next)
    {
      if (!is_element (r, "Rule"))
        continue;
      if (++n_rules > SFB_DIAL_PLAN_MAX_RULES)
        {
          bad_document (error, "has too many rules");
          return NULL;
        }
      if (!parse_rule (plan, r, error))
        return NULL;
    }
  return g_steal_pointer (&plan);
}

const char *
sfb_dial_plan_get_name (SfbDialPlan *plan)
{
  return plan->name;
}

const char *
sfb_dial_plan_get_external_access_prefix (SfbDialPlan *plan)
{
  return plan->external_access_prefix;
}

gboolean
sfb_dial_plan_get_optimize_device_dialing (SfbDialPlan *plan)
{
  return plan->optimize_device_dialing;
}

guint
sfb_dial_plan_get_n_rules (SfbDialPlan *plan)
{
  return plan->rules->len;
}

GBytes *
sfb_dial_plan_get_document (SfbDialPlan *plan)
{
  return plan->document;
}

GVariant *
sfb_dial_plan_get_rules (SfbDialPlan *plan)
{
  GVariantBuilder rules;

  g_variant_builder_init (&rules, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < plan->rules->len; i++)
    {
      Rule *rule = g_ptr_array_index (plan->rules, i);
      GVariantBuilder dict;

      g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&dict, "{sv}", "Pattern", g_variant_new_string (rule->pattern));
      g_variant_builder_add (
          &dict, "{sv}", "Translation", g_variant_new_string (rule->translation));
      g_variant_builder_add (
          &dict, "{sv}", "InternalExtension", g_variant_new_boolean (rule->internal_extension));
      if (rule->applicable_for_device_dialing >= 0)
        g_variant_builder_add (&dict,
                               "{sv}",
                               "ApplicableForDeviceDialing",
                               g_variant_new_boolean (rule->applicable_for_device_dialing));
      g_variant_builder_add_value (&rules, g_variant_builder_end (&dict));
    }
  return g_variant_builder_end (&rules);
}

/* ---- normalization --------------------------------------------------- */

static void
append_group (GString *out, GMatchInfo *match, const char *subject, int group)
{
  int start = -1;
  int end = -1;

  if (group >= 0 && g_match_info_fetch_pos (match, group, &start, &end) && start >= 0)
    g_string_append_len (out, subject + start, end - start);
}

/* "${name}" or "${number}" at @p; FALSE when it names no group */
static gboolean
expand_braced (GString *out,
               GRegex *regex,
               GMatchInfo *match,
               const char *subject,
               int n_groups,
               const char **p)
{
  const char *close = strchr (*p + 2, '}');
  g_autofree char *name = close != NULL ? g_strndup (*p + 2, close - *p - 2) : NULL;
  guint64 number = 0;
  int group = -1;

  if (name != NULL && *name != '\0'
      && g_ascii_string_to_unsigned (name, 10, 0, G_MAXINT, &number, NULL))
    group = number <= (guint64) n_groups ? (int) number : -1;
  else if (name != NULL && *name != '\0')
    group = g_regex_get_string_number (regex, name);
  if (group < 0)
    return FALSE;
  append_group (out, match, subject, group);
  *p = close + 1;
  return TRUE;
}

/* "$" and digits at @p; FALSE when no run of them names a group */
static gboolean
expand_numbered (GString *out, GMatchInfo *match, const char *subject, int n_groups, const char **p)
{
  /* the longest run of digits that names a group */
  gsize digits = 1;
  gboolean done = FALSE;

  while (g_ascii_isdigit ((*p)[1 + digits]) && digits < 9)
    digits++;
  for (; digits > 0 && !done; digits--)
    {
      g_autofree char *text = g_strndup (*p + 1, digits);
      int group = atoi (text);

      if (group <= n_groups)
        {
          append_group (out, match, subject, group);
          *p += 1 + digits;
          done = TRUE;
        }
    }
  return done;
}

/* The one-character substitutions "$$", "$&", "$`", "$'", "$_" and "$+" */
static gboolean
expand_special (GString *out,
                GMatchInfo *match,
                const char *subject,
                int n_groups,
                int whole_start,
                int whole_end,
                char which)
{
  switch (which)
    {
    case '$':
      g_string_append_c (out, '$');
      return TRUE;
    case '&':
      append_group (out, match, subject, 0);
      return TRUE;
    case '`':
      g_string_append_len (out, subject, whole_start);
      return TRUE;
    case '\'':
      g_string_append (out, subject + whole_end);
      return TRUE;
    case '_':
      g_string_append (out, subject);
      return TRUE;
    case '+':
      append_group (out, match, subject, n_groups);
      return TRUE;
    default:
      return FALSE;
    }
}

char *
sfb_dial_plan_expand (GRegex *regex,
                      GMatchInfo *match,
                      const char *subject,
                      const char *translation)
{
  GString *out = g_string_new (NULL);
  int n_groups = g_regex_get_capture_count (regex);
  int whole_start = 0;
  int whole_end = 0;

  g_match_info_fetch_pos (match, 0, &whole_start, &whole_end);
  for (const char *p = translation; *p != '\0';)
    {
      if (*p != '$')
        {
          g_string_append_c (out, *p++);
          continue;
        }
      if (expand_special (out, match, subject, n_groups, whole_start, whole_end, p[1]))
        {
          p += 2;
          continue;
        }
      if (p[1] == '{')
        {
          if (!expand_braced (out, regex, match, subject, n_groups, &p))
            g_string_append_c (out, *p++); /* literal, as .NET */
          continue;
        }
      if (g_ascii_isdigit (p[1]) && expand_numbered (out, match, subject, n_groups, &p))
        continue;
      g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

/* The rule's pattern compiled, NULL when refused: a pattern that does not
 * compile only never matches, logged the first time it is tried. */
static GRegex *
rule_regex (Rule *rule)
{
  g_autoptr (GError) refused = NULL;

  if (rule->compiled)
    return rule->regex;
  rule->compiled = TRUE;
  rule->regex = compile_pattern (rule->pattern, &refused);
  if (rule->regex == NULL)
    g_message ("%s; the rule never matches", refused->message);
  return rule->regex;
}

static gboolean
try_rules (SfbDialPlan *plan,
           const char *number,
           char **normalized,
           char **pattern,
           gboolean *internal_extension)
{
  for (guint i = 0; i < plan->rules->len; i++)
    {
      Rule *rule = g_ptr_array_index (plan->rules, i);
      GRegex *regex = rule_regex (rule);
      g_autoptr (GMatchInfo) match = NULL;
      g_autoptr (GError) error = NULL;

      if (regex == NULL)
        continue;
      if (!g_regex_match_full (regex, number, -1, 0, G_REGEX_MATCH_ANCHORED, &match, &error))
        {
          if (error != NULL)
            g_message (
                "Dial plan pattern “%s” gave up on a number: %s", rule->pattern, error->message);
          continue;
        }
      *normalized = sfb_dial_plan_expand (regex, match, number, rule->translation);
      *pattern = g_strdup (rule->pattern);
      *internal_extension = rule->internal_extension;
      return TRUE;
    }
  return FALSE;
}

gboolean
sfb_dial_plan_normalize (SfbDialPlan *plan,
                         const char *number,
                         char **normalized,
                         char **pattern,
                         gboolean *internal_extension,
                         GError **error)
{
  g_autoptr (GString) digits = g_string_new (NULL);
  const char *eap = plan->external_access_prefix;

  g_return_val_if_fail (plan != NULL, FALSE);
  g_return_val_if_fail (number != NULL, FALSE);

  for (const char *p = number; *p != '\0'; p++)
    {
      if (strchr (SEPARATORS, *p) != NULL)
        continue;
      if (*p < 0x21 || *p > 0x7e || digits->len >= SFB_DIAL_PLAN_MAX_NUMBER)
        {
          g_set_error (error,
                       SFB_ERROR,
                       SFB_ERROR_INVALID_ARGS,
                       "Not a phone number: use at most %u digits, '+', '*', '#' or letters",
                       SFB_DIAL_PLAN_MAX_NUMBER);
          return FALSE;
        }
      g_string_append_c (digits, *p);
    }
  if (digits->len == 0)
    {
      g_set_error_literal (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS, "The number is empty");
      return FALSE;
    }
  if (plan->optimize_device_dialing && *eap != '\0' && g_str_has_prefix (digits->str, eap)
      && digits->len > strlen (eap)
      && try_rules (plan, digits->str + strlen (eap), normalized, pattern, internal_extension))
    return TRUE;
  if (try_rules (plan, digits->str, normalized, pattern, internal_extension))
    return TRUE;
  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_NO_MATCHING_RULE,
               "No rule of dial plan %s matches %s",
               plan->name,
               digits->str);
  return FALSE;
}
