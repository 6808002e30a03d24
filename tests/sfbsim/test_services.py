# SPDX-License-Identifier: LGPL-2.1-or-later
"""sim/services.py: post-sign-in requests, state, fan-out and control actions.

Most tests drive handle_request() with fake endpoints (the Endpoint API of sim/README.md,
recording what would be sent); the last ones go through the real TLS registrar with the
in-process SIP client (sim/client.py), signed both ways."""

import asyncio
import os
import secrets
import time
import xml.etree.ElementTree as ET

import pytest

from sim import control
from sim import documents as D
from sim import services as S
from sim.endpoint import make_response
from sim.identity import gruu, instance_from_epid
from sim.scenario import Scenario
from sim.sipmsg import SipMessage, normalize_aor

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.join(HERE, "scenarios", "default.toml")

SIPE_PROVISIONING = (
    '<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist">'
    ' <provisioningGroup name="ServerConfiguration"/> <provisioningGroup name="meetingPolicy"/>'
    ' <provisioningGroup name="persistentChatConfiguration"/>'
    ' <provisioningGroup name="ucPolicy"/></provisioningGroupList>')
ROAMING_LIST = ('<roamingList xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self">'
                '<roaming type="categories"/><roaming type="containers"/>'
                '<roaming type="subscribers"/></roamingList>')
SUB_HEADERS = [("Supported", "com.microsoft.autoextend"), ("Supported", "ms-benotify"),
               ("Proxy-Require", "ms-benotify"), ("Supported", "ms-piggyback-first-notify")]


# fakes ---------------------------------------------------------------------------------------
class FakeRegistrar:
    def __init__(self, sc, name):
        r = sc.registrar(name)
        self.role, self.name, self.fqdn, self.port = r.role, r.name, r.fqdn, r.port
        self.pool = name if r.role == "pool" else None


class FakeEndpoint:
    """The Endpoint API services.py uses; records what it sends."""

    def __init__(self, sim, uid):
        self.sim, self.scenario = sim, sim.scenario
        self.user = sim.scenario.users[uid]
        self.uri = self.user["uri"]
        self.epid = secrets.token_hex(5)
        self.instance = instance_from_epid(self.epid)
        self.gruu = gruu(self.uri, self.instance)
        self.contact = f"sip:127.0.0.1:{40000 + len(sim.eps)};transport=tls"
        self.registrar = FakeRegistrar(sim.scenario, self.user["pool"])
        self.subscriptions, self.data = {}, {}
        self.registered = True
        self.sent = []          # requests sfbsim sent to this client
        self.responses = []     # responses sent with send_response()
        self.answer = 200       # the client's answer to NOTIFY
        self.cseq = 0

    connected = property(lambda self: self.registered)

    def make_response(self, request, code, reason=None, headers=(), body=b"", content_type=None):
        return make_response(request, code, reason, headers, body, content_type)

    def send_response(self, resp):
        self.responses.append(resp)

    def _build(self, method, headers, body, content_type):
        m = SipMessage.request(method, self.contact, headers, body)
        if content_type:
            m.add("Content-Type", content_type)
        return m

    async def send_request(self, method, headers=(), body=b"", content_type=None, *,
                           timeout=10, wait=True):
        m = self._build(method, headers, body, content_type)
        self.sent.append(m)
        if not wait:
            return None
        r = SipMessage.response(self.answer)
        r.add("CSeq", m.get("CSeq"))
        return r

    async def send_benotify(self, headers=(), body=b"", content_type=None):
        self.sent.append(self._build("BENOTIFY", headers, body, content_type))

    def take(self):
        out, self.sent = self.sent, []
        return out

    # a request from this client ------------------------------------------------------------
    def request(self, method, uri=None, headers=(), body=b"", content_type=None, to_tag=None,
                call_id=None, to=None):
        self.cseq += 1
        m = SipMessage.request(method, uri or self.uri)
        m.add("Via", f"SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bK{secrets.token_hex(6)}")
        m.add("From", f"<{self.uri}>;tag={self.data.setdefault('tag', secrets.token_hex(5))}"
                      f";epid={self.epid}")
        m.add("To", f"<{to or uri or self.uri}>" + (f";tag={to_tag}" if to_tag else ""))
        m.add("Call-ID", call_id or secrets.token_hex(12))
        m.add("CSeq", f"{self.cseq} {method}")
        m.add("Contact", f"<{self.gruu}>")
        for n, v in headers:
            m.add(n, v)
        if content_type:
            m.add("Content-Type", content_type)
        m.body = body.encode() if isinstance(body, str) else body
        return m


class FakeSim:
    def __init__(self):
        self.scenario = Scenario.load(SCENARIO)
        self.eps = []

    def user(self, key):
        return self.scenario.user(key)

    def endpoints(self):
        return [e for e in self.eps if e.registered]

    def endpoints_for(self, uri):
        return [e for e in self.endpoints() if normalize_aor(e.uri) == normalize_aor(uri)]

    def spawn(self, coro):
        return asyncio.get_running_loop().create_task(coro)

    def endpoint(self, uid):
        ep = FakeEndpoint(self, uid)
        self.eps.append(ep)
        S.endpoint_added(ep)
        return ep

    def remove(self, ep):
        ep.registered = False
        S.endpoint_removed(ep, "test")


def run(coro_fn):
    """Run an async test body with a fresh FakeSim."""
    sim = FakeSim()
    asyncio.run(coro_fn(sim))
    return sim


async def handle(sim, ep, msg):
    r = await S.handle_request(ep, msg)
    await S.flush(sim)
    return r


async def subscribe(sim, ep, event, body=b"", ctype=None, headers=(), expires=None, **kw):
    h = [("Event", event)] + list(SUB_HEADERS) + list(headers)
    if expires is not None:
        h.append(("Expires", str(expires)))
    return await handle(sim, ep, ep.request("SUBSCRIBE", headers=h, body=body,
                                            content_type=ctype, **kw))


def publish_body(uri, pubs):
    """pubs: [(category, instance, container, version, expireType, inner xml or None,
    expires)]"""
    out = [f'<publish xmlns="{D.NS_RICH_PRESENCE}"><publications uri="{uri}">']
    for cat, inst, cont, ver, et, inner, expires in pubs:
        exp = f' expires="{expires}"' if expires is not None else ""
        out.append(f'<publication categoryName="{cat}" instance="{inst}" container="{cont}" '
                   f'version="{ver}" expireType="{et}"{exp}>{inner or ""}</publication>')
    out.append("</publications></publish>")
    return "".join(out)


def state_xml(avail, stype="userState"):
    return (f'<state xmlns="{D.NS_STATE}" xmlns:xsi="{D.NS_XSI}" manual="true" '
            f'xsi:type="{stype}"><availability>{avail}</availability><endpointLocation/></state>')


def user_state_pubs(avail, version):
    return [("state", 536870912, c, version, "static", state_xml(avail), None) for c in (2, 3)]


async def publish(sim, ep, pubs):
    return await handle(sim, ep, ep.request(
        "SERVICE", body=publish_body(ep.uri, pubs), content_type=D.CT_CATEGORY_PUBLISH))


