#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd under valgrind: D-Bus method calls leave nothing behind.

Each call that sfbd answers later (SetAvailability, SetNote) holds its
GDBusMethodInvocation until the answer; a reference too many leaks one
invocation per call.  sfbd runs under valgrind's leak checker, is called N
times, is stopped, and valgrind may report no definitely lost record of
a block per call.  Skipped without valgrind, or when sfbd is built with ASan
(valgrind cannot run it).
"""

import os
import re
import shutil
import subprocess
import unittest

from sfbd_testcase import ACCOUNT, ERROR_PREFIX, PRESENCE, SfbdTestCase, dbus_error_name

from gi.repository import GLib

CALLS = 25
VALGRIND_TIMEOUT = 120  # seconds: sfbd starts and exits slowly under valgrind


def sanitized(path):
    with open(path, "rb") as binary:
        return b"__asan_init" in binary.read()


@unittest.skipIf(shutil.which("valgrind") is None, "valgrind is missing (Debian package valgrind)")
class InvocationLeakTest(SfbdTestCase):
    maxDiff = None
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        if sanitized(self.sfbd_path):
            self.skipTest("sfbd is built with a sanitizer: valgrind cannot run it")
        self.valgrind_log = os.path.join(self.tmp, "valgrind.log")
        self.log_paths.append(self.valgrind_log)
        log_path = os.path.join(self.tmp, "sfbd-1.log")
        self.log_paths.append(log_path)
        env = dict(self.env, G_SLICE="always-malloc", G_DEBUG="gc-friendly")
        with open(log_path, "w", encoding="utf-8") as log:
            self.daemon = subprocess.Popen(
                ["valgrind", "--leak-check=full", "--show-leak-kinds=definite",
                 "--num-callers=40", f"--log-file={self.valgrind_log}", self.sfbd_path],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.daemons.append(self.daemon)

        def owner():
            self.assertIsNone(self.daemon.poll(), "sfbd under valgrind exited at start")
            return self.name_owner()

        self.wait_for(owner, "sfbd under valgrind owning its name", VALGRIND_TIMEOUT, 0.1)

    def stop_daemon(self):
        self.daemon.terminate()
        try:
            self.assertEqual(self.daemon.wait(timeout=VALGRIND_TIMEOUT), 0)
        except subprocess.TimeoutExpired:
            self.fail("sfbd under valgrind did not exit after SIGTERM")
        with open(self.valgrind_log, encoding="utf-8", errors="replace") as log:
            return log.read()

    @staticmethod
    def definitely_lost(report):
        """The loss records ("N bytes in M blocks are definitely lost ..."
        with their stacks) of a valgrind report."""
        records = re.split(r"\n==\d+== \n", report)
        return [record for record in records if "definitely lost in loss record" in record]

    def call_error(self, method, argument):
        try:
            self.call(PRESENCE, method, (argument,), "(s)")
        except GLib.Error as error:
            return dbus_error_name(error)
        return None

    def test_answered_later_calls_leak_no_invocation(self):
        for i in range(CALLS):
            # signed out: sfbd answers NotSignedIn through the same async path
            self.assertEqual(self.call_error("SetAvailability", "busy"),
                             ERROR_PREFIX + "NotSignedIn")
            self.assertEqual(self.call_error("SetNote", f"note {i}"),
                             ERROR_PREFIX + "NotSignedIn")
        self.call(ACCOUNT, "GetSignInTrace")
        report = self.stop_daemon()
        self.assertIn("HEAP SUMMARY", report, "valgrind wrote no heap summary")
        # Debian's GLib has no symbols for valgrind to name, so a leak per
        # call is told by its count: a record of at least CALLS blocks.
        per_call = [record for record in self.definitely_lost(report)
                    if self.blocks(record) >= CALLS]
        self.assertEqual(per_call, [], "blocks definitely lost on every call:\n"
                         + "\n".join(per_call))

    @staticmethod
    def blocks(record):
        match = re.search(r"bytes in ([\d,]+) blocks are definitely lost", record)
        return int(match.group(1).replace(",", "")) if match else 0

if __name__ == "__main__":
    unittest.main(verbosity=2)
