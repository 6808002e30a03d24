# SPDX-License-Identifier: LGPL-2.1-or-later
"""Contacts and presence (their D-Bus interfaces): the real sfbd against the real sfbsim, inside
build-aux/testnet.  One sfbsim for the module (reset before each test), a bus and sfbd per
test (sfbd_testcase.py); alice signs in through the Director."""

import os
import subprocess
import time
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

from sfbd_testcase import (ACCOUNT, BUS_CONFIG, BUS_NAME, CONTACTS, ERROR_PREFIX,  # noqa: E402
                           OBJECT_PATH, PRESENCE, TIMEOUT)
from sim_testcase import SimTestCase  # noqa: E402

WAIT = 20

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
USER_STATE = 0x20000000  # the userState instance (docs/protocol.md §11.4)


def setUpModule():
    sim_fixture.start("presence")


def tearDownModule():
    sim_fixture.stop()


def presence_changes(signals):
    """(uri, presence) of each contact in each PresencesChanged of `signals`
    ((interface, name, args) tuples), in the order received."""
    return [(uri, presence) for iface, name, args in signals
            if iface == PRESENCE and name == "PresencesChanged"
            for uri, presence in args[0].items()]

class Peer:
    """A second user's sfbd: its own session bus, config and state directories (sfbd owns
    org.sfbd.Sfbd, so two daemons need two buses).  Its log is printed with the test's."""

    def __init__(self, case, name):
        root = os.path.join(case.tmp, name)
        dirs = {}
        for sub in ("config", "state", "bus", "xdg-config", "xdg-state", "xdg-data",
                    "xdg-cache", "xdg-runtime"):
            dirs[sub] = os.path.join(root, sub)
            os.makedirs(dirs[sub], mode=0o700)
        self.env = dict(case.env)
        self.env.update({"SFBD_CONFIG_DIR": dirs["config"], "SFBD_STATE_DIR": dirs["state"],
                         "XDG_CONFIG_HOME": dirs["xdg-config"],
                         "XDG_STATE_HOME": dirs["xdg-state"],
                         "XDG_DATA_HOME": dirs["xdg-data"], "XDG_CACHE_HOME": dirs["xdg-cache"],
                         "XDG_RUNTIME_DIR": dirs["xdg-runtime"]})
        bus_config = os.path.join(root, "bus.conf")
        with open(bus_config, "w", encoding="utf-8") as f:
            f.write(BUS_CONFIG.format(dir=dirs["bus"]))
        self.bus_process = subprocess.Popen(
            ["dbus-daemon", f"--config-file={bus_config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.env)
        address = self.bus_process.stdout.readline().strip()
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        self.bus = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.signals = []
        self.bus.signal_subscribe(BUS_NAME, None, None, OBJECT_PATH, None, 0,
                                  lambda c, s, p, i, n, a: self.signals.append((i, n, a.unpack())))
        self.log_path = os.path.join(root, f"sfbd-{name}.log")
        case.log_paths.append(self.log_path)
        with open(self.log_path, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen([case.sfbd_path, "--verbose"], env=self.env,
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
        case.addCleanup(self.close)
        deadline = time.monotonic() + TIMEOUT
        while not self._owned():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name}'s sfbd did not start")
            time.sleep(0.02)

    def _owned(self):
        try:
            self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "GetNameOwner",
                               GLib.Variant("(s)", (BUS_NAME,)), GLib.VariantType("(s)"),
                               Gio.DBusCallFlags.NONE, -1, None)
            return True
        except GLib.Error:
            return False

    def call(self, interface, method, args=None, signature=None):
        parameters = GLib.Variant(signature, args) if signature is not None else None
        return self.bus.call_sync(BUS_NAME, OBJECT_PATH, interface, method, parameters, None,
                                  Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000,
                                  None).unpack()

    def get_property(self, interface, name):
        return self.call("org.freedesktop.DBus.Properties", "Get", (interface, name), "(ss)")[0]

    def configure(self, settings):
        self.call(ACCOUNT, "Configure", (settings,), "(a{sv})")

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.bus.close_sync(None)
        self.bus_process.kill()
        self.bus_process.wait()
        self.bus_process.stdout.close()


class PresenceTestCase(SimTestCase):
    WAIT = WAIT

    def setUp(self):
        super().setUp()
        self.record_signals()

    def contacts(self):
        return {c["Uri"]: c for c in self.call(CONTACTS, "ListContacts")[0]}

    def signal_args(self, interface, name):
        return [args for iface, sig, args in self.signals if iface == interface and sig == name]

    def presence_changes(self, signals=None):
        """(uri, presence) for every contact in every PresencesChanged, in order."""
        return presence_changes(self.signals if signals is None else signals)

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

    def test_list_contacts_shows_each_change_at_once(self):
        """ListContacts reuses its last reply while nothing changed (docs/benchmarks.md): the
        call right after a change of the list or of a contact's presence shows it."""
        def listing_until(predicate, what):
            # ListContacts all along, from before the change: the kept reply is never
            # dropped for want of calls, only because of the change
            return self.wait_for(lambda: self.contacts() and predicate(), what)

        self.sign_in()
        self.wait_for(lambda: self.get_property(CONTACTS, "Count") == len(ALICE_CONTACTS),
                      "the contact list")
        self.wait_for(lambda: {uri for uri, _ in self.presence_changes()} >= set(ALICE_CONTACTS),
                      "every contact's presence")
        revision = self.get_property(CONTACTS, "Revision")
        self.assertEqual(self.contacts(), self.contacts())
        self.signals.clear()
        self.ctl.set_presence(user="sip:carol@contoso.test", availability=9500, note="Focus")
        listing_until(lambda: [a for a in self.presence_changes()
                               if a[0] == "sip:carol@contoso.test"
                               and (a[1]["Availability"], a[1]["Note"])
                               == ("do-not-disturb", "Focus")],
                      "PresencesChanged with carol do-not-disturb, noted")
        carol = self.contacts()["sip:carol@contoso.test"]
        self.assertEqual((carol["Availability"], carol["Note"]), ("do-not-disturb", "Focus"))
        self.ctl.add_contact(user="alice", uri="sip:zoe@contoso.test", name="Zoe Zhang",
                             groups=[2])
        # the properties change with the list, before ContactsChanged
        listing_until(lambda: self.get_property(CONTACTS, "Revision") == revision + 1,
                      "the list's next revision")
        contacts = self.contacts()
        self.assertEqual(contacts["sip:zoe@contoso.test"]["Groups"], ["Team"])
        self.assertEqual(contacts["sip:carol@contoso.test"]["Note"], "Focus")
        self.ctl.remove_contact(user="alice", uri="sip:carol@contoso.test")
        listing_until(lambda: self.get_property(CONTACTS, "Revision") == revision + 2,
                      "the revision after carol's removal")
        contacts = self.contacts()
        self.assertNotIn("sip:carol@contoso.test", contacts)
        self.assertEqual(len(contacts), len(ALICE_CONTACTS))

    def test_list_contacts_shows_a_card_change_at_once(self):
        """A contact's card changing (title, company: the contactCard category, no
        PresencesChanged) drops the kept ListContacts reply: the very next call shows it."""
        self.sign_in()
        self.wait_for(lambda: self.contacts().get("sip:erin@contoso.test", {}).get("Title")
                      == "Director", "erin's card in ListContacts")
        # NOTIFY, not BENOTIFY: sfbd answers it once it took the card in (its 200 comes
        # from the same main-loop callback), so set_card returns only after that
        self.ctl.set_notify_method(method="NOTIFY")
        before = self.contacts()  # the kept reply, just built
        self.assertEqual(before["sip:erin@contoso.test"]["Company"], "")
        result = self.ctl.set_card(user="sip:erin@contoso.test", title="Chief Executive",
                                   company="Contoso Ltd")
        self.assertEqual(result["watchers"], 1)
        after = self.contacts()
        erin = after["sip:erin@contoso.test"]
        self.assertEqual((erin["Title"], erin["Company"]), ("Chief Executive", "Contoso Ltd"))
        # everything else as it was (the other contacts are taken from the kept reply)
        before["sip:erin@contoso.test"].update(Title="Chief Executive", Company="Contoso Ltd")
        self.assertEqual(after, before)

    def test_changes_after_the_heap_trim(self):
        """Once signed in and quiet, sfbd trims its heap and frees what it keeps only to go
        faster (the XML parser context; docs/benchmarks.md).  Everything read later (a
        card, a presence with an activity, the contact list's delta, a whole new
        registration) still comes through; two contacts given the same title and company
        (kept once, shared) keep them when one of them changes."""
        self.sign_in()
        self.wait_for(lambda: {uri for uri, _ in self.presence_changes()} >= set(ALICE_CONTACTS),
                      "every contact's presence")
        self.wait_for(lambda: "Heap trimmed" in self.daemon_log(), "the heap trim")
        self.ctl.set_notify_method(method="NOTIFY")  # set_card returns once sfbd has it
        for user in ("sip:erin@contoso.test", "sip:dave@contoso.test"):
            self.ctl.set_card(user=user, title="Chief Executive", company="Contoso Ltd")
        self.ctl.set_presence(user="sip:carol@contoso.test", availability=15500,
                              activity="off-work")
        self.ctl.add_contact(user="alice", uri="sip:zoe@contoso.test", name="Zoe Zhang",
                             groups=[2])
        contacts = self.wait_for(
            lambda: "sip:zoe@contoso.test" in self.contacts()
            and self.contacts()["sip:carol@contoso.test"]["Availability"] == "off-work"
            and self.contacts(), "zoe listed, carol off work")
        carol = self.call(PRESENCE, "GetPresence", (["sip:carol@contoso.test"],), "(as)")[0]
        self.assertEqual(carol["sip:carol@contoso.test"]["Activity"], "off-work")
        for uri in ("sip:erin@contoso.test", "sip:dave@contoso.test"):
            self.assertEqual((contacts[uri]["Title"], contacts[uri]["Company"]),
                             ("Chief Executive", "Contoso Ltd"))
        self.assertEqual(contacts["sip:zoe@contoso.test"]["Groups"], ["Team"])
        self.ctl.set_card(user="sip:erin@contoso.test", title="Director", company="")
        contacts = self.contacts()
        self.assertEqual(contacts["sip:erin@contoso.test"]["Title"], "Director")
        self.assertEqual((contacts["sip:dave@contoso.test"]["Title"],
                          contacts["sip:dave@contoso.test"]["Company"]),
                         ("Chief Executive", "Contoso Ltd"))
        # a new registration, its subscriptions and documents, after the trim too
        self.call(ACCOUNT, "Reconnect")
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") != "signed-in",
                      "the reconnect under way")
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") == "signed-in",
                      "signed in again")
        self.signals.clear()
        self.ctl.set_presence(user="sip:carol@contoso.test", availability=9500, note="Focus")
        self.wait_for(lambda: [p for uri, p in self.presence_changes()
                               if uri == "sip:carol@contoso.test"
                               and (p["Availability"], p["Note"]) == ("do-not-disturb", "Focus")],
                      "carol's change after the reconnect")
        contacts = self.contacts()
        self.assertEqual(set(contacts), set(ALICE_CONTACTS) | {"sip:zoe@contoso.test"})
        self.assertEqual(contacts["sip:dave@contoso.test"]["Title"], "Chief Executive")

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
        # a batch of the sign-in (carol online) can still arrive after the clear:
        # what counts is that the change is announced
        self.wait_for(lambda: [a for a in self.presence_changes()
                               if a[0] == "sip:carol@contoso.test"
                               and a[1]["Availability"] == "do-not-disturb"],
                      "PresencesChanged with carol do-not-disturb")
        self.wait_for(lambda: [a for a in self.presence_changes()
                               if a[0] == "sip:carol@contoso.test" and a[1]["Note"] == "Focus"],
                      "carol's note")

    def test_contacts_presence_comes_in_batches(self):
        """The initial presence of the contact list (a multipart NOTIFY per subscription)
        reaches clients as a few PresencesChanged, not one per contact, and each carries
        what GetPresence() returns."""
        self.signals.clear()
        self.sign_in()
        seen = self.wait_for(
            lambda: (lambda uris: uris if uris >= set(ALICE_CONTACTS) else None)(
                {uri for uri, _ in self.presence_changes()}), "every contact's presence")
        batches = self.signal_args(PRESENCE, "PresencesChanged")
        self.assertLess(len(batches), len(seen), batches)
        latest = dict(self.presence_changes())
        known = self.call(PRESENCE, "GetPresence", (sorted(ALICE_CONTACTS),), "(as)")[0]
        self.assertEqual({uri: latest[uri] for uri in ALICE_CONTACTS}, known)

    def test_presence_changed_kept_for_a_single_contact(self):
        """The first API's PresenceChanged(uri, presence) still comes for one contact changing
        alone, with what PresencesChanged carries; a batch of several comes only as
        PresencesChanged."""
        self.sign_in()
        self.wait_for(lambda: {uri for uri, _ in self.presence_changes()} >= set(ALICE_CONTACTS),
                      "every contact's presence")
        self.wait_for(lambda: self.get_property(CONTACTS, "Count") == len(ALICE_CONTACTS),
                      "the contact list")
        self.signals.clear()
        self.ctl.set_presences(updates=[{"user": "sip:carol@contoso.test", "availability": 6500}])
        single = self.wait_for(lambda: self.signal_args(PRESENCE, "PresenceChanged"),
                               "PresenceChanged for carol")
        self.assertEqual([args[0] for args in single], ["sip:carol@contoso.test"])
        self.assertEqual(single[0][1]["Availability"], "busy")
        # PresencesChanged is sent right after PresenceChanged: wait for it too
        self.wait_for(lambda: self.presence_changes(), "PresencesChanged for carol")
        self.assertIn(("sip:carol@contoso.test", single[0][1]), self.presence_changes())
        self.signals.clear()
        self.ctl.set_presences(updates=[
            {"user": "sip:carol@contoso.test", "availability": 3500},
            {"user": "sip:frank@contoso.test", "availability": 6500}])
        self.wait_for(lambda: {uri for uri, _ in self.presence_changes()}
                      >= {"sip:carol@contoso.test", "sip:frank@contoso.test"}, "both changes")
        batches = self.signal_args(PRESENCE, "PresencesChanged")
        if len(batches) == 1:  # both arrived within one batch (the usual case)
            self.assertEqual(self.signal_args(PRESENCE, "PresenceChanged"), [])

    def test_sfbctl_monitor_prints_a_line_per_contact(self):
        """sfbctl monitor splits each batch into one line per contact."""
        self.sign_in()
        self.wait_for(lambda: self.get_property(CONTACTS, "Count") == len(ALICE_CONTACTS),
                      "the contact list")
        _, stdout, stderr = self.spawn_sfbctl("monitor")
        stderr.wait_for(lambda line: line.startswith("Monitoring sfbd"))
        self.ctl.set_presences(updates=[
            {"user": "sip:carol@contoso.test", "availability": 6500},
            {"user": "sip:frank@contoso.test", "availability": 6500}])
        stdout.wait_for_all(*(f" Presence.PresencesChanged: Uri={uri} Presence={{'Availability': "
                              "<'busy'>" for uri in ("sip:carol@contoso.test",
                                                     "sip:frank@contoso.test")))

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

    def test_appear_offline_is_kept_across_a_restart(self):
        """The userState is static and the user's (docs/protocol.md §11.4): Appear offline
        chosen before sfbd restarts is what alice sees after the next sign-in, and what
        others see stays offline, as the SfB client keeps a manual status."""
        self.sign_in()
        self.wait_for(lambda: self.sim_presence("alice")["availability"] == 3500,
                      "alice published online")
        result = self.sfbctl("presence", "set", "appear-offline")
        self.assertEqual(result.returncode, 0, result.stderr)
        # (offline is 18000 and up)
        self.wait_for(lambda: self.sim_presence("alice")["availability"] >= 18000,
                      "others see alice offline")
        self.wait_for(lambda: self.get_property(PRESENCE, "Availability") == "appear-offline",
                      "alice sees appear-offline")
        self.stop_process(self.daemon)
        self.daemon = self.start_daemon()
        self.sign_in()
        # the own aggregate is back (roaming-self): by then the userState is known too
        self.wait_for(lambda: self.get_property(PRESENCE, "AvailabilityCode") >= 18000,
                      "alice's own presence after the sign-in")
        self.assertEqual(self.get_property(PRESENCE, "Availability"), "appear-offline")
        code, status = self.sfbctl_json("status")
        self.assertEqual(code, 0)
        self.assertEqual(status["Presence"]["Availability"], "appear-offline")
        # and on the server the choice stands: others still see offline
        self.wait_for(lambda: any(p["name"] == "state" and p["instance"] == USER_STATE
                                  for p in self.sim_presence("alice")["publications"]),
                      "alice's userState")
        self.assertGreaterEqual(self.sim_presence("alice")["availability"], 18000)
        self.assertEqual({(p["container"], p.get("availability"))
                          for p in self.sim_presence("alice")["publications"]
                          if p["name"] == "state" and p["instance"] == USER_STATE},
                         {(2, "18000"), (3, "18000")})
        # a new choice replaces it
        self.call(PRESENCE, "SetAvailability", ("online",), "(s)")
        self.wait_for(lambda: self.sim_presence("alice")["availability"] == 3500,
                      "others see alice online")
        self.wait_for(lambda: self.get_property(PRESENCE, "Availability") == "online",
                      "alice sees online")

    # ---- two users, two daemons ----

    def test_alices_change_is_seen_by_bobs_daemon(self):
        bob = Peer(self, "bob")
        self.sign_in("bob", peer=bob)
        self.sign_in("alice")
        alice = "sip:alice@contoso.test"

        def bob_sees(field, value):
            return [a for a in presence_changes(bob.signals)
                    if a[0] == alice and a[1][field] == value]
        self.wait_for(lambda: bob_sees("Availability", "online"), "bob sees alice online")
        self.call(PRESENCE, "SetAvailability", ("do-not-disturb",), "(s)")
        self.wait_for(lambda: bob_sees("Availability", "do-not-disturb"),
                      "bob sees alice do-not-disturb")
        self.call(PRESENCE, "SetNote", ("In the lab until 3",), "(s)")
        self.wait_for(lambda: bob_sees("Note", "In the lab until 3"), "bob sees alice's note")
        contacts = {c["Uri"]: c for c in bob.call(CONTACTS, "ListContacts")[0]}
        self.assertEqual(contacts[alice]["Availability"], "do-not-disturb")
        self.assertEqual(contacts[alice]["Note"], "In the lab until 3")
        # and back: bob's change reaches alice's daemon
        self.signals.clear()
        bob.call(PRESENCE, "SetAvailability", ("away",), "(s)")
        self.wait_for(lambda: [a for a in self.presence_changes()
                               if a[0] == "sip:bob@contoso.test"
                               and a[1]["Availability"] == "away"], "alice sees bob away")

    def test_new_subscriber_is_acknowledged(self):
        # bob does not have alice in his list: alice watching him makes her a new subscriber
        self.ctl.remove_contact(user="bob", uri="sip:alice@contoso.test")
        self.ctl.reset_counters()
        bob = Peer(self, "bob")
        self.sign_in("bob", peer=bob)
        self.assertNotIn("sip:alice@contoso.test",
                         self.sim_presence("bob")["subscribers"])
        self.sign_in("alice")
        self.wait_for(lambda: self.sim_presence("bob")["subscribers"]
                      .get("sip:alice@contoso.test", {}).get("acknowledged"),
                      "bob's daemon acknowledged alice")
        self.assertEqual(self.ctl.counters()["subscribers_acknowledged"], {"bob": 1})
        self.assertIn("alice@contoso.test added you to their contacts", bob.log())

    # ---- presence routing, UCS, refused publications ----

    def test_contact_on_another_pool_gets_presence(self):
        self.ctl.set_presence_routing(mode="pool")
        self.ctl.set_presence(user="sip:bob@contoso.test", availability=12500, note="Coffee")
        self.sign_in()  # alice is homed on pool1, bob on pool2
        bob = "sip:bob@contoso.test"
        self.wait_for(lambda: self.call(PRESENCE, "GetPresence", ([bob],), "(as)")[0]
                      .get(bob, {}).get("Availability") == "be-right-back",
                      "bob's presence through pool2")
        self.assertIn(f"Subscribing to {bob}'s presence through sip:pool2.contoso.test",
                      self.daemon_log())
        self.signals.clear()
        self.ctl.set_presence(user=bob, availability=6500)
        self.wait_for(lambda: [a for a in self.presence_changes()
                               if a[0] == bob and a[1]["Availability"] == "busy"],
                      "bob's change through pool2")
        # contacts on alice's own pool still come through the batch
        dave = self.call(PRESENCE, "GetPresence", (["sip:dave@contoso.test"],), "(as)")[0]
        self.assertEqual(dave["sip:dave@contoso.test"]["Availability"], "busy")

    def test_contact_list_in_the_unified_contact_store(self):
        self.ctl.set_ucs_mode(user="alice", mode="reject")  # 488 to roaming-contacts
        self.sign_in()
        self.wait_for(lambda: self.get_property(CONTACTS, "UcsMode") == "migrated",
                      "UcsMode migrated")
        self.assertEqual(self.get_property(CONTACTS, "Count"), 0)
        self.assertEqual(self.call(CONTACTS, "ListContacts")[0], [])

    def test_set_availability_returns_after_the_server_accepted(self):
        self.sign_in()
        self.wait_for(lambda: self.sim_presence("alice")["availability"] == 3500,
                      "the first publication")
        self.call(PRESENCE, "SetAvailability", ("busy",), "(s)")
        self.assertEqual(self.sim_presence("alice")["availability"], 6500)
        self.call(PRESENCE, "SetNote", ("Back at 2",), "(s)")
        self.assertEqual(self.sim_presence("alice")["note"], "Back at 2")
        self.ctl.fail_publish(user="alice", code=500, count=1)
        message = self.assert_dbus_error(ERROR_PREFIX + "ServerRejected", PRESENCE,
                                         "SetAvailability", ("away",), "(s)")
        self.assertIn("500", message)
        self.assertEqual(self.sim_presence("alice")["availability"], 6500)
        self.ctl.fail_publish(user="alice", code=403, count=1)
        message = self.assert_dbus_error(ERROR_PREFIX + "ServerRejected", PRESENCE, "SetNote",
                                         ("Never published",), "(s)")
        self.assertIn("403", message)
        self.assertEqual(self.sim_presence("alice")["note"], "Back at 2")
        code, out = self.sfbctl_json("presence", "set", "away")
        self.assertEqual(code, 0, out)
        self.assertEqual(self.sim_presence("alice")["availability"], 15500)

    def test_sfbctl_groups_and_presence_get(self):
        self.sign_in()
        self.wait_for(lambda: self.get_property(CONTACTS, "Count") == len(ALICE_CONTACTS),
                      "the contact list")
        code, groups = self.sfbctl_json("contacts", "groups")
        self.assertEqual(code, 0)
        self.assertEqual({g["Name"] for g in groups}, set(ALICE_GROUPS.values()))
        self.wait_for(lambda: self.call(PRESENCE, "GetPresence",
                                        (["sip:dave@contoso.test"],), "(as)")[0],
                      "dave's presence")
        code, found = self.sfbctl_json("presence", "get", "sip:dave@contoso.test",
                                       "sip:nobody@contoso.test")
        self.assertEqual(code, 0)
        self.assertEqual(found["sip:dave@contoso.test"]["Availability"], "busy")
        self.assertNotIn("sip:nobody@contoso.test", found)
        out = self.sfbctl("presence", "get", "sip:dave@contoso.test")
        self.assertIn("in-a-meeting", out.stdout)
        out = self.sfbctl("status")
        self.assertRegex(out.stdout, r"(?i)contacts.*6")
        self.assertIn("online", out.stdout)

    def test_set_availability_needs_sign_in(self):
        self.assert_dbus_error(ERROR_PREFIX + "NotSignedIn", PRESENCE, "SetAvailability",
                               ("busy",), "(s)")
        self.assert_dbus_error(ERROR_PREFIX + "InvalidArgs", PRESENCE, "SetAvailability",
                               ("sleeping",), "(s)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
