# SPDX-License-Identifier: LGPL-2.1-or-later
"""Certificate provisioning service (MS-OCAUTHWS) and the provisioning CA.

docs/protocol.md §8.2 steps 1, 5 and 6.  Served by every HTTPS web server of the Sim:

  GET  /CertProv/CertProvisioningService.svc/mex
       WSDL: Policy CertProvisioningServiceWebTicketProof_SHA1_policy whose
       ExactlyOne/All/EndorsingSupportingTokens/Policy/IssuedToken/Issuer/Address is the web
       ticket service (https://<host>/WebTicket/WebTicketService.svc), and port
       CertProvisioningServiceWebTicketProof_SHA1 at
       https://<host>/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1
  POST .../WebTicket_Proof_SHA1   (SOAPAction GetAndPublishCert)
       soap:Header/wsse:Security = wsu:Timestamp wsu:Id="timestamp" + the web ticket's
       saml:Assertion + ds:Signature (exc-c14n, hmac-sha1 with the ticket's proof key over
       SignedInfo, whose Reference #timestamp carries the SHA-1 digest of the Timestamp).
       Body GetAndPublishCert with a PKCS#10 (base64) -> the signed user certificate (base64
       DER) at Body/GetAndPublishCertResponse/RequestSecurityTokenResponse/
       RequestedSecurityToken/BinarySecurityToken.
       Any check failing -> SOAP fault (Body/Fault/Detail/error/internalerror/text) and
       X-Ms-diagnostics.

The provisioning CA (DIR/certs/provisioning-ca.pem, kept across warm starts) is the only trust
anchor of TLS-DSK client certificates in the registrars (tlsdsk.py).  Issued certificates:
CN=<user@domain>, SAN URI sip:<user@domain>, EKU clientAuth, lifetime certprov.cert_lifetime
(control action set_cert_lifetime; e.g. 1800 s for a certificate near expiry).
Control: set_provisioning (up / down), counter cert_provisionings per user.
"""

import base64
import datetime
import hashlib
import hmac
import os
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import control
from .sipmsg import normalize_aor
from .webticket import NS, WsError, exc_c14n, fault, find_ticket, iso, parse_iso, parse_xml

BASE_PATH = "/certprov/certprovisioningservice.svc"
PORT = "CertProvisioningServiceWebTicketProof_SHA1"
AUTH_SUFFIX = "WebTicket_Proof_SHA1"
ACTION = "http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert"
AWS = "http://schemas.microsoft.com/OCS/AuthWebServices/"
WSTEP = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
B64BIN = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
          "#Base64Binary")
HMAC_SHA1 = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
CLOCK_SKEW = 300
MAX_CSR = 16 * 1024


def conf(sim):
    d = sim.scenario.data.setdefault("certprov", {})
    d.setdefault("enabled", True)
    d.setdefault("cert_lifetime", 180 * 86400)
    d.setdefault("min_key_bits", 2048)
    return d


# the CA ------------------------------------------------------------------------------------
class ProvisioningCA:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "certs")
        self.ca_file = os.path.join(self.dir, "provisioning-ca.pem")
        self.key_file = os.path.join(self.dir, "provisioning-ca.key")
        self.key = self.cert = None

    def ensure(self):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        try:
            with open(self.key_file, "rb") as f:
                self.key = serialization.load_pem_private_key(f.read(), None)
            with open(self.ca_file, "rb") as f:
                self.cert = x509.load_pem_x509_certificate(f.read())
            return False
        except (OSError, ValueError):
            pass
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sfbsim"),
                          x509.NameAttribute(NameOID.COMMON_NAME,
                                             "sfbsim Communications Server Provisioning CA")])
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                                  crl_sign=True, content_commitment=False,
                                                  key_encipherment=False, data_encipherment=False,
                                                  key_agreement=False, encipher_only=False,
                                                  decipher_only=False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                         self.key.public_key()), critical=False)
                     .sign(self.key, hashes.SHA256()))
        for path, data, mode in (
                (self.key_file, self.key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption()), 0o600),
                (self.ca_file, self.cert.public_bytes(serialization.Encoding.PEM), 0o644)):
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        return True

    def issue(self, csr, user_uri, lifetime):
        """A user certificate for the CSR's public key (subject from the ticket, not the CSR)."""
        entity = user_uri.split(":", 1)[1]
        now = datetime.datetime.now(datetime.timezone.utc)
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, entity)]))
                .issuer_name(self.cert.subject).public_key(csr.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(seconds=lifetime))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(user_uri)]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True,
                                             content_commitment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()), critical=False)
                .sign(self.key, hashes.SHA256()))