def availability_in(cats_doc):
    _uri, cats = D.parse_categories(cats_doc)
    for c in cats:
        if c.name == "state" and c.content is not None:
            return int(c.content[0].text)
    return None


def presence_parts(msg):
    """{uri: categories bytes} and the rlmi dict of a multipart presence body."""
    parts = D.parse_multipart(msg.body, msg.get("Content-Type"))
    rlmi = D.parse_rlmi(parts[0][1])
    cats = {D.parse_categories(b)[0]: b for h, b in parts[1:]}
    return rlmi, cats


# location profile -------------------------------------------------------------------------
def test_location_profile_service():
    async def body(sim):
        ep = sim.endpoint("alice")
        lp_uri = f"{ep.uri};opaque=app:locationprofile:get;default;gruu"
        r = await handle(sim, ep, ep.request("SERVICE", uri=lp_uri))
        assert r.code == 200 and r.get("Content-Type") == D.CT_LOCATION_PROFILE
        assert r.body == D.location_profile(sim.scenario.dialplan)
        assert D.parse_location_profile(r.body)["name"] == "XXXX_dial_plan"
        # by name, unknown name, ambiguous, content-type only, somebody else's AOR
        r = await handle(sim, ep, ep.request(
            "SERVICE", uri=f"{ep.uri};opaque=app:locationprofile:get;phone-context=XXXX_dial_plan"))
        assert r.code == 200
        r = await handle(sim, ep, ep.request(
            "SERVICE", uri=f"{ep.uri};opaque=app:locationprofile:get;phone-context=nope"))
        assert r.code == 404 and r.get("ms-diagnostics")
        r = await handle(sim, ep, ep.request("SERVICE",
                                             uri=f"{ep.uri};opaque=app:locationprofile:get"))
        assert r.code == 485
        r = await handle(sim, ep, ep.request("SERVICE", headers=[
            ("Accept", D.CT_LOCATION_PROFILE)]))
        assert r.code == 200 and r.body == D.location_profile(sim.scenario.dialplan)
        r = await handle(sim, ep, ep.request(
            "SERVICE", content_type=D.CT_LOCATION_PROFILE,
            body=f'<x xmlns="{D.NS_LP_SPEC}"><Name>nope</Name></x>'))
        assert r.code == 404
        r = await handle(sim, ep, ep.request("SERVICE", uri="sip:bob@contoso.test;opaque="
                                             "app:locationprofile:get;default"))
        assert r.code == 404
        sim.scenario.data["dialplan"]["namespace"] = "spec"
        r = await handle(sim, ep, ep.request("SERVICE", uri=lp_uri))
        assert ET.fromstring(r.body).tag.startswith(f"{{{D.NS_LP_SPEC}}}")
    run(body)


# provisioning ------------------------------------------------------------------------------
def test_provisioning_one_off_query_as_sipe_sends_it():
    async def body(sim):
        ep = sim.endpoint("alice")
        r = await subscribe(sim, ep, S.EV_PROVISIONING, SIPE_PROVISIONING, D.CT_PROVISIONING,
                            [("Accept", D.CT_PROVISIONING)], expires=0)
        assert r.code == 200
        assert r.get("Expires") == "0" and r.get("Event") == S.EV_PROVISIONING
        assert r.get("subscription-state") == "terminated;expires=0"
        assert r.get("ms-piggyback-cseq") and r.get("Content-Type") == D.CT_PROVISIONING
        got = D.parse_provision_group_list(r.body)
        assert list(got) == ["ServerConfiguration", "meetingPolicy",
                             "persistentChatConfiguration", "ucPolicy"]
        assert ep.subscriptions == {}  # one-off: no dialog
        r = await subscribe(sim, ep, S.EV_PROVISIONING, expires=0)
        assert list(D.parse_provision_group_list(r.body)) == list(D.PROVISION_GROUPS)
        r = await subscribe(sim, ep, S.EV_PROVISIONING, expires=0,
                            headers=[("Accept", "text/plain")])
        assert r.code == 406
        r = await subscribe(sim, ep, S.EV_PROVISIONING, b"<broken", D.CT_PROVISIONING, expires=0)
        assert r.code == 400
    run(body)


# roaming contacts ----------------------------------------------------------------------------
def test_roaming_contacts_subscribe_refresh_unsubscribe():
    async def body(sim):
        ep = sim.endpoint("alice")
        r = await subscribe(sim, ep, S.EV_CONTACTS, headers=[("Supported", "ms-ucs")])
        assert r.code == 200 and r.get("Content-Type") == D.CT_CONTACTS
        assert r.get("subscription-state").startswith("active;expires=")
        assert int(r.get("Expires")) == S.DEFAULT_SUBSCRIPTION_EXPIRES
        assert r.get("ms-piggyback-cseq") == "1" and r.get("Event") == S.EV_CONTACTS
        got = D.parse_contacts(r.body)
        assert got["deltaNum"] == 1 and len(got["contacts"]) == 6
        assert [g["name"] for g in got["groups"]][0] == "~"
        grace = [c for c in got["contacts"] if c["uri"] == "sip:grace@fabrikam.test"][0]
        assert grace["groups"] == [4]
        assert len(ep.subscriptions) == 1
        tag = r.to_addr().tag
        call_id = r.call_id
        # refresh inside the dialog with a shorter Expires
        r = await subscribe(sim, ep, S.EV_CONTACTS, expires=60, to_tag=tag, call_id=call_id)
        assert r.code == 200 and r.get("Expires") == "60" and r.to_addr().tag == tag
        # unknown dialog
        r = await subscribe(sim, ep, S.EV_CONTACTS, expires=60, to_tag="nope", call_id=call_id)
        assert r.code == 481
        # unsubscribe
        r = await subscribe(sim, ep, S.EV_CONTACTS, expires=0, to_tag=tag, call_id=call_id)
        assert r.code == 200 and r.get("subscription-state") == "terminated;expires=0"
        assert ep.subscriptions == {}
        # other events
        r = await subscribe(sim, ep, "vnd-microsoft-nonsense")
        assert r.code == 489
    run(body)


def test_roaming_contacts_without_piggyback_gets_a_notify():
    async def body(sim):
        ep = sim.endpoint("bob")
        m = ep.request("SUBSCRIBE", headers=[("Event", S.EV_CONTACTS)])
        assert await handle(sim, ep, m) is None
        assert ep.responses[0].code == 200 and not ep.responses[0].body
        (n,) = ep.take()
        assert n.method == "NOTIFY" and n.get("Event") == S.EV_CONTACTS
        assert n.get("Call-ID") == m.call_id and n.get("CSeq") == "1 NOTIFY"
        assert n.to_addr().tag == m.from_addr().tag
        assert n.from_addr().tag == ep.responses[0].to_addr().tag
        assert D.parse_contacts(n.body)["contacts"][0]["uri"] == "sip:alice@contoso.test"
    run(body)


