/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: dial plan rules and numbers (daemon/services/
 * sfb-dial-plan.h) — the patterns and translations a server sends, and
 * what the user dials.  The input is lines:
 *
 *   line 1   ExternalAccessPrefix (OptimizeDeviceDialing when not empty)
 *   line 2   the number to normalize
 *   then     Pattern and Translation lines, in pairs, one rule each
 *
 * The rules travel in a LocationProfileDescription, as from the server.
 * A number that normalizes names a rule that matched (whose pattern sfbd
 * accepts); one that does not says why with the documented errors.
 */
#include "fuzz-util.h"
#include "sfb-dial-plan.h"
#include "sfb-error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  sfb_fuzz_quiet_logs ();
  return 0;
}

static void
append_element (GString *doc, const char *name, const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  g_string_append_printf (doc, "<%s>%s</%s>", name, escaped, name);
}

static void
check_result (SfbDialPlan *plan, char **lines, guint n_lines, const char *number)
{
  g_autofree char *normalized = NULL;
  g_autofree char *pattern = NULL;
  g_autoptr (GError) error = NULL;
  gboolean internal = FALSE;
  gboolean found = FALSE;

  if (!sfb_dial_plan_normalize (plan, number, &normalized, &pattern, &internal, &error))
    {
      if (error == NULL
          || !(g_error_matches (error, SFB_ERROR, SFB_ERROR_NO_MATCHING_RULE)
               || g_error_matches (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS)))
        abort ();
      return;
    }
  if (error != NULL || normalized == NULL || pattern == NULL
      || !g_utf8_validate (normalized, -1, NULL))
    abort ();
  /* the pattern of a rule that is there and accepted: refused ones never match */
  for (guint i = 2; i < n_lines && !found; i += 2)
    {
      g_autofree char *stripped = g_strstrip (g_strdup (lines[i]));

      found = strcmp (stripped, pattern) == 0;
    }
  if (!found || !sfb_dial_plan_check_pattern (pattern, NULL))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) doc = NULL;
  g_autoptr (SfbDialPlan) plan = NULL;
  guint n_lines;

  /* XML turns CR into LF: keep the rule text comparable */
  if (size > 16384 || !g_utf8_validate (text, -1, NULL) || strchr (text, '\r') != NULL)
    return 0;
  lines = g_strsplit (text, "\n", 2 + 2 * 64);
  n_lines = g_strv_length (lines);
  if (n_lines < 2)
    return 0;

  doc = g_string_new ("<LocationProfileDescription "
                      "xmlns=\"http://schemas.microsoft.com/2007/03/LocationProfileDescription\">");
  append_element (doc, "Name", "fuzz");
  append_element (doc, "ExternalAccessPrefix", lines[0]);
  append_element (doc, "OptimizeDeviceDialing", *lines[0] != '\0' ? "true" : "false");
  for (guint i = 2; i < n_lines; i += 2)
    {
      g_string_append (doc, "<Rule>");
      append_element (doc, "Pattern", lines[i]);
      append_element (doc, "Translation", i + 1 < n_lines ? lines[i + 1] : "");
      append_element (doc, "InternalEnterpriseExtension", i % 4 == 0 ? "true" : "false");
      g_string_append (doc, "</Rule>");
    }
  g_string_append (doc, "</LocationProfileDescription>");

  plan = sfb_dial_plan_parse (doc->str, doc->len, NULL);
  if (plan == NULL)
    return 0;
  if (sfb_dial_plan_get_n_rules (plan) != (n_lines - 1) / 2)
    abort ();
  g_variant_unref (g_variant_ref_sink (sfb_dial_plan_get_rules (plan)));
  check_result (plan, lines, n_lines, lines[1]);
  return 0;
}
