# SPDX-License-Identifier: LGPL-2.1-or-later
"""The simulated Exchange server: Autodiscover (POX) and EWS over HTTPS, HTTP authentication,
the mailboxes' runtime state, MWI over SIP and the Exchange control actions.

Present when the scenario has an [exchange] section (sim/mailbox.py has the keys).  Three
HTTPS hosts, each with its own certificate from the test CA and its own address:

  https://<domain>/autodiscover/autodiscover.xml              [exchange.autodiscover] domain
  https://autodiscover.<domain>/autodiscover/autodiscover.xml                    autodiscover
  https://<mail_fqdn>/autodiscover/autodiscover.xml  (SRV _autodiscover._tcp.<domain>)   srv
  https://<mail_fqdn>/EWS/Exchange.asmx                  EWS (sim/ews.py)
  http://autodiscover.<domain>/autodiscover/autodiscover.xml   GET -> 302 to the https URL
                                                         ([MS-OXDISCO] 3.1.5.4), POST -> 403

Every POST needs HTTP authentication, as on a real Exchange virtual directory: a request
without a usable Authorization gets 401 with one WWW-Authenticate per scheme of
exchange.auth (default "Negotiate" then "NTLM").  NTLM is connection-oriented (NEGOTIATE ->
401 with the CHALLENGE -> AUTHENTICATE on the same connection) in either scheme; Negotiate
also takes SPNEGO or raw Kerberos tokens for HTTP/<host> (the KDC of sim/kerberos.py; the
200 carries the acceptor's answer token) and SPNEGO-wrapped NTLM (gss-ntlmssp).  The
connection then stays authenticated (IIS's default for both).  Basic when listed.

Records: every autodiscover and EWS request lands in sim.exchange.log (control action
exchange_requests) and in the counters autodiscover_pox ("<host role> <answer>") and
ews_requests (per operation).
"""

import asyncio
import base64
import os
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape

import gssapi

from . import control, ews
from . import documents as D
from .mailbox import (Mailbox, MailboxError, calendar_item,
                      check_autodiscover_mode, check_status, missed_item, oof_settings,
                      voicemail)
from .ntlm import F_DATAGRAM, F_NTLM, F_TARGET_INFO, F_TARGET_TYPE_DOMAIN, F_UNICODE, \
    F_VERSION, NtlmError, NtlmServer
from .scenario import exchange_hosts, login_parts
from .sipmsg import normalize_aor
from .web import WebServer
from .webticket import HTTP_NTLM_FLAGS, WsError, parse_xml

AD_PATH = "/autodiscover/autodiscover.xml"
EWS_PATH = "/ews/exchange.asmx"
NS_AD_REQ = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
NS_AD_RESP = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
NS_AD_OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
CT_XML = "text/xml; charset=utf-8"
MAX_LOG = 10000
#: the MWI category (Lync SDK mwi-category-instance-value-element: Self container 1,
#: instance 0, published by the server)
NS_MWI = "http://schemas.microsoft.com/2006/09/sip/mwi"

PORTAL_PAGE = (b'<!DOCTYPE html>\n<html><head><title>Contoso</title></head><body>'
               b'<h1>Contoso</h1></body></html>\n')


# DER of the mechanism OIDs (tag 06, length, value) that open a GSS initial context token
_SPNEGO_OID = bytes.fromhex("06062b0601050502")
_KRB5_OID = bytes.fromhex("06092a864886f712010202")


def negotiate_token_form(raw):
    """'spnego', 'krb5' (a raw AP-REQ token) or 'other': what the first GSS token of
    a Negotiate exchange is, read from the RFC 2743 §3.1 framing (0x60, DER length, the
    mechanism OID)."""
    if len(raw) < 2 or raw[0] != 0x60:
        return "other"
    n = raw[1] & 0x7F if raw[1] & 0x80 else 0
    oid = raw[2 + n:]
    if oid.startswith(_SPNEGO_OID):
        return "spnego"
    if oid.startswith(_KRB5_OID):
        return "krb5"
    return "other"


class ExchangeWeb(WebServer):
    """One Exchange HTTP(S) host: role "domain", "autodiscover" or "mail"."""

    def __init__(self, sim, address, host, role, tls=True):
        super().__init__(sim, address, 443 if tls else 80, host, None, "Internal", tls)
        self.role = role

    @property
    def listening(self):
        return self.server is not None

    def portal(self):
        return None

    def web_services(self, method, target, headers, body, conn):
        return self.sim.exchange.handle(self, method, target, headers, body, conn)


