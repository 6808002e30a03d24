# SPDX-License-Identifier: LGPL-2.1-or-later
"""Policies, dial plan and their cache (docs/architecture.md §3, §5): the real sfbd against the
real sfbsim, inside build-aux/testnet.  One sfbsim for the module (reset before each test; the
cache test stops it and starts a new one), a bus and sfbd per test (sfbd_testcase.py).

What the scenario says is read with sfbsim's own scenario code (tests/sfbsim/scenarios/
default.toml, templated for alice), so "equal to the scenario" means every group and every
property, not a chosen few."""

import os
import stat
import types
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
SCENARIO = os.path.join(SOURCE_ROOT, "tests", "sfbsim", "scenarios", "default.toml")

from sfbd_testcase import ACCOUNT, CONTACTS, DIAL_PLAN, ERROR_PREFIX, POLICIES  # noqa: E402
from sim_testcase import SimTestCase, string  # noqa: E402
from sim import documents, services  # noqa: E402
from sim.scenario import Scenario  # noqa: E402

WAIT = 20


def start_sim():
    sim_fixture.start("settings")


def stop_sim():
    sim_fixture.stop()


def setUpModule():
    start_sim()


def tearDownModule():
    stop_sim()


def scenario_policies(user_id="alice"):
    """{group: {property: value}} as a server writes them for the user: text ("true" for
    booleans), lists for multi-valued properties, publicProviders as a list of dicts."""
    scenario = Scenario.load(SCENARIO)
    state = types.SimpleNamespace(scenario=scenario)
    names = [name for name in scenario.data["policies"] if name != "directory"]
    out = {}
    for name, values in services.provisioning_groups(state, scenario.user(user_id), names):
        group = {}
        for key, value in values.items():
            if key == "providers" and name == "publicProviders":
                group["publicProviders"] = [{k: documents._value(v) for k, v in p.items()}
                                            for p in value]
            elif isinstance(value, list):
                group[key] = [documents._value(v) for v in value]
            else:
                group[key] = documents._value(value)
        out[name] = group
    return out


def scenario_dial_plan():
    return Scenario.load(SCENARIO).data["dialplan"]


