/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbctl diagnose [--sign-in] [--domain DOMAIN]: runs Diagnostics.Diagnose()
 * and prints each check as its CheckCompleted arrives; --json prints the
 * result as one array.  Exit 0 when no check FAILs, 1 otherwise.
 */
#include "config.h"

#include "sfbctl.h"
#include "sfbctl-output.h"
#include "sfbd/sfb-names.h"

#include <stdio.h>

/* a diagnosis gives up on each unreachable host after seconds; many hosts
 * and web requests make a minute or two */
#define DIAGNOSE_TIMEOUT_SECONDS 300

typedef struct
{
  Sfbctl *ctl;
  GMainLoop *loop;
  guint printed; /* checks printed as they came */
  GVariant *checks;
  GError *error;
} Run;

static SfbctlStyle
result_style (const char *result)
{
  if (g_strcmp0 (result, "PASS") == 0)
    return SFBCTL_STYLE_GOOD;
  if (g_strcmp0 (result, "WARN") == 0)
    return SFBCTL_STYLE_BUSY;
  if (g_strcmp0 (result, "FAIL") == 0)
    return SFBCTL_STYLE_BAD;
  return SFBCTL_STYLE_DIM;
}

static void
print_check (GVariant *check)
{
  g_autofree char *stage = sfbctl_lookup_string (check, "Stage");
  g_autofree char *name = sfbctl_lookup_string (check, "Check");
  g_autofree char *result = sfbctl_lookup_string (check, "Result");
  g_autofree char *evidence = sfbctl_lookup_string (check, "Evidence");
  g_autofree char *fix = sfbctl_lookup_string (check, "Fix");

  printf ("%s%-4s%s %-12s %s\n",
          sfbctl_style (result_style (result)),
          result,
          sfbctl_style_reset (),
          stage,
          name);
  if (*evidence != '\0')
    printf ("     %s\n", evidence);
  if (*fix != '\0')
    printf ("     %sFix:%s %s\n", sfbctl_style (SFBCTL_STYLE_BOLD), sfbctl_style_reset (), fix);
  fflush (stdout);
}

static void
on_check_completed (GDBusConnection *bus,
                    const char *sender,
                    const char *path,
                    const char *interface,
                    const char *signal,
                    GVariant *parameters,
                    gpointer user_data)
{
  Run *run = user_data;
  g_autoptr (GVariant) check = NULL;

  (void) bus, (void) sender, (void) path, (void) interface, (void) signal;
  if (run->ctl->json || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv})")))
    return;
  check = g_variant_get_child_value (parameters, 1);
  print_check (check);
  run->printed++;
}

static void
on_diagnosed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;

  sfb_dbus_diagnostics_call_diagnose_finish (
      SFB_DBUS_DIAGNOSTICS (source), &run->checks, result, &run->error);
  g_main_loop_quit (run->loop);
}

static int
print_summary (Run *run)
{
  guint counts[4] = { 0 };
  static const char *const results[] = { "PASS", "WARN", "FAIL", "SKIP" };
  gsize n = g_variant_n_children (run->checks);

  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) check = g_variant_get_child_value (run->checks, i);
      g_autofree char *result = sfbctl_lookup_string (check, "Result");

      /* a signal lost on the way: print the rest from the reply */
      if (!run->ctl->json && i >= run->printed)
        print_check (check);
      for (guint r = 0; r < G_N_ELEMENTS (results); r++)
        if (g_str_equal (result, results[r]))
          counts[r]++;
    }
  if (run->ctl->json)
    sfbctl_print_variant_json (run->checks);
  else
    printf ("\n%u passed, %u warnings, %u failed, %u skipped\n",
            counts[0],
            counts[1],
            counts[2],
            counts[3]);
  return counts[2] > 0 ? SFBCTL_EXIT_FAILURE : SFBCTL_EXIT_OK;
}

/* --timeout, else the global one when given, else the longer default:
 * the checks with a test sign-in take a while */
