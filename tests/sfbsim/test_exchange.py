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


# autodiscover: redirects, loop, faults ---------------------------------------------------------
def post_ad(exsim, role, email="alice@contoso.test", auth=None):
    c = client(exsim, role)
    try:
        return c.post(AD_PATH, pox(email), auth=auth or ntlm())
    finally:
        c.close()


def account(resp):
    assert resp.status == 200 and resp.content_type == "text/xml", resp.body
    doc = xml(resp)
    a = doc.find("o:Response/o:Account", NS)
    return {k: a.findtext(f"o:{k}", None, NS) for k in ("Action", "RedirectAddr", "RedirectUrl")}


def test_alias_gets_redirect_addr_to_the_primary_address(exsim, ex):
    a = account(post_ad(exsim, "autodiscover", "Alice.Anderson@contoso.test"))
    assert a == {"Action": "redirectAddr", "RedirectAddr": "alice@contoso.test",
                 "RedirectUrl": None}


def test_unknown_address_and_bad_requests_are_pox_errors(exsim, ex):
    r = post_ad(exsim, "autodiscover", "nobody@contoso.test")
    doc = xml(r)
    assert doc.findtext("r:Response/r:Error/r:ErrorCode", None, NS) == "500"
    c = client(exsim, "autodiscover")
    try:
        r = c.post(AD_PATH, pox("alice@contoso.test").replace(b"2006a", b"2006b"), auth=ntlm())
    finally:
        c.close()
    assert xml(r).findtext("r:Response/r:Error/r:ErrorCode", None, NS) == "601"


def test_redirect_url_and_302_modes(exsim, ex):
    ex.set_exchange(autodiscover="redirect-url")
    a = account(post_ad(exsim, "autodiscover"))
    assert a["Action"] == "redirectUrl"
    assert a["RedirectUrl"] == "https://mail.contoso.test/autodiscover/autodiscover.xml"
    ex.set_exchange(domain="redirect-302")
    r = post_ad(exsim, "domain")
    assert r.status == 302
    assert r.header("Location") == "https://mail.contoso.test/autodiscover/autodiscover.xml"
    # the target answers the settings
    assert settings_of(post_ad(exsim, "mail"))["Action"] == "settings"


@pytest.mark.parametrize("loop", ["url", "addr"])
def test_redirect_loop_never_ends(exsim, ex, loop):
    ex.set_exchange(redirect_loop=loop)
    role, email, seen = "domain", "alice@contoso.test", []
    for _ in range(12):  # a client gives up after 10; sfbsim keeps redirecting
        a = account(post_ad(exsim, role, email))
        if loop == "url":
            assert a["Action"] == "redirectUrl"
            role = "mail" if "mail." in a["RedirectUrl"] else "autodiscover"
            seen.append(a["RedirectUrl"])
        else:
            assert a["Action"] == "redirectAddr" and a["RedirectAddr"] != email
            email = a["RedirectAddr"]
            seen.append(email)
    assert len(set(seen)) == 2
    answered = [e for e in ex.exchange_requests(kind="autodiscover") if e["status"] == 200]
    assert len(answered) == 12 and all(e["answer"].startswith("redirect") for e in answered)


def test_modes_off_refused_content_type_and_status(exsim, ex):
    ex.set_exchange(autodiscover="off", srv="off")
    assert dns(exsim, "autodiscover.contoso.test", "A").rr == []
    assert dns(exsim, "_autodiscover._tcp.contoso.test", "SRV").rr == []
    ex.set_exchange(autodiscover="ok", srv="refused", domain="refused")
    assert [str(r.rdata) for r in dns(exsim, "autodiscover.contoso.test", "A").rr]
    assert [r.rdata.port for r in dns(exsim, "_autodiscover._tcp.contoso.test", "SRV").rr] \
        == [444]
    with pytest.raises(ConnectionRefusedError):
        post_ad(exsim, "domain")
    ex.set_exchange(autodiscover="content-type", domain=500)
    r = post_ad(exsim, "autodiscover")
    assert r.status == 200 and r.content_type == "text/html"
    assert post_ad(exsim, "domain").status == 500
    ex.set_exchange(domain="ok", autodiscover="ok", srv="ok")
    assert settings_of(post_ad(exsim, "domain"))["Action"] == "settings"
    with pytest.raises(ControlError, match="autodiscover"):
        ex.set_exchange(autodiscover="sideways")


