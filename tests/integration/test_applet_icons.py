#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The applet's own status icons (client/applet/icons), rendered: each has
the colour documented in client/applet/sfb-sni-item.c (people and the tray
test rely on it) and no two look the same."""

import collections
import os
import unittest

import gi

gi.require_version("GdkPixbuf", "2.0")
from gi.repository import GdkPixbuf  # noqa: E402

from sfbd_testcase import required_path  # noqa: E402

# icon: its main colour (RGB), as documented in client/applet/sfb-sni-item.c
COLOURS = {
    "sfbd-available": (60, 176, 67),
    "sfbd-busy": (217, 48, 37),
    "sfbd-dnd": (217, 48, 37),
    "sfbd-be-right-back": (242, 177, 0),
    "sfbd-away": (242, 177, 0),
    "sfbd-off-work": (142, 68, 173),
    "sfbd-appear-offline": (128, 128, 128),
    "sfbd-signed-out": (128, 128, 128),
    "sfbd-not-running": (128, 128, 128),
    "sfbd-not-answering": (128, 128, 128),
    "sfbd-connecting": (91, 141, 214),
    "sfbd-reconnecting": (242, 140, 0),
    "sfbd-failed": (217, 48, 37),
}
SIZE = 32


def render(path):
    """{(x, y): (r, g, b)} of the opaque pixels of the icon at SIZE pixels."""
    pixbuf = GdkPixbuf.Pixbuf.new_from_file_at_size(path, SIZE, SIZE)
    data = pixbuf.get_pixels()
    stride, channels = pixbuf.get_rowstride(), pixbuf.get_n_channels()
    pixels = {}
    for y in range(pixbuf.get_height()):
        for x in range(pixbuf.get_width()):
            offset = y * stride + x * channels
            if channels == 4 and data[offset + 3] < 250:
                continue
            pixels[(x, y)] = tuple(data[offset:offset + 3])
    return pixels


class IconTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = os.path.join(required_path("SFBD_APPLET_ICON_THEME_PATH"), "hicolor",
                                     "scalable", "status")
        cls.rendered = {name: render(os.path.join(cls.directory, name + ".svg"))
                        for name in COLOURS}

    def test_every_shipped_icon_is_known(self):
        shipped = {name[:-len(".svg")] for name in os.listdir(self.directory)}
        self.assertEqual(shipped, set(COLOURS))

    def test_main_colour_is_the_documented_one(self):
        for name, colour in COLOURS.items():
            with self.subTest(icon=name):
                pixels = self.rendered[name]
                self.assertGreater(len(pixels), SIZE * SIZE // 5, "the icon is nearly empty")
                main, _ = collections.Counter(pixels.values()).most_common(1)[0]
                self.assertEqual(main, colour)

    def test_no_two_icons_look_the_same(self):
        names = sorted(COLOURS)
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                with self.subTest(first=first, second=second):
                    a, b = self.rendered[first], self.rendered[second]
                    differing = sum(1 for xy in set(a) | set(b) if a.get(xy) != b.get(xy))
                    # at least a mark's worth of pixels (a bar, a cross, a ring's hole)
                    self.assertGreater(differing, SIZE * SIZE // 20)


if __name__ == "__main__":
    unittest.main(verbosity=2)