# metadata ----------------------------------------------------------------------------------
def mex(host):
    svc = f"https://{host}/CertProv/CertProvisioningService.svc"
    issuer = f"https://{host}/WebTicket/WebTicketService.svc"
    return (f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<wsdl:definitions name="CertProvisioningService" '
            f'targetNamespace="{AWS}" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
            f'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:wsp="{NS["wsp"]}" '
            f'xmlns:wsu="{NS["wsu"]}" '
            f'xmlns:sp="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702" '
            f'xmlns:wsa10="{NS["wsa"]}" xmlns:tns="{AWS}">\n'
            f'  <wsp:Policy wsu:Id="{PORT}_policy"><wsp:ExactlyOne><wsp:All>\n'
            f'    <sp:TransportBinding><wsp:Policy><sp:TransportToken><wsp:Policy>'
            f'<sp:HttpsToken/></wsp:Policy></sp:TransportToken></wsp:Policy>'
            f'</sp:TransportBinding>\n'
            f'    <sp:EndorsingSupportingTokens><wsp:Policy>'
            f'<sp:IssuedToken sp:IncludeToken="http://docs.oasis-open.org/ws-sx/'
            f'ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient">'
            f'<sp:Issuer><wsa10:Address>{issuer}</wsa10:Address></sp:Issuer>'
            f'<sp:RequestSecurityTokenTemplate><t:TokenType '
            f'xmlns:t="{NS["wst"]}">http://docs.oasis-open.org/wss/'
            f'oasis-wss-saml-token-profile-1.1#SAMLV1.1</t:TokenType><t:KeyType '
            f'xmlns:t="{NS["wst"]}">http://docs.oasis-open.org/ws-sx/ws-trust/200512/'
            f'SymmetricKey</t:KeyType></sp:RequestSecurityTokenTemplate>'
            f'</sp:IssuedToken></wsp:Policy></sp:EndorsingSupportingTokens>\n'
            f'  </wsp:All></wsp:ExactlyOne></wsp:Policy>\n'
            f'  <wsdl:service name="CertProvisioningService">\n'
            f'    <wsdl:port name="{PORT}" binding="tns:{PORT}">\n'
            f'      <soap:address location="{svc}/{AUTH_SUFFIX}"/>\n'
            f'    </wsdl:port>\n'
            f'  </wsdl:service>\n'
            f'</wsdl:definitions>\n').encode()


# GetAndPublishCert -------------------------------------------------------------------------
def _norm_url(u):
    return (u or "").strip().lower().replace(":443/", "/").rstrip("/")


def _by_wsu_id(root, ident):
    for el in root.iter():
        if el.get(f"{{{NS['wsu']}}}Id") == ident or el.get("Id") == ident:
            return el
    return None


