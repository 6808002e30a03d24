#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbctl diagnose and Diagnostics.Diagnose() (dbus/org.sfbd.Sfbd1.Diagnostics.xml): the real
sfbd against sfbsim inside build-aux/testnet (sim_fixture.py, through test_signin's
SignInTestCase).  Each failing check is made by an sfbsim fault; each test asserts the check,
its result and the words of its fix."""

import os
import tempfile
import threading
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

import test_signin as base  # noqa: E402  (SignInTestCase; sfbsim from sim_fixture)
from sfbd_testcase import (ACCOUNT, BUS_NAME, DIAGNOSTICS, ERROR_PREFIX,  # noqa: E402
                           OBJECT_PATH, TIME_SCALE)

DOMAIN = "contoso.test"
AUTODISCOVER_NAMES = base.AUTODISCOVER_NAMES
SRV_NAMES = base.SRV_NAMES
A_NAMES = base.A_NAMES
ALL_NAMES = AUTODISCOVER_NAMES + SRV_NAMES + A_NAMES
DNS_CHECKS = ([f"A/AAAA {n}" for n in AUTODISCOVER_NAMES] + [f"SRV {n}" for n in SRV_NAMES]
              + [f"A/AAAA {n}" for n in A_NAMES])
STAGES = ["dns", "autodiscover", "connectivity", "tls", "authentication", "redirection",
          "settings"]
RESULTS = {"PASS", "WARN", "FAIL", "SKIP"}
DIAGNOSE_TIMEOUT = 120 * TIME_SCALE  # seconds; a healthy run takes about one


def SIM_CA_FILE():
    return base.SIM["env"]["SFBSIM_CA_FILE"]


def setUpModule():
    sim_fixture.start("diagnose")


def tearDownModule():
    sim_fixture.stop()


class DiagnoseTestCase(base.SignInTestCase):
    def setUp(self):
        super().setUp()
        self.addCleanup(sim_fixture.reset)

    def diagnose(self, **options):
        """Diagnose(options) on the test's bus; returns the checks."""
        variants = {key: GLib.Variant("b" if isinstance(value, bool) else "s", value)
                    for key, value in options.items()}
        reply = self.bus.call_sync(BUS_NAME, OBJECT_PATH, DIAGNOSTICS, "Diagnose",
                                   GLib.Variant("(a{sv})", (variants,)), None,
                                   Gio.DBusCallFlags.NO_AUTO_START, DIAGNOSE_TIMEOUT * 1000,
                                   None)
        checks = reply.unpack()[0]
        self.assert_shape(checks)
        return checks

    def assert_shape(self, checks):
        order = [STAGES.index(c["Stage"]) for c in checks]
        self.assertEqual(order, sorted(order), "stages out of order")
        for c in checks:
            self.assertEqual(set(c), {"Stage", "Check", "Result", "Evidence", "Fix"}, c)
            self.assertIn(c["Result"], RESULTS, c)
            self.assertTrue(c["Check"], c)
            self.assertTrue(c["Evidence"], c)
            if c["Result"] in ("WARN", "FAIL"):
                self.assertTrue(c["Fix"], c)
            else:
                self.assertEqual(c["Fix"], "", c)

    def check(self, checks, stage, name):
        found = [c for c in checks if c["Stage"] == stage and c["Check"] == name]
        self.assertEqual(len(found), 1, f"no single check {stage}/{name} in {self.show(checks)}")
        return found[0]

    def assert_check(self, checks, stage, name, result, *fix_words, evidence=()):
        c = self.check(checks, stage, name)
        self.assertEqual(c["Result"], result, c)
        for words in fix_words:
            self.assertIn(words, c["Fix"], c)
        for words in evidence:
            self.assertIn(words, c["Evidence"], c)
        return c

    def record_checks(self):
        """A list that receives (token, check) of every CheckCompleted from now on."""
        received = []

        def on_signal(connection, sender, path, interface, signal, parameters):
            received.append(parameters.unpack())

        subscription = self.bus.signal_subscribe(BUS_NAME, DIAGNOSTICS, "CheckCompleted",
                                                 OBJECT_PATH, None, Gio.DBusSignalFlags.NONE,
                                                 on_signal)
        self.addCleanup(self.bus.signal_unsubscribe, subscription)
        return received

    def drop_director_packets(self):
        """The Director's name resolves to an address whose packets sfbsim drops, so a
        connect to it waits until it gives up (5 s)."""
        self.ctl.blackhole(address="127.0.9.9", port=5061)
        self.addCleanup(self.ctl.blackhole_clear)
        self.ctl.dns_fault(mode="address", names=["director.contoso.test"],
                           address="127.0.9.9")

    def diagnose_from_another_caller(self, token):
        """Starts Diagnose(Token=token) on a bus connection of its own, which the test closes
        to leave the bus as an interrupted sfbctl does; returns that connection."""
        caller = Gio.DBusConnection.new_for_address_sync(
            self.env["DBUS_SESSION_BUS_ADDRESS"],
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        caller.call(BUS_NAME, OBJECT_PATH, DIAGNOSTICS, "Diagnose",
                    GLib.Variant("(a{sv})", ({"Token": GLib.Variant("s", token)},)), None,
                    Gio.DBusCallFlags.NO_AUTO_START, DIAGNOSE_TIMEOUT * 1000, None, None)
        return caller

    @staticmethod
    def show(checks):
        return "\n".join(f"{c['Result']} {c['Stage']}/{c['Check']}: {c['Evidence']} "
                         f"[{c['Fix']}]" for c in checks)


class DnsTest(DiagnoseTestCase):
    def test_healthy_deployment_every_dns_check_passes(self):
        self.configure_alice()
        checks = self.diagnose()
        dns = [c for c in checks if c["Stage"] == "dns"]
        self.assertEqual([c["Check"] for c in dns],
                         DNS_CHECKS[:3] + ["SRV target director.contoso.test"] + DNS_CHECKS[3:4]
                         + ["SRV target sip.contoso.test"] + DNS_CHECKS[4:],
                         self.show(dns))
        self.assertEqual({c["Result"] for c in dns}, {"PASS"}, self.show(dns))
        self.assert_check(checks, "dns", "SRV _sipinternaltls._tcp.contoso.test", "PASS",
                          evidence=["director.contoso.test:5061 (priority"])
        self.assert_check(checks, "dns", "SRV target director.contoso.test", "PASS",
                          evidence=["127.0.1.1"])

    def test_no_records_every_name_fails_with_what_to_publish(self):
        self.ctl.dns_fault(mode="nxdomain", names=ALL_NAMES)
        self.configure_alice()
        checks = self.diagnose()
        for name in DNS_CHECKS:
            self.assert_check(checks, "dns", name, "FAIL", "Publish")
        self.assert_check(checks, "dns", "SRV _sipinternaltls._tcp.contoso.test", "FAIL",
                          "Publish an SRV record _sipinternaltls._tcp.contoso.test pointing at "
                          "the pool's FQDN on port 5061",
                          evidence=["NXDOMAIN"])
        self.assert_check(checks, "dns", "A/AAAA lyncdiscover.contoso.test", "FAIL",
                          "Publish lyncdiscover.contoso.test in the public DNS zone")

    def test_srv_target_without_an_address_fails_naming_it(self):
        self.ctl.dns_fault(mode="nxdomain", names=["director.contoso.test"])
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "dns", "SRV _sipinternaltls._tcp.contoso.test", "PASS")
        self.assert_check(checks, "dns", "SRV target director.contoso.test", "FAIL",
                          "Publish an A (or AAAA) record for director.contoso.test, or point "
                          "the SRV record _sipinternaltls._tcp.contoso.test at a name that has "
                          "one",
                          evidence=["has no A or AAAA record"])
        self.assert_check(checks, "dns", "SRV target sip.contoso.test", "PASS")

    def test_only_external_records_visible_is_a_split_dns_hint(self):
        self.ctl.dns_fault(mode="nxdomain", names=[AUTODISCOVER_NAMES[0], SRV_NAMES[0]])
        self.configure_alice()
        checks = self.diagnose()
        for name in ("A/AAAA lyncdiscoverinternal.contoso.test",
                     "SRV _sipinternaltls._tcp.contoso.test"):
            self.assert_check(checks, "dns", name, "WARN", "internal DNS zone",
                              evidence=["only the external record is visible here (split DNS?)"])
        self.assert_check(checks, "dns", "SRV _sip._tls.contoso.test", "PASS")

    def test_a_dns_server_that_fails_is_not_a_missing_record(self):
        self.ctl.dns_fault(mode="servfail", names=[SRV_NAMES[1]])
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "dns", "SRV _sip._tls.contoso.test", "FAIL",
                          "Check that the DNS servers this machine uses answer",
                          evidence=["server failure"])


