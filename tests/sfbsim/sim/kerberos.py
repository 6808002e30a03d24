# SPDX-License-Identifier: LGPL-2.1-or-later
"""Kerberos for sfbsim: a real MIT KDC in the work directory and the registrars' acceptor.

The KDC (krb5kdc from krb5-kdc; the database made with kdb5_util and kadmin.local from
krb5-admin-server, kadmind is never started) lives in DIR/kdc:

  krb5.conf        for clients (published as SFBSIM_KRB5_CONFIG): the realm, its KDC, the
                   scenario's domain mapped to the realm, no DNS or reverse lookups
  kdc.conf         for krb5kdc and kadmin.local (KRB5_KDC_PROFILE)
  principal*       the database: one principal per scenario user (login user part @ REALM,
                   the scenario password) and sip/<fqdn> for every registrar
  <fqdn>.keytab    the registrar's own service key; its acceptor reads only that file, so
                   a ticket for another registrar is refused
  http.keytab      HTTP/<host> of every Exchange web host (sim/exchange.py), when the
                   scenario has an [exchange]
  kdc.log          the KDC's log

The database is made once per work directory and reused while the realm, the users, their
passwords and the registrars stay the same (like the certificates): a warm start only runs
krb5kdc.  docs/protocol.md §7: the registrars accept the raw krb5 mechanism (not SPNEGO) through
python3-gssapi; GSS_C_INTEG_FLAG only, so the context is complete after the client's one
token and no AP-REP goes back.  Signatures are GSS MICs over the §5.1 buffer (§5.3).
"""

import asyncio
import hashlib
import json
import os
import shutil
import signal
import subprocess

import gssapi
import gssapi.raw as graw

from . import control
from .scenario import exchange_hosts, login_parts

FORMAT = 1
KRB5 = gssapi.MechType.kerberos
MAX_TOKEN = 64 * 1024
START_TIMEOUT = 10.0


class KerberosError(Exception):
    """A token was refused (reason in the message)."""


def principal_for_login(login, realm):
    """'CONTOSO\\alice' or 'alice@contoso.test' -> 'alice@REALM'."""
    if "\\" in login:
        return f"{login_parts(login)[1]}@{realm}"
    return f"{login.split('@', 1)[0]}@{realm}"


