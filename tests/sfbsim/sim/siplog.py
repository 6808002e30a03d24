# SPDX-License-Identifier: LGPL-2.1-or-later
"""DIR/sip.log: every SIP message in and out, secrets redacted.

Tests and people read this log when a sign-in fails, so it shows whole messages; what it
hides are the values that would let someone replay or attack a session: NTLM tokens and
signatures in Authorization/Authentication-Info, and any scenario password wherever it
appears.
"""

import datetime
import re
import threading

SECRET_HEADERS = {"authorization", "proxy-authorization", "authentication-info",
                  "proxy-authentication-info", "x-ms-webticket"}
_SECRET_PARAMS = re.compile(r'\b(gssapi-data|response|rspauth|opaque-token)="([^"]*)"',
                            re.IGNORECASE)


def redact_header(name, value):
    if name.lower() not in SECRET_HEADERS:
        return value
    if name.lower() == "x-ms-webticket":
        return "<redacted>"

    def hide(m):
        return f'{m.group(1)}="<redacted {len(m.group(2))} chars>"' if m.group(2) else m.group(0)
    return _SECRET_PARAMS.sub(hide, value)


def redact_message(msg, passwords=()):
    lines = [msg.start_line()] + [f"{n}: {redact_header(n, v)}" for n, v in msg.headers]
    text = "\r\n".join(lines) + "\r\n\r\n"
    body = msg.body.decode("utf-8", "replace")
    text += body
    for pw in passwords:
        if pw:
            text = text.replace(pw, "<password>")
    return text


class SipLog:
    def __init__(self, path, passwords=()):
        self.path = path
        self.passwords = [p for p in passwords if p]
        self._lock = threading.Lock()
        self._f = open(path, "a", encoding="utf-8")

    def _write(self, text):
        with self._lock:
            if self._f.closed:
                return
            self._f.write(text)
            self._f.flush()

    def message(self, direction, local, peer, msg, note=""):
        """direction: 'in' or 'out'; local/peer: 'host:port' strings."""
        ts = datetime.datetime.now().isoformat(timespec="milliseconds")
        arrow = "<-" if direction == "in" else "->"
        extra = f" ({note})" if note else ""
        self._write(f"=== {ts} {direction.upper()} {local} {arrow} {peer}{extra}\n"
                    f"{redact_message(msg, self.passwords)}\n")

    def note(self, text):
        ts = datetime.datetime.now().isoformat(timespec="milliseconds")
        for pw in self.passwords:
            text = text.replace(pw, "<password>")
        self._write(f"--- {ts} {text}\n")

    def close(self):
        with self._lock:
            self._f.close()
