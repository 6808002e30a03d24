# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sign-in (docs/architecture.md §9, §10): the real sfbd against the real sfbsim, inside
build-aux/testnet.

The module re-executes itself under build-aux/testnet (a private network namespace whose
resolv.conf points at sfbsim's DNS), starts one sfbsim for all tests and puts it back to its
defaults before each test.  Every test has its own bus and sfbd (sfbd_testcase.py).
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)  # testnet needs root; without it the test fails

from Cryptodome.Hash import MD4  # noqa: E402  (python3-pycryptodome)
from gi.repository import Gio, GLib  # noqa: E402

from sfbd_testcase import (ACCOUNT, BUS_CONFIG, BUS_NAME, ERROR_PREFIX,  # noqa: E402
                           INTERFACES, OBJECT_PATH, SANITIZED, SANITIZER_REPORT, SfbdTestCase)
from sim_testcase import account_settings  # noqa: E402

PASSWORD = "Passw0rd!"  # alice's password in tests/sfbsim/scenarios/default.toml
WRONG_PASSWORD = "not-alices-password-42"
DIRECTOR = "director.contoso.test"
WAIT = 20  # seconds for a sign-in that takes milliseconds
CLOSED_WAIT = 10  # seconds for sfbd to close an idle connection: far less than idle timeouts

SIM = sim_fixture.SIM

AUTODISCOVER_NAMES = ["lyncdiscoverinternal.contoso.test", "lyncdiscover.contoso.test"]
SRV_NAMES = ["_sipinternaltls._tcp.contoso.test", "_sip._tls.contoso.test"]
A_NAMES = ["sipinternal.contoso.test", "sip.contoso.test", "sipexternal.contoso.test"]


def setUpModule():
    sim_fixture.start("signin")


def tearDownModule():
    sim_fixture.stop()


def string(value):
    return GLib.Variant("s", value)


class AccountWatcher:
    """Records every change of the Account properties, as PropertiesChanged announces them,
    on its own bus connection and thread (so nothing is missed between two polls)."""

    def __init__(self, address):
        self.changes = []
        self._lock = threading.Lock()
        self._context = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self._context, False)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(address,), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the property watcher did not start")

    def _run(self, address):
        self._context.push_thread_default()
        connection = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        connection.signal_subscribe(BUS_NAME, "org.freedesktop.DBus.Properties",
                                    "PropertiesChanged", OBJECT_PATH, ACCOUNT,
                                    Gio.DBusSignalFlags.NONE, self._on_signal)
        connection.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                             "org.freedesktop.DBus", "GetId", None, None,
                             Gio.DBusCallFlags.NONE, -1, None)  # the match is in place
        self._ready.set()
        self._loop.run()
        connection.close_sync(None)
        self._context.pop_thread_default()

    def _on_signal(self, connection, sender, path, interface, signal, parameters):
        _, changed, _ = parameters.unpack()
        with self._lock:
            self.changes.extend(changed.items())

    def values(self, name):
        with self._lock:
            return [value for key, value in self.changes if key == name]

    def stop(self):
        source = GLib.idle_source_new()
        source.set_callback(lambda *args: self._loop.quit())
        source.attach(self._context)
        self._thread.join(10)


class SignInTestCase(SfbdTestCase):
    WAIT = WAIT
    def setUp(self):
        self.ctl = SIM["ctl"]
        self.ctl.dns_clear()
        self.ctl.set_certificate(variant="valid")
        self.ctl.clear_503()
        self.ctl.set_user_enabled(user="alice", enabled=True)
        self.ctl.set_timers(expires=300, keep_alive=300, sa_lifetime=28800)
        self.ctl.drop_connections()
        super().setUp()
        self.addCleanup(self.ctl.drop_connections)
        self.ctl.reset_counters()

    def configure_alice(self, password=PASSWORD, server=None):
        self.configure(account_settings("alice", server))
        self.call(ACCOUNT, "SetPassword", (password, True), "(sb)")

    def state(self):
        return self.get_property(ACCOUNT, "State")

    def wait_for_state(self, *states, timeout=WAIT):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            state = self.state()
            if not seen or seen[-1] != state:
                seen.append(state)
            if state in states:
                return state
            time.sleep(0.02)
        account = self.get_all_properties(ACCOUNT)
        self.fail(f"State never became {states}; went through {seen}; LastError "
                  f"{account['LastError']}: {account['LastErrorMessage']}")

    def sign_in(self, **kwargs):
        """Signs alice in; through the Director (and its redirect) unless told otherwise."""
        kwargs.setdefault("server", DIRECTOR)
        self.configure_alice(**kwargs)
        self.call(ACCOUNT, "SignIn")
        return self.wait_for_state("signed-in", "failed")

    def trace(self):
        """The sign-in's own stages: once signed in, Exchange appends its stages
        (exchange-*; test_exchange.py checks those), which depend on the scenario."""
        return [stage for stage in self.call(ACCOUNT, "GetSignInTrace")[0]
                if not stage["Stage"].startswith("exchange-")]

    def counters(self):
        return self.ctl.counters()

    def count(self, name, key="*"):
        """One sfbsim counter ("*" = the total of a counter bumped without a key)."""
        return self.counters().get(name, {}).get(key, 0)

    def total(self, name):
        """The total of an sfbsim counter kept per key."""
        return sum(self.counters().get(name, {}).values())

    def assert_https_closed_by_sfbd(self):
        """Every HTTPS connection sfbd opened (autodiscover, web tickets, provisioning) is
        closed, by sfbd, within CLOSED_WAIT: not left to libsoup's 60-s idle timeout (nor
        to sfbsim's 30-s one)."""
        self.wait_for(lambda: not self.counters().get("open_http_connections"),
                      "the HTTPS connections closed", timeout=CLOSED_WAIT)
        opened = self.total("http_connections")
        self.assertGreater(opened, 0, "no HTTPS connection: nothing was tested")
        self.assertEqual(self.total("http_closed_by_client"), opened, self.counters())

    def alice_endpoints(self):
        return self.ctl.endpoints(user="alice")

    def watch_account(self):
        watcher = AccountWatcher(self.env["DBUS_SESSION_BUS_ADDRESS"])
        self.addCleanup(watcher.stop)
        return watcher

    def stage(self, name):
        """The last stage called name of the last attempt's trace."""
        stages = [stage for stage in self.trace() if stage["Stage"] == name]
        self.assertTrue(stages, f"no stage {name} in {self.trace()}")
        return stages[-1]

    def assert_not_retried(self):
        """sfbd gave up for good: it said so ("Sign-in failed", not "Sign-in attempt failed
        ...; will retry") and has no retry scheduled, so nothing will sign it in by itself."""
        self.wait_for(lambda: "Sign-in failed: " in self.daemon_log(), "sfbd giving up")
        self.assertNotIn("; will retry", self.daemon_log())
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["State"], "failed")
        self.assertEqual(account["NextRetry"], 0)

    def assert_signed_in(self):
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["State"], "signed-in",
                         f"{account['LastError']}: {account['LastErrorMessage']}")
        return account


