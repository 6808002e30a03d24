# SPDX-License-Identifier: LGPL-2.1-or-later
"""What a front end does after registration: provisioning, roaming data, presence.

The registrar hands every verified request of a registered endpoint to handle_request()
(sim/README.md, "The contract for services.py").  This module keeps the in-memory state a
real pool keeps (per simulated deployment, keyed by the Sim object):

  presentities   per AOR: category publications with versions (MS-PRES), containers with
                 members and versions, subscribers; for people who are not scenario users
                 (contacts such as carol or grace@fabrikam) a static presence taken from
                 the scenario's contact entries
  subscriptions  per endpoint (endpoint.subscriptions): roaming-contacts, roaming-self and
                 presence dialogs with their expiry, NOTIFY CSeq and watched resources
  contact lists  the scenario's [[groups.<user>]]/[[contacts.<user>]] plus a deltaNum

Requests handled (everything else: None, and the core answers 405/501):

  SUBSCRIBE  Event: vnd-microsoft-provisioning-v2   one-off query (MS-SIPREGE 2.2.2.4/5):
             200 with Expires: 0, subscription-state: terminated, the provisionGroupList
             piggy-backed (ms-piggyback-cseq); 406 when Accept does not allow the type
  SUBSCRIBE  Event: vnd-microsoft-roaming-contacts  contactList (deltaNum, groups incl. '~')
  SUBSCRIBE  Event: vnd-microsoft-roaming-self      roamingData (categories, containers,
                                                    subscribers as asked in roamingList)
  SUBSCRIBE  Event: presence                        batched (Require: adhoclist; batchSub or
             LCS adrl body) or single (To = the contact): multipart/related rlmi +
             categories, piggy-backed on the 200 when the client supports it
             Refresh inside the dialog, Expires: 0 ends it (200, terminated); a request
             inside an unknown dialog gets 481.  Without Supported: ms-piggyback-first-notify
             the first document comes in a NOTIFY right after the 200.
  SERVICE    application/msrtc-category-publish+xml  versions checked for every publication
             first; any stale one -> 409 application/msrtc-fault+xml
             Client.BadCall.WrongDelta with details/operation[@index,@version,@curVersion]
             for each (nothing applied); else 200, versions + 1, expires="0" removes, then
             a roaming-self (BE)NOTIFY to the user's endpoints and a presence (BE)NOTIFY to
             every endpoint watching the user (fan-out)
  SERVICE    application/msrtc-setcontainermembers+xml  container versions checked the same
             way; members added/removed; watchers re-notified (their view may change)
  SERVICE    application/msrtc-presence-setsubscriber+xml  acknowledges subscribers
  SERVICE    location profile (see on_location_profile for the request sfbsim accepts)
  SERVICE    to mrasUri / focusFactoryUri: sim/features.py (scenario [features])
  INVITE     sip:ocschat@<domain> -> 404 with ms-diagnostics (no group chat server); other
             INVITEs -> 404 (unknown); sessions to users and endpoints are routed by sim/im.py
             before services see them
  OPTIONS    200;  BYE/CANCEL 481;  ACK nothing

Notifications go out as BENOTIFY when the subscription said Supported: ms-benotify
(never answered), else as NOTIFY (a 481 answer ends the subscription); the control action
set_notify_method forces one or the other.

Control actions (sim/control.py; SimControl(workdir).<name>(...)): set_presence,
set_presences, set_card, add_contact, remove_contact, add_group, set_dialplan, set_policy,
set_ucs_mode, bump_versions (forces the next publish into a 409), set_notify_method,
set_presence_routing, presence, services_state, reset_services.  See each function's
docstring.
"""

import asyncio
import copy
import itertools
import logging
import re
import secrets
import time
import weakref

from . import aggregation
from . import documents as D
from . import features
from .control import action
from .scenario import check_endpoints
from .sipmsg import normalize_aor, parse_params, uri_user_host

log = logging.getLogger("sfbsim.services")

#: default Expires granted for roaming and presence subscriptions (timers.subscription_expires
#: in the scenario overrides it)
DEFAULT_SUBSCRIPTION_EXPIRES = 7200
#: how long to wait for a client's answer to a NOTIFY
NOTIFY_TIMEOUT = 5.0

OFFLINE = 18500
#: server-published instances (docs/protocol.md §11.4)
INSTANCE_AGGREGATE_STATE = 0x00000001
INSTANCE_AGGREGATE_MACHINE = 0x10000000
INSTANCE_USER_STATE = 0x20000000
#: containers the server's aggregation publishes aggregateState to (Lync SDK
#: aggregation-containers.md: 100, 200, 400 from the first, 300 from the second aggregation
#: container; SIPE reads the self copy from container 2)
AGGREGATE_CONTAINERS = (2, 100, 200, 300, 400)
BLOCKED = 32000

EV_PROVISIONING = "vnd-microsoft-provisioning-v2"
EV_CONTACTS = "vnd-microsoft-roaming-contacts"
EV_SELF = "vnd-microsoft-roaming-self"
EV_PRESENCE = "presence"

_TEMPLATE = re.compile(r"\{(uri|user|domain|pool|pool_port|edge|dialplan|name)\}")


# state ------------------------------------------------------------------------------------
class Pub:
    """A stored category instance."""

    __slots__ = ("name", "instance", "container", "version", "expire_type", "content",
                 "publish_time", "epid", "seq")

    def __init__(self, name, instance, container, version, expire_type, content, epid=None,
                 seq=0):
        self.name, self.instance, self.container = name, instance, container
        self.version, self.expire_type, self.content = version, expire_type, content
        self.publish_time = D.iso_time()
        self.epid, self.seq = epid, seq

    @property
    def key(self):
        return (self.name, self.instance, self.container)

    def category(self):
        return D.Category(self.name, self.instance, self.container, self.version,
                          self.expire_type, self.publish_time, self.content)


class Presentity:
    """Presence state of one AOR."""

    def __init__(self, aor):
        self.aor = aor
        self.pubs = {}          # (name, instance, container) -> Pub
        self.containers = {}    # id -> [version, [(type, value)]]
        self.subscribers = {}   # watcher aor -> {"acknowledged": bool, "displayName": str}
        self.static = None      # non-users: {"availability", "activity", "note", "version"}
        self.forced = False     # a control action set the presence: shown without endpoints
        self.aggregate = None   # (availability, activity) last published by the server
        self.card = {}          # set_card's values over person_info's (the directory's)
        self.card_version = 1   # the contactCard category's version, + 1 per set_card


class Subscription:
    """One SUBSCRIBE dialog (the server is the notifier)."""

    def __init__(self, event, ep, msg, local_tag, expires):
        frm = msg.from_addr()
        self.event, self.ep = event, ep
        self.call_id = msg.call_id
        self.local_tag = local_tag
        self.remote_tag = frm.tag
        self.remote_uri = frm.uri
        self.target_uri = msg.to_addr().uri
        self.expires_at = time.monotonic() + expires
        self.cseq = 0
        self.resources = []     # presence: watched AORs
        self.categories = None  # presence: category names asked for (None: all)
        self.roaming = None     # roaming-self: requested types
        self.list_uri = self.target_uri
        self.rlmi_version = 0
        self.single = False
        self.benotify = "ms-benotify" in [s.lower() for s in msg.get_list("Supported")]
        self.piggyback = "ms-piggyback-first-notify" in [s.lower() for s in
                                                         msg.get_list("Supported")]

    @property
    def key(self):
        return (self.event, self.call_id)

    @property
    def alive(self):
        return time.monotonic() < self.expires_at

    def remaining(self):
        return max(0, int(self.expires_at - time.monotonic()))


