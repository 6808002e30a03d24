# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fidelity of sfbsim's Exchange: pidgin-sipe, a client proven against real Exchange and SfB
servers, with its calendar support on (SIPE's default: it publishes calendar information
unless "dont-publish" is set; the e-mail address is the SIP address), signs in as alice on
scenarios/exchange.toml, discovers Exchange by autodiscover, reads alice's calendar and OOF
through EWS and publishes calendar-derived presence; sfbd, signed in as bob, then sees alice
in a meeting.  A real client accepting the simulated Exchange, and sfbd reading what it
published through the server.

SIPE's first calendar run comes 60 s after sign-in; the test starts it at once with SIPE's
own account action "Republish Calendar" (the Accounts menu entry), which runs the same
update (sfb-purple-check's script step action:LABEL).  Runs inside build-aux/testnet."""

import base64
import datetime
import json
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_purple_sipe import PurpleCheck, Sfbsim, load_scenario, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
EXCHANGE = os.path.join(ROOT, "tests", "sfbsim", "scenarios", "exchange.toml")
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
WAIT = 40  # deadlines for what takes a few seconds


class Sfbd:
    """sfbd signed in as one user on its own session bus, driven with sfbctl."""

    def __init__(self, root, ca_file):
        self.root = str(root)
        dirs = {}
        for sub in ("config", "state", "bus", "runtime", "xdg"):
            dirs[sub] = os.path.join(self.root, sub)
            os.makedirs(dirs[sub], mode=0o700)
        self.env = dict(os.environ, SFBD_CONFIG_DIR=dirs["config"],
                        SFBD_STATE_DIR=dirs["state"], XDG_RUNTIME_DIR=dirs["runtime"],
                        XDG_CONFIG_HOME=dirs["xdg"], XDG_DATA_HOME=dirs["xdg"],
                        XDG_STATE_HOME=dirs["xdg"], XDG_CACHE_HOME=dirs["xdg"])
        conf = os.path.join(self.root, "bus.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(BUS_CONFIG.format(dir=dirs["bus"]))
        self.bus = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork",
                                     "--print-address=1"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, env=self.env)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.stdout.readline().strip()
        self.log_path = os.path.join(self.root, "sfbd.log")
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen([os.environ["SFBD_PATH"], "--verbose"], env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for("sfbd on its bus", lambda: self.sfbctl("config", "show")[0] == 0, WAIT)
        self.ca_file = ca_file

    def sfbctl(self, *args, stdin=None):
        r = subprocess.run([os.environ["SFBCTL_PATH"], *args], input=stdin, text=True,
                           capture_output=True, env=self.env, timeout=60)
        return r.returncode, r.stdout, r.stderr

    def sign_in(self, user):
        u = load_scenario()["users"][user]
        for key, value in (("Secrets.Store", "file"), ("TLS.CAFile", self.ca_file),
                           ("Account.Login", u["login"]), ("Account.Uri", u["uri"])):
            code, out, err = self.sfbctl("config", "set", key, value)
            assert code == 0, (key, out, err)
        code, out, err = self.sfbctl("set-password", "--stdin", stdin=u["password"] + "\n")
        assert code == 0, (out, err)
        code, out, err = self.sfbctl("sign-in", "--wait")
        assert code == 0, f"{user} did not sign in: {out} {err}\n{self.daemon_log()}"

    def presence_of(self, uri):
        code, out, err = self.sfbctl("--json", "presence", "get", uri)
        assert code == 0, (out, err)
        return json.loads(out).get(uri, {})

    def daemon_log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()[-4000:]

    def stop(self):
        for p in (self.proc, self.bus):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.bus.stdout.close()
        self.log.close()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    if os.environ.get("SFBD_TESTNET") != "1":
        pytest.fail("run inside build-aux/testnet (meson test does this)")
    for var in ("SFB_PURPLE_CHECK", "SFBD_PATH", "SFBCTL_PATH"):
        if not os.access(os.environ.get(var, ""), os.X_OK):
            pytest.fail(f"{var} must name the built program")
    s = Sfbsim(tmp_path_factory.mktemp("sfbsim"), scenario=EXCHANGE)
    yield s
    s.stop()


@pytest.fixture
def bob(sim, tmp_path):
    d = Sfbd(tmp_path / "bob", sim.env["SFBSIM_CA_FILE"])
    yield d
    d.stop()


def test_sipe_reads_the_calendar_and_publishes_what_sfbd_sees(sim, bob):
    sc = load_scenario()
    ctl = sim.ctl
    mailbox = ctl.mailbox(user="alice")
    meeting = next(c for c in mailbox["calendar"] if c["start_in"] <= 0 < c["end_in"])
    bob.sign_in("bob")
    alice_uri = sc["users"]["alice"]["uri"]
    assert bob.presence_of(alice_uri).get("AvailabilityCode") in (None, 18500)

    client = PurpleCheck(sim, sc["users"]["alice"]["password"],
                         f"wait-buddies:{len(sc['contacts']['alice'])},"
                         "action:Republish Calendar,wait-input,sign-out",
                         extra=["--calendar"])
    try:
        client.wait_event("signed-on", 60)
        client.wait_event("action", 60)

        # SIPE discovered Exchange: a POX request it authenticated, answered with settings
        def discovered():
            return [e for e in ctl.exchange_requests(kind="autodiscover", user="alice")
                    if e.get("answer") == "settings"]
        found = wait_for("SIPE's autodiscover", discovered, WAIT)
        assert found[0]["email"] == "alice@contoso.test"
        assert found[0]["host"] == "autodiscover.contoso.test"  # SIPE's first candidate

        # ... then asked EWS for the availability (its DetailedMerged request) and the OOF
        def ews_calls():
            ops = {e["operation"]: e for e in ctl.exchange_requests(kind="ews", user="alice")
                   if e["status"] == 200}
            return ops if {"GetUserAvailability", "GetUserOofSettings"} <= set(ops) else None
        ops = wait_for("SIPE's GetUserAvailability and GetUserOofSettings", ews_calls, WAIT)
        assert ops["GetUserAvailability"]["mailboxes"] == ["alice@contoso.test"]
        assert ops["GetUserAvailability"]["view"] == "DetailedMerged"
        assert ops["GetUserOofSettings"]["mailbox"] == "alice@contoso.test"

        # ... and published the calendar: calendarState in-a-meeting with the subject, and
        # calendarData (working hours and free/busy); the server's aggregate is Busy
        def published():
            p = ctl.presence(user="alice")
            cal = [x for x in p["publications"] if x.get("type") == "calendarState"]
            return (p, cal) if cal and p["activity"] == "in-a-meeting" else None
        p, cal = wait_for("alice's calendarState", published, WAIT)
        assert p["availability"] == 6500
        assert {(x["container"], x["availability"], x["activity"], x["meetingSubject"],
                 x["meetingLocation"]) for x in cal} == {
            (c, "6500", "in-a-meeting", meeting["subject"], meeting["location"])
            for c in (2, 3)}
        data = [x for x in p["publications"] if x["name"] == "calendarData"]
        assert any(x.get("data") == ["WorkingHours"] for x in data), data
        assert any(x.get("data") == ["freeBusy"] for x in data), data
        assert all(x.get("mailboxID") in (None, "alice@contoso.test") for x in data)
        # SIPE's free/busy bitmap (2 bits a slot, first slot in the low bits) from sfbsim's
        # MergedFreeBusy: the slot of now is Busy (binary 10)
        fb = next(x["freeBusy"] for x in data if x.get("freeBusy", {}).get("value"))
        assert fb["granularity"] == "PT15M"
        start = datetime.datetime.fromisoformat(fb["startTime"].replace("Z", "+00:00"))
        slot = int((time.time() - start.timestamp()) // 900)
        bits = base64.b64decode(fb["value"])
        assert (bits[slot // 4] >> (2 * (slot % 4))) & 3 == 2, (fb, slot)
        assert (bits[(slot - 4) // 4] >> (2 * ((slot - 4) % 4))) & 3 == 0, (fb, slot)

        # sfbd, signed in as bob, sees alice in a meeting
        def seen():
            pr = bob.presence_of(alice_uri)
            return pr if (pr.get("AvailabilityCode"), pr.get("Activity")) == (
                6500, "in-a-meeting") else None
        pr = wait_for("bob's sfbd to show alice in a meeting", seen, WAIT)
        assert pr["Availability"] == "busy"
        code, out, err = bob.sfbctl("--json", "contacts")
        assert code == 0, err
        listed = {c["Uri"]: c for c in json.loads(out)}
        assert listed[alice_uri]["Availability"] == "busy"

        client.send("done")
        assert client.finish(60) == 0, client.summary()
    except BaseException:  # what sfbsim saw, for the failure report
        print("Exchange requests:", json.dumps(ctl.exchange_requests(), indent=1)[-4000:])
        print("alice's presence:", json.dumps(ctl.presence(user="alice"), indent=1))
        print("SIPE:", "".join(client.stderr)[-4000:])
        print("bob's sfbd:", bob.daemon_log())
        raise
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait()
