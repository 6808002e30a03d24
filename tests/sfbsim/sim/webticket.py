# SPDX-License-Identifier: LGPL-2.1-or-later
"""Web Ticket Service (MS-OCAUTHWS), the on-premises Windows-authentication flavour.

docs/protocol.md §8.2 steps 2-4 and §8.3.  Served by every HTTPS web server of the Sim:

  GET  /WebTicket/WebTicketService.svc/mex        WSDL; port WebTicketServiceWinNegotiate
  POST /WebTicket/WebTicketService.svc/WinNegotiate
       WS-Trust RST (SOAP 1.1), HTTP authentication NTLM or Negotiate (connection-oriented
       NTLM, raw NTLMSSP in either scheme: NEGOTIATE -> 401 with CHALLENGE -> AUTHENTICATE on
       the same connection).  Answer: RSTR with a SAML 1.1 assertion, its Lifetime, the
       server entropy (BinarySecret) and ComputedKey PSHA1.

The proof key is P_SHA1(client entropy, server entropy), as long as the client entropy
(WS-Trust CK/PSHA1).  Issued tickets are kept by AssertionID (user, AppliesTo, proof key,
expiry, the assertion's bytes) for certprov.py (wsse:Security with a proof signature) and for
the autodiscover User resource (X-MS-WebTicket: opaque=<base64 assertion>).

The RSTR is written the way SIPE reads it (raw string search): unprefixed <Lifetime> with
wsu:Created/wsu:Expires children whose prefix is declared on the Envelope, unprefixed
<BinarySecret> (the first one in the document is the server entropy), `saml:Assertion` with
its own xmlns:saml and an AssertionID attribute.
"""

import base64
import datetime
import hashlib
import os
import time
import uuid

from lxml import etree

from . import control
from .ntlm import (F_56, F_128, F_ALWAYS_SIGN, F_DATAGRAM, F_KEY_EXCH, F_NTLM, F_SEAL, F_SIGN,
                   F_TARGET_INFO, F_TARGET_TYPE_DOMAIN, F_UNICODE, F_VERSION, F_ESS,
                   F_REQUEST_TARGET, NtlmError, NtlmServer)
from .scenario import login_parts
from .sipmsg import normalize_aor
from .tlsdsk import p_hash

BASE_PATH = "/webticket/webticketservice.svc"
AUTH_PORT = "WinNegotiate"
MAX_SOAP = 64 * 1024
MAX_TICKETS = 4096
MIN_ENTROPY, MAX_ENTROPY = 16, 128

NS = {
    "s": "http://schemas.xmlsoap.org/soap/envelope/",
    "s12": "http://www.w3.org/2003/05/soap-envelope",
    "wst": "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
    "wst05": "http://schemas.xmlsoap.org/ws/2005/02/trust",
    "wsp": "http://schemas.xmlsoap.org/ws/2004/09/policy",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "saml": "urn:oasis:names:tc:SAML:1.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "auth": "http://schemas.xmlsoap.org/ws/2006/12/authorization",
}
SAML_TOKEN = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1"
URI_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/uri"
RST_ACTION = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"

#: NTLM flags the web ticket service can grant over HTTP (connection-oriented)
HTTP_NTLM_FLAGS = (F_UNICODE | F_REQUEST_TARGET | F_SIGN | F_SEAL | F_NTLM | F_ALWAYS_SIGN
                   | F_ESS | F_TARGET_INFO | F_VERSION | F_128 | F_KEY_EXCH | F_56)


class WsError(Exception):
    """A SOAP fault to return: code (HTTP), X-Ms-diagnostics id, reason text."""

    def __init__(self, text, diag=28000, http=500, subcode="InvalidRequest"):
        super().__init__(text)
        self.text, self.diag, self.http, self.subcode = text, diag, http, subcode


# helpers shared with certprov.py ---------------------------------------------------------
def psha1(secret, seed, n):
    return p_hash(hashlib.sha1, secret, seed, n)


def parse_xml(body):
    """Parse a client's SOAP/XML document with limits (size, no DTD, no entities)."""
    if len(body) > MAX_SOAP:
        raise WsError("request too large", http=413)
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise WsError("DTDs are not allowed")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False)
    try:
        return etree.fromstring(body, parser)
    except etree.XMLSyntaxError as e:
        raise WsError(f"malformed XML: {e}") from None


def exc_c14n(el):
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False)


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text):
    t = (text or "").strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    try:
        d = datetime.datetime.fromisoformat(t)
    except ValueError:
        raise WsError(f"bad timestamp {text!r}") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


