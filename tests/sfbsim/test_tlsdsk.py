# SPDX-License-Identifier: LGPL-2.1-or-later
"""TLS-DSK: web ticket service, certificate provisioning, the in-band handshake in the
registrars, and the autodiscover User resource behind a web ticket.

The client side is independent of sfbsim's server code: HTTP with http.client and impacket's
NTLM, P_SHA1 and the XML signature written out here (C14N by xml.etree, not lxml), the CSR by
`cryptography`, and the TLS client is OpenSSL through pyOpenSSL with its RFC 5705 exporter
(SSL_export_keying_material), which must equal the server's PRF over the key-logged master
secret.
"""

import asyncio
import base64
import datetime
import hashlib
import hmac
import http.client
import socket
import ssl
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from impacket import ntlm as imp_ntlm
from OpenSSL import SSL, crypto

from sim.client import SipTestClient
from sim.control import ControlError
from sim.ntlm import NtlmClient
from sim.scenario import login_parts
from sim.signing import client_sign
from sim.sipmsg import parse_auth

pytestmark = pytest.mark.usefixtures("netns")

NS = {
    "s": "http://schemas.xmlsoap.org/soap/envelope/",
    "s12": "http://www.w3.org/2003/05/soap-envelope",
    "wst": "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "saml": "urn:oasis:names:tc:SAML:1.0:assertion",
    "wsdl": "http://schemas.xmlsoap.org/wsdl/",
    "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
    "wsp": "http://schemas.xmlsoap.org/ws/2004/09/policy",
    "sp": "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "aws": "http://schemas.microsoft.com/OCS/AuthWebServices/",
}
POOL1 = "pool1.contoso.test"
CERTPROV = f"https://{POOL1}/CertProv/CertProvisioningService.svc"
AUTH_URI = CERTPROV + "/WebTicket_Proof_SHA1"


# independent client pieces --------------------------------------------------------------
def p_sha1(secret, seed, n):
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha1).digest()
        out += hmac.new(secret, a + seed, hashlib.sha1).digest()
    return out[:n]


class Https:
    """One keep-alive HTTPS connection to a sfbsim host (NTLM is per connection)."""

    def __init__(self, sim, host):
        self.host = host
        addr = sim.scenario.host_addresses()[host]
        ctx = ssl.create_default_context(cafile=sim.certs.ca_file)
        self.c = http.client.HTTPSConnection(host, 443, context=ctx, timeout=10)
        self.c.sock = ctx.wrap_socket(socket.create_connection((addr, 443), 10),
                                      server_hostname=host)

    def request(self, method, path, body=None, headers=None):
        self.c.request(method, path, body, headers or {})
        r = self.c.getresponse()
        return r.status, r.headers, r.read()

    def close(self):
        self.c.close()


def ntlm_post(conn, path, body, user, password=None, scheme="NTLM", headers=None):
    """POST with connection-oriented NTLM (impacket): NEGOTIATE, CHALLENGE, AUTHENTICATE."""
    h = {"Content-Type": "text/xml; charset=utf-8",
         "SOAPAction": '"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"'}
    h.update(headers or {})
    t1 = imp_ntlm.getNTLMSSPType1("", "", signingRequired=False).getData()
    status, hdrs, _ = conn.request("POST", path, body, dict(h, Authorization=f"{scheme} "
                                                           + base64.b64encode(t1).decode()))
    assert status == 401
    chal = [v for v in hdrs.get_all("WWW-Authenticate") if v.startswith(scheme + " ")]
    assert chal, hdrs.get_all("WWW-Authenticate")
    domain, login = login_parts(user["login"])
    t3 = NtlmClient(login, password or user["password"], domain).authenticate(
        base64.b64decode(chal[0].split(" ", 1)[1]))
    return conn.request("POST", path, body, dict(h, Authorization=f"{scheme} "
                                                 + base64.b64encode(t3).decode()))


