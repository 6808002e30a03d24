/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl: the command table, option parsing, dispatch and the D-Bus
 * proxies every command uses.
 */
#include "config.h"

#include "sfbctl.h"

#include "sfbctl-output.h"
#include "sfb-property-cache.h"
#include "sfbd/sfb-names.h"

#include <locale.h>
#include <stdio.h>

static const SfbctlCommand commands[] = {
  { "status", sfbctl_cmd_status, NULL, "Show the state of the account (default)" },
  { "sign-in",
    sfbctl_cmd_sign_in,
    "[--wait [--timeout SECONDS]]",
    "Sign in; --wait follows the stages" },
  { "sign-out", sfbctl_cmd_sign_out, NULL, "Sign out" },
  { "set-password",
    sfbctl_cmd_set_password,
    "[--stdin] [--no-store]",
    "Set the password, asked without echo" },
  { "config", sfbctl_cmd_config, "show | set KEY VALUE", "Show or change the configuration" },
  { "presence",
    sfbctl_cmd_presence,
    "[show] | set AVAILABILITY | note TEXT | get URI…",
    "Show or publish presence" },
  { "contacts", sfbctl_cmd_contacts, "[list] | groups", "List contacts or groups" },
  { "dialplan",
    sfbctl_cmd_dialplan,
    "[show] | normalize NUMBER",
    "Show the dial plan or normalize a number" },
  { "policies", sfbctl_cmd_policies, "[list] | show GROUP", "List or show in-band policies" },
  { "devices",
    sfbctl_cmd_devices,
    "[list] | select KIND NAME",
    "List or choose audio and video devices" },
  { "exchange",
    sfbctl_cmd_exchange,
    "[show] | refresh",
    "Show the calendar, voicemail and missed conversations" },
  { "message", sfbctl_cmd_message, "send URI TEXT", "Send an instant message" },
  { "messages", sfbctl_cmd_messages, "[URI]", "List the conversations, or the messages with URI" },
  { "monitor", sfbctl_cmd_monitor, NULL, "Follow every change until Ctrl-C" },
  { "trace", sfbctl_cmd_trace, NULL, "Show the stages of the last sign-in" },
  { "diagnose",
    sfbctl_cmd_diagnose,
    "[--sign-in] [--domain DOMAIN]",
    "Check every step of sign-in and say what to fix" },
};

/* ---- dispatch and options ---- */

static char *
command_usage (const char *prefix, const SfbctlCommand *command)
{
  return g_strdup_printf ("%s%s%s%s",
                          prefix,
                          command->name,
                          command->parameters != NULL ? " " : "",
                          command->parameters != NULL ? command->parameters : "");
}

static void
print_command_list (const char *prefix, const SfbctlCommand *list, gsize n, GString *out)
{
  long width = 0;

  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *usage = command_usage (prefix, &list[i]);
      width = MAX (width, g_utf8_strlen (usage, -1));
    }
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *usage = command_usage (prefix, &list[i]);

      /* padded by characters, not bytes: "URI…" */
      g_string_append_printf (out,
                              "  %s%*s  %s\n",
                              usage,
                              (int) (width - g_utf8_strlen (usage, -1)),
                              "",
                              list[i].summary);
    }
}

static void
print_group_help (Sfbctl *ctl, const SfbctlCommand *list, gsize n)
{
  g_autoptr (GString) out = g_string_new ("Usage:\n");
  g_autofree char *prefix = g_strdup_printf ("%s ", ctl->command);

  print_command_list (prefix, list, n, out);
  g_string_append (out, "\nEvery command accepts --json.\n");
  fputs (out->str, stdout);
}

static const SfbctlCommand *
find_command (const SfbctlCommand *list, gsize n, const char *name)
{
  for (gsize i = 0; i < n; i++)
    if (g_str_equal (list[i].name, name))
      return &list[i];
  return NULL;
}

/*
 * Runs the command named by argv[1], or @default_command when argv[1] is
 * missing or an option.  The command sees argv[0] as its own name.
 */
