# SPDX-License-Identifier: LGPL-2.1-or-later
"""Pool services a client asks for right after sign-in, besides presence: media relay
authentication (MRAS), the conferencing focus factory and group expansion (DLX).

A real client asks each service the in-band provisioning names (ServerConfiguration mrasUri,
focusFactoryUri, dlxInternalUrl/dlxExternalUrl), so sfbsim either answers it minimally but
really or leaves it out of the provisioning, per the scenario's [features]:

  mras          SERVICE application/msrtc-media-relay-auth+xml to mrasUri (MS-AVEDGEA):
                200 with a credentialsResponse (user name, password, duration as asked,
                at most 480 min) and the edge as the media relay (UDP 3478, TCP 443)
  conferencing  SERVICE application/cccp+xml to focusFactoryUri (MS-CONFPRO):
                getConferencingCapabilities and getAvailableMcuTypes answered with the MCU
                types; any other request code="failure" reason="otherFailure" (sfbsim
                hosts no conferences)
  dlx           https://<pool>/groupexpansion/service.svc/mex: the WSDL naming the web
                ticket service (webticket.py) and the port AddressBookWebTicketBearer; a
                POST there with a valid web ticket (wsse:Security) answers SearchAbEntry
                from the scenario's users and contacts of the domain (exact match on
                msRTCSIP-PrimaryUserAddress, else begins-with); other operations and a
                missing or unknown ticket get a SOAP fault (500)

false: the provisioning leaves the service's keys out (and says dlxEnabled false), and a
request still sent gets 404 as before.  Control action set_features (reset by the tests).
Counter feature_requests per "<feature> <what>".
"""

import base64
import secrets
from xml.sax.saxutils import escape, quoteattr

from . import control, webticket

FEATURES = ("mras", "conferencing", "dlx")
CT_MRAS = "application/msrtc-media-relay-auth+xml"
CT_CCCP = "application/cccp+xml"
NS_MRAS = "http://schemas.microsoft.com/2006/09/sip/mrasp"
NS_CCCP = "urn:ietf:params:xml:ns:cccp"
DLX_PATH = "/groupexpansion/service.svc"
DLX_PORT = "AddressBookWebTicketBearer"  # the port a client looks for (bearer web ticket)
MCU_TYPES = ("chat", "audio-video", "meeting", "phone-conf")
MAX_DURATION = 480  # minutes of relay credentials

#: the ServerConfiguration keys that advertise each feature
ADVERTISED = {
    "mras": ("mrasUri",),
    "conferencing": ("focusFactoryUri",),
    "dlx": ("dlxInternalUrl", "dlxExternalUrl"),
}


def enabled(sim, name):
    return _enabled(sim.scenario, name)


def _enabled(scenario, name):
    return bool(scenario.data.get("features", {}).get(name, True))


def advertised(scenario, group, values):
    """The provisioning group's values without the keys of disabled features."""
    if group != "ServerConfiguration":
        return values
    out = dict(values)
    for name, keys in ADVERTISED.items():
        if not _enabled(scenario, name):
            for k in keys:
                out.pop(k, None)
            if name == "dlx" and "dlxEnabled" in out:
                out["dlxEnabled"] = False
    return out


def _opaque(uri):
    for p in uri.split(";")[1:]:
        k, _, v = p.partition("=")
        if k.strip().lower() == "opaque":
            return v
    return ""


def on_service(ep, msg):
    """A response for an MRAS or focus factory SERVICE of an enabled feature, else None."""
    opaque = _opaque(msg.uri)
    ctype = msg.content_type or ""
    if opaque.startswith("srvr:MRAS") and ctype == CT_MRAS and enabled(ep.sim, "mras"):
        return _mras(ep, msg)
    if opaque == "app:conf:focusfactory" and ctype == CT_CCCP and \
            enabled(ep.sim, "conferencing"):
        return _focus_factory(ep, msg)
    return None


def _parse(msg):
    """The body as XML (no DTDs, size-limited), or None."""
    try:
        return webticket.parse_xml(msg.body)
    except webticket.WsError:
        return None


