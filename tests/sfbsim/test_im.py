# SPDX-License-Identifier: LGPL-2.1-or-later
"""Instant messages through sfbsim (sim/im.py): routing between signed-in clients like a front
end (forking, first 200 wins, CANCEL, 480), in-dialog routing through Record-Route, the echo
user and sfbsim's own endpoints, all as the clients see it on the wire."""

import asyncio
import base64
import secrets

from sim.endpoint import make_response
from sim.sipmsg import NameAddr, SipMessage

SDP = (b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       b"m=message 5060 sip null\r\na=accept-types:text/plain\r\n")


def _hex(n=8):
    return secrets.token_hex(n)


class Dlg:
    """The client side of one dialog, enough to send in-dialog requests."""

    def __init__(self, c, call_id, local_tag, remote_tag, remote_uri, target, routes):
        self.c, self.call_id, self.local_tag, self.remote_tag = c, call_id, local_tag, remote_tag
        self.remote_uri, self.target, self.routes = remote_uri, target, routes
        self.cseq = 1

    def request(self, method, body=b"", ctype=None, cseq=None):
        if cseq is None:
            self.cseq += 1
        m = SipMessage.request(method, self.target)
        m.add("Via", f"SIP/2.0/TLS {self.c.local};branch=z9hG4bK{_hex()}")
        m.add("Max-Forwards", "70")
        m.add("From", f"<{self.c.uri}>;tag={self.local_tag};epid={self.c.epid}")
        m.add("To", f"<{self.remote_uri}>;tag={self.remote_tag}")
        m.add("Call-ID", self.call_id)
        m.add("CSeq", f"{cseq or self.cseq} {method}")
        for r in self.routes:
            m.add("Route", r)
        m.add("Contact", f"<{self.c.gruu}>")
        if ctype:
            m.add("Content-Type", ctype)
        m.body = body
        self.c.sign(m)
        return m

    async def send(self, method, body=b"", ctype=None):
        return await self.c.send_and_wait(self.request(method, body, ctype))

    def ack(self):
        self.c.write(self.request("ACK", cseq=1).serialize())


def invite(c, to, text=None, body=SDP):
    m = SipMessage.request("INVITE", to)
    m.add("Via", f"SIP/2.0/TLS {c.local};branch=z9hG4bK{_hex()}")
    m.add("Max-Forwards", "70")
    m.add("From", f"<{c.uri}>;tag={_hex(5)};epid={c.epid}")
    m.add("To", f"<{to}>")
    m.add("Call-ID", _hex(16))
    m.add("CSeq", "1 INVITE")
    m.add("Contact", f"<{c.gruu}>")
    m.add("Supported", "ms-text-format")
    if text is not None:
        m.add("ms-text-format", "text/plain; charset=UTF-8; ms-body="
              + base64.b64encode(text.encode()).decode())
    m.add("Content-Type", "application/sdp")
    m.body = body
    c.sign(m)
    return m


def respond(c, req, code, headers=(), body=b"", ctype=None, tag=None):
    resp = make_response(req, code, None, headers, body, ctype)
    if tag:
        resp.set("To", f"{req.get('To')};tag={tag}")
    c.sign(resp)
    c.write(resp.serialize())
    return resp


def answer_200(c, req, tag):
    hdrs = [("Record-Route", v) for v in req.get_all("Record-Route")]
    hdrs.append(("Contact", f"<{c.gruu}>"))
    return respond(c, req, 200, hdrs, SDP, "application/sdp", tag=tag)


def caller_dialog(c, inv, resp):
    to = resp.to_addr()
    return Dlg(c, inv.call_id, inv.from_addr().tag, to.tag, to.uri,
               NameAddr.parse(resp.get("Contact")).uri,
               list(reversed(resp.get_list("Record-Route"))))


def callee_dialog(c, req, tag):
    frm = req.from_addr()
    return Dlg(c, req.call_id, tag, frm.tag, frm.uri, NameAddr.parse(req.get("Contact")).uri,
               req.get_list("Record-Route"))


async def next_method(c, method, timeout=10):
    """The next request of `method` the client receives (others are answered 200, ACK
    dropped)."""
    async def wait():
        while True:
            m = await c.next_request()
            if m.method == method:
                return m
            if m.method != "ACK":
                respond(c, m, 200)
    return await asyncio.wait_for(wait(), timeout)


