# SPDX-License-Identifier: LGPL-2.1-or-later
"""EWS (SOAP 1.1 over HTTPS) for the simulated Exchange: the operations an SfB client uses.

  GetUserAvailabilityRequest  [MS-OXWAVLS]: FreeBusyView per mailbox with FreeBusyViewType,
                              MergedFreeBusy (views *Merged), CalendarEventArray (FreeBusy*:
                              times and BusyType; Detailed*: CalendarEventDetails too, unless
                              the item is private), WorkingHours.  Times in the request's
                              TimeZone (Bias and StandardTime/Bias only; SIPE sends all 0 =
                              UTC), written without an offset, as Exchange does
  GetUserOofSettingsRequest   [MS-OXWOOF]: OofState, ExternalAudience, Duration,
                              InternalReply/ExternalReply Message, AllowExternalOof
  GetFolder                   distinguished folders msgfolderroot, inbox, calendar, voicemail
                              (a SearchFolder), conversationhistory (Exchange 2013 and later;
                              on Exchange2010_SP2 the schema has no such value: a fault),
                              deleteditems, sentitems, or a FolderId from an earlier answer:
                              DisplayName, TotalCount, ChildFolderCount, UnreadCount
  FindFolder                  under a folder (Shallow/Deep), Restriction on folder:DisplayName
                              or folder:FolderClass: finds "Conversation History" by name
  FindItem                    CalendarView (StartDate/EndDate, MaxEntriesReturned) on the
                              calendar; IndexedPageItemView or none on other folders;
                              Restriction (IsEqualTo, IsNotEqualTo, IsGreaterThan[OrEqualTo],
                              IsLessThan[OrEqualTo], Contains, Exists, And, Or, Not) over
                              item:ItemClass, item:Subject, item:DateTimeReceived,
                              message:IsRead; RootFolder/@TotalItemsInView counts the matches

Anything else in the Body is a SOAP fault ErrorSchemaValidation (HTTP 500), as is
malformed XML; a RequestServerVersion header naming no known version is a fault
ErrorInvalidServerVersion; any known one (Exchange2007 ... V2017_07_11) is accepted and
answered in the server's own version.  The mailbox of GetUserOofSettings, GetFolder,
FindFolder and FindItem must be the authenticated user's own (else ErrorAccessDenied);
free/busy may be asked for anyone (unknown addresses: ErrorMailRecipientNotFound).
"""

import base64
import datetime
import math

from lxml import etree

from .mailbox import (CLASS_APPOINTMENT, VERSIONS)
from .webticket import WsError, parse_xml

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_M = "http://schemas.microsoft.com/exchange/services/2006/messages"
NS_T = "http://schemas.microsoft.com/exchange/services/2006/types"
NS_ERR = "http://schemas.microsoft.com/exchange/services/2006/errors"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_XSD = "http://www.w3.org/2001/XMLSchema"
NS = {"soap": NS_SOAP, "m": NS_M, "t": NS_T}

#: RequestServerVersion values EWS knows ([MS-OXWSCDATA] ExchangeVersionType)
KNOWN_VERSIONS = ("Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1",
                  "Exchange2010_SP2", "Exchange2013", "Exchange2013_SP1", "Exchange2015",
                  "Exchange2016", "V2015_10_05", "V2016_10_10", "V2017_07_11")
SERVER_VERSION_NAME = {"Exchange2010_SP2": "Exchange2010_SP2", "Exchange2013": "Exchange2013",
                       "Exchange2013_SP1": "Exchange2013_SP1", "Exchange2016": "V2017_07_11"}
MERGED_DIGIT = {"Free": "0", "Tentative": "1", "Busy": "2", "OOF": "3",
                "WorkingElsewhere": "4", "NoData": "4"}
