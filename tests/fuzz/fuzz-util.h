/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What several libFuzzer targets need around the code they exercise: quiet
 * logs that still abort on a warning, and a scratch directory for targets
 * that read and write files.
 */
#pragma once

#include <glib.h>

/* Logs go nowhere, but a warning or critical still aborts: both mean
 * the input reached a state the code says cannot happen. */
void sfb_fuzz_quiet_logs (void);

/* A new directory named after @name, in memory (/dev/shm) where there is
 * one, since every input is written there; removed with all it holds at
 * exit.  Aborts when it cannot be made.  Owned by this helper. */
const char *sfb_fuzz_scratch_dir (const char *name);
