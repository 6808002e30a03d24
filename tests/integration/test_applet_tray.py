# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbd-applet in a real tray: xfce4-panel's systray plugin (a
StatusNotifierWatcher and host) under Xvfb, on the test's private bus.

The panel holds only the systray plugin.  A screenshot before the applet
starts is compared with later ones in the panel's area: the pixels that
changed are the icon.  Its colours must be those ICON_COLOURS gives for the
state: grey while sfbd is not running, green once the real sfbd has signed
alice in to sfbsim (inside build-aux/testnet, see sim_fixture.py), red once
she is busy; and none of the wrong colours may show.  The screenshots are
decoded as their xwd header says, and saved as PNG artifacts in
SFBD_ARTIFACT_DIR (applet-tray-STATE.png).  TestXwdAndColourCheck shows,
without X, that the decoding follows the header and that deliberately wrong
icons fail the check.  Needs the Debian packages xvfb, xfce4-panel and
x11-apps (xwd), which build-aux/install-deps installs; a missing one fails
the test.
"""

import collections
import colorsys
import os
import shutil
import struct
import subprocess
import unittest
import zlib

import sim_fixture

sim_fixture.enter_testnet(__file__)

from gi.repository import Gio, GLib  # noqa: E402

from sfbd_testcase import ACCOUNT, PRESENCE, TIMEOUT, SfbdTestCase, required_path  # noqa: E402

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


# ---- the colour of the icon ----
#
# What the icon of each state must look like: one colour it must show, and
# the colours it must not show anywhere.  Update this table when the
# applet's icons change (today the tray draws the Adwaita icon the applet
# names: user-available green, user-busy red, user-offline grey).
ICON_COLOURS = {
    # state: (colour it shows, colours it must not show)
    "not-running": ("grey", ("green", "red", "yellow", "purple")),
    "available": ("green", ("red", "yellow", "purple")),
    "busy": ("red", ("green", "yellow", "purple")),
}

# How a pixel of each colour looks, antialiased edges included: by hue
# (degrees) when it is saturated and bright enough to have one.  The ranges
# leave gaps (orange, blue) so that a colour is never taken for its neighbour.
HUES = {
    "red": ((335, 360), (0, 20)),
    "yellow": ((35, 70),),
    "green": ((75, 170),),
    "purple": ((260, 330),),
}


def colour_of(r, g, b):
    """The name of the colour of an (r, g, b) pixel, or None."""
    hue, saturation, value = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
    if saturation < 0.15 and 0.15 <= value <= 0.85:
        return "grey"
    if saturation < 0.35 or value < 0.35:
        return None
    degrees = hue * 360
    for name, ranges in HUES.items():
        if any(low <= degrees < high for low, high in ranges):
            return name
    return None


ICON_MIN_PIXELS = 40  # an icon is at least a few dozen pixels of its colour


def icon_pixels(before, after, width):
    """The (r, g, b) of every pixel that differs between two screenshots of
    the panel: the icon, without the panel's own colours."""
    pixels = []
    for old_row, row in zip(before, after):
        for x in range(width):
            pixel = row[x * 3:x * 3 + 3]
            if pixel != old_row[x * 3:x * 3 + 3]:
                pixels.append(tuple(pixel))
    return pixels


def icon_colour_problems(pixels, state):
    """What is wrong with the icon's pixels for state (ICON_COLOURS); empty
    when the icon shows its colour and none of the wrong ones."""
    expected, wrong = ICON_COLOURS[state]
    found = collections.Counter(colour_of(*pixel) for pixel in pixels)
    counts = {name: found[name] for name in (expected, *wrong)}
    problems = []
    if counts[expected] < ICON_MIN_PIXELS:
        problems.append(f"{counts[expected]} {expected} pixels, expected at least "
                        f"{ICON_MIN_PIXELS}")
    problems += [f"{counts[name]} {name} pixels" for name in wrong if counts[name]]
    return problems


# ---- xwd ----

class XwdError(ValueError):
    pass


