# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd against what a real deployment does and the other tests' sfbsim does not show:
other endpoints of the same user in the 200 to REGISTER, a lyncdiscover name answered by a
corporate web portal, and one host with a bad certificate.  The real sfbd against sfbsim
inside build-aux/testnet (sim_fixture.py, through test_signin's SignInTestCase)."""

import re
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

import test_signin as base  # noqa: E402  (SignInTestCase; sfbsim from sim_fixture)
from sfbd_testcase import ACCOUNT, ERROR_PREFIX  # noqa: E402

PORTAL_NAMES = base.AUTODISCOVER_NAMES
AUTODISCOVER_TYPE = "application/vnd.microsoft.rtc.autodiscover+xml"
# a desk phone and a second desktop of alice, listed before sfbd's own Contact; their
# expires are short, so taking either for sfbd's own would show in the trace
OTHER_ENDPOINTS = [{"name": "desk phone", "epid": "0ff1ce0001", "expires": 20},
                   {"name": "second desktop", "epid": "0ff1ce0002", "expires": 40}]


def setUpModule():
    sim_fixture.start("deployment")


def tearDownModule():
    sim_fixture.stop()


class DeploymentTestCase(base.SignInTestCase):
    def setUp(self):
        super().setUp()
        self.addCleanup(sim_fixture.reset)


class OtherEndpointsTest(DeploymentTestCase):
    def test_own_contact_picked_by_instance_among_the_users_other_endpoints(self):
        others = self.ctl.set_endpoints(user="alice", endpoints=OTHER_ENDPOINTS)
        self.assertEqual(self.sign_in(), "signed-in")
        account = self.assert_signed_in()
        own = self.alice_endpoints()
        self.assertEqual(len(own), 1, own)
        # sfbd's GRUU is the one of its own +sip.instance, its registration the granted
        # 300 s of its own Contact, not the 20 s or 40 s of the Contacts listed before it
        registered = self.stage("registered")["Detail"]
        self.assertIn(f"GRUU {own[0]['gruu']}; Expires 300 s", registered)
        for other in others:
            self.assertNotIn(other["gruu"], registered)
        # it stays signed in on its own registration and acts on it: presence is published
        self.wait_for(lambda: self.ctl.presence(user="alice")["availability"] != 18500,
                      "alice's presence published")
        self.assertEqual(self.state(), "signed-in")
        self.assertEqual(account["LastError"], "")
        self.assertEqual([e["epid"] for e in self.alice_endpoints()], [own[0]["epid"]])


class PortalTest(DeploymentTestCase):
    def test_autodiscover_answered_with_html_goes_on_to_srv(self):
        """Both lyncdiscover names are a corporate portal (200 text/html): the trace quotes
        the content type exactly as sent, and sfbd signs in through the DNS SRV record."""
        for host in PORTAL_NAMES:
            self.ctl.set_portal(host=host, content_type="text/html")
        self.assertEqual(self.sign_in(server=None), "signed-in")
        self.assert_signed_in()
        discovering = str(self.stage("discovering")["Detail"])
        self.assertIn("SRV _sipinternaltls._tcp.contoso.test", discovering)
        quoted = re.findall(r"content type “(.*?)”, not " + re.escape(AUTODISCOVER_TYPE),
                            str(self.trace()))
        self.assertTrue(quoted, self.trace())
        self.assertEqual(set(quoted), {"text/html"}, self.trace())
        portal = self.counters().get("portal_requests", {})
        self.assertTrue(set(portal) <= set(PORTAL_NAMES) and portal, portal)


class PerHostCertificateTest(DeploymentTestCase):
    def test_only_the_home_pool_has_an_expired_certificate(self):
        """The Director's certificate is good, pool1's (alice's home) has expired: sfbd
        authenticates at the Director, follows its 301 and refuses pool1, naming it."""
        self.ctl.set_certificate(variant="expired", host="pool1")
        self.assertEqual(self.sign_in(), "failed")
        account = self.get_all_properties(ACCOUNT)
        self.assertEqual(account["LastError"], ERROR_PREFIX + "CertificateInvalid")
        self.assertIn("pool1.contoso.test", account["LastErrorMessage"])
        self.assertIn("expired", account["LastErrorMessage"])
        self.assertIn("redirecting", [stage["Stage"] for stage in self.trace()])
        self.assertEqual(set(self.counters().get("registers", {})), {"alice"})
        self.assertEqual(self.alice_endpoints(), [])


if __name__ == "__main__":
    unittest.main()
