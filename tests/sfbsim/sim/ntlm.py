# SPDX-License-Identifier: LGPL-2.1-or-later
"""Connectionless NTLMv2 for MS-SIPAE, server side (and the client-side key derivation the
test client needs).

Why here and not gss-ntlmssp: SIP NTLM is connectionless (the server's CHALLENGE comes first,
with NTLMSSP_NEGOTIATE_DATAGRAM) and GSSAPI cannot start that way.  Message parsing, MD4 and
the NTLMv2 proof use impacket's primitives, an implementation sfbd's C code does not share;
the signature (docs/protocol.md §5.2) is written out here from the spec so the capture vectors of
§15.2 can check it byte for byte:

  with ESS:    01000000 || RC4(MD5(SealKey || LE32(seq)), HMAC_MD5(SignKey, LE32(seq) || msg)[:8])
                        || LE32(seq)            (the RC4 step only with KEY_EXCH)
  without ESS: 01000000 || pad || RC4(SealKey)(pad || CRC32(msg) || LE32(seq))[4:]

SIP always uses SeqNum 100 and a fresh RC4 state per message (datagram mode).
"""

import hashlib
import hmac
import os
import struct
import time
import zlib

from Cryptodome.Cipher import ARC4
from impacket import ntlm as _imp

SEQ = 100

F_UNICODE = 0x00000001
F_OEM = 0x00000002
F_REQUEST_TARGET = 0x00000004
F_SIGN = 0x00000010
F_SEAL = 0x00000020
F_DATAGRAM = 0x00000040
F_LM_KEY = 0x00000080
F_NTLM = 0x00000200
F_ALWAYS_SIGN = 0x00008000
F_TARGET_TYPE_DOMAIN = 0x00010000
F_ESS = 0x00080000
F_IDENTIFY = 0x00100000
F_TARGET_INFO = 0x00800000
F_VERSION = 0x02000000
F_128 = 0x20000000
F_KEY_EXCH = 0x40000000
F_56 = 0x80000000

#: what a registrar offers in its CHALLENGE: everything SIPE requires (docs/protocol.md §6)
SERVER_FLAGS = (F_UNICODE | F_REQUEST_TARGET | F_SIGN | F_SEAL | F_DATAGRAM | F_NTLM
                | F_ALWAYS_SIGN | F_TARGET_TYPE_DOMAIN | F_ESS | F_IDENTIFY | F_TARGET_INFO
                | F_VERSION | F_128 | F_KEY_EXCH | F_56)

MAX_TOKEN = 8192


class NtlmError(Exception):
    """Authentication failed; .reason says why (for sip.log and ms-diagnostics)."""


def hmac_md5(key, data):
    return hmac.new(key, data, hashlib.md5).digest()


def ntowfv2(password, user, domain):
    """ResponseKeyNT: HMAC_MD5(MD4(UTF16LE(password)), UTF16LE(UPPER(user) + domain))."""
    return hmac_md5(_imp.compute_nthash(password), (user.upper() + domain).encode("utf-16le"))


def sign_key(exported, client):
    side = b"client-to-server" if client else b"server-to-client"
    return hashlib.md5(exported + b"session key to " + side + b" signing key magic constant\0").digest()


def seal_key(flags, exported, client):
    """SEALKEY (MS-NLMP 3.4.5.3)."""
    if flags & F_ESS:
        if flags & F_128:
            k = exported
        elif flags & F_56:
            k = exported[:7]
        else:
            k = exported[:5]
        side = b"client-to-server" if client else b"server-to-client"
        return hashlib.md5(k + b"session key to " + side + b" sealing key magic constant\0").digest()
    if flags & F_LM_KEY:
        return exported[:7] + b"\xa0" if flags & F_56 else exported[:5] + b"\xe5\x38\xb0"
    return exported


def mac(flags, skey, ckey, message, seq=SEQ, pad=b"\0\0\0\0", datagram=True):
    """NTLMSSP_MESSAGE_SIGNATURE over `message` (docs/protocol.md §5.2)."""
    seqb = struct.pack("<I", seq)
    if flags & F_ESS:
        chk = hmac_md5(skey, seqb + message)[:8]
        if flags & F_KEY_EXCH:
            key = hashlib.md5(ckey + seqb).digest() if datagram else ckey
            chk = ARC4.new(key).encrypt(chk)
        return b"\x01\0\0\0" + chk + seqb
    rc4 = ARC4.new(ckey)
    rc4.encrypt(pad)
    body = rc4.encrypt(struct.pack("<I", zlib.crc32(message) & 0xFFFFFFFF) + seqb)
    return b"\x01\0\0\0" + pad + body


class NtlmSession:
    """Keys of an established NTLM security association."""

    def __init__(self, flags, exported):
        self.flags, self.exported = flags, exported
        self.client_sign = sign_key(exported, True)
        self.server_sign = sign_key(exported, False)
        self.client_seal = seal_key(flags, exported, True)
        self.server_seal = seal_key(flags, exported, False)
        if not flags & F_ESS:  # one key both ways, signatures by CRC32
            self.client_sign = self.server_sign = exported
            self.client_seal = self.server_seal = seal_key(flags, exported, True)

    def sign_server(self, buf):
        return mac(self.flags, self.server_sign, self.server_seal, buf)

    def sign_client(self, buf):
        return mac(self.flags, self.client_sign, self.client_seal, buf)

    def verify_client(self, buf, sig):
        """Check a client's signature; non-ESS signatures carry their own RandomPad."""
        if len(sig) != 16:
            return False
        pad = sig[4:8] if not self.flags & F_ESS else b"\0\0\0\0"
        want = mac(self.flags, self.client_sign, self.client_seal, buf, pad=pad)
        return hmac.compare_digest(want, sig)

    def verify_server(self, buf, sig):
        if len(sig) != 16:
            return False
        pad = sig[4:8] if not self.flags & F_ESS else b"\0\0\0\0"
        want = mac(self.flags, self.server_sign, self.server_seal, buf, pad=pad)
        return hmac.compare_digest(want, sig)


