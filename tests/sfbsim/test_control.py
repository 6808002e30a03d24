# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every control action of sfbsim (sim/README.md), driven through the control socket (SimControl)
and checked as a client sees it: with the in-process SIP client (sim/client.py) signed in
to the registrars, every message signed and verified.

DNS faults and certificate swaps on HTTPS are in test_dns_web.py, deregistration events and
the SA expiry in test_registrar.py; the ones here add what those do not cover."""

import asyncio
import ssl

import pytest

from sim import documents as D
from sim import services as S

pytestmark = pytest.mark.usefixtures("netns")

#: every control action sfbsim must offer, by action name
ISSUE_ACTIONS = {
    "drop_connections", "reset_connections",                    # drop or reset connections
    "stop_pool", "start_pool", "restart_pool",                  # stop and restart a pool
    "set_503", "clear_503",                                     # 503 with Retry-After
    "deregister",                                               # deregister with an event
    "set_presence",                                             # a contact's presence
    "add_contact", "remove_contact",                            # contacts
    "set_dialplan", "set_policy",                               # dial plan, policies
    "dns_fault", "dns_clear",                                   # DNS faults
    "set_certificate",                                          # bad certificates
    "set_delay",                                                # one-way delay
    "counters", "reset_counters",                               # counters
}

SUB_HEADERS = [("Supported", "com.microsoft.autoextend"), ("Supported", "ms-benotify"),
               ("Proxy-Require", "ms-benotify"), ("Supported", "ms-piggyback-first-notify")]


async def control(ctl, action_name, /, **params):
    """A control call from inside the Sim's loop (the loop itself serves the socket)."""
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: ctl.call(action_name, **params))


async def wait_for_request(client, event, timeout=5.0):
    """The next NOTIFY/BENOTIFY of `event` the client receives."""
    async def find():
        while True:
            m = await client.next_request(timeout)
            if m.get("Event") == event:
                return m
    return await asyncio.wait_for(find(), timeout)


def batch_body(owner, uris):
    res = "".join(f'<resource uri="{u}"/>' for u in uris)
    return (f'<batchSub xmlns="{D.NS_BATCH}" uri="{owner}" name=""><action name="subscribe" '
            f'id="1"><adhocList>{res}</adhocList><categoryList xmlns="{D.NS_CATEGORY_LIST}">'
            f'<category name="note"/><category name="state"/></categoryList></action>'
            f'</batchSub>')


def availabilities(msg):
    """{uri: availability} from a multipart presence body (categories parts only)."""
    out = {}
    for _headers, body in D.parse_multipart(msg.body, msg.get("Content-Type"))[1:]:
        uri, cats = D.parse_categories(body)
        for c in cats:
            if c.name == "state" and c.content is not None:
                out[uri] = int(c.content[0].text)
    return out


def test_every_action_of_the_issue_exists(ctl):
    assert ISSUE_ACTIONS <= set(ctl.actions())
    with pytest.raises(Exception, match="unknown action"):
        ctl.call("no_such_action")
    # an action parameter may be called `name` (set_dialplan, add_group)
    with pytest.raises(Exception, match="rules must be objects"):
        ctl.set_dialplan(name="x", rules=[{"pattern": "1"}])


def test_drop_and_reset_connections(simrun, make_client, registrar, ctl):
    a, b = make_client("alice"), make_client("bob")

    async def flow():
        assert (await a.sign_in(registrar("pool1"))).code == 200
        assert (await b.sign_in(registrar("pool2"))).code == 200
        assert await control(ctl, "drop_connections", user="alice") == 1
        await asyncio.wait_for(a.closed.wait(), 5)
        assert a.ended == "eof"                  # TLS close_notify and FIN, not a reset
        await b.keepalive()                      # bob's connection is untouched
        assert [e["uri"] for e in await control(ctl, "endpoints")] == ["sip:bob@contoso.test"]
        assert await control(ctl, "reset_connections", user="bob") == 1
        await asyncio.wait_for(b.closed.wait(), 5)
        assert b.ended == "reset"
        assert await control(ctl, "endpoints") == []
        # by registrar
        assert (await a.sign_in(registrar("pool1"))).code == 200
        assert await control(ctl, "drop_connections", registrar="pool2") == 0
        assert await control(ctl, "drop_connections", registrar="pool1", reset=True) == 1
        await asyncio.wait_for(a.closed.wait(), 5)
        assert a.ended == "reset"
    simrun(flow())
    with pytest.raises(Exception, match="no user"):
        ctl.drop_connections(user="nobody")