#: overlap order in MergedFreeBusy (sfbsim: OOF over Busy over Tentative, as SIPE reads it)
BUSY_RANK = {"Free": 0, "NoData": 0, "WorkingElsewhere": 1, "Tentative": 2, "Busy": 3, "OOF": 4}
MAX_WINDOW = 62 * 86400
#: the folders of every mailbox: id -> (display name, folder class, element, parent)
FOLDERS = {
    "msgfolderroot": ("Top of Information Store", None, "Folder", None),
    "inbox": ("Inbox", "IPF.Note", "Folder", "msgfolderroot"),
    "calendar": ("Calendar", "IPF.Appointment", "CalendarFolder", "msgfolderroot"),
    "sentitems": ("Sent Items", "IPF.Note", "Folder", "msgfolderroot"),
    "deleteditems": ("Deleted Items", "IPF.Note", "Folder", "msgfolderroot"),
    "conversationhistory": ("Conversation History", "IPF.Note", "Folder", "msgfolderroot"),
    "voicemail": ("Voice Mail", "IPF.Note", "SearchFolder", None),
}


class EwsFault(Exception):
    def __init__(self, code, text):
        super().__init__(text)
        self.code, self.text = code, text


class ResponseError(Exception):
    """An operation's error ResponseMessage (HTTP 200)."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code, self.text = code, text


# helpers --------------------------------------------------------------------------------------
def el(parent, ns, tag, text=None, nsmap=None, **attrs):
    e = etree.SubElement(parent, f"{{{ns}}}{tag}", nsmap=nsmap) if parent is not None \
        else etree.Element(f"{{{ns}}}{tag}", nsmap=nsmap)
    for k, v in attrs.items():
        e.set(k, str(v))
    if text is not None:
        e.text = str(text)
    return e


def utc(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def local(ts, bias):
    """Unix time -> xs:dateTime without offset in a zone with this bias (UTC = local + bias,
    minutes)."""
    return datetime.datetime.fromtimestamp(ts - bias * 60, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")


def parse_time(text, bias=0):
    """xs:dateTime -> Unix time; without an offset it is local time of `bias`."""
    t = (text or "").strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    try:
        d = datetime.datetime.fromisoformat(t)
    except ValueError:
        raise EwsFault("ErrorSchemaValidation", f"bad xs:dateTime {text!r}") from None
    if d.tzinfo is None:
        return d.replace(tzinfo=datetime.timezone.utc).timestamp() + bias * 60
    return d.timestamp()


def folder_id(uid, name):
    return base64.b64encode(f"sfbsim-folder|{uid}|{name}".encode()).decode()


def item_id(item):
    return base64.b64encode(f"sfbsim-item|{item['id']}".encode()).decode()


def change_key(s):
    return base64.b64encode(f"ck|{s}".encode()).decode()[:24]


def _text(node, path):
    found = node.find(path, NS) if node is not None else None
    return (found.text or "").strip() if found is not None and found.text else None


# the envelope ---------------------------------------------------------------------------------
def envelope(ex, body_child):
    env = el(None, NS_SOAP, "Envelope", nsmap={"s": NS_SOAP})
    head = el(env, NS_SOAP, "Header")
    major, minor, build, mbuild = VERSIONS[ex.conf["version"]]
    el(head, NS_T, "ServerVersionInfo", nsmap={"h": NS_T, None: NS_T, "xsi": NS_XSI,
                                               "xsd": NS_XSD},
       MajorVersion=major, MinorVersion=minor, MajorBuildNumber=build,
       MinorBuildNumber=mbuild, Version=SERVER_VERSION_NAME[ex.conf["version"]])
    body = el(env, NS_SOAP, "Body", nsmap={"xsi": NS_XSI, "xsd": NS_XSD})
    body.append(body_child)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def fault(code, text):
    env = el(None, NS_SOAP, "Envelope", nsmap={"s": NS_SOAP})
    body = el(env, NS_SOAP, "Body")
    f = el(body, NS_SOAP, "Fault")
    fc = etree.SubElement(f, "faultcode", nsmap={"a": NS_T})
    fc.text = f"a:{code}"
    fs = etree.SubElement(f, "faultstring")
    fs.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    fs.text = text
    detail = etree.SubElement(f, "detail")
    el(detail, NS_ERR, "ResponseCode", code, nsmap={"e": NS_ERR})
    el(detail, NS_ERR, "Message", text, nsmap={"e": NS_ERR})
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


# dispatch -------------------------------------------------------------------------------------
OPERATIONS = {}


def operation(name):
    def register(fn):
        OPERATIONS[name] = fn
        return fn
    return register


def handle(ex, user, body):
    """One EWS request of an authenticated scenario user -> (HTTP status, operation name or
    None, response bytes, record details)."""
    try:
        doc = parse_xml(body)
    except WsError as e:
        return 500, None, fault("ErrorSchemaValidation", e.text), {}
    op = None
    try:
        if doc.tag != f"{{{NS_SOAP}}}Envelope":
            raise EwsFault("ErrorSchemaValidation", "the request is not a SOAP 1.1 Envelope")
        body_el = doc.find("soap:Body", NS)
        req = next(iter(body_el), None) if body_el is not None else None
        if req is None or not isinstance(req.tag, str):
            raise EwsFault("ErrorSchemaValidation", "the Body has no request")
        qname = etree.QName(req)
        op = qname.localname.removesuffix("Request")
        rsv = doc.find("soap:Header/t:RequestServerVersion", NS)
        requested = rsv.get("Version") if rsv is not None else None
        if requested is not None and requested not in KNOWN_VERSIONS:
            raise EwsFault("ErrorInvalidServerVersion",
                           "The specified server version is invalid.")
        fn = OPERATIONS.get(qname.localname) if qname.namespace == NS_M else None
        if fn is None:
            raise EwsFault("ErrorSchemaValidation", "The request failed schema validation: "
                           f"the element '{qname.localname}' is not expected.")
        detail = {"requested_version": requested}
        out = fn(ex, user, req, detail)
        return 200, op, envelope(ex, out), detail
    except EwsFault as e:
        return 500, op, fault(e.code, e.text), {"fault": e.code}


def mailbox_of(ex, user):
    return ex.mailboxes[user["id"]]


def _own(ex, user, address):
    """The user's own mailbox when `address` is None or one of its addresses."""
    mb = mailbox_of(ex, user)
    if address is not None and address.strip().lower() not in mb.addresses():
        raise ResponseError("ErrorAccessDenied", "Access is denied. Check credentials and "
                            "try again.")
    return mb