# roaming self, publish, versions, 409 ---------------------------------------------------------
def test_roaming_self_publish_versions_and_wrong_delta():
    async def body(sim):
        ep = sim.endpoint("alice")
        r = await subscribe(sim, ep, S.EV_SELF, ROAMING_LIST, D.CT_ROAMING_SELF)
        assert r.code == 200 and r.get("Content-Type") == D.CT_ROAMING_SELF
        data = D.parse_roaming_data(r.body)
        assert set(data) == {"categories", "containers", "subscribers"}
        names = {c.name for c in data["categories"]}
        assert {"contactCard", "userProperties"} <= names
        up = [c for c in data["categories"] if c.name == "userProperties"][0]
        assert "tel:+441785100100;ext=100" in ET.tostring(up.content).decode()

        # first publication: version 0 -> accepted, stored as 1
        machine = ("state", 906391356, 2, 0, "endpoint", state_xml(3500, "machineState"), None)
        r = await publish(sim, ep, [machine] + user_state_pubs(3500, 0))
        assert r.code == 200
        (n,) = ep.take()  # roaming-self update to the publisher's own subscription
        assert n.method == "BENOTIFY" and n.get("Event") == S.EV_SELF
        upd = D.parse_roaming_data(n.body)
        versions = {(c.name, c.instance, c.container): c.version for c in upd["categories"]}
        assert versions[("state", 906391356, 2)] == 1
        assert versions[("state", 536870912, 3)] == 1
        # the server's aggregate: 1 = offline when roaming-self was answered, 2 = now
        assert versions[("state", S.INSTANCE_AGGREGATE_STATE, 2)] == 2
        assert "containers" not in upd

        # the same versions again: 409 WrongDelta with every stale publication, nothing applied
        r = await publish(sim, ep, [machine] + user_state_pubs(6500, 0))
        assert r.code == 409 and r.get("Content-Type") == D.CT_FAULT and r.get("ms-diagnostics")
        code, ops = D.parse_fault(r.body)
        assert code == "Client.BadCall.WrongDelta"
        assert ops == [(1, 0, 1), (2, 0, 1), (3, 0, 1)]
        assert ep.take() == []
        assert S.presence(sim, "alice")["availability"] == 3500

        # recover with the current versions
        r = await publish(sim, ep, user_state_pubs(6500, 1))
        assert r.code == 200
        assert S.presence(sim, "alice")["availability"] == 6500
        pubs = {(p["name"], p["instance"], p["container"]): p["version"]
                for p in S.presence(sim, "alice")["publications"]}
        assert pubs[("state", 536870912, 2)] == 2 and pubs[("state", 906391356, 2)] == 1

        # removal with expires="0" (version must match too) -> cleared form in roaming-self
        ep.take()
        note = ("note", 0, 200, 0, "static",
                f'<note xmlns="{D.NS_NOTE}"><body type="personal" uri="">hi</body></note>', None)
        assert (await publish(sim, ep, [note])).code == 200
        ep.take()
        assert (await publish(sim, ep, [note[:3] + (1, "static", None, 0)])).code == 200
        (n,) = ep.take()
        cats = D.parse_roaming_data(n.body)["categories"]
        assert [(c.name, c.container) for c in cats if c.name == "note"] == [("note", 200)]
        assert ("note", 0, 200) not in {(p["name"], p["instance"], p["container"])
                                        for p in S.presence(sim, "alice")["publications"]}

        # publishing for someone else, malformed
        r = await handle(sim, ep, ep.request("SERVICE", content_type=D.CT_CATEGORY_PUBLISH,
                                             body=publish_body("sip:bob@contoso.test", [note])))
        assert r.code == 403
        r = await handle(sim, ep, ep.request("SERVICE", content_type=D.CT_CATEGORY_PUBLISH,
                                             body="<publish"))
        assert r.code == 400
    run(body)


def test_bump_versions_forces_409():
    async def check(sim):
        ep = sim.endpoint("alice")
        assert (await publish(sim, ep, user_state_pubs(3500, 0))).code == 200
        res = await control.dispatch(sim, {"action": "bump_versions", "user": "alice",
                                           "category": "state"})
        assert res["ok"] and res["result"] >= 2
        r = await publish(sim, ep, user_state_pubs(6500, 1))
        assert r.code == 409
        assert D.parse_fault(r.body)[1] == [(1, 1, 2), (2, 1, 2)]
        assert (await publish(sim, ep, user_state_pubs(6500, 2))).code == 200
    run(check)


# presence: batched subscription and fan-out -------------------------------------------------------
def batch_body(owner, uris):
    res = "".join(f'<resource uri="{u}"/>' for u in uris)
    return (f'<batchSub xmlns="{D.NS_BATCH}" uri="{owner}" name=""><action name="subscribe" '
            f'id="63792024"><adhocList>{res}</adhocList><categoryList '
            f'xmlns="{D.NS_CATEGORY_LIST}"><category name="calendarData"/>'
            f'<category name="contactCard"/><category name="note"/><category name="state"/>'
            f'</categoryList></action></batchSub>')


async def batch_subscribe(sim, ep, uris, **kw):
    return await subscribe(sim, ep, "presence", batch_body(ep.uri, uris),
                           D.CT_ADRL_CATEGORYLIST,
                           [("Require", "adhoclist, categoryList"), ("Supported", "eventlist"),
                            ("Accept", "application/rlmi+xml, multipart/related, "
                             "application/msrtc-event-categories+xml")], **kw)


def test_batched_presence_and_fan_out_between_two_users():
    async def body(sim):
        alice, bob = sim.endpoint("alice"), sim.endpoint("bob")
        contacts = [c["uri"] for c in sim.scenario.contacts("alice")]
        r = await batch_subscribe(sim, alice, contacts)
        assert r.code == 200 and r.get("Content-Type").startswith("multipart/related;")
        assert 'type="application/rlmi+xml"' in r.get("Content-Type")
        rlmi, cats = presence_parts(r)
        assert rlmi["uri"] == alice.uri and rlmi["fullState"] == "true"
        assert [u for u, _ in rlmi["resources"]] == contacts
        assert all(i["state"] == "active" and i["cid"] for _, i in rlmi["resources"])
        assert set(cats) == set(contacts)
        # what the scenario says about the contacts; bob is signed in but published nothing
        assert availability_in(cats["sip:carol@contoso.test"]) == 3500
        assert availability_in(cats["sip:dave@contoso.test"]) == 6500
        assert availability_in(cats["sip:frank@contoso.test"]) == S.OFFLINE
        assert availability_in(cats["sip:bob@contoso.test"]) == S.OFFLINE
        erin = D.parse_categories(cats["sip:erin@contoso.test"])[1]
        note = [c for c in erin if c.name == "note"][0]
        assert note.content[0].text == "Back on Monday & in the office <9am>"
        grace = D.parse_categories(cats["sip:grace@fabrikam.test"])[1]
        assert {c.container for c in grace} == {100}  # federated view
        card = [c for c in erin if c.name == "contactCard"][0]
        assert "Director" in ET.tostring(card.content).decode()

        # bob watches alice; alice becomes a subscriber-known contact of bob's
        r = await batch_subscribe(sim, bob, ["sip:alice@contoso.test"])
        assert availability_in(presence_parts(r)[1]["sip:alice@contoso.test"]) == S.OFFLINE
        alice.take(), bob.take()

        # alice publishes: bob gets a BENOTIFY with her new aggregate, and vice versa
        assert (await publish(sim, alice, user_state_pubs(6500, 0))).code == 200
        sent = bob.take()
        assert [m.method for m in sent] == ["BENOTIFY"]
        n = sent[0]
        assert n.get("Event") == "presence" and n.get("Require") == "eventlist"
        assert n.get("subscription-state").startswith("active;expires=")
        rlmi, cats = presence_parts(n)
        assert rlmi["fullState"] == "false" and list(cats) == ["sip:alice@contoso.test"]
        assert availability_in(cats["sip:alice@contoso.test"]) == 6500
        assert (await publish(sim, bob, user_state_pubs(15500, 0))).code == 200
        n = [m for m in alice.take() if m.get("Event") == "presence"][0]
        assert availability_in(presence_parts(n)[1]["sip:bob@contoso.test"]) == 15500

        # alice signs out: bob sees her offline (her userState is static, kept for later)
        sim.remove(alice)
        await S.flush(sim)
        n = bob.take()[0]
        assert availability_in(presence_parts(n)[1]["sip:alice@contoso.test"]) == S.OFFLINE
    run(body)


