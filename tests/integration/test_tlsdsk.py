# SPDX-License-Identifier: LGPL-2.1-or-later
"""TLS-DSK sign-in with certificate provisioning (Account.Auth=tls-dsk): the real sfbd against
the real sfbsim (web ticket service, provisioning CA, TLS-DSK registrars), inside
build-aux/testnet.  The registrars offer TLS-DSK and NTLM (control action set_auth).
"""

import os
import re
import stat

import sim_fixture

sim_fixture.enter_testnet(__file__)  # testnet needs root; without it the test fails

import unittest  # noqa: E402

import test_signin as base  # noqa: E402  (the sfbsim fixture and SignInTestCase)
from sfbd_testcase import ACCOUNT  # noqa: E402

PASSWORD = base.PASSWORD
POOL = "pool1.contoso.test"


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


class TlsDskTestCase(base.SignInTestCase):
    def setUp(self):
        ctl = base.SIM["ctl"]
        ctl.set_auth(schemes=["TLS-DSK", "NTLM"])
        ctl.set_provisioning(up=True)
        ctl.set_cert_lifetime(seconds=180 * 86400)
        self.addCleanup(ctl.set_auth, schemes=["NTLM"])
        self.addCleanup(ctl.set_provisioning, up=True)
        self.addCleanup(ctl.set_cert_lifetime, seconds=180 * 86400)
        super().setUp()

    def trace_text(self):
        return "\n".join(f"{stage['Stage']}: {stage['Detail']}" for stage in self.trace())

    def configure_auth(self, auth):
        self.configure({"Account.Auth": base.string(auth)})

    def sign_in_with(self, auth, server=POOL):
        self.configure_alice(server=server)
        self.configure_auth(auth)
        self.call(ACCOUNT, "SignIn")
        return self.wait_for_state("signed-in", "failed")

    def provisionings(self):
        return self.count("cert_provisionings", "alice")

    def certificate_file(self):
        return os.path.join(self.state_dir, "tls-dsk", "alice@contoso.test.pem")

    def restart_daemon(self):
        self.stop_process(self.daemon)
        self.daemon = self.start_daemon()

    def assert_tlsdsk_signed_in(self):
        account = self.assert_signed_in()
        self.assertEqual(account["AuthMethod"], "tls-dsk")
        counters = self.counters()
        self.assertNotIn("signature_failures", counters)
        self.assertNotIn("tlsdsk_failures", counters)
        self.assertGreaterEqual(counters.get("tlsdsk_handshakes", {}).get("alice", 0), 1)
        return account

    def assert_no_secret(self):
        log = self.daemon_log()
        self.assertNotIn(PASSWORD, log)
        self.assertNotIn("PRIVATE KEY", log)
        self.assertNotIn("saml:Assertion", log)
        self.assertNotIn("BinarySecret", log)
        account = self.get_all_properties(ACCOUNT)
        for value in account.values():
            self.assertNotIn(PASSWORD, str(value))
        self.assertNotIn(PASSWORD, self.trace_text())