# GetUserAvailability --------------------------------------------------------------------------
def _bias(tz):
    if tz is None:
        return 0
    try:
        b = int(_text(tz, "t:Bias") or 0)
        std = tz.find("t:StandardTime", NS)
        return b + int(_text(std, "t:Bias") or 0) if std is not None else b
    except ValueError:
        raise EwsFault("ErrorSchemaValidation", "TimeZone Bias is not a number") from None


@operation("GetUserAvailabilityRequest")
def get_user_availability(ex, user, req, detail):
    bias = _bias(req.find("t:TimeZone", NS))
    opts = req.find("t:FreeBusyViewOptions", NS)
    if opts is None:
        raise EwsFault("ErrorSchemaValidation", "no FreeBusyViewOptions")
    start = parse_time(_text(opts, "t:TimeWindow/t:StartTime"), bias)
    end = parse_time(_text(opts, "t:TimeWindow/t:EndTime"), bias)
    if end <= start or end - start > MAX_WINDOW:
        raise EwsFault("ErrorInvalidTimeInterval", "The time window is invalid.")
    try:
        interval = int(_text(opts, "t:MergedFreeBusyIntervalInMinutes") or 30)
    except ValueError:
        raise EwsFault("ErrorSchemaValidation", "MergedFreeBusyIntervalInMinutes") from None
    if not 5 <= interval <= 1440:
        raise EwsFault("ErrorInvalidRequest", "MergedFreeBusyIntervalInMinutes out of range")
    view = _text(opts, "t:RequestedView") or "FreeBusy"
    if view not in ("MergedOnly", "FreeBusy", "FreeBusyMerged", "Detailed", "DetailedMerged"):
        raise EwsFault("ErrorSchemaValidation", f"RequestedView {view!r}")
    addresses = [_text(md, "t:Email/t:Address") or ""
                 for md in req.findall("m:MailboxDataArray/t:MailboxData", NS)]
    if not addresses:
        raise EwsFault("ErrorSchemaValidation", "no MailboxData")
    detail.update(mailboxes=addresses, view=view, start=start, end=end)
    root = el(None, NS_M, "GetUserAvailabilityResponse", nsmap={None: NS_M})
    arr = el(root, NS_M, "FreeBusyResponseArray")
    for a in addresses:
        _free_busy_response(ex, arr, a, start, end, interval, view, bias)
    return root


