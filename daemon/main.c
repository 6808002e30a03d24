/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfbd: options, log writer, bus name, signals, main loop. */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfb-daemon.h"
#include "sfb-dbus-service.h"
#include "sfb-desktop.h"
#include "sfb-log.h"
#include "sfb-memory.h"
#include "sfb-notify.h"
#include "sfb-resolver.h"
#include "sfb-tls.h"

#include <sfbd/sfb-names.h>

#define EXIT_USAGE 2

typedef struct
{
  GMainLoop *loop;
  SfbDaemon *daemon;
  SfbDBusService *service;
  SfbDesktop *desktop; /* idle, lock and notifications */
  gboolean name_acquired;
  gboolean name_lost;
  int exit_status;
  char *status;      /* the last STATUS= sent to the service manager */
  guint watchdog_id; /* WATCHDOG=1 pings, with WatchdogSec= */
} SfbMain;

/* GLib before 2.76 keeps freed GSlice memory (GVariants, lists: much of
 * what a sign-in with 1,000 contacts allocates) in slabs of its own that
 * malloc_trim() cannot return, about 4 MB.  With G_SLICE=always-malloc,
 * which GLib reads only as it starts, slices are plain malloc: so sfbd
 * starts itself again with it (same process, same arguments).  Not under
 * valgrind, whose exec would run sfbd outside it. */
static void
use_malloc_for_slices (char **argv)
{
  const char *preload = g_getenv ("LD_PRELOAD");

  if (glib_check_version (2, 76, 0) == NULL || g_getenv ("G_SLICE") != NULL)
    return;
  if (preload != NULL && strstr (preload, "vgpreload") != NULL)
    return;
  if (!g_setenv ("G_SLICE", "always-malloc", TRUE))
    return;
  execv ("/proc/self/exe", argv);
  g_unsetenv ("G_SLICE"); /* could not: go on with GSlice */
}

/* Signing in allocates much that is freed once it is over: trim after it */
static void
on_state_changed (SfbMain *main_data)
{
  g_autofree char *state = NULL;

  g_object_get (main_data->daemon, "state", &state, NULL);
  if (g_strcmp0 (state, "signed-in") != 0)
    return;
  sfb_memory_trim_soon ();
}

/* STATUS= for systemctl status: the state, the account, the server, and
 * what went wrong */
static void
update_status (SfbMain *main_data)
{
  g_autofree char *state = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *server = NULL;
  g_autofree char *message = NULL;
  g_autofree char *status = NULL;

  g_object_get (main_data->daemon,
                "state",
                &state,
                "uri",
                &uri,
                "server",
                &server,
                "last-error-message",
                &message,
                NULL);
  status = sfb_notify_format_status (state, uri, server, message);
  if (g_strcmp0 (status, main_data->status) == 0)
    return;
  g_free (main_data->status);
  main_data->status = g_steal_pointer (&status);
  if (main_data->name_acquired)
    sfb_notify_status (main_data->status);
}

static void
quit (SfbMain *main_data, int exit_status)
{
  main_data->exit_status = exit_status;
  g_main_loop_quit (main_data->loop);
}

static void
on_bus_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  SfbMain *main_data = user_data;
  g_autoptr (GError) error = NULL;

  main_data->service = sfb_dbus_service_new (main_data->daemon);
  if (!sfb_dbus_service_export (main_data->service, connection, &error))
    {
      g_warning ("Cannot export %s: %s", SFB_DBUS_PATH, error->message);
      quit (main_data, EXIT_FAILURE);
      return;
    }
  main_data->desktop = sfb_desktop_new (main_data->daemon, connection);
  sfb_dbus_service_set_notifier (main_data->service, sfb_desktop_get_notifier (main_data->desktop));
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  SfbMain *main_data = user_data;

  main_data->name_acquired = TRUE;
  update_status (main_data);
  sfb_notify_ready (main_data->status);
  main_data->watchdog_id = sfb_notify_start_watchdog ();
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_MESSAGE_ID (SFB_LOG_MSGID_STARTUP),
           "MESSAGE",
           "sfbd %s is running as %s",
           PACKAGE_VERSION,
           name);
  sfb_daemon_auto_sign_in (main_data->daemon);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  SfbMain *main_data = user_data;

  if (connection == NULL)
    g_warning ("Cannot connect to the session bus, or the connection was closed");
  else if (!main_data->name_acquired)
    g_warning ("Cannot own %s: another sfbd is running (start with --replace to take over)", name);
  else
    g_warning ("Lost the bus name %s, probably to an sfbd started with --replace", name);
  main_data->name_lost = main_data->name_acquired;
  quit (main_data, EXIT_FAILURE);
}

