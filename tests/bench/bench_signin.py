#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sign-in benchmark (docs/architecture.md §8): the real sfbd against the real sfbsim.

  bench_signin.py --build DIR [--repeat N] [--delays 0,50] [--tls TLSv1_2|TLSv1_3]
                  [--system-trust]
                  [--format markdown|json] [--output FILE]

Runs itself inside build-aux/testnet.  One sfbsim (default scenario: autodiscover names the
Director, which redirects alice to pool1) and, per measurement, sfbd on a private
dbus-daemon.  For each one-way delay (sfbsim's set_delay) and each case it repeats the
measurement N times and reports the median and the spread (min-max) of the wall time, and
the median of sfbsim's counters per sign-in (DNS queries, HTTP requests, TCP connections, TLS
handshakes full/resumed, SIP requests and REGISTERs).  "RTT" is the wall time above the
0 ms run divided by the round-trip time sfbsim adds (its one-way delay is applied to
everything it sends, TLS handshakes included, and the first bytes of a connection leave one
extra delay late, standing in for the TCP handshake): the round trips on the critical path.

Cases:
  first         a new sfbd with empty state: discovery, Director, 301, home pool
  restart       a new sfbd with the state of a first sign-in kept (remembered home pool)
  reconnect     Account.Reconnect() in a signed-in sfbd (same process: TLS resumption)
  server-drop   sfbsim drops the connection (drop_connections); time to signed-in again
  network-back  network away (default route removed, registrars stopped) and back (route
                added, registrars started); time from the route's return to signed-in
  presence      (only when sfbd publishes its own presence) time to own presence published

Benchmarks are measurements, never pass/fail: the exit status is 0 when every sign-in
reached signed-in, 1 otherwise.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "integration"))

import sim_fixture  # noqa: E402  (the integration tests' sfbsim start-up)
from write_back import write_back  # noqa: E402

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

BUS_NAME = "org.sfbd.Sfbd"
OBJECT_PATH = "/org/sfbd/Sfbd"
ACCOUNT = "org.sfbd.Sfbd1.Account"
PRESENCE = "org.sfbd.Sfbd1.Presence"
PASSWORD_KEY = "SFBSIM_USER_ALICE_PASSWORD"
WAIT = 30.0  # seconds for anything that takes milliseconds
REGISTRARS = ("director", "pool1", "pool2", "edge")

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# protocol minimum (round trips): DNS 1 + TCP 1 + TLS 2 + REGISTER 3 + settings 1
MINIMUM = {"first": 8, "restart": 7, "reconnect": 6, "server-drop": 6, "network-back": 6}
MINIMUM_NOTE = {
    "first": "DNS 1 + TCP 1 + TLS 2 + REGISTER 3 + settings 1",
    "restart": "TCP 1 + TLS 2 + REGISTER 3 + settings 1 (no session to resume)",
    "reconnect": "TCP 1 + TLS 1 (resumed) + REGISTER 3 + settings 1",
    "server-drop": "TCP 1 + TLS 1 (resumed) + REGISTER 3 + settings 1",
    "network-back": "TCP 1 + TLS 1 (resumed) + REGISTER 3 + settings 1",
}


class BenchError(RuntimeError):
    pass


