#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Devices from a real PipeWire + WirePlumber (pipewire_env.py).

These tests fail, never skip, when PipeWire cannot start: build-aux/install-deps
installs it."""

import os
import socket
import time
import unittest

from gi.repository import Gio, GLib

import pipewire_env
from sfbd_testcase import BUS_NAME, DEVICES, OBJECT_PATH, TIMEOUT, SfbdTestCase


TEST_DEVICES_IN_USE = {"AudioOutput": "test-sink", "AudioInput": "test-mic",
                       "VideoInput": "test-cam"}
NOTHING_IN_USE = {"AudioOutput": "", "AudioInput": "", "VideoInput": ""}


class DevicesTestCase(SfbdTestCase):
    START_DAEMON = False
    START_PIPEWIRE = True

    def setUp(self):
        super().setUp()
        self.pw = pipewire_env.for_test(self)
        self.devices_changed = 0
        self._subscription = self.bus.signal_subscribe(
            BUS_NAME, DEVICES, "DevicesChanged", OBJECT_PATH, None, Gio.DBusSignalFlags.NONE,
            self._on_devices_changed)
        self.addCleanup(self.bus.signal_unsubscribe, self._subscription)
        if self.START_PIPEWIRE:
            self.pw.start()
            self.daemon = self.start_daemon()

    def _on_devices_changed(self, *args):
        self.devices_changed += 1

    def list_devices(self):
        return {device["Name"]: device for device in self.call(DEVICES, "ListDevices")[0]}

    def dispatch(self):
        """Dispatches what is pending (DevicesChanged signals)."""
        context = GLib.MainContext.default()
        while context.iteration(False):
            pass

    def describe_state(self):
        return f"{self.devices_changed} DevicesChanged signals received"

    def wait_until(self, what, predicate, announced_after=None):
        """Lists the devices now and again after each DevicesChanged until
        predicate(devices) holds, as a client following the signal would.

        sfbd emits DevicesChanged from an idle callback, after the change, so a
        ListDevices() call can see a change before its signal is even sent: a
        listing alone proves nothing about the signal.  With announced_after
        (a count of DevicesChanged signals), only a listing made after a later
        signal counts, so the change must have been announced."""
        listing = {"seen": self.devices_changed if announced_after is None else announced_after,
                   "fresh": announced_after is None, "devices": None}

        def devices():
            """ListDevices() when a DevicesChanged came since the last listing (wait_for_value
            dispatches the signals before each try), else the last listing."""
            listing["fresh"] = listing["fresh"] or self.devices_changed > listing["seen"]
            if listing["fresh"]:
                listing["seen"] = self.devices_changed
                listing["devices"] = self.list_devices()
            return listing["devices"]

        def new_and_holds(devices):
            fresh, listing["fresh"] = listing["fresh"], False
            return fresh and predicate(devices)

        if announced_after is not None:
            what += f" (after DevicesChanged number {announced_after})"
        return self.wait_for_value(devices, new_and_holds, what)

    def wait_for_test_devices(self):
        """Waits until the test devices are listed with their defaults and
        volumes, and are the devices in use.  PipeWire announces the nodes
        before WirePlumber's "default" metadata and their Props, so the names
        alone can be listed before the defaults are known; and the in-use
        properties follow the listing only when DevicesChanged is emitted."""
        return self.wait_until(
            "the test devices with their defaults and volumes, in use",
            lambda d: all(name in d and d[name]["Default"]
                          for name in ("test-sink", "test-mic", "test-cam"))
            and "Volume" in d["test-sink"] and "Volume" in d["test-mic"]
            and self.in_use() == TEST_DEVICES_IN_USE)

    def in_use(self):
        return {name: self.get_property(DEVICES, name)
                for name in ("AudioOutput", "AudioInput", "VideoInput")}


class ListingTest(DevicesTestCase):
    def test_lists_devices_with_kinds_defaults_and_volumes(self):
        devices = self.wait_for_test_devices()
        sink, mic, cam = devices["test-sink"], devices["test-mic"], devices["test-cam"]
        self.assertEqual((sink["Kind"], sink["Description"], sink["Default"]),
                         ("audio-output", "Test Sink", True))
        self.assertEqual((mic["Kind"], mic["Description"], mic["Default"]),
                         ("audio-input", "Test Mic", True))
        self.assertEqual((cam["Kind"], cam["Description"], cam["Default"]),
                         ("video-input", "Test Cam", True))
        self.assertAlmostEqual(devices["test-sink"]["Volume"], 1.0, places=3)
        self.assertFalse(devices["test-sink"]["Muted"])
        self.assertNotIn("Volume", devices["test-cam"])
        self.assertEqual(self.in_use(), TEST_DEVICES_IN_USE)
        # the Id is the PipeWire global id: pw-cli knows the node by it
        info = self.pw.run_tool("pw-cli", "info", str(sink["Id"]))
        self.assertIn('node.name = "test-sink"', info)

    def test_sfbctl_lists_devices(self):
        self.wait_for_test_devices()
        result = self.sfbctl("devices")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = {line.split()[1]: line for line in result.stdout.splitlines()[1:]}
        self.assertIn("audio-output", lines["test-sink"])
        self.assertIn("in use, default", lines["test-sink"])
        self.assertIn("Test Cam", lines["test-cam"])


class ChangesTest(DevicesTestCase):
    def test_hot_plug_adds_and_removes_a_device(self):
        self.wait_for_test_devices()
        before = self.devices_changed
        self.pw.add_sink("usb-headset", "USB Headset")
        # with its volume: no later signal about it can be taken for its removal
        devices = self.wait_until("DevicesChanged announcing usb-headset",
                                  lambda d: "Volume" in d.get("usb-headset", {}),
                                  announced_after=before)
        self.assertEqual(devices["usb-headset"]["Kind"], "audio-output")
        self.assertEqual(devices["usb-headset"]["Description"], "USB Headset")
        before = self.devices_changed
        self.pw.destroy(devices["usb-headset"]["Id"])
        devices = self.wait_until("DevicesChanged announcing that usb-headset went",
                                  lambda d: "usb-headset" not in d, announced_after=before)
        self.assertIn("test-sink", devices)

    def test_default_change_is_followed(self):
        self.wait_for_test_devices()
        self.pw.add_sink("usb-headset", "USB Headset")
        self.wait_until("usb-headset", lambda d: "usb-headset" in d)
        self.pw.set_default("audio.sink", "usb-headset")
        devices = self.wait_until(
            "usb-headset to become the default and be in use",
            lambda d: d["usb-headset"]["Default"]
            and self.get_property(DEVICES, "AudioOutput") == "usb-headset")
        self.assertFalse(devices["test-sink"]["Default"])

    def test_volume_and_mute_changes_are_followed(self):
        devices = self.wait_for_test_devices()
        sink_id = devices["test-sink"]["Id"]
        # linear 0.125 on both channels is 0.5 on the cubic scale wpctl shows
        self.pw.set_props(sink_id, "{ channelVolumes = [ 0.125 0.125 ] mute = true }")
        devices = self.wait_until("the new volume",
                                  lambda d: d["test-sink"].get("Muted") is True)
        self.assertAlmostEqual(devices["test-sink"]["Volume"], 0.5, places=3)
        wpctl = self.pw.run_tool("wpctl", "get-volume", str(sink_id))
        self.assertIn("Volume: 0.50", wpctl)
        self.assertIn("MUTED", wpctl)

    def test_selected_device_is_used_when_present_else_the_default(self):
        self.wait_for_test_devices()
        self.call(DEVICES, "SelectDevice", ("audio-output", "usb-headset"), "(ss)")
        self.assertEqual(self.read_config()["Devices"]["AudioOutput"], "usb-headset")
        self.assertEqual(self.get_property(DEVICES, "AudioOutput"), "test-sink")
        self.pw.add_sink("usb-headset", "USB Headset")
        devices = self.wait_until("usb-headset", lambda d: "usb-headset" in d)
        self.wait_until("usb-headset in use",
                        lambda d: self.get_property(DEVICES, "AudioOutput") == "usb-headset")
        self.assertFalse(devices["usb-headset"]["Default"])
        self.pw.destroy(devices["usb-headset"]["Id"])
        self.wait_until("the fallback to the default",
                        lambda d: self.get_property(DEVICES, "AudioOutput") == "test-sink")


class LifecycleTest(DevicesTestCase):
    START_PIPEWIRE = False

    def test_pipewire_restart_is_followed(self):
        self.pw.start()
        self.start_daemon()
        self.wait_for_test_devices()
        self.pw.stop()
        self.wait_until("the devices and the devices in use to go with PipeWire",
                        lambda d: not d and self.in_use() == NOTHING_IN_USE)
        # sfbd follows WirePlumber's metadata: see PipeWireEnv.start
        self.pw.start(wait_for_defaults=False)
        self.wait_for_test_devices()
        self.assertEqual(self.daemons[0].poll(), None, "sfbd exited")

    def test_sfbd_started_before_pipewire_picks_it_up(self):
        self.start_daemon()
        self.assertEqual(self.list_devices(), {})
        self.pw.start(wait_for_defaults=False)
        devices = self.wait_for_test_devices()
        self.assertTrue(devices["test-sink"]["Default"])
        self.assertIn("Connected to PipeWire", self.daemon_log())


def thread_switches(pid):
    """{thread id: voluntary context switches}: one per wake-up from poll()."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        out[tid] = int(line.split()[1])
        except FileNotFoundError:
            pass  # the thread ended
    return out


