# SPDX-License-Identifier: LGPL-2.1-or-later
"""Kerberos sign-in and the auth choice (Account.Auth): the real sfbd against the real
sfbsim with its MIT KDC, inside build-aux/testnet.

sfbd gets sfbsim's krb5.conf (KRB5_CONFIG) and a credential cache of its own (KRB5CCNAME,
empty unless a test runs kinit).  The registrars offer Kerberos and NTLM (control action
set_auth) unless a test says otherwise.
"""

import os
import subprocess

import sim_fixture

sim_fixture.enter_testnet(__file__)  # testnet needs root; without it the test fails

import unittest  # noqa: E402

import test_signin as base  # noqa: E402  (the sfbsim fixture and SignInTestCase)
from sfbd_testcase import ACCOUNT  # noqa: E402
from sim_testcase import kerberos_env  # noqa: E402

PASSWORD = base.PASSWORD
REALM = "CONTOSO.TEST"


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


class KerberosTestCase(base.SignInTestCase):
    def _make_env(self):
        env = super()._make_env()
        env.update(kerberos_env(self.tmp))
        return env

    def setUp(self):
        ctl = base.SIM["ctl"]
        ctl.start_kdc()
        ctl.set_auth(schemes=["NTLM", "Kerberos"])
        self.addCleanup(ctl.set_auth, schemes=["NTLM"])
        self.addCleanup(ctl.start_kdc)
        super().setUp()

    def configure_auth(self, auth):
        self.configure({"Account.Auth": base.string(auth)})

    def kinit(self, password=PASSWORD):
        r = subprocess.run(["kinit", f"alice@{REALM}"], input=password + "\n", text=True,
                           env=self.env, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def trace_text(self):
        return "\n".join(f"{stage['Stage']}: {stage['Detail']}" for stage in self.trace())

    def assert_kerberos_signed_in(self, round_trips):
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["State"], "signed-in", account["LastErrorMessage"])
        self.assertEqual(account["AuthMethod"], "kerberos")
        counters = self.counters()
        self.assertEqual(counters["signin_round_trips"], {"alice": [round_trips]})
        self.assertGreaterEqual(counters.get("kerberos_logons", {}).get("alice", 0), 1)
        self.assertNotIn("signature_failures", counters)
        self.assertNotIn("auth_failures", counters)
        return account

    def assert_no_secret_in_log(self):
        log = self.daemon_log()
        self.assertNotIn(PASSWORD, log)


class KerberosSignInTest(KerberosTestCase):
    def test_with_the_stored_password(self):
        self.configure_alice()
        self.configure_auth("kerberos")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("signed-in", "failed")
        # 2 REGISTERs at the Director (signed 301), 2 at pool1
        self.assert_kerberos_signed_in(4)
        trace = self.trace_text()
        self.assertIn("chosen: Kerberos (Auth=kerberos: Kerberos with the password)", trace)
        self.assertIn(f"Kerberos service ticket for alice@{REALM} (credentials from the "
                      "password)", trace)
        self.assertIn("security association established (Kerberos)", trace)
        self.assert_no_secret_in_log()
        # the password's ticket stays in memory: the user's ccache is untouched
        self.assertFalse(os.path.exists(f"{self.tmp}/krb5cc"))

    def test_no_password_or_token_in_log_trace_or_on_the_bus(self):
        monitor_path = os.path.join(self.tmp, "dbus-monitor.txt")

        def monitor_output():
            with open(monitor_path, encoding="utf-8", errors="replace") as f:
                return f.read()

        with open(monitor_path, "w", encoding="utf-8") as out:
            monitor = subprocess.Popen(
                ["dbus-monitor", "--address", self.env["DBUS_SESSION_BUS_ADDRESS"]],
                stdout=out, stderr=subprocess.STDOUT)
        self.addCleanup(monitor.wait)
        self.addCleanup(monitor.kill)
        # the bus tells a new monitor it lost its names: from then on it sees every message
        self.wait_for_value(monitor_output, lambda output: "member=NameLost" in output,
                            "dbus-monitor's NameLost")
        self.ctl.set_timers(expires=4)
        self.configure_alice(server="pool1.contoso.test")
        self.configure_auth("kerberos")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("signed-in", "failed")
        self.assert_kerberos_signed_in(2)
        logons = self.counters()["kerberos_logons"]["alice"]
        self.ctl.expire_sa(user="alice")  # a second AP-REQ on the same connection
        self.wait_for(lambda: self.counters()["kerberos_logons"]["alice"] > logons,
                      "re-authentication")
        self.wait_for_state("signed-in")
        trace = str(self.trace())
        self.sfbctl("--json", "status")
        self.call(ACCOUNT, "SetPassword", (base.WRONG_PASSWORD, False), "(sb)")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("failed")
        trace += str(self.trace())
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
        # the password travels in the SetPassword calls, and nowhere else
        set_password = [b for b in blocks if "member=SetPassword" in b.split("\n", 1)[0]]
        self.assertEqual(len(set_password), 2, set_password)
        self.assertIn(PASSWORD, set_password[0])  # the monitor did see the arguments
        bus = "".join(b for b in blocks if b not in set_password)
        self.assertIn("signed-in", bus)
        log = self.daemon_log()
        self.assertIn("sfbd-sip-trace", log)  # the SIP dumps were there to search
        self.assertIn("Authorization: Kerberos", log)  # the REGISTERs that carried tokens
        self.assertIn("security association established (Kerberos)", trace)
        # every krb5 GSS token (AP-REQ) carries the mech OID 1.2.840.113554.1.2.2 at the
        # same offset: base64 "KoZIhvcSAQIC"
        for secret in (PASSWORD, base.WRONG_PASSWORD, "KoZIhvcSAQIC"):
            self.assertNotIn(secret, log)
            self.assertNotIn(secret, trace)
            self.assertNotIn(secret, bus)

    def test_with_a_ccache_from_kinit_and_no_password(self):
        self.kinit()
        self.configure({"Account.Uri": base.string("sip:alice@contoso.test"),
                        "Account.Login": base.string("CONTOSO\\alice"),
                        "Account.Server": base.string("pool1.contoso.test"),
                        "TLS.CAFile": base.string(base.SIM["env"]["SFBSIM_CA_FILE"]),
                        "Secrets.Store": base.string("file")})
        self.call(ACCOUNT, "SignIn")  # no password stored: the ticket is enough
        self.wait_for_state("signed-in", "failed")
        self.assert_kerberos_signed_in(2)
        trace = self.trace_text()
        self.assertIn("chosen: Kerberos (Auth=auto: TLS-DSK not offered by the server; Kerberos "
                      "with a ticket in the credential cache)", trace)
        self.assertIn("credentials from the ccache", trace)

    def test_without_ticket_or_password_sign_in_is_refused(self):
        self.configure({"Account.Uri": base.string("sip:alice@contoso.test"),
                        "TLS.CAFile": base.string(base.SIM["env"]["SFBSIM_CA_FILE"]),
                        "Secrets.Store": base.string("file")})
        message = self.assert_dbus_error(base.ERROR_PREFIX + "NoCredentials", ACCOUNT, "SignIn")
        # both ways out: a Kerberos ticket, or a password
        self.assertIn("kinit", message)
        self.assertIn("sfbctl set-password", message)
        trace = self.sfbctl("trace").stdout
        self.assertIn("Sign-in refused before it started (NoCredentials)", trace)
        self.assertIn("kinit", trace)

    def test_auto_prefers_kerberos_when_offered(self):
        self.sign_in(server="pool1.contoso.test")
        self.assert_kerberos_signed_in(2)

    def test_auto_uses_ntlm_when_kerberos_is_not_offered(self):
        base.SIM["ctl"].set_auth(schemes=["NTLM"])
        self.sign_in(server="pool1.contoso.test")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["AuthMethod"], "ntlm")
        self.assertIn("Kerberos not offered by the server; NTLM with the password",
                      self.trace_text())

    def test_kerberos_not_offered_with_auth_kerberos_fails(self):
        base.SIM["ctl"].set_auth(schemes=["NTLM"])
        self.configure_alice(server="pool1.contoso.test")
        self.configure_auth("kerberos")
        self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.wait_for_state("failed", "signed-in"), "failed")
        account = self.get_all_properties(ACCOUNT)
        # not refused credentials, not a server fault: nothing sfbd may use
        self.assertEqual(account["LastError"], "org.sfbd.Sfbd.Error.NoUsableAuthScheme")
        self.assertIn("Kerberos is not offered by the server", account["LastErrorMessage"])


