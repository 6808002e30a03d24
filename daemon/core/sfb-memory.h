/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Giving freed heap back to the system.  Sign-in and the first answers
 * (TLS handshakes, the contact list, a presence burst, big D-Bus replies)
 * allocate much that is freed right after, in pages malloc keeps.  Each
 * such burst asks for a trim; one malloc_trim() runs once no burst asked
 * for SFB_MEMORY_TRIM_DELAY_S: a one-shot wake-up, never a periodic one.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_MEMORY_TRIM_DELAY_S 5

/* Main thread only.  Cheap: moves the one pending trim later. */
void sfb_memory_trim_soon (void);

/* The same for a small burst: a trim already pending is not moved later
 * (one that gives back much, such as after signing in, is not put off by
 * the small ones that follow it). */
void sfb_memory_trim_eventually (void);

/* glibc gives threads malloc arenas of their own (up to 8 per core), and
 * an arena keeps its pages once touched: a sign-in by discovery (7 DNS
 * look-ups and the HTTPS handshakes at once, each in a worker thread)
 * left 7 more, ~250 kB dirty for good.  sfbd works in its main thread;
 * the worker threads' allocations are few and short, so every thread
 * uses the one arena.  Call first in main(), before any thread exists.
 * MALLOC_ARENA_MAX or glibc.malloc.arena_max in GLIBC_TUNABLES, when set,
 * decide instead. */
#define SFB_MEMORY_ARENA_MAX 1

void sfb_memory_share_arenas (void);

G_END_DECLS
