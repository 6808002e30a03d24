# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd-applet in a real tray: xfce4-panel's systray plugin (a
StatusNotifierWatcher and host) under Xvfb, on the test's private bus.

The panel holds only the systray plugin.  A screenshot before the applet
starts and one after are compared in the panel's area: the icon must have
appeared.  Then the real sfbd signs alice in to sfbsim (inside
build-aux/testnet, see sim_fixture.py) and the icon drawn in the tray must
turn green (user-available), where before it had no green at all
(user-offline is grey).  The screenshots are saved as PNG artifacts in
SFBD_ARTIFACT_DIR.  Needs the Debian packages xvfb, xfce4-panel and
x11-apps (xwd), which build-aux/install-deps installs; a missing one fails
the test.
"""

import os
import shutil
import struct
import subprocess
import time
import unittest
import zlib

import sim_fixture

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

from sfbd_testcase import ACCOUNT, TIMEOUT, SfbdTestCase, required_path  # noqa: E402

XFCONFD = "/usr/lib/x86_64-linux-gnu/xfce4/xfconf/xfconfd"
PANEL_HEIGHT = 32
SCREEN = (480, 96)

PANEL_XML = """<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="{size}"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
"""


def setUpModule():
    sim_fixture.start("tray")


def tearDownModule():
    sim_fixture.stop()


def is_green(pixel):
    """A clearly green pixel, as user-available is drawn (the theme's icon or the
    applet's own disc); user-offline and the panel are grey."""
    r, g, b = pixel
    return g >= 100 and g >= r + 40 and g >= b + 40


def read_xwd(data):
    """(width, height, rows of RGB bytes) of a 24/32-bit ZPixmap xwd dump."""
    header = struct.unpack(">25I", data[:100])
    header_size, width, height = header[0], header[4], header[5]
    byte_order, bytes_per_line, ncolors = header[7], header[12], header[19]
    if header[2] != 2 or bytes_per_line < width * 4:
        raise AssertionError(f"unexpected xwd format {header[:13]}")
    pixels = data[header_size + ncolors * 12:]
    rows = []
    for y in range(height):
        row = pixels[y * bytes_per_line:y * bytes_per_line + width * 4]
        if byte_order == 0:  # LSBFirst: B G R x
            rows.append(bytes(b for i in range(0, len(row), 4)
                              for b in (row[i + 2], row[i + 1], row[i])))
        else:  # MSBFirst: x R G B
            rows.append(bytes(b for i in range(0, len(row), 4) for b in row[i + 1:i + 4]))
    return width, height, rows


def write_png(path, width, rows):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    raw = b"".join(b"\0" + row for row in rows)
    with open(path, "wb") as png:
        png.write(b"\x89PNG\r\n\x1a\n"
                  + chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0))
                  + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class TestTray(SfbdTestCase):
    START_DAEMON = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.applet_path = required_path("SFBD_APPLET_PATH")
        missing = [tool for tool in ("Xvfb", "xfce4-panel", "xwd") if shutil.which(tool) is None]
        if not os.path.exists(XFCONFD):
            missing.append(XFCONFD)
        if missing:
            raise RuntimeError(f"missing {', '.join(missing)}: run build-aux/install-deps "
                               "(Debian packages xvfb, xfce4-panel, x11-apps)")
        cls.artifact_dir = os.environ.get("SFBD_ARTIFACT_DIR") or os.getcwd()

    def spawn(self, name, argv):
        log_path = os.path.join(self.tmp, f"{name}.log")
        self.log_paths.append(log_path)
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT)
        self.daemons.append(process)
        return process

    def start_xvfb(self):
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-nolisten", "tcp",
             "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24"],
            pass_fds=(write_fd,), env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.daemons.append(xvfb)
        os.close(write_fd)
        with os.fdopen(read_fd) as display_pipe:
            display = display_pipe.readline().strip()
        self.assertTrue(display, "Xvfb did not say its display")
        self.env["DISPLAY"] = f":{display}"

    def screenshot(self):
        result = subprocess.run(["xwd", "-root", "-silent"], env=self.env, capture_output=True,
                                timeout=TIMEOUT, check=True)
        width, _, rows = read_xwd(result.stdout)
        return width, rows[:PANEL_HEIGHT]

    def watcher_items(self):
        try:
            reply = self.bus.call_sync(
                "org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher",
                "org.freedesktop.DBus.Properties", "Get",
                GLib.Variant("(ss)", ("org.kde.StatusNotifierWatcher",
                                      "RegisteredStatusNotifierItems")),
                None, Gio.DBusCallFlags.NO_AUTO_START, TIMEOUT * 1000, None)
        except GLib.Error:
            return None
        return reply.unpack()[0]

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        self.fail(f"timed out waiting for {what}")

    def test_icon_appears_in_xfce4_panel(self):
        panel_config = os.path.join(self.env["XDG_CONFIG_HOME"], "xfce4", "xfconf",
                                    "xfce-perchannel-xml")
        os.makedirs(panel_config)
        with open(os.path.join(panel_config, "xfce4-panel.xml"), "w", encoding="utf-8") as xml:
            xml.write(PANEL_XML.format(size=PANEL_HEIGHT))
        self.env["HOME"] = self.tmp
        self.start_xvfb()
        self.spawn("xfconfd", [XFCONFD])
        self.spawn("xfce4-panel", ["xfce4-panel", "--disable-wm-check"])
        self.wait_for(lambda: self.watcher_items() is not None,
                      "xfce4-panel's StatusNotifierWatcher")

        width, before = self.screenshot()
        write_png(os.path.join(self.artifact_dir, "applet-tray-before.png"), width, before)
        self.spawn("sfbd-applet", [self.applet_path, "--verbose"])
        self.wait_for(self.watcher_items, "the applet's registration with the panel")

        def changed_pixels():
            _, rows = self.screenshot()
            self.after = rows
            return sum(1 for y in range(PANEL_HEIGHT) for x in range(width)
                       if rows[y][x * 3:x * 3 + 3] != before[y][x * 3:x * 3 + 3])

        # an icon is at least a few dozen pixels
        self.wait_for(lambda: changed_pixels() >= 40, "the icon to be drawn in the tray")
        write_png(os.path.join(self.artifact_dir, "applet-tray.png"), width, self.after)
        self.assertEqual(self.green_pixels(self.after, width), 0,
                         "the icon is green while sfbd is not running")

        # the real sfbd signs alice in to sfbsim: the icon turns green
        sim_fixture.reset()
        self.start_daemon()
        self.configure({"Account.Uri": GLib.Variant("s", "sip:alice@contoso.test"),
                        "Account.Login": GLib.Variant("s", "CONTOSO\\alice"),
                        "Account.Server": GLib.Variant("s", "director.contoso.test"),
                        "TLS.CAFile": GLib.Variant("s", sim_fixture.SIM["env"]["SFBSIM_CA_FILE"]),
                        "Secrets.Store": GLib.Variant("s", "file")})
        self.call(ACCOUNT, "SetPassword", ("Passw0rd!", True), "(sb)")
        self.call(ACCOUNT, "SignIn")
        self.wait_for(lambda: self.get_property(ACCOUNT, "State") == "signed-in", "signed in")

        def green():
            _, rows = self.screenshot()
            self.after = rows
            return self.green_pixels(rows, width) >= 40

        try:
            self.wait_for(green, "a green (available) icon in the tray")
        finally:
            write_png(os.path.join(self.artifact_dir, "applet-tray-signed-in.png"), width,
                      self.after)

    @staticmethod
    def green_pixels(rows, width):
        return sum(1 for row in rows for x in range(width) if is_green(row[x * 3:x * 3 + 3]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