class SignInTest(SignInTestCase):
    def test_discovery_and_redirect_end_signed_in_at_the_home_pool(self):
        self.sign_in(server=None)
        account = self.assert_signed_in()
        self.assertEqual(account["Server"], "pool1.contoso.test:5061")
        self.assertEqual(account["AuthMethod"], "ntlm")
        self.assertEqual(account["ServerVersion"], "RTC/6.0.0.0")
        self.assertEqual(account["Interface"], "lo")
        self.assertTrue(account["LocalAddress"].startswith("127."), account["LocalAddress"])
        self.assertGreater(account["SignedInSince"], 0)
        self.assertEqual(account["LastError"], "")

        stages = self.trace()
        names = [stage["Stage"] for stage in stages]
        self.assertEqual(names[0], "discovering")
        self.assertIn("redirecting", names)
        self.assertLess(names.index("redirecting"), len(names) - 1)
        self.assertIn(names[-1], ("registered", "retrieving-settings"))
        self.assertIn("registered", names[names.index("redirecting"):])
        for stage in stages[names.index("redirecting"):]:
            self.assertEqual(stage["Result"], "ok", stage)
        redirect = stages[names.index("redirecting")]
        self.assertIn("pool1.contoso.test:5061", redirect["Detail"])
        self.assertIn("director.contoso.test", redirect["Detail"])
        self.assertIn("chosen: NTLM", stages[names.index("authenticating")]["Detail"])
        self.assertIn("SRV _sipinternaltls._tcp.contoso.test", stages[0]["Detail"])

        endpoints = self.alice_endpoints()
        self.assertEqual(len(endpoints), 1, endpoints)
        self.assertEqual(endpoints[0]["registrar"], "pool1")
        self.assertEqual(self.counters()["active_registrations"], 1)

        # the next sign-in goes straight to the remembered home pool
        self.call(ACCOUNT, "Reconnect")
        self.wait_for(lambda: self.state() == "signed-in"
                      and "registered" in [stage["Stage"] for stage in self.trace()],
                      "signing in again")
        stages = self.trace()
        names = [stage["Stage"] for stage in stages]
        self.assertNotIn("discovering", names)
        self.assertNotIn("redirecting", names)
        self.assertIn("last-home-pool", stages[0]["Detail"])
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")

    def test_configured_server_skips_discovery(self):
        self.sign_in(server="pool1.contoso.test:5061")
        account = self.assert_signed_in()
        self.assertEqual(account["Server"], "pool1.contoso.test:5061")
        names = [stage["Stage"] for stage in self.trace()]
        self.assertNotIn("discovering", names)
        self.assertNotIn("redirecting", names)
        queried = self.counters().get("dns_queries", {})
        # Exchange Autodiscover's lookups (after signed-in) are not the sign-in's
        exchange = ("contoso.test", "autodiscover.contoso.test", "_autodiscover._tcp.contoso.test")
        self.assertEqual([name for name in queried if not name.startswith("pool1.")
                          and name.split()[0] not in exchange], [],
                         "discovery lookups despite Account.Server")

    def test_wrong_password_fails_once_and_is_not_retried(self):
        self.assertEqual(self.sign_in(password=WRONG_PASSWORD, server="pool1.contoso.test"),
                         "failed")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["LastError"], ERROR_PREFIX + "AuthFailed")
        self.assertIn("CONTOSO\\alice", self.sfbctl("status").stdout)
        self.assertEqual(self.counters()["auth_failures"], {"alice": 1})
        self.assert_not_retried()
        self.assertEqual(self.counters()["auth_failures"], {"alice": 1})
        self.assertEqual(self.alice_endpoints(), [])

    def test_untrusted_certificate_is_certificate_invalid(self):
        self.ctl.set_certificate(variant="untrusted")
        self.assertEqual(self.sign_in(server="pool1.contoso.test"), "failed")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["LastError"], ERROR_PREFIX + "CertificateInvalid")
        self.assertIn("pool1.contoso.test", account["LastErrorMessage"])
        self.assertEqual(self.counters().get("registers", {}), {})

    def test_dropped_connection_comes_back_with_one_registration(self):
        self.sign_in()
        self.assert_signed_in()
        self.ctl.reset_counters()
        self.assertEqual(self.ctl.drop_connections(user="alice"), 1)
        self.wait_for(lambda: self.state() != "signed-in"
                      or self.get_property(ACCOUNT, "LastError"), "noticing the drop")
        self.wait_for_state("signed-in")
        account = self.assert_signed_in()
        self.assertEqual(account["Server"], "pool1.contoso.test:5061")
        self.assertEqual(account["ReconnectAttempts"], 0)
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")
        self.assertEqual(len(self.alice_endpoints()), 1)

    def test_sign_out_unregisters(self):
        self.sign_in()
        self.assertEqual(self.counters()["active_registrations"], 1)
        self.call(ACCOUNT, "SignOut")
        self.wait_for_state("signed-out")
        self.wait_for(lambda: self.counters()["active_registrations"] == 0, "unregistration")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["Server"], "")
        self.assertEqual(account["SignedInSince"], 0)

    def test_503_retry_after_is_honoured(self):
        self.ctl.set_503(registrar="pool1", retry_after=1, count=1)
        self.configure_alice(server="pool1.contoso.test")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("reconnecting")
        message = self.get_property(ACCOUNT, "LastErrorMessage")
        self.assertIn("503", message)
        self.assertIn("Server too busy", message)
        self.wait_for_state("signed-in")
        self.assertEqual(self.counters()["active_registrations"], 1)

    def test_server_text_in_a_503_is_shown_cleaned(self):
        """The reason phrase and ms-diagnostics are the server's text: shown bounded, with
        no bidi override that could reorder what the user reads."""
        self.ctl.set_503(registrar="pool1", retry_after=1, count=1,
                         reason="Busy \u202etxt.exe", diagnostics='1008;reason="Too \u2066busy"')
        self.configure_alice(server="pool1.contoso.test")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("reconnecting")
        message = self.get_property(ACCOUNT, "LastErrorMessage")
        self.assertIn("SIP 503 Busy", message)
        self.assertIn("txt.exe", message)
        self.assertNotIn("\u202e", message)
        self.assertNotIn("\u2066", message)
        self.wait_for_state("signed-in")

    def test_rejected_deregistration_is_account_disabled(self):
        self.sign_in()
        result = self.ctl.deregister(user="alice", event="rejected")
        self.assertEqual(result["answers"], [200])
        self.wait_for_state("failed")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["LastError"], ERROR_PREFIX + "AccountDisabled")
        self.assertIn("User disabled", account["LastErrorMessage"])

    def test_deregistration_read_with_another_request_is_answered(self):
        # An OPTIONS and the ending NOTIFY in one TLS record: sfbd handles the NOTIFY (and
        # closes the connection) while its answer to the OPTIONS is still being written;
        # the NOTIFY's 200 OK, queued behind it, must still reach the server.
        self.sign_in()
        result = self.ctl.deregister(user="alice", event="rejected", first="OPTIONS")
        self.assertEqual(result["answers"], [[200, 200]])
        self.wait_for_state("failed")
        self.assertEqual(self.get_property(ACCOUNT, "LastError"),
                         ERROR_PREFIX + "AccountDisabled")

    def test_deactivated_rediscovers_and_signs_in_again(self):
        self.sign_in()
        self.ctl.deregister(user="alice", event="deactivated")
        self.wait_for(lambda: self.count("requests", "REGISTER") >= 6
                      and self.state() == "signed-in", "signing in again")
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")

    def test_unregistered_signs_out_with_the_reason(self):
        self.sign_in()
        self.ctl.deregister(user="alice", event="unregistered")
        self.wait_for_state("signed-out")
        self.assertIn("unregistered", self.get_property(ACCOUNT, "LastErrorMessage"))

    def test_keepalives_and_re_registers_keep_the_registration(self):
        self.ctl.set_timers(expires=4, keep_alive=2)
        self.sign_in()
        self.ctl.reset_counters()
        # keep-alive every 1 s (half the 2 s timeout), re-REGISTER every 2 s (half of 4 s)
        self.wait_for(lambda: self.count("keepalives") >= 2, "CRLF keep-alives")
        self.wait_for(lambda: self.count("requests", "REGISTER") >= 2,
                      "re-REGISTERs")
        self.assertEqual(self.state(), "signed-in")
        self.assertEqual(self.counters()["active_registrations"], 1)
        self.assertEqual(self.counters().get("auth_failures", {}), {})

    def test_expired_security_association_authenticates_again(self):
        self.ctl.set_timers(expires=4)
        self.sign_in()
        self.ctl.reset_counters()
        self.assertGreaterEqual(self.ctl.expire_sa(user="alice"), 1)
        # the next re-REGISTER is refused (401): three new REGISTERs on the same connection
        self.wait_for(lambda: self.count("requests", "REGISTER") >= 3,
                      "a new NTLM handshake")
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")
        self.assertEqual(self.state(), "signed-in")
        self.assertEqual(self.get_property(ACCOUNT, "LastError"), "")
        self.assertEqual(self.counters().get("auth_failures", {}), {})

    def test_password_never_shows(self):
        self.sign_in()
        self.call(ACCOUNT, "Reconnect")
        self.wait_for_state("signed-in")
        properties = [str(self.get_all_properties(interface)) for interface in INTERFACES]
        trace = str(self.trace())
        self.call(ACCOUNT, "SetPassword", (WRONG_PASSWORD, False), "(sb)")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("failed")
        properties.append(str(self.get_all_properties(ACCOUNT)))
        self.stop_process(self.daemon)
        log = self.daemon_log()
        self.assertIn("sfbd-sip-trace", log)  # the SIP dumps were there to search
        for secret in (PASSWORD, WRONG_PASSWORD):
            self.assertNotIn(secret, log)
            for text in properties + [trace]:
                self.assertNotIn(secret, text)


