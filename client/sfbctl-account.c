/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl sign-in [--wait] | sign-out | set-password | trace: the
 * org.sfbd.Sfbd1.Account methods.
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"
#include "sfb-error-view.h"
#include "sfbd/sfb-names.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define SIGN_IN_DEFAULT_TIMEOUT_SECONDS 120

/* ---- sign-in --wait ---- */

typedef struct
{
  Sfbctl *ctl;
  SfbDBusAccount *account;
  GMainLoop *loop;
  char *last_state;
  gint64 started_at;
  guint timeout_seconds;
  guint timeout_id;
  gboolean call_returned;
  int exit_code;
} SignInWait;

static void
sign_in_wait_finish (SignInWait *wait, int exit_code)
{
  wait->exit_code = exit_code;
  g_main_loop_quit (wait->loop);
}

static void
print_stage (SignInWait *wait, const char *state)
{
  if (wait->ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) node = json_node_alloc ();

      json_object_set_string_member (object, "State", state);
      sfbctl_print_json_line (json_node_init_object (node, object));
      return;
    }
  printf ("%6.1f s  %s\n",
          (g_get_monotonic_time () - wait->started_at) / (double) G_USEC_PER_SEC,
          state);
  fflush (stdout);
}

static void
report_failure (SignInWait *wait)
{
  const char *name = sfb_dbus_account_get_last_error (wait->account);
  const char *message = sfb_dbus_account_get_last_error_message (wait->account);
  const char *state = sfb_dbus_account_get_state (wait->account);
  g_autofree char *next
      = sfbctl_format_next_retry (sfb_dbus_account_get_next_retry (wait->account));
  g_autofree char *text = NULL;

  if (message == NULL || *message == '\0')
    message = "sign-in failed";
  /* reconnecting: sfbd goes on by itself; say when */
  if (g_strcmp0 (state, SFB_STATE_RECONNECTING) == 0)
    text = g_strdup_printf ("%s%ssfbd keeps trying by itself: next attempt %s",
                            message,
                            g_str_has_suffix (message, ".") ? " " : ". ",
                            next != NULL ? next : "when the network changes");
  sfbctl_print_error_named (wait->ctl,
                            name != NULL && *name != '\0' ? name : SFB_DBUS_ERROR_FAILED,
                            text != NULL ? text : message);
  sign_in_wait_finish (wait, SFBCTL_EXIT_FAILURE);
}

static void
report_success (SignInWait *wait)
{
  if (!wait->ctl->json)
    {
      printf ("Signed in as %s on %s (%s)\n",
              sfb_dbus_account_get_uri (wait->account),
              sfb_dbus_account_get_server (wait->account),
              sfb_dbus_account_get_auth_method (wait->account));
      fflush (stdout);
    }
  sign_in_wait_finish (wait, SFBCTL_EXIT_OK);
}

/*
 * Prints State when it changed and, once SignIn() has returned, ends on
 * signed-in, failed, or reconnecting with a LastError: the first pass over
 * the servers failed (sfbd retries by itself, at NextRetry).  Before the
 * reply a "failed" could still be the previous attempt's; sfbd announces
 * the new attempt's State before it replies.
 */
static void
follow_state (SignInWait *wait)
{
  const char *state = sfb_dbus_account_get_state (wait->account);

  if (state == NULL)
    return;
  if (g_strcmp0 (state, wait->last_state) != 0)
    {
      print_stage (wait, state);
      g_free (wait->last_state);
      wait->last_state = g_strdup (state);
    }
  if (!wait->call_returned)
    return;
  if (g_str_equal (state, SFB_STATE_SIGNED_IN))
    report_success (wait);
  else if (g_str_equal (state, SFB_STATE_FAILED))
    report_failure (wait);
  else if (g_str_equal (state, SFB_STATE_RECONNECTING)
           && *sfb_dbus_account_get_last_error (wait->account) != '\0')
    report_failure (wait);
}

static void
on_properties_changed (GDBusProxy *proxy,
                       GVariant *changed,
                       const char *const *invalidated,
                       gpointer user_data)
{
  follow_state (user_data);
}

static void
on_name_owner_changed (GObject *proxy, GParamSpec *pspec, gpointer user_data)
{
  SignInWait *wait = user_data;
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));

  if (owner == NULL)
    sign_in_wait_finish (wait,
                         sfbctl_print_error_named (wait->ctl,
                                                   "org.freedesktop.DBus.Error.NameHasNoOwner",
                                                   "sfbd stopped while signing in"));
}