int
sfbctl_dispatch (Sfbctl *ctl,
                 const SfbctlCommand *list,
                 gsize n,
                 const char *default_command,
                 int argc,
                 char **argv)
{
  const char *name = default_command;
  const SfbctlCommand *command;
  char *parent = ctl->command;

  if (argc >= 2 && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")) && n > 1)
    {
      print_group_help (ctl, list, n);
      return SFBCTL_EXIT_OK;
    }
  if (argc >= 2 && argv[1][0] != '-')
    {
      name = argv[1];
      argc--;
      argv++;
    }

  command = find_command (list, n, name);
  if (command == NULL)
    {
      g_autofree char *quoted = sfbctl_quote (name);
      return sfbctl_print_usage_error (ctl, "unknown command “%s”", quoted);
    }

  ctl->command = g_strdup_printf ("%s %s", parent, name);
  g_free (parent);
  g_set_prgname (ctl->command);
  return command->run (ctl, argc, argv);
}

/* --json is accepted anywhere before "--", so remove it before parsing */
static void
take_json_option (Sfbctl *ctl, int *argc, char **argv)
{
  int kept = 1;

  for (int i = 1; i < *argc; i++)
    {
      if (g_str_equal (argv[i], "--"))
        {
          for (; i < *argc; i++)
            argv[kept++] = argv[i];
          break;
        }
      if (g_str_equal (argv[i], "--json"))
        ctl->json = TRUE;
      else
        argv[kept++] = argv[i];
    }
  *argc = kept;
  argv[kept] = NULL;
}

static gboolean
has_option (const GOptionEntry *entries, const char *long_name)
{
  for (gsize i = 0; entries != NULL && entries[i].long_name != NULL; i++)
    if (g_str_equal (entries[i].long_name, long_name))
      return TRUE;
  return FALSE;
}

/* --timeout SECONDS; on a usage error prints it and returns FALSE */
gboolean
sfbctl_set_timeout (Sfbctl *ctl, int seconds, int *exit_code)
{
  if (seconds <= 0)
    {
      *exit_code = sfbctl_print_usage_error (ctl, "--timeout takes a positive number of seconds");
      return FALSE;
    }
  ctl->timeout_seconds = (guint) seconds;
  ctl->timeout_given = TRUE;
  return TRUE;
}

/* parses a command's options; on a usage error prints it and returns FALSE */
gboolean
sfbctl_parse_options (Sfbctl *ctl,
                      const char *parameters,
                      const char *summary,
                      const GOptionEntry *entries,
                      int *argc,
                      char ***argv,
                      int *exit_code)
{
  g_autoptr (GOptionContext) context = g_option_context_new (parameters);
  g_autoptr (GError) error = NULL;
  const GOptionEntry common_entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &ctl->json, "Print JSON, errors included", NULL },
    G_OPTION_ENTRY_NULL,
  };
  int timeout_seconds = SFBCTL_NO_TIMEOUT_OPTION;
  const GOptionEntry timeout_entries[] = {
    { "timeout",
      0,
      0,
      G_OPTION_ARG_INT,
      &timeout_seconds,
      "Give up on sfbd after SECONDS without an answer (default 25)",
      "SECONDS" },
    G_OPTION_ENTRY_NULL,
  };

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, common_entries, NULL);
  /* sign-in has a --timeout of its own */
  if (!has_option (entries, "timeout"))
    g_option_context_add_main_entries (context, timeout_entries, NULL);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *exit_code = sfbctl_print_usage_error (ctl, "%s", error->message);
      return FALSE;
    }
  return timeout_seconds == SFBCTL_NO_TIMEOUT_OPTION
         || sfbctl_set_timeout (ctl, timeout_seconds, exit_code);
}

/* checks the count of positional arguments (argv[0] excluded); max -1 is any */
gboolean
sfbctl_check_arguments (Sfbctl *ctl, int argc, char **argv, int min, int max, int *exit_code)
{
  int count = argc - 1;

  if (count < min)
    {
      *exit_code = sfbctl_print_usage_error (ctl, "missing argument");
      return FALSE;
    }
  if (max >= 0 && count > max)
    {
      g_autofree char *quoted = sfbctl_quote (argv[max + 1]);

      *exit_code = sfbctl_print_usage_error (ctl, "unexpected argument “%s”", quoted);
      return FALSE;
    }
  return TRUE;
}

