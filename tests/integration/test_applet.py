# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd-applet on a private bus, seen by a StatusNotifierWatcher written here.

The watcher stands in for the panel: the tests check that the applet
registers its item, that the item's properties (icon, title, tooltip,
status) and its dbusmenu follow sfbd's state, that menu actions reach the
server, and that restarts of sfbd and of the watcher are survived.

Every state comes from the real sfbd signing in to the real sfbsim, inside
build-aux/testnet (one sfbsim for the module, see sim_fixture.py; a bus,
sfbd and applet per test): sfbd not running, signed out, signed in,
reconnecting (sfbsim stop_pool), failed (a wrong password, an untrusted
certificate).  Menu actions are checked in sfbsim (the presence it holds
for alice, its registrations and counters).  The python3-dbusmock MOCK of
sfbd (sfbd_mock.py) is kept for what the real sfbd cannot produce: a
State value this applet does not know (a newer sfbd), and Exchange values
chosen exactly (a meeting at a fixed time, text that must be cleaned).
"""

import json
import os
import signal
import subprocess
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

from sfbd_testcase import (ACCOUNT, EXCHANGE, PRESENCE, TIMEOUT, BusService,  # noqa: E402
                           SfbdTestCase, required_path)

SIM = sim_fixture.SIM
PASSWORD = "Passw0rd!"  # alice's password in tests/sfbsim/scenarios/default.toml
WRONG_PASSWORD = "not-alices-password-42"
DIRECTOR = "director.contoso.test"
HOME_POOL = "pool1.contoso.test:5061"
WAIT = 30  # seconds for a sign-in that takes milliseconds, or for the backoff to retry

# availability codes sfbsim holds for alice (MS-PRES)
SIM_CODES = {"online": 3500, "busy": 6500, "do-not-disturb": 9500, "be-right-back": 12500,
             "away": 15500, "off-work": 15500}


def setUpModule():
    sim_fixture.start("applet")


def tearDownModule():
    sim_fixture.stop()


ITEM_INTERFACE = "org.kde.StatusNotifierItem"
ITEM_PATH = "/StatusNotifierItem"
MENU_INTERFACE = "com.canonical.dbusmenu"
WATCHER_NAME = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"

# menu item ids of client/applet/sfb-applet.h
MENU_AVAILABILITY = {"online": 10, "busy": 11, "do-not-disturb": 12, "be-right-back": 13,
                     "away": 14, "appear-offline": 15, "off-work": 16}
MENU_HEADER = 1
MENU_EXCHANGE_MEETING = 2
MENU_EXCHANGE_COUNTS = 3
MENU_SIGN_IN = 20
MENU_SIGN_OUT = 21
MENU_RECONNECT = 22
MENU_TRACE = 30
MENU_SET_PASSWORD = 40
MENU_ACCOUNT = 41
MENU_DETAILS = 42

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



class ItemProperties(dict):
    """The item's properties; in a failure message only what a user sees of them."""

    def __repr__(self):
        return ", ".join(f"{name}={self.get(name)!r}"
                         for name in ("Title", "IconName", "Status", "ToolTip"))