class State:
    """Everything services keep for one Sim."""

    def __init__(self, sim):
        self.sim = sim
        self.presentities = {}
        self.deltanum = {}      # user id -> deltaNum of the contact list
        self.provisioning = []  # [(endpoint, query dict)] remembered provisioning queries
        self.notify_method = "auto"
        self.presence_routing = "direct"
        self.publish_faults = {}  # aor -> [code, count] (fail_publish)
        self.tasks = set()
        self.seq = itertools.count(1)

    @property
    def scenario(self):
        return self.sim.scenario

    def presentity(self, uri):
        aor = normalize_aor(uri)
        p = self.presentities.get(aor)
        if p is None:
            p = self.presentities[aor] = Presentity(aor)
            if self.sim.user(aor) is None:
                info = person_info(self, aor)
                p.static = {"availability": int(info.get("availability", OFFLINE)),
                            "activity": info.get("activity"), "note": info.get("note"),
                            "version": 1}
        return p

    def spawn(self, coro):
        spawn = getattr(self.sim, "spawn", None)
        t = spawn(coro) if spawn else asyncio.get_running_loop().create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

    async def flush(self):
        """Wait until every notification task started so far (and those they start) ended."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


_STATES = weakref.WeakKeyDictionary()


def state_for(sim):
    st = _STATES.get(sim)
    if st is None:
        st = _STATES[sim] = State(sim)
    return st


async def flush(sim):
    """Tests: wait for the fan-out triggered so far."""
    await state_for(sim).flush()


# helpers ----------------------------------------------------------------------------------
def _tag():
    return secrets.token_hex(16)


def _event(msg):
    return (msg.get("Event") or "").split(";")[0].strip().lower()


def _diag(ep, code, reason):
    reg = getattr(ep, "registrar", None)
    source = getattr(reg, "fqdn", None) or ep.scenario.domain
    return ("ms-diagnostics", f'{code};reason="{reason}";source="{source}"')


def _respond(ep, msg, code, reason=None, headers=(), body=b"", content_type=None):
    return ep.make_response(msg, code, reason, list(headers), body, content_type)


def _registrar_contact(ep):
    reg = getattr(ep, "registrar", None)
    if reg is None:
        return f"<sip:{ep.scenario.domain};transport=tls>"
    return f"<sip:{reg.fqdn}:{reg.port};transport=tls>"


def user_key(user):
    return user["id"]


def person_info(st, aor):
    """What the deployment knows about a person: the scenario user, else the first contact
    entry with that URI in any contact list (name, email, title, availability, note...)."""
    aor = normalize_aor(aor)
    info = {}
    u = st.sim.user(aor)
    if u is not None:
        info.update(u)
        local, host = uri_user_host(aor)
        # the directory's mail attribute: the mailbox's primary SMTP address when the
        # deployment has Exchange ([mailboxes.<id>] email, which may differ from the SIP
        # address), else the SIP address's user@host
        ex = getattr(st.sim, "exchange", None)
        mb = ex.mailboxes.get(u["id"]) if ex is not None else None
        info.setdefault("email", mb.email if mb is not None else f"{local}@{host}")
    for contacts in st.scenario.data.get("contacts", {}).values():
        for c in contacts:
            if normalize_aor(c.get("uri", "")) == aor:
                for k, v in c.items():
                    info.setdefault(k, v)
                break
    im = getattr(st.sim, "im", None)  # sfbsim's own users (the echo user, sim/im.py)
    for k, v in (im.person_info(aor) if im is not None else {}).items():
        info.setdefault(k, v)
    if "name" not in info:
        info["name"] = uri_user_host(aor)[0]
    return info


def is_federated(st, aor):
    return uri_user_host(aor)[1].lower() != st.scenario.domain


def _template(st, user, value):
    """{uri} {user} {domain} {pool} {pool_port} {edge} {dialplan} {name} in policy strings."""
    if not isinstance(value, str):
        return value
    sc = st.scenario
    pool = sc.registrar(user["pool"]) if hasattr(sc, "registrar") else None
    edge = sc.registrar("edge") if hasattr(sc, "registrar") else None
    values = {
        "uri": user["uri"], "user": uri_user_host(user["uri"])[0], "domain": sc.domain,
        "pool": pool.fqdn if pool else f"{user['pool']}.{sc.domain}",
        "pool_port": str(pool.port if pool else 5061),
        "edge": edge.fqdn if edge else (pool.fqdn if pool else sc.domain),
        "dialplan": user_dialplan(st, user).get("name", ""),
        "name": user.get("name", ""),
    }
    return _TEMPLATE.sub(lambda m: values[m.group(1)], value)


# dial plan ------------------------------------------------------------------------------
def dialplans(st):
    """The scenario's location profiles: [dialplan] itself plus [[dialplan.profiles]]."""
    dp = st.scenario.data.get("dialplan", {})
    out = []
    if dp.get("name"):
        out.append({k: v for k, v in dp.items() if k != "profiles"})
    out.extend(dp.get("profiles", []))
    return out


def user_dialplan(st, user):
    """The user's profile: users.<id>.dialplan names one, else [dialplan]."""
    plans = dialplans(st)
    want = user.get("dialplan")
    for p in plans:
        if want and p.get("name") == want:
            return p
    return plans[0] if plans else {}


def is_location_profile_request(msg):
    """True for the SERVICE sfbsim treats as a location-profile request (see
    on_location_profile)."""
    params = parse_params(";" + msg.uri.split(";", 1)[1]) if ";" in msg.uri else {}
    opaque = (params.get("opaque") or "").lower()
    if opaque.startswith("app:locationprofile"):
        return True
    types = [msg.content_type or ""] + [a.split(";")[0].strip().lower()
                                        for a in msg.get_list("Accept")]
    return D.CT_LOCATION_PROFILE in types


async def on_location_profile(st, ep, msg):
    """SERVICE for the user's location profile (dial plan), MS-SIPRE 2.2.3, 2.2.8, 3.8.5.1.

    docs/protocol.md §11.6 marks the client's exact request unconfirmed.  sfbsim implements what
    MS-SIPRE describes and is lenient about the rest:

      - the request is a SERVICE whose Request-URI is the user's location-profile GRUU:
        the user's AOR with `opaque=app:locationprofile:get` (the opaque value is sfbsim's
        reading of MS-SIPRE's app-locationprofile-opaque-val) and either `default` (the
        user's assigned profile) or `phone-context=<profile name>`; provisioning
        ServerConfiguration/ucLocationProfile gives clients exactly this URI;
      - a SERVICE to the plain AOR that has Content-Type or Accept
        application/ms-location-profile-definition+xml (the type docs/protocol.md believes the
        request uses) is accepted too, as `default`;
      - a body, if any, is ignored unless it is XML carrying a <Name> (either namespace
        spelling, §17.14): then that profile is returned.

    Answers (3.8.5.1): 404 when the AOR is not a user or the named profile does not exist;
    485 Ambiguous when the GRUU has the opaque but neither `default` nor `phone-context`;
    200 with Content-Type application/ms-location-profile-definition+xml and the
    LocationProfileDescription (namespace per [dialplan] namespace, default the seed's)."""
    target = normalize_aor(msg.uri)
    user = st.sim.user(target)
    if user is None or normalize_aor(user["uri"]) != normalize_aor(ep.uri):
        return _respond(ep, msg, 404, "Not Found", [_diag(
            ep, 4005, "Destination URI either not enabled for SIP or does not exist")])
    params = parse_params(";" + msg.uri.split(";", 1)[1]) if ";" in msg.uri else {}
    name = params.get("phone-context")
    if name is None and msg.body.strip():
        try:
            root = D.parse_xml(msg.body)
            el = next((e for e in root.iter() if D.local_name(e.tag) == "Name"), None)
            if el is not None and el.text and el.text.strip():
                name = el.text.strip()
        except D.DocumentError:
            pass
    if (name is None and "default" not in params
            and (params.get("opaque") or "").lower().startswith("app:locationprofile")
            and msg.content_type != D.CT_LOCATION_PROFILE):
        return _respond(ep, msg, 485, "Ambiguous", [_diag(
            ep, 12002, "Location profile GRUU without default or phone-context")])
    if name is None:
        plan = user_dialplan(st, user)
    else:
        plan = next((p for p in dialplans(st) if p.get("name") == name), None)
    if not plan:
        return _respond(ep, msg, 404, "Not Found", [_diag(
            ep, 12003, "Location profile not found")])
    return _respond(ep, msg, 200, "OK", body=D.location_profile(plan),
                    content_type=D.CT_LOCATION_PROFILE)


