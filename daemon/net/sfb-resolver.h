/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The process's default GResolver: GLib's own, except that a lookup asked
 * with a cancellable already cancelled is answered "cancelled" at once,
 * without starting GLib's worker thread.
 *
 * Why: GLib 2.74's threaded resolver runs each lookup with
 * g_task_run_in_thread() and return-on-cancel.  Given a cancelled
 * cancellable, g_task_start_task_thread() stores "Operation was cancelled"
 * as the task's error and still runs the lookup in a thread; when that
 * lookup fails, its g_task_return_error() replaces the stored error without
 * freeing it (16 + 24 bytes lost).  libsoup 3.2 starts the connection of a
 * request cancelled before its turn in the session's queue (an Exchange
 * discovery superseded or stopped), and with no proxy resolver in front
 * (docs/architecture.md, "Proxies") GSocketClient asks the resolver at once.
 * GLib 2.76 rewrote that resolver: there sfbd keeps GLib's.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Before the first lookup of the process. */
void sfb_resolver_install_default (void);

G_END_DECLS
