# SPDX-License-Identifier: LGPL-2.1-or-later
"""TLS-DSK (MS-SIPAE) in the registrars: an in-band TLS handshake carried in gssapi-data.

docs/protocol.md §4.4, §5.4, §8.1.  Four REGISTER round trips:

  R1 REGISTER (no Authorization)                     -> 401, TLS-DSK challenge with sts-uri
  R2 TLS-DSK gssapi-data=<ClientHello>               -> 401 opaque + gssapi-data=<ServerHello,
                                                        Certificate, CertificateRequest, Done>
  R3 TLS-DSK opaque, gssapi-data=<Certificate, ClientKeyExchange, CertificateVerify, CCS,
     Finished> (may be signed already)               -> 401 opaque + gssapi-data=<CCS, Finished>
  R4 TLS-DSK opaque, no gssapi-data, signed          -> 200 (or the Director's 301), signed

The TLS server is Python's ssl module over MemoryBIOs: TLS 1.0-1.2, RSA key exchange,
AES-CBC-SHA only, client certificate required and verified against the provisioning CA
(certprov.py), which issues the user certificates.  The user is the certificate's subject
(CN=alice@contoso.test, SAN sip:alice@contoso.test).

Key material (§5.4): PRF(master_secret, "client EAP encryption", client_random ||
server_random), 128 bytes; client signing key = [64:96], server signing key = [96:128];
signature = HMAC-SHA1 (HMAC-MD5 for MD5 suites).  Python's ssl has no exporter, so the
master secret comes from the context's key log (DIR/tlsdsk/keylog, 0600, emptied whenever no
handshake is in flight) and the PRF is written out here (TLS 1.0/1.1: P_MD5 xor P_SHA1 over
the split secret; TLS 1.2: P_SHA256).  That equals the RFC 5705 exporter without context, which
the tests use (OpenSSL's SSL_export_keying_material through pyOpenSSL) as the independent check.
SA lifetime: the client certificate's remaining validity, capped at 8 h and timers.sa_lifetime.
"""

import base64
import datetime
import hashlib
import hmac
import os
import secrets
import ssl
import time
import warnings

from cryptography import x509
from cryptography.x509.oid import NameOID

LABEL = b"client EAP encryption"
KEY_MATERIAL_LEN = 128
CIPHERS = "AES128-SHA:AES256-SHA:@SECLEVEL=0"
MAX_TOKEN = 32 * 1024          # one gssapi-data (decoded)
MAX_RECORDS = 16
MAX_PENDING = 512
PENDING_TTL = 60.0
SA_CAP = 8 * 3600

VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303}


class TlsDskError(Exception):
    """The handshake or the client certificate was refused (reason for sip.log)."""


# PRF and key material ----------------------------------------------------------------------
def p_hash(digest, secret, seed, n):
    """P_<hash>(secret, seed) of RFC 2246/5246 section 5, n bytes."""
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, digest).digest()
        out += hmac.new(secret, a + seed, digest).digest()
    return out[:n]


def prf(version, secret, label, seed, n):
    """The TLS PRF: TLS 1.2 (0x0303) P_SHA256; TLS 1.0/1.1 P_MD5(S1) xor P_SHA1(S2)."""
    if version >= 0x0303:
        return p_hash(hashlib.sha256, secret, label + seed, n)
    half = (len(secret) + 1) // 2
    md5 = p_hash(hashlib.md5, secret[:half], label + seed, n)
    sha = p_hash(hashlib.sha1, secret[len(secret) - half:], label + seed, n)
    return bytes(x ^ y for x, y in zip(md5, sha))


def key_material(version, master, client_random, server_random):
    return prf(version, master, LABEL, client_random + server_random, KEY_MATERIAL_LEN)


class TlsDskSession:
    """The signing keys of one TLS-DSK SA (same interface as ntlm.NtlmSession)."""

    def __init__(self, material, digest=hashlib.sha1):
        if len(material) < KEY_MATERIAL_LEN:
            raise ValueError("key material too short")
        self.client_key = material[64:96]
        self.server_key = material[96:128]
        self.digest = digest

    def _mac(self, key, buf):
        return hmac.new(key, buf, self.digest).digest()

    def sign_server(self, buf):
        return self._mac(self.server_key, buf)

    def sign_client(self, buf):
        return self._mac(self.client_key, buf)

    def verify_client(self, buf, sig):
        return hmac.compare_digest(self._mac(self.client_key, buf), sig)

    def verify_server(self, buf, sig):
        return hmac.compare_digest(self._mac(self.server_key, buf), sig)


# TLS record inspection (plaintext handshake messages only) --------------------------------
def handshake_random(data, hs_type):
    """The 32-byte random of the first handshake message in `data` (raw records) if it is
    of `hs_type` (1 ClientHello, 2 ServerHello), else None."""
    if len(data) < 5 + 38 or data[0] != 22 or data[1] != 3:
        return None
    length = int.from_bytes(data[3:5], "big")
    body = data[5:5 + length]
    if len(body) < 38 or body[0] != hs_type:
        return None
    return bytes(body[6:38])


