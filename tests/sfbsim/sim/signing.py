# SPDX-License-Identifier: LGPL-2.1-or-later
"""MS-SIPAE message signing: the signature buffer (docs/protocol.md §5.1) and the security
association (SA) that signs and verifies with it.

The buffer is rebuilt from the message's own bytes, field by field, exactly as the peer must
have built it; nothing is normalised (case included), because one differing byte is what makes
a real client drop the connection.
"""

import hmac
import secrets
import time

from .sipmsg import NameAddr, SipParseError, format_auth, parse_auth, split_top

REALM = "SIP Communications Service"

#: headers that carry a signature or an auth token, in SIPE's lookup order
AUTH_HEADERS = ("Proxy-Authorization", "Authorization", "Proxy-Authentication-Info",
                "Authentication-Info")


def _uri_of(value):
    """URI of a From/To value as the signature wants it: inside <>, parameters of the URI
    kept, header parameters dropped; an addr-spec up to the first ';'."""
    try:
        return NameAddr.parse(value).uri
    except SipParseError:
        return ""


def _tag_of(value):
    """The tag parameter value, as written, up to the next ';'."""
    i = value.find(";tag=")
    if i < 0:
        low = value.lower()
        i = low.find(";tag=")
        if i < 0:
            return ""
    rest = value[i + 5:]
    return rest.split(";")[0].strip()


def _identities(msg):
    """(sip URI, tel URI) from P-Asserted-Identity, else P-Preferred-Identity."""
    values = msg.get_all("P-Asserted-Identity") or msg.get_all("P-Preferred-Identity")
    sip = tel = ""
    for line in values:
        for item in split_top(line, ","):
            uri = _uri_of(item)
            scheme = uri.split(":", 1)[0].lower()
            if scheme in ("sip", "sips") and not sip:
                sip = uri
            elif scheme == "tel" and not tel:
                tel = uri
    return sip, tel


def signature_buffer(msg, protocol, rand, num, realm, targetname, version=4):
    """The bytes a MS-SIPAE signature covers (MS-SIPAE 3.2.5.2, MS-SIP 3.1.4.2).

    Version >= 3: protocol, rand, num, realm, targetname, Call-ID, CSeq number, CSeq method,
    From URI, From tag, To URI, To tag, PAI sip URI, PAI tel URI, Expires, and for responses
    the status code; each in <>.  Version < 3 leaves out To URI and both PAI fields."""
    num_s, method = "", ""
    cseq = msg.get("CSeq")
    if cseq:
        parts = cseq.split()
        num_s = parts[0]
        method = parts[1] if len(parts) > 1 else ""
    if msg.is_request:
        method = msg.method
    frm, to = msg.get("From", ""), msg.get("To", "")
    expires = msg.get("Expires") or ""
    if int(version) >= 3:
        pai_sip, pai_tel = _identities(msg)
        fields = [protocol, rand, num, realm, targetname, msg.get("Call-ID", ""), num_s, method,
                  _uri_of(frm), _tag_of(frm), _uri_of(to), _tag_of(to), pai_sip, pai_tel,
                  expires]
    else:
        fields = [protocol, rand, num, realm, targetname, msg.get("Call-ID", ""), num_s, method,
                  _uri_of(frm), _tag_of(frm), _tag_of(to), expires]
    out = "".join(f"<{f}>" for f in fields)
    if msg.is_response:
        out += f"<{msg.code}>"
    return out.encode("utf-8")


def auth_params(msg):
    """(scheme, params) of the first signature-bearing header, or (None, {})."""
    for name in AUTH_HEADERS:
        v = msg.get(name)
        if v is not None:
            return parse_auth(v)
    return None, {}