def test_exchange_down_refused_and_http_status(exsim, ex):
    ex.set_exchange(status="refused")
    for role in ("mail", "autodiscover", "domain"):
        with pytest.raises(ConnectionRefusedError):
            post_ad(exsim, role)
    ex.set_exchange(status=503)
    r = ews(exsim, oof_request("alice@contoso.test"))
    assert r.status == 503 and r.header("Retry-After") == "30"
    ex.set_exchange(status=401)
    r = ews(exsim, oof_request("alice@contoso.test"))  # correct credentials, still refused
    assert r.status == 401 and r.headers_named("WWW-Authenticate") == ["Negotiate", "NTLM"]
    ex.set_exchange(status="up")
    assert oof_of(ews(exsim, oof_request("alice@contoso.test")))["state"] == "Disabled"
    # 401: the bare request and the NTLM NEGOTIATE, then the client gives up
    assert ex.counters()["exchange_refusals"] == {"mail.contoso.test 503": 1,
                                                  "mail.contoso.test 401": 2}


def test_plain_http_probe_redirects_to_https(exsim, ex):
    import http.client
    name, addr = host(exsim, "autodiscover")
    c = http.client.HTTPConnection(addr, 80, timeout=10)
    try:
        c.request("GET", "/Autodiscover/Autodiscover.xml", headers={"Host": name})
        r = c.getresponse()
        r.read()
        assert r.status == 302
        assert r.getheader("Location") == \
            "https://autodiscover.contoso.test/Autodiscover/Autodiscover.xml"
        c.request("POST", AD_PATH, body=pox("alice@contoso.test"), headers={"Host": name})
        r = c.getresponse()
        r.read()
        assert r.status == 403
    finally:
        c.close()


# HTTP authentication ---------------------------------------------------------------------------
def krb5_conf(exsim):
    return exsim.sim.kdc.krb5_conf


@pytest.mark.parametrize("spnego", [True, False])
def test_negotiate_kerberos_for_each_host(exsim, ex, spnego):
    for role in ("mail", "autodiscover", "domain"):
        auth = GssAuth(krb5_conf(exsim), "alice@CONTOSO.TEST", PASSWORD, spnego=spnego)
        r = post_ad(exsim, role, auth=auth)
        assert settings_of(r)["Action"] == "settings"
        assert r.rounds == 2  # offers, then the token: one leg
        assert auth.server_token_ok  # the 200's answer token completed mutual auth
    logons = ex.counters()["exchange_logons"]
    assert logons == {"alice Negotiate/Kerberos": 3}
    form = "spnego" if spnego else "krb5"
    assert ex.counters()["exchange_negotiate_tokens"] == {form: 3}


def test_negotiate_spnego_ntlm(exsim, ex):
    auth = GssAuth(krb5_conf(exsim), password=PASSWORD, ntlm_login="CONTOSO\\alice",
                   mutual=False)
    r = post_ad(exsim, "mail", auth=auth)
    assert settings_of(r)["Action"] == "settings" and r.rounds == 3
    assert ex.counters()["exchange_logons"] == {"alice Negotiate/NTLM": 1}
    assert ex.counters()["exchange_negotiate_tokens"] == {"spnego": 1}
    bad = GssAuth(krb5_conf(exsim), password="wrong", ntlm_login="CONTOSO\\alice",
                  mutual=False)
    assert post_ad(exsim, "mail", auth=bad).status == 401


