/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl: the command line client of sfbd.  Every command is a thin
 * caller of the D-Bus API (the XML files in dbus/); this header holds what
 * the command files share: the exit codes, the run context and the proxies.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-dbus-generated.h"

G_BEGIN_DECLS

/* Exit codes (contract, docs/architecture.md §4) */
typedef enum
{
  SFBCTL_EXIT_OK = 0,
  SFBCTL_EXIT_FAILURE = 1,
  SFBCTL_EXIT_USAGE = 2,
  SFBCTL_EXIT_NOT_AVAILABLE = 3, /* not signed in, sfbd not reachable or not answering */
} SfbctlExit;

typedef struct
{
  gboolean json;
  /* streaming commands print one compact JSON object per line, errors too */
  gboolean json_lines;
  /* TRUE only for commands that need sfbd to act: they may start it
   * through D-Bus activation (doc/sfbctl.1.rst, "D-Bus activation") */
  gboolean auto_start;
  /* the bound of every D-Bus call, --timeout */
  guint timeout_seconds;
  /* --timeout was given (a command with a longer default keeps it then) */
  gboolean timeout_given;
  /* sfbd had an owner (or was started) once: not checked again */
  gboolean sfbd_checked;
  /* the command being run, as typed: "presence set" */
  char *command;
  GDBusConnection *bus;
  GPtrArray *converted; /* arguments converted to UTF-8 from the locale's charset */
} Sfbctl;

typedef int (*SfbctlCommandFunc) (Sfbctl *ctl, int argc, char **argv);

typedef struct
{
  const char *name;
  SfbctlCommandFunc run;
  const char *parameters; /* for --help, for example "KEY VALUE" */
  const char *summary;
} SfbctlCommand;

int sfbctl_dispatch (Sfbctl *ctl,
                     const SfbctlCommand *commands,
                     gsize n_commands,
                     const char *default_command,
                     int argc,
                     char **argv);

gboolean sfbctl_parse_options (Sfbctl *ctl,
                               const char *parameters,
                               const char *summary,
                               const GOptionEntry *entries,
                               int *argc,
                               char ***argv,
                               int *exit_code);
gboolean sfbctl_set_timeout (Sfbctl *ctl, int seconds, int *exit_code);
gboolean
sfbctl_check_arguments (Sfbctl *ctl, int argc, char **argv, int min, int max, int *exit_code);
gboolean sfbctl_parse_no_arguments (Sfbctl *ctl,
                                    const char *summary,
                                    const GOptionEntry *entries,
                                    int *argc,
                                    char ***argv,
                                    int *exit_code);

/* the default bound of every D-Bus call: the usual D-Bus reply timeout */
#define SFBCTL_DEFAULT_TIMEOUT_SECONDS 25
/* the value of a --timeout option not given */
#define SFBCTL_NO_TIMEOUT_OPTION G_MININT

GDBusConnection *sfbctl_get_bus (Sfbctl *ctl, GError **error);
int sfbctl_timeout_msec (Sfbctl *ctl);
SfbDBusAccount *sfbctl_get_account (Sfbctl *ctl, GError **error);
SfbDBusPresence *sfbctl_get_presence (Sfbctl *ctl, GError **error);
SfbDBusContacts *sfbctl_get_contacts (Sfbctl *ctl, GError **error);
SfbDBusDialPlan *sfbctl_get_dial_plan (Sfbctl *ctl, GError **error);
SfbDBusPolicies *sfbctl_get_policies (Sfbctl *ctl, GError **error);
SfbDBusDevices *sfbctl_get_devices (Sfbctl *ctl, GError **error);
SfbDBusExchange *sfbctl_get_exchange (Sfbctl *ctl, GError **error);
SfbDBusDiagnostics *sfbctl_get_diagnostics (Sfbctl *ctl, GError **error);
SfbDBusConversations *sfbctl_get_conversations (Sfbctl *ctl, GError **error);
gboolean sfbctl_is_signed_in (Sfbctl *ctl);

/* The command groups, one file each */
int sfbctl_cmd_status (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_config (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_sign_in (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_sign_out (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_set_password (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_trace (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_presence (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_contacts (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_dialplan (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_policies (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_devices (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_exchange (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_monitor (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_message (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_messages (Sfbctl *ctl, int argc, char **argv);
int sfbctl_cmd_diagnose (Sfbctl *ctl, int argc, char **argv);

/* An Exchange property's value for a line of text (sanitised, meetings in
 * words), or NULL for a name that needs nothing special. */
char *sfbctl_exchange_format_property (const char *name, GVariant *value);

G_END_DECLS
