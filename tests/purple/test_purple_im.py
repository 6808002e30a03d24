# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fidelity of instant messages through sfbsim: pidgin-sipe, a client proven against real SfB
servers, signed in as bob, talks to

  a) the echo user sip:echo@contoso.test (sfbsim's own endpoint): SIPE's INVITE with the
     first message embedded is accepted, the typing INFO and "echo: <text>" reach SIPE;
  b) an sfbsim endpoint of alice (control action add_endpoint): SIPE's message arrives, the
     endpoint answers in SIPE's dialog, then starts its own session to SIPE, which SIPE
     accepts through sfbsim's Record-Route;
  c) sfbd signed in as alice ($SFBD_PATH, driven with $SFBCTL_PATH on its own bus): SIPE's
     message and typing reach sfbd, alice's reply (sfbctl message send) reaches SIPE in
     SIPE's dialog, and after alice closes the conversation (D-Bus Close: BYE) a new one
     sfbd starts is accepted by SIPE: a real client accepts sfbd's IM dialogs and signatures.

SIPE verifies every server signature and drops the connection on a bad one, so a run that
stays signed in also proves that the proxy signs each leg with its own SA.  sfb-purple-check's
script steps send-im, typing and wait-im drive SIPE.  Runs inside build-aux/testnet."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_purple_exchange import Sfbd  # noqa: E402
from test_purple_sipe import PurpleCheck, Sfbsim, load_scenario, wait_for  # noqa: E402

WAIT = 40


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    if os.environ.get("SFBD_TESTNET") != "1":
        pytest.fail("run inside build-aux/testnet (meson test does this)")
    for var in ("SFB_PURPLE_CHECK", "SFBD_PATH", "SFBCTL_PATH"):
        if not os.access(os.environ.get(var, ""), os.X_OK):
            pytest.fail(f"{var} must name the built program")
    s = Sfbsim(tmp_path_factory.mktemp("sfbsim"))
    yield s
    s.stop()


@pytest.fixture
def ctl(sim):
    yield sim.ctl
    sim.ctl.reset_im()


def wait_step(client, index):
    """Wait until the script reaches step `index` (a line sent to wait-input before that
    step runs would be lost)."""
    while client.wait_event("step", WAIT)["index"] != index:
        pass


def finish(client, sim):
    try:
        assert client.finish(60) == 0, client.summary()
    except BaseException:
        print("im transactions:", sim.ctl.im_transactions())
        print("SIPE:", "".join(client.stderr)[-4000:])
        raise
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait()


def test_sipe_talks_to_the_echo_user(sim, ctl):
    sc = load_scenario()
    client = PurpleCheck(sim, sc["users"]["bob"]["password"],
                         "send-im:echo@contoso.test:ping from SIPE,wait-im:1,"
                         "send-im:echo@contoso.test:second one,wait-im:2,wait-input,sign-out",
                         user="bob")
    try:
        client.wait_event("signed-on", 60)
        first = client.wait_event("im-received", WAIT)
        assert first["from"] == "sip:echo@contoso.test"
        assert first["text"] == "echo: ping from SIPE"
        second = client.wait_event("im-received", WAIT)
        assert second["text"] == "echo: second one"
        # SIPE showed the echo typing first (the INFO before each answer)
        assert {e["from"] for e in client.of("typing")} == {"sip:echo@contoso.test"}
        assert not client.of("im-error"), client.of("im-error")
        # one session: the first message travelled in the INVITE and was not resent
        got = [(m["direction"], m["text"]) for m in ctl.endpoint_messages(user="echo")
               if m["kind"] == "message"]
        assert got == [("in", "ping from SIPE"), ("out", "echo: ping from SIPE"),
                       ("in", "second one"), ("out", "echo: second one")]
        invites = ctl.im_transactions(method="INVITE")
        assert [(t["from"], t["to"], t["final"]) for t in invites] == [
            ("sip:bob@contoso.test", "sip:echo@contoso.test", 200)]
        wait_step(client, 4)
        client.send("done")
    finally:
        finish(client, sim)
    assert not sim.ctl.counters().get("signature_failures")