def test_machine_state_expires_with_its_endpoint_and_single_subscription():
    async def body(sim):
        a1, a2, bob = sim.endpoint("alice"), sim.endpoint("alice"), sim.endpoint("bob")
        # single subscription (no adhoclist): To is the contact
        r = await subscribe(sim, bob, "presence", to="sip:alice@contoso.test",
                            headers=[("Accept", D.CT_CATEGORIES)])
        assert r.code == 200 and r.get("Content-Type") == D.CT_CATEGORIES
        for ep, avail in ((a1, 3500), (a2, 12500)):
            pub = ("state", int(ep.epid[:8], 16) >> 4 | 0x30000000, 2, 0, "endpoint",
                   state_xml(avail, "machineState"), None)
            assert (await publish(sim, ep, [pub])).code == 200
        assert S.presence(sim, "alice")["availability"] == 3500   # most available machine
        bob.take()
        sim.remove(a1)
        await S.flush(sim)
        assert S.presence(sim, "alice")["availability"] == 12500
        n = bob.take()[0]
        assert n.get("Content-Type") == D.CT_CATEGORIES and availability_in(n.body) == 12500
    run(body)


def calendar_state_xml(avail, start):
    return (f'<state xmlns="{D.NS_STATE}" xmlns:xsi="{D.NS_XSI}" manual="false" '
            f'uri="alice@contoso.test" startTime="{start}" xsi:type="calendarState">'
            f'<availability>{avail}</availability><activity token="in-a-meeting" '
            f'minAvailability="6500" maxAvailability="8999"/><endpointLocation/>'
            f'<meetingSubject>Review</meetingSubject></state>')


def test_calendar_state_aggregates_over_machine_state_until_a_manual_state():
    """A client publishing the calendar (SIPE, sfbd): in a meeting shows as Busy with the
    activity in-a-meeting while the machine is online; not before its startTime; a manual
    userState other than Available wins; clearing the calendarState goes back."""
    async def body(sim):
        alice, bob = sim.endpoint("alice"), sim.endpoint("bob")
        await batch_subscribe(sim, bob, ["sip:alice@contoso.test"])
        machine = ("state", 0x30000001, 2, 0, "endpoint", state_xml(3500, "machineState"), None)
        assert (await publish(sim, alice, [machine])).code == 200
        assert (S.presence(sim, "alice")["availability"], S.presence(sim, "alice")["activity"]) \
            == (3500, None)
        later = D.iso_time(time.time() + 3600)
        cal = [("state", 0x40000001, c, 0, "endpoint", calendar_state_xml(6500, later), None)
               for c in (2, 3)]
        assert (await publish(sim, alice, cal)).code == 200
        assert S.presence(sim, "alice")["availability"] == 3500  # not started yet
        started = D.iso_time(time.time() - 600)
        cal = [("state", 0x40000001, c, 1, "endpoint", calendar_state_xml(6500, started), None)
               for c in (2, 3)]
        bob.take()
        assert (await publish(sim, alice, cal)).code == 200
        p = S.presence(sim, "alice")
        assert (p["availability"], p["activity"]) == (6500, "in-a-meeting")
        assert [(x["container"], x["availability"], x["activity"], x["meetingSubject"])
                for x in p["publications"] if x.get("type") == "calendarState"] == [
            (2, "6500", "in-a-meeting", "Review"), (3, "6500", "in-a-meeting", "Review")]
        await S.flush(sim)
        n = [m for m in bob.take() if m.get("Event") == "presence"][-1]
        assert availability_in(presence_parts(n)[1]["sip:alice@contoso.test"]) == 6500
        # a reset status (userState Available, as SIPE publishes at sign-in) lets the
        # calendar show; a manual Do Not Disturb wins
        assert (await publish(sim, alice, user_state_pubs(3500, 0))).code == 200
        assert S.presence(sim, "alice")["activity"] == "in-a-meeting"
        assert (await publish(sim, alice, user_state_pubs(9500, 1))).code == 200
        assert S.presence(sim, "alice")["availability"] == 9500
        assert (await publish(sim, alice, [("state", 536870912, c, 2, "static", None, 0)
                                           for c in (2, 3)])).code == 200
        assert S.presence(sim, "alice")["availability"] == 6500
        assert (await publish(sim, alice, [("state", 0x40000001, c, 2, "endpoint", None, 0)
                                           for c in (2, 3)])).code == 200
        assert (S.presence(sim, "alice")["availability"], S.presence(sim, "alice")["activity"]) \
            == (3500, None)
    run(body)


def test_presence_unsubscribe_refresh_and_notify_481():
    async def body(sim):
        alice, bob = sim.endpoint("alice"), sim.endpoint("bob")
        r = await batch_subscribe(sim, bob, ["sip:alice@contoso.test"], expires=100)
        assert r.get("Expires") == "100"
        tag, cid = r.to_addr().tag, r.call_id
        r = await batch_subscribe(sim, bob, ["sip:alice@contoso.test"], to_tag=tag, call_id=cid)
        assert r.code == 200 and len(bob.subscriptions) == 1
        # a client that answers 481 loses the subscription (NOTIFY forced)
        await control.dispatch(sim, {"action": "set_notify_method", "method": "NOTIFY"})
        bob.answer = 481
        assert (await publish(sim, alice, user_state_pubs(6500, 0))).code == 200
        assert [m.method for m in bob.take()] == ["NOTIFY"] and bob.subscriptions == {}
    run(body)


