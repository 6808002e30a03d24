# SPDX-License-Identifier: LGPL-2.1-or-later
"""SIP over TLS registrars: the Director, the home pools and the Access Edge.

Every registrar authenticates with MS-SIPAE v4 NTLM (docs/protocol.md §4.4):

  REGISTER (no Authorization)            -> 401, one WWW-Authenticate per offered scheme
  REGISTER (NTLM gssapi-data="")         -> 401 with opaque and the NTLM CHALLENGE
  REGISTER (AUTHENTICATE, signed)        -> token checked against the scenario's users,
                                            signature checked with the new SA, then:
      Director, or a pool that is not the user's home -> signed 301 to the home pool
      home pool or edge                                -> signed 200 with GRUU
  REGISTER (signed, existing SA)         -> refresh; Expires: 0 unregisters

Requests on one connection are handled one after the other, in the order they arrived, as a
real front end does: a request waits until every earlier one is answered (a REGISTER Expires:
0 after unsubscribes sees them done).  Responses to sfbsim's own requests are taken at once.
A request the control action hold_requests names waits, and the ones after it with it, until
release_requests (sim/holds.py).

After that every request from the client must be signed with its SA; it is verified
(byte-exact buffer, replayed cnum refused) and handed to services.handle_request().  A message
with a bad signature is dropped, as a real server does; a 401 on the final NTLM leg means bad
credentials and is never retried by sfbsim itself.

Roles: the edge (443) registers any user (a real edge proxies to the home pool; collapsing
that keeps the client's view: one connection, signed 200, ms-user-logon-data: RemoteUser).
"""

import asyncio
import base64
import collections
import email.utils
import secrets
import time

from .endpoint import Endpoint, make_response, rand_hex
from .identity import gruu, instance_from_epid, parse_instance
from .net import (DelayedSender, DelayedTlsServerProtocol, nodelay, peer_str,
                  tls_session_kind)
from .kerberos import Acceptor, KerberosError
from . import diagnose_faults, holds, tlsdsk
from .ntlm import NtlmError, NtlmServer
from .scenario import login_parts
from .signing import REALM, SecurityAssociation, auth_params
from .sipmsg import (NameAddr, SipMessage, SipParseError, StreamParser, format_auth,
                     normalize_aor)

ALLOW_EVENTS = ("vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,"
                "vnd-microsoft-roaming-ACL,presence,presence.wpending,"
                "vnd-microsoft-roaming-self,vnd-microsoft-provisioning-v2")
SUPPORTED = ("adhoclist", "msrtc-event-categories", "ms-keepalive-deregister",
             "ms-userservices-state-notification")
KNOWN_METHODS = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "MESSAGE", "INFO", "SUBSCRIBE",
                 "NOTIFY", "BENOTIFY", "SERVICE", "PUBLISH", "REFER", "UPDATE", "PRACK"}
NO_RESPONSE = {"ACK", "BENOTIFY"}

# limits against a hostile or broken client
MAX_CONNECTIONS = 256
MAX_PENDING_AUTH = 1024
PENDING_AUTH_TTL = 120.0
AUTH_DEADLINE = 60.0        # a connection must hold an SA this long after connecting
MAX_UNAUTH_REQUESTS = 32
MAX_TASKS_PER_CONN = 64     # requests waiting for an earlier one's answer
TLS_HANDSHAKE_TIMEOUT = 10.0


