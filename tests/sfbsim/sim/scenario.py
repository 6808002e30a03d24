# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scenario: what the simulated deployment looks like, read from TOML (tomllib).

A test states the deployment as data (users, topology, timers, contact lists, dial plan,
policies); everything else in sfbsim reads it from here.  load() checks the parts sfbsim
itself relies on and fills in defaults, so a scenario file can be short:

  domain                 SIP domain (required)
  server                 Server: header value (default RTC/6.0.0.0)
  [timers]               expires, keep_alive, sa_lifetime, redirect_expires, idle_timeout,
                         request_timeout, subscription_expires, invite_timeout (seconds)
  [dns]                  address (127.0.0.1), ttl
  [director]             fqdn, address, aliases, auth, port (5061)      (optional)
  [pools.<name>]         fqdn, address, aliases, auth, port (5061)      (at least one)
  [edge]                 fqdn, address, aliases, auth, port (443)       (optional)
  [autodiscover]         internal_fqdn/_address, external_fqdn/_address, pool, sip_internal,
                         user_webticket (false: the User resource needs no X-MS-WebTicket);
                         [autodiscover.portal] lyncdiscover name -> content type: that name
                         is another web server answering 200 with an HTML page (sim/web.py)
  [webticket]            lifetime (28800 s) of issued web tickets (sim/webticket.py)
  [certprov]             enabled (true), cert_lifetime (15552000 s), min_key_bits (2048):
                         certificate provisioning (sim/certprov.py)
  [tls]                  max_version ("TLSv1_2", what SfB Server on Schannel speaks, or
                         "TLSv1_3"); [tls.certificates] host -> certificate variant (valid,
                         expired, wrong-name, untrusted, not-yet-valid) for one host: a
                         registrar's name or FQDN, or a lyncdiscover name (sim/certs.py)
  [[endpoints.<id>]]     the user's other endpoints, signed in elsewhere (a phone, a second
                         desktop): name, epid (its +sip.instance and GRUU derive from it),
                         expires (s, shown in its Contact), address (host:port of its
                         Contact, default 192.0.2.<n>:5061).  Listed in the Contact headers
                         of every 200 to the user's REGISTER, before the live endpoints
  [features]             mras, conferencing, dlx (true): the pool services a client asks
                         for after sign-in, answered or left out of the provisioning
                         (sim/features.py)
  [users.<id>]           uri, login (DOMAIN\\user), password, pool, enabled, name
  [kerberos]             realm (domain upper-cased), address (127.0.3.1), port (88): the
                         MIT KDC (sim/kerberos.py); present by default when a registrar
                         offers Kerberos
  [[groups.<id>]], [[contacts.<id>]], [dialplan], [policies*]   free-form for services.py
  [exchange], [mailboxes.<id>]   the Exchange server and the users' mailboxes (autodiscover,
                         EWS, MWI): checked in sim/mailbox.py, served by sim/exchange.py
  include                a scenario file (relative to this one) this one extends: its tables
                         are merged key by key, this file's values win (arrays replace)

`auth` lists the schemes a registrar offers, in order: NTLM, Kerberos and TLS-DSK (all
implemented; TLS-DSK in sim/tlsdsk.py).
"""

import copy
import ipaddress
import os
import tomllib

from .sipmsg import normalize_aor, uri_user_host

SCHEMES = ("NTLM", "Kerberos", "TLS-DSK")
TLS_VERSIONS = ("TLSv1_2", "TLSv1_3")
FEATURES = ("mras", "conferencing", "dlx")  # sim/features.py
CERT_VARIANTS = ("valid", "expired", "wrong-name", "untrusted",
                 "not-yet-valid")  # sim/certs.py VARIANTS

TIMER_DEFAULTS = {
    "expires": 300, "keep_alive": 300, "sa_lifetime": 28800, "redirect_expires": 2592000,
    "idle_timeout": 0, "request_timeout": 10, "subscription_expires": 7200,
    "invite_timeout": 180,
}


class ScenarioError(ValueError):
    """The scenario file is inconsistent."""


class Registrar:
    """Static description of one SIP registrar (Director, pool or edge)."""

    def __init__(self, role, name, conf, default_port):
        self.role, self.name = role, name
        self.fqdn = conf["fqdn"].lower()
        self.address = conf["address"]
        self.port = int(conf.get("port", default_port))
        self.aliases = [a.lower() for a in conf.get("aliases", [])]
        self.auth = list(conf.get("auth", ["NTLM"]))
        for s in self.auth:
            if s not in SCHEMES:
                raise ScenarioError(f"{name}: unknown auth scheme {s!r} (know {SCHEMES})")

    def __repr__(self):
        return f"<Registrar {self.role} {self.fqdn} {self.address}:{self.port}>"


def _merge(base, over):
    """Tables merged key by key (recursively); anything else in `over` replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_toml(path, _seen=()):
    """A scenario file's data with its `include` chain resolved (not yet checked)."""
    path = os.path.abspath(path)
    if path in _seen:
        raise ScenarioError(f"{path}: include loop")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: {e}") from e
    except OSError as e:
        raise ScenarioError(f"{path}: {e.strerror}") from None
    inc = data.pop("include", None)
    if inc is None:
        return data
    if not isinstance(inc, str):
        raise ScenarioError(f"{path}: include must be a file name")
    base = load_toml(os.path.join(os.path.dirname(path), inc), _seen + (path,))
    return _merge(base, data)


