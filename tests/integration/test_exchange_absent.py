# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd against a deployment without Exchange (sfbsim's default scenario), inside
build-aux/testnet.  Every Autodiscover candidate says "not here" (no address for contoso.test
nor autodiscover.contoso.test, no _autodiscover._tcp SRV record): Exchange is `unavailable`,
says what it tried, and looks again only when something could change the answer (Refresh(),
a new registration, a network change, a new sign-in), never on a timer (docs/protocol.md
§18.1).  A DNS server failing is no answer: that is retried.  The SIP sign-in stays signed in
and the sign-in trace keeps telling one sign-in, whatever the number of discoveries."""

import subprocess
import time
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from sfbd_testcase import ACCOUNT, EXCHANGE  # noqa: E402
from sim_testcase import SimTestCase  # noqa: E402

REFRESHES = 5
# the names discovery asks DNS about (every type: A, AAAA, SRV), as sfbsim's DNS counts them
DOMAIN = "contoso.test"
AUTODISCOVER_HOST = "autodiscover.contoso.test"
SRV_NAME = "_autodiscover._tcp.contoso.test"
# longer than the first retry of a failed discovery (5 to 30 s after it): a retry on a timer
# would have come within it
QUIET_WINDOW = 40
# an address block no test uses (TEST-NET-2): a route to it is a network change, nothing more
TEST_NET = "198.51.100.0/24"


def setUpModule():
    sim_fixture.start("exchange-absent")


def tearDownModule():
    sim_fixture.stop()


def is_exchange(stage):
    return stage["Stage"].startswith("exchange-")


class ExchangeAbsentTestCase(SimTestCase):
    WAIT = 30

    def reset_sim(self):
        super().reset_sim()
        self.ctl.dns_clear()
        self.ctl.reset_counters()

    def describe_state(self):
        return (f"Exchange: {self.get_all_properties(EXCHANGE)}; trace: {self.trace()}; "
                f"discovery's DNS queries: {self.discovery_queries()}")

    def trace(self):
        return self.call(ACCOUNT, "GetSignInTrace")[0]

    def discovery_queries(self):
        """The DNS queries for Autodiscover's names sfbsim answered so far, by name and
        type: each discovery asks for every one of them."""
        queries = self.ctl.counters().get("dns_queries", {})
        return {k: v for k, v in queries.items()
                if k.split(" ")[0] in (DOMAIN, AUTODISCOVER_HOST, SRV_NAME)}

    def attempts(self):
        """The SRV lookups so far: one per discovery, the last step of each."""
        return self.discovery_queries().get(f"{SRV_NAME} SRV", 0)

    def ended_since(self, started, state):
        """A discovery that began at `started` (Unix µs) or later ended in `state`."""
        return (self.get_property(EXCHANGE, "State") == state
                and any(s["Stage"] == "exchange-autodiscover-srv" and s["StartedAt"] >= started
                        for s in self.trace()))

    def wait_absent(self, started=0):
        self.wait_for(lambda: self.ended_since(started, "unavailable"),
                      "a discovery finding no Exchange")

    def now(self):
        return int(time.time() * 1e6)

    def assert_no_attempt_for(self, seconds):
        """No discovery (not one DNS query for its names) for `seconds`, as sfbsim sees it."""
        before = self.discovery_queries()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assertEqual(self.discovery_queries(), before, "Exchange tried again")
            time.sleep(1)

    # ---- no Exchange: unavailable, said why, no timer ----

    def test_no_exchange_is_unavailable_and_not_retried(self):
        self.sign_in()
        self.wait_absent()
        error = self.get_property(EXCHANGE, "LastError")
        # what was tried, each with what it answered, and that nothing retries by itself
        self.assertTrue(error.startswith("No Exchange found for alice@contoso.test: "), error)
        for tried in ("https://contoso.test/autodiscover/autodiscover.xml: ",
                      "https://autodiscover.contoso.test/autodiscover/autodiscover.xml: ",
                      "_autodiscover._tcp.contoso.test: no SRV record"):
            self.assertEqual(error.count(tried), 1, error)
        self.assertIn("Error resolving “autodiscover.contoso.test”", error)
        self.assertIn("Nothing to retry", error)
        self.assertIn("sfbctl exchange refresh", error)
        self.assertEqual(self.get_property(EXCHANGE, "EwsUrl"), "")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        # sfbctl says it in words
        shown = self.sfbctl("exchange").stdout
        self.assertIn("unavailable (no Exchange found; to look again: sfbctl exchange refresh)",
                      shown)
        self.assertIn("No Exchange found for alice@contoso.test", shown)
        # one discovery asked for each name, and then nothing asks again
        self.assertEqual(self.attempts(), 1, self.discovery_queries())
        self.assertGreaterEqual(self.discovery_queries().get(f"{AUTODISCOVER_HOST} A", 0), 1)
        self.assert_no_attempt_for(QUIET_WINDOW)
        self.assertEqual(self.get_property(EXCHANGE, "State"), "unavailable")
        self.assertEqual(self.get_property(EXCHANGE, "LastError"), error)

    # ---- what looks again ----

    def test_refresh_and_a_new_sign_in_look_again(self):
        self.sign_in()
        self.wait_absent()
        error = self.get_property(EXCHANGE, "LastError")
        started = self.now()
        self.call(EXCHANGE, "Refresh")
        self.wait_absent(started)
        self.assertEqual(self.attempts(), 2, self.discovery_queries())
        self.assertEqual(self.get_property(EXCHANGE, "LastError"), error)
        # signed out: unavailable for that reason, nothing said about Exchange any more
        self.call(ACCOUNT, "SignOut")
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") == "signed-out", "signed out")
        self.assertEqual(self.get_property(EXCHANGE, "State"), "unavailable")
        self.assertEqual(self.get_property(EXCHANGE, "LastError"), "")
        started = self.now()
        self.sign_in()
        self.wait_absent(started)
        self.assertEqual(self.attempts(), 3, self.discovery_queries())

    def test_a_reconnect_looks_again(self):
        self.sign_in()
        self.wait_absent()
        registers = self.ctl.counters().get("registers", {})
        started = self.now()
        self.ctl.drop_connections(user="alice")
        # the new registration's trace holds the new discovery's stages
        self.wait_absent(started)
        self.assertNotEqual(self.ctl.counters().get("registers", {}), registers)
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        self.assertEqual(self.attempts(), 2, self.discovery_queries())

    def test_a_network_change_looks_again(self):
        """Another network may see other names (a VPN, split DNS): a route appearing is a
        network change (GNetworkMonitor), which the SIP connection rides out, and Exchange
        looks again."""
        self.sign_in()
        self.wait_absent()
        registers = self.ctl.counters().get("registers", {})
        started = self.now()
        subprocess.run(["ip", "route", "add", TEST_NET, "dev", "lo"], check=True)
        self.addCleanup(subprocess.run, ["ip", "route", "del", TEST_NET, "dev", "lo"],
                        check=False)
        self.wait_absent(started)
        self.assertEqual(self.attempts(), 2, self.discovery_queries())
        self.assertEqual(self.ctl.counters().get("registers", {}), registers)
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

    # ---- a DNS server failing is no answer: retried ----

    def test_srv_lookup_failing_is_retried(self):
        """Both names answer "no such name" but the SRV lookup gets SERVFAIL: not every
        candidate said "not here", so the discovery failed and is retried by itself."""
        self.ctl.dns_fault(mode="servfail", names=[SRV_NAME])
        self.sign_in()
        self.wait_for(lambda: self.ended_since(0, "failed"), "the discovery failing")
        error = self.get_property(EXCHANGE, "LastError")
        self.assertIn("_autodiscover._tcp.contoso.test: the SRV lookup failed", error)
        self.assertNotIn("Nothing to retry", error)
        attempts = self.attempts()
        # the retry timer (5 to 30 s after the failure), nothing else
        self.wait_for(lambda: self.attempts() > attempts, "a retry", timeout=60)
        self.wait_for(lambda: self.get_property(EXCHANGE, "State") == "failed",
                      "the retry failing too")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

    # ---- the trace tells one sign-in ----

    def test_discoveries_do_not_fill_the_trace(self):
        self.sign_in()
        self.wait_absent()
        first = self.trace()
        sip = [s for s in first if not is_exchange(s)]
        exchange = [s for s in first if is_exchange(s)]
        self.assertIn("retrieving-settings", [s["Stage"] for s in sip])
        # the two standard URLs, then the SRV lookup under its own stage name, each
        # naming what it tried once
        self.assertEqual([s["Stage"] for s in exchange],
                         ["exchange-autodiscover", "exchange-autodiscover",
                          "exchange-autodiscover-srv"], first)
        for stage, name in zip(exchange, ("https://contoso.test/autodiscover/",
                                          "https://autodiscover.contoso.test/autodiscover/",
                                          "_autodiscover._tcp.contoso.test")):
            self.assertTrue(stage["Detail"].startswith(name), stage)
            if name.startswith("https:"):
                self.assertEqual(stage["Detail"].count(name), 1, stage)
            self.assertNotEqual(stage["Result"], "ok", stage)
        for _ in range(REFRESHES):
            started = self.now()
            self.call(EXCHANGE, "Refresh")
            self.wait_absent(started)
            stages = self.trace()
            # the sign-in's own stages, untouched, then this discovery's Exchange stages only
            self.assertEqual([s for s in stages if not is_exchange(s)], sip)
            self.assertEqual(stages[:len(sip)], sip)
            again = stages[len(sip):]
            self.assertEqual([s["Stage"] for s in again], [s["Stage"] for s in exchange],
                             stages)
            self.assertTrue(all(s["StartedAt"] >= started for s in again), stages)
        self.assertEqual(len(self.trace()), len(first))
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        # sfbctl trace shows the same bounded story
        result = self.sfbctl("trace")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(sum(line.startswith("exchange-") for line in lines), len(exchange),
                         result.stdout)

    def test_heap_trimmed_after_each_attempt(self):
        """An Exchange attempt (HTTPS, TLS, XML) is a burst whose pages sfbd gives back once
        it is over, as after signing in: a heap trim follows each discovery, not only the
        sign-in."""
        self.sign_in()
        self.wait_absent()
        self.wait_for(lambda: "Heap trimmed" in self.daemon_log(), "the trim after signing in")
        for _ in range(2):
            trims = self.daemon_log().count("Heap trimmed")
            started = self.now()
            self.call(EXCHANGE, "Refresh")
            self.wait_absent(started)
            self.wait_for(lambda: self.daemon_log().count("Heap trimmed") > trims,
                          "the trim after the attempt")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

    def test_no_exchange_stage_in_a_new_attempt(self):
        """Exchange retries on its own timer while SIP reconnects (its DNS server fails for
        autodiscover.contoso.test: no answer, so retried): the trace is then the new
        attempt's (an Exchange stage after a running one would hide it: that stage would get
        neither its detail nor its end), and it holds no Exchange stage."""
        self.ctl.dns_fault(mode="servfail", names=[AUTODISCOVER_HOST])
        self.sign_in()
        self.wait_for(lambda: self.ended_since(0, "failed"), "the first discovery failing")
        self.assertIn("https://autodiscover.contoso.test/autodiscover/autodiscover.xml: "
                      "Error resolving", self.get_property(EXCHANGE, "LastError"))
        lookups = self.attempts()
        # the front ends go down: sfbd tries again and again
        for pool in ("director", "pool1"):
            self.ctl.stop_pool(pool=pool)
            self.addCleanup(self.ctl.start_pool, pool=pool)
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") != "signed-in",
                      "the reconnect")
        # Exchange's retry (5 to 30 s after its failure) comes during the attempts
        self.wait_for(lambda: self.attempts() > lookups
                      and self.get_property(EXCHANGE, "State") == "failed",
                      "an Exchange retry", timeout=60)
        self.assertNotEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        stages = self.trace()
        self.assertTrue(stages, "the attempt's trace")
        self.assertEqual([s for s in stages if is_exchange(s)], [], stages)
        self.assertNotIn("retrieving-settings", [s["Stage"] for s in stages])


if __name__ == "__main__":
    unittest.main()
