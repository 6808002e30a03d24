# SPDX-License-Identifier: LGPL-2.1-or-later
"""Base class of the integration tests: the real sfbd on a private bus.

Every test gets its own dbus-daemon (a minimal session configuration with no
service directories, so nothing is ever activated), its own temporary
SFBD_CONFIG_DIR, SFBD_STATE_DIR and XDG_* directories, and, unless the class
sets START_DAEMON = False, a running sfbd that owns org.sfbd.Sfbd.  The
daemon's log is printed when a test fails.  Everything is killed at teardown.

Environment (set by tests/integration/meson.build):
  SFBD_PATH          the sfbd binary
  SFBCTL_PATH        the sfbctl binary
  SFBD_DBUS_XML_DIR  the directory of the interface XML files
  SFBD_SANITIZERS    "1" in an ASan/UBSan build: deadlines are longer, sfbd is
                     stopped with SIGTERM at teardown (so LeakSanitizer checks it
                     as it exits) and a sanitizer report in its log, or from
                     sfbctl, fails the test (docs/testing.md, "Sanitizers")
"""

import configparser
import glob
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ElementTree

from gi.repository import Gio, GLib

BUS_NAME = "org.sfbd.Sfbd"
OBJECT_PATH = "/org/sfbd/Sfbd"
INTERFACE_PREFIX = "org.sfbd.Sfbd1."
ERROR_PREFIX = "org.sfbd.Sfbd.Error."
ACCOUNT = INTERFACE_PREFIX + "Account"
PRESENCE = INTERFACE_PREFIX + "Presence"
CONTACTS = INTERFACE_PREFIX + "Contacts"
DIAL_PLAN = INTERFACE_PREFIX + "DialPlan"
POLICIES = INTERFACE_PREFIX + "Policies"
DEVICES = INTERFACE_PREFIX + "Devices"
EXCHANGE = INTERFACE_PREFIX + "Exchange"
CONVERSATIONS = INTERFACE_PREFIX + "Conversations"
DIAGNOSTICS = INTERFACE_PREFIX + "Diagnostics"
INTERFACES = [ACCOUNT, PRESENCE, CONTACTS, DIAL_PLAN, POLICIES, DEVICES, EXCHANGE, DIAGNOSTICS,
              CONVERSATIONS]

# python3-dbusmock's template of a MOCK of sfbd, for states the real one cannot reach
MOCK_TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sfbd_mock.py")

SANITIZED = os.environ.get("SFBD_SANITIZERS") == "1"
# the ASan/UBSan build runs 2-3 times slower: deadlines (never sleeps) stretch
TIME_SCALE = 3 if SANITIZED else 1
TIMEOUT = 10 * TIME_SCALE  # seconds for anything that should take milliseconds
# what ASan, LSan and UBSan print (UBSan's "file:line:col: runtime error: ...")
SANITIZER_REPORT = re.compile(r"(ERROR|WARNING|SUMMARY): \w*Sanitizer|runtime error: "
                              r"|LeakSanitizer has encountered")

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def required_path(variable):
    path = os.environ.get(variable)
    if not path or not os.path.exists(path):
        raise RuntimeError(f"{variable} must name an existing file (got {path!r}); "
                           "run the tests through meson test")
    return path


def dbus_error_name(error):
    """The D-Bus error name of a GLib.Error from a method call."""
    return Gio.DBusError.get_remote_error(error)


def interface_xml_files():
    xml_dir = required_path("SFBD_DBUS_XML_DIR")
    return sorted(glob.glob(os.path.join(xml_dir, INTERFACE_PREFIX + "*.xml")))


def parse_interfaces(xml_text):
    """{interface name: description} of an introspection document.

    The description keeps what a client depends on: method arguments (name,
    type, direction), properties (type, access) and signal arguments.
    Documentation comments and annotations are left out."""
    root = ElementTree.fromstring(xml_text)
    interfaces = {}
    for interface in root.findall("interface"):
        methods = {
            method.get("name"): [(arg.get("name"), arg.get("type"), arg.get("direction", "in"))
                                 for arg in method.findall("arg")]
            for method in interface.findall("method")
        }
        properties = {prop.get("name"): (prop.get("type"), prop.get("access"))
                      for prop in interface.findall("property")}
        signals = {
            sig.get("name"): [(arg.get("name"), arg.get("type")) for arg in sig.findall("arg")]
            for sig in interface.findall("signal")
        }
        interfaces[interface.get("name")] = {
            "methods": methods, "properties": properties, "signals": signals,
        }
    return interfaces