async def sign_in(make_client, registrar, uid, where):
    c = make_client(uid)
    r = await c.sign_in(registrar(where))
    assert r.code == 200, r.serialize()
    assert c.gruu
    return c


def test_invite_message_bye_routed_between_two_clients(simrun, make_client, registrar, ctl):
    async def flow():
        alice = await sign_in(make_client, registrar, "alice", "pool1")
        bob = await sign_in(make_client, registrar, "bob", "pool2")
        inv = invite(alice, "sip:bob@contoso.test", "Hello")
        call = asyncio.ensure_future(alice.send_and_wait(inv))
        got = await next_method(bob, "INVITE")
        # delivered as sent, through the proxy: R-URI kept, bodies and first message
        # untouched, the caller's signature consumed, bob's own leg signed for him
        assert got.uri == "sip:bob@contoso.test"
        assert got.body == SDP
        assert got.get("ms-text-format") == inv.get("ms-text-format")
        assert not got.has("Authorization") and got.has("Authentication-Info")
        assert bob.bad_signatures == 0
        rr = got.get_list("Record-Route")
        assert len(rr) == 2 and "pool2.contoso.test" in rr[0] and "pool1.contoso.test" in rr[1]
        assert got.to_addr().params.get("epid") == bob.epid
        assert len(got.get_all("Via")) == 2
        tag = _hex(5)
        answer_200(bob, got, tag)
        ok = await call
        assert ok.code == 200 and ok.body == SDP
        assert NameAddr.parse(ok.get("Contact")).uri == bob.gruu
        assert ok.to_addr().tag == tag and alice.bad_signatures == 0
        assert len(ok.get_all("Via")) == 1  # the proxy's own Via is gone
        a = caller_dialog(alice, inv, ok)
        assert "pool1.contoso.test" in a.routes[0]
        a.ack()
        ack = await next_method(bob, "ACK")
        assert ack.call_id == inv.call_id and ack.uri == bob.gruu
        # MESSAGE alice -> bob in the dialog, to bob's GRUU
        send = asyncio.ensure_future(a.send("MESSAGE", b"hi bob", "text/plain; charset=UTF-8"))
        msg = await next_method(bob, "MESSAGE")
        assert msg.body == b"hi bob" and msg.uri == bob.gruu and msg.to_addr().tag == tag
        respond(bob, msg, 200)
        assert (await send).code == 200
        # and back: bob -> alice through the route set he learned
        b = callee_dialog(bob, got, tag)
        send = asyncio.ensure_future(b.send("MESSAGE", b"hi alice", "text/plain"))
        msg = await next_method(alice, "MESSAGE")
        assert msg.body == b"hi alice" and msg.uri == alice.gruu
        assert msg.from_addr().uri == "sip:bob@contoso.test"
        respond(alice, msg, 200)
        assert (await send).code == 200
        # a typing INFO answered 481 by alice reaches bob as 481
        send = asyncio.ensure_future(b.send("INFO", b"<KeyboardActivity/>", "application/xml"))
        info = await next_method(alice, "INFO")
        respond(alice, info, 481)
        assert (await send).code == 481
        send = asyncio.ensure_future(b.send("BYE"))
        bye = await next_method(alice, "BYE")
        respond(alice, bye, 200)
        assert (await send).code == 200
        assert alice.bad_signatures == 0 and bob.bad_signatures == 0
    simrun(flow())
    tx = ctl.im_transactions(method="INVITE")
    assert [(t["from"], t["to"], t["final"]) for t in tx] == [
        ("sip:alice@contoso.test", "sip:bob@contoso.test", 200)]