def test_presence_routing_resubscribe_to_other_pool():
    async def body(sim):
        alice = sim.endpoint("alice")  # pool1; bob is homed on pool2
        await control.dispatch(sim, {"action": "set_presence_routing", "mode": "pool"})
        r = await batch_subscribe(sim, alice, ["sip:bob@contoso.test", "sip:carol@contoso.test"])
        rlmi, cats = presence_parts(r)
        res = dict(rlmi["resources"])
        assert res["sip:bob@contoso.test"]["state"] == "resubscribe"
        assert res["sip:bob@contoso.test"]["poolFqdn"] == "pool2.contoso.test"
        assert list(cats) == ["sip:carol@contoso.test"]
        # the resubscription sent to that pool is answered directly
        r = await batch_subscribe(sim, alice, ["sip:bob@contoso.test"],
                                  uri="sip:pool2.contoso.test", to="sip:pool2.contoso.test")
        assert list(presence_parts(r)[1]) == ["sip:bob@contoso.test"]
    run(body)


def test_container_members_and_subscribers():
    async def body(sim):
        alice, bob = sim.endpoint("alice"), sim.endpoint("bob")
        await subscribe(sim, alice, S.EV_SELF, ROAMING_LIST, D.CT_ROAMING_SELF)
        await batch_subscribe(sim, bob, ["sip:alice@contoso.test"])
        await S.flush(sim)
        subs = [m for m in alice.take() if m.get("Event") == S.EV_SELF]
        assert subs, "alice learns about her new subscriber"
        data = D.parse_roaming_data(subs[-1].body)
        assert data["subscribers"][0]["user"] == "bob@contoso.test"
        assert data["subscribers"][0]["acknowledged"] == "true"  # bob is her contact
        body_ = ('<setContainerMembers xmlns="http://schemas.microsoft.com/2006/09/sip/'
                 'container-management"><container id="200" version="0"><member action="add" '
                 'type="sameEnterprise"/></container><container id="100" version="0">'
                 '<member action="add" type="federated"/></container></setContainerMembers>')
        r = await handle(sim, alice, alice.request(
            "SERVICE", content_type=D.CT_SET_CONTAINER_MEMBERS, body=body_))
        assert r.code == 200
        upd = [m for m in alice.take() if m.get("Event") == S.EV_SELF][-1]
        assert D.parse_roaming_data(upd.body)["containers"][200] == (1, [("sameEnterprise",
                                                                         None)])
        assert bob.take()  # watchers re-notified
        r = await handle(sim, alice, alice.request(
            "SERVICE", content_type=D.CT_SET_CONTAINER_MEMBERS, body=body_))
        assert r.code == 409 and D.parse_fault(r.body)[1] == [(1, 0, 1), (2, 0, 1)]
        # block bob: he no longer sees her state
        block = ('<setContainerMembers xmlns="http://schemas.microsoft.com/2006/09/sip/'
                 'container-management"><container id="32000" version="0"><member action="add"'
                 ' type="user" value="bob@contoso.test"/></container></setContainerMembers>')
        await publish(sim, alice, user_state_pubs(3500, 0))
        bob.take()
        r = await handle(sim, alice, alice.request(
            "SERVICE", content_type=D.CT_SET_CONTAINER_MEMBERS, body=block))
        assert r.code == 200
        n = bob.take()[-1]
        assert availability_in(presence_parts(n)[1]["sip:alice@contoso.test"]) is None
        r = await handle(sim, alice, alice.request(
            "SERVICE", content_type=D.CT_SET_SUBSCRIBERS,
            body='<setSubscribers xmlns="http://schemas.microsoft.com/2006/09/sip/'
                 'presence-subscribers"><subscriber user="bob@contoso.test" '
                 'acknowledged="false"/></setSubscribers>'))
        assert r.code == 200
    run(body)


# other requests ------------------------------------------------------------------------------
def test_ocschat_invite_and_odd_requests():
    async def body(sim):
        ep = sim.endpoint("alice")
        r = await handle(sim, ep, ep.request("INVITE", uri="sip:ocschat@contoso.test"))
        assert r.code == 404 and r.get("ms-diagnostics").startswith("4005;")
        assert 'source="pool1.contoso.test"' in r.get("ms-diagnostics")
        assert (await handle(sim, ep, ep.request("INVITE", uri="sip:bob@contoso.test"))).code == 480
        assert await handle(sim, ep, ep.request("ACK", uri="sip:ocschat@contoso.test")) is None
        assert (await handle(sim, ep, ep.request("OPTIONS"))).code == 200
        assert (await handle(sim, ep, ep.request("BYE"))).code == 481
        assert await handle(sim, ep, ep.request("MESSAGE")) is None
        r = await handle(sim, ep, ep.request("SERVICE", uri=f"{ep.uri};gruu;opaque=app:conf:"
                                             "focusfactory", content_type="application/cccp+xml",
                                             body="<request/>"))
        assert r.code == 400  # not a C3P request (sim/features.py answers real ones)
        r = await handle(sim, ep, ep.request("SERVICE", content_type="text/plain", body="x"))
        assert r.code == 415
    run(body)


# control actions -------------------------------------------------------------------------------
def test_control_actions_are_registered():
    for name in ("set_presence", "set_presences", "set_card", "reset_services", "add_contact",
                 "remove_contact", "add_group", "set_dialplan",
                 "set_policy", "set_ucs_mode", "bump_versions", "set_notify_method",
                 "set_presence_routing", "presence", "services_state"):
        assert name in control.ACTIONS


def test_control_set_presence_of_contact_and_user():
    async def body(sim):
        alice, bob = sim.endpoint("alice"), sim.endpoint("bob")
        await batch_subscribe(sim, alice, ["sip:carol@contoso.test", "sip:bob@contoso.test"])
        await subscribe(sim, bob, S.EV_SELF, ROAMING_LIST, D.CT_ROAMING_SELF)
        alice.take(), bob.take()
        res = await control.dispatch(sim, {"action": "set_presence",
                                           "user": "sip:carol@contoso.test",
                                           "availability": 9500, "note": "focus <time>"})
        assert res == {"ok": True, "result": {"watchers": 1, "availability": 9500}}
        n = alice.take()[0]
        cats = presence_parts(n)[1]["sip:carol@contoso.test"]
        assert availability_in(cats) == 9500 and b"focus &lt;time&gt;" in cats
        # a scenario user, even with no published state: userState + note, own clients told
        res = await control.dispatch(sim, {"action": "set_presence", "user": "bob",
                                           "availability": 6500, "note": "busy"})
        assert res["result"] == {"watchers": 1, "availability": 6500}
        n = alice.take()[0]
        assert availability_in(presence_parts(n)[1]["sip:bob@contoso.test"]) == 6500
        own = [m for m in bob.take() if m.get("Event") == S.EV_SELF][0]
        kinds = {(c.name, c.instance) for c in D.parse_roaming_data(own.body)["categories"]}
        assert ("state", S.INSTANCE_USER_STATE) in kinds and ("note", 0) in kinds
        assert S.presence(sim, "bob")["note"] == "busy"
        sim.remove(bob)  # forced presence survives sign-out
        await S.flush(sim)
        assert S.presence(sim, "bob")["availability"] == 6500
        res = await control.dispatch(sim, {"action": "set_presence", "user": "bob", "clear": True})
        assert res["result"]["availability"] == S.OFFLINE
        assert S.presence(sim, "bob")["note"] is None
        res = await control.dispatch(sim, {"action": "set_presence", "user": "nobody"})
        assert not res["ok"]
        res = await control.dispatch(sim, {"action": "set_presences", "updates": [
            {"user": "sip:dave@contoso.test", "availability": 3500},
            {"user": "sip:carol@contoso.test", "availability": 15500}]})
        assert res["result"] == {"updates": 2, "watchers": 1}  # alice watches carol only
        assert S.presence(sim, "sip:carol@contoso.test")["availability"] == 15500
    run(body)


