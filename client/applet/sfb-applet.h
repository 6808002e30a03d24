/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The presence applet: follows sfbd's Account, Presence and Exchange properties on
 * the session bus (through sfbd restarts: the proxies track the name
 * owner) and shows them as a StatusNotifierItem with a dbusmenu menu whose
 * actions call sfbd or open the account window.  Its "quit" signal is the
 * menu's Quit.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SFB_TYPE_APPLET (sfb_applet_get_type ())
G_DECLARE_FINAL_TYPE (SfbApplet, sfb_applet, SFB, APPLET, GObject)

#define SFB_APPLET_MENU_PATH "/MenuBar"
#define SFB_APPLET_ID "sfbd-applet"
/* owned by the one applet of a session */
#define SFB_APPLET_BUS_NAME "org.sfbd.Applet"
/* the account window, started through D-Bus activation (client/README.md) */
#define SFB_APPLET_WINDOW_BUS_NAME "org.sfbd.Window"
#define SFB_APPLET_WINDOW_PATH "/org/sfbd/Window"

/* Menu item ids (stable, so tests and logs can name them) */
enum
{
  SFB_APPLET_MENU_HEADER = 1,
  SFB_APPLET_MENU_EXCHANGE_MEETING = 2, /* shown while Exchange is connected */
  SFB_APPLET_MENU_EXCHANGE_COUNTS = 3,
  SFB_APPLET_MENU_SET_AVAILABILITY = 10, /* 10…16: online … appear-offline, off-work (16,
                                            listed before appear-offline) */
  SFB_APPLET_MENU_NOTE = 17,             /* "Personal note…": the window */
  SFB_APPLET_MENU_SIGN_IN = 20,          /* "Sign in again" after a failure */
  SFB_APPLET_MENU_SIGN_OUT = 21,
  SFB_APPLET_MENU_RECONNECT = 22,
  SFB_APPLET_MENU_TRACE = 30,
  SFB_APPLET_MENU_SET_PASSWORD = 40, /* these four open sfbd-window */
  SFB_APPLET_MENU_ACCOUNT = 41,
  SFB_APPLET_MENU_DETAILS = 42,
  SFB_APPLET_MENU_QUIT = 50,
  SFB_APPLET_MENU_TRACE_EMPTY = 99,
  SFB_APPLET_MENU_TRACE_STAGE = 100, /* 100… one per stage */
  SFB_APPLET_MENU_SEPARATOR = 200,   /* 200… */
};

/* Stages shown from GetSignInTrace(); characters kept of each detail */
#define SFB_APPLET_MAX_STAGES 24
#define SFB_APPLET_MAX_DETAIL 60

/* Seconds without an answer before sfbd counts as not answering */
#define SFB_APPLET_DEFAULT_TIMEOUT 25

SfbApplet *sfb_applet_new (void);
void sfb_applet_set_timeout (SfbApplet *self, guint seconds);
gboolean sfb_applet_start (SfbApplet *self, GDBusConnection *connection, GError **error);

G_END_DECLS
