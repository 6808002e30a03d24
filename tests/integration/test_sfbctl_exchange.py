#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbctl exchange, the Exchange line of sfbctl status and sfbctl monitor.

The values a user reads are checked against the python3-dbusmock MOCK of
sfbd (sfbd_mock.py), where each one is chosen exactly: a meeting at a
fixed time, text with control characters that sfbctl must clean, the
failed state and its reason.  The real sfbd is checked for what it says
before sign-in (unavailable, and Refresh() refused with NotSignedIn).
"""

import re
import signal
import unittest

from gi.repository import Gio, GLib

import sfbd_mock
import sfbd_testcase
from sfbd_testcase import (BUS_NAME, ERROR_PREFIX, EXCHANGE, OBJECT_PATH,
                           TIMEOUT, SfbdTestCase)

EXIT_OK, EXIT_NOT_AVAILABLE = 0, 3

# sfbd_mock.EXCHANGE's meeting, in UTC and in Tokyo (UTC+9, no summer time)
MEETING_UTC = "2023-11-14 22:13–23:13 Weekly sync (Room 1)"
MEETING_TOKYO = "2023-11-15 07:13–08:13 Weekly sync (Room 1)"
NEXT = {"Subject": "Design review", "Location": "", "Start": sfbd_mock.MEETING_END + 3600000000,
        "End": sfbd_mock.MEETING_END + 7200000000}
NEXT_UTC = "2023-11-15 00:13–01:13 Design review"
FAILURE = ("Autodiscover failed: https://autodiscover.contoso.test/autodiscover/"
           "autodiscover.xml answered HTTP 401 (Unauthorized). Check the password.")


def exchange_property_names():
    return list(sfbd_testcase.xml_interfaces()[EXCHANGE]["properties"])


def fields(text):
    """{key: value} of sfbctl's "Key: value" lines."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([^:]+):\s+(.*)$", line)
        if match is None:
            raise AssertionError(f"not a Key: value line: {line!r} in\n{text}")
        found[match.group(1)] = match.group(2)
    return found


def meeting_variant(meeting):
    return GLib.Variant("a{sv}", {
        key: GLib.Variant("x" if key in ("Start", "End") else "s", value)
        for key, value in meeting.items()})


class MockTestCase(SfbdTestCase):
    """sfbctl against sfbd_mock.py, with local time UTC unless a test says otherwise."""

    START_DAEMON = False

    def setUp(self):
        super().setUp()
        self.env["TZ"] = "UTC"

    def mock_call(self, method, args=None, signature=None):
        parameters = GLib.Variant(signature, args) if signature is not None else None
        return self.bus.call_sync(BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Mock", method,
                                  parameters, None, Gio.DBusCallFlags.NO_AUTO_START,
                                  TIMEOUT * 1000, None).unpack()

    def update_exchange(self, **properties):
        """Changes Exchange properties of the mock, each with its PropertiesChanged
        (Properties.Set: dbusmock's UpdateProperties cannot carry an a{sv})."""
        for name, value in properties.items():
            self.bus.call_sync(BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Properties", "Set",
                               GLib.Variant("(ssv)", (EXCHANGE, name, value)), None,
                               Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)

    def exchange_text(self, *args, tz="UTC"):
        result = self.sfbctl("exchange", *args, env=self.sfbctl_env(TZ=tz))
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertEqual(result.stderr, "")
        return result.stdout

    def status_fields(self):
        result = self.sfbctl("status")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        return fields(result.stdout)


