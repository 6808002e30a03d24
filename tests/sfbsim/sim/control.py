# SPDX-License-Identifier: LGPL-2.1-or-later
"""Control interface: fault injection and counters, over a Unix socket in the workdir.

Protocol: one JSON object per line each way.  Request `{"action": NAME, ...params}`, answer
`{"ok": true, "result": ...}` or `{"ok": false, "error": "..."}`.  Tests use SimControl:

    ctl = SimControl(workdir)
    ctl.drop_connections(user="alice")
    ctl.call("set_presence", user="bob", availability=6500)   # an action services.py added

Actions are plain functions `fn(sim, **params)` (sync or async) registered with @action(name);
sim/services.py registers its own the same way.  The built-in ones live in core.py (they need
the Sim's internals); list them with `ctl.actions()`.
"""

import asyncio
import inspect
import json
import os
import socket

#: name -> function(sim, **params)
ACTIONS = {}

MAX_LINE = 256 * 1024


def action(name):
    """Decorator: register fn(sim, **params) as control action `name`."""
    def register(fn):
        ACTIONS[name] = fn
        return fn
    return register


class ControlError(RuntimeError):
    """The simulator refused or failed an action."""


async def dispatch(sim, request):
    """Run one decoded request; returns the answer dict."""
    if not isinstance(request, dict) or not isinstance(request.get("action"), str):
        return {"ok": False, "error": "request must be an object with a string 'action'"}
    params = dict(request)
    name = params.pop("action")
    fn = ACTIONS.get(name)
    if fn is None:
        return {"ok": False, "error": f"unknown action {name!r}"}
    try:
        result = fn(sim, **params)
        if inspect.isawaitable(result):
            result = await result
        return {"ok": True, "result": result}
    except TypeError as e:  # wrong or missing parameters
        return {"ok": False, "error": f"{name}: {e}"}
    except (ValueError, KeyError, LookupError, RuntimeError) as e:
        return {"ok": False, "error": f"{name}: {e}"}


class ControlServer:
    """Serves the control socket for one Sim."""

    def __init__(self, sim, path):
        self.sim, self.path = sim, path
        self.server = None

    async def start(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.server = await asyncio.start_unix_server(self._client, self.path, limit=MAX_LINE)
        os.chmod(self.path, 0o600)

    async def stop(self):
        if self.server:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    async def _client(self, reader, writer):
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    break  # over MAX_LINE: drop the client
                if not line:
                    break
                try:
                    req = json.loads(line)
                except ValueError as e:
                    answer = {"ok": False, "error": f"bad JSON: {e}"}
                else:
                    answer = await dispatch(self.sim, req)
                writer.write(json.dumps(answer, default=str).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


class SimControl:
    """Synchronous client for tests and scripts.

    SimControl(workdir) or SimControl(path_to_socket).  Every call opens a short connection,
    so it is safe from any thread.  Unknown attributes are actions:
    ctl.deregister(user="alice", event="rejected") == ctl.call("deregister", ...)."""

    def __init__(self, where, timeout=30.0):
        self.path = os.path.join(where, "control.sock") if os.path.isdir(where) else where
        self.timeout = timeout

    def call(self, action_name, /, **params):
        """Run one action; params may include any name (`name=` for set_dialplan too)."""
        req = dict(params, action=action_name)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(self.timeout)
            s.connect(self.path)
            s.sendall(json.dumps(req).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    raise ControlError("control socket closed without an answer")
                buf += chunk
        answer = json.loads(buf)
        if not answer.get("ok"):
            raise ControlError(answer.get("error", "failed"))
        return answer.get("result")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda **params: self.call(name, **params)  # name is positional-only in call
