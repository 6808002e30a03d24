# SPDX-License-Identifier: LGPL-2.1-or-later
"""sim/aggregation.py: the calendar in the server's presence aggregation (a meeting makes
the user Busy / in a meeting, a manual state wins, the out-of-office activity) and removals
reaching watchers.  Same fakes as test_services.py."""

import time

from sim import documents as D
from sim import services as S

from test_services import (batch_subscribe, presence_parts, publish, state_xml,
                           user_state_pubs, run)

MACHINE = 906391356
MEETING = 0x40000000 | 0x1234567
OOF = 0x50000000 | 0x1234567


def calendar_xml(kind, subject="Planning"):
    if kind == "meeting":
        inner = ('<availability>6500</availability><activity token="in-a-meeting" '
                 'minAvailability="6500" maxAvailability="8999"></activity>')
    elif kind == "busy":
        inner = "<availability>6500</availability>"
    else:
        inner = '<activity token="out-of-office" minAvailability="12000"></activity>'
    return (f'<state xmlns="{D.NS_STATE}" xmlns:xsi="{D.NS_XSI}" manual="false" '
            f'uri="alice@contoso.test" startTime="{D.iso_time(time.time() - 600)}" '
            f'xsi:type="calendarState">{inner}<endpointLocation/>'
            f'<meetingSubject>{subject}</meetingSubject><meetingLocation/></state>')


def calendar_pubs(instance, kind, version, expires=None):
    content = None if expires == 0 else calendar_xml(kind)
    return [("state", instance, c, version, "endpoint", content, expires) for c in (2, 3)]


def machine_pubs(version=0):
    return [("state", MACHINE, c, version, "endpoint", state_xml(3500, "machineState"), None)
            for c in (2, 3)]


def aggregate(sim):
    p = S.presence(sim, "alice")
    return p["availability"], p["activity"]


def test_meeting_makes_busy_in_a_meeting_and_ends():
    async def body(sim):
        ep = sim.endpoint("alice")
        assert (await publish(sim, ep, machine_pubs())).code == 200
        assert aggregate(sim) == (3500, None)
        assert (await publish(sim, ep, calendar_pubs(MEETING, "meeting", 0))).code == 200
        assert aggregate(sim) == (6500, "in-a-meeting")
        # busy but not a meeting: Busy without an activity
        assert (await publish(sim, ep, calendar_pubs(MEETING, "busy", 1))).code == 200
        assert aggregate(sim) == (6500, None)
        # cleared with expires="0": back to the machine state
        assert (await publish(sim, ep, calendar_pubs(MEETING, "busy", 2, 0))).code == 200
        assert aggregate(sim) == (3500, None)
    run(body)


def test_manual_state_wins_over_the_calendar():
    async def body(sim):
        ep = sim.endpoint("alice")
        await publish(sim, ep, machine_pubs())
        await publish(sim, ep, calendar_pubs(MEETING, "meeting", 0))
        # do-not-disturb by hand during the meeting: stays, the meeting's activity does not
        # fit 9500
        assert (await publish(sim, ep, user_state_pubs(9500, 0))).code == 200
        assert aggregate(sim) == (9500, None)
        # available by hand is a reset status (what SIPE publishes at sign-in): the
        # calendar shows through
        assert (await publish(sim, ep, user_state_pubs(3500, 1))).code == 200
        assert aggregate(sim) == (6500, "in-a-meeting")
        # busy by hand: the meeting's activity describes it
        assert (await publish(sim, ep, user_state_pubs(6500, 2))).code == 200
        assert aggregate(sim) == (6500, "in-a-meeting")
        # the manual state removed: the calendar again
        removal = [("state", S.INSTANCE_USER_STATE, c, 3, "static", None, 0) for c in (2, 3)]
        assert (await publish(sim, ep, removal)).code == 200
        assert aggregate(sim) == (6500, "in-a-meeting")
    run(body)


def test_out_of_office_activity():
    async def body(sim):
        ep = sim.endpoint("alice")
        await publish(sim, ep, machine_pubs())
        assert (await publish(sim, ep, calendar_pubs(OOF, "oof", 0))).code == 200
        assert aggregate(sim) == (3500, "out-of-office")
        assert (await publish(sim, ep, calendar_pubs(OOF, "oof", 1, 0))).code == 200
        assert aggregate(sim) == (3500, None)
    run(body)


def test_watchers_see_a_meeting_and_a_removed_note():
    async def body(sim):
        alice, bob = sim.endpoint("alice"), sim.endpoint("bob")
        await batch_subscribe(sim, bob, ["sip:alice@contoso.test"])
        await publish(sim, alice, machine_pubs())
        bob.take()
        await publish(sim, alice, calendar_pubs(MEETING, "meeting", 0))
        cats = presence_parts(bob.take()[-1])[1]["sip:alice@contoso.test"]
        state = [c for c in D.parse_categories(cats)[1] if c.name == "state"][0]
        assert state.content[0].text == "6500"
        assert [e.get("token") for e in state.content if D.local_name(e.tag) == "activity"] \
            == ["in-a-meeting"]
        # an OOF note, then its removal: watchers get the removal form
        note = f'<note xmlns="{D.NS_NOTE}"><body type="OOF" uri="">Away</body></note>'
        pubs = [("note", 0x40000001, c, 0, "static", note, None) for c in (200, 300, 400)]
        assert (await publish(sim, alice, pubs)).code == 200
        bob.take()
        gone = [("note", 0x40000001, c, 1, "static", None, 0) for c in (200, 300, 400)]
        assert (await publish(sim, alice, gone)).code == 200
        cats = D.parse_categories(presence_parts(bob.take()[-1])[1]["sip:alice@contoso.test"])[1]
        # the removal form <category name="note" container="200"/>: no version, no content
        notes = [(c.name, c.container, c.version, c.content) for c in cats if c.name == "note"]
        assert notes == [("note", 200, 0, None)]
    run(body)