class Kdc:
    """The deployment's MIT KDC (one realm)."""

    def __init__(self, sim, conf):
        self.sim = sim
        sc = sim.scenario
        self.realm = conf["realm"]
        self.address, self.port = conf["address"], int(conf["port"])
        self.dir = os.path.join(sim.workdir, "kdc")
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        self.kdc_conf = os.path.join(self.dir, "kdc.conf")
        self.proc = None
        self.services = [f"sip/{r.fqdn}" for r in sc.registrars()]
        # the Exchange web hosts' SPNs (sim/exchange.py), all in one keytab as one IIS
        # application pool account holds them
        ex = sc.exchange
        self.http_services = [f"HTTP/{name}" for name, _ in
                              exchange_hosts(sc.domain, ex)] if ex else []
        self.http_keytab = os.path.join(self.dir, "http.keytab")
        self.users = {uid: (principal_for_login(u["login"], self.realm), u["password"])
                      for uid, u in sc.users.items()}

    def keytab(self, fqdn):
        return os.path.join(self.dir, f"{fqdn}.keytab")

    def env(self):
        e = dict(os.environ)
        e["KRB5_CONFIG"] = self.krb5_conf
        e["KRB5_KDC_PROFILE"] = self.kdc_conf
        return e

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # database -------------------------------------------------------------------------
    def _fingerprint(self):
        data = {"format": FORMAT, "realm": self.realm, "users": sorted(self.users.values()),
                "services": sorted(self.services), "address": self.address, "port": self.port}
        if self.http_services:
            data["http"] = sorted(self.http_services)
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()

    def _write_configs(self):
        domain = self.sim.scenario.domain
        with open(self.krb5_conf, "w") as f:
            f.write(f"""# sfbsim: Kerberos client configuration (KRB5_CONFIG)
[libdefaults]
    default_realm = {self.realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    udp_preference_limit = 1
    ignore_acceptor_hostname = true
[realms]
    {self.realm} = {{
        kdc = {self.address}:{self.port}
    }}
[domain_realm]
    .{domain} = {self.realm}
    {domain} = {self.realm}
""")
        with open(self.kdc_conf, "w") as f:
            f.write(f"""# sfbsim: KDC configuration (KRB5_KDC_PROFILE)
[kdcdefaults]
    kdc_listen = {self.address}:{self.port}
    kdc_tcp_listen = {self.address}:{self.port}
[realms]
    {self.realm} = {{
        database_name = {self.dir}/principal
        key_stash_file = {self.dir}/stash
        acl_file = {self.dir}/kadm5.acl
        max_life = 10h
        max_renewable_life = 1d
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}
[logging]
    kdc = FILE:{self.dir}/kdc.log
""")
        with open(os.path.join(self.dir, "kadm5.acl"), "w"):
            pass

    def ensure(self):
        """Make the database and keytabs unless this work directory already has them."""
        stamp = os.path.join(self.dir, "stamp")
        fp = self._fingerprint()
        try:
            with open(stamp) as f:
                if f.read().strip() == fp:
                    self._write_configs()
                    return False
        except FileNotFoundError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, mode=0o700)
        self._write_configs()
        env = self.env()
        run = dict(env=env, capture_output=True, text=True, check=False)
        r = subprocess.run(["kdb5_util", "create", "-s", "-r", self.realm, "-P",
                            os.urandom(12).hex()], **run)
        if r.returncode != 0:
            raise RuntimeError(f"kdb5_util create failed: {r.stderr.strip()}")
        cmds = []
        for principal, password in self.users.values():
            cmds.append(f'addprinc -pw "{password}" {principal}')
        for svc in self.services:
            cmds.append(f"addprinc -randkey {svc}@{self.realm}")
        for svc in self.services:
            cmds.append(f"ktadd -k {self.keytab(svc[4:])} {svc}@{self.realm}")
        for svc in self.http_services:
            cmds.append(f"addprinc -randkey {svc}@{self.realm}")
            cmds.append(f"ktadd -k {self.http_keytab} {svc}@{self.realm}")
        r = subprocess.run(["kadmin.local", "-r", self.realm], input="\n".join(cmds) + "\n",
                           **run)
        missing = [s for s in self.services if not os.path.exists(self.keytab(s[4:]))]
        if self.http_services and not os.path.exists(self.http_keytab):
            missing.append("HTTP")
        if r.returncode != 0 or missing:
            raise RuntimeError(f"kadmin.local failed: {r.stderr.strip()} (no keytab for "
                               f"{missing})")
        with open(stamp, "w") as f:
            f.write(fp + "\n")
        return True

    # process --------------------------------------------------------------------------
    async def start(self):
        """Start krb5kdc (no-op when running); returns once it accepts TCP connections."""
        if self.running:
            return
        log = open(os.path.join(self.dir, "krb5kdc.out"), "ab")
        try:
            self.proc = subprocess.Popen(["krb5kdc", "-n", "-r", self.realm, "-P",
                                          os.path.join(self.dir, "kdc.pid")],
                                         env=self.env(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True)
        finally:
            log.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"krb5kdc exited with {self.proc.returncode}; see "
                                   f"{self.dir}/krb5kdc.out")
            try:
                _, w = await asyncio.open_connection(self.address, self.port)
                w.close()
                break
            except OSError:
                if loop.time() > deadline:
                    raise RuntimeError("krb5kdc did not start listening") from None
                await asyncio.sleep(0.02)
        self.sim.log.note(f"KDC for {self.realm} listening on {self.address}:{self.port}")

    async def stop(self):
        """Stop krb5kdc ("KDC down"); no-op when stopped."""
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(None, p.wait), 5)
        except asyncio.TimeoutError:
            p.kill()
            await loop.run_in_executor(None, p.wait)
        self.sim.log.note(f"KDC for {self.realm} stopped")

    def user_for_principal(self, principal):
        for uid, (p, _) in self.users.items():
            if p.lower() == principal.lower():
                return self.sim.scenario.users.get(uid)
        return None


class GssSession:
    """An accepted context as the SecurityAssociation's `session`: GSS MICs (§5.3)."""

    def __init__(self, ctx):
        self.ctx = ctx

    def sign_server(self, buf):
        return bytes(self.ctx.get_signature(buf))

    def verify_client(self, buf, sig):
        try:
            self.ctx.verify_signature(buf, sig)
        except gssapi.exceptions.GSSError:
            return False
        return True


