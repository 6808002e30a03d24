# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bash completion of sfbctl, run the way bash runs it: COMP_WORDS and
COMP_CWORD set, then _sfbctl, then COMPREPLY."""

import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import unittest

from sfbd_testcase import required_path


class CompletionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.script = required_path("SFBCTL_COMPLETION")
        cls.bash = shutil.which("bash")
        if cls.bash is None:
            raise RuntimeError("bash is missing")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sfbctl-completion-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        # a stand-in sfbctl on PATH: what a running sfbd would list
        fake = os.path.join(self.tmp, "sfbctl")
        with open(fake, "w", encoding="utf-8") as script:
            script.write('#!/bin/sh\n[ "$*" = "--json --timeout 2 devices list" ] || exit 3\n'
                         'echo \'[{"Id": 31, "Name": "test-sink", "Kind": "audio-output"},\'\n'
                         'echo \' {"Id": 32, "Name": "test-mic", "Kind": "audio-input"}]\'\n')
        os.chmod(fake, stat.S_IRWXU)

    def complete(self, line):
        """The completions bash offers for line (the cursor at its end)."""
        words = line.split(" ")
        quoted = " ".join(shlex.quote(word) for word in words)
        program = (f"source {shlex.quote(self.script)}\n"
                   f"COMP_WORDS=({quoted})\n"
                   f"COMP_CWORD={len(words) - 1}\n"
                   f"COMP_LINE={shlex.quote(line)}\nCOMP_POINT={len(line)}\n"
                   "_sfbctl sfbctl\n"
                   "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
        env = dict(os.environ, PATH=self.tmp + os.pathsep + os.environ.get("PATH", ""))
        result = subprocess.run([self.bash, "--norc", "--noprofile", "-c", program],
                                env=env, capture_output=True, text=True, timeout=30,
                                check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        return sorted(filter(None, result.stdout.split("\n")))

    def test_commands(self):
        self.assertEqual(self.complete("sfbctl "),
                         sorted(["status", "sign-in", "sign-out", "set-password", "config",
                                 "presence", "contacts", "dialplan", "policies", "devices",
                                 "exchange", "message", "messages", "monitor", "trace",
                                 "diagnose"]))
        self.assertEqual(self.complete("sfbctl si"), ["sign-in", "sign-out"])
        self.assertEqual(self.complete("sfbctl --json dev"), ["devices"])
        self.assertEqual(self.complete("sfbctl --"),
                         ["--help", "--json", "--timeout", "--version"])
        self.assertEqual(self.complete("sfbctl --timeout "), [])
        self.assertEqual(self.complete("sfbctl --timeout 5 sta"), ["status"])
        self.assertEqual(self.complete("sfbctl --timeout 5 devices select audio-output test-"),
                         ["test-mic", "test-sink"])

    def test_subcommands(self):
        self.assertEqual(self.complete("sfbctl devices "), ["list", "select"])
        self.assertEqual(self.complete("sfbctl presence "), ["get", "note", "set", "show"])
        self.assertEqual(self.complete("sfbctl exchange "), ["refresh", "show"])
        self.assertEqual(self.complete("sfbctl message "), ["send"])
        self.assertEqual(self.complete("sfbctl config s"), ["set", "show"])
        self.assertEqual(self.complete("sfbctl set-password --"), ["--help", "--no-store",
                                                                     "--stdin"])
        self.assertEqual(self.complete("sfbctl diagnose --"),
                         ["--domain", "--help", "--sign-in", "--timeout"])
        self.assertEqual(self.complete("sfbctl diagnose --domain "), [])

    def test_device_kinds_and_names(self):
        self.assertEqual(self.complete("sfbctl devices select "),
                         ["audio-input", "audio-output", "video-input"])
        self.assertEqual(self.complete("sfbctl devices select audio-"),
                         ["audio-input", "audio-output"])
        self.assertEqual(self.complete("sfbctl --json devices select audio-output test-"),
                         ["test-mic", "test-sink"])

    def test_availability_values(self):
        self.assertEqual(self.complete("sfbctl presence set "),
                         sorted(["online", "busy", "do-not-disturb", "be-right-back", "away",
                                 "off-work", "appear-offline"]))
        self.assertEqual(self.complete("sfbctl presence set b"), ["be-right-back", "busy"])

    def test_config_keys_and_values(self):
        self.assertIn("Secrets.Store", self.complete("sfbctl config set "))
        self.assertEqual(self.complete("sfbctl config set Secrets.Store "),
                         ["auto", "file", "secret-service"])
        self.assertEqual(self.complete("sfbctl config set Account.Auth k"), ["kerberos"])

    def test_installed_by_name(self):
        # bash-completion loads completions/<command> on demand
        self.assertEqual(os.path.basename(self.script), "sfbctl")
        with open(self.script, encoding="utf-8") as script:
            self.assertIn("complete -F _sfbctl sfbctl", script.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