def rst(applies_to, uri, entropy):
    return (f'<?xml version="1.0"?>\r\n<soap:Envelope xmlns:saml="{NS["saml"]}" '
            f'xmlns:soap="{NS["s"]}" xmlns:wst="{NS["wst"]}" '
            f'xmlns:auth="http://schemas.xmlsoap.org/ws/2006/12/authorization" '
            f'xmlns:wsa="{NS["wsa"]}" xmlns:wsp="{NS["wsp"]}" xmlns:wsse="{NS["wsse"]}" '
            f'xmlns:wsu="{NS["wsu"]}" > <soap:Body><wst:RequestSecurityToken Context="{uuid.uuid4()}">'
            f' <wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1'
            f'</wst:TokenType> <wst:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue'
            f'</wst:RequestType> <wsp:AppliesTo>  <wsa:EndpointReference>   <wsa:Address>{applies_to}'
            f'</wsa:Address>  </wsa:EndpointReference> </wsp:AppliesTo> <wst:Claims '
            f'Dialect="urn:component:Microsoft.Rtc.WebAuthentication.2010:authclaims">  '
            f'<auth:ClaimType Uri="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/uri" '
            f'Optional="false">   <auth:Value>{uri}</auth:Value>  </auth:ClaimType> </wst:Claims>'
            f' <wst:Entropy>  <wst:BinarySecret>{base64.b64encode(entropy).decode()}'
            f'</wst:BinarySecret> </wst:Entropy> <wst:KeyType>'
            f'http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</wst:KeyType>'
            f'</wst:RequestSecurityToken></soap:Body></soap:Envelope>').encode()


def between(raw, start, end):
    i = raw.index(start)
    j = raw.index(end, i)
    return raw[i:j + len(end)]


class WebTicket:
    """What a client keeps of an RSTR (parsed the way SIPE does: raw string cuts)."""

    def __init__(self, raw, entropy):
        text = raw.decode()
        self.raw = text
        self.assertion = between(text, "<saml:Assertion", "</saml:Assertion>")
        self.assertion_id = self.assertion.split('AssertionID="', 1)[1].split('"', 1)[0]
        lifetime = between(text, "<Lifetime>", "</Lifetime>")[len("<Lifetime>"):-len("</Lifetime>")]
        self.timestamp = (f'<wsu:Timestamp xmlns:wsu="{NS["wsu"]}" wsu:Id="timestamp">'
                          f'{lifetime}</wsu:Timestamp>')
        server_entropy = base64.b64decode(between(text, "<BinarySecret>", "</BinarySecret>")
                                          [len("<BinarySecret>"):-len("</BinarySecret>")])
        self.proof_key = p_sha1(entropy, server_entropy, len(entropy))

    def security(self, key=None, timestamp=None, assertion=None):
        ts = timestamp or self.timestamp
        digest = base64.b64encode(hashlib.sha1(ts.encode()).digest()).decode()
        signed_info = ET.canonicalize(
            '<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">'
            '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
            '<SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"/>'
            '<Reference URI="#timestamp"><Transforms>'
            '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>'
            '<DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>'
            f'<DigestValue>{digest}</DigestValue></Reference></SignedInfo>')
        sig = base64.b64encode(hmac.new(key or self.proof_key, signed_info.encode(),
                                        hashlib.sha1).digest()).decode()
        return (ts + (assertion or self.assertion)
                + f'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"> {signed_info}'
                f' <SignatureValue>{sig}</SignatureValue> <KeyInfo>  <wsse:SecurityTokenReference '
                f'wsse:TokenType="http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1">'
                f'   <wsse:KeyIdentifier ValueType="http://docs.oasis-open.org/wss/oasis-wss-saml-'
                f'token-profile-1.0#SAMLAssertionID">{self.assertion_id}</wsse:KeyIdentifier>'
                f'  </wsse:SecurityTokenReference> </KeyInfo></Signature>')


def get_ticket(sim, user, applies_to=AUTH_URI, host=POOL1, password=None):
    conn = Https(sim, host)
    try:
        status, hdrs, body = conn.request("GET", "/WebTicket/WebTicketService.svc/mex")
        assert status == 200
        port = ET.fromstring(body).find(
            "wsdl:service/wsdl:port[@name='WebTicketServiceWinNegotiate']/soap:address", NS)
        path = port.get("location").split(host, 1)[1]
        entropy = bytes(range(32))
        status, hdrs, body = ntlm_post(conn, path, rst(applies_to, user["uri"], entropy), user,
                                       password)
        return status, hdrs, body, (WebTicket(body, entropy) if status == 200 else None)
    finally:
        conn.close()


def make_csr(key, cn):
    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .sign(key, hashes.SHA256()))