def fault(err, host, service):
    """(code, reason, body, content type, headers) of a SOAP fault in the shape
    Body/Fault/Detail/error/internalerror/text plus X-Ms-diagnostics (§8.2)."""
    text = err.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<s:Envelope xmlns:s="{NS["s12"]}"><s:Body><s:Fault>'
            f'<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>{err.subcode}</s:Value>'
            f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{text}</s:Text></s:Reason>'
            f'<s:Detail><error xmlns="http://schemas.microsoft.com/OCS/AuthWebServices/">'
            f'<code>{err.diag}</code><subcode>{err.subcode}</subcode><reason>{text}</reason>'
            f'<internalerror><code>{err.diag}</code><text>{text}</text></internalerror>'
            f'</error></s:Detail></s:Fault></s:Body></s:Envelope>').encode()
    reason = {500: "Internal Server Error", 413: "Payload Too Large", 401: "Unauthorized",
              503: "Service Unavailable", 400: "Bad Request", 403: "Forbidden"}.get(err.http, "Error")
    diag = (f'{err.diag};source="{host}";reason="{err.text}";'
            f'fault="{err.subcode}";service="{service}"')
    return err.http, reason, body, "application/soap+xml; charset=utf-8", [
        ("X-Ms-diagnostics", diag)]


def conf(sim):
    d = sim.scenario.data.setdefault("webticket", {})
    d.setdefault("lifetime", 28800)
    return d


# tickets -----------------------------------------------------------------------------------
class Ticket:
    def __init__(self, user, applies_to, proof_key, created, expires, assertion):
        self.user, self.applies_to, self.proof_key = user, applies_to, proof_key
        self.created, self.expires, self.assertion = created, expires, assertion
        self.id = None

    @property
    def valid(self):
        return time.time() < self.expires


def tickets(sim):
    t = getattr(sim, "_webtickets", None)
    if t is None:
        t = sim._webtickets = {}
    return t


def store(sim, ticket):
    t = tickets(sim)
    if len(t) >= MAX_TICKETS:
        now = time.time()
        for k in [k for k, v in t.items() if v.expires < now] or [next(iter(t))]:
            del t[k]
    t[ticket.id] = ticket


def find_ticket(sim, assertion_id):
    tk = tickets(sim).get(assertion_id or "")
    return tk if tk is not None and tk.valid else None


def ticket_from_header(sim, value):
    """X-MS-WebTicket: opaque=<base64 of the raw assertion> -> Ticket or None."""
    v = (value or "").strip()
    if v.lower().startswith("opaque="):
        v = v[7:]
    try:
        raw = base64.b64decode(v.strip().strip('"'), validate=True)
        if len(raw) > MAX_SOAP:
            return None
        el = parse_xml(raw)
    except (ValueError, WsError):
        return None
    tk = find_ticket(sim, el.get("AssertionID"))
    if tk is None or exc_c14n(el) != tk.c14n:
        return None
    return tk


# metadata ----------------------------------------------------------------------------------
def mex(host):
    base = f"https://{host}/WebTicket/WebTicketService.svc"
    return (f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<wsdl:definitions name="WebTicketService" targetNamespace="http://tempuri.org/" '
            f'xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
            f'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
            f'xmlns:wsp="{NS["wsp"]}" xmlns:wsu="{NS["wsu"]}" xmlns:tns="http://tempuri.org/" '
            f'xmlns:wsa10="{NS["wsa"]}">\n'
            f'  <wsp:Policy wsu:Id="WebTicketServiceWinNegotiate_policy"><wsp:ExactlyOne>'
            f'<wsp:All><http:NegotiateAuthentication '
            f'xmlns:http="http://schemas.microsoft.com/ws/06/2004/policy/http"/></wsp:All>'
            f'</wsp:ExactlyOne></wsp:Policy>\n'
            f'  <wsdl:service name="WebTicketService">\n'
            f'    <wsdl:port name="WebTicketServiceWinNegotiate" '
            f'binding="tns:WebTicketServiceWinNegotiate">\n'
            f'      <soap:address location="{base}/{AUTH_PORT}"/>\n'
            f'      <wsa10:EndpointReference><wsa10:Address>{base}/{AUTH_PORT}</wsa10:Address>'
            f'</wsa10:EndpointReference>\n'
            f'    </wsdl:port>\n'
            f'  </wsdl:service>\n'
            f'</wsdl:definitions>\n').encode()


# HTTP authentication -----------------------------------------------------------------------
def _user_for_login(sim, domain, login):
    for u in sim.scenario.users.values():
        ldom, luser = login_parts(u["login"])
        if luser.lower() == login.lower() and (not domain or ldom.lower() == domain.lower()):
            return u
        if normalize_aor(u["uri"]) == normalize_aor("sip:" + login):
            return u
    return None


