# SPDX-License-Identifier: LGPL-2.1-or-later
"""XML documents of the post-sign-in services, built from scenario data (and parsed back).

Pure functions: no I/O, no SIP.  Everything is built as ElementTree elements in Clark
notation ({namespace}tag) and written by `to_bytes()`, which turns each namespace change
into a default `xmlns=` declaration (the way Microsoft servers write them, e.g.
`<categories xmlns="...categories"><category><state xmlns="...state">`), so user data only
ever goes in through ElementTree and is escaped there.

Documents (facts from the specs named; where the wire form is not public the choice is
marked "sfbsim choice"):

  location_profile()        MS-SIPRE 2.2.8 LocationProfileDescription (docs/protocol.md §11.6)
  provision_group_list()    MS-SIPREGE 2.2.2.5 provisionGroupList (docs/protocol.md §11.1)
  contact_list(), contact_delta()
                            MS-SIP 2.2.4.1 / 9.1 contactList / contactDelta (docs/protocol.md §11.2)
  roaming_data()            MS-PRES roamingData: categories, containers, subscribers (§11.3)
  categories()              MS-PRES categories document (schema ms-pres-xsd/Categories.xsd)
  rlmi_list(), multipart_related()
                            RFC 4662 resource list meta-information in multipart/related
                            (MS-PRES batched subscription notifications, docs/protocol.md §11.5)
  fault_wrong_delta()       MS-PRES 409 body (application/msrtc-fault+xml)

Parsers (bounded, no DTDs): parse_provisioning_request(), parse_roaming_list(),
parse_publish(), parse_batch_subscribe(), parse_set_container_members(),
parse_set_subscribers(), parse_location_profile().
"""

import copy
import datetime
import xml.etree.ElementTree as ET

# namespaces ---------------------------------------------------------------------------
NS_LP_SEED = "http://schemas.microsoft.com/2007/03/locationProfileDescription"
NS_LP_SPEC = "http://schemas.microsoft.com/2007/03/LocationProfileDescription"
NS_PROV_REQ = "http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist"
NS_PROV = "http://schemas.microsoft.com/2006/09/sip/provisiongrouplist-notification"
NS_CONTACTS = "http://schemas.microsoft.com/sip/types"
NS_ROAMING_SELF = "http://schemas.microsoft.com/2006/09/sip/roaming-self"
NS_CATEGORIES = "http://schemas.microsoft.com/2006/09/sip/categories"
NS_CONTAINERS = "http://schemas.microsoft.com/2006/09/sip/container-management"
NS_SUBSCRIBERS = "http://schemas.microsoft.com/2006/09/sip/presence-subscribers"
NS_RICH_PRESENCE = "http://schemas.microsoft.com/2006/09/sip/rich-presence"
NS_BATCH = "http://schemas.microsoft.com/2006/01/sip/batch-subscribe"
NS_CATEGORY_LIST = "http://schemas.microsoft.com/2006/09/sip/categorylist"
NS_ADRL = "urn:ietf:params:xml:ns:adrl"
NS_RLMI = "urn:ietf:params:xml:ns:rlmi"
NS_STATE = "http://schemas.microsoft.com/2006/09/sip/state"
NS_NOTE = "http://schemas.microsoft.com/2006/09/sip/note"
NS_CONTACTCARD = "http://schemas.microsoft.com/2006/09/sip/contactcard"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: prefixes used when a namespaced *attribute* has to be written (xsi:type)
ATTR_PREFIXES = {NS_XSI: "xsi"}

CT_LOCATION_PROFILE = "application/ms-location-profile-definition+xml"
CT_PROVISIONING = "application/vnd-microsoft-roaming-provisioning-v2+xml"
CT_CONTACTS = "application/vnd-microsoft-roaming-contacts+xml"
CT_ROAMING_SELF = "application/vnd-microsoft-roaming-self+xml"
CT_CATEGORY_PUBLISH = "application/msrtc-category-publish+xml"
CT_SET_CONTAINER_MEMBERS = "application/msrtc-setcontainermembers+xml"
CT_SET_SUBSCRIBERS = "application/msrtc-presence-setsubscriber+xml"
CT_FAULT = "application/msrtc-fault+xml"
CT_RLMI = "application/rlmi+xml"
CT_CATEGORIES = "application/msrtc-event-categories+xml"
CT_ADRL_CATEGORYLIST = "application/msrtc-adrl-categorylist+xml"
CT_ADRL = "application/adrl+xml"