async def refused(address, port):
    try:
        _r, w = await asyncio.open_connection(address, port)
    except ConnectionRefusedError:
        return True
    w.close()
    return False


def test_stop_start_and_restart_pool(simrun, make_client, registrar, ctl):
    a, b = make_client("alice"), make_client("bob")
    addr, port, _ = registrar("pool1")

    async def flow():
        assert (await a.sign_in(registrar("pool1"))).code == 200
        await control(ctl, "stop_pool", pool="pool1")
        await asyncio.wait_for(a.closed.wait(), 5)
        assert a.ended == "reset"                # like a crashed front end
        assert await refused(addr, port)
        assert await control(ctl, "endpoints", user="alice") == []
        assert (await b.sign_in(registrar("pool2"))).code == 200   # other pools serve on
        await control(ctl, "start_pool", pool="pool1")
        assert (await a.sign_in(registrar("pool1"))).code == 200
        # restart with a pause: refused at once, back by itself
        await control(ctl, "restart_pool", pool="pool1", down_seconds=1)
        await asyncio.wait_for(a.closed.wait(), 5)
        assert await refused(addr, port)
        for _ in range(100):
            await asyncio.sleep(0.1)
            if not await refused(addr, port):
                break
        else:
            raise AssertionError("pool1 did not come back")
        assert (await a.sign_in(registrar("pool1"))).code == 200
        assert a.bad_signatures == 0
    simrun(flow())
    with pytest.raises(Exception, match="no registrar"):
        ctl.stop_pool(pool="pool9")


def test_503_until_cleared(simrun, make_client, registrar, ctl):
    c = make_client("bob")
    ctl.set_503(registrar="pool2", retry_after=5,
                diagnostics='1008;reason="Server busy"')

    async def flow():
        await c.connect(*registrar("pool2"))
        for _ in range(3):                       # no count: until clear_503
            r = await c.register_once()
            assert r.code == 503 and r.get("Retry-After") == "5"
            assert r.get("ms-diagnostics").startswith('1008;reason="Server busy"')
        await control(ctl, "clear_503", registrar="pool2")
        assert (await c.authenticate()).code == 200
    simrun(flow())
    assert ctl.counters()["registers"]["bob"] == 6


def test_deregister_one_endpoint_with_event(simrun, make_client, registrar, ctl):
    c1, c2 = make_client("alice"), make_client("alice")

    async def flow():
        assert (await c1.sign_in(registrar("pool1"))).code == 200
        assert (await c2.sign_in(registrar("pool1"))).code == 200
        res = await control(ctl, "deregister", user="alice", epid=c1.epid, event="unregistered")
        assert res == {"notified": 1, "answers": [200]}
        n = await wait_for_request(c1, "registration-notify")
        assert n.body == b"deregistered;event=unregistered"
        assert c2.incoming.empty()
        eps = await control(ctl, "endpoints", user="alice")
        assert [e["epid"] for e in eps] == [c2.epid]
        assert c1.bad_signatures == 0 and c2.bad_signatures == 0
    simrun(flow())


def test_set_presence_reaches_a_watcher(simrun, make_client, registrar, ctl):
    a = make_client("alice")

    async def flow():
        assert (await a.sign_in(registrar("pool1"))).code == 200
        r = await a.request("SUBSCRIBE", headers=[
            ("Event", "presence"), ("Require", "adhoclist, categoryList")] + SUB_HEADERS,
            body=batch_body(a.uri, ["sip:carol@contoso.test", "sip:bob@contoso.test"]),
            content_type=D.CT_ADRL_CATEGORYLIST)
        assert r.code == 200
        res = await control(ctl, "set_presence", user="sip:carol@contoso.test",
                            availability=9500, note="in a meeting")
        assert res == {"watchers": 1, "availability": 9500}
        n = await wait_for_request(a, "presence")
        assert n.method == "BENOTIFY" and availabilities(n) == {"sip:carol@contoso.test": 9500}
        assert b"in a meeting" in n.body
        # a scenario user who is not signed in
        await control(ctl, "set_presence", user="bob", availability=6500)
        n = await wait_for_request(a, "presence")
        assert availabilities(n)["sip:bob@contoso.test"] == 6500
        assert a.bad_signatures == 0
    simrun(flow())