def test_negotiate_with_raw_ntlmssp(exsim, ex):
    r = post_ad(exsim, "autodiscover", auth=ntlm(scheme="Negotiate"))
    assert settings_of(r)["Action"] == "settings" and r.rounds == 3
    assert ex.counters()["exchange_logons"] == {"alice NTLM": 1}


def test_basic_only_when_offered(exsim, ex):
    auth = BasicAuth("CONTOSO\\alice", PASSWORD)
    assert post_ad(exsim, "autodiscover", auth=auth).status == 401
    ex.set_exchange(auth=["Negotiate", "NTLM", "Basic"])
    r = post_ad(exsim, "autodiscover", auth=auth)
    assert settings_of(r)["Action"] == "settings"
    assert post_ad(exsim, "autodiscover", auth=BasicAuth("alice@contoso.test", "no")).status \
        == 401


def test_connection_stays_authenticated(exsim, ex):
    c = client(exsim, "mail")
    try:
        r1 = c.post(EWS_PATH, oof_request("alice@contoso.test"), auth=ntlm())
        r2 = c.post(EWS_PATH, oof_request("alice@contoso.test"))
    finally:
        c.close()
    assert (r1.status, r1.rounds, r2.status, r2.rounds) == (200, 3, 200, 1)


# EWS: folders, items, faults -------------------------------------------------------------------
def get_folder(folder, mailbox=None):
    mbx = f"<t:Mailbox><t:EmailAddress>{mailbox}</t:EmailAddress></t:Mailbox>" if mailbox else ""
    return soap(f'<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>'
                f'</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="{folder}">{mbx}'
                f'</t:DistinguishedFolderId></m:FolderIds></m:GetFolder>', "Exchange2013")


def folder_of(resp):
    assert resp.status == 200, resp.body
    m = xml(resp).find("s:Body/m:GetFolderResponse/m:ResponseMessages/"
                       "m:GetFolderResponseMessage", NS)
    if m.get("ResponseClass") != "Success":
        return {"error": m.findtext("m:ResponseCode", None, NS)}
    f = next(iter(m.find("m:Folders", NS)))
    out = {"kind": etree.QName(f).localname, "id": f.find("t:FolderId", NS).get("Id")}
    for k in ("DisplayName", "TotalCount", "UnreadCount", "ChildFolderCount"):
        out[k] = f.findtext(f"t:{k}", None, NS)
    return out


def test_voicemail_folder_counts_follow_control_actions(exsim, ex):
    f = folder_of(ews(exsim, get_folder("voicemail", "alice@contoso.test")))
    assert (f["kind"], f["DisplayName"], f["UnreadCount"], f["TotalCount"]) == \
        ("SearchFolder", "Voice Mail", "2", "3")
    assert ex.add_voicemail(user="alice", **{"from": "Erin Evans"}) == {"unread": 3,
                                                                        "notified": 0}
    assert folder_of(ews(exsim, get_folder("voicemail")))["UnreadCount"] == "3"
    assert ex.read_voicemails(user="alice", count=2)["unread"] == 1
    f = folder_of(ews(exsim, get_folder("voicemail")))
    assert (f["UnreadCount"], f["TotalCount"]) == ("1", "4")
    assert folder_of(ews(exsim, get_folder("voicemail", "bob@contoso.test"))) == {
        "error": "ErrorAccessDenied"}
    assert folder_of(ews(exsim, get_folder("voicemail"), "bob", "Secr3t-Bob"))[
        "UnreadCount"] == "0"


def missed_request(parent):
    return soap(
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
        '<t:AdditionalProperties><t:FieldURI FieldURI="item:ItemClass"/>'
        '<t:FieldURI FieldURI="message:IsRead"/></t:AdditionalProperties></m:ItemShape>'
        '<m:IndexedPageItemView MaxEntriesReturned="1" Offset="0" BasePoint="Beginning"/>'
        '<m:Restriction><t:And><t:Contains ContainmentMode="Prefixed" '
        'ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="item:ItemClass"/>'
        '<t:Constant Value="IPM.Note.Microsoft.Missed"/></t:Contains><t:IsEqualTo>'
        '<t:FieldURI FieldURI="message:IsRead"/><t:FieldURIOrConstant><t:Constant '
        'Value="false"/></t:FieldURIOrConstant></t:IsEqualTo></t:And></m:Restriction>'
        f'<m:ParentFolderIds>{parent}</m:ParentFolderIds></m:FindItem>', "Exchange2013")