XWD_HEADER = struct.Struct(">25I")
XWD_COLOR = struct.Struct(">IHHHBx")
ZPIXMAP = 2
TRUE_COLOR, DIRECT_COLOR = 4, 5
LSB_FIRST = 0


def _channel(mask):
    """(shift, maximum) of a visual's channel mask."""
    if mask == 0:
        raise XwdError("an empty channel mask")
    shift = (mask & -mask).bit_length() - 1
    maximum = mask >> shift
    if maximum & (maximum + 1):
        raise XwdError(f"a channel mask with holes: {mask:#x}")
    return shift, maximum


def read_xwd(data, max_rows=None):
    """(width, height, rows of RGB bytes) of an xwd dump, decoded as its
    header says (X11 XWDFile.h): a ZPixmap of a TrueColor or DirectColor
    visual, 16, 24 or 32 bits per pixel, either byte order, rows
    bytes_per_line apart after the header and the colormap.  Raises
    XwdError for anything else rather than guessing.  max_rows: decode only
    the top rows."""
    if len(data) < XWD_HEADER.size:
        raise XwdError(f"{len(data)} bytes: shorter than an xwd header")
    (header_size, version, pixmap_format, depth, width, height, _xoffset, byte_order,
     _bitmap_unit, _bit_order, _bitmap_pad, bits_per_pixel, bytes_per_line, visual_class,
     red_mask, green_mask, blue_mask, _bits_per_rgb, _colormap_entries, ncolors,
     *_window) = XWD_HEADER.unpack_from(data)
    if version != 7 or header_size < XWD_HEADER.size:
        raise XwdError(f"not an xwd version 7 dump (version {version}, header {header_size})")
    if pixmap_format != ZPIXMAP or visual_class not in (TRUE_COLOR, DIRECT_COLOR):
        raise XwdError(f"pixmap format {pixmap_format}, visual class {visual_class}: "
                       "only ZPixmap of TrueColor or DirectColor is decoded")
    if bits_per_pixel not in (16, 24, 32) or depth > bits_per_pixel:
        raise XwdError(f"depth {depth} at {bits_per_pixel} bits per pixel")
    pixel_bytes = bits_per_pixel // 8
    if bytes_per_line < width * pixel_bytes:
        raise XwdError(f"{bytes_per_line} bytes per line for {width} pixels of {pixel_bytes}")
    colormap_end = header_size + ncolors * XWD_COLOR.size
    if len(data) < colormap_end + bytes_per_line * height:
        raise XwdError(f"{len(data)} bytes: the image is cut short")
    channels = [_channel(mask) for mask in (red_mask, green_mask, blue_mask)]
    # a DirectColor pixel indexes the colormap per channel
    tables = [[value * 255 // maximum for value in range(maximum + 1)]
              for _shift, maximum in channels]
    if visual_class == DIRECT_COLOR:
        for i in range(ncolors):
            pixel, *rgb, _flags = XWD_COLOR.unpack_from(data, header_size + i * XWD_COLOR.size)
            for table, (shift, maximum), value in zip(tables, channels, rgb):
                table[(pixel >> shift) & maximum] = value >> 8
    order = "little" if byte_order == LSB_FIRST else "big"
    rows = []
    for y in range(height if max_rows is None else min(height, max_rows)):
        start = colormap_end + y * bytes_per_line
        row = bytearray()
        for x in range(start, start + width * pixel_bytes, pixel_bytes):
            pixel = int.from_bytes(data[x:x + pixel_bytes], order)
            row += bytes(table[(pixel >> shift) & maximum]
                         for table, (shift, maximum) in zip(tables, channels))
        rows.append(bytes(row))
    return width, height, rows


def make_xwd(rows, bits_per_pixel=24, byte_order=LSB_FIRST, masks=(0xFF0000, 0xFF00, 0xFF),
             pad=0, visual_class=TRUE_COLOR):
    """An xwd dump of rows of (r, g, b) pixels, as an X server with this
    pixel layout would write it: to test read_xwd without one."""
    width, height = len(rows[0]), len(rows)
    pixel_bytes = bits_per_pixel // 8
    bytes_per_line = width * pixel_bytes + pad
    name = b"test\0"
    order = "little" if byte_order == LSB_FIRST else "big"
    image = bytearray()
    for row in rows:
        for pixel in row:
            value = 0
            for mask, channel in zip(masks, pixel):
                shift = (mask & -mask).bit_length() - 1
                value |= (channel * (mask >> shift) // 255) << shift
            image += value.to_bytes(pixel_bytes, order)
        image += b"\xee" * pad
    header = XWD_HEADER.pack(
        XWD_HEADER.size + len(name), 7, ZPIXMAP, 24 if bits_per_pixel > 16 else 16,
        width, height, 0, byte_order, 32, byte_order, 8, bits_per_pixel, bytes_per_line,
        visual_class, *masks, 8, 0, 0, width, height, 0, 0, 0)
    return header + name + bytes(image)


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
    POLL_INTERVAL = 0.1  # screenshots and the watcher's property
    XVFB_SCREEN = SCREEN

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

    def screenshot(self):
        result = subprocess.run(["xwd", "-root", "-silent"], env=self.env, capture_output=True,
                                timeout=TIMEOUT, check=True)
        width, _, rows = read_xwd(result.stdout, max_rows=PANEL_HEIGHT)
        return width, rows

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

    def wait_for_icon(self, state, before, width):
        """Takes screenshots until the icon has the colours of state
        (ICON_COLOURS); saves the last one as applet-tray-STATE.png and
        returns the icon's pixels.  The tray tells nobody when it has
        redrawn, so this polls, within the test's WAIT."""
        shot = {}

        def problems():
            _, shot["rows"] = self.screenshot()
            shot["pixels"] = icon_pixels(before, shot["rows"], width)
            return icon_colour_problems(shot["pixels"], state)

        try:
            self.wait_for_value(problems, lambda found: found == [],
                                f"the {state} icon in the tray "
                                f"(applet-tray-{state}.png in {self.artifact_dir})")
        finally:
            if shot:
                write_png(os.path.join(self.artifact_dir, f"applet-tray-{state}.png"), width,
                          shot["rows"])
        return shot["pixels"]

    def test_icon_colours_follow_the_state(self):
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
        self.wait_for_icon("not-running", before, width)

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
        available = self.wait_for_icon("available", before, width)

        # busy: the icon turns red
        self.call(PRESENCE, "SetAvailability", ("busy",), "(s)")
        busy = self.wait_for_icon("busy", before, width)

        # DELIBERATELY WRONG ICONS: the real red icon is not an available
        # one, nor the green icon a busy one; the check must say so
        problems = icon_colour_problems(busy, "available")
        self.assertIn(f"0 green pixels, expected at least {ICON_MIN_PIXELS}", problems)
        self.assertIn(f"{sum(1 for p in busy if colour_of(*p) == 'red')} red pixels", problems)
        problems = icon_colour_problems(available, "busy")
        self.assertIn(f"0 red pixels, expected at least {ICON_MIN_PIXELS}", problems)
        self.assertIn(f"{sum(1 for p in available if colour_of(*p) == 'green')} green pixels",
                      problems)


def solid_icon(colour, size=16, background=(246, 245, 244)):
    """Rows of (r, g, b): a size x size square of colour on a panel-grey
    strip four times as wide, and the same strip without it."""
    strip = [[background] * (size * 4) for _ in range(size)]
    icon = [[colour if size <= x < size * 2 else background for x in range(size * 4)]
            for _ in range(size)]
    return strip, icon


def rgb_rows(rows):
    return [bytes(channel for pixel in row for channel in pixel) for row in rows]


class TestXwdAndColourCheck(unittest.TestCase):
    """read_xwd and icon_colour_problems on dumps made here, no X server:
    every pixel layout an X server can write, and icons of the wrong colour."""

    RED, GREEN = (0xD9, 0x30, 0x25), (0x3C, 0xB0, 0x43)

    def decode(self, rows, **layout):
        width, height, decoded = read_xwd(make_xwd(rows, **layout))
        self.assertEqual((width, height), (len(rows[0]), len(rows)))
        return decoded

    def test_decodes_every_layout(self):
        rows = [[(255, 0, 0), (0, 255, 0), (0, 0, 255), (18, 52, 86)],
                [(0, 0, 0), (255, 255, 255), (128, 64, 32), (1, 2, 3)]]
        layouts = {
            # Xvfb's root window with a panel on it: 24 bits per pixel, padded rows
            "24 bpp LSB first": dict(bits_per_pixel=24, pad=4),
            "24 bpp MSB first": dict(bits_per_pixel=24, byte_order=1),
            "32 bpp LSB first": dict(bits_per_pixel=32),
            "32 bpp MSB first": dict(bits_per_pixel=32, byte_order=1, pad=8),
            "32 bpp BGR masks": dict(bits_per_pixel=32, masks=(0xFF, 0xFF00, 0xFF0000)),
            "DirectColor": dict(bits_per_pixel=32, visual_class=DIRECT_COLOR),
        }
        for name, layout in layouts.items():
            with self.subTest(layout=name):
                self.assertEqual(self.decode(rows, **layout), rgb_rows(rows))
        # 16 bits (5-6-5) keep only the top bits of each channel
        decoded = self.decode([[(255, 0, 0), (0, 255, 0), (0, 0, 255)]], bits_per_pixel=16,
                              masks=(0xF800, 0x07E0, 0x001F))
        self.assertEqual(decoded, [bytes([255, 0, 0, 0, 255, 0, 0, 0, 255])])

    def test_rejects_what_it_cannot_decode(self):
        good = make_xwd([[(1, 2, 3)]])
        cases = {
            "too short": good[:50],
            "cut short": good[:-1],
            "8 bits per pixel": make_xwd([[(1, 2, 3)]], bits_per_pixel=8, masks=(0xE0, 0x1C, 0x3)),
            "pseudo colour": make_xwd([[(1, 2, 3)]], visual_class=3),
        }
        for name, data in cases.items():
            with self.subTest(case=name), self.assertRaises(XwdError):
                read_xwd(data)

    def test_a_right_icon_passes(self):
        for state, colour in (("available", self.GREEN), ("busy", self.RED),
                              ("not-running", (0x80, 0x80, 0x80))):
            with self.subTest(state=state):
                strip, icon = solid_icon(colour)
                before, after = (self.decode(rows, bits_per_pixel=24) for rows in (strip, icon))
                self.assertEqual(icon_colour_problems(icon_pixels(before, after, 64), state), [])

    def test_a_wrong_icon_fails(self):
        """DELIBERATELY WRONG ICONS: each must be rejected."""
        wrong = {"available": self.RED, "busy": self.GREEN, "not-running": self.GREEN}
        for state, colour in wrong.items():
            with self.subTest(state=state):
                strip, icon = solid_icon(colour)
                before, after = (self.decode(rows, bits_per_pixel=24) for rows in (strip, icon))
                problems = icon_colour_problems(icon_pixels(before, after, 64), state)
                self.assertIn(f"0 {ICON_COLOURS[state][0]} pixels, expected at least "
                              f"{ICON_MIN_PIXELS}", problems)
                self.assertTrue(any(p.endswith(f" {colour_of(*colour)} pixels")
                                    for p in problems), problems)

    def test_a_red_icon_read_four_bytes_a_pixel_looked_green(self):
        """What happened before the header was read: a 24-bit dump read as 4
        bytes per pixel turns a red icon's bytes into other colours."""
        strip, icon = solid_icon(self.RED)
        data = make_xwd(icon, bits_per_pixel=24, pad=64)
        header_end = XWD_HEADER.size + len(b"test\0")
        line = data[header_end:header_end + 64 * 3 + 64]
        # the icon is bytes 48 to 96 of the line: B G R B G R ...
        misread = {colour_of(line[i + 2], line[i + 1], line[i]) for i in range(48, 96, 4)}
        self.assertIn("green", misread)
        self.assertEqual({colour_of(*p) for p in
                          icon_pixels(self.decode(strip, bits_per_pixel=24),
                                      self.decode(icon, bits_per_pixel=24), 64)}, {"red"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