def test_control_set_presences_paced():
    """interval_ms spaces the updates (the n-th no sooner than n * interval_ms after the
    first); a bad interval is refused."""
    async def body(sim):
        alice = sim.endpoint("alice")
        await batch_subscribe(sim, alice, ["sip:carol@contoso.test"])
        alice.take()
        updates = [{"user": "sip:carol@contoso.test", "availability": a}
                   for a in (3500, 6500, 9500, 3500)]
        t0 = time.monotonic()
        res = await control.dispatch(sim, {"action": "set_presences", "updates": updates,
                                           "interval_ms": 30})
        assert time.monotonic() - t0 >= 0.09
        assert res["result"] == {"updates": 4, "watchers": 4}
        assert [availability_in(presence_parts(n)[1]["sip:carol@contoso.test"])
                for n in alice.take()] == [3500, 6500, 9500, 3500]
        for bad in (-1, 1001, "5"):
            res = await control.dispatch(sim, {"action": "set_presences", "updates": updates,
                                               "interval_ms": bad})
            assert not res["ok"]
    run(body)


def card_in(cats_doc):
    """(version, {field: text}) of the contactCard in a categories document."""
    _uri, cats = D.parse_categories(cats_doc)
    card = next(c for c in cats if c.name == "contactCard")
    fields = {D.local_name(e.tag): (e.text or "") for e in card.content.iter()
              if len(e) == 0}
    return card.version, fields


def test_control_set_card_notifies_watchers_and_own_endpoints():
    async def body(sim):
        alice, bob = sim.endpoint("alice"), sim.endpoint("bob")
        r = await batch_subscribe(sim, alice, ["sip:carol@contoso.test",
                                               "sip:bob@contoso.test"])
        await subscribe(sim, bob, S.EV_SELF, ROAMING_LIST, D.CT_ROAMING_SELF)
        assert card_in(presence_parts(r)[1]["sip:carol@contoso.test"])[0] == 1
        alice.take(), bob.take()
        res = await control.dispatch(sim, {"action": "set_card",
                                           "user": "sip:carol@contoso.test",
                                           "title": "Head of <Sales>", "company": "Fabrikam"})
        assert res == {"ok": True, "result": {"watchers": 1, "version": 2}}
        version, fields = card_in(presence_parts(alice.take()[0])[1]["sip:carol@contoso.test"])
        assert version == 2
        assert fields["title"] == "Head of <Sales>" and fields["company"] == "Fabrikam"
        # a scenario user: watchers and the user's own endpoints (roaming-self)
        res = await control.dispatch(sim, {"action": "set_card", "user": "bob",
                                           "title": "Engineer", "email": ""})
        assert res["result"] == {"watchers": 1, "version": 2}
        version, fields = card_in(presence_parts(alice.take()[0])[1]["sip:bob@contoso.test"])
        assert version == 2 and fields["title"] == "Engineer" and "email" not in fields
        own = [m for m in bob.take() if m.get("Event") == S.EV_SELF][0]
        cards = [c for c in D.parse_roaming_data(own.body)["categories"]
                 if c.name == "contactCard"]
        assert len(cards) == 1 and cards[0].version == 2
        res = await control.dispatch(sim, {"action": "set_card", "user": "bob", "age": "3"})
        assert not res["ok"] and "age" in res["error"]
    run(body)


def test_control_add_and_remove_contacts_and_groups():
    async def body(sim):
        ep = sim.endpoint("alice")
        await control.dispatch(sim, {"action": "set_notify_method", "method": "NOTIFY"})
        r = await subscribe(sim, ep, S.EV_CONTACTS)
        assert D.parse_contacts(r.body)["deltaNum"] == 1
        res = await control.dispatch(sim, {"action": "add_contact", "user": "alice",
                                           "uri": "sip:heidi@contoso.test", "name": "Heidi",
                                           "groups": [2], "availability": 3500})
        assert res == {"ok": True, "result": {"deltaNum": 2, "notified": 1}}
        (n,) = ep.take()
        assert n.method == "NOTIFY" and n.get("Event") == S.EV_CONTACTS
        assert n.get("Call-ID") == r.call_id and n.from_addr().tag == r.to_addr().tag
        delta = D.parse_contacts(n.body)
        assert delta["kind"] == "contactDelta"
        assert (delta["deltaNum"], delta["prevDeltaNum"]) == (2, 1)
        assert delta["addedContact"][0]["uri"] == "sip:heidi@contoso.test"
        assert delta["addedContact"][0]["groups"] == "2 "
        assert S.presence(sim, "sip:heidi@contoso.test")["availability"] == 3500
        res = await control.dispatch(sim, {"action": "add_contact", "user": "alice",
                                           "uri": "sip:heidi@contoso.test"})
        assert not res["ok"]
        res = await control.dispatch(sim, {"action": "add_contact", "user": "alice",
                                           "uri": "sip:x@contoso.test", "groups": [99]})
        assert not res["ok"]
        res = await control.dispatch(sim, {"action": "remove_contact", "user": "alice",
                                           "uri": "sip:grace@fabrikam.test"})
        assert res["result"]["deltaNum"] == 3
        delta = D.parse_contacts(ep.take()[0].body)
        assert delta["deletedContact"] == [{"uri": "sip:grace@fabrikam.test"}]
        res = await control.dispatch(sim, {"action": "add_group", "user": "alice", "name": "Golf"})
        assert res["result"]["id"] == 5
        delta = D.parse_contacts(ep.take()[0].body)
        assert delta["addedGroup"][0]["name"] == "Golf"
        # a new subscription sees the result
        r = await subscribe(sim, ep, S.EV_CONTACTS)
        full = D.parse_contacts(r.body)
        assert full["deltaNum"] == 4
        uris = [c["uri"] for c in full["contacts"]]
        assert "sip:heidi@contoso.test" in uris and "sip:grace@fabrikam.test" not in uris
    run(body)


def test_control_ucs_modes():
    async def body(sim):
        ep = sim.endpoint("alice")
        await control.dispatch(sim, {"action": "set_ucs_mode", "user": "alice", "mode": "migrated"})
        got = D.parse_contacts((await subscribe(sim, ep, S.EV_CONTACTS)).body)
        assert got["ucsmode"] == "migrated" and got["contacts"] == []
        await control.dispatch(sim, {"action": "set_ucs_mode", "user": "alice", "mode": "reject"})
        assert (await subscribe(sim, ep, S.EV_CONTACTS)).code == 488
        await control.dispatch(sim, {"action": "set_ucs_mode", "user": "alice"})
        assert (await subscribe(sim, ep, S.EV_CONTACTS)).code == 200
    run(body)