/* a command that takes options but no arguments: the usual case */
gboolean
sfbctl_parse_no_arguments (Sfbctl *ctl,
                           const char *summary,
                           const GOptionEntry *entries,
                           int *argc,
                           char ***argv,
                           int *exit_code)
{
  return sfbctl_parse_options (ctl, NULL, summary, entries, argc, argv, exit_code)
         && sfbctl_check_arguments (ctl, *argc, *argv, 0, 0, exit_code);
}

/* ---- D-Bus ---- */

GDBusConnection *
sfbctl_get_bus (Sfbctl *ctl, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (ctl->bus != NULL)
    return ctl->bus;

  ctl->bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &local_error);
  if (ctl->bus == NULL)
    g_set_error (error,
                 G_DBUS_ERROR,
                 G_DBUS_ERROR_NO_SERVER,
                 "cannot connect to the session bus: %s",
                 local_error->message);
  return ctl->bus;
}

int
sfbctl_timeout_msec (Sfbctl *ctl)
{
  return (int) MIN (ctl->timeout_seconds, G_MAXINT / 1000) * 1000;
}

static GVariant *
call_bus (Sfbctl *ctl,
          GDBusConnection *bus,
          const char *method,
          GVariant *parameters,
          const GVariantType *reply_type,
          GError **error)
{
  return g_dbus_connection_call_sync (bus,
                                      "org.freedesktop.DBus",
                                      "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus",
                                      method,
                                      parameters,
                                      reply_type,
                                      G_DBUS_CALL_FLAGS_NONE,
                                      sfbctl_timeout_msec (ctl),
                                      NULL,
                                      error);
}

/*
 * Makes sure org.sfbd.Sfbd has an owner.  Only commands that need sfbd to
 * act (ctl->auto_start) start it through D-Bus activation, and then with
 * the bus's StartServiceByName() under --timeout: a proxy would start it
 * without a bound.
 */
static gboolean
check_sfbd (Sfbctl *ctl, GDBusConnection *bus, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) started = NULL;
  gboolean has_owner = FALSE;

  if (ctl->sfbd_checked)
    return TRUE;
  reply = call_bus (ctl,
                    bus,
                    "NameHasOwner",
                    g_variant_new ("(s)", SFB_DBUS_NAME),
                    G_VARIANT_TYPE ("(b)"),
                    error);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(b)", &has_owner);
  if (!has_owner && !ctl->auto_start)
    {
      g_set_error_literal (
          error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN, "sfbd is not running");
      return FALSE;
    }
  if (!has_owner)
    {
      started = call_bus (ctl,
                          bus,
                          "StartServiceByName",
                          g_variant_new ("(su)", SFB_DBUS_NAME, 0),
                          G_VARIANT_TYPE ("(u)"),
                          error);
      if (started == NULL)
        return FALSE;
    }
  ctl->sfbd_checked = TRUE;
  return TRUE;
}

/* the properties of @proxy's interface into its cache, under --timeout
 * (sfb-property-cache.h) */
static gboolean
load_properties (Sfbctl *ctl, GDBusProxy *proxy, const char *owner, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) properties = NULL;

  reply
      = g_dbus_connection_call_sync (g_dbus_proxy_get_connection (proxy),
                                     owner,
                                     SFB_DBUS_PATH,
                                     "org.freedesktop.DBus.Properties",
                                     "GetAll",
                                     g_variant_new ("(s)", g_dbus_proxy_get_interface_name (proxy)),
                                     G_VARIANT_TYPE ("(a{sv})"),
                                     G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                     sfbctl_timeout_msec (ctl),
                                     NULL,
                                     error);
  if (reply == NULL)
    return FALSE;
  properties = g_variant_get_child_value (reply, 0);
  sfb_property_cache_set_all (proxy, properties);
  return TRUE;
}

/*
 * A generated proxy for one interface of /org/sfbd/Sfbd, with its
 * properties loaded and every call bounded by --timeout.  When sfbd has no
 * owner (not running and, unless ctl->auto_start, not started), fails
 * with ServiceUnknown; when it does not answer, with G_IO_ERROR_TIMED_OUT.
 */
