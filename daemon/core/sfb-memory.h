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

G_END_DECLS