class HealthyTest(DiagnoseTestCase):
    def test_healthy_deployment_every_check_passes(self):
        self.configure_alice()
        checks = self.diagnose()
        # authentication, redirection and settings SKIP what needs --sign-in, and sfbsim has
        # no Exchange (a WARN): test_diagnose_auth.py covers them
        self.assertEqual({c["Result"] for c in checks if c["Stage"] in STAGES[:4]}, {"PASS"},
                         self.show(checks))
        self.assertNotIn("FAIL", {c["Result"] for c in checks}, self.show(checks))
        self.assertEqual([s for s in STAGES if any(c["Stage"] == s for c in checks)][:4],
                         STAGES[:4])
        self.assert_check(checks, "autodiscover", "User lyncdiscoverinternal.contoso.test",
                          "PASS", evidence=["SIP director.contoso.test:5061 (autodiscover, "
                                            "internal)"])
        self.assert_check(checks, "connectivity", "connect director.contoso.test:5061", "PASS",
                          evidence=["connected to 127.0.1.1 in"])
        # sip.contoso.test (the Edge) listens on 443 only: its 5061 is not needed
        self.assert_check(checks, "connectivity", "connect sip.contoso.test:5061", "PASS",
                          evidence=["refused", "not needed: sip.contoso.test:443 answers"])
        self.assert_check(checks, "tls", "chain director.contoso.test:5061", "PASS",
                          evidence=["trust anchor for", "found in the CAFile"])
        self.assert_check(checks, "tls", "name sip.contoso.test:443", "PASS",
                          evidence=["sip.contoso.test, sipexternal.contoso.test"])
        self.assert_check(checks, "tls", "validity director.contoso.test:5061", "PASS",
                          evidence=["Valid from 20"])
        self.assert_check(checks, "tls", "protocol director.contoso.test:5061", "PASS",
                          evidence=["TLS 1.2 negotiated"])

    def test_a_signed_in_session_stays_signed_in(self):
        self.assertEqual(self.sign_in(server=None), "signed-in")
        before = self.assert_signed_in()
        endpoints = [(e["epid"], e["registrar"]) for e in self.alice_endpoints()]
        self.assertEqual(len(endpoints), 1)
        watcher = self.watch_account()
        checks = self.diagnose()
        self.assertNotIn("FAIL", {c["Result"] for c in checks}, self.show(checks))
        after = self.assert_signed_in()
        self.assertEqual(after["SignedInSince"], before["SignedInSince"])
        self.assertEqual(after["Server"], before["Server"])
        self.assertEqual(watcher.values("State"), [])
        # the authentication stage's REGISTER is its own (another epid, connection): the
        # session's registration is the same one
        self.assertEqual([(e["epid"], e["registrar"]) for e in self.alice_endpoints()],
                         endpoints)