class Watcher(BusService):
    """org.kde.StatusNotifierWatcher on its own connection, recording the
    items that register."""

    def __init__(self, address):
        self.items = []
        super().__init__(address, WATCHER_NAME, WATCHER_PATH, WATCHER_XML)

    def _method_call(self, connection, sender, path, interface, method, parameters, invocation):
        if method == "RegisterStatusNotifierItem":
            self.items.append((sender, parameters.unpack()[0]))
        invocation.return_value(None)


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

    def start_applet(self, *args):
        log_path = os.path.join(self.tmp, "sfbd-applet.log")
        self.log_paths.append(log_path)
        with open(log_path, "w", encoding="utf-8") as log:
            self.applet = subprocess.Popen([self.applet_path, "--verbose", *args], env=self.env,
                                           stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT)
        self.daemons.append(self.applet)
        self.wait_for(lambda: self.watcher.items, "the applet's registration with the watcher",
                      TIMEOUT)
        sender, service = self.watcher.items[-1]
        self.assertTrue(service.startswith("org.kde.StatusNotifierItem-"), service)
        self.item_service = service
        return self.applet

    def start_mock(self, **parameters):
        self.mock = super().start_mock(**parameters)
        return self.mock

    def mock_call(self, method, args=None, signature=None, interface=ACCOUNT):
        parameters = GLib.Variant(signature, args) if signature is not None else None
        return self.bus.call_sync("org.sfbd.Sfbd", "/org/sfbd/Sfbd", "org.freedesktop.DBus.Mock",
                                  method, parameters, None, Gio.DBusCallFlags.NO_AUTO_START,
                                  TIMEOUT * 1000, None).unpack()

    def mock_update(self, interface, properties):
        self.mock_call("UpdateProperties", (interface, properties), "(sa{sv})")

    def mock_set(self, interface, name, value):
        """One property of the mock, with its PropertiesChanged (Properties.Set: dbusmock's
        UpdateProperties cannot carry an a{sv})."""
        self.bus.call_sync("org.sfbd.Sfbd", "/org/sfbd/Sfbd", "org.freedesktop.DBus.Properties",
                           "Set", GLib.Variant("(ssv)", (interface, name, value)), None,
                           Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)

    def mock_calls(self, method):
        return [args for _, args in self.mock_call("GetMethodCalls", (method,), "(s)")[0]]

    # ---- the item and its menu ----

    def item_properties(self):
        reply = self.bus.call_sync(self.item_service, ITEM_PATH, "org.freedesktop.DBus.Properties",
                                   "GetAll", GLib.Variant("(s)", (ITEM_INTERFACE,)), None,
                                   Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)
        return reply.unpack()[0]

    def wait_for_item(self, predicate, what, timeout=WAIT):
        """Polls the item's properties until predicate(properties) holds."""
        seen = ItemProperties()

        def properties():
            seen.update(self.item_properties())
            return seen

        return self.wait_for_value(properties, predicate, f"the item showing {what}", timeout)

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
        self.assertEqual(props["IconName"], "sfbd-not-running")
        self.assertEqual(props["Status"], "Active")
        self.assertEqual(props["Id"], "sfbd-applet")
        self.assertEqual(props["Category"], "Communications")
        self.assertTrue(props["ItemIsMenu"])
        self.assertEqual(props["Menu"], "/MenuBar")
        self.assertIn("systemctl --user start sfbd", self.tooltip(props))
        # the icon is drawn too, for hosts without an icon theme
        sizes = [(width, height, len(data)) for width, height, data in props["IconPixmap"]]
        self.assertIn((22, 22, 22 * 22 * 4), sizes)
        # and the applet's own icons are found where IconThemePath says
        icon_file = os.path.join(props["IconThemePath"], "hicolor", "scalable", "status",
                                 "sfbd-not-running.svg")
        self.assertTrue(os.path.isfile(icon_file), icon_file)

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
        self.wait_for(lambda: self.watcher.items,
                      "the applet's registration with the new watcher", TIMEOUT)
        self.assertEqual(self.watcher.items[-1][1], self.item_service)
        self.wait_for_item(lambda p: "not running" in p.get("Title", ""), "sfbd not running")


class TestWithSfbd(AppletTestCase):
    """Against the real sfbd: signed out, and a refused sign-in."""

    def test_signed_out(self):
        self.start_daemon()
        self.start_applet()
        props = self.wait_for_item(lambda p: p.get("Title") == "Skype for Business: Signed out",
                                   "signed out")
        self.assertEqual(props["IconName"], "sfbd-signed-out")
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
        self.wait_for_value(lambda: self.get_property(ACCOUNT, "LastError"),
                            lambda error: error == "org.sfbd.Sfbd.Error.NotConfigured",
                            "sfbd's LastError NotConfigured", TIMEOUT)
        # two updates that can come in either order: sfbd's LastError and the
        # error reply to the applet's SignIn call
        props = self.wait_for_item(lambda p: "(NotConfigured)" in self.tooltip(p)
                                   and "Could not sign in" in self.tooltip(p),
                                   "the last error and the failed sign-in")
        self.assertIn("No SIP address is configured", self.tooltip(props))

    def test_sfbd_restart_is_survived(self):
        daemon = self.start_daemon()
        self.start_applet()
        self.wait_for_item(lambda p: "Signed out" in p.get("Title", ""), "signed out")
        self.stop_process(daemon)
        self.wait_for_item(lambda p: "not running" in p.get("Title", ""), "sfbd not running")
        self.start_daemon()
        self.wait_for_item(lambda p: "Signed out" in p.get("Title", ""), "signed out again")
        self.assertIsNone(self.applet.poll())