class RememberedAddressTest(SignInTestCase):
    """A new process dials the address its home pool had in the last run while it resolves
    the name beside it (the home-pool file's address line)."""

    POOL = "pool1.contoso.test"

    def home_pool_file(self):
        return os.path.join(self.state_dir, "home-pool")

    def first_sign_in_then_new_process(self):
        """Signs in by discovery (the home pool and its address are remembered), then
        starts a new sfbd on that state; returns the remembered address."""
        self.assertEqual(self.sign_in(server=None), "signed-in")
        with open(self.home_pool_file(), encoding="utf-8") as f:
            lines = f.read().split("\n")
        self.assertEqual(lines[1], f"{self.POOL}:5061")
        address, learnt = lines[2].split(" ")
        self.assertLessEqual(abs(int(learnt) - time.time()), 60)
        # the new process signs in when told, after the test prepared the network
        self.configure({"Account.AutoSignIn": GLib.Variant("b", False)})
        self.stop_process(self.daemon)
        self.ctl.drop_connections()
        self.daemon = self.start_daemon()
        self.ctl.reset_counters()
        return address

    def connecting_detail(self):
        return " ".join(stage["Detail"] for stage in self.trace()
                        if stage["Stage"] == "connecting")

    def test_new_process_dials_the_remembered_address_without_dns(self):
        self.first_sign_in_then_new_process()
        # the pool's name gets no answer at all: only the remembered address can work
        self.ctl.dns_fault(mode="drop", names=[self.POOL])
        self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.wait_for_state("signed-in", "failed"), "signed-in")
        self.assertEqual(self.get_property(ACCOUNT, "Server"), f"{self.POOL}:5061")
        self.assertIn("the remembered address", self.connecting_detail())
        self.assertNotIn("discovering", [stage["Stage"] for stage in self.trace()])

    def test_wrong_remembered_address_falls_back_to_dns(self):
        address = self.first_sign_in_then_new_process()
        # the pool moved: nothing listens at the remembered address any more
        wrong = "127.0.0.254"
        self.assertNotEqual(address, wrong)
        self.set_remembered_address(wrong)
        self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.wait_for_state("signed-in", "failed"), "signed-in")
        self.assertEqual(self.get_property(ACCOUNT, "Server"), f"{self.POOL}:5061")
        self.assertIn("resolved after the remembered address failed", self.connecting_detail())
        # refused, or given up first when the name's answer came sooner
        self.assertIn(f"The remembered address of {self.POOL} ", self.daemon_log())
        self.assertGreaterEqual(self.count("dns_queries", f"{self.POOL} A"), 1,
                                self.counters().get("dns_queries"))
        # the address that worked is remembered instead
        with open(self.home_pool_file(), encoding="utf-8") as f:
            self.assertEqual(f.read().split("\n")[2].split(" ")[0], address)

    def test_remembered_address_refused_before_the_name_resolves(self):
        """The remembered address is refused while the name is still being resolved: the
        dial waits for the answer, signs in with it, and leaves nothing behind.  In the
        sanitized build LeakSanitizer checks sfbd as it exits here (a dial that kept a
        reference too many showed as a lost GTask)."""
        self.first_sign_in_then_new_process()
        self.set_remembered_address("127.0.0.254")  # nothing listens: refused at once
        # the answer comes well after the refusal (testnet's resolver gives up after 1 s)
        self.ctl.dns_fault(mode="slow", names=[self.POOL], delay_ms=700)
        self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.wait_for_state("signed-in", "failed"), "signed-in")
        self.assertIn(f"The remembered address of {self.POOL} failed (", self.daemon_log())
        self.assertIn("resolved after the remembered address failed", self.connecting_detail())
        self.assertEqual(self.stop_process(self.daemon), 0)
        if SANITIZED:
            self.assertNotRegex(self.daemon_log(), SANITIZER_REPORT)

    def set_remembered_address(self, address):
        with open(self.home_pool_file(), encoding="utf-8") as f:
            lines = f.read().split("\n")
        lines[2] = f"{address} {int(time.time())}"
        with open(self.home_pool_file(), "w", encoding="utf-8") as f:
            f.write("\n".join(lines))

    def test_remembered_address_behind_a_firewall_is_given_up_when_dns_answers(self):
        self.first_sign_in_then_new_process()
        # the pool moved and its old address now drops every SYN: the dial would hang
        # until the connect timeout; the name's answer ends it
        self.ctl.blackhole(address="127.0.9.9", port=5061)
        self.addCleanup(self.ctl.blackhole_clear)
        self.set_remembered_address("127.0.9.9")
        self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.wait_for_state("signed-in", "failed"), "signed-in")
        # stopped when the name's answer came, not by the connect timeout
        self.assertIn(f"The remembered address of {self.POOL} was given up", self.daemon_log())
        self.assertIn("resolved after the remembered address failed", self.connecting_detail())

    def test_damaged_address_line_keeps_the_home_pool(self):
        self.first_sign_in_then_new_process()
        with open(self.home_pool_file(), "rb") as f:
            contents = f.read().split(b"\n")
        contents[2] = b"127.0.0.\x00\xff 12"
        with open(self.home_pool_file(), "wb") as f:
            f.write(b"\n".join(contents))
        self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.wait_for_state("signed-in", "failed"), "signed-in")
        self.assertEqual(self.get_property(ACCOUNT, "Server"), f"{self.POOL}:5061")
        self.assertNotIn("discovering", [stage["Stage"] for stage in self.trace()])
        self.assertIn("last-home-pool", self.trace()[0]["Detail"])
        self.assertNotIn("the remembered address", self.connecting_detail())