class AutodiscoverTest(DiagnoseTestCase):
    def test_a_portal_answering_lyncdiscover_is_the_wrong_content_type(self):
        self.ctl.set_portal(host="lyncdiscover.contoso.test", content_type="text/html")
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "autodiscover", "Root lyncdiscover.contoso.test", "FAIL",
                          "lyncdiscover.contoso.test is answered by another web server",
                          "point the name at the pool's web services",
                          evidence=["content type “text/html”, not "
                                    "application/vnd.microsoft.rtc.autodiscover+xml"])
        self.assert_check(checks, "autodiscover", "User lyncdiscover.contoso.test", "SKIP",
                          evidence=["autodiscover/Root lyncdiscover.contoso.test is FAIL"])
        self.assert_check(checks, "autodiscover", "Root lyncdiscoverinternal.contoso.test",
                          "PASS")

    def test_no_record_skips_the_name_with_the_reason(self):
        self.ctl.dns_fault(mode="nxdomain", names=[AUTODISCOVER_NAMES[1]])
        self.configure_alice()
        checks = self.diagnose()
        for name in ("Root lyncdiscover.contoso.test", "User lyncdiscover.contoso.test"):
            self.assert_check(checks, "autodiscover", name, "SKIP",
                              evidence=["lyncdiscover.contoso.test has no address"])

    def test_untrusted_certificate_on_lyncdiscover(self):
        self.ctl.set_certificate(variant="untrusted", host="lyncdiscoverinternal.contoso.test")
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "autodiscover", "Root lyncdiscoverinternal.contoso.test",
                          "FAIL", "which this machine does not trust",
                          "install that CA's certificate in the system trust store",
                          evidence=["lyncdiscoverinternal.contoso.test", "untrusted"])
        self.assert_check(checks, "autodiscover", "Root lyncdiscover.contoso.test", "PASS")

    def test_expired_and_wrong_name_certificates_on_lyncdiscover(self):
        self.ctl.set_certificate(variant="expired", host="lyncdiscoverinternal.contoso.test")
        self.ctl.set_certificate(variant="wrong-name", host="lyncdiscover.contoso.test")
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "autodiscover", "Root lyncdiscoverinternal.contoso.test",
                          "FAIL", "The certificate on lyncdiscoverinternal.contoso.test expired "
                          "on ", "renew it", evidence=["lyncdiscoverinternal.contoso.test"])
        self.assert_check(checks, "autodiscover", "Root lyncdiscover.contoso.test", "FAIL",
                          "The certificate on lyncdiscover.contoso.test is for ",
                          "subject alternative names include lyncdiscover.contoso.test")
        for name in ("User lyncdiscoverinternal.contoso.test", "User lyncdiscover.contoso.test"):
            self.assert_check(checks, "autodiscover", name, "SKIP", evidence=["is FAIL"])
        # the SIP servers DNS names are still dialled and judged
        self.assert_check(checks, "tls", "chain director.contoso.test:5061", "PASS")

    def test_user_resource_behind_a_web_ticket(self):
        self.ctl.set_autodiscover(user_webticket=True)
        self.addCleanup(self.ctl.set_autodiscover, user_webticket=False)
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "autodiscover", "User lyncdiscoverinternal.contoso.test",
                          "PASS", evidence=[
                              "HTTP 401", "the User resource needs a web ticket from "
                              "https://lyncdiscoverinternal.contoso.test/WebTicket/"])

    def test_redirect_to_the_home_pool_is_followed_and_shown(self):
        # bob is homed on pool2: pool1's autodiscover (the lyncdiscover names) redirects
        self.configure_alice()
        self.configure({"Account.Uri": base.string("sip:bob@contoso.test")})
        checks = self.diagnose()
        c = self.assert_check(checks, "autodiscover", "User lyncdiscoverinternal.contoso.test",
                              "PASS", evidence=["User document with a Redirect link -> "
                                                "pool2.contoso.test: HTTP 200"])
        self.assertIn("SIP ", c["Evidence"])

    def test_unknown_user(self):
        self.configure_alice()
        self.configure({"Account.Uri": base.string("sip:nobody@contoso.test")})
        checks = self.diagnose()
        self.assert_check(checks, "autodiscover", "User lyncdiscoverinternal.contoso.test",
                          "FAIL", "Enable sip:nobody@contoso.test for Skype for Business",
                          evidence=["HTTP 404", "is not known to this autodiscover service"])


