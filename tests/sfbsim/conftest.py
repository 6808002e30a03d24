# SPDX-License-Identifier: LGPL-2.1-or-later
"""pytest fixtures for sfbsim's own tests.

The simulator binds ports 53, 80, 443 and 5061 on 127.x addresses, as it does for sfbd.  So
that tests never collide with anything on the host (or with a parallel test run), the pytest
process moves itself into a fresh network namespace at start (unshare(CLONE_NEWNET) through
libc; threads and child processes created later inherit it) and brings `lo` up.  That needs
root, which run-tests and CI have; without it every test that needs the network FAILS with
the reason (nothing is skipped: a skipped network test would hide a broken CI set-up).

One Sim for the default scenario runs for the whole session in a background thread with its
own asyncio loop; `sim_reset` (autouse) undoes every fault a test injected (DNS faults,
certificate, delay, 503s, stopped pools, timers, disabled users, held requests, counters) and
the services' state (control action `reset_services`: presence, contacts, dial plan, policies),
so tests stay independent without paying for a restart.  Async test code runs in the Sim's loop
through `simrun(coro)`; control calls made from inside it must go through an executor
(`loop.run_in_executor(None, ...)`), since the Sim's loop serves the control socket.
"""

import asyncio
import ctypes
import os
import shutil
import subprocess
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from sim import control  # noqa: E402
from sim.control import SimControl  # noqa: E402
from sim.core import Sim  # noqa: E402
from sim.scenario import Scenario  # noqa: E402

CLONE_NEWNET = 0x40000000
DEFAULT_SCENARIO = os.path.join(HERE, "scenarios", "default.toml")
NETNS_ERROR = None


def _enter_netns():
    """Move this process into a new network namespace with lo up; returns an error or None."""
    if os.environ.get("SFBSIM_TEST_NETNS") == "done":
        return None
    if os.geteuid() != 0:
        return "needs root to create a network namespace (run as root or inside build-aux/testnet)"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
    ip = shutil.which("ip") or "/usr/sbin/ip"
    r = subprocess.run([ip, "link", "set", "lo", "up"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"ip link set lo up failed: {r.stderr.strip()}"
    os.environ["SFBSIM_TEST_NETNS"] = "done"
    return None


def pytest_configure(config):
    global NETNS_ERROR
    NETNS_ERROR = _enter_netns()


SKIPPED = []


def pytest_runtest_logreport(report):
    if report.skipped:
        SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """A skipped test is a failed run (tests/README rule: no skip counted as a pass)."""
    if SKIPPED and session.exitstatus == 0:
        print(f"\nsfbsim: {len(SKIPPED)} test(s) skipped, which counts as a failure: "
              + ", ".join(SKIPPED))
        session.exitstatus = 1


class SimThread:
    """A Sim in its own thread and event loop."""

    def __init__(self, scenario, workdir, delay_ms=0):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sim = Sim(scenario, workdir, delay_ms)
        self.workdir = workdir
        self.run(self.sim.start(), timeout=60)
        self.ctl = SimControl(workdir)

    def run(self, coro, timeout=30):
        """Run a coroutine in the Sim's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn, *args):
        """Run a plain function in the Sim's loop thread."""
        async def wrap():
            return fn(*args)
        return self.run(wrap())

    def close(self):
        try:
            self.run(self.sim.stop(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@pytest.fixture(scope="session")
def netns():
    if NETNS_ERROR:
        pytest.fail(f"no private network namespace: {NETNS_ERROR}", pytrace=False)


@pytest.fixture(scope="session")
def simthread(netns, tmp_path_factory):
    st = SimThread(Scenario.load(DEFAULT_SCENARIO), str(tmp_path_factory.mktemp("sfbsim")))
    yield st
    st.close()


@pytest.fixture
def sim(simthread):
    return simthread.sim


@pytest.fixture
def ctl(simthread):
    return simthread.ctl


@pytest.fixture
def simrun(simthread):
    return simthread.run


@pytest.fixture(autouse=True)
def sim_reset(request):
    """After each test that used the shared Sim: clear faults, restore the scenario, drop
    connections and registrations, zero the counters."""
    yield
    if "simthread" not in request.fixturenames:
        return
    st = request.getfixturevalue("simthread")
    base = Scenario.load(DEFAULT_SCENARIO)

    async def reset():
        sim = st.sim
        sim.dns.clear_faults()
        if sim.kdc is not None:
            await sim.kdc.start()  # after stop_kdc
        sim.scenario.data["tls"] = base.data["tls"]
        sim.reset_tls()  # the scenario's TLS version and certificates
        sim.delay = 0.0
        for name, r in sim.registrars.items():
            r.fault_503 = None
            r.desc.auth = list(base.registrar(name).auth)
            await r.stop(reason="test reset")
            await r.start()
        sim.scenario.data["timers"] = base.data["timers"]
        for uid, u in sim.scenario.users.items():
            u["enabled"] = base.users[uid]["enabled"]
        if sim.services is not None:  # after the registrars dropped every endpoint
            answer = await control.dispatch(sim, {"action": "reset_services"})
            assert answer["ok"], answer
        # TLS-DSK web services (certprov.py, webticket.py) and the User resource's web ticket
        for key in ("certprov", "webticket", "autodiscover", "features", "endpoints", "im"):
            if key in base.data:
                sim.scenario.data[key] = base.data[key]
            else:
                sim.scenario.data.pop(key, None)
        getattr(sim, "_webtickets", {}).clear()
        await control.dispatch(sim, {"action": "reset_diagnose_faults"})
        await control.dispatch(sim, {"action": "reset_im"})
        await control.dispatch(sim, {"action": "release_requests"})
        sim.counters.reset()
        sim.signin_rt.clear()
    st.run(reset())


@pytest.fixture
def users():
    return Scenario.load(DEFAULT_SCENARIO).users


@pytest.fixture
def make_client(simthread):
    """make_client('alice') -> a SipTestClient for that scenario user (closed after the test)."""
    from sim.client import SipTestClient
    sc = simthread.sim.scenario
    SipTestClient.hosts = sc.host_addresses()
    clients = []

    def make(uid="alice", **kw):
        c = SipTestClient(dict(sc.users[uid]), simthread.sim.certs.ca_file, sc.domain, **kw)
        clients.append(c)
        return c
    yield make
    for c in clients:
        simthread.run(c.close())


@pytest.fixture
def registrar(simthread):
    """registrar('pool1') -> (address, port, fqdn) to dial."""
    def get(name):
        r = simthread.sim.scenario.registrar(name)
        return (r.address, r.port, r.fqdn)
    return get
