# SPDX-License-Identifier: LGPL-2.1-or-later
"""SIP details a user notices only as lost changes, late reconnects or wrong traces: the
real sfbd against sfbsim inside build-aux/testnet (one sfbsim for the module, see
sim_fixture.py; a bus and sfbd per test).  What the server received is read from sfbsim's
sip.log."""

import itertools
import os
import re
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sim_fixture  # noqa: E402

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio  # noqa: E402

from sfbd_testcase import ACCOUNT, BUS_NAME, OBJECT_PATH, PRESENCE  # noqa: E402
from sim_testcase import DIRECTOR, SIM, SimTestCase  # noqa: E402

WAIT = 20


def setUpModule():
    sim_fixture.start("protocol")


def tearDownModule():
    sim_fixture.stop()


class SipLogEntry:
    """One message of sfbsim's sip.log: direction ("IN": from sfbd), note, start line,
    headers (lower-case name -> first value), body (text)."""

    def __init__(self, direction, note, start, headers, body=""):
        self.direction, self.note, self.start, self.headers = direction, note, start, headers
        self.body = body

    @property
    def method(self):
        return self.headers.get("cseq", " ").split()[-1]

    @property
    def code(self):
        m = re.match(r"SIP/2\.0 (\d+)", self.start)
        return int(m.group(1)) if m else None

    @property
    def key(self):
        return (self.headers.get("call-id"), self.headers.get("cseq"))

    def __repr__(self):
        return f"<{self.direction} {self.start} {self.headers.get('cseq')}>"


def read_sip_log(offset=0):
    """The messages sfbsim logged after byte `offset` of sip.log."""
    with open(os.path.join(SIM["workdir"], "sip.log"), encoding="utf-8") as f:
        f.seek(offset)
        text = f.read()
    entries = []
    for block in re.split(r"^=== ", text, flags=re.MULTILINE)[1:]:
        first, _, rest = block.partition("\n")
        m = re.match(r"\S+ (IN|OUT) \S+ \S+ \S+(?: \((.*)\))?$", first)
        if m is None:
            continue
        lines = rest.replace("\r\n", "\n").split("\n")
        headers, body = {}, []
        rest = iter(lines[1:])
        for line in rest:
            if not line or line.startswith("--- "):
                break
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        if not line:
            body = [b for b in itertools.takewhile(lambda b: not b.startswith("--- "), rest)]
        entries.append(SipLogEntry(m.group(1), m.group(2) or "", lines[0], headers,
                                   "\n".join(body).rstrip("\n")))
    return entries


def sip_log_size():
    return os.path.getsize(os.path.join(SIM["workdir"], "sip.log"))


