/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whether a proxy may be configured for sfbd (docs/architecture.md,
 * "Proxies").  GIO's default proxy resolver is a module (libproxy and its
 * C++ runtime, the GNOME resolver with the dconf settings backend, ~1 MB
 * of mapped libraries) loaded by the first HTTP request or SIP connection.
 * Where nothing configures a proxy (no proxy variable, no desktop session
 * whose settings it would read) that resolver answers "direct://" for
 * every address, so sfbd connects directly without loading it; otherwise
 * HTTP and SIP ask it, as before.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* For sfbd's own environment; decided once. */
gboolean sfb_proxy_may_be_configured (void);

/* The same decision for the environment @envp (as g_get_environ()). */
gboolean sfb_proxy_may_be_configured_in (const char *const *envp);

G_END_DECLS
