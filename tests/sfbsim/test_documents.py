# SPDX-License-Identifier: LGPL-2.1-or-later
"""sim/documents.py: the post-sign-in XML documents, built from the default scenario.

Well-formedness everywhere; XSD validity where tests/data/ms-pres-xsd has a schema
(categories, batch subscription); the seed's dial plan and policy list.  A missing schema
file, a schema whose target namespace changed, or a document outside the schema's namespace
fails; nothing here is skipped."""

import os
import xml.etree.ElementTree as ET

import pytest

from sim import documents as D
from sim.scenario import Scenario

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.join(HERE, "scenarios", "default.toml")
XSD_DIR = os.environ.get("SFBD_MS_PRES_XSD") or os.path.normpath(
    os.path.join(HERE, "..", "data", "ms-pres-xsd"))

#: schema file -> its target namespace (the namespace of the documents it validates)
XSD_NAMESPACES = {
    "Categories.xsd": "http://schemas.microsoft.com/2006/09/sip/categories",
    "categoryList.xsd": "http://schemas.microsoft.com/2006/09/sip/categorylist",
    "BatchSubscribeRequest.xsd": "http://schemas.microsoft.com/2006/01/sip/batch-subscribe",
    "RichPresenceCommon.xsd": "http://schemas.microsoft.com/2006/09/sip/rich-presence-common",
}

#: the location profile the seed's client log shows (seeds/000, "Response received"),
#: typographic quotes of the article replaced by ASCII ones
SEED_PROFILE = "".join((
    '<LocationProfileDescription '
    'xmlns="http://schemas.microsoft.com/2007/03/locationProfileDescription">',
    '<Name>XXXX_dial_plan</Name>',
    *(f'<Rule><Pattern>{p}</Pattern><Translation>{t}</Translation>'
      '<InternalEnterpriseExtension>false</InternalEnterpriseExtension></Rule>'
      for p, t in ((r'^(\d{6})$', '+441785$1'), (r'^0([1-9])(\d*)$', '+44$1$2'),
                   (r'^(00)?([1-9])(\d{5,})$', '+$2$3'), (r'^(999$|112$|123$|101$)', '+$1'),
                   (r'^\+440(\d{10}\d?\d?)', '+44$1'))),
    '<ExternalAccessPrefix>9</ExternalAccessPrefix>',
    '<OptimizeDeviceDialing>true</OptimizeDeviceDialing>',
    '</LocationProfileDescription>'))

#: the batched SUBSCRIBE body SIPE sends (docs/protocol.md §11.5)
SIPE_BATCH = (
    '<batchSub xmlns="http://schemas.microsoft.com/2006/01/sip/batch-subscribe" '
    'uri="sip:alice@contoso.test" name="">\n<action name="subscribe" id="63792024">\n'
    '<adhocList>\n<resource uri="sip:bob@contoso.test"/>\n'
    '<resource uri="sip:carol@contoso.test"><context/></resource>\n</adhocList>\n'
    '<categoryList xmlns="http://schemas.microsoft.com/2006/09/sip/categorylist">\n'
    '<category name="calendarData"/>\n<category name="contactCard"/>\n'
    '<category name="note"/>\n<category name="state"/>\n</categoryList>\n'
    '</action>\n</batchSub>')


@pytest.fixture(scope="module")
def sc():
    return Scenario.load(SCENARIO)


@pytest.fixture(scope="module")
def schema():
    import lxml.etree as lxml  # python3-lxml (build-aux/install-deps): missing = failure

    def load(name):
        path = os.path.join(XSD_DIR, name)
        assert os.path.isfile(path), f"MS-PRES schema {path} is missing (SFBD_MS_PRES_XSD?)"
        tree = lxml.parse(path)
        assert tree.getroot().get("targetNamespace") == XSD_NAMESPACES[name], path
        return lxml.XMLSchema(tree)
    cache = {}

    def validate(name, data=None):
        """Validate (only load the schema when data is None); category content is processContents="lax" in Categories.xsd and the
        state/note/contactCard schemas are not among the samples, yet an xsi:type obliges a
        validator to resolve the type: so xsi:type is dropped from elements whose namespace
        has no schema here before validating (the envelope is what is checked)."""
        if name not in cache:
            cache[name] = load(name)
        if data is None:
            return
        doc = lxml.fromstring(data)
        assert lxml.QName(doc).namespace == XSD_NAMESPACES[name], \
            f"{name}: root {doc.tag} is not in {XSD_NAMESPACES[name]}"
        xsi_type = f"{{{D.NS_XSI}}}type"
        for e in doc.iter():
            if xsi_type in e.attrib and D.NS_STATE in e.tag:
                del e.attrib[xsi_type]
        ok = cache[name].validate(doc)
        assert ok, f"{name}: {cache[name].error_log}\n{data.decode()}"
    return validate


