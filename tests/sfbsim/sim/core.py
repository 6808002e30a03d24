# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Sim: one simulated deployment, everything in one asyncio loop.

Start order: certificates, sip.log, DNS, web (autodiscover), KDC, Exchange (when the scenario
has one, sim/exchange.py), registrars, control socket, then DIR/sfbsim.env and DIR/ready.  Stop reverses it and removes DIR/ready, so a script that waits
for `ready` never talks to a half-started or half-stopped simulator.

The built-in control actions are defined at the end of this file (see control.py for the
protocol); services.py may add its own.
"""

import asyncio
import collections
import importlib
import logging
import os
import shlex
import ssl
import time
import warnings

from . import control
from . import im
from . import stream_faults  # noqa: F401  (registers its control actions)
from .certprov import ProvisioningCA
from .certs import VARIANTS, CertStore
from .dns import DnsServer
from .exchange import Exchange
from .kerberos import Kdc
from .registrar import RegistrarServer
from .scenario import Scenario
from .siplog import SipLog
from .sipmsg import normalize_aor
from .web import WebServer

log = logging.getLogger("sfbsim")

TLS_VERSIONS = {"TLSv1_2": ssl.TLSVersion.TLSv1_2, "TLSv1_3": ssl.TLSVersion.TLSv1_3}
# set_tls_version only (not a scenario's): an old server that speaks nothing newer
LEGACY_TLS_VERSIONS = {"TLSv1_1": "TLSv1_1"}

SWEEP_INTERVAL = 0.5


def load_services():
    """sim/services.py if present (another engineer's), else None."""
    try:
        return importlib.import_module(__package__ + ".services")
    except ModuleNotFoundError as e:
        if e.name == __package__ + ".services":
            return None
        raise


class Counters:
    """Named counters for test assertions: totals, per-key counts and per-key lists."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.counts = collections.defaultdict(collections.Counter)
        self.lists = collections.defaultdict(lambda: collections.defaultdict(list))

    def bump(self, name, key=None, n=1):
        self.counts[name]["*" if key is None else str(key)] += n

    def get(self, name, key=None):
        c = self.counts.get(name)
        if not c:
            return 0
        return sum(c.values()) if key is None else c.get(str(key), 0)

    def append(self, name, key, value):
        self.lists[name][str(key)].append(value)

    def snapshot(self):
        out = {name: dict(c) for name, c in self.counts.items()}
        for name, d in self.lists.items():
            out[name] = {k: list(v) for k, v in d.items()}
        return out


class Sim:
    def __init__(self, scenario, workdir, delay_ms=0):
        self.scenario = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
        self.workdir = os.path.abspath(workdir)
        self.delay = max(0.0, float(delay_ms) / 1000.0)
        self.counters = Counters()
        self.services = load_services()
        self.registrars = {}
        self.webs = []
        self.http_open = collections.Counter()  # "host:port" -> HTTP(S) connections open (web.py)
        self.dns = None
        self.control = None
        self.kdc = None
        self.exchange = None  # sim/exchange.py, when the scenario has an [exchange]
        self.log = None
        self.tls_contexts = {}   # host FQDN -> its SSLContext (tls_context_for)
        self.cert_variants = {}  # host FQDN -> the certificate variant it presents
        self._endpoints = {}  # (aor, instance or epid) -> Endpoint
        self.signin_rt = {}   # aor -> REGISTERs of the sign-in in progress
        self._sweeper = None
        self._tasks = set()
        self.im = im.Proxy(self)  # session routing and sfbsim's own endpoints

    # lifecycle ------------------------------------------------------------------------
    async def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self._remove("ready")
        sc = self.scenario
        addresses = set(sc.host_addresses().values())
        self.certs = CertStore(self.workdir, sc.cert_names(), addresses, sc.tls_hosts())
        await asyncio.get_running_loop().run_in_executor(None, self.certs.ensure)
        self.reset_tls()
        # the CA of TLS-DSK user certificates (certprov.py)
        self.certprov_ca = ProvisioningCA(self.workdir)
        await asyncio.get_running_loop().run_in_executor(None, self.certprov_ca.ensure)
        self.log = SipLog(os.path.join(self.workdir, "sip.log"),
                          [u["password"] for u in sc.users.values()])
        self.log.note(f"sfbsim starting: {sc.domain}, delay {self.delay * 1000:.0f} ms")

        self.dns = DnsServer(self, sc.data["dns"]["address"])
        await self.dns.start()
        ad = sc.autodiscover
        for fqdn, addr, loc in ((ad["internal_fqdn"], ad["internal_address"], "Internal"),
                                (ad["external_fqdn"], ad["external_address"], "External")):
            for port, tls in ((443, True), (80, False)):
                self.webs.append(WebServer(self, addr, port, fqdn, ad["pool"], loc, tls))
        for r in sc.registrars():
            # pools and the Director have web services (web ticket, certificate provisioning)
            if r.role in ("pool", "director") and r.port != 443:
                self.webs.append(WebServer(self, r.address, 443, r.fqdn, r.name, "Internal",
                                           True))
        for w in self.webs:
            await w.start()
        if sc.kerberos is not None:
            self.kdc = Kdc(self, sc.kerberos)
            await asyncio.get_running_loop().run_in_executor(None, self.kdc.ensure)
            await self.kdc.start()
        if sc.exchange is not None:
            self.exchange = Exchange(self)
            await self.exchange.start()
        for r in sc.registrars():
            self.registrars[r.name] = RegistrarServer(self, r)
            await self.registrars[r.name].start()
        self.control = control.ControlServer(self, os.path.join(self.workdir, "control.sock"))
        await self.control.start()
        self._sweeper = asyncio.create_task(self._sweep())
        self._write_env()
        with open(os.path.join(self.workdir, "ready"), "w") as f:
            f.write(f"{os.getpid()}\n")
        self.log.note("sfbsim ready")

    async def stop(self):
        self._remove("ready")
        if self._sweeper:
            self._sweeper.cancel()
            try:
                await self._sweeper
            except asyncio.CancelledError:
                pass
        if self.control:
            await self.control.stop()
        for r in self.registrars.values():
            await r.stop()
        for w in self.webs:
            await w.stop()
        if self.exchange:
            await self.exchange.stop()
        if self.kdc:
            await self.kdc.stop()
        if self.dns:
            await self.dns.stop()
        for t in list(self._tasks):
            t.cancel()
        if self.log:
            self.log.note("sfbsim stopped")
            self.log.close()

    def _remove(self, name):
        try:
            os.unlink(os.path.join(self.workdir, name))
        except FileNotFoundError:
            pass

    def spawn(self, coro):
        """Run a background task the Sim cancels at stop."""
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def _sweep(self):
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = time.monotonic()
            for ep in list(self._endpoints.values()):
                if ep.expires_at and now >= ep.expires_at:
                    self.remove_endpoint(ep, "expired")
            for r in self.registrars.values():
                r.sweep(now)

    # TLS --------------------------------------------------------------------------------
    def tls_context_for(self, host):
        """The server context of one host (scenario.tls_hosts()): read at every accept, so
        set_certificate and set_tls_version apply to new connections at once."""
        ctx = self.tls_contexts.get(host)
        if ctx is None:
            ctx = self.tls_contexts[host] = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.maximum_version = TLS_VERSIONS[self.scenario.data["tls"]["max_version"]]
            self._load_certificate(host, "valid")
        return ctx

    def _load_certificate(self, host, variant):
        self.tls_contexts[host].load_cert_chain(self.certs.cert_file(variant, host),
                                                self.certs.key_file)
        self.cert_variants[host] = variant

    def reset_tls(self):
        """Back to the scenario: its TLS version, and its certificate for every host."""
        tls = self.scenario.data["tls"]
        self.set_tls_version(tls["max_version"])
        self.set_certificate("valid")
        for name, variant in tls["certificates"].items():
            self.set_certificate(variant, name)

    def set_tls_version(self, maximum):
        """Highest version new connections to every host negotiate; returns the previous.
        TLSv1_1 is the only version then (OpenSSL's security level 0 allows it)."""
        if maximum not in TLS_VERSIONS and maximum not in LEGACY_TLS_VERSIONS:
            raise ValueError(f"maximum must be one of {sorted(TLS_VERSIONS)} or TLSv1_1")
        previous = getattr(self, "tls_max", None)
        for host in self.scenario.tls_hosts():
            if maximum in LEGACY_TLS_VERSIONS:
                ctx = self.tls_context_for(host)
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
                with warnings.catch_warnings():  # deprecated: that is the point
                    warnings.simplefilter("ignore", DeprecationWarning)
                    ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion,
                                                                        maximum)
                continue
            if previous in LEGACY_TLS_VERSIONS:
                # a new context: the security level cannot be read back to restore it
                variant = self.cert_variants.get(host, "valid")
                del self.tls_contexts[host]
                self.tls_context_for(host)
                self._load_certificate(host, variant)
            self.tls_context_for(host).maximum_version = TLS_VERSIONS[maximum]
        self.tls_max = maximum
        return previous

    def set_certificate(self, variant, host=None):
        """New TLS connections to `host` (a registrar name, FQDN or lyncdiscover name; None:
        every host) present `variant`; existing ones keep theirs."""
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}")
        hosts = list(self.scenario.tls_hosts())
        if host is not None:
            fqdn = self.scenario.tls_host(host)
            if fqdn is None:
                raise ValueError(f"no host {host!r} (have {hosts})")
            hosts = [fqdn]
        for h in hosts:
            self.tls_context_for(h)
            self._load_certificate(h, variant)

    # endpoints --------------------------------------------------------------------------
    def user(self, key):
        return self.scenario.user(key)

    def endpoints(self):
        return [ep for ep in self._endpoints.values() if ep.registered]

    def endpoints_for(self, uri):
        aor = normalize_aor(uri)
        return [ep for ep in self._endpoints.values() if ep.registered and
                normalize_aor(ep.uri) == aor]

    def endpoint_key(self, aor, instance, epid):
        return (normalize_aor(aor), instance or f"epid:{epid}")

    def find_endpoint(self, key):
        return self._endpoints.get(key)

    def add_endpoint(self, key, ep):
        old = self._endpoints.get(key)
        if old is not None and old is not ep:
            self.remove_endpoint(old, "replaced")
        self._endpoints[key] = ep
        ep.key = key
        self._hook("endpoint_added", ep)

    def remove_endpoint(self, ep, reason):
        if not ep.registered:
            return
        ep.registered = False
        if self._endpoints.get(getattr(ep, "key", None)) is ep:
            del self._endpoints[ep.key]
        if ep.conn is not None:
            ep.conn.endpoints.discard(ep)
        self.log.note(f"endpoint {ep.uri} epid={ep.epid} removed: {reason}")
        self.im.endpoint_removed(ep)
        self._hook("endpoint_removed", ep, reason)

    def _hook(self, name, *args):
        fn = getattr(self.services, name, None) if self.services else None
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:  # a services bug must not take the registrar down
            log.exception("services.%s failed", name)
            self.log.note(f"services.{name} raised; see stderr")

    # sfbsim.env -------------------------------------------------------------------------
    def env(self):
        sc = self.scenario
        ad = sc.autodiscover
        e = {
            "SFBSIM_WORKDIR": self.workdir,
            "SFBSIM_DOMAIN": sc.domain,
            "SFBSIM_CA_FILE": self.certs.ca_file,
            "SFBSIM_PROVISIONING_CA": self.certprov_ca.ca_file,  # issues TLS-DSK user certs
            "SFBSIM_CONTROL": self.control.path,
            "SFBSIM_SIP_LOG": self.log.path,
            "SFBSIM_DNS": sc.data["dns"]["address"],
            "SFBSIM_DELAY_MS": str(int(self.delay * 1000)),
            "SFBSIM_PID": str(os.getpid()),
            "SFBSIM_LYNCDISCOVER": f"{ad['external_fqdn']}={ad['external_address']}",
            "SFBSIM_LYNCDISCOVERINTERNAL": f"{ad['internal_fqdn']}={ad['internal_address']}",
            "SFBSIM_REGISTRARS": " ".join(r.name for r in sc.registrars()),
            "SFBSIM_USERS": " ".join(sc.users),
        }
        for r in sc.registrars():
            k = f"SFBSIM_{r.name.upper().replace('-', '_')}"
            e[k] = f"{r.fqdn}:{r.port}"
            e[k + "_ADDRESS"] = r.address
            e[k + "_ROLE"] = r.role
        for uid, u in sc.users.items():
            k = f"SFBSIM_USER_{uid.upper().replace('-', '_')}"
            e[k + "_URI"] = u["uri"]
            e[k + "_LOGIN"] = u["login"]
            e[k + "_PASSWORD"] = u["password"]
            e[k + "_POOL"] = u["pool"]
        ex = sc.exchange
        if ex is not None:
            e["SFBSIM_EXCHANGE_MAIL"] = f"{ex['mail_fqdn']}={ex['mail_address']}"
            e["SFBSIM_EXCHANGE_AUTODISCOVER"] = \
                f"{ex['autodiscover_fqdn']}={ex['autodiscover_address']}"
            e["SFBSIM_EXCHANGE_EWS_URL"] = f"https://{ex['mail_fqdn']}/EWS/Exchange.asmx"
            for uid in sc.users:
                e[f"SFBSIM_USER_{uid.upper().replace('-', '_')}_EMAIL"] = \
                    self.exchange.mailboxes[uid].email
        if self.kdc is not None:
            e["SFBSIM_KRB5_CONFIG"] = self.kdc.krb5_conf
            e["SFBSIM_KRB5_REALM"] = self.kdc.realm
            e["SFBSIM_KDC"] = f"{self.kdc.address}:{self.kdc.port}"
        return e

    def _write_env(self):
        path = os.path.join(self.workdir, "sfbsim.env")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("# sfbsim: source this file (KEY=VALUE, shell-quoted)\n")
            for k, v in self.env().items():
                f.write(f"{k}={shlex.quote(v)}\n")
        os.replace(tmp, path)


