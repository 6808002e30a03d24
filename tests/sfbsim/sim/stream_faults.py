# SPDX-License-Identifier: LGPL-2.1-or-later
"""Control actions for faults of the SIP stream and of registration answers.

  go_silent(user=None)        the user's (or every) registrar connection stops reading and
                              answering, without FIN or RST: a server that hangs, a path that
                              black-holes.  Keep-alives get no pong, requests no answer.
  send_partial(user=None, content_length=4000000, sent=10)
                              writes the head of a NOTIFY announcing `content_length` body
                              bytes and only `sent` of them: the stream stalls inside a
                              message, everything after it is swallowed.
  set_registrar_options(expires_header=True)
                              expires_header=False: the 200 to REGISTER has no Expires header,
                              the granted time is only in the client's Contact (expires=N).
                              Also `[registrar] expires_header = false` in a scenario.

Returns the number of connections affected (go_silent, send_partial).
"""

from . import control
from .sipmsg import normalize_aor


def _connections(sim, user):
    aor = None
    if user is not None:
        u = sim.user(user)
        if u is None:
            raise ValueError(f"no user {user!r}")
        aor = normalize_aor(u["uri"])
    return [c for r in sim.registrars.values() for c in list(r.conns)
            if not c.closed and (aor is None or c.serves(aor))]


@control.action("go_silent")
def _go_silent(sim, user=None):
    conns = _connections(sim, user)
    for c in conns:
        c.silent = True
        sim.log.note(f"{c.local}: connection from {c.peer} goes silent (control)")
    return len(conns)


@control.action("send_partial")
def _send_partial(sim, user=None, content_length=4000000, sent=10):
    content_length, sent = int(content_length), int(sent)
    if not 0 <= sent < content_length:
        raise ValueError("need 0 <= sent < content_length")
    conns = _connections(sim, user)
    for c in conns:
        head = (f"NOTIFY sip:{c.peer} SIP/2.0\r\n"
                f"Via: SIP/2.0/TLS {c.local};branch=z9hG4bKstall{c.cid}\r\n"
                f"From: <sip:{c.registrar.fqdn}>;tag=stall\r\n"
                f"To: <sip:{c.peer}>\r\n"
                f"Call-ID: stall-{c.cid}\r\n"
                f"CSeq: 1 NOTIFY\r\n"
                f"Event: registration-notify\r\n"
                f"Content-Type: text/plain\r\n"
                f"Content-Length: {content_length}\r\n\r\n")
        c.sender.write(head.encode() + b"x" * sent)
        sim.log.note(f"{c.local}: sent {sent} of {content_length} body bytes to {c.peer} "
                     "and stalled (control)")
    return len(conns)


@control.action("set_registrar_options")
def _set_registrar_options(sim, expires_header=True):
    opts = sim.scenario.data.setdefault("registrar", {})
    opts["expires_header"] = bool(expires_header)
    return dict(opts)
