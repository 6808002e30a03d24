# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sign-in flows against the registrars, with the in-process test client (sim/client.py)."""

import asyncio
import ssl
import time
import types

import pytest

from sim.identity import gruu, instance_from_epid
from sim.sipmsg import NameAddr, SipMessage, parse_auth

pytestmark = pytest.mark.usefixtures("netns")


def test_full_signin_through_director(simrun, make_client, registrar, ctl, sim):
    c = make_client("alice")

    async def flow():
        r = await c.sign_in(registrar("director"))
        assert r.code == 200, r.serialize()
        assert c.round_trips == 6           # 3 at the Director (-> 301), 3 at pool1
        assert c.bad_signatures == 0
        assert c.server[2] == "pool1.contoso.test"
        # what SIPE needs in the 200 (docs/protocol.md §10.1, §17)
        assert r.get("Expires") == "300"
        assert r.get("ms-keep-alive") == "UAS; tcp=no; hop-hop=yes; end-host=no; timeout=300"
        assert r.get_all("Supported") == ["adhoclist", "msrtc-event-categories",
                                         "ms-keepalive-deregister",
                                         "ms-userservices-state-notification"]
        assert " " not in r.get("Allow-Events") and "presence" in r.get("Allow-Events").split(",")
        assert r.get("Server") == "RTC/6.0.0.0"
        inst = instance_from_epid(c.epid)
        # alice's own Contact comes after the scenario's other endpoints of hers
        contact = NameAddr.parse(r.get_all("Contact")[-1])
        assert contact.params["+sip.instance"] == f"<urn:uuid:{inst}>"  # lower case
        assert contact.uri.startswith("sip:127.0.0.1:")
        assert c.gruu == gruu("sip:alice@contoso.test", inst)
        auth = parse_auth(r.get("Authentication-Info"))[1]
        assert auth["targetname"] == "pool1.contoso.test" and auth["snum"] == "1"
        assert auth["realm"] == "SIP Communications Service" and auth["version"] == "4"
        await c.keepalive()
        r = await c.reregister()
        assert r.code == 200 and "presence-state" not in dict(r.headers)
        assert c.bad_signatures == 0
        assert len(sim.endpoints_for("sip:alice@contoso.test")) == 1
        r = await c.sign_out()
        assert r.code == 200
        assert sim.endpoints_for("sip:alice@contoso.test") == []
    simrun(flow())
    counters = ctl.counters()
    assert counters["signin_round_trips"] == {"alice": [6]}
    assert counters["registers"] == {"alice": 8}
    assert counters["keepalives"] == {"*": 1}
    assert "signature_failures" not in counters and "auth_failures" not in counters


def test_redirect_is_signed_and_points_home(simrun, make_client, registrar):
    c = make_client("bob")

    async def flow():
        await c.connect(*registrar("director"))
        r = await c.authenticate()
        assert r.code == 301 and r.reason == "Redirect request to Home Server"
        assert r.get("Contact") == "<sip:pool2.contoso.test:5061;transport=tls>"
        assert r.get("Expires") == "2592000"
        assert r.has("Authentication-Info") and c.bad_signatures == 0
        await c.close()
        # a pool that is not the user's home redirects too
        c2 = make_client("alice")
        await c2.connect(*registrar("pool2"))
        r = await c2.authenticate()
        assert r.code == 301 and r.get("Contact") == "<sip:pool1.contoso.test:5061;transport=tls>"
    simrun(flow())


def test_direct_home_pool_and_edge(simrun, make_client, registrar, ctl):
    async def flow():
        b = make_client("bob")
        r = await b.sign_in(registrar("pool2"))
        assert r.code == 200 and b.round_trips == 3 and not r.has("ms-user-logon-data")
        a = make_client("alice")
        r = await a.sign_in(registrar("edge"))
        assert r.code == 200 and r.get("ms-user-logon-data") == "RemoteUser"
        assert a.server[1] == 443
    simrun(flow())
    eps = ctl.endpoints()
    assert sorted(e["registrar"] for e in eps) == ["edge", "pool2"]


