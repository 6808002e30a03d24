/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfb-purple-check: signs pidgin-sipe (a client proven against real Skype for Business
 * servers) in through a headless libpurple core and runs a short script of what to do once
 * signed in.  It is the independent client check of sfbsim (tests/purple/test_purple_sipe.py)
 * and works against any SfB/Lync deployment.
 *
 *   sfb-purple-check --uri sip:alice@contoso.test --login 'CONTOSO\alice' --password-stdin \
 *                    [--auth ntlm] [--sso] [--calendar] [--server HOST[:PORT]] [--ca-file PEM] \
 *                    [--timeout 120] \
 *                    [--script 'wait-buddies:6,presence:busy,stay:70,buddies,sign-out']
 *
 * The password comes from the first line of stdin (--password-stdin) or from the environment
 * variable SFB_PURPLE_PASSWORD, never from argv; with --sso there is none (SIPE uses the
 * default Kerberos credentials, $KRB5CCNAME).  Progress goes to stdout as one JSON object
 * per line ({"event": ..., "ms": milliseconds since start, ...}); exit status 0 when every step
 * ran and the account signed out cleanly, 1 on any failure (an "error" event says which),
 * 2 for usage errors.  See tests/purple/README.md for the events and the script steps. */

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>
#include <purple.h>

#define UI_ID "sfb-purple-check"
#define EXIT_USAGE 2
#define SIPE_PLUGIN_ID "prpl-sipe"
#define PASSWORD_ENV "SFB_PURPLE_PASSWORD"
/* Where Debian's pidgin-sipe installs libsipe.so, besides libpurple's own plugin directory. */
#define SIPE_PLUGIN_DIR "/usr/lib/purple-2"
/* How long to keep the loop running after sign-out, so the de-REGISTER is on the wire. */
#define SIGN_OUT_LINGER_MS 500
/* Prompts answered with "no" before the run gives up. */
#define MAX_PROMPTS 20
/* Sign-out: drop the server's last answers until it is quiet this long (at most MAX). */
#define DRAIN_QUIET_MS 150
#define DRAIN_MAX_MS 2000

/* ---- pidgin-sipe on Debian 12 and libxml2's SAX1 callbacks (docs/protocol.md §17.1) ---------
 *
 * SIPE's XML parser fills only the SAX1 startElement/endElement callbacks of its handler but
 * marks it as a SAX2 handler, and this libxml2 then calls none of them: SIPE would never read
 * a contact list, provisioning or roaming-self document.  This program defines (and exports,
 * see meson.build) xmlSAXUserParseMemory; libsipe.so binds to it, and it hands libxml2 a copy
 * of such a handler marked as SAX1.  Handlers with namespace callbacks (libpurple's own) go
 * through unchanged. */

typedef int (*SaxParseFunc) (xmlSAXHandlerPtr sax, void *user_data, const char *buffer, int size);

int
xmlSAXUserParseMemory (xmlSAXHandlerPtr sax, void *user_data, const char *buffer, int size)
{
  static SaxParseFunc real_parse = NULL;
  xmlSAXHandler sax1;

  if (real_parse == NULL)
    real_parse = (SaxParseFunc) dlsym (RTLD_NEXT, "xmlSAXUserParseMemory");
  if (real_parse == NULL)
    return -1;
  if (sax == NULL || sax->startElementNs != NULL || sax->endElementNs != NULL
      || (sax->startElement == NULL && sax->endElement == NULL))
    return real_parse (sax, user_data, buffer, size);
  sax1 = *sax;
  sax1.initialized = 1;
  return real_parse (&sax1, user_data, buffer, size);
}

/* ---- the script ---------------------------------------------------------------------- */

typedef enum
{
  STEP_STAY,
  STEP_WAIT_INPUT,
  STEP_WAIT_BUDDIES,
  STEP_BUDDIES,
  STEP_PRESENCE,
  STEP_ACTION,
  STEP_SEND_IM,
  STEP_WAIT_IM,
  STEP_TYPING,
  STEP_SIGN_OUT,
} StepKind;

typedef struct
{
  StepKind kind;
  guint number;
  char *status;
  char *note;
} Step;

static void
step_free (gpointer data)
{
  Step *step = data;

  g_free (step->status);
  g_free (step->note);
  g_free (step);
}

static gboolean
parse_number (const char *text, guint min, guint max, guint *out)
{
  guint64 value = 0;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, min, max, &value, NULL))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

/* The SIP URI of an IM step's ADDRESS (user@domain, without "sip:": the step splits at ':'). */
static char *
im_uri (const char *address)
{
  if (address == NULL || *address == '\0' || strchr (address, '@') == NULL)
    return NULL;
  return g_strconcat ("sip:", address, NULL);
}

/* "stay:N,wait-input,wait-buddies:N,buddies,presence:STATUS[:NOTE],action:LABEL,
 *  send-im:ADDRESS:TEXT,typing:ADDRESS,wait-im:N,sign-out" */
static GPtrArray *
parse_script (const char *script, GError **error)
{
  g_autoptr (GPtrArray) steps = g_ptr_array_new_with_free_func (step_free);
  g_auto (GStrv) items = g_strsplit (script, ",", -1);

  for (guint i = 0; items[i] != NULL; i++)
    {
      g_auto (GStrv) parts = g_strsplit (g_strstrip (items[i]), ":", 3);
      const char *name = parts[0];
      const char *arg = name != NULL ? parts[1] : NULL;
      Step *step;

      if (name == NULL || *name == '\0')
        continue;
      step = g_new0 (Step, 1);
      g_ptr_array_add (steps, step);
      if (g_str_equal (name, "stay") && parse_number (arg, 0, 86400, &step->number))
        step->kind = STEP_STAY;
      else if (g_str_equal (name, "wait-buddies") && parse_number (arg, 1, 100000, &step->number))
        step->kind = STEP_WAIT_BUDDIES;
      else if (g_str_equal (name, "wait-input") && arg == NULL)
        step->kind = STEP_WAIT_INPUT;
      else if (g_str_equal (name, "buddies") && arg == NULL)
        step->kind = STEP_BUDDIES;
      else if (g_str_equal (name, "sign-out") && arg == NULL)
        step->kind = STEP_SIGN_OUT;
      else if (g_str_equal (name, "presence") && arg != NULL && *arg != '\0')
        {
          step->kind = STEP_PRESENCE;
          step->status = g_strdup (arg);
          step->note = g_strdup (parts[2]);
        }
      else if (g_str_equal (name, "action") && arg != NULL && *arg != '\0' && parts[2] == NULL)
        {
          step->kind = STEP_ACTION;
          step->status = g_strdup (arg);
        }
      else if (g_str_equal (name, "send-im") && (step->status = im_uri (arg)) != NULL
               && parts[2] != NULL && *parts[2] != '\0')
        {
          step->kind = STEP_SEND_IM;
          step->note = g_strdup (parts[2]);
        }
      else if (g_str_equal (name, "typing") && (step->status = im_uri (arg)) != NULL
               && parts[2] == NULL)
        step->kind = STEP_TYPING;
      else if (g_str_equal (name, "wait-im") && parse_number (arg, 1, 100000, &step->number))
        step->kind = STEP_WAIT_IM;
      else
        {
          g_set_error (error,
                       G_OPTION_ERROR,
                       G_OPTION_ERROR_BAD_VALUE,
                       "bad script step \"%s\" (steps: stay:SECONDS, wait-input, "
                       "wait-buddies:COUNT, buddies, presence:STATUS[:NOTE], action:LABEL, "
                       "send-im:ADDRESS:TEXT, typing:ADDRESS, wait-im:COUNT, sign-out)",
                       items[i]);
          return NULL;
        }
    }
  return g_steal_pointer (&steps);
}