#: every provisioning group a real SfB server answers, with the element layout of each
#: (MS-SIPREGE 2.2.2.5.x): "elements" = children named after the properties
#: (ServerConfiguration), "instance" = instance/property[@name] (meetingPolicy, ucPolicy),
#: "properties" = propertyEntryList/property[@name], "providers" = publicProviders.
PROVISION_GROUPS = {
    "ServerConfiguration": "elements",
    "meetingPolicy": "instance",
    "ucPolicy": "instance",
    "publicProviders": "providers",
    "userSetting": "properties",
    "locationPolicy": "properties",
    "mediaConfiguration": "properties",
    "endpointConfiguration": "properties",
    "presencePolicyV2": "properties",
    "persistentChatConfiguration": "properties",
}

#: limits for documents coming from clients
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_ITEMS = 5000


class DocumentError(ValueError):
    """A client document that cannot be used (malformed, too large, wrong root)."""


# serialization ------------------------------------------------------------------------
def _split(tag):
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def local_name(tag):
    return _split(tag)[1]


def _literal(elem, parent_ns):
    """A copy of `elem` with Clark names replaced by plain names and xmlns declarations."""
    ns, local = _split(elem.tag)
    out = ET.Element(local)
    if ns != parent_ns:
        out.set("xmlns", ns)
    declared = set()
    for k, v in elem.attrib.items():
        ans, alocal = _split(k)
        if ans:
            prefix = ATTR_PREFIXES.setdefault(ans, f"ns{len(ATTR_PREFIXES)}")
            if prefix not in declared:
                out.set(f"xmlns:{prefix}", ans)
                declared.add(prefix)
            out.set(f"{prefix}:{alocal}", v)
        else:
            out.set(k, v)
    out.text, out.tail = elem.text, elem.tail
    for child in elem:
        out.append(_literal(child, ns))
    return out


def to_bytes(elem, declaration=False):
    """Serialize a Clark-notation tree with default-namespace declarations, UTF-8."""
    body = ET.tostring(_literal(elem, ""), encoding="unicode", short_empty_elements=True)
    if declaration:
        body = '<?xml version="1.0" encoding="utf-8"?>' + body
    return body.encode("utf-8")


def _sub(parent, ns, tag, text=None, **attrs):
    e = ET.SubElement(parent, f"{{{ns}}}{tag}", {k: str(v) for k, v in attrs.items()
                                                 if v is not None})
    if text is not None:
        e.text = str(text)
    return e


def _bool(v):
    return "true" if v else "false"


def _value(v):
    """TOML value -> the text a server writes (booleans lower case)."""
    if isinstance(v, bool):
        return _bool(v)
    return str(v)


def iso_time(t=None):
    """publishTime form: 2024-01-23T07:50:12.873Z (UTC)."""
    t = t if t is not None else datetime.datetime.now(datetime.timezone.utc)
    if isinstance(t, (int, float)):
        t = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