class RealSfbdTestCase(AppletTestCase):
    """The real sfbd and sfbsim (put back to its defaults before each test)."""

    WAIT = WAIT  # wait_for()'s default

    def setUp(self):
        self.ctl = SIM["ctl"]
        sim_fixture.reset()
        super().setUp()
        self.addCleanup(self.ctl.drop_connections)
        self.addCleanup(self.ctl.start_pool, pool="pool1")

    def configure_alice(self, password=PASSWORD, server=DIRECTOR):
        self.configure({"Account.Uri": GLib.Variant("s", "sip:alice@contoso.test"),
                        "Account.Login": GLib.Variant("s", "CONTOSO\\alice"),
                        "Account.Server": GLib.Variant("s", server),
                        "TLS.CAFile": GLib.Variant("s", SIM["env"]["SFBSIM_CA_FILE"]),
                        "Secrets.Store": GLib.Variant("s", "file")})
        self.call(ACCOUNT, "SetPassword", (password, True), "(sb)")

    def state(self):
        return self.get_property(ACCOUNT, "State")

    def sim_availability(self):
        return self.ctl.presence(user="alice")["availability"]

    def registrations(self):
        return self.ctl.counters()["active_registrations"]

    def sign_in_from_the_menu(self, **kwargs):
        """sfbd and the applet started, alice configured, "Sign in" clicked: returns the
        item's properties once it shows the state sfbd ends in."""
        self.start_daemon()
        self.configure_alice(**kwargs)
        self.start_applet()
        self.wait_for_item(lambda p: "Signed out" in p.get("Title", ""), "signed out")
        self.click(MENU_SIGN_IN)
        return self.wait_for_item(
            lambda p: p.get("Title") in ("Skype for Business: Available",
                                         "Skype for Business: Sign-in failed"),
            "the end of the sign-in")

    def sign_in(self):
        props = self.sign_in_from_the_menu()
        self.assertEqual(props["Title"], "Skype for Business: Available", self.tooltip(props))
        return props

    def waybar(self):
        result = self.sfbctl("status", "--format", "waybar")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.count("\n"), 1, "waybar reads one line")
        return json.loads(result.stdout)


