/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbDialPlan: a location profile (docs/protocol.md §11.6, §17.14; MS-SIPRE
 * 2.2.8) and number normalization.
 *
 * Parsing: LocationProfileDescription in either namespace spelling
 * (".../2007/03/LocationProfileDescription" of MS-SIPRE or the seed's
 * ".../2007/03/locationProfileDescription") or none: Name, Rule (Pattern,
 * Translation, InternalEnterpriseExtension, ApplicableForDeviceDialing),
 * ExternalAccessPrefix, OptimizeDeviceDialing.  Limits: SFB_DIAL_PLAN_MAX_DOCUMENT
 * bytes, SFB_DIAL_PLAN_MAX_RULES rules, patterns and translations of at most
 * SFB_DIAL_PLAN_MAX_PATTERN bytes.  A rule whose pattern is refused (see
 * below) is kept (shown on D-Bus) but never matches; the refusal is logged
 * the first time the rule is tried: patterns are compiled then, not when
 * the profile is read, so PCRE2 stays untouched until a number is
 * normalized.
 *
 * Normalize (sfb_dial_plan_normalize):
 *  - The number may have visual separators (space, '-', '.', '(', ')'),
 *    which are removed; what is left must be at most SFB_DIAL_PLAN_MAX_NUMBER
 *    printable ASCII characters.
 *  - Rules are tried in document order (the server's priority); the first
 *    rule whose pattern matches the WHOLE number wins (the pattern is
 *    compiled as (?:PATTERN)\z and matched anchored), and its Translation
 *    is expanded with .NET substitution syntax.  No rule: NoMatchingRule.
 *  - ExternalAccessPrefix: when OptimizeDeviceDialing is true and the number
 *    starts with the prefix, the rules are tried on the rest first (the
 *    prefix is "ignored by the normalization rules", as Lync's dial plan
 *    documents it), then on the number as dialled.  With
 *    OptimizeDeviceDialing false the prefix plays no part.
 *
 * .NET regular expressions ([MC-RegEx]) on GRegex (PCRE2), the differences
 * handled:
 *  - \d, \w, \s: GRegex matches Unicode classes as .NET does by default
 *    (numbers are ASCII anyway).
 *  - Character-class subtraction [a-z-[aeiou]] and balancing groups
 *    (?<a-b>...) do not exist in PCRE: such patterns are refused.
 *  - RegexOptions other than inline ones do not travel in the profile;
 *    inline (?imnsx) work in both.
 *  - Named groups (?<n>..) and (?'n'..) work in both; \k<n> too.
 *  - Substitutions are expanded by sfbd itself, not by GRegex (whose
 *    syntax is \1): $n and ${n} (the longest number that names a group,
 *    else literal text, as .NET), ${name}, $$, $&, $`, $', $+, $_; a group
 *    that did not participate gives the empty string.
 * Match cost: patterns are compiled with (*LIMIT_MATCH=...)(*LIMIT_DEPTH=...),
 * so a pathological pattern fails that one match (logged, treated as no
 * match) instead of spinning; patterns with a quantified group that itself
 * holds an unbounded quantifier ((a+)+, (\d*)*) are refused up front.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_DIAL_PLAN_MAX_DOCUMENT (256 * 1024)
#define SFB_DIAL_PLAN_MAX_RULES 512
#define SFB_DIAL_PLAN_MAX_PATTERN 1024
#define SFB_DIAL_PLAN_MAX_NUMBER 64
#define SFB_DIAL_PLAN_MATCH_LIMIT 100000
#define SFB_DIAL_PLAN_DEPTH_LIMIT 1000

#define SFB_CT_LOCATION_PROFILE "application/ms-location-profile-definition+xml"

typedef struct _SfbDialPlan SfbDialPlan;

SfbDialPlan *sfb_dial_plan_parse (const char *data, gsize length, GError **error);
SfbDialPlan *sfb_dial_plan_ref (SfbDialPlan *plan);
void sfb_dial_plan_unref (SfbDialPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbDialPlan, sfb_dial_plan_unref)

const char *sfb_dial_plan_get_name (SfbDialPlan *plan);
const char *sfb_dial_plan_get_external_access_prefix (SfbDialPlan *plan); /* "" if none */
gboolean sfb_dial_plan_get_optimize_device_dialing (SfbDialPlan *plan);
/* aa{sv}: Pattern s, Translation s, InternalExtension b, and
 * ApplicableForDeviceDialing b when the profile says; floating */
GVariant *sfb_dial_plan_get_rules (SfbDialPlan *plan);
guint sfb_dial_plan_get_n_rules (SfbDialPlan *plan);
/* The document it was parsed from (for the cache). */
GBytes *sfb_dial_plan_get_document (SfbDialPlan *plan);

/* Fails with SFB_ERROR_NO_MATCHING_RULE, or SFB_ERROR_INVALID_ARGS for a
 * number that is empty, too long or not printable ASCII. */
gboolean sfb_dial_plan_normalize (SfbDialPlan *plan,
                                  const char *number,
                                  char **normalized,
                                  char **pattern,
                                  gboolean *internal_extension,
                                  GError **error);

/* For tests and the fuzz target: TRUE when sfbd accepts @pattern. */
gboolean sfb_dial_plan_check_pattern (const char *pattern, GError **error);
/* .NET substitution of @translation for a match of @regex on @subject. */
char *sfb_dial_plan_expand (GRegex *regex,
                            GMatchInfo *match,
                            const char *subject,
                            const char *translation);

G_END_DECLS
