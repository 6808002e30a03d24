/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The account window: see sfb-account-window.h. */
#define G_LOG_DOMAIN "sfbd-window"

#include "config.h"

#include "sfb-account-window.h"

#include "sfb-dbus-generated.h"
#include "sfb-error-view.h"
#include "sfb-presence-view.h"

#include <sfbd/sfb-names.h>
#include <string.h>

/* the bound of every call to sfbd but Diagnose() */
#define CALL_TIMEOUT_MSEC 25000
/* Diagnose() with a test sign-in takes a while on a slow network */
#define DIAGNOSE_TIMEOUT_MSEC 120000
/* longest text kept from a stage's or a check's detail */
#define MAX_DETAIL 300
#define MAX_STAGES 64
#define MAX_CHECKS 128

struct _SfbAccountWindow
{
  AdwApplicationWindow parent_instance;

  GDBusConnection *connection;
  SfbDBusAccount *account;         /* NULL until made */
  SfbDBusDiagnostics *diagnostics; /* NULL until made */
  SfbDBusPresence *presence;       /* NULL until made */
  GCancellable *cancellable;
  char *traced_state;
  char *diagnose_token;
  SfbAccountWindowPage pending_page;
  gboolean filled; /* the account fields hold sfbd's values */

  AdwViewStack *stack;
  /* sign-in */
  GtkLabel *state_label;
  GtkLabel *error_label;
  GtkLabel *advice_label;
  GtkLabel *retry_label;
  GtkLabel *action_label;
  GtkWidget *error_box;
  GtkButton *sign_in_button;
  GtkButton *sign_out_button;
  GtkButton *fix_button;
  SfbAccountWindowPage fix_page;
  GtkListBox *stages;
  GtkWidget *note_group;
  GtkEditable *note_entry;
  GtkLabel *note_label;
  /* account */
  GtkEditable *uri_entry;
  GtkEditable *login_entry;
  GtkEditable *server_entry;
  AdwComboRow *auth_row;
  GtkEditable *password_entry;
  GtkSwitch *store_switch;
  GtkButton *save_button;
  GtkLabel *account_label;
  /* checks */
  GtkCheckButton *diagnose_sign_in;
  GtkButton *diagnose_button;
  GtkLabel *diagnose_label;
  GtkListBox *checks;
  guint n_checks;
};

G_DEFINE_FINAL_TYPE (SfbAccountWindow, sfb_account_window, ADW_TYPE_APPLICATION_WINDOW)

/* Config values of Account.Auth, in the order of the combo row */
static const char *const auth_values[]
    = { SFB_AUTH_AUTO, SFB_AUTH_NTLM, SFB_AUTH_KERBEROS, SFB_AUTH_TLS_DSK, NULL };
static const char *const auth_words[]
    = { "Automatic", "NTLM (password)", "Kerberos", "TLS-DSK (certificate)", NULL };

/* where the window lets the user fix an error */
static SfbAccountWindowPage
fix_page (const SfbErrorFix *fix)
{
  switch (fix != NULL ? fix->place : SFB_ERROR_FIX_NOWHERE)
    {
    case SFB_ERROR_FIX_PASSWORD:
      return SFB_ACCOUNT_WINDOW_PAGE_PASSWORD;
    case SFB_ERROR_FIX_ACCOUNT:
      return SFB_ACCOUNT_WINDOW_PAGE_ACCOUNT;
    case SFB_ERROR_FIX_CHECKS:
      return SFB_ACCOUNT_WINDOW_PAGE_DIAGNOSE;
    case SFB_ERROR_FIX_NOWHERE:
    default:
      return SFB_ACCOUNT_WINDOW_PAGE_DETAILS;
    }
}

static gboolean
is_running (SfbAccountWindow *self)
{
  g_autofree char *owner = NULL;

  if (self->account == NULL)
    return FALSE;
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (self->account));
  return owner != NULL;
}

static const char *
account_state (SfbAccountWindow *self)
{
  const char *state = is_running (self) ? sfb_dbus_account_get_state (self->account) : NULL;

  return state != NULL ? state : "";
}

/* a failed call to sfbd in words */
static char *
error_text (const char *what, const GError *error)
{
  return sfb_error_view_call_text (what, "sfbd", error);
}

static void
set_label (GtkLabel *label, const char *text)
{
  gtk_label_set_text (label, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (label), text != NULL && *text != '\0');
}

/* ---- the sign-in page ---- */

static GtkWidget *
stage_row (GVariant *stage)
{
  g_autofree char *name = NULL;
  g_autofree char *subtitle = sfb_presence_view_stage_text (stage, MAX_DETAIL, &name);
  GtkWidget *row = adw_action_row_new ();

  /* the texts are sfbd's: no Pango markup in them */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  return row;
}

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static void
show_trace (SfbAccountWindow *self, GVariant *stages)
{
  gsize n = g_variant_n_children (stages);

  clear_list (self->stages);
  for (gsize i = 0; i < n && i < MAX_STAGES; i++)
    {
      g_autoptr (GVariant) stage = g_variant_get_child_value (stages, i);

      gtk_list_box_append (self->stages, stage_row (stage));
    }
  if (n == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), "No sign-in attempt yet");
      gtk_list_box_append (self->stages, row);
    }
}