class TestSignedIn(RealSfbdTestCase):
    def test_signed_in_shows_availability_note_and_server(self):
        props = self.sign_in()
        self.assertEqual(self.state(), "signed-in")
        self.assertEqual(self.registrations(), 1)
        self.assertEqual(props["IconName"], "sfbd-available")
        self.assertEqual(props["Status"], "Active")
        self.assertEqual(props["OverlayIconName"], "")
        tooltip = self.tooltip(props)
        self.assertIn("State: Signed in", tooltip)
        self.assertIn("Availability: Available", tooltip)
        self.assertIn("Account: sip:alice@contoso.test", tooltip)
        self.assertIn(f"Server: {HOME_POOL}", tooltip)
        self.assertNotIn("Last error", tooltip)
        self.assertNotIn(PASSWORD, str(props))

        items, _ = self.menu()
        self.assertEqual(items[MENU_AVAILABILITY["online"]]["toggle-state"], 1)
        self.assertEqual(items[MENU_AVAILABILITY["busy"]]["toggle-state"], 0)
        for item_id in MENU_AVAILABILITY.values():
            self.assert_enabled(items, item_id, True)
        self.assert_enabled(items, MENU_SIGN_IN, False)
        self.assert_enabled(items, MENU_SIGN_OUT, True)
        self.assert_enabled(items, MENU_RECONNECT, True)

        # a note set through sfbd shows, and so does sfbsim's view of it
        self.call(PRESENCE, "SetNote", ("Working from Oslo",), "(s)")
        props = self.wait_for_item(lambda p: "Note: Working from Oslo" in self.tooltip(p),
                                   "the note")
        self.wait_for(lambda: self.ctl.presence(user="alice")["note"] == "Working from Oslo",
                      "the note in sfbsim")

    def test_menu_sets_availability_in_sfbsim(self):
        self.sign_in()
        self.wait_for(lambda: self.sim_availability() == SIM_CODES["online"],
                      "alice online in sfbsim")
        # each availability its own icon (client/applet/icons)
        icons = {"busy": "sfbd-busy", "do-not-disturb": "sfbd-dnd",
                 "be-right-back": "sfbd-be-right-back", "away": "sfbd-away",
                 "off-work": "sfbd-off-work", "online": "sfbd-available"}
        for availability, icon in icons.items():
            with self.subTest(availability=availability):
                self.click(MENU_AVAILABILITY[availability])
                self.wait_for(lambda: self.sim_availability() == SIM_CODES[availability],
                              f"{availability} in sfbsim")
                props = self.wait_for_item(lambda p: p.get("IconName") == icon, availability)
                self.assertEqual(self.get_property(PRESENCE, "Availability"), availability)
                items, _ = self.menu()
                self.assertEqual(items[MENU_AVAILABILITY[availability]]["toggle-state"], 1)
                self.assertEqual(
                    [item_id for item_id in MENU_AVAILABILITY.values()
                     if items[item_id]["toggle-state"] == 1],
                    [MENU_AVAILABILITY[availability]])
                self.assertIn(props["Title"].split(": ", 1)[1], self.tooltip(props))

        # appear offline: others see alice offline (the server's aggregate, 18500); she sees
        # her choice, and the menu ticks it
        self.click(MENU_AVAILABILITY["appear-offline"])
        self.wait_for(lambda: self.sim_availability() >= 18000, "alice offline in sfbsim")
        props = self.wait_for_item(
            lambda p: p.get("IconName") == "sfbd-appear-offline", "appear offline")
        self.assertEqual(self.get_property(PRESENCE, "Availability"), "appear-offline")
        items, _ = self.menu()
        self.assertEqual(items[MENU_AVAILABILITY["appear-offline"]]["toggle-state"], 1)
        self.assertEqual(props["Status"], "Active")
        self.assertIn("State: Signed in", self.tooltip(props))

    def test_sign_out_and_reconnect_from_the_menu(self):
        self.sign_in()
        self.ctl.reset_counters()
        self.click(MENU_RECONNECT)
        self.wait_for(lambda: self.ctl.counters().get("requests", {}).get("REGISTER", 0) >= 1,
                      "a new REGISTER in sfbsim")
        self.wait_for(lambda: self.state() == "signed-in" and self.registrations() == 1,
                      "signed in again")
        self.wait_for_item(lambda p: p.get("IconName") == "sfbd-available", "available")

        self.click(MENU_SIGN_OUT)
        props = self.wait_for_item(lambda p: p.get("Title") == "Skype for Business: Signed out",
                                   "signed out")
        self.assertEqual(props["IconName"], "sfbd-signed-out")
        self.wait_for(lambda: self.registrations() == 0, "the unregistration in sfbsim")
        items, _ = self.menu()
        self.assert_enabled(items, MENU_SIGN_IN, True)
        self.assert_enabled(items, MENU_SIGN_OUT, False)
        self.assert_enabled(items, MENU_AVAILABILITY["busy"], False)

    def test_last_sign_in_stages_in_the_menu(self):
        self.sign_in()
        # the SIP sign-in's stages: Exchange's (this scenario has none, so they fail) are
        # added after signed-in whenever it tries, so the applet's copy may have fewer
        trace = [stage for stage in self.call(ACCOUNT, "GetSignInTrace")[0]
                 if not stage["Stage"].startswith("exchange-")]
        names = [stage["Stage"] for stage in trace]
        self.assertIn("registered", names)

        def labels():
            found = [label for label in self.trace_labels() if label != "No sign-in attempt yet"]
            return found if len(found) >= len(trace) else None

        shown = self.wait_for(labels, "the sign-in stages in the menu")
        self.assertEqual([label.split(":", 1)[0] for label in shown[:len(trace)]], names)
        for label, stage in zip(shown, trace):
            self.assertTrue(label.startswith(f"{stage['Stage']}: ok, "), label)
        # long details are shortened in the menu
        redirect = shown[names.index("redirecting")]
        self.assertIn("director.contoso.test", redirect)
        self.assertIn("pool1.contoso.test", redirect)

    def test_sfbd_and_watcher_restarts_are_survived(self):
        self.sign_in()
        # the panel restarts: the item registers again and still shows alice signed in
        self.watcher.close()
        self.watcher = self.start_watcher()
        self.wait_for(lambda: self.watcher.items,
                      "the applet's registration with the new watcher", TIMEOUT)
        self.assertEqual(self.watcher.items[-1][1], self.item_service)
        self.wait_for_item(lambda p: p.get("IconName") == "sfbd-available", "available")

        # sfbd restarts: "not running", then (AutoSignIn, stored password) signed in again
        self.stop_process(self.daemons[0])
        props = self.wait_for_item(lambda p: "not running" in p.get("Title", ""),
                                   "sfbd not running")
        self.assertEqual(props["IconName"], "sfbd-not-running")
        self.assertEqual(self.waybar()["class"], ["not-running"])
        self.start_daemon()
        self.wait_for_item(lambda p: p.get("Title") == "Skype for Business: Available",
                           "signed in by the new sfbd")
        self.wait_for(lambda: self.registrations() == 1, "one registration in sfbsim")
        self.assertIsNone(self.applet.poll())
        # the menu calls the new sfbd
        self.click(MENU_AVAILABILITY["busy"])
        self.wait_for(lambda: self.sim_availability() == SIM_CODES["busy"], "busy in sfbsim")