def _mras(ep, msg):
    root = _parse(msg)
    req = root.find(f"{{{NS_MRAS}}}credentialsRequest") if root is not None else None
    if req is None:
        return ep.make_response(msg, 400, "Bad Request")
    try:
        duration = int(req.findtext(f"{{{NS_MRAS}}}duration") or MAX_DURATION)
    except ValueError:
        duration = MAX_DURATION
    duration = max(1, min(duration, MAX_DURATION))
    location = req.findtext(f"{{{NS_MRAS}}}location") or "intranet"
    ep.sim.counters.bump("feature_requests", "mras credentials")
    edge = ep.scenario.registrar("edge")
    relays = ""
    if edge is not None:
        relays = (f"<mediaRelayList><mediaRelay><location>{escape(location)}</location>"
                  f"<hostName>{escape(edge.fqdn)}</hostName><udpPort>3478</udpPort>"
                  f"<tcpPort>443</tcpPort></mediaRelay></mediaRelayList>")
    user = base64.b64encode(secrets.token_bytes(24)).decode()
    password = base64.b64encode(secrets.token_bytes(20)).decode()
    body = (f'<?xml version="1.0" encoding="utf-8"?><response xmlns="{NS_MRAS}" '
            f'requestID={quoteattr(root.get("requestID") or "")} version="1.0" '
            f'serverVersion="2.0" to={quoteattr(root.get("from") or ep.uri)} '
            f'from={quoteattr(msg.uri)} reasonPhrase="OK"><credentialsResponse '
            f'credentialsRequestID={quoteattr(req.get("credentialsRequestID") or "")}>'
            f'<credentials><username>{user}</username><password>{password}</password>'
            f'<duration>{duration}</duration></credentials>{relays}</credentialsResponse>'
            f'</response>')
    return ep.make_response(msg, 200, "OK", body=body.encode(), content_type=CT_MRAS)


def _focus_factory(ep, msg):
    root = _parse(msg)
    children = [c for c in root if isinstance(c.tag, str)] if root is not None else []
    if root is None or root.tag != f"{{{NS_CCCP}}}request" or not children:
        return ep.make_response(msg, 400, "Bad Request")
    what = children[0].tag.split("}")[-1]
    ep.sim.counters.bump("feature_requests", f"conferencing {what}")
    head = (f'<?xml version="1.0" encoding="utf-8"?><response xmlns="{NS_CCCP}" '
            f'C3PVersion="1" requestId={quoteattr(root.get("requestId") or "0")} '
            f'from={quoteattr(root.get("to") or msg.uri)} '
            f'to={quoteattr(root.get("from") or ep.uri)}')
    types = "<mcu-types>" + "".join(f"<mcuType>{t}</mcuType>" for t in MCU_TYPES) + \
        "</mcu-types>"
    if what == "getConferencingCapabilities":
        body = (f'{head} code="success"><getConferencingCapabilities capability-version="1">'
                f'{types}</getConferencingCapabilities></response>')
    elif what == "getAvailableMcuTypes":
        body = f'{head} code="success"><getAvailableMcuTypes>{types}</getAvailableMcuTypes>' \
            '</response>'
    else:
        body = f'{head} code="failure"><{what} reason="otherFailure"/></response>'
    return ep.make_response(msg, 200, "OK", body=body.encode(), content_type=CT_CCCP)


def dlx_mex(host):
    svc = f"https://{host}{DLX_PATH}"
    issuer = f"https://{host}/WebTicket/WebTicketService.svc"
    port = DLX_PORT
    return (f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<wsdl:definitions name="DistributionListExpansion" '
            f'targetNamespace="http://schemas.microsoft.com/2008/09/sip/DistributionListExpansion" '
            f'xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
            f'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
            f'xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" '
            f'xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" '
            f'xmlns:sp="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702" '
            f'xmlns:wsa10="http://www.w3.org/2005/08/addressing" '
            f'xmlns:tns="http://schemas.microsoft.com/2008/09/sip/DistributionListExpansion">\n'
            f'  <wsp:Policy wsu:Id="{port}_policy"><wsp:ExactlyOne><wsp:All>\n'
            f'    <sp:EndorsingSupportingTokens><wsp:Policy>'
            f'<sp:IssuedToken sp:IncludeToken="http://docs.oasis-open.org/ws-sx/'
            f'ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient">'
            f'<sp:Issuer><wsa10:Address>{issuer}</wsa10:Address></sp:Issuer>'
            f'</sp:IssuedToken></wsp:Policy></sp:EndorsingSupportingTokens>\n'
            f'  </wsp:All></wsp:ExactlyOne></wsp:Policy>\n'
            f'  <wsdl:service name="DistributionListExpansion">\n'
            f'    <wsdl:port name="{port}" binding="tns:{port}">\n'
            f'      <soap:address location="{svc}/{port}"/>\n'
            f'    </wsdl:port>\n'
            f'  </wsdl:service>\n'
            f'</wsdl:definitions>\n').encode()