static gboolean
on_timeout (gpointer user_data)
{
  SignInWait *wait = user_data;
  g_autofree char *message = g_strdup_printf ("sign-in did not finish within %u s (state: %s)",
                                              wait->timeout_seconds,
                                              sfb_dbus_account_get_state (wait->account));

  wait->timeout_id = 0;
  sfbctl_print_error_named (wait->ctl, SFB_DBUS_ERROR_TIMED_OUT, message);
  sign_in_wait_finish (wait, SFBCTL_EXIT_FAILURE);
  return G_SOURCE_REMOVE;
}

static void
on_sign_in_returned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SignInWait *wait = user_data;
  g_autoptr (GError) error = NULL;

  if (!sfb_dbus_account_call_sign_in_finish (wait->account, result, &error))
    {
      sign_in_wait_finish (wait, sfbctl_print_error (wait->ctl, error));
      return;
    }
  wait->call_returned = TRUE;
  follow_state (wait);
}

static int
sign_in_and_wait (Sfbctl *ctl, SfbDBusAccount *account, guint timeout_seconds)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  SignInWait wait = {
    .ctl = ctl,
    .account = account,
    .loop = loop,
    .started_at = g_get_monotonic_time (),
    .timeout_seconds = timeout_seconds,
  };

  ctl->json_lines = TRUE;
  wait.timeout_id = g_timeout_add_seconds (timeout_seconds, on_timeout, &wait);

  /* subscribed before the call, so no stage is missed */
  g_signal_connect (account, "g-properties-changed", G_CALLBACK (on_properties_changed), &wait);
  g_signal_connect (account, "notify::g-name-owner", G_CALLBACK (on_name_owner_changed), &wait);
  follow_state (&wait); /* the state it starts from */
  sfb_dbus_account_call_sign_in (account, NULL, on_sign_in_returned, &wait);
  g_main_loop_run (loop);

  g_signal_handlers_disconnect_by_data (account, &wait);
  g_clear_handle_id (&wait.timeout_id, g_source_remove);
  g_free (wait.last_state);
  return wait.exit_code;
}

int
sfbctl_cmd_sign_in (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusAccount) account = NULL;
  g_autoptr (GError) error = NULL;
  gboolean wait = FALSE;
  int timeout_seconds = SFBCTL_NO_TIMEOUT_OPTION;
  int exit_code = SFBCTL_EXIT_OK;
  const GOptionEntry entries[] = {
    { "wait",
      'w',
      0,
      G_OPTION_ARG_NONE,
      &wait,
      "Follow the stages until signed in or failed",
      NULL },
    { "timeout",
      't',
      0,
      G_OPTION_ARG_INT,
      &timeout_seconds,
      "Give up waiting, and on sfbd not answering, after SECONDS (default 120)",
      "SECONDS" },
    G_OPTION_ENTRY_NULL,
  };

  if (!sfbctl_parse_no_arguments (
          ctl, "Sign in with the configured account.", entries, &argc, &argv, &exit_code))
    return exit_code;
  /* --timeout bounds the wait and every call; without it calls have the
   * global --timeout */
  if (timeout_seconds != SFBCTL_NO_TIMEOUT_OPTION
      && !sfbctl_set_timeout (ctl, timeout_seconds, &exit_code))
    return exit_code;
  if (timeout_seconds == SFBCTL_NO_TIMEOUT_OPTION)
    timeout_seconds = SIGN_IN_DEFAULT_TIMEOUT_SECONDS;

  /* signing in is what sfbd is for: it may be started for it */
  ctl->auto_start = TRUE;
  account = sfbctl_get_account (ctl, &error);
  if (account == NULL)
    return sfbctl_print_error (ctl, error);
  if (wait)
    return sign_in_and_wait (ctl, account, timeout_seconds);

  if (!sfb_dbus_account_call_sign_in_sync (account, NULL, &error))
    return sfbctl_print_error (ctl, error);
  return sfbctl_print_done (
      ctl, "Signing in as %s; follow it with “sfbctl monitor”", sfb_dbus_account_get_uri (account));
}

/* ---- sign-out ---- */

int
sfbctl_cmd_sign_out (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusAccount) account = NULL;
  g_autoptr (GError) error = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (
          ctl, "Sign out and stay signed out.", NULL, &argc, &argv, &exit_code))
    return exit_code;

  account = sfbctl_get_account (ctl, &error);
  if (account == NULL || !sfb_dbus_account_call_sign_out_sync (account, NULL, &error))
    return sfbctl_print_error (ctl, error);
  return sfbctl_print_done (ctl, "Signed out");
}