def find_items(resp):
    assert resp.status == 200, resp.body
    m = xml(resp).find("s:Body/m:FindItemResponse/m:ResponseMessages/"
                       "m:FindItemResponseMessage", NS)
    if m.get("ResponseClass") != "Success":
        return m.findtext("m:ResponseCode", None, NS), []
    rf = m.find("m:RootFolder", NS)
    return int(rf.get("TotalItemsInView")), list(rf.find("t:Items", NS))


def test_missed_conversations_count_by_find_item(exsim, ex):
    parent = '<t:DistinguishedFolderId Id="conversationhistory"/>'
    total, items = find_items(ews(exsim, missed_request(parent)))
    assert total == 3 and len(items) == 1
    assert items[0].findtext("t:ItemClass", None, NS) == "IPM.Note.Microsoft.Missed"
    assert items[0].findtext("t:IsRead", None, NS) == "false"
    assert items[0].find("t:Subject", NS) is None  # IdOnly: only what was asked
    f = folder_of(ews(exsim, get_folder("conversationhistory")))
    assert (f["DisplayName"], f["TotalCount"], f["UnreadCount"]) == (
        "Conversation History", "5", "3")
    assert ex.add_missed(user="alice", **{"from": "sip:frank@contoso.test"}) == 4
    assert ex.add_missed(user="alice", kind="call", name="Frank") == 5
    assert ex.add_missed(user="alice", kind="conversation") == 5  # a read record
    assert find_items(ews(exsim, missed_request(parent)))[0] == 5
    assert ex.read_missed(user="alice") == 0
    assert find_items(ews(exsim, missed_request(parent)))[0] == 0
    assert ex.mailbox(user="alice")["missed_conversations"] == 0


def test_conversation_history_by_name_on_exchange_2010(exsim, ex):
    ex.set_exchange(version="Exchange2010_SP2")
    r = ews(exsim, get_folder("conversationhistory"))
    assert r.status == 500
    assert xml(r).findtext("s:Body/s:Fault/faultcode", None, NS) == "a:ErrorSchemaValidation"
    r = ews(exsim, soap(
        '<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>Default</t:BaseShape>'
        '</m:FolderShape><m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="folder:DisplayName"/>'
        '<t:FieldURIOrConstant><t:Constant Value="Conversation History"/></t:FieldURIOrConstant>'
        '</t:IsEqualTo></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId '
        'Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>', "Exchange2010_SP1"))
    doc = xml(r)
    assert doc.find("s:Header/t:ServerVersionInfo", NS).get("MajorVersion") == "14"
    rf = doc.find(".//m:FindFolderResponseMessage/m:RootFolder", NS)
    assert rf.get("TotalItemsInView") == "1"
    f = rf.find("t:Folders/t:Folder", NS)
    assert f.findtext("t:DisplayName", None, NS) == "Conversation History"
    fid = f.find("t:FolderId", NS).get("Id")
    total, _ = find_items(ews(exsim, missed_request(f'<t:FolderId Id="{fid}"/>')))
    assert total == 3