static void
on_trace (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbAccountWindow) self = user_data;
  g_autoptr (GVariant) stages = NULL;
  g_autoptr (GError) error = NULL;

  if (!sfb_dbus_account_call_get_sign_in_trace_finish (
          SFB_DBUS_ACCOUNT (source), &stages, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("No sign-in trace: %s", error->message);
      return;
    }
  show_trace (self, stages);
}

static void
fetch_trace (SfbAccountWindow *self)
{
  if (!is_running (self))
    return;
  sfb_dbus_account_call_get_sign_in_trace (
      self->account, self->cancellable, on_trace, g_object_ref (self));
}

static char *
state_text (SfbAccountWindow *self, const char *state)
{
  const char *words;

  if (!is_running (self))
    return g_strdup ("sfbd is not running");
  words = sfb_presence_view_state_words (state);
  if (g_str_equal (state, SFB_STATE_SIGNED_IN))
    {
      const char *uri = sfb_dbus_account_get_uri (self->account);
      g_autofree char *clean_uri = sfb_presence_view_clean_text (uri, 100);

      return g_strdup_printf ("%s as %s", words, clean_uri);
    }
  if (g_str_equal (state, SFB_STATE_DISCOVERING) || g_str_equal (state, SFB_STATE_CONNECTING)
      || g_str_equal (state, SFB_STATE_AUTHENTICATING) || g_str_equal (state, SFB_STATE_REDIRECTING)
      || g_str_equal (state, SFB_STATE_RETRIEVING_SETTINGS))
    return g_strdup_printf ("Signing in: %s", words);
  return g_strdup (words);
}

/* reconnecting: when sfbd tries again by itself; NULL otherwise */
static char *
retry_text (SfbAccountWindow *self, const char *state)
{
  SfbPresenceInput input = { .state = state };
  g_autofree char *next = NULL;

  if (!g_str_equal (state, SFB_STATE_RECONNECTING))
    return NULL;
  input.next_retry = sfb_dbus_account_get_next_retry (self->account);
  next = sfb_presence_view_next_attempt (&input);
  return g_strdup_printf ("Next attempt %s", next);
}

/* the last error, what to do about it, and the button to where it is done */
static void
update_error (SfbAccountWindow *self, const char *state)
{
  const char *name = is_running (self) ? sfb_dbus_account_get_last_error (self->account) : NULL;
  const char *message = NULL;
  const SfbErrorFix *fix = sfb_error_view_fix (name);
  g_autofree char *clean_message = NULL;
  g_autofree char *retry = NULL;
  gboolean shown = name != NULL && *name != '\0' && !g_str_equal (state, SFB_STATE_SIGNED_IN);

  gtk_widget_set_visible (self->error_box, shown);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_button), FALSE);
  if (!shown)
    return;
  message = sfb_dbus_account_get_last_error_message (self->account);
  clean_message = sfb_presence_view_clean_text (
      message != NULL && *message != '\0' ? message : name, SFB_PRESENCE_VIEW_MAX_TEXT);
  set_label (self->error_label, clean_message);
  set_label (self->advice_label, fix != NULL ? fix->advice : NULL);
  retry = retry_text (self, state);
  set_label (self->retry_label, retry);
  self->fix_page = fix_page (fix);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_button), fix != NULL && fix->button != NULL);
  if (fix != NULL && fix->button != NULL)
    gtk_button_set_label (self->fix_button, fix->button);
}

static void fill_account (SfbAccountWindow *self);

static void
update (SfbAccountWindow *self)
{
  const char *state = account_state (self);
  g_autofree char *text = state_text (self, state);
  gboolean running = is_running (self);
  gboolean signed_out = g_str_equal (state, SFB_STATE_SIGNED_OUT);
  gboolean failed = g_str_equal (state, SFB_STATE_FAILED);

  gtk_label_set_text (self->state_label, text);
  update_error (self, state);
  /* Sign in also starts sfbd through D-Bus activation */
  gtk_widget_set_sensitive (GTK_WIDGET (self->sign_in_button), !running || signed_out || failed);
  gtk_widget_set_sensitive (GTK_WIDGET (self->sign_out_button), running && !signed_out);
  /* sfbd publishes a note only while signed in */
  gtk_widget_set_sensitive (self->note_group, g_str_equal (state, SFB_STATE_SIGNED_IN));
  if (running && !self->filled)
    fill_account (self);
  /* each new state may have a new stage */
  if (g_strcmp0 (self->traced_state, state) != 0)
    {
      g_free (self->traced_state);
      self->traced_state = g_strdup (state);
      fetch_trace (self);
    }
}

static void
on_account_changed (GDBusProxy *proxy,
                    GVariant *changed,
                    const char *const *invalidated,
                    SfbAccountWindow *self)
{
  update (self);
}