class ConnectivityTest(DiagnoseTestCase):
    def test_port_closed_is_refused_and_tls_skipped(self):
        self.ctl.stop_pool(pool="director")
        self.addCleanup(self.ctl.start_pool, pool="director")
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "connectivity", "connect director.contoso.test:5061", "FAIL",
                          "Start the Skype for Business service on director.contoso.test",
                          "listen on port 5061",
                          evidence=["refused: nothing accepts connections on port 5061"])
        self.assert_check(checks, "tls", "handshake director.contoso.test:5061", "SKIP",
                          evidence=["connectivity/connect director.contoso.test:5061 is FAIL"])
        self.assert_check(checks, "connectivity", "connect sip.contoso.test:443", "PASS")
        self.assert_check(checks, "tls", "chain sip.contoso.test:443", "PASS")


    def test_a_port_that_drops_packets_is_filtered(self):
        self.drop_director_packets()
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "connectivity", "connect director.contoso.test:5061", "FAIL",
                          "A firewall drops the packets to director.contoso.test: open TCP "
                          "port 5061",
                          evidence=["filtered: no answer within 5 s"])
        self.assert_check(checks, "tls", "handshake director.contoso.test:5061", "SKIP")
        self.assert_check(checks, "connectivity", "connect sip.contoso.test:443", "PASS")

    def test_tls_of_one_host_does_not_wait_for_another_that_drops_packets(self):
        # The registrars give a new connection 4 s to finish TLS, and the Director's packets
        # are dropped, which holds its connect for 5 s: the Edge's handshake must not wait
        # for that (it did: the Edge had given up, the handshake failed and authentication
        # SKIPped for want of a registrar)
        self.ctl.set_tls_handshake_timeout(seconds=4)
        self.addCleanup(self.ctl.reset_diagnose_faults)
        self.drop_director_packets()
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "connectivity", "connect director.contoso.test:5061", "FAIL",
                          evidence=["filtered"])
        self.assert_check(checks, "tls", "handshake director.contoso.test:5061", "SKIP")
        self.assert_check(checks, "connectivity", "connect sip.contoso.test:443", "PASS")
        for check in ("chain", "name", "validity", "protocol"):
            self.assert_check(checks, "tls", f"{check} sip.contoso.test:443", "PASS")
        self.assert_check(checks, "authentication", "Schemes offered", "PASS",
                          evidence=["sip.contoso.test:443 offers"])

    def test_an_address_without_a_route_is_unreachable(self):
        # testnet has no route but the loopback network's
        self.ctl.dns_fault(mode="address", names=["director.contoso.test"],
                           address="192.0.2.1")
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "connectivity", "connect director.contoso.test:5061", "FAIL",
                          "There is no route from here to director.contoso.test",
                          evidence=["unreachable"])
        self.assert_check(checks, "connectivity", "connect sip.contoso.test:443", "PASS")


