/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node name of a default-device metadata value as json-glib reads it,
 * the way sfbd read it before it had a JSON reader of its own
 * (daemon/media/sfb-pw-parse.c): the reference of the unit test and the
 * fuzz target, never in the daemon.  For the tests only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* NULL when json-glib refuses @json or it holds no string "name" */
char *sfb_pw_json_oracle_default_name (const char *json);

G_END_DECLS