# parsing ------------------------------------------------------------------------------
def parse_xml(data):
    """Parse a client document: bounded size, no DOCTYPE/ENTITY (no entity expansion)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data or not data.strip():
        raise DocumentError("empty document")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DocumentError("DTDs are not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise DocumentError(f"malformed XML: {e}") from None
    if sum(1 for _ in root.iter()) > MAX_ITEMS * 4:
        raise DocumentError("too many elements")
    return root


def _children(elem, name):
    return [c for c in elem if local_name(c.tag) == name]


def _child(elem, name):
    for c in elem:
        if local_name(c.tag) == name:
            return c
    return None


def _text(elem, name, default=None):
    c = _child(elem, name)
    return c.text.strip() if c is not None and c.text is not None else default


def _parse_bool(s):
    return None if s is None else s.strip().lower() == "true"


# location profile (MS-SIPRE 2.2.8) ----------------------------------------------------
def location_profile_namespace(dialplan):
    """The namespace the profile is written in: [dialplan] namespace = "seed" (default: the
    lower-case 'locationProfileDescription' of the seed's client log), "spec" (MS-SIPRE's
    upper-case 'LocationProfileDescription') or a namespace URI (docs/protocol.md §17.14)."""
    ns = dialplan.get("namespace", "seed")
    return {"seed": NS_LP_SEED, "spec": NS_LP_SPEC}.get(ns, ns)


def location_profile(dialplan):
    """LocationProfileDescription from the scenario's [dialplan]:

        name, external_access_prefix (optional), optimize_device_dialing (optional),
        [[dialplan.rules]] pattern, translation, internal_extension (optional, bool),
        applicable_for_device_dialing (optional, bool), namespace (see above).

    Element order follows the MS-SIPRE 2.2.8 schema: Name, Rule+, ExternalAccessPrefix?,
    OptimizeDeviceDialing?; inside Rule: Pattern, Translation, InternalEnterpriseExtension?,
    ApplicableForDeviceDialing?."""
    ns = location_profile_namespace(dialplan)
    root = ET.Element(f"{{{ns}}}LocationProfileDescription")
    _sub(root, ns, "Name", dialplan["name"])
    for rule in dialplan.get("rules", []):
        r = _sub(root, ns, "Rule")
        _sub(r, ns, "Pattern", rule["pattern"])
        _sub(r, ns, "Translation", rule["translation"])
        if "internal_extension" in rule:
            _sub(r, ns, "InternalEnterpriseExtension", _bool(rule["internal_extension"]))
        if "applicable_for_device_dialing" in rule:
            _sub(r, ns, "ApplicableForDeviceDialing",
                 _bool(rule["applicable_for_device_dialing"]))
    if dialplan.get("external_access_prefix") not in (None, ""):
        _sub(root, ns, "ExternalAccessPrefix", dialplan["external_access_prefix"])
    if "optimize_device_dialing" in dialplan:
        _sub(root, ns, "OptimizeDeviceDialing", _bool(dialplan["optimize_device_dialing"]))
    return to_bytes(root)


def parse_location_profile(data):
    """LocationProfileDescription (either namespace spelling, or none) -> dict in the
    scenario's [dialplan] shape.  Used by the tests and as a reference for clients."""
    root = parse_xml(data)
    if local_name(root.tag) != "LocationProfileDescription":
        raise DocumentError(f"root is {local_name(root.tag)}, not LocationProfileDescription")
    ns, _ = _split(root.tag)
    if ns not in ("", NS_LP_SEED, NS_LP_SPEC):
        raise DocumentError(f"unexpected namespace {ns}")
    out = {"name": _text(root, "Name"), "rules": [], "namespace": ns}
    for r in _children(root, "Rule"):
        rule = {"pattern": _text(r, "Pattern"), "translation": _text(r, "Translation", "")}
        v = _parse_bool(_text(r, "InternalEnterpriseExtension"))
        if v is not None:
            rule["internal_extension"] = v
        v = _parse_bool(_text(r, "ApplicableForDeviceDialing"))
        if v is not None:
            rule["applicable_for_device_dialing"] = v
        out["rules"].append(rule)
    eap = _text(root, "ExternalAccessPrefix")
    if eap is not None:
        out["external_access_prefix"] = eap
    odd = _parse_bool(_text(root, "OptimizeDeviceDialing"))
    if odd is not None:
        out["optimize_device_dialing"] = odd
    return out


# in-band provisioning (MS-SIPREGE 2.2.2.4/2.2.2.5) -------------------------------------
def parse_provisioning_request(data):
    """provisioningGroupList -> ([group names in request order], subnet or None).  An empty
    body asks for every group."""
    if not data or not data.strip():
        return list(PROVISION_GROUPS), None
    root = parse_xml(data)
    if local_name(root.tag) != "provisioningGroupList":
        raise DocumentError(f"root is {local_name(root.tag)}, not provisioningGroupList")
    names = []
    for g in _children(root, "provisioningGroup")[:MAX_ITEMS]:
        name = g.get("name")
        if name and name not in names:
            names.append(name)
    return names, root.get("subnet")


def _property(parent, name, value):
    p = _sub(parent, NS_PROV, "property", name=name)
    if isinstance(value, (list, tuple)):
        for v in value:  # multi-valued policy settings (PSTN usages): element children
            _sub(p, NS_PROV, "element", _value(v))
    else:
        p.text = _value(value)
    return p


def public_providers_xml(providers):
    """The PublicProviders document carried as the text of property 'publicProviders'
    (MS-SIPREGE 2.2.2.5.12; the spec shows it as CDATA, escaped text is the same data)."""
    root = ET.Element(f"{{{NS_PROV}}}PublicProviders")
    for p in providers:
        pp = _sub(root, NS_PROV, "PublicProvider")
        for key in ("Name", "ProxyFqdn", "IconUrl", "NameDecorationDomain",
                    "NameDecorationRoutingDomain", "NameDecorationExcludedDomainList"):
            if key in p:
                _sub(pp, NS_PROV, key, _value(p[key]))
    return to_bytes(root).decode("utf-8")