# provisioning ---------------------------------------------------------------------------
def provisioning_groups(st, user, names):
    """[(group, values)] for the requested group names that the scenario's [policies.*]
    defines, strings templated for this user."""
    policies = st.scenario.data.get("policies", {})
    out = []
    for name in names:
        group = policies.get(name) if name != "directory" else None
        if not isinstance(group, dict):
            continue
        group = features.advertised(st.scenario, name, group)  # only the services sfbsim runs
        values = {}
        for k, v in group.items():
            if isinstance(v, list) and v and isinstance(v[0], dict):  # publicProviders
                values[k] = [{kk: _template(st, user, vv) for kk, vv in item.items()}
                             for item in v]
            elif isinstance(v, list):
                values[k] = [_template(st, user, x) for x in v]
            elif isinstance(v, dict):
                continue  # not a property (reserved for per-group options)
            else:
                values[k] = _template(st, user, v)
        out.append((name, values))
    return out


def provisioning_body(st, user, names):
    return D.provision_group_list(provisioning_groups(st, user, names))


async def on_provisioning(st, ep, msg):
    accept = [a.split(";")[0].strip().lower() for a in msg.get_list("Accept")]
    if accept and D.CT_PROVISIONING not in accept and "*/*" not in accept:
        return _respond(ep, msg, 406, "Not Acceptable", [("Accept", D.CT_PROVISIONING)])
    try:
        names, _subnet = D.parse_provisioning_request(msg.body)
    except D.DocumentError as e:
        return _respond(ep, msg, 400, "Bad Request", [_diag(ep, 2000, str(e))])
    expires = msg.expires() or 0
    tag = msg.to_addr().tag or _tag()
    msg.to_tag = tag
    query = {"call_id": msg.call_id, "local_tag": tag, "remote_tag": msg.from_addr().tag,
             "remote_uri": msg.from_addr().uri, "target_uri": msg.to_addr().uri,
             "names": names, "expires": expires, "cseq": 1,
             "benotify": "ms-benotify" in [s.lower() for s in msg.get_list("Supported")]}
    st.provisioning = [(e, q) for e, q in st.provisioning
                       if e is not ep and getattr(e, "registered", True)]
    st.provisioning.append((ep, query))
    state = f"active;expires={expires}" if expires else "terminated;expires=0"
    return _respond(ep, msg, 200, "OK", [
        ("Contact", _registrar_contact(ep)), ("Event", EV_PROVISIONING),
        ("subscription-state", state), ("Expires", str(expires)),
        ("ms-piggyback-cseq", "1")], provisioning_body(st, ep.user, names),
        D.CT_PROVISIONING)


async def renotify_provisioning(st, group=None):
    """Send every remembered provisioning query its document again (after a policy or dial
    plan change).  Returns how many endpoints were notified."""
    sent = 0
    jobs = []
    for ep, q in list(st.provisioning):
        if not getattr(ep, "connected", True):
            continue
        if group is not None and group not in q["names"] and group != "*":
            continue
        q["cseq"] += 1
        state = (f"active;expires={q['expires']}" if q["expires"]
                 else "terminated;expires=0")
        method = _method(st, q["benotify"])
        headers = [("From", f"<{q['target_uri']}>;tag={q['local_tag']}"),
                   ("To", f"<{q['remote_uri']}>;tag={q['remote_tag']};epid={ep.epid}"),
                   ("Call-ID", q["call_id"]), ("CSeq", f"{q['cseq']} {method}"),
                   ("Event", EV_PROVISIONING), ("subscription-state", state)]
        body = provisioning_body(st, ep.user, q["names"])
        jobs.append(_send(st, ep, method, headers, body, D.CT_PROVISIONING))
        sent += 1
    await asyncio.gather(*jobs)
    return sent


# roaming contacts -----------------------------------------------------------------------
def contact_groups(st, user):
    return D.normalize_groups(st.scenario.groups(user_key(user)))


def contacts_of(st, user):
    out = []
    for c in st.scenario.contacts(user_key(user)):
        c = dict(c)
        c.setdefault("alias", c.get("name", ""))
        out.append(c)
    return out


def deltanum(st, user):
    return st.deltanum.setdefault(user_key(user), 1)


def contacts_body(st, user):
    mode = user.get("ucs_mode")
    return D.contact_list(contact_groups(st, user), contacts_of(st, user),
                          deltanum(st, user), mode if mode in ("migrated", "notmigrated")
                          else None)


# roaming self and presence views ----------------------------------------------------------
def _registered(st, aor):
    return bool(st.sim.endpoints_for(aor))


def compute_aggregate(st, p):
    """(availability, activity token) the server's aggregation gives presentity p
    (sim/aggregation.py: a user state wins unless it is Available, a reset status; else the
    calendar, once its startTime is reached, and machine states); offline when the user has
    no registered endpoint (unless a control action set the presence)."""
    if p.static is not None:
        return p.static["availability"], p.static.get("activity")
    if not p.forced and not _registered(st, p.aor):
        return OFFLINE, None
    return aggregation.aggregate(p.pubs.values())


def update_aggregate(st, p):
    """Republish aggregateState (server publications) when the aggregation changed.
    Returns True when it did."""
    agg = compute_aggregate(st, p)
    if p.static is not None or agg == p.aggregate:
        return False
    p.aggregate = agg
    avail, act = agg
    for c in AGGREGATE_CONTAINERS:
        key = ("state", INSTANCE_AGGREGATE_STATE, c)
        old = p.pubs.get(key)
        p.pubs[key] = Pub("state", INSTANCE_AGGREGATE_STATE, c,
                          (old.version + 1) if old else 1, "static",
                          D.state_element(avail, "aggregateState", act), seq=next(st.seq))
    return True


def access_container(st, p, watcher):
    """The container whose publications watcher sees (MS-PRES: the highest-numbered
    container the watcher is a member of).  Without any matching member sfbsim uses 200
    for the same enterprise and 100 for federated watchers (sfbsim choice)."""
    watcher = normalize_aor(watcher)
    wuser, wdomain = uri_user_host(watcher)
    same = wdomain.lower() == st.scenario.domain
    best = None
    for cid, (_ver, members) in p.containers.items():
        for mtype, value in members:
            match = ((mtype == "user" and value and
                      normalize_aor(value if ":" in value else "sip:" + value) == watcher)
                     or (mtype == "domain" and (value or "").lower() == wdomain.lower())
                     or (mtype == "sameEnterprise" and same)
                     or (mtype == "federated" and not same)
                     or mtype == "everyone")
            if match and (best is None or cid > best):
                best = cid
    if best is None:
        best = 200 if same else 100
    return best


def contact_card(st, aor, container):
    """The contactCard category from the directory (person_info), with what set_card
    changed and its version."""
    info = person_info(st, aor)
    p = st.presentities.get(normalize_aor(aor))
    version = 1
    if p is not None:
        info.update(p.card)
        version = p.card_version
    return D.Category("contactCard", 0, container, version, "static",
                      content=D.contact_card_element(info))


def presence_view(st, aor, watcher, names=None, cleared=()):
    """The categories `watcher` receives for presentity `aor` (filtered to `names`); for
    each (name, container) in `cleared` that left the watcher's container empty of that
    category, the removal form <category name container/>."""
    p = st.presentity(aor)
    want = (lambda n: True) if not names else (lambda n: n in names)
    cats = []
    if p.static is not None:
        s = p.static
        same = uri_user_host(watcher)[1].lower() == uri_user_host(aor)[1].lower()
        c = 200 if same else 100  # the presentity's view: a watcher of another org is federated
        if want("contactCard"):
            cats.append(contact_card(st, aor, c))
        if want("state"):
            cats.append(D.Category("state", INSTANCE_AGGREGATE_STATE, c, s["version"],
                                   "static", content=D.state_element(
                                       s["availability"], "aggregateState", s.get("activity"))))
        if want("note") and s.get("note"):
            cats.append(D.Category("note", 0, c, s["version"], "static",
                                   content=D.note_element(s["note"])))
        return cats
    update_aggregate(st, p)
    c = access_container(st, p, watcher)
    if c == BLOCKED:
        return [contact_card(st, aor, c)] if want("contactCard") else []
    if want("contactCard"):
        cats.append(contact_card(st, aor, c))
    for pub in sorted(p.pubs.values(), key=lambda x: (x.name, x.instance)):
        if pub.container == c and want(pub.name) and pub.name != "contactCard":
            cats.append(pub.category())
    for name, container in cleared:
        if container == c and want(name) and not any(x.name == name for x in cats):
            cats.append(D.Category(name, None, container, 0))
    return cats