class TestReconnecting(RealSfbdTestCase):
    def test_stopped_pool_needs_attention_until_it_is_back(self):
        self.sign_in()
        self.ctl.stop_pool(pool="pool1")
        # while the pool is down sfbd cycles through reconnecting, connecting and
        # authenticating (the Director still answers): each check waits for the
        # reconnecting view and takes everything from one snapshot
        props = self.wait_for_item(lambda p: p.get("Status") == "NeedsAttention",
                                   "reconnecting")
        self.assertEqual(props["Title"], "Skype for Business: Reconnecting")
        self.assertEqual(props["IconName"], "sfbd-reconnecting")
        self.assertEqual(props["OverlayIconName"], "emblem-synchronizing")
        self.assertEqual(props["AttentionIconName"], "sfbd-reconnecting")
        self.assertIn("State: Reconnecting", self.tooltip(props))
        # a few attempts meet the stopped pool; the tooltip counts them and says why
        props = self.wait_for_item(
            lambda p: p.get("Status") == "NeedsAttention"
            and "Reconnect attempts: " in self.tooltip(p), "the reconnect attempts")
        self.assertIn("Last error: ", self.tooltip(props))
        # and when sfbd tries again by itself (Account.NextRetry)
        self.assertRegex(self.tooltip(props),
                         r"Next attempt: (\d\d:\d\d:\d\d|when the network changes)")

        def reconnecting_menu():
            items, _ = self.menu()
            title = items[MENU_HEADER].get("label", "")  # "URI — state (next attempt …)"
            return items if " — Reconnecting (next attempt " in title else None

        items = self.wait_for(reconnecting_menu, "the reconnecting menu")
        self.assertRegex(items[MENU_HEADER]["label"],
                         r"Reconnecting \(next attempt (\d\d:\d\d:\d\d|when the network "
                         r"changes)\)$")
        self.assert_enabled(items, MENU_AVAILABILITY["busy"], False)
        self.assert_enabled(items, MENU_SIGN_OUT, True)
        self.assert_enabled(items, MENU_RECONNECT, True)
        output = self.wait_for(lambda: (lambda o: o if o["text"] == "Reconnecting" else None)(
            self.waybar()), "Reconnecting in waybar")
        self.assertEqual(output["class"], ["reconnecting", "attention"])
        self.assertEqual(self.registrations(), 0)

        self.ctl.start_pool(pool="pool1")
        props = self.wait_for_item(lambda p: p.get("Status") == "Active"
                                   and p.get("IconName") == "sfbd-available", "signed in again",
                                   timeout=60)
        self.assertEqual(props["OverlayIconName"], "")
        self.assertNotIn("Reconnect attempts", self.tooltip(props))
        self.wait_for(lambda: self.registrations() == 1, "one registration in sfbsim")
        self.assertEqual(self.waybar()["class"], ["signed-in", "online"])


