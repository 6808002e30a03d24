# SPDX-License-Identifier: LGPL-2.1-or-later
"""Base class of the integration tests that sign the real sfbd in to sfbsim.

The module's sfbsim is sim_fixture's (started by the test module's setUpModule, inside
build-aux/testnet); each test gets SfbdTestCase's own bus and sfbd.  Import this after
sim_fixture.enter_testnet(__file__), like sfbd_testcase."""

import sim_fixture
from gi.repository import GLib

from sfbd_testcase import ACCOUNT, SfbdTestCase

SIM = sim_fixture.SIM
DIRECTOR = "director.contoso.test"
# the users' passwords in tests/sfbsim/scenarios/default.toml (exchange.toml keeps them)
PASSWORDS = {"alice": "Passw0rd!", "bob": "Secr3t-Bob"}


def string(value):
    return GLib.Variant("s", value)


def kerberos_env(tmp):
    """The environment for sfbd to use sfbsim's realm and KDC: its krb5.conf and a
    credential cache of the test's own, in `tmp` (empty: nobody ran kinit)."""
    return {"KRB5_CONFIG": SIM["env"]["SFBSIM_KRB5_CONFIG"], "KRB5CCNAME": f"FILE:{tmp}/krb5cc"}


def account_settings(user="alice", server=DIRECTOR):
    """The Configure() settings of `user` (sip:USER@contoso.test, CONTOSO\\USER) signing in
    through `server` (None: sfbd discovers it), trusting sfbsim's CA, the password kept in
    a file."""
    settings = {"Account.Uri": string(f"sip:{user}@contoso.test"),
                "Account.Login": string(f"CONTOSO\\{user}"),
                "TLS.CAFile": string(SIM["env"]["SFBSIM_CA_FILE"]),
                "Secrets.Store": string("file")}
    if server is not None:
        settings["Account.Server"] = string(server)
    return settings


class SimTestCase(SfbdTestCase):
    """A test against sfbsim: before it, reset_sim() puts sfbsim back and its connections
    are dropped (again at teardown); self.ctl is sfbsim's SimControl."""

    def setUp(self):
        self.ctl = SIM["ctl"]
        self.reset_sim()
        self.ctl.drop_connections()
        super().setUp()
        # the sfbsim running then: a test may have started a new one
        self.addCleanup(lambda: SIM["ctl"].drop_connections())

    def reset_sim(self):
        """Puts back, before each test, what this class's tests change in sfbsim: here its
        services (SimControl.reset_services); a class resets more by overriding this."""
        self.ctl.reset_services()

    def configure_user(self, user="alice", password=None, server=DIRECTOR, target=None):
        """Configures `user`'s account (account_settings()) and password (default the
        scenario's, PASSWORDS) in this test's sfbd, or in `target` (a test_presence.Peer)."""
        target = target if target is not None else self
        target.configure(account_settings(user, server))
        target.call(ACCOUNT, "SetPassword",
                    (PASSWORDS[user] if password is None else password, True), "(sb)")

    def sign_in(self, user="alice", peer=None):
        """Signs `user` in to sfbsim through the Director with this test's sfbd, or with
        `peer`'s (a test_presence.Peer), and asserts it ends signed-in, failing with sfbd's
        LastErrorMessage otherwise."""
        target = peer if peer is not None else self
        self.configure_user(user, target=target)
        target.call(ACCOUNT, "SignIn")
        self.wait_for_value(lambda: target.get_property(ACCOUNT, "State"),
                            lambda state: state in ("signed-in", "failed"), f"{user} signed-in")
        self.assertEqual(target.get_property(ACCOUNT, "State"), "signed-in",
                         target.get_property(ACCOUNT, "LastErrorMessage"))