/* ---- run state ----------------------------------------------------------------------- */

typedef struct
{
  GMainLoop *loop;
  PurpleAccount *account;
  GPtrArray *steps;
  guint next_step;
  gint64 start_us;
  int exit_status;
  gboolean debug;

  gboolean signed_on;
  gboolean signing_out;
  gboolean quitting;
  guint step_source;
  guint next_step_source;
  guint wait_buddies;
  guint ims_received;
  guint wait_ims;
  gboolean waiting_input;
  gboolean input_eof;
  GIOChannel *input;
  guint input_source;
} Check;

/* libpurple's UI callbacks carry no user data: one run per process. */
static Check check;

static void schedule_next_step (void);

/* ---- events: one JSON object per line on stdout ------------------------------------- */

static JsonBuilder *
event_begin (const char *name)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "ms");
  json_builder_add_int_value (builder, (g_get_monotonic_time () - check.start_us) / 1000);
  return builder;
}

static void
event_str (JsonBuilder *builder, const char *key, const char *value)
{
  json_builder_set_member_name (builder, key);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
event_int (JsonBuilder *builder, const char *key, gint64 value)
{
  json_builder_set_member_name (builder, key);
  json_builder_add_int_value (builder, value);
}

static void
event_end (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *line = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  line = json_to_string (root, FALSE);
  printf ("%s\n", line);
  fflush (stdout);
  g_object_unref (builder);
}

static void
emit_simple (const char *name, const char *key, const char *value)
{
  JsonBuilder *builder = event_begin (name);

  if (key != NULL)
    event_str (builder, key, value);
  event_end (builder);
}

static void
emit_error (const char *reason, const char *text)
{
  JsonBuilder *builder = event_begin ("error");

  event_str (builder, "reason", reason);
  event_str (builder, "text", text);
  event_end (builder);
}

static gboolean
quit_idle (gpointer data)
{
  g_main_loop_quit (check.loop);
  return G_SOURCE_REMOVE;
}

static void
finish (int exit_status)
{
  if (check.quitting)
    return;
  check.quitting = TRUE;
  check.exit_status = exit_status;
  g_clear_handle_id (&check.step_source, g_source_remove);
  g_clear_handle_id (&check.next_step_source, g_source_remove);
  /* Leave libpurple's callbacks before the loop stops. */
  g_idle_add (quit_idle, NULL);
}

static void
fail (const char *reason, const char *text)
{
  emit_error (reason, text);
  finish (EXIT_FAILURE);
}

/* ---- libpurple event loop on GLib ---------------------------------------------------- */

/* id -> fd of every input watch libpurple added */
static GHashTable *watch_fds;

typedef struct
{
  PurpleInputFunction func;
  gpointer data;
} InputWatch;

static gboolean
input_dispatch (GIOChannel *channel, GIOCondition condition, gpointer user_data)
{
  InputWatch *watch = user_data;
  int purple_condition = 0;

  if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
    purple_condition |= PURPLE_INPUT_READ;
  if (condition & (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
    purple_condition |= PURPLE_INPUT_WRITE;
  watch->func (watch->data, g_io_channel_unix_get_fd (channel), purple_condition);
  return G_SOURCE_CONTINUE;
}

static guint
loop_input_add (int fd, PurpleInputCondition condition, PurpleInputFunction func, gpointer data)
{
  GIOChannel *channel = g_io_channel_unix_new (fd);
  InputWatch *watch = g_new0 (InputWatch, 1);
  GIOCondition watch_condition = 0;
  guint id;

  watch->func = func;
  watch->data = data;
  if (condition & PURPLE_INPUT_READ)
    watch_condition |= G_IO_IN | G_IO_HUP | G_IO_ERR | G_IO_NVAL;
  if (condition & PURPLE_INPUT_WRITE)
    watch_condition |= G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL;
  id = g_io_add_watch_full (
      channel, G_PRIORITY_DEFAULT, watch_condition, input_dispatch, watch, g_free);
  g_io_channel_unref (channel);
  if (watch_fds == NULL)
    watch_fds = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (watch_fds, GUINT_TO_POINTER (id), GINT_TO_POINTER (fd));
  return id;
}

/* SIPE signs out by writing its un-SUBSCRIBEs and REGISTER Expires: 0 and closing the socket
 * at once, with the server's answers still arriving: the kernel then resets the connection
 * and the server may lose the de-REGISTER (docs/protocol.md §17.16).  While signing out, before a
 * stream socket's watch goes away, read and drop what the server sends until it has been
 * quiet for a moment, so SIPE's close() finds nothing unread and ends with a FIN. */
static void
drain_socket (int fd)
{
  gint64 deadline = g_get_monotonic_time () + DRAIN_MAX_MS * 1000;
  int type = 0;
  socklen_t len = sizeof type;
  char buf[4096];

  if (getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
    return;
  while (g_get_monotonic_time () < deadline)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };

      if (poll (&pfd, 1, DRAIN_QUIET_MS) <= 0 || !(pfd.revents & POLLIN))
        return;
      if (recv (fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
        return;
    }
}

static gboolean
loop_input_remove (guint id)
{
  gpointer fd = NULL;

  if (watch_fds != NULL && g_hash_table_steal_extended (watch_fds, GUINT_TO_POINTER (id), NULL, &fd)
      && check.signing_out)
    drain_socket (GPOINTER_TO_INT (fd));
  return g_source_remove (id);
}

static PurpleEventLoopUiOps loop_ui_ops = {
  .timeout_add = g_timeout_add,
  .timeout_remove = g_source_remove,
  .input_add = loop_input_add,
  .input_remove = loop_input_remove,
  .timeout_add_seconds = g_timeout_add_seconds,
};

/* ---- debug output (--debug): stderr, with authentication material withheld ---------- */

static void
debug_print (PurpleDebugLevel level, const char *category, const char *text)
{
  static GRegex *token_re = NULL;
  static GRegex *secret_re = NULL;
  g_autofree char *redacted = NULL;

  if (token_re == NULL)
    {
      token_re = g_regex_new ("((?:gssapi-data|response|rspauth|opaque|snum|crand|cnum|srand)"
                              "=\")[^\"]*\"",
                              G_REGEX_CASELESS,
                              0,
                              NULL);
      secret_re = g_regex_new (
          "key|hash|passw|hmac|mac:|signature|NTLMSSP|TlRMTVNT", G_REGEX_CASELESS, 0, NULL);
    }
  redacted = g_regex_replace (token_re, text, -1, 0, "\\1<redacted>\"", 0, NULL);
  if (redacted == NULL || g_regex_match (secret_re, redacted, 0, NULL))
    {
      g_free (redacted);
      redacted = g_strdup ("<line withheld: may carry authentication material>\n");
    }
  fprintf (stderr, "purple[%s] %s", category != NULL ? category : "-", redacted);
  if (!g_str_has_suffix (redacted, "\n"))
    fputc ('\n', stderr);
}

static gboolean
debug_is_enabled (PurpleDebugLevel level, const char *category)
{
  return check.debug;
}

/* With debugging on, libpurple also g_print()s every line unfiltered to stdout, where the
 * events go; the UI op above prints them instead. */
static void
discard_print (const char *text)
{
}

static PurpleDebugUiOps debug_ui_ops = {
  .print = debug_print,
  .is_enabled = debug_is_enabled,
};

/* ---- connection progress and errors -------------------------------------------------- */

static const char *
connection_error_name (PurpleConnectionError reason)
{
  static const char *const names[] = {
    [PURPLE_CONNECTION_ERROR_NETWORK_ERROR] = "network-error",
    [PURPLE_CONNECTION_ERROR_INVALID_USERNAME] = "invalid-username",
    [PURPLE_CONNECTION_ERROR_AUTHENTICATION_FAILED] = "authentication-failed",
    [PURPLE_CONNECTION_ERROR_AUTHENTICATION_IMPOSSIBLE] = "authentication-impossible",
    [PURPLE_CONNECTION_ERROR_NO_SSL_SUPPORT] = "no-ssl-support",
    [PURPLE_CONNECTION_ERROR_ENCRYPTION_ERROR] = "encryption-error",
    [PURPLE_CONNECTION_ERROR_NAME_IN_USE] = "name-in-use",
    [PURPLE_CONNECTION_ERROR_INVALID_SETTINGS] = "invalid-settings",
    [PURPLE_CONNECTION_ERROR_CERT_NOT_PROVIDED] = "cert-not-provided",
    [PURPLE_CONNECTION_ERROR_CERT_UNTRUSTED] = "cert-untrusted",
    [PURPLE_CONNECTION_ERROR_CERT_EXPIRED] = "cert-expired",
    [PURPLE_CONNECTION_ERROR_CERT_NOT_ACTIVATED] = "cert-not-activated",
    [PURPLE_CONNECTION_ERROR_CERT_HOSTNAME_MISMATCH] = "cert-hostname-mismatch",
    [PURPLE_CONNECTION_ERROR_CERT_FINGERPRINT_MISMATCH] = "cert-fingerprint-mismatch",
    [PURPLE_CONNECTION_ERROR_CERT_SELF_SIGNED] = "cert-self-signed",
    [PURPLE_CONNECTION_ERROR_CERT_OTHER_ERROR] = "cert-other-error",
    [PURPLE_CONNECTION_ERROR_OTHER_ERROR] = "other-error",
  };

  if ((guint) reason < G_N_ELEMENTS (names) && names[reason] != NULL)
    return names[reason];
  return "other-error";
}

static void
connection_progress (PurpleConnection *gc, const char *text, size_t step, size_t step_count)
{
  JsonBuilder *builder = event_begin ("progress");

  event_str (builder, "text", text);
  event_int (builder, "step", (gint64) step);
  event_int (builder, "steps", (gint64) step_count);
  event_end (builder);
}

static void
connection_connected (PurpleConnection *gc)
{
  emit_simple ("state", "state", "connected");
}

static gboolean
sign_out_done (gpointer data)
{
  check.step_source = 0;
  emit_simple ("signed-out", NULL, NULL);
  schedule_next_step ();
  return G_SOURCE_REMOVE;
}

static void
connection_disconnected (PurpleConnection *gc)
{
  emit_simple ("state", "state", "disconnected");
  if (check.quitting)
    return;
  if (check.signing_out)
    {
      check.step_source = g_timeout_add (SIGN_OUT_LINGER_MS, sign_out_done, NULL);
      return;
    }
  fail ("disconnected", "the connection ended before the script did");
}

static void
connection_report_disconnect_reason (PurpleConnection *gc,
                                     PurpleConnectionError reason,
                                     const char *text)
{
  emit_error (connection_error_name (reason), text);
  finish (EXIT_FAILURE);
}

static PurpleConnectionUiOps connection_ui_ops = {
  .connect_progress = connection_progress,
  .connected = connection_connected,
  .disconnected = connection_disconnected,
  .report_disconnect_reason = connection_report_disconnect_reason,
};

/* ---- prompts: a headless run answers every question with "no" ------------------------ */

typedef enum
{
  REFUSE_ACTION,
  REFUSE_INPUT,
  REFUSE_FIELDS,
  REFUSE_CHOICE,
} RefusalKind;

typedef struct
{
  RefusalKind kind;
  PurpleRequestType type;
  GCallback callback;
  gpointer user_data;
  int index;
  PurpleRequestFields *fields;
  gboolean closed;
} Refusal;

static void
refusal_free (gpointer data)
{
  g_free (data);
}

static gboolean
refusal_run (gpointer data)
{
  Refusal *refusal = data;

  if (refusal->closed || refusal->callback == NULL)
    return G_SOURCE_REMOVE;
  switch (refusal->kind)
    {
    case REFUSE_ACTION:
      ((PurpleRequestActionCb) refusal->callback) (refusal->user_data, refusal->index);
      break;
    case REFUSE_INPUT:
      ((PurpleRequestInputCb) refusal->callback) (refusal->user_data, NULL);
      break;
    case REFUSE_FIELDS:
      ((PurpleRequestFieldsCb) refusal->callback) (refusal->user_data, refusal->fields);
      break;
    case REFUSE_CHOICE:
      ((PurpleRequestChoiceCb) refusal->callback) (refusal->user_data, -1);
      break;
    }
  if (!refusal->closed)
    purple_request_close (refusal->type, refusal);
  return G_SOURCE_REMOVE;
}

static Refusal *
refuse (RefusalKind kind,
        PurpleRequestType type,
        GCallback callback,
        gpointer user_data,
        const char *title,
        const char *primary,
        const char *secondary)
{
  static guint prompts;
  Refusal *refusal = g_new0 (Refusal, 1);
  JsonBuilder *builder = event_begin ("request");

  event_str (builder, "title", title);
  event_str (builder, "primary", primary);
  event_str (builder, "secondary", secondary);
  event_str (builder, "answer", "refused");
  event_end (builder);
  refusal->kind = kind;
  refusal->type = type;
  refusal->callback = callback;
  refusal->user_data = user_data;
  g_idle_add_full (G_PRIORITY_DEFAULT, refusal_run, refusal, refusal_free);
  /* A client that asks again after every "no" would otherwise keep the run busy forever. */
  if (++prompts > MAX_PROMPTS)
    fail ("prompt", "too many prompts");
  return refusal;
}

static void *
request_input (const char *title,
               const char *primary,
               const char *secondary,
               const char *default_value,
               gboolean multiline,
               gboolean masked,
               gchar *hint,
               const char *ok_text,
               GCallback ok_cb,
               const char *cancel_text,
               GCallback cancel_cb,
               PurpleAccount *account,
               const char *who,
               PurpleConversation *conv,
               void *user_data)
{
  return refuse (
      REFUSE_INPUT, PURPLE_REQUEST_INPUT, cancel_cb, user_data, title, primary, secondary);
}

static void *
request_choice (const char *title,
                const char *primary,
                const char *secondary,
                int default_value,
                const char *ok_text,
                GCallback ok_cb,
                const char *cancel_text,
                GCallback cancel_cb,
                PurpleAccount *account,
                const char *who,
                PurpleConversation *conv,
                void *user_data,
                va_list choices)
{
  return refuse (
      REFUSE_CHOICE, PURPLE_REQUEST_CHOICE, cancel_cb, user_data, title, primary, secondary);
}

/* Is this action label a "no"?  Labels carry GTK mnemonics ("_Cancel"). */
static gboolean
is_refusal_label (const char *label)
{
  const char *const refusals[] = { "reject", "cancel", "no", "deny", "decline", NULL };
  g_autofree char *plain = NULL;
  g_autofree char *lower = NULL;
  g_auto (GStrv) parts = NULL;

  if (label == NULL)
    return FALSE;
  parts = g_strsplit (label, "_", -1);
  plain = g_strjoinv ("", parts);
  lower = g_ascii_strdown (plain, -1);
  return g_strv_contains (refusals, g_strstrip (lower));
}

/* Certificate prompts (Accept / Reject / View Certificate...) land here: answer with the
 * refusing action, so an untrusted chain fails instead of hanging.  A prompt without one
 * ends the run: nobody is there to answer it. */
static void *
request_action (const char *title,
                const char *primary,
                const char *secondary,
                int default_action,
                PurpleAccount *account,
                const char *who,
                PurpleConversation *conv,
                void *user_data,
                size_t action_count,
                va_list actions)
{
  GCallback refusal_cb = NULL;
  int refusal_index = -1;
  Refusal *refusal;

  for (size_t i = 0; i < action_count; i++)
    {
      const char *label = va_arg (actions, const char *);
      GCallback cb = va_arg (actions, GCallback);

      if (refusal_index < 0 && is_refusal_label (label))
        {
          refusal_index = (int) i;
          refusal_cb = cb;
        }
    }
  refusal = refuse (
      REFUSE_ACTION, PURPLE_REQUEST_ACTION, refusal_cb, user_data, title, primary, secondary);
  refusal->index = refusal_index;
  if (refusal_cb == NULL)
    fail ("prompt", "a prompt without a way to refuse it");
  return refusal;
}

static void *
request_fields (const char *title,
                const char *primary,
                const char *secondary,
                PurpleRequestFields *fields,
                const char *ok_text,
                GCallback ok_cb,
                const char *cancel_text,
                GCallback cancel_cb,
                PurpleAccount *account,
                const char *who,
                PurpleConversation *conv,
                void *user_data)
{
  Refusal *refusal = refuse (
      REFUSE_FIELDS, PURPLE_REQUEST_FIELDS, cancel_cb, user_data, title, primary, secondary);

  refusal->fields = fields;
  return refusal;
}

static void
request_close (PurpleRequestType type, void *ui_handle)
{
  Refusal *refusal = ui_handle;

  /* Freed by the idle source, which may not have run yet. */
  refusal->closed = TRUE;
}

static PurpleRequestUiOps request_ui_ops = {
  .request_input = request_input,
  .request_choice = request_choice,
  .request_action = request_action,
  .request_fields = request_fields,
  .close_request = request_close,
};

static void *
notify_message (PurpleNotifyMsgType type,
                const char *title,
                const char *primary,
                const char *secondary)
{
  JsonBuilder *builder = event_begin ("notify");

  event_str (builder,
             "type",
             type == PURPLE_NOTIFY_MSG_ERROR     ? "error"
             : type == PURPLE_NOTIFY_MSG_WARNING ? "warning"
                                                 : "info");
  event_str (builder, "title", title);
  event_str (builder, "primary", primary);
  event_str (builder, "secondary", secondary);
  event_end (builder);
  return NULL;
}

static PurpleNotifyUiOps notify_ui_ops = {
  .notify_message = notify_message,
};

/* ---- buddies ------------------------------------------------------------------------- */

/* libpurple keeps one PurpleBuddy per contact and group; a contact is one URI. */
static GPtrArray *
contact_uris (void)
{
  GSList *buddies = purple_find_buddies (check.account, NULL);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *uris = g_ptr_array_new ();

  for (GSList *l = buddies; l != NULL; l = l->next)
    {
      const char *name = purple_buddy_get_name (l->data);

      if (g_hash_table_add (seen, (gpointer) name))
        g_ptr_array_add (uris, (gpointer) name);
    }
  g_slist_free (buddies);
  return uris;
}

static guint
count_contacts (void)
{
  g_autoptr (GPtrArray) uris = contact_uris ();

  return uris->len;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static gint
compare_group_names (gconstpointer a, gconstpointer b)
{
  PurpleGroup *group_a = purple_buddy_get_group ((PurpleBuddy *) a);
  PurpleGroup *group_b = purple_buddy_get_group ((PurpleBuddy *) b);

  return g_strcmp0 (group_a != NULL ? purple_group_get_name (group_a) : NULL,
                    group_b != NULL ? purple_group_get_name (group_b) : NULL);
}

/* One event for a contact: its URI, alias, groups and the presence SIPE shows. */
static void
emit_contact (const char *event, const char *uri)
{
  GSList *buddies = g_slist_sort (purple_find_buddies (check.account, uri), compare_group_names);
  PurpleBuddy *buddy = buddies != NULL ? buddies->data : NULL;
  PurpleStatus *status = NULL;
  JsonBuilder *builder;

  if (buddy == NULL)
    return;
  status = purple_presence_get_active_status (purple_buddy_get_presence (buddy));
  builder = event_begin (event);
  event_str (builder, "uri", uri);
  event_str (builder, "alias", purple_buddy_get_alias_only (buddy));
  json_builder_set_member_name (builder, "groups");
  json_builder_begin_array (builder);
  for (GSList *l = buddies; l != NULL; l = l->next)
    {
      PurpleGroup *group = purple_buddy_get_group (l->data);

      if (group != NULL)
        json_builder_add_string_value (builder, purple_group_get_name (group));
    }
  json_builder_end_array (builder);
  event_str (builder, "status", status != NULL ? purple_status_get_id (status) : NULL);
  event_str (builder,
             "message",
             status != NULL ? purple_status_get_attr_string (status, "message") : NULL);
  event_end (builder);
  g_slist_free (buddies);
}

static void
emit_contacts (void)
{
  g_autoptr (GPtrArray) uris = contact_uris ();
  JsonBuilder *builder;

  g_ptr_array_sort (uris, compare_strings);
  for (guint i = 0; i < uris->len; i++)
    emit_contact ("buddy", g_ptr_array_index (uris, i));
  builder = event_begin ("buddies");
  event_int (builder, "count", uris->len);
  event_end (builder);
}

static void
on_buddy_added (PurpleBuddy *buddy, gpointer data)
{
  if (purple_buddy_get_account (buddy) != check.account)
    return;
  emit_simple ("buddy-added", "uri", purple_buddy_get_name (buddy));
  if (check.wait_buddies > 0 && count_contacts () >= check.wait_buddies)
    {
      check.wait_buddies = 0;
      schedule_next_step ();
    }
}

static void
on_buddy_status_changed (PurpleBuddy *buddy,
                         PurpleStatus *old_status,
                         PurpleStatus *new_status,
                         gpointer data)
{
  if (purple_buddy_get_account (buddy) == check.account)
    emit_contact ("buddy-status", purple_buddy_get_name (buddy));
}

/* libpurple announces offline -> online as "buddy-signed-on", not as a status change. */
static void
on_buddy_signed_on_off (PurpleBuddy *buddy, gpointer data)
{
  if (purple_buddy_get_account (buddy) == check.account)
    emit_contact ("buddy-status", purple_buddy_get_name (buddy));
}

/* ---- instant messages ----------------------------------------------------------------- */

static void
emit_im (const char *event, const char *who_key, const char *who, const char *text)
{
  JsonBuilder *builder = event_begin (event);

  event_str (builder, who_key, who);
  event_str (builder, "text", text);
  event_end (builder);
}

static void
on_received_im (PurpleAccount *account,
                const char *sender,
                const char *message,
                PurpleConversation *conv,
                PurpleMessageFlags flags,
                gpointer data)
{
  if (account != check.account)
    return;
  emit_im ("im-received", "from", sender, message);
  check.ims_received++;
  if (check.wait_ims > 0 && check.ims_received >= check.wait_ims)
    {
      check.wait_ims = 0;
      schedule_next_step ();
    }
}

static void
on_sent_im (PurpleAccount *account, const char *receiver, const char *message, gpointer data)
{
  if (account == check.account)
    emit_im ("im-sent", "to", receiver, message);
}

/* SIPE reports an undelivered message by writing an error into the conversation. */
static void
on_wrote_im (PurpleAccount *account,
             const char *who,
             const char *message,
             PurpleConversation *conv,
             PurpleMessageFlags flags,
             gpointer data)
{
  if (account == check.account && (flags & PURPLE_MESSAGE_ERROR))
    emit_im ("im-error",
             "conversation",
             conv != NULL ? purple_conversation_get_name (conv) : who,
             message);
}

static void
on_buddy_typing (PurpleAccount *account, const char *name, gpointer data)
{
  if (account == check.account)
    emit_simple ("typing", "from", name);
}

static void
on_buddy_typing_stopped (PurpleAccount *account, const char *name, gpointer data)
{
  if (account == check.account)
    emit_simple ("typing-stopped", "from", name);
}

static PurpleConvIm *
im_conversation (const char *uri)
{
  PurpleConversation *conv
      = purple_find_conversation_with_account (PURPLE_CONV_TYPE_IM, uri, check.account);

  if (conv == NULL)
    conv = purple_conversation_new (PURPLE_CONV_TYPE_IM, check.account, uri);
  return PURPLE_CONV_IM (conv);
}

/* ---- stdin: the password, then lines that end wait-input steps --------------------- */

static gboolean
on_input (GIOChannel *channel, GIOCondition condition, gpointer data)
{
  for (;;)
    {
      g_autofree char *line = NULL;
      GIOStatus status = g_io_channel_read_line (channel, &line, NULL, NULL, NULL);

      if (status == G_IO_STATUS_AGAIN)
        return G_SOURCE_CONTINUE;
      if (status != G_IO_STATUS_NORMAL)
        {
          check.input_eof = TRUE;
          check.input_source = 0;
          if (check.waiting_input)
            {
              check.waiting_input = FALSE;
              schedule_next_step ();
            }
          return G_SOURCE_REMOVE;
        }
      if (check.waiting_input)
        {
          check.waiting_input = FALSE;
          schedule_next_step ();
        }
    }
}

static char *
read_password (gboolean from_stdin, GError **error)
{
  g_autofree char *line = NULL;
  gsize terminator = 0;

  if (!from_stdin)
    {
      const char *env = g_getenv (PASSWORD_ENV);

      if (env == NULL || *env == '\0')
        {
          g_set_error (error,
                       G_OPTION_ERROR,
                       G_OPTION_ERROR_FAILED,
                       "no password: use --password-stdin or set " PASSWORD_ENV);
          return NULL;
        }
      return g_strdup (env);
    }
  if (g_io_channel_read_line (check.input, &line, NULL, &terminator, error) != G_IO_STATUS_NORMAL
      || line == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "no password on stdin");
      return NULL;
    }
  line[terminator] = '\0';
  return g_steal_pointer (&line);
}

/* ---- running the script ------------------------------------------------------------- */

static gboolean
stay_done (gpointer data)
{
  check.step_source = 0;
  schedule_next_step ();
  return G_SOURCE_REMOVE;
}

static gboolean
set_presence (const Step *step)
{
  JsonBuilder *builder;

  if (purple_account_get_status_type (check.account, step->status) == NULL)
    {
      g_autoptr (GString) known = g_string_new (NULL);
      g_autofree char *text = NULL;

      for (GList *l = purple_account_get_status_types (check.account); l != NULL; l = l->next)
        g_string_append_printf (known, " %s", purple_status_type_get_id (l->data));
      text = g_strdup_printf ("no status \"%s\" (have:%s)", step->status, known->str);
      fail ("bad-status", text);
      return FALSE;
    }
  if (step->note != NULL)
    purple_account_set_status (check.account, step->status, TRUE, "message", step->note, NULL);
  else
    purple_account_set_status (check.account, step->status, TRUE, NULL);
  builder = event_begin ("presence-set");
  event_str (builder, "status", step->status);
  event_str (builder, "message", step->note);
  event_end (builder);
  return TRUE;
}

/* The protocol's account action with this label (SIPE: "Republish Calendar"), run as the
 * Accounts menu runs it. */
static gboolean
run_action (const Step *step)
{
  PurpleConnection *gc = purple_account_get_connection (check.account);
  PurplePlugin *prpl = gc != NULL ? purple_connection_get_prpl (gc) : NULL;
  GList *actions = prpl != NULL ? PURPLE_PLUGIN_ACTIONS (prpl, gc) : NULL;
  g_autoptr (GString) known = g_string_new (NULL);
  gboolean found = FALSE;
  JsonBuilder *builder;

  for (GList *l = actions; l != NULL; l = l->next)
    {
      PurplePluginAction *action = l->data;

      if (action == NULL) /* a separator */
        continue;
      g_string_append_printf (known, " \"%s\"", action->label);
      if (!found && g_str_equal (action->label, step->status))
        {
          action->plugin = prpl;
          action->context = gc;
          action->callback (action);
          found = TRUE;
        }
    }
  for (GList *l = actions; l != NULL; l = l->next)
    if (l->data != NULL)
      purple_plugin_action_free (l->data);
  g_list_free (actions);
  if (!found)
    {
      g_autofree char *text
          = g_strdup_printf ("no action \"%s\" (have:%s)", step->status, known->str);
      fail ("bad-action", text);
      return FALSE;
    }
  builder = event_begin ("action");
  event_str (builder, "label", step->status);
  event_end (builder);
  return TRUE;
}

static void
run_next_step (void)
{
  while (!check.quitting)
    {
      const Step *step;
      JsonBuilder *builder;

      if (check.next_step >= check.steps->len)
        {
          emit_simple ("done", NULL, NULL);
          finish (EXIT_SUCCESS);
          return;
        }
      if (!check.signing_out && !purple_account_is_connected (check.account))
        {
          fail ("disconnected", "not signed in");
          return;
        }
      step = g_ptr_array_index (check.steps, check.next_step++);
      builder = event_begin ("step");
      event_int (builder, "index", check.next_step - 1);
      event_end (builder);
      switch (step->kind)
        {
        case STEP_STAY:
          check.step_source = g_timeout_add_seconds (step->number, stay_done, NULL);
          return;
        case STEP_WAIT_INPUT:
          if (check.input == NULL || check.input_eof)
            continue;
          check.waiting_input = TRUE;
          return;
        case STEP_WAIT_BUDDIES:
          if (count_contacts () >= step->number)
            continue;
          check.wait_buddies = step->number;
          return;
        case STEP_BUDDIES:
          emit_contacts ();
          continue;
        case STEP_PRESENCE:
          if (!set_presence (step))
            return;
          continue;
        case STEP_ACTION:
          if (!run_action (step))
            return;
          continue;
        case STEP_SEND_IM:
          purple_conv_im_send (im_conversation (step->status), step->note);
          continue;
        case STEP_TYPING:
          serv_send_typing (
              purple_account_get_connection (check.account), step->status, PURPLE_TYPING);
          emit_simple ("typing-sent", "to", step->status);
          continue;
        case STEP_WAIT_IM:
          if (check.ims_received >= step->number)
            continue;
          check.wait_ims = step->number;
          return;
        case STEP_SIGN_OUT:
          if (check.signing_out)
            continue;
          check.signing_out = TRUE;
          emit_simple ("signing-out", NULL, NULL);
          purple_account_set_enabled (check.account, UI_ID, FALSE);
          return;
        }
    }
}

static gboolean
next_step_idle (gpointer data)
{
  check.next_step_source = 0;
  run_next_step ();
  return G_SOURCE_REMOVE;
}

/* Steps never run inside a libpurple or SIPE callback: signing out from within SIPE's
 * contact list processing would free SIPE's state under its feet. */
static void
schedule_next_step (void)
{
  if (check.next_step_source == 0 && !check.quitting)
    check.next_step_source = g_idle_add (next_step_idle, NULL);
}

static void
on_signed_on (PurpleConnection *gc, gpointer data)
{
  if (purple_connection_get_account (gc) != check.account || check.signed_on)
    return;
  check.signed_on = TRUE;
  emit_simple ("signed-on", NULL, NULL);
  schedule_next_step ();
}

static void
on_account_connecting (PurpleAccount *account, gpointer data)
{
  if (account == check.account)
    emit_simple ("state", "state", "connecting");
}

/* SIGINT/SIGTERM: end like a failure, so the temporary user directory is removed. */
static gboolean
on_signal (gpointer data)
{
  fail ("signal", "interrupted");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_deadline (gpointer data)
{
  fail ("timeout", check.signed_on ? "the script did not finish in time" : "no sign-in in time");
  return G_SOURCE_REMOVE;
}

/* ---- set-up -------------------------------------------------------------------------- */

static gboolean
import_ca (const char *path, GError **error)
{
  PurpleCertificateScheme *x509;
  PurpleCertificatePool *pool;
  GSList *certs;
  guint stored = 0;

  /* Loads the TLS plugin, which registers the x509 scheme. */
  if (!purple_ssl_is_supported ())
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "libpurple has no TLS support");
      return FALSE;
    }
  x509 = purple_certificate_find_scheme ("x509");
  pool = purple_certificate_find_pool ("x509", "ca");
  if (x509 == NULL || pool == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "libpurple has no x509 CA pool");
      return FALSE;
    }
  certs = purple_certificates_import (x509, path);
  for (GSList *l = certs; l != NULL; l = l->next)
    {
      g_autofree char *id = purple_certificate_get_unique_id (l->data);

      if (id != NULL && purple_certificate_pool_store (pool, id, l->data))
        stored++;
      purple_certificate_destroy (l->data);
    }
  g_slist_free (certs);
  if (stored == 0)
    {
      g_set_error (error,
                   G_OPTION_ERROR,
                   G_OPTION_ERROR_BAD_VALUE,
                   "no certificate could be imported from %s",
                   path);
      return FALSE;
    }
  return TRUE;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR)
              && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
    }
  g_rmdir (path);
}