def test_control_dialplan_and_policy_changes_renotify_provisioning():
    async def body(sim):
        a, b = sim.endpoint("alice"), sim.endpoint("bob")
        r = await subscribe(sim, a, S.EV_PROVISIONING, SIPE_PROVISIONING, D.CT_PROVISIONING,
                            expires=0)
        await subscribe(sim, b, S.EV_PROVISIONING, expires=0)  # every group
        res = await control.dispatch(sim, {"action": "set_policy", "group": "ucPolicy",
                                           "values": {"CallViaWorkEnabled": False}})
        assert res == {"ok": True, "result": {"notified": 2}}
        (n,) = a.take()
        assert n.method == "BENOTIFY" and n.get("Event") == S.EV_PROVISIONING
        assert n.get("Call-ID") == r.call_id and n.get("CSeq") == "2 BENOTIFY"
        assert D.parse_provision_group_list(n.body)["ucPolicy"]["CallViaWorkEnabled"] == "false"
        b.take()
        res = await control.dispatch(sim, {"action": "set_policy", "group": "userSetting",
                                           "values": {"PhotoUrl": "https://x/{user}"}})
        assert res["result"]["notified"] == 1 and not a.take()  # alice did not ask for it
        got = D.parse_provision_group_list(b.take()[0].body)
        assert got["userSetting"]["PhotoUrl"] == "https://x/bob"
        res = await control.dispatch(sim, {"action": "set_dialplan", "name": "UK_plan",
                                           "external_access_prefix": None})
        assert res["result"]["notified"] == 2
        got = D.parse_provision_group_list(b.take()[0].body)
        assert got["userSetting"]["ucUserLocationProfile"] == "UK_plan"
        a.take()
        r = await handle(sim, a, a.request(
            "SERVICE", uri=f"{a.uri};opaque=app:locationprofile:get;default"))
        lp = D.parse_location_profile(r.body)
        assert lp["name"] == "UK_plan" and "external_access_prefix" not in lp
        res = await control.dispatch(sim, {"action": "set_dialplan", "rules": [{"x": 1}]})
        assert not res["ok"]
    run(body)


def test_control_services_state():
    async def body(sim):
        ep = sim.endpoint("alice")
        await subscribe(sim, ep, S.EV_CONTACTS)
        res = await control.dispatch(sim, {"action": "services_state", "user": "alice"})
        assert res["ok"] and res["result"][0]["subscriptions"][0]["event"] == S.EV_CONTACTS
        assert res["result"][0]["deltaNum"] == 1
    run(body)


# over the real TLS SIP stack ---------------------------------------------------------------------
@pytest.mark.usefixtures("netns")
def test_signed_flow_over_tls(simrun, make_client, registrar, sim):
    """Two signed-in test clients: provisioning, location profile, roaming, publish with a
    409, batched presence and a presence change crossing pools (alice on pool1, bob on pool2),
    every message signed and verified."""
    async def flow():
        assert (await control.dispatch(sim, {"action": "reset_services"}))["ok"]
        a, b = make_client("alice"), make_client("bob")
        assert (await a.sign_in(registrar("pool1"))).code == 200
        assert (await b.sign_in(registrar("pool2"))).code == 200
        sub = list(SUB_HEADERS)
        r = await a.request("SUBSCRIBE", headers=[("Event", S.EV_PROVISIONING),
                                                  ("Accept", D.CT_PROVISIONING),
                                                  ("Expires", "0")] + sub,
                            body=SIPE_PROVISIONING, content_type=D.CT_PROVISIONING)
        assert r.code == 200 and "ucPolicy" in D.parse_provision_group_list(r.body)
        r = await a.request("SERVICE", uri="sip:alice@contoso.test;opaque=app:locationprofile:"
                                           "get;default;gruu")
        assert r.code == 200 and r.body == D.location_profile(sim.scenario.dialplan)
        r = await a.request("SUBSCRIBE", headers=[("Event", S.EV_SELF)] + sub,
                            body=ROAMING_LIST, content_type=D.CT_ROAMING_SELF)
        assert r.code == 200 and D.parse_roaming_data(r.body)["categories"]
        r = await b.request("SUBSCRIBE", headers=[
            ("Event", "presence"), ("Require", "adhoclist, categoryList")] + sub,
            body=batch_body(b.uri, ["sip:alice@contoso.test"]),
            content_type=D.CT_ADRL_CATEGORYLIST)
        assert r.code == 200
        assert availability_in(presence_parts(r)[1]["sip:alice@contoso.test"]) == S.OFFLINE
        # alice's first publish with stale versions after a bump: 409, then recovery
        body = publish_body(a.uri, user_state_pubs(3500, 0))
        assert (await a.request("SERVICE", body=body,
                                content_type=D.CT_CATEGORY_PUBLISH)).code == 200
        await ctl_bump(sim)
        r = await a.request("SERVICE", body=publish_body(a.uri, user_state_pubs(6500, 1)),
                            content_type=D.CT_CATEGORY_PUBLISH)
        assert r.code == 409 and D.parse_fault(r.body)[1] == [(1, 1, 2), (2, 1, 2)]
        r = await a.request("SERVICE", body=publish_body(a.uri, user_state_pubs(6500, 2)),
                            content_type=D.CT_CATEGORY_PUBLISH)
        assert r.code == 200
        # bob's client receives alice's change, signed
        for _ in range(5):
            n = await b.next_request()
            if n.get("Event") == "presence":
                rl, cats = presence_parts(n)
                if availability_in(cats["sip:alice@contoso.test"]) == 6500:
                    break
        else:
            raise AssertionError("no presence update for bob")
        assert n.method == "BENOTIFY"
        r = await a.request("INVITE", uri="sip:ocschat@contoso.test", body=b"")
        assert r.code == 404 and r.get("ms-diagnostics")
        assert a.bad_signatures == 0 and b.bad_signatures == 0
        await a.sign_out()
        await b.sign_out()
        await control.dispatch(sim, {"action": "reset_services"})
    simrun(flow())


async def ctl_bump(sim):
    res = await control.dispatch(sim, {"action": "bump_versions", "user": "alice",
                                       "category": "state"})
    assert res["ok"]


def _server_configuration(r):
    """{element: text} of the ServerConfiguration group in a provisioning answer."""
    root = ET.fromstring(r.body)
    group = [g for g in root if g.get("name") == "ServerConfiguration"][0]
    return {e.tag.split("}")[-1]: e.text for e in group}


