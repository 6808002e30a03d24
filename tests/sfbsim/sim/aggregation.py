# SPDX-License-Identifier: LGPL-2.1-or-later
"""The server's presence aggregation: what aggregateState a presentity's own state
publications (containers 2 and 3) give, as a front end's aggregation script computes it
([MS-PRES] 3.8.5.1.2; sim/README.md, "Presence aggregation"):

- a user state (xsi:type userState: what the user chose by hand) wins: the most recent one
  gives the availability, unless it is Available (3000-4499): that is what a client
  publishes when the user resets the status (Lync SDK, aggregation containers; SIPE at
  sign-in), so it is one more input below and the calendar shows through;
- otherwise the highest availability among the calendar, phone and other endpoint states
  and the most active machine state (a meeting's calendarState 6500 makes an online user
  Busy; an idle machine does not hide it); a calendarState counts once its startTime is
  reached (a client may publish the next meeting ahead);
- the activity: the winning user state's own, else among every state's activities those
  whose minAvailability..maxAvailability range holds the aggregate availability, the one
  with the highest minAvailability (the most recent on a tie): "in-a-meeting" (6500..8999)
  shows with Busy, not with a manual Do Not Disturb.  An activity of a state that has no
  availability of its own (the calendar's out-of-office) describes the user whatever the
  availability and is kept (sfbsim choice: real clients show "Out of Office" beside any
  availability).
"""

import datetime
import time

from . import documents as D

OFFLINE = 18500
#: the Available range of availability numbers (MS-PRES; 3500 is Available)
AVAILABLE_MIN, AVAILABLE_MAX = 3000, 4500
#: an activity without maxAvailability has no upper bound
NO_MAX = 1 << 32


def _child(element, name):
    return next((e for e in element if D.local_name(e.tag) == name), None)


def _uint(value, default):
    value = (value or "").strip()
    return int(value) if value.isdigit() else default


def started(start_time):
    """A calendarState's startTime (xs:dateTime, UTC) has been reached (none: yes)."""
    if not start_time:
        return True
    try:
        t = datetime.datetime.fromisoformat(start_time.strip().replace("Z", "+00:00"))
    except ValueError:
        return True
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() <= time.time()


def read_state(pub):
    """(type, availability or None, activity or None) of one state publication; activity is
    (token, min, max)."""
    content = pub.content
    stype = content.get(f"{{{D.NS_XSI}}}type") or content.get("type")
    avail_el = _child(content, "availability")
    avail = None
    if avail_el is not None and (avail_el.text or "").strip().isdigit():
        avail = int(avail_el.text.strip())
    act_el = _child(content, "activity")
    activity = None
    if act_el is not None and act_el.get("token"):
        activity = (act_el.get("token"), _uint(act_el.get("minAvailability"), 0),
                    _uint(act_el.get("maxAvailability"), NO_MAX))
    return stype, avail, activity


def aggregate(pubs):
    """(availability, activity token) of the state publications `pubs` (Pub objects with
    name, container, content, seq); OFFLINE, None when none gives an availability."""
    users, machines, others = [], [], []
    for pub in pubs:
        if pub.name != "state" or pub.container not in (2, 3) or pub.content is None:
            continue
        stype, avail, activity = read_state(pub)
        if stype in ("aggregateState", "aggregateMachineState"):
            continue
        entry = (pub.seq, avail, activity)
        if stype == "userState":
            if avail is not None:
                users.append(entry)
        elif stype == "machineState":
            if avail is not None:
                machines.append(entry)
        elif stype != "calendarState" or started(pub.content.get("startTime")):
            others.append(entry)  # calendarState, phoneState, conferencing, ...
    user = max(users, key=lambda e: e[0]) if users else None
    if user is not None and not AVAILABLE_MIN <= user[1] < AVAILABLE_MAX:
        _, avail, activity = user
        if activity is not None:
            return avail, activity[0]
    else:
        candidates = [a for _, a, _ in others if a is not None]
        if machines:
            candidates.append(min(a for _, a, _ in machines))
        if user is not None:
            candidates.append(user[1])
            others = others + [user]
        if not candidates:
            return OFFLINE, None
        avail = max(candidates)
    return avail, _activity(avail, machines + others)


def _activity(avail, entries):
    best = None
    for seq, own_avail, activity in entries:
        if activity is None:
            continue
        token, low, high = activity
        if own_avail is not None and not low <= avail <= high:
            continue
        key = (low, seq)
        if best is None or key > best[0]:
            best = (key, token)
    return best[1] if best else None
