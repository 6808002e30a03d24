# SPDX-License-Identifier: LGPL-2.1-or-later
"""Instant messages (org.sfbd.Sfbd1.Conversations, sfbctl message/messages): the real sfbd
against the real sfbsim, inside build-aux/testnet.  alice is this test's sfbd; bob is a
second sfbd (test_presence.Peer), one of sfbsim's own endpoints, or a SIP test client.
sfbsim routes the sessions like a front end (forking, first 200 wins, 480 when nobody is
signed in) and its echo user answers every message with "echo: <text>"."""

import asyncio
import json
import os
import subprocess
import sys
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

from sfbd_testcase import CONVERSATIONS, ERROR_PREFIX, dbus_error_name  # noqa: E402
from sim_testcase import SIM, SimTestCase  # noqa: E402
from test_presence import Peer  # noqa: E402

WAIT = 20
ALICE = "sip:alice@contoso.test"
BOB = "sip:bob@contoso.test"
ECHO = "sip:echo@contoso.test"


def setUpModule():
    sim_fixture.start("im")


def tearDownModule():
    sim_fixture.stop()


def audio_sdp():
    return ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 50000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n")


class ImTestCase(SimTestCase):
    WAIT = WAIT

    def reset_sim(self):
        super().reset_sim()
        self.ctl.reset_im()

    def setUp(self):
        super().setUp()
        self.addCleanup(self.ctl.reset_im)
        self.record_signals()

    def received(self, signals=None):
        source = self.signals if signals is None else signals
        return [args for iface, name, args in source
                if iface == CONVERSATIONS and name == "MessageReceived"]

    def typing(self, signals=None):
        source = self.signals if signals is None else signals
        return [args for iface, name, args in source
                if iface == CONVERSATIONS and name == "TypingChanged"]

    def send(self, uri, text, target=None):
        target = target or self
        return target.call(CONVERSATIONS, "SendMessage", (uri, text), "(ss)")[0]

    def messages(self, conversation_id, target=None):
        target = target or self
        return [(m["Direction"], m["From"], m["Text"])
                for m in target.call(CONVERSATIONS, "GetMessages", (conversation_id,), "(s)")[0]]

    def conversations(self, target=None):
        target = target or self
        return {c["Uri"]: c for c in target.call(CONVERSATIONS, "ListConversations")[0]}

    def sim_endpoint_messages(self, user, kind="message"):
        return [(m["direction"], m["text"]) for m in self.ctl.endpoint_messages(user=user)
                if m["kind"] == kind]

    # ---- the demo ----

    def test_echo_demo_through_sfbctl(self):
        self.sign_in()
        result = self.sfbctl("message", "send", ECHO, "ping")
        self.assertEqual(result.returncode, 0, result.stderr)

        def echoed():
            code, messages = self.sfbctl_json("messages", ECHO)
            self.assertEqual(code, 0)
            return [m for m in messages if m["Text"] == "echo: ping"]
        reply = self.wait_for(echoed, "echo: ping")[0]
        self.assertEqual(reply["From"], ECHO)
        self.assertEqual(reply["Direction"], "in")
        self.assertIsInstance(reply["Time"], int)
        code, messages = self.sfbctl_json("messages", ECHO)
        self.assertEqual([(m["Direction"], m["Text"]) for m in messages],
                         [("out", "ping"), ("in", "echo: ping")])
        self.assertEqual(messages[0]["From"], ALICE)
        # the echo user typed before it answered
        self.wait_for(lambda: (ECHO, True) in [(a[1], a[2]) for a in self.typing()],
                      "the echo user typing")
        # the list and the text output
        code, listed = self.sfbctl_json("messages")
        self.assertEqual([c["Uri"] for c in listed], [ECHO])
        self.assertEqual(listed[0]["Unread"], 1)
        text = self.sfbctl("messages", ECHO).stdout
        self.assertIn(f"{ECHO}: echo: ping", text)
        # MarkRead, then Close forgets it
        self.call(CONVERSATIONS, "MarkRead", (listed[0]["Id"],), "(s)")
        self.assertEqual(self.conversations()[ECHO]["Unread"], 0)
        self.call(CONVERSATIONS, "Close", (listed[0]["Id"],), "(s)")
        self.assertEqual(self.conversations(), {})
        self.wait_for(lambda: ("in", "bye") in [(m["direction"], m["kind"]) for m in
                                                self.ctl.endpoint_messages(user="echo")],
                      "the echo user saw the BYE")

    def test_monitor_shows_incoming_messages(self):
        self.sign_in()
        _, out, err = self.spawn_sfbctl("monitor")
        err.wait_for_all("Monitoring sfbd")
        self.send(ECHO, "hello\nmonitor")
        out.wait_for_all("Conversations.MessageReceived", "Conversations.TypingChanged",
                         timeout=WAIT)
        line = [line for line in out.seen if "MessageReceived" in line][0]
        # the text's newline shows as a space: one event, one line
        self.assertIn(f"FromUri={ECHO} Text=echo: hello monitor Time=", line)

    # ---- two daemons ----

    def test_alice_and_bob_talk_both_ways_with_typing(self):
        self.sign_in()
        bob = Peer(self, "bob")
        self.sign_in("bob", peer=bob)

        alice_side = self.send(BOB, "Hello Bob\nsecond line")
        bob_got = self.wait_for(lambda: self.received(bob.signals), "bob received")[0]
        bob_side = bob_got[0]
        self.assertEqual(bob_got[1:3], (ALICE, "Hello Bob\nsecond line"))
        self.assertEqual(self.conversations(bob)[ALICE]["Unread"], 1)

        bob.call(CONVERSATIONS, "SetTyping", (bob_side, True), "(sb)")
        self.wait_for(lambda: (alice_side, BOB, True) in self.typing(), "alice sees bob typing")
        self.assertEqual(self.send(ALICE, "Hi Alice", target=bob), bob_side)
        self.wait_for(lambda: [a for a in self.received() if a[2] == "Hi Alice"],
                      "alice received")
        # a message ends typing
        self.wait_for(lambda: (alice_side, BOB, False) in self.typing(),
                      "alice sees bob stop typing")

        self.call(CONVERSATIONS, "SetTyping", (alice_side, True), "(sb)")
        self.wait_for(lambda: (bob_side, ALICE, True) in self.typing(bob.signals),
                      "bob sees alice typing")
        self.call(CONVERSATIONS, "SetTyping", (alice_side, False), "(sb)")
        self.wait_for(lambda: (bob_side, ALICE, False) in self.typing(bob.signals),
                      "bob sees alice stop typing")
        self.assertEqual(self.send(BOB, "Bye then"), alice_side)
        self.wait_for(lambda: len(self.received(bob.signals)) == 2, "bob's second message")

        self.assertEqual(self.messages(alice_side), [("out", ALICE, "Hello Bob\nsecond line"),
                                                     ("in", BOB, "Hi Alice"),
                                                     ("out", ALICE, "Bye then")])
        self.assertEqual(self.messages(bob_side, bob), [("in", ALICE, "Hello Bob\nsecond line"),
                                                        ("out", BOB, "Hi Alice"),
                                                        ("in", ALICE, "Bye then")])
        # one session: a single INVITE went through the proxy
        self.assertEqual(len(self.ctl.im_transactions(method="INVITE")), 1)

    def test_bob_offline_is_a_clear_error(self):
        self.sign_in()
        with self.assertRaises(GLib.Error) as raised:
            self.send(BOB, "are you there?")
        self.assertEqual(dbus_error_name(raised.exception), ERROR_PREFIX + "Failed")
        message = raised.exception.message
        self.assertIn(f"The message to {BOB} was not delivered: the recipient is offline or "
                      "unavailable (480 Temporarily Unavailable: Callee is not signed in to any "
                      "endpoint)", message)
        result = self.sfbctl("message", "send", BOB, "still there?")
        self.assertEqual(result.returncode, 1)
        self.assertIn("offline or unavailable", result.stderr)
        # a URI whose user part hides a line break, or no person's URI at all
        for uri in ("sip:bad%0Auser@contoso.test", "tel:+14255550100", "bob"):
            with self.assertRaises(GLib.Error) as raised:
                self.send(uri, "x")
            self.assertEqual(dbus_error_name(raised.exception), ERROR_PREFIX + "InvalidArgs",
                             uri)
        with self.assertRaises(GLib.Error) as raised:
            self.send(BOB, "\x01")
        self.assertEqual(dbus_error_name(raised.exception), ERROR_PREFIX + "InvalidArgs")
        # nothing was delivered, so nothing was kept as sent
        conversation = self.conversations().get(BOB)
        if conversation is not None:
            self.assertEqual(self.messages(conversation["Id"]), [])

    # ---- alice's other endpoint ----

    def test_forking_to_alices_second_endpoint(self):
        self.sign_in()
        # alice's phone rings without answering; bob (an sfbsim endpoint) writes to alice
        self.ctl.add_endpoint(user="alice", epid="a1ce0000b2", answer="ring", name="phone")
        self.ctl.add_endpoint(user="bob", epid="b0b0000001")
        result = self.ctl.endpoint_send(user="bob", to=ALICE, text="Who answers?")
        self.assertEqual(result["code"], 200)
        got = self.wait_for(self.received, "alice's sfbd received")[0]
        self.assertEqual(got[1:3], (BOB, "Who answers?"))
        # the first 200 (sfbd's) won: the phone's branch was cancelled
        invite = self.ctl.im_transactions(method="INVITE")[-1]
        self.assertEqual(invite["final"], 200)
        self.assertEqual(len(invite["branches"]), 2, invite)
        self.assertEqual(sorted(b["cancelled"] for b in invite["branches"]), [False, True])
        # the dialog is sfbd's: the reply goes to bob's endpoint
        self.send(BOB, "Me, on sfbd")
        self.wait_for(lambda: ("in", "Me, on sfbd") in self.sim_endpoint_messages("bob"),
                      "bob's endpoint got the reply")
        # the phone only rang: it saw no message
        self.assertEqual(self.sim_endpoint_messages("alice"), [])

    # ---- what sfbd declines ----

    def test_audio_invite_declined_with_488(self):
        self.sign_in()
        response = asyncio.run(self._bob_client_invite(audio_sdp(), "application/sdp"))
        self.assertEqual(response.code, 488, response)
        log = self.daemon_log()
        self.assertIn("Declined a call (not an IM session) from sip:bob@contoso.test", log)
        # an unknown body type: 415 with Accept
        response = asyncio.run(self._bob_client_invite("x", "application/x-unknown"))
        self.assertEqual(response.code, 415)
        self.assertEqual(response.get("Accept"), "application/sdp")
        self.assertEqual(self.conversations(), {})

    def test_accepted_invite_lists_only_what_sfbd_answers(self):
        self.sign_in()
        im_sdp = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\n"
                  "t=0 0\r\nm=message 5060 sip null\r\na=accept-types:text/plain\r\n")
        first = "text/plain; charset=UTF-8; ms-body=SGVsbG8gZnJvbSBib2I"  # no '=' padding
        response = asyncio.run(self._bob_client_invite(im_sdp, "application/sdp",
                                                       [("Ms-Text-Format", first)]))
        self.assertEqual(response.code, 200)
        self.assertEqual(response.get("Allow"),
                         "INVITE, MESSAGE, INFO, OPTIONS, BYE, CANCEL, NOTIFY, ACK, BENOTIFY")
        self.assertIn("ms-text-format", [v.strip() for v in response.get_list("Supported")])
        self.assertIn(";gruu", response.get("Contact"))
        self.assertIn("m=message 5060 sip sip:alice@contoso.test", response.body.decode())
        self.wait_for(lambda: [a for a in self.received() if a[1:3] == (BOB, "Hello from bob")],
                      "the first message of the INVITE")
        # the REGISTER's Contact lists the same methods
        with open(os.path.join(SIM["workdir"], "sip.log"), encoding="utf-8") as f:
            self.assertIn('methods="INVITE, MESSAGE, INFO, OPTIONS, BYE, CANCEL, NOTIFY, ACK, '
                          'BENOTIFY"', f.read())

    async def _bob_client_invite(self, body, content_type, headers=()):
        from sim.client import SipTestClient  # tests/sfbsim, on sys.path in testnet

        env = SIM["env"]
        user = {"uri": env["SFBSIM_USER_BOB_URI"], "login": env["SFBSIM_USER_BOB_LOGIN"],
                "password": env["SFBSIM_USER_BOB_PASSWORD"]}
        pool = env["SFBSIM_USER_BOB_POOL"]
        address = env[f"SFBSIM_{pool.upper().replace('-', '_')}_ADDRESS"]
        fqdn = env[f"SFBSIM_{pool.upper().replace('-', '_')}"].split(":")[0]
        client = SipTestClient(user, env["SFBSIM_CA_FILE"], env["SFBSIM_DOMAIN"])
        try:
            self.assertEqual((await client.sign_in((address, 5061, fqdn))).code, 200)
            return await client.request("INVITE", ALICE, headers=headers,
                                        content_type=content_type, body=body, timeout=WAIT)
        finally:
            await client.close()

    # ---- notifications ----

    def _start_notification_server(self, capabilities):
        log_path = os.path.join(self.tmp, "notifications.log")
        self.log_paths.append(log_path)
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "dbusmock", "--session", "--template",
                 "notification_daemon", "--parameters",
                 json.dumps({"capabilities": capabilities})],
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.daemons.append(process)
        self.wait_for(lambda: self._has_owner("org.freedesktop.Notifications"),
                      "the notification server")

    def _has_owner(self, name):
        reply = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                   "org.freedesktop.DBus", "NameHasOwner",
                                   GLib.Variant("(s)", (name,)), GLib.VariantType("(b)"),
                                   Gio.DBusCallFlags.NONE, -1, None)
        return reply.unpack()[0]

    def _calls(self, method):
        calls = self.bus.call_sync("org.freedesktop.Notifications",
                                   "/org/freedesktop/Notifications", "org.freedesktop.DBus.Mock",
                                   "GetCalls", None, None, Gio.DBusCallFlags.NONE, -1,
                                   None).unpack()[0]
        return sum(1 for _, name, _ in calls if name == method)

    def _notify_calls(self):
        calls = self.bus.call_sync("org.freedesktop.Notifications",
                                   "/org/freedesktop/Notifications", "org.freedesktop.DBus.Mock",
                                   "GetCalls", None, None, Gio.DBusCallFlags.NONE, -1,
                                   None).unpack()[0]
        return [args for _, method, args in calls if method == "Notify"]

    def test_incoming_message_notifies_and_inline_reply_answers(self):
        self._start_notification_server("body actions inline-reply")
        self.sign_in()
        self.ctl.add_endpoint(user="bob", epid="b0b0000003", name="Bob Baker")
        self.assertEqual(self.ctl.endpoint_send(user="bob", to=ALICE, text="Lunch?")["code"], 200)
        notify = self.wait_for(self._notify_calls, "a notification")[0]
        app, replaces, icon, summary, body, actions, hints, timeout = notify
        self.assertEqual(summary, "Bob Baker")
        self.assertEqual(body, "Lunch?")
        self.assertIn("default", actions)
        # the user replies inline: the reply goes to bob in the same session
        notification_id = 1
        self.bus.call_sync("org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                           "org.freedesktop.DBus.Mock", "EmitSignal",
                           GLib.Variant("(sssav)", ("org.freedesktop.Notifications",
                                                    "NotificationReplied", "us",
                                                    [GLib.Variant("u", notification_id),
                                                     GLib.Variant("s", "Yes, at noon")])),
                           None, Gio.DBusCallFlags.NONE, -1, None)
        self.wait_for(lambda: ("in", "Yes, at noon") in self.sim_endpoint_messages("bob"),
                      "bob's endpoint got the inline reply")
        conversation = self.conversations()[BOB]
        self.assertEqual(conversation["DisplayName"], "Bob Baker")
        self.assertEqual(conversation["Unread"], 0)
        self.assertEqual(self.messages(conversation["Id"]),
                         [("in", BOB, "Lunch?"), ("out", ALICE, "Yes, at noon")])
        # one notifier in sfbd (the sign-in failures' too) asked the server what it can do
        self.assertEqual(self._calls("GetCapabilities"), 1)


if __name__ == "__main__":
    unittest.main()