def provision_group(name, values):
    """One provisionGroup element; `values` is the (already templated) dict of the group."""
    kind = PROVISION_GROUPS.get(name, "properties")
    g = ET.Element(f"{{{NS_PROV}}}provisionGroup", {"name": name})
    if kind == "elements":
        for k, v in values.items():
            _sub(g, NS_PROV, k, _value(v))
    elif kind == "instance":
        inst = _sub(g, NS_PROV, "instance")
        for k, v in values.items():
            _property(inst, k, v)
    elif kind == "providers":
        pel = _sub(g, NS_PROV, "propertyEntryList")
        _sub(pel, NS_PROV, "property", public_providers_xml(values.get("providers", [])),
             name="publicProviders")
        for k, v in values.items():
            if k != "providers":
                _property(pel, k, v)
    else:
        pel = _sub(g, NS_PROV, "propertyEntryList")
        for k, v in values.items():
            _property(pel, k, v)
    return g


def provision_group_list(groups):
    """provisionGroupList from [(name, values)] in order."""
    root = ET.Element(f"{{{NS_PROV}}}provisionGroupList")
    for name, values in groups:
        root.append(provision_group(name, values))
    return to_bytes(root)


def parse_provision_group_list(data):
    """provisionGroupList -> {group: {property: value or [values]}} (for tests and as a
    reference for clients)."""
    root = parse_xml(data)
    if local_name(root.tag) != "provisionGroupList":
        raise DocumentError(f"root is {local_name(root.tag)}, not provisionGroupList")
    out = {}
    for g in _children(root, "provisionGroup"):
        name = g.get("name")
        props = {}
        kind = PROVISION_GROUPS.get(name, "properties")
        if kind == "elements":
            for c in g:
                props[local_name(c.tag)] = (c.text or "").strip()
        else:
            holder = _child(g, "instance") if kind == "instance" else \
                _child(g, "propertyEntryList")
            for p in _children(holder, "property") if holder is not None else []:
                elems = _children(p, "element")
                props[p.get("name")] = ([(e.text or "").strip() for e in elems] if elems
                                        else (p.text or "").strip())
        out[name] = props
    return out


# roaming contacts (MS-SIP 2.2.4.1, 9.1; MS-PRES appendix E) ---------------------------
DEFAULT_GROUP = "~"


def normalize_groups(groups):
    """Scenario groups plus the default group '~' when the scenario has none."""
    out = [dict(g) for g in groups]
    if not any(g.get("name") == DEFAULT_GROUP for g in out):
        used = {int(g["id"]) for g in out}
        gid = 1
        while gid in used:
            gid += 1
        out.insert(0, {"id": gid, "name": DEFAULT_GROUP})
    return out


def default_group_id(groups):
    for g in groups:
        if g.get("name") == DEFAULT_GROUP:
            return int(g["id"])
    return int(groups[0]["id"]) if groups else 1


def _contact_attrs(c, groups, bare_uri=False):
    ids = [int(i) for i in c.get("groups", [])] or [default_group_id(groups)]
    uri = c["uri"]
    if bare_uri and uri[:4].lower() == "sip:":
        uri = uri[4:]
    return {
        "uri": uri,
        "name": c.get("alias", ""),
        # MS-SIP: space-separated ids; real servers end the list with a space
        "groups": "".join(f"{i} " for i in ids),
        "subscribed": _bool(c.get("subscribed", True)),
        "externalURI": "",
    }


def contact_list(groups, contacts, delta_num, ucs_mode=None):
    """contactList (full list).  Contacts' `uri` is written without the sip: prefix, as real
    servers send it: pidgin-sipe (proven against them) prepends "sip:" to every uri of a full
    list unconditionally (sip_uri_from_name), while it takes contactDelta uris as they come
    (with the prefix; see contact_delta).  `name` is the user-assigned alias
    (empty = use the contact card), groups always include '~'.  `ucs_mode` adds the
    Lync 2013 ucsmode attribute ('migrated' means the list lives in Exchange UCS)."""
    groups = normalize_groups(groups)
    root = ET.Element(f"{{{NS_CONTACTS}}}contactList", {"deltaNum": str(delta_num)})
    if ucs_mode:
        root.set("ucsmode", ucs_mode)
    for g in groups:
        _sub(root, NS_CONTACTS, "group", id=int(g["id"]), name=g["name"], externalURI="")
    if ucs_mode != "migrated":
        for c in contacts:
            _sub(root, NS_CONTACTS, "contact", **_contact_attrs(c, groups, bare_uri=True))
    return to_bytes(root)


