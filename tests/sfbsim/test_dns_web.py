# SPDX-License-Identifier: LGPL-2.1-or-later
"""DNS records and faults (queried with dnslib's client), autodiscover over HTTP(S)."""

import http.client
import os
import socket
import ssl
import time
import xml.etree.ElementTree as ET

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

pytestmark = pytest.mark.usefixtures("netns")

DEFAULT_SCENARIO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios",
                                "default.toml")


def query(name, qtype="A", tcp=False, timeout=2.0):
    raw = DNSRecord.question(name, qtype).send("127.0.0.1", 53, tcp=tcp, timeout=timeout)
    return DNSRecord.parse(raw)


def answers(rec):
    return [(str(rr.rname).rstrip("."), QTYPE[rr.rtype], str(rr.rdata)) for rr in rec.rr]


def test_a_records(simthread):
    want = {
        "lyncdiscover.contoso.test": "127.0.2.2", "lyncdiscoverinternal.contoso.test": "127.0.2.1",
        "sip.contoso.test": "127.0.1.21", "sipexternal.contoso.test": "127.0.1.21",
        "sipinternal.contoso.test": "127.0.1.1", "director.contoso.test": "127.0.1.1",
        "pool1.contoso.test": "127.0.1.11", "pool2.contoso.test": "127.0.1.12",
    }
    for name, addr in want.items():
        assert answers(query(name)) == [(name, "A", addr)], name
    assert answers(query("Pool1.Contoso.Test", tcp=True)) == [("Pool1.Contoso.Test", "A", "127.0.1.11")]


def test_srv_records(simthread):
    r = query("_sipinternaltls._tcp.contoso.test", "SRV")
    assert answers(r) == [("_sipinternaltls._tcp.contoso.test", "SRV", "0 0 5061 director.contoso.test.")]
    assert [str(a.rdata) for a in r.ar] == ["127.0.1.1"]
    r = query("_sip._tls.contoso.test", "SRV", tcp=True)
    assert answers(r) == [("_sip._tls.contoso.test", "SRV", "0 0 443 sip.contoso.test.")]


def test_missing_names_and_types(simthread):
    assert query("nope.contoso.test").header.rcode == RCODE.NXDOMAIN
    assert query("_sipinternal._tcp.contoso.test", "SRV").header.rcode == RCODE.NXDOMAIN
    r = query("pool1.contoso.test", "AAAA")            # exists, no AAAA: NODATA
    assert r.header.rcode == RCODE.NOERROR and not r.rr


def test_dns_faults(simthread, ctl):
    ctl.dns_fault(mode="servfail", names=["pool1.contoso.test"])
    assert query("pool1.contoso.test").header.rcode == RCODE.SERVFAIL
    assert query("pool2.contoso.test").rr                        # other names unaffected
    ctl.dns_clear()
    ctl.dns_fault(mode="nxdomain", names=["lyncdiscover.contoso.test"], count=1)
    assert query("lyncdiscover.contoso.test").header.rcode == RCODE.NXDOMAIN
    assert query("lyncdiscover.contoso.test").rr                 # count used up
    ctl.dns_fault(mode="noanswer")
    r = query("sip.contoso.test")
    assert r.header.rcode == RCODE.NOERROR and not r.rr
    ctl.dns_clear()
    ctl.dns_fault(mode="slow", delay_ms=400)
    t = time.monotonic()
    assert query("sip.contoso.test").rr
    assert time.monotonic() - t >= 0.4
    ctl.dns_clear()
    ctl.dns_fault(mode="drop", names=["sip.contoso.test"])
    with pytest.raises(socket.timeout):
        query("sip.contoso.test", timeout=0.5)
    ctl.dns_clear()
    counts = ctl.counters()["dns_queries"]
    assert counts["sip.contoso.test A"] >= 3
    with pytest.raises(Exception, match="mode"):
        ctl.dns_fault(mode="bogus")