class TlsDskSignInTest(TlsDskTestCase):
    def test_first_sign_in_provisions_and_later_ones_reuse(self):
        self.assertEqual(self.sign_in_with("tls-dsk"), "signed-in", self.trace_text())
        self.assert_tlsdsk_signed_in()
        self.assertEqual(self.provisionings(), 1)
        trace = self.trace_text()
        self.assertIn("TLS-DSK certificate provisioned: ", trace)
        self.assertIn("CN=alice@contoso.test", trace)
        self.assertIn("valid until ", trace)
        path = self.certificate_file()
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        self.assert_no_secret()
        self.assert_https_closed_by_sfbd()  # the web ticket's and provisioning's

        # a new sfbd: the stored certificate, no provisioning round trip
        self.restart_daemon()
        self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.wait_for_state("signed-in", "failed"), "signed-in",
                         self.trace_text())
        self.assert_tlsdsk_signed_in()
        self.assertEqual(self.provisionings(), 1)
        trace = self.trace_text()
        self.assertIn("TLS-DSK certificate reused: ", trace)
        self.assertNotIn("provisioned", trace)
        self.assert_no_secret()

    def test_auto_provisions_and_uses_tls_dsk_when_offered(self):
        self.assertEqual(self.sign_in_with("auto", server=base.DIRECTOR), "signed-in",
                         self.trace_text())
        self.assert_tlsdsk_signed_in()
        self.assertEqual(self.provisionings(), 1)
        self.assertIn("chosen: TLS-DSK (Auth=auto: TLS-DSK with a certificate to provision)",
                      self.trace_text())

    def test_certificate_near_expiry_is_provisioned_again(self):
        base.SIM["ctl"].set_cert_lifetime(seconds=1800)  # within the hour: not reused
        self.assertEqual(self.sign_in_with("tls-dsk"), "signed-in", self.trace_text())
        self.assertEqual(self.provisionings(), 1)
        base.SIM["ctl"].set_cert_lifetime(seconds=180 * 86400)
        self.restart_daemon()
        self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.wait_for_state("signed-in", "failed"), "signed-in",
                         self.trace_text())
        self.assert_tlsdsk_signed_in()
        self.assertEqual(self.provisionings(), 2)
        self.assertIn("TLS-DSK certificate provisioned: ", self.trace_text())


class TlsDskFaultTest(TlsDskTestCase):
    def test_provisioning_down_falls_back_to_ntlm_under_auto(self):
        base.SIM["ctl"].set_provisioning(up=False)
        self.assertEqual(self.sign_in_with("auto"), "signed-in", self.trace_text())
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["AuthMethod"], "ntlm")
        trace = self.trace_text()
        self.assertIn("TLS-DSK failed", trace)
        self.assertIn("chosen: NTLM (Auth=auto: TLS-DSK failed in this sign-in; ", trace)
        self.assertEqual(self.provisionings(), 0)
        self.assertFalse(os.path.exists(self.certificate_file()))
        self.assert_no_secret()

    def test_provisioning_down_with_auth_tls_dsk_is_not_ntlm(self):
        base.SIM["ctl"].set_provisioning(up=False)
        self.configure_alice(server=POOL)
        self.configure_auth("tls-dsk")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("reconnecting", "failed")
        self.assertEqual(self.get_property(ACCOUNT, "LastError"),
                         "org.sfbd.Sfbd.Error.NotReachable")
        self.assertNotIn("auth_failures", self.counters())

    def test_provisioning_failure_with_nothing_else_offered_names_the_cause(self):
        # Auth=auto, the server offers only TLS-DSK and its provisioning service is down:
        # not AuthFailed ("credentials refused") but the service's answer, and what to do
        self.ctl.set_auth(schemes=["TLS-DSK"])
        base.SIM["ctl"].set_provisioning(up=False)
        self.configure_alice(server=POOL)
        self.configure_auth("auto")
        self.call(ACCOUNT, "SignIn")
        self.wait_for_state("reconnecting", "failed")
        account = self.get_all_properties(ACCOUNT)
        self.assertNotEqual(account["LastError"], "org.sfbd.Sfbd.Error.AuthFailed")
        message = account["LastErrorMessage"]
        self.assertIn("TLS-DSK certificate provisioning at https://", message)
        self.assertIn("HTTP 503", message)
        self.assertIn("administrator", message)
        self.assertIn("offers only TLS-DSK", message)
        self.assertNotIn("auth_failures", self.counters())

    def test_wrong_password_is_not_tried_with_ntlm(self):
        self.configure_alice(password=base.WRONG_PASSWORD, server=POOL)
        self.configure_auth("auto")
        self.call(ACCOUNT, "SignIn")
        self.assertEqual(self.wait_for_state("failed", "signed-in"), "failed")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["LastError"], "org.sfbd.Sfbd.Error.AuthFailed")
        self.assertIn("refused the password", account["LastErrorMessage"])
        counters = self.counters()
        self.assertEqual(counters.get("registers", {}).get("alice"), 1)  # no NTLM REGISTER
        self.assertNotIn(base.WRONG_PASSWORD, self.daemon_log())

    def test_tampered_server_signature_drops_the_connection(self):
        self.ctl.set_timers(expires=4)  # a re-REGISTER every 2 s brings a signed 200
        self.assertEqual(self.sign_in_with("tls-dsk"), "signed-in", self.trace_text())
        self.assert_tlsdsk_signed_in()
        watcher = self.watch_account()
        connections = self.count("tcp_connections", f"{POOL}:5061")
        self.assertGreaterEqual(self.ctl.tamper_signatures(user="alice", count=1), 1)
        self.wait_for(lambda: self.count("tcp_connections", f"{POOL}:5061") > connections,
                      "a new connection")
        self.wait_for_state("signed-in")
        errors = watcher.values("LastErrorMessage")
        self.assertTrue(any("signature" in message for message in errors), errors)
        self.assertEqual(self.get_property(ACCOUNT, "AuthMethod"), "tls-dsk")
        self.assertEqual(self.provisionings(), 1)