def test_find_item_calendar_view(exsim, ex):
    now = time.time()
    body = soap(f'<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default'
                f'</t:BaseShape></m:ItemShape><m:CalendarView StartDate="{iso(now - 3600, 1)}" '
                f'EndDate="{iso(now + 3600, 1)}"/><m:ParentFolderIds><t:DistinguishedFolderId '
                f'Id="calendar"/></m:ParentFolderIds></m:FindItem>')
    total, items = find_items(ews(exsim, body))
    assert total == 1
    it = items[0]
    assert etree.QName(it).localname == "CalendarItem"
    assert (it.findtext("t:Subject", None, NS), it.findtext("t:Location", None, NS),
            it.findtext("t:LegacyFreeBusyStatus", None, NS),
            it.findtext("t:IsMeeting", None, NS)) == ("Project review", "Room 1", "Busy", "true")
    assert abs(parse_iso(it.findtext("t:Start", None, NS)) - (now - 600)) < 5
    # a meeting added, then the current one ended: the view follows
    mid = ex.add_meeting(user="alice", subject="Standup", start="-1m", duration="15m",
                         location="Online")
    assert find_items(ews(exsim, body))[0] == 2
    assert ex.end_meeting(user="alice", meeting="Project review") == 1
    assert ex.mailbox(user="alice")["in_meeting"] is True  # the standup
    assert ex.remove_meeting(user="alice", meeting=mid) == 1
    assert ex.mailbox(user="alice")["in_meeting"] is False
    total, items = find_items(ews(exsim, body))
    assert total == 1 and parse_iso(items[0].findtext("t:End", None, NS)) <= time.time() + 1


def test_faults_and_server_version(exsim, ex):
    r = ews(exsim, soap("<m:DeleteEverything/>"))
    assert r.status == 500
    doc = xml(r)
    assert doc.findtext("s:Body/s:Fault/faultcode", None, NS) == "a:ErrorSchemaValidation"
    assert doc.findtext("s:Body/s:Fault/detail/{http://schemas.microsoft.com/exchange/"
                        "services/2006/errors}ResponseCode", None, NS) == "ErrorSchemaValidation"
    r = ews(exsim, get_folder("inbox").replace(b"Exchange2013", b"Exchange2099"))
    assert xml(r).findtext("s:Body/s:Fault/faultcode", None, NS) == "a:ErrorInvalidServerVersion"
    for v in ("Exchange2007_SP1", "Exchange2010", "V2017_07_11"):  # lenient
        r = ews(exsim, get_folder("inbox").replace(b"Exchange2013", v.encode()))
        assert folder_of(r)["DisplayName"] == "Inbox"
        assert xml(r).find("s:Header/t:ServerVersionInfo", NS).get("MajorVersion") == "15"
    assert ews(exsim, b"<not xml").status == 500
    recs = [e for e in ex.exchange_requests(kind="ews") if e["status"] != 401]
    assert [e["operation"] for e in recs] == ["DeleteEverything", "GetFolder", "GetFolder",
                                              "GetFolder", "GetFolder", None]
    assert ex.counters()["ews_requests"] == {"DeleteEverything": 1, "GetFolder": 4,
                                             "invalid": 1}


# MWI over SIP ----------------------------------------------------------------------------------
ROAMING_LIST = ('<roamingList xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self">'
                '<roaming type="categories"/><roaming type="containers"/>'
                '<roaming type="subscribers"/></roamingList>')
SUB_HEADERS = [("Event", "vnd-microsoft-roaming-self"), ("Supported", "ms-benotify"),
               ("Supported", "ms-piggyback-first-notify")]
NS_MWI = "{http://schemas.microsoft.com/2006/09/sip/mwi}mwi"


def mwi_of(body):
    from sim import documents as D
    cats = [c for c in D.parse_roaming_data(body).get("categories", []) if c.name == "mwi"]
    assert len(cats) <= 1
    if not cats:
        return None
    c = cats[0]
    assert (c.instance, c.container, c.expire_type) == (0, 1, "static")
    assert c.content.tag == NS_MWI
    return (c.content.get("messageWaiting"), c.content.get("unreadVoiceMailCount"),
            c.content.get("readVoiceMailCount"), c.version)