def _free_busy_response(ex, arr, address, start, end, interval, view, bias):
    resp = el(arr, NS_M, "FreeBusyResponse")
    mb = ex.mailbox_for(address)
    rm = el(resp, NS_M, "ResponseMessage")
    fbv = el(resp, NS_M, "FreeBusyView")
    if mb is None:
        rm.set("ResponseClass", "Error")
        el(rm, NS_M, "MessageText", f"No mailbox with such guid. (address {address})")
        el(rm, NS_M, "ResponseCode", "ErrorMailRecipientNotFound")
        el(rm, NS_M, "DescriptiveLinkKey", "0")
        el(fbv, NS_T, "FreeBusyViewType", "None", nsmap={None: NS_T})
        return
    rm.set("ResponseClass", "Success")
    el(rm, NS_M, "ResponseCode", "NoError")
    el(fbv, NS_T, "FreeBusyViewType", view, nsmap={None: NS_T})
    events = sorted((c for c in mb.calendar if c["start"] < end and c["end"] > start),
                    key=lambda c: c["start"])
    if "Merged" in view:
        el(fbv, NS_T, "MergedFreeBusy", merged(ex, events, start, end, interval * 60),
           nsmap={None: NS_T})
    if view != "MergedOnly":
        cea = el(fbv, NS_T, "CalendarEventArray", nsmap={None: NS_T})
        for c in events:
            ev = el(cea, NS_T, "CalendarEvent")
            el(ev, NS_T, "StartTime", local(c["start"], bias))
            el(ev, NS_T, "EndTime", local(c["end"], bias))
            el(ev, NS_T, "BusyType", _busy(ex, c["busy_type"]))
            if view.startswith("Detailed") and not c["private"]:
                d = el(ev, NS_T, "CalendarEventDetails")
                el(d, NS_T, "ID", item_id(c))
                el(d, NS_T, "Subject", c["subject"])
                el(d, NS_T, "Location", c["location"])
                el(d, NS_T, "IsMeeting", _b(c["is_meeting"]))
                el(d, NS_T, "IsRecurring", "false")
                el(d, NS_T, "IsException", "false")
                el(d, NS_T, "IsReminderSet", "false")
                el(d, NS_T, "IsPrivate", "false")
    _working_hours(fbv, mb.working_hours)


def _busy(ex, busy):
    if busy == "WorkingElsewhere" and ex.conf["version"].startswith("Exchange2010"):
        return "Free"  # no such value before Exchange 2013
    return busy


def merged(ex, events, start, end, step):
    """One digit per interval from start: the highest-ranked busy type overlapping it."""
    n = max(1, math.ceil((end - start) / step))
    out = []
    for i in range(n):
        a, b = start + i * step, start + (i + 1) * step
        best = "Free"
        for c in events:
            bt = _busy(ex, c["busy_type"])
            if c["start"] < b and c["end"] > a and BUSY_RANK[bt] > BUSY_RANK[best]:
                best = bt
        out.append(MERGED_DIGIT[best])
    return "".join(out)


def _b(v):
    return "true" if v else "false"


def _working_hours(parent, wh):
    w = el(parent, NS_T, "WorkingHours", nsmap={None: NS_T})
    tz = el(w, NS_T, "TimeZone")
    el(tz, NS_T, "Bias", wh["bias"])
    for name in ("StandardTime", "DaylightTime"):
        s = el(tz, NS_T, name)
        el(s, NS_T, "Bias", 0)
        el(s, NS_T, "Time", "00:00:00")
        el(s, NS_T, "DayOrder", 0)
        el(s, NS_T, "Month", 0)
        el(s, NS_T, "DayOfWeek", "Sunday")
    arr = el(w, NS_T, "WorkingPeriodArray")
    p = el(arr, NS_T, "WorkingPeriod")
    el(p, NS_T, "DayOfWeek", " ".join(wh["days"]))
    el(p, NS_T, "StartTimeInMinutes", wh["start"])
    el(p, NS_T, "EndTimeInMinutes", wh["end"])


