# SPDX-License-Identifier: LGPL-2.1-or-later
"""pidgin-sipe signs in to sfbsim with Kerberos and with TLS-DSK.

Runs inside build-aux/testnet (meson does that) like test_purple_sipe.py, with its helpers,
on one sfbsim.  Every test turns on the schemes it needs with the control action `set_auth`
and signs in through discovery (lyncdiscover, then the Director's 301 to pool1) unless it
says otherwise; the sign-out follows at once (no long stays: test_purple_sipe.py covers the
keep-alive and the re-REGISTER).

Kerberos: SIPE makes its principal from `DOMAIN\\user` as `user@DOMAIN` (docs/protocol.md §17.11),
which is not the realm's principal here (CONTOSO.TEST), so the password tests log in with
the UPN `alice@contoso.test` (SIPE upper-cases the part after the @); the single sign-on
test gives SIPE no password at all, only a ccache from kinit.  TLS-DSK: SIPE gets a web
ticket, has a certificate provisioned and signs in with it.

SIPE verifies every server signature (Kerberos MICs, TLS-DSK HMACs) and drops the connection
on a bad one, so a clean sign-out also proves sfbsim's signing in these schemes.
"""

import json
import os
import subprocess

import pytest

from test_purple_sipe import (PurpleCheck, Sfbsim, SipLog, load_scenario,
                              not_found_or_no_dialog, wait_for)

USER = "alice"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    if os.environ.get("SFBD_TESTNET") != "1":
        pytest.fail("run inside build-aux/testnet (meson test does this)")
    if not os.access(os.environ.get("SFB_PURPLE_CHECK", ""), os.X_OK):
        pytest.fail("SFB_PURPLE_CHECK must name the built sfb-purple-check")
    s = Sfbsim(tmp_path_factory.mktemp("sfbsim"))
    yield s
    s.stop()


@pytest.fixture
def ctl(sim):
    """The control client, counters reset; afterwards NTLM only again, services up."""
    sim.ctl.reset_counters()
    yield sim.ctl
    sim.ctl.set_auth(schemes=["NTLM"])
    sim.ctl.set_provisioning(up=True)
    if not sim.ctl.kdc()["running"]:
        sim.ctl.start_kdc()


class SipLogSince(SipLog):
    """sip.log from where it was when this object was made: one test's messages."""

    def __init__(self, siplog):
        super().__init__(siplog.path)
        self.offset = siplog.size()

    def messages(self, offset=None):
        return super().messages(self.offset if offset is None else offset)


@pytest.fixture
def log(sim, ctl):
    return SipLogSince(sim.siplog)


@pytest.fixture
def krb5_env(sim, tmp_path):
    """SIPE's Kerberos environment: sfbsim's krb5.conf and a ccache of this test's own."""
    return {"KRB5_CONFIG": sim.env["SFBSIM_KRB5_CONFIG"],
            "KRB5CCNAME": f"FILE:{tmp_path}/ccache"}


def user():
    return load_scenario()["users"][USER]


def upn(sim):
    """alice@contoso.test; SIPE turns it into the principal alice@CONTOSO.TEST."""
    domain = load_scenario()["domain"]
    assert sim.env["SFBSIM_KRB5_REALM"] == domain.upper(), \
        "the UPN login needs the realm to be the upper-cased domain"
    return user()["login"].split("\\")[1] + "@" + domain


def register_schemes(log, host):
    """The scheme of every authorised REGISTER SIPE sent to host (in order)."""
    out = []
    for m in log.find("IN", host, "REGISTER "):
        auth = SipLog.header(m, "authorization")
        if auth:
            out.append(auth.split(None, 1)[0])
    return out


def server_schemes(log, host):
    """The scheme of every Authentication-Info host sent (its signed messages)."""
    return [SipLog.header(m, "authentication-info").split(None, 1)[0]
            for m in log.find("OUT", host)
            if SipLog.header(m, "authentication-info")]


def sign_in_and_out(client, contacts=True):
    """Wait for signed-on, the contact list (SIPE reads it only over its signed
    subscription) and a clean sign-out; return the run's events."""
    try:
        client.wait_event("signed-on", 60)
        if contacts:
            client.wait_event("buddies", 30)
        client.wait_event("signed-out", 30)
        assert client.finish() == 0, client.summary()
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait()
    assert not client.of("error"), client.summary()
    if contacts:
        listed = {e["uri"] for e in client.of("buddy")}
        assert listed == {c["uri"] for c in load_scenario()["contacts"][USER]}, listed
    return client.events


