# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd under systemd: the user unit verifies, and the notify protocol.

The notify tests stand in for the service manager: a datagram socket at
$NOTIFY_SOCKET receives what sfbd sends (READY=1, STATUS=, WATCHDOG=1,
STOPPING=1), as a path or as an abstract socket ("@name", as systemd may give).
"""

import configparser
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from gi.repository import GLib

from sfbd_testcase import ACCOUNT, BUS_NAME, SfbdTestCase, required_path

URI = "sip:alice@contoso.test"


class NotifySocket:
    """The service manager's end of sd_notify(), at `address` as $NOTIFY_SOCKET says it:
    a path, or with a leading '@' an abstract socket of the name that follows."""

    def __init__(self, address):
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.messages = []  # each a dict of the assignments of one datagram

    def close(self):
        self.sock.close()

    def received(self):
        """Every message so far, with those waiting on the socket now."""
        while True:
            try:
                data = self.sock.recv(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return self.messages
            self.messages.append(
                dict(line.split("=", 1) for line in data.decode().splitlines() if line))


class NotifyTest(SfbdTestCase):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        self.notify = NotifySocket(self.notify_address())
        self.addCleanup(self.notify.close)
        self.env["NOTIFY_SOCKET"] = self.notify.address
        self.env["WATCHDOG_USEC"] = "200000"
        self.write_config(f"[Account]\nUri={URI}\nServer=127.0.0.1:9\n[Secrets]\nStore=file\n")

    def notify_address(self):
        return os.path.join(self.tmp, "notify")

    def notified(self, predicate, what):
        """The first message (new or already received) for which predicate holds; a
        failure lists the messages received."""
        messages = self.wait_for_value(lambda: list(self.notify.received()),
                                       lambda ms: any(predicate(m) for m in ms), what)
        return next(m for m in messages if predicate(m))

    def status_with(self, text):
        return self.notified(lambda m: text in m.get("STATUS", ""),
                             f"STATUS= containing {text!r}")

    def test_ready_after_the_bus_name_and_status_follows_the_state(self):
        daemon = self.start_daemon(wait=False)
        ready = self.notified(lambda m: m.get("READY") == "1", "READY=1")
        # READY=1 is sent only once the name is owned
        self.assertIsNotNone(self.name_owner(), f"READY=1 before {BUS_NAME} was owned")
        self.assertIn("signed-out", ready.get("STATUS", ""))
        self.assertIn(URI, ready["STATUS"])

        # a sign-in without a password: the status says what is wrong
        self.call(ACCOUNT, "ForgetCredentials")
        with self.assertRaises(GLib.Error):
            self.call(ACCOUNT, "SignIn")
        self.status_with("sfbctl set-password")

        # a sign-in: the status leaves signed-out
        self.call(ACCOUNT, "SetPassword", ("Pa55-for-status", False), "(sb)")
        self.call(ACCOUNT, "SignIn")
        state = self.notified(
            lambda m: m.get("STATUS", "").split(" ")[0] not in ("", "signed-out"),
            "STATUS= with a sign-in state")
        self.assertIn(state["STATUS"].split(" ")[0],
                      ("discovering", "connecting", "authenticating", "reconnecting", "failed"))
        self.call(ACCOUNT, "SignOut")

        self.assertEqual(self.stop_process(daemon), 0)
        self.notified(lambda m: m.get("STOPPING") == "1", "STOPPING=1")
        for message in self.notify.messages:
            self.assertNotIn("Pa55-for-status", str(message))

    def watchdog_count(self):
        return sum(1 for message in self.notify.messages if message.get("WATCHDOG") == "1")

    def test_watchdog_is_fed_from_the_main_loop(self):
        daemon = self.start_daemon(wait=False)
        self.notified(lambda m: m.get("READY") == "1", "READY=1")
        for expected in range(1, 4):
            self.notified(lambda m, n=expected: self.watchdog_count() >= n,
                          f"WATCHDOG=1 number {expected}")
        self.assertEqual(self.stop_process(daemon), 0)

    def test_without_notify_socket_nothing_is_sent(self):
        del self.env["NOTIFY_SOCKET"]
        daemon = self.start_daemon()
        self.assertEqual(self.stop_process(daemon), 0)
        self.notify.sock.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            self.notify.sock.recv(4096)


class AbstractNotifyTest(NotifyTest):
    """The same with $NOTIFY_SOCKET an abstract socket, "@name": READY=1 and STATUS=,
    WATCHDOG=1 with WATCHDOG_USEC, STOPPING=1."""

    def notify_address(self):
        # abstract names are per network namespace, not per directory: one of this test's
        return f"@sfbd-test-notify-{os.path.basename(self.tmp)}"


class JournalFieldsTest(SfbdTestCase):
    """The structured fields sfbd gives the journal, through the export
    writer on stderr (SFBD_LOG_FORMAT=export): no journald needed."""

    START_DAEMON = False

    def entries(self):
        found = []
        for block in self.daemon_log().split("\n\n"):
            fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            if fields:
                found.append(fields)
        return found

    def test_refused_sign_in_carries_the_error_name(self):
        self.env["SFBD_LOG_FORMAT"] = "export"
        self.write_config(f"[Account]\nUri={URI}\nServer=127.0.0.1:9\n[Secrets]\nStore=file\n")
        daemon = self.start_daemon()
        with self.assertRaises(GLib.Error):
            self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.stop_process(daemon), 0)
        entries = self.entries()
        startup = [e for e in entries if e.get("MESSAGE_ID") == "74dc07ce342f4672a6a0aa5e5370e572"]
        self.assertEqual(len(startup), 1, entries)
        refused = [e for e in entries
                   if e.get("SFB_ERROR_NAME") == "org.sfbd.Sfbd.Error.NoCredentials"]
        self.assertTrue(refused, entries)
        self.assertEqual(refused[0]["SFB_TOPIC"], "sign-in")
        self.assertEqual(refused[0]["PRIORITY"], "6")
        self.assertIn("set-password", refused[0]["MESSAGE"])


class UnitFileTest(unittest.TestCase):
    """The built user unit, as systemd reads it."""

    @classmethod
    def setUpClass(cls):
        cls.unit_path = required_path("SFBD_UNIT")
        cls.dbus_service_path = required_path("SFBD_DBUS_SERVICE")
        cls.sfbd_path = required_path("SFBD_PATH")
        cls.analyze = shutil.which("systemd-analyze")
        if cls.analyze is None:
            raise RuntimeError("systemd-analyze is missing (Debian package systemd)")

    def read_unit(self, path):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str
        parser.read(path, encoding="utf-8")
        return parser

    def test_unit_verifies_in_a_user_manager(self):
        tmp = tempfile.mkdtemp(prefix="sfbd-unit-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        with open(self.unit_path, encoding="utf-8") as unit_file:
            lines = unit_file.read().splitlines()
        # the installed path does not exist here: point at the built daemon
        lines = [f"ExecStart={self.sfbd_path}" if line.startswith("ExecStart=") else line
                 for line in lines]
        copy = os.path.join(tmp, "sfbd.service")
        with open(copy, "w", encoding="utf-8") as unit_file:
            unit_file.write("\n".join(lines) + "\n")
        runtime = os.path.join(tmp, "runtime")
        os.mkdir(runtime, 0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SYSTEMD_LOG_LEVEL="notice")
        result = subprocess.run([self.analyze, "--user", "--man=no", "verify", copy],
                                env=env, capture_output=True, text=True, timeout=60,
                                check=False)
        # verify exits 0 on unknown keys and bad values, so any remark fails
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout + result.stderr, "")

    def test_unit_asks_for_what_sfbd_provides(self):
        service = self.read_unit(self.unit_path)["Service"]
        self.assertEqual(service["Type"], "notify")
        self.assertEqual(service["NotifyAccess"], "main")
        self.assertEqual(service["BusName"], BUS_NAME)
        self.assertEqual(service["Restart"], "on-failure")
        self.assertTrue(service["WatchdogSec"])
        self.assertEqual(self.read_unit(self.unit_path)["Install"]["WantedBy"], "default.target")

    def test_dbus_activation_starts_the_unit(self):
        activation = self.read_unit(self.dbus_service_path)["D-BUS Service"]
        self.assertEqual(activation["Name"], BUS_NAME)
        self.assertEqual(activation["SystemdService"], os.path.basename(self.unit_path))
        service = self.read_unit(self.unit_path)["Service"]
        self.assertEqual(activation["Exec"], service["ExecStart"])


class InstallTreeTest(unittest.TestCase):
    """What "meson install" puts in place for the applet: a user can
    disable it, so no .wants link in the vendor unit directory, but a
    preset that enables it; and its icons."""

    @classmethod
    def setUpClass(cls):
        cls.build_root = required_path("SFBD_BUILD_ROOT")
        cls.meson = required_path("MESON")
        cls.destdir = tempfile.mkdtemp(prefix="sfbd-install-")
        result = subprocess.run([cls.meson, "install", "-C", cls.build_root, "--destdir",
                                 cls.destdir, "--no-rebuild", "--quiet"],
                                capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            shutil.rmtree(cls.destdir, ignore_errors=True)
            raise AssertionError(f"meson install failed: {result.stdout}{result.stderr}")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir, ignore_errors=True)

    def installed(self, predicate):
        found = []
        for directory, names, files in os.walk(self.destdir):
            for name in names + files:
                path = os.path.join(directory, name)
                if predicate(path):
                    found.append(os.path.relpath(path, self.destdir))
        return found

    def test_no_wants_link_in_the_vendor_unit_directory(self):
        self.assertEqual(self.installed(lambda path: path.endswith((".wants", ".requires"))), [])
        units = self.installed(lambda path: path.endswith("/systemd/user/sfbd-applet.service"))
        self.assertEqual(len(units), 1, units)
        self.assertFalse(os.path.islink(os.path.join(self.destdir, units[0])))

    def test_a_preset_enables_the_applet(self):
        presets = self.installed(lambda path: "/user-preset/" in path
                                 and path.endswith(".preset"))
        self.assertEqual(len(presets), 1, presets)
        with open(os.path.join(self.destdir, presets[0]), encoding="utf-8") as preset:
            lines = [line.split() for line in preset.read().splitlines()
                     if line.strip() and not line.startswith("#")]
        self.assertIn(["enable", "sfbd-applet.service"], lines)
        # the unit has what "enable" needs
        unit = self.installed(lambda path: path.endswith("/systemd/user/sfbd-applet.service"))[0]
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(os.path.join(self.destdir, unit), encoding="utf-8")
        self.assertEqual(parser["Install"]["WantedBy"], "graphical-session.target")

    def test_the_applet_icons_are_installed(self):
        icons = self.installed(lambda path: "/icons/hicolor/scalable/status/sfbd-" in path)
        names = {os.path.basename(path) for path in icons}
        for name in ("available", "busy", "dnd", "be-right-back", "away", "off-work",
                     "appear-offline", "signed-out", "not-running", "not-answering"):
            self.assertIn(f"sfbd-{name}.svg", names)


if __name__ == "__main__":
    unittest.main(verbosity=2)