class RegistrarServer:
    """One listening registrar (address:port) and its connections and SAs."""

    def __init__(self, sim, desc):
        self.sim, self.desc = sim, desc
        self.role, self.name, self.fqdn = desc.role, desc.name, desc.fqdn
        self.address, self.port = desc.address, desc.port
        self.pool = desc.name if desc.role == "pool" else None
        self.server = None
        self.conns = set()
        self.pending = {}   # opaque -> (NtlmServer, created)
        self.sas = {}       # opaque -> SecurityAssociation
        self.fault_503 = None
        self.cid = 0x1000

    def __repr__(self):
        return f"<RegistrarServer {self.name} {self.address}:{self.port}>"

    @property
    def running(self):
        return self.server is not None

    async def start(self):
        if self.server:
            return
        loop = asyncio.get_running_loop()
        # TLS over a delayed raw transport: the one-way delay covers the TLS handshake too
        self.server = await loop.create_server(
            lambda: DelayedTlsServerProtocol(Connection(self),
                                             self.sim.tls_context_for(self.fqdn),
                                             lambda: self.sim.delay,
                                             diagnose_faults.tls_handshake_timeout(
                                                 self.sim, TLS_HANDSHAKE_TIMEOUT),
                                             self._accepted),
            self.address, self.port)
        self.sim.log.note(f"{self.role} {self.fqdn} listening on {self.address}:{self.port}")

    async def stop(self, reason="stopped"):
        if self.server:
            self.server.close()
            self.server = None
        for c in list(self.conns):
            c.drop(reset=True, reason=reason)
        self.pending.clear()
        self.sas.clear()
        self.sim.log.note(f"{self.role} {self.fqdn} {reason}")

    def _accepted(self, transport):
        self.sim.counters.bump("tcp_connections", f"{self.fqdn}:{self.port}")

    def drop_connections(self, aor=None, reset=False):
        n = 0
        for c in list(self.conns):
            if aor is None or c.serves(aor):
                c.drop(reset=reset, reason="dropped by control")
                n += 1
        return n

    def expire_sas(self, aor=None):
        n = 0
        for sa in list(self.sas.values()):
            if aor is None or normalize_aor(sa.user["uri"]) == aor:
                sa.expires_at = 0
                n += 1
        return n

    def sweep(self, now):
        for opaque, (_, created) in list(self.pending.items()):
            if now - created > PENDING_AUTH_TTL:
                del self.pending[opaque]
        for opaque, sa in list(self.sas.items()):
            if now > sa.expires_at + 3600:
                del self.sas[opaque]
        idle = self.sim.scenario.timers["idle_timeout"]
        for c in list(self.conns):
            if now - c.last_rx > idle:
                c.drop(reason=f"idle for {idle} s")
            elif not c.authenticated and now - c.opened > AUTH_DEADLINE:
                c.drop(reason="no authentication within the deadline")

    def next_cid(self):
        self.cid += 1
        return f"{self.cid:X}"

    # challenge helpers ---------------------------------------------------------------
    def challenges(self):
        out = []
        for scheme in self.desc.auth:
            if scheme == "Kerberos" and self.sim.kdc is None:
                continue
            target = f"sip/{self.fqdn}" if scheme == "Kerberos" else self.fqdn
            params = [("realm", REALM), ("targetname", target), ("version", 4)]
            if scheme == "TLS-DSK":
                params.append(("sts-uri", tlsdsk.sts_uri(self.sim, self.desc)))
            out.append(("WWW-Authenticate", format_auth(scheme, params)))
        return out

    def lookup_password(self, domain, user):
        """NTLM credential lookup: DOMAIN\\user (domain may be empty, or user a UPN)."""
        u = self.user_for_login(domain, user)
        return u["password"] if u else None

    def user_for_login(self, domain, user):
        for u in self.sim.scenario.users.values():
            ldom, luser = login_parts(u["login"])
            if luser.lower() == user.lower() and (not domain or ldom.lower() == domain.lower()):
                return u
            if not domain and normalize_aor(u["uri"]) == normalize_aor("sip:" + user):
                return u
        return None


