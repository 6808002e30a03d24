# SPDX-License-Identifier: LGPL-2.1-or-later
"""NTLM, signature buffers and endpoint identity against published vectors and independent
implementations (impacket, gss-ntlmssp).  No network needed."""

import hmac

import pytest
from Cryptodome.Cipher import ARC4
from impacket import ntlm as imp

from sim import identity, ntlm
from sim.signing import SecurityAssociation, signature_buffer, verify_server_signature
from sim.sipmsg import SipMessage

LOOKUP = {("CONTOSO", "alice"): "Passw0rd!"}.get


def lookup(domain, user):
    return LOOKUP((domain.upper(), user.lower()))


def server():
    return ntlm.NtlmServer(lookup, "CONTOSO", "POOL1", "contoso.test", "pool1.contoso.test")


# --- docs/protocol.md §15.3 and §17.13: epid -> +sip.instance -> GRUU -----------------------
@pytest.mark.parametrize("epid,instance", [
    ("8248ca9ebb", "4233FD41-093B-5FD6-B5D2-651ED55969E6"),   # MS-SIPAE 4.1
    ("2ebb6f264f", "124841E4-264D-52E8-96C5-D22AA8CDC316"),   # MS-SIPAE 4.2
    ("a0ae9e6cb0", "C1589240-E660-594F-A8B3-4B55F358CBC1"),   # MS-SIPREGE 4.3
    ("c8ca638a15", "34D859DB-6585-5F91-A3B4-DE853C15347D"),   # OC 2007 R2 capture
    ("01010101", "4B1682A8-F968-5701-83FC-7C6741DC6697"),     # MS-SIPRE example
])
def test_instance_from_epid(epid, instance):
    assert identity.instance_from_epid(epid) == instance.lower()


def test_gruu_opaque_matches_capture():
    # OC 2007 R2: instance 34d859db-... got opaque=user:epid:21nYNIVlkV-jtN6FPBU0fQAA
    inst = "34d859db-6585-5f91-a3b4-de853c15347d"
    assert identity.gruu_opaque(inst) == "user:epid:21nYNIVlkV-jtN6FPBU0fQAA"
    assert identity.instance_from_gruu_opaque("user:epid:21nYNIVlkV-jtN6FPBU0fQAA") == inst
    assert identity.gruu("sip:a@b", inst) == "sip:a@b;opaque=user:epid:21nYNIVlkV-jtN6FPBU0fQAA;gruu"
    assert identity.parse_instance('"<urn:uuid:34D859DB-6585-5F91-A3B4-DE853C15347D>"') == inst
    assert identity.parse_instance('"<urn:uuid:nonsense>"') is None


# --- docs/protocol.md §5.1: signature buffers from messages ----------------------------------
CAPTURE_REQUEST = (
    "REGISTER sip:cosmo.local SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 192.168.172.6:12723\r\n"
    "From: <sip:user@cosmo.local>;tag=3e49177a52;epid=c8ca638a15\r\n"
    "To: <sip:user@cosmo.local>\r\n"
    "Call-ID: 4037df9284354df39065195bd57a4b14\r\n"
    "CSeq: 3 REGISTER\r\n"
    "Content-Length: 0\r\n\r\n")
CAPTURE_RESPONSE = (
    "SIP/2.0 200 OK\r\n"
    'From: "User"<sip:user@cosmo.local>;tag=3e49177a52;epid=c8ca638a15\r\n'
    "To: <sip:user@cosmo.local>;tag=5E61CCD925D17E043D9A74835A88F664\r\n"
    "Call-ID: 4037df9284354df39065195bd57a4b14\r\n"
    "CSeq: 3 REGISTER\r\n"
    "Expires: 7200\r\n"
    "Content-Length: 0\r\n\r\n")
REQUEST_BUFFER = (b"<NTLM><13317733><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"
                  b"<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local>"
                  b"<3e49177a52><sip:user@cosmo.local><><><><>")
RESPONSE_BUFFER = (b"<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"
                   b"<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local>"
                   b"<3e49177a52><sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664>"
                   b"<><><7200><200>")


def test_signature_buffer_examples():
    req = SipMessage.parse(CAPTURE_REQUEST)
    resp = SipMessage.parse(CAPTURE_RESPONSE)
    t = "cosmo-ocs-r2.cosmo.local"
    assert signature_buffer(req, "NTLM", "13317733", "1", "SIP Communications Service", t) \
        == REQUEST_BUFFER
    assert signature_buffer(resp, "NTLM", "9616454F", "1", "SIP Communications Service", t) \
        == RESPONSE_BUFFER