def test_add_and_remove_contact_reach_the_client(simrun, make_client, registrar, ctl):
    a = make_client("alice")

    async def flow():
        assert (await a.sign_in(registrar("pool1"))).code == 200
        r = await a.request("SUBSCRIBE", headers=[("Event", S.EV_CONTACTS),
                                                  ("Accept", D.CT_CONTACTS)] + SUB_HEADERS)
        assert r.code == 200
        full = D.parse_contacts(r.body)
        assert "sip:heidi@contoso.test" not in [c["uri"] for c in full["contacts"]]
        res = await control(ctl, "add_contact", user="alice", uri="sip:heidi@contoso.test",
                            name="Heidi")
        assert res["notified"] == 1
        delta = D.parse_contacts((await wait_for_request(a, S.EV_CONTACTS)).body)
        assert delta["kind"] == "contactDelta"
        assert delta["prevDeltaNum"] == full["deltaNum"]
        assert [c["uri"] for c in delta["addedContact"]] == ["sip:heidi@contoso.test"]
        await control(ctl, "remove_contact", user="alice", uri="sip:heidi@contoso.test")
        delta = D.parse_contacts((await wait_for_request(a, S.EV_CONTACTS)).body)
        assert delta["deletedContact"] == [{"uri": "sip:heidi@contoso.test"}]
        assert a.bad_signatures == 0
    simrun(flow())


def test_dialplan_and_policy_changes_reach_the_client(simrun, make_client, registrar, ctl):
    a = make_client("alice")
    lp_uri = "sip:alice@contoso.test;opaque=app:locationprofile:get;default;gruu"

    async def flow():
        assert (await a.sign_in(registrar("pool1"))).code == 200
        r = await a.request("SUBSCRIBE", headers=[("Event", S.EV_PROVISIONING),
                                                  ("Accept", D.CT_PROVISIONING),
                                                  ("Expires", "0")] + SUB_HEADERS)
        assert r.code == 200
        before = D.parse_provision_group_list(r.body)
        assert before["ucPolicy"]["CallViaWorkEnabled"] != "false"
        res = await control(ctl, "set_policy", group="ucPolicy",
                            values={"CallViaWorkEnabled": False})
        assert res == {"notified": 1}
        n = await wait_for_request(a, S.EV_PROVISIONING)
        assert D.parse_provision_group_list(n.body)["ucPolicy"]["CallViaWorkEnabled"] == "false"
        assert (await a.request("SERVICE", uri=lp_uri)).code == 200
        await control(ctl, "set_dialplan", name="UK_plan")
        n = await wait_for_request(a, S.EV_PROVISIONING)
        assert D.parse_provision_group_list(n.body)["userSetting"]["ucUserLocationProfile"] \
            == "UK_plan"
        r = await a.request("SERVICE", uri=lp_uri)
        assert r.code == 200 and D.parse_location_profile(r.body)["name"] == "UK_plan"
        assert a.bad_signatures == 0
    simrun(flow())


@pytest.mark.parametrize("variant,why", [
    ("expired", "expired"),
    ("untrusted", "self-signed certificate in certificate chain"),
    ("wrong-name", "mismatch"),
])
def test_certificate_variants_on_sip(simrun, make_client, registrar, ctl, variant, why):
    old, new = make_client("alice"), make_client("alice")

    async def flow():
        assert (await old.sign_in(registrar("pool1"))).code == 200
        await control(ctl, "set_certificate", variant=variant)
        with pytest.raises(ssl.SSLCertVerificationError, match=why):
            await new.connect(*registrar("pool1"))
        await old.keepalive()                    # established connections keep theirs
        await control(ctl, "set_certificate", variant="valid")
        assert (await new.sign_in(registrar("pool1"))).code == 200
    simrun(flow())