def test_dns_address_fault(simthread, ctl):
    ctl.dns_fault(mode="address", names=["pool1.contoso.test"], address="192.0.2.7")
    assert answers(query("pool1.contoso.test")) == [("pool1.contoso.test", "A", "192.0.2.7")]
    r = query("pool1.contoso.test", "AAAA")
    assert r.header.rcode == RCODE.NOERROR and not r.rr
    assert answers(query("pool2.contoso.test")) == [("pool2.contoso.test", "A", "127.0.1.12")]
    with pytest.raises(Exception, match="address"):
        ctl.dns_fault(mode="address", names=["pool1.contoso.test"])
    ctl.dns_clear()
    assert answers(query("pool1.contoso.test")) == [("pool1.contoso.test", "A", "127.0.1.11")]


def test_blackhole_drops_connection_attempts(simthread, ctl):
    assert ctl.blackhole(address="127.0.9.9", port=5061) == "127.0.9.9:5061"
    try:
        with pytest.raises(socket.timeout):
            socket.create_connection(("127.0.9.9", 5061), timeout=1)
    finally:
        ctl.blackhole_clear()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.9.9", 5061), timeout=1)


def test_dns_delay(simthread, ctl):
    ctl.set_delay(ms=200)
    t = time.monotonic()
    query("pool1.contoso.test")
    assert time.monotonic() - t >= 0.2
    ctl.set_delay(ms=0)


# --- autodiscover -------------------------------------------------------------------------
def get(sim, addr, host, path, tls=True):
    if tls:
        ctx = ssl.create_default_context(cafile=sim.certs.ca_file)
        conn = http.client.HTTPSConnection(addr, 443, context=ctx, timeout=5)
        # verify against the name, connect to the address
        conn.sock = ctx.wrap_socket(socket.create_connection((addr, 443), 5), server_hostname=host)
    else:
        conn = http.client.HTTPConnection(addr, 80, timeout=5)
    conn.request("GET", path, headers={"Host": host,
                                       "Accept": "application/vnd.microsoft.rtc.autodiscover+xml;v=1"})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, r.getheader("Content-Type"), body


def links(xml, where):
    root = ET.fromstring(xml)
    return root, {l.get("token"): l.get("href") for l in root.findall(f"{where}/Link")}


def test_autodiscover_root_and_user(sim):
    ad = sim.scenario.autodiscover
    ia, ih = ad["internal_address"], ad["internal_fqdn"]
    # plain http: a Root holding only a Redirect to https (MS-OCDISCWS 3.1.5.2)
    st, ct, body = get(sim, ia, ih, "/?sipuri=sip:alice@contoso.test", tls=False)
    root, l = links(body, "Root")
    assert st == 200 and ct.startswith("application/vnd.microsoft.rtc.autodiscover+xml")
    assert list(l) == ["Redirect"] and l["Redirect"].startswith(f"https://{ih}/")
    # https root -> User link
    st, ct, body = get(sim, ia, ih, "/?sipuri=sip:alice@contoso.test")
    root, l = links(body, "Root")
    assert st == 200 and root.get("AccessLocation") == "Internal"
    assert {"User", "Domain", "Self"} <= set(l)
    user_path = l["User"].split(ih, 1)[1]
    st, ct, body = get(sim, ia, ih, user_path)
    root = ET.fromstring(body)
    assert st == 200 and ct == "application/vnd.microsoft.rtc.autodiscover+xml; v=1"
    ci = root.find("User/SipClientInternalAccess")
    assert (ci.get("fqdn"), ci.get("port")) == ("director.contoso.test", "5061")
    ce = root.find("User/SipClientExternalAccess")
    assert (ce.get("fqdn"), ce.get("port")) == ("sip.contoso.test", "443")
    assert root.find("User/SipServerInternalAccess").get("fqdn") == "pool1.contoso.test"
    # the canonical path works too, and the external name says External
    st, _, body = get(sim, ad["external_address"], ad["external_fqdn"],
                      "/Autodiscover/AutodiscoverService.svc/root/user?sipuri=alice@contoso.test")
    assert st == 200 and ET.fromstring(body).get("AccessLocation") == "External"