class ExchangeTextTest(MockTestCase):
    def test_every_property_in_words(self):
        self.start_mock()
        shown = fields(self.exchange_text())
        self.assertEqual(shown, {
            "State": "connected",
            "EWS URL": "https://mail.contoso.test/EWS/Exchange.asmx",
            "In a meeting": "yes",
            "Current meeting": MEETING_UTC,
            "Next meeting": "none",
            "Out of office": "no",
            "Out-of-office message": "(none)",
            "Unread voicemails": "2",
            "Missed conversations": "3",
            "Line URI": "tel:+14255550100;ext=100",
            "UM URL": "https://mail.contoso.test/UnifiedMessaging/Service.asmx",
        })
        # "show" is the default
        self.assertEqual(self.exchange_text("show"), self.exchange_text())

    def test_times_are_local(self):
        self.start_mock()
        self.assertEqual(fields(self.exchange_text(tz="Asia/Tokyo"))["Current meeting"],
                         MEETING_TOKYO)

    def test_no_meeting_now_and_one_next(self):
        self.start_mock(Exchange={"InMeeting": False, "CurrentMeeting": {}, "NextMeeting": NEXT,
                                  "OutOfOffice": True,
                                  "OutOfOfficeMessage": "Back on Monday."})
        shown = fields(self.exchange_text())
        self.assertEqual(shown["In a meeting"], "no")
        self.assertEqual(shown["Current meeting"], "none")
        self.assertEqual(shown["Next meeting"], NEXT_UTC)
        self.assertEqual(shown["Out of office"], "yes")
        self.assertEqual(shown["Out-of-office message"], "Back on Monday.")

    def test_server_text_is_cut_and_cleaned(self):
        self.start_mock()
        subject = "Budget\x1b[31m review\r\nInjected: line\x07" + "x" * 5000
        message = "Away\x1b]0;title\x07\nuntil\tMonday" + "y" * 5000
        self.update_exchange(
            CurrentMeeting=meeting_variant({"Subject": subject, "Location": "Room\n2",
                                            "Start": sfbd_mock.MEETING_START,
                                            "End": sfbd_mock.MEETING_END}),
            OutOfOfficeMessage=GLib.Variant("s", message),
            LineUri=GLib.Variant("s", "tel:+1\x1b[2J"))
        text = self.exchange_text()
        for control in ("\x1b", "\x07", "\r", "\t"):
            self.assertNotIn(control, text)
        shown = fields(text)  # every line is still a field: no line was injected
        self.assertEqual(len(shown), 11)
        meeting = shown["Current meeting"]
        self.assertTrue(meeting.startswith("2023-11-14 22:13–23:13 Budget [31m review  Injected: "
                                           "line x"), meeting)
        self.assertTrue(meeting.endswith("… (Room 2)"), meeting)
        self.assertLess(len(meeting), 150)
        self.assertTrue(shown["Out-of-office message"].startswith("Away ]0;title  until Monday"))
        self.assertLess(len(shown["Out-of-office message"]), 250)
        self.assertEqual(shown["Line URI"], "tel:+1 [2J")
        # scripts get the text exactly (JSON escapes it)
        status, data = self.sfbctl_json("exchange")
        self.assertEqual(status, EXIT_OK)
        self.assertEqual(data["CurrentMeeting"]["Subject"], subject)
        self.assertEqual(data["OutOfOfficeMessage"], message)

    def test_failed_state_says_why_and_what_to_do(self):
        self.start_mock(Exchange={"State": "failed", "LastError": FAILURE, "EwsUrl": "",
                                  "InMeeting": False, "CurrentMeeting": {},
                                  "UnreadVoicemails": 0, "MissedConversations": 0})
        shown = fields(self.exchange_text())
        self.assertEqual(shown["State"], "failed (sfbd tries again by itself; to try now: "
                                         "sfbctl exchange refresh)")
        self.assertEqual(shown["Last error"], FAILURE)
        self.assertEqual(shown["EWS URL"], "(none)")
        status, data = self.sfbctl_json("exchange")
        self.assertEqual(status, EXIT_OK)
        self.assertEqual(data["State"], "failed")
        self.assertEqual(data["LastError"], FAILURE)
        # status says it failed in one line; the reason is here
        self.assertEqual(self.status_fields()["Exchange"], "failed — see sfbctl exchange")

    def test_refresh_calls_sfbd(self):
        self.start_mock()
        result = self.sfbctl("exchange", "refresh")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertIn("sfbctl exchange", result.stdout)
        self.assertEqual(len(self.mock_call("GetMethodCalls", ("Refresh",), "(s)")[0]), 1)
        status, data = self.sfbctl_json("exchange", "refresh")
        self.assertEqual((status, data), (EXIT_OK, {}))


class ExchangeJsonTest(MockTestCase):
    def test_one_object_keyed_by_property_names(self):
        self.start_mock()
        status, data = self.sfbctl_json("exchange")
        self.assertEqual(status, EXIT_OK)
        self.assertEqual(list(data), exchange_property_names())
        self.assertEqual(data["State"], "connected")
        self.assertIs(data["InMeeting"], True)
        # meetings are objects, their times integers (µs since the epoch)
        self.assertEqual(data["CurrentMeeting"], {"Subject": "Weekly sync", "Location": "Room 1",
                                                  "Start": 1700000000000000,
                                                  "End": 1700003600000000})
        self.assertEqual(data["NextMeeting"], {})
        self.assertEqual(data["UnreadVoicemails"], 2)
        self.assertEqual(data["MissedConversations"], 3)
        self.assertEqual(data["LineUri"], "tel:+14255550100;ext=100")