class AutodiscoverWebTicketTest(base.SignInTestCase):
    """The autodiscover User resource behind a web ticket (docs/protocol.md §2.2)."""

    def setUp(self):
        super().setUp()
        self.ctl.set_autodiscover(user_webticket=True)
        self.addCleanup(self.ctl.set_autodiscover, user_webticket=False)

    def autodiscover_lines(self):
        """The discovery stage's autodiscover lines ("; "-joined with the others), once both
        autodiscover lookups answered (they may end after an SRV candidate signed in)."""
        def lines():
            detail = self.stage("discovering")["Detail"]
            found = re.findall(r"(Autodiscover lyncdiscover\S*: .*?)(?=; (?:Autodiscover|SRV|A) |$)",
                               detail)
            return found if len(found) >= 2 else None
        return self.wait_for(lines, "the autodiscover lines in the trace")

    def test_user_resource_answers_after_a_web_ticket(self):
        self.assertEqual(self.sign_in(server=None), "signed-in")
        self.assert_signed_in()
        internal = [line for line in self.autodiscover_lines()
                    if line.startswith("Autodiscover lyncdiscoverinternal.contoso.test")]
        self.assertEqual(len(internal), 1, internal)
        self.assertIn("-> User (lyncdiscoverinternal.contoso.test) -> web ticket -> User", internal[0])
        self.assertIn("director.contoso.test:5061 (autodiscover", internal[0])
        self.assertGreaterEqual(self.count("webtickets", "alice"), 1)
        self.assert_https_closed_by_sfbd()  # autodiscover's and the web ticket's
        log = self.daemon_log()
        self.assertNotIn("saml:Assertion", log)
        self.assertNotIn("X-MS-WebTicket:", log)
        self.assertNotIn(PASSWORD, log)

    def test_wrong_password_gets_no_ticket_and_discovery_falls_back_to_dns(self):
        # the SIP sign-in's REGISTERs wait in sfbsim until autodiscover has ended (else the
        # SIP sign-in, failing, would cancel it)
        self.ctl.hold_requests(user="alice")
        self.addCleanup(self.ctl.release_requests)
        self.configure_alice(server=None, password=base.WRONG_PASSWORD)
        self.call(ACCOUNT, "SignIn")
        lines = self.autodiscover_lines()
        self.assertGreaterEqual(self.ctl.release_requests(user="alice"), 1)
        self.assertEqual(self.wait_for_state("signed-in", "failed"), "failed")
        account = self.get_all_properties(ACCOUNT)
        # not DiscoveryFailed: the SRV records still name the Director
        self.assertEqual(account["LastError"], base.ERROR_PREFIX + "AuthFailed")
        for line in lines:
            self.assertIn("401: no web ticket", line)
            self.assertIn("no result from autodiscover", line)
        # the password was tried at a server DNS named
        self.assertRegex(self.stage("connecting")["Detail"], r"\((srv|a-record)\b")
        self.assertEqual(self.count("webtickets", "alice"), 0)
        self.assertGreaterEqual(self.count("webticket_auth_failures"), 1)
        self.assertNotIn(base.WRONG_PASSWORD, self.daemon_log())
        self.assert_https_closed_by_sfbd()  # failed: nothing left open either


if __name__ == "__main__":
    unittest.main(verbosity=2)