def test_every_ms_pres_schema_is_present_and_loads(schema):
    assert sorted(f for f in os.listdir(XSD_DIR) if f.endswith(".xsd")) == sorted(XSD_NAMESPACES)
    for name in XSD_NAMESPACES:
        schema(name)


def test_schema_check_refuses_a_document_without_the_namespace(schema):
    doc = D.categories("sip:erin@contoso.test", [])
    schema("Categories.xsd", doc)
    bare = doc.replace(b' xmlns="' + D.NS_CATEGORIES.encode() + b'"', b"")
    assert bare != doc
    with pytest.raises(AssertionError, match="is not in"):
        schema("Categories.xsd", bare)


# location profile ------------------------------------------------------------------------
def test_default_dial_plan_is_the_seeds_byte_for_byte(sc):
    assert D.location_profile(sc.dialplan).decode() == SEED_PROFILE


def test_location_profile_spec_namespace_and_round_trip(sc):
    dp = dict(sc.dialplan, namespace="spec")
    doc = D.location_profile(dp)
    root = ET.fromstring(doc)
    assert root.tag == "{http://schemas.microsoft.com/2007/03/LocationProfileDescription}" \
                       "LocationProfileDescription"
    for d in (doc, SEED_PROFILE.encode(),
              SEED_PROFILE.replace(' xmlns="http://schemas.microsoft.com/2007/03/'
                                   'locationProfileDescription"', "").encode()):
        p = D.parse_location_profile(d)
        assert p["name"] == "XXXX_dial_plan"
        assert [r["pattern"] for r in p["rules"]] == [r["pattern"] for r in sc.dialplan["rules"]]
        assert [r["translation"] for r in p["rules"]] == ["+441785$1", "+44$1$2", "+$2$3",
                                                          "+$1", "+44$1"]
        assert all(r["internal_extension"] is False for r in p["rules"])
        assert p["external_access_prefix"] == "9" and p["optimize_device_dialing"] is True
    with pytest.raises(D.DocumentError):
        D.parse_location_profile(b'<LocationProfileDescription xmlns="urn:other"/>')


def test_location_profile_escapes_and_optional_elements():
    dp = {"name": "a&b<c>", "rules": [{"pattern": r"^<(\d+)>&$", "translation": "+1$1",
                                       "internal_extension": True,
                                       "applicable_for_device_dialing": False}]}
    doc = D.location_profile(dp)
    assert b"a&amp;b&lt;c&gt;" in doc and b"ExternalAccessPrefix" not in doc
    p = D.parse_location_profile(doc)
    assert p["name"] == "a&b<c>" and p["rules"][0]["pattern"] == r"^<(\d+)>&$"
    assert p["rules"][0]["internal_extension"] is True
    assert p["rules"][0]["applicable_for_device_dialing"] is False
    assert "optimize_device_dialing" not in p


# provisioning ----------------------------------------------------------------------------
def _groups(sc, names=None):
    from sim import services
    st = services.State(types_sim(sc))
    return services.provisioning_groups(st, sc.users["alice"], names or list(D.PROVISION_GROUPS))


def types_sim(sc):
    class FakeSim:
        scenario = sc

        def user(self, key):
            return sc.user(key)

        def endpoints_for(self, uri):
            return []
    return FakeSim()


def test_provisioning_request_parsing():
    names, subnet = D.parse_provisioning_request(
        '<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/'
        'provisioninggrouplist" subnet="10.0.0.0"> <provisioningGroup name="ServerConfiguration"/>'
        ' <provisioningGroup name="meetingPolicy"/> <provisioningGroup name="meetingPolicy"/>'
        '</provisioningGroupList>')
    assert names == ["ServerConfiguration", "meetingPolicy"] and subnet == "10.0.0.0"
    assert D.parse_provisioning_request(b"")[0] == list(D.PROVISION_GROUPS)
    with pytest.raises(D.DocumentError):
        D.parse_provisioning_request(b"<other/>")