def http_auth(web, headers, conn):
    """Connection-oriented NTLM (in `NTLM` or `Negotiate`).  Returns the scenario user, or a
    response tuple (401 with a challenge) to send instead."""
    sim = web.sim
    if conn.get("user") is not None:
        return conn["user"]
    challenge = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")]
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() not in ("ntlm", "negotiate") or not token.strip():
        return 401, "Unauthorized", b"", "text/plain", challenge
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except ValueError:
        return 401, "Unauthorized", b"", "text/plain", challenge
    scheme = "NTLM" if scheme.lower() == "ntlm" else "Negotiate"
    if raw.startswith(b"NTLMSSP\0\x01\0\0\0") and len(raw) >= 16:
        cflags = int.from_bytes(raw[12:16], "little")
        first = next(iter(sim.scenario.users.values()))
        domain = login_parts(first["login"])[0].upper()
        flags = (HTTP_NTLM_FLAGS & (cflags | F_TARGET_INFO | F_VERSION)) | F_TARGET_TYPE_DOMAIN
        flags |= F_NTLM | (F_UNICODE if cflags & F_UNICODE else 0)
        srv = NtlmServer(lambda d, u: (_user_for_login(sim, d, u) or {}).get("password"),
                         domain, web.host.split(".")[0].upper(), sim.scenario.domain, web.host,
                         flags & ~F_DATAGRAM)
        srv.require_sign = False
        conn["ntlm"] = srv
        return 401, "Unauthorized", b"", "text/plain", [
            ("WWW-Authenticate", f"{scheme} {base64.b64encode(srv.challenge()).decode()}")]
    if raw.startswith(b"NTLMSSP\0\x03\0\0\0") and conn.get("ntlm") is not None:
        srv = conn.pop("ntlm")
        try:
            domain, login = srv.authenticate(raw)
        except NtlmError as e:
            sim.log.note(f"HTTPS {web.host}: web ticket NTLM failed: {e}")
            sim.counters.bump("webticket_auth_failures")
            return 401, "Unauthorized", b"", "text/plain", challenge
        user = _user_for_login(sim, domain, login)
        if user is None:
            return 401, "Unauthorized", b"", "text/plain", challenge
        conn["user"] = user
        return user
    return 401, "Unauthorized", b"", "text/plain", challenge


# the RST -----------------------------------------------------------------------------------
def _text(el, path):
    found = el.find(path, NS)
    return (found.text or "").strip() if found is not None else None