def gapc_body(security, entity, csr):
    b64 = base64.encodebytes(csr.public_bytes(serialization.Encoding.DER)).decode().replace(
        "\n", "\r\n")
    header = (f'<soap:Header> <wsa:To>{AUTH_URI}</wsa:To> <wsa:ReplyTo>  <wsa:Address>'
              f'http://www.w3.org/2005/08/addressing/anonymous</wsa:Address> </wsa:ReplyTo>'
              f' <wsa:Action>http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert'
              f'</wsa:Action> <wsse:Security>{security}</wsse:Security></soap:Header>'
              if security is not None else "")
    return (f'<?xml version="1.0"?>\r\n<soap:Envelope xmlns:saml="{NS["saml"]}" '
            f'xmlns:soap="{NS["s"]}" xmlns:wst="{NS["wst"]}" '
            f'xmlns:auth="http://schemas.xmlsoap.org/ws/2006/12/authorization" '
            f'xmlns:wsa="{NS["wsa"]}" xmlns:wsp="{NS["wsp"]}" xmlns:wsse="{NS["wsse"]}" '
            f'xmlns:wsu="{NS["wsu"]}" >{header} <soap:Body><GetAndPublishCert '
            f'xmlns="{NS["aws"]}" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512/" '
            f'xmlns:wstep="http://schemas.microsoft.com/windows/pki/2009/01/enrollment" '
            f'DeviceId="{{{uuid.uuid4()}}}" Entity="{entity}"> <wst:RequestSecurityToken>'
            f'  <wst:TokenType>http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-'
            f'token-profile-1.0#X509v3</wst:TokenType>  <wst:RequestType>'
            f'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType>'
            f'  <wsse:BinarySecurityToken ValueType="http://schemas.microsoft.com/OCS/'
            f'AuthWebServices.xsd#PKCS10" EncodingType="http://docs.oasis-open.org/wss/2004/01/'
            f'oasis-200401-wss-wssecurity-secext-1.0.xsd#Base64Binary">\r\n{b64}'
            f'</wsse:BinarySecurityToken>  <wstep:RequestID>{uuid.uuid4()}</wstep:RequestID>'
            f' </wst:RequestSecurityToken></GetAndPublishCert></soap:Body></soap:Envelope>'
            ).encode()


def post_gapc(sim, body, host=POOL1):
    conn = Https(sim, host)
    try:
        return conn.request("POST", "/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1",
                            body, {"Content-Type": "text/xml", "SOAPAction":
                                   '"http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert"'})
    finally:
        conn.close()


def fault_text(body):
    el = ET.fromstring(body).find("s12:Body/s12:Fault/s12:Detail/aws:error/aws:internalerror/"
                                  "aws:text", NS)
    return el.text if el is not None else None


@pytest.fixture(scope="module")
def user_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def provision(sim, user, key):
    """The whole client flow of §8.2; returns the issued certificate."""
    _, _, _, tk = get_ticket(sim, user)
    status, hdrs, body = post_gapc(sim, gapc_body(tk.security(), user["uri"][4:],
                                                  make_csr(key, user["uri"][4:])))
    assert status == 200, body
    el = ET.fromstring(body).find(
        "s:Body/aws:GetAndPublishCertResponse/wst:RequestSecurityTokenResponse/"
        "wst:RequestedSecurityToken/wsse:BinarySecurityToken", NS)
    return x509.load_der_x509_certificate(base64.b64decode(el.text))


# TLS-DSK test client (OpenSSL via pyOpenSSL, memory BIOs) ---------------------------------
class ClientKeys:
    def __init__(self, material):
        self.ckey, self.skey = material[64:96], material[96:128]

    def sign_client(self, buf):
        return hmac.new(self.ckey, buf, hashlib.sha1).digest()

    def verify_server(self, buf, sig):
        return hmac.compare_digest(hmac.new(self.skey, buf, hashlib.sha1).digest(), sig)


class TlsClient:
    def __init__(self, cert, key, ca_file, version=SSL.TLS1_VERSION, cipher=b"AES128-SHA"):
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(version)
        ctx.set_max_proto_version(version)
        ctx.set_cipher_list(cipher + b":@SECLEVEL=0")
        if cert is not None:
            ctx.use_certificate(crypto.X509.from_cryptography(cert))
            ctx.use_privatekey(crypto.PKey.from_cryptography_key(key))
        ctx.load_verify_locations(ca_file)
        ctx.set_verify(SSL.VERIFY_PEER, lambda conn, x, errno, depth, ok: bool(ok))
        self.c = SSL.Connection(ctx, None)
        self.c.set_connect_state()
        self.done = False

    def step(self, data=b""):
        if data:
            self.c.bio_write(data)
        try:
            self.c.do_handshake()
            self.done = True
        except SSL.WantReadError:
            pass
        out = b""
        while True:
            try:
                out += self.c.bio_read(65536)
            except SSL.WantReadError:
                break
        return out

    def keys(self):
        return ClientKeys(self.c.export_keying_material(b"client EAP encryption", 128))


