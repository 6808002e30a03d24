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


if __name__ == "__main__":
    unittest.main()