class CertificateTest(DiagnoseTestCase):
    def diagnose_certificate(self, variant, host):
        """Diagnose() of alice's configuration while sfbsim's `host` serves its `variant`
        certificate (SimControl.set_certificate); returns the checks."""
        self.ctl.set_certificate(variant=variant, host=host)
        self.configure_alice()
        return self.diagnose()

    def test_untrusted_certificate_on_one_host(self):
        checks = self.diagnose_certificate("untrusted", "director")
        c = self.assert_check(checks, "tls", "chain director.contoso.test:5061", "FAIL",
                              "The certificate on director.contoso.test is issued by “",
                              "which this machine does not trust",
                              "name it in sfbd.conf ([TLS] CAFile)",
                              evidence=["untrusted issuer", "no trust anchor for"])
        self.assertIn(SIM_CA_FILE(), c["Evidence"])
        self.assert_check(checks, "tls", "name director.contoso.test:5061", "PASS")
        self.assert_check(checks, "tls", "chain sip.contoso.test:443", "PASS")

    def test_expired_certificate_on_one_host(self):
        checks = self.diagnose_certificate("expired", "edge")
        c = self.assert_check(checks, "tls", "validity sip.contoso.test:443", "FAIL",
                              "The certificate on sip.contoso.test expired on ",
                              "renew it and assign the new one", evidence=["expired"])
        self.assertRegex(c["Fix"], r"expired on \d{4}-\d\d-\d\d: renew it")
        self.assert_check(checks, "tls", "chain sip.contoso.test:443", "PASS")
        self.assert_check(checks, "tls", "validity director.contoso.test:5061", "PASS")

    def test_not_yet_valid_certificate_on_one_host(self):
        checks = self.diagnose_certificate("not-yet-valid", "director")
        c = self.assert_check(checks, "tls", "validity director.contoso.test:5061", "FAIL",
                              "The certificate on director.contoso.test is valid only from ",
                              "check this machine's clock", evidence=["not valid yet"])
        self.assertRegex(c["Fix"], r"valid only from \d{4}-\d\d-\d\d: check")
        self.assert_check(checks, "tls", "chain director.contoso.test:5061", "PASS")
        self.assert_check(checks, "tls", "validity sip.contoso.test:443", "PASS")

    def test_wrong_name_certificate_on_one_host(self):
        checks = self.diagnose_certificate("wrong-name", "director")
        c = self.assert_check(checks, "tls", "name director.contoso.test:5061", "FAIL",
                              "The certificate on director.contoso.test is for ",
                              "issue one whose subject alternative names include "
                              "director.contoso.test",
                              evidence=["which does not include director.contoso.test"])
        self.assertNotIn("director.contoso.test", c["Evidence"].split(", which")[0])
        self.assert_check(checks, "tls", "validity director.contoso.test:5061", "PASS")
        self.assert_check(checks, "tls", "name sip.contoso.test:443", "PASS")

    def test_protocol_version_is_the_one_negotiated(self):
        self.ctl.set_tls_version(maximum="TLSv1_3")
        self.configure_alice()
        checks = self.diagnose()
        self.assert_check(checks, "tls", "protocol director.contoso.test:5061", "PASS",
                          evidence=["TLS 1.3 negotiated"])

    def test_tls_below_1_2_is_a_warning(self):
        self.ctl.set_tls_version(maximum="TLSv1_1")  # sim_fixture.reset() puts 1.2 back
        self.configure_alice()
        checks = self.diagnose()
        for host in ("director.contoso.test:5061", "sip.contoso.test:443"):
            self.assert_check(checks, "tls", f"protocol {host}", "WARN",
                              "Enable TLS 1.2 on the server (Schannel) and disable the older "
                              "versions", evidence=[f"TLS 1.1 negotiated with {host[:-5]}"])
            self.assert_check(checks, "tls", f"chain {host}", "PASS")

    def test_ca_file_without_a_certificate(self):
        self.configure_alice()
        with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
            f.write("not a certificate\n")
        self.addCleanup(os.unlink, f.name)
        self.configure({"TLS.CAFile": base.string(f.name)})
        checks = self.diagnose()
        self.assert_check(checks, "tls", "CAFile", "FAIL", "Correct [TLS] CAFile in sfbd.conf",
                          evidence=[f.name])
        # judged by the system store alone, sfbsim's CA is unknown
        self.assert_check(checks, "tls", "chain director.contoso.test:5061", "FAIL",
                          "which this machine does not trust")
        # no SIP server passed tls: what needs a registrar SKIPs, saying why
        for name in ("Schemes offered", "Server clock", "Kerberos ticket", "Test sign-in"):
            self.assert_check(checks, "authentication", name, "SKIP",
                              evidence=["no SIP server both answered and passed the tls checks"])
        self.assert_check(checks, "redirection", "Redirects", "SKIP",
                          evidence=["see authentication"])
        self.assert_check(checks, "settings", "Certificate provisioning", "SKIP",
                          evidence=["see authentication"])