static void
on_owner_changed (GObject *proxy, GParamSpec *pspec, SfbAccountWindow *self)
{
  g_clear_pointer (&self->traced_state, g_free);
  update (self);
}

/* ---- calling sfbd ---- */

typedef enum
{
  STEP_CONFIGURE = 1 << 0,
  STEP_PASSWORD = 1 << 1,
  STEP_SIGN_IN = 1 << 2,
} Steps;

/* one click: some of Configure(), SetPassword(), SignIn() in this order,
 * stopping at the first error */
typedef struct
{
  SfbAccountWindow *window;
  Steps steps;
  GVariant *settings; /* a{sv} for Configure() */
  char *password;     /* wiped when freed */
  gboolean store;
  GtkLabel *report; /* where the outcome is shown */
} Job;

static void
job_free (Job *job)
{
  g_object_unref (job->window);
  g_clear_pointer (&job->settings, g_variant_unref);
  if (job->password != NULL)
    memset (job->password, 0, strlen (job->password));
  g_free (job->password);
  g_free (job);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

static void job_next (Job *job);

static void
job_failed (Job *job, const char *what, GError *error)
{
  g_autofree char *text = error_text (what, error);

  g_info ("%s", text);
  gtk_label_set_text (job->report, text);
  gtk_widget_remove_css_class (GTK_WIDGET (job->report), "success");
  gtk_widget_add_css_class (GTK_WIDGET (job->report), "error");
  job_free (job);
}

static void
on_configured (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  g_autoptr (GError) error = NULL;

  if (!sfb_dbus_account_call_configure_finish (SFB_DBUS_ACCOUNT (source), result, &error))
    {
      job_failed (job, "save the account", error);
      return;
    }
  job->window->filled = FALSE;
  job_next (job);
}

static void
on_password_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  g_autoptr (GError) error = NULL;

  if (!sfb_dbus_account_call_set_password_finish (SFB_DBUS_ACCOUNT (source), result, &error))
    {
      job_failed (job, "set the password", error);
      return;
    }
  gtk_editable_set_text (job->window->password_entry, "");
  job_next (job);
}

static void
on_signed_in (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  g_autoptr (GError) error = NULL;

  /* SignIn() returns when the attempt starts; the state tells the rest */
  if (!sfb_dbus_account_call_sign_in_finish (SFB_DBUS_ACCOUNT (source), result, &error))
    {
      job_failed (job, "sign in", error);
      return;
    }
  job_next (job);
}

static void
job_next (Job *job)
{
  SfbDBusAccount *account = job->window->account;
  GCancellable *cancellable = job->window->cancellable;

  if (job->steps & STEP_CONFIGURE)
    {
      job->steps &= ~STEP_CONFIGURE;
      sfb_dbus_account_call_configure (account, job->settings, cancellable, on_configured, job);
    }
  else if (job->steps & STEP_PASSWORD)
    {
      job->steps &= ~STEP_PASSWORD;
      sfb_dbus_account_call_set_password (
          account, job->password, job->store, cancellable, on_password_set, job);
    }
  else if (job->steps & STEP_SIGN_IN)
    {
      job->steps &= ~STEP_SIGN_IN;
      sfb_dbus_account_call_sign_in (account, cancellable, on_signed_in, job);
    }
  else
    {
      gtk_label_set_text (job->report, "Done");
      gtk_widget_remove_css_class (GTK_WIDGET (job->report), "error");
      gtk_widget_add_css_class (GTK_WIDGET (job->report), "success");
      job_free (job);
    }
}

static Job *
job_new (SfbAccountWindow *self, Steps steps, GtkLabel *report)
{
  Job *job = g_new0 (Job, 1);

  job->window = g_object_ref (self);
  job->steps = steps;
  job->report = report;
  gtk_label_set_text (report, "");
  return job;
}

static void
job_start (Job *job)
{
  if (job->window->account == NULL)
    {
      g_autoptr (GError) error
          = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "no session bus");

      job_failed (job, "reach sfbd", error);
      return;
    }
  job_next (job);
}

/* ---- the account page ---- */

