# SPDX-License-Identifier: LGPL-2.1-or-later
"""Test PKI: a CA and the server certificates sfbsim's hosts present, plus bad variants.

Minting RSA keys is the slow part of a start (about a second), so keys and certificates are
kept in DIR/certs and reused while the scenario's host names are unchanged (warm start).
Every host (each registrar, each lyncdiscover name) has its own certificate, as each server
of a real deployment has: CN = the host's FQDN, SANs = its FQDN, its aliases and its address
(DIR/certs/hosts/<fqdn>/<variant>.pem).  One more certificate covers every name (the
top-level <variant>.pem); the in-band TLS-DSK handshake presents it.  All share one key.

Variants for fault injection (control action set_certificate):
  valid       signed by the test CA, every name
  expired     same names, validity ended yesterday
  not-yet-valid  same names, valid from tomorrow (a server clock ahead, a certificate
              assigned too early)
  wrong-name  signed by the test CA, but only for wrong-name.invalid
  untrusted   every name, signed by a second CA that SFBSIM_CA_FILE does not contain
"""

import datetime
import ipaddress
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VARIANTS = ("valid", "expired", "wrong-name", "untrusted", "not-yet-valid")
FORMAT = 3  # bump to force re-minting when this module changes what it writes


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sfbsim"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca_cert(key, cn, now):
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))


def _leaf(key, ca_key, ca_cert, names, addresses, not_before, not_after):
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a))
                                             for a in addresses]
    return (x509.CertificateBuilder()
            .subject_name(_name(names[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True,
                                         content_commitment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _pem_cert(c):
    return c.public_bytes(serialization.Encoding.PEM)


def _pem_key(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def _write(path, data, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


class CertStore:
    """DIR/certs: ca.pem (what clients trust), server.key, and per variant <variant>.pem (every
    name) and hosts/<fqdn>/<variant>.pem (one host).  hosts: {fqdn: ([names], [addresses])}."""

    def __init__(self, workdir, names, addresses, hosts=None):
        self.dir = os.path.join(workdir, "certs")
        self.names = list(names)
        self.addresses = sorted(set(addresses))
        self.hosts = {h: (list(n), sorted(set(a))) for h, (n, a) in sorted((hosts or {}).items())}
        self.ca_file = os.path.join(self.dir, "ca.pem")
        self.key_file = os.path.join(self.dir, "server.key")

    def cert_file(self, variant="valid", host=None):
        """The chain for `variant`: of one host of `hosts`, or (host None) for every name."""
        if variant not in VARIANTS:
            raise ValueError(f"certificate variant must be one of {VARIANTS}")
        if host is None:
            return os.path.join(self.dir, f"{variant}.pem")
        if host not in self.hosts:
            raise ValueError(f"no certificate for host {host!r}")
        return os.path.join(self.dir, "hosts", host, f"{variant}.pem")

    def _files(self):
        return [self.cert_file(v, h) for v in VARIANTS for h in [None, *self.hosts]]

    def ensure(self):
        """Mint what is missing or stale; returns True when anything was minted."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        meta_path = os.path.join(self.dir, "meta.json")
        want = {"format": FORMAT, "names": self.names, "addresses": self.addresses,
                "hosts": {h: [n, a] for h, (n, a) in self.hosts.items()}}
        try:
            with open(meta_path) as f:
                have = json.load(f)
        except (OSError, ValueError):
            have = None
        if have == want and all(os.path.exists(f) for f in self._files()):
            return False

        keys = {}
        for name in ("ca", "server", "rogue-ca"):
            p = os.path.join(self.dir, f"{name}.key")
            try:
                keys[name] = _load_key(p)
            except (OSError, ValueError):
                keys[name] = _key()
                _write(p, _pem_key(keys[name]), 0o600)
        now = datetime.datetime.now(datetime.timezone.utc)
        ca = _ca_cert(keys["ca"], "sfbsim Test Root CA", now)
        rogue = _ca_cert(keys["rogue-ca"], "sfbsim Untrusted Root CA", now)
        day = datetime.timedelta(days=1)
        good = (now - day, now + 730 * day)

        def leafs(names, addresses):
            return {
                "valid": _leaf(keys["server"], keys["ca"], ca, names, addresses, *good),
                "expired": _leaf(keys["server"], keys["ca"], ca, names, addresses,
                                 now - 60 * day, now - day),
                "wrong-name": _leaf(keys["server"], keys["ca"], ca, ["wrong-name.invalid"], [],
                                    *good),
                "untrusted": _leaf(keys["server"], keys["rogue-ca"], rogue, names, addresses,
                                   *good),
                "not-yet-valid": _leaf(keys["server"], keys["ca"], ca, names, addresses,
                                       now + day, now + 730 * day),
            }
        _write(self.ca_file, _pem_cert(ca))
        _write(os.path.join(self.dir, "rogue-ca.pem"), _pem_cert(rogue))
        for host, (names, addresses) in [(None, (self.names, self.addresses)),
                                         *self.hosts.items()]:
            if host is not None:
                os.makedirs(os.path.join(self.dir, "hosts", host), mode=0o700, exist_ok=True)
            for v, cert in leafs(names, addresses).items():
                chain = _pem_cert(cert) + (_pem_cert(rogue) if v == "untrusted" else b"")
                _write(self.cert_file(v, host), chain)
        with open(meta_path, "w") as f:
            json.dump(want, f)
        return True
