/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SfbDaemon through the bus: the six interfaces on a private GTestDBus. */
#include "config.h"

#include "sfb-daemon.h"
#include "sfb-dbus-service.h"
#include "sfb-error.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include "sfb-test.h"
#include <sfbd/sfb-names.h>

#define PASSWORD "Tr0ub4dor&3-secret"
#define ACCOUNT SFB_DBUS_ACCOUNT_INTERFACE
#define PRESENCE SFB_DBUS_PRESENCE_INTERFACE
#define CONTACTS SFB_DBUS_CONTACTS_INTERFACE
#define DIAL_PLAN SFB_DBUS_DIAL_PLAN_INTERFACE
#define POLICIES SFB_DBUS_POLICIES_INTERFACE
#define DEVICES SFB_DBUS_DEVICES_INTERFACE

static const char *const all_interfaces[]
    = { ACCOUNT, PRESENCE, CONTACTS, DIAL_PLAN, POLICIES, DEVICES, NULL };

typedef struct
{
  SfbTestBus tb;
  char *root; /* this test's directory */
  char *config_dir;
  char *config_path;
  char *state_dir;
  GPtrArray *changed; /* "Interface.Property" from PropertiesChanged */
  guint changed_id;
} Fixture;

static void
on_properties_changed (GDBusConnection *connection,
                       const char *sender,
                       const char *path,
                       const char *interface,
                       const char *signal,
                       GVariant *parameters,
                       gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr (GVariant) changed = NULL;
  const char *changed_interface;
  GVariantIter iter;
  const char *name;

  g_variant_get (parameters, "(&s@a{sv}@as)", &changed_interface, &changed, NULL);
  g_variant_iter_init (&iter, changed);
  while (g_variant_iter_next (&iter, "{&sv}", &name, NULL))
    g_ptr_array_add (f->changed, g_strdup_printf ("%s.%s", changed_interface, name));
}

/* @data: the contents of sfbd.conf, or NULL for none */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->root = sfb_test_make_dir ();
  f->config_dir = g_build_filename (f->root, "config", "sfbd", NULL);
  f->config_path = g_build_filename (f->config_dir, SFB_CONFIG_FILE_NAME, NULL);
  f->state_dir = g_build_filename (f->root, "state", "sfbd", NULL);
  if (data != NULL)
    {
      g_assert_cmpint (g_mkdir_with_parents (f->config_dir, 0700), ==, 0);
      g_assert_true (g_file_set_contents (f->config_path, data, -1, NULL));
    }

  sfb_test_bus_up (&f->tb);
  f->changed = g_ptr_array_new_with_free_func (g_free);
  f->changed_id = g_dbus_connection_signal_subscribe (f->tb.client,
                                                      NULL,
                                                      "org.freedesktop.DBus.Properties",
                                                      "PropertiesChanged",
                                                      SFB_DBUS_PATH,
                                                      NULL,
                                                      G_DBUS_SIGNAL_FLAGS_NONE,
                                                      on_properties_changed,
                                                      f,
                                                      NULL);

  sfb_test_bus_export_daemon (&f->tb, f->config_path, f->state_dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_dbus_connection_signal_unsubscribe (f->tb.client, f->changed_id);
  sfb_test_bus_down (&f->tb);
  g_ptr_array_unref (f->changed);
  sfb_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->config_dir);
  g_free (f->config_path);
  g_free (f->state_dir);
}

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Asynchronous underneath: the daemon answers from this thread's loop. */
static GVariant *
call (Fixture *f, const char *interface, const char *method, GVariant *parameters, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  g_dbus_connection_call (f->tb.client,
                          g_dbus_connection_get_unique_name (f->tb.server),
                          SFB_DBUS_PATH,
                          interface,
                          method,
                          parameters,
                          NULL,
                          G_DBUS_CALL_FLAGS_NONE,
                          10000,
                          NULL,
                          on_call_done,
                          &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return g_dbus_connection_call_finish (f->tb.client, result, error);
}

static GVariant *
call_ok (Fixture *f, const char *interface, const char *method, GVariant *parameters)
{
  g_autoptr (GError) error = NULL;
  GVariant *reply = call (f, interface, method, parameters, &error);

  g_assert_no_error (error);
  return reply;
}

/* Returns the error message for further checks. */
static char *
call_fails (
    Fixture *f, const char *interface, const char *method, GVariant *parameters, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = call (f, interface, method, parameters, &error);
  g_autofree char *remote = NULL;

  g_assert_null (reply);
  g_assert_nonnull (error);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, name);
  g_dbus_error_strip_remote_error (error);
  return g_strdup (error->message);
}

