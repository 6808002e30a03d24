# SPDX-License-Identifier: LGPL-2.1-or-later
"""One sfbsim for a test module, inside build-aux/testnet.

    import sim_fixture
    sim_fixture.enter_testnet(__file__)   # re-executes the module in testnet, before other imports
    ...
    def setUpModule(): sim_fixture.start("applet")
    def tearDownModule(): sim_fixture.stop()

sim_fixture.SIM then holds "ctl" (a SimControl), "env" (sfbsim.env as a dict, e.g.
SFBSIM_CA_FILE) and "workdir".  The same steps as test_signin.py and test_presence.py.
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


def start(name):
    from sim.control import SimControl  # tests/sfbsim, on sys.path after enter_testnet()

    workdir = tempfile.mkdtemp(prefix=f"sfbsim-{name}-")
    log = open(os.path.join(workdir, "sfbsim.out"), "w", encoding="utf-8")
    process = subprocess.Popen([sys.executable, SFBSIM, "--workdir", workdir],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(workdir, "ready")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            log.close()
            with open(os.path.join(workdir, "sfbsim.out"), encoding="utf-8") as out:
                raise RuntimeError(f"sfbsim did not start: {out.read()}")
        time.sleep(0.05)
    env = {}
    with open(os.path.join(workdir, "sfbsim.env"), encoding="utf-8") as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                env[key] = value.strip("'")
    SIM.update(process=process, workdir=workdir, env=env, log=log, ctl=SimControl(workdir))


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


def reset():
    """Puts sfbsim back to its defaults (between tests)."""
    ctl = SIM["ctl"]
    ctl.dns_clear()
    ctl.set_certificate(variant="valid")
    ctl.clear_503()
    ctl.start_pool(pool="pool1")
    ctl.set_user_enabled(user="alice", enabled=True)
    ctl.set_timers(expires=300, keep_alive=300, sa_lifetime=28800)
    ctl.reset_services()
    ctl.drop_connections()
    ctl.reset_counters()