static PurplePlugin *
start_purple (const char *user_dir, GError **error)
{
  PurplePlugin *sipe;

  purple_util_set_user_dir (user_dir);
  /* SIPE only produces its debug output when libpurple's debugging is on. */
  purple_debug_set_enabled (check.debug);
  if (check.debug)
    g_set_print_handler (discard_print);
  purple_debug_set_ui_ops (&debug_ui_ops);
  purple_eventloop_set_ui_ops (&loop_ui_ops);
  purple_connections_set_ui_ops (&connection_ui_ops);
  purple_request_set_ui_ops (&request_ui_ops);
  purple_notify_set_ui_ops (&notify_ui_ops);
  if (!purple_core_init (UI_ID))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "purple_core_init failed");
      return NULL;
    }
  /* The buddy list SIPE fills with the roaming contacts. */
  purple_set_blist (purple_blist_new ());
  purple_blist_load ();
  purple_plugins_add_search_path (SIPE_PLUGIN_DIR);
  purple_plugins_probe (G_MODULE_SUFFIX);
  sipe = purple_plugins_find_with_id (SIPE_PLUGIN_ID);
  if (sipe == NULL)
    {
      g_set_error (error,
                   G_OPTION_ERROR,
                   G_OPTION_ERROR_FAILED,
                   "%s not found in %s: install pidgin-sipe",
                   SIPE_PLUGIN_ID,
                   SIPE_PLUGIN_DIR);
      return NULL;
    }
  return sipe;
}