class SettingsTestCase(SimTestCase):
    WAIT = WAIT

    def setUp(self):
        super().setUp()
        self.record_signals()

    def sign_in(self, user="alice"):
        """SimTestCase.sign_in, and the settings it brings are there and fresh."""
        super().sign_in(user)
        # settings are retrieved before signed-in: both are there and fresh
        self.assertTrue(self.get_property(POLICIES, "Groups"))
        self.assertNotEqual(self.get_property(DIAL_PLAN, "Name"), "")
        self.assertFalse(self.get_property(POLICIES, "Cached"))
        self.assertFalse(self.get_property(DIAL_PLAN, "Cached"))

    def sfbctl_text(self, *args):
        result = self.sfbctl(*args)
        return result.returncode, result.stdout, result.stderr

    def signal_count(self, interface, name):
        return len([s for s in self.signals if s[0] == interface and s[1] == name])

    def dial_plan_changes(self):
        return [args[1] for iface, sig, args in self.signals
                if sig == "PropertiesChanged" and args[0] == DIAL_PLAN]

    def normalize(self, number):
        return tuple(self.call(DIAL_PLAN, "Normalize", (number,), "(s)"))

    def assert_settings_are_the_scenarios(self):
        expected = scenario_policies()
        self.assertEqual(self.call(POLICIES, "GetAll")[0], expected)
        self.assertEqual(sorted(self.get_property(POLICIES, "Groups")), sorted(expected))
        for group, values in expected.items():
            self.assertEqual(self.call(POLICIES, "GetPolicy", (group,), "(s)")[0], values)
        plan = scenario_dial_plan()
        dial_plan = self.get_all_properties(DIAL_PLAN)
        self.assertEqual(dial_plan["Name"], plan["name"])
        self.assertEqual(dial_plan["ExternalAccessPrefix"], plan["external_access_prefix"])
        self.assertEqual(dial_plan["OptimizeDeviceDialing"], plan["optimize_device_dialing"])
        self.assertEqual([(r["Pattern"], r["Translation"], r["InternalExtension"])
                          for r in dial_plan["Rules"]],
                         [(r["pattern"], r["translation"], r["internal_extension"])
                          for r in plan["rules"]])

    # ---- what the server sent ----

    def test_policies_and_dial_plan_equal_the_scenario(self):
        self.sign_in()
        self.assert_settings_are_the_scenarios()
        self.assert_dbus_error(ERROR_PREFIX + "NotFound", POLICIES, "GetPolicy",
                               ("noSuchGroup",), "(s)")

    def test_reconnect_asks_for_the_dial_plan_beside_the_policies(self):
        """On a new registration with the policies known, the location profile is asked
        for at once (settings in one exchange), not after the policies' answer."""
        self.sign_in()
        mark = len(self.daemon_log())
        self.call(ACCOUNT, "Reconnect")
        self.wait_for(lambda: "State: signed-in" in self.daemon_log()[mark:],
                      "signed-in again")
        trace = self.daemon_log()[mark:].splitlines()
        sent = [i for i, line in enumerate(trace[:-1]) if "sfbd-sip-trace DEBUG: -> " in line
                and trace[i + 1].startswith("SERVICE ")
                and "opaque=app:locationprofile:get" in trace[i + 1]]
        policies = [i for i, line in enumerate(trace) if "provisionGroupList" in line]
        self.assertEqual(len(sent), 1, "one location-profile request per registration")
        self.assertTrue(policies, "the policies' answer")
        self.assertLess(sent[0], policies[0], "asked for before the policies came")
        self.assert_settings_are_the_scenarios()

    def test_sfbctl_policies_and_status(self):
        self.sign_in()
        expected = scenario_policies()
        code, listed = self.sfbctl_json("policies")
        self.assertEqual(code, 0)
        self.assertEqual(sorted(listed["Groups"]), sorted(expected))
        self.assertIs(listed["Cached"], False)
        code, policy = self.sfbctl_json("policies", "show", "ucPolicy")
        self.assertEqual((code, policy), (0, expected["ucPolicy"]))
        code, out, _ = self.sfbctl_text("policies", "list")
        self.assertEqual(code, 0)
        self.assertEqual(sorted(out.split()), sorted(expected))
        code, out, _ = self.sfbctl_text("policies", "show", "locationPolicy")
        self.assertEqual(code, 0)
        self.assertIn("EmergencyDialString", out)
        self.assertIn("999", out)
        code, error = self.sfbctl_json("policies", "show", "noSuchGroup")
        self.assertEqual((code, error["Error"]), (1, ERROR_PREFIX + "NotFound"))
        code, status = self.sfbctl_json("status")
        self.assertEqual(code, 0)
        self.assertEqual(status["DialPlan"]["Name"], "XXXX_dial_plan")
        self.assertIs(status["DialPlan"]["Cached"], False)
        self.assertEqual(sorted(status["Policies"]["Groups"]), sorted(expected))
        code, out, _ = self.sfbctl_text("status")
        self.assertEqual(code, 0)
        fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        self.assertEqual(fields["Dial plan"].strip(), "XXXX_dial_plan")
        self.assertTrue(fields["Policy groups"].strip().startswith(f"{len(expected)}: "))
        self.assertIn("meetingPolicy", fields["Policy groups"])

    def test_normalize_over_dbus_and_sfbctl(self):
        self.sign_in()
        local, national, intl, emergency = (r["pattern"] for r in scenario_dial_plan()["rules"][:4])
        cases = {
            "123456": ("+441785123456", local, False),
            "01785 123456": ("+441785123456", national, False),
            "0014255551234": ("+14255551234", intl, False),
            "999": ("+999", emergency, False),
            "9123456": ("+441785123456", local, False),  # external access prefix
        }
        for number, result in cases.items():
            self.assertEqual(self.normalize(number), result, number)
        self.assert_dbus_error(ERROR_PREFIX + "NoMatchingRule", DIAL_PLAN, "Normalize",
                               ("12345",), "(s)")
        code, result = self.sfbctl_json("dialplan", "normalize", "01785123456")
        self.assertEqual(code, 0)
        self.assertEqual(result, {"Number": "01785123456", "Normalized": "+441785123456",
                                  "Pattern": national, "InternalExtension": False})
        code, out, _ = self.sfbctl_text("dialplan", "normalize", "999")
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith("+999 "), out)
        code, error = self.sfbctl_json("dialplan", "normalize", "12345")
        self.assertEqual((code, error["Error"]), (1, ERROR_PREFIX + "NoMatchingRule"))
        code, out, err = self.sfbctl_text("dialplan", "normalize", "911")
        self.assertEqual(code, 1)
        self.assertIn("No rule of dial plan XXXX_dial_plan matches 911", err)
        code, shown = self.sfbctl_json("dialplan")
        self.assertEqual(code, 0)
        self.assertEqual(shown["Name"], "XXXX_dial_plan")
        self.assertEqual(len(shown["Rules"]), 5)
        code, out, _ = self.sfbctl_text("dialplan", "show")
        self.assertEqual(code, 0)
        self.assertIn("XXXX_dial_plan", out)
        self.assertIn("+441785$1", out)

    # ---- changes in sfbsim ----

    def test_policy_change_arrives(self):
        self.sign_in()
        self.signals.clear()
        self.ctl.set_policy(group="meetingPolicy", values={"MaxMeetingSize": 100},
                            remove=["AllowPolls"])
        self.wait_for(lambda: self.signal_count(POLICIES, "PoliciesChanged"), "PoliciesChanged")
        policy = self.call(POLICIES, "GetPolicy", ("meetingPolicy",), "(s)")[0]
        self.assertEqual(policy["MaxMeetingSize"], "100")
        self.assertNotIn("AllowPolls", policy)
        expected = scenario_policies()
        expected["meetingPolicy"]["MaxMeetingSize"] = "100"
        del expected["meetingPolicy"]["AllowPolls"]
        self.assertEqual(self.call(POLICIES, "GetAll")[0], expected)
        self.assertFalse(self.get_property(POLICIES, "Cached"))

    def test_dial_plan_change_arrives(self):
        self.sign_in()
        self.signals.clear()
        rules = [{"pattern": r"^(\d{4})$", "translation": "+4417851$1",
                  "internal_extension": True}]
        self.ctl.set_dialplan(name="Short_dial_plan", rules=rules, external_access_prefix=None)
        self.wait_for(lambda: any(c.get("Name") == "Short_dial_plan"
                                  for c in self.dial_plan_changes()),
                      "PropertiesChanged with the new dial plan")
        self.wait_for(lambda: self.get_property(DIAL_PLAN, "Rules")
                      == [{"Pattern": r"^(\d{4})$", "Translation": "+4417851$1",
                           "InternalExtension": True}], "the new rules")
        self.assertEqual(self.get_property(DIAL_PLAN, "ExternalAccessPrefix"), "")
        self.assertEqual(self.normalize("1234"), ("+44178511234", r"^(\d{4})$", True))
        self.assert_dbus_error(ERROR_PREFIX + "NoMatchingRule", DIAL_PLAN, "Normalize",
                               ("123456",), "(s)")
        # the provisioning the server re-sent names the new profile too
        self.assertEqual(self.call(POLICIES, "GetPolicy", ("userSetting",), "(s)")[0]
                         ["ucUserLocationProfile"], "Short_dial_plan")

    # ---- the cache ----

    def cache_files(self):
        directory = os.path.join(self.state_dir, "cache")
        if not os.path.isdir(directory):
            return {}
        return {name: os.stat(os.path.join(directory, name)) for name in os.listdir(directory)}

    def test_restart_without_server_shows_the_cache_for_that_account_only(self):
        self.sign_in()
        self.wait_for(lambda: self.get_property(CONTACTS, "Count") > 0, "the contact list")
        count = self.get_property(CONTACTS, "Count")
        self.assertFalse(self.get_property(CONTACTS, "Cached"))
        files = self.cache_files()
        self.assertTrue(any(name.endswith("-policies") for name in files), files)
        self.assertTrue(any(name.endswith("-dial-plan") for name in files), files)
        for name, st in files.items():
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, name)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.state_dir, "cache")).st_mode),
                         0o700)
        self.assertEqual(self.stop_process(self.daemon), 0)

        # the whole deployment is gone; sfbd starts, tries to sign in and cannot
        stop_sim()
        self.addCleanup(start_sim)
        self.daemon = self.start_daemon()
        self.assertTrue(self.get_property(POLICIES, "Cached"))
        self.assertTrue(self.get_property(DIAL_PLAN, "Cached"))
        self.assert_settings_are_the_scenarios()
        self.assertEqual(self.normalize("123456")[0], "+441785123456")
        self.assertEqual(self.get_property(CONTACTS, "Count"), count)
        self.assertTrue(self.get_property(CONTACTS, "Cached"))
        self.assertNotEqual(self.get_property(ACCOUNT, "State"), "signed-in")
        code, status = self.sfbctl_json("status")
        self.assertEqual(code, 0)
        self.assertIs(status["DialPlan"]["Cached"], True)
        self.assertIs(status["Policies"]["Cached"], True)
        code, out, _ = self.sfbctl_text("status")
        self.assertIn("XXXX_dial_plan (cached)", out)
        code, out, _ = self.sfbctl_text("dialplan")
        self.assertIn("XXXX_dial_plan (cached)", out)

        # another account: nothing of alice's, at once
        self.signals.clear()
        self.configure({"Account.Uri": string("sip:bob@contoso.test")})
        self.wait_for(lambda: self.signal_count(POLICIES, "PoliciesChanged"), "PoliciesChanged")
        self.assertEqual(self.get_property(POLICIES, "Groups"), [])
        self.assertEqual(self.call(POLICIES, "GetAll")[0], {})
        self.assertFalse(self.get_property(POLICIES, "Cached"))
        self.assertEqual(self.get_property(DIAL_PLAN, "Name"), "")
        self.assertEqual(self.get_property(DIAL_PLAN, "Rules"), [])
        self.assertFalse(self.get_property(DIAL_PLAN, "Cached"))
        self.assert_dbus_error(ERROR_PREFIX + "NotFound", DIAL_PLAN, "Normalize",
                               ("123456",), "(s)")
        self.assertEqual(self.get_property(CONTACTS, "Count"), 0)
        self.assertFalse(self.get_property(CONTACTS, "Cached"))
        self.assertEqual(self.call(CONTACTS, "ListContacts")[0], [])

        # and a restart as bob still shows nothing of alice's
        self.assertEqual(self.stop_process(self.daemon), 0)
        self.daemon = self.start_daemon()
        self.assertEqual(self.get_property(POLICIES, "Groups"), [])
        self.assertEqual(self.get_property(DIAL_PLAN, "Name"), "")
        self.assertEqual(self.get_property(CONTACTS, "Count"), 0)

        # back to alice: her cache again
        self.configure({"Account.Uri": string("sip:alice@contoso.test")})
        self.wait_for(lambda: self.get_property(POLICIES, "Cached"), "alice's cached policies")
        self.assert_settings_are_the_scenarios()
        self.assertTrue(self.get_property(DIAL_PLAN, "Cached"))

    def test_nothing_known_before_sign_in(self):
        self.assertEqual(self.get_property(POLICIES, "Groups"), [])
        self.assertFalse(self.get_property(POLICIES, "Cached"))
        self.assertFalse(self.get_property(DIAL_PLAN, "Cached"))
        self.assertFalse(self.get_property(CONTACTS, "Cached"))
        self.assert_dbus_error(ERROR_PREFIX + "NotFound", DIAL_PLAN, "Normalize",
                               ("123456",), "(s)")
        code, error = self.sfbctl_json("dialplan", "normalize", "123456")
        self.assertEqual((code, error["Error"]), (1, ERROR_PREFIX + "NotFound"))
        code, out, _ = self.sfbctl_text("policies")
        self.assertEqual(code, 0)
        self.assertIn("No policies", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
