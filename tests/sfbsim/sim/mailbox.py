# SPDX-License-Identifier: LGPL-2.1-or-later
"""The simulated Exchange's data: the scenario's [exchange] and [mailboxes.<id>] sections,
checked, and the mailboxes they describe (items with absolute times).

Times in the scenario are relative to the moment sfbsim starts (control actions: to the
moment of the action): "-10m", "60m", "1h30m", "2d", "45s", or a number of seconds.

  [exchange]                  the deployment's Exchange (absent: no Exchange at all)
    mail_fqdn, mail_address   the mail host: EWS, its own autodiscover URL (the SRV target)
    autodiscover_fqdn, autodiscover_address   autodiscover.<domain>
    domain_address            the A record of <domain> itself (https://<domain>/autodiscover/)
    auth                      HTTP schemes offered, in order: "Negotiate", "NTLM", "Basic"
    version                   Exchange2010_SP2, Exchange2013 (default), Exchange2016: the
                              ServerVersionInfo answered; Exchange2010* has no distinguished
                              folder "conversationhistory" (find it by name)
    status                    "up" (default), "refused" (nothing listens) or an HTTP status
                              (401, 500, 503, ...) answered to every autodiscover/EWS request
    redirect_loop             false (default), "url" or "addr": every autodiscover answer is
                              a redirect to another URL / address, for ever
    redirect_location         where the redirect-url and redirect-302 modes (and 3xx
                              statuses) send the client ("": the other host's autodiscover
                              URL); any text, for hostile-server tests
    [exchange.autodiscover]   domain, autodiscover, srv: how each candidate URL answers (see
                              AUTODISCOVER_MODES)
  [mailboxes.<user id>]       one scenario user's mailbox (every user has one; these keys
                              fill it): email, aliases, um_enabled, working_hours, oof,
                              calendar, voicemails, missed, conversations (see check())
"""

import copy
import re
import time
import uuid

AUTODISCOVER_URLS = ("domain", "autodiscover", "srv")
#: how one autodiscover candidate URL answers
AUTODISCOVER_MODES = (
    "ok",            # the POX response
    "off",           # no DNS record (domain/autodiscover: no A record; srv: no SRV record)
    "refused",       # the name resolves but nothing listens on 443
    "content-type",  # 200 with text/html (a web portal)
    "redirect-url",  # Action redirectUrl to https://<mail_fqdn>/autodiscover/autodiscover.xml
    "redirect-302",  # HTTP 302 with Location: the same mail host URL
)                    # or an integer HTTP status 300-599
AUTH_SCHEMES = ("Negotiate", "NTLM", "Basic")
VERSIONS = {
    # RequestServerVersion name -> (MajorVersion, MinorVersion, build, minor build)
    "Exchange2010_SP2": (14, 2, 247, 5),
    "Exchange2013": (15, 0, 847, 32),
    "Exchange2013_SP1": (15, 0, 1497, 2),
    "Exchange2016": (15, 1, 2375, 7),
}
BUSY_TYPES = ("Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData")
OOF_STATES = ("Disabled", "Enabled", "Scheduled")
AUDIENCES = ("None", "Known", "All")
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

#: message classes (MS-OXOUM 2.2.2.1; Conversation History items written by SfB clients)
CLASS_VOICEMAIL = "IPM.Note.Microsoft.Voicemail.UM.CA"
CLASS_MISSED = "IPM.Note.Microsoft.Missed"
CLASS_MISSED_CALL = "IPM.Note.Microsoft.Missed.Voice"
CLASS_CONVERSATION = "IPM.Note.Microsoft.Conversation"
CLASS_APPOINTMENT = "IPM.Appointment"

_DURATION = re.compile(r"^([+-]?)((?:\d+[smhd])+)$")
_PART = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class MailboxError(ValueError):
    """Bad mailbox data (scenario or control action)."""


def seconds(value, what):
    """'-10m' / '1h30m' / 90 -> seconds (float)."""
    if isinstance(value, bool):
        raise MailboxError(f"{what}: {value!r} is not a time")
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if not m:
        raise MailboxError(f"{what}: {value!r} is not a relative time such as \"-10m\", "
                           "\"1h30m\" or a number of seconds")
    total = sum(int(n) * _UNITS[u] for n, u in _PART.findall(m.group(2)))
    return float(-total if m.group(1) == "-" else total)