class Exchange:
    """The Exchange of one Sim."""

    def __init__(self, sim):
        self.sim = sim
        sc = sim.scenario
        self.conf = sc.exchange
        self.started = time.time()
        self.mailboxes = {uid: Mailbox(u, sc.domain, sc.mailbox_conf(uid), self.started)
                          for uid, u in sc.users.items()}
        self.webs = []
        for name, addr in exchange_hosts(sc.domain, self.conf):
            role = {self.conf["mail_fqdn"]: "mail",
                    self.conf["autodiscover_fqdn"]: "autodiscover"}.get(name, "domain")
            self.webs.append(ExchangeWeb(sim, addr, name, role))
            if role == "autodiscover":
                self.webs.append(ExchangeWeb(sim, addr, name, role, tls=False))
        self.log = []
        self.mwi_sent = {}  # user id -> (unread, read) last announced over SIP

    # lifecycle ------------------------------------------------------------------------
    async def start(self):
        self._ntlm_user_file()
        await self.apply()

    def _ntlm_user_file(self):
        """gss-ntlmssp's acceptor (NTLM inside SPNEGO) reads the accounts from the file
        NTLM_USER_FILE names: DOMAIN:user:password per line."""
        path = os.path.join(self.sim.workdir, "exchange-ntlm-users")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            for u in self.sim.scenario.users.values():
                dom, name = login_parts(u["login"])
                f.write(f"{dom}:{name}:{u['password']}\n")
        os.environ["NTLM_USER_FILE"] = path

    async def stop(self):
        for w in self.webs:
            await w.stop()

    async def apply(self):
        """Listeners and DNS as the current settings say (status "refused" stops them)."""
        refused = self.conf["status"] == "refused"
        ad = self.conf["autodiscover"]
        for w in self.webs:
            down = refused or (w.role in ("domain", "autodiscover") and ad[w.role] == "refused")
            if down and w.listening:
                await w.stop()
            elif not down and not w.listening:
                await w.start()
        if self.sim.dns is not None:
            from .dns import Zone
            self.sim.dns.zone = Zone(self.sim.scenario)

    def reset(self):
        """Back to the scenario file's mailboxes (tests sharing one Sim)."""
        sc = self.sim.scenario
        now = time.time()
        self.mailboxes = {uid: Mailbox(u, sc.domain, sc.mailbox_conf(uid), now)
                          for uid, u in sc.users.items()}
        self.log.clear()
        self.mwi_sent.clear()

    # lookups --------------------------------------------------------------------------
    def mailbox_for(self, address):
        """The Mailbox with that SMTP address (primary or alias; any case), else None."""
        a = (address or "").strip().lower()
        if a.startswith("smtp:"):
            a = a[5:]
        for mb in self.mailboxes.values():
            if a in mb.addresses():
                return mb
        return None

    def mailbox(self, user):
        u = self.sim.user(user)
        if u is None:
            raise ValueError(f"no user {user!r}")
        return self.mailboxes[u["id"]]

    def url(self, role, path):
        host = {"mail": self.conf["mail_fqdn"], "autodiscover": self.conf["autodiscover_fqdn"],
                "domain": self.sim.scenario.domain}[role]
        return f"https://{host}{path}"

    def record(self, **entry):
        entry["t"] = round(time.time(), 3)
        self.log.append(entry)
        del self.log[:-MAX_LOG]

    # HTTP -----------------------------------------------------------------------------
    def handle(self, web, method, target, headers, body, conn):
        path = urllib.parse.urlsplit(target).path.lower().rstrip("/")
        status = self.conf["status"]
        if not web.tls:
            return self.plain_http(web, method, path)
        if isinstance(status, int):
            return self.refusal(web, status)
        if path == AD_PATH:
            return self.autodiscover(web, method, headers, body, conn)
        if path == EWS_PATH and web.role == "mail":
            return self.ews(web, method, headers, body, conn)
        return 404, "Not Found", b"", "text/plain", []

    def plain_http(self, web, method, path):
        """Port 80 of autodiscover.<domain>: the unauthenticated GET redirect probe."""
        self.record(kind="autodiscover", host=web.host, scheme="http", method=method,
                    status=302 if method == "GET" else 403)
        if path == AD_PATH and method == "GET":
            return 302, "Found", b"", "text/plain", [
                ("Location", f"https://{web.host}/Autodiscover/Autodiscover.xml")]
        return 403, "Forbidden", b"", "text/plain", []

    def refusal(self, web, status):
        """exchange.status = an HTTP status: every request gets it (401 with the offers)."""
        self.sim.counters.bump("exchange_refusals", f"{web.host} {status}")
        self.record(kind="refused", host=web.host, status=status)
        reason = {401: "Unauthorized", 403: "Forbidden", 500: "Internal Server Error",
                  502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error")
        extra = self.offers() if status == 401 else []
        if status == 503:
            extra.append(("Retry-After", "30"))
        return status, reason, b"", "text/plain", extra

    def offers(self):
        return [("WWW-Authenticate", "Basic realm=\"" + self.conf["mail_fqdn"] + "\""
                 if s == "Basic" else s) for s in self.conf["auth"]]

    # HTTP authentication ----------------------------------------------------------------
    def authenticate(self, web, headers, conn):
        """The scenario user of this request (connection), or a 401 answer tuple."""
        if conn.get("user") is not None:
            return conn["user"]
        scheme, _, token = headers.get("authorization", "").partition(" ")
        scheme = scheme.lower()
        offered = [s.lower() for s in self.conf["auth"]]
        if scheme not in offered or not token.strip():
            return self._unauthorized("no usable Authorization")
        if scheme == "basic":
            return self._basic(web, token, conn)
        try:
            raw = base64.b64decode(token.strip(), validate=True)
        except ValueError:
            return self._unauthorized("token is not base64")
        name = "NTLM" if scheme == "ntlm" else "Negotiate"
        if raw.startswith(b"NTLMSSP\0"):
            return self._ntlm(web, name, raw, conn)
        if scheme == "negotiate":
            return self._gss(web, raw, conn)
        return self._unauthorized("not an NTLM message")

    def _unauthorized(self, why, extra=()):
        self.sim.counters.bump("exchange_auth_failures")
        self.sim.log.note(f"Exchange HTTP authentication: {why}")
        return 401, "Unauthorized", b"", "text/plain", self.offers() + list(extra)

    def _user_for_login(self, domain, login):
        login = login.lower()
        for u in self.sim.scenario.users.values():
            ldom, luser = login_parts(u["login"])
            if luser.lower() == login and (not domain or ldom.lower() == domain.lower()):
                return u
            mb = self.mailboxes.get(u["id"])
            if "@" in login and (mb and login in mb.addresses()
                                 or normalize_aor("sip:" + login) == normalize_aor(u["uri"])):
                return u
        return None

    def _done(self, conn, user, how):
        conn["user"] = user
        self.sim.counters.bump("exchange_logons", f"{user['id']} {how}")
        return user

    def _basic(self, web, token, conn):
        try:
            login, _, password = base64.b64decode(token.strip(), validate=True) \
                .decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return self._unauthorized("malformed Basic credentials")
        dom, _, name = login.rpartition("\\")
        u = self._user_for_login(dom, name)
        if u is None or password != u["password"]:
            return self._unauthorized("Basic: wrong login or password")
        return self._done(conn, u, "Basic")

    def _ntlm(self, web, scheme, raw, conn):
        sim = self.sim
        if raw.startswith(b"NTLMSSP\0\x01\0\0\0") and len(raw) >= 16:
            cflags = int.from_bytes(raw[12:16], "little")
            first = next(iter(sim.scenario.users.values()))
            domain = login_parts(first["login"])[0].upper()
            flags = (HTTP_NTLM_FLAGS & (cflags | F_TARGET_INFO | F_VERSION)) | \
                F_TARGET_TYPE_DOMAIN | F_NTLM | (F_UNICODE if cflags & F_UNICODE else 0)
            srv = NtlmServer(lambda d, u: (self._user_for_login(d, u) or {}).get("password"),
                             domain, web.host.split(".")[0].upper(), sim.scenario.domain,
                             web.host, flags & ~F_DATAGRAM)
            srv.require_sign = False
            conn["ntlm"] = srv
            return 401, "Unauthorized", b"", "text/plain", [
                ("WWW-Authenticate", f"{scheme} {base64.b64encode(srv.challenge()).decode()}")]
        srv = conn.pop("ntlm", None)
        if not raw.startswith(b"NTLMSSP\0\x03\0\0\0") or srv is None:
            return self._unauthorized("NTLM AUTHENTICATE without a NEGOTIATE on this "
                                      "connection")
        try:
            domain, login = srv.authenticate(raw)
        except NtlmError as e:
            return self._unauthorized(f"NTLM: {e}")
        u = self._user_for_login(domain, login)
        if u is None:
            return self._unauthorized(f"NTLM: no user {domain}\\{login}")
        return self._done(conn, u, "NTLM")

    def _gss(self, web, raw, conn):
        """SPNEGO (Kerberos, or NTLM through gss-ntlmssp) or a raw Kerberos AP-REQ."""
        kdc = self.sim.kdc
        if kdc is None:
            return self._unauthorized("Negotiate: no KDC in this scenario")
        ctx = conn.pop("gss", None)
        if ctx is None:
            self.sim.counters.bump("exchange_negotiate_tokens", negotiate_token_form(raw))
        try:
            if ctx is None:
                # the default acceptor credential (KRB5_KTNAME, NTLM_USER_FILE): with an
                # explicit keytab store gss-ntlmssp's acceptor crashes (gss-ntlmssp 1.2)
                os.environ["KRB5_CONFIG"] = kdc.krb5_conf
                os.environ["KRB5_KTNAME"] = f"FILE:{kdc.http_keytab}"
                ctx = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept"),
                                             usage="accept")
            out = ctx.step(raw)
            complete = ctx.complete  # python-gssapi raises a failed step's error here
        except gssapi.exceptions.GSSError as e:
            return self._unauthorized(f"Negotiate: {gss_message(e)}")
        answer = [("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode())] \
            if out else []
        if not complete:
            conn["gss"] = ctx
            return 401, "Unauthorized", b"", "text/plain", answer
        who = str(ctx.initiator_name).strip().strip("\0")  # gss-ntlmssp pads it
        u = kdc.user_for_principal(who)
        if u is None:  # NTLM through SPNEGO names DOMAIN\user
            dom, _, name = who.rpartition("\\")
            u = self._user_for_login(dom, name)
        if u is None:
            return self._unauthorized(f"Negotiate: {who[:80]!r} is no scenario user")
        mech = "Kerberos" if kdc.user_for_principal(who) is not None else "NTLM"
        self._done(conn, u, f"Negotiate/{mech}")
        conn["answer"] = answer
        return u

    # Autodiscover (POX) -------------------------------------------------------------------
    def autodiscover(self, web, method, headers, body, conn):
        role = web.role
        mode = self.conf["autodiscover"]["srv" if role == "mail" else role]
        entry = {"kind": "autodiscover", "host": web.host, "role": role}
        if method != "POST":
            self.record(**entry, status=405)
            return 405, "Method Not Allowed", b"", "text/plain", [("Allow", "POST")]
        user = self.authenticate(web, headers, conn)
        if isinstance(user, tuple):
            self.record(**entry, status=401)
            return user
        extra = conn.pop("answer", [])
        entry["user"] = user["id"]
        answer, code = self._autodiscover_answer(web, role, mode, body, entry)
        self.sim.counters.bump("autodiscover_pox", f"{role} {entry.get('answer', code)}")
        self.record(**entry, status=code)
        if isinstance(answer, tuple):
            return answer[:4] + (list(answer[4]) + extra,)
        return code, "OK", answer, CT_XML, extra

    def _autodiscover_answer(self, web, role, mode, body, entry):
        """(body bytes or a full answer tuple, HTTP status)."""
        other = self.conf["redirect_location"] or self.url(
            "autodiscover" if role == "mail" else "mail", "/autodiscover/autodiscover.xml")
        if isinstance(mode, int):
            entry["answer"] = f"status {mode}"
            if 300 <= mode < 400:
                return (mode, "Redirect", b"", "text/plain", [("Location", other)]), mode
            return (mode, "Error", b"", "text/plain", []), mode
        if mode == "content-type":
            entry["answer"] = "content-type"
            return (200, "OK", PORTAL_PAGE, "text/html; charset=utf-8", []), 200
        if mode == "redirect-302":
            entry["answer"] = "302"
            return (302, "Found", b"", "text/plain", [("Location", other)]), 302
        try:
            email, schema = parse_request(body)
        except WsError as e:
            entry["answer"] = "error 600"
            return ad_error(600, f"Invalid Request: {e.text}"), 200
        entry["email"] = email
        if schema != NS_AD_OUTLOOK:
            entry["answer"] = "error 601"
            return ad_error(601, "The requested schema version is not supported."), 200
        loop = self.conf["redirect_loop"]
        if mode == "redirect-url" or loop == "url":
            entry["answer"] = "redirectUrl"
            return ad_redirect("redirectUrl", "RedirectUrl", other), 200
        mb = self.mailbox_for(email)
        if loop == "addr" and (mb is not None or email.startswith("loop-")):
            mb = mb or self.mailbox_for(email[5:])
            if mb is not None:
                target = f"loop-{mb.email}" if email == mb.email else mb.email
                entry["answer"] = "redirectAddr"
                return ad_redirect("redirectAddr", "RedirectAddr", target), 200
        if mb is None:
            entry["answer"] = "error 500"
            return ad_error(500, "The e-mail address cannot be found."), 200
        if email.lower() != mb.email:  # an alias: the primary SMTP address
            entry["answer"] = "redirectAddr"
            return ad_redirect("redirectAddr", "RedirectAddr", mb.email), 200
        entry["answer"] = "settings"
        return self.settings(mb), 200

    def settings(self, mb):
        ex = self.conf
        ews_url = self.url("mail", "/EWS/Exchange.asmx")
        um = (f"    <UMUrl>{self.url('mail', '/EWS/UM2007Legacy.asmx')}</UMUrl>\n"
              if mb.um_enabled else "")
        oab = self.url("mail", "/OAB/" + str(uuid.uuid5(uuid.NAMESPACE_DNS, ex["mail_fqdn"]))
                       + "/")
        proto = ("   <Protocol>\n    <Type>{type}</Type>\n    <Server>{server}</Server>\n"
                 "    <ASUrl>{ews}</ASUrl>\n    <EwsUrl>{ews}</EwsUrl>\n"
                 "    <OOFUrl>{ews}</OOFUrl>\n{um}    <OABUrl>{oab}</OABUrl>\n"
                 "   </Protocol>\n")
        body = (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<Autodiscover xmlns="{NS_AD_RESP}">\n'
                f' <Response xmlns="{NS_AD_OUTLOOK}">\n'
                f'  <User>\n   <DisplayName>{escape(mb.name)}</DisplayName>\n'
                f'   <LegacyDN>{escape(mb.legacy_dn)}</LegacyDN>\n'
                f'   <AutoDiscoverSMTPAddress>{escape(mb.email)}</AutoDiscoverSMTPAddress>\n'
                f'  </User>\n  <Account>\n   <AccountType>email</AccountType>\n'
                f'   <Action>settings</Action>\n'
                + proto.format(type="EXCH", server=ex["mail_fqdn"], ews=ews_url, um=um, oab=oab)
                + proto.format(type="EXPR", server=ex["mail_fqdn"], ews=ews_url, um=um, oab=oab)
                + f'   <Protocol>\n    <Type>WEB</Type>\n    <Internal>\n'
                f'     <OWAUrl AuthenticationMethod="WindowsIntegrated">'
                f'{self.url("mail", "/owa/")}</OWAUrl>\n'
                f'     <Protocol>\n      <Type>EXCH</Type>\n      <ASUrl>{ews_url}</ASUrl>\n'
                f'     </Protocol>\n    </Internal>\n   </Protocol>\n'
                f'  </Account>\n </Response>\n</Autodiscover>\n')
        return body.encode()

    # EWS ----------------------------------------------------------------------------------
    def ews(self, web, method, headers, body, conn):
        if method != "POST":
            self.record(kind="ews", host=web.host, operation=None, status=405)
            return 405, "Method Not Allowed", b"", "text/plain", [("Allow", "POST")]
        user = self.authenticate(web, headers, conn)
        if isinstance(user, tuple):
            self.record(kind="ews", host=web.host, operation=None, status=401)
            return user
        extra = conn.pop("answer", [])
        code, op, out, detail = ews.handle(self, user, body)
        self.sim.counters.bump("ews_requests", op or "invalid")
        self.record(kind="ews", host=web.host, user=user["id"], operation=op, status=code,
                    **detail)
        reason = "OK" if code == 200 else "Internal Server Error"
        return code, reason, out, CT_XML, extra

    # MWI over SIP -------------------------------------------------------------------------
    def mwi_category(self, user):
        """The server's mwi category instance for a UM-enabled user, else None."""
        mb = self.mailboxes.get(user["id"])
        if mb is None or not mb.um_enabled:
            return None
        import xml.etree.ElementTree as ET
        unread, read = mb.unread_voicemails(), mb.read_voicemails()
        el = ET.Element(f"{{{NS_MWI}}}mwi", {
            "messageWaiting": "true" if unread else "false",
            "unreadVoiceMailCount": str(unread), "readVoiceMailCount": str(read)})
        version = self.mwi_version(user, unread, read)
        return D.Category("mwi", 0, 1, version, "static", content=el)

    def mwi_version(self, user, unread, read):
        key = user["id"]
        ver, last = self.mwi_sent.get(key, (1, (unread, read)))
        if last != (unread, read):
            ver += 1
        self.mwi_sent[key] = (ver, (unread, read))
        return ver

    async def voicemail_changed(self, mb):
        """A roaming-self update with the mwi category to the user's endpoints."""
        if not mb.um_enabled or self.sim.services is None:
            return 0
        st = self.sim.services.state_for(self.sim)
        return await self.sim.services.fanout_self(st, mb.user, names={"mwi"})


def gss_message(err):
    """A GSSError's text; gen_message() itself fails on gss-ntlmssp's minor codes."""
    try:
        return err.gen_message()
    except Exception:  # noqa: BLE001 (any decoding failure: fall back to the codes)
        return f"GSS major {getattr(err, 'maj_code', '?')} minor {getattr(err, 'min_code', '?')}"


# documents -----------------------------------------------------------------------------------
def parse_request(body):
    """POX request -> (EMailAddress or LegacyDN, AcceptableResponseSchema)."""
    doc = parse_xml(body)
    ns = {"a": NS_AD_REQ}
    if doc.tag != f"{{{NS_AD_REQ}}}Autodiscover":
        raise WsError(f"root element {doc.tag} is not the POX request")
    email = doc.findtext("a:Request/a:EMailAddress", None, ns)
    legacy = doc.findtext("a:Request/a:LegacyDN", None, ns)
    schema = (doc.findtext("a:Request/a:AcceptableResponseSchema", "", ns) or "").strip()
    address = (email or legacy or "").strip()
    if not address:
        raise WsError("no EMailAddress")
    return address, schema


def ad_error(code, message):
    now = time.strftime("%H:%M:%S", time.gmtime())
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="{NS_AD_RESP}">\n'
            f' <Response>\n  <Error Time="{now}.0000000" Id="{uuid.uuid4().int % 10**10}">\n'
            f'   <ErrorCode>{code}</ErrorCode>\n   <Message>{escape(message)}</Message>\n'
            f'   <DebugData />\n  </Error>\n </Response>\n</Autodiscover>\n').encode()


def ad_redirect(action, element, target):
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="{NS_AD_RESP}">\n'
            f' <Response xmlns="{NS_AD_OUTLOOK}">\n  <Account>\n'
            f'   <Action>{action}</Action>\n   <{element}>{escape(target)}</{element}>\n'
            f'  </Account>\n </Response>\n</Autodiscover>\n').encode()