def self_categories(st, user, names=None):
    """Every category instance of the user (roaming-self): own and server publications,
    the contact card and userProperties (DDI, extension, Exchange UM URL)."""
    p = st.presentity(user["uri"])
    update_aggregate(st, p)
    cats = []
    if not names or "contactCard" in names:
        cats.append(contact_card(st, user["uri"], 0))
    directory = directory_info(st, user)
    if (not names or "userProperties" in names) and directory:
        cats.append(D.Category("userProperties", 0, 1, 1, "static",
                               content=D.user_properties_element(directory)))
    for pub in sorted(p.pubs.values(), key=lambda x: (x.name, x.container, x.instance)):
        if not names or pub.name in names:
            cats.append(pub.category())
    ex = getattr(st.sim, "exchange", None)  # Exchange UM's message waiting (sim/exchange.py)
    mwi = ex.mwi_category(user) if ex is not None and (not names or "mwi" in names) else None
    if mwi is not None:
        cats.append(mwi)
    return cats


def directory_info(st, user):
    """[policies.directory.<user id>] (line_uri, line_type, exum_url) over the same keys in
    the user's own table."""
    info = {k: user[k] for k in ("line_uri", "line_type", "exum_url") if k in user}
    info.update(st.scenario.data.get("policies", {}).get("directory", {})
                .get(user_key(user), {}))
    return info


def self_containers(st, user):
    p = st.presentity(user["uri"])
    return {cid: (ver, list(members)) for cid, (ver, members) in p.containers.items()}


def self_subscribers(st, user):
    p = st.presentity(user["uri"])
    out = []
    for w, info in p.subscribers.items():
        out.append({"user": uri_user_host(w)[0] + "@" + uri_user_host(w)[1],
                    "displayName": info.get("displayName", ""),
                    "acknowledged": info.get("acknowledged", False),
                    "type": "federated" if is_federated(st, w) else "sameEnterprise"})
    return out


def roaming_self_body(st, user, types, names=None, cleared=()):
    cats = None
    if "categories" in types:
        cats = self_categories(st, user, names)
        for name, container in cleared:  # removed instances: <category name container/>
            if not any(c.name == name and c.container == container for c in cats):
                cats.append(D.Category(name, None, container, 0))
    return D.roaming_data(
        user["uri"], cats,
        self_containers(st, user) if "containers" in types else None,
        self_subscribers(st, user) if "subscribers" in types else None)


# presence documents ---------------------------------------------------------------------
def _cid(uri):
    return f"{uri_user_host(uri)[0]}@{uri_user_host(uri)[1]}-{secrets.token_hex(3)}"


def presence_multipart(st, sub, uris, full_state, resubscribe=(), cleared=()):
    """multipart/related: rlmi list + one categories part per resource."""
    sub.rlmi_version += 1
    watcher = sub.ep.uri
    resources, parts = [], []
    for uri in uris:
        cid = _cid(uri)
        resources.append((uri, secrets.token_hex(4), "active", cid, None))
        parts.append((D.CT_CATEGORIES, cid,
                      D.categories(uri, presence_view(st, uri, watcher, sub.categories,
                                                      cleared))))
    for uri, pool in resubscribe:
        resources.append((uri, "0", "resubscribe", None, {"poolFqdn": pool}))
    rlmi_cid = f"rlmi-{secrets.token_hex(6)}"
    rlmi = D.rlmi_list(sub.list_uri, sub.rlmi_version - 1, full_state, resources)
    return D.multipart_related([(D.CT_RLMI, rlmi_cid, rlmi)] + parts,
                               f"sfbsim-{secrets.token_hex(8)}")


# subscriptions ------------------------------------------------------------------------------
def _granted(st, msg):
    req = msg.expires()
    default = int(st.scenario.timers.get("subscription_expires",
                                         DEFAULT_SUBSCRIPTION_EXPIRES))
    return default if req is None else min(req, default)


def _method(st, benotify):
    if st.notify_method in ("NOTIFY", "BENOTIFY"):
        return st.notify_method
    return "BENOTIFY" if benotify else "NOTIFY"


async def _send(st, ep, method, headers, body, ctype, sub=None):
    """NOTIFY or BENOTIFY; a 481 or a dead connection ends `sub`."""
    try:
        if method == "BENOTIFY":
            await ep.send_benotify(headers, body, ctype)
            return None
        resp = await ep.send_request("NOTIFY", headers, body, ctype, timeout=NOTIFY_TIMEOUT)
        if resp is not None and resp.code == 481 and sub is not None:
            ep.subscriptions.pop(sub.key, None)
        return resp
    except (asyncio.TimeoutError, ConnectionError, OSError) as e:
        log.info("notify to %s failed: %s", getattr(ep, "uri", ep), e)
        if sub is not None and isinstance(e, (ConnectionError, OSError)):
            ep.subscriptions.pop(sub.key, None)
        return None


async def notify(st, sub, body, ctype, state=None):
    """One in-dialog (BE)NOTIFY for subscription `sub`."""
    if not sub.alive:
        sub.ep.subscriptions.pop(sub.key, None)
        return None
    method = _method(st, sub.benotify)
    sub.cseq += 1
    ep = sub.ep
    headers = [("From", f"<{sub.target_uri}>;tag={sub.local_tag}"),
               ("To", f"<{sub.remote_uri}>;tag={sub.remote_tag};epid={ep.epid}"),
               ("Call-ID", sub.call_id), ("CSeq", f"{sub.cseq} {method}"),
               ("Event", sub.event),
               ("subscription-state", state or f"active;expires={sub.remaining()}")]
    if sub.event == EV_PRESENCE and ctype.startswith("multipart"):
        headers.append(("Require", "eventlist"))
    return await _send(st, ep, method, headers, body, ctype, sub)


def subscriptions(st, event=None):
    for ep in list(st.sim.endpoints()):
        for sub in list(ep.subscriptions.values()):
            if not isinstance(sub, Subscription):
                continue
            if not sub.alive:
                ep.subscriptions.pop(sub.key, None)
                continue
            if event is None or sub.event == event:
                yield sub


def _initial_document(st, sub, msg):
    """(body, content type) of a subscription's full state."""
    ep = sub.ep
    if sub.event == EV_CONTACTS:
        return contacts_body(st, ep.user), D.CT_CONTACTS
    if sub.event == EV_SELF:
        return roaming_self_body(st, ep.user, sub.roaming), D.CT_ROAMING_SELF
    direct, resub = split_by_pool(st, ep, msg, sub.resources)
    sub.resources = direct
    if sub.single:
        uri = direct[0] if direct else sub.target_uri
        return (D.categories(uri, presence_view(st, uri, ep.uri, sub.categories)),
                D.CT_CATEGORIES)
    return presence_multipart(st, sub, direct, True, resub)


