# SPDX-License-Identifier: LGPL-2.1-or-later
"""SIP message model, parser, serializer and stream framing for sfbsim.

Why our own: sfbsim must see messages exactly as they travel (header order, original header
names, every duplicate line) because MS-SIPAE signatures are computed over raw field values,
and SIPE distinguishes `Supported` on separate lines from one comma-separated line
(docs/protocol.md §17.5).  So headers are an ordered list of (name, value) pairs; lookups are
case-insensitive and understand the compact forms (RFC 3261 §7.3.3); serialization writes the
list back as it is, fixing only Content-Length.

The stream framer enforces limits so a hostile client cannot make sfbsim buffer without bound.
"""

import re

#: compact form -> canonical name (RFC 3261 §7.3.3 and the IANA registry)
COMPACT = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
    "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
    "v": "Via", "o": "Event", "u": "Allow-Events", "r": "Refer-To", "b": "Referred-By",
    "x": "Session-Expires", "a": "Accept-Contact", "j": "Reject-Contact",
    "d": "Request-Disposition", "y": "Identity", "n": "Identity-Info",
}

#: Limits applied when parsing anything a client sends.
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
MAX_HEADERS = 256

REASONS = {
    100: "Trying", 180: "Ringing", 200: "OK", 202: "Accepted", 301: "Moved Permanently",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict",
    415: "Unsupported Media Type", 420: "Bad Extension", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    486: "Busy Here", 488: "Not Acceptable Here", 489: "Bad Event",
    500: "Server Internal Error", 501: "Not Implemented", 503: "Service Unavailable",
    504: "Server Time-out",
}


class SipParseError(ValueError):
    """The bytes are not a SIP message we accept (syntax, or over a limit)."""


def canonical(name):
    """Canonical header name for comparisons: compact forms expanded, lower case."""
    n = name.strip()
    return COMPACT.get(n.lower(), n).lower() if len(n) == 1 else n.lower()


