# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small HTTPS test client for sfbsim's Exchange (tests): one keep-alive TLS connection to
an address with the certificate checked for a host name, and HTTP authentication as a
Windows client does it: connection-oriented NTLM (in `NTLM` or `Negotiate`), SPNEGO or raw
Kerberos in `Negotiate` (python3-gssapi, a password or a ccache), Basic.

    c = HttpsClient("mail.contoso.test", "127.0.4.1", ca_file)
    r = c.post("/EWS/Exchange.asmx", body, auth=NtlmAuth("CONTOSO", "alice", "Passw0rd!"))
    r.status, r.headers (list of (name, value)), r.body, r.rounds (requests sent)
"""

import base64
import http.client
import os
import socket
import ssl

from impacket import ntlm as _imp

from .ntlm import NtlmClient


class Response:
    def __init__(self, status, reason, headers, body, rounds):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.rounds = rounds

    def header(self, name):
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def headers_named(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    @property
    def content_type(self):
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


class _Conn(http.client.HTTPSConnection):
    def __init__(self, host, address, port, context, timeout):
        super().__init__(host, port, context=context, timeout=timeout)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class NtlmAuth:
    """Connection-oriented NTLMv2: NEGOTIATE, then AUTHENTICATE to the CHALLENGE."""

    def __init__(self, domain, user, password, scheme="NTLM"):
        self.domain, self.user, self.password, self.scheme = domain, user, password, scheme
        self.client = None

    def first(self, host):
        t1 = _imp.getNTLMSSPType1("TESTCLIENT", self.domain, signingRequired=False)
        return f"{self.scheme} {base64.b64encode(t1.getData()).decode()}"

    def next(self, challenge_header):
        scheme, _, tok = challenge_header.partition(" ")
        self.client = NtlmClient(self.user, self.password, self.domain)
        t3 = self.client.authenticate(base64.b64decode(tok))
        return f"{self.scheme} {base64.b64encode(t3).decode()}"


class GssAuth:
    """Negotiate with SPNEGO (spnego=True) or a raw krb5 token, for HTTP@<host>."""

    SPNEGO = "1.3.6.1.5.5.2"

    NTLMSSP = "1.3.6.1.4.1.311.2.2.10"

    def __init__(self, krb5_conf, principal=None, password=None, ccache=None, spnego=True,
                 mutual=True, ntlm_login=None):
        """ntlm_login ('CONTOSO\\alice'): SPNEGO with NTLM (gss-ntlmssp) instead of
        Kerberos."""
        import gssapi
        import gssapi.raw as graw
        self.gssapi = gssapi
        os.environ["KRB5_CONFIG"] = krb5_conf
        mech = gssapi.OID.from_int_seq(self.SPNEGO) if spnego else gssapi.MechType.kerberos
        self.mech = mech
        if ntlm_login is not None:
            name = gssapi.Name(ntlm_login, gssapi.NameType.user)
            self.creds = graw.acquire_cred_with_password(
                name, password.encode(), usage="initiate",
                mechs=[gssapi.OID.from_int_seq(self.NTLMSSP), mech]).creds
        elif password is not None:
            name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
            # SPNEGO needs a credential for itself as well as for krb5 under it
            self.creds = graw.acquire_cred_with_password(
                name, password.encode(), usage="initiate",
                mechs=[gssapi.MechType.kerberos, mech] if spnego else [mech]).creds
        else:
            store = {b"ccache": ccache.encode()} if ccache else None
            self.creds = gssapi.Credentials(usage="initiate", store=store)
        self.mutual = mutual
        self.ctx = None
        self.server_token_ok = None

    def first(self, host):
        g = self.gssapi
        flags = g.RequirementFlag.mutual_authentication if self.mutual else 0
        self.ctx = g.SecurityContext(name=g.Name(f"HTTP@{host}", g.NameType.hostbased_service),
                                     creds=self.creds, usage="initiate", mech=self.mech,
                                     flags=flags)
        return "Negotiate " + base64.b64encode(self.ctx.step()).decode()

    def next(self, challenge_header):
        tok = base64.b64decode(challenge_header.partition(" ")[2])
        out = self.ctx.step(tok)
        return "Negotiate " + base64.b64encode(out).decode() if out else None

    def finish(self, header):
        """The 200's WWW-Authenticate: Negotiate <answer> completes mutual authentication."""
        if header and self.ctx is not None and not self.ctx.complete:
            self.ctx.step(base64.b64decode(header.partition(" ")[2]))
        self.server_token_ok = self.ctx is not None and self.ctx.complete


class BasicAuth:
    def __init__(self, login, password):
        self.value = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()

    def first(self, host):
        return self.value

    def next(self, challenge_header):
        return None


class HttpsClient:
    def __init__(self, host, address, ca_file, port=443, timeout=15.0):
        self.host, self.address, self.port = host, address, port
        ctx = ssl.create_default_context(cafile=ca_file)
        self.conn = _Conn(host, address, port, ctx, timeout)

    def close(self):
        self.conn.close()

    def request(self, method, path, body=b"", auth=None, headers=None, content_type="text/xml"):
        """Send; with `auth`, answer 401 challenges on this connection until done."""
        hdrs = dict(headers or {})
        if body:
            hdrs.setdefault("Content-Type", content_type)
        rounds = 0
        authz = None
        while True:
            h = dict(hdrs)
            if authz:
                h["Authorization"] = authz
            self.conn.request(method, path, body=body, headers=h)
            rounds += 1
            r = self.conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.reason, r.getheaders(), data, rounds)
            if resp.status != 401 or auth is None or rounds > 3:
                if isinstance(auth, GssAuth) and resp.status != 401:
                    auth.finish(resp.header("WWW-Authenticate"))
                return resp
            offers = resp.headers_named("WWW-Authenticate")
            if authz is None:
                authz = auth.first(self.host)
                continue
            scheme = authz.split(" ", 1)[0]
            challenge = next((o for o in offers if o.startswith(scheme + " ")), None)
            if challenge is None:
                return resp
            authz = auth.next(challenge)
            if authz is None:
                return resp

    def post(self, path, body, auth=None, **kw):
        return self.request("POST", path, body, auth, **kw)

    def get(self, path, auth=None, **kw):
        return self.request("GET", path, b"", auth, **kw)
