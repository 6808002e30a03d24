#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbctl against the real sfbd: output, --json, errors and exit codes."""

import json
import os
import re
import select
import shlex
import signal
import stat
import subprocess
import time
import unittest

from gi.repository import Gio, GLib

import sfbd_testcase
from sfbd_testcase import (ACCOUNT, BUS_NAME, ERROR_PREFIX, INTERFACE_PREFIX, PRESENCE, TIMEOUT,
                           SfbdTestCase, required_path)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_AVAILABLE = 0, 1, 2, 3


def read_until(stream, end, timeout=TIMEOUT):
    """Bytes of a pipe up to and including end (a prompt has no line end)."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(end):
        if not select.select([stream], [], [], max(0, deadline - time.monotonic()))[0]:
            raise AssertionError(f"no {end!r} within {timeout} s; got {data!r}")
        chunk = os.read(stream.fileno(), 1)
        if not chunk:
            raise AssertionError(f"output ended before {end!r}; got {data!r}")
        data += chunk
    return data


def property_names(interface):
    return list(sfbd_testcase.xml_interfaces()[INTERFACE_PREFIX + interface]["properties"])


class StatusTest(SfbdTestCase):
    def test_status_is_the_default_command(self):
        self.assertEqual(self.sfbctl().stdout, self.sfbctl("status").stdout)

    def test_status_text_has_aligned_key_value_lines(self):
        self.write_config("[Account]\nUri=sip:alice@contoso.test\n")
        self.stop_process(self.daemon)
        self.start_daemon()
        result = self.sfbctl("status")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)

        lines = result.stdout.splitlines()
        fields = dict(re.match(r"^([^:]+):\s+(.*)$", line).groups() for line in lines)
        self.assertEqual(fields["State"], "signed-out")
        self.assertEqual(fields["Account"], "sip:alice@contoso.test (login alice)")
        self.assertEqual(fields["Availability"], "offline")
        self.assertEqual(fields["Contacts"], "0")
        self.assertEqual(fields["Policy groups"], "0")
        for key in ("Server", "Auth", "Note", "Dial plan"):
            self.assertIn(key, fields)
        value_columns = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}
        self.assertEqual(len(value_columns), 1, f"values not aligned:\n{result.stdout}")

    def test_status_shows_the_last_error(self):
        self.sfbctl("config", "set", "Account.Uri", "sip:bob@contoso.test")
        self.sfbctl("config", "set", "Secrets.Store", "file")
        # nothing listens on this loopback port: the attempt fails (NotReachable) on loopback
        self.sfbctl("config", "set", "Account.Server", "127.0.0.1:9")
        self.sfbctl("set-password", "--stdin", stdin_text="secret\n")
        self.assertNotIn("Last error:", self.sfbctl("status").stdout)
        self.sfbctl("sign-in")
        last_error = self.wait_for(lambda: self.get_property(ACCOUNT, "LastError"),
                                   "a LastError from the failed sign-in")
        message = self.get_property(ACCOUNT, "LastErrorMessage")
        result = self.sfbctl("status")
        self.assertTrue(last_error, "the failed sign-in left no LastError")
        short_name = last_error.rsplit(".", 1)[1]
        self.assertRegex(result.stdout, r"Last error: +" + re.escape(f"{message} ({short_name})\n"))

    def test_status_json_has_every_property_under_its_dbus_name(self):
        status, data = self.sfbctl_json("status")
        self.assertEqual(status, EXIT_OK)
        self.assertEqual(data["State"], "signed-out")
        self.assertEqual(data["Presence"]["Availability"], "offline")
        for name in property_names("Account"):
            self.assertIn(name, data)
        for interface in ("Presence", "Contacts", "DialPlan", "Policies", "Devices", "Exchange"):
            with self.subTest(interface=interface):
                self.assertEqual(sorted(data[interface]), sorted(property_names(interface)))
        self.assertEqual(data["Version"], self.get_property(ACCOUNT, "Version"))

    def test_status_when_sfbd_is_not_running(self):
        self.stop_process(self.daemon)
        result = self.sfbctl("status")
        self.assertEqual(result.returncode, EXIT_NOT_AVAILABLE)
        self.assertIn("sfbd is not running", result.stderr)
        self.assertEqual(result.stdout, "")

        status, data = self.sfbctl_json("status")
        self.assertEqual(status, EXIT_NOT_AVAILABLE)
        self.assertEqual(data, {"Error": "org.freedesktop.DBus.Error.ServiceUnknown",
                                "Message": "sfbd is not running"})


class ExitCodeTest(SfbdTestCase):
    def test_usage_errors_exit_2(self):
        for args in (["no-such-command"], ["status", "extra"], ["status", "--no-such-option"],
                     ["presence", "set"], ["presence", "set", "grumpy"], ["config", "set", "Uri"],
                     ["config", "set", "Account.AutoSignIn", "sometimes"],
                     ["devices", "select", "speaker", "x"], ["set-password", "hunter2"]):
            with self.subTest(args=args):
                result = self.sfbctl(*args)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertRegex(result.stderr, r"^sfbctl")
                self.assertNotIn("hunter2", result.stdout + result.stderr)

    def test_usage_errors_quote_a_short_clean_prefix(self):
        for args in (["grumpy\x1b[31m" + "x" * 100000], ["presence", "set", "y" * 100000],
                     ["status", "extra\nline" * 10000]):
            with self.subTest(args=args[0][:10]):
                result = self.sfbctl(*args)
                self.assertEqual(result.returncode, EXIT_USAGE)
                self.assertLess(len(result.stderr), 400, result.stderr)
                self.assertIn("…", result.stderr)
                self.assertNotIn("\x1b", result.stderr)

    def test_usage_error_as_json(self):
        status, data = self.sfbctl_json("no-such-command")
        self.assertEqual(status, EXIT_USAGE)
        self.assertEqual(data["Error"], ERROR_PREFIX + "InvalidArgs")
        self.assertIn("no-such-command", data["Message"])

    def test_value_sfbd_rejects_exits_2(self):
        result = self.sfbctl("config", "set", "Account.Auth", "password-please")
        self.assertEqual(result.returncode, EXIT_USAGE)
        self.assertIn("Account.Auth", result.stderr)

    def test_not_signed_in_exits_3(self):
        result = self.sfbctl("presence", "set", "busy")
        self.assertEqual(result.returncode, EXIT_NOT_AVAILABLE)
        self.assertIn("sfbctl presence set:", result.stderr)
        self.assertIn("sign in", result.stderr.lower())

        status, data = self.sfbctl_json("presence", "note", "Back at 3")
        self.assertEqual(status, EXIT_NOT_AVAILABLE)
        self.assertEqual(data["Error"], ERROR_PREFIX + "NotSignedIn")
        self.assertTrue(data["Message"])

    def test_daemon_not_running_exits_3_for_every_command(self):
        self.stop_process(self.daemon)
        for args in (["sign-in"], ["presence"], ["contacts"], ["config", "show"], ["monitor"]):
            with self.subTest(args=args):
                status, data = self.sfbctl_json(*args)
                self.assertEqual(status, EXIT_NOT_AVAILABLE)
                self.assertIn(data["Error"], ("org.freedesktop.DBus.Error.ServiceUnknown",
                                              "org.freedesktop.DBus.Error.NameHasNoOwner"))

    def test_failures_exit_1_with_the_daemon_message(self):
        result = self.sfbctl("sign-in")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn("Account.Uri", result.stderr)

        status, data = self.sfbctl_json("sign-in")
        self.assertEqual(status, EXIT_FAILURE)
        self.assertEqual(data["Error"], ERROR_PREFIX + "NotConfigured")

        status, data = self.sfbctl_json("dialplan", "normalize", "1234")
        self.assertEqual(status, EXIT_FAILURE)
        self.assertEqual(data["Error"], ERROR_PREFIX + "NotFound")

    def test_help_and_version(self):
        result = self.sfbctl("--help")
        self.assertEqual(result.returncode, EXIT_OK)
        for command in ("status", "sign-in", "set-password", "config", "presence", "contacts",
                        "dialplan", "policies", "devices", "exchange", "monitor", "trace"):
            self.assertRegex(result.stdout, rf"(?m)^  {command}\b")
        result = self.sfbctl("--version")
        self.assertEqual(result.returncode, EXIT_OK)
        self.assertEqual(result.stdout, f"sfbctl {self.get_property(ACCOUNT, 'Version')}\n")


class ConfigTest(SfbdTestCase):
    def test_config_set_then_show(self):
        for key, value in (("Account.Uri", "dave@contoso.test"),
                           ("Account.Server", "pool.contoso.test:5061"),
                           ("Account.AutoSignIn", "false")):
            result = self.sfbctl("config", "set", key, value)
            self.assertEqual(result.returncode, EXIT_OK, result.stderr)

        result = self.sfbctl("config", "show")
        self.assertEqual(result.returncode, EXIT_OK)
        self.assertRegex(result.stdout, r"(?m)^Account\.Uri:\s+sip:dave@contoso\.test$")
        self.assertRegex(result.stdout, r"(?m)^Account\.Login:\s+dave\b")
        self.assertRegex(result.stdout, r"(?m)^Account\.Server:\s+pool\.contoso\.test:5061$")

        status, data = self.sfbctl_json("config", "show")
        self.assertEqual(status, EXIT_OK)
        self.assertEqual(data["Account.Uri"], "sip:dave@contoso.test")
        self.assertEqual(data["Account.Login"], "dave")
        self.assertIs(data["Account.AutoSignIn"], False)
        self.assertEqual(self.read_config()["Account"]["AutoSignIn"], "false")

    def test_empty_value_restores_the_default(self):
        self.sfbctl("config", "set", "Account.Auth", "ntlm")
        self.assertEqual(self.sfbctl_json("config", "show")[1]["Account.Auth"], "ntlm")
        self.assertEqual(self.sfbctl("config", "set", "Account.Auth", "").returncode, EXIT_OK)
        self.assertNotIn("Auth", self.read_config().get("Account", {}))

    def test_config_set_json_error(self):
        status, data = self.sfbctl_json("config", "set", "Secrets.Store", "post-it")
        self.assertEqual(status, EXIT_USAGE)
        self.assertEqual(data["Error"], ERROR_PREFIX + "InvalidArgs")
        self.assertIn("Secrets.Store", data["Message"])


class CommandsTest(SfbdTestCase):
    def test_lists_are_empty_and_say_why(self):
        for args, line in ((["contacts"], "No contacts (not signed in)"),
                           (["contacts", "groups"], "No contact groups (not signed in)"),
                           (["policies"], "No policies (not signed in)"),
                           (["dialplan"], "No dial plan (not signed in)"),
                           (["trace"], "No sign-in attempt yet")):
            with self.subTest(args=args):
                result = self.sfbctl(*args)
                self.assertEqual(result.returncode, EXIT_OK, result.stderr)
                self.assertEqual(result.stdout, line + "\n")

    def test_every_read_command_prints_json(self):
        expected = {
            ("contacts",): [],
            ("contacts", "groups"): [],
            ("trace",): [],
            ("policies",): {"Groups": [], "Cached": False},
            ("presence", "get", "sip:bob@contoso.test"): {},
        }
        for args, value in expected.items():
            with self.subTest(args=args):
                self.assertEqual(self.sfbctl_json(*args), (EXIT_OK, value))
        for args, interface in ((("presence",), "Presence"), (("dialplan",), "DialPlan")):
            with self.subTest(args=args):
                status, data = self.sfbctl_json(*args)
                self.assertEqual(status, EXIT_OK)
                self.assertEqual(sorted(data), sorted(property_names(interface)))
        status, data = self.sfbctl_json("devices")
        self.assertEqual(sorted(data), sorted(property_names("Devices") + ["Devices"]))

    def test_debug_messages_stay_off_stdout(self):
        result = self.sfbctl("--json", "status", env=self.sfbctl_env(G_MESSAGES_DEBUG="all"))
        self.assertEqual(json.loads(result.stdout)["State"], "signed-out")

    def test_json_option_works_after_the_command(self):
        self.assertEqual(self.sfbctl_json("status"),
                         (EXIT_OK, json.loads(self.sfbctl("status", "--json").stdout)))

    def test_devices_select_reaches_sfbd(self):
        result = self.sfbctl("devices", "select", "audio-input", "test-mic")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertIn("test-mic", self.config_bytes().decode())
        self.assertEqual(self.sfbctl_json("devices", "select", "video-input", "cam"),
                         (EXIT_OK, {}))


class PasswordTest(SfbdTestCase):
    def setUp(self):
        super().setUp()
        self.sfbctl("config", "set", "Account.Uri", "sip:bob@contoso.test")
        self.sfbctl("config", "set", "Secrets.Store", "file")

    def sign_in_error(self):
        return self.sfbctl_json("sign-in")[1].get("Error")

    def test_set_password_from_stdin(self):
        self.assertEqual(self.sign_in_error(), ERROR_PREFIX + "NoCredentials")
        password = "s3cret phrase with spaces"
        result = self.sfbctl("set-password", "--stdin", stdin_text=password + "\n")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertNotIn(password, result.stdout + result.stderr)
        self.assertNotEqual(self.sign_in_error(), ERROR_PREFIX + "NoCredentials")
        for directory, _, names in os.walk(self.state_dir):
            for name in names:
                mode = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
                self.assertEqual(mode, 0o600, name)
        self.assertNotIn(password, self.daemon_log())

    def test_no_store_keeps_the_password_in_memory_only(self):
        result = self.sfbctl("set-password", "--stdin", "--no-store", stdin_text="pw\n")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertNotEqual(self.sign_in_error(), ERROR_PREFIX + "NoCredentials")
        self.stop_process(self.daemon)
        self.start_daemon()
        self.assertEqual(self.sign_in_error(), ERROR_PREFIX + "NoCredentials")

    def test_set_password_asks_on_the_terminal_without_echo(self):
        terminal, terminal_peer = os.openpty()
        # the peer stays open here too, so reading the terminal never fails with EIO
        self.addCleanup(os.close, terminal)
        self.addCleanup(os.close, terminal_peer)
        process = subprocess.Popen([self.sfbctl_path, "set-password"], env=self.sfbctl_env(),
                                   stdin=terminal_peer, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        self.addCleanup(process.kill)

        prompt = read_until(process.stderr, b": ")
        self.assertEqual(prompt, b"Password for bob: ")
        os.write(terminal, b"typed-secret\n")
        self.assertEqual(process.wait(timeout=TIMEOUT), EXIT_OK, process.stderr.read())
        process.stdout.close()
        process.stderr.close()
        # what the terminal shows: never the password
        echoed = os.read(terminal, 1024) if select.select([terminal], [], [], 0.2)[0] else b""
        self.assertNotIn(b"typed-secret", echoed)
        self.assertNotEqual(self.sign_in_error(), ERROR_PREFIX + "NoCredentials")

    def test_set_password_needs_a_terminal_or_stdin(self):
        result = self.sfbctl("set-password")
        self.assertEqual(result.returncode, EXIT_USAGE)
        self.assertIn("--stdin", result.stderr)

    def test_empty_password_is_refused(self):
        result = self.sfbctl("set-password", "--stdin", stdin_text="\n")
        self.assertEqual(result.returncode, EXIT_USAGE)


class MonitorTest(SfbdTestCase):
    def start_monitor(self, *args):
        process, stdout, stderr = self.spawn_sfbctl(*args, "monitor")
        # the subscription is in place once this line is printed
        stderr.wait_for(lambda line: line.startswith("Monitoring sfbd"))
        return process, stdout

    def configure_uri(self, uri):
        self.configure({"Account.Uri": GLib.Variant("s", uri)})

    def test_monitor_prints_a_line_per_property_change(self):
        process, stdout = self.start_monitor()
        self.configure_uri("sip:erin@contoso.test")
        stdout.wait_for_all(" Account.Uri: sip:erin@contoso.test", " Account.Login: erin")
        self.assertEqual(self.stop_process(process, signal.SIGINT), 0)

    def test_monitor_json_prints_one_object_per_line(self):
        process, stdout = self.start_monitor("--json")
        self.configure_uri("sip:frank@contoso.test")
        line = stdout.wait_for(lambda text: "frank" in text)
        event = json.loads(line)
        self.assertEqual(event["Interface"], ACCOUNT)
        self.assertEqual(event["Signal"], "PropertiesChanged")
        self.assertEqual(event["Properties"]["Uri"], "sip:frank@contoso.test")
        self.assertEqual(self.stop_process(process, signal.SIGTERM), 0)

    def test_monitor_follows_sfbd_stopping_and_starting(self):
        process, stdout = self.start_monitor()
        self.stop_process(self.daemon)
        stdout.wait_for(lambda line: line.endswith(" sfbd stopped"))
        self.start_daemon()
        stdout.wait_for(lambda line: " sfbd started (" in line)
        self.configure_uri("sip:grace@contoso.test")
        stdout.wait_for(lambda line: line.endswith(" Account.Uri: sip:grace@contoso.test"))
        self.assertIsNone(process.poll())


class NotAnsweringTest(SfbdTestCase):
    """A hung sfbd (stopped with SIGSTOP: it owns its name but never
    replies): every command gives up after --timeout, exit 3."""

    HUNG_TIMEOUT = "2"

    def setUp(self):
        super().setUp()
        self.daemon.send_signal(signal.SIGSTOP)
        self.addCleanup(self.daemon.send_signal, signal.SIGCONT)

    def sfbctl_hung(self, *args):
        # the bound: far below the 25 s default, and no 25 s per interface
        return self.sfbctl(*args, timeout=TIMEOUT)

    def test_every_command_says_sfbd_is_not_answering(self):
        for args in (["--timeout", self.HUNG_TIMEOUT, "status"],
                     ["status", "--timeout", self.HUNG_TIMEOUT],
                     ["--timeout", self.HUNG_TIMEOUT, "config", "show"],
                     ["--timeout", self.HUNG_TIMEOUT, "config", "set", "Account.Uri", "x@y.test"],
                     ["--timeout", self.HUNG_TIMEOUT, "presence", "set", "busy"],
                     ["--timeout", self.HUNG_TIMEOUT, "devices"],
                     ["sign-in", "--wait", "--timeout", self.HUNG_TIMEOUT]):
            with self.subTest(args=args):
                result = self.sfbctl_hung(*args)
                self.assertEqual(result.returncode, EXIT_NOT_AVAILABLE, result.stderr)
                self.assertIn(f"sfbd is not answering (no reply within {self.HUNG_TIMEOUT} s)",
                              result.stderr)
                self.assertNotIn("unknown", result.stdout)

    def test_diagnose_keeps_the_timeout_given(self):
        # diagnose's own default is 300 s; any --timeout given wins, the global one too,
        # even when it is the global default (25)
        for args, seconds in ((["--timeout", self.HUNG_TIMEOUT, "diagnose"], self.HUNG_TIMEOUT),
                              (["diagnose", "--timeout", self.HUNG_TIMEOUT], self.HUNG_TIMEOUT),
                              (["--timeout", "25", "diagnose"], "25")):
            with self.subTest(args=args):
                result = self.sfbctl(*args, timeout=int(seconds) + TIMEOUT * 3)
                self.assertEqual(result.returncode, EXIT_NOT_AVAILABLE, result.stderr)
                self.assertIn(f"sfbd is not answering (no reply within {seconds} s)",
                              result.stderr)

    def test_json_error(self):
        result = self.sfbctl_hung("--timeout", self.HUNG_TIMEOUT, "--json", "status")
        self.assertEqual(result.returncode, EXIT_NOT_AVAILABLE)
        self.assertEqual(json.loads(result.stdout),
                         {"Error": "org.freedesktop.DBus.Error.NoReply",
                          "Message": "sfbd is not answering (no reply within 2 s)"})

    def test_waybar_shows_not_answering(self):
        result = self.sfbctl_hung("--timeout", self.HUNG_TIMEOUT, "status", "--format", "waybar")
        # exit 0 like "not running", so that waybar shows the line
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        output = json.loads(result.stdout)
        self.assertEqual(output["text"], "sfbd not answering")
        self.assertEqual(output["class"], ["not-answering", "attention"])
        self.assertIn("systemctl --user restart sfbd", output["tooltip"])

    def test_answers_again_once_sfbd_runs(self):
        self.assertEqual(self.sfbctl_hung("--timeout", self.HUNG_TIMEOUT).returncode,
                         EXIT_NOT_AVAILABLE)
        self.daemon.send_signal(signal.SIGCONT)
        result = self.sfbctl_hung("--timeout", self.HUNG_TIMEOUT, "status")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertRegex(result.stdout, r"(?m)^State: +signed-out$")

    def test_timeout_must_be_positive(self):
        for args in (["--timeout", "0", "status"], ["status", "--timeout", "-1"]):
            with self.subTest(args=args):
                self.assertEqual(self.sfbctl(*args).returncode, EXIT_USAGE)


class Utf8Test(SfbdTestCase):
    """Arguments that are not UTF-8 are refused; --json is valid JSON
    whatever bytes the user, the configuration file or sfbd gave."""

    def run_bytes(self, *args):
        """sfbctl with byte arguments; (exit status, stdout text, stderr text), both
        decoded strictly: sfbctl prints UTF-8 only."""
        result = subprocess.run([self.sfbctl_path.encode(), *args], env=self.sfbctl_env(),
                                stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=TIMEOUT, check=False)
        return result.returncode, result.stdout.decode("utf-8"), result.stderr.decode("utf-8")

    def test_invalid_utf8_argument_is_refused(self):
        status, stdout, stderr = self.run_bytes(b"config", b"set", b"Account.Uri",
                                                b"al\xffce@contoso.test")
        self.assertEqual(status, EXIT_USAGE, stderr)
        self.assertIn("not valid UTF-8", stderr)
        self.assertIn("al\ufffdce@contoso.test", stderr)
        self.assertNotIn("CRITICAL", stderr)
        self.assertEqual(stdout, "")
        self.assertEqual(self.get_property(ACCOUNT, "Uri"), "")
        self.assertIsNone(self.config_bytes())

    def test_json_of_invalid_utf8_arguments_is_valid(self):
        for args in ([b"config", b"set", b"Account.Uri", b"al\xffce@contoso.test"],
                     [b"no-such-\xfe\x01command"],
                     [b"presence", b"note", b"\xc3"]):
            with self.subTest(args=args):
                status, stdout, _ = self.run_bytes(b"--json", *args)
                self.assertEqual(status, EXIT_USAGE)
                self.assertEqual(json.loads(stdout)["Error"], ERROR_PREFIX + "InvalidArgs")

    def test_config_show_json_of_a_file_with_odd_bytes(self):
        # written after sfbd started: config show reads the file itself
        with open(self.config_path, "wb") as config_file:
            config_file.write(b"[Account]\nUri=sip:alice@contoso.test\n"
                              b"[Extra]\nK\xffey=v\x01al\x1bue\nTab=a\tb\n")
        status, stdout, stderr = self.run_bytes(b"--json", b"config", b"show")
        self.assertEqual(status, EXIT_OK, stderr)
        data = json.loads(stdout)
        self.assertEqual(data["Extra.K\ufffdey"], "v\x01al\x1bue")
        self.assertEqual(data["Extra.Tab"], "a\tb")


class DaemonTextTest(SfbdTestCase):
    """Control characters and other odd text from sfbd, through the
    python3-dbusmock MOCK of sfbd (sfbd_mock.py): the real sfbd refuses
    to hold some of them."""

    START_DAEMON = False

    def test_json_carries_control_characters_exactly(self):
        self.start_mock()
        note = "a\x01b\x1b[31mred\u2028line\u202eevil\x7f\"quoted\"\\"
        self.bus.call_sync(BUS_NAME, "/org/sfbd/Sfbd", "org.freedesktop.DBus.Mock",
                           "UpdateProperties",
                           GLib.Variant("(sa{sv})", (PRESENCE, {"Note": GLib.Variant("s", note)})),
                           None, Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)
        result = subprocess.run([self.sfbctl_path, "--json", "presence"], env=self.sfbctl_env(),
                                stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT,
                                check=False)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertEqual(json.loads(result.stdout.decode("utf-8"))["Note"], note)


ACTIVATION_SERVICE = """[D-BUS Service]
Name=org.sfbd.Sfbd
Exec={exec}
"""

STARTER = """#!/bin/sh
echo started >> {marker}
export DBUS_SESSION_BUS_ADDRESS="${{DBUS_SESSION_BUS_ADDRESS:-$DBUS_STARTER_ADDRESS}}"
exec {sfbd} --verbose >> {log} 2>&1
"""


class ActivationTest(SfbdTestCase):
    """With an activation file for org.sfbd.Sfbd on the bus, only the
    commands that need sfbd to act start it (doc/sfbctl.1.rst)."""

    START_DAEMON = False

    def _start_bus(self):
        service_dir = self._make_dir("services")
        self.marker = os.path.join(self.tmp, "started")
        starter = os.path.join(self.tmp, "start-sfbd")
        log_path = os.path.join(self.tmp, "sfbd-activated.log")
        self.log_paths.append(log_path)
        with open(starter, "w", encoding="utf-8") as script:
            script.write(STARTER.format(marker=shlex.quote(self.marker),
                                        sfbd=shlex.quote(self.sfbd_path),
                                        log=shlex.quote(log_path)))
        os.chmod(starter, stat.S_IRWXU)
        with open(os.path.join(service_dir, BUS_NAME + ".service"), "w",
                  encoding="utf-8") as service:
            service.write(ACTIVATION_SERVICE.format(exec=starter))
        config = sfbd_testcase.BUS_CONFIG.replace(
            "<auth>", f"<servicedir>{service_dir}</servicedir>\n  <auth>")
        original = sfbd_testcase.BUS_CONFIG
        sfbd_testcase.BUS_CONFIG = config
        try:
            super()._start_bus()
        finally:
            sfbd_testcase.BUS_CONFIG = original
        self.addCleanup(self.stop_activated)

    def starts(self):
        if not os.path.exists(self.marker):
            return 0
        with open(self.marker, encoding="utf-8") as marker:
            return len(marker.read().splitlines())

    def stop_activated(self):
        owner = self.name_owner()
        if owner is None:
            return
        reply = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                   "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                   GLib.Variant("(s)", (owner,)), GLib.VariantType("(u)"),
                                   Gio.DBusCallFlags.NONE, -1, None)
        os.kill(reply.unpack()[0], signal.SIGTERM)
        self.wait_for_owner(lambda current: current is None)

    def test_read_only_commands_do_not_start_sfbd(self):
        for args in (["status"], ["status", "--format", "json"], ["config"], ["config", "show"],
                     ["presence"], ["presence", "get", "sip:bob@contoso.test"],
                     ["presence", "set", "busy"], ["presence", "note", "hi"], ["contacts"],
                     ["contacts", "groups"], ["dialplan"], ["dialplan", "normalize", "1234"],
                     ["policies"], ["policies", "show", "x"], ["devices"], ["devices", "list"],
                     ["exchange"], ["exchange", "refresh"],
                     ["trace"], ["sign-out"], ["monitor"]):
            with self.subTest(args=args):
                result = self.sfbctl(*args)
                self.assertEqual(result.returncode, EXIT_NOT_AVAILABLE, result.stderr)
                # --format json says it in JSON on stdout
                self.assertIn("sfbd is not running", result.stderr + result.stdout)
                self.assertEqual(self.starts(), 0)
                self.assertIsNone(self.name_owner())

    def test_tab_completion_does_not_start_sfbd(self):
        bin_dir = self._make_dir("bin")
        os.symlink(self.sfbctl_path, os.path.join(bin_dir, "sfbctl"))
        script = required_path("SFBCTL_COMPLETION")
        program = (f"source {shlex.quote(script)}\n"
                   "COMP_WORDS=(sfbctl devices select audio-output '')\nCOMP_CWORD=4\n"
                   "_sfbctl sfbctl\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
        env = self.sfbctl_env(PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
        result = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], env=env,
                                capture_output=True, text=True, timeout=TIMEOUT, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "")
        self.assertEqual(self.starts(), 0)
        self.assertIsNone(self.name_owner())

    def test_acting_commands_start_sfbd(self):
        expected = 0
        for args, stdin_text in ((["config", "set", "Account.AutoSignIn", "false"], None),
                                 (["devices", "select", "audio-input", "test-mic"], None),
                                 (["set-password", "--stdin", "--no-store"], "pw\n"),
                                 (["sign-in"], None)):
            with self.subTest(args=args):
                result = self.sfbctl(*args, stdin_text=stdin_text)
                expected += 1
                self.assertEqual(self.starts(), expected, result.stderr)
                self.assertIsNotNone(self.name_owner())
                # sign-in: sfbd answers, without an account configured
                self.assertNotIn("not running", result.stderr)
                self.stop_activated()


if __name__ == "__main__":
    unittest.main(verbosity=2)