class Connection(asyncio.Protocol):
    """One client's TLS connection to a registrar."""

    def __init__(self, registrar):
        self.registrar = registrar
        self.sim = registrar.sim
        self.transport = self.sender = None
        self.parser = StreamParser()
        self.endpoints = set()
        self.sas = set()
        self.pending = {}     # (call-id, cseq, method) -> Future of the client's response
        self.answered = set() # (call-id, cseq, method) of requests already answered
        self.tasks = set()
        self.queue = collections.deque()  # requests waiting for the one in self.busy
        self.busy = None      # the task handling this connection's current request
        self.closed = False
        self.silent = False   # stream_faults.go_silent: read nothing, answer nothing
        self.opened = self.last_rx = time.monotonic()
        self.unauth_requests = 0
        self.cid = registrar.next_cid()
        self.local = f"{registrar.fqdn}:{registrar.port}"
        self.peer = "?"

    # asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        self.peer = peer_str(transport)
        nodelay(transport)
        # the delay is applied under TLS (DelayedTlsServerProtocol), not again here
        self.sender = DelayedSender(transport, lambda: 0.0)
        self.sim.counters.bump("tls_handshakes", tls_session_kind(transport))
        if len(self.registrar.conns) >= MAX_CONNECTIONS:
            self.sim.log.note(f"{self.local}: too many connections, refusing {self.peer}")
            transport.abort()
            self.closed = True
            return
        self.registrar.conns.add(self)
        self.sim.log.note(f"{self.local}: connection from {self.peer} (cid {self.cid})")

    def connection_lost(self, exc):
        self._cleanup("connection closed" + (f": {exc}" if exc else ""))

    def data_received(self, data):
        if self.closed or self.silent:
            return
        self.last_rx = time.monotonic()
        try:
            events = self.parser.feed(data)
        except SipParseError as e:
            self.sim.log.note(f"{self.local}: unparsable data from {self.peer}: {e}; closing")
            self.drop(reason="protocol error")
            return
        for ev in events:
            if self.closed:
                return
            if ev[0] == "ping":
                self.sim.counters.bump("keepalives")
                self.sender.write(b"\r\n")  # pong
            elif ev[0] == "message":
                msg = ev[1]
                if msg.is_request and (self.busy is not None or self.queue):
                    if len(self.queue) >= MAX_TASKS_PER_CONN:
                        self.sim.log.message("in", self.local, self.peer, msg)
                        if msg.method not in NO_RESPONSE:
                            self.respond(msg, 503, "Service Unavailable",
                                         [("Retry-After", "5")], note="too many queued")
                        continue
                    self.queue.append(msg)
                else:
                    self._handle(msg)

    def _handle(self, msg):
        if holds.hold(self, msg):  # control hold_requests: waits for release_requests
            return
        try:
            self.on_message(msg)
        except SipParseError as e:  # a header we had to parse is malformed
            self.sim.log.note(f"{self.local}: malformed {msg!r}: {e}")
            if msg.is_request and msg.method not in NO_RESPONSE:
                self.respond(msg, 400, "Bad Request")

    def _request_done(self, task):
        """The current request is answered: handle the queued ones, in order, until one
        needs a task again."""
        self.tasks.discard(task)
        if task is not self.busy:
            return
        self.busy = None
        while self.queue and self.busy is None and not self.closed:
            self._handle(self.queue.popleft())

    # helpers ------------------------------------------------------------------------
    @property
    def authenticated(self):
        return bool(self.sas)

    def serves(self, aor):
        return any(normalize_aor(sa.user["uri"]) == aor for sa in self.sas) or \
            any(normalize_aor(ep.uri) == aor for ep in self.endpoints)

    def drop(self, reset=False, reason="dropped"):
        if self.closed:
            return
        self.sim.log.note(f"{self.local}: {'resetting' if reset else 'closing'} connection "
                          f"from {self.peer}: {reason}")
        if reset:
            self.sender.abort(reset=True)
        else:
            self.sender.close()
        self._cleanup(reason)

    def _cleanup(self, reason):
        if getattr(self, "_cleaned", False):
            return
        self._cleaned = True
        self.closed = True
        self.registrar.conns.discard(self)
        for ep in list(self.endpoints):
            self.sim.remove_endpoint(ep, reason)
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("connection closed"))
        self.queue.clear()
        for t in self.tasks:
            t.cancel()

    def send(self, msg, sa=None, note=""):
        """Sign with `sa` (when given and alive) and send."""
        if self.closed or self.silent:
            return
        self.sender.write(self._outgoing(msg, sa, note))

    def _outgoing(self, msg, sa, note=""):
        """`msg` signed, logged and serialized, ready to write."""
        if msg.is_response:
            self._mark_received(msg)
            self.answered.add((msg.call_id, msg.cseq[0], msg.cseq[1]))
        if sa is not None:
            sa.sign(msg)
        self.sim.log.message("out", self.local, self.peer, msg, note)
        return msg.serialize()

    send_signed = send

    def _mark_received(self, resp):
        """Add received/ms-received-port/ms-received-cid to the top Via, as a real server."""
        for i, (n, v) in enumerate(resp.headers):
            if n.lower() in ("via", "v"):
                if "ms-received-port" not in v:
                    host, _, port = self.peer.rpartition(":")
                    v += f";received={host};ms-received-port={port};ms-received-cid={self.cid}"
                    resp.headers[i] = (n, v)
                return

    async def request(self, msg, sa, timeout):
        """Send a request and await the client's final response."""
        key = (msg.call_id, msg.cseq[0], msg.cseq[1])
        fut = asyncio.get_running_loop().create_future()
        self.pending[key] = fut
        try:
            self.send(msg, sa)
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.pending.pop(key, None)

    async def requests_in_one_write(self, msgs, sa, timeout):
        """Send requests with one write (one TLS record, one TCP segment: the client reads
        them together) and await the client's final response to each: a list of responses
        or exceptions (asyncio.TimeoutError, ConnectionError), in order."""
        loop = asyncio.get_running_loop()
        keys = [(m.call_id, m.cseq[0], m.cseq[1]) for m in msgs]
        futs = [loop.create_future() for _ in msgs]
        self.pending.update(zip(keys, futs))
        try:
            if self.closed or self.silent:
                raise ConnectionError("connection closed")
            self.sender.write(b"".join(self._outgoing(m, sa) for m in msgs))
            return await asyncio.gather(*(asyncio.wait_for(f, timeout) for f in futs),
                                        return_exceptions=True)
        finally:
            for key in keys:
                self.pending.pop(key, None)

    def respond(self, req, code, reason=None, headers=(), sa=None, note=""):
        resp = make_response(req, code, reason, headers)
        resp.add("Server", self.sim.scenario.server)
        self.send(resp, sa, note)
        return resp

    # incoming -----------------------------------------------------------------------
    def on_message(self, msg):
        user = msg.to_addr().uri if msg.is_request else ""
        self.sim.log.message("in", self.local, self.peer, msg)
        if msg.is_response:
            self.on_response(msg)
            return
        self.sim.counters.bump("requests", msg.method)
        if msg.method == "REGISTER":
            self.on_register(msg)
            return
        self.on_request(msg, user)

    def sa_for(self, params):
        sa = self.registrar.sas.get(params.get("opaque") or "")
        return sa

    def on_response(self, msg):
        key = (msg.call_id, msg.cseq[0], msg.cseq[1])
        fut = self.pending.get(key)
        _, params = auth_params(msg)
        sa = self.sa_for(params)
        reason = sa.verify(msg, params) if sa else "no SA for this response"
        if reason:
            self._signature_failure(msg, sa, reason)
            return
        if fut is None:
            if self.sim.im.on_response(msg):  # a proxied request's answer (sim/im.py)
                return
            self.sim.log.note(f"{self.local}: response {msg.code} matches no request; ignored")
            return
        if msg.code >= 200 and not fut.done():
            fut.set_result(msg)

    def _signature_failure(self, msg, sa, reason):
        who = sa.user["id"] if sa else (msg.from_addr().uri or "?")
        self.sim.counters.bump("signature_failures", who)
        self.sim.log.note(f"{self.local}: dropped {msg!r} from {self.peer}: {reason}")

    def on_request(self, msg, user):
        scheme, params = auth_params(msg)
        sa = self.sa_for(params) if scheme else None
        if sa is None or sa.expired:
            if msg.method in NO_RESPONSE:
                return
            self.unauth_requests += 1
            if self.unauth_requests > MAX_UNAUTH_REQUESTS:
                self.drop(reason="too many unauthenticated requests")
                return
            self.respond(msg, 401, "Unauthorized", self.registrar.challenges(),
                         note="no valid SA" if sa is None else "SA expired")
            return
        reason = sa.verify(msg, params)
        if reason:
            self._signature_failure(msg, sa, reason)
            return
        ep = self._endpoint_for(sa, msg)
        if ep is None:
            if msg.method not in NO_RESPONSE:
                self.respond(msg, 403, "Forbidden", [(
                    "ms-diagnostics",
                    f'4009;reason="Endpoint is not registered";source="{self.registrar.fqdn}"')],
                    sa)
            return
        t = asyncio.get_running_loop().create_task(self.dispatch(ep, msg))
        self.tasks.add(t)
        self.busy = t  # later requests wait for its answer
        t.add_done_callback(self._request_done)

    def _endpoint_for(self, sa, msg):
        epid = msg.from_addr().params.get("epid")
        mine = [ep for ep in self.endpoints if ep.sa is sa and ep.registered]
        for ep in mine:
            if epid is None or ep.epid == epid:
                return ep
        return mine[0] if mine else None

    async def dispatch(self, ep, msg):
        """Hand a verified request to services.py and make sure it gets an answer."""
        services = self.sim.services
        resp = None
        try:
            if await self.sim.im.handle_request(ep, msg):  # routed (sim/im.py)
                return
            if services is not None:
                resp = await services.handle_request(ep, msg)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # services bug: log, answer 500, keep the connection
            import traceback
            self.sim.log.note(f"services.handle_request raised on {msg!r}: "
                              + "".join(traceback.format_exception(e)))
            resp = make_response(msg, 500, "Server Internal Error")
        if msg.method in NO_RESPONSE or self.closed:
            return
        key = (msg.call_id, msg.cseq[0], msg.cseq[1])
        if resp is not None:
            if not resp.has("Server"):
                resp.add("Server", self.sim.scenario.server)
            self.send(resp, ep.sa)
        elif key not in self.answered:
            if msg.method in KNOWN_METHODS:
                self.respond(msg, 405, "Method Not Allowed",
                             [("Allow", "REGISTER, " + ", ".join(sorted(KNOWN_METHODS)))], ep.sa)
            else:
                self.respond(msg, 501, "Not Implemented", sa=ep.sa)

    # REGISTER -----------------------------------------------------------------------
    def on_register(self, msg):
        reg = self.registrar
        aor = normalize_aor(msg.to_addr().uri or "")
        counters = self.sim.counters
        counters.bump("registers", self._user_key(aor))
        self._rt_begin(aor)
        scheme, params = auth_params(msg)
        sa = self.sa_for(params) if scheme else None
        if sa is not None and sa.expired:
            sa = None

        if reg.fault_503:
            f = reg.fault_503
            if f["count"] is not None:
                f["count"] -= 1
                if f["count"] <= 0:
                    reg.fault_503 = None
            hdrs = [("ms-diagnostics", f'{f["diagnostics"]};source="{reg.fqdn}"'),
                    ("Retry-After", str(f["retry_after"]))]
            if sa is not None and sa.verify(msg, params) is not None:
                sa = None
            code = f.get("code", 503)  # set_503(code=504): Server Time-out instead
            reason = f.get("reason") or ("Server Time-out" if code == 504
                                         else "Service Unavailable")
            self.respond(msg, code, reason, hdrs, sa, note=f"injected {code}")
            self._rt_fail(aor)
            return

        if scheme is None:
            home = diagnose_faults.redirect_target(self.sim, reg, before_auth=True)
            if home is not None:
                self.respond(msg, 301, "Redirect request to Home Server", [
                    ("Contact", f"<sip:{home.fqdn}:{home.port};transport=tls>"),
                    ("Expires", str(self.sim.scenario.timers["redirect_expires"]))],
                    note="redirected before authentication")
                return
            self._challenge(msg, "no credentials")
            return
        if scheme == "TLS-DSK" and "TLS-DSK" in reg.desc.auth:
            tlsdsk.on_register(self, msg, params, sa, aor)
            return
        if scheme not in ("NTLM", "Kerberos") or scheme not in reg.desc.auth:
            self._challenge(msg, f"scheme {scheme} is not offered by {reg.fqdn}")
            return

        token = params.get("gssapi-data")
        if sa is not None and not token:
            reason = sa.verify(msg, params)
            if reason:
                self._signature_failure(msg, sa, reason)
                return
            self._registered(msg, sa, aor)
            return
        if token is None:
            self._challenge(msg, "unknown or expired opaque" if params.get("opaque") else
                            "Authorization without gssapi-data")
            return
        if scheme == "Kerberos":
            self._kerberos_register(msg, params, token, aor)
            return
        if token == "" and not params.get("opaque"):
            self._ntlm_challenge(msg)
            return
        pending = reg.pending.pop(params.get("opaque") or "", None)
        if pending is None:
            self._challenge(msg, "no pending NTLM exchange for this opaque")
            return
        ntlm_server = pending[0]
        try:
            raw = base64.b64decode(token, validate=True)
            domain, login = ntlm_server.authenticate(raw)
            user = reg.user_for_login(domain, login)
            if user is None:
                raise NtlmError(f"{domain}\\{login} is not a scenario user")
        except (NtlmError, ValueError) as e:
            counters.bump("auth_failures", self._user_key(aor))
            self._challenge(msg, f"authentication failed: {e}")
            self._rt_fail(aor)
            return
        opaque = params["opaque"]
        sa = SecurityAssociation(opaque, ntlm_server.session, user, f"{domain}\\{login}",
                                 reg.fqdn, self.sim.scenario.timers["sa_lifetime"])
        reason = sa.verify(msg, params)
        if reason:
            # v4: the message carrying the final token must already be signed
            self._signature_failure(msg, sa, reason + " (final NTLM leg)")
            return
        reg.sas[opaque] = sa
        self.sas.add(sa)
        self.sim.log.note(f"{self.local}: {domain}\\{login} authenticated (opaque {opaque}, "
                          f"flags {ntlm_server.session.flags:#x})")
        self._registered(msg, sa, aor)

    def _kerberos_register(self, msg, params, token, aor):
        """The Kerberos leg (docs/protocol.md §4.4): one AP-REQ, already signed (v4) -> 200/301
        with Authentication-Info carrying the new opaque; a refused token -> 401."""
        reg, counters = self.registrar, self.sim.counters
        try:
            if self.sim.kdc is None:
                raise KerberosError("no KDC in this scenario")
            raw = base64.b64decode(token, validate=True)
            session, principal, lifetime = Acceptor(self.sim.kdc, reg.fqdn).accept(raw)
            user = self.sim.kdc.user_for_principal(principal)
            if user is None:
                raise KerberosError(f"{principal} is not a scenario user")
        except (KerberosError, ValueError) as e:
            counters.bump("auth_failures", self._user_key(aor))
            self._challenge(msg, f"Kerberos authentication failed: {e}")
            self._rt_fail(aor)
            return
        opaque = secrets.token_hex(4).upper()
        limit = self.sim.scenario.timers["sa_lifetime"]
        sa = SecurityAssociation(opaque, session, user, principal, f"sip/{reg.fqdn}",
                                 min(limit, lifetime) if lifetime else limit,
                                 protocol="Kerberos")
        reason = sa.verify(msg, params)
        if reason:
            self._signature_failure(msg, sa, reason + " (Kerberos leg)")
            return
        reg.sas[opaque] = sa
        self.sas.add(sa)
        counters.bump("kerberos_logons", user["id"])
        self.sim.log.note(f"{self.local}: {principal} authenticated with Kerberos "
                          f"(opaque {opaque})")
        self._registered(msg, sa, aor)

    def _user_key(self, aor):
        u = self.sim.user(aor) if aor else None
        return u["id"] if u else aor or "?"

    def _challenge(self, msg, why):
        self.unauth_requests += 1
        if self.unauth_requests > MAX_UNAUTH_REQUESTS:
            self.drop(reason="too many unauthenticated REGISTERs")
            return
        hdrs = [("Date", diagnose_faults.http_date(self.sim))] + self.registrar.challenges()
        self.respond(msg, 401, "Unauthorized", hdrs, note=why)

    def _ntlm_challenge(self, msg):
        reg = self.registrar
        if len(reg.pending) >= MAX_PENDING_AUTH:
            del reg.pending[next(iter(reg.pending))]
        domain = login_parts(next(iter(self.sim.scenario.users.values()))["login"])[0]
        srv = NtlmServer(reg.lookup_password, domain.upper(), reg.fqdn.split(".")[0].upper(),
                         self.sim.scenario.domain, reg.fqdn)
        opaque = secrets.token_hex(4).upper()
        reg.pending[opaque] = (srv, time.monotonic())
        gss = base64.b64encode(srv.challenge()).decode()
        self.unauth_requests += 1
        hdrs = [("Date", diagnose_faults.http_date(self.sim)),
                ("WWW-Authenticate", format_auth("NTLM", [
                    ("opaque", opaque), ("gssapi-data", gss), ("targetname", reg.fqdn),
                    ("realm", REALM), ("version", 4)]))]
        self.respond(msg, 401, "Unauthorized", hdrs, note="NTLM challenge")

    def _registered(self, msg, sa, aor):
        """An authenticated REGISTER: 404/403/301/200 as the deployment dictates."""
        reg, sc = self.registrar, self.sim.scenario
        user = self.sim.user(aor) if aor else None
        diag = 'source="' + reg.fqdn + '"'
        if user is None:
            self.respond(msg, 404, "Not Found", [(
                "ms-diagnostics",
                f'4005;reason="Destination URI either not enabled for SIP or does not exist";{diag}')],
                sa)
            self._rt_fail(aor)
            return
        if user is not sa.user:
            self.respond(msg, 403, "Forbidden", [(
                "ms-diagnostics",
                f'1001;reason="From URI not authorized to communicate with other users";{diag}')],
                sa)
            self._rt_fail(aor)
            return
        if not user.get("enabled", True):
            self.respond(msg, 403, "Forbidden", [
                ("ms-diagnostics", f'4141;reason="User disabled";{diag}'),
                ("ms-diagnostics-public", '4141;reason="User disabled"')], sa)
            self._rt_fail(aor)
            return
        forced = diagnose_faults.redirect_target(self.sim, reg)
        if forced is not None or reg.role == "director" or (
                reg.role == "pool" and user["pool"] != reg.name):
            home = forced or self.sim.registrars[user["pool"]]
            self.respond(msg, 301, "Redirect request to Home Server", [
                ("Contact", f"<sip:{home.fqdn}:{home.port};transport=tls>"),
                ("Expires", str(sc.timers["redirect_expires"]))], sa)
            self._rt_step(aor)
            return

        frm = msg.from_addr()
        epid = frm.params.get("epid") or ""
        expires = msg.expires()
        try:
            contact = NameAddr.parse(msg.get("Contact", ""))
        except SipParseError:
            contact = None
        if expires is None and contact is not None and "expires" in contact.params:
            try:
                expires = int(contact.params["expires"])
            except (TypeError, ValueError):
                expires = None
        raw_instance = contact.params.get("+sip.instance") if contact else None
        instance = parse_instance(raw_instance) if raw_instance else None
        key = self.sim.endpoint_key(aor, instance, epid)

        if expires == 0:
            ep = self.sim.find_endpoint(key)
            if ep is not None and ep.conn is self:
                self.sim.remove_endpoint(ep, "unregistered (Expires: 0)")
            self.respond(msg, 200, "OK", [("Expires", "0")], sa, note="unregistered")
            self._rt_undo(aor)
            return
        if not epid or contact is None or not contact.uri:
            self.respond(msg, 400, "Bad Request", [(
                "ms-diagnostics", f'1018;reason="REGISTER without epid or Contact";{diag}')], sa)
            self._rt_fail(aor)
            return
        if raw_instance and (instance is None or instance != instance_from_epid(epid)):
            self.respond(msg, 400, "Bad Request", [(
                "ms-diagnostics",
                f'1019;reason="+sip.instance is not derived from the epid";{diag}')], sa)
            self._rt_fail(aor)
            return

        granted = sc.timers["expires"] if not expires else min(expires, sc.timers["expires"])
        ep = self.sim.find_endpoint(key)
        refresh = ep is not None and ep.conn is self
        if refresh:
            ep.sa = sa  # the same SA, or a new one after re-authentication
        else:
            ep = Endpoint(self.sim, self, sa, user, epid, instance,
                          gruu(user["uri"], instance) if instance else None, contact.uri,
                          msg.call_id, frm.tag)
        ep.contact = contact.uri
        ep.expires_at = time.monotonic() + granted
        ep.raw_contact = contact

        headers = [("Contact", line) for line in self._contacts(user, ep)]
        if sc.data.get("registrar", {}).get("expires_header", True):
            headers.append(("Expires", str(granted)))
        if not refresh:
            headers.append(("presence-state", 'register-action="added"'))
        headers.append(("Allow-Events", ALLOW_EVENTS))
        headers.append(("Supported", SUPPORTED[0]))
        resp = make_response(msg, 200, "OK", headers)
        resp.add("Server", sc.server)
        for s in SUPPORTED[1:]:
            resp.add("Supported", s)
        resp.add("ms-keep-alive", f"UAS; tcp=no; hop-hop=yes; end-host=no; "
                                  f"timeout={sc.timers['keep_alive']}")
        if reg.role == "edge":
            resp.add("ms-user-logon-data", "RemoteUser")
        if not refresh:
            ep.reg_to_tag = resp.to_addr().tag or ep.reg_to_tag
        self.send(resp, sa, note="refreshed" if refresh else "registered")
        if refresh:
            self._rt_undo(aor)
            return
        self.endpoints.add(ep)
        self.sim.add_endpoint(key, ep)
        self._rt_done(aor)

    def _contacts(self, user, ep):
        """Every registered Contact of the user, as a real registrar lists them: the
        scenario's other endpoints (signed in before), then the live ones in the order they
        registered, `ep` last when it is new."""
        now = time.monotonic()
        lines = []
        for other in self.sim.scenario.endpoints(user["id"]):
            instance = instance_from_epid(other["epid"])
            lines.append(f'<sip:{other["address"]};transport=tls;ms-opaque={other["epid"]}>;'
                         f'expires={other["expires"]};+sip.instance="<urn:uuid:{instance}>";'
                         f'gruu="{gruu(user["uri"], instance)}"')
        live = self.sim.endpoints_for(user["uri"])
        for e in live + ([ep] if ep not in live else []):
            line = f"<{e.contact}>;expires={max(0, round(e.expires_at - now))}"
            if e.instance:
                line += f';+sip.instance="<urn:uuid:{e.instance}>";gruu="{e.gruu}"'
            lines.append(line)
        return lines

    # sign-in round-trip accounting: REGISTERs from the first one to the 200 (the
    # Director's leg included), per user
    def _rt(self):
        return self.sim.signin_rt

    def _rt_begin(self, aor):
        self._rt()[aor] = self._rt().get(aor, 0) + 1

    def _rt_step(self, aor):
        pass  # a 301 continues the same sign-in

    def _rt_undo(self, aor):
        rt = self._rt()
        rt[aor] = max(0, rt.get(aor, 0) - 1)

    def _rt_fail(self, aor):
        self._rt().pop(aor, None)

    def _rt_done(self, aor):
        n = self._rt().pop(aor, 0)
        self.sim.counters.append("signin_round_trips", self._user_key(aor), n)