class StatusLineTest(MockTestCase):
    def test_meeting_and_counts_in_one_line(self):
        self.start_mock()
        self.assertEqual(self.status_fields()["Exchange"],
                         f"Meeting now: {MEETING_UTC}; 2 unread voicemails, "
                         "3 missed conversations")

    def test_next_meeting_or_only_the_counts(self):
        self.start_mock(Exchange={"InMeeting": False, "CurrentMeeting": {}, "NextMeeting": NEXT,
                                  "UnreadVoicemails": 1, "MissedConversations": 1})
        self.assertEqual(self.status_fields()["Exchange"],
                         f"Next meeting: {NEXT_UTC}; 1 unread voicemail, 1 missed conversation")
        self.update_exchange(NextMeeting=GLib.Variant("a{sv}", {}))
        self.assertEqual(self.status_fields()["Exchange"],
                         "1 unread voicemail, 1 missed conversation")

    def test_nothing_while_discovering_or_signed_out(self):
        self.start_mock(Exchange={"State": "discovering"})
        self.assertNotIn("Exchange", self.status_fields())
        self.update_exchange(State=GLib.Variant("s", "connected"))
        self.assertIn("Exchange", self.status_fields())
        self.mock_call("UpdateProperties", (sfbd_testcase.ACCOUNT,
                                            {"State": GLib.Variant("s", "signed-out")}),
                       "(sa{sv})")
        self.assertNotIn("Exchange", self.status_fields())

    def test_failed_only_while_signed_in(self):
        self.start_mock(Exchange={"State": "failed", "LastError": FAILURE, "EwsUrl": ""})
        shown = self.status_fields()
        self.assertEqual(shown["Exchange"], "failed — see sfbctl exchange")
        self.assertNotIn("Autodiscover", shown["Exchange"])  # the reason is sfbctl exchange's
        self.update_exchange(State=GLib.Variant("s", "unavailable"))
        self.assertNotIn("Exchange", self.status_fields())
        self.update_exchange(State=GLib.Variant("s", "failed"))
        self.mock_call("UpdateProperties", (sfbd_testcase.ACCOUNT,
                                            {"State": GLib.Variant("s", "reconnecting")}),
                       "(sa{sv})")
        self.assertNotIn("Exchange", self.status_fields())

    def test_status_json_has_the_exchange_object(self):
        self.start_mock()
        status, data = self.sfbctl_json("status")
        self.assertEqual(status, EXIT_OK)
        self.assertEqual(list(data["Exchange"]), exchange_property_names())
        self.assertEqual(data["Exchange"]["UnreadVoicemails"], 2)


class MonitorTest(MockTestCase):
    def test_exchange_changes_in_words(self):
        self.start_mock()
        process, stdout, stderr = self.spawn_sfbctl("monitor")
        stderr.wait_for(lambda line: line.startswith("Monitoring sfbd"))
        self.update_exchange(UnreadVoicemails=GLib.Variant("u", 7))
        stdout.wait_for(lambda line: line.endswith(" Exchange.UnreadVoicemails: 7"))
        self.update_exchange(CurrentMeeting=meeting_variant(
            {"Subject": "Evil\x1b[31m\nsubject", "Location": "Room 1",
             "Start": sfbd_mock.MEETING_START, "End": sfbd_mock.MEETING_END}))
        line = stdout.wait_for(lambda text: " Exchange.CurrentMeeting: " in text)
        self.assertTrue(line.endswith(" Exchange.CurrentMeeting: 2023-11-14 22:13–23:13 "
                                      "Evil [31m subject (Room 1)"), line)
        self.update_exchange(CurrentMeeting=GLib.Variant("a{sv}", {}),
                             OutOfOfficeMessage=GLib.Variant("s", "a\x1bb"))
        stdout.wait_for_all(" Exchange.CurrentMeeting: none", " Exchange.OutOfOfficeMessage: a b")
        self.assertEqual(self.stop_process(process, signal.SIGINT), 0)


class RealSfbdTest(SfbdTestCase):
    """The real sfbd, not signed in: Exchange is unavailable."""

    def test_unavailable_before_sign_in(self):
        result = self.sfbctl("exchange")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        shown = fields(result.stdout)
        self.assertEqual(shown["State"],
                         "unavailable (not signed in; sign in with: sfbctl sign-in)")
        self.assertNotIn("Last error", shown)
        self.assertEqual(shown["Current meeting"], "none")
        self.assertEqual(shown["Next meeting"], "none")
        self.assertEqual(shown["Unread voicemails"], "0")

        status, data = self.sfbctl_json("exchange")
        self.assertEqual(status, EXIT_OK)
        self.assertEqual(data, {"State": "unavailable", "LastError": "", "EwsUrl": "",
                                "InMeeting": False, "CurrentMeeting": {}, "NextMeeting": {},
                                "OutOfOffice": False, "OutOfOfficeMessage": "",
                                "UnreadVoicemails": 0, "MissedConversations": 0,
                                "LineUri": "", "UmUrl": ""})
        self.assertNotIn("Exchange", fields(self.sfbctl("status").stdout))
        status, data = self.sfbctl_json("status")
        self.assertEqual(data["Exchange"]["State"], "unavailable")

    def test_refresh_needs_a_sign_in(self):
        self.assert_dbus_error(ERROR_PREFIX + "NotSignedIn", EXCHANGE, "Refresh")
        result = self.sfbctl("exchange", "refresh")
        self.assertEqual(result.returncode, EXIT_NOT_AVAILABLE)
        self.assertIn("sfbctl sign-in", result.stderr)
        status, data = self.sfbctl_json("exchange", "refresh")
        self.assertEqual(status, EXIT_NOT_AVAILABLE)
        self.assertEqual(data["Error"], ERROR_PREFIX + "NotSignedIn")


if __name__ == "__main__":
    unittest.main(verbosity=2)
