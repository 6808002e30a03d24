/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfbd-applet: options, log writer, session bus, signals, main loop. */
#define G_LOG_DOMAIN "sfbd-applet"

#include "config.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdlib.h>

#include "sfb-applet.h"
#include "sfb-log.h"

#define EXIT_USAGE 2

typedef struct
{
  GMainLoop *loop;
  SfbApplet *applet;
  gboolean started;
  int exit_status;
} AppletMain;

static void
quit (AppletMain *main_data, int exit_status)
{
  main_data->exit_status = exit_status;
  g_main_loop_quit (main_data->loop);
}

static gboolean
on_signal (gpointer user_data)
{
  g_info ("Stopping on signal");
  quit (user_data, EXIT_SUCCESS);
  return G_SOURCE_CONTINUE;
}

static void
on_quit (SfbApplet *applet, gpointer user_data)
{
  quit (user_data, EXIT_SUCCESS);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  AppletMain *main_data = user_data;
  g_autoptr (GError) error = NULL;

  if (main_data->started)
    return;
  main_data->started = TRUE;
  if (!sfb_applet_start (main_data->applet, connection, &error))
    {
      g_warning ("Cannot show the applet: %s", error->message);
      quit (main_data, EXIT_FAILURE);
    }
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  AppletMain *main_data = user_data;

  if (main_data->started)
    return;
  g_info ("Another sfbd-applet owns %s; leaving", name);
  quit (main_data, EXIT_SUCCESS);
}

static void
on_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AppletMain *main_data = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) connection = g_bus_get_finish (result, &error);

  if (connection == NULL)
    {
      g_warning ("Cannot connect to the session bus: %s", error->message);
      quit (main_data, EXIT_FAILURE);
      return;
    }
  /* one applet per session: a second one (autostart and the systemd
   * unit both) leaves quietly */
  g_bus_own_name_on_connection (connection,
                                SFB_APPLET_BUS_NAME,
                                G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                on_name_acquired,
                                on_name_lost,
                                main_data,
                                NULL);
}

static gboolean
parse_options (int *argc, char ***argv, gboolean *verbose, int *timeout)
{
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, verbose, "Log debug messages", NULL },
    { "timeout",
      0,
      0,
      G_OPTION_ARG_INT,
      timeout,
      "Show sfbd as not answering after SECONDS without a reply (default 25)",
      "SECONDS" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;

  g_option_context_set_summary (
      context,
      "Shows sfbd's sign-in state and presence in the desktop's tray (StatusNotifierItem)");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("sfbd-applet: %s\n", error->message);
      exit (EXIT_USAGE);
    }
  if (*timeout <= 0 || *timeout > 3600)
    {
      g_printerr ("sfbd-applet: --timeout takes 1 to 3600 seconds\n");
      exit (EXIT_USAGE);
    }
  if (version)
    {
      g_print ("sfbd-applet %s\n", PACKAGE_VERSION);
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  AppletMain main_data = { 0 };
  gboolean verbose = FALSE;
  int timeout = SFB_APPLET_DEFAULT_TIMEOUT;
  guint sigterm_id;
  guint sigint_id;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();

  if (!parse_options (&argc, &argv, &verbose, &timeout))
    return EXIT_SUCCESS;
  sfb_log_install_writer (verbose);

  main_data.loop = g_main_loop_new (NULL, FALSE);
  main_data.applet = sfb_applet_new ();
  sfb_applet_set_timeout (main_data.applet, (guint) timeout);
  g_signal_connect (main_data.applet, "quit", G_CALLBACK (on_quit), &main_data);
  sigterm_id = g_unix_signal_add (SIGTERM, on_signal, &main_data);
  sigint_id = g_unix_signal_add (SIGINT, on_signal, &main_data);
  g_bus_get (G_BUS_TYPE_SESSION, cancellable, on_bus, &main_data);

  g_main_loop_run (main_data.loop);

  g_cancellable_cancel (cancellable);
  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  g_clear_object (&main_data.applet);
  g_main_loop_unref (main_data.loop);
  return main_data.exit_status;
}
