# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd at home in the desktop session: idle and lock, suspend, notifications.

The real sfbd signs alice in to sfbsim (inside build-aux/testnet); python-dbusmock stands in
for the desktop: logind (its own private "system" bus, which sfbd finds through
DBUS_SYSTEM_BUS_ADDRESS), GNOME's screensaver and a notification server on the test's
session bus.  What is asserted is what people see: alice's presence as sfbsim aggregates
it and sfbd shows it, the inhibitor logind holds, the REGISTERs sfbsim logs, the
notifications the server got."""

import os
import subprocess
import sys
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

from sfbd_testcase import ACCOUNT, BUS_CONFIG, PRESENCE, TIMEOUT  # noqa: E402
from sim_testcase import SIM, SimTestCase, account_settings, string  # noqa: E402

WAIT = 20 * (3 if os.environ.get("SFBD_SANITIZERS") == "1" else 1)
MOCK = "org.freedesktop.DBus.Mock"
LOGIN1 = "org.freedesktop.login1"
LOGIN1_PATH = "/org/freedesktop/login1"
SESSION_ID = "c1"
SESSION_PATH = f"{LOGIN1_PATH}/session/{SESSION_ID}"
NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
SCREENSAVER = "org.gnome.ScreenSaver"
SCREENSAVER_PATH = "/org/gnome/ScreenSaver"
WINDOW = "org.sfbd.Window"
WINDOW_PATH = "/org/sfbd/Window"
APPLICATION = "org.freedesktop.Application"
PASSWORD = "Passw0rd!"


def setUpModule():
    sim_fixture.start("desktop")


def tearDownModule():
    sim_fixture.stop()


class DesktopTestCase(SimTestCase):
    START_DAEMON = False
    WAIT = WAIT

    def reset_sim(self):
        sim_fixture.reset()

    def setUp(self):
        self.addCleanup(SIM["ctl"].set_delay, ms=0)
        super().setUp()
        self.system_bus = self._start_system_bus()
        self.mocks = []
        self._start_mock(["--system", "-t", "logind"], LOGIN1, self.system_bus)
        self.call_on(self.system_bus, LOGIN1, LOGIN1_PATH, MOCK, "AddSession",
                     GLib.Variant("(ssusb)", (SESSION_ID, "seat0", os.getuid(), "alice", True)))
        self._start_mock(["-t", "notification_daemon", "-p",
                          '{"capabilities": "body body-markup actions"}'],
                         NOTIFICATIONS, self.bus)
        self._start_mock(["-t", "gnome_screensaver"], SCREENSAVER, self.bus)
        self.window_log = os.path.join(self.tmp, "window.log")
        window = os.path.join(self.tmp, "sfbd-window")
        with open(window, "w", encoding="utf-8") as f:
            # complete or absent: written aside, then renamed
            f.write(f"#!/bin/sh\necho \"$@\" > {self.window_log}.$$ "
                    f"&& mv {self.window_log}.$$ {self.window_log}\n")
        os.chmod(window, 0o755)
        self.env.update({"XDG_SESSION_ID": SESSION_ID, "SFBD_WINDOW": window})

    # ---- the desktop's buses and services ----

    def _start_system_bus(self):
        directory = os.path.join(self.tmp, "system-bus")
        os.makedirs(directory)
        config = os.path.join(self.tmp, "system-bus.conf")
        with open(config, "w", encoding="utf-8") as f:
            f.write(BUS_CONFIG.format(dir=directory))
        process = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        address = process.stdout.readline().strip()

        def stop():
            process.kill()
            process.wait()
            process.stdout.close()
        self.addCleanup(stop)
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = address
        bus = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.addCleanup(bus.close_sync, None)
        return bus

    def _start_mock(self, args, name, bus):
        # not spawn(): daemon_log() reads every log spawn() keeps, and is sfbd's alone here
        env = dict(self.env)
        log = open(os.path.join(self.tmp, f"mock-{name}.log"), "w", encoding="utf-8")
        process = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", *args], env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

        def stop():
            process.kill()
            process.wait()
            log.close()
        self.addCleanup(stop)
        self.wait_for(lambda: self.name_owner(name, bus), f"{name} on its bus", TIMEOUT)

    @staticmethod
    def call_on(bus, name, path, interface, method, parameters=None):
        return bus.call_sync(name, path, interface, method, parameters, None,
                             Gio.DBusCallFlags.NONE, TIMEOUT * 1000, None).unpack()

    def login1(self, path, interface, method, parameters=None):
        return self.call_on(self.system_bus, LOGIN1, path, interface, method, parameters)

    def set_session(self, **properties):
        """Changes logind session properties (IdleHint, LockedHint), with PropertiesChanged."""
        values = {key: GLib.Variant("b", value) for key, value in properties.items()}
        self.login1(SESSION_PATH, MOCK, "UpdateProperties",
                    GLib.Variant("(sa{sv})", ("org.freedesktop.login1.Session", values)))

    def sleep_signal(self, going_to_sleep):
        self.login1(LOGIN1_PATH, MOCK, "EmitSignal",
                    GLib.Variant("(sssav)", ("org.freedesktop.login1.Manager", "PrepareForSleep",
                                             "b", [GLib.Variant("b", going_to_sleep)])))

    def sfbd_inhibitors(self):
        return [i for i in self.login1(LOGIN1_PATH, "org.freedesktop.login1.Manager",
                                       "ListInhibitors")[0] if i[1] == "sfbd"]

    def notify_calls(self):
        """The Notify calls of the notification server: (id it returned, replaces_id, summary,
        body, actions), in order (the mock numbers new notifications from 1)."""
        calls = self.call_on(self.bus, NOTIFICATIONS, NOTIFICATIONS_PATH, MOCK, "GetMethodCalls",
                             GLib.Variant("(s)", ("Notify",)))[0]
        result, next_id = [], 1
        for _, args in calls:
            replaces = args[1]
            if replaces == 0:
                notification_id, next_id = next_id, next_id + 1
            else:
                notification_id = replaces
            result.append((notification_id, replaces, args[3], args[4], list(args[5])))
        return result

    def close_calls(self):
        calls = self.call_on(self.bus, NOTIFICATIONS, NOTIFICATIONS_PATH, MOCK, "GetMethodCalls",
                             GLib.Variant("(s)", ("CloseNotification",)))[0]
        return [args[0] for _, args in calls]

    def start_window_service(self):
        """A stand-in for the D-Bus-activatable account window: owns org.sfbd.Window and
        records the org.freedesktop.Application calls it gets."""
        self._start_mock([WINDOW, WINDOW_PATH, APPLICATION], WINDOW, self.bus)
        self.call_on(self.bus, WINDOW, WINDOW_PATH, MOCK, "AddMethods",
                     GLib.Variant("(sa(ssss))", (APPLICATION, [
                         ("Activate", "a{sv}", "", ""),
                         ("ActivateAction", "sava{sv}", "", ""),
                     ])))

    def window_actions(self):
        """(action, parameters, platform data) of every ActivateAction call, in order."""
        calls = self.call_on(self.bus, WINDOW, WINDOW_PATH, MOCK, "GetMethodCalls",
                             GLib.Variant("(s)", ("ActivateAction",)))[0]
        return [tuple(args) for _, args in calls]

    def send_activation_token(self, notification_id, token):
        self.call_on(self.bus, NOTIFICATIONS, NOTIFICATIONS_PATH, MOCK, "EmitSignal",
                     GLib.Variant("(sssav)", (NOTIFICATIONS, "ActivationToken", "us",
                                              [GLib.Variant("u", notification_id),
                                               GLib.Variant("s", token)])))

    def invoke_action(self, notification_id, action):
        self.call_on(self.bus, NOTIFICATIONS, NOTIFICATIONS_PATH, MOCK, "EmitSignal",
                     GLib.Variant("(sssav)", (NOTIFICATIONS, "ActionInvoked", "us",
                                              [GLib.Variant("u", notification_id),
                                               GLib.Variant("s", action)])))

    # ---- sfbd ----

    def start_alice(self, password=PASSWORD, **settings):
        self.daemon = self.start_daemon()
        config = account_settings("alice")
        config.update({key: string(value) for key, value in settings.items()})
        self.configure(config)
        self.call(ACCOUNT, "SetPassword", (password, True), "(sb)")
        self.call(ACCOUNT, "SignIn")
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") in ("signed-in", "failed"),
                        "the end of the sign-in")

    def state(self):
        return self.get_property(ACCOUNT, "State")

    def code(self):
        return self.get_property(PRESENCE, "AvailabilityCode")

    def sim_code(self):
        return self.ctl.presence(user="alice").get("availability")

    def wait_for_code(self, code, what):
        """Waits until sfbd shows, and sfbsim aggregated, alice's availability `code`."""
        self.wait_for_value(lambda: (self.code(), self.sim_code()),
                            lambda codes: codes == (code, code),
                            f"{what} (availability {code}, as (sfbd's, sfbsim's))")


