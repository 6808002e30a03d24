# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbsim's Exchange (sim/exchange.py, sim/ews.py, sim/mailbox.py): autodiscover on each URL
and through the SRV record, redirects and their loop, HTTP authentication (NTLM, Negotiate
with Kerberos or NTLM, Basic), each EWS operation's document parsed back with lxml, the
control actions and the MWI category over SIP.

The session's Sim (conftest) runs the default scenario on 127.0.x; this module runs its own
Sim on scenarios/exchange.toml moved to 127.8.x (DNS 127.8.0.1, KDC 127.8.3.1) in the same
private network namespace, and resets its Exchange after every test."""

import os
import time

import pytest
from dnslib import DNSRecord
from lxml import etree

from conftest import SimThread
from sim.control import ControlError
from sim.httpclient import BasicAuth, GssAuth, HttpsClient, NtlmAuth
from sim.scenario import Scenario, load_toml

pytestmark = pytest.mark.usefixtures("netns")

HERE = os.path.dirname(os.path.abspath(__file__))
EXCHANGE = os.path.join(HERE, "scenarios", "exchange.toml")
NS = {"s": "http://schemas.xmlsoap.org/soap/envelope/",
      "m": "http://schemas.microsoft.com/exchange/services/2006/messages",
      "t": "http://schemas.microsoft.com/exchange/services/2006/types",
      "r": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
      "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
AD_PATH = "/autodiscover/autodiscover.xml"
EWS_PATH = "/EWS/Exchange.asmx"
PASSWORD = "Passw0rd!"


def relocate(data, old="127.0.", new="127.8."):
    if isinstance(data, dict):
        return {k: relocate(v, old, new) for k, v in data.items()}
    if isinstance(data, list):
        return [relocate(v, old, new) for v in data]
    if isinstance(data, str) and data.startswith(old):
        return new + data[len(old):]
    return data


@pytest.fixture(scope="module")
def exsim(netns, tmp_path_factory):
    sc = Scenario(relocate(load_toml(EXCHANGE)), EXCHANGE)
    st = SimThread(sc, str(tmp_path_factory.mktemp("exsim")))
    yield st
    st.close()


@pytest.fixture
def ex(exsim):
    """The control client; after the test the Exchange and the services are reset."""
    yield exsim.ctl
    exsim.ctl.reset_exchange()
    exsim.ctl.reset_services()
    exsim.ctl.reset_counters()


def host(exsim, role):
    c = exsim.sim.scenario.exchange
    return {"mail": (c["mail_fqdn"], c["mail_address"]),
            "autodiscover": (c["autodiscover_fqdn"], c["autodiscover_address"]),
            "domain": (exsim.sim.scenario.domain, c["domain_address"])}[role]


def client(exsim, role="mail"):
    name, addr = host(exsim, role)
    return HttpsClient(name, addr, exsim.sim.certs.ca_file)


def ntlm(user="alice", password=PASSWORD, scheme="NTLM"):
    return NtlmAuth("CONTOSO", user, password, scheme)


def pox(email):
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="http://schemas.'
            f'microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request>'
            f'<EMailAddress>{email}</EMailAddress><AcceptableResponseSchema>http://schemas.'
            f'microsoft.com/exchange/autodiscover/outlook/responseschema/2006a'
            f'</AcceptableResponseSchema></Request></Autodiscover>').encode()


def soap(body, version=None):
    head = (f'<soap:Header><t:RequestServerVersion Version="{version}"/></soap:Header>'
            if version else "")
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="{NS["s"]}" '
            f'xmlns:t="{NS["t"]}" xmlns:m="{NS["m"]}">{head}<soap:Body>{body}</soap:Body>'
            f'</soap:Envelope>').encode()


def xml(resp):
    return etree.fromstring(resp.body)


def dns(exsim, name, qtype):
    q = DNSRecord.question(name, qtype)
    return DNSRecord.parse(q.send(exsim.sim.scenario.data["dns"]["address"], 53, timeout=5))


# autodiscover ----------------------------------------------------------------------------------
def settings_of(resp):
    assert resp.status == 200, resp.body
    assert resp.content_type == "text/xml"
    doc = xml(resp)
    assert doc.tag == f"{{{NS['r']}}}Autodiscover"
    out = {}
    for p in doc.findall("o:Response/o:Account/o:Protocol", NS):
        t = p.findtext("o:Type", None, NS)
        out[t] = {k: p.findtext(f"o:{k}", None, NS) for k in
                  ("Server", "ASUrl", "EwsUrl", "OOFUrl", "UMUrl", "OABUrl")}
    out["Action"] = doc.findtext("o:Response/o:Account/o:Action", None, NS)
    out["LegacyDN"] = doc.findtext("o:Response/o:User/o:LegacyDN", None, NS)
    return out


@pytest.mark.parametrize("role", ["domain", "autodiscover", "mail"])
def test_autodiscover_each_url_answers_settings_with_ntlm(exsim, ex, role):
    c = client(exsim, role)
    try:
        r = c.post(AD_PATH, pox("alice@contoso.test"), auth=ntlm())
    finally:
        c.close()
    assert r.rounds == 3  # 401 offers, 401 challenge, 200
    s = settings_of(r)
    ews = "https://mail.contoso.test/EWS/Exchange.asmx"
    assert s["Action"] == "settings"
    for t in ("EXCH", "EXPR"):
        assert s[t]["EwsUrl"] == ews and s[t]["ASUrl"] == ews and s[t]["OOFUrl"] == ews
        assert s[t]["UMUrl"] == "https://mail.contoso.test/EWS/UM2007Legacy.asmx"
        assert s[t]["Server"] == "mail.contoso.test"
    assert s["LegacyDN"].endswith("/cn=alice")
    recs = ex.exchange_requests(kind="autodiscover")
    assert [(e["role"], e["status"], e.get("answer")) for e in recs][-1] == (
        role, 200, "settings")
    assert recs[-1]["email"] == "alice@contoso.test" and recs[-1]["user"] == "alice"


def test_unauthenticated_autodiscover_offers_negotiate_and_ntlm(exsim, ex):
    c = client(exsim, "autodiscover")
    try:
        r = c.post(AD_PATH, pox("alice@contoso.test"))
    finally:
        c.close()
    assert r.status == 401
    assert r.headers_named("WWW-Authenticate") == ["Negotiate", "NTLM"]


def test_wrong_password_is_refused(exsim, ex):
    c = client(exsim, "autodiscover")
    try:
        r = c.post(AD_PATH, pox("alice@contoso.test"), auth=ntlm(password="wrong"))
    finally:
        c.close()
    assert r.status == 401 and r.rounds == 3  # offers, challenge, refused
    assert r.headers_named("WWW-Authenticate") == ["Negotiate", "NTLM"]
    assert ex.counters()["exchange_auth_failures"]["*"] >= 1


def test_srv_record_names_the_mail_host(exsim, ex):
    ans = dns(exsim, "_autodiscover._tcp.contoso.test", "SRV")
    srv = [(r.rdata.port, str(r.rdata.target)) for r in ans.rr]
    assert srv == [(443, "mail.contoso.test.")]
    a = dns(exsim, "mail.contoso.test", "A")
    assert [str(r.rdata) for r in a.rr] == [host(exsim, "mail")[1]]
    assert [str(r.rdata) for r in dns(exsim, "contoso.test", "A").rr] == [host(exsim, "domain")[1]]


# EWS: availability and OOF ---------------------------------------------------------------------
SIPE_TZ = ("<t:TimeZone><t:Bias>0</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>00:00:00"
           "</t:Time><t:DayOrder>0</t:DayOrder><t:Month>0</t:Month><t:DayOfWeek>Sunday"
           "</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>0</t:Bias><t:Time>00:00:00"
           "</t:Time><t:DayOrder>0</t:DayOrder><t:Month>0</t:Month><t:DayOfWeek>Sunday"
           "</t:DayOfWeek></t:DaylightTime></t:TimeZone>")


def iso(ts, z=False):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ("Z" if z else "")


def parse_iso(text):
    import datetime
    return datetime.datetime.fromisoformat(text.replace("Z", "")).replace(
        tzinfo=datetime.timezone.utc).timestamp()


def availability(emails, start, end, view="DetailedMerged", interval=15):
    boxes = "".join(f"<t:MailboxData><t:Email><t:Address>{e}</t:Address></t:Email>"
                    "<t:AttendeeType>Required</t:AttendeeType><t:ExcludeConflicts>false"
                    "</t:ExcludeConflicts></t:MailboxData>" for e in emails)
    return soap(f'<GetUserAvailabilityRequest xmlns="{NS["m"]}">{SIPE_TZ}'
                f"<MailboxDataArray>{boxes}</MailboxDataArray><t:FreeBusyViewOptions>"
                f"<t:TimeWindow><t:StartTime>{iso(start)}</t:StartTime><t:EndTime>{iso(end)}"
                f"</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>{interval}"
                f"</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>{view}"
                f"</t:RequestedView></t:FreeBusyViewOptions></GetUserAvailabilityRequest>")


def ews(exsim, body, user="alice", password=PASSWORD):
    c = client(exsim, "mail")
    try:
        return c.post(EWS_PATH, body, auth=NtlmAuth("CONTOSO", user, password),
                      content_type="text/xml; charset=utf-8")
    finally:
        c.close()


def test_get_user_availability_detailed_merged(exsim, ex):
    now = time.time()
    start = now - now % 86400 - 86400  # SIPE: yesterday 00:00 UTC, 4 days
    r = ews(exsim, availability(["alice@contoso.test"], start, start + 4 * 86400 - 1))
    assert r.status == 200 and r.content_type == "text/xml"
    doc = xml(r)
    fb = doc.find("s:Body/m:GetUserAvailabilityResponse/m:FreeBusyResponseArray/"
                  "m:FreeBusyResponse", NS)
    assert fb.find("m:ResponseMessage", NS).get("ResponseClass") == "Success"
    view = fb.find("m:FreeBusyView", NS)
    assert view.findtext("t:FreeBusyViewType", None, NS) == "DetailedMerged"
    events = view.findall("t:CalendarEventArray/t:CalendarEvent", NS)
    assert len(events) == 2
    first = events[0]
    s, e = parse_iso(first.findtext("t:StartTime", None, NS)), \
        parse_iso(first.findtext("t:EndTime", None, NS))
    assert abs(s - (now - 600)) < 5 and abs(e - s - 3600) < 1
    assert first.findtext("t:BusyType", None, NS) == "Busy"
    d = first.find("t:CalendarEventDetails", NS)
    assert (d.findtext("t:Subject", None, NS), d.findtext("t:Location", None, NS),
            d.findtext("t:IsMeeting", None, NS)) == ("Project review", "Room 1", "true")
    merged = view.findtext("t:MergedFreeBusy", None, NS)
    assert len(merged) == 4 * 96
    slot = int((now - start) // 900)
    assert merged[slot] == "2" and merged[slot - 2] == "0"
    assert set(merged) == {"0", "2"}
    wh = view.find("t:WorkingHours", NS)
    p = wh.find("t:WorkingPeriodArray/t:WorkingPeriod", NS)
    assert p.findtext("t:DayOfWeek", None, NS) == "Monday Tuesday Wednesday Thursday Friday"
    assert (p.findtext("t:StartTimeInMinutes", None, NS),
            p.findtext("t:EndTimeInMinutes", None, NS)) == ("480", "1020")
    assert wh.findtext("t:TimeZone/t:Bias", None, NS) == "0"
    assert ex.counters()["ews_requests"] == {"GetUserAvailability": 1}


def test_get_user_availability_unknown_mailbox_and_free_busy_view(exsim, ex):
    now = time.time()
    r = ews(exsim, availability(["nobody@contoso.test", "alice@contoso.test"], now - 3600,
                                now + 3600, view="FreeBusy"))
    doc = xml(r)
    fbs = doc.findall(".//m:FreeBusyResponse", NS)
    assert fbs[0].find("m:ResponseMessage", NS).get("ResponseClass") == "Error"
    assert fbs[0].findtext("m:ResponseMessage/m:ResponseCode", None, NS) == \
        "ErrorMailRecipientNotFound"
    ev = fbs[1].findall("m:FreeBusyView/t:CalendarEventArray/t:CalendarEvent", NS)
    assert len(ev) == 1 and ev[0].find("t:CalendarEventDetails", NS) is None
    assert fbs[1].find("m:FreeBusyView/t:MergedFreeBusy", NS) is None


def oof_request(email):
    return soap(f'<GetUserOofSettingsRequest xmlns="{NS["m"]}"><Mailbox xmlns="{NS["t"]}">'
                f"<Address>{email}</Address></Mailbox></GetUserOofSettingsRequest>")


def oof_of(resp):
    doc = xml(resp)
    r = doc.find("s:Body/m:GetUserOofSettingsResponse", NS)
    assert r.find("m:ResponseMessage", NS).get("ResponseClass") == "Success"
    s = r.find("t:OofSettings", NS)
    return {"state": s.findtext("t:OofState", None, NS),
            "internal": s.findtext("t:InternalReply/t:Message", None, NS),
            "external": s.findtext("t:ExternalReply/t:Message", None, NS),
            "start": parse_iso(s.findtext("t:Duration/t:StartTime", None, NS)),
            "end": parse_iso(s.findtext("t:Duration/t:EndTime", None, NS))}


def test_get_user_oof_settings_follows_set_oof(exsim, ex):
    o = oof_of(ews(exsim, oof_request("alice@contoso.test")))
    assert o["state"] == "Disabled"
    ex.set_oof(user="alice", state="Enabled", message="<p>Away &amp; back Monday</p>")
    o = oof_of(ews(exsim, oof_request("alice@contoso.test")))
    assert o["state"] == "Enabled" and o["internal"] == "<p>Away &amp; back Monday</p>"
    ex.set_oof(user="alice", state="Scheduled", message="Trip", start="1h", end="2d")
    o = oof_of(ews(exsim, oof_request("alice@contoso.test")))
    assert o["state"] == "Scheduled" and abs(o["start"] - time.time() - 3600) < 5
    assert abs(o["end"] - time.time() - 2 * 86400) < 5
    assert ex.mailbox(user="alice")["oof_active"] is False
    ex.set_oof(user="alice", state="Disabled")
    assert oof_of(ews(exsim, oof_request("alice@contoso.test")))["state"] == "Disabled"


def test_oof_of_another_mailbox_is_denied(exsim, ex):
    doc = xml(ews(exsim, oof_request("bob@contoso.test")))
    assert doc.findtext(".//m:ResponseMessage/m:ResponseCode", None, NS) == "ErrorAccessDenied"