class DiscoveryFaultTest(SignInTestCase):
    def connecting_details(self):
        return [stage["Detail"] for stage in self.trace() if stage["Stage"] == "connecting"]

    def test_sign_in_through_srv_only(self):
        self.ctl.dns_fault(mode="nxdomain", names=AUTODISCOVER_NAMES)
        self.assertEqual(self.sign_in(server=None), "signed-in")
        account = self.assert_signed_in()
        self.assertEqual(account["Server"], "pool1.contoso.test:5061")
        self.assertIn("director.contoso.test:5061 (srv, internal)", self.connecting_details()[0])
        discovering = self.stage("discovering")["Detail"]
        self.assertIn("SRV _sipinternaltls._tcp.contoso.test", discovering)
        self.assertIn("lyncdiscoverinternal.contoso.test", discovering)
        self.assertIn("redirecting", [stage["Stage"] for stage in self.trace()])
        self.assertEqual(self.counters()["active_registrations"], 1)

    def test_srv_target_dialled_beside_autodiscover_and_kept(self):
        # autodiscover, slowed down, names the SRV target too: the connection made
        # beside it is the one that signs in
        self.ctl.dns_fault(mode="slow", names=AUTODISCOVER_NAMES, delay_ms=1500)
        self.assertEqual(self.sign_in(server=None), "signed-in")
        connecting = self.connecting_details()
        self.assertIn("director.contoso.test:5061 (srv, internal)", connecting[0])
        self.assertEqual(len(connecting), 2, self.trace())  # the Director, then its 301
        self.assertIn("dialling director.contoso.test:5061 (srv, internal) beside autodiscover",
                      self.stage("discovering")["Detail"])
        # signed in before autodiscover answered; its lines reach the trace when it does
        self.wait_for(lambda: "lyncdiscoverinternal.contoso.test"
                      in self.stage("discovering")["Detail"], "the autodiscover lines")
        self.assertIn("the early candidate is the first candidate",
                      self.stage("discovering")["Detail"])
        self.assertEqual(self.state(), "signed-in")
        self.assertEqual(self.counters()["active_registrations"], 1)

    def test_autodiscover_outranking_the_early_candidate_replaces_it(self):
        # lyncdiscover (external) names sip.contoso.test:443, which outranks the SRV
        # target dialled early; it answers before the Director's REGISTER completes: the
        # Director holds alice's REGISTERs until the end of the test.  (Every packet is
        # 200 ms late so that the Director is dialled before autodiscover answers: 2
        # round trips against 6.)
        self.ctl.dns_fault(mode="nxdomain", names=AUTODISCOVER_NAMES[:1])
        self.ctl.set_delay(ms=200)
        self.addCleanup(self.ctl.set_delay, ms=0)
        self.ctl.hold_requests(user="alice", registrar="director")
        self.addCleanup(self.ctl.release_requests)
        self.assertEqual(self.sign_in(server=None), "signed-in")
        self.assertGreaterEqual(self.count("held_requests", "alice"), 1)  # at the Director
        connecting = self.connecting_details()
        self.assertIn("director.contoso.test:5061 (srv, internal)", connecting[0])
        self.assertIn("replaced by sip.contoso.test:443 (autodiscover, external)",
                      connecting[0] + str(self.trace()))
        self.assertIn("sip.contoso.test:443 (autodiscover, external)", connecting[1])
        self.assertEqual(self.counters()["active_registrations"], 1)

    def test_sign_in_through_a_records_only(self):
        self.ctl.dns_fault(mode="nxdomain", names=AUTODISCOVER_NAMES + SRV_NAMES)
        self.assertEqual(self.sign_in(server=None), "signed-in")
        account = self.assert_signed_in()
        self.assertEqual(account["Server"], "pool1.contoso.test:5061")
        self.assertIn("sipinternal.contoso.test:5061 (a-record", self.connecting_details()[0])
        discovering = self.stage("discovering")["Detail"]
        for name in SRV_NAMES:
            self.assertIn(name, discovering)
        self.assertEqual(self.counters()["active_registrations"], 1)

    def test_each_dns_fault_is_discovery_failed_with_detail_and_retried(self):
        self.configure_alice()
        for mode in ("nxdomain", "servfail", "noanswer", "drop"):
            with self.subTest(mode=mode):
                self.ctl.dns_clear()
                self.ctl.dns_fault(mode=mode, names=AUTODISCOVER_NAMES + SRV_NAMES + A_NAMES)
                watcher = self.watch_account()
                self.call(ACCOUNT, "SignIn")
                self.wait_for(lambda: self.get_property(ACCOUNT, "LastError")
                              == ERROR_PREFIX + "DiscoveryFailed", "DiscoveryFailed")
                # a DNS failure is the network's: retried, not failed for good
                self.wait_for(lambda: "reconnecting" in watcher.values("State"), "reconnecting")
                self.assertNotIn("failed", watcher.values("State"))
                # the message names every lookup and how it failed (the retry may already
                # be under way, so the trace can show a new attempt)
                message = self.get_property(ACCOUNT, "LastErrorMessage")
                for name in AUTODISCOVER_NAMES + SRV_NAMES + ["sipinternal.contoso.test"]:
                    self.assertIn(name, message)
                self.assertEqual(self.counters().get("registers", {}), {})
        # when DNS answers again, the retries find the server unaided
        self.ctl.dns_clear()
        self.wait_for_state("signed-in")
        self.assertEqual(self.counters()["active_registrations"], 1)


class HttpConnectionsTest(SignInTestCase):
    """The sign-in's HTTPS connections (autodiscover here; test_tlsdsk has web tickets and
    provisioning) are closed by sfbd once it is done with them."""
    def test_signed_in_closes_the_sign_in_https_and_discovers_again(self):
        self.assertEqual(self.sign_in(server=None), "signed-in")
        self.assertGreater(self.total("autodiscover_requests"), 0)
        self.assert_https_closed_by_sfbd()

        # a reconnect that discovers again connects afresh, and closes again
        os.unlink(os.path.join(self.state_dir, "home-pool"))
        self.ctl.reset_counters()
        self.call(ACCOUNT, "Reconnect")
        self.wait_for(lambda: self.state() == "signed-in"
                      and "registered" in [stage["Stage"] for stage in self.trace()],
                      "signing in again")
        self.assertIn("discovering", [stage["Stage"] for stage in self.trace()])
        self.assertGreater(self.total("autodiscover_requests"), 0)
        self.assert_https_closed_by_sfbd()
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")

    def test_autodiscover_ending_after_signed_in_closes_its_https(self):
        # the SRV target dialled beside autodiscover, whose names answer late (under the
        # resolver's 1-s timeout), usually signs in before autodiscover has ended
        self.ctl.dns_fault(mode="slow", names=AUTODISCOVER_NAMES, delay_ms=500)
        self.assertEqual(self.sign_in(server=None), "signed-in")
        self.wait_for(lambda: "lyncdiscoverinternal.contoso.test"
                      in self.stage("discovering")["Detail"], "autodiscover's end")
        self.assertIn("beside autodiscover", self.stage("discovering")["Detail"])
        self.assertGreater(self.total("autodiscover_requests"), 0, self.trace())
        self.assert_https_closed_by_sfbd()

    def test_sign_out_during_discovery_leaves_no_https_open(self):
        # autodiscover has answered, its connections idle, while the DNS lookups are still
        # out and the REGISTER to autodiscover's candidate waits: signing out ends it all
        self.ctl.dns_fault(mode="slow", names=SRV_NAMES + A_NAMES, delay_ms=8000)
        self.ctl.hold_requests(user="alice")
        self.addCleanup(self.ctl.release_requests)
        self.configure_alice()
        self.call(ACCOUNT, "SignIn")
        self.wait_for(lambda: self.ctl.held_requests(), "the REGISTER held")
        self.call(ACCOUNT, "SignOut")
        self.wait_for_state("signed-out")
        self.assert_https_closed_by_sfbd()