static gpointer
get_proxy (Sfbctl *ctl, GType proxy_type, const char *interface_name, GError **error)
{
  GDBusConnection *bus = sfbctl_get_bus (ctl, error);
  g_autoptr (GDBusProxy) proxy = NULL;
  g_autofree char *owner = NULL;

  if (bus == NULL || !check_sfbd (ctl, bus, error))
    return NULL;

  proxy = g_initable_new (proxy_type,
                          NULL,
                          error,
                          "g-flags",
                          G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START
                              | G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                          "g-name",
                          SFB_DBUS_NAME,
                          "g-connection",
                          bus,
                          "g-object-path",
                          SFB_DBUS_PATH,
                          "g-interface-name",
                          interface_name,
                          "g-default-timeout",
                          sfbctl_timeout_msec (ctl),
                          NULL);
  if (proxy == NULL)
    return NULL;

  owner = g_dbus_proxy_get_name_owner (proxy);
  if (owner == NULL)
    {
      g_set_error_literal (
          error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN, "sfbd is not running");
      return NULL;
    }
  /* subscribed before loading, so no change is missed; the subscription
   * lasts as long as the bus connection */
  sfb_property_cache_follow (proxy);
  if (!load_properties (ctl, proxy, owner, error))
    return NULL;
  return g_steal_pointer (&proxy);
}

SfbDBusAccount *
sfbctl_get_account (Sfbctl *ctl, GError **error)
{
  return get_proxy (ctl, SFB_DBUS_TYPE_ACCOUNT_PROXY, SFB_DBUS_ACCOUNT_INTERFACE, error);
}

SfbDBusPresence *
sfbctl_get_presence (Sfbctl *ctl, GError **error)
{
  return get_proxy (ctl, SFB_DBUS_TYPE_PRESENCE_PROXY, SFB_DBUS_PRESENCE_INTERFACE, error);
}

SfbDBusContacts *
sfbctl_get_contacts (Sfbctl *ctl, GError **error)
{
  return get_proxy (ctl, SFB_DBUS_TYPE_CONTACTS_PROXY, SFB_DBUS_CONTACTS_INTERFACE, error);
}

SfbDBusDialPlan *
sfbctl_get_dial_plan (Sfbctl *ctl, GError **error)
{
  return get_proxy (ctl, SFB_DBUS_TYPE_DIAL_PLAN_PROXY, SFB_DBUS_DIAL_PLAN_INTERFACE, error);
}

SfbDBusPolicies *
sfbctl_get_policies (Sfbctl *ctl, GError **error)
{
  return get_proxy (ctl, SFB_DBUS_TYPE_POLICIES_PROXY, SFB_DBUS_POLICIES_INTERFACE, error);
}

SfbDBusDevices *
sfbctl_get_devices (Sfbctl *ctl, GError **error)
{
  return get_proxy (ctl, SFB_DBUS_TYPE_DEVICES_PROXY, SFB_DBUS_DEVICES_INTERFACE, error);
}

SfbDBusExchange *
sfbctl_get_exchange (Sfbctl *ctl, GError **error)
{
  return get_proxy (ctl, SFB_DBUS_TYPE_EXCHANGE_PROXY, SFB_DBUS_EXCHANGE_INTERFACE, error);
}

SfbDBusDiagnostics *
sfbctl_get_diagnostics (Sfbctl *ctl, GError **error)
{
  return get_proxy (ctl, SFB_DBUS_TYPE_DIAGNOSTICS_PROXY, SFB_DBUS_DIAGNOSTICS_INTERFACE, error);
}

SfbDBusConversations *
sfbctl_get_conversations (Sfbctl *ctl, GError **error)
{
  return get_proxy (
      ctl, SFB_DBUS_TYPE_CONVERSATIONS_PROXY, SFB_DBUS_CONVERSATIONS_INTERFACE, error);
}