def test_provisioning_has_every_group_with_the_seeds_settings(sc):
    doc = D.provision_group_list(_groups(sc))
    root = ET.fromstring(doc)
    assert root.tag == f"{{{D.NS_PROV}}}provisionGroupList"
    got = D.parse_provision_group_list(doc)
    assert list(got) == list(D.PROVISION_GROUPS)  # every group a real server answers
    sv = got["ServerConfiguration"]
    # media port ranges
    assert sv["ucPortRangeEnabled"] == "true"
    assert (sv["ucMinAudioPort"], sv["ucMaxAudioPort"]) == ("50020", "50039")
    assert sv["ucMinVideoPort"] and sv["ucMinAppSharingPort"] and sv["ucMinFileTransferPort"]
    # URLs templated for alice's pool; voicemail; location; location profile GRUU
    assert sv["absInternalServerUrl"] == "https://pool1.contoso.test/abs/handler"
    assert sv["focusFactoryUri"] == "sip:alice@contoso.test;gruu;opaque=app:conf:focusfactory"
    assert sv["voiceMailUri"] == "sip:alice@contoso.test;opaque=app:voicemail"
    assert sv["lisInternalUrl"].startswith("https://pool1.contoso.test/")
    assert sv["ucLocationProfile"] == \
        "sip:alice@contoso.test;opaque=app:locationprofile:get;default;gruu"
    assert sv["enableBWPolicyCheck"] == "true"                         # CAC
    assert got["meetingPolicy"]["AllowIPAudio"] == "true"              # conferencing
    uc = got["ucPolicy"]                                               # voice policy
    assert uc["EnterpriseVoiceEnabled"] == "true"
    assert uc["PhoneRouteUsages"] == ["UK-Local", "UK-National", "UK-International"]  # PSTN
    assert uc["CallViaWorkEnabled"] == "true" and uc["VoiceMailEnabled"] == "true"
    assert got["locationPolicy"]["EnhancedEmergencyServicesEnabled"] == "true"      # E911
    assert got["locationPolicy"]["LocationRequired"] == "disclaimer"                 # location
    assert got["mediaConfiguration"]["bypassEnabled"] == "true"
    assert got["endpointConfiguration"]["EnableAppearOffline"] == "true"  # client policy
    us = got["userSetting"]                                               # user data
    assert us["ucUserLocationProfile"] == "XXXX_dial_plan"
    assert us["PhotoUrl"] == "https://pool1.contoso.test/photos/alice.jpg"
    assert got["persistentChatConfiguration"]["EnablePersistentChat"] == "false"
    assert got["presencePolicyV2"]["EnablePrivacyMode"] == "false"
    pp = ET.fromstring(got["publicProviders"]["publicProviders"])     # federation
    assert [D.local_name(e.tag) for e in pp[0]][:2] == ["Name", "ProxyFqdn"]
    assert pp[0][0].text == "Skype"


def test_provisioning_group_layouts(sc):
    root = ET.fromstring(D.provision_group_list(_groups(sc, ["ucPolicy", "userSetting",
                                                              "ServerConfiguration"])))
    uc, us, sv = list(root)
    assert [D.local_name(e.tag) for e in uc] == ["instance"]
    assert all(D.local_name(e.tag) == "property" for e in uc[0])
    assert [D.local_name(e.tag) for e in us] == ["propertyEntryList"]
    assert D.local_name(sv[0].tag) == "absWebServiceEnabled"
    usages = [p for p in uc[0] if p.get("name") == "PhoneRouteUsages"][0]
    assert [D.local_name(e.tag) for e in usages] == ["element"] * 3


# roaming contacts --------------------------------------------------------------------------
def test_contact_list_with_default_group(sc):
    doc = D.contact_list(sc.groups("alice"), sc.contacts("alice"), 7)
    got = D.parse_contacts(doc)
    assert got["kind"] == "contactList" and got["deltaNum"] == 7 and got["ucsmode"] is None
    assert [g["name"] for g in got["groups"]] == ["~", "Team", "Management", "Partners"]
    assert len(got["contacts"]) == 6
    dave = [c for c in got["contacts"] if c["uri"] == "sip:dave@contoso.test"][0]
    assert dave["groups"] == [2, 3] and dave["subscribed"] == "true"
    assert b'groups="2 3 "' in doc
    # a full list carries bare uris (real servers; SIPE prepends sip: itself)
    assert b'uri="dave@contoso.test"' in doc and b'uri="sip:' not in doc
    # a scenario without '~' gets one; a contact without groups lands in it
    got = D.parse_contacts(D.contact_list([{"id": 1, "name": "A"}],
                                          [{"uri": "sip:x@y.test"}], 1))
    assert got["groups"][0] == {"id": 2, "name": "~"} and got["contacts"][0]["groups"] == [2]
    got = D.parse_contacts(D.contact_list(sc.groups("alice"), sc.contacts("alice"), 3,
                                          ucs_mode="migrated"))
    assert got["ucsmode"] == "migrated" and got["contacts"] == []