class TlsDskClient(SipTestClient):
    def __init__(self, user, ca_file, domain, cert, key, version=SSL.TLS1_VERSION, **kw):
        super().__init__(user, ca_file, domain, **kw)
        self.cert, self.key, self.version = cert, key, version
        self.sts_uri = None
        self.sign_final_leg = False

    def sign(self, msg, extra=()):
        if self.session is None:
            return msg
        self.cnum += 1
        return client_sign(msg, self.session, self.header, "TLS-DSK", self.opaque,
                           self.targetname, self.cnum, extra)

    def _auth(self, token, opaque=None):
        o = f'opaque="{opaque}", ' if opaque else ""
        return (f'TLS-DSK qop="auth", {o}realm="SIP Communications Service", '
                f'targetname="{self.targetname}", gssapi-data="{base64.b64encode(token).decode()}", '
                f'version=4')

    async def authenticate(self, expires=None, password=None):
        self.reset_auth()
        r = await self.register_once(expires)
        if r.code != 401:
            return r
        for v in r.get_all("WWW-Authenticate"):
            scheme, p = parse_auth(v)
            if scheme == "TLS-DSK":
                self.targetname, self.sts_uri = p.get("targetname"), p.get("sts-uri")
        assert self.targetname, "no TLS-DSK challenge"
        tls = self.tls = TlsClient(self.cert, self.key, self.ca_file, self.version)
        r = await self.register_once(expires, auth=self._auth(tls.step()))       # ClientHello
        scheme, p = parse_auth(r.get("WWW-Authenticate", ""))
        if r.code != 401 or scheme != "TLS-DSK" or not p.get("gssapi-data"):
            return r
        opaque = p["opaque"]
        self.server_flight = base64.b64decode(p["gssapi-data"])
        flight = tls.step(self.server_flight)
        m = self.register_message(expires, auth=None)
        if self.sign_final_leg:   # sign R3 with keys OpenSSL already has
            self.session, self.opaque = tls.keys(), opaque
            self.sign(m, [("gssapi-data", base64.b64encode(flight).decode())])
        else:
            m.add(self.header, self._auth(flight, opaque))
        self.round_trips += 1
        r = await self.send_and_wait(m)
        scheme, p = parse_auth(r.get("WWW-Authenticate", ""))
        if r.code != 401 or not p.get("gssapi-data"):
            self.session = None
            return r
        tls.step(base64.b64decode(p["gssapi-data"]))                             # CCS, Finished
        assert tls.done
        self.opaque, self.session = opaque, tls.keys()
        r = await self.register_once(expires)                                    # signed
        self._take_200(r)
        return r


@pytest.fixture
def tlsdsk_client(simthread, user_key):
    sim = simthread.sim
    SipTestClient.hosts = sim.scenario.host_addresses()
    clients = []

    def make(uid="alice", cert=None, key=None, **kw):
        c = TlsDskClient(dict(sim.scenario.users[uid]), sim.certs.ca_file, sim.scenario.domain,
                         cert, key or user_key, **kw)
        clients.append(c)
        return c
    yield make
    for c in clients:
        simthread.run(c.close())