/* for explaining empty lists; FALSE when unknown */
gboolean
sfbctl_is_signed_in (Sfbctl *ctl)
{
  g_autoptr (SfbDBusAccount) account = sfbctl_get_account (ctl, NULL);

  return account != NULL
         && g_strcmp0 (sfb_dbus_account_get_state (account), SFB_STATE_SIGNED_IN) == 0;
}

/* ---- main ---- */

static int
print_version (Sfbctl *ctl)
{
  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) node = json_node_alloc ();

      json_object_set_string_member (object, "Version", PACKAGE_VERSION);
      sfbctl_print_json (json_node_init_object (node, object));
    }
  else
    printf ("sfbctl %s\n", PACKAGE_VERSION);
  return SFBCTL_EXIT_OK;
}

static char *
describe_commands (void)
{
  g_autoptr (GString) out = g_string_new ("Commands:\n");

  print_command_list ("", commands, G_N_ELEMENTS (commands), out);
  g_string_append (out,
                   "\nExit status: 0 ok, 1 failure, 2 usage error, "
                   "3 not signed in, sfbd not running or not answering.\n"
                   "With --json, results and errors are JSON on stdout.");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/*
 * D-Bus carries only UTF-8: arguments in a non-UTF-8 locale are converted,
 * and bytes that are not text are refused here rather than reaching
 * g_variant_new_string().
 */
static gboolean
take_utf8_arguments (Sfbctl *ctl, int argc, char **argv, int *exit_code)
{
  gboolean utf8_locale = g_get_charset (NULL);

  for (int i = 1; i < argc; i++)
    {
      char *converted = NULL;
      g_autofree char *shown = NULL;

      if (g_utf8_validate (argv[i], -1, NULL))
        continue;
      if (!utf8_locale)
        converted = g_locale_to_utf8 (argv[i], -1, NULL, NULL, NULL);
      if (converted != NULL)
        {
          g_ptr_array_add (ctl->converted, converted);
          argv[i] = converted;
          continue;
        }
      shown = sfbctl_quote (argv[i]);
      *exit_code = sfbctl_print_usage_error (
          ctl, "argument %d is not valid UTF-8 text: “%s”; nothing was changed", i, shown);
      return FALSE;
    }
  return TRUE;
}

static int
run (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("[COMMAND [ARGS…]]");
  g_autoptr (GError) error = NULL;
  g_autofree char *description = describe_commands ();
  gboolean version = FALSE;
  int timeout_seconds = SFBCTL_NO_TIMEOUT_OPTION;
  int exit_code;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &ctl->json, "Print JSON, errors included", NULL },
    { "timeout",
      0,
      0,
      G_OPTION_ARG_INT,
      &timeout_seconds,
      "Give up on sfbd after SECONDS without an answer (default 25)",
      "SECONDS" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    G_OPTION_ENTRY_NULL,
  };

  take_json_option (ctl, &argc, argv);
  if (!take_utf8_arguments (ctl, argc, argv, &exit_code))
    return exit_code;

  /* options after the command belong to the command */
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_summary (context, "Control sfbd, the Skype for Business daemon.");
  g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sfbctl_print_usage_error (ctl, "%s", error->message);
  if (timeout_seconds != SFBCTL_NO_TIMEOUT_OPTION
      && !sfbctl_set_timeout (ctl, timeout_seconds, &exit_code))
    return exit_code;
  if (version)
    return print_version (ctl);

  return sfbctl_dispatch (ctl, commands, G_N_ELEMENTS (commands), "status", argc, argv);
}

int
main (int argc, char **argv)
{
  Sfbctl ctl
      = { .command = g_strdup ("sfbctl"), .timeout_seconds = SFBCTL_DEFAULT_TIMEOUT_SECONDS };
  int exit_code;

  setlocale (LC_ALL, "");
  g_set_prgname ("sfbctl");
  /* stdout is for results (JSON included), even with G_MESSAGES_DEBUG set */
  g_log_writer_default_set_use_stderr (TRUE);

  ctl.converted = g_ptr_array_new_with_free_func (g_free);
  exit_code = run (&ctl, argc, argv);

  g_ptr_array_unref (ctl.converted);
  g_clear_object (&ctl.bus);
  g_free (ctl.command);
  return exit_code;
}