# built-in control actions ------------------------------------------------------------
def _registrars(sim, registrar=None):
    if registrar is None:
        return list(sim.registrars.values())
    r = sim.registrars.get(registrar)
    if r is None:
        for x in sim.registrars.values():
            if x.fqdn == registrar:
                r = x
    if r is None:
        raise ValueError(f"no registrar {registrar!r} (have {sorted(sim.registrars)})")
    return [r]


def _user_aor(sim, user):
    if user is None:
        return None
    u = sim.user(user)
    if u is None:
        raise ValueError(f"no user {user!r}")
    return normalize_aor(u["uri"])


@control.action("ping")
def _ping(sim):
    return "pong"


@control.action("actions")
def _actions(sim):
    return sorted(control.ACTIONS)


@control.action("counters")
def _counters(sim, reset=False):
    """Counters: registers / auth_failures / signature_failures per user, signin_round_trips
    (REGISTER round trips of each completed sign-in, per user), dns_queries, requests per
    method, keepalives, autodiscover_requests ("host code"), tcp_connections accepted
    ("host:port", SIP and HTTP(S)), tls_handshakes ("full" / "resumed"),
    http_connections ("host:port": HTTP(S) connections, TLS handshake done),
    http_closed_by_client (of those, the ones the client closed between requests), plus gauges active_registrations, active_subscriptions and
    open_http_connections ("host:port": HTTP(S) connections open now)."""
    snap = sim.counters.snapshot()
    snap["active_registrations"] = len(sim.endpoints())
    snap["active_subscriptions"] = sum(len(ep.subscriptions) for ep in sim.endpoints())
    snap["connections"] = sum(len(r.conns) for r in sim.registrars.values())
    snap["open_http_connections"] = {k: n for k, n in sim.http_open.items() if n > 0}
    if reset:
        sim.counters.reset()
    return snap


