#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd on a system where libpipewire or libsecret cannot be opened.

sfbd opens both with dlopen() when it first needs them (daemon/media/sfb-pipewire-lib.c,
daemon/core/sfb-secret-lib.c).  Here sfbd runs with LD_LIBRARY_PATH naming a directory that
holds a file of the library's soname which is either not a library at all ("corrupt") or a
shared library of that soname that lacks the last function sfbd resolves ("incomplete",
built by setUpModule with the system cc from the function lists of the -lib.h headers).
The real PipeWire (pipewire_env.py), the real Secret Service (gnome-keyring) and sfbsim are
running, so what sfbd cannot use is the library alone.

What a user or an administrator must see:
- libpipewire: one warning naming the library and why (dlerror(), bounded); no devices on
  org.sfbd.Sfbd1.Devices and no error state; no retries (sfbd is not woken while idle); and
  sfbd keeps running and signs in.
- libsecret: Secrets.Store=auto keeps the password in the 0600 file, saying why and how to
  get a keyring; Secrets.Store=secret-service refuses with NoCredentials and says what to do.

The module runs inside build-aux/testnet with one sfbsim (sim_fixture.py), like test_signin.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)  # testnet needs root; without it the test fails

from gi.repository import Gio, GLib  # noqa: E402

import keyring_env  # noqa: E402
import pipewire_env  # noqa: E402
from sfbd_testcase import ACCOUNT, DEVICES, ERROR_PREFIX, TIMEOUT  # noqa: E402
from sim_testcase import PASSWORDS, SimTestCase, account_settings  # noqa: E402
from test_devices import thread_switches, wakeups  # noqa: E402

PIPEWIRE_SONAME = "libpipewire-0.3.so.0"
SECRET_SONAME = "libsecret-1.so.0"
PIPEWIRE_WARNING = "Cannot load PipeWire's library"
NOT_RETRYING = "Not retrying: PipeWire's library cannot be loaded"  # a debug message
PASSWORD = PASSWORDS["alice"]
URI = "sip:alice@contoso.test"
SECRETS = "org.freedesktop.secrets"
SECRET_SERVICE_PATH = "/org/freedesktop/secrets"
SECRET_SERVICE = "org.freedesktop.Secret.Service"
IDLE_WINDOW = 7.0  # seconds; a 3-s retry timer would wake sfbd twice in it

# {name: directory}: the LD_LIBRARY_PATH directories setUpModule made
LIBS = {}


def library_functions(header):
    """The functions sfbd resolves with dlsym(), in order: the X (name) lines of a -lib.h."""
    with open(os.path.join(sim_fixture.SOURCE_ROOT, header), encoding="utf-8") as f:
        return re.findall(r"^\s*X \((\w+)\)", f.read(), re.MULTILINE)


def make_incomplete_library(directory, soname, functions):
    """A valid shared library named and with the soname `soname` that defines every one
    of `functions` but the last (functions returning 0, which sfbd must never call)."""
    cc = shutil.which("cc")
    if cc is None:
        raise RuntimeError("cc is missing (Debian package gcc)")
    source = os.path.join(directory, soname + ".c")
    with open(source, "w", encoding="utf-8") as f:
        f.write("".join(f"void *{name} (void) {{ return 0; }}\n" for name in functions[:-1]))
    subprocess.run([cc, "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o",
                    os.path.join(directory, soname), source], check=True, timeout=60)
    return functions[-1]