def wait_until(predicate, what, timeout=WAIT, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise BenchError(f"{what} did not happen within {timeout} s")


class Sim:
    """One sfbsim for the whole run (tests/integration/sim_fixture.py), its work directory
    and output under `top`."""

    def __init__(self, top, scenario=None, control_timeout=None):
        log = os.path.join(top, "sfbsim.out")
        try:
            sim = sim_fixture.start("bench", scenario=scenario, args=["--one-way-delay-ms", "0"],
                                    workdir=os.path.join(top, "sfbsim"), log_path=log,
                                    control_timeout=control_timeout, start_timeout=120)
        except RuntimeError:
            raise BenchError("sfbsim did not start; see " + log) from None
        self.workdir, self.env, self.ctl = sim["workdir"], sim["env"], sim["ctl"]

    def stop(self):
        sim_fixture.stop()


class Daemon:
    """sfbd on its own dbus-daemon, with config and state under `home` (kept if reused);
    --verbose (SIP traces in its log) unless verbose=False, as installed.  debug: the log
    domains whose debug messages sfbd logs too (G_MESSAGES_DEBUG), e.g. "sfbd-core" for
    its "Heap trimmed" lines alone (bench_contacts.trimmed_figure())."""

    def __init__(self, build, home, runs, verbose=True, wrapper=(), debug=None):
        self.home = home
        self.bus_path = os.path.join(home, "bus")
        os.makedirs(os.path.join(home, "config"), exist_ok=True)
        os.makedirs(os.path.join(home, "state"), mode=0o700, exist_ok=True)
        os.makedirs(os.path.join(home, "run"), mode=0o700, exist_ok=True)
        conf = os.path.join(home, "bus.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(BUS_CONFIG.format(path=self.bus_path))
        if os.path.exists(self.bus_path):
            os.unlink(self.bus_path)
        self.processes = []
        bus = subprocess.Popen(["dbus-daemon", "--config-file", conf, "--nofork",
                                "--print-address=1"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.processes.append(bus)
        if not bus.stdout.readline().startswith("unix:"):  # printed once it listens
            raise BenchError("dbus-daemon did not start")
        address = "unix:path=" + self.bus_path
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address,
                   SFBD_CONFIG_DIR=os.path.join(home, "config"),
                   SFBD_STATE_DIR=os.path.join(home, "state"),
                   XDG_RUNTIME_DIR=os.path.join(home, "run"),
                   DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent")
        env.pop("G_MESSAGES_DEBUG", None)
        if debug:
            env["G_MESSAGES_DEBUG"] = debug
        self.log = open(os.path.join(home, f"sfbd-{runs}.log"), "w", encoding="utf-8")
        exe = os.path.join(build, "daemon", "sfbd")
        write_back(exe)  # else its memory figures count a fresh build's dirty pages
        self.processes.append(subprocess.Popen(
            list(wrapper) + [exe]
            + (["--verbose"] if verbose else []), env=env,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT))
        self.bus = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.context = GLib.MainContext.default()
        self.states = []   # (monotonic time, state) from PropertiesChanged
        self.presence = []  # (monotonic time, availability)
        self.bus.signal_subscribe(BUS_NAME, "org.freedesktop.DBus.Properties",
                                  "PropertiesChanged", OBJECT_PATH, None,
                                  Gio.DBusSignalFlags.NONE, self._changed)
        wait_until(self._has_name, "sfbd on the bus", timeout=WAIT * (6 if wrapper else 1))

    def _has_name(self):
        reply = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                   "org.freedesktop.DBus", "NameHasOwner",
                                   GLib.Variant("(s)", (BUS_NAME,)), None,
                                   Gio.DBusCallFlags.NONE, -1, None)
        return reply.unpack()[0]

    def _changed(self, bus, sender, path, interface, signal, params):
        now = time.monotonic()
        iface, changed, _ = params.unpack()
        if iface == ACCOUNT and "State" in changed:
            self.states.append((now, changed["State"]))
        if iface == PRESENCE and "Availability" in changed:
            self.presence.append((now, changed["Availability"]))

    def pump(self):
        while self.context.iteration(False):
            pass

    def call(self, interface, method, args=None, signature=None):
        params = GLib.Variant(signature, args) if signature else None
        reply = self.bus.call_sync(BUS_NAME, OBJECT_PATH, interface, method, params, None,
                                   Gio.DBusCallFlags.NONE, 30000, None)
        return reply.unpack() if reply is not None else None

    def get(self, interface, name):
        return self.call("org.freedesktop.DBus.Properties", "Get", (interface, name), "(ss)")[0]

    def configure(self, sim, ca_file=True):
        """alice's account; without ca_file, no TLS.CAFile (sfbsim trusted through the
        system store: sim_fixture.trust_through_system_store())."""
        settings = {"Account.Uri": GLib.Variant("s", sim.env["SFBSIM_USER_ALICE_URI"]),
                    "Account.Login": GLib.Variant("s", sim.env["SFBSIM_USER_ALICE_LOGIN"]),
                    "Account.AutoSignIn": GLib.Variant("b", False),
                    "Secrets.Store": GLib.Variant("s", "file")}
        if ca_file:
            settings["TLS.CAFile"] = GLib.Variant("s", sim.env["SFBSIM_CA_FILE"])
        self.call(ACCOUNT, "Configure", (settings,), "(a{sv})")
        self.call(ACCOUNT, "SetPassword", (sim.env[PASSWORD_KEY], True), "(sb)")

    def wait_state(self, state, since, timeout=WAIT):
        """Monotonic time of the first State=state announced after `since`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            for when, value in self.states:
                if when >= since and value == state:
                    return when
                if when >= since and value == "failed":
                    raise BenchError("sign-in failed: " + self.get(ACCOUNT, "LastErrorMessage"))
            time.sleep(0.001)
        raise BenchError(f"State never became {state}; saw {[s for _, s in self.states]}")

    def wait_presence(self, availability, since, timeout=WAIT):
        """Monotonic time of the first own Availability=availability after `since` (the
        server's roaming-self echoing sfbd's publication), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            for when, value in self.presence:
                if when >= since and value == availability:
                    return when
            time.sleep(0.001)
        return None

    def stop(self):
        for p in reversed(self.processes):
            p.terminate()
        for p in reversed(self.processes):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.log.close()


def counters_per_signin(snapshot):
    """The figures of one sign-in from sfbsim's counters (reset before it)."""
    def total(name):
        return sum(v for v in snapshot.get(name, {}).values() if isinstance(v, int))
    tls = snapshot.get("tls_handshakes", {})
    return {
        "dns": total("dns_queries"),
        "http": total("autodiscover_requests"),
        "tcp": total("tcp_connections"),
        "tls_full": sum(n for k, n in tls.items() if k.startswith("full")),
        "tls_resumed": sum(n for k, n in tls.items() if k.startswith("resumed")),
        "tls_versions": sorted({k.split(" ", 1)[1] for k in tls if " " in k}),
        "register": snapshot.get("requests", {}).get("REGISTER", 0),
        "sip": total("requests"),
    }


def settle(sim):
    """Lets in-flight lookups of the sign-in (autodiscover still answering) be counted."""
    time.sleep(0.3 + 2 * sim_delay(sim))


def sim_delay(sim):
    return float(sim.env.get("_delay", 0)) / 1000.0


class Bench:
    def __init__(self, args, sim, top):
        self.args, self.sim, self.top = args, sim, top
        self.runs = 0
        self.failures = []
        self.last_presence = None  # first(): SignIn() to own presence published, seconds

    def daemon(self, home):
        self.runs += 1
        return Daemon(self.args.build, home, self.runs)

    def fresh_home(self):
        return tempfile.mkdtemp(prefix="sfbd-", dir=self.top)

    def first(self):
        """New sfbd, empty state; returns (seconds, counters, home with the state)."""
        home = self.fresh_home()
        d = self.daemon(home)
        try:
            d.configure(self.sim, ca_file=not self.args.system_trust)
            self.sim.ctl.drop_connections()
            self.sim.ctl.reset_counters()
            start = time.monotonic()
            d.call(ACCOUNT, "SignIn")
            end = d.wait_state("signed-in", start)
            published = d.wait_presence("online", start)
            self.last_presence = published - start if published is not None else None
            settle(self.sim)
            counts = counters_per_signin(self.sim.ctl.counters())
        finally:
            d.stop()
        return end - start, counts, home

    def restart(self):
        """A new sfbd on the state of a first sign-in (the remembered home pool)."""
        _, _, home = self.first()
        self.sim.ctl.drop_connections()
        d = self.daemon(home)
        try:
            self.sim.ctl.reset_counters()
            start = time.monotonic()
            d.call(ACCOUNT, "SignIn")  # AutoSignIn is off
            end = d.wait_state("signed-in", start)
            settle(self.sim)
            counts = counters_per_signin(self.sim.ctl.counters())
        finally:
            d.stop()
        return end - start, counts

    def in_process(self, cases):
        """One signed-in sfbd; then per repetition: Reconnect(), a server drop, the network
        going away and coming back.  Returns {case: [(seconds, counters)]}."""
        out = {case: [] for case in cases}
        home = self.fresh_home()
        d = self.daemon(home)
        try:
            d.configure(self.sim, ca_file=not self.args.system_trust)
            start = time.monotonic()
            d.call(ACCOUNT, "SignIn")
            d.wait_state("signed-in", start)
            for _ in range(self.args.repeat):
                if "reconnect" in cases:
                    self.sim.ctl.reset_counters()
                    start = time.monotonic()
                    d.call(ACCOUNT, "Reconnect")
                    end = d.wait_state("signed-in", start)
                    settle(self.sim)
                    out["reconnect"].append((end - start,
                                             counters_per_signin(self.sim.ctl.counters())))
                if "server-drop" in cases:
                    self.sim.ctl.reset_counters()
                    start = time.monotonic()
                    self.sim.ctl.drop_connections(user="alice")
                    end = d.wait_state("signed-in", start)
                    settle(self.sim)
                    out["server-drop"].append((end - start,
                                               counters_per_signin(self.sim.ctl.counters())))
                if "network-back" in cases:
                    out["network-back"].append(self.network_back(d))
        finally:
            d.stop()
        return out

    def network_back(self, d):
        subprocess.run(["ip", "route", "del", "default", "dev", "lo"], check=True)
        try:
            away = time.monotonic()
            for r in REGISTRARS:
                self.sim.ctl.stop_pool(pool=r)
            d.wait_state("reconnecting", away)
            time.sleep(1.0)  # a retry or two fail while the servers are away
        finally:
            for r in REGISTRARS:
                self.sim.ctl.start_pool(pool=r)
            self.sim.ctl.reset_counters()
            start = time.monotonic()
            subprocess.run(["ip", "route", "add", "default", "dev", "lo"], check=True)
        end = d.wait_state("signed-in", start)
        settle(self.sim)
        return end - start, counters_per_signin(self.sim.ctl.counters())

    def run(self):
        results = {}
        for delay in self.args.delays:
            self.sim.ctl.set_delay(ms=delay)
            self.sim.env["_delay"] = str(delay)
            per = {"first": [], "restart": [], "presence": []}
            for _ in range(self.args.repeat):
                seconds, counts, _ = self.first()
                per["first"].append((seconds, counts))
                if self.last_presence is not None:
                    per["presence"].append((self.last_presence, counts))
                per["restart"].append(self.restart())
            per.update(self.in_process(["reconnect", "server-drop", "network-back"]))
            results[delay] = per
        self.sim.ctl.set_delay(ms=0)
        return results


def summarize(results):
    rows = []
    base = results.get(0, {})
    for delay, per in results.items():
        for case, samples in per.items():
            if not samples:
                continue
            times = [s for s, _ in samples]
            median = statistics.median(times)
            row = {"delay_ms": delay, "case": case, "n": len(times),
                   "median_ms": round(median * 1000, 1),
                   "min_ms": round(min(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1)}
            counts = [c for _, c in samples]
            for key in ("dns", "http", "tcp", "tls_full", "tls_resumed", "register", "sip"):
                row[key] = statistics.median(c[key] for c in counts)
            row["tls_versions"] = sorted({v for c in counts for v in c["tls_versions"]})
            if delay > 0 and case in base and base[case]:
                base_median = statistics.median(s for s, _ in base[case])
                row["rtt"] = round((median - base_median) / (delay / 1000.0), 1)
            row["minimum_rtt"] = MINIMUM.get(case)
            rows.append(row)
    return rows


def fmt(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def markdown(rows, args):
    head = ("| delay | case | n | median ms | spread ms | RTT | min RTT | DNS | HTTP | TCP "
            "| TLS full/resumed | REGISTER | SIP requests |")
    out = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        out.append(
            f"| {r['delay_ms']} ms | {r['case']} | {r['n']} | {r['median_ms']} "
            f"| {r['min_ms']}–{r['max_ms']} | {fmt(r.get('rtt', '–'))} "
            f"| {fmt(r['minimum_rtt'])} | {fmt(r['dns'])} | {fmt(r['http'])} | {fmt(r['tcp'])} "
            f"| {fmt(r['tls_full'])}/{fmt(r['tls_resumed'])} | {fmt(r['register'])} "
            f"| {fmt(r['sip'])} |")
    versions = sorted({v for r in rows for v in r["tls_versions"]})
    out.append("")
    out.append(f"TLS negotiated: {', '.join(versions) or 'none'} (sfbsim maximum {args.tls}); "
               f"repetitions: {args.repeat}.")
    return "\n".join(out) + "\n"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="meson build directory with daemon/sfbd")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--delays", default="0,50", help="one-way delays in ms (default 0,50)")
    ap.add_argument("--tls", default="TLSv1_2", choices=("TLSv1_2", "TLSv1_3"),
                    help="highest TLS version sfbsim offers (SfB Server speaks 1.2)")
    ap.add_argument("--format", default="markdown", choices=("markdown", "json"))
    ap.add_argument("--output", help="write the table here too")
    ap.add_argument("--keep", action="store_true", help="keep logs and state (printed)")
    ap.add_argument("--system-trust", action="store_true",
                    help="no TLS.CAFile: sfbsim's CA is in the system store (the bundle "
                    "bind-mounted over in testnet's namespace)")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.delays = [int(x) for x in args.delays.split(",") if x != ""]
    if 0 not in args.delays:
        args.delays.insert(0, 0)
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    if not os.access(os.path.join(args.build, "daemon", "sfbd"), os.X_OK):
        ap.error(f"no daemon/sfbd in {args.build}")

    top = tempfile.mkdtemp(prefix="sfbd-bench-")
    sim = None
    status = 0
    try:
        sim = Sim(top)
        if args.system_trust:
            sim_fixture.trust_through_system_store()
        sim.ctl.set_tls_version(maximum=args.tls)
        results = Bench(args, sim, top).run()
        rows = summarize(results)
        text = (json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n"
                if args.format == "json" else markdown(rows, args))
        sys.stdout.write(text)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        print(f"machine: {machine()}", file=sys.stderr)
    except BenchError as e:
        print(f"run-bench: {e} (logs in {top})", file=sys.stderr)
        args.keep = True
        status = 1
    finally:
        if sim is not None:
            sim.stop()
        if args.keep:
            print(f"run-bench: logs and state in {top}", file=sys.stderr)
        else:
            shutil.rmtree(top, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