static PurpleAccount *
make_account (const char *uri,
              const char *login,
              const char *password,
              const char *auth,
              const char *server,
              gboolean sso,
              gboolean calendar)
{
  const char *address = g_str_has_prefix (uri, "sip:") ? uri + 4 : uri;
  g_autofree char *username = g_strdup_printf ("%s,%s", address, login != NULL ? login : "");
  PurpleAccount *account = purple_account_new (username, SIPE_PLUGIN_ID);

  purple_account_set_password (account, password);
  purple_account_set_remember_password (account, FALSE);
  purple_account_set_string (account, "server", server != NULL ? server : "");
  purple_account_set_string (account, "transport", "tls");
  purple_account_set_string (account, "authentication", auth);
  /* Single sign-on: SIPE takes the default credentials (Kerberos: $KRB5CCNAME) and
   * ignores the login and password. */
  purple_account_set_bool (account, "sso", sso);
  /* Calendar (EWS) look-ups only with --calendar: without an Exchange they fail. */
  purple_account_set_bool (account, "dont-publish", !calendar);
  purple_accounts_add (account);
  return account;
}

static void
connect_signals (void)
{
  static int handle;

  purple_signal_connect (
      purple_connections_get_handle (), "signed-on", &handle, PURPLE_CALLBACK (on_signed_on), NULL);
  purple_signal_connect (purple_accounts_get_handle (),
                         "account-connecting",
                         &handle,
                         PURPLE_CALLBACK (on_account_connecting),
                         NULL);
  purple_signal_connect (
      purple_blist_get_handle (), "buddy-added", &handle, PURPLE_CALLBACK (on_buddy_added), NULL);
  purple_signal_connect (purple_blist_get_handle (),
                         "buddy-status-changed",
                         &handle,
                         PURPLE_CALLBACK (on_buddy_status_changed),
                         NULL);
  purple_signal_connect (purple_blist_get_handle (),
                         "buddy-signed-on",
                         &handle,
                         PURPLE_CALLBACK (on_buddy_signed_on_off),
                         NULL);
  purple_signal_connect (purple_blist_get_handle (),
                         "buddy-signed-off",
                         &handle,
                         PURPLE_CALLBACK (on_buddy_signed_on_off),
                         NULL);
  purple_signal_connect (purple_conversations_get_handle (),
                         "received-im-msg",
                         &handle,
                         PURPLE_CALLBACK (on_received_im),
                         NULL);
  purple_signal_connect (purple_conversations_get_handle (),
                         "sent-im-msg",
                         &handle,
                         PURPLE_CALLBACK (on_sent_im),
                         NULL);
  purple_signal_connect (purple_conversations_get_handle (),
                         "wrote-im-msg",
                         &handle,
                         PURPLE_CALLBACK (on_wrote_im),
                         NULL);
  purple_signal_connect (purple_conversations_get_handle (),
                         "buddy-typing",
                         &handle,
                         PURPLE_CALLBACK (on_buddy_typing),
                         NULL);
  purple_signal_connect (purple_conversations_get_handle (),
                         "buddy-typing-stopped",
                         &handle,
                         PURPLE_CALLBACK (on_buddy_typing_stopped),
                         NULL);
}