class Acceptor:
    """A registrar's Kerberos acceptor: its own keytab, the raw krb5 mechanism."""

    def __init__(self, kdc, fqdn):
        self.kdc, self.fqdn = kdc, fqdn
        self.keytab = kdc.keytab(fqdn)

    def accept(self, token):
        """An initial token (AP-REQ) -> (GssSession, client principal, lifetime s)."""
        if not token or len(token) > MAX_TOKEN:
            raise KerberosError("empty or oversized token")
        os.environ["KRB5_CONFIG"] = self.kdc.krb5_conf  # realm of host-based names
        try:
            creds = gssapi.Credentials(usage="accept", mechs=[KRB5],
                                       store={b"keytab": f"FILE:{self.keytab}".encode()})
            ctx = gssapi.SecurityContext(creds=creds, usage="accept")
            out = ctx.step(token)
        except gssapi.exceptions.GSSError as e:
            raise KerberosError(f"GSS accept failed: {e.gen_message()}") from None
        if not ctx.complete:
            raise KerberosError("context not complete after the initial token"
                                + (" (mutual authentication requested)" if out else ""))
        if ctx.mech != KRB5:
            raise KerberosError(f"mechanism {ctx.mech} is not raw krb5")
        if not ctx.actual_flags & gssapi.RequirementFlag.integrity:
            raise KerberosError("no integrity protection")
        lifetime = ctx.lifetime if ctx.lifetime else 0
        return GssSession(ctx), str(ctx.initiator_name), lifetime


class GssClient:
    """Test-client side (sim/client.py and tests): initiator with password or ccache."""

    def __init__(self, kdc_conf, principal=None, password=None, ccache=None):
        os.environ["KRB5_CONFIG"] = kdc_conf
        if password is not None:
            name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
            self.creds = graw.acquire_cred_with_password(name, password.encode(),
                                                         usage="initiate", mechs=[KRB5]).creds
        else:
            store = {b"ccache": ccache.encode()} if ccache else None
            self.creds = gssapi.Credentials(usage="initiate", mechs=[KRB5], store=store)
        self.ctx = None

    def initial_token(self, targetname):
        name = gssapi.Name(targetname.replace("/", "@", 1), gssapi.NameType.hostbased_service)
        self.ctx = gssapi.SecurityContext(name=name, creds=self.creds, usage="initiate",
                                          mech=KRB5,
                                          flags=gssapi.RequirementFlag.integrity)
        return bytes(self.ctx.step())

    def sign_client(self, buf):
        return bytes(self.ctx.get_signature(buf))

    def verify_server(self, buf, sig):
        try:
            self.ctx.verify_signature(buf, sig)
        except gssapi.exceptions.GSSError:
            return False
        return True


# control actions ---------------------------------------------------------------------
@control.action("stop_kdc")
async def _stop_kdc(sim):
    """KDC down: stop krb5kdc.  Clients can no longer get tickets; SAs already made stay."""
    if sim.kdc is None:
        raise ValueError("this scenario has no [kerberos] KDC")
    await sim.kdc.stop()


@control.action("start_kdc")
async def _start_kdc(sim):
    if sim.kdc is None:
        raise ValueError("this scenario has no [kerberos] KDC")
    await sim.kdc.start()


@control.action("kdc")
def _kdc(sim):
    """The KDC's realm, address, krb5.conf and whether it runs (null without a KDC)."""
    if sim.kdc is None:
        return None
    return {"realm": sim.kdc.realm, "address": f"{sim.kdc.address}:{sim.kdc.port}",
            "krb5_conf": sim.kdc.krb5_conf, "running": sim.kdc.running}


@control.action("set_auth")
def _set_auth(sim, schemes, registrar=None):
    """The schemes registrars offer from now on, in order (e.g. ["Kerberos", "NTLM"]); one
    registrar by name or FQDN, or all.  Kerberos needs the scenario's KDC."""
    from .scenario import SCHEMES
    schemes = list(schemes)
    for s in schemes:
        if s not in SCHEMES:
            raise ValueError(f"unknown scheme {s!r} (know {SCHEMES})")
    if "Kerberos" in schemes and sim.kdc is None:
        raise ValueError("Kerberos needs a [kerberos] KDC in the scenario")
    n = 0
    for r in sim.registrars.values():
        if registrar is None or registrar in (r.name, r.fqdn):
            r.desc.auth = list(schemes)
            n += 1
    if n == 0:
        raise ValueError(f"no registrar {registrar!r}")
    return n