# control actions -----------------------------------------------------------------------------
def _ex(sim):
    ex = getattr(sim, "exchange", None)
    if ex is None:
        raise ValueError("this scenario has no [exchange]")
    return ex


def _check(fn, *args):
    try:
        return fn(*args)
    except MailboxError as e:
        raise ValueError(str(e)) from None


@control.action("mailbox")
def _mailbox(sim, user):
    """The user's mailbox now: calendar (with start_in/end_in seconds), in_meeting, oof,
    oof_active, unread_voicemails, read_voicemails, missed_conversations, history."""
    return _ex(sim).mailbox(user).summary()


@control.action("add_meeting")
def _add_meeting(sim, user, subject="Meeting", start="0s", duration="30m", **item):
    """Add a calendar item (keys as [[mailboxes.<id>.calendar]]; times relative to now).
    Returns its id (for remove_meeting / end_meeting)."""
    mb = _ex(sim).mailbox(user)
    it = _check(calendar_item, dict(item, subject=subject, start=start, duration=duration),
                "add_meeting", time.time())
    mb.calendar.append(it)
    return it["id"]


def _find_meeting(mb, meeting):
    for it in mb.calendar:
        if meeting in (it["id"], it["subject"]):
            return it
    raise ValueError(f"no calendar item {meeting!r}")