def contact_delta(groups, delta_num, prev_delta_num, added_groups=(), modified_groups=(),
                  added=(), modified=(), deleted_groups=(), deleted=()):
    """contactDelta in MS-SIP order: added/modified groups, added/modified contacts, deleted
    groups, deleted contacts."""
    groups = normalize_groups(groups)
    root = ET.Element(f"{{{NS_CONTACTS}}}contactDelta",
                      {"deltaNum": str(delta_num), "prevDeltaNum": str(prev_delta_num)})
    for g in added_groups:
        _sub(root, NS_CONTACTS, "addedGroup", id=int(g["id"]), name=g["name"], externalURI="")
    for g in modified_groups:
        _sub(root, NS_CONTACTS, "modifiedGroup", id=int(g["id"]), name=g["name"],
             externalURI="")
    for c in added:
        _sub(root, NS_CONTACTS, "addedContact", **_contact_attrs(c, groups))
    for c in modified:
        _sub(root, NS_CONTACTS, "modifiedContact", **_contact_attrs(c, groups))
    for gid in deleted_groups:
        _sub(root, NS_CONTACTS, "deletedGroup", id=int(gid))
    for uri in deleted:
        _sub(root, NS_CONTACTS, "deletedContact", uri=uri)
    return to_bytes(root)


def _with_sip(uri):
    """A contactList uri ('bob@contoso.test') as a SIP URI; one with a scheme is kept."""
    if not uri or ":" in uri:
        return uri
    return "sip:" + uri


def parse_contacts(data):
    """contactList/contactDelta -> dict (for tests and as a reference for clients)."""
    root = parse_xml(data)
    kind = local_name(root.tag)
    out = {"kind": kind, "deltaNum": int(root.get("deltaNum", "0")),
           "ucsmode": root.get("ucsmode")}
    if kind == "contactList":
        out["groups"] = [{"id": int(g.get("id")), "name": g.get("name")}
                         for g in _children(root, "group")]
        out["contacts"] = [{"uri": _with_sip(c.get("uri")), "name": c.get("name"),
                            "groups": [int(x) for x in (c.get("groups") or "").split()],
                            "subscribed": c.get("subscribed")}
                           for c in _children(root, "contact")]
    elif kind == "contactDelta":
        out["prevDeltaNum"] = int(root.get("prevDeltaNum", "0"))
        for name in ("addedGroup", "modifiedGroup", "addedContact", "modifiedContact",
                     "deletedGroup", "deletedContact"):
            out[name] = [dict(e.attrib) for e in _children(root, name)]
    else:
        raise DocumentError(f"root is {kind}")
    return out


# categories (MS-PRES) -----------------------------------------------------------------
class Category:
    """One category instance as it appears in a categories document."""

    __slots__ = ("name", "instance", "container", "version", "expire_type", "publish_time",
                 "content", "endpoint_id")

    def __init__(self, name, instance, container, version, expire_type="static",
                 publish_time=None, content=None, endpoint_id=None):
        self.name, self.container = name, int(container)
        self.instance = None if instance is None else int(instance)
        self.version, self.expire_type = int(version), expire_type
        self.publish_time = publish_time or iso_time()
        self.content = content  # an Element (Clark notation) or None (cleared)
        self.endpoint_id = endpoint_id

    def __repr__(self):
        return (f"<Category {self.name} i={self.instance} c={self.container} "
                f"v={self.version}>")


def category_element(cat):
    """<category>; an instance of None writes the 'all instances of this category in this
    container are gone' form <category name="note" container="200"/> (MS-PRES roaming-self
    updates; SIPE clears its copies on it)."""
    if cat.instance is None:
        return ET.Element(f"{{{NS_CATEGORIES}}}category",
                          {"name": cat.name, "container": str(cat.container)})
    attrs = {"name": cat.name, "instance": str(cat.instance), "publishTime": cat.publish_time,
             "container": str(cat.container), "version": str(cat.version),
             "expireType": cat.expire_type}
    if cat.endpoint_id:
        attrs["endpointId"] = cat.endpoint_id
    e = ET.Element(f"{{{NS_CATEGORIES}}}category", attrs)
    if cat.content is not None:
        e.append(copy.deepcopy(cat.content))
    return e


def categories_element(uri, cats):
    root = ET.Element(f"{{{NS_CATEGORIES}}}categories", {"uri": uri})
    for c in cats:
        root.append(category_element(c))
    return root


def categories(uri, cats):
    """A categories document (application/msrtc-event-categories+xml) for presentity
    `uri`: what a watcher receives (valid against ms-pres-xsd/Categories.xsd)."""
    return to_bytes(categories_element(uri, cats))


def state_element(availability, state_type="aggregateState", activity=None, manual=None,
                  device=None):
    e = ET.Element(f"{{{NS_STATE}}}state", {f"{{{NS_XSI}}}type": state_type})
    if manual is not None:
        e.set("manual", _bool(manual))
    _sub(e, NS_STATE, "availability", int(availability))
    if activity:
        _sub(e, NS_STATE, "activity", token=activity)
    if device:
        _sub(e, NS_STATE, "device", device)
    return e