def test_advertised_pool_services_answer(simrun, make_client, registrar, sim, ctl):
    """What the provisioning advertises is served (what SIPE asks right after sign-in):
    MRAS credentials, the focus factory's capabilities, the group expansion metadata; a
    feature turned off is no longer advertised and its requests get 404."""
    from sim import features
    from test_dns_web import get

    async def provisioning(c):
        r = await c.request("SUBSCRIBE", headers=[("Event", S.EV_PROVISIONING),
                                                  ("Accept", D.CT_PROVISIONING),
                                                  ("Expires", "0")] + SUB_HEADERS,
                            body=SIPE_PROVISIONING, content_type=D.CT_PROVISIONING)
        assert r.code == 200
        return _server_configuration(r)

    def mras_request(c, to):
        return (f'<request requestID="77" from="{c.uri}" version="1.0" to="{to}" '
                f'xmlns="{features.NS_MRAS}"><credentialsRequest credentialsRequestID="77">'
                f'<identity>{c.uri}</identity><location>intranet</location>'
                f'<duration>600</duration></credentialsRequest></request>')

    def cccp_request(c, to, what):
        return (f'<request xmlns="{features.NS_CCCP}" C3PVersion="1" to="{to}" '
                f'from="{c.uri}" requestId="5"><{what}/></request>')

    async def flow(c):
        assert (await c.sign_in(registrar("pool1"))).code == 200
        conf = await provisioning(c)
        mras, focus = conf["mrasUri"], conf["focusFactoryUri"]
        assert conf["dlxEnabled"] == "true" and conf["dlxInternalUrl"].startswith("https://")
        r = await c.request("SERVICE", uri=mras, body=mras_request(c, mras),
                            content_type=features.CT_MRAS)
        assert r.code == 200 and r.content_type == features.CT_MRAS
        root = ET.fromstring(r.body)
        ns = {"m": features.NS_MRAS}
        assert root.get("requestID") == "77" and root.get("reasonPhrase") == "OK"
        cred = root.find("m:credentialsResponse", ns)
        assert cred.get("credentialsRequestID") == "77"
        assert cred.findtext("m:credentials/m:duration", namespaces=ns) == "480"
        assert cred.findtext("m:credentials/m:username", namespaces=ns)
        assert cred.findtext("m:mediaRelayList/m:mediaRelay/m:hostName",
                             namespaces=ns) == "sip.contoso.test"
        for what, code in (("getConferencingCapabilities", "success"),
                           ("getAvailableMcuTypes", "success"), ("addConference", "failure")):
            r = await c.request("SERVICE", uri=focus, body=cccp_request(c, focus, what),
                                content_type=features.CT_CCCP)
            assert r.code == 200 and r.content_type == features.CT_CCCP
            root = ET.fromstring(r.body)
            assert (root.get("code"), root.get("requestId")) == (code, "5"), r.body
            if code == "success":
                types = [t.text for t in root.iter(f"{{{features.NS_CCCP}}}mcuType")]
                assert "chat" in types and "audio-video" in types
        assert c.bad_signatures == 0
        return conf, mras, focus

    conf, mras, focus = simrun(flow(make_client("alice")))
    dlx = conf["dlxInternalUrl"]
    host = dlx.split("/")[2]
    st, ct, body = get(sim, sim.scenario.registrar(host).address, host,
                       "/" + dlx.split("/", 3)[3] + "/mex")
    assert st == 200 and ct.startswith("text/xml")
    issuer = ET.fromstring(body).find(".//{http://www.w3.org/2005/08/addressing}Address")
    assert issuer.text == f"https://{host}/WebTicket/WebTicketService.svc"
    assert ctl.counters()["feature_requests"] == {
        "mras credentials": 1, "conferencing getConferencingCapabilities": 1,
        "conferencing getAvailableMcuTypes": 1, "conferencing addConference": 1,
        "dlx mex": 1}

    # turned off: not advertised, and a client that asks anyway gets 404
    assert ctl.set_features(mras=False, conferencing=False, dlx=False) == {
        "mras": False, "conferencing": False, "dlx": False}

    async def off(c):
        assert (await c.sign_in(registrar("pool1"))).code == 200
        conf = await provisioning(c)
        assert not {"mrasUri", "focusFactoryUri", "dlxInternalUrl", "dlxExternalUrl"} & set(conf)
        assert conf["dlxEnabled"] == "false"
        r = await c.request("SERVICE", uri=mras, body=mras_request(c, mras),
                            content_type=features.CT_MRAS)
        assert r.code == 404
        r = await c.request("SERVICE", uri=focus,
                            body=cccp_request(c, focus, "getConferencingCapabilities"),
                            content_type=features.CT_CCCP)
        assert r.code == 404
    simrun(off(make_client("alice")))
    assert get(sim, "127.0.1.11", "pool1.contoso.test",
               "/groupexpansion/service.svc/mex")[0] == 404
    with pytest.raises(Exception, match="unknown feature"):
        ctl.set_features(video=True)


def test_group_expansion_searches_the_directory(sim, users):
    """The DLX port a client finds in the mex answers SearchAbEntry (what SIPE sends for
    every contact after sign-in) with a web ticket for it; without one, a SOAP fault."""
    from sim import features
    from test_tlsdsk import Https, get_ticket
    dlx = f"https://pool1.contoso.test{features.DLX_PATH}"
    status, _, _, ticket = get_ticket(sim, users["alice"], applies_to=dlx)
    assert status == 200

    def search(on, value, assertion):
        body = (f'<?xml version="1.0"?><soap:Envelope '
                f'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
                f'xmlns:wsse="{features.webticket.NS["wsse"]}"><soap:Header><wsse:Security>'
                f'{assertion}</wsse:Security></soap:Header><soap:Body><SearchAbEntry '
                f'xmlns="DistributionListExpander"><AbEntryRequest><ChangeSearch>'
                f'<AbEntryRequest.ChangeSearchQuery><SearchOn>{on}</SearchOn><Value>{value}'
                f'</Value></AbEntryRequest.ChangeSearchQuery></ChangeSearch><Metadata>'
                f'<MaxResultNum>5</MaxResultNum></Metadata></AbEntryRequest></SearchAbEntry>'
                f'</soap:Body></soap:Envelope>')
        conn = Https(sim, "pool1.contoso.test")
        try:
            return conn.request("POST", f"{features.DLX_PATH}/{features.DLX_PORT}", body,
                                {"Content-Type": "text/xml; charset=utf-8"})
        finally:
            conn.close()

    def entries(body):
        root = ET.fromstring(body)
        return [{a.findtext("{DistributionListExpander}Name"):
                 a.findtext("{DistributionListExpander}Value")
                 for a in e.iter("{DistributionListExpander}Attribute")}
                for e in root.iter("{DistributionListExpander}AbEntry")]

    status, _, body = search("msRTCSIP-PrimaryUserAddress", "sip:carol@contoso.test",
                             ticket.assertion)
    assert status == 200
    assert entries(body) == [{"msRTCSIP-PrimaryUserAddress": "sip:carol@contoso.test",
                              "displayName": "Carol Clark", "mail": "carol@contoso.test",
                              "title": "Engineer", "telephoneNumber": "+441785100200"}]
    status, _, body = search("displayName", "b", ticket.assertion)
    assert [e["displayName"] for e in entries(body)] == ["Bob Baker"]
    assert "password" not in body.decode().lower()
    # another organisation's person is not in this directory
    assert entries(search("msRTCSIP-PrimaryUserAddress", "sip:grace@fabrikam.test",
                          ticket.assertion)[2]) == []
    altered = ticket.assertion.replace("Assertion ", 'Assertion x="1" ', 1)
    status, _, body = search("displayName", "b", altered)
    assert status == 500 and b"web ticket" in body
