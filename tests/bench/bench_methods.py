#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Per-authentication-method sign-in benchmark (docs/architecture.md §8): sfbd against sfbsim.

  bench_methods.py --build DIR [--repeat N] [--delays 0,50] [--methods ntlm,kerberos,tls-dsk]
                   [--tls TLSv1_2|TLSv1_3] [--format markdown|json] [--output FILE] [--keep]

Runs itself inside build-aux/testnet (build-aux/run-bench --methods runs it).  One sfbsim;
for each one-way delay, each method (Account.Auth, with the registrars offering what
build-aux/run-demo offers for it: ntlm NTLM; kerberos NTLM+Kerberos with sfbsim's
krb5.conf as KRB5_CONFIG and a credential cache per state dir; tls-dsk TLS-DSK+NTLM) and
each repetition:

  first   a new sfbd with empty state (tls-dsk: provisions the certificate)
  later   a new sfbd on the state the first one left (tls-dsk: reuses the certificate)

It reports the median and spread of the wall time, sfbsim's counters per sign-in (as
bench_signin.py) and "RTT": the wall time above the 0 ms run divided by the round-trip time
sfbsim adds.  Measurements, never pass/fail: exits 1 only when a sign-in did not complete.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "integration"))

import sim_fixture  # noqa: E402  (the integration tests' sfbsim start-up)

sim_fixture.enter_testnet(__file__)
sys.path.insert(0, HERE)

import bench_signin as bs  # noqa: E402  (Sim, Daemon, counters, machine)

from gi.repository import GLib  # noqa: E402

SCHEMES = {
    "ntlm": ["NTLM"],
    "kerberos": ["NTLM", "Kerberos"],
    "tls-dsk": ["TLS-DSK", "NTLM"],
}
COUNTERS = ("dns", "http", "tcp", "tls_full", "tls_resumed", "register", "sip")


class MethodBench:
    def __init__(self, args, sim, top):
        self.args, self.sim, self.top = args, sim, top
        self.runs = 0

    def daemon(self, home):
        self.runs += 1
        os.environ["KRB5_CONFIG"] = self.sim.env.get("SFBSIM_KRB5_CONFIG", "")
        os.environ["KRB5CCNAME"] = "FILE:" + os.path.join(home, "krb5cc")
        return bs.Daemon(self.args.build, home, self.runs)

    def signin(self, d):
        self.sim.ctl.drop_connections()
        self.sim.ctl.reset_counters()
        start = time.monotonic()
        d.call(bs.ACCOUNT, "SignIn")
        end = d.wait_state("signed-in", start)
        method = d.get(bs.ACCOUNT, "AuthMethod")
        bs.settle(self.sim)
        counts = bs.counters_per_signin(self.sim.ctl.counters())
        counts["auth_method"] = method
        return end - start, counts

    def pair(self, method):
        """First sign-in with empty state, then a new sfbd on the kept state."""
        home = tempfile.mkdtemp(prefix=f"sfbd-{method}-", dir=self.top)
        d = self.daemon(home)
        try:
            d.configure(self.sim)
            d.call(bs.ACCOUNT, "Configure",
                   ({"Account.Auth": GLib.Variant("s", method)},), "(a{sv})")
            first = self.signin(d)
        finally:
            d.stop()
        d = self.daemon(home)
        try:
            later = self.signin(d)  # AutoSignIn is off
        finally:
            d.stop()
        return first, later

    def run(self):
        results = {}
        for delay in self.args.delays:
            self.sim.ctl.set_delay(ms=delay)
            self.sim.env["_delay"] = str(delay)
            for method in self.args.methods:
                self.sim.ctl.set_auth(schemes=SCHEMES[method])
                per = {"first": [], "later": []}
                for _ in range(self.args.repeat):
                    first, later = self.pair(method)
                    per["first"].append(first)
                    per["later"].append(later)
                results[(delay, method)] = per
        self.sim.ctl.set_delay(ms=0)
        self.sim.ctl.set_auth(schemes=["NTLM"])
        return results