def xml_interfaces():
    """The API as dbus/*.xml defines it."""
    interfaces = {}
    for path in interface_xml_files():
        with open(path, encoding="utf-8") as xml_file:
            interfaces.update(parse_interfaces(xml_file.read()))
    return interfaces


def connect_bus(address):
    """A new connection of this process to the message bus at `address`."""
    return Gio.DBusConnection.new_for_address_sync(
        address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)


class BusService:
    """A service standing in for a desktop one (a tray's watcher, sfbd-window): on its own
    connection to the bus at `address`, serves the one interface of `xml` at `path` through
    the subclass's _method_call() and owns `name` (or raises RuntimeError); close() leaves."""

    def __init__(self, address, name, path, xml):
        self.connection = connect_bus(address)
        info = Gio.DBusNodeInfo.new_for_xml(xml).interfaces[0]
        self.registration = self.connection.register_object(
            path, info, self._method_call, None, None)
        reply = self.connection.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "RequestName", GLib.Variant("(su)", (name, 4)), GLib.VariantType("(u)"),
            Gio.DBusCallFlags.NONE, -1, None)
        if reply.unpack()[0] != 1:
            raise RuntimeError(f"could not own {name}")

    def _method_call(self, connection, sender, path, interface, method, parameters, invocation):
        raise NotImplementedError

    def close(self):
        self.connection.unregister_object(self.registration)
        self.connection.close_sync(None)


class LineReader:
    """Collects the lines of a pipe in a thread, so tests can wait with a timeout."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.seen = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in iter(stream.readline, ""):
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for_all(self, *substrings, timeout=TIMEOUT):
        """Waits until each substring has appeared in a line, in any order."""
        missing = [text for text in substrings if not any(text in line for line in self.seen)]
        while missing:
            line = self.wait_for(lambda text: any(part in text for part in missing), timeout)
            missing = [text for text in missing if text not in line]

    def wait_for(self, predicate, timeout=TIMEOUT):
        """The first new line for which predicate(line) is true; fails on timeout or EOF."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching line within {timeout} s; saw {self.seen!r}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"output ended without a matching line; saw {self.seen!r}")
            self.seen.append(line)
            if predicate(line):
                return line


