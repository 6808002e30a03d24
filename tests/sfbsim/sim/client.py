# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small MS-SIPAE NTLM client for sfbsim's own tests (not a model for sfbd).

It does what docs/protocol.md §4 describes from the client side: three REGISTERs, follow a signed
301, sign every message after the SA exists (cnum counting up), verify every signed message
from the server, answer NOTIFY with a signed 200 and never answer BENOTIFY.  The NTLM token
is made by impacket, so the registrar's verification is checked against other code.

    c = SipTestClient(user_dict, ca_file, domain)
    final = await c.sign_in(("127.0.1.1", 5061, "director.contoso.test"))
    resp = await c.request("SUBSCRIBE", c.uri, [("Event", "presence")])
    note = await c.next_request()        # NOTIFY/BENOTIFY from the server
    await c.sign_out(); await c.close()
"""

import asyncio
import base64
import secrets
import socket
import ssl

from .identity import instance_from_epid
from .ntlm import NtlmClient
from .scenario import login_parts
from .signing import client_sign, verify_server_signature
from .sipmsg import NameAddr, SipMessage, StreamParser, parse_auth


class SipClientError(Exception):
    pass


def _hex(n):
    return secrets.token_hex(n)


class SipTestClient:
    def __init__(self, user, ca_file, domain, epid=None, user_agent="sfbsim-testclient/1.0",
                 timeout=10.0, instance=None):
        self.user = user
        self.uri = user["uri"]
        self.domain = domain
        self.login_domain, self.login = login_parts(user["login"])
        self.password = user["password"]
        self.ca_file = ca_file
        self.epid = epid or _hex(5)
        self.instance = instance or instance_from_epid(self.epid).upper()
        self.user_agent = user_agent
        self.timeout = timeout
        self.reader = self.writer = None
        self.local = None
        self.reset_auth()
        self.pending = {}
        self.incoming = asyncio.Queue()
        self.pong = asyncio.Event()
        self.auto_answer = True
        self.bad_signatures = 0
        self.round_trips = 0
        self.gruu = None
        self.expires = None
        self.keepalive_timeout = None
        self.register_response = None
        self.closed = asyncio.Event()
        self.kerberos = None  # set to a callable () -> kerberos.GssClient to use Kerberos
        self.ended = None  # how the server ended the connection: "eof" (FIN), "reset" (RST)
        self._reader_task = None

    def reset_auth(self):
        self.ntlm = None
        self.session = None
        self.opaque = None
        self.targetname = None
        self.cnum = 0
        self.call_id = _hex(16)
        self.cseq = 0
        self.header = "Authorization"
        self.scheme = "NTLM"

    # transport --------------------------------------------------------------------------
    async def connect(self, address, port, hostname, cafile=None):
        ctx = ssl.create_default_context(cafile=cafile or self.ca_file)
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(address, port, ssl=ctx, server_hostname=hostname),
            self.timeout)
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local = "%s:%d" % sock.getsockname()[:2]
        self.server = (address, port, hostname)
        self.closed = asyncio.Event()
        self._reader_task = asyncio.create_task(self._read_loop())

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError, ssl.SSLError):
                pass
            self.writer = None
        if self._reader_task:
            self._reader_task.cancel()
            try:
                await self._reader_task
            except (asyncio.CancelledError, Exception):
                pass
            self._reader_task = None

    async def _read_loop(self):
        parser = StreamParser(eager_pong=True)
        self.ended = None
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    self.ended = "eof"
                    break
                for ev in parser.feed(data):
                    if ev[0] == "pong":
                        self.pong.set()
                    elif ev[0] == "message":
                        self._on_message(ev[1])
        except ConnectionResetError:
            self.ended = "reset"
        except (ConnectionError, OSError, ssl.SSLError) as e:
            self.ended = type(e).__name__
        finally:
            self.closed.set()
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("connection closed by server"))

    def _on_message(self, msg):
        if self.session is not None and msg.has("Authentication-Info"):
            if verify_server_signature(msg, self.session) is not None:
                self.bad_signatures += 1
                return  # SIPE: a bad signature is fatal; the tests check the counter
        if msg.is_response:
            fut = self.pending.get((msg.call_id, msg.cseq[0], msg.cseq[1]))
            if fut is not None and msg.code >= 200 and not fut.done():
                fut.set_result(msg)
            return
        if msg.method == "NOTIFY" and self.auto_answer:
            self.answer(msg, 200)
        self.incoming.put_nowait(msg)

    def write(self, data):
        self.writer.write(data)

    # messages ---------------------------------------------------------------------------
    def sign(self, msg, extra=()):
        if self.session is None:
            return msg
        self.cnum += 1
        return client_sign(msg, self.session, self.header, self.scheme, self.opaque,
                           self.targetname, self.cnum, extra)

    async def send_and_wait(self, msg, timeout=None):
        key = (msg.call_id, msg.cseq[0], msg.cseq[1])
        fut = asyncio.get_running_loop().create_future()
        self.pending[key] = fut
        try:
            self.write(msg.serialize())
            return await asyncio.wait_for(fut, timeout or self.timeout)
        finally:
            self.pending.pop(key, None)

    def answer(self, req, code, reason=None, headers=()):
        from .endpoint import make_response
        resp = make_response(req, code, reason, headers)
        self.sign(resp)
        self.write(resp.serialize())
        return resp

    def contact(self):
        return (f'<sip:{self.local};transport=tls;ms-opaque=d3470f2e1d>;methods="INVITE, MESSAGE, '
                f'INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";'
                f'proxy=replace;+sip.instance="<urn:uuid:{self.instance}>"')

    def register_message(self, expires=None, auth=None):
        self.cseq += 1
        m = SipMessage.request("REGISTER", f"sip:{self.domain}")
        m.add("Via", f"SIP/2.0/TLS {self.local};branch=z9hG4bK{_hex(8)}")
        m.add("From", f"<{self.uri}>;tag={_hex(5)};epid={self.epid}")
        m.add("To", f"<{self.uri}>")
        m.add("Max-Forwards", "70")
        m.add("CSeq", f"{self.cseq} REGISTER")
        m.add("User-Agent", self.user_agent)
        m.add("Call-ID", self.call_id)
        m.add("Contact", self.contact())
        m.add("Supported", "gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence")
        m.add("Event", "registration")
        m.add("Allow-Events", "presence")
        m.add("ms-keep-alive", "UAC;hop-hop=yes")
        if expires is not None:
            m.add("Expires", str(expires))
        if auth:
            m.add(self.header, auth)
        return m

    async def register_once(self, expires=None, auth=None, extra=()):
        """One REGISTER round trip (signed when an SA exists, extra = final-leg params)."""
        m = self.register_message(expires, auth)
        if self.session is not None:
            self.sign(m, extra)
        self.round_trips += 1
        return await self.send_and_wait(m)

    async def authenticate(self, expires=None, password=None):
        """Run the 3-leg NTLM handshake (or the 2-leg Kerberos one when self.kerberos is
        set) on the open connection; returns the final response."""
        self.reset_auth()
        r = await self.register_once(expires)
        if r.code != 401:
            return r
        if self.kerberos is not None:
            return await self._authenticate_kerberos(r, expires)
        target = None
        for v in r.get_all("WWW-Authenticate"):
            scheme, p = parse_auth(v)
            if scheme == "NTLM":
                target = p.get("targetname")
        if target is None:
            raise SipClientError("no NTLM challenge offered")
        self.targetname = target
        r = await self.register_once(expires, auth=(
            f'NTLM qop="auth", realm="SIP Communications Service", targetname="{target}", '
            f'gssapi-data="", version=4'))
        if r.code != 401:
            return r
        scheme, p = parse_auth(r.get("WWW-Authenticate", ""))
        if not p.get("gssapi-data") or not p.get("opaque"):
            raise SipClientError(f"second 401 carries no NTLM challenge: {r.get('WWW-Authenticate')}")
        self.opaque = p["opaque"]
        self.ntlm = NtlmClient(self.login, password or self.password, self.login_domain)
        t3 = self.ntlm.authenticate(base64.b64decode(p["gssapi-data"]))
        self.session = self.ntlm.session
        r = await self.register_once(expires, extra=[("gssapi-data", base64.b64encode(t3).decode())])
        if r.code == 401:
            self.session = None
        self._take_200(r)
        return r

    async def _authenticate_kerberos(self, r, expires):
        target = None
        for v in r.get_all("WWW-Authenticate"):
            scheme, p = parse_auth(v)
            if scheme == "Kerberos":
                target = p.get("targetname")
        if target is None:
            raise SipClientError("no Kerberos challenge offered")
        gss = self.kerberos()
        token = gss.initial_token(target)
        self.scheme, self.targetname, self.session = "Kerberos", target, gss
        r = await self.register_once(expires, extra=[
            ("gssapi-data", base64.b64encode(token).decode())])
        if r.code == 401:
            self.session = None
        self._take_200(r)
        return r

    def _take_200(self, r):
        if r.code != 200:
            return
        self.register_response = r
        self.expires = r.expires()
        for c in r.get_all("Contact"):
            na = NameAddr.parse(c)
            inst = (na.params.get("+sip.instance") or "").strip("<>").lower()
            if inst.endswith(self.instance.lower()):
                self.gruu = na.params.get("gruu")
        ka = r.get("ms-keep-alive") or ""
        for part in ka.split(";"):
            k, _, v = part.strip().partition("=")
            if k == "timeout":
                self.keepalive_timeout = int(v)
        a = r.get("Authentication-Info")
        if a:
            self.opaque = parse_auth(a)[1].get("opaque", self.opaque)

    async def sign_in(self, server, max_redirects=3, expires=None):
        """Connect to (address, port, hostname), authenticate, follow 301s.  Returns the
        final REGISTER response.  server may be a callable hostname -> (address, port, host)
        used to resolve redirect targets."""
        address, port, host = server
        for _ in range(max_redirects + 1):
            await self.connect(address, port, host)
            r = await self.authenticate(expires)
            if r.code != 301:
                return r
            target = NameAddr.parse(r.get("Contact")).uri
            hostport = target.split(":", 1)[1].split(";")[0]
            host, _, p = hostport.partition(":")
            port = int(p or 5061)
            address = self.resolve(host)
            await self.close()
        raise SipClientError("too many redirects")

    def resolve(self, host):
        """Redirect targets are names; tests give the client a {name: address} map."""
        return self.hosts.get(host, host)

    hosts = {}

    async def reregister(self, expires=None):
        r = await self.register_once(expires)
        self._take_200(r)
        return r

    async def sign_out(self):
        return await self.register_once(expires=0)

    async def keepalive(self, timeout=None):
        """Send CRLFCRLF and wait for the single-CRLF pong."""
        self.pong.clear()
        self.write(b"\r\n\r\n")
        await asyncio.wait_for(self.pong.wait(), timeout or self.timeout)

    async def request(self, method, uri=None, headers=(), body=b"", content_type=None,
                      timeout=None):
        """A signed out-of-dialog request (fresh Call-ID, CSeq 1) to `uri` (default: self)."""
        m = SipMessage.request(method, uri or self.uri)
        m.add("Via", f"SIP/2.0/TLS {self.local};branch=z9hG4bK{_hex(8)}")
        m.add("Max-Forwards", "70")
        m.add("From", f"<{self.uri}>;tag={_hex(5)};epid={self.epid}")
        m.add("To", f"<{uri or self.uri}>")
        m.add("Call-ID", _hex(16))
        m.add("CSeq", f"1 {method}")
        m.add("Contact", f"<{self.gruu}>" if self.gruu else self.contact())
        m.add("User-Agent", self.user_agent)
        for n, v in headers:
            m.add(n, v)
        if content_type:
            m.add("Content-Type", content_type)
        m.body = body if isinstance(body, bytes) else body.encode()
        self.sign(m)
        return await self.send_and_wait(m, timeout)

    async def next_request(self, timeout=None):
        return await asyncio.wait_for(self.incoming.get(), timeout or self.timeout)