def split_by_pool(st, ep, msg, uris):
    """Presence routing.  'direct' (default): the pool answers for everyone.  'pool':
    scenario users homed on another pool than the subscriber's registrar come back as rlmi
    state="resubscribe" with poolFqdn (MS-PRES 3.4.5.1.3) unless the SUBSCRIBE was sent to
    that pool (Request-URI or To host is the pool)."""
    if st.presence_routing != "pool":
        return list(uris), []
    reg = getattr(ep, "registrar", None)
    here = getattr(reg, "pool", None) or ep.user["pool"]
    targets = {uri_user_host(msg.uri)[1].split(":")[0].lower(),
               uri_user_host(msg.to_addr().uri)[1].split(":")[0].lower()}
    direct, resub = [], []
    for uri in uris:
        u = st.sim.user(uri)
        if u is None or u["pool"] == here:
            direct.append(uri)
            continue
        pool = st.scenario.registrar(u["pool"])
        fqdn = pool.fqdn if pool else u["pool"]
        if fqdn.lower() in targets:
            direct.append(uri)
        else:
            resub.append((uri, fqdn))
    return direct, resub


async def on_subscribe(st, ep, msg):
    event = _event(msg)
    if event == EV_PROVISIONING:
        return await on_provisioning(st, ep, msg)
    if event not in (EV_CONTACTS, EV_SELF, EV_PRESENCE):
        return _respond(ep, msg, 489, "Bad Event", [("Allow-Events", ", ".join(
            (EV_PROVISIONING, EV_CONTACTS, EV_SELF, EV_PRESENCE)))])
    expires = _granted(st, msg)
    to = msg.to_addr()

    if to.tag:  # inside a dialog: refresh or unsubscribe
        sub = ep.subscriptions.get((event, msg.call_id))
        if sub is None or sub.local_tag != to.tag:
            return _respond(ep, msg, 481, "Call Leg/Transaction Does Not Exist")
        if expires == 0:
            ep.subscriptions.pop(sub.key, None)
            msg.to_tag = sub.local_tag
            return _respond(ep, msg, 200, "OK", [
                ("Contact", _registrar_contact(ep)), ("Event", event), ("Expires", "0"),
                ("subscription-state", "terminated;expires=0")])
        sub.expires_at = time.monotonic() + expires
        sub.benotify = "ms-benotify" in [s.lower() for s in msg.get_list("Supported")]
    else:
        if event == EV_CONTACTS and ep.user.get("ucs_mode") == "reject":
            return _respond(ep, msg, 488, "Not Acceptable Here", [_diag(
                ep, 2042, "Contact list migrated to the Unified Contact Store")])
        sub = Subscription(event, ep, msg, _tag(), max(expires, 0))
    msg.to_tag = sub.local_tag

    # what the subscription covers
    if event == EV_SELF:
        try:
            sub.roaming = D.parse_roaming_list(msg.body)
        except D.DocumentError as e:
            return _respond(ep, msg, 400, "Bad Request", [_diag(ep, 2000, str(e))])
    elif event == EV_PRESENCE:
        err = _presence_resources(st, ep, msg, sub)
        if err is not None:
            return err

    body, ctype = _initial_document(st, sub, msg)
    if expires > 0 and sub.key not in ep.subscriptions and (not to.tag):
        ep.subscriptions[sub.key] = sub
    if event == EV_PRESENCE:
        _note_subscribers(st, ep, sub.resources)
    state = f"active;expires={expires}" if expires > 0 else "terminated;expires=0"
    headers = [("Contact", _registrar_contact(ep)), ("Event", event),
               ("subscription-state", state), ("Expires", str(expires))]
    if sub.piggyback or expires == 0:
        sub.cseq += 1  # the piggy-backed document counts as this dialog's next NOTIFY
        headers.append(("ms-piggyback-cseq", str(sub.cseq)))
        return _respond(ep, msg, 200, "OK", headers, body, ctype)
    resp = _respond(ep, msg, 200, "OK", headers)
    ep.send_response(resp)
    st.spawn(notify(st, sub, body, ctype))
    return None


def _presence_resources(st, ep, msg, sub):
    """Fill sub.resources/categories/single from a presence SUBSCRIBE; an error response or
    None."""
    ctype = msg.content_type or ""
    batched = ("adhoclist" in [r.lower() for r in msg.get_list("Require")]
               or ctype in (D.CT_ADRL_CATEGORYLIST, D.CT_ADRL))
    if batched:
        try:
            action_name, uris, cats, _ctx = D.parse_batch_subscribe(msg.body)
        except D.DocumentError as e:
            return _respond(ep, msg, 400, "Bad Request", [_diag(ep, 2000, str(e))])
        uris = [normalize_aor(u) for u in uris]
        if action_name == "unsubscribe":
            sub.resources = [u for u in sub.resources if u not in uris]
        else:
            merged = list(sub.resources)
            merged += [u for u in uris if u not in merged]
            sub.resources = merged
        sub.categories = cats
        sub.single = False
        sub.list_uri = sub.target_uri
    else:
        target = normalize_aor(msg.to_addr().uri)
        if msg.body.strip():
            try:
                _a, uris, cats, _ctx = D.parse_batch_subscribe(msg.body)
                sub.categories = cats
                if uris:
                    target = normalize_aor(uris[0])
            except D.DocumentError:
                pass
        sub.resources = [target]
        sub.single = True
    return None


def _note_subscribers(st, ep, uris):
    """Watcher ep.uri now subscribes to each of `uris`: record it as a subscriber of each
    scenario user and tell their roaming-self subscriptions about a new one."""
    watcher = normalize_aor(ep.uri)
    for uri in uris:
        u = st.sim.user(uri)
        if u is None or normalize_aor(u["uri"]) == watcher:
            continue
        p = st.presentity(uri)
        if watcher in p.subscribers:
            continue
        known = any(normalize_aor(c["uri"]) == watcher for c in contacts_of(st, u))
        p.subscribers[watcher] = {"acknowledged": known,
                                  "displayName": person_info(st, watcher).get("name", "")}
        st.spawn(fanout_self(st, u, types={"subscribers"}))


# fan-out ----------------------------------------------------------------------------------
async def fanout_presence(st, aor, names=None, cleared=()):
    """Tell every live presence subscription watching `aor` (rlmi + categories); `cleared`:
    the (name, container) of removed instances."""
    aor = normalize_aor(aor)
    jobs = []
    for sub in subscriptions(st, EV_PRESENCE):
        if aor not in sub.resources:
            continue
        if sub.single:
            body = D.categories(aor, presence_view(st, aor, sub.ep.uri, sub.categories,
                                                   cleared))
            jobs.append(notify(st, sub, body, D.CT_CATEGORIES))
        else:
            body, ctype = presence_multipart(st, sub, [aor], False, cleared=cleared)
            jobs.append(notify(st, sub, body, ctype))
    await asyncio.gather(*jobs)
    return len(jobs)


async def fanout_self(st, user, names=None, types=None, cleared=()):
    """roaming-self (BE)NOTIFY to the user's own endpoints (only the changed parts)."""
    aor = normalize_aor(user["uri"])
    jobs = []
    for sub in subscriptions(st, EV_SELF):
        if normalize_aor(sub.ep.uri) != aor:
            continue
        want = (types or {"categories"}) & (sub.roaming or {"categories"})
        if not want:
            continue
        body = roaming_self_body(st, user, want, names, cleared)
        jobs.append(notify(st, sub, body, D.CT_ROAMING_SELF))
    await asyncio.gather(*jobs)
    return len(jobs)


async def fanout_contacts(st, user, body):
    aor = normalize_aor(user["uri"])
    jobs = [notify(st, sub, body, D.CT_CONTACTS) for sub in subscriptions(st, EV_CONTACTS)
            if normalize_aor(sub.ep.uri) == aor]
    await asyncio.gather(*jobs)
    return len(jobs)


async def presence_changed(st, aor, names, self_user=None, cleared=()):
    if self_user is not None:
        await fanout_self(st, self_user, names, cleared=cleared)
    return await fanout_presence(st, aor, names, cleared)


# SERVICE: publish, containers, subscribers -----------------------------------------------
def _fault(ep, msg, faults, reason):
    return _respond(ep, msg, 409, "Conflict", [_diag(ep, 2003, reason)],
                    D.fault_wrong_delta(faults), D.CT_FAULT)


