# SPDX-License-Identifier: LGPL-2.1-or-later
"""Endpoint: one registered client (user + +sip.instance) as seen by sim/services.py.

The registrar creates an Endpoint on a successful REGISTER and hands it to
`services.handle_request(endpoint, msg)` for every later verified request from that client.
Services use it to answer, to send requests (NOTIFY, BENOTIFY, ...) that sfbsim signs with the
endpoint's security association, and to find other endpoints (presence fan-out).

Signing and verification happen below this API: services build plain messages.
"""

import itertools
import secrets

from .sipmsg import REASONS, SipMessage

#: default wait for a client's answer to a server-initiated request
REQUEST_TIMEOUT = 10.0


def rand_hex(n):
    return secrets.token_hex((n + 1) // 2)[:n]


class Endpoint:
    """A registered client.

    Attributes services may read:
      user      the scenario's user dict (id, uri, login, password, pool, enabled, name, ...)
      uri       the user's AOR, 'sip:alice@contoso.test'
      scenario  the Scenario (sim/scenario.py)
      sim       the Sim: sim.endpoints_for(uri), sim.scenario, sim.counters, sim.user(uri)
      epid      the client's epid (From ;epid=)
      instance  the +sip.instance UUID, lower case, no urn:uuid: prefix
      gruu      'sip:alice@contoso.test;opaque=user:epid:...;gruu'
      contact   the client's Contact URI as registered (what requests to it use as R-URI)
      registrar the Registrar object it registered with (.role, .fqdn, .pool)
      call_id   the Call-ID of its REGISTER dialog; reg_to_tag the To tag sfbsim gave it
      data      a dict services may use freely (per-endpoint state)
      subscriptions  a dict services fill with their active subscriptions (counted by the
                control interface's 'counters' action)
    """

    def __init__(self, sim, conn, sa, user, epid, instance, gruu, contact, call_id, from_tag):
        self.sim, self.conn, self.sa = sim, conn, sa
        self.user = user
        self.uri = user["uri"]
        self.scenario = sim.scenario
        self.registrar = conn.registrar if conn else None
        self.epid, self.instance, self.gruu, self.contact = epid, instance, gruu, contact
        self.call_id, self.reg_from_tag = call_id, from_tag
        self.reg_to_tag = rand_hex(32)
        self.expires_at = 0.0
        self.data = {}
        self.subscriptions = {}
        self.registered = True
        self._cseq = itertools.count(1)

    def __repr__(self):
        return f"<Endpoint {self.uri} epid={self.epid}>"

    @property
    def connected(self):
        return self.registered and self.conn is not None and not self.conn.closed

    # responses ----------------------------------------------------------------------
    def make_response(self, request, code, reason=None, headers=(), body=b"", content_type=None):
        """A response to `request`: Via, From, To (a To tag is added when missing), Call-ID
        and CSeq copied; `headers` (list of (name, value)) appended; body and Content-Type set.
        Nothing is sent: return it from handle_request or pass it to send_response()."""
        return make_response(request, code, reason, headers, body, content_type)

    def send_response(self, response):
        """Sign and send a response now (for services that must answer before doing more)."""
        self.conn.send_signed(response, self.sa)

    # requests -----------------------------------------------------------------------
    async def send_request(self, method, headers=(), body=b"", content_type=None, *,
                           timeout=REQUEST_TIMEOUT, wait=True):
        """Send a request to this endpoint and return the client's final response.

        Missing headers are filled in: Via (fresh branch), Max-Forwards, From (the user's
        AOR with a fresh tag), To (the user's AOR with ;epid=), Call-ID (fresh), CSeq (per
        endpoint counter), Contact (the registrar).  The Request-URI is the endpoint's
        contact.  sfbsim signs it.  Raises asyncio.TimeoutError when no final response arrives
        within `timeout`, ConnectionError when the connection is gone.  With wait=False
        (BENOTIFY, which is never answered) it returns None once sent."""
        if not self.connected:
            raise ConnectionError("endpoint not connected")
        msg = self.build_request(method, headers, body, content_type)
        if not wait:
            self.conn.send_signed(msg, self.sa)
            return None
        return await self.conn.request(msg, self.sa, timeout)

    async def send_benotify(self, headers=(), body=b"", content_type=None):
        """BENOTIFY: a best-effort NOTIFY the client never answers (docs/protocol.md §11)."""
        return await self.send_request("BENOTIFY", headers, body, content_type, wait=False)

    def build_request(self, method, headers=(), body=b"", content_type=None):
        msg = SipMessage.request(method, self.contact, headers, body)
        reg = self.registrar
        if not msg.has("Via"):
            msg.insert(0, "Via", f"SIP/2.0/TLS {reg.address}:{reg.port};branch=z9hG4bK{rand_hex(16)}")
        if not msg.has("Max-Forwards"):
            msg.add("Max-Forwards", "70")
        if not msg.has("From"):
            msg.add("From", f"<{self.uri}>;tag={rand_hex(16)}")
        if not msg.has("To"):
            msg.add("To", f"<{self.uri}>;epid={self.epid}")
        if not msg.has("Call-ID"):
            msg.add("Call-ID", rand_hex(32))
        if not msg.has("CSeq"):
            msg.add("CSeq", f"{next(self._cseq)} {method}")
        if not msg.has("Contact") and method not in ("BENOTIFY",):
            msg.add("Contact", f"<sip:{reg.fqdn}:{reg.port};transport=tls>")
        if content_type and not msg.has("Content-Type"):
            msg.add("Content-Type", content_type)
        return msg

    def next_cseq(self):
        """A CSeq number from this endpoint's counter, for services building dialogs."""
        return next(self._cseq)


def make_response(request, code, reason=None, headers=(), body=b"", content_type=None):
    """A response to `request` with the dialog headers copied (RFC 3261 §8.2.6)."""
    resp = SipMessage.response(code, reason or REASONS.get(code, "Unknown"))
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for v in request.get_all(name):
            resp.add(name, v)
    to = resp.get("To")
    if to is not None and ";tag=" not in to.replace(" ", "").lower() and code > 100:
        resp.set("To", f"{to};tag={getattr(request, 'to_tag', None) or rand_hex(32)}")
    for n, v in headers:
        resp.add(n, v)
    if isinstance(body, str):
        body = body.encode("utf-8")
    resp.body = body
    if content_type:
        resp.set("Content-Type", content_type)
    return resp

