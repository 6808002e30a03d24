/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-backoff.h"

static void
test_backoff_first_retry_at_once (void)
{
  SfbBackoff b;

  /* Whatever the jitter, a lost connection is retried at once first. */
  g_assert_cmpuint (sfb_backoff_delay_ms (0, 2000, 300000, 0.0), ==, 0);
  g_assert_cmpuint (sfb_backoff_delay_ms (0, 2000, 300000, 1.0), ==, 0);

  sfb_backoff_init (&b, 2000, 300000);
  g_assert_cmpuint (sfb_backoff_next (&b, NULL), ==, 0);
  g_assert_cmpuint (sfb_backoff_get_attempts (&b), ==, 1);
}

static void
test_backoff_growth (void)
{
  /* jitter 1.0 gives the nominal delay: base * 2^(n-1) */
  g_assert_cmpuint (sfb_backoff_delay_ms (1, 2000, 300000, 1.0), ==, 2000);
  g_assert_cmpuint (sfb_backoff_delay_ms (2, 2000, 300000, 1.0), ==, 4000);
  g_assert_cmpuint (sfb_backoff_delay_ms (3, 2000, 300000, 1.0), ==, 8000);
  g_assert_cmpuint (sfb_backoff_delay_ms (8, 2000, 300000, 1.0), ==, 256000);
  /* jitter 0.0 gives half of it */
  g_assert_cmpuint (sfb_backoff_delay_ms (1, 2000, 300000, 0.0), ==, 1000);
  g_assert_cmpuint (sfb_backoff_delay_ms (3, 2000, 300000, 0.0), ==, 4000);
  g_assert_cmpuint (sfb_backoff_delay_ms (3, 2000, 300000, 0.5), ==, 6000);
}

static void
test_backoff_cap (void)
{
  /* Capped from attempt 9 on (2 s * 256 = 512 s > 300 s), and never overflows. */
  g_assert_cmpuint (sfb_backoff_delay_ms (9, 2000, 300000, 1.0), ==, 300000);
  g_assert_cmpuint (sfb_backoff_delay_ms (64, 2000, 300000, 1.0), ==, 300000);
  g_assert_cmpuint (sfb_backoff_delay_ms (G_MAXUINT, 2000, 300000, 1.0), ==, 300000);
  g_assert_cmpuint (sfb_backoff_delay_ms (G_MAXUINT, 2000, 300000, 0.0), ==, 150000);
  g_assert_cmpuint (sfb_backoff_delay_ms (40, G_MAXUINT, G_MAXUINT, 1.0), ==, G_MAXUINT);
  /* Out-of-range jitter is clamped. */
  g_assert_cmpuint (sfb_backoff_delay_ms (2, 2000, 300000, 7.0), ==, 4000);
  g_assert_cmpuint (sfb_backoff_delay_ms (2, 2000, 300000, -3.0), ==, 2000);
}

static void
test_backoff_sequence (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  SfbBackoff b;
  guint previous_nominal = 0;
  gboolean differ = FALSE;
  guint first_delay = 0;

  sfb_backoff_init (&b, SFB_BACKOFF_DEFAULT_BASE_MS, SFB_BACKOFF_DEFAULT_CAP_MS);
  g_assert_cmpuint (sfb_backoff_next (&b, rand), ==, 0);
  for (guint n = 1; n < 30; n++)
    {
      guint nominal = MIN ((guint64) SFB_BACKOFF_DEFAULT_BASE_MS << MIN (n - 1, 20),
                           SFB_BACKOFF_DEFAULT_CAP_MS);
      guint delay = sfb_backoff_next (&b, rand);

      g_assert_cmpuint (delay, >=, nominal / 2);
      g_assert_cmpuint (delay, <=, nominal);
      g_assert_cmpuint (delay, <=, SFB_BACKOFF_DEFAULT_CAP_MS);
      g_assert_cmpuint (nominal, >=, previous_nominal);
      previous_nominal = nominal;
    }
  g_assert_cmpuint (sfb_backoff_get_attempts (&b), ==, 30);

  /* After a success the next failure retries at once again. */
  sfb_backoff_reset (&b);
  g_assert_cmpuint (sfb_backoff_get_attempts (&b), ==, 0);
  g_assert_cmpuint (sfb_backoff_next (&b, rand), ==, 0);

  /* Jitter spreads clients: the second retry is not always the same. */
  for (guint i = 0; i < 20; i++)
    {
      guint d;

      sfb_backoff_reset (&b);
      sfb_backoff_next (&b, rand);
      d = sfb_backoff_next (&b, rand);
      if (i == 0)
        first_delay = d;
      else if (d != first_delay)
        differ = TRUE;
    }
  g_assert_true (differ);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/net/backoff/first-retry-at-once", test_backoff_first_retry_at_once);
  g_test_add_func ("/net/backoff/growth", test_backoff_growth);
  g_test_add_func ("/net/backoff/cap", test_backoff_cap);
  g_test_add_func ("/net/backoff/sequence", test_backoff_sequence);

  return g_test_run ();
}
