# SPDX-License-Identifier: LGPL-2.1-or-later
"""Voicemail waiting (MWI) as the front end passes it on: Exchange UM's message-summary
NOTIFY (RFC 3842) becomes a server-published `mwi` category instance in the user's Self
container (1), instance 0, static, that the user's endpoints get through roaming-self
(sim/README.md, "Voicemail (MWI)").  The control action set_mwi stands for the NOTIFY."""

import xml.etree.ElementTree as ET

from . import documents as D
from . import services as S
from .control import action

NS_MWI = "http://schemas.microsoft.com/2006/09/sip/mwi"
SELF_CONTAINER = 1
INSTANCE = 0


def mwi_element(waiting, unread=None, read=None):
    e = ET.Element(f"{{{NS_MWI}}}mwi", {"messageWaiting": "true" if waiting else "false"})
    if unread is not None:
        e.set("unreadVoiceMailCount", str(int(unread)))
    if read is not None:
        e.set("readVoiceMailCount", str(int(read)))
    return e


async def publish_mwi(sim, user, unread=None, read=None, waiting=None, clear=False):
    """Store the mwi instance for `user` (a scenario user) and send roaming-self to the
    user's endpoints.  Returns how many roaming-self subscriptions were notified."""
    st = S.state_for(sim)
    u = sim.user(user)
    if u is None:
        raise ValueError(f"no user {user!r}")
    p = st.presentity(u["uri"])
    key = ("mwi", INSTANCE, SELF_CONTAINER)
    old = p.pubs.get(key)
    cleared = ()
    if clear:
        if old is not None:
            del p.pubs[key]
            cleared = (("mwi", SELF_CONTAINER),)
    else:
        if waiting is None:
            waiting = bool(unread)
        p.pubs[key] = S.Pub("mwi", INSTANCE, SELF_CONTAINER, (old.version + 1) if old else 1,
                            "static", mwi_element(waiting, unread, read), seq=next(st.seq))
    return await S.fanout_self(st, u, {"mwi"}, cleared=cleared)


@action("set_mwi")
async def set_mwi(sim, user, unread=None, read=None, waiting=None, clear=False):
    """Exchange UM reports `user`'s voicemails: messageWaiting (default: unread > 0) and
    the optional unread/read counts; clear=true removes the indication.  Returns
    {"notified": n}."""
    if unread is not None and (not isinstance(unread, int) or unread < 0):
        raise ValueError("unread must be a non-negative integer")
    n = await publish_mwi(sim, user, unread, read, waiting, clear)
    return {"notified": n}