def test_challenge_offers_configured_schemes(simrun, make_client, registrar, sim):
    c = make_client()
    sim.registrars["pool1"].desc.auth = ["TLS-DSK", "Kerberos", "NTLM"]
    try:
        async def flow():
            await c.connect(*registrar("pool1"))
            r = await c.register_once()
            return r
        r = simrun(flow())
    finally:
        sim.registrars["pool1"].desc.auth = ["NTLM"]
    assert r.code == 401 and not r.has("Authentication-Info")
    ch = [parse_auth(v) for v in r.get_all("WWW-Authenticate")]
    assert [s for s, _ in ch] == ["TLS-DSK", "Kerberos", "NTLM"]
    for scheme, p in ch:
        assert p["realm"] == "SIP Communications Service" and p["version"] == "4"
    assert ch[1][1]["targetname"] == "sip/pool1.contoso.test"
    assert ch[0][1]["sts-uri"] == "https://pool1.contoso.test:443/CertProv/CertProvisioningService.svc"
    assert ch[2][1]["targetname"] == "pool1.contoso.test"
    assert r.has("Date")


def test_wrong_password_gets_401_once(simrun, make_client, registrar, ctl):
    c = make_client()

    async def flow():
        await c.connect(*registrar("pool1"))
        return await c.authenticate(password="wrong")
    r = simrun(flow())
    assert r.code == 401 and "gssapi-data" not in r.get("WWW-Authenticate")
    assert c.round_trips == 3
    counters = ctl.counters()
    assert counters["auth_failures"] == {"alice": 1}
    assert "signin_round_trips" not in counters


def test_unknown_user_404_and_identity_mismatch_403(simrun, make_client, registrar):
    async def flow():
        c = make_client("alice")
        c.uri = "sip:nobody@contoso.test"          # alice's login, unknown address
        await c.connect(*registrar("pool1"))
        r = await c.authenticate()
        assert r.code == 404 and "4005" in r.get("ms-diagnostics") and c.bad_signatures == 0
        c2 = make_client("alice")
        c2.uri = "sip:bob@contoso.test"             # alice's login, bob's address
        await c2.connect(*registrar("pool2"))
        r = await c2.authenticate()
        assert r.code == 403 and r.has("Authentication-Info")
    simrun(flow())


def test_disabled_user_403(simrun, make_client, registrar, ctl):
    ctl.set_user_enabled(user="alice", enabled=False)
    c = make_client()

    async def flow():
        await c.connect(*registrar("pool1"))
        return await c.authenticate()
    r = simrun(flow())
    assert r.code == 403 and '4141;reason="User disabled"' in r.get("ms-diagnostics")
    assert r.has("Authentication-Info") and c.bad_signatures == 0


def test_503_with_retry_after(simrun, make_client, registrar, ctl):
    ctl.set_503(registrar="pool1", retry_after=17, count=1)
    c = make_client()

    async def flow():
        await c.connect(*registrar("pool1"))
        r = await c.register_once()
        assert r.code == 503 and r.get("Retry-After") == "17"
        assert r.get("ms-diagnostics").startswith("1008;") and "pool1.contoso.test" in r.get("ms-diagnostics")
        r = await c.authenticate()                 # count=1: served normally again
        assert r.code == 200
    simrun(flow())
    ctl.set_503(registrar="pool1")
    ctl.clear_503(registrar="pool1")


def test_instance_must_derive_from_epid(simrun, make_client, registrar):
    c = make_client(instance="11111111-2222-5333-8444-555555555555")

    async def flow():
        await c.connect(*registrar("pool1"))
        return await c.authenticate()
    r = simrun(flow())
    assert r.code == 400 and "+sip.instance" in r.get("ms-diagnostics")


def test_bad_signature_is_dropped(simrun, make_client, registrar, ctl):
    c = make_client()

    async def flow():
        assert (await c.sign_in(registrar("pool1"))).code == 200
        m = c.register_message()
        c.sign(m)
        auth = m.get("Authorization").replace('cnum="', 'cnum="9')  # breaks the buffer
        m.set("Authorization", auth)
        with pytest.raises(asyncio.TimeoutError):
            await c.send_and_wait(m, timeout=0.5)
        # an unsigned request with a live SA is challenged, not dropped
        m = SipMessage.request("OPTIONS", c.uri)
        for n, v in (("Via", f"SIP/2.0/TLS {c.local};branch=z9hG4bKx"), ("From", f"<{c.uri}>;tag=1"),
                     ("To", f"<{c.uri}>"), ("Call-ID", "unsigned1"), ("CSeq", "1 OPTIONS")):
            m.add(n, v)
        r = await c.send_and_wait(m)
        assert r.code == 401
        # the connection is still usable with a good signature
        assert (await c.reregister()).code == 200
    simrun(flow())
    assert ctl.counters()["signature_failures"] == {"alice": 1}


