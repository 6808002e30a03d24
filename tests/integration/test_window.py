# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd-window on a real display (Xvfb), driven through accessibility (AT-SPI)
as a screen reader or a person would: the real sfbd signs in to sfbsim
(inside build-aux/testnet, see sim_fixture.py) on the test's private bus.

The test types into the window's fields by their accessible names ("SIP
address", "Password"), presses its buttons, and reads what the window shows
from its labels; sfbd's D-Bus properties and sfbd.conf say whether the window
did what it showed.  GTK 4 leaves hidden widgets out of the accessibility
tree, so "shown" is "in the tree".  Screenshots of the window are saved as
PNG artifacts in SFBD_ARTIFACT_DIR (window-*.png; the meson log directory).

TestActivation starts the window as the applet and sfbd's notifications do:
ActivateAction() on org.sfbd.Window, through the D-Bus activation file meson
made (its Exec pointed at the build).

Needs the Debian packages xvfb, x11-apps (xwd), x11-utils (xwininfo), at-spi2-core and
gir1.2-atspi-2.0, which build-aux/install-deps installs, and an sfbd-window
built (GTK 4, libadwaita).  When one is missing the test exits 77, which
meson counts as skipped, never as passed.
"""

import os
import re
import shutil
import subprocess
import sys

AT_SPI_BUS_LAUNCHER = "/usr/libexec/at-spi-bus-launcher"
SKIPPED = 77  # meson's exit status for a skipped test


def missing_dependencies():
    """What this test needs that is not here, in words; [] when all is."""
    missing = []
    if not os.environ.get("SFBD_WINDOW_PATH"):
        missing.append("sfbd-window (built with -Dwindow: GTK 4.8 and libadwaita 1.2)")
    for tool, package in (("Xvfb", "xvfb"), ("xwd", "x11-apps"), ("xwininfo", "x11-utils")):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Debian package {package})")
    if not os.access(AT_SPI_BUS_LAUNCHER, os.X_OK):
        missing.append(f"{AT_SPI_BUS_LAUNCHER} (Debian package at-spi2-core)")
    try:
        import gi
        gi.require_version("Atspi", "2.0")
    except (ImportError, ValueError):
        missing.append("the Atspi 2.0 typelib (Debian package gir1.2-atspi-2.0)")
    return missing


if __name__ == "__main__" and os.environ.get("SFBD_TESTNET") != "1":
    MISSING = missing_dependencies()
    if MISSING:
        print(f"SKIP: missing {'; '.join(MISSING)}: run build-aux/install-deps")
        sys.exit(SKIPPED)

import sim_fixture  # noqa: E402

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

from sfbd_testcase import ACCOUNT, PRESENCE, TIMEOUT, SfbdTestCase, required_path  # noqa: E402
import sfbd_testcase  # noqa: E402
from test_applet_tray import read_xwd, write_png  # noqa: E402

SCREEN = (800, 720)
STARTUP_TIMEOUT = 60
URI = "sip:alice@contoso.test"
PASSWORD = "Passw0rd!"
WRONG_PASSWORD = "not-her-password"
# what the window advises for a refused password (client/window/sfb-account-window.c)
AUTH_FAILED_ADVICE = "The server refused the password."
# the checks page: its summary and one row's title per check
SUMMARY = re.compile(r"^(?P<total>\d+) checks: (?P<failed>\d+) failed, "
                     r"(?P<warned>\d+) with warnings$")
CHECK_ROW = re.compile(r"^[a-z-]+: .+ — (PASS|WARN|FAIL|SKIP)$")


def setUpModule():
    sim_fixture.start("window")


def tearDownModule():
    sim_fixture.stop()


class WindowTestCase(SfbdTestCase):
    """Xvfb, the accessibility bus and the window, and how to read and drive it."""

    START_DAEMON = False
    POLL_INTERVAL = 0.05  # the predicates walk the accessibility tree
    XVFB_SCREEN = SCREEN

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.window_path = required_path("SFBD_WINDOW_PATH")
        cls.artifact_dir = os.environ.get("SFBD_ARTIFACT_DIR") or os.getcwd()
        os.makedirs(cls.artifact_dir, exist_ok=True)

    # ---- the display, the accessibility bus and the window ----

    def start_accessibility(self):
        """The accessibility bus of this session (its own dbus-daemon and
        registry), found by the window and by this process through the
        session bus and the display."""
        self.env.update({"GTK_A11Y": "atspi", "NO_AT_BRIDGE": "0", "GDK_BACKEND": "x11",
                         "GSK_RENDERER": "cairo", "GTK_THEME": "Adwaita"})
        launcher = self.spawn("at-spi-bus-launcher",
                              [AT_SPI_BUS_LAUNCHER, "--launch-immediately"])
        # stopped before the bus: it takes its own dbus-daemon with it
        self.addCleanup(self.stop_launcher, launcher)
        self.wait_for(lambda: self.name_owner("org.a11y.Bus"),
                      "at-spi-bus-launcher's org.a11y.Bus")
        # libatspi reads both when it first connects, in this process
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = self.env["DBUS_SESSION_BUS_ADDRESS"]
        os.environ["DISPLAY"] = self.env["DISPLAY"]
        import gi
        gi.require_version("Atspi", "2.0")
        from gi.repository import Atspi
        self.atspi = Atspi

    @staticmethod
    def stop_launcher(launcher):
        if launcher.poll() is None:
            launcher.terminate()
            try:
                launcher.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait()

    def start_window(self, *args):
        return self.spawn(f"sfbd-window-{len(self.log_paths)}", [self.window_path, *args])

    # ---- reading and driving the window ----

    def application(self):
        desktop = self.atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            child = desktop.get_child_at_index(i)
            if child is not None and child.get_name() == "sfbd-window":
                return child
        return None

    def elements(self, root=None):
        """Every (role name, name, accessible) under the window, depth first."""
        root = root or self.application()
        if root is None:
            return
        stack = [root]
        while stack:
            accessible = stack.pop()
            try:
                role, name = accessible.get_role_name(), accessible.get_name()
                children = [accessible.get_child_at_index(i)
                            for i in range(accessible.get_child_count())]
            except GLib.Error:
                continue  # gone while we looked: the window changed
            yield role, name, accessible
            stack.extend(reversed([child for child in children if child is not None]))

    def find(self, role, name):
        for found_role, found_name, accessible in self.elements():
            if found_role == role and found_name == name:
                return accessible
        return None

    def wait_for_element(self, role, name):
        return self.wait_for(lambda: self.find(role, name), f"the {role} “{name}”")

    def labels(self):
        return [name for role, name, _ in self.elements() if role == "label"]

    def wait_for_label(self, predicate, what, timeout=TIMEOUT):
        return self.wait_for(lambda: next((text for text in self.labels() if predicate(text)),
                                          None), what, timeout)

    def type_into(self, name, text, role="text"):
        field = self.wait_for_element(role, name)
        self.assertTrue(self.atspi.EditableText.set_text_contents(field, text),
                        f"could not type into “{name}”")
        if role == "text":  # a password field shows bullets
            self.wait_for(lambda: self.text_of(field) == text, f"“{text}” in “{name}”")

    def text_of(self, accessible):
        return self.atspi.Text.get_text(accessible, 0,
                                        self.atspi.Text.get_character_count(accessible))

    def activate_action(self, action):
        """What the applet does: org.freedesktop.Application.ActivateAction on the window."""
        self.bus.call_sync("org.sfbd.Window", "/org/sfbd/Window", "org.freedesktop.Application",
                           "ActivateAction", GLib.Variant("(sava{sv})", (action, [], {})), None,
                           Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)

    def page_tab_selected(self, name):
        return any(role == "page tab" and found == name
                   and accessible.get_state_set().contains(self.atspi.StateType.SELECTED)
                   for role, found, accessible in self.elements())

    def press(self, name):
        button = self.wait_for_element("push button", name)
        self.assertTrue(self.atspi.Action.do_action(button, 0), f"could not press “{name}”")

    # ---- screenshots ----

    def screenshot(self, name):
        """Saves the screen as window-NAME.png once the window is drawn (not
        all black) and two shots in a row are the same (it has finished);
        fails when that does not happen within STARTUP_TIMEOUT."""
        shots = []

        def shoot():
            width, _, rows = read_xwd(subprocess.run(
                ["xwd", "-root", "-silent"], env=self.env, capture_output=True,
                timeout=TIMEOUT, check=True).stdout)
            shots[:] = [(width, rows)] + shots[:1]
            drawn = any(any(row) for row in rows)
            unchanged = len(shots) == 2 and shots[1][1] == rows
            return ("drawn" if drawn else "all black", "unchanged" if unchanged else "changing")

        try:
            self.wait_for_value(shoot, lambda seen: seen == ("drawn", "unchanged"),
                                f"the window drawn and still (window-{name}.png)",
                                timeout=STARTUP_TIMEOUT, interval=0.1)
        finally:
            if shots:
                write_png(os.path.join(self.artifact_dir, f"window-{name}.png"), *shots[0])


class TestWindow(WindowTestCase):
    """The user's story: a wrong password, the fix, signed in, the note, the checks."""

    def start_everything(self):
        sim_fixture.reset()
        # what an administrator sets up; the user fills in the rest
        self.write_config("[TLS]\nCAFile=" + sim_fixture.SIM["env"]["SFBSIM_CA_FILE"]
                          + "\n[Secrets]\nStore=file\n")
        self.start_daemon()
        self.start_xvfb()
        self.start_accessibility()
        window = self.start_window("--account")

        def started():
            self.assertIsNone(self.xvfb.poll(), "Xvfb exited")
            self.assertIsNone(window.poll(), "sfbd-window exited")
            return self.application()

        # a GTK start under load takes seconds, not milliseconds
        self.wait_for(started, "sfbd-window on the accessibility bus", timeout=STARTUP_TIMEOUT)

    def test_set_up_the_account_and_sign_in(self):
        self.start_everything()
        self.assertEqual(self.get_property(ACCOUNT, "Uri"), "")

        # the account page: a wrong password first
        self.type_into("SIP address", URI)
        self.type_into("Login", "CONTOSO\\alice")
        self.type_into("Server", "director.contoso.test")
        self.type_into("Password", WRONG_PASSWORD, role="password text")
        self.press("Save and sign in")

        # the window says the sign-in failed, what sfbd said, and what to do
        self.wait_for_label(lambda text: text == "Sign-in failed", "“Sign-in failed”")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "failed")
        self.assertEqual(self.get_property(ACCOUNT, "LastError"),
                         "org.sfbd.Sfbd.Error.AuthFailed")
        message = self.get_property(ACCOUNT, "LastErrorMessage")
        self.assertTrue(message)
        self.wait_for_label(lambda text: text == message, "sfbd's error message")
        self.wait_for_label(lambda text: text.startswith(AUTH_FAILED_ADVICE), "the advice")
        # the stages of the attempt are listed, the failing one last
        trace = self.call(ACCOUNT, "GetSignInTrace")[0]
        self.assertTrue(trace)
        self.wait_for_label(lambda text: text == trace[-1]["Stage"], "the last stage")
        # what the account page said was saved, through Configure()
        self.assertEqual(self.get_property(ACCOUNT, "Uri"), URI)
        self.assertEqual(self.get_property(ACCOUNT, "Login"), "CONTOSO\\alice")
        self.assertEqual(self.read_config()["Account"]["Server"], "director.contoso.test")
        # a second start shows the running window's sign-in page
        self.assertEqual(self.wait_for_exit(self.start_window("--details")), 0)
        self.screenshot("auth-failed")

        # the fix the window offers for a refused password: set it again
        self.press("Set password…")
        self.type_into("Password", PASSWORD, role="password text")
        self.press("Save and sign in")
        self.wait_for_label(lambda text: text == f"Signed in as {URI}", "“Signed in as …”")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        # the error and its advice are gone, and so is the fix
        self.assertNotIn(message, self.labels())
        self.assertFalse([text for text in self.labels() if text.startswith(AUTH_FAILED_ADVICE)])
        self.assertIsNone(self.find("push button", "Set password…"))
        # the password is not left in the field
        field = self.wait_for_element("password text", "Password")
        self.wait_for(lambda: self.atspi.Text.get_character_count(field) == 0,
                      "the password field to be emptied")
        # the applet's way in: D-Bus activation's ActivateAction on the running window
        self.activate_action("details")
        self.wait_for(lambda: self.page_tab_selected("Sign-in"), "the sign-in page")
        self.screenshot("signed-in")

        # the personal note reaches the server
        self.type_into("Personal note", "In the lab")
        self.press("Set note")
        self.wait_for_label(lambda text: text == "Note set", "“Note set”")
        self.assertEqual(self.get_property(PRESENCE, "Note"), "In the lab")
        self.wait_for(lambda: sim_fixture.SIM["ctl"].presence(user="alice")["note"]
                      == "In the lab", "the note in sfbsim")

        # the checks: each shown, and a summary that counts them
        self.activate_action("diagnose")
        self.wait_for(lambda: self.page_tab_selected("Checks"), "the checks page")
        self.press("Run checks")
        summary = self.wait_for_label(lambda text: SUMMARY.match(text), "the checks' summary",
                                      timeout=120)
        rows = [text for text in self.labels() if CHECK_ROW.match(text)]
        match = SUMMARY.match(summary)
        self.assertEqual(len(rows), int(match["total"]), rows)
        self.assertEqual(sum(1 for row in rows if row.endswith(" — FAIL")),
                         int(match["failed"]), rows)
        self.assertEqual(sum(1 for row in rows if row.endswith(" — WARN")),
                         int(match["warned"]), rows)
        self.assertTrue(any(row.endswith(" — PASS") for row in rows), rows)
        self.screenshot("checks")