def wakeups(before, after):
    """Wake-ups between two thread_switches() of the threads alive at both: a worker of
    GLib's thread pools that ends after its idle time is no timer of sfbd's."""
    return sum(after[tid] - before[tid] for tid in before.keys() & after.keys())


def pipewire_mappings(pid):
    """The PipeWire libraries and SPA plugins mapped into pid (file names)."""
    names = set()
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split(None, 5)
            path = fields[5].strip() if len(fields) > 5 else ""
            if "pipewire" in os.path.basename(path) or "/spa-0.2/" in path:
                names.add(os.path.basename(path))
    return sorted(names)


class WithoutPipeWireTest(DevicesTestCase):
    START_PIPEWIRE = False
    IDLE_WINDOW = 7.0  # seconds; a 3-s retry timer would wake sfbd twice in it

    def wait_until_quiet(self, pid, quiet=1.0):
        """Until sfbd's start-up work is over: no wake-up for `quiet` seconds."""
        def wakeups_in_a_sample():
            before = thread_switches(pid)
            time.sleep(quiet)  # a sample, not a wait for an event
            return wakeups(before, thread_switches(pid))

        self.wait_for_value(wakeups_in_a_sample, lambda woken: woken == 0,
                            f"sfbd being quiet (no wake-up) for {quiet} s", interval=0)

    def test_sfbd_does_not_poll_for_pipewire(self):
        """PipeWire absent: sfbd waits for its socket to be created instead of retrying on
        a timer, so an idle sfbd (not signed in) is not woken at all."""
        process = self.start_daemon()
        self.assertEqual(self.list_devices(), {})
        self.dispatch()
        self.wait_until_quiet(process.pid)
        before = thread_switches(process.pid)
        time.sleep(self.IDLE_WINDOW)  # the window in which nothing may happen
        woken = wakeups(before, thread_switches(process.pid))
        self.assertEqual(woken, 0, f"sfbd was woken {woken} times in {self.IDLE_WINDOW} s "
                                   "with nothing to do")
        self.pw.start(wait_for_defaults=False)
        self.wait_for_test_devices()

    def test_pipewire_is_not_loaded_until_its_socket_appears(self):
        """PipeWire absent: sfbd maps neither libpipewire nor its modules and plugins (memory
        a session without PipeWire would never use) until the socket is created."""
        process = self.start_daemon()
        self.assertEqual(self.list_devices(), {})
        self.assertEqual(pipewire_mappings(process.pid), [])
        self.pw.start(wait_for_defaults=False)
        self.wait_for_test_devices()
        mapped = pipewire_mappings(process.pid)
        self.assertTrue(any(name.startswith("libpipewire-0.3.so") for name in mapped), mapped)

    def test_socket_created_before_it_listens_is_connected_to(self):
        """The socket file exists a moment before PipeWire listens on it (bind, then
        listen): sfbd's first attempt is refused, and it retries without a new event."""
        process = self.start_daemon()
        self.assertEqual(self.list_devices(), {})
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(self.pw.socket)  # the file appears: sfbd is told, and refused
            self.addCleanup(os.unlink, self.pw.socket)
            self.wait_for(lambda: "socket is there but refused us" in self.daemon_log(),
                          "sfbd's refused attempt to connect to PipeWire")
            server.listen(1)
            server.settimeout(TIMEOUT)
            connection, _ = server.accept()
            with connection:
                pid = int.from_bytes(connection.getsockopt(
                    socket.SOL_SOCKET, socket.SO_PEERCRED, 12)[:4], "little")
        self.assertEqual(pid, process.pid)


if __name__ == "__main__":
    unittest.main(verbosity=2)