static GVariant *
account_settings (SfbAccountWindow *self)
{
  g_auto (GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  guint auth = adw_combo_row_get_selected (self->auth_row);
  g_autofree char *uri = g_strstrip (g_strdup (gtk_editable_get_text (self->uri_entry)));
  g_autofree char *login = g_strstrip (g_strdup (gtk_editable_get_text (self->login_entry)));
  g_autofree char *server = g_strstrip (g_strdup (gtk_editable_get_text (self->server_entry)));

  /* "" removes a key: Login and Server fall back to their defaults */
  g_variant_builder_add (&builder, "{sv}", "Account.Uri", g_variant_new_string (uri));
  g_variant_builder_add (&builder, "{sv}", "Account.Login", g_variant_new_string (login));
  g_variant_builder_add (&builder, "{sv}", "Account.Server", g_variant_new_string (server));
  if (auth >= G_N_ELEMENTS (auth_values) - 1)
    auth = 0;
  g_variant_builder_add (
      &builder, "{sv}", "Account.Auth", g_variant_new_string (auth_values[auth]));
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static void
start_account_job (SfbAccountWindow *self, gboolean sign_in)
{
  Job *job = job_new (self, STEP_CONFIGURE, self->account_label);
  const char *password = gtk_editable_get_text (self->password_entry);

  job->settings = account_settings (self);
  if (*password != '\0')
    {
      job->steps |= STEP_PASSWORD;
      job->password = g_strdup (password);
      job->store = gtk_switch_get_active (self->store_switch);
    }
  if (sign_in)
    job->steps |= STEP_SIGN_IN;
  job_start (job);
}

static void
on_save_clicked (GtkButton *button, SfbAccountWindow *self)
{
  start_account_job (self, TRUE);
}

static void
on_entry_activate (GtkWidget *entry, SfbAccountWindow *self)
{
  start_account_job (self, TRUE);
}

/* What sfbd.conf says that no property shows (the configured server, not
 * the one in use, and Auth); read, like `sfbctl config show`, never written. */
static void
fill_from_config_file (SfbAccountWindow *self)
{
  const char *dir = g_getenv (SFB_ENV_CONFIG_DIR);
  g_autofree char *path = NULL;
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autofree char *server = NULL;
  g_autofree char *auth = NULL;

  if (dir != NULL && *dir != '\0')
    path = g_build_filename (dir, "sfbd.conf", NULL);
  else
    path = g_build_filename (g_get_user_config_dir (), "sfbd", "sfbd.conf", NULL);
  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, NULL))
    return;
  server = g_key_file_get_string (key_file, "Account", "Server", NULL);
  auth = g_key_file_get_string (key_file, "Account", "Auth", NULL);
  if (server != NULL && g_utf8_validate (server, -1, NULL))
    gtk_editable_set_text (self->server_entry, g_strstrip (server));
  for (guint i = 0; auth != NULL && auth_values[i] != NULL; i++)
    if (g_str_equal (g_strstrip (auth), auth_values[i]))
      adw_combo_row_set_selected (self->auth_row, i);
}

/* the fields start with sfbd's values, once: later the user's typing wins */
static void
fill_account (SfbAccountWindow *self)
{
  const char *uri = sfb_dbus_account_get_uri (self->account);
  const char *login = sfb_dbus_account_get_login (self->account);

  self->filled = TRUE;
  if (*gtk_editable_get_text (self->uri_entry) == '\0' && uri != NULL)
    gtk_editable_set_text (self->uri_entry, uri);
  if (*gtk_editable_get_text (self->login_entry) == '\0' && login != NULL)
    gtk_editable_set_text (self->login_entry, login);
  if (*gtk_editable_get_text (self->server_entry) == '\0')
    fill_from_config_file (self);
}

/* ---- the checks page ---- */

static GtkWidget *
check_row (GVariant *check)
{
  const char *stage = "";
  const char *name = "?";
  const char *result = "?";
  const char *evidence = "";
  const char *fix = "";
  g_autofree char *title = NULL;
  g_autofree char *clean_title = NULL;
  g_autofree char *clean_evidence = NULL;
  g_autofree char *clean_fix = NULL;
  g_autofree char *subtitle = NULL;
  GtkWidget *row = adw_action_row_new ();

  g_variant_lookup (check, "Stage", "&s", &stage);
  g_variant_lookup (check, "Check", "&s", &name);
  g_variant_lookup (check, "Result", "&s", &result);
  g_variant_lookup (check, "Evidence", "&s", &evidence);
  g_variant_lookup (check, "Fix", "&s", &fix);
  title = g_strdup_printf ("%s: %s — %s", stage, name, result);
  clean_title = sfb_presence_view_clean_text (title, 120);
  clean_evidence = sfb_presence_view_clean_text (evidence, MAX_DETAIL);
  clean_fix = sfb_presence_view_clean_text (fix, MAX_DETAIL);
  subtitle
      = g_strdup_printf ("%s%s%s", clean_evidence, *clean_fix != '\0' ? "\nFix: " : "", clean_fix);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), clean_title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  if (g_str_equal (result, "FAIL"))
    gtk_widget_add_css_class (row, "error");
  else if (g_str_equal (result, "WARN"))
    gtk_widget_add_css_class (row, "warning");
  return row;
}

static void
add_check (SfbAccountWindow *self, GVariant *check)
{
  if (self->n_checks >= MAX_CHECKS)
    return;
  self->n_checks++;
  gtk_list_box_append (self->checks, check_row (check));
}

static void
on_check_completed (SfbDBusDiagnostics *diagnostics,
                    const char *token,
                    GVariant *check,
                    SfbAccountWindow *self)
{
  if (self->diagnose_token != NULL && g_str_equal (token, self->diagnose_token))
    add_check (self, check);
}

/* Diagnose()'s reply holds every check, the signals may have been missed:
 * the list is made again from it.  Returns the count, for the label. */