def make_library_dirs(root):
    """corrupt/: both sonames as files that are not ELF; incomplete/: both as libraries
    lacking their last function; and a corrupt one under a long path (bounded quoting)."""
    corrupt = os.path.join(root, "corrupt")
    incomplete = os.path.join(root, "incomplete")
    # two components of 100 characters: dlerror() quotes the whole path
    long_corrupt = os.path.join(root, "d" * 100, "e" * 100)
    for directory in (corrupt, incomplete, long_corrupt):
        os.makedirs(directory)
    for directory in (corrupt, long_corrupt):
        for soname in (PIPEWIRE_SONAME, SECRET_SONAME):
            with open(os.path.join(directory, soname), "wb") as f:
                f.write(b"This is not a shared library.\n" * 100)
    missing = {
        PIPEWIRE_SONAME: make_incomplete_library(
            incomplete, PIPEWIRE_SONAME, library_functions("daemon/media/sfb-pipewire-lib.h")),
        SECRET_SONAME: make_incomplete_library(
            incomplete, SECRET_SONAME, library_functions("daemon/core/sfb-secret-lib.h")),
    }
    LIBS.update(corrupt=corrupt, incomplete=incomplete, long_corrupt=long_corrupt,
                missing=missing)


def setUpModule():
    LIBS["root"] = tempfile.mkdtemp(prefix="sfbd-broken-libs-")
    make_library_dirs(LIBS["root"])
    sim_fixture.start("broken-libraries")


def tearDownModule():
    sim_fixture.stop()
    shutil.rmtree(LIBS.pop("root"), ignore_errors=True)


class BrokenLibraryTestCase(SimTestCase):
    START_DAEMON = False
    WAIT = 20  # seconds for a sign-in that takes milliseconds

    def start_sfbd_with_libraries(self, name):
        """Starts sfbd (only sfbd) with LD_LIBRARY_PATH on the library directory `name`."""
        self.env["LD_LIBRARY_PATH"] = LIBS[name]
        try:
            return self.start_daemon()
        finally:
            del self.env["LD_LIBRARY_PATH"]

    def assert_signs_in(self, store="file"):
        """Signs alice in with the password sfbd already has (SignIn finds it)."""
        self.call(ACCOUNT, "SignIn")
        self.wait_for_value(lambda: self.get_property(ACCOUNT, "State"),
                            lambda state: state in ("signed-in", "failed"), "alice signed-in")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in",
                         self.get_property(ACCOUNT, "LastErrorMessage"))
        self.assertEqual(self.get_property(ACCOUNT, "CredentialStore"), store)


