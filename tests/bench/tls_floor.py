# SPDX-License-Identifier: LGPL-2.1-or-later
"""The floor under the presence storm (bench_contacts.py): what reading the storm's bytes
costs a GLib program that does nothing else.

A TLS server in this process sends `records` records of `size` bytes each, `gap` seconds
apart (the storm's own count, mean size and pace), to tests/bench/tls-read-floor, which reads
them the way sfbd's connection reads (a source on the socket, non-blocking reads of GLib's
TLS stream) and reports the CPU time that took.  sfbd's storm figure minus this one is what
sfbd does with the messages: SIP, signatures, presence documents, D-Bus.  A measurement, never
pass/fail.
"""

import datetime
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def tcp_bytes_received(pid):
    """Bytes received so far on the established TCP sockets of process `pid` (ss -tip)."""
    text = subprocess.run(["ss", "-tinpH", "state", "established"], capture_output=True,
                          text=True, check=True).stdout
    total = 0
    # each socket: a line naming its process, then a line of TCP information
    for block in re.split(r"\n(?=\S)", text):
        if f"pid={pid}," in block:
            m = re.search(r"bytes_received:(\d+)", block)
            total += int(m.group(1)) if m else 0
    return total


def _write_identity(directory):
    """A self-signed certificate for localhost and its key; returns (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(directory, "floor-cert.pem")
    key_path = os.path.join(directory, "floor-key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def _serve(listener, context, records, size, gap, failure):
    try:
        raw, _ = listener.accept()
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with context.wrap_socket(raw, server_side=True) as conn:
            conn.recv(2)  # "go"
            payload = b"x" * size
            due = time.perf_counter()
            for _ in range(records):
                conn.sendall(payload)
                due += gap
                while time.perf_counter() < due:  # sleeping is too coarse for the gap
                    pass
            conn.sendall(b"E")
            conn.recv(2)  # "ok": the reader is done before the connection closes
    except OSError as e:
        failure.append(repr(e))


def measure(program, workdir, records, size, gap):
    """Runs the floor once; returns the reader's figures (bytes, wakeups, cpu_ms) and the
    records' size and gap, or {"error": ...}."""
    cert, key = _write_identity(workdir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # as sfbsim's default scenario
    context.load_cert_chain(cert, key)
    failure = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(30)  # the reader never came: accept() gives up
        port = listener.getsockname()[1]
        server = threading.Thread(target=_serve, daemon=True,
                                  args=(listener, context, records, size, gap, failure))
        server.start()
        try:
            out = subprocess.run([program, str(port), cert], capture_output=True, text=True,
                                 timeout=60 + records * gap * 4)
            problem = out.stderr.strip() if out.returncode != 0 else ""
        except (OSError, subprocess.TimeoutExpired) as e:
            out, problem = None, repr(e)
        if problem:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() still waiting
            except OSError:
                pass
        server.join(timeout=40)
    if problem or failure:
        return {"error": " ".join([problem] + failure).strip()}
    result = json.loads(out.stdout)
    result.update(records=records, size=size, gap_ms=gap * 1000)
    return result