def handle(web, method, path, headers, body, conn):
    """The group expansion web service on every HTTPS host; None for other paths."""
    if not path.startswith(DLX_PATH) or not enabled(web.sim, "dlx"):
        return None
    rest = path[len(DLX_PATH):]
    if rest == "/mex" and method in ("GET", "HEAD"):
        web.sim.counters.bump("feature_requests", "dlx mex")
        return 200, "OK", dlx_mex(web.host), "text/xml; charset=utf-8", []
    if rest.lower() != "/" + DLX_PORT.lower() or method != "POST":
        return 404, "Not Found", b"", "text/plain", []
    try:
        answer = _dlx_search(web.sim, body)
    except webticket.WsError as e:
        web.sim.counters.bump("feature_requests", "dlx fault")
        web.sim.log.note(f"HTTPS {web.host}: group expansion fault: {e.text}")
        return 500, "Internal Server Error", _soap_fault(e.text), "text/xml; charset=utf-8", []
    web.sim.counters.bump("feature_requests", "dlx SearchAbEntry")
    return 200, "OK", answer, "text/xml; charset=utf-8", []


def _soap_fault(text):
    return (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
            f'<s:Fault><faultcode>s:Client</faultcode><faultstring>{escape(text)}'
            f'</faultstring></s:Fault></s:Body></s:Envelope>').encode()


def _dlx_search(sim, body):
    """SearchAbEntry over the scenario's people; raises webticket.WsError."""
    ns = dict(webticket.NS, d="DistributionListExpander")
    doc = webticket.parse_xml(body)
    assertion = doc.find("s:Header/wsse:Security/saml:Assertion", ns)
    tk = webticket.find_ticket(sim, assertion.get("AssertionID") if assertion is not None
                               else None)
    if tk is None or webticket.exc_c14n(assertion) != tk.c14n:
        raise webticket.WsError("no valid web ticket in wsse:Security")
    req = doc.find("s:Body/d:SearchAbEntry/d:AbEntryRequest", ns)
    if req is None:
        raise webticket.WsError("only SearchAbEntry is implemented")
    query = req.find("d:ChangeSearch/d:AbEntryRequest.ChangeSearchQuery", ns)
    on = (query.findtext("d:SearchOn", "", ns) if query is not None else "").strip()
    value = (query.findtext("d:Value", "", ns) if query is not None else "").strip().lower()
    try:
        limit = max(1, min(int(req.findtext("d:Metadata/d:MaxResultNum", "", ns) or 20), 100))
    except ValueError:
        limit = 20
    items = []
    for person in _people(sim):
        attrs = _attributes(person)
        have = str(attrs.get(on, "")).lower()
        if value and (have == value if on == "msRTCSIP-PrimaryUserAddress"
                      else have.startswith(value)):
            items.append(attrs)
    out = []
    for attrs in items[:limit]:
        out.append("<AbEntry><Attributes>" + "".join(
            f"<Attribute><Name>{escape(k)}</Name><Value>{escape(str(v))}</Value></Attribute>"
            for k, v in attrs.items()) + "</Attributes></AbEntry>")
    return (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope '
            f'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
            f'<SearchAbEntryResponse xmlns="DistributionListExpander"><SearchAbEntryResult>'
            f'<Items>{"".join(out)}</Items></SearchAbEntryResult></SearchAbEntryResponse>'
            f'</s:Body></s:Envelope>').encode()


def _people(sim):
    """Everyone the deployment's directory knows: users, then contacts of the domain."""
    from . import services  # services imports this module
    st = services.state_for(sim)
    seen = []
    for u in sim.scenario.users.values():
        seen.append(u["uri"])
    for contacts in sim.scenario.data.get("contacts", {}).values():
        for c in contacts:
            uri = c.get("uri", "")
            if uri.lower().endswith("@" + sim.scenario.domain) and uri not in seen:
                seen.append(uri)
    return [dict(services.person_info(st, uri), uri=uri) for uri in seen]


def _attributes(person):
    attrs = {"msRTCSIP-PrimaryUserAddress": person["uri"], "displayName": person["name"]}
    for key, name in (("email", "mail"), ("title", "title"), ("company", "company"),
                      ("phone", "telephoneNumber")):
        if person.get(key):
            attrs[name] = person[key]
    return attrs


@control.action("set_features")
def _set_features(sim, **features):
    """Turn pool services on or off (mras, conferencing, dlx: true/false): off leaves them
    out of the provisioning for sign-ins from now on.  Returns every feature's state."""
    conf = sim.scenario.data.setdefault("features", {})
    for name, on in features.items():
        if name not in FEATURES:
            raise ValueError(f"unknown feature {name!r} (know {FEATURES})")
        if not isinstance(on, bool):
            raise ValueError(f"{name} must be true or false")
        conf[name] = on
    return {name: enabled(sim, name) for name in FEATURES}