@control.action("remove_meeting")
def _remove_meeting(sim, user, meeting=None):
    """Remove a calendar item (id or subject; null: every item).  Returns how many."""
    mb = _ex(sim).mailbox(user)
    if meeting is None:
        n = len(mb.calendar)
        mb.calendar.clear()
        return n
    mb.calendar.remove(_find_meeting(mb, meeting))
    return 1


@control.action("end_meeting")
def _end_meeting(sim, user, meeting=None):
    """End a calendar item now (id or subject; null: every item going on now)."""
    mb = _ex(sim).mailbox(user)
    now = time.time()
    items = [_find_meeting(mb, meeting)] if meeting else mb.current_meetings(now)
    for it in items:
        it["end"] = max(it["start"] + 1, now)
        if it["start"] >= now:
            it["start"], it["end"] = now - 1, now
    return len(items)


@control.action("set_oof")
def _set_oof(sim, user, state="Enabled", message=None, start="-1h", end="7d",
             external=None, external_audience="All"):
    """OOF on ("Enabled"), off ("Disabled") or "Scheduled" between start and end (relative
    to now); message = the internal reply (HTML allowed), external defaults to it."""
    mb = _ex(sim).mailbox(user)
    conf = {"state": state, "start": start, "end": end, "external_audience": external_audience,
            "internal": message if message is not None else mb.oof["internal"]}
    if external is not None:
        conf["external"] = external
    mb.oof = _check(oof_settings, conf, "set_oof", time.time())
    return dict(mb.oof)


