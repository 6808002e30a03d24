# SPDX-License-Identifier: LGPL-2.1-or-later
"""A python3-dbusmock template of org.sfbd.Sfbd: a MOCK, not sfbd.

test_applet.py drives every state with the real sfbd and sfbsim; this
stand-in is kept only for what the real sfbd cannot produce (a State value
the applet does not know, as a newer sfbd might send; Exchange values chosen
exactly, and text the real sfbd would have cleaned).  It carries the
Account, Presence and Exchange properties of dbus/*.xml, starts signed in
with Exchange connected (EXCHANGE below: a meeting on, 2 unread voicemails,
3 missed conversations; the "Exchange" parameter overrides some), and its
methods change the properties the way the API documents (SetAvailability
publishes the new availability, SignOut signs out, SignIn and Reconnect
sign in again).  Tests move it to other states with the mock interface's
UpdateProperties and read the calls it received with GetMethodCalls.

Run: /usr/bin/python3 -m dbusmock --session --template sfbd_mock.py
"""

import dbus

BUS_NAME = "org.sfbd.Sfbd"
MAIN_OBJ = "/org/sfbd/Sfbd"
MAIN_IFACE = "org.sfbd.Sfbd1.Account"
PRESENCE_IFACE = "org.sfbd.Sfbd1.Presence"
EXCHANGE_IFACE = "org.sfbd.Sfbd1.Exchange"
SYSTEM_BUS = False

CODES = {"online": 3500, "busy": 6500, "do-not-disturb": 9500, "be-right-back": 12500,
         "away": 15500, "off-work": 15500, "appear-offline": 18500}

# 2023-11-14 22:13:20 UTC for an hour: fixed, so tests can name the times
MEETING_START = 1700000000000000
MEETING_END = MEETING_START + 3600 * 1000000
EXCHANGE = {
    "State": "connected",
    "LastError": "",
    "EwsUrl": "https://mail.contoso.test/EWS/Exchange.asmx",
    "InMeeting": True,
    "CurrentMeeting": {"Subject": "Weekly sync", "Location": "Room 1",
                       "Start": MEETING_START, "End": MEETING_END},
    "NextMeeting": {},
    "OutOfOffice": False,
    "OutOfOfficeMessage": "",
    "UnreadVoicemails": 2,
    "MissedConversations": 3,
    "LineUri": "tel:+14255550100;ext=100",
    "UmUrl": "https://mail.contoso.test/UnifiedMessaging/Service.asmx",
}


def meeting(value):
    """A meeting of JSON values as the a{sv} of the API."""
    converted = {key: dbus.Int64(item) if key in ("Start", "End") else dbus.String(item)
                 for key, item in value.items()}
    return dbus.Dictionary(converted, signature="sv")


def exchange_properties(overrides):
    values = dict(EXCHANGE, **overrides)
    properties = {}
    for name, value in values.items():
        if name in ("CurrentMeeting", "NextMeeting"):
            properties[name] = meeting(value)
        elif isinstance(value, bool):
            properties[name] = dbus.Boolean(value)
        elif isinstance(value, int):
            properties[name] = dbus.UInt32(value)
        else:
            properties[name] = dbus.String(value)
    return properties


SIGNED_IN = ("self.UpdateProperties('org.sfbd.Sfbd1.Account', "
             "{'State': 'signed-in', 'LastError': '', 'LastErrorMessage': '', "
             "'ReconnectAttempts': dbus.UInt32(0)})")


def load(mock, parameters):
    mock.AddProperties(MAIN_IFACE, {
        "Version": "0.1.0-mock",
        "State": parameters.get("State", "signed-in"),
        "Uri": "sip:alice@contoso.test",
        "Login": "CONTOSO\\alice",
        "Server": "pool01.contoso.test:5061",
        "ServerVersion": "RTC/7.0",
        "AuthMethod": "ntlm",
        "AccessLocation": "internal",
        "LocalAddress": "127.0.0.1:40000",
        "Interface": "lo",
        "SignedInSince": dbus.UInt64(1700000000000000),
        "LastError": "",
        "LastErrorMessage": "",
        "ReconnectAttempts": dbus.UInt32(0),
    })
    mock.AddProperties(PRESENCE_IFACE, {
        "Availability": "online",
        "AvailabilityCode": dbus.UInt32(3500),
        "Activity": "",
        "Note": "Working from Oslo",
    })
    trace = ("ret = [{'Stage': 'discovery', 'StartedAt': dbus.UInt64(1700000000000000), "
             "'Duration': dbus.UInt64(120000), 'Result': 'ok', "
             "'Detail': 'lyncdiscoverinternal.contoso.test'}, "
             "{'Stage': 'authentication', 'StartedAt': dbus.UInt64(1700000000120000), "
             "'Duration': dbus.UInt64(45000), 'Result': 'ok', "
             "'Detail': 'NTLM'}]")
    codes = repr(CODES)
    mock.AddMethods(MAIN_IFACE, [
        ("SignIn", "", "", SIGNED_IN),
        ("SignOut", "", "",
         "self.UpdateProperties('org.sfbd.Sfbd1.Account', {'State': 'signed-out'}); "
         "self.UpdateProperties('org.sfbd.Sfbd1.Presence', {'Availability': 'offline', "
         "'AvailabilityCode': dbus.UInt32(0)})"),
        ("Reconnect", "", "", SIGNED_IN),
        ("GetSignInTrace", "", "aa{sv}", trace),
    ])
    mock.AddProperties(EXCHANGE_IFACE, exchange_properties(parameters.get("Exchange", {})))
    # the rest of what `sfbctl status` reads, empty
    mock.AddProperties("org.sfbd.Sfbd1.Contacts", {
        "Count": dbus.UInt32(0), "Revision": dbus.UInt32(0), "UcsMode": "",
        "Cached": dbus.Boolean(False)})
    mock.AddProperties("org.sfbd.Sfbd1.DialPlan", {
        "Name": "", "ExternalAccessPrefix": "", "OptimizeDeviceDialing": dbus.Boolean(False),
        "Rules": dbus.Array([], signature="a{sv}"), "Cached": dbus.Boolean(False)})
    mock.AddProperties("org.sfbd.Sfbd1.Policies", {
        "Groups": dbus.Array([], signature="s"), "Cached": dbus.Boolean(False)})
    mock.AddProperties("org.sfbd.Sfbd1.Devices", {
        "AudioOutput": "", "AudioInput": "", "VideoInput": ""})
    mock.AddMethods(EXCHANGE_IFACE, [("Refresh", "", "", "")])
    mock.AddMethods(PRESENCE_IFACE, [
        ("SetAvailability", "s", "",
         "self.UpdateProperties('org.sfbd.Sfbd1.Presence', {'Availability': args[0], "
         f"'AvailabilityCode': dbus.UInt32({codes}.get(args[0], 0))}})"),
        ("SetNote", "s", "", "self.UpdateProperties('org.sfbd.Sfbd1.Presence', {'Note': args[0]})"),
    ])