def issue(sim, host, user, body):
    """Check a WS-Trust RST and build the RSTR.  Returns (rstr bytes, Ticket)."""
    doc = parse_xml(body)
    rst = doc.find(".//wst:RequestSecurityToken", NS)
    if rst is None:
        raise WsError("no wst:RequestSecurityToken in the body")
    token_type = _text(rst, "wst:TokenType")
    if token_type and token_type != SAML_TOKEN:
        raise WsError(f"token type {token_type} is not supported")
    applies = _text(rst, "wsp:AppliesTo/wsa:EndpointReference/wsa:Address")
    if not applies or not applies.lower().startswith("https://"):
        raise WsError("AppliesTo must name the https service the ticket is for")
    for cl in rst.findall("wst:Claims/auth:ClaimType", NS):
        if cl.get("Uri") == URI_CLAIM:
            claim = _text(cl, "auth:Value") or ""
            if normalize_aor(claim) != normalize_aor(user["uri"]):
                raise WsError(f"claimed {claim} is not the authenticated user", diag=28020,
                              subcode="InvalidClaim")
    secret = _text(rst, "wst:Entropy/wst:BinarySecret")
    if secret is None:
        raise WsError("no wst:Entropy/wst:BinarySecret (a proof key needs client entropy)")
    try:
        client_entropy = base64.b64decode(secret, validate=True)
    except ValueError:
        raise WsError("client entropy is not base64") from None
    if not MIN_ENTROPY <= len(client_entropy) <= MAX_ENTROPY:
        raise WsError("client entropy must be 16 to 128 bytes")
    context = rst.get("Context") or ""
    server_entropy = os.urandom(32)
    proof = psha1(client_entropy, server_entropy, len(client_entropy))
    now = time.time()
    expires = now + float(conf(sim)["lifetime"])
    aid = "uuid-" + str(uuid.uuid4())
    sip = user["uri"]
    assertion = (
        f'<saml:Assertion xmlns:saml="{NS["saml"]}" MajorVersion="1" MinorVersion="1" '
        f'AssertionID="{aid}" Issuer="https://{host}/WebTicket/WebTicketService.svc" '
        f'IssueInstant="{iso(now)}"><saml:Conditions NotBefore="{iso(now)}" '
        f'NotOnOrAfter="{iso(expires)}"><saml:AudienceRestrictionCondition><saml:Audience>'
        f'{_esc(applies)}</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>'
        f'<saml:AuthenticationStatement AuthenticationMethod="urn:federation:authentication:windows" '
        f'AuthenticationInstant="{iso(now)}"><saml:Subject><saml:NameIdentifier '
        f'Format="http://schemas.xmlsoap.org/claims/UPN">{_esc(sip)}</saml:NameIdentifier>'
        f'<saml:SubjectConfirmation><saml:ConfirmationMethod>'
        f'urn:oasis:names:tc:SAML:1.0:cm:holder-of-key</saml:ConfirmationMethod>'
        f'</saml:SubjectConfirmation></saml:Subject></saml:AuthenticationStatement>'
        f'</saml:Assertion>')
    tk = Ticket(user, applies, proof, now, expires, assertion.encode())
    tk.id = aid
    tk.c14n = exc_c14n(etree.fromstring(tk.assertion))
    rstr = (
        f'<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:wsu="{NS["wsu"]}"><s:Body>'
        f'<RequestSecurityTokenResponse Context="{_esc(context)}" xmlns="{NS["wst"]}">'
        f'<TokenType>{SAML_TOKEN}</TokenType>'
        f'<RequestedSecurityToken>{assertion}</RequestedSecurityToken>'
        f'<RequestedAttachedReference><o:SecurityTokenReference xmlns:o="{NS["wsse"]}">'
        f'<o:KeyIdentifier ValueType="http://docs.oasis-open.org/wss/oasis-wss-saml-token-'
        f'profile-1.0#SAMLAssertionID">{aid}</o:KeyIdentifier></o:SecurityTokenReference>'
        f'</RequestedAttachedReference>'
        f'<RequestedProofToken><ComputedKey>'
        f'http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1</ComputedKey>'
        f'</RequestedProofToken>'
        f'<Lifetime><wsu:Created>{iso(now)}</wsu:Created><wsu:Expires>{iso(expires)}'
        f'</wsu:Expires></Lifetime>'
        f'<KeySize>{8 * len(proof)}</KeySize>'
        f'<Entropy><BinarySecret>{base64.b64encode(server_entropy).decode()}</BinarySecret>'
        f'</Entropy>'
        f'<KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</KeyType>'
        f'</RequestSecurityTokenResponse></s:Body></s:Envelope>').encode()
    return rstr, tk


def _esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


# the web handler ---------------------------------------------------------------------------
def handle(web, method, path, headers, body, conn):
    """Requests under /WebTicket/WebTicketService.svc; None for other paths."""
    if not path.startswith(BASE_PATH):
        return None
    sim = web.sim
    rest = path[len(BASE_PATH):]
    if rest == "/mex" and method in ("GET", "HEAD"):
        return 200, "OK", mex(web.host), "text/xml; charset=utf-8", []
    if rest != "/" + AUTH_PORT.lower():
        return 404, "Not Found", b"", "text/plain", []
    if method != "POST":
        return 405, "Method Not Allowed", b"", "text/plain", [("Allow", "POST")]
    who = http_auth(web, headers, conn)
    if isinstance(who, tuple):
        return who
    try:
        rstr, tk = issue(sim, web.host, who, body)
    except WsError as e:
        sim.counters.bump("webticket_faults", who["id"])
        sim.log.note(f"HTTPS {web.host}: web ticket fault for {who['id']}: {e.text}")
        return fault(e, web.host, "WebTicketService")
    store(sim, tk)
    sim.counters.bump("webtickets", who["id"])
    sim.log.note(f"HTTPS {web.host}: web ticket {tk.id} for {who['uri']} -> {tk.applies_to}")
    return 200, "OK", rstr, "text/xml; charset=utf-8", []


@control.action("set_webticket_lifetime")
def _set_webticket_lifetime(sim, seconds=28800):
    """Lifetime of web tickets issued from now on (s)."""
    if seconds <= 0:
        raise ValueError("lifetime must be > 0")
    conf(sim)["lifetime"] = seconds


@control.action("set_autodiscover")
def _set_autodiscover(sim, user_webticket=False):
    """Whether the autodiscover User resource needs X-MS-WebTicket (else 401 naming the web
    ticket service)."""
    if not isinstance(user_webticket, bool):
        raise ValueError("user_webticket must be true or false")
    sim.scenario.autodiscover["user_webticket"] = user_webticket
    return {"user_webticket": user_webticket}
