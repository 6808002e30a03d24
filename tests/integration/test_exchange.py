# SPDX-License-Identifier: LGPL-2.1-or-later
"""Exchange (org.sfbd.Sfbd1.Exchange): the real sfbd against sfbsim's Exchange
(tests/sfbsim/scenarios/exchange.toml), inside build-aux/testnet.  One sfbsim for the module
(reset before each test), a bus and sfbd per test.  Each property follows what sfbsim's
control actions change in alice's mailbox; Exchange failing leaves SIP signed in and says
why; the password appears nowhere; Autodiscover works through each of its three routes."""

import os
import subprocess
import time
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from sfbd_testcase import ACCOUNT, BUS_NAME, EXCHANGE, OBJECT_PATH  # noqa: E402
from sim_testcase import PASSWORDS, SimTestCase, kerberos_env, string  # noqa: E402

PASSWORD = PASSWORDS["alice"]
SCENARIO = os.path.join(sim_fixture.SOURCE_ROOT, "tests", "sfbsim", "scenarios", "exchange.toml")
EWS_URL = "https://mail.contoso.test/EWS/Exchange.asmx"
UM_URL = "https://mail.contoso.test/EWS/UM2007Legacy.asmx"
AUTODISCOVER_DOMAIN = "https://contoso.test/autodiscover/autodiscover.xml"
AUTODISCOVER_HOST = "https://autodiscover.contoso.test/autodiscover/autodiscover.xml"
AUTODISCOVER_SRV = "https://mail.contoso.test/autodiscover/autodiscover.xml"
EXCHANGE_HOSTS = {"contoso.test", "autodiscover.contoso.test", "mail.contoso.test"}


def setUpModule():
    sim_fixture.start("exchange", scenario=SCENARIO)


def tearDownModule():
    sim_fixture.stop()


