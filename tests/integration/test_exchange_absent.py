# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd against a deployment without Exchange (sfbsim's default scenario), inside
build-aux/testnet: every Exchange attempt fails, the SIP sign-in stays signed in, and the
sign-in trace keeps telling one sign-in, whatever the number of Exchange retries."""

import time
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from sfbd_testcase import ACCOUNT, EXCHANGE  # noqa: E402
from sim_testcase import SimTestCase  # noqa: E402

RETRIES = 5


def setUpModule():
    sim_fixture.start("exchange-absent")


def tearDownModule():
    sim_fixture.stop()


def is_exchange(stage):
    return stage["Stage"].startswith("exchange-")


class ExchangeAbsentTestCase(SimTestCase):
    WAIT = 30

    def describe_state(self):
        return f"Exchange: {self.get_all_properties(EXCHANGE)}; trace: {self.trace()}"

    def trace(self):
        return self.call(ACCOUNT, "GetSignInTrace")[0]

    def failed_since(self, started):
        """Exchange failed again after a discovery that began at `started` (Unix µs)."""
        return (self.get_property(EXCHANGE, "State") == "failed"
                and any(is_exchange(s) and s["StartedAt"] >= started for s in self.trace()))

    def test_retries_do_not_fill_the_trace(self):
        self.sign_in()
        self.wait_for(lambda: self.failed_since(0), "the first Exchange discovery failed")
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
        for _ in range(RETRIES):
            started = int(time.time() * 1e6)
            self.call(EXCHANGE, "Refresh")
            self.wait_for(lambda: self.failed_since(started), "Exchange failed again")
            stages = self.trace()
            # the sign-in's own stages, untouched, then this retry's Exchange stages only
            self.assertEqual([s for s in stages if not is_exchange(s)], sip)
            self.assertEqual(stages[:len(sip)], sip)
            retry = stages[len(sip):]
            self.assertEqual([s["Stage"] for s in retry], [s["Stage"] for s in exchange],
                             stages)
            self.assertTrue(all(s["StartedAt"] >= started for s in retry), stages)
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
        it is over, as after signing in: a heap trim follows each failed attempt, not only
        the sign-in."""
        self.sign_in()
        self.wait_for(lambda: self.failed_since(0), "the first Exchange discovery failed")
        self.wait_for(lambda: "Heap trimmed" in self.daemon_log(), "the trim after signing in")
        for _ in range(2):
            trims = self.daemon_log().count("Heap trimmed")
            started = int(time.time() * 1e6)
            self.call(EXCHANGE, "Refresh")
            self.wait_for(lambda: self.failed_since(started), "Exchange failed again")
            self.wait_for(lambda: self.daemon_log().count("Heap trimmed") > trims,
                          "the trim after the attempt")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

    def srv_lookups(self):
        """Exchange's SRV lookups so far (sfbsim's DNS counts every query)."""
        return self.ctl.counters().get("dns_queries", {}).get(
            "_autodiscover._tcp.contoso.test SRV", 0)

    def test_no_exchange_stage_in_a_new_attempt(self):
        """Exchange retries on its own timer while SIP reconnects: the trace is then the new
        attempt's (an Exchange stage after a running one would hide it: that stage would
        get neither its detail nor its end), and it holds no Exchange stage."""
        self.sign_in()
        self.wait_for(lambda: self.failed_since(0), "the first Exchange discovery failed")
        lookups = self.srv_lookups()
        # the front ends go down: sfbd tries again and again
        for pool in ("director", "pool1"):
            self.ctl.stop_pool(pool=pool)
            self.addCleanup(self.ctl.start_pool, pool=pool)
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") != "signed-in",
                      "the reconnect")
        # Exchange's retry (5 to 30 s after its failure) comes during the attempts
        self.wait_for(lambda: self.srv_lookups() > lookups
                      and self.get_property(EXCHANGE, "State") == "failed",
                      "an Exchange retry", timeout=60)
        self.assertNotEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        stages = self.trace()
        self.assertTrue(stages, "the attempt's trace")
        self.assertEqual([s for s in stages if is_exchange(s)], [], stages)
        self.assertNotIn("retrieving-settings", [s["Stage"] for s in stages])


if __name__ == "__main__":
    unittest.main()
