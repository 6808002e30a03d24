/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the daemon's unit tests: a temporary root that stands
 * in for every directory sfbd would touch, and a daemon on a private bus. */
#pragma once

#include "sfb-daemon.h"
#include "sfb-dbus-service.h"

#include <gio/gio.h>

G_BEGIN_DECLS

extern char *sfb_test_root;

void sfb_test_isolate (void);
void sfb_test_cleanup (void);
char *sfb_test_make_dir (void);
void sfb_test_rm_rf (const char *path);

/* A private GTestDBus with two connections to it: the daemon's (server)
 * and a client's. */
typedef struct
{
  GTestDBus *bus;
  GDBusConnection *server;
  GDBusConnection *client;
  SfbDaemon *daemon;
  SfbDBusService *service;
} SfbTestBus;

void sfb_test_bus_up (SfbTestBus *tb);
void sfb_test_bus_export_daemon (SfbTestBus *tb, const char *config_path, const char *state_dir);
void sfb_test_bus_down (SfbTestBus *tb);

G_END_DECLS