def verify_security(sim, doc, auth_url):
    """Check wsse:Security; returns the Ticket.  Raises WsError."""
    sec = doc.find(".//wsse:Security", NS)
    if sec is None:
        raise WsError("no wsse:Security header: a web ticket is required", diag=28030,
                      subcode="MissingWebTicket")
    assertion = sec.find("saml:Assertion", NS)
    if assertion is None:
        raise WsError("no saml:Assertion in wsse:Security", diag=28030,
                      subcode="MissingWebTicket")
    ticket = find_ticket(sim, assertion.get("AssertionID"))
    if ticket is None or exc_c14n(assertion) != ticket.c14n:
        raise WsError("the web ticket is unknown, expired or altered", diag=28032,
                      subcode="InvalidWebTicket")
    if _norm_url(ticket.applies_to) != _norm_url(auth_url):
        raise WsError(f"the web ticket applies to {ticket.applies_to}, not this service",
                      diag=28033, subcode="InvalidWebTicket")
    sig = sec.find("ds:Signature", NS)
    if sig is None:
        raise WsError("this port needs a proof-key signature (ds:Signature)", diag=28034,
                      subcode="MissingSignature")
    signed_info = sig.find("ds:SignedInfo", NS)
    method = signed_info.find("ds:SignatureMethod", NS) if signed_info is not None else None
    if method is None or method.get("Algorithm") != HMAC_SHA1:
        raise WsError("SignatureMethod must be hmac-sha1", diag=28034, subcode="BadSignature")
    key_id = (sig.findtext("ds:KeyInfo/wsse:SecurityTokenReference/wsse:KeyIdentifier",
                           namespaces=NS) or "").strip()
    if key_id != ticket.id:
        raise WsError("KeyInfo does not name the web ticket's AssertionID", diag=28034,
                      subcode="BadSignature")
    refs = signed_info.findall("ds:Reference", NS)
    ts = None
    for ref in refs:
        uri = ref.get("URI") or ""
        target = _by_wsu_id(sec, uri[1:]) if uri.startswith("#") else None
        if target is None:
            raise WsError(f"Reference {uri} names nothing in wsse:Security", diag=28034,
                          subcode="BadSignature")
        digest = base64.b64encode(hashlib.sha1(exc_c14n(target)).digest()).decode()
        if (ref.findtext("ds:DigestValue", namespaces=NS) or "").strip() != digest:
            raise WsError(f"digest of {uri} does not match", diag=28034, subcode="BadSignature")
        if target.tag == f"{{{NS['wsu']}}}Timestamp":
            ts = target
    if ts is None:
        raise WsError("the signature does not cover a wsu:Timestamp", diag=28034,
                      subcode="BadSignature")
    want = hmac.new(ticket.proof_key, exc_c14n(signed_info), hashlib.sha1).digest()
    try:
        got = base64.b64decode((sig.findtext("ds:SignatureValue", namespaces=NS) or "").strip(),
                               validate=True)
    except ValueError:
        got = b""
    if not hmac.compare_digest(want, got):
        raise WsError("signature value does not match the proof key", diag=28034,
                      subcode="BadSignature")
    now = time.time()
    created = parse_iso(ts.findtext("wsu:Created", namespaces=NS))
    expires = parse_iso(ts.findtext("wsu:Expires", namespaces=NS))
    if created > now + CLOCK_SKEW or expires < now - CLOCK_SKEW:
        raise WsError("the timestamp is outside its validity", diag=28035,
                      subcode="StaleTimestamp")
    return ticket


def get_and_publish_cert(sim, host, body, auth_url):
    """Returns (response bytes, user, certificate).  Raises WsError."""
    doc = parse_xml(body)
    ticket = verify_security(sim, doc, auth_url)
    user = ticket.user
    req = doc.find(f".//{{{AWS}}}GetAndPublishCert")
    if req is None:
        raise WsError("no GetAndPublishCert in the body")
    entity = (req.get("Entity") or "").strip()
    if normalize_aor(entity if entity.lower().startswith("sip:") else "sip:" + entity) != \
            normalize_aor(user["uri"]):
        raise WsError(f"Entity {entity} is not the web ticket's user", diag=28040,
                      subcode="InvalidEntity")
    bst = None
    for el in req.iter(f"{{{NS['wsse']}}}BinarySecurityToken"):
        if (el.get("ValueType") or "").endswith("#PKCS10"):
            bst = el
    if bst is None:
        raise WsError("no PKCS#10 BinarySecurityToken", diag=28041, subcode="InvalidRequest")
    b64 = "".join((bst.text or "").split())
    try:
        der = base64.b64decode(b64, validate=True)
        if len(der) > MAX_CSR:
            raise ValueError("too long")
        csr = x509.load_der_x509_csr(der)
    except ValueError as e:
        raise WsError(f"the certificate request does not parse: {e}", diag=28041,
                      subcode="InvalidCertificateRequest") from None
    if not csr.is_signature_valid:
        raise WsError("the certificate request's signature is invalid", diag=28041,
                      subcode="InvalidCertificateRequest")
    key = csr.public_key()
    bits = conf(sim)["min_key_bits"]
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < bits:
        raise WsError(f"the key must be RSA of at least {bits} bits", diag=28042,
                      subcode="InvalidCertificateRequest")
    cert = sim.certprov_ca.issue(csr, user["uri"], int(conf(sim)["cert_lifetime"]))
    der = cert.public_bytes(serialization.Encoding.DER)
    reqid = (req.findtext(f".//{{{WSTEP}}}RequestID") or "").strip()
    resp = (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<s:Envelope xmlns:s="{NS["s"]}"><s:Body>'
            f'<GetAndPublishCertResponse xmlns="{AWS}">'
            f'<RequestSecurityTokenResponse xmlns="{NS["wst"]}">'
            f'<TokenType>{X509V3}</TokenType>'
            f'<DispositionMessage xmlns="{WSTEP}">Issued</DispositionMessage>'
            f'<RequestedSecurityToken><BinarySecurityToken ValueType="{X509V3}" '
            f'EncodingType="{B64BIN}" xmlns="{NS["wsse"]}">'
            f'{base64.b64encode(der).decode()}</BinarySecurityToken></RequestedSecurityToken>'
            f'<RequestID xmlns="{WSTEP}">{reqid if reqid.replace("-", "").isalnum() else ""}'
            f'</RequestID><Lifetime><Created xmlns="{NS["wsu"]}">'
            f'{iso(cert.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp())}'
            f'</Created><Expires xmlns="{NS["wsu"]}">'
            f'{iso(cert.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp())}'
            f'</Expires></Lifetime>'
            f'</RequestSecurityTokenResponse></GetAndPublishCertResponse>'
            f'</s:Body></s:Envelope>').encode()
    return resp, user, cert