class CertificateTest(SignInTestCase):
    def assert_certificate_invalid(self, variant, check):
        self.ctl.set_certificate(variant=variant)
        self.assertEqual(self.sign_in(server="pool1.contoso.test"), "failed")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["LastError"], ERROR_PREFIX + "CertificateInvalid")
        self.assertIn("pool1.contoso.test", account["LastErrorMessage"])
        self.assertIn(check, account["LastErrorMessage"])
        self.assertEqual(self.stage("connecting")["Result"], ERROR_PREFIX + "CertificateInvalid")
        self.assertEqual(self.counters().get("registers", {}), {})
        # never retried by itself: only the user (or the administrator) can fix it
        self.assert_not_retried()
        self.assertEqual(self.counters().get("registers", {}), {})

    def test_expired_certificate(self):
        self.assert_certificate_invalid("expired", "expired")

    def test_wrong_name_certificate(self):
        self.assert_certificate_invalid("wrong-name", "does not match the name pool1.contoso.test")


class StayingSignedInTest(SignInTestCase):
    def test_tampered_server_signature_drops_the_connection(self):
        self.ctl.set_timers(expires=4)  # a re-REGISTER every 2 s brings a signed 200
        self.sign_in(server="pool1.contoso.test")
        self.assert_signed_in()
        watcher = self.watch_account()
        connections = self.count("tcp_connections", "pool1.contoso.test:5061")
        self.assertGreaterEqual(self.ctl.tamper_signatures(user="alice", count=1), 1)
        # the forged 200 is not taken: sfbd drops that connection and signs in anew
        self.wait_for(lambda: self.count("tcp_connections", "pool1.contoso.test:5061")
                      > connections, "a new connection")
        self.wait_for_state("signed-in")
        self.wait_for(lambda: "reconnecting" in watcher.values("State"), "reconnecting shown")
        errors = watcher.values("LastErrorMessage")
        self.assertTrue(any("signature" in message for message in errors), errors)
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")
        self.assertEqual(len(self.alice_endpoints()), 1)

    def test_pool_stopped_and_restarted_comes_back_with_one_registration(self):
        self.sign_in()
        self.assert_signed_in()
        watcher = self.watch_account()
        self.ctl.stop_pool(pool="pool1")
        self.wait_for(lambda: "reconnecting" in watcher.values("State"), "reconnecting")
        # retries meet the stopped pool: refused, and tried again
        self.wait_for(lambda: self.get_property(ACCOUNT, "ReconnectAttempts") >= 2
                      and ERROR_PREFIX + "NotReachable" in watcher.values("LastError"),
                      "two attempts at the stopped pool")
        self.assertNotEqual(self.state(), "signed-in")
        self.assertEqual(self.counters()["active_registrations"], 0)
        self.ctl.start_pool(pool="pool1")
        self.wait_for_state("signed-in", timeout=40)
        account = self.assert_signed_in()
        self.assertEqual(account["Server"], "pool1.contoso.test:5061")
        self.assertEqual(account["ReconnectAttempts"], 0)
        self.assertNotIn("failed", watcher.values("State"))
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")
        self.assertEqual(len(self.alice_endpoints()), 1)

    def test_preferred_registrar_change_moves_to_the_named_registrar(self):
        self.sign_in(server=None)  # discovery: no configured Server to override the move
        result = self.ctl.deregister(user="alice", event="preferred-registrar-change",
                                     registrar="pool2")
        self.assertEqual(result["answers"], [200])
        # P-Preferred-Registrar is tried first; pool2 sends alice home to pool1
        self.wait_for(lambda: self.state() == "signed-in"
                      and "redirecting" in [stage["Stage"] for stage in self.trace()],
                      "signing in again")
        connecting = [stage["Detail"] for stage in self.trace() if stage["Stage"] == "connecting"]
        self.assertIn("pool2.contoso.test:5061", connecting[0], self.trace())
        self.assertEqual(self.get_property(ACCOUNT, "Server"), "pool1.contoso.test:5061")
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")

    def test_deregistration_by_benotify(self):
        self.sign_in()
        result = self.ctl.deregister(user="alice", event="rejected", method="BENOTIFY")
        self.assertEqual(result["answers"], [None])
        self.wait_for_state("failed")
        self.assertEqual(self.get_property(ACCOUNT, "LastError"),
                         ERROR_PREFIX + "AccountDisabled")

    def test_scenario_sa_lifetime_authenticates_again(self):
        self.ctl.set_timers(expires=4, sa_lifetime=3)
        self.sign_in(server="pool1.contoso.test")
        self.ctl.reset_counters()
        # re-REGISTER every 2 s; the SA dies after 3 s: a 401, then a fresh NTLM handshake
        self.wait_for(lambda: self.count("requests", "REGISTER") >= 5, "re-authentication")
        self.assertEqual(self.state(), "signed-in")
        self.assertEqual(self.counters()["active_registrations"], 1)
        self.assertEqual(self.counters().get("auth_failures", {}), {})
        self.assertIn("asks for authentication again", self.daemon_log())


class ServerTimeoutTest(SignInTestCase):
    def test_504_registers_again_on_the_same_connection(self):
        self.ctl.set_503(registrar="pool1", retry_after=1, count=2, code=504)
        self.configure_alice(server="pool1.contoso.test")
        watcher = self.watch_account()
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("signed-in")
        # docs/protocol.md §10.2: a 504 is the server's time-out, not a broken connection
        self.assertEqual(self.count("tcp_connections", "pool1.contoso.test:5061"), 1)
        self.assertNotIn("reconnecting", watcher.values("State"))
        messages = watcher.values("LastErrorMessage")
        self.assertTrue(any("504" in message for message in messages), messages)
        self.assertEqual(self.get_property(ACCOUNT, "LastError"), "")
        self.assertEqual(self.counters()["active_registrations"], 1)

    def test_504_six_times_is_handled_as_unavailable(self):
        self.ctl.set_503(registrar="pool1", retry_after=1, code=504)  # until cleared
        self.configure_alice(server="pool1.contoso.test")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("reconnecting", timeout=30)
        self.assertEqual(self.count("registers", "alice"), 7)  # the first and six more
        self.assertIn("504", self.get_property(ACCOUNT, "LastErrorMessage"))
        self.ctl.clear_503(registrar="pool1")
        self.wait_for_state("signed-in")
        self.assertEqual(self.counters()["active_registrations"], 1)


class NetworkTest(SignInTestCase):
    """GNetworkMonitor inside testnet: the network is "available" while the namespace has its
    default route (build-aux/testnet adds one on lo); deleting it takes the network away."""

    def set_network(self, available):
        subprocess.run(["ip", "route", "add" if available else "del", "default", "dev", "lo"],
                       check=True)

    def restore_network(self):
        subprocess.run(["ip", "route", "replace", "default", "dev", "lo"], check=True)

    def test_offline_waits_quietly_and_retries_when_the_network_is_back(self):
        self.sign_in(server="pool1.contoso.test")
        self.assert_signed_in()
        self.addCleanup(self.restore_network)
        self.set_network(False)
        self.wait_for(lambda: "The network is unavailable" in self.daemon_log(),
                      "sfbd noticing the network going away")
        self.ctl.reset_counters()
        self.ctl.drop_connections(user="alice")
        self.wait_for_state("reconnecting")
        # loopback still works, so any attempt would reach sfbsim: sfbd decides to make none
        # (no retry timer) until the network changes
        self.wait_for(lambda: "; will retry when the network is back" in self.daemon_log(),
                      "sfbd deciding to wait for the network")
        self.assertEqual(self.get_property(ACCOUNT, "NextRetry"), 0)
        self.assertEqual(self.counters().get("tcp_connections", {}), {})
        self.assertEqual(self.state(), "reconnecting")
        self.set_network(True)
        self.wait_for_state("signed-in")
        self.assertEqual(self.count("tcp_connections", "pool1.contoso.test:5061"), 1)
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")