def test_contact_delta():
    doc = D.contact_delta([{"id": 1, "name": "~"}], 5, 4,
                          added=[{"uri": "sip:new@contoso.test", "alias": "N & <M>"}],
                          deleted=["sip:old@contoso.test"])
    got = D.parse_contacts(doc)
    assert got["kind"] == "contactDelta" and (got["deltaNum"], got["prevDeltaNum"]) == (5, 4)
    assert got["addedContact"][0]["name"] == "N & <M>"
    assert got["addedContact"][0]["groups"] == "1 "
    assert got["deletedContact"] == [{"uri": "sip:old@contoso.test"}]


# categories and roaming self ----------------------------------------------------------------
def _cats():
    person = {"name": "Erin <E> & Co", "email": "erin@contoso.test", "title": "Director",
              "phone": "+441785100200"}
    return [D.Category("contactCard", 0, 200, 1, content=D.contact_card_element(person)),
            D.Category("state", 1, 200, 4, content=D.state_element(6500, activity="busy")),
            D.Category("note", 0, 200, 2, content=D.note_element("back <soon> & later")),
            D.Category("state", 0x30000000, 2, 1, "endpoint",
                       content=D.state_element(3500, "machineState")),
            D.Category("note", None, 300, 0)]


def test_categories_valid_against_ms_pres_xsd(schema):
    doc = D.categories("sip:erin@contoso.test", _cats())
    schema("Categories.xsd", doc)
    uri, cats = D.parse_categories(doc)
    assert uri == "sip:erin@contoso.test" and len(cats) == 5
    state = cats[1].content
    assert state.get(f"{{{D.NS_XSI}}}type") == "aggregateState"
    assert state[0].text == "6500" and state[1].get("token") == "busy"
    assert cats[2].content[0].text == "back <soon> & later"
    assert cats[0].content[0][0][0].text == "Erin <E> & Co"
    assert cats[4].instance == 0 and cats[4].container == 300  # cleared form parses
    # the validator does catch a broken envelope
    bad = D.categories("sip:erin@contoso.test", [D.Category("state", 1, 40000, 1)])
    with pytest.raises(AssertionError):
        schema("Categories.xsd", bad)


def test_roaming_data_parts(schema):
    containers = {200: (3, [("sameEnterprise", None)]), 100: (1, [("federated", None)])}
    subs = [{"user": "bob@contoso.test", "displayName": "Bob", "acknowledged": False,
             "type": "sameEnterprise"}]
    doc = D.roaming_data("sip:alice@contoso.test", _cats(), containers, subs)
    root = ET.fromstring(doc)
    assert root.tag == f"{{{D.NS_ROAMING_SELF}}}roamingData"
    schema("Categories.xsd", ET.tostring(root[0]))
    got = D.parse_roaming_data(doc)
    assert got["containers"][200] == (3, [("sameEnterprise", None)])
    assert got["subscribers"][0]["acknowledged"] == "false"
    partial = D.parse_roaming_data(D.roaming_data("sip:a@b.test", None, None, subs))
    assert list(partial) == ["subscribers"]
    assert D.parse_roaming_list(b"") == {"categories", "containers", "subscribers"}
    assert D.parse_roaming_list(
        '<roamingList xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self">'
        '<roaming type="categories"/></roamingList>') == {"categories"}


def test_user_properties_carry_ddi_extension_and_um():
    e = D.user_properties_element({"line_uri": "tel:+441785100100;ext=100",
                                   "exum_url": "EUM:alice@contoso.test;phone-context=x"})
    doc = ET.fromstring(D.to_bytes(e))
    line = doc.find(f"{{{D.NS_CATEGORIES}}}lines/{{{D.NS_CATEGORIES}}}line")
    assert line.text == "tel:+441785100100;ext=100" and line.get("lineType") == "Uc"
    assert doc.find(f"{{{D.NS_CATEGORIES}}}exumURL").text.startswith("EUM:alice@")