static gboolean
set_diagnose_timeout (Sfbctl *ctl, int timeout_seconds, int *exit_code)
{
  if (timeout_seconds != SFBCTL_NO_TIMEOUT_OPTION)
    return sfbctl_set_timeout (ctl, timeout_seconds, exit_code);
  if (!ctl->timeout_given)
    ctl->timeout_seconds = DIAGNOSE_TIMEOUT_SECONDS;
  return TRUE;
}

static GVariant *
diagnose_options (const char *domain, gboolean sign_in, const char *token)
{
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  if (domain != NULL)
    g_variant_builder_add (&options, "{sv}", "Domain", g_variant_new_string (domain));
  if (sign_in)
    g_variant_builder_add (&options, "{sv}", "SignIn", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&options, "{sv}", "Token", g_variant_new_string (token));
  return g_variant_builder_end (&options);
}

/* Diagnose(), printing each check as its CheckCompleted signal (matched
 * by @token) comes, then the summary from the reply */
static int
run_diagnose (Sfbctl *ctl, SfbDBusDiagnostics *diagnostics, GVariant *options, const char *token)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Run run = { .ctl = ctl, .loop = loop };
  guint subscription;
  int exit_code;

  subscription = g_dbus_connection_signal_subscribe (ctl->bus,
                                                     SFB_DBUS_NAME,
                                                     SFB_DBUS_DIAGNOSTICS_INTERFACE,
                                                     "CheckCompleted",
                                                     SFB_DBUS_PATH,
                                                     token,
                                                     G_DBUS_SIGNAL_FLAGS_NONE,
                                                     on_check_completed,
                                                     &run,
                                                     NULL);
  sfb_dbus_diagnostics_call_diagnose (diagnostics, options, NULL, on_diagnosed, &run);
  g_main_loop_run (loop);
  g_dbus_connection_signal_unsubscribe (ctl->bus, subscription);

  if (run.checks == NULL)
    {
      exit_code = sfbctl_print_error (ctl, run.error);
      g_clear_error (&run.error);
      return exit_code;
    }
  exit_code = print_summary (&run);
  g_variant_unref (run.checks);
  return exit_code;
}

int
sfbctl_cmd_diagnose (Sfbctl *ctl, int argc, char **argv)
{
  g_autoptr (SfbDBusDiagnostics) diagnostics = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *domain = NULL;
  g_autofree char *token = NULL;
  gboolean sign_in = FALSE;
  int timeout_seconds = SFBCTL_NO_TIMEOUT_OPTION;
  int exit_code = SFBCTL_EXIT_OK;
  const GOptionEntry entries[] = {
    { "sign-in",
      0,
      0,
      G_OPTION_ARG_NONE,
      &sign_in,
      "Also sign in for real with the stored credentials (then sign that test out)",
      NULL },
    { "domain",
      0,
      0,
      G_OPTION_ARG_STRING,
      &domain,
      "Check DOMAIN's published records, without an account",
      "DOMAIN" },
    { "timeout",
      0,
      0,
      G_OPTION_ARG_INT,
      &timeout_seconds,
      "Give up after SECONDS without an answer (default 300)",
      "SECONDS" },
    G_OPTION_ENTRY_NULL,
  };

  if (!sfbctl_parse_no_arguments (
          ctl,
          "Check every step of sign-in from this machine: DNS, autodiscover, "
          "connectivity, TLS, authentication, redirection and the settings "
          "services; each check says PASS, WARN, FAIL or SKIP, with the fix.",
          entries,
          &argc,
          &argv,
          &exit_code))
    return exit_code;
  if (!set_diagnose_timeout (ctl, timeout_seconds, &exit_code))
    return exit_code;

  ctl->auto_start = TRUE;
  diagnostics = sfbctl_get_diagnostics (ctl, &error);
  if (diagnostics == NULL)
    return sfbctl_print_error (ctl, error);
  token = g_uuid_string_random ();
  return run_diagnose (ctl, diagnostics, diagnose_options (domain, sign_in, token), token);
}