class KerberosFaultTest(KerberosTestCase):
    def test_kdc_down_falls_back_to_ntlm_under_auto(self):
        base.SIM["ctl"].stop_kdc()
        self.sign_in()
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["State"], "signed-in", account["LastErrorMessage"])
        self.assertEqual(account["AuthMethod"], "ntlm")
        trace = self.trace_text()
        self.assertIn("Kerberos failed", trace)
        self.assertIn("trying the next scheme", trace)
        self.assertIn("chosen: NTLM (Auth=auto: TLS-DSK not offered by the server; Kerberos "
                      "failed in this sign-in; NTLM with the password)", trace)
        self.assertNotIn("kerberos_logons", self.counters())
        self.assert_no_secret_in_log()

    def test_wrong_password_is_not_tried_with_ntlm(self):
        self.sign_in(password=base.WRONG_PASSWORD, server="pool1.contoso.test")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["State"], "failed")
        self.assertEqual(account["LastError"], "org.sfbd.Sfbd.Error.AuthFailed")
        # the KDC refused it; no REGISTER carried a token, so no NTLM attempt either
        counters = self.counters()
        self.assertNotIn("auth_failures", counters)
        self.assertEqual(counters.get("registers", {}).get("alice"), 1)
        self.assertNotIn(base.WRONG_PASSWORD, self.daemon_log())

    def test_kdc_down_with_auth_kerberos_keeps_retrying(self):
        base.SIM["ctl"].stop_kdc()
        self.configure_alice(server="pool1.contoso.test")
        self.configure_auth("kerberos")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("reconnecting")
        self.assertEqual(self.get_property(ACCOUNT, "LastError"),
                         "org.sfbd.Sfbd.Error.NotReachable")
        base.SIM["ctl"].start_kdc()
        self.wait_for_state("signed-in", timeout=60)
        self.assertEqual(self.get_property(ACCOUNT, "AuthMethod"), "kerberos")

    def test_tampered_server_signature_drops_the_connection(self):
        self.ctl.set_timers(expires=4)  # a re-REGISTER every 2 s brings a signed 200
        self.configure_alice(server="pool1.contoso.test")
        self.configure_auth("kerberos")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("signed-in", "failed")
        self.assert_kerberos_signed_in(2)
        watcher = self.watch_account()
        connections = self.count("tcp_connections", "pool1.contoso.test:5061")
        self.assertGreaterEqual(self.ctl.tamper_signatures(user="alice", count=1), 1)
        self.wait_for(lambda: self.count("tcp_connections", "pool1.contoso.test:5061")
                      > connections, "a new connection")
        self.wait_for_state("signed-in")
        errors = watcher.values("LastErrorMessage")
        self.assertTrue(any("signature" in message for message in errors), errors)
        self.assertEqual(self.get_property(ACCOUNT, "AuthMethod"), "kerberos")


if __name__ == "__main__":
    unittest.main(verbosity=2)