def test_bad_signature_on_final_leg_dropped(simrun, make_client, registrar, ctl):
    c = make_client()
    orig = c.sign

    def bad_sign(msg, extra=()):
        orig(msg, extra)
        v = msg.get("Authorization")
        msg.set("Authorization", v.replace('response="01', 'response="02'))
        return msg
    c.sign = bad_sign

    async def flow():
        await c.connect(*registrar("pool1"))
        with pytest.raises(asyncio.TimeoutError):
            c.timeout = 0.7
            await c.authenticate()
    simrun(flow())
    assert ctl.counters()["signature_failures"] == {"alice": 1}


def test_expired_sa_forces_reauthentication(simrun, make_client, registrar, ctl, sim):
    c = make_client()

    async def flow():
        assert (await c.sign_in(registrar("pool1"))).code == 200
        gruu_before = c.gruu
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: ctl.expire_sa(user="alice"))
        r = await c.reregister()
        assert r.code == 401                       # SA gone: full re-authentication
        r = await c.authenticate()                 # same connection, fresh SA
        assert r.code == 200 and c.gruu == gruu_before
        assert len(sim.endpoints_for(c.uri)) == 1
    simrun(flow())


def test_registration_expires(simrun, make_client, registrar, ctl, sim):
    ctl.set_timers(expires=1)
    c = make_client()

    async def flow():
        r = await c.sign_in(registrar("pool1"))
        assert r.get("Expires") == "1"
        assert len(sim.endpoints()) == 1
        await asyncio.sleep(1.7)
        assert sim.endpoints() == []
    simrun(flow())


def test_two_endpoints_listed_in_200(simrun, make_client, registrar, sim):
    async def flow():
        a1, a2 = make_client(), make_client()
        await a1.sign_in(registrar("pool1"))
        r = await a2.sign_in(registrar("pool1"))
        contacts = [NameAddr.parse(v) for v in r.get_all("Contact")]
        # both live ones after the scenario's other endpoints of alice, in registration order
        assert len(contacts) == 2 + len(sim.scenario.endpoints("alice"))
        assert [c.params["gruu"] for c in contacts[-2:]] == [a1.gruu, a2.gruu]
        assert a2.gruu != a1.gruu and a2.gruu is not None
    simrun(flow())