class TestActivation(WindowTestCase):
    """D-Bus activation: no AT-SPI here (libatspi connects once a process, and
    TestWindow needs it), the window seen by the X server instead."""

    def _start_bus(self):
        # the test bus with one service directory: the window's activation file
        service_dir = self._make_dir("services")
        with open(os.environ["SFBD_WINDOW_SERVICE"], encoding="utf-8") as built:
            service = built.read()
        exec_line = next(line for line in service.splitlines() if line.startswith("Exec="))
        self.assertTrue(exec_line.endswith("/sfbd-window --gapplication-service"), exec_line)
        with open(os.path.join(service_dir, "org.sfbd.Window.service"), "w",
                  encoding="utf-8") as copy:
            copy.write(service.replace(exec_line,
                                       f"Exec={self.window_path} --gapplication-service"))
        original = sfbd_testcase.BUS_CONFIG
        sfbd_testcase.BUS_CONFIG = original.replace(
            "<auth>", f"<servicedir>{service_dir}</servicedir>\n  <auth>")
        try:
            super()._start_bus()
        finally:
            sfbd_testcase.BUS_CONFIG = original

    def window_titles(self):
        tree = subprocess.run(["xwininfo", "-root", "-tree"], env=self.env, capture_output=True,
                              text=True, timeout=TIMEOUT, check=True).stdout
        return re.findall(r'^\s+0x[0-9a-f]+ "([^"]*)"', tree, re.MULTILINE)

    def test_an_action_starts_the_window(self):
        self.start_daemon()
        self.start_xvfb()
        self.env["GTK_A11Y"] = "none"
        self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                           "org.freedesktop.DBus", "UpdateActivationEnvironment",
                           GLib.Variant("(a{ss})", ({key: self.env[key] for key in (
                               "DISPLAY", "GTK_A11Y", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR",
                               "SFBD_CONFIG_DIR")},)),
                           None, Gio.DBusCallFlags.NONE, TIMEOUT * 1000, None)
        self.assertIsNone(self.name_owner("org.sfbd.Window"))
        self.assertNotIn("Skype for Business Account", self.window_titles())
        # what the applet's Set password… does; the reply comes once the action ran
        self.bus.call_sync("org.sfbd.Window", "/org/sfbd/Window", "org.freedesktop.Application",
                           "ActivateAction", GLib.Variant("(sava{sv})", ("set-password", [], {})),
                           None, Gio.DBusCallFlags.NONE, STARTUP_TIMEOUT * 1000, None)
        owner = self.name_owner("org.sfbd.Window")
        self.assertIsNotNone(owner)
        pid = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                 GLib.Variant("(s)", (owner,)), None, Gio.DBusCallFlags.NONE,
                                 TIMEOUT * 1000, None).unpack()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            self.assertEqual(cmdline.read().split(b"\0")[:2],
                             [self.window_path.encode(), b"--gapplication-service"])
        self.wait_for(lambda: "Skype for Business Account" in self.window_titles(),
                      "the window on the display", timeout=STARTUP_TIMEOUT)
        self.screenshot("activated")


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
