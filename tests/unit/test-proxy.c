/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether a proxy may be configured (sfb-proxy.h): any proxy variable or
 * desktop session says yes, an empty one is none, and an environment
 * without them says no. */
#include "config.h"

#include "sfb-proxy.h"

static void
test_bare_environment_has_no_proxy (void)
{
  const char *const envp[]
      = { "HOME=/home/alice", "PATH=/usr/bin", "XDG_RUNTIME_DIR=/run/user/1000", NULL };
  const char *const empty[] = { NULL };

  g_assert_false (sfb_proxy_may_be_configured_in (envp));
  g_assert_false (sfb_proxy_may_be_configured_in (empty));
}

static void
test_each_variable_may_configure_one (void)
{
  const char *const names[] = { "http_proxy",
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
                                "GIO_USE_PROXY_RESOLVER" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *set = g_strdup_printf ("%s=x", names[i]);
      g_autofree char *empty = g_strdup_printf ("%s=", names[i]);
      const char *const with[] = { "HOME=/home/alice", set, NULL };
      const char *const with_empty[] = { "HOME=/home/alice", empty, NULL };

      g_test_message ("%s", names[i]);
      g_assert_true (sfb_proxy_may_be_configured_in (with));
      g_assert_false (sfb_proxy_may_be_configured_in (with_empty));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/proxy/bare-environment", test_bare_environment_has_no_proxy);
  g_test_add_func ("/proxy/each-variable", test_each_variable_may_configure_one);
  return g_test_run ();
}
