# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd-applet on a private bus, seen by a StatusNotifierWatcher written here.

The watcher stands in for the panel: the tests check that the applet
registers its item, that the item's properties (icon, title, tooltip,
status) and its dbusmenu follow sfbd's state, that menu actions call sfbd,
and that restarts of sfbd and of the watcher are survived.

"sfbd not running" and "signed out" (with a refused sign-in) run against
the real sfbd.  Signed-in, reconnecting and failed cannot be reached with
the real sfbd yet (it has no sign-in pipeline), so those tests use
sfbd_mock.py, a python3-dbusmock MOCK of org.sfbd.Sfbd; each says so.
"""

import json
import os
import subprocess
import sys
import time
import unittest

from gi.repository import Gio, GLib

from sfbd_testcase import ACCOUNT, TIMEOUT, SfbdTestCase, required_path

ITEM_INTERFACE = "org.kde.StatusNotifierItem"
ITEM_PATH = "/StatusNotifierItem"
MENU_INTERFACE = "com.canonical.dbusmenu"
WATCHER_NAME = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"

# menu item ids of client/applet/sfb-applet.h
MENU_AVAILABILITY = {"online": 10, "busy": 11, "do-not-disturb": 12, "be-right-back": 13,
                     "away": 14, "appear-offline": 15}
MENU_SIGN_IN = 20
MENU_SIGN_OUT = 21
MENU_RECONNECT = 22
MENU_TRACE = 30

WATCHER_XML = """<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem">
      <arg name="service" type="s" direction="in"/>
    </method>
    <method name="RegisterStatusNotifierHost">
      <arg name="service" type="s" direction="in"/>
    </method>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
  </interface>
</node>"""

MOCK_TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sfbd_mock.py")


def iterate_until(predicate, timeout=TIMEOUT):
    """Runs the default main context until predicate() is true; returns its
    last value (falsy on timeout)."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        if not context.iteration(False):
            time.sleep(0.01)
        value = predicate()
    return value


class Watcher:
    """org.kde.StatusNotifierWatcher on its own connection, recording the
    items that register."""

    def __init__(self, address):
        self.items = []
        self.connection = Gio.DBusConnection.new_for_address_sync(
            address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        info = Gio.DBusNodeInfo.new_for_xml(WATCHER_XML).interfaces[0]
        self.registration = self.connection.register_object(
            WATCHER_PATH, info, self._method_call, None, None)
        reply = self.connection.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "RequestName", GLib.Variant("(su)", (WATCHER_NAME, 4)), GLib.VariantType("(u)"),
            Gio.DBusCallFlags.NONE, -1, None)
        if reply.unpack()[0] != 1:
            raise RuntimeError(f"could not own {WATCHER_NAME}")

    def _method_call(self, connection, sender, path, interface, method, parameters, invocation):
        if method == "RegisterStatusNotifierItem":
            self.items.append((sender, parameters.unpack()[0]))
        invocation.return_value(None)

    def close(self):
        self.connection.unregister_object(self.registration)
        self.connection.close_sync(None)


