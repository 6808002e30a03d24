#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private, headless PipeWire + WirePlumber with virtual devices.

Devices, all created from the PipeWire configuration so that they exist before
WirePlumber chooses the defaults:
  test-sink  Audio/Sink            "Test Sink"  (null sink, stereo)
  test-mic   Audio/Source/Virtual  "Test Mic"   (null sink as a source, mono)
  test-cam   Video/Source          "Test Cam"   (SPA videotestsrc)

As a library (the integration tests):
    pw = PipeWireEnv(runtime_dir, env)   # env: DBUS_SESSION_BUS_ADDRESS, XDG_*
    pw.start(); ...; pw.stop()
As a command (build-aux/run-demo), DIR is created if needed:
    pipewire_env.py start DIR    prints `export NAME=VALUE` lines for a shell
    pipewire_env.py stop DIR

It needs a session bus (WirePlumber uses it) and the Debian packages pipewire,
pipewire-bin, wireplumber and libspa-0.2-modules.  A plain Audio/Source null
sink is avoided on purpose: WirePlumber 0.4 never activates one and then links
nothing else, so the microphone is Audio/Source/Virtual.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

DEVICES = {
    "audio-output": "test-sink",
    "audio-input": "test-mic",
    "video-input": "test-cam",
}

# Debian's pipewire.conf leaves videotestsrc commented out; this one is
# minimal: no ALSA, no RT, no D-Bus in the daemon itself.
PIPEWIRE_CONF = """
context.properties = {
    core.daemon = true
    core.name = pipewire-0
    support.dbus = false
    mem.allow-mlock = false
    default.clock.min-quantum = 16
}
context.spa-libs = {
    audio.convert.* = audioconvert/libspa-audioconvert
    support.* = support/libspa-support
    videotestsrc = videotestsrc/libspa-videotestsrc
}
context.modules = [
    { name = libpipewire-module-protocol-native }
    { name = libpipewire-module-metadata }
    { name = libpipewire-module-spa-device-factory }
    { name = libpipewire-module-spa-node-factory }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-client-device }
    { name = libpipewire-module-access args = { } }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-link-factory }
    { name = libpipewire-module-session-manager }
]
context.objects = [
    { factory = spa-node-factory
      args = { factory.name = support.node.driver node.name = Dummy-Driver
               node.group = pipewire.dummy priority.driver = 20000 } }
    { factory = adapter
      args = { factory.name = support.null-audio-sink node.name = test-sink
               node.description = "Test Sink" media.class = Audio/Sink
               audio.position = [ FL FR ] monitor.channel-volumes = true } }
    { factory = adapter
      args = { factory.name = support.null-audio-sink node.name = test-mic
               node.description = "Test Mic" media.class = Audio/Source/Virtual
               audio.position = [ MONO ] } }
    { factory = spa-node-factory
      args = { factory.name = videotestsrc node.name = test-cam
               node.description = "Test Cam" media.class = Video/Source } }
]
"""

TIMEOUT = 10


class PipeWireError(RuntimeError):
    pass


def _alive(process):
    return process is not None and process.poll() is None