# web ticket service -----------------------------------------------------------------------
def test_webticket_mex_and_ntlm(sim, users):
    conn = Https(sim, POOL1)
    status, hdrs, body = conn.request("GET", "/WebTicket/WebTicketService.svc/mex")
    assert status == 200
    port = ET.fromstring(body).find(
        "wsdl:service/wsdl:port[@name='WebTicketServiceWinNegotiate']/soap:address", NS)
    loc = port.get("location")
    assert loc.startswith(f"https://{POOL1}/WebTicket/WebTicketService.svc/")
    path = loc.split(POOL1, 1)[1]
    body = rst(AUTH_URI, users["alice"]["uri"], bytes(32))
    status, hdrs, _ = conn.request("POST", path, body, {"Content-Type": "text/xml"})
    assert status == 401
    assert sorted(hdrs.get_all("WWW-Authenticate")) == ["NTLM", "Negotiate"]
    conn.close()
    conn = Https(sim, POOL1)      # wrong password: 401 again, no ticket
    status, _, _ = ntlm_post(conn, path, body, users["alice"], password="wrong")
    assert status == 401
    conn.close()
    conn = Https(sim, POOL1)      # Negotiate carrying raw NTLMSSP works too
    status, _, raw = ntlm_post(conn, path, body, users["alice"], scheme="Negotiate")
    assert status == 200, raw
    # the connection stays authenticated: a second RST needs no new handshake
    status, _, _ = conn.request("POST", path, body, {"Content-Type": "text/xml"})
    assert status == 200
    conn.close()
    assert sim.counters.get("webtickets", "alice") == 2
    assert sim.counters.get("webticket_auth_failures") == 1


def test_webticket_rstr(sim, users):
    status, hdrs, body, tk = get_ticket(sim, users["alice"])
    assert status == 200
    doc = ET.fromstring(body)
    rstr = doc.find("s:Body/wst:RequestSecurityTokenResponse", NS)
    a = rstr.find("wst:RequestedSecurityToken/saml:Assertion", NS)
    assert a.get("AssertionID") == tk.assertion_id
    assert a.find(".//saml:NameIdentifier", NS).text == "sip:alice@contoso.test"
    assert a.find(".//saml:Audience", NS).text == AUTH_URI
    created = rstr.find("wst:Lifetime/wsu:Created", NS).text
    expires = rstr.find("wst:Lifetime/wsu:Expires", NS).text
    d = (datetime.datetime.fromisoformat(expires[:-1]) - datetime.datetime.fromisoformat(created[:-1]))
    assert d.total_seconds() == pytest.approx(28800, abs=1)
    assert rstr.find("wst:RequestedProofToken/wst:ComputedKey", NS).text.endswith("/CK/PSHA1")
    assert len(base64.b64decode(rstr.find("wst:Entropy/wst:BinarySecret", NS).text)) == 32
    # the server's proof key is P_SHA1(client entropy, server entropy)
    assert sim._webtickets[tk.assertion_id].proof_key == tk.proof_key
    assert len(tk.proof_key) == 32


def test_webticket_lifetime_and_reset(sim, users, ctl):
    ctl.set_webticket_lifetime(seconds=90)
    _, _, body, tk = get_ticket(sim, users["bob"], host="director.contoso.test")
    lt = ET.fromstring(body).find("s:Body/wst:RequestSecurityTokenResponse/wst:Lifetime", NS)
    c, e = (datetime.datetime.fromisoformat(lt.find(f"wsu:{n}", NS).text[:-1])
            for n in ("Created", "Expires"))
    assert (e - c).total_seconds() == pytest.approx(90, abs=1)
    ctl.set_provisioning(up=False)
    ctl.set_cert_lifetime(seconds=60)
    ctl.reset_tlsdsk()
    # the ticket is forgotten, provisioning is back with the default certificate lifetime
    status, _, raw = post_gapc(sim, gapc_body(tk.security(), "bob@contoso.test",
                                              make_csr(rsa.generate_private_key(65537, 2048),
                                                       "bob@contoso.test")))
    assert status == 500 and "unknown, expired or altered" in fault_text(raw)
    cert = provision(sim, users["bob"], rsa.generate_private_key(65537, 2048))
    assert (cert.not_valid_after - datetime.datetime.utcnow()).total_seconds() > 179 * 86400


def test_webticket_faults(sim, users):
    conn = Https(sim, POOL1)
    path = "/WebTicket/WebTicketService.svc/WinNegotiate"
    status, hdrs, body = ntlm_post(conn, path, rst(AUTH_URI, "sip:bob@contoso.test", bytes(32)),
                                   users["alice"])
    assert status == 500
    assert "is not the authenticated user" in fault_text(body)
    assert hdrs["X-Ms-diagnostics"].startswith("28020;")
    status, hdrs, body = conn.request("POST", path, b"<not xml", {})
    assert status == 500 and "malformed XML" in fault_text(body)
    conn.close()