static GVariant *
get_property (Fixture *f, const char *interface, const char *name)
{
  g_autoptr (GVariant) reply = call_ok (
      f, "org.freedesktop.DBus.Properties", "Get", g_variant_new ("(ss)", interface, name));
  GVariant *value;

  g_variant_get (reply, "(v)", &value);
  return value;
}

static char *
get_string (Fixture *f, const char *interface, const char *name)
{
  g_autoptr (GVariant) value = get_property (f, interface, name);

  return g_variant_dup_string (value, NULL);
}

#define assert_string_property(f, iface, name, expected)                                           \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *_value = get_string ((f), (iface), (name));                                   \
    g_assert_cmpstr (_value, ==, (expected));                                                      \
  }                                                                                                \
  G_STMT_END

static void
configure (Fixture *f, const char *settings)
{
  GVariant *parameters = g_variant_new_parsed ("(%@a{sv},)", g_variant_new_parsed (settings));

  g_variant_unref (call_ok (f, ACCOUNT, "Configure", parameters));
}

static gboolean
on_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_for_change (Fixture *f, const char *property)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (10, on_timeout, &timed_out);

  while (!g_ptr_array_find_with_equal_func (f->changed, property, g_str_equal, NULL))
    {
      g_assert_false (timed_out);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (timeout_id);
}

static void
wait_for_state (Fixture *f, const char *state)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (10, on_timeout, &timed_out);

  while (g_strcmp0 (sfb_daemon_get_state (f->tb.daemon), state) != 0)
    {
      g_assert_false (timed_out);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (timeout_id);
}

/* Nothing anywhere on the object contains the password. */
static void
assert_no_password_in_properties (Fixture *f)
{
  for (gsize i = 0; all_interfaces[i] != NULL; i++)
    {
      g_autoptr (GVariant) all = call_ok (
          f, "org.freedesktop.DBus.Properties", "GetAll", g_variant_new ("(s)", all_interfaces[i]));
      g_autofree char *text = g_variant_print (all, FALSE);

      g_assert_null (strstr (text, PASSWORD));
    }
}

static void
test_daemon_properties (Fixture *f, gconstpointer data)
{
  g_autoptr (GVariant) since = get_property (f, ACCOUNT, "SignedInSince");
  g_autoptr (GVariant) attempts = get_property (f, ACCOUNT, "ReconnectAttempts");
  g_autoptr (GVariant) code = get_property (f, PRESENCE, "AvailabilityCode");
  g_autoptr (GVariant) count = get_property (f, CONTACTS, "Count");
  g_autoptr (GVariant) revision = get_property (f, CONTACTS, "Revision");
  g_autoptr (GVariant) rules = get_property (f, DIAL_PLAN, "Rules");
  g_autoptr (GVariant) optimize = get_property (f, DIAL_PLAN, "OptimizeDeviceDialing");
  g_autoptr (GVariant) groups = get_property (f, POLICIES, "Groups");
  const char *empty_account[] = {
    "Uri",          "Login",     "Server",    "ServerVersion",    "AuthMethod", "AccessLocation",
    "LocalAddress", "Interface", "LastError", "LastErrorMessage", NULL
  };

  assert_string_property (f, ACCOUNT, "Version", PACKAGE_VERSION);
  assert_string_property (f, ACCOUNT, "State", SFB_STATE_SIGNED_OUT);
  for (gsize i = 0; empty_account[i] != NULL; i++)
    assert_string_property (f, ACCOUNT, empty_account[i], "");
  g_assert_cmpuint (g_variant_get_uint64 (since), ==, 0);
  g_assert_cmpuint (g_variant_get_uint32 (attempts), ==, 0);

  assert_string_property (f, PRESENCE, "Availability", SFB_AVAILABILITY_OFFLINE);
  assert_string_property (f, PRESENCE, "Activity", "");
  assert_string_property (f, PRESENCE, "Note", "");
  g_assert_cmpuint (g_variant_get_uint32 (code), ==, 0);

  g_assert_cmpuint (g_variant_get_uint32 (count), ==, 0);
  g_assert_cmpuint (g_variant_get_uint32 (revision), ==, 0);

  assert_string_property (f, DIAL_PLAN, "Name", "");
  assert_string_property (f, DIAL_PLAN, "ExternalAccessPrefix", "");
  g_assert_false (g_variant_get_boolean (optimize));
  g_assert_cmpstr (g_variant_get_type_string (rules), ==, "aa{sv}");
  g_assert_cmpuint (g_variant_n_children (rules), ==, 0);

  g_assert_cmpstr (g_variant_get_type_string (groups), ==, "as");
  g_assert_cmpuint (g_variant_n_children (groups), ==, 0);

  assert_string_property (f, DEVICES, "AudioOutput", "");
  assert_string_property (f, DEVICES, "AudioInput", "");
  assert_string_property (f, DEVICES, "VideoInput", "");
}