def test_signature_buffer_pai_case_and_version2():
    m = SipMessage.parse(
        "SIP/2.0 180 Ringing\r\nFROM: \"S\"<sip:s@x.com>;tag=24;epid=5\r\n"
        "TO: \"R\"<sip:r@x.com>;tag=7a;epid=3\r\nCSEQ: 1 INVITE\r\nCALL-ID: abc\r\n"
        'P-ASSERTED-IDENTITY: "R"<SIP:r@x.com>, <tel:+4930123>\r\nContent-Length: 0\r\n\r\n')
    assert signature_buffer(m, "NTLM", "1B", "11", "R", "T") == \
        b"<NTLM><1B><11><R><T><abc><1><INVITE><sip:s@x.com><24><sip:r@x.com><7a>" \
        b"<SIP:r@x.com><tel:+4930123><><180>"
    # version 2 leaves out the To URI and both identities
    assert signature_buffer(m, "NTLM", "1B", "11", "R", "T", version=2) == \
        b"<NTLM><1B><11><R><T><abc><1><INVITE><sip:s@x.com><24><7a><><180>"


# --- docs/protocol.md §15.2: the OC 2007 R2 capture, reproduced from its published values -------
def capture_session():
    key = ntlm.ntowfv2("Pa$$word", "User", "COSMO")
    base = ntlm.hmac_md5(key, bytes.fromhex("8dc0c800ae76eca606d2b9fbebd04731"))
    exported = ARC4.new(base).decrypt(bytes.fromhex("31CB739E1CA80A498591E8AE797115E4"))
    flags = (ntlm.F_UNICODE | ntlm.F_REQUEST_TARGET | ntlm.F_SIGN | ntlm.F_DATAGRAM
             | ntlm.F_NTLM | ntlm.F_ALWAYS_SIGN | ntlm.F_ESS | ntlm.F_IDENTIFY
             | ntlm.F_TARGET_INFO | ntlm.F_VERSION | ntlm.F_128 | ntlm.F_KEY_EXCH)
    return ntlm.NtlmSession(flags, exported)


def test_capture_signatures():
    s = capture_session()
    assert s.sign_client(REQUEST_BUFFER).hex() == "0100000029618e9651b65a7764000000"
    assert s.sign_server(RESPONSE_BUFFER).hex() == "01000000e615438a917661be64000000"
    assert s.verify_client(REQUEST_BUFFER, bytes.fromhex("0100000029618E9651B65A7764000000"))
    assert not s.verify_client(REQUEST_BUFFER + b"x",
                               bytes.fromhex("0100000029618e9651b65a7764000000"))


def test_capture_sa_verifies_and_signs_whole_messages():
    s = capture_session()
    sa = SecurityAssociation("2BDBAC9D", s, {"uri": "sip:user@cosmo.local"}, "COSMO\\User",
                             "cosmo-ocs-r2.cosmo.local", 3600)
    req = SipMessage.parse(CAPTURE_REQUEST)
    req.add("Proxy-Authorization", 'NTLM qop="auth", realm="SIP Communications Service", '
            'opaque="2BDBAC9D", targetname="cosmo-ocs-r2.cosmo.local", version=4, '
            'gssapi-data="x", crand="13317733", cnum="1", '
            'response="0100000029618e9651b65a7764000000"')
    assert sa.verify(req) is None
    assert sa.verify(req) == "replayed cnum 1"
    resp = SipMessage.parse(CAPTURE_RESPONSE)
    sa.sign(resp)
    assert verify_server_signature(resp, s) is None
    resp.set("Expires", "7201")
    assert verify_server_signature(resp, s) == "bad signature"


def test_non_ess_signature():
    # Without extended session security: CRC32 layout, RandomPad kept (docs/protocol.md §15.2)
    buf = (b"<NTLM><0878F41B><1><SIP Communications Service><ocs1.ocs.provo.novell.com>"
           b"<8592g5DCBa1694i5887m0D0Bt2247b3F38xAE9Fx><3><REGISTER>"
           b"<sip:gabriel@ocs.provo.novell.com><2947328781><B816D65C2300A32CFA6D371F2AF537FD>"
           b"<900><200>")
    key = bytes.fromhex("5F029153BC025058969548615E7099BA")
    flags = ntlm.SERVER_FLAGS & ~ntlm.F_ESS & ~ntlm.F_56 & ~ntlm.F_LM_KEY
    s = ntlm.NtlmSession(flags, key)
    assert s.sign_server(buf).hex() == "0100000000000000bf2e52667ddf6ded"
    assert s.verify_server(buf, bytes.fromhex("0100000000000000BF2E52667DDF6DED"))


