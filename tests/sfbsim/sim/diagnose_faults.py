# SPDX-License-Identifier: LGPL-2.1-or-later
"""Control actions for the deployment faults `sfbctl diagnose` finds (its authentication,
redirection and settings stages):

  set_clock_skew(seconds=0)   the server clock is `seconds` off the real one (negative:
                              behind): the Date header of every registrar 401 and of every
                              HTTP(S) answer (autodiscover, web ticket, provisioning) says so.
  set_redirect(registrar, to=None, before_auth=False)
                              `registrar` (a pool or the Director, by name) answers every
                              authenticated REGISTER with a 301 to registrar `to`, the user's
                              own home pool included; pool1 -> pool2 while pool2 sends users
                              homed on pool1 back makes a redirect loop.  before_auth=True:
                              every REGISTER without credentials instead (a Director that
                              redirects before authenticating).  None: as the deployment says.
  set_tls_handshake_timeout(seconds=10)
                              the registrars drop a new connection that has not finished its
                              TLS handshake within `seconds` (a stricter server, or a client
                              that waits too long before its handshake).
  reset_diagnose_faults()     all back to normal.

Certificate provisioning refusing is certprov's set_provisioning(up=False, status=...).
"""

import email.utils
import time

from . import control

_SKEW = "diagnose_clock_skew"
_REDIRECTS = "diagnose_redirects"
_PREAUTH_REDIRECTS = "diagnose_preauth_redirects"
_HANDSHAKE_TIMEOUT = "diagnose_tls_handshake_timeout"


def http_date(sim):
    """The Date header value of a server answer, with the scenario's clock skew."""
    skew = getattr(sim, _SKEW, 0)
    return email.utils.formatdate(time.time() + skew, usegmt=True)


def redirect_target(sim, registrar, before_auth=False):
    """The registrar `registrar` must redirect every user to (set_redirect), else None;
    before_auth: for a REGISTER without credentials."""
    to = getattr(sim, _PREAUTH_REDIRECTS if before_auth else _REDIRECTS, {}).get(registrar.name)
    return sim.registrars.get(to) if to else None


def tls_handshake_timeout(sim, default):
    """Seconds a registrar waits for a new connection's TLS handshake."""
    return getattr(sim, _HANDSHAKE_TIMEOUT, None) or default


@control.action("set_clock_skew")
def _set_clock_skew(sim, seconds=0):
    setattr(sim, _SKEW, int(seconds))
    sim.log.note(f"server clocks {int(seconds):+d} s off (control)")
    return int(seconds)


@control.action("set_redirect")
def _set_redirect(sim, registrar, to=None, before_auth=False):
    if registrar not in sim.registrars:
        raise ValueError(f"no registrar {registrar!r}")
    if to is not None and to not in sim.registrars:
        raise ValueError(f"no registrar {to!r}")
    name = _PREAUTH_REDIRECTS if before_auth else _REDIRECTS
    redirects = getattr(sim, name, {})
    setattr(sim, name, redirects)
    if to is None:
        redirects.pop(registrar, None)
    else:
        redirects[registrar] = to
    return dict(redirects)


@control.action("set_tls_handshake_timeout")
def _set_tls_handshake_timeout(sim, seconds=10):
    if not 0 < float(seconds) <= 600:
        raise ValueError("seconds must be in (0, 600]")
    setattr(sim, _HANDSHAKE_TIMEOUT, float(seconds))
    sim.log.note(f"registrars wait {float(seconds):g} s for a TLS handshake (control)")
    return float(seconds)


@control.action("reset_diagnose_faults")
def _reset_diagnose_faults(sim):
    setattr(sim, _SKEW, 0)
    setattr(sim, _REDIRECTS, {})
    setattr(sim, _PREAUTH_REDIRECTS, {})
    setattr(sim, _HANDSHAKE_TIMEOUT, None)