# GetUserOofSettings ---------------------------------------------------------------------------
@operation("GetUserOofSettingsRequest")
def get_user_oof_settings(ex, user, req, detail):
    address = _text(req, "t:Mailbox/t:Address")
    detail["mailbox"] = address
    root = el(None, NS_M, "GetUserOofSettingsResponse", nsmap={None: NS_M})
    rm = el(root, NS_M, "ResponseMessage")
    if address is None:
        raise EwsFault("ErrorSchemaValidation", "no Mailbox/Address")
    try:
        mb = _own(ex, user, address)
    except ResponseError as e:
        rm.set("ResponseClass", "Error")
        el(rm, NS_M, "MessageText", e.text)
        el(rm, NS_M, "ResponseCode", e.code)
        el(rm, NS_M, "DescriptiveLinkKey", "0")
        return root
    rm.set("ResponseClass", "Success")
    el(rm, NS_M, "ResponseCode", "NoError")
    o = mb.oof
    s = el(root, NS_T, "OofSettings", nsmap={None: NS_T})
    el(s, NS_T, "OofState", o["state"])
    el(s, NS_T, "ExternalAudience", o["external_audience"])
    d = el(s, NS_T, "Duration")
    el(d, NS_T, "StartTime", utc(o["start"]))
    el(d, NS_T, "EndTime", utc(o["end"]))
    for name, key in (("InternalReply", "internal"), ("ExternalReply", "external")):
        r = el(s, NS_T, name)
        el(r, NS_T, "Message", o[key])
    el(root, NS_M, "AllowExternalOof", "All")
    return root


# folders --------------------------------------------------------------------------------------
def _folder_items(mb, name):
    if name in ("voicemail", "inbox"):
        return mb.voicemails
    if name == "conversationhistory":
        return mb.history
    if name == "calendar":
        return mb.calendar
    return []


def _children(name):
    return [k for k, v in FOLDERS.items() if v[3] == name]


def _resolve_folder(ex, user, fid, detail):
    """A DistinguishedFolderId or FolderId element -> (mailbox, folder name)."""
    mb = mailbox_of(ex, user)
    tag = etree.QName(fid).localname
    if tag == "DistinguishedFolderId":
        name = fid.get("Id") or ""
        if name == "conversationhistory" and ex.conf["version"].startswith("Exchange2010"):
            raise EwsFault("ErrorSchemaValidation", "The request failed schema validation: "
                           "The 'Id' attribute is invalid - The value 'conversationhistory' "
                           "is invalid according to its datatype "
                           "'DistinguishedFolderIdNameType'.")
        if name not in FOLDERS:
            raise ResponseError("ErrorFolderNotFound", "The specified folder could not be "
                                "found in the store.")
        mb = _own(ex, user, _text(fid, "t:Mailbox/t:EmailAddress"))
    elif tag == "FolderId":
        try:
            kind, uid, name = base64.b64decode(fid.get("Id") or "").decode().split("|")
        except ValueError:
            raise ResponseError("ErrorInvalidIdMalformed", "Id is malformed.") from None
        if kind != "sfbsim-folder" or name not in FOLDERS:
            raise ResponseError("ErrorInvalidIdMalformed", "Id is malformed.")
        if uid != user["id"]:
            raise ResponseError("ErrorAccessDenied", "Access is denied.")
    else:
        raise EwsFault("ErrorSchemaValidation", f"unexpected {tag}")
    detail.setdefault("folders", []).append(name)
    return mb, name


def _folder_element(parent, mb, name):
    display, cls, kind, _ = FOLDERS[name]
    items = _folder_items(mb, name)
    f = el(parent, NS_T, kind)
    el(f, NS_T, "FolderId", Id=folder_id(mb.user["id"], name), ChangeKey=change_key(
        f"{name}{len(items)}{sum(1 for i in items if not i.get('read', True))}"))
    if cls:
        el(f, NS_T, "FolderClass", cls)
    el(f, NS_T, "DisplayName", display)
    el(f, NS_T, "TotalCount", len(items))
    el(f, NS_T, "ChildFolderCount", len(_children(name)))
    if kind != "CalendarFolder":
        el(f, NS_T, "UnreadCount", sum(1 for i in items if not i.get("read", True)))
    return f


