#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd and pidgin-sipe side by side (docs/benchmarks.md): the same sfbsim, the same delay,
runs interleaved (sfbd, SIPE, sfbd, SIPE, ...), medians and sfbd/SIPE ratios.

  bench_sipe.py --build DIR [--repeat 3] [--delay 50] [--contacts 1000] [--idle-seconds 30]
                [--format markdown|json] [--output FILE]

Runs itself inside build-aux/testnet.  One sfbsim with alice's contact list extended to
--contacts (bench_contacts.py's scenario).  SIPE is tests/purple's headless client
(sfb-purple-check, built with libpurple-dev; $SFB_PURPLE_CHECK or DIR/tests/purple).

Sign-in cases, timed at milestones both clients reach, read from sfbsim's sip.log (one
clock, the server's view): "REGISTER 200" (sfbsim sends the 200 that registers alice)
and "published" (sfbsim answers 200 to the client's first publication of its own
presence).  Time zero is sfbd's SignIn() call, and for SIPE its account starting to
connect (its first "connecting" event: libpurple's start-up is not counted).
  first     discovery (no server given): lyncdiscover, the Director's 301, pool1
  server    explicit server: pool1.contoso.test:5061
  later     a second sign-in: sfbd a new process on the state of `first`; SIPE with the
            libpurple user directory of its `first` run (SIPE remembers no home pool)
Signed-in session (per client and repetition, after the contact list arrived and 2 s quiet):
  memory    Private_Dirty and PSS (smaps_rollup).  sfbd: right after the heap trim that
            follows its last burst, seen in its log ("Heap trimmed", G_MESSAGES_DEBUG=
            sfbd-core; bench_contacts.trimmed_figure(): an error, no figure, when it never
            settles).  SIPE: after 6 s without a buddy event
  idle      voluntary context switches of all threads over --idle-seconds (no PipeWire)
  storm     CPU time (schedstat run time of all threads) from one set_presences of every
            contact to availability 9500 until the client showed all of them (sfbd: a
            PresencesChanged naming each; SIPE: a buddy-status event for each, which
            sfb-purple-check prints as a JSON line: a little extra CPU on SIPE's side)
Measurements, never pass/fail: exit 1 only when a run did not complete.
"""

import argparse
import datetime
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "integration"))

import sim_fixture  # noqa: E402

sim_fixture.enter_testnet(__file__)
sys.path.insert(0, HERE)

from gi.repository import GLib  # noqa: E402

import bench_contacts as C  # noqa: E402
import bench_idle as I  # noqa: E402
import bench_signin as B  # noqa: E402
from sim.control import SimControl  # noqa: E402

STORM_AVAILABILITY = 9500
POOL = "pool1.contoso.test"


class BenchError(B.BenchError):
    pass


def loadavg():
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


# ---- sfbsim's sip.log: milestones ---------------------------------------------------------

def sip_messages(path, offset):
    """[(wall time, direction, note, start line, {header: value}, body)] from byte offset."""
    with open(path, encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        lines = f.read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.startswith("=== "):
            continue
        parts = line.split(" ")
        when = datetime.datetime.fromisoformat(parts[1]).timestamp()
        note = line.rsplit("(", 1)[1].rstrip(")") if line.endswith(")") else ""
        start = lines[i].rstrip("\r") if i < len(lines) else ""
        i += 1
        headers = {}
        while i < len(lines) and lines[i].rstrip("\r"):
            name, _, value = lines[i].rstrip("\r").partition(":")
            headers[name.strip().lower()] = value.strip()
            i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(("=== ", "--- ")):
            body.append(lines[i])
            i += 1
        out.append((when, parts[2], note, start, headers, "\n".join(body)))
    return out


def milestones(path, offset, t0):
    """{"register": s, "published": s} after wall time t0 (None when not reached)."""
    found = {"register": None, "published": None}
    publishes = set()
    for when, direction, note, start, headers, body in sip_messages(path, offset):
        if when < t0 - 0.01:
            continue
        key = (headers.get("call-id"), headers.get("cseq"))
        if direction == "IN" and start.startswith("SERVICE ") and "<publish" in body:
            publishes.add(key)
        if direction == "OUT" and start.startswith("SIP/2.0 200"):
            if note == "registered" and found["register"] is None:
                found["register"] = when - t0
            if key in publishes and found["published"] is None:
                found["published"] = when - t0
    return found


# ---- the clients ----------------------------------------------------------------------------

class Sfbd:
    name = "sfbd"

    def __init__(self, args, sim, home, server=None):
        self.d = B.Daemon(args.build, home, 1, verbose=False, debug="sfbd-core")
        self.trims = C.Trims(self.d)
        self.pid = self.d.processes[-1].pid
        self.sim = sim
        self.server = server
        self.seen = {}
        self.d.bus.signal_subscribe(B.BUS_NAME, B.PRESENCE, "PresencesChanged", B.OBJECT_PATH,
                                    None, 0, self._on_presences)

    def _on_presences(self, bus, sender, path, iface, signal, params):
        for uri, presence in params.unpack()[0].items():
            self.seen[uri] = presence.get("AvailabilityCode")

    def configure(self):
        self.d.configure(self.sim)
        if self.server:
            self.d.call(B.ACCOUNT, "Configure",
                        ({"Account.Server": GLib.Variant("s", self.server)},), "(a{sv})")

    def sign_in(self):
        t0 = time.time()
        start = time.monotonic()
        self.d.call(B.ACCOUNT, "SignIn")
        self.signed_in = self.d.wait_state("signed-in", start, timeout=120)
        return t0

    def wait_contacts(self, uris):
        """The memory figure, taken right after the heap trim that follows the last burst."""
        B.wait_until(lambda: (self.d.pump(), len(self.seen) >= len(uris))[1],
                     "every contact's presence", timeout=120, step=0.05)
        self.trims.mark()  # the trims after the last contact's PresencesChanged
        settle_signals(self.d)
        return C.trimmed_figure(self.d, self.trims, lambda: C.smaps_rollup(self.pid))[0]

    def begin_storm(self):
        self.d.pump()

    def storm_done(self, uris):
        self.d.pump()
        return all(self.seen.get(u) == STORM_AVAILABILITY for u in uris)

    def stop(self):
        self.d.stop()


def settle_signals(d, quiet=2.0, timeout=60.0):
    I.settle(d, quiet, timeout)


class Sipe:
    name = "SIPE"

    def __init__(self, args, sim, user_dir, server=None, script="wait-input,sign-out"):
        check = os.environ.get("SFB_PURPLE_CHECK") or os.path.join(
            args.build, "tests", "purple", "sfb-purple-check")
        if not os.access(check, os.X_OK):
            raise BenchError(f"no sfb-purple-check at {check} (libpurple-dev missing?)")
        os.makedirs(user_dir, exist_ok=True)
        cmd = [check, "--uri", sim.env["SFBSIM_USER_ALICE_URI"],
               "--login", sim.env["SFBSIM_USER_ALICE_LOGIN"], "--auth", "ntlm",
               "--password-stdin", "--ca-file", sim.env["SFBSIM_CA_FILE"],
               "--user-dir", user_dir, "--timeout", "600", "--script", script]
        if server:
            cmd += ["--server", server]
        self.popen_wall = time.time()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.pid = self.proc.pid
        self.proc.stdin.write(sim.env[B.PASSWORD_KEY] + "\n")
        self.proc.stdin.flush()
        self.events = queue.Queue()
        self.status = {}
        self.count = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == "buddy-status":
                self.status[ev.get("uri")] = ev.get("status")
                self.count += 1
            self.events.put(ev)
        self.events.put(None)

    def wait_event(self, name, timeout=120, predicate=None):
        deadline = time.monotonic() + timeout
        while True:
            try:
                ev = self.events.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                ev = False
            if ev is None or (ev is False and time.monotonic() > deadline):
                raise BenchError(f"SIPE: no {name} event")
            if ev and ev.get("event") == "error":
                raise BenchError(f"SIPE: {ev}")
            if ev and ev.get("event") == name and (predicate is None or predicate(ev)):
                return ev

    def sign_in(self):
        ev = self.wait_event("state", predicate=lambda e: e.get("state") == "connecting")
        t0 = self.popen_wall + ev["ms"] / 1000.0
        self.wait_event("signed-on")
        return t0

    def wait_contacts(self, uris):
        """None: the memory figure is taken after this (6 s without a buddy event)."""
        # the second step (wait-input) starts once wait-buddies:N is done
        self.wait_event("step", timeout=300, predicate=lambda e: e.get("index") == 1)
        last = [self.count, time.monotonic()]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and time.monotonic() - last[1] < 6.0:
            time.sleep(0.05)
            if self.count != last[0]:
                last[:] = [self.count, time.monotonic()]

    def begin_storm(self):
        self.status.clear()

    def storm_done(self, uris):
        return all(u in self.status for u in uris)

    def stop(self):
        try:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


# ---- cases ----------------------------------------------------------------------------------

def signin_case(args, sim, top, client_name, case, homes):
    """Seconds to the milestones of one sign-in."""
    siplog = os.path.join(sim.workdir, "sip.log")
    server = f"{POOL}:5061" if case == "server" else None
    key = (client_name, case)
    if case == "later":
        home = homes[(client_name, "first")]
    else:
        home = tempfile.mkdtemp(prefix=f"{client_name}-{case}-", dir=top)
        homes[key] = home
    sim.ctl.drop_connections()
    offset = os.path.getsize(siplog)
    if client_name == "sfbd":
        client = Sfbd(args, sim, home, server)
        try:
            if case != "later":
                client.configure()
            t0 = client.sign_in()
            B.wait_until(lambda: milestones(siplog, offset, t0)["published"] is not None,
                         "sfbd's publication", timeout=60, step=0.05)
        finally:
            client.stop()
    else:
        client = Sipe(args, sim, home, server)
        try:
            t0 = client.sign_in()
            B.wait_until(lambda: milestones(siplog, offset, t0)["published"] is not None,
                         "SIPE's publication", timeout=60, step=0.05)
        finally:
            client.stop()
    return milestones(siplog, offset, t0)


def session_case(args, sim, top, client_name, uris):
    """Memory, idle wake-ups and storm CPU of one signed-in session."""
    home = tempfile.mkdtemp(prefix=f"{client_name}-session-", dir=top)
    sim.ctl.drop_connections()
    sim.ctl.set_presences(updates=[{"user": u, "availability": 3500} for u in uris])
    if client_name == "sfbd":
        client = Sfbd(args, sim, home)
        client.configure()
    else:
        client = Sipe(args, sim, home, script=f"wait-buddies:{len(uris)},wait-input,sign-out")
    out = {}
    try:
        client.sign_in()
        memory = client.wait_contacts(uris)
        out.update(memory if memory is not None else C.smaps_rollup(client.pid))
        before = I.switches(client.pid)
        time.sleep(args.idle_seconds)  # the measurement window
        after = I.switches(client.pid)
        out["wakeups"] = sum(after[t][1] - before[t][1] for t in before.keys() & after.keys())
        updates = [{"user": u, "availability": STORM_AVAILABILITY} for u in uris]
        client.begin_storm()
        cpu0 = C.cpu_seconds(client.pid)
        threading.Thread(target=lambda: SimControl(sim.workdir, timeout=300).set_presences(
            updates=updates), daemon=True).start()
        B.wait_until(lambda: client.storm_done(uris), f"{client_name} showing the storm",
                     timeout=300, step=0.01)
        out["storm_cpu_ms"] = (C.cpu_seconds(client.pid) - cpu0) * 1000
    finally:
        client.stop()
    return out


FIGURES = [  # (key, label, unit)
    ("first_register", "first sign-in by discovery: REGISTER 200", "ms"),
    ("first_published", "first sign-in by discovery: own presence published", "ms"),
    ("server_register", "explicit server: REGISTER 200", "ms"),
    ("server_published", "explicit server: own presence published", "ms"),
    ("later_register", "later sign-in: REGISTER 200", "ms"),
    ("later_published", "later sign-in: own presence published", "ms"),
    ("storm_cpu_ms", "storm of N presence updates: CPU", "ms"),
    ("private_dirty_kb", "memory with N contacts: Private_Dirty", "kB"),
    ("pss_kb", "memory with N contacts: PSS", "kB"),
    ("wakeups", "idle wake-ups in the window", "count"),
]


def run(args, sim, top, uris):
    samples = {name: {k: [] for k, _, _ in FIGURES} for name in ("sfbd", "SIPE")}
    loads = []
    homes = {}
    sim.ctl.set_delay(ms=args.delay)
    for _ in range(args.repeat):
        for case in ("first", "server", "later"):
            for name in ("sfbd", "SIPE"):  # interleaved
                loads.append(loadavg())
                m = signin_case(args, sim, top, name, case, homes)
                samples[name][f"{case}_register"].append(m["register"] * 1000)
                samples[name][f"{case}_published"].append(m["published"] * 1000)
        for name in ("sfbd", "SIPE"):
            loads.append(loadavg())
            for k, v in session_case(args, sim, top, name, uris).items():
                samples[name][k].append(v)
    sim.ctl.set_delay(ms=0)
    return samples, loads


def summarize(samples, args, contacts):
    rows = []
    for key, label, unit in FIGURES:
        s = [statistics.median(samples["sfbd"][key])] if samples["sfbd"][key] else [None]
        p = [statistics.median(samples["SIPE"][key])] if samples["SIPE"][key] else [None]
        ratio = s[0] / p[0] if s[0] is not None and p[0] else None
        rows.append({"figure": label.replace("N", str(contacts)), "unit": unit,
                     "sfbd": s[0], "sipe": p[0], "ratio": ratio, "key": key})
    return rows


def fmt(x):
    if x is None:
        return "–"
    return f"{x:.0f}" if abs(x) >= 10 else f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--delay", type=int, default=50, help="one-way delay in ms")
    ap.add_argument("--contacts", type=int, default=1000)
    ap.add_argument("--idle-seconds", type=float, default=30.0, help="idle window")
    ap.add_argument("--format", choices=("markdown", "json"), default="markdown")
    ap.add_argument("--output")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)

    top = tempfile.mkdtemp(prefix="sfbd-bench-sipe-")
    scenario = os.path.join(top, "contacts.toml")
    uris = C.write_scenario(scenario, args.contacts)
    sim = C.Sim(top, scenario)
    status = 0
    try:
        samples, loads = run(args, sim, top, uris)
        rows = summarize(samples, args, len(uris))
        if args.format == "json":
            out = json.dumps({"machine": B.machine(), "loads": loads, "rows": rows,
                              "samples": samples}, indent=2) + "\n"
        else:
            out = ("| figure | sfbd | SIPE | sfbd/SIPE |\n|---|---|---|---|\n"
                   + "".join(f"| {r['figure']} ({r['unit']}) | {fmt(r['sfbd'])} "
                             f"| {fmt(r['sipe'])} | {fmt(r['ratio'])} |\n" for r in rows)
                   + f"\nmedians of {args.repeat} interleaved runs each; one-way delay "
                   f"{args.delay} ms; idle window {args.idle_seconds:g} s; load (1/5/15 min) at "
                   f"each run: {'; '.join(loads)}\nmachine: {B.machine()}\n")
    except (B.BenchError, OSError) as e:
        out = f"error: {e} (logs in {top})\n"
        status = 1
        args.keep = True
    finally:
        sim.stop()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(out)
    sys.stdout.write(out)
    if not args.keep:
        shutil.rmtree(top, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