@control.action("reset_counters")
def _reset_counters(sim):
    sim.counters.reset()
    sim.signin_rt.clear()  # sign-ins a client abandoned after a 401 count no more


@control.action("endpoints")
def _endpoints(sim, user=None):
    aor = _user_aor(sim, user)
    return [{"uri": ep.uri, "epid": ep.epid, "instance": ep.instance, "gruu": ep.gruu,
             "registrar": ep.registrar.name, "contact": ep.contact,
             "expires_in": round(ep.expires_at - time.monotonic(), 1),
             "subscriptions": len(ep.subscriptions)}
            for ep in sim.endpoints() if aor is None or normalize_aor(ep.uri) == aor]


@control.action("drop_connections")
def _drop_connections(sim, user=None, registrar=None, reset=False):
    """Close (TLS close_notify + FIN) or, with reset=true, reset (RST) the SIP connections of
    a user, of a registrar, or all.  Returns how many were dropped."""
    aor = _user_aor(sim, user)
    n = 0
    for r in _registrars(sim, registrar):
        n += r.drop_connections(aor, reset)
    return n


@control.action("reset_connections")
def _reset_connections(sim, user=None, registrar=None):
    return _drop_connections(sim, user, registrar, reset=True)


@control.action("stop_pool")
async def _stop_pool(sim, pool):
    """Stop a registrar (pool name, 'director' or 'edge'): listener closed, connections reset,
    its SAs and registrations gone, like a crashed front end."""
    for r in _registrars(sim, pool):
        await r.stop(reason="pool stopped")