/* ---- set-password ---- */

static struct termios saved_terminal;

/* Ctrl-C at the prompt must not leave the terminal without echo */
static void
restore_terminal_and_die (int signum)
{
  tcsetattr (STDIN_FILENO, TCSANOW, &saved_terminal);
  signal (signum, SIG_DFL);
  raise (signum);
}

/* one line into @buffer, without its line end; FALSE at end of input */
static gboolean
read_line (char *buffer, gsize size)
{
  if (fgets (buffer, size, stdin) == NULL)
    return FALSE;
  buffer[strcspn (buffer, "\r\n")] = '\0';
  return TRUE;
}

static gboolean
read_line_without_echo (const char *prompt, char *buffer, gsize size)
{
  struct termios quiet;
  gboolean ok;

  if (tcgetattr (STDIN_FILENO, &saved_terminal) != 0)
    return FALSE;
  quiet = saved_terminal;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  signal (SIGINT, restore_terminal_and_die);
  signal (SIGTERM, restore_terminal_and_die);
  signal (SIGHUP, restore_terminal_and_die);

  /* echo goes off before the prompt shows, so no typed character is flushed */
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
  fprintf (stderr, "%s", prompt);
  ok = read_line (buffer, size);
  tcsetattr (STDIN_FILENO, TCSANOW, &saved_terminal);
  fprintf (stderr, "\n");

  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  signal (SIGHUP, SIG_DFL);
  return ok;
}

/* Account.CredentialStoreMessage as sfbd has it now (the proxy's cache may
 * not have the change yet); NULL from a sfbd without it. */
static char *
fetch_credential_store_message (SfbDBusAccount *account)
{
  GDBusProxy *proxy = G_DBUS_PROXY (account);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) value = NULL;

  reply = g_dbus_connection_call_sync (
      g_dbus_proxy_get_connection (proxy),
      g_dbus_proxy_get_name (proxy),
      g_dbus_proxy_get_object_path (proxy),
      "org.freedesktop.DBus.Properties",
      "Get",
      g_variant_new ("(ss)", g_dbus_proxy_get_interface_name (proxy), "CredentialStoreMessage"),
      G_VARIANT_TYPE ("(v)"),
      G_DBUS_CALL_FLAGS_NO_AUTO_START,
      -1,
      NULL,
      NULL);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(v)", &value);
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
      || *g_variant_get_string (value, NULL) == '\0')
    return NULL;
  return g_variant_dup_string (value, NULL);
}

static int
send_password (Sfbctl *ctl, SfbDBusAccount *account, const char *password, gboolean store)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *where = NULL;

  if (!sfb_dbus_account_call_set_password_sync (account, password, store, NULL, &error))
    return sfbctl_print_error (ctl, error);
  /* where it went, and for a plain file why and how to get a keyring */
  where = fetch_credential_store_message (account);
  if (where != NULL)
    return sfbctl_print_done (ctl, "%s", where);
  if (store)
    return sfbctl_print_done (ctl, "Password stored");
  return sfbctl_print_done (ctl, "Password set until sfbd stops (not stored)");
}

int
sfbctl_cmd_set_password (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusAccount) account = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *prompt = NULL;
  gboolean from_stdin = FALSE, no_store = FALSE, have_line;
  char password[1024];
  int exit_code = SFBCTL_EXIT_OK;
  const GOptionEntry entries[] = {
    { "stdin",
      0,
      0,
      G_OPTION_ARG_NONE,
      &from_stdin,
      "Read the password from one line of stdin",
      NULL },
    { "no-store",
      0,
      0,
      G_OPTION_ARG_NONE,
      &no_store,
      "Keep it in sfbd's memory only, not in the secret store",
      NULL },
    G_OPTION_ENTRY_NULL,
  };

  if (!sfbctl_parse_options (ctl,
                             NULL,
                             "Set the account password.  It is asked for without echo, or read "
                             "from stdin,\nnever taken from the command line.",
                             entries,
                             &argc,
                             &argv,
                             &exit_code))
    return exit_code;
  if (argc > 1)
    return sfbctl_print_usage_error (
        ctl, "the password is never taken from the command line; use the prompt or --stdin");
  if (!from_stdin && !isatty (STDIN_FILENO))
    return sfbctl_print_usage_error (ctl, "stdin is not a terminal; use --stdin");

  /* fail before asking when sfbd cannot take it; sfbd stores it, so it
   * may be started for it */
  ctl->auto_start = TRUE;
  account = sfbctl_get_account (ctl, &error);
  if (account == NULL)
    return sfbctl_print_error (ctl, error);

  prompt = g_strdup_printf ("Password for %s: ", sfb_dbus_account_get_login (account));
  have_line = from_stdin ? read_line (password, sizeof password)
                         : read_line_without_echo (prompt, password, sizeof password);
  if (!have_line || password[0] == '\0')
    exit_code = sfbctl_print_usage_error (ctl, "no password given");
  else if (!g_utf8_validate (password, -1, NULL))
    exit_code = sfbctl_print_usage_error (ctl, "the password is not valid UTF-8 text");
  else
    exit_code = send_password (ctl, account, password, !no_store);
  explicit_bzero (password, sizeof password);
  return exit_code;
}