class IdleAndLockTest(DesktopTestCase):
    def test_idle_inactive_then_away_then_back(self):
        self.start_alice(**{"Presence.InactiveAfter": "1", "Presence.AwayAfter": "1"})
        self.assertEqual(self.state(), "signed-in")
        self.wait_for_code(3500, "online after sign-in")
        self.set_session(IdleHint=True)
        self.wait_for_code(5000, "inactive after the inactive time")
        self.wait_for_code(15500, "away after the away time")
        self.set_session(IdleHint=False)
        self.wait_for_code(3500, "online again on activity")

    def test_the_users_choice_outlives_idle(self):
        self.start_alice(**{"Presence.InactiveAfter": "1", "Presence.AwayAfter": "1"})
        self.set_session(IdleHint=True)
        self.wait_for_code(15500, "away while idle")
        self.call(PRESENCE, "SetAvailability", ("busy",), "(s)")
        self.wait_for_code(6500, "busy, the user's choice, while idle")
        self.set_session(IdleHint=False)
        # back from idle: the machineState is active again, and the user's busy stays
        self.wait_for(lambda: self.machine_states() == {"3500"}, "machineState 3500 again")
        self.assertEqual(self.code(), 6500)
        self.assertEqual(self.sim_code(), 6500)

    def machine_states(self):
        return {p.get("availability") for p in self.ctl.presence(user="alice")["publications"]
                if p.get("type") == "machineState"}

    def test_lock_is_away_at_once_and_unlock_is_back(self):
        self.start_alice()  # the default times: minutes, far beyond this test
        self.wait_for_code(3500, "online after sign-in")
        self.set_session(LockedHint=True)
        self.wait_for_code(15500, "away when locked")
        self.set_session(LockedHint=False)
        self.wait_for_code(3500, "online when unlocked")

    def test_screensaver_active_is_away(self):
        self.start_alice()
        self.wait_for_code(3500, "online after sign-in")
        self.call_on(self.bus, SCREENSAVER, SCREENSAVER_PATH, SCREENSAVER, "SetActive",
                     GLib.Variant("(b)", (True,)))
        self.wait_for_code(15500, "away when the screensaver is active")
        self.call_on(self.bus, SCREENSAVER, SCREENSAVER_PATH, SCREENSAVER, "SetActive",
                     GLib.Variant("(b)", (False,)))
        self.wait_for_code(3500, "online when it is not")