class TestFailed(RealSfbdTestCase):
    def assert_failed_view(self, props, error):
        self.assertEqual(self.state(), "failed")
        self.assertEqual(props["Status"], "NeedsAttention")
        self.assertEqual(props["IconName"], "sfbd-failed")
        self.assertEqual(props["AttentionIconName"], "sfbd-failed")
        self.assertEqual(props["OverlayIconName"], "dialog-error")
        message = self.get_property(ACCOUNT, "LastErrorMessage")
        self.assertTrue(message)
        # the tooltip shortens a long message; its first sentence and the error name show
        self.assertIn(f"Last error: {message.split('. ')[0]}", self.tooltip(props))
        self.assertIn(f"({error}", self.tooltip(props))
        # the menu offers only what helps: the fix for this error (the account window's
        # page), signing in again and the details; no availability, no sign out
        items, _ = self.menu()
        self.assertEqual(items[MENU_SIGN_IN]["label"], "Sign in again")
        self.assert_enabled(items, MENU_SIGN_IN, True)
        self.assertEqual(items[MENU_DETAILS]["label"], "Details…")
        for item_id in (*MENU_AVAILABILITY.values(), MENU_SIGN_OUT, MENU_RECONNECT):
            self.assertNotIn(item_id, items)
        fixes = {"AuthFailed": {MENU_SET_PASSWORD: "Set password…"}, "CertificateInvalid": {}}
        self.assertEqual({item_id: items[item_id]["label"] for item_id in
                          (MENU_SET_PASSWORD, MENU_ACCOUNT) if item_id in items}, fixes[error])
        output = self.waybar()
        self.assertEqual(output["text"], "Sign-in failed")
        self.assertEqual(output["class"], ["failed", "attention"])
        self.assertIn(f"({error}", output["tooltip"])

    def test_wrong_password(self):
        props = self.sign_in_from_the_menu(password=WRONG_PASSWORD)
        self.assertEqual(props["Title"], "Skype for Business: Sign-in failed")
        self.assert_failed_view(props, "AuthFailed")
        self.assertEqual(self.ctl.counters()["auth_failures"], {"alice": 1})
        self.assertNotIn(WRONG_PASSWORD, str(self.item_properties()))
        self.assertNotIn(WRONG_PASSWORD, str(self.menu()))
        # the user sets the right password and signs in from the menu
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        self.click(MENU_SIGN_IN)
        props = self.wait_for_item(lambda p: p.get("Status") == "Active"
                                   and p.get("IconName") == "sfbd-available", "signed in")
        self.assertNotIn("Last error", self.tooltip(props))

    def test_untrusted_certificate(self):
        self.ctl.set_certificate(variant="untrusted")
        props = self.sign_in_from_the_menu(server="pool1.contoso.test")
        self.assertEqual(props["Title"], "Skype for Business: Sign-in failed")
        self.assert_failed_view(props, "CertificateInvalid")
        self.assertIn("pool1.contoso.test", self.tooltip(props))
        self.assertEqual(self.ctl.counters().get("registers", {}), {})
        labels = self.trace_labels()
        self.assertTrue(any(label.startswith("connecting: CertificateInvalid") for label in labels),
                        labels)