def _error_message(parent, tag, e):
    m = el(parent, NS_M, tag, ResponseClass="Error")
    el(m, NS_M, "MessageText", e.text)
    el(m, NS_M, "ResponseCode", e.code)
    el(m, NS_M, "DescriptiveLinkKey", "0")
    return m


def _response(operation):
    """The <m:OPERATIONResponse> root of an operation's answer and its <m:ResponseMessages>."""
    root = el(None, NS_M, f"{operation}Response", nsmap={"m": NS_M, "t": NS_T})
    return root, el(root, NS_M, "ResponseMessages")


def _each_folder(ex, user, req, detail, msgs, operation, ids_path, select=None,
                 error_child=None):
    """The folders of a per-folder operation (GetFolder, FindFolder, FindItem), one response
    message each, in `msgs`.  For each folder id under `ids_path` (a request without one
    fails schema validation) it resolves the folder, calls select(mailbox, folder name)
    when given, and yields (a new successful <m:OPERATIONResponseMessage>, mailbox, folder
    name, what select returned).  A ResponseError of either makes that folder's message an
    error instead (holding an empty `error_child` where the schema wants one)."""
    ids = req.find(ids_path, NS)
    if ids is None or len(ids) == 0:
        raise EwsFault("ErrorSchemaValidation", f"no {ids_path.split(':', 1)[1]}")
    tag = f"{operation}ResponseMessage"
    for fid in ids:
        if not isinstance(fid.tag, str):
            continue
        try:
            mb, name = _resolve_folder(ex, user, fid, detail)
            selected = select(mb, name) if select is not None else None
        except ResponseError as e:
            m = _error_message(msgs, tag, e)
            if error_child is not None:
                el(m, NS_M, error_child)
            continue
        m = el(msgs, NS_M, tag, ResponseClass="Success")
        el(m, NS_M, "ResponseCode", "NoError")
        yield m, mb, name, selected


@operation("GetFolder")
def get_folder(ex, user, req, detail):
    root, msgs = _response("GetFolder")
    for m, mb, name, _ in _each_folder(ex, user, req, detail, msgs, "GetFolder", "m:FolderIds",
                                       error_child="Folders"):
        _folder_element(el(m, NS_M, "Folders"), mb, name)
    return root


# restrictions ---------------------------------------------------------------------------------
def _field(item, uri, folder=False):
    """The value of FieldURI `uri` for an item (or folder) dict, or None (absent)."""
    if folder:
        return {"folder:DisplayName": item["display"], "folder:FolderClass": item["class"]
                }.get(uri)
    return {
        "item:ItemClass": item.get("class", CLASS_APPOINTMENT),
        "item:Subject": item.get("subject"),
        "item:DateTimeReceived": item.get("received", item.get("start")),
        "message:IsRead": item.get("read"),
        "calendar:Start": item.get("start"),
        "calendar:End": item.get("end"),
    }.get(uri)


def _compare(value, constant):
    """-1/0/1 comparing an item value with a restriction constant (strings: ignore case)."""
    if isinstance(value, bool):
        c = constant.strip().lower() in ("true", "1")
        return (value > c) - (value < c)
    if isinstance(value, float):
        t = parse_time(constant)
        return (value > t) - (value < t)
    a, b = str(value).lower(), constant.lower()
    return (a > b) - (a < b)


ITEM_QUERY_FIELDS = ("item:ItemClass", "item:Subject", "item:DateTimeReceived",
                     "message:IsRead", "calendar:Start", "calendar:End")
FOLDER_QUERY_FIELDS = ("folder:DisplayName", "folder:FolderClass")
COMPARISONS = {"IsEqualTo": lambda c: c == 0, "IsNotEqualTo": lambda c: c != 0,
               "IsGreaterThan": lambda c: c > 0, "IsGreaterThanOrEqualTo": lambda c: c >= 0,
               "IsLessThan": lambda c: c < 0, "IsLessThanOrEqualTo": lambda c: c <= 0}