@control.action("set_mailbox")
async def _set_mailbox(sim, user, email=None, aliases=None):
    """Change the mailbox's primary SMTP address (the directory's mail attribute: the user's
    contact card carries it, and the user's own endpoints get the contactCard in a
    roaming-self update) and/or its aliases (proxy addresses).  Returns {"email",
    "aliases", "notified"}."""
    ex = _ex(sim)
    mb = ex.mailbox(user)
    if email is not None:
        if not isinstance(email, str) or email.count("@") != 1:
            raise ValueError("email must be an e-mail address")
        mb.email = email.lower()
    if aliases is not None:
        mb.aliases = [a.lower() for a in aliases]
    n = 0
    if email is not None and sim.services is not None:
        st = sim.services.state_for(sim)
        n = await sim.services.fanout_self(st, mb.user, names={"contactCard"})
    return {"email": mb.email, "aliases": mb.aliases, "notified": n}


@control.action("add_voicemail")
async def _add_voicemail(sim, user, **item):
    """A new voicemail (keys as [[mailboxes.<id>.voicemails]]: from, caller_id, duration,
    read); UM-enabled users' roaming-self subscriptions get the mwi category.  Returns
    {"unread", "notified"}."""
    ex = _ex(sim)
    mb = ex.mailbox(user)
    item.setdefault("received", "0s")
    mb.voicemails.append(_check(voicemail, item, "add_voicemail", time.time()))
    n = await ex.voicemail_changed(mb)
    return {"unread": mb.unread_voicemails(), "notified": n}