def assert_through_director(sim, log, scheme):
    """SIPE went to the Director, authenticated there with scheme, took the signed 301 to
    the home pool and registered there with scheme; signed out with Expires: 0."""
    u = user()
    director = sim.env["SFBSIM_DIRECTOR"]
    pool = sim.env["SFBSIM_" + u["pool"].upper()]
    redirects = log.find("OUT", director, "SIP/2.0 301")
    assert redirects, "the Director sent no 301"
    assert SipLog.header(redirects[0], "authentication-info").startswith(scheme + " ")
    assert u["pool"] in SipLog.header(redirects[0], "contact")
    for host in (director, pool):
        schemes = register_schemes(log, host)
        assert schemes and set(schemes) == {scheme}, (host, schemes)
    assert log.find("OUT", pool, "SIP/2.0 200", note="registered")
    assert not log.find("OUT", director, "SIP/2.0 200", note="registered")
    # every signed message of the pool was signed in this scheme, and SIPE took them all
    signed = server_schemes(log, pool)
    assert len(signed) >= 3 and set(signed) == {scheme}, signed
    assert log.find("IN", pool, "REGISTER ", expires="0"), "no REGISTER Expires: 0"
    wait_for("the registration to be gone", lambda: sim.ctl.endpoints(user=USER) == [], 10)
    counters = sim.ctl.counters()
    assert not counters.get("auth_failures"), counters
    assert not counters.get("signature_failures"), counters
    # every service SIPE asked for was there, every request handled in order
    assert not_found_or_no_dialog(sim.siplog, log.offset) == []


# ---- Kerberos ------------------------------------------------------------------------

def test_kerberos_with_password_through_director(sim, ctl, log, krb5_env):
    assert ctl.set_auth(schemes=["Kerberos", "NTLM"]) == 4
    password = user()["password"]
    client = PurpleCheck(sim, password, "wait-buddies:1,buddies,sign-out", timeout=90,
                         auth="krb5", login=upn(sim), env=krb5_env)
    sign_in_and_out(client)
    assert_through_director(sim, log, "Kerberos")
    # one Kerberos logon at the Director and one at pool1, no NTLM anywhere
    assert ctl.counters().get("kerberos_logons") == {USER: 2}
    assert password not in "".join(client.stderr) + json.dumps(client.events)


