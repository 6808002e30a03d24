/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the settings documents (provisioning provisionGroupList,
 * LocationProfileDescription) and Normalize with the hostile patterns they
 * carry.  The first byte picks the document; for a location profile the
 * numbers below are normalized with every rule it holds.
 */
#include "sfb-dial-plan.h"
#include "sfb-policies.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const numbers[] = {
  "123456",
  "01785123456",
  "0014255551234",
  "999",
  "+4401785123456",
  "9123456",
  "1111111111111111111111111111111111111111111111111111111111111114",
  "abc",
};

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  g_log_set_writer_func (g_log_writer_default, NULL, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  if (data[0] & 1)
    {
      g_autoptr (GVariant) policies = sfb_policies_parse ((const char *) data + 1, size - 1, NULL);

      if (policies != NULL)
        {
          g_autofree char *name
              = sfb_policies_dup_string (policies, "userSetting", "ucUserLocationProfile");
          g_autoptr (GVariant) merged = sfb_policies_merge (policies, policies);

          g_assert_true (name == NULL || g_utf8_validate (name, -1, NULL));
          g_assert_true (g_variant_is_of_type (merged, G_VARIANT_TYPE ("a{sa{sv}}")));
          g_assert_cmpuint (g_variant_n_children (merged), ==, g_variant_n_children (policies));
        }
    }
  else
    {
      g_autoptr (SfbDialPlan) plan = sfb_dial_plan_parse ((const char *) data + 1, size - 1, NULL);

      if (plan != NULL)
        {
          g_autoptr (GVariant) rules = g_variant_ref_sink (sfb_dial_plan_get_rules (plan));

          g_assert_cmpuint (g_variant_n_children (rules), ==, sfb_dial_plan_get_n_rules (plan));
          for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
            {
              g_autofree char *normalized = NULL;
              g_autofree char *pattern = NULL;
              gboolean internal;

              if (sfb_dial_plan_normalize (
                      plan, numbers[i], &normalized, &pattern, &internal, NULL))
                g_assert_true (normalized != NULL && pattern != NULL);
            }
        }
    }
  return 0;
}