def coalesce(data):
    """Merge the plaintext handshake records of a server flight into as few records as fit
    (2^14 bytes each), as Schannel writes them: SIPE parses one record per token and takes
    everything after its header as handshake messages.  Records from a ChangeCipherSpec on
    (the encrypted Finished) are kept as they are."""
    out, i, merged, ccs = [], 0, None, False
    while i + 5 <= len(data):
        end = i + 5 + int.from_bytes(data[i + 3:i + 5], "big")
        rtype, ver, body = data[i], data[i + 1:i + 3], data[i + 5:end]
        i = end
        if rtype == 20:
            ccs = True
        if rtype == 22 and not ccs:
            if merged is not None and merged[1] == ver and len(merged[2]) + len(body) <= 16384:
                merged[2] += body
                continue
            merged = [rtype, ver, bytearray(body)]
            out.append(merged)
        else:
            merged = None
            out.append([rtype, ver, body])
    return b"".join(bytes([t]) + v + len(b).to_bytes(2, "big") + bytes(b) for t, v, b in out) \
        + data[i:]


def record_count(data):
    n, i = 0, 0
    while i + 5 <= len(data):
        i += 5 + int.from_bytes(data[i + 3:i + 5], "big")
        n += 1
    return n if i == len(data) else -1


# the key log: where the master secrets come from -------------------------------------------
class KeyLog:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)

    def master_secret(self, client_random):
        want = client_random.hex()
        try:
            with open(self.path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == "CLIENT_RANDOM" and parts[1].lower() == want:
                        return bytes.fromhex(parts[2])
        except OSError:
            pass
        return None

    def clear(self):
        try:
            os.truncate(self.path, 0)
        except OSError:
            pass


class TlsDskServer:
    """Per-Sim TLS-DSK state: an SSL context per registrar (its own server certificate, the
    one its SIP listener presents, as a real front end; the provisioning CA as the only trust
    anchor for client certificates) and the key log."""

    def __init__(self, sim):
        self.sim = sim
        self.keylog = KeyLog(os.path.join(sim.workdir, "tlsdsk", "keylog"))
        self.ctxs = {}  # (host, certificate variant) -> SSLContext
        self.in_flight = 0

    def context(self, host):
        variant = self.sim.cert_variants.get(host, "valid")
        ctx = self.ctxs.get((host, variant))
        if ctx is None:
            ctx = self.ctxs[(host, variant)] = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers(CIPHERS)
            ctx.load_cert_chain(self.sim.certs.cert_file(variant, host), self.sim.certs.key_file)
            ctx.load_verify_locations(self.sim.certprov_ca.ca_file)
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.keylog_filename = self.keylog.path
        return ctx


def server_for(sim):
    srv = getattr(sim, "_tlsdsk", None)
    if srv is None:
        srv = sim._tlsdsk = TlsDskServer(sim)
    return srv


class Handshake:
    """One server-side handshake over memory BIOs."""

    def __init__(self, server, host):
        self.server = server
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = server.context(host).wrap_bio(self.inc, self.out, server_side=True)
        self.client_random = self.server_random = None
        self.done = False
        self.created = time.monotonic()
        self.legs = 0
        server.in_flight += 1
        self._open = True

    def close(self):
        if self._open:
            self._open = False
            self.server.in_flight -= 1
            if self.server.in_flight <= 0:
                self.server.in_flight = 0
                self.server.keylog.clear()

    def feed(self, data):
        """Client records in, server records out.  Raises TlsDskError."""
        self.legs += 1
        if self.legs > 3:
            raise TlsDskError("handshake takes too many legs")
        if record_count(data) < 1 or record_count(data) > MAX_RECORDS:
            raise TlsDskError("gssapi-data is not a sequence of TLS records")
        if self.client_random is None:
            self.client_random = handshake_random(data, 1)
            if self.client_random is None:
                raise TlsDskError("first token is not a ClientHello")
        self.inc.write(data)
        try:
            self.obj.do_handshake()
            self.done = True
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as e:
            raise TlsDskError(f"TLS handshake failed: {e.reason or e}") from None
        out = coalesce(self.out.read())
        if self.server_random is None:
            self.server_random = handshake_random(out, 2)
        return out

    def result(self):
        """(TlsDskSession, client certificate, TLS version name, cipher) once done."""
        der = self.obj.getpeercert(binary_form=True)
        if not der:
            raise TlsDskError("no client certificate")
        cert = x509.load_der_x509_certificate(der)
        version = self.obj.version()
        if version not in VERSIONS:
            raise TlsDskError(f"TLS version {version} is not allowed for TLS-DSK")
        master = self.server.keylog.master_secret(self.client_random)
        if master is None or self.server_random is None:
            raise TlsDskError("no master secret for this handshake")
        cipher = self.obj.cipher()[0]
        digest = hashlib.md5 if cipher.endswith("MD5") else hashlib.sha1
        material = key_material(VERSIONS[version], master, self.client_random,
                                self.server_random)
        return TlsDskSession(material, digest), cert, version, cipher


def cert_identity(cert):
    """The SIP URI a user certificate stands for: SAN URI sip:..., else sip:<CN>."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
            if uri.lower().startswith("sip:"):
                return uri
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if cns and "@" in cns[0].value:
        cn = cns[0].value
        return cn if cn.lower().startswith("sip:") else "sip:" + cn
    return None


def remaining(cert):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (cert.not_valid_after.replace(tzinfo=datetime.timezone.utc) - now).total_seconds()


def sts_uri(sim, desc):
    """The certificate provisioning URL a registrar names in its challenge: its own web
    services (pools, Director), the external web services for the edge."""
    if desc.role == "edge":
        host = sim.scenario.autodiscover["external_fqdn"]
    else:
        host = desc.fqdn
    return f"https://{host}:443/CertProv/CertProvisioningService.svc"


# the registrar side ----------------------------------------------------------------------
def _pending(reg):
    p = getattr(reg, "tlsdsk_pending", None)
    if p is None:
        p = reg.tlsdsk_pending = {}
    now = time.monotonic()
    for k, hs in list(p.items()):
        if now - hs.created > PENDING_TTL:
            hs.close()
            del p[k]
    return p


def on_register(conn, msg, params, sa, aor):
    """A REGISTER with `Authorization: TLS-DSK ...` (registrar.Connection.on_register)."""
    from .signing import REALM, SecurityAssociation
    from .sipmsg import format_auth

    reg = conn.registrar
    sim = conn.sim
    token = params.get("gssapi-data")
    opaque = params.get("opaque") or ""

    # R4 and every later REGISTER: an established SA, signed, no token
    if sa is not None and not token:
        reason = sa.verify(msg, params)
        if reason:
            conn._signature_failure(msg, sa, reason)
            return
        conn._registered(msg, sa, aor)
        return
    if not token:
        conn._challenge(msg, "unknown or expired opaque" if opaque else
                        "TLS-DSK Authorization without gssapi-data")
        return

    pending = _pending(reg)
    if not opaque:
        if len(pending) >= MAX_PENDING:
            old = next(iter(pending))
            pending.pop(old).close()
        hs = Handshake(server_for(sim), reg.fqdn)
        opaque = secrets.token_hex(4).upper()
        pending[opaque] = hs
    else:
        hs = pending.get(opaque)
        if hs is None:
            conn._challenge(msg, "no pending TLS-DSK handshake for this opaque")
            return
    try:
        raw = base64.b64decode(token, validate=True)
        if not raw or len(raw) > MAX_TOKEN:
            raise TlsDskError("gssapi-data empty or too long")
        out = hs.feed(raw)
        result = hs.result() if hs.done else None
        if result is not None:
            session, cert, version, cipher = result
            uri = cert_identity(cert)
            user = sim.user(uri) if uri else None
            if user is None:
                raise TlsDskError(f"certificate for {uri or '?'} names no scenario user")
            life = remaining(cert)
            if life <= 0:
                raise TlsDskError("client certificate expired")
    except (TlsDskError, ValueError) as e:
        pending.pop(opaque, None)
        hs.close()
        sim.counters.bump("auth_failures", conn._user_key(aor))
        sim.counters.bump("tlsdsk_failures", conn._user_key(aor))
        conn._challenge(msg, f"TLS-DSK failed: {e}")
        conn._rt_fail(aor)
        return

    hdr = [("opaque", opaque), ("gssapi-data", base64.b64encode(out).decode()),
           ("targetname", reg.fqdn), ("realm", REALM), ("version", 4)]
    if result is None:
        conn.unauth_requests += 1
        conn.respond(msg, 401, "Unauthorized", [("WWW-Authenticate",
                                                  format_auth("TLS-DSK", hdr))],
                     note="TLS-DSK server hello")
        return

    pending.pop(opaque, None)
    hs.close()
    lifetime = max(1, min(life, SA_CAP, sim.scenario.timers["sa_lifetime"]))
    new_sa = SecurityAssociation(opaque, session, user, uri, reg.fqdn, lifetime,
                                 protocol="TLS-DSK")
    if params.get("response"):  # a client that signs its final token already
        reason = new_sa.verify(msg, params)
        if reason:
            conn._signature_failure(msg, new_sa, reason + " (final TLS-DSK leg)")
            return
    reg.sas[opaque] = new_sa
    conn.sas.add(new_sa)
    sim.counters.bump("tlsdsk_handshakes", user["id"])
    sim.log.note(f"{conn.local}: TLS-DSK {uri} authenticated (opaque {opaque}, {version} "
                 f"{cipher}, SA {int(lifetime)} s)")
    conn.unauth_requests += 1
    conn.respond(msg, 401, "Unauthorized", [("WWW-Authenticate", format_auth("TLS-DSK", hdr))],
                 note="TLS-DSK finished")