class TestWaybar(RealSfbdTestCase):
    """sfbctl status --format waybar against the real states (the applet's words)."""

    def test_waybar_follows_the_real_states(self):
        self.start_daemon()
        output = self.waybar()
        self.assertEqual(output["text"], "Signed out")
        self.assertEqual(output["class"], ["signed-out"])

        self.configure_alice()
        self.call(ACCOUNT, "SignIn")
        self.wait_for(lambda: self.state() in ("signed-in", "failed"), "the sign-in")
        output = self.waybar()
        self.assertEqual(output["text"], "Available")
        self.assertEqual(output["alt"], "online")
        self.assertEqual(output["class"], ["signed-in", "online"])
        self.assertIn(f"Server: {HOME_POOL}", output["tooltip"])

        self.sfbctl("presence", "set", "busy")
        self.wait_for(lambda: self.sim_availability() == SIM_CODES["busy"], "busy in sfbsim")
        self.call(PRESENCE, "SetNote", ("Lunch & <b>",), "(s)")
        self.wait_for(lambda: self.get_property(PRESENCE, "Note") == "Lunch & <b>", "the note")
        output = self.waybar()
        self.assertEqual(output["text"], "Busy")
        self.assertEqual(output["alt"], "busy")
        self.assertEqual(output["class"], ["signed-in", "busy"])
        # pango markup: the note is escaped
        self.assertIn("Note: Lunch &amp; &lt;b&gt;", output["tooltip"])

        self.call(ACCOUNT, "SignOut")
        self.wait_for(lambda: self.state() == "signed-out", "signed out")
        self.assertEqual(self.waybar()["class"], ["signed-out"])


class TestHungSfbd(AppletTestCase):
    """sfbd owns its name but does not answer (stopped with SIGSTOP)."""

    def test_not_answering_until_sfbd_runs_again(self):
        daemon = self.start_daemon()
        daemon.send_signal(signal.SIGSTOP)
        self.addCleanup(daemon.send_signal, signal.SIGCONT)
        self.start_applet("--timeout", "2")
        props = self.wait_for_item(lambda p: "not answering" in p.get("Title", ""),
                                   "sfbd not answering")
        self.assertEqual(props["IconName"], "sfbd-not-answering")
        self.assertEqual(props["Status"], "NeedsAttention")
        self.assertIn("systemctl --user restart sfbd", self.tooltip(props))
        daemon.send_signal(signal.SIGCONT)
        self.wait_for_item(lambda p: p.get("Title") == "Skype for Business: Signed out",
                           "signed out, once sfbd answers")

    def test_an_action_that_gets_no_answer(self):
        daemon = self.start_daemon()
        self.start_applet("--timeout", "2")
        self.wait_for_item(lambda p: p.get("Title") == "Skype for Business: Signed out",
                           "signed out")
        daemon.send_signal(signal.SIGSTOP)
        self.addCleanup(daemon.send_signal, signal.SIGCONT)
        self.click(MENU_SIGN_IN)
        props = self.wait_for_item(
            lambda p: "Could not sign in: sfbd is not answering" in self.tooltip(p),
            "why signing in failed")
        self.assertEqual(props["IconName"], "sfbd-not-answering")
        daemon.send_signal(signal.SIGCONT)
        self.wait_for_item(lambda p: p.get("IconName") == "sfbd-signed-out",
                           "signed out, once sfbd answers")


class TestWithMockSfbd(AppletTestCase):
    """The MOCK of sfbd (sfbd_mock.py), only for what the real sfbd cannot produce."""

    def test_unknown_state_of_a_newer_sfbd_is_shown_as_named(self):
        # the real sfbd only has the states of the contract; a newer one may add some
        self.start_mock()
        self.start_applet()
        self.wait_for_item(lambda p: p.get("IconName") == "sfbd-available", "available")
        self.mock_update(ACCOUNT, {"State": GLib.Variant("s", "migrating")})
        props = self.wait_for_item(lambda p: "migrating" in p.get("Title", ""), "the new state")
        self.assertEqual(props["Title"], "Skype for Business: migrating")
        self.assertEqual(props["Status"], "Active")
        self.assertIn("State: migrating", self.tooltip(props))
        items, _ = self.menu()
        self.assert_enabled(items, MENU_AVAILABILITY["busy"], False)
        output = json.loads(self.sfbctl("status", "--format", "waybar").stdout)
        self.assertEqual(output["text"], "migrating")