def test_mwi_in_roaming_self_first_body_and_on_change(exsim, ex):
    from sim.client import SipTestClient
    sim = exsim.sim
    SipTestClient.hosts = sim.scenario.host_addresses()
    pool = sim.scenario.registrar("pool1")

    async def flow():
        loop = __import__("asyncio").get_running_loop()

        def control(name, **kw):  # control calls from inside the Sim's loop: via a thread
            return loop.run_in_executor(None, lambda: ex.call(name, **kw))
        c = SipTestClient(dict(sim.scenario.users["alice"]), sim.certs.ca_file,
                          sim.scenario.domain)
        try:
            assert (await c.sign_in((pool.address, pool.port, pool.fqdn))).code == 200
            r = await c.request("SUBSCRIBE", headers=SUB_HEADERS, body=ROAMING_LIST,
                                content_type="application/vnd-microsoft-roaming-self+xml")
            assert r.code == 200
            first = mwi_of(r.body)
            assert await control("add_voicemail", user="alice", **{"from": "Erin"}) == \
                {"unread": 3, "notified": 1}
            n = await c.next_request()
            assert n.method == "BENOTIFY" and n.get("Event") == "vnd-microsoft-roaming-self"
            added = mwi_of(n.body)
            assert (await control("read_voicemails", user="alice"))["unread"] == 0
            n = await c.next_request()
            read = mwi_of(n.body)
            return first, added, read
        finally:
            await c.close()
    first, added, read = exsim.run(flow())
    assert first[:3] == ("true", "2", "1")
    assert added[:3] == ("true", "3", "1") and added[3] == first[3] + 1
    assert read[:3] == ("false", "0", "4") and read[3] == added[3] + 1


def test_no_mwi_without_um(exsim, ex):
    from sim import services
    user = exsim.sim.scenario.users["bob"]

    def body():
        st = services.state_for(exsim.sim)
        return services.roaming_self_body(st, user, {"categories"})
    assert mwi_of(exsim.call(body))[:3] == ("false", "0", "0")
    exsim.call(lambda: setattr(exsim.sim.exchange.mailboxes["bob"], "um_enabled", False))
    assert mwi_of(exsim.call(body)) is None


NS_CARD = "{http://schemas.microsoft.com/2006/09/sip/contactcard}"


def card_email(body):
    from sim import documents as D
    cards = [c for c in D.parse_roaming_data(body).get("categories", [])
             if c.name == "contactCard"]
    assert len(cards) == 1
    return cards[0].content.findtext(f"{NS_CARD}identity/{NS_CARD}email")


def test_contact_card_carries_the_mailbox_address(exsim, ex):
    """The directory's mail attribute is the mailbox's primary address, which may differ
    from the SIP address; set_mailbox changes it and tells the user's own endpoints."""
    from sim import services
    user = exsim.sim.scenario.users["alice"]

    def body():
        return services.roaming_self_body(services.state_for(exsim.sim), user, {"categories"})
    assert card_email(exsim.call(body)) == "alice@contoso.test"
    assert ex.call("set_mailbox", user="alice", email="Alice.Smith@contoso.test",
                   aliases=[]) == {"email": "alice.smith@contoso.test", "aliases": [],
                                   "notified": 0}
    assert card_email(exsim.call(body)) == "alice.smith@contoso.test"
    # autodiscover knows the new address only
    assert account(post_ad(exsim, "autodiscover", "alice.smith@contoso.test"))["Action"] \
        == "settings"
    assert xml(post_ad(exsim, "autodiscover", "alice@contoso.test")).findtext(
        "r:Response/r:Error/r:ErrorCode", None, NS) == "500"
    with pytest.raises(ControlError, match="e-mail address"):
        ex.call("set_mailbox", user="alice", email="nobody")
    ex.reset_exchange()
    assert card_email(exsim.call(body)) == "alice@contoso.test"