static char *
show_checks (SfbAccountWindow *self, GVariant *checks)
{
  gsize n = g_variant_n_children (checks);
  guint failed = 0;
  guint warned = 0;

  clear_list (self->checks);
  self->n_checks = 0;
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) check = g_variant_get_child_value (checks, i);
      const char *outcome = "";

      g_variant_lookup (check, "Result", "&s", &outcome);
      failed += g_str_equal (outcome, "FAIL");
      warned += g_str_equal (outcome, "WARN");
      add_check (self, check);
    }
  return g_strdup_printf ("%zu checks: %u failed, %u with warnings", n, failed, warned);
}

static void
on_diagnosed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbAccountWindow) self = user_data;
  g_autoptr (GVariant) checks = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (sfb_dbus_diagnostics_call_diagnose_finish (
          SFB_DBUS_DIAGNOSTICS (source), &checks, result, &error))
    text = show_checks (self, checks);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  else
    text = error_text ("run the checks", error);
  g_clear_pointer (&self->diagnose_token, g_free);
  gtk_label_set_text (self->diagnose_label, text);
  gtk_widget_set_sensitive (GTK_WIDGET (self->diagnose_button), TRUE);
}

static void
on_diagnose_clicked (GtkButton *button, SfbAccountWindow *self)
{
  g_auto (GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autofree char *uuid = g_uuid_string_random ();

  if (self->diagnostics == NULL)
    return;
  g_free (self->diagnose_token);
  self->diagnose_token = g_strdup_printf ("sfbd-window-%s", uuid);
  clear_list (self->checks);
  self->n_checks = 0;
  g_variant_builder_add (&builder, "{sv}", "Token", g_variant_new_string (self->diagnose_token));
  if (gtk_check_button_get_active (self->diagnose_sign_in))
    g_variant_builder_add (&builder, "{sv}", "SignIn", g_variant_new_boolean (TRUE));
  gtk_label_set_text (self->diagnose_label, "Checking…");
  gtk_widget_set_sensitive (GTK_WIDGET (self->diagnose_button), FALSE);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (self->diagnostics), DIAGNOSE_TIMEOUT_MSEC);
  sfb_dbus_diagnostics_call_diagnose (self->diagnostics,
                                      g_variant_builder_end (&builder),
                                      self->cancellable,
                                      on_diagnosed,
                                      g_object_ref (self));
}

/* ---- the personal note ---- */

/* the note sfbd publishes, unless the user is typing one */
static void
show_note (SfbAccountWindow *self)
{
  const char *note = self->presence != NULL ? sfb_dbus_presence_get_note (self->presence) : NULL;

  if (gtk_widget_has_focus (GTK_WIDGET (gtk_editable_get_delegate (self->note_entry))))
    return;
  gtk_editable_set_text (self->note_entry, note != NULL ? note : "");
}

static void
on_presence_changed (GDBusProxy *proxy,
                     GVariant *changed,
                     const char *const *invalidated,
                     SfbAccountWindow *self)
{
  show_note (self);
}

static void
on_note_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbAccountWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sfb_dbus_presence_call_set_note_finish (SFB_DBUS_PRESENCE (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      text = error_text ("set the note", error);
    }
  gtk_label_set_text (self->note_label, text != NULL ? text : "Note set");
}

static void
on_note_clicked (GtkWidget *widget, SfbAccountWindow *self)
{
  if (self->presence == NULL)
    return;
  gtk_label_set_text (self->note_label, "");
  sfb_dbus_presence_call_set_note (self->presence,
                                   gtk_editable_get_text (self->note_entry),
                                   self->cancellable,
                                   on_note_set,
                                   g_object_ref (self));
}

/* ---- the sign-in page's buttons ---- */

static void
on_sign_in_clicked (GtkButton *button, SfbAccountWindow *self)
{
  job_start (job_new (self, STEP_SIGN_IN, self->action_label));
}

static void
on_sign_out_signed_out (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbAccountWindow) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!sfb_dbus_account_call_sign_out_finish (SFB_DBUS_ACCOUNT (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *text = error_text ("sign out", error);

      gtk_label_set_text (self->action_label, text);
    }
}

static void
on_sign_out_clicked (GtkButton *button, SfbAccountWindow *self)
{
  if (self->account == NULL)
    return;
  gtk_label_set_text (self->action_label, "");
  sfb_dbus_account_call_sign_out (
      self->account, self->cancellable, on_sign_out_signed_out, g_object_ref (self));
}

static void
on_fix_clicked (GtkButton *button, SfbAccountWindow *self)
{
  sfb_account_window_show_page (self, self->fix_page);
}

/* ---- the proxies ---- */

static void
on_diagnostics_proxy (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbAccountWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  SfbDBusDiagnostics *diagnostics = sfb_dbus_diagnostics_proxy_new_finish (result, &error);

  if (diagnostics == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot reach sfbd's checks: %s", error->message);
      return;
    }
  self->diagnostics = diagnostics;
  g_signal_connect_object (
      diagnostics, "check-completed", G_CALLBACK (on_check_completed), self, 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->diagnose_button), TRUE);
}