# certificate provisioning ----------------------------------------------------------------
def test_certprov_mex(sim):
    conn = Https(sim, POOL1)
    status, _, body = conn.request("GET", "/CertProv/CertProvisioningService.svc/mex")
    conn.close()
    assert status == 200
    doc = ET.fromstring(body)
    pol = [p for p in doc.findall("wsp:Policy", NS)
           if p.get(f"{{{NS['wsu']}}}Id") == "CertProvisioningServiceWebTicketProof_SHA1_policy"]
    assert len(pol) == 1
    issuer = pol[0].find("wsp:ExactlyOne/wsp:All/sp:EndorsingSupportingTokens/wsp:Policy/"
                         "sp:IssuedToken/sp:Issuer/wsa:Address", NS).text
    assert issuer == f"https://{POOL1}/WebTicket/WebTicketService.svc"
    port = doc.find("wsdl:service/wsdl:port[@name='CertProvisioningServiceWebTicketProof_SHA1']"
                    "/soap:address", NS)
    assert port.get("location") == AUTH_URI


def test_get_and_publish_cert(sim, users, user_key):
    cert = provision(sim, users["alice"], user_key)
    ca = x509.load_pem_x509_certificate(open(sim.certprov_ca.ca_file, "rb").read())
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                           __import__("cryptography.hazmat.primitives.asymmetric.padding",
                                      fromlist=["PKCS1v15"]).PKCS1v15(),
                           cert.signature_hash_algorithm)
    assert cert.issuer == ca.subject
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice@contoso.test"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["sip:alice@contoso.test"]
    assert cert.public_key().public_numbers() == user_key.public_key().public_numbers()
    life = cert.not_valid_after - datetime.datetime.utcnow()
    assert 179 < life.total_seconds() / 86400 <= 180
    assert sim.counters.get("cert_provisionings", "alice") == 1


def test_get_and_publish_cert_faults(sim, users, user_key, ctl):
    alice = users["alice"]
    csr = make_csr(user_key, "alice@contoso.test")
    _, _, _, tk = get_ticket(sim, alice)

    def expect(body, text, diag):
        status, hdrs, raw = post_gapc(sim, body)
        assert status == 500, raw
        assert text in fault_text(raw)
        assert hdrs["X-Ms-diagnostics"].startswith(f"{diag};")

    expect(gapc_body(None, "alice@contoso.test", csr), "no wsse:Security", 28030)
    expect(gapc_body(tk.security(key=bytes(32)), "alice@contoso.test", csr),
           "does not match the proof key", 28034)
    forged = tk.assertion.replace("sip:alice@", "sip:bob@")
    expect(gapc_body(tk.security(assertion=forged), "bob@contoso.test", csr),
           "unknown, expired or altered", 28032)
    old = (f'<wsu:Timestamp xmlns:wsu="{NS["wsu"]}" wsu:Id="timestamp"><wsu:Created>'
           f'2020-01-01T00:00:00.000Z</wsu:Created><wsu:Expires>2020-01-01T08:00:00.000Z'
           f'</wsu:Expires></wsu:Timestamp>')
    expect(gapc_body(tk.security(timestamp=old), "alice@contoso.test", csr),
           "outside its validity", 28035)
    expect(gapc_body(tk.security(), "bob@contoso.test", csr), "is not the web ticket's user",
           28040)
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    expect(gapc_body(tk.security(), "alice@contoso.test", make_csr(weak, "alice@contoso.test")),
           "at least 2048 bits", 28042)
    # a ticket for another service is refused
    _, _, _, other = get_ticket(sim, alice, applies_to=f"https://{POOL1}/other")
    expect(gapc_body(other.security(), "alice@contoso.test", csr), "not this service", 28033)
    assert sim.counters.get("cert_provisionings") == 0

    ctl.set_provisioning(up=False)
    conn = Https(sim, POOL1)
    status, hdrs, raw = conn.request("GET", "/CertProv/CertProvisioningService.svc/mex")
    conn.close()
    assert status == 503 and "unavailable" in fault_text(raw)
    assert "X-Ms-diagnostics" in hdrs
    ctl.set_provisioning(up=True)
    ctl.set_cert_lifetime(seconds=1800)
    cert = provision(sim, alice, user_key)
    life = (cert.not_valid_after - datetime.datetime.utcnow()).total_seconds()
    assert 1700 < life <= 1800