class SfbdTestCase(unittest.TestCase):
    START_DAEMON = True
    WAIT = TIMEOUT  # seconds wait_for() waits unless told; a test class may set its own
    POLL_INTERVAL = 0.02  # seconds between wait_for()'s tries (more for costly predicates)
    XVFB_SCREEN = (1024, 768)  # start_xvfb()'s screen

    @classmethod
    def setUpClass(cls):
        cls.sfbd_path = required_path("SFBD_PATH")
        cls.sfbctl_path = required_path("SFBCTL_PATH")
        if shutil.which("dbus-daemon") is None:
            raise RuntimeError("dbus-daemon is missing (Debian package dbus-daemon)")

    # ---- fixture ----

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sfbd-test-")
        self.log_paths = []
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.addCleanup(self._print_daemon_log_on_failure)
        self.config_dir = self._make_dir("config")
        self.state_dir = self._make_dir("state")
        self.config_path = os.path.join(self.config_dir, "sfbd.conf")
        self.daemons = []
        self.env = self._make_env()
        self._start_bus()
        self.addCleanup(self._stop_everything)
        if self.START_DAEMON:
            self.daemon = self.start_daemon()

    def _make_dir(self, name, mode=0o755):
        path = os.path.join(self.tmp, name)
        os.makedirs(path, mode=mode)
        return path

    def _make_env(self):
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DBUS_", "XDG_", "SFBD_CONFIG", "SFBD_STATE"))}
        env.update({
            "SFBD_CONFIG_DIR": self.config_dir,
            "SFBD_STATE_DIR": self.state_dir,
            "XDG_CONFIG_HOME": self._make_dir("xdg-config"),
            "XDG_STATE_HOME": self._make_dir("xdg-state"),
            "XDG_DATA_HOME": self._make_dir("xdg-data"),
            "XDG_CACHE_HOME": self._make_dir("xdg-cache"),
            "XDG_RUNTIME_DIR": self._make_dir("xdg-runtime", 0o700),
            "G_DEBUG": "fatal-criticals",
            "G_MESSAGES_DEBUG": "all",
            "NO_COLOR": "1",
            "LC_ALL": "C.UTF-8",
        })
        return env

    def _start_bus(self):
        bus_config = os.path.join(self.tmp, "bus.conf")
        with open(bus_config, "w", encoding="utf-8") as config_file:
            config_file.write(BUS_CONFIG.format(dir=self._make_dir("bus")))
        self.bus_process = subprocess.Popen(
            ["dbus-daemon", f"--config-file={bus_config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.env)
        address = self.bus_process.stdout.readline().strip()
        if not address:
            raise RuntimeError("dbus-daemon did not print its address")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        self.bus = connect_bus(address)

    def _stop_everything(self):
        problems = []
        for process in self.daemons:
            if process.poll() is None and SANITIZED:
                # SIGTERM, not SIGKILL: LeakSanitizer checks sfbd as it exits
                process.terminate()
                try:
                    process.wait(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    problems.append(f"sfbd (pid {process.pid}) did not exit within {TIMEOUT} s "
                                    "of SIGTERM")
            if process.poll() is None:
                process.kill()
                process.wait()
        self.bus.close_sync(None)
        self.bus_process.kill()
        self.bus_process.wait()
        self.bus_process.stdout.close()
        if SANITIZED:
            problems += [f"{os.path.basename(path)}: {line}" for path in self.log_paths
                         for line in self._sanitizer_reports(path)]
        if problems:
            self.fail("\n".join(problems))

    @staticmethod
    def _sanitizer_reports(path):
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8", errors="replace") as log:
            return [line.rstrip("\n") for line in log if SANITIZER_REPORT.search(line)]

    def run(self, result=None):
        self._result = result
        self._problems_before = self._count_problems(result)
        return super().run(result)

    @staticmethod
    def _count_problems(result):
        if result is None or not hasattr(result, "failures"):
            return None
        return len(result.failures) + len(result.errors)

    def _print_daemon_log_on_failure(self):
        # a cleanup, so it runs before the temporary directory goes.  Under
        # pytest (no failure lists) always print: pytest shows captured
        # output only for failed tests.
        problems = self._count_problems(getattr(self, "_result", None))
        if problems is None or problems > self._problems_before:
            self._print_daemon_log()

    def _print_daemon_log(self):
        for path in self.log_paths:
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as log:
                    sys.stderr.write(f"\n---- {os.path.basename(path)} ----\n{log.read()}")
        sys.stderr.flush()

    # ---- sfbd ----

    def start_daemon(self, *args, wait=True):
        """Starts sfbd --verbose; with wait, returns once it owns the name."""
        log_path = os.path.join(self.tmp, f"sfbd-{len(self.log_paths) + 1}.log")
        self.log_paths.append(log_path)
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen([self.sfbd_path, "--verbose", *args], env=self.env,
                                       stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT)
        self.daemons.append(process)
        if wait:
            self.wait_for_owner(lambda owner: owner is not None, process)
        return process

    def start_mock(self, **parameters):
        """Starts, in place of sfbd, python3-dbusmock with sfbd_mock.py (the MOCK of
        org.sfbd.Sfbd; `parameters` are its template's) and returns the process once it owns
        the name.  Its log is among sfbd's; it is killed at teardown like sfbd."""
        log_path = os.path.join(self.tmp, f"sfbd-mock-{len(self.log_paths) + 1}.log")
        self.log_paths.append(log_path)
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "dbusmock", "--session", "--template", MOCK_TEMPLATE,
                 "--parameters", json.dumps(parameters)],
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.daemons.append(process)
        self.wait_for_owner(lambda owner: owner is not None, process)
        return process

    def stop_process(self, process, sig=signal.SIGTERM):
        """Sends sig to sfbd or sfbctl and returns the exit status."""
        process.send_signal(sig)
        return self.wait_for_exit(process)

    def daemon_log(self):
        text = ""
        for path in self.log_paths:
            with open(path, encoding="utf-8", errors="replace") as log:
                text += log.read()
        return text

    def name_owner(self, name=BUS_NAME, bus=None):
        """The unique name owning `name` on `bus` (default the test's session bus), or
        None when nobody owns it."""
        bus = bus or self.bus
        try:
            reply = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                  "org.freedesktop.DBus", "GetNameOwner",
                                  GLib.Variant("(s)", (name,)), GLib.VariantType("(s)"),
                                  Gio.DBusCallFlags.NONE, -1, None)
        except GLib.Error:
            return None
        return reply.unpack()[0]

    def wait_for_owner(self, predicate, process=None):
        """Polls the owner of org.sfbd.Sfbd until predicate(owner) holds."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            owner = self.name_owner()
            if predicate(owner):
                return owner
            if process is not None and process.poll() is not None:
                self.fail(f"sfbd exited with status {process.returncode} before owning "
                          f"{BUS_NAME}")
            time.sleep(0.02)
        self.fail(f"the owner of {BUS_NAME} did not change as expected within {TIMEOUT} s")

    def describe_state(self):
        """What a failing wait_for() adds to its message: the state this test class waits
        on (its Exchange properties, say), in words.  Nothing here; classes override it."""
        return ""

    def wait_for(self, predicate, what, timeout=None, interval=None):
        """Waits for a condition with a deadline and returns predicate()'s first true value.

        Before each try it dispatches this process's default GLib main context (D-Bus signal
        subscriptions, libatspi events); tries come `interval` s (default
        self.POLL_INTERVAL) apart.  When
        `timeout` s (default self.WAIT) pass, the test fails saying `what` was waited
        for, the last value predicate() returned and describe_state()."""
        return self.wait_for_value(predicate, bool, what, timeout, interval)

    def wait_for_value(self, get, accept, what, timeout=None, interval=None):
        """wait_for() for a value: polls get() until accept(value) holds and returns that
        value; a failure names the last value get() returned."""
        timeout = self.WAIT if timeout is None else timeout
        interval = self.POLL_INTERVAL if interval is None else interval
        context = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            while context.iteration(False):
                pass
            value = get()
            if accept(value):
                return value
            time.sleep(interval)
        state = self.describe_state()
        self.fail(f"{what} did not happen within {timeout} s; last value {value!r}"
                  + (f"; {state}" if state else ""))

    def spawn(self, name, argv, pass_fds=()):
        """Starts a helper process (Xvfb, a desktop service, a client) with the test's
        environment, its output in NAME.log among sfbd's logs (in daemon_log(), printed
        when the test fails); it is killed at teardown like sfbd."""
        log_path = os.path.join(self.tmp, f"{name}.log")
        self.log_paths.append(log_path)
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, pass_fds=pass_fds)
        self.daemons.append(process)
        return process

    def start_xvfb(self):
        """Starts Xvfb for this test (an XVFB_SCREEN (width, height) screen, 24 bits), its
        output in Xvfb.log; sets DISPLAY in the test's environment and keeps the process as
        self.xvfb."""
        read_fd, write_fd = os.pipe()
        # in a new network namespace every Xvfb is free to take :0 (its abstract socket is
        # the namespace's own), but /tmp/.X11-unix/X0 is shared by all: a display number
        # of this test's own keeps concurrent tests apart.  -noreset: by default the
        # server resets when its last client leaves (libatspi's look at the root window,
        # xwininfo, xwd), killing any client still connecting ("cannot open display").
        width, height = self.XVFB_SCREEN
        self.xvfb = self.spawn("Xvfb", [
            "Xvfb", f":{1000 + os.getpid() % 50000}", "-displayfd", str(write_fd),
            "-nolisten", "tcp", "-noreset", "-screen", "0", f"{width}x{height}x24"],
            pass_fds=(write_fd,))
        os.close(write_fd)
        with os.fdopen(read_fd) as display_pipe:
            display = display_pipe.readline().strip()
        self.assertTrue(display, "Xvfb did not say its display")
        self.env["DISPLAY"] = f":{display}"
        return self.xvfb

    def wait_for_exit(self, process):
        try:
            return process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(f"{process.args[0]} (pid {process.pid}) did not exit within {TIMEOUT} s")

    # ---- D-Bus ----

    def call(self, interface, method, args=None, signature=None, unpack=True):
        """Calls a method of /org/sfbd/Sfbd; returns the reply tuple, unpacked
        to Python values unless unpack is false."""
        parameters = GLib.Variant(signature, args) if signature is not None else None
        reply = self.bus.call_sync(BUS_NAME, OBJECT_PATH, interface, method, parameters, None,
                                   Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)
        return reply.unpack() if unpack else reply

    def assert_dbus_error(self, error_name, interface, method, args=None, signature=None):
        """Asserts the call fails with error_name; returns the error message."""
        with self.assertRaises(GLib.Error) as caught:
            self.call(interface, method, args, signature)
        self.assertEqual(dbus_error_name(caught.exception), error_name, caught.exception.message)
        Gio.DBusError.strip_remote_error(caught.exception)
        return caught.exception.message

    def get_property(self, interface, name):
        return self.call("org.freedesktop.DBus.Properties", "Get", (interface, name), "(ss)")[0]

    def get_all_properties(self, interface):
        return self.call("org.freedesktop.DBus.Properties", "GetAll", (interface,), "(s)")[0]

    def record_signals(self):
        """From now on, appends every signal of /org/sfbd/Sfbd to self.signals as
        (interface, name, unpacked arguments); wait_for() dispatches them."""
        self.signals = []

        def on_signal(connection, sender, path, interface, name, parameters):
            self.signals.append((interface, name, parameters.unpack()))

        self.bus.signal_subscribe(BUS_NAME, None, None, OBJECT_PATH, None,
                                  Gio.DBusSignalFlags.NONE, on_signal)

    def configure(self, settings):
        """Calls Configure; settings maps keys to GLib.Variant values."""
        self.call(ACCOUNT, "Configure", (settings,), "(a{sv})")

    def wait_for_properties_changed(self, action, interface=ACCOUNT):
        """Runs action() and returns the first PropertiesChanged of interface
        that follows, as (changed dict, invalidated list)."""
        received = []

        def on_signal(connection, sender, path, iface, signal_name, parameters):
            changed_interface, changed, invalidated = parameters.unpack()
            if changed_interface == interface:
                received.append((changed, invalidated))

        subscription = self.bus.signal_subscribe(
            BUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged", OBJECT_PATH, None,
            Gio.DBusSignalFlags.NONE, on_signal)
        try:
            self.name_owner()  # a round trip: the match rule is in place
            action()
            context = GLib.MainContext.default()
            deadline = time.monotonic() + TIMEOUT
            while not received and time.monotonic() < deadline:
                if not context.iteration(False):
                    time.sleep(0.01)
        finally:
            self.bus.signal_unsubscribe(subscription)
        self.assertTrue(received, f"no PropertiesChanged on {interface} within {TIMEOUT} s")
        return received[0]

    # ---- files ----

    def write_config(self, text):
        with open(self.config_path, "w", encoding="utf-8") as config_file:
            config_file.write(text)

    def read_config(self):
        """sfbd.conf as {group: {key: value}}, keys case-sensitive as in GKeyFile."""
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str
        parser.read(self.config_path, encoding="utf-8")
        return {section: dict(parser[section]) for section in parser.sections()}

    def config_bytes(self):
        if not os.path.exists(self.config_path):
            return None
        with open(self.config_path, "rb") as config_file:
            return config_file.read()

    # ---- sfbctl ----

    def sfbctl_env(self, **extra):
        """The environment of sfbctl: the daemon's, without its debug output."""
        env = {key: value for key, value in self.env.items() if key != "G_MESSAGES_DEBUG"}
        env.update(extra)
        return env

    def sfbctl(self, *args, stdin_text=None, timeout=TIMEOUT * 3, env=None):
        """Runs sfbctl to completion; returns the CompletedProcess (text)."""
        result = subprocess.run([self.sfbctl_path, *args], env=env or self.sfbctl_env(),
                                input=stdin_text,
                                stdin=None if stdin_text is not None else subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=timeout, check=False)
        if SANITIZED and SANITIZER_REPORT.search(result.stderr):
            self.fail(f"sfbctl {' '.join(args)}: a sanitizer report:\n{result.stderr}")
        return result

    def sfbctl_json(self, *args, **kwargs):
        """Runs sfbctl --json; returns (exit status, parsed stdout)."""
        result = self.sfbctl("--json", *args, **kwargs)
        try:
            return result.returncode, json.loads(result.stdout)
        except json.JSONDecodeError as error:
            self.fail(f"sfbctl --json {' '.join(args)} printed no valid JSON ({error}): "
                      f"stdout {result.stdout!r}, stderr {result.stderr!r}")

    def spawn_sfbctl(self, *args):
        """Starts a long-running sfbctl with line readers on stdout and stderr."""
        process = subprocess.Popen([self.sfbctl_path, *args], env=self.sfbctl_env(),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, bufsize=1)
        self.addCleanup(self._stop_sfbctl, process)
        return process, LineReader(process.stdout), LineReader(process.stderr)

    @staticmethod
    def _stop_sfbctl(process):
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()