class PipeWireEnv:
    """PipeWire and WirePlumber for one test, with their socket in runtime_dir."""

    def __init__(self, runtime_dir, env, log_dir=None):
        for tool in ("pipewire", "wireplumber", "pw-cli", "pw-metadata"):
            if shutil.which(tool) is None:
                raise PipeWireError(f"{tool} is missing (build-aux/install-deps installs it)")
        self.runtime_dir = runtime_dir
        self.log_dir = log_dir or runtime_dir
        self.conf_path = os.path.join(self.log_dir, "pipewire.conf")
        with open(self.conf_path, "w", encoding="utf-8") as conf:
            conf.write(PIPEWIRE_CONF)
        # GLib debugging of the test must not reach WirePlumber (a GLib program)
        self.env = {key: value for key, value in env.items()
                    if not key.startswith(("G_DEBUG", "G_MESSAGES_DEBUG", "PIPEWIRE_"))}
        self.env.update({"XDG_RUNTIME_DIR": runtime_dir, "PIPEWIRE_RUNTIME_DIR": runtime_dir})
        self.pipewire = None
        self.wireplumber = None
        self.watcher = None
        self.watched = {}
        self.starts = 0

    @property
    def socket(self):
        return os.path.join(self.runtime_dir, "pipewire-0")

    def _spawn(self, name, args):
        self.starts += 1
        log_path = os.path.join(self.log_dir, f"{name}-{self.starts}.log")
        with open(log_path, "w", encoding="utf-8") as log:
            return subprocess.Popen(args, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def _wait(self, what, predicate, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            for process in (self.pipewire, self.wireplumber):
                if process is not None and process.poll() is not None:
                    raise PipeWireError(f"{process.args[0]} exited with status "
                                        f"{process.returncode} (logs in {self.log_dir})")
            time.sleep(0.05)
        raise PipeWireError(f"timed out waiting for {what} (logs in {self.log_dir})")

    def run_tool(self, *args, check=True):
        """Runs pw-cli, pw-metadata or wpctl against this PipeWire; returns stdout."""
        result = subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                                timeout=TIMEOUT, check=False)
        if check and result.returncode != 0:
            raise PipeWireError(f"{' '.join(args)} failed ({result.returncode}): "
                                f"{result.stderr.strip()}")
        return result.stdout

    def default(self, key):
        """The value of a key of the "default" metadata, as text ('' if unset),
        read by a one-shot pw-metadata: only once the metadata exists (see
        start())."""
        out = self.run_tool("pw-metadata", "-n", "default", "0", key, check=False)
        for line in out.splitlines():
            if f"key:'{key}'" in line:
                return line
        return ""

    def start(self, wait_for_defaults=True):
        """Starts PipeWire, then WirePlumber; returns once the defaults are chosen.

        The defaults are read by one `pw-metadata -m` started before
        WirePlumber and kept until stop(), never by short-lived clients: in
        PipeWire 0.3.65 a client that binds the "default" metadata and
        disconnects before WirePlumber has answered the bind (PipeWire pings
        WirePlumber for each bind) leaves module-metadata counting a bind in
        progress for ever, and from then on it forwards no change of that
        metadata to the clients already bound: sfbd would never see a new
        default.  A one-shot `pw-metadata` can do that while WirePlumber
        creates the metadata: it quits on the reply to its first sync and
        binds the metadata announced just after it on its way out (see
        docs/testing.md).  Once the metadata exists, one-shot tools bind it
        before their last round trip, which waits for the answer.

        Without wait_for_defaults it returns once WirePlumber runs, with no
        watcher: use that while sfbd runs (a bind in progress while
        WirePlumber sets the defaults also keeps them from the clients
        already bound)."""
        self.pipewire = self._spawn("pipewire", ["pipewire", "-c", self.conf_path])
        self._wait("the PipeWire socket",
                   lambda: os.path.exists(self.socket)
                   and subprocess.run(["pw-cli", "info", "0"], env=self.env,
                                      capture_output=True, timeout=TIMEOUT,
                                      check=False).returncode == 0)
        if wait_for_defaults:
            self._start_watcher()
        self.wireplumber = self._spawn("wireplumber", ["wireplumber"])
        if not wait_for_defaults:
            return
        self._wait("WirePlumber's default devices",
                   lambda: all(name in self.watched.get(key, "") for key, name in (
                       ("default.audio.sink", "test-sink"),
                       ("default.audio.source", "test-mic"),
                       ("default.video.source", "test-cam"))))

    def _start_watcher(self):
        self.watched = {}
        self.watcher = subprocess.Popen(["pw-metadata", "-m", "-n", "default"], env=self.env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True,
                                        start_new_session=True)
        threading.Thread(target=self._read_watcher, args=(self.watcher, self.watched),
                         daemon=True).start()

    @staticmethod
    def _read_watcher(watcher, watched):
        # update: id:0 key:'default.audio.sink' value:'{"name":"test-sink"}' type:'...'
        for line in watcher.stdout:
            match = re.match(r"update: id:0 key:'([^']*)' value:'(.*)' type:", line)
            if match:
                watched[match.group(1)] = match.group(2)

    def release_watcher(self):
        """Stops the watcher, for a PipeWire that outlives this object.  A
        one-shot read first: WirePlumber answers binds in order, so once that
        read is answered the watcher's bind was too, and it leaves none in
        progress."""
        if _alive(self.watcher):
            self.default("default.audio.sink")
        self._stop_watcher()

    def _stop_watcher(self):
        if _alive(self.watcher):
            self.watcher.terminate()
            self.watcher.wait()
        self.watcher = None

    def stop(self):
        """Stops the watcher, WirePlumber and PipeWire (TERM, then KILL)."""
        self._stop_watcher()
        for process in (self.wireplumber, self.pipewire):
            if not _alive(process):
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.wireplumber = self.pipewire = None

    # ---- changes a user or the hardware would make ----

    def add_sink(self, name, description):
        """Hot-plugs a stereo null sink (object.linger keeps it after pw-cli)."""
        self.run_tool("pw-cli", "create-node", "adapter",
                      "{ factory.name=support.null-audio-sink node.name=%s "
                      "node.description=\"%s\" media.class=Audio/Sink object.linger=true "
                      "audio.position=[FL FR] }" % (name, description))

    def destroy(self, global_id):
        self.run_tool("pw-cli", "destroy", str(global_id))

    def set_default(self, kind_key, name):
        """Chooses a default as a user would: default.configured.* in WirePlumber."""
        self.run_tool("pw-metadata", "-n", "default", "0", f"default.configured.{kind_key}",
                      '{"name":"%s"}' % name, "Spa:String:JSON")

    def set_props(self, global_id, props):
        self.run_tool("pw-cli", "set-param", str(global_id), "Props", props)


def for_test(testcase):
    """A PipeWireEnv (not started) in an integration test's runtime directory,
    which the test's sfbd and tools see, stopped when the test is cleaned up."""
    runtime_dir = testcase.env["XDG_RUNTIME_DIR"]
    testcase.env["PIPEWIRE_RUNTIME_DIR"] = runtime_dir
    testcase.env.pop("PIPEWIRE_REMOTE", None)
    pw = PipeWireEnv(runtime_dir, testcase.env, log_dir=testcase._make_dir("pipewire"))
    testcase.addCleanup(pw.stop)
    return pw


# ---- command line, for build-aux/run-demo ----

def _pid_path(directory, name):
    return os.path.join(directory, f"{name}.pid")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        sys.stderr.write(__doc__)
        return 2
    directory = os.path.abspath(argv[2])
    if argv[1] == "start":
        os.makedirs(directory, mode=0o700, exist_ok=True)
        pw = PipeWireEnv(directory, dict(os.environ))
        try:
            pw.start()
        except PipeWireError as error:
            pw.stop()
            sys.stderr.write(f"pipewire_env: {error}\n")
            return 1
        pw.release_watcher()
        for name in ("pipewire", "wireplumber"):
            with open(_pid_path(directory, name), "w", encoding="utf-8") as pid_file:
                pid_file.write(f"{getattr(pw, name).pid}\n")
        print(f"export PIPEWIRE_RUNTIME_DIR='{directory}'")
        return 0
    for name in ("wireplumber", "pipewire"):
        try:
            with open(_pid_path(directory, name), encoding="utf-8") as pid_file:
                os.kill(int(pid_file.read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

