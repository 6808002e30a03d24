# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sign-in (issue 4): the real sfbd against the real sfbsim, inside build-aux/testnet.

The module re-executes itself under build-aux/testnet (a private network namespace whose
resolv.conf points at sfbsim's DNS), starts one sfbsim for all tests and puts it back to its
defaults before each test.  Every test has its own bus and sfbd (sfbd_testcase.py).
"""

import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
TESTNET = os.path.join(SOURCE_ROOT, "build-aux", "testnet")
SFBSIM = os.path.join(SOURCE_ROOT, "tests", "sfbsim", "sfbsim")

if os.environ.get("SFBD_TESTNET") != "1":
    # testnet needs root; its own message says so and the test fails (never skips)
    os.execv(TESTNET, [TESTNET, sys.executable, os.path.abspath(__file__), *sys.argv[1:]])

sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "sfbsim"))

from gi.repository import GLib  # noqa: E402

from sfbd_testcase import ACCOUNT, ERROR_PREFIX, INTERFACES, SfbdTestCase  # noqa: E402
from sim.control import SimControl  # noqa: E402

PASSWORD = "Passw0rd!"  # alice's password in tests/sfbsim/scenarios/default.toml
WRONG_PASSWORD = "not-alices-password-42"
DIRECTOR = "director.contoso.test"
WAIT = 20  # seconds for a sign-in that takes milliseconds

SIM = {}


def setUpModule():
    workdir = tempfile.mkdtemp(prefix="sfbsim-signin-")
    log = open(os.path.join(workdir, "sfbsim.out"), "w", encoding="utf-8")
    process = subprocess.Popen([sys.executable, SFBSIM, "--workdir", workdir],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(workdir, "ready")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            with open(os.path.join(workdir, "sfbsim.out"), encoding="utf-8") as out:
                raise RuntimeError(f"sfbsim did not start: {out.read()}")
        time.sleep(0.05)
    env = {}
    with open(os.path.join(workdir, "sfbsim.env"), encoding="utf-8") as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                env[key] = value.strip("'")
    SIM.update(process=process, workdir=workdir, env=env, log=log,
               ctl=SimControl(workdir))


def tearDownModule():
    process = SIM.get("process")
    if process is not None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        SIM["log"].close()


def string(value):
    return GLib.Variant("s", value)


class SignInTestCase(SfbdTestCase):
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
        settings = {"Account.Uri": string("sip:alice@contoso.test"),
                    "Account.Login": string("CONTOSO\\alice"),
                    "TLS.CAFile": string(SIM["env"]["SFBSIM_CA_FILE"]),
                    "Secrets.Store": string("file")}
        if server is not None:
            settings["Account.Server"] = string(server)
        self.configure(settings)
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

    def wait_for(self, predicate, what, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        self.fail(f"{what} did not happen within {timeout} s")

    def sign_in(self, **kwargs):
        """Signs alice in; through the Director (and its redirect) unless told otherwise."""
        kwargs.setdefault("server", DIRECTOR)
        self.configure_alice(**kwargs)
        self.call(ACCOUNT, "SignIn")
        return self.wait_for_state("signed-in", "failed")

    def trace(self):
        return self.call(ACCOUNT, "GetSignInTrace")[0]

    def counters(self):
        return self.ctl.counters()

    def count(self, name, key="*"):
        """One sfbsim counter ("*" = the total of a counter bumped without a key)."""
        return self.counters().get(name, {}).get(key, 0)

    def alice_endpoints(self):
        return self.ctl.endpoints(user="alice")

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
        self.assertEqual(names[-1], "registered")
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
        self.wait_for(lambda: self.trace()[-1]["Stage"] == "registered"
                      and self.state() == "signed-in", "signing in again")
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
        self.assertEqual([name for name in queried if not name.startswith("pool1.")], [],
                         "discovery lookups despite Account.Server")

    def test_wrong_password_fails_once_and_is_not_retried(self):
        self.assertEqual(self.sign_in(password=WRONG_PASSWORD, server="pool1.contoso.test"),
                         "failed")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["LastError"], ERROR_PREFIX + "AuthFailed")
        self.assertIn("CONTOSO\\alice", self.sfbctl("status").stdout)
        self.assertEqual(self.counters()["auth_failures"], {"alice": 1})
        # no automatic retry: a while later still one failure, still failed
        time.sleep(3)
        self.assertEqual(self.counters()["auth_failures"], {"alice": 1})
        self.assertEqual(self.state(), "failed")
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

    def test_rejected_deregistration_is_account_disabled(self):
        self.sign_in()
        result = self.ctl.deregister(user="alice", event="rejected")
        self.assertEqual(result["answers"], [200])
        self.wait_for_state("failed")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["LastError"], ERROR_PREFIX + "AccountDisabled")
        self.assertIn("User disabled", account["LastErrorMessage"])

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