@control.action("start_pool")
async def _start_pool(sim, pool):
    for r in _registrars(sim, pool):
        await r.start()


@control.action("restart_pool")
async def _restart_pool(sim, pool, down_seconds=0):
    """Stop, then start again after down_seconds (returns at once when > 0)."""
    rs = _registrars(sim, pool)
    for r in rs:
        await r.stop(reason="pool restarting")

    async def later():
        await asyncio.sleep(down_seconds)
        for r in rs:
            await r.start()
    if down_seconds > 0:
        sim.spawn(later())
    else:
        await later()


@control.action("set_503")
def _set_503(sim, registrar=None, retry_after=30, count=None,
             diagnostics='1008;reason="Server too busy"', code=503, reason=None):
    """Answer REGISTERs with 503, ms-diagnostics and Retry-After: `count` times, or until
    clear_503 when count is null.  code=504 answers 504 Server Time-out instead; `reason`
    replaces the standard reason phrase."""
    if code not in (503, 504):
        raise ValueError("code must be 503 or 504")
    for r in _registrars(sim, registrar):
        r.fault_503 = {"retry_after": retry_after, "count": count, "diagnostics": diagnostics,
                       "code": code, "reason": reason}


@control.action("clear_503")
def _clear_503(sim, registrar=None):
    for r in _registrars(sim, registrar):
        r.fault_503 = None