def matches(node, item, folder=False):
    """Evaluate a restriction element against an item."""
    tag = etree.QName(node).localname
    kids = [k for k in node if isinstance(k.tag, str)]
    if tag == "And":
        return all(matches(k, item, folder) for k in kids)
    if tag == "Or":
        return any(matches(k, item, folder) for k in kids)
    if tag == "Not":
        return not matches(kids[0], item, folder) if kids else True
    path = node.find("t:FieldURI", NS)
    if path is None:
        raise ResponseError("ErrorUnsupportedPathForQuery", "The property path is not "
                            "supported for this query.")
    uri = path.get("FieldURI")
    known = FOLDER_QUERY_FIELDS if folder else ITEM_QUERY_FIELDS
    if uri not in known:
        raise ResponseError("ErrorUnsupportedPathForQuery", f"{uri} is not supported in "
                            "this query.")
    value = _field(item, uri, folder)
    if tag == "Exists":
        return value is not None
    if value is None:
        return tag == "IsNotEqualTo"
    if tag == "Contains":
        const = node.find("t:Constant", NS)
        want = const.get("Value", "") if const is not None else ""
        ignore = (node.get("ContainmentComparison") or "Exact") in (
            "IgnoreCase", "IgnoreCaseAndNonSpacingCharacters", "Loose", "LooseAndIgnoreCase")
        v, w = (str(value).lower(), want.lower()) if ignore else (str(value), want)
        mode = node.get("ContainmentMode") or "Substring"
        return {"FullString": v == w, "Prefixed": v.startswith(w),
                "Substring": w in v, "PrefixOnWords": any(x.startswith(w) for x in v.split()),
                "ExactPhrase": w in v}.get(mode, w in v)
    fn = COMPARISONS.get(tag)
    if fn is None:
        raise ResponseError("ErrorInvalidRestriction", f"Restriction {tag} is not supported.")
    const = node.find("t:FieldURIOrConstant/t:Constant", NS)
    if const is None:
        raise ResponseError("ErrorInvalidRestriction", "FieldURIOrConstant needs a Constant.")
    return fn(_compare(value, const.get("Value", "")))


def _restriction(req):
    r = req.find("m:Restriction", NS)
    kids = [k for k in r if isinstance(k.tag, str)] if r is not None else []
    return kids[0] if kids else None


# FindFolder -----------------------------------------------------------------------------------
@operation("FindFolder")
def find_folder(ex, user, req, detail):
    root, msgs = _response("FindFolder")
    deep = (req.get("Traversal") or "Shallow") == "Deep"
    restriction = _restriction(req)

    def select(mb, name):
        found = _descendants(name, deep)
        if restriction is not None:
            found = [f for f in found if matches(restriction, {
                "display": FOLDERS[f][0], "class": FOLDERS[f][1]}, folder=True)]
        return found

    for m, mb, name, found in _each_folder(ex, user, req, detail, msgs, "FindFolder",
                                           "m:ParentFolderIds", select):
        rf = el(m, NS_M, "RootFolder", TotalItemsInView=len(found),
                IncludesLastItemInRange="true")
        fs = el(rf, NS_T, "Folders")
        for f in found:
            _folder_element(fs, mb, f)
    return root


def _descendants(name, deep):
    out = []
    for c in _children(name):
        out.append(c)
        if deep:
            out += _descendants(c, True)
    return out


# FindItem -------------------------------------------------------------------------------------
ITEM_FIELDS = ("item:ItemClass", "item:Subject", "item:DateTimeReceived", "message:IsRead",
               "message:From", "calendar:Start", "calendar:End", "calendar:Location",
               "calendar:LegacyFreeBusyStatus", "calendar:IsMeeting", "calendar:Organizer")


@operation("FindItem")
def find_item(ex, user, req, detail):
    root, msgs = _response("FindItem")
    shape = req.find("m:ItemShape", NS)
    base = _text(shape, "t:BaseShape") or "Default"
    extra = {p.get("FieldURI") for p in req.findall("m:ItemShape/t:AdditionalProperties/"
                                                    "t:FieldURI", NS)}
    fields = set(ITEM_FIELDS) if base != "IdOnly" else extra
    restriction = _restriction(req)
    cal_view = req.find("m:CalendarView", NS)
    paged = req.find("m:IndexedPageItemView", NS)

    def select(mb, name):
        return _select(name, _folder_items(mb, name), cal_view, paged, restriction, detail)

    for m, mb, name, (items, total, last) in _each_folder(
            ex, user, req, detail, msgs, "FindItem", "m:ParentFolderIds", select):
        rf = el(m, NS_M, "RootFolder", TotalItemsInView=total,
                IncludesLastItemInRange=_b(last))
        box = el(rf, NS_T, "Items")
        for it in items:
            _item_element(box, it, name, fields)
    return root


