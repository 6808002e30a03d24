# SPDX-License-Identifier: LGPL-2.1-or-later
"""Holding a user's requests until the test releases them: a window that stays open as
long as the test needs, whatever the load (a delay only makes one likely).

  hold_requests(user, method="REGISTER", registrar=None)
        from now on every request `method` from the user (its From; a REGISTER of any
        kind, with or without credentials) to any registrar, or to `registrar` (a name
        or FQDN: "director", "pool1"), waits on arrival, before
        sfbsim reads it: no answer, nothing logged but a note, and the connection's later
        requests wait behind it (each connection's requests are handled in order).
        Responses and keep-alives still flow.  Returns the holds now:
        [{user, method, registrar}] (registrar null: any).
  held_requests(user=None)
        the requests waiting now, oldest first: [{t (Unix time), user, method, cseq,
        call_id, registrar, peer, cid}].  A test waits for this to be non-empty: the
        positive event that the client's request is there and unanswered.
  release_requests(user=None, method=None)
        ends the matching holds (every one by default) and hands their waiting requests
        on in the order they arrived; returns how many were waiting.

A held request's connection may still close (drop_connections, the client gives up): the
request is gone with it (counter `held_requests_dropped`).  Counter `held_requests` counts
every request held, per user.  The test reset releases everything.
"""

import asyncio
import time

from . import control
from .sipmsg import SipParseError, normalize_aor


class Held:
    """One waiting request."""

    def __init__(self, conn, msg, aor):
        self.conn, self.msg, self.aor = conn, msg, aor
        self.released = asyncio.get_running_loop().create_future()
        self.record = {"t": time.time(), "user": aor, "method": msg.method,
                       "cseq": msg.get("CSeq"), "call_id": msg.call_id,
                       "registrar": conn.registrar.name, "peer": conn.peer, "cid": conn.cid}


def _state(sim):
    if not hasattr(sim, "holds"):
        sim.holds = []   # (aor, method, registrar name or None)
        sim.held = []    # Held, in arrival order
    return sim


def hold(conn, msg):
    """Called for each message a connection is about to handle: True when `msg` is held
    (it is put back at the head of the connection's queue, and the connection is busy
    until release)."""
    sim = _state(conn.sim)
    if not sim.holds or not msg.is_request or getattr(msg, "hold_passed", False):
        return False
    try:
        aor = normalize_aor(msg.from_addr().uri or "")
    except SipParseError:
        return False
    if not any(a == aor and m == msg.method and r in (None, conn.registrar.name)
               for a, m, r in sim.holds):
        return False
    msg.hold_passed = True  # handled normally once released
    held = Held(conn, msg, aor)
    sim.held.append(held)
    sim.counters.bump("held_requests", sim.user(aor)["id"] if sim.user(aor) else aor)
    sim.log.note(f"{conn.local}: holding {msg.method} (CSeq {msg.cseq[0]}) from {aor} "
                 f"on the connection from {conn.peer} (control)")

    async def wait():
        await held.released

    task = asyncio.get_running_loop().create_task(wait())
    conn.tasks.add(task)
    conn.busy = task
    conn.queue.appendleft(msg)
    task.add_done_callback(lambda t: _done(held, t))
    task.add_done_callback(conn._request_done)
    return True


def _done(held, task):
    sim = held.conn.sim
    if held in sim.held:
        sim.held.remove(held)
    if task.cancelled():
        sim.counters.bump("held_requests_dropped")
        sim.log.note(f"{held.conn.local}: held {held.msg.method} from {held.aor} gone with "
                     "its connection")


def _aor(sim, user):
    from .core import _user_aor   # core's controls, imported late (core imports the registrar)
    return _user_aor(sim, user)


@control.action("hold_requests")
def _hold_requests(sim, user, method="REGISTER", registrar=None):
    from .core import _registrars
    aor = _aor(_state(sim), user)
    if not isinstance(method, str) or not method.isalpha():
        raise ValueError("method must be a SIP method name")
    name = _registrars(sim, registrar)[0].name if registrar is not None else None
    rule = (aor, method.upper(), name)
    if rule not in sim.holds:
        sim.holds.append(rule)
    return [{"user": a, "method": m, "registrar": r} for a, m, r in sim.holds]


@control.action("held_requests")
def _held_requests(sim, user=None):
    aor = _aor(_state(sim), user)
    return [h.record for h in sim.held if aor is None or h.aor == aor]


@control.action("release_requests")
def _release_requests(sim, user=None, method=None):
    aor = _aor(_state(sim), user)
    method = method.upper() if isinstance(method, str) else method
    sim.holds[:] = [(a, m, r) for a, m, r in sim.holds
                    if not ((aor is None or a == aor) and (method is None or m == method))]
    released = [h for h in sim.held if (aor is None or h.aor == aor)
                and (method is None or h.msg.method == method)]
    for h in released:
        sim.held.remove(h)
        sim.log.note(f"{h.conn.local}: releasing {h.msg.method} from {h.aor} (control)")
        if not h.released.done():
            h.released.set_result(None)
    return len(released)