class Scenario:
    def __init__(self, data, path=None):
        self.path = path
        self.data = data
        self._check()

    @classmethod
    def load(cls, path):
        return cls(load_toml(path), path)

    @classmethod
    def from_string(cls, text):
        return cls(tomllib.loads(text))

    def copy(self):
        return Scenario(copy.deepcopy(self.data), self.path)

    # accessors ------------------------------------------------------------------------
    @property
    def domain(self):
        return self.data["domain"]

    @property
    def server(self):
        return self.data.get("server", "RTC/6.0.0.0")

    @property
    def timers(self):
        return self.data["timers"]

    @property
    def dialplan(self):
        return self.data.get("dialplan", {})

    @property
    def policies(self):
        return self.data.get("policies", {})

    @property
    def users(self):
        return self.data["users"]

    def user(self, key):
        """A user dict by id ('alice') or URI ('sip:alice@contoso.test', any case)."""
        if key in self.users:
            return self.users[key]
        if not key:
            return None
        aor = normalize_aor(key if ":" in key or "@" in key else f"sip:{key}@{self.domain}")
        for u in self.users.values():
            if normalize_aor(u["uri"]) == aor:
                return u
        return None

    def contacts(self, user_id):
        return self.data.setdefault("contacts", {}).setdefault(user_id, [])

    def endpoints(self, user_id):
        """The user's static other endpoints ([[endpoints.<id>]]), checked, in order."""
        return self.data.setdefault("endpoints", {}).get(user_id, [])

    def groups(self, user_id):
        return self.data.setdefault("groups", {}).setdefault(user_id, [])

    def registrars(self):
        """Every registrar: Director first, then pools, then the edge."""
        return list(self._registrars)

    def registrar(self, name):
        for r in self._registrars:
            if r.name == name or r.fqdn == name:
                return r
        return None

    def pool(self, name):
        r = self.registrar(name)
        return r if r and r.role == "pool" else None

    @property
    def kerberos(self):
        """The [kerberos] section (realm, address, port), or None: no KDC."""
        return self.data.get("kerberos")

    @property
    def autodiscover(self):
        return self.data["autodiscover"]

    def host_addresses(self):
        """{fqdn: address} for every name the DNS serves (A records)."""
        hosts = {}
        for r in self._registrars:
            hosts[r.fqdn] = r.address
            for a in r.aliases:
                hosts[a] = r.address
        ad = self.data.get("autodiscover")
        if ad:
            hosts[ad["internal_fqdn"]] = ad["internal_address"]
            hosts[ad["external_fqdn"]] = ad["external_address"]
        ex = self.exchange
        if ex:
            hosts[ex["mail_fqdn"]] = ex["mail_address"]
            if ex["autodiscover"]["autodiscover"] != "off":
                hosts[ex["autodiscover_fqdn"]] = ex["autodiscover_address"]
            if ex["autodiscover"]["domain"] != "off":
                hosts[self.domain] = ex["domain_address"]
        for name, addr in self.data["dns"].get("hosts", {}).items():
            hosts[name.lower()] = addr
        return hosts

    def srv_records(self):
        """[(name, priority, weight, port, target)] for _sipinternaltls._tcp and _sip._tls."""
        d = self.domain
        out = []
        first = self.registrar("director") or self._pools()[0]
        out.append((f"_sipinternaltls._tcp.{d}", 0, 0, first.port, first.fqdn))
        edge = self.registrar("edge")
        if edge:
            out.append((f"_sip._tls.{d}", 0, 0, edge.port, edge.fqdn))
        ex = self.exchange
        if ex and ex["autodiscover"]["srv"] != "off":  # [MS-OXDISCO] 3.1.5.3
            port = 444 if ex["autodiscover"]["srv"] == "refused" else 443  # 444: nobody
            out.append((f"_autodiscover._tcp.{d}", 0, 0, port, ex["mail_fqdn"]))
        return out

    def cert_names(self):
        """Every host name the server certificate must cover."""
        names = set(self.host_addresses())
        names.update(f"{p}.{self.domain}" for p in ("sip", "sipinternal", "sipexternal",
                                                    "lyncdiscover", "lyncdiscoverinternal"))
        return sorted(names)

    def tls_hosts(self):
        """{fqdn: ([names], [addresses])} of every host with its own TLS certificate: each
        registrar (its FQDN first, then its aliases) and each lyncdiscover name."""
        hosts = {r.fqdn: ([r.fqdn] + r.aliases, [r.address]) for r in self._registrars}
        ad = self.data.get("autodiscover")
        if ad:
            for loc in ("internal", "external"):
                hosts[ad[f"{loc}_fqdn"]] = ([ad[f"{loc}_fqdn"]], [ad[f"{loc}_address"]])
        ex = self.exchange
        if ex:  # the mail host, autodiscover.<domain> and <domain> itself
            for name, addr in exchange_hosts(self.domain, ex):
                hosts[name] = ([name], [addr])
        return hosts

    @property
    def exchange(self):
        """The [exchange] section (sim/mailbox.py), or None: no Exchange."""
        return self.data.get("exchange")

    def mailbox_conf(self, user_id):
        """[mailboxes.<id>] (a dict; empty for a user without one)."""
        return self.data.get("mailboxes", {}).get(user_id, {})

    def tls_host(self, name):
        """The tls_hosts() key for a registrar name ('pool1') or a host FQDN, or None."""
        r = self.registrar(name)
        if r is not None:
            return r.fqdn
        name = name.lower()
        return name if name in self.tls_hosts() else None

    def _pools(self):
        return [r for r in self._registrars if r.role == "pool"]

    # validation -----------------------------------------------------------------------
    def _check(self):
        d = self.data
        if not isinstance(d.get("domain"), str) or "." not in d["domain"]:
            raise ScenarioError("'domain' (e.g. contoso.test) is required")
        d["domain"] = d["domain"].lower()
        timers = dict(TIMER_DEFAULTS)
        timers.update(d.get("timers", {}))
        for k, v in timers.items():
            if not isinstance(v, (int, float)) or v < 0:
                raise ScenarioError(f"timers.{k} must be a number >= 0")
        if timers["expires"] < 1 or timers["keep_alive"] < 1 or timers["sa_lifetime"] < 1:
            raise ScenarioError("timers.expires, keep_alive and sa_lifetime must be >= 1")
        if not timers["idle_timeout"]:
            timers["idle_timeout"] = 2 * timers["keep_alive"] + 60
        d["timers"] = timers
        d.setdefault("dns", {}).setdefault("address", "127.0.0.1")
        d["dns"].setdefault("ttl", 60)

        regs = []
        if "director" in d:
            regs.append(Registrar("director", "director", d["director"], 5061))
        pools = d.get("pools", {})
        if not pools:
            raise ScenarioError("at least one [pools.<name>] is required")
        for name, conf in pools.items():
            regs.append(Registrar("pool", name, conf, 5061))
        if "edge" in d:
            regs.append(Registrar("edge", "edge", d["edge"], 443))
        self._registrars = regs
        seen = {}
        for r in regs:
            try:
                ipaddress.IPv4Address(r.address)
            except ValueError:
                raise ScenarioError(f"{r.name}: bad address {r.address!r}") from None
            key = (r.address, r.port)
            if key in seen:
                raise ScenarioError(f"{r.name} and {seen[key]} both use {r.address}:{r.port}")
            seen[key] = r.name

        ad = d.setdefault("autodiscover", {})
        ad.setdefault("internal_fqdn", f"lyncdiscoverinternal.{d['domain']}")
        ad.setdefault("internal_address", "127.0.2.1")
        ad.setdefault("external_fqdn", f"lyncdiscover.{d['domain']}")
        ad.setdefault("external_address", "127.0.2.2")
        ad.setdefault("pool", next(iter(pools)))
        ad.setdefault("sip_internal", "director" if "director" in d else "home")
        if ad["pool"] not in pools:
            raise ScenarioError(f"autodiscover.pool {ad['pool']!r} is not a pool")
        if ad["sip_internal"] not in ("director", "home"):
            raise ScenarioError("autodiscover.sip_internal must be 'director' or 'home'")
        if ad["sip_internal"] == "director" and "director" not in d:
            raise ScenarioError("autodiscover.sip_internal = 'director' needs a [director]")
        for k in ("internal_fqdn", "external_fqdn"):
            ad[k] = ad[k].lower()
        portal = {h.lower(): t for h, t in ad.setdefault("portal", {}).items()}
        for host, ctype in portal.items():
            if host not in (ad["internal_fqdn"], ad["external_fqdn"]):
                raise ScenarioError(f"autodiscover.portal: {host!r} is no lyncdiscover name")
            if not isinstance(ctype, str) or not ctype or "\r" in ctype or "\n" in ctype:
                raise ScenarioError(f"autodiscover.portal.{host} must be a content type")
        ad["portal"] = portal

        tls = d.setdefault("tls", {})
        tls.setdefault("max_version", "TLSv1_2")
        if tls["max_version"] not in TLS_VERSIONS:
            raise ScenarioError(f"tls.max_version must be one of {TLS_VERSIONS}")
        for host, variant in tls.setdefault("certificates", {}).items():
            if self.tls_host(host) is None:
                raise ScenarioError(f"tls.certificates: no host {host!r}")
            if variant not in CERT_VARIANTS:
                raise ScenarioError(f"tls.certificates.{host} must be one of {CERT_VARIANTS}")

        for name, on in d.setdefault("features", {}).items():
            if name not in FEATURES or not isinstance(on, bool):
                raise ScenarioError(f"features.{name}: know {FEATURES}, each true or false")

        users = d.get("users", {})
        if not users:
            raise ScenarioError("at least one [users.<id>] is required")
        uris = set()
        for uid, u in users.items():
            u["id"] = uid
            for k in ("uri", "login", "password", "pool"):
                if not isinstance(u.get(k), str):
                    raise ScenarioError(f"users.{uid}.{k} is required (a string)")
            if not u["uri"].startswith("sip:"):
                u["uri"] = "sip:" + u["uri"]
            user, host = uri_user_host(u["uri"])
            if not user or host.lower() != d["domain"]:
                raise ScenarioError(f"users.{uid}.uri must be sip:<user>@{d['domain']}")
            aor = normalize_aor(u["uri"])
            if aor in uris:
                raise ScenarioError(f"users.{uid}: duplicate uri")
            uris.add(aor)
            if "\\" not in u["login"]:
                raise ScenarioError(f"users.{uid}.login must be DOMAIN\\user")
            if u["pool"] not in pools:
                raise ScenarioError(f"users.{uid}.pool {u['pool']!r} is not a pool")
            u.setdefault("enabled", True)
            u.setdefault("name", uid)
        d.setdefault("contacts", {})
        d.setdefault("groups", {})
        from .mailbox import MailboxError, check_exchange, check_mailboxes
        try:
            check_exchange(d)
            check_mailboxes(d)
        except MailboxError as e:
            raise ScenarioError(str(e)) from None
        for uid, eps in d.setdefault("endpoints", {}).items():
            check_endpoints(uid, eps, users)

        if "kerberos" in d or any("Kerberos" in r.auth for r in regs):
            k = d.setdefault("kerberos", {})
            k.setdefault("realm", d["domain"].upper())
            k.setdefault("address", "127.0.3.1")
            k.setdefault("port", 88)
            if not isinstance(k["realm"], str) or not k["realm"] or k["realm"] != k["realm"].upper():
                raise ScenarioError("kerberos.realm must be an upper-case realm name")
            try:
                ipaddress.IPv4Address(k["address"])
            except ValueError:
                raise ScenarioError(f"kerberos: bad address {k['address']!r}") from None