static gboolean
on_signal (gpointer user_data)
{
  SfbMain *main_data = user_data;

  g_info ("Stopping on signal");
  quit (main_data, EXIT_SUCCESS);
  return G_SOURCE_CONTINUE;
}

static gboolean
parse_options (int *argc, char ***argv, gboolean *replace, gboolean *verbose)
{
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "replace", 'r', 0, G_OPTION_ARG_NONE, replace, "Replace a running sfbd", NULL },
    { "verbose",
      'v',
      0,
      G_OPTION_ARG_NONE,
      verbose,
      "Log debug messages of every sfbd domain",
      NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;

  g_option_context_set_summary (context, "Skype for Business / Lync sign-in daemon");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("sfbd: %s\n", error->message);
      exit (EXIT_USAGE);
    }
  if (version)
    {
      g_print ("sfbd %s\n", PACKAGE_VERSION);
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  SfbMain main_data = { 0 };
  gboolean replace = FALSE;
  gboolean verbose = FALSE;
  guint owner_id;
  guint sigterm_id;
  guint sigint_id;

  use_malloc_for_slices (argv);
  sfb_memory_share_arenas ();
  if (!parse_options (&argc, &argv, &replace, &verbose))
    return EXIT_SUCCESS;
  sfb_log_install_writer (verbose);
  /* before any TLS connection: else making one loads the system store */
  sfb_tls_install_default_database ();
  /* before any lookup: a cancelled one must not reach GLib 2.74's thread */
  sfb_resolver_install_default ();

  main_data.loop = g_main_loop_new (NULL, FALSE);
  main_data.daemon = sfb_daemon_new ();
  g_signal_connect_swapped (main_data.daemon, "notify", G_CALLBACK (update_status), &main_data);
  g_signal_connect_swapped (
      main_data.daemon, "notify::state", G_CALLBACK (on_state_changed), &main_data);
  sigterm_id = g_unix_signal_add (SIGTERM, on_signal, &main_data);
  sigint_id = g_unix_signal_add (SIGINT, on_signal, &main_data);
  owner_id = g_bus_own_name (G_BUS_TYPE_SESSION,
                             SFB_DBUS_NAME,
                             G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT
                                 | G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE
                                 | (replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                             on_bus_acquired,
                             on_name_acquired,
                             on_name_lost,
                             &main_data,
                             NULL);

  g_main_loop_run (main_data.loop);

  sfb_notify_stopping ();
  g_clear_handle_id (&main_data.watchdog_id, g_source_remove);
  g_signal_handlers_disconnect_by_data (main_data.daemon, &main_data);
  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  if (main_data.service != NULL)
    sfb_dbus_service_unexport (main_data.service);
  /* releasing a name taken over by another sfbd only makes GDBus warn */
  if (!main_data.name_lost)
    g_bus_unown_name (owner_id);
  g_clear_object (&main_data.service);
  g_clear_object (&main_data.desktop);
  g_clear_object (&main_data.daemon);
  g_main_loop_unref (main_data.loop);
  g_free (main_data.status);
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_MESSAGE_ID (SFB_LOG_MSGID_SHUTDOWN),
           "MESSAGE",
           "sfbd stopped (exit status %d)",
           main_data.exit_status);
  return main_data.exit_status;
}
