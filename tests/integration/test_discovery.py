#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Server discovery (daemon/net, docs/protocol.md §2) against sfbsim, inside build-aux/testnet.

sfb-discover-probe runs sfbd's real discovery code (GResolver SRV/A and libsoup autodiscover,
concurrently) and prints the candidates and the per-lookup details.  sfbsim serves the
contoso.test zone and the lyncdiscover(internal) HTTPS services; its control socket injects
DNS faults and bad certificates.

Needs root (a private network namespace); without it every test FAILS with the reason.
Environment (tests/integration/meson.build): SFB_DISCOVER_PROBE, SFBD_SOURCE_ROOT.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE_ROOT = os.environ.get("SFBD_SOURCE_ROOT",
                             os.path.dirname(os.path.dirname(os.path.dirname(
                                 os.path.abspath(__file__)))))
SFBSIM_DIR = os.path.join(SOURCE_ROOT, "tests", "sfbsim")
sys.path.insert(0, SFBSIM_DIR)

from sim.control import SimControl  # noqa: E402

TESTNET = os.path.join(SOURCE_ROOT, "build-aux", "testnet")
ALICE = "sip:alice@contoso.test"
# The default scenario's answer, in the documented order of preference: autodiscover
# (lyncdiscoverinternal: AccessLocation Internal -> the Director; lyncdiscover: External ->
# the Edge), SRV (both duplicates of those), then A sipinternal:5061, sip:5061, sip:443
# (duplicate), sipexternal:443.
EXPECTED_ALICE = [
    ("director.contoso.test", 5061, "autodiscover", "internal"),
    ("sip.contoso.test", 443, "autodiscover", "external"),
    ("sipinternal.contoso.test", 5061, "a-record", "internal"),
    ("sip.contoso.test", 5061, "a-record", None),
    ("sipexternal.contoso.test", 443, "a-record", "external"),
]
EXPECTED_DNS_ONLY = [
    ("director.contoso.test", 5061, "srv", "internal"),
    ("sip.contoso.test", 443, "srv", "external"),
    ("sipinternal.contoso.test", 5061, "a-record", "internal"),
    ("sip.contoso.test", 5061, "a-record", None),
    ("sipexternal.contoso.test", 443, "a-record", "external"),
]
EXPECTED_A_ONLY = [
    ("sipinternal.contoso.test", 5061, "a-record", "internal"),
    ("sip.contoso.test", 5061, "a-record", None),
    ("sip.contoso.test", 443, "a-record", None),
    ("sipexternal.contoso.test", 443, "a-record", "external"),
]
AUTODISCOVER_NAMES = ["lyncdiscoverinternal.contoso.test", "lyncdiscover.contoso.test"]
SRV_NAMES = ["_sipinternaltls._tcp.contoso.test", "_sip._tls.contoso.test"]
A_NAMES = ["sipinternal.contoso.test", "sip.contoso.test", "sipexternal.contoso.test"]


class Result:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.output = proc.stdout
        self.candidates, self.details, self.error = [], [], None
        for line in proc.stdout.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "candidate":
                host, port, source, loc = rest.split(" ")
                self.candidates.append((host, int(port), source, None if loc == "-" else loc))
            elif kind == "detail":
                self.details.append(rest)
            elif kind == "error":
                self.error = tuple(rest.split(" ", 1))

    def detail(self, prefix):
        found = [d for d in self.details if d.startswith(prefix)]
        if len(found) != 1:
            raise AssertionError(f"no single detail line starting {prefix!r} in {self.details}")
        return found[0]


