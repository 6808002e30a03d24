# SPDX-License-Identifier: LGPL-2.1-or-later
"""DNS for the scenario's domain (dnslib), on UDP and TCP, with injectable faults.

sfbd resolves through GLib's GThreadedResolver, which reads the namespace's resolv.conf
(build-aux/testnet points it at 127.0.0.1), so this server is what discovery sees:
A records for every host name, SRV _sipinternaltls._tcp and _sip._tls.  Names under the
domain that do not exist get NXDOMAIN; existing names asked for another type (AAAA) get an
empty NOERROR, as a real zone answers.

Faults (control action dns_fault) apply to all names or a list of names:
  nxdomain  answer NXDOMAIN          servfail  answer SERVFAIL
  noanswer  NOERROR without records  slow      answer after delay_ms (default 3000)
  drop      never answer             address   A queries get `address` instead (IPv4), other
                                               types an empty NOERROR: a name moved elsewhere
"""

import asyncio
import ipaddress
import struct

from dnslib import QTYPE, RCODE, RR, SRV, A, DNSRecord

FAULT_MODES = ("nxdomain", "servfail", "noanswer", "slow", "drop", "address")
MAX_TCP_MESSAGE = 4096


def fqdn(name):
    return name.lower().rstrip(".") + "."


class Zone:
    def __init__(self, scenario):
        self.domain = fqdn(scenario.domain)
        self.ttl = int(scenario.data["dns"]["ttl"])
        self.a = {fqdn(n): addr for n, addr in scenario.host_addresses().items()}
        self.srv = {}
        for name, prio, weight, port, target in scenario.srv_records():
            self.srv.setdefault(fqdn(name), []).append((prio, weight, port, fqdn(target)))
        self.names = set(self.a) | set(self.srv) | {self.domain}


class DnsServer:
    def __init__(self, sim, address, port=53):
        self.sim = sim
        self.address, self.port = address, port
        self.zone = Zone(sim.scenario)
        self.faults = []  # dicts: mode, names (set or None), delay_ms, count
        self._udp = self._tcp = None

    # faults ------------------------------------------------------------------------
    def add_fault(self, mode, names=None, delay_ms=3000, count=None, address=None):
        if mode not in FAULT_MODES:
            raise ValueError(f"DNS fault mode must be one of {FAULT_MODES}")
        if mode == "address":
            try:
                address = str(ipaddress.IPv4Address(address))
            except ValueError:
                raise ValueError(f"mode address needs an IPv4 address, not {address!r}")
        if isinstance(names, str):
            names = [names]
        self.faults.append({"mode": mode, "names": {fqdn(n) for n in names} if names else None,
                            "delay_ms": delay_ms, "count": count, "address": address})

    def clear_faults(self):
        self.faults.clear()

    def _fault_for(self, qname):
        for f in self.faults:
            if f["names"] is None or qname in f["names"]:
                if f["count"] is not None:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self.faults.remove(f)
                return f
        return None

    # answers -----------------------------------------------------------------------
    def answer(self, data):
        """(reply bytes or None for no reply, extra delay s) for a query."""
        try:
            req = DNSRecord.parse(data)
        except Exception:  # dnslib raises DNSError and assorted parse errors
            return None, 0
        if not req.questions:
            return None, 0
        q = req.q
        qname = fqdn(str(q.qname))
        qtype = QTYPE.get(q.qtype, str(q.qtype))
        self.sim.counters.bump("dns_queries", f"{qname.rstrip('.')} {qtype}")
        reply = req.reply()
        extra = 0.0
        fault = self._fault_for(qname)
        if fault:
            mode = fault["mode"]
            self.sim.log.note(f"DNS {qname} {qtype}: fault {mode}")
            if mode == "drop":
                return None, 0
            if mode == "nxdomain":
                reply.header.rcode = RCODE.NXDOMAIN
                return reply.pack(), 0
            if mode == "servfail":
                reply.header.rcode = RCODE.SERVFAIL
                return reply.pack(), 0
            if mode == "noanswer":
                return reply.pack(), 0
            if mode == "address":
                if qtype in ("A", "ANY"):
                    reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(fault["address"]),
                                        ttl=self.zone.ttl))
                return reply.pack(), 0
            extra = fault["delay_ms"] / 1000.0
        z = self.zone
        # Names match case-insensitively, but the answer's owner name is the question's
        # spelling (as a real server's compression pointer to the question makes it), so
        # resolvers that randomise the case (0x20) accept it.
        owner = q.qname
        if qtype in ("A", "ANY") and qname in z.a:
            reply.add_answer(RR(owner, QTYPE.A, rdata=A(z.a[qname]), ttl=z.ttl))
        if qtype in ("SRV", "ANY") and qname in z.srv:
            for prio, weight, port, target in z.srv[qname]:
                reply.add_answer(RR(owner, QTYPE.SRV, rdata=SRV(prio, weight, port, target),
                                    ttl=z.ttl))
                if target in z.a:
                    reply.add_ar(RR(target, QTYPE.A, rdata=A(z.a[target]), ttl=z.ttl))
        if not reply.rr and qname not in z.names:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply.pack(), extra

    # serving -----------------------------------------------------------------------
    async def start(self):
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, addr):
                out, extra = server.answer(data)
                if out is not None:
                    delay = server.sim.delay + extra
                    if delay > 0:
                        loop.call_later(delay, self._send, out, addr)
                    else:
                        self._send(out, addr)

            def _send(self, out, addr):
                if not self.transport.is_closing():
                    self.transport.sendto(out, addr)

        self._udp, _ = await loop.create_datagram_endpoint(
            Udp, local_addr=(self.address, self.port), reuse_port=False)
        self._tcp = await asyncio.start_server(self._tcp_client, self.address, self.port)

    async def _tcp_client(self, reader, writer):
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), 10)
                (n,) = struct.unpack("!H", head)
                if n > MAX_TCP_MESSAGE:
                    break
                data = await asyncio.wait_for(reader.readexactly(n), 10)
                out, extra = self.answer(data)
                if out is None:
                    continue
                await asyncio.sleep(self.sim.delay + extra)
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def stop(self):
        if self._udp:
            self._udp.close()
        if self._tcp:
            self._tcp.close()
            await self._tcp.wait_closed()
