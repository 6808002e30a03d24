# SPDX-License-Identifier: LGPL-2.1-or-later
"""The applet's menu items beyond presence and sign-in: Off work, Personal
note…, Account…, Set password…, Details…, Quit, and what a failed sign-in
offers (only what helps: the fix for its error, Sign in again, Details…).

The states come from the python3-dbusmock MOCK of sfbd (sfbd_mock.py): a
failure with a chosen LastError is one property change there (the real sfbd
failing with AuthFailed and CertificateInvalid is in test_applet.py,
TestFailed).  The account window is a stand-in written here that owns
org.sfbd.Window and records the org.freedesktop.Application actions the
applet asks of it (client/README.md: the applet opens the window through
D-Bus activation).
"""

import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

from sfbd_testcase import ACCOUNT, PRESENCE, TIMEOUT, BusService  # noqa: E402
from test_applet import (ITEM_PATH, MENU_AVAILABILITY, MENU_EXCHANGE_COUNTS,  # noqa: E402
                         MENU_EXCHANGE_MEETING, MENU_HEADER, MENU_INTERFACE, MENU_RECONNECT,
                         MENU_SIGN_IN, MENU_SIGN_OUT, MENU_TRACE, WAIT, AppletTestCase)

# menu item ids of client/applet/sfb-applet.h
MENU_NOTE = 17
MENU_SET_PASSWORD = 40
MENU_ACCOUNT = 41
MENU_DETAILS = 42
MENU_QUIT = 50
SEPARATOR_FIRST, SEPARATOR_LAST = 200, 299

APPLICATION_XML = """<node>
  <interface name="org.freedesktop.Application">
    <method name="Activate"><arg type="a{sv}" direction="in"/></method>
    <method name="Open">
      <arg type="as" direction="in"/><arg type="a{sv}" direction="in"/>
    </method>
    <method name="ActivateAction">
      <arg type="s" direction="in"/><arg type="av" direction="in"/>
      <arg type="a{sv}" direction="in"/>
    </method>
  </interface>
</node>"""


class FakeWindow(BusService):
    """Stands in for sfbd-window: owns org.sfbd.Window and records the
    actions it is asked for."""

    def __init__(self, address):
        self.actions = []
        super().__init__(address, "org.sfbd.Window", "/org/sfbd/Window", APPLICATION_XML)

    def _method_call(self, connection, sender, path, interface, method, parameters, invocation):
        if method == "ActivateAction":
            self.actions.append(parameters.unpack()[0])
        invocation.return_value(None)


class MenuTestCase(AppletTestCase):
    def top_level(self):
        """[(id, label)] of the menu's first level in order, separators left out."""
        properties = self.item_properties()
        reply = self.bus.call_sync(self.item_service, properties["Menu"], MENU_INTERFACE,
                                   "GetLayout", GLib.Variant("(iias)", (0, 1, [])), None,
                                   Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)
        _, (_, _, children) = reply.unpack()
        return [(item_id, props.get("label")) for item_id, props, _ in children
                if not SEPARATOR_FIRST <= item_id <= SEPARATOR_LAST]

    def wait_for_menu(self, expected, what):
        """Waits until the first level's ids are expected; returns the labels by id."""
        seen = self.wait_for_value(self.top_level,
                                   lambda level: [item_id for item_id, _ in level] == expected,
                                   f"the menu showing {what}", WAIT)
        return dict(seen)

    def start_window(self):
        window = FakeWindow(self.env["DBUS_SESSION_BUS_ADDRESS"])
        self.addCleanup(lambda: window.connection.is_closed() or window.close())
        return window

    def wait_for_action(self, window, action):
        self.wait_for(lambda: window.actions, f"the window being asked for “{action}”", TIMEOUT)
        self.assertEqual(window.actions, [action])
        window.actions.clear()

    def fail_with(self, error, message="The server said no."):
        self.mock_update(ACCOUNT, {"State": GLib.Variant("s", "failed"),
                                   "LastError": GLib.Variant("s", "org.sfbd.Sfbd.Error." + error),
                                   "LastErrorMessage": GLib.Variant("s", message)})


# the menu of a signed-in sfbd with Exchange connected (the mock's start)
SIGNED_IN_MENU = [MENU_HEADER, MENU_EXCHANGE_MEETING, MENU_EXCHANGE_COUNTS,
                  *(MENU_AVAILABILITY[name] for name in
                    ("online", "busy", "do-not-disturb", "be-right-back", "away")),
                  16, MENU_AVAILABILITY["appear-offline"], MENU_NOTE,
                  MENU_SIGN_IN, MENU_SIGN_OUT, MENU_RECONNECT, MENU_TRACE,
                  MENU_ACCOUNT, MENU_SET_PASSWORD, MENU_QUIT]