class TestExchangeWithMockSfbd(AppletTestCase):
    """Exchange's meeting and counts in the tooltip and the menu, from the MOCK
    (sfbd_mock.EXCHANGE: a meeting 2023-11-14 22:13-23:13 UTC, 2 voicemails, 3 missed
    conversations), with local time UTC."""

    MEETING = "Meeting now: 2023-11-14 22:13–23:13 Weekly sync (Room 1)"
    COUNTS = "2 unread voicemails, 3 missed conversations"

    def setUp(self):
        super().setUp()
        self.env["TZ"] = "UTC"

    def menu_labels(self):
        items, _ = self.menu()
        return {item_id: items[item_id].get("label") for item_id in
                (MENU_EXCHANGE_MEETING, MENU_EXCHANGE_COUNTS) if item_id in items}

    def wait_for_menu(self, expected, what):
        self.wait_for_value(self.menu_labels, lambda labels: labels == expected,
                            f"the menu showing {what}", WAIT)

    def test_meeting_and_counts_follow_exchange(self):
        self.start_mock()
        self.start_applet()
        props = self.wait_for_item(lambda p: self.MEETING in self.tooltip(p), "the meeting")
        self.assertIn(f"Exchange: {self.COUNTS}", self.tooltip(props))
        self.wait_for_menu({MENU_EXCHANGE_MEETING: self.MEETING, MENU_EXCHANGE_COUNTS: self.COUNTS},
                           "the meeting and the counts")
        items, _ = self.menu()
        self.assert_enabled(items, MENU_EXCHANGE_MEETING, False)
        self.assert_enabled(items, MENU_EXCHANGE_COUNTS, False)

        # a voicemail arrives, the meeting ends
        self.mock_set(EXCHANGE, "UnreadVoicemails", GLib.Variant("u", 3))
        self.wait_for_item(lambda p: "Exchange: 3 unread voicemails, 3 missed conversations"
                           in self.tooltip(p), "the new voicemail")
        self.mock_set(EXCHANGE, "CurrentMeeting", GLib.Variant("a{sv}", {}))
        props = self.wait_for_item(lambda p: "Meeting now" not in self.tooltip(p),
                                   "the end of the meeting")
        self.assertIn("Exchange: 3 unread voicemails", self.tooltip(props))
        self.wait_for_menu({MENU_EXCHANGE_COUNTS: "3 unread voicemails, 3 missed conversations"},
                           "only the counts")

        # Exchange fails: nothing about it is shown
        self.mock_update(EXCHANGE, {"State": GLib.Variant("s", "failed")})
        self.wait_for_item(lambda p: "Exchange" not in self.tooltip(p), "no Exchange line")
        self.wait_for_menu({}, "no Exchange items")

    def test_meeting_subject_is_cleaned(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_item(lambda p: self.MEETING in self.tooltip(p), "the meeting")
        subject = "Evil\x1b[31m\nState: Signed out" + "x" * 1000
        self.mock_set(EXCHANGE, "CurrentMeeting", GLib.Variant("a{sv}", {
            "Subject": GLib.Variant("s", subject), "Location": GLib.Variant("s", "Room 1"),
            "Start": GLib.Variant("x", 1700000000000000),
            "End": GLib.Variant("x", 1700003600000000)}))
        props = self.wait_for_item(lambda p: "Evil" in self.tooltip(p), "the new subject")
        tooltip = self.tooltip(props)
        self.assertNotIn("\x1b", tooltip)
        self.assertNotIn("\nState: Signed out", tooltip)  # no line was injected
        self.assertIn("Meeting now: 2023-11-14 22:13–23:13 Evil [31m State: Signed out", tooltip)
        self.assertIn("… (Room 1)", tooltip)
        self.assertLess(len(tooltip), 600)
        labels = self.menu_labels()
        self.assertNotIn("\x1b", labels[MENU_EXCHANGE_MEETING])
        self.assertNotIn("\n", labels[MENU_EXCHANGE_MEETING])


if __name__ == "__main__":
    unittest.main(verbosity=2)
