/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The home pool file, <state_dir>/home-pool: the registrar that last let
 * this account register, tried first at the next sign-in (sfb-session.h).
 * Lines "<account URI>", "<host>:<port>" and, optionally, "<address>
 * <unix time>": the IP address the registrar was reached at and when, so a
 * new process dials it at once while it resolves the name beside it.  Each
 * line is checked on its own: a damaged address line loses only the
 * address.  Pure: no I/O, so the fuzz target reaches it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_HOME_POOL_FILE "home-pool"
/* an address older than this is not dialled before the name is resolved */
#define SFB_HOME_POOL_ADDRESS_MAX_AGE_S (30 * 24 * 3600)

/* @address: the IP address reached (NULL: no address line), learnt at
 * @learnt (unix seconds). */
char *sfb_home_pool_format (
    const char *uri, const char *host, guint16 port, const char *address, gint64 learnt);
/* TRUE with the host and port kept for @uri; FALSE when the file belongs
 * to another account or is damaged (a NUL, no port, a host that is not a
 * host name or IP address): then it is treated as absent. */
gboolean sfb_home_pool_parse (
    const char *contents, gsize length, const char *uri, char **host, guint16 *port);
/* TRUE with the remembered address of the home pool of @uri, when the file
 * has a valid one learnt within SFB_HOME_POOL_ADDRESS_MAX_AGE_S before @now
 * (unix seconds; not more than a day after it: a clock set back); else
 * FALSE and the address is not used. */
gboolean sfb_home_pool_parse_address (const char *contents,
                                      gsize length,
                                      const char *uri,
                                      gint64 now,
                                      char **address,
                                      gint64 *learnt);

G_END_DECLS
