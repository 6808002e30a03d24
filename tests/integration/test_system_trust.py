# SPDX-License-Identifier: LGPL-2.1-or-later
"""The system trust store as the only trust (no TLS.CAFile), the default deployment whose
private CA is installed system-wide (docs/architecture.md, "TLS"): sfbd signs in, gives the
store's heap back once signed in, loads it again for the next sign-in, and still refuses a
server the store does not vouch for.

Inside build-aux/testnet's private mount namespace the system bundle GnuTLS reads
(/etc/ssl/certs/ca-certificates.crt) is bind-mounted over by the real bundle plus sfbsim's
CA (sim_fixture.trust_through_system_store()), so sfbsim is trusted only through the
system store.
"""

import re
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)  # testnet needs root; without it the test fails

from sfbd_testcase import ACCOUNT, ERROR_PREFIX  # noqa: E402
from sim_testcase import DIRECTOR, SimTestCase, account_settings, string  # noqa: E402

SIM = sim_fixture.SIM
# the store is ~3.9 MB of heap with Debian's 144 CAs; what else a sign-in leaves to the
# trim is a few hundred kB
RELEASED_KB = 2500
# servers the sign-in through the Director never meets: pool2 (which sends alice on to
# pool1) and the Edge
TRUSTED_UNMET = "pool2.contoso.test"
UNTRUSTED_UNMET = "sip.contoso.test:443"


def setUpModule():
    sim_fixture.start("system-trust")
    sim_fixture.trust_through_system_store()


def tearDownModule():
    sim_fixture.stop()


def heap_kb(pid):
    """sfbd's anonymous memory (its heap, mostly), in kB, from smaps_rollup."""
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
        return int(re.search(r"^Anonymous:\s+(\d+) kB", f.read(), re.M).group(1))


class SystemTrustTest(SimTestCase):
    WAIT = 30

    def configure_without_ca_file(self):
        settings = account_settings("alice", DIRECTOR)
        del settings["TLS.CAFile"]
        self.configure(settings)
        self.call(ACCOUNT, "SetPassword", ("Passw0rd!", True), "(sb)")

    def trims(self):
        return self.daemon_log().count("Heap trimmed")

    def wait_for_trim(self, before):
        """Waits for the heap trim that follows signing in (SFB_MEMORY_TRIM_DELAY_S)."""
        self.wait_for(lambda: self.trims() > before, "the heap trim after signing in")

    def held_sign_in(self, start):
        """Calls start (SignIn or Reconnect) with alice's REGISTER held by sfbsim, so after
        the handshake that needed the system store; returns sfbd's heap (kB) then, once
        signed in."""
        self.ctl.hold_requests(user="alice")
        self.call(ACCOUNT, start)
        self.wait_for(lambda: self.ctl.held_requests(user="alice"), "alice's REGISTER held")
        loaded = heap_kb(self.daemon.pid)
        self.ctl.release_requests(user="alice")
        state = self.wait_for_value(lambda: self.get_property(ACCOUNT, "State"),
                                    lambda s: s in ("signed-in", "failed"), "signed-in")
        self.assertEqual(state, "signed-in", self.get_property(ACCOUNT, "LastErrorMessage"))
        return loaded

    def test_store_is_released_once_signed_in_and_loaded_again_to_reconnect(self):
        self.configure_without_ca_file()
        for start in ("SignIn", "Reconnect"):
            trims = self.trims()
            loaded = self.held_sign_in(start)
            self.wait_for_trim(trims)
            released = heap_kb(self.daemon.pid)
            self.assertGreater(loaded - released, RELEASED_KB,
                               f"{start}: heap {loaded} kB with the store, {released} kB after "
                               "signing in and the trim")

    def connect_after_the_release(self, server):
        """Points sfbd at `server`, one it never met (no TLS session of an earlier sign-in
        to resume: its certificate is verified, by the system store loaded again), and
        reconnects; returns the Account properties once signed in or failed."""
        self.configure({"Account.Server": string(server)})
        self.call(ACCOUNT, "Reconnect")
        self.wait_for_value(lambda: (self.get_property(ACCOUNT, "State"),
                                     self.get_property(ACCOUNT, "LastError")),
                            lambda value: value[0] == "signed-in" or value[1] != "",
                            f"signed in through {server}, or an error")
        return self.get_all_properties(ACCOUNT)

    def test_servers_met_after_the_release_are_verified_as_before(self):
        self.configure_without_ca_file()
        trims = self.trims()
        self.call(ACCOUNT, "SignIn")
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") == "signed-in", "signed-in")
        self.wait_for_trim(trims)

        account = self.connect_after_the_release(TRUSTED_UNMET)
        self.assertEqual(account["State"], "signed-in", account["LastErrorMessage"])

        trims = self.trims()
        self.wait_for_trim(trims)
        self.ctl.set_certificate(variant="untrusted", host=UNTRUSTED_UNMET.split(":")[0])
        account = self.connect_after_the_release(UNTRUSTED_UNMET)
        self.assertEqual(account["LastError"], ERROR_PREFIX + "CertificateInvalid")
        self.assertIn("The certificate of sip.contoso.test was rejected (untrusted issuer)",
                      account["LastErrorMessage"])
        self.assertNotEqual(account["State"], "signed-in")

if __name__ == "__main__":
    unittest.main()
