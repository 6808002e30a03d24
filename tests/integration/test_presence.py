# SPDX-License-Identifier: LGPL-2.1-or-later
"""Contacts and presence (issue 6 items 3, 4): the real sfbd against the real sfbsim, inside
build-aux/testnet.  One sfbsim for the module (reset before each test), a bus and sfbd per
test (sfbd_testcase.py); alice signs in through the Director."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
TESTNET = os.path.join(SOURCE_ROOT, "build-aux", "testnet")
SFBSIM = os.path.join(SOURCE_ROOT, "tests", "sfbsim", "sfbsim")

if os.environ.get("SFBD_TESTNET") != "1":
    os.execv(TESTNET, [TESTNET, sys.executable, os.path.abspath(__file__), *sys.argv[1:]])

sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "sfbsim"))

from gi.repository import GLib  # noqa: E402

from sfbd_testcase import (ACCOUNT, BUS_NAME, CONTACTS, ERROR_PREFIX, OBJECT_PATH,  # noqa: E402
                           PRESENCE, SfbdTestCase)
from sim.control import SimControl  # noqa: E402

DIRECTOR = "director.contoso.test"
WAIT = 20
SIM = {}

# tests/sfbsim/scenarios/default.toml, alice's list
ALICE_GROUPS = {1: "~", 2: "Team", 3: "Management", 4: "Partners"}
ALICE_CONTACTS = {
    "sip:bob@contoso.test": ("Bob Baker", ["Team"], "same-enterprise"),
    "sip:carol@contoso.test": ("Carol Clark", ["Team"], "same-enterprise"),
    "sip:dave@contoso.test": ("Dave Davis", ["Team", "Management"], "same-enterprise"),
    "sip:erin@contoso.test": ("Erin Evans", ["Management"], "same-enterprise"),
    "sip:frank@contoso.test": ("Frank Fischer", ["Management"], "same-enterprise"),
    "sip:grace@fabrikam.test": ("Grace Green (Fabrikam)", ["Partners"], "federated"),
}
PASSWORDS = {"alice": "Passw0rd!", "bob": "Secr3t-Bob"}


def setUpModule():
    workdir = tempfile.mkdtemp(prefix="sfbsim-presence-")
    log = open(os.path.join(workdir, "sfbsim.out"), "w", encoding="utf-8")
    process = subprocess.Popen([sys.executable, SFBSIM, "--workdir", workdir],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(workdir, "ready")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("sfbsim did not start")
        time.sleep(0.05)
    env = {}
    with open(os.path.join(workdir, "sfbsim.env"), encoding="utf-8") as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                env[key] = value.strip("'")
    SIM.update(process=process, workdir=workdir, env=env, log=log, ctl=SimControl(workdir))


def tearDownModule():
    process = SIM.get("process")
    if process is not None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        SIM["log"].close()


def string(value):
    return GLib.Variant("s", value)


class PresenceTestCase(SfbdTestCase):
    def setUp(self):
        self.ctl = SIM["ctl"]
        self.ctl.reset_services()
        self.ctl.drop_connections()
        super().setUp()
        self.addCleanup(self.ctl.drop_connections)
        self.signals = []
        self.bus.signal_subscribe(BUS_NAME, None, None, OBJECT_PATH, None, 0, self._on_signal)

    def _on_signal(self, connection, sender, path, interface, name, parameters):
        self.signals.append((interface, name, parameters.unpack()))

    def wait_for(self, predicate, what, timeout=WAIT):
        deadline = time.monotonic() + timeout
        context = GLib.MainContext.default()
        while time.monotonic() < deadline:
            while context.iteration(False):
                pass
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        self.fail(f"{what} did not happen within {timeout} s")

    def sign_in(self, user="alice"):
        self.configure({"Account.Uri": string(f"sip:{user}@contoso.test"),
                        "Account.Login": string(f"CONTOSO\\{user}"),
                        "Account.Server": string(DIRECTOR),
                        "TLS.CAFile": string(SIM["env"]["SFBSIM_CA_FILE"]),
                        "Secrets.Store": string("file")})
        self.call(ACCOUNT, "SetPassword", (PASSWORDS[user], True), "(sb)")
        self.call(ACCOUNT, "SignIn")
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") in ("signed-in", "failed"),
                      "signed-in")
        self.assertEqual(self.get_property(ACCOUNT, "State"), "signed-in",
                         self.get_property(ACCOUNT, "LastErrorMessage"))

    def contacts(self):
        return {c["Uri"]: c for c in self.call(CONTACTS, "ListContacts")[0]}

    def signal_args(self, interface, name):
        return [args for iface, sig, args in self.signals if iface == interface and sig == name]

    def sim_presence(self, user):
        return self.ctl.presence(user=user)

    # ---- contacts ----

    def test_contacts_and_groups_equal_the_scenario(self):
        self.sign_in()
        self.wait_for(lambda: self.get_property(CONTACTS, "Count") == len(ALICE_CONTACTS),
                      "the contact list")
        groups = {g["Id"]: (g["Name"], g["Default"]) for g in self.call(CONTACTS, "ListGroups")[0]}
        self.assertEqual(groups, {gid: (name, name == "~") for gid, name in ALICE_GROUPS.items()})
        contacts = self.contacts()
        self.assertEqual({uri: (c["Name"], c["Groups"], c["Relationship"])
                          for uri, c in contacts.items()}, ALICE_CONTACTS)
        self.assertGreater(self.get_property(CONTACTS, "Revision"), 0)
        self.assertEqual(self.get_property(CONTACTS, "UcsMode"), "")
        code, status = self.sfbctl_json("status")
        self.assertEqual(code, 0)
        self.assertEqual(status["Contacts"]["Count"], len(ALICE_CONTACTS))

    def test_contact_added_and_removed_in_sfbsim(self):
        self.sign_in()
        self.wait_for(lambda: self.get_property(CONTACTS, "Count") == len(ALICE_CONTACTS),
                      "the contact list")
        revision = self.get_property(CONTACTS, "Revision")
        self.signals.clear()
        self.ctl.add_contact(user="alice", uri="sip:zoe@contoso.test", name="Zoe Zhang",
                             groups=[2])
        self.wait_for(lambda: self.signal_args(CONTACTS, "ContactsChanged"), "ContactsChanged")
        contacts = self.wait_for(lambda: "sip:zoe@contoso.test" in self.contacts()
                                 and self.contacts(), "zoe in the list")
        self.assertEqual(contacts["sip:zoe@contoso.test"]["Groups"], ["Team"])
        self.assertEqual(self.get_property(CONTACTS, "Revision"), revision + 1)
        self.signals.clear()
        self.ctl.remove_contact(user="alice", uri="sip:bob@contoso.test")
        self.wait_for(lambda: self.signal_args(CONTACTS, "ContactsChanged"), "ContactsChanged")
        self.wait_for(lambda: "sip:bob@contoso.test" not in self.contacts(), "bob gone")
        self.assertEqual(self.get_property(CONTACTS, "Count"), len(ALICE_CONTACTS))

    # ---- presence ----

    def test_contacts_presence_arrives_and_changes(self):
        self.sign_in()
        self.wait_for(lambda: self.call(PRESENCE, "GetPresence",
                                        (["sip:dave@contoso.test"],), "(as)")[0],
                      "dave's presence")
        dave = self.call(PRESENCE, "GetPresence", (["sip:dave@contoso.test"],), "(as)")[0]
        self.assertEqual(dave["sip:dave@contoso.test"]["Availability"], "busy")
        self.assertEqual(dave["sip:dave@contoso.test"]["Activity"], "in-a-meeting")
        self.wait_for(lambda: self.contacts()["sip:erin@contoso.test"]["Note"]
                      == "Back on Monday & in the office <9am>", "erin's note")
        self.assertEqual(self.contacts()["sip:erin@contoso.test"]["Title"], "Director")
        self.signals.clear()
        self.ctl.set_presence(user="sip:carol@contoso.test", availability=9500, note="Focus")
        changed = self.wait_for(
            lambda: [a for a in self.signal_args(PRESENCE, "PresenceChanged")
                     if a[0] == "sip:carol@contoso.test"], "PresenceChanged for carol")
        self.assertEqual(changed[-1][1]["Availability"], "do-not-disturb")
        self.wait_for(lambda: [a for a in self.signal_args(PRESENCE, "PresenceChanged")
                               if a[0] == "sip:carol@contoso.test" and a[1]["Note"] == "Focus"],
                      "carol's note")

    def test_initial_publication_and_set_availability(self):
        self.sign_in()
        self.wait_for(lambda: self.sim_presence("alice")["availability"] == 3500,
                      "alice published online")
        self.wait_for(lambda: self.get_property(PRESENCE, "Availability") == "online",
                      "own Availability online")
        pubs = {(p["name"], p["container"]) for p in self.sim_presence("alice")["publications"]}
        for wanted in (("device", 2), ("state", 2), ("state", 3)):
            self.assertIn(wanted, pubs)
        self.call(PRESENCE, "SetAvailability", ("busy",), "(s)")
        self.wait_for(lambda: self.sim_presence("alice")["availability"] == 6500, "busy in sfbsim")
        self.wait_for(lambda: self.get_property(PRESENCE, "AvailabilityCode") == 6500,
                      "own AvailabilityCode 6500")
        self.call(PRESENCE, "SetNote", ("Lunch & learn <12:00>",), "(s)")
        self.wait_for(lambda: self.sim_presence("alice")["note"] == "Lunch & learn <12:00>",
                      "the note in sfbsim")
        self.wait_for(lambda: self.get_property(PRESENCE, "Note") == "Lunch & learn <12:00>",
                      "own Note")
        code, status = self.sfbctl_json("status")
        self.assertEqual(code, 0)
        self.assertEqual(status["Presence"]["Note"], "Lunch & learn <12:00>")

    def test_forced_409_recovers(self):
        self.sign_in()
        self.wait_for(lambda: self.sim_presence("alice")["availability"] == 3500,
                      "the first publication")
        self.assertGreater(self.ctl.bump_versions(user="alice"), 0)
        self.call(PRESENCE, "SetAvailability", ("be-right-back",), "(s)")
        self.wait_for(lambda: self.sim_presence("alice")["availability"] == 12500,
                      "be-right-back after the 409")
        self.assertIn("Publication versions out of date", self.daemon_log())

    def test_set_availability_needs_sign_in(self):
        self.assert_dbus_error(ERROR_PREFIX + "NotSignedIn", PRESENCE, "SetAvailability",
                               ("busy",), "(s)")
        self.assert_dbus_error(ERROR_PREFIX + "InvalidArgs", PRESENCE, "SetAvailability",
                               ("sleeping",), "(s)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