def summarize(results):
    rows = []
    for (delay, method), per in results.items():
        for case, samples in per.items():
            times = [s for s, _ in samples]
            median = statistics.median(times)
            counts = [c for _, c in samples]
            row = {"delay_ms": delay, "method": method, "case": case, "n": len(times),
                   "median_ms": round(median * 1000, 1),
                   "min_ms": round(min(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1),
                   "auth_methods": sorted({c["auth_method"] for c in counts})}
            for key in COUNTERS:
                row[key] = statistics.median(c[key] for c in counts)
            base = results.get((0, method), {}).get(case)
            if delay > 0 and base:
                row["rtt"] = round((median - statistics.median(s for s, _ in base))
                                   / (delay / 1000.0), 1)
            rows.append(row)
    return rows


def markdown(rows, args):
    head = ("| delay | method | case | n | median ms | spread ms | RTT | DNS | HTTP | TCP "
            "| TLS full/resumed | REGISTER | SIP requests | AuthMethod |")
    out = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        out.append(
            f"| {r['delay_ms']} ms | {r['method']} | {r['case']} | {r['n']} | {r['median_ms']} "
            f"| {r['min_ms']}–{r['max_ms']} | {bs.fmt(r.get('rtt', '–'))} "
            f"| {bs.fmt(r['dns'])} | {bs.fmt(r['http'])} | {bs.fmt(r['tcp'])} "
            f"| {bs.fmt(r['tls_full'])}/{bs.fmt(r['tls_resumed'])} | {bs.fmt(r['register'])} "
            f"| {bs.fmt(r['sip'])} | {', '.join(r['auth_methods'])} |")
    out.append("")
    out.append(f"sfbsim maximum TLS {args.tls}; repetitions: {args.repeat}.")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="meson build directory with daemon/sfbd")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--delays", default="0,50", help="one-way delays in ms (default 0,50)")
    ap.add_argument("--methods", default="ntlm,kerberos,tls-dsk",
                    help="Account.Auth values (default ntlm,kerberos,tls-dsk)")
    ap.add_argument("--tls", default="TLSv1_2", choices=("TLSv1_2", "TLSv1_3"))
    ap.add_argument("--format", default="markdown", choices=("markdown", "json"))
    ap.add_argument("--output", help="write the table here too")
    ap.add_argument("--keep", action="store_true", help="keep logs and state (printed)")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.delays = [int(x) for x in args.delays.split(",") if x != ""]
    if 0 not in args.delays:
        args.delays.insert(0, 0)
    args.methods = [m for m in args.methods.split(",") if m]
    for m in args.methods:
        if m not in SCHEMES:
            ap.error(f"unknown method {m} (one of {', '.join(SCHEMES)})")
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    if not os.access(os.path.join(args.build, "daemon", "sfbd"), os.X_OK):
        ap.error(f"no daemon/sfbd in {args.build}")

    top = tempfile.mkdtemp(prefix="sfbd-bench-methods-")
    sim = None
    status = 0
    try:
        sim = bs.Sim(top)
        sim.ctl.set_tls_version(maximum=args.tls)
        rows = summarize(MethodBench(args, sim, top).run())
        text = (json.dumps({"machine": bs.machine(), "rows": rows}, indent=2) + "\n"
                if args.format == "json" else markdown(rows, args))
        sys.stdout.write(text)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        print(f"machine: {bs.machine()}", file=sys.stderr)
    except bs.BenchError as e:
        print(f"bench_methods: {e} (logs in {top})", file=sys.stderr)
        args.keep = True
        status = 1
    finally:
        if sim is not None:
            sim.stop()
        if args.keep:
            print(f"bench_methods: logs and state in {top}", file=sys.stderr)
        else:
            shutil.rmtree(top, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