def test_offline_user_gets_480_and_unknown_user_404(simrun, make_client, registrar):
    async def flow():
        bob = await sign_in(make_client, registrar, "bob", "pool2")
        r = await bob.send_and_wait(invite(bob, "sip:alice@contoso.test", "anyone?"))
        assert r.code == 480 and r.reason == "Temporarily Unavailable"
        diag = r.get("ms-diagnostics")
        assert diag and 'source="pool2.contoso.test"' in diag and "reason=" in diag
        r = await bob.request("MESSAGE", "sip:alice@contoso.test", body=b"x",
                              content_type="text/plain")
        assert r.code == 480
        r = await bob.send_and_wait(invite(bob, "sip:nobody@contoso.test"))
        assert r.code == 404
        # once alice signs in, the same INVITE reaches her
        alice = await sign_in(make_client, registrar, "alice", "pool1")
        call = asyncio.ensure_future(bob.send_and_wait(invite(bob, "sip:alice@contoso.test")))
        got = await next_method(alice, "INVITE")
        respond(alice, got, 486, tag=_hex(5))
        assert (await call).code == 486
        ack = await next_method(alice, "ACK")  # the proxy ACKs the 486 hop by hop
        assert ack.call_id == got.call_id
        # alice writing to herself reaches none of her own endpoints but the sender's others
        r = await alice.send_and_wait(invite(alice, "sip:alice@contoso.test"), timeout=5)
        assert r.code == 480 and alice.incoming.empty()
    simrun(flow())


def test_echo_user_answers_first_and_later_messages(simrun, make_client, registrar, ctl):
    assert ctl.presence(user="sip:echo@contoso.test")["availability"] == 3500

    async def flow():
        bob = await sign_in(make_client, registrar, "bob", "pool2")
        inv = invite(bob, "sip:echo@contoso.test", "ping")
        ok = await bob.send_and_wait(inv)
        assert ok.code == 200 and bob.bad_signatures == 0
        assert "ms-text-format" in [s.strip() for s in ok.get_list("Supported")]
        assert b"m=message 5060 sip sip:echo@contoso.test" in ok.body
        d = caller_dialog(bob, inv, ok)
        d.ack()
        # typing first, then the answer to the embedded first message
        typing = await bob.next_request()
        assert typing.method == "INFO" and b'status="type"' in typing.body
        respond(bob, typing, 200)
        echo = await next_method(bob, "MESSAGE")
        assert echo.body == b"echo: ping" and echo.uri == bob.gruu
        assert echo.call_id == inv.call_id
        respond(bob, echo, 200)
        r = await d.send("MESSAGE", b"<SPAN>two &amp; more</SPAN>", "text/html; charset=UTF-8")
        assert r.code == 200
        echo = await next_method(bob, "MESSAGE")
        assert echo.body == b"echo: two & more"
        respond(bob, echo, 200)
        assert (await d.send("BYE")).code == 200
        assert bob.bad_signatures == 0
    simrun(flow())
    texts = [(m["direction"], m["text"]) for m in ctl.endpoint_messages(user="echo")
             if m["kind"] == "message"]
    assert texts == [("in", "ping"), ("out", "echo: ping"), ("in", "two & more"),
                     ("out", "echo: two & more")]


def test_fork_first_200_wins_and_the_other_branches_are_cancelled(simrun, make_client, registrar,
                                                                  ctl):
    ctl.add_endpoint(user="alice", epid="a1ce0000b2", answer="ring")

    async def flow():
        a1 = await sign_in(make_client, registrar, "alice", "pool1")
        a2 = await sign_in(make_client, registrar, "alice", "pool1")
        bob = await sign_in(make_client, registrar, "bob", "pool2")
        inv = invite(bob, "sip:alice@contoso.test", "who is there?")
        call = asyncio.ensure_future(bob.send_and_wait(inv))
        g1 = await next_method(a1, "INVITE")
        g2 = await next_method(a2, "INVITE")
        assert g1.call_id == g2.call_id == inv.call_id
        assert g1.to_addr().params["epid"] == a1.epid and g2.to_addr().params["epid"] == a2.epid
        assert g1.get("Via") != g2.get("Via")  # one branch each
        respond(a1, g1, 180, tag="t1")
        answer_200(a2, g2, "t2")
        ok = await call
        assert ok.code == 200 and ok.to_addr().tag == "t2"
        assert NameAddr.parse(ok.get("Contact")).uri == a2.gruu
        # the losing branch is cancelled (same Via as its INVITE); it answers 200 + 487
        cancel = await next_method(a1, "CANCEL")
        assert cancel.get("Via") == g1.get("Via") and cancel.cseq == (1, "CANCEL")
        assert "Call completed elsewhere" in (cancel.get("Reason") or "")
        respond(a1, cancel, 200)
        respond(a1, g1, 487, tag="t1")
        ack = await next_method(a1, "ACK")
        assert ack.to_addr().tag == "t1"
        d = caller_dialog(bob, inv, ok)
        d.ack()
        await next_method(a2, "ACK")
        # the dialog goes to the winner only
        send = asyncio.ensure_future(d.send("MESSAGE", b"only a2", "text/plain"))
        m = await next_method(a2, "MESSAGE")
        respond(a2, m, 200)
        assert (await send).code == 200
        assert a1.incoming.empty()
    simrun(flow())
    [tx] = ctl.im_transactions(method="INVITE")
    assert tx["final"] == 200 and len(tx["branches"]) == 3
    by_final = sorted((b["final"] or 0, b["cancelled"]) for b in tx["branches"])
    assert by_final == [(200, False), (487, True), (487, True)]


