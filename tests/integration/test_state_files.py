#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd's own files as they may be found: a damaged password file is named,
never quoted; a FIFO in place of a state file never blocks the daemon."""

import hashlib
import os
import stat
import unittest

from gi.repository import GLib

from sfbd_testcase import ACCOUNT, ERROR_PREFIX, SfbdTestCase, dbus_error_name

URI = "sip:bob@contoso.test"
PASSWORD = "Tr0ub4dor&3-correct-horse"
FRAGMENTS = ["Tr0ub4dor", "correct-horse", "horse-battery"]


def string(value):
    return GLib.Variant("s", value)


class StateFilesTest(SfbdTestCase):
    def setUp(self):
        super().setUp()
        # Account.Server: a refused loopback port, so a sign-in never leaves loopback
        self.configure({"Account.Uri": string(URI), "Account.Server": string("127.0.0.1:9"),
                        "Secrets.Store": string("file"), "Account.AutoSignIn": string("false")})
        self.password_path = os.path.join(self.state_dir, "passwords")

    def sign_in_error(self):
        try:
            self.call(ACCOUNT, "SignIn")
        except GLib.Error as error:
            return dbus_error_name(error), error.message
        return None, ""

    def wait_for_state(self, *states):
        return self.wait_for_value(lambda: self.get_property(ACCOUNT, "State"),
                                   lambda state: state in states, f"State one of {states}")

    def test_a_damaged_password_file_is_named_by_line_never_quoted(self):
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        with open(self.password_path, encoding="utf-8") as password_file:
            self.assertIn(PASSWORD, password_file.read())
        # a line that is not key=value, holding the password, as an editor may leave it
        with open(self.password_path, "a", encoding="utf-8") as password_file:
            password_file.write(f"{PASSWORD}-battery-staple\n")
        with open(self.password_path, "rb") as password_file:
            damaged = password_file.read()
        bad_line = damaged.decode().splitlines().index(f"{PASSWORD}-battery-staple") + 1
        # a new daemon knows no password in memory: it must read the file
        self.assertEqual(self.stop_process(self.daemon), 0)
        self.start_daemon()

        name, message = self.sign_in_error()
        self.assertEqual(name, ERROR_PREFIX + "Failed", message)
        last = self.get_property(ACCOUNT, "LastErrorMessage")
        set_error = self.assert_dbus_error(ERROR_PREFIX + "Failed", ACCOUNT, "SetPassword",
                                           ("another-one", True), "(sb)")
        self.assertEqual(self.stop_process(self.daemon), 0)
        log = self.daemon_log()
        for text in (message, last, set_error, log):
            self.assertIn(f"{self.password_path} is damaged at line {bad_line}", text)
        for fragment in FRAGMENTS:
            for where, text in (("D-Bus error", message), ("LastErrorMessage", last),
                                ("SetPassword error", set_error), ("log", log)):
                self.assertNotIn(fragment, text, f"{where} quotes the password file")
        # and the file was not rewritten from the part that could be read
        with open(self.password_path, "rb") as password_file:
            self.assertEqual(password_file.read(), damaged)

    def test_fifos_in_place_of_state_files_do_not_block(self):
        account_digest = hashlib.sha256(URI.encode()).hexdigest()[:16]
        fifos = [self.password_path,
                 os.path.join(self.state_dir, "epid"),
                 os.path.join(self.state_dir, "home-pool"),
                 os.path.join(self.state_dir, "cache", f"{account_digest}-contacts"),
                 os.path.join(self.state_dir, "tls-dsk", "bob@contoso.test.pem")]
        self.assertEqual(self.stop_process(self.daemon), 0)
        for path in fifos:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.mkfifo(path)
        self.start_daemon()
        # a password for this session only: the password file is not read for it
        self.call(ACCOUNT, "SetPassword", (PASSWORD, False), "(sb)")
        name, message = self.sign_in_error()
        self.assertIsNone(name, message)
        # the sign-in runs into the refused port and says so; sfbd answers all along
        self.wait_for_state("reconnecting", "signed-out")
        self.assertIn("127.0.0.1", self.get_property(ACCOUNT, "LastErrorMessage"))
        log = self.daemon_log()
        self.assertIn("epid is not a regular file", log)
        self.assertIn("passwords is not a regular file", log)
        self.assertIn("contacts is not a regular file", log)
        # the endpoint id was replaced by a file; the others are left alone (the
        # home pool is not read at all while Account.Server is set)
        self.assertTrue(stat.S_ISREG(os.stat(fifos[1]).st_mode))
        self.assertTrue(stat.S_ISFIFO(os.stat(fifos[2]).st_mode))


if __name__ == "__main__":
    unittest.main(verbosity=2)