class ApiTest(DiagnoseTestCase):
    def test_domain_without_an_account(self):
        # an admin's machine that trusts the deployment's CA, with no account
        self.configure({"TLS.CAFile": base.string(SIM_CA_FILE())})
        checks = self.diagnose(Domain="Contoso.Test.")
        self.assertEqual(self.get_property(ACCOUNT, "Uri"), "")
        self.assertNotIn("FAIL", {c["Result"] for c in checks}, self.show(checks))
        self.assert_check(checks, "dns", "SRV _sipinternaltls._tcp.contoso.test", "PASS")
        self.assert_check(checks, "autodiscover", "Root lyncdiscover.contoso.test", "PASS",
                          evidence=["Root document with links User"])
        self.assert_check(checks, "autodiscover", "User lyncdiscover.contoso.test", "SKIP",
                          evidence=["without an account (--domain)"])
        # the SRV targets and A records are still dialled and their certificates checked
        self.assert_check(checks, "connectivity", "connect director.contoso.test:5061", "PASS")
        self.assert_check(checks, "tls", "name sip.contoso.test:443", "PASS")
        self.assertEqual(self.counters().get("registers", {}), {})

    def test_no_domain_and_no_account_is_not_configured(self):
        message = self.assert_dbus_error(ERROR_PREFIX + "NotConfigured", DIAGNOSTICS,
                                         "Diagnose", ({},), "(a{sv})")
        self.assertIn("--domain", message)

    def test_bad_options_are_invalid_args(self):
        for options in ({"Domain": GLib.Variant("s", "not a domain")},
                        {"Domain": GLib.Variant("s", "a" * 300 + ".test")},
                        {"Domain": GLib.Variant("b", True)},
                        {"Token": GLib.Variant("s", "t" * 65)},
                        {"Colour": GLib.Variant("s", "blue")}):
            with self.subTest(options=list(options)):
                self.assert_dbus_error(ERROR_PREFIX + "InvalidArgs", DIAGNOSTICS, "Diagnose",
                                       (options,), "(a{sv})")

    def test_check_completed_signals_are_the_progress_of_the_run(self):
        self.configure_alice()
        received = self.record_checks()
        done = threading.Event()
        result = {}

        def on_reply(bus, res):
            result["checks"] = bus.call_finish(res).unpack()[0]
            done.set()

        self.bus.call(BUS_NAME, OBJECT_PATH, DIAGNOSTICS, "Diagnose",
                      GLib.Variant("(a{sv})", ({"Token": GLib.Variant("s", "run-42")},)), None,
                      Gio.DBusCallFlags.NO_AUTO_START, DIAGNOSE_TIMEOUT * 1000, None, on_reply)
        context = GLib.MainContext.default()
        deadline = GLib.get_monotonic_time() + DIAGNOSE_TIMEOUT * 1_000_000
        while not done.is_set() and GLib.get_monotonic_time() < deadline:
            context.iteration(True)
        self.assertTrue(done.is_set(), "no reply to Diagnose")
        while context.pending():
            context.iteration(False)
        self.assertEqual([token for token, _ in received], ["run-42"] * len(received))
        self.assertEqual([check for _, check in received], result["checks"])


    def test_a_caller_that_leaves_stops_its_diagnosis(self):
        # the Director's packets are dropped: a run waits 5 s in connectivity, by when the
        # run of a caller that left (sfbctl interrupted) must have stopped
        self.drop_director_packets()
        self.configure_alice()
        received = self.record_checks()
        caller = self.diagnose_from_another_caller("gone")
        context = GLib.MainContext.default()
        deadline = GLib.get_monotonic_time() + DIAGNOSE_TIMEOUT * 1_000_000
        # it runs: its dns checks arrive (the autodiscover stage's come before the connects)
        while (not any(t == "gone" and c["Stage"] == "autodiscover" for t, c in received)
               and GLib.get_monotonic_time() < deadline):
            context.iteration(True)
        self.assertTrue(any(t == "gone" for t, _ in received), "the run did not start")
        caller.close_sync(None)
        # a run of our own, started after: it waits for the same dropped packets
        checks = self.diagnose(Token="stays")
        self.assert_check(checks, "connectivity", "connect director.contoso.test:5061", "FAIL")
        while context.pending():
            context.iteration(False)
        gone = [c for t, c in received if t == "gone"]
        self.assertEqual([c for c in gone if c["Stage"] not in ("dns", "autodiscover")], [],
                         "the run went on after its caller left")

    def test_a_caller_that_leaves_ends_its_run_at_once(self):
        # the Director's packets are dropped: a run waits 5 s in connectivity for them.  The
        # run of a caller that left while it waited must end at once, not when its connect
        # gives up: before that of a run that started waiting earlier
        self.drop_director_packets()
        self.configure_alice()
        received = self.record_checks()
        replies = {}

        def on_reply(bus, res):
            replies["stays"] = bus.call_finish(res).unpack()[0]

        def waiting_in_connectivity():
            return self.daemon_log().count("stage connectivity")

        self.bus.call(BUS_NAME, OBJECT_PATH, DIAGNOSTICS, "Diagnose",
                      GLib.Variant("(a{sv})", ({"Token": GLib.Variant("s", "stays")},)), None,
                      Gio.DBusCallFlags.NO_AUTO_START, DIAGNOSE_TIMEOUT * 1000, None, on_reply)
        self.wait_for(lambda: waiting_in_connectivity() == 1, "the first run in connectivity")
        caller = self.diagnose_from_another_caller("gone")
        self.wait_for(lambda: waiting_in_connectivity() == 2, "the second run in connectivity")
        caller.close_sync(None)
        # its run ended (its reply, to nobody, is the cancellation)
        self.wait_for(lambda: "Diagnose failed: org.sfbd.Sfbd.Error.Failed: Operation was "
                      "cancelled" in self.daemon_log(), "the run of the caller that left ended")
        # every signal sfbd sent before this answer is in
        self.get_property(ACCOUNT, "State")
        context = GLib.MainContext.default()
        while context.pending():
            context.iteration(False)
        self.assertEqual([c for t, c in received if t == "stays" and c["Stage"] == "connectivity"],
                         [], "the run of the caller that left waited for its connect")
        deadline = GLib.get_monotonic_time() + DIAGNOSE_TIMEOUT * 1_000_000
        while "stays" not in replies and GLib.get_monotonic_time() < deadline:
            context.iteration(True)
        self.assert_check(replies["stays"], "connectivity", "connect director.contoso.test:5061",
                          "FAIL", evidence=["filtered: no answer within 5 s"])
        self.assertEqual({t for t, _ in received} - {"stays"}, {"gone"})
        self.assertEqual([c for t, c in received if t == "gone" and c["Stage"] == "connectivity"],
                         [])

    def test_concurrent_runs_each_get_their_own_checks_at_most_four(self):
        # slow DNS (below the resolver's 1 s timeout in testnet) keeps the first runs going
        # while the others arrive
        self.ctl.dns_fault(mode="slow", names=[SRV_NAMES[0]], delay_ms=500)
        self.configure_alice()
        received = self.record_checks()
        replies = {}

        def on_reply(bus, res, token):
            try:
                replies[token] = bus.call_finish(res).unpack()[0]
            except GLib.Error as error:
                replies[token] = error

        tokens = [f"run-{i}" for i in range(5)]
        for token in tokens:
            self.bus.call(BUS_NAME, OBJECT_PATH, DIAGNOSTICS, "Diagnose",
                          GLib.Variant("(a{sv})", ({"Token": GLib.Variant("s", token)},)),
                          None, Gio.DBusCallFlags.NO_AUTO_START, DIAGNOSE_TIMEOUT * 1000, None,
                          on_reply, token)
        context = GLib.MainContext.default()
        deadline = GLib.get_monotonic_time() + DIAGNOSE_TIMEOUT * 1_000_000
        while len(replies) < len(tokens) and GLib.get_monotonic_time() < deadline:
            context.iteration(True)
        while context.pending():
            context.iteration(False)
        self.assertEqual(sorted(replies), tokens)
        # the fifth arrived while four ran
        self.assertIsInstance(replies["run-4"], GLib.Error)
        self.assertEqual(Gio.DBusError.get_remote_error(replies["run-4"]),
                         ERROR_PREFIX + "Failed")
        self.assertIn("4 diagnoses are running already", replies["run-4"].message)
        for token in tokens[:4]:
            checks = replies[token]
            self.assertIsInstance(checks, list, checks)
            self.assert_check(checks, "dns", "SRV _sipinternaltls._tcp.contoso.test", "PASS")
            self.assertEqual([c for t, c in received if t == token], checks)
        self.assertEqual({t for t, _ in received}, set(tokens[:4]))
        # and once they are done, a new one runs
        self.assert_check(self.diagnose(), "dns", "SRV _sip._tls.contoso.test", "PASS")