class PipeWireLibraryTest(BrokenLibraryTestCase):
    """libpipewire cannot be opened while PipeWire runs."""

    def setUp(self):
        super().setUp()
        self.pw = pipewire_env.for_test(self)

    def warnings(self):
        return [line for line in self.daemon_log().splitlines() if PIPEWIRE_WARNING in line]

    def in_use(self):
        return {name: self.get_property(DEVICES, name)
                for name in ("AudioOutput", "AudioInput", "VideoInput")}

    def assert_no_devices_and_no_error(self):
        self.assertEqual(self.call(DEVICES, "ListDevices")[0], [])
        self.assertEqual(self.in_use(), {"AudioOutput": "", "AudioInput": "",
                                         "VideoInput": ""})
        self.assertEqual(self.get_property(ACCOUNT, "LastError"), "")

    def assert_not_woken(self, pid):
        """sfbd, idle (not signed in), is not woken at all: no retry of the library.
        First until its start-up work is over (1 s without a wake-up), then a window."""
        def wakeups_in_a_second():
            before = thread_switches(pid)
            time.sleep(1.0)  # a sample, not a wait for an event
            return wakeups(before, thread_switches(pid))

        self.wait_for_value(wakeups_in_a_second, lambda woken: woken == 0,
                            "sfbd being quiet (no wake-up) for 1 s", interval=0)
        before = thread_switches(pid)
        time.sleep(IDLE_WINDOW)  # the window in which nothing may happen
        woken = wakeups(before, thread_switches(pid))
        self.assertEqual(woken, 0, f"sfbd was woken {woken} times in {IDLE_WINDOW} s with "
                                   "libpipewire unusable and nothing to do")

    def check_library_refused(self, libraries, reason, pipewire_first):
        if pipewire_first:
            self.pw.start(wait_for_defaults=False)
        process = self.start_sfbd_with_libraries(libraries)
        if not pipewire_first:
            self.pw.start(wait_for_defaults=False)  # the socket appears under sfbd
        # PipeWire has the devices sfbd would list with its library
        self.assertIn("test-sink", self.pw.run_tool("pw-cli", "ls", "Node"))
        warning = self.wait_for(self.warnings, "the warning that libpipewire cannot be loaded")
        self.assertIn(f"{PIPEWIRE_WARNING} {PIPEWIRE_SONAME}: ", warning[0])
        self.assertIn(reason, warning[0])
        self.assert_no_devices_and_no_error()
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-out")
        self.assert_not_woken(process.pid)

        self.configure_user()
        self.assert_signs_in()
        self.assert_no_devices_and_no_error()

        # PipeWire restarts: its socket appears again, sfbd gives up again, silently
        attempts = self.daemon_log().count(NOT_RETRYING)
        self.pw.stop()
        self.pw.start(wait_for_defaults=False)
        self.wait_for(lambda: self.daemon_log().count(NOT_RETRYING) > attempts,
                      "sfbd's attempt when PipeWire's socket appeared again")
        self.assert_no_devices_and_no_error()
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        self.assertIsNone(process.poll(), "sfbd exited")
        self.assertEqual(len(self.warnings()), 1, self.warnings())

    def test_corrupt_library_is_reported_once_and_not_retried(self):
        """A file of libpipewire's soname that is not a library, PipeWire already running:
        the warning quotes dlerror(), which names the file."""
        self.check_library_refused(
            "corrupt", os.path.join(LIBS["corrupt"], PIPEWIRE_SONAME), pipewire_first=True)

    def test_library_without_a_function_is_reported_once_and_not_retried(self):
        """A real shared library of libpipewire's soname without a function sfbd needs,
        PipeWire started after sfbd (its socket appears)."""
        self.check_library_refused(
            "incomplete", f"{PIPEWIRE_SONAME} has no {LIBS['missing'][PIPEWIRE_SONAME]}",
            pipewire_first=False)

    def test_unwatchable_runtime_dir_does_not_make_a_retry_loop(self):
        """PipeWire's runtime directory cannot be watched (it does not exist), where sfbd
        retries a connection every few seconds (sfb-pipewire.c): once the library failed,
        it stops instead of retrying for ever.  The corrupt file is under a long path, which
        dlerror() quotes: the warning is bounded, and still names the library."""
        self.env["PIPEWIRE_RUNTIME_DIR"] = os.path.join(self.tmp, "no-such-dir")
        process = self.start_sfbd_with_libraries("long_corrupt")
        warning = self.wait_for(self.warnings, "the warning that libpipewire cannot be loaded")
        self.assertIn(f"{PIPEWIRE_WARNING} {PIPEWIRE_SONAME}: ", warning[0])
        self.assertNotIn(LIBS["long_corrupt"], warning[0])
        self.assertIn("…", warning[0])
        self.assertLess(len(warning[0]), 400)
        self.assert_no_devices_and_no_error()
        self.assert_not_woken(process.pid)
        self.assertEqual(len(self.warnings()), 1, self.warnings())