@control.action("read_voicemails")
async def _read_voicemails(sim, user, count=None):
    """Mark the oldest `count` unread voicemails read (null: all); mwi as add_voicemail."""
    ex = _ex(sim)
    mb = ex.mailbox(user)
    unread = sorted((v for v in mb.voicemails if not v["read"]), key=lambda v: v["received"])
    for v in unread[:count] if count is not None else unread:
        v["read"] = True
    n = await ex.voicemail_changed(mb)
    return {"unread": mb.unread_voicemails(), "notified": n}


@control.action("send_message_summary")
async def _send_message_summary(sim, user, new=0, old=0, waiting=None, body=None,
                                content_type="application/simple-message-summary"):
    """An unsolicited NOTIFY Event: message-summary (RFC 3842) to each registered endpoint of
    `user`, as a voicemail server that reaches the endpoints directly sends one: Voice-Message
    new/old, Messages-Waiting yes when new > 0 (or `waiting`); `body` (text) and
    `content_type` replace the document and its type.  Returns the endpoints' answer codes, or the error per endpoint."""
    u = sim.user(user)
    if u is None:
        raise ValueError(f"no user {user!r}")
    if body is None:
        if waiting is None:
            waiting = new > 0
        body = (f"Messages-Waiting: {'yes' if waiting else 'no'}\r\n"
                f"Message-Account: {u['uri']}\r\n"
                f"Voice-Message: {new}/{old}\r\n")
    codes = []
    for ep in sim.endpoints_for(u["uri"]):
        hdrs = [("Event", "message-summary"), ("Subscription-State", "active")]
        try:
            resp = await ep.send_request("NOTIFY", hdrs, body.encode(), content_type, timeout=5)
            codes.append(resp.code)
        except (asyncio.TimeoutError, ConnectionError) as e:
            codes.append(type(e).__name__)
    return codes


