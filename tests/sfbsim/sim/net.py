# SPDX-License-Identifier: LGPL-2.1-or-later
"""Network helpers shared by the DNS, web and SIP servers.

DelayedSender implements --one-way-delay-ms: every byte sfbsim sends leaves `delay` seconds
after it was written, in order, so a client sees a real round-trip time without netem (which
this kernel lacks, environment.md §4).  The delay is read from the Sim at each write, so the
control action set_delay takes effect at once.
"""

import asyncio
import socket
import struct
from asyncio import sslproto


class DelayedSender:
    """Writes to an asyncio transport after the Sim's one-way delay, keeping order."""

    def __init__(self, transport, get_delay):
        self.transport = transport
        self.get_delay = get_delay
        self._last = 0.0
        self.closing = False

    def _due(self):
        loop = asyncio.get_running_loop()
        due = max(loop.time() + self.get_delay(), self._last + 1e-6)
        self._last = due
        return loop, due

    def write(self, data):
        if self.closing or self.transport.is_closing():
            return
        if self.get_delay() <= 0 and self._last <= asyncio.get_running_loop().time():
            self.transport.write(data)
            return
        loop, due = self._due()
        loop.call_at(due, self._write_now, data)

    def _write_now(self, data):
        if not self.transport.is_closing():
            self.transport.write(data)

    def close(self):
        """Close once everything written so far has left."""
        if self.closing:
            return
        self.closing = True
        loop = asyncio.get_running_loop()
        if self._last > loop.time():
            loop.call_at(self._last + 1e-6, self.transport.close)
        else:
            self.transport.close()

    def abort(self, reset=False):
        """Drop now.  reset=True makes the kernel send RST (SO_LINGER 0) instead of FIN."""
        self.closing = True
        if reset:
            set_linger_zero(self.transport)
        self.transport.abort()


class _DelayedRawTransport:
    """The TCP transport under a TLS server connection, with every write delayed (TLS
    handshake records included, so a handshake costs its round trips).  The first bytes
    leave no sooner than two delays after the accept: one for the TCP handshake the kernel
    answered at once (client-speaks-first protocols cannot tell the difference), one for
    the client's first flight."""

    _start_tls_compatible = True

    def __init__(self, transport, get_delay):
        self._transport = transport
        self._sender = DelayedSender(transport, get_delay)
        delay = get_delay()
        if delay > 0:
            self._sender._last = asyncio.get_running_loop().time() + 2 * delay - 1e-6

    def write(self, data):
        self._sender.write(data)

    def writelines(self, chunks):
        self._sender.write(b"".join(chunks))

    def close(self):
        self._sender.close()

    def abort(self):
        self._sender.abort()

    def __getattr__(self, name):
        return getattr(self._transport, name)


class DelayedTlsServerProtocol(sslproto.SSLProtocol):
    """asyncio's TLS server protocol over a _DelayedRawTransport; `on_accept(transport)` (if
    given) sees the raw TCP transport (for counters)."""

    def __init__(self, app_protocol, ssl_context, get_delay, handshake_timeout, on_accept=None):
        super().__init__(asyncio.get_running_loop(), app_protocol, ssl_context, None,
                         server_side=True, ssl_handshake_timeout=handshake_timeout)
        self._get_delay = get_delay
        self._on_accept = on_accept

    def connection_made(self, transport):
        if self._on_accept is not None:
            self._on_accept(transport)
        super().connection_made(_DelayedRawTransport(transport, self._get_delay))


def tls_session_kind(transport):
    """"full TLSv1.2", "resumed TLSv1.3", ... for a TLS transport after its handshake, None
    without TLS."""
    obj = transport.get_extra_info("ssl_object")
    if obj is None:
        return None
    return f"{'resumed' if obj.session_reused else 'full'} {obj.version()}"


def set_linger_zero(transport):
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass


def nodelay(transport):
    """TCP_NODELAY: every SIP message leaves at once (docs/protocol.md §17.15)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def peer_str(transport):
    p = transport.get_extra_info("peername")
    return f"{p[0]}:{p[1]}" if p else "?"
