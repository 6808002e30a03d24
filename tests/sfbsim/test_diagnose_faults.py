# SPDX-License-Identifier: LGPL-2.1-or-later
"""The control actions of sim/diagnose_faults.py (and set_provisioning's status), as a client
sees them: a skewed server Date, a forced 301 that makes two pools a loop, provisioning
refusing with a status."""

import email.utils
import time

import pytest

from sim.sipmsg import NameAddr
from test_tlsdsk import Https

pytestmark = pytest.mark.usefixtures("netns")


def date_offset(value):
    return email.utils.parsedate_to_datetime(value).timestamp() - time.time()


def test_clock_skew_moves_the_date_of_401s_and_http_answers(simrun, make_client, registrar,
                                                            ctl, sim):
    c = make_client("alice")
    assert ctl.set_clock_skew(seconds=-600) == -600

    async def flow():
        await c.connect(*registrar("pool1"))
        r = await c.register_once()
        assert r.code == 401
        assert date_offset(r.get("Date")) == pytest.approx(-600, abs=5)
    simrun(flow())
    conn = Https(sim, "pool1.contoso.test")
    status, headers, _ = conn.request("GET", "/WebTicket/WebTicketService.svc/mex")
    conn.close()
    assert status == 200
    assert date_offset(headers["Date"]) == pytest.approx(-600, abs=5)
    ctl.reset_diagnose_faults()
    conn = Https(sim, "pool1.contoso.test")
    status, headers, _ = conn.request("GET", "/WebTicket/WebTicketService.svc/mex")
    conn.close()
    assert date_offset(headers["Date"]) == pytest.approx(0, abs=5)


def test_forced_redirects_loop_between_two_pools(simrun, make_client, registrar, ctl):
    assert ctl.set_redirect(registrar="pool1", to="pool2") == {"pool1": "pool2"}
    c = make_client("alice")

    async def flow():
        seen = []
        for name in ("pool1", "pool2", "pool1"):
            await c.connect(*registrar(name))
            r = await c.authenticate()
            assert r.code == 301, r.code
            seen.append(NameAddr.parse(r.get("Contact")).uri)
            await c.close()
        return seen
    assert simrun(flow()) == ["sip:pool2.contoso.test:5061;transport=tls",
                              "sip:pool1.contoso.test:5061;transport=tls",
                              "sip:pool2.contoso.test:5061;transport=tls"]
    with pytest.raises(Exception, match="no registrar"):
        ctl.set_redirect(registrar="pool9", to="pool1")
    assert ctl.set_redirect(registrar="pool1") == {}


def test_provisioning_refuses_with_a_status(ctl, sim):
    ctl.set_provisioning(up=False, status=403)
    conn = Https(sim, "pool1.contoso.test")
    status, headers, _ = conn.request("GET", "/CertProv/CertProvisioningService.svc/mex")
    conn.close()
    assert status == 403
    assert "28099" in headers["X-Ms-diagnostics"]
    with pytest.raises(Exception, match="400-599"):
        ctl.set_provisioning(up=False, status=200)
