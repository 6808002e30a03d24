#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A massif snapshot of sfbd's heap by owner (docs/benchmarks.md, "Heap, third pass").

  massif_by_owner.py SNAPSHOT

SNAPSHOT is a detailed snapshot (`vgdb --pid=PID detailed_snapshot FILE` while sfbd runs
under `valgrind --tool=massif --vgdb=yes --threshold=0.01 --depth=50`).  Each allocation
stack counts for the innermost sfbd frame's owner, else for the first library group that
its stack matches; prints kB per owner, largest first, then the total and malloc's
overhead as massif estimates it.
"""

import collections
import re
import sys

SFB = [  # (owner, pattern of the innermost sfbd frame)
    ("contacts' presence: what is known of each contact, its strings, the table "
     "(sfb-presence.c, sfb-presence-known.c)", r"\(sfb-presence(-known)?\.c:"),
    ("contact list: entries, their strings and groups (sfb-contact-list.c)",
     r"\(sfb-contact-list\.c:"),
    ("batch SUBSCRIBE body, kept for every SUBSCRIBE of the subscription",
     r"sfb_presence_batch_subscribe_body"),
    ("PresencesChanged batch table (sfb-dbus-presence.c)", r"\(sfb-dbus-presence\.c:"),
    ("policies (sfb-policies.c)", r"\(sfb-policies\.c:"),
    ("XML parser context, reused (sfb-xml.c)", r"\(sfb-xml\.c:"),
    ("SIP connection: GnuTLS session, buffers (sfb-sip-*.c)", r"sfb-sip-"),
    ("TLS databases: the CAFile's trust list (sfb-tls.c)", r"\(sfb-tls\.c:"),
    ("D-Bus adapters, skeletons (sfb-dbus-*.c)", r"sfb-dbus-"),
]
LIB = [  # (owner, pattern of the whole stack) without an sfbd frame SFB names
    ("library initialisers: libtasn1's PKIX tree for GnuTLS, libstdc++'s exception pool, "
     "GLib", r"call_init \(dl-init"),
    ("GnuTLS, glib-networking: peer certificates, credentials, session (from the main loop)",
     r"gnutls|tasn1|giognutls"),
    ("GLib type system: types, classes, param specs, signals, quarks",
     r"g_type_|g_param_spec|g_signal_new|g_object_class|g_type_class|g_enum_register"
     r"|g_flags_register|g_boxed_type|g_intern"),
    ("GDBus, GIO, libsoup", r"libgio|libsoup"),
]
OTHER = "other (sfbd's other objects, config, dial plan, GLib)"
NODE = re.compile(r"^( *)n(\d+): (\d+) (.*)$")


def owner(frames):
    sfb = [f for f in frames if re.search(r"\(sfb-", f)]
    if sfb:
        for name, pattern in SFB:
            if re.search(pattern, sfb[0]):
                return name
    text = " ".join(frames)
    return next((name for name, pattern in LIB if re.search(pattern, text)), OTHER)


def main(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("heap_tree=detailed"))
    stack = []
    owners = collections.Counter()
    for line in lines[start + 1:]:
        m = NODE.match(line)
        if not m:
            continue
        depth, children, size = len(m.group(1)), int(m.group(2)), int(m.group(3))
        stack = stack[:depth] + [m.group(4)]
        if children == 0 and depth > 0:  # a leaf: its stack from the allocation up
            owners[owner(stack[1:])] += size
    head = "\n".join(lines[:start])
    heap = int(re.search(r"mem_heap_B=(\d+)", head).group(1))
    extra = int(re.search(r"mem_heap_extra_B=(\d+)", head).group(1))
    for name, size in owners.most_common():
        print(f"{size // 1024:6d} | {name}")
    print(f"{heap // 1024:6d} | total requested; malloc's headers and rounding: {extra // 1024}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