class SfbctlTest(DiagnoseTestCase):
    def test_json_is_one_object_per_check_and_exit_0_when_nothing_fails(self):
        self.configure_alice()
        status, checks = self.sfbctl_json("diagnose", timeout=DIAGNOSE_TIMEOUT)
        self.assertIsInstance(checks, list)
        self.assert_shape(checks)
        self.assertNotIn("FAIL", {c["Result"] for c in checks}, self.show(checks))
        self.assertEqual(status, 0)

    def test_text_shows_each_check_and_the_fix_and_exit_1_on_a_failure(self):
        self.ctl.dns_fault(mode="nxdomain", names=ALL_NAMES)
        result = self.sfbctl("diagnose", "--domain", DOMAIN, timeout=DIAGNOSE_TIMEOUT)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        lines = result.stdout.splitlines()
        first = lines.index(next(l for l in lines if "SRV _sipinternaltls._tcp.contoso.test" in l
                                 and l.startswith("FAIL")))
        self.assertRegex(lines[first], r"^FAIL +dns +SRV _sipinternaltls\._tcp\.contoso\.test$")
        self.assertIn("NXDOMAIN", lines[first + 1])
        self.assertIn("Fix: Publish an SRV record _sipinternaltls._tcp.contoso.test",
                      lines[first + 2])
        self.assertRegex(lines[-1], r"^\d+ passed, \d+ warnings, [1-9]\d* failed, \d+ skipped$")

    def test_text_prints_each_check_as_it_completes(self):
        # a port that drops packets holds the connectivity stage for 5 s: the checks before
        # it are on the screen while it waits
        self.drop_director_packets()
        self.configure_alice()
        process, stdout, _ = self.spawn_sfbctl("diagnose")
        stdout.wait_for(lambda line: line.startswith("PASS") and "User lyncdiscover." in line)
        self.assertIsNone(process.poll(), "the checks were printed only at the end")
        self.assertEqual(process.wait(timeout=DIAGNOSE_TIMEOUT), 1)
        stdout.wait_for(lambda line: " failed, " in line)
        self.assertTrue(any(line.startswith("FAIL") and "connect director.contoso.test:5061"
                            in line for line in stdout.seen), stdout.seen)

    def test_json_exit_1_when_a_check_fails(self):
        self.ctl.dns_fault(mode="nxdomain", names=ALL_NAMES)
        status, checks = self.sfbctl_json("diagnose", "--domain", DOMAIN,
                                          timeout=DIAGNOSE_TIMEOUT)
        self.assertEqual(status, 1)
        self.assertIn("FAIL", {c["Result"] for c in checks})

    def test_usage_and_daemon_errors(self):
        result = self.sfbctl("diagnose", "extra")
        self.assertEqual(result.returncode, 2, result.stderr)
        result = self.sfbctl("diagnose")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("--domain", result.stderr)


if __name__ == "__main__":
    unittest.main()