def test_ms_nlmp_ntlmv2_keys():
    # MS-NLMP 4.2.4 (docs/protocol.md §15.1)
    assert ntlm.ntowfv2("Password", "User", "Domain").hex() == "0c868a403bfd7a93a3001ef22ef02e3f"
    exported = b"\x55" * 16
    flags = 0xE28A8233
    assert ntlm.sign_key(exported, True).hex() == "4788dc861b4782f35d43fd98fe1a2d39"
    assert ntlm.seal_key(flags, exported, True).hex() == "59f600973cc4960a25480a7c196e4c58"
    text = "Plaintext".encode("utf-16le")
    m = ntlm.mac(flags & ~ntlm.F_KEY_EXCH, ntlm.sign_key(exported, True), b"", text, seq=0)
    assert m.hex() == "0100000070352851f256430900000000"
    # and impacket's MAC primitive agrees with ours (connection-oriented, seq 0)
    sk, ck = ntlm.sign_key(exported, True), ntlm.seal_key(flags, exported, True)
    ours = ntlm.mac(flags, sk, ck, b"abc", seq=0, datagram=False)
    theirs = imp.MAC(flags, ARC4.new(ck).encrypt, sk, 0, b"abc").getData()
    assert ours == theirs


# --- the acceptor against independent initiators ------------------------------------------
def test_impacket_client_connectionless():
    srv = server()
    challenge = srv.challenge()
    c = imp.NTLMAuthChallenge(challenge)
    assert c["flags"] & ntlm.F_DATAGRAM and c["flags"] & ntlm.F_ESS and c["flags"] & ntlm.F_KEY_EXCH
    client = ntlm.NtlmClient("alice", "Passw0rd!", "CONTOSO")
    token = client.authenticate(challenge)
    assert srv.authenticate(token) == ("CONTOSO", "alice")
    assert srv.session.exported == client.session.exported
    msg = b"<NTLM><x><1>"
    assert srv.session.verify_client(msg, client.session.sign_client(msg))
    assert client.session.verify_server(msg, srv.session.sign_server(msg))
    assert not srv.session.verify_client(msg, srv.session.sign_server(msg))


def test_wrong_password_and_unknown_user():
    srv = server()
    with pytest.raises(ntlm.NtlmError, match="bad NTLMv2 proof"):
        srv.authenticate(ntlm.NtlmClient("alice", "wrong", "CONTOSO").authenticate(srv.challenge()))
    srv = server()
    with pytest.raises(ntlm.NtlmError, match="unknown login"):
        srv.authenticate(ntlm.NtlmClient("mallory", "x", "CONTOSO").authenticate(srv.challenge()))


def test_replayed_token_for_other_challenge_fails():
    srv1, srv2 = server(), server()
    token = ntlm.NtlmClient("alice", "Passw0rd!", "CONTOSO").authenticate(srv1.challenge())
    srv2.challenge()
    with pytest.raises(ntlm.NtlmError):
        srv2.authenticate(token)


def test_ntlmv1_and_garbage_refused():
    srv = server()
    nego = imp.NTLMAuthNegotiate()
    nego["flags"] = imp.NTLMAuthChallenge(srv.challenge())["flags"] & ~ntlm.F_VERSION & ~ntlm.F_ESS
    t3, _ = imp.getNTLMSSPType3(nego, srv.challenge(), "alice", "Passw0rd!", "CONTOSO",
                                use_ntlmv2=False)
    with pytest.raises(ntlm.NtlmError, match="NTLMv1"):
        srv.authenticate(t3.getData())
    for junk in (b"", b"NTLMSSP\0\x03\0\0\0" + b"\xff" * 20, b"x" * 10000, b"NTLMSSP\0\x01\0\0\0"):
        with pytest.raises(ntlm.NtlmError):
            server().authenticate(junk)


def test_gss_ntlmssp_client(tmp_path):
    gssapi = pytest.importorskip("gssapi")
    import gssapi.raw as gr
    mech = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
    try:
        cred = gr.acquire_cred_with_password(gssapi.Name("CONTOSO\\alice", gssapi.NameType.user),
                                             b"Passw0rd!", usage="initiate", mechs=[mech]).creds
    except gssapi.exceptions.GSSError as e:
        pytest.fail(f"gss-ntlmssp not usable: {e}")
    ini = gssapi.SecurityContext(
        name=gssapi.Name("sip@pool1.contoso.test", gssapi.NameType.hostbased_service),
        creds=cred, usage="initiate", mech=mech)
    ini.step()  # NEGOTIATE: connectionless NTLM has none, the server speaks first
    srv = server()
    token = ini.step(srv.challenge())
    assert srv.authenticate(token) == ("CONTOSO", "alice")
    key = bytes(gr.inquire_sec_context_by_oid(
        ini, gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5"))[0])
    assert key == srv.session.exported
    # gss-ntlmssp signs connection-oriented (seq 0, one RC4 stream): check the first MIC
    # both ways with our MAC primitive in that mode
    s = srv.session
    msg = b"<NTLM><5f0c1a22><1><SIP Communications Service><pool1.contoso.test>"
    assert hmac.compare_digest(ini.get_signature(msg),
                               ntlm.mac(s.flags, s.client_sign, s.client_seal, msg, 0, datagram=False))
    ini.verify_signature(b"reply", ntlm.mac(s.flags, s.server_sign, s.server_seal, b"reply", 0,
                                            datagram=False))