async def deregister(ep, event, method="NOTIFY", preferred=None, diagnostics=None, first=None):
    """registration-notify to one endpoint, then drop its registration.  Returns the client's
    answer code (NOTIFY), None (BENOTIFY) or an error string.  first: a request method
    (OPTIONS) sent just before the NOTIFY in the same write; then returns [its answer, the
    NOTIFY's answer]."""
    body = f"deregistered;event={event}".encode()
    hdrs = [("From", f"<{ep.uri}>;tag={ep.reg_to_tag}"),
            ("To", f"<{ep.uri}>;tag={ep.reg_from_tag};epid={ep.epid}"),
            ("Call-ID", ep.call_id),
            ("Event", "registration-notify"),
            ("subscription-state", "terminated;expires=0")]
    if diagnostics is None and event == "rejected":
        diagnostics = '4141;reason="User disabled"'
    if diagnostics:
        hdrs.append(("ms-diagnostics-public", diagnostics))
    if preferred is not None:
        hdrs.append(("P-Preferred-Registrar",
                     f"<sip:{preferred.fqdn}:{preferred.port};transport=tls>"))
    result = None
    try:
        if first is not None:
            result = await _first_then_notify(ep, first, hdrs, body)
        elif method.upper() == "BENOTIFY":
            await ep.send_benotify(hdrs, body, "text/registration-event")
        else:
            resp = await ep.send_request("NOTIFY", hdrs, body, "text/registration-event",
                                         timeout=5)
            result = resp.code
    except (asyncio.TimeoutError, ConnectionError) as e:
        result = f"{type(e).__name__}"
    ep.sim.remove_endpoint(ep, f"deregistered ({event})")
    return result


async def _first_then_notify(ep, first, hdrs, body):
    """A request `first` and the registration-notify NOTIFY in one write: the client handles
    the NOTIFY (and closes the connection) while its answer to `first` may still be going
    out.  The answer codes, or error names, in order."""
    if not ep.connected:
        raise ConnectionError("endpoint not connected")
    msgs = [ep.build_request(first.upper()),
            ep.build_request("NOTIFY", hdrs, body, "text/registration-event")]
    results = await ep.conn.requests_in_one_write(msgs, ep.sa, timeout=5)
    return [r.code if not isinstance(r, BaseException) else type(r).__name__ for r in results]
