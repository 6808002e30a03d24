#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile D-Bus input over the real bus: every string argument is bounded,
control and formatting characters are refused where they make no sense, and
errors quote at most a short sanitised prefix."""

import unittest

from gi.repository import GLib

from sfbd_testcase import (ACCOUNT, CONVERSATIONS, DEVICES, DIAL_PLAN, ERROR_PREFIX,
                           POLICIES, PRESENCE, SfbdTestCase)

INVALID = ERROR_PREFIX + "InvalidArgs"
SHORT = 400  # characters: an error message quotes at most a short prefix
BIDI_OVERRIDE = "\u202e"
LINE_SEPARATOR = "\u2028"


def string(value):
    return GLib.Variant("s", value)


class DBusLimitsTest(SfbdTestCase):
    def assert_refused(self, interface, method, args, signature, *expected):
        message = self.assert_dbus_error(INVALID, interface, method, args, signature)
        self.assertLess(len(message), SHORT, message[:SHORT])
        for text in expected:
            self.assertIn(text, message)
        for character in (BIDI_OVERRIDE, LINE_SEPARATOR, "\n", "\r", "\x1b"):
            self.assertNotIn(character, message)
        return message

    def test_configure_bounds_and_checks_values(self):
        self.configure({"Account.Uri": string("sip:bob@contoso.test")})
        before = self.config_bytes()
        huge_user = "a" * (2 * 1024 * 1024)
        self.assert_refused(ACCOUNT, "Configure",
                            ({"Account.Uri": string(f"sip:{huge_user}@contoso.test")},),
                            "(a{sv})", "Account.Uri", "too long")
        self.assert_refused(ACCOUNT, "Configure",
                            ({"Account.Uri": string(f"sip:evil{BIDI_OVERRIDE}gnp@contoso.test")},),
                            "(a{sv})", "Account.Uri", "U+202E")
        self.assert_refused(ACCOUNT, "Configure",
                            ({"Account.Login": string(f"bob{LINE_SEPARATOR}x")},),
                            "(a{sv})", "Account.Login", "U+2028")
        self.assert_refused(ACCOUNT, "Configure",
                            ({"Account.NoSuchKey" + "k" * 100000: string("x")},), "(a{sv})")
        self.assertEqual(self.config_bytes(), before)
        self.assertEqual(self.get_property(ACCOUNT, "Uri"), "sip:bob@contoso.test")

    def test_device_names_are_bounded_single_lines(self):
        self.assert_refused(DEVICES, "SelectDevice", ("audio-output", "d" * (1024 * 1024)),
                            "(ss)", "device name", "too long")
        self.assert_refused(DEVICES, "SelectDevice", ("audio-output", "sink\nFake: line"),
                            "(ss)", "device name", "U+000A")
        self.assert_refused(DEVICES, "SelectDevice", ("k" * 100000, "sink"), "(ss)",
                            "device kind")
        self.assertNotIn(b"sink", self.config_bytes() or b"")

    def test_presence_arguments_are_bounded(self):
        self.assert_refused(PRESENCE, "SetAvailability", ("busy" * 100000,), "(s)",
                            "availability", "too long")
        self.assert_refused(PRESENCE, "GetPresence",
                            ([f"sip:user{i}@contoso.test" for i in range(2000)],), "(as)",
                            "Too many URIs")
        self.assert_refused(PRESENCE, "GetPresence", (["sip:" + "u" * 100000],), "(as)",
                            "too long")

    def test_other_string_arguments_are_bounded(self):
        self.assert_refused(DIAL_PLAN, "Normalize", ("1" * (1024 * 1024),), "(s)", "number")
        self.assert_refused(POLICIES, "GetPolicy", (f"x{BIDI_OVERRIDE}y",), "(s)", "U+202E")

    def test_conversation_arguments_are_bounded(self):
        self.assert_refused(CONVERSATIONS, "SendMessage",
                            ("sip:bob@contoso.test", "m" * (1024 * 1024)), "(ss)", "message",
                            "too long")
        self.assert_refused(CONVERSATIONS, "SendMessage",
                            ("sip:bob@contoso.test", "a\x1b[2J"), "(ss)",
                            "message")
        self.assert_refused(CONVERSATIONS, "SendMessage", ("sip:" + "u" * 100000, "hi"), "(ss)",
                            "URI", "too long")
        self.assert_refused(CONVERSATIONS, "GetMessages", ("1" * 100000,), "(s)",
                            "conversation id")
        self.assert_refused(CONVERSATIONS, "SetTyping", ("1\n2", True), "(sb)",
                            "conversation id")
        self.assert_refused(CONVERSATIONS, "MarkRead", ("1" * 100000,), "(s)",
                            "conversation id", "too long")
        self.assert_refused(CONVERSATIONS, "Close", (f"1{BIDI_OVERRIDE}2",), "(s)",
                            "conversation id", "U+202E")

    def test_a_huge_password_is_refused_without_being_quoted(self):
        password = "p4ss-" + "w" * (1024 * 1024)
        message = self.assert_refused(ACCOUNT, "SetPassword", (password, False), "(sb)",
                                      "password")
        self.assertNotIn("p4ss", message)


class NoteTest(SfbdTestCase):
    """SetNote refuses what XML 1.0 cannot carry before anything is published:
    signed out, a valid note gets NotSignedIn, an invalid one InvalidArgs."""

    def set_note_error(self, note):
        message = self.assert_dbus_error(INVALID, PRESENCE, "SetNote", (note,), "(s)")
        self.assertLess(len(message), SHORT)
        return message

    def test_characters_xml_cannot_carry_are_refused(self):
        for note, code in (("Out\x01of office", "U+0001"), ("bell\x07", "U+0007"),
                           ("escape \x1b[31mred", "U+001B"), ("non-character \ufffe", "U+FFFE"),
                           ("non-character \uffff", "U+FFFF"), ("C1 \x85 next line", "U+0085")):
            with self.subTest(code=code):
                message = self.set_note_error(note)
                self.assertIn("note", message)
                self.assertIn(code, message)

    def test_a_long_note_is_refused(self):
        self.assertIn("too long", self.set_note_error("n" * 3000))

    def test_newlines_tabs_and_right_to_left_marks_are_text(self):
        for note in ("Lunch\nback at 2", "a\tb", "\u200fשלום\u200f", "🍕 " * 100):
            with self.subTest(note=note):
                self.assert_dbus_error(ERROR_PREFIX + "NotSignedIn", PRESENCE, "SetNote",
                                       (note,), "(s)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
