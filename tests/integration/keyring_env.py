#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real Secret Service for the integration tests: gnome-keyring-daemon on the
test's own session bus, its default keyring unlocked with KEYRING_PASSWORD."""

import shutil
import subprocess

KEYRING_PASSWORD = "test-keyring-pw"


def require():
    """For setUpClass: a missing keyring is a failure, never a skip."""
    if shutil.which("gnome-keyring-daemon") is None:
        raise RuntimeError("gnome-keyring-daemon is missing (Debian package gnome-keyring)")


def start_for_test(testcase):
    """Starts the keyring with the test's environment; it is killed when the test is
    cleaned up.  The caller waits for its default collection (on the bus)."""
    keyring = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        env=testcase.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)

    def stop():
        if keyring.poll() is None:
            keyring.kill()
        keyring.wait()

    testcase.addCleanup(stop)
    keyring.stdin.write(KEYRING_PASSWORD.encode())
    keyring.stdin.close()
    return keyring
