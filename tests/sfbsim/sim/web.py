# SPDX-License-Identifier: LGPL-2.1-or-later
"""Lync autodiscover (MS-OCDISCWS, XML form) over HTTP and HTTPS.

Each web server is one autodiscover instance: the lyncdiscover(internal) names are the
instance of the scenario's autodiscover.pool, and every pool answers on its own address too,
which is where Redirect links point.  Behaviour (docs/protocol.md §2.2, MS-OCDISCWS 3.1.5):

  http  any root request      -> 200, Root with one Link token="Redirect" to the https URL
  https GET /?sipuri= or .../root?sipuri=   -> Root with Domain, User and Self links
        .../root/user?sipuri=  (also /root/oauth/user)
            user homed on this instance's pool -> User with SipServer/SipClient*Access, Links
            user homed elsewhere -> User with exactly one Link token="Redirect"
            unknown user -> 404, empty body
        .../root/domain        -> Domain with the access points of the deployment

A lyncdiscover name listed in the scenario's [autodiscover.portal] (name -> content type,
control action set_portal) is some other web server, such as a corporate portal: every
request, on http and https, gets 200 with that content type and an HTML page.

The User resource is behind a web ticket when the scenario says autodiscover.user_webticket =
true: without a valid `X-MS-WebTicket: opaque=<base64 assertion>` it answers 401 with
X-MS-WebTicketURL.  The web ticket and certificate provisioning services (webticket.py,
certprov.py) answer on every HTTPS server too.
"""

import asyncio
import urllib.parse
from xml.sax.saxutils import quoteattr

from . import certprov, diagnose_faults, features, webticket
from .net import DelayedSender, DelayedTlsServerProtocol, nodelay, tls_session_kind
from .sipmsg import normalize_aor

CONTENT_TYPE = "application/vnd.microsoft.rtc.autodiscover+xml; v=1"
ROOT_PATH = "/autodiscover/autodiscoverservice.svc/root"
MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024
MAX_REQUESTS = 100
IDLE = 30.0

PORTAL_PAGE = (b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
               b'<title>Contoso Intranet</title></head>\n<body><h1>Welcome to the Contoso '
               b'Intranet</h1><p>Sign in to continue.</p></body></html>\n')

HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<AutodiscoverResponse '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" AccessLocation="{loc}">\n')


def link(token, href):
    return f"    <Link token={quoteattr(token)} href={quoteattr(href)}/>\n"