class DiscoveryTest(unittest.TestCase):
    sim = None

    @classmethod
    def setUpClass(cls):
        if os.environ.get("SFBD_TESTNET") != "1":
            raise RuntimeError("not inside build-aux/testnet (needs root)")
        cls.probe = os.environ["SFB_DISCOVER_PROBE"]
        cls.workdir = tempfile.mkdtemp(prefix="sfbd-discovery-")
        cls.sim = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(SFBSIM_DIR, "sfbsim"), "--workdir", cls.workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ready = os.path.join(cls.workdir, "ready")
        deadline = time.monotonic() + 60
        while not os.path.exists(ready):
            if cls.sim.poll() is not None:
                raise RuntimeError("sfbsim failed: " + cls.sim.stderr.read().decode())
            if time.monotonic() > deadline:
                raise RuntimeError("sfbsim did not become ready in 60 s")
            time.sleep(0.05)
        cls.env = {}
        with open(os.path.join(cls.workdir, "sfbsim.env")) as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.rstrip("\n").split("=", 1)
                    cls.env[k] = v.strip("'")
        cls.ca_file = cls.env["SFBSIM_CA_FILE"]
        cls.ctl = SimControl(cls.workdir)

    @classmethod
    def tearDownClass(cls):
        if cls.sim is not None:
            cls.sim.terminate()
            try:
                cls.sim.wait(10)
            except subprocess.TimeoutExpired:
                cls.sim.kill()
                cls.sim.wait()
            cls.sim.stderr.close()
            shutil.rmtree(cls.workdir, ignore_errors=True)

    def setUp(self):
        self.ctl.dns_clear()
        self.ctl.set_certificate(variant="valid")

    def discover(self, uri=ALICE, ca_file=True):
        args = [self.probe]
        if ca_file:
            args += ["--ca-file", self.ca_file]
        proc = subprocess.run(args + [uri], capture_output=True, text=True, timeout=60)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        result = Result(proc)
        self.assertEqual(result.returncode == 0, result.error is None, proc.stdout)
        return result

    def assertCandidates(self, result, expected):
        self.assertIsNone(result.error, result.output)
        self.assertEqual(result.candidates, expected, result.output)

    # ---- the healthy deployment ----
    def test_alice(self):
        r = self.discover()
        self.assertCandidates(r, EXPECTED_ALICE)
        self.assertIn("director.contoso.test:5061 (autodiscover, internal)",
                      r.detail("Autodiscover lyncdiscoverinternal.contoso.test:"))
        self.assertIn("Root -> User", r.detail("Autodiscover lyncdiscoverinternal"))
        self.assertEqual(r.detail("SRV _sipinternaltls._tcp.contoso.test:"),
                         "SRV _sipinternaltls._tcp.contoso.test: director.contoso.test:5061 "
                         "(prio 0 weight 0)")
        self.assertEqual(r.detail("SRV _sip._tls.contoso.test:"),
                         "SRV _sip._tls.contoso.test: sip.contoso.test:443 (prio 0 weight 0)")
        self.assertEqual(r.detail("A sipinternal.contoso.test:"),
                         "A sipinternal.contoso.test: 127.0.1.1")
        self.assertEqual(len(r.details), 7)

    def test_bare_address_and_redirected_user(self):
        # bob is homed on pool2: both lyncdiscover services answer with a Redirect link to
        # pool2's autodiscover (an internal instance), which names the Director only; the Edge
        # then comes from SRV.
        r = self.discover("bob@contoso.test")
        self.assertCandidates(r, [EXPECTED_ALICE[0], EXPECTED_DNS_ONLY[1]] + EXPECTED_ALICE[2:])
        for host in AUTODISCOVER_NAMES:
            self.assertIn("-> Redirect (pool2.contoso.test) -> User (pool2.contoso.test): "
                          "director.contoso.test:5061 (autodiscover, internal)",
                          r.detail(f"Autodiscover {host}:"))

    def test_unknown_user(self):
        r = self.discover("sip:nobody@contoso.test")
        self.assertCandidates(r, EXPECTED_DNS_ONLY)
        self.assertIn("404", r.detail("Autodiscover lyncdiscoverinternal.contoso.test:"))

    # ---- DNS faults ----
    def test_no_autodiscover(self):
        self.ctl.dns_fault(mode="nxdomain", names=AUTODISCOVER_NAMES)
        r = self.discover()
        self.assertCandidates(r, EXPECTED_DNS_ONLY)
        self.assertNotIn("Root -> User:", r.detail("Autodiscover lyncdiscover.contoso.test:"))

    def test_a_records_only(self):
        self.ctl.dns_fault(mode="nxdomain", names=AUTODISCOVER_NAMES + SRV_NAMES)
        r = self.discover()
        self.assertCandidates(r, EXPECTED_A_ONLY)
        self.assertIn("NXDOMAIN", r.detail("SRV _sipinternaltls._tcp.contoso.test:"))

    def assertDiscoveryFailed(self, r, srv_words):
        self.assertEqual(r.candidates, [], r.output)
        self.assertIsNotNone(r.error, r.output)
        name, message = r.error
        self.assertEqual(name, "org.sfbd.Sfbd.Error.DiscoveryFailed")
        self.assertIn("contoso.test", message)
        # every lookup is summarised in the message and in the details
        for prefix in ("Autodiscover lyncdiscoverinternal.contoso.test", "Autodiscover lyncdiscover.contoso.test",
                       "SRV _sipinternaltls._tcp.contoso.test", "SRV _sip._tls.contoso.test",
                       "A sipinternal.contoso.test", "A sip.contoso.test", "A sipexternal.contoso.test"):
            self.assertIn(prefix, message)
            r.detail(prefix + ":")
        self.assertIn(srv_words, r.detail("SRV _sip._tls.contoso.test:"))

    def test_nxdomain_everything(self):
        self.ctl.dns_fault(mode="nxdomain")
        self.assertDiscoveryFailed(self.discover(), "NXDOMAIN")

    def test_servfail_everything(self):
        self.ctl.dns_fault(mode="servfail")
        self.assertDiscoveryFailed(self.discover(), "failed")

    def test_noanswer_everything(self):
        self.ctl.dns_fault(mode="noanswer")
        self.assertDiscoveryFailed(self.discover(), "no record")

    def test_dns_drop_everything(self):
        self.ctl.dns_fault(mode="drop")
        self.assertDiscoveryFailed(self.discover(), "failed")

    def test_slow_dns(self):
        self.ctl.dns_fault(mode="slow", delay_ms=300)
        self.assertCandidates(self.discover(), EXPECTED_ALICE)

    def test_srv_servfail_only(self):
        self.ctl.dns_fault(mode="servfail", names=SRV_NAMES)
        r = self.discover()
        self.assertCandidates(r, EXPECTED_ALICE)
        self.assertIn("failed", r.detail("SRV _sipinternaltls._tcp.contoso.test:"))

    # ---- certificates on autodiscover ----
    def assertCertificateReported(self, r, words):
        # DNS still finds the servers; each autodiscover detail names the host and the check.
        self.assertCandidates(r, EXPECTED_DNS_ONLY)
        for host in AUTODISCOVER_NAMES:
            d = r.detail(f"Autodiscover {host}:")
            self.assertIn(f"The certificate of {host} was rejected", d)
            self.assertIn(words.format(host=host), d)

    def test_untrusted_certificate(self):
        self.ctl.set_certificate(variant="untrusted")
        self.assertCertificateReported(self.discover(), "untrusted issuer")

    def test_no_ca_file(self):
        # the system store alone does not know sfbsim's CA
        self.assertCertificateReported(self.discover(ca_file=False), "untrusted issuer")

    def test_wrong_name_certificate(self):
        self.ctl.set_certificate(variant="wrong-name")
        self.assertCertificateReported(self.discover(), "does not match the name {host}")

    def test_expired_certificate(self):
        self.ctl.set_certificate(variant="expired")
        self.assertCertificateReported(self.discover(), "expired")

    def test_bad_uri(self):
        r = self.discover("alice")
        self.assertEqual(r.error[0], "org.sfbd.Sfbd.Error.InvalidArgs", r.output)


if __name__ == "__main__":
    if os.environ.get("SFBD_TESTNET") != "1" and os.geteuid() == 0:
        os.execv(TESTNET, [TESTNET, "/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    unittest.main(verbosity=2)