class AppletTestCase(SfbdTestCase):
    START_DAEMON = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.applet_path = required_path("SFBD_APPLET_PATH")

    def setUp(self):
        super().setUp()
        self.watcher = self.start_watcher()
        self.applet = None
        self.mock = None

    def start_watcher(self):
        watcher = Watcher(self.env["DBUS_SESSION_BUS_ADDRESS"])
        self.addCleanup(lambda: watcher.connection.is_closed() or watcher.close())
        return watcher

    def start_applet(self):
        log_path = os.path.join(self.tmp, "sfbd-applet.log")
        self.log_paths.append(log_path)
        with open(log_path, "w", encoding="utf-8") as log:
            self.applet = subprocess.Popen([self.applet_path, "--verbose"], env=self.env,
                                           stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT)
        self.daemons.append(self.applet)
        self.assertTrue(iterate_until(lambda: self.watcher.items),
                        "the applet did not register with the watcher")
        sender, service = self.watcher.items[-1]
        self.assertTrue(service.startswith("org.kde.StatusNotifierItem-"), service)
        self.item_service = service
        return self.applet

    def start_mock(self, **parameters):
        """Starts the dbusmock MOCK of org.sfbd.Sfbd (see sfbd_mock.py)."""
        log_path = os.path.join(self.tmp, f"sfbd-mock-{len(self.log_paths) + 1}.log")
        self.log_paths.append(log_path)
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "dbusmock", "--session", "--template", MOCK_TEMPLATE,
                 "--parameters", json.dumps(parameters)],
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.daemons.append(process)
        self.wait_for_owner(lambda owner: owner is not None, process)
        self.mock = process
        return process

    def mock_call(self, method, args=None, signature=None, interface=ACCOUNT):
        parameters = GLib.Variant(signature, args) if signature is not None else None
        return self.bus.call_sync("org.sfbd.Sfbd", "/org/sfbd/Sfbd", "org.freedesktop.DBus.Mock",
                                  method, parameters, None, Gio.DBusCallFlags.NO_AUTO_START,
                                  TIMEOUT * 1000, None).unpack()

    def mock_update(self, interface, properties):
        self.mock_call("UpdateProperties", (interface, properties), "(sa{sv})")

    def mock_calls(self, method):
        return [args for _, args in self.mock_call("GetMethodCalls", (method,), "(s)")[0]]

    # ---- the item and its menu ----

    def item_properties(self):
        reply = self.bus.call_sync(self.item_service, ITEM_PATH, "org.freedesktop.DBus.Properties",
                                   "GetAll", GLib.Variant("(s)", (ITEM_INTERFACE,)), None,
                                   Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)
        return reply.unpack()[0]

    def wait_for_item(self, predicate, what):
        """Polls the item's properties until predicate(properties) holds."""
        seen = {}

        def check():
            seen.update(self.item_properties())
            return predicate(seen)

        if not iterate_until(check):
            self.fail(f"the item never showed {what}; it shows Title={seen.get('Title')!r}, "
                      f"IconName={seen.get('IconName')!r}, Status={seen.get('Status')!r}, "
                      f"ToolTip={seen.get('ToolTip')!r}")
        return seen

    def tooltip(self, properties):
        _, _, title, body = properties["ToolTip"]
        return title + "\n" + body

    def menu(self):
        """{id: properties} of every item, plus {id: parent id} in "parents"."""
        properties = self.item_properties()
        menu_path = properties["Menu"]
        reply = self.bus.call_sync(self.item_service, menu_path, MENU_INTERFACE, "GetLayout",
                                   GLib.Variant("(iias)", (0, -1, [])), None,
                                   Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)
        _, layout = reply.unpack()
        items, parents = {}, {}

        def walk(node, parent):
            item_id, props, children = node
            items[item_id] = props
            parents[item_id] = parent
            for child in children:
                walk(child, item_id)

        walk(layout, None)
        return items, parents

    def click(self, item_id):
        self.bus.call_sync(self.item_service, "/MenuBar", MENU_INTERFACE, "Event",
                           GLib.Variant("(isvu)", (item_id, "clicked", GLib.Variant("i", 0), 0)),
                           None, Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)

    def assert_enabled(self, items, item_id, enabled):
        self.assertEqual(items[item_id].get("enabled", True), enabled,
                         f"menu item {items[item_id].get('label')!r}")

    def trace_labels(self):
        items, parents = self.menu()
        return [items[i].get("label", "") for i in sorted(items) if parents[i] == MENU_TRACE]


class TestWithoutSfbd(AppletTestCase):
    def test_registers_and_says_sfbd_is_not_running(self):
        self.start_applet()
        props = self.wait_for_item(lambda p: "not running" in p.get("Title", ""),
                                   "sfbd not running")
        self.assertEqual(props["IconName"], "user-offline")
        self.assertEqual(props["Status"], "Active")
        self.assertEqual(props["Id"], "sfbd-applet")
        self.assertEqual(props["Category"], "Communications")
        self.assertTrue(props["ItemIsMenu"])
        self.assertEqual(props["Menu"], "/MenuBar")
        self.assertIn("systemctl --user start sfbd", self.tooltip(props))
        # the icon is drawn too, for hosts without an icon theme
        sizes = [(width, height, len(data)) for width, height, data in props["IconPixmap"]]
        self.assertIn((22, 22, 22 * 22 * 4), sizes)

        items, _ = self.menu()
        self.assert_enabled(items, MENU_SIGN_IN, True)  # starts sfbd through activation
        self.assert_enabled(items, MENU_SIGN_OUT, False)
        self.assert_enabled(items, MENU_RECONNECT, False)
        for item_id in MENU_AVAILABILITY.values():
            self.assert_enabled(items, item_id, False)

    def test_sign_in_without_sfbd_says_why_it_failed(self):
        self.start_applet()
        self.wait_for_item(lambda p: "not running" in p.get("Title", ""), "sfbd not running")
        self.click(MENU_SIGN_IN)
        self.wait_for_item(
            lambda p: "Could not sign in: sfbd is not running" in self.tooltip(p),
            "why signing in failed")

    def test_waybar_says_sfbd_is_not_running(self):
        result = self.sfbctl("status", "--format", "waybar")
        self.assertEqual(result.returncode, 0, result.stderr)
        output = json.loads(result.stdout)
        self.assertEqual(output["text"], "sfbd not running")
        self.assertEqual(output["class"], ["not-running"])
        self.assertIn("systemctl --user start sfbd", output["tooltip"])

    def test_second_applet_leaves(self):
        self.start_applet()
        second = subprocess.run([self.applet_path], env=self.env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=TIMEOUT, check=False)
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIsNone(self.applet.poll(), "the first applet must keep running")
        self.assertEqual(len(self.watcher.items), 1)

    def test_watcher_restart_is_survived(self):
        self.start_applet()
        self.watcher.close()
        self.watcher = self.start_watcher()
        self.assertTrue(iterate_until(lambda: self.watcher.items),
                        "the applet did not register with the new watcher")
        self.assertEqual(self.watcher.items[-1][1], self.item_service)
        self.wait_for_item(lambda p: "not running" in p.get("Title", ""), "sfbd not running")