class WebServer:
    """One autodiscover instance on address:port (tls or plain)."""

    def __init__(self, sim, address, port, host, pool, location, tls):
        self.sim = sim
        self.address, self.port, self.host = address, port, host
        self.pool, self.location, self.tls = pool, location, tls
        self.server = None

    async def start(self):
        if not self.tls:
            self.server = await asyncio.start_server(self._client, self.address, self.port,
                                                     limit=MAX_HEAD)
            return
        loop = asyncio.get_running_loop()

        def protocol():
            # TLS over a delayed raw transport: the one-way delay covers the handshake too
            reader = asyncio.StreamReader(limit=MAX_HEAD, loop=loop)
            app = asyncio.StreamReaderProtocol(reader, self._client, loop=loop)
            return DelayedTlsServerProtocol(app, self.sim.tls_context_for(self.host), lambda: self.sim.delay,
                                            10, self._accepted)
        self.server = await loop.create_server(protocol, self.address, self.port)

    def _accepted(self, transport):
        self.sim.counters.bump("tcp_connections", f"{self.host}:{self.port}")

    async def stop(self):
        if self.server:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    # HTTP plumbing ------------------------------------------------------------------
    async def _client(self, reader, writer):
        nodelay(writer.transport)
        kind = tls_session_kind(writer.transport)
        if kind is not None:
            self.sim.counters.bump("tls_handshakes", kind)
        else:
            self.sim.counters.bump("tcp_connections", f"{self.host}:{self.port}")
        # over TLS the delay is applied under TLS (DelayedTlsServerProtocol)
        out = DelayedSender(writer.transport,
                            (lambda: self.sim.delay) if kind is None else (lambda: 0.0))
        conn = {}  # per-connection state (connection-oriented NTLM of the web services)
        where = f"{self.host}:{self.port}"
        self.sim.counters.bump("http_connections", where)
        self.sim.http_open[where] += 1
        try:
            for _ in range(MAX_REQUESTS):
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE)
                except asyncio.IncompleteReadError as e:
                    if not e.partial:  # the client closed it between requests
                        self.sim.counters.bump("http_closed_by_client", where)
                    break
                except (asyncio.LimitOverrunError, ValueError):
                    break
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                    out.write(self._response(400, "Bad Request", b"", "text/plain", True))
                    break
                method, target, version = parts
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                clen = headers.get("content-length", "0")
                if not clen.isdigit() or int(clen) > MAX_BODY:
                    out.write(self._response(413, "Payload Too Large", b"", "text/plain", True))
                    break
                body_in = b""
                if int(clen):
                    body_in = await asyncio.wait_for(reader.readexactly(int(clen)), IDLE)
                close = (headers.get("connection", "").lower() == "close"
                         or version == "HTTP/1.0")
                answer = self.portal()
                if answer is None:
                    answer = self.web_services(method, target, headers, body_in, conn)
                if answer is None:
                    answer = self.handle(method, target, headers)
                    self.sim.counters.bump("autodiscover_requests", f"{self.host} {answer[0]}")
                code, reason, body, ctype = answer[:4]
                extra = answer[4] if len(answer) > 4 else ()
                self.sim.log.note(f"HTTP{'S' if self.tls else ''} {self.host}:{self.port} "
                                  f"{method} {target} -> {code}")
                out.write(self._response(code, reason, body, ctype, close, extra))
                if close:
                    break
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.sim.http_open[where] -= 1
            out.close()

    def _response(self, code, reason, body, ctype, close, extra=()):
        head = [f"HTTP/1.1 {code} {reason}", f"Content-Length: {len(body)}",
                "Cache-Control: no-cache", "Server: Microsoft-IIS/10.0",
                f"Date: {diagnose_faults.http_date(self.sim)}",
                f"X-MS-Server-Fqdn: {self.host}"] + [f"{n}: {v}" for n, v in extra]
        if body:
            head.append(f"Content-Type: {ctype}")
        if close:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    def portal(self):
        """The portal answer when this name is one ([autodiscover.portal]), else None."""
        ctype = self.sim.scenario.autodiscover.get("portal", {}).get(self.host)
        if ctype is None:
            return None
        self.sim.counters.bump("portal_requests", self.host)
        return 200, "OK", PORTAL_PAGE, ctype

    def web_services(self, method, target, headers, body, conn):
        """Web ticket and certificate provisioning services (HTTPS only), else None."""
        if not self.tls:
            return None
        path = urllib.parse.urlsplit(target).path.lower().rstrip("/")
        for svc in (webticket, certprov, features):
            answer = svc.handle(self, method, path, headers, body, conn)
            if answer is not None:
                return answer
        return None

    # autodiscover -------------------------------------------------------------------
    def base(self, host=None):
        return f"https://{host or self.host}/Autodiscover/AutodiscoverService.svc/root"

    def handle(self, method, target, headers):
        """(code, reason, body, content type) for one request."""
        if method not in ("GET", "HEAD"):
            return 405, "Method Not Allowed", b"", "text/plain"
        url = urllib.parse.urlsplit(target)
        path = url.path.lower().rstrip("/")
        query = urllib.parse.parse_qs(url.query)
        sipuri = (query.get("sipuri") or query.get("SipUri") or [""])[0]
        q = f"?sipuri={urllib.parse.quote(sipuri, safe='@:')}" if sipuri else ""
        loc = self.location

        if path in ("", ROOT_PATH):
            if not self.tls:
                body = HEAD.format(loc=loc) + "  <Root>\n" + link("Redirect", self.base() + q) \
                    + "  </Root>\n</AutodiscoverResponse>\n"
            else:
                b = self.base()
                body = (HEAD.format(loc=loc) + "  <Root>\n" + link("Domain", b + "/domain" + q)
                        + link("User", b + "/user" + q) + link("Self", b + q)
                        + "  </Root>\n</AutodiscoverResponse>\n")
            return 200, "OK", body.encode(), CONTENT_TYPE
        if not self.tls:
            return 404, "Not Found", b"", "text/plain"
        if path in (ROOT_PATH + "/user", ROOT_PATH + "/oauth/user"):
            if self.sim.scenario.autodiscover.get("user_webticket") and \
                    webticket.ticket_from_header(self.sim, headers.get("x-ms-webticket")) is None:
                return self.webticket_401()
            return self.user_resource(sipuri, q)
        if path == ROOT_PATH + "/domain":
            body = HEAD.format(loc=loc) + "  <Domain>\n" + self.access_xml(None) + \
                "  </Domain>\n</AutodiscoverResponse>\n"
            return 200, "OK", body.encode(), CONTENT_TYPE
        return 404, "Not Found", b"", "text/plain"

    def webticket_401(self):
        """MS-OCDISCWS 3.1.5.3: the User resource needs X-MS-WebTicket; the 401 names the web
        ticket service (and, as Lync 2013+ does, the OAuth token endpoint sfbsim lacks)."""
        wt = f"https://{self.host}/WebTicket/WebTicketService.svc"
        return 401, "Unauthorized", b"", "text/plain", [
            ("X-MS-WebTicketURL", wt),
            ("WWW-Authenticate", f'MsRtcOAuth href="https://{self.host}/WebTicket/oauthtoken",'
                                 'grant_type="urn:microsoft.rtc:windows,'
                                 'urn:microsoft.rtc:anonmeeting,password"')]

    def user_resource(self, sipuri, q):
        sc = self.sim.scenario
        user = sc.user(normalize_aor(sipuri if ":" in sipuri else "sip:" + sipuri)) if sipuri else None
        if user is None:
            return 404, "Not Found", b"", "text/plain"
        if user["pool"] != self.pool:
            home = sc.pool(user["pool"])
            body = (HEAD.format(loc=self.location) + "  <User>\n"
                    + link("Redirect", self.base(home.fqdn) + q)
                    + "  </User>\n</AutodiscoverResponse>\n")
            return 200, "OK", body.encode(), CONTENT_TYPE
        b = self.base()
        ad = sc.autodiscover
        links = [("Internal/Autodiscover", f"https://{ad['internal_fqdn']}/Autodiscover/AutodiscoverService.svc/root"),
                 ("External/Autodiscover", f"https://{ad['external_fqdn']}/Autodiscover/AutodiscoverService.svc/root"),
                 ("Self", b + "/user" + q)]
        body = (HEAD.format(loc=self.location) + "  <User>\n" + self.access_xml(user)
                + "".join(link(t, h) for t, h in links) + "  </User>\n</AutodiscoverResponse>\n")
        return 200, "OK", body.encode(), CONTENT_TYPE

    def access_xml(self, user):
        sc = self.sim.scenario
        director = sc.registrar("director")
        home = sc.pool(user["pool"]) if user else None
        if home is None or (sc.autodiscover["sip_internal"] == "director" and director):
            client_int = director or home or sc.registrars()[0]
        else:
            client_int = home
        server_int = home or client_int
        edge = sc.registrar("edge")
        out = (f'    <SipServerInternalAccess fqdn="{server_int.fqdn}" port="{server_int.port}"/>\n'
               f'    <SipClientInternalAccess fqdn="{client_int.fqdn}" port="{client_int.port}"/>\n')
        if edge:
            out += (f'    <SipServerExternalAccess fqdn="{edge.fqdn}" port="{edge.port}"/>\n'
                    f'    <SipClientExternalAccess fqdn="{edge.fqdn}" port="{edge.port}"/>\n')
        return out