def _select(name, items, cal_view, paged, restriction, detail):
    """(items to return, TotalItemsInView, IncludesLastItemInRange)."""
    if cal_view is not None:
        if name != "calendar":
            raise ResponseError("ErrorInvalidOperation", "CalendarView is only valid on "
                                "calendar folders.")
        a, b = parse_time(cal_view.get("StartDate")), parse_time(cal_view.get("EndDate"))
        if b <= a:
            raise ResponseError("ErrorInvalidOperation", "EndDate is before StartDate.")
        detail["calendar_view"] = [a, b]
        found = sorted((c for c in items if c["start"] < b and c["end"] > a),
                       key=lambda c: c["start"])
        if restriction is not None:  # not allowed with CalendarView on real Exchange
            raise ResponseError("ErrorInvalidRestriction", "Restrictions and sort order may "
                                "not be specified for a CalendarView.")
        limit = cal_view.get("MaxEntriesReturned")
        if limit is not None and limit.isdigit() and len(found) > int(limit):
            raise ResponseError("ErrorCalendarViewRangeTooBig", "The number of calendar "
                                "entries exceeds MaxEntriesReturned.")
        return found, len(found), True
    found = sorted(items, key=lambda i: -i.get("received", i.get("start", 0)))
    if restriction is not None:
        detail["restricted"] = True
        found = [i for i in found if matches(restriction, i)]
    total = len(found)
    if paged is not None:
        try:
            offset = int(paged.get("Offset") or 0)
            limit = int(paged.get("MaxEntriesReturned") or total or 1)
        except ValueError:
            raise EwsFault("ErrorSchemaValidation", "IndexedPageItemView") from None
        if (paged.get("BasePoint") or "Beginning") == "End":
            found = found[::-1]
        page = found[offset:offset + limit]
        return page, total, offset + len(page) >= total
    return found, total, True


def _item_element(parent, it, folder, fields):
    is_cal = folder == "calendar"
    e = el(parent, NS_T, "CalendarItem" if is_cal else "Message")
    el(e, NS_T, "ItemId", Id=item_id(it), ChangeKey=change_key(it["id"] + str(it.get("read"))))
    if "item:ItemClass" in fields:
        el(e, NS_T, "ItemClass", it.get("class", CLASS_APPOINTMENT))
    if "item:Subject" in fields:
        el(e, NS_T, "Subject", it["subject"])
    if not is_cal:
        if "item:DateTimeReceived" in fields:
            el(e, NS_T, "DateTimeReceived", utc(it["received"]))
        if "message:From" in fields:
            mbx = el(el(e, NS_T, "From"), NS_T, "Mailbox")
            el(mbx, NS_T, "Name", it.get("name") or it["from"])
            if it.get("caller_id"):
                el(mbx, NS_T, "EmailAddress", it["caller_id"])
            el(mbx, NS_T, "RoutingType", "SMTP")
        if "message:IsRead" in fields:
            el(e, NS_T, "IsRead", _b(it["read"]))
        return
    if "calendar:Start" in fields:
        el(e, NS_T, "Start", utc(it["start"]))
    if "calendar:End" in fields:
        el(e, NS_T, "End", utc(it["end"]))
    if "calendar:LegacyFreeBusyStatus" in fields:
        el(e, NS_T, "LegacyFreeBusyStatus", it["busy_type"])
    if "calendar:Location" in fields:
        el(e, NS_T, "Location", it["location"])
    if "calendar:IsMeeting" in fields:
        el(e, NS_T, "IsMeeting", _b(it["is_meeting"]))
    if "calendar:Organizer" in fields and it.get("organizer"):
        mbx = el(el(e, NS_T, "Organizer"), NS_T, "Mailbox")
        el(mbx, NS_T, "Name", it["organizer"])