def test_autodiscover_redirect_and_unknown(sim):
    ad = sim.scenario.autodiscover
    ia, ih = ad["internal_address"], ad["internal_fqdn"]
    path = "/Autodiscover/AutodiscoverService.svc/root/user?sipuri=sip:bob@contoso.test"
    st, _, body = get(sim, ia, ih, path)
    root, l = links(body, "User")
    assert st == 200 and list(l) == ["Redirect"] and len(root.find("User")) == 1
    assert l["Redirect"].startswith("https://pool2.contoso.test/Autodiscover/AutodiscoverService.svc/root")
    # the redirect target (pool2's own autodiscover) answers bob directly
    st, _, body = get(sim, "127.0.1.12", "pool2.contoso.test", path)
    assert st == 200 and ET.fromstring(body).find("User/SipClientInternalAccess") is not None
    st, _, body = get(sim, ia, ih, path.replace("bob", "nobody"))
    assert st == 404 and body == b""
    st, _, body = get(sim, ia, ih, "/Autodiscover/AutodiscoverService.svc/root/domain")
    assert st == 200 and ET.fromstring(body).find("Domain/SipClientExternalAccess") is not None
    assert get(sim, ia, ih, "/nothing-here")[0] == 404


def test_autodiscover_certificate_variants(sim, ctl):
    ad = sim.scenario.autodiscover
    ia, ih = ad["internal_address"], ad["internal_fqdn"]
    # "untrusted" sends its (rogue) root along with the leaf, as many misconfigured servers
    # do, so OpenSSL names a self-signed certificate in the chain rather than a missing issuer.
    for variant, why in (("expired", "expired"),
                         ("untrusted", "self-signed certificate in certificate chain"),
                         ("wrong-name", "mismatch")):
        ctl.set_certificate(variant=variant)
        with pytest.raises(ssl.SSLCertVerificationError, match=why):
            get(sim, ia, ih, "/")
    ctl.set_certificate(variant="valid")
    assert get(sim, ia, ih, "/")[0] == 200


