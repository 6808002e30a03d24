/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the daemon's unit tests: a temporary root that stands
 * in for every directory sfbd would touch. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

extern char *sfb_test_root;

void sfb_test_isolate (void);
void sfb_test_cleanup (void);
char *sfb_test_make_dir (void);
void sfb_test_rm_rf (const char *path);

G_END_DECLS