def _str(d, key, what, default=None, required=False):
    v = d.get(key, default)
    if v is None and not required:
        return None
    if not isinstance(v, str):
        raise MailboxError(f"{what}.{key} must be a string")
    return v


def _bool(d, key, what, default):
    v = d.get(key, default)
    if not isinstance(v, bool):
        raise MailboxError(f"{what}.{key} must be true or false")
    return v


def _only(d, keys, what):
    if not isinstance(d, dict):
        raise MailboxError(f"{what} must be a table")
    extra = sorted(set(d) - set(keys))
    if extra:
        raise MailboxError(f"{what}: unknown key(s) {extra} (know {sorted(keys)})")


# the [exchange] section ------------------------------------------------------------------
def check_exchange(data):
    """Check and fill in [exchange] (in place); no-op without one."""
    ex = data.get("exchange")
    if ex is None:
        return
    dom = data["domain"]
    _only(ex, ("mail_fqdn", "mail_address", "autodiscover_fqdn", "autodiscover_address",
               "domain_address", "auth", "version", "status", "redirect_loop",
               "redirect_location", "autodiscover"), "exchange")
    ex.setdefault("mail_fqdn", f"mail.{dom}")
    ex.setdefault("mail_address", "127.0.4.1")
    ex.setdefault("autodiscover_fqdn", f"autodiscover.{dom}")
    ex.setdefault("autodiscover_address", "127.0.4.2")
    ex.setdefault("domain_address", "127.0.4.3")
    for k in ("mail_fqdn", "autodiscover_fqdn"):
        ex[k] = _str(ex, k, "exchange", required=True).lower()
    ex.setdefault("auth", ["Negotiate", "NTLM"])
    if not isinstance(ex["auth"], list) or not ex["auth"] or \
            any(s not in AUTH_SCHEMES for s in ex["auth"]):
        raise MailboxError(f"exchange.auth must be a non-empty list of {AUTH_SCHEMES}")
    ex.setdefault("version", "Exchange2013")
    if ex["version"] not in VERSIONS:
        raise MailboxError(f"exchange.version must be one of {sorted(VERSIONS)}")
    ex.setdefault("status", "up")
    check_status(ex["status"], "exchange.status")
    ex.setdefault("redirect_loop", False)
    if ex["redirect_loop"] not in (False, "url", "addr"):
        raise MailboxError('exchange.redirect_loop must be false, "url" or "addr"')
    ex.setdefault("redirect_location", "")
    _str(ex, "redirect_location", "exchange")
    ad = ex.setdefault("autodiscover", {})
    _only(ad, AUTODISCOVER_URLS, "exchange.autodiscover")
    for k in AUTODISCOVER_URLS:
        ad.setdefault(k, "ok")
        check_autodiscover_mode(ad[k], f"exchange.autodiscover.{k}")


def check_status(value, what):
    if value in ("up", "refused"):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
        return value
    raise MailboxError(f'{what} must be "up", "refused" or an HTTP status 400-599')


def check_autodiscover_mode(value, what):
    if value in AUTODISCOVER_MODES:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 300 <= value <= 599:
        return value
    raise MailboxError(f"{what} must be one of {AUTODISCOVER_MODES} or an HTTP status "
                       "300-599")


# [mailboxes.<id>] --------------------------------------------------------------------------
MAILBOX_KEYS = ("email", "aliases", "um_enabled", "working_hours", "oof", "calendar",
                "voicemails", "missed", "conversations")
CAL_KEYS = ("subject", "location", "start", "duration", "end", "busy_type", "is_meeting",
            "private", "organizer")
OOF_KEYS = ("state", "start", "end", "internal", "external", "external_audience")
WH_KEYS = ("days", "start", "end", "bias")
VM_KEYS = ("from", "caller_id", "received", "duration", "read")
MISSED_KEYS = ("from", "name", "subject", "received", "read", "kind")


