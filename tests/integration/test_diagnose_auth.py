#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbctl diagnose: the authentication, redirection and settings stages
(doc/sfbctl.1.rst, DIAGNOSE), the real sfbd against sfbsim inside build-aux/testnet.  Each
failing check is made by an sfbsim fault (sim/diagnose_faults.py, set_provisioning, set_auth,
a wrong stored password); each test asserts the check, its result and the words of its fix.
The healthy --sign-in run must leave the signed-in session alone."""

import os
import re
import subprocess
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

import test_diagnose as diag  # noqa: E402  (DiagnoseTestCase)
import test_signin as base  # noqa: E402
from sfbd_testcase import ACCOUNT  # noqa: E402
from sim_testcase import kerberos_env  # noqa: E402

POOL1 = "pool1.contoso.test"
REALM = "CONTOSO.TEST"
OWN_STAGES = ("authentication", "redirection", "settings")


def setUpModule():
    sim_fixture.start("diagnose-auth")


def tearDownModule():
    sim_fixture.stop()


class AuthTestCase(diag.DiagnoseTestCase):
    def _make_env(self):
        env = super()._make_env()
        env.update(kerberos_env(self.tmp))
        return env

    def setUp(self):
        super().setUp()
        self.addCleanup(self.ctl.reset_diagnose_faults)

    def own_checks(self, checks):
        return [c for c in checks if c["Stage"] in OWN_STAGES]

    def sip_log_registers(self):
        """Every REGISTER sfbsim received, as text, in order."""
        with open(os.path.join(base.SIM["workdir"], "sip.log"), encoding="utf-8") as f:
            blocks = re.split(r"^=== ", f.read(), flags=re.M)
        return [b.split("\n", 1)[1] for b in blocks
                if " IN " in b.split("\n", 1)[0] and b.split("\n", 1)[1].startswith("REGISTER ")]


class AuthenticationTest(AuthTestCase):
    def test_server_clock_skew_fails_above_five_minutes_and_warns_above_two(self):
        self.configure_alice(server=POOL1)
        self.ctl.set_clock_skew(seconds=-600)  # the server is 10 minutes behind us
        checks = self.diagnose()
        self.assert_check(checks, "authentication", "Server clock", "FAIL",
                          "enable NTP (timedatectl set-ntp true)", "5 minutes",
                          evidence=["s ahead of pool1.contoso.test:5061's (Date: "])
        self.ctl.set_clock_skew(seconds=200)
        checks = self.diagnose()
        self.assert_check(checks, "authentication", "Server clock", "WARN",
                          "timedatectl set-ntp true", evidence=["s behind pool1.contoso.test"])
        self.ctl.set_clock_skew(seconds=0)
        checks = self.diagnose()
        self.assert_check(checks, "authentication", "Server clock", "PASS")
        # the 401 was answered; nothing else failed for a clock
        self.assert_check(checks, "authentication", "Schemes offered", "PASS",
                          evidence=["pool1.contoso.test:5061 offers NTLM; Auth=auto signs in "
                                    "with NTLM"])

    def test_kerberos_offered_without_a_ticket(self):
        self.ctl.set_auth(schemes=["NTLM", "Kerberos"])
        self.addCleanup(self.ctl.set_auth, schemes=["NTLM"])
        self.configure_alice(server=POOL1)
        checks = self.diagnose()
        self.assert_check(checks, "authentication", "Kerberos ticket", "WARN",
                          f"run kinit alice@{REALM}",
                          evidence=["No Kerberos ticket in the credential cache",
                                    "the stored password"])
        self.assert_check(checks, "authentication", "Schemes offered", "PASS",
                          evidence=["offers NTLM, Kerberos"])
        # Auth=kerberos and no password: nothing to sign in with
        self.call(ACCOUNT, "ForgetCredentials")
        self.configure({"Account.Auth": base.string("kerberos")})
        checks = self.diagnose()
        self.assert_check(checks, "authentication", "Kerberos ticket", "FAIL",
                          f"run kinit alice@{REALM}",
                          evidence=["no stored password: Auth=kerberos has nothing"])
        # with a ticket it passes
        r = subprocess.run(["kinit", f"alice@{REALM}"], input=base.PASSWORD + "\n", text=True,
                           env=self.env, capture_output=True, timeout=30, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        checks = self.diagnose()
        self.assert_check(checks, "authentication", "Kerberos ticket", "PASS")

    def test_sign_in_falls_back_to_ntlm_when_the_kdc_is_down(self):
        self.ctl.set_auth(schemes=["NTLM", "Kerberos"])
        self.addCleanup(self.ctl.set_auth, schemes=["NTLM"])
        self.ctl.stop_kdc()
        self.addCleanup(self.ctl.start_kdc)
        self.configure_alice(server=POOL1)
        checks = self.diagnose(SignIn=True)
        # as a sign-in with Auth=auto: Kerberos cannot be prepared, NTLM can
        self.assert_check(checks, "authentication", "Test sign-in", "PASS",
                          evidence=["Signed in at pool1.contoso.test:5061 with NTLM"])

    def test_a_tls_dsk_only_registrar_skips_the_test_sign_in(self):
        self.ctl.set_auth(schemes=["TLS-DSK"])
        self.addCleanup(self.ctl.set_auth, schemes=["NTLM"])
        self.configure_alice(server=POOL1)
        checks = self.diagnose(SignIn=True)
        self.assert_check(checks, "authentication", "Test sign-in", "SKIP",
                          evidence=["offers only TLS-DSK"])
        self.assert_check(checks, "authentication", "Schemes offered", "PASS",
                          evidence=["offers TLS-DSK; Auth=auto signs in with TLS-DSK"])
        # its provisioning service is the one the challenge names (sts-uri)
        self.assert_check(checks, "settings", "Certificate provisioning", "PASS",
                          evidence=["https://pool1.contoso.test:443/CertProv/"
                                    "CertProvisioningService.svc/mex answered HTTP 200"])

    def test_wrong_password_with_sign_in_fails_with_set_password(self):
        self.configure_alice(password=base.WRONG_PASSWORD, server=POOL1)
        checks = self.diagnose(SignIn=True)
        self.assert_check(checks, "authentication", "Test sign-in", "FAIL",
                          "sfbctl set-password", "locked out",
                          evidence=["pool1.contoso.test:5061 refused the credentials of "
                                    "CONTOSO\\alice (NTLM)"])
        self.assert_check(checks, "redirection", "Redirects", "SKIP",
                          evidence=["not authenticated"])
        self.assertEqual(self.count("auth_failures", "alice"), 1)
        for c in checks:
            self.assertNotIn(base.WRONG_PASSWORD, str(c))
        self.assertNotIn(base.WRONG_PASSWORD, self.daemon_log())
        # without SignIn the password is never tried
        self.ctl.reset_counters()
        checks = self.diagnose()
        self.assert_check(checks, "authentication", "Test sign-in", "SKIP",
                          evidence=["--sign-in"])
        self.assertEqual(self.count("auth_failures", "alice"), 0)


class RedirectionTest(AuthTestCase):
    def test_redirect_loop_fails_naming_the_hosts(self):
        # pool1 sends alice to pool2, which sends her (homed on pool1) back
        self.ctl.set_redirect(registrar="pool1", to="pool2")
        self.configure_alice(server=POOL1)
        checks = self.diagnose(SignIn=True)
        self.assert_check(checks, "redirection", "Redirects", "FAIL",
                          "RegistrarPool", "Get-CsUser",
                          evidence=["in a loop: pool1.contoso.test:5061 -> "
                                    "pool2.contoso.test:5061 -> pool1.contoso.test:5061 ("])
        self.assert_check(checks, "redirection", "Home pool", "SKIP",
                          evidence=["the redirects loop"])
        self.assert_check(checks, "authentication", "Test sign-in", "PASS",
                          evidence=["The credentials were accepted (NTLM)"])
        # without SignIn the redirects are not known (SfB redirects after authentication)
        checks = self.diagnose()
        self.assert_check(checks, "redirection", "Redirects", "SKIP",
                          evidence=["sfbctl diagnose --sign-in"])


    def test_a_redirect_before_authentication_is_followed_without_sign_in(self):
        # a Director that redirects before it authenticates: the pool challenges
        self.ctl.set_redirect(registrar="director", to="pool1", before_auth=True)
        self.configure_alice(server="director.contoso.test")
        checks = self.diagnose()
        self.assert_check(checks, "redirection", "Redirects", "PASS",
                          evidence=["1 redirect(s), no loop: director.contoso.test:5061 -> "
                                    "pool1.contoso.test:5061"])
        self.assert_check(checks, "redirection", "Home pool", "PASS",
                          evidence=["pool1.contoso.test:5061 (reachable; it challenged)"])
        self.assert_check(checks, "authentication", "Schemes offered", "PASS",
                          evidence=["pool1.contoso.test:5061 offers NTLM"])
        # and back before authentication: a loop, found without --sign-in
        self.ctl.set_redirect(registrar="pool1", to="director", before_auth=True)
        checks = self.diagnose()
        self.assert_check(checks, "redirection", "Redirects", "FAIL", "RegistrarPool",
                          evidence=["in a loop: director.contoso.test:5061 -> "
                                    "pool1.contoso.test:5061 -> director.contoso.test:5061"])

    def test_home_pool_that_does_not_resolve_fails_naming_it(self):
        self.ctl.set_redirect(registrar="pool1", to="pool2")
        self.ctl.dns_fault(mode="nxdomain", names=["pool2.contoso.test"])
        self.configure_alice(server=POOL1)
        checks = self.diagnose(SignIn=True)
        self.assert_check(checks, "redirection", "Home pool", "FAIL",
                          "Publish the home pool's name in DNS",
                          evidence=["Redirected to pool2.contoso.test:5061, which does not "
                                    "resolve"])
        self.assert_check(checks, "redirection", "Redirects", "PASS",
                          evidence=["pool1.contoso.test:5061 -> pool2.contoso.test:5061"])


class SettingsTest(AuthTestCase):
    def test_certificate_provisioning_refusing_fails_with_the_status(self):
        self.ctl.set_provisioning(up=False, status=403)
        self.addCleanup(self.ctl.set_provisioning, up=True)
        self.configure_alice(server=POOL1)
        checks = self.diagnose()
        self.assert_check(checks, "settings", "Certificate provisioning", "FAIL",
                          "The certificate provisioning service of pool1.contoso.test is "
                          "refusing", "CertProv",
                          evidence=["https://pool1.contoso.test/CertProv/"
                                    "CertProvisioningService.svc/mex answered HTTP 403 "
                                    "Forbidden", "X-Ms-diagnostics: 28099"])
        # the web ticket service is another application: it still answers
        self.assert_check(checks, "settings", "Web ticket service", "PASS",
                          evidence=["WebTicketService.svc/mex answered HTTP 200"])
        self.ctl.set_provisioning(up=True)
        checks = self.diagnose()
        self.assert_check(checks, "settings", "Certificate provisioning", "PASS")


class HealthySignInTest(AuthTestCase):
    def test_sign_in_passes_and_leaves_the_session_signed_in(self):
        self.assertEqual(self.sign_in(), "signed-in")  # through the Director
        since = self.get_property(ACCOUNT, "SignedInSince")
        main = self.alice_endpoints()
        self.assertEqual(len(main), 1, main)
        self.ctl.reset_counters()
        checks = self.diagnose(SignIn=True)
        sign_in = self.assert_check(checks, "authentication", "Test sign-in", "PASS",
                                    evidence=["Signed in at pool1.contoso.test:5061 with NTLM "
                                              "as a separate endpoint (epid ",
                                              "signed out again"])
        epid = re.search(r"epid (\w+)", sign_in["Evidence"]).group(1)
        self.assertNotEqual(epid, main[0]["epid"])
        self.assert_check(checks, "redirection", "Redirects", "PASS",
                          evidence=["director.contoso.test:5061 -> pool1.contoso.test:5061"])
        self.assert_check(checks, "redirection", "Home pool", "PASS",
                          evidence=["pool1.contoso.test:5061 (reachable; it registered"])
        for name in ("Schemes offered", "Server clock"):
            self.assert_check(checks, "authentication", name, "PASS")
        for name in ("Certificate provisioning", "Web ticket service"):
            self.assert_check(checks, "settings", name, "PASS")
        self.assertNotIn("FAIL", {c["Result"] for c in self.own_checks(checks)},
                         self.show(checks))
        # the session was not disturbed: same registration, same endpoint
        self.assertEqual(self.state(), "signed-in")
        self.assertEqual(self.get_property(ACCOUNT, "SignedInSince"), since)
        after = self.alice_endpoints()
        self.assertEqual([(e["epid"], e["instance"], e["registrar"]) for e in after],
                         [(main[0]["epid"], main[0]["instance"], main[0]["registrar"])])
        # sfbsim saw the diagnosis's REGISTERs with its own epid, the last one Expires: 0
        ours = [r for r in self.sip_log_registers() if f"epid={epid}" in r]
        self.assertGreaterEqual(len(ours), 3, ours)
        self.assertRegex(ours[-1], r"(?m)^Expires: 0\r?$")
        self.assertTrue(all(f"epid={main[0]['epid']}" not in r for r in ours))


if __name__ == "__main__":
    unittest.main()