def test_sipe_and_an_sfbsim_endpoint_both_ways(sim, ctl):
    sc = load_scenario()
    ctl.add_endpoint(user="alice", epid="a1ce0000b2")
    client = PurpleCheck(sim, sc["users"]["bob"]["password"],
                         "send-im:alice@contoso.test:hello alice,wait-im:2,wait-input,sign-out",
                         user="bob")
    try:
        client.wait_event("signed-on", 60)
        sent = client.wait_event("im-sent", WAIT)
        assert sent["to"] == "sip:alice@contoso.test"

        def arrived():
            return [m for m in ctl.endpoint_messages(user="alice") if m["kind"] == "message"]
        assert [m["text"] for m in wait_for("bob's message at alice's endpoint", arrived,
                                            WAIT)] == ["hello alice"]
        # the answer in SIPE's own dialog
        r = ctl.endpoint_send(user="alice", to="sip:bob@contoso.test", text="hello bob")
        assert r["code"] == 200, r
        got = client.wait_event("im-received", WAIT)
        assert (got["from"], got["text"]) == ("sip:alice@contoso.test", "hello bob")
        # a session the endpoint starts: SIPE answers the INVITE through the proxy
        assert ctl.endpoint_bye(user="alice") == 1
        r = ctl.endpoint_send(user="alice", to="sip:bob@contoso.test", text="new session")
        assert r["code"] == 200, r
        got = client.wait_event("im-received", WAIT)
        assert (got["from"], got["text"]) == ("sip:alice@contoso.test", "new session")
        assert not client.of("im-error"), client.of("im-error")
        wait_step(client, 2)
        client.send("done")
    finally:
        finish(client, sim)
    invites = sim.ctl.im_transactions(method="INVITE")
    assert [(t["from"], t["to"], t["final"]) for t in invites] == [
        ("sip:bob@contoso.test", "sip:alice@contoso.test", 200),
        ("sip:alice@contoso.test", "sip:bob@contoso.test", 200)]
    assert not sim.ctl.counters().get("signature_failures")


@pytest.fixture
def alice(sim, tmp_path):
    d = Sfbd(tmp_path / "alice", sim.env["SFBSIM_CA_FILE"])
    yield d
    d.stop()


def sfbd_messages(sfbd, uri):
    code, out, err = sfbd.sfbctl("--json", "messages", uri)
    assert code == 0, (out, err)
    return [(m["Direction"], m["From"], m["Text"]) for m in json.loads(out)]


def test_sipe_and_sfbd_talk_both_ways(sim, ctl, alice):
    sc = load_scenario()
    alice_uri, bob_uri = sc["users"]["alice"]["uri"], sc["users"]["bob"]["uri"]
    alice.sign_in("alice")
    client = PurpleCheck(sim, sc["users"]["bob"]["password"],
                         "send-im:alice@contoso.test:Hello from SIPE,wait-im:1,"
                         "typing:alice@contoso.test,wait-im:2,wait-input,sign-out", user="bob")
    try:
        client.wait_event("signed-on", 60)
        # SIPE's first message (in its INVITE) reaches sfbd once
        wait_for("SIPE's message in sfbd", lambda: sfbd_messages(alice, bob_uri), WAIT)
        assert sfbd_messages(alice, bob_uri) == [("in", bob_uri, "Hello from SIPE")]
        # alice answers in SIPE's dialog
        code, out, err = alice.sfbctl("message", "send", bob_uri, "Hello SIPE, this is sfbd")
        assert code == 0, (out, err, alice.daemon_log())
        got = client.wait_event("im-received", WAIT)
        assert (got["from"], got["text"]) == (alice_uri, "Hello SIPE, this is sfbd")
        invites = ctl.im_transactions(method="INVITE")
        assert [(t["from"], t["to"], t["final"]) for t in invites] == [
            (bob_uri, alice_uri, 200)]
        # SIPE's typing INFO in that dialog, accepted by sfbd
        client.wait_event("typing-sent", WAIT)

        def typing():
            return [(t["from"], t["final"]) for t in ctl.im_transactions(method="INFO")
                    if t["call_id"] == invites[0]["call_id"] and t["final"]]
        assert wait_for("SIPE's typing INFO answered", typing, WAIT) == [(bob_uri, 200)]
        # alice closes the conversation (BYE), then starts a new one: SIPE accepts
        # sfbd's INVITE and shows the message embedded in it
        code, out, err = alice.sfbctl("--json", "messages")
        assert code == 0, err
        [conv] = json.loads(out)
        r = subprocess.run(["gdbus", "call", "--session", "--dest", "org.sfbd.Sfbd",
                            "--object-path", "/org/sfbd/Sfbd", "--method",
                            "org.sfbd.Sfbd1.Conversations.Close", conv["Id"]],
                           env=alice.env, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        bye = wait_for("sfbd's BYE routed", lambda: ctl.im_transactions(method="BYE"), WAIT)
        assert (bye[0]["from"], bye[0]["final"]) == (alice_uri, 200)
        code, out, err = alice.sfbctl("message", "send", bob_uri, "A new conversation")
        assert code == 0, (out, err, alice.daemon_log())
        got = client.wait_event("im-received", WAIT)
        assert (got["from"], got["text"]) == (alice_uri, "A new conversation")
        invites = ctl.im_transactions(method="INVITE")
        assert [(t["from"], t["to"], t["final"]) for t in invites] == [
            (bob_uri, alice_uri, 200), (alice_uri, bob_uri, 200)]
        assert not client.of("im-error"), client.of("im-error")
        wait_step(client, 4)
        client.send("done")
    except BaseException:
        print("alice's sfbd:", alice.daemon_log())
        raise
    finally:
        finish(client, sim)
    assert not sim.ctl.counters().get("signature_failures")
