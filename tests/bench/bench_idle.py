#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Idle wake-ups (docs/benchmarks.md): sfbd signed in to sfbsim, nothing happening.

  bench_idle.py --build DIR [--seconds 120] [--scenario FILE] [--format markdown|json]
                [--output FILE]

Runs itself inside build-aux/testnet.  Signs alice in (sfbsim's default scenario, which has
no Exchange, or --scenario FILE, e.g. tests/sfbsim/scenarios/exchange.toml), waits until no
D-Bus signal came for 2 s, then counts sfbd's wake-ups for --seconds with no PipeWire
running (XDG_RUNTIME_DIR is an empty private directory, so its socket is absent).

A wake-up is counted as a voluntary context switch (voluntary_ctxt_switches of
/proc/PID/task/*/status, summed over every thread): each time a thread blocked in
poll() is woken it runs and blocks again, which is exactly one voluntary switch.  Unlike
wall or CPU time this does not move with the machine's load, and unlike strace it needs no
tracer that would itself change the timing.  Preemptions (nonvoluntary_ctxt_switches) do
grow with load; they are reported beside, not added.  The counts of sfbsim's SIP requests
and keep-alives in the window tell which wake-ups were keep-alive or refresh timers.
Measurements, never pass/fail: exit 1 only when the sign-in did not complete.
"""

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "integration"))

import sim_fixture  # noqa: E402

sim_fixture.enter_testnet(__file__)
sys.path.insert(0, HERE)

import bench_signin as B  # noqa: E402

EXCHANGE = "org.sfbd.Sfbd1.Exchange"

def switches(pid):
    """{thread id: (name, voluntary, nonvoluntary)}."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue  # the thread ended
        out[tid] = (fields["Name"].strip(), int(fields["voluntary_ctxt_switches"]),
                    int(fields["nonvoluntary_ctxt_switches"]))
    return out


def loadavg():
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def measure(daemon, seconds):
    """Wake-ups of a signed-in, settled daemon over `seconds`: a dict."""
    pid = daemon.processes[-1].pid
    load0 = loadavg()
    before = switches(pid)
    time.sleep(seconds)  # the measurement window itself: nothing to wait for
    after = switches(pid)
    per_thread = {}
    # threads alive at both ends: a GLib thread-pool worker ending after its idle time
    # wakes once to end, which is no timer
    for tid in before.keys() & after.keys():
        name, v, n = after[tid]
        t = per_thread.setdefault(name, {"voluntary": 0, "nonvoluntary": 0})
        t["voluntary"] += v - before[tid][1]
        t["nonvoluntary"] += n - before[tid][2]
    return {"seconds": seconds,
            "wakeups": sum(t["voluntary"] for t in per_thread.values()),
            "preemptions": sum(t["nonvoluntary"] for t in per_thread.values()),
            "threads": per_thread, "load_before": load0, "load_after": loadavg()}


def settle(daemon, quiet=2.0, timeout=60.0):
    """Until no D-Bus signal from sfbd for `quiet` seconds."""
    last = [time.monotonic()]
    sub = daemon.bus.signal_subscribe(B.BUS_NAME, None, None, None, None, 0,
                                      lambda *_: last.__setitem__(0, time.monotonic()))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and time.monotonic() - last[0] < quiet:
        daemon.pump()
        time.sleep(0.05)
    daemon.bus.signal_unsubscribe(sub)


def sign_in(daemon, sim):
    daemon.configure(sim)
    start = time.monotonic()
    daemon.call(B.ACCOUNT, "SignIn")
    daemon.wait_state("signed-in", start, timeout=120)
    settle(daemon)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--scenario", help="an sfbsim scenario file (default: sfbsim's own)")
    ap.add_argument("--format", choices=("markdown", "json"), default="markdown")
    ap.add_argument("--output")
    args = ap.parse_args()

    top = tempfile.mkdtemp(prefix="sfbd-bench-idle-")
    sim = B.Sim(top, os.path.abspath(args.scenario) if args.scenario else None)
    d = None
    status = 0
    try:
        d = B.Daemon(os.path.abspath(args.build), os.path.join(top, "home"), 1)
        sign_in(d, sim)
        sim.ctl.reset_counters()
        result = measure(d, args.seconds)
        # a failing Exchange is retried (30 s, doubling to 15 min): wake-ups; an absent one not
        result["exchange_state"] = d.get(EXCHANGE, "State")
        counters = sim.ctl.counters()
        result["sip_requests"] = sum(v for v in counters.get("requests", {}).values()
                                     if isinstance(v, int))
        keepalives = counters.get("keepalives", {})  # {"*": n}
        result["keepalives"] = sum(keepalives.values())
    except B.BenchError as e:
        result = {"error": str(e)}
        status = 1
    finally:
        if d is not None:
            d.stop()
        sim.stop()
    if args.format == "json":
        out = json.dumps(result, indent=2) + "\n"
    elif status:
        out = f"error: {result['error']}\n"
    else:
        out = (f"| measure | value |\n|---|---|\n"
               f"| idle window (s) | {result['seconds']:g} |\n"
               f"| wake-ups (voluntary switches, all threads) | {result['wakeups']} |\n"
               f"| preemptions (nonvoluntary, load-dependent) | {result['preemptions']} |\n"
               f"| SIP requests sent in the window | {result['sip_requests']} |\n"
               f"| keep-alives sent in the window | {result['keepalives']} |\n"
               f"| Exchange state at the end | {result['exchange_state']} |\n"
               f"| load before / after | {result['load_before']} / {result['load_after']} |\n"
               + "".join(f"| thread {k} | {v['voluntary']} |\n"
                         for k, v in sorted(result["threads"].items())))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(out)
    sys.stdout.write(out)
    return status


if __name__ == "__main__":
    sys.exit(main())