class SecretLibraryTest(BrokenLibraryTestCase):
    """libsecret cannot be opened while a Secret Service (gnome-keyring) answers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keyring_env.require()

    def setUp(self):
        super().setUp()
        self.keyring = keyring_env.start_for_test(self)
        self.wait_for_value(self._default_collection, lambda path: path not in (None, "/"),
                            "a Secret Service with a default keyring")
        self.password_path = os.path.join(self.state_dir, "passwords")

    def secrets_call(self, method, args, signature):
        return self.bus.call_sync(SECRETS, SECRET_SERVICE_PATH, SECRET_SERVICE, method,
                                  GLib.Variant(signature, args), None,
                                  Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000,
                                  None).unpack()

    def _default_collection(self):
        if self.keyring.poll() is not None:
            self.fail(f"gnome-keyring-daemon exited with status {self.keyring.returncode}")
        if self.name_owner(SECRETS) is None:
            return None
        try:
            return self.secrets_call("ReadAlias", ("default",), "(s)")[0]
        except GLib.Error:
            return "/"

    def keyring_items(self):
        """(unlocked, locked) items of sfbd's schema in the keyring, asked over D-Bus."""
        return self.secrets_call("SearchItems", ({"xdg:schema": "org.sfbd.Sfbd.Password"},),
                                 "(a{ss})")

    def configure_store(self, store):
        settings = account_settings()
        settings["Secrets.Store"] = GLib.Variant("s", store)
        self.configure(settings)

    def check_auto_falls_back_to_the_file(self, libraries, reason):
        self.start_sfbd_with_libraries(libraries)
        self.configure_store("auto")
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        self.assertEqual(self.get_property(ACCOUNT, "CredentialStore"), "file")
        self.assertTrue(os.path.exists(self.password_path), "no password file")
        self.assertEqual(self.keyring_items(), ([], []))
        message = self.get_property(ACCOUNT, "CredentialStoreMessage")
        for text in (self.password_path, "libsecret cannot be loaded", reason,
                     "install libsecret"):
            self.assertIn(text, message)
        # the Secret Service is there: not what the user must fix
        self.assertNotIn("no Secret Service answers", message)

        # a new sfbd finds the password in the file and signs in with it
        self.assertEqual(self.stop_process(self.daemons[-1]), 0)
        self.start_sfbd_with_libraries(libraries)
        self.assert_signs_in()
        self.assertIn("libsecret cannot be loaded",
                      self.get_property(ACCOUNT, "CredentialStoreMessage"))
        self.assertNotIn(PASSWORD, self.daemon_log())

    def test_auto_falls_back_to_the_file_when_libsecret_is_corrupt(self):
        self.check_auto_falls_back_to_the_file(
            "corrupt", os.path.join(LIBS["corrupt"], SECRET_SONAME))

    def test_auto_falls_back_to_the_file_when_libsecret_lacks_a_function(self):
        self.check_auto_falls_back_to_the_file(
            "incomplete", f"{SECRET_SONAME} has no {LIBS['missing'][SECRET_SONAME]}")

    def test_secret_service_store_refuses_and_says_what_to_do(self):
        """Store=secret-service: NoCredentials, saying libsecret cannot be loaded (dlerror()
        quoted bounded: the file is under a long path) and what to do; no keyring advice,
        since one runs.  A password for this run only still signs in."""
        self.start_sfbd_with_libraries("long_corrupt")
        self.configure_store("secret-service")
        messages = [
            self.assert_dbus_error(ERROR_PREFIX + "NoCredentials", ACCOUNT, "SetPassword",
                                   (PASSWORD, True), "(sb)"),
            self.assert_dbus_error(ERROR_PREFIX + "NoCredentials", ACCOUNT, "SignIn"),
        ]
        self.assertEqual(self.get_property(ACCOUNT, "LastError"), ERROR_PREFIX + "NoCredentials")
        messages.append(self.get_property(ACCOUNT, "LastErrorMessage"))
        for message in messages:
            with self.subTest(message=message):
                self.assertIn("libsecret cannot be loaded", message)
                self.assertIn("install libsecret", message.lower())
                self.assertIn("sfbctl config set Secrets.Store file", message)
                self.assertNotIn("gnome-keyring", message)
                self.assertNotIn(LIBS["long_corrupt"], message)  # bounded: cut, marked
                self.assertIn("…", message)
                self.assertLess(len(message), 400)
                self.assertNotIn(PASSWORD, message)
        self.assertFalse(os.path.exists(self.password_path), "a password file was written")
        self.assertEqual(self.keyring_items(), ([], []))

        self.call(ACCOUNT, "SetPassword", (PASSWORD, False), "(sb)")
        self.assert_signs_in(store="memory")
        self.assertNotIn(PASSWORD, self.daemon_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