def handle(web, method, path, headers, body, conn):
    """Requests under /CertProv/CertProvisioningService.svc; None for other paths."""
    if not path.startswith(BASE_PATH):
        return None
    sim = web.sim
    if not conf(sim)["enabled"]:
        return fault(WsError("the certificate provisioning service is unavailable",
                             diag=28099, http=conf(sim).get("down_status", 503),
                             subcode="ServiceUnavailable"),
                     web.host, "CertProvisioningService")
    rest = path[len(BASE_PATH):]
    if rest == "/mex" and method in ("GET", "HEAD"):
        return 200, "OK", mex(web.host), "text/xml; charset=utf-8", []
    if rest != "/" + AUTH_SUFFIX.lower():
        return 404, "Not Found", b"", "text/plain", []
    if method != "POST":
        return 405, "Method Not Allowed", b"", "text/plain", [("Allow", "POST")]
    auth_url = f"https://{web.host}/CertProv/CertProvisioningService.svc/{AUTH_SUFFIX}"
    try:
        action = headers.get("soapaction", "").strip('"')
        if action and action != ACTION:
            raise WsError(f"unknown SOAPAction {action}", subcode="ActionNotSupported")
        resp, user, cert = get_and_publish_cert(sim, web.host, body, auth_url)
    except WsError as e:
        sim.counters.bump("cert_provisioning_faults")
        sim.log.note(f"HTTPS {web.host}: GetAndPublishCert fault: {e.text}")
        return fault(e, web.host, "CertProvisioningService")
    sim.counters.bump("cert_provisionings", user["id"])
    sim.log.note(f"HTTPS {web.host}: certificate {cert.serial_number:x} for {user['uri']} "
                 f"until {cert.not_valid_after:%Y-%m-%d %H:%M:%S}Z")
    return 200, "OK", resp, "text/xml; charset=utf-8", []


# control -----------------------------------------------------------------------------------
@control.action("set_provisioning")
def _set_provisioning(sim, up=True, status=503):
    """Certificate provisioning service up, or down (every request answered `status`, 503
    by default, with a fault and X-Ms-diagnostics)."""
    if not 400 <= int(status) <= 599:
        raise ValueError("status must be 400-599")
    conf(sim).update(enabled=bool(up), down_status=int(status))


@control.action("set_cert_lifetime")
def _set_cert_lifetime(sim, seconds=180 * 86400):
    """Lifetime (s) of user certificates issued from now on; e.g. 1800 for one that is
    already within an hour of expiry."""
    if seconds <= 0:
        raise ValueError("lifetime must be > 0")
    conf(sim)["cert_lifetime"] = int(seconds)


@control.action("reset_tlsdsk")
def _reset_tlsdsk(sim):
    """Provisioning up, default certificate and web ticket lifetimes, tickets forgotten."""
    c = conf(sim)
    c.update(enabled=True, cert_lifetime=180 * 86400, down_status=503)
    sim.scenario.data.setdefault("webticket", {})["lifetime"] = 28800
    getattr(sim, "_webtickets", {}).clear()