class SipMessage:
    """One SIP request or response.

    Requests have .method and .uri; responses have .code and .reason.  .headers is the
    ordered list of (name, value) as on the wire; .body is bytes.
    """

    def __init__(self, method=None, uri=None, code=None, reason=None, headers=(), body=b"",
                 version="SIP/2.0"):
        self.method, self.uri = method, uri
        self.code, self.reason = code, reason
        self.version = version
        self.headers = [(n, v) for n, v in headers]
        self.body = body if isinstance(body, bytes) else body.encode()

    # construction ---------------------------------------------------------------------
    @classmethod
    def request(cls, method, uri, headers=(), body=b""):
        return cls(method=method, uri=uri, headers=headers, body=body)

    @classmethod
    def response(cls, code, reason=None, headers=(), body=b""):
        return cls(code=code, reason=reason or REASONS.get(code, "Unknown"), headers=headers,
                   body=body)

    @property
    def is_request(self):
        return self.method is not None

    @property
    def is_response(self):
        return self.code is not None

    # header access -------------------------------------------------------------------
    def get(self, name, default=None):
        """First value of header `name` (case-insensitive, compact forms understood)."""
        key = canonical(name)
        for n, v in self.headers:
            if canonical(n) == key:
                return v
        return default

    def get_all(self, name):
        """Every line of header `name`, in order, unsplit."""
        key = canonical(name)
        return [v for n, v in self.headers if canonical(n) == key]

    def get_list(self, name):
        """Every value of header `name`, lines split at top-level commas and trimmed."""
        out = []
        for v in self.get_all(name):
            out.extend(x.strip() for x in split_top(v, ",") if x.strip())
        return out

    def has(self, name):
        return self.get(name) is not None

    def add(self, name, value):
        """Append a header line."""
        self.headers.append((name, str(value)))
        return self

    def insert(self, index, name, value):
        self.headers.insert(index, (name, str(value)))
        return self

    def set(self, name, value):
        """Replace the first line of `name` (keeping its position) and drop the others;
        append when absent."""
        key = canonical(name)
        out, done = [], False
        for n, v in self.headers:
            if canonical(n) == key:
                if not done:
                    out.append((name, str(value)))
                    done = True
                continue
            out.append((n, v))
        if not done:
            out.append((name, str(value)))
        self.headers = out
        return self

    def remove(self, name):
        key = canonical(name)
        self.headers = [(n, v) for n, v in self.headers if canonical(n) != key]
        return self

    # common fields -------------------------------------------------------------------
    @property
    def call_id(self):
        return self.get("Call-ID")

    @property
    def cseq(self):
        """(number:int, method:str) from CSeq, or (None, None)."""
        v = self.get("CSeq")
        if not v:
            return None, None
        parts = v.split()
        try:
            return int(parts[0]), parts[1] if len(parts) > 1 else ""
        except ValueError:
            return None, None

    @property
    def content_type(self):
        v = self.get("Content-Type")
        return v.split(";")[0].strip().lower() if v else None

    def from_addr(self):
        return NameAddr.parse(self.get("From", ""))

    def to_addr(self):
        return NameAddr.parse(self.get("To", ""))

    def expires(self):
        v = self.get("Expires")
        try:
            return int(v) if v is not None else None
        except ValueError:
            return None

    # wire format ---------------------------------------------------------------------
    def start_line(self):
        if self.is_request:
            return f"{self.method} {self.uri} {self.version}"
        return f"{self.version} {self.code} {self.reason}"

    def serialize(self):
        """Bytes for the wire.  Content-Length is set from the body (added when absent)."""
        self.set("Content-Length", str(len(self.body)))
        lines = [self.start_line()] + [f"{n}: {v}" for n, v in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def __bytes__(self):
        return self.serialize()

    def __repr__(self):
        what = self.method if self.is_request else self.code
        return f"<SipMessage {what} {self.cseq}>"

    @classmethod
    def parse(cls, data):
        """Parse one complete message (header section, blank line, body).

        The body is taken as everything after the blank line, cut to Content-Length when that
        is present."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        sep = data.find(b"\r\n\r\n")
        if sep < 0:
            raise SipParseError("no end of headers")
        msg = cls._parse_head(data[:sep])
        body = data[sep + 4:]
        clen = msg.get("Content-Length")
        if clen is not None:
            n = _int_or_raise(clen, "Content-Length")
            if n > len(body):
                raise SipParseError("truncated body")
            body = body[:n]
        msg.body = body
        return msg

    @classmethod
    def _parse_head(cls, head):
        if len(head) > MAX_HEADER_BYTES:
            raise SipParseError("header section too large")
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SipParseError("headers are not UTF-8") from e
        lines = text.split("\r\n")
        first, rest = lines[0], lines[1:]
        headers = []
        for line in rest:
            if line[:1] in (" ", "\t"):  # RFC 3261 §7.3.1 line folding
                if not headers:
                    raise SipParseError("continuation before any header")
                n, v = headers[-1]
                headers[-1] = (n, v + " " + line.strip())
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip() or not _TOKEN.fullmatch(name.strip()):
                raise SipParseError(f"bad header line {line[:40]!r}")
            headers.append((name.strip(), value.strip()))
            if len(headers) > MAX_HEADERS:
                raise SipParseError("too many headers")
        m = _STATUS.fullmatch(first)
        if m:
            return cls(code=int(m.group(2)), reason=m.group(3), headers=headers,
                       version=m.group(1))
        m = _REQUEST.fullmatch(first)
        if m:
            return cls(method=m.group(1), uri=m.group(2), headers=headers, version=m.group(3))
        raise SipParseError(f"bad start line {first[:60]!r}")


_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_STATUS = re.compile(r"(SIP/2\.0) ([1-6][0-9][0-9]) ?(.*)")
_REQUEST = re.compile(r"([A-Za-z0-9\-.!%*_+`'~]+) (\S+) (SIP/2\.0)")


def _int_or_raise(v, what):
    try:
        n = int(v.strip())
    except ValueError:
        raise SipParseError(f"bad {what}") from None
    if n < 0:
        raise SipParseError(f"bad {what}")
    return n


def split_top(s, sep):
    """Split at `sep` outside double quotes and <...>."""
    out, cur, quote, angle, esc = [], [], False, 0, False
    for ch in s:
        if esc:
            cur.append(ch)
            esc = False
            continue
        if quote and ch == "\\":
            cur.append(ch)
            esc = True
            continue
        if ch == '"':
            quote = not quote
        elif not quote and ch == "<":
            angle += 1
        elif not quote and ch == ">" and angle:
            angle -= 1
        if ch == sep and not quote and not angle:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] == '"':
        return re.sub(r"\\(.)", r"\1", v[1:-1])
    return v


class NameAddr:
    """A From/To/Contact style value: display name, URI, header parameters.

    .params keeps keys lower-cased in order; values are unquoted (None for a flag).
    .raw_params keeps them as written, which matters for echoing a Contact back."""

    def __init__(self, display="", uri="", params=None, raw_params=""):
        self.display, self.uri = display, uri
        self.params = params or {}
        self.raw_params = raw_params

    @classmethod
    def parse(cls, value):
        value = (value or "").strip()
        lt = _find_unquoted(value, "<")
        if lt >= 0:
            gt = value.find(">", lt)
            if gt < 0:
                raise SipParseError("unterminated <")
            display = unquote(value[:lt])
            uri = value[lt + 1:gt]
            rest = value[gt + 1:]
        else:  # addr-spec form: parameters after the URI belong to the header
            display = ""
            uri, _, rest = value.partition(";")
            rest = ";" + rest if rest else ""
        return cls(display, uri.strip(), parse_params(rest), rest.strip())

    @property
    def tag(self):
        return self.params.get("tag")

    def __str__(self):
        d = f'"{self.display}" ' if self.display else ""
        return f"{d}<{self.uri}>{self.raw_params}"


def _find_unquoted(s, ch):
    quote = False
    for i, c in enumerate(s):
        if c == '"':
            quote = not quote
        elif c == ch and not quote:
            return i
    return -1


def parse_params(s):
    """';a=1;b="x y";c' -> {'a': '1', 'b': 'x y', 'c': None} (keys lower-cased)."""
    out = {}
    for part in split_top(s, ";"):
        part = part.strip()
        if not part:
            continue
        k, eq, v = part.partition("=")
        out[k.strip().lower()] = unquote(v) if eq else None
    return out


def uri_user_host(uri):
    """'sip:alice@contoso.test;x=y' -> ('alice', 'contoso.test'); host may carry a port."""
    u = uri.split(";")[0].split("?")[0]
    if ":" in u and u.split(":", 1)[0].lower() in ("sip", "sips", "tel"):
        u = u.split(":", 1)[1]
    user, at, host = u.rpartition("@")
    return (user, host) if at else ("", host)


def normalize_aor(uri):
    """Compare-form of an address of record: 'sip:' + lower-case user@host, no params."""
    user, host = uri_user_host(uri.strip().strip("<>"))
    return f"sip:{user.lower()}@{host.lower()}" if user else f"sip:{host.lower()}"


# authentication headers ---------------------------------------------------------------
def parse_auth(value):
    """'NTLM qop="auth", opaque="X", ...' -> ('NTLM', {'qop': 'auth', 'opaque': 'X', ...}).

    Keys are lower-cased; values unquoted."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    params = {}
    for part in split_top(rest, ","):
        k, eq, v = part.strip().partition("=")
        if k.strip():
            params[k.strip().lower()] = unquote(v) if eq else None
    return scheme, params


def format_auth(scheme, params):
    """format_auth('NTLM', [('qop', 'auth'), ('version', 4)]) -> 'NTLM qop="auth", version=4'.

    Integers are written bare (as servers write version=4), strings quoted."""
    parts = []
    for k, v in params:
        parts.append(f"{k}={v}" if isinstance(v, int) else f'{k}="{v}"')
    return f"{scheme} " + ", ".join(parts)


# stream framing -----------------------------------------------------------------------
class StreamParser:
    """Incremental framer for a SIP byte stream (TLS or TCP).

    feed(data) returns a list of events: ('ping',) for a CRLFCRLF keep-alive, ('pong',) for
    a lone CRLF between messages, ('message', SipMessage).  Raises SipParseError when the
    stream breaks a rule or a limit; the connection should then be closed (there is no way to
    resynchronise a stream safely).

    Content-Length is mandatory when a body is present; a message without it is taken to have
    no body (RFC 3261 §18.3 makes it mandatory on streams).

    A lone CRLF at the end of the data so far may be the first half of a ping; a server waits
    for more, a client (eager_pong=True), which never receives pings, takes it as a pong."""

    def __init__(self, max_header=MAX_HEADER_BYTES, max_body=MAX_BODY_BYTES, eager_pong=False):
        self.eager_pong = eager_pong
        self.buf = bytearray()
        self.max_header, self.max_body = max_header, max_body
        self._head = None  # parsed head waiting for its body
        self._need = 0

    def feed(self, data):
        self.buf += data
        events = []
        while True:
            if self._head is None:
                # keep-alives and stray line ends between messages
                if self.buf.startswith(b"\r\n\r\n"):
                    del self.buf[:4]
                    events.append(("ping",))
                    continue
                if self.buf.startswith(b"\r\n"):
                    if (len(self.buf) < 4 and b"\r\n\r\n".startswith(bytes(self.buf))
                            and not self.eager_pong):
                        break  # may become a ping; wait
                    del self.buf[:2]
                    events.append(("pong",))
                    continue
                if self.buf.startswith(b"\n") or self.buf.startswith(b"\r") and len(self.buf) >= 2:
                    raise SipParseError("bare line end")
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buf) > self.max_header:
                        raise SipParseError("header section too large")
                    break
                if end > self.max_header:
                    raise SipParseError("header section too large")
                head = SipMessage._parse_head(bytes(self.buf[:end]))
                del self.buf[:end + 4]
                clen = head.get("Content-Length")
                need = _int_or_raise(clen, "Content-Length") if clen is not None else 0
                if need > self.max_body:
                    raise SipParseError("body too large")
                self._head, self._need = head, need
            if len(self.buf) < self._need:
                break
            msg, self._head = self._head, None
            msg.body = bytes(self.buf[:self._need])
            del self.buf[:self._need]
            events.append(("message", msg))
        return events
