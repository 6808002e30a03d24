#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd.conf as sfbd reads it: a file it cannot read whole is never rewritten,
reading is bounded and linear, and values are checked when read."""

import os
import stat
import unittest

from gi.repository import GLib

from sfbd_testcase import ACCOUNT, ERROR_PREFIX, SfbdTestCase


def string(value):
    return GLib.Variant("s", value)


class ConfigFileTest(SfbdTestCase):
    START_DAEMON = False

    def write_config_bytes(self, data):
        with open(self.config_path, "wb") as config_file:
            config_file.write(data)

    def assert_configure_refused_and_file_kept(self, *expected):
        before = self.config_bytes()
        message = self.assert_dbus_error(ERROR_PREFIX + "NotConfigured", ACCOUNT, "Configure",
                                         ({"Account.Auth": string("ntlm")},), "(a{sv})")
        for text in expected:
            self.assertIn(text, message)
        self.assertEqual(self.config_bytes(), before)
        return message

    def test_a_nul_byte_refuses_configure_and_keeps_the_file(self):
        self.write_config_bytes(b"[Account]\nUri=sip:bob@contoso.test\n"
                                b"Server=pool.contoso.test\x00junk\n"
                                b"[Devices]\nAudioOutput=my-sink\n")
        self.start_daemon()
        self.assert_configure_refused_and_file_kept(f"{self.config_path}:3:", "NUL")
        last = self.get_property(ACCOUNT, "LastErrorMessage")
        self.assertIn(f"{self.config_path}:3:", last)
        self.assertEqual(self.get_property(ACCOUNT, "LastError"), ERROR_PREFIX + "NotConfigured")

    def test_a_file_over_the_size_limit_is_not_read_nor_rewritten(self):
        # the [Account] group is at the end, past the limit
        self.write_config_bytes(b"# padding\n" * 110000 + b"[Account]\nUri=sip:bob@contoso.test\n")
        self.start_daemon()
        self.assert_configure_refused_and_file_kept(self.config_path, "1024 KiB")
        self.assertEqual(self.get_property(ACCOUNT, "Uri"), "")

    def test_a_fifo_in_place_of_the_file_does_not_hang(self):
        os.mkfifo(self.config_path)
        self.start_daemon()
        message = self.assert_dbus_error(ERROR_PREFIX + "NotConfigured", ACCOUNT, "Configure",
                                         ({"Account.Auth": string("ntlm")},), "(a{sv})")
        self.assertIn("not a regular file", message)
        self.assertTrue(stat.S_ISFIFO(os.stat(self.config_path).st_mode))

    def test_many_unknown_keys_are_read_at_once_and_logged_once(self):
        # about 0.7 MB: reading was quadratic in keys x size (minutes here)
        keys = 40000
        lines = [f"Key{i}=value {i}" for i in range(keys)]
        self.write_config_bytes(("[Future]\n" + "\n".join(lines)
                                 + "\n[Account]\nUri=sip:bob@contoso.test\n").encode())
        self.start_daemon()
        self.assertEqual(self.get_property(ACCOUNT, "Uri"), "sip:bob@contoso.test")
        log = self.daemon_log()
        summaries = [line for line in log.splitlines() if "unknown setting" in line]
        self.assertEqual(len(summaries), 1, summaries[:3])
        self.assertIn(f"{keys} unknown setting(s)", summaries[0])
        self.assertIn("Future.Key0 (line 2)", summaries[0])
        # unknown keys are kept by Configure
        self.configure({"Account.Auth": string("ntlm")})
        self.assertIn(b"Key39999=value 39999", self.config_bytes())

    def test_invalid_utf8_in_a_value_is_a_config_error_naming_file_line_and_key(self):
        self.write_config_bytes(b"[Account]\nUri=sip:bob@contoso.test\n"
                                b"Server=127.0.0.1:9\nLogin=CONTOSO\\\\b\xffob\n")
        self.start_daemon()
        message = self.assert_dbus_error(ERROR_PREFIX + "NotConfigured", ACCOUNT, "SignIn")
        self.assertIn(f"{self.config_path}:4:", message)
        self.assertIn("Account.Login", message)
        self.assertIn("UTF-8", message)

    def test_control_and_bidi_characters_in_a_value_are_config_errors(self):
        self.write_config_bytes("[Account]\nUri=sip:bob@contoso.test\n"
                                "Login=evil\u202egnp\n".encode())
        self.start_daemon()
        message = self.assert_dbus_error(ERROR_PREFIX + "NotConfigured", ACCOUNT, "SignIn")
        self.assertIn(f"{self.config_path}:3:", message)
        self.assertIn("U+202E", message)
        self.assertNotIn("\u202e", message)


if __name__ == "__main__":
    unittest.main(verbosity=2)
