# SPDX-License-Identifier: LGPL-2.1-or-later
"""Endpoint identity: epid -> +sip.instance, and the GRUU built from it.

A real registrar cross-checks epid, +sip.instance and GRUU (MS-SIPAE 3.3.5.2), so sfbsim does
too: a client that invents its +sip.instance instead of deriving it (docs/protocol.md §1) fails
here as it would against a real server.
"""

import base64
import hashlib
import uuid

#: MS-SIPRE namespace for epid-derived instance UUIDs
EPID_NAMESPACE = uuid.UUID("fcacfb03-8a73-46ef-91b1-e5ebeeaba4fe")


def instance_from_epid(epid):
    """The +sip.instance UUID (lower case, 8-4-4-4-12) a client must derive from `epid`.

    A version-5 UUID with Microsoft's byte order: the namespace is hashed in GUID (little-
    endian fields) layout and the first three fields of the digest are read little-endian."""
    digest = hashlib.sha1(EPID_NAMESPACE.bytes_le + epid.encode("ascii")).digest()[:16]
    b = bytearray(digest)
    time_hi = int.from_bytes(b[6:8], "little")
    time_hi = (time_hi & 0x0FFF) | 0x5000
    b[6:8] = time_hi.to_bytes(2, "little")
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes_le=bytes(b)))


def parse_instance(value):
    """'"<urn:uuid:ABC...>"' -> 'abc...' (lower case), or None when it is not a UUID."""
    v = (value or "").strip().strip('"').strip("<>")
    if v.lower().startswith("urn:uuid:"):
        v = v[9:]
    try:
        return str(uuid.UUID(v))
    except ValueError:
        return None


def gruu_opaque(instance):
    """'user:epid:' + base64url(instance GUID bytes in Microsoft order + two zero bytes)."""
    raw = uuid.UUID(instance).bytes_le + b"\0\0"
    return "user:epid:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def instance_from_gruu_opaque(opaque):
    """Inverse of gruu_opaque (None when malformed)."""
    if not opaque.startswith("user:epid:"):
        return None
    data = opaque[10:]
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except ValueError:
        return None
    if len(raw) != 18 or raw[16:] != b"\0\0":
        return None
    return str(uuid.UUID(bytes_le=raw[:16]))


def gruu(aor, instance):
    """'sip:alice@contoso.test;opaque=user:epid:...;gruu'."""
    return f"{aor};opaque={gruu_opaque(instance)};gruu"
