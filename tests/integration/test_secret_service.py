# SPDX-License-Identifier: LGPL-2.1-or-later
"""The password in a real Secret Service: gnome-keyring-daemon on the private bus.

Each test starts gnome-keyring-daemon --components=secrets with an unlocked
test keyring in its own XDG_DATA_HOME, then sfbd with Secrets.Store=auto.
The keyring is inspected with raw org.freedesktop.Secret.* calls, so the
check does not share libsecret with the daemon.
"""

import os
import time
import unittest

from gi.repository import Gio, GLib

import keyring_env

from sfbd_testcase import (ACCOUNT, ERROR_PREFIX, INTERFACES, TIMEOUT, SfbdTestCase,
                           dbus_error_name)

URI = "sip:alice@contoso.test"
OTHER_URI = "sip:bob@contoso.test"
PASSWORD = "Kr4ken-in-the-keyring!"
SCHEMA = "org.sfbd.Sfbd.Password"
SECRETS = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
SERVICE = "org.freedesktop.Secret.Service"


def string(value):
    return GLib.Variant("s", value)


def libsecret_mapped(pid):
    """Whether libsecret is mapped into pid (sfbd opens it at its first Secret Service
    request)."""
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
        return any("/libsecret-1.so" in line for line in f)


class SecretServiceTest(SfbdTestCase):
    START_DAEMON = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keyring_env.require()

    def setUp(self):
        super().setUp()
        self.keyring = keyring_env.start_for_test(self)
        self._wait_for_secret_service()
        # Account.Server: a refused loopback port, so a sign-in never leaves loopback
        self.write_config(f"[Account]\nUri={URI}\nServer=127.0.0.1:9\n"
                          "[Secrets]\nStore=auto\n")
        self.daemon = self.start_daemon()

    def _wait_for_secret_service(self):
        def default_collection():
            if self.keyring.poll() is not None:
                self.fail(f"gnome-keyring-daemon exited with status {self.keyring.returncode}")
            return self._default_collection() if self.name_owner(SECRETS) else None

        self.wait_for_value(default_collection, lambda path: path not in (None, "/"),
                            "a Secret Service with a default keyring")

    # ---- the keyring, through org.freedesktop.Secret ----

    def secrets_call(self, path, interface, method, args=None, signature=None):
        parameters = GLib.Variant(signature, args) if signature is not None else None
        return self.bus.call_sync(SECRETS, path, interface, method, parameters, None,
                                  Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000,
                                  None).unpack()

    def _default_collection(self):
        try:
            return self.secrets_call(SERVICE_PATH, SERVICE, "ReadAlias", ("default",), "(s)")[0]
        except GLib.Error:
            return "/"

    def sfbd_items(self, uri=None):
        """(unlocked, locked) item paths of sfbd's schema, for one URI or all."""
        attributes = {"xdg:schema": SCHEMA}
        if uri is not None:
            attributes["uri"] = uri
        return self.secrets_call(SERVICE_PATH, SERVICE, "SearchItems", (attributes,),
                                 "(a{ss})")

    def item_secret(self, path):
        _, session = self.secrets_call(SERVICE_PATH, SERVICE, "OpenSession",
                                       ("plain", string("")), "(sv)")
        secret = self.secrets_call(path, "org.freedesktop.Secret.Item", "GetSecret",
                                   (session,), "(o)")[0]
        return bytes(secret[2]).decode()

    def item_attributes(self, path):
        return self.secrets_call(path, "org.freedesktop.DBus.Properties", "Get",
                                 ("org.freedesktop.Secret.Item", "Attributes"), "(ss)")[0]

    def lock_keyring(self):
        self.secrets_call(SERVICE_PATH, SERVICE, "Lock", ([self._default_collection()],), "(ao)")

    def password_file_exists(self):
        return any(names for _, _, names in os.walk(self.state_dir)
                   if "passwords" in names)

    # ---- tests ----

    def test_set_use_forget(self):
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        self.assertTrue(libsecret_mapped(self.daemon.pid))
        unlocked, locked = self.sfbd_items(URI)
        self.assertEqual(len(unlocked), 1, "SetPassword(store=true) made no keyring item")
        self.assertEqual(locked, [])
        self.assertEqual(self.item_secret(unlocked[0]), PASSWORD)
        self.assertEqual(self.item_attributes(unlocked[0])["uri"], URI)
        self.assertFalse(self.password_file_exists(), "the file fallback was used")

        # use: a new daemon finds the password in the keyring and signs in
        self.assertEqual(self.stop_process(self.daemon), 0)
        self.daemon = self.start_daemon()
        self.call(ACCOUNT, "SignIn")
        self.assertIn("Signing in as " + URI, self.daemon_log())
        self.call(ACCOUNT, "SignOut")

        # forget: gone from the keyring; a new daemon knows no password
        self.call(ACCOUNT, "ForgetCredentials")
        self.assertEqual(self.sfbd_items(), ([], []))
        self.assertEqual(self.stop_process(self.daemon), 0)
        self.daemon = self.start_daemon()
        message = self.assert_dbus_error(ERROR_PREFIX + "NoCredentials", ACCOUNT, "SignIn")
        self.assertIn("set-password", message)

        self.assertEqual(self.stop_process(self.daemon), 0)
        self.assertNotIn(PASSWORD, self.daemon_log())

    def test_file_store_leaves_libsecret_unloaded(self):
        """Secrets.Store=file: the password goes to the file, the keyring is not asked, and
        libsecret is never mapped (memory a session without a keyring does not need)."""
        self.assertEqual(self.stop_process(self.daemon), 0)
        self.write_config(f"[Account]\nUri={URI}\nServer=127.0.0.1:9\n"
                          "[Secrets]\nStore=file\n")
        self.daemon = self.start_daemon()
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        self.assertTrue(self.password_file_exists(), "SetPassword(store=true) wrote no file")
        self.assertEqual(self.sfbd_items(), ([], []))
        self.assertFalse(libsecret_mapped(self.daemon.pid))

    def test_forget_clears_every_account(self):
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        self.configure({"Account.Uri": string(OTHER_URI)})
        self.call(ACCOUNT, "SetPassword", ("other-" + PASSWORD, True), "(sb)")
        self.assertEqual(len(self.sfbd_items()[0]), 2)
        self.call(ACCOUNT, "ForgetCredentials")
        self.assertEqual(self.sfbd_items(), ([], []))

    def test_memory_only_password_removes_the_stored_one(self):
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        self.call(ACCOUNT, "SetPassword", ("new-" + PASSWORD, False), "(sb)")
        self.assertEqual(self.sfbd_items(URI), ([], []))
        self.assertFalse(self.password_file_exists())
        self.call(ACCOUNT, "SignIn")  # the memory-only password is used
        self.call(ACCOUNT, "SignOut")

    def test_locked_keyring_is_reported_not_prompted(self):
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        self.lock_keyring()
        self.assertEqual(len(self.sfbd_items(URI)[1]), 1, "the keyring did not lock")
        self.assertEqual(self.stop_process(self.daemon), 0)
        self.daemon = self.start_daemon()

        started = time.monotonic()
        message = self.assert_dbus_error(ERROR_PREFIX + "NoCredentials", ACCOUNT, "SignIn")
        self.assertIn("locked", message)
        self.assertIn("Unlock", message)
        message = self.assert_dbus_error(ERROR_PREFIX + "Failed", ACCOUNT, "SetPassword",
                                         (PASSWORD, True), "(sb)")
        self.assertIn("locked", message)
        self.assertLess(time.monotonic() - started, TIMEOUT)
        # the state shows why, for sfbctl status
        self.assertEqual(self.get_property(ACCOUNT, "LastError"), ERROR_PREFIX + "NoCredentials")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-out")

        properties = [str(self.get_all_properties(interface)) for interface in INTERFACES]
        self.assertEqual(self.stop_process(self.daemon), 0)
        for text in [self.daemon_log(), message] + properties:
            self.assertNotIn(PASSWORD, text)

    def test_sfbctl_set_password_reaches_the_keyring(self):
        result = self.sfbctl("set-password", "--stdin", stdin_text=PASSWORD + "\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        unlocked, _ = self.sfbd_items(URI)
        self.assertEqual(len(unlocked), 1)
        self.assertEqual(self.item_secret(unlocked[0]), PASSWORD)
        self.assertIn("Secret Service", result.stdout)
        self.assertNotIn("plain file", result.stdout)
        self.assertEqual(self.get_property(ACCOUNT, "CredentialStore"), "secret-service")


class SecretServiceGoneTest(SfbdTestCase):
    """Store=auto without any Secret Service: the 0600 file, at once."""

    def test_auto_falls_back_to_the_file(self):
        self.configure({"Account.Uri": string(URI), "Account.Server": string("127.0.0.1:9")})
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        path = os.path.join(self.state_dir, "passwords")
        self.assertTrue(os.path.exists(path), os.listdir(self.state_dir))
        self.call(ACCOUNT, "ForgetCredentials")
        self.assertFalse(os.path.exists(path))

    def test_auto_says_where_the_password_went_and_why(self):
        self.configure({"Account.Uri": string(URI), "Account.Server": string("127.0.0.1:9")})
        path = os.path.join(self.state_dir, "passwords")
        result = self.sfbctl("set-password", "--stdin", stdin_text=PASSWORD + "\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        status = self.sfbctl("status")
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertEqual(self.get_property(ACCOUNT, "CredentialStore"), "file")
        self.assertEqual(self.stop_process(self.daemon), 0)
        log = self.daemon_log()
        for where, text in (("set-password", result.stdout), ("status", status.stdout),
                            ("journal", log)):
            with self.subTest(where=where):
                self.assertIn(path, text)
                self.assertIn("no Secret Service answers on the session bus", text)
                self.assertIn("gnome-keyring", text)
                self.assertNotIn(PASSWORD, text)
        self.assertNotIn("Password stored\n", result.stdout)

    def test_store_secret_service_says_what_to_do(self):
        self.configure({"Account.Uri": string(URI), "Secrets.Store": string("secret-service")})
        with self.assertRaises(GLib.Error) as caught:
            self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        self.assertIn("Secrets.Store file", caught.exception.message)
        self.assertNotIn(PASSWORD, caught.exception.message)
        self.assertNotEqual(dbus_error_name(caught.exception), ERROR_PREFIX + "InvalidArgs")


if __name__ == "__main__":
    unittest.main(verbosity=2)