@control.action("deregister")
async def _deregister(sim, user, event="deactivated", epid=None, method="NOTIFY",
                      registrar=None, diagnostics=None, first=None):
    """Server-initiated deregistration (MS-SIPREGE 3.2): NOTIFY/BENOTIFY registration-notify
    with body 'deregistered;event=<event>' to the user's endpoints (one epid, or all), then
    drop their registrations.  event: unregistered, rejected, deactivated,
    preferred-registrar-change (registrar= names the new one for P-Preferred-Registrar).
    first: a request method (OPTIONS) sent just before the NOTIFY in the same write (one
    TLS record); each answer is then [its answer, the NOTIFY's answer]."""
    from .registrar import deregister
    aor = _user_aor(sim, user)
    eps = [ep for ep in sim.endpoints_for(aor) if epid is None or ep.epid == epid]
    preferred = _registrars(sim, registrar)[0] if registrar else None
    results = await asyncio.gather(*(deregister(ep, event, method, preferred, diagnostics,
                                                first) for ep in eps))
    return {"notified": len(eps), "answers": results}


@control.action("set_user_enabled")
def _set_user_enabled(sim, user, enabled=True):
    u = sim.user(user)
    if u is None:
        raise ValueError(f"no user {user!r}")
    u["enabled"] = bool(enabled)


@control.action("expire_sa")
def _expire_sa(sim, user=None):
    """End security associations now (all, or one user's): the next signed request gets a
    401 and the client must authenticate again."""
    aor = _user_aor(sim, user)
    return sum(r.expire_sas(aor) for r in sim.registrars.values())


@control.action("tamper_signatures")
def _tamper_signatures(sim, user=None, count=1):
    """Corrupt the rspauth of the next `count` messages each of a user's (or every) security
    associations signs, as a man in the middle would.  Returns how many SAs were armed."""
    aor = _user_aor(sim, user)
    n = 0
    for r in sim.registrars.values():
        for sa in r.sas.values():
            if aor is None or normalize_aor(sa.user["uri"]) == aor:
                sa.tamper = int(count)
                n += 1
    return n


@control.action("dns_fault")
def _dns_fault(sim, mode, names=None, delay_ms=3000, count=None, address=None):
    """mode: nxdomain, servfail, noanswer, slow, drop, address (A queries answered with
    `address`); names: list (default all)."""
    sim.dns.add_fault(mode, names, delay_ms, count, address)