MUTTER = "org.gnome.Mutter.IdleMonitor"
MUTTER_PATH = "/org/gnome/Mutter/IdleMonitor/Core"


class GnomeIdleMonitorTest(DesktopTestCase):
    """GNOME's idle monitor: idle watches on the input idle time, preferred to IdleHint."""

    def start_mutter(self):
        self._start_mock([MUTTER, MUTTER_PATH, MUTTER], MUTTER, self.bus)
        counter = "self.watches = getattr(self, 'watches', 0) + 1; ret = self.watches"
        self.call_on(self.bus, MUTTER, MUTTER_PATH, MOCK, "AddMethods",
                     GLib.Variant("(sa(ssss))", (MUTTER, [
                         ("AddIdleWatch", "t", "u", counter),
                         ("AddUserActiveWatch", "", "u", counter),
                         ("RemoveWatch", "u", "", ""),
                     ])))

    def watches(self):
        """(id, method, interval) of every watch added, in order (ids count from 1)."""
        calls = self.call_on(self.bus, MUTTER, MUTTER_PATH, MOCK, "GetCalls")[0]
        added = [(method, args) for _, method, args in calls
                 if method in ("AddIdleWatch", "AddUserActiveWatch")]
        return [(i + 1, method, args[0] if args else None)
                for i, (method, args) in enumerate(added)]

    def watch(self, method, interval=None):
        matching = [w for w in self.watches() if w[1] == method and w[2] == interval]
        return matching[-1][0] if matching else None

    def fire(self, watch_id):
        self.call_on(self.bus, MUTTER, MUTTER_PATH, MOCK, "EmitSignal",
                     GLib.Variant("(sssav)", (MUTTER, "WatchFired", "u",
                                              [GLib.Variant("u", watch_id)])))

    def test_idle_watches_inactive_away_and_back(self):
        self.start_mutter()
        self.start_alice(**{"Presence.InactiveAfter": "2", "Presence.AwayAfter": "3"})
        self.wait_for_code(3500, "online after sign-in")
        inactive = self.wait_for(lambda: self.watch("AddIdleWatch", 2000), "a 2 s idle watch")
        away = self.wait_for(lambda: self.watch("AddIdleWatch", 5000), "a 5 s idle watch")
        # logind's hint counts for nothing while GNOME's monitor answers
        self.set_session(IdleHint=True)
        self.fire(inactive)
        self.wait_for_code(5000, "inactive when the first watch fires")
        active = self.wait_for(lambda: self.watch("AddUserActiveWatch"), "a user-active watch")
        self.fire(away)
        self.wait_for_code(15500, "away when the second fires")
        self.fire(active)
        self.wait_for_code(3500, "online again on input")


