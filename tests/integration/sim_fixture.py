# SPDX-License-Identifier: LGPL-2.1-or-later
"""One sfbsim for a test module (or a benchmark run), inside build-aux/testnet.

    import sim_fixture
    sim_fixture.enter_testnet(__file__)   # re-executes the module in testnet, before other imports
    ...
    SIM = sim_fixture.SIM
    def setUpModule(): sim_fixture.start("applet")
    def tearDownModule(): sim_fixture.stop()

sim_fixture.SIM then holds "ctl" (a SimControl), "env" (sfbsim.env as a dict, e.g.
SFBSIM_CA_FILE) and "workdir".  Every integration test and benchmark that needs sfbsim
starts it here; start() takes a scenario, more sfbsim arguments and where to keep it.
"""

import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
TESTNET = os.path.join(SOURCE_ROOT, "build-aux", "testnet")
SFBSIM = os.path.join(SOURCE_ROOT, "tests", "sfbsim", "sfbsim")

SIM = {}


def enter_testnet(script):
    """Re-executes script inside build-aux/testnet unless already there.  testnet needs
    root; without it, its own message says so and the test fails (it never skips)."""
    if os.environ.get("SFBD_TESTNET") != "1":
        os.execv(TESTNET, [TESTNET, sys.executable, os.path.abspath(script), *sys.argv[1:]])
    sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "sfbsim"))


def start(name, scenario=None, args=(), workdir=None, log_path=None, control_timeout=None,
          start_timeout=60):
    """Starts sfbsim (the default scenario, or `scenario`, a TOML path; `args`: more
    command-line arguments) in `workdir` (default a new temporary directory), its output
    in `log_path` (default workdir/sfbsim.out), and waits until it is ready.  Raises
    RuntimeError with sfbsim's output when it does not start.  Returns SIM."""
    from sim.control import SimControl  # tests/sfbsim, on sys.path after enter_testnet()

    if workdir is None:
        workdir = tempfile.mkdtemp(prefix=f"sfbsim-{name}-")
    os.makedirs(workdir, exist_ok=True)
    log_path = log_path or os.path.join(workdir, "sfbsim.out")
    log = open(log_path, "w", encoding="utf-8")
    argv = [sys.executable, SFBSIM, "--workdir", workdir]
    if scenario is not None:
        argv += ["--scenario", scenario]
    process = subprocess.Popen(argv + list(args), stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + start_timeout
    while not os.path.exists(os.path.join(workdir, "ready")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            log.close()
            with open(log_path, encoding="utf-8") as out:
                raise RuntimeError(f"sfbsim did not start: {out.read()}")
        time.sleep(0.05)
    env = {}
    with open(os.path.join(workdir, "sfbsim.env"), encoding="utf-8") as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                env[key] = value.strip("'")
    SIM.update(process=process, workdir=workdir, env=env, log=log,
               ctl=SimControl(workdir, timeout=control_timeout or 30.0))
    return SIM


def stop():
    process = SIM.pop("process", None)
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    SIM.pop("log").close()


SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # the system store of Debian's GnuTLS


def trust_through_system_store():
    """Makes sfbsim's CA one of the system store's, for an sfbd without TLS.CAFile: the
    system bundle is bind-mounted over by a copy with the CA added, in testnet's private
    mount namespace only (gone with it)."""
    if os.environ.get("SFBD_TESTNET") != "1":
        raise RuntimeError("the system bundle is changed only inside build-aux/testnet")
    bundle = os.path.join(SIM["workdir"], "system-bundle.crt")
    with open(SYSTEM_BUNDLE, encoding="ascii") as real, \
            open(SIM["env"]["SFBSIM_CA_FILE"], encoding="ascii") as ca, \
            open(bundle, "w", encoding="ascii") as out:
        out.write(real.read().rstrip("\n") + "\n" + ca.read())
    subprocess.run(["mount", "--bind", bundle, os.path.realpath(SYSTEM_BUNDLE)], check=True)


def reset():
    """Puts sfbsim back to its defaults (between tests)."""
    ctl = SIM["ctl"]
    ctl.dns_clear()
    ctl.set_certificate(variant="valid")
    ctl.clear_503()
    ctl.start_pool(pool="pool1")
    ctl.set_user_enabled(user="alice", enabled=True)
    ctl.set_timers(expires=300, keep_alive=300, sa_lifetime=28800)
    ctl.reset_services()  # also the scenario's [features] and other endpoints
    ctl.set_tls_version(maximum="TLSv1_2")
    for host in ("lyncdiscover.contoso.test", "lyncdiscoverinternal.contoso.test"):
        ctl.set_portal(host=host, content_type=None)
    if "SFBSIM_EXCHANGE_MAIL" in SIM["env"]:  # scenarios/exchange.toml: mailboxes, faults
        ctl.reset_exchange()
    ctl.release_requests()  # hold_requests
    ctl.drop_connections()
    ctl.reset_counters()
