# SPDX-License-Identifier: LGPL-2.1-or-later
"""Kerberos in sfbsim: the MIT KDC in the work directory, the registrars'
krb5 acceptor with GSS MIC signatures, and the KDC-down control action.

The client side is MIT's initiator (python3-gssapi) with a password or with a ccache from
kinit; the AP-REQ it sends is also opened with impacket's independent Kerberos code and the
registrar's keytab, so the service keys sfbsim publishes are checked by other code."""

import asyncio
import base64
import os
import subprocess

import gssapi
import pytest

from sim.kerberos import GssClient
from sim.sipmsg import parse_auth

pytestmark = pytest.mark.usefixtures("netns")

REALM = "CONTOSO.TEST"


def krb5_env(sim, tmp_path):
    env = dict(os.environ)
    env["KRB5_CONFIG"] = sim.kdc.krb5_conf
    env["KRB5CCNAME"] = f"FILE:{tmp_path}/ccache"
    return env


def password_client(sim, user):
    return lambda: GssClient(sim.kdc.krb5_conf, f"{user['login'].split(chr(92))[1]}@{REALM}",
                             user["password"])


def test_env_and_kinit(sim, tmp_path, users):
    env = sim.env()
    assert env["SFBSIM_KRB5_REALM"] == REALM
    assert env["SFBSIM_KDC"] == "127.0.3.1:88"
    conf = open(env["SFBSIM_KRB5_CONFIG"]).read()
    assert "kdc = 127.0.3.1:88" in conf and ".contoso.test = CONTOSO.TEST" in conf
    kenv = krb5_env(sim, tmp_path)
    r = subprocess.run(["kinit", f"alice@{REALM}"], input=users["alice"]["password"] + "\n",
                       env=kenv, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["kvno", f"sip/pool1.contoso.test@{REALM}"], env=kenv,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and "kvno = " in r.stdout, r.stderr
    r = subprocess.run(["kinit", f"alice@{REALM}"], input="wrong\n", env=kenv,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0


def test_challenge_offers_kerberos_only_when_configured(simrun, make_client, registrar, ctl):
    c = make_client("alice")

    async def first_401():
        await c.connect(*registrar("pool1"))
        r = await c.register_once()
        await c.close()
        return [parse_auth(v) for v in r.get_all("WWW-Authenticate")]
    assert [s for s, _ in simrun(first_401())] == ["NTLM"]
    assert ctl.set_auth(schemes=["Kerberos", "NTLM"]) == 4
    offered = simrun(first_401())
    assert [s for s, _ in offered] == ["Kerberos", "NTLM"]
    p = offered[0][1]
    assert p == {"realm": "SIP Communications Service",
                 "targetname": "sip/pool1.contoso.test", "version": "4"}


def test_kerberos_signin_through_director(simrun, make_client, registrar, ctl, sim, users):
    ctl.set_auth(schemes=["NTLM", "Kerberos"])
    c = make_client("alice")
    c.kerberos = password_client(sim, users["alice"])

    async def flow():
        r = await c.sign_in(registrar("director"))
        assert r.code == 200, r.serialize()
        assert c.round_trips == 4       # 2 at the Director (-> signed 301), 2 at pool1
        assert c.bad_signatures == 0
        scheme, auth = parse_auth(r.get("Authentication-Info"))
        assert scheme == "Kerberos"
        assert auth["targetname"] == "sip/pool1.contoso.test" and auth["opaque"]
        assert bytes.fromhex(auth["rspauth"])[:2] == b"\x04\x04"  # RFC 4121 MIC (AES)
        r = await c.reregister()
        assert r.code == 200 and c.bad_signatures == 0
        r = await c.request("SERVICE", headers=[("Content-Type", "application/x")])
        assert r.code in (200, 400, 405, 415, 501) and c.bad_signatures == 0
        r = await c.sign_out()
        assert r.code == 200
    simrun(flow())
    counters = ctl.counters()
    assert counters["signin_round_trips"] == {"alice": [4]}
    assert counters["kerberos_logons"] == {"alice": 2}
    assert "signature_failures" not in counters and "auth_failures" not in counters


def test_kerberos_with_ccache_from_kinit(simrun, make_client, registrar, ctl, sim, users,
                                         tmp_path):
    ctl.set_auth(schemes=["Kerberos"])
    kenv = krb5_env(sim, tmp_path)
    r = subprocess.run(["kinit", f"bob@{REALM}"], input=users["bob"]["password"] + "\n",
                       env=kenv, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    c = make_client("bob")
    c.kerberos = lambda: GssClient(sim.kdc.krb5_conf, ccache=kenv["KRB5CCNAME"])
    r = simrun(c.sign_in(registrar("pool2")))
    assert r.code == 200 and c.bad_signatures == 0


def test_bad_or_foreign_tokens_are_refused(simrun, make_client, registrar, ctl, sim, users):
    ctl.set_auth(schemes=["Kerberos", "NTLM"], registrar="pool1")
    c = make_client("alice")

    async def with_token(token, target="sip/pool1.contoso.test"):
        await c.connect(*registrar("pool1"))
        c.reset_auth()
        await c.register_once()
        r = await c.register_once(auth=(
            f'Kerberos qop="auth", realm="SIP Communications Service", targetname="{target}", '
            f'gssapi-data="{base64.b64encode(token).decode()}", version=4'))
        await c.close()
        return r
    r = simrun(with_token(b"\x60\x03garbage"))
    assert r.code == 401 and "Kerberos" in r.get("WWW-Authenticate")
    # a ticket for another registrar: pool1's keytab does not hold pool2's key
    gss = password_client(sim, users["alice"])()
    r = simrun(with_token(gss.initial_token("sip/pool2.contoso.test")))
    assert r.code == 401
    assert ctl.counters()["auth_failures"] == {"alice": 2}


def test_kdc_down_and_up(ctl, sim, users):
    make = password_client(sim, users["alice"])
    make().initial_token("sip/pool1.contoso.test")
    assert ctl.kdc()["running"] is True
    ctl.stop_kdc()
    assert ctl.kdc()["running"] is False
    with pytest.raises(gssapi.exceptions.GSSError):
        make()
    ctl.start_kdc()
    make().initial_token("sip/pool1.contoso.test")


def test_ap_req_opens_with_impacket(sim, users):
    """An independent check of the KDC's keys: impacket decrypts the ticket with pool1's
    keytab and the authenticator with the ticket's session key."""
    from impacket.krb5.asn1 import AP_REQ, Authenticator, EncTicketPart
    from impacket.krb5.crypto import Key, _enctype_table
    from impacket.krb5.keytab import Keytab
    from pyasn1.codec.der import decoder

    token = password_client(sim, users["alice"])().initial_token("sip/pool1.contoso.test")
    # RFC 2743 framing: 0x60, DER length, the krb5 OID, token id 01 00 (AP-REQ)
    assert token[0] == 0x60
    i = 2 + (token[1] & 0x7F if token[1] & 0x80 else 0)
    assert token[i:i + 11] == b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"
    assert token[i + 11:i + 13] == b"\x01\x00"
    ap, _ = decoder.decode(token[i + 13:], asn1Spec=AP_REQ())
    etype = int(ap["ticket"]["enc-part"]["etype"])
    svc = "/".join(str(x) for x in ap["ticket"]["sname"]["name-string"])
    assert svc == "sip/pool1.contoso.test"
    kt = Keytab.loadFile(sim.kdc.keytab("pool1.contoso.test"))
    key = Key(etype, bytes(kt.getKey(f"{svc}@{REALM}", etype)["keyvalue"]["data"]))
    cipher = _enctype_table[etype]
    etp, _ = decoder.decode(cipher.decrypt(key, 2, bytes(ap["ticket"]["enc-part"]["cipher"])),
                            asn1Spec=EncTicketPart())
    assert [str(x) for x in etp["cname"]["name-string"]] == ["alice"]
    assert str(etp["crealm"]) == REALM
    session = Key(int(etp["key"]["keytype"]), bytes(etp["key"]["keyvalue"]))
    au, _ = decoder.decode(cipher.decrypt(session, 11, bytes(ap["authenticator"]["cipher"])),
                           asn1Spec=Authenticator())
    assert str(au["cname"]["name-string"][0]) == "alice"


def test_warm_start_reuses_the_database(sim):
    assert sim.kdc.ensure() is False