static void
on_presence_proxy (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbAccountWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  SfbDBusPresence *presence = sfb_dbus_presence_proxy_new_finish (result, &error);

  if (presence == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot follow the presence: %s", error->message);
      return;
    }
  self->presence = presence;
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (presence), CALL_TIMEOUT_MSEC);
  g_signal_connect_object (
      presence, "g-properties-changed", G_CALLBACK (on_presence_changed), self, 0);
  show_note (self);
}

static void
on_account_proxy (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbAccountWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  SfbDBusAccount *account = sfb_dbus_account_proxy_new_finish (result, &error);

  if (account == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot reach sfbd: %s", error->message);
      return;
    }
  self->account = account;
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (account), CALL_TIMEOUT_MSEC);
  g_signal_connect_object (
      account, "g-properties-changed", G_CALLBACK (on_account_changed), self, 0);
  g_signal_connect_object (account, "notify::g-name-owner", G_CALLBACK (on_owner_changed), self, 0);
  update (self);
  sfb_account_window_show_page (self, self->pending_page);
}

static void
on_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SfbAccountWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  GDBusConnection *connection = g_bus_get_finish (result, &error);

  if (connection == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_text (self->state_label, "No session bus: cannot reach sfbd");
      return;
    }
  self->connection = connection;
  /* the proxies follow sfbd when it starts later (their name owner) */
  sfb_dbus_account_proxy_new (connection,
                              G_DBUS_PROXY_FLAGS_GET_INVALIDATED_PROPERTIES,
                              SFB_DBUS_NAME,
                              SFB_DBUS_PATH,
                              self->cancellable,
                              on_account_proxy,
                              g_object_ref (self));
  sfb_dbus_presence_proxy_new (connection,
                               G_DBUS_PROXY_FLAGS_GET_INVALIDATED_PROPERTIES,
                               SFB_DBUS_NAME,
                               SFB_DBUS_PATH,
                               self->cancellable,
                               on_presence_proxy,
                               g_object_ref (self));
  sfb_dbus_diagnostics_proxy_new (connection,
                                  G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                                  SFB_DBUS_NAME,
                                  SFB_DBUS_PATH,
                                  self->cancellable,
                                  on_diagnostics_proxy,
                                  g_object_ref (self));
}

/* ---- building the window ---- */

static GtkLabel *
wrapped_label (const char *css_class)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return GTK_LABEL (label);
}

static GtkButton *
button_new (const char *label, const char *css_class, GCallback callback, gpointer self)
{
  GtkWidget *button = gtk_button_new_with_label (label);

  if (css_class != NULL)
    gtk_widget_add_css_class (button, css_class);
  g_signal_connect (button, "clicked", callback, self);
  return GTK_BUTTON (button);
}

/* a row holding @widget; the row's title names it for screen readers */
static GtkWidget *
field_row (const char *title, const char *subtitle, GtkWidget *widget)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (widget, GTK_ALIGN_CENTER);
  gtk_widget_set_hexpand (widget, TRUE);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), widget);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), widget);
  return row;
}

static GtkWidget *
page_new (AdwViewStack *stack, const char *name, const char *title, const char *icon)
{
  GtkWidget *page = adw_preferences_page_new ();

  adw_view_stack_add_titled (stack, page, name, title);
  adw_view_stack_page_set_icon_name (adw_view_stack_get_page (stack, page), icon);
  return page;
}

static GtkWidget *
group_new (GtkWidget *page, const char *title, const char *description)
{
  GtkWidget *group = adw_preferences_group_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
  if (description != NULL)
    adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group), description);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));
  return group;
}

static GtkWidget *
button_box (void)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

  gtk_widget_set_margin_top (box, 12);
  return box;
}

static void
build_note_group (SfbAccountWindow *self, GtkWidget *page)
{
  GtkWidget *entry = gtk_entry_new ();
  GtkWidget *button
      = GTK_WIDGET (button_new ("Set note", NULL, G_CALLBACK (on_note_clicked), self));
  GtkWidget *row;

  self->note_group = group_new (page, "Personal note", "What your contacts see under your name");
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "Working from home");
  g_signal_connect (entry, "activate", G_CALLBACK (on_note_clicked), self);
  self->note_entry = GTK_EDITABLE (entry);
  row = field_row ("Personal note", NULL, entry);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self->note_group), row);
  self->note_label = wrapped_label (NULL);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self->note_group),
                             GTK_WIDGET (self->note_label));
}

/* the last error, its advice and the next attempt: hidden until there is one */
static GtkWidget *
error_box_new (SfbAccountWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  self->error_label = wrapped_label ("error");
  self->advice_label = wrapped_label (NULL);
  self->retry_label = wrapped_label ("dim-label");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->error_label));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->advice_label));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->retry_label));
  gtk_widget_set_visible (box, FALSE);
  return box;
}

