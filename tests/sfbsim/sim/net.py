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


def set_linger_zero(transport):
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass


def nodelay(transport):
    """TCP_NODELAY: every SIP message leaves at once (protocol.md §17.15)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def peer_str(transport):
    p = transport.get_extra_info("peername")
    return f"{p[0]}:{p[1]}" if p else "?"
