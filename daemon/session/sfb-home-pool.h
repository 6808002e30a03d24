/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The home pool file, <state_dir>/home-pool: the registrar that last let
 * this account register, tried first at the next sign-in (sfb-session.h).
 * Two lines, "<account URI>" and "<host>:<port>".  Pure: no I/O, so the
 * fuzz target reaches it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_HOME_POOL_FILE "home-pool"

char *sfb_home_pool_format (const char *uri, const char *host, guint16 port);
/* TRUE with the host and port kept for @uri; FALSE when the file belongs
 * to another account or is damaged (a NUL, no port, a host that is not a
 * host name or IP address): then it is treated as absent. */
gboolean sfb_home_pool_parse (
    const char *contents, gsize length, const char *uri, char **host, guint16 *port);

G_END_DECLS