class SecurityAssociation:
    """An established NTLM SA between one client and one registrar.

    Keyed by `opaque`, which the client echoes in every Authorization.  snum counts the
    server's signed messages; cnums already seen are remembered to refuse replays."""

    REPLAY_WINDOW = 1024

    def __init__(self, opaque, session, user, login, targetname, lifetime, protocol="NTLM",
                 version=4):
        self.opaque, self.session = opaque, session
        self.user, self.login = user, login
        self.targetname, self.protocol, self.version = targetname, protocol, version
        self.realm = REALM
        self.created = time.monotonic()
        self.expires_at = self.created + lifetime
        self.snum = 0
        self.tamper = 0  # control action tamper_signatures: corrupt this many signatures
        self._seen = set()
        self._max_cnum = 0

    @property
    def expired(self):
        return time.monotonic() >= self.expires_at

    def sign(self, msg):
        """Add (replace) Authentication-Info with srand/snum/rspauth over `msg`."""
        msg.remove("Authentication-Info")
        self.snum += 1
        srand = secrets.token_hex(4).upper()
        buf = signature_buffer(msg, self.protocol, srand, str(self.snum), self.realm,
                               self.targetname, self.version)
        sig = self.session.sign_server(buf).hex()
        if self.tamper > 0:  # a forged signature: the client must drop the connection
            self.tamper -= 1
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        msg.insert(0, "Authentication-Info", format_auth(self.protocol, [
            ("qop", "auth"), ("opaque", self.opaque), ("srand", srand), ("snum", str(self.snum)),
            ("rspauth", sig), ("targetname", self.targetname), ("realm", self.realm),
            ("version", self.version)]))
        return msg

    def verify(self, msg, params=None):
        """Check the client's signature on `msg`.  Returns None when good, else a reason."""
        if params is None:
            _, params = auth_params(msg)
        crand, cnum, response = params.get("crand"), params.get("cnum"), params.get("response")
        if not (crand and cnum and response):
            return "unsigned (no crand/cnum/response)"
        try:
            sig = bytes.fromhex(response)
            n = int(cnum)
        except ValueError:
            return "malformed crand/cnum/response"
        version = params.get("version") or self.version
        try:
            version = int(version)
        except ValueError:
            return "malformed version"
        buf = signature_buffer(msg, self.protocol, crand, cnum,
                               params.get("realm", self.realm),
                               params.get("targetname", self.targetname), version)
        if not self.session.verify_client(buf, sig):
            return "bad signature"
        if n in self._seen or n <= self._max_cnum - self.REPLAY_WINDOW:
            return f"replayed cnum {n}"
        self._seen.add(n)
        self._max_cnum = max(self._max_cnum, n)
        if len(self._seen) > 2 * self.REPLAY_WINDOW:
            floor = self._max_cnum - self.REPLAY_WINDOW
            self._seen = {x for x in self._seen if x > floor}
        return None


def verify_server_signature(msg, session):
    """Client side (test client): check a server's Authentication-Info.  None when good."""
    v = msg.get("Authentication-Info")
    if v is None:
        return "no Authentication-Info"
    scheme, p = parse_auth(v)
    try:
        sig = bytes.fromhex(p.get("rspauth", ""))
    except ValueError:
        return "malformed rspauth"
    buf = signature_buffer(msg, scheme, p.get("srand", ""), p.get("snum", ""),
                           p.get("realm", ""), p.get("targetname", ""),
                           int(p.get("version") or 4))
    return None if session.verify_server(buf, sig) else "bad signature"


def client_sign(msg, session, header, scheme, opaque, targetname, cnum, extra=(), version=4):
    """Client side (test client): add an Authorization-style header with crand/cnum/response."""
    crand = secrets.token_hex(4)
    buf = signature_buffer(msg, scheme, crand, str(cnum), REALM, targetname, version)
    sig = session.sign_client(buf).hex()
    params = [("qop", "auth")] + ([("opaque", opaque)] if opaque else []) + [
              ("realm", REALM), ("targetname", targetname)] + list(extra) + [
              ("version", version), ("crand", crand), ("cnum", str(cnum)), ("response", sig)]
    msg.remove(header)
    msg.add(header, format_auth(scheme, params))
    return msg


def same_hex(a, b):
    return hmac.compare_digest(a.lower(), b.lower())
