/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbd-window: the account window (application id org.sfbd.Window).  One
 * instance per session: a second start (the applet, a notification's
 * action, the application list) only presents the running window at the
 * page its options ask for.  It is D-Bus activatable too: the app.*
 * actions below, through org.freedesktop.Application.ActivateAction(),
 * open the same pages.  client/README.md documents both (a contract).
 */
#define G_LOG_DOMAIN "sfbd-window"

#include "config.h"

#include <adwaita.h>
#include <stdlib.h>

#include "sfb-account-window.h"

#define SFB_WINDOW_APP_ID "org.sfbd.Window"

static SfbAccountWindow *
get_window (GtkApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (app);

  if (window == NULL)
    window = GTK_WINDOW (sfb_account_window_new (app));
  return SFB_ACCOUNT_WINDOW (window);
}

static void
show_page (GtkApplication *app, SfbAccountWindowPage page)
{
  SfbAccountWindow *window = get_window (app);

  sfb_account_window_show_page (window, page);
  gtk_window_present (GTK_WINDOW (window));
}

static void
on_activate (GApplication *app, gpointer user_data)
{
  show_page (GTK_APPLICATION (app), SFB_ACCOUNT_WINDOW_PAGE_DEFAULT);
}

/* runs in the primary instance, with the options of whichever started */
static int
on_command_line (GApplication *app, GApplicationCommandLine *command_line, gpointer user_data)
{
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  SfbAccountWindowPage page = SFB_ACCOUNT_WINDOW_PAGE_DEFAULT;

  if (g_variant_dict_contains (options, "account"))
    page = SFB_ACCOUNT_WINDOW_PAGE_ACCOUNT;
  if (g_variant_dict_contains (options, "set-password"))
    page = SFB_ACCOUNT_WINDOW_PAGE_PASSWORD;
  if (g_variant_dict_contains (options, "details"))
    page = SFB_ACCOUNT_WINDOW_PAGE_DETAILS;
  if (g_variant_dict_contains (options, "diagnose"))
    page = SFB_ACCOUNT_WINDOW_PAGE_DIAGNOSE;
  if (g_variant_dict_contains (options, "note"))
    page = SFB_ACCOUNT_WINDOW_PAGE_NOTE;
  show_page (GTK_APPLICATION (app), page);
  return EXIT_SUCCESS;
}

static int
on_local_options (GApplication *app, GVariantDict *options, gpointer user_data)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("sfbd-window %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  return -1;
}

/* the app.* actions: the same pages for a menu or `gapplication action` */
static void
on_page_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  const char *name = g_action_get_name (G_ACTION (action));
  SfbAccountWindowPage page = SFB_ACCOUNT_WINDOW_PAGE_DETAILS;

  if (g_str_equal (name, "account"))
    page = SFB_ACCOUNT_WINDOW_PAGE_ACCOUNT;
  else if (g_str_equal (name, "set-password"))
    page = SFB_ACCOUNT_WINDOW_PAGE_PASSWORD;
  else if (g_str_equal (name, "diagnose"))
    page = SFB_ACCOUNT_WINDOW_PAGE_DIAGNOSE;
  else if (g_str_equal (name, "note"))
    page = SFB_ACCOUNT_WINDOW_PAGE_NOTE;
  show_page (GTK_APPLICATION (user_data), page);
}

static const GOptionEntry options[] = {
  { "account", 0, 0, G_OPTION_ARG_NONE, NULL, "Show the account settings", NULL },
  { "set-password", 0, 0, G_OPTION_ARG_NONE, NULL, "Ask for the password", NULL },
  { "details", 0, 0, G_OPTION_ARG_NONE, NULL, "Show the sign-in and the last error", NULL },
  { "diagnose", 0, 0, G_OPTION_ARG_NONE, NULL, "Show the connection checks", NULL },
  { "note", 0, 0, G_OPTION_ARG_NONE, NULL, "Ask for the personal note", NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version and exit", NULL },
  { NULL },
};

static const GActionEntry actions[] = {
  { "account", on_page_action, NULL, NULL, NULL, { 0 } },
  { "set-password", on_page_action, NULL, NULL, NULL, { 0 } },
  { "details", on_page_action, NULL, NULL, NULL, { 0 } },
  { "diagnose", on_page_action, NULL, NULL, NULL, { 0 } },
  { "note", on_page_action, NULL, NULL, NULL, { 0 } },
};

int
main (int argc, char **argv)
{
  g_autoptr (AdwApplication) app = NULL;

  app = adw_application_new (SFB_WINDOW_APP_ID, G_APPLICATION_HANDLES_COMMAND_LINE);
  g_application_add_main_option_entries (G_APPLICATION (app), options);
  g_application_set_option_context_summary (
      G_APPLICATION (app), "Set up the Skype for Business account of sfbd and sign in.");
  g_action_map_add_action_entries (G_ACTION_MAP (app), actions, G_N_ELEMENTS (actions), app);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), NULL);
  g_signal_connect (app, "command-line", G_CALLBACK (on_command_line), NULL);
  g_signal_connect (app, "handle-local-options", G_CALLBACK (on_local_options), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