/* sign in, sign out, and the fix for the last error (its label is the fix's) */
static GtkWidget *
sign_in_buttons_new (SfbAccountWindow *self)
{
  GtkWidget *buttons = button_box ();

  self->sign_in_button
      = button_new ("Sign in", "suggested-action", G_CALLBACK (on_sign_in_clicked), self);
  self->sign_out_button = button_new ("Sign out", NULL, G_CALLBACK (on_sign_out_clicked), self);
  self->fix_button = button_new ("Account…", NULL, G_CALLBACK (on_fix_clicked), self);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_button), FALSE);
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (self->sign_in_button));
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (self->sign_out_button));
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (self->fix_button));
  return buttons;
}

static void
build_sign_in_page (SfbAccountWindow *self)
{
  GtkWidget *page = page_new (self->stack, "sign-in", "Sign-in", "network-server-symbolic");
  GtkWidget *group = group_new (page, "State", NULL);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  self->state_label = wrapped_label ("title-2");
  gtk_label_set_selectable (self->state_label, FALSE);
  gtk_label_set_text (self->state_label, "Connecting to sfbd…");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->state_label));
  self->error_box = error_box_new (self);
  gtk_box_append (GTK_BOX (box), self->error_box);
  gtk_box_append (GTK_BOX (box), sign_in_buttons_new (self));
  self->action_label = wrapped_label ("error");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->action_label));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), box);

  build_note_group (self, page);

  group = group_new (page, "Last sign-in", "Each stage as sfbd goes through it");
  self->stages = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->stages, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->stages), "boxed-list");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->stages));
}

static GtkEditable *
entry_new (SfbAccountWindow *self, const char *placeholder)
{
  GtkWidget *entry = gtk_entry_new ();

  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), placeholder);
  g_signal_connect (entry, "activate", G_CALLBACK (on_entry_activate), self);
  return GTK_EDITABLE (entry);
}

static void
build_account_fields (SfbAccountWindow *self, GtkWidget *group)
{
  GtkWidget *auth = adw_combo_row_new ();

  self->uri_entry = entry_new (self, "alice@contoso.com");
  self->login_entry = entry_new (self, "CONTOSO\\alice");
  self->server_entry = entry_new (self, "automatic");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group),
                             field_row ("SIP address", NULL, GTK_WIDGET (self->uri_entry)));
  adw_preferences_group_add (
      ADW_PREFERENCES_GROUP (group),
      field_row ("Login", "Empty: the user part of the address", GTK_WIDGET (self->login_entry)));
  adw_preferences_group_add (
      ADW_PREFERENCES_GROUP (group),
      field_row ("Server", "Empty: found from the address", GTK_WIDGET (self->server_entry)));
  self->auth_row = ADW_COMBO_ROW (auth);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (auth), "Authentication");
  adw_combo_row_set_model (self->auth_row,
                           G_LIST_MODEL (gtk_string_list_new ((const char *const *) auth_words)));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), auth);
}

static void
build_account_page (SfbAccountWindow *self)
{
  GtkWidget *page = page_new (self->stack, "account", "Account", "avatar-default-symbolic");
  GtkWidget *group = group_new (page, "Account", "Saved in sfbd.conf through sfbd");
  GtkWidget *buttons = button_box ();
  GtkWidget *password = gtk_password_entry_new ();
  GtkWidget *store = gtk_switch_new ();

  build_account_fields (self, group);

  group = group_new (page, "Password", "Empty: keep the password sfbd has");
  gtk_password_entry_set_show_peek_icon (GTK_PASSWORD_ENTRY (password), TRUE);
  g_object_set (password, "activates-default", FALSE, NULL);
  g_signal_connect (password, "activate", G_CALLBACK (on_entry_activate), self);
  self->password_entry = GTK_EDITABLE (password);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), field_row ("Password", NULL, password));
  gtk_switch_set_active (GTK_SWITCH (store), TRUE);
  self->store_switch = GTK_SWITCH (store);
  adw_preferences_group_add (
      ADW_PREFERENCES_GROUP (group),
      field_row ("Remember the password", "In the keyring; off: for this session only", store));
  /* a switch keeps its size, at the end of its row */
  gtk_widget_set_hexpand (store, FALSE);

  self->save_button
      = button_new ("Save and sign in", "suggested-action", G_CALLBACK (on_save_clicked), self);
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (self->save_button));
  self->account_label = wrapped_label (NULL);
  gtk_widget_set_valign (GTK_WIDGET (self->account_label), GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (self->account_label));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), buttons);
}

