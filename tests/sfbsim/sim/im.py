# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sessions between endpoints, routed like a front end, and the endpoints sfbsim itself keeps
signed in (the echo user, extra endpoints of scenario users).

The proxy (`Proxy`, one per Sim as `sim.im`) takes INVITE, ACK, CANCEL, BYE, MESSAGE, INFO,
UPDATE and PRACK from registered endpoints (registrar.dispatch asks it first) when the
Request-URI names a scenario user, a GRUU or Contact of a live endpoint, or one of sfbsim's own
endpoints; everything else goes to services.py as before.  What it does (RFC 3261 §16, as a
pool's inbound routing does, docs: sim/README.md "Instant messages"):

  * a request to an AOR forks to every live endpoint of that user (parallel), except the one
    that sent it; the first 2xx is forwarded, the other INVITE branches get CANCEL; when every
    branch fails the best final response is forwarded (6xx at once, then the lowest class,
    408/480/503 last);
    no endpoint at all -> 480 Temporarily Unavailable with ms-diagnostics;
  * a request to a GRUU or Contact goes to that endpoint only (in-dialog requests);
  * it adds its Via (responses come back through it) and, on INVITE, Record-Route (the
    callee's pool, then the caller's), so in-dialog requests pass through it too; Route
    entries naming sfbsim's registrars are removed; bodies are never touched;
  * non-2xx final responses to INVITE are ACKed hop by hop (the caller's ACK stops here);
  * each leg is signed with the SA of the connection it travels on (the client's signature
    header is consumed here, as a front end does).

Ports: where a message leaves the proxy.  `EndpointPort` is a registered client (its TLS
connection); `SimUA` is an endpoint inside sfbsim (no wire, no signature).
"""

import asyncio
import base64
import html
import re
import time

from .control import action
from .endpoint import make_response, rand_hex
from .identity import gruu as make_gruu, instance_from_epid
from .scenario import ScenarioError
from .signing import AUTH_HEADERS
from .sipmsg import NameAddr, SipMessage, SipParseError, normalize_aor, parse_params

ROUTED = {"INVITE", "ACK", "CANCEL", "BYE", "MESSAGE", "INFO", "UPDATE", "PRACK"}
NON_INVITE_TIMEOUT = 32.0
CANCEL_GRACE = 5.0          # a cancelled branch that never answers: 487 generated after this
MAX_RECORDS = 500
MAX_MESSAGES = 200          # per sfbsim endpoint

IM_ACCEPT_TYPES = ("text/plain multipart/alternative image/gif text/rtf text/html "
                   "application/x-ms-ink application/ms-imdn+xml text/x-msmsgsinvite")
ALLOW = "INVITE, BYE, ACK, CANCEL, INFO, MESSAGE, OPTIONS"
UA_AGENT = "sfbsim-endpoint/1.0"


# helpers ------------------------------------------------------------------------------------
def _copy(msg):
    return SipMessage.parse(msg.serialize())


def _strip_auth(msg):
    for h in AUTH_HEADERS:
        msg.remove(h)


def _via_branch(value):
    return parse_params(value.split(";", 1)[1] if ";" in value else "").get("branch") or ""


def _top_via(msg):
    for n, v in msg.headers:
        if n.lower() in ("via", "v"):
            return v.split(",")[0].strip()
    return ""


def _pop_via(msg):
    """Remove the top Via value (the first of a comma-separated line)."""
    for i, (n, v) in enumerate(msg.headers):
        if n.lower() in ("via", "v"):
            parts = [p.strip() for p in v.split(",")]
            if len(parts) > 1:
                msg.headers[i] = (n, ", ".join(parts[1:]))
            else:
                del msg.headers[i]
            return parts[0]
    return ""


def _uri_key(uri):
    """Compare URIs the way the proxy looks targets up: lower case, no angle brackets,
    no transport/maddr noise for GRUUs (the opaque identifies them)."""
    u = (uri or "").strip().strip("<>").lower()
    m = re.search(r"opaque=user:epid:([^;>]+)", u)
    if m:
        return "gruu:" + normalize_aor(u) + ":" + m.group(1)
    return u


def _is_gruu(uri):
    return "opaque=user:epid:" in (uri or "").lower()


def _diag(code, reason, source, app=None):
    v = f'{code};reason="{reason}";source="{source}"'
    if app:
        v += f';appName="{app}"'
    return v


def im_sdp(address, uri="null"):
    """The IM session description (docs: a message session, no media)."""
    return (f"v=0\r\no=- 0 0 IN IP4 {address}\r\ns=session\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
            f"m=message 5060 sip {uri}\r\na=accept-types:{IM_ACCEPT_TYPES}\r\n").encode()


def sdp_media(body):
    return [line[2:].split()[0] for line in body.decode("utf-8", "replace").splitlines()
            if line.startswith("m=") and line[2:].split()]


def first_message(msg):
    """The text embedded in an INVITE's ms-text-format (ms-body=base64), or None."""
    v = msg.get("ms-text-format")
    if not v:
        return None
    m = re.search(r"ms-body=([A-Za-z0-9+/=_-]+)", v)
    if not m:
        return None
    raw = m.group(1)
    try:
        data = base64.b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        return None
    ctype = v.split(";", 1)[0].strip().lower()
    return body_text(ctype, data, v)


def body_text(ctype, body, full_ctype=""):
    """Plain text of an IM body (text/plain, text/html, multipart/alternative), or None."""
    charset = "utf-8"
    m = re.search(r'charset="?([A-Za-z0-9_-]+)', full_ctype or "")
    if m:
        charset = m.group(1)
    try:
        text = body.decode(charset, "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    if ctype == "text/plain":
        return text
    if ctype == "text/html":
        return html.unescape(re.sub(r"<[^>]*>", "", text.replace("\r", "").replace("\n", "")))
    if ctype.startswith("multipart/"):
        b = re.search(r'boundary="?([^";]+)', full_ctype or "")
        if not b:
            return None
        best = None
        for part in text.split("--" + b.group(1)):
            head, _, pbody = part.partition("\r\n\r\n")
            if not pbody:
                head, _, pbody = part.partition("\n\n")
            pm = re.search(r"content-type:\s*([^;\r\n]+)", head, re.I)
            if not pm:
                continue
            pt = pm.group(1).strip().lower()
            if pt in ("text/plain", "text/html"):
                t = body_text(pt, pbody.rstrip("\r\n-").encode(charset, "replace"))
                if pt == "text/plain" or best is None:
                    best = t
        return best
    return None


def parse_typing(body):
    m = re.search(rb'status\s*=\s*"(type|idle)"', body or b"")
    return m.group(1).decode() if m else None


# ports ---------------------------------------------------------------------------------------
class EndpointPort:
    """A registered client reached over its own connection, every message signed with its SA."""

    def __init__(self, ep):
        self.ep = ep

    @property
    def name(self):
        return f"{self.ep.uri};epid={self.ep.epid}"

    @property
    def epid(self):
        return self.ep.epid

    @property
    def registrar(self):
        return self.ep.registrar

    @property
    def alive(self):
        return self.ep.connected

    def send(self, msg):
        if self.ep.connected:
            self.ep.conn.send(msg, self.ep.sa)

    def __eq__(self, other):
        return isinstance(other, EndpointPort) and other.ep is self.ep

    def __hash__(self):
        return id(self.ep)


class Dialog:
    def __init__(self, call_id, local_tag, remote_tag, local_uri, remote_uri, target, routes,
                 peer_epid=None):
        self.call_id, self.local_tag, self.remote_tag = call_id, local_tag, remote_tag
        self.local_uri, self.remote_uri, self.target = local_uri, remote_uri, target
        self.routes = routes
        self.peer_epid = peer_epid
        self.cseq = 0
        self.confirmed = False
        self.pending_echo = []


class SimUA:
    """An endpoint inside sfbsim: the echo user, or an extra endpoint of a scenario user.

    mode: "accept" (IM INVITEs answered 200 at once), "ring" (180, then wait for
    endpoint_answer or CANCEL), "decline" (final `code`, default 480).  The echo user answers
    every text with "echo: <text>" after a typing INFO."""

    def __init__(self, proxy, uri, epid, name, mode="accept", code=480, echo=False):
        self.proxy, self.sim = proxy, proxy.sim
        self.uri = uri
        self.epid = epid
        self.instance = instance_from_epid(epid)
        self.gruu = make_gruu(uri, self.instance)
        self.display = name
        self.mode, self.code, self.echo = mode, int(code), echo
        self.dialogs = {}       # call-id -> Dialog
        self.ringing = {}       # (call-id, cseq) -> INVITE waiting for an answer
        self.messages = []      # what it received (and sent), for endpoint_messages
        self.pending = {}       # (call-id, cseq, method) -> Future of a response
        self.alive = True

    def __repr__(self):
        return f"<SimUA {self.uri} epid={self.epid}>"

    @property
    def name(self):
        return f"{self.uri};epid={self.epid} (sfbsim)"

    @property
    def registrar(self):
        u = self.sim.user(self.uri)
        pool = u["pool"] if u else next(iter(self.sim.scenario.data["pools"]))
        return self.sim.registrars.get(pool)

    def contact(self):
        return f"<{self.gruu}>"

    def via(self):
        return f"SIP/2.0/TLS sfbsim-{self.epid}.invalid:5061;branch=z9hG4bK{rand_hex(16)}"

    def record(self, direction, peer, text, kind="message", call_id=None):
        self.messages.append({"t": time.time(), "direction": direction, "peer": peer,
                              "text": text, "kind": kind, "call_id": call_id})
        del self.messages[:-MAX_MESSAGES]

    # messages from the proxy ----------------------------------------------------------------
    def send(self, msg):
        if msg.is_response:
            fut = self.pending.get((msg.call_id, msg.cseq[0], msg.cseq[1]))
            if fut is not None and msg.code >= 200 and not fut.done():
                fut.set_result(msg)
            return
        self.sim.spawn(self._on_request(msg))

    def respond(self, req, code, reason=None, headers=(), body=b"", content_type=None,
                tag=None):
        resp = make_response(req, code, reason, headers, body, content_type)
        if tag and code > 100:
            to = req.get("To") or ""
            if ";tag=" not in to.replace(" ", "").lower():
                resp.set("To", f"{to};tag={tag}")
        resp.add("User-Agent", UA_AGENT)
        self.proxy.on_response(resp)
        return resp

    async def _on_request(self, msg):
        try:
            await self.on_request(msg)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug here must not take the proxy down
            self.sim.log.note(f"{self!r}: {msg!r} failed: {e!r}")
            if msg.method not in ("ACK",):
                self.respond(msg, 500, "Server Internal Error")

    async def on_request(self, msg):
        m = msg.method
        d = self.dialogs.get(msg.call_id)
        if m == "INVITE":
            await self.on_invite(msg, d)
        elif m == "ACK":
            if d is not None and not d.confirmed:
                d.confirmed = True
                for text in d.pending_echo:
                    self.sim.spawn(self.answer_text(d, text))
                d.pending_echo = []
        elif m == "CANCEL":
            key = (msg.call_id, msg.cseq[0])
            inv = self.ringing.pop(key, None)
            self.respond(msg, 200, "OK")
            if inv is not None:
                self.respond(inv, 487, "Request Terminated", tag=inv.ua_tag)
        elif m == "BYE":
            self.respond(msg, 200 if d else 481)
            if d:
                self.dialogs.pop(msg.call_id, None)
                self.record("in", d.remote_uri, None, "bye", msg.call_id)
        elif m in ("MESSAGE", "INFO"):
            await self.on_message(msg, d)
        elif m == "OPTIONS":
            self.respond(msg, 200, "OK", [("Allow", ALLOW)])
        else:
            self.respond(msg, 405, "Method Not Allowed", [("Allow", ALLOW)])

    async def on_invite(self, msg, d):
        media = sdp_media(msg.body) if msg.content_type == "application/sdp" else []
        peer = normalize_aor(msg.from_addr().uri)
        if d is not None:  # re-INVITE: keep the session
            self.respond(msg, 200, "OK", self._answer_headers(msg), im_sdp("127.0.0.1", self.uri),
                         "application/sdp", tag=d.local_tag)
            return
        if media != ["message"]:
            self.respond(msg, 488, "Not Acceptable Here")
            return
        tag = rand_hex(10)
        msg.ua_tag = tag
        mode = "accept" if self.echo else self.mode
        if mode == "decline":
            self.respond(msg, self.code, tag=tag)
            return
        if mode == "ring":
            self.ringing[(msg.call_id, msg.cseq[0])] = msg
            self.respond(msg, 180, "Ringing", [("Contact", self.contact())], tag=tag)
            return
        self.accept(msg, tag, peer)

    def accept(self, msg, tag, peer):
        frm = msg.from_addr()
        try:
            target = NameAddr.parse(msg.get("Contact") or "").uri
        except SipParseError:
            target = None
        routes = msg.get_list("Record-Route")
        d = Dialog(msg.call_id, tag, frm.tag, self.uri, frm.uri, target or frm.uri, routes,
                   frm.params.get("epid"))
        self.dialogs[msg.call_id] = d
        first = first_message(msg)
        if first is not None:
            self.record("in", peer, first, "message", msg.call_id)
            if self.echo:
                d.pending_echo.append(first)
        self.respond(msg, 200, "OK", self._answer_headers(msg), im_sdp("127.0.0.1", self.uri),
                     "application/sdp", tag=tag)

    def _answer_headers(self, msg):
        h = [("Record-Route", v) for v in msg.get_all("Record-Route")]
        h += [("Contact", self.contact()), ("Supported", "ms-text-format"),
              ("Supported", "ms-sender"), ("Allow", ALLOW)]
        return h

    async def on_message(self, msg, d):
        peer = normalize_aor(msg.from_addr().uri)
        if msg.method == "INFO":
            self.respond(msg, 200 if d else 481)
            if d:
                self.record("in", peer, parse_typing(msg.body), "typing", msg.call_id)
            return
        ctype = msg.content_type
        if ctype == "application/im-iscomposing+xml":
            self.respond(msg, 200)
            return
        text = body_text(ctype, msg.body, msg.get("Content-Type") or "")
        if text is None:
            self.respond(msg, 415, "Unsupported Media Type",
                         [("Accept", "text/plain, text/html, multipart/alternative")])
            return
        self.respond(msg, 200)
        self.record("in", peer, text, "message", msg.call_id)
        if self.echo and d is not None:
            await self.answer_text(d, text)

    async def answer_text(self, d, text):
        """The echo: typing, then "echo: <text>"."""
        try:
            await self.request_in_dialog(d, "INFO", b'<?xml version="1.0"?><KeyboardActivity>'
                                         b' <status status="type" /></KeyboardActivity>',
                                         "application/xml")
            await self.send_text(d, "echo: " + text)
        except (asyncio.TimeoutError, ConnectionError) as e:
            self.sim.log.note(f"{self!r}: echo to {d.remote_uri} failed: {e!r}")

    async def send_text(self, d, text):
        # recorded when sent: the peer may show it before its 200 is back here
        self.record("out", d.remote_uri, text, "message", d.call_id)
        return await self.request_in_dialog(d, "MESSAGE", text.encode(),
                                            "text/plain; charset=UTF-8")

    def build_in_dialog(self, d, method, body=b"", content_type=None, cseq=None):
        if cseq is None:
            d.cseq += 1
            cseq = d.cseq
        m = SipMessage.request(method, d.target)
        m.add("Via", self.via())
        m.add("Max-Forwards", "70")
        m.add("From", f"<{d.local_uri}>;tag={d.local_tag};epid={self.epid}")
        to = f"<{d.remote_uri}>;tag={d.remote_tag}"
        if d.peer_epid:
            to += f";epid={d.peer_epid}"
        m.add("To", to)
        m.add("Call-ID", d.call_id)
        m.add("CSeq", f"{cseq} {method}")
        for r in d.routes:
            m.add("Route", r)
        m.add("Contact", self.contact())
        m.add("User-Agent", UA_AGENT)
        if content_type:
            m.add("Content-Type", content_type)
        m.body = body
        return m

    async def request_in_dialog(self, d, method, body=b"", content_type=None):
        return await self.request(self.build_in_dialog(d, method, body, content_type))

    async def request(self, m, timeout=NON_INVITE_TIMEOUT):
        key = (m.call_id, m.cseq[0], m.cseq[1])
        fut = asyncio.get_running_loop().create_future()
        self.pending[key] = fut
        try:
            self.proxy.route(self, m)
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.pending.pop(key, None)

    async def invite(self, to, text=None, timeout=NON_INVITE_TIMEOUT):
        """Start an IM session with `to` (first message embedded); returns (final, Dialog)."""
        call_id, tag = rand_hex(32), rand_hex(10)
        m = SipMessage.request("INVITE", to)
        m.add("Via", self.via())
        m.add("Max-Forwards", "70")
        m.add("From", f'"{self.display}"<{self.uri}>;tag={tag};epid={self.epid}')
        m.add("To", f"<{to}>")
        m.add("Call-ID", call_id)
        m.add("CSeq", "1 INVITE")
        m.add("Contact", self.contact())
        m.add("User-Agent", UA_AGENT)
        m.add("Supported", "ms-sender")
        m.add("Supported", "ms-text-format")
        m.add("Ms-Conversation-ID", rand_hex(16))
        if text is not None:
            b64 = base64.b64encode(text.encode()).decode()
            m.add("ms-text-format", f"text/plain; charset=UTF-8; ms-body={b64}")
        m.add("Content-Type", "application/sdp")
        m.body = im_sdp("127.0.0.1")
        if text is not None:
            self.record("out", normalize_aor(to), text, "message", call_id)
        r = await self.request(m, timeout)
        if r.code >= 300 or r.code < 200:
            return r, None
        to_addr = r.to_addr()
        try:
            target = NameAddr.parse(r.get("Contact") or "").uri
        except SipParseError:
            target = None
        d = Dialog(call_id, tag, to_addr.tag, self.uri, normalize_aor(to), target or to,
                   list(reversed(r.get_list("Record-Route"))), to_addr.params.get("epid"))
        d.cseq = 1
        d.confirmed = True
        self.dialogs[call_id] = d
        ack = self.build_in_dialog(d, "ACK", cseq=1)
        self.proxy.route(self, ack)
        if text is not None:
            consumed = any(s.strip().lower() in ("ms-text-format", "ms-embedded-first-message")
                           for s in r.get_list("Supported"))
            if not consumed:
                await self.request_in_dialog(d, "MESSAGE", text.encode(),
                                             "text/plain; charset=UTF-8")
        return r, d

    def answer_ringing(self, mode, code=None):
        """Answer every ringing INVITE: "accept" or "decline" (final `code`)."""
        n = 0
        for key, inv in list(self.ringing.items()):
            del self.ringing[key]
            if mode == "accept":
                self.accept(inv, inv.ua_tag, normalize_aor(inv.from_addr().uri))
            else:
                self.respond(inv, int(code or self.code), tag=inv.ua_tag)
            n += 1
        return n

    async def bye_all(self):
        n = 0
        for d in list(self.dialogs.values()):
            self.dialogs.pop(d.call_id, None)
            try:
                await self.request_in_dialog(d, "BYE")
            except (asyncio.TimeoutError, ConnectionError):
                pass
            n += 1
        return n


# the proxy -----------------------------------------------------------------------------------
class Branch:
    def __init__(self, txn, port, request, branch):
        self.txn, self.port, self.request, self.branch = txn, port, request, branch
        self.final = None       # final response code
        self.provisional = False
        self.cancelled = False


class Txn:
    """One proxied request: its source, the branches, the answer sent back."""

    def __init__(self, proxy, source, request):
        self.proxy, self.source, self.request = proxy, source, request
        self.method = request.method
        self.key = (request.call_id, request.cseq[0], _via_branch(_top_via(request)))
        self.branches = []
        self.responses = []     # final non-2xx responses from branches
        self.answered = None    # code sent to the source (final)
        self.cancelled = False
        self.timer = None
        self.record = {"t": time.time(), "method": self.method, "call_id": request.call_id,
                       "from": normalize_aor(request.from_addr().uri),
                       "to": normalize_aor(request.to_addr().uri), "uri": request.uri,
                       "source": source.name, "branches": [], "final": None,
                       "cancelled": False}

    @property
    def is_invite(self):
        return self.method == "INVITE"


class Proxy:
    def __init__(self, sim):
        self.sim = sim
        self.branches = {}      # our Via branch -> Branch
        self.txns = {}          # (call-id, cseq, source branch) -> Txn (INVITE, for CANCEL)
        self.acks = {}          # (call-id, cseq) of INVITEs answered non-2xx -> time
        self.records = []
        self.uas = []           # SimUA (echo, scenario endpoints, add_endpoint)
        self.reset()

    # sfbsim's own endpoints --------------------------------------------------------------------
    def reset(self):
        """Back to the scenario's [im]: the echo user and [[im.endpoints.<user>]]."""
        for ua in self.uas:
            ua.alive = False
        self.uas = []
        self.records = []
        conf = self.sim.scenario.data.get("im", {})
        unknown = set(conf) - {"echo", "echo_name", "endpoints"}
        if unknown:
            raise ScenarioError(f"im: unknown key(s) {sorted(unknown)}")
        echo = conf.get("echo", f"sip:echo@{self.sim.scenario.domain}")
        if not isinstance(echo, str) or (echo and not echo.startswith("sip:")):
            raise ScenarioError("im.echo must be a sip: URI or \"\"")
        if echo:
            self.uas.append(SimUA(self, normalize_aor(echo), "ec40ec40ec",
                                  str(conf.get("echo_name", "Echo")), echo=True))
        for uid, eps in conf.get("endpoints", {}).items():
            for i, e in enumerate(eps):
                try:
                    self.add_ua(uid, **e)
                except (TypeError, ValueError) as err:
                    raise ScenarioError(f"im.endpoints.{uid}[{i}]: {err}") from None

    def echo_uri(self):
        return next((ua.uri for ua in self.uas if ua.echo), None)

    def add_ua(self, user, epid=None, answer="accept", code=480, name=None):
        u = self.sim.user(user)
        if u is None:
            raise ValueError(f"no user {user!r}")
        if answer not in ("accept", "ring", "decline"):
            raise ValueError("answer must be accept, ring or decline")
        epid = epid or rand_hex(10)
        if not re.fullmatch(r"[A-Za-z0-9]{1,32}", epid):
            raise ValueError("epid: 1-32 letters or digits")
        ua = SimUA(self, normalize_aor(u["uri"]), epid, name or u.get("name", u["id"]),
                   answer, code)
        self.uas.append(ua)
        return ua

    def uas_for(self, aor):
        return [ua for ua in self.uas if ua.alive and ua.uri == aor]

    def person_info(self, aor):
        """What presence shows for sfbsim's own non-scenario users (the echo user)."""
        for ua in self.uas:
            if ua.echo and ua.uri == normalize_aor(aor):
                return {"name": ua.display, "availability": 3500}
        return {}

    # routing -------------------------------------------------------------------------------------
    def handles(self, msg):
        """Should this request be routed (True) or left to services.py (False)?"""
        if msg.method not in ROUTED:
            return False
        if msg.method in ("CANCEL", "ACK"):
            key = (msg.call_id, msg.cseq[0], _via_branch(_top_via(msg)))
            if key in self.txns or (msg.call_id, msg.cseq[0]) in self.acks:
                return True
        return self._targets(msg.uri) is not None

    async def handle_request(self, ep, msg):
        """registrar.dispatch: True when the proxy took the request."""
        if not self.handles(msg):
            return False
        self.route(EndpointPort(ep), msg)
        return True

    def _targets(self, uri, exclude=None):
        """Ports for a Request-URI: [port] for a GRUU/Contact, all of a user's endpoints for
        an AOR ([] when none is signed in), None when it is nobody sfbsim routes to."""
        key = _uri_key(uri)
        for ep in self.sim.endpoints():
            if key in (_uri_key(ep.gruu), _uri_key(ep.contact)):
                return [EndpointPort(ep)]
        for ua in self.uas:
            if ua.alive and key == _uri_key(ua.gruu):
                return [ua]
        aor = normalize_aor(uri)
        if _is_gruu(uri):
            return [] if (self.sim.user(aor) or self.uas_for(aor)) else None
        if self.sim.user(aor) is None and not self.uas_for(aor):
            return None
        ports = [EndpointPort(ep) for ep in self.sim.endpoints_for(aor)]
        ports += self.uas_for(aor)
        return [p for p in ports if p != exclude and p is not exclude]

    def _source_fqdn(self, source):
        reg = source.registrar
        return reg.fqdn if reg else self.sim.scenario.domain

    def answer(self, source, req, code, reason=None, headers=()):
        if req.method == "ACK":
            return
        resp = make_response(req, code, reason, headers)
        resp.add("Server", self.sim.scenario.server)
        source.send(resp)

    def route(self, source, msg):
        """Route one request from `source` (an EndpointPort or SimUA)."""
        self.sim.counters.bump("im_requests", msg.method)
        if msg.method == "CANCEL":
            self._cancel_from_source(source, msg)
            return
        if msg.method == "ACK" and self.acks.pop((msg.call_id, msg.cseq[0]), None):
            return  # the ACK of a non-2xx final response: hop by hop, ends here
        try:
            mf = int(msg.get("Max-Forwards") or 70)
        except ValueError:
            mf = 70
        if mf <= 0:
            self.answer(source, msg, 483, "Too Many Hops")
            return
        targets = self._targets(msg.uri, exclude=source)
        fqdn = self._source_fqdn(source)
        if not targets:
            if msg.method == "ACK":
                return
            if targets is None:
                self.answer(source, msg, 404, "Not Found", [("ms-diagnostics", _diag(
                    4005, "Destination URI either not enabled for SIP or does not exist",
                    fqdn))])
                return
            in_dialog = _is_gruu(msg.uri) or msg.to_addr().tag
            self.answer(source, msg, 480, "Temporarily Unavailable", [("ms-diagnostics", _diag(
                13002 if not in_dialog else 13003,
                "The endpoint is no longer signed in" if in_dialog else
                "Callee is not signed in to any endpoint", fqdn, "InboundRouting"))])
            self._note(Txn(self, source, msg), 480)
            return
        fwd = _copy(msg)
        _strip_auth(fwd)
        fwd.set("Max-Forwards", str(mf - 1))
        self._strip_own_routes(fwd)
        if msg.method == "ACK":
            for port in targets:
                out = _copy(fwd)
                self._add_via(out, port)
                port.send(out)
            return
        txn = Txn(self, source, msg)
        if txn.is_invite:
            self.txns[txn.key] = txn
            self.answer(source, msg, 100, "Trying")
        timeout = (self.sim.scenario.timers.get("invite_timeout", 180) if txn.is_invite
                   else NON_INVITE_TIMEOUT)
        txn.timer = asyncio.get_running_loop().call_later(timeout, self._timeout, txn)
        forked = not _is_gruu(msg.uri) and len(targets) >= 1 and txn.is_invite
        for port in targets:
            out = _copy(fwd)
            if forked:
                to = out.get("To") or ""
                if ";epid=" not in to.lower() and getattr(port, "epid", None):
                    out.set("To", f"{to};epid={port.epid}")
            branch = self._add_via(out, port)
            if txn.is_invite:
                self._record_route(out, port, source)
            b = Branch(txn, port, out, branch)
            self.branches[branch] = b
            txn.branches.append(b)
            txn.record["branches"].append({"target": port.name, "final": None,
                                           "cancelled": False})
            port.send(out)

    def _add_via(self, msg, port):
        reg = port.registrar
        host = f"{reg.fqdn}:{reg.port}" if reg else f"{self.sim.scenario.domain}:5061"
        branch = "z9hG4bK" + rand_hex(20)
        msg.insert(0, "Via", f"SIP/2.0/TLS {host};branch={branch}")
        return branch

    def _rr(self, reg):
        return (f"<sip:{reg.fqdn}:{reg.port};transport=tls;opaque=state:T;lr;"
                f"ms-route-sig={rand_hex(24)}>")

    def _record_route(self, msg, port, source):
        """The callee's pool on top, then the caller's (when another one): each side's
        route set starts with its own pool."""
        regs = []
        for reg in (port.registrar, source.registrar):
            if reg is not None and reg not in regs:
                regs.append(reg)
        for i, reg in enumerate(regs):
            msg.insert(i, "Record-Route", self._rr(reg))

    def _strip_own_routes(self, msg):
        own = {r.fqdn.lower() for r in self.sim.registrars.values()}
        keep = []
        for v in msg.get_list("Route"):
            try:
                uri = NameAddr.parse(v).uri
            except SipParseError:
                keep.append(v)
                continue
            host = uri.split(":", 1)[-1].split(";")[0].split(":")[0].split("@")[-1].lower()
            if host not in own:
                keep.append(v)
        msg.remove("Route")
        for v in keep:
            msg.add("Route", v)

    def _cancel_from_source(self, source, msg):
        key = (msg.call_id, msg.cseq[0], _via_branch(_top_via(msg)))
        txn = self.txns.get(key)
        if txn is None:
            self.answer(source, msg, 481, "Call/Transaction Does Not Exist")
            return
        self.answer(source, msg, 200, "OK")
        if txn.answered is None:
            txn.cancelled = True
            txn.record["cancelled"] = True
            self._cancel_branches(txn)
            if txn.timer:
                txn.timer.cancel()
            txn.timer = asyncio.get_running_loop().call_later(CANCEL_GRACE, self._timeout, txn)

    def _cancel_branches(self, txn, except_branch=None, reason=None):
        for b in txn.branches:
            if b is except_branch or b.final is not None or b.cancelled:
                continue
            b.cancelled = True
            self._branch_record(b)["cancelled"] = True
            c = SipMessage.request("CANCEL", b.request.uri)
            c.add("Via", _top_via(b.request))
            c.add("Max-Forwards", "70")
            for h in ("From", "To", "Call-ID"):
                c.add(h, b.request.get(h))
            c.add("CSeq", f"{b.request.cseq[0]} CANCEL")
            if reason:
                c.add("Reason", reason)
            self.sim.counters.bump("im_cancels")
            b.port.send(c)

    def _branch_record(self, b):
        return b.txn.record["branches"][b.txn.branches.index(b)]

    def on_response(self, msg):
        """A response from a target (registrar.on_response after verification, or a SimUA).
        True when it belonged to a proxied request."""
        branch = _via_branch(_top_via(msg))
        b = self.branches.get(branch)
        if b is None:
            return False
        if msg.cseq[1] == "CANCEL":
            return True
        txn = b.txn
        fwd = _copy(msg)
        _strip_auth(fwd)
        _pop_via(fwd)
        code = msg.code
        if code < 200:
            if code > 100 and txn.is_invite and txn.answered is None:
                b.provisional = True
                txn.source.send(fwd)
            return True
        if b.final is not None:
            return True  # a retransmission
        b.final = code
        self._branch_record(b)["final"] = code
        if txn.is_invite and code >= 300:
            self._ack(b, msg)
        if 200 <= code < 300:
            if txn.answered is None:
                self._finish(txn, fwd)
                if txn.is_invite:
                    self._cancel_branches(txn, b, 'SIP;cause=200;text="Call completed elsewhere"')
            elif txn.is_invite:
                self._hang_up_late_winner(b, msg)
            return True
        txn.responses.append(fwd)
        if code >= 600 and txn.answered is None:
            self._finish(txn, fwd)
            self._cancel_branches(txn, b)
            return True
        self._maybe_done(txn)
        return True

    def _maybe_done(self, txn):
        if txn.answered is not None or any(b.final is None for b in txn.branches):
            return
        # RFC 3261 §16.7 step 6: a 6xx, else the lowest class; within it a specific answer
        # (486 Busy Here) beats "not there" (408, 480, 503)
        best = sorted(txn.responses, key=lambda r: (
            0 if r.code >= 600 else 1, r.code // 100, r.code in (408, 480, 503), r.code))[0]
        if txn.cancelled:
            best = next((r for r in txn.responses if r.code == 487), best)
        self._finish(txn, best)

    def _finish(self, txn, resp):
        txn.answered = resp.code
        txn.record["final"] = resp.code
        if txn.timer:
            txn.timer.cancel()
            txn.timer = None
        if txn.is_invite:
            self.txns.pop(txn.key, None)
            if resp.code >= 300:
                self.acks[(txn.request.call_id, txn.request.cseq[0])] = time.monotonic()
                while len(self.acks) > MAX_RECORDS:
                    del self.acks[next(iter(self.acks))]
        txn.source.send(resp)
        self._note(txn, resp.code)
        self.sim.spawn(self._forget(txn))

    async def _forget(self, txn):
        await asyncio.sleep(NON_INVITE_TIMEOUT)
        for b in txn.branches:
            self.branches.pop(b.branch, None)

    def _note(self, txn, code):
        txn.record["final"] = code
        self.records.append(txn.record)
        del self.records[:-MAX_RECORDS]
        self.sim.log.note(f"im: {txn.method} {txn.record['from']} -> {txn.record['uri']}: "
                          f"{code} ({len(txn.branches)} branch(es))")

    def _timeout(self, txn):
        txn.timer = None
        if txn.answered is not None:
            return
        if txn.is_invite and not txn.cancelled:
            self._cancel_branches(txn)
        code = 487 if txn.cancelled else (480 if txn.is_invite else 408)
        resp = make_response(txn.request, code)
        resp.add("Server", self.sim.scenario.server)
        if code == 480:
            resp.add("ms-diagnostics", _diag(13004 + 1, "No endpoint answered in time",
                                             self._source_fqdn(txn.source), "InboundRouting"))
        self._finish(txn, resp)

    def _ack(self, b, resp):
        """ACK a non-2xx final response on the branch (RFC 3261 §17.1.1.3)."""
        req = b.request
        a = SipMessage.request("ACK", req.uri)
        a.add("Via", _top_via(req))
        a.add("Max-Forwards", "70")
        a.add("From", req.get("From"))
        a.add("To", resp.get("To"))
        a.add("Call-ID", req.call_id)
        a.add("CSeq", f"{req.cseq[0]} ACK")
        b.port.send(a)

    def _hang_up_late_winner(self, b, resp):
        """A second branch answered 200 after another won: ACK and BYE it here."""
        req = b.request
        try:
            target = NameAddr.parse(resp.get("Contact") or "").uri or req.uri
        except SipParseError:
            target = req.uri
        for method, n in (("ACK", req.cseq[0]), ("BYE", req.cseq[0] + 1)):
            m = SipMessage.request(method, target)
            m.add("Via", f"{_top_via(req).split(';branch=')[0]};branch=z9hG4bK{rand_hex(20)}")
            m.add("Max-Forwards", "70")
            m.add("From", req.get("From"))
            m.add("To", resp.get("To"))
            m.add("Call-ID", req.call_id)
            m.add("CSeq", f"{n} {method}")
            b.port.send(m)

    def endpoint_removed(self, ep):
        """A target that went away while branches waited on it: 480 for those branches."""
        for b in list(self.branches.values()):
            if isinstance(b.port, EndpointPort) and b.port.ep is ep and b.final is None:
                resp = make_response(b.request, 480, "Temporarily Unavailable")
                self.on_response(resp)


# control actions ------------------------------------------------------------------------------
def _ua(sim, user, epid=None):
    u = sim.user(user)
    aor = normalize_aor(u["uri"]) if u else normalize_aor(
        user if ":" in user else f"sip:{user}@{sim.scenario.domain}")
    uas = [ua for ua in sim.im.uas_for(aor) if epid is None or ua.epid == epid]
    if not uas:
        raise ValueError(f"no sfbsim endpoint for {user!r}" + (f" epid {epid}" if epid else ""))
    return uas


@action("add_endpoint")
def add_endpoint(sim, user, epid=None, answer="accept", code=480, name=None):
    """An endpoint of `user` inside sfbsim, reached by forking like a signed-in client:
    answer "accept" (200), "ring" (180 until endpoint_answer or CANCEL) or "decline" (`code`).
    Returns {"epid", "gruu"}."""
    ua = sim.im.add_ua(user, epid, answer, code, name)
    return {"epid": ua.epid, "gruu": ua.gruu, "uri": ua.uri}


@action("remove_endpoint")
def remove_endpoint(sim, user, epid=None):
    """Sign sfbsim's endpoint(s) of `user` out (null epid: all of them).  Returns how many."""
    gone = _ua(sim, user, epid)
    for ua in gone:
        ua.alive = False
        sim.im.uas.remove(ua)
    return len(gone)


@action("endpoint_answer")
def endpoint_answer(sim, user, answer="accept", code=None, epid=None):
    """Set how sfbsim's endpoint(s) of `user` answer (accept, ring, decline) and answer the
    INVITEs ringing now that way (ring: leaves them ringing).  Returns how many were answered."""
    if answer not in ("accept", "ring", "decline"):
        raise ValueError("answer must be accept, ring or decline")
    n = 0
    for ua in _ua(sim, user, epid):
        ua.mode = answer
        if code is not None:
            ua.code = int(code)
        if answer != "ring":
            n += ua.answer_ringing(answer, code)
    return n


@action("endpoint_messages")
def endpoint_messages(sim, user, epid=None, reset=False):
    """What sfbsim's endpoint(s) of `user` (a scenario user or "echo") received and sent:
    [{t, direction in/out, peer, text, kind message/typing/bye, call_id, epid}], oldest first;
    typing entries carry "type"/"idle" as text.  reset=true empties the lists."""
    out = []
    for ua in _ua(sim, user, epid):
        out += [dict(m, epid=ua.epid) for m in ua.messages]
        if reset:
            ua.messages.clear()
    return sorted(out, key=lambda m: m["t"])


@action("endpoint_send")
async def endpoint_send(sim, user, to, text, epid=None):
    """sfbsim's endpoint of `user` sends `text` to `to` (a URI): in its open dialog with
    that user, else in a new IM session (INVITE with the text embedded).  Returns
    {"code": final response code, "call_id"}."""
    ua = _ua(sim, user, epid)[0]
    to_aor = normalize_aor(to)
    d = next((d for d in ua.dialogs.values() if normalize_aor(d.remote_uri) == to_aor), None)
    if d is not None:
        r = await ua.send_text(d, text)
        return {"code": r.code, "call_id": d.call_id}
    r, d = await ua.invite(to, text)
    return {"code": r.code, "call_id": r.call_id, "reason": r.reason,
            "ms_diagnostics": r.get("ms-diagnostics")}


@action("endpoint_bye")
async def endpoint_bye(sim, user, epid=None):
    """sfbsim's endpoint(s) of `user` end every IM session (BYE).  Returns how many."""
    n = 0
    for ua in _ua(sim, user, epid):
        n += await ua.bye_all()
    return n


@action("im_transactions")
def im_transactions(sim, method=None, reset=False):
    """The requests the proxy routed, oldest first: {t, method, call_id, from, to, uri,
    source, branches [{target, final, cancelled}], final, cancelled}."""
    out = [r for r in sim.im.records if method is None or r["method"] == method.upper()]
    if reset:
        sim.im.records.clear()
    return out


@action("reset_im")
def reset_im(sim):
    """sfbsim's endpoints and the transaction records back to the scenario's [im]."""
    sim.im.reset()
    return True