static gboolean
check_auth (const char *auth)
{
  const char *const known[] = { "ntlm", "krb5", "tls-dsk", "auto", NULL };

  return g_strv_contains (known, auth);
}

int
main (int argc, char **argv)
{
  g_autofree char *uri = NULL;
  g_autofree char *login = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *server = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *script = NULL;
  g_autofree char *user_dir = NULL;
  g_autofree char *password = NULL;
  gboolean password_stdin = FALSE;
  gboolean sso = FALSE;
  gboolean calendar = FALSE;
  gboolean keep_user_dir = FALSE;
  int timeout = 120;
  GOptionEntry entries[] = {
    { "uri", 0, 0, G_OPTION_ARG_STRING, &uri, "SIP address (sip:alice@contoso.test)", "URI" },
    { "login", 0, 0, G_OPTION_ARG_STRING, &login, "DOMAIN\\user or user@domain", "LOGIN" },
    { "password-stdin",
      0,
      0,
      G_OPTION_ARG_NONE,
      &password_stdin,
      "Read the password from the first line of stdin (else $" PASSWORD_ENV ")",
      NULL },
    { "auth", 0, 0, G_OPTION_ARG_STRING, &auth, "ntlm (default), krb5, tls-dsk or auto", "AUTH" },
    { "sso",
      0,
      0,
      G_OPTION_ARG_NONE,
      &sso,
      "Single sign-on: no password, SIPE uses the default Kerberos credentials ($KRB5CCNAME)",
      NULL },
    { "calendar",
      0,
      0,
      G_OPTION_ARG_NONE,
      &calendar,
      "SIPE's calendar on: Exchange autodiscover, EWS, calendar-derived presence",
      NULL },
    { "server",
      0,
      0,
      G_OPTION_ARG_STRING,
      &server,
      "Registrar to use instead of DNS discovery",
      "HOST[:PORT]" },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, "Extra trust anchors (PEM)", "FILE" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, "Give up after this long (120)", "SECONDS" },
    { "script",
      0,
      0,
      G_OPTION_ARG_STRING,
      &script,
      "Steps after sign-in, comma-separated (default: buddies,sign-out): stay:SECONDS, "
      "wait-input, wait-buddies:COUNT, buddies, presence:STATUS[:NOTE], action:LABEL, "
      "send-im:ADDRESS:TEXT, typing:ADDRESS, wait-im:COUNT, sign-out",
      "STEPS" },
    { "user-dir",
      0,
      0,
      G_OPTION_ARG_FILENAME,
      &user_dir,
      "libpurple user directory, kept (default: a temporary one, removed)",
      "DIR" },
    { "debug",
      0,
      0,
      G_OPTION_ARG_NONE,
      &check.debug,
      "libpurple and SIPE debug output on stderr (authentication material withheld)",
      NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- sign pidgin-sipe in");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) steps = NULL;
  PurplePlugin *sipe;

  check.start_us = g_get_monotonic_time ();
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "%s: %s\n", g_get_prgname (), error->message);
      return EXIT_USAGE;
    }
  if (uri == NULL || timeout <= 0)
    {
      fprintf (stderr, "%s: --uri is required and --timeout must be > 0\n", g_get_prgname ());
      return EXIT_USAGE;
    }
  if (auth == NULL)
    auth = g_strdup ("ntlm");
  if (!check_auth (auth))
    {
      fprintf (stderr, "%s: --auth must be ntlm, krb5, tls-dsk or auto\n", g_get_prgname ());
      return EXIT_USAGE;
    }
  steps = parse_script (script != NULL ? script : "buddies,sign-out", &error);
  if (steps == NULL)
    {
      fprintf (stderr, "%s: %s\n", g_get_prgname (), error->message);
      return EXIT_USAGE;
    }
  check.steps = steps;

  check.input = g_io_channel_unix_new (STDIN_FILENO);
  if (!sso)
    password = read_password (password_stdin, &error);
  if (!sso && password == NULL)
    {
      fprintf (stderr, "%s: %s\n", g_get_prgname (), error->message);
      g_io_channel_unref (check.input);
      return EXIT_USAGE;
    }

  /* libpurple would register itself on the session bus; a test client has no use for it. */
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  if (user_dir != NULL)
    keep_user_dir = TRUE;
  else
    user_dir = g_dir_make_tmp ("sfb-purple-XXXXXX", &error);
  if (user_dir == NULL || g_mkdir_with_parents (user_dir, 0700) != 0)
    {
      fprintf (stderr,
               "%s: no user directory: %s\n",
               g_get_prgname (),
               error != NULL ? error->message : g_strerror (errno));
      return EXIT_FAILURE;
    }

  check.loop = g_main_loop_new (NULL, FALSE);
  sipe = start_purple (user_dir, &error);
  if (sipe == NULL || (ca_file != NULL && !import_ca (ca_file, &error)))
    {
      emit_error ("setup", error->message);
      check.exit_status = EXIT_FAILURE;
    }
  else
    {
      JsonBuilder *builder = event_begin ("start");

      event_str (builder, "plugin", purple_plugin_get_id (sipe));
      event_str (builder, "version", purple_plugin_get_version (sipe));
      event_str (builder, "uri", uri);
      event_str (builder, "server", server);
      event_str (builder, "auth", auth);
      json_builder_set_member_name (builder, "sso");
      json_builder_add_boolean_value (builder, sso);
      json_builder_set_member_name (builder, "calendar");
      json_builder_add_boolean_value (builder, calendar);
      event_end (builder);

      check.account = make_account (uri, login, password, auth, server, sso, calendar);
      connect_signals ();
      g_io_channel_set_flags (check.input, G_IO_FLAG_NONBLOCK, NULL);
      check.input_source = g_io_add_watch (check.input, G_IO_IN | G_IO_HUP, on_input, NULL);
      g_timeout_add_seconds ((guint) timeout, on_deadline, NULL);
      g_unix_signal_add (SIGINT, on_signal, NULL);
      g_unix_signal_add (SIGTERM, on_signal, NULL);
      /* Enabling the account for this UI connects it (its status is "available"). */
      purple_account_set_enabled (check.account, UI_ID, TRUE);
      g_main_loop_run (check.loop);
    }

  g_clear_handle_id (&check.input_source, g_source_remove);
  purple_core_quit ();
  g_io_channel_unref (check.input);
  g_main_loop_unref (check.loop);
  if (!keep_user_dir)
    remove_tree (user_dir);
  {
    JsonBuilder *builder = event_begin ("exit");

    event_int (builder, "status", check.exit_status);
    event_end (builder);
  }
  return check.exit_status;
}