async def on_publish(st, ep, msg):
    try:
        uri, pubs = D.parse_publish(msg.body)
    except D.DocumentError as e:
        return _respond(ep, msg, 400, "Bad Request", [_diag(ep, 2000, str(e))])
    if not uri or normalize_aor(uri) != normalize_aor(ep.uri):
        return _respond(ep, msg, 403, "Forbidden", [_diag(
            ep, 2001, "Publishing for another user is not allowed")])
    fault = st.publish_faults.get(normalize_aor(ep.uri))
    if fault is not None and fault[1] > 0:
        fault[1] -= 1
        return _respond(ep, msg, fault[0], "Publication Refused", [_diag(
            ep, 2040, "Publication refused (fail_publish)")])
    p = st.presentity(ep.uri)
    faults = []
    for pub in pubs:
        cur = p.pubs.get(pub.key)
        curv = cur.version if cur else 0
        if pub.version != curv:
            faults.append((pub.index, pub.version, curv))
    if faults:
        return _fault(ep, msg, faults, "Publication version out of date")
    names, cleared = set(), []
    for pub in pubs:
        cur = p.pubs.get(pub.key)
        names.add(pub.name)
        if pub.expires == 0:
            if cur is not None:
                del p.pubs[pub.key]
                cleared.append((pub.name, pub.container))
            continue
        p.pubs[pub.key] = Pub(pub.name, pub.instance, pub.container,
                              (cur.version + 1) if cur else 1, pub.expire_type,
                              copy.deepcopy(pub.content), ep.epid, next(st.seq))
    if "state" in names and update_aggregate(st, p):
        names.add("state")
    st.spawn(presence_changed(st, p.aor, names, ep.user, cleared))
    return _respond(ep, msg, 200, "OK")


async def on_set_container_members(st, ep, msg):
    try:
        changes = D.parse_set_container_members(msg.body)
    except D.DocumentError as e:
        return _respond(ep, msg, 400, "Bad Request", [_diag(ep, 2000, str(e))])
    p = st.presentity(ep.uri)
    faults = []
    for i, (cid, version, _m) in enumerate(changes, 1):
        cur = p.containers.get(cid, [0, []])[0]
        if version != cur:
            faults.append((i, version, cur))
    if faults:
        return _fault(ep, msg, faults, "Container version out of date")
    for cid, _version, members in changes:
        entry = p.containers.setdefault(cid, [0, []])
        for act, mtype, value in members:
            m = (mtype, value)
            if act == "remove":
                entry[1] = [x for x in entry[1] if x != m]
            elif m not in entry[1]:
                entry[1].append(m)
        entry[0] += 1
    st.spawn(_after_containers(st, ep.user))
    return _respond(ep, msg, 200, "OK")


async def _after_containers(st, user):
    await fanout_self(st, user, types={"containers"})
    await fanout_presence(st, user["uri"])


async def on_set_subscribers(st, ep, msg):
    try:
        items = D.parse_set_subscribers(msg.body)
    except D.DocumentError as e:
        return _respond(ep, msg, 400, "Bad Request", [_diag(ep, 2000, str(e))])
    p = st.presentity(ep.uri)
    for user, ack in items:
        if not user:
            continue
        w = normalize_aor(user if ":" in user else "sip:" + user)
        entry = p.subscribers.setdefault(w, {"displayName": person_info(st, w)["name"]})
        entry["acknowledged"] = ack
        if ack:
            st.sim.counters.bump("subscribers_acknowledged", ep.user["id"])
    st.spawn(fanout_self(st, ep.user, types={"subscribers"}))
    return _respond(ep, msg, 200, "OK")


async def on_service(st, ep, msg):
    ctype = msg.content_type or ""
    if ctype == D.CT_CATEGORY_PUBLISH:
        return await on_publish(st, ep, msg)
    if ctype == D.CT_SET_CONTAINER_MEMBERS:
        return await on_set_container_members(st, ep, msg)
    if ctype == D.CT_SET_SUBSCRIBERS:
        return await on_set_subscribers(st, ep, msg)
    if is_location_profile_request(msg):
        return await on_location_profile(st, ep, msg)
    answer = features.on_service(ep, msg)  # MRAS, focus factory (sim/features.py)
    if answer is not None:
        return answer
    target = normalize_aor(msg.uri)
    if st.sim.user(target) is None:
        return _respond(ep, msg, 404, "Not Found", [_diag(
            ep, 4005, "Destination URI either not enabled for SIP or does not exist")])
    params = parse_params(";" + msg.uri.split(";", 1)[1]) if ";" in msg.uri else {}
    if params.get("opaque"):  # focus factory, MRAS, ...: services sfbsim does not run
        return _respond(ep, msg, 404, "Not Found", [_diag(
            ep, 4005, f"Service {params['opaque']} not available")])
    return _respond(ep, msg, 415, "Unsupported Media Type", [("Accept", ", ".join(
        (D.CT_CATEGORY_PUBLISH, D.CT_SET_CONTAINER_MEMBERS, D.CT_SET_SUBSCRIBERS,
         D.CT_LOCATION_PROFILE)))])


# INVITE and the rest ------------------------------------------------------------------------
def on_invite(st, ep, msg):
    target = normalize_aor(msg.uri)
    local, host = uri_user_host(target)
    if st.sim.user(target) is not None:
        return _respond(ep, msg, 480, "Temporarily Unavailable", [_diag(
            ep, 15030, "sfbsim does not route sessions")])
    return _respond(ep, msg, 404, "Not Found", [_diag(
        ep, 4005, "Destination URI either not enabled for SIP or does not exist")])


def _expire(st):
    """Drop expired subscriptions (so the control counters see only live ones)."""
    for _sub in subscriptions(st):
        pass


async def handle_request(endpoint, msg):
    """services contract (sim/README.md): a response, or None."""
    st = state_for(endpoint.sim)
    _expire(st)
    m = msg.method
    if m == "SUBSCRIBE":
        return await on_subscribe(st, endpoint, msg)
    if m == "SERVICE":
        return await on_service(st, endpoint, msg)
    if m == "INVITE":
        return on_invite(st, endpoint, msg)
    if m == "OPTIONS":
        return _respond(endpoint, msg, 200, "OK", [("Allow", "INVITE, ACK, CANCEL, BYE, "
                                                    "SUBSCRIBE, NOTIFY, SERVICE, OPTIONS")])
    if m in ("BYE", "CANCEL"):
        return _respond(endpoint, msg, 481, "Call Leg/Transaction Does Not Exist")
    return None


def endpoint_added(endpoint):
    state_for(endpoint.sim)


def endpoint_removed(endpoint, reason):
    """Drop the endpoint's subscriptions and its expireType=endpoint publications (and the
    expireType=user ones when it was the user's last endpoint); watchers learn the new
    aggregate."""
    st = state_for(endpoint.sim)
    for key in [k for k, s in endpoint.subscriptions.items() if isinstance(s, Subscription)]:
        endpoint.subscriptions.pop(key, None)
    st.provisioning = [(e, q) for e, q in st.provisioning if e is not endpoint]
    aor = normalize_aor(endpoint.uri)
    p = st.presentities.get(aor)
    if p is None:
        return
    last = not st.sim.endpoints_for(aor)
    gone = [k for k, pub in p.pubs.items()
            if (pub.expire_type == "endpoint" and pub.epid == endpoint.epid)
            or (pub.expire_type == "user" and last)]
    for k in gone:
        del p.pubs[k]
    if update_aggregate(st, p) or gone:
        try:
            st.spawn(presence_changed(st, aor, {"state"}, endpoint.user,
                                      [(k[0], k[2]) for k in gone]))
        except RuntimeError:  # no running loop (shutdown)
            pass


# control actions ----------------------------------------------------------------------------
def _user(sim, user):
    u = sim.user(user)
    if u is None:
        raise ValueError(f"no user {user!r}")
    return u


def _aor(sim, who):
    u = sim.user(who)
    if u is not None:
        return normalize_aor(u["uri"])
    if ":" not in who and "@" not in who:
        raise ValueError(f"no user {who!r}")
    return normalize_aor(who if ":" in who else "sip:" + who)