def test_cancel_from_the_caller_reaches_every_branch(simrun, make_client, registrar, ctl):
    ctl.add_endpoint(user="alice", answer="ring")

    async def flow():
        a1 = await sign_in(make_client, registrar, "alice", "pool1")
        bob = await sign_in(make_client, registrar, "bob", "pool2")
        inv = invite(bob, "sip:alice@contoso.test")
        call = asyncio.ensure_future(bob.send_and_wait(inv))
        g1 = await next_method(a1, "INVITE")
        respond(a1, g1, 180, tag="t1")
        cancel = SipMessage.request("CANCEL", inv.uri)
        for h in ("Via", "Max-Forwards", "From", "To", "Call-ID"):
            cancel.add(h, inv.get(h))
        cancel.add("CSeq", "1 CANCEL")
        bob.sign(cancel)
        assert (await bob.send_and_wait(cancel)).code == 200
        c1 = await next_method(a1, "CANCEL")
        respond(a1, c1, 200)
        respond(a1, g1, 487, tag="t1")
        r = await call
        assert r.code == 487 and bob.bad_signatures == 0
        # a CANCEL matching nothing
        cancel.set("Via", f"SIP/2.0/TLS {bob.local};branch=z9hG4bKnothing")
        bob.sign(cancel)
        assert (await bob.send_and_wait(cancel)).code == 481
    simrun(flow())
    [tx] = ctl.im_transactions(method="INVITE")
    assert tx["cancelled"] and tx["final"] == 487
    assert all(b["cancelled"] and b["final"] == 487 for b in tx["branches"])


def test_sfbsim_endpoint_accepts_declines_and_sends(simrun, make_client, registrar, ctl):
    ep = ctl.add_endpoint(user="alice", answer="decline", code=603)

    async def flow():
        run = asyncio.get_running_loop().run_in_executor
        bob = await sign_in(make_client, registrar, "bob", "pool2")
        r = await bob.send_and_wait(invite(bob, "sip:alice@contoso.test", "hi"))
        assert r.code == 603
        await run(None, lambda: ctl.endpoint_answer(user="alice", answer="accept"))
        inv = invite(bob, "sip:alice@contoso.test", "hi again")
        ok = await bob.send_and_wait(inv)
        assert ok.code == 200 and NameAddr.parse(ok.get("Contact")).uri == ep["gruu"]
        assert b"m=message 5060 sip sip:alice@contoso.test" in ok.body
        d = caller_dialog(bob, inv, ok)
        d.ack()
        assert (await d.send("MESSAGE", b"second", "text/plain")).code == 200
        # the endpoint answers in the same dialog
        send = run(None, lambda: ctl.endpoint_send(user="alice", to="sip:bob@contoso.test",
                                                   text="hello bob"))
        m = await next_method(bob, "MESSAGE")
        assert m.body == b"hello bob" and m.call_id == inv.call_id and m.uri == bob.gruu
        respond(bob, m, 200)
        assert (await send)["code"] == 200
        # and ends it
        bye = run(None, lambda: ctl.endpoint_bye(user="alice"))
        b = await next_method(bob, "BYE")
        assert b.call_id == inv.call_id
        respond(bob, b, 200)
        assert await bye == 1
    simrun(flow())
    got = [(m["direction"], m["kind"], m["text"]) for m in ctl.endpoint_messages(user="alice")]
    assert got == [("in", "message", "hi again"), ("in", "message", "second"),
                   ("out", "message", "hello bob")]