class ExchangeTestCase(SimTestCase):
    WAIT = 30

    def _make_env(self):
        env = super()._make_env()
        env.update(kerberos_env(self.tmp))
        return env

    def reset_sim(self):
        super().reset_sim()
        self.ctl.reset_exchange()
        self.ctl.reset_counters()

    def setUp(self):
        super().setUp()
        self.changes = []
        self.bus.signal_subscribe(BUS_NAME, "org.freedesktop.DBus.Properties",
                                  "PropertiesChanged", OBJECT_PATH, EXCHANGE, 0,
                                  self._on_changed)

    def _on_changed(self, connection, sender, path, interface, name, parameters):
        self.changes.append(parameters.unpack()[1])

    def describe_state(self):
        return f"Exchange: {self.get_all_properties(EXCHANGE)}"

    def exchange(self, name):
        return self.get_property(EXCHANGE, name)

    def wait_connected(self):
        self.wait_for(lambda: self.exchange("State") in ("connected", "failed"),
                      "Exchange connected")
        self.assertEqual(self.exchange("State"), "connected", self.exchange("LastError"))

    def refresh_until(self, predicate, what):
        """Refresh() (what a user does to see a change at once), then wait for it."""
        self.call(EXCHANGE, "Refresh")
        return self.wait_for(predicate, what)

    def trace_stages(self):
        return self.call(ACCOUNT, "GetSignInTrace")[0]

    def autodiscover_urls(self):
        return [s["Detail"] for s in self.trace_stages() if s["Stage"] == "exchange-autodiscover"]

    def autodiscover_emails(self):
        """The addresses Autodiscover requests asked for (the NTLM legs' 401s carry none)."""
        return {r["email"] for r in self.ctl.exchange_requests(kind="autodiscover")
                if r.get("email") is not None}

    # ---- what alice's mailbox holds ----

    def test_scenario_mailbox_on_d_bus(self):
        self.sign_in()
        self.wait_connected()
        self.assertEqual(self.exchange("EwsUrl"), EWS_URL)
        self.assertEqual(self.exchange("UmUrl"), UM_URL)
        self.assertEqual(self.exchange("LastError"), "")
        self.assertTrue(self.exchange("InMeeting"))
        current = self.exchange("CurrentMeeting")
        self.assertEqual(current["Subject"], "Project review")
        self.assertEqual(current["Location"], "Room 1")
        now = time.time() * 1e6
        self.assertLess(current["Start"], now)
        self.assertGreater(current["End"], now)
        self.assertEqual(current["End"] - current["Start"], 60 * 60 * 10**6)
        self.assertEqual(self.exchange("NextMeeting")["Subject"], "1:1 with Dave")
        self.assertFalse(self.exchange("OutOfOffice"))
        self.assertEqual(self.exchange("OutOfOfficeMessage"), "")
        self.wait_for(lambda: self.exchange("UnreadVoicemails") == 2, "2 unread voicemails")
        self.assertEqual(self.exchange("MissedConversations"), 3)
        # every step of the discovery is in the sign-in trace, after retrieving-settings
        stages = [s["Stage"] for s in self.trace_stages()]
        self.assertLess(stages.index("retrieving-settings"), stages.index("exchange-autodiscover"))
        self.assertIn("exchange-ews", stages)
        self.assertIn(AUTODISCOVER_DOMAIN, self.autodiscover_urls()[-1])

    def test_meeting_starts_and_ends(self):
        self.sign_in()
        self.wait_connected()
        self.ctl.remove_meeting(user="alice")
        self.refresh_until(lambda: not self.exchange("InMeeting")
                           and not self.exchange("CurrentMeeting")
                           and not self.exchange("NextMeeting"), "no meeting")
        # a meeting starting in 3 s and lasting 3 s: sfbd reads it once, then its own timer
        # at each boundary flips InMeeting without another EWS request
        self.ctl.add_meeting(user="alice", subject="Stand-up", location="Hall", start="3s",
                             duration="3s")
        self.refresh_until(lambda: self.exchange("NextMeeting").get("Subject") == "Stand-up",
                           "the next meeting")
        self.ctl.exchange_requests(reset=True)
        self.changes.clear()
        self.wait_for(lambda: self.exchange("InMeeting"), "the meeting started")
        self.assertEqual(self.exchange("CurrentMeeting")["Location"], "Hall")
        self.assertEqual(self.exchange("NextMeeting"), {})
        self.wait_for(lambda: not self.exchange("InMeeting"), "the meeting ended")
        self.assertEqual(self.exchange("CurrentMeeting"), {})
        # (the rest of the Refresh() pass, OOF and the counts, may still be under way: only
        # a calendar read would mean sfbd asked Exchange to see the meeting start or end)
        self.assertEqual(self.ctl.exchange_requests(kind="ews",
                                                    operation="GetUserAvailability"), [])
        self.wait_for(lambda: any("InMeeting" in c for c in self.changes)
                      and sum("InMeeting" in c for c in self.changes) == 2,
                      "InMeeting changed twice")

    def test_next_meeting_is_today_or_tomorrow(self):
        self.sign_in()
        self.wait_connected()
        self.ctl.remove_meeting(user="alice")
        self.ctl.add_meeting(user="alice", subject="Offsite", start="50h", duration="1h")
        self.refresh_until(lambda: not self.exchange("CurrentMeeting"), "no meeting now")
        self.assertEqual(self.exchange("NextMeeting"), {})
        self.ctl.add_meeting(user="alice", subject="Retro", start="20h", duration="1h")
        self.refresh_until(lambda: self.exchange("NextMeeting").get("Subject") == "Retro",
                           "the meeting tomorrow")

    def test_oof_on_and_off(self):
        self.sign_in()
        self.wait_connected()
        self.ctl.set_oof(user="alice", state="Enabled",
                         message="<html><body><p>Away until <b>Monday</b>.</p></body></html>")
        self.refresh_until(lambda: self.exchange("OutOfOffice"), "OOF on")
        self.assertEqual(self.exchange("OutOfOfficeMessage"), "Away until Monday.")
        self.ctl.set_oof(user="alice", state="Disabled")
        self.refresh_until(lambda: not self.exchange("OutOfOffice"), "OOF off")
        self.assertEqual(self.exchange("OutOfOfficeMessage"), "")

    def test_sign_in_https_closed_while_exchange_keeps_working(self):
        # signed in by discovery: sfbd closes autodiscover's HTTPS connections once signed in
        # (test_signin's HttpConnectionsTest); Exchange's are its own and keep working
        exchange_hosts = {"contoso.test", "autodiscover.contoso.test", "mail.contoso.test"}

        def sign_in_http(counter):
            return {key: n for key, n in self.ctl.counters().get(counter, {}).items()
                    if key.split(":")[0] not in exchange_hosts}
        self.configure_user(server=None)
        self.call(ACCOUNT, "SignIn")
        self.wait_connected()
        self.wait_for(lambda: not sign_in_http("open_http_connections"),
                      "the sign-in's HTTPS connections closed", timeout=10)
        opened = sign_in_http("http_connections")
        self.assertTrue(opened, "no sign-in HTTPS connection: nothing was tested")
        self.assertEqual(sign_in_http("http_closed_by_client"), opened)

        self.ctl.set_oof(user="alice", state="Enabled", message="Gone fishing")
        self.refresh_until(lambda: self.exchange("OutOfOffice"), "OOF on")
        self.call(ACCOUNT, "Reconnect")
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") == "signed-in"
                      and "registered" in [stage["Stage"] for stage in self.trace_stages()],
                      "signed in again")
        self.ctl.set_oof(user="alice", state="Disabled")
        self.refresh_until(lambda: not self.exchange("OutOfOffice"), "OOF off after it")

    # ---- Exchange's own HTTPS connections: closed by sfbd after each pass ----

    def exchange_http(self, counter):
        """An sfbsim HTTP(S) connection counter, Exchange's hosts only."""
        return {key: n for key, n in self.ctl.counters().get(counter, {}).items()
                if key.split(":")[0] in EXCHANGE_HOSTS}

    def wait_exchange_http_closed(self, what):
        """Until every Exchange connection sfbd opened is closed, each by sfbd: well within
        sfbsim's own 30-s idle timeout, and libsoup's 60 s (docs/benchmarks.md)."""
        self.wait_for(lambda: not self.exchange_http("open_http_connections")
                      and self.exchange_http("http_closed_by_client")
                      == self.exchange_http("http_connections"),
                      f"{what}: Exchange's HTTPS connections closed by sfbd", timeout=10)
        self.assertTrue(self.exchange_http("http_connections"), "no Exchange connection: "
                        "nothing was tested")

    def test_connections_closed_after_each_pass(self):
        self.sign_in()
        self.wait_connected()
        self.wait_exchange_http_closed("after the first pass")
        # the next pass connects afresh and works, with one connection (EWS's host) for all
        # its requests and handshake legs, closed after it too
        self.ctl.reset_counters()
        self.ctl.set_oof(user="alice", state="Enabled", message="Gone fishing")
        self.refresh_until(lambda: self.exchange("OutOfOffice"), "OOF on after Refresh()")
        self.wait_exchange_http_closed("after Refresh()")
        self.assertEqual(self.exchange_http("http_connections"), {"mail.contoso.test:443": 1})
        self.assertEqual(self.exchange("State"), "connected")

    def test_refresh_during_a_pass_runs_on_its_connection(self):
        self.sign_in()
        self.wait_connected()
        self.wait_exchange_http_closed("after the first pass")
        self.ctl.reset_counters()
        self.ctl.exchange_requests(reset=True)
        self.ctl.set_delay(ms=300)  # a pass of several seconds (reset after the test)
        self.call(EXCHANGE, "Refresh")
        self.wait_for(lambda: self.ctl.exchange_requests(kind="ews"), "the pass under way")
        self.call(EXCHANGE, "Refresh")  # runs right after this pass
        self.wait_for(lambda: len(self.ctl.exchange_requests(
            kind="ews", operation="GetUserAvailability")) == 2, "the second pass")
        self.wait_exchange_http_closed("after both passes")
        self.assertEqual(self.exchange_http("http_connections"), {"mail.contoso.test:443": 1})
        self.assertEqual(self.exchange("State"), "connected")

    def test_failed_pass_leaves_no_connection_open(self):
        self.sign_in()
        self.wait_connected()
        self.ctl.reset_counters()
        self.ctl.set_exchange(status=500)
        self.call(EXCHANGE, "Refresh")
        self.wait_for(lambda: self.exchange("State") == "failed", "Exchange failed")
        self.wait_exchange_http_closed("after a failed pass")

    def test_sign_out_during_a_pass_leaves_no_connection_open(self):
        # the sign-in's pass, slowed down: once EWS is asked, Autodiscover's connection is idle
        # and EWS's has a request in flight
        self.ctl.set_delay(ms=200)  # reset after the test
        self.sign_in()
        self.wait_for(lambda: self.ctl.exchange_requests(kind="ews"), "the EWS reads under way")
        self.assertNotEqual(self.exchange("State"), "connected")
        self.assertEqual(len(self.exchange_http("open_http_connections")), 2)
        self.call(ACCOUNT, "SignOut")
        self.wait_for(lambda: self.exchange("State") == "unavailable", "Exchange unavailable")
        self.wait_exchange_http_closed("after SignOut() during a pass")

    def test_read_again_after_a_reconnect(self):
        self.sign_in()
        self.wait_connected()
        self.ctl.set_oof(user="alice", state="Enabled", message="Gone fishing")
        # no Refresh(): the SIP connection drops, sfbd registers again, then reads Exchange
        self.ctl.drop_connections()
        self.wait_for(lambda: self.exchange("OutOfOffice"), "OOF read after the reconnect")
        self.assertEqual(self.exchange("OutOfOfficeMessage"), "Gone fishing")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

    def test_voicemail_arrives_and_is_read(self):
        self.sign_in()
        self.wait_connected()
        self.wait_for(lambda: self.exchange("UnreadVoicemails") == 2, "2 unread voicemails")
        self.ctl.add_voicemail(user="alice", **{"from": "Erin Evans", "duration": 9})
        self.refresh_until(lambda: self.exchange("UnreadVoicemails") == 3, "3 unread voicemails")
        self.ctl.read_voicemails(user="alice")
        self.refresh_until(lambda: self.exchange("UnreadVoicemails") == 0, "voicemails read")

    def test_voicemail_count_from_a_message_summary(self):
        """A voicemail server's NOTIFY Event: message-summary (RFC 3842) sets the count at
        once (the mailbox still holds 2: 5 can only come from the summary); a summary sfbd
        cannot read is refused and changes nothing."""
        self.sign_in()
        self.wait_connected()
        self.wait_for(lambda: self.exchange("UnreadVoicemails") == 2, "2 unread voicemails")
        self.assertEqual(self.ctl.send_message_summary(user="alice", new=5, old=1), [200])
        self.wait_for(lambda: self.exchange("UnreadVoicemails") == 5, "5 unread voicemails")
        self.assertEqual(self.ctl.send_message_summary(user="alice", body="Voice-Message: 9/0\r\n"),
                         [400])
        self.assertEqual(self.ctl.send_message_summary(user="alice", new=7, content_type="text/plain"),
                         [415])
        self.assertEqual(self.ctl.send_message_summary(user="alice", new=0), [200])
        self.wait_for(lambda: self.exchange("UnreadVoicemails") == 0, "no unread voicemails")
        self.assertNotIn(9, [c.get("UnreadVoicemails") for c in self.changes])
        self.assertNotIn(7, [c.get("UnreadVoicemails") for c in self.changes])

    def test_missed_conversations(self):
        self.sign_in()
        self.wait_connected()
        self.assertEqual(self.exchange("MissedConversations"), 3)
        self.ctl.add_missed(user="alice", **{"from": "sip:frank@contoso.test",
                                             "name": "Frank Fischer"})
        self.ctl.add_missed(user="alice", **{"from": "sip:frank@contoso.test",
                                             "name": "Frank Fischer", "kind": "conversation"})
        self.refresh_until(lambda: self.exchange("MissedConversations") == 4, "4 missed")
        self.ctl.read_missed(user="alice")
        self.refresh_until(lambda: self.exchange("MissedConversations") == 0, "none missed")

    def test_missed_conversations_on_exchange_2010(self):
        self.ctl.set_exchange(version="Exchange2010_SP2")
        self.sign_in()
        self.wait_connected()
        self.wait_for(lambda: self.exchange("MissedConversations") == 3, "3 missed")
        finds = self.ctl.exchange_requests(kind="ews", operation="FindFolder")
        self.assertTrue(finds, "the folder was looked up by name")

    def test_line_uri_from_the_directory(self):
        """The line the server publishes in roaming-self (userProperties, default.toml's
        [policies.directory.alice]) wins over provisioning's."""
        self.sign_in()
        self.wait_connected()
        self.wait_for(lambda: self.exchange("LineUri") == "tel:+441785100100;ext=100",
                      "the directory's line URI")
        self.ctl.set_policy(group="userSetting", values={"lineUri": "tel:+441785100999"})
        self.call(EXCHANGE, "Refresh")
        self.wait_connected()
        self.assertEqual(self.exchange("LineUri"), "tel:+441785100100;ext=100")

    def test_line_uri_from_provisioning(self):
        self.ctl.set_policy(group="directory", remove=["alice"])  # no userProperties line
        self.sign_in()
        self.wait_connected()
        self.assertEqual(self.exchange("LineUri"), "")
        self.ctl.set_policy(group="userSetting",
                            values={"lineUri": "tel:+441785100100;ext=100"})
        self.wait_for(lambda: self.exchange("LineUri") == "tel:+441785100100;ext=100",
                      "the line URI")
        self.ctl.set_policy(group="userSetting", remove=["lineUri"])
        self.wait_for(lambda: self.exchange("LineUri") == "", "no line URI")

    def test_discovery_for_the_contact_card_address(self):
        """sip:alice@contoso.test whose mailbox is alice.smith@contoso.test (the directory's
        mail attribute, in her contact card): Autodiscover asks for that address, never the
        SIP one, which no mailbox has."""
        self.ctl.set_mailbox(user="alice", email="alice.smith@contoso.test", aliases=[])
        self.sign_in()
        self.wait_connected()
        self.assertEqual(self.exchange("EwsUrl"), EWS_URL)
        self.assertTrue(self.exchange("InMeeting"))
        self.assertEqual(self.autodiscover_emails(), {"alice.smith@contoso.test"})
        # the address changes while signed in (roaming-self brings the new card): sfbd
        # discovers the new mailbox at once
        self.ctl.exchange_requests(reset=True)
        self.assertEqual(self.ctl.set_mailbox(user="alice", email="a.smith@contoso.test")
                         ["notified"], 1)
        self.wait_for(lambda: "a.smith@contoso.test" in self.autodiscover_emails()
                      and self.exchange("State") == "connected", "the new mailbox discovered")
        self.assertEqual(self.autodiscover_emails(), {"a.smith@contoso.test"})
        self.assertTrue(self.exchange("InMeeting"))

    # ---- failures ----

    def wait_discovered(self, state):
        """The discovery's end: `state` (unavailable, failed) with a LastError."""
        self.wait_for(lambda: self.exchange("State") == state and self.exchange("LastError"),
                      f"Exchange {state}")

    def test_nothing_listening_is_no_exchange(self):
        """Every candidate resolves but nothing listens there (the SRV record's target
        neither): not here, so Exchange is unavailable and nothing retries it; Refresh()
        looks again."""
        self.ctl.set_exchange(status="refused")
        self.sign_in()
        self.wait_discovered("unavailable")
        error = self.exchange("LastError")
        self.assertTrue(error.startswith("No Exchange found for alice@contoso.test: "), error)
        self.assertIn(f"{AUTODISCOVER_DOMAIN}: Could not connect", error)
        self.assertIn(f"{AUTODISCOVER_HOST}: Could not connect", error)
        self.assertIn(f"{AUTODISCOVER_SRV}: Could not connect", error)  # the SRV target
        self.assertIn("Nothing to retry", error)
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        self.assertEqual(self.exchange("EwsUrl"), "")
        # it comes back: Refresh() tries at once
        self.ctl.set_exchange(status="up")
        self.refresh_until(lambda: self.exchange("State") == "connected", "Exchange back")
        self.assertEqual(self.exchange("LastError"), "")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

    def test_no_autodiscover_anywhere_is_no_exchange(self):
        """The domain's web server answers a portal page, the autodiscover host 404, no SRV
        record: each says "not here"; what the mailbox showed before goes."""
        self.sign_in()
        self.wait_connected()
        self.ctl.set_exchange(domain="content-type", autodiscover=404, srv="off")
        self.ctl.set_exchange(status=503)  # the EWS URL fails: discover again on Refresh()
        self.call(EXCHANGE, "Refresh")
        self.wait_discovered("failed")
        self.ctl.set_exchange(status="up")
        self.call(EXCHANGE, "Refresh")
        self.wait_discovered("unavailable")
        error = self.exchange("LastError")
        self.assertIn(f"{AUTODISCOVER_DOMAIN}: answered text/html, not an Autodiscover "
                      "document", error)
        self.assertIn(f"{AUTODISCOVER_HOST}: HTTP 404", error)
        self.assertIn("_autodiscover._tcp.contoso.test: no SRV record", error)
        self.assertIn("Nothing to retry", error)
        props = self.get_all_properties(EXCHANGE)
        self.assertEqual((props["EwsUrl"], props["UmUrl"]), ("", ""))
        self.assertFalse(props["InMeeting"])
        self.assertEqual((props["CurrentMeeting"], props["NextMeeting"]), ({}, {}))
        self.assertEqual(props["MissedConversations"], 0)

    def test_a_new_address_looks_again(self):
        """No Exchange for the address at sign-in; the contact card then brings another
        address (roaming-self), which is discovered at once, Exchange there now."""
        self.ctl.set_exchange(domain="off", autodiscover="off", srv="off")
        self.sign_in()
        self.wait_discovered("unavailable")
        self.assertEqual(self.ctl.exchange_requests(kind="autodiscover"), [])
        self.ctl.set_exchange(domain="ok", autodiscover="ok", srv="ok")
        self.assertEqual(self.ctl.set_mailbox(user="alice", email="a.smith@contoso.test")
                         ["notified"], 1)
        self.wait_connected()
        self.assertEqual(self.autodiscover_emails(), {"a.smith@contoso.test"})
        self.assertEqual(self.exchange("LastError"), "")

    def test_exchange_refusing_says_which_url_and_status(self):
        """503 is Exchange there but busy: failed, and retried by itself."""
        self.ctl.set_exchange(status=503)
        self.sign_in()
        self.wait_for(lambda: self.exchange("State") == "failed", "Exchange failed")
        error = self.exchange("LastError")
        self.assertIn(f"{AUTODISCOVER_DOMAIN}: HTTP 503", error)
        self.assertNotIn("Nothing to retry", error)
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        # no Refresh(): the retry timer (5 to 30 s after the failure) asks again
        asked = len(self.ctl.exchange_requests(kind="refused"))
        self.wait_for(lambda: len(self.ctl.exchange_requests(kind="refused")) > asked,
                      "a retry", timeout=60)
        self.wait_for(lambda: self.exchange("State") == "failed", "the retry failing too")

    def test_untrusted_certificate_says_tls(self):
        for host in ("contoso.test", "autodiscover.contoso.test", "mail.contoso.test"):
            self.ctl.set_certificate(variant="untrusted", host=host)
        self.addCleanup(self.ctl.set_certificate, variant="valid")
        self.sign_in()
        self.wait_for(lambda: self.exchange("State") == "failed", "Exchange failed")
        error = self.exchange("LastError")
        self.assertIn(f"{AUTODISCOVER_DOMAIN}: TLS failed", error)
        self.assertIn(f"{AUTODISCOVER_HOST}: TLS failed", error)
        self.assertIn("untrusted", error)
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

    def test_ews_refusing_after_discovery(self):
        self.sign_in()
        self.wait_connected()
        self.ctl.set_exchange(status=500)
        self.call(EXCHANGE, "Refresh")
        self.wait_for(lambda: self.exchange("State") == "failed", "Exchange failed")
        self.assertIn("HTTP 500", self.exchange("LastError"))
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

    def test_basic_only_is_refused(self):
        self.ctl.set_exchange(auth=["Basic"])
        self.sign_in()
        self.wait_for(lambda: self.exchange("State") == "failed", "Exchange failed")
        self.assertIn("never sends the password with Basic", self.exchange("LastError"))
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

    def test_sign_out_clears_everything(self):
        self.sign_in()
        self.wait_connected()
        self.call(ACCOUNT, "SignOut")
        self.wait_for(lambda: self.exchange("State") == "unavailable", "Exchange unavailable")
        props = self.get_all_properties(EXCHANGE)
        self.assertEqual(props["EwsUrl"], "")
        self.assertEqual(props["UmUrl"], "")
        self.assertFalse(props["InMeeting"])
        self.assertEqual(props["CurrentMeeting"], {})
        self.assertEqual(props["NextMeeting"], {})
        self.assertEqual(props["UnreadVoicemails"], 0)
        self.assertEqual(props["MissedConversations"], 0)

    def test_password_nowhere(self):
        self.sign_in()
        self.wait_connected()
        self.ctl.set_exchange(status=401)
        self.call(EXCHANGE, "Refresh")
        self.wait_for(lambda: self.exchange("State") == "failed", "Exchange failed")
        self.assertIn("password", self.exchange("LastError"))
        texts = [self.daemon_log(), str(self.trace_stages()),
                 str(self.get_all_properties(EXCHANGE)),
                 str(self.get_all_properties(ACCOUNT))]
        for text in texts:
            self.assertNotIn(PASSWORD, text)

    # ---- Kerberos ----

    def test_kerberos_sign_in_uses_kerberos_for_exchange(self):
        self.ctl.start_kdc()
        self.ctl.set_auth(schemes=["NTLM", "Kerberos"])
        self.addCleanup(self.ctl.set_auth, schemes=["NTLM"])
        self.configure({"Account.Auth": string("kerberos")})
        self.sign_in()
        self.assertEqual(self.get_property(ACCOUNT, "AuthMethod"), "kerberos")
        self.wait_connected()
        logons = self.ctl.counters().get("exchange_logons", {})
        self.assertIn("alice Negotiate/Kerberos", logons)
        self.assertNotIn("alice NTLM", logons)
        self.assertNotIn(PASSWORD, self.daemon_log())

    def test_kerberos_for_exchange_is_spnego(self):
        # RFC 4559: HTTP Negotiate carries SPNEGO, not the bare krb5 token of SIP's
        # Kerberos scheme (which stays raw: the SIP sign-in above it still works)
        self.ctl.start_kdc()
        self.assert_exchange_kerberos_is_spnego()

    def test_kerberos_from_a_ccache_for_exchange_is_spnego(self):
        self.ctl.start_kdc()
        r = subprocess.run(["kinit", "alice@CONTOSO.TEST"], input=PASSWORD + "\n", text=True,
                           env=self.env, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_exchange_kerberos_is_spnego()
        # the HTTP context took the ticket, not the stored password
        self.assertRegex(self.daemon_log(), r"Kerberos context for HTTP@\S+ as \S+ \(ccache ")

    def assert_exchange_kerberos_is_spnego(self):
        self.ctl.set_auth(schemes=["NTLM", "Kerberos"])
        self.addCleanup(self.ctl.set_auth, schemes=["NTLM"])
        self.configure({"Account.Auth": string("kerberos")})
        self.sign_in()
        self.wait_connected()
        counters = self.ctl.counters()
        self.assertIn("alice Negotiate/Kerberos", counters.get("exchange_logons", {}))
        forms = counters.get("exchange_negotiate_tokens", {})
        self.assertGreater(forms.get("spnego", 0), 0)
        self.assertEqual(set(forms), {"spnego"})

    def test_kerberos_refused_falls_back_to_ntlm(self):
        self.ctl.start_kdc()
        self.ctl.set_auth(schemes=["NTLM", "Kerberos"])
        self.addCleanup(self.ctl.set_auth, schemes=["NTLM"])
        self.ctl.set_exchange(auth=["NTLM"])  # no Negotiate: Kerberos is not offered
        self.configure({"Account.Auth": string("kerberos")})
        self.sign_in()
        self.wait_connected()
        self.assertIn("alice NTLM", self.ctl.counters().get("exchange_logons", {}))

    # ---- the three routes of Autodiscover ----

    def discover_through(self, url, **modes):
        self.ctl.set_exchange(**modes)
        self.sign_in()
        self.wait_connected()
        self.assertEqual(self.exchange("EwsUrl"), EWS_URL)
        found = [d for d in self.autodiscover_urls() if "EWS " in d]
        self.assertEqual(len(found), 1, self.trace_stages())
        self.assertTrue(found[0].startswith(url + ": "), found)

    def test_discovery_through_the_domain(self):
        self.discover_through(AUTODISCOVER_DOMAIN)

    def test_discovery_through_autodiscover_host(self):
        self.discover_through(AUTODISCOVER_HOST, domain="off")

    def test_discovery_through_srv(self):
        self.discover_through(AUTODISCOVER_SRV, domain="refused", autodiscover=404)
        self.assertIn("exchange-autodiscover-srv", [s["Stage"] for s in self.trace_stages()])

    def test_discovery_follows_a_redirect(self):
        self.ctl.set_exchange(domain="redirect-302")
        self.sign_in()
        self.wait_connected()
        self.assertEqual(self.exchange("EwsUrl"), EWS_URL)
        self.assertTrue([d for d in self.autodiscover_urls() if "HTTP 302" in d],
                        self.trace_stages())

    def test_hostile_redirect_is_not_followed_nor_quoted_raw(self):
        """A 302 whose Location holds a right-to-left override (U+202E, which reorders what
        a terminal shows): a URL is ASCII, so sfbd does not follow it, and no stage of the
        trace nor any error quotes the server's text raw."""
        hostile = "https://mail.contoso.test/autodiscover/autodiscover.xml?x=\u202egpj.exe"
        self.ctl.set_exchange(domain="redirect-302", redirect_location=hostile)
        self.sign_in()
        self.wait_connected()
        self.assertEqual(self.exchange("EwsUrl"), EWS_URL)
        stages = self.trace_stages()
        for stage in stages:
            self.assertNotIn("\u202e", stage["Detail"], stage)
        self.assertTrue([s for s in stages if "malformed location" in s["Detail"]], stages)
        # sfbd never went there (the mail host, whose autodiscover URL is the SRV route's)
        self.assertEqual([r for r in self.ctl.exchange_requests(kind="autodiscover")
                          if r["role"] == "mail"], [])
        for text in (self.daemon_log(), str(self.get_all_properties(EXCHANGE))):
            self.assertNotIn("\u202e", text)

    def test_discovery_stops_a_redirect_loop(self):
        self.ctl.set_exchange(redirect_loop="url")
        self.sign_in()
        self.wait_for(lambda: self.exchange("State") == "failed", "Exchange failed")
        self.assertIn("more than 10 Autodiscover redirects", self.exchange("LastError"))
        self.assertLessEqual(len(self.ctl.exchange_requests(kind="autodiscover")), 40)
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in")

if __name__ == "__main__":
    unittest.main()