static void
test_daemon_introspection (Fixture *f, gconstpointer data)
{
  g_autoptr (GVariant) reply
      = call_ok (f, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
  const char *xml;

  g_variant_get (reply, "(&s)", &xml);
  for (gsize i = 0; all_interfaces[i] != NULL; i++)
    g_assert_nonnull (strstr (xml, all_interfaces[i]));
}

static void
test_daemon_sign_in (Fixture *f, gconstpointer data)
{
  g_autofree char *message = NULL;
  g_autoptr (GVariant) reply = NULL;
  GLogLevelFlags fatal;

  message = call_fails (f, ACCOUNT, "SignIn", NULL, SFB_DBUS_ERROR_NOT_CONFIGURED);
  g_assert_cmpstr (message,
                   ==,
                   "No SIP address is configured. Set one with: "
                   "sfbctl config set Account.Uri sip:user@example.com");
  assert_string_property (f, ACCOUNT, "LastError", SFB_DBUS_ERROR_NOT_CONFIGURED);
  assert_string_property (f, ACCOUNT, "LastErrorMessage", message);
  g_clear_pointer (&message, g_free);

  configure (f, "{'Account.Uri': <'alice@contoso.test'>}");
  assert_string_property (f, ACCOUNT, "Uri", "sip:alice@contoso.test");
  assert_string_property (f, ACCOUNT, "Login", "alice");

  message = call_fails (f, ACCOUNT, "SignIn", NULL, SFB_DBUS_ERROR_NO_CREDENTIALS);
#ifdef HAVE_KERBEROS
  /* Auth=auto may use a Kerberos ticket as well */
  g_assert_cmpstr (message,
                   ==,
                   "No password is known for sip:alice@contoso.test and there is no Kerberos "
                   "ticket. Get a ticket with: kinit, or set a password with: sfbctl set-password");
#else
  g_assert_cmpstr (
      message,
      ==,
      "No password is known for sip:alice@contoso.test. Set one with: sfbctl set-password");
#endif
  g_clear_pointer (&message, g_free);

  message = call_fails (
      f, ACCOUNT, "SetPassword", g_variant_new ("(sb)", "", TRUE), SFB_DBUS_ERROR_INVALID_ARGS);
  g_clear_pointer (&message, g_free);
  reply = call_ok (f, ACCOUNT, "SetPassword", g_variant_new ("(sb)", PASSWORD, FALSE));
  g_assert_false (g_file_test (f->state_dir, G_FILE_TEST_EXISTS));

  /* SignIn starts the pipeline; with nothing listening at the configured
   * server (a refused port on loopback) it keeps retrying, NotReachable */
  configure (f, "{'Account.Server': <'127.0.0.1:9'>}");
  g_clear_pointer (&reply, g_variant_unref);
  /* the first failure of the retries is a WARNING, by design: not fatal here */
  fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  reply = call_ok (f, ACCOUNT, "SignIn", NULL);
  wait_for_state (f, SFB_STATE_RECONNECTING);
  assert_string_property (f, ACCOUNT, "LastError", SFB_DBUS_ERROR_NOT_REACHABLE);
  message = get_string (f, ACCOUNT, "LastErrorMessage");
  g_assert_nonnull (strstr (message, "127.0.0.1:9"));
  g_assert_null (strstr (message, PASSWORD));
  assert_no_password_in_properties (f);
  g_clear_pointer (&message, g_free);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call_ok (f, ACCOUNT, "SignOut", NULL);
  wait_for_state (f, SFB_STATE_SIGNED_OUT);
  g_log_set_always_fatal (fatal);

  g_clear_pointer (&reply, g_variant_unref);
  reply = call_ok (f, ACCOUNT, "ForgetCredentials", NULL);
  message = call_fails (f, ACCOUNT, "SignIn", NULL, SFB_DBUS_ERROR_NO_CREDENTIALS);
}

static void
test_daemon_stored_password (Fixture *f, gconstpointer data)
{
  g_autofree char *message = NULL;
  g_autofree char *path = g_build_filename (f->state_dir, SFB_SECRET_STORE_FILE_NAME, NULL);
  g_autoptr (GVariant) reply = NULL;
  GStatBuf st;

  message = call_fails (f,
                        ACCOUNT,
                        "SetPassword",
                        g_variant_new ("(sb)", PASSWORD, TRUE),
                        SFB_DBUS_ERROR_NOT_CONFIGURED);
  g_assert_null (strstr (message, PASSWORD));

  configure (f, "{'Uri': <'sip:alice@contoso.test'>, 'Store': <'file'>}");
  reply = call_ok (f, ACCOUNT, "SetPassword", g_variant_new ("(sb)", PASSWORD, TRUE));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_clear_pointer (&reply, g_variant_unref);
  reply = call_ok (f, ACCOUNT, "ForgetCredentials", NULL);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_daemon_configure (Fixture *f, gconstpointer data)
{
  g_autofree char *bad_value = NULL;
  g_autofree char *bad_key = NULL;
  g_autofree char *bad_type = NULL;
  g_autofree char *contents = NULL;

  bad_value = call_fails (
      f,
      ACCOUNT,
      "Configure",
      g_variant_new_parsed ("({'Account.Uri': <'a@b.test'>, 'Account.Server': <'pool:0'>},)"),
      SFB_DBUS_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (bad_value, "Account.Server"));
  g_assert_false (g_file_test (f->config_path, G_FILE_TEST_EXISTS));
  assert_string_property (f, ACCOUNT, "Uri", "");

  bad_key = call_fails (f,
                        ACCOUNT,
                        "Configure",
                        g_variant_new_parsed ("({'Colour': <'red'>},)"),
                        SFB_DBUS_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (bad_key, "Colour"));
  bad_type = call_fails (f,
                         ACCOUNT,
                         "Configure",
                         g_variant_new_parsed ("({'Uri': <7>},)"),
                         SFB_DBUS_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (bad_type, "Account.Uri"));

  configure (f,
             "{'Account.Uri': <'alice@contoso.test'>, 'Account.Login': <'CONTOSO\\\\alice'>, "
             "'Account.AutoSignIn': <false>}");
  assert_string_property (f, ACCOUNT, "Login", "CONTOSO\\alice");
  g_assert_true (g_file_get_contents (f->config_path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "Login=CONTOSO\\alice\n"));
  g_assert_nonnull (strstr (contents, "AutoSignIn=false\n"));
}

static void
test_daemon_properties_changed (Fixture *f, gconstpointer data)
{
  configure (f, "{'Account.Uri': <'alice@contoso.test'>}");
  wait_for_change (f, ACCOUNT ".Uri");
  wait_for_change (f, ACCOUNT ".Login");
}

static void
test_daemon_not_signed_in (Fixture *f, gconstpointer data)
{
  const struct
  {
    const char *interface;
    const char *method;
    const char *parameters;
    const char *error;
  } refused[] = {
    { ACCOUNT, "Reconnect", NULL, SFB_DBUS_ERROR_NOT_SIGNED_IN },
    { PRESENCE, "SetAvailability", "('busy',)", SFB_DBUS_ERROR_NOT_SIGNED_IN },
    { PRESENCE, "SetAvailability", "('appear-offline',)", SFB_DBUS_ERROR_NOT_SIGNED_IN },
    { PRESENCE, "SetAvailability", "('offline',)", SFB_DBUS_ERROR_INVALID_ARGS },
    { PRESENCE, "SetAvailability", "('sleepy',)", SFB_DBUS_ERROR_INVALID_ARGS },
    { PRESENCE, "SetNote", "('Out to lunch',)", SFB_DBUS_ERROR_NOT_SIGNED_IN },
    { DIAL_PLAN, "Normalize", "('5551234',)", SFB_DBUS_ERROR_NOT_FOUND },
    { POLICIES, "GetPolicy", "('meetingPolicy',)", SFB_DBUS_ERROR_NOT_FOUND },
  };
  const struct
  {
    const char *interface;
    const char *method;
    const char *parameters;
    const char *reply_type;
  } empty[] = {
    { ACCOUNT, "SignOut", NULL, "()" },
    { ACCOUNT, "GetSignInTrace", NULL, "(aa{sv})" },
    { PRESENCE, "GetPresence", "(['sip:bob@contoso.test'],)", "(a{sa{sv}})" },
    { CONTACTS, "ListContacts", NULL, "(aa{sv})" },
    { CONTACTS, "ListGroups", NULL, "(aa{sv})" },
    { POLICIES, "GetAll", NULL, "(a{sa{sv}})" },
    { DEVICES, "ListDevices", NULL, "(aa{sv})" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      GVariant *parameters
          = refused[i].parameters ? g_variant_new_parsed (refused[i].parameters) : NULL;
      g_autofree char *message
          = call_fails (f, refused[i].interface, refused[i].method, parameters, refused[i].error);

      g_assert_cmpstr (message, !=, "");
    }
  for (gsize i = 0; i < G_N_ELEMENTS (empty); i++)
    {
      GVariant *parameters
          = empty[i].parameters ? g_variant_new_parsed (empty[i].parameters) : NULL;
      g_autoptr (GVariant) reply = call_ok (f, empty[i].interface, empty[i].method, parameters);

      g_assert_cmpstr (g_variant_get_type_string (reply), ==, empty[i].reply_type);
      if (g_variant_n_children (reply) > 0)
        {
          g_autoptr (GVariant) collection = g_variant_get_child_value (reply, 0);

          g_assert_cmpuint (g_variant_n_children (collection), ==, 0);
        }
    }
}

static void
test_daemon_availability_message (Fixture *f, gconstpointer data)
{
  g_autofree char *message = call_fails (
      f, PRESENCE, "SetAvailability", g_variant_new ("(s)", "sleepy"), SFB_DBUS_ERROR_INVALID_ARGS);

  g_assert_nonnull (strstr (message, "sleepy"));
  g_assert_nonnull (strstr (
      message, "online, busy, do-not-disturb, be-right-back, away, off-work, appear-offline"));
}

static void
test_daemon_devices (Fixture *f, gconstpointer data)
{
  g_autofree char *bad_kind = NULL;
  g_autofree char *no_name = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) list = NULL;

  /* no PipeWire here: the preferred device from sfbd.conf is absent and
   * there is no system default to fall back to, so nothing is in use */
  assert_string_property (f, DEVICES, "AudioOutput", "");
  reply = call_ok (f, DEVICES, "ListDevices", NULL);
  list = g_variant_get_child_value (reply, 0);
  g_assert_cmpstr (g_variant_get_type_string (list), ==, "aa{sv}");
  g_assert_cmpuint (g_variant_n_children (list), ==, 0);
  g_clear_pointer (&reply, g_variant_unref);

  bad_kind = call_fails (f,
                         DEVICES,
                         "SelectDevice",
                         g_variant_new ("(ss)", "speaker", "x"),
                         SFB_DBUS_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (bad_kind, "audio-output"));
  no_name = call_fails (f,
                        DEVICES,
                        "SelectDevice",
                        g_variant_new ("(ss)", SFB_DEVICE_KIND_AUDIO_INPUT, ""),
                        SFB_DBUS_ERROR_INVALID_ARGS);

  reply = call_ok (f,
                   DEVICES,
                   "SelectDevice",
                   g_variant_new ("(ss)", SFB_DEVICE_KIND_AUDIO_INPUT, "alsa_input.usb"));
  assert_string_property (f, DEVICES, "AudioInput", "");
  g_assert_true (g_file_get_contents (f->config_path, &contents, NULL, NULL));
  g_assert_nonnull (
      strstr (contents, "[Devices]\nAudioOutput=alsa_output.usb\nAudioInput=alsa_input.usb\n"));
}

/* A bad value: the daemon runs, signed out, and says what is wrong. */
static void
test_daemon_bad_config (Fixture *f, gconstpointer data)
{
  g_autofree char *last_message = get_string (f, ACCOUNT, "LastErrorMessage");
  g_autofree char *expected = g_strdup_printf ("%s:3: Account.Uri: *", f->config_path);
  g_autofree char *message = NULL;

  assert_string_property (f, ACCOUNT, "State", SFB_STATE_SIGNED_OUT);
  assert_string_property (f, ACCOUNT, "LastError", SFB_DBUS_ERROR_NOT_CONFIGURED);
  g_assert_true (g_pattern_match_simple (expected, last_message));
  assert_string_property (f, ACCOUNT, "Uri", "");

  message = call_fails (f, ACCOUNT, "SignIn", NULL, SFB_DBUS_ERROR_NOT_CONFIGURED);
  g_assert_cmpstr (message, ==, last_message);

  configure (f, "{'Account.Uri': <'alice@contoso.test'>}");
  assert_string_property (f, ACCOUNT, "LastError", "");
  assert_string_property (f, ACCOUNT, "LastErrorMessage", "");
  assert_string_property (f, ACCOUNT, "Uri", "sip:alice@contoso.test");
}

/* A syntax error: reported, and Configure() refuses to overwrite the file. */
static void
test_daemon_broken_config (Fixture *f, gconstpointer data)
{
  g_autofree char *last_message = get_string (f, ACCOUNT, "LastErrorMessage");
  g_autofree char *expected = g_strdup_printf ("%s:2: *", f->config_path);
  g_autofree char *message = NULL;

  assert_string_property (f, ACCOUNT, "LastError", SFB_DBUS_ERROR_NOT_CONFIGURED);
  g_assert_true (g_pattern_match_simple (expected, last_message));
  message = call_fails (f,
                        ACCOUNT,
                        "Configure",
                        g_variant_new_parsed ("({'Account.Auth': <'ntlm'>},)"),
                        SFB_DBUS_ERROR_NOT_CONFIGURED);
  g_assert_nonnull (strstr (message, f->config_path));
}

#define ADD(path, data, func)                                                                      \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  int status;

  sfb_test_isolate ();
  g_test_init (&argc, &argv, NULL);

  ADD ("/daemon/properties", NULL, test_daemon_properties);
  ADD ("/daemon/introspection", NULL, test_daemon_introspection);
  ADD ("/daemon/sign-in", NULL, test_daemon_sign_in);
  ADD ("/daemon/stored-password", NULL, test_daemon_stored_password);
  ADD ("/daemon/configure", NULL, test_daemon_configure);
  ADD ("/daemon/properties-changed", NULL, test_daemon_properties_changed);
  ADD ("/daemon/not-signed-in", NULL, test_daemon_not_signed_in);
  ADD ("/daemon/availability-message", NULL, test_daemon_availability_message);
  ADD ("/daemon/devices", "[Devices]\nAudioOutput=alsa_output.usb\n", test_daemon_devices);
  ADD ("/daemon/bad-config", "[Account]\n# oops\nUri=alice\n", test_daemon_bad_config);
  ADD ("/daemon/broken-config", "[Account]\nthis is not a setting\n", test_daemon_broken_config);
  status = g_test_run ();
  sfb_test_cleanup ();
  return status;
}