@control.action("add_missed")
def _add_missed(sim, user, **item):
    """A new Conversation History item (keys as [[mailboxes.<id>.missed]]: from, name, kind
    im/call/conversation, read, subject).  Returns missed_conversations."""
    mb = _ex(sim).mailbox(user)
    item.setdefault("received", "0s")
    mb.history.append(_check(missed_item, item, "add_missed", time.time()))
    return mb.missed_unread()


@control.action("read_missed")
def _read_missed(sim, user, count=None):
    """Mark the oldest `count` unread history items read (null: all).  Returns
    missed_conversations."""
    mb = _ex(sim).mailbox(user)
    unread = sorted((h for h in mb.history if not h["read"]), key=lambda h: h["received"])
    for h in unread[:count] if count is not None else unread:
        h["read"] = True
    return mb.missed_unread()


@control.action("set_exchange")
async def _set_exchange(sim, status=None, auth=None, version=None, redirect_loop=None,
                        redirect_location=None, **autodiscover):
    """Exchange faults: status "up", "refused" (nothing listens on any Exchange host) or an
    HTTP status (401, 503, ...) for every request; auth (the schemes offered); version;
    redirect_loop (false, "url", "addr"); redirect_location (any text: where redirects
    send the client; "" the other host); domain=/autodiscover=/srv= a mode for that
    autodiscover URL (ok, off, refused, content-type, redirect-url, redirect-302, or an HTTP
    status).  Returns the settings."""
    ex = _ex(sim)
    c = ex.conf
    if status is not None:
        c["status"] = _check(check_status, status, "status")
    if auth is not None:
        if not isinstance(auth, list) or not auth or any(s not in ("Negotiate", "NTLM", "Basic")
                                                         for s in auth):
            raise ValueError("auth must be a list of Negotiate, NTLM, Basic")
        c["auth"] = list(auth)
    if version is not None:
        from .mailbox import VERSIONS
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {sorted(VERSIONS)}")
        c["version"] = version
    if redirect_loop is not None:
        if redirect_loop not in (False, "url", "addr"):
            raise ValueError('redirect_loop must be false, "url" or "addr"')
        c["redirect_loop"] = redirect_loop
    if redirect_location is not None:
        if not isinstance(redirect_location, str):
            raise ValueError("redirect_location must be a string")
        c["redirect_location"] = redirect_location
    for k, v in autodiscover.items():
        if k not in c["autodiscover"]:
            raise ValueError(f"unknown setting {k!r}")
        c["autodiscover"][k] = _check(check_autodiscover_mode, v, k)
    await ex.apply()
    return {k: v for k, v in c.items()}


@control.action("exchange_requests")
def _exchange_requests(sim, kind=None, operation=None, user=None, reset=False):
    """The request records (oldest first): kind autodiscover/ews/refused, host, role,
    user, email, answer, operation, status, t (Unix time), plus operation details (folder,
    mailboxes, view).  Filtered by kind/operation/user; reset=true empties the record."""
    ex = _ex(sim)
    out = [dict(e) for e in ex.log
           if (kind is None or e.get("kind") == kind)
           and (operation is None or e.get("operation") == operation)
           and (user is None or e.get("user") == user)]
    if reset:
        ex.log.clear()
    return out


@control.action("reset_exchange")
async def _reset_exchange(sim):
    """Mailboxes, settings and records back to the scenario file (tests sharing a Sim)."""
    ex = _ex(sim)
    path = sim.scenario.path
    if path:
        from .scenario import Scenario
        fresh = Scenario.load(path)
        for k in ("auth", "version", "status", "redirect_loop", "redirect_location",
                  "autodiscover"):
            ex.conf[k] = fresh.data["exchange"][k]  # names and addresses stay
        sim.scenario.data["mailboxes"] = fresh.data.get("mailboxes", {})
    ex.reset()
    await ex.apply()