class TestWithSfbd(AppletTestCase):
    """Against the real sfbd: signed out, and a refused sign-in."""

    def test_signed_out(self):
        self.start_daemon()
        self.start_applet()
        props = self.wait_for_item(lambda p: p.get("Title") == "Skype for Business: Signed out",
                                   "signed out")
        self.assertEqual(props["IconName"], "user-offline")
        self.assertEqual(props["Status"], "Active")
        self.assertIn("State: Signed out", self.tooltip(props))
        items, parents = self.menu()
        self.assert_enabled(items, MENU_SIGN_IN, True)
        self.assert_enabled(items, MENU_SIGN_OUT, False)
        self.assert_enabled(items, MENU_AVAILABILITY["busy"], False)
        self.assertEqual(self.trace_labels(), ["No sign-in attempt yet"])

    def test_sign_in_from_the_menu_calls_sfbd(self):
        self.start_daemon()
        self.start_applet()
        self.wait_for_item(lambda p: "Signed out" in p.get("Title", ""), "signed out")
        self.click(MENU_SIGN_IN)
        # sfbd has no account configured: it refuses, and says so in LastError
        self.assertTrue(iterate_until(lambda: self.get_property(ACCOUNT, "LastError")
                                      == "org.sfbd.Sfbd.Error.NotConfigured"))
        props = self.wait_for_item(lambda p: "(NotConfigured)" in self.tooltip(p),
                                   "the last error")
        self.assertIn("No SIP address is configured", self.tooltip(props))
        self.assertIn("Could not sign in", self.tooltip(props))

    def test_sfbd_restart_is_survived(self):
        daemon = self.start_daemon()
        self.start_applet()
        self.wait_for_item(lambda p: "Signed out" in p.get("Title", ""), "signed out")
        self.stop_process(daemon)
        self.wait_for_item(lambda p: "not running" in p.get("Title", ""), "sfbd not running")
        self.start_daemon()
        self.wait_for_item(lambda p: "Signed out" in p.get("Title", ""), "signed out again")
        self.assertIsNone(self.applet.poll())


