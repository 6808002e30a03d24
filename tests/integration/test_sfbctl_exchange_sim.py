#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbctl exchange end to end: the real sfbd signed in as alice to sfbsim with
tests/sfbsim/scenarios/exchange.toml (a meeting on since 10 minutes, "1:1 with Dave"
next, 2 unread voicemails, 3 missed conversations), inside build-aux/testnet.  What
test_exchange.py checks on D-Bus, this checks where a user reads it: `sfbctl --json
exchange`, `sfbctl exchange`, the Exchange line of `sfbctl status`, and `sfbctl exchange
refresh` bringing in a new voicemail."""

import datetime
import os
import re
import time
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

import sfbd_testcase  # noqa: E402
from sfbd_testcase import EXCHANGE  # noqa: E402
from sim_testcase import SimTestCase  # noqa: E402

SCENARIO = os.path.join(sim_fixture.SOURCE_ROOT, "tests", "sfbsim", "scenarios", "exchange.toml")


def setUpModule():
    sim_fixture.start("sfbctl-exchange", scenario=SCENARIO)


def tearDownModule():
    sim_fixture.stop()


def fields(text):
    return dict(re.match(r"^([^:]+):\s+(.*)$", line).groups() for line in text.splitlines())


def clock(when, day):
    """sfbctl's words for a time: the clock, with the date when not on `day` (UTC here)."""
    return when.strftime("%H:%M" if when.date() == day else "%Y-%m-%d %H:%M")


def meeting_words(meeting, today):
    start = datetime.datetime.fromtimestamp(meeting["Start"] / 1e6, datetime.timezone.utc)
    end = datetime.datetime.fromtimestamp(meeting["End"] / 1e6, datetime.timezone.utc)
    location = f" ({meeting['Location']})" if meeting["Location"] else ""
    return f"{clock(start, today)}–{clock(end, start.date())} {meeting['Subject']}{location}"


class SfbctlExchangeTest(SimTestCase):
    WAIT = 30

    def reset_sim(self):
        super().reset_sim()
        self.ctl.reset_exchange()

    def run_sfbctl(self, *args):
        """sfbctl with local time UTC: exit status and stdout."""
        result = self.sfbctl(*args, env=self.sfbctl_env(TZ="UTC"))
        self.assertEqual(result.stderr, "")
        return result.returncode, result.stdout

    def exchange_json(self):
        status, data = self.sfbctl_json("exchange")
        self.assertEqual(status, 0, data)
        return data

    def wait_for_json(self, predicate, what):
        """`sfbctl --json exchange` until predicate(data) holds, with a deadline."""
        return self.wait_for_value(self.exchange_json, predicate,
                                   f"sfbctl --json exchange showing {what}", interval=0.1)

    def sign_in(self):
        """alice configured (SimTestCase.configure_user), signed in with sfbctl."""
        self.configure_user()
        result = self.sfbctl("sign-in", "--wait")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_alices_mailbox_in_sfbctl(self):
        self.sign_in()
        data = self.wait_for_json(lambda d: d["State"] in ("connected", "failed")
                                  and d["UnreadVoicemails"] == 2, "the mailbox read")
        self.assertEqual(data["State"], "connected", data["LastError"])
        self.assertEqual(list(data), list(sfbd_testcase.xml_interfaces()[EXCHANGE]["properties"]))
        self.assertEqual(data["LastError"], "")
        self.assertTrue(data["EwsUrl"].startswith("https://mail.contoso.test/"), data["EwsUrl"])
        self.assertIs(data["InMeeting"], True)
        current = data["CurrentMeeting"]
        self.assertEqual(sorted(current), ["End", "Location", "Start", "Subject"])
        self.assertEqual((current["Subject"], current["Location"]), ("Project review", "Room 1"))
        self.assertIsInstance(current["Start"], int)
        now = int(time.time() * 1e6)
        self.assertLess(current["Start"], now)
        self.assertGreater(current["End"], now)
        self.assertEqual(current["End"] - current["Start"], 60 * 60 * 10**6)
        self.assertEqual(data["NextMeeting"]["Subject"], "1:1 with Dave")
        self.assertIs(data["OutOfOffice"], False)
        self.assertEqual(data["UnreadVoicemails"], 2)
        self.assertEqual(data["MissedConversations"], 3)

        # the same in words: local time (UTC here), the date only when not today
        before = datetime.datetime.now(datetime.timezone.utc).date()
        status, text = self.run_sfbctl("exchange")
        _, status_text = self.run_sfbctl("status")
        after = datetime.datetime.now(datetime.timezone.utc).date()
        self.assertEqual(status, 0)
        shown = fields(text)
        current_words = {meeting_words(current, day) for day in (before, after)}
        next_words = {meeting_words(data["NextMeeting"], day) for day in (before, after)}
        self.assertEqual(shown["State"], "connected")
        self.assertNotIn("Last error", shown)
        self.assertEqual(shown["In a meeting"], "yes")
        self.assertIn(shown["Current meeting"], current_words)
        self.assertIn(shown["Next meeting"], next_words)
        self.assertIn("1:1 with Dave (Dave's office)", shown["Next meeting"])
        self.assertEqual(shown["Out of office"], "no")
        self.assertEqual(shown["Unread voicemails"], "2")
        self.assertEqual(shown["Missed conversations"], "3")
        self.assertEqual(shown["EWS URL"], data["EwsUrl"])
        self.assertIn(fields(status_text)["Exchange"],
                      {f"Meeting now: {words}; 2 unread voicemails, 3 missed conversations"
                       for words in current_words})

    def test_refresh_brings_a_new_voicemail(self):
        self.sign_in()
        self.wait_for_json(lambda d: d["State"] == "connected" and d["UnreadVoicemails"] == 2,
                           "2 unread voicemails")
        self.ctl.add_voicemail(user="alice", **{"from": "Erin Evans", "duration": 9})
        status, text = self.run_sfbctl("exchange", "refresh")
        self.assertEqual(status, 0)
        self.assertIn("sfbctl exchange", text)
        self.wait_for_json(lambda d: d["UnreadVoicemails"] == 3, "3 unread voicemails")
        status, text = self.run_sfbctl("exchange")
        self.assertEqual(fields(text)["Unread voicemails"], "3")


if __name__ == "__main__":
    unittest.main(verbosity=2)