def test_counters_and_timers(simrun, make_client, registrar, ctl):
    a, bad = make_client("alice"), make_client("bob")
    ctl.set_timers(subscription_expires=60)

    async def flow():
        assert (await a.sign_in(registrar("director"))).code == 200
        r = await a.request("SUBSCRIBE", headers=[("Event", S.EV_CONTACTS),
                                                  ("Expires", "7200")] + SUB_HEADERS)
        assert r.code == 200 and r.get("Expires") == "60"
        await bad.connect(*registrar("pool2"))
        assert (await bad.authenticate(password="wrong")).code == 401
    simrun(flow())
    c = ctl.counters()
    assert c["registers"] == {"alice": 6, "bob": 3}
    assert c["signin_round_trips"] == {"alice": [6]}
    assert c["auth_failures"] == {"bob": 1}
    assert c["active_registrations"] == 1 and c["active_subscriptions"] == 1
    assert "signature_failures" not in c
    assert ctl.reset_counters() is None
    c = ctl.counters()
    assert "registers" not in c and c["active_registrations"] == 1
    with pytest.raises(Exception, match="unknown timer"):
        ctl.set_timers(bogus=1)


def test_tamper_signatures_forges_the_next_signature(simrun, make_client, registrar, ctl):
    c = make_client("alice")

    async def flow():
        assert (await c.sign_in(registrar("pool1"))).code == 200
        assert await control(ctl, "tamper_signatures", user="alice", count=1) == 1
        with pytest.raises(asyncio.TimeoutError):   # the forged 200 is not taken
            await c.send_and_wait(c.sign(c.register_message()), timeout=1)
        assert c.bad_signatures == 1
        r = await c.reregister()                    # only the next one was forged
        assert r.code == 200 and c.bad_signatures == 1
    simrun(flow())
    assert ctl.tamper_signatures(user="bob") == 0    # bob has no security association


def test_504_instead_of_503(simrun, make_client, registrar, ctl):
    c = make_client("alice")
    ctl.set_503(registrar="pool1", retry_after=1, count=1, code=504)

    async def flow():
        await c.connect(*registrar("pool1"))
        r = await c.register_once()
        assert (r.code, r.reason, r.get("Retry-After")) == (504, "Server Time-out", "1")
        assert (await c.authenticate()).code == 200   # count=1: the next one goes through
    simrun(flow())
    with pytest.raises(Exception, match="503 or 504"):
        ctl.set_503(code=500)


def test_connection_counters_and_tls_version(simrun, registrar, ctl, simthread):
    """tcp_connections and tls_handshakes (kind and version) for the benchmark
    (build-aux/run-bench), and set_tls_version as a client sees it."""
    address, port, host = registrar("pool1")
    ctx = ssl.create_default_context(cafile=simthread.sim.certs.ca_file)

    async def connect():
        r, w = await asyncio.open_connection(address, port, ssl=ctx, server_hostname=host,
                                             ssl_handshake_timeout=5)
        obj = w.get_extra_info("ssl_object")
        version, got = obj.version(), obj.session
        w.close()
        try:
            await w.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass
        return version, got

    ctl.reset_counters()
    # TLS 1.2 by default, as SfB Server on Schannel
    version, _ = simrun(connect())
    assert version == "TLSv1.2"
    assert ctl.set_tls_version(maximum="TLSv1_3") == "TLSv1_2"
    version, _ = simrun(connect())
    assert version == "TLSv1.3"
    assert ctl.set_tls_version(maximum="TLSv1_2") == "TLSv1_3"
    c = ctl.counters()
    assert c["tcp_connections"] == {f"{host}:{port}": 2}
    assert c["tls_handshakes"] == {"full TLSv1.2": 1, "full TLSv1.3": 1}
    with pytest.raises(Exception, match="maximum must be one of"):
        ctl.set_tls_version(maximum="SSLv3")