# --- one certificate per host -------------------------------------------------------------
def peer_certificate(sim, addr, port, host):
    """The verified certificate `addr:port` presents for `host` (raises when it does not
    verify for that name)."""
    ctx = ssl.create_default_context(cafile=sim.certs.ca_file)
    with socket.create_connection((addr, port), 5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert()


def tls_endpoints(sim):
    """(host, address, port) of every TLS listener: registrars (SIP), their web services
    and the lyncdiscover names (HTTPS)."""
    sc = sim.scenario
    out = []
    for r in sc.registrars():
        out.append((r.fqdn, r.address, r.port))
        if r.role != "edge":
            out.append((r.fqdn, r.address, 443))
    ad = sc.autodiscover
    out += [(ad["internal_fqdn"], ad["internal_address"], 443),
            (ad["external_fqdn"], ad["external_address"], 443)]
    return out


def test_each_host_has_its_own_certificate(sim):
    sc = sim.scenario
    for host, addr, port in tls_endpoints(sim):
        cert = peer_certificate(sim, addr, port, host)
        cn = [v for rdn in cert["subject"] for k, v in rdn if k == "commonName"]
        assert cn == [host], (host, port, cert["subject"])
        r = sc.registrar(host)
        names = [host] + (r.aliases if r else [])
        assert sorted(v for k, v in cert["subjectAltName"] if k == "DNS") == sorted(names)
        assert ("IP Address", addr) in cert["subjectAltName"]
    # so a host's certificate does not name another host
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        peer_certificate(sim, "127.0.1.11", 5061, "director.contoso.test")
    # the edge's certificate carries its aliases (sip.<domain>, sipexternal.<domain>)
    peer_certificate(sim, "127.0.1.21", 443, "sip.contoso.test")


@pytest.mark.parametrize("variant,why", [
    ("expired", "expired"),
    ("untrusted", "self-signed certificate in certificate chain"),
    ("wrong-name", "mismatch"),
    ("not-yet-valid", "not yet valid"),
])
def test_one_host_with_a_bad_certificate(sim, ctl, variant, why):
    """set_certificate(host=...) changes one host only: pool1's SIP and HTTPS fail to verify,
    every other host still does."""
    variants = ctl.set_certificate(variant=variant, host="pool1")
    assert variants["pool1.contoso.test"] == variant
    assert {v for h, v in variants.items() if h != "pool1.contoso.test"} == {"valid"}
    for host, addr, port in tls_endpoints(sim):
        if host == "pool1.contoso.test":
            with pytest.raises(ssl.SSLCertVerificationError, match=why):
                peer_certificate(sim, addr, port, host)
        else:
            peer_certificate(sim, addr, port, host)
    ad = sim.scenario.autodiscover
    ctl.set_certificate(variant=variant, host=ad["external_fqdn"])
    with pytest.raises(ssl.SSLCertVerificationError, match=why):
        get(sim, ad["external_address"], ad["external_fqdn"], "/")
    assert get(sim, ad["internal_address"], ad["internal_fqdn"], "/")[0] == 200
    with pytest.raises(Exception, match="no host"):
        ctl.set_certificate(variant=variant, host="nowhere.contoso.test")


def test_scenario_certificates_and_tls_version(sim, simthread):
    """[tls.certificates] gives one host a bad certificate from the start; [tls] max_version
    TLSv1_3 lets clients negotiate 1.3 (the default is 1.2, as SfB Server)."""
    from sim.scenario import Scenario, ScenarioError
    assert Scenario.load(DEFAULT_SCENARIO).data["tls"] == {"max_version": "TLSv1_2",
                                                          "certificates": {}}
    sim.scenario.data["tls"] = {"max_version": "TLSv1_3", "certificates": {"pool1": "expired"}}
    simthread.call(sim.reset_tls)
    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        peer_certificate(sim, "127.0.1.11", 5061, "pool1.contoso.test")
    ctx = ssl.create_default_context(cafile=sim.certs.ca_file)
    with socket.create_connection(("127.0.1.12", 5061), 5) as raw:
        with ctx.wrap_socket(raw, server_hostname="pool2.contoso.test") as tls:
            assert tls.version() == "TLSv1.3"
    text = open(DEFAULT_SCENARIO, encoding="utf-8").read()
    tls = 'max_version = "TLSv1_2"'
    assert tls in text
    for bad, why in (('max_version = "TLSv1_1"', "max_version"),
                     (tls + '\ncertificates = { pool9 = "expired" }', "no host"),
                     (tls + '\ncertificates = { pool1 = "rotten" }', "must be one of")):
        with pytest.raises(ScenarioError, match=why):
            Scenario.from_string(text.replace(tls, bad))


def test_autodiscover_name_as_a_web_portal(sim, ctl):
    """A lyncdiscover name that is some other web server answers 200 text/html, on http and
    https, whatever the path; the other name still answers autodiscover."""
    from sim.scenario import Scenario, ScenarioError
    ad = sim.scenario.autodiscover
    ea, eh = ad["external_address"], ad["external_fqdn"]
    assert ctl.set_portal(host=eh) == {eh: "text/html"}
    user = "/Autodiscover/AutodiscoverService.svc/root/user?sipuri=sip:alice@contoso.test"
    for path, tls in (("/?sipuri=sip:alice@contoso.test", False), ("/", True), (user, True)):
        st, ct, body = get(sim, ea, eh, path, tls)
        assert (st, ct) == (200, "text/html") and body.startswith(b"<!DOCTYPE html>")
    st, ct, _ = get(sim, ad["internal_address"], ad["internal_fqdn"], user)
    assert st == 200 and ct.startswith("application/vnd.microsoft.rtc.autodiscover+xml")
    assert ctl.counters()["portal_requests"] == {eh: 3}
    assert ctl.set_portal(host=eh, content_type=None) == {}
    assert get(sim, ea, eh, user)[1].startswith("application/vnd.microsoft.rtc.autodiscover")
    with pytest.raises(Exception, match="no lyncdiscover name"):
        ctl.set_portal(host="pool1.contoso.test")
    # the scenario form
    text = open(DEFAULT_SCENARIO, encoding="utf-8").read()
    sc = Scenario.from_string(text + '\n[autodiscover.portal]\n"Lyncdiscover.contoso.test" = '
                              '"text/html; charset=utf-8"\n')
    assert sc.autodiscover["portal"] == {"lyncdiscover.contoso.test": "text/html; charset=utf-8"}
    with pytest.raises(ScenarioError, match="no lyncdiscover name"):
        Scenario.from_string(text + '\n[autodiscover.portal]\n"pool1.contoso.test" = "x/y"\n')