@action("set_presence")
async def set_presence(sim, user, availability=None, activity=None, note=None, clear=False):
    """Change someone's presence as the server sees it and notify every watcher.
    `user`: a scenario user id/URI or any contact URI.  For a scenario user this publishes a
    userState (containers 2 and 3, instance 0x20000000) and, with `note`, a personal note
    (containers 200, 300, 400), as another endpoint of that user would, so the user's own
    clients get a roaming-self update too; the presence then shows even when no endpoint
    is registered.  clear=true removes those and returns to the endpoints' aggregate.
    Returns {"watchers": n, "availability": a}."""
    st = state_for(sim)
    aor = _aor(sim, user)
    p = st.presentity(aor)
    names = {"state"}
    if p.static is not None:
        if availability is not None:
            p.static["availability"] = int(availability)
        if activity is not None:
            p.static["activity"] = activity or None
        if note is not None:
            p.static["note"] = note or None
            names.add("note")
        if clear:
            p.static.update(availability=OFFLINE, activity=None, note=None)
        p.static["version"] += 1
        n = await fanout_presence(st, aor, names)
        return {"watchers": n, "availability": p.static["availability"]}
    u = sim.user(aor)
    cleared = []
    if clear:
        for key in [k for k in p.pubs if k[1] == INSTANCE_USER_STATE or
                    (k[0] == "note" and k[1] == 0)]:
            cleared.append((key[0], key[2]))
            del p.pubs[key]
        p.forced = False
        names.add("note")
    if availability is not None:
        for c in (2, 3):
            key = ("state", INSTANCE_USER_STATE, c)
            old = p.pubs.get(key)
            p.pubs[key] = Pub("state", INSTANCE_USER_STATE, c, (old.version + 1) if old else 1,
                              "static", D.state_element(int(availability), "userState",
                                                        activity, manual=True),
                              seq=next(st.seq))
        p.forced = True
    if note is not None:
        names.add("note")
        for c in (200, 300, 400):
            key = ("note", 0, c)
            old = p.pubs.get(key)
            if note:
                p.pubs[key] = Pub("note", 0, c, (old.version + 1) if old else 1, "static",
                                  D.note_element(note), seq=next(st.seq))
            elif old is not None:
                del p.pubs[key]
                cleared.append(("note", c))
    update_aggregate(st, p)
    await fanout_self(st, u, names, cleared=cleared)
    n = await fanout_presence(st, aor, names, cleared)
    return {"watchers": n, "availability": compute_aggregate(st, p)[0]}


CARD_FIELDS = ("name", "title", "company", "email", "department", "office", "phone",
               "mobile")


@action("set_card")
async def set_card(sim, user, **fields):
    """Change someone's contact card as the directory would (a scenario user id/URI or any
    contact URI): `fields` among name, title, company, email, department, office, phone,
    mobile ("" removes one).  The contactCard category's version goes up by one and every
    watcher gets a presence (BE)NOTIFY with it, the user's own endpoints a roaming-self one,
    as a front end does after a directory change.  Returns {"watchers": n, "version": v}."""
    unknown = sorted(set(fields) - set(CARD_FIELDS))
    if unknown:
        raise ValueError(f"unknown card fields {unknown}; known: {list(CARD_FIELDS)}")
    st = state_for(sim)
    aor = _aor(sim, user)
    p = st.presentity(aor)
    p.card.update({k: str(v) for k, v in fields.items()})
    p.card_version += 1
    u = sim.user(aor)
    if u is not None:
        await fanout_self(st, u, {"contactCard"})
    n = await fanout_presence(st, aor, {"contactCard"})
    return {"watchers": n, "version": p.card_version}


@action("set_presences")
async def set_presences(sim, updates, interval_ms=None):
    """Many set_presence calls in one control request (presence storms for benchmarks):
    `updates` is a list of set_presence parameter objects; `interval_ms` (optional) paces
    them, the n-th starting n * interval_ms after the first (as fast as they go without it).
    Returns how many watchers were notified in total."""
    if interval_ms is not None and not (isinstance(interval_ms, (int, float))
                                        and 0 <= interval_ms <= 1000):
        raise ValueError("interval_ms must be a number from 0 to 1000")
    loop = asyncio.get_running_loop()
    start = loop.time()
    total = 0
    for i, u in enumerate(updates):
        if not isinstance(u, dict):
            raise ValueError("updates must be a list of objects")
        if interval_ms:
            delay = start + i * interval_ms / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        total += (await set_presence(sim, **u))["watchers"]
    return {"updates": len(updates), "watchers": total}


@action("presence")
def presence(sim, user, watcher=None):
    """What the server has for `user` (id or URI): aggregate availability and activity,
    the note and the categories `watcher` (default: a same-enterprise watcher) sees."""
    st = state_for(sim)
    aor = _aor(sim, user)
    p = st.presentity(aor)
    avail, act = compute_aggregate(st, p)
    watcher = watcher or f"sip:watcher@{sim.scenario.domain}"
    view = presence_view(st, aor, watcher)
    note = None
    for c in view:
        if c.name == "note" and c.content is not None:
            body = next(iter(c.content), None)
            note = body.text if body is not None else None
    return {"uri": aor, "availability": avail, "activity": act, "note": note,
            "categories": [{"name": c.name, "instance": c.instance, "container": c.container,
                            "version": c.version} for c in view],
            "publications": [_publication_summary(pub)
                             for pub in sorted(p.pubs.values(), key=lambda x: x.key)],
            "subscribers": {w: dict(info) for w, info in p.subscribers.items()}}


def _publication_summary(pub):
    """name, instance, container, version, expireType; for a state also its xsi:type,
    availability, activity token and (calendarState) meetingSubject/meetingLocation; for
    calendarData what it holds (WorkingHours, freeBusy) and the freeBusy attributes and
    value."""
    out = {"name": pub.name, "instance": pub.instance, "container": pub.container,
           "version": pub.version, "expireType": pub.expire_type}
    c = pub.content
    if c is None:
        return out
    kids = {D.local_name(e.tag): e for e in c}
    if pub.name == "state":
        out["type"] = c.get(f"{{{D.NS_XSI}}}type") or c.get("type")
        if "availability" in kids:
            out["availability"] = (kids["availability"].text or "").strip()
        if "activity" in kids:
            out["activity"] = kids["activity"].get("token")
        for k in ("meetingSubject", "meetingLocation"):
            if k in kids:
                out[k] = kids[k].text or ""
    elif pub.name == "calendarData":
        out["mailboxID"] = c.get("mailboxID")
        out["data"] = sorted(kids)
        fb = kids.get("freeBusy")
        if fb is not None:
            out["freeBusy"] = {"startTime": fb.get("startTime"),
                               "granularity": fb.get("granularity"),
                               "value": (fb.text or "").strip()}
    return out


def _contact_entry(sim, uri, name, groups, federated, extra):
    aor = normalize_aor(uri if ":" in uri else "sip:" + uri)
    entry = {"uri": aor, "name": name if name is not None else uri_user_host(aor)[0],
             "groups": [int(g) for g in (groups or [])]}
    if federated is None:
        federated = uri_user_host(aor)[1].lower() != sim.scenario.domain
    if federated:
        entry["federated"] = True
    entry.update(extra)
    return entry


@action("add_contact")
async def add_contact(sim, user, uri, name=None, groups=None, federated=None, **extra):
    """Add `uri` to `user`'s contact list (groups: ids; none -> '~'); the user's
    roaming-contacts subscriptions get a contactDelta with addedContact.  Extra keys
    (title, availability, note, ...) describe the contact.  Returns {"deltaNum", "notified"}."""
    st = state_for(sim)
    u = _user(sim, user)
    entry = _contact_entry(sim, uri, name, groups, federated, extra)
    contacts = sim.scenario.contacts(user_key(u))
    if any(normalize_aor(c["uri"]) == entry["uri"] for c in contacts):
        raise ValueError(f"{entry['uri']} is already a contact of {u['id']}")
    known = {int(g["id"]) for g in contact_groups(st, u)}
    bad = [g for g in entry["groups"] if g not in known]
    if bad:
        raise ValueError(f"unknown group ids {bad}")
    contacts.append(entry)
    st.presentities.pop(entry["uri"], None)  # static presence may come from the new entry
    prev = deltanum(st, u)
    st.deltanum[user_key(u)] = prev + 1
    c = dict(entry)
    c.setdefault("alias", c.get("name", ""))
    body = D.contact_delta(contact_groups(st, u), prev + 1, prev, added=[c])
    n = await fanout_contacts(st, u, body)
    return {"deltaNum": prev + 1, "notified": n}


