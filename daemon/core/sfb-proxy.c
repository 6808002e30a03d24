/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-core"

#include "config.h"

#include "sfb-proxy.h"

/* What GIO's default proxy resolver reads: the variables libproxy's own
 * configuration takes (both cases; all_proxy for other resolvers), the
 * ones naming a desktop session, whose settings glib-networking's GNOME
 * resolver and libproxy's desktop plugins follow, libproxy's module path,
 * and GIO's choice of resolver. */
static const char *const proxy_variables[] = {
  "http_proxy",
  "HTTP_PROXY",
  "https_proxy",
  "HTTPS_PROXY",
  "ftp_proxy",
  "FTP_PROXY",
  "all_proxy",
  "ALL_PROXY",
  "no_proxy",
  "NO_PROXY",
  "XDG_CURRENT_DESKTOP",
  "DESKTOP_SESSION",
  "GNOME_DESKTOP_SESSION_ID",
  "KDE_FULL_SESSION",
  "PX_MODULE_PATH",
  "GIO_USE_PROXY_RESOLVER",
};

gboolean
sfb_proxy_may_be_configured_in (const char *const *envp)
{
  for (gsize i = 0; i < G_N_ELEMENTS (proxy_variables); i++)
    {
      const char *value = g_environ_getenv ((char **) envp, proxy_variables[i]);

      if (value != NULL && *value != '\0')
        return TRUE;
    }
  return FALSE;
}

gboolean
sfb_proxy_may_be_configured (void)
{
  static gsize decided = 0;
  static gboolean configured;

  if (g_once_init_enter (&decided))
    {
      g_auto (GStrv) envp = g_get_environ ();

      configured = sfb_proxy_may_be_configured_in ((const char *const *) envp);
      g_once_init_leave (&decided, 1);
    }
  return configured;
}
