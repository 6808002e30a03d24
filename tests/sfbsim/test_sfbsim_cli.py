# SPDX-License-Identifier: LGPL-2.1-or-later
"""The `sfbsim` command (a contract, docs/architecture.md §6): DIR/sfbsim.env and DIR/ready,
a clean stop on SIGTERM, certificates reused on a warm start, and --one-way-delay-ms delaying
what it sends over DNS, HTTP and SIP.

The process runs in the pytest process's private network namespace (conftest) next to the
session's in-process Sim, so it gets the default scenario moved to 127.9.x addresses (DNS on
127.9.0.1) instead of 127.0.x.  Delays are checked relatively, with a generous margin: the
same exchange with the configured 100 ms and after set_delay(0) must differ by >= 80 ms."""

import asyncio
import http.client
import os
import shlex
import signal
import subprocess
import time

import pytest
from dnslib import DNSRecord

from sim.client import SipTestClient
from sim.control import SimControl
from sim.scenario import Scenario

pytestmark = pytest.mark.usefixtures("netns")

HERE = os.path.dirname(os.path.abspath(__file__))
SFBSIM = os.path.join(HERE, "sfbsim")
DEFAULT = os.path.join(HERE, "scenarios", "default.toml")
PYTHON = "/usr/bin/python3"


@pytest.fixture
def alt_scenario(tmp_path):
    with open(DEFAULT) as f:
        text = f.read()
    path = tmp_path / "alt.toml"
    path.write_text(text.replace('"127.0.', '"127.9.'))
    return str(path)


@pytest.fixture
def sfbsim(tmp_path, alt_scenario):
    """start(*extra_args) -> (Popen, env dict) once DIR/ready exists."""
    procs = []
    workdir = str(tmp_path / "work")

    def start(*extra):
        p = subprocess.Popen([PYTHON, SFBSIM, "--workdir", workdir, "--scenario", alt_scenario,
                              *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(p)
        ready = os.path.join(workdir, "ready")
        deadline = time.monotonic() + 60
        while not os.path.exists(ready):
            if p.poll() is not None:
                raise AssertionError(f"sfbsim exited {p.returncode}: {p.stdout.read()!r}")
            assert time.monotonic() < deadline, "sfbsim did not become ready"
            time.sleep(0.05)
        env = {}
        with open(os.path.join(workdir, "sfbsim.env")) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    k, _, v = line.rstrip("\n").partition("=")
                    env[k] = shlex.split(v)[0] if v else ""
        return p, env
    start.workdir = workdir
    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def stop(p, workdir):
    p.send_signal(signal.SIGTERM)
    assert p.wait(30) == 0
    assert not os.path.exists(os.path.join(workdir, "ready"))
    assert not os.path.exists(os.path.join(workdir, "control.sock"))


def best_of(n, fn):
    best = None
    for _ in range(n):
        t = time.monotonic()
        fn()
        d = time.monotonic() - t
        best = d if best is None else min(best, d)
    return best


def dns_rtt(env):
    def q():
        raw = DNSRecord.question("pool1.contoso.test", "A").send(env["SFBSIM_DNS"], 53,
                                                                   timeout=5)
        assert DNSRecord.parse(raw).rr
    return best_of(3, q)


def http_rtt(env):
    addr = env["SFBSIM_LYNCDISCOVERINTERNAL"].split("=")[1]

    def get():
        conn = http.client.HTTPConnection(addr, 80, timeout=5)
        conn.connect()             # the TCP handshake is the kernel's: not part of the delay
        conn.request("GET", "/", headers={"Host": "lyncdiscoverinternal.contoso.test"})
        assert conn.getresponse().status == 200
        conn.close()
    return best_of(3, get)


def sip_rtts(env, workdir, scenario):
    """Keep-alive round trips of a signed-in client: (with the configured delay, after
    set_delay(0))."""
    sc = Scenario.load(scenario)
    c = SipTestClient(dict(sc.users["alice"]), env["SFBSIM_CA_FILE"], sc.domain)
    pool1 = env["SFBSIM_POOL1_ADDRESS"], 5061, "pool1.contoso.test"

    async def rtt():
        best = None
        for _ in range(3):
            t = time.monotonic()
            await c.keepalive()
            d = time.monotonic() - t
            best = d if best is None else min(best, d)
        return best

    async def flow():
        assert (await c.sign_in(pool1)).code == 200
        slow = await rtt()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: SimControl(workdir).set_delay(ms=0))
        fast = await rtt()
        await c.sign_out()
        await c.close()
        return slow, fast
    return asyncio.run(flow())


def test_ready_env_delay_and_clean_stop(sfbsim, alt_scenario):
    p, env = sfbsim("--one-way-delay-ms", "100")
    wd = sfbsim.workdir
    assert env["SFBSIM_WORKDIR"] == wd and env["SFBSIM_DOMAIN"] == "contoso.test"
    assert env["SFBSIM_DELAY_MS"] == "100" and env["SFBSIM_DNS"] == "127.9.0.1"
    assert os.path.isfile(env["SFBSIM_CA_FILE"]) and env["SFBSIM_CONTROL"].endswith("control.sock")
    assert env["SFBSIM_USER_ALICE_LOGIN"] == "CONTOSO\\alice"
    ctl = SimControl(wd)
    assert ctl.ping() == "pong"

    dns_slow, http_slow = dns_rtt(env), http_rtt(env)
    sip_slow, sip_fast = sip_rtts(env, wd, alt_scenario)       # leaves the delay at 0
    dns_fast, http_fast = dns_rtt(env), http_rtt(env)
    for what, slow, fast in (("DNS", dns_slow, dns_fast), ("HTTP", http_slow, http_fast),
                             ("SIP", sip_slow, sip_fast)):
        assert slow - fast >= 0.08, f"{what}: {slow:.3f} s with 100 ms, {fast:.3f} s with 0"

    with open(os.path.join(wd, "sip.log")) as f:
        log = f.read()
    assert "REGISTER sip:contoso.test SIP/2.0" in log
    assert env["SFBSIM_USER_ALICE_PASSWORD"] not in log
    stop(p, wd)


def test_warm_start_reuses_certificates(sfbsim):
    p, env = sfbsim()
    certs = os.path.join(sfbsim.workdir, "certs")

    def files():  # the per-host certificates are in certs/hosts/<fqdn>/
        return {os.path.relpath(os.path.join(d, n), certs): open(os.path.join(d, n), "rb").read()
                for d, _, names in os.walk(certs) for n in names}
    before = files()
    assert "hosts/pool1.contoso.test/valid.pem" in before
    stop(p, sfbsim.workdir)
    p, env = sfbsim()
    assert env["SFBSIM_DELAY_MS"] == "0"
    assert files() == before
    stop(p, sfbsim.workdir)


def test_bad_arguments(tmp_path):
    r = subprocess.run([PYTHON, SFBSIM, "--workdir", str(tmp_path), "--one-way-delay-ms", "-1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--one-way-delay-ms must be >= 0" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('domain = "nodot"\n')
    r = subprocess.run([PYTHON, SFBSIM, "--workdir", str(tmp_path), "--scenario", str(bad)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "bad scenario" in r.stderr
    assert not os.path.exists(tmp_path / "ready")