class ProtocolTestCase(SimTestCase):
    WAIT = WAIT

    def reset_sim(self):
        sim_fixture.reset()

    def setUp(self):
        self.addCleanup(SIM["ctl"].set_registrar_options, expires_header=True)
        super().setUp()
        self.states = []  # every State the Account interface announced
        self.errors = []  # every LastErrorMessage
        self.bus.signal_subscribe(BUS_NAME, "org.freedesktop.DBus.Properties",
                                  "PropertiesChanged", OBJECT_PATH, None,
                                  Gio.DBusSignalFlags.NONE, self._on_properties_changed)

    def _on_properties_changed(self, connection, sender, path, interface, name, parameters):
        changed_interface, changed, _ = parameters.unpack()
        if changed_interface == ACCOUNT and "State" in changed:
            self.states.append(changed["State"])
        if changed_interface == ACCOUNT and changed.get("LastErrorMessage"):
            self.errors.append(changed["LastErrorMessage"])

    def state(self):
        return self.get_property(ACCOUNT, "State")

    def trace(self):
        return self.call(ACCOUNT, "GetSignInTrace")[0]

    def requests_from_sfbd(self, entries, method=None):
        return [e for e in entries if e.direction == "IN" and not e.start.startswith("SIP/")
                and (method is None or e.method == method)]

    def answer_to(self, entries, request):
        for e in entries:
            if e.direction == "OUT" and e.code is not None and e.code >= 200 \
                    and e.key == request.key:
                return e
        return None

    # ---- the trace ----

    def test_redirect_target_is_labelled_redirect(self):
        self.sign_in()
        connecting = [s["Detail"] for s in self.trace() if s["Stage"] == "connecting"]
        pool = [d for d in connecting if d.startswith("pool1.contoso.test:5061")]
        self.assertEqual(len(pool), 1, connecting)
        self.assertIn("(redirect", pool[0])
        self.assertNotIn("configured", pool[0])
        self.assertIn("(configured", [d for d in connecting if d.startswith(DIRECTOR)][0])

    # ---- registration time ----

    def test_refreshes_within_the_time_granted_in_the_contact(self):
        # the 200 to REGISTER says expires=10 in the Contact only, no Expires header
        self.ctl.set_registrar_options(expires_header=False)
        self.ctl.set_timers(expires=10)
        offset = sip_log_size()
        self.sign_in()
        registered_at = time.monotonic()
        self.wait_for(lambda: [e for e in read_sip_log(offset)
                               if e.direction == "OUT" and e.note == "refreshed"],
                      "a re-REGISTER within the 10 s granted", timeout=10)
        self.assertLess(time.monotonic() - registered_at, 10)
        entries = read_sip_log(offset)
        granted = [e for e in entries if e.direction == "OUT" and e.note == "registered"]
        self.assertNotIn("expires", granted[0].headers)  # the server really sent none
        self.assertEqual(len(self.ctl.endpoints(user="alice")), 1)
        self.assertEqual(self.state(), "signed-in")

    # ---- subscription time ----

    def test_subscriptions_are_refreshed_within_the_time_granted(self):
        # every subscription granted 6 s: each one granted is refreshed in its dialog
        # (the server's To tag) and the server still knows it (200, not 481)
        granted_before = self.ctl.set_timers()["subscription_expires"]
        self.addCleanup(self.ctl.set_timers, subscription_expires=granted_before)
        self.ctl.set_timers(subscription_expires=6)
        offset = sip_log_size()
        self.sign_in()

        def dialogs():
            entries = read_sip_log(offset)
            granted, refreshed = set(), set()
            for request in self.requests_from_sfbd(entries, "SUBSCRIBE"):
                answer = self.answer_to(entries, request)
                if answer is None or answer.code != 200:
                    continue
                if ";tag=" in request.headers.get("to", ""):
                    refreshed.add(request.headers["call-id"])
                elif int(answer.headers.get("expires", "0")) > 0:
                    granted.add(request.headers["call-id"])
            return (granted, refreshed) if granted and granted <= refreshed else None

        granted, _ = self.wait_for(dialogs, "every subscription granted refreshed", timeout=20)
        self.assertGreaterEqual(len(granted), 2, granted)  # roaming and presence at least
        self.assertEqual(self.state(), "signed-in")
        # the contacts' batch, built again for each SUBSCRIBE: the same body in its refresh
        bodies = {}
        for request in self.requests_from_sfbd(read_sip_log(offset), "SUBSCRIBE"):
            if "<batchSub" in request.body and request.headers["call-id"] in granted:
                bodies.setdefault(request.headers["call-id"], []).append(request.body)
        self.assertTrue(bodies, "no batch SUBSCRIBE granted")
        for sent in bodies.values():
            self.assertGreaterEqual(len(sent), 2, sent)
            self.assertIn("<resource uri=", sent[0])
            self.assertTrue(all(body == sent[0] for body in sent), sent)

    # ---- presence after Reconnect ----

    def test_publication_after_reconnect_is_not_refused(self):
        self.sign_in()
        self.wait_for(lambda: self.ctl.presence(user="alice")["availability"] == 3500,
                      "the first publication")
        self.call(PRESENCE, "SetAvailability", ("busy",), "(s)")
        self.wait_for(lambda: self.ctl.presence(user="alice")["availability"] == 6500, "busy")
        offset = sip_log_size()
        self.call(ACCOUNT, "Reconnect")
        self.wait_for(lambda: self.state() == "reconnecting" or [
            e for e in read_sip_log(offset) if e.note == "registered"], "the reconnect")
        self.wait_for(lambda: self.state() == "signed-in", "signed in again")
        # the category publication accepted (not any SERVICE: the location profile's
        # comes first); a 409 to it would have been answered before that
        entries = self.wait_for(lambda: self.log_once_published(offset),
                                "the publication after the reconnect accepted")
        self.assertEqual(self.ctl.presence(user="alice")["availability"], 6500)
        services = self.requests_from_sfbd(entries, "SERVICE")
        codes = [self.answer_to(entries, e).code for e in services
                 if self.answer_to(entries, e) is not None]
        self.assertTrue(codes)
        self.assertNotIn(409, codes)
        self.assertNotIn("Publication versions out of date", self.daemon_log())


    def publications_after(self, offset, entries=None):
        """(request, answer code or None) of each category publication sfbd sent after
        `offset` of sip.log (or in `entries`, read from there), in order."""
        entries = read_sip_log(offset) if entries is None else entries
        return [(e, getattr(self.answer_to(entries, e), "code", None))
                for e in self.requests_from_sfbd(entries, "SERVICE")
                if e.headers.get("content-type", "").startswith(
                    "application/msrtc-category-publish+xml")]

    def log_once_published(self, offset):
        """sip.log's entries after `offset` once a category publication there was accepted
        (200), else None."""
        entries = read_sip_log(offset)
        return entries if 200 in [c for _, c in self.publications_after(offset, entries)] \
            else None

    def test_publication_after_reconnect_goes_out_beside_roaming_self(self):
        self.sign_in()
        self.wait_for(lambda: self.ctl.presence(user="alice")["availability"] == 3500,
                      "the first publication")
        offset = sip_log_size()
        self.states.clear()
        self.call(ACCOUNT, "Reconnect")
        self.wait_for(lambda: self.states and self.states[-1] == "signed-in",
                      "signed in again")

        def both_answered():
            """sip.log's entries, the roaming-self SUBSCRIBE and the first publication
            once sfbsim answered both: the test reads their order only then."""
            entries = read_sip_log(offset)
            roaming = [e for e in self.requests_from_sfbd(entries, "SUBSCRIBE")
                       if e.headers.get("event") == "vnd-microsoft-roaming-self"]
            publications = self.publications_after(offset, entries)
            if roaming and self.answer_to(entries, roaming[0]) and publications \
                    and publications[0][1] is not None:
                return entries, roaming[0], publications[0][0]
            return None

        entries, roaming, publication = self.wait_for(
            both_answered, "the answers to the roaming-self SUBSCRIBE and the publication")
        roaming_answer = self.answer_to(entries, roaming)
        # sent before sfbd had the roaming-self answer: it did not wait for it
        self.assertLess(entries.index(publication), entries.index(roaming_answer))
        self.assertEqual([c for _, c in self.publications_after(offset)], [200])
        self.assertEqual(self.ctl.presence(user="alice")["availability"], 3500)

    def test_user_state_another_endpoint_set_while_away_is_kept(self):
        self.sign_in()
        self.wait_for(lambda: self.ctl.presence(user="alice")["availability"] == 3500,
                      "the first publication")
        self.call(PRESENCE, "SetAvailability", ("busy",), "(s)")
        self.wait_for(lambda: self.ctl.presence(user="alice")["availability"] == 6500, "busy")
        offset = sip_log_size()
        self.states.clear()
        # the connection drops; while sfbd's REGISTER waits in sfbsim (held until released,
        # so sfbd is surely not back), alice's phone sets Do Not Disturb
        self.ctl.hold_requests(user="alice", method="REGISTER")
        self.addCleanup(self.ctl.release_requests)
        self.assertGreater(self.ctl.drop_connections(user="alice"), 0)
        self.wait_for(lambda: self.ctl.held_requests(user="alice"), "sfbd's REGISTER held")
        self.assertEqual(self.ctl.endpoints(user="alice"), [])
        self.ctl.set_presence(user="alice", availability=9500)
        self.assertGreaterEqual(self.ctl.release_requests(user="alice"), 1)
        self.wait_for(lambda: "signed-in" in self.states, "signed in again")
        # the publication with this run's "busy" meets the phone's newer version: 409,
        # then published again without the user state
        self.wait_for(lambda: [c for _, c in self.publications_after(offset)][:2] == [409, 200],
                      "the 409 and the publication again")
        self.assertEqual(self.ctl.presence(user="alice")["availability"], 9500)
        self.wait_for(lambda: self.get_property(PRESENCE, "Availability") == "do-not-disturb",
                      "own Availability do-not-disturb")
        self.assertIn("Another endpoint changed the user state", self.daemon_log())

    def test_note_version_made_stale_by_another_endpoint_recovers_with_409(self):
        self.sign_in()
        self.wait_for(lambda: self.ctl.presence(user="alice")["availability"] == 3500,
                      "the first publication")
        self.call(PRESENCE, "SetNote", ("Out to lunch",), "(s)")
        self.wait_for(lambda: self.ctl.presence(user="alice")["note"] == "Out to lunch", "the note")
        self.assertGreater(self.ctl.bump_versions(user="alice", category="note"), 0)
        offset = sip_log_size()
        self.states.clear()
        self.call(ACCOUNT, "Reconnect")
        self.wait_for(lambda: self.states and self.states[-1] == "signed-in",
                      "signed in again")
        self.wait_for(lambda: [c for _, c in self.publications_after(offset)][:2] == [409, 200],
                      "the 409 and the publication again")
        self.assertEqual(self.ctl.presence(user="alice")["note"], "Out to lunch")
        self.assertIn("Publication versions out of date", self.daemon_log())
        self.assertEqual(self.state(), "signed-in")


    # ---- sign-out ----

    def test_sign_out_unsubscribes_then_unregisters(self):
        self.sign_in()
        self.wait_for(lambda: self.ctl.presence(user="alice")["availability"] == 3500,
                      "the first publication")
        self.wait_for(lambda: self.call(PRESENCE, "GetPresence",
                                        (["sip:dave@contoso.test"],), "(as)")[0],
                      "the contacts' presence subscription")
        # the dialogs sfbsim holds for alice: roaming-self, contacts, presence, ...
        active = self.ctl.endpoints(user="alice")[0]["subscriptions"]
        self.assertGreaterEqual(active, 3)
        offset = sip_log_size()
        self.call(ACCOUNT, "SignOut")
        self.wait_for(lambda: self.state() == "signed-out", "signed-out")
        entries = read_sip_log(offset)
        requests = [e for e in self.requests_from_sfbd(entries)
                    if e.method in ("SUBSCRIBE", "REGISTER")]
        methods = [e.method for e in requests]
        self.assertEqual(methods[-1], "REGISTER", methods)
        self.assertEqual(requests[-1].headers.get("expires"), "0")
        unsubscribes = requests[:-1]
        self.assertEqual(len(unsubscribes), active, methods)
        for e in unsubscribes:
            self.assertEqual(e.method, "SUBSCRIBE")
            self.assertEqual(e.headers.get("expires"), "0")
            answer = self.answer_to(entries, e)
            self.assertIsNotNone(answer, f"no answer to {e}")
            self.assertEqual(answer.code, 200, f"{e} answered {answer.start}")
        deregister = self.answer_to(entries, requests[-1])
        self.assertIsNotNone(deregister)
        self.assertEqual(deregister.code, 200)
        self.assertEqual(self.ctl.endpoints(user="alice"), [])

    # ---- a lost security association ----

    def test_set_availability_after_the_sa_was_lost(self):
        self.sign_in()
        self.wait_for(lambda: self.ctl.presence(user="alice")["availability"] == 3500,
                      "the first publication")
        self.assertGreater(self.ctl.expire_sa(user="alice"), 0)
        offset = sip_log_size()
        self.call(PRESENCE, "SetAvailability", ("busy",), "(s)")
        self.assertEqual(self.ctl.presence(user="alice")["availability"], 6500)
        self.assertEqual(self.get_property(PRESENCE, "AvailabilityCode"), 6500)
        self.assertEqual(self.state(), "signed-in")
        entries = read_sip_log(offset)
        services = self.requests_from_sfbd(entries, "SERVICE")
        answers = [self.answer_to(entries, e) for e in services]
        self.assertEqual([a.code for a in answers if a is not None][:1], [401])
        self.assertIn(200, [a.code for a in answers if a is not None])
        self.assertIn("refreshed", [e.note for e in entries if e.direction == "OUT"])


    # ---- a server that stops answering ----

    def test_silent_server_is_noticed_and_signed_in_again(self):
        # ms-keep-alive timeout=4: sfbd pings every 2 s when idle
        self.ctl.set_timers(keep_alive=4)
        self.sign_in()
        # two pings: sfbd had the pong to the first one 2 s before the second
        self.wait_for(lambda: self.ctl.counters().get("keepalives", {}).get("*", 0) >= 2,
                      "two keep-alives answered")
        self.states.clear()
        self.assertGreater(self.ctl.go_silent(user="alice"), 0)
        # a ping within 2 s, then 10 s for its pong (sfbd(8)), and some slack
        self.wait_for(lambda: "reconnecting" in self.states, "reconnecting", timeout=25)
        self.assertIn("no answer to a keep-alive", " ".join(self.errors))
        self.wait_for(lambda: self.states[-1] == "signed-in", "signed in again")
        self.assertEqual(self.state(), "signed-in")

    def test_stalled_message_is_noticed_and_signed_in_again(self):
        self.sign_in()
        self.states.clear()
        self.assertGreater(self.ctl.send_partial(user="alice", content_length=4000000, sent=10),
                           0)
        # 15 s without a byte inside a message (sfbd(8)), and some slack
        self.wait_for(lambda: "reconnecting" in self.states, "reconnecting", timeout=25)
        self.assertIn("stalled inside a message", " ".join(self.errors))
        self.wait_for(lambda: self.states[-1] == "signed-in", "signed in again")
        self.assertEqual(self.state(), "signed-in")


if __name__ == "__main__":
    unittest.main(verbosity=2)
