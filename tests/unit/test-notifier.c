/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SfbNotifier against a notification server of the test's own, on a private bus. */
#include "config.h"

#include "sfb-notifier.h"

#include <gio/gio.h>
#include <string.h>

static const char server_xml[]
    = "<node><interface name='org.freedesktop.Notifications'>"
      "<method name='GetCapabilities'><arg type='as' direction='out'/></method>"
      "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
      "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
      "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/>"
      "<arg type='i' direction='in'/><arg type='u' direction='out'/></method>"
      "<method name='CloseNotification'><arg type='u' direction='in'/></method>"
      "</interface></node>";

typedef struct
{
  GTestDBus *dbus;
  GDBusConnection *client;
  GDBusConnection *server;
  guint registration;
  const char *const *caps;
  GPtrArray *calls; /* GVariant: (method, parameters) */
  guint next_id;
  GPtrArray *actions; /* (key, action) pairs as "key|action" */
} Fixture;

static void
server_method (GDBusConnection *bus,
               const char *sender,
               const char *path,
               const char *iface,
               const char *method,
               GVariant *parameters,
               GDBusMethodInvocation *invocation,
               gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->calls, g_variant_ref_sink (g_variant_new ("(s@*)", method, parameters)));
  if (g_str_equal (method, "GetCapabilities"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", f->caps));
  else if (g_str_equal (method, "Notify"))
    {
      guint replaces = 0;

      g_variant_get_child (parameters, 1, "u", &replaces);
      g_dbus_method_invocation_return_value (
          invocation, g_variant_new ("(u)", replaces != 0 ? replaces : ++f->next_id));
    }
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static const GDBusInterfaceVTable server_vtable = { server_method, NULL, NULL, { 0 } };

static void
fixture_setup (Fixture *f, const char *const *caps)
{
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (server_xml, NULL);
  g_autoptr (GVariant) ret = NULL;

  f->caps = caps;
  f->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  f->actions = g_ptr_array_new_with_free_func (g_free);
  f->dbus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->dbus);
  f->server = g_dbus_connection_new_for_address_sync (
      g_test_dbus_get_bus_address (f->dbus),
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL,
      NULL,
      NULL);
  f->client = g_dbus_connection_new_for_address_sync (
      g_test_dbus_get_bus_address (f->dbus),
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL,
      NULL,
      NULL);
  g_assert_nonnull (f->server);
  g_assert_nonnull (f->client);
  f->registration = g_dbus_connection_register_object (f->server,
                                                       "/org/freedesktop/Notifications",
                                                       info->interfaces[0],
                                                       &server_vtable,
                                                       f,
                                                       NULL,
                                                       NULL);
  ret = g_dbus_connection_call_sync (f->server,
                                     "org.freedesktop.DBus",
                                     "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus",
                                     "RequestName",
                                     g_variant_new ("(su)", "org.freedesktop.Notifications", 0),
                                     NULL,
                                     G_DBUS_CALL_FLAGS_NONE,
                                     -1,
                                     NULL,
                                     NULL);
  g_assert_nonnull (ret);
}

static void
fixture_teardown (Fixture *f)
{
  g_dbus_connection_unregister_object (f->server, f->registration);
  g_dbus_connection_close_sync (f->client, NULL, NULL);
  g_dbus_connection_close_sync (f->server, NULL, NULL);
  g_clear_object (&f->client);
  g_clear_object (&f->server);
  g_test_dbus_down (f->dbus);
  g_clear_object (&f->dbus);
  g_ptr_array_unref (f->calls);
  g_ptr_array_unref (f->actions);
}

/* Iterates until the server has had @n calls (with a deadline). */
static void
wait_calls (Fixture *f, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (f->calls->len < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f->calls->len, >=, n);
}

static GVariant *
call_parameters (Fixture *f, guint i, const char *method)
{
  const char *name = NULL;
  GVariant *params = NULL;

  g_assert_cmpuint (i, <, f->calls->len);
  g_variant_get (f->calls->pdata[i], "(&s@*)", &name, &params);
  g_assert_cmpstr (name, ==, method);
  return params;
}

static void
emit (Fixture *f, const char *signal, GVariant *parameters)
{
  g_dbus_connection_emit_signal (f->server,
                                 NULL,
                                 "/org/freedesktop/Notifications",
                                 "org.freedesktop.Notifications",
                                 signal,
                                 parameters,
                                 NULL);
}

static void
on_action (SfbNotifier *notifier, const char *key, const char *action, Fixture *f)
{
  g_ptr_array_add (f->actions, g_strdup_printf ("%s|%s", key, action));
}

static void
on_reply (SfbNotifier *notifier, const char *key, const char *text, Fixture *f)
{
  g_ptr_array_add (f->actions, g_strdup_printf ("%s|reply:%s", key, text));
}

static void
wait_actions (Fixture *f, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (f->actions->len < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f->actions->len, ==, n);
}

static void
test_show_replace_withdraw (void)
{
  static const char *const caps[] = { "body", "body-markup", "actions", NULL };
  static const char *const actions[]
      = { "set-password", "Set password…", "details", "Details", NULL };
  Fixture f = { 0 };
  g_autoptr (SfbNotifier) notifier = NULL;
  g_autoptr (GVariant) p1 = NULL;
  g_autoptr (GVariant) p2 = NULL;
  g_autoptr (GVariant) p3 = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *body = NULL;
  g_autofree const char **sent_actions = NULL;
  guint replaces = 99;
  guint closed = 0;

  fixture_setup (&f, caps);
  notifier = sfb_notifier_new (f.client);
  g_signal_connect (notifier, "action", G_CALLBACK (on_action), &f);
  sfb_notifier_show (
      notifier, "auth", "Password\x1b[31m refused", "<b>alice</b> & co\nline two", actions, FALSE);
  g_assert_true (sfb_notifier_is_shown (notifier, "auth"));
  wait_calls (&f, 2);
  g_variant_unref (call_parameters (&f, 0, "GetCapabilities"));
  p1 = call_parameters (&f, 1, "Notify");
  g_variant_get (
      p1, "(&susss^a&s@a{sv}i)", NULL, &replaces, NULL, &summary, &body, &sent_actions, NULL, NULL);
  g_assert_cmpuint (replaces, ==, 0);
  /* the escape character is no longer there: one line, made safe */
  g_assert_null (strchr (summary, '\x1b'));
  g_assert_true (g_str_has_prefix (summary, "Password"));
  g_assert_cmpstr (body, ==, "&lt;b&gt;alice&lt;/b&gt; &amp; co\nline two");
  g_assert_cmpuint (g_strv_length ((char **) sent_actions), ==, 4);
  g_assert_cmpstr (sent_actions[0], ==, "set-password");
  g_assert_cmpstr (sent_actions[3], ==, "Details");

  /* a replacement waits for the first id, and uses it */
  sfb_notifier_show (notifier, "auth", "Password refused", "again", actions, FALSE);
  wait_calls (&f, 3);
  p2 = call_parameters (&f, 2, "Notify");
  g_variant_get_child (p2, 1, "u", &replaces);
  g_assert_cmpuint (replaces, ==, 1);

  /* an action of ours reaches the caller; one it never offered does not */
  emit (&f, "ActionInvoked", g_variant_new ("(us)", 1, "forged"));
  emit (&f, "ActionInvoked", g_variant_new ("(us)", 2, "details"));
  emit (&f, "ActionInvoked", g_variant_new ("(us)", 1, "details"));
  wait_actions (&f, 1);
  g_assert_cmpstr (f.actions->pdata[0], ==, "auth|details");

  sfb_notifier_withdraw (notifier, "auth");
  g_assert_false (sfb_notifier_is_shown (notifier, "auth"));
  wait_calls (&f, 4);
  p3 = call_parameters (&f, 3, "CloseNotification");
  g_variant_get (p3, "(u)", &closed);
  g_assert_cmpuint (closed, ==, 1);

  g_clear_object (&notifier);
  fixture_teardown (&f);
}

static void
test_plain_body_and_reply (void)
{
  static const char *const caps[] = { "body", "actions", "inline-reply", NULL };
  Fixture f = { 0 };
  g_autoptr (SfbNotifier) notifier = NULL;
  g_autoptr (GVariant) p = NULL;
  g_autofree char *body = NULL;
  g_autofree const char **sent_actions = NULL;

  fixture_setup (&f, caps);
  notifier = sfb_notifier_new (f.client);
  g_signal_connect (notifier, "reply", G_CALLBACK (on_reply), &f);
  sfb_notifier_show (notifier, "im:bob", "Bob", "a < b\tc", NULL, TRUE);
  wait_calls (&f, 2);
  p = call_parameters (&f, 1, "Notify");
  g_variant_get (
      p, "(&susss^a&s@a{sv}i)", NULL, NULL, NULL, NULL, &body, &sent_actions, NULL, NULL);
  /* no body-markup: the text as it is, tabs as spaces */
  g_assert_cmpstr (body, ==, "a < b c");
  g_assert_cmpuint (g_strv_length ((char **) sent_actions), ==, 2);
  g_assert_cmpstr (sent_actions[0], ==, "inline-reply");

  /* a replacement is sent once the first id is known */
  sfb_notifier_show (notifier, "im:bob", "Bob", "a < b\tc", NULL, TRUE);
  wait_calls (&f, 3);
  emit (&f, "NotificationReplied", g_variant_new ("(us)", 1, "bad\x1b text"));
  emit (&f, "NotificationReplied", g_variant_new ("(us)", 1, "hi\nthere"));
  wait_actions (&f, 1);
  g_assert_cmpstr (f.actions->pdata[0], ==, "im:bob|reply:hi\nthere");

  /* dismissed by the user: forgotten */
  emit (&f, "NotificationClosed", g_variant_new ("(uu)", 1, 2));
  while (sfb_notifier_is_shown (notifier, "im:bob"))
    g_main_context_iteration (NULL, TRUE);

  g_clear_object (&notifier);
  fixture_teardown (&f);
}

static void
test_no_bus (void)
{
  g_autoptr (SfbNotifier) notifier = sfb_notifier_new (NULL);

  sfb_notifier_show (notifier, "k", "s", "b", NULL, FALSE);
  g_assert_false (sfb_notifier_is_shown (notifier, "k"));
  sfb_notifier_withdraw (notifier, "k");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notifier/show-replace-withdraw", test_show_replace_withdraw);
  g_test_add_func ("/notifier/plain-body-and-reply", test_plain_body_and_reply);
  g_test_add_func ("/notifier/no-bus", test_no_bus);
  return g_test_run ();
}