def check_mailboxes(data):
    """Check [mailboxes.<id>] (every key named in MAILBOX_KEYS; raises MailboxError)."""
    boxes = data.get("mailboxes", {})
    if not isinstance(boxes, dict):
        raise MailboxError("mailboxes must be a table of [mailboxes.<user id>]")
    for uid, mb in boxes.items():
        if uid not in data.get("users", {}):
            raise MailboxError(f"mailboxes.{uid}: no such user")
        what = f"mailboxes.{uid}"
        _only(mb, MAILBOX_KEYS, what)
        email = _str(mb, "email", what)
        if email is not None and "@" not in email:
            raise MailboxError(f"{what}.email must be an e-mail address")
        aliases = mb.get("aliases", [])
        if not isinstance(aliases, list) or any(not isinstance(a, str) or "@" not in a
                                                for a in aliases):
            raise MailboxError(f"{what}.aliases must be a list of e-mail addresses")
        _bool(mb, "um_enabled", what, True)
        if "working_hours" in mb:
            working_hours(mb["working_hours"], f"{what}.working_hours")
        if "oof" in mb:
            oof_settings(mb["oof"], f"{what}.oof", 0.0)
        for key, fn in (("calendar", calendar_item), ("voicemails", voicemail),
                        ("missed", missed_item), ("conversations", conversation_item)):
            items = mb.get(key, [])
            if not isinstance(items, list):
                raise MailboxError(f"{what}.{key} must be a list of tables ([[{what}.{key}]])")
            for n, it in enumerate(items, 1):
                fn(it, f"{what}.{key}[{n}]", 0.0)


def working_hours(wh, what):
    """{"days": [...], "start": minutes, "end": minutes, "bias": minutes}."""
    _only(wh, WH_KEYS, what)
    days = wh.get("days", list(DAYS[1:6]))
    if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
        raise MailboxError(f"{what}.days must be a list of {DAYS}")
    out = {"days": list(days)}
    for key, default in (("start", "08:00"), ("end", "17:00")):
        v = wh.get(key, default)
        m = re.match(r"^(\d{1,2}):(\d{2})$", v) if isinstance(v, str) else None
        if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
            raise MailboxError(f"{what}.{key} must be a time of day \"HH:MM\"")
        out[key] = int(m.group(1)) * 60 + int(m.group(2))
    if out["start"] >= out["end"]:
        raise MailboxError(f"{what}: start must be before end")
    bias = wh.get("bias", 0)
    if not isinstance(bias, int) or isinstance(bias, bool) or abs(bias) > 14 * 60:
        raise MailboxError(f"{what}.bias must be minutes (UTC = local + bias)")
    out["bias"] = bias
    return out


def calendar_item(it, what, now):
    _only(it, CAL_KEYS, what)
    subject = _str(it, "subject", what, "Meeting")
    start = now + seconds(it.get("start", 0), f"{what}.start")
    if "end" in it and "duration" in it:
        raise MailboxError(f"{what}: give duration or end, not both")
    if "end" in it:
        end = now + seconds(it["end"], f"{what}.end")
    else:
        end = start + seconds(it.get("duration", "30m"), f"{what}.duration")
    if end <= start:
        raise MailboxError(f"{what}: it must end after it starts")
    busy = it.get("busy_type", "Busy")
    if busy not in BUSY_TYPES:
        raise MailboxError(f"{what}.busy_type must be one of {BUSY_TYPES}")
    return {"id": _new_id(), "subject": subject,
            "location": _str(it, "location", what, ""), "start": start, "end": end,
            "busy_type": busy, "is_meeting": _bool(it, "is_meeting", what, True),
            "private": _bool(it, "private", what, False),
            "organizer": _str(it, "organizer", what, "")}


def oof_settings(o, what, now):
    _only(o, OOF_KEYS, what)
    state = o.get("state", "Disabled")
    if state not in OOF_STATES:
        raise MailboxError(f"{what}.state must be one of {OOF_STATES}")
    start = now + seconds(o.get("start", "-1h"), f"{what}.start")
    end = now + seconds(o.get("end", "7d"), f"{what}.end")
    if end <= start:
        raise MailboxError(f"{what}: end must be after start")
    audience = o.get("external_audience", "All")
    if audience not in AUDIENCES:
        raise MailboxError(f"{what}.external_audience must be one of {AUDIENCES}")
    internal = _str(o, "internal", what, "")
    return {"state": state, "start": start, "end": end, "internal": internal,
            "external": _str(o, "external", what, internal), "external_audience": audience}


def voicemail(it, what, now):
    _only(it, VM_KEYS, what)
    dur = it.get("duration", 20)
    if not isinstance(dur, int) or isinstance(dur, bool) or dur < 0:
        raise MailboxError(f"{what}.duration must be seconds")
    sender = _str(it, "from", what, "Unknown caller")
    return {"id": _new_id(), "class": CLASS_VOICEMAIL, "from": sender,
            "caller_id": _str(it, "caller_id", what, ""),
            "subject": f"Voice Mail from {sender} ({dur} seconds)",
            "received": now + seconds(it.get("received", "-5m"), f"{what}.received"),
            "duration": dur, "read": _bool(it, "read", what, False)}


