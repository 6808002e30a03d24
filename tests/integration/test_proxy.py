# SPDX-License-Identifier: LGPL-2.1-or-later
"""Proxies (docs/architecture.md, "Proxies"): with a proxy variable set, the sign-in's
HTTP requests and its SIP connection go through the proxy, by GIO's default proxy
resolver; with nothing configuring a proxy, sfbd connects directly without loading that
resolver's modules (libproxy and its C++ runtime, the GNOME resolver).

The proxy is the test's own: it answers CONNECT (the only method a TLS client sends
it), resolves the name inside the test network and relays the bytes both ways."""

import os
import socket
import threading
import unittest

import sim_fixture

sim_fixture.enter_testnet(__file__)  # testnet needs root; without it the test fails

from sim_testcase import SimTestCase  # noqa: E402

PROXY_MODULES = ("libproxy.so", "libgiolibproxy.so", "libgiognomeproxy.so")
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ftp_proxy",
                   "FTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
                   "DESKTOP_SESSION", "GNOME_DESKTOP_SESSION_ID", "KDE_FULL_SESSION",
                   "PX_MODULE_PATH", "GIO_USE_PROXY_RESOLVER")
MAX_REQUEST = 8192  # bytes of a CONNECT request and its headers


def setUpModule():
    sim_fixture.start("proxy")


def tearDownModule():
    sim_fixture.stop()


def proxy_modules(pid):
    """The files of GIO's proxy resolver modules mapped into pid."""
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
        names = {os.path.basename(line.split(None, 5)[5].strip())
                 for line in f if len(line.split(None, 5)) > 5}
    return sorted(n for n in names if n.startswith(PROXY_MODULES))


class ConnectProxy:
    """An HTTP proxy on 127.0.0.1 that tunnels CONNECT requests; `targets` lists each
    request's host:port."""

    def __init__(self):
        self.targets = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client):
        with client:
            request = b""
            while b"\r\n\r\n" not in request and len(request) < MAX_REQUEST:
                data = client.recv(1024)
                if not data:
                    return
                request += data
            method, target = request.split(b" ", 2)[:2]
            host, _, port = target.decode().rpartition(":")
            if method != b"CONNECT" or not port.isdigit():
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                return
            self.targets.append(target.decode())
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                return
            with upstream:
                upstream.settimeout(None)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                threading.Thread(target=self._relay, args=(upstream, client),
                                 daemon=True).start()
                self._relay(client, upstream)

    @staticmethod
    def _relay(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class ProxyTest(SimTestCase):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        for name in PROXY_VARIABLES:
            self.env.pop(name, None)

    def test_no_proxy_configured_connects_directly_without_the_resolver(self):
        """Neither a proxy variable nor a desktop session: signed in, and none of GIO's
        proxy resolver modules mapped (docs/benchmarks.md, "Proxies and PSS")."""
        process = self.start_daemon()
        self.sign_in()
        self.assertEqual(proxy_modules(process.pid), [])

    def test_proxy_variable_tunnels_http_and_sip_through_the_proxy(self):
        """http_proxy and https_proxy set: the SIP connections (Director, then home pool)
        and the HTTPS requests after the sign-in (Exchange's autodiscover) are CONNECTs
        through the proxy, and the sign-in ends signed in."""
        proxy = ConnectProxy()
        self.addCleanup(proxy.close)
        self.env["http_proxy"] = self.env["https_proxy"] = f"http://127.0.0.1:{proxy.port}"
        process = self.start_daemon()
        self.sign_in()
        self.assertTrue(any(t.endswith(":5061") for t in proxy.targets), proxy.targets)
        self.wait_for(lambda: any(t.endswith(":443") for t in proxy.targets),
                      "an HTTPS request through the proxy")
        self.assertNotEqual(proxy_modules(process.pid), [])

    def test_desktop_session_asks_gio_resolver(self):
        """A desktop session (XDG_CURRENT_DESKTOP) whose settings may name a proxy: GIO's
        resolver is asked (its modules mapped); here it says direct, and sfbd signs in."""
        self.env["XDG_CURRENT_DESKTOP"] = "X-Test"
        process = self.start_daemon()
        self.sign_in()
        self.assertNotEqual(proxy_modules(process.pid), [])


if __name__ == "__main__":
    unittest.main()