@control.action("blackhole")
def _blackhole(sim, address, port):
    """Make address:port (a 127.x address) drop every connection attempt, as a firewall
    that drops packets does: a listener that never accepts, its accept queue (backlog 0)
    filled by one connection of sfbsim's own, so the kernel drops each SYN and a client's
    connect times out.  Point a name at it with dns_fault(mode="address").  Lasts until
    blackhole_clear.  Returns "address:port"."""
    import socket
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((str(address), int(port)))
    listener.listen(0)
    filler = socket.create_connection((str(address), int(port)), timeout=5)
    sim.blackholes = getattr(sim, "blackholes", []) + [listener, filler]
    return f"{address}:{port}"


@control.action("blackhole_clear")
def _blackhole_clear(sim):
    for s in getattr(sim, "blackholes", []):
        s.close()
    sim.blackholes = []


@control.action("dns_clear")
def _dns_clear(sim):
    sim.dns.clear_faults()


@control.action("set_certificate")
def _set_certificate(sim, variant="valid", host=None):
    """valid, expired, wrong-name, untrusted or not-yet-valid, for new TLS connections (SIP and
    HTTPS) to one host (registrar name or FQDN, lyncdiscover name) or, host null, to every
    host.  Returns {fqdn: variant} of every host."""
    sim.set_certificate(variant, host)
    return dict(sim.cert_variants)


@control.action("set_portal")
def _set_portal(sim, host, content_type="text/html"):
    """Make a lyncdiscover name (internal or external FQDN) another web server answering
    every request with 200, `content_type` and an HTML page; content_type null: autodiscover
    again.  Returns the scenario's [autodiscover.portal]."""
    ad = sim.scenario.autodiscover
    host = host.lower()
    if host not in (ad["internal_fqdn"], ad["external_fqdn"]):
        raise ValueError(f"{host!r} is no lyncdiscover name")
    portal = ad.setdefault("portal", {})
    if content_type is None:
        portal.pop(host, None)
    elif not isinstance(content_type, str) or not content_type or \
            any(c in content_type for c in "\r\n"):
        raise ValueError("content_type must be a header value")
    else:
        portal[host] = content_type
    return dict(portal)


@control.action("set_tls_version")
def _set_tls_version(sim, maximum="TLSv1_3"):
    """Highest TLS version new SIP and HTTPS connections negotiate: TLSv1_2 (what SfB Server
    on Schannel speaks, the default; scenario [tls] max_version) or TLSv1_3; TLSv1_1: that
    version only (an outdated server).  Returns the previous one."""
    return sim.set_tls_version(maximum)


@control.action("set_endpoints")
def _set_endpoints(sim, user, endpoints=None):
    """The user's other endpoints listed in every 200 to its REGISTER (scenario
    [[endpoints.<user>]]: name, epid, expires, address); null: the scenario file's again.
    Returns them with their GRUUs."""
    from .identity import gruu, instance_from_epid
    from .scenario import Scenario, check_endpoints
    u = sim.user(user)
    if u is None:
        raise ValueError(f"no user {user!r}")
    if endpoints is None:
        path = sim.scenario.path
        endpoints = Scenario.load(path).endpoints(u["id"]) if path else []
    endpoints = [dict(e) for e in endpoints]
    check_endpoints(u["id"], endpoints, sim.scenario.users)
    sim.scenario.data.setdefault("endpoints", {})[u["id"]] = endpoints
    return [dict(e, gruu=gruu(u["uri"], instance_from_epid(e["epid"]))) for e in endpoints]


@control.action("set_delay")
def _set_delay(sim, ms):
    """One-way delay (ms) added to everything sfbsim sends from now on."""
    if ms < 0:
        raise ValueError("delay must be >= 0")
    sim.delay = ms / 1000.0


@control.action("set_timers")
def _set_timers(sim, **timers):
    """Change scenario timers (expires, keep_alive, sa_lifetime, ...) for new registrations."""
    for k, v in timers.items():
        if k not in sim.scenario.timers:
            raise ValueError(f"unknown timer {k!r}")
        sim.scenario.timers[k] = v
    return dict(sim.scenario.timers)
