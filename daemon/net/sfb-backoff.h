/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reconnect backoff (docs/architecture.md §9): the first retry at once, then
 * exponential growth from a base delay up to a cap, with jitter so that many
 * clients that lost the same server do not come back in step.  No timers
 * here: the caller schedules the delay it is given.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_BACKOFF_DEFAULT_BASE_MS 2000  /* second retry after 1-2 s */
#define SFB_BACKOFF_DEFAULT_CAP_MS 300000 /* never more than 5 minutes */

/* Pure: the delay before retry number @attempt (0 = the first retry, which is
 * always 0 ms).  For attempt n >= 1 the nominal delay is base * 2^(n-1),
 * capped at @cap_ms; the result lies in [nominal/2, nominal], placed by
 * @jitter in [0, 1] ("equal jitter").  Never exceeds @cap_ms. */
guint sfb_backoff_delay_ms (guint attempt, guint base_ms, guint cap_ms, double jitter);

typedef struct
{
  guint base_ms;
  guint cap_ms;
  guint attempts; /* retries handed out since the last reset */
} SfbBackoff;

void sfb_backoff_init (SfbBackoff *self, guint base_ms, guint cap_ms);
/* The delay for the next retry (random jitter from @rand, or g_random_double()
 * when NULL); counts the attempt. */
guint sfb_backoff_next (SfbBackoff *self, GRand *rand);
/* After a success: the next failure retries at once again. */
void sfb_backoff_reset (SfbBackoff *self);
guint sfb_backoff_get_attempts (const SfbBackoff *self);

G_END_DECLS