class AutoSignInTest(SignInTestCase):
    def restart_daemon(self, auto_sign_in):
        self.configure({"Account.AutoSignIn": GLib.Variant("b", auto_sign_in)})
        self.stop_process(self.daemon)
        self.daemon = self.start_daemon()

    def new_daemon_log(self):
        """The log of the sfbd restart_daemon() started (not of the one before it)."""
        with open(self.log_paths[-1], encoding="utf-8", errors="replace") as log:
            return log.read()

    def test_auto_sign_in_at_start_without_blocking(self):
        self.configure_alice(server="pool1.contoso.test")
        # a sign-in that cannot end: its first REGISTER waits in sfbsim until released
        self.ctl.hold_requests(user="alice")
        self.addCleanup(self.ctl.release_requests)
        self.restart_daemon(True)
        self.wait_for(lambda: self.ctl.held_requests(user="alice"), "signing in by itself")
        # the bus answers while the sign-in is under way
        self.assertIn(self.state(), ("connecting", "authenticating"))
        self.assertEqual(self.ctl.release_requests(user="alice"), 1)
        self.wait_for_state("signed-in")
        self.assertEqual(self.counters()["active_registrations"], 1)

    def test_no_auto_sign_in_when_off(self):
        self.configure_alice(server="pool1.contoso.test")
        self.restart_daemon(False)
        # sfbd decides once, as it takes its bus name: after this line nothing signs it in
        self.wait_for(lambda: "AutoSignIn is off" in self.new_daemon_log(),
                      "the AutoSignIn decision")
        self.assertNotIn("AutoSignIn: signing in", self.new_daemon_log())
        self.assertEqual(self.state(), "signed-out")
        self.assertEqual(self.counters().get("registers", {}), {})

    def test_auto_sign_in_without_a_password_stays_quiet(self):
        self.configure({"Account.Uri": string("sip:alice@contoso.test"),
                        "Account.Server": string("pool1.contoso.test"),
                        "Secrets.Store": string("file")})
        self.restart_daemon(True)
        self.wait_for(lambda: "AutoSignIn: no password" in self.daemon_log(), "AutoSignIn")
        self.assertEqual(self.state(), "signed-out")
        self.assertEqual(self.get_property(ACCOUNT, "LastError"), "")


class SleepTest(SignInTestCase):
    """logind's PrepareForSleep, from python3-dbusmock's logind template on a private system
    bus (a fake of the OS, not of sfbd)."""

    def start_system_bus(self):
        config = os.path.join(self.tmp, "system-bus.conf")
        with open(config, "w", encoding="utf-8") as f:
            f.write(BUS_CONFIG.format(dir=self._make_dir("system-bus")))
        bus = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork",
                                "--print-address=1"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(bus.wait)
        self.addCleanup(bus.kill)
        address = bus.stdout.readline().strip()
        bus.stdout.close()
        logind = subprocess.Popen([sys.executable, "-m", "dbusmock", "--system", "--template",
                                   "logind"], env=dict(self.env, DBUS_SYSTEM_BUS_ADDRESS=address),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(logind.wait)
        self.addCleanup(logind.kill)
        connection = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.addCleanup(connection.close_sync, None)
        self.wait_for(lambda: connection.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "NameHasOwner", GLib.Variant("(s)", ("org.freedesktop.login1",)), None,
            Gio.DBusCallFlags.NONE, -1, None).unpack()[0], "the fake logind")
        return address, connection

    def prepare_for_sleep(self, connection, sleeping):
        connection.call_sync("org.freedesktop.login1", "/org/freedesktop/login1",
                             "org.freedesktop.DBus.Mock", "EmitSignal",
                             GLib.Variant("(sssav)", ("org.freedesktop.login1.Manager",
                                                      "PrepareForSleep", "b",
                                                      [GLib.Variant("b", sleeping)])),
                             None, Gio.DBusCallFlags.NONE, -1, None)

    def sfbd_inhibitors(self, connection):
        return [inhibitor for inhibitor in connection.call_sync(
            "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
            "ListInhibitors", None, None, Gio.DBusCallFlags.NONE, -1, None).unpack()[0]
            if inhibitor[1] == "sfbd"]

    def test_resume_reconnects(self):
        address, logind = self.start_system_bus()
        self.stop_process(self.daemon)
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = address
        self.daemon = self.start_daemon()
        self.sign_in(server="pool1.contoso.test")
        self.assert_signed_in()
        self.ctl.reset_counters()
        self.wait_for(lambda: self.sfbd_inhibitors(logind), "sfbd's sleep inhibitor")
        self.prepare_for_sleep(logind, True)
        # sfbd lets sleep go on once it has signed out (unregistered) over the connection it
        # has; by then it has opened none
        self.wait_for(lambda: not self.sfbd_inhibitors(logind), "the inhibitor released")
        self.assertEqual(self.state(), "signed-out")
        self.assertEqual(self.counters()["active_registrations"], 0)
        self.assertEqual(self.counters().get("tcp_connections", {}), {})
        self.prepare_for_sleep(logind, False)
        self.wait_for(lambda: self.count("tcp_connections", "pool1.contoso.test:5061") == 1,
                      "a new connection after resume")
        self.wait_for_state("signed-in")
        self.wait_for(lambda: self.counters()["active_registrations"] == 1, "one registration")
        self.assertIn("Resumed from sleep", self.daemon_log())


class SignInWaitTest(SignInTestCase):
    def test_sign_in_wait_shows_the_stages_live(self):
        self.configure_alice()
        process, stdout, stderr = self.spawn_sfbctl("sign-in", "--wait")
        stdout.wait_for(lambda line: line.startswith("Signed in as"), timeout=WAIT)
        self.assertEqual(process.wait(timeout=WAIT), 0)
        stages = [line.split()[-1] for line in stdout.seen if " s  " in line]
        self.assertEqual(stages[:3], ["signed-out", "discovering", "connecting"])
        for stage in ("authenticating", "redirecting", "signed-in"):
            self.assertIn(stage, stages)
        self.assertLess(stages.index("redirecting"), stages.index("signed-in"))
        self.assertEqual(stages[-1], "signed-in")
        self.assertEqual(stdout.seen[-1],
                         "Signed in as sip:alice@contoso.test on pool1.contoso.test:5061 (ntlm)")

    def test_sign_in_wait_json_ends_with_the_error(self):
        self.configure_alice(password=WRONG_PASSWORD, server="pool1.contoso.test")
        result = self.sfbctl("--json", "sign-in", "--wait")
        self.assertEqual(result.returncode, 1, result)
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        states = [line["State"] for line in lines if "State" in line]
        self.assertEqual(states[-1], "failed")
        self.assertIn("authenticating", states)
        self.assertIn("AuthFailed", result.stdout + result.stderr)


class FakeJournal:
    """journald's two sockets, on a tmpfs over /run/systemd in this test's own mount
    namespace (testnet's): sfbd's stderr is connected to .../stdout, so GLib writes native
    journal datagrams to .../socket, parsed here into dicts."""

    def __init__(self):
        subprocess.run(["mount", "-t", "tmpfs", "sfbd-test-journal", "/run/systemd"], check=True)
        os.makedirs("/run/systemd/journal")
        self.datagrams = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.datagrams.bind("/run/systemd/journal/socket")
        self.datagrams.settimeout(0.1)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind("/run/systemd/journal/stdout")
        self.listener.listen(4)
        self.stream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.stream.connect("/run/systemd/journal/stdout")
        self.accepted, _ = self.listener.accept()
        self.entries = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # drained all the time: a full datagram queue would block sfbd's logging
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self):
        while not self._stop.is_set():
            try:
                entry = self.parse(self.datagrams.recv(1 << 20))
            except socket.timeout:
                continue
            with self._lock:
                self.entries.append(entry)

    def close(self):
        self._stop.set()
        self._thread.join(5)
        for sock in (self.stream, self.accepted, self.listener, self.datagrams):
            sock.close()
        subprocess.run(["umount", "/run/systemd"], check=True)

    @staticmethod
    def parse(data):
        entry, i = {}, 0
        while i < len(data):
            end = data.index(b"\n", i)
            line = data[i:end]
            if b"=" in line:
                key, _, value = line.partition(b"=")
                i = end + 1
            else:  # KEY\n<le64 size><value>\n
                key, size = line, int.from_bytes(data[end + 1:end + 9], "little")
                value = data[end + 9:end + 9 + size]
                i = end + 9 + size + 1
            entry[key.decode()] = value.decode("utf-8", "replace")
        return entry

    def read(self):
        with self._lock:
            return list(self.entries)

    def with_id(self, message_id):
        return [e for e in self.read() if e.get("MESSAGE_ID") == message_id]