def test_publish_parsing_and_fault():
    body = ('<publish xmlns="http://schemas.microsoft.com/2006/09/sip/rich-presence">'
            '<publications uri="sip:alice@contoso.test">'
            '<publication categoryName="state" instance="906391356" container="2" version="3"'
            ' expireType="endpoint"><state xmlns="http://schemas.microsoft.com/2006/09/sip/state"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" manual="false"'
            ' xsi:type="machineState"><availability>3500</availability></state></publication>'
            '<publication categoryName="note" instance="0" container="200" version="0"'
            ' expireType="static" expires="0"/></publications></publish>')
    uri, pubs = D.parse_publish(body)
    assert uri == "sip:alice@contoso.test" and len(pubs) == 2
    assert pubs[0].key == ("state", 906391356, 2) and pubs[0].version == 3
    assert D.local_name(pubs[0].content.tag) == "state" and pubs[1].expires == 0
    for bad in (b"<publish/>", b'<publish><publications><publication/></publications></publish>',
                b'<publish><publications><publication categoryName="x" container="99999"/>'
                b'</publications></publish>'):
        with pytest.raises(D.DocumentError):
            D.parse_publish(bad)
    code, ops = D.parse_fault(D.fault_wrong_delta([(1, 0, 2), (3, 1, 5)]))
    assert code == "Client.BadCall.WrongDelta" and ops == [(1, 0, 2), (3, 1, 5)]
    assert D.fault_wrong_delta([(1, 0, 2)]).startswith(b"<Fault><Faultcode>")


def test_container_and_subscriber_requests():
    got = D.parse_set_container_members(
        '<setContainerMembers '
        'xmlns="http://schemas.microsoft.com/2006/09/sip/container-management">'
        '<container id="200" version="0"><member action="add" type="sameEnterprise"/></container>'
        '<container id="100" version="2"><member action="remove" type="user" value="x@y.test"/>'
        '</container></setContainerMembers>')
    assert got == [(200, 0, [("add", "sameEnterprise", None)]),
                   (100, 2, [("remove", "user", "x@y.test")])]
    assert D.parse_set_subscribers(
        '<setSubscribers xmlns="http://schemas.microsoft.com/2006/09/sip/presence-subscribers">'
        '<subscriber user="bob@contoso.test" acknowledged="true"/></setSubscribers>') == \
        [("bob@contoso.test", True)]


# batched presence ---------------------------------------------------------------------------
def test_sipe_batch_subscription_is_schema_valid_and_parsed(schema):
    schema("BatchSubscribeRequest.xsd", SIPE_BATCH.encode())
    action, uris, cats, ctx = D.parse_batch_subscribe(SIPE_BATCH)
    assert action == "subscribe"
    assert uris == ["sip:bob@contoso.test", "sip:carol@contoso.test"]
    assert cats == ["calendarData", "contactCard", "note", "state"]
    assert ctx == {"sip:bob@contoso.test": False, "sip:carol@contoso.test": True}
    adrl = ('<adhoclist xmlns="urn:ietf:params:xml:ns:adrl" uri="sip:a@b.test" name="sip:a@b.test">'
            '<create xmlns=""><resource uri="sip:c@b.test"/></create></adhoclist>')
    assert D.parse_batch_subscribe(adrl)[1] == ["sip:c@b.test"]


def test_rlmi_multipart_round_trip(schema):
    cats = D.categories("sip:bob@contoso.test", _cats()[:3])
    rlmi = D.rlmi_list("sip:alice@contoso.test", 0, True, [
        ("sip:bob@contoso.test", "a1", "active", "bob-cid", None),
        ("sip:eve@contoso.test", "0", "resubscribe", None, {"poolFqdn": "pool2.contoso.test"})])
    body, ctype = D.multipart_related([(D.CT_RLMI, "rlmi-1", rlmi),
                                       (D.CT_CATEGORIES, "bob-cid", cats)], "b0undary")
    assert ctype == ('multipart/related; type="application/rlmi+xml"; start="<rlmi-1>"; '
                     'boundary="b0undary"')
    # each part ends with an empty line (real servers; libpurple's MIME parser needs it)
    assert body.count(b"\r\n\r\n--b0undary") == 2
    parts = D.parse_multipart(body, ctype)
    assert [h["content-type"] for h, _ in parts] == [D.CT_RLMI, D.CT_CATEGORIES]
    assert parts[1][0]["content-id"] == "<bob-cid>" and parts[1][1] == cats
    schema("Categories.xsd", parts[1][1])
    got = D.parse_rlmi(parts[0][1])
    assert got["fullState"] == "true" and got["resources"][0][1]["cid"] == "bob-cid"
    assert got["resources"][1][1] == {"id": "0", "state": "resubscribe",
                                      "poolFqdn": "pool2.contoso.test"}


def test_hostile_documents_are_refused():
    with pytest.raises(D.DocumentError):
        D.parse_xml(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(D.DocumentError):
        D.parse_xml(b"<x>" + b"a" * (D.MAX_DOCUMENT_BYTES + 1) + b"</x>")
    with pytest.raises(D.DocumentError):
        D.parse_xml(b"<x><y></x>")
    with pytest.raises(D.DocumentError):
        D.parse_xml(b"  ")
