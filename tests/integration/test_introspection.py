#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The running sfbd exports exactly the API of dbus/*.xml."""

import unittest

import sfbd_testcase
from sfbd_testcase import INTERFACE_PREFIX, INTERFACES, OBJECT_PATH, SfbdTestCase


class IntrospectionTest(SfbdTestCase):
    def introspect(self):
        xml_text = self.call("org.freedesktop.DBus.Introspectable", "Introspect")[0]
        return sfbd_testcase.parse_interfaces(xml_text)

    def test_xml_defines_the_seven_interfaces(self):
        self.assertEqual(sorted(sfbd_testcase.xml_interfaces()), sorted(INTERFACES))

    def test_object_exports_exactly_the_xml_interfaces(self):
        exported = {name for name in self.introspect() if name.startswith(INTERFACE_PREFIX)}
        self.assertEqual(exported, set(sfbd_testcase.xml_interfaces()),
                         f"interfaces of {OBJECT_PATH} differ from dbus/*.xml")

    def test_each_interface_matches_its_xml(self):
        exported = self.introspect()
        for name, expected in sfbd_testcase.xml_interfaces().items():
            for part in ("methods", "properties", "signals"):
                with self.subTest(interface=name, part=part):
                    self.assertIn(name, exported)
                    self.assertEqual(exported[name][part], expected[part])

    def test_every_property_is_readable_with_its_type(self):
        for name, expected in sfbd_testcase.xml_interfaces().items():
            values = self.call("org.freedesktop.DBus.Properties", "GetAll", (name,), "(s)",
                               unpack=False).get_child_value(0)
            types = {values.get_child_value(i).get_child_value(0).get_string():
                     values.get_child_value(i).get_child_value(1).get_variant().get_type_string()
                     for i in range(values.n_children())}
            wanted = {prop: signature for prop, (signature, access) in
                      expected["properties"].items() if "read" in access}
            with self.subTest(interface=name):
                self.assertEqual(types, wanted)


if __name__ == "__main__":
    unittest.main(verbosity=2)