def test_hostile_input_closes_connection(simrun, registrar, sim):
    async def send_raw(data):
        ctx = ssl.create_default_context(cafile=sim.certs.ca_file)
        addr, port, host = registrar("pool1")
        reader, writer = await asyncio.open_connection(addr, port, ssl=ctx, server_hostname=host)
        writer.write(data)
        try:
            got = await asyncio.wait_for(reader.read(65536), 3)
        finally:
            writer.close()
        return got

    async def flow():
        huge = b"REGISTER sip:x SIP/2.0\r\nX: " + b"a" * 70000 + b"\r\n\r\n"
        assert await send_raw(huge) == b""
        assert await send_raw(b"GARBAGE\r\n\r\n") == b""
        assert await send_raw(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n") == b""
        # ping -> pong even before authentication
        assert await send_raw(b"\r\n\r\n") == b"\r\n"
    simrun(flow())


def test_services_dispatch(simrun, make_client, registrar, sim):
    """The services.py hook: responses signed, None -> 405/501, exceptions -> 500, and the
    Endpoint API (send_request / send_benotify) reaching the client."""
    seen = {}

    async def handle_request(ep, msg):
        seen[msg.method] = ep
        if msg.method == "SERVICE":
            return ep.make_response(msg, 200, body=b"<ok/>", content_type="application/xml")
        if msg.method == "INFO":
            raise RuntimeError("boom")
        if msg.method == "SUBSCRIBE":
            ep.send_response(ep.make_response(msg, 200, headers=[("Expires", "60")]))
            ep.subscriptions["presence"] = True
            resp = await ep.send_request("NOTIFY", [("Event", "presence"),
                                                    ("subscription-state", "active")],
                                         b"hello", "text/plain")
            seen["notify_answer"] = resp.code
            await ep.send_benotify([("Event", "presence")], b"be", "text/plain")
            return None
        return None
    fake = types.SimpleNamespace(handle_request=handle_request)
    saved, sim.services = sim.services, fake
    try:
        async def flow():
            c = make_client()
            await c.sign_in(registrar("pool1"))
            r = await c.request("SERVICE", body=b"x", content_type="application/xml")
            assert r.code == 200 and r.body == b"<ok/>" and r.has("Authentication-Info")
            # (to a URI sim/im.py does not route: nobody's endpoint)
            assert (await c.request("INFO", "sip:nobody@contoso.test")).code == 500
            assert (await c.request("MESSAGE", "sip:nobody@contoso.test")).code == 405
            assert (await c.request("FROBNICATE")).code == 501
            r = await c.request("SUBSCRIBE", headers=[("Event", "presence")])
            assert r.code == 200 and r.get("Expires") == "60"
            n = await c.next_request()
            assert n.method == "NOTIFY" and n.body == b"hello"
            assert n.get("To") == f"<{c.uri}>;epid={c.epid}"
            b = await c.next_request()
            assert b.method == "BENOTIFY" and b.body == b"be"
            await asyncio.sleep(0.1)
            assert seen["notify_answer"] == 200
            assert c.bad_signatures == 0
            ep = seen["SERVICE"]
            assert ep.user["id"] == "alice" and ep.gruu == c.gruu and ep.epid == c.epid
            assert ep.registrar.name == "pool1" and ep.connected
            assert sim.endpoints_for("sip:ALICE@contoso.test") == [ep]
            return ep
        simrun(flow())
    finally:
        sim.services = saved


def test_deregister_notify(simrun, make_client, registrar, ctl, sim):
    c = make_client()

    async def flow():
        await c.sign_in(registrar("pool1"))
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(None, lambda: ctl.deregister(user="alice", event="rejected"))
        n = await c.next_request()
        res = await fut
        assert res["notified"] == 1 and res["answers"] == [200]
        assert n.method == "NOTIFY" and n.get("Event") == "registration-notify"
        assert n.body == b"deregistered;event=rejected"
        assert n.get("Content-Type") == "text/registration-event"
        assert n.get("subscription-state") == "terminated;expires=0"
        assert "4141" in n.get("ms-diagnostics-public")
        assert n.get("Call-ID") == c.call_id
        assert sim.endpoints() == []
        # BENOTIFY form, preferred-registrar-change
        await c.authenticate()
        fut = loop.run_in_executor(None, lambda: ctl.deregister(
            user="alice", event="preferred-registrar-change", method="BENOTIFY", registrar="pool2"))
        n = await c.next_request()
        await fut
        assert n.method == "BENOTIFY" and n.body.endswith(b"event=preferred-registrar-change")
        assert n.get("P-Preferred-Registrar") == "<sip:pool2.contoso.test:5061;transport=tls>"
        assert c.bad_signatures == 0
    simrun(flow())


def test_keepalive_rtt_follows_delay(simrun, make_client, registrar, ctl):
    c = make_client()

    async def rtt():
        t = time.monotonic()
        await c.keepalive()
        return time.monotonic() - t

    async def connect():
        await c.sign_in(registrar("pool1"))
    simrun(connect())
    # relative, with a generous margin: only the added delay is asserted, never an upper
    # bound a loaded machine could miss
    base = min(simrun(rtt()) for _ in range(3))
    ctl.set_delay(ms=150)
    delayed = min(simrun(rtt()) for _ in range(3))
    assert delayed >= 0.15 and delayed - base >= 0.12
    ctl.set_delay(ms=0)


def test_requests_on_one_connection_are_handled_in_order(simrun, make_client, registrar, sim):
    """A SUBSCRIBE Expires: 0 and the REGISTER Expires: 0 right behind it (one write, as a
    client signing out sends them): the unsubscribe is answered 200 first, never 481
    because the de-REGISTER overtook it."""
    c = make_client("alice")

    async def flow():
        assert (await c.sign_in(registrar("pool1"))).code == 200
        event = "vnd-microsoft-roaming-contacts"
        r = await c.request("SUBSCRIBE", headers=[("Event", event), ("Expires", "7200"),
                                                  ("Accept", "application/vnd-microsoft-"
                                                   "roaming-contacts+xml")])
        assert r.code == 200 and len(sim.endpoints_for(c.uri)[0].subscriptions) == 1
        unsub = SipMessage.request("SUBSCRIBE", c.uri)
        for name in ("Via", "Max-Forwards", "From", "To", "Call-ID"):
            unsub.add(name, r.get(name) if name != "Max-Forwards" else "70")
        unsub.set("Via", r.get("Via").split(";received=")[0])
        unsub.add("CSeq", "2 SUBSCRIBE")
        unsub.add("Event", event)
        unsub.add("Expires", "0")
        unsub.add("Contact", f"<{c.gruu}>")
        c.sign(unsub)
        dereg = c.register_message(expires=0)
        c.sign(dereg)
        order = []
        futures = []
        loop = asyncio.get_running_loop()
        for m in (unsub, dereg):
            fut = loop.create_future()
            c.pending[(m.call_id, m.cseq[0], m.cseq[1])] = fut
            fut.add_done_callback(lambda f: order.append(f.result().cseq[1]))
            futures.append(fut)
        c.write(unsub.serialize() + dereg.serialize())
        answers = await asyncio.wait_for(asyncio.gather(*futures), 10)
        assert [a.code for a in answers] == [200, 200], [a.serialize() for a in answers]
        assert answers[0].get("subscription-state") == "terminated;expires=0"
        assert order == ["SUBSCRIBE", "REGISTER"]
        assert sim.endpoints_for(c.uri) == []
    simrun(flow())


def test_other_endpoints_of_the_user_are_listed(simrun, make_client, registrar, ctl, sim):
    """The scenario's [[endpoints.alice]] (a phone, a second desktop) come first in every
    200 to alice's REGISTER, each with its own +sip.instance, GRUU and expires; the client's
    own Contact follows with the granted expires."""
    from sim.scenario import Scenario, ScenarioError
    scenario = sim.scenario.endpoints("alice")
    assert [e["name"] for e in scenario] == ["desk phone", "second desktop"]
    c = make_client("alice")

    async def flow():
        r = await c.sign_in(registrar("pool1"))
        assert r.code == 200
        contacts = [NameAddr.parse(v) for v in r.get_all("Contact")]
        assert len(contacts) == 3
        for other, na in zip(scenario, contacts):
            inst = instance_from_epid(other["epid"])
            assert na.params["+sip.instance"] == f"<urn:uuid:{inst}>"
            assert na.params["gruu"] == gruu("sip:alice@contoso.test", inst)
            assert na.params["expires"] == str(other["expires"])
            assert na.uri.startswith(f"sip:{other['address']};")
        own = contacts[2]
        assert own.params["+sip.instance"] == f"<urn:uuid:{instance_from_epid(c.epid)}>"
        assert own.params["expires"] == r.get("Expires") == "300"
        assert c.gruu == own.params["gruu"]
        # bob has none
        b = make_client("bob")
        assert len((await b.sign_in(registrar("pool2"))).get_all("Contact")) == 1
    simrun(flow())
    # only live registrations are endpoints
    assert [e["epid"] for e in ctl.endpoints(user="alice")] == [c.epid]

    listed = ctl.set_endpoints(user="alice", endpoints=[{"epid": "abc123", "expires": 20}])
    assert listed == [{"epid": "abc123", "expires": 20, "name": "endpoint 1",
                       "address": "192.0.2.1:5061",
                       "gruu": gruu("sip:alice@contoso.test", instance_from_epid("abc123"))}]
    simrun(c.reregister())
    assert len(c.register_response.get_all("Contact")) == 2
    assert [e["epid"] for e in ctl.set_endpoints(user="alice")] == ["5c0ffee001", "5c0ffee002"]
    for bad, why in (([{"expires": 5}], "epid"), ([{"epid": "x y"}], "epid"),
                     ([{"epid": "a1", "expires": 0}], "expires")):
        with pytest.raises(Exception, match=why):
            ctl.set_endpoints(user="alice", endpoints=bad)
    with pytest.raises(ScenarioError, match="no such user"):
        Scenario.from_string(open(sim.scenario.path, encoding="utf-8").read()
                             + '\n[[endpoints.nobody]]\nepid = "a1"\n')