def check_endpoints(uid, eps, users):
    """[[endpoints.<uid>]]: fill in defaults, raise ScenarioError on nonsense."""
    if uid not in users:
        raise ScenarioError(f"endpoints.{uid}: no such user")
    if not isinstance(eps, list):
        raise ScenarioError(f"endpoints.{uid} must be a list of tables")
    for n, ep in enumerate(eps, 1):
        epid = ep.get("epid") if isinstance(ep, dict) else None
        if not isinstance(epid, str) or not epid.isalnum() or len(epid) > 32:
            raise ScenarioError(f"endpoints.{uid}[{n}].epid must be 1-32 letters/digits")
        expires = ep.setdefault("expires", 3600)
        if not isinstance(expires, int) or expires < 1:
            raise ScenarioError(f"endpoints.{uid}[{n}].expires must be an integer >= 1")
        ep.setdefault("name", f"endpoint {n}")
        address = ep.setdefault("address", f"192.0.2.{n}:5061")
        if not isinstance(address, str) or any(c in address for c in ' <>;",\r\n'):
            raise ScenarioError(f"endpoints.{uid}[{n}].address must be host:port")


def exchange_hosts(domain, ex):
    """[(name, address)] of the Exchange web hosts: mail host, autodiscover.<domain>,
    <domain> (sim/exchange.py serves each with its own certificate)."""
    return [(ex["mail_fqdn"], ex["mail_address"]),
            (ex["autodiscover_fqdn"], ex["autodiscover_address"]),
            (domain, ex["domain_address"])]


def login_parts(login):
    """'CONTOSO\\alice' -> ('CONTOSO', 'alice')."""
    dom, _, user = login.partition("\\")
    return dom, user