def note_element(text, note_type="personal"):
    e = ET.Element(f"{{{NS_NOTE}}}note")
    _sub(e, NS_NOTE, "body", text, type=note_type, uri="")
    return e


def contact_card_element(person):
    """contactCard from scenario data: name (display name), email, title, company,
    department, office, phone (work), mobile, automaton (bots)."""
    e = ET.Element(f"{{{NS_CONTACTCARD}}}contactCard")
    ident = _sub(e, NS_CONTACTCARD, "identity")
    name = _sub(ident, NS_CONTACTCARD, "name")
    _sub(name, NS_CONTACTCARD, "displayName", person.get("name", ""))
    if person.get("email"):
        _sub(ident, NS_CONTACTCARD, "email", person["email"])
    for key in ("company", "department", "title", "office"):
        if person.get(key):
            _sub(e, NS_CONTACTCARD, key, person[key])
    for key, ptype in (("phone", "work"), ("mobile", "mobile")):
        if person.get(key):
            ph = _sub(e, NS_CONTACTCARD, "phone", type=ptype)
            _sub(ph, NS_CONTACTCARD, "uri", "tel:" + person[key])
    if person.get("automaton"):
        _sub(e, NS_CONTACTCARD, "automaton", "true")
    return e


def user_properties_element(user):
    """userProperties (MS-PRES 2.2.2.7.4) published by the server from the directory: the
    user's line (DDI and extension as a tel URI), Exchange UM (exumEnabled, exumURL)."""
    e = ET.Element(f"{{{NS_CATEGORIES}}}userProperties")
    line_uri = user.get("line_uri")
    if line_uri:
        lines = _sub(e, NS_CATEGORIES, "lines")
        _sub(lines, NS_CATEGORIES, "line", line_uri, lineType=user.get("line_type", "Uc"))
        _sub(e, NS_CATEGORIES, "telephonyMode", user.get("line_type", "Uc"))
    if user.get("exum_url"):
        _sub(e, NS_CATEGORIES, "exumEnabled", "1")
        _sub(e, NS_CATEGORIES, "exumURL", user["exum_url"])
    return e


# roaming self (MS-PRES) ---------------------------------------------------------------
def parse_roaming_list(data):
    """roamingList -> set of requested types (categories, containers, subscribers); an
    empty body asks for all three."""
    if not data or not data.strip():
        return {"categories", "containers", "subscribers"}
    root = parse_xml(data)
    if local_name(root.tag) != "roamingList":
        raise DocumentError(f"root is {local_name(root.tag)}, not roamingList")
    types = {r.get("type") for r in _children(root, "roaming") if r.get("type")}
    return types or {"categories", "containers", "subscribers"}


def roaming_data(uri, cats=None, containers=None, subscribers=None):
    """roamingData: any of categories (list of Category), containers ({id: (version,
    [(type, value)])}) and subscribers ([{user, displayName, acknowledged, type}]); a part
    that is None is left out (a partial update)."""
    root = ET.Element(f"{{{NS_ROAMING_SELF}}}roamingData")
    if cats is not None:
        root.append(categories_element(uri, cats))
    if containers is not None:
        ce = ET.SubElement(root, f"{{{NS_CONTAINERS}}}containers")
        for cid in sorted(containers):
            version, members = containers[cid]
            c = _sub(ce, NS_CONTAINERS, "container", id=cid, version=version)
            for mtype, value in members:
                _sub(c, NS_CONTAINERS, "member", type=mtype, value=value)
    if subscribers is not None:
        se = ET.SubElement(root, f"{{{NS_SUBSCRIBERS}}}subscribers")
        for s in subscribers:
            _sub(se, NS_SUBSCRIBERS, "subscriber", user=s["user"],
                 displayName=s.get("displayName"), acknowledged=_bool(s.get("acknowledged")),
                 type=s.get("type"))
    return to_bytes(root)


def parse_roaming_data(data):
    """roamingData -> {"categories": [Category], "containers": {...}, "subscribers": [...]}
    (keys only for parts present)."""
    root = parse_xml(data)
    if local_name(root.tag) != "roamingData":
        raise DocumentError(f"root is {local_name(root.tag)}, not roamingData")
    out = {}
    cats = _child(root, "categories")
    if cats is not None:
        out["categories"] = [_parse_category(c) for c in _children(cats, "category")]
    conts = _child(root, "containers")
    if conts is not None:
        out["containers"] = {
            int(c.get("id")): (int(c.get("version", "0")),
                               [(m.get("type"), m.get("value")) for m in
                                _children(c, "member")])
            for c in _children(conts, "container")}
    subs = _child(root, "subscribers")
    if subs is not None:
        out["subscribers"] = [dict(s.attrib) for s in _children(subs, "subscriber")]
    return out