# scenario checks -------------------------------------------------------------------------------
@pytest.mark.parametrize("extra, why", [
    ('[mailboxes.carol]\nemail = "c@contoso.test"', "mailboxes.carol: no such user"),
    ('[mailboxes.alice]\nsmell = 1', r"mailboxes.alice: unknown key\(s\) \['smell'\]"),
    ('[[mailboxes.alice.calendar]]\nstart = "yesterday"', r"calendar\[1\].start: 'yesterday'"),
    ('[[mailboxes.alice.calendar]]\nbusy_type = "Sleeping"', r"calendar\[1\].busy_type"),
    ('[[mailboxes.alice.calendar]]\nstart = "10m"\nend = "5m"', "must end after it starts"),
    ('[mailboxes.alice.oof]\nstate = "Maybe"', "oof.state must be one of"),
    ('[mailboxes.alice.working_hours]\nstart = "25:00"', "working_hours.start"),
    ('[[mailboxes.alice.missed]]\nkind = "fax"', r"missed\[1\].kind"),
    ('[exchange]\nauth = ["Digest"]', "exchange.auth"),
    ('[exchange]\nstatus = 200', "exchange.status"),
    ('[exchange.autodiscover]\nsrv = "maybe"', "exchange.autodiscover.srv"),
])
def test_scenario_errors_name_the_key(tmp_path, extra, why):
    from sim.scenario import ScenarioError
    base = open(os.path.join(HERE, "scenarios", "default.toml")).read()
    path = tmp_path / "s.toml"
    if not extra.startswith("[exchange"):
        extra = "[exchange]\n" + extra
    path.write_text(base + "\n" + extra + "\n")
    with pytest.raises(ScenarioError, match=why):
        Scenario.load(str(path))


def test_include_merges_and_detects_loops(tmp_path):
    from sim.scenario import ScenarioError
    sc = Scenario.load(EXCHANGE)
    assert sc.registrar("pool1").address == "127.0.1.11"  # from default.toml
    assert sc.exchange["mail_fqdn"] == "mail.contoso.test"
    assert len(sc.contacts("alice")) == 6
    (tmp_path / "a.toml").write_text('include = "b.toml"\n')
    (tmp_path / "b.toml").write_text('include = "a.toml"\n')
    with pytest.raises(ScenarioError, match="include loop"):
        Scenario.load(str(tmp_path / "a.toml"))
    assert Scenario.load(os.path.join(HERE, "scenarios", "default.toml")).exchange is None


def test_find_item_lists_voicemails_newest_first_with_paging(exsim, ex):
    def body(offset, n):
        return soap(f'<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default'
                    f'</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned='
                    f'"{n}" Offset="{offset}" BasePoint="Beginning"/><m:ParentFolderIds>'
                    f'<t:DistinguishedFolderId Id="voicemail"/></m:ParentFolderIds></m:FindItem>')
    total, items = find_items(ews(exsim, body(0, 2)))
    assert total == 3 and len(items) == 2
    got = [(i.findtext("t:ItemClass", None, NS), i.findtext("t:Subject", None, NS),
            i.findtext("t:From/t:Mailbox/t:Name", None, NS), i.findtext("t:IsRead", None, NS))
           for i in items]
    assert got == [
        ("IPM.Note.Microsoft.Voicemail.UM.CA", "Voice Mail from Carol Clark (41 seconds)",
         "Carol Clark", "false"),
        ("IPM.Note.Microsoft.Voicemail.UM.CA", "Voice Mail from Bob Baker (23 seconds)",
         "Bob Baker", "false")]
    first = xml(ews(exsim, body(0, 2))).find(".//m:FindItemResponseMessage/m:RootFolder", NS)
    assert first.get("IncludesLastItemInRange") == "false"
    doc = xml(ews(exsim, body(2, 2)))
    rf = doc.find(".//m:FindItemResponseMessage/m:RootFolder", NS)
    assert (rf.get("TotalItemsInView"), rf.get("IncludesLastItemInRange")) == ("3", "true")
    last = rf.find("t:Items/t:Message", NS)
    assert (last.findtext("t:Subject", None, NS), last.findtext("t:IsRead", None, NS)) == (
        "Voice Mail from Dave Davis (12 seconds)", "true")
    received = [parse_iso(i.findtext("t:DateTimeReceived", None, NS)) for i in items]
    assert received[0] > received[1]