# TLS-DSK in the registrars ----------------------------------------------------------------
def test_challenge_names_the_provisioning_service(simrun, make_client, registrar, ctl, sim):
    ctl.set_auth(schemes=["TLS-DSK", "NTLM"])
    want = {"director": "https://director.contoso.test:443/CertProv/CertProvisioningService.svc",
            "pool1": "https://pool1.contoso.test:443/CertProv/CertProvisioningService.svc",
            "edge": "https://lyncdiscover.contoso.test:443/CertProv/CertProvisioningService.svc"}
    for name, url in want.items():
        c = make_client("alice")

        async def flow():
            await c.connect(*registrar(name))
            r = await c.register_once()
            await c.close()
            return r
        r = simrun(flow())
        assert r.code == 401
        schemes = [parse_auth(v) for v in r.get_all("WWW-Authenticate")]
        assert [s for s, _ in schemes] == ["TLS-DSK", "NTLM"]
        assert schemes[0][1]["sts-uri"] == url
        host = url.split("/")[2].split(":")[0]
        conn = Https(sim, host)     # and something answers there
        assert conn.request("GET", "/CertProv/CertProvisioningService.svc/mex")[0] == 200
        conn.close()


@pytest.mark.parametrize("version", [SSL.TLS1_VERSION, SSL.TLS1_1_VERSION, SSL.TLS1_2_VERSION])
def test_tlsdsk_sign_in(simrun, sim, users, user_key, tlsdsk_client, registrar, ctl, version):
    cert = provision(sim, users["alice"], user_key)
    ctl.set_auth(schemes=["TLS-DSK", "NTLM"])
    c = tlsdsk_client("alice", cert, version=version)

    async def flow():
        r = await c.sign_in(registrar("pool1"))
        assert r.code == 200, r
        assert c.round_trips == 4
        # ServerHello..ServerHelloDone in ONE handshake record, as Schannel sends it (SIPE
        # parses a single record per token)
        f = c.server_flight
        assert f[0] == 22 and 5 + int.from_bytes(f[3:5], "big") == len(f)
        assert parse_auth(r.get("Authentication-Info"))[0] == "TLS-DSK"
        assert c.gruu and c.bad_signatures == 0
        r = await c.reregister()                 # signed refresh on the same SA
        assert r.code == 200 and c.bad_signatures == 0
        r = await c.request("OPTIONS")           # any signed request is verified and answered
        assert r.code < 500 and c.bad_signatures == 0
    simrun(flow())
    cnt = ctl.counters()
    assert cnt["signin_round_trips"]["alice"] == [4]
    assert cnt["tlsdsk_handshakes"]["alice"] == 1
    assert "signature_failures" not in cnt


def test_tlsdsk_through_director_and_signed_final_leg(simrun, sim, users, user_key,
                                                      tlsdsk_client, registrar, ctl):
    cert = provision(sim, users["alice"], user_key)
    ctl.set_auth(schemes=["TLS-DSK"])
    c = tlsdsk_client("alice", cert)
    c.sign_final_leg = True

    async def flow():
        r = await c.sign_in(registrar("director"))
        assert r.code == 200 and c.bad_signatures == 0
    simrun(flow())
    assert ctl.counters()["signin_round_trips"]["alice"] == [8]   # 4 at the Director, 4 at pool1


def test_tlsdsk_refuses_bad_client_certificates(simrun, sim, users, user_key, tlsdsk_client,
                                                registrar, ctl):
    ctl.set_auth(schemes=["TLS-DSK"])
    # signed by the server CA, not the provisioning CA
    ca_key = serialization.load_pem_private_key(
        open(sim.certs.dir + "/ca.key", "rb").read(), None)
    ca = x509.load_pem_x509_certificate(open(sim.certs.ca_file, "rb").read())
    now = datetime.datetime.utcnow()
    rogue = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice@contoso.test")]))
             .issuer_name(ca.subject).public_key(user_key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=1)).sign(ca_key, hashes.SHA256()))
    ctl.set_cert_lifetime(seconds=1)
    expired = provision(sim, users["alice"], user_key)
    time.sleep(1.5)
    for cert in (rogue, expired, None):
        c = tlsdsk_client("alice", cert)

        async def flow():
            r = await c.sign_in(registrar("pool1"))
            assert r.code == 401 and c.session is None
        simrun(flow())
    cnt = ctl.counters()
    assert cnt["tlsdsk_failures"]["alice"] == 3
    assert "tlsdsk_handshakes" not in cnt and cnt["active_registrations"] == 0