def _parse_category(c):
    content = next(iter(c), None)
    return Category(c.get("name"), c.get("instance", "0"), c.get("container", "0"),
                    c.get("version", "0"), c.get("expireType", "static"),
                    c.get("publishTime"), content, c.get("endpointId"))


def parse_categories(data):
    """categories document -> (uri, [Category])."""
    root = parse_xml(data)
    if local_name(root.tag) != "categories":
        raise DocumentError(f"root is {local_name(root.tag)}, not categories")
    return root.get("uri"), [_parse_category(c) for c in _children(root, "category")]


# category publish (MS-PRES; docs/protocol.md §11.4) ---------------------------------------
class Publication:
    """One publication of a publish request (1-based index as in the 409 body)."""

    __slots__ = ("index", "name", "instance", "container", "version", "expire_type",
                 "expires", "content")

    def __init__(self, index, name, instance, container, version, expire_type, expires,
                 content):
        self.index, self.name = index, name
        self.instance, self.container, self.version = instance, container, version
        self.expire_type, self.expires, self.content = expire_type, expires, content

    @property
    def key(self):
        return (self.name, self.instance, self.container)

    def __repr__(self):
        return (f"<Publication #{self.index} {self.name} i={self.instance} "
                f"c={self.container} v={self.version}>")


def _uint(v, what, maximum=0xFFFFFFFF):
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise DocumentError(f"{what}: {v!r} is not a number") from None
    if not 0 <= n <= maximum:
        raise DocumentError(f"{what}: {n} out of range")
    return n


def parse_publish(data):
    """publish -> (publications uri, [Publication])."""
    root = parse_xml(data)
    if local_name(root.tag) != "publish":
        raise DocumentError(f"root is {local_name(root.tag)}, not publish")
    pubs_el = _child(root, "publications")
    if pubs_el is None:
        raise DocumentError("publish without publications")
    pubs = []
    for i, p in enumerate(_children(pubs_el, "publication"), 1):
        if i > MAX_ITEMS:
            raise DocumentError("too many publications")
        name = p.get("categoryName")
        if not name:
            raise DocumentError(f"publication {i} without categoryName")
        expires = p.get("expires")
        pubs.append(Publication(
            i, name, _uint(p.get("instance", "0"), "instance"),
            _uint(p.get("container", "0"), "container", 32767),
            _uint(p.get("version", "0"), "version"),
            p.get("expireType", "static"),
            None if expires is None else _uint(expires, "expires"),
            next(iter(p), None)))
    return pubs_el.get("uri"), pubs


def fault_wrong_delta(faults):
    """409 body for stale versions: [(index, version, curVersion)] (MS-PRES 2.2.2.10.4)."""
    root = ET.Element("Fault")
    ET.SubElement(root, "Faultcode").text = "Client.BadCall.WrongDelta"
    details = ET.SubElement(root, "details")
    for index, version, cur in faults:
        ET.SubElement(details, "operation", {"index": str(index), "version": str(version),
                                             "curVersion": str(cur)})
    return to_bytes(root)


def parse_fault(data):
    root = parse_xml(data)
    return (_text(root, "Faultcode"),
            [(int(o.get("index")), int(o.get("version", "0")), int(o.get("curVersion")))
             for o in _children(_child(root, "details"), "operation")])


def parse_set_container_members(data):
    """setContainerMembers -> [(container id, version, [(action, type, value)])]."""
    root = parse_xml(data)
    if local_name(root.tag) != "setContainerMembers":
        raise DocumentError(f"root is {local_name(root.tag)}, not setContainerMembers")
    out = []
    for c in _children(root, "container")[:MAX_ITEMS]:
        members = [(m.get("action", "add"), m.get("type"), m.get("value"))
                   for m in _children(c, "member")[:MAX_ITEMS]]
        out.append((_uint(c.get("id"), "container id", 32767),
                    _uint(c.get("version", "0"), "version"), members))
    return out


def parse_set_subscribers(data):
    """setSubscribers -> [(user, acknowledged)]."""
    root = parse_xml(data)
    if local_name(root.tag) != "setSubscribers":
        raise DocumentError(f"root is {local_name(root.tag)}, not setSubscribers")
    return [(s.get("user"), _parse_bool(s.get("acknowledged")) or False)
            for s in _children(root, "subscriber")[:MAX_ITEMS]]