/* ---- trace ---- */

static char *
format_clock_time (guint64 usec_since_epoch)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (usec_since_epoch / G_USEC_PER_SEC);
  g_autoptr (GDateTime) local = NULL;
  g_autofree char *seconds = NULL;

  if (utc == NULL)
    return g_strdup ("?");
  local = g_date_time_to_local (utc);
  seconds = g_date_time_format (local, "%H:%M:%S");
  return g_strdup_printf ("%s.%03u", seconds, (guint) (usec_since_epoch % G_USEC_PER_SEC / 1000));
}

static void
add_stage_row (SfbctlTable *table, GVariant *stage)
{
  guint64 started_at = 0, duration = 0;
  g_autofree char *name = sfbctl_lookup_string (stage, "Stage");
  g_autofree char *result = sfbctl_lookup_string (stage, "Result");
  g_autofree char *detail = sfbctl_lookup_string (stage, "Detail");
  g_autofree char *started_text = NULL;
  g_autofree char *duration_text = NULL;

  g_variant_lookup (stage, "StartedAt", "t", &started_at);
  g_variant_lookup (stage, "Duration", "t", &duration);
  started_text = format_clock_time (started_at);
  duration_text = sfbctl_format_duration (duration);
  sfbctl_table_add_row (
      table, name, started_text, duration_text, sfb_error_view_short_name (result), detail);
}

/* A SignIn() refused before any stage (no password, nothing configured):
 * the trace is empty, LastError says why. */
static void
print_refusal (SfbDBusAccount *account)
{
  const char *name = sfb_dbus_account_get_last_error (account);
  const char *message = sfb_dbus_account_get_last_error_message (account);

  if (name == NULL || *name == '\0')
    return;
  printf ("Sign-in refused before it started (%s): %s\n",
          sfb_error_view_short_name (name),
          message != NULL ? message : "");
}

/* After the stages: when sfbd tries again by itself (Account.NextRetry). */
static void
print_next_retry (SfbDBusAccount *account)
{
  g_autofree char *next = sfbctl_format_next_retry (sfb_dbus_account_get_next_retry (account));

  if (next != NULL)
    printf ("Next attempt: %s\n", next);
  else if (g_strcmp0 (sfb_dbus_account_get_state (account), SFB_STATE_RECONNECTING) == 0)
    printf ("Next attempt: when the network changes\n");
}

int
sfbctl_cmd_trace (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusAccount) account = NULL;
  g_autoptr (GVariant) stages = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbctlTable) table = NULL;
  int exit_code = SFBCTL_EXIT_OK;

  if (!sfbctl_parse_no_arguments (ctl,
                                  "Show the stages of the last sign-in, with timings.",
                                  NULL,
                                  &argc,
                                  &argv,
                                  &exit_code))
    return exit_code;

  account = sfbctl_get_account (ctl, &error);
  if (account == NULL
      || !sfb_dbus_account_call_get_sign_in_trace_sync (account, &stages, NULL, &error))
    return sfbctl_print_error (ctl, error);

  if (ctl->json)
    return sfbctl_print_variant_json (stages);
  if (g_variant_n_children (stages) == 0)
    {
      print_refusal (account);
      return sfbctl_print_done (ctl, "No sign-in attempt yet");
    }

  table = sfbctl_table_new ("STAGE", "STARTED", "DURATION", "RESULT", "DETAIL", NULL);
  for (gsize i = 0; i < g_variant_n_children (stages); i++)
    {
      g_autoptr (GVariant) stage = g_variant_get_child_value (stages, i);
      add_stage_row (table, stage);
    }
  sfbctl_table_print (table);
  print_next_retry (account);
  return SFBCTL_EXIT_OK;
}