class TestMenu(MenuTestCase):
    def test_signed_in_menu_has_off_work_note_window_items_and_quit(self):
        self.start_mock()
        self.start_applet()
        labels = self.wait_for_menu(SIGNED_IN_MENU, "the signed-in menu")
        self.assertEqual(labels[16], "Off work")
        self.assertEqual(labels[MENU_NOTE], "Personal note…")
        self.assertEqual(labels[MENU_ACCOUNT], "Account…")
        self.assertEqual(labels[MENU_SET_PASSWORD], "Set password…")
        self.assertEqual(labels[MENU_QUIT], "Quit")
        items, _ = self.menu()
        for item_id in (16, MENU_NOTE, MENU_ACCOUNT, MENU_SET_PASSWORD, MENU_QUIT):
            self.assert_enabled(items, item_id, True)

        # Off work is published, and ticked
        self.click(16)
        self.wait_for(lambda: self.mock_calls("SetAvailability"), "a SetAvailability call",
                      TIMEOUT)
        self.assertEqual(self.mock_calls("SetAvailability"), [["off-work"]])
        self.wait_for_value(lambda: self.menu()[0][16].get("toggle-state"),
                            lambda state: state == 1, "Off work being ticked", TIMEOUT)
        self.assertEqual(self.get_property(PRESENCE, "Availability"), "off-work")

        # the window's items ask it for their page
        window = self.start_window()
        for item_id, action in ((MENU_NOTE, "note"), (MENU_ACCOUNT, "account"),
                                (MENU_SET_PASSWORD, "set-password")):
            with self.subTest(action=action):
                self.click(item_id)
                self.wait_for_action(window, action)

    def test_note_needs_a_sign_in(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_menu(SIGNED_IN_MENU, "the signed-in menu")
        self.mock_update(ACCOUNT, {"State": GLib.Variant("s", "signed-out")})
        self.wait_for_value(lambda: self.menu()[0][MENU_NOTE].get("enabled"),
                            lambda enabled: enabled is False,
                            "Personal note… being disabled while signed out", TIMEOUT)
        items, _ = self.menu()
        self.assert_enabled(items, MENU_ACCOUNT, True)
        self.assert_enabled(items, MENU_SET_PASSWORD, True)

    def test_failed_password_offers_set_password_sign_in_again_and_details(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_menu(SIGNED_IN_MENU, "the signed-in menu")
        self.fail_with("AuthFailed")
        labels = self.wait_for_menu(
            [MENU_HEADER, MENU_SET_PASSWORD, MENU_SIGN_IN, MENU_DETAILS, MENU_TRACE, MENU_QUIT],
            "only what helps after a refused password")
        self.assertEqual(labels[MENU_SET_PASSWORD], "Set password…")
        self.assertEqual(labels[MENU_SIGN_IN], "Sign in again")
        self.assertEqual(labels[MENU_DETAILS], "Details…")
        window = self.start_window()
        self.click(MENU_SET_PASSWORD)
        self.wait_for_action(window, "set-password")
        self.click(MENU_DETAILS)
        self.wait_for_action(window, "details")
        # Sign in again signs in: the whole menu is back
        self.click(MENU_SIGN_IN)
        self.wait_for_menu(SIGNED_IN_MENU, "the signed-in menu again")
        self.assertEqual(len(self.mock_calls("SignIn")), 1)

    def test_failed_setup_offers_the_account(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_menu(SIGNED_IN_MENU, "the signed-in menu")
        for error in ("NotConfigured", "DiscoveryFailed", "NoUsableAuthScheme"):
            with self.subTest(error=error):
                self.fail_with(error)
                labels = self.wait_for_menu(
                    [MENU_HEADER, MENU_ACCOUNT, MENU_SIGN_IN, MENU_DETAILS, MENU_TRACE,
                     MENU_QUIT], f"the account after {error}")
                self.assertEqual(labels[MENU_ACCOUNT], "Account…")
        window = self.start_window()
        self.click(MENU_ACCOUNT)
        self.wait_for_action(window, "account")

    def test_other_failures_offer_sign_in_again_and_details(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_menu(SIGNED_IN_MENU, "the signed-in menu")
        for error in ("CertificateInvalid", "AccountDisabled", "ClockSkew", "ServerRejected"):
            with self.subTest(error=error):
                self.fail_with(error)
                self.wait_for_menu([MENU_HEADER, MENU_SIGN_IN, MENU_DETAILS, MENU_TRACE,
                                    MENU_QUIT], f"no fix in the menu after {error}")

    def test_a_missing_window_is_said_in_the_tooltip(self):
        self.start_mock()
        self.start_applet()
        self.wait_for_menu(SIGNED_IN_MENU, "the signed-in menu")
        self.click(MENU_ACCOUNT)
        self.wait_for_item(
            lambda p: "Could not open the account window: sfbd-window is not installed"
            in self.tooltip(p), "why the window did not open")

    def test_quit(self):
        self.start_mock()
        applet = self.start_applet()
        self.wait_for_menu(SIGNED_IN_MENU, "the signed-in menu")
        self.click(MENU_QUIT)  # the click is answered before the applet leaves
        self.assertEqual(self.wait_for_exit(applet), 0)
        self.assertFalse(self.bus.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "NameHasOwner", GLib.Variant("(s)", ("org.sfbd.Applet",)), None,
            Gio.DBusCallFlags.NONE, -1, None).unpack()[0])
        # the item is gone with it: its properties cannot be read
        with self.assertRaises(GLib.Error):
            self.bus.call_sync(self.item_service, ITEM_PATH, "org.freedesktop.DBus.Properties",
                               "GetAll", GLib.Variant("(s)", ("org.kde.StatusNotifierItem",)),
                               None, Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)
        # and the mock sfbd was left alone
        self.assertIsNone(self.mock.poll())
        self.assertEqual(self.mock_calls("SignOut"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