class JournalTest(SignInTestCase):
    SIGN_IN = "d34e29102d1b4f32b0fbdebb1aeed7f6"  # daemon/core/sfb-log.h
    SIGN_OUT = "f15062370acd46348d3e3cf13e17cd76"
    AUTH_FAILED = "27f8e635d9ee4fdd9c29f40be68c7287"

    def test_sign_in_sign_out_and_auth_failure_have_message_ids(self):
        journal = FakeJournal()
        self.addCleanup(journal.close)
        self.addCleanup(lambda: self._problems_before == self._count_problems(self._result)
                        or sys.stderr.write("\n---- sfbd journal ----\n" + "\n".join(
                            e.get("MESSAGE", "") for e in journal.read()) + "\n"))
        self.stop_process(self.daemon)
        self.daemon = subprocess.Popen([self.sfbd_path, "--verbose"], env=self.env,
                                       stdin=subprocess.DEVNULL, stdout=journal.stream,
                                       stderr=journal.stream)
        self.daemons.append(self.daemon)
        self.wait_for_owner(lambda owner: owner is not None, self.daemon)

        self.sign_in(server="pool1.contoso.test")
        self.assert_signed_in()
        entry = self.wait_for(lambda: journal.with_id(self.SIGN_IN), "the sign-in entry")[0]
        self.assertEqual(entry["SFB_STATE"], "signed-in")
        self.assertEqual(entry["SFB_SERVER"], "pool1.contoso.test:5061")
        self.assertEqual(entry["SFB_URI"], "sip:alice@contoso.test")
        self.assertEqual(entry["SFB_SIP_STATUS"], "200")
        self.assertEqual(entry["PRIORITY"], "6")

        self.call(ACCOUNT, "SignOut")
        self.wait_for_state("signed-out")
        entry = self.wait_for(lambda: journal.with_id(self.SIGN_OUT), "the sign-out entry")[0]
        self.assertEqual(entry["SFB_STATE"], "signed-out")
        self.assertEqual(entry["SFB_SERVER"], "pool1.contoso.test:5061")

        self.call(ACCOUNT, "SetPassword", (WRONG_PASSWORD, False), "(sb)")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("failed")
        entry = self.wait_for(lambda: journal.with_id(self.AUTH_FAILED), "the failure entry")[0]
        self.assertEqual(entry["SFB_ERROR_NAME"], ERROR_PREFIX + "AuthFailed")
        self.assertEqual(entry["SFB_SIP_STATUS"], "401")
        self.assertEqual(entry["SFB_STATE"], "failed")
        self.assertIn("pool1.contoso.test", entry["SFB_SERVER"])
        self.assertIn("CONTOSO\\alice", entry["MESSAGE"])
        everything = str(journal.read())
        for secret in (PASSWORD, WRONG_PASSWORD, "TlRMTVNTUA"):
            self.assertNotIn(secret, everything)


