#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""1,000-contact benchmark (docs/architecture.md §8): sfbd against sfbsim with a big contact list.

  bench_contacts.py --build DIR [--contacts N] [--calls 20] [--timeout 120] [--verbose]
                    [--no-clients] [--callgrind DIR] [--perf FILE] [--strace FILE]
                    [--pin same|apart] [--storm-interval MS] [--format markdown|json]
                    [--output FILE]
                    [--wrapper CMD] [--at-idle CMD] [--idle-only] [--system-trust]

Runs itself inside build-aux/testnet.  Writes a scenario (the default one with alice's
contact list extended to N contacts, default 1,000), starts sfbsim with it, signs alice in
with sfbd on a private dbus-daemon (as installed: without --verbose, whose SIP traces cost
about as much CPU as the rest of a presence storm) and measures:
  idle memory    VmRSS, Private_Dirty and PSS of sfbd once signed in and quiet, taken right
                 after the heap trim that follows its last burst: sfbd runs with
                 G_MESSAGES_DEBUG=sfbd-core, whose one debug message is "Heap trimmed"
                 (trimmed_figure(); no figure and exit 1 when it never settles)
  ListContacts   D-Bus round trip of Contacts.ListContacts(), median of --calls calls (the
                 reply not unpacked), and sfbd's CPU time per call; then sfbd's CPU time
                 for a call right after one contact's presence changed
  by client      then --calls rounds of one ListContacts call from each kind of client in
                 turn (the order rotating), each call's round trip and the CPU time it cost
                 sfbd, dbus-daemon and the client: Python GDBus (this process; the reply
                 not unpacked, then unpacked), C GDBus (g_dbus_connection_call_sync) and
                 sd-bus (tests/bench/listcontacts-*.c); the C clients walk every contact's
                 nine keys and values (--no-clients: skip)
  storm          one set_presences control request with one update per contact (all to
                 availability 9500); sfbd CPU time (run time of its threads, /proc/PID/task/*/schedstat) and
                 peak RSS (VmHWM, reset through clear_refs before the storm when allowed)
                 until every contact was seen in a PresencesChanged, or --timeout;
                 --storm-interval MS: sfbsim sends the updates MS apart (a slower server)
  storm floor    then the CPU time GLib's TLS stream alone takes to read as many records of
                 the storm's mean size on the wire, as far apart (tests/bench/tls_floor.py;
                 not under --callgrind, --perf, --strace or --wrapper): sfbd's figure minus
                 this one is what sfbd does with the messages
--system-trust: no TLS.CAFile, sfbsim's CA added to the system store instead
(sim_fixture.trust_through_system_store()): the deployment whose CA is installed system-wide.
Measurements, never pass/fail: exit 1 only when the sign-in did not complete.
"""

import argparse
import json
import os
import shlex
from signal import SIGINT
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SCENARIO = os.path.join(SOURCE_ROOT, "tests", "sfbsim", "scenarios", "default.toml")
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "integration"))

import sim_fixture  # noqa: E402  (the integration tests' sfbsim start-up)

sim_fixture.enter_testnet(__file__)
sys.path.insert(0, HERE)

from gi.repository import Gio  # noqa: E402

import bench_signin as B  # noqa: E402  (already inside testnet: no re-exec)
import tls_floor  # noqa: E402
from sim.control import SimControl  # noqa: E402

CONTACTS = "org.sfbd.Sfbd1.Contacts"
STORM_AVAILABILITY = 9500
PAGE = os.sysconf("SC_PAGE_SIZE")


def write_scenario(path, total):
    """default.toml plus generated [[contacts.alice]] up to `total` contacts; returns the
    URIs of all of alice's contacts."""
    with open(DEFAULT_SCENARIO, encoding="utf-8") as f:
        text = f.read()
    existing = [line.split('"')[1] for block in text.split("[[contacts.alice]]")[1:]
                for line in block.splitlines()[:2] if line.startswith("uri =")]
    extra = max(0, total - len(existing))
    uris = list(existing)
    parts = [text, "\n# bench_contacts.py: generated contacts\n"]
    for i in range(extra):
        uri = f"sip:bench{i:04d}@contoso.test"
        uris.append(uri)
        parts.append(f'[[contacts.alice]]\nuri = "{uri}"\nname = "Bench Contact {i:04d}"\n'
                     f'groups = [{2 + i % 3}]\nemail = "bench{i:04d}@contoso.test"\n'
                     f'title = "Tester"\navailability = 3500\n\n')
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(parts))
    return uris


class Done(Exception):
    """--idle-only: the idle memory measured, nothing more to do"""


class Sim(B.Sim):
    def __init__(self, top, scenario):  # B.Sim with --scenario; set_presences takes long
        super().__init__(top, scenario, control_timeout=300)


def status(pid, key):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return None


def smaps_rollup(pid, file_dirty=False):
    """Private_Dirty and Pss of pid (kB), from /proc/PID/smaps_rollup, and with file_dirty
    the part of Private_Dirty that is not anonymous (file_dirty_kb).  With
    SFBD_BENCH_SMAPS_DIR set, /proc/PID/smaps is copied there too (PID-N.smaps; the directory
    is made if missing), for
    tests/bench/smaps_by_mapping.py."""
    out = {}
    keep = os.environ.get("SFBD_BENCH_SMAPS_DIR")
    if keep:
        with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as f:
            text = f.read()
        os.makedirs(keep, exist_ok=True)
        n = len([x for x in os.listdir(keep) if x.startswith(f"{pid}-")])
        with open(os.path.join(keep, f"{pid}-{n}.smaps"), "w", encoding="utf-8") as f:
            f.write(text)
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Pss", "Private_Dirty", "Anonymous"):
                out[key.lower() + "_kb"] = int(rest.split()[0])
    # what is dirty but not anonymous: pages of mapped files not yet written back (a
    # binary or library just written), not sfbd's own memory
    anonymous = out.pop("anonymous_kb")
    if file_dirty:
        out["file_dirty_kb"] = out["private_dirty_kb"] - anonymous
    return out


FILE_DIRTY_NOTE_KB = 64  # ~4 kB when nothing sfbd maps was just written
TRIM_LINE = " sfbd-core DEBUG: Heap trimmed"  # daemon/core/sfb-memory.c, after malloc_trim()
TRIM_DELAY_S = 5.0    # SFB_MEMORY_TRIM_DELAY_S: a burst's trim comes this long after it
TRIM_MARGIN_S = 1.5   # for a loaded machine: timer slack, scheduling, the log poll


class NotSettled(B.BenchError):
    """sfbd never stayed quiet for TRIM_DELAY_S + TRIM_MARGIN_S after a heap trim"""


class Trims:
    """The "Heap trimmed" lines of a B.Daemon started with debug="sfbd-core" (the only
    debug message of that domain), read from its log as they come."""

    def __init__(self, daemon):
        self.path = daemon.log.name
        self.mark()

    def mark(self):
        """Count only the trims logged from now on."""
        self.offset = os.path.getsize(self.path)

    def new(self):
        """How many trims were logged since the last call (or mark())."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # complete lines only
        self.offset += end
        return sum(1 for line in data[:end].decode("utf-8", "replace").splitlines()
                   if line.endswith(TRIM_LINE))


def trimmed_figure(daemon, trims, measure, timeout=120.0):
    """measure() taken right after the heap trim that follows sfbd's last burst, and
    {"trims": trims seen, "retakes": figures thrown away}.  Every burst arms a trim
    TRIM_DELAY_S after it (daemon/core/sfb-memory.h): the figure is taken as soon as a
    trim is logged after trims.mark(); if another trim is logged within TRIM_DELAY_S +
    TRIM_MARGIN_S after the figure, a burst came before the figure (or while it was taken)
    and it is taken again after that trim.  Raises NotSettled when no figure held by
    `timeout` (the trim never ran, or sfbd never went quiet)."""
    deadline = time.monotonic() + timeout
    seen = 0
    retakes = 0
    figure = None
    quiet_until = None
    while time.monotonic() < deadline:
        daemon.pump()
        trimmed = trims.new()
        seen += trimmed
        if trimmed and figure is not None:
            retakes += 1
        if trimmed:
            figure = measure()
            quiet_until = time.monotonic() + TRIM_DELAY_S + TRIM_MARGIN_S
        elif figure is not None and time.monotonic() >= quiet_until:
            return figure, {"trims": seen, "retakes": retakes}
        time.sleep(0.02)
    if figure is None:
        raise NotSettled(f"no heap trim logged within {timeout:.0f} s of sfbd's last burst "
                         "(\"Heap trimmed\" never came): not measured")
    raise NotSettled(f"sfbd never stayed quiet {TRIM_DELAY_S + TRIM_MARGIN_S:.1f} s after a "
                     f"heap trim within {timeout:.0f} s ({seen} trims): not measured")


def cpu_seconds(pid):
    """CPU time of all of pid's threads: the run time of /proc/PID/task/*/schedstat, in ns
    (utime+stime of /proc/PID/stat count in 10-ms ticks).  Threads that ended are not in
    it: sfbd's are its main thread, GDBus's and GLib's, which live as long as it."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def thread_stats(pid):
    """Per thread of pid (by name and id): run time (ns), context switches (voluntary,
    involuntary) and CPU migrations, from /proc/PID/task/*/{schedstat,status,sched}."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(base + "/schedstat", encoding="ascii") as f:
                run = int(f.read().split()[0])
            with open(base + "/comm", encoding="utf-8") as f:
                comm = f.read().strip()
            sw = {}
            with open(base + "/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        k, v = line.split(":")
                        sw[k] = int(v)
            mig = 0
            with open(base + "/sched", encoding="ascii") as f:
                for line in f:
                    if line.startswith("se.nr_migrations"):
                        mig = int(line.split(":")[1])
        except (OSError, ValueError, IndexError):
            continue
        out[f"{comm}/{tid}"] = (run, sw.get("voluntary_ctxt_switches", 0),
                                sw.get("nonvoluntary_ctxt_switches", 0), mig)
    return out


def thread_delta(before, after):
    """thread -> [CPU ms, voluntary, involuntary switches, migrations] between two
    thread_stats(), threads with any CPU time only."""
    out = {}
    for k, a in after.items():
        b = before.get(k, (0, 0, 0, 0))
        d = [(a[0] - b[0]) / 1e6, a[1] - b[1], a[2] - b[2], a[3] - b[3]]
        if d[0] > 0:
            out[k] = [round(d[0], 2)] + d[1:]
    return out


def pin(pid, cpu):
    """Every thread of pid to CPU cpu (sched_setaffinity per thread)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except OSError:
            pass


def minor_faults(pid):
    """Minor page faults of pid so far, all threads (/proc/PID/stat field 10)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def callgrind_control(pid, command):
    subprocess.run(["callgrind_control", command, str(pid)], check=True,
                   stdout=subprocess.DEVNULL)


class CClient:
    """A ListContacts client program (tests/bench/listcontacts-*.c) on the bench's bus: one
    call per call(), which returns (round trip ms, client CPU ms, contacts)."""

    def __init__(self, program, address):
        self.process = subprocess.Popen([program, address], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def call(self):
        self.process.stdin.write("1\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise B.BenchError(f"{self.process.args[0]} ended: {self.process.wait()}")
        wall_ns, cpu_ns, contacts, _values = (int(x) for x in line.split())
        return wall_ns / 1e6, cpu_ns / 1e6, contacts

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


CLIENT_KINDS = (  # (key, what the table calls it)
    ("python", "Python GDBus, reply not unpacked"),
    ("python_unpack", "Python GDBus, reply unpacked"),
    ("c_gdbus", "C GDBus (g_dbus_connection_call_sync), every value read"),
    ("sdbus", "C sd-bus, every value read"),
)


def list_contacts(d):
    """ListContacts, the reply not unpacked."""
    return d.bus.call_sync(B.BUS_NAME, B.OBJECT_PATH, CONTACTS, "ListContacts", None, None,
                           Gio.DBusCallFlags.NONE, 30000, None)


def after_a_change(d, sim, args, pid, uris, signals):
    """ListContacts right after one contact's presence changed (its PresencesChanged
    received), --calls times (at most 10), a call before each change so that the reply is
    kept: sfbd's CPU time for the call after the change, and with --callgrind its
    instructions (a dump per call, listcontacts-changed)."""
    ctl = SimControl(sim.workdir)
    cpu = []
    for k in range(min(args.calls, 10)):
        uri = uris[-1 - k]
        availability = 6500 if signals.get(uri, (0, {}))[1].get("AvailabilityCode") != 6500 \
            else 3500
        list_contacts(d)
        ctl.set_presence(user=uri, availability=availability)

        def seen():
            d.pump()
            return signals.get(uri, (0, {}))[1].get("AvailabilityCode") == availability
        B.wait_until(seen, f"PresencesChanged for {uri}", timeout=30, step=0.002)
        if args.callgrind:
            callgrind_control(pid, "--zero")
        cpu0 = cpu_seconds(pid)
        list_contacts(d)
        cpu.append((cpu_seconds(pid) - cpu0) * 1000)
        if args.callgrind:
            callgrind_control(pid, "--dump=listcontacts-changed")
    return {"listcontacts_changed_sfbd_cpu_ms": statistics.median(cpu) if cpu else None}


def by_client(d, args, pid, bus_pid):
    """--calls rounds of one ListContacts per client kind, the order rotating each round so
    that none always follows another; per call the round trip and the CPU time of sfbd,
    dbus-daemon and the client (schedstat for the first two, the client's own process CPU
    clock).  The reply stays kept all along (calls less than 2 s apart): every call here
    reuses it."""
    address = "unix:path=" + d.bus_path
    programs = {"c_gdbus": "listcontacts-gdbus", "sdbus": "listcontacts-sdbus"}
    clients = {k: CClient(os.path.join(args.build, "tests", "bench", p), address)
               for k, p in programs.items()}

    def python_call(unpack):
        t0, c0 = time.perf_counter(), time.process_time()
        reply = d.bus.call_sync(B.BUS_NAME, B.OBJECT_PATH, CONTACTS, "ListContacts", None,
                                None, Gio.DBusCallFlags.NONE, 30000, None)
        n = len(reply.unpack()[0]) if unpack else reply.get_child_value(0).n_children()
        del reply
        return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000, n

    calls = {"python": lambda: python_call(False), "python_unpack": lambda: python_call(True)}
    calls.update({k: c.call for k, c in clients.items()})
    samples = {k: [] for k, _ in CLIENT_KINDS}
    load = [open("/proc/loadavg", encoding="ascii").read().split()[:3]]
    try:
        for k in calls:  # each connected and warm
            calls[k]()
        kinds = [k for k, _ in CLIENT_KINDS]
        for r in range(args.calls):
            for k in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
                sfbd0, bus0, faults0 = cpu_seconds(pid), cpu_seconds(bus_pid), minor_faults(pid)
                wall, client_cpu, n = calls[k]()
                samples[k].append((wall, client_cpu, (cpu_seconds(pid) - sfbd0) * 1000,
                                   (cpu_seconds(bus_pid) - bus0) * 1000, n,
                                   minor_faults(pid) - faults0))
    finally:
        for c in clients.values():
            c.close()
    load.append(open("/proc/loadavg", encoding="ascii").read().split()[:3])
    out = {"load": load}
    for k, _ in CLIENT_KINDS:
        s = samples[k]
        out[k] = {"calls": len(s), "contacts": s[-1][4] if s else None,
                  "ms_median": statistics.median(x[0] for x in s),
                  "ms_min": min(x[0] for x in s),
                  "client_cpu_ms": statistics.median(x[1] for x in s),
                  "sfbd_cpu_ms": statistics.median(x[2] for x in s),
                  "bus_cpu_ms": statistics.median(x[3] for x in s),
                  "sfbd_minor_faults": statistics.median(x[5] for x in s)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--contacts", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--format", choices=("markdown", "json"), default="markdown")
    ap.add_argument("--output")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-clients", action="store_true",
                    help="skip the ListContacts comparison by client kind")
    ap.add_argument("--verbose", action="store_true",
                    help="run sfbd --verbose (SIP traces: slower); default as installed")
    ap.add_argument("--callgrind", metavar="DIR",
                    help="run sfbd under valgrind's callgrind and dump, into DIR, the "
                    "instructions of the first ListContacts call (listcontacts-first), of "
                    "the other --calls - 1 (listcontacts) and of the storm alone (storm), "
                    "counters zeroed before each; CPU figures are then valgrind's, not sfbd's")
    ap.add_argument("--wrapper", metavar="CMD",
                    help="run sfbd under CMD (split like a shell would), e.g. `valgrind "
                    "--tool=massif --vgdb=yes`; G_SLICE=always-malloc is set for it, as for "
                    "--callgrind")
    ap.add_argument("--at-idle", metavar="CMD",
                    help="run the shell command CMD, with SFBD_PID set to sfbd's process id, "
                    "at the moment the idle memory is measured (signed in, settled, the heap "
                    "trimmed; again if the figure is taken again after a late burst), e.g. to read malloc_info() through gdb or take a massif snapshot")
    ap.add_argument("--system-trust", action="store_true",
                    help="no TLS.CAFile: sfbsim's CA is in the system store (the bundle "
                    "bind-mounted over in testnet's namespace), the deployment without CAFile")
    ap.add_argument("--idle-only", action="store_true",
                    help="stop after the idle memory: no ListContacts, no storm")
    ap.add_argument("--perf", metavar="FILE",
                    help="sample sfbd's threads (user and kernel) with `perf record -e "
                    "cpu-clock` through the storm into FILE")
    ap.add_argument("--storm-interval", type=float, metavar="MS",
                    help="sfbsim sends the storm's updates MS apart (default: as fast as it "
                    "goes, ~0.6-0.7 ms here)")
    ap.add_argument("--pin", choices=("same", "apart"),
                    help="for the storm, pin sfbd and sfbsim to one CPU (same) or to "
                    "CPUs 0 and 1 (apart), to see what their placement costs sfbd")
    ap.add_argument("--strace", metavar="FILE",
                    help="count sfbd's system calls (all threads) through the storm with "
                    "`strace -f -c` into FILE; CPU figures then include strace's cost")
    args = ap.parse_args()

    top = tempfile.mkdtemp(prefix="sfbd-bench-contacts-")
    scenario = os.path.join(top, "contacts.toml")
    uris = write_scenario(scenario, args.contacts)
    sim = Sim(top, scenario)
    if args.system_trust:
        sim_fixture.trust_through_system_store()
    signals = {}   # uri -> (monotonic, presence dict)
    result = {"contacts": len(uris), "system_trust": args.system_trust}
    d = None
    try:
        wrapper = ()
        if args.callgrind:
            os.makedirs(args.callgrind, exist_ok=True)
            # sfbd does not re-execute itself with G_SLICE=always-malloc under valgrind
            # (daemon/main.c): given here, so that it allocates as it does when installed
            wrapper = ("env", "G_SLICE=always-malloc",
                       "valgrind", "--tool=callgrind", "--separate-threads=no",
                       "--callgrind-out-file=" + os.path.join(os.path.abspath(args.callgrind),
                                                              "callgrind.out.%p"))
        elif args.wrapper:
            wrapper = ("env", "G_SLICE=always-malloc") + tuple(shlex.split(args.wrapper))
        d = B.Daemon(args.build, os.path.join(top, "home"), 1, verbose=args.verbose,
                     wrapper=wrapper, debug="sfbd-core")
        trims = Trims(d)
        pid = d.processes[-1].pid
        last = [time.monotonic()]

        batches = [0]

        def on_presence(bus, sender, path, iface, signal, params):
            now = time.monotonic()
            last[0] = now
            batches[0] += 1
            for uri, presence in params.unpack()[0].items():
                signals[uri] = (now, presence)

        def on_any(*_):
            last[0] = time.monotonic()

        d.bus.signal_subscribe(B.BUS_NAME, B.PRESENCE, "PresencesChanged", B.OBJECT_PATH,
                               None, Gio.DBusSignalFlags.NONE, on_presence)
        d.bus.signal_subscribe(B.BUS_NAME, None, None, None, None,
                               Gio.DBusSignalFlags.NONE, on_any)
        d.configure(sim, ca_file=not args.system_trust)
        start = time.monotonic()
        d.call(B.ACCOUNT, "SignIn")
        signed_in = d.wait_state("signed-in", start, timeout=120)
        result["signin_ms"] = (signed_in - start) * 1000

        # settled: the contact list is there and no signal for 2 s
        def listed():
            d.pump()
            return len(d.call(CONTACTS, "ListContacts")[0]) >= len(uris)
        try:
            B.wait_until(listed, "ListContacts returning every contact", timeout=60, step=0.2)
        except B.BenchError as e:
            result["note"] = str(e)
        trims.mark()  # the trims after the last ListContacts call (each one arms one)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and time.monotonic() - last[0] < 2.0:
            d.pump()
            time.sleep(0.05)
        result["settle_s"] = time.monotonic() - start
        result["presence_signals_at_signin"] = len(signals)

        # right after the heap trim that follows the last burst, known from sfbd's log
        def idle_memory():
            figure = dict(smaps_rollup(pid, file_dirty=True), idle_rss_kb=status(pid, "VmRSS"),
                          signin_hwm_kb=status(pid, "VmHWM"))
            if args.at_idle:
                subprocess.run(args.at_idle, shell=True, check=False,
                               env=dict(os.environ, SFBD_PID=str(pid)))
            return figure
        try:
            figure, how = trimmed_figure(d, trims, idle_memory)
            result.update(figure)
            result["idle_trim"] = how
        except NotSettled as e:
            result["idle_error"] = str(e)
        if args.idle_only:
            result["load"] = open("/proc/loadavg", encoding="ascii").read().split()[:3]
            raise Done()

        # the round trip without unpacking the reply in Python (that is the client's
        # time, several times sfbd's); sfbd's own CPU time per call from schedstat
        times = []
        count = None
        bus_pid = d.processes[0].pid
        if args.callgrind:  # per call: the first (the reply built: the kept one was dropped
            callgrind_control(pid, "--zero")  # 2 s after the last settling call) and the others
        cpu_before = cpu_seconds(pid)
        bus_before = cpu_seconds(bus_pid)
        own_before = cpu_seconds(os.getpid())
        for i in range(args.calls):
            t0 = time.perf_counter()
            reply = d.bus.call_sync(B.BUS_NAME, B.OBJECT_PATH, CONTACTS, "ListContacts", None,
                                    None, Gio.DBusCallFlags.NONE, 30000, None)
            times.append((time.perf_counter() - t0) * 1000)
            count = reply.get_child_value(0).n_children()
            if i == 0:  # sfbd builds the reply (it keeps it 2 s: the others reuse it)
                result["listcontacts_first_sfbd_cpu_ms"] = (cpu_seconds(pid) - cpu_before) * 1000
                if args.callgrind:
                    callgrind_control(pid, "--dump=listcontacts-first")
        if args.callgrind:
            callgrind_control(pid, "--dump=listcontacts")
        result["listcontacts_sfbd_cpu_ms"] = (cpu_seconds(pid) - cpu_before) * 1000 / args.calls
        # the other two parties of the round trip: dbus-daemon (validation, copy) and this
        # client (GDBus reading and parsing the reply in its worker thread; Python's own
        # share is small: the reply is not unpacked)
        result["listcontacts_bus_cpu_ms"] = (cpu_seconds(bus_pid) - bus_before) * 1000 / args.calls
        result["listcontacts_client_cpu_ms"] = ((cpu_seconds(os.getpid()) - own_before) * 1000
                                                / args.calls)
        result["listcontacts_reply_bytes"] = reply.get_size()
        result["listcontacts_returned"] = count
        result["listcontacts_ms_median"] = statistics.median(times)
        result["listcontacts_first_ms"] = times[0]
        result["listcontacts_ms_min"] = min(times)
        result["listcontacts_ms_max"] = max(times)
        result.update(after_a_change(d, sim, args, pid, uris, signals))
        if not args.no_clients:
            result["by_client"] = by_client(d, args, pid, bus_pid)

        # the storm
        try:
            with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
                f.write("5")  # resets VmHWM to the current RSS
            result["hwm_reset"] = True
        except OSError:
            result["hwm_reset"] = False
        signals.clear()
        d.pump()
        signals.clear()
        batches[0] = 0
        updates = [{"user": u, "availability": STORM_AVAILABILITY} for u in uris]
        reply = {}

        def storm():
            try:
                pace = {"interval_ms": args.storm_interval} if args.storm_interval else {}
                reply["result"] = SimControl(sim.workdir, timeout=300).set_presences(
                    updates=updates, **pace)
            except Exception as e:  # noqa: BLE001  reported, not fatal
                reply["error"] = repr(e)

        if args.callgrind:
            callgrind_control(pid, "--zero")
        perf = None
        if args.perf:
            perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "10000",
                                     "-g", "-p", str(pid), "-o", args.perf],
                                    stdout=subprocess.DEVNULL)
            time.sleep(1.0)  # perf attaches to every thread
        tracer = None
        if args.strace:
            tracer = subprocess.Popen(["strace", "-f", "-c", "-p", str(pid), "-o", args.strace],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # strace attaches to every thread
        if args.pin:
            sim_pid = sim_fixture.SIM["process"].pid
            pin(pid, 0)
            pin(sim_pid, 0 if args.pin == "same" else 1)
            time.sleep(0.2)
        threads0 = thread_stats(pid)
        received0 = tls_floor.tcp_bytes_received(pid)
        cpu0 = cpu_seconds(pid)
        t0 = time.monotonic()
        th = threading.Thread(target=storm)
        th.start()

        def done():
            return sum(1 for u in uris if u in signals
                       and signals[u][1].get("AvailabilityCode") == STORM_AVAILABILITY)
        deadline = t0 + args.timeout
        while time.monotonic() < deadline:
            d.pump()
            if done() >= len(uris):
                break
            time.sleep(0.002)
        t1 = time.monotonic()
        cpu1 = cpu_seconds(pid)
        result["storm_bytes"] = tls_floor.tcp_bytes_received(pid) - received0
        result["storm_threads"] = thread_delta(threads0, thread_stats(pid))
        if perf is not None:
            perf.send_signal(SIGINT)
            perf.wait(timeout=30)
        if tracer is not None:
            tracer.send_signal(SIGINT)
            tracer.wait(timeout=30)
        if args.callgrind:
            callgrind_control(pid, "--dump=storm")
        result["storm_hwm_kb"] = status(pid, "VmHWM")
        result["storm_rss_after_kb"] = status(pid, "VmRSS")
        th.join(timeout=args.timeout)
        result["storm_control"] = reply
        result["storm_updates"] = len(updates)
        result["storm_signals"] = done()
        result["storm_signals_any"] = len(signals)
        result["storm_dbus_signals"] = batches[0]
        result["load"] = open("/proc/loadavg", encoding="ascii").read().split()[:3]
        result["storm_wall_ms"] = (t1 - t0) * 1000
        result["storm_cpu_ms"] = (cpu1 - cpu0) * 1000
        result["storm_complete"] = done() >= len(uris)
        if result["storm_complete"] and not (args.callgrind or args.perf or args.strace
                                             or args.wrapper):
            result["storm_floor"] = tls_floor.measure(
                os.path.join(args.build, "tests", "bench", "tls-read-floor"), top,
                len(updates), max(1, result["storm_bytes"] // len(updates)),
                (t1 - t0) / len(updates))
        status_code = 0
    except Done:
        status_code = 0
    except B.BenchError as e:
        result["error"] = str(e)
        status_code = 1
    finally:
        if d is not None:
            d.stop()
        sim.stop()
    result["workdir"] = top
    if "idle_error" in result:
        status_code = 1  # the rest was measured, the idle memory was not

    if args.format == "json":
        out = json.dumps(result, indent=2) + "\n"
    else:
        r = result
        rows = [("contacts", r.get("contacts")),
                ("sign-in (ms)", fmt(r.get("signin_ms"))),
                ("idle RSS (kB, VmRSS signed in, settled)", kb(r.get("idle_rss_kb"))),
                ("idle Private_Dirty (kB, smaps_rollup)", kb(r.get("private_dirty_kb"))),
                ("idle PSS (kB, smaps_rollup)", kb(r.get("pss_kb"))),
                ("peak RSS through sign-in (kB, VmHWM)", kb(r.get("signin_hwm_kb"))),
                (f"ListContacts median of {args.calls} (ms)", fmt(r.get("listcontacts_ms_median"))),
                ("ListContacts min–max (ms)", f"{fmt(r.get('listcontacts_ms_min'))}–"
                                              f"{fmt(r.get('listcontacts_ms_max'))}"),
                ("ListContacts sfbd CPU per call (ms)", fmt(r.get("listcontacts_sfbd_cpu_ms"))),
                ("ListContacts first call: round trip, sfbd CPU (ms)",
                 f"{fmt(r.get('listcontacts_first_ms'))}, "
                 f"{fmt(r.get('listcontacts_first_sfbd_cpu_ms'))}"),
                ("ListContacts right after one contact's presence changed: sfbd CPU "
                 "(ms, median)", fmt(r.get("listcontacts_changed_sfbd_cpu_ms"))),
                ("ListContacts dbus-daemon CPU per call (ms)",
                 fmt(r.get("listcontacts_bus_cpu_ms"))),
                ("ListContacts client CPU per call (ms)",
                 fmt(r.get("listcontacts_client_cpu_ms"))),
                ("ListContacts reply (bytes)", r.get("listcontacts_reply_bytes")),
                ("ListContacts entries", r.get("listcontacts_returned")),
                ("storm updates", r.get("storm_updates")),
                ("storm contacts seen with the new availability", r.get("storm_signals")),
                ("storm PresencesChanged D-Bus signals", r.get("storm_dbus_signals")),
                ("storm wall time (ms)", fmt(r.get("storm_wall_ms"))),
                ("storm sfbd CPU (ms, schedstat run time)", fmt(r.get("storm_cpu_ms"))),
                ("storm floor: the same records read by GLib's TLS stream alone (CPU ms; "
                 "records × bytes on the wire, ms apart; wake-ups)", floor_text(r)),
                ("storm sfbd CPU above the floor (ms)",
                 fmt(r["storm_cpu_ms"] - r["storm_floor"]["cpu_ms"])
                 if "cpu_ms" in (r.get("storm_floor") or {}) else "–"),
                ("storm by thread: CPU ms, voluntary and involuntary switches, migrations",
                 "; ".join(f"{k} {v[0]:.1f} {v[1]} {v[2]} {v[3]}"
                           for k, v in sorted((r.get("storm_threads") or {}).items()))),
                ("storm peak RSS (kB, VmHWM" + (" reset before" if r.get("hwm_reset") else "")
                 + ")", r.get("storm_hwm_kb")),
                ("RSS after storm (kB)", r.get("storm_rss_after_kb")),
                ("load (1/5/15 min)", " ".join(r.get("load") or []))]
        out = "| measure | value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
        if r.get("by_client"):
            bc = r["by_client"]
            out += (f"\nListContacts by client, {args.calls} interleaved rounds, medians per "
                    f"call (ms; load {' '.join(bc['load'][0])} before, "
                    f"{' '.join(bc['load'][1])} after):\n\n"
                    "| client | round trip median | min | client CPU | sfbd CPU "
                    "| dbus-daemon CPU | sfbd page faults | contacts |\n"
                    "|---|---|---|---|---|---|---|---|\n")
            for k, name in CLIENT_KINDS:
                c = bc[k]
                out += (f"| {name} | {fmt2(c['ms_median'])} | {fmt2(c['ms_min'])} "
                        f"| {fmt2(c['client_cpu_ms'])} | {fmt2(c['sfbd_cpu_ms'])} "
                        f"| {fmt2(c['bus_cpu_ms'])} | {c['sfbd_minor_faults']:.0f} "
                        f"| {c['contacts']} |\n")
        if r.get("idle_trim"):
            out += (f"\nidle memory taken right after sfbd's heap trim ({r['idle_trim']['trims']} "
                    f"trims seen, the figure retaken {r['idle_trim']['retakes']} times after a "
                    "later burst)\n")
        if r.get("file_dirty_kb", 0) > FILE_DIRTY_NOTE_KB:
            out += (f"\nnote: {r['file_dirty_kb']} kB of the idle Private_Dirty are pages of "
                    "mapped files not yet written back (a file sfbd maps was just written), "
                    "not sfbd's own memory\n")
        if "idle_error" in r:
            out += f"\nerror: idle memory: {r['idle_error']}\n"
        if "error" in r:
            out += f"\nerror: {r['error']}\n"
        if r.get("note"):
            out += f"\nnote: {r['note']}\n"
        if r.get("storm_control", {}).get("error"):
            out += f"\nstorm control: {r['storm_control']['error']}\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(out)
    sys.stdout.write(out)
    if not args.keep and status_code == 0:
        import shutil
        shutil.rmtree(top, ignore_errors=True)
    return status_code


def kb(x):
    return "–" if x is None else x


def floor_text(r):
    f = r.get("storm_floor")
    if not f:
        return "–"
    if "error" in f:
        return f"error: {f['error']}"
    return (f"{f['cpu_ms']:.1f} ({f['records']} × {f['size']}, {f['gap_ms']:.2f} ms apart; "
            f"{f['wakeups']} wake-ups)")


def fmt(x):
    return "–" if x is None else f"{x:.1f}"


def fmt2(x):
    return "–" if x is None else f"{x:.2f}"


if __name__ == "__main__":
    sys.exit(main())
