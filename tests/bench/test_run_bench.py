# SPDX-License-Identifier: LGPL-2.1-or-later
"""Smoke test of build-aux/run-bench: one repetition at 0 and 20 ms one-way delay.

Benchmarks are never pass/fail, so nothing here looks at a time: the test checks that
run-bench completes every case (each one ends signed-in, or run-bench exits 1) and prints its
Markdown table with a row per case and delay, and that the counts it reports are the ones a
user of the table relies on (an NTLM sign-in is three REGISTERs, six through the redirect).
"""

import os
import subprocess
import unittest

SOURCE_ROOT = os.environ.get("SFBD_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_BENCH = os.path.join(SOURCE_ROOT, "build-aux", "run-bench")
CASES = ["first", "presence", "restart", "reconnect", "server-drop", "network-back"]


class RunBenchTest(unittest.TestCase):
    def test_one_repetition_prints_the_table(self):
        env = dict(os.environ, SFBD_BENCH_NO_BUILD="1")
        self.assertIn("SFBD_BUILD_DIR", env, "run through meson test")
        result = subprocess.run([RUN_BENCH, "--repeat", "1", "--delays", "0,20"], env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=280)
        self.assertEqual(result.returncode, 0, result.stderr[-4000:])
        lines = result.stdout.splitlines()
        self.assertTrue(lines[0].startswith("| delay | case | n | median ms"), result.stdout)
        rows = {}
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        for line in lines[2:]:
            if not line.startswith("| "):
                break
            cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
            rows[(cells["delay"], cells["case"])] = cells
        for delay in ("0 ms", "20 ms"):
            for case in CASES:
                self.assertIn((delay, case), rows, result.stdout)
                row = rows[(delay, case)]
                self.assertEqual(row["n"], "1")
                # presence: the first sign-in's counts, timed to own presence published
                self.assertEqual(row["REGISTER"], "6" if case in ("first", "presence") else "3",
                                 row)
        self.assertNotEqual(rows[("20 ms", "first")]["RTT"], "–")
        self.assertIn("TLS negotiated: TLSv1.2", result.stdout)


    def test_sipe_side_by_side_prints_every_figure(self):
        """run-bench --sipe: one interleaved sfbd/SIPE run of every case, small and fast;
        every figure has a value for both clients and a ratio."""
        env = dict(os.environ, SFBD_BENCH_NO_BUILD="1")
        build = env["SFBD_BUILD_DIR"]
        env.setdefault("SFB_PURPLE_CHECK",
                       os.path.join(build, "tests", "purple", "sfb-purple-check"))
        result = subprocess.run([RUN_BENCH, "--sipe", "--repeat", "1", "--delay", "0",
                                 "--contacts", "50", "--idle-seconds", "1"], env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=280)
        self.assertEqual(result.returncode, 0, result.stdout[-2000:] + result.stderr[-4000:])
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0], "| figure | sfbd | SIPE | sfbd/SIPE |", result.stdout)
        rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]
                if line.startswith("| ")]
        figures = [r[0] for r in rows]
        for name in ("first sign-in by discovery: REGISTER 200", "explicit server: own presence",
                     "later sign-in: own presence", "storm of 50 presence updates: CPU",
                     "memory with 50 contacts: PSS", "idle wake-ups"):
            self.assertTrue(any(f.startswith(name) for f in figures), (name, figures))
        for row in rows:
            self.assertNotIn("–", row[1:3], row)  # both clients measured
        self.assertIn("load (1/5/15 min)", result.stdout)

    def test_contacts_by_client_prints_every_client(self):
        """run-bench --contacts: the ListContacts table by client kind has a row per kind,
        each of which got every contact (the C clients check each has nine keys); the
        storm's floor was measured."""
        env = dict(os.environ, SFBD_BENCH_NO_BUILD="1")
        result = subprocess.run([RUN_BENCH, "--contacts", "--contacts", "50", "--calls", "2"],
                                env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=280)
        self.assertEqual(result.returncode, 0, result.stdout[-2000:] + result.stderr[-4000:])
        lines = result.stdout.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("| client |"))
        rows = {}
        for line in lines[header + 2:]:
            if not line.startswith("| "):
                break
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells
        self.assertEqual(sorted(rows), sorted([
            "Python GDBus, reply not unpacked", "Python GDBus, reply unpacked",
            "C GDBus (g_dbus_connection_call_sync), every value read",
            "C sd-bus, every value read"]), result.stdout)
        for row in rows.values():
            self.assertEqual(row[-1], "50", row)
            self.assertNotIn("–", row, row)
        # the storm's floor ran over the storm's 50 records and was subtracted
        measures = dict(line.strip("|").split("|")[:2] for line in lines
                        if line.startswith("| storm "))
        measures = {k.strip(): v.strip() for k, v in measures.items()}
        floor = next(v for k, v in measures.items() if k.startswith("storm floor"))
        self.assertRegex(floor, r"^\d+\.\d \(50 × \d+, \d+\.\d\d ms apart; \d+ wake-ups\)$")
        self.assertRegex(measures["storm sfbd CPU above the floor (ms)"], r"^-?\d+\.\d$")


if __name__ == "__main__":
    unittest.main()
