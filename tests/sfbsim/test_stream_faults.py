# SPDX-License-Identifier: LGPL-2.1-or-later
"""The control actions of sim/stream_faults.py, as the in-process SIP client sees them:
go_silent, send_partial and set_registrar_options."""

import asyncio

import pytest

from sim.sipmsg import NameAddr

pytestmark = pytest.mark.usefixtures("netns")


async def control(ctl, action_name, /, **params):
    """A control call from inside the Sim's loop (the loop itself serves the socket)."""
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: ctl.call(action_name, **params))


def test_go_silent_answers_nothing_and_closes_nothing(simrun, make_client, registrar, ctl):
    a, b = make_client("alice"), make_client("bob")

    async def flow():
        assert (await a.sign_in(registrar("pool1"))).code == 200
        assert (await b.sign_in(registrar("pool1"))).code == 200
        await a.keepalive()                               # a pong before
        assert await control(ctl, "go_silent", user="alice") == 1
        with pytest.raises(asyncio.TimeoutError):         # no pong
            await a.keepalive(timeout=1)
        with pytest.raises(asyncio.TimeoutError):         # no answer to a request
            await a.send_and_wait(a.sign(a.register_message()), timeout=1)
        assert not a.closed.is_set()                      # no FIN, no RST
        await b.keepalive()                               # bob's connection still answers
    simrun(flow())
    with pytest.raises(Exception, match="no user"):
        ctl.go_silent(user="nobody")


def test_send_partial_stalls_the_stream(simrun, make_client, registrar, ctl):
    c = make_client("alice")

    async def flow():
        assert (await c.sign_in(registrar("pool1"))).code == 200
        assert await control(ctl, "send_partial", user="alice", content_length=100000,
                             sent=10) == 1
        # the head announces 100,000 bytes (within the test client's limit) and 10
        # follow: the client's parser waits
        # inside the message, so even the answer to a REGISTER never surfaces
        with pytest.raises(asyncio.TimeoutError):
            await c.send_and_wait(c.sign(c.register_message()), timeout=1)
        assert not c.closed.is_set()
    simrun(flow())
    with pytest.raises(Exception, match="sent < content_length"):
        ctl.send_partial(user="alice", content_length=10, sent=10)


def test_registrar_options_drop_the_expires_header(simrun, make_client, registrar, ctl):
    c = make_client("alice")
    assert ctl.set_registrar_options(expires_header=False) == {"expires_header": False}

    async def flow():
        r = await c.sign_in(registrar("pool1"))
        assert r.code == 200 and r.get("Expires") is None
        ours = [NameAddr.parse(v) for v in r.get_all("Contact")
                if c.instance.lower() in v.lower()]
        assert ours and int(ours[0].params["expires"]) == 300
    try:
        simrun(flow())
    finally:
        ctl.set_registrar_options(expires_header=True)