def test_tlsdsk_signatures_are_checked_both_ways(simrun, sim, users, user_key, tlsdsk_client,
                                                 registrar, ctl):
    cert = provision(sim, users["alice"], user_key)
    ctl.set_auth(schemes=["TLS-DSK"])
    c = tlsdsk_client("alice", cert)

    async def flow():
        assert (await c.sign_in(registrar("pool1"))).code == 200
        # a forged client signature: dropped, never answered
        m = c.sign(c.register_message())
        scheme, p = parse_auth(m.get("Authorization"))
        m.set("Authorization", m.get("Authorization").replace(p["response"],
                                                               "00" + p["response"][2:]
                                                               if p["response"][:2] != "00"
                                                               else "11" + p["response"][2:]))
        with pytest.raises(asyncio.TimeoutError):
            await c.send_and_wait(m, timeout=1)
        # a forged server signature: the client refuses it
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, lambda: ctl.tamper_signatures(user="alice")) == 1
        with pytest.raises(asyncio.TimeoutError):
            await c.send_and_wait(c.sign(c.register_message()), timeout=1)
        assert c.bad_signatures == 1
    simrun(flow())
    assert ctl.counters()["signature_failures"]["alice"] == 1


def test_key_material_equals_openssl_exporter(simthread, sim, users, user_key):
    """The server's PRF over the key-logged master secret == SSL_export_keying_material."""
    from sim import tlsdsk
    cert = provision(sim, users["alice"], user_key)
    for version in (SSL.TLS1_VERSION, SSL.TLS1_1_VERSION, SSL.TLS1_2_VERSION):
        for cipher in (b"AES128-SHA", b"AES256-SHA"):
            cli = TlsClient(cert, user_key, sim.certs.ca_file, version, cipher)

            def server_side(data_in):
                hs = tlsdsk.Handshake(tlsdsk.server_for(sim), POOL1)
                out = hs.feed(data_in)
                return hs, out
            hs, out = simthread.call(server_side, cli.step())
            out = simthread.call(hs.feed, cli.step(out))
            cli.step(out)
            assert cli.done and hs.done
            # the registrar's own certificate, the one its SIP listener presents
            assert cli.c.get_peer_certificate().get_subject().CN == POOL1
            session, peer, vname, cname = simthread.call(hs.result)
            simthread.call(hs.close)
            want = cli.c.export_keying_material(b"client EAP encryption", 128)
            assert (session.client_key, session.server_key) == (want[64:96], want[96:128]), \
                (vname, cname)
            assert cname == cipher.decode()
    assert open(tlsdsk.server_for(sim).keylog.path).read() == ""    # no secrets left behind


# autodiscover User resource behind a web ticket ------------------------------------------
def test_user_resource_needs_a_web_ticket(sim, users, ctl):
    ad = "lyncdiscoverinternal.contoso.test"
    path = "/Autodiscover/AutodiscoverService.svc/root/user?sipuri=alice@contoso.test"
    conn = Https(sim, ad)
    assert conn.request("GET", path)[0] == 200         # the default scenario: no ticket needed
    assert ctl.set_autodiscover(user_webticket=True) == {"user_webticket": True}
    status, hdrs, body = conn.request("GET", path)
    assert status == 401
    wt = hdrs["X-MS-WebTicketURL"]
    assert wt == f"https://{ad}/WebTicket/WebTicketService.svc"
    status, _, _, tk = get_ticket(sim, users["alice"], applies_to=f"https://{ad}{path}", host=ad)
    assert status == 200
    opaque = base64.b64encode(tk.assertion.encode()).decode()
    status, _, body = conn.request("GET", path, headers={"X-MS-WebTicket": f"opaque={opaque}"})
    assert status == 200
    access = ET.fromstring(body).find("User/SipClientInternalAccess")
    assert access.get("fqdn") == "director.contoso.test"
    forged = base64.b64encode(tk.assertion.replace("alice", "bob").encode()).decode()
    assert conn.request("GET", path, headers={"X-MS-WebTicket": f"opaque={forged}"})[0] == 401
    assert conn.request("GET", path, headers={"X-MS-WebTicket": "opaque=!!"})[0] == 401
    ctl.set_autodiscover(user_webticket=False)
    assert conn.request("GET", path)[0] == 200
    with pytest.raises(ControlError, match="true or false"):
        ctl.set_autodiscover(user_webticket="yes")
    conn.close()