def filetime_now():
    return 116444736000000000 + int(time.time() * 10000000)


class NtlmServer:
    """One connectionless NTLM exchange: challenge() then authenticate(token).

    `lookup(domain, user)` returns the password for a login or None.  The CHALLENGE carries
    the registrar's names in TargetInfo, like a Front End's does."""

    def __init__(self, lookup, nb_domain, nb_host, dns_domain, dns_host, flags=SERVER_FLAGS):
        self.lookup = lookup
        self.flags = flags
        self.nb_domain = nb_domain
        self.server_challenge = os.urandom(8)
        av = _imp.AV_PAIRS()
        av[_imp.NTLMSSP_AV_DOMAINNAME] = nb_domain.encode("utf-16le")
        av[_imp.NTLMSSP_AV_HOSTNAME] = nb_host.encode("utf-16le")
        av[_imp.NTLMSSP_AV_DNS_DOMAINNAME] = dns_domain.encode("utf-16le")
        av[_imp.NTLMSSP_AV_DNS_HOSTNAME] = dns_host.encode("utf-16le")
        av[_imp.NTLMSSP_AV_DNS_TREENAME] = dns_domain.encode("utf-16le")
        av[_imp.NTLMSSP_AV_TIME] = struct.pack("<Q", filetime_now())
        self.target_info = av.getData()
        self.identity = None  # (domain, user) once authenticated
        self.session = None
        self.require_sign = True  # SIP needs signing; HTTP authentication does not

    def challenge(self):
        """The CHALLENGE_MESSAGE bytes (goes base64 into gssapi-data of the 2nd 401)."""
        c = _imp.NTLMAuthChallenge()
        c["flags"] = self.flags
        c["challenge"] = self.server_challenge
        c["domain_name"] = self.nb_domain.encode("utf-16le")
        # Version: Windows Server 2016 (10.0.14393), NTLMSSP revision 15
        c["Version"] = struct.pack("<BBH3xB", 10, 0, 14393, 15)
        header = 48 + len(c["Version"])
        c["domain_offset"] = header
        c["TargetInfoFields"] = self.target_info
        c["TargetInfoFields_offset"] = header + len(c["domain_name"])
        return c.getData()

    def authenticate(self, token):
        """Check an AUTHENTICATE_MESSAGE.  Returns (domain, user); raises NtlmError."""
        if not token or len(token) > MAX_TOKEN or not token.startswith(b"NTLMSSP\0\x03\0\0\0"):
            raise NtlmError("not an NTLM AUTHENTICATE message")
        a = _imp.NTLMAuthChallengeResponse()
        try:
            a.fromString(token)
            flags = a["flags"]
            # impacket re-reads every field by offset except the session key
            off, ln = a["session_key_offset"], a["session_key_len"]
            if off + ln > len(token):
                raise ValueError("session key out of bounds")
            a["session_key"] = token[off:off + ln]
            enc = "utf-16le" if flags & F_UNICODE else "cp437"
            user = a["user_name"].decode(enc)
            domain = a["domain_name"].decode(enc)
        except Exception as e:  # impacket raises assorted errors on garbage
            raise NtlmError(f"malformed AUTHENTICATE: {e}") from None
        nt = a["ntlm"]
        if len(nt) <= 24:
            raise NtlmError(f"NTLMv1 response from {domain}\\{user} refused")
        password = self.lookup(domain, user)
        if password is None:
            raise NtlmError(f"unknown login {domain}\\{user}")
        key = ntowfv2(password, user, domain)
        proof, blob = nt[:16], nt[16:]
        if not hmac.compare_digest(proof, hmac_md5(key, self.server_challenge + blob)):
            raise NtlmError(f"bad NTLMv2 proof for {domain}\\{user} (wrong password?)")
        base = hmac_md5(key, proof)  # SessionBaseKey == KeyExchangeKey for NTLMv2
        negotiated = flags & self.flags
        if negotiated & F_KEY_EXCH:
            if len(a["session_key"]) != 16:
                raise NtlmError("KEY_EXCH without a 16-byte EncryptedRandomSessionKey")
            exported = ARC4.new(base).decrypt(a["session_key"])
        else:
            exported = base
        if self.require_sign and not negotiated & F_SIGN:
            raise NtlmError("client did not negotiate signing")
        self.identity = (domain, user)
        self.session = NtlmSession(negotiated, exported)
        return self.identity


class NtlmClient:
    """Client side for tests: builds AUTHENTICATE with impacket and keeps the keys."""

    def __init__(self, user, password, domain, workstation="TESTCLIENT"):
        self.user, self.password, self.domain = user, password, domain
        self.workstation = workstation
        self.session = None

    def authenticate(self, challenge):
        c = _imp.NTLMAuthChallenge(challenge)
        # impacket 0.10 writes broken offsets when VERSION is negotiated (environment.md §5a)
        nego = _imp.NTLMAuthNegotiate()
        nego["flags"] = c["flags"] & ~F_VERSION
        t3, exported = _imp.getNTLMSSPType3(nego, challenge, self.user, self.password,
                                            self.domain)
        self.session = NtlmSession(t3["flags"] & c["flags"], exported)
        return t3.getData()
