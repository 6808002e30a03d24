# SPDX-License-Identifier: LGPL-2.1-or-later
"""The system trust store as the only trust (no TLS.CAFile), the default deployment whose
private CA is installed system-wide (docs/architecture.md, net/sfb-tls): sfbd signs in,
gives the store's heap back once signed in and after Exchange's pass, loads it again for
the next sign-in, and still refuses a server the store does not vouch for.

Inside build-aux/testnet's private mount namespace the system bundle GnuTLS reads
(/etc/ssl/certs/ca-certificates.crt) is bind-mounted over by the real bundle plus sfbsim's
CA (sim_fixture.trust_through_system_store()), so sfbsim is trusted only through the
system store.
"""

import os
import re
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)  # testnet needs root; without it the test fails

from sfbd_testcase import ACCOUNT, ERROR_PREFIX, EXCHANGE  # noqa: E402
from sim_testcase import DIRECTOR, SimTestCase, account_settings, string  # noqa: E402

SIM = sim_fixture.SIM
# the default deployment and an Exchange, whose HTTPS needs the store after the sign-in
SCENARIO = os.path.join(sim_fixture.SOURCE_ROOT, "tests", "sfbsim", "scenarios", "exchange.toml")
# the store is ~3.9 MB of heap with Debian's 144 CAs; what else a sign-in leaves to the
# trim is a few hundred kB
RELEASED_KB = 2500
# servers the sign-in through the Director never meets: pool2 (which sends alice on to
# pool1) and the Edge
TRUSTED_UNMET = "pool2.contoso.test"
UNTRUSTED_UNMET = "sip.contoso.test:443"
# Exchange's autodiscover names (tests/sfbsim/scenarios/exchange.toml)
EXCHANGE_NAMES = ["contoso.test", "autodiscover.contoso.test", "_autodiscover._tcp.contoso.test"]
# sfbd's debug messages (daemon/net/sfb-tls.c, daemon/core/sfb-memory.c), in its log
LOADED = "System trust store loaded"
RELEASED = "System trust store released"
TRIMMED = "Heap trimmed"


def setUpModule():
    sim_fixture.start("system-trust", scenario=SCENARIO)
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

    def wait_for_store_given_back(self, since):
        """Waits until sfbd's log after offset `since` shows the store released as often as
        it was loaded (once signed in; Exchange's pass, right after, loads it again and gives
        it back), then the heap trim after the last release."""
        def given_back():
            log = self.daemon_log()[since:]
            last_release = log.rfind(RELEASED)
            return (last_release >= 0 and log.count(LOADED) == log.count(RELEASED)
                    and log.rfind(TRIMMED) > last_release)
        self.wait_for(given_back, "the store given back and the heap trimmed")

    def test_store_is_released_once_signed_in_and_loaded_again_to_reconnect(self):
        self.configure_without_ca_file()
        # the sign-in without Exchange (its names unknown): the session gives the store
        # back; then with it, whose pass after the Reconnect loads it again and gives it back
        self.ctl.dns_fault(mode="nxdomain", names=EXCHANGE_NAMES)
        self.addCleanup(self.ctl.dns_clear)
        for start in ("SignIn", "Reconnect"):
            since = len(self.daemon_log())
            loaded = self.held_sign_in(start)
            exchange = "connected" if start == "Reconnect" else "unavailable"
            self.wait_for(lambda: self.get_property(EXCHANGE, "State") == exchange,
                          f"Exchange {exchange}")
            self.wait_for_store_given_back(since)
            released = heap_kb(self.daemon.pid)
            self.assertGreater(loaded - released, RELEASED_KB,
                               f"{start}: heap {loaded} kB with the store, {released} kB after "
                               f"signing in, Exchange {exchange} and the trim")
            self.ctl.dns_clear()
        # Exchange's HTTPS needed the store after the sign-in released it
        self.assertGreaterEqual(self.daemon_log()[since:].count(LOADED), 2)

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
        since = len(self.daemon_log())
        self.call(ACCOUNT, "SignIn")
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") == "signed-in", "signed-in")
        self.wait_for_store_given_back(since)

        since = len(self.daemon_log())
        account = self.connect_after_the_release(TRUSTED_UNMET)
        self.assertEqual(account["State"], "signed-in", account["LastErrorMessage"])

        self.wait_for_store_given_back(since)
        self.ctl.set_certificate(variant="untrusted", host=UNTRUSTED_UNMET.split(":")[0])
        account = self.connect_after_the_release(UNTRUSTED_UNMET)
        self.assertEqual(account["LastError"], ERROR_PREFIX + "CertificateInvalid")
        self.assertIn("The certificate of sip.contoso.test was rejected (untrusted issuer)",
                      account["LastErrorMessage"])
        self.assertNotEqual(account["State"], "signed-in")


if __name__ == "__main__":
    unittest.main()