class SuspendTest(DesktopTestCase):
    def test_sign_out_before_sleep_and_in_after(self):
        self.start_alice()
        self.assertEqual(self.state(), "signed-in")
        inhibitors = self.wait_for(self.sfbd_inhibitors, "sfbd's sleep inhibitor")
        self.assertEqual([(i[0], i[3]) for i in inhibitors], [("sleep", "delay")])
        self.wait_for(lambda: self.ctl.counters()["active_registrations"] == 1,
                        "one registration")
        # every answer of sfbsim comes late: a sign-out takes a while, and the inhibitor
        # must outlast it
        self.ctl.set_delay(ms=400)
        size = os.path.getsize(os.path.join(SIM["workdir"], "sip.log"))
        self.sleep_signal(True)
        self.wait_for(lambda: not self.sfbd_inhibitors(), "the inhibitor released")
        # at that moment sfbsim has the de-registration and answered it
        self.assertEqual(self.ctl.counters()["active_registrations"], 0)
        with open(os.path.join(SIM["workdir"], "sip.log"), encoding="utf-8") as f:
            f.seek(size)
            after = f.read()
        self.assertRegex(after, r"(?s)REGISTER sip:.*Expires: 0")
        self.assertIn("Event: vnd-microsoft-roaming-self", after)  # an unsubscribe went too
        self.assertEqual(self.state(), "signed-out")
        self.ctl.set_delay(ms=0)
        self.sleep_signal(False)
        self.wait_for(lambda: self.state() == "signed-in", "signed in again after resume")
        self.wait_for(lambda: self.ctl.counters()["active_registrations"] == 1,
                        "registered again")
        self.wait_for(self.sfbd_inhibitors, "the inhibitor taken again")


    def test_resume_before_the_sign_out_ended(self):
        self.start_alice()
        self.assertEqual(self.state(), "signed-in")
        self.wait_for(self.sfbd_inhibitors, "sfbd's sleep inhibitor")
        # the sign-out outlasts the nap: its REGISTER (Expires: 0) waits in sfbsim, and is
        # released only after the resume was sent (sfbd waits 2 s for its answer: the
        # release finding it still there says the sign-out had not ended)
        self.ctl.hold_requests(user="alice")
        self.addCleanup(self.ctl.release_requests)
        self.sleep_signal(True)
        self.sleep_signal(False)
        self.wait_for(lambda: self.ctl.held_requests(user="alice"), "the sign-out's REGISTER")
        self.assertEqual(self.ctl.release_requests(user="alice"), 1)
        self.wait_for(lambda: "Signed out" in self.daemon_log(), "the sign-out done")
        self.wait_for(lambda: self.state() == "signed-in", "signed in again")
        self.wait_for(lambda: self.ctl.counters()["active_registrations"] == 1,
                        "registered again")
        self.wait_for(self.sfbd_inhibitors, "the inhibitor taken again")