class FailureReportTest(SignInTestCase):
    """Failures that end and say everything: a user-started sign-in that finds no server
    returns with the reason, NextRetry says when sfbd tries again by itself, each distinct
    failure is one WARNING with SFB_ERROR_NAME, and causes are named."""

    SIGN_OUT = "f15062370acd46348d3e3cf13e17cd76"  # daemon/core/sfb-log.h

    def start_with_journal(self):
        """Restarts sfbd with its output on a FakeJournal; returns the journal."""
        journal = FakeJournal()
        self.addCleanup(journal.close)
        self.stop_process(self.daemon)
        self.daemon = subprocess.Popen([self.sfbd_path, "--verbose"], env=self.env,
                                       stdin=subprocess.DEVNULL, stdout=journal.stream,
                                       stderr=journal.stream)
        self.daemons.append(self.daemon)
        self.wait_for_owner(lambda owner: owner is not None, self.daemon)
        return journal

    @staticmethod
    def warnings(journal, prefix):
        return [e for e in journal.read() if e.get("PRIORITY") == "4"
                and e.get("MESSAGE", "").startswith(prefix)]

    def assert_next_retry_in(self, low, high):
        """NextRetry lies between low and high seconds from now."""
        next_retry = self.get_property(ACCOUNT, "NextRetry")
        left = next_retry / 1e6 - time.time()
        self.assertTrue(low <= left <= high, f"NextRetry is {left:.1f} s away")

    def test_sign_in_wait_returns_with_the_reason_when_no_dns_record_exists(self):
        self.configure_alice()
        self.ctl.dns_fault(mode="nxdomain", names=AUTODISCOVER_NAMES + SRV_NAMES + A_NAMES)
        # ends after the first pass, long before its own 120 s timeout
        result = self.sfbctl("sign-in", "--wait", timeout=WAIT)
        self.assertEqual(result.returncode, 1, result)
        self.assertEqual(self.get_property(ACCOUNT, "LastError"), ERROR_PREFIX + "DiscoveryFailed")
        self.assertIn("_sipinternaltls._tcp.contoso.test", result.stderr)
        self.assertIn("sfbd keeps trying by itself: next attempt ", result.stderr)
        # the network (or DNS) comes back: sfbd signs in unaided
        self.ctl.dns_clear()
        self.wait_for_state("signed-in")
        self.assertEqual(self.get_property(ACCOUNT, "NextRetry"), 0)

    def test_refused_everywhere_shows_next_retry_and_warns_once(self):
        journal = self.start_with_journal()
        self.ctl.stop_pool(pool="pool1")
        self.addCleanup(self.ctl.start_pool, pool="pool1")
        self.configure_alice(server="pool1.contoso.test")
        result = self.sfbctl("sign-in", "--wait", timeout=WAIT)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("Connection refused", result.stderr)
        self.assertIn("pool1.contoso.test:5061", result.stderr)
        self.assertIn("next attempt", result.stderr)
        # retried by itself; NextRetry on the bus, in status and trace
        self.wait_for(lambda: self.get_property(ACCOUNT, "ReconnectAttempts") >= 2
                      and self.get_property(ACCOUNT, "NextRetry") > 0, "two retries")
        self.assert_next_retry_in(-1, 300)
        self.assertIn("Next attempt:", self.sfbctl("status").stdout)
        self.assertIn("Next attempt:", self.sfbctl("trace").stdout)
        # the same failure three times: one WARNING, with the fields of that attempt
        failed = self.warnings(journal, "Sign-in attempt failed")
        self.assertEqual(len(failed), 1, [e["MESSAGE"] for e in failed])
        self.assertEqual(failed[0]["SFB_ERROR_NAME"], ERROR_PREFIX + "NotReachable")
        self.assertEqual(failed[0]["SFB_SERVER"], "pool1.contoso.test:5061")
        self.assertNotIn("SFB_SIP_STATUS", failed[0])
        self.assertEqual(failed[0]["SFB_STATE"], "reconnecting")
        retried = [e for e in journal.read()
                   if e.get("MESSAGE", "").startswith("Sign-in attempt failed")]
        self.assertGreaterEqual(len(retried), 2)
        self.assertTrue(all(e["PRIORITY"] == "6" for e in retried[1:]), retried)

    def test_503_retry_after_shows_when_the_retry_will_be(self):
        self.ctl.set_503(registrar="pool1", retry_after=120, count=1)
        self.configure_alice(server="pool1.contoso.test")
        result = self.sfbctl("sign-in", "--wait", timeout=WAIT)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("503", result.stderr)
        self.assertRegex(result.stderr, r"next attempt \d\d:\d\d:\d\d \(in (1 min 5\d|2 min 0) s\)")
        self.assert_next_retry_in(100, 121)
        self.assertIn("Next attempt:", self.sfbctl("status").stdout)

    def test_srv_target_that_does_not_resolve_is_named(self):
        journal = self.start_with_journal()
        self.configure_alice()
        self.ctl.dns_fault(mode="nxdomain", names=AUTODISCOVER_NAMES + A_NAMES + [DIRECTOR])
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("reconnecting")
        message = self.get_property(ACCOUNT, "LastErrorMessage")
        self.assertIn(f"{DIRECTOR}, named by an SRV record of contoso.test, has no address",
                      message)
        failed = self.wait_for(lambda: self.warnings(journal, "Sign-in attempt failed"),
                               "the warning")
        self.assertIn(f"{DIRECTOR}, named by an SRV record", failed[0]["MESSAGE"])

    def expired_certificate_at_the_home_pool(self):
        """Signs in through discovery and the Director's 301 (pool1 becomes the home pool),
        then makes a new sfbd (no TLS session to resume, so the certificate is checked) meet
        an expired certificate there; returns its journal."""
        self.sign_in(server=None)
        self.assert_signed_in()
        # before the restart: an AutoSignIn must not leave a session to resume
        self.ctl.set_certificate(variant="expired")
        journal = self.start_with_journal()
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("failed")
        return journal

    def test_expired_certificate_says_when_it_expired(self):
        self.expired_certificate_at_the_home_pool()
        message = self.get_property(ACCOUNT, "LastErrorMessage")
        self.assertRegex(message, r"it expired on \d{4}-\d\d-\d\d \d\d:\d\d UTC")
        self.assertTrue(any(time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * 86400))
                            in message for days in (1, 2)), message)

    def test_certificate_failure_entry_carries_the_fields_of_its_attempt(self):
        journal = self.expired_certificate_at_the_home_pool()
        entry = self.wait_for(lambda: [e for e in journal.with_id(self.SIGN_OUT)
                                       if e.get("SFB_STATE") == "failed"], "the failure")[-1]
        self.assertEqual(entry["SFB_ERROR_NAME"], ERROR_PREFIX + "CertificateInvalid")
        self.assertEqual(entry["SFB_SERVER"], "pool1.contoso.test:5061")
        self.assertNotIn("SFB_SIP_STATUS", entry)  # no REGISTER was answered in this attempt

    def test_wrong_name_certificate_says_which_names_it_carries(self):
        self.ctl.set_certificate(variant="wrong-name")
        self.assertEqual(self.sign_in(server="pool1.contoso.test"), "failed")
        self.assertIn("it is for wrong-name.invalid",
                      self.get_property(ACCOUNT, "LastErrorMessage"))

    def test_tampered_signatures_are_signature_invalid_and_backed_off(self):
        self.ctl.set_timers(expires=4)  # a re-REGISTER every 2 s brings a signed 200
        self.sign_in(server="pool1.contoso.test")
        watcher = self.watch_account()
        for attempt in (1, 2):
            self.wait_for_state("signed-in")
            self.assertGreaterEqual(self.ctl.tamper_signatures(user="alice", count=1), 1)
            self.wait_for(lambda: watcher.values("LastError").count(
                ERROR_PREFIX + "SignatureInvalid") >= attempt, f"failure {attempt}")
        self.assertEqual(self.state(), "reconnecting")
        message = self.get_property(ACCOUNT, "LastErrorMessage")
        self.assertIn("failed signature verification", message)
        self.assertIn("a proxy", message)
        # the second in a row: not another full logon within seconds
        self.assert_next_retry_in(20, 31)

    def test_deregistration_reasons_are_mapped_and_server_text_cleaned(self):
        cases = [
            ("unregistered", '4140;reason="Removed by administrator"',
             "an administrator removed this sign-in", "too many devices"),
            ("no-such-event", None, "the server gave no reason", "too many devices"),
            ("unregistered", '4999;reason="evil\u202egnp.exe\u2066 \x07bell"',
             'the server says "evil gnp.exe bell"', "\u202e"),
        ]
        for event, diagnostics, expected, absent in cases:
            with self.subTest(event=event, diagnostics=diagnostics):
                self.sign_in()
                self.ctl.deregister(user="alice", event=event, diagnostics=diagnostics)
                self.wait_for_state("signed-out")
                message = self.get_property(ACCOUNT, "LastErrorMessage")
                self.assertIn(expected, message)
                self.assertNotIn(absent, message)
                self.assertFalse(any(ord(c) < 0x20 or 0x2066 <= ord(c) <= 0x2069
                                     or 0x202a <= ord(c) <= 0x202e for c in message), message)


class SecretsTest(SignInTestCase):
    def test_no_password_or_ntlm_material_in_log_or_on_the_bus(self):
        monitor_path = os.path.join(self.tmp, "dbus-monitor.txt")
        with open(monitor_path, "w", encoding="utf-8") as out:
            monitor = subprocess.Popen(
                ["dbus-monitor", "--address", self.env["DBUS_SESSION_BUS_ADDRESS"]],
                stdout=out, stderr=subprocess.STDOUT)
        self.addCleanup(monitor.wait)
        self.addCleanup(monitor.kill)

        def monitor_output():
            with open(monitor_path, encoding="utf-8", errors="replace") as f:
                return f.read()

        # the bus tells a new monitor it lost its names: from then on it sees every message
        self.wait_for_value(monitor_output, lambda output: "member=NameLost" in output,
                            "dbus-monitor's NameLost")
        self.ctl.set_timers(expires=4)
        self.sign_in()
        self.ctl.expire_sa(user="alice")  # a second NTLM handshake on the same connection
        self.wait_for(lambda: self.count("requests", "REGISTER") >= 9, "re-authentication")
        self.sfbctl("--json", "status")
        self.sfbctl("trace")
        self.call(ACCOUNT, "SetPassword", (WRONG_PASSWORD, False), "(sb)")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("failed")
        self.stop_process(self.daemon)
        monitor.terminate()
        monitor.wait()
        with open(monitor_path, encoding="utf-8", errors="replace") as f:
            blocks = []  # one per message: its header line and its indented arguments
            for line in f:
                if line.startswith((" ", "\t")) and blocks:
                    blocks[-1] += line
                else:
                    blocks.append(line)
        log = self.daemon_log()
        self.assertIn("sfbd-sip-trace", log)             # the SIP dumps were there to search
        self.assertIn("gssapi-data", log)
        # the password travels in the SetPassword calls, and nowhere else
        set_password = [b for b in blocks if "member=SetPassword" in b.split("\n", 1)[0]]
        self.assertEqual(len(set_password), 2, set_password)
        self.assertIn(PASSWORD, set_password[0])          # the monitor did see the arguments
        others = "".join(b for b in blocks if b not in set_password)
        self.assertIn("signed-in", others)
        secrets = [PASSWORD, WRONG_PASSWORD, "TlRMTVNTUA"]  # "NTLMSSP\0" opens every token
        for password in (PASSWORD, WRONG_PASSWORD):
            nt_hash = MD4.new(password.encode("utf-16-le")).hexdigest()  # the NTLM key
            secrets += [nt_hash, nt_hash.upper()]
        for secret in secrets:
            self.assertNotIn(secret, log)
            self.assertNotIn(secret, others)

if __name__ == "__main__":
    unittest.main(verbosity=2)