def test_sfbsim_endpoint_starts_a_session_and_meets_480(simrun, make_client, registrar, ctl):
    ctl.add_endpoint(user="alice")
    r = ctl.endpoint_send(user="alice", to="sip:bob@contoso.test", text="anyone?")
    assert r["code"] == 480 and "reason=" in r["ms_diagnostics"]

    async def flow():
        run = asyncio.get_running_loop().run_in_executor
        bob = await sign_in(make_client, registrar, "bob", "pool2")
        send = run(None, lambda: ctl.endpoint_send(user="alice", to="sip:bob@contoso.test",
                                                   text="now?"))
        inv = await next_method(bob, "INVITE")
        assert base64.b64decode(inv.get("ms-text-format").split("ms-body=")[1]) == b"now?"
        assert inv.from_addr().uri == "sip:alice@contoso.test"
        answer_200(bob, inv, "tb")  # no Supported: ms-text-format -> resent as MESSAGE
        await next_method(bob, "ACK")
        m = await next_method(bob, "MESSAGE")
        assert m.body == b"now?"
        respond(bob, m, 200)
        assert (await send)["code"] == 200
    simrun(flow())


def test_scenario_im_endpoints_and_no_echo(simthread, simrun, make_client, registrar, ctl):
    def configure():
        simthread.sim.scenario.data["im"] = {
            "echo": "", "endpoints": {"alice": [{"epid": "a1ce0000c3", "answer": "decline",
                                                 "code": 486}]}}
    simthread.call(configure)
    ctl.reset_im()
    assert ctl.endpoint_messages(user="alice") == []

    async def flow():
        bob = await sign_in(make_client, registrar, "bob", "pool2")
        r = await bob.send_and_wait(invite(bob, "sip:alice@contoso.test", "busy?"))
        assert r.code == 486
        r = await bob.send_and_wait(invite(bob, "sip:echo@contoso.test", "ping"))
        assert r.code == 404
    simrun(flow())
    [tx] = ctl.im_transactions(method="INVITE")
    assert tx["branches"] == [{"target": "sip:alice@contoso.test;epid=a1ce0000c3 (sfbsim)",
                               "final": 486, "cancelled": False}]


def test_second_200_is_hung_up_and_a_dropped_branch_counts_as_480(simrun, make_client,
                                                                   registrar, ctl):
    async def flow():
        a1 = await sign_in(make_client, registrar, "alice", "pool1")
        a2 = await sign_in(make_client, registrar, "alice", "pool1")
        bob = await sign_in(make_client, registrar, "bob", "pool2")
        inv = invite(bob, "sip:alice@contoso.test")
        call = asyncio.ensure_future(bob.send_and_wait(inv))
        g1 = await next_method(a1, "INVITE")
        g2 = await next_method(a2, "INVITE")
        answer_200(a1, g1, "t1")
        assert (await call).to_addr().tag == "t1"
        # a2 answered too late: the proxy ACKs and ends its dialog itself, bob sees nothing
        answer_200(a2, g2, "t2")
        ack = await next_method(a2, "ACK")
        bye = await next_method(a2, "BYE")
        assert ack.to_addr().tag == bye.to_addr().tag == "t2"
        assert bye.call_id == inv.call_id and bye.uri == a2.gruu
        respond(a2, bye, 200)
        # a callee whose connection drops while it rings: its branch is a 480
        inv = invite(bob, "sip:alice@contoso.test")
        call = asyncio.ensure_future(bob.send_and_wait(inv))
        g1 = await next_method(a1, "INVITE")
        g2 = await next_method(a2, "INVITE")
        respond(a1, g1, 180, tag="r1")
        await a1.close()
        respond(a2, g2, 486, tag="r2")
        r = await call
        assert r.code == 486  # the best of 486 and the dropped branch's 480
        assert bob.bad_signatures == 0 and a2.bad_signatures == 0
    simrun(flow())
    txs = ctl.im_transactions(method="INVITE")
    assert [sorted(b["final"] for b in t["branches"]) for t in txs] == [[200, 200], [480, 486]]