static void
build_diagnose_page (SfbAccountWindow *self)
{
  GtkWidget *page = page_new (self->stack, "checks", "Checks", "emblem-system-symbolic");
  GtkWidget *group = group_new (
      page, "Connection checks", "DNS, autodiscover, connections, certificates, sign-in methods");
  GtkWidget *buttons = button_box ();

  self->diagnose_sign_in = GTK_CHECK_BUTTON (
      gtk_check_button_new_with_label ("Also try signing in (uses the password)"));
  self->diagnose_button
      = button_new ("Run checks", "suggested-action", G_CALLBACK (on_diagnose_clicked), self);
  gtk_widget_set_sensitive (GTK_WIDGET (self->diagnose_button), FALSE);
  self->diagnose_label = wrapped_label (NULL);
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (self->diagnose_button));
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (self->diagnose_sign_in));
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (self->diagnose_label));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), buttons);

  group = group_new (page, "Results", NULL);
  self->checks = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->checks, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->checks), "boxed-list");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->checks));
}

static void
build (SfbAccountWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *title = adw_view_switcher_title_new ();
  GtkWidget *switcher_bar = adw_view_switcher_bar_new ();

  self->stack = ADW_VIEW_STACK (adw_view_stack_new ());
  build_sign_in_page (self);
  build_account_page (self);
  build_diagnose_page (self);

  adw_view_switcher_title_set_stack (ADW_VIEW_SWITCHER_TITLE (title), self->stack);
  adw_view_switcher_title_set_title (ADW_VIEW_SWITCHER_TITLE (title), "Skype for Business");
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), title);
  adw_view_switcher_bar_set_stack (ADW_VIEW_SWITCHER_BAR (switcher_bar), self->stack);
  g_object_bind_property (title, "title-visible", switcher_bar, "reveal", G_BINDING_SYNC_CREATE);
  gtk_box_append (GTK_BOX (box), header);
  gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->stack));
  gtk_box_append (GTK_BOX (box), switcher_bar);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), box);
  gtk_window_set_title (GTK_WINDOW (self), "Skype for Business Account");
  gtk_window_set_default_size (GTK_WINDOW (self), 560, 640);
}

/* the account settings while none is set, else the sign-in */
static SfbAccountWindowPage
default_page (SfbAccountWindow *self)
{
  const char *uri = is_running (self) ? sfb_dbus_account_get_uri (self->account) : NULL;

  return uri != NULL && *uri != '\0' ? SFB_ACCOUNT_WINDOW_PAGE_DETAILS
                                     : SFB_ACCOUNT_WINDOW_PAGE_ACCOUNT;
}

void
sfb_account_window_show_page (SfbAccountWindow *self, SfbAccountWindowPage page)
{
  g_return_if_fail (SFB_IS_ACCOUNT_WINDOW (self));

  /* the default depends on sfbd's properties: wait for them */
  self->pending_page = page;
  if (page == SFB_ACCOUNT_WINDOW_PAGE_DEFAULT && self->account == NULL)
    return;
  if (page == SFB_ACCOUNT_WINDOW_PAGE_DEFAULT)
    page = default_page (self);
  switch (page)
    {
    case SFB_ACCOUNT_WINDOW_PAGE_ACCOUNT:
      adw_view_stack_set_visible_child_name (self->stack, "account");
      gtk_widget_grab_focus (GTK_WIDGET (self->uri_entry));
      break;
    case SFB_ACCOUNT_WINDOW_PAGE_PASSWORD:
      adw_view_stack_set_visible_child_name (self->stack, "account");
      gtk_widget_grab_focus (GTK_WIDGET (self->password_entry));
      break;
    case SFB_ACCOUNT_WINDOW_PAGE_DIAGNOSE:
      adw_view_stack_set_visible_child_name (self->stack, "checks");
      break;
    case SFB_ACCOUNT_WINDOW_PAGE_NOTE:
      adw_view_stack_set_visible_child_name (self->stack, "sign-in");
      gtk_widget_grab_focus (GTK_WIDGET (self->note_entry));
      break;
    case SFB_ACCOUNT_WINDOW_PAGE_DEFAULT:
    case SFB_ACCOUNT_WINDOW_PAGE_DETAILS:
    default:
      adw_view_stack_set_visible_child_name (self->stack, "sign-in");
      break;
    }
}

static void
sfb_account_window_dispose (GObject *object)
{
  SfbAccountWindow *self = SFB_ACCOUNT_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->account);
  g_clear_object (&self->diagnostics);
  g_clear_object (&self->presence);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (sfb_account_window_parent_class)->dispose (object);
}

static void
sfb_account_window_finalize (GObject *object)
{
  SfbAccountWindow *self = SFB_ACCOUNT_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_free (self->traced_state);
  g_free (self->diagnose_token);
  G_OBJECT_CLASS (sfb_account_window_parent_class)->finalize (object);
}

static void
sfb_account_window_class_init (SfbAccountWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_account_window_dispose;
  object_class->finalize = sfb_account_window_finalize;
}

static void
sfb_account_window_init (SfbAccountWindow *self)
{
  self->cancellable = g_cancellable_new ();
  build (self);
  g_bus_get (G_BUS_TYPE_SESSION, self->cancellable, on_bus, g_object_ref (self));
}

SfbAccountWindow *
sfb_account_window_new (GtkApplication *app)
{
  return g_object_new (SFB_TYPE_ACCOUNT_WINDOW, "application", app, NULL);
}
