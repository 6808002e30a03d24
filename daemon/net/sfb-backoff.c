/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-backoff.h"

guint
sfb_backoff_delay_ms (guint attempt, guint base_ms, guint cap_ms, double jitter)
{
  guint64 nominal = base_ms;
  guint64 delay;

  if (attempt == 0)
    return 0;

  if (!(jitter >= 0.0)) /* also catches NaN */
    jitter = 0.0;
  if (jitter > 1.0)
    jitter = 1.0;

  /* base * 2^(attempt-1), saturating at the cap without overflowing */
  for (guint i = 1; i < attempt && nominal < cap_ms; i++)
    nominal *= 2;
  if (nominal > cap_ms)
    nominal = cap_ms;

  delay = nominal / 2 + (guint64) ((double) (nominal - nominal / 2) * jitter);
  return (guint) MIN (delay, (guint64) cap_ms);
}

void
sfb_backoff_init (SfbBackoff *self, guint base_ms, guint cap_ms)
{
  g_return_if_fail (self != NULL);

  self->base_ms = base_ms;
  self->cap_ms = MAX (cap_ms, base_ms);
  self->attempts = 0;
}

guint
sfb_backoff_next (SfbBackoff *self, GRand *rand)
{
  double jitter;
  guint delay;

  g_return_val_if_fail (self != NULL, 0);

  jitter = rand != NULL ? g_rand_double (rand) : g_random_double ();
  delay = sfb_backoff_delay_ms (self->attempts, self->base_ms, self->cap_ms, jitter);
  if (self->attempts < G_MAXUINT)
    self->attempts++;
  return delay;
}

void
sfb_backoff_reset (SfbBackoff *self)
{
  g_return_if_fail (self != NULL);

  self->attempts = 0;
}

guint
sfb_backoff_get_attempts (const SfbBackoff *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->attempts;
}