class TestWithMockSfbd(AppletTestCase):
    """Signed in, reconnecting and failed: against the dbusmock MOCK of sfbd
    (sfbd_mock.py), because the real sfbd cannot sign in yet."""

    def test_signed_in_shows_availability_and_note(self):
        self.start_mock()
        self.start_applet()
        props = self.wait_for_item(lambda p: p.get("IconName") == "user-available", "available")
        self.assertEqual(props["Title"], "Skype for Business: Available")
        tooltip = self.tooltip(props)
        self.assertIn("Note: Working from Oslo", tooltip)
        self.assertIn("Server: pool01.contoso.test:5061", tooltip)
        items, _ = self.menu()
        self.assertEqual(items[MENU_AVAILABILITY["online"]]["toggle-state"], 1)
        self.assertEqual(items[MENU_AVAILABILITY["busy"]]["toggle-state"], 0)
        self.assert_enabled(items, MENU_AVAILABILITY["busy"], True)
        self.assert_enabled(items, MENU_SIGN_IN, False)
        self.assert_enabled(items, MENU_SIGN_OUT, True)
        self.assert_enabled(items, MENU_RECONNECT, True)

    def test_menu_sets_availability(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_item(lambda p: p.get("IconName") == "user-available", "available")
        self.click(MENU_AVAILABILITY["busy"])
        props = self.wait_for_item(lambda p: p.get("IconName") == "user-busy", "busy")
        self.assertEqual(props["Title"], "Skype for Business: Busy")
        self.assertEqual(self.mock_calls("SetAvailability"), [["busy"]])
        items, _ = self.menu()
        self.assertEqual(items[MENU_AVAILABILITY["busy"]]["toggle-state"], 1)
        self.click(MENU_AVAILABILITY["appear-offline"])
        self.wait_for_item(lambda p: p.get("IconName") == "user-invisible", "appear offline")

    def test_sign_out_and_reconnect_call_sfbd(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_item(lambda p: p.get("IconName") == "user-available", "available")
        self.click(MENU_RECONNECT)
        self.assertTrue(iterate_until(lambda: self.mock_calls("Reconnect")))
        self.click(MENU_SIGN_OUT)
        self.wait_for_item(lambda p: "Signed out" in p.get("Title", ""), "signed out")
        self.assertEqual(len(self.mock_calls("SignOut")), 1)

    def test_reconnecting_needs_attention(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_item(lambda p: p.get("IconName") == "user-available", "available")
        self.mock_update(ACCOUNT, {"State": GLib.Variant("s", "reconnecting"),
                                   "ReconnectAttempts": GLib.Variant("u", 2)})
        props = self.wait_for_item(lambda p: p.get("Status") == "NeedsAttention",
                                   "reconnecting")
        self.assertEqual(props["OverlayIconName"], "emblem-synchronizing")
        self.assertEqual(props["Title"], "Skype for Business: Reconnecting")
        self.assertIn("Reconnect attempts: 2", self.tooltip(props))
        self.mock_update(ACCOUNT, {"State": GLib.Variant("s", "signed-in"),
                                   "ReconnectAttempts": GLib.Variant("u", 0)})
        props = self.wait_for_item(lambda p: p.get("Status") == "Active", "signed in again")
        self.assertEqual(props["OverlayIconName"], "")

    def test_failed_shows_the_error_in_words(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_item(lambda p: p.get("IconName") == "user-available", "available")
        self.mock_update(ACCOUNT, {
            "State": GLib.Variant("s", "failed"),
            "LastError": GLib.Variant("s", "org.sfbd.Sfbd.Error.AuthFailed"),
            "LastErrorMessage": GLib.Variant(
                "s", "The server rejected the password. Set it again with: sfbctl set-password"),
        })
        props = self.wait_for_item(lambda p: p.get("Status") == "NeedsAttention", "failed")
        self.assertEqual(props["IconName"], "user-offline")
        self.assertEqual(props["AttentionIconName"], "dialog-error")
        self.assertEqual(props["Title"], "Skype for Business: Sign-in failed")
        self.assertIn("The server rejected the password. Set it again with: sfbctl "
                      "set-password (AuthFailed)", self.tooltip(props))
        items, _ = self.menu()
        self.assert_enabled(items, MENU_SIGN_IN, True)

    def test_waybar_follows_the_state(self):
        self.start_mock()
        self.call("org.sfbd.Sfbd1.Presence", "SetAvailability", ("busy",), "(s)")
        self.mock_update("org.sfbd.Sfbd1.Presence", {"Note": GLib.Variant("s", "Lunch & <b>")})
        result = self.sfbctl("status", "--format", "waybar")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.count("\n"), 1, "waybar reads one line")
        output = json.loads(result.stdout)
        self.assertEqual(output["text"], "Busy")
        self.assertEqual(output["alt"], "busy")
        self.assertEqual(output["class"], ["signed-in", "busy"])
        # pango markup: the note is escaped
        self.assertIn("Note: Lunch &amp; &lt;b&gt;", output["tooltip"])

        self.mock_update(ACCOUNT, {"State": GLib.Variant("s", "failed"),
                                   "LastError": GLib.Variant("s", "org.sfbd.Sfbd.Error.TimedOut"),
                                   "LastErrorMessage": GLib.Variant("s", "No answer.")})
        output = json.loads(self.sfbctl("status", "--format", "waybar").stdout)
        self.assertEqual(output["text"], "Sign-in failed")
        self.assertEqual(output["class"], ["failed", "attention"])
        self.assertIn("Last error: No answer. (TimedOut)", output["tooltip"])

    def test_last_sign_in_stages_in_the_menu(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_item(lambda p: p.get("IconName") == "user-available", "available")
        labels = iterate_until(lambda: [label for label in self.trace_labels()
                                        if label != "No sign-in attempt yet"])
        self.assertEqual(labels, ["discovery: ok, 120 ms — lyncdiscoverinternal.contoso.test",
                                  "authentication: ok, 45 ms — NTLM"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