@action("remove_contact")
async def remove_contact(sim, user, uri):
    """Remove `uri` from `user`'s contact list; contactDelta with deletedContact."""
    st = state_for(sim)
    u = _user(sim, user)
    aor = normalize_aor(uri if ":" in uri else "sip:" + uri)
    contacts = sim.scenario.contacts(user_key(u))
    keep = [c for c in contacts if normalize_aor(c["uri"]) != aor]
    if len(keep) == len(contacts):
        raise ValueError(f"{aor} is not a contact of {u['id']}")
    contacts[:] = keep
    prev = deltanum(st, u)
    st.deltanum[user_key(u)] = prev + 1
    body = D.contact_delta(contact_groups(st, u), prev + 1, prev, deleted=[aor])
    n = await fanout_contacts(st, u, body)
    return {"deltaNum": prev + 1, "notified": n}


@action("add_group")
async def add_group(sim, user, name):
    """Add a contact group; contactDelta with addedGroup.  Returns {"id", "deltaNum"}."""
    st = state_for(sim)
    u = _user(sim, user)
    groups = sim.scenario.groups(user_key(u))
    have = contact_groups(st, u)
    if any(g["name"] == name for g in have):
        raise ValueError(f"group {name!r} exists")
    if not any(g.get("name") == D.DEFAULT_GROUP for g in groups):
        groups.insert(0, dict(next(g for g in have if g["name"] == D.DEFAULT_GROUP)))
    gid = max(int(g["id"]) for g in have) + 1
    groups.append({"id": gid, "name": name})
    prev = deltanum(st, u)
    st.deltanum[user_key(u)] = prev + 1
    body = D.contact_delta(contact_groups(st, u), prev + 1, prev,
                           added_groups=[{"id": gid, "name": name}])
    n = await fanout_contacts(st, u, body)
    return {"id": gid, "deltaNum": prev + 1, "notified": n}


@action("set_ucs_mode")
def set_ucs_mode(sim, user, mode=None):
    """Contact list storage for new roaming-contacts subscriptions: None (server list),
    'migrated' (contactList ucsmode="migrated", no contacts), 'notmigrated', or 'reject'
    (488 to the SUBSCRIBE: no contact list, use UCS)."""
    if mode not in (None, "migrated", "notmigrated", "reject"):
        raise ValueError("mode must be null, migrated, notmigrated or reject")
    u = _user(sim, user)
    if mode is None:
        u.pop("ucs_mode", None)
    else:
        u["ucs_mode"] = mode


@action("set_dialplan")
async def set_dialplan(sim, **fields):
    """Change [dialplan] (name, rules, external_access_prefix, optimize_device_dialing,
    namespace; a null value removes a key) and re-send provisioning to every endpoint that
    queried it (userSetting/ucUserLocationProfile carries the name).  Returns
    {"notified": n}."""
    dp = sim.scenario.data.setdefault("dialplan", {})
    for k, v in fields.items():
        if v is None:
            dp.pop(k, None)
        else:
            dp[k] = v
    if "rules" in dp and not all(isinstance(r, dict) and "pattern" in r and
                                 "translation" in r for r in dp["rules"]):
        raise ValueError("rules must be objects with pattern and translation")
    return {"notified": await renotify_provisioning(state_for(sim), "*")}


@action("set_policy")
async def set_policy(sim, group, values=None, remove=None, replace=False):
    """Change provisioning group `group` ([policies.<group>]): merge `values` (or replace the
    group with them), drop the `remove` keys, then re-send provisioning to endpoints whose
    query asked for that group.  Returns {"notified": n}."""
    pol = sim.scenario.data.setdefault("policies", {})
    g = pol.setdefault(group, {})
    if replace:
        g.clear()
    g.update(values or {})
    for k in remove or ():
        g.pop(k, None)
    return {"notified": await renotify_provisioning(state_for(sim), group)}


@action("bump_versions")
async def bump_versions(sim, user, category=None):
    """Raise the version of `user`'s publications (all, or one category) as if another
    endpoint had republished them: the user's next publish with the old versions gets 409
    WrongDelta.  No notification is sent.  Returns how many were bumped."""
    st = state_for(sim)
    p = st.presentity(_aor(sim, user))
    n = 0
    for pub in p.pubs.values():
        if category is None or pub.name == category:
            pub.version += 1
            n += 1
    return n


@action("set_notify_method")
def set_notify_method(sim, method="auto"):
    """'auto' (BENOTIFY to clients that support ms-benotify), 'NOTIFY' or 'BENOTIFY'."""
    if method not in ("auto", "NOTIFY", "BENOTIFY"):
        raise ValueError("method must be auto, NOTIFY or BENOTIFY")
    state_for(sim).notify_method = method


@action("fail_publish")
def fail_publish(sim, user, code=500, count=1):
    """The next `count` category publications of `user` are refused with `code` (and an
    ms-diagnostics) instead of being applied."""
    state_for(sim).publish_faults[_aor(sim, user)] = [int(code), int(count)]
    return {"code": int(code), "count": int(count)}


@action("set_presence_routing")
def set_presence_routing(sim, mode="direct"):
    """'direct' (every pool answers for everyone) or 'pool' (contacts homed on another pool
    come back as rlmi resubscribe with poolFqdn)."""
    if mode not in ("direct", "pool"):
        raise ValueError("mode must be direct or pool")
    state_for(sim).presence_routing = mode


@action("reset_services")
def reset_services(sim):
    """Forget all services state (publications, containers, subscribers, contact-list
    deltaNums, remembered provisioning queries, notify method, presence routing) and put the
    scenario's [dialplan], [policies*], [groups*], [contacts*], [features] and
    [[endpoints*]] back as the scenario file
    has them (control actions edit them in place).  Subscriptions of live endpoints are
    dropped.  For tests sharing one Sim."""
    st = state_for(sim)
    for ep in sim.endpoints():
        for key in [k for k, s in ep.subscriptions.items() if isinstance(s, Subscription)]:
            del ep.subscriptions[key]
    path = getattr(sim.scenario, "path", None)
    if path:
        from .scenario import load_toml
        fresh = load_toml(path)
        for uid, eps in fresh.get("endpoints", {}).items():  # defaults filled in
            check_endpoints(uid, eps, sim.scenario.users)
        for key in ("dialplan", "policies", "groups", "contacts", "features", "endpoints"):
            if key in fresh:
                sim.scenario.data[key] = fresh[key]
            else:
                sim.scenario.data.pop(key, None)
        for uid, u in sim.scenario.users.items():
            u.pop("ucs_mode", None)
            if "ucs_mode" in fresh.get("users", {}).get(uid, {}):
                u["ucs_mode"] = fresh["users"][uid]["ucs_mode"]
    _STATES[sim] = State(sim)
    for t in list(st.tasks):
        t.cancel()


@action("services_state")
def services_state(sim, user=None):
    """Subscriptions per endpoint and contact list deltaNum, for assertions."""
    st = state_for(sim)
    out = []
    for ep in sim.endpoints():
        if user is not None and normalize_aor(ep.uri) != _aor(sim, user):
            continue
        subs = [{"event": s.event, "expires_in": s.remaining(), "resources": s.resources}
                for s in ep.subscriptions.values() if isinstance(s, Subscription)]
        out.append({"uri": ep.uri, "epid": ep.epid, "subscriptions": subs,
                    "deltaNum": st.deltanum.get(ep.user["id"])})
    return out