# batched presence subscription (MS-PRES; docs/protocol.md §11.5) ---------------------------
def parse_batch_subscribe(data):
    """batchSub (application/msrtc-adrl-categorylist+xml) or the LCS 2005 adhoclist
    (application/adrl+xml) -> (action 'subscribe'/'unsubscribe', [resource uris],
    [category names] or None for 'all', {uri: has <context/>})."""
    root = parse_xml(data)
    kind = local_name(root.tag)
    if kind == "batchSub":
        action = _child(root, "action")
        if action is None:
            raise DocumentError("batchSub without action")
        adhoc = _child(action, "adhocList")
        resources = _children(adhoc, "resource") if adhoc is not None else []
        catlist = _child(action, "categoryList")
        cats = ([c.get("name") for c in _children(catlist, "category")]
                if catlist is not None else None)
        name = action.get("name", "subscribe")
    elif kind == "adhoclist":
        create = _child(root, "create")
        resources = _children(create, "resource") if create is not None else []
        cats, name = None, "subscribe"
    else:
        raise DocumentError(f"root is {kind}, not batchSub")
    if len(resources) > MAX_ITEMS:
        raise DocumentError("too many resources")
    uris, context = [], {}
    for r in resources:
        uri = r.get("uri")
        if uri and uri not in uris:
            uris.append(uri)
            context[uri] = _child(r, "context") is not None
    return name, uris, cats, context


def rlmi_list(list_uri, version, full_state, resources):
    """RFC 4662 list: resources = [(uri, instance id, state, cid or None, extra attrs)].
    state 'active' points at a categories part by cid; 'resubscribe' carries poolFqdn
    (MS-PRES 3.4.5.1.3); 'terminated' carries reason."""
    root = ET.Element(f"{{{NS_RLMI}}}list", {"uri": list_uri, "version": str(version),
                                            "fullState": _bool(full_state)})
    for uri, iid, state, cid, extra in resources:
        r = _sub(root, NS_RLMI, "resource", uri=uri)
        attrs = {"id": iid, "state": state}
        if cid:
            attrs["cid"] = cid
        attrs.update(extra or {})
        _sub(r, NS_RLMI, "instance", **attrs)
    return to_bytes(root)


def parse_rlmi(data):
    root = parse_xml(data)
    if local_name(root.tag) != "list":
        raise DocumentError(f"root is {local_name(root.tag)}, not list")
    out = []
    for r in _children(root, "resource"):
        inst = _child(r, "instance")
        out.append((r.get("uri"), dict(inst.attrib) if inst is not None else {}))
    return {"uri": root.get("uri"), "version": int(root.get("version", "0")),
            "fullState": root.get("fullState"), "resources": out}


def multipart_related(parts, boundary, start_type=CT_RLMI):
    """multipart/related body and Content-Type for [(content type, content id, bytes)];
    the first part is the root (RFC 2387 start).  Every part ends with an empty line before
    the next delimiter, as real servers send it: libpurple's MIME parser (pidgin-sipe, proven
    against them) cuts the last four bytes of each part, CRLF CRLF, and without the empty
    line SIPE's XML would lose its closing '>'.  For RFC 2046 parsers the part then ends with
    a CRLF, which XML allows."""
    out = []
    for ctype, cid, body in parts:
        out.append(f"--{boundary}\r\nContent-Transfer-Encoding: binary\r\n"
                   f"Content-ID: <{cid}>\r\nContent-Type: {ctype}\r\n\r\n".encode("ascii"))
        out.append(body)
        out.append(b"\r\n\r\n")
    out.append(f"--{boundary}--\r\n".encode("ascii"))
    ctype = (f'multipart/related; type="{start_type}"; start="<{parts[0][1]}>"; '
             f'boundary="{boundary}"')
    return b"".join(out), ctype


def parse_multipart(body, content_type):
    """multipart body -> [(headers dict lower-case, bytes)] (tests, reference)."""
    boundary = None
    for part in content_type.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "boundary":
            boundary = v.strip('"')
    if not boundary:
        raise DocumentError("multipart without boundary")
    delim = b"--" + boundary.encode("ascii")
    chunks = body.split(delim)
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("ascii", "replace").split("\r\n"):
            k, _, v = line.partition(":")
            if k:
                headers[k.strip().lower()] = v.strip()
        if content.endswith(b"\r\n"):  # the CRLF that belongs to the delimiter
            content = content[:-2]
        if content.endswith(b"\r\n"):  # the part's closing empty line (multipart_related)
            content = content[:-2]
        parts.append((headers, content))
    return parts
