/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One-shot deadlines sharing one main-loop source.  GLib looks at every
 * source attached to the main context on every turn of the loop (prepare
 * and check); signed in, sfbd holds several timers hours or minutes away
 * (registration and subscription refreshes, a security association's end)
 * that cost a look each turn.  As deadlines they are one source whose
 * ready time is the earliest of them; with none set there is no source.
 *
 * Main thread only (the default main context, as g_timeout_add()).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*SfbDeadlineFunc) (gpointer user_data);

/* Embedded in its owner, zero-initialised; cleared (sfb_deadline_clear())
 * before its owner goes. */
typedef struct
{
  gint64 at; /* monotonic time in µs; 0: not set */
  SfbDeadlineFunc func;
  gpointer user_data;
} SfbDeadline;

/* Sets (or moves) @deadline to @ms milliseconds from now.  @func runs once,
 * the deadline cleared before it (it may set it again). */
void
sfb_deadline_set_ms (SfbDeadline *deadline, guint ms, SfbDeadlineFunc func, gpointer user_data);

/* The same in seconds, rounded up to a whole second of the monotonic clock
 * (as g_timeout_add_seconds(): deadlines in seconds due together wake the
 * process once). */
void sfb_deadline_set_seconds (SfbDeadline *deadline,
                               guint seconds,
                               SfbDeadlineFunc func,
                               gpointer user_data);

void sfb_deadline_clear (SfbDeadline *deadline);

static inline gboolean
sfb_deadline_is_set (const SfbDeadline *deadline)
{
  return deadline->at != 0;
}

G_END_DECLS