class NotificationTest(DesktopTestCase):
    def test_wrong_password_notifies_once_and_is_withdrawn(self):
        self.start_window_service()
        self.start_alice(password="wrong")
        self.assertEqual(self.state(), "failed")
        self.assertEqual(self.get_property(ACCOUNT, "LastError"),
                         "org.sfbd.Sfbd.Error.AuthFailed")
        calls = self.wait_for(self.notify_calls, "a notification")
        notification_id, _, summary, body, actions = calls[0]
        self.assertIn("password", summary)
        self.assertEqual(actions, ["set-password", "Set password…", "details", "Details"])
        # the body says what to do in the notification's words; D-Bus keeps the command
        message = self.get_property(ACCOUNT, "LastErrorMessage")
        self.assertIn("sfbctl set-password", message)
        self.assertNotIn("sfbctl", body)
        self.assertIn("did not accept the password", body)
        self.assertTrue(body.endswith("Choose Set password… to enter it."), body)
        # its action opens the account window at the password, by D-Bus activation, with
        # the server's activation token: the window is the session's, not in sfbd's unit
        self.send_activation_token(notification_id, "token-1")
        self.invoke_action(notification_id, "set-password")
        window = self.wait_for(self.window_actions, "the window asked to open")
        self.assertEqual(window, [("set-password", [], {"activation-token": "token-1",
                                                        "desktop-startup-id": "token-1"})])
        self.assertFalse(os.path.exists(self.window_log), "sfbd spawned the window itself")
        # signing in again with the same password fails again: the notification is
        # updated in place, still one
        self.call(ACCOUNT, "SignIn")
        calls = self.wait_for(lambda: self.notify_calls()[1:], "the notice of the new failure")
        self.assertEqual(calls[0][1], notification_id)
        # a good password: signed in, the notification is withdrawn
        self.call(ACCOUNT, "SetPassword", (PASSWORD, True), "(sb)")
        self.call(ACCOUNT, "SignIn")
        self.wait_for(lambda: self.state() == "signed-in", "signed in")
        self.wait_for(lambda: notification_id in self.close_calls(), "the notification closed")
        # sfbd's calls reach the server in order: any other notice came before the close
        calls = self.notify_calls()
        self.assertEqual({c[0] for c in calls}, {notification_id})
        self.assertEqual(len(calls), 2, calls)

    def test_window_not_activatable_is_started(self):
        # no org.sfbd.Window on the bus and no service file: sfbd starts the program
        self.start_alice(password="wrong")
        self.assertEqual(self.state(), "failed")
        notification_id = self.wait_for(self.notify_calls, "a notification")[0][0]
        self.invoke_action(notification_id, "details")
        self.wait_for(lambda: os.path.exists(self.window_log), "the window started")
        with open(self.window_log, encoding="utf-8") as f:
            self.assertEqual(f.read().split(), ["--details"])

    def test_missing_password_says_what_to_do(self):
        self.daemon = self.start_daemon()
        self.configure({"Account.Uri": string("sip:alice@contoso.test"),
                        "Account.Login": string("CONTOSO\\alice"),
                        "Account.Server": string("director.contoso.test"),
                        "Account.Auth": string("ntlm"),
                        "TLS.CAFile": string(SIM["env"]["SFBSIM_CA_FILE"]),
                        "Secrets.Store": string("file")})
        try:
            self.call(ACCOUNT, "SignIn")
        except GLib.Error:
            pass  # refused at once: no credentials
        calls = self.wait_for(self.notify_calls, "a notification")
        _, _, summary, body, actions = calls[0]
        self.assertEqual(self.get_property(ACCOUNT, "LastError"),
                         "org.sfbd.Sfbd.Error.NoCredentials")
        self.assertIn("sfbctl set-password", self.get_property(ACCOUNT, "LastErrorMessage"))
        self.assertIn("password is needed", summary)
        self.assertIn("No password is known", body)
        self.assertNotIn("sfbctl", body)
        self.assertTrue(body.endswith("Choose Set password… to enter it."), body)
        self.assertEqual(actions[:2], ["set-password", "Set password…"])

    def test_details_without_the_window_are_in_the_notification(self):
        self.env["SFBD_WINDOW"] = os.path.join(self.tmp, "no-such-window")
        self.start_alice(password="wrong")
        self.assertEqual(self.state(), "failed")
        notification_id = self.wait_for(self.notify_calls, "a notification")[0][0]
        self.invoke_action(notification_id, "details")
        calls = self.wait_for(lambda: self.notify_calls()[1:], "the details")
        _, replaces, _, body, actions = calls[0]
        self.assertEqual(replaces, notification_id)
        self.assertIn("State: failed", body)
        self.assertIn(self.get_property(ACCOUNT, "LastErrorMessage"), body)
        self.assertIn("sfbctl status", body)
        self.assertEqual(actions, [])

    def test_short_reconnect_notifies_nothing(self):
        self.start_alice()
        self.assertEqual(self.state(), "signed-in")
        self.ctl.reset_counters()
        self.ctl.drop_connections()
        # a new registration: sfbd noticed the drop and signed in again
        self.wait_for(lambda: self.ctl.counters()["active_registrations"] == 1
                        and self.ctl.counters().get("registers", {}).get("alice", 0) > 0
                        and self.state() == "signed-in", "signed in again")
        self.assertIn("reconnecting", self.daemon_log())
        # the server got every call of sfbd before this round trip of its own
        self.assertEqual(self.notify_calls(), [])

    def test_lasting_reconnect_notifies_and_is_withdrawn(self):
        self.start_alice(**{"Notifications.ReconnectingAfter": "1"})
        self.assertEqual(self.state(), "signed-in")
        self.ctl.set_503(registrar="pool1", retry_after=3, count=1)
        self.ctl.drop_connections()
        calls = self.wait_for(self.notify_calls, "a reconnecting notification")
        self.assertIn("reconnecting", calls[0][2])
        self.wait_for(lambda: self.state() == "signed-in", "signed in again")
        self.wait_for(lambda: calls[0][0] in self.close_calls(), "the notification closed")


if __name__ == "__main__":
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
