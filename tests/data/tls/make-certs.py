#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Regenerates the certificate fixtures of tests/unit/test-tls.c (no keys are kept).

  ca.pem          test CA "sfbd test CA", valid 2020-2120
  server.pem      server.sfbd.test (SAN), issued by ca.pem, valid 2020-2120
  expired.pem     server.sfbd.test (SAN), issued by ca.pem, valid 2000-2001
  selfsigned.pem  server.sfbd.test (SAN), self-signed, valid 2020-2120
"""
import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = (datetime.datetime(2020, 1, 1), datetime.datetime(2120, 1, 1))
PAST = (datetime.datetime(2000, 1, 1), datetime.datetime(2001, 1, 1))


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(subject, key, issuer, issuer_key, validity, ca=False, san=None):
    b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(validity[0]).not_valid_after(validity[1])
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def write(fn, c):
    with open(os.path.join(HERE, fn), "wb") as f:
        f.write(c.public_bytes(Encoding.PEM))


ca_key = ec.generate_private_key(ec.SECP256R1())
srv_key = ec.generate_private_key(ec.SECP256R1())
write("ca.pem", cert("sfbd test CA", ca_key, "sfbd test CA", ca_key, GOOD, ca=True))
write("server.pem", cert("server.sfbd.test", srv_key, "sfbd test CA", ca_key, GOOD,
                         san="server.sfbd.test"))
write("expired.pem", cert("server.sfbd.test", srv_key, "sfbd test CA", ca_key, PAST,
                          san="server.sfbd.test"))
write("selfsigned.pem", cert("server.sfbd.test", srv_key, "server.sfbd.test", srv_key, GOOD,
                             san="server.sfbd.test"))
