# SPDX-License-Identifier: LGPL-2.1-or-later
"""The control actions of sim/holds.py, as the in-process SIP client sees them:
hold_requests, held_requests and release_requests."""

import asyncio
import time

import pytest

pytestmark = pytest.mark.usefixtures("netns")


async def control(ctl, action_name, /, **params):
    """A control call from inside the Sim's loop (the loop itself serves the socket)."""
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: ctl.call(action_name, **params))


async def held(ctl, user, n=1, timeout=10):
    """held_requests(user) once it lists `n` requests (polled, with a deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        records = await control(ctl, "held_requests", user=user)
        if len(records) >= n:
            return records
        assert time.monotonic() < deadline, f"no held request of {user}: {records}"
        await asyncio.sleep(0.02)


def test_held_register_waits_for_release(simrun, make_client, registrar, ctl):
    a, b = make_client("alice"), make_client("bob")
    assert ctl.hold_requests(user="alice") == [
        {"user": "sip:alice@contoso.test", "method": "REGISTER", "registrar": None}]

    async def flow():
        signing_in = asyncio.ensure_future(a.sign_in(registrar("pool1")))
        records = await held(ctl, "alice")
        assert [(r["method"], r["cseq"], r["registrar"]) for r in records] == \
            [("REGISTER", "1 REGISTER", "pool1")]
        await a.keepalive()                                  # the connection still pongs
        # bob is not held; alice's first REGISTER is not even answered with a 401
        assert (await b.sign_in(registrar("pool1"))).code == 200
        await asyncio.sleep(0.3)
        assert not signing_in.done()
        assert await control(ctl, "endpoints", user="alice") == []
        assert await control(ctl, "release_requests", user="alice") == 1
        assert (await asyncio.wait_for(signing_in, 10)).code == 200
        assert await control(ctl, "held_requests") == []
    simrun(flow())
    assert ctl.counters()["held_requests"] == {"alice": 1}  # the hold ended at release
    assert [e["uri"] for e in ctl.endpoints(user="alice")] == ["sip:alice@contoso.test"]


def test_held_request_keeps_later_ones_in_order(simrun, make_client, registrar, ctl):
    c = make_client("alice")

    async def flow():
        assert (await c.sign_in(registrar("pool1"))).code == 200
        await control(ctl, "hold_requests", user="alice", method="service")
        first = asyncio.ensure_future(c.request("SERVICE"))
        await held(ctl, "alice")
        second = asyncio.ensure_future(c.request("OPTIONS"))
        await asyncio.sleep(0.3)
        assert not first.done() and not second.done()       # OPTIONS waits behind it
        assert await control(ctl, "release_requests", user="alice", method="SERVICE") == 1
        answers = await asyncio.wait_for(asyncio.gather(first, second), 10)
        assert all(r.code >= 200 for r in answers)
    simrun(flow())
    methods = [line.split()[-1] for line in open(ctl.path.replace("control.sock", "sip.log"),
                                                 encoding="utf-8")
               if line.startswith("CSeq: 1 ") and line.split()[-1] in ("SERVICE", "OPTIONS")]
    assert methods[-4:] == ["SERVICE", "SERVICE", "OPTIONS", "OPTIONS"]  # in, out, in, out


def test_held_request_goes_with_its_connection(simrun, make_client, registrar, ctl):
    c = make_client("alice")
    ctl.hold_requests(user="alice")

    async def flow():
        signing_in = asyncio.ensure_future(c.sign_in(registrar("pool1")))
        await held(ctl, "alice")
        assert await control(ctl, "drop_connections", user=None) >= 1
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(signing_in, 10)
        assert await control(ctl, "held_requests") == []
    simrun(flow())
    assert ctl.counters()["held_requests_dropped"] == {"*": 1}
    assert ctl.release_requests() == 0
    with pytest.raises(Exception, match="no user"):
        ctl.hold_requests(user="nobody")
    with pytest.raises(Exception, match="method"):
        ctl.hold_requests(user="alice", method="RE GISTER")


def test_hold_at_one_registrar(simrun, make_client, registrar, ctl):
    at_director, at_pool = make_client("alice"), make_client("alice")
    assert ctl.hold_requests(user="alice", registrar="director.contoso.test") == [
        {"user": "sip:alice@contoso.test", "method": "REGISTER", "registrar": "director"}]

    async def flow():
        await at_director.connect(*registrar("director"))
        first = asyncio.ensure_future(at_director.authenticate())
        assert [r["registrar"] for r in await held(ctl, "alice")] == ["director"]
        assert (await at_pool.sign_in(registrar("pool1"))).code == 200   # not held there
        assert not first.done()
        assert await control(ctl, "release_requests") == 1
        assert (await asyncio.wait_for(first, 10)).code == 301           # to the home pool
    simrun(flow())
    with pytest.raises(Exception, match="no registrar"):
        ctl.hold_requests(user="alice", registrar="nowhere")