def missed_item(it, what, now, default_kind="im"):
    _only(it, MISSED_KEYS, what)
    kind = it.get("kind", default_kind)
    if kind not in ("im", "call", "conversation"):
        raise MailboxError(f"{what}.kind must be \"im\" (missed IM), \"call\" (missed call) "
                           "or \"conversation\" (an IM conversation record)")
    sender = _str(it, "from", what, "sip:someone@contoso.test")
    name = _str(it, "name", what, sender.split(":", 1)[-1])
    cls, subject, read = {
        "im": (CLASS_MISSED, f"Missed conversation with {name}", False),
        "call": (CLASS_MISSED_CALL, f"Missed call from {name}", False),
        "conversation": (CLASS_CONVERSATION, f"Conversation with {name}", True),
    }[kind]
    return {"id": _new_id(), "class": cls, "kind": kind, "from": sender, "name": name,
            "subject": _str(it, "subject", what, subject),
            "received": now + seconds(it.get("received", "-15m"), f"{what}.received"),
            "read": _bool(it, "read", what, read)}


def conversation_item(it, what, now):
    return missed_item(it, what, now, default_kind="conversation")


def _new_id():
    return uuid.uuid4().hex


# the runtime model -------------------------------------------------------------------------
class Mailbox:
    """One user's mailbox with absolute times (time.time())."""

    def __init__(self, user, domain, conf=None, now=None):
        now = time.time() if now is None else now
        conf = copy.deepcopy(conf or {})
        what = f"mailboxes.{user['id']}"
        self.user = user
        local = user["uri"].split(":", 1)[1].split("@", 1)[0]
        self.email = (conf.get("email") or f"{local}@{domain}").lower()
        self.aliases = [a.lower() for a in conf.get("aliases", [])]
        self.name = user.get("name", local)
        self.legacy_dn = ("/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
                          f"/cn=Recipients/cn={local}")
        self.um_enabled = conf.get("um_enabled", True)
        self.working_hours = working_hours(conf.get("working_hours", {}),
                                           f"{what}.working_hours")
        self.oof = oof_settings(conf.get("oof", {}), f"{what}.oof", now)
        self.calendar = [calendar_item(it, f"{what}.calendar", now)
                         for it in conf.get("calendar", [])]
        self.voicemails = [voicemail(it, f"{what}.voicemails", now)
                           for it in conf.get("voicemails", [])]
        self.history = ([missed_item(it, f"{what}.missed", now)
                         for it in conf.get("missed", [])]
                        + [conversation_item(it, f"{what}.conversations", now)
                           for it in conf.get("conversations", [])])

    def addresses(self):
        return [self.email] + self.aliases

    def unread_voicemails(self):
        return sum(1 for v in self.voicemails if not v["read"])

    def read_voicemails(self):
        return sum(1 for v in self.voicemails if v["read"])

    def missed_unread(self):
        """What a client shows as missed conversations: unread items of class
        IPM.Note.Microsoft.Missed or IPM.Note.Microsoft.Missed.Voice in Conversation
        History (sim/README.md, "Exchange")."""
        return sum(1 for it in self.history
                   if not it["read"] and it["class"] in (CLASS_MISSED, CLASS_MISSED_CALL))

    def oof_active(self, now=None):
        now = time.time() if now is None else now
        o = self.oof
        return o["state"] == "Enabled" or (o["state"] == "Scheduled"
                                           and o["start"] <= now < o["end"])

    def current_meetings(self, now=None):
        now = time.time() if now is None else now
        return [c for c in self.calendar if c["start"] <= now < c["end"]]

    def summary(self, now=None):
        """For control actions and tests."""
        now = time.time() if now is None else now
        return {
            "email": self.email, "um_enabled": self.um_enabled,
            "calendar": [dict(c, start_in=round(c["start"] - now, 1),
                              end_in=round(c["end"] - now, 1)) for c in self.calendar],
            "in_meeting": any(c["busy_type"] == "Busy" and c["is_meeting"]
                              for c in self.current_meetings(now)),
            "oof": dict(self.oof), "oof_active": self.oof_active(now),
            "unread_voicemails": self.unread_voicemails(),
            "read_voicemails": self.read_voicemails(),
            "missed_conversations": self.missed_unread(),
            "history": [dict(h) for h in self.history],
        }
