# SPDX-License-Identifier: LGPL-2.1-or-later
"""What alice's Exchange mailbox makes of her presence (docs/protocol.md §11.7): the real sfbd
against sfbsim with its Exchange (tests/sfbsim/scenarios/exchange.toml: alice in a meeting
that started 10 minutes ago, OOF off, 2 unread voicemails), inside build-aux/testnet.  Her
contacts' view is sfbsim's: the aggregate its aggregation computes and the categories a
same-enterprise watcher receives (as test_presence.py observes contacts); her own view is
sfbd's Presence interface, from the server's aggregateState in roaming-self."""

import asyncio
import os
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from sfbd_testcase import EXCHANGE, PRESENCE  # noqa: E402
from sim_testcase import DIRECTOR, PASSWORDS, SIM, SimTestCase  # noqa: E402

PASSWORD = PASSWORDS["alice"]
SCENARIO = os.path.join(sim_fixture.SOURCE_ROOT, "tests", "sfbsim", "scenarios", "exchange.toml")
OOF_TEXT = "Out until Monday & back <soon>"
OOF_HTML = "<p>Out until Monday &amp; back &lt;soon&gt;</p>"  # the reply is HTML
CALENDAR_DATA_CONTAINERS = {1, 100, 200, 300, 400, 32000}
USER_STATE = 0x20000000
NS_PUBLISH = "http://schemas.microsoft.com/2006/09/sip/rich-presence"
NS_STATE = "http://schemas.microsoft.com/2006/09/sip/state"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def publish_from_another_endpoint(availability):
    """Another endpoint of alice (her phone, say: sfbsim's own SIP client, NTLM, every
    message signed) sets a manual state as SfB clients do, a userState in containers 2 and
    3 (docs/protocol.md §11.4), and signs out: the state is static and stays."""
    from sim.client import SipTestClient  # tests/sfbsim, on sys.path in testnet

    state = (f'<state xmlns="{NS_STATE}" xmlns:xsi="{NS_XSI}" manual="true" '
             f'xsi:type="userState"><availability>{availability}</availability>'
             '<endpointLocation/></state>')
    body = (f'<publish xmlns="{NS_PUBLISH}"><publications uri="sip:alice@contoso.test">'
            + "".join(f'<publication categoryName="state" instance="{USER_STATE}" '
                      f'container="{c}" version="0" expireType="static">{state}</publication>'
                      for c in (2, 3))
            + "</publications></publish>")

    async def run():
        phone = SipTestClient({"uri": "sip:alice@contoso.test", "login": "CONTOSO\\alice",
                               "password": PASSWORD}, SIM["env"]["SFBSIM_CA_FILE"],
                              "contoso.test", user_agent="alice's phone")
        try:
            answer = await phone.sign_in((DIRECTOR, 5061, DIRECTOR))
            if answer.code != 200:
                raise AssertionError(f"the phone's REGISTER: {answer.code}")
            answer = await phone.request("SERVICE", body=body,
                                         content_type="application/msrtc-category-publish+xml")
            if answer.code != 200:
                raise AssertionError(f"the phone's publication: {answer.code} {answer.body}")
            await phone.sign_out()
        finally:
            await phone.close()

    asyncio.run(run())


def setUpModule():
    sim_fixture.start("exchange-presence", scenario=SCENARIO)


def tearDownModule():
    sim_fixture.stop()


