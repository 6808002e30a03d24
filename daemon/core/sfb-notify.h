/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service manager protocol (sd_notify): READY=1 once the bus name is
 * owned, STATUS= with the account state, WATCHDOG=1 from the main loop
 * when WatchdogSec= is set, STOPPING=1 at exit.  Every call does nothing
 * when sfbd was not started by systemd (no $NOTIFY_SOCKET).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void sfb_notify_ready (const char *status);
void sfb_notify_status (const char *status);
void sfb_notify_stopping (void);
guint sfb_notify_start_watchdog (void);
char *sfb_notify_format_status (const char *state,
                                const char *uri,
                                const char *server,
                                const char *last_error_message);

G_END_DECLS