def test_kerberos_single_sign_on_from_kinit_ccache(sim, ctl, log, krb5_env):
    """No password for SIPE: it uses the ticket-granting ticket kinit left in KRB5CCNAME,
    and the service tickets it gets go into the same ccache."""
    assert ctl.set_auth(schemes=["Kerberos", "NTLM"]) == 4
    realm = sim.env["SFBSIM_KRB5_REALM"]
    env = dict(os.environ, **krb5_env)
    principal = user()["login"].split("\\")[1] + "@" + realm
    r = subprocess.run(["kinit", principal], input=user()["password"] + "\n", env=env,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    client = PurpleCheck(sim, None, "wait-buddies:1,buddies,sign-out", timeout=90,
                         auth="krb5", env=krb5_env)
    sign_in_and_out(client)
    assert client.of("start")[0]["sso"] is True
    assert_through_director(sim, log, "Kerberos")
    assert ctl.counters().get("kerberos_logons") == {USER: 2}
    r = subprocess.run(["klist"], env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    for fqdn in ("director", "pool1"):
        assert f"sip/{fqdn}.contoso.test@{realm}" in r.stdout, r.stdout


def test_kerberos_kdc_down_is_an_authentication_failure(sim, ctl, krb5_env):
    """With Kerberos chosen and no KDC, SIPE fails the sign-in (no NTLM behind the user's
    back) and sfbsim has no registration."""
    ctl.set_auth(schemes=["Kerberos", "NTLM"])
    ctl.stop_kdc()
    client = PurpleCheck(sim, user()["password"], "sign-out", timeout=60, auth="krb5",
                         login=upn(sim), env=krb5_env)
    assert client.finish(90) == 1, client.summary()
    errors = client.of("error")
    assert errors and errors[0]["reason"] == "authentication-failed", client.summary()
    assert not client.of("signed-on")
    assert ctl.endpoints(user=USER) == []
    assert not ctl.counters().get("kerberos_logons")


def test_auto_with_domain_login_falls_back_to_ntlm(sim, ctl, log, krb5_env):
    """docs/protocol.md §17.11: with `auto`, SIPE tries Kerberos for CONTOSO\\alice as
    alice@CONTOSO, a realm that does not exist, and falls back to NTLM: the user still
    signs in, and sfbsim offering Kerberos first breaks no NTLM client."""
    ctl.set_auth(schemes=["Kerberos", "NTLM"])
    client = PurpleCheck(sim, user()["password"], "wait-buddies:1,buddies,sign-out",
                         timeout=90, auth="auto", env=krb5_env)
    sign_in_and_out(client)
    assert_through_director(sim, log, "NTLM")
    assert not ctl.counters().get("kerberos_logons")


# ---- TLS-DSK -------------------------------------------------------------------------

def test_tls_dsk_through_director(sim, ctl, log):
    """Web ticket (NTLM over HTTP), certificate provisioning, then the TLS-DSK handshake
    in REGISTERs at the Director and again at pool1 after the 301."""
    assert ctl.set_auth(schemes=["TLS-DSK", "NTLM"]) == 4
    client = PurpleCheck(sim, user()["password"], "wait-buddies:1,buddies,sign-out",
                         timeout=90, auth="tls-dsk")
    sign_in_and_out(client)
    assert_through_director(sim, log, "TLS-DSK")
    c = ctl.counters()
    assert c.get("tlsdsk_handshakes") == {USER: 2}, c
    # SIPE provisions a certificate at every start (per registrar it meets): at least one
    assert c.get("cert_provisionings", {}).get(USER, 0) >= 1, c
    assert c.get("webtickets", {}).get(USER, 0) >= 1, c
    for bad in ("tlsdsk_failures", "cert_provisioning_faults", "webticket_faults",
                "webticket_auth_failures"):
        assert not c.get(bad), (bad, c)


def test_tls_dsk_with_explicit_server(sim, ctl, log):
    """--server pool1:5061: no discovery and no Director, one TLS-DSK handshake."""
    ctl.set_auth(schemes=["TLS-DSK", "NTLM"])
    pool = sim.env["SFBSIM_POOL1"]
    client = PurpleCheck(sim, user()["password"], "sign-out", timeout=90, auth="tls-dsk",
                         extra=["--server", "pool1.contoso.test:5061"])
    sign_in_and_out(client, contacts=False)
    assert not log.find(None, sim.env["SFBSIM_DIRECTOR"])
    assert set(register_schemes(log, pool)) == {"TLS-DSK"}
    assert set(server_schemes(log, pool)) == {"TLS-DSK"}
    c = ctl.counters()
    assert c.get("tlsdsk_handshakes") == {USER: 1}, c
    assert c.get("cert_provisionings", {}).get(USER, 0) >= 1, c
    assert not c.get("auth_failures") and not c.get("signature_failures"), c
    wait_for("the registration to be gone", lambda: ctl.endpoints(user=USER) == [], 10)
    assert not_found_or_no_dialog(sim.siplog, log.offset) == []


def test_tls_dsk_provisioning_down_fails(sim, ctl):
    """docs/protocol.md §17.11: a failed certificate provisioning is fatal for SIPE; the run
    fails instead of hanging, and nothing registers."""
    ctl.set_auth(schemes=["TLS-DSK", "NTLM"])
    ctl.set_provisioning(up=False)
    client = PurpleCheck(sim, user()["password"], "sign-out", timeout=60, auth="tls-dsk")
    assert client.finish(90) == 1, client.summary()
    errors = client.of("error")
    assert errors and not client.of("signed-on"), client.summary()
    # SIPE names the service that failed it
    assert "CertProvisioningService" in errors[0]["text"], errors
    c = ctl.counters()
    assert not c.get("cert_provisionings") and not c.get("tlsdsk_handshakes"), c
    assert ctl.endpoints(user=USER) == []