class ExchangePresenceTestCase(SimTestCase):
    WAIT = 30

    def reset_sim(self):
        super().reset_sim()
        self.ctl.reset_exchange()

    def describe_state(self):
        return f"sfbsim has {self.seen()}, sfbd shows {self.own()}"

    def sign_in(self):
        """alice signed in (SimTestCase.sign_in), then her Exchange connected."""
        super().sign_in()
        self.wait_for_value(lambda: self.get_property(EXCHANGE, "State"),
                            lambda state: state in ("connected", "failed"), "Exchange connected")
        self.assertEqual(self.get_property(EXCHANGE, "State"), "connected",
                         self.get_property(EXCHANGE, "LastError"))

    def seen(self):
        """What alice's contacts see (sfbsim's aggregate and watcher view)."""
        p = self.ctl.presence(user="alice")
        return p["availability"], p["activity"], p["note"]

    def own(self):
        """What sfbd shows alice about herself."""
        return (self.get_property(PRESENCE, "Availability"),
                self.get_property(PRESENCE, "Activity"))

    def publications(self, name):
        return {(p["instance"], p["container"])
                for p in self.ctl.presence(user="alice")["publications"] if p["name"] == name}

    def refresh_until(self, predicate, what):
        """Refresh() (what a user does to see a change at once), then wait for it."""
        self.call(EXCHANGE, "Refresh")
        return self.wait_for(predicate, what)

    def in_meeting(self):
        self.wait_for(lambda: self.seen()[:2] == (6500, "in-a-meeting"),
                      "contacts see alice busy, in a meeting")
        self.wait_for(lambda: self.own() == ("busy", "in-a-meeting"),
                      "alice sees herself busy, in a meeting")

    # ---- the calendar ----

    def test_meeting_makes_alice_busy_and_its_end_available(self):
        self.sign_in()
        self.in_meeting()
        # calendarState in the aggregation containers, one instance for the mailbox
        states = {i for i, c in self.publications("state") if i & 0xf0000000 == 0x40000000}
        self.assertEqual(len(states), 1, self.publications("state"))
        self.assertEqual({c for i, c in self.publications("state") if i in states}, {2, 3})
        # working hours (instance 0) and free/busy in 1, 100-400 and the blocked container
        data = self.publications("calendarData")
        self.assertEqual({c for i, c in data if i == 0}, CALENDAR_DATA_CONTAINERS)
        free_busy = {i for i, c in data if i != 0}
        self.assertEqual(len(free_busy), 1, data)
        self.assertEqual({c for i, c in data if i in free_busy}, CALENDAR_DATA_CONTAINERS)
        self.assertIn("calendarData", {c["name"] for c in
                                       self.ctl.presence(user="alice")["categories"]})

        self.ctl.end_meeting(user="alice")
        self.refresh_until(lambda: self.seen()[:2] == (3500, None),
                           "contacts see alice available after the meeting")
        self.wait_for(lambda: self.own() == ("online", ""), "alice sees herself online")
        self.assertFalse({i for i, c in self.publications("state") if i in states})

    def test_new_address_replaces_the_calendar_instances(self):
        """alice's mailbox address changes while she is signed in (her contact card
        follows): sfbd discovers the new mailbox and its calendar instances replace the old
        ones, which hash the old address, instead of standing beside them."""
        self.sign_in()
        self.in_meeting()

        def calendar_instances():
            states = {i for i, c in self.publications("state") if i & 0xf0000000 == 0x40000000}
            free_busy = {i for i, c in self.publications("calendarData") if i != 0}
            return states, free_busy
        before = calendar_instances()
        self.assertEqual([len(x) for x in before], [1, 1])
        self.ctl.set_mailbox(user="alice", email="alice.smith@contoso.test", aliases=[])
        after = self.wait_for(lambda: (lambda now: now if now[0] and now[0].isdisjoint(before[0])
                                       else None)(calendar_instances()),
                              "the new mailbox's calendarState")
        self.wait_for(lambda: [len(x) for x in calendar_instances()] == [1, 1]
                      and calendar_instances()[1].isdisjoint(before[1]),
                      "only the new mailbox's instances")
        self.assertEqual(self.seen()[:2], (6500, "in-a-meeting"))
        self.assertTrue(after[0])

    def test_meeting_published_at_its_start_and_end(self):
        """No Refresh(), no EWS read: sfbd publishes when now crosses the meeting's start
        and end."""
        self.sign_in()
        self.in_meeting()
        self.ctl.remove_meeting(user="alice")
        self.refresh_until(lambda: self.seen()[:2] == (3500, None), "no meeting")
        self.ctl.add_meeting(user="alice", subject="Stand-up", start="3s", duration="5s")
        self.refresh_until(lambda: self.get_property(EXCHANGE, "NextMeeting").get("Subject")
                           == "Stand-up", "the next meeting read")
        self.assertEqual(self.seen()[:2], (3500, None))
        self.ctl.exchange_requests(reset=True)
        self.in_meeting()
        self.wait_for(lambda: self.seen()[:2] == (3500, None) and self.own() == ("online", ""),
                      "available after the stand-up")
        self.assertEqual(self.ctl.exchange_requests(kind="ews",
                                                    operation="GetUserAvailability"), [])

    def test_manual_do_not_disturb_during_a_meeting_stays(self):
        self.sign_in()
        self.in_meeting()
        self.call(PRESENCE, "SetAvailability", ("do-not-disturb",), "(s)")
        self.wait_for(lambda: self.seen()[:2] == (9500, None), "contacts see do-not-disturb")
        self.wait_for(lambda: self.own() == ("do-not-disturb", ""),
                      "alice sees herself do-not-disturb")
        # the calendar changing does not override the choice
        self.ctl.end_meeting(user="alice")
        self.ctl.add_meeting(user="alice", subject="Standup", start="-1m", duration="15m")
        before = len(self.ctl.exchange_requests(kind="ews", user="alice"))
        self.call(EXCHANGE, "Refresh")
        self.wait_for(lambda: len(self.ctl.exchange_requests(kind="ews", user="alice")) > before
                      and self.get_property(EXCHANGE, "CurrentMeeting").get("Subject")
                      == "Standup", "the new meeting read")
        self.wait_for(lambda: any(p["name"] == "state" and p["instance"] & 0xf0000000
                                  == 0x40000000 and p["version"] >= 2
                                  for p in self.ctl.presence(user="alice")["publications"]),
                      "the new meeting published")
        self.assertEqual(self.seen()[:2], (9500, None))
        self.assertEqual(self.own(), ("do-not-disturb", ""))
        # online by hand is the automatic state (a reset): the meeting shows again
        self.call(PRESENCE, "SetAvailability", ("online",), "(s)")
        self.in_meeting()

    def test_sign_in_keeps_a_state_another_endpoint_chose(self):
        """The user state is static and the user's: Do Not Disturb set on alice's phone
        stays when sfbd signs in, over the meeting, as the SfB client keeps it."""
        publish_from_another_endpoint(9500)
        self.assertEqual({c for i, c in self.publications("state") if i == USER_STATE}, {2, 3})
        self.sign_in()
        # sfbd's own publications are in (its machineState, the meeting's calendarState)
        self.wait_for(lambda: any(i & 0xf0000000 == 0x40000000
                                  for i, c in self.publications("state")),
                      "the meeting published")
        self.wait_for(lambda: self.own() == ("do-not-disturb", ""),
                      "alice sees herself do-not-disturb")
        self.assertEqual(self.seen()[:2], (9500, None))
        self.assertEqual({c for i, c in self.publications("state") if i == USER_STATE}, {2, 3})
        # online by hand is the reset: the meeting shows again
        self.call(PRESENCE, "SetAvailability", ("online",), "(s)")
        self.in_meeting()

    def test_out_of_office_note_shown_to_contacts_and_gone(self):
        self.sign_in()
        self.in_meeting()
        self.assertIsNone(self.seen()[2])
        self.ctl.set_oof(user="alice", state="Enabled", message=OOF_HTML)
        self.refresh_until(lambda: self.seen()[2] == OOF_TEXT, "contacts see the OOF note")
        self.wait_for(lambda: self.get_property(PRESENCE, "Note") == OOF_TEXT,
                      "alice sees the note contacts see")
        notes = self.publications("note")
        self.assertEqual({c for i, c in notes}, {200, 300, 400})
        self.assertNotIn(0, {i for i, c in notes})  # not the personal note
        # a personal note set meanwhile stays when OOF ends
        self.call(PRESENCE, "SetNote", ("Personal",), "(s)")
        self.wait_for(lambda: (0, 200) in self.publications("note"), "the personal note")
        self.wait_for(lambda: self.get_property(PRESENCE, "Note") == "Personal",
                      "the personal note before the OOF one")
        self.ctl.set_oof(user="alice", state="Disabled")
        self.refresh_until(lambda: self.publications("note") == {(0, 200), (0, 300), (0, 400)},
                           "the OOF note removed")
        self.assertEqual(self.seen()[2], "Personal")
        self.assertEqual(self.get_property(PRESENCE, "Note"), "Personal")

    # ---- voicemail over SIP ----

    def test_mwi_benotify_changes_the_count(self):
        self.sign_in()
        self.wait_for(lambda: self.get_property(EXCHANGE, "UnreadVoicemails") == 2,
                      "2 unread voicemails")
        ews = len(self.ctl.exchange_requests(kind="ews", user="alice"))
        # Exchange UM's NOTIFY, passed on as the mwi category in roaming-self: no EWS read
        self.assertEqual(self.ctl.add_voicemail(user="alice", **{"from": "Erin Evans"})
                         ["notified"], 1)
        self.wait_for(lambda: self.get_property(EXCHANGE, "UnreadVoicemails") == 3,
                      "3 unread voicemails")
        self.assertEqual(self.ctl.read_voicemails(user="alice")["unread"], 0)
        self.wait_for(lambda: self.get_property(EXCHANGE, "UnreadVoicemails") == 0,
                      "no unread voicemail")
        self.assertEqual(len(self.ctl.exchange_requests(kind="ews", user="alice")), ews)


if __name__ == "__main__":
    unittest.main()
